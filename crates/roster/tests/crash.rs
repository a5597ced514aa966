//! The `roster` binary as an operator runs it: killed with SIGKILL in the
//! middle of delivering mail or a webhook, restarted, and nothing is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../roster-server/tests/api/common/receiver.rs"]
mod receiver;
#[path = "../../roster-server/tests/api/common/smtp.rs"]
mod smtp;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use smtp::SmtpReceiver;

const KEY: &str = "crash-test-key";

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(db: &str, smtp_port: u16) -> Server {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("serve")
        .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("ROSTER_DATABASE_URL", db)
        .env("ROSTER_PLATFORM_KEY", KEY)
        .env("ROSTER_DEV_CLOCK", "1")
        .env("ROSTER_JOB_INTERVAL_MS", "3600000")
        .env("ROSTER_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("ROSTER_WEBHOOK_ALLOW_PRIVATE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // Wait for the listener: readiness, polled with a deadline.
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Server { child, base };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("roster serve did not become ready");
}

async fn call(base: &str, path: &str, actor: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .json(&body);
    if let Some(actor) = actor {
        req = req.header("X-Roster-Actor", actor);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

/// The ids of an organization's events, oldest first.
async fn feed(base: &str, org: &str) -> Vec<String> {
    let feed: Value = reqwest::Client::new()
        .get(format!("{base}/v1/orgs/{org}/events"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_interrupted_by_sigkill_is_delivered_after_restart_with_its_message_id() {
    let dir = std::env::temp_dir().join(format!("roster-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("roster.db").display());
    let smtp = SmtpReceiver::start().await;

    let mut server = start(&db, smtp.port).await;
    let org = call(
        &server.base,
        "/v1/orgs",
        None,
        json!({"name": "Crash Co", "owner_email": "owner@crash.test"}),
    )
    .await;
    let (org_id, owner) = (
        org["id"].as_str().unwrap().to_owned(),
        org["owner"]["user_id"].as_str().unwrap().to_owned(),
    );
    let space = call(
        &server.base,
        &format!("/v1/orgs/{org_id}/spaces"),
        Some(&owner),
        json!({"name": "P"}),
    )
    .await;
    let emails = ["a@crash.test", "b@crash.test", "c@crash.test"];
    // The receiver takes the first message but never acknowledges it, and
    // the server is killed while it waits: delivery starts as soon as the
    // invitations are written.
    smtp.stall(true);
    call(
        &server.base,
        &format!("/v1/orgs/{org_id}/invitations"),
        Some(&owner),
        json!({"emails": emails, "role": "participant", "space_ids": [space["id"]]}),
    )
    .await;
    smtp.wait_for(1, Duration::from_secs(20)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    smtp.stall(false);

    let mut server = start(&db, smtp.port).await;
    // Within one minute of the server's clock, delivery resumes.
    call(
        &server.base,
        "/v1/dev/clock",
        None,
        json!({"advance_seconds": 60}),
    )
    .await;
    let report = call(&server.base, "/v1/dev/sweep", None, json!({})).await;
    assert_eq!(report["emails_sent"], 3, "{report}");
    assert_eq!(
        call(&server.base, "/v1/dev/sweep", None, json!({})).await["emails_sent"],
        0,
        "nothing twice after that"
    );

    let received = smtp.messages();
    for email in emails {
        let copies: Vec<_> = received
            .iter()
            .filter(|m| m.to.iter().any(|t| t == email))
            .collect();
        assert!(!copies.is_empty(), "{email} got its invitation");
        let ids: std::collections::HashSet<_> = copies
            .iter()
            .map(|m| m.header("Message-ID").unwrap())
            .collect();
        assert_eq!(
            ids.len(),
            1,
            "a re-sent message keeps its Message-ID, so receivers drop the copy"
        );
    }
    let distinct: std::collections::HashSet<_> = received
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(distinct.len(), 3);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_interrupted_by_sigkill_arrives_after_restart_with_its_webhook_id() {
    let dir = std::env::temp_dir().join(format!("roster-hook-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("roster.db").display());
    let smtp = SmtpReceiver::start().await;
    let receiver = receiver::Receiver::start().await;
    // The requests are taken but never answered: the server is killed
    // while it waits.
    receiver.slow(Duration::from_secs(3_600));

    let mut server = start(&db, smtp.port).await;
    let hook = call(
        &server.base,
        "/v1/webhooks",
        None,
        json!({"url": receiver.url}),
    )
    .await;
    receiver.trust(&[hook["secret"].as_str().unwrap()]);
    let org = call(
        &server.base,
        "/v1/orgs",
        None,
        json!({"name": "Crash Co", "owner_email": "owner@crash.test"}),
    )
    .await;
    // The organization's events go out at the same time: wait for every
    // one of them, so that none arrives from the killed server once the
    // count below is taken.
    let events = feed(&server.base, org["id"].as_str().unwrap()).await;
    assert!(!events.is_empty(), "creating an organization is an event");
    receiver.wait_for(events.len()).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let before_crash = receiver.got().len();
    assert_eq!(before_crash, events.len(), "{:#?}", receiver.got());
    receiver.slow(Duration::ZERO);

    let mut server = start(&db, smtp.port).await;
    // The lease the killed server held runs out; the deliveries go again.
    call(
        &server.base,
        "/v1/dev/clock",
        None,
        json!({"advance_seconds": 61}),
    )
    .await;
    call(&server.base, "/v1/dev/sweep", None, json!({})).await;
    call(&server.base, "/v1/dev/sweep", None, json!({})).await;
    assert_eq!(
        feed(&server.base, org["id"].as_str().unwrap()).await,
        events
    );
    let got = receiver.got();
    assert!(got.iter().all(|d| d.verified_by.len() == 1), "{got:#?}");
    let after_restart: Vec<&str> = got[before_crash..].iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        after_restart.len(),
        events.len(),
        "after the restart each event arrives once: {after_restart:?}"
    );
    for event in &events {
        assert!(
            after_restart.contains(&event.as_str()),
            "{event} arrives after the restart"
        );
    }
    assert!(
        got[..before_crash].iter().all(|d| events.contains(&d.id)),
        "what arrived before the crash was the same events, with the same webhook-id"
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_cleanly() {
    let dir = std::env::temp_dir().join(format!("roster-term-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("roster.db").display());
    let smtp = SmtpReceiver::start().await;
    let mut server = start(&db, smtp.port).await;
    // Writes in flight when the signal arrives still complete.
    let base = server.base.clone();
    let writes: Vec<_> = (0..10)
        .map(|i| {
            let base = base.clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{base}/v1/orgs"))
                    .bearer_auth(KEY)
                    .json(&json!({"name": format!("Org {i}"), "owner_email": format!("o{i}@term.test")}))
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "roster serve exits 0 on SIGTERM: {exit:?}");
    let mut created = 0;
    for w in writes {
        // Each request either completed (201) or was never accepted; none
        // is cut off half-done.
        if let Ok(Ok(status)) = w.await {
            assert_eq!(status, reqwest::StatusCode::CREATED);
            created += 1;
        }
    }
    // What was answered 201 is in the database.
    let count = count_orgs(&db).await;
    assert!(
        count >= created,
        "{count} organizations stored, {created} answered 201"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn count_orgs(db: &str) -> usize {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(db).await.unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM orgs")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    pool.close().await;
    usize::try_from(n).unwrap()
}
