//! Heap allocations per request on the decision path, counted by the
//! global allocator: the real server (router, middleware, hyper) on a
//! loopback port over a fresh SQLite file, no dev clock, no log subscriber,
//! asked by a client thread that reuses one keep-alive connection and
//! fixed buffers (so it allocates nothing while counting). Prints the
//! allocations and bytes per single evaluation, per batch of 100 and per
//! `/healthz`, and the same for a bare axum server answering the same
//! evaluation body (`shared/bare.rs`): the floor.
//!
//! `cargo run --release -p roster-server --example request_allocations -- [REQUESTS]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

#[path = "shared/bare.rs"]
mod bare;
#[path = "shared/server.rs"]
mod server;
use serde_json::{json, Value};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const KEY: &str = "bench";

/// Sends `request` `times` times on one connection, reading each answer
/// into `buffer`; answers (allocations, bytes) per request.
fn count(
    stream: &mut TcpStream,
    request: &[u8],
    times: u64,
    buffer: &mut [u8],
) -> Result<(f64, f64), String> {
    // Warm the connection and every lazy structure on the way first.
    for _ in 0..100 {
        exchange(stream, request, buffer)?;
    }
    let (a, b) = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    for _ in 0..times {
        exchange(stream, request, buffer)?;
    }
    let (a2, b2) = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    Ok((
        (a2 - a) as f64 / times as f64,
        (b2 - b) as f64 / times as f64,
    ))
}

/// One request and its whole answer; refuses anything but a 200.
fn exchange(stream: &mut TcpStream, request: &[u8], buffer: &mut [u8]) -> Result<(), String> {
    stream.write_all(request).map_err(|e| e.to_string())?;
    let mut filled = 0;
    loop {
        let n = stream
            .read(&mut buffer[filled..])
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        filled += n;
        let Some(end) = find(&buffer[..filled], b"\r\n\r\n") else {
            continue;
        };
        let head = &buffer[..end];
        if !head.starts_with(b"HTTP/1.1 200") {
            return Err("an answer other than 200".into());
        }
        let length = content_length(head).ok_or("no content-length")?;
        if filled >= end + 4 + length {
            return Ok(());
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|b| *b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (name, value) = line.split_at(line.iter().position(|b| *b == b':')?);
        if !name.eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(&value[1..]).ok()?.trim().parse().ok()
    })
}

fn post(addr: &str, path: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn call(client: &reqwest::Client, url: String, body: Value) -> Result<Value, String> {
    let response = client
        .post(url)
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("setup: {}", response.status()));
    }
    response.json().await.map_err(|e| e.to_string())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let times: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("roster-allocations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}/roster.db", dir.display());
    let (base, _) = server::start(server::on(&url, KEY)).await?;
    let addr = base.trim_start_matches("http://").to_owned();
    let client = reqwest::Client::new();
    let org = call(
        &client,
        format!("{base}/v1/orgs"),
        json!({"name": "Allocations", "owner_email": "owner@allocations.example"}),
    )
    .await?;
    let org_id = org["id"].as_str().ok_or("no org id")?.to_owned();
    let owner = org["owner"]["user_id"]
        .as_str()
        .ok_or("no owner")?
        .to_owned();
    let question = json!({
        "subject": {"type": "user", "id": owner},
        "action": {"name": "members.view"},
        "resource": {"type": "organization", "id": org_id},
    });
    let single = post(&addr, "/access/v1/evaluation", &question);
    let batch = post(
        &addr,
        "/access/v1/evaluations",
        &json!({"subject": question["subject"], "action": question["action"],
                "resource": question["resource"],
                "evaluations": vec![json!({}); 100]}),
    );
    let health = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let bare_addr = bare_listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    tokio::spawn(async move { axum::serve(bare_listener, bare::router()).await });
    let counted = tokio::task::spawn_blocking(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let single_answer = count(&mut stream, &single, times, &mut buffer)?;
        let batch = count(&mut stream, &batch, times / 10, &mut buffer)?;
        let health = count(&mut stream, &health, times, &mut buffer)?;
        let mut stream = TcpStream::connect(&bare_addr).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let bare_single = count(&mut stream, &single, times, &mut buffer)?;
        let bare_health = format!("GET /healthz HTTP/1.1\r\nHost: {bare_addr}\r\n\r\n");
        let bare_health = count(&mut stream, bare_health.as_bytes(), times, &mut buffer)?;
        Ok::<_, String>((single_answer, batch, health, bare_single, bare_health))
    })
    .await
    .map_err(|e| e.to_string())??;
    let ((sa, sb), (ba, bb), (ha, hb), (xa, xb), (ya, yb)) = counted;
    println!("requests per kind: {times} (batches: {})", times / 10);
    println!("single evaluation: {sa:.1} allocations, {sb:.0} bytes per request");
    println!(
        "batch of 100: {ba:.1} allocations, {bb:.0} bytes per request ({:.2} allocations per decision)",
        ba / 100.0
    );
    println!("/healthz: {ha:.1} allocations, {hb:.0} bytes per request");
    println!("bare axum evaluation: {xa:.1} allocations, {xb:.0} bytes per request");
    println!("bare axum /healthz: {ya:.1} allocations, {yb:.0} bytes per request");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
