//! The typed client: one method per operation of API.md, answering a
//! [`Reply`] of the server's own view type (`roster_server::views`, and the
//! types of `roster_server::http`), plus the few steps most tests share
//! (an organization, a space, a member who accepted an invitation). A file
//! per resource, as API.md groups them; here the raw requests they share.
//!
//! Operations act with the platform key, as `actor` when one is given
//! (`X-Roster-Actor`). Request bodies stay JSON: tests send malformed ones
//! on purpose.

mod audit;
mod decisions;
mod events;
mod invitations;
mod members;
mod organizations;
mod platform;
mod spaces;
mod tokens;
mod webhooks;

use reqwest::{Method, RequestBuilder, StatusCode};
use roster_core::UserId;
use roster_server::views::IntrospectionView;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::answer::{send, Answer, Reply};
use super::app::{TestApp, KEY};

const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;
const NO_CONTENT: StatusCode = StatusCode::NO_CONTENT;
const ACCEPTED: StatusCode = StatusCode::ACCEPTED;

/// A query asking for up to 500 items, and `filter` ("" or `a=b&c=d`).
fn up_to_500(filter: &str) -> String {
    if filter.is_empty() {
        "?limit=500".to_owned()
    } else {
        format!("?limit=500&{filter}")
    }
}

/// Whether an introspection says the token is active.
pub fn active(introspection: &IntrospectionView) -> bool {
    match introspection {
        IntrospectionView::Active(token) => token.active,
        IntrospectionView::Inactive(inactive) => inactive.active,
    }
}

impl TestApp {
    /// A request to `path` without any credential.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// A request with the platform key, acting as `actor` when given.
    pub fn platform(&self, method: Method, path: &str, actor: Option<&UserId>) -> RequestBuilder {
        let request = self.request(method, path).bearer_auth(KEY);
        match actor {
            Some(actor) => request.header("X-Roster-Actor", actor.as_str()),
            None => request,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        actor: Option<&UserId>,
        body: Option<Value>,
    ) -> Answer {
        let request = self.platform(method, path, actor);
        send(match body {
            Some(body) => request.json(&body),
            None => request,
        })
        .await
    }

    /// A request with a user token.
    pub async fn call_with_token(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let request = self.request(method, path).bearer_auth(token);
        send(match body {
            Some(body) => request.json(&body),
            None => request,
        })
        .await
    }

    /// A request without any credential.
    pub async fn anonymous(&self, method: Method, path: &str) -> Answer {
        send(self.request(method, path)).await
    }

    pub async fn get(&self, path: &str, actor: Option<&UserId>) -> Answer {
        self.call(Method::GET, path, actor, None).await
    }
    pub async fn post(&self, path: &str, actor: Option<&UserId>, body: Value) -> Answer {
        self.call(Method::POST, path, actor, Some(body)).await
    }
    pub async fn put(&self, path: &str, actor: Option<&UserId>, body: Value) -> Answer {
        self.call(Method::PUT, path, actor, Some(body)).await
    }
    pub async fn delete(&self, path: &str, actor: Option<&UserId>) -> Answer {
        self.call(Method::DELETE, path, actor, None).await
    }

    async fn reply<T: DeserializeOwned>(
        &self,
        success: StatusCode,
        method: Method,
        path: &str,
        actor: Option<&UserId>,
        body: Option<Value>,
    ) -> Reply<T> {
        Reply::new(self.call(method, path, actor, body).await, success)
    }
}
