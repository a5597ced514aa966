//! Webhooks on the wire (SPEC §16): where a URL may point, how a delivery
//! is signed (Standard Webhooks 1.0), and the worker that sends them.

pub mod deliver;
pub mod sign;
pub mod target;
