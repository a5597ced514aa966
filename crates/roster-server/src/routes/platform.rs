//! The platform operator's views (API.md "Platform operator") and the dev
//! clock (API.md "Time").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use roster_core::OrgRole;
use roster_store::{AuditDraft, Row, Write};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, RequestId};
use crate::jobs;
use crate::routes::with_revision;
use crate::state::AppState;
use crate::views;

#[derive(Deserialize)]
pub struct IaQuery {
    duration: Option<String>,
}

pub async fn implementation_admins(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<IaQuery>,
) -> ApiResult<Json<Value>> {
    caller.require_platform()?;
    match q.duration.as_deref() {
        None | Some("forever") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "duration",
                format!("only duration=forever is listed, not `{other}`"),
            ))
        }
    }
    let now = app.now();
    let items: Vec<Value> = app
        .store
        .forever_implementation_admins()
        .await?
        .iter()
        .map(|a| {
            json!({
                "org_id": a.org_id,
                "user_id": a.user_id,
                "email": a.email,
                "since": views::time(a.since),
                "age_days": (now - a.since).num_days(),
                "last_reviewed_at": views::opt_time(a.last_reviewed_at),
                "reviews": a.reviews,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn review(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require_platform()?;
    let (_, revision) = app
        .write(&org, &caller.acting_in(&org)?, &request_id, |snap, now| {
            let forever = snap.member(&user).is_some_and(|m| {
                m.org_role == Some(OrgRole::ImplementationAdmin)
                    && m.ia.as_ref().is_some_and(|ia| ia.expires_at.is_none())
                    && !m.ia_expired(now)
            });
            if !forever {
                return Err(ApiError::not_found(
                    "Forever Implementation Admin assignment",
                ));
            }
            Ok(Write::new(())
                .row(Row::IaReview {
                    user_id: user.clone(),
                })
                .audit(AuditDraft::new("forever_review.recorded").target(&user)))
        })
        .await?;
    Ok(with_revision(StatusCode::NO_CONTENT, revision, Value::Null))
}

#[derive(Deserialize)]
pub struct Advance {
    advance_seconds: i64,
}

pub async fn advance_clock(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Advance>,
) -> ApiResult<Json<Value>> {
    caller.require_platform()?;
    if !(0..=20 * 365 * 86_400).contains(&body.advance_seconds) {
        return Err(ApiError::invalid(
            "advance_seconds",
            "advance_seconds must be 0 to 20 years, forward only",
        ));
    }
    let now = app.clock.advance(&app.store, body.advance_seconds).await?;
    Ok(Json(json!({"now": views::time(now)})))
}

pub async fn sweep(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_platform()?;
    app.clock.refresh(&app.store).await?;
    let report = jobs::run_once(&app).await?;
    Ok(Json(json!({
        "now": views::time(app.now()),
        "implementation_admins_expired": report.implementation_admins_expired,
        "invitations_expired": report.invitations_expired,
        "emails_sent": report.emails_sent,
        "emails_failed": report.emails_failed,
    })))
}

pub async fn outbox(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_platform()?;
    let items = app.store.outbox(None, 200).await?;
    Ok(Json(json!({"items": items})))
}
