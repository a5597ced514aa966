//! Organizations (API.md "Organizations").

use axum::extract::State;
use axum::Json;
use roster_core::org::OrgUpdate;
use roster_core::{DomainAllowlist, DomainPattern, Email, Name, OrgId, Role, SeatPolicy};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{created, no_content, ok, Answer, Problems};
use crate::app::orgs::NewOrg;
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{present, ApiJson, ApiPath};
use crate::state::AppState;
use crate::views::{DomainsView, IaSettingView, OrgView};

#[derive(Deserialize, ToSchema)]
pub struct CreateOrg {
    name: String,
    owner_email: String,
    owner_name: Option<String>,
    /// `null` (unlimited) or at least 1.
    seat_limit: Option<u32>,
}

/// Create an organization with its first Owner (platform key).
#[utoipa::path(post, path = "/v1/orgs", tag = "organizations",
    request_body = CreateOrg,
    responses((status = 201, body = OrgView), Problems))]
pub async fn create(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<CreateOrg>,
) -> ApiResult<Answer<OrgView>> {
    let owner_email = Email::parse(&body.owner_email)
        .map_err(|e| ApiError::invalid("owner_email", format!("owner_email: {e}")))?;
    let new = NewOrg {
        name: Name::parse("name", &body.name)?,
        owner_email,
        owner_name: Name::parse_optional("owner_name", body.owner_name.as_deref())?,
        seat_limit: body.seat_limit,
    };
    Ok(created(
        app.create_org(&ctx.caller, Some(&ctx.request_id), new)
            .await?,
    ))
}

/// Read an organization (platform key, or `members.view`).
#[utoipa::path(get, path = "/v1/orgs/{org}", tag = "organizations",
    params(("org" = OrgId, Path)),
    responses((status = 200, body = OrgView), Problems))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<OrgView>> {
    Ok(Json(app.org(&caller, &org).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PatchOrg {
    name: Option<String>,
    /// Platform only: `null` (unlimited) or at least 1.
    #[serde(default, deserialize_with = "present")]
    seat_limit: Option<Option<u32>>,
    /// Platform only: the roles that use a seat (SPEC §15).
    seat_roles: Option<Vec<Role>>,
}

/// Rename (`settings.manage`); seat limit and seat roles (platform key).
#[utoipa::path(patch, path = "/v1/orgs/{org}", tag = "organizations",
    params(("org" = OrgId, Path)),
    request_body = PatchOrg,
    responses((status = 200, body = OrgView), Problems))]
pub async fn patch(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<PatchOrg>,
) -> ApiResult<Answer<OrgView>> {
    let update = OrgUpdate {
        name: body
            .name
            .as_deref()
            .map(|n| Name::parse("name", n))
            .transpose()?,
        seat_limit: body.seat_limit,
        seat_policy: body.seat_roles.map(SeatPolicy::from_roles),
    };
    Ok(ok(app.update_org(&ctx, &org, update).await?))
}

/// Delete the organization (Owner); every token in it is revoked.
#[utoipa::path(delete, path = "/v1/orgs/{org}", tag = "organizations",
    params(("org" = OrgId, Path)),
    responses((status = 204, description = "Deleted"), Problems))]
pub async fn delete(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Answer<()>> {
    Ok(no_content(app.delete_org(&ctx, &org).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Domains {
    /// Exact domains, or `*.example.com` for its subdomains.
    pub domains: Vec<String>,
}

/// Set the Implementation Admin domain allowlist (platform key).
#[utoipa::path(put, path = "/v1/orgs/{org}/implementation-admin-domains", tag = "organizations",
    params(("org" = OrgId, Path)),
    request_body = Domains,
    responses((status = 200, body = DomainsView), Problems))]
pub async fn put_domains(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<Domains>,
) -> ApiResult<Answer<DomainsView>> {
    if body.domains.len() > 200 {
        return Err(ApiError::invalid("domains", "at most 200 domains"));
    }
    let patterns = body
        .domains
        .iter()
        .map(|entry| {
            DomainPattern::parse(entry)
                .map_err(|e| ApiError::invalid("domains", format!("{entry}: {e}")))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ok(app
        .set_domains(&ctx, &org, DomainAllowlist::new(patterns))
        .await?))
}

/// Read the allowlist (platform key, or `members.invite`).
#[utoipa::path(get, path = "/v1/orgs/{org}/implementation-admin-domains", tag = "organizations",
    params(("org" = OrgId, Path)),
    responses((status = 200, body = DomainsView), Problems))]
pub async fn get_domains(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<DomainsView>> {
    Ok(Json(app.domains(&caller, &org).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct IaSetting {
    pub enabled: bool,
    /// Required to turn it off while Implementation Admins are active.
    #[serde(default)]
    pub confirm: bool,
}

/// Turn the Implementation Admin role on or off (`settings.manage`).
#[utoipa::path(put, path = "/v1/orgs/{org}/settings/implementation-admin", tag = "organizations",
    params(("org" = OrgId, Path)),
    request_body = IaSetting,
    responses((status = 200, body = IaSettingView), Problems))]
pub async fn put_ia_setting(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<IaSetting>,
) -> ApiResult<Answer<IaSettingView>> {
    Ok(ok(app
        .set_ia_setting(&ctx, &org, body.enabled, body.confirm)
        .await?))
}
