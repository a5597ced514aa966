//! SPEC §4 "Who may change whom": Owners, the last Owner, org roles, and
//! nobody granting what they do not hold.

use roster_core::implementation_admin::{
    remove_implementation_admin, set_implementation_admin_enabled,
};
use roster_core::org_roles::change_org_role;
use roster_core::space_roles::{remove_space_role, set_space_role};
use roster_core::status::{deactivate, reactivate, remove_member};
use roster_core::*;

use crate::common::*;

fn role_changed(user: &str, from: Option<OrgRole>, to: Option<OrgRole>) -> Outcome {
    Outcome::RoleChanged {
        user_id: uid(user),
        from,
        to,
        assignment: None,
        kept_space_roles: Vec::new(),
    }
}

#[test]
fn an_owner_can_assign_the_owner_role() {
    let mut snap = staffed();
    let change = change_org_role(&snap, &by("owner"), &uid("admin"), OWNER, None, now()).unwrap();
    assert_eq!(change.outcomes(), [role_changed("admin", ADMIN, OWNER)]);
    apply(&mut snap, &change);
    assert_eq!(role_of(&snap, "admin"), OWNER);
}

#[test]
fn an_admin_cannot_assign_the_owner_role() {
    let snap = staffed();
    for target in ["member", "admin", "ia"] {
        forbidden(change_org_role(
            &snap,
            &by("admin"),
            &uid(target),
            OWNER,
            None,
            now(),
        ));
    }
}

#[test]
fn an_implementation_admin_cannot_assign_the_owner_role() {
    let snap = staffed();
    for target in ["member", "admin"] {
        forbidden(change_org_role(
            &snap,
            &by("ia"),
            &uid(target),
            OWNER,
            None,
            now(),
        ));
    }
}

#[test]
fn an_admin_or_implementation_admin_cannot_invite_an_owner() {
    let snap = staffed();
    for actor in ["admin", "ia"] {
        forbidden(invite(
            &snap,
            actor,
            &["new@example.com"],
            org_role(OrgRole::Owner),
            &[],
            None,
        ));
    }
    let change = invite(
        &snap,
        "owner",
        &["new@example.com"],
        org_role(OrgRole::Owner),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(invited(&change).len(), 1);
}

#[test]
fn only_an_owner_demotes_deactivates_or_removes_an_owner() {
    let snap = staffed();
    let owner2 = uid("owner2");
    for actor in ["admin", "ia"] {
        for role in [ADMIN, None] {
            forbidden(change_org_role(
                &snap,
                &by(actor),
                &owner2,
                role,
                None,
                now(),
            ));
        }
        forbidden(deactivate(&snap, &by(actor), &owner2, now()));
        forbidden(remove_member(&snap, &by(actor), &owner2, now()));
    }
    let owner = by("owner");
    assert_eq!(
        change_org_role(&snap, &owner, &owner2, ADMIN, None, now())
            .unwrap()
            .outcomes(),
        [role_changed("owner2", OWNER, ADMIN)]
    );
    assert_eq!(
        deactivate(&snap, &owner, &owner2, now())
            .unwrap()
            .outcomes(),
        [Outcome::Deactivated {
            user_id: owner2.clone()
        }]
    );
    assert_eq!(
        left(&remove_member(&snap, &owner, &owner2, now()).unwrap()),
        [("owner2".to_string(), LeaveReason::Removed)]
    );
}

#[test]
fn only_an_owner_acts_on_a_deactivated_owner() {
    let mut snap = staffed();
    deactivated(&mut snap, "owner2");
    let owner2 = uid("owner2");
    for actor in ["admin", "ia"] {
        forbidden(reactivate(&snap, &by(actor), &owner2, now()));
        forbidden(remove_member(&snap, &by(actor), &owner2, now()));
        forbidden(change_org_role(
            &snap,
            &by(actor),
            &owner2,
            ADMIN,
            None,
            now(),
        ));
    }
    assert_eq!(
        reactivate(&snap, &by("owner"), &owner2, now())
            .unwrap()
            .outcomes(),
        [Outcome::Reactivated { user_id: owner2 }]
    );
}

#[test]
fn the_last_active_owner_cannot_be_demoted_deactivated_or_removed() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "admin", ADMIN);
    enable_ia(&mut snap, &["example.com"]);
    let owner = uid("owner");
    for actor in [by("owner"), Actor::Platform] {
        for role in [ADMIN, IA, None] {
            let duration = Some(IaDuration::OneMonth).filter(|_| role == IA);
            let result = change_org_role(&snap, &actor, &owner, role, duration, now());
            // Stepping down is one's own right; trading Owner for
            // Implementation Admin is not (it is refused before the count).
            if actor == by("owner") && role == IA {
                forbidden(result);
            } else {
                assert_eq!(result, Err(RuleError::LastOwner), "{actor:?} {role:?}");
            }
        }
        assert_eq!(
            deactivate(&snap, &actor, &owner, now()),
            Err(RuleError::LastOwner)
        );
        assert_eq!(
            remove_member(&snap, &actor, &owner, now()),
            Err(RuleError::LastOwner)
        );
    }
    assert_eq!(RuleError::LastOwner.code(), "last_owner");
}

#[test]
fn a_deactivated_owner_does_not_count_toward_keeping_the_last_active_owner() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "sleeping", OWNER);
    deactivated(&mut snap, "sleeping");
    let (owner, sleeping) = (uid("owner"), uid("sleeping"));
    assert_eq!(
        change_org_role(&snap, &Actor::Platform, &owner, ADMIN, None, now()),
        Err(RuleError::LastOwner)
    );
    assert_eq!(
        deactivate(&snap, &by("owner"), &owner, now()),
        Err(RuleError::LastOwner)
    );
    // The deactivated Owner can still be demoted or removed by the active one.
    assert_eq!(
        change_org_role(&snap, &by("owner"), &sleeping, ADMIN, None, now())
            .unwrap()
            .outcomes(),
        [role_changed("sleeping", OWNER, ADMIN)]
    );
    assert_eq!(
        left(&remove_member(&snap, &by("owner"), &sleeping, now()).unwrap()),
        [("sleeping".to_string(), LeaveReason::Removed)]
    );
}

#[test]
fn with_two_owners_one_can_demote_the_other_and_then_is_the_last() {
    let mut snap = org();
    add(&mut snap, "a", OWNER);
    add(&mut snap, "b", OWNER);
    let change = change_org_role(&snap, &by("a"), &uid("b"), ADMIN, None, now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(role_of(&snap, "b"), ADMIN);
    // b is now an Admin: cannot touch the Owner; a is the last Owner.
    forbidden(change_org_role(
        &snap,
        &by("b"),
        &uid("a"),
        ADMIN,
        None,
        now(),
    ));
    assert_eq!(
        change_org_role(&snap, &by("a"), &uid("a"), None, None, now()),
        Err(RuleError::LastOwner)
    );
    assert_eq!(
        remove_member(&snap, &by("a"), &uid("a"), now()),
        Err(RuleError::LastOwner)
    );
}

#[test]
fn with_two_owners_one_can_deactivate_or_remove_the_other() {
    let mut snap = org();
    add(&mut snap, "a", OWNER);
    add(&mut snap, "b", OWNER);
    let change = deactivate(&snap, &by("a"), &uid("b"), now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(
        deactivate(&snap, &by("a"), &uid("a"), now()),
        Err(RuleError::LastOwner)
    );
    let change = remove_member(&snap, &by("a"), &uid("b"), now()).unwrap();
    apply(&mut snap, &change);
    assert!(!is_member(&snap, "b"));
}

#[test]
fn an_implementation_admin_cannot_be_made_owner() {
    let snap = staffed();
    for actor in [by("owner"), Actor::Platform] {
        forbidden(change_org_role(
            &snap,
            &actor,
            &uid("ia"),
            OWNER,
            None,
            now(),
        ));
    }
}

#[test]
fn nobody_raises_their_own_org_role() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let (ia, admin) = (uid("ia"), uid("admin"));
    forbidden(change_org_role(&snap, &by("ia"), &ia, ADMIN, None, now()));
    forbidden(change_org_role(
        &snap,
        &by("ia"),
        &ia,
        IA,
        Some(IaDuration::Forever),
        now(),
    ));
    forbidden(change_org_role(
        &snap,
        &by("admin"),
        &admin,
        OWNER,
        None,
        now(),
    ));
}

#[test]
fn nobody_raises_or_trades_their_own_role() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "admin", ADMIN);
    add(&mut snap, "ia", IA);
    enable_ia(&mut snap, &["example.com"]);
    // An Implementation Admin making themselves Admin would shed their time limit.
    forbidden(change_org_role(
        &snap,
        &by("ia"),
        &uid("ia"),
        ADMIN,
        None,
        now(),
    ));
    forbidden(change_org_role(
        &snap,
        &by("admin"),
        &uid("admin"),
        IA,
        Some(IaDuration::OneMonth),
        now(),
    ));
}

#[test]
fn an_owner_may_step_down_to_admin_while_another_owner_remains() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "o2", OWNER);
    let change = change_org_role(&snap, &by("o1"), &uid("o1"), ADMIN, None, now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(role_of(&snap, "o1"), ADMIN);
    // The last one cannot.
    assert_eq!(
        change_org_role(&snap, &by("o2"), &uid("o2"), ADMIN, None, now()),
        Err(RuleError::LastOwner)
    );
}

#[test]
fn asking_for_the_role_someone_already_holds_changes_nothing() {
    let snap = staffed();
    let change = change_org_role(&snap, &by("owner"), &uid("admin"), ADMIN, None, now()).unwrap();
    assert!(change.is_empty());
    assert!(change.effects().is_empty());
}

#[test]
fn admins_and_implementation_admins_manage_every_other_membership() {
    for actor in ["owner", "admin", "ia"] {
        let mut snap = staffed();
        add(&mut snap, "other_admin", ADMIN);
        let by_actor = by(actor);
        let change = change_org_role(&snap, &by_actor, &uid("member"), ADMIN, None, now()).unwrap();
        assert_eq!(change.outcomes(), [role_changed("member", None, ADMIN)]);
        apply(&mut snap, &change);
        assert_eq!(role_of(&snap, "member"), ADMIN);
        let change =
            change_org_role(&snap, &by_actor, &uid("other_admin"), None, None, now()).unwrap();
        assert_eq!(
            change.outcomes(),
            [role_changed("other_admin", ADMIN, None)]
        );
        apply(&mut snap, &change);
        assert_eq!(role_of(&snap, "other_admin"), None);
        let change = deactivate(&snap, &by_actor, &uid("member"), now()).unwrap();
        apply(&mut snap, &change);
        assert!(!snap.member(&uid("member")).unwrap().is_active());
        let change = reactivate(&snap, &by_actor, &uid("member"), now()).unwrap();
        apply(&mut snap, &change);
        assert!(snap.member(&uid("member")).unwrap().is_active());
        let change = remove_member(&snap, &by_actor, &uid("member"), now()).unwrap();
        apply(&mut snap, &change);
        assert!(!is_member(&snap, "member"), "{actor}");
    }
}

#[test]
fn demoting_an_org_admin_keeps_their_explicit_space_roles_and_lists_them() {
    let mut snap = staffed();
    set_space(&mut snap, "admin", "s1", SpaceRole::Facilitator);
    set_space(&mut snap, "admin", "s2", SpaceRole::Sponsor);
    let change = change_org_role(&snap, &by("owner"), &uid("admin"), None, None, now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::RoleChanged {
            user_id: uid("admin"),
            from: ADMIN,
            to: None,
            assignment: None,
            kept_space_roles: vec![
                (sid("s1"), SpaceRole::Facilitator),
                (sid("s2"), SpaceRole::Sponsor)
            ],
        }]
    );
    apply(&mut snap, &change);
    assert_eq!(role_of(&snap, "admin"), None);
    assert_eq!(
        space_roles(&snap, "admin"),
        [
            ("s1".to_string(), SpaceRole::Facilitator),
            ("s2".to_string(), SpaceRole::Sponsor)
        ]
    );
}

#[test]
fn an_expired_implementation_admin_manages_nobody_and_is_not_found() {
    let snap = staffed();
    let expiry = ia_expiry(&snap, "ia");
    let member = uid("member");
    forbidden(change_org_role(
        &snap,
        &by("ia"),
        &member,
        ADMIN,
        None,
        expiry,
    ));
    forbidden(deactivate(&snap, &by("ia"), &member, expiry));
    forbidden(set_space_role(
        &snap,
        &by("ia"),
        &sid("s1"),
        &member,
        SpaceRole::Facilitator,
        expiry,
    ));
    assert_eq!(
        deactivate(&snap, &by("owner"), &uid("ia"), expiry),
        Err(RuleError::NotFound("member"))
    );
}

#[test]
fn facilitators_participants_and_sponsors_cannot_manage_anything() {
    for role in [
        SpaceRole::Facilitator,
        SpaceRole::Participant,
        SpaceRole::Sponsor,
    ] {
        let mut snap = staffed();
        enable_ia(&mut snap, &["example.com"]);
        add(&mut snap, "actor", None);
        set_space(&mut snap, "actor", "s1", role);
        add(&mut snap, "target", None);
        set_space(&mut snap, "target", "s1", SpaceRole::Participant);
        deactivated(&mut snap, "admin");
        assert_cannot_manage_anything(&snap, &by("actor"), &format!("{role:?}"));
    }
}

#[test]
fn members_without_roles_strangers_and_deactivated_admins_cannot_manage_anything() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    add(&mut snap, "actor", None);
    add(&mut snap, "target", None);
    set_space(&mut snap, "target", "s1", SpaceRole::Participant);
    add(&mut snap, "fired", ADMIN);
    deactivated(&mut snap, "fired");
    deactivated(&mut snap, "admin");
    for actor in ["actor", "stranger", "fired"] {
        assert_cannot_manage_anything(&snap, &by(actor), actor);
    }
}

/// Every management operation by `actor` is refused as forbidden. The
/// snapshot has a participant `target` in `s1`, an Implementation Admin `ia`
/// and a deactivated `admin`.
fn assert_cannot_manage_anything(snap: &OrgSnapshot, actor: &Actor, who: &str) {
    let target = uid("target");
    let expect = |what: &str, refused: bool| assert!(refused, "{who}: {what}");
    let is_forbidden = |r: Result<Change, RuleError>| matches!(r, Err(RuleError::Forbidden(_)));
    for role in [OWNER, ADMIN, None] {
        expect(
            "change_org_role",
            is_forbidden(change_org_role(snap, actor, &target, role, None, now())),
        );
    }
    expect(
        "change_org_role to implementation_admin",
        is_forbidden(change_org_role(
            snap,
            actor,
            &target,
            IA,
            Some(IaDuration::OneMonth),
            now(),
        )),
    );
    expect(
        "deactivate",
        is_forbidden(deactivate(snap, actor, &target, now())),
    );
    expect(
        "reactivate",
        is_forbidden(reactivate(snap, actor, &uid("admin"), now())),
    );
    expect(
        "remove",
        is_forbidden(remove_member(snap, actor, &target, now())),
    );
    expect(
        "remove_implementation_admin",
        is_forbidden(remove_implementation_admin(
            snap,
            actor,
            &uid("ia"),
            true,
            now(),
        )),
    );
    expect(
        "set_implementation_admin_enabled",
        is_forbidden(set_implementation_admin_enabled(
            snap,
            actor,
            false,
            true,
            now(),
        )),
    );
    for space in ["s1", "s2"] {
        for role in SpaceRole::ALL.iter().copied() {
            expect(
                "set_space_role",
                is_forbidden(set_space_role(
                    snap,
                    actor,
                    &sid(space),
                    &target,
                    role,
                    now(),
                )),
            );
            let r = send(
                snap,
                actor,
                &request(&["x@example.com"], space_role(role), &[space], None),
                now(),
                ttl(),
            );
            expect(
                &format!("invite {role} into {space}: {r:?}"),
                is_forbidden(r),
            );
        }
        expect(
            "remove_space_role",
            is_forbidden(remove_space_role(snap, actor, &sid(space), &target, now())),
        );
    }
    for (role, duration) in [
        (OrgRole::Owner, None),
        (OrgRole::Admin, None),
        (OrgRole::ImplementationAdmin, Some(IaDuration::OneMonth)),
    ] {
        let r = send(
            snap,
            actor,
            &request(&["x@example.com"], org_role(role), &[], duration),
            now(),
            ttl(),
        );
        expect(&format!("invite {role}: {r:?}"), is_forbidden(r));
    }
}
