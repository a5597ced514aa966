//! Decisions (API.md "Decisions").

use reqwest::Method;
use roster_core::{OrgId, UserId};
use roster_server::http::decisions::{
    BatchAnswer, Configuration, DecisionView, FoundAction, FoundResource, FoundSubject,
    SearchAnswer,
};
use serde_json::{json, Value};

use super::{Reply, TestApp, OK};

impl TestApp {
    pub async fn evaluation(&self, actor: Option<&UserId>, body: Value) -> Reply<DecisionView> {
        self.reply(OK, Method::POST, "/access/v1/evaluation", actor, Some(body))
            .await
    }

    pub async fn evaluations(&self, actor: Option<&UserId>, body: Value) -> Reply<BatchAnswer> {
        self.reply(
            OK,
            Method::POST,
            "/access/v1/evaluations",
            actor,
            Some(body),
        )
        .await
    }

    pub async fn search_resource(&self, body: Value) -> Reply<SearchAnswer<FoundResource>> {
        self.reply(
            OK,
            Method::POST,
            "/access/v1/search/resource",
            None,
            Some(body),
        )
        .await
    }

    pub async fn search_subject(
        &self,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<SearchAnswer<FoundSubject>> {
        let path = "/access/v1/search/subject";
        self.reply(OK, Method::POST, path, actor, Some(body)).await
    }

    pub async fn search_action(
        &self,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<SearchAnswer<FoundAction>> {
        let path = "/access/v1/search/action";
        self.reply(OK, Method::POST, path, actor, Some(body)).await
    }

    pub async fn authzen_configuration(&self) -> Configuration {
        Reply::<Configuration>::new(
            self.anonymous(Method::GET, "/.well-known/authzen-configuration")
                .await,
            OK,
        )
        .ok("AuthZEN metadata")
    }

    /// May `user` do `action` on `resource` (of organization `org`)?
    pub async fn decide(&self, org: &OrgId, user: &UserId, action: &str, resource: Value) -> bool {
        let mut resource = resource;
        resource["properties"]["org_id"] = json!(org);
        self.evaluation(
            None,
            json!({"subject": {"type": "user", "id": user}, "action": {"name": action}, "resource": resource}),
        )
        .await
        .ok("an evaluation")
        .decision
    }
}
