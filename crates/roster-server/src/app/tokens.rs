//! Tokens (SPEC §8): people create, list and revoke their own; admins with
//! `tokens.manage` revoke anyone's. Introspection for the host platform.

use roster_core::tokens::{issue_token, revoke_token, TokenRequest, TokenState};
use roster_core::{access, Action, Name, OrgId, Resource, Timestamp, TokenId, TokenKind, UserId};
use roster_store::{Lookups, Written};

use super::{paginate, Ctx, PageRequest};
use crate::auth::{Caller, TOKEN_PREFIX};
use crate::error::{ApiError, ApiResult};
use crate::secrets::{self, new_id};
use crate::state::AppState;
use crate::views::{
    time, ActiveToken, CreatedTokenView, InactiveToken, IntrospectionView, Page, TokenView,
};

impl AppState {
    pub async fn create_token(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        kind: TokenKind,
        name: Name,
        expires_at: Option<Timestamp>,
    ) -> ApiResult<Written<CreatedTokenView>> {
        let actor = ctx.actor(org)?;
        // A token minted with a token lives no longer than the one that minted it.
        let minted_with = match &ctx.caller {
            Caller::Token { token_id, .. } => {
                self.store.token(token_id).await?.and_then(|t| t.expires_at)
            }
            _ => None,
        };
        let id: TokenId = new_id();
        let secret = secrets::random_secret();
        let request = TokenRequest {
            id: id.clone(),
            kind,
            name,
            secret_hash: secrets::hash(&secret),
            expires_at,
            minted_with,
        };
        self.change(
            org,
            Some(&ctx.request_id),
            &Lookups::default(),
            |snap, _, now| {
                let change = issue_token(snap, &actor, request, now)?;
                let created = change.outcomes().iter().find_map(|o| match o {
                    roster_core::Outcome::TokenCreated { token } => Some(CreatedTokenView {
                        id: token.id.clone(),
                        secret: format!("{TOKEN_PREFIX}{}_{secret}", token.id),
                        kind: token.kind,
                        name: token.name.clone(),
                        org_id: org.clone(),
                        user_id: token.user_id.clone(),
                        created_at: time(now),
                        expires_at: token.expires_at.map(time),
                    }),
                    _ => None,
                });
                let created = created.ok_or_else(|| ApiError::internal("no token was made"))?;
                Ok((change, created))
            },
        )
        .await
    }

    /// One person's tokens (their own, or anyone's with `tokens.manage`),
    /// or everyone's for those who manage tokens.
    pub async fn tokens(
        &self,
        caller: &Caller,
        org: &OrgId,
        user: Option<&UserId>,
        page: &PageRequest,
    ) -> ApiResult<Page<TokenView>> {
        let actor = caller.acting_in(org)?;
        let snap = self.snapshot(org, None).await?;
        let now = self.now();
        let manages = access::allows(
            &snap,
            &actor,
            Action::TokensManage,
            Resource::Organization,
            now,
        );
        let user_filter = match user {
            Some(user) => {
                access::authorize_self_or(&snap, &actor, user, Action::TokensManage, now)?;
                Some(user.clone())
            }
            None if manages => None,
            None => {
                access::token_holder(&snap, &actor, now)?;
                actor.user_id().cloned()
            }
        };
        let rows = self
            .store
            .tokens(
                org,
                user_filter.as_ref(),
                page.cursor.as_deref(),
                page.limit as i64 + 1,
            )
            .await?;
        let (rows, next_cursor) = paginate(rows, page.limit, |t| t.id.to_string());
        Ok(Page {
            items: rows.iter().map(TokenView::from).collect(),
            next_cursor,
        })
    }

    pub async fn revoke_token(&self, ctx: &Ctx, org: &OrgId, id: &TokenId) -> ApiResult<i64> {
        let actor = ctx.actor(org)?;
        let lookups = Lookups {
            accounts: Vec::new(),
            token: Some(id.clone()),
        };
        self.change(org, Some(&ctx.request_id), &lookups, |snap, found, now| {
            let token = found
                .token
                .as_ref()
                .ok_or_else(|| ApiError::not_found("token"))?;
            let state = TokenState {
                id: token.id.clone(),
                user_id: token.user_id.clone(),
                kind: token.kind,
                revoked: token.revoked_at.is_some(),
            };
            Ok((revoke_token(snap, &actor, &state, now)?, ()))
        })
        .await
        .map(|done| done.revision)
    }

    /// RFC 7662 introspection (platform key): `active` turns false the
    /// instant the token is revoked or expires, or its owner loses access.
    pub async fn introspect(&self, caller: &Caller, token: &str) -> ApiResult<IntrospectionView> {
        caller.require_platform()?;
        let inactive = IntrospectionView::Inactive(InactiveToken { active: false });
        let Ok(Caller::Token {
            token_id,
            user_id,
            org_id,
        }) = crate::auth::user_token(self, token).await
        else {
            return Ok(inactive);
        };
        let Some(snap) = self.store.snapshot(&org_id, None).await? else {
            return Ok(inactive);
        };
        let now = self.now();
        let Some(member) = snap
            .member(&user_id)
            .filter(|m| m.is_active() && !m.ia_expired(now))
        else {
            return Ok(inactive);
        };
        let Some(record) = self.store.token(&token_id).await? else {
            return Ok(inactive);
        };
        self.metrics.record_decision(true);
        Ok(IntrospectionView::Active(Box::new(ActiveToken {
            active: true,
            sub: user_id,
            org_id,
            kind: record.kind,
            exp: record.expires_at.map(|t| t.timestamp()),
            iat: record.created_at.timestamp(),
            client_id: record.id,
            username: member.email.as_str().to_owned(),
            token_type: "Bearer".into(),
        })))
    }
}
