//! Invitations (API.md "Invitations").

use axum::extract::State;
use axum::Json;
use roster_core::invite::{EmailInput, InviteRequest};
use roster_core::text::parse_text;
use roster_core::{IaDuration, InvitationId, InvitationStatus, Name, OrgId, Role, SpaceId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{created, no_content, ok, Answer, Problems};
use crate::app::{Ctx, RequestId};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{blank_is_none, ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::state::AppState;
use crate::views::{AcceptedView, BatchView, InvitationView, Page};

/// A list of addresses, or one pasted string separated by commas,
/// semicolons, spaces or new lines.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Emails {
    List(Vec<String>),
    Text(String),
}

impl From<Emails> for EmailInput {
    fn from(emails: Emails) -> Self {
        match emails {
            Emails::List(items) => EmailInput::List(items),
            Emails::Text(text) => EmailInput::Text(text),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateBatch {
    pub emails: Emails,
    pub role: Role,
    /// For space roles: 1 to 100 distinct spaces.
    #[serde(default)]
    pub space_ids: Vec<SpaceId>,
    /// Required for `implementation_admin`, refused for every other role.
    pub duration: Option<IaDuration>,
    /// Up to 5000 characters, shown in the email.
    pub message: Option<String>,
}

impl CreateBatch {
    /// The request the rules check (the message checked here, at the edge).
    pub fn parse(self) -> ApiResult<InviteRequest> {
        let message = self
            .message
            .filter(|m| !m.trim().is_empty())
            .map(|m| parse_text("message", &m, 5000))
            .transpose()?;
        Ok(InviteRequest {
            emails: self.emails.into(),
            role: self.role,
            space_ids: self.space_ids,
            duration: self.duration,
            message,
        })
    }
}

/// Invite a batch, all or nothing: the refusal names every failing address.
#[utoipa::path(post, path = "/v1/orgs/{org}/invitations", tag = "invitations",
    params(("org" = OrgId, Path)),
    request_body = CreateBatch,
    responses((status = 201, body = BatchView), Problems))]
pub async fn create(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateBatch>,
) -> ApiResult<Answer<BatchView>> {
    let request = body.parse()?;
    Ok(created(app.invite(&ctx, &org, &request).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationQuery {
    #[serde(default, deserialize_with = "blank_is_none")]
    #[param(value_type = Option<InvitationStatus>)]
    pub status: Option<InvitationStatus>,
}

/// List invitations (`members.view`).
#[utoipa::path(get, path = "/v1/orgs/{org}/invitations", tag = "invitations",
    params(("org" = OrgId, Path), InvitationQuery, PageQuery),
    responses((status = 200, body = Page<InvitationView>), Problems))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<InvitationQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<InvitationView>>> {
    let page = page.page::<InvitationId>()?;
    Ok(Json(
        app.invitations(&caller, &org, query.status, &page).await?,
    ))
}

/// Resend: a fresh expiry, one more send.
#[utoipa::path(post, path = "/v1/orgs/{org}/invitations/{id}/resend", tag = "invitations",
    params(("org" = OrgId, Path), ("id" = InvitationId, Path)),
    responses((status = 200, body = InvitationView), Problems))]
pub async fn resend(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, id)): ApiPath<(OrgId, InvitationId)>,
) -> ApiResult<Answer<InvitationView>> {
    Ok(ok(app.resend_invitation(&ctx, &org, &id).await?))
}

/// Revoke a pending invitation.
#[utoipa::path(delete, path = "/v1/orgs/{org}/invitations/{id}", tag = "invitations",
    params(("org" = OrgId, Path), ("id" = InvitationId, Path)),
    responses((status = 204, description = "Revoked"), Problems))]
pub async fn revoke(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath((org, id)): ApiPath<(OrgId, InvitationId)>,
) -> ApiResult<Answer<()>> {
    Ok(no_content(app.revoke_invitation(&ctx, &org, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Accept {
    /// The token from the invitation email's link.
    token: String,
    /// Saved on the account.
    name: Option<String>,
}

/// Accept an invitation with the token from its email (no credential).
#[utoipa::path(post, path = "/v1/invitations/accept", tag = "invitations",
    request_body = Accept,
    responses((status = 200, body = AcceptedView), Problems),
    security(()))]
pub async fn accept(
    State(app): State<AppState>,
    request_id: RequestId,
    ApiJson(body): ApiJson<Accept>,
) -> ApiResult<Answer<AcceptedView>> {
    let name = Name::parse_optional("name", body.name.as_deref())?;
    Ok(ok(app
        .accept_invitation(&request_id, body.token.trim(), name)
        .await?))
}
