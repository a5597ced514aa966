//! Tokens and introspection (API.md "Tokens").

use reqwest::Method;
use roster_core::{OrgId, TokenId, UserId};
use roster_server::views::{CreatedTokenView, IntrospectionView, Page, TokenView};
use serde_json::{json, Value};

use super::{active, send, Reply, TestApp, CREATED, KEY, NO_CONTENT, OK};

impl TestApp {
    pub async fn post_token(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<CreatedTokenView> {
        let path = format!("/v1/orgs/{org}/tokens");
        self.reply(CREATED, Method::POST, &path, actor, Some(body))
            .await
    }

    /// `query` is appended as is: "" or "?user_id=…".
    pub async fn get_tokens(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        query: &str,
    ) -> Reply<Page<TokenView>> {
        let path = format!("/v1/orgs/{org}/tokens{query}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn delete_token(
        &self,
        org: &OrgId,
        id: &TokenId,
        actor: Option<&UserId>,
    ) -> Reply<()> {
        let path = format!("/v1/orgs/{org}/tokens/{id}");
        self.reply(NO_CONTENT, Method::DELETE, &path, actor, None)
            .await
    }

    /// A new `kind` token of `user`, made by `user`.
    pub async fn token_of_kind(&self, org: &OrgId, user: &UserId, kind: &str) -> CreatedTokenView {
        self.post_token(
            org,
            Some(user),
            json!({"kind": kind, "name": format!("{kind} automation")}),
        )
        .await
        .ok("create a token")
    }

    /// A new API token of `user`, made by `user`.
    pub async fn token(&self, org: &OrgId, user: &UserId) -> CreatedTokenView {
        self.token_of_kind(org, user, "api").await
    }

    /// RFC 7662 introspection as a form, with `credential` as the bearer.
    pub async fn post_introspect(&self, credential: &str, token: &str) -> Reply<IntrospectionView> {
        let request = self
            .request(Method::POST, "/v1/introspect")
            .bearer_auth(credential)
            .form(&[("token", token)]);
        Reply::new(send(request).await, OK)
    }

    /// Introspection with the platform key.
    pub async fn introspect(&self, token: &str) -> IntrospectionView {
        self.post_introspect(KEY, token).await.ok("introspect")
    }

    /// Whether introspection says `token` is active.
    pub async fn is_active(&self, token: &str) -> bool {
        active(&self.introspect(token).await)
    }
}
