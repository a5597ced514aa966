//! Decisions over a large organization, built the way the loaders build
//! one (members out of id order, space roles held in no particular order
//! and set once every member is in), agree with a plain reference built
//! from the same data: maps from the generated ids to what each member
//! was given, and SPEC §4's rules applied to its columns. The columns
//! themselves (`roster_core::policy`) are the reference's too: they are
//! checked cell by cell against SPEC §4's tables in `permission_matrix`;
//! what this checks is that finding members, programs and roles among
//! many, loaded as the loaders load them, reaches the right cell. The
//! decisions benchmark checks one action the same way at up to a million
//! members (`cargo bench -p roster-core --bench decisions`).

use std::collections::HashMap;

use chrono::Duration;
use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};
use roster_core::policy::{org_column, space_column, ORG_ACTIONS, ORG_ADMIN_TIER_COLUMN};
use roster_core::*;

use crate::common::now;

const MEMBERS: usize = 20_000;
const SPACES: usize = 1_000;
const SPACE_ROLES: usize = 100_000;
const CHECKS: usize = 20_000;

/// Ids shaped as Roster makes them, in an order unrelated to `i`.
fn user(i: usize) -> String {
    format!(
        "usr_{:032x}",
        (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
    )
}

fn space(i: usize) -> String {
    format!(
        "spc_{:032x}",
        (i as u128).wrapping_mul(0xD1B5_4A32_D192_ED03)
    )
}

/// What the reference knows of a member.
struct Given {
    active: bool,
    /// The org role in force now (an expired Implementation Admin holds
    /// none, and is denied everything).
    org_role: Option<OrgRole>,
    expired: bool,
}

/// SPEC §4 for a person in a space: rule 1 and 2 (an expired
/// Implementation Admin is denied everything, SPEC §6), then a participant or
/// sponsor gets exactly their column; a program admin or facilitator their
/// column with the org admin tier's; an org role alone, the tier. A
/// facilitator removes only items they added (²), which a space is not.
/// Organization actions asked on a space go by the org role alone.
fn reference(given: Option<&Given>, role: Option<SpaceRole>, action: Action) -> bool {
    let Some(given) = given.filter(|g| g.active && !g.expired) else {
        return false;
    };
    let tier = given.org_role.is_some() && ORG_ADMIN_TIER_COLUMN.contains(action);
    if ORG_ACTIONS.contains(action) && !policy::SPACE_ACTIONS.contains(action) {
        return given
            .org_role
            .is_some_and(|r| org_column(r).contains(action));
    }
    match role {
        Some(r @ (SpaceRole::Participant | SpaceRole::Sponsor)) => space_column(r).contains(action),
        Some(SpaceRole::Facilitator) if action == Action::ItemRemove => tier,
        Some(r) => space_column(r).contains(action) || tier,
        None => tier,
    }
}

#[test]
fn sampled_decisions_in_a_large_organization_agree_with_a_plain_reference() {
    let at = now();
    // The same organization and questions on every run.
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut below = |n: usize| rng.random_range(0..n);
    let mut snap = OrgSnapshot::new("org".into(), "Big".into(), OrgSettings::default());
    for s in 0..SPACES {
        snap.add_space(Space {
            id: space(s).into(),
            name: format!("Program {s}"),
        });
    }
    let mut given = HashMap::new();
    let mut members = Vec::new();
    for i in 0..MEMBERS {
        let address = Email::parse(&format!("m{i}@big.test")).unwrap();
        let mut member = Member::new(user(i).into(), address, format!("Member {i}"));
        member.org_role = match (i, i % 100) {
            (0, _) => Some(OrgRole::Owner),
            (_, 1) => Some(OrgRole::Admin),
            (_, 2 | 3) => Some(OrgRole::ImplementationAdmin),
            _ => None,
        };
        // Half the Implementation Admins were given a month, a year ago.
        let expired = i % 100 == 3;
        if member.org_role == Some(OrgRole::ImplementationAdmin) {
            let (duration, since) = if expired {
                (IaDuration::OneMonth, at - Duration::days(365))
            } else {
                (IaDuration::Forever, at - Duration::days(365))
            };
            member.ia = Some(Box::new(IaAssignment::new(duration, since, None)));
        }
        if i % 37 == 5 {
            member.status = MemberStatus::Deactivated;
        }
        given.insert(
            user(i),
            Given {
                active: i % 37 != 5,
                org_role: member.org_role.filter(|_| !expired),
                expired,
            },
        );
        members.push(member);
    }
    snap.add_loaded_members(members);
    // Space roles in no order; a pair given twice keeps the later role.
    let mut roles = HashMap::new();
    let mut pairs = Vec::new();
    let mut later = LaterRoles::default();
    for _ in 0..SPACE_ROLES {
        let (u, s) = (below(MEMBERS), below(SPACES));
        let role = SpaceRole::ALL[below(SpaceRole::ALL.len())];
        snap.hold_space_roles(&mut later, &user(u), [(space(s).as_str(), role)]);
        roles.insert((user(u), space(s)), role);
        pairs.push((u, s));
    }
    snap.set_later_roles(later);
    snap.loaded();

    let mut allowed = 0;
    for _ in 0..CHECKS {
        // Half the questions are about a member in a space where they were
        // given a role; of the rest, one asker in fifty is not a member and
        // one space in fifty is unknown.
        let (u, s) = match below(100) {
            0 => (
                format!("usr_stranger_{}", below(MEMBERS)),
                space(below(SPACES)),
            ),
            1 => (
                user(below(MEMBERS)),
                format!("spc_unknown_{}", below(SPACES)),
            ),
            2..50 => (user(below(MEMBERS)), space(below(SPACES))),
            _ => {
                let (u, s) = pairs[below(pairs.len())];
                (user(u), space(s))
            }
        };
        let action = Action::ALL[below(Action::ALL.len())];
        let known_space = !s.starts_with("spc_unknown_");
        let expected = known_space
            && reference(
                given.get(&u),
                roles.get(&(u.clone(), s.clone())).copied(),
                action,
            );
        let decision = decide(
            &snap,
            &UserId::from(u.as_str()),
            action,
            Resource::Space(&SpaceId::from(s.as_str())),
            at,
        );
        assert_eq!(
            decision.allowed, expected,
            "{u} {action} in {s}: {decision:?}"
        );
        allowed += usize::from(expected);
    }
    // The sample reaches both answers often enough to mean something.
    assert!(
        allowed >= CHECKS / 20 && CHECKS - allowed >= CHECKS / 20,
        "{allowed}"
    );
}
