//! Spaces and their members (API.md "Spaces"): the success path and each
//! documented error code.

use reqwest::StatusCode;
use roster_core::{AuditAction, MemberStatus, OrgRole, SpaceId, SpaceRole, UserId};
use roster_server::views::{RetainedAccessView, SpaceMemberView, SpaceRoleView, SpaceView};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::json;

use crate::common::spawn;
use crate::fixtures::{sorted, space_world};

on_both_backends!(
    spaces_are_created_listed_read_renamed_and_deleted_and_a_facilitator_lists_only_its_own,
    the_space_member_list_shows_explicit_roles_and_org_admins_and_counts_no_sponsors,
    removing_a_space_role_says_what_access_remains_and_access_only_through_the_org_role_cannot_be_removed,
    a_participant_leaves_a_space_only_with_confirmation_and_nobody_else_can_leave,
    notification_recipients_exclude_sponsors_and_org_admins_without_a_space_role,
);

fn ids(spaces: &[SpaceView]) -> Vec<SpaceId> {
    spaces.iter().map(|s| s.id.clone()).collect()
}

async fn spaces_are_created_listed_read_renamed_and_deleted_and_a_facilitator_lists_only_its_own(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let created = app
        .post_space(&org, Some(&owner), json!({"name": "Leadership 2025"}))
        .await;
    let space = created.ok("create a space");
    assert_eq!(space.name, "Leadership 2025");
    let s1 = space.id;
    assert_eq!(
        created.body,
        json!({"id": s1, "name": "Leadership 2025"}),
        "a space is its id and its name"
    );
    let s2 = app.create_space(&org, &owner, "S2").await;
    let p = app
        .post_space(&org, Some(&owner), json!({"name": "  "}))
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an empty name",
        );
    assert_eq!(p.field.as_deref(), Some("name"));

    let admin = app
        .add_member(&org, &owner, "admin@acme.test", "admin", &[], None)
        .await;
    let fac = app
        .add_member(&org, &owner, "fac@acme.test", "facilitator", &[&s1], None)
        .await;

    let listed = app
        .get_spaces(&org, Some(&admin))
        .await
        .ok("an Admin lists spaces");
    assert_eq!(
        sorted(ids(&listed.items)),
        sorted(vec![s1.clone(), s2.clone()]),
        "an Admin sees every space"
    );
    let listed = app
        .get_spaces(&org, None)
        .await
        .ok("the platform lists spaces");
    assert_eq!(listed.items.len(), 2, "the platform sees every space");
    let listed = app
        .get_spaces(&org, Some(&fac))
        .await
        .ok("a Facilitator lists spaces");
    assert_eq!(
        ids(&listed.items),
        vec![s1.clone()],
        "a Facilitator sees only the space it can open"
    );

    let read = app
        .get_space(&org, &s1, Some(&fac))
        .await
        .ok("a Facilitator reads its space");
    assert_eq!(
        read,
        SpaceView {
            id: s1.clone(),
            name: "Leadership 2025".into()
        }
    );
    app.get_space(&org, &s2, Some(&fac)).await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a Facilitator reads another space",
    );
    app.get_space(&org, &SpaceId::from("spc_missing"), Some(&owner))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found", "an unknown space");

    app.patch_space(&org, &s1, Some(&fac), json!({"name": "Mine now"}))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a Facilitator renames its space",
        );
    let renamed = app
        .patch_space(&org, &s1, Some(&admin), json!({"name": "Leadership 2026"}))
        .await
        .ok("an Admin renames a space");
    assert_eq!(
        renamed,
        SpaceView {
            id: s1.clone(),
            name: "Leadership 2026".into()
        }
    );
    let read = app.get_space(&org, &s1, Some(&owner)).await.ok("read S1");
    assert_eq!(read.name, "Leadership 2026");

    // Someone whose only role is in S2, about to go.
    let fac2 = app
        .add_member(&org, &owner, "fac2@acme.test", "facilitator", &[&s2], None)
        .await;
    assert!(app.seats(&org).await.holders.contains(&fac2));
    app.delete_space(&org, &s2, Some(&fac)).await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a Facilitator deletes a space",
    );
    app.delete_space(&org, &s2, Some(&admin))
        .await
        .ok("an Admin deletes a space");
    app.get_space(&org, &s2, Some(&owner)).await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "a deleted space",
    );
    app.delete_space(&org, &s2, Some(&owner)).await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "deleting it again",
    );
    let listed = app
        .get_spaces(&org, Some(&owner))
        .await
        .ok("the Owner lists spaces");
    assert_eq!(ids(&listed.items), vec![s1.clone()]);
    // Its roles went with it: no role, no seat, no access.
    let m = app.member(&org, &fac2).await;
    assert!(m.space_roles.is_empty() && !m.uses_seat, "{m:?}");
    assert!(!app.seats(&org).await.holders.contains(&fac2));
    assert!(
        !app.decide(
            &org,
            &fac2,
            "space.view",
            json!({"type": "space", "id": s2})
        )
        .await
    );
    let listed = app
        .get_spaces(&org, Some(&fac2))
        .await
        .ok("the Facilitator of the deleted space lists spaces");
    assert!(listed.items.is_empty(), "{listed:?}");
    let actions: Vec<AuditAction> = app.audit(&org).await.iter().map(|e| e.action).collect();
    for action in [
        AuditAction::SpaceCreated,
        AuditAction::SpaceUpdated,
        AuditAction::SpaceDeleted,
    ] {
        assert!(actions.contains(&action), "no {action} in {actions:?}");
    }
    app.stop().await;
}

async fn the_space_member_list_shows_explicit_roles_and_org_admins_and_counts_no_sponsors(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let list = app
        .get_space_members(&w.org, &w.s1, Some(&w.fac))
        .await
        .ok("a Facilitator lists its space's members");
    let row = |user: &UserId| list.items.iter().find(|i| &i.user_id == user).cloned();
    let explicit = |user: &UserId, role| {
        Some(SpaceMemberView {
            user_id: user.clone(),
            role: Some(role),
            via: "space".into(),
        })
    };
    let through = |user: &UserId, org_role: &str| {
        Some(SpaceMemberView {
            user_id: user.clone(),
            role: None,
            via: org_role.into(),
        })
    };
    assert_eq!(row(&w.pa), explicit(&w.pa, SpaceRole::ProgramAdmin));
    assert_eq!(row(&w.fac), explicit(&w.fac, SpaceRole::Facilitator));
    assert_eq!(row(&w.part), explicit(&w.part, SpaceRole::Participant));
    assert_eq!(row(&w.sponsor), explicit(&w.sponsor, SpaceRole::Sponsor));
    assert_eq!(
        row(&w.admin_fac),
        explicit(&w.admin_fac, SpaceRole::Facilitator),
        "an explicit role wins over the org role"
    );
    assert_eq!(row(&w.owner), through(&w.owner, "owner"));
    assert_eq!(row(&w.admin), through(&w.admin, "admin"));
    assert_eq!(
        row(&w.other),
        None,
        "a member of another space only is not listed"
    );
    assert_eq!(list.items.len(), 7, "{list:?}");
    assert_eq!(
        list.member_total, 4,
        "program admin, two facilitators and a participant; no sponsor: {list:?}"
    );

    // The platform key reads it too; someone of another space does not.
    app.get_space_members(&w.org, &w.s1, None)
        .await
        .ok("the platform lists a space's members");
    app.get_space_members(&w.org, &w.s1, Some(&w.other))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a participant of S2 lists S1",
        );
    app.get_space_members(&w.org, &SpaceId::from("spc_missing"), Some(&w.owner))
        .await
        .problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "an unknown space's members",
        );

    // PUT adds an existing org member, then changes their role.
    let set = app
        .put_space_member(&w.org, &w.s1, &w.other, Some(&w.owner), "facilitator")
        .await
        .ok("add an existing member to S1");
    assert_eq!(set.role, Some(SpaceRole::Facilitator));
    app.put_space_member(&w.org, &w.s1, &w.other, Some(&w.owner), "sponsor")
        .await
        .ok("change their role in S1");
    let m = app.member(&w.org, &w.other).await;
    let has = |space: &SpaceId, role| {
        m.space_roles.contains(&SpaceRoleView {
            space_id: space.clone(),
            role,
        })
    };
    assert!(has(&w.s1, SpaceRole::Sponsor), "{m:?}");
    assert!(has(&w.s2, SpaceRole::Participant), "{m:?}");
    assert_eq!(m.space_roles.len(), 2, "one role per space: {m:?}");
    let list = app
        .get_space_members(&w.org, &w.s1, None)
        .await
        .ok("list S1 again");
    assert_eq!(
        list.member_total, 4,
        "a new sponsor is not counted: {list:?}"
    );
    app.put_space_member(&w.org, &w.s1, &w.other, Some(&w.owner), "wizard")
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an unknown space role",
        );
    app.put_space_member(
        &w.org,
        &w.s1,
        &UserId::from("usr_missing"),
        Some(&w.owner),
        "participant",
    )
    .await
    .problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "someone who is not a member",
    );
    app.stop().await;
}

async fn removing_a_space_role_says_what_access_remains_and_access_only_through_the_org_role_cannot_be_removed(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let (org, s1) = (&w.org, &w.s1);
    // An Admin with an explicit role keeps access through the org role.
    let removed = app
        .delete_space_member(org, s1, &w.admin_fac, Some(&w.owner))
        .await
        .ok("remove the Admin's facilitator role");
    assert_eq!(
        removed,
        RetainedAccessView {
            retained_access: Some(OrgRole::Admin)
        }
    );
    let list = app.get_space_members(org, s1, None).await.ok("list S1");
    let row = list
        .items
        .iter()
        .find(|i| i.user_id == w.admin_fac)
        .cloned();
    assert_eq!(
        row,
        Some(SpaceMemberView {
            user_id: w.admin_fac.clone(),
            role: None,
            via: "admin".into()
        })
    );
    // Now the access is only the org role's.
    let p = app
        .delete_space_member(org, s1, &w.admin_fac, Some(&w.owner))
        .await
        .problem(
            StatusCode::CONFLICT,
            "inherited_access",
            "remove an Admin's inherited access",
        );
    assert_eq!(p.org_role, Some(OrgRole::Admin));
    let p = app
        .delete_space_member(org, s1, &w.owner, Some(&w.owner))
        .await
        .problem(
            StatusCode::CONFLICT,
            "inherited_access",
            "remove an Owner's inherited access",
        );
    assert_eq!(p.org_role, Some(OrgRole::Owner));
    assert!(
        app.decide(
            org,
            &w.owner,
            "space.view",
            json!({"type": "space", "id": s1})
        )
        .await,
        "the Owner still opens S1"
    );

    // An Owner with an explicit role keeps Owner access.
    app.put_space_member(org, s1, &w.owner, Some(&w.owner), "participant")
        .await
        .ok("the Owner becomes participant of S1");
    let removed = app
        .delete_space_member(org, s1, &w.owner, Some(&w.owner))
        .await
        .ok("remove the Owner's participant role");
    assert_eq!(removed.retained_access, Some(OrgRole::Owner));

    // Someone without an org role loses the space.
    let removed = app
        .delete_space_member(org, s1, &w.part, Some(&w.owner))
        .await;
    assert_eq!(removed.ok("remove a participant").retained_access, None);
    assert_eq!(
        removed.body,
        json!({"retained_access": null}),
        "no retained access is said, as null"
    );
    assert!(
        !app.decide(
            org,
            &w.part,
            "space.view",
            json!({"type": "space", "id": s1})
        )
        .await,
        "the participant no longer opens S1"
    );
    app.delete_space_member(org, s1, &w.part, Some(&w.owner))
        .await
        .problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "remove someone with no access to S1",
        );
    let audit = app.audit(org).await;
    let removals = audit
        .iter()
        .filter(|e| e.action == AuditAction::SpaceRoleRemoved)
        .count();
    assert_eq!(removals, 3, "{audit:?}");
    app.stop().await;
}

async fn a_participant_leaves_a_space_only_with_confirmation_and_nobody_else_can_leave(db: TestDb) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let before = app.audit(&w.org).await.len();
    app.leave_space(&w.org, &w.s1, Some(&w.part), json!({}))
        .await
        .problem(
            StatusCode::CONFLICT,
            "confirmation_required",
            "leave without confirm",
        );
    app.leave_space(&w.org, &w.s1, Some(&w.part), json!({"confirm": false}))
        .await
        .problem(
            StatusCode::CONFLICT,
            "confirmation_required",
            "leave with confirm false",
        );
    assert_eq!(app.audit(&w.org).await.len(), before, "nothing happened");
    for (who, me) in [
        ("a Facilitator", &w.fac),
        ("a Program Admin", &w.pa),
        ("a Sponsor", &w.sponsor),
        ("an Admin without a role", &w.admin),
        ("a participant of S2", &w.other),
    ] {
        app.leave_space(&w.org, &w.s1, Some(me), json!({"confirm": true}))
            .await
            .problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("{who} leaves S1"),
            );
    }
    app.leave_space(&w.org, &w.s1, None, json!({"confirm": true}))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the platform key alone leaves",
        );
    app.leave_space(&w.org, &w.s1, Some(&w.part), json!({"confirm": true}))
        .await
        .ok("the participant leaves with confirmation");
    let m = app.member(&w.org, &w.part).await;
    assert!(m.space_roles.is_empty(), "{m:?}");
    assert_eq!(
        m.status,
        MemberStatus::Active,
        "leaving a space keeps the membership"
    );
    let audit = app.audit(&w.org).await;
    let left = audit
        .iter()
        .find(|e| e.action == AuditAction::MemberLeftSpace)
        .expect("a member.left_space entry");
    assert_eq!(left.target_user_id.as_ref(), Some(&w.part));
    assert_eq!(left.space_id.as_ref(), Some(&w.s1));
    app.leave_space(&w.org, &w.s1, Some(&w.part), json!({"confirm": true}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden", "leaving again");
    app.stop().await;
}

async fn notification_recipients_exclude_sponsors_and_org_admins_without_a_space_role(db: TestDb) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let recipients = app
        .get_recipients(&w.org, &w.s1, Some(&w.part))
        .await
        .ok("a participant reads the recipients");
    assert_eq!(
        sorted(recipients.user_ids),
        sorted(vec![
            w.pa.clone(),
            w.fac.clone(),
            w.part.clone(),
            w.admin_fac.clone()
        ]),
        "program admin, facilitators and participant; no sponsor, no Owner or Admin without a role"
    );
    let recipients = app
        .get_recipients(&w.org, &w.s2, None)
        .await
        .ok("the platform reads the recipients");
    assert_eq!(recipients.user_ids, vec![w.other.clone()]);
    app.get_recipients(&w.org, &w.s2, Some(&w.part))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a participant of S1 reads S2's recipients",
        );
    // A deactivated participant receives nothing.
    app.deactivate(&w.org, &w.part, Some(&w.owner))
        .await
        .ok("deactivate the participant");
    let recipients = app
        .get_recipients(&w.org, &w.s1, None)
        .await
        .ok("the platform reads the recipients");
    assert!(!recipients.user_ids.contains(&w.part), "{recipients:?}");
    app.stop().await;
}
