//! The webhook worker: sends due deliveries with `reqwest`, each endpoint
//! on its own (one endpoint's failures never hold up another's), signed,
//! with the retry schedule of API.md. Claims are fenced leases: a worker
//! records an attempt only under the lease it was given.

use std::time::Instant;

use chrono::{Duration, Utc};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, Url};
use roster_core::webhooks::{retry_after, MAX_ATTEMPTS};
use roster_core::{Timestamp, Webhook, WebhookId};
use roster_store::{Attempt, Delivery, StoreError};
use tokio::task::JoinSet;

use super::{sign, target};
use crate::state::AppState;

/// How long a claim keeps a delivery for one worker: well above the time a
/// batch can take (two rounds of the 10 s timeout).
const LEASE_SECONDS: i64 = 60;
/// The most deliveries of one endpoint claimed at once.
const BATCH: i64 = 32;
/// The most requests in flight to one endpoint.
const IN_FLIGHT: usize = 16;
/// A receiver answers within this, or the attempt failed.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// At most this much of an answer is read (for `last_error`).
const MAX_ANSWER: usize = 4 * 1024;

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub delivered: usize,
    pub failed: usize,
}

/// Sends every delivery due now, endpoint by endpoint at the same time.
pub async fn deliver_due(app: &AppState) -> Result<Report, StoreError> {
    let _one_run = app.webhook_runs.lock().await;
    let endpoints = app.store.endpoints_with_due_deliveries(app.now()).await?;
    let mut runs = JoinSet::new();
    for id in endpoints {
        let app = app.clone();
        runs.spawn(async move { deliver_endpoint(&app, &id).await });
    }
    let mut report = Report::default();
    while let Some(done) = runs.join_next().await {
        match done {
            Ok(Ok(one)) => {
                report.delivered += one.delivered;
                report.failed += one.failed;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "webhook deliveries stopped early"),
            Err(e) => tracing::warn!(error = %e, "a webhook delivery task failed"),
        }
    }
    Ok(report)
}

async fn deliver_endpoint(app: &AppState, id: &WebhookId) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let Some(webhook) = app.store.webhook(id).await? else {
        return Ok(report);
    };
    loop {
        let now = app.now();
        let batch = app
            .store
            .claim_deliveries(id, now, Duration::seconds(LEASE_SECONDS), BATCH)
            .await?;
        if batch.is_empty() {
            return Ok(report);
        }
        // Checked again at every delivery: connect only to what was checked.
        let client = match client_for(&webhook, app.config.webhook_allow_private).await {
            Ok(client) => client,
            Err(why) => {
                for delivery in &batch {
                    let attempt = failure(delivery, None, why.clone(), now);
                    record(app, &webhook, delivery, &attempt, 0.0, &mut report).await?;
                }
                continue;
            }
        };
        let secrets = signing_secrets(&webhook, now);
        let mut sends = JoinSet::new();
        let mut queue = batch.into_iter();
        let mut gone = false;
        loop {
            while sends.len() < IN_FLIGHT {
                let Some(delivery) = queue.next() else { break };
                let (client, url, secrets) = (client.clone(), webhook.url.clone(), secrets.clone());
                sends.spawn(async move {
                    let started = Instant::now();
                    let answer = send(&client, &url, &secrets, &delivery).await;
                    (delivery, answer, started.elapsed().as_secs_f64())
                });
            }
            let Some(done) = sends.join_next().await else {
                break;
            };
            let Ok((delivery, answer, seconds)) = done else {
                continue;
            };
            let attempt = match answer {
                Ok((status, _)) if (200..300).contains(&status) => Attempt::Delivered {
                    status: i64::from(status),
                },
                Ok((status, body)) => {
                    gone |= status == 410;
                    let why = format!("HTTP {status}: {body}");
                    let retry = status != 410;
                    let mut attempt = failure(&delivery, Some(i64::from(status)), why, app.now());
                    if !retry {
                        attempt = dead(attempt);
                    }
                    attempt
                }
                Err(why) => failure(&delivery, None, why, app.now()),
            };
            record(app, &webhook, &delivery, &attempt, seconds, &mut report).await?;
        }
        if gone {
            // SPEC §16: `410 Gone` disables the endpoint.
            app.store.disable_gone_webhook(id).await?;
            return Ok(report);
        }
    }
}

/// A client that reaches the endpoint's host only at the addresses just
/// checked, follows no redirects and gives up after the timeout.
async fn client_for(webhook: &Webhook, allow_private: bool) -> Result<Client, String> {
    let url = target::parse(&webhook.url).map_err(|e| e.to_string())?;
    let addrs = target::resolve(&url, allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let host = url.host_str().unwrap_or_default().to_owned();
    Client::builder()
        .resolve_to_addrs(&host, &addrs)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| format!("could not build the HTTP client: {e}"))
}

/// The secrets that sign now: the current one, and the previous one for
/// 24 hours after a rotation (newest first).
fn signing_secrets(webhook: &Webhook, now: Timestamp) -> Vec<String> {
    let mut secrets = vec![webhook.secret.expose().to_owned()];
    if let Some((previous, until)) = &webhook.previous_secret {
        if *until > now {
            secrets.push(previous.expose().to_owned());
        }
    }
    secrets
}

/// One POST; answers the status and the start of the answer's body.
async fn send(
    client: &Client,
    url: &str,
    secrets: &[String],
    delivery: &Delivery,
) -> Result<(u16, String), String> {
    let url = Url::parse(url).map_err(|e| e.to_string())?;
    // Receivers check the timestamp against their own clock: the real time,
    // whatever the dev clock says.
    let timestamp = Utc::now().timestamp();
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let signature = sign::header(
        &refs,
        &delivery.event_id,
        timestamp,
        delivery.payload.as_bytes(),
    );
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in [
        ("webhook-id", delivery.event_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ] {
        let value = HeaderValue::from_str(&value).map_err(|e| e.to_string())?;
        headers.insert(name, value);
    }
    let mut response = client
        .post(url)
        .headers(headers)
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ANSWER);
    Ok((
        status,
        String::from_utf8_lossy(&body).chars().take(500).collect(),
    ))
}

/// A failed attempt: tried again on the schedule, or dead after the last.
fn failure(delivery: &Delivery, status: Option<i64>, error: String, now: Timestamp) -> Attempt {
    let attempts = u32::try_from(delivery.attempts + 1).unwrap_or(MAX_ATTEMPTS);
    Attempt::Failed {
        status,
        error,
        retry_at: retry_after(attempts).map(|wait| now + wait),
    }
}

fn dead(attempt: Attempt) -> Attempt {
    match attempt {
        Attempt::Failed { status, error, .. } => Attempt::Failed {
            status,
            error,
            retry_at: None,
        },
        delivered => delivered,
    }
}

async fn record(
    app: &AppState,
    webhook: &Webhook,
    delivery: &Delivery,
    attempt: &Attempt,
    seconds: f64,
    report: &mut Report,
) -> Result<(), StoreError> {
    let outcome = match attempt {
        Attempt::Delivered { .. } => "delivered",
        Attempt::Failed {
            retry_at: Some(_), ..
        } => "failed",
        Attempt::Failed { retry_at: None, .. } => "dead",
    };
    let ours = app
        .store
        .record_attempt(delivery, attempt, app.now())
        .await?;
    if !ours {
        // Another worker holds this delivery now: it is theirs to record.
        tracing::warn!(delivery = %delivery.id, "a webhook delivery's lease ran out before it was recorded");
        return Ok(());
    }
    app.metrics.record_webhook_delivery(outcome, seconds);
    match attempt {
        Attempt::Delivered { .. } => report.delivered += 1,
        Attempt::Failed { error, .. } => {
            report.failed += 1;
            tracing::info!(webhook = %webhook.id, delivery = %delivery.id, %error, outcome, "webhook delivery failed");
        }
    }
    Ok(())
}
