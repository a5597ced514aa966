//! The storage crate against real databases: every test runs on a fresh
//! SQLite file and on a fresh PostgreSQL database (`roster_testkit`; set
//! `ROSTER_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`).
//! Behaviour only PostgreSQL has (replicas, row locks, LISTEN/NOTIFY) is in
//! the `postgres_only` modules.
//!
//! Changes are made the only way the store accepts them: by core rules,
//! whose grant says who allowed them in which organization. The audit
//! entries and emails a write carries are drafted here by hand, as the
//! server's effects module would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;

mod accounts;
mod audit;
mod loads;
mod migrations;
mod outbox;
mod snapshots;
mod tokens;
mod writes;
