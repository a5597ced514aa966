//! The platform operator's views (API.md "Platform operator") and the dev
//! clock (API.md "Time"), whose paths exist only with `ROSTER_DEV_CLOCK=1`.

use axum::extract::State;
use axum::Json;
use roster_core::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{no_content, Answer, Problems};
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::jobs;
use crate::state::AppState;
use crate::views::{time, ForeverListView};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IaQuery {
    /// Only `forever` is listed.
    duration: Option<String>,
}

/// Forever Implementation Admin assignments, with their age and reviews.
#[utoipa::path(get, path = "/v1/platform/implementation-admins", tag = "platform",
    params(IaQuery),
    responses((status = 200, body = ForeverListView), Problems))]
pub async fn implementation_admins(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<IaQuery>,
) -> ApiResult<Json<ForeverListView>> {
    match q.duration.as_deref() {
        None | Some("forever") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "duration",
                format!("only duration=forever is listed, not `{other}`"),
            ))
        }
    }
    Ok(Json(app.forever_implementation_admins(&caller).await?))
}

/// Record a periodic review of a Forever assignment.
#[utoipa::path(post, path = "/v1/platform/implementation-admins/{org}/{user}/review", tag = "platform",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    responses((status = 204, description = "Recorded"), Problems))]
pub async fn review(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
) -> ApiResult<Answer<()>> {
    Ok(no_content(app.review_forever(&ctx, &org, &user).await?))
}

/// The dev clock's routes: served only with `ROSTER_DEV_CLOCK=1`, always
/// described (as 404 without it).
pub fn dev_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(advance_clock))
        .routes(routes!(sweep))
        .routes(routes!(outbox))
}

#[derive(Deserialize, ToSchema)]
pub struct Advance {
    /// 0 to 20 years, forward only.
    advance_seconds: i64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ClockView {
    pub now: String,
}

/// Move the server's clock forward (platform key; only with `ROSTER_DEV_CLOCK=1`).
#[utoipa::path(post, path = "/v1/dev/clock", tag = "platform",
    request_body = Advance,
    responses((status = 200, body = ClockView), Problems))]
async fn advance_clock(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Advance>,
) -> ApiResult<Json<ClockView>> {
    let now = app.advance_clock(&caller, body.advance_seconds).await?;
    Ok(Json(ClockView { now: time(now) }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SweepView {
    pub now: String,
    pub implementation_admins_expired: usize,
    pub invitations_expired: usize,
    pub emails_sent: usize,
    pub emails_failed: usize,
    pub webhooks_delivered: usize,
    pub webhooks_failed: usize,
}

/// Run the background jobs once: expiry, invitation expiry, due deliveries
/// (platform key; only with `ROSTER_DEV_CLOCK=1`).
#[utoipa::path(post, path = "/v1/dev/sweep", tag = "platform",
    responses((status = 200, body = SweepView), Problems))]
async fn sweep(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<SweepView>> {
    caller.require_platform()?;
    app.clock.refresh(&app.store).await?;
    let report = jobs::run_once(&app).await?;
    Ok(Json(SweepView {
        now: time(app.now()),
        implementation_admins_expired: report.implementation_admins_expired,
        invitations_expired: report.invitations_expired,
        emails_sent: report.emails_sent,
        emails_failed: report.emails_failed,
        webhooks_delivered: report.webhooks_delivered,
        webhooks_failed: report.webhooks_failed,
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct OutboxItem {
    pub id: String,
    pub org_id: Option<String>,
    pub recipient: String,
    pub template: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct OutboxView {
    pub items: Vec<OutboxItem>,
}

/// The newest outbox messages, to read links in tests and demos (platform
/// key; only with `ROSTER_DEV_CLOCK=1`).
#[utoipa::path(get, path = "/v1/dev/outbox", tag = "platform",
    responses((status = 200, body = OutboxView), Problems))]
async fn outbox(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<OutboxView>> {
    let items = app
        .outbox(&caller)
        .await?
        .into_iter()
        .map(|m| OutboxItem {
            id: m.id,
            org_id: m.org_id,
            recipient: m.recipient,
            template: m.template,
            subject: m.subject,
            body_text: m.body_text,
            body_html: m.body_html,
            message_id: m.message_id,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: time(m.created_at),
        })
        .collect();
    Ok(Json(OutboxView { items }))
}
