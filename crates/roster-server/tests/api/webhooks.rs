//! Webhooks (SPEC §16, API.md "Webhooks"): endpoints of the platform and
//! of an organization, signed deliveries a real receiver verifies with the
//! `standardwebhooks` crate, the retry schedule on the dev clock, dead
//! deliveries and manual retries, `410`, secret rotation, URL safety, and
//! each delivery once with two replicas and a slow receiver.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reqwest::StatusCode;
use roster_core::{OrgId, UserId, WebhookId};
use roster_server::views::{EventView, WebhookView};
use roster_testkit::{on_both_backends, on_postgres, TestDb};
use serde_json::{json, Value};

use crate::common::receiver::{Delivered, Receiver};
use crate::common::{spawn, spawn_with, TestApp};
use crate::fixtures::space_world;

const PLATFORM: &str = "/v1/webhooks";

on_both_backends!(
    every_change_reaches_each_endpoint_that_wants_it_once_signed,
    a_failing_receiver_is_retried_on_the_schedule_with_one_webhook_id,
    seven_failures_make_a_delivery_dead_and_a_manual_retry_sends_it_again,
    a_410_answer_disables_the_endpoint,
    a_rotated_secret_signs_beside_the_new_one_for_a_day,
    an_organizations_endpoints_are_its_integration_managers_and_audited,
    webhook_urls_must_be_http_and_reach_only_public_addresses,
);

on_postgres!(two_replicas_and_a_slow_receiver_deliver_each_event_exactly_once,);

/// The server, allowed to send to the loopback receivers.
async fn spawn_allowing_loopback(db: TestDb) -> TestApp {
    spawn_with(db, |config| config.webhook_allow_private = true).await
}

/// `/v1/orgs/{org}/webhooks`.
fn org_hooks(org: &OrgId) -> String {
    format!("/v1/orgs/{org}/webhooks")
}

/// Registers `receiver` at `hooks` with `body` (its `url` added), trusting
/// the secret the answer shows.
async fn register(
    app: &TestApp,
    hooks: &str,
    actor: Option<&UserId>,
    receiver: &Receiver,
    mut body: Value,
) -> WebhookId {
    body["url"] = json!(receiver.url);
    let created = app
        .post_webhook(hooks, actor, body)
        .await
        .ok("register an endpoint");
    assert!(created.secret.starts_with("whsec_"), "{created:?}");
    assert!(created.webhook.enabled);
    receiver.trust(&[&created.secret]);
    created.webhook.id
}

/// Every event of `orgs` not among `before`.
async fn events_since(app: &TestApp, orgs: &[&OrgId], before: &HashSet<String>) -> Vec<EventView> {
    let mut events = Vec::new();
    for org in orgs {
        events.extend(
            app.events(org)
                .await
                .into_iter()
                .filter(|e| !before.contains(&e.id)),
        );
    }
    events
}

async fn event_ids(app: &TestApp, orgs: &[&OrgId]) -> HashSet<String> {
    events_since(app, orgs, &HashSet::new())
        .await
        .into_iter()
        .map(|e| e.id)
        .collect()
}

/// Asserts `got` is `expected`, each once, as its own signed body.
fn assert_received_once(got: &[Delivered], expected: &[EventView], who: &str) {
    let by_id: HashMap<&str, &EventView> = expected.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    let mut want: Vec<&str> = by_id.keys().copied().collect();
    want.sort_unstable();
    assert_eq!(ids, want, "{who}: each event it wants, once");
    for delivered in got {
        assert_eq!(
            delivered.verified_by.len(),
            1,
            "{who}: the signature verifies with the endpoint's secret: {delivered:?}"
        );
        let event = by_id[delivered.id.as_str()];
        assert_eq!(
            delivered.body,
            serde_json::to_value(event).unwrap(),
            "{who}: the body is the event, as the feed shows it"
        );
    }
}

async fn every_change_reaches_each_endpoint_that_wants_it_once_signed(db: TestDb) {
    let app = spawn_allowing_loopback(db).await;
    let (everything, roles_and_spaces, other_only) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let (other, other_owner) = app.create_org("Other", "owner@other.test", None).await;

    register(&app, PLATFORM, None, &everything, json!({})).await;
    let before = event_ids(&app, &[&org, &other]).await;
    register(
        &app,
        &org_hooks(&org),
        Some(&owner),
        &roles_and_spaces,
        json!({"types": ["member.role_changed", "space.created"]}),
    )
    .await;
    let before_other = event_ids(&app, &[&other]).await;
    register(&app, PLATFORM, None, &other_only, json!({"org_id": other})).await;

    let space = app.create_space(&org, &owner, "Leadership").await;
    let coach = app
        .add_member(
            &org,
            &owner,
            "coach@acme.test",
            "facilitator",
            &[&space],
            None,
        )
        .await;
    app.patch_member(&org, &coach, Some(&owner), json!({"org_role": "admin"}))
        .await
        .ok("a role change");
    app.delete_member(&org, &coach, Some(&owner))
        .await
        .ok("a removal");
    app.create_space(&other, &other_owner, "Elsewhere").await;

    let all = events_since(&app, &[&org, &other], &before).await;
    // Sent as each change commits; a sweep afterwards finds nothing left.
    everything.wait_for(all.len()).await;
    roles_and_spaces.wait_for(2).await;
    other_only.wait_for(2).await;
    let swept = app.sweep().await;
    assert_eq!(swept.webhooks_delivered, 0, "nothing is sent twice");
    assert_received_once(&everything.got(), &all, "the platform's endpoint");
    let wanted: Vec<EventView> = all
        .iter()
        .filter(|e| {
            e.org_id.as_ref() == Some(&org)
                && ["member.role_changed", "space.created"].contains(&e.kind.as_str())
        })
        .cloned()
        .collect();
    assert_eq!(wanted.len(), 2, "one space and one role change: {all:?}");
    assert_received_once(&roles_and_spaces.got(), &wanted, "the filtered endpoint");
    let others = events_since(&app, &[&other], &before_other).await;
    let kinds: Vec<&str> = others.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["webhook.created", "space.created"],
        "an endpoint hears of its own creation too"
    );
    assert_received_once(&other_only.got(), &others, "one organization's endpoint");
    for delivered in everything.got() {
        assert_eq!(
            delivered.body["id"],
            json!(delivered.id),
            "webhook-id is the event id"
        );
    }
}

async fn a_failing_receiver_is_retried_on_the_schedule_with_one_webhook_id(db: TestDb) {
    let app = spawn_allowing_loopback(db).await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 500, 500], 200);
    let hook = register(&app, PLATFORM, None, &receiver, json!({})).await;
    app.test_webhook(PLATFORM, &hook, None)
        .await
        .ok("send a test event");

    let sent_at = app.now().await;
    app.sweep().await;
    let [pending] = &app.deliveries(&hook).await[..] else {
        panic!("one delivery")
    };
    assert_eq!(
        (
            pending.status.as_str(),
            pending.attempts,
            pending.last_status
        ),
        ("pending", 1, Some(500))
    );
    let next: chrono::DateTime<chrono::Utc> =
        pending.next_attempt_at.as_deref().unwrap().parse().unwrap();
    assert!(
        (4..=6).contains(&(next - sent_at).num_seconds()),
        "tried again after about 5 s: {pending:?}"
    );
    app.sweep().await;
    assert_eq!(receiver.got().len(), 1, "not again before it is due");

    for (wait, attempts) in [(5, 2), (60, 3), (300, 4)] {
        app.advance(wait).await;
        app.sweep().await;
        assert_eq!(receiver.got().len(), attempts, "after {wait} s more");
    }
    let got = receiver.got();
    assert!(
        got.iter()
            .all(|d| d.id == got[0].id && d.verified_by.len() == 1),
        "every attempt has the same webhook-id and a valid signature: {got:?}"
    );
    assert_eq!(got[0].body["type"], "webhook.test");
    let [delivered] = &app.deliveries(&hook).await[..] else {
        panic!("one delivery")
    };
    assert_eq!(
        (
            delivered.status.as_str(),
            delivered.attempts,
            delivered.last_status,
            delivered.next_attempt_at.as_deref()
        ),
        ("delivered", 4, Some(200), None)
    );
    assert!(delivered.delivered_at.is_some());
    app.advance(86_400).await;
    app.sweep().await;
    assert_eq!(
        receiver.got().len(),
        4,
        "a delivered event is not sent again"
    );

    let metrics = app.anonymous(reqwest::Method::GET, "/metrics").await.text;
    for (outcome, count) in [("failed", 3), ("delivered", 1)] {
        let line = format!("roster_webhook_deliveries_total{{outcome=\"{outcome}\"}} {count}");
        assert!(metrics.contains(&line), "/metrics has {line}:\n{metrics}");
    }
}

async fn seven_failures_make_a_delivery_dead_and_a_manual_retry_sends_it_again(db: TestDb) {
    let app = spawn_allowing_loopback(db).await;
    let receiver = Receiver::start().await;
    receiver.answer(&[], 503);
    let hook = register(&app, PLATFORM, None, &receiver, json!({})).await;
    app.test_webhook(PLATFORM, &hook, None).await.ok("test");
    app.sweep().await;
    for wait in [5, 60, 300, 1_800, 7_200, 28_800] {
        app.advance(wait).await;
        app.sweep().await;
    }
    assert_eq!(receiver.got().len(), 7, "seven attempts");
    let [dead] = &app.deliveries(&hook).await[..] else {
        panic!("one delivery")
    };
    assert_eq!(
        (
            dead.status.as_str(),
            dead.attempts,
            dead.last_status,
            dead.next_attempt_at.as_deref()
        ),
        ("dead", 7, Some(503), None)
    );
    assert!(dead.last_error.is_some(), "{dead:?}");
    app.advance(7 * 86_400).await;
    app.sweep().await;
    assert_eq!(
        receiver.got().len(),
        7,
        "a dead delivery is not tried again"
    );

    let listed = |status: &'static str| {
        let app = &app;
        let hook = hook.clone();
        async move {
            app.get_deliveries(PLATFORM, &hook, None, &format!("?status={status}"))
                .await
                .ok("list by status")
                .items
                .len()
        }
    };
    assert_eq!((listed("dead").await, listed("pending").await), (1, 0));
    app.get_deliveries(PLATFORM, &hook, None, "?status=lost")
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an unknown status",
        );

    receiver.answer(&[], 200);
    app.retry_delivery(PLATFORM, &hook, &dead.id, None)
        .await
        .ok("retry the dead delivery");
    app.sweep().await;
    let got = receiver.got();
    assert_eq!(got.len(), 8);
    assert_eq!(got[7].id, got[0].id, "a retry keeps the webhook-id");
    assert_eq!(app.deliveries(&hook).await[0].status, "delivered");
    app.retry_delivery(PLATFORM, &hook, &dead.id, None)
        .await
        .ok("retry the delivered delivery");
    app.sweep().await;
    assert_eq!(
        receiver.got().len(),
        9,
        "a delivered one goes again by hand"
    );

    let unknown = "dlv_0000000000000000".parse().unwrap();
    let missing = app.retry_delivery(PLATFORM, &hook, &unknown, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
}

async fn a_410_answer_disables_the_endpoint(db: TestDb) {
    let app = spawn_allowing_loopback(db).await;
    let receiver = Receiver::start().await;
    receiver.answer(&[410], 200);
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let hook = register(&app, PLATFORM, None, &receiver, json!({})).await;
    app.create_space(&org, &owner, "First").await;
    app.sweep().await;
    let gone = app.get_webhook(PLATFORM, &hook, None).await.ok("read it");
    assert_eq!(
        (gone.enabled, gone.disabled_reason.as_deref()),
        (false, Some("gone"))
    );
    assert_eq!(app.deliveries(&hook).await[0].status, "dead");

    app.create_space(&org, &owner, "While disabled").await;
    app.advance(3_600).await;
    app.sweep().await;
    assert_eq!(receiver.got().len(), 1, "a disabled endpoint gets nothing");

    let enabled = app
        .patch_webhook(PLATFORM, &hook, None, json!({"enabled": true}))
        .await
        .ok("enable it again");
    assert_eq!((enabled.enabled, enabled.disabled_reason), (true, None));
    app.create_space(&org, &owner, "Third").await;
    app.sweep().await;
    let got = receiver.got();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].body["data"]["details"]["name"], "Third", "{got:?}");
}

async fn a_rotated_secret_signs_beside_the_new_one_for_a_day(db: TestDb) {
    let app = spawn_allowing_loopback(db).await;
    let receiver = Receiver::start().await;
    let created = app
        .post_webhook(
            PLATFORM,
            None,
            json!({"url": receiver.url, "description": "CRM sync"}),
        )
        .await
        .ok("register");
    let (hook, old) = (created.webhook.id.clone(), created.secret.clone());
    let new = app
        .rotate_webhook_secret(PLATFORM, &hook, None)
        .await
        .ok("rotate")
        .secret;
    assert!(new.starts_with("whsec_") && new != old);
    receiver.trust(&[&new, &old]);

    app.test_webhook(PLATFORM, &hook, None).await.ok("test");
    app.sweep().await;
    let first = &receiver.wait_for(1).await[0];
    assert_eq!(
        first.signatures(),
        [first.signed_with(&new), first.signed_with(&old)],
        "two signatures, the new secret's first"
    );
    assert_eq!(first.verified_by.len(), 2);

    app.advance(24 * 3_600 + 1).await;
    app.test_webhook(PLATFORM, &hook, None).await.ok("test");
    app.sweep().await;
    let second = &receiver.wait_for(2).await[1];
    assert_eq!(
        (second.signatures(), second.verified_by.clone()),
        (vec![second.signed_with(&new).as_str()], vec![new.clone()]),
        "a day later, only the new secret signs"
    );

    for shown in [
        app.get_webhook(PLATFORM, &hook, None)
            .await
            .into_answer()
            .text,
        app.get_webhooks(PLATFORM, None).await.into_answer().text,
    ] {
        assert!(
            !shown.contains("secret") && !shown.contains(&new[6..]),
            "a secret is never shown again: {shown}"
        );
    }
}

async fn an_organizations_endpoints_are_its_integration_managers_and_audited(db: TestDb) {
    let app = spawn_allowing_loopback(db).await;
    let w = space_world(&app).await;
    let (other, other_owner) = app.create_org("Other", "owner@other.test", None).await;
    let hooks = org_hooks(&w.org);
    let receiver = Receiver::start().await;
    let body = json!({"url": receiver.url, "types": ["member.removed"]});

    app.post_webhook(&hooks, Some(&w.part), body.clone())
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a Participant registers",
        );
    app.post_webhook(&hooks, Some(&w.pa), body.clone())
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a Program Admin registers",
        );
    app.post_webhook(
        &hooks,
        Some(&w.owner),
        json!({"url": receiver.url, "org_id": other}),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "another organization's id",
    );
    for bad in [
        json!({"types": ["member.removed"]}),
        json!({"url": receiver.url, "types": ["member.flew_away"]}),
        json!({"url": receiver.url, "description": "x".repeat(501)}),
        json!({"url": 7}),
    ] {
        let refused = app.post_webhook(&hooks, Some(&w.owner), bad.clone()).await;
        refused.problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            &bad.to_string(),
        );
    }
    assert!(app
        .get_webhooks(&hooks, Some(&w.owner))
        .await
        .ok("list")
        .items
        .is_empty());

    let created = app
        .post_webhook(&hooks, Some(&w.owner), body)
        .await
        .ok("the Owner registers");
    let (hook, secret) = (created.webhook.id.clone(), created.secret.clone());
    assert_eq!(created.webhook.org_id.as_ref(), Some(&w.org));
    assert_eq!(created.webhook.types, ["member.removed"]);
    let listed: Vec<WebhookView> = app.get_webhooks(PLATFORM, None).await.ok("list").items;
    assert_eq!(
        listed,
        std::slice::from_ref(&created.webhook),
        "the platform sees every endpoint"
    );
    app.get_webhooks(&hooks, Some(&w.admin))
        .await
        .ok("an Admin lists them");
    app.get_webhook(&org_hooks(&other), &hook, Some(&other_owner))
        .await
        .problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "another organization's endpoint",
        );
    app.get_webhooks(&hooks, Some(&other_owner)).await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a stranger lists them",
    );

    app.patch_webhook(
        &hooks,
        &hook,
        Some(&w.owner),
        json!({"description": "HR sync"}),
    )
    .await
    .ok("describe it");
    app.rotate_webhook_secret(&hooks, &hook, Some(&w.admin))
        .await
        .ok("an Admin rotates");
    app.test_webhook(&hooks, &hook, Some(&w.owner))
        .await
        .ok("test it");
    app.delete_webhook(&hooks, &hook, Some(&w.owner))
        .await
        .ok("delete it");
    app.get_webhook(&hooks, &hook, Some(&w.owner))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found", "a deleted endpoint");

    let audited: Vec<(String, Option<UserId>)> = app
        .audit(&w.org)
        .await
        .into_iter()
        .filter(|e| e.action.as_str().starts_with("webhook."))
        .map(|e| (e.action.as_str().to_owned(), e.actor.user_id))
        .collect();
    assert_eq!(
        audited,
        [
            ("webhook.created".to_owned(), Some(w.owner.clone())),
            ("webhook.updated".to_owned(), Some(w.owner.clone())),
            ("webhook.secret_rotated".to_owned(), Some(w.admin.clone())),
            ("webhook.deleted".to_owned(), Some(w.owner.clone())),
        ]
    );
    let feed = serde_json::to_string(&app.events(&w.org).await).unwrap();
    assert!(!feed.contains(&secret[6..]), "no secret in the event feed");
    assert!(
        !feed.contains("webhook.test"),
        "a test ping is no event of the feed"
    );
}

async fn webhook_urls_must_be_http_and_reach_only_public_addresses(db: TestDb) {
    let app = spawn(db).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ] {
        app.post_webhook(PLATFORM, None, json!({"url": url}))
            .await
            .problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "webhook_url_not_allowed",
                url,
            );
    }
    for url in [
        "ftp://93.184.215.14/hook",
        "not a url",
        "http://user:pass@93.184.215.14/hook",
        "",
    ] {
        app.post_webhook(PLATFORM, None, json!({"url": url}))
            .await
            .problem(StatusCode::BAD_REQUEST, "validation_failed", url);
    }
    assert!(app
        .get_webhooks(PLATFORM, None)
        .await
        .ok("list")
        .items
        .is_empty());

    let public = app
        .post_webhook(PLATFORM, None, json!({"url": "https://93.184.215.14/hook"}))
        .await
        .ok("a public address");
    let id = public.webhook.id;
    app.patch_webhook(PLATFORM, &id, None, json!({"url": "http://127.0.0.1/hook"}))
        .await
        .problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "webhook_url_not_allowed",
            "moved to loopback",
        );
    assert_eq!(
        app.get_webhook(PLATFORM, &id, None).await.ok("read").url,
        "https://93.184.215.14/hook"
    );
}

/// Two replicas send one endpoint's deliveries at once to a receiver that
/// takes 3 s per request: each `webhook-id` arrives exactly once.
async fn two_replicas_and_a_slow_receiver_deliver_each_event_exactly_once(db: TestDb) {
    let a = spawn_allowing_loopback(db).await;
    let b = a.replica().await;
    let receiver = Receiver::start().await;
    receiver.slow(Duration::from_secs(3));
    let (org, owner) = a.create_org("Acme", "owner@acme.test", None).await;
    let hook = register(&a, PLATFORM, None, &receiver, json!({})).await;
    let before = event_ids(&a, &[&org]).await;
    for n in 0..40 {
        let replica = if n % 2 == 0 { &a } else { &b };
        replica
            .create_space(&org, &owner, &format!("Program {n}"))
            .await;
    }
    // Both replicas' workers send as writes commit; sweeps on both at once
    // afterwards race for whatever might be left.
    receiver.wait_for(40).await;
    let (first, second) = tokio::join!(a.sweep(), b.sweep());
    assert_eq!(first.webhooks_delivered + second.webhooks_delivered, 0);
    let expected = events_since(&a, &[&org], &before).await;
    assert_received_once(&receiver.got(), &expected, "the slow receiver");
    assert!(a
        .deliveries(&hook)
        .await
        .iter()
        .all(|d| d.status == "delivered" && d.attempts == 1));
}
