//! Request parsing at the edge: JSON bodies, query strings, request ids.
//! Anything malformed becomes a 4xx problem naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

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
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
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
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the body is larger than 1 MiB",
    )
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let message = e.inner().to_string();
        let field = field_of(&e.path().to_string(), &message);
        ApiError::invalid(&field, format!("{field}: {message}"))
    })?;
    de.end()
        .map_err(|e| ApiError::invalid("body", format!("body: {e}")))?;
    Ok(value)
}

/// The field a problem names: the path to the bad value, or the missing
/// field's name, or `body` for JSON that does not parse at all.
fn field_of(path: &str, message: &str) -> String {
    let at_top = path.is_empty() || path == "." || path == "?";
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (at_top, missing) {
        (true, Some(name)) => name.to_owned(),
        (true, None) => "body".to_owned(),
        (false, Some(name)) => format!("{path}.{name}"),
        (false, None) => path.to_owned(),
    }
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

/// The request id: the caller's `X-Request-ID` when sensible, else a new one.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::now_v7().to_string())))
    }
}

/// Pagination parameters shared by every list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Page {
    pub cursor: Option<String>,
    /// Kept as text: query structs flatten `Page`, and flattened fields
    /// reach serde as strings.
    pub limit: Option<String>,
}

impl Page {
    pub const DEFAULT: u32 = 50;
    pub const MAX: u32 = 500;

    /// The cursor, which is the id (`<prefix>_<32 hex>`) of the last row of
    /// the previous page; anything else is refused.
    pub fn cursor(&self, prefix: &str) -> Result<Option<&str>, ApiError> {
        checked_cursor("cursor", self.cursor.as_deref(), prefix)
    }

    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.as_deref().map(str::parse::<u32>) {
            None => Ok(Self::DEFAULT as usize),
            Some(Ok(l)) if (1..=Self::MAX).contains(&l) => Ok(l as usize),
            Some(_) => Err(ApiError::invalid(
                "limit",
                format!("limit must be a number from 1 to {}", Self::MAX),
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

/// One page of `rows` (fetched with one extra to know whether more follow)
/// and the cursor of the next page: the key of the page's last row.
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let next = (rows.len() > limit).then(|| key(&rows[limit - 1]));
    rows.truncate(limit);
    (rows, next)
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
