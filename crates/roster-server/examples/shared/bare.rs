//! The floor Roster's HTTP numbers are compared with: a bare axum server
//! that parses the same AuthZEN evaluation body into typed fields and
//! answers `{"decision":…}` (allowed when the subject asks about its own
//! organization id's first character being even, so the answer depends on
//! the input), plus a bare `/healthz`. No middleware, no state, no store.

use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Subject {
    id: String,
}

#[derive(Deserialize)]
struct ActionName {
    name: String,
}

#[derive(Deserialize)]
struct Properties {
    org_id: Option<String>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    properties: Option<Properties>,
}

#[derive(Deserialize)]
struct Question {
    subject: Subject,
    action: ActionName,
    resource: Resource,
}

#[derive(Serialize)]
struct Answer {
    decision: bool,
}

async fn evaluation(Json(q): Json<Question>) -> Json<Answer> {
    let org = q
        .resource
        .properties
        .and_then(|p| p.org_id)
        .or(q.resource.id)
        .unwrap_or_default();
    let decision = !q.subject.id.is_empty()
        && !q.action.name.is_empty()
        && !q.resource.kind.is_empty()
        && org.len() % 2 == 0;
    Json(Answer { decision })
}

pub fn router() -> Router {
    Router::new()
        .route("/access/v1/evaluation", post(evaluation))
        .route("/healthz", get(|| async { "ok" }))
}
