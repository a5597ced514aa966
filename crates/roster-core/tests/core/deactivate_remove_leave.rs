//! SPEC §7: deactivate (keeps roles, denies everything, revokes tokens),
//! reactivate, remove, and the same in bulk, answered per person.
//! (A participant leaving a space is in `space_roles`.)

use roster_core::status::{bulk, deactivate, reactivate, remove_member, BulkResult, MAX_BULK};
use roster_core::*;

use crate::common::*;

#[test]
fn deactivating_keeps_roles_denies_everything_and_revokes_tokens() {
    let mut snap = staffed();
    set_space(&mut snap, "admin", "s2", SpaceRole::Facilitator);
    let change = deactivate(&snap, &by("owner"), &uid("admin"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::Deactivated {
            user_id: uid("admin")
        }]
    );
    assert!(revokes_tokens(
        &change,
        "admin",
        RevokeReason::MemberDeactivated
    ));
    apply(&mut snap, &change);
    assert_eq!(role_of(&snap, "admin"), ADMIN);
    assert_eq!(
        space_roles(&snap, "admin"),
        [("s2".to_string(), SpaceRole::Facilitator)]
    );
    for a in Action::ALL {
        assert!(!allowed(&snap, "admin", *a, Resource::Organization), "{a}");
        assert!(
            !allowed(&snap, "admin", *a, Resource::Space(&sid("s2"))),
            "{a}"
        );
    }
}

#[test]
fn reactivating_restores_what_the_member_held() {
    let mut snap = staffed();
    deactivated(&mut snap, "admin");
    let change = reactivate(&snap, &by("owner"), &uid("admin"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::Reactivated {
            user_id: uid("admin")
        }]
    );
    apply(&mut snap, &change);
    assert!(allowed(
        &snap,
        "admin",
        Action::MembersInvite,
        Resource::Organization
    ));
}

#[test]
fn deactivating_the_deactivated_or_reactivating_the_active_changes_nothing() {
    let mut snap = staffed();
    assert!(reactivate(&snap, &by("owner"), &uid("admin"), now())
        .unwrap()
        .is_empty());
    deactivated(&mut snap, "admin");
    assert!(deactivate(&snap, &by("owner"), &uid("admin"), now())
        .unwrap()
        .is_empty());
}

#[test]
fn removing_a_member_deletes_their_space_roles_and_revokes_tokens() {
    let mut snap = staffed();
    set_space(&mut snap, "admin", "s2", SpaceRole::Facilitator);
    let change = remove_member(&snap, &by("owner"), &uid("admin"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::LeftOrganization {
            user_id: uid("admin"),
            reason: LeaveReason::Removed
        }]
    );
    assert!(revokes_tokens(
        &change,
        "admin",
        RevokeReason::MemberRemoved
    ));
    apply(&mut snap, &change);
    assert!(!is_member(&snap, "admin"));
    assert!(snap.member_by_email(&email("admin@example.com")).is_none());
    assert!(snap.space_members(&sid("s2")).is_empty());
}

#[test]
fn a_removed_member_can_be_invited_again_afresh() {
    let mut snap = staffed();
    let change = remove_member(&snap, &by("owner"), &uid("admin"), now()).unwrap();
    apply(&mut snap, &change);
    let change = invite(
        &snap,
        "owner",
        &["admin@example.com"],
        space_role(SpaceRole::Participant),
        &["s1"],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    accept(&mut snap, &invited(&change)[0], "admin", now()).unwrap();
    assert_eq!(role_of(&snap, "admin"), None);
    assert_eq!(
        space_roles(&snap, "admin"),
        [("s1".to_string(), SpaceRole::Participant)]
    );
}

#[test]
fn deactivating_removing_or_reactivating_someone_absent_is_not_found() {
    let snap = staffed();
    let nobody = uid("nobody");
    let owner = by("owner");
    assert_eq!(
        deactivate(&snap, &owner, &nobody, now()),
        Err(RuleError::NotFound("member"))
    );
    assert_eq!(
        reactivate(&snap, &owner, &nobody, now()),
        Err(RuleError::NotFound("member"))
    );
    assert_eq!(
        remove_member(&snap, &owner, &nobody, now()),
        Err(RuleError::NotFound("member"))
    );
}

fn ids(users: &[&str]) -> Vec<UserId> {
    users.iter().copied().map(uid).collect()
}

/// Each person's result: `None` when it went through, else the error code.
fn results(results: &[BulkResult]) -> Vec<(&str, Option<&'static str>)> {
    results
        .iter()
        .map(|r| {
            (
                r.user_id.as_str(),
                r.outcome.as_ref().err().map(RuleError::code),
            )
        })
        .collect()
}

#[test]
fn a_bulk_action_answers_per_person_and_one_failure_hides_nothing() {
    let mut snap = staffed();
    add(&mut snap, "admin2", ADMIN);
    let (change, answers) = bulk(
        &snap,
        &by("admin"),
        BulkAction::Deactivate,
        &ids(&["member", "owner", "admin2", "nobody"]),
        now(),
    )
    .unwrap();
    assert_eq!(
        results(&answers),
        [
            ("member", None),
            ("owner", Some("forbidden")),
            ("admin2", None),
            ("nobody", Some("not_found")),
        ]
    );
    assert_eq!(
        change.outcomes(),
        [
            Outcome::Deactivated {
                user_id: uid("member")
            },
            Outcome::Deactivated {
                user_id: uid("admin2")
            }
        ]
    );
    apply(&mut snap, &change);
    assert!(!snap.member(&uid("member")).unwrap().is_active());
    assert!(snap.member(&uid("owner")).unwrap().is_active());
}

#[test]
fn a_bulk_action_decides_each_person_on_what_the_previous_ones_left() {
    // Two Owners deactivated together: the second is the last one.
    let snap = staffed();
    let (change, answers) = bulk(
        &snap,
        &Actor::Platform,
        BulkAction::Deactivate,
        &ids(&["owner", "owner2", "admin"]),
        now(),
    )
    .unwrap();
    assert_eq!(
        results(&answers),
        [
            ("owner", None),
            ("owner2", Some("last_owner")),
            ("admin", None)
        ]
    );
    assert_eq!(change.outcomes().len(), 2);
    assert_eq!(change.grant().by(), &Principal::Platform);
}

#[test]
fn bulk_remove_and_reactivate_do_what_their_single_forms_do() {
    let mut snap = staffed();
    deactivated(&mut snap, "admin");
    let (change, answers) = bulk(
        &snap,
        &by("owner"),
        BulkAction::Reactivate,
        &ids(&["admin", "member"]),
        now(),
    )
    .unwrap();
    assert_eq!(results(&answers), [("admin", None), ("member", None)]);
    assert_eq!(
        change.outcomes(),
        [Outcome::Reactivated {
            user_id: uid("admin")
        }],
        "the active member needed nothing"
    );
    let (change, answers) = bulk(
        &snap,
        &by("owner"),
        BulkAction::Remove,
        &ids(&["ia", "member"]),
        now(),
    )
    .unwrap();
    assert_eq!(results(&answers), [("ia", None), ("member", None)]);
    assert_eq!(
        left(&change),
        [
            ("ia".to_string(), LeaveReason::Removed),
            ("member".to_string(), LeaveReason::Removed)
        ]
    );
    assert_eq!(ended(&change), [("ia".to_string(), EndReason::Removed)]);
    apply(&mut snap, &change);
    assert!(!is_member(&snap, "ia") && !is_member(&snap, "member"));
}

#[test]
fn a_bulk_action_counts_each_person_once() {
    let snap = staffed();
    let (change, answers) = bulk(
        &snap,
        &by("owner"),
        BulkAction::Deactivate,
        &ids(&["member", "member", "admin", "member"]),
        now(),
    )
    .unwrap();
    assert_eq!(results(&answers), [("member", None), ("admin", None)]);
    assert_eq!(change.outcomes().len(), 2);
}

#[test]
fn a_bulk_action_names_one_to_500_distinct_people() {
    let snap = staffed();
    validation(
        bulk(&snap, &by("owner"), BulkAction::Remove, &[], now()),
        "user_ids",
    );
    let many: Vec<UserId> = (0..=MAX_BULK).map(|i| uid(&format!("u{i}"))).collect();
    validation(
        bulk(&snap, &by("owner"), BulkAction::Remove, &many, now()),
        "user_ids",
    );
    let (change, answers) = bulk(
        &snap,
        &by("owner"),
        BulkAction::Remove,
        &many[..MAX_BULK],
        now(),
    )
    .unwrap();
    assert_eq!(answers.len(), MAX_BULK);
    assert!(change.is_empty(), "none of them is a member");
    // Repeats do not count toward the limit.
    let mut repeated = many[..MAX_BULK].to_vec();
    repeated.extend(many[..MAX_BULK].iter().cloned());
    let (_, answers) = bulk(&snap, &by("owner"), BulkAction::Remove, &repeated, now()).unwrap();
    assert_eq!(answers.len(), MAX_BULK);
}

#[test]
fn a_bulk_action_by_someone_who_may_do_none_of_it_is_forbidden_as_a_whole() {
    let snap = with_program_admin();
    for actor in ["pa", "member", "stranger"] {
        for action in BulkAction::ALL.iter().copied() {
            forbidden(bulk(&snap, &by(actor), action, &ids(&["target"]), now()));
        }
    }
}
