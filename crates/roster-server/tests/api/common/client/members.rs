//! Members, seats and capabilities (API.md "Members").

use reqwest::Method;
use roster_core::{OrgId, UserId};
use roster_server::views::{
    BulkView, CapabilitiesView, MemberView, Page, RoleChangeView, SeatsView,
};
use serde_json::{json, Value};

use super::{up_to_500, Reply, TestApp, NO_CONTENT, OK};

impl TestApp {
    /// `query` is appended as is: "" or "?role=owner&limit=500".
    pub async fn get_members(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        query: &str,
    ) -> Reply<Page<MemberView>> {
        let path = format!("/v1/orgs/{org}/members{query}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn get_member(
        &self,
        org: &OrgId,
        user: &UserId,
        actor: Option<&UserId>,
    ) -> Reply<MemberView> {
        let path = format!("/v1/orgs/{org}/members/{user}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn patch_member(
        &self,
        org: &OrgId,
        user: &UserId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<RoleChangeView> {
        let path = format!("/v1/orgs/{org}/members/{user}");
        self.reply(OK, Method::PATCH, &path, actor, Some(body))
            .await
    }

    pub async fn deactivate(
        &self,
        org: &OrgId,
        user: &UserId,
        actor: Option<&UserId>,
    ) -> Reply<MemberView> {
        let path = format!("/v1/orgs/{org}/members/{user}/deactivate");
        self.reply(OK, Method::POST, &path, actor, Some(json!({})))
            .await
    }

    pub async fn reactivate(
        &self,
        org: &OrgId,
        user: &UserId,
        actor: Option<&UserId>,
    ) -> Reply<MemberView> {
        let path = format!("/v1/orgs/{org}/members/{user}/reactivate");
        self.reply(OK, Method::POST, &path, actor, Some(json!({})))
            .await
    }

    pub async fn delete_member(
        &self,
        org: &OrgId,
        user: &UserId,
        actor: Option<&UserId>,
    ) -> Reply<()> {
        let path = format!("/v1/orgs/{org}/members/{user}");
        self.reply(NO_CONTENT, Method::DELETE, &path, actor, None)
            .await
    }

    pub async fn remove_implementation_admin(
        &self,
        org: &OrgId,
        user: &UserId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<()> {
        let path = format!("/v1/orgs/{org}/members/{user}/remove-implementation-admin");
        self.reply(NO_CONTENT, Method::POST, &path, actor, Some(body))
            .await
    }

    pub async fn bulk(&self, org: &OrgId, actor: Option<&UserId>, body: Value) -> Reply<BulkView> {
        let path = format!("/v1/orgs/{org}/members/bulk");
        self.reply(OK, Method::POST, &path, actor, Some(body)).await
    }

    pub async fn get_seats(&self, org: &OrgId, actor: Option<&UserId>) -> Reply<SeatsView> {
        let path = format!("/v1/orgs/{org}/seats");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn get_capabilities(
        &self,
        org: &OrgId,
        user: &UserId,
        actor: Option<&UserId>,
    ) -> Reply<CapabilitiesView> {
        let path = format!("/v1/orgs/{org}/members/{user}/capabilities");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    /// A member, read with the platform key.
    pub async fn member(&self, org: &OrgId, user: &UserId) -> MemberView {
        self.get_member(org, user, None).await.ok("read a member")
    }

    /// The members (up to 500), read with the platform key; `filter` is ""
    /// or a query without its `?` ("role=owner&status=active").
    pub async fn members(&self, org: &OrgId, filter: &str) -> Vec<MemberView> {
        self.get_members(org, None, &up_to_500(filter))
            .await
            .ok("list members")
            .items
    }

    pub async fn seats(&self, org: &OrgId) -> SeatsView {
        self.get_seats(org, None).await.ok("read the seats")
    }
}
