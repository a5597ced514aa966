//! The event feeds (API.md "Events").

use axum::extract::State;
use axum::Json;
use roster_core::{EventType, OrgId};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Problems;
use crate::app::events::EventsQuery;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::views::{EventPage, EventTypesView};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// A `next_cursor` from an earlier page, or an event id.
    after: Option<String>,
    /// A comma-separated list of event types.
    types: Option<String>,
    /// 1 to 1000; 100 when absent.
    limit: Option<u32>,
}

impl FeedParams {
    fn query(self) -> ApiResult<EventsQuery> {
        let types = self
            .types
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<EventType>()
                    .map_err(|e| ApiError::invalid("types", e.to_string()))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let limit = match self.limit {
            None => EventsQuery::DEFAULT_LIMIT,
            Some(l) if (1..=EventsQuery::MAX_LIMIT as u32).contains(&l) => l as usize,
            Some(_) => return Err(ApiError::invalid("limit", "limit must be 1 to 1000")),
        };
        Ok(EventsQuery {
            after: self.after,
            types,
            limit,
        })
    }
}

/// An organization's events, oldest first (`audit.view`, or the platform key).
#[utoipa::path(get, path = "/v1/orgs/{org}/events", tag = "events",
    params(("org" = OrgId, Path), FeedParams),
    responses((status = 200, body = EventPage), Problems))]
pub async fn org_feed(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(params): ApiQuery<FeedParams>,
) -> ApiResult<Json<EventPage>> {
    Ok(Json(app.org_events(&caller, &org, &params.query()?).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlatformFeedParams {
    /// Only this organization's events.
    org_id: Option<OrgId>,
}

/// Every organization's events in commit order (platform key).
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(FeedParams, PlatformFeedParams),
    responses((status = 200, body = EventPage), Problems))]
pub async fn platform_feed(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<FeedParams>,
    ApiQuery(scope): ApiQuery<PlatformFeedParams>,
) -> ApiResult<Json<EventPage>> {
    let org = scope.org_id.filter(|o| !o.as_str().is_empty());
    Ok(Json(
        app.platform_events(&caller, org.as_ref(), &params.query()?)
            .await?,
    ))
}

/// Every event type: the audit actions and `webhook.test`.
#[utoipa::path(get, path = "/v1/event-types", tag = "events",
    responses((status = 200, body = EventTypesView)), security(()))]
pub async fn types(State(app): State<AppState>) -> Json<EventTypesView> {
    Json(app.event_types())
}
