//! The escalation suite (SPEC §3, §4 "Who may change whom", §7): one
//! organization holding every kind of person, and each of them trying every
//! management action they must not do. Each refusal must be 403 `forbidden`
//! (a member of another organization may get 404 `not_found`) and must leave
//! the organization exactly as it was: same revision after every attempt,
//! same members, seats, invitations, tokens, spaces, allowlist and audit
//! log at the end. Positive controls show the same requests succeed for the
//! people allowed to make them, so a refusal is refused for the right
//! reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Answer, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Everyone the suite acts as, in one organization (`org`), plus a member
/// of another organization (`outsider`, in `org_b`).
struct World {
    org: String,
    org_b: String,
    s1: String,
    s2: String,
    owner1: String,
    owner2: String,
    admin: String,
    ia: String,
    pa: String,
    fac: String,
    part: String,
    sponsor: String,
    /// An Admin who is Participant of S1 (participant-locked there).
    admin_part: String,
    /// An Owner who is Sponsor of S1 (read-only there).
    owner_sponsor: String,
    /// A Participant of S2 only: a spare member for the space tests.
    part2: String,
    /// An Implementation Admin whose month ran out (no sweep ran yet).
    expired_ia: String,
    /// An Owner whose membership is deactivated.
    deact_owner: String,
    /// A member (the Owner) of another organization.
    outsider: String,
    owner1_token: String,
    admin_token: String,
    part_secret: String,
    pa_secret: String,
    admin_secret: String,
    deact_owner_secret: String,
    outsider_secret: String,
    /// A pending invitation of an Owner, made by `owner1`.
    owner_invitation: String,
    /// A pending invitation of a Facilitator into S2, made by `owner1`.
    s2_invitation: String,
}

impl World {
    fn o(&self) -> String {
        format!("/v1/orgs/{}", self.org)
    }
}

fn assert_status(a: &Answer, status: StatusCode, what: &str) {
    assert_eq!(a.status, status, "{what}: {:?}", a.body);
}

async fn token(app: &TestApp, org: &str, user: &str) -> (String, String) {
    let a = app
        .post(
            &format!("/v1/orgs/{org}/tokens"),
            Some(user),
            json!({"kind": "api", "name": "automation"}),
        )
        .await;
    assert_status(&a, StatusCode::CREATED, "create a token");
    (
        a.body["id"].as_str().unwrap().to_owned(),
        a.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn invite(app: &TestApp, org: &str, actor: &str, body: Value) -> String {
    let a = app
        .post(&format!("/v1/orgs/{org}/invitations"), Some(actor), body)
        .await;
    assert_status(&a, StatusCode::CREATED, "invite");
    a.body["invitations"][0]["id"].as_str().unwrap().to_owned()
}

/// Builds the organization. The expired Implementation Admin is assigned
/// first, then the shared dev clock moves 40 days on, then everyone else
/// joins (so the current Implementation Admin's month has just begun).
async fn world(app: &TestApp) -> World {
    let (org, owner1) = app.create_org("Acme", "owner1@acme.test", None).await;
    let o = format!("/v1/orgs/{org}");
    let a = app
        .put(
            &format!("{o}/settings/implementation-admin"),
            Some(&owner1),
            json!({"enabled": true}),
        )
        .await;
    assert_status(&a, StatusCode::OK, "enable implementation admins");
    let a = app
        .put(
            &format!("{o}/implementation-admin-domains"),
            None,
            json!({"domains": ["partner.test"]}),
        )
        .await;
    assert_status(&a, StatusCode::OK, "set the allowlist");
    let expired_ia = app
        .add_member(
            &org,
            &owner1,
            "old-ia@partner.test",
            "implementation_admin",
            &[],
            Some("1_month"),
        )
        .await;
    app.advance(40 * 86_400).await;

    let s1 = app.create_space(&org, &owner1, "S1").await;
    let s2 = app.create_space(&org, &owner1, "S2").await;
    let add = |email: &'static str, role: &'static str, spaces: Vec<String>| {
        let org = org.clone();
        let owner1 = owner1.clone();
        async move {
            let spaces: Vec<&str> = spaces.iter().map(String::as_str).collect();
            app.add_member(&org, &owner1, email, role, &spaces, None)
                .await
        }
    };
    let owner2 = add("owner2@acme.test", "owner", vec![]).await;
    let admin = add("admin@acme.test", "admin", vec![]).await;
    let ia = app
        .add_member(
            &org,
            &owner1,
            "ia@partner.test",
            "implementation_admin",
            &[],
            Some("1_month"),
        )
        .await;
    let pa = add("pa@acme.test", "program_admin", vec![s1.clone()]).await;
    let fac = add("fac@acme.test", "facilitator", vec![s1.clone()]).await;
    let part = add("part@acme.test", "participant", vec![s1.clone()]).await;
    let sponsor = add("sponsor@acme.test", "sponsor", vec![s1.clone()]).await;
    let part2 = add("part2@acme.test", "participant", vec![s2.clone()]).await;
    let admin_part = add("admin-part@acme.test", "admin", vec![]).await;
    let a = app
        .put(
            &format!("{o}/spaces/{s1}/members/{admin_part}"),
            Some(&owner1),
            json!({"role": "participant"}),
        )
        .await;
    assert_status(&a, StatusCode::OK, "admin becomes participant of S1");
    let owner_sponsor = add("owner-sponsor@acme.test", "owner", vec![]).await;
    let a = app
        .put(
            &format!("{o}/spaces/{s1}/members/{owner_sponsor}"),
            Some(&owner1),
            json!({"role": "sponsor"}),
        )
        .await;
    assert_status(&a, StatusCode::OK, "owner becomes sponsor of S1");
    let deact_owner = add("gone-owner@acme.test", "owner", vec![]).await;
    let (_, deact_owner_secret) = token(app, &org, &deact_owner).await;
    let a = app
        .post(
            &format!("{o}/members/{deact_owner}/deactivate"),
            Some(&owner1),
            json!({}),
        )
        .await;
    assert_status(&a, StatusCode::OK, "deactivate an owner");

    let (org_b, outsider) = app
        .create_org("Elsewhere", "outsider@elsewhere.test", None)
        .await;
    let (_, outsider_secret) = token(app, &org_b, &outsider).await;

    let (owner1_token, _) = token(app, &org, &owner1).await;
    let (admin_token, admin_secret) = token(app, &org, &admin).await;
    let (_, part_secret) = token(app, &org, &part).await;
    let (_, pa_secret) = token(app, &org, &pa).await;
    let owner_invitation = invite(
        app,
        &org,
        &owner1,
        json!({"emails": ["future-owner@acme.test"], "role": "owner"}),
    )
    .await;
    let s2_invitation = invite(
        app,
        &org,
        &owner1,
        json!({"emails": ["future-fac@acme.test"], "role": "facilitator", "space_ids": [s2]}),
    )
    .await;

    // The world is what it claims to be.
    let org_res = json!({"type": "organization", "id": org});
    assert!(
        !app.decide(&org, &expired_ia, "members.view", org_res.clone())
            .await,
        "the old Implementation Admin has expired"
    );
    assert!(
        app.decide(&org, &ia, "members.change_role", org_res.clone())
            .await,
        "the new Implementation Admin is in force"
    );
    assert!(
        !app.decide(&org, &deact_owner, "members.view", org_res)
            .await,
        "the deactivated Owner has no access"
    );

    World {
        org,
        org_b,
        s1,
        s2,
        owner1,
        owner2,
        admin,
        ia,
        pa,
        fac,
        part,
        sponsor,
        admin_part,
        owner_sponsor,
        part2,
        expired_ia,
        deact_owner,
        outsider,
        owner1_token,
        admin_token,
        part_secret,
        pa_secret,
        admin_secret,
        deact_owner_secret,
        outsider_secret,
        owner_invitation,
        s2_invitation,
    }
}

/// Everything a refusal must leave as it was, read with the platform key.
async fn state(app: &TestApp, w: &World) -> Value {
    let o = w.o();
    let get = |path: String| async move {
        let a = app.get(&path, None).await;
        assert_status(&a, StatusCode::OK, &path);
        a.body
    };
    json!({
        "org": get(o.clone()).await,
        "members": get(format!("{o}/members?limit=500")).await["items"],
        "seats": get(format!("{o}/seats")).await,
        "invitations": get(format!("{o}/invitations?limit=500")).await["items"],
        "tokens": get(format!("{o}/tokens?limit=500")).await["items"],
        "spaces": get(format!("{o}/spaces?limit=500")).await["items"],
        "s1": get(format!("{o}/spaces/{}/members?limit=500", w.s1)).await,
        "s2": get(format!("{o}/spaces/{}/members?limit=500", w.s2)).await,
        "domains": get(format!("{o}/implementation-admin-domains")).await,
        "audit_count": app.audit(&w.org).await.len(),
        "other_org": get(format!("/v1/orgs/{}", w.org_b)).await,
        "other_org_members": get(format!("/v1/orgs/{}/members?limit=500", w.org_b)).await["items"],
        "other_org_audit_count": app.audit(&w.org_b).await.len(),
    })
}

/// The organization's revision: any committed write moves it.
async fn revision(app: &TestApp, org: &str) -> Value {
    let a = app.get(&format!("/v1/orgs/{org}"), None).await;
    if a.status == StatusCode::OK {
        a.body["revision"].clone()
    } else {
        json!(format!("GET org answered {}", a.status))
    }
}

/// One attempt: what it is, and the request.
struct Try {
    what: String,
    method: Method,
    path: String,
    body: Option<Value>,
}

fn t(what: &str, method: Method, path: String, body: Option<Value>) -> Try {
    Try {
        what: what.to_owned(),
        method,
        path,
        body,
    }
}

/// Only Owners assign, demote, deactivate, reactivate or remove an Owner,
/// and delete the organization.
fn owner_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    let m = |u: &str| format!("{o}/members/{u}");
    vec![
        t(
            "make a participant an Owner",
            Method::PATCH,
            m(&w.part2),
            Some(json!({"org_role": "owner"})),
        ),
        t(
            "make a facilitator an Owner",
            Method::PATCH,
            m(&w.fac),
            Some(json!({"org_role": "owner"})),
        ),
        t(
            "demote an Owner to Admin",
            Method::PATCH,
            m(&w.owner2),
            Some(json!({"org_role": "admin"})),
        ),
        t(
            "take away an Owner's org role",
            Method::PATCH,
            m(&w.owner_sponsor),
            Some(json!({"org_role": null})),
        ),
        t(
            "make an Owner an Implementation Admin",
            Method::PATCH,
            m(&w.owner2),
            Some(json!({"org_role": "implementation_admin", "duration": "1_month"})),
        ),
        t(
            "deactivate an Owner",
            Method::POST,
            format!("{}/deactivate", m(&w.owner2)),
            Some(json!({})),
        ),
        t(
            "deactivate the first Owner",
            Method::POST,
            format!("{}/deactivate", m(&w.owner1)),
            Some(json!({})),
        ),
        t("remove an Owner", Method::DELETE, m(&w.owner2), None),
        t(
            "reactivate a deactivated Owner",
            Method::POST,
            format!("{}/reactivate", m(&w.deact_owner)),
            Some(json!({})),
        ),
        t(
            "remove a deactivated Owner",
            Method::DELETE,
            m(&w.deact_owner),
            None,
        ),
        t(
            "demote a deactivated Owner",
            Method::PATCH,
            m(&w.deact_owner),
            Some(json!({"org_role": "admin"})),
        ),
        t(
            "bulk-deactivate Owners",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "deactivate", "user_ids": [w.owner2, w.owner_sponsor]})),
        ),
        t(
            "bulk-remove Owners",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "remove", "user_ids": [w.owner1, w.owner2]})),
        ),
        t(
            "bulk-reactivate a deactivated Owner",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "reactivate", "user_ids": [w.deact_owner]})),
        ),
        t(
            "invite an Owner",
            Method::POST,
            format!("{o}/invitations"),
            Some(json!({"emails": ["owner-by-someone@acme.test"], "role": "owner"})),
        ),
        t(
            "invite Owners in a pasted list",
            Method::POST,
            format!("{o}/invitations"),
            Some(json!({"emails": "x1@acme.test, x2@acme.test", "role": "owner"})),
        ),
        t(
            "resend an Owner invitation",
            Method::POST,
            format!("{o}/invitations/{}/resend", w.owner_invitation),
            Some(json!({})),
        ),
        t("delete the organization", Method::DELETE, o.clone(), None),
    ]
}

/// Only the platform operator, never a person acting through it.
fn platform_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    vec![
        t(
            "set the Implementation Admin allowlist",
            Method::PUT,
            format!("{o}/implementation-admin-domains"),
            Some(json!({"domains": ["evil.test"]})),
        ),
        t(
            "empty the Implementation Admin allowlist",
            Method::PUT,
            format!("{o}/implementation-admin-domains"),
            Some(json!({"domains": []})),
        ),
        t(
            "raise the seat limit",
            Method::PATCH,
            o.clone(),
            Some(json!({"seat_limit": 1000})),
        ),
        t(
            "lift the seat limit",
            Method::PATCH,
            o.clone(),
            Some(json!({"seat_limit": null})),
        ),
        t(
            "change the seat-using roles",
            Method::PATCH,
            o.clone(),
            Some(json!({"seat_roles": ["owner"]})),
        ),
        t(
            "create an organization",
            Method::POST,
            "/v1/orgs".into(),
            Some(json!({"name": "Mine", "owner_email": "mine@acme.test"})),
        ),
        t(
            "list Forever Implementation Admins of every organization",
            Method::GET,
            "/v1/platform/implementation-admins?duration=forever".into(),
            None,
        ),
        t(
            "record a Forever review",
            Method::POST,
            format!(
                "/v1/platform/implementation-admins/{}/{}/review",
                w.org, w.ia
            ),
            Some(json!({})),
        ),
        t(
            "move the dev clock",
            Method::POST,
            "/v1/dev/clock".into(),
            Some(json!({"advance_seconds": 0})),
        ),
        t(
            "run the background jobs",
            Method::POST,
            "/v1/dev/sweep".into(),
            Some(json!({})),
        ),
    ]
}

/// The Admin Area: Owner, Admin and Implementation Admin only.
fn admin_area_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    let m = |u: &str| format!("{o}/members/{u}");
    vec![
        t(
            "list the organization's members",
            Method::GET,
            format!("{o}/members"),
            None,
        ),
        t("view seats", Method::GET, format!("{o}/seats"), None),
        t(
            "view the allowlist",
            Method::GET,
            format!("{o}/implementation-admin-domains"),
            None,
        ),
        t(
            "make a facilitator Admin",
            Method::PATCH,
            m(&w.fac),
            Some(json!({"org_role": "admin"})),
        ),
        t(
            "make a facilitator Implementation Admin",
            Method::PATCH,
            m(&w.fac),
            Some(json!({"org_role": "implementation_admin", "duration": "forever"})),
        ),
        t(
            "take away an Admin's org role",
            Method::PATCH,
            m(&w.admin),
            Some(json!({"org_role": null})),
        ),
        t(
            "demote the Implementation Admin",
            Method::PATCH,
            m(&w.ia),
            Some(json!({"org_role": null})),
        ),
        t(
            "deactivate a facilitator",
            Method::POST,
            format!("{}/deactivate", m(&w.fac)),
            Some(json!({})),
        ),
        t(
            "deactivate an Admin",
            Method::POST,
            format!("{}/deactivate", m(&w.admin)),
            Some(json!({})),
        ),
        t(
            "remove a participant from the organization",
            Method::DELETE,
            m(&w.part),
            None,
        ),
        t(
            "bulk-deactivate members",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "deactivate", "user_ids": [w.fac, w.admin]})),
        ),
        t(
            "bulk-remove members",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "remove", "user_ids": [w.part2]})),
        ),
        t(
            "remove the Implementation Admin early",
            Method::POST,
            format!("{}/remove-implementation-admin", m(&w.ia)),
            Some(json!({"confirm": true})),
        ),
        t(
            "invite an Admin",
            Method::POST,
            format!("{o}/invitations"),
            Some(json!({"emails": ["admin-by-someone@acme.test"], "role": "admin"})),
        ),
        t(
            "invite an Implementation Admin",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["ia-by-someone@partner.test"], "role": "implementation_admin", "duration": "forever"}),
            ),
        ),
        t(
            "revoke an Owner invitation",
            Method::DELETE,
            format!("{o}/invitations/{}", w.owner_invitation),
            None,
        ),
        t(
            "list invitations",
            Method::GET,
            format!("{o}/invitations"),
            None,
        ),
        t(
            "turn the Implementation Admin setting off",
            Method::PUT,
            format!("{o}/settings/implementation-admin"),
            Some(json!({"enabled": false, "confirm": true})),
        ),
        t(
            "rename the organization",
            Method::PATCH,
            o.clone(),
            Some(json!({"name": "Hijacked"})),
        ),
        t(
            "view the audit log",
            Method::GET,
            format!("{o}/audit"),
            None,
        ),
        t(
            "export the audit log",
            Method::GET,
            format!("{o}/audit/export?format=jsonl"),
            None,
        ),
        t(
            "verify the audit log",
            Method::GET,
            format!("{o}/audit/verify"),
            None,
        ),
        t(
            "list an Owner's tokens",
            Method::GET,
            format!("{o}/tokens?user_id={}", w.owner1),
            None,
        ),
        t(
            "revoke an Owner's token",
            Method::DELETE,
            format!("{o}/tokens/{}", w.owner1_token),
            None,
        ),
        t(
            "revoke an Admin's token",
            Method::DELETE,
            format!("{o}/tokens/{}", w.admin_token),
            None,
        ),
        t(
            "create a space",
            Method::POST,
            format!("{o}/spaces"),
            Some(json!({"name": "Rogue"})),
        ),
        t(
            "rename S1",
            Method::PATCH,
            format!("{o}/spaces/{}", w.s1),
            Some(json!({"name": "Renamed"})),
        ),
        t(
            "delete S1",
            Method::DELETE,
            format!("{o}/spaces/{}", w.s1),
            None,
        ),
        t(
            "delete S2",
            Method::DELETE,
            format!("{o}/spaces/{}", w.s2),
            None,
        ),
    ]
}

/// Managing roles in S1: its Program Admin and the org admin tier only.
fn s1_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    let sm = |u: &str| format!("{o}/spaces/{}/members/{u}", w.s1);
    vec![
        t(
            "add a member to S1",
            Method::PUT,
            sm(&w.part2),
            Some(json!({"role": "participant"})),
        ),
        t(
            "make a participant Program Admin of S1",
            Method::PUT,
            sm(&w.part),
            Some(json!({"role": "program_admin"})),
        ),
        t(
            "change the Program Admin of S1 to participant",
            Method::PUT,
            sm(&w.pa),
            Some(json!({"role": "participant"})),
        ),
        t(
            "remove the facilitator from S1",
            Method::DELETE,
            sm(&w.fac),
            None,
        ),
        t(
            "remove the Program Admin from S1",
            Method::DELETE,
            sm(&w.pa),
            None,
        ),
        t(
            "invite a facilitator into S1",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["fac-by-someone@acme.test"], "role": "facilitator", "space_ids": [w.s1]}),
            ),
        ),
        t(
            "invite a participant into S1",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["part-by-someone@acme.test"], "role": "participant", "space_ids": [w.s1]}),
            ),
        ),
        t(
            "invite an existing member into S1",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["part2@acme.test"], "role": "program_admin", "space_ids": [w.s1]}),
            ),
        ),
    ]
}

/// Managing roles in S2: nobody in this organization but the admin tier.
fn s2_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    let sm = |u: &str| format!("{o}/spaces/{}/members/{u}", w.s2);
    vec![
        t(
            "make the S1 Program Admin Program Admin of S2",
            Method::PUT,
            sm(&w.pa),
            Some(json!({"role": "program_admin"})),
        ),
        t(
            "change a participant of S2 to facilitator",
            Method::PUT,
            sm(&w.part2),
            Some(json!({"role": "facilitator"})),
        ),
        t(
            "remove a participant from S2",
            Method::DELETE,
            sm(&w.part2),
            None,
        ),
        t(
            "invite a participant into S2",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["s2-by-someone@acme.test"], "role": "participant", "space_ids": [w.s2]}),
            ),
        ),
        t(
            "invite a Program Admin into S1 and S2",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["both-by-someone@acme.test"], "role": "program_admin", "space_ids": [w.s1, w.s2]}),
            ),
        ),
        t(
            "revoke an S2 invitation",
            Method::DELETE,
            format!("{o}/invitations/{}", w.s2_invitation),
            None,
        ),
        t(
            "resend an S2 invitation",
            Method::POST,
            format!("{o}/invitations/{}/resend", w.s2_invitation),
            Some(json!({})),
        ),
    ]
}

/// Raising one's own org role.
fn self_org_powers(w: &World, me: &str, current: Option<&str>) -> Vec<Try> {
    let path = format!("{}/members/{me}", w.o());
    ["owner", "admin"]
        .into_iter()
        .filter(|r| Some(*r) != current)
        .map(|r| {
            t(
                &format!("make oneself {r}"),
                Method::PATCH,
                path.clone(),
                Some(json!({"org_role": r})),
            )
        })
        .collect()
}

/// Giving oneself a role in a space.
fn self_space_powers(w: &World, me: &str, spaces: &[&str]) -> Vec<Try> {
    spaces
        .iter()
        .map(|s| {
            t(
                "make oneself Program Admin of a space",
                Method::PUT,
                format!("{}/spaces/{s}/members/{me}", w.o()),
                Some(json!({"role": "program_admin"})),
            )
        })
        .collect()
}

/// Acting as `actor`, every attempt is refused with one of `codes` (403 for
/// `forbidden`, 404 for `not_found`) and the organization's revision does
/// not move. Answers the failures, one line each.
async fn refused(
    app: &TestApp,
    w: &World,
    who: &str,
    actor: &str,
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
            a.body
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
            a.body["results"].as_array().is_some_and(|results| {
                !results.is_empty()
                    && results.iter().all(|r| {
                        r["ok"] == json!(false) && codes.contains(&r["code"].as_str().unwrap_or(""))
                    })
            })
        } else {
            refused_as_expected(a.status, a.code())
        };
        if !ok {
            failures.push(format!("NOT REFUSED: {line}"));
        }
        let after = revision(app, &w.org).await;
        if after != before {
            failures.push(format!(
                "CHANGED the organization (revision {before} -> {after}): {line}"
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
    actor: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(secret)
        .header("X-Roster-Actor", actor);
    if let Some(body) = body {
        req = req.json(&body);
    }
    common::answer(req.send().await.unwrap()).await
}

const FORBIDDEN: &[&str] = &["forbidden"];

on_both_backends! {
    async fn the_refusal_check_reports_an_allowed_change_as_an_escalation(app) {
        // The checker itself can fail: an Owner doing Owner things is
        // reported as not refused and as a change.
        let w = world(&app).await;
        let tries = vec![
            t("make a facilitator Admin", Method::PATCH, format!("{}/members/{}", w.o(), w.fac), Some(json!({"org_role": "admin"}))),
            t("view the audit log", Method::GET, format!("{}/audit", w.o()), None),
        ];
        let failures = refused(&app, &w, "the first Owner", &w.owner1, &tries, FORBIDDEN).await;
        assert_eq!(failures.len(), 3, "{failures:#?}");
        assert!(failures[0].starts_with("NOT REFUSED") && failures[1].starts_with("CHANGED") && failures[2].starts_with("NOT REFUSED"), "{failures:#?}");
        app.stop().await;
    }

    async fn admins_and_implementation_admins_cannot_make_or_unmake_owners_or_delete_the_org(app) {
        let w = world(&app).await;
        let start = state(&app, &w).await;
        let mut failures = Vec::new();
        for (who, me) in [("the Admin", &w.admin), ("the Implementation Admin", &w.ia), ("the participant-locked Admin", &w.admin_part)] {
            let mut tries = owner_powers(&w);
            tries.extend(platform_powers(&w));
            let current = if *me == w.ia { "implementation_admin" } else { "admin" };
            tries.extend(self_org_powers(&w, me, Some(current)));
            failures.extend(refused(&app, &w, who, me, &tries, FORBIDDEN).await);
        }
        // An Implementation Admin can neither shed nor stretch its time limit.
        let me = format!("{}/members/{}", w.o(), w.ia);
        let tries = vec![
            t("extend its own assignment to forever", Method::PATCH, me.clone(), Some(json!({"org_role": "implementation_admin", "duration": "forever"}))),
            t("renew its own assignment", Method::PATCH, me, Some(json!({"org_role": "implementation_admin", "duration": "6_months"}))),
        ];
        failures.extend(refused(&app, &w, "the Implementation Admin", &w.ia, &tries, FORBIDDEN).await);
        assert_no_failures(&failures);
        assert_eq!(state(&app, &w).await, start, "nothing changed");
        app.stop().await;
    }

    async fn a_program_admin_cannot_touch_org_roles_settings_audit_tokens_or_other_spaces(app) {
        let w = world(&app).await;
        let start = state(&app, &w).await;
        let mut tries = owner_powers(&w);
        tries.extend(platform_powers(&w));
        tries.extend(admin_area_powers(&w));
        tries.extend(s2_powers(&w));
        tries.extend(self_org_powers(&w, &w.pa, None));
        tries.extend(self_space_powers(&w, &w.pa, &[&w.s2]));
        let failures = refused(&app, &w, "the Program Admin of S1", &w.pa, &tries, FORBIDDEN).await;
        assert_no_failures(&failures);
        assert_eq!(state(&app, &w).await, start, "nothing changed");
        app.stop().await;
    }

    async fn facilitators_participants_and_sponsors_cannot_manage_anyone_even_in_their_own_space(app) {
        let w = world(&app).await;
        let start = state(&app, &w).await;
        let mut failures = Vec::new();
        for (who, me) in [("the Facilitator of S1", &w.fac), ("the Participant of S1", &w.part), ("the Sponsor of S1", &w.sponsor)] {
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

    async fn deactivated_expired_and_outside_people_can_do_nothing_here(app) {
        let w = world(&app).await;
        let start = state(&app, &w).await;
        let mut failures = Vec::new();
        let everything = |me: &str| {
            let mut tries = owner_powers(&w);
            tries.extend(platform_powers(&w));
            tries.extend(admin_area_powers(&w));
            tries.extend(s1_powers(&w));
            tries.extend(s2_powers(&w));
            if me != w.expired_ia {
                tries.extend(self_org_powers(&w, me, None));
            }
            tries.extend(self_space_powers(&w, me, &[&w.s1, &w.s2]));
            tries.push(t("create a token", Method::POST, format!("{}/tokens", w.o()), Some(json!({"kind": "mcp", "name": "backdoor"}))));
            tries.push(t("reactivate oneself", Method::POST, format!("{}/members/{me}/reactivate", w.o()), Some(json!({}))));
            tries
        };
        failures.extend(refused(&app, &w, "the deactivated Owner", &w.deact_owner, &everything(&w.deact_owner), FORBIDDEN).await);
        failures.extend(refused(&app, &w, "the expired Implementation Admin", &w.expired_ia, &everything(&w.expired_ia), FORBIDDEN).await);
        // Its own membership is already gone (SPEC §4 rule 2), so acting on
        // itself may also answer 404.
        failures.extend(refused(&app, &w, "the expired Implementation Admin", &w.expired_ia, &self_org_powers(&w, &w.expired_ia, None), &["forbidden", "not_found"]).await);
        failures.extend(refused(&app, &w, "a member of another organization", &w.outsider, &everything(&w.outsider), &["forbidden", "not_found"]).await);
        assert_no_failures(&failures);

        // Their own credentials do no better: the deactivated Owner's token
        // was revoked, the outsider's belongs to another organization.
        let o = w.o();
        let a = app.call_with_token(Method::GET, &format!("{o}/members"), &w.deact_owner_secret, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);
        let a = app.call_with_token(Method::PATCH, &format!("{o}/members/{}", w.outsider), &w.outsider_secret, Some(json!({"org_role": "owner"}))).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "{:?}", a.body);
        let a = app.call_with_token(Method::PATCH, &format!("{o}/members/{}", w.part2), &w.outsider_secret, Some(json!({"org_role": "owner"}))).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "{:?}", a.body);
        let a = app.call_with_token(Method::POST, &format!("{o}/invitations"), &w.outsider_secret, Some(json!({"emails": ["x@acme.test"], "role": "admin"}))).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "{:?}", a.body);
        assert_eq!(state(&app, &w).await, start, "nothing changed");
        app.stop().await;
    }

    async fn only_the_platform_operator_sets_the_allowlist_and_seat_limits_not_even_an_owner(app) {
        let w = world(&app).await;
        let start = state(&app, &w).await;
        let mut failures = Vec::new();
        for (who, me) in [("the first Owner", &w.owner1), ("the Owner who is Sponsor", &w.owner_sponsor), ("the Admin", &w.admin), ("the Implementation Admin", &w.ia)] {
            failures.extend(refused(&app, &w, who, me, &platform_powers(&w), FORBIDDEN).await);
        }
        assert_no_failures(&failures);
        assert_eq!(state(&app, &w).await, start, "nothing changed");

        // Positive control: the platform key itself may.
        let o = w.o();
        let audit_before = app.audit(&w.org).await.len();
        let a = app.put(&format!("{o}/implementation-admin-domains"), None, json!({"domains": ["partner.test", "other.test"]})).await;
        assert_status(&a, StatusCode::OK, "the platform sets the allowlist");
        let mut domains: Vec<&str> = a.body["domains"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        domains.sort_unstable();
        assert_eq!(domains, ["other.test", "partner.test"]);
        let a = app.patch(&o, None, json!({"seat_limit": 100})).await;
        assert_status(&a, StatusCode::OK, "the platform sets the seat limit");
        assert_eq!(a.body["seat_limit"], 100);
        let audit = app.audit(&w.org).await;
        assert_eq!(audit.len(), audit_before + 2, "both changes are audited");
        assert!(audit.iter().any(|e| e["action"] == "allowlist.changed" && e["actor"]["kind"] == "platform"));
        app.stop().await;
    }

    async fn an_implementation_admin_cannot_be_made_owner_even_by_an_owner(app) {
        let w = world(&app).await;
        let start = state(&app, &w).await;
        let o = w.o();
        let path = format!("{o}/members/{}", w.ia);
        let a = app.patch(&path, Some(&w.owner1), json!({"org_role": "owner"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "an Owner makes the Implementation Admin Owner: {:?}", a.body);
        let a = app.patch(&path, Some(&w.owner_sponsor), json!({"org_role": "owner"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "another Owner tries: {:?}", a.body);
        let a = app.patch(&path, None, json!({"org_role": "owner"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "the platform tries: {:?}", a.body);
        // Not through an invitation either.
        let a = app.post(&format!("{o}/invitations"), Some(&w.owner1), json!({"emails": ["ia@partner.test"], "role": "owner"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "already_member"), "an Owner invites the Implementation Admin as Owner: {:?}", a.body);
        // Nor by the Implementation Admin itself.
        let a = app.patch(&path, Some(&w.ia), json!({"org_role": "owner"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        assert_eq!(state(&app, &w).await, start, "nothing changed");
        let member = app.get(&path, None).await;
        assert_eq!(member.body["org_role"], "implementation_admin");

        // Positive control: the same Owner may make the Admin an Owner.
        let a = app.patch(&format!("{o}/members/{}", w.admin), Some(&w.owner1), json!({"org_role": "owner"})).await;
        assert_status(&a, StatusCode::OK, "an Owner makes the Admin Owner");
        assert_eq!(a.body["org_role"], "owner");
        app.stop().await;
    }

    async fn a_program_admin_can_add_an_existing_member_to_its_space_but_gets_403_for_another(app) {
        let w = world(&app).await;
        let o = w.o();
        let (s1, s2) = (&w.s1, &w.s2);
        // Adds an existing member to S1.
        let a = app.put(&format!("{o}/spaces/{s1}/members/{}", w.part2), Some(&w.pa), json!({"role": "facilitator"})).await;
        assert_status(&a, StatusCode::OK, "the Program Admin adds a member to S1");
        let m = app.get(&format!("{o}/members/{}", w.part2), None).await;
        assert!(m.body["space_roles"].as_array().unwrap().contains(&json!({"space_id": s1, "role": "facilitator"})), "{:?}", m.body);
        // Changes a role in S1 and invites a new person into S1.
        let a = app.put(&format!("{o}/spaces/{s1}/members/{}", w.part2), Some(&w.pa), json!({"role": "participant"})).await;
        assert_status(&a, StatusCode::OK, "the Program Admin changes a role in S1");
        let a = app.post(&format!("{o}/invitations"), Some(&w.pa), json!({"emails": ["newbie@acme.test"], "role": "participant", "space_ids": [s1]})).await;
        assert_status(&a, StatusCode::CREATED, "the Program Admin invites into S1");

        let start = state(&app, &w).await;
        // The same requests for S2 are refused and change nothing.
        let a = app.put(&format!("{o}/spaces/{s2}/members/{}", w.fac), Some(&w.pa), json!({"role": "participant"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        let a = app.put(&format!("{o}/spaces/{s2}/members/{}", w.part2), Some(&w.pa), json!({"role": "facilitator"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        let a = app.post(&format!("{o}/invitations"), Some(&w.pa), json!({"emails": ["s2-newbie@acme.test"], "role": "participant", "space_ids": [s2]})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        let a = app.post(&format!("{o}/invitations"), Some(&w.pa), json!({"emails": ["both@acme.test"], "role": "participant", "space_ids": [s1, s2]})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "a batch naming S1 and S2: {:?}", a.body);
        let a = app.delete(&format!("{o}/spaces/{s2}/members/{}", w.part2), Some(&w.pa)).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        // Never org roles, not even for people of its own space.
        let a = app.patch(&format!("{o}/members/{}", w.part), Some(&w.pa), json!({"org_role": "admin"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        let a = app.post(&format!("{o}/members/{}/deactivate", w.part), Some(&w.pa), json!({})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        assert_eq!(state(&app, &w).await, start, "nothing changed");

        // And it removes the member it added to S1.
        let a = app.delete(&format!("{o}/spaces/{s1}/members/{}", w.part2), Some(&w.pa)).await;
        assert_status(&a, StatusCode::OK, "the Program Admin removes a member from S1");
        assert_eq!(a.body["retained_access"], Value::Null);
        let m = app.get(&format!("{o}/members/{}", w.part2), None).await;
        assert_eq!(m.body["space_roles"], json!([{"space_id": s2, "role": "participant"}]));
        app.stop().await;
    }

    async fn an_admin_can_deactivate_a_facilitator_but_not_an_owner(app) {
        let w = world(&app).await;
        let o = w.o();
        let a = app.post(&format!("{o}/members/{}/deactivate", w.fac), Some(&w.admin), json!({})).await;
        assert_status(&a, StatusCode::OK, "the Admin deactivates the Facilitator");
        assert_eq!(a.body["status"], "deactivated");
        assert!(!app.decide(&w.org, &w.fac, "space.view", json!({"type": "space", "id": w.s1})).await);

        let start = state(&app, &w).await;
        let a = app.post(&format!("{o}/members/{}/deactivate", w.owner2), Some(&w.admin), json!({})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        let a = app.post(&format!("{o}/members/{}/deactivate", w.owner2), Some(&w.ia), json!({})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        assert_eq!(state(&app, &w).await, start, "nothing changed");
        let m = app.get(&format!("{o}/members/{}", w.owner2), None).await;
        assert_eq!((m.body["status"].as_str(), m.body["org_role"].as_str()), (Some("active"), Some("owner")));

        let a = app.post(&format!("{o}/members/{}/reactivate", w.fac), Some(&w.ia), json!({})).await;
        assert_status(&a, StatusCode::OK, "the Implementation Admin reactivates the Facilitator");
        assert_eq!(a.body["status"], "active");
        app.stop().await;
    }

    async fn the_last_active_owner_cannot_be_demoted_deactivated_removed_or_leave(app) {
        let w = world(&app).await;
        let o = w.o();
        // Three active Owners (and a deactivated one): two may go.
        let a = app.patch(&format!("{o}/members/{}", w.owner2), Some(&w.owner1), json!({"org_role": "admin"})).await;
        assert_status(&a, StatusCode::OK, "demote the second Owner");
        let a = app.post(&format!("{o}/members/{}/deactivate", w.owner_sponsor), Some(&w.owner1), json!({})).await;
        assert_status(&a, StatusCode::OK, "deactivate the third Owner");

        let start = state(&app, &w).await;
        let me = format!("{o}/members/{}", w.owner1);
        let attempts: Vec<(&str, Answer)> = vec![
            ("the last Owner drops its own role", app.patch(&me, Some(&w.owner1), json!({"org_role": null})).await),
            ("the last Owner deactivates itself", app.post(&format!("{me}/deactivate"), Some(&w.owner1), json!({})).await),
            ("the last Owner leaves the organization", app.delete(&me, Some(&w.owner1)).await),
            ("the platform demotes the last Owner", app.patch(&me, None, json!({"org_role": "admin"})).await),
            ("the platform deactivates the last Owner", app.post(&format!("{me}/deactivate"), None, json!({})).await),
            ("the platform removes the last Owner", app.delete(&me, None).await),
        ];
        for (what, a) in attempts {
            assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "last_owner"), "{what}: {:?}", a.body);
        }
        let a = app.post(&format!("{o}/members/bulk"), Some(&w.owner1), json!({"action": "deactivate", "user_ids": [w.owner1]})).await;
        assert_status(&a, StatusCode::OK, "bulk");
        assert_eq!(a.body["results"][0]["ok"], false, "{:?}", a.body);
        assert_eq!(a.body["results"][0]["code"], "last_owner", "{:?}", a.body);
        // The demoted Owner cannot take the role back.
        let a = app.patch(&format!("{o}/members/{}", w.owner2), Some(&w.owner2), json!({"org_role": "owner"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        assert_eq!(state(&app, &w).await, start, "nothing changed");
        let owners = app.get(&format!("{o}/members?role=owner&status=active"), None).await;
        assert_eq!(owners.body["items"].as_array().unwrap().len(), 1, "{:?}", owners.body);

        // Once another Owner is active again, the first one may go.
        let a = app.post(&format!("{o}/members/{}/reactivate", w.deact_owner), Some(&w.owner1), json!({})).await;
        assert_status(&a, StatusCode::OK, "reactivate an Owner");
        let a = app.patch(&me, Some(&w.deact_owner), json!({"org_role": "admin"})).await;
        assert_status(&a, StatusCode::OK, "demote the former last Owner");
        app.stop().await;
    }

    async fn a_participant_or_sponsor_who_is_an_org_admin_keeps_org_powers_but_not_space_powers_there(app) {
        let w = world(&app).await;
        let org = &w.org;
        let s1 = json!({"type": "space", "id": w.s1});
        let s2 = json!({"type": "space", "id": w.s2});
        let org_res = json!({"type": "organization", "id": org});
        for (who, me) in [("participant-locked Admin", &w.admin_part), ("sponsor Owner", &w.owner_sponsor)] {
            for action in ["activity.create", "members.manage", "structure.manage", "events.manage", "feed.moderate"] {
                assert!(!app.decide(org, me, action, s1.clone()).await, "{who} may {action} in S1");
                assert!(app.decide(org, me, action, s2.clone()).await, "{who} may not {action} in S2");
            }
            assert!(app.decide(org, me, "space.view", s1.clone()).await, "{who} views S1");
            assert!(app.decide(org, me, "spaces.manage", s1.clone()).await, "{who} keeps spaces.manage on S1");
            assert!(app.decide(org, me, "members.change_role", org_res.clone()).await, "{who} keeps org actions");
        }
        assert!(!app.decide(org, &w.admin_part, "owner.assign", org_res.clone()).await);
        assert!(app.decide(org, &w.owner_sponsor, "owner.assign", org_res.clone()).await);
        assert!(!app.decide(org, &w.owner_sponsor, "feed.post", s1.clone()).await, "a sponsor is read-only");
        assert!(app.decide(org, &w.admin_part, "feed.post", s1.clone()).await, "a participant posts");
        app.stop().await;
    }

    async fn a_token_acts_only_as_its_owner_whatever_headers_it_sends(app) {
        let w = world(&app).await;
        let o = w.o();
        let start = state(&app, &w).await;
        // A participant's token claiming to act as the Owner.
        for (what, method, path, body) in [
            ("make someone Owner", Method::PATCH, format!("{o}/members/{}", w.part2), Some(json!({"org_role": "owner"}))),
            ("make itself Owner", Method::PATCH, format!("{o}/members/{}", w.part), Some(json!({"org_role": "owner"}))),
            ("invite an Admin", Method::POST, format!("{o}/invitations"), Some(json!({"emails": ["a@acme.test"], "role": "admin"}))),
            ("view the audit log", Method::GET, format!("{o}/audit"), None),
            ("revoke the Owner's token", Method::DELETE, format!("{o}/tokens/{}", w.owner1_token), None),
        ] {
            let a = with_token_and_actor(&app, method, &path, &w.part_secret, &w.owner1, body).await;
            assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "a participant's token with X-Roster-Actor of the Owner could {what}: {:?}", a.body);
        }
        // An Admin's token cannot assign Owner; a Program Admin's stays in S1.
        let a = app.call_with_token(Method::PATCH, &format!("{o}/members/{}", w.part2), &w.admin_secret, Some(json!({"org_role": "owner"}))).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        let a = app.call_with_token(Method::PUT, &format!("{o}/spaces/{}/members/{}", w.s2, w.pa), &w.pa_secret, Some(json!({"role": "program_admin"}))).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", a.body);
        assert_eq!(state(&app, &w).await, start, "nothing changed");
        let a = app.call_with_token(Method::PUT, &format!("{o}/spaces/{}/members/{}", w.s1, w.part2), &w.pa_secret, Some(json!({"role": "participant"}))).await;
        assert_status(&a, StatusCode::OK, "the Program Admin's token adds a member to S1");
        app.stop().await;
    }

    async fn a_member_of_another_organization_is_not_found_here(app) {
        let w = world(&app).await;
        let o = w.o();
        let start = state(&app, &w).await;
        let theirs = format!("{o}/members/{}", w.outsider);
        for (what, a) in [
            ("read", app.get(&theirs, Some(&w.owner1)).await),
            ("make Admin", app.patch(&theirs, Some(&w.owner1), json!({"org_role": "admin"})).await),
            ("make Owner", app.patch(&theirs, Some(&w.owner1), json!({"org_role": "owner"})).await),
            ("deactivate", app.post(&format!("{theirs}/deactivate"), Some(&w.owner1), json!({})).await),
            ("remove", app.delete(&theirs, Some(&w.owner1)).await),
            ("add to S1", app.put(&format!("{o}/spaces/{}/members/{}", w.s1, w.outsider), Some(&w.owner1), json!({"role": "participant"})).await),
            ("add to S1 as its Program Admin", app.put(&format!("{o}/spaces/{}/members/{}", w.s1, w.outsider), Some(&w.pa), json!({"role": "facilitator"})).await),
        ] {
            assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "an Owner could {what} a member of another organization: {:?}", a.body);
        }
        let a = app.post(&format!("{o}/members/bulk"), Some(&w.owner1), json!({"action": "deactivate", "user_ids": [w.outsider]})).await;
        assert_status(&a, StatusCode::OK, "bulk");
        assert_eq!(a.body["results"][0]["code"], "not_found", "{:?}", a.body);
        // Nor does this organization's Owner reach into the other one.
        let b = format!("/v1/orgs/{}", w.org_b);
        for (what, a) in [
            ("demote its Owner", app.patch(&format!("{b}/members/{}", w.outsider), Some(&w.owner1), json!({"org_role": "admin"})).await),
            ("invite an Owner", app.post(&format!("{b}/invitations"), Some(&w.owner1), json!({"emails": ["spy@acme.test"], "role": "owner"})).await),
            ("delete it", app.delete(&b, Some(&w.owner1)).await),
        ] {
            assert!(
                matches!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden") | (StatusCode::NOT_FOUND, "not_found")),
                "an Owner of one organization could {what} in another: {} {:?}", a.status, a.body
            );
        }
        assert_eq!(state(&app, &w).await, start, "nothing changed");
        app.stop().await;
    }
}
