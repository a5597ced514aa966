//! Prints the OpenAPI document, as committed in `docs/openapi.json`:
//! `cargo run -p roster-server --example openapi > docs/openapi.json`.

fn main() {
    println!("{}", roster_server::http::openapi::json());
}
