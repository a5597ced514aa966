//! The audit log (API.md "Audit"): filters, pages, export, verification,
//! and the request id of every write.

use reqwest::{Method, StatusCode};
use roster_core::{AuditAction, OrgId, OrgRole, UserId};
use roster_server::views::{
    AcceptedView, AuditEntryView, ChainCheckView, MemberView, OrgView, RoleChangeView, SpaceView,
};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::{json, Value};

use crate::common::{send, spawn, Answer, TestApp};
use crate::fixtures::space_world;

on_both_backends!(
    the_audit_log_filters_pages_exports_and_verifies,
    every_write_records_its_request_id_in_the_audit_log,
);

/// The audit log, read page by page with `limit` per page; answers the
/// entries and how many pages it took.
async fn audit_pages(app: &TestApp, org: &OrgId, limit: usize) -> (Vec<AuditEntryView>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            None => format!("?limit={limit}"),
            Some(c) => format!("?limit={limit}&cursor={c}"),
        };
        let page = app.get_audit(org, None, &query).await.ok(&query);
        assert!(
            page.items.len() <= limit,
            "a page holds at most limit items"
        );
        pages += 1;
        assert!(pages < 1000, "the cursor never ends");
        items.extend(page.items);
        match page.next_cursor {
            None => break,
            Some(c) => cursor = Some(c),
        }
    }
    (items, pages)
}

async fn the_audit_log_filters_pages_exports_and_verifies(db: TestDb) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let o = w.o();
    let (_, all_pages) = audit_pages(&app, &w.org, 500).await;
    assert_eq!(all_pages, 1);
    let all = app.audit(&w.org).await;
    assert!(all.len() > 10, "a busy organization: {}", all.len());
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]), "in order: {seqs:?}");
    // Every entry says every field, null where there is nothing to say.
    let raw = app.get_audit(&w.org, None, "?limit=500").await;
    for e in raw.body["items"].as_array().unwrap() {
        for key in [
            "prev_hash",
            "space_id",
            "target_user_id",
            "details",
            "request_id",
        ] {
            assert!(e.get(key).is_some(), "{key} in {e}");
        }
    }

    let page = app
        .get_audit(&w.org, None, "?action=space.created")
        .await
        .ok("filter by action");
    let want: Vec<&AuditEntryView> = all
        .iter()
        .filter(|e| e.action == AuditAction::SpaceCreated)
        .collect();
    assert_eq!(page.items.iter().collect::<Vec<_>>(), want);
    assert_eq!(want.len(), 2);
    let page = app
        .get_audit(
            &w.org,
            None,
            &format!("?target_user_id={}&limit=500", w.fac),
        )
        .await
        .ok("filter by target");
    let want: Vec<&AuditEntryView> = all
        .iter()
        .filter(|e| e.target_user_id.as_ref() == Some(&w.fac))
        .collect();
    assert!(want.len() >= 2, "{want:?}");
    assert_eq!(page.items.iter().collect::<Vec<_>>(), want);
    let page = app
        .get_audit(
            &w.org,
            None,
            &format!("?action=space.created&target_user_id={}", w.fac),
        )
        .await
        .ok("filter by action and target");
    assert!(page.items.is_empty(), "both filters apply: {page:?}");

    // `since`: only what happened from that instant on.
    app.advance(86_400).await;
    app.post_space(&w.org, Some(&w.owner), json!({"name": "Tomorrow"}))
        .await
        .ok("a write a day later");
    let all = app.audit(&w.org).await;
    let last = all.last().unwrap().clone();
    assert_eq!(last.action, AuditAction::SpaceCreated);
    let since = last.at.replace('+', "%2B");
    let page = app
        .get_audit(&w.org, None, &format!("?since={since}"))
        .await
        .ok("filter by since");
    assert_eq!(page.items, vec![last.clone()], "only the new entry");
    app.get_audit(&w.org, None, "?since=yesterday")
        .await
        .problem(StatusCode::BAD_REQUEST, "validation_failed", "a bad since");
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();

    let page = app
        .get_audit(&w.org, None, "?limit=2")
        .await
        .ok("the first page");
    assert_eq!(page.items.len(), 2);
    let cursor = page
        .next_cursor
        .clone()
        .unwrap_or_else(|| panic!("a cursor: {page:?}"));
    let second = app
        .get_audit(&w.org, None, &format!("?limit=2&cursor={cursor}"))
        .await
        .ok("the second page");
    assert_eq!(second.items, all[2..4].to_vec());
    let (paged, pages) = audit_pages(&app, &w.org, 2).await;
    assert_eq!(paged, all, "the pages add up to the log");
    assert_eq!(pages, all.len().div_ceil(2));
    app.get_audit(&w.org, None, "?cursor=not-a-cursor")
        .await
        .problem(StatusCode::BAD_REQUEST, "validation_failed", "a bad cursor");

    let jsonl = app
        .get(&format!("{o}/audit/export?format=jsonl"), None)
        .await;
    jsonl.assert_status(StatusCode::OK, "export as JSON Lines");
    let lines: Vec<AuditEntryView> = jsonl
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), all.len(), "one line per entry");
    assert_eq!(lines.iter().map(|l| l.seq).collect::<Vec<_>>(), seqs);
    assert_eq!(lines, all, "each line is the entry as the API lists it");
    let csv = app.get(&format!("{o}/audit/export?format=csv"), None).await;
    csv.assert_status(StatusCode::OK, "export as CSV");
    let rows: Vec<&str> = csv.text.lines().collect();
    assert_eq!(rows.len(), all.len() + 1, "a header and a row per entry");
    assert!(
        rows[0].contains("seq") && rows[0].contains("action"),
        "header: {}",
        rows[0]
    );
    assert!(rows[1].starts_with(&seqs[0].to_string()), "{}", rows[1]);
    app.get(&format!("{o}/audit/export?format=xml"), None)
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an unknown export format",
        );

    let check = app.get_audit_verify(&w.org, None).await.ok("verify");
    assert_eq!(
        check,
        ChainCheckView {
            ok: true,
            entries: i64::try_from(all.len()).unwrap(),
            first_bad_seq: None
        }
    );
    for (who, me) in [("a Program Admin", &w.pa), ("a participant", &w.part)] {
        for path in [
            format!("{o}/audit"),
            format!("{o}/audit/export?format=csv"),
            format!("{o}/audit/verify"),
        ] {
            app.get(&path, Some(me)).await.problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("{who} reads {path}"),
            );
        }
    }
    app.get_audit_verify(&w.org, Some(&w.admin))
        .await
        .ok("an Admin verifies");
    app.stop().await;
}

/// A request with the platform key (acting as `actor` when given) and,
/// when given, an `X-Request-ID`.
async fn traced(
    app: &TestApp,
    method: Method,
    path: &str,
    actor: Option<&UserId>,
    body: Value,
    request_id: Option<&str>,
) -> Answer {
    let request = app.platform(method, path, actor).json(&body);
    send(match request_id {
        Some(id) => request.header("X-Request-ID", id),
        None => request,
    })
    .await
}

async fn every_write_records_its_request_id_in_the_audit_log(db: TestDb) {
    let app = spawn(db).await;
    let created = traced(
        &app,
        Method::POST,
        "/v1/orgs",
        None,
        json!({"name": "Traced", "owner_email": "owner@traced.test"}),
        Some("rid-org-create"),
    )
    .await;
    let org: OrgView = created.read(StatusCode::CREATED, "create the organization");
    let owner = org.owner.expect("the first Owner").user_id;
    let org = org.id;
    let o = format!("/v1/orgs/{org}");
    let owner = Some(&owner);
    let space = traced(
        &app,
        Method::POST,
        &format!("{o}/spaces"),
        owner,
        json!({"name": "S"}),
        Some("rid-space-create"),
    )
    .await;
    let s = space
        .read::<SpaceView>(StatusCode::CREATED, "create a space")
        .id;
    let writes = [
        (
            traced(
                &app,
                Method::PATCH,
                &format!("{o}/spaces/{s}"),
                owner,
                json!({"name": "S2"}),
                Some("rid-space-rename"),
            )
            .await,
            "rid-space-rename",
        ),
        (
            traced(
                &app,
                Method::POST,
                &format!("{o}/invitations"),
                owner,
                json!({"emails": ["fac@traced.test"], "role": "facilitator", "space_ids": [s]}),
                Some("rid-invite"),
            )
            .await,
            "rid-invite",
        ),
        (
            traced(
                &app,
                Method::PATCH,
                &o,
                owner,
                json!({"name": "Traced Inc"}),
                Some("rid-org-rename"),
            )
            .await,
            "rid-org-rename",
        ),
        (
            traced(
                &app,
                Method::POST,
                &format!("{o}/tokens"),
                owner,
                json!({"kind": "mcp", "name": "agent"}),
                Some("rid-token"),
            )
            .await,
            "rid-token",
        ),
    ];
    for (a, rid) in &writes {
        assert!(a.status.is_success(), "{rid}: {a:?}");
    }
    let invite_token = app.invitation_token("fac@traced.test").await;
    let accepted: AcceptedView = traced(
        &app,
        Method::POST,
        "/v1/invitations/accept",
        None,
        json!({"token": invite_token}),
        Some("rid-accept"),
    )
    .await
    .read(StatusCode::OK, "accept");
    let fac = accepted.user_id;
    let promoted: RoleChangeView = traced(
        &app,
        Method::PATCH,
        &format!("{o}/members/{fac}"),
        owner,
        json!({"org_role": "admin"}),
        Some("rid-role"),
    )
    .await
    .read(StatusCode::OK, "make the Facilitator Admin");
    assert_eq!(promoted.member.org_role, Some(OrgRole::Admin));
    let _: MemberView = traced(
        &app,
        Method::POST,
        &format!("{o}/members/{fac}/deactivate"),
        owner,
        json!({}),
        Some("rid-deactivate"),
    )
    .await
    .read(StatusCode::OK, "deactivate");
    // Without X-Request-ID the server makes one, answers it and records it.
    let a = traced(
        &app,
        Method::POST,
        &format!("{o}/members/{fac}/reactivate"),
        owner,
        json!({}),
        None,
    )
    .await;
    let _: MemberView = a.read(StatusCode::OK, "reactivate");
    let generated = a.header("x-request-id").to_owned();
    assert!(!generated.is_empty());

    // Every write answered with a revision, each newer than the last.
    let mut revisions = vec![space.revision()];
    revisions.extend(writes.iter().map(|(a, _)| a.revision()));
    assert!(revisions.windows(2).all(|p| p[0] < p[1]), "{revisions:?}");
    let audit = app.audit(&org).await;
    let rid_of = |action: AuditAction| -> Vec<String> {
        audit
            .iter()
            .filter(|e| e.action == action)
            .map(|e| e.request_id.clone().unwrap_or_else(|| "<none>".into()))
            .collect()
    };
    for (action, rid) in [
        (AuditAction::OrgCreated, "rid-org-create"),
        (AuditAction::SpaceCreated, "rid-space-create"),
        (AuditAction::SpaceUpdated, "rid-space-rename"),
        (AuditAction::InvitationCreated, "rid-invite"),
        (AuditAction::OrgUpdated, "rid-org-rename"),
        (AuditAction::TokenCreated, "rid-token"),
        (AuditAction::InvitationAccepted, "rid-accept"),
        (AuditAction::SpaceRoleSet, "rid-accept"),
        (AuditAction::MemberDeactivated, "rid-deactivate"),
    ] {
        assert_eq!(rid_of(action), vec![rid.to_owned()], "{action}");
    }
    assert_eq!(
        rid_of(AuditAction::MemberRoleChanged),
        vec!["rid-org-create".to_owned(), "rid-role".to_owned()],
        "the first Owner's role, then the promotion"
    );
    assert_eq!(rid_of(AuditAction::MemberReactivated), vec![generated]);
    assert!(
        audit
            .iter()
            .all(|e| e.request_id.as_deref().is_some_and(|r| !r.is_empty())),
        "every entry has a request id"
    );
    app.stop().await;
}
