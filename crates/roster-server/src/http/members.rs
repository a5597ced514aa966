//! Members (API.md "Members").

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use roster_core::{BulkAction, IaDuration, MemberStatus, OrgId, OrgRole, Role, UserId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{created, no_content, ok, Answer, Problems};
use crate::app::members::MemberFilter;
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{blank_is_none, present, ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::json_text::JsonText;
use crate::state::AppState;
use crate::views::{
    BulkView, CapabilitiesView, MemberView, Page, RoleChangeView, SeatsView, SignInLinkView,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Any of the seven roles.
    #[serde(default, deserialize_with = "blank_is_none")]
    #[param(value_type = Option<Role>)]
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "blank_is_none")]
    #[param(value_type = Option<MemberStatus>)]
    pub status: Option<MemberStatus>,
    /// Part of a name or address, any case.
    pub q: Option<String>,
}

/// List members (`members.view`).
#[utoipa::path(get, path = "/v1/orgs/{org}/members", tag = "members",
    params(("org" = OrgId, Path), MemberQuery, PageQuery),
    responses((status = 200, body = Page<MemberView>), Problems))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<MemberQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<MemberView>>> {
    let filter = MemberFilter {
        role: query.role,
        status: query.status,
        q: query.q,
    };
    let page = page.page::<UserId>()?;
    Ok(Json(app.list_members(&caller, &org, &filter, &page).await?))
}

/// Read a member (the person themselves, or `members.view`).
#[utoipa::path(get, path = "/v1/orgs/{org}/members/{user}", tag = "members",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    responses((status = 200, body = MemberView), Problems))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(app.member(&caller, &org, &user).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PatchMember {
    /// `null` removes the org role; missing leaves it as it is.
    #[serde(default, deserialize_with = "present")]
    pub org_role: Option<Option<OrgRole>>,
    /// Required with `implementation_admin`, refused with any other role.
    pub duration: Option<IaDuration>,
}

/// Assign, change or remove an org role (`members.change_role`).
#[utoipa::path(patch, path = "/v1/orgs/{org}/members/{user}", tag = "members",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    request_body = PatchMember,
    responses((status = 200, body = RoleChangeView), Problems))]
pub async fn patch(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
    ApiJson(body): ApiJson<PatchMember>,
) -> ApiResult<Answer<RoleChangeView>> {
    Ok(ok(app
        .change_role(&ctx, &org, &user, body.org_role, body.duration)
        .await?))
}

/// Deactivate: roles and history kept, access denied, seat freed, tokens revoked.
#[utoipa::path(post, path = "/v1/orgs/{org}/members/{user}/deactivate", tag = "members",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    responses((status = 200, body = MemberView), Problems))]
pub async fn deactivate(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
) -> ApiResult<Answer<MemberView>> {
    Ok(ok(app.deactivate(&ctx, &org, &user).await?))
}

/// Reactivate (needs a free seat).
#[utoipa::path(post, path = "/v1/orgs/{org}/members/{user}/reactivate", tag = "members",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    responses((status = 200, body = MemberView), Problems))]
pub async fn reactivate(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
) -> ApiResult<Answer<MemberView>> {
    Ok(ok(app.reactivate(&ctx, &org, &user).await?))
}

/// Remove from the organization: membership and space roles deleted, tokens revoked.
#[utoipa::path(delete, path = "/v1/orgs/{org}/members/{user}", tag = "members",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    responses((status = 204, description = "Removed"), Problems))]
pub async fn remove(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
) -> ApiResult<Answer<()>> {
    Ok(no_content(app.remove_member(&ctx, &org, &user).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Confirm {
    #[serde(default)]
    pub confirm: bool,
}

/// End an Implementation Admin's role early (they leave the organization).
#[utoipa::path(post, path = "/v1/orgs/{org}/members/{user}/remove-implementation-admin", tag = "members",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    request_body = Confirm,
    responses((status = 204, description = "Removed"), Problems))]
pub async fn remove_implementation_admin(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
    ApiJson(body): ApiJson<Confirm>,
) -> ApiResult<Answer<()>> {
    Ok(no_content(
        app.remove_implementation_admin(&ctx, &org, &user, body.confirm)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct Bulk {
    action: BulkAction,
    /// 1 to 500 distinct ids; repeats count once.
    user_ids: Vec<UserId>,
}

/// Deactivate, reactivate or remove several members; a result per person.
#[utoipa::path(post, path = "/v1/orgs/{org}/members/bulk", tag = "members",
    params(("org" = OrgId, Path)),
    request_body = Bulk,
    responses((status = 200, body = BulkView), Problems))]
pub async fn bulk(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<Bulk>,
) -> ApiResult<Answer<BulkView>> {
    Ok(ok(app
        .bulk(&ctx, &org, body.action, &body.user_ids)
        .await?))
}

/// Seat usage (`seats.view`).
#[utoipa::path(get, path = "/v1/orgs/{org}/seats", tag = "members",
    params(("org" = OrgId, Path)),
    responses((status = 200, body = SeatsView), Problems))]
pub async fn seats(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Response> {
    let (snap, now) = app.seats(&caller, &org).await?;
    Ok(JsonText::stream(move |json| {
        let (usage, holders) = snap.seat_holders(now);
        SeatsView::write(json, usage, &holders);
    })
    .await)
}

/// What the Admin Area shows a person (themselves, or `members.view`).
#[utoipa::path(get, path = "/v1/orgs/{org}/members/{user}/capabilities", tag = "members",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    responses((status = 200, body = CapabilitiesView), Problems))]
pub async fn capabilities(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
) -> ApiResult<Response> {
    let (snap, now) = app.capabilities(&caller, &org, &user).await?;
    Ok(JsonText::stream(move |json| {
        let caps = roster_core::capabilities::capabilities(&snap, &user, now);
        CapabilitiesView::write(json, &caps);
    })
    .await)
}

/// A one-time admin UI sign-in link for a member (platform key; audited).
#[utoipa::path(post, path = "/v1/orgs/{org}/members/{user}/sign-in-link", tag = "members",
    params(("org" = OrgId, Path), ("user" = UserId, Path)),
    responses((status = 201, body = SignInLinkView), Problems))]
pub async fn sign_in_link(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
) -> ApiResult<Answer<SignInLinkView>> {
    Ok(created(app.platform_sign_in_link(&ctx, &org, &user).await?))
}
