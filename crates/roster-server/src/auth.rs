//! Credentials (API.md "Credentials"): the platform key, optionally acting
//! as a user through `X-Roster-Actor`, or a user token acting as its owner
//! inside its organization.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use roster_core::{Actor, OrgId, TokenId, TokenKind, UserId};

use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::state::AppState;

/// Token secrets look like `rst_<id>_<secret>`.
pub const TOKEN_PREFIX: &str = "rst_";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The platform key alone.
    Platform,
    /// The platform key with `X-Roster-Actor`: acts as that user.
    PlatformAs(UserId),
    /// A user token: its owner, in its organization only.
    Token {
        token_id: TokenId,
        user_id: UserId,
        org_id: OrgId,
    },
    /// A signed-in person in the admin UI: like a token, from a cookie.
    Session {
        token_id: TokenId,
        user_id: UserId,
        org_id: OrgId,
    },
}

impl Caller {
    /// Who this caller acts as in `org_id`. A token of another organization
    /// sees nothing there (404, as for an unknown organization).
    pub fn acting_in(&self, org_id: &OrgId) -> ApiResult<Actor> {
        match self {
            Caller::Platform => Ok(Actor::Platform),
            Caller::PlatformAs(user) => Ok(Actor::User(user.clone())),
            Caller::Token {
                user_id,
                org_id: own,
                ..
            }
            | Caller::Session {
                user_id,
                org_id: own,
                ..
            } if own == org_id => Ok(Actor::User(user_id.clone())),
            Caller::Token { .. } | Caller::Session { .. } => {
                Err(ApiError::not_found("organization"))
            }
        }
    }

    /// Platform-only endpoints: the bare platform key.
    pub fn require_platform(&self) -> ApiResult<()> {
        match self {
            Caller::Platform => Ok(()),
            _ => Err(ApiError::forbidden(
                "only the platform operator may do this",
            )),
        }
    }

    pub fn is_platform_key(&self) -> bool {
        matches!(self, Caller::Platform | Caller::PlatformAs(_))
    }
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Caller> {
        let Some(secret) = bearer(parts) else {
            return Err(ApiError::unauthorized(
                "send a credential: Authorization: Bearer <key or token>",
            ));
        };
        if state.is_platform_key(secret).await {
            let actor = parts.headers.get("x-roster-actor");
            return match actor {
                None => Ok(Caller::Platform),
                Some(value) => {
                    let user = value
                        .to_str()
                        .ok()
                        .map(str::trim)
                        .filter(|u| !u.is_empty() && u.len() <= 200)
                        .ok_or_else(|| {
                            ApiError::invalid("X-Roster-Actor", "X-Roster-Actor must be a user id")
                        })?;
                    Ok(Caller::PlatformAs(UserId::from(user)))
                }
            };
        }
        user_token(state, secret).await
    }
}

/// Parses and checks a user token: it exists, its secret matches, and it
/// is neither revoked nor expired.
pub async fn user_token(state: &AppState, secret: &str) -> ApiResult<Caller> {
    let invalid = || ApiError::unauthorized("the credential is not valid");
    let (token_id, secret_part) = secret
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|rest| rest.rsplit_once('_'))
        .ok_or_else(invalid)?;
    let token = state
        .store
        .token(&TokenId::from(token_id))
        .await?
        .ok_or_else(invalid)?;
    if !secrets::matches(secret_part, &token.secret_hash) || token.kind == TokenKind::Session {
        return Err(invalid());
    }
    let now = state.now();
    if token.revoked_at.is_some() || token.expires_at.is_some_and(|at| at <= now) {
        return Err(invalid());
    }
    // A token is only as good as its owner's access: it stops at the
    // instant the membership ends, before any job revokes it.
    let snapshot = state.store.snapshot(&token.org_id, None).await?;
    let holds = snapshot
        .as_ref()
        .and_then(|snap| snap.member(&token.user_id))
        .is_some_and(|m| m.is_active() && !m.ia_expired(now));
    if !holds {
        return Err(invalid());
    }
    Ok(Caller::Token {
        token_id: token.id,
        user_id: token.user_id,
        org_id: token.org_id,
    })
}
