//! What every request goes through: a request id in and out, refusals that
//! come before any handler (control characters, foreign form posts), the
//! dev clock, one log line and the request metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::error::ApiError;
use crate::extract::too_large;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's `X-Request-ID` is kept when it is printable ASCII of at most
/// 128 characters (API.md); anything else is replaced by a fresh id.
pub fn drop_unusable_request_id(mut req: Request) -> Request {
    let unusable = req.headers().get(&REQUEST_ID).is_some_and(|v| {
        let bytes = v.as_bytes();
        bytes.is_empty() || bytes.len() > 128 || !bytes.iter().all(|c| (0x21..=0x7e).contains(c))
    });
    if unusable {
        req.headers_mut().remove(&REQUEST_ID);
    }
    req
}

/// Fresh request ids: UUIDv7, time-ordered.
#[derive(Clone, Copy, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Uuid::now_v7().to_string();
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
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

/// Page forms only come from Roster's own pages: a browser POST from
/// another site is refused (on top of the forms' CSRF tokens, this also
/// stops signing someone in to an attacker's account). Browsers say where
/// a request comes from in `Sec-Fetch-Site`; pages send no referrer, so a
/// browser's `Origin` on our own forms is `null`, and `Origin` is only
/// asked when `Sec-Fetch-Site` is absent.
fn foreign_form_post(app: &AppState, req: &Request) -> Option<ApiError> {
    let path = req.uri().path();
    let form_path = path.starts_with("/ui/") || path == "/invitations/accept";
    if req.method() != Method::POST || !form_path {
        return None;
    }
    let refused = || Some(ApiError::forbidden("this form was sent from another site"));
    if let Some(site) = req.headers().get("sec-fetch-site") {
        return if site.as_bytes() == b"same-origin" {
            None
        } else {
            refused()
        };
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)?
        .to_str()
        .unwrap_or("null");
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let ours = origin == app.config.public_url
        || origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            == Some(host);
    if ours {
        None
    } else {
        refused()
    }
}

/// Methods outside HTTP's usual set share one metrics label, so a client
/// cannot grow the metrics without bound.
fn method_label(method: &Method) -> &'static str {
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

pub async fn around_request(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    if let Some(refused) = control_characters_in_url(&req).or_else(|| foreign_form_post(&app, &req))
    {
        return refused.into_response();
    }
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
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
            .get(header::CONTENT_TYPE)
            .is_none_or(|v| v != "application/problem+json")
    {
        response = too_large().into_response();
    }
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    app.metrics.record_request(method, &route, status, seconds);
    tracing::info!(request_id = %id, %method, %route, status, ms = seconds * 1000.0, "request");
    response
}
