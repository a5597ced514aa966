//! Webhook endpoints (API.md "Webhooks"): the same operations for the
//! platform (`/v1/webhooks`, platform key) and for one organization
//! (`/v1/orgs/{org}/webhooks`, `integrations.manage`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use roster_core::text::parse_text;
use roster_core::webhooks::WebhookUpdate;
use roster_core::{DeliveryId, EventType, OrgId, WebhookId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Problems;
use crate::app::webhooks::{NewWebhook, Scope};
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::state::AppState;
use crate::views::{CreatedWebhookView, DeliveryView, Page, SecretView, WebhookView};

const MAX_DESCRIPTION: usize = 500;
const MAX_TYPES: usize = 100;

#[derive(Deserialize, ToSchema)]
pub struct CreateWebhook {
    /// `http(s)`; its host must resolve to public addresses.
    url: String,
    /// Event types to send; empty or absent: every type.
    #[serde(default)]
    types: Vec<EventType>,
    /// Platform endpoints only: one organization's events (absent: all).
    org_id: Option<OrgId>,
    /// Up to 500 characters.
    #[serde(default)]
    description: String,
}

fn checked_types(types: Vec<EventType>) -> ApiResult<Vec<EventType>> {
    if types.len() > MAX_TYPES {
        return Err(ApiError::invalid("types", "at most 100 types"));
    }
    let mut distinct = types;
    distinct.sort();
    distinct.dedup();
    Ok(distinct)
}

fn checked_description(text: &str) -> ApiResult<String> {
    Ok(parse_text("description", text.trim(), MAX_DESCRIPTION)?)
}

impl CreateWebhook {
    fn parse(self, scope: &Scope) -> ApiResult<NewWebhook> {
        if matches!(scope, Scope::Org(_)) && self.org_id.is_some() {
            return Err(ApiError::invalid(
                "org_id",
                "an organization's endpoints are its own: leave org_id out",
            ));
        }
        Ok(NewWebhook {
            url: self.url,
            types: checked_types(self.types)?,
            org_id: self.org_id,
            description: checked_description(&self.description)?,
        })
    }
}

#[derive(Deserialize, ToSchema)]
pub struct PatchWebhook {
    url: Option<String>,
    types: Option<Vec<EventType>>,
    enabled: Option<bool>,
    description: Option<String>,
}

impl PatchWebhook {
    fn parse(self) -> ApiResult<WebhookUpdate> {
        Ok(WebhookUpdate {
            url: self.url,
            types: self.types.map(checked_types).transpose()?,
            enabled: self.enabled,
            description: self
                .description
                .as_deref()
                .map(checked_description)
                .transpose()?,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `dead`.
    status: Option<String>,
}

fn delivery_status(query: DeliveryQuery) -> ApiResult<Option<String>> {
    match query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Ok(None),
        Some(s @ ("pending" | "delivered" | "dead")) => Ok(Some(s.to_owned())),
        Some(other) => Err(ApiError::invalid(
            "status",
            format!("unknown status `{other}`: use pending, delivered or dead"),
        )),
    }
}

/// Register an endpoint; its secret is shown in this answer only.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhookView), Problems))]
pub async fn platform_create(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookView>)> {
    let scope = Scope::Platform;
    let new = body.parse(&scope)?;
    Ok((
        StatusCode::CREATED,
        Json(app.create_webhook(&ctx, &scope, new).await?),
    ))
}

/// The endpoints.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    params(PageQuery),
    responses((status = 200, body = Page<WebhookView>), Problems))]
pub async fn platform_list(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<WebhookView>>> {
    let page = page.page::<WebhookId>()?;
    Ok(Json(app.webhooks(&caller, &Scope::Platform, &page).await?))
}

/// One endpoint.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = WebhookId, Path)),
    responses((status = 200, body = WebhookView), Problems))]
pub async fn platform_get(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(app.webhook(&caller, &Scope::Platform, &id).await?))
}

/// Change an endpoint: `url`, `types`, `enabled`, `description`.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = WebhookId, Path)),
    request_body = PatchWebhook,
    responses((status = 200, body = WebhookView), Problems))]
pub async fn platform_patch(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(body): ApiJson<PatchWebhook>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(
        app.update_webhook(&ctx, &Scope::Platform, &id, body.parse()?)
            .await?,
    ))
}

/// Delete an endpoint and its waiting deliveries.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = WebhookId, Path)),
    responses((status = 204, description = "Deleted"), Problems))]
pub async fn platform_delete(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<StatusCode> {
    app.delete_webhook(&ctx, &Scope::Platform, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret, shown once; the old one signs beside it for 24 hours.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = WebhookId, Path)),
    responses((status = 200, body = SecretView), Problems))]
pub async fn platform_rotate(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<Json<SecretView>> {
    Ok(Json(
        app.rotate_webhook_secret(&ctx, &Scope::Platform, &id)
            .await?,
    ))
}

/// Send a `webhook.test` event to this endpoint alone.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = WebhookId, Path)),
    responses((status = 202, description = "Queued"), Problems))]
pub async fn platform_test(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<StatusCode> {
    app.test_webhook(&ctx, &Scope::Platform, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = WebhookId, Path), DeliveryQuery, PageQuery),
    responses((status = 200, body = Page<DeliveryView>), Problems))]
pub async fn platform_deliveries(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<WebhookId>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<DeliveryView>>> {
    let page = page.page::<DeliveryId>()?;
    let status = delivery_status(query)?;
    Ok(Json(
        app.deliveries(&caller, &Scope::Platform, &id, status.as_deref(), &page)
            .await?,
    ))
}

/// Send a dead or delivered delivery again, with the same `webhook-id`.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery}/retry", tag = "webhooks",
    params(("id" = WebhookId, Path), ("delivery" = DeliveryId, Path)),
    responses((status = 202, description = "Queued"), Problems))]
pub async fn platform_retry(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((id, delivery)): ApiPath<(WebhookId, DeliveryId)>,
) -> ApiResult<StatusCode> {
    app.retry_delivery(&ctx, &Scope::Platform, &id, &delivery)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Register an endpoint; its secret is shown in this answer only.
#[utoipa::path(post, path = "/v1/orgs/{org}/webhooks", tag = "webhooks",
    params(("org" = OrgId, Path)),
    request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhookView), Problems))]
pub async fn org_create(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookView>)> {
    let scope = Scope::Org(org);
    let new = body.parse(&scope)?;
    Ok((
        StatusCode::CREATED,
        Json(app.create_webhook(&ctx, &scope, new).await?),
    ))
}

/// The endpoints.
#[utoipa::path(get, path = "/v1/orgs/{org}/webhooks", tag = "webhooks",
    params(("org" = OrgId, Path), PageQuery),
    responses((status = 200, body = Page<WebhookView>), Problems))]
pub async fn org_list(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<WebhookView>>> {
    let page = page.page::<WebhookId>()?;
    Ok(Json(app.webhooks(&caller, &Scope::Org(org), &page).await?))
}

/// One endpoint.
#[utoipa::path(get, path = "/v1/orgs/{org}/webhooks/{id}", tag = "webhooks",
    params(("org" = OrgId, Path), ("id" = WebhookId, Path)),
    responses((status = 200, body = WebhookView), Problems))]
pub async fn org_get(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((org, id)): ApiPath<(OrgId, WebhookId)>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(app.webhook(&caller, &Scope::Org(org), &id).await?))
}

/// Change an endpoint: `url`, `types`, `enabled`, `description`.
#[utoipa::path(patch, path = "/v1/orgs/{org}/webhooks/{id}", tag = "webhooks",
    params(("org" = OrgId, Path), ("id" = WebhookId, Path)),
    request_body = PatchWebhook,
    responses((status = 200, body = WebhookView), Problems))]
pub async fn org_patch(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, id)): ApiPath<(OrgId, WebhookId)>,
    ApiJson(body): ApiJson<PatchWebhook>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(
        app.update_webhook(&ctx, &Scope::Org(org), &id, body.parse()?)
            .await?,
    ))
}

/// Delete an endpoint and its waiting deliveries.
#[utoipa::path(delete, path = "/v1/orgs/{org}/webhooks/{id}", tag = "webhooks",
    params(("org" = OrgId, Path), ("id" = WebhookId, Path)),
    responses((status = 204, description = "Deleted"), Problems))]
pub async fn org_delete(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, id)): ApiPath<(OrgId, WebhookId)>,
) -> ApiResult<StatusCode> {
    app.delete_webhook(&ctx, &Scope::Org(org), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret, shown once; the old one signs beside it for 24 hours.
#[utoipa::path(post, path = "/v1/orgs/{org}/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("org" = OrgId, Path), ("id" = WebhookId, Path)),
    responses((status = 200, body = SecretView), Problems))]
pub async fn org_rotate(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, id)): ApiPath<(OrgId, WebhookId)>,
) -> ApiResult<Json<SecretView>> {
    Ok(Json(
        app.rotate_webhook_secret(&ctx, &Scope::Org(org), &id)
            .await?,
    ))
}

/// Send a `webhook.test` event to this endpoint alone.
#[utoipa::path(post, path = "/v1/orgs/{org}/webhooks/{id}/test", tag = "webhooks",
    params(("org" = OrgId, Path), ("id" = WebhookId, Path)),
    responses((status = 202, description = "Queued"), Problems))]
pub async fn org_test(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, id)): ApiPath<(OrgId, WebhookId)>,
) -> ApiResult<StatusCode> {
    app.test_webhook(&ctx, &Scope::Org(org), &id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/v1/orgs/{org}/webhooks/{id}/deliveries", tag = "webhooks",
    params(("org" = OrgId, Path), ("id" = WebhookId, Path), DeliveryQuery, PageQuery),
    responses((status = 200, body = Page<DeliveryView>), Problems))]
pub async fn org_deliveries(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((org, id)): ApiPath<(OrgId, WebhookId)>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<DeliveryView>>> {
    let page = page.page::<DeliveryId>()?;
    let status = delivery_status(query)?;
    Ok(Json(
        app.deliveries(&caller, &Scope::Org(org), &id, status.as_deref(), &page)
            .await?,
    ))
}

/// Send a dead or delivered delivery again, with the same `webhook-id`.
#[utoipa::path(post, path = "/v1/orgs/{org}/webhooks/{id}/deliveries/{delivery}/retry", tag = "webhooks",
    params(("org" = OrgId, Path), ("id" = WebhookId, Path), ("delivery" = DeliveryId, Path)),
    responses((status = 202, description = "Queued"), Problems))]
pub async fn org_retry(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, id, delivery)): ApiPath<(OrgId, WebhookId, DeliveryId)>,
) -> ApiResult<StatusCode> {
    app.retry_delivery(&ctx, &Scope::Org(org), &id, &delivery)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
