//! Every malformed or unauthorized request gets a problem document with the
//! right status and code, and changes nothing.

use reqwest::{Method, StatusCode};
use roster_core::{OrgId, UserId};
use roster_server::error::Problem;
use roster_server::views::{MemberView, Page};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::json;

use crate::common::{send, spawn};

on_both_backends!(
    missing_or_invalid_credentials_are_401,
    malformed_bodies_are_400_validation_failed_naming_the_field,
    wrong_content_type_is_415_and_oversized_bodies_are_413,
    unknown_enum_values_and_ids_are_4xx_and_nothing_changes,
    a_token_of_another_organization_sees_404,
    request_ids_are_echoed,
);

async fn missing_or_invalid_credentials_are_401(db: TestDb) {
    let app = spawn(db).await;
    let create = |credential: Option<&str>| {
        let request = app
            .request(Method::POST, "/v1/orgs")
            .json(&json!({"name": "x", "owner_email": "a@b.co"}));
        match credential {
            Some(credential) => request.bearer_auth(credential),
            None => request,
        }
    };
    let a = send(create(None)).await;
    let p: Problem = a.read(StatusCode::UNAUTHORIZED, "no credential");
    assert_eq!(p.status, 401);
    assert_eq!(a.header("content-type"), "application/problem+json");
    for credential in ["nope", "rst_tok_x_y"] {
        let _: Problem = send(create(Some(credential)))
            .await
            .read(StatusCode::UNAUTHORIZED, credential);
    }
    app.stop().await;
}

async fn malformed_bodies_are_400_validation_failed_naming_the_field(db: TestDb) {
    let app = spawn(db).await;
    let not_json = app
        .platform(Method::POST, "/v1/orgs", None)
        .header("content-type", "application/json")
        .body("{not json");
    send(not_json).await.problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "a body that is not JSON",
    );
    let p = app
        .post_org(json!({"name": "x", "owner_email": "a@b.co", "seat_limit": "ten"}))
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "a seat limit that is not a number",
        );
    assert_eq!(p.field.as_deref(), Some("seat_limit"));
    let p = app
        .post_org(json!({"name": "x", "owner_email": "not an email"}))
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an owner_email that is not an address",
        );
    assert_eq!(p.field.as_deref(), Some("owner_email"));
    app.post_org(json!({"owner_email": "a@b.co"}))
        .await
        .problem(StatusCode::BAD_REQUEST, "validation_failed", "no name");
    let p = app
        .post_org(json!({"name": "   ", "owner_email": "a@b.co"}))
        .await
        .problem(StatusCode::BAD_REQUEST, "validation_failed", "a blank name");
    assert_eq!(p.field.as_deref(), Some("name"));
    app.stop().await;
}

async fn wrong_content_type_is_415_and_oversized_bodies_are_413(db: TestDb) {
    let app = spawn(db).await;
    let as_text = app
        .platform(Method::POST, "/v1/orgs", None)
        .header("content-type", "text/plain")
        .body("{}");
    send(as_text)
        .await
        .assert_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, "a body as text/plain");
    let big = format!(
        "{{\"name\":\"{}\",\"owner_email\":\"a@b.co\"}}",
        "x".repeat(1024 * 1024 + 10)
    );
    let oversized = app
        .platform(Method::POST, "/v1/orgs", None)
        .header("content-type", "application/json")
        .body(big);
    send(oversized).await.problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "a body above 1 MiB",
    );
    app.stop().await;
}

async fn unknown_enum_values_and_ids_are_4xx_and_nothing_changes(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let before = app.audit(&org).await.len();
    app.patch_member(&org, &owner, Some(&owner), json!({"org_role": "emperor"}))
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an unknown org role",
        );
    app.post_invitations(
        &org,
        Some(&owner),
        json!({"emails": ["a@b.co"], "role": "wizard"}),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "an unknown role",
    );
    app.get_member(&org, &UserId::from("usr_missing"), Some(&owner))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found", "an unknown member");
    app.get_members(&OrgId::from("org_missing"), None, "")
        .await
        .problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "an unknown organization",
        );
    let p = app.get_members(&org, None, "?limit=0").await.problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "limit 0",
    );
    assert_eq!(p.field.as_deref(), Some("limit"));
    let p = app
        .get_members(&org, None, "?status=sleeping")
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an unknown status",
        );
    assert_eq!(p.field.as_deref(), Some("status"));
    assert_eq!(app.audit(&org).await.len(), before);
    app.stop().await;
}

async fn a_token_of_another_organization_sees_404(db: TestDb) {
    let app = spawn(db).await;
    let (org_a, owner_a) = app.create_org("A", "owner@a.test", None).await;
    let (org_b, _) = app.create_org("B", "owner@b.test", None).await;
    let secret = app
        .post_token(&org_a, Some(&owner_a), json!({"kind": "api", "name": "ci"}))
        .await
        .ok("a token of A")
        .secret;
    app.call_with_token(
        Method::GET,
        &format!("/v1/orgs/{org_b}/members"),
        &secret,
        None,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not_found", "B's members");
    let _: Page<MemberView> = app
        .call_with_token(
            Method::GET,
            &format!("/v1/orgs/{org_a}/members"),
            &secret,
            None,
        )
        .await
        .read(StatusCode::OK, "A's members");
    app.call_with_token(
        Method::POST,
        "/v1/orgs",
        &secret,
        Some(json!({"name": "x", "owner_email": "x@y.co"})),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a token creates an organization",
    );
    app.stop().await;
}

async fn request_ids_are_echoed(db: TestDb) {
    let app = spawn(db).await;
    let a = send(
        app.request(Method::GET, "/healthz")
            .header("X-Request-ID", "req-123"),
    )
    .await;
    assert_eq!(a.header("x-request-id"), "req-123");
    let a = app.anonymous(Method::GET, "/nowhere").await;
    a.assert_status(StatusCode::NOT_FOUND, "a path that is not there");
    assert!(a.headers.contains_key("x-request-id"));
    app.stop().await;
}
