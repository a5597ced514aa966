//! Tokens and introspection (API.md "Tokens"): who lists and revokes
//! whose, expiry, and revocation that lasts.

use reqwest::{Method, StatusCode};
use roster_core::{TokenId, TokenKind};
use roster_server::views::{InactiveToken, IntrospectionView, Page, TokenView};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::json;

use crate::common::{send, spawn, KEY};
use crate::fixtures::{sorted, space_world};

on_both_backends!(
    people_list_and_revoke_their_own_tokens_and_admins_anyones_and_introspection_follows,
    tokens_expire_on_time_and_stay_revoked_after_reactivation_or_rejoining,
);

fn ids(page: &Page<TokenView>) -> Vec<TokenId> {
    sorted(page.items.iter().map(|t| t.id.clone()).collect())
}

async fn people_list_and_revoke_their_own_tokens_and_admins_anyones_and_introspection_follows(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let o = w.o();
    let part_token = app.token(&w.org, &w.part).await;
    let part_token2 = app.token(&w.org, &w.part).await;
    let fac_token = app.token(&w.org, &w.fac).await;
    let pa_token = app.token(&w.org, &w.pa).await;

    let listed = app.get_tokens(&w.org, Some(&w.part), "").await;
    let page = listed.ok("a participant lists its tokens");
    assert_eq!(
        ids(&page),
        sorted(vec![part_token.id.clone(), part_token2.id.clone()]),
        "only its own"
    );
    let secret_end = &part_token.secret[part_token.secret.len() - 8..];
    assert!(!listed.text.contains(secret_end), "no secret is listed");
    app.get_tokens(&w.org, Some(&w.part), &format!("?user_id={}", w.part))
        .await
        .ok("its own, by user_id");
    app.get_tokens(&w.org, Some(&w.part), &format!("?user_id={}", w.fac))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a participant lists someone else's tokens",
        );
    app.call_with_token(
        Method::GET,
        &format!("{o}/tokens?user_id={}", w.fac),
        &pa_token.secret,
        None,
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a Program Admin's token lists someone else's tokens",
    );
    let page = app
        .get_tokens(&w.org, Some(&w.admin), &format!("?user_id={}", w.part))
        .await
        .ok("an Admin lists a participant's tokens");
    assert_eq!(
        ids(&page),
        sorted(vec![part_token.id.clone(), part_token2.id.clone()])
    );
    assert!(page.items.iter().all(|t| t.user_id == w.part), "{page:?}");

    // Revoking one's own token makes it inactive at once.
    let introspected = app.post_introspect(KEY, &part_token.secret).await;
    let IntrospectionView::Active(active) = introspected.ok("introspect") else {
        panic!("a new token is active: {introspected:?}")
    };
    assert_eq!(
        (active.active, &active.sub, &active.org_id, active.kind),
        (true, &w.part, &w.org, TokenKind::Api),
        "{active:?}"
    );
    assert!(
        introspected.body.get("exp").is_some(),
        "`exp` is there, null for a token that does not expire: {introspected:?}"
    );
    app.call_with_token(
        Method::DELETE,
        &format!("{o}/tokens/{}", part_token.id),
        &part_token.secret,
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT, "revoke its own token with it");
    assert!(!app.is_active(&part_token.secret).await);
    app.call_with_token(
        Method::GET,
        &format!("{o}/tokens"),
        &part_token.secret,
        None,
    )
    .await
    .assert_status(StatusCode::UNAUTHORIZED, "a revoked token is no credential");
    // A participant cannot revoke another's token; an Admin can.
    app.delete_token(&w.org, &fac_token.id, Some(&w.part))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a participant revokes a Facilitator's token",
        );
    assert!(app.is_active(&fac_token.secret).await);
    app.delete_token(&w.org, &fac_token.id, Some(&w.admin))
        .await
        .ok("an Admin revokes a Facilitator's token");
    assert!(!app.is_active(&fac_token.secret).await);
    app.delete_token(&w.org, &TokenId::from("tok_missing"), Some(&w.admin))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found", "an unknown token");
    let listed = app
        .get_tokens(&w.org, Some(&w.admin), &format!("?user_id={}", w.fac))
        .await
        .ok("an Admin lists the Facilitator's tokens");
    assert!(listed.items[0].revoked_at.is_some(), "{listed:?}");

    // Deactivating the owner of a token makes it inactive.
    assert!(app.is_active(&part_token2.secret).await);
    app.deactivate(&w.org, &w.part, Some(&w.owner))
        .await
        .ok("deactivate the participant");
    assert!(!app.is_active(&part_token2.secret).await);
    let unknown = app.post_introspect(KEY, "rst_tok_nothing_here").await;
    assert_eq!(
        unknown.ok("introspect an unknown token"),
        IntrospectionView::Inactive(InactiveToken { active: false })
    );
    assert_eq!(
        unknown.body,
        json!({"active": false}),
        "nothing but `active` for a token that is not active"
    );

    // Introspection: the platform key, as a form.
    app.post_introspect(&pa_token.secret, &pa_token.secret)
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "introspection with a user token",
        );
    let acting = app
        .request(Method::POST, "/v1/introspect")
        .bearer_auth(KEY)
        .header("X-Roster-Actor", w.owner.as_str())
        .form(&[("token", pa_token.secret.as_str())]);
    send(acting).await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "introspection acting as a user",
    );
    let as_json = app
        .request(Method::POST, "/v1/introspect")
        .bearer_auth(KEY)
        .json(&json!({"token": pa_token.secret}));
    send(as_json)
        .await
        .assert_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, "introspection as JSON");
    let anonymous = app
        .request(Method::POST, "/v1/introspect")
        .form(&[("token", pa_token.secret.as_str())]);
    send(anonymous).await.assert_status(
        StatusCode::UNAUTHORIZED,
        "introspection without a credential",
    );
    assert!(app.is_active(&pa_token.secret).await);
    app.stop().await;
}

async fn tokens_expire_on_time_and_stay_revoked_after_reactivation_or_rejoining(db: TestDb) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let o = w.o();
    // A token with an expiry: `exp` says when, and then it is over.
    let probe = app
        .post_token(
            &w.org,
            Some(&w.fac),
            json!({"kind": "oauth", "name": "probe"}),
        )
        .await
        .ok("a token without an expiry");
    assert_eq!(probe.expires_at, None);
    let now: chrono::DateTime<chrono::Utc> = probe.created_at.parse().unwrap();
    let expires = now + chrono::Duration::hours(1);
    let short = app
        .post_token(
            &w.org,
            Some(&w.fac),
            json!({"kind": "mcp", "name": "short", "expires_at": expires.to_rfc3339()}),
        )
        .await
        .ok("a token with an expiry");
    let IntrospectionView::Active(active) = app.introspect(&short.secret).await else {
        panic!("a new token is active")
    };
    assert_eq!(
        (active.kind, active.exp),
        (TokenKind::Mcp, Some(expires.timestamp())),
        "{active:?}"
    );
    let past = (now - chrono::Duration::hours(1)).to_rfc3339();
    app.post_token(
        &w.org,
        Some(&w.fac),
        json!({"kind": "api", "name": "past", "expires_at": past}),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "an expiry in the past",
    );
    app.post_token(&w.org, Some(&w.fac), json!({"kind": "ssh", "name": "nope"}))
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an unknown kind",
        );
    app.advance(7_200).await;
    assert!(!app.is_active(&short.secret).await, "expired");
    app.call_with_token(Method::GET, &format!("{o}/tokens"), &short.secret, None)
        .await
        .assert_status(
            StatusCode::UNAUTHORIZED,
            "an expired token is no credential",
        );

    // Deactivation revokes: reactivation does not bring tokens back.
    let part_secret = app.token(&w.org, &w.part).await.secret;
    app.deactivate(&w.org, &w.part, Some(&w.owner))
        .await
        .ok("deactivate");
    app.reactivate(&w.org, &w.part, Some(&w.owner))
        .await
        .ok("reactivate");
    assert!(
        !app.is_active(&part_secret).await,
        "SPEC §7: deactivation revokes tokens, for good"
    );
    app.call_with_token(Method::GET, &format!("{o}/tokens"), &part_secret, None)
        .await
        .assert_status(
            StatusCode::UNAUTHORIZED,
            "a token revoked by deactivation is no credential",
        );

    // Removal revokes: coming back through a new invitation does not either.
    let other_secret = app.token(&w.org, &w.other).await.secret;
    app.delete_member(&w.org, &w.other, Some(&w.owner))
        .await
        .ok("remove");
    assert!(!app.is_active(&other_secret).await);
    let back = app
        .add_member(
            &w.org,
            &w.owner,
            "other@acme.test",
            "participant",
            &[&w.s2],
            None,
        )
        .await;
    assert_eq!(back, w.other, "the account stays");
    assert!(
        !app.is_active(&other_secret).await,
        "SPEC §7: removal revokes tokens, for good"
    );
    app.stop().await;
}
