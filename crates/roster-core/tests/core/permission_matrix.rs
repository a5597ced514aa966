//! SPEC §4's tables, copied here as data (not derived from the code), checked
//! for every org role × space role combination and the denied states; and
//! what the Admin Area shows each person (SPEC §11), from the same decisions.

use chrono::Duration;
use roster_core::capabilities::{capabilities, SpaceView};
use roster_core::*;

use crate::common::*;

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
    let spec_names = ORG_TABLE
        .iter()
        .map(|(n, _)| *n)
        .chain(SPACE_TABLE.iter().map(|(n, _)| *n));
    for name in spec_names {
        assert!(
            name.parse::<Action>().is_ok(),
            "{name} is in SPEC §4 but not in the catalog"
        );
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
                let d = decide(
                    &snap,
                    &uid("u"),
                    action(name),
                    Resource::Organization,
                    now(),
                );
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
    let (u, other, s1) = (uid("u"), uid("other"), sid("s1"));
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
                let on_space = decide(&snap, &u, a, Resource::Space(&s1), now());
                assert_eq!(
                    on_space.allowed,
                    expected_space(org_role, space_role, row, false),
                    "{name} on space for {org_role:?} + {space_role:?}: {on_space:?}"
                );
                for (added_by, own) in [(&u, true), (&other, false)] {
                    let item = Resource::Item {
                        space_id: &s1,
                        added_by: Some(added_by),
                    };
                    let d = decide(&snap, &u, a, item, now());
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
fn a_facilitator_cannot_remove_an_item_whose_author_is_unknown() {
    let mut snap = org();
    add(&mut snap, "fac", None);
    set_space(&mut snap, "fac", "s1", SpaceRole::Facilitator);
    let s1 = sid("s1");
    let unknown = Resource::Item {
        space_id: &s1,
        added_by: None,
    };
    let d = decide(&snap, &uid("fac"), Action::ItemRemove, unknown, now());
    assert!(!d.allowed);
    assert_eq!(d.rule, Rule::NotOwnItem);
}

#[test]
fn deactivated_absent_and_expired_subjects_are_denied_everything() {
    let mut snap = org();
    add(&mut snap, "deactivated", OWNER);
    add(&mut snap, "ia", IA);
    set_space(&mut snap, "ia", "s1", SpaceRole::ProgramAdmin);
    deactivated(&mut snap, "deactivated");
    let expiry = ia_expiry(&snap, "ia");
    let s1 = sid("s1");
    let cases = [
        ("deactivated", now(), Rule::MembershipDeactivated),
        ("nobody", now(), Rule::NoMembership),
        ("ia", expiry, Rule::ImplementationAdminExpired),
    ];
    for (user, at, rule) in cases {
        for a in Action::ALL {
            for resource in [Resource::Organization, Resource::Space(&s1)] {
                let d = decide(&snap, &uid(user), *a, resource, at);
                assert!(!d.allowed, "{user} {a} {resource:?}");
                assert_eq!(d.rule, rule);
            }
        }
    }
}

#[test]
fn implementation_admin_expires_at_the_exact_instant() {
    let mut snap = org();
    add(&mut snap, "ia", IA);
    let expiry = ia_expiry(&snap, "ia");
    let ia = uid("ia");
    let before = expiry - Duration::milliseconds(1);
    let invite = |at| {
        decide(
            &snap,
            &ia,
            Action::MembersInvite,
            Resource::Organization,
            at,
        )
    };
    assert!(invite(before).allowed);
    let at = invite(expiry);
    assert!(!at.allowed);
    assert_eq!(at.rule, Rule::ImplementationAdminExpired);
}

#[test]
fn a_participant_locked_admin_keeps_space_management_through_organization_actions() {
    let mut snap = org();
    add(&mut snap, "admin", ADMIN);
    set_space(&mut snap, "admin", "s1", SpaceRole::Participant);
    let (admin, s1, s2) = (uid("admin"), sid("s1"), sid("s2"));
    let locked = decide(
        &snap,
        &admin,
        Action::ActivityEdit,
        Resource::Space(&s1),
        now(),
    );
    assert!(!locked.allowed);
    assert_eq!(locked.rule, Rule::ParticipantLock);
    for a in [Action::SpacesManage, Action::SpacesDelete] {
        let d = decide(&snap, &admin, a, Resource::Space(&s1), now());
        assert!(d.allowed, "{a}");
        assert_eq!(d.rule, Rule::OrgRoleAllows);
    }
    assert!(allowed(
        &snap,
        "admin",
        Action::ActivityEdit,
        Resource::Space(&s2)
    ));
}

#[test]
fn a_sponsor_owner_is_read_only_in_the_sponsored_space() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    set_space(&mut snap, "owner", "s1", SpaceRole::Sponsor);
    let s1 = sid("s1");
    let d = decide(
        &snap,
        &uid("owner"),
        Action::FeedPost,
        Resource::Space(&s1),
        now(),
    );
    assert!(!d.allowed);
    assert_eq!(d.rule, Rule::SponsorReadOnly);
    assert!(allowed(
        &snap,
        "owner",
        Action::ReportsView,
        Resource::Space(&s1)
    ));
}

#[test]
fn reports_on_a_person_need_a_shared_space_where_they_participate() {
    let mut snap = org();
    for u in ["fac", "sponsor", "learner", "stranger", "cofac"] {
        add(&mut snap, u, None);
    }
    add(&mut snap, "admin", ADMIN);
    set_space(&mut snap, "fac", "s1", SpaceRole::Facilitator);
    set_space(&mut snap, "sponsor", "s1", SpaceRole::Sponsor);
    set_space(&mut snap, "learner", "s1", SpaceRole::Participant);
    set_space(&mut snap, "stranger", "s2", SpaceRole::Participant);
    // A co-facilitator is not a participant: no report.
    set_space(&mut snap, "cofac", "s1", SpaceRole::Facilitator);
    let ask = |who: &str, whom: &str| {
        decide(
            &snap,
            &uid(who),
            Action::ReportsView,
            Resource::User(&uid(whom)),
            now(),
        )
    };
    assert_eq!(ask("fac", "learner").rule, Rule::OverseesParticipant);
    assert!(ask("fac", "learner").allowed);
    assert!(ask("sponsor", "learner").allowed);
    assert!(!ask("fac", "stranger").allowed);
    assert!(!ask("fac", "cofac").allowed);
    assert!(!ask("learner", "learner").allowed);
    assert!(ask("admin", "stranger").allowed);
    assert_eq!(ask("admin", "stranger").rule, Rule::OrgAdminTier);
    assert_eq!(ask("fac", "nobody").rule, Rule::UnknownTarget);
}

#[test]
fn unknown_spaces_and_space_actions_on_the_organization_are_denied() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    let elsewhere = sid("elsewhere");
    let owner = uid("owner");
    assert_eq!(
        decide(
            &snap,
            &owner,
            Action::SpaceView,
            Resource::Space(&elsewhere),
            now()
        )
        .rule,
        Rule::UnknownSpace
    );
    assert_eq!(
        decide(
            &snap,
            &owner,
            Action::FeedPost,
            Resource::Organization,
            now()
        )
        .rule,
        Rule::NotApplicable
    );
}

#[test]
fn capabilities_show_each_space_as_the_person_sees_it() {
    let mut snap = org();
    add(&mut snap, "admin", ADMIN);
    add(&mut snap, "fac", None);
    set_space(&mut snap, "admin", "s1", SpaceRole::Facilitator);
    set_space(&mut snap, "admin", "s2", SpaceRole::Participant);
    set_space(&mut snap, "fac", "s1", SpaceRole::Facilitator);
    let views = |user: &str| -> Vec<(String, SpaceView)> {
        capabilities(&snap, &uid(user), now())
            .spaces
            .into_iter()
            .map(|s| (s.space_id.to_string(), s.view))
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
    let caps = capabilities(&snap, &uid("fac"), now());
    assert!(
        caps.sections.is_empty(),
        "no Admin Area without an org role"
    );
    assert!(!caps.role_management);
    let fac_s1 = &caps.spaces[0].actions;
    assert!(fac_s1.contains(&Action::ItemRemove), "their own items");
    assert!(!fac_s1.contains(&Action::ActivityEdit));
}

#[test]
fn the_admin_area_shows_the_sections_of_the_org_role_and_billing_to_owners_only() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "admin", ADMIN);
    add(&mut snap, "ia", IA);
    let everything = [
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
        capabilities(&snap, &uid("owner"), now()).sections,
        everything
    );
    for user in ["admin", "ia"] {
        assert_eq!(
            capabilities(&snap, &uid(user), now()).sections,
            everything[..7],
            "{user}"
        );
    }
}

#[test]
fn role_management_appears_only_when_the_organization_has_someone_else() {
    let mut snap = org();
    add(&mut snap, "solo", OWNER);
    assert!(!capabilities(&snap, &uid("solo"), now()).role_management);
    let change = invite(
        &snap,
        "solo",
        &["new@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    assert!(
        capabilities(&snap, &uid("solo"), now()).role_management,
        "a pending invitation is someone"
    );
}
