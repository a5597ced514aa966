#![allow(dead_code)]
//! A real webhook receiver on loopback: keeps every request it gets,
//! verifies each signature with the `standardwebhooks` crate against the
//! secrets the test gave it, and answers as the test scripted (a list of
//! statuses to answer first, then a default; optionally slowly).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use tokio::sync::Notify;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`, as sent (`v1,<base64>` one or more times).
    pub signature: String,
    /// The secrets (of those the receiver was given) that verify it.
    pub verified_by: Vec<String>,
    pub body: Value,
    /// The body as sent.
    pub raw: Vec<u8>,
}

impl Delivered {
    /// The signatures of the `webhook-signature` header, in order.
    pub fn signatures(&self) -> Vec<&str> {
        self.signature.split(' ').collect()
    }

    /// The signature `secret` makes of this request.
    pub fn signed_with(&self, secret: &str) -> String {
        let timestamp = self.timestamp.parse().unwrap();
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .sign(&self.id, timestamp, &self.raw)
            .unwrap()
    }
}

#[derive(Default)]
struct Script {
    /// Answered first, one per request.
    first: VecDeque<u16>,
    /// Answered once `first` is used up.
    then: u16,
    /// How long each answer takes.
    delay: Duration,
    secrets: Vec<String>,
    got: Vec<Delivered>,
}

#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    script: Arc<Mutex<Script>>,
    arrived: Arc<Notify>,
}

impl Receiver {
    /// A receiver answering 200 at once.
    pub async fn start() -> Receiver {
        let script = Arc::new(Mutex::new(Script {
            then: 200,
            ..Script::default()
        }));
        let arrived = Arc::new(Notify::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state((script.clone(), arrived.clone()));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            script,
            arrived,
        }
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }

    /// Answers `first`, one per request, then `then` to every request.
    pub fn answer(&self, first: &[u16], then: u16) {
        let mut script = self.script();
        script.first = first.iter().copied().collect();
        script.then = then;
    }

    /// Each answer takes `delay`.
    pub fn slow(&self, delay: Duration) {
        self.script().delay = delay;
    }

    /// The secrets signatures are checked against (replacing earlier ones).
    pub fn trust(&self, secrets: &[&str]) {
        self.script().secrets = secrets.iter().map(|s| (*s).to_owned()).collect();
    }

    /// Every request so far, in arrival order.
    pub fn got(&self) -> Vec<Delivered> {
        self.script().got.clone()
    }

    /// Waits until at least `n` requests arrived (or fails after 15 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Delivered> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let arrived = self.arrived.notified();
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("expected {n} webhook requests, got {}: {got:#?}", got.len());
            }
        }
    }
}

async fn receive(
    State((script, arrived)): State<(Arc<Mutex<Script>>, Arc<Notify>)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (answer, delay) = {
        let mut script = script.lock().unwrap();
        let answer = script.first.pop_front().unwrap_or(script.then);
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let verified_by = script
            .secrets
            .iter()
            .filter(|secret| {
                standardwebhooks::Webhook::new(secret)
                    .and_then(|hook| hook.verify(&body, &headers))
                    .is_ok()
            })
            .cloned()
            .collect();
        let delivered = Delivered {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            verified_by,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            raw: body.to_vec(),
        };
        script.got.push(delivered);
        (answer, script.delay)
    };
    arrived.notify_waiters();
    tokio::time::sleep(delay).await;
    StatusCode::from_u16(answer).unwrap()
}
