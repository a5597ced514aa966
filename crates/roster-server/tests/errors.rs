//! Every malformed or unauthorized request gets a problem document with the
//! right status and code, and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::KEY;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends! {
    async fn missing_or_invalid_credentials_are_401(app) {
        let url = format!("{}/v1/orgs", app.base);
        let a = common::answer(app.client.post(&url).json(&json!({"name": "x", "owner_email": "a@b.co"})).send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.headers["content-type"], "application/problem+json");
        let a = common::answer(app.client.post(&url).bearer_auth("nope").json(&json!({})).send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let a = common::answer(app.client.post(&url).bearer_auth("rst_tok_x_y").json(&json!({})).send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        app.stop().await;
    }

    async fn malformed_bodies_are_400_validation_failed_naming_the_field(app) {
        let url = format!("{}/v1/orgs", app.base);
        let a = common::answer(app.client.post(&url).bearer_auth(KEY).header("content-type", "application/json").body("{not json").send().await.unwrap()).await;
        assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
        let a = app.post("/v1/orgs", None, json!({"name": "x", "owner_email": "a@b.co", "seat_limit": "ten"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
        assert_eq!(a.body["field"], "seat_limit");
        let a = app.post("/v1/orgs", None, json!({"name": "x", "owner_email": "not an email"})).await;
        assert_eq!(a.body["field"], "owner_email");
        let a = app.post("/v1/orgs", None, json!({"owner_email": "a@b.co"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
        let a = app.post("/v1/orgs", None, json!({"name": "   ", "owner_email": "a@b.co"})).await;
        assert_eq!(a.body["field"], "name");
        app.stop().await;
    }

    async fn wrong_content_type_is_415_and_oversized_bodies_are_413(app) {
        let url = format!("{}/v1/orgs", app.base);
        let a = common::answer(app.client.post(&url).bearer_auth(KEY).header("content-type", "text/plain").body("{}").send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = format!("{{\"name\":\"{}\",\"owner_email\":\"a@b.co\"}}", "x".repeat(1024 * 1024 + 10));
        let a = common::answer(app.client.post(&url).bearer_auth(KEY).header("content-type", "application/json").body(big).send().await.unwrap()).await;
        assert_eq!((a.status, a.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
        app.stop().await;
    }

    async fn unknown_enum_values_and_ids_are_4xx_and_nothing_changes(app) {
        let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
        let before = app.audit(&org).await.len();
        let a = app.patch(&format!("/v1/orgs/{org}/members/{owner}"), Some(&owner), json!({"org_role": "emperor"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
        let a = app.post(&format!("/v1/orgs/{org}/invitations"), Some(&owner), json!({"emails": ["a@b.co"], "role": "wizard"})).await;
        assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
        let a = app.get(&format!("/v1/orgs/{org}/members/usr_missing"), Some(&owner)).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
        let a = app.get("/v1/orgs/org_missing/members", None).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
        let a = app.get(&format!("/v1/orgs/{org}/members?limit=0"), None).await;
        assert_eq!(a.body["field"], "limit");
        let a = app.get(&format!("/v1/orgs/{org}/members?status=sleeping"), None).await;
        assert_eq!(a.body["field"], "status");
        assert_eq!(app.audit(&org).await.len(), before);
        app.stop().await;
    }

    async fn a_token_of_another_organization_sees_404(app) {
        let (org_a, owner_a) = app.create_org("A", "owner@a.test", None).await;
        let (org_b, _) = app.create_org("B", "owner@b.test", None).await;
        let t = app.post(&format!("/v1/orgs/{org_a}/tokens"), Some(&owner_a), json!({"kind": "api", "name": "ci"})).await;
        assert_eq!(t.status, StatusCode::CREATED, "{:?}", t.body);
        let secret = t.body["secret"].as_str().unwrap();
        let a = app.call_with_token(reqwest::Method::GET, &format!("/v1/orgs/{org_b}/members"), secret, None).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
        let a = app.call_with_token(reqwest::Method::GET, &format!("/v1/orgs/{org_a}/members"), secret, None).await;
        assert_eq!(a.status, StatusCode::OK);
        let a = app.call_with_token(reqwest::Method::POST, "/v1/orgs", secret, Some(json!({"name": "x", "owner_email": "x@y.co"}))).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "forbidden"));
        app.stop().await;
    }

    async fn request_ids_are_echoed(app) {
        let a = common::answer(app.client.get(format!("{}/healthz", app.base)).header("X-Request-ID", "req-123").send().await.unwrap()).await;
        assert_eq!(a.headers["x-request-id"], "req-123");
        let a = common::answer(app.client.get(format!("{}/nowhere", app.base)).send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert!(a.headers.contains_key("x-request-id"));
        app.stop().await;
    }
}
