//! Signing in to the admin UI (Roster is not an identity provider): a
//! one-time link sent by email, or a link minted by the host platform with
//! its key. Sessions are stored beside tokens (kind `session`); every
//! request re-checks the membership, so a session ends the moment the
//! person is deactivated, removed or their Implementation Admin role
//! expires.

use std::sync::Arc;

use chrono::Duration;
use roster_core::tokens::{
    emailed_sign_in_link, end_session, end_sessions, platform_sign_in_link, start_session,
    LinkState,
};
use roster_core::{
    access, Email, NewToken, OrgId, OrgSnapshot, SessionEnd, SignInLink, Timestamp, TokenId,
    TokenKind, UserId,
};
use roster_store::Written;

use super::{Ctx, RequestId};
use crate::auth::TOKEN_PREFIX;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{self, new_id};
use crate::state::AppState;
use crate::views::{time, SignInLinkView};

pub const LINK_MINUTES: i64 = 15;
pub const SESSION_HOURS: i64 = 12;

/// A signed-in person, their organization as of this request.
pub struct Session {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub token_id: TokenId,
    pub snap: Arc<OrgSnapshot>,
    pub now: Timestamp,
}

/// At most this many links are emailed to one address an hour (SPEC §19);
/// asking for more sends nothing and answers the same.
pub const EMAILS_PER_HOUR: i64 = 5;

/// A fresh link: its secret (for the URL) and what is stored of it.
fn fresh_link(app: &AppState, user: &UserId, emailed: bool) -> (String, SignInLink) {
    let secret = format!("sil_{}", secrets::random_secret());
    let url = format!("{}/ui/sign-in/link?token={secret}", app.config.public_url);
    let link = SignInLink {
        token_hash: secrets::hash(&secret),
        user_id: user.clone(),
        expires_at: app.now() + Duration::minutes(LINK_MINUTES),
        emailed,
    };
    (url, link)
}

impl AppState {
    /// Ends the sessions that ended on their own (past their end, or their
    /// person lost access), each with its `session.ended` entry; answers
    /// how many.
    pub async fn end_finished_sessions(&self) -> ApiResult<usize> {
        let finished = self.store.sessions_to_end(self.now()).await?;
        let mut by_org: Vec<(OrgId, Vec<(UserId, TokenId)>)> = Vec::new();
        for (org, user, session) in finished {
            match by_org.last_mut() {
                Some((last, sessions)) if *last == org => sessions.push((user, session)),
                _ => by_org.push((org, vec![(user, session)])),
            }
        }
        let mut ended = 0;
        for (org, sessions) in by_org {
            self.apply(&org, None, |snap, now| {
                Ok(end_sessions(snap, &sessions, now))
            })
            .await?;
            ended += sessions.len();
        }
        Ok(ended)
    }

    /// Sends one link per organization the address is an active member of,
    /// at most [`EMAILS_PER_HOUR`] an hour. Nothing tells the caller whether
    /// the address is known: the work happens after the answer (and before
    /// the next job run, see [`crate::jobs::run_once`]).
    pub async fn request_sign_in_links(&self, request_id: RequestId, email: Email) {
        let app = self.clone();
        let pending = self.sign_in_pending.clone().read_owned().await;
        tokio::spawn(async move {
            app.send_sign_in_links(&request_id, &email).await;
            drop(pending);
        });
    }

    async fn send_sign_in_links(&self, request_id: &RequestId, email: &Email) {
        // Requests at once for one address would each count the links sent
        // before any of them wrote its own, and pass the limit together.
        let _one_at_a_time = self.sign_in_sends.lock().await;
        let Ok(Some(user)) = self.store.user_by_email(email).await else {
            return;
        };
        let orgs = self
            .store
            .memberships_of(&user.id)
            .await
            .unwrap_or_default();
        for org in orgs {
            let since = self.now() - Duration::hours(1);
            match self.store.emailed_links_since(&user.id, since).await {
                Ok(sent) if sent < EMAILS_PER_HOUR => {}
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "could not count sign-in links");
                    return;
                }
            }
            let (url, link) = fresh_link(self, &user.id, true);
            let sent = self
                .apply(&org.id, Some(request_id), |snap, now| {
                    Ok(emailed_sign_in_link(snap, link, url, now)?)
                })
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = ?e, "could not send a sign-in link");
            }
        }
    }

    /// `POST /v1/orgs/{org}/members/{user}/sign-in-link` (platform key): a
    /// short-lived link for host platforms that embed the UI.
    pub async fn platform_sign_in_link(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        user: &UserId,
    ) -> ApiResult<Written<SignInLinkView>> {
        ctx.caller.require_platform()?;
        let actor = ctx.actor(org)?;
        let (url, link) = fresh_link(self, user, false);
        let view = SignInLinkView {
            url,
            expires_at: time(link.expires_at),
        };
        let revision = self
            .apply(org, Some(&ctx.request_id), |snap, now| {
                Ok(platform_sign_in_link(snap, &actor, link, now)?)
            })
            .await?;
        Ok(Written {
            value: view,
            revision,
        })
    }

    /// Uses up a link and answers the session's cookie value.
    pub async fn start_session(&self, request_id: &RequestId, token: &str) -> ApiResult<String> {
        let invalid = || {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_link",
                "This link is not valid, was already used, or has expired.",
            )
        };
        let hash = secrets::hash(token);
        let stored = self.store.sign_in_link(&hash).await?.ok_or_else(invalid)?;
        let session_id: TokenId = new_id();
        let secret = secrets::random_secret();
        let session = NewToken {
            id: session_id.clone(),
            user_id: stored.user_id.clone(),
            kind: TokenKind::Session,
            name: "admin UI session".into(),
            secret_hash: secrets::hash(&secret),
            expires_at: Some(self.now() + Duration::hours(SESSION_HOURS)),
        };
        let link = LinkState {
            token_hash: hash,
            user_id: stored.user_id,
            expires_at: stored.expires_at,
            used: stored.used,
        };
        self.apply(&stored.org_id, Some(request_id), |snap, now| {
            Ok(start_session(snap, &link, session, now)?)
        })
        .await
        .map_err(|e| match e.status.as_u16() {
            409 => invalid(),
            _ => e,
        })?;
        Ok(format!("{TOKEN_PREFIX}{session_id}_{secret}"))
    }

    /// The session a cookie names, while it is valid and its person holds
    /// access. One presented after its person lost access is ended.
    pub async fn session(&self, cookie: &str) -> Option<Session> {
        let (token_id, secret) = cookie
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|r| r.rsplit_once('_'))?;
        let token = self.store.token(&TokenId::from(token_id)).await.ok()??;
        let now = self.now();
        let valid = token.kind == TokenKind::Session
            && secrets::matches(secret, &token.secret_hash)
            && token.revoked_at.is_none()
            && token.expires_at.is_some_and(|at| at > now);
        if !valid {
            return None;
        }
        let snap = self.store.snapshot(&token.org_id, None).await.ok()??;
        if !access::holds_access(&snap, &token.user_id, now) {
            // It ended with the person's access: say so in the log now.
            let ended = [(token.user_id.clone(), token.id.clone())];
            let recorded = self
                .apply(&token.org_id, None, |snap, now| {
                    Ok(end_sessions(snap, &ended, now))
                })
                .await;
            if let Err(e) = recorded {
                tracing::warn!(error = ?e, "could not end a session");
            }
            return None;
        }
        Some(Session {
            user_id: token.user_id,
            org_id: token.org_id,
            token_id: token.id,
            snap,
            now,
        })
    }

    /// Signing out ends the session (audited).
    pub async fn sign_out(
        &self,
        request_id: &RequestId,
        org: &OrgId,
        user: &UserId,
        session: &TokenId,
    ) -> ApiResult<i64> {
        self.apply(org, Some(request_id), |snap, _| {
            Ok(end_session(snap, user, session, SessionEnd::SignOut))
        })
        .await
    }
}
