//! Spaces and their members (API.md "Spaces").

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_core::{Name, OrgId, SpaceId, SpaceRole, UserId};
use serde::Deserialize;
use utoipa::ToSchema;

use super::members::Confirm;
use super::{created, no_content, ok, Answer, Problems};
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::state::AppState;
use crate::views::{
    Page, RecipientsView, RetainedAccessView, SpaceMemberView, SpaceMembersView, SpaceView,
};

#[derive(Deserialize, ToSchema)]
pub struct NewSpace {
    pub name: String,
}

/// Create a space (`spaces.create`); its creator gets no space role.
#[utoipa::path(post, path = "/v1/orgs/{org}/spaces", tag = "spaces",
    params(("org" = OrgId, Path)),
    request_body = NewSpace,
    responses((status = 201, body = SpaceView), Problems))]
pub async fn create(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<NewSpace>,
) -> ApiResult<Answer<SpaceView>> {
    let name = Name::parse("name", &body.name)?;
    Ok(created(app.create_space(&ctx, &org, name).await?))
}

/// The spaces the caller can open.
#[utoipa::path(get, path = "/v1/orgs/{org}/spaces", tag = "spaces",
    params(("org" = OrgId, Path), PageQuery),
    responses((status = 200, body = Page<SpaceView>), Problems))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<SpaceView>>> {
    let page = page.page::<SpaceId>()?;
    Ok(Json(app.spaces(&caller, &org, &page).await?))
}

/// Read a space (`space.view` there).
#[utoipa::path(get, path = "/v1/orgs/{org}/spaces/{space}", tag = "spaces",
    params(("org" = OrgId, Path), ("space" = SpaceId, Path)),
    responses((status = 200, body = SpaceView), Problems))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((org, space)): ApiPath<(OrgId, SpaceId)>,
) -> ApiResult<Json<SpaceView>> {
    Ok(Json(app.space(&caller, &org, &space).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PatchSpace {
    pub name: Option<String>,
}

/// Rename a space (`spaces.manage`); a missing `name` changes nothing.
#[utoipa::path(patch, path = "/v1/orgs/{org}/spaces/{space}", tag = "spaces",
    params(("org" = OrgId, Path), ("space" = SpaceId, Path)),
    request_body = PatchSpace,
    responses((status = 200, body = SpaceView), Problems))]
pub async fn patch(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, space)): ApiPath<(OrgId, SpaceId)>,
    ApiJson(body): ApiJson<PatchSpace>,
) -> ApiResult<Answer<SpaceView>> {
    let name = body
        .name
        .as_deref()
        .map(|n| Name::parse("name", n))
        .transpose()?;
    Ok(ok(app.update_space(&ctx, &org, &space, name).await?))
}

/// Delete a space and every role in it (`spaces.delete`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/spaces/{space}", tag = "spaces",
    params(("org" = OrgId, Path), ("space" = SpaceId, Path)),
    responses((status = 204, description = "Deleted"), Problems))]
pub async fn delete(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, space)): ApiPath<(OrgId, SpaceId)>,
) -> ApiResult<Answer<()>> {
    Ok(no_content(app.delete_space(&ctx, &org, &space).await?))
}

/// The space's members: explicit roles, and org admins through their org role.
#[utoipa::path(get, path = "/v1/orgs/{org}/spaces/{space}/members", tag = "spaces",
    params(("org" = OrgId, Path), ("space" = SpaceId, Path), PageQuery),
    responses((status = 200, body = SpaceMembersView), Problems))]
pub async fn members(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((org, space)): ApiPath<(OrgId, SpaceId)>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<SpaceMembersView>> {
    let page = page.page::<UserId>()?;
    Ok(Json(app.space_members(&caller, &org, &space, &page).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SetRole {
    pub role: SpaceRole,
}

/// Add an existing org member to the space, or change their role there.
#[utoipa::path(put, path = "/v1/orgs/{org}/spaces/{space}/members/{user}", tag = "spaces",
    params(("org" = OrgId, Path), ("space" = SpaceId, Path), ("user" = UserId, Path)),
    request_body = SetRole,
    responses((status = 200, body = SpaceMemberView), Problems))]
pub async fn set_member(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, space, user)): ApiPath<(OrgId, SpaceId, UserId)>,
    ApiJson(body): ApiJson<SetRole>,
) -> ApiResult<Answer<SpaceMemberView>> {
    Ok(ok(app
        .set_space_role(&ctx, &org, &space, &user, body.role)
        .await?))
}

/// Remove someone's space role; `retained_access` names the org role that
/// still reaches the space.
#[utoipa::path(delete, path = "/v1/orgs/{org}/spaces/{space}/members/{user}", tag = "spaces",
    params(("org" = OrgId, Path), ("space" = SpaceId, Path), ("user" = UserId, Path)),
    responses((status = 200, body = RetainedAccessView), Problems))]
pub async fn remove_member(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, space, user)): ApiPath<(OrgId, SpaceId, UserId)>,
) -> ApiResult<Response> {
    let done = app.remove_space_role(&ctx, &org, &space, &user).await?;
    let retained = done.value.retained_access;
    let mut response = ok(done).into_response();
    if let Some(role) = retained {
        response.headers_mut().insert(
            "x-roster-retained-access",
            HeaderValue::from_static(role.as_str()),
        );
    }
    Ok(response)
}

/// The caller leaves the space (a participant, with `confirm: true`).
#[utoipa::path(post, path = "/v1/orgs/{org}/spaces/{space}/leave", tag = "spaces",
    params(("org" = OrgId, Path), ("space" = SpaceId, Path)),
    request_body = Confirm,
    responses((status = 204, description = "Left"), Problems))]
pub async fn leave(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, space)): ApiPath<(OrgId, SpaceId)>,
    ApiJson(body): ApiJson<Confirm>,
) -> ApiResult<Answer<()>> {
    Ok(no_content(
        app.leave_space(&ctx, &org, &space, body.confirm).await?,
    ))
}

/// Who receives the space's notifications (never sponsors).
#[utoipa::path(get, path = "/v1/orgs/{org}/spaces/{space}/notification-recipients", tag = "spaces",
    params(("org" = OrgId, Path), ("space" = SpaceId, Path)),
    responses((status = 200, body = RecipientsView), Problems))]
pub async fn notification_recipients(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((org, space)): ApiPath<(OrgId, SpaceId)>,
) -> ApiResult<Json<RecipientsView>> {
    Ok(Json(
        app.notification_recipients(&caller, &org, &space).await?,
    ))
}
