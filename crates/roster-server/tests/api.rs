//! The rest of the HTTP contract (API.md), endpoint by endpoint: spaces and
//! their members, member management, seats, invitations, capabilities,
//! decisions, tokens, the audit log, operations and organizations — the
//! success path and each documented error code, against the real server on
//! SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Answer, Backend, TestApp, KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn assert_status(a: &Answer, status: StatusCode, what: &str) {
    assert_eq!(a.status, status, "{what}: {:?}", a.body);
}

fn assert_problem(a: &Answer, status: StatusCode, code: &str, what: &str) {
    assert_eq!((a.status, a.code()), (status, code), "{what}: {:?}", a.body);
}

/// A request with the platform key (acting as `actor` when given) and,
/// when given, an `X-Request-ID`.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    actor: Option<&str>,
    body: Option<Value>,
    request_id: Option<&str>,
) -> Answer {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(KEY);
    if let Some(actor) = actor {
        req = req.header("X-Roster-Actor", actor);
    }
    if let Some(id) = request_id {
        req = req.header("X-Request-ID", id);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    common::answer(req.send().await.unwrap()).await
}

/// A request without any credential.
async fn anonymous(app: &TestApp, method: Method, path: &str) -> Answer {
    let req = app.client.request(method, format!("{}{path}", app.base));
    common::answer(req.send().await.unwrap()).await
}

/// A new token of `user`; answers (id, secret).
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

async fn introspect(app: &TestApp, secret: &str) -> Value {
    let resp = app
        .client
        .post(format!("{}/v1/introspect", app.base))
        .bearer_auth(KEY)
        .form(&[("token", secret)])
        .send()
        .await
        .unwrap();
    let a = common::answer(resp).await;
    assert_status(&a, StatusCode::OK, "introspect");
    a.body
}

/// The values of `key` in a list of objects.
fn strings(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items:?}"))
        .iter()
        .map(|i| i[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn revision_of(a: &Answer) -> i64 {
    a.headers["x-roster-revision"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// One space with every kind of person in it.
struct SpaceWorld {
    org: String,
    s1: String,
    s2: String,
    owner: String,
    /// An org Admin with no space role.
    admin: String,
    pa: String,
    fac: String,
    part: String,
    sponsor: String,
    /// An org Admin who is also Facilitator of S1.
    admin_fac: String,
    /// A Participant of S2 only.
    other: String,
}

impl SpaceWorld {
    fn o(&self) -> String {
        format!("/v1/orgs/{}", self.org)
    }
}

async fn space_world(app: &TestApp) -> SpaceWorld {
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let s1 = app.create_space(&org, &owner, "S1").await;
    let s2 = app.create_space(&org, &owner, "S2").await;
    let admin = app
        .add_member(&org, &owner, "admin@acme.test", "admin", &[], None)
        .await;
    let pa = app
        .add_member(&org, &owner, "pa@acme.test", "program_admin", &[&s1], None)
        .await;
    let fac = app
        .add_member(&org, &owner, "fac@acme.test", "facilitator", &[&s1], None)
        .await;
    let part = app
        .add_member(&org, &owner, "part@acme.test", "participant", &[&s1], None)
        .await;
    let sponsor = app
        .add_member(&org, &owner, "sponsor@acme.test", "sponsor", &[&s1], None)
        .await;
    let admin_fac = app
        .add_member(&org, &owner, "admin-fac@acme.test", "admin", &[], None)
        .await;
    let a = app
        .put(
            &format!("/v1/orgs/{org}/spaces/{s1}/members/{admin_fac}"),
            Some(&owner),
            json!({"role": "facilitator"}),
        )
        .await;
    assert_status(&a, StatusCode::OK, "an Admin becomes Facilitator of S1");
    let other = app
        .add_member(&org, &owner, "other@acme.test", "participant", &[&s2], None)
        .await;
    SpaceWorld {
        org,
        s1,
        s2,
        owner,
        admin,
        pa,
        fac,
        part,
        sponsor,
        admin_fac,
        other,
    }
}

/// The audit log, read page by page with `limit` per page.
async fn audit_pages(app: &TestApp, org: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("/v1/orgs/{org}/audit?limit={limit}"),
            Some(c) => format!("/v1/orgs/{org}/audit?limit={limit}&cursor={c}"),
        };
        let a = app.get(&path, None).await;
        assert_status(&a, StatusCode::OK, &path);
        let page = a.body["items"].as_array().unwrap().clone();
        assert!(page.len() <= limit, "a page holds at most limit items");
        pages += 1;
        assert!(pages < 1000, "the cursor never ends");
        items.extend(page);
        match &a.body["next_cursor"] {
            Value::Null => break,
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("next_cursor is {other:?}"),
        }
    }
    (items, pages)
}

/// Every path (with its methods) that API.md names.
const API_MD_PATHS: &[(&str, &[&str])] = &[
    ("/v1/orgs", &["post"]),
    ("/v1/orgs/{org}", &["get", "patch", "delete"]),
    (
        "/v1/orgs/{org}/implementation-admin-domains",
        &["put", "get"],
    ),
    ("/v1/orgs/{org}/settings/implementation-admin", &["put"]),
    ("/v1/orgs/{org}/members", &["get"]),
    ("/v1/orgs/{org}/members/{user}", &["get", "patch", "delete"]),
    ("/v1/orgs/{org}/members/{user}/deactivate", &["post"]),
    ("/v1/orgs/{org}/members/{user}/reactivate", &["post"]),
    (
        "/v1/orgs/{org}/members/{user}/remove-implementation-admin",
        &["post"],
    ),
    ("/v1/orgs/{org}/members/bulk", &["post"]),
    ("/v1/orgs/{org}/seats", &["get"]),
    ("/v1/orgs/{org}/members/{user}/capabilities", &["get"]),
    ("/v1/orgs/{org}/spaces", &["post", "get"]),
    ("/v1/orgs/{org}/spaces/{space}", &["get", "patch", "delete"]),
    ("/v1/orgs/{org}/spaces/{space}/members", &["get"]),
    (
        "/v1/orgs/{org}/spaces/{space}/members/{user}",
        &["put", "delete"],
    ),
    ("/v1/orgs/{org}/spaces/{space}/leave", &["post"]),
    (
        "/v1/orgs/{org}/spaces/{space}/notification-recipients",
        &["get"],
    ),
    ("/v1/orgs/{org}/invitations", &["post", "get"]),
    ("/v1/orgs/{org}/invitations/{id}", &["delete"]),
    ("/v1/orgs/{org}/invitations/{id}/resend", &["post"]),
    ("/v1/invitations/accept", &["post"]),
    ("/v1/orgs/{org}/tokens", &["post", "get"]),
    ("/v1/orgs/{org}/tokens/{id}", &["delete"]),
    ("/v1/introspect", &["post"]),
    ("/v1/orgs/{org}/audit", &["get"]),
    ("/v1/orgs/{org}/audit/export", &["get"]),
    ("/v1/orgs/{org}/audit/verify", &["get"]),
    ("/access/v1/evaluation", &["post"]),
    ("/access/v1/evaluations", &["post"]),
    ("/access/v1/search/resource", &["post"]),
    ("/v1/platform/implementation-admins", &["get"]),
    (
        "/v1/platform/implementation-admins/{org}/{user}/review",
        &["post"],
    ),
    ("/v1/dev/clock", &["post"]),
    ("/v1/dev/sweep", &["post"]),
    ("/healthz", &["get"]),
    ("/readyz", &["get"]),
    ("/metrics", &["get"]),
    ("/openapi.json", &["get"]),
    ("/docs", &["get"]),
];

on_both_backends! {
    // ---------------------------------------------------------------- Spaces

    async fn spaces_are_created_listed_read_renamed_and_deleted_and_a_facilitator_lists_only_its_own(app) {
        let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
        let o = format!("/v1/orgs/{org}");
        let a = app.post(&format!("{o}/spaces"), Some(&owner), json!({"name": "Leadership 2025"})).await;
        assert_status(&a, StatusCode::CREATED, "create a space");
        assert_eq!(a.body["name"], "Leadership 2025");
        let s1 = a.body["id"].as_str().unwrap().to_owned();
        assert_eq!(a.body, json!({"id": s1, "name": "Leadership 2025"}));
        let s2 = app.create_space(&org, &owner, "S2").await;
        let a = app.post(&format!("{o}/spaces"), Some(&owner), json!({"name": "  "})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an empty name");
        assert_eq!(a.body["field"], "name");

        let admin = app.add_member(&org, &owner, "admin@acme.test", "admin", &[], None).await;
        let fac = app.add_member(&org, &owner, "fac@acme.test", "facilitator", &[&s1], None).await;

        let a = app.get(&format!("{o}/spaces"), Some(&admin)).await;
        assert_status(&a, StatusCode::OK, "an Admin lists spaces");
        assert_eq!(sorted(strings(&a.body["items"], "id")), sorted(vec![s1.clone(), s2.clone()]), "an Admin sees every space");
        let a = app.get(&format!("{o}/spaces"), None).await;
        assert_eq!(strings(&a.body["items"], "id").len(), 2, "the platform sees every space: {:?}", a.body);
        let a = app.get(&format!("{o}/spaces"), Some(&fac)).await;
        assert_status(&a, StatusCode::OK, "a Facilitator lists spaces");
        assert_eq!(strings(&a.body["items"], "id"), vec![s1.clone()], "a Facilitator sees only the space it can open");

        let a = app.get(&format!("{o}/spaces/{s1}"), Some(&fac)).await;
        assert_status(&a, StatusCode::OK, "a Facilitator reads its space");
        assert_eq!(a.body, json!({"id": s1, "name": "Leadership 2025"}));
        let a = app.get(&format!("{o}/spaces/{s2}"), Some(&fac)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a Facilitator reads another space");
        let a = app.get(&format!("{o}/spaces/spc_missing"), Some(&owner)).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "an unknown space");

        let a = app.patch(&format!("{o}/spaces/{s1}"), Some(&fac), json!({"name": "Mine now"})).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a Facilitator renames its space");
        let a = app.patch(&format!("{o}/spaces/{s1}"), Some(&admin), json!({"name": "Leadership 2026"})).await;
        assert_status(&a, StatusCode::OK, "an Admin renames a space");
        assert_eq!(a.body, json!({"id": s1, "name": "Leadership 2026"}));
        assert_eq!(app.get(&format!("{o}/spaces/{s1}"), Some(&owner)).await.body["name"], "Leadership 2026");

        // Someone whose only role is in S2, about to go.
        let fac2 = app.add_member(&org, &owner, "fac2@acme.test", "facilitator", &[&s2], None).await;
        assert!(app.get(&format!("{o}/seats"), None).await.body["holders"].as_array().unwrap().contains(&json!(fac2)));
        let a = app.delete(&format!("{o}/spaces/{s2}"), Some(&fac)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a Facilitator deletes a space");
        let a = app.delete(&format!("{o}/spaces/{s2}"), Some(&admin)).await;
        assert_status(&a, StatusCode::NO_CONTENT, "an Admin deletes a space");
        let a = app.get(&format!("{o}/spaces/{s2}"), Some(&owner)).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "a deleted space");
        let a = app.delete(&format!("{o}/spaces/{s2}"), Some(&owner)).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "deleting it again");
        let a = app.get(&format!("{o}/spaces"), Some(&owner)).await;
        assert_eq!(strings(&a.body["items"], "id"), vec![s1.clone()]);
        // Its roles went with it: no role, no seat, no access.
        let m = app.get(&format!("{o}/members/{fac2}"), None).await;
        assert_eq!((m.body["space_roles"].clone(), m.body["uses_seat"].clone()), (json!([]), json!(false)), "{:?}", m.body);
        assert!(!app.get(&format!("{o}/seats"), None).await.body["holders"].as_array().unwrap().contains(&json!(fac2)));
        assert!(!app.decide(&org, &fac2, "space.view", json!({"type": "space", "id": s2})).await);
        assert_eq!(app.get(&format!("{o}/spaces"), Some(&fac2)).await.body["items"], json!([]));
        let actions: Vec<String> = app.audit(&org).await.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        for action in ["space.created", "space.updated", "space.deleted"] {
            assert!(actions.iter().any(|a| a == action), "no {action} in {actions:?}");
        }
        app.stop().await;
    }

    async fn the_space_member_list_shows_explicit_roles_and_org_admins_and_counts_no_sponsors(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let a = app.get(&format!("{o}/spaces/{}/members", w.s1), Some(&w.fac)).await;
        assert_status(&a, StatusCode::OK, "a Facilitator lists its space's members");
        let items = a.body["items"].as_array().unwrap();
        let row = |user: &str| items.iter().find(|i| i["user_id"] == user).cloned().unwrap_or(Value::Null);
        assert_eq!(row(&w.pa), json!({"user_id": w.pa, "role": "program_admin", "via": "space"}));
        assert_eq!(row(&w.fac), json!({"user_id": w.fac, "role": "facilitator", "via": "space"}));
        assert_eq!(row(&w.part), json!({"user_id": w.part, "role": "participant", "via": "space"}));
        assert_eq!(row(&w.sponsor), json!({"user_id": w.sponsor, "role": "sponsor", "via": "space"}));
        assert_eq!(row(&w.admin_fac), json!({"user_id": w.admin_fac, "role": "facilitator", "via": "space"}), "an explicit role wins over the org role");
        assert_eq!(row(&w.owner), json!({"user_id": w.owner, "role": null, "via": "owner"}));
        assert_eq!(row(&w.admin), json!({"user_id": w.admin, "role": null, "via": "admin"}));
        assert_eq!(row(&w.other), Value::Null, "a member of another space only is not listed");
        assert_eq!(items.len(), 7, "{items:?}");
        assert_eq!(a.body["member_total"], 4, "program admin, two facilitators and a participant; no sponsor: {:?}", a.body);

        // The platform key reads it too; someone of another space does not.
        let a = app.get(&format!("{o}/spaces/{}/members", w.s1), None).await;
        assert_status(&a, StatusCode::OK, "the platform lists a space's members");
        let a = app.get(&format!("{o}/spaces/{}/members", w.s1), Some(&w.other)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a participant of S2 lists S1");
        let a = app.get(&format!("{o}/spaces/spc_missing/members"), Some(&w.owner)).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "an unknown space's members");

        // PUT adds an existing org member, then changes their role.
        let path = format!("{o}/spaces/{}/members/{}", w.s1, w.other);
        let a = app.put(&path, Some(&w.owner), json!({"role": "facilitator"})).await;
        assert_status(&a, StatusCode::OK, "add an existing member to S1");
        assert_eq!(a.body["role"], "facilitator");
        let a = app.put(&path, Some(&w.owner), json!({"role": "sponsor"})).await;
        assert_status(&a, StatusCode::OK, "change their role in S1");
        let m = app.get(&format!("{o}/members/{}", w.other), None).await;
        let roles = m.body["space_roles"].as_array().unwrap();
        assert!(roles.contains(&json!({"space_id": w.s1, "role": "sponsor"})), "{roles:?}");
        assert!(roles.contains(&json!({"space_id": w.s2, "role": "participant"})), "{roles:?}");
        assert_eq!(roles.len(), 2, "one role per space: {roles:?}");
        let a = app.get(&format!("{o}/spaces/{}/members", w.s1), None).await;
        assert_eq!(a.body["member_total"], 4, "a new sponsor is not counted: {:?}", a.body);
        let a = app.put(&path, Some(&w.owner), json!({"role": "wizard"})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an unknown space role");
        let a = app.put(&format!("{o}/spaces/{}/members/usr_missing", w.s1), Some(&w.owner), json!({"role": "participant"})).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "someone who is not a member");
        app.stop().await;
    }

    async fn removing_a_space_role_says_what_access_remains_and_access_only_through_the_org_role_cannot_be_removed(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let s1 = &w.s1;
        // An Admin with an explicit role keeps access through the org role.
        let a = app.delete(&format!("{o}/spaces/{s1}/members/{}", w.admin_fac), Some(&w.owner)).await;
        assert_status(&a, StatusCode::OK, "remove the Admin's facilitator role");
        assert_eq!(a.body, json!({"retained_access": "admin"}));
        let list = app.get(&format!("{o}/spaces/{s1}/members"), None).await;
        let row = list.body["items"].as_array().unwrap().iter().find(|i| i["user_id"] == w.admin_fac.as_str()).cloned();
        assert_eq!(row, Some(json!({"user_id": w.admin_fac, "role": null, "via": "admin"})));
        // Now the access is only the org role's.
        let a = app.delete(&format!("{o}/spaces/{s1}/members/{}", w.admin_fac), Some(&w.owner)).await;
        assert_problem(&a, StatusCode::CONFLICT, "inherited_access", "remove an Admin's inherited access");
        assert_eq!(a.body["org_role"], "admin");
        let a = app.delete(&format!("{o}/spaces/{s1}/members/{}", w.owner), Some(&w.owner)).await;
        assert_problem(&a, StatusCode::CONFLICT, "inherited_access", "remove an Owner's inherited access");
        assert_eq!(a.body["org_role"], "owner");
        assert!(app.decide(&w.org, &w.owner, "space.view", json!({"type": "space", "id": s1})).await, "the Owner still opens S1");

        // An Owner with an explicit role keeps Owner access.
        let a = app.put(&format!("{o}/spaces/{s1}/members/{}", w.owner), Some(&w.owner), json!({"role": "participant"})).await;
        assert_status(&a, StatusCode::OK, "the Owner becomes participant of S1");
        let a = app.delete(&format!("{o}/spaces/{s1}/members/{}", w.owner), Some(&w.owner)).await;
        assert_status(&a, StatusCode::OK, "remove the Owner's participant role");
        assert_eq!(a.body, json!({"retained_access": "owner"}));

        // Someone without an org role loses the space.
        let a = app.delete(&format!("{o}/spaces/{s1}/members/{}", w.part), Some(&w.owner)).await;
        assert_status(&a, StatusCode::OK, "remove a participant");
        assert_eq!(a.body, json!({"retained_access": null}));
        assert!(!app.decide(&w.org, &w.part, "space.view", json!({"type": "space", "id": s1})).await, "the participant no longer opens S1");
        let a = app.delete(&format!("{o}/spaces/{s1}/members/{}", w.part), Some(&w.owner)).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "remove someone with no access to S1");
        let actions: Vec<String> = app.audit(&w.org).await.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert_eq!(actions.iter().filter(|a| *a == "space_role.removed").count(), 3, "{actions:?}");
        app.stop().await;
    }

    async fn a_participant_leaves_a_space_only_with_confirmation_and_nobody_else_can_leave(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let leave = format!("{o}/spaces/{}/leave", w.s1);
        let before = app.audit(&w.org).await.len();
        let a = app.post(&leave, Some(&w.part), json!({})).await;
        assert_problem(&a, StatusCode::CONFLICT, "confirmation_required", "leave without confirm");
        let a = app.post(&leave, Some(&w.part), json!({"confirm": false})).await;
        assert_problem(&a, StatusCode::CONFLICT, "confirmation_required", "leave with confirm false");
        assert_eq!(app.audit(&w.org).await.len(), before, "nothing happened");
        for (who, me) in [("a Facilitator", &w.fac), ("a Program Admin", &w.pa), ("a Sponsor", &w.sponsor), ("an Admin without a role", &w.admin), ("a participant of S2", &w.other)] {
            let a = app.post(&leave, Some(me), json!({"confirm": true})).await;
            assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", &format!("{who} leaves S1"));
        }
        let a = app.post(&leave, None, json!({"confirm": true})).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "the platform key alone leaves");
        let a = app.post(&leave, Some(&w.part), json!({"confirm": true})).await;
        assert_status(&a, StatusCode::NO_CONTENT, "the participant leaves with confirmation");
        let m = app.get(&format!("{o}/members/{}", w.part), None).await;
        assert_eq!(m.body["space_roles"], json!([]), "{:?}", m.body);
        assert_eq!(m.body["status"], "active", "leaving a space keeps the membership");
        let audit = app.audit(&w.org).await;
        let left = audit.iter().find(|e| e["action"] == "member.left_space").expect("a member.left_space entry");
        assert_eq!(left["target_user_id"], w.part.as_str());
        assert_eq!(left["space_id"], w.s1.as_str());
        let a = app.post(&leave, Some(&w.part), json!({"confirm": true})).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "leaving again");
        app.stop().await;
    }

    async fn notification_recipients_exclude_sponsors_and_org_admins_without_a_space_role(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let a = app.get(&format!("{o}/spaces/{}/notification-recipients", w.s1), Some(&w.part)).await;
        assert_status(&a, StatusCode::OK, "a participant reads the recipients");
        let got: Vec<String> = sorted(a.body["user_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect());
        let want = sorted(vec![w.pa.clone(), w.fac.clone(), w.part.clone(), w.admin_fac.clone()]);
        assert_eq!(got, want, "program admin, facilitators and participant; no sponsor, no Owner or Admin without a role");
        let a = app.get(&format!("{o}/spaces/{}/notification-recipients", w.s2), None).await;
        assert_status(&a, StatusCode::OK, "the platform reads the recipients");
        assert_eq!(a.body["user_ids"], json!([w.other]));
        let a = app.get(&format!("{o}/spaces/{}/notification-recipients", w.s2), Some(&w.part)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a participant of S1 reads S2's recipients");
        // A deactivated participant receives nothing.
        let a = app.post(&format!("{o}/members/{}/deactivate", w.part), Some(&w.owner), json!({})).await;
        assert_status(&a, StatusCode::OK, "deactivate the participant");
        let a = app.get(&format!("{o}/spaces/{}/notification-recipients", w.s1), None).await;
        assert!(!a.body["user_ids"].as_array().unwrap().contains(&json!(w.part)), "{:?}", a.body);
        app.stop().await;
    }

    // --------------------------------------------------------------- Members

    async fn demoting_an_admin_lists_the_space_roles_they_keep_and_a_patch_without_org_role_changes_nothing(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let a = app.put(&format!("{o}/spaces/{}/members/{}", w.s2, w.admin_fac), Some(&w.owner), json!({"role": "program_admin"})).await;
        assert_status(&a, StatusCode::OK, "the Admin becomes Program Admin of S2");
        let a = app.patch(&format!("{o}/members/{}", w.admin_fac), Some(&w.owner), json!({"org_role": null})).await;
        assert_status(&a, StatusCode::OK, "demote the Admin");
        assert_eq!(a.body["org_role"], Value::Null);
        let mut kept = a.body["kept_space_roles"].as_array().unwrap_or_else(|| panic!("no kept_space_roles: {:?}", a.body)).clone();
        kept.sort_by_key(|k| k["space_id"].as_str().unwrap().to_owned());
        let mut want = vec![json!({"space_id": w.s1, "role": "facilitator"}), json!({"space_id": w.s2, "role": "program_admin"})];
        want.sort_by_key(|k| k["space_id"].as_str().unwrap().to_owned());
        assert_eq!(kept, want);
        let m = app.get(&format!("{o}/members/{}", w.admin_fac), None).await;
        assert_eq!(m.body["space_roles"].as_array().unwrap().len(), 2, "the space roles stay: {:?}", m.body);
        assert!(!app.decide(&w.org, &w.admin_fac, "members.view", json!({"type": "organization", "id": w.org})).await, "no org role any more");
        assert!(app.decide(&w.org, &w.admin_fac, "members.manage", json!({"type": "space", "id": w.s2})).await, "still Program Admin of S2");

        // A PATCH without org_role changes nothing.
        let rev = app.get(&o, None).await.body["revision"].clone();
        let audit = app.audit(&w.org).await.len();
        let before = app.get(&format!("{o}/members/{}", w.admin), None).await.body;
        let a = app.patch(&format!("{o}/members/{}", w.admin), Some(&w.owner), json!({})).await;
        assert_status(&a, StatusCode::OK, "an empty PATCH");
        assert_eq!(a.body["org_role"], "admin");
        assert!(a.body.get("kept_space_roles").is_none(), "{:?}", a.body);
        assert_eq!(app.get(&format!("{o}/members/{}", w.admin), None).await.body, before);
        assert_eq!(app.get(&o, None).await.body["revision"], rev, "no write happened");
        assert_eq!(app.audit(&w.org).await.len(), audit, "no audit entry");
        app.stop().await;
    }

    async fn bulk_deactivation_with_the_last_owner_in_the_list_answers_for_each_user(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let a = app.post(&format!("{o}/members/bulk"), Some(&w.owner), json!({"action": "deactivate", "user_ids": [w.admin, w.owner, w.fac]})).await;
        assert_status(&a, StatusCode::OK, "bulk deactivate");
        let results = a.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 3, "{results:?}");
        assert_eq!((&results[0]["user_id"], &results[0]["ok"]), (&json!(w.admin), &json!(true)), "{results:?}");
        assert_eq!((&results[1]["user_id"], &results[1]["ok"], &results[1]["code"]), (&json!(w.owner), &json!(false), &json!("last_owner")), "{results:?}");
        assert_eq!((&results[2]["user_id"], &results[2]["ok"]), (&json!(w.fac), &json!(true)), "{results:?}");
        for (user, status) in [(&w.admin, "deactivated"), (&w.owner, "active"), (&w.fac, "deactivated")] {
            let m = app.get(&format!("{o}/members/{user}"), None).await;
            assert_eq!(m.body["status"], status, "{:?}", m.body);
        }
        let audit = app.audit(&w.org).await;
        assert_eq!(audit.iter().filter(|e| e["action"] == "member.deactivated").count(), 2);

        let a = app.post(&format!("{o}/members/bulk"), Some(&w.owner), json!({"action": "reactivate", "user_ids": [w.admin, w.fac]})).await;
        assert_status(&a, StatusCode::OK, "bulk reactivate");
        assert!(a.body["results"].as_array().unwrap().iter().all(|r| r["ok"] == true), "{:?}", a.body);
        let a = app.post(&format!("{o}/members/bulk"), Some(&w.owner), json!({"action": "explode", "user_ids": [w.admin]})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an unknown bulk action");
        let a = app.post(&format!("{o}/members/bulk"), Some(&w.owner), json!({"action": "remove", "user_ids": []})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an empty bulk list");
        app.stop().await;
    }

    async fn seats_count_holders_and_pending_invitations_and_refuse_invitations_and_reactivation_past_the_limit(app) {
        let (org, owner) = app.create_org("Small", "owner@small.test", Some(3)).await;
        let o = format!("/v1/orgs/{org}");
        let s = app.create_space(&org, &owner, "S").await;
        let (r, seats_path) = (&app, format!("/v1/orgs/{org}/seats"));
        let seats = || { let path = seats_path.clone(); async move { let a = r.get(&path, None).await; assert_status(&a, StatusCode::OK, "seats"); a.body } };
        assert_eq!(seats().await, json!({"limit": 3, "used": 1, "reserved": 0, "available": 2, "holders": [owner]}));

        let a = app.post(&format!("{o}/invitations"), Some(&owner), json!({"emails": ["admin@small.test"], "role": "admin"})).await;
        assert_status(&a, StatusCode::CREATED, "invite an Admin");
        assert_eq!(seats().await, json!({"limit": 3, "used": 1, "reserved": 1, "available": 1, "holders": [owner]}), "a pending invitation reserves a seat");
        let fac = app.add_member(&org, &owner, "fac@small.test", "facilitator", &[&s], None).await;
        let s_now = seats().await;
        assert_eq!((s_now["used"].clone(), s_now["reserved"].clone(), s_now["available"].clone()), (json!(2), json!(1), json!(0)), "{s_now:?}");
        assert_eq!(s_now["holders"], json!(sorted(vec![owner.clone(), fac.clone()])));

        let a = app.post(&format!("{o}/invitations"), Some(&owner), json!({"emails": ["fac2@small.test"], "role": "facilitator", "space_ids": [s]})).await;
        assert_problem(&a, StatusCode::CONFLICT, "seat_limit_reached", "invite past the limit");
        let a = app.post(&format!("{o}/invitations"), Some(&owner), json!({"emails": ["learner@small.test"], "role": "participant", "space_ids": [s]})).await;
        assert_status(&a, StatusCode::CREATED, "participants use no seat");
        assert_eq!(seats().await["reserved"], 1, "a participant invitation reserves nothing");

        // A seat freed by deactivation can be taken; then reactivation fails.
        let a = app.post(&format!("{o}/members/{fac}/deactivate"), Some(&owner), json!({})).await;
        assert_status(&a, StatusCode::OK, "deactivate the Facilitator");
        assert_eq!(a.body["uses_seat"], false);
        assert_eq!(seats().await, json!({"limit": 3, "used": 1, "reserved": 1, "available": 1, "holders": [owner]}));
        let a = app.post(&format!("{o}/invitations"), Some(&owner), json!({"emails": ["admin2@small.test"], "role": "admin"})).await;
        assert_status(&a, StatusCode::CREATED, "invite into the freed seat");
        let admin2_invitation = a.body["invitations"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(seats().await["available"], 0);
        let a = app.post(&format!("{o}/members/{fac}/reactivate"), Some(&owner), json!({})).await;
        assert_problem(&a, StatusCode::CONFLICT, "seat_limit_reached", "reactivate without a free seat");
        assert_eq!(app.get(&format!("{o}/members/{fac}"), None).await.body["status"], "deactivated");
        let a = app.delete(&format!("{o}/invitations/{admin2_invitation}"), Some(&owner)).await;
        assert_status(&a, StatusCode::NO_CONTENT, "revoke the reserving invitation");
        let a = app.post(&format!("{o}/members/{fac}/reactivate"), Some(&owner), json!({})).await;
        assert_status(&a, StatusCode::OK, "reactivate with a free seat");
        assert_eq!(a.body["status"], "active");
        assert_eq!(seats().await, json!({"limit": 3, "used": 2, "reserved": 1, "available": 0, "holders": sorted(vec![owner.clone(), fac.clone()])}));
        app.stop().await;
    }

    async fn invitations_refuse_existing_members_for_org_roles_add_them_to_spaces_split_email_strings_and_count_resends(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let r = &app;
        let list_path = format!("{o}/invitations?limit=500");
        let invitations = || { let path = list_path.clone(); async move { r.get(&path, None).await.body["items"].as_array().unwrap().len() } };
        let count_before = invitations().await;
        // An existing member cannot be invited to an org role.
        let a = app.post(&format!("{o}/invitations"), Some(&w.owner), json!({"emails": ["fac@acme.test", "new@acme.test"], "role": "admin"})).await;
        assert_problem(&a, StatusCode::CONFLICT, "already_member", "invite a member as Admin");
        let rejected: Vec<(String, String)> = a.body["rejected"].as_array().unwrap().iter().map(|r| (r["email"].as_str().unwrap().to_owned(), r["code"].as_str().unwrap().to_owned())).collect();
        assert_eq!(rejected, vec![("fac@acme.test".to_owned(), "already_member".to_owned())], "only the member is rejected: {:?}", a.body);
        assert_eq!(invitations().await, count_before, "nothing created");

        // An existing member invited into a space gets the role at once.
        let mails = |email: &'static str| async move { r.state.store.outbox(Some(email), 50).await.unwrap().iter().filter(|m| m.template == "invitation").count() };
        let fac_mails = mails("fac@acme.test").await;
        let a = app.post(&format!("{o}/invitations"), Some(&w.owner), json!({"emails": ["fac@acme.test"], "role": "participant", "space_ids": [w.s2]})).await;
        assert_status(&a, StatusCode::CREATED, "invite a member into S2");
        assert_eq!(a.body["invitations"][0]["status"], "accepted", "{:?}", a.body);
        let m = app.get(&format!("{o}/members/{}", w.fac), None).await;
        assert!(m.body["space_roles"].as_array().unwrap().contains(&json!({"space_id": w.s2, "role": "participant"})), "{:?}", m.body);
        assert!(app.decide(&w.org, &w.fac, "activity.complete", json!({"type": "space", "id": w.s2})).await, "a participant of S2 now");
        assert_eq!(mails("fac@acme.test").await, fac_mails, "no invitation email for an existing member");
        let a = app.post(&format!("{o}/invitations"), Some(&w.owner), json!({"emails": ["fac@acme.test"], "role": "participant", "space_ids": [w.s2]})).await;
        assert_problem(&a, StatusCode::CONFLICT, "already_member", "invite into a space where they already are");

        // One string, several separators: one invitation per address.
        let a = app.post(&format!("{o}/invitations"), Some(&w.owner), json!({"emails": "one@acme.test, two@acme.test;three@acme.test\nfour@acme.test five@acme.test", "role": "participant", "space_ids": [w.s1]})).await;
        assert_status(&a, StatusCode::CREATED, "invite from one string");
        let created = a.body["invitations"].as_array().unwrap();
        assert_eq!(sorted(strings(&a.body["invitations"], "email")), sorted(["one@acme.test", "two@acme.test", "three@acme.test", "four@acme.test", "five@acme.test"].map(String::from).to_vec()));
        let batch = a.body["batch_id"].as_str().unwrap();
        for inv in created {
            assert_eq!(inv["status"], "pending");
            assert_eq!(inv["role"], "participant");
            assert_eq!(inv["space_ids"], json!([w.s1]));
            assert_eq!(inv["send_count"], 1);
            assert_eq!(inv["invited_by"], w.owner.as_str());
            for key in ["id", "expires_at", "created_at"] {
                assert!(inv[key].is_string(), "{key} in {inv:?}");
            }
            assert!(inv.get("duration").is_some(), "{inv:?}");
        }
        assert_eq!(sorted(strings(&a.body["invitations"], "id")).iter().collect::<std::collections::BTreeSet<_>>().len(), 5, "distinct ids");
        assert!(!batch.is_empty());
        for email in ["one@acme.test", "two@acme.test", "three@acme.test", "four@acme.test", "five@acme.test"] {
            assert_eq!(mails(email).await, 1, "one email to {email}");
        }
        let pending = app.get(&format!("{o}/invitations?status=pending"), None).await;
        assert_eq!(pending.body["items"].as_array().unwrap().len(), 5, "{:?}", pending.body);

        // Resending answers the invitation with one more send.
        let id = created[0]["id"].as_str().unwrap();
        let email = created[0]["email"].as_str().unwrap().to_owned();
        let first_expiry = created[0]["expires_at"].as_str().unwrap().to_owned();
        app.advance(86_400).await;
        let a = app.post(&format!("{o}/invitations/{id}/resend"), Some(&w.owner), json!({})).await;
        assert_status(&a, StatusCode::OK, "resend");
        assert!(a.body["expires_at"].as_str().unwrap() > first_expiry.as_str(), "a resend resets the expiry: {first_expiry} → {:?}", a.body["expires_at"]);
        assert_eq!((a.body["id"].as_str(), a.body["send_count"].as_i64(), a.body["status"].as_str()), (Some(id), Some(2), Some("pending")), "{:?}", a.body);
        let a = app.post(&format!("{o}/invitations/{id}/resend"), Some(&w.owner), json!({})).await;
        assert_eq!(a.body["send_count"], 3, "{:?}", a.body);
        let listed = app.get(&format!("{o}/invitations?status=pending"), None).await;
        let row = listed.body["items"].as_array().unwrap().iter().find(|i| i["id"] == id).cloned().unwrap();
        assert_eq!(row["send_count"], 3);
        let sent = app.state.store.outbox(Some(&email), 50).await.unwrap().iter().filter(|m| m.template == "invitation").count();
        assert_eq!(sent, 3, "an email per send");
        let resent = app.audit(&w.org).await.iter().filter(|e| e["action"] == "invitation.resent").count();
        assert_eq!(resent, 2);
        let a = app.post(&format!("{o}/invitations/inv_missing/resend"), Some(&w.owner), json!({})).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "resend an unknown invitation");
        app.stop().await;
    }

    async fn capabilities_show_role_management_only_with_someone_else_and_sections_by_role(app) {
        let (org, owner) = app.create_org("Solo", "owner@solo.test", None).await;
        let o = format!("/v1/orgs/{org}");
        let r = &app;
        let caps = |user: String, actor: Option<String>| {
            let path = format!("{o}/members/{user}/capabilities");
            async move {
                let a = r.get(&path, actor.as_deref()).await;
                assert_status(&a, StatusCode::OK, &path);
                a.body
            }
        };
        let c = caps(owner.clone(), Some(owner.clone())).await;
        assert_eq!(c["role_management"], false, "a solo organization never sees role management: {c:?}");
        let all = ["users", "spaces", "reports", "offers", "integrations", "brand_settings", "audit", "billing", "financials"];
        assert_eq!(sorted(c["admin_area"]["sections"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()), sorted(all.map(String::from).to_vec()), "an Owner sees every section");
        assert_eq!(c["spaces"], json!([]));

        let s1 = app.create_space(&org, &owner, "S1").await;
        let s2 = app.create_space(&org, &owner, "S2").await;
        let admin = app.add_member(&org, &owner, "admin@solo.test", "admin", &[], None).await;
        let c = caps(owner.clone(), None).await;
        assert_eq!(c["role_management"], true, "with a second member: {c:?}");
        let views: Vec<String> = strings(&c["spaces"], "view");
        assert_eq!(views, vec!["admin", "admin"], "an Owner opens both spaces as admin: {c:?}");

        let c = caps(admin.clone(), Some(admin.clone())).await;
        let sections: Vec<String> = c["admin_area"]["sections"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
        assert_eq!(sorted(sections), sorted(["users", "spaces", "reports", "offers", "integrations", "brand_settings", "audit"].map(String::from).to_vec()), "an Admin has no billing or financials");
        assert_eq!(c["role_management"], true);

        let fac = app.add_member(&org, &owner, "fac@solo.test", "facilitator", &[&s1], None).await;
        let c = caps(fac.clone(), Some(fac.clone())).await;
        assert_eq!(c["admin_area"]["sections"], json!([]), "no sections without an org role: {c:?}");
        assert_eq!(c["role_management"], false);
        let spaces = c["spaces"].as_array().unwrap();
        assert_eq!(spaces.len(), 1, "only the space it facilitates: {c:?}");
        assert_eq!(spaces[0]["space_id"], s1.as_str());
        assert_eq!(spaces[0]["view"], "facilitator");
        let actions: Vec<&str> = spaces[0]["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        for allowed in ["space.view", "events.manage", "feed.post", "notifications.receive"] {
            assert!(actions.contains(&allowed), "{allowed} missing from {actions:?}");
        }
        for denied in ["members.manage", "activity.create", "space.leave"] {
            assert!(!actions.contains(&denied), "{denied} in {actions:?}");
        }
        assert!(!c.to_string().contains(&s2), "S2 is not listed for the Facilitator");

        let part = app.add_member(&org, &owner, "part@solo.test", "participant", &[&s2], None).await;
        let sponsor = app.add_member(&org, &owner, "sponsor@solo.test", "sponsor", &[&s2], None).await;
        for (who, view, has, lacks) in [(&part, "participant", "space.leave", "events.manage"), (&sponsor, "sponsor", "reports.view", "feed.post")] {
            let c = caps(who.clone(), None).await;
            assert_eq!(c["admin_area"]["sections"], json!([]), "{c:?}");
            let spaces = c["spaces"].as_array().unwrap();
            assert_eq!(spaces.len(), 1, "{c:?}");
            assert_eq!((spaces[0]["space_id"].as_str(), spaces[0]["view"].as_str()), (Some(s2.as_str()), Some(view)), "{c:?}");
            let actions = &spaces[0]["actions"];
            assert!(actions.as_array().unwrap().contains(&json!(has)), "{view} lacks {has}: {actions:?}");
            assert!(!actions.as_array().unwrap().contains(&json!(lacks)), "{view} has {lacks}: {actions:?}");
        }
        // The person themselves or members.view; not another participant.
        let a = app.get(&format!("{o}/members/{admin}/capabilities"), Some(&fac)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a Facilitator reads an Admin's capabilities");
        let a = app.get(&format!("{o}/members/{fac}/capabilities"), Some(&admin)).await;
        assert_status(&a, StatusCode::OK, "an Admin reads a Facilitator's capabilities");
        app.stop().await;
    }

    async fn a_pending_invitation_is_enough_for_role_management(app) {
        let (org, owner) = app.create_org("Solo", "owner@solo.test", None).await;
        let path = format!("/v1/orgs/{org}/members/{owner}/capabilities");
        assert_eq!(app.get(&path, None).await.body["role_management"], false);
        let a = app.post(&format!("/v1/orgs/{org}/invitations"), Some(&owner), json!({"emails": ["soon@solo.test"], "role": "admin"})).await;
        assert_status(&a, StatusCode::CREATED, "invite");
        assert_eq!(app.get(&path, None).await.body["role_management"], true);
        app.stop().await;
    }

    // ------------------------------------------------------------- Decisions

    async fn batch_evaluations_use_top_level_defaults_with_per_item_overrides_and_stop_early_when_asked(app) {
        let w = space_world(&app).await;
        let org = &w.org;
        let s1 = json!({"type": "space", "id": w.s1, "properties": {"org_id": org}});
        let s2 = json!({"type": "space", "id": w.s2, "properties": {"org_id": org}});
        let fac = json!({"type": "user", "id": w.fac});
        let part = json!({"type": "user", "id": w.part});
        let a = app.post("/access/v1/evaluations", None, json!({
            "subject": fac, "action": {"name": "events.manage"}, "resource": s1,
            "evaluations": [
                {},
                {"action": {"name": "members.manage"}},
                {"subject": part},
                {"resource": s2},
                {"subject": {"type": "user", "id": w.owner}, "action": {"name": "members.invite"}, "resource": {"type": "organization", "id": org}},
            ],
        })).await;
        assert_status(&a, StatusCode::OK, "a batch");
        let decisions: Vec<Value> = a.body["evaluations"].as_array().unwrap().iter().map(|e| e["decision"].clone()).collect();
        assert_eq!(decisions, vec![json!(true), json!(false), json!(false), json!(false), json!(true)]);

        let items = json!([
            {"action": {"name": "space.view"}},
            {"action": {"name": "members.manage"}},
            {"action": {"name": "events.manage"}},
        ]);
        let batch = |semantic: Option<&str>| {
            let mut body = json!({"subject": fac, "resource": s1, "evaluations": items});
            if let Some(s) = semantic {
                body["options"] = json!({"evaluations_semantic": s});
            }
            body
        };
        let a = app.post("/access/v1/evaluations", None, batch(None)).await;
        assert_eq!(a.body["evaluations"], json!([{"decision": true}, {"decision": false}, {"decision": true}]), "execute_all by default");
        let a = app.post("/access/v1/evaluations", None, batch(Some("execute_all"))).await;
        assert_eq!(a.body["evaluations"].as_array().unwrap().len(), 3);
        let a = app.post("/access/v1/evaluations", None, batch(Some("deny_on_first_deny"))).await;
        assert_status(&a, StatusCode::OK, "deny_on_first_deny");
        assert_eq!(a.body["evaluations"], json!([{"decision": true}, {"decision": false}]), "stops at the first deny");
        let items = json!([
            {"action": {"name": "members.manage"}},
            {"action": {"name": "events.manage"}},
            {"action": {"name": "activity.create"}},
        ]);
        let a = app.post("/access/v1/evaluations", None, json!({"subject": fac, "resource": s1, "evaluations": items, "options": {"evaluations_semantic": "permit_on_first_permit"}})).await;
        assert_status(&a, StatusCode::OK, "permit_on_first_permit");
        assert_eq!(a.body["evaluations"], json!([{"decision": false}, {"decision": true}]), "stops at the first permit");
        let a = app.post("/access/v1/evaluations", None, json!({"subject": fac, "resource": s1, "evaluations": items, "options": {"evaluations_semantic": "whatever"}})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an unknown semantic");
        let a = app.post("/access/v1/evaluations", None, json!({"subject": fac, "resource": s1, "evaluations": [{"action": {"name": "space.view"}}, {"action": {"name": "space.fly"}}]})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an unknown action in a batch");
        app.stop().await;
    }

    async fn an_evaluation_explains_itself_honours_at_least_refuses_unknown_actions_and_echoes_the_request_id(app) {
        let w = space_world(&app).await;
        let org = &w.org;
        let ask = |user: &str, action: &str, resource: Value, context: Option<Value>| {
            let mut body = json!({"subject": {"type": "user", "id": user}, "action": {"name": action}, "resource": resource});
            if let Some(c) = context {
                body["context"] = c;
            }
            body
        };
        let s1 = json!({"type": "space", "id": w.s1, "properties": {"org_id": org}});
        let a = app.post("/access/v1/evaluation", None, ask(&w.fac, "events.manage", s1.clone(), None)).await;
        assert_status(&a, StatusCode::OK, "an evaluation");
        assert_eq!(a.body["decision"], true);
        assert!(a.body.get("context").is_none() || a.body["context"].get("reason").is_none(), "no explanation unless asked: {:?}", a.body);
        let allow = app.post("/access/v1/evaluation", None, ask(&w.fac, "events.manage", s1.clone(), Some(json!({"explain": true})))).await;
        assert_eq!(allow.body["decision"], true);
        let allow_reason = allow.body["context"]["reason"].as_str().unwrap_or_else(|| panic!("no reason: {:?}", allow.body)).to_owned();
        assert!(!allow_reason.is_empty());
        let deny = app.post("/access/v1/evaluation", None, ask(&w.sponsor, "feed.post", s1.clone(), Some(json!({"explain": true})))).await;
        assert_eq!(deny.body["decision"], false);
        let deny_reason = deny.body["context"]["reason"].as_str().unwrap_or_else(|| panic!("no reason: {:?}", deny.body)).to_owned();
        assert_ne!(allow_reason, deny_reason, "different rules decided");

        // The revision of a write, asked for at least, sees the write.
        let a = app.put(&format!("{}/spaces/{}/members/{}", w.o(), w.s2, w.part), Some(&w.owner), json!({"role": "participant"})).await;
        assert_status(&a, StatusCode::OK, "add the participant to S2");
        let revision = revision_of(&a);
        let s2 = json!({"type": "space", "id": w.s2, "properties": {"org_id": org}});
        let a = app.post("/access/v1/evaluation", None, ask(&w.part, "space.view", s2, Some(json!({"at_least": revision})))).await;
        assert_status(&a, StatusCode::OK, "at_least");
        assert_eq!(a.body["decision"], true, "the write is seen");

        let a = app.post("/access/v1/evaluation", None, ask(&w.fac, "events.teleport", s1.clone(), None)).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an unknown action");
        let a = app.post("/access/v1/evaluation", None, json!({"action": {"name": "space.view"}, "resource": s1})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "no subject");

        let a = send(&app, Method::POST, "/access/v1/evaluation", None, Some(ask(&w.fac, "space.view", s1.clone(), None)), Some("decide-42")).await;
        assert_status(&a, StatusCode::OK, "with a request id");
        assert_eq!(a.headers["x-request-id"], "decide-42");
        app.stop().await;
    }

    async fn a_user_token_asks_only_about_its_owner_and_resource_search_pages_through_spaces(app) {
        let w = space_world(&app).await;
        let org = &w.org;
        let (_, secret) = token(&app, org, &w.part).await;
        let about = |user: &str| json!({"subject": {"type": "user", "id": user}, "action": {"name": "space.view"}, "resource": {"type": "space", "id": w.s1, "properties": {"org_id": org}}});
        let a = app.call_with_token(Method::POST, "/access/v1/evaluation", &secret, Some(about(&w.part))).await;
        assert_status(&a, StatusCode::OK, "a token asks about its owner");
        assert_eq!(a.body["decision"], true);
        let a = app.call_with_token(Method::POST, "/access/v1/evaluation", &secret, Some(about(&w.fac))).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a token asks about someone else");
        let (org_b, _) = app.create_org("Elsewhere", "owner@elsewhere.test", None).await;
        let mut elsewhere = about(&w.part);
        elsewhere["resource"]["properties"]["org_id"] = json!(org_b);
        let a = app.call_with_token(Method::POST, "/access/v1/evaluation", &secret, Some(elsewhere)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a token asks about its owner in another organization");
        let a = app.post("/access/v1/evaluation", Some(&w.part), about(&w.fac)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "acting as a user, asking about someone else");
        let a = app.call_with_token(Method::POST, "/access/v1/evaluations", &secret, Some(json!({"evaluations": [about(&w.part), about(&w.fac)]}))).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a batch about someone else");

        let s3 = app.create_space(org, &w.owner, "S3").await;
        let mut all = vec![w.s1.clone(), w.s2.clone(), s3];
        all.sort();
        let search = |token: Option<&str>| {
            let mut page = json!({"limit": 2});
            if let Some(t) = token {
                page["token"] = json!(t);
            }
            json!({"subject": {"type": "user", "id": w.owner}, "action": {"name": "space.view"}, "resource": {"type": "space", "properties": {"org_id": org}}, "page": page})
        };
        let a = app.post("/access/v1/search/resource", None, search(None)).await;
        assert_status(&a, StatusCode::OK, "search, first page");
        assert_eq!(a.body["results"].as_array().unwrap().len(), 2, "{:?}", a.body);
        assert!(a.body["results"].as_array().unwrap().iter().all(|r| r["type"] == "space"));
        let next = a.body["page"]["next_token"].as_str().unwrap().to_owned();
        assert!(!next.is_empty(), "more pages: {:?}", a.body);
        let mut seen = strings(&a.body["results"], "id");
        let a = app.post("/access/v1/search/resource", None, search(Some(&next))).await;
        assert_status(&a, StatusCode::OK, "search, second page");
        assert_eq!(a.body["results"].as_array().unwrap().len(), 1, "{:?}", a.body);
        assert_eq!(a.body["page"]["next_token"], "", "the last page");
        seen.extend(strings(&a.body["results"], "id"));
        seen.sort();
        assert_eq!(seen, all, "every space once");
        let mut exact = search(None);
        exact["page"]["limit"] = json!(3);
        let a = app.post("/access/v1/search/resource", None, exact).await;
        assert_eq!((a.body["results"].as_array().unwrap().len(), a.body["page"]["next_token"].as_str()), (3, Some("")), "a full last page: {:?}", a.body);
        let mut zero = search(None);
        zero["page"]["limit"] = json!(0);
        let a = app.post("/access/v1/search/resource", None, zero).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "page.limit 0");
        // Only the spaces the subject may act in.
        let a = app.post("/access/v1/search/resource", None, json!({"subject": {"type": "user", "id": w.fac}, "action": {"name": "events.manage"}, "resource": {"type": "space", "properties": {"org_id": org}}})).await;
        assert_eq!(a.body["results"], json!([{"type": "space", "id": w.s1}]));
        assert_eq!(a.body["page"]["next_token"], "");

        let a = anonymous(&app, Method::GET, "/.well-known/authzen-configuration").await;
        assert_status(&a, StatusCode::OK, "AuthZEN metadata");
        assert_eq!(a.body["policy_decision_point"], app.base.as_str());
        assert_eq!(a.body["access_evaluation_endpoint"], format!("{}/access/v1/evaluation", app.base));
        assert_eq!(a.body["access_evaluations_endpoint"], format!("{}/access/v1/evaluations", app.base));
        assert_eq!(a.body["search_resource_endpoint"], format!("{}/access/v1/search/resource", app.base));
        app.stop().await;
    }

    // ---------------------------------------------------------------- Tokens

    async fn people_list_and_revoke_their_own_tokens_and_admins_anyones_and_introspection_follows(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let (part_id, part_secret) = token(&app, &w.org, &w.part).await;
        let (part_id2, part_secret2) = token(&app, &w.org, &w.part).await;
        let (fac_id, fac_secret) = token(&app, &w.org, &w.fac).await;
        let (_, pa_secret) = token(&app, &w.org, &w.pa).await;

        let a = app.get(&format!("{o}/tokens"), Some(&w.part)).await;
        assert_status(&a, StatusCode::OK, "a participant lists its tokens");
        assert_eq!(sorted(strings(&a.body["items"], "id")), sorted(vec![part_id.clone(), part_id2.clone()]), "only its own");
        assert!(!a.body.to_string().contains(&part_secret[part_secret.len() - 8..]), "no secret is listed");
        let a = app.get(&format!("{o}/tokens?user_id={}", w.part), Some(&w.part)).await;
        assert_status(&a, StatusCode::OK, "its own, by user_id");
        let a = app.get(&format!("{o}/tokens?user_id={}", w.fac), Some(&w.part)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a participant lists someone else's tokens");
        let a = app.call_with_token(Method::GET, &format!("{o}/tokens?user_id={}", w.fac), &pa_secret, None).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a Program Admin's token lists someone else's tokens");
        let a = app.get(&format!("{o}/tokens?user_id={}", w.part), Some(&w.admin)).await;
        assert_status(&a, StatusCode::OK, "an Admin lists a participant's tokens");
        assert_eq!(sorted(strings(&a.body["items"], "id")), sorted(vec![part_id.clone(), part_id2.clone()]));
        assert!(strings(&a.body["items"], "user_id").iter().all(|u| *u == w.part));

        // Revoking one's own token makes it inactive at once.
        let i = introspect(&app, &part_secret).await;
        assert_eq!((i["active"].clone(), i["sub"].clone(), i["org_id"].clone(), i["kind"].clone()), (json!(true), json!(w.part), json!(w.org), json!("api")), "{i:?}");
        assert!(i.get("exp").is_some(), "{i:?}");
        let a = app.call_with_token(Method::DELETE, &format!("{o}/tokens/{part_id}"), &part_secret, None).await;
        assert_status(&a, StatusCode::NO_CONTENT, "revoke its own token with it");
        assert_eq!(introspect(&app, &part_secret).await["active"], false);
        let a = app.call_with_token(Method::GET, &format!("{o}/tokens"), &part_secret, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "a revoked token is no credential");
        // A participant cannot revoke another's token; an Admin can.
        let a = app.delete(&format!("{o}/tokens/{fac_id}"), Some(&w.part)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a participant revokes a Facilitator's token");
        assert_eq!(introspect(&app, &fac_secret).await["active"], true);
        let a = app.delete(&format!("{o}/tokens/{fac_id}"), Some(&w.admin)).await;
        assert_status(&a, StatusCode::NO_CONTENT, "an Admin revokes a Facilitator's token");
        assert_eq!(introspect(&app, &fac_secret).await["active"], false);
        let a = app.delete(&format!("{o}/tokens/tok_missing"), Some(&w.admin)).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "an unknown token");
        let listed = app.get(&format!("{o}/tokens?user_id={}", w.fac), Some(&w.admin)).await;
        assert!(listed.body["items"][0]["revoked_at"].is_string(), "{:?}", listed.body);

        // Deactivating the owner of a token makes it inactive.
        assert_eq!(introspect(&app, &part_secret2).await["active"], true);
        let a = app.post(&format!("{o}/members/{}/deactivate", w.part), Some(&w.owner), json!({})).await;
        assert_status(&a, StatusCode::OK, "deactivate the participant");
        assert_eq!(introspect(&app, &part_secret2).await["active"], false);
        assert_eq!(introspect(&app, "rst_tok_nothing_here").await, json!({"active": false}));

        // Introspection: the platform key, as a form.
        let url = format!("{}/v1/introspect", app.base);
        let a = common::answer(app.client.post(&url).bearer_auth(&pa_secret).form(&[("token", pa_secret.as_str())]).send().await.unwrap()).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "introspection with a user token");
        let a = common::answer(app.client.post(&url).bearer_auth(KEY).header("X-Roster-Actor", &w.owner).form(&[("token", pa_secret.as_str())]).send().await.unwrap()).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "introspection acting as a user");
        let a = common::answer(app.client.post(&url).bearer_auth(KEY).json(&json!({"token": pa_secret})).send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "introspection as JSON: {:?}", a.body);
        let a = common::answer(app.client.post(&url).form(&[("token", pa_secret.as_str())]).send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "introspection without a credential");
        assert_eq!(introspect(&app, &pa_secret).await["active"], true);
        app.stop().await;
    }

    async fn tokens_expire_on_time_and_stay_revoked_after_reactivation_or_rejoining(app) {
        let w = space_world(&app).await;
        let o = w.o();
        // A token with an expiry: `exp` says when, and then it is over.
        let now = app.post(&format!("{o}/tokens"), Some(&w.fac), json!({"kind": "oauth", "name": "probe"})).await.body["created_at"].as_str().unwrap().to_owned();
        let now = chrono::DateTime::parse_from_rfc3339(&now).unwrap().with_timezone(&chrono::Utc);
        let expires = now + chrono::Duration::hours(1);
        let a = app.post(&format!("{o}/tokens"), Some(&w.fac), json!({"kind": "mcp", "name": "short", "expires_at": expires.to_rfc3339()})).await;
        assert_status(&a, StatusCode::CREATED, "a token with an expiry");
        let short = a.body["secret"].as_str().unwrap().to_owned();
        let i = introspect(&app, &short).await;
        assert_eq!((i["active"].clone(), i["kind"].clone(), i["exp"].clone()), (json!(true), json!("mcp"), json!(expires.timestamp())), "{i:?}");
        let a = app.post(&format!("{o}/tokens"), Some(&w.fac), json!({"kind": "api", "name": "past", "expires_at": (now - chrono::Duration::hours(1)).to_rfc3339()})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an expiry in the past");
        let a = app.post(&format!("{o}/tokens"), Some(&w.fac), json!({"kind": "ssh", "name": "nope"})).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an unknown kind");
        app.advance(7_200).await;
        assert_eq!(introspect(&app, &short).await["active"], false, "expired");
        let a = app.call_with_token(Method::GET, &format!("{o}/tokens"), &short, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "an expired token is no credential");

        // Deactivation revokes: reactivation does not bring tokens back.
        let (_, part_secret) = token(&app, &w.org, &w.part).await;
        let a = app.post(&format!("{o}/members/{}/deactivate", w.part), Some(&w.owner), json!({})).await;
        assert_status(&a, StatusCode::OK, "deactivate");
        let a = app.post(&format!("{o}/members/{}/reactivate", w.part), Some(&w.owner), json!({})).await;
        assert_status(&a, StatusCode::OK, "reactivate");
        assert_eq!(introspect(&app, &part_secret).await["active"], false, "SPEC §7: deactivation revokes tokens, for good");
        let a = app.call_with_token(Method::GET, &format!("{o}/tokens"), &part_secret, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{:?}", a.body);

        // Removal revokes: coming back through a new invitation does not either.
        let (_, other_secret) = token(&app, &w.org, &w.other).await;
        let a = app.delete(&format!("{o}/members/{}", w.other), Some(&w.owner)).await;
        assert_status(&a, StatusCode::NO_CONTENT, "remove");
        assert_eq!(introspect(&app, &other_secret).await["active"], false);
        let back = app.add_member(&w.org, &w.owner, "other@acme.test", "participant", &[&w.s2], None).await;
        assert_eq!(back, w.other, "the account stays");
        assert_eq!(introspect(&app, &other_secret).await["active"], false, "SPEC §7: removal revokes tokens, for good");
        app.stop().await;
    }

    // ----------------------------------------------------------------- Audit

    async fn the_audit_log_filters_pages_exports_and_verifies(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let (_, all_pages) = audit_pages(&app, &w.org, 500).await;
        assert_eq!(all_pages, 1);
        let all = app.audit(&w.org).await;
        assert!(all.len() > 10, "a busy organization: {}", all.len());
        let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert!(seqs.windows(2).all(|p| p[0] < p[1]), "in order: {seqs:?}");
        for e in &all {
            for key in ["id", "at", "action", "trigger", "hash"] {
                assert!(e[key].is_string(), "{key} in {e:?}");
            }
            assert!(e["actor"]["kind"].is_string(), "{e:?}");
            assert!(e.get("prev_hash").is_some() && e.get("space_id").is_some() && e.get("details").is_some(), "{e:?}");
        }

        let a = app.get(&format!("{o}/audit?action=space.created"), None).await;
        assert_status(&a, StatusCode::OK, "filter by action");
        let want: Vec<&Value> = all.iter().filter(|e| e["action"] == "space.created").collect();
        assert_eq!(a.body["items"].as_array().unwrap().iter().collect::<Vec<_>>(), want);
        assert_eq!(want.len(), 2);
        let a = app.get(&format!("{o}/audit?target_user_id={}&limit=500", w.fac), None).await;
        assert_status(&a, StatusCode::OK, "filter by target");
        let want: Vec<&Value> = all.iter().filter(|e| e["target_user_id"] == w.fac.as_str()).collect();
        assert!(want.len() >= 2, "{want:?}");
        assert_eq!(a.body["items"].as_array().unwrap().iter().collect::<Vec<_>>(), want);
        let a = app.get(&format!("{o}/audit?action=space.created&target_user_id={}", w.fac), None).await;
        assert_eq!(a.body["items"], json!([]), "both filters apply");

        // `since`: only what happened from that instant on.
        app.advance(86_400).await;
        let a = app.post(&format!("{o}/spaces"), Some(&w.owner), json!({"name": "Tomorrow"})).await;
        assert_status(&a, StatusCode::CREATED, "a write a day later");
        let all = app.audit(&w.org).await;
        let last = all.last().unwrap().clone();
        assert_eq!(last["action"], "space.created");
        let since = last["at"].as_str().unwrap().replace('+', "%2B");
        let a = app.get(&format!("{o}/audit?since={since}"), None).await;
        assert_status(&a, StatusCode::OK, "filter by since");
        assert_eq!(a.body["items"], json!([last]), "only the new entry");
        let a = app.get(&format!("{o}/audit?since=yesterday"), None).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "a bad since");
        let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();

        let a = app.get(&format!("{o}/audit?limit=2"), None).await;
        assert_eq!(a.body["items"].as_array().unwrap().len(), 2);
        let cursor = a.body["next_cursor"].as_str().unwrap_or_else(|| panic!("a cursor: {:?}", a.body)).to_owned();
        let b = app.get(&format!("{o}/audit?limit=2&cursor={cursor}"), None).await;
        assert_status(&b, StatusCode::OK, "the second page");
        assert_eq!(b.body["items"].as_array().unwrap().iter().collect::<Vec<_>>(), all[2..4].iter().collect::<Vec<_>>());
        let (paged, pages) = audit_pages(&app, &w.org, 2).await;
        assert_eq!(paged, all, "the pages add up to the log");
        assert_eq!(pages, all.len().div_ceil(2));
        let a = app.get(&format!("{o}/audit?cursor=not-a-cursor"), None).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "a bad cursor");

        let r = &app;
        let export = |format: &str| {
            let url = format!("{}{o}/audit/export?format={format}", r.base);
            async move {
                let resp = r.client.get(url).bearer_auth(KEY).send().await.unwrap();
                let status = resp.status();
                (status, resp.text().await.unwrap())
            }
        };
        let (status, jsonl) = export("jsonl").await;
        assert_eq!(status, StatusCode::OK);
        let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
        assert_eq!(lines.len(), all.len(), "one line per entry");
        assert!(lines.iter().all(Value::is_object));
        assert_eq!(lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect::<Vec<_>>(), seqs);
        let (status, csv) = export("csv").await;
        assert_eq!(status, StatusCode::OK);
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), all.len() + 1, "a header and a row per entry");
        assert!(rows[0].contains("seq") && rows[0].contains("action"), "header: {}", rows[0]);
        assert!(rows[1].starts_with(&seqs[0].to_string()), "{}", rows[1]);
        let a = app.get(&format!("{o}/audit/export?format=xml"), None).await;
        assert_problem(&a, StatusCode::BAD_REQUEST, "validation_failed", "an unknown export format");

        let a = app.get(&format!("{o}/audit/verify"), None).await;
        assert_status(&a, StatusCode::OK, "verify");
        assert_eq!(a.body, json!({"ok": true, "entries": all.len(), "first_bad_seq": null}));
        for (who, me) in [("a Program Admin", &w.pa), ("a participant", &w.part)] {
            for path in [format!("{o}/audit"), format!("{o}/audit/export?format=csv"), format!("{o}/audit/verify")] {
                let a = app.get(&path, Some(me)).await;
                assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", &format!("{who} reads {path}"));
            }
        }
        let a = app.get(&format!("{o}/audit/verify"), Some(&w.admin)).await;
        assert_status(&a, StatusCode::OK, "an Admin verifies");
        app.stop().await;
    }

    async fn every_write_records_its_request_id_in_the_audit_log(app) {
        let a = send(&app, Method::POST, "/v1/orgs", None, Some(json!({"name": "Traced", "owner_email": "owner@traced.test"})), Some("rid-org-create")).await;
        assert_status(&a, StatusCode::CREATED, "create the organization");
        let org = a.body["id"].as_str().unwrap().to_owned();
        let owner = a.body["owner"]["user_id"].as_str().unwrap().to_owned();
        let o = format!("/v1/orgs/{org}");
        let owner = owner.as_str();
        let space = send(&app, Method::POST, &format!("{o}/spaces"), Some(owner), Some(json!({"name": "S"})), Some("rid-space-create")).await;
        let s = space.body["id"].as_str().unwrap().to_owned();
        let writes = [
            (send(&app, Method::PATCH, &format!("{o}/spaces/{s}"), Some(owner), Some(json!({"name": "S2"})), Some("rid-space-rename")).await, "rid-space-rename"),
            (send(&app, Method::POST, &format!("{o}/invitations"), Some(owner), Some(json!({"emails": ["fac@traced.test"], "role": "facilitator", "space_ids": [s]})), Some("rid-invite")).await, "rid-invite"),
            (send(&app, Method::PATCH, &o, Some(owner), Some(json!({"name": "Traced Inc"})), Some("rid-org-rename")).await, "rid-org-rename"),
            (send(&app, Method::POST, &format!("{o}/tokens"), Some(owner), Some(json!({"kind": "mcp", "name": "agent"})), Some("rid-token")).await, "rid-token"),
        ];
        assert_status(&space, StatusCode::CREATED, "create a space");
        for (a, rid) in &writes {
            assert!(a.status.is_success(), "{rid}: {} {:?}", a.status, a.body);
        }
        let invite_token = app.invitation_token("fac@traced.test").await;
        let a = send(&app, Method::POST, "/v1/invitations/accept", None, Some(json!({"token": invite_token})), Some("rid-accept")).await;
        assert_status(&a, StatusCode::OK, "accept");
        let fac = a.body["user_id"].as_str().unwrap().to_owned();
        let a = send(&app, Method::PATCH, &format!("{o}/members/{fac}"), Some(owner), Some(json!({"org_role": "admin"})), Some("rid-role")).await;
        assert_status(&a, StatusCode::OK, "make the Facilitator Admin");
        let a = send(&app, Method::POST, &format!("{o}/members/{fac}/deactivate"), Some(owner), Some(json!({})), Some("rid-deactivate")).await;
        assert_status(&a, StatusCode::OK, "deactivate");
        // Without X-Request-ID the server makes one, answers it and records it.
        let a = send(&app, Method::POST, &format!("{o}/members/{fac}/reactivate"), Some(owner), Some(json!({})), None).await;
        assert_status(&a, StatusCode::OK, "reactivate");
        let generated = a.headers["x-request-id"].to_str().unwrap().to_owned();
        assert!(!generated.is_empty());

        // Every write answered with a revision, each newer than the last.
        let mut revisions = vec![revision_of(&space)];
        revisions.extend(writes.iter().map(|(a, _)| revision_of(a)));
        assert!(revisions.windows(2).all(|p| p[0] < p[1]), "{revisions:?}");
        let audit = app.audit(&org).await;
        let rid_of = |action: &str| -> Vec<String> {
            audit.iter().filter(|e| e["action"] == action).map(|e| e["request_id"].as_str().unwrap_or("<none>").to_owned()).collect()
        };
        for (action, rid) in [
            ("org.created", "rid-org-create"),
            ("space.created", "rid-space-create"),
            ("space.updated", "rid-space-rename"),
            ("invitation.created", "rid-invite"),
            ("org.updated", "rid-org-rename"),
            ("token.created", "rid-token"),
            ("invitation.accepted", "rid-accept"),
            ("space_role.set", "rid-accept"),
            ("member.deactivated", "rid-deactivate"),
        ] {
            assert_eq!(rid_of(action), vec![rid.to_owned()], "{action}");
        }
        let role_changes = rid_of("member.role_changed");
        assert_eq!(role_changes, vec!["rid-org-create".to_owned(), "rid-role".to_owned()], "the first Owner's role, then the promotion");
        assert_eq!(rid_of("member.reactivated"), vec![generated]);
        assert!(audit.iter().all(|e| e["request_id"].as_str().is_some_and(|r| !r.is_empty())), "every entry has a request id");
        app.stop().await;
    }

    // ------------------------------------------------------------ Operations

    async fn health_readiness_metrics_openapi_and_docs_answer(app) {
        let a = anonymous(&app, Method::GET, "/healthz").await;
        assert_status(&a, StatusCode::OK, "healthz");
        let a = anonymous(&app, Method::GET, "/readyz").await;
        assert_status(&a, StatusCode::OK, "readyz");
        // A decision, so that the counters have something to count.
        let (org, owner) = app.create_org("Ops", "owner@ops.test", None).await;
        assert!(app.decide(&org, &owner, "members.view", json!({"type": "organization", "id": org})).await);
        let resp = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let metrics = resp.text().await.unwrap();
        assert!(metrics.contains("roster_http_requests_total"), "{metrics}");
        assert!(metrics.contains("roster_decisions_total"), "{metrics}");

        let a = anonymous(&app, Method::GET, "/openapi.json").await;
        assert_status(&a, StatusCode::OK, "openapi.json");
        assert_eq!(a.body["openapi"], "3.1.0");
        let mut missing = Vec::new();
        for (path, methods) in API_MD_PATHS {
            for method in *methods {
                if a.body["paths"][*path][*method].is_null() {
                    missing.push(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
        assert!(missing.is_empty(), "API.md paths missing from /openapi.json: {missing:#?}");

        let resp = app.client.get(format!("{}/docs", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let html = resp.text().await.unwrap().to_lowercase();
        assert!(html.contains("<html") || html.contains("<!doctype html"), "{html}");
        assert!(html.contains("/access/v1/evaluation"), "the page lists the API");
        app.stop().await;
    }

    // --------------------------------------------------------- Organizations

    async fn an_organization_is_read_by_its_members_renamed_by_its_owner_limited_by_the_platform_and_deleted_by_its_owner(app) {
        let w = space_world(&app).await;
        let o = w.o();
        let a = app.get(&o, Some(&w.admin)).await;
        assert_status(&a, StatusCode::OK, "an Admin reads the organization");
        assert_eq!((a.body["id"].as_str(), a.body["name"].as_str()), (Some(w.org.as_str()), Some("Acme")));
        assert_eq!(a.body["settings"], json!({"allow_implementation_admin": false}));
        assert_eq!(a.body["owner"], json!({"user_id": w.owner, "email": "owner@acme.test"}));
        assert!(a.body.get("seat_limit").is_some(), "{:?}", a.body);
        let a = app.get(&o, Some(&w.part)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a participant reads the organization");

        let a = app.patch(&o, Some(&w.owner), json!({"name": "Acme Coaching"})).await;
        assert_status(&a, StatusCode::OK, "the Owner renames");
        assert_eq!(a.body["name"], "Acme Coaching");
        assert_eq!(app.get(&o, None).await.body["name"], "Acme Coaching");
        let a = app.patch(&o, Some(&w.owner), json!({"seat_limit": 100})).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "the Owner sets the seat limit");
        assert_eq!(app.get(&o, None).await.body["seat_limit"], Value::Null);
        let a = app.patch(&o, None, json!({"seat_limit": 10})).await;
        assert_status(&a, StatusCode::OK, "the platform sets the seat limit");
        assert_eq!(a.body["seat_limit"], 10);
        assert_eq!(app.get(&format!("{o}/seats"), None).await.body["limit"], 10);
        let a = app.patch(&o, Some(&w.part), json!({"name": "Mine"})).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "a participant renames");

        let (_, owner_secret) = token(&app, &w.org, &w.owner).await;
        let (_, admin_secret) = token(&app, &w.org, &w.admin).await;
        let a = app.delete(&o, Some(&w.admin)).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "an Admin deletes the organization");
        let a = app.call_with_token(Method::DELETE, &o, &admin_secret, None).await;
        assert_problem(&a, StatusCode::FORBIDDEN, "forbidden", "an Admin's token deletes the organization");
        assert_eq!(app.get(&o, None).await.status, StatusCode::OK, "still there");
        let a = app.call_with_token(Method::DELETE, &o, &owner_secret, None).await;
        assert_status(&a, StatusCode::NO_CONTENT, "the Owner deletes the organization");
        let a = app.get(&o, None).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "a deleted organization");
        let a = app.get(&format!("{o}/members"), None).await;
        assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "a deleted organization's members");
        for secret in [&owner_secret, &admin_secret] {
            assert_eq!(introspect(&app, secret).await["active"], false, "the org's tokens are inactive");
            let a = app.call_with_token(Method::GET, &format!("{o}/members"), secret, None).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "a token of a deleted organization: {:?}", a.body);
        }
        app.stop().await;
    }
}

/// Every documented route is served: without credentials it is refused
/// (401), or answered, or its body refused — never "no such route".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_openapi_list_exists_on_the_server() {
    let app = common::spawn(Backend::Sqlite).await.unwrap();
    let mut missing = Vec::new();
    let document = roster_server::http::openapi::document();
    let mut routes = Vec::new();
    for (path, item) in &document.paths.paths {
        for (method, op) in [
            ("get", &item.get),
            ("post", &item.post),
            ("put", &item.put),
            ("patch", &item.patch),
            ("delete", &item.delete),
        ] {
            if op.is_some() {
                routes.push((method, path.clone()));
            }
        }
    }
    for (method, path) in &routes {
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let a = anonymous(&app, method.clone(), &concrete).await;
        if matches!(
            a.status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) || a.status.is_server_error()
        {
            missing.push(format!("{method} {path} → {} {:?}", a.status, a.body));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    assert!(routes.len() >= 40, "{} operations documented", routes.len());
    app.stop().await;
}

/// Without `ROSTER_DEV_CLOCK=1` the dev paths do not exist, whoever asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_dev_clock_its_paths_are_404_even_for_the_platform() {
    let app = common::spawn_with(Backend::Sqlite, |c| c.dev_clock = false)
        .await
        .unwrap();
    let a = app
        .post("/v1/dev/clock", None, json!({"advance_seconds": 86_400}))
        .await;
    assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "the dev clock");
    let a = app.post("/v1/dev/sweep", None, json!({})).await;
    assert_problem(&a, StatusCode::NOT_FOUND, "not_found", "the dev sweep");
    let a = anonymous(&app, Method::POST, "/v1/dev/clock").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{:?}", a.body);
    // The rest of the API is there.
    let (org, _) = app.create_org("Real", "owner@real.test", None).await;
    assert_eq!(
        app.get(&format!("/v1/orgs/{org}"), None).await.status,
        StatusCode::OK
    );
    app.stop().await;
}
