//! SPEC §4's tables, copied here as data (not derived from the code), checked
//! for every org role × space role combination and the denied states.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Duration;
use common::*;
use roster_core::*;

/// The organization table: action, owner, admin, implementation_admin.
const ORG_TABLE: &[(&str, [bool; 3])] = &[
    ("billing.view", [true, false, false]),
    ("billing.manage", [true, false, false]),
    ("stripe.connect", [true, false, false]),
    ("financials.view", [true, false, false]),
    ("org.delete", [true, false, false]),
    ("owner.assign", [true, false, false]),
    ("members.view", [true, true, true]),
    ("members.invite", [true, true, true]),
    ("members.change_role", [true, true, true]),
    ("members.deactivate", [true, true, true]),
    ("members.remove", [true, true, true]),
    ("seats.view", [true, true, true]),
    ("spaces.create", [true, true, true]),
    ("spaces.manage", [true, true, true]),
    ("spaces.delete", [true, true, true]),
    ("reports.view", [true, true, true]),
    ("offers.manage", [true, true, true]),
    ("integrations.manage", [true, true, true]),
    ("mcp.manage", [true, true, true]),
    ("brand.manage", [true, true, true]),
    ("settings.manage", [true, true, true]),
    ("audit.view", [true, true, true]),
    ("tokens.manage", [true, true, true]),
];

/// A cell of the space table.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Cell {
    Yes,
    No,
    /// Facilitator ¹: on a space resource the page opens (scoped to participants).
    ParticipantsOnly,
    /// Facilitator ²: only items they added.
    OwnItemsOnly,
}
use Cell::*;

/// The space table: program_admin, facilitator, participant, sponsor,
/// org admin tier without a space role.
const SPACE_TABLE: &[(&str, [Cell; 5])] = &[
    ("space.view", [Yes, Yes, Yes, Yes, Yes]),
    ("content.view", [Yes, Yes, Yes, Yes, Yes]),
    ("members.view", [Yes, Yes, Yes, Yes, Yes]),
    (
        "member_activity.view",
        [Yes, ParticipantsOnly, No, Yes, Yes],
    ),
    ("submissions.view", [Yes, ParticipantsOnly, No, Yes, Yes]),
    ("reports.view", [Yes, ParticipantsOnly, No, Yes, Yes]),
    ("activity.create", [Yes, No, No, No, Yes]),
    ("activity.edit", [Yes, No, No, No, Yes]),
    ("activity.delete", [Yes, No, No, No, Yes]),
    ("activity_settings.edit", [Yes, No, No, No, Yes]),
    ("structure.manage", [Yes, No, No, No, Yes]),
    ("members.manage", [Yes, No, No, No, Yes]),
    ("packages.manage", [Yes, No, No, No, Yes]),
    ("events.manage", [Yes, Yes, No, No, Yes]),
    ("schedules.manage", [Yes, Yes, No, No, Yes]),
    ("bookings.manage", [Yes, Yes, No, No, Yes]),
    ("feed.moderate", [Yes, Yes, No, No, Yes]),
    ("channels.manage", [Yes, Yes, No, No, Yes]),
    ("library.add", [Yes, Yes, No, No, Yes]),
    ("item.remove", [Yes, OwnItemsOnly, No, No, Yes]),
    ("schedules.manage_own", [Yes, Yes, No, No, No]),
    ("feed.post", [Yes, Yes, Yes, No, Yes]),
    ("feed.respond", [Yes, Yes, Yes, No, Yes]),
    ("event.rsvp", [Yes, Yes, Yes, No, Yes]),
    ("activity.complete", [No, No, Yes, No, No]),
    ("space.leave", [No, No, Yes, No, No]),
    ("notifications.receive", [Yes, Yes, Yes, No, No]),
];

const ORG_ROLES: [Option<OrgRole>; 4] = [
    None,
    Some(OrgRole::Owner),
    Some(OrgRole::Admin),
    Some(OrgRole::ImplementationAdmin),
];
const SPACE_ROLES: [Option<SpaceRole>; 5] = [
    None,
    Some(SpaceRole::ProgramAdmin),
    Some(SpaceRole::Facilitator),
    Some(SpaceRole::Participant),
    Some(SpaceRole::Sponsor),
];

fn action(name: &str) -> Action {
    name.parse()
        .unwrap_or_else(|_| panic!("{name} is in SPEC §4"))
}

fn column(role: Option<SpaceRole>) -> Option<usize> {
    match role {
        Some(SpaceRole::ProgramAdmin) => Some(0),
        Some(SpaceRole::Facilitator) => Some(1),
        Some(SpaceRole::Participant) => Some(2),
        Some(SpaceRole::Sponsor) => Some(3),
        None => None,
    }
}

fn cell_allows(cell: Cell, on_own_item: bool) -> bool {
    match cell {
        Yes | ParticipantsOnly => true,
        No => false,
        OwnItemsOnly => on_own_item,
    }
}

/// What SPEC §4 "How permissions add up" says for one combination, from
/// the tables above.
fn expected_space(
    org: Option<OrgRole>,
    space: Option<SpaceRole>,
    row: &[Cell; 5],
    own_item: bool,
) -> bool {
    let tier = org.is_some();
    match space {
        // Rules 3 and 4: exactly the participant / sponsor column.
        Some(SpaceRole::Participant) | Some(SpaceRole::Sponsor) => {
            cell_allows(row[column(space).unwrap()], own_item)
        }
        // Rule 5: the union.
        Some(_) => cell_allows(row[column(space).unwrap()], own_item) || (tier && row[4] == Yes),
        // Rule 6: the last column, or nothing.
        None => tier && row[4] == Yes,
    }
}

#[test]
fn every_catalog_action_is_in_the_spec_tables_and_back() {
    for a in Action::ALL {
        let name = a.as_str();
        assert!(
            ORG_TABLE.iter().any(|(n, _)| *n == name)
                || SPACE_TABLE.iter().any(|(n, _)| *n == name),
            "{name} is not in SPEC §4"
        );
        assert_eq!(name.parse::<Action>(), Ok(*a));
    }
    assert_eq!(
        Action::ALL.len(),
        ORG_TABLE.len() + SPACE_TABLE.len() - 2,
        "members.view and reports.view are in both tables"
    );
}

#[test]
fn organization_actions_follow_the_org_table_for_every_role() {
    for org_role in ORG_ROLES {
        for space_role in SPACE_ROLES {
            let mut snap = org();
            add(&mut snap, "u", org_role);
            if let Some(r) = space_role {
                set_space(&mut snap, "u", "s1", r);
            }
            for (name, row) in ORG_TABLE {
                let expected = match org_role {
                    Some(OrgRole::Owner) => row[0],
                    Some(OrgRole::Admin) => row[1],
                    Some(OrgRole::ImplementationAdmin) => row[2],
                    None => false,
                };
                let d = decide(&snap, "u", action(name), Resource::Organization, now());
                assert_eq!(
                    d.allowed, expected,
                    "{name} for {org_role:?} + {space_role:?}: {d:?}"
                );
            }
        }
    }
}

#[test]
fn space_actions_follow_the_space_table_for_every_org_and_space_role_combination() {
    for org_role in ORG_ROLES {
        for space_role in SPACE_ROLES {
            let mut snap = org();
            add(&mut snap, "u", org_role);
            add(&mut snap, "other", None);
            if let Some(r) = space_role {
                set_space(&mut snap, "u", "s1", r);
            }
            for (name, row) in SPACE_TABLE {
                let a = action(name);
                let on_space = decide(&snap, "u", a, Resource::Space("s1"), now());
                assert_eq!(
                    on_space.allowed,
                    expected_space(org_role, space_role, row, false),
                    "{name} on space for {org_role:?} + {space_role:?}: {on_space:?}"
                );
                for (added_by, own) in [("u", true), ("other", false)] {
                    let item = Resource::Item {
                        space_id: "s1",
                        added_by: Some(added_by),
                    };
                    let d = decide(&snap, "u", a, item, now());
                    assert_eq!(
                        d.allowed,
                        expected_space(org_role, space_role, row, own),
                        "{name} on item by {added_by} for {org_role:?} + {space_role:?}: {d:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn deactivated_absent_and_expired_subjects_are_denied_everything() {
    let mut snap = org();
    add(&mut snap, "deactivated", Some(OrgRole::Owner));
    add(&mut snap, "ia", Some(OrgRole::ImplementationAdmin));
    set_space(&mut snap, "ia", "s1", SpaceRole::ProgramAdmin);
    snap.apply(&Effect::SetStatus {
        user_id: "deactivated".into(),
        status: MemberStatus::Deactivated,
    });
    let expiry = snap
        .member("ia")
        .unwrap()
        .ia
        .as_ref()
        .unwrap()
        .expires_at
        .unwrap();
    let cases = [
        ("deactivated", now(), Rule::MembershipDeactivated),
        ("nobody", now(), Rule::NoMembership),
        ("ia", expiry, Rule::ImplementationAdminExpired),
    ];
    for (user, at, rule) in cases {
        for a in Action::ALL {
            for resource in [Resource::Organization, Resource::Space("s1")] {
                let d = decide(&snap, user, *a, resource, at);
                assert!(!d.allowed, "{user} {a} {resource:?}");
                assert_eq!(d.rule, rule);
            }
        }
    }
}

#[test]
fn implementation_admin_expires_at_the_exact_instant() {
    let mut snap = org();
    add(&mut snap, "ia", Some(OrgRole::ImplementationAdmin));
    let expiry = snap
        .member("ia")
        .unwrap()
        .ia
        .as_ref()
        .unwrap()
        .expires_at
        .unwrap();
    let before = expiry - Duration::milliseconds(1);
    assert!(
        decide(
            &snap,
            "ia",
            Action::MembersInvite,
            Resource::Organization,
            before
        )
        .allowed
    );
    let at = decide(
        &snap,
        "ia",
        Action::MembersInvite,
        Resource::Organization,
        expiry,
    );
    assert!(!at.allowed);
    assert_eq!(at.rule, Rule::ImplementationAdminExpired);
}

#[test]
fn a_participant_locked_admin_keeps_space_management_through_organization_actions() {
    let mut snap = org();
    add(&mut snap, "admin", Some(OrgRole::Admin));
    set_space(&mut snap, "admin", "s1", SpaceRole::Participant);
    let locked = decide(
        &snap,
        "admin",
        Action::ActivityEdit,
        Resource::Space("s1"),
        now(),
    );
    assert!(!locked.allowed);
    assert_eq!(locked.rule, Rule::ParticipantLock);
    for a in [Action::SpacesManage, Action::SpacesDelete] {
        let d = decide(&snap, "admin", a, Resource::Space("s1"), now());
        assert!(d.allowed, "{a}");
        assert_eq!(d.rule, Rule::OrgRoleAllows);
    }
    assert!(
        decide(
            &snap,
            "admin",
            Action::ActivityEdit,
            Resource::Space("s2"),
            now()
        )
        .allowed
    );
}

#[test]
fn a_sponsor_owner_is_read_only_in_the_sponsored_space() {
    let mut snap = org();
    add(&mut snap, "owner", Some(OrgRole::Owner));
    set_space(&mut snap, "owner", "s1", SpaceRole::Sponsor);
    let d = decide(
        &snap,
        "owner",
        Action::FeedPost,
        Resource::Space("s1"),
        now(),
    );
    assert!(!d.allowed);
    assert_eq!(d.rule, Rule::SponsorReadOnly);
    assert!(
        decide(
            &snap,
            "owner",
            Action::ReportsView,
            Resource::Space("s1"),
            now()
        )
        .allowed
    );
}

#[test]
fn reports_on_a_person_need_a_shared_space_where_they_participate() {
    let mut snap = org();
    for u in ["fac", "sponsor", "learner", "stranger", "admin"] {
        add(&mut snap, u, None);
    }
    add(&mut snap, "admin", Some(OrgRole::Admin));
    set_space(&mut snap, "fac", "s1", SpaceRole::Facilitator);
    set_space(&mut snap, "sponsor", "s1", SpaceRole::Sponsor);
    set_space(&mut snap, "learner", "s1", SpaceRole::Participant);
    set_space(&mut snap, "stranger", "s2", SpaceRole::Participant);
    // A co-facilitator is not a participant: no report.
    add(&mut snap, "cofac", None);
    set_space(&mut snap, "cofac", "s1", SpaceRole::Facilitator);
    let ask = |who, whom| decide(&snap, who, Action::ReportsView, Resource::User(whom), now());
    assert_eq!(ask("fac", "learner").rule, Rule::OverseesParticipant);
    assert!(ask("fac", "learner").allowed);
    assert!(ask("sponsor", "learner").allowed);
    assert!(!ask("fac", "stranger").allowed);
    assert!(!ask("fac", "cofac").allowed);
    assert!(!ask("learner", "learner").allowed);
    assert!(ask("admin", "stranger").allowed);
    assert_eq!(ask("fac", "nobody").rule, Rule::UnknownTarget);
}

#[test]
fn unknown_spaces_and_space_actions_on_the_organization_are_denied() {
    let mut snap = org();
    add(&mut snap, "owner", Some(OrgRole::Owner));
    assert_eq!(
        decide(
            &snap,
            "owner",
            Action::SpaceView,
            Resource::Space("elsewhere"),
            now()
        )
        .rule,
        Rule::UnknownSpace
    );
    assert_eq!(
        decide(
            &snap,
            "owner",
            Action::FeedPost,
            Resource::Organization,
            now()
        )
        .rule,
        Rule::NotApplicable
    );
}
