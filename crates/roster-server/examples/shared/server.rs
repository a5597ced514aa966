//! The real server in the example's own process, on a random loopback port.
// Each example that includes this file uses a part of it.
#![allow(dead_code)]

use roster_server::{AppState, Config};

/// Starts the server configured by `setting` (the environment's names, as
/// [`Config::from_lookup`] reads them); answers its base URL and state.
pub async fn start(setting: impl Fn(&str) -> Option<String>) -> Result<(String, AppState), String> {
    let config = Config::from_lookup(setting)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (app, _) = roster_server::prepare(config).await?;
    let served = app.clone();
    tokio::spawn(async move {
        let _ = roster_server::serve(served, listener, std::future::pending()).await;
    });
    Ok((base, app))
}

/// Settings for a server on `url` with the platform key `key`.
pub fn on(url: &str, key: &str) -> impl Fn(&str) -> Option<String> {
    let (url, key) = (url.to_owned(), key.to_owned());
    move |name| match name {
        "ROSTER_DATABASE_URL" => Some(url.clone()),
        "ROSTER_PLATFORM_KEY" => Some(key.clone()),
        _ => None,
    }
}

/// This process's resident memory now, in KiB (Linux; 0 elsewhere).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line["VmRSS:".len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}
