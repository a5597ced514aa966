//! Operations: health, readiness, metrics, the OpenAPI document and its page.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::openapi;
use crate::state::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(app): State<AppState>) -> Response {
    if app.store.ping().await {
        Json(json!({"status": "ready", "database": "ok"})).into_response()
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the database does not answer",
        )
        .into_response()
    }
}

pub async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

pub async fn openapi(State(app): State<AppState>) -> Json<Value> {
    Json(openapi::document(
        &app.config.public_url,
        app.clock.is_dev(),
    ))
}

pub async fn docs() -> Html<String> {
    Html(openapi::docs_page())
}
