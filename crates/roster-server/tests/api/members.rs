//! Member management, seats and capabilities (API.md "Members"): the success
//! path and each documented error code.

use reqwest::StatusCode;
use roster_core::{AuditAction, MemberStatus, OrgRole, SpaceRole};
use roster_server::views::{SeatsView, SpaceRoleView, SpaceViewName};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::json;

use crate::common::spawn;
use crate::fixtures::{sorted, space_world};

on_both_backends!(
    demoting_an_admin_lists_the_space_roles_they_keep_and_a_patch_without_org_role_changes_nothing,
    bulk_deactivation_with_the_last_owner_in_the_list_answers_for_each_user,
    seats_count_holders_and_pending_invitations_and_refuse_invitations_and_reactivation_past_the_limit,
    capabilities_show_role_management_only_with_someone_else_and_sections_by_role,
    a_pending_invitation_is_enough_for_role_management,
);

async fn demoting_an_admin_lists_the_space_roles_they_keep_and_a_patch_without_org_role_changes_nothing(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    app.put_space_member(&w.org, &w.s2, &w.admin_fac, Some(&w.owner), "program_admin")
        .await
        .ok("the Admin becomes Program Admin of S2");
    let demoted = app
        .patch_member(
            &w.org,
            &w.admin_fac,
            Some(&w.owner),
            json!({"org_role": null}),
        )
        .await
        .ok("demote the Admin");
    assert_eq!(demoted.member.org_role, None);
    let mut kept = demoted
        .kept_space_roles
        .clone()
        .unwrap_or_else(|| panic!("no kept_space_roles: {demoted:?}"));
    kept.sort_by(|a, b| a.space_id.cmp(&b.space_id));
    let mut want = vec![
        SpaceRoleView {
            space_id: w.s1.clone(),
            role: SpaceRole::Facilitator,
        },
        SpaceRoleView {
            space_id: w.s2.clone(),
            role: SpaceRole::ProgramAdmin,
        },
    ];
    want.sort_by(|a, b| a.space_id.cmp(&b.space_id));
    assert_eq!(kept, want);
    let m = app.member(&w.org, &w.admin_fac).await;
    assert_eq!(m.space_roles.len(), 2, "the space roles stay: {m:?}");
    assert!(
        !app.decide(
            &w.org,
            &w.admin_fac,
            "members.view",
            json!({"type": "organization", "id": w.org})
        )
        .await,
        "no org role any more"
    );
    assert!(
        app.decide(
            &w.org,
            &w.admin_fac,
            "members.manage",
            json!({"type": "space", "id": w.s2})
        )
        .await,
        "still Program Admin of S2"
    );

    // A PATCH without org_role changes nothing.
    let revision = app.org(&w.org).await.revision;
    let audit = app.audit(&w.org).await.len();
    let before = app.member(&w.org, &w.admin).await;
    let unchanged = app
        .patch_member(&w.org, &w.admin, Some(&w.owner), json!({}))
        .await
        .ok("an empty PATCH");
    assert_eq!(unchanged.member.org_role, Some(OrgRole::Admin));
    assert_eq!(unchanged.kept_space_roles, None, "{unchanged:?}");
    assert_eq!(app.member(&w.org, &w.admin).await, before);
    assert_eq!(
        app.org(&w.org).await.revision,
        revision,
        "no write happened"
    );
    assert_eq!(app.audit(&w.org).await.len(), audit, "no audit entry");
    app.stop().await;
}

async fn bulk_deactivation_with_the_last_owner_in_the_list_answers_for_each_user(db: TestDb) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let results = app
        .bulk(
            &w.org,
            Some(&w.owner),
            json!({"action": "deactivate", "user_ids": [w.admin, w.owner, w.fac]}),
        )
        .await
        .ok("bulk deactivate")
        .results;
    let outcomes: Vec<_> = results.iter().map(|r| (&r.user_id, r.ok)).collect();
    assert_eq!(
        outcomes,
        vec![(&w.admin, true), (&w.owner, false), (&w.fac, true)],
        "{results:?}"
    );
    assert_eq!(
        results[1].code.as_deref(),
        Some("last_owner"),
        "{results:?}"
    );
    for (user, status) in [
        (&w.admin, MemberStatus::Deactivated),
        (&w.owner, MemberStatus::Active),
        (&w.fac, MemberStatus::Deactivated),
    ] {
        let m = app.member(&w.org, user).await;
        assert_eq!(m.status, status, "{m:?}");
    }
    let audit = app.audit(&w.org).await;
    let deactivations = audit
        .iter()
        .filter(|e| e.action == AuditAction::MemberDeactivated)
        .count();
    assert_eq!(deactivations, 2);

    let results = app
        .bulk(
            &w.org,
            Some(&w.owner),
            json!({"action": "reactivate", "user_ids": [w.admin, w.fac]}),
        )
        .await
        .ok("bulk reactivate")
        .results;
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    app.bulk(
        &w.org,
        Some(&w.owner),
        json!({"action": "explode", "user_ids": [w.admin]}),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "an unknown bulk action",
    );
    app.bulk(
        &w.org,
        Some(&w.owner),
        json!({"action": "remove", "user_ids": []}),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "an empty bulk list",
    );
    app.stop().await;
}

async fn seats_count_holders_and_pending_invitations_and_refuse_invitations_and_reactivation_past_the_limit(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Small", "owner@small.test", Some(3)).await;
    let s = app.create_space(&org, &owner, "S").await;
    assert_eq!(
        app.seats(&org).await,
        SeatsView {
            limit: Some(3),
            used: 1,
            reserved: 0,
            available: Some(2),
            holders: vec![owner.clone()]
        }
    );

    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": ["admin@small.test"], "role": "admin"}),
    )
    .await
    .ok("invite an Admin");
    assert_eq!(
        app.seats(&org).await,
        SeatsView {
            limit: Some(3),
            used: 1,
            reserved: 1,
            available: Some(1),
            holders: vec![owner.clone()]
        },
        "a pending invitation reserves a seat"
    );
    let fac = app
        .add_member(&org, &owner, "fac@small.test", "facilitator", &[&s], None)
        .await;
    let seats = app.seats(&org).await;
    assert_eq!(
        (seats.used, seats.reserved, seats.available),
        (2, 1, Some(0)),
        "{seats:?}"
    );
    assert_eq!(seats.holders, sorted(vec![owner.clone(), fac.clone()]));

    let p = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": ["fac2@small.test"], "role": "facilitator", "space_ids": [s]}),
        )
        .await
        .problem(
            StatusCode::CONFLICT,
            "seat_limit_reached",
            "invite past the limit",
        );
    assert_eq!(p.limit, Some(3));
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": ["learner@small.test"], "role": "participant", "space_ids": [s]}),
    )
    .await
    .ok("participants use no seat");
    assert_eq!(
        app.seats(&org).await.reserved,
        1,
        "a participant invitation reserves nothing"
    );

    // A seat freed by deactivation can be taken; then reactivation fails.
    let deactivated = app
        .deactivate(&org, &fac, Some(&owner))
        .await
        .ok("deactivate the Facilitator");
    assert!(!deactivated.uses_seat, "{deactivated:?}");
    assert_eq!(
        app.seats(&org).await,
        SeatsView {
            limit: Some(3),
            used: 1,
            reserved: 1,
            available: Some(1),
            holders: vec![owner.clone()]
        }
    );
    let batch = app
        .post_invitations(
            &org,
            Some(&owner),
            json!({"emails": ["admin2@small.test"], "role": "admin"}),
        )
        .await
        .ok("invite into the freed seat");
    let admin2_invitation = batch.invitations[0].id.clone();
    assert_eq!(app.seats(&org).await.available, Some(0));
    app.reactivate(&org, &fac, Some(&owner)).await.problem(
        StatusCode::CONFLICT,
        "seat_limit_reached",
        "reactivate without a free seat",
    );
    assert_eq!(
        app.member(&org, &fac).await.status,
        MemberStatus::Deactivated
    );
    app.delete_invitation(&org, &admin2_invitation, Some(&owner))
        .await
        .ok("revoke the reserving invitation");
    let reactivated = app
        .reactivate(&org, &fac, Some(&owner))
        .await
        .ok("reactivate with a free seat");
    assert_eq!(reactivated.status, MemberStatus::Active);
    assert_eq!(
        app.seats(&org).await,
        SeatsView {
            limit: Some(3),
            used: 2,
            reserved: 1,
            available: Some(0),
            holders: sorted(vec![owner.clone(), fac.clone()])
        }
    );
    app.stop().await;
}

async fn capabilities_show_role_management_only_with_someone_else_and_sections_by_role(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Solo", "owner@solo.test", None).await;
    let c = app
        .get_capabilities(&org, &owner, Some(&owner))
        .await
        .ok("the Owner reads its capabilities");
    assert!(
        !c.role_management,
        "a solo organization never sees role management: {c:?}"
    );
    let every_section = [
        "users",
        "spaces",
        "reports",
        "offers",
        "integrations",
        "brand_settings",
        "audit",
        "billing",
        "financials",
    ];
    assert_eq!(
        sorted(c.admin_area.sections.clone()),
        sorted(every_section.map(String::from).to_vec()),
        "an Owner sees every section"
    );
    assert!(c.spaces.is_empty(), "{c:?}");

    let s1 = app.create_space(&org, &owner, "S1").await;
    let s2 = app.create_space(&org, &owner, "S2").await;
    let admin = app
        .add_member(&org, &owner, "admin@solo.test", "admin", &[], None)
        .await;
    let c = app
        .get_capabilities(&org, &owner, None)
        .await
        .ok("the platform reads the Owner's capabilities");
    assert!(c.role_management, "with a second member: {c:?}");
    let views: Vec<&SpaceViewName> = c.spaces.iter().map(|s| &s.view).collect();
    assert_eq!(
        views,
        vec![&SpaceViewName::Admin, &SpaceViewName::Admin],
        "an Owner opens both spaces as admin: {c:?}"
    );

    let c = app
        .get_capabilities(&org, &admin, Some(&admin))
        .await
        .ok("the Admin reads its capabilities");
    let admin_sections = [
        "users",
        "spaces",
        "reports",
        "offers",
        "integrations",
        "brand_settings",
        "audit",
    ];
    assert_eq!(
        sorted(c.admin_area.sections.clone()),
        sorted(admin_sections.map(String::from).to_vec()),
        "an Admin has no billing or financials"
    );
    assert!(c.role_management);

    let fac = app
        .add_member(&org, &owner, "fac@solo.test", "facilitator", &[&s1], None)
        .await;
    let c = app
        .get_capabilities(&org, &fac, Some(&fac))
        .await
        .ok("the Facilitator reads its capabilities");
    assert!(
        c.admin_area.sections.is_empty(),
        "no sections without an org role: {c:?}"
    );
    assert!(!c.role_management);
    assert_eq!(c.spaces.len(), 1, "only the space it facilitates: {c:?}");
    assert_eq!(c.spaces[0].space_id, s1);
    assert_eq!(c.spaces[0].view, SpaceViewName::Facilitator);
    let actions: Vec<&str> = c.spaces[0].actions.iter().map(|a| a.as_str()).collect();
    for allowed in [
        "space.view",
        "events.manage",
        "feed.post",
        "notifications.receive",
    ] {
        assert!(
            actions.contains(&allowed),
            "{allowed} missing from {actions:?}"
        );
    }
    for denied in ["members.manage", "activity.create", "space.leave"] {
        assert!(!actions.contains(&denied), "{denied} in {actions:?}");
    }
    assert!(
        c.spaces.iter().all(|s| s.space_id != s2),
        "S2 is not listed for the Facilitator"
    );

    let part = app
        .add_member(&org, &owner, "part@solo.test", "participant", &[&s2], None)
        .await;
    let sponsor = app
        .add_member(&org, &owner, "sponsor@solo.test", "sponsor", &[&s2], None)
        .await;
    for (who, view, has, lacks) in [
        (
            &part,
            SpaceViewName::Participant,
            "space.leave",
            "events.manage",
        ),
        (
            &sponsor,
            SpaceViewName::Sponsor,
            "reports.view",
            "feed.post",
        ),
    ] {
        let c = app
            .get_capabilities(&org, who, None)
            .await
            .ok("the platform reads capabilities");
        assert!(c.admin_area.sections.is_empty(), "{c:?}");
        assert_eq!(c.spaces.len(), 1, "{c:?}");
        assert_eq!(
            (&c.spaces[0].space_id, &c.spaces[0].view),
            (&s2, &view),
            "{c:?}"
        );
        let actions: Vec<&str> = c.spaces[0].actions.iter().map(|a| a.as_str()).collect();
        assert!(actions.contains(&has), "{view:?} lacks {has}: {actions:?}");
        assert!(
            !actions.contains(&lacks),
            "{view:?} has {lacks}: {actions:?}"
        );
    }
    // The person themselves or members.view; not another participant.
    app.get_capabilities(&org, &admin, Some(&fac))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a Facilitator reads an Admin's capabilities",
        );
    app.get_capabilities(&org, &fac, Some(&admin))
        .await
        .ok("an Admin reads a Facilitator's capabilities");
    app.stop().await;
}

async fn a_pending_invitation_is_enough_for_role_management(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Solo", "owner@solo.test", None).await;
    let before = app
        .get_capabilities(&org, &owner, None)
        .await
        .ok("capabilities alone");
    assert!(!before.role_management);
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": ["soon@solo.test"], "role": "admin"}),
    )
    .await
    .ok("invite");
    let after = app
        .get_capabilities(&org, &owner, None)
        .await
        .ok("capabilities with an invitation out");
    assert!(after.role_management);
    app.stop().await;
}
