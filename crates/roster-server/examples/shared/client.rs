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
    /// A request with the platform key, acting as `actor` when given.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        actor: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::RequestBuilder {
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
        request
    }

    /// Sends a request; how long until the last byte, the body parsed (JSON
    /// or `null`), its size, and the status.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        actor: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(Duration, u16, Value, usize), String> {
        let request = self.request(method, path, actor, body);
        let started = Instant::now();
        let mut response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status().as_u16();
        // The pieces as they arrive, joined only once the last is in (a
        // long answer joined as it comes would be timed in the copying).
        let mut pieces = Vec::new();
        while let Some(piece) = response.chunk().await.map_err(|e| format!("{path}: {e}"))? {
            pieces.push(piece);
        }
        let took = started.elapsed();
        let bytes = pieces.concat();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((took, status, value, bytes.len()))
    }

    /// Sends a request; the status and the body, whatever the status.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        actor: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let (_, status, value, _) = self.exchange(method, path, actor, body).await?;
        Ok((status, value))
    }

    /// Sends a request that must succeed; how long until the last byte,
    /// the body parsed, and its size.
    pub async fn timed(
        &self,
        method: Method,
        path: &str,
        actor: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(Duration, Value, usize), String> {
        let (took, status, value, size) = self.exchange(method, path, actor, body).await?;
        if !(200..300).contains(&status) {
            return Err(format!("{path}: {status} {value}"));
        }
        Ok((took, value, size))
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

/// A string field of an answer.
pub fn text(value: &Value, what: &str) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no {what} in the answer"))
}
