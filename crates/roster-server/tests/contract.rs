//! Details of API.md that a careful client relies on, each found by reading
//! the contract as a tester would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn org_with_implementation_admin(app: &TestApp, duration: &str) -> (String, String, String) {
    let (org, owner) = app
        .create_org("Northwind", "owner@northwind.test", Some(10))
        .await;
    app.put(
        &format!("/v1/orgs/{org}/implementation-admin-domains"),
        None,
        json!({"domains": ["upcoach.com"]}),
    )
    .await;
    app.put(
        &format!("/v1/orgs/{org}/settings/implementation-admin"),
        Some(&owner),
        json!({"enabled": true}),
    )
    .await;
    let ia = app
        .add_member(
            &org,
            &owner,
            "helper@upcoach.com",
            "implementation_admin",
            &[],
            Some(duration),
        )
        .await;
    (org, owner, ia)
}

async fn ended_emails(app: &TestApp) -> usize {
    let outbox = app.state.store.outbox(None, 100).await.unwrap();
    outbox
        .iter()
        .filter(|m| m.template.starts_with("implementation_admin_ended"))
        .count()
}

on_both_backends! {
    async fn setting_an_implementation_admins_role_to_none_ends_the_assignment_like_early_removal(app) {
        let (org, owner, ia) = org_with_implementation_admin(&app, "forever").await;
        let token = app.post(&format!("/v1/orgs/{org}/tokens"), Some(&ia), json!({"kind": "mcp", "name": "bot"})).await;
        let secret = token.body["secret"].as_str().unwrap().to_owned();
        let a = app.patch(&format!("/v1/orgs/{org}/members/{ia}"), Some(&owner), json!({"org_role": null})).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body["left_organization"], true);
        assert_eq!(app.get(&format!("/v1/orgs/{org}/members/{ia}"), None).await.status, StatusCode::NOT_FOUND);
        let introspected = app.client.post(format!("{}/v1/introspect", app.base)).bearer_auth(common::KEY).form(&[("token", secret.as_str())]).send().await.unwrap();
        assert_eq!(common::answer(introspected).await.body["active"], false);
        assert_eq!(ended_emails(&app).await, 2);
        let entries = app.audit(&org).await;
        assert!(entries.iter().any(|e| e["action"] == "implementation_admin.removed" && e["target_user_id"] == ia.as_str()));
        app.stop().await;
    }

    async fn removing_an_implementation_admin_from_the_organization_sends_the_same_emails(app) {
        let (org, owner, ia) = org_with_implementation_admin(&app, "3_months").await;
        assert_eq!(app.delete(&format!("/v1/orgs/{org}/members/{ia}"), Some(&owner)).await.status, StatusCode::NO_CONTENT);
        assert_eq!(ended_emails(&app).await, 2);
        let entries = app.audit(&org).await;
        assert!(entries.iter().any(|e| e["action"] == "implementation_admin.removed" && e["trigger"] == "request"));
        assert!(entries.iter().any(|e| e["action"] == "member.removed"));
        app.stop().await;
    }

    async fn access_ends_at_the_expires_at_the_api_shows(app) {
        let (org, _, ia) = org_with_implementation_admin(&app, "1_month").await;
        let member = app.get(&format!("/v1/orgs/{org}/members/{ia}"), None).await;
        let expires_at: chrono::DateTime<chrono::Utc> = member.body["implementation_admin"]["expires_at"].as_str().unwrap().parse().unwrap();
        let now = app.post("/v1/dev/clock", None, json!({"advance_seconds": 0})).await;
        let shown_now: chrono::DateTime<chrono::Utc> = now.body["now"].as_str().unwrap().parse().unwrap();
        let to_end = (expires_at - shown_now).num_seconds();
        let ask = || app.decide(&org, &ia, "members.view", json!({"type": "organization", "id": org}));
        app.advance(to_end - 2).await;
        assert!(ask().await, "two seconds before the end shown, still in");
        app.advance(2).await;
        assert!(!ask().await, "at the end shown, out");
        app.stop().await;
    }

    async fn an_expired_implementation_admins_token_is_refused_as_a_credential_before_any_job(app) {
        let (org, _, ia) = org_with_implementation_admin(&app, "1_month").await;
        let token = app.post(&format!("/v1/orgs/{org}/tokens"), Some(&ia), json!({"kind": "api", "name": "ci"})).await;
        let secret = token.body["secret"].as_str().unwrap().to_owned();
        let path = format!("/v1/orgs/{org}/members");
        assert_eq!(app.call_with_token(reqwest::Method::GET, &path, &secret, None).await.status, StatusCode::OK);
        app.advance(32 * 86_400).await;
        assert_eq!(app.call_with_token(reqwest::Method::GET, &path, &secret, None).await.status, StatusCode::UNAUTHORIZED);
        app.stop().await;
    }

    async fn refused_batches_name_every_address_whatever_the_reason(app) {
        let (org, owner) = app.create_org("Acme", "owner@acme.test", Some(2)).await;
        let path = format!("/v1/orgs/{org}/invitations");
        let a = app.post(&path, Some(&owner), json!({"emails": "a@upcoach.com, b@upcoach.com", "role": "implementation_admin", "duration": "1_month"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::UNPROCESSABLE_ENTITY, "implementation_admin_disabled"));
        assert_eq!(a.body["rejected"].as_array().unwrap().len(), 2);
        let a = app.post(&path, Some(&owner), json!({"emails": ["x@acme.test", "y@acme.test"], "role": "admin"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "seat_limit_reached"));
        assert_eq!(a.body["rejected"].as_array().unwrap().len(), 2);
        app.put(&format!("/v1/orgs/{org}/implementation-admin-domains"), None, json!({"domains": ["upcoach.com"]})).await;
        app.put(&format!("/v1/orgs/{org}/settings/implementation-admin"), Some(&owner), json!({"enabled": true})).await;
        let a = app.post(&path, Some(&owner), json!({"emails": "bad@, x@evil.test", "role": "implementation_admin", "duration": "1_month"})).await;
        assert_eq!(a.code(), "validation_failed");
        assert_eq!(a.body["allowed_domains"], json!(["upcoach.com"]));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_bodies_missing_fields_cursors_and_counts_follow_the_contract() {
    let app = common::spawn(Backend::Sqlite).await.unwrap();
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let space = app.create_space(&org, &owner, "Program").await;
    // PATCH is partial for spaces too.
    let a = app
        .patch(
            &format!("/v1/orgs/{org}/spaces/{space}"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(
        (a.status, a.body["name"].as_str()),
        (StatusCode::OK, Some("Program"))
    );
    // A missing field is named.
    let a = app.post("/v1/orgs", None, json!({"name": "x"})).await;
    assert_eq!(
        (a.code(), a.body["field"].as_str()),
        ("validation_failed", Some("owner_email"))
    );
    let a = app
        .put(
            &format!("/v1/orgs/{org}/spaces/{space}/members/{owner}"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(a.body["field"], "role");
    // Cursors this server did not give out are refused.
    for path in [
        format!("/v1/orgs/{org}/members?cursor=zzz"),
        format!("/v1/orgs/{org}/invitations?cursor=zzz"),
        format!("/v1/orgs/{org}/spaces?cursor=zzz"),
        format!("/v1/orgs/{org}/tokens?cursor=zzz"),
    ] {
        let a = app.get(&path, Some(&owner)).await;
        assert_eq!(
            (a.status, a.body["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("cursor")),
            "{path}"
        );
    }
    // send_count is 1 when created, also for an existing member added at once.
    let member = app
        .add_member(
            &org,
            &owner,
            "coach@acme.test",
            "facilitator",
            &[&space],
            None,
        )
        .await;
    let second = app.create_space(&org, &owner, "Second").await;
    let a = app
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            Some(&owner),
            json!({"emails": ["coach@acme.test"], "role": "participant", "space_ids": [second]}),
        )
        .await;
    assert_eq!(
        (
            a.body["invitations"][0]["status"].as_str(),
            a.body["invitations"][0]["send_count"].as_i64()
        ),
        (Some("accepted"), Some(1))
    );
    // An Owner may step down while another Owner remains.
    let other = app
        .add_member(&org, &owner, "second-owner@acme.test", "owner", &[], None)
        .await;
    let a = app
        .patch(
            &format!("/v1/orgs/{org}/members/{owner}"),
            Some(&owner),
            json!({"org_role": "admin"}),
        )
        .await;
    assert_eq!(
        (a.status, a.body["org_role"].as_str()),
        (StatusCode::OK, Some("admin")),
        "{:?}",
        a.body
    );
    assert!(!member.is_empty() && !other.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_without_a_list_answer_one_decision() {
    let app = common::spawn(Backend::Sqlite).await.unwrap();
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let a = app
        .post(
            "/access/v1/evaluations",
            None,
            json!({
            "subject": {"type": "user", "id": owner}, "action": {"name": "billing.view"},
            "resource": {"type": "organization", "id": org}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({"decision": true}));
    app.stop().await;
}

/// The served document is the committed `docs/openapi.json`, dev clock or
/// not: an API change is always a visible diff. To refresh the file:
/// `cargo run -p roster-server --example openapi > docs/openapi.json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_is_the_committed_one() {
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi.json"
        ))
        .expect("docs/openapi.json is committed"),
    )
    .expect("docs/openapi.json is JSON");
    for dev_clock in [false, true] {
        let app = common::spawn_with(Backend::Sqlite, |c| c.dev_clock = dev_clock)
            .await
            .unwrap();
        let served: Value = app.get("/openapi.json", None).await.body;
        assert!(
            served == committed,
            "the served document (dev clock {dev_clock}) differs from docs/openapi.json: \
             cargo run -p roster-server --example openapi > docs/openapi.json"
        );
        app.stop().await;
    }
    let clock = &committed["paths"]["/v1/dev/clock"]["post"];
    assert!(
        clock["description"]
            .as_str()
            .unwrap_or_default()
            .contains("ROSTER_DEV_CLOCK=1")
            || clock["summary"]
                .as_str()
                .unwrap_or_default()
                .contains("ROSTER_DEV_CLOCK=1"),
        "the dev clock says when it exists: {clock}"
    );
}

mod input {
    use super::*;

    on_both_backends! {
        async fn control_characters_are_refused_as_bad_input_never_a_500(app) {
            let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
            let space = app.create_space(&org, &owner, "P").await;
            let cases = [
                app.post(&format!("/v1/orgs/{org}/invitations"), Some(&owner), json!({"emails": ["a@acme.test"], "role": "participant", "space_ids": [space], "message": "hi\u{0}"})).await,
                app.post("/v1/orgs", None, json!({"name": "x", "owner_email": "b@acme.test", "owner_name": "Eve\u{0}"})).await,
                app.get(&format!("/v1/orgs/{org}/audit?action=%00"), None).await,
                app.get(&format!("/v1/orgs/{org}/tokens?user_id=%00"), Some(&owner)).await,
                app.delete(&format!("/v1/orgs/{org}/tokens/%00"), Some(&owner)).await,
            ];
            for a in cases {
                assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", a.body);
            }
            app.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_cannot_mint_a_token_that_outlives_it() {
    let app = common::spawn(Backend::Sqlite).await.unwrap();
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    let parent = app
        .post(
            &format!("/v1/orgs/{org}/tokens"),
            Some(&owner),
            json!({"kind": "mcp", "name": "short", "expires_at": soon}),
        )
        .await;
    let secret = parent.body["secret"].as_str().unwrap().to_owned();
    let child = app
        .call_with_token(
            reqwest::Method::POST,
            &format!("/v1/orgs/{org}/tokens"),
            &secret,
            Some(json!({"kind": "api", "name": "forever"})),
        )
        .await;
    assert_eq!(child.status, StatusCode::CREATED, "{:?}", child.body);
    assert_eq!(child.body["expires_at"], parent.body["expires_at"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_forms_from_another_site_are_refused_and_odd_methods_share_one_metric() {
    let app = common::spawn(Backend::Sqlite).await.unwrap();
    let resp = app
        .client
        .post(format!("{}/ui/sign-in", app.base))
        .header("Origin", "https://evil.example")
        .form(&[("email", "owner@acme.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    for method in ["AAAA1", "AAAA2"] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client
            .request(m, format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("AAAA"));
    assert!(metrics.contains("method=\"other\""));
    app.stop().await;
}
