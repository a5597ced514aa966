//! Timed requests to the server under test, and their figures.
// Each example that includes this file uses a part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

/// A client of the server under test, with the platform key.
pub struct Client {
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
}

impl Client {
    /// Sends a request; how long until the last byte, and the body parsed.
    pub async fn timed(
        &self,
        method: Method,
        path: &str,
        actor: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(Duration, Value, usize), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(actor) = actor {
            request = request.header("X-Roster-Actor", actor);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| format!("{path}: {e}"))?;
        let took = started.elapsed();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("{path}: {status} {value}"));
        }
        Ok((took, value, bytes.len()))
    }

    pub async fn must(
        &self,
        method: Method,
        path: &str,
        actor: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, String> {
        Ok(self.timed(method, path, actor, body.as_ref()).await?.1)
    }
}

/// Latencies of one kind of request, summarized.
pub struct Figures {
    pub name: String,
    pub samples: Vec<Duration>,
}

impl Figures {
    pub fn new(name: impl Into<String>) -> Self {
        Figures {
            name: name.into(),
            samples: Vec::new(),
        }
    }

    pub fn print(&mut self) {
        self.samples.sort_unstable();
        let at = |q: f64| {
            let i = ((self.samples.len() as f64 - 1.0) * q).round() as usize;
            self.samples.get(i).copied().unwrap_or(Duration::ZERO)
        };
        let mean = self.samples.iter().sum::<Duration>() / self.samples.len().max(1) as u32;
        println!(
            "  {:<44} n {:>6}  p50 {:>9}  p99 {:>9}  max {:>9}  mean {:>9}",
            self.name,
            self.samples.len(),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0)),
            ms(mean)
        );
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
