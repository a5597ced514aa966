//! Invariants under concurrent writers (SPEC §3, §4, §13): real parallel
//! HTTP requests against the real server, released together by a barrier,
//! on SQLite and on PostgreSQL. Each scenario is repeated `ROUNDS` (20)
//! times so that an unserialized read-check-write shows up.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use roster_core::{AuditAction, OrgId, OrgRole, SpaceRole, UserId};
use roster_server::views::{BulkView, RoleChangeView};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::{json, Value};
use tokio::sync::Barrier;

use crate::common::{send, spawn, Answer, TestApp};

on_both_backends!(
    two_owners_demoting_each_other_at_the_same_instant_always_leave_exactly_one_owner,
    two_owners_leaving_at_the_same_instant_leave_one_owner_and_the_other_gets_last_owner,
    concurrent_invitations_never_take_seats_past_the_limit,
    concurrent_promotions_and_invitations_share_the_last_seats_exactly,
    concurrent_space_role_changes_for_one_person_leave_exactly_one_role,
    concurrent_bulk_deactivation_of_all_owners_never_leaves_zero_active_owners,
);

/// How many times each race is run.
const ROUNDS: usize = 20;

/// One request of a race: method, path, acting user (none: the platform), body.
struct Call {
    method: Method,
    path: String,
    actor: Option<UserId>,
    body: Option<Value>,
}

fn call(method: Method, path: String, actor: Option<&UserId>, body: Option<Value>) -> Call {
    Call {
        method,
        path,
        actor: actor.cloned(),
        body,
    }
}

/// Sends every call from its own task, all released at the same instant;
/// answers in the order given.
async fn at_once(app: &TestApp, calls: Vec<Call>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|c| {
            let request = app.platform(c.method, &c.path, c.actor.as_ref());
            let request = match c.body {
                Some(body) => request.json(&body),
                None => request,
            };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                send(request).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

async fn active_owners(app: &TestApp, org: &OrgId) -> Vec<UserId> {
    app.members(org, "role=owner&status=active")
        .await
        .into_iter()
        .map(|m| m.user_id)
        .collect()
}

fn summary(answers: &[Answer]) -> Vec<String> {
    answers
        .iter()
        .map(|a| format!("{} {}", a.status.as_u16(), a.code()))
        .collect()
}

async fn two_owners_demoting_each_other_at_the_same_instant_always_leave_exactly_one_owner(
    db: TestDb,
) {
    let app = spawn(db).await;
    let (org, a) = app.create_org("Duel", "duel-a@race.test", None).await;
    let b = app
        .add_member(&org, &a, "duel-b@race.test", "owner", &[], None)
        .await;
    let member = |u: &UserId| format!("/v1/orgs/{org}/members/{u}");
    let mut loser_codes = Vec::new();
    for round in 0..ROUNDS {
        // Alternate which request is sent first.
        let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let answers = at_once(
            &app,
            vec![
                call(
                    Method::PATCH,
                    member(second),
                    Some(first),
                    Some(json!({"org_role": "admin"})),
                ),
                call(
                    Method::PATCH,
                    member(first),
                    Some(second),
                    Some(json!({"org_role": "admin"})),
                ),
            ],
        )
        .await;
        let won: Vec<usize> = (0..2)
            .filter(|i| answers[*i].status == StatusCode::OK)
            .collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: exactly one demotion succeeds: {:?}",
            summary(&answers)
        );
        let demotion: RoleChangeView = answers[won[0]].typed("the demotion");
        assert_eq!(demotion.member.org_role, Some(OrgRole::Admin));
        let loser = &answers[1 - won[0]];
        // The loser is refused: it is the last Owner (409 last_owner), or,
        // when the winner went first, it is no Owner any more (403).
        assert!(
            matches!(
                (loser.status, loser.code()),
                (StatusCode::CONFLICT, "last_owner") | (StatusCode::FORBIDDEN, "forbidden")
            ),
            "round {round}: {loser:?}"
        );
        loser_codes.push(loser.code().to_owned());
        let winner = if won[0] == 0 { first } else { second };
        let demoted = if won[0] == 0 { second } else { first };
        assert_eq!(
            active_owners(&app, &org).await,
            vec![winner.clone()],
            "round {round}: exactly one active Owner"
        );
        // Back to two Owners for the next round.
        app.patch_member(&org, demoted, Some(winner), json!({"org_role": "owner"}))
            .await
            .ok("back to two Owners");
    }
    println!("losers answered: {loser_codes:?}");
    app.stop().await;
}

async fn two_owners_leaving_at_the_same_instant_leave_one_owner_and_the_other_gets_last_owner(
    db: TestDb,
) {
    let app = spawn(db).await;
    for round in 0..ROUNDS {
        let (org, a) = app
            .create_org("Exit", &format!("exit-a{round}@race.test"), None)
            .await;
        let b = app
            .add_member(
                &org,
                &a,
                &format!("exit-b{round}@race.test"),
                "owner",
                &[],
                None,
            )
            .await;
        let answers = at_once(
            &app,
            vec![
                call(
                    Method::DELETE,
                    format!("/v1/orgs/{org}/members/{a}"),
                    Some(&a),
                    None,
                ),
                call(
                    Method::DELETE,
                    format!("/v1/orgs/{org}/members/{b}"),
                    Some(&b),
                    None,
                ),
            ],
        )
        .await;
        let mut codes = summary(&answers);
        codes.sort();
        assert_eq!(codes, ["204 ", "409 last_owner"], "round {round}");
        let owners = active_owners(&app, &org).await;
        assert_eq!(owners.len(), 1, "round {round}: {owners:?}");
        let stayed = if answers[0].status == StatusCode::CONFLICT {
            &a
        } else {
            &b
        };
        assert_eq!(&owners[0], stayed, "round {round}");
    }
    app.stop().await;
}

async fn concurrent_invitations_never_take_seats_past_the_limit(db: TestDb) {
    let app = spawn(db).await;
    // 8 invitations of seat-using roles race for the 3 free seats of a
    // 4-seat organization (its Owner holds the fourth).
    const RACERS: usize = 8;
    const FREE: u32 = 3;
    for round in 0..ROUNDS {
        let (org, owner) = app
            .create_org(
                "Seats",
                &format!("seats-owner{round}@race.test"),
                Some(1 + FREE),
            )
            .await;
        let space = app.create_space(&org, &owner, "Cohort").await;
        let calls = (0..RACERS)
            .map(|i| {
                let email = format!("seat{round}-{i}@race.test");
                let body = match i % 4 {
                    0 => json!({"emails": [email], "role": "facilitator", "space_ids": [space]}),
                    1 => json!({"emails": [email], "role": "program_admin", "space_ids": [space]}),
                    2 => json!({"emails": [email], "role": "sponsor", "space_ids": [space]}),
                    _ => json!({"emails": [email], "role": "admin"}),
                };
                call(
                    Method::POST,
                    format!("/v1/orgs/{org}/invitations"),
                    Some(&owner),
                    Some(body),
                )
            })
            .collect();
        let answers = at_once(&app, calls).await;
        let created = answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count();
        let refused = answers
            .iter()
            .filter(|a| (a.status, a.code()) == (StatusCode::CONFLICT, "seat_limit_reached"))
            .count();
        assert_eq!(
            (created, refused),
            (FREE as usize, RACERS - FREE as usize),
            "round {round}: {:?}",
            summary(&answers)
        );
        let s = app.seats(&org).await;
        assert!(
            s.used + s.reserved <= 1 + FREE,
            "round {round}: over the limit: {s:?}"
        );
        assert_eq!(
            (s.used, s.reserved, s.available),
            (1, FREE, Some(0)),
            "round {round}: {s:?}"
        );
        let pending = app.invitations(&org, "status=pending").await;
        assert_eq!(pending.len(), FREE as usize, "round {round}");
    }
    app.stop().await;
}

async fn concurrent_promotions_and_invitations_share_the_last_seats_exactly(db: TestDb) {
    let app = spawn(db).await;
    // Four participants (no seat) promoted to facilitator and four
    // facilitator invitations, all at once, for 3 free seats.
    const FREE: u32 = 3;
    let (org, owner) = app
        .create_org("Mixed", "mixed-owner@race.test", Some(1 + FREE))
        .await;
    let space = app.create_space(&org, &owner, "Cohort").await;
    let mut participants = Vec::new();
    for i in 0..4 {
        participants.push(
            app.add_member(
                &org,
                &owner,
                &format!("mixed-p{i}@race.test"),
                "participant",
                &[&space],
                None,
            )
            .await,
        );
    }
    let o = format!("/v1/orgs/{org}");
    for round in 0..ROUNDS {
        let mut calls: Vec<Call> = participants
            .iter()
            .map(|p| {
                call(
                    Method::PUT,
                    format!("{o}/spaces/{space}/members/{p}"),
                    Some(&owner),
                    Some(json!({"role": "facilitator"})),
                )
            })
            .collect();
        for i in 0..4 {
            calls.push(call(
                Method::POST,
                format!("{o}/invitations"),
                Some(&owner),
                Some(
                    json!({"emails": [format!("mixed{round}-{i}@race.test")], "role": "facilitator", "space_ids": [space]}),
                ),
            ));
        }
        let answers = at_once(&app, calls).await;
        let succeeded = answers.iter().filter(|a| a.status.is_success()).count();
        let refused = answers
            .iter()
            .filter(|a| (a.status, a.code()) == (StatusCode::CONFLICT, "seat_limit_reached"))
            .count();
        assert_eq!(
            (succeeded, refused),
            (FREE as usize, 8 - FREE as usize),
            "round {round}: {:?}",
            summary(&answers)
        );
        let s = app.seats(&org).await;
        assert_eq!(
            s.used + s.reserved,
            1 + FREE,
            "round {round}: exactly full, never over: {s:?}"
        );

        // Free the seats again: promoted people back to participant,
        // pending invitations revoked.
        for p in &participants {
            app.put_space_member(&org, &space, p, Some(&owner), "participant")
                .await
                .ok("back to participant");
        }
        for invitation in app.invitations(&org, "status=pending").await {
            app.delete_invitation(&org, &invitation.id, Some(&owner))
                .await
                .ok("revoke a pending invitation");
        }
        let s = app.seats(&org).await;
        assert_eq!((s.used, s.reserved), (1, 0), "round {round}: reset: {s:?}");
    }
    app.stop().await;
}

async fn concurrent_space_role_changes_for_one_person_leave_exactly_one_role(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Roles", "roles-owner@race.test", None).await;
    let space = app.create_space(&org, &owner, "Cohort").await;
    let user = app
        .add_member(
            &org,
            &owner,
            "roles-user@race.test",
            "participant",
            &[&space],
            None,
        )
        .await;
    let o = format!("/v1/orgs/{org}");
    let roles = [
        SpaceRole::ProgramAdmin,
        SpaceRole::Facilitator,
        SpaceRole::Participant,
        SpaceRole::Sponsor,
    ];
    for round in 0..ROUNDS {
        // Rotate the order the four requests are sent in.
        let calls = (0..roles.len())
            .map(|i| {
                let role = roles[(i + round) % roles.len()];
                call(
                    Method::PUT,
                    format!("{o}/spaces/{space}/members/{user}"),
                    Some(&owner),
                    Some(json!({"role": role})),
                )
            })
            .collect();
        let answers = at_once(&app, calls).await;
        assert!(
            answers.iter().all(|a| a.status == StatusCode::OK),
            "round {round}: {:?}",
            summary(&answers)
        );

        let member = app.member(&org, &user).await;
        let held: Vec<SpaceRole> = member
            .space_roles
            .iter()
            .filter(|r| r.space_id == space)
            .map(|r| r.role)
            .collect();
        assert_eq!(
            held.len(),
            1,
            "round {round}: one role in the space: {member:?}"
        );
        let role = held[0];
        let listed = app
            .get_space_members(&org, &space, None)
            .await
            .ok("list the space");
        let rows: Vec<_> = listed.items.iter().filter(|r| r.user_id == user).collect();
        assert_eq!(rows.len(), 1, "round {round}: listed once: {listed:?}");
        assert_eq!(
            rows[0].role,
            Some(role),
            "round {round}: the list agrees: {listed:?}"
        );
        // The audit log's newest change is the role that stayed.
        let audit = app
            .get_audit(
                &org,
                None,
                &format!("?action=space_role.set&target_user_id={user}&limit=500"),
            )
            .await
            .ok("the space role changes");
        let newest = audit.items.iter().max_by_key(|e| e.seq).unwrap();
        assert_eq!(newest.action, AuditAction::SpaceRoleSet);
        assert_eq!(
            newest.details["to"],
            role.as_str(),
            "round {round}: audit and state agree: {newest:?}"
        );
    }
    app.stop().await;
}

async fn concurrent_bulk_deactivation_of_all_owners_never_leaves_zero_active_owners(db: TestDb) {
    let app = spawn(db).await;
    for round in 0..ROUNDS {
        let (org, a) = app
            .create_org("Bulk", &format!("bulk-a{round}@race.test"), None)
            .await;
        let b = app
            .add_member(
                &org,
                &a,
                &format!("bulk-b{round}@race.test"),
                "owner",
                &[],
                None,
            )
            .await;
        let c = app
            .add_member(
                &org,
                &a,
                &format!("bulk-c{round}@race.test"),
                "owner",
                &[],
                None,
            )
            .await;
        let path = format!("/v1/orgs/{org}/members/bulk");
        let bulk = |actor: Option<&UserId>, ids: [&UserId; 3]| {
            call(
                Method::POST,
                path.clone(),
                actor,
                Some(json!({"action": "deactivate", "user_ids": ids})),
            )
        };
        let answers = at_once(
            &app,
            vec![
                bulk(Some(&a), [&a, &b, &c]),
                bulk(Some(&b), [&c, &a, &b]),
                bulk(Some(&c), [&b, &c, &a]),
                bulk(None, [&a, &b, &c]),
                bulk(None, [&c, &b, &a]),
            ],
        )
        .await;
        // An Owner whose own access a concurrent bulk just ended may do
        // none of the action any more: that request is refused whole.
        assert!(
            answers.iter().all(|x| x.status == StatusCode::OK
                || (x.status, x.code()) == (StatusCode::FORBIDDEN, "forbidden")),
            "round {round}: {:?}",
            summary(&answers)
        );
        let owners = active_owners(&app, &org).await;
        assert_eq!(
            owners.len(),
            1,
            "round {round}: exactly one active Owner stays: {owners:?} {answers:?}"
        );
        let last_owner_refusals = answers
            .iter()
            .filter(|x| x.status == StatusCode::OK)
            .flat_map(|x| x.typed::<BulkView>("a bulk answer").results)
            .filter(|r| r.code.as_deref() == Some("last_owner"))
            .count();
        assert!(
            last_owner_refusals >= 1,
            "round {round}: someone was refused as the last Owner"
        );
        // Each deactivated Owner was deactivated once, with one audit entry.
        let audit = app.audit(&org).await;
        for owner in [&a, &b, &c] {
            let entries = audit
                .iter()
                .filter(|e| {
                    e.action == AuditAction::MemberDeactivated
                        && e.target_user_id.as_ref() == Some(owner)
                })
                .count();
            let expected = usize::from(!owners.contains(owner));
            assert_eq!(
                entries, expected,
                "round {round}: deactivation entries for {owner}"
            );
        }
    }
    app.stop().await;
}
