//! Webhook endpoints and their deliveries (API.md "Webhooks"). `hooks` is
//! where the endpoints live: `/v1/webhooks` (the platform's) or
//! `/v1/orgs/{org}/webhooks` (an organization's).

use reqwest::Method;
use roster_core::{DeliveryId, UserId, WebhookId};
use roster_server::views::{CreatedWebhookView, DeliveryView, Page, SecretView, WebhookView};
use serde_json::{json, Value};

use super::{Reply, TestApp, ACCEPTED, CREATED, NO_CONTENT, OK};

impl TestApp {
    pub async fn post_webhook(
        &self,
        hooks: &str,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<CreatedWebhookView> {
        self.reply(CREATED, Method::POST, hooks, actor, Some(body))
            .await
    }

    pub async fn get_webhooks(
        &self,
        hooks: &str,
        actor: Option<&UserId>,
    ) -> Reply<Page<WebhookView>> {
        self.reply(OK, Method::GET, hooks, actor, None).await
    }

    pub async fn get_webhook(
        &self,
        hooks: &str,
        id: &WebhookId,
        actor: Option<&UserId>,
    ) -> Reply<WebhookView> {
        let path = format!("{hooks}/{id}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn patch_webhook(
        &self,
        hooks: &str,
        id: &WebhookId,
        actor: Option<&UserId>,
        body: Value,
    ) -> Reply<WebhookView> {
        let path = format!("{hooks}/{id}");
        self.reply(OK, Method::PATCH, &path, actor, Some(body))
            .await
    }

    pub async fn delete_webhook(
        &self,
        hooks: &str,
        id: &WebhookId,
        actor: Option<&UserId>,
    ) -> Reply<()> {
        let path = format!("{hooks}/{id}");
        self.reply(NO_CONTENT, Method::DELETE, &path, actor, None)
            .await
    }

    pub async fn rotate_webhook_secret(
        &self,
        hooks: &str,
        id: &WebhookId,
        actor: Option<&UserId>,
    ) -> Reply<SecretView> {
        let path = format!("{hooks}/{id}/rotate-secret");
        self.reply(OK, Method::POST, &path, actor, Some(json!({})))
            .await
    }

    pub async fn test_webhook(
        &self,
        hooks: &str,
        id: &WebhookId,
        actor: Option<&UserId>,
    ) -> Reply<()> {
        let path = format!("{hooks}/{id}/test");
        self.reply(ACCEPTED, Method::POST, &path, actor, Some(json!({})))
            .await
    }

    /// `query` is appended as is: "" or "?status=dead".
    pub async fn get_deliveries(
        &self,
        hooks: &str,
        id: &WebhookId,
        actor: Option<&UserId>,
        query: &str,
    ) -> Reply<Page<DeliveryView>> {
        let path = format!("{hooks}/{id}/deliveries{query}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn retry_delivery(
        &self,
        hooks: &str,
        id: &WebhookId,
        delivery: &DeliveryId,
        actor: Option<&UserId>,
    ) -> Reply<()> {
        let path = format!("{hooks}/{id}/deliveries/{delivery}/retry");
        self.reply(ACCEPTED, Method::POST, &path, actor, Some(json!({})))
            .await
    }

    /// Every delivery of an endpoint (up to 500), as the platform sees them.
    pub async fn deliveries(&self, id: &WebhookId) -> Vec<DeliveryView> {
        let page = self
            .get_deliveries("/v1/webhooks", id, None, "?limit=500")
            .await
            .ok("list the deliveries");
        assert!(page.next_cursor.is_none(), "more than 500 deliveries");
        page.items
    }
}
