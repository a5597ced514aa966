//! Invitations (API.md "Invitations"), and the outbox their emails wait in.

use reqwest::Method;
use roster_core::{InvitationId, OrgId, SpaceId, UserId};
use roster_server::views::{AcceptedView, BatchView, InvitationView, Page};
use serde_json::{json, Value};

use super::{up_to_500, Reply, TestApp, CREATED, NO_CONTENT, OK};

impl TestApp {
    pub async fn post_invitations(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<BatchView> {
        let path = format!("/v1/orgs/{org}/invitations");
        self.reply(CREATED, Method::POST, &path, actor, Some(body))
            .await
    }

    /// `query` is appended as is: "" or "?status=pending".
    pub async fn get_invitations(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        query: &str,
    ) -> Reply<Page<InvitationView>> {
        let path = format!("/v1/orgs/{org}/invitations{query}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn resend_invitation(
        &self,
        org: &OrgId,
        id: &InvitationId,
        actor: Option<&UserId>,
    ) -> Reply<InvitationView> {
        let path = format!("/v1/orgs/{org}/invitations/{id}/resend");
        self.reply(OK, Method::POST, &path, actor, Some(json!({})))
            .await
    }

    pub async fn delete_invitation(
        &self,
        org: &OrgId,
        id: &InvitationId,
        actor: Option<&UserId>,
    ) -> Reply<()> {
        let path = format!("/v1/orgs/{org}/invitations/{id}");
        self.reply(NO_CONTENT, Method::DELETE, &path, actor, None)
            .await
    }

    /// Accepts with `token` (no credential is needed, the platform key is sent).
    pub async fn accept(&self, token: &str) -> Reply<AcceptedView> {
        self.reply(
            OK,
            Method::POST,
            "/v1/invitations/accept",
            None,
            Some(json!({"token": token})),
        )
        .await
    }

    /// The invitations (up to 500), read with the platform key; `filter`
    /// is "" or a query without its `?` ("status=pending").
    pub async fn invitations(&self, org: &OrgId, filter: &str) -> Vec<InvitationView> {
        self.get_invitations(org, None, &up_to_500(filter))
            .await
            .ok("list invitations")
            .items
    }

    /// The token in the newest invitation email to `email` (from the outbox).
    pub async fn invitation_token(&self, email: &str) -> String {
        let messages = self.state.store.outbox(Some(email), 10).await.unwrap();
        let m = messages
            .iter()
            .find(|m| m.template == "invitation")
            .expect("an invitation email");
        m.body_text
            .split("token=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the accept link in the invitation email")
            .to_owned()
    }

    /// How many invitation emails went to `email`.
    pub async fn invitation_emails(&self, email: &str) -> usize {
        let messages = self.state.store.outbox(Some(email), 50).await.unwrap();
        messages
            .iter()
            .filter(|m| m.template == "invitation")
            .count()
    }

    /// Invites `email` as `role` (into `spaces`) as `actor`, accepts, and
    /// answers the new member's user id.
    pub async fn add_member(
        &self,
        org: &OrgId,
        actor: &UserId,
        email: &str,
        role: &str,
        spaces: &[&SpaceId],
        duration: Option<&str>,
    ) -> UserId {
        let batch = self
            .post_invitations(
                org,
                Some(actor),
                json!({"emails": [email], "role": role, "space_ids": spaces, "duration": duration}),
            )
            .await
            .ok("invite");
        assert_eq!(batch.invitations.len(), 1, "{batch:?}");
        let token = self.invitation_token(email).await;
        let accepted = self.accept(&token).await.ok("accept the invitation");
        assert_eq!(&accepted.org_id, org);
        accepted.user_id
    }
}
