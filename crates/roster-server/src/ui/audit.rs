//! Admin Area › Audit log: filters, export, and whether the chain verifies.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use roster_store::AuditFilter;
use serde::Deserialize;

use super::kit::{self, error};
use super::session::Viewer;
use crate::extract::ApiQuery;
use crate::routes::audit;
use crate::state::AppState;

/// The actions the filter offers (API.md's list).
const ACTIONS: &[&str] = &[
    "org.created",
    "org.updated",
    "org.deleted",
    "setting.changed",
    "allowlist.changed",
    "invitation.created",
    "invitation.resent",
    "invitation.revoked",
    "invitation.expired",
    "invitation.accepted",
    "member.role_changed",
    "member.deactivated",
    "member.reactivated",
    "member.removed",
    "member.left_space",
    "space.created",
    "space.updated",
    "space.deleted",
    "space_role.set",
    "space_role.removed",
    "implementation_admin.assigned",
    "implementation_admin.removed",
    "token.created",
    "token.revoked",
    "forever_review.recorded",
];

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    action: Option<String>,
    target_user_id: Option<String>,
    cursor: Option<String>,
}

pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Response {
    if !viewer.sees("audit") {
        return kit::render_with(
            StatusCode::FORBIDDEN,
            kit::page(
                &viewer,
                "",
                "Not available",
                html! { p { "Your role does not include this page." } },
            ),
        );
    }
    let after_seq = q
        .cursor
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let filter = AuditFilter {
        action: q.action.clone().filter(|a| !a.is_empty()),
        target_user_id: q.target_user_id.clone().filter(|t| !t.is_empty()),
        since: None,
        after_seq,
        limit: 101,
    };
    let (entries, check) = match (
        app.store.audit_entries(&viewer.org_id, &filter).await,
        app.store.verify_audit(&viewer.org_id).await,
    ) {
        (Ok(entries), Ok(check)) => (entries, check),
        (Err(e), _) | (_, Err(e)) => {
            let e = crate::error::ApiError::from(e);
            return kit::render_with(
                e.status,
                kit::page(&viewer, "audit", "Audit log", error(Some(&e.detail))),
            );
        }
    };
    let next = (entries.len() > 100).then(|| entries[99].seq);
    let who = |id: &Option<String>| {
        id.as_deref().map_or_else(String::new, |id| {
            viewer
                .snap
                .member(id)
                .map_or_else(|| id.to_owned(), |m| m.email.as_str().to_owned())
        })
    };
    let content = html! {
        p #chain-status class=(if check.ok { "status-ok" } else { "status-bad" }) role="status" {
            @if check.ok { "Chain verified: " (check.entries) " entries, none altered." }
            @else { "Chain broken at entry " (check.first_bad_seq.unwrap_or_default()) ": the log was altered." }
        }
        p { "Export: " a href="/ui/audit/export?format=jsonl" { "JSON Lines" } " · " a href="/ui/audit/export?format=csv" { "CSV" } }
        form.filters method="get" action="/ui/audit" {
            div {
                label for="audit-action" { "Action" }
                select #audit-action name="action" {
                    option value="" { "All actions" }
                    @for a in ACTIONS { option value=(a) selected[q.action.as_deref() == Some(*a)] { (a) } }
                }
            }
            div {
                label for="audit-target" { "Person (user id)" }
                input #audit-target type="text" name="target_user_id" value=(q.target_user_id.clone().unwrap_or_default());
            }
            button.secondary type="submit" { "Filter" }
        }
        table #audit {
            thead { tr { th { "#" } th { "When" } th { "Who" } th { "Trigger" } th { "Action" } th { "Person" } th { "Details" } } }
            tbody {
                @for e in entries.iter().take(100) {
                    tr {
                        td { (e.seq) }
                        td { (crate::views::time(e.at)) }
                        td { (e.actor.kind) @if e.actor.user_id.is_some() { ": " (who(&e.actor.user_id)) } }
                        td { (e.trigger) }
                        td { code { (e.action) } }
                        td { (who(&e.target_user_id)) }
                        td { code { (e.details.to_string()) } }
                    }
                }
            }
        }
        @if let Some(seq) = next {
            p.pager { a href={ "/ui/audit?action=" (q.action.clone().unwrap_or_default()) "&target_user_id=" (q.target_user_id.clone().unwrap_or_default()) "&cursor=" (seq) } { "Next page" } }
        }
    };
    kit::render(kit::page(&viewer, "audit", "Audit log", content))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
}

pub async fn export(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ExportQuery>,
) -> Response {
    let query = ApiQuery(audit::Export { format: q.format });
    match audit::export(
        State(app),
        viewer.caller(),
        Path(viewer.org_id.clone()),
        query,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => kit::render_with(
            e.status,
            kit::page(&viewer, "audit", "Audit log", error(Some(&e.detail))),
        )
        .into_response(),
    }
}
