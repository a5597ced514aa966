//! The audit log (API.md "Audit"): query, export, verify.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::Action;
use roster_store::{AuditEntry, AuditFilter};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate, ApiQuery, Page};
use crate::state::AppState;
use crate::views;

async fn authorize_audit(app: &AppState, caller: &Caller, org: &str) -> ApiResult<()> {
    app.read_as(caller, org, Action::AuditView)
        .await
        .map(|_| ())
}

pub fn entry_json(e: &AuditEntry) -> Value {
    json!({
        "id": e.id,
        "seq": e.seq,
        "at": views::time(e.at),
        "actor": {"kind": e.actor.kind, "user_id": e.actor.user_id},
        "trigger": e.trigger,
        "action": e.action,
        "target_user_id": e.target_user_id,
        "space_id": e.space_id,
        "details": e.details,
        "request_id": e.request_id,
        "hash": e.hash,
        "prev_hash": e.prev_hash,
    })
}

#[derive(Deserialize)]
pub struct Query {
    action: Option<String>,
    target_user_id: Option<String>,
    since: Option<DateTime<Utc>>,
    #[serde(flatten)]
    page: Page,
}

pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(q): ApiQuery<Query>,
) -> ApiResult<Json<Value>> {
    authorize_audit(&app, &caller, &org).await?;
    let limit = q.page.limit()?;
    let after_seq = match q.page.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("cursor", "cursor is not valid"))?,
    };
    let filter = AuditFilter {
        action: q.action.filter(|a| !a.is_empty()),
        target_user_id: q.target_user_id.filter(|t| !t.is_empty()),
        since: q.since,
        after_seq,
        limit: limit as i64 + 1,
    };
    let entries = app.store.audit_entries(&org, &filter).await?;
    let (entries, next_cursor) = paginate(entries, limit, |e| e.seq.to_string());
    let items: Vec<Value> = entries.iter().map(entry_json).collect();
    Ok(Json(json!({"items": items, "next_cursor": next_cursor})))
}

#[derive(Deserialize)]
pub struct Export {
    pub format: Option<String>,
}

const CSV_COLUMNS: [&str; 12] = [
    "seq",
    "id",
    "at",
    "actor_kind",
    "actor_user_id",
    "trigger",
    "action",
    "target_user_id",
    "space_id",
    "details",
    "request_id",
    "hash",
];

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

pub async fn export(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(q): ApiQuery<Export>,
) -> ApiResult<Response> {
    authorize_audit(&app, &caller, &org).await?;
    let csv = match q.format.as_deref() {
        None | Some("jsonl") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("unknown format `{other}`: use jsonl or csv"),
            ))
        }
    };
    let mut out = String::new();
    if csv {
        out.push_str(&CSV_COLUMNS.join(","));
        out.push('\n');
    }
    let mut after_seq = 0;
    loop {
        let batch = app
            .store
            .audit_entries(
                &org,
                &AuditFilter {
                    after_seq,
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await?;
        let Some(last) = batch.last() else { break };
        after_seq = last.seq;
        for e in &batch {
            if csv {
                let details = e.details.to_string();
                let at = views::time(e.at);
                let seq = e.seq.to_string();
                let fields = [
                    seq.as_str(),
                    &e.id,
                    &at,
                    &e.actor.kind,
                    e.actor.user_id.as_deref().unwrap_or(""),
                    &e.trigger,
                    &e.action,
                    e.target_user_id.as_deref().unwrap_or(""),
                    e.space_id.as_deref().unwrap_or(""),
                    &details,
                    e.request_id.as_deref().unwrap_or(""),
                    &e.hash,
                ];
                out.push_str(
                    &fields
                        .iter()
                        .map(|f| csv_field(f))
                        .collect::<Vec<_>>()
                        .join(","),
                );
            } else {
                out.push_str(&entry_json(e).to_string());
            }
            out.push('\n');
        }
    }
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson"
    };
    let filename = format!(
        "attachment; filename=\"audit-{org}.{}\"",
        if csv { "csv" } else { "jsonl" }
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        out,
    )
        .into_response())
}

pub async fn verify(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    authorize_audit(&app, &caller, &org).await?;
    let check = app.store.verify_audit(&org).await?;
    Ok(Json(
        json!({"ok": check.ok, "entries": check.entries, "first_bad_seq": check.first_bad_seq}),
    ))
}
