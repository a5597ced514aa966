//! Every failure as an RFC 9457 problem document with a stable `code`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_core::RuleError;
use roster_store::{StoreError, WriteError};
use serde_json::{json, Map, Value};

/// An RFC 9457 problem document, as the OpenAPI document describes it
/// (the answer itself is built by [`ApiError`]).
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable and snake_case: what clients read.
    pub code: String,
    /// The field a `validation_failed` is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every address of a batch that failed, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<RejectedView>>,
    /// With `domain_not_allowed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    /// With `confirmation_required`: how many people the change affects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affected: Option<usize>,
    /// With `inherited_access`: the org role to change instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_role: Option<roster_core::OrgRole>,
    /// With `seat_limit_reached`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One refused address (or import row) of a request.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RejectedView {
    pub email: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub extra: Map<String, Value>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            extra: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 400 `validation_failed`, naming the field.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", detail)
            .with("field", json!(field))
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; nothing was changed",
        )
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert(
            "type".into(),
            json!(format!("https://roster.dev/problems/{}", self.code)),
        );
        body.insert("title".into(), json!(self.title()));
        body.insert("status".into(), json!(self.status.as_u16()));
        body.insert("detail".into(), json!(self.detail));
        body.insert("code".into(), json!(self.code));
        body.extend(self.extra);
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            Value::Object(body).to_string(),
        )
            .into_response()
    }
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        let status = match &e {
            RuleError::Forbidden(_) | RuleError::ForbiddenAddresses { .. } => StatusCode::FORBIDDEN,
            RuleError::NotFound(_) => StatusCode::NOT_FOUND,
            RuleError::Validation { .. } | RuleError::InvalidEmails { .. } => {
                StatusCode::BAD_REQUEST
            }
            RuleError::DomainNotAllowed { .. } | RuleError::ImplementationAdminDisabled => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RuleError::Rows { code, .. } => match *code {
                "validation_failed" => StatusCode::BAD_REQUEST,
                "forbidden" => StatusCode::FORBIDDEN,
                "not_found" => StatusCode::NOT_FOUND,
                "seat_limit_reached" => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            RuleError::LastOwner
            | RuleError::SeatLimitReached { .. }
            | RuleError::ConfirmationRequired { .. }
            | RuleError::InheritedAccess { .. }
            | RuleError::AlreadyMember { .. }
            | RuleError::Conflict { .. } => StatusCode::CONFLICT,
        };
        let mut err = ApiError::new(status, e.code(), e.to_string());
        if !e.rejected().is_empty() {
            err = err.with("rejected", json!(e.rejected()));
        }
        match e {
            RuleError::Rows { rejected, .. } => err.with("rejected", json!(rejected)),
            RuleError::DomainNotAllowed { allowed, .. } => {
                err.with("allowed_domains", json!(allowed))
            }
            RuleError::ConfirmationRequired { affected } => err.with("affected", json!(affected)),
            RuleError::InheritedAccess { org_role } => {
                err.with("org_role", json!(org_role.as_str()))
            }
            RuleError::SeatLimitReached { limit } => err.with("limit", json!(limit)),
            RuleError::Validation { field, .. } => err.with("field", json!(field)),
            RuleError::InvalidEmails { .. } => err.with("field", json!("emails")),
            _ => err,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Conflict(what) => ApiError::new(StatusCode::CONFLICT, "conflict", what),
            StoreError::RevisionNotAvailable { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "revision_not_available",
                e.to_string(),
            ),
            StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "a concurrent request changed this; try again",
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl<E: Into<ApiError>> From<WriteError<E>> for ApiError {
    fn from(e: WriteError<E>) -> Self {
        match e {
            WriteError::Rule(e) => e.into(),
            WriteError::OrgNotFound => ApiError::not_found("organization"),
            WriteError::Store(e) => e.into(),
        }
    }
}
