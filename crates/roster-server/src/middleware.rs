//! What every request goes through: a request id in and out, refusals that
//! come before any handler (control characters, foreign form posts), the
//! dev clock, one log line and the request metrics.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use pin_project_lite::pin_project;
use rand::RngCore;
use tower::{Layer, Service};

use crate::app::RequestId;
use crate::error::ApiError;
use crate::extract::too_large;
use crate::state::AppState;

/// The request's id, also set on the request for the handlers: a client's
/// `X-Request-ID` when it is printable ASCII of at most 128 characters
/// (API.md), else a fresh one.
fn request_id(req: &mut Request) -> HeaderValue {
    let usable = req.headers().get(&RequestId::HEADER).filter(|v| {
        let bytes = v.as_bytes();
        !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(|c| (0x21..=0x7e).contains(c))
    });
    if let Some(id) = usable {
        return id.clone();
    }
    let id = new_request_id();
    req.headers_mut().insert(RequestId::HEADER, id.clone());
    id
}

/// A fresh UUIDv7 (time-ordered), its random bits from the thread's
/// generator rather than a system call per request.
fn new_request_id() -> HeaderValue {
    let mut random = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut random);
    let millis = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(u64::MAX);
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid.hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Paths and query strings never carry control characters (a NUL would
/// reach the database as text), as bytes or percent-encoded: refused before
/// any handler runs.
fn control_characters_in_url(req: &Request) -> Option<ApiError> {
    let uri = req.uri();
    let found = has_control_character(uri.path().as_bytes())
        || uri
            .query()
            .is_some_and(|q| has_control_character(q.as_bytes()));
    found.then(|| {
        ApiError::invalid(
            "url",
            "the path and query must not contain control characters",
        )
    })
}

/// Whether the text, percent-decoded, holds a control character: C0, DEL,
/// or C1 (U+0080–U+009F, UTF-8 `C2 80`–`C2 9F`). Reads in place.
fn has_control_character(text: &[u8]) -> bool {
    let mut previous = 0u8;
    for byte in (Decoded { text, at: 0 }) {
        if byte < 0x20 || byte == 0x7f || (previous == 0xc2 && (0x80..=0x9f).contains(&byte)) {
            return true;
        }
        previous = byte;
    }
    false
}

/// The bytes of percent-encoded text, decoded one at a time (a `%` not
/// followed by two hex digits stands for itself).
struct Decoded<'a> {
    text: &'a [u8],
    at: usize,
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let byte = *self.text.get(self.at)?;
        let hex = |i: usize| self.text.get(i).and_then(|b| (*b as char).to_digit(16));
        if byte == b'%' {
            if let (Some(hi), Some(lo)) = (hex(self.at + 1), hex(self.at + 2)) {
                self.at += 3;
                return Some((hi * 16 + lo) as u8);
            }
        }
        self.at += 1;
        Some(byte)
    }
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

/// What every request goes through, as a layer of its own (no boxed
/// future or boxed inner service per request, unlike `from_fn`).
#[derive(Clone)]
pub struct AroundRequestLayer(pub AppState);

impl<S> Layer<S> for AroundRequestLayer {
    type Service = AroundRequest<S>;

    fn layer(&self, inner: S) -> AroundRequest<S> {
        AroundRequest {
            app: self.0.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct AroundRequest<S> {
    app: AppState,
    inner: S,
}

type Boxed = BoxFuture<'static, Result<Response, Infallible>>;

impl<S> Service<Request> for AroundRequest<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answered<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Answered<S::Future> {
        let started = Instant::now();
        let id = request_id(&mut req);
        if let Some(refused) =
            control_characters_in_url(&req).or_else(|| foreign_form_post(&self.app, &req))
        {
            let mut response = refused.into_response();
            response.headers_mut().insert(RequestId::HEADER, id);
            return Answered {
                inner: Either::Right(Box::pin(std::future::ready(Ok(response)))),
                finish: None,
            };
        }
        let finish = Finish {
            app: self.app.clone(),
            started,
            id,
            method: method_label(req.method()),
            route: req.extensions().get::<MatchedPath>().cloned(),
        };
        let inner = if self.app.clock.is_dev() {
            // The service that was made ready answers; a clone stays here.
            let ready = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, ready);
            let app = self.app.clone();
            let after_clock: Boxed = Box::pin(async move {
                if let Err(e) = app.clock.refresh(&app.store).await {
                    tracing::warn!(error = %e, "could not read the dev clock");
                }
                inner.call(req).await
            });
            Either::Right(after_clock)
        } else {
            Either::Left(self.inner.call(req))
        };
        Answered {
            inner,
            finish: Some(finish),
        }
    }
}

pin_project! {
    /// The handler's answer, finished on its way out.
    pub struct Answered<F> {
        #[pin]
        inner: Either<F, Boxed>,
        finish: Option<Finish>,
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for Answered<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = ready!(this.inner.poll(cx));
        if let Some(finish) = this.finish.take() {
            finish.apply(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}

/// What is done with every answer: the request id on it, a problem for a
/// body refused before any handler, one log line and the metrics.
struct Finish {
    app: AppState,
    started: Instant,
    id: HeaderValue,
    method: &'static str,
    route: Option<MatchedPath>,
}

impl Finish {
    fn apply(self, response: &mut Response) {
        // A body over the limit may be refused by the layer before a handler sees it.
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE
            && response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_none_or(|v| v != "application/problem+json")
        {
            *response = too_large().into_response();
        }
        let route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        let status = response.status().as_u16();
        let seconds = self.started.elapsed().as_secs_f64();
        let method = self.method;
        self.app
            .metrics
            .record_request(method, route, status, seconds);
        tracing::info!(request_id = ?self.id, %method, %route, status, ms = seconds * 1000.0, "request");
        response.headers_mut().insert(RequestId::HEADER, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::has_control_character;

    #[test]
    fn control_characters_are_found_raw_and_percent_encoded_and_nothing_else_is() {
        for bad in [
            "%00", "a%0Ab", "%7f", "%C2%85", "%c2%9F", "x\u{1}y", "%1F%41",
        ] {
            assert!(has_control_character(bad.as_bytes()), "{bad}");
        }
        for fine in [
            "",
            "/v1/orgs",
            "caf%C3%A9",
            "%C2%A0",
            "%",
            "%2",
            "%zz",
            "100%25",
            "a+b",
        ] {
            assert!(!has_control_character(fine.as_bytes()), "{fine}");
        }
    }
}
