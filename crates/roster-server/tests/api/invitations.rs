//! Invitations (API.md "Invitations"): existing members, pasted lists,
//! resends.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use roster_core::{AuditAction, InvitationId, InvitationStatus, Role, SpaceRole};
use roster_server::views::SpaceRoleView;
use roster_testkit::{on_both_backends, TestDb};
use serde_json::json;

use crate::common::spawn;
use crate::fixtures::{sorted, space_world};

on_both_backends!(
    invitations_refuse_existing_members_for_org_roles_add_them_to_spaces_split_email_strings_and_count_resends,
);

async fn invitations_refuse_existing_members_for_org_roles_add_them_to_spaces_split_email_strings_and_count_resends(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let count_before = app.invitations(&w.org, "").await.len();
    // An existing member cannot be invited to an org role.
    let p = app
        .post_invitations(
            &w.org,
            Some(&w.owner),
            json!({"emails": ["fac@acme.test", "new@acme.test"], "role": "admin"}),
        )
        .await
        .problem(
            StatusCode::CONFLICT,
            "already_member",
            "invite a member as Admin",
        );
    let rejected: Vec<(String, String)> = p
        .rejected
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.email, r.code))
        .collect();
    assert_eq!(
        rejected,
        vec![("fac@acme.test".to_owned(), "already_member".to_owned())],
        "only the member is rejected"
    );
    assert_eq!(
        app.invitations(&w.org, "").await.len(),
        count_before,
        "nothing created"
    );

    // An existing member invited into a space gets the role at once.
    let fac_mails = app.invitation_emails("fac@acme.test").await;
    let batch = app
        .post_invitations(
            &w.org,
            Some(&w.owner),
            json!({"emails": ["fac@acme.test"], "role": "participant", "space_ids": [w.s2]}),
        )
        .await
        .ok("invite a member into S2");
    assert_eq!(
        batch.invitations[0].status,
        InvitationStatus::Accepted,
        "{batch:?}"
    );
    let m = app.member(&w.org, &w.fac).await;
    assert!(
        m.space_roles.contains(&SpaceRoleView {
            space_id: w.s2.clone(),
            role: SpaceRole::Participant
        }),
        "{m:?}"
    );
    assert!(
        app.decide(
            &w.org,
            &w.fac,
            "activity.complete",
            json!({"type": "space", "id": w.s2})
        )
        .await,
        "a participant of S2 now"
    );
    assert_eq!(
        app.invitation_emails("fac@acme.test").await,
        fac_mails,
        "no invitation email for an existing member"
    );
    app.post_invitations(
        &w.org,
        Some(&w.owner),
        json!({"emails": ["fac@acme.test"], "role": "participant", "space_ids": [w.s2]}),
    )
    .await
    .problem(
        StatusCode::CONFLICT,
        "already_member",
        "invite into a space where they already are",
    );

    // One string, several separators: one invitation per address.
    let emails = [
        "one@acme.test",
        "two@acme.test",
        "three@acme.test",
        "four@acme.test",
        "five@acme.test",
    ];
    let created = app
        .post_invitations(
            &w.org,
            Some(&w.owner),
            json!({"emails": "one@acme.test, two@acme.test;three@acme.test\nfour@acme.test five@acme.test", "role": "participant", "space_ids": [w.s1]}),
        )
        .await;
    let batch = created.ok("invite from one string");
    assert_eq!(
        sorted(batch.invitations.iter().map(|i| i.email.clone()).collect()),
        sorted(emails.map(String::from).to_vec())
    );
    for inv in &batch.invitations {
        assert_eq!(inv.status, InvitationStatus::Pending);
        assert_eq!(inv.role, Role::Space(SpaceRole::Participant));
        assert_eq!(inv.space_ids, vec![w.s1.clone()]);
        assert_eq!(inv.send_count, 1);
        assert_eq!(inv.invited_by.as_ref(), Some(&w.owner));
        assert_eq!(inv.batch_id, batch.batch_id);
    }
    // `duration` is there, null, for roles without one.
    let raw = created.body["invitations"].as_array().unwrap();
    assert!(raw.iter().all(|i| i.get("duration").is_some()), "{raw:?}");
    let ids: BTreeSet<&InvitationId> = batch.invitations.iter().map(|i| &i.id).collect();
    assert_eq!(ids.len(), 5, "distinct ids");
    assert!(!batch.batch_id.as_str().is_empty());
    for email in emails {
        assert_eq!(
            app.invitation_emails(email).await,
            1,
            "one email to {email}"
        );
    }
    let pending = app.invitations(&w.org, "status=pending").await;
    assert_eq!(pending.len(), 5, "{pending:?}");

    // Resending answers the invitation with one more send.
    let first = &batch.invitations[0];
    app.advance(86_400).await;
    let resent = app
        .resend_invitation(&w.org, &first.id, Some(&w.owner))
        .await
        .ok("resend");
    assert!(
        resent.expires_at > first.expires_at,
        "a resend resets the expiry: {} → {}",
        first.expires_at,
        resent.expires_at
    );
    assert_eq!(
        (&resent.id, resent.send_count, resent.status),
        (&first.id, 2, InvitationStatus::Pending),
        "{resent:?}"
    );
    let resent = app
        .resend_invitation(&w.org, &first.id, Some(&w.owner))
        .await
        .ok("resend again");
    assert_eq!(resent.send_count, 3, "{resent:?}");
    let listed = app.invitations(&w.org, "status=pending").await;
    let row = listed
        .iter()
        .find(|i| i.id == first.id)
        .expect("the resent invitation is listed");
    assert_eq!(row.send_count, 3);
    assert_eq!(
        app.invitation_emails(&first.email).await,
        3,
        "an email per send"
    );
    let audit = app.audit(&w.org).await;
    let resends = audit
        .iter()
        .filter(|e| e.action == AuditAction::InvitationResent)
        .count();
    assert_eq!(resends, 2);
    app.resend_invitation(&w.org, &InvitationId::from("inv_missing"), Some(&w.owner))
        .await
        .problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "resend an unknown invitation",
        );
    app.stop().await;
}
