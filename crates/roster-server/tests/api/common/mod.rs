//! The test harness: the real server on a random loopback port, on a fresh
//! database of `roster_testkit` (SQLite or PostgreSQL), with a real HTTP
//! client and, when asked, a real SMTP receiver.
//!
//! - [`app`]: starting and stopping the server ([`TestApp`]).
//! - [`answer`]: the one place requests are sent ([`send`]), and what a
//!   request answered ([`Answer`], typed as [`answer::Reply`]).
//! - [`openapi`]: every answer checked against the OpenAPI document.
//! - [`client`]: the typed client, an operation per method, answering the
//!   server's own view types.
//! - [`smtp`]: the SMTP receiver.
//! - [`receiver`]: the webhook receiver.

pub mod answer;
pub mod app;
pub mod client;
pub mod openapi;
pub mod receiver;
pub mod smtp;

pub use answer::{send, Answer};
pub use app::{spawn, spawn_with, spawn_with_smtp, sqlite, TestApp, KEY};
