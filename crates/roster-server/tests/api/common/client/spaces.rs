//! Spaces and their members (API.md "Spaces").

use reqwest::Method;
use roster_core::{OrgId, SpaceId, UserId};
use roster_server::views::{
    Page, RecipientsView, RetainedAccessView, SpaceMemberView, SpaceMembersView, SpaceView,
};
use serde_json::{json, Value};

use super::{Reply, TestApp, CREATED, NO_CONTENT, OK};

impl TestApp {
    pub async fn post_space(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<SpaceView> {
        let path = format!("/v1/orgs/{org}/spaces");
        self.reply(CREATED, Method::POST, &path, actor, Some(body))
            .await
    }

    pub async fn get_spaces(&self, org: &OrgId, actor: Option<&UserId>) -> Reply<Page<SpaceView>> {
        let path = format!("/v1/orgs/{org}/spaces?limit=500");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn get_space(
        &self,
        org: &OrgId,
        space: &SpaceId,
        actor: Option<&UserId>,
    ) -> Reply<SpaceView> {
        let path = format!("/v1/orgs/{org}/spaces/{space}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn patch_space(
        &self,
        org: &OrgId,
        space: &SpaceId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<SpaceView> {
        let path = format!("/v1/orgs/{org}/spaces/{space}");
        self.reply(OK, Method::PATCH, &path, actor, Some(body))
            .await
    }

    pub async fn delete_space(
        &self,
        org: &OrgId,
        space: &SpaceId,
        actor: Option<&UserId>,
    ) -> Reply<()> {
        let path = format!("/v1/orgs/{org}/spaces/{space}");
        self.reply(NO_CONTENT, Method::DELETE, &path, actor, None)
            .await
    }

    pub async fn get_space_members(
        &self,
        org: &OrgId,
        space: &SpaceId,
        actor: Option<&UserId>,
    ) -> Reply<SpaceMembersView> {
        let path = format!("/v1/orgs/{org}/spaces/{space}/members?limit=500");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    /// `PUT …/spaces/{space}/members/{user}` with `{"role": role}`.
    pub async fn put_space_member(
        &self,
        org: &OrgId,
        space: &SpaceId,
        user: &UserId,
        actor: Option<&UserId>,
        role: &str,
    ) -> Reply<SpaceMemberView> {
        let path = format!("/v1/orgs/{org}/spaces/{space}/members/{user}");
        self.reply(OK, Method::PUT, &path, actor, Some(json!({"role": role})))
            .await
    }

    pub async fn delete_space_member(
        &self,
        org: &OrgId,
        space: &SpaceId,
        user: &UserId,
        actor: Option<&UserId>,
    ) -> Reply<RetainedAccessView> {
        let path = format!("/v1/orgs/{org}/spaces/{space}/members/{user}");
        self.reply(OK, Method::DELETE, &path, actor, None).await
    }

    pub async fn leave_space(
        &self,
        org: &OrgId,
        space: &SpaceId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<()> {
        let path = format!("/v1/orgs/{org}/spaces/{space}/leave");
        self.reply(NO_CONTENT, Method::POST, &path, actor, Some(body))
            .await
    }

    pub async fn get_recipients(
        &self,
        org: &OrgId,
        space: &SpaceId,
        actor: Option<&UserId>,
    ) -> Reply<RecipientsView> {
        let path = format!("/v1/orgs/{org}/spaces/{space}/notification-recipients");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    /// A new space, created by `actor`; answers its id.
    pub async fn create_space(&self, org: &OrgId, actor: &UserId, name: &str) -> SpaceId {
        self.post_space(org, Some(actor), json!({"name": name}))
            .await
            .ok("create a space")
            .id
    }
}
