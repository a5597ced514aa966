//! Signing in to the admin UI (Roster is not an identity provider): a
//! one-time link sent by email, or a link minted by the host platform with
//! its key. Sessions are user tokens of kind `session` in an HttpOnly,
//! SameSite cookie; every request re-checks the membership, so a session
//! ends the moment the person is deactivated, removed or their
//! Implementation Admin role expires.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::response::Response;
use maud::html;
use roster_core::capabilities::{capabilities, Capabilities};
use roster_core::{
    access, Action, Actor, Email, OrgId, OrgSnapshot, Resource, Timestamp, TokenId, UserId,
};
use serde::Deserialize;

use super::kit;
use crate::app::sessions::{LINK_MINUTES, SESSION_HOURS};
use crate::app::{Ctx, RequestId};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiForm, ClientAddress};
use crate::secrets;
use crate::state::AppState;

pub const COOKIE: &str = "roster_session";

/// The signed-in person, their organization as of this request, and what
/// the Admin Area shows them.
pub struct Viewer {
    pub user_id: UserId,
    pub name: String,
    pub org_id: OrgId,
    pub token_id: TokenId,
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

    pub fn actor(&self) -> Actor {
        Actor::User(self.user_id.clone())
    }

    /// The use cases' context for a form this person sent.
    pub fn ctx(&self, request_id: RequestId) -> Ctx {
        Ctx {
            caller: self.caller(),
            request_id,
        }
    }

    pub fn sees(&self, section: &str) -> bool {
        match section {
            "invitations" => self.may(Action::MembersInvite),
            "programs" => !self.caps.spaces.is_empty() || self.may(Action::SpacesCreate),
            other => self.caps.sections.contains(&other),
        }
    }

    /// An organization action, decided by the core (for showing controls).
    pub fn may(&self, action: Action) -> bool {
        access::allows(
            &self.snap,
            &self.actor(),
            action,
            Resource::Organization,
            self.now,
        )
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
        let raw = cookie_value(&parts.headers, COOKIE).ok_or_else(to_sign_in)?;
        let session = app.session(raw).await.ok_or_else(to_sign_in)?;
        let name = session
            .snap
            .member(&session.user_id)
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let caps = capabilities(&session.snap, &session.user_id, session.now);
        Ok(Viewer {
            csrf: csrf_for(raw),
            user_id: session.user_id,
            name,
            org_id: session.org_id,
            token_id: session.token_id,
            caps,
            now: session.now,
            snap: session.snap,
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
    #[serde(default)]
    email: String,
}

/// Sends one link per organization the address is an active member of.
/// The answer is the same whether or not the address is known.
pub async fn request_link(
    State(app): State<AppState>,
    request_id: RequestId,
    ClientAddress(address): ClientAddress,
    ApiForm(form): ApiForm<SignInForm>,
) -> Response {
    if let Err(seconds) = app.sign_in_requests.check(address) {
        let mut refused = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("too many sign-in requests from this address: try again in {seconds} s"),
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            refused.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return refused;
    }
    if let Ok(email) = Email::parse(&form.email) {
        app.request_sign_in_links(request_id, email).await;
    }
    kit::see_other("/ui/sign-in?sent=1")
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
    ApiForm(form): ApiForm<LinkForm>,
) -> Response {
    match app.start_session(&request_id, form.token.trim()).await {
        Ok(session) => {
            let secure = if app.config.public_url.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                SESSION_HOURS * 3600
            );
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

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiForm(form): ApiForm<CsrfOnly>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    if let Err(e) = app
        .sign_out(
            &request_id,
            &viewer.org_id,
            &viewer.user_id,
            &viewer.token_id,
        )
        .await
    {
        tracing::warn!(error = ?e, "could not end a session");
    }
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
