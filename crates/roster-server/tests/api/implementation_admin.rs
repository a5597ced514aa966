//! Seed `000_…`, sentence by sentence, against the real server and a real
//! SMTP receiver: the Implementation Admin lifecycle.

use reqwest::StatusCode;
use roster_core::{ActorKind, AuditAction, InvitationId, OrgId, OrgRole, SpaceId, Trigger, UserId};
use roster_server::error::Problem;
use roster_server::views::AuditEntryView;
use roster_testkit::{on_both_backends, on_postgres, TestDb};
use serde_json::json;

use crate::common::{spawn, spawn_with, spawn_with_smtp, sqlite, TestApp};
use crate::fixtures::sorted;

on_both_backends!(
    expiry_removes_the_member_revokes_tokens_and_sends_two_emails_once,
    early_removal_ends_access_at_once_with_the_same_email,
    turning_the_setting_off_needs_confirmation_then_removes_every_implementation_admin,
    a_batch_with_one_address_outside_the_allowlist_creates_nothing,
    forged_revoked_and_expired_invitation_tokens_are_refused,
    the_platform_lists_forever_assignments_and_records_reviews,
);

on_postgres!(two_replicas_on_one_postgres_expire_an_implementation_admin_once);

const MONTH_AND_A_DAY: i64 = 32 * 86_400;

/// An organization with the role turned on and `upcoach.com` allowed;
/// answers (org, owner).
async fn org_allowing_implementation_admins(app: &TestApp) -> (OrgId, UserId) {
    let (org, owner) = app
        .create_org("Northwind Coaching", "owner@northwind.test", Some(5))
        .await;
    app.put_domains(&org, None, &["upcoach.com", "*.partner.io"])
        .await
        .ok("set the allowlist");
    app.put_ia_setting(&org, Some(&owner), json!({"enabled": true}))
        .await
        .ok("turn the role on");
    (org, owner)
}

/// The secret of a new `kind` token of `user`.
async fn token_for(app: &TestApp, org: &OrgId, user: &UserId, kind: &str) -> String {
    app.token_of_kind(org, user, kind).await.secret
}

async fn expiry_removes_the_member_revokes_tokens_and_sends_two_emails_once(db: TestDb) {
    let app = spawn_with_smtp(db).await;
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
    let member = app.member(&org, &ia).await;
    assert_eq!(member.org_role, Some(OrgRole::ImplementationAdmin));
    assert!(!member.uses_seat, "Implementation Admins do not use a seat");
    assert_eq!(
        member
            .implementation_admin
            .as_ref()
            .and_then(|assignment| assignment.invited_by.as_ref()),
        Some(&owner)
    );
    let tokens = [
        token_for(&app, &org, &ia, "mcp").await,
        token_for(&app, &org, &ia, "api").await,
        token_for(&app, &org, &ia, "oauth").await,
    ];
    for t in &tokens {
        assert!(app.is_active(t).await);
    }
    let org_resource = json!({"type": "organization", "id": org});
    assert!(
        app.decide(&org, &ia, "members.invite", org_resource.clone())
            .await
    );
    app.sweep().await; // delivers the invitation email
    let smtp = app.smtp.clone().unwrap();
    let before = smtp.messages().len();

    app.advance(MONTH_AND_A_DAY).await;
    // Before any job runs, the expiry already holds.
    assert!(!app.decide(&org, &ia, "members.invite", org_resource).await);
    for t in &tokens {
        assert!(!app.is_active(t).await);
    }
    app.get_member(&org, &ia, None).await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "the expired Implementation Admin",
    );

    let report = app.sweep().await;
    assert_eq!(report.implementation_admins_expired, 1);
    assert_eq!(
        app.sweep().await.implementation_admins_expired,
        0,
        "expiry happens once"
    );

    let ended: Vec<_> = smtp.messages().into_iter().skip(before).collect();
    assert_eq!(
        ended.len(),
        2,
        "one email to the person, one to the inviter: {ended:?}"
    );
    let ended_to = |recipient: &str| {
        smtp.to(recipient)
            .into_iter()
            .filter(|m| m.data.contains("has ended"))
            .count()
    };
    assert_eq!(
        (
            ended_to("helper@upcoach.com"),
            ended_to("owner@northwind.test")
        ),
        (1, 1)
    );
    for m in &ended {
        assert!(
            m.data.contains("Northwind Coaching"),
            "names the organization"
        );
        assert!(m.data.contains("re-invite"), "suggests a re-invite");
        assert!(m.header("Message-ID").is_some());
    }

    let entries = app.audit(&org).await;
    let expiry: Vec<&AuditEntryView> = entries
        .iter()
        .filter(|e| e.trigger == Trigger::Expiry && e.target_user_id.as_ref() == Some(&ia))
        .collect();
    assert_eq!(expiry.len(), 1, "{expiry:?}");
    assert_eq!(expiry[0].action, AuditAction::ImplementationAdminRemoved);
    assert_eq!(
        expiry[0].actor.user_id.as_ref(),
        Some(&owner),
        "the original inviter is the actor"
    );
    assert_eq!(expiry[0].actor.kind, ActorKind::SystemOnBehalfOf);
    let chain = app
        .get_audit_verify(&org, None)
        .await
        .ok("verify the audit log");
    assert!(chain.ok, "{chain:?}");

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

async fn two_replicas_on_one_postgres_expire_an_implementation_admin_once(db: TestDb) {
    let first = spawn_with_smtp(db).await;
    let smtp = first.smtp.clone().unwrap();
    let second = first.replica().await;
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
    let expired: usize = [a, b, c, d]
        .iter()
        .map(|r| r.implementation_admins_expired)
        .sum();
    assert_eq!(expired, 1);
    let sent: Vec<String> = smtp.messages()[before..]
        .iter()
        .map(|m| {
            format!(
                "{:?} {:?} {:?}",
                m.to,
                m.header("Subject"),
                m.header("Message-ID")
            )
        })
        .collect();
    assert_eq!(sent.len(), 2, "exactly two emails: {sent:#?}");
    let entries = first.audit(&org).await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.trigger == Trigger::Expiry)
            .count(),
        1,
        "exactly one audit entry"
    );
    second.stop().await;
    first.stop().await;
}

async fn early_removal_ends_access_at_once_with_the_same_email(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = org_allowing_implementation_admins(&app).await;
    let ia = app
        .add_member(
            &org,
            &owner,
            "fixer@upcoach.com",
            "implementation_admin",
            &[],
            Some("forever"),
        )
        .await;
    let token = token_for(&app, &org, &ia, "mcp").await;
    app.remove_implementation_admin(&org, &ia, Some(&owner), json!({}))
        .await
        .problem(
            StatusCode::CONFLICT,
            "confirmation_required",
            "remove without confirmation",
        );
    app.remove_implementation_admin(&org, &ia, Some(&owner), json!({"confirm": true}))
        .await
        .ok("remove with confirmation");
    app.get_member(&org, &ia, None).await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "the removed Implementation Admin",
    );
    assert!(!app.is_active(&token).await);
    let outbox = app.state.store.outbox(None, 50).await.unwrap();
    let ended = outbox
        .iter()
        .filter(|m| m.template.starts_with("implementation_admin_ended"))
        .count();
    assert_eq!(ended, 2);
    let entries = app.audit(&org).await;
    let entry = entries
        .iter()
        .find(|e| e.action == AuditAction::ImplementationAdminRemoved)
        .expect("an implementation_admin.removed entry");
    assert_eq!(entry.actor.user_id.as_ref(), Some(&owner));
    assert_eq!(entry.trigger, Trigger::Request);
    app.stop().await;
}

async fn turning_the_setting_off_needs_confirmation_then_removes_every_implementation_admin(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, owner) = org_allowing_implementation_admins(&app).await;
    let one = app
        .add_member(
            &org,
            &owner,
            "one@upcoach.com",
            "implementation_admin",
            &[],
            Some("3_months"),
        )
        .await;
    let two = app
        .add_member(
            &org,
            &owner,
            "two@x.partner.io",
            "implementation_admin",
            &[],
            Some("forever"),
        )
        .await;
    let p = app
        .put_ia_setting(&org, Some(&owner), json!({"enabled": false}))
        .await
        .problem(
            StatusCode::CONFLICT,
            "confirmation_required",
            "turn it off without confirmation",
        );
    assert_eq!(p.affected, Some(2));
    app.get_member(&org, &one, None)
        .await
        .ok("nothing happened yet");
    let setting = app
        .put_ia_setting(
            &org,
            Some(&owner),
            json!({"enabled": false, "confirm": true}),
        )
        .await
        .ok("turn it off with confirmation");
    assert!(!setting.enabled);
    assert_eq!(
        sorted(setting.removed),
        sorted(vec![one.clone(), two.clone()])
    );
    for user in [&one, &two] {
        app.get_member(&org, user, None).await.problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "a removed Implementation Admin",
        );
    }
    let entries = app.audit(&org).await;
    let removals = entries
        .iter()
        .filter(|e| {
            e.trigger == Trigger::SettingDisabled
                && e.action == AuditAction::ImplementationAdminRemoved
        })
        .count();
    assert_eq!(removals, 2);
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": ["new@upcoach.com"], "role": "implementation_admin", "duration": "1_month"}),
    )
    .await
    .problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "implementation_admin_disabled",
        "invite with the role off",
    );
    app.stop().await;
}

async fn a_batch_with_one_address_outside_the_allowlist_creates_nothing(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = org_allowing_implementation_admins(&app).await;
    let p = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({
                "emails": "ok@upcoach.com; fine@a.partner.io\nuser@upcoach.com.evil.com",
                "role": "implementation_admin", "duration": "1_month"}),
        )
        .await
        .problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "domain_not_allowed",
            "one address outside the allowlist",
        );
    let rejected: Vec<String> = p
        .rejected
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.email)
        .collect();
    assert_eq!(rejected, vec!["user@upcoach.com.evil.com"]);
    assert_eq!(
        sorted(p.allowed_domains.unwrap_or_default()),
        vec!["*.partner.io", "upcoach.com"]
    );
    assert!(app.invitations(&org, "").await.is_empty());
    assert!(app.state.store.outbox(None, 10).await.unwrap().is_empty());
    app.stop().await;
}

/// A pending invitation of `email` as participant of `space`; answers its id.
async fn invite_participant(
    app: &TestApp,
    org: &OrgId,
    owner: &UserId,
    space: &SpaceId,
    email: &str,
) -> InvitationId {
    let batch = app
        .post_invitations(
            org,
            Some(owner),
            json!({"emails": [email], "role": "participant", "space_ids": [space]}),
        )
        .await
        .ok("invite a participant");
    batch.invitations[0].id.clone()
}

async fn forged_revoked_and_expired_invitation_tokens_are_refused(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let space = app.create_space(&org, &owner, "Program").await;
    app.accept("inv_forged")
        .await
        .problem(StatusCode::NOT_FOUND, "not_found", "a forged token");
    app.accept("not even close").await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "not a token at all",
    );
    let revoked = invite_participant(&app, &org, &owner, &space, "revoked@acme.test").await;
    let token = app.invitation_token("revoked@acme.test").await;
    app.delete_invitation(&org, &revoked, Some(&owner))
        .await
        .ok("revoke the invitation");
    let _: Problem = app
        .accept(&token)
        .await
        .read(StatusCode::CONFLICT, "accept a revoked invitation");
    invite_participant(&app, &org, &owner, &space, "late@acme.test").await;
    let token = app.invitation_token("late@acme.test").await;
    app.advance(15 * 86_400).await;
    let _: Problem = app
        .accept(&token)
        .await
        .read(StatusCode::CONFLICT, "expired after 14 days");
    app.get_invitations(&org, None, "?status=expired")
        .await
        .ok("list expired invitations");
    app.stop().await;
}

async fn the_platform_lists_forever_assignments_and_records_reviews(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = org_allowing_implementation_admins(&app).await;
    let ia = app
        .add_member(
            &org,
            &owner,
            "forever@upcoach.com",
            "implementation_admin",
            &[],
            Some("forever"),
        )
        .await;
    app.add_member(
        &org,
        &owner,
        "brief@upcoach.com",
        "implementation_admin",
        &[],
        Some("1_month"),
    )
    .await;
    let listed = app
        .get_forever_implementation_admins(None)
        .await
        .ok("list Forever assignments");
    assert_eq!(listed.items.len(), 1, "{listed:?}");
    assert_eq!(listed.items[0].user_id, ia);
    assert_eq!(listed.items[0].last_reviewed_at, None);
    app.post_review(&org, &ia, None).await.ok("record a review");
    let listed = app
        .get_forever_implementation_admins(None)
        .await
        .ok("list Forever assignments");
    assert!(listed.items[0].last_reviewed_at.is_some(), "{listed:?}");
    assert_eq!(listed.items[0].reviews, 1);
    app.post_review(&org, &ia, None)
        .await
        .ok("record another review");
    let listed = app
        .get_forever_implementation_admins(None)
        .await
        .ok("list Forever assignments");
    assert_eq!(listed.items[0].reviews, 2, "every review is kept");
    app.post_review(&org, &ia, Some(&owner)).await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "platform only",
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invitation_email_carries_its_link_on_one_unbroken_line() {
    let app = spawn_with_smtp(sqlite().await).await;
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let space = app.create_space(&org, &owner, "Leadership").await;
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": "coach@acme.test", "role": "facilitator", "space_ids": [space], "message": "Welcome aboard"}),
    )
    .await
    .ok("invite with a message");
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
    let app = spawn_with_smtp(sqlite().await).await;
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": ["new@acme.test"], "role": "admin"}),
    )
    .await
    .ok("invite an Admin");
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
    let app = spawn_with(sqlite().await, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{closed}"))
    })
    .await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": ["far@acme.test"], "role": "admin"}),
    )
    .await
    .ok("invite an Admin");
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
