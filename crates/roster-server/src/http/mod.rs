//! The HTTP API of API.md: thin handlers that parse a request into typed
//! values, call one use case of [`crate::app`], and render its answer. The
//! route table and the OpenAPI document come from the same annotations.

pub mod audit;
pub mod decisions;
pub mod events;
pub mod import;
pub mod invitations;
pub mod members;
pub mod openapi;
pub mod ops;
pub mod orgs;
pub mod platform;
pub mod spaces;
pub mod tokens;
pub mod webhooks;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_store::Written;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Problem;
use crate::state::AppState;

pub const REVISION_HEADER: &str = "x-roster-revision";

/// A write's answer: its status, its body (none for 204) and the revision
/// it produced, in `X-Roster-Revision`.
pub struct Answer<T> {
    status: StatusCode,
    revision: i64,
    body: Option<T>,
}

pub fn ok<T>(done: Written<T>) -> Answer<T> {
    Answer {
        status: StatusCode::OK,
        revision: done.revision,
        body: Some(done.value),
    }
}

pub fn created<T>(done: Written<T>) -> Answer<T> {
    Answer {
        status: StatusCode::CREATED,
        ..ok(done)
    }
}

pub fn no_content(revision: i64) -> Answer<()> {
    Answer {
        status: StatusCode::NO_CONTENT,
        revision,
        body: None,
    }
}

impl<T: Serialize> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) if self.status != StatusCode::NO_CONTENT => {
                (self.status, Json(body)).into_response()
            }
            _ => self.status.into_response(),
        };
        if let Ok(value) = HeaderValue::from_str(&self.revision.to_string()) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(REVISION_HEADER), value);
        }
        response
    }
}

/// The errors any operation may answer, as problem documents.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Problems {
    /// `validation_failed`: a body, query or path value that cannot be parsed or breaks its field's rule.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No credential, or one that is not valid.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// `forbidden`: valid, but not allowed.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// `not_found`: unknown, or in another organization.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// A business rule refused (`last_owner`, `seat_limit_reached`, `already_member`, `confirmation_required`, `inherited_access`, …).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// `payload_too_large`: a body above 1 MiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// A body not sent as `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// `domain_not_allowed`, `implementation_admin_disabled`, `webhook_url_not_allowed`.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
}

/// The API's routes and its OpenAPI document, from one table.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(orgs::create))
        .routes(routes!(orgs::get, orgs::patch, orgs::delete))
        .routes(routes!(orgs::put_domains, orgs::get_domains))
        .routes(routes!(orgs::put_ia_setting))
        .routes(routes!(members::list))
        .routes(routes!(members::bulk))
        .routes(routes!(import::import))
        .routes(routes!(members::get, members::patch, members::remove))
        .routes(routes!(members::deactivate))
        .routes(routes!(members::reactivate))
        .routes(routes!(members::remove_implementation_admin))
        .routes(routes!(members::capabilities))
        .routes(routes!(members::sign_in_link))
        .routes(routes!(members::seats))
        .routes(routes!(spaces::create, spaces::list))
        .routes(routes!(spaces::get, spaces::patch, spaces::delete))
        .routes(routes!(spaces::members))
        .routes(routes!(spaces::set_member, spaces::remove_member))
        .routes(routes!(spaces::leave))
        .routes(routes!(spaces::notification_recipients))
        .routes(routes!(invitations::create, invitations::list))
        .routes(routes!(invitations::revoke))
        .routes(routes!(invitations::resend))
        .routes(routes!(invitations::accept))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(tokens::introspect))
        .routes(routes!(audit::list))
        .routes(routes!(audit::export))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::head))
        .routes(routes!(platform::implementation_admins))
        .routes(routes!(platform::review))
        .routes(routes!(decisions::evaluation))
        .routes(routes!(decisions::evaluations))
        .routes(routes!(decisions::search_resource))
        .routes(routes!(decisions::search_subject))
        .routes(routes!(decisions::search_action))
        .routes(routes!(decisions::configuration))
        .routes(routes!(events::org_feed))
        .routes(routes!(events::platform_feed))
        .routes(routes!(events::types))
        .routes(routes!(webhooks::platform_create, webhooks::platform_list))
        .routes(routes!(
            webhooks::platform_get,
            webhooks::platform_patch,
            webhooks::platform_delete
        ))
        .routes(routes!(webhooks::platform_rotate))
        .routes(routes!(webhooks::platform_test))
        .routes(routes!(webhooks::platform_deliveries))
        .routes(routes!(webhooks::platform_retry))
        .routes(routes!(webhooks::org_create, webhooks::org_list))
        .routes(routes!(
            webhooks::org_get,
            webhooks::org_patch,
            webhooks::org_delete
        ))
        .routes(routes!(webhooks::org_rotate))
        .routes(routes!(webhooks::org_test))
        .routes(routes!(webhooks::org_deliveries))
        .routes(routes!(webhooks::org_retry))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi_json))
        .routes(routes!(ops::docs))
}
