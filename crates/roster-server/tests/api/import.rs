//! Import (API.md "Import", SPEC §17): JSON and CSV, `invite` and `add`,
//! dry runs, all or nothing with every failing row named.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder, StatusCode};
use roster_core::{
    Action, ActorKind, AuditAction, IaDuration, InvitationStatus, MemberStatus, OrgId, OrgRole,
    Role, SpaceId, SpaceRole, UserId,
};
use roster_server::error::Problem;
use roster_server::views::{
    AuditEntryView, EventPage, EventView, ImportView, InvitationView, MemberView, SpaceRoleView,
};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::{json, Value};

use crate::common::answer::Reply;
use crate::common::{send, spawn, spawn_with_smtp, sqlite, TestApp};
use crate::fixtures::{sorted, space_world};

on_both_backends!(
    invite_mode_takes_json_and_csv_sends_one_invitation_per_role_and_leaves_members_as_they_are,
    add_mode_makes_members_without_email_audits_each_change_once_and_emits_its_events,
    a_dry_run_answers_the_same_fields_and_changes_nothing,
    one_failing_row_refuses_the_whole_import_and_every_failing_row_is_named,
    the_seat_limit_is_checked_over_the_whole_import,
    implementation_admin_rows_follow_the_toggle_the_allowlist_and_the_duration_rules,
    add_is_for_the_platform_key_alone_and_invite_follows_the_callers_invitation_rights,
    a_large_add_import_lands_whole_with_every_member_readable_with_their_roles,
    thousands_of_seat_holders_and_hundreds_of_spaces_arrive_whole_in_one_answer,
);

const ADD: &str = "?mode=add";
const ADD_DRY: &str = "?mode=add&dry_run=true";
const INVITE: &str = "?mode=invite";
const INVITE_DRY: &str = "?mode=invite&dry_run=true";

/// An import body: JSON `{"members": [...]}` or CSV text.
#[derive(Clone)]
enum Body {
    Json(Value),
    Csv(String),
}

impl Body {
    fn attach(self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Body::Json(body) => request.json(&body),
            Body::Csv(text) => request.header(CONTENT_TYPE, "text/csv").body(text),
        }
    }
}

fn members(members: Value) -> Body {
    Body::Json(json!({ "members": members }))
}

/// The header of API.md, then `lines`.
fn csv(lines: &[String]) -> Body {
    let mut text = "email,name,org_role,duration,space,space_role\n".to_owned();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    Body::Csv(text)
}

fn import_path(org: &OrgId, query: &str) -> String {
    format!("/v1/orgs/{org}/members/import{query}")
}

/// `POST …/members/import{query}` with the platform key, as `actor` when given.
async fn import(
    app: &TestApp,
    org: &OrgId,
    query: &str,
    actor: Option<&UserId>,
    body: Body,
) -> Reply<ImportView> {
    let request = app.platform(Method::POST, &import_path(org, query), actor);
    Reply::new(send(body.attach(request)).await, StatusCode::OK)
}

/// The same with a user token.
async fn import_with_token(
    app: &TestApp,
    org: &OrgId,
    query: &str,
    token: &str,
    body: Body,
) -> Reply<ImportView> {
    let request = app
        .request(Method::POST, &import_path(org, query))
        .bearer_auth(token);
    Reply::new(send(body.attach(request)).await, StatusCode::OK)
}

/// Every failing row of a refused import, as `(row, email, code)`.
fn rejected(problem: &Problem) -> Vec<(usize, String, String)> {
    problem
        .rejected
        .as_ref()
        .expect("a refused import names its failing rows")
        .iter()
        .map(|r| {
            let row = r.row.expect("each failing row has its number");
            (row, r.email.clone(), r.code.clone())
        })
        .collect()
}

fn row(row: usize, email: &str, code: &str) -> (usize, String, String) {
    (row, email.to_owned(), code.to_owned())
}

/// Everything an import could change in an organization.
#[derive(Debug, PartialEq)]
struct Everything {
    members: Vec<MemberView>,
    invitations: Vec<InvitationView>,
    audit: Vec<AuditEntryView>,
    events: Vec<EventView>,
}

async fn everything(app: &TestApp, org: &OrgId) -> Everything {
    Everything {
        members: app.members(org, "").await,
        invitations: app.invitations(org, "").await,
        audit: app.audit(org).await,
        events: events(app, org).await,
    }
}

/// The organization's event feed, oldest first.
async fn events(app: &TestApp, org: &OrgId) -> Vec<EventView> {
    let page: EventPage = app
        .get(&format!("/v1/orgs/{org}/events?limit=1000"), None)
        .await
        .read(StatusCode::OK, "read the event feed");
    assert!(page.items.len() < 1000, "the whole feed fits a page");
    page.items
}

/// An invitation as a person would describe it: who, as what, where.
fn described(invitation: &InvitationView) -> (String, Role, Vec<SpaceId>) {
    (
        invitation.email.clone(),
        invitation.role,
        sorted(invitation.space_ids.clone()),
    )
}

/// The invitations `ids`, described.
async fn invitations_named(
    app: &TestApp,
    org: &OrgId,
    ids: &[String],
) -> BTreeSet<(String, Role, Vec<SpaceId>)> {
    let all = app.invitations(org, "").await;
    ids.iter()
        .map(|id| {
            let invitation = all
                .iter()
                .find(|i| i.id.as_str() == id)
                .unwrap_or_else(|| panic!("invitation {id} is listed"));
            described(invitation)
        })
        .collect()
}

fn space_roles(roles: &[(&SpaceId, SpaceRole)]) -> BTreeSet<(SpaceId, SpaceRole)> {
    roles
        .iter()
        .map(|(space, role)| ((*space).clone(), *role))
        .collect()
}

fn held(member: &MemberView) -> BTreeSet<(SpaceId, SpaceRole)> {
    member
        .space_roles
        .iter()
        .map(|SpaceRoleView { space_id, role }| (space_id.clone(), *role))
        .collect()
}

async fn invite_mode_takes_json_and_csv_sends_one_invitation_per_role_and_leaves_members_as_they_are(
    db: TestDb,
) {
    let app = spawn_with_smtp(db).await;
    let smtp = app.smtp.clone().unwrap();
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let s1 = app.create_space(&org, &owner, "Leadership").await;
    let s2 = app.create_space(&org, &owner, "Foundations").await;
    let part = app
        .add_member(&org, &owner, "part@acme.test", "participant", &[&s1], None)
        .await;
    app.sweep().await;
    let part_before = app.member(&org, &part).await;
    let mails_before = smtp.messages().len();
    let audit_before = app.audit(&org).await.len();

    // JSON: spaces by id and by name; an existing member asked for another
    // role is left as they are.
    let done = import(
        &app,
        &org,
        INVITE,
        Some(&owner),
        members(json!([
            {"email": "coach@acme.test", "name": "Casey Coach", "space_roles": [
                {"space_id": s1, "role": "facilitator"},
                {"space_name": "Foundations", "role": "facilitator"},
            ]},
            {"email": "lead@acme.test", "org_role": "admin"},
            {"email": "part@acme.test", "org_role": "admin"},
        ])),
    )
    .await
    .ok("import JSON in invite mode");
    assert!(!done.dry_run);
    assert!(
        done.created.is_empty(),
        "invite mode creates nobody: {done:?}"
    );
    assert_eq!(done.unchanged, vec!["part@acme.test"]);
    assert_eq!(
        invitations_named(&app, &org, &done.invited).await,
        BTreeSet::from([
            (
                "coach@acme.test".to_owned(),
                Role::Space(SpaceRole::Facilitator),
                sorted(vec![s1.clone(), s2.clone()])
            ),
            (
                "lead@acme.test".to_owned(),
                Role::Org(OrgRole::Admin),
                vec![]
            ),
        ]),
        "one invitation per role, with every space it is for"
    );
    for invitation in app.invitations(&org, "status=pending").await {
        assert!(done.invited.contains(&invitation.id.to_string()));
        assert_eq!(invitation.invited_by.as_ref(), Some(&owner));
        assert_eq!(invitation.status, InvitationStatus::Pending);
    }
    assert_eq!(
        app.member(&org, &part).await,
        part_before,
        "an existing member is not changed by the import"
    );
    let audit: Vec<(AuditAction, Value)> = app
        .audit(&org)
        .await
        .into_iter()
        .skip(audit_before)
        .map(|e| (e.action, e.details))
        .collect();
    let actions: Vec<AuditAction> = audit.iter().map(|(action, _)| *action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::InvitationCreated,
            AuditAction::InvitationCreated,
            AuditAction::MembersImported
        ]
    );
    assert_eq!(
        audit[2].1,
        json!({"mode": "invite", "rows": 3, "people": 3, "created": 0, "invited": 2, "unchanged": 1})
    );

    // CSV: one space role per row, the address repeated for more; a space
    // cell is an id or a name.
    let done = import(
        &app,
        &org,
        INVITE,
        Some(&owner),
        csv(&[
            "robin@acme.test,Robin One,,,Leadership,participant".to_owned(),
            format!("robin@acme.test,,,,{s2},sponsor"),
            "sam@acme.test,Sam Two,admin,,,".to_owned(),
            "owner@acme.test,,,,Leadership,participant".to_owned(),
        ]),
    )
    .await
    .ok("import CSV in invite mode");
    assert!(done.created.is_empty());
    assert_eq!(done.unchanged, vec!["owner@acme.test"]);
    assert_eq!(
        invitations_named(&app, &org, &done.invited).await,
        BTreeSet::from([
            (
                "robin@acme.test".to_owned(),
                Role::Space(SpaceRole::Participant),
                vec![s1.clone()]
            ),
            (
                "robin@acme.test".to_owned(),
                Role::Space(SpaceRole::Sponsor),
                vec![s2.clone()]
            ),
            (
                "sam@acme.test".to_owned(),
                Role::Org(OrgRole::Admin),
                vec![]
            ),
        ])
    );
    let owner_member = app.member(&org, &owner).await;
    assert!(
        owner_member.space_roles.is_empty(),
        "the Owner got no participant role: {owner_member:?}"
    );

    // Each invitation is emailed; members left unchanged get nothing.
    app.sweep().await;
    let sent: BTreeMap<&str, usize> = [
        "coach@acme.test",
        "lead@acme.test",
        "robin@acme.test",
        "sam@acme.test",
        "owner@acme.test",
    ]
    .into_iter()
    .map(|email| (email, smtp.to(email).len()))
    .collect();
    assert_eq!(
        sent,
        BTreeMap::from([
            ("coach@acme.test", 1),
            ("lead@acme.test", 1),
            ("robin@acme.test", 2),
            ("sam@acme.test", 1),
            ("owner@acme.test", 0),
        ])
    );
    assert_eq!(smtp.messages().len() - mails_before, 5, "no other email");

    // The invitation works like any other.
    let token = app.invitation_token("coach@acme.test").await;
    let coach = app.accept(&token).await.ok("accept").user_id;
    assert_eq!(
        held(&app.member(&org, &coach).await),
        space_roles(&[(&s1, SpaceRole::Facilitator), (&s2, SpaceRole::Facilitator)])
    );
    app.stop().await;
}

async fn add_mode_makes_members_without_email_audits_each_change_once_and_emits_its_events(
    db: TestDb,
) {
    let app = spawn_with_smtp(db).await;
    let smtp = app.smtp.clone().unwrap();
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let s1 = app.create_space(&org, &owner, "Leadership").await;
    let audit_before = app.audit(&org).await.len();
    let events_before = events(&app, &org).await.len();

    let answer = send(
        members(json!([
            {"email": "ada@acme.test", "name": "Ada Admin", "org_role": "admin"},
            {"email": "pat@acme.test", "name": "Pat Participant", "space_roles": [
                {"space_name": "Leadership", "role": "participant"},
            ]},
            {"email": "owner@acme.test", "org_role": "admin"},
        ]))
        .attach(
            app.platform(Method::POST, &import_path(&org, ADD), None)
                .header("X-Request-ID", "import-request-1"),
        ),
    )
    .await;
    let done: ImportView = answer.read(StatusCode::OK, "import in add mode");
    assert!(done.invited.is_empty(), "add mode invites nobody: {done:?}");
    assert_eq!(done.unchanged, vec!["owner@acme.test"]);
    assert_eq!(done.created.len(), 2, "{done:?}");
    let created: BTreeMap<String, MemberView> = {
        let mut by_email = BTreeMap::new();
        for id in &done.created {
            let member = app.member(&org, &UserId::from(id.as_str())).await;
            by_email.insert(member.email.clone(), member);
        }
        by_email
    };
    let ada = &created["ada@acme.test"];
    assert_eq!(
        (ada.name.as_str(), ada.status, ada.org_role, ada.uses_seat),
        (
            "Ada Admin",
            MemberStatus::Active,
            Some(OrgRole::Admin),
            true
        )
    );
    assert!(ada.space_roles.is_empty());
    let pat = &created["pat@acme.test"];
    assert_eq!(
        (pat.name.as_str(), pat.status, pat.org_role),
        ("Pat Participant", MemberStatus::Active, None)
    );
    assert_eq!(held(pat), space_roles(&[(&s1, SpaceRole::Participant)]));
    let owner_member = app.member(&org, &owner).await;
    assert_eq!(owner_member.org_role, Some(OrgRole::Owner), "unchanged");
    assert!(
        app.decide(
            &org,
            &ada.user_id,
            "members.invite",
            json!({"type": "organization", "id": org})
        )
        .await
    );
    assert!(
        app.decide(
            &org,
            &pat.user_id,
            "activity.complete",
            json!({"type": "space", "id": s1})
        )
        .await
    );

    // No invitation and no email.
    assert!(app.invitations(&org, "").await.is_empty());
    app.sweep().await;
    for email in ["ada@acme.test", "pat@acme.test", "owner@acme.test"] {
        assert!(smtp.to(email).is_empty(), "no email to {email}");
        assert_eq!(app.invitation_emails(email).await, 0);
    }

    // One `members.imported` entry beside each member's own entries.
    let audit: Vec<AuditEntryView> = app
        .audit(&org)
        .await
        .into_iter()
        .skip(audit_before)
        .collect();
    let imported: Vec<&AuditEntryView> = audit
        .iter()
        .filter(|e| e.action == AuditAction::MembersImported)
        .collect();
    assert_eq!(imported.len(), 1, "{audit:?}");
    assert_eq!(
        imported[0].details,
        json!({"mode": "add", "rows": 3, "people": 3, "created": 2, "invited": 0, "unchanged": 1})
    );
    assert_eq!(imported[0].actor.kind, ActorKind::Platform);
    let about = |user: &UserId| -> Vec<(AuditAction, Option<SpaceId>)> {
        audit
            .iter()
            .filter(|e| e.target_user_id.as_ref() == Some(user))
            .map(|e| (e.action, e.space_id.clone()))
            .collect()
    };
    assert_eq!(
        about(&ada.user_id),
        vec![(AuditAction::MemberRoleChanged, None)]
    );
    let role_change = audit
        .iter()
        .find(|e| e.target_user_id.as_ref() == Some(&ada.user_id))
        .unwrap();
    assert_eq!(role_change.details, json!({"from": null, "to": "admin"}));
    assert_eq!(
        about(&pat.user_id),
        vec![(AuditAction::SpaceRoleSet, Some(s1.clone()))]
    );
    assert!(
        about(&owner).is_empty(),
        "nothing about the unchanged Owner"
    );
    assert_eq!(audit.len(), 3, "nothing else: {audit:?}");
    assert!(
        audit
            .iter()
            .all(|e| e.request_id.as_deref() == Some("import-request-1")),
        "every entry names the request: {audit:?}"
    );
    let chain = app
        .get_audit_verify(&org, None)
        .await
        .ok("verify the audit chain");
    assert!(chain.ok, "{chain:?}");

    // The feed has an event per entry, there when the answer was sent.
    let feed: Vec<(String, Option<UserId>)> = events(&app, &org)
        .await
        .into_iter()
        .skip(events_before)
        .map(|e| (e.kind, e.data.target_user_id))
        .collect();
    let entries: Vec<(String, Option<UserId>)> = audit
        .iter()
        .map(|e| (e.action.as_str().to_owned(), e.target_user_id.clone()))
        .collect();
    assert_eq!(feed, entries);
    app.stop().await;
}

async fn a_dry_run_answers_the_same_fields_and_changes_nothing(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let s1 = app.create_space(&org, &owner, "Leadership").await;
    app.add_member(&org, &owner, "part@acme.test", "participant", &[&s1], None)
        .await;
    // Someone with an account already: a member of another organization.
    let (_, known) = app.create_org("Elsewhere", "known@else.test", None).await;
    let body = members(json!([
        {"email": "new@acme.test", "org_role": "admin"},
        {"email": "known@else.test", "space_roles": [{"space_name": "Leadership", "role": "facilitator"}]},
        {"email": "part@acme.test", "org_role": "admin"},
    ]));

    // add: accounts that do not exist yet are named by their address.
    let before = everything(&app, &org).await;
    let dry = import(&app, &org, ADD_DRY, None, body.clone())
        .await
        .ok("a dry run in add mode");
    assert_eq!(
        dry,
        ImportView {
            dry_run: true,
            created: vec!["new@acme.test".into(), known.to_string()],
            invited: vec![],
            unchanged: vec!["part@acme.test".into()],
        }
    );
    assert_eq!(
        everything(&app, &org).await,
        before,
        "a dry run changes nothing"
    );
    // Twice is the same: nothing was left behind by the first.
    let again = import(&app, &org, ADD_DRY, None, body.clone())
        .await
        .ok("the same dry run again");
    assert_eq!(again, dry);

    let done = import(&app, &org, ADD, None, body)
        .await
        .ok("the same import for real");
    assert!(!done.dry_run);
    assert_eq!(done.unchanged, dry.unchanged);
    assert_eq!(done.created.len(), dry.created.len());
    assert_eq!(done.created[1], known.to_string());
    let new = app
        .member(&org, &UserId::from(done.created[0].as_str()))
        .await;
    assert_eq!(
        (new.email.as_str(), new.org_role),
        ("new@acme.test", Some(OrgRole::Admin))
    );
    assert_eq!(app.members(&org, "").await.len(), 4);

    // invite: the invitations to be, by address.
    let body = csv(&[
        "later@acme.test,,,,Leadership,participant".to_owned(),
        "later2@acme.test,,admin,,,".to_owned(),
        "new@acme.test,,,,Leadership,participant".to_owned(),
    ]);
    let before = everything(&app, &org).await;
    let dry = import(&app, &org, INVITE_DRY, Some(&owner), body.clone())
        .await
        .ok("a dry run in invite mode");
    assert_eq!(
        dry,
        ImportView {
            dry_run: true,
            created: vec![],
            invited: vec!["later@acme.test".into(), "later2@acme.test".into()],
            unchanged: vec!["new@acme.test".into()],
        }
    );
    assert_eq!(everything(&app, &org).await, before);
    assert_eq!(app.invitation_emails("later@acme.test").await, 0);
    let done = import(&app, &org, INVITE, Some(&owner), body)
        .await
        .ok("the same invitations for real");
    let emails: Vec<String> = {
        let all = app.invitations(&org, "").await;
        done.invited
            .iter()
            .map(|id| {
                all.iter()
                    .find(|i| i.id.as_str() == id)
                    .unwrap()
                    .email
                    .clone()
            })
            .collect()
    };
    assert_eq!(emails, dry.invited);
    assert_eq!(app.invitation_emails("later@acme.test").await, 1);

    // A dry run that would fail answers the same refusal.
    let failing = members(json!([
        {"email": "fine@acme.test", "org_role": "admin"},
        {"email": "nowhere@acme.test", "space_roles": [{"space_name": "Nowhere", "role": "participant"}]},
    ]));
    let before = everything(&app, &org).await;
    let dry = import(&app, &org, ADD_DRY, None, failing.clone())
        .await
        .problem(StatusCode::NOT_FOUND, "not_found", "a failing dry run");
    let real = import(&app, &org, ADD, None, failing).await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "the failing import",
    );
    assert_eq!(rejected(&dry), rejected(&real));
    assert_eq!(
        rejected(&real),
        vec![row(2, "nowhere@acme.test", "not_found")]
    );
    assert_eq!(everything(&app, &org).await, before);
    // Not even an account was left behind: it is still named by address.
    let dry = import(
        &app,
        &org,
        ADD_DRY,
        None,
        members(json!([{"email": "fine@acme.test", "org_role": "admin"}])),
    )
    .await
    .ok("a dry run after the refused import");
    assert_eq!(dry.created, vec!["fine@acme.test"]);
    app.stop().await;
}

async fn one_failing_row_refuses_the_whole_import_and_every_failing_row_is_named(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let s1 = app.create_space(&org, &owner, "Leadership").await;
    app.create_space(&org, &owner, "Twin").await;
    app.create_space(&org, &owner, "Twin").await;
    let before = everything(&app, &org).await;

    let body = members(json!([
        {"email": "ok1@acme.test", "org_role": "admin"},
        {"email": "not-an-email", "org_role": "admin"},
        {"email": "lost@acme.test", "space_roles": [{"space_name": "Nowhere", "role": "participant"}]},
        {"email": "ok2@acme.test", "space_roles": [{"space_id": s1, "role": "participant"}]},
        {"email": "norole@acme.test"},
        {"email": "boss@acme.test", "org_role": "boss"},
        {"email": "twin@acme.test", "space_roles": [{"space_name": "Twin", "role": "participant"}]},
        {"email": "ghost@acme.test", "space_roles": [{"space_id": "spc_missing", "role": "participant"}]},
        {"email": "both@acme.test", "space_roles": [{"space_id": s1, "space_name": "Leadership", "role": "participant"}]},
    ]));
    let expected = vec![
        row(2, "not-an-email", "validation_failed"),
        row(3, "lost@acme.test", "not_found"),
        row(5, "norole@acme.test", "validation_failed"),
        row(6, "boss@acme.test", "validation_failed"),
        row(7, "twin@acme.test", "not_found"),
        row(8, "ghost@acme.test", "not_found"),
        row(9, "both@acme.test", "validation_failed"),
    ];
    for (mode, actor) in [(ADD, None), (INVITE, Some(&owner))] {
        let refused = import(&app, &org, mode, actor, body.clone()).await.problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an import with failing rows",
        );
        assert_eq!(
            rejected(&refused),
            expected,
            "{mode}: one entry per failing row"
        );
        assert_eq!(
            everything(&app, &org).await,
            before,
            "{mode}: nothing is applied"
        );
    }

    // Rows count from 1 after the CSV header.
    let refused = import(
        &app,
        &org,
        ADD,
        None,
        csv(&[
            "ok3@acme.test,,admin,,,".to_owned(),
            "half@acme.test,,,,Leadership,".to_owned(),
            "twice@acme.test,,admin,,,".to_owned(),
            "twice@acme.test,,owner,,,".to_owned(),
            "dup@acme.test,,,,Leadership,participant".to_owned(),
            "dup@acme.test,,,,Leadership,facilitator".to_owned(),
            "ok4@acme.test,,,,Leadership,participant".to_owned(),
            "longer@acme.test,,admin,,,,extra".to_owned(),
            "dur@acme.test,,admin,forever,,".to_owned(),
        ]),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "a CSV import with failing rows",
    );
    assert_eq!(
        rejected(&refused),
        vec![
            row(2, "half@acme.test", "validation_failed"),
            row(4, "twice@acme.test", "validation_failed"),
            row(6, "dup@acme.test", "validation_failed"),
            row(8, "longer@acme.test", "validation_failed"),
            row(9, "dur@acme.test", "validation_failed"),
        ]
    );
    assert_eq!(everything(&app, &org).await, before);

    // A CSV without the header of API.md is refused as a whole.
    let wrong_header = Body::Csv("email,role\nok@acme.test,admin\n".into());
    import(&app, &org, ADD, None, wrong_header).await.problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "a CSV with another header",
    );
    assert_eq!(everything(&app, &org).await, before);
    app.stop().await;
}

async fn the_seat_limit_is_checked_over_the_whole_import(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", Some(4))
        .await;
    let s1 = app.create_space(&org, &owner, "Leadership").await;
    let participant = |email: &str| json!({"email": email, "space_roles": [{"space_id": s1, "role": "participant"}]});
    let admin = |email: &str| json!({"email": email, "org_role": "admin"});
    import(
        &app,
        &org,
        ADD,
        None,
        members(json!([admin("a1@acme.test"), participant("p1@acme.test")])),
    )
    .await
    .ok("two people, one seat");
    import(
        &app,
        &org,
        INVITE,
        Some(&owner),
        members(json!([{"email": "f1@acme.test", "space_roles": [{"space_id": s1, "role": "facilitator"}]}])),
    )
    .await
    .ok("a pending invitation reserves a seat");
    let seats = app.seats(&org).await;
    assert_eq!(
        (seats.used, seats.reserved, seats.available),
        (2, 1, Some(1))
    );

    // Two more seats are asked for, one is left: every row that needs one is
    // named, the participant (no seat) is not, and nobody joins.
    let before = everything(&app, &org).await;
    let refused = import(
        &app,
        &org,
        ADD,
        None,
        members(json!([
            admin("a2@acme.test"),
            participant("p2@acme.test"),
            {"email": "s1@acme.test", "space_roles": [{"space_id": s1, "role": "sponsor"}]},
        ])),
    )
    .await
    .problem(
        StatusCode::CONFLICT,
        "seat_limit_reached",
        "an import beyond the seats",
    );
    assert_eq!(
        rejected(&refused),
        vec![
            row(1, "a2@acme.test", "seat_limit_reached"),
            row(3, "s1@acme.test", "seat_limit_reached"),
        ]
    );
    assert_eq!(everything(&app, &org).await, before, "nothing is applied");
    let refused = import(
        &app,
        &org,
        INVITE,
        Some(&owner),
        members(json!([admin("a2@acme.test"), admin("a3@acme.test")])),
    )
    .await
    .problem(
        StatusCode::CONFLICT,
        "seat_limit_reached",
        "invitations beyond the seats",
    );
    assert_eq!(rejected(&refused).len(), 2);
    assert_eq!(everything(&app, &org).await, before);

    // What fits goes in whole; then the organization is full.
    let done = import(
        &app,
        &org,
        ADD,
        None,
        members(json!([admin("a2@acme.test"), participant("p2@acme.test")])),
    )
    .await
    .ok("one seat asked for, one left");
    assert_eq!(done.created.len(), 2);
    let seats = app.seats(&org).await;
    assert_eq!(
        (seats.used, seats.reserved, seats.available),
        (3, 1, Some(0))
    );
    import(
        &app,
        &org,
        ADD,
        None,
        members(json!([admin("a3@acme.test")])),
    )
    .await
    .problem(
        StatusCode::CONFLICT,
        "seat_limit_reached",
        "a full organization",
    );
    // Participants use no seat, and members already in take no new one.
    let done = import(
        &app,
        &org,
        ADD,
        None,
        members(json!([participant("p3@acme.test"), admin("a1@acme.test")])),
    )
    .await
    .ok("no seat needed");
    assert_eq!(done.created.len(), 1);
    assert_eq!(done.unchanged, vec!["a1@acme.test"]);
    app.stop().await;
}

async fn implementation_admin_rows_follow_the_toggle_the_allowlist_and_the_duration_rules(
    db: TestDb,
) {
    let app = spawn(db).await;
    // Full with its Owner: an Implementation Admin takes no seat.
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", Some(1))
        .await;
    let helper = || {
        members(json!([
            {"email": "helper@partner.io", "org_role": "implementation_admin", "duration": "1_month"},
        ]))
    };
    let before = everything(&app, &org).await;
    let refused = import(&app, &org, ADD, None, helper()).await.problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "implementation_admin_disabled",
        "the role is off",
    );
    assert_eq!(
        rejected(&refused),
        vec![row(1, "helper@partner.io", "implementation_admin_disabled")]
    );
    app.put_ia_setting(&org, Some(&owner), json!({"enabled": true}))
        .await
        .ok("turn the role on");
    let before_allowlist = everything(&app, &org).await;
    assert_eq!(before_allowlist.members, before.members);
    let refused = import(&app, &org, ADD, None, helper()).await.problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "domain_not_allowed",
        "an empty allowlist",
    );
    assert_eq!(
        rejected(&refused),
        vec![row(1, "helper@partner.io", "domain_not_allowed")]
    );
    app.put_domains(&org, None, &["partner.io"])
        .await
        .ok("allow partner.io");
    let before = everything(&app, &org).await;
    let refused = import(
        &app,
        &org,
        ADD,
        None,
        members(json!([
            {"email": "nodur@partner.io", "org_role": "implementation_admin"},
            {"email": "admin@partner.io", "org_role": "admin", "duration": "1_month"},
            {"email": "out@acme.test", "org_role": "implementation_admin", "duration": "1_month"},
            {"email": "helper@partner.io", "org_role": "implementation_admin", "duration": "1_month"},
        ])),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "durations and domains",
    );
    assert_eq!(
        rejected(&refused),
        vec![
            row(1, "nodur@partner.io", "validation_failed"),
            row(2, "admin@partner.io", "validation_failed"),
            // The org is full, and an Admin would need a seat.
            row(2, "admin@partner.io", "seat_limit_reached"),
            row(3, "out@acme.test", "domain_not_allowed"),
        ]
    );
    assert_eq!(everything(&app, &org).await, before);

    let done = import(&app, &org, ADD, None, helper())
        .await
        .ok("an allowed Implementation Admin");
    let user = UserId::from(done.created[0].as_str());
    let member = app.member(&org, &user).await;
    assert_eq!(member.org_role, Some(OrgRole::ImplementationAdmin));
    assert!(!member.uses_seat);
    let assignment = member.implementation_admin.expect("an assignment");
    assert_eq!(assignment.duration, IaDuration::OneMonth);
    assert!(assignment.expires_at.is_some(), "a month is not forever");
    let assigned: Vec<AuditEntryView> = app
        .audit(&org)
        .await
        .into_iter()
        .filter(|e| {
            e.action == AuditAction::ImplementationAdminAssigned
                && e.target_user_id.as_ref() == Some(&user)
        })
        .collect();
    assert_eq!(assigned.len(), 1);
    assert!(
        app.decide(
            &org,
            &user,
            "members.invite",
            json!({"type": "organization", "id": org})
        )
        .await
    );

    // In invite mode the invitation carries the duration (CSV this time).
    let done = import(
        &app,
        &org,
        INVITE,
        Some(&owner),
        csv(&["later@partner.io,Lee Later,implementation_admin,3_months,,".to_owned()]),
    )
    .await
    .ok("invite an Implementation Admin");
    let invitation = app
        .invitations(&org, "")
        .await
        .into_iter()
        .find(|i| i.id.as_str() == done.invited[0])
        .unwrap();
    assert_eq!(
        (invitation.role, invitation.duration),
        (
            Role::Org(OrgRole::ImplementationAdmin),
            Some(IaDuration::ThreeMonths)
        )
    );
    app.stop().await;
}

async fn add_is_for_the_platform_key_alone_and_invite_follows_the_callers_invitation_rights(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let owner_token = app.token(&w.org, &w.owner).await.secret;
    let admin_token = app.token(&w.org, &w.admin).await.secret;
    let before = everything(&app, &w.org).await;
    let newcomer = || {
        members(json!([
            {"email": "new@acme.test", "space_roles": [{"space_id": w.s1, "role": "participant"}]},
        ]))
    };

    // add: not even an Owner, through the platform key or their own token.
    for mode in [ADD, ADD_DRY] {
        import(&app, &w.org, mode, Some(&w.owner), newcomer())
            .await
            .problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the platform key acting as the Owner",
            );
        for token in [&owner_token, &admin_token] {
            import_with_token(&app, &w.org, mode, token, newcomer())
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden", "a user token");
        }
    }
    let unauthenticated =
        send(newcomer().attach(app.request(Method::POST, &import_path(&w.org, INVITE)))).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);

    // invite: who may invite nobody is refused as a whole.
    for nobody in [&w.part, &w.fac, &w.sponsor] {
        import(&app, &w.org, INVITE, Some(nobody), newcomer())
            .await
            .problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "someone who may invite nobody",
            );
    }
    // A Program Admin invites into their program only, never to an org role.
    let refused = import(
        &app,
        &w.org,
        INVITE,
        Some(&w.pa),
        members(json!([
            {"email": "new@acme.test", "space_roles": [{"space_id": w.s1, "role": "participant"}]},
            {"email": "boss@acme.test", "org_role": "admin"},
            {"email": "elsewhere@acme.test", "space_roles": [{"space_id": w.s2, "role": "participant"}]},
        ])),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a Program Admin beyond their program",
    );
    assert_eq!(
        rejected(&refused),
        vec![
            row(2, "boss@acme.test", "forbidden"),
            row(3, "elsewhere@acme.test", "forbidden"),
        ]
    );
    // Only an Owner brings in an Owner.
    let refused = import_with_token(
        &app,
        &w.org,
        INVITE,
        &admin_token,
        members(json!([{"email": "second.owner@acme.test", "org_role": "owner"}])),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "an Admin inviting an Owner",
    );
    assert_eq!(
        rejected(&refused),
        vec![row(1, "second.owner@acme.test", "forbidden")]
    );
    assert_eq!(everything(&app, &w.org).await, before, "nothing applied");

    // What they may do, they may.
    let done = import(&app, &w.org, INVITE, Some(&w.pa), newcomer())
        .await
        .ok("a Program Admin into their program");
    assert_eq!(done.invited.len(), 1);
    let done = import_with_token(
        &app,
        &w.org,
        INVITE,
        &owner_token,
        members(json!([{"email": "second.owner@acme.test", "org_role": "owner"}])),
    )
    .await
    .ok("an Owner inviting an Owner with their token");
    let invitation = app
        .invitations(&w.org, "")
        .await
        .into_iter()
        .find(|i| i.id.as_str() == done.invited[0])
        .unwrap();
    assert_eq!(invitation.invited_by.as_ref(), Some(&w.owner));
    app.stop().await;
}

/// What the large import asks for, person by person: their rows (CSV
/// lines), org role and space roles.
struct Planned {
    email: String,
    lines: Vec<String>,
    org_role: Option<OrgRole>,
    spaces: BTreeSet<(SpaceId, SpaceRole)>,
}

fn planned(n: usize, s: &[SpaceId; 3]) -> Planned {
    let email = match n % 5 {
        4 => format!("person{n}@partner.io"),
        _ => format!("person{n}@acme.test"),
    };
    let name = format!("Person {n}");
    let line = |org_role: &str, duration: &str, space: &str, role: &str| {
        format!("{email},{name},{org_role},{duration},{space},{role}")
    };
    let (lines, org_role, spaces) = match n % 5 {
        0 => (
            vec![line("admin", "", "", "")],
            Some(OrgRole::Admin),
            vec![],
        ),
        1 => (
            // By name.
            vec![line("", "", "Program A", "participant")],
            None,
            vec![(s[0].clone(), SpaceRole::Participant)],
        ),
        2 => (
            // Two rows of one person: by id and by name.
            vec![
                line("", "", s[1].as_str(), "facilitator"),
                line("", "", "Program C", "participant"),
            ],
            None,
            vec![
                (s[1].clone(), SpaceRole::Facilitator),
                (s[2].clone(), SpaceRole::Participant),
            ],
        ),
        3 => (
            vec![
                line("admin", "", "Program A", "program_admin"),
                line("admin", "", "Program B", "sponsor"),
            ],
            Some(OrgRole::Admin),
            vec![
                (s[0].clone(), SpaceRole::ProgramAdmin),
                (s[1].clone(), SpaceRole::Sponsor),
            ],
        ),
        _ => (
            vec![line("implementation_admin", "3_months", "", "")],
            Some(OrgRole::ImplementationAdmin),
            vec![],
        ),
    };
    Planned {
        email,
        lines,
        org_role,
        spaces: spaces.into_iter().collect(),
    }
}

async fn a_large_add_import_lands_whole_with_every_member_readable_with_their_roles(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    app.put_ia_setting(&org, Some(&owner), json!({"enabled": true}))
        .await
        .ok("turn the role on");
    app.put_domains(&org, None, &["partner.io"])
        .await
        .ok("allow partner.io");
    let s = [
        app.create_space(&org, &owner, "Program A").await,
        app.create_space(&org, &owner, "Program B").await,
        app.create_space(&org, &owner, "Program C").await,
    ];
    // Several write batches' worth (the store writes from 8 rows at a time).
    let people: Vec<Planned> = (0..30).map(|n| planned(n, &s)).collect();
    let lines: Vec<String> = people.iter().flat_map(|p| p.lines.clone()).collect();
    assert!(lines.len() >= 40);
    let audit_before = app.audit(&org).await.len();

    let done = import(&app, &org, ADD, None, csv(&lines))
        .await
        .ok("a large import in add mode");
    assert_eq!(done.created.len(), people.len());
    assert!(done.unchanged.is_empty() && done.invited.is_empty());

    let mut by_email: BTreeMap<String, MemberView> = BTreeMap::new();
    for id in &done.created {
        let member = app.member(&org, &UserId::from(id.as_str())).await;
        by_email.insert(member.email.clone(), member);
    }
    let listed = app.members(&org, "").await;
    assert_eq!(listed.len(), people.len() + 1, "everyone and the Owner");
    for person in &people {
        let member = by_email
            .get(&person.email)
            .unwrap_or_else(|| panic!("{} was created", person.email));
        assert_eq!(member.org_role, person.org_role, "{}", person.email);
        assert_eq!(held(member), person.spaces, "{}", person.email);
        assert_eq!(member.status, MemberStatus::Active);
        assert!(member.name.starts_with("Person "), "{member:?}");
        assert!(
            listed.contains(member),
            "{} is listed as read",
            person.email
        );
        if person.org_role == Some(OrgRole::ImplementationAdmin) {
            let assignment = member.implementation_admin.as_ref().unwrap();
            assert_eq!(assignment.duration, IaDuration::ThreeMonths);
        }
    }

    let audit: Vec<AuditEntryView> = app
        .audit(&org)
        .await
        .into_iter()
        .skip(audit_before)
        .collect();
    let imported: Vec<&AuditEntryView> = audit
        .iter()
        .filter(|e| e.action == AuditAction::MembersImported)
        .collect();
    assert_eq!(imported.len(), 1);
    assert_eq!(
        imported[0].details,
        json!({"mode": "add", "rows": lines.len(), "people": 30, "created": 30, "invited": 0, "unchanged": 0})
    );
    let space_roles_set = audit
        .iter()
        .filter(|e| e.action == AuditAction::SpaceRoleSet)
        .count();
    let expected: usize = people.iter().map(|p| p.spaces.len()).sum();
    assert_eq!(space_roles_set, expected);
    let chain = app
        .get_audit_verify(&org, None)
        .await
        .ok("verify the audit chain");
    assert!(chain.ok, "{chain:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_json_or_csv_up_to_16_mib_and_50000_rows() {
    let app = spawn(sqlite().await).await;
    let (org, _) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let path = import_path(&org, ADD);

    // Another media type.
    let answer = send(
        app.platform(Method::POST, &path, None)
            .header(CONTENT_TYPE, "text/plain")
            .body("email\nx@acme.test\n"),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{answer:?}"
    );

    // More than the usual 1 MiB is taken here.
    let mut big = serde_json::to_string(
        &json!({"members": [{"email": "big@acme.test", "org_role": "admin"}]}),
    )
    .unwrap();
    big.push_str(&" ".repeat(1024 * 1024 + 10));
    let done: ImportView = send(
        app.platform(Method::POST, &path, None)
            .header(CONTENT_TYPE, "application/json")
            .body(big),
    )
    .await
    .read(StatusCode::OK, "an import body above 1 MiB");
    assert_eq!(done.created.len(), 1);
    // Above 16 MiB it is not.
    let huge = format!("{{\"members\": []{}}}", " ".repeat(16 * 1024 * 1024));
    let answer = send(
        app.platform(Method::POST, &path, None)
            .header(CONTENT_TYPE, "application/json")
            .body(huge),
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        "{answer:?}"
    );

    // 50,000 rows at most.
    let lines: Vec<String> = (0..50_001)
        .map(|n| format!("p{n}@acme.test,,admin,,,"))
        .collect();
    import(&app, &org, ADD_DRY, None, csv(&lines))
        .await
        .problem(StatusCode::BAD_REQUEST, "validation_failed", "50,001 rows");
    // An empty import, an unknown mode, an unknown organization.
    import(&app, &org, ADD, None, members(json!([])))
        .await
        .problem(StatusCode::BAD_REQUEST, "validation_failed", "no rows");
    import(
        &app,
        &org,
        "?mode=merge",
        None,
        members(json!([{"email": "x@acme.test", "org_role": "admin"}])),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "an unknown mode",
    );
    import(
        &app,
        &OrgId::from("org_missing"),
        ADD,
        None,
        members(json!([{"email": "x@acme.test", "org_role": "admin"}])),
    )
    .await
    .problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "an unknown organization",
    );
    app.stop().await;
}

/// The seats and an Owner's capabilities list a whole organization, so
/// they are sent as they are written, in pieces (`json_text`): here both
/// run over several pieces, and arrive whole.
async fn thousands_of_seat_holders_and_hundreds_of_spaces_arrive_whole_in_one_answer(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app
        .create_org("Acme Coaching", "owner@acme.test", None)
        .await;
    let mut spaces = Vec::new();
    for n in 0..250 {
        spaces.push(
            app.create_space(&org, &owner, &format!("Program {n}"))
                .await,
        );
    }
    let lines: Vec<String> = (0..4_000)
        .map(|n| format!("f{n}@acme.test,Facilitator {n},,,Program 7,facilitator"))
        .collect();
    let done = import(&app, &org, ADD, None, csv(&lines))
        .await
        .ok("import 4,000 facilitators");
    assert_eq!(done.created.len(), 4_000);

    let seats = app.seats(&org).await;
    let mut everyone: Vec<UserId> = done
        .created
        .iter()
        .map(|id| UserId::from(id.as_str()))
        .collect();
    everyone.push(owner.clone());
    assert_eq!(seats.holders, sorted(everyone), "every holder, in id order");
    assert_eq!(
        (seats.limit, seats.used, seats.reserved, seats.available),
        (None, 4_001, 0, None)
    );
    let holders_json = serde_json::to_vec(&seats.holders).unwrap_or_default().len();
    assert!(
        holders_json > 2 * 64 * 1024,
        "{holders_json} bytes of holders"
    );

    let caps = app
        .get_capabilities(&org, &owner, None)
        .await
        .ok("the Owner's capabilities");
    assert!(caps.role_management);
    let listed: Vec<&SpaceId> = caps.spaces.iter().map(|s| &s.space_id).collect();
    assert_eq!(sorted(listed), sorted(spaces.iter().collect()));
    let facilitator = app
        .get_capabilities(&org, &UserId::from(done.created[0].as_str()), None)
        .await
        .ok("a facilitator's capabilities");
    assert_eq!(facilitator.spaces.len(), 1);
    for space in caps.spaces.iter().chain(&facilitator.spaces) {
        assert!(space.actions.contains(&Action::SpaceView), "{space:?}");
    }
    let owner_actions = &caps.spaces[0].actions;
    assert!(caps.spaces.iter().all(|s| &s.actions == owner_actions));
    let spaces_json: usize = caps
        .spaces
        .iter()
        .map(|s| s.space_id.as_str().len() + 16 * s.actions.len())
        .sum();
    assert!(
        spaces_json > 64 * 1024,
        "about {spaces_json} bytes of spaces"
    );
    app.stop().await;
}
