//! SPEC §3–§7: who may change whom, seats, invitations and the Implementation
//! Admin lifecycle. Each test tries to break one rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, TimeZone, Utc};
use common::*;
use roster_core::invite::{
    accept_invitation, expire_invitations, plan_invitations, resend_invitation, revoke_invitation,
    EmailInput, InvitePlan, InviteRequest, Invitee,
};
use roster_core::manage::{
    change_org_role, deactivate, leave_space, reactivate, remove_implementation_admin,
    remove_member, remove_space_role, set_implementation_admin_enabled, set_space_role,
};
use roster_core::*;

const OWNER: Option<OrgRole> = Some(OrgRole::Owner);
const ADMIN: Option<OrgRole> = Some(OrgRole::Admin);
const IA: Option<OrgRole> = Some(OrgRole::ImplementationAdmin);

fn ttl() -> Duration {
    Duration::days(14)
}

fn next_id() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("id{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn apply_all(snap: &mut OrgSnapshot, effects: &[Effect]) {
    for e in effects {
        snap.apply(e);
    }
}

/// A member with a chosen address (the common helper uses `user@example.com`).
fn add_with_email(snap: &mut OrgSnapshot, user: &str, address: &str, org_role: Option<OrgRole>) {
    let mut m = Member::new(user.into(), email(address), user.into());
    m.org_role = org_role;
    if org_role == IA {
        m.ia = Some(IaAssignment::new(IaDuration::ThreeMonths, now(), None));
    }
    snap.add_member(m);
}

fn deactivated(snap: &mut OrgSnapshot, user: &str) {
    snap.apply(&Effect::SetStatus {
        user_id: user.into(),
        status: MemberStatus::Deactivated,
    });
}

fn seat_limit(snap: &mut OrgSnapshot, limit: u32) {
    let mut settings = snap.settings.clone();
    settings.seat_limit = Some(limit);
    snap.apply(&Effect::SetSettings(settings));
}

fn enable_ia(snap: &mut OrgSnapshot, domains: &[&str]) {
    let mut settings = snap.settings.clone();
    settings.allow_implementation_admin = true;
    settings.ia_domains = DomainAllowlist::parse_all(domains.iter().copied()).unwrap();
    snap.apply(&Effect::SetSettings(settings));
}

fn request(
    emails: &[&str],
    role: Role,
    spaces: &[&str],
    duration: Option<IaDuration>,
) -> InviteRequest {
    InviteRequest {
        emails: EmailInput::List(emails.iter().map(|s| s.to_string()).collect()),
        role,
        space_ids: spaces.iter().map(|s| s.to_string()).collect(),
        duration,
        message: None,
    }
}

fn invite(
    snap: &OrgSnapshot,
    actor: &str,
    emails: &[&str],
    role: Role,
    spaces: &[&str],
    duration: Option<IaDuration>,
) -> Result<InvitePlan, RuleError> {
    plan_invitations(
        snap,
        Actor::User(actor),
        &request(emails, role, spaces, duration),
        now(),
        ttl(),
        &mut next_id,
    )
}

fn org_role(r: OrgRole) -> Role {
    Role::Org(r)
}

fn space_role(r: SpaceRole) -> Role {
    Role::Space(r)
}

fn role_of(snap: &OrgSnapshot, user: &str) -> Option<OrgRole> {
    snap.member(user).unwrap().org_role
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, RuleError>) {
    match result {
        Err(RuleError::Forbidden(_)) => {}
        other => panic!("expected forbidden, got {other:?}"),
    }
}

fn rejected_emails(err: &RuleError) -> Vec<String> {
    let mut v: Vec<String> = err.rejected().iter().map(|r| r.email.clone()).collect();
    v.sort();
    v
}

/// An organization with two Owners, an Admin, an Implementation Admin and a
/// plain member, so no "last Owner" rule hides a permission rule.
fn staffed() -> OrgSnapshot {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "owner2", OWNER);
    add(&mut snap, "admin", ADMIN);
    add(&mut snap, "ia", IA);
    add(&mut snap, "member", None);
    set_space(&mut snap, "member", "s1", SpaceRole::Participant);
    snap
}

// ---------------------------------------------------------------- Owners

#[test]
fn an_owner_can_assign_the_owner_role() {
    let mut snap = staffed();
    let effects =
        change_org_role(&snap, Actor::User("owner"), "admin", OWNER, None, now()).unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(role_of(&snap, "admin"), OWNER);
}

#[test]
fn an_admin_cannot_assign_the_owner_role() {
    let snap = staffed();
    for target in ["member", "admin", "ia"] {
        forbidden(change_org_role(
            &snap,
            Actor::User("admin"),
            target,
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
            Actor::User("ia"),
            target,
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
    assert!(invite(
        &snap,
        "owner",
        &["new@example.com"],
        org_role(OrgRole::Owner),
        &[],
        None
    )
    .is_ok());
}

#[test]
fn only_an_owner_demotes_deactivates_or_removes_an_owner() {
    let snap = staffed();
    for actor in ["admin", "ia"] {
        for role in [ADMIN, None] {
            forbidden(change_org_role(
                &snap,
                Actor::User(actor),
                "owner2",
                role,
                None,
                now(),
            ));
        }
        forbidden(deactivate(&snap, Actor::User(actor), "owner2", now()));
        forbidden(remove_member(&snap, Actor::User(actor), "owner2", now()));
    }
    assert!(change_org_role(&snap, Actor::User("owner"), "owner2", ADMIN, None, now()).is_ok());
    assert!(deactivate(&snap, Actor::User("owner"), "owner2", now()).is_ok());
    assert!(remove_member(&snap, Actor::User("owner"), "owner2", now()).is_ok());
}

#[test]
fn only_an_owner_acts_on_a_deactivated_owner() {
    let mut snap = staffed();
    deactivated(&mut snap, "owner2");
    for actor in ["admin", "ia"] {
        forbidden(reactivate(&snap, Actor::User(actor), "owner2", now()));
        forbidden(remove_member(&snap, Actor::User(actor), "owner2", now()));
        forbidden(change_org_role(
            &snap,
            Actor::User(actor),
            "owner2",
            ADMIN,
            None,
            now(),
        ));
    }
    assert!(reactivate(&snap, Actor::User("owner"), "owner2", now()).is_ok());
}

#[test]
fn the_last_active_owner_cannot_be_demoted_deactivated_or_removed() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "admin", ADMIN);
    for actor in [Actor::User("owner"), Actor::Platform] {
        for role in [ADMIN, IA, None] {
            let result = change_org_role(
                &snap,
                actor,
                "owner",
                role,
                Some(IaDuration::OneMonth).filter(|_| role == IA),
                now(),
            );
            // Oneself with a role is refused earlier ("you cannot change your own role").
            if actor == Actor::Platform || role.is_none() {
                assert_eq!(result, Err(RuleError::LastOwner), "{actor:?} {role:?}");
            } else {
                assert!(result.is_err());
            }
        }
        assert_eq!(
            deactivate(&snap, actor, "owner", now()),
            Err(RuleError::LastOwner)
        );
        assert_eq!(
            remove_member(&snap, actor, "owner", now()),
            Err(RuleError::LastOwner)
        );
    }
}

#[test]
fn a_deactivated_owner_does_not_count_toward_keeping_the_last_active_owner() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "sleeping", OWNER);
    deactivated(&mut snap, "sleeping");
    assert_eq!(
        change_org_role(&snap, Actor::Platform, "owner", ADMIN, None, now()),
        Err(RuleError::LastOwner)
    );
    assert_eq!(
        deactivate(&snap, Actor::User("owner"), "owner", now()),
        Err(RuleError::LastOwner)
    );
    // The deactivated Owner can still be demoted or removed by the active one.
    assert!(change_org_role(&snap, Actor::User("owner"), "sleeping", ADMIN, None, now()).is_ok());
    assert!(remove_member(&snap, Actor::User("owner"), "sleeping", now()).is_ok());
}

#[test]
fn with_two_owners_one_can_demote_the_other_and_then_is_the_last() {
    let mut snap = org();
    add(&mut snap, "a", OWNER);
    add(&mut snap, "b", OWNER);
    let effects = change_org_role(&snap, Actor::User("a"), "b", ADMIN, None, now()).unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(role_of(&snap, "b"), ADMIN);
    // b is now an Admin: cannot touch the Owner; a is the last Owner.
    forbidden(change_org_role(
        &snap,
        Actor::User("b"),
        "a",
        ADMIN,
        None,
        now(),
    ));
    assert_eq!(
        change_org_role(&snap, Actor::User("a"), "a", None, None, now()),
        Err(RuleError::LastOwner)
    );
    assert_eq!(
        remove_member(&snap, Actor::User("a"), "a", now()),
        Err(RuleError::LastOwner)
    );
}

#[test]
fn with_two_owners_one_can_deactivate_or_remove_the_other() {
    let mut snap = org();
    add(&mut snap, "a", OWNER);
    add(&mut snap, "b", OWNER);
    let effects = deactivate(&snap, Actor::User("a"), "b", now()).unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(
        deactivate(&snap, Actor::User("a"), "a", now()),
        Err(RuleError::LastOwner)
    );
    let effects = remove_member(&snap, Actor::User("a"), "b", now()).unwrap();
    apply_all(&mut snap, &effects);
    assert!(snap.member("b").is_none());
}

#[test]
fn an_implementation_admin_cannot_be_made_owner() {
    let snap = staffed();
    for actor in [Actor::User("owner"), Actor::Platform] {
        forbidden(change_org_role(&snap, actor, "ia", OWNER, None, now()));
    }
}

#[test]
fn nobody_raises_their_own_org_role() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    forbidden(change_org_role(
        &snap,
        Actor::User("ia"),
        "ia",
        ADMIN,
        None,
        now(),
    ));
    forbidden(change_org_role(
        &snap,
        Actor::User("ia"),
        "ia",
        IA,
        Some(IaDuration::Forever),
        now(),
    ));
    forbidden(change_org_role(
        &snap,
        Actor::User("admin"),
        "admin",
        OWNER,
        None,
        now(),
    ));
}

#[test]
fn admins_and_implementation_admins_manage_every_other_membership() {
    for actor in ["owner", "admin", "ia"] {
        let mut snap = staffed();
        add(&mut snap, "other_admin", ADMIN);
        let effects =
            change_org_role(&snap, Actor::User(actor), "member", ADMIN, None, now()).unwrap();
        apply_all(&mut snap, &effects);
        assert_eq!(role_of(&snap, "member"), ADMIN);
        let effects =
            change_org_role(&snap, Actor::User(actor), "other_admin", None, None, now()).unwrap();
        apply_all(&mut snap, &effects);
        assert_eq!(role_of(&snap, "other_admin"), None);
        let effects = deactivate(&snap, Actor::User(actor), "member", now()).unwrap();
        apply_all(&mut snap, &effects);
        assert!(!snap.member("member").unwrap().is_active());
        let effects = reactivate(&snap, Actor::User(actor), "member", now()).unwrap();
        apply_all(&mut snap, &effects);
        assert!(snap.member("member").unwrap().is_active());
        let effects = remove_member(&snap, Actor::User(actor), "member", now()).unwrap();
        apply_all(&mut snap, &effects);
        assert!(snap.member("member").is_none());
    }
}

#[test]
fn demoting_an_org_admin_keeps_their_explicit_space_roles() {
    let mut snap = staffed();
    set_space(&mut snap, "admin", "s1", SpaceRole::Facilitator);
    set_space(&mut snap, "admin", "s2", SpaceRole::Sponsor);
    let effects = change_org_role(&snap, Actor::User("owner"), "admin", None, None, now()).unwrap();
    apply_all(&mut snap, &effects);
    let m = snap.member("admin").unwrap();
    assert_eq!(m.org_role, None);
    let kept: Vec<_> = snap.space_roles_of(m).collect();
    assert_eq!(
        kept,
        vec![("s1", SpaceRole::Facilitator), ("s2", SpaceRole::Sponsor)]
    );
}

#[test]
fn an_expired_implementation_admin_manages_nobody_and_is_not_found() {
    let snap = staffed();
    let expiry = snap
        .member("ia")
        .unwrap()
        .ia
        .as_ref()
        .unwrap()
        .expires_at
        .unwrap();
    forbidden(change_org_role(
        &snap,
        Actor::User("ia"),
        "member",
        ADMIN,
        None,
        expiry,
    ));
    forbidden(deactivate(&snap, Actor::User("ia"), "member", expiry));
    forbidden(set_space_role(
        &snap,
        Actor::User("ia"),
        "s1",
        "member",
        SpaceRole::Facilitator,
        expiry,
    ));
    assert_eq!(
        deactivate(&snap, Actor::User("owner"), "ia", expiry),
        Err(RuleError::NotFound("member"))
    );
}

// ---------------------------------------------------------------- Program Admins and space roles

fn with_program_admin() -> OrgSnapshot {
    let mut snap = staffed();
    add(&mut snap, "pa", None);
    set_space(&mut snap, "pa", "s1", SpaceRole::ProgramAdmin);
    add(&mut snap, "target", None);
    snap
}

#[test]
fn a_program_admin_manages_space_roles_only_in_spaces_where_they_are_program_admin() {
    let mut snap = with_program_admin();
    let effects = set_space_role(
        &snap,
        Actor::User("pa"),
        "s1",
        "target",
        SpaceRole::Facilitator,
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(
        snap.space_role(snap.member("target").unwrap(), "s1"),
        Some(SpaceRole::Facilitator)
    );
    let effects = set_space_role(
        &snap,
        Actor::User("pa"),
        "s1",
        "target",
        SpaceRole::Sponsor,
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    let removal = remove_space_role(&snap, Actor::User("pa"), "s1", "target", now()).unwrap();
    assert_eq!(removal.retained_access, None);

    set_space(&mut snap, "target", "s2", SpaceRole::Participant);
    forbidden(set_space_role(
        &snap,
        Actor::User("pa"),
        "s2",
        "target",
        SpaceRole::Facilitator,
        now(),
    ));
    forbidden(remove_space_role(
        &snap,
        Actor::User("pa"),
        "s2",
        "target",
        now(),
    ));
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
    let plan = invite(
        &snap,
        "pa",
        &["new@example.com"],
        space_role(SpaceRole::Facilitator),
        &["s1"],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let effects = accept_invitation(
        &snap,
        &plan.invitations[0].id,
        &Invitee {
            user_id: "new".into(),
            name: "New".into(),
        },
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    let m = snap.member("new").unwrap();
    assert_eq!(m.org_role, None);
    assert_eq!(snap.space_role(m, "s1"), Some(SpaceRole::Facilitator));
}

#[test]
fn a_program_admin_never_manages_org_roles() {
    let mut snap = with_program_admin();
    enable_ia(&mut snap, &["example.com"]);
    for role in [OWNER, ADMIN, None] {
        forbidden(change_org_role(
            &snap,
            Actor::User("pa"),
            "target",
            role,
            None,
            now(),
        ));
    }
    forbidden(change_org_role(
        &snap,
        Actor::User("pa"),
        "target",
        IA,
        Some(IaDuration::OneMonth),
        now(),
    ));
    forbidden(change_org_role(
        &snap,
        Actor::User("pa"),
        "admin",
        None,
        None,
        now(),
    ));
    forbidden(deactivate(&snap, Actor::User("pa"), "target", now()));
    forbidden(remove_member(&snap, Actor::User("pa"), "target", now()));
    forbidden(remove_implementation_admin(
        &snap,
        Actor::User("pa"),
        "ia",
        now(),
    ));
    forbidden(set_implementation_admin_enabled(
        &snap,
        Actor::User("pa"),
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
        assert_cannot_manage_anything(&snap, Actor::User("actor"), &format!("{role:?}"));
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
        assert_cannot_manage_anything(&snap, Actor::User(actor), actor);
    }
}

/// Every management operation by `actor` is refused as forbidden. The
/// snapshot has a participant `target` in `s1`, an Implementation Admin `ia`
/// and a deactivated `admin`.
fn assert_cannot_manage_anything(snap: &OrgSnapshot, actor: Actor<'_>, who: &str) {
    let ctx = |what: &str| format!("{who}: {what}");
    for role in [OWNER, ADMIN, None] {
        assert!(
            matches!(
                change_org_role(snap, actor, "target", role, None, now()),
                Err(RuleError::Forbidden(_))
            ),
            "{}",
            ctx("change_org_role")
        );
    }
    assert!(matches!(
        change_org_role(snap, actor, "target", IA, Some(IaDuration::OneMonth), now()),
        Err(RuleError::Forbidden(_))
    ));
    assert!(
        matches!(
            deactivate(snap, actor, "target", now()),
            Err(RuleError::Forbidden(_))
        ),
        "{}",
        ctx("deactivate")
    );
    assert!(
        matches!(
            reactivate(snap, actor, "admin", now()),
            Err(RuleError::Forbidden(_))
        ),
        "{}",
        ctx("reactivate")
    );
    assert!(
        matches!(
            remove_member(snap, actor, "target", now()),
            Err(RuleError::Forbidden(_))
        ),
        "{}",
        ctx("remove")
    );
    assert!(matches!(
        remove_implementation_admin(snap, actor, "ia", now()),
        Err(RuleError::Forbidden(_))
    ));
    assert!(matches!(
        set_implementation_admin_enabled(snap, actor, false, true, now()),
        Err(RuleError::Forbidden(_))
    ));
    for space in ["s1", "s2"] {
        for role in SpaceRole::ALL {
            assert!(
                matches!(
                    set_space_role(snap, actor, space, "target", role, now()),
                    Err(RuleError::Forbidden(_))
                ),
                "{}",
                ctx("set_space_role")
            );
            let r = plan_invitations(
                snap,
                actor,
                &request(&["x@example.com"], space_role(role), &[space], None),
                now(),
                ttl(),
                &mut next_id,
            );
            assert!(
                matches!(r, Err(RuleError::Forbidden(_))),
                "{}: {r:?}",
                ctx("invite space role")
            );
        }
        assert!(
            matches!(
                remove_space_role(snap, actor, space, "target", now()),
                Err(RuleError::Forbidden(_))
            ),
            "{}",
            ctx("remove_space_role")
        );
    }
    for (role, duration) in [
        (OrgRole::Owner, None),
        (OrgRole::Admin, None),
        (OrgRole::ImplementationAdmin, Some(IaDuration::OneMonth)),
    ] {
        let r = plan_invitations(
            snap,
            actor,
            &request(&["x@example.com"], org_role(role), &[], duration),
            now(),
            ttl(),
            &mut next_id,
        );
        assert!(
            matches!(r, Err(RuleError::Forbidden(_))),
            "{}: {r:?}",
            ctx("invite org role")
        );
    }
}

#[test]
fn removing_a_space_role_when_access_also_comes_from_the_org_role_answers_retained_access() {
    for org in [OrgRole::Owner, OrgRole::Admin, OrgRole::ImplementationAdmin] {
        let mut snap = staffed();
        add(&mut snap, "x", Some(org));
        set_space(&mut snap, "x", "s1", SpaceRole::Participant);
        let removal = remove_space_role(&snap, Actor::User("owner"), "s1", "x", now()).unwrap();
        assert_eq!(removal.retained_access, Some(org));
        apply_all(&mut snap, &removal.effects);
        assert_eq!(snap.space_role(snap.member("x").unwrap(), "s1"), None);
        // Still reaches the space, now with the admin tier.
        let d = decide(
            &snap,
            "x",
            Action::ActivityEdit,
            Resource::Space("s1"),
            now(),
        );
        assert!(d.allowed);
        assert_eq!(d.rule, Rule::OrgAdminTier);
    }
}

#[test]
fn removing_the_only_space_role_of_someone_without_an_org_role_retains_nothing() {
    let mut snap = staffed();
    let removal = remove_space_role(&snap, Actor::User("admin"), "s1", "member", now()).unwrap();
    assert_eq!(removal.retained_access, None);
    apply_all(&mut snap, &removal.effects);
    assert!(
        !decide(
            &snap,
            "member",
            Action::SpaceView,
            Resource::Space("s1"),
            now()
        )
        .allowed
    );
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
            remove_space_role(&snap, Actor::User("owner"), "s1", user, now()),
            Err(RuleError::InheritedAccess { org_role: role })
        );
    }
    let err = remove_space_role(&snap, Actor::User("owner"), "s1", "admin", now()).unwrap_err();
    assert_eq!(err.code(), "inherited_access");
    assert!(err.to_string().contains("admin"), "{err}");
}

#[test]
fn removing_a_space_role_nobody_holds_is_not_found() {
    let snap = staffed();
    assert_eq!(
        remove_space_role(&snap, Actor::User("owner"), "s2", "member", now()),
        Err(RuleError::NotFound("space member"))
    );
    assert_eq!(
        remove_space_role(&snap, Actor::User("owner"), "nope", "member", now()),
        Err(RuleError::NotFound("space"))
    );
}

#[test]
fn a_participant_leaves_a_space_only_with_confirmation_and_others_cannot_leave() {
    let mut snap = staffed();
    add(&mut snap, "fac", None);
    set_space(&mut snap, "fac", "s1", SpaceRole::Facilitator);
    assert_eq!(
        leave_space(&snap, "member", "s1", false, now()),
        Err(RuleError::ConfirmationRequired { affected: 1 })
    );
    forbidden(leave_space(&snap, "fac", "s1", true, now()));
    forbidden(leave_space(&snap, "admin", "s1", true, now()));
    let effects = leave_space(&snap, "member", "s1", true, now()).unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(snap.space_role(snap.member("member").unwrap(), "s1"), None);
}

// ---------------------------------------------------------------- Seats

/// An Owner using the only seats there are: limit 1.
fn full_org() -> OrgSnapshot {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    seat_limit(&mut snap, 1);
    snap
}

fn usage(snap: &OrgSnapshot) -> (u32, u32) {
    let u = snap.seat_usage(now());
    (u.used, u.reserved)
}

#[test]
fn an_invitation_for_a_seat_using_role_is_refused_when_no_seat_is_free() {
    let snap = full_org();
    for (role, spaces) in [
        (org_role(OrgRole::Admin), &[][..]),
        (space_role(SpaceRole::ProgramAdmin), &["s1"][..]),
        (space_role(SpaceRole::Facilitator), &["s1"][..]),
        (space_role(SpaceRole::Sponsor), &["s1"][..]),
    ] {
        assert_eq!(
            invite(&snap, "owner", &["a@example.com"], role, spaces, None),
            Err(RuleError::SeatLimitReached { limit: 1 }),
            "{role:?}"
        );
    }
}

#[test]
fn pending_invitations_reserve_seats() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let plan = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    assert_eq!(usage(&snap), (1, 1));
    assert_eq!(
        invite(
            &snap,
            "owner",
            &["b@example.com"],
            space_role(SpaceRole::Facilitator),
            &["s1"],
            None
        ),
        Err(RuleError::SeatLimitReached { limit: 2 })
    );
    // Nor may an existing member take the reserved seat.
    add(&mut snap, "m", None);
    assert_eq!(
        set_space_role(
            &snap,
            Actor::User("owner"),
            "s1",
            "m",
            SpaceRole::Facilitator,
            now()
        ),
        Err(RuleError::SeatLimitReached { limit: 2 })
    );
    // Revoking frees the reservation.
    let revoked =
        revoke_invitation(&snap, Actor::User("owner"), &plan.invitations[0].id, now()).unwrap();
    snap.apply(&Effect::PutInvitation(revoked));
    assert_eq!(usage(&snap), (1, 0));
    assert!(set_space_role(
        &snap,
        Actor::User("owner"),
        "s1",
        "m",
        SpaceRole::Facilitator,
        now()
    )
    .is_ok());
}

#[test]
fn an_expired_pending_invitation_reserves_no_seat() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let plan = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let later = now() + ttl();
    assert_eq!(snap.seat_usage(later).reserved, 0);
    let expired = expire_invitations(&snap, later);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].status, InvitationStatus::Expired);
}

#[test]
fn a_batch_that_does_not_fit_is_refused_whole() {
    let mut snap = full_org();
    seat_limit(&mut snap, 3);
    let emails = ["a@example.com", "b@example.com", "c@example.com"];
    assert_eq!(
        invite(&snap, "owner", &emails, org_role(OrgRole::Admin), &[], None),
        Err(RuleError::SeatLimitReached { limit: 3 })
    );
    assert_eq!(usage(&snap), (1, 0));
    let plan = invite(
        &snap,
        "owner",
        &emails[..2],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    assert_eq!(usage(&snap), (1, 2));
}

#[test]
fn one_person_uses_one_seat_however_many_roles_they_hold() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "a", ADMIN);
    seat_limit(&mut snap, 2);
    for (space, role) in [
        ("s1", SpaceRole::Facilitator),
        ("s2", SpaceRole::ProgramAdmin),
    ] {
        let effects = set_space_role(&snap, Actor::User("owner"), space, "a", role, now()).unwrap();
        apply_all(&mut snap, &effects);
        let effects = set_space_role(
            &snap,
            Actor::User("owner"),
            space,
            "owner",
            SpaceRole::Sponsor,
            now(),
        )
        .unwrap();
        apply_all(&mut snap, &effects);
    }
    assert_eq!(usage(&snap), (2, 0));
    // A person with a pending seat invitation does not reserve a second seat.
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let plan = invite(
        &snap,
        "owner",
        &["a@example.com"],
        space_role(SpaceRole::Facilitator),
        &["s1"],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let plan = invite(
        &snap,
        "owner",
        &["a@example.com"],
        space_role(SpaceRole::Sponsor),
        &["s2"],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    assert_eq!(usage(&snap), (1, 1));
    // The same address twice in one batch is one person.
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let plan = invite(
        &snap,
        "owner",
        &["a@example.com", "A@Example.COM"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(plan.invitations.len(), 1);
}

#[test]
fn an_implementation_admin_never_uses_a_seat() {
    let mut snap = full_org();
    enable_ia(&mut snap, &["example.com"]);
    add(&mut snap, "m", None);
    let plan = invite(
        &snap,
        "owner",
        &["ia@example.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::OneMonth),
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    assert_eq!(usage(&snap), (1, 0));
    let effects = accept_invitation(
        &snap,
        &plan.invitations[0].id,
        &Invitee {
            user_id: "ia".into(),
            name: "IA".into(),
        },
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(usage(&snap), (1, 0));
    let effects = change_org_role(
        &snap,
        Actor::User("owner"),
        "m",
        IA,
        Some(IaDuration::Forever),
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(usage(&snap), (1, 0));
    // Removing one frees nothing either.
    let effects = remove_implementation_admin(&snap, Actor::User("owner"), "ia", now()).unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(usage(&snap), (1, 0));
}

#[test]
fn a_participant_never_uses_a_seat() {
    let mut snap = full_org();
    add(&mut snap, "m", None);
    let plan = invite(
        &snap,
        "owner",
        &["p1@example.com", "p2@example.com"],
        space_role(SpaceRole::Participant),
        &["s1", "s2"],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let effects = set_space_role(
        &snap,
        Actor::User("owner"),
        "s1",
        "m",
        SpaceRole::Participant,
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(usage(&snap), (1, 0));
    assert_eq!(
        set_space_role(
            &snap,
            Actor::User("owner"),
            "s2",
            "m",
            SpaceRole::Facilitator,
            now()
        ),
        Err(RuleError::SeatLimitReached { limit: 1 })
    );
}

#[test]
fn a_sponsor_uses_a_seat_by_default() {
    let mut snap = full_org();
    add(&mut snap, "m", None);
    assert_eq!(
        set_space_role(
            &snap,
            Actor::User("owner"),
            "s1",
            "m",
            SpaceRole::Sponsor,
            now()
        ),
        Err(RuleError::SeatLimitReached { limit: 1 })
    );
}

#[test]
fn a_role_change_that_needs_a_seat_is_refused_at_the_limit() {
    let mut snap = full_org();
    add(&mut snap, "m", None);
    set_space(&mut snap, "m", "s1", SpaceRole::Participant);
    assert_eq!(
        change_org_role(&snap, Actor::User("owner"), "m", ADMIN, None, now()),
        Err(RuleError::SeatLimitReached { limit: 1 })
    );
}

#[test]
fn deactivating_frees_the_seat_and_reactivating_needs_a_free_one() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "a", ADMIN);
    add(&mut snap, "b", None);
    seat_limit(&mut snap, 2);
    let effects = deactivate(&snap, Actor::User("owner"), "a", now()).unwrap();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::RevokeTokens { user_id, .. } if user_id == "a")));
    apply_all(&mut snap, &effects);
    assert_eq!(usage(&snap), (1, 0));
    // Roles are kept while deactivated, and everything is denied.
    assert_eq!(role_of(&snap, "a"), ADMIN);
    assert!(
        !decide(
            &snap,
            "a",
            Action::MembersView,
            Resource::Organization,
            now()
        )
        .allowed
    );
    let effects = change_org_role(&snap, Actor::User("owner"), "b", ADMIN, None, now()).unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(
        reactivate(&snap, Actor::User("owner"), "a", now()),
        Err(RuleError::SeatLimitReached { limit: 2 })
    );
    let effects = change_org_role(&snap, Actor::User("owner"), "b", None, None, now()).unwrap();
    apply_all(&mut snap, &effects);
    let effects = reactivate(&snap, Actor::User("owner"), "a", now()).unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(usage(&snap), (2, 0));
}

#[test]
fn reactivating_someone_who_holds_no_seat_role_needs_no_seat() {
    let mut snap = full_org();
    add(&mut snap, "p", None);
    set_space(&mut snap, "p", "s1", SpaceRole::Participant);
    deactivated(&mut snap, "p");
    assert!(reactivate(&snap, Actor::User("owner"), "p", now()).is_ok());
}

#[test]
fn accepting_an_invitation_takes_its_reserved_seat_and_no_other() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let plan = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let effects = accept_invitation(
        &snap,
        &plan.invitations[0].id,
        &Invitee {
            user_id: "a".into(),
            name: "A".into(),
        },
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(usage(&snap), (2, 0));
}

// ---------------------------------------------------------------- Invitations

#[test]
fn an_invitation_batch_is_all_or_nothing_and_names_every_invalid_address() {
    let snap = staffed();
    let err = invite(
        &snap,
        "owner",
        &[
            "good@example.com",
            "no-at-sign",
            "two@@example.com",
            "fine@example.org",
            "bad@x..com",
        ],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    assert_eq!(
        rejected_emails(&err),
        vec!["bad@x..com", "no-at-sign", "two@@example.com"]
    );
}

#[test]
fn a_batch_with_an_existing_member_is_refused_whole_naming_every_member() {
    let snap = staffed();
    let err = invite(
        &snap,
        "owner",
        &["new@example.com", "admin@example.com", "MEMBER@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "already_member");
    assert_eq!(
        rejected_emails(&err),
        vec!["admin@example.com", "member@example.com"]
    );
}

#[test]
fn a_batch_failing_different_rules_names_every_failing_address() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["upcoach.com"]);
    add_with_email(&mut snap, "partner", "p@upcoach.com", None);
    let err = invite(
        &snap,
        "owner",
        &[
            "ok@upcoach.com",
            "typo@@upcoach.com",
            "x@outside.com",
            "p@upcoach.com",
        ],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::OneMonth),
    )
    .unwrap_err();
    assert_eq!(
        rejected_emails(&err),
        vec!["p@upcoach.com", "typo@@upcoach.com", "x@outside.com"],
        "{err:?}"
    );
    let codes: Vec<_> = {
        let mut v: Vec<_> = err.rejected().iter().map(|r| r.code).collect();
        v.sort();
        v
    };
    assert_eq!(
        codes,
        vec!["already_member", "domain_not_allowed", "validation_failed"]
    );
    // Without the typo, the domain failure leads and still names the member.
    let err = invite(
        &snap,
        "owner",
        &["ok@upcoach.com", "x@outside.com", "p@upcoach.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::OneMonth),
    )
    .unwrap_err();
    assert_eq!(err.code(), "domain_not_allowed");
    assert_eq!(
        rejected_emails(&err),
        vec!["p@upcoach.com", "x@outside.com"]
    );
}

#[test]
fn pasted_text_separated_by_commas_semicolons_spaces_and_new_lines_is_one_batch() {
    let snap = staffed();
    let req = InviteRequest {
        emails: EmailInput::Text(
            "a@example.com, b@example.com;c@example.com d@example.com\ne@example.com".into(),
        ),
        role: space_role(SpaceRole::Participant),
        space_ids: vec!["s1".into()],
        duration: None,
        message: Some("Welcome".into()),
    };
    let plan = plan_invitations(
        &snap,
        Actor::User("admin"),
        &req,
        now(),
        ttl(),
        &mut next_id,
    )
    .unwrap();
    let emails: Vec<_> = plan.invitations.iter().map(|i| i.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com"
        ]
    );
    assert!(plan.invitations.iter().all(|i| i.batch_id == plan.batch_id
        && i.status == InvitationStatus::Pending
        && i.send_count == 1
        && i.invited_by.as_deref() == Some("admin")
        && i.expires_at == now() + ttl()));
}

#[test]
fn implementation_admin_invitations_must_match_the_domain_allowlist_exactly_or_by_subdomain() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["upcoach.com", "*.partner.io"]);
    let allowed = [
        "a@upcoach.com",
        "B@UPCOACH.COM",
        "c@eu.partner.io",
        "d@deep.eu.partner.io",
        "e@upcoach.com.",
    ];
    let refused = [
        "x@partner.io",
        "y@evilupcoach.com",
        "z@upcoach.com.evil.com",
        "w@sub.upcoach.com",
        "v@notpartner.io",
    ];
    let ia = org_role(OrgRole::ImplementationAdmin);
    let d = Some(IaDuration::ThreeMonths);
    let plan = invite(&snap, "admin", &allowed, ia, &[], d).unwrap();
    assert_eq!(plan.invitations.len(), 5, "{:?}", plan.invitations);
    let mut batch: Vec<&str> = allowed.to_vec();
    batch.extend(refused);
    match invite(&snap, "admin", &batch, ia, &[], d) {
        Err(err @ RuleError::DomainNotAllowed { .. }) => {
            let RuleError::DomainNotAllowed { allowed, .. } = &err else {
                unreachable!()
            };
            let mut allowed = allowed.clone();
            allowed.sort();
            assert_eq!(allowed, vec!["*.partner.io", "upcoach.com"]);
            let mut expected: Vec<String> = refused.iter().map(|s| s.to_string()).collect();
            expected.sort();
            assert_eq!(rejected_emails(&err), expected);
            assert!(err
                .rejected()
                .iter()
                .all(|r| r.code == "domain_not_allowed"));
        }
        other => panic!("expected domain_not_allowed, got {other:?}"),
    }
}

#[test]
fn an_empty_allowlist_allows_no_implementation_admin() {
    let mut snap = staffed();
    enable_ia(&mut snap, &[]);
    let r = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::OneMonth),
    );
    assert_eq!(r.unwrap_err().code(), "domain_not_allowed");
}

#[test]
fn implementation_admins_cannot_be_invited_or_assigned_while_the_toggle_is_off() {
    let snap = staffed();
    assert!(!snap.settings.allow_implementation_admin, "off by default");
    assert_eq!(
        invite(
            &snap,
            "owner",
            &["a@example.com"],
            org_role(OrgRole::ImplementationAdmin),
            &[],
            Some(IaDuration::OneMonth)
        ),
        Err(RuleError::ImplementationAdminDisabled)
    );
    assert_eq!(
        change_org_role(
            &snap,
            Actor::User("owner"),
            "member",
            IA,
            Some(IaDuration::OneMonth),
            now()
        ),
        Err(RuleError::ImplementationAdminDisabled)
    );
}

#[test]
fn assigning_implementation_admin_by_role_change_follows_the_domain_rule() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["upcoach.com"]);
    add_with_email(&mut snap, "partner", "p@upcoach.com", None);
    assert_eq!(
        change_org_role(
            &snap,
            Actor::User("admin"),
            "member",
            IA,
            Some(IaDuration::OneMonth),
            now()
        )
        .unwrap_err()
        .code(),
        "domain_not_allowed"
    );
    let effects = change_org_role(
        &snap,
        Actor::User("admin"),
        "partner",
        IA,
        Some(IaDuration::TwoMonths),
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    let m = snap.member("partner").unwrap();
    assert_eq!(m.org_role, IA);
    let ia = m.ia.as_ref().unwrap();
    assert_eq!(ia.invited_by.as_deref(), Some("admin"));
    assert_eq!(
        ia.expires_at,
        Some(Utc.with_ymd_and_hms(2027, 1, 23, 12, 0, 0).unwrap())
    );
}

#[test]
fn a_duration_is_required_for_implementation_admin_and_refused_for_every_other_role() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let r = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        None,
    );
    assert!(
        matches!(
            r,
            Err(RuleError::Validation {
                field: "duration",
                ..
            })
        ),
        "{r:?}"
    );
    for (role, spaces) in [
        (org_role(OrgRole::Owner), &[][..]),
        (org_role(OrgRole::Admin), &[][..]),
        (space_role(SpaceRole::ProgramAdmin), &["s1"][..]),
        (space_role(SpaceRole::Participant), &["s1"][..]),
    ] {
        let r = invite(
            &snap,
            "owner",
            &["a@example.com"],
            role,
            spaces,
            Some(IaDuration::Forever),
        );
        assert!(
            matches!(
                r,
                Err(RuleError::Validation {
                    field: "duration",
                    ..
                })
            ),
            "{role:?}: {r:?}"
        );
    }
    let r = change_org_role(&snap, Actor::User("owner"), "member", IA, None, now());
    assert!(
        matches!(
            r,
            Err(RuleError::Validation {
                field: "duration",
                ..
            })
        ),
        "{r:?}"
    );
    let r = change_org_role(
        &snap,
        Actor::User("owner"),
        "member",
        ADMIN,
        Some(IaDuration::OneMonth),
        now(),
    );
    assert!(
        matches!(
            r,
            Err(RuleError::Validation {
                field: "duration",
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn inviting_an_existing_member_into_a_space_adds_the_space_role_at_once() {
    let mut snap = staffed();
    let plan = invite(
        &snap,
        "owner",
        &["admin@example.com"],
        space_role(SpaceRole::Facilitator),
        &["s1", "s2"],
        None,
    )
    .unwrap();
    assert_eq!(plan.invitations[0].status, InvitationStatus::Accepted);
    apply_all(&mut snap, &plan.effects);
    let m = snap.member("admin").unwrap();
    assert_eq!(snap.space_role(m, "s1"), Some(SpaceRole::Facilitator));
    assert_eq!(snap.space_role(m, "s2"), Some(SpaceRole::Facilitator));
    assert_eq!(snap.pending_invitations().count(), 0);
}

#[test]
fn inviting_an_existing_member_to_an_org_role_fails_with_already_member() {
    let snap = staffed();
    let err = invite(
        &snap,
        "owner",
        &["member@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "already_member");
    assert_eq!(rejected_emails(&err), vec!["member@example.com"]);
}

#[test]
fn space_role_invitations_name_existing_spaces_and_org_role_invitations_none() {
    let snap = staffed();
    let r = invite(
        &snap,
        "owner",
        &["a@example.com"],
        space_role(SpaceRole::Participant),
        &[],
        None,
    );
    assert!(
        matches!(
            r,
            Err(RuleError::Validation {
                field: "space_ids",
                ..
            })
        ),
        "{r:?}"
    );
    let r = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &["s1"],
        None,
    );
    assert!(
        matches!(
            r,
            Err(RuleError::Validation {
                field: "space_ids",
                ..
            })
        ),
        "{r:?}"
    );
    let r = invite(
        &snap,
        "owner",
        &["a@example.com"],
        space_role(SpaceRole::Participant),
        &["nope"],
        None,
    );
    assert_eq!(r, Err(RuleError::NotFound("space")));
}

// ---------------------------------------------------------------- The Implementation Admin toggle

fn with_two_ias() -> OrgSnapshot {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    add(&mut snap, "ia2", IA);
    deactivated(&mut snap, "ia2");
    snap
}

#[test]
fn turning_the_toggle_off_without_confirmation_answers_confirmation_required_with_the_count() {
    let snap = with_two_ias();
    assert_eq!(
        set_implementation_admin_enabled(&snap, Actor::User("owner"), false, false, now()),
        Err(RuleError::ConfirmationRequired { affected: 2 })
    );
}

#[test]
fn turning_the_toggle_off_with_confirmation_removes_every_implementation_admin() {
    let mut snap = with_two_ias();
    let plan = invite(
        &snap,
        "owner",
        &["later@example.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::OneMonth),
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let pending_id = plan.invitations[0].id.clone();
    let outcome =
        set_implementation_admin_enabled(&snap, Actor::User("admin"), false, true, now()).unwrap();
    assert_eq!(outcome.removed, vec!["ia".to_string(), "ia2".to_string()]);
    assert_eq!(outcome.revoked_invitations, vec![pending_id.clone()]);
    for user in ["ia", "ia2"] {
        assert!(outcome
            .effects
            .iter()
            .any(|e| matches!(e, Effect::RevokeTokens { user_id, .. } if user_id == user)));
    }
    apply_all(&mut snap, &outcome.effects);
    assert!(!snap.settings.allow_implementation_admin);
    assert!(snap.member("ia").is_none() && snap.member("ia2").is_none());
    assert!(snap.members().all(|m| m.org_role != IA));
    assert!(snap.invitation(&pending_id).is_none());
    // The Admin and the Owners stay.
    assert_eq!(role_of(&snap, "admin"), ADMIN);
}

#[test]
fn turning_the_toggle_off_with_no_implementation_admins_needs_no_confirmation() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    enable_ia(&mut snap, &["example.com"]);
    let outcome =
        set_implementation_admin_enabled(&snap, Actor::User("owner"), false, false, now()).unwrap();
    assert!(outcome.removed.is_empty());
    apply_all(&mut snap, &outcome.effects);
    assert!(!snap.settings.allow_implementation_admin);
}

#[test]
fn an_implementation_admin_invitation_cannot_be_accepted_once_the_toggle_is_off() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let plan = invite(
        &snap,
        "owner",
        &["x@example.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::OneMonth),
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    // Turned off behind the rules' back (e.g. an older replica): still refused.
    let mut settings = snap.settings.clone();
    settings.allow_implementation_admin = false;
    snap.apply(&Effect::SetSettings(settings));
    let invitee = Invitee {
        user_id: "x".into(),
        name: "X".into(),
    };
    assert_eq!(
        accept_invitation(&snap, &plan.invitations[0].id, &invitee, now()),
        Err(RuleError::ImplementationAdminDisabled)
    );
    assert_eq!(
        resend_invitation(
            &snap,
            Actor::User("owner"),
            &plan.invitations[0].id,
            now(),
            ttl()
        ),
        Err(RuleError::ImplementationAdminDisabled)
    );
}

#[test]
fn removing_an_implementation_admin_early_removes_them_and_revokes_their_tokens() {
    let mut snap = staffed();
    set_space(&mut snap, "ia", "s1", SpaceRole::ProgramAdmin);
    let effects = remove_implementation_admin(&snap, Actor::User("admin"), "ia", now()).unwrap();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::RevokeTokens { user_id, .. } if user_id == "ia")));
    apply_all(&mut snap, &effects);
    assert!(snap.member("ia").is_none());
    assert_eq!(
        snap.space_members("s1")
            .iter()
            .filter(|(m, _)| m.user_id == "ia")
            .count(),
        0
    );
    let r = remove_implementation_admin(&snap, Actor::User("owner"), "admin", now());
    assert_eq!(r.unwrap_err().code(), "not_implementation_admin");
}

#[test]
fn removing_a_member_deletes_their_space_roles_and_revokes_tokens() {
    let mut snap = staffed();
    set_space(&mut snap, "admin", "s2", SpaceRole::Facilitator);
    let effects = remove_member(&snap, Actor::User("owner"), "admin", now()).unwrap();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::RevokeTokens { .. })));
    apply_all(&mut snap, &effects);
    assert!(snap.member("admin").is_none());
    assert!(snap.member_by_email(&email("admin@example.com")).is_none());
    assert!(snap.space_members("s2").is_empty());
}

// ---------------------------------------------------------------- Accepting

fn accept(snap: &mut OrgSnapshot, id: &str, user: &str, at: Timestamp) -> Result<(), RuleError> {
    let effects = accept_invitation(
        snap,
        id,
        &Invitee {
            user_id: user.into(),
            name: user.into(),
        },
        at,
    )?;
    apply_all(snap, &effects);
    Ok(())
}

#[test]
fn accepting_creates_the_membership_with_the_invited_role() {
    let mut snap = staffed();
    for (address, user, role) in [
        ("o@example.com", "o", OrgRole::Owner),
        ("a@example.com", "a", OrgRole::Admin),
    ] {
        let plan = invite(&snap, "owner", &[address], org_role(role), &[], None).unwrap();
        apply_all(&mut snap, &plan.effects);
        accept(&mut snap, &plan.invitations[0].id, user, now()).unwrap();
        let m = snap.member(user).unwrap();
        assert_eq!(m.org_role, Some(role));
        assert!(m.ia.is_none());
        assert!(m.is_active());
        assert_eq!(m.email, email(address));
        assert!(
            snap.invitation(&plan.invitations[0].id).is_none(),
            "no longer pending"
        );
    }
    let plan = invite(
        &snap,
        "owner",
        &["s@example.com"],
        space_role(SpaceRole::Sponsor),
        &["s1", "s2"],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    accept(&mut snap, &plan.invitations[0].id, "s", now()).unwrap();
    let m = snap.member("s").unwrap();
    assert_eq!(m.org_role, None);
    let roles: Vec<_> = snap.space_roles_of(m).collect();
    assert_eq!(
        roles,
        vec![("s1", SpaceRole::Sponsor), ("s2", SpaceRole::Sponsor)]
    );
}

#[test]
fn an_implementation_admin_term_counts_calendar_months_from_acceptance() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let invited_at = Utc.with_ymd_and_hms(2027, 1, 10, 8, 0, 0).unwrap();
    let accepted_at = Utc.with_ymd_and_hms(2027, 1, 31, 9, 30, 0).unwrap();
    let plan = plan_invitations(
        &snap,
        Actor::User("admin"),
        &request(
            &["x@example.com"],
            org_role(OrgRole::ImplementationAdmin),
            &[],
            Some(IaDuration::OneMonth),
        ),
        invited_at,
        ttl() * 3,
        &mut next_id,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    accept(&mut snap, &plan.invitations[0].id, "x", accepted_at).unwrap();
    let m = snap.member("x").unwrap();
    assert_eq!(m.org_role, IA);
    let ia = m.ia.as_ref().unwrap();
    assert_eq!(ia.assigned_at, accepted_at);
    assert_eq!(ia.duration, IaDuration::OneMonth);
    assert_eq!(ia.invited_by.as_deref(), Some("admin"));
    assert_eq!(
        ia.expires_at,
        Some(Utc.with_ymd_and_hms(2027, 2, 28, 9, 30, 0).unwrap())
    );

    let plan = plan_invitations(
        &snap,
        Actor::User("admin"),
        &request(
            &["y@example.com"],
            org_role(OrgRole::ImplementationAdmin),
            &[],
            Some(IaDuration::SixMonths),
        ),
        invited_at,
        ttl() * 3,
        &mut next_id,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    accept(&mut snap, &plan.invitations[0].id, "y", accepted_at).unwrap();
    let y = snap.member("y").unwrap().ia.clone().unwrap();
    assert_eq!(
        y.expires_at,
        Some(Utc.with_ymd_and_hms(2027, 7, 31, 9, 30, 0).unwrap())
    );
}

#[test]
fn a_forever_implementation_admin_never_expires() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let plan = invite(
        &snap,
        "owner",
        &["x@example.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::Forever),
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    accept(&mut snap, &plan.invitations[0].id, "x", now()).unwrap();
    let m = snap.member("x").unwrap();
    assert_eq!(m.ia.as_ref().unwrap().expires_at, None);
    let far = now() + Duration::days(365 * 30);
    assert!(
        decide(
            &snap,
            "x",
            Action::MembersInvite,
            Resource::Organization,
            far
        )
        .allowed
    );
}

#[test]
fn an_expired_or_revoked_invitation_cannot_be_accepted() {
    let mut snap = staffed();
    let plan = invite(
        &snap,
        "owner",
        &["a@example.com", "b@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let (a, b) = (
        plan.invitations[0].id.clone(),
        plan.invitations[1].id.clone(),
    );
    let r = accept(&mut snap, &a, "a", now() + ttl());
    assert_eq!(r.unwrap_err().code(), "invitation_not_pending");
    let revoked = revoke_invitation(&snap, Actor::User("admin"), &b, now()).unwrap();
    snap.apply(&Effect::PutInvitation(revoked));
    assert_eq!(
        accept(&mut snap, &b, "b", now()).unwrap_err().code(),
        "invitation_not_pending"
    );
    // Accepting twice: the second is refused.
    accept(&mut snap, &a, "a", now()).unwrap();
    assert_eq!(
        accept(&mut snap, &a, "a", now()).unwrap_err().code(),
        "invitation_not_pending"
    );
}

#[test]
fn resending_resets_the_expiry_and_counts_the_send() {
    let mut snap = staffed();
    let plan = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let later = now() + Duration::days(20);
    let resent = resend_invitation(
        &snap,
        Actor::User("admin"),
        &plan.invitations[0].id,
        later,
        ttl(),
    )
    .unwrap();
    assert_eq!(resent.send_count, 2);
    assert_eq!(resent.expires_at, later + ttl());
}

#[test]
fn only_an_owner_may_resend_an_owner_invitation() {
    let mut snap = staffed();
    let plan = invite(
        &snap,
        "owner",
        &["o@example.com"],
        org_role(OrgRole::Owner),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let id = &plan.invitations[0].id;
    let later = now() + Duration::days(20);
    for actor in ["admin", "ia"] {
        forbidden(resend_invitation(
            &snap,
            Actor::User(actor),
            id,
            later,
            ttl(),
        ));
    }
    assert!(resend_invitation(&snap, Actor::User("owner2"), id, later, ttl()).is_ok());
    // Revoking grants nothing: any admin may.
    assert!(revoke_invitation(&snap, Actor::User("admin"), id, now()).is_ok());
}

#[test]
fn only_someone_who_manages_the_space_resends_or_revokes_its_invitations() {
    let mut snap = with_program_admin();
    add(&mut snap, "pa2", None);
    set_space(&mut snap, "pa2", "s2", SpaceRole::ProgramAdmin);
    let plan = invite(
        &snap,
        "pa",
        &["x@example.com"],
        space_role(SpaceRole::Participant),
        &["s1"],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let id = plan.invitations[0].id.clone();
    forbidden(revoke_invitation(&snap, Actor::User("pa2"), &id, now()));
    forbidden(resend_invitation(
        &snap,
        Actor::User("member"),
        &id,
        now(),
        ttl(),
    ));
    assert!(resend_invitation(&snap, Actor::User("pa"), &id, now(), ttl()).is_ok());
    // Once every invited space is deleted, only org-level inviters may act on it.
    snap.apply(&Effect::RemoveSpace {
        space_id: "s1".into(),
    });
    for actor in ["pa", "pa2", "member", "stranger"] {
        forbidden(revoke_invitation(&snap, Actor::User(actor), &id, now()));
        forbidden(resend_invitation(
            &snap,
            Actor::User(actor),
            &id,
            now(),
            ttl(),
        ));
    }
    assert!(revoke_invitation(&snap, Actor::User("admin"), &id, now()).is_ok());
}

#[test]
fn an_owner_may_step_down_to_admin_while_another_owner_remains() {
    let mut snap = org();
    add(&mut snap, "o1", Some(OrgRole::Owner));
    add(&mut snap, "o2", Some(OrgRole::Owner));
    let effects = change_org_role(
        &snap,
        Actor::User("o1"),
        "o1",
        Some(OrgRole::Admin),
        None,
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    assert_eq!(snap.member("o1").unwrap().org_role, Some(OrgRole::Admin));
    // The last one cannot.
    let err = change_org_role(
        &snap,
        Actor::User("o2"),
        "o2",
        Some(OrgRole::Admin),
        None,
        now(),
    )
    .unwrap_err();
    assert_eq!(err, RuleError::LastOwner);
}

#[test]
fn nobody_raises_or_trades_their_own_role() {
    let mut snap = org();
    add(&mut snap, "o1", Some(OrgRole::Owner));
    add(&mut snap, "admin", Some(OrgRole::Admin));
    add(&mut snap, "ia", Some(OrgRole::ImplementationAdmin));
    enable_ia(&mut snap, &["example.com"]);
    let ia_to_admin = change_org_role(
        &snap,
        Actor::User("ia"),
        "ia",
        Some(OrgRole::Admin),
        None,
        now(),
    );
    assert!(
        matches!(ia_to_admin, Err(RuleError::Forbidden(_))),
        "{ia_to_admin:?}"
    );
    let admin_to_ia = change_org_role(
        &snap,
        Actor::User("admin"),
        "admin",
        Some(OrgRole::ImplementationAdmin),
        Some(IaDuration::OneMonth),
        now(),
    );
    assert!(
        matches!(admin_to_ia, Err(RuleError::Forbidden(_))),
        "{admin_to_ia:?}"
    );
}

#[test]
fn removing_an_implementation_admins_org_role_takes_them_out_of_the_organization() {
    let mut snap = org();
    add(&mut snap, "o1", Some(OrgRole::Owner));
    add(&mut snap, "ia", Some(OrgRole::ImplementationAdmin));
    set_space(&mut snap, "ia", "s1", SpaceRole::ProgramAdmin);
    let effects = change_org_role(&snap, Actor::User("o1"), "ia", None, None, now()).unwrap();
    assert!(effects.contains(&Effect::RevokeTokens {
        user_id: "ia".into(),
        reason: "implementation_admin_removed"
    }));
    apply_all(&mut snap, &effects);
    assert!(
        snap.member("ia").is_none(),
        "the membership and space roles are gone"
    );
}

#[test]
fn a_new_duration_keeps_the_original_inviter() {
    let mut snap = org();
    add(&mut snap, "o1", Some(OrgRole::Owner));
    add(&mut snap, "admin", Some(OrgRole::Admin));
    enable_ia(&mut snap, &["example.com"]);
    let effects = change_org_role(
        &snap,
        Actor::User("o1"),
        "admin",
        Some(OrgRole::ImplementationAdmin),
        Some(IaDuration::OneMonth),
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    let effects = change_org_role(
        &snap,
        Actor::Platform,
        "admin",
        Some(OrgRole::ImplementationAdmin),
        Some(IaDuration::SixMonths),
        now(),
    )
    .unwrap();
    apply_all(&mut snap, &effects);
    let ia = snap.member("admin").unwrap().ia.clone().unwrap();
    assert_eq!(ia.duration, IaDuration::SixMonths);
    assert_eq!(ia.invited_by.as_deref(), Some("o1"));
}

#[test]
fn capabilities_show_each_space_as_the_person_sees_it() {
    use roster_core::capabilities::{capabilities, SpaceView};
    let mut snap = org();
    add(&mut snap, "admin", Some(OrgRole::Admin));
    add(&mut snap, "fac", None);
    set_space(&mut snap, "admin", "s1", SpaceRole::Facilitator);
    set_space(&mut snap, "admin", "s2", SpaceRole::Participant);
    set_space(&mut snap, "fac", "s1", SpaceRole::Facilitator);
    let views = |user: &str| -> Vec<(String, SpaceView)> {
        capabilities(&snap, user, now())
            .spaces
            .into_iter()
            .map(|s| (s.space_id, s.view))
            .collect()
    };
    // Facilitator plus Admin: the union, seen as an admin; participant lock elsewhere.
    assert_eq!(
        views("admin"),
        vec![
            ("s1".into(), SpaceView::Admin),
            ("s2".into(), SpaceView::Participant)
        ]
    );
    assert_eq!(views("fac"), vec![("s1".into(), SpaceView::Facilitator)]);
    let caps = capabilities(&snap, "fac", now());
    assert!(
        caps.sections.is_empty(),
        "no Admin Area without an org role"
    );
    assert!(!caps.role_management);
}

#[test]
fn resending_a_lapsed_invitation_needs_a_free_seat_and_acceptance_never_exceeds_the_limit() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    seat_limit(&mut snap, 2);
    let first = invite(
        &snap,
        "o1",
        &["a@x.test"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &first.effects);
    let later = now() + Duration::days(15);
    // The lapsed invitation reserves nothing: someone else takes the last seat.
    let second = plan_invitations(
        &snap,
        Actor::User("o1"),
        &request(&["b@x.test"], org_role(OrgRole::Admin), &[], None),
        later,
        ttl(),
        &mut next_id,
    )
    .unwrap();
    apply_all(&mut snap, &second.effects);
    let lapsed = &first.invitations[0].id;
    let resent = resend_invitation(&snap, Actor::User("o1"), lapsed, later, ttl());
    assert_eq!(resent, Err(RuleError::SeatLimitReached { limit: 2 }));
    let accept_b = accept_invitation(
        &snap,
        &second.invitations[0].id,
        &Invitee {
            user_id: "b".into(),
            name: "B".into(),
        },
        later,
    )
    .unwrap();
    apply_all(&mut snap, &accept_b);
    assert_eq!(snap.seat_usage(later).used, 2);
}

#[test]
fn an_invitation_is_void_once_its_sender_can_no_longer_grant_the_role() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "admin", ADMIN);
    let plan = invite(
        &snap,
        "admin",
        &["friend@x.test"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    let removed = remove_member(&snap, Actor::User("o1"), "admin", now()).unwrap();
    apply_all(&mut snap, &removed);
    let accepted = accept_invitation(
        &snap,
        &plan.invitations[0].id,
        &Invitee {
            user_id: "friend".into(),
            name: "F".into(),
        },
        now(),
    );
    assert!(
        matches!(
            accepted,
            Err(RuleError::Conflict {
                code: "invitation_not_pending",
                ..
            })
        ),
        "{accepted:?}"
    );
}

#[test]
fn a_program_admin_cannot_change_an_org_admins_role_in_their_program() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "pa", None);
    set_space(&mut snap, "pa", "s1", SpaceRole::ProgramAdmin);
    let pinned = set_space_role(
        &snap,
        Actor::User("pa"),
        "s1",
        "o1",
        SpaceRole::Sponsor,
        now(),
    );
    assert!(matches!(pinned, Err(RuleError::Forbidden(_))), "{pinned:?}");
    let invited = invite(
        &snap,
        "pa",
        &["o1@example.com"],
        Role::Space(SpaceRole::Participant),
        &["s1"],
        None,
    );
    assert!(
        matches!(invited, Err(RuleError::Forbidden(_))),
        "{invited:?}"
    );
    // The Owner can, through the Admin Area.
    assert!(set_space_role(
        &snap,
        Actor::User("o1"),
        "s1",
        "o1",
        SpaceRole::Sponsor,
        now()
    )
    .is_ok());
}

#[test]
fn invitations_die_with_their_senders_access_and_free_their_seats() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "admin", ADMIN);
    seat_limit(&mut snap, 5);
    let plan = invite(
        &snap,
        "admin",
        &["friend@x.test"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply_all(&mut snap, &plan.effects);
    assert_eq!(snap.seat_usage(now()).reserved, 1);
    let effects = deactivate(&snap, Actor::User("o1"), "admin", now()).unwrap();
    apply_all(&mut snap, &effects);
    assert!(
        snap.invitation(&plan.invitations[0].id).is_none(),
        "no longer pending"
    );
    assert_eq!(snap.seat_usage(now()).reserved, 0);
}
