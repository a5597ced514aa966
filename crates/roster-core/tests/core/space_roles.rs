//! SPEC §4: Program Admins manage roles in their own programs only; access
//! retained or inherited through the org role; a participant leaving (§7).

use roster_core::implementation_admin::{
    remove_implementation_admin, set_implementation_admin_enabled,
};
use roster_core::org_roles::change_org_role;
use roster_core::space_roles::{leave_space, remove_space_role, retained_access, set_space_role};
use roster_core::status::{deactivate, remove_member};
use roster_core::*;

use crate::common::*;

#[test]
fn a_program_admin_manages_space_roles_only_in_spaces_where_they_are_program_admin() {
    let mut snap = with_program_admin();
    let (pa, target, s1, s2) = (by("pa"), uid("target"), sid("s1"), sid("s2"));
    let change = set_space_role(&snap, &pa, &s1, &target, SpaceRole::Facilitator, now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::SpaceRoleSet {
            user_id: target.clone(),
            space_id: s1.clone(),
            from: None,
            to: SpaceRole::Facilitator,
        }]
    );
    apply(&mut snap, &change);
    assert_eq!(
        space_role_of(&snap, "target", "s1"),
        Some(SpaceRole::Facilitator)
    );
    let change = set_space_role(&snap, &pa, &s1, &target, SpaceRole::Sponsor, now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::SpaceRoleSet {
            user_id: target.clone(),
            space_id: s1.clone(),
            from: Some(SpaceRole::Facilitator),
            to: SpaceRole::Sponsor,
        }]
    );
    apply(&mut snap, &change);
    let removal = remove_space_role(&snap, &pa, &s1, &target, now()).unwrap();
    assert_eq!(retained_access(&removal), None);

    set_space(&mut snap, "target", "s2", SpaceRole::Participant);
    forbidden(set_space_role(
        &snap,
        &pa,
        &s2,
        &target,
        SpaceRole::Facilitator,
        now(),
    ));
    forbidden(remove_space_role(&snap, &pa, &s2, &target, now()));
    forbidden(invite(
        &snap,
        "pa",
        &["x@example.com"],
        space_role(SpaceRole::Participant),
        &["s2"],
        None,
    ));
    forbidden(invite(
        &snap,
        "pa",
        &["x@example.com"],
        space_role(SpaceRole::Participant),
        &["s1", "s2"],
        None,
    ));
}

#[test]
fn a_program_admin_can_invite_new_people_into_their_space() {
    let mut snap = with_program_admin();
    let change = invite(
        &snap,
        "pa",
        &["new@example.com"],
        space_role(SpaceRole::Facilitator),
        &["s1"],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    accept(&mut snap, &invited(&change)[0], "new", now()).unwrap();
    assert_eq!(role_of(&snap, "new"), None);
    assert_eq!(
        space_roles(&snap, "new"),
        [("s1".to_string(), SpaceRole::Facilitator)]
    );
}

#[test]
fn a_program_admin_never_manages_org_roles() {
    let mut snap = with_program_admin();
    enable_ia(&mut snap, &["example.com"]);
    let (pa, target) = (by("pa"), uid("target"));
    for role in [OWNER, ADMIN, None] {
        forbidden(change_org_role(&snap, &pa, &target, role, None, now()));
    }
    forbidden(change_org_role(
        &snap,
        &pa,
        &target,
        IA,
        Some(IaDuration::OneMonth),
        now(),
    ));
    forbidden(change_org_role(
        &snap,
        &pa,
        &uid("admin"),
        None,
        None,
        now(),
    ));
    forbidden(deactivate(&snap, &pa, &target, now()));
    forbidden(remove_member(&snap, &pa, &target, now()));
    forbidden(remove_implementation_admin(
        &snap,
        &pa,
        &uid("ia"),
        true,
        now(),
    ));
    forbidden(set_implementation_admin_enabled(
        &snap,
        &pa,
        false,
        true,
        now(),
    ));
    for role in [OrgRole::Owner, OrgRole::Admin] {
        forbidden(invite(
            &snap,
            "pa",
            &["x@example.com"],
            org_role(role),
            &[],
            None,
        ));
    }
    forbidden(invite(
        &snap,
        "pa",
        &["x@example.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::OneMonth),
    ));
}

#[test]
fn a_program_admin_cannot_change_an_org_admins_role_in_their_program() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "pa", None);
    set_space(&mut snap, "pa", "s1", SpaceRole::ProgramAdmin);
    let (o1, s1) = (uid("o1"), sid("s1"));
    // Pinning an Owner to read-only as a sponsor is for the Admin Area.
    forbidden(set_space_role(
        &snap,
        &by("pa"),
        &s1,
        &o1,
        SpaceRole::Sponsor,
        now(),
    ));
    let err = invite(
        &snap,
        "pa",
        &["o1@example.com"],
        space_role(SpaceRole::Participant),
        &["s1"],
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, RuleError::ForbiddenAddresses { .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "forbidden");
    assert_eq!(rejected_emails(&err), ["o1@example.com"]);
    // The Owner can, through the Admin Area.
    let change = set_space_role(&snap, &by("o1"), &s1, &o1, SpaceRole::Sponsor, now()).unwrap();
    assert_eq!(change.outcomes().len(), 1);
}

#[test]
fn a_program_admin_cannot_remove_an_org_admins_program_role() {
    let mut snap = with_program_admin();
    set_space(&mut snap, "admin", "s1", SpaceRole::Facilitator);
    forbidden(remove_space_role(
        &snap,
        &by("pa"),
        &sid("s1"),
        &uid("admin"),
        now(),
    ));
}

#[test]
fn setting_the_space_role_someone_already_holds_changes_nothing() {
    let snap = staffed();
    let change = set_space_role(
        &snap,
        &by("admin"),
        &sid("s1"),
        &uid("member"),
        SpaceRole::Participant,
        now(),
    )
    .unwrap();
    assert!(change.is_empty());
}

#[test]
fn space_roles_are_set_only_in_existing_spaces_for_current_members() {
    let snap = staffed();
    assert_eq!(
        set_space_role(
            &snap,
            &by("owner"),
            &sid("nope"),
            &uid("member"),
            SpaceRole::Participant,
            now()
        ),
        Err(RuleError::NotFound("space"))
    );
    assert_eq!(
        set_space_role(
            &snap,
            &by("owner"),
            &sid("s1"),
            &uid("nobody"),
            SpaceRole::Participant,
            now()
        ),
        Err(RuleError::NotFound("member"))
    );
}

#[test]
fn removing_a_space_role_when_access_also_comes_from_the_org_role_answers_retained_access() {
    for org in [OrgRole::Owner, OrgRole::Admin, OrgRole::ImplementationAdmin] {
        let mut snap = staffed();
        add(&mut snap, "x", Some(org));
        set_space(&mut snap, "x", "s1", SpaceRole::Participant);
        let s1 = sid("s1");
        let removal = remove_space_role(&snap, &by("owner"), &s1, &uid("x"), now()).unwrap();
        assert_eq!(
            removal.outcomes(),
            [Outcome::SpaceRoleRemoved {
                user_id: uid("x"),
                space_id: s1.clone(),
                from: SpaceRole::Participant,
                retained_access: Some(org),
            }]
        );
        assert_eq!(retained_access(&removal), Some(org));
        apply(&mut snap, &removal);
        assert_eq!(space_role_of(&snap, "x", "s1"), None);
        // Still reaches the space, now with the admin tier.
        let d = decide(
            &snap,
            &uid("x"),
            Action::ActivityEdit,
            Resource::Space(&s1),
            now(),
        );
        assert!(d.allowed);
        assert_eq!(d.rule, Rule::OrgAdminTier);
    }
}

#[test]
fn removing_the_only_space_role_of_someone_without_an_org_role_retains_nothing() {
    let mut snap = staffed();
    let s1 = sid("s1");
    let removal = remove_space_role(&snap, &by("admin"), &s1, &uid("member"), now()).unwrap();
    assert_eq!(retained_access(&removal), None);
    apply(&mut snap, &removal);
    assert!(!allowed(
        &snap,
        "member",
        Action::SpaceView,
        Resource::Space(&s1)
    ));
}

#[test]
fn removing_access_that_exists_only_through_the_org_role_is_inherited_access_naming_the_role() {
    let snap = staffed();
    for (user, role) in [
        ("owner2", OrgRole::Owner),
        ("admin", OrgRole::Admin),
        ("ia", OrgRole::ImplementationAdmin),
    ] {
        assert_eq!(
            remove_space_role(&snap, &by("owner"), &sid("s1"), &uid(user), now()),
            Err(RuleError::InheritedAccess { org_role: role })
        );
    }
    let err = remove_space_role(&snap, &by("owner"), &sid("s1"), &uid("admin"), now()).unwrap_err();
    assert_eq!(err.code(), "inherited_access");
    assert!(err.to_string().contains("admin"), "{err}");
}

#[test]
fn removing_a_space_role_nobody_holds_is_not_found() {
    let snap = staffed();
    assert_eq!(
        remove_space_role(&snap, &by("owner"), &sid("s2"), &uid("member"), now()),
        Err(RuleError::NotFound("space member"))
    );
    assert_eq!(
        remove_space_role(&snap, &by("owner"), &sid("nope"), &uid("member"), now()),
        Err(RuleError::NotFound("space"))
    );
}

#[test]
fn a_participant_leaves_a_space_only_with_confirmation_and_others_cannot_leave() {
    let mut snap = staffed();
    add(&mut snap, "fac", None);
    set_space(&mut snap, "fac", "s1", SpaceRole::Facilitator);
    let s1 = sid("s1");
    assert_eq!(
        leave_space(&snap, &by("member"), &s1, false, now()),
        Err(RuleError::ConfirmationRequired { affected: 1 })
    );
    forbidden(leave_space(&snap, &by("fac"), &s1, true, now()));
    forbidden(leave_space(&snap, &by("admin"), &s1, true, now()));
    forbidden(leave_space(&snap, &Actor::Platform, &s1, true, now()));
    let change = leave_space(&snap, &by("member"), &s1, true, now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::LeftSpace {
            user_id: uid("member"),
            space_id: s1.clone()
        }]
    );
    apply(&mut snap, &change);
    assert_eq!(space_role_of(&snap, "member", "s1"), None);
    assert!(
        is_member(&snap, "member"),
        "leaving a space is not leaving the organization"
    );
    assert_eq!(
        leave_space(&snap, &by("member"), &sid("nope"), true, now()),
        Err(RuleError::NotFound("space"))
    );
}
