//! The hardening readings (SPEC §19, API.md "Details that clients rely on"),
//! each as a user or an attacker would notice it: bounded requests, email
//! sent once by several replicas, sign-in links that cannot flood an inbox,
//! what the audit log records and exports, the admin UI's headers, and
//! problem documents for every error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use roster_core::{AuditAction, InvitationStatus, OrgId, UserId};
use roster_server::http::platform::SweepView;
use roster_server::views::{AuditEntryView, AuditHeadView, ChainCheckView, SignInLinkView};
use roster_testkit::{on_both_backends, on_postgres, TestDb};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use crate::common::{send, spawn, spawn_with, sqlite, Answer, TestApp, KEY};

on_both_backends!(
    repeated_list_values_count_once_and_lists_past_their_caps_are_refused_with_nothing_written,
    sign_in_links_are_emailed_at_most_five_times_an_hour_per_address_and_every_request_is_answered_alike,
    minting_a_sign_in_link_and_starting_and_ending_a_session_are_audited,
    a_name_given_when_accepting_an_invitation_is_saved_on_the_account,
    two_organizations_created_at_once_for_one_new_owner_both_succeed,
    two_invitations_for_one_new_email_accepted_at_once_both_succeed,
    an_invitation_whose_every_space_was_deleted_is_revoked_and_refused_like_a_revoked_one,
    context_at_least_beyond_every_revision_is_409_and_a_negative_one_is_400,
    a_bulk_request_by_someone_who_may_do_none_of_its_action_is_403_and_changes_nothing,
    seat_limit_zero_is_refused_by_patch_as_by_post,
    an_audit_head_kept_outside_roster_is_confirmed_later_and_a_rewritten_history_is_not,
);

on_postgres!(every_email_is_sent_exactly_once_by_two_replicas_sharing_a_slow_relay);

/// A client that, like a browser's address bar, shows redirects instead of
/// following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `POST /ui/sign-in`, as the sign-in page's form sends it.
async fn ask_for_sign_in_link(base: &str, email: &str) -> Answer {
    send(
        browser()
            .post(format!("{base}/ui/sign-in"))
            .header("Sec-Fetch-Site", "same-origin")
            .form(&[("email", email)]),
    )
    .await
}

/// The emails waiting in the outbox for `recipient` made from `template`.
async fn outbox_count(app: &TestApp, recipient: &str, template: &str) -> usize {
    let messages = app.state.store.outbox(Some(recipient), 100).await.unwrap();
    messages.iter().filter(|m| m.template == template).count()
}

fn entries_of(entries: &[AuditEntryView], action: AuditAction) -> Vec<&AuditEntryView> {
    entries.iter().filter(|e| e.action == action).collect()
}

/// Signs `user` in to the admin UI with a link the platform minted;
/// answers the session cookie (`roster_session=…`).
async fn sign_in(app: &TestApp, org: &OrgId, user: &UserId) -> String {
    let link: SignInLinkView = app
        .post(
            &format!("/v1/orgs/{org}/members/{user}/sign-in-link"),
            None,
            json!({}),
        )
        .await
        .read(StatusCode::CREATED, "the platform mints a sign-in link");
    let token = link
        .url
        .split("token=")
        .nth(1)
        .expect("the link carries its token")
        .to_owned();
    let used = send(
        browser()
            .post(format!("{}/ui/sign-in/link", app.base))
            .header("Sec-Fetch-Site", "same-origin")
            .form(&[("token", token.as_str())]),
    )
    .await;
    used.assert_status(StatusCode::SEE_OTHER, "the link is used");
    used.header(SET_COOKIE.as_str())
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A page of the admin UI, with the session cookie.
async fn page(app: &TestApp, path: &str, cookie: &str) -> Answer {
    send(
        browser()
            .get(format!("{}{path}", app.base))
            .header(COOKIE, cookie),
    )
    .await
}

/// The CSRF token a signed-in page's forms carry.
fn csrf_of(page: &Answer) -> String {
    page.text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a form with a CSRF token: {page:?}"))
        .to_owned()
}

async fn repeated_list_values_count_once_and_lists_past_their_caps_are_refused_with_nothing_written(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let space = app.create_space(&org, &owner, "Program").await;
    let emails: Vec<&str> = ["a@acme.test", "b@acme.test"]
        .into_iter()
        .cycle()
        .take(2_000)
        .collect();
    let batch = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": emails, "role": "participant", "space_ids": vec![&space; 5_000]}),
        )
        .await
        .ok("two addresses and one space, each repeated thousands of times");
    assert_eq!(batch.invitations.len(), 2, "{batch:?}");
    let stored = app.invitations(&org, "").await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    for invitation in &stored {
        assert_eq!(invitation.space_ids, vec![space.clone()], "{invitation:?}");
    }
    let part = app
        .add_member(&org, &owner, "c@acme.test", "participant", &[&space], None)
        .await;
    let bulk = app
        .bulk(
            &org,
            Some(&owner),
            json!({"action": "deactivate", "user_ids": vec![&part; 5_000]}),
        )
        .await
        .ok("one member named 5,000 times");
    assert_eq!(bulk.results.len(), 1, "{bulk:?}");

    let invitations = app.invitations(&org, "").await.len();
    let audit = app.audit(&org).await.len();
    let outbox = app.state.store.outbox(None, 1_000).await.unwrap().len();
    let mut too_many_spaces: Vec<String> = (0..101).map(|i| format!("spc_{i:032x}")).collect();
    too_many_spaces.extend(std::iter::repeat_n(too_many_spaces[0].clone(), 1_000));
    let p = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": ["d@acme.test"], "role": "participant", "space_ids": too_many_spaces}),
        )
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "101 distinct spaces",
        );
    assert_eq!(p.field.as_deref(), Some("space_ids"));
    let too_many_addresses: Vec<String> =
        (0..501).map(|i| format!("person{i}@acme.test")).collect();
    let p = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": too_many_addresses, "role": "participant", "space_ids": [space]}),
        )
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "501 distinct addresses",
        );
    assert_eq!(p.field.as_deref(), Some("emails"));
    let pasted = too_many_addresses.join(", ");
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": pasted, "role": "participant", "space_ids": [space]}),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "501 distinct addresses pasted as one string",
    );
    assert_eq!(app.invitations(&org, "").await.len(), invitations);
    assert_eq!(app.audit(&org).await.len(), audit);
    assert_eq!(
        app.state.store.outbox(None, 1_000).await.unwrap().len(),
        outbox
    );
    app.stop().await;
}

async fn sign_in_links_are_emailed_at_most_five_times_an_hour_per_address_and_every_request_is_answered_alike(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    // Eight requests at once, as a flood would send them.
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let base = app.base.clone();
        flood.spawn(async move { ask_for_sign_in_link(&base, "owner@acme.test").await });
    }
    let answers = flood.join_all().await;
    let unknown = ask_for_sign_in_link(&app.base, "nobody@acme.test").await;
    for answer in answers.iter().chain([&unknown]) {
        answer.assert_status(StatusCode::SEE_OTHER, "a sign-in link request");
        assert_eq!(answer.header(LOCATION.as_str()), "/ui/sign-in?sent=1");
        assert_eq!(answer.text, unknown.text, "{answer:?}");
    }
    // A job run comes after the links asked for before it.
    app.sweep().await;
    assert_eq!(outbox_count(&app, "owner@acme.test", "sign_in").await, 5);
    let created = app.audit(&org).await;
    let created = entries_of(&created, AuditAction::SignInLinkCreated);
    assert_eq!(created.len(), 5, "{created:?}");
    assert!(created
        .iter()
        .all(|e| e.target_user_id.as_ref() == Some(&owner)));

    ask_for_sign_in_link(&app.base, "owner@acme.test")
        .await
        .assert_status(StatusCode::SEE_OTHER, "a ninth request");
    app.sweep().await;
    assert_eq!(outbox_count(&app, "owner@acme.test", "sign_in").await, 5);
    app.advance(3_601).await;
    ask_for_sign_in_link(&app.base, "owner@acme.test")
        .await
        .assert_status(StatusCode::SEE_OTHER, "a request an hour later");
    app.sweep().await;
    assert_eq!(
        outbox_count(&app, "owner@acme.test", "sign_in").await,
        6,
        "an hour later the address gets a link again"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_asking_for_sign_in_links_more_than_thirty_times_a_minute_gets_429_with_retry_after(
) {
    let app = spawn(sqlite().await).await;
    for i in 0..30 {
        ask_for_sign_in_link(&app.base, &format!("someone{i}@acme.test"))
            .await
            .assert_status(StatusCode::SEE_OTHER, "a request within the limit");
    }
    let refused = ask_for_sign_in_link(&app.base, "someone@acme.test").await;
    refused.problem(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "the 31st request of the minute",
    );
    assert_eq!(
        refused.header(CONTENT_TYPE.as_str()),
        "application/problem+json"
    );
    let retry_after: u64 = refused
        .header("retry-after")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{refused:?}");
    app.stop().await;
}

async fn minting_a_sign_in_link_and_starting_and_ending_a_session_are_audited(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    ask_for_sign_in_link(&app.base, "owner@acme.test")
        .await
        .assert_status(StatusCode::SEE_OTHER, "the owner asks for a link");
    app.sweep().await;
    let cookie = sign_in(&app, &org, &owner).await;
    let users = page(&app, "/ui/users", &cookie).await;
    users.assert_status(StatusCode::OK, "the Users page");
    let out = send(
        browser()
            .post(format!("{}/ui/sign-out", app.base))
            .header("Sec-Fetch-Site", "same-origin")
            .header(COOKIE, &cookie)
            .form(&[("csrf", csrf_of(&users))]),
    )
    .await;
    out.assert_status(StatusCode::SEE_OTHER, "sign out");
    page(&app, "/ui/users", &cookie)
        .await
        .assert_status(StatusCode::SEE_OTHER, "the ended session's page");

    let entries = app.audit(&org).await;
    let links = entries_of(&entries, AuditAction::SignInLinkCreated);
    let requested_by: Vec<&Value> = links.iter().map(|e| &e.details["requested_by"]).collect();
    assert_eq!(requested_by, [&json!("self"), &json!("platform")]);
    assert!(links
        .iter()
        .all(|e| e.target_user_id.as_ref() == Some(&owner)));
    let started = entries_of(&entries, AuditAction::SessionStarted);
    let ended = entries_of(&entries, AuditAction::SessionEnded);
    assert_eq!((started.len(), ended.len()), (1, 1), "{entries:?}");
    assert_eq!(started[0].target_user_id.as_ref(), Some(&owner));
    assert_eq!(ended[0].details["how"], json!("sign_out"));
    assert_eq!(
        ended[0].details["session_id"],
        started[0].details["session_id"]
    );
    let chain: ChainCheckView = app
        .get(&format!("/v1/orgs/{org}/audit/verify"), None)
        .await
        .read(StatusCode::OK, "verify");
    assert!(chain.ok, "{chain:?}");
    app.stop().await;
}

/// The cells of CSV `text`, line by line (RFC 4180 quoting).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell) = (Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_export_cell_that_would_start_a_formula_is_prefixed_with_a_quote() {
    let app = spawn(sqlite().await).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let space = app.create_space(&org, &owner, "Program").await;
    let part = app
        .add_member(
            &org,
            &owner,
            "part@acme.test",
            "participant",
            &[&space],
            None,
        )
        .await;
    let risky = [
        "=HYPERLINK(\"https://evil.test\",\"x\")",
        "+1",
        "-1",
        "@SUM(A1)",
    ];
    for request_id in risky {
        let made = send(
            app.platform(Method::POST, &format!("/v1/orgs/{org}/tokens"), Some(&part))
                .header("X-Request-ID", request_id)
                .json(&json!({"kind": "api", "name": "mine"})),
        )
        .await;
        made.assert_status(StatusCode::CREATED, "the participant makes a token");
        assert_eq!(made.header("x-request-id"), request_id);
    }
    let export = app
        .get(
            &format!("/v1/orgs/{org}/audit/export?format=csv"),
            Some(&owner),
        )
        .await;
    export.assert_status(StatusCode::OK, "the Owner exports the log as CSV");
    let rows = csv_rows(&export.text);
    let request_id = rows[0]
        .iter()
        .position(|c| c == "request_id")
        .expect("a request_id column");
    for id in risky {
        assert!(
            rows.iter().any(|row| row[request_id] == format!("'{id}")),
            "{id} is exported as '{id}: {}",
            export.text
        );
    }
    for cell in rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a cell a spreadsheet would run: {cell:?}"
        );
    }
    let lines = app
        .get(&format!("/v1/orgs/{org}/audit/export"), Some(&owner))
        .await;
    lines.assert_status(StatusCode::OK, "the Owner exports the log as JSON Lines");
    let ids: Vec<String> = lines
        .text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| e["request_id"].as_str().map(str::to_owned))
        .collect();
    assert!(
        risky.iter().all(|id| ids.iter().any(|i| i == id)),
        "JSON Lines keep the request ids as they were: {ids:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_ui_pages_forbid_inline_script_framing_sniffing_referrers_and_caching() {
    let app = spawn(sqlite().await).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let cookie = sign_in(&app, &org, &owner).await;
    let mut answers = Vec::new();
    for path in [
        "/ui/sign-in",
        "/ui/sign-in/link?token=x",
        "/invitations/accept?token=x",
        "/ui/platform/sign-in",
        "/ui",
        "/ui/users",
        "/ui/spaces",
        "/ui/audit",
    ] {
        answers.push(page(&app, path, &cookie).await);
    }
    let wrong_form = send(
        browser()
            .post(format!("{}/ui/sign-in", app.base))
            .json(&json!({"email": "owner@acme.test"})),
    )
    .await;
    answers.push(wrong_form);
    for a in &answers {
        assert!(a.status.as_u16() < 500, "{a:?}");
        let csp = a.header("content-security-policy");
        let directive = |name: &str| {
            csp.split(';')
                .map(str::trim)
                .find(|d| d.split_whitespace().next() == Some(name))
                .map(str::to_owned)
        };
        let scripts = directive("script-src")
            .or_else(|| directive("default-src"))
            .unwrap_or_else(|| panic!("no script-src nor default-src: {csp}"));
        assert!(!scripts.contains("'unsafe-inline'"), "{csp}");
        assert!(!scripts.contains('*'), "{csp}");
        assert_eq!(
            directive("frame-ancestors").as_deref(),
            Some("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(a.header("x-content-type-options"), "nosniff", "{a:?}");
        assert_eq!(a.header("referrer-policy"), "no-referrer", "{a:?}");
        assert_eq!(a.header("cache-control"), "no-store", "{a:?}");
        // Pages need no inline script, or the policy would break them.
        for tag in a.text.split("<script").skip(1) {
            let open = tag.split('>').next().unwrap_or_default();
            assert!(open.contains("src="), "inline script in {}", a.request);
        }
    }
    app.stop().await;
}

async fn a_name_given_when_accepting_an_invitation_is_saved_on_the_account(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": ["ada@acme.test", "grace@acme.test"], "role": "admin"}),
    )
    .await
    .ok("invite two Admins");
    let token = app.invitation_token("ada@acme.test").await;
    let accepted = app
        .post(
            "/v1/invitations/accept",
            None,
            json!({"token": token, "name": "Ada Lovelace"}),
        )
        .await;
    let ada: UserId = accepted.body["user_id"]
        .as_str()
        .map(UserId::from)
        .unwrap_or_else(|| panic!("accepted: {accepted:?}"));
    assert_eq!(app.member(&org, &ada).await.name, "Ada Lovelace");

    let token = app.invitation_token("grace@acme.test").await;
    send(
        browser()
            .post(format!("{}/invitations/accept", app.base))
            .header("Sec-Fetch-Site", "same-origin")
            .form(&[("token", token.as_str()), ("name", "Grace Hopper")]),
    )
    .await
    .assert_status(StatusCode::OK, "accept on the invitation page");
    let grace = app
        .members(&org, "")
        .await
        .into_iter()
        .find(|m| m.email == "grace@acme.test")
        .expect("Grace is a member");
    assert_eq!(grace.name, "Grace Hopper");
    assert_eq!(app.member(&org, &grace.user_id).await.name, "Grace Hopper");
    app.stop().await;
}

async fn two_organizations_created_at_once_for_one_new_owner_both_succeed(db: TestDb) {
    let app = spawn(db).await;
    for i in 0..20 {
        let owner_email = format!("founder{i}@acme.test");
        let body = |name: &str| json!({"name": name, "owner_email": owner_email});
        let (a, b) = tokio::join!(app.post_org(body("A")), app.post_org(body("B")));
        let (a, b) = (
            a.ok("the first of two at once"),
            b.ok("the second of two at once"),
        );
        let (a, b) = (a.owner.unwrap(), b.owner.unwrap());
        assert_eq!(a.user_id, b.user_id, "one account for one address");
    }
    app.stop().await;
}

/// The token in the invitation email `org` sent to `email`.
async fn invitation_token_in(app: &TestApp, org: &OrgId, email: &str) -> String {
    let messages = app.state.store.outbox(Some(email), 10).await.unwrap();
    messages
        .iter()
        .find(|m| m.template == "invitation" && m.org_id.as_deref() == Some(org.as_str()))
        .and_then(|m| m.body_text.split("token=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("an invitation email from {org} to {email}"))
        .to_owned()
}

async fn two_invitations_for_one_new_email_accepted_at_once_both_succeed(db: TestDb) {
    let app = spawn(db).await;
    let (org_a, owner_a) = app.create_org("A", "owner@a.test", None).await;
    let (org_b, owner_b) = app.create_org("B", "owner@b.test", None).await;
    for i in 0..20 {
        let email = format!("newcomer{i}@acme.test");
        let mut tokens = Vec::new();
        for (org, owner) in [(&org_a, &owner_a), (&org_b, &owner_b)] {
            app.post_invitations(
                org,
                Some(owner),
                json!({"emails": [email], "role": "admin"}),
            )
            .await
            .ok("invite the newcomer");
            tokens.push(invitation_token_in(&app, org, &email).await);
        }
        let (a, b) = tokio::join!(app.accept(&tokens[0]), app.accept(&tokens[1]));
        let (a, b) = (a.ok("the first acceptance"), b.ok("the second acceptance"));
        assert_eq!((&a.org_id, &b.org_id), (&org_a, &org_b));
        assert_eq!(a.user_id, b.user_id, "one account for one address");
    }
    app.stop().await;
}

async fn an_invitation_whose_every_space_was_deleted_is_revoked_and_refused_like_a_revoked_one(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let s1 = app.create_space(&org, &owner, "One").await;
    let s2 = app.create_space(&org, &owner, "Two").await;
    let s3 = app.create_space(&org, &owner, "Three").await;
    let invite = |email: &'static str, spaces: Value| {
        let (app, org, owner) = (&app, &org, &owner);
        async move {
            app.post_invitations(
                org,
                Some(owner),
                json!({"emails": [email], "role": "participant", "space_ids": spaces}),
            )
            .await
            .ok("invite")
            .invitations
            .remove(0)
        }
    };
    let orphan = invite("orphan@acme.test", json!([s1, s2])).await;
    let revoked = invite("revoked@acme.test", json!([s3])).await;
    app.delete_invitation(&org, &revoked.id, Some(&owner))
        .await
        .ok("revoke one invitation");
    let status = |id| {
        let app = &app;
        let org = &org;
        async move {
            app.invitations(org, "")
                .await
                .into_iter()
                .find(|i| i.id == id)
                .expect("the invitation is listed")
                .status
        }
    };
    app.delete_space(&org, &s1, Some(&owner))
        .await
        .ok("delete one of its spaces");
    assert_eq!(status(orphan.id.clone()).await, InvitationStatus::Pending);
    app.delete_space(&org, &s2, Some(&owner))
        .await
        .ok("delete its last space");
    assert_eq!(status(orphan.id.clone()).await, InvitationStatus::Revoked);
    let revocations = app.audit(&org).await;
    assert!(revocations.iter().any(|e| {
        e.action == AuditAction::InvitationRevoked
            && e.details.to_string().contains(orphan.id.as_str())
    }));

    let refused_revoked = app
        .accept(&app.invitation_token("revoked@acme.test").await)
        .await;
    let refused_orphan = app
        .accept(&app.invitation_token("orphan@acme.test").await)
        .await;
    assert!(
        refused_revoked.status.is_client_error(),
        "{refused_revoked:?}"
    );
    assert_eq!(
        (refused_orphan.status, refused_orphan.code()),
        (refused_revoked.status, refused_revoked.code()),
        "{refused_orphan:?}"
    );
    assert!(app
        .members(&org, "")
        .await
        .iter()
        .all(|m| m.email != "orphan@acme.test"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_paths_unknown_routes_odd_methods_and_wrong_form_types_are_problem_documents() {
    let app = spawn(sqlite().await).await;
    let (org, _) = app.create_org("Acme", "owner@acme.test", None).await;
    let answers = [
        app.get("/v1/orgs/%FF", None).await,
        app.get(&format!("/v1/orgs/{org}/members/%C3%28"), None)
            .await,
        app.get("/v1/nowhere/%FF", None).await,
        send(app.request(Method::DELETE, "/healthz")).await,
        send(
            browser()
                .post(format!("{}/ui/sign-in", app.base))
                .json(&json!({"email": "owner@acme.test"})),
        )
        .await,
        send(
            browser()
                .post(format!("{}/invitations/accept", app.base))
                .header(CONTENT_TYPE, "text/plain")
                .body("token=x"),
        )
        .await,
    ];
    for a in &answers {
        assert!(a.status.is_client_error(), "{a:?}");
        assert_eq!(
            a.header(CONTENT_TYPE.as_str()),
            "application/problem+json",
            "{a:?}"
        );
        assert_eq!(a.body["status"], json!(a.status.as_u16()), "{a:?}");
        assert!(!a.code().is_empty(), "{a:?}");
    }
    assert_eq!(answers[0].status, StatusCode::BAD_REQUEST);
    assert_eq!(answers[0].code(), "validation_failed");
    assert_eq!(answers[3].status, StatusCode::METHOD_NOT_ALLOWED);
    for form in &answers[4..] {
        assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{form:?}");
        assert_eq!(form.code(), "unsupported_media_type");
    }
    app.stop().await;
}

async fn context_at_least_beyond_every_revision_is_409_and_a_negative_one_is_400(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let question = |at_least: i64| {
        json!({
            "subject": {"type": "user", "id": owner},
            "action": {"name": "members.view"},
            "resource": {"type": "organization", "id": org},
            "context": {"at_least": at_least}
        })
    };
    let revision = app
        .patch_org(&org, Some(&owner), json!({"name": "Acme Coaching"}))
        .await
        .revision();
    let answered = app
        .evaluation(None, question(revision))
        .await
        .ok("a revision written");
    assert!(answered.decision);
    app.evaluation(None, question(revision + 1_000_000))
        .await
        .problem(
            StatusCode::CONFLICT,
            "revision_not_available",
            "a revision never written",
        );
    let p = app.evaluation(None, question(-1)).await.problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "a negative revision",
    );
    assert_eq!(p.field.as_deref(), Some("context.at_least"));
    app.stop().await;
}

async fn a_bulk_request_by_someone_who_may_do_none_of_its_action_is_403_and_changes_nothing(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let space = app.create_space(&org, &owner, "Program").await;
    let part = app
        .add_member(
            &org,
            &owner,
            "part@acme.test",
            "participant",
            &[&space],
            None,
        )
        .await;
    let other = app
        .add_member(
            &org,
            &owner,
            "other@acme.test",
            "participant",
            &[&space],
            None,
        )
        .await;
    let audit = app.audit(&org).await.len();
    for action in ["deactivate", "reactivate", "remove"] {
        app.bulk(
            &org,
            Some(&part),
            json!({"action": action, "user_ids": [owner, other]}),
        )
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden", action);
    }
    assert_eq!(app.audit(&org).await.len(), audit);
    assert_eq!(app.members(&org, "status=active").await.len(), 3);
    app.stop().await;
}

async fn seat_limit_zero_is_refused_by_patch_as_by_post(db: TestDb) {
    let app = spawn(db).await;
    let created = app
        .post_org(json!({"name": "Zero", "owner_email": "owner@zero.test", "seat_limit": 0}))
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "POST seat_limit 0",
        );
    let (org, _) = app.create_org("Acme", "owner@acme.test", Some(5)).await;
    let patched = app
        .patch_org(&org, None, json!({"seat_limit": 0}))
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "PATCH seat_limit 0",
        );
    assert_eq!(patched.field.as_deref(), Some("seat_limit"));
    assert_eq!(patched.field, created.field);
    assert_eq!(app.org(&org).await.seat_limit, Some(5));
    let unlimited = app
        .patch_org(&org, None, json!({"seat_limit": null}))
        .await
        .ok("null is unlimited");
    assert_eq!(unlimited.seat_limit, None);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_opening_the_root_is_sent_to_the_admin_ui() {
    let app = spawn(sqlite().await).await;
    let opened = send(
        browser()
            .get(format!("{}/", app.base))
            .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
    )
    .await;
    opened.assert_status(StatusCode::SEE_OTHER, "a browser opens /");
    assert!(
        opened.header(LOCATION.as_str()).starts_with("/ui"),
        "{opened:?}"
    );
    let api = send(
        app.request(Method::GET, "/")
            .header("Accept", "application/json"),
    )
    .await;
    api.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "an API client asks for /",
    );
    app.stop().await;
}

async fn audit_head(app: &TestApp, org: &OrgId) -> AuditHeadView {
    app.get(&format!("/v1/orgs/{org}/audit/head"), None)
        .await
        .read(StatusCode::OK, "the audit head")
}

async fn verify_anchor(app: &TestApp, org: &OrgId, seq: i64, hash: &str) -> ChainCheckView {
    app.get(
        &format!("/v1/orgs/{org}/audit/verify?seq={seq}&hash={hash}"),
        None,
    )
    .await
    .read(StatusCode::OK, "verify against an anchored head")
}

async fn an_audit_head_kept_outside_roster_is_confirmed_later_and_a_rewritten_history_is_not(
    db: TestDb,
) {
    let raw = db.raw().await;
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    app.create_space(&org, &owner, "Program").await;
    let anchored = audit_head(&app, &org).await;
    let entries = app.audit(&org).await;
    let newest = entries.last().unwrap();
    assert_eq!(
        (anchored.seq, anchored.hash.as_str()),
        (newest.seq, newest.hash.as_str())
    );
    app.patch_org(&org, Some(&owner), json!({"name": "Acme Coaching"}))
        .await
        .ok("a later change");
    assert!(audit_head(&app, &org).await.seq > anchored.seq);

    let check = verify_anchor(&app, &org, anchored.seq, &anchored.hash).await;
    assert!(check.ok, "the anchored head is still in the log: {check:?}");
    let forged = "0".repeat(64);
    let check = verify_anchor(&app, &org, anchored.seq, &forged).await;
    assert_eq!(
        (check.ok, check.first_bad_seq),
        (false, Some(anchored.seq)),
        "a hash the log never had"
    );
    app.get(
        &format!("/v1/orgs/{org}/audit/verify?seq={}", anchored.seq),
        None,
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "a seq without its hash",
    );

    // Whoever can write the database drops the anchored entry and what
    // came after it, and makes the chain end consistently before it.
    let before = &entries[entries.len() - 2];
    for sql in [
        format!(
            "DELETE FROM audit WHERE org_id = '{org}' AND seq >= {}",
            anchored.seq
        ),
        format!(
            "UPDATE orgs SET audit_seq = {}, audit_head = '{}' WHERE id = '{org}'",
            before.seq, before.hash
        ),
    ] {
        sqlx::query(&sql).execute(&raw).await.unwrap();
    }
    let plain: ChainCheckView = app
        .get(&format!("/v1/orgs/{org}/audit/verify"), None)
        .await
        .read(StatusCode::OK, "verify without an anchor");
    assert!(plain.ok, "the shortened chain is consistent: {plain:?}");
    let check = verify_anchor(&app, &org, anchored.seq, &anchored.hash).await;
    assert!(!check.ok, "the anchor exposes the rewrite: {check:?}");
    app.stop().await;
}

/// An SMTP relay as slow as the test says: a message is kept when its data
/// arrives, and acknowledged only when the test lets one more through.
#[derive(Clone)]
struct SlowRelay {
    port: u16,
    /// The Message-ID of every message received, in order.
    received: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
    acknowledgements: Arc<Semaphore>,
}

impl SlowRelay {
    async fn start() -> SlowRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = SlowRelay {
            port: listener.local_addr().unwrap().port(),
            received: Arc::default(),
            arrived: Arc::default(),
            acknowledgements: Arc::new(Semaphore::new(0)),
        };
        let r = relay.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let r = r.clone();
                tokio::spawn(async move {
                    let _ = r.session(stream).await;
                });
            }
        });
        relay
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 slow-relay ESMTP\r\n").await?;
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_ascii_uppercase();
            if command == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut message_id = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line.trim_end() == "." {
                        break;
                    }
                    if let Some(id) = line.to_ascii_lowercase().strip_prefix("message-id:") {
                        message_id = id.trim().to_owned();
                    }
                }
                self.received.lock().unwrap().push(message_id);
                self.arrived.notify_waiters();
                if let Ok(permit) = self.acknowledgements.acquire().await {
                    permit.forget();
                }
                write.write_all(b"250 queued\r\n").await?;
            } else if command == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                write.write_all(b"250 OK\r\n").await?;
            }
        }
    }

    /// Waits until `n` messages have arrived in all.
    async fn wait_for(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let arrived = self.arrived.notified();
                if self.received.lock().unwrap().len() >= n {
                    return;
                }
                arrived.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{n} messages never arrived"));
    }

    /// Acknowledges `n` more messages (waiting or still to come).
    fn let_through(&self, n: usize) {
        self.acknowledgements.add_permits(n);
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

/// `POST /v1/dev/sweep` on the server at `base`.
async fn sweep_at(base: String) -> SweepView {
    send(
        reqwest::Client::new()
            .post(format!("{base}/v1/dev/sweep"))
            .bearer_auth(KEY)
            .json(&json!({})),
    )
    .await
    .read(StatusCode::OK, "run the jobs")
}

/// The reading: two replicas, an SMTP server that takes five
/// seconds a message (of the servers' clock, moved by the test while the
/// relay holds each message), and a lease of 30 s on a batch of twelve.
/// The first replica's lease on the last messages of its batch runs out
/// while it is still sending; the second takes them over. Each message is
/// sent once: the first replica may not send what it no longer holds.
async fn every_email_is_sent_exactly_once_by_two_replicas_sharing_a_slow_relay(db: TestDb) {
    let relay = SlowRelay::start().await;
    let a = spawn_with(db, |c| c.smtp_url = Some(relay.url())).await;
    let b = a.replica().await;
    let (org, owner) = a.create_org("Acme", "owner@acme.test", None).await;
    let emails: Vec<String> = (0..12).map(|i| format!("person{i}@acme.test")).collect();
    a.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": emails, "role": "admin"}),
    )
    .await
    .ok("invite twelve Admins");
    let queued = a.state.store.outbox(None, 100).await.unwrap();
    assert!(queued.iter().all(|m| m.status == "pending"));
    let total = queued.len();
    assert_eq!(total, 12, "{queued:?}");

    // The first replica may already be sending (its job wakes when email
    // is queued); its sweep then waits for that run.
    let first = tokio::spawn(sweep_at(a.base.clone()));
    // Seven messages, five seconds each: the lease taken on the batch at the
    // start (30 s) has run out for the messages not yet renewed.
    for sent in 1..=7 {
        relay.wait_for(sent).await;
        a.advance(5).await;
        if sent < 7 {
            relay.let_through(1);
        }
    }
    // The first replica is still sending its seventh message; the second
    // takes over the rest and sends one, then the relay speeds up.
    let second = tokio::spawn(sweep_at(b.base.clone()));
    relay.wait_for(8).await;
    relay.let_through(1_000);
    let (first, second) = (first.await.unwrap(), second.await.unwrap());

    let received = relay.received();
    let mut times_sent: HashMap<&str, usize> = HashMap::new();
    for id in &received {
        *times_sent.entry(id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = times_sent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(received.len(), total, "{received:?}");
    // The second replica sent the five messages whose lease had run out
    // (the first one's seven went out in its sweep or in the job run that
    // woke when the invitations were written).
    assert_eq!(
        second.emails_sent, 5,
        "the first replica's sweep sent {}",
        first.emails_sent
    );
    let outbox = a.state.store.outbox(None, 100).await.unwrap();
    assert!(
        outbox.iter().all(|m| m.status == "sent"),
        "{:?}",
        outbox
            .iter()
            .map(|m| (&m.recipient, &m.status))
            .collect::<Vec<_>>()
    );
    b.stop().await;
    a.stop().await;
}

/// One raw HTTP/1.1 request on a fresh connection; answers the status, the
/// content type and the body. (reqwest will not build such long URLs.)
async fn raw_request(app: &TestApp, target: &str) -> (u16, String, String) {
    use tokio::io::AsyncReadExt;
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_request_target_is_a_problem_document_and_a_long_one_is_served() {
    let app = spawn(sqlite().await).await;
    for length in [65_535, 70_000, 300_000] {
        let target = format!("/v1/orgs/{}", "a".repeat(length - 9));
        let (status, content_type, body) = raw_request(&app, &target).await;
        assert_eq!(
            (status, content_type.as_str()),
            (414, "application/problem+json"),
            "{length} bytes: {body}"
        );
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "uri_too_long", "{problem}");
        assert_eq!(problem["status"], 414);
    }
    // Just within hyper's limit: an ordinary answer (no such organization).
    let target = format!("/v1/orgs/{}", "a".repeat(60_000));
    let (status, content_type, body) = raw_request(&app, &target).await;
    assert_eq!(
        (status, content_type.as_str()),
        (401, "application/problem+json"),
        "{body}"
    );
    // Connections keep working after the first request was checked.
    let health = app.anonymous(Method::GET, "/healthz").await;
    health.assert_status(StatusCode::OK, "the server still answers");
}
