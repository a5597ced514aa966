//! The escalation suite (SPEC §3, §4 "Who may change whom", §7): one
//! organization holding every kind of person, and each of them trying every
//! management action they must not do. Each refusal must be 403 `forbidden`
//! (a member of another organization may get 404 `not_found`) and must leave
//! the organization exactly as it was: same revision after every attempt,
//! same members, seats, invitations, tokens, spaces, allowlist and audit
//! log at the end. Positive controls show the same requests succeed for the
//! people allowed to make them, so a refusal is refused for the right
//! reason.

mod powers;
mod world;

use reqwest::{Method, StatusCode};
use roster_core::{ActorKind, AuditAction, MemberStatus, OrgRole, SpaceId, SpaceRole, UserId};
use roster_server::views::{BulkView, SpaceMemberView, SpaceRoleView};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::{json, Value};

use crate::common::{send, spawn, Answer, TestApp};
use powers::{
    admin_area_powers, owner_powers, platform_powers, s1_powers, s2_powers, self_org_powers,
    self_space_powers, t, Try,
};
use world::{revision, state, world, World};

on_both_backends!(
    the_refusal_check_reports_an_allowed_change_as_an_escalation,
    admins_and_implementation_admins_cannot_make_or_unmake_owners_or_delete_the_org,
    a_program_admin_cannot_touch_org_roles_settings_audit_tokens_or_other_spaces,
    facilitators_participants_and_sponsors_cannot_manage_anyone_even_in_their_own_space,
    deactivated_expired_and_outside_people_can_do_nothing_here,
    only_the_platform_operator_sets_the_allowlist_and_seat_limits_not_even_an_owner,
    an_implementation_admin_cannot_be_made_owner_even_by_an_owner,
    a_program_admin_can_add_an_existing_member_to_its_space_but_gets_403_for_another,
    an_admin_can_deactivate_a_facilitator_but_not_an_owner,
    the_last_active_owner_cannot_be_demoted_deactivated_removed_or_leave,
    a_participant_or_sponsor_who_is_an_org_admin_keeps_org_powers_but_not_space_powers_there,
    a_token_acts_only_as_its_owner_whatever_headers_it_sends,
    a_member_of_another_organization_is_not_found_here,
);

/// Acting as `actor`, every attempt is refused with one of `codes` (403 for
/// `forbidden`, 404 for `not_found`) and the organization's revision does
/// not move. Answers the failures, one line each.
async fn refused(
    app: &TestApp,
    w: &World,
    who: &str,
    actor: &UserId,
    tries: &[Try],
    codes: &[&str],
) -> Vec<String> {
    let mut failures = Vec::new();
    for attempt in tries {
        let before = revision(app, &w.org).await;
        let a = app
            .call(
                attempt.method.clone(),
                &attempt.path,
                Some(actor),
                attempt.body.clone(),
            )
            .await;
        let line = format!(
            "{who} could {}? {} {} {} -> {} {}",
            attempt.what,
            attempt.method,
            attempt.path,
            attempt
                .body
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default(),
            a.status,
            a.text
        );
        let refused_as_expected = |status: StatusCode, code: &str| {
            codes.contains(&code)
                && match code {
                    "forbidden" => status == StatusCode::FORBIDDEN,
                    "not_found" => status == StatusCode::NOT_FOUND,
                    _ => false,
                }
        };
        let ok = if attempt.path.ends_with("/members/bulk") && a.status == StatusCode::OK {
            // Bulk answers per user: each one must be refused.
            let bulk: BulkView = a.typed("a bulk answer");
            !bulk.results.is_empty()
                && bulk
                    .results
                    .iter()
                    .all(|r| !r.ok && codes.contains(&r.code.as_deref().unwrap_or("")))
        } else {
            refused_as_expected(a.status, a.code())
        };
        if !ok {
            failures.push(format!("NOT REFUSED: {line}"));
        }
        let after = revision(app, &w.org).await;
        if after != before {
            failures.push(format!(
                "CHANGED the organization (revision {before:?} -> {after:?}): {line}"
            ));
        }
    }
    failures
}

fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} escalation(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A request with a user token and, in addition, an `X-Roster-Actor` header.
async fn with_token_and_actor(
    app: &TestApp,
    method: Method,
    path: &str,
    secret: &str,
    actor: &UserId,
    body: Option<Value>,
) -> Answer {
    let request = app
        .request(method, path)
        .bearer_auth(secret)
        .header("X-Roster-Actor", actor.as_str());
    send(match body {
        Some(body) => request.json(&body),
        None => request,
    })
    .await
}

const FORBIDDEN: &[&str] = &["forbidden"];

async fn the_refusal_check_reports_an_allowed_change_as_an_escalation(db: TestDb) {
    let app = spawn(db).await;
    // The checker itself can fail: an Owner doing Owner things is
    // reported as not refused and as a change.
    let w = world(&app).await;
    let tries = vec![
        t(
            "make a facilitator Admin",
            Method::PATCH,
            format!("{}/members/{}", w.o(), w.fac),
            Some(json!({"org_role": "admin"})),
        ),
        t(
            "view the audit log",
            Method::GET,
            format!("{}/audit", w.o()),
            None,
        ),
    ];
    let failures = refused(&app, &w, "the first Owner", &w.owner1, &tries, FORBIDDEN).await;
    assert_eq!(failures.len(), 3, "{failures:#?}");
    assert!(
        failures[0].starts_with("NOT REFUSED")
            && failures[1].starts_with("CHANGED")
            && failures[2].starts_with("NOT REFUSED"),
        "{failures:#?}"
    );
    app.stop().await;
}

async fn admins_and_implementation_admins_cannot_make_or_unmake_owners_or_delete_the_org(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let start = state(&app, &w).await;
    let mut failures = Vec::new();
    for (who, me) in [
        ("the Admin", &w.admin),
        ("the Implementation Admin", &w.ia),
        ("the participant-locked Admin", &w.admin_part),
    ] {
        let mut tries = owner_powers(&w);
        tries.extend(platform_powers(&w));
        let current = if *me == w.ia {
            "implementation_admin"
        } else {
            "admin"
        };
        tries.extend(self_org_powers(&w, me, Some(current)));
        failures.extend(refused(&app, &w, who, me, &tries, FORBIDDEN).await);
    }
    // An Implementation Admin can neither shed nor stretch its time limit.
    let me = format!("{}/members/{}", w.o(), w.ia);
    let tries = vec![
        t(
            "extend its own assignment to forever",
            Method::PATCH,
            me.clone(),
            Some(json!({"org_role": "implementation_admin", "duration": "forever"})),
        ),
        t(
            "renew its own assignment",
            Method::PATCH,
            me,
            Some(json!({"org_role": "implementation_admin", "duration": "6_months"})),
        ),
    ];
    failures.extend(
        refused(
            &app,
            &w,
            "the Implementation Admin",
            &w.ia,
            &tries,
            FORBIDDEN,
        )
        .await,
    );
    assert_no_failures(&failures);
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    app.stop().await;
}

async fn a_program_admin_cannot_touch_org_roles_settings_audit_tokens_or_other_spaces(db: TestDb) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let start = state(&app, &w).await;
    let mut tries = owner_powers(&w);
    tries.extend(platform_powers(&w));
    tries.extend(admin_area_powers(&w));
    tries.extend(s2_powers(&w));
    tries.extend(self_org_powers(&w, &w.pa, None));
    tries.extend(self_space_powers(&w, &w.pa, &[&w.s2]));
    let failures = refused(
        &app,
        &w,
        "the Program Admin of S1",
        &w.pa,
        &tries,
        FORBIDDEN,
    )
    .await;
    assert_no_failures(&failures);
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    app.stop().await;
}

async fn facilitators_participants_and_sponsors_cannot_manage_anyone_even_in_their_own_space(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let start = state(&app, &w).await;
    let mut failures = Vec::new();
    for (who, me) in [
        ("the Facilitator of S1", &w.fac),
        ("the Participant of S1", &w.part),
        ("the Sponsor of S1", &w.sponsor),
    ] {
        let mut tries = owner_powers(&w);
        tries.extend(platform_powers(&w));
        tries.extend(admin_area_powers(&w));
        tries.extend(s1_powers(&w));
        tries.extend(s2_powers(&w));
        tries.extend(self_org_powers(&w, me, None));
        tries.extend(self_space_powers(&w, me, &[&w.s1, &w.s2]));
        failures.extend(refused(&app, &w, who, me, &tries, FORBIDDEN).await);
    }
    assert_no_failures(&failures);
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    app.stop().await;
}

async fn deactivated_expired_and_outside_people_can_do_nothing_here(db: TestDb) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let start = state(&app, &w).await;
    let mut failures = Vec::new();
    let everything = |me: &UserId| {
        let mut tries = owner_powers(&w);
        tries.extend(platform_powers(&w));
        tries.extend(admin_area_powers(&w));
        tries.extend(s1_powers(&w));
        tries.extend(s2_powers(&w));
        if *me != w.expired_ia {
            tries.extend(self_org_powers(&w, me, None));
        }
        tries.extend(self_space_powers(&w, me, &[&w.s1, &w.s2]));
        tries.push(t(
            "create a token",
            Method::POST,
            format!("{}/tokens", w.o()),
            Some(json!({"kind": "mcp", "name": "backdoor"})),
        ));
        tries.push(t(
            "reactivate oneself",
            Method::POST,
            format!("{}/members/{me}/reactivate", w.o()),
            Some(json!({})),
        ));
        tries
    };
    failures.extend(
        refused(
            &app,
            &w,
            "the deactivated Owner",
            &w.deact_owner,
            &everything(&w.deact_owner),
            FORBIDDEN,
        )
        .await,
    );
    failures.extend(
        refused(
            &app,
            &w,
            "the expired Implementation Admin",
            &w.expired_ia,
            &everything(&w.expired_ia),
            FORBIDDEN,
        )
        .await,
    );
    // Its own membership is already gone (SPEC §4 rule 2), so acting on
    // itself may also answer 404.
    failures.extend(
        refused(
            &app,
            &w,
            "the expired Implementation Admin",
            &w.expired_ia,
            &self_org_powers(&w, &w.expired_ia, None),
            &["forbidden", "not_found"],
        )
        .await,
    );
    failures.extend(
        refused(
            &app,
            &w,
            "a member of another organization",
            &w.outsider,
            &everything(&w.outsider),
            &["forbidden", "not_found"],
        )
        .await,
    );
    assert_no_failures(&failures);

    // Their own credentials do no better: the deactivated Owner's token
    // was revoked, the outsider's belongs to another organization.
    let o = w.o();
    app.call_with_token(
        Method::GET,
        &format!("{o}/members"),
        &w.deact_owner_secret,
        None,
    )
    .await
    .assert_status(StatusCode::UNAUTHORIZED, "the deactivated Owner's token");
    for (what, method, path, body) in [
        (
            "make itself Owner here",
            Method::PATCH,
            format!("{o}/members/{}", w.outsider),
            json!({"org_role": "owner"}),
        ),
        (
            "make a member here Owner",
            Method::PATCH,
            format!("{o}/members/{}", w.part2),
            json!({"org_role": "owner"}),
        ),
        (
            "invite an Admin here",
            Method::POST,
            format!("{o}/invitations"),
            json!({"emails": ["x@acme.test"], "role": "admin"}),
        ),
    ] {
        app.call_with_token(method, &path, &w.outsider_secret, Some(body))
            .await
            .problem(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("the outsider's token could {what}"),
            );
    }
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    app.stop().await;
}

async fn only_the_platform_operator_sets_the_allowlist_and_seat_limits_not_even_an_owner(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let start = state(&app, &w).await;
    let mut failures = Vec::new();
    for (who, me) in [
        ("the first Owner", &w.owner1),
        ("the Owner who is Sponsor", &w.owner_sponsor),
        ("the Admin", &w.admin),
        ("the Implementation Admin", &w.ia),
    ] {
        failures.extend(refused(&app, &w, who, me, &platform_powers(&w), FORBIDDEN).await);
    }
    assert_no_failures(&failures);
    assert_eq!(state(&app, &w).await, start, "nothing changed");

    // Positive control: the platform key itself may.
    let audit_before = app.audit(&w.org).await.len();
    let set = app
        .put_domains(&w.org, None, &["partner.test", "other.test"])
        .await
        .ok("the platform sets the allowlist");
    let mut domains = set.domains;
    domains.sort_unstable();
    assert_eq!(domains, ["other.test", "partner.test"]);
    let limited = app
        .patch_org(&w.org, None, json!({"seat_limit": 100}))
        .await
        .ok("the platform sets the seat limit");
    assert_eq!(limited.seat_limit, Some(100));
    let audit = app.audit(&w.org).await;
    assert_eq!(audit.len(), audit_before + 2, "both changes are audited");
    assert!(audit.iter().any(|e| {
        e.action == AuditAction::AllowlistChanged && e.actor.kind == ActorKind::Platform
    }));
    app.stop().await;
}

async fn an_implementation_admin_cannot_be_made_owner_even_by_an_owner(db: TestDb) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let start = state(&app, &w).await;
    let make_owner = json!({"org_role": "owner"});
    for (who, actor) in [
        ("an Owner", Some(&w.owner1)),
        ("another Owner", Some(&w.owner_sponsor)),
        ("the platform", None),
    ] {
        app.patch_member(&w.org, &w.ia, actor, make_owner.clone())
            .await
            .problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("{who} makes the Implementation Admin Owner"),
            );
    }
    // Not through an invitation either.
    app.post_invitations(
        &w.org,
        Some(&w.owner1),
        json!({"emails": ["ia@partner.test"], "role": "owner"}),
    )
    .await
    .problem(
        StatusCode::CONFLICT,
        "already_member",
        "an Owner invites the Implementation Admin as Owner",
    );
    // Nor by the Implementation Admin itself.
    app.patch_member(&w.org, &w.ia, Some(&w.ia), make_owner.clone())
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the Implementation Admin makes itself Owner",
        );
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    assert_eq!(
        app.member(&w.org, &w.ia).await.org_role,
        Some(OrgRole::ImplementationAdmin)
    );

    // Positive control: the same Owner may make the Admin an Owner.
    let promoted = app
        .patch_member(&w.org, &w.admin, Some(&w.owner1), make_owner)
        .await
        .ok("an Owner makes the Admin Owner");
    assert_eq!(promoted.member.org_role, Some(OrgRole::Owner));
    app.stop().await;
}

async fn a_program_admin_can_add_an_existing_member_to_its_space_but_gets_403_for_another(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let (org, s1, s2) = (&w.org, &w.s1, &w.s2);
    let role_in = |space: &SpaceId, role| SpaceRoleView {
        space_id: space.clone(),
        role,
    };
    // Adds an existing member to S1.
    app.put_space_member(org, s1, &w.part2, Some(&w.pa), "facilitator")
        .await
        .ok("the Program Admin adds a member to S1");
    let m = app.member(org, &w.part2).await;
    assert!(
        m.space_roles.contains(&role_in(s1, SpaceRole::Facilitator)),
        "{m:?}"
    );
    // Changes a role in S1 and invites a new person into S1.
    app.put_space_member(org, s1, &w.part2, Some(&w.pa), "participant")
        .await
        .ok("the Program Admin changes a role in S1");
    app.post_invitations(
        org,
        Some(&w.pa),
        json!({"emails": ["newbie@acme.test"], "role": "participant", "space_ids": [s1]}),
    )
    .await
    .ok("the Program Admin invites into S1");

    let start = state(&app, &w).await;
    // The same requests for S2 are refused and change nothing.
    let refusals = [
        (
            "change the Facilitator's role in S2",
            app.put_space_member(org, s2, &w.fac, Some(&w.pa), "participant")
                .await
                .into_answer(),
        ),
        (
            "change a participant's role in S2",
            app.put_space_member(org, s2, &w.part2, Some(&w.pa), "facilitator")
                .await
                .into_answer(),
        ),
        (
            "invite into S2",
            app.post_invitations(
                org,
                Some(&w.pa),
                json!({"emails": ["s2-newbie@acme.test"], "role": "participant", "space_ids": [s2]}),
            )
            .await
            .into_answer(),
        ),
        (
            "invite with a batch naming S1 and S2",
            app.post_invitations(
                org,
                Some(&w.pa),
                json!({"emails": ["both@acme.test"], "role": "participant", "space_ids": [s1, s2]}),
            )
            .await
            .into_answer(),
        ),
        (
            "remove a participant from S2",
            app.delete_space_member(org, s2, &w.part2, Some(&w.pa))
                .await
                .into_answer(),
        ),
        // Never org roles, not even for people of its own space.
        (
            "make a participant of S1 Admin",
            app.patch_member(org, &w.part, Some(&w.pa), json!({"org_role": "admin"}))
                .await
                .into_answer(),
        ),
        (
            "deactivate a participant of S1",
            app.deactivate(org, &w.part, Some(&w.pa))
                .await
                .into_answer(),
        ),
    ];
    for (what, a) in refusals {
        a.problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("the Program Admin of S1 could {what}"),
        );
    }
    assert_eq!(state(&app, &w).await, start, "nothing changed");

    // And it removes the member it added to S1.
    let removed = app
        .delete_space_member(org, s1, &w.part2, Some(&w.pa))
        .await
        .ok("the Program Admin removes a member from S1");
    assert_eq!(removed.retained_access, None);
    let m = app.member(org, &w.part2).await;
    assert_eq!(m.space_roles, vec![role_in(s2, SpaceRole::Participant)]);
    app.stop().await;
}

async fn an_admin_can_deactivate_a_facilitator_but_not_an_owner(db: TestDb) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let deactivated = app
        .deactivate(&w.org, &w.fac, Some(&w.admin))
        .await
        .ok("the Admin deactivates the Facilitator");
    assert_eq!(deactivated.status, MemberStatus::Deactivated);
    assert!(
        !app.decide(
            &w.org,
            &w.fac,
            "space.view",
            json!({"type": "space", "id": w.s1})
        )
        .await
    );

    let start = state(&app, &w).await;
    for (who, actor) in [("the Admin", &w.admin), ("the Implementation Admin", &w.ia)] {
        app.deactivate(&w.org, &w.owner2, Some(actor))
            .await
            .problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("{who} deactivates an Owner"),
            );
    }
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    let m = app.member(&w.org, &w.owner2).await;
    assert_eq!(
        (m.status, m.org_role),
        (MemberStatus::Active, Some(OrgRole::Owner))
    );

    let reactivated = app
        .reactivate(&w.org, &w.fac, Some(&w.ia))
        .await
        .ok("the Implementation Admin reactivates the Facilitator");
    assert_eq!(reactivated.status, MemberStatus::Active);
    app.stop().await;
}

async fn the_last_active_owner_cannot_be_demoted_deactivated_removed_or_leave(db: TestDb) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let org = &w.org;
    // Three active Owners (and a deactivated one): two may go.
    app.patch_member(
        org,
        &w.owner2,
        Some(&w.owner1),
        json!({"org_role": "admin"}),
    )
    .await
    .ok("demote the second Owner");
    app.deactivate(org, &w.owner_sponsor, Some(&w.owner1))
        .await
        .ok("deactivate the third Owner");

    let start = state(&app, &w).await;
    let me = &w.owner1;
    let attempts: Vec<(&str, Answer)> = vec![
        (
            "the last Owner drops its own role",
            app.patch_member(org, me, Some(me), json!({"org_role": null}))
                .await
                .into_answer(),
        ),
        (
            "the last Owner deactivates itself",
            app.deactivate(org, me, Some(me)).await.into_answer(),
        ),
        (
            "the last Owner leaves the organization",
            app.delete_member(org, me, Some(me)).await.into_answer(),
        ),
        (
            "the platform demotes the last Owner",
            app.patch_member(org, me, None, json!({"org_role": "admin"}))
                .await
                .into_answer(),
        ),
        (
            "the platform deactivates the last Owner",
            app.deactivate(org, me, None).await.into_answer(),
        ),
        (
            "the platform removes the last Owner",
            app.delete_member(org, me, None).await.into_answer(),
        ),
    ];
    for (what, a) in attempts {
        a.problem(StatusCode::CONFLICT, "last_owner", what);
    }
    let results = app
        .bulk(
            org,
            Some(me),
            json!({"action": "deactivate", "user_ids": [me]}),
        )
        .await
        .ok("bulk")
        .results;
    assert_eq!(
        (results[0].ok, results[0].code.as_deref()),
        (false, Some("last_owner")),
        "{results:?}"
    );
    // The demoted Owner cannot take the role back.
    app.patch_member(
        org,
        &w.owner2,
        Some(&w.owner2),
        json!({"org_role": "owner"}),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "the demoted Owner takes the role back",
    );
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    let owners = app.members(org, "role=owner&status=active").await;
    assert_eq!(owners.len(), 1, "{owners:?}");

    // Once another Owner is active again, the first one may go.
    app.reactivate(org, &w.deact_owner, Some(&w.owner1))
        .await
        .ok("reactivate an Owner");
    app.patch_member(org, me, Some(&w.deact_owner), json!({"org_role": "admin"}))
        .await
        .ok("demote the former last Owner");
    app.stop().await;
}

async fn a_participant_or_sponsor_who_is_an_org_admin_keeps_org_powers_but_not_space_powers_there(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let org = &w.org;
    let s1 = json!({"type": "space", "id": w.s1});
    let s2 = json!({"type": "space", "id": w.s2});
    let org_res = json!({"type": "organization", "id": org});
    for (who, me) in [
        ("participant-locked Admin", &w.admin_part),
        ("sponsor Owner", &w.owner_sponsor),
    ] {
        for action in [
            "activity.create",
            "members.manage",
            "structure.manage",
            "events.manage",
            "feed.moderate",
        ] {
            assert!(
                !app.decide(org, me, action, s1.clone()).await,
                "{who} may {action} in S1"
            );
            assert!(
                app.decide(org, me, action, s2.clone()).await,
                "{who} may not {action} in S2"
            );
        }
        assert!(
            app.decide(org, me, "space.view", s1.clone()).await,
            "{who} views S1"
        );
        assert!(
            app.decide(org, me, "spaces.manage", s1.clone()).await,
            "{who} keeps spaces.manage on S1"
        );
        assert!(
            app.decide(org, me, "members.change_role", org_res.clone())
                .await,
            "{who} keeps org actions"
        );
    }
    assert!(
        !app.decide(org, &w.admin_part, "owner.assign", org_res.clone())
            .await
    );
    assert!(
        app.decide(org, &w.owner_sponsor, "owner.assign", org_res.clone())
            .await
    );
    assert!(
        !app.decide(org, &w.owner_sponsor, "feed.post", s1.clone())
            .await,
        "a sponsor is read-only"
    );
    assert!(
        app.decide(org, &w.admin_part, "feed.post", s1.clone())
            .await,
        "a participant posts"
    );
    app.stop().await;
}

async fn a_token_acts_only_as_its_owner_whatever_headers_it_sends(db: TestDb) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let o = w.o();
    let start = state(&app, &w).await;
    // A participant's token claiming to act as the Owner.
    for (what, method, path, body) in [
        (
            "make someone Owner",
            Method::PATCH,
            format!("{o}/members/{}", w.part2),
            Some(json!({"org_role": "owner"})),
        ),
        (
            "make itself Owner",
            Method::PATCH,
            format!("{o}/members/{}", w.part),
            Some(json!({"org_role": "owner"})),
        ),
        (
            "invite an Admin",
            Method::POST,
            format!("{o}/invitations"),
            Some(json!({"emails": ["a@acme.test"], "role": "admin"})),
        ),
        (
            "view the audit log",
            Method::GET,
            format!("{o}/audit"),
            None,
        ),
        (
            "revoke the Owner's token",
            Method::DELETE,
            format!("{o}/tokens/{}", w.owner1_token),
            None,
        ),
    ] {
        with_token_and_actor(&app, method, &path, &w.part_secret, &w.owner1, body)
            .await
            .problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("a participant's token with X-Roster-Actor of the Owner could {what}"),
            );
    }
    // An Admin's token cannot assign Owner; a Program Admin's stays in S1.
    app.call_with_token(
        Method::PATCH,
        &format!("{o}/members/{}", w.part2),
        &w.admin_secret,
        Some(json!({"org_role": "owner"})),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "an Admin's token assigns Owner",
    );
    app.call_with_token(
        Method::PUT,
        &format!("{o}/spaces/{}/members/{}", w.s2, w.pa),
        &w.pa_secret,
        Some(json!({"role": "program_admin"})),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a Program Admin's token reaches into S2",
    );
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    let _: SpaceMemberView = app
        .call_with_token(
            Method::PUT,
            &format!("{o}/spaces/{}/members/{}", w.s1, w.part2),
            &w.pa_secret,
            Some(json!({"role": "participant"})),
        )
        .await
        .read(
            StatusCode::OK,
            "the Program Admin's token adds a member to S1",
        );
    app.stop().await;
}

async fn a_member_of_another_organization_is_not_found_here(db: TestDb) {
    let app = spawn(db).await;
    let w = world(&app).await;
    let (org, outsider) = (&w.org, &w.outsider);
    let start = state(&app, &w).await;
    let owner = Some(&w.owner1);
    for (what, a) in [
        (
            "read",
            app.get_member(org, outsider, owner).await.into_answer(),
        ),
        (
            "make Admin",
            app.patch_member(org, outsider, owner, json!({"org_role": "admin"}))
                .await
                .into_answer(),
        ),
        (
            "make Owner",
            app.patch_member(org, outsider, owner, json!({"org_role": "owner"}))
                .await
                .into_answer(),
        ),
        (
            "deactivate",
            app.deactivate(org, outsider, owner).await.into_answer(),
        ),
        (
            "remove",
            app.delete_member(org, outsider, owner).await.into_answer(),
        ),
        (
            "add to S1",
            app.put_space_member(org, &w.s1, outsider, owner, "participant")
                .await
                .into_answer(),
        ),
        (
            "add to S1 as its Program Admin",
            app.put_space_member(org, &w.s1, outsider, Some(&w.pa), "facilitator")
                .await
                .into_answer(),
        ),
    ] {
        a.problem(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("an Owner could {what} a member of another organization"),
        );
    }
    let results = app
        .bulk(
            org,
            owner,
            json!({"action": "deactivate", "user_ids": [outsider]}),
        )
        .await
        .ok("bulk")
        .results;
    assert_eq!(results[0].code.as_deref(), Some("not_found"), "{results:?}");
    // Nor does this organization's Owner reach into the other one.
    for (what, a) in [
        (
            "demote its Owner",
            app.patch_member(&w.org_b, outsider, owner, json!({"org_role": "admin"}))
                .await
                .into_answer(),
        ),
        (
            "invite an Owner",
            app.post_invitations(
                &w.org_b,
                owner,
                json!({"emails": ["spy@acme.test"], "role": "owner"}),
            )
            .await
            .into_answer(),
        ),
        (
            "delete it",
            app.delete_org(&w.org_b, owner).await.into_answer(),
        ),
    ] {
        assert!(
            matches!(
                (a.status, a.code()),
                (StatusCode::FORBIDDEN, "forbidden") | (StatusCode::NOT_FOUND, "not_found")
            ),
            "an Owner of one organization could {what} in another: {a:?}"
        );
    }
    assert_eq!(state(&app, &w).await, start, "nothing changed");
    app.stop().await;
}
