//! The platform operator's page: Implementation Admin domain allowlists and
//! Forever assignments to review. Signed in with the platform key; the
//! session secret is stored only as a hash.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Duration;
use maud::html;
use roster_core::{DomainAllowlist, DomainPattern, OrgId, UserId};
use serde::Deserialize;

use super::kit::{self, error, notice};
use crate::app::{Ctx, RequestId};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiPath};
use crate::secrets;
use crate::state::AppState;

const COOKIE: &str = "roster_platform";

pub struct Operator {
    csrf: String,
    /// Where the session is stored, to end it on sign-out.
    key: String,
}

impl Operator {
    fn csrf_refusal(&self, submitted: &str) -> Option<Response> {
        kit::csrf_refusal(&self.csrf, submitted)
    }
}

fn meta_key(secret: &str) -> String {
    format!("platform_session:{}", secrets::hash(secret))
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Operator, Response> {
        let to_sign_in = || kit::see_other("/ui/platform/sign-in");
        let secret = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)
            .map(|(_, v)| v.to_owned())
            .ok_or_else(to_sign_in)?;
        // A session is good until it expires, and only for the platform key
        // it was opened with: rotating the key ends it.
        let stored = app
            .store
            .meta(&meta_key(&secret))
            .await
            .ok()
            .flatten()
            .ok_or_else(to_sign_in)?;
        let (until, key_hash) = stored.split_once(':').ok_or_else(to_sign_in)?;
        let until: i64 = until.parse().map_err(|_| to_sign_in())?;
        if until <= app.now().timestamp_millis() || key_hash != app.platform_key_hash().await {
            return Err(to_sign_in());
        }
        Ok(Operator {
            csrf: secrets::hash(&format!("csrf:{secret}")),
            key: meta_key(&secret),
        })
    }
}

pub async fn sign_in_page() -> Response {
    kit::render(kit::bare(
        "Platform operator",
        html! {
            form method="post" action="/ui/platform/sign-in" {
                label for="key" { "Platform key" }
                input #key type="password" name="key" required autocomplete="off";
                p { button type="submit" { "Sign in" } }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    key: String,
}

pub async fn sign_in(State(app): State<AppState>, ApiForm(form): ApiForm<KeyForm>) -> Response {
    let key_hash = app.platform_key_hash().await;
    if !secrets::matches(form.key.trim(), &key_hash) {
        return kit::render_with(
            StatusCode::UNAUTHORIZED,
            kit::bare(
                "Platform operator",
                html! {
                    p.error role="alert" { "That is not the platform key." }
                    p { a href="/ui/platform/sign-in" { "Try again" } }
                },
            ),
        );
    }
    let secret = secrets::random_secret();
    let until = (app.now() + Duration::hours(8)).timestamp_millis();
    let value = format!("{until}:{key_hash}");
    if app
        .store
        .set_meta(&meta_key(&secret), &value)
        .await
        .is_err()
    {
        return kit::render_with(
            StatusCode::INTERNAL_SERVER_ERROR,
            kit::bare(
                "Platform operator",
                error(Some("Could not start a session.")),
            ),
        );
    }
    let mut response = kit::see_other("/ui/platform");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/ui/platform; HttpOnly; SameSite=Strict; Max-Age=28800"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    notice: Option<String>,
    error: Option<String>,
}

pub async fn page(
    State(app): State<AppState>,
    operator: Operator,
    Query(q): Query<PageQuery>,
) -> Response {
    let assignments = app
        .store
        .forever_implementation_admins()
        .await
        .unwrap_or_default();
    let now = app.now();
    let csrf = html! { input type="hidden" name="csrf" value=(operator.csrf); };
    kit::render(kit::bare(
        "Platform operator",
        html! {
            (notice(q.notice.as_deref()))
            (error(q.error.as_deref()))
            form method="post" action="/ui/platform/sign-out" {
                (csrf)
                button.link type="submit" { "Sign out" }
            }
            section aria-labelledby="allowlist-heading" {
                h2 #allowlist-heading { "Implementation Admin domain allowlist" }
                form method="post" action="/ui/platform/allowlist" {
                    (csrf)
                    label for="allow-org" { "Organization id" }
                    input #allow-org type="text" name="org_id" required;
                    label for="allow-domains" { "Allowed domains" }
                    p.hint #allow-domains-hint { "One per line or comma separated: example.com, or *.example.com for its subdomains. Replaces the list." }
                    textarea #allow-domains name="domains" aria-describedby="allow-domains-hint" {}
                    p { button type="submit" { "Save allowlist" } }
                }
            }
            section aria-labelledby="forever-heading" {
                h2 #forever-heading { "Forever Implementation Admins to review" }
                @if assignments.is_empty() { p { "None." } } @else {
                    table #forever {
                        thead { tr { th { "Organization" } th { "Email" } th { "Since" } th { "Days" } th { "Last reviewed" } th { span.sr { "Actions" } } } }
                        tbody {
                            @for a in &assignments {
                                tr {
                                    td { (a.org_id) } td { (a.email) } td { (kit::date(a.since)) } td { ((now - a.since).num_days()) }
                                    td { (a.last_reviewed_at.map(kit::date).unwrap_or_else(|| "never".into())) }
                                    td {
                                        form method="post" action={ "/ui/platform/review/" (a.org_id) "/" (a.user_id) } {
                                            (csrf)
                                            button.secondary type="submit" aria-label={ "Record review of " (a.email) } { "Record review" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct AllowlistForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    domains: String,
}

/// The platform acting from its page.
fn platform_ctx(request_id: RequestId) -> Ctx {
    Ctx {
        caller: Caller::Platform,
        request_id,
    }
}

/// A problem shown at the top of the page.
fn show_problem(e: &ApiError) -> Response {
    kit::see_other(&format!(
        "/ui/platform?error={}",
        urlencoding::encode(&e.detail)
    ))
}

pub async fn save_allowlist(
    State(app): State<AppState>,
    request_id: RequestId,
    operator: Operator,
    ApiForm(form): ApiForm<AllowlistForm>,
) -> Response {
    if let Some(refused) = operator.csrf_refusal(&form.csrf) {
        return refused;
    }
    let patterns = roster_core::email::split_email_list(&form.domains)
        .into_iter()
        .map(|entry| {
            DomainPattern::parse(entry)
                .map_err(|e| ApiError::invalid("domains", format!("{entry}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>();
    let org = OrgId::from(form.org_id.trim());
    let saved = match patterns {
        Ok(patterns) => {
            app.set_domains(
                &platform_ctx(request_id),
                &org,
                DomainAllowlist::new(patterns),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => kit::see_other("/ui/platform?notice=Allowlist+saved"),
        Err(e) => show_problem(&e),
    }
}

pub async fn sign_out(
    State(app): State<AppState>,
    operator: Operator,
    ApiForm(form): ApiForm<CsrfForm>,
) -> Response {
    if let Some(refused) = operator.csrf_refusal(&form.csrf) {
        return refused;
    }
    if let Err(e) = app.store.delete_meta(&operator.key).await {
        tracing::warn!(error = %e, "could not end a platform session");
    }
    let mut response = kit::see_other("/ui/platform/sign-in");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "roster_platform=; Path=/ui/platform; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn review(
    State(app): State<AppState>,
    request_id: RequestId,
    operator: Operator,
    ApiPath((org, user)): ApiPath<(OrgId, UserId)>,
    ApiForm(form): ApiForm<CsrfForm>,
) -> Response {
    if let Some(refused) = operator.csrf_refusal(&form.csrf) {
        return refused;
    }
    match app
        .review_forever(&platform_ctx(request_id), &org, &user)
        .await
    {
        Ok(_) => kit::see_other("/ui/platform?notice=Review+recorded"),
        Err(e) => show_problem(&e),
    }
}
