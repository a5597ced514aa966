//! Webhook endpoints (API.md "Webhooks"): the platform's (all
//! organizations or one) and an organization's own (`integrations.manage`).
//! An endpoint that belongs to an organization changes through its
//! pipeline, so it is audited and is an event; the platform's own are not
//! an organization's change.

use roster_core::webhooks::{
    apply_update, create_webhook, delete_webhook, rotate_secret, update_webhook, WebhookUpdate,
};
use roster_core::{Action, DeliveryId, EventType, OrgId, Secret, Webhook, WebhookId};
use serde_json::json;

use super::{Ctx, PageRequest};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::secrets::new_id;
use crate::state::AppState;
use crate::views::{time, CreatedWebhookView, DeliveryView, Page, SecretView, WebhookView};
use crate::webhook::{sign, target};

/// Whose endpoints a request is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `/v1/webhooks`: the platform key, every endpoint.
    Platform,
    /// `/v1/orgs/{org}/webhooks`: that organization's.
    Org(OrgId),
}

/// `POST …/webhooks`, parsed.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub url: String,
    pub types: Vec<EventType>,
    /// Platform only: the organization whose events it gets (none: all).
    pub org_id: Option<OrgId>,
    pub description: String,
}

impl AppState {
    /// A URL an endpoint may have: well formed, and (unless private targets
    /// are allowed) resolving only to public addresses.
    async fn allowed_url(&self, raw: &str) -> ApiResult<String> {
        let url = target::parse(raw).map_err(|e| ApiError::invalid("url", e.to_string()))?;
        target::resolve(&url, self.config.webhook_allow_private)
            .await
            .map_err(|e| {
                ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "webhook_url_not_allowed",
                    e.to_string(),
                )
            })?;
        Ok(url.to_string())
    }

    /// Who may act on this scope's endpoints, checked before anything else.
    async fn authorize_scope(&self, caller: &Caller, scope: &Scope) -> ApiResult<()> {
        match scope {
            Scope::Platform => caller.require_platform(),
            Scope::Org(org) => self
                .read_as(caller, org, Action::IntegrationsManage)
                .await
                .map(drop),
        }
    }

    /// An endpoint of this scope (another's is not found).
    async fn endpoint(&self, caller: &Caller, scope: &Scope, id: &WebhookId) -> ApiResult<Webhook> {
        self.authorize_scope(caller, scope).await?;
        let webhook = self
            .store
            .webhook(id)
            .await?
            .filter(|w| match scope {
                Scope::Platform => true,
                Scope::Org(org) => w.org_id.as_ref() == Some(org),
            })
            .ok_or_else(|| ApiError::not_found("webhook"))?;
        Ok(webhook)
    }

    pub async fn create_webhook(
        &self,
        ctx: &Ctx,
        scope: &Scope,
        new: NewWebhook,
    ) -> ApiResult<CreatedWebhookView> {
        self.authorize_scope(&ctx.caller, scope).await?;
        let org_id = match scope {
            Scope::Org(org) => Some(org.clone()),
            Scope::Platform => new.org_id,
        };
        let webhook = Webhook {
            id: new_id(),
            org_id,
            url: self.allowed_url(&new.url).await?,
            types: new.types,
            description: new.description,
            enabled: true,
            disabled_reason: None,
            secret: Secret::new(sign::new_secret()),
            previous_secret: None,
            created_at: self.now(),
        };
        let secret = webhook.secret.expose().to_owned();
        match &webhook.org_id {
            Some(org) => {
                let created = webhook.clone();
                self.act(ctx, org, |snap, actor, now| {
                    create_webhook(snap, actor, created, now)
                })
                .await?;
            }
            None => self.store.put_platform_webhook(&webhook).await?,
        }
        Ok(CreatedWebhookView {
            webhook: WebhookView::from(&webhook),
            secret,
        })
    }

    pub async fn webhooks(
        &self,
        caller: &Caller,
        scope: &Scope,
        page: &PageRequest,
    ) -> ApiResult<Page<WebhookView>> {
        self.authorize_scope(caller, scope).await?;
        let org = match scope {
            Scope::Org(org) => Some(org),
            Scope::Platform => None,
        };
        let rows = self
            .store
            .webhooks(org, page.cursor.as_deref(), page.limit as i64 + 1)
            .await?;
        let (rows, next_cursor) = super::paginate(rows, page.limit, |w| w.id.to_string());
        Ok(Page {
            items: rows.iter().map(WebhookView::from).collect(),
            next_cursor,
        })
    }

    pub async fn webhook(
        &self,
        caller: &Caller,
        scope: &Scope,
        id: &WebhookId,
    ) -> ApiResult<WebhookView> {
        Ok(WebhookView::from(&self.endpoint(caller, scope, id).await?))
    }

    pub async fn update_webhook(
        &self,
        ctx: &Ctx,
        scope: &Scope,
        id: &WebhookId,
        mut update: WebhookUpdate,
    ) -> ApiResult<WebhookView> {
        let webhook = self.endpoint(&ctx.caller, scope, id).await?;
        if let Some(url) = &update.url {
            update.url = Some(self.allowed_url(url).await?);
        }
        match &webhook.org_id {
            Some(org) => {
                let (before, asked) = (webhook.clone(), update.clone());
                self.act(ctx, org, |snap, actor, now| {
                    update_webhook(snap, actor, &before, asked, now)
                })
                .await?;
            }
            None => {
                self.store
                    .put_platform_webhook(&apply_update(&webhook, update))
                    .await?
            }
        }
        self.webhook(&ctx.caller, scope, id).await
    }

    pub async fn delete_webhook(&self, ctx: &Ctx, scope: &Scope, id: &WebhookId) -> ApiResult<()> {
        let webhook = self.endpoint(&ctx.caller, scope, id).await?;
        match &webhook.org_id {
            Some(org) => {
                self.act(ctx, org, |snap, actor, now| {
                    delete_webhook(snap, actor, &webhook, now)
                })
                .await?;
            }
            None => self.store.delete_platform_webhook(id).await?,
        }
        Ok(())
    }

    /// A new secret, shown once; the old one signs beside it for 24 hours.
    pub async fn rotate_webhook_secret(
        &self,
        ctx: &Ctx,
        scope: &Scope,
        id: &WebhookId,
    ) -> ApiResult<SecretView> {
        let webhook = self.endpoint(&ctx.caller, scope, id).await?;
        let secret = Secret::new(sign::new_secret());
        let shown = secret.expose().to_owned();
        match &webhook.org_id {
            Some(org) => {
                self.act(ctx, org, |snap, actor, now| {
                    rotate_secret(snap, actor, &webhook, secret, now)
                })
                .await?;
            }
            None => {
                let previous = (
                    webhook.secret.clone(),
                    self.now() + roster_core::webhooks::rotation_overlap(),
                );
                self.store
                    .rotate_platform_secret(id, &secret, &previous)
                    .await?
            }
        }
        Ok(SecretView { secret: shown })
    }

    /// A `webhook.test` event, to this endpoint alone.
    pub async fn test_webhook(&self, ctx: &Ctx, scope: &Scope, id: &WebhookId) -> ApiResult<()> {
        let webhook = self.endpoint(&ctx.caller, scope, id).await?;
        let event_id = format!("evt_{}", uuid::Uuid::now_v7().simple());
        let (kind, user_id) = match &ctx.caller {
            Caller::Platform => ("platform", None),
            Caller::PlatformAs(user)
            | Caller::Token { user_id: user, .. }
            | Caller::Session { user_id: user, .. } => ("user", Some(user.clone())),
        };
        let payload = json!({
            "id": event_id,
            "type": EventType::TEST,
            "org_id": webhook.org_id,
            "occurred_at": time(self.now()),
            "revision": 0,
            "actor": {"kind": kind, "user_id": user_id},
            "trigger": "request",
            "data": {"target_user_id": null, "space_id": null, "details": {"webhook_id": webhook.id}},
        });
        self.store
            .enqueue_test_delivery(id, &event_id, &payload.to_string(), self.now())
            .await?;
        Ok(())
    }

    pub async fn deliveries(
        &self,
        caller: &Caller,
        scope: &Scope,
        id: &WebhookId,
        status: Option<&str>,
        page: &PageRequest,
    ) -> ApiResult<Page<DeliveryView>> {
        self.endpoint(caller, scope, id).await?;
        let rows = self
            .store
            .deliveries(id, status, page.cursor.as_deref(), page.limit as i64 + 1)
            .await?;
        let (rows, next_cursor) = super::paginate(rows, page.limit, |d| d.id.to_string());
        Ok(Page {
            items: rows.iter().map(DeliveryView::from).collect(),
            next_cursor,
        })
    }

    /// A dead or delivered delivery goes again, with the same `webhook-id`.
    pub async fn retry_delivery(
        &self,
        ctx: &Ctx,
        scope: &Scope,
        id: &WebhookId,
        delivery: &DeliveryId,
    ) -> ApiResult<()> {
        self.endpoint(&ctx.caller, scope, id).await?;
        if self.store.retry_delivery(id, delivery, self.now()).await? {
            Ok(())
        } else {
            Err(ApiError::not_found("delivery"))
        }
    }
}
