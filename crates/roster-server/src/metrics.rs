//! Prometheus counters: requests and latency by route, decisions by outcome.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<FxHashMap<(String, String, u16), RouteStats>>,
    pub decisions_allowed: AtomicU64,
    pub decisions_denied: AtomicU64,
}

#[derive(Default, Clone, Copy)]
struct RouteStats {
    count: u64,
    seconds: f64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut routes) = self.routes.lock() {
            let stats = routes
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default();
            stats.count += 1;
            stats.seconds += seconds;
        }
    }

    pub fn record_decision(&self, allowed: bool) {
        let counter = if allowed {
            &self.decisions_allowed
        } else {
            &self.decisions_denied
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP roster_http_requests_total HTTP requests by route and status.\n# TYPE roster_http_requests_total counter\n");
        let routes = self.routes.lock().map(|r| r.clone()).unwrap_or_default();
        let mut rows: Vec<_> = routes.into_iter().collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        for ((method, route, status), stats) in &rows {
            let _ = writeln!(out, "roster_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}", stats.count);
        }
        out.push_str("# HELP roster_http_request_duration_seconds Time spent serving requests by route.\n# TYPE roster_http_request_duration_seconds summary\n");
        for ((method, route, status), stats) in &rows {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            let _ = writeln!(
                out,
                "roster_http_request_duration_seconds_sum{{{labels}}} {}",
                stats.seconds
            );
            let _ = writeln!(
                out,
                "roster_http_request_duration_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
        out.push_str("# HELP roster_decisions_total Authorization decisions by outcome.\n# TYPE roster_decisions_total counter\n");
        let _ = writeln!(
            out,
            "roster_decisions_total{{decision=\"allow\"}} {}",
            self.decisions_allowed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "roster_decisions_total{{decision=\"deny\"}} {}",
            self.decisions_denied.load(Ordering::Relaxed)
        );
        out
    }
}
