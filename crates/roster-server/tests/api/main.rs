//! The HTTP contract (API.md), black-box: the real server on a random
//! loopback port, each test on a fresh SQLite file and on a fresh PostgreSQL
//! database (`roster_testkit`; set `ROSTER_TEST_POSTGRES_URL`, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`, and `ROSTER_REQUIRE_POSTGRES=1`
//! to make its absence a failure). Tests talk through a typed client that
//! answers the server's own view types, and every answer is checked against
//! the OpenAPI document (`common::openapi`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod fixtures;

mod audit;
mod contract;
mod decisions;
mod errors;
mod escalation;
mod events;
mod hardening;
mod implementation_admin;
mod import;
mod integrating;
mod invitations;
mod members;
mod operations;
mod organizations;
mod races;
mod spaces;
mod tokens;
mod walkthrough;
mod webhooks;
