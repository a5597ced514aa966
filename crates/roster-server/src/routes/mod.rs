//! The HTTP surface: the router, shared helpers, and the middleware that
//! gives every request an id, a clock and a metrics line.

pub mod audit;
pub mod decisions;
pub mod invitations;
pub mod members;
pub mod ops;
pub mod orgs;
pub mod platform;
pub mod spaces;
pub mod tokens;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{too_large, RequestId, MAX_BODY};
use crate::state::AppState;

pub const REVISION_HEADER: &str = "x-roster-revision";
const REQUEST_ID_HEADER: &str = "x-request-id";

/// A write's answer: the status, the body, and the revision it produced.
pub fn with_revision(status: StatusCode, revision: i64, body: Value) -> Response {
    let mut response = if status == StatusCode::NO_CONTENT || body.is_null() {
        status.into_response()
    } else {
        (status, Json(body)).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&revision.to_string()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REVISION_HEADER), value);
    }
    response
}

/// A required, trimmed, reasonably short name.
pub fn require_name(field: &str, value: &str) -> ApiResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if trimmed.chars().count() > 200 {
        return Err(ApiError::invalid(
            field,
            format!("{field} is limited to 200 characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/orgs", post(orgs::create))
        .route(
            "/v1/orgs/{org}",
            get(orgs::get).patch(orgs::patch).delete(orgs::delete),
        )
        .route(
            "/v1/orgs/{org}/implementation-admin-domains",
            put(orgs::put_domains).get(orgs::get_domains),
        )
        .route(
            "/v1/orgs/{org}/settings/implementation-admin",
            put(orgs::put_ia_setting),
        )
        .route("/v1/orgs/{org}/members", get(members::list))
        .route("/v1/orgs/{org}/members/bulk", post(members::bulk))
        .route(
            "/v1/orgs/{org}/members/{user}",
            get(members::get)
                .patch(members::patch)
                .delete(members::remove),
        )
        .route(
            "/v1/orgs/{org}/members/{user}/deactivate",
            post(members::deactivate),
        )
        .route(
            "/v1/orgs/{org}/members/{user}/reactivate",
            post(members::reactivate),
        )
        .route(
            "/v1/orgs/{org}/members/{user}/remove-implementation-admin",
            post(members::remove_implementation_admin),
        )
        .route(
            "/v1/orgs/{org}/members/{user}/capabilities",
            get(members::capabilities_of),
        )
        .route("/v1/orgs/{org}/seats", get(members::seats))
        .route(
            "/v1/orgs/{org}/spaces",
            post(spaces::create).get(spaces::list),
        )
        .route(
            "/v1/orgs/{org}/spaces/{space}",
            get(spaces::get).patch(spaces::patch).delete(spaces::delete),
        )
        .route(
            "/v1/orgs/{org}/spaces/{space}/members",
            get(spaces::members),
        )
        .route(
            "/v1/orgs/{org}/spaces/{space}/members/{user}",
            put(spaces::set_member).delete(spaces::remove_member),
        )
        .route("/v1/orgs/{org}/spaces/{space}/leave", post(spaces::leave))
        .route(
            "/v1/orgs/{org}/spaces/{space}/notification-recipients",
            get(spaces::notification_recipients),
        )
        .route(
            "/v1/orgs/{org}/invitations",
            post(invitations::create).get(invitations::list),
        )
        .route(
            "/v1/orgs/{org}/invitations/{id}",
            axum::routing::delete(invitations::revoke),
        )
        .route(
            "/v1/orgs/{org}/invitations/{id}/resend",
            post(invitations::resend),
        )
        .route("/v1/invitations/accept", post(invitations::accept))
        .route(
            "/v1/orgs/{org}/tokens",
            post(tokens::create).get(tokens::list),
        )
        .route(
            "/v1/orgs/{org}/tokens/{id}",
            axum::routing::delete(tokens::revoke),
        )
        .route("/v1/introspect", post(tokens::introspect))
        .route("/v1/orgs/{org}/audit", get(audit::list))
        .route("/v1/orgs/{org}/audit/export", get(audit::export))
        .route("/v1/orgs/{org}/audit/verify", get(audit::verify))
        .route(
            "/v1/platform/implementation-admins",
            get(platform::implementation_admins),
        )
        .route(
            "/v1/platform/implementation-admins/{org}/{user}/review",
            post(platform::review),
        )
        .route("/access/v1/evaluation", post(decisions::evaluation))
        .route("/access/v1/evaluations", post(decisions::evaluations))
        .route(
            "/access/v1/search/resource",
            post(decisions::search_resource),
        )
        .route(
            "/.well-known/authzen-configuration",
            get(decisions::configuration),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/docs", get(ops::docs))
        .route(
            "/v1/orgs/{org}/members/{user}/sign-in-link",
            post(crate::ui::session::platform_link),
        )
        .merge(crate::ui::routes());
    // The dev clock's paths exist only with ROSTER_DEV_CLOCK=1: otherwise
    // they are 404 for everyone, credentials or not.
    let api = if state.clock.is_dev() {
        api.route("/v1/dev/clock", post(platform::advance_clock))
            .route("/v1/dev/sweep", post(platform::sweep))
            .route("/v1/dev/outbox", get(platform::outbox))
    } else {
        api
    };
    api.fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            around_request,
        ))
        .with_state(state)
}

async fn fallback() -> ApiError {
    ApiError::not_found("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    )
}

/// Paths and query strings never carry control characters (a NUL would
/// reach the database as text): refused before any handler runs.
fn control_characters_in_url(req: &Request) -> Option<ApiError> {
    let uri = req.uri();
    let raw = format!(
        "{}{}",
        uri.path(),
        uri.query().map(|q| format!("?{q}")).unwrap_or_default()
    );
    let decoded = urlencoding::decode(&raw)
        .map(|d| d.into_owned())
        .unwrap_or(raw);
    decoded.chars().any(char::is_control).then(|| {
        ApiError::invalid(
            "url",
            "the path and query must not contain control characters",
        )
    })
}

/// Page forms only come from Roster's own pages: a browser POST whose
/// `Origin` is another site is refused (on top of the forms' CSRF tokens,
/// this also stops signing someone in to an attacker's account).
fn foreign_form_post(app: &AppState, req: &Request) -> Option<ApiError> {
    let path = req.uri().path();
    let form_path = path.starts_with("/ui/") || path == "/invitations/accept";
    if req.method() != axum::http::Method::POST || !form_path {
        return None;
    }
    let origin = req
        .headers()
        .get(axum::http::header::ORIGIN)?
        .to_str()
        .unwrap_or("null");
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let ours = origin == app.config.public_url
        || origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            == Some(host);
    (!ours).then(|| ApiError::forbidden("this form was sent from another site"))
}

/// Methods outside HTTP's usual set share one metrics label, so a client
/// cannot grow the metrics without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Request id in and out, the dev clock, logs and metrics.
async fn around_request(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    if let Some(refused) = control_characters_in_url(&req).or_else(|| foreign_form_post(&app, &req))
    {
        return refused.into_response();
    }
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    if app.clock.is_dev() {
        if let Err(e) = app.clock.refresh(&app.store).await {
            tracing::warn!(error = %e, "could not read the dev clock");
        }
    }
    let mut response = next.run(req).await;
    // A body over the limit may be refused by the layer before a handler sees it.
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_none_or(|v| v != "application/problem+json")
    {
        response = too_large().into_response();
    }
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    app.metrics.record_request(method, &route, status, seconds);
    tracing::info!(request_id = %id, %method, %route, status, ms = seconds * 1000.0, "request");
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    response
}
