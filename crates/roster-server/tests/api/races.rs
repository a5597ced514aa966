//! Invariants under concurrent writers (SPEC §3, §4, §13): real parallel
//! HTTP requests against the real server, released together by a barrier,
//! on SQLite and on PostgreSQL. Each scenario is repeated [`rounds`] times
//! (20 in CI; `ROSTER_RACE_ROUNDS=1000` is the long form recorded in
//! docs/benchmarks.md) so that an unserialized read-check-write shows up.

use std::sync::Arc;
use std::time::Instant;

use reqwest::{Method, StatusCode};
use roster_core::{
    ActorKind, AuditAction, InvitationId, InvitationStatus, OrgId, OrgRole, SpaceId, SpaceRole,
    Trigger, UserId,
};
use roster_server::http::platform::SweepView;
use roster_server::views::{AcceptedView, AuditEntryView, BulkView, RoleChangeView};
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
    concurrent_accepts_and_reactivations_share_the_last_seats_exactly,
    accepts_race_for_the_last_seats_once_the_limit_is_lowered_below_the_reservations,
    accept_and_revoke_of_one_invitation_at_the_same_instant_have_exactly_one_winner,
    expiry_and_manual_removal_of_an_implementation_admin_at_the_same_instant_end_it_once,
);

/// How many times each race is run unless `ROSTER_RACE_ROUNDS` says otherwise.
const DEFAULT_ROUNDS: usize = 20;

/// `ROSTER_RACE_ROUNDS` when set (the long form runs 1000), else [`DEFAULT_ROUNDS`].
fn rounds() -> usize {
    match std::env::var("ROSTER_RACE_ROUNDS") {
        Ok(value) => value
            .trim()
            .parse()
            .ok()
            .filter(|n: &usize| *n > 0)
            .unwrap_or_else(|| {
                panic!("ROSTER_RACE_ROUNDS must be a positive number of rounds, not {value:?}")
            }),
        Err(_) => DEFAULT_ROUNDS,
    }
}

/// Says how many rounds ran without a violation and how long they took
/// (seen with `--show-output`; the figures of docs/benchmarks.md).
fn finished(rounds: usize, started: Instant) {
    println!(
        "{rounds} rounds, 0 violations, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

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
    let (rounds, started) = (rounds(), Instant::now());
    let app = spawn(db).await;
    let (org, a) = app.create_org("Duel", "duel-a@race.test", None).await;
    let b = app
        .add_member(&org, &a, "duel-b@race.test", "owner", &[], None)
        .await;
    let member = |u: &UserId| format!("/v1/orgs/{org}/members/{u}");
    let mut loser_codes = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..rounds {
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
        *loser_codes.entry(loser.code().to_owned()).or_default() += 1;
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
    finished(rounds, started);
    app.stop().await;
}

async fn two_owners_leaving_at_the_same_instant_leave_one_owner_and_the_other_gets_last_owner(
    db: TestDb,
) {
    let (rounds, started) = (rounds(), Instant::now());
    let app = spawn(db).await;
    for round in 0..rounds {
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
    finished(rounds, started);
    app.stop().await;
}

async fn concurrent_invitations_never_take_seats_past_the_limit(db: TestDb) {
    let (rounds, started) = (rounds(), Instant::now());
    let app = spawn(db).await;
    // 8 invitations of seat-using roles race for the 3 free seats of a
    // 4-seat organization (its Owner holds the fourth).
    const RACERS: usize = 8;
    const FREE: u32 = 3;
    for round in 0..rounds {
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
    finished(rounds, started);
    app.stop().await;
}

async fn concurrent_promotions_and_invitations_share_the_last_seats_exactly(db: TestDb) {
    let (rounds, started) = (rounds(), Instant::now());
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
    for round in 0..rounds {
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
    finished(rounds, started);
    app.stop().await;
}

async fn concurrent_space_role_changes_for_one_person_leave_exactly_one_role(db: TestDb) {
    let (rounds, started) = (rounds(), Instant::now());
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
    let mut seen = 0;
    for round in 0..rounds {
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
        // The audit log's newest change is the role that stayed. Only this
        // round's entries are read (the cursor is the last seq seen), so a
        // long run never outgrows one page.
        let audit = app
            .get_audit(
                &org,
                None,
                &format!("?action=space_role.set&target_user_id={user}&limit=500&cursor={seen}"),
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
        seen = newest.seq;
    }
    finished(rounds, started);
    app.stop().await;
}

async fn concurrent_bulk_deactivation_of_all_owners_never_leaves_zero_active_owners(db: TestDb) {
    let (rounds, started) = (rounds(), Instant::now());
    let app = spawn(db).await;
    for round in 0..rounds {
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
    finished(rounds, started);
    app.stop().await;
}

/// A member of `org` with a seat-using role (`i` picks which), then
/// deactivated: they hold no seat until reactivated.
async fn deactivated_member(
    app: &TestApp,
    org: &OrgId,
    owner: &UserId,
    space: &SpaceId,
    email: &str,
    i: usize,
) -> UserId {
    let (role, spaces): (&str, &[&SpaceId]) = if i.is_multiple_of(2) {
        ("admin", &[])
    } else {
        ("facilitator", &[space])
    };
    let user = app.add_member(org, owner, email, role, spaces, None).await;
    app.deactivate(org, &user, Some(owner))
        .await
        .ok("deactivate a seat holder");
    user
}

/// A pending invitation of `email` to a seat-using role (`i` picks which);
/// answers the token from its email.
async fn seat_invitation(
    app: &TestApp,
    org: &OrgId,
    owner: &UserId,
    space: &SpaceId,
    email: &str,
    i: usize,
) -> String {
    let body = match i % 4 {
        0 => json!({"emails": [email], "role": "facilitator", "space_ids": [space]}),
        1 => json!({"emails": [email], "role": "program_admin", "space_ids": [space]}),
        2 => json!({"emails": [email], "role": "sponsor", "space_ids": [space]}),
        _ => json!({"emails": [email], "role": "admin"}),
    };
    app.post_invitations(org, Some(owner), body)
        .await
        .ok("invite a seat-using role");
    app.invitation_token(email).await
}

/// The status the invitation list shows for `id`.
async fn invitation_status(app: &TestApp, org: &OrgId, id: &InvitationId) -> InvitationStatus {
    app.invitations(org, "")
        .await
        .into_iter()
        .find(|i| &i.id == id)
        .map(|i| i.status)
        .expect("the invitation is listed")
}

fn accept_call(token: &str) -> Call {
    call(
        Method::POST,
        "/v1/invitations/accept".to_owned(),
        None,
        Some(json!({"token": token})),
    )
}

fn reactivate_call(org: &OrgId, owner: &UserId, user: &UserId) -> Call {
    call(
        Method::POST,
        format!("/v1/orgs/{org}/members/{user}/reactivate"),
        Some(owner),
        Some(json!({})),
    )
}

/// Interleaves two lists of calls, starting with the first of `a` on even
/// rounds and of `b` on odd ones, so neither kind is always sent first.
fn interleaved(round: usize, a: Vec<Call>, b: Vec<Call>) -> Vec<Call> {
    let (first, second) = if round.is_multiple_of(2) {
        (a, b)
    } else {
        (b, a)
    };
    let mut first = first.into_iter();
    let mut second = second.into_iter();
    let mut calls = Vec::new();
    loop {
        match (first.next(), second.next()) {
            (None, None) => return calls,
            (x, y) => calls.extend(x.into_iter().chain(y)),
        }
    }
}

/// Counts `(succeeded, seat_limit_reached)` among `answers`; anything else
/// is a violation.
fn seat_outcomes(round: usize, what: &str, answers: &[Answer]) -> (usize, usize) {
    let mut counts = (0, 0);
    for a in answers {
        match (a.status, a.code()) {
            (StatusCode::OK, _) => counts.0 += 1,
            (StatusCode::CONFLICT, "seat_limit_reached") => counts.1 += 1,
            _ => panic!("round {round}: {what}: {:?}", summary(answers)),
        }
    }
    counts
}

async fn concurrent_accepts_and_reactivations_share_the_last_seats_exactly(db: TestDb) {
    let (rounds, started) = (rounds(), Instant::now());
    let app = spawn(db).await;
    // Three pending invitations hold their reserved seats; four deactivated
    // seat holders come back at the same instant, for the 2 seats left.
    const INVITED: usize = 3;
    const DEACTIVATED: usize = 4;
    const FREE: usize = 2;
    let limit = (1 + INVITED + FREE) as u32;
    for round in 0..rounds {
        let (org, owner) = app
            .create_org(
                "Comeback",
                &format!("back-owner{round}@race.test"),
                Some(limit),
            )
            .await;
        let space = app.create_space(&org, &owner, "Cohort").await;
        let mut deactivated = Vec::new();
        for i in 0..DEACTIVATED {
            let email = format!("back{round}-d{i}@race.test");
            deactivated.push(deactivated_member(&app, &org, &owner, &space, &email, i).await);
        }
        let mut tokens = Vec::new();
        for i in 0..INVITED {
            let email = format!("back{round}-i{i}@race.test");
            tokens.push(seat_invitation(&app, &org, &owner, &space, &email, i).await);
        }
        let s = app.seats(&org).await;
        assert_eq!(
            (s.used, s.reserved, s.available),
            (1, INVITED as u32, Some(FREE as u32)),
            "round {round}: before the race: {s:?}"
        );

        let accepts = tokens.iter().map(|t| accept_call(t)).collect();
        let reactivations = deactivated
            .iter()
            .map(|u| reactivate_call(&org, &owner, u))
            .collect();
        let answers = at_once(&app, interleaved(round, accepts, reactivations)).await;
        let (accept_answers, reactivate_answers): (Vec<Answer>, Vec<Answer>) = answers
            .into_iter()
            .partition(|a| a.request.contains("/invitations/accept"));
        // A reserved seat is the invitee's: no reactivation may take it.
        assert_eq!(
            seat_outcomes(round, "accepts", &accept_answers),
            (INVITED, 0),
            "round {round}: every invitee keeps the seat reserved for them"
        );
        assert_eq!(
            seat_outcomes(round, "reactivations", &reactivate_answers),
            (FREE, DEACTIVATED - FREE),
            "round {round}: the free seats go to exactly that many reactivations"
        );

        let s = app.seats(&org).await;
        assert_eq!(
            (s.used, s.reserved, s.available),
            (limit, 0, Some(0)),
            "round {round}: exactly full, never over: {s:?}"
        );
        let active = app.members(&org, "status=active").await;
        assert_eq!(
            active.len(),
            limit as usize,
            "round {round}: the Owner, the invitees and the reactivated: {active:?}"
        );
        let reactivated: Vec<&UserId> = deactivated
            .iter()
            .filter(|u| active.iter().any(|m| &m.user_id == *u))
            .collect();
        assert_eq!(reactivated.len(), FREE, "round {round}");
        assert!(
            app.invitations(&org, "status=pending").await.is_empty(),
            "round {round}: every invitation was accepted"
        );
        let audit = app.audit(&org).await;
        let count = |action: AuditAction| audit.iter().filter(|e| e.action == action).count();
        assert_eq!(
            (
                count(AuditAction::InvitationAccepted),
                count(AuditAction::MemberReactivated)
            ),
            (INVITED + DEACTIVATED, FREE),
            "round {round}: the audit log records what happened, once"
        );
    }
    finished(rounds, started);
    app.stop().await;
}

async fn accepts_race_for_the_last_seats_once_the_limit_is_lowered_below_the_reservations(
    db: TestDb,
) {
    let (rounds, started) = (rounds(), Instant::now());
    let app = spawn(db).await;
    // Six invitations reserve six seats; the platform then lowers the limit
    // to the Owner's seat and 3 more. Six accepts and two reactivations at
    // once: exactly three invitees get in, nobody comes back.
    const INVITED: usize = 6;
    const DEACTIVATED: usize = 2;
    const LOWERED: u32 = 4;
    for round in 0..rounds {
        let (org, owner) = app
            .create_org(
                "Shrink",
                &format!("shrink-owner{round}@race.test"),
                Some((1 + INVITED + DEACTIVATED) as u32),
            )
            .await;
        let space = app.create_space(&org, &owner, "Cohort").await;
        let mut deactivated = Vec::new();
        for i in 0..DEACTIVATED {
            let email = format!("shrink{round}-d{i}@race.test");
            deactivated.push(deactivated_member(&app, &org, &owner, &space, &email, i).await);
        }
        let mut tokens = Vec::new();
        for i in 0..INVITED {
            let email = format!("shrink{round}-i{i}@race.test");
            tokens.push(seat_invitation(&app, &org, &owner, &space, &email, i).await);
        }
        app.patch_org(&org, None, json!({"seat_limit": LOWERED}))
            .await
            .ok("lower the seat limit below the reservations");

        let accepts = tokens.iter().map(|t| accept_call(t)).collect();
        let reactivations = deactivated
            .iter()
            .map(|u| reactivate_call(&org, &owner, u))
            .collect();
        let answers = at_once(&app, interleaved(round, accepts, reactivations)).await;
        let (accept_answers, reactivate_answers): (Vec<Answer>, Vec<Answer>) = answers
            .into_iter()
            .partition(|a| a.request.contains("/invitations/accept"));
        let won = LOWERED as usize - 1;
        assert_eq!(
            seat_outcomes(round, "accepts", &accept_answers),
            (won, INVITED - won),
            "round {round}: exactly the seats under the new limit are taken"
        );
        assert_eq!(
            seat_outcomes(round, "reactivations", &reactivate_answers),
            (0, DEACTIVATED),
            "round {round}: no seat is free for a reactivation"
        );

        let s = app.seats(&org).await;
        assert_eq!(
            (s.used, s.reserved, s.available),
            (LOWERED, (INVITED - won) as u32, Some(0)),
            "round {round}: the limit is reached, never passed: {s:?}"
        );
        let active = app.members(&org, "status=active").await;
        assert_eq!(active.len(), LOWERED as usize, "round {round}: {active:?}");
        let pending = app.invitations(&org, "status=pending").await;
        assert_eq!(
            pending.len(),
            INVITED - won,
            "round {round}: a refused acceptance leaves its invitation pending"
        );
        let audit = app.audit(&org).await;
        let count = |action: AuditAction| audit.iter().filter(|e| e.action == action).count();
        assert_eq!(
            (
                count(AuditAction::InvitationAccepted),
                count(AuditAction::MemberReactivated)
            ),
            (DEACTIVATED + won, 0),
            "round {round}: the audit log records what happened, once"
        );
    }
    finished(rounds, started);
    app.stop().await;
}

async fn accept_and_revoke_of_one_invitation_at_the_same_instant_have_exactly_one_winner(
    db: TestDb,
) {
    let (rounds, started) = (rounds(), Instant::now());
    let app = spawn(db).await;
    let mut accepted_rounds = 0;
    for round in 0..rounds {
        let (org, owner) = app
            .create_org("Duel", &format!("ar-owner{round}@race.test"), Some(5))
            .await;
        let space = app.create_space(&org, &owner, "Cohort").await;
        let email = format!("ar{round}@race.test");
        let batch = app
            .post_invitations(
                &org,
                Some(&owner),
                json!({"emails": [email], "role": "facilitator", "space_ids": [space]}),
            )
            .await
            .ok("invite");
        let invitation = batch.invitations[0].id.clone();
        let token = app.invitation_token(&email).await;
        let accept = accept_call(&token);
        let revoke = call(
            Method::DELETE,
            format!("/v1/orgs/{org}/invitations/{invitation}"),
            Some(&owner),
            None,
        );
        let answers = at_once(&app, interleaved(round, vec![accept], vec![revoke])).await;
        let (accept, revoke) = if answers[0].request.contains("/invitations/accept") {
            (&answers[0], &answers[1])
        } else {
            (&answers[1], &answers[0])
        };
        let accepted = match (
            (accept.status, accept.code()),
            (revoke.status, revoke.code()),
        ) {
            ((StatusCode::OK, _), (StatusCode::NOT_FOUND, "not_found")) => true,
            ((StatusCode::CONFLICT, "invitation_not_pending"), (StatusCode::NO_CONTENT, _)) => {
                false
            }
            _ => panic!(
                "round {round}: exactly one of accept and revoke wins: {:?}",
                summary(&answers)
            ),
        };
        accepted_rounds += usize::from(accepted);

        let status = invitation_status(&app, &org, &invitation).await;
        let members = app.members(&org, &format!("q={email}")).await;
        let s = app.seats(&org).await;
        let audit = app.audit(&org).await;
        let about_it = |action: AuditAction| {
            audit
                .iter()
                .filter(|e| e.action == action && e.details["invitation_id"] == invitation.as_str())
                .count()
        };
        if accepted {
            let user = accept.typed::<AcceptedView>("the acceptance");
            assert_eq!(members.len(), 1, "round {round}: the invitee is a member");
            assert_eq!(members[0].user_id, user.user_id, "round {round}");
            let held: Vec<_> = members[0]
                .space_roles
                .iter()
                .map(|r| (r.space_id.clone(), r.role))
                .collect();
            assert_eq!(
                held,
                [(space.clone(), SpaceRole::Facilitator)],
                "round {round}"
            );
            assert_eq!(status, InvitationStatus::Accepted, "round {round}");
            assert_eq!((s.used, s.reserved), (2, 0), "round {round}: {s:?}");
        } else {
            assert!(
                members.is_empty(),
                "round {round}: nobody joined: {members:?}"
            );
            assert_eq!(status, InvitationStatus::Revoked, "round {round}");
            assert_eq!((s.used, s.reserved), (1, 0), "round {round}: {s:?}");
        }
        assert_eq!(
            (
                about_it(AuditAction::InvitationAccepted),
                about_it(AuditAction::InvitationRevoked)
            ),
            (usize::from(accepted), usize::from(!accepted)),
            "round {round}: the audit log names the one winner"
        );
        let chain = app
            .get_audit_verify(&org, None)
            .await
            .ok("verify the audit log");
        assert!(chain.ok, "round {round}: {chain:?}");
    }
    println!("accepted in {accepted_rounds} of {rounds} rounds, revoked in the others");
    finished(rounds, started);
    app.stop().await;
}

/// Past the end of a `1_month` assignment, however the months fall.
const MONTH_AND_A_DAY: i64 = 32 * 86_400;

async fn expiry_and_manual_removal_of_an_implementation_admin_at_the_same_instant_end_it_once(
    db: TestDb,
) {
    let (rounds, started) = (rounds(), Instant::now());
    let app = spawn(db).await;
    let mut by_hand = 0;
    for round in 0..rounds {
        // Alternate the removal (`DELETE` the member, or end the role) and
        // when the clock passes the expiry: before the race (the removal
        // then finds the person gone, SPEC §4 rule 2, and the job ends the
        // assignment), or as a third request of the race, so that the
        // removal sometimes comes first and the job must find nothing.
        let delete = round % 2 == 0;
        let clock_in_race = round % 4 >= 2;
        let owner_email = format!("ia-owner{round}@race.test");
        let ia_email = format!("ia{round}@upcoach.com");
        let (org, owner) = app.create_org("Northwind", &owner_email, Some(3)).await;
        app.put_domains(&org, None, &["upcoach.com"])
            .await
            .ok("set the allowlist");
        app.put_ia_setting(&org, Some(&owner), json!({"enabled": true}))
            .await
            .ok("turn the role on");
        let ia = app
            .add_member(
                &org,
                &owner,
                &ia_email,
                "implementation_admin",
                &[],
                Some("1_month"),
            )
            .await;
        let removal = if delete {
            call(
                Method::DELETE,
                format!("/v1/orgs/{org}/members/{ia}"),
                Some(&owner),
                None,
            )
        } else {
            call(
                Method::POST,
                format!("/v1/orgs/{org}/members/{ia}/remove-implementation-admin"),
                Some(&owner),
                Some(json!({"confirm": true})),
            )
        };
        let sweep = call(
            Method::POST,
            "/v1/dev/sweep".to_owned(),
            None,
            Some(json!({})),
        );
        let mut calls = vec![removal, sweep];
        if clock_in_race {
            calls.push(call(
                Method::POST,
                "/v1/dev/clock".to_owned(),
                None,
                Some(json!({"advance_seconds": MONTH_AND_A_DAY})),
            ));
        } else {
            app.advance(MONTH_AND_A_DAY).await;
        }
        let first = (round / 4) % calls.len();
        calls.rotate_left(first);
        let answers = at_once(&app, calls).await;
        assert!(
            answers.iter().all(|a| !a.status.is_server_error()),
            "round {round}: no 5xx: {:?}",
            summary(&answers)
        );
        let find = |path: &str| {
            answers
                .iter()
                .find(|a| a.request.contains(path))
                .unwrap_or_else(|| panic!("round {round}: no answer of {path}"))
        };
        let swept: SweepView = find("/v1/dev/sweep").read(StatusCode::OK, "the race's sweep");
        if clock_in_race {
            find("/v1/dev/clock").assert_status(StatusCode::OK, "move the clock");
        }
        let removal = answers
            .iter()
            .find(|a| a.request.contains(ia.as_str()))
            .unwrap();
        let removed_by_hand = match (removal.status, removal.code()) {
            (StatusCode::NO_CONTENT, _) => true,
            // The assignment had ended already: the person has left (SPEC §4 rule 2).
            (StatusCode::NOT_FOUND, "not_found") => false,
            _ => panic!("round {round}: the removal: {removal:?}"),
        };
        by_hand += usize::from(removed_by_hand);

        // The clock is past the expiry: gone, before any further job runs.
        app.get_member(&org, &ia, None).await.problem(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("round {round}: the Implementation Admin after the race"),
        );
        // A job that ran before the clock moved left the expiry to the next.
        let later = app.sweep().await;
        assert_eq!(
            swept.implementation_admins_expired
                + later.implementation_admins_expired
                + usize::from(removed_by_hand),
            1,
            "round {round}: the person leaves exactly once: {:?}",
            summary(&answers)
        );

        let audit = app.audit(&org).await;
        let about_ia = |action: AuditAction| -> Vec<&AuditEntryView> {
            audit
                .iter()
                .filter(|e| e.action == action && e.target_user_id.as_ref() == Some(&ia))
                .collect()
        };
        let ended = about_ia(AuditAction::ImplementationAdminRemoved);
        assert_eq!(ended.len(), 1, "round {round}: one entry: {ended:?}");
        let expected = if removed_by_hand {
            (Trigger::Request, ActorKind::User)
        } else {
            (Trigger::Expiry, ActorKind::SystemOnBehalfOf)
        };
        assert_eq!(
            (ended[0].trigger, ended[0].actor.kind),
            expected,
            "round {round}: {ended:?}"
        );
        assert_eq!(
            ended[0].actor.user_id.as_ref(),
            Some(&owner),
            "round {round}"
        );
        assert_eq!(
            about_ia(AuditAction::MemberRemoved).len(),
            usize::from(removed_by_hand && delete),
            "round {round}: removed as a member only by the DELETE that won"
        );
        for recipient in [&ia_email, &owner_email] {
            let emails = app
                .state
                .store
                .outbox(Some(recipient), 50)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.template.starts_with("implementation_admin_ended"))
                .count();
            assert_eq!(
                emails, 1,
                "round {round}: one \"ended\" email to {recipient}"
            );
        }
        let chain = app
            .get_audit_verify(&org, None)
            .await
            .ok("verify the audit log");
        assert!(chain.ok, "round {round}: {chain:?}");
    }
    println!("removed by hand in {by_hand} of {rounds} rounds, by the expiry job in the others");
    finished(rounds, started);
    app.stop().await;
}
