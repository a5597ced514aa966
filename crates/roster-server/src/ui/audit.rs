//! Admin Area › Audit log: filters, export, and whether the chain verifies.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use roster_core::{AuditAction, UserId};
use serde::Deserialize;

use super::kit::{self, error};
use super::session::Viewer;
use crate::app::audit::{AuditQuery, ExportFormat};
use crate::app::PageRequest;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct AuditPageQuery {
    action: Option<String>,
    target_user_id: Option<String>,
    cursor: Option<String>,
}

pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditPageQuery>,
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
    let query = AuditQuery {
        action: q.action.as_deref().and_then(|a| a.parse().ok()),
        target_user_id: q
            .target_user_id
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(UserId::from),
        since: None,
        after_seq: q
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
    };
    let page = PageRequest {
        cursor: None,
        limit: 100,
    };
    let caller = viewer.caller();
    let (entries, check) = match (
        app.audit(&caller, &viewer.org_id, &query, &page).await,
        app.verify_audit(&caller, &viewer.org_id, None).await,
    ) {
        (Ok(entries), Ok(check)) => (entries, check),
        (Err(e), _) | (_, Err(e)) => {
            return kit::render_with(
                e.status,
                kit::page(&viewer, "audit", "Audit log", error(Some(&e.detail))),
            );
        }
    };
    let next = entries.next_cursor.clone();
    let who = |id: &Option<UserId>| {
        id.as_ref().map_or_else(String::new, |id| {
            viewer
                .snap
                .member(id)
                .map_or_else(|| id.to_string(), |m| m.email.as_str().to_owned())
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
                    @for a in AuditAction::ALL { option value=(a.as_str()) selected[q.action.as_deref() == Some(a.as_str())] { (a.as_str()) } }
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
                @for e in &entries.items {
                    tr {
                        td { (e.seq) }
                        td { (e.at) }
                        td { (e.actor.kind.as_str()) @if e.actor.user_id.is_some() { ": " (who(&e.actor.user_id)) } }
                        td { (e.trigger.as_str()) }
                        td { code { (e.action.as_str()) } }
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
    let (format, content_type, extension) = match q.format.as_deref() {
        Some("csv") => (ExportFormat::Csv, "text/csv; charset=utf-8", "csv"),
        _ => (ExportFormat::JsonLines, "application/x-ndjson", "jsonl"),
    };
    match app
        .export_audit(&viewer.caller(), &viewer.org_id, format)
        .await
    {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, content_type.to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"audit-{}.{extension}\"",
                        viewer.org_id
                    ),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => kit::render_with(
            e.status,
            kit::page(&viewer, "audit", "Audit log", error(Some(&e.detail))),
        ),
    }
}
