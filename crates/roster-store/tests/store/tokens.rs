//! Credentials: tokens keep only the hash they are given, a write reads the
//! token it acts on under its lock, and a sign-in link is used once.

use roster_core::org::{update_organization, OrgUpdate};
use roster_core::tokens::{
    issue_token, platform_sign_in_link, revoke_token, start_session, LinkState, TokenRequest,
    TokenState,
};
use roster_core::{Actor, AuditAction, NewToken, RuleError, SignInLink, TokenId, TokenKind};
use roster_store::{Lookups, Planned, StoreError, TokenRecord, WriteError};
use roster_testkit::{on_both_backends, TestDb};
use sha2::{Digest, Sha256};
use sqlx::Row as _;

use crate::fixtures::*;

/// The rules' view of a stored token.
fn state(token: &TokenRecord) -> TokenState {
    TokenState {
        id: token.id.clone(),
        user_id: token.user_id.clone(),
        kind: token.kind,
        revoked: token.revoked_at.is_some(),
    }
}

fn looking_up(token: &str) -> Lookups {
    Lookups {
        accounts: Vec::new(),
        token: Some(TokenId::from(token)),
    }
}

on_both_backends!(
    a_new_token_stores_only_the_hash_it_is_given,
    a_write_reads_the_token_it_acts_on_only_in_its_own_organization,
    a_sign_in_link_is_used_once_even_by_two_concurrent_uses,
);

async fn a_new_token_stores_only_the_hash_it_is_given(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    join(&store, "org-1", t0(), "u-alice").await;
    let secret = "rst_api_7f3c9a1be2d44f0c8a6b5e1d2c3b4a59";
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    let expires = at(chrono::Duration::days(30));
    write(&store, "org-1", t0(), &Lookups::default(), |snap, _| {
        let request = TokenRequest {
            id: TokenId::from("tok-1"),
            kind: TokenKind::Api,
            name: name("CI"),
            secret_hash: hash.clone(),
            expires_at: Some(expires),
            minted_with: None,
        };
        let change = issue_token(snap, &Actor::user("u-alice"), request, t0())?;
        let mut planned = audited(change, AuditAction::TokenCreated, Some(&uid("u-alice")));
        planned.audit[0].details = serde_json::json!({"token_id": "tok-1", "kind": "api"});
        Ok(planned)
    })
    .await;

    let token = store.token(&TokenId::from("tok-1")).await.unwrap().unwrap();
    assert_eq!(token.secret_hash, hash, "the hash exactly as given");
    assert_eq!(token.org_id, "org-1");
    assert_eq!(token.user_id, "u-alice");
    assert_eq!(token.kind, TokenKind::Api);
    assert_eq!(token.created_at, t0());
    assert_eq!(token.expires_at, Some(expires));
    assert_eq!(token.revoked_at, None);
    let json = serde_json::to_value(&token).unwrap();
    assert!(json.get("secret_hash").is_none(), "{json}");
    let alices = store
        .tokens(&oid("org-1"), Some(&uid("u-alice")), None, 10)
        .await
        .unwrap();
    assert_eq!(alices.len(), 1);

    // No text anywhere in the database holds the secret, nor any large
    // piece of it: every text column of every table, as the database's
    // catalog lists them (tables added later are covered too).
    let raw = db.raw().await;
    let columns = text_columns(&db, &raw).await;
    assert!(columns.contains(&("tokens".to_owned(), "secret_hash".to_owned())));
    let needle = &secret[8..24];
    let mut hash_seen = 0;
    for (table, column) in &columns {
        let rows = sqlx::query(&format!("SELECT {column} FROM {table}"))
            .fetch_all(&raw)
            .await
            .unwrap();
        for row in &rows {
            if let Some(text) = row.try_get::<Option<String>, _>(0).unwrap() {
                assert!(
                    !text.contains(needle),
                    "{table}.{column} holds the secret: {text}"
                );
                if text == hash {
                    hash_seen += 1;
                }
            }
        }
    }
    assert_eq!(hash_seen, 1, "the hash is stored once, in tokens");

    // Revocation keeps the row, with when and why; the rule reads the
    // token inside the write.
    let revoked_at = at(chrono::Duration::hours(2));
    write(
        &store,
        "org-1",
        revoked_at,
        &looking_up("tok-1"),
        |snap, found| {
            let token = found.token.as_ref().ok_or(RuleError::NotFound("token"))?;
            let change = revoke_token(snap, &Actor::user("u-alice"), &state(token), revoked_at)?;
            Ok(audited(
                change,
                AuditAction::TokenRevoked,
                Some(&uid("u-alice")),
            ))
        },
    )
    .await;
    let token = store.token(&TokenId::from("tok-1")).await.unwrap().unwrap();
    assert_eq!(token.revoked_at, Some(revoked_at));
    assert_eq!(token.revoked_reason.as_deref(), Some("revoked"));
    assert_eq!(token.secret_hash, hash);
    raw.close().await;
}

async fn a_write_reads_the_token_it_acts_on_only_in_its_own_organization(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    new_org(&store, "org-2").await;
    apply(&store, "org-1", t0(), |snap| {
        let request = TokenRequest {
            id: TokenId::from("tok-1"),
            kind: TokenKind::Mcp,
            name: name("assistant"),
            secret_hash: "hash-of-tok-1".to_owned(),
            expires_at: None,
            minted_with: None,
        };
        issue_token(snap, &owner(), request, t0())
    })
    .await;
    let sees = |org: &'static str| {
        let store = store.clone();
        async move {
            write(&store, org, t0(), &looking_up("tok-1"), |snap, found| {
                let nothing = update_organization(snap, &owner(), OrgUpdate::default(), t0())?;
                Ok(Planned::new(
                    nothing,
                    found.token.as_ref().map(|t| t.id.clone()),
                ))
            })
            .await
            .value
        }
    };
    assert_eq!(sees("org-1").await, Some(TokenId::from("tok-1")));
    assert_eq!(
        sees("org-2").await,
        None,
        "another organization's token is not found"
    );
    let missing = write(
        &store,
        "org-1",
        t0(),
        &looking_up("tok-missing"),
        |snap, found| {
            let nothing = update_organization(snap, &owner(), OrgUpdate::default(), t0())?;
            Ok(Planned::new(nothing, found.token.is_some()))
        },
    )
    .await;
    assert!(!missing.value, "no such token");
}

async fn a_sign_in_link_is_used_once_even_by_two_concurrent_uses(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    let expires_at = at(chrono::Duration::minutes(15));
    apply(&store, "org-1", t0(), |snap| {
        let link = SignInLink {
            token_hash: "link-hash".to_owned(),
            user_id: uid(OWNER),
            expires_at,
            emailed: false,
        };
        platform_sign_in_link(snap, &Actor::Platform, link, t0())
    })
    .await;
    let link = store.sign_in_link("link-hash").await.unwrap().unwrap();
    assert_eq!(
        (
            link.org_id.as_str(),
            link.user_id.as_str(),
            link.expires_at,
            link.used
        ),
        ("org-1", OWNER, expires_at, false)
    );

    // Both uses read the link before either wrote, so both rules see it
    // unused: the store lets one of them use it.
    let seen = LinkState {
        token_hash: "link-hash".to_owned(),
        user_id: link.user_id.clone(),
        expires_at: link.expires_at,
        used: link.used,
    };
    let use_link = |n: usize| {
        let (store, seen) = (store.clone(), seen.clone());
        tokio::spawn(async move {
            store
                .write(&oid("org-1"), &ctx(t0()), &Lookups::default(), |snap, _| {
                    let session = NewToken {
                        id: TokenId::from(format!("ses-{n}")),
                        user_id: uid(OWNER),
                        kind: TokenKind::Session,
                        name: "admin UI session".to_owned(),
                        secret_hash: format!("{n:064}"),
                        expires_at: None,
                    };
                    start_session(snap, &seen, session, t0()).map(plan)
                })
                .await
        })
    };
    let (a, b) = (use_link(1), use_link(2));
    let outcomes = [a.await.unwrap(), b.await.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Err(WriteError::Store(StoreError::Conflict(_))))));
    assert!(store.sign_in_link("link-hash").await.unwrap().unwrap().used);
    let mut sessions = 0;
    for id in ["ses-1", "ses-2"] {
        sessions += usize::from(store.token(&TokenId::from(id)).await.unwrap().is_some());
    }
    assert_eq!(sessions, 1, "the refused use created no session");
    assert!(
        store
            .tokens(&oid("org-1"), None, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "sessions are not listed as tokens"
    );
}
