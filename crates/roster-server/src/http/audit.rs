//! The audit log (API.md "Audit"): query, export, verify.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::{AuditAction, OrgId, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Problems;
use crate::app::audit::{AuditQuery, ExportFormat};
use crate::app::PageRequest;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{blank_is_none, ApiPath, ApiQuery, PageQuery};
use crate::state::AppState;
use crate::views::{AuditEntryView, AuditHeadView, ChainCheckView, Page};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Query {
    #[serde(default, deserialize_with = "blank_is_none")]
    #[param(value_type = Option<AuditAction>)]
    action: Option<AuditAction>,
    #[serde(default, deserialize_with = "blank_is_none")]
    #[param(value_type = Option<String>)]
    target_user_id: Option<UserId>,
    /// Entries at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
}

/// Query the log, oldest first (`audit.view`); the cursor is a `seq`.
#[utoipa::path(get, path = "/v1/orgs/{org}/audit", tag = "audit",
    params(("org" = OrgId, Path), Query, PageQuery),
    responses((status = 200, body = Page<AuditEntryView>), Problems))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(q): ApiQuery<Query>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<AuditEntryView>>> {
    let after_seq = match page.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| ApiError::invalid("cursor", "cursor is not valid"))?,
    };
    let query = AuditQuery {
        action: q.action,
        target_user_id: q.target_user_id,
        since: q.since,
        after_seq,
    };
    let page = PageRequest {
        cursor: None,
        limit: page.limit()?,
    };
    Ok(Json(app.audit(&caller, &org, &query, &page).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Export {
    /// `jsonl` (the default) or `csv`.
    pub format: Option<String>,
}

/// Export the whole log as JSON Lines or CSV (`audit.view`).
#[utoipa::path(get, path = "/v1/orgs/{org}/audit/export", tag = "audit",
    params(("org" = OrgId, Path), Export),
    responses(
        (status = 200, description = "One entry per line", content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        )),
        Problems))]
pub async fn export(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(q): ApiQuery<Export>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref() {
        None | Some("jsonl") => ExportFormat::JsonLines,
        Some("csv") => ExportFormat::Csv,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("unknown format `{other}`: use jsonl or csv"),
            ))
        }
    };
    let body = app.export_audit(&caller, &org, format).await?;
    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::JsonLines => ("application/x-ndjson", "jsonl"),
    };
    let filename = format!("attachment; filename=\"audit-{org}.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Anchor {
    /// With `hash`: a head read earlier from `audit/head`.
    seq: Option<i64>,
    hash: Option<String>,
}

/// Verify the hash chain (`audit.view`); with `seq` and `hash`, also that
/// a head anchored outside Roster is still in the log unchanged.
#[utoipa::path(get, path = "/v1/orgs/{org}/audit/verify", tag = "audit",
    params(("org" = OrgId, Path), Anchor),
    responses((status = 200, body = ChainCheckView), Problems))]
pub async fn verify(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(anchor): ApiQuery<Anchor>,
) -> ApiResult<Json<ChainCheckView>> {
    let anchor = match (anchor.seq, anchor.hash.as_deref()) {
        (None, None) => None,
        (Some(seq), Some(hash)) if seq >= 0 => Some((seq, hash)),
        _ => {
            return Err(ApiError::invalid(
                "seq",
                "give both seq (0 or more) and hash, from audit/head",
            ))
        }
    };
    Ok(Json(app.verify_audit(&caller, &org, anchor).await?))
}

/// The newest entry's `seq` and `hash`, to keep outside Roster (`audit.view`).
#[utoipa::path(get, path = "/v1/orgs/{org}/audit/head", tag = "audit",
    params(("org" = OrgId, Path)),
    responses((status = 200, body = AuditHeadView), Problems))]
pub async fn head(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<AuditHeadView>> {
    Ok(Json(app.audit_head(&caller, &org).await?))
}
