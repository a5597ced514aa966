//! Request parsing at the edge: JSON bodies, query strings, forms, page
//! parameters, request ids. Anything malformed becomes a 4xx problem
//! naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use roster_core::IdKind;

use crate::app::{Ctx, PageRequest, RequestId};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The largest body Roster reads (API.md: 413 above 1 MiB).
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON body: `application/json`, at most 1 MiB, every field checked.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || mime
                        .len()
                        .checked_sub(5)
                        .and_then(|at| mime.get(at..))
                        .is_some_and(|end| end.eq_ignore_ascii_case("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::invalid("body", rejection.body_text())
            }
        })?;
        crate::json::parse_json(&bytes).map(ApiJson)
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the body is larger than allowed (1 MiB; 16 MiB for an import)",
    )
}

/// A query string, every parameter checked.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                ApiError::invalid(&field, format!("{field}: {}", e.inner()))
            })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// A form body (`application/x-www-form-urlencoded`, repeated keys as
/// lists): the admin UI's forms, and introspection. Refusals are problem
/// documents like every other.
pub struct ApiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum_extra::extract::Form::<T>::from_request(req, state).await {
            Ok(axum_extra::extract::Form(value)) => Ok(ApiForm(value)),
            Err(rejection) => Err(match rejection.status() {
                StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the form as application/x-www-form-urlencoded",
                ),
                StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => ApiError::invalid("form", rejection.body_text()),
            }),
        }
    }
}

/// The request id set by the request-id layer (`X-Request-ID`).
impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let id = parts
            .headers
            .get(RequestId::HEADER)
            .and_then(|id| id.to_str().ok())
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
        Ok(RequestId(id))
    }
}

/// Pagination parameters shared by every list (read beside the list's own
/// filters from the same query string).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 500; 50 when absent.
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The page asked for; a cursor must be an id (`<prefix>_<32 hex>`)
    /// this server gave out.
    pub fn page<I: IdKind>(&self) -> Result<PageRequest, ApiError> {
        let cursor = checked_cursor("cursor", self.cursor.as_deref(), I::PREFIX)?;
        Ok(PageRequest {
            cursor: cursor.map(str::to_owned),
            limit: self.limit()?,
        })
    }

    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(PageRequest::DEFAULT),
            Some(l) if (1..=PageRequest::MAX as u32).contains(&l) => Ok(l as usize),
            Some(_) => Err(ApiError::invalid(
                "limit",
                format!("limit must be a number from 1 to {}", PageRequest::MAX),
            )),
        }
    }
}

/// For partial updates: a missing field is `None`, `null` is `Some(None)`.
/// Use with `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// For query filters: an empty value (`?role=`, as a form sends "any") is
/// no filter. Use with `#[serde(default, deserialize_with = "blank_is_none")]`.
pub fn blank_is_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw = <Option<String> as serde::Deserialize>::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => value.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// An id-shaped cursor (`<prefix>_<32 hex>`), or none when empty.
pub fn checked_cursor<'a>(
    field: &str,
    cursor: Option<&'a str>,
    prefix: &str,
) -> Result<Option<&'a str>, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let valid = cursor
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| {
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    if valid {
        Ok(Some(cursor))
    } else {
        Err(ApiError::invalid(
            field,
            format!("{field} is not one this server gave out"),
        ))
    }
}

/// Path parameters, typed (ids); one that cannot be decoded is a problem
/// document like every other refusal.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::invalid("path", rejection.body_text()))
    }
}

/// Who asks and as which request, for every use case that writes.
impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Ctx {
            caller: Caller::from_request_parts(parts, state).await?,
            request_id: RequestId::from_request_parts(parts, state).await?,
        })
    }
}

/// The client's address as the connection shows it (no proxy header is
/// trusted); `0.0.0.0` when the server was not started with addresses.
pub struct ClientAddress(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<crate::listener::ClientAddr>>()
                .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0 .0.ip()),
        ))
    }
}
