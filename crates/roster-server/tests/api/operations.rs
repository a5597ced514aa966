//! Operations (API.md "Operations"): health, readiness, metrics, the OpenAPI
//! document and its page; every documented route is served; the dev clock
//! only when configured.

use reqwest::{Method, StatusCode};
use roster_server::http::ops::{Health, Readiness};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::json;

use crate::common::{spawn, spawn_with, sqlite};

on_both_backends!(health_readiness_metrics_openapi_and_docs_answer);

/// Every path (with its methods) that API.md names.
const API_MD_PATHS: &[(&str, &[&str])] = &[
    ("/v1/orgs", &["post"]),
    ("/v1/orgs/{org}", &["get", "patch", "delete"]),
    (
        "/v1/orgs/{org}/implementation-admin-domains",
        &["put", "get"],
    ),
    ("/v1/orgs/{org}/settings/implementation-admin", &["put"]),
    ("/v1/orgs/{org}/members", &["get"]),
    ("/v1/orgs/{org}/members/{user}", &["get", "patch", "delete"]),
    ("/v1/orgs/{org}/members/{user}/deactivate", &["post"]),
    ("/v1/orgs/{org}/members/{user}/reactivate", &["post"]),
    (
        "/v1/orgs/{org}/members/{user}/remove-implementation-admin",
        &["post"],
    ),
    ("/v1/orgs/{org}/members/bulk", &["post"]),
    ("/v1/orgs/{org}/seats", &["get"]),
    ("/v1/orgs/{org}/members/{user}/capabilities", &["get"]),
    ("/v1/orgs/{org}/spaces", &["post", "get"]),
    ("/v1/orgs/{org}/spaces/{space}", &["get", "patch", "delete"]),
    ("/v1/orgs/{org}/spaces/{space}/members", &["get"]),
    (
        "/v1/orgs/{org}/spaces/{space}/members/{user}",
        &["put", "delete"],
    ),
    ("/v1/orgs/{org}/spaces/{space}/leave", &["post"]),
    (
        "/v1/orgs/{org}/spaces/{space}/notification-recipients",
        &["get"],
    ),
    ("/v1/orgs/{org}/invitations", &["post", "get"]),
    ("/v1/orgs/{org}/invitations/{id}", &["delete"]),
    ("/v1/orgs/{org}/invitations/{id}/resend", &["post"]),
    ("/v1/invitations/accept", &["post"]),
    ("/v1/orgs/{org}/tokens", &["post", "get"]),
    ("/v1/orgs/{org}/tokens/{id}", &["delete"]),
    ("/v1/introspect", &["post"]),
    ("/v1/orgs/{org}/audit", &["get"]),
    ("/v1/orgs/{org}/audit/export", &["get"]),
    ("/v1/orgs/{org}/audit/verify", &["get"]),
    ("/access/v1/evaluation", &["post"]),
    ("/access/v1/evaluations", &["post"]),
    ("/access/v1/search/resource", &["post"]),
    ("/v1/platform/implementation-admins", &["get"]),
    (
        "/v1/platform/implementation-admins/{org}/{user}/review",
        &["post"],
    ),
    ("/v1/dev/clock", &["post"]),
    ("/v1/dev/sweep", &["post"]),
    ("/healthz", &["get"]),
    ("/readyz", &["get"]),
    ("/metrics", &["get"]),
    ("/openapi.json", &["get"]),
    ("/docs", &["get"]),
];

async fn health_readiness_metrics_openapi_and_docs_answer(db: TestDb) {
    let app = spawn(db).await;
    let health: Health = app
        .anonymous(Method::GET, "/healthz")
        .await
        .read(StatusCode::OK, "healthz");
    assert_eq!(health.status, "ok");
    let ready: Readiness = app
        .anonymous(Method::GET, "/readyz")
        .await
        .read(StatusCode::OK, "readyz");
    assert_eq!(
        (ready.status.as_str(), ready.database.as_str()),
        ("ready", "ok")
    );
    // A decision, so that the counters have something to count.
    let (org, owner) = app.create_org("Ops", "owner@ops.test", None).await;
    assert!(
        app.decide(
            &org,
            &owner,
            "members.view",
            json!({"type": "organization", "id": org})
        )
        .await
    );
    let metrics = app.anonymous(Method::GET, "/metrics").await;
    metrics.assert_status(StatusCode::OK, "metrics");
    assert!(
        metrics.text.contains("roster_http_requests_total"),
        "{}",
        metrics.text
    );
    assert!(
        metrics.text.contains("roster_decisions_total"),
        "{}",
        metrics.text
    );

    let document = app.anonymous(Method::GET, "/openapi.json").await;
    document.assert_status(StatusCode::OK, "openapi.json");
    assert_eq!(document.body["openapi"], "3.1.0");
    let mut missing = Vec::new();
    for (path, methods) in API_MD_PATHS {
        for method in *methods {
            if document.body["paths"][*path][*method].is_null() {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "API.md paths missing from /openapi.json: {missing:#?}"
    );

    let docs = app.anonymous(Method::GET, "/docs").await;
    docs.assert_status(StatusCode::OK, "docs");
    let content_type = docs.header("content-type");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = docs.text.to_lowercase();
    assert!(
        html.contains("<html") || html.contains("<!doctype html"),
        "{html}"
    );
    assert!(
        html.contains("/access/v1/evaluation"),
        "the page lists the API"
    );
    app.stop().await;
}

/// Every documented route is served: without credentials it is refused
/// (401), or answered, or its body refused — never "no such route".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_openapi_list_exists_on_the_server() {
    let app = spawn(sqlite().await).await;
    let mut missing = Vec::new();
    let document = roster_server::http::openapi::document();
    let mut routes = Vec::new();
    for (path, item) in &document.paths.paths {
        for (method, op) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ] {
            if op.is_some() {
                routes.push((method, path.clone()));
            }
        }
    }
    for (method, path) in &routes {
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let a = app.anonymous(method.clone(), &concrete).await;
        if matches!(
            a.status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) || a.status.is_server_error()
        {
            missing.push(format!("{method} {path} → {a:?}"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    assert!(routes.len() >= 40, "{} operations documented", routes.len());
    app.stop().await;
}

/// Without `ROSTER_DEV_CLOCK=1` the dev paths do not exist, whoever asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_dev_clock_its_paths_are_404_even_for_the_platform() {
    let app = spawn_with(sqlite().await, |c| c.dev_clock = false).await;
    app.post("/v1/dev/clock", None, json!({"advance_seconds": 86_400}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found", "the dev clock");
    app.post("/v1/dev/sweep", None, json!({})).await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "the dev sweep",
    );
    app.anonymous(Method::POST, "/v1/dev/clock")
        .await
        .assert_status(StatusCode::NOT_FOUND, "the dev clock without a credential");
    // The rest of the API is there.
    let (org, _) = app.create_org("Real", "owner@real.test", None).await;
    app.get_org(&org, None)
        .await
        .ok("the organization is there");
    app.stop().await;
}
