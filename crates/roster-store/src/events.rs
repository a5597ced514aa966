//! The event feeds (SPEC §16): one event per audit entry, written in the
//! same transaction. An organization's feed is its audit order (`seq`,
//! assigned under the organization's lock, so commit order). The platform
//! feed needs one order across organizations that commit concurrently:
//! entries get a `position` only once committed, from one sequencer at a
//! time, so a reader who saw position P never later finds a new event
//! below P (docs/decisions.md "The platform feed").

use roster_core::{ActorKind, AuditAction, OrgId, SpaceId, Timestamp, Trigger, UserId};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::load::corrupt;
use crate::time::from_ms;
use crate::{Backend, Store, StoreError};

/// Who an event names as actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    pub kind: ActorKind,
    pub user_id: Option<UserId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    pub target_user_id: Option<UserId>,
    pub space_id: Option<SpaceId>,
    pub details: serde_json::Value,
}

/// An event, as the feeds list it and webhooks deliver it (API.md "Events").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: AuditAction,
    pub org_id: OrgId,
    pub occurred_at: String,
    pub revision: i64,
    pub actor: EventActor,
    pub trigger: Trigger,
    pub data: EventData,
}

/// An event and where it stands in the feeds.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedItem {
    pub event: Event,
    /// In its organization's feed.
    pub seq: i64,
    /// In the platform feed, once sequenced.
    pub position: Option<i64>,
}

/// RFC 3339 UTC to the second, as the API shows every time.
pub fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The id an audit entry's event carries (`evt_` + the entry's id).
pub(crate) fn event_id(audit_id: &str) -> String {
    format!("evt_{}", audit_id.replace('-', ""))
}

const EVENT_COLUMNS: &str = "event_id, org_id, seq, position, at, revision, actor_kind, actor_user_id, trigger_kind, action, target_user_id, space_id, details";

fn parse_item(row: &AnyRow) -> Result<FeedItem, StoreError> {
    let named = |column: &str| -> Result<String, StoreError> { Ok(row.try_get(column)?) };
    let details: String = row.try_get("details")?;
    let event = Event {
        id: named("event_id")?,
        kind: named("action")?.parse().map_err(corrupt)?,
        org_id: named("org_id")?.into(),
        occurred_at: rfc3339(from_ms(row.try_get("at")?)),
        revision: row
            .try_get::<Option<i64>, _>("revision")?
            .unwrap_or_default(),
        actor: EventActor {
            kind: named("actor_kind")?.parse().map_err(corrupt)?,
            user_id: row
                .try_get::<Option<String>, _>("actor_user_id")?
                .map(UserId::from),
        },
        trigger: named("trigger_kind")?.parse().map_err(corrupt)?,
        data: EventData {
            target_user_id: row
                .try_get::<Option<String>, _>("target_user_id")?
                .map(UserId::from),
            space_id: row
                .try_get::<Option<String>, _>("space_id")?
                .map(SpaceId::from),
            details: serde_json::from_str(&details).map_err(corrupt)?,
        },
    };
    Ok(FeedItem {
        event,
        seq: row.try_get("seq")?,
        position: row.try_get("position")?,
    })
}

/// Which events a page asks for.
#[derive(Clone, Debug, Default)]
pub struct FeedQuery {
    /// Only these types (empty: all).
    pub types: Vec<AuditAction>,
    /// Events after this place in the feed (`seq` in an organization's
    /// feed, `position` in the platform's).
    pub after: i64,
    pub limit: i64,
}

/// `AND action IN ($first, …)` for a type filter, numbering its binds
/// from `first`; nothing without one.
fn types_clause(types: &[AuditAction], first: usize) -> String {
    if types.is_empty() {
        return String::new();
    }
    let binds: Vec<String> = (first..first + types.len())
        .map(|n| format!("${n}"))
        .collect();
    format!(" AND action IN ({})", binds.join(", "))
}

impl Store {
    /// An organization's events after `seq`, oldest first.
    pub async fn org_events(
        &self,
        org_id: &OrgId,
        query: &FeedQuery,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit WHERE org_id = $1 AND seq > $2{} ORDER BY seq LIMIT $3",
            types_clause(&query.types, 4)
        );
        let mut select = sqlx::query(&sql)
            .bind(org_id.as_str())
            .bind(query.after)
            .bind(query.limit);
        for kind in &query.types {
            select = select.bind(kind.as_str());
        }
        let rows = select.fetch_all(&self.pool).await?;
        rows.iter().map(parse_item).collect()
    }

    /// Every organization's (or one's) sequenced events after `position`.
    pub async fn platform_events(
        &self,
        org_id: Option<&OrgId>,
        query: &FeedQuery,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit WHERE position > $2 AND ($1 IS NULL OR org_id = $1){} ORDER BY position LIMIT $3",
            types_clause(&query.types, 4)
        );
        let mut select = sqlx::query(&sql)
            .bind(org_id.map(OrgId::as_str))
            .bind(query.after)
            .bind(query.limit);
        for kind in &query.types {
            select = select.bind(kind.as_str());
        }
        let rows = select.fetch_all(&self.pool).await?;
        rows.iter().map(parse_item).collect()
    }

    /// Where an event stands, by its id.
    pub async fn event(&self, event_id: &str) -> Result<Option<FeedItem>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM audit WHERE event_id = $1"
        ))
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(parse_item).transpose()
    }

    /// Gives committed events their place in the platform feed, in the
    /// order they were written; one sequencer at a time across replicas.
    /// Answers how many it placed. On SQLite events are placed as they are
    /// written (one writer), so there is nothing to do.
    pub async fn sequence_events(&self) -> Result<u64, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7402612)")
            .execute(&mut *tx)
            .await?;
        let placed = sqlx::query(
            "UPDATE audit SET position = numbered.position FROM (
                SELECT org_id, seq,
                       (SELECT COALESCE(MAX(position), 0) FROM audit) + ROW_NUMBER() OVER (ORDER BY write_order, org_id, seq) AS position
                FROM audit WHERE position IS NULL
             ) numbered
             WHERE audit.org_id = numbered.org_id AND audit.seq = numbered.seq",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(placed)
    }

    /// The newest place in the platform feed (a cursor for "from now on").
    pub async fn last_position(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(position), 0) FROM audit")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}
