//! SPEC §3: one person, one seat; pending invitations reserve one; nothing
//! takes seats used + reserved above the limit; Implementation Admins and
//! participants use none.

use chrono::Duration;
use roster_core::implementation_admin::remove_implementation_admin;
use roster_core::invite::{
    accept_invitation, expire_invitations, resend_invitation, revoke_invitation,
};
use roster_core::org::{update_organization, OrgUpdate};
use roster_core::org_roles::change_org_role;
use roster_core::space_roles::set_space_role;
use roster_core::status::{deactivate, reactivate};
use roster_core::*;

use crate::common::*;

/// An Owner using the only seat there is: limit 1.
fn full_org() -> OrgSnapshot {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    seat_limit(&mut snap, 1);
    snap
}

/// Seats used and reserved now.
fn usage(snap: &OrgSnapshot) -> (u32, u32) {
    let u = snap.seat_usage(now());
    (u.used, u.reserved)
}

#[test]
fn an_invitation_for_a_seat_using_role_is_refused_when_no_seat_is_free() {
    let snap = full_org();
    for (role, spaces) in [
        (org_role(OrgRole::Admin), &[][..]),
        (org_role(OrgRole::Owner), &[][..]),
        (space_role(SpaceRole::ProgramAdmin), &["s1"][..]),
        (space_role(SpaceRole::Facilitator), &["s1"][..]),
        (space_role(SpaceRole::Sponsor), &["s1"][..]),
    ] {
        let result = invite(&snap, "owner", &["a@example.com"], role, spaces, None);
        assert_eq!(
            result,
            Err(RuleError::SeatLimitReached { limit: 1 }),
            "{role:?}"
        );
    }
    assert_eq!(
        RuleError::SeatLimitReached { limit: 1 }.code(),
        "seat_limit_reached"
    );
}

#[test]
fn pending_invitations_reserve_seats() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let change = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 1));
    assert_eq!(snap.seat_usage(now()).available(), Some(0));
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
    let (owner, s1, m) = (by("owner"), sid("s1"), uid("m"));
    assert_eq!(
        set_space_role(&snap, &owner, &s1, &m, SpaceRole::Facilitator, now()),
        Err(RuleError::SeatLimitReached { limit: 2 })
    );
    // Revoking frees the reservation.
    let revocation = revoke_invitation(&snap, &owner, &invited(&change)[0], now()).unwrap();
    assert_eq!(
        revoked(&revocation),
        [(invited(&change)[0].clone(), Trigger::Request)]
    );
    apply(&mut snap, &revocation);
    assert_eq!(usage(&snap), (1, 0));
    assert!(set_space_role(&snap, &owner, &s1, &m, SpaceRole::Facilitator, now()).is_ok());
}

#[test]
fn an_expired_pending_invitation_reserves_no_seat() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let change = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let id = invited(&change)[0].clone();
    let later = now() + ttl();
    assert_eq!(snap.seat_usage(later).reserved, 0);
    assert!(expire_invitations(&snap, later - Duration::seconds(1)).is_empty());
    let expired = expire_invitations(&snap, later);
    assert!(
        matches!(
            expired.outcomes(),
            [Outcome::InvitationExpired { invitation }] if invitation.id == id
        ),
        "{expired:?}"
    );
    assert_eq!(expired.grant().by(), &Principal::System);
    apply(&mut snap, &expired);
    assert!(snap.invitation(&id).is_none(), "no longer pending");
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
    let change = invite(
        &snap,
        "owner",
        &emails[..2],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 2));
}

#[test]
fn one_person_uses_one_seat_however_many_roles_they_hold() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "a", ADMIN);
    seat_limit(&mut snap, 2);
    let owner = by("owner");
    for (space, role) in [
        ("s1", SpaceRole::Facilitator),
        ("s2", SpaceRole::ProgramAdmin),
    ] {
        let change = set_space_role(&snap, &owner, &sid(space), &uid("a"), role, now()).unwrap();
        apply(&mut snap, &change);
        let change = set_space_role(
            &snap,
            &owner,
            &sid(space),
            &uid("owner"),
            SpaceRole::Sponsor,
            now(),
        )
        .unwrap();
        apply(&mut snap, &change);
    }
    assert_eq!(usage(&snap), (2, 0));
    let (usage, holders) = snap.seat_holders(now());
    assert_eq!(holders, [&uid("a"), &uid("owner")]);
    assert_eq!((usage.used, usage.reserved), (2, 0));
}

#[test]
fn a_person_with_a_pending_seat_invitation_does_not_reserve_a_second_seat() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    for (role, space) in [(SpaceRole::Facilitator, "s1"), (SpaceRole::Sponsor, "s2")] {
        let change = invite(
            &snap,
            "owner",
            &["a@example.com"],
            space_role(role),
            &[space],
            None,
        )
        .unwrap();
        apply(&mut snap, &change);
    }
    assert_eq!(usage(&snap), (1, 1));
}

#[test]
fn the_same_address_twice_in_one_batch_is_one_person() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let change = invite(
        &snap,
        "owner",
        &["a@example.com", "A@Example.COM"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(invited(&change).len(), 1);
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 1));
}

#[test]
fn an_implementation_admin_never_uses_a_seat() {
    let mut snap = full_org();
    enable_ia(&mut snap, &["example.com"]);
    add(&mut snap, "m", None);
    let change = invite(
        &snap,
        "owner",
        &["ia@example.com"],
        org_role(OrgRole::ImplementationAdmin),
        &[],
        Some(IaDuration::OneMonth),
    )
    .unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 0));
    accept(&mut snap, &invited(&change)[0], "ia", now()).unwrap();
    assert_eq!(role_of(&snap, "ia"), IA);
    assert_eq!(usage(&snap), (1, 0));
    let change = change_org_role(
        &snap,
        &by("owner"),
        &uid("m"),
        IA,
        Some(IaDuration::Forever),
        now(),
    )
    .unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 0));
    // Removing one frees nothing either.
    let change = remove_implementation_admin(&snap, &by("owner"), &uid("ia"), true, now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 0));
}

#[test]
fn a_participant_never_uses_a_seat() {
    let mut snap = full_org();
    add(&mut snap, "m", None);
    let change = invite(
        &snap,
        "owner",
        &["p1@example.com", "p2@example.com"],
        space_role(SpaceRole::Participant),
        &["s1", "s2"],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let owner = by("owner");
    let change = set_space_role(
        &snap,
        &owner,
        &sid("s1"),
        &uid("m"),
        SpaceRole::Participant,
        now(),
    )
    .unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 0));
    assert_eq!(
        set_space_role(
            &snap,
            &owner,
            &sid("s2"),
            &uid("m"),
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
            &by("owner"),
            &sid("s1"),
            &uid("m"),
            SpaceRole::Sponsor,
            now()
        ),
        Err(RuleError::SeatLimitReached { limit: 1 })
    );
}

#[test]
fn the_platform_may_make_sponsors_use_no_seat() {
    // SPEC §15: the seat-using roles are an organization setting.
    let mut snap = full_org();
    add(&mut snap, "m", None);
    let policy = SeatPolicy::from_roles([
        Role::Org(OrgRole::Owner),
        Role::Org(OrgRole::Admin),
        Role::Space(SpaceRole::ProgramAdmin),
        Role::Space(SpaceRole::Facilitator),
    ]);
    let update = OrgUpdate {
        seat_policy: Some(policy),
        ..OrgUpdate::default()
    };
    forbidden(update_organization(
        &snap,
        &by("owner"),
        update.clone(),
        now(),
    ));
    let change = update_organization(&snap, &Actor::Platform, update, now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(snap.settings.seat_policy, policy);
    let change = set_space_role(
        &snap,
        &by("owner"),
        &sid("s1"),
        &uid("m"),
        SpaceRole::Sponsor,
        now(),
    )
    .unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 0));
}

#[test]
fn a_role_change_that_needs_a_seat_is_refused_at_the_limit() {
    let mut snap = full_org();
    add(&mut snap, "m", None);
    set_space(&mut snap, "m", "s1", SpaceRole::Participant);
    assert_eq!(
        change_org_role(&snap, &by("owner"), &uid("m"), ADMIN, None, now()),
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
    let owner = by("owner");
    let change = deactivate(&snap, &owner, &uid("a"), now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (1, 0));
    let change = change_org_role(&snap, &owner, &uid("b"), ADMIN, None, now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(
        reactivate(&snap, &owner, &uid("a"), now()),
        Err(RuleError::SeatLimitReached { limit: 2 })
    );
    let change = change_org_role(&snap, &owner, &uid("b"), None, None, now()).unwrap();
    apply(&mut snap, &change);
    let change = reactivate(&snap, &owner, &uid("a"), now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(usage(&snap), (2, 0));
}

#[test]
fn reactivating_someone_who_holds_no_seat_role_needs_no_seat() {
    let mut snap = full_org();
    add(&mut snap, "p", None);
    set_space(&mut snap, "p", "s1", SpaceRole::Participant);
    deactivated(&mut snap, "p");
    let change = reactivate(&snap, &by("owner"), &uid("p"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::Reactivated { user_id: uid("p") }]
    );
}

#[test]
fn an_expired_implementation_admin_holds_no_seat_even_with_a_seat_using_space_role() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "ia", IA);
    set_space(&mut snap, "ia", "s1", SpaceRole::ProgramAdmin);
    assert_eq!(usage(&snap), (2, 0));
    let expiry = ia_expiry(&snap, "ia");
    assert_eq!(snap.seat_usage(expiry).used, 1);
}

#[test]
fn accepting_an_invitation_takes_its_reserved_seat_and_no_other() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let change = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    accept(&mut snap, &invited(&change)[0], "a", now()).unwrap();
    assert_eq!(usage(&snap), (2, 0));
}

#[test]
fn accepting_fails_when_the_limit_was_lowered_below_what_was_reserved() {
    let mut snap = full_org();
    seat_limit(&mut snap, 2);
    let change = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    seat_limit(&mut snap, 1);
    assert_eq!(
        accept(&mut snap, &invited(&change)[0], "a", now()),
        Err(RuleError::SeatLimitReached { limit: 1 })
    );
    assert!(!is_member(&snap, "a"));
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
    apply(&mut snap, &first);
    let later = now() + Duration::days(15);
    // The lapsed invitation reserves nothing: someone else takes the last seat.
    let second = send(
        &snap,
        &by("o1"),
        &request(&["b@x.test"], org_role(OrgRole::Admin), &[], None),
        later,
        ttl(),
    )
    .unwrap();
    apply(&mut snap, &second);
    let lapsed = &invited(&first)[0];
    assert_eq!(
        resend_invitation(&snap, &by("o1"), lapsed, later, ttl()),
        Err(RuleError::SeatLimitReached { limit: 2 })
    );
    let b = invited(&second)[0].clone();
    let account = account(&snap, &b, "b");
    let accepted = accept_invitation(&snap, &b, &account, None, later).unwrap();
    apply(&mut snap, &accepted);
    assert_eq!(snap.seat_usage(later).used, 2);
    assert_eq!(
        accept(&mut snap, lapsed, "a", later)
            .map(|_| ())
            .unwrap_err()
            .code(),
        "invitation_not_pending"
    );
}

#[test]
fn seat_holders_are_listed_in_id_order_however_the_members_were_added() {
    // Ids sharing their first 16 bytes, shorter than 16, past 40 (kept on
    // the heap), a multi-byte character: added in order, then in reverse
    // and shuffled.
    let mut ids: Vec<String> = vec![
        "usr_0192f3a17c2b-7000-a".into(),
        "usr_0192f3a17c2b-7000-b".into(),
        "usr_0192f3a17c2b-6fff".into(),
        "a".into(),
        "usr_0192f3a17c2b".into(),
        "usr_0192f3a17c2c".into(),
        format!("usr_{}", "9".repeat(40)),
        "usr_é".into(),
        "Zed".into(),
    ];
    ids.extend((0..200).map(|n| format!("usr_{:04}", (n * 7919) % 1000)));
    let mut sorted_ids = ids.clone();
    sorted_ids.sort();
    let orders = [
        sorted_ids.clone(),
        sorted_ids.iter().rev().cloned().collect::<Vec<_>>(),
        ids,
    ];
    for order in orders {
        let mut snap = org();
        for (n, id) in order.iter().enumerate() {
            add_with_email(
                &mut snap,
                id,
                &format!("m{n}@example.com"),
                Some(OrgRole::Admin),
            );
        }
        let (usage, holders) = snap.seat_holders(now());
        let holders: Vec<&str> = holders.iter().map(|id| id.as_str()).collect();
        assert_eq!(holders, sorted_ids, "added as {order:?}");
        assert_eq!(usage.used as usize, sorted_ids.len());
        assert_eq!(snap.seat_usage(now()), usage);
    }
}
