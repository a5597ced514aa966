//! Details of API.md that a careful client relies on, each found by reading
//! the contract as a tester would.

use reqwest::{Method, StatusCode};
use roster_core::{AuditAction, InvitationStatus, OrgId, OrgRole, Trigger, UserId};
use roster_server::http::decisions::BatchAnswer;
use roster_server::views::{CreatedTokenView, MemberView, Page};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::{json, Value};

use crate::common::{send, spawn, spawn_with, sqlite, Answer, TestApp};

on_both_backends!(
    setting_an_implementation_admins_role_to_none_ends_the_assignment_like_early_removal,
    removing_an_implementation_admin_from_the_organization_sends_the_same_emails,
    access_ends_at_the_expires_at_the_api_shows,
    an_expired_implementation_admins_token_is_refused_as_a_credential_before_any_job,
    refused_batches_name_every_address_whatever_the_reason,
    control_characters_are_refused_as_bad_input_never_a_500,
);

/// An organization allowing Implementation Admins from `upcoach.com`, and
/// one of them for `duration`; answers (org, owner, implementation admin).
async fn org_with_implementation_admin(app: &TestApp, duration: &str) -> (OrgId, UserId, UserId) {
    let (org, owner) = app
        .create_org("Northwind", "owner@northwind.test", Some(10))
        .await;
    app.put_domains(&org, None, &["upcoach.com"])
        .await
        .ok("allow upcoach.com");
    app.put_ia_setting(&org, Some(&owner), json!({"enabled": true}))
        .await
        .ok("turn the role on");
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

async fn setting_an_implementation_admins_role_to_none_ends_the_assignment_like_early_removal(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, owner, ia) = org_with_implementation_admin(&app, "forever").await;
    let token = app
        .post_token(&org, Some(&ia), json!({"kind": "mcp", "name": "bot"}))
        .await
        .ok("the Implementation Admin makes a token");
    let changed = app
        .patch_member(&org, &ia, Some(&owner), json!({"org_role": null}))
        .await
        .ok("take the role away");
    assert!(changed.left_organization, "{changed:?}");
    app.get_member(&org, &ia, None).await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "the Implementation Admin left",
    );
    assert!(!app.is_active(&token.secret).await);
    assert_eq!(ended_emails(&app).await, 2);
    let entries = app.audit(&org).await;
    assert!(entries.iter().any(|e| {
        e.action == AuditAction::ImplementationAdminRemoved
            && e.target_user_id.as_ref() == Some(&ia)
    }));
    app.stop().await;
}

async fn removing_an_implementation_admin_from_the_organization_sends_the_same_emails(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner, ia) = org_with_implementation_admin(&app, "3_months").await;
    app.delete_member(&org, &ia, Some(&owner))
        .await
        .ok("remove the Implementation Admin");
    assert_eq!(ended_emails(&app).await, 2);
    let entries = app.audit(&org).await;
    assert!(entries.iter().any(|e| {
        e.action == AuditAction::ImplementationAdminRemoved && e.trigger == Trigger::Request
    }));
    assert!(entries
        .iter()
        .any(|e| e.action == AuditAction::MemberRemoved));
    app.stop().await;
}

async fn access_ends_at_the_expires_at_the_api_shows(db: TestDb) {
    let app = spawn(db).await;
    let (org, _, ia) = org_with_implementation_admin(&app, "1_month").await;
    let member = app.member(&org, &ia).await;
    let expires_at: chrono::DateTime<chrono::Utc> = member
        .implementation_admin
        .as_ref()
        .and_then(|assignment| assignment.expires_at.as_deref())
        .unwrap_or_else(|| panic!("a month has an end: {member:?}"))
        .parse()
        .unwrap();
    let to_end = (expires_at - app.now().await).num_seconds();
    let ask = || {
        app.decide(
            &org,
            &ia,
            "members.view",
            json!({"type": "organization", "id": org}),
        )
    };
    app.advance(to_end - 2).await;
    assert!(ask().await, "two seconds before the end shown, still in");
    app.advance(2).await;
    assert!(!ask().await, "at the end shown, out");
    app.stop().await;
}

async fn an_expired_implementation_admins_token_is_refused_as_a_credential_before_any_job(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, _, ia) = org_with_implementation_admin(&app, "1_month").await;
    let token = app
        .post_token(&org, Some(&ia), json!({"kind": "api", "name": "ci"}))
        .await
        .ok("the Implementation Admin makes a token");
    let path = format!("/v1/orgs/{org}/members");
    let _: Page<MemberView> = app
        .call_with_token(Method::GET, &path, &token.secret, None)
        .await
        .read(StatusCode::OK, "the token lists the members");
    app.advance(32 * 86_400).await;
    app.call_with_token(Method::GET, &path, &token.secret, None)
        .await
        .assert_status(
            StatusCode::UNAUTHORIZED,
            "the expired Implementation Admin's token",
        );
    app.stop().await;
}

async fn refused_batches_name_every_address_whatever_the_reason(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", Some(2)).await;
    let p = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": "a@upcoach.com, b@upcoach.com", "role": "implementation_admin", "duration": "1_month"}),
        )
        .await
        .problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "implementation_admin_disabled",
            "the role is off",
        );
    assert_eq!(p.rejected.map(|r| r.len()), Some(2));
    let p = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": ["x@acme.test", "y@acme.test"], "role": "admin"}),
        )
        .await
        .problem(
            StatusCode::CONFLICT,
            "seat_limit_reached",
            "two Admins for one free seat",
        );
    assert_eq!(p.rejected.map(|r| r.len()), Some(2));
    app.put_domains(&org, None, &["upcoach.com"])
        .await
        .ok("allow upcoach.com");
    app.put_ia_setting(&org, Some(&owner), json!({"enabled": true}))
        .await
        .ok("turn the role on");
    let p = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": "bad@, x@evil.test", "role": "implementation_admin", "duration": "1_month"}),
        )
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "a bad address and one outside the allowlist",
        );
    assert_eq!(p.allowed_domains, Some(vec!["upcoach.com".to_owned()]));
    app.stop().await;
}

async fn control_characters_are_refused_as_bad_input_never_a_500(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let space = app.create_space(&org, &owner, "P").await;
    let cases: Vec<Answer> = vec![
        app.post_invitations(
            &org,
            Some(&owner),
            json!({"emails": ["a@acme.test"], "role": "participant", "space_ids": [space], "message": "hi\u{0}"}),
        )
        .await
        .into_answer(),
        app.post_org(json!({"name": "x", "owner_email": "b@acme.test", "owner_name": "Eve\u{0}"}))
            .await
            .into_answer(),
        app.get(&format!("/v1/orgs/{org}/audit?action=%00"), None)
            .await,
        app.get(&format!("/v1/orgs/{org}/tokens?user_id=%00"), Some(&owner))
            .await,
        app.delete(&format!("/v1/orgs/{org}/tokens/%00"), Some(&owner))
            .await,
    ];
    for a in cases {
        a.problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "a control character",
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_bodies_missing_fields_cursors_and_counts_follow_the_contract() {
    let app = spawn(sqlite().await).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let space = app.create_space(&org, &owner, "Program").await;
    // PATCH is partial for spaces too.
    let same = app
        .patch_space(&org, &space, Some(&owner), json!({}))
        .await
        .ok("an empty PATCH of a space");
    assert_eq!(same.name, "Program");
    // A missing field is named.
    let p = app.post_org(json!({"name": "x"})).await.problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "an organization without owner_email",
    );
    assert_eq!(p.field.as_deref(), Some("owner_email"));
    let p = app
        .put(
            &format!("/v1/orgs/{org}/spaces/{space}/members/{owner}"),
            Some(&owner),
            json!({}),
        )
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "a space role without role",
        );
    assert_eq!(p.field.as_deref(), Some("role"));
    // Cursors this server did not give out are refused.
    for path in [
        format!("/v1/orgs/{org}/members?cursor=zzz"),
        format!("/v1/orgs/{org}/invitations?cursor=zzz"),
        format!("/v1/orgs/{org}/spaces?cursor=zzz"),
        format!("/v1/orgs/{org}/tokens?cursor=zzz"),
    ] {
        let p = app.get(&path, Some(&owner)).await.problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            &path,
        );
        assert_eq!(p.field.as_deref(), Some("cursor"), "{path}");
    }
    // send_count is 1 when created, also for an existing member added at once.
    app.add_member(
        &org,
        &owner,
        "coach@acme.test",
        "facilitator",
        &[&space],
        None,
    )
    .await;
    let second = app.create_space(&org, &owner, "Second").await;
    let batch = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": ["coach@acme.test"], "role": "participant", "space_ids": [second]}),
        )
        .await
        .ok("invite a member into another space");
    let added = &batch.invitations[0];
    assert_eq!(
        (added.status, added.send_count),
        (InvitationStatus::Accepted, 1)
    );
    // An Owner may step down while another Owner remains.
    app.add_member(&org, &owner, "second-owner@acme.test", "owner", &[], None)
        .await;
    let stepped_down = app
        .patch_member(&org, &owner, Some(&owner), json!({"org_role": "admin"}))
        .await
        .ok("an Owner steps down");
    assert_eq!(stepped_down.member.org_role, Some(OrgRole::Admin));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_without_a_list_answer_one_decision() {
    let app = spawn(sqlite().await).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let answer = app
        .evaluations(
            None,
            json!({
            "subject": {"type": "user", "id": owner}, "action": {"name": "billing.view"},
            "resource": {"type": "organization", "id": org}}),
        )
        .await;
    let BatchAnswer::One(decision) = answer.ok("a batch without a list") else {
        panic!("a list where one decision was asked for: {answer:?}")
    };
    assert!(decision.decision);
    assert_eq!(
        answer.body,
        json!({"decision": true}),
        "one decision, as /evaluation answers it"
    );
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
        let app = spawn_with(sqlite().await, |c| c.dev_clock = dev_clock).await;
        let served = app.get("/openapi.json", None).await;
        served.assert_status(StatusCode::OK, "the document");
        assert!(
            served.body == committed,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_cannot_mint_a_token_that_outlives_it() {
    let app = spawn(sqlite().await).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    let parent = app
        .post_token(
            &org,
            Some(&owner),
            json!({"kind": "mcp", "name": "short", "expires_at": soon}),
        )
        .await
        .ok("a short-lived token");
    let child: CreatedTokenView = app
        .call_with_token(
            Method::POST,
            &format!("/v1/orgs/{org}/tokens"),
            &parent.secret,
            Some(json!({"kind": "api", "name": "forever"})),
        )
        .await
        .read(StatusCode::CREATED, "the token makes a token");
    assert_eq!(child.expires_at, parent.expires_at);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_forms_from_another_site_are_refused_and_odd_methods_share_one_metric() {
    let app = spawn(sqlite().await).await;
    let forged = app
        .request(Method::POST, "/ui/sign-in")
        .header("Origin", "https://evil.example")
        .form(&[("email", "owner@acme.test")]);
    send(forged)
        .await
        .assert_status(StatusCode::FORBIDDEN, "a form from another site");
    // Pages send no referrer, so a browser's Origin is `null` on every form;
    // where the form comes from is read from Sec-Fetch-Site (the client
    // follows the redirect to the page saying a link is on its way).
    for (site, status) in [
        ("cross-site", StatusCode::FORBIDDEN),
        ("same-site", StatusCode::FORBIDDEN),
        ("none", StatusCode::FORBIDDEN),
        ("same-origin", StatusCode::OK),
    ] {
        let post = app
            .request(Method::POST, "/ui/sign-in")
            .header("Origin", "null")
            .header("Sec-Fetch-Site", site)
            .form(&[("email", "owner@acme.test")]);
        send(post).await.assert_status(status, site);
    }
    let sandboxed = app
        .request(Method::POST, "/ui/sign-in")
        .header("Origin", "null")
        .form(&[("email", "owner@acme.test")]);
    send(sandboxed).await.assert_status(
        StatusCode::FORBIDDEN,
        "an opaque origin without Sec-Fetch-Site",
    );
    for method in ["AAAA1", "AAAA2"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        send(app.request(method, "/healthz")).await;
    }
    let metrics = app.anonymous(Method::GET, "/metrics").await;
    assert!(!metrics.text.contains("AAAA"));
    assert!(metrics.text.contains("method=\"other\""));
    app.stop().await;
}
