//! Webhook endpoints and their deliveries (SPEC §16). Deliveries are an
//! outbox written with the change that causes them. A worker claims them
//! under a *fenced* lease: each claim takes a new lease token, and marking
//! or renewing needs the token it was given, so a worker whose lease ran
//! out can change nothing another worker took over.

use chrono::Duration;
use roster_core::{DeliveryId, EventType, OrgId, Secret, Timestamp, Webhook, WebhookId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::events::Event;
use crate::load::corrupt;
use crate::time::{from_ms, to_ms};
use crate::{Backend, Store, StoreError};

const WEBHOOK_COLUMNS: &str = "id, org_id, url, types, description, enabled, disabled_reason, secret, previous_secret, previous_until, created_at";

fn parse_webhook(row: &AnyRow) -> Result<Webhook, StoreError> {
    let types: String = row.try_get("types")?;
    let previous: Option<String> = row.try_get("previous_secret")?;
    let previous_until: Option<i64> = row.try_get("previous_until")?;
    Ok(Webhook {
        id: row.try_get::<String, _>("id")?.into(),
        org_id: row.try_get::<Option<String>, _>("org_id")?.map(OrgId::from),
        url: row.try_get("url")?,
        types: types
            .split(',')
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<EventType>().map_err(corrupt))
            .collect::<Result<_, _>>()?,
        description: row.try_get("description")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: row.try_get("disabled_reason")?,
        secret: Secret::new(row.try_get("secret")?),
        previous_secret: previous
            .zip(previous_until.map(from_ms))
            .map(|(s, until)| (Secret::new(s), until)),
        created_at: from_ms(row.try_get("created_at")?),
    })
}

fn join_types(types: &[EventType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Creates or replaces an endpoint (in the caller's transaction).
pub(crate) async fn put(
    tx: &mut Transaction<'static, Any>,
    webhook: &Webhook,
) -> Result<(), StoreError> {
    let previous = webhook.previous_secret.as_ref();
    sqlx::query(
        "INSERT INTO webhooks (id, org_id, url, types, description, enabled, disabled_reason, secret, previous_secret, previous_until, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, types = excluded.types, description = excluded.description,
            enabled = excluded.enabled, disabled_reason = excluded.disabled_reason",
    )
    .bind(webhook.id.as_str())
    .bind(webhook.org_id.as_ref().map(OrgId::as_str))
    .bind(webhook.url.as_str())
    .bind(join_types(&webhook.types))
    .bind(webhook.description.as_str())
    .bind(i64::from(webhook.enabled))
    .bind(webhook.disabled_reason.as_deref())
    .bind(webhook.secret.expose())
    .bind(previous.map(|(s, _)| s.expose()))
    .bind(previous.map(|(_, until)| to_ms(*until)))
    .bind(to_ms(webhook.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes an endpoint and the deliveries still waiting for it.
pub(crate) async fn delete(
    tx: &mut Transaction<'static, Any>,
    id: &WebhookId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM deliveries WHERE webhook_id = $1")
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) async fn rotate(
    tx: &mut Transaction<'static, Any>,
    id: &WebhookId,
    secret: &Secret,
    previous: &(Secret, Timestamp),
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhooks SET secret = $1, previous_secret = $2, previous_until = $3 WHERE id = $4",
    )
    .bind(secret.expose())
    .bind(previous.0.expose())
    .bind(to_ms(previous.1))
    .bind(id.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One delivery for each endpoint that wants this event, written with it;
/// answers how many.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    endpoints: &[Webhook],
    event: &Event,
    now: i64,
) -> Result<usize, StoreError> {
    let kind = EventType::Change(event.kind);
    let wanting: Vec<&Webhook> = endpoints
        .iter()
        .filter(|w| w.wants(&event.org_id, kind))
        .collect();
    if wanting.is_empty() {
        return Ok(0);
    }
    let payload = serde_json::to_string(event).map_err(corrupt)?;
    for webhook in &wanting {
        insert_delivery(
            tx,
            &webhook.id,
            &event.id,
            kind,
            Some(&event.org_id),
            &payload,
            now,
        )
        .await?;
    }
    Ok(wanting.len())
}

async fn insert_delivery(
    tx: &mut Transaction<'static, Any>,
    webhook: &WebhookId,
    event_id: &str,
    kind: EventType,
    org_id: Option<&OrgId>,
    payload: &str,
    now: i64,
) -> Result<(), StoreError> {
    let id = format!("dlv_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(
        "INSERT INTO deliveries (id, webhook_id, event_id, event_type, org_id, payload, status, attempts, next_attempt_at, lease_token, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, 0, $7)",
    )
    .bind(id)
    .bind(webhook.as_str())
    .bind(event_id)
    .bind(kind.as_str())
    .bind(org_id.map(OrgId::as_str))
    .bind(payload)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The endpoints an organization's events may go to (its own and the
/// platform's), read in the write's transaction.
pub(crate) async fn endpoints_for(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
) -> Result<Vec<Webhook>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE enabled = 1 AND (org_id IS NULL OR org_id = $1)"
    ))
    .bind(org_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(parse_webhook).collect()
}

/// Delivery states (API.md).
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const DEAD: &str = "dead";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// The lease this copy was claimed under (see the module's doc).
    pub lease_token: i64,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, payload, status, attempts, last_status, last_error, next_attempt_at, delivered_at, lease_token";

fn parse_delivery(row: &AnyRow) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: row.try_get::<String, _>("id")?.into(),
        webhook_id: row.try_get::<String, _>("webhook_id")?.into(),
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        next_attempt_at: from_ms(row.try_get("next_attempt_at")?),
        delivered_at: row.try_get::<Option<i64>, _>("delivered_at")?.map(from_ms),
        lease_token: row.try_get("lease_token")?,
    })
}

/// What happened to one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered { status: i64 },
    /// Anything else: tried again at `retry_at`, or dead without one.
    Failed {
        status: Option<i64>,
        error: String,
        retry_at: Option<Timestamp>,
    },
}

impl Store {
    pub async fn webhook(&self, id: &WebhookId) -> Result<Option<Webhook>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(parse_webhook).transpose()
    }

    /// An organization's endpoints (`Some`), or every endpoint (`None`),
    /// oldest first after the cursor.
    pub async fn webhooks(
        &self,
        org_id: Option<&OrgId>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Webhook>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks
             WHERE ($1 IS NULL OR org_id = $1) AND ($2 IS NULL OR id > $2)
             ORDER BY id LIMIT $3"
        ))
        .bind(org_id.map(OrgId::as_str))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_webhook).collect()
    }

    /// The platform's endpoints are not an organization's change: written
    /// directly, with no audit entry (API.md).
    pub async fn put_platform_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let _gate = self.sqlite_gate().await;
        let mut tx = self.pool.begin().await?;
        put(&mut tx, webhook).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_platform_webhook(&self, id: &WebhookId) -> Result<(), StoreError> {
        let _gate = self.sqlite_gate().await;
        let mut tx = self.pool.begin().await?;
        delete(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn rotate_platform_secret(
        &self,
        id: &WebhookId,
        secret: &Secret,
        previous: &(Secret, Timestamp),
    ) -> Result<(), StoreError> {
        let _gate = self.sqlite_gate().await;
        let mut tx = self.pool.begin().await?;
        rotate(&mut tx, id, secret, previous).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A `webhook.test` event for one endpoint alone.
    pub async fn enqueue_test_delivery(
        &self,
        webhook: &WebhookId,
        event_id: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let _gate = self.sqlite_gate().await;
        let mut tx = self.pool.begin().await?;
        insert_delivery(
            &mut tx,
            webhook,
            event_id,
            EventType::Test,
            None,
            payload,
            to_ms(now),
        )
        .await?;
        tx.commit().await?;
        self.announce_delivery();
        Ok(())
    }

    /// Endpoints with deliveries due, each handled on its own so one
    /// endpoint's failures never hold up another's deliveries.
    pub async fn endpoints_with_due_deliveries(
        &self,
        now: Timestamp,
    ) -> Result<Vec<WebhookId>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT d.webhook_id FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.enabled = 1
               AND (d.lease_until IS NULL OR d.lease_until <= $1)",
        )
        .bind(to_ms(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?.into()))
            .collect()
    }

    /// Claims up to `limit` due deliveries of one endpoint for `lease`, each
    /// with a new lease token.
    pub async fn claim_deliveries(
        &self,
        webhook: &WebhookId,
        now: Timestamp,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let _gate = self.sqlite_gate().await;
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE deliveries SET lease_until = $1, lease_token = lease_token + 1
             WHERE id IN (SELECT id FROM deliveries WHERE webhook_id = $2 AND status = 'pending' AND next_attempt_at <= $3
                          AND (lease_until IS NULL OR lease_until <= $3)
                          ORDER BY next_attempt_at, id LIMIT $4 {skip_locked})
             RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(to_ms(now + lease))
        .bind(webhook.as_str())
        .bind(to_ms(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_delivery).collect()
    }

    /// Records an attempt, if the lease is still this worker's; answers
    /// whether it was. A worker that lost its lease changes nothing.
    pub async fn record_attempt(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let _gate = self.sqlite_gate().await;
        let query = match attempt {
            Attempt::Delivered { status } => sqlx::query(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_status = $1, last_error = NULL,
                        delivered_at = $2, lease_until = NULL
                 WHERE id = $3 AND lease_token = $4 AND status = 'pending'",
            )
            .bind(*status)
            .bind(to_ms(now)),
            Attempt::Failed {
                status,
                error,
                retry_at,
            } => sqlx::query(
                "UPDATE deliveries SET status = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
                        next_attempt_at = COALESCE($4, next_attempt_at), lease_until = NULL
                 WHERE id = $5 AND lease_token = $6 AND status = 'pending'",
            )
            .bind(if retry_at.is_some() { PENDING } else { DEAD })
            .bind(*status)
            .bind(error.clone())
            .bind(retry_at.map(to_ms)),
        };
        let done = query
            .bind(delivery.id.as_str())
            .bind(delivery.lease_token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps a lease a little longer before a slow step; `false` when the
    /// lease is no longer this worker's (do not send).
    pub async fn renew_delivery(
        &self,
        delivery: &Delivery,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let _gate = self.sqlite_gate().await;
        let done = sqlx::query(
            "UPDATE deliveries SET lease_until = $1 WHERE id = $2 AND lease_token = $3 AND status = 'pending'",
        )
        .bind(to_ms(until))
        .bind(delivery.id.as_str())
        .bind(delivery.lease_token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An endpoint that answered `410 Gone` is disabled.
    pub async fn disable_gone_webhook(&self, id: &WebhookId) -> Result<(), StoreError> {
        let _gate = self.sqlite_gate().await;
        sqlx::query("UPDATE webhooks SET enabled = 0, disabled_reason = 'gone' WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first after the cursor.
    pub async fn deliveries(
        &self,
        webhook: &WebhookId,
        status: Option<&str>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE webhook_id = $1 AND ($2 IS NULL OR status = $2)
               AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(webhook.as_str())
        .bind(status)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_delivery).collect()
    }

    /// A dead or delivered delivery goes again, with the same event (and so
    /// the same `webhook-id`); answers whether there was one to retry.
    pub async fn retry_delivery(
        &self,
        webhook: &WebhookId,
        id: &DeliveryId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = {
            let _gate = self.sqlite_gate().await;
            sqlx::query(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL,
                        lease_token = lease_token + 1
                 WHERE id = $2 AND webhook_id = $3",
            )
            .bind(to_ms(now))
            .bind(id.as_str())
            .bind(webhook.as_str())
            .execute(&self.pool)
            .await?
        };
        self.announce_delivery();
        Ok(done.rows_affected() == 1)
    }

    /// Deliveries waiting to go out (for the queue-depth metric).
    pub async fn pending_deliveries(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}
