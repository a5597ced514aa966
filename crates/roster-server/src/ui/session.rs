//! Signing in to the admin UI (Roster is not an identity provider): a
//! one-time link sent by email, or a link minted by the host platform with
//! its key. Sessions are user tokens of kind `session` in an HttpOnly,
//! SameSite cookie; every request re-checks the membership, so a session
//! ends the moment the person is deactivated, removed or their
//! Implementation Admin role expires.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::Duration;
use maud::html;
use roster_core::capabilities::{capabilities, Capabilities};
use roster_core::manage::authorize;
use roster_core::{Action, OrgSnapshot, Resource, Timestamp};
use roster_store::{AuditActor, NewToken, Row, Write, WriteContext};
use serde::Deserialize;
use serde_json::json;

use super::kit;
use crate::auth::{Caller, TOKEN_PREFIX};
use crate::error::{ApiError, ApiResult};
use crate::extract::RequestId;
use crate::mail;
use crate::routes::with_revision;
use crate::secrets::{self, new_id};
use crate::state::{Acting, AppState};

pub const COOKIE: &str = "roster_session";
const LINK_MINUTES: i64 = 15;
const SESSION_HOURS: i64 = 12;

/// The signed-in person, their organization as of this request, and what
/// the Admin Area shows them.
pub struct Viewer {
    pub user_id: String,
    pub name: String,
    pub org_id: String,
    pub token_id: String,
    pub snap: Arc<OrgSnapshot>,
    pub caps: Capabilities,
    pub now: Timestamp,
    pub csrf: String,
}

impl Viewer {
    pub fn caller(&self) -> Caller {
        Caller::Session {
            token_id: self.token_id.clone(),
            user_id: self.user_id.clone(),
            org_id: self.org_id.clone(),
        }
    }

    pub fn acting(&self) -> Acting {
        Acting::User(self.user_id.clone())
    }

    pub fn sees(&self, section: &str) -> bool {
        match section {
            "invitations" => self.may(Action::MembersInvite),
            "programs" => !self.caps.spaces.is_empty() || self.may(Action::SpacesCreate),
            other => self.caps.sections.contains(&other),
        }
    }

    /// An organization action, decided by the core.
    pub fn may(&self, action: Action) -> bool {
        authorize(
            &self.snap,
            self.acting().core(),
            action,
            Resource::Organization,
            self.now,
        )
        .is_ok()
    }

    pub fn csrf_field(&self) -> maud::Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// Every form posts its CSRF token; a forged form has none that matches.
    pub fn csrf_refusal(&self, submitted: &str) -> Option<Response> {
        kit::csrf_refusal(&self.csrf, submitted)
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn csrf_for(session_secret: &str) -> String {
    secrets::hash(&format!("csrf:{session_secret}"))
}

fn to_sign_in() -> Response {
    kit::see_other("/ui/sign-in?ended=1")
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Viewer, Response> {
        let raw = cookie_value(&parts.headers, COOKIE)
            .ok_or_else(to_sign_in)?
            .to_owned();
        let (token_id, secret) = raw
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|r| r.rsplit_once('_'))
            .ok_or_else(to_sign_in)?;
        let token = app
            .store
            .token(token_id)
            .await
            .ok()
            .flatten()
            .ok_or_else(to_sign_in)?;
        let now = app.now();
        let valid = token.kind == "session"
            && secrets::matches(secret, &token.secret_hash)
            && token.revoked_at.is_none()
            && token.expires_at.is_some_and(|at| at > now);
        if !valid {
            return Err(to_sign_in());
        }
        let snap = app
            .store
            .snapshot(&token.org_id, None)
            .await
            .ok()
            .flatten()
            .ok_or_else(to_sign_in)?;
        let member = snap
            .member(&token.user_id)
            .filter(|m| m.is_active() && !m.ia_expired(now))
            .ok_or_else(to_sign_in)?;
        let name = member.name.clone();
        let caps = capabilities(&snap, &token.user_id, now);
        Ok(Viewer {
            user_id: token.user_id,
            name,
            org_id: token.org_id,
            token_id: token.id,
            caps,
            now,
            csrf: csrf_for(&raw),
            snap,
        })
    }
}

#[derive(Deserialize)]
pub struct SignInQuery {
    ended: Option<String>,
    sent: Option<String>,
}

pub async fn sign_in_page(Query(q): Query<SignInQuery>) -> Response {
    kit::render(kit::bare(
        "Sign in to Roster",
        html! {
            @if q.ended.is_some() { p.notice role="status" { "Your session has ended. Sign in again to continue." } }
            @if q.sent.is_some() {
                p.notice role="status" { "If that address belongs to a member, a sign-in link is on its way. It works once, for " (LINK_MINUTES) " minutes." }
            }
            form method="post" action="/ui/sign-in" {
                label for="email" { "Email address" }
                input #email type="email" name="email" required autocomplete="email";
                p { button type="submit" { "Email me a sign-in link" } }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
}

/// Sends one link per organization the address is an active member of.
/// The answer is the same whether or not the address is known.
pub async fn request_link(
    State(app): State<AppState>,
    request_id: RequestId,
    Form(form): Form<SignInForm>,
) -> Response {
    if let Ok(email) = roster_core::Email::parse(&form.email) {
        if let Ok(Some(user)) = app.store.user_by_email(&email).await {
            for org in app.store.memberships_of(&user.id).await.unwrap_or_default() {
                if let Err(e) = mint_link(&app, &request_id, &org.id, &user.id, true).await {
                    tracing::warn!(error = ?e, "could not send a sign-in link");
                }
            }
        }
    }
    kit::see_other("/ui/sign-in?sent=1")
}

/// Creates a single-use sign-in link (and emails it when asked); answers
/// the URL and when it stops working.
async fn mint_link(
    app: &AppState,
    request_id: &RequestId,
    org: &str,
    user: &str,
    email: bool,
) -> ApiResult<(String, Timestamp, i64)> {
    let secret = format!("sil_{}", secrets::random_secret());
    let url = format!("{}/ui/sign-in/link?token={secret}", app.config.public_url);
    let expires_at = app.now() + Duration::minutes(LINK_MINUTES);
    let acting = Acting::User(user.to_owned());
    let ((), revision) = app
        .write(org, &acting, request_id, |snap, now| {
            let member = snap
                .member(user)
                .filter(|m| m.is_active() && !m.ia_expired(now))
                .ok_or_else(|| ApiError::not_found("member"))?;
            let mut write = Write::new(()).row(Row::SignInLink {
                token_hash: secrets::hash(&secret),
                user_id: user.to_owned(),
                expires_at,
            });
            if email {
                write = write.email(mail::sign_in(
                    &snap.name,
                    member.email.as_str(),
                    &url,
                    expires_at,
                ));
            }
            Ok(write)
        })
        .await?;
    Ok((url, expires_at, revision))
}

/// `POST /v1/orgs/{org}/members/{user}/sign-in-link` (platform key): a
/// short-lived link for host platforms that embed the UI.
pub async fn platform_link(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require_platform()?;
    let (url, expires_at, revision) = mint_link(&app, &request_id, &org, &user, false).await?;
    Ok(with_revision(
        StatusCode::CREATED,
        revision,
        json!({"url": url, "expires_at": crate::views::time(expires_at)}),
    ))
}

#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

/// The link itself only shows a button: mail scanners that open links do
/// not use them up.
pub async fn link_page(Query(q): Query<LinkQuery>) -> Response {
    kit::render(kit::bare(
        "Sign in to Roster",
        html! {
            form method="post" action="/ui/sign-in/link" {
                input type="hidden" name="token" value=(q.token.unwrap_or_default());
                p { button type="submit" { "Continue to Roster" } }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct LinkForm {
    token: String,
}

pub async fn use_link(
    State(app): State<AppState>,
    request_id: RequestId,
    Form(form): Form<LinkForm>,
) -> Response {
    match start_session(&app, &request_id, form.token.trim()).await {
        Ok(cookie) => {
            let mut response = kit::see_other("/ui");
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(e) => kit::render_with(
            e.status,
            kit::bare(
                "This sign-in link cannot be used",
                html! {
                    p.error role="alert" { (e.detail) }
                    p { a href="/ui/sign-in" { "Ask for a new link" } }
                },
            ),
        ),
    }
}

/// Uses up the link and answers the session cookie.
async fn start_session(app: &AppState, request_id: &RequestId, token: &str) -> ApiResult<String> {
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_link",
            "This link is not valid, was already used, or has expired.",
        )
    };
    let hash = secrets::hash(token);
    let link = app.store.sign_in_link(&hash).await?.ok_or_else(invalid)?;
    if link.used || link.expires_at <= app.now() {
        return Err(invalid());
    }
    let session_id = new_id("ses");
    let secret = secrets::random_secret();
    let now = app.now();
    let ctx = WriteContext {
        now,
        actor: AuditActor::user(&link.user_id),
        request_id: Some(request_id.0.clone()),
    };
    app.store
        .write(&link.org_id, &ctx, |snap| {
            snap.member(&link.user_id)
                .filter(|m| m.is_active() && !m.ia_expired(now))
                .ok_or_else(invalid)?;
            Ok::<_, ApiError>(
                Write::new(())
                    .row(Row::UseSignInLink {
                        token_hash: hash.clone(),
                    })
                    .row(Row::CreateToken(NewToken {
                        id: session_id.clone(),
                        user_id: link.user_id.clone(),
                        kind: "session".into(),
                        name: "admin UI session".into(),
                        secret_hash: secrets::hash(&secret),
                        expires_at: Some(now + Duration::hours(SESSION_HOURS)),
                    })),
            )
        })
        .await
        .map_err(|e| match ApiError::from(e) {
            err if err.status == StatusCode::CONFLICT => invalid(),
            err => err,
        })?;
    let secure = if app.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    Ok(format!(
        "{COOKIE}={TOKEN_PREFIX}{session_id}_{secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    ))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let token_id = viewer.token_id.clone();
    let _ = app
        .write(&viewer.org_id, &viewer.acting(), &request_id, |_, _| {
            Ok(Write::new(()).row(Row::RevokeToken {
                token_id: token_id.clone(),
                reason: "signed_out".into(),
            }))
        })
        .await;
    let mut response = kit::see_other("/ui/sign-in");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("roster_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    response
}

/// `/ui`: the first section this person may open.
pub async fn home(viewer: Viewer) -> Response {
    let first = ["users", "programs", "brand_settings", "audit"]
        .into_iter()
        .find(|s| viewer.sees(s));
    match first {
        Some("users") => kit::see_other("/ui/users"),
        Some("programs") => kit::see_other("/ui/spaces"),
        Some("brand_settings") => kit::see_other("/ui/settings"),
        Some("audit") => kit::see_other("/ui/audit"),
        _ => kit::render(kit::page(
            &viewer,
            "",
            "Welcome",
            html! { p { "There is nothing for you to manage here yet." } },
        )),
    }
}
