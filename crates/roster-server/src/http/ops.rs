//! Operations: health, readiness, metrics, the OpenAPI document and its page.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    pub status: String,
    pub database: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)), security(()))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = Readiness),
        (status = 503, body = Problem, content_type = "application/problem+json")),
    security(()))]
pub async fn readyz(State(app): State<AppState>) -> Response {
    if app.store.ping().await {
        Json(Readiness {
            status: "ready".into(),
            database: "ok".into(),
        })
        .into_response()
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the database does not answer",
        )
        .into_response()
    }
}

/// Prometheus metrics (text format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, body = String, content_type = "text/plain")),
    security(()))]
pub async fn metrics(State(app): State<AppState>) -> Response {
    match (
        app.store.pending_deliveries().await,
        app.store.pending_emails().await,
    ) {
        (Ok(webhooks), Ok(email)) => {
            app.metrics.set_queue_depth("webhooks", webhooks);
            app.metrics.set_queue_depth("email", email);
        }
        (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "could not count the queues"),
    }
    app.metrics.set_cache(app.store.cache_stats());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
    security(()))]
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::json(),
    )
        .into_response()
}

/// A page listing every operation.
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)),
    security(()))]
pub async fn docs() -> Html<String> {
    Html(openapi::docs_page())
}
