//! Tokens (API.md "Tokens") and introspection.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::{Name, OrgId, TokenId, TokenKind, UserId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{created, no_content, Answer, Problems};
use crate::app::Ctx;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiForm, ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::state::AppState;
use crate::views::{CreatedTokenView, IntrospectionView, Page, TokenView};

#[derive(Deserialize, ToSchema)]
pub struct CreateToken {
    /// `api`, `mcp` or `oauth`.
    kind: TokenKind,
    name: String,
    expires_at: Option<DateTime<Utc>>,
}

/// Create a token for yourself; its secret is shown once.
#[utoipa::path(post, path = "/v1/orgs/{org}/tokens", tag = "tokens",
    params(("org" = OrgId, Path)),
    request_body = CreateToken,
    responses((status = 201, body = CreatedTokenView), Problems))]
pub async fn create(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<Answer<CreatedTokenView>> {
    let name = Name::parse("name", &body.name)?;
    Ok(created(
        app.create_token(&ctx, &org, body.kind, name, body.expires_at)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// One person's tokens (your own, or anyone's with `tokens.manage`).
    user_id: Option<UserId>,
}

/// List tokens: your own, or everyone's with `tokens.manage`.
#[utoipa::path(get, path = "/v1/orgs/{org}/tokens", tag = "tokens",
    params(("org" = OrgId, Path), TokenQuery, PageQuery),
    responses((status = 200, body = Page<TokenView>), Problems))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<TokenQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<TokenView>>> {
    let page = page.page::<TokenId>()?;
    let user = query.user_id.filter(|u| !u.as_str().is_empty());
    Ok(Json(app.tokens(&caller, &org, user.as_ref(), &page).await?))
}

/// Revoke a token (its owner, or `tokens.manage`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/tokens/{id}", tag = "tokens",
    params(("org" = OrgId, Path), ("id" = TokenId, Path)),
    responses((status = 204, description = "Revoked"), Problems))]
pub async fn revoke(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, id)): ApiPath<(OrgId, TokenId)>,
) -> ApiResult<Answer<()>> {
    Ok(no_content(app.revoke_token(&ctx, &org, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct IntrospectForm {
    #[serde(default)]
    token: String,
}

/// RFC 7662 introspection (platform key): `active: false` the instant a
/// token is revoked, expires or its owner loses access.
#[utoipa::path(post, path = "/v1/introspect", tag = "tokens",
    request_body(content = IntrospectForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = IntrospectionView), Problems))]
pub async fn introspect(
    State(app): State<AppState>,
    caller: Caller,
    ApiForm(form): ApiForm<IntrospectForm>,
) -> ApiResult<Json<IntrospectionView>> {
    if form.token.is_empty() {
        return Err(ApiError::invalid("token", "token is required"));
    }
    Ok(Json(app.introspect(&caller, &form.token).await?))
}
