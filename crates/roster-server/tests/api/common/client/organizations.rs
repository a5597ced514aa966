//! Organizations (API.md "Organizations").

use reqwest::Method;
use roster_core::{OrgId, UserId};
use roster_server::views::{DomainsView, IaSettingView, OrgView};
use serde_json::{json, Value};

use super::{Reply, TestApp, CREATED, NO_CONTENT, OK};

impl TestApp {
    pub async fn post_org(&self, body: Value) -> Reply<OrgView> {
        self.reply(CREATED, Method::POST, "/v1/orgs", None, Some(body))
            .await
    }

    pub async fn get_org(&self, org: &OrgId, actor: Option<&UserId>) -> Reply<OrgView> {
        self.reply(OK, Method::GET, &format!("/v1/orgs/{org}"), actor, None)
            .await
    }

    pub async fn patch_org(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<OrgView> {
        self.reply(
            OK,
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            actor,
            Some(body),
        )
        .await
    }

    pub async fn delete_org(&self, org: &OrgId, actor: Option<&UserId>) -> Reply<()> {
        self.reply(
            NO_CONTENT,
            Method::DELETE,
            &format!("/v1/orgs/{org}"),
            actor,
            None,
        )
        .await
    }

    pub async fn put_domains(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        domains: &[&str],
    ) -> Reply<DomainsView> {
        let path = format!("/v1/orgs/{org}/implementation-admin-domains");
        self.reply(
            OK,
            Method::PUT,
            &path,
            actor,
            Some(json!({"domains": domains})),
        )
        .await
    }

    pub async fn get_domains(&self, org: &OrgId, actor: Option<&UserId>) -> Reply<DomainsView> {
        let path = format!("/v1/orgs/{org}/implementation-admin-domains");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn put_ia_setting(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<IaSettingView> {
        let path = format!("/v1/orgs/{org}/settings/implementation-admin");
        self.reply(OK, Method::PUT, &path, actor, Some(body)).await
    }

    /// The organization, read with the platform key.
    pub async fn org(&self, org: &OrgId) -> OrgView {
        self.get_org(org, None).await.ok("read the organization")
    }

    /// A new organization; answers its id and its first Owner's.
    pub async fn create_org(
        &self,
        name: &str,
        owner_email: &str,
        seat_limit: Option<u32>,
    ) -> (OrgId, UserId) {
        let org = self
            .post_org(json!({"name": name, "owner_email": owner_email, "seat_limit": seat_limit}))
            .await
            .ok("create an organization");
        let owner = org.owner.expect("a new organization has its Owner");
        assert_eq!(owner.email, owner_email);
        (org.id, owner.user_id)
    }
}
