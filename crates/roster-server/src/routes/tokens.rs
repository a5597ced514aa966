//! Tokens (SPEC §8): people create, list and revoke their own; admins with
//! `tokens.manage` revoke anyone's. Introspection for the host platform.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::manage::{self, authorize};
use roster_core::{Action, OrgSnapshot, Resource, Timestamp};
use roster_store::{AuditDraft, NewToken, Row, Write};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Caller, TOKEN_PREFIX};
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate, ApiJson, ApiQuery, Page, RequestId};
use crate::routes::{require_name, with_revision};
use crate::secrets::{self, new_id};
use crate::state::{Acting, AppState};
use crate::views;

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Api,
    Mcp,
    Oauth,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Mcp => "mcp",
            TokenKind::Oauth => "oauth",
        }
    }
}

#[derive(Deserialize)]
pub struct CreateToken {
    kind: TokenKind,
    name: String,
    expires_at: Option<DateTime<Utc>>,
}

fn require_member(snap: &OrgSnapshot, acting: &Acting, now: Timestamp) -> ApiResult<String> {
    Ok(manage::token_holder(snap, acting.core(), now)?.to_owned())
}

pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let name = require_name("name", &body.name)?;
    let now = app.now();
    if body.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::invalid(
            "expires_at",
            "expires_at must be in the future",
        ));
    }
    // A token minted with a token lives no longer than the one that minted it.
    let expires_at = match &caller {
        Caller::Token { token_id, .. } => {
            let parent = app.store.token(token_id).await?.and_then(|t| t.expires_at);
            match (body.expires_at, parent) {
                (Some(asked), Some(limit)) => Some(asked.min(limit)),
                (asked, limit) => asked.or(limit),
            }
        }
        _ => body.expires_at,
    };
    let id = new_id("tok");
    let secret = secrets::random_secret();
    let kind = body.kind.as_str();
    let (user_id, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let user_id = require_member(snap, &acting, now)?;
            Ok(Write::new(user_id.clone())
                .row(Row::CreateToken(NewToken {
                    id: id.clone(),
                    user_id: user_id.clone(),
                    kind: kind.to_owned(),
                    name: name.clone(),
                    secret_hash: secrets::hash(&secret),
                    expires_at,
                }))
                .audit(
                    AuditDraft::new("token.created")
                        .target(&user_id)
                        .details(json!({"token_id": id, "kind": kind, "name": name})),
                ))
        })
        .await?;
    Ok(with_revision(
        StatusCode::CREATED,
        revision,
        json!({
            "id": id,
            "secret": format!("{TOKEN_PREFIX}{id}_{secret}"),
            "kind": kind,
            "name": name,
            "org_id": org,
            "user_id": user_id,
            "created_at": views::time(now),
            "expires_at": views::opt_time(expires_at),
        }),
    ))
}

#[derive(Deserialize)]
pub struct TokenFilter {
    user_id: Option<String>,
    #[serde(flatten)]
    page: Page,
}

pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(filter): ApiQuery<TokenFilter>,
) -> ApiResult<Json<Value>> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    let now = app.now();
    let manages = authorize(
        &snap,
        acting.core(),
        Action::TokensManage,
        Resource::Organization,
        now,
    )
    .is_ok();
    // One person's tokens (their own, or anyone's with tokens.manage), or
    // everyone's for those who manage tokens.
    let user_filter = match filter.user_id.as_deref().filter(|u| !u.is_empty()) {
        Some(user) => {
            manage::authorize_self_or(&snap, acting.core(), user, Action::TokensManage, now)?;
            Some(user.to_owned())
        }
        None if manages => None,
        None => Some(require_member(&snap, &acting, now)?),
    };
    let limit = filter.page.limit()?;
    let rows = app
        .store
        .tokens(
            &org,
            user_filter.as_deref(),
            filter.page.cursor("tok")?,
            limit as i64 + 1,
        )
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |t| t.id.clone());
    let items: Vec<Value> = rows.iter().map(views::token).collect();
    Ok(Json(json!({"items": items, "next_cursor": next_cursor})))
}

pub async fn revoke(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let token = app
        .store
        .token(&id)
        .await?
        .filter(|t| t.org_id == org && t.kind != "session")
        .ok_or_else(|| ApiError::not_found("token"))?;
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            manage::authorize_self_or(
                snap,
                acting.core(),
                &token.user_id,
                Action::TokensManage,
                now,
            )?;
            if token.revoked_at.is_some() {
                return Ok(Write::new(()));
            }
            Ok(Write::new(())
                .row(Row::RevokeToken {
                    token_id: id.clone(),
                    reason: "revoked".into(),
                })
                .audit(
                    AuditDraft::new("token.revoked")
                        .target(&token.user_id)
                        .details(json!({"token_id": id, "kind": token.kind})),
                ))
        })
        .await?;
    Ok(with_revision(StatusCode::NO_CONTENT, revision, Value::Null))
}

/// RFC 7662 introspection (platform key): `active` turns false the instant
/// the token is revoked or expires, or its owner loses access.
pub async fn introspect(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    caller.require_platform()?;
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send token=… as application/x-www-form-urlencoded",
        ));
    }
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid("token", "token is required"))?;
    let inactive = Json(json!({"active": false}));
    let Ok(Caller::Token {
        token_id,
        user_id,
        org_id,
    }) = crate::auth::user_token(&app, &token).await
    else {
        return Ok(inactive);
    };
    let Some(snap) = app.store.snapshot(&org_id, None).await? else {
        return Ok(inactive);
    };
    let now = app.now();
    let Some(member) = snap
        .member(&user_id)
        .filter(|m| m.is_active() && !m.ia_expired(now))
    else {
        return Ok(inactive);
    };
    let Some(record) = app.store.token(&token_id).await? else {
        return Ok(inactive);
    };
    app.metrics.record_decision(true);
    Ok(Json(json!({
        "active": true,
        "sub": user_id,
        "org_id": org_id,
        "kind": record.kind,
        "exp": record.expires_at.map(|t| t.timestamp()),
        "iat": record.created_at.timestamp(),
        "client_id": record.id,
        "username": member.email.as_str(),
        "token_type": "Bearer",
    })))
}
