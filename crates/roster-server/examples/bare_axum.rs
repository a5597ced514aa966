//! The bare axum server of `shared/bare.rs` on a port, for
//! `scripts/bench-compare.sh` to measure beside `roster serve`.
//!
//! `cargo run --release -p roster-server --example bare_axum -- 127.0.0.1:18098`

#[path = "shared/bare.rs"]
mod bare;

#[tokio::main]
async fn main() -> Result<(), String> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18098".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    axum::serve(listener, bare::router())
        .await
        .map_err(|e| e.to_string())
}
