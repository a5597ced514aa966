//! The audit log (SPEC §10): append-only, per organization, hash-chained.
//! Each entry's hash covers its own fields and the previous entry's hash,
//! so any edit or deletion breaks verification from that entry on.

use roster_core::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::time::{from_ms, to_ms};
use crate::write::WriteContext;
use crate::{Store, StoreError};

/// The hash the first entry of every organization chains from.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acted: a person, the platform, or the system on behalf of a person
/// (expiry, with the original inviter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditActor {
    pub kind: &'static str,
    pub user_id: Option<String>,
}

impl AuditActor {
    pub fn user(user_id: &str) -> Self {
        AuditActor {
            kind: "user",
            user_id: Some(user_id.to_owned()),
        }
    }
    pub fn platform() -> Self {
        AuditActor {
            kind: "platform",
            user_id: None,
        }
    }
    pub fn system_on_behalf_of(user_id: Option<String>) -> Self {
        AuditActor {
            kind: "system_on_behalf_of",
            user_id,
        }
    }
}

/// An entry to append, in the transaction of the change it records.
#[derive(Clone, Debug)]
pub struct AuditDraft {
    pub action: &'static str,
    pub trigger: &'static str,
    pub target_user_id: Option<String>,
    pub space_id: Option<String>,
    pub details: serde_json::Value,
    /// Overrides the write's actor (expiry names the original inviter).
    pub actor: Option<AuditActor>,
}

impl AuditDraft {
    pub fn new(action: &'static str) -> Self {
        AuditDraft {
            action,
            trigger: "request",
            target_user_id: None,
            space_id: None,
            details: serde_json::Value::Object(Default::default()),
            actor: None,
        }
    }
    pub fn target(mut self, user_id: &str) -> Self {
        self.target_user_id = Some(user_id.to_owned());
        self
    }
    pub fn space(mut self, space_id: &str) -> Self {
        self.space_id = Some(space_id.to_owned());
        self
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
    pub fn trigger(mut self, trigger: &'static str) -> Self {
        self.trigger = trigger;
        self
    }
    pub fn actor(mut self, actor: AuditActor) -> Self {
        self.actor = Some(actor);
        self
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: String,
    pub seq: i64,
    pub at: Timestamp,
    pub actor: AuditActorRow,
    pub trigger: String,
    pub action: String,
    pub target_user_id: Option<String>,
    pub space_id: Option<String>,
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    pub hash: String,
    pub prev_hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditActorRow {
    pub kind: String,
    pub user_id: Option<String>,
}

/// The bytes an entry's hash covers: every field but the hash, in a fixed
/// order, as JSON.
fn entry_hash(e: &AuditEntry) -> String {
    let canonical = serde_json::json!([
        e.prev_hash,
        e.seq,
        e.id,
        to_ms(e.at),
        e.actor.kind,
        e.actor.user_id,
        e.trigger,
        e.action,
        e.target_user_id,
        e.space_id,
        e.details.to_string(),
        e.request_id,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
    drafts: &[AuditDraft],
    ctx: &WriteContext,
) -> Result<(), StoreError> {
    if drafts.is_empty() {
        return Ok(());
    }
    // The organization row is locked by the caller, so the head is stable.
    let head = sqlx::query("SELECT audit_seq, audit_head FROM orgs WHERE id = $1")
        .bind(org_id)
        .fetch_one(&mut **tx)
        .await?;
    let mut seq: i64 = head.try_get(0)?;
    let mut prev_hash = match head.try_get::<String, _>(1)? {
        h if h.is_empty() => GENESIS_HASH.to_owned(),
        h => h,
    };
    for draft in drafts {
        seq += 1;
        let actor = draft.actor.clone().unwrap_or_else(|| ctx.actor.clone());
        let mut entry = AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            seq,
            at: from_ms(to_ms(ctx.now)),
            actor: AuditActorRow {
                kind: actor.kind.to_owned(),
                user_id: actor.user_id,
            },
            trigger: draft.trigger.to_owned(),
            action: draft.action.to_owned(),
            target_user_id: draft.target_user_id.clone(),
            space_id: draft.space_id.clone(),
            details: draft.details.clone(),
            request_id: ctx.request_id.clone(),
            hash: String::new(),
            prev_hash: prev_hash.clone(),
        };
        entry.hash = entry_hash(&entry);
        sqlx::query(
            "INSERT INTO audit (org_id, seq, id, at, actor_kind, actor_user_id, trigger_kind, action, target_user_id, space_id, details, request_id, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(org_id.to_owned())
        .bind(entry.seq)
        .bind(entry.id.clone())
        .bind(to_ms(entry.at))
        .bind(entry.actor.kind.clone())
        .bind(entry.actor.user_id.clone())
        .bind(entry.trigger.clone())
        .bind(entry.action.clone())
        .bind(entry.target_user_id.clone())
        .bind(entry.space_id.clone())
        .bind(entry.details.to_string())
        .bind(entry.request_id.clone())
        .bind(entry.prev_hash.clone())
        .bind(entry.hash.clone())
        .execute(&mut **tx)
        .await?;
        prev_hash = entry.hash;
    }
    sqlx::query("UPDATE orgs SET audit_seq = $1, audit_head = $2 WHERE id = $3")
        .bind(seq)
        .bind(prev_hash)
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn parse_entry(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let details: String = row.try_get("details")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        at: from_ms(row.try_get("at")?),
        actor: AuditActorRow {
            kind: row.try_get("actor_kind")?,
            user_id: row.try_get("actor_user_id")?,
        },
        trigger: row.try_get("trigger_kind")?,
        action: row.try_get("action")?,
        target_user_id: row.try_get("target_user_id")?,
        space_id: row.try_get("space_id")?,
        details: serde_json::from_str(&details).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        request_id: row.try_get("request_id")?,
        hash: row.try_get("hash")?,
        prev_hash: row.try_get("prev_hash")?,
    })
}

/// Filters of `GET …/audit`; entries come in `seq` order after `after_seq`.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub target_user_id: Option<String>,
    pub since: Option<Timestamp>,
    pub after_seq: i64,
    pub limit: i64,
}

/// The result of checking an organization's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    pub ok: bool,
    pub entries: i64,
    pub first_bad_seq: Option<i64>,
}

const AUDIT_COLUMNS: &str = "id, seq, at, actor_kind, actor_user_id, trigger_kind, action, target_user_id, space_id, details, request_id, prev_hash, hash";

impl Store {
    pub async fn audit_entries(
        &self,
        org_id: &str,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE org_id = $1 AND seq > $2
               AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target_user_id = $4) AND ($5 IS NULL OR at >= $5)
             ORDER BY seq LIMIT $6"
        ))
        .bind(org_id)
        .bind(filter.after_seq)
        .bind(filter.action.clone())
        .bind(filter.target_user_id.clone())
        .bind(filter.since.map(to_ms))
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_entry).collect()
    }

    /// Recomputes every hash in order; the first entry that does not match
    /// (its content, or its link to the previous one) is named.
    pub async fn verify_audit(&self, org_id: &str) -> Result<ChainCheck, StoreError> {
        let mut prev = GENESIS_HASH.to_owned();
        let mut after = 0i64;
        let mut count = 0i64;
        loop {
            let batch = self
                .audit_entries(
                    org_id,
                    &AuditFilter {
                        after_seq: after,
                        limit: 1000,
                        ..Default::default()
                    },
                )
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            for (i, entry) in batch.iter().enumerate() {
                let expected_seq = count + i as i64 + 1;
                if entry.prev_hash != prev
                    || entry_hash(entry) != entry.hash
                    || entry.seq != expected_seq
                {
                    return Ok(ChainCheck {
                        ok: false,
                        entries: count + i as i64,
                        first_bad_seq: Some(entry.seq),
                    });
                }
                prev = entry.hash.clone();
            }
            count += batch.len() as i64;
        }
        // The chain must end where the organization says it does: entries
        // removed from the end are missing from here on.
        let head = sqlx::query("SELECT audit_seq, audit_head FROM orgs WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(head) = head {
            let (head_seq, head_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
            let last_hash = if count == 0 { String::new() } else { prev };
            let first_bad = if head_seq > count {
                Some(count + 1)
            } else if count > head_seq {
                Some(head_seq + 1)
            } else {
                (head_hash != last_hash).then_some(count)
            };
            if first_bad.is_some() {
                return Ok(ChainCheck {
                    ok: false,
                    entries: count,
                    first_bad_seq: first_bad,
                });
            }
        }
        Ok(ChainCheck {
            ok: true,
            entries: count,
            first_bad_seq: None,
        })
    }
}
