//! The audit log (SPEC §10): append-only, per organization, hash-chained.
//! Each entry's hash covers its own fields and the previous entry's hash,
//! so any edit or deletion breaks verification from that entry on.

use roster_core::{ActorKind, AuditAction, OrgId, SpaceId, Timestamp, Trigger, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::events::{event_id, rfc3339, Event, EventActor, EventData};
use crate::load::corrupt;
use crate::plan::{AuditActor, AuditDraft, WriteContext};
use crate::time::{from_ms, to_ms};
use crate::webhooks;
use crate::{batch, Backend, Store, StoreError};

/// The hash the first entry of every organization chains from.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: String,
    pub seq: i64,
    pub at: Timestamp,
    pub actor: AuditActor,
    pub trigger: Trigger,
    pub action: AuditAction,
    pub target_user_id: Option<UserId>,
    pub space_id: Option<SpaceId>,
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    pub hash: String,
    pub prev_hash: String,
}

/// The bytes an entry's hash covers: every field but the hash, in a fixed
/// order, as JSON.
fn entry_hash(e: &AuditEntry) -> String {
    let canonical = serde_json::json!([
        e.prev_hash,
        e.seq,
        e.id,
        to_ms(e.at),
        e.actor.kind.as_str(),
        e.actor.user_id.as_ref().map(UserId::as_str),
        e.trigger.as_str(),
        e.action.as_str(),
        e.target_user_id.as_ref().map(UserId::as_str),
        e.space_id.as_ref().map(SpaceId::as_str),
        e.details.to_string(),
        e.request_id,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Appends a change's entries to its organization's chain, each with its
/// event (and the deliveries of the endpoints that want it). Answers how
/// many deliveries it queued.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    org_id: &str,
    drafts: &[AuditDraft],
    grant_actor: &AuditActor,
    ctx: &WriteContext,
    revision: i64,
) -> Result<usize, StoreError> {
    if drafts.is_empty() {
        return Ok(0);
    }
    let endpoints = webhooks::endpoints_for(tx, org_id).await?;
    let mut deliveries = 0;
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
    let mut entries = Vec::with_capacity(drafts.len());
    for draft in drafts {
        seq += 1;
        let actor = draft.actor.clone().unwrap_or_else(|| grant_actor.clone());
        let mut entry = AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            seq,
            at: from_ms(to_ms(ctx.now)),
            actor,
            trigger: draft.trigger,
            action: draft.action,
            target_user_id: draft.target_user_id.clone(),
            space_id: draft.space_id.clone(),
            details: draft.details.clone(),
            request_id: ctx.request_id.clone(),
            hash: String::new(),
            prev_hash,
        };
        entry.hash = entry_hash(&entry);
        prev_hash = entry.hash.clone();
        entries.push(entry);
    }
    let places = feed_places(tx, backend, entries.len()).await?;
    for (chunk, places) in entries
        .chunks(batch::rows_per_statement(backend, 18))
        .zip(places.chunks(batch::rows_per_statement(backend, 18)))
    {
        let sql = format!(
            "INSERT INTO audit (org_id, seq, id, at, actor_kind, actor_user_id, trigger_kind, action, target_user_id, space_id, details, request_id, prev_hash, hash, event_id, revision, position, write_order) VALUES {}",
            batch::placeholders(chunk.len(), 18)
        );
        let mut insert = sqlx::query(&sql);
        for (entry, (position, write_order)) in chunk.iter().zip(places) {
            insert = insert
                .bind(org_id)
                .bind(entry.seq)
                .bind(entry.id.as_str())
                .bind(to_ms(entry.at))
                .bind(entry.actor.kind.as_str())
                .bind(entry.actor.user_id.as_ref().map(UserId::as_str))
                .bind(entry.trigger.as_str())
                .bind(entry.action.as_str())
                .bind(entry.target_user_id.as_ref().map(UserId::as_str))
                .bind(entry.space_id.as_ref().map(SpaceId::as_str))
                .bind(entry.details.to_string())
                .bind(entry.request_id.as_deref())
                .bind(entry.prev_hash.as_str())
                .bind(entry.hash.as_str())
                .bind(event_id(&entry.id))
                .bind(revision)
                .bind(*position)
                .bind(*write_order);
        }
        insert.execute(&mut **tx).await?;
    }
    if !endpoints.is_empty() {
        for entry in &entries {
            let event = Event {
                id: event_id(&entry.id),
                kind: entry.action,
                org_id: OrgId::from(org_id),
                occurred_at: rfc3339(entry.at),
                revision,
                actor: EventActor {
                    kind: entry.actor.kind,
                    user_id: entry.actor.user_id.clone(),
                },
                trigger: entry.trigger,
                data: EventData {
                    target_user_id: entry.target_user_id.clone(),
                    space_id: entry.space_id.clone(),
                    details: entry.details.clone(),
                },
            };
            deliveries += webhooks::enqueue(tx, &endpoints, &event, to_ms(ctx.now)).await?;
        }
    }
    sqlx::query("UPDATE orgs SET audit_seq = $1, audit_head = $2 WHERE id = $3")
        .bind(seq)
        .bind(prev_hash)
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
    Ok(deliveries)
}

/// Each new entry's place in the platform feed, as `(position,
/// write_order)`. SQLite has one writer, so an entry takes its position as
/// it is written; on PostgreSQL the sequencer gives positions once writes
/// have committed, in write order (crate::events).
async fn feed_places(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    count: usize,
) -> Result<Vec<(Option<i64>, Option<i64>)>, StoreError> {
    let count = i64::try_from(count).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(match backend {
        Backend::Sqlite => {
            let last: i64 = sqlx::query("SELECT COALESCE(MAX(position), 0) FROM audit")
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
            (1..=count).map(|k| (Some(last + k), None)).collect()
        }
        Backend::Postgres => {
            let rows =
                sqlx::query("SELECT nextval('roster_write_order') FROM generate_series(1, $1)")
                    .bind(count)
                    .fetch_all(&mut **tx)
                    .await?;
            let mut orders = rows
                .iter()
                .map(|row| row.try_get::<i64, _>(0))
                .collect::<Result<Vec<_>, _>>()?;
            orders.sort_unstable();
            orders
                .into_iter()
                .map(|order| (None, Some(order)))
                .collect()
        }
    })
}

fn parse_entry(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let details: String = row.try_get("details")?;
    let named = |column: &str| -> Result<String, StoreError> { Ok(row.try_get(column)?) };
    Ok(AuditEntry {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        at: from_ms(row.try_get("at")?),
        actor: AuditActor {
            kind: named("actor_kind")?.parse::<ActorKind>().map_err(corrupt)?,
            user_id: row
                .try_get::<Option<String>, _>("actor_user_id")?
                .map(UserId::from),
        },
        trigger: named("trigger_kind")?.parse::<Trigger>().map_err(corrupt)?,
        action: named("action")?.parse::<AuditAction>().map_err(corrupt)?,
        target_user_id: row
            .try_get::<Option<String>, _>("target_user_id")?
            .map(UserId::from),
        space_id: row
            .try_get::<Option<String>, _>("space_id")?
            .map(SpaceId::from),
        details: serde_json::from_str(&details).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        request_id: row.try_get("request_id")?,
        hash: row.try_get("hash")?,
        prev_hash: row.try_get("prev_hash")?,
    })
}

/// Filters of `GET …/audit`; entries come in `seq` order after `after_seq`.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub target_user_id: Option<UserId>,
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
        org_id: &OrgId,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE org_id = $1 AND seq > $2
               AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target_user_id = $4) AND ($5 IS NULL OR at >= $5)
             ORDER BY seq LIMIT $6"
        ))
        .bind(org_id.as_str())
        .bind(filter.after_seq)
        .bind(filter.action.map(AuditAction::as_str))
        .bind(filter.target_user_id.as_ref().map(UserId::as_str))
        .bind(filter.since.map(to_ms))
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_entry).collect()
    }

    /// Recomputes every hash in order; the first entry that does not match
    /// (its content, or its link to the previous one) is named.
    /// The newest entry's place and hash: what a host stores elsewhere to
    /// prove later that the log it saw was not rewritten. `(0, "")` for an
    /// organization with no entries.
    pub async fn audit_head(&self, org_id: &OrgId) -> Result<Option<(i64, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT audit_seq, audit_head FROM orgs WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(org_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// [`Store::verify_audit`], and that the entry at an anchored head
    /// (`seq`, `hash`, kept outside Roster) is still there unchanged: a
    /// rewritten log fails this even if its new chain is consistent.
    pub async fn verify_audit_anchor(
        &self,
        org_id: &OrgId,
        seq: i64,
        hash: &str,
    ) -> Result<ChainCheck, StoreError> {
        let check = self.verify_audit(org_id).await?;
        let anchored = self
            .audit_entries(
                org_id,
                &AuditFilter {
                    after_seq: seq - 1,
                    limit: 1,
                    ..Default::default()
                },
            )
            .await?
            .first()
            .is_some_and(|e| e.seq == seq && e.hash == hash);
        if anchored || !check.ok {
            return Ok(check);
        }
        Ok(ChainCheck {
            ok: false,
            entries: check.entries,
            first_bad_seq: Some(seq.max(1)),
        })
    }

    pub async fn verify_audit(&self, org_id: &OrgId) -> Result<ChainCheck, StoreError> {
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
            .bind(org_id.as_str())
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
