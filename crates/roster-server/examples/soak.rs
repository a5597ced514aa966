//! A soak run: mixed load against a real server for a while, then the
//! figures an operator cares about. Ten organizations; four workers ask
//! decisions (batches of ten), invite people and revoke the invitations,
//! add people, change their program roles and remove them, and assign
//! one-month Implementation Admins; a fifth moves the dev clock a month
//! every 10 s and runs the jobs, so those assignments expire under load.
//! The organizations keep about their size, so memory should too. It prints the
//! requests made, every answer ≥ 500 (there must be none), the process's
//! resident memory each minute, and whether every audit chain verifies.
//!
//! `cargo run --release -p roster-server --example soak -- MINUTES [DATABASE_URL]`
//! (default: a fresh SQLite file in a temporary folder). The load
//! generator runs in the same process as the server, so the memory figures
//! include it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "shared/client.rs"]
mod client;
use client::Client;
#[path = "shared/server.rs"]
mod server;
use serde_json::{json, Value};

const KEY: &str = "soak";
const ORGS: usize = 10;

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    server_errors: AtomicU64,
}

struct Load {
    api: Client,
    tally: Tally,
}

impl Load {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        actor: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        match self.api.send(method, path, actor, body.as_ref()).await {
            Ok((status, answer)) => {
                if status >= 500 {
                    self.tally.server_errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!("{path}: {status}");
                }
                (status, answer)
            }
            Err(e) => {
                self.tally.server_errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("{e}");
                (0, Value::Null)
            }
        }
    }

    async fn post(&self, path: &str, actor: Option<&str>, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, actor, Some(body))
            .await
    }
}

/// One worker's loop over its organizations until `until`.
async fn work(
    load: Arc<Load>,
    orgs: Arc<Vec<(String, String, String)>>,
    worker: usize,
    until: Instant,
) {
    let mut n = 0usize;
    while Instant::now() < until {
        n += 1;
        let (org, owner, space) = &orgs[(worker + n) % orgs.len()];
        let tag = format!("w{worker}n{n}");
        match n % 10 {
            // Invite someone, then take it back.
            0 => {
                let email = format!("{tag}@soak.example");
                let (_, batch) = load
                    .post(
                        &format!("/v1/orgs/{org}/invitations"),
                        Some(owner),
                        json!({"emails": [email], "role": "participant", "space_ids": [space]}),
                    )
                    .await;
                if let Some(id) = batch["invitations"][0]["id"].as_str() {
                    let path = format!("/v1/orgs/{org}/invitations/{id}");
                    load.call(reqwest::Method::DELETE, &path, Some(owner), None)
                        .await;
                }
            }
            // A one-month Implementation Admin, whom the clock worker expires.
            1 => {
                let email = format!("{tag}@partner.example");
                load.post(&format!("/v1/orgs/{org}/members/import?mode=add"), None, json!({"members": [{"email": email, "org_role": "implementation_admin", "duration": "1_month"}]})).await;
            }
            // A role change of an imported member.
            2 => {
                let (_, created) = load.post(&format!("/v1/orgs/{org}/members/import?mode=add"), None, json!({"members": [{"email": format!("{tag}@soak.example"), "space_roles": [{"space_id": space, "role": "participant"}]}]})).await;
                if let Some(user) = created["created"][0].as_str() {
                    load.call(
                        reqwest::Method::PUT,
                        &format!("/v1/orgs/{org}/spaces/{space}/members/{user}"),
                        Some(owner),
                        Some(json!({"role": "facilitator"})),
                    )
                    .await;
                    let path = format!("/v1/orgs/{org}/members/{user}");
                    load.call(reqwest::Method::DELETE, &path, Some(owner), None)
                        .await;
                }
            }
            // Decisions, most of the traffic.
            _ => {
                let question = json!({"subject": {"type": "user", "id": owner}, "action": {"name": "events.manage"}, "resource": {"type": "space", "id": space, "properties": {"org_id": org}}});
                let batch: Vec<Value> = (0..10).map(|_| question.clone()).collect();
                load.post(
                    "/access/v1/evaluations",
                    None,
                    json!({"evaluations": batch}),
                )
                .await;
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let minutes: u64 = args.next().and_then(|m| m.parse().ok()).unwrap_or(1);
    let dir = std::env::temp_dir().join(format!("roster-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("roster.db").display()));
    let basic = server::on(&url, KEY);
    let (base, _) = server::start(|k| match k {
        "ROSTER_DEV_CLOCK" => Some("1".into()),
        "ROSTER_DEFAULT_IA_DOMAINS" => Some("partner.example".into()),
        other => basic(other),
    })
    .await?;
    let load = Arc::new(Load {
        api: Client {
            base,
            key: KEY.to_owned(),
            http: reqwest::Client::new(),
        },
        tally: Tally::default(),
    });
    let mut orgs = Vec::new();
    for i in 0..ORGS {
        let (_, org) = load.post("/v1/orgs", None, json!({"name": format!("Soak {i}"), "owner_email": format!("owner{i}@soak.example")})).await;
        let (id, owner) = (
            org["id"].as_str().unwrap_or_default().to_owned(),
            org["owner"]["user_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        load.call(
            reqwest::Method::PUT,
            &format!("/v1/orgs/{id}/settings/implementation-admin"),
            Some(&owner),
            Some(json!({"enabled": true})),
        )
        .await;
        let (_, space) = load
            .post(
                &format!("/v1/orgs/{id}/spaces"),
                Some(&owner),
                json!({"name": "Program"}),
            )
            .await;
        orgs.push((
            id,
            owner,
            space["id"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let orgs = Arc::new(orgs);
    let started = Instant::now();
    let until = started + Duration::from_secs(minutes * 60);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4 {
        workers.spawn(work(load.clone(), orgs.clone(), worker, until));
    }
    let clock = {
        let load = load.clone();
        tokio::spawn(async move {
            let mut expired = 0u64;
            while Instant::now() < until {
                tokio::time::sleep(Duration::from_secs(10)).await;
                load.post(
                    "/v1/dev/clock",
                    None,
                    json!({"advance_seconds": 31 * 86_400}),
                )
                .await;
                let (_, swept) = load.post("/v1/dev/sweep", None, json!({})).await;
                expired += swept["implementation_admins_expired"].as_u64().unwrap_or(0);
            }
            expired
        })
    };
    let mut minute = 0;
    while Instant::now() < until {
        tokio::time::sleep(
            Duration::from_secs(60).min(until.saturating_duration_since(Instant::now())),
        )
        .await;
        minute += 1;
        println!(
            "minute {minute}: {} requests, {} answers ≥ 500, RSS {} MiB",
            load.tally.requests.load(Ordering::Relaxed),
            load.tally.server_errors.load(Ordering::Relaxed),
            server::rss_kib() / 1024
        );
    }
    while workers.join_next().await.is_some() {}
    let expired = clock.await.unwrap_or(0);
    let mut chains = 0;
    for (org, _, _) in orgs.iter() {
        let (_, check) = load
            .call(
                reqwest::Method::GET,
                &format!("/v1/orgs/{org}/audit/verify"),
                None,
                None,
            )
            .await;
        if check["ok"] == true {
            chains += 1;
        }
    }
    println!(
        "{minutes} min on {}: {} requests ({:.0}/s), {} answers ≥ 500, {expired} Implementation Admins expired by the jobs, {chains} of {ORGS} audit chains verify, RSS {} MiB",
        if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" },
        load.tally.requests.load(Ordering::Relaxed),
        load.tally.requests.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(),
        load.tally.server_errors.load(Ordering::Relaxed),
        server::rss_kib() / 1024
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
