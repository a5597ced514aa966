//! Organizations (API.md "Organizations"): who reads, renames, limits and
//! deletes one.

use reqwest::{Method, StatusCode};
use roster_server::views::{OrgSettingsView, OwnerView};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::json;

use crate::common::spawn;
use crate::fixtures::space_world;

on_both_backends!(
    an_organization_is_read_by_its_members_renamed_by_its_owner_limited_by_the_platform_and_deleted_by_its_owner,
);

async fn an_organization_is_read_by_its_members_renamed_by_its_owner_limited_by_the_platform_and_deleted_by_its_owner(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let o = w.o();
    let read = app.get_org(&w.org, Some(&w.admin)).await;
    let org = read.ok("an Admin reads the organization");
    assert_eq!((&org.id, org.name.as_str()), (&w.org, "Acme"));
    assert_eq!(
        org.settings,
        OrgSettingsView {
            allow_implementation_admin: false
        }
    );
    assert_eq!(
        org.owner,
        Some(OwnerView {
            user_id: w.owner.clone(),
            email: "owner@acme.test".into()
        })
    );
    assert_eq!(org.seat_limit, None);
    assert!(
        read.body.get("seat_limit").is_some(),
        "an unlimited organization says so, as null: {read:?}"
    );
    app.get_org(&w.org, Some(&w.part)).await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a participant reads the organization",
    );

    let renamed = app
        .patch_org(&w.org, Some(&w.owner), json!({"name": "Acme Coaching"}))
        .await
        .ok("the Owner renames");
    assert_eq!(renamed.name, "Acme Coaching");
    assert_eq!(app.org(&w.org).await.name, "Acme Coaching");
    app.patch_org(&w.org, Some(&w.owner), json!({"seat_limit": 100}))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the Owner sets the seat limit",
        );
    assert_eq!(app.org(&w.org).await.seat_limit, None);
    let limited = app
        .patch_org(&w.org, None, json!({"seat_limit": 10}))
        .await
        .ok("the platform sets the seat limit");
    assert_eq!(limited.seat_limit, Some(10));
    assert_eq!(app.seats(&w.org).await.limit, Some(10));
    app.patch_org(&w.org, Some(&w.part), json!({"name": "Mine"}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden", "a participant renames");

    let owner_secret = app.token(&w.org, &w.owner).await.secret;
    let admin_secret = app.token(&w.org, &w.admin).await.secret;
    app.delete_org(&w.org, Some(&w.admin)).await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "an Admin deletes the organization",
    );
    app.call_with_token(Method::DELETE, &o, &admin_secret, None)
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "an Admin's token deletes the organization",
        );
    app.get_org(&w.org, None).await.ok("still there");
    app.call_with_token(Method::DELETE, &o, &owner_secret, None)
        .await
        .assert_status(StatusCode::NO_CONTENT, "the Owner deletes the organization");
    app.get_org(&w.org, None).await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "a deleted organization",
    );
    app.get_members(&w.org, None, "").await.problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "a deleted organization's members",
    );
    for secret in [&owner_secret, &admin_secret] {
        assert!(
            !app.is_active(secret).await,
            "the org's tokens are inactive"
        );
        app.call_with_token(Method::GET, &format!("{o}/members"), secret, None)
            .await
            .assert_status(
                StatusCode::UNAUTHORIZED,
                "a token of a deleted organization",
            );
    }
    app.stop().await;
}
