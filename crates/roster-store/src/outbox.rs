//! The email outbox (SPEC §9): rows written with the change that causes
//! them, claimed by the delivery worker with a lease so that several
//! replicas never send the same message at once and a crash mid-delivery is
//! retried (with the same Message-ID) once the lease runs out. Leases are
//! fenced: each claim takes a new token, and renewing or marking needs it,
//! so a worker whose lease ran out can neither send again nor undo what the
//! worker that took over did.

use roster_core::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::time::{from_ms, to_ms};
use crate::{Backend, Store, StoreError};

/// A message to enqueue, already rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailDraft {
    pub recipient: String,
    pub template: &'static str,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    pub id: String,
    pub org_id: Option<String>,
    pub recipient: String,
    pub template: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    /// The lease this copy was claimed under.
    #[serde(skip)]
    pub lease_token: i64,
}

pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    org_id: Option<&str>,
    email: &EmailDraft,
    now: i64,
) -> Result<(), StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO outbox (id, org_id, recipient, template, subject, body_text, body_html, message_id, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9)",
    )
    .bind(id.clone())
    .bind(org_id.map(str::to_owned))
    .bind(email.recipient.clone())
    .bind(email.template)
    .bind(email.subject.clone())
    .bind(email.body_text.clone())
    .bind(email.body_html.clone())
    .bind(format!("<{id}@roster>"))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const OUTBOX_COLUMNS: &str = "id, org_id, recipient, template, subject, body_text, body_html, message_id, status, attempts, last_error, created_at, lease_token";

fn parse_message(row: &AnyRow) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        recipient: row.try_get("recipient")?,
        template: row.try_get("template")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        body_html: row.try_get("body_html")?,
        message_id: row.try_get("message_id")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        created_at: from_ms(row.try_get("created_at")?),
        lease_token: row.try_get("lease_token")?,
    })
}

impl Store {
    /// Claims up to `limit` due messages for `lease`: nobody else claims
    /// them until it ends.
    pub async fn claim_outbox(
        &self,
        now: Timestamp,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let _gate = self.sqlite_gate().await;
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE outbox SET lease_until = $1, attempts = attempts + 1, lease_token = lease_token + 1
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2
                          AND (lease_until IS NULL OR lease_until <= $2)
                          ORDER BY next_attempt_at, id LIMIT $3 {skip_locked})
             RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(to_ms(now + lease))
        .bind(to_ms(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_message).collect()
    }

    /// Keeps a claimed message a while longer, right before sending it;
    /// `false` when the lease is no longer this worker's (do not send).
    pub async fn renew_email(
        &self,
        message: &OutboxMessage,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let _gate = self.sqlite_gate().await;
        let renewed = sqlx::query(
            "UPDATE outbox SET lease_until = $1 WHERE id = $2 AND lease_token = $3 AND status = 'pending'",
        )
        .bind(to_ms(until))
        .bind(message.id.as_str())
        .bind(message.lease_token)
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Marks a message sent, under its lease; answers whether it was ours.
    pub async fn mark_sent(
        &self,
        message: &OutboxMessage,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let _gate = self.sqlite_gate().await;
        let marked = sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL
             WHERE id = $2 AND lease_token = $3 AND status = 'pending'",
        )
        .bind(to_ms(now))
        .bind(message.id.as_str())
        .bind(message.lease_token)
        .execute(&self.pool)
        .await?;
        Ok(marked.rows_affected() == 1)
    }

    /// A failed attempt: retried at `retry_at`, or dead when `None`; only
    /// under the message's lease.
    pub async fn mark_failed(
        &self,
        message: &OutboxMessage,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let _gate = self.sqlite_gate().await;
        let (status, next) = match retry_at {
            Some(at) => ("pending", Some(to_ms(at))),
            None => ("dead", None),
        };
        let marked = sqlx::query(
            "UPDATE outbox SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), lease_until = NULL, last_error = $3
             WHERE id = $4 AND lease_token = $5 AND status = 'pending'",
        )
        .bind(status)
        .bind(next)
        .bind(error)
        .bind(message.id.as_str())
        .bind(message.lease_token)
        .execute(&self.pool)
        .await?;
        Ok(marked.rows_affected() == 1)
    }

    /// Messages waiting to go out (for the queue-depth metric).
    pub async fn pending_emails(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Messages, newest first, optionally to one recipient.
    pub async fn outbox(
        &self,
        recipient: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ($1 IS NULL OR recipient = $1) ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(recipient.map(str::to_owned))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_message).collect()
    }

    /// Enqueues one message outside an organization's write (sign-in links).
    pub async fn enqueue_email(
        &self,
        org_id: Option<&str>,
        email: &EmailDraft,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let _gate = self.sqlite_gate().await;
        let mut tx = self.pool.begin().await?;
        enqueue(&mut tx, org_id, email, to_ms(now)).await?;
        tx.commit().await?;
        self.announce_email();
        Ok(())
    }
}
