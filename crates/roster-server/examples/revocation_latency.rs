//! How long a deactivation answered by replica A takes to be denied by
//! replica B: two servers on one PostgreSQL, over HTTP on loopback. Each
//! trial deactivates an Admin through A, then asks B `members.view` for
//! them until it answers no, timing from A's answer to B's first no; then
//! reactivates them (untimed) and waits until B allows again.
//!
//! `cargo run --release -p roster-server --example revocation_latency -- [TRIALS] postgres://…`

use std::time::{Duration, Instant};

#[path = "shared/server.rs"]
mod server;
use serde_json::{json, Value};

const KEY: &str = "bench";

async fn start(url: &str) -> Result<String, String> {
    Ok(server::start(server::on(url, KEY)).await?.0)
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    actor: Option<&str>,
    body: Value,
) -> Result<Value, String> {
    let mut request = client
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .json(&body);
    if let Some(actor) = actor {
        request = request.header("X-Roster-Actor", actor);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{path}: {}", response.status()));
    }
    Ok(response.json().await.unwrap_or(Value::Null))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let trials: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let url = args
        .next()
        .ok_or("a postgres:// URL is needed: two replicas share it")?;
    let (a, b) = (start(&url).await?, start(&url).await?);
    let client = reqwest::Client::new();
    let org = call(
        &client,
        &a,
        "/v1/orgs",
        None,
        json!({"name": "Latency", "owner_email": "owner@latency.example"}),
    )
    .await?;
    let org_id = org["id"].as_str().ok_or("no org id")?.to_owned();
    let owner = org["owner"]["user_id"]
        .as_str()
        .ok_or("no owner")?
        .to_owned();
    let imported = call(
        &client,
        &a,
        &format!("/v1/orgs/{org_id}/members/import?mode=add"),
        None,
        json!({"members": [{"email": "admin@latency.example", "org_role": "admin"}]}),
    )
    .await?;
    let admin = imported["created"][0]
        .as_str()
        .ok_or("no admin")?
        .to_owned();
    let question = json!({
        "subject": {"type": "user", "id": admin},
        "action": {"name": "members.view"},
        "resource": {"type": "organization", "id": org_id},
    });
    let allowed = |base: String| {
        let (client, question) = (client.clone(), question.clone());
        async move {
            call(&client, &base, "/access/v1/evaluation", None, question)
                .await
                .map(|d| d["decision"] == true)
        }
    };
    let mut waits = Vec::with_capacity(trials);
    let member = format!("/v1/orgs/{org_id}/members/{admin}");
    for _ in 0..trials {
        while !allowed(b.clone()).await? {}
        call(
            &client,
            &a,
            &format!("{member}/deactivate"),
            Some(&owner),
            json!({}),
        )
        .await?;
        let answered = Instant::now();
        while allowed(b.clone()).await? {}
        waits.push(answered.elapsed());
        call(
            &client,
            &a,
            &format!("{member}/reactivate"),
            Some(&owner),
            json!({}),
        )
        .await?;
    }
    waits.sort_unstable();
    let at = |q: f64| {
        let i = ((waits.len() as f64 - 1.0) * q).round() as usize;
        waits.get(i).copied().unwrap_or(Duration::ZERO)
    };
    println!(
        "{trials} trials: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
