//! Seed `000_…`, sentence by sentence, against the real server and a real
//! SMTP receiver: the Implementation Admin lifecycle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

const MONTH_AND_A_DAY: i64 = 32 * 86_400;

/// An organization with the role turned on and `upcoach.com` allowed;
/// answers (org, owner).
async fn org_allowing_implementation_admins(app: &TestApp) -> (String, String) {
    let (org, owner) = app
        .create_org("Northwind Coaching", "owner@northwind.test", Some(5))
        .await;
    let a = app
        .put(
            &format!("/v1/orgs/{org}/implementation-admin-domains"),
            None,
            json!({"domains": ["upcoach.com", "*.partner.io"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = app
        .put(
            &format!("/v1/orgs/{org}/settings/implementation-admin"),
            Some(&owner),
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    (org, owner)
}

async fn token_for(app: &TestApp, org: &str, user: &str, kind: &str) -> String {
    let a = app
        .post(
            &format!("/v1/orgs/{org}/tokens"),
            Some(user),
            json!({"kind": kind, "name": format!("{kind} automation")}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    a.body["secret"].as_str().unwrap().to_owned()
}

async fn introspect(app: &TestApp, token: &str) -> serde_json::Value {
    let resp = app
        .client
        .post(format!("{}/v1/introspect", app.base))
        .bearer_auth(common::KEY)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    common::answer(resp).await.body
}

async fn expiry_ends_access_exactly_once(backend: Backend) {
    let Some(app) = common::spawn_with_smtp(backend).await else {
        return;
    };
    let (org, owner) = org_allowing_implementation_admins(&app).await;
    let ia = app
        .add_member(
            &org,
            &owner,
            "helper@upcoach.com",
            "implementation_admin",
            &[],
            Some("1_month"),
        )
        .await;
    let member = app.get(&format!("/v1/orgs/{org}/members/{ia}"), None).await;
    assert_eq!(member.body["org_role"], "implementation_admin");
    assert_eq!(
        member.body["uses_seat"], false,
        "Implementation Admins do not use a seat"
    );
    assert_eq!(
        member.body["implementation_admin"]["invited_by"],
        owner.as_str()
    );
    let tokens = [
        token_for(&app, &org, &ia, "mcp").await,
        token_for(&app, &org, &ia, "api").await,
        token_for(&app, &org, &ia, "oauth").await,
    ];
    for t in &tokens {
        assert_eq!(introspect(&app, t).await["active"], true);
    }
    assert!(
        app.decide(
            &org,
            &ia,
            "members.invite",
            json!({"type": "organization", "id": org})
        )
        .await
    );
    app.sweep().await; // delivers the invitation email
    let smtp = app.smtp.clone().unwrap();
    let before = smtp.messages().len();

    app.advance(MONTH_AND_A_DAY).await;
    // Before any job runs, the expiry already holds.
    assert!(
        !app.decide(
            &org,
            &ia,
            "members.invite",
            json!({"type": "organization", "id": org})
        )
        .await
    );
    for t in &tokens {
        assert_eq!(introspect(&app, t).await["active"], false);
    }
    assert_eq!(
        app.get(&format!("/v1/orgs/{org}/members/{ia}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let report = app.sweep().await;
    assert_eq!(report["implementation_admins_expired"], 1);
    assert_eq!(
        app.sweep().await["implementation_admins_expired"],
        0,
        "expiry happens once"
    );

    let ended: Vec<_> = smtp.messages().into_iter().skip(before).collect();
    assert_eq!(
        ended.len(),
        2,
        "one email to the person, one to the inviter: {ended:?}"
    );
    let to_person = smtp
        .to("helper@upcoach.com")
        .into_iter()
        .filter(|m| m.data.contains("has ended"))
        .count();
    let to_inviter = smtp
        .to("owner@northwind.test")
        .into_iter()
        .filter(|m| m.data.contains("has ended"))
        .count();
    assert_eq!((to_person, to_inviter), (1, 1));
    for m in &ended {
        assert!(
            m.data.contains("Northwind Coaching"),
            "names the organization"
        );
        assert!(m.data.contains("re-invite"), "suggests a re-invite");
        assert!(m.header("Message-ID").is_some());
    }

    let entries = app.audit(&org).await;
    let expiry: Vec<_> = entries
        .iter()
        .filter(|e| e["trigger"] == "expiry" && e["target_user_id"] == ia.as_str())
        .collect();
    assert_eq!(expiry.len(), 1);
    assert_eq!(expiry[0]["action"], "implementation_admin.removed");
    assert_eq!(
        expiry[0]["actor"]["user_id"],
        owner.as_str(),
        "the original inviter is the actor"
    );
    assert_eq!(expiry[0]["actor"]["kind"], "system_on_behalf_of");
    let verify = app.get(&format!("/v1/orgs/{org}/audit/verify"), None).await;
    assert_eq!(verify.body["ok"], true);

    // The account remains: a later invitation starts afresh.
    let again = app
        .add_member(
            &org,
            &owner,
            "helper@upcoach.com",
            "implementation_admin",
            &[],
            Some("2_months"),
        )
        .await;
    assert_eq!(again, ia, "the same account");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_expiry_removes_the_member_revokes_tokens_and_sends_two_emails_once() {
    expiry_ends_access_exactly_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_expiry_removes_the_member_revokes_tokens_and_sends_two_emails_once() {
    expiry_ends_access_exactly_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_expire_an_implementation_admin_once() {
    let Some(first) = common::spawn_with_smtp(Backend::Postgres).await else {
        return;
    };
    let smtp = first.smtp.clone().unwrap();
    let mut config = common::config(&first.db.url);
    config.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    let second = common::start_replica(&first, config).await;
    let (org, owner) = org_allowing_implementation_admins(&first).await;
    first
        .add_member(
            &org,
            &owner,
            "helper@upcoach.com",
            "implementation_admin",
            &[],
            Some("1_month"),
        )
        .await;
    first.sweep().await;
    let before = smtp.messages().len();
    first.advance(MONTH_AND_A_DAY).await;
    // Both replicas run the jobs at the same moment, twice.
    let (a, b) = tokio::join!(first.sweep(), second.sweep());
    let (c, d) = tokio::join!(second.sweep(), first.sweep());
    let expired: u64 = [a, b, c, d]
        .iter()
        .map(|r| r["implementation_admins_expired"].as_u64().unwrap())
        .sum();
    assert_eq!(expired, 1);
    assert_eq!(smtp.messages().len() - before, 2, "exactly two emails");
    let entries = first.audit(&org).await;
    assert_eq!(
        entries.iter().filter(|e| e["trigger"] == "expiry").count(),
        1,
        "exactly one audit entry"
    );
    second.stop().await;
    first.stop().await;
}

on_both_backends! {
    async fn early_removal_ends_access_at_once_with_the_same_email(app) {
        let (org, owner) = org_allowing_implementation_admins(&app).await;
        let ia = app.add_member(&org, &owner, "fixer@upcoach.com", "implementation_admin", &[], Some("forever")).await;
        let token = token_for(&app, &org, &ia, "mcp").await;
        let a = app.post(&format!("/v1/orgs/{org}/members/{ia}/remove-implementation-admin"), Some(&owner), json!({})).await;
        assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "confirmation_required"));
        let a = app.post(&format!("/v1/orgs/{org}/members/{ia}/remove-implementation-admin"), Some(&owner), json!({"confirm": true})).await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{:?}", a.body);
        assert_eq!(app.get(&format!("/v1/orgs/{org}/members/{ia}"), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(introspect(&app, &token).await["active"], false);
        let outbox = app.state.store.outbox(None, 50).await.unwrap();
        let ended: Vec<_> = outbox.iter().filter(|m| m.template.starts_with("implementation_admin_ended")).collect();
        assert_eq!(ended.len(), 2);
        let entry = app.audit(&org).await.into_iter().find(|e| e["action"] == "implementation_admin.removed").unwrap();
        assert_eq!(entry["actor"]["user_id"], owner.as_str());
        assert_eq!(entry["trigger"], "request");
        app.stop().await;
    }

    async fn turning_the_setting_off_needs_confirmation_then_removes_every_implementation_admin(app) {
        let (org, owner) = org_allowing_implementation_admins(&app).await;
        let one = app.add_member(&org, &owner, "one@upcoach.com", "implementation_admin", &[], Some("3_months")).await;
        let two = app.add_member(&org, &owner, "two@x.partner.io", "implementation_admin", &[], Some("forever")).await;
        let path = format!("/v1/orgs/{org}/settings/implementation-admin");
        let a = app.put(&path, Some(&owner), json!({"enabled": false})).await;
        assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "confirmation_required"));
        assert_eq!(a.body["affected"], 2);
        assert_eq!(app.get(&format!("/v1/orgs/{org}/members/{one}"), None).await.status, StatusCode::OK, "nothing happened yet");
        let a = app.put(&path, Some(&owner), json!({"enabled": false, "confirm": true})).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        let mut removed: Vec<String> = serde_json::from_value(a.body["removed"].clone()).unwrap();
        removed.sort();
        let mut expected = vec![one.clone(), two.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        for user in [&one, &two] {
            assert_eq!(app.get(&format!("/v1/orgs/{org}/members/{user}"), None).await.status, StatusCode::NOT_FOUND);
        }
        let entries = app.audit(&org).await;
        assert_eq!(entries.iter().filter(|e| e["trigger"] == "setting_disabled" && e["action"] == "implementation_admin.removed").count(), 2);
        let a = app.post(&format!("/v1/orgs/{org}/invitations"), Some(&owner), json!({"emails": ["new@upcoach.com"], "role": "implementation_admin", "duration": "1_month"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::UNPROCESSABLE_ENTITY, "implementation_admin_disabled"));
        app.stop().await;
    }

    async fn a_batch_with_one_address_outside_the_allowlist_creates_nothing(app) {
        let (org, owner) = org_allowing_implementation_admins(&app).await;
        let a = app
            .post(&format!("/v1/orgs/{org}/invitations"), Some(&owner), json!({
                "emails": "ok@upcoach.com; fine@a.partner.io\nuser@upcoach.com.evil.com",
                "role": "implementation_admin", "duration": "1_month"}))
            .await;
        assert_eq!((a.status, a.code()), (StatusCode::UNPROCESSABLE_ENTITY, "domain_not_allowed"));
        assert_eq!(a.body["rejected"].as_array().unwrap().len(), 1);
        assert_eq!(a.body["rejected"][0]["email"], "user@upcoach.com.evil.com");
        let mut allowed: Vec<String> = serde_json::from_value(a.body["allowed_domains"].clone()).unwrap();
        allowed.sort();
        assert_eq!(allowed, vec!["*.partner.io", "upcoach.com"]);
        let listed = app.get(&format!("/v1/orgs/{org}/invitations"), None).await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);
        assert!(app.state.store.outbox(None, 10).await.unwrap().is_empty());
        app.stop().await;
    }

    async fn forged_revoked_and_expired_invitation_tokens_are_refused(app) {
        let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
        let space = app.create_space(&org, &owner, "Program").await;
        let accept = |token: String| {
            let app = &app;
            async move { app.post("/v1/invitations/accept", None, json!({"token": token})).await }
        };
        assert_eq!(accept("inv_forged".into()).await.status, StatusCode::NOT_FOUND);
        assert_eq!(accept("not even close".into()).await.status, StatusCode::NOT_FOUND);
        let invite = |email: &str| {
            let (app, org, owner, space) = (&app, org.clone(), owner.clone(), space.clone());
            let email = email.to_owned();
            async move {
                let a = app.post(&format!("/v1/orgs/{org}/invitations"), Some(&owner), json!({"emails": [email], "role": "participant", "space_ids": [space]})).await;
                assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
                a.body["invitations"][0]["id"].as_str().unwrap().to_owned()
            }
        };
        let revoked = invite("revoked@acme.test").await;
        let token = app.invitation_token("revoked@acme.test").await;
        assert_eq!(app.delete(&format!("/v1/orgs/{org}/invitations/{revoked}"), Some(&owner)).await.status, StatusCode::NO_CONTENT);
        assert_eq!(accept(token).await.status, StatusCode::CONFLICT);
        invite("late@acme.test").await;
        let token = app.invitation_token("late@acme.test").await;
        app.advance(15 * 86_400).await;
        assert_eq!(accept(token).await.status, StatusCode::CONFLICT, "expired after 14 days");
        let listed = app.get(&format!("/v1/orgs/{org}/invitations?status=expired"), None).await;
        assert_eq!(listed.status, StatusCode::OK);
        app.stop().await;
    }

    async fn the_platform_lists_forever_assignments_and_records_reviews(app) {
        let (org, owner) = org_allowing_implementation_admins(&app).await;
        let ia = app.add_member(&org, &owner, "forever@upcoach.com", "implementation_admin", &[], Some("forever")).await;
        app.add_member(&org, &owner, "brief@upcoach.com", "implementation_admin", &[], Some("1_month")).await;
        let listed = app.get("/v1/platform/implementation-admins?duration=forever", None).await;
        let items = listed.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["user_id"], ia.as_str());
        assert_eq!(items[0]["last_reviewed_at"], serde_json::Value::Null);
        let a = app.post(&format!("/v1/platform/implementation-admins/{org}/{ia}/review"), None, json!({})).await;
        assert_eq!(a.status, StatusCode::NO_CONTENT);
        let listed = app.get("/v1/platform/implementation-admins?duration=forever", None).await;
        assert!(listed.body["items"][0]["last_reviewed_at"].is_string());
        assert_eq!(listed.body["items"][0]["reviews"], 1);
        app.post(&format!("/v1/platform/implementation-admins/{org}/{ia}/review"), None, json!({})).await;
        let listed = app.get("/v1/platform/implementation-admins?duration=forever", None).await;
        assert_eq!(listed.body["items"][0]["reviews"], 2, "every review is kept");
        let a = app.post(&format!("/v1/platform/implementation-admins/{org}/{ia}/review"), Some(&owner), json!({})).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "platform only");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invitation_email_carries_its_link_on_one_unbroken_line() {
    let app = common::spawn_with_smtp(Backend::Sqlite).await.unwrap();
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let space = app.create_space(&org, &owner, "Leadership").await;
    let a = app
        .post(&format!("/v1/orgs/{org}/invitations"), Some(&owner), json!({"emails": "coach@acme.test", "role": "facilitator", "space_ids": [space], "message": "Welcome aboard"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    // Queued email goes out at once; a sweep waits for that delivery.
    app.sweep().await;
    let smtp = app.smtp.clone().unwrap();
    let mut mails = smtp.to("coach@acme.test");
    assert_eq!(mails.len(), 1);
    let mail = mails.pop().unwrap();
    let token = app.invitation_token("coach@acme.test").await;
    let link = format!("{}/invitations/accept?token={token}", app.base);
    assert!(
        mail.data.lines().any(|l| l.contains(&link)),
        "the raw message holds the whole link: {}",
        mail.data
    );
    assert!(mail.data.contains("Acme Coaching") && mail.data.contains("Welcome aboard"));
    assert!(mail.header("Subject").unwrap().contains("Acme Coaching"));
    assert!(mail.data.contains("text/html"), "an HTML part too");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_email_goes_out_without_waiting_for_the_job_interval() {
    // The harness sets ROSTER_JOB_INTERVAL_MS to an hour and no sweep runs.
    let app = common::spawn_with_smtp(Backend::Sqlite).await.unwrap();
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let a = app
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            Some(&owner),
            json!({"emails": ["new@acme.test"], "role": "admin"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let smtp = app.smtp.clone().unwrap();
    smtp.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert_eq!(smtp.to("new@acme.test").len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_email_is_retried_with_backoff_then_given_up() {
    // A port nobody listens on: every attempt fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = common::spawn_with(Backend::Sqlite, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{closed}"))
    })
    .await
    .unwrap();
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    app.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(&owner),
        json!({"emails": ["far@acme.test"], "role": "admin"}),
    )
    .await;
    app.sweep().await;
    let message = || async {
        app.state
            .store
            .outbox(Some("far@acme.test"), 1)
            .await
            .unwrap()
            .remove(0)
    };
    let first = message().await;
    assert_eq!((first.status.as_str(), first.attempts), ("pending", 1));
    assert!(first.last_error.is_some());
    // Not again before its backoff has passed.
    app.sweep().await;
    assert_eq!(message().await.attempts, 1);
    let mut rounds = 0;
    while message().await.status == "pending" {
        rounds += 1;
        assert!(rounds <= 10, "gives up after a bounded number of attempts");
        app.advance(3_600).await;
        app.sweep().await;
    }
    let last = message().await;
    assert_eq!(
        (last.status.as_str(), last.attempts),
        ("dead", roster_server::delivery::MAX_ATTEMPTS)
    );
    assert_eq!(
        last.message_id, first.message_id,
        "one Message-ID for every attempt"
    );
    app.stop().await;
}
