//! The one write path: lock the organization, run the rules on a fresh
//! snapshot, persist effects + rows + audit + outbox, bump the revision, all
//! in one transaction.
//!
//! Locking (docs/decisions.md): on PostgreSQL `SELECT … FOR UPDATE` on the
//! organization's row serializes its writers across replicas; on SQLite the
//! database has one writer and this process queues its writes on a mutex.
//! Either way the rules always see the state they change.

use std::sync::Arc;

use roster_core::{
    Account, Effect, IaAssignment, OrgId, OrgSettings, OrgSnapshot, SpaceId, Timestamp,
};
use sqlx::{Any, Row as _, Transaction};

use crate::audit;
use crate::load::{encode_domains, encode_seat_roles, load_snapshot};
use crate::outbox;
use crate::plan::{AuditActor, Found, Lookups, Planned, Row, WriteContext};
use crate::records::read_token;
use crate::time::to_ms;
use crate::webhooks;
use crate::{batch, Backend, Store, StoreError};
use rustc_hash::{FxHashMap, FxHashSet};

#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    #[error("{0}")]
    Rule(E),
    #[error("organization not found")]
    OrgNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<E> From<sqlx::Error> for WriteError<E> {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Store(StoreError::from(e))
    }
}

/// What a transaction wrote besides its effects.
struct Persisted {
    revision: i64,
    events: usize,
    deliveries: usize,
}

/// A writer's turn: SQLite's one writer in this process, or on PostgreSQL
/// one writer per organization in this process (the row lock orders
/// writers across replicas). Either way it is held until the new snapshot
/// is cached, so the next writer in this process never loads it again.
struct WriterTurn<'a> {
    _database: Option<tokio::sync::MutexGuard<'a, ()>>,
    _org: Option<crate::gates::Turn<'a>>,
}

/// What a committed write answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written<T> {
    pub value: T,
    /// The organization's revision after the write (unchanged if it
    /// changed nothing).
    pub revision: i64,
}

impl Store {
    /// Runs `rules` on the organization's current state, under its write
    /// lock, and persists what they plan, atomically. `lookups` are read
    /// under the same lock before the rules run.
    pub async fn write<T, E>(
        &self,
        org_id: &OrgId,
        ctx: &WriteContext,
        lookups: &Lookups,
        rules: impl FnOnce(&OrgSnapshot, &Found) -> Result<Planned<T>, E>,
    ) -> Result<Written<T>, WriteError<E>> {
        let _turn = self.writer_turn(org_id).await;
        let mut tx = self.pool.begin().await?;
        let lock = match self.backend {
            Backend::Postgres => {
                "SELECT revision FROM orgs WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
            }
            Backend::Sqlite => "SELECT revision FROM orgs WHERE id = $1 AND deleted_at IS NULL",
        };
        let Some(row) = sqlx::query(lock)
            .bind(org_id.as_str())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(WriteError::OrgNotFound);
        };
        let revision: i64 = row.try_get(0)?;
        let snapshot = match self
            .cache
            .get(org_id.as_str())
            .filter(|hit| hit.snapshot.revision == revision)
        {
            Some(hit) => {
                self.cache.served(true);
                hit.snapshot
            }
            None => {
                self.cache.served(false);
                self.cache.loaded();
                Arc::new(
                    load_snapshot(&mut tx, org_id.as_str())
                        .await?
                        .ok_or(WriteError::OrgNotFound)?,
                )
            }
        };
        let found = look_up(&mut tx, self.backend, org_id, lookups, ctx.now).await?;
        let planned = match ruled(rules(&snapshot, &found), org_id) {
            Ok(planned) => planned,
            // Rolled back before the SQLite gate opens for the next writer.
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        };
        if planned.is_empty() || ctx.dry_run {
            // Nothing to change (or only asked what would change): the
            // accounts looked up are not kept either.
            tx.rollback().await?;
            self.cache.offer(snapshot);
            return Ok(Written {
                value: planned.value,
                revision,
            });
        }
        let effects = planned.change().effects();
        let persisted = self
            .persist(&mut tx, org_id, &planned, &effects, ctx)
            .await?;
        tx.commit().await?;
        self.after_commit(org_id, snapshot, &planned, &effects, &persisted);
        Ok(Written {
            value: planned.value,
            revision: persisted.revision,
        })
    }

    /// Creates an organization and runs `rules` on its empty snapshot in the
    /// same transaction (for its first Owner).
    pub async fn create_org<T, E>(
        &self,
        org_id: &OrgId,
        name: &str,
        settings: &OrgSettings,
        ctx: &WriteContext,
        lookups: &Lookups,
        rules: impl FnOnce(&OrgSnapshot, &Found) -> Result<Planned<T>, E>,
    ) -> Result<Written<T>, WriteError<E>> {
        let _turn = self.writer_turn(org_id).await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO orgs (id, name, seat_limit, allow_ia, seat_roles, ia_domains, revision, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .bind(org_id.as_str())
        .bind(name)
        .bind(settings.seat_limit.map(i64::from))
        .bind(i64::from(settings.allow_implementation_admin))
        .bind(encode_seat_roles(settings.seat_policy))
        .bind(encode_domains(&settings.ia_domains))
        .bind(to_ms(ctx.now))
        .execute(&mut *tx)
        .await?;
        let snapshot = Arc::new(OrgSnapshot::new(
            org_id.clone(),
            name.to_owned(),
            settings.clone(),
        ));
        let found = look_up(&mut tx, self.backend, org_id, lookups, ctx.now).await?;
        let planned = match ruled(rules(&snapshot, &found), org_id) {
            Ok(planned) => planned,
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        };
        let effects = planned.change().effects();
        let persisted = self
            .persist(&mut tx, org_id, &planned, &effects, ctx)
            .await?;
        tx.commit().await?;
        self.after_commit(org_id, snapshot, &planned, &effects, &persisted);
        Ok(Written {
            value: planned.value,
            revision: persisted.revision,
        })
    }

    fn after_commit<T>(
        &self,
        org_id: &OrgId,
        snapshot: Arc<OrgSnapshot>,
        planned: &Planned<T>,
        effects: &[Effect],
        persisted: &Persisted,
    ) {
        let revision = persisted.revision;
        if !planned.emails.is_empty() {
            self.announce_email();
        }
        if persisted.events > 0 {
            self.announce_events();
        }
        if persisted.deliveries > 0 {
            self.announce_delivery();
        }
        if effects.iter().any(|e| matches!(e, Effect::DeleteOrg)) {
            self.cache.evict(org_id.as_str(), None);
        } else {
            self.remember(snapshot, effects, revision);
        }
    }

    /// Held for the whole of a write, until its snapshot is cached.
    async fn writer_turn<'a>(&'a self, org_id: &'a OrgId) -> WriterTurn<'a> {
        match self.backend {
            Backend::Sqlite => WriterTurn {
                _database: Some(self.write_gate.lock().await),
                _org: None,
            },
            Backend::Postgres => WriterTurn {
                _database: None,
                _org: Some(self.writing.enter(org_id.as_str()).await),
            },
        }
    }

    pub(crate) async fn sqlite_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_gate.lock().await),
            Backend::Postgres => None,
        }
    }

    /// The cached snapshot moves to the new revision by replaying the effects.
    fn remember(&self, snapshot: Arc<OrgSnapshot>, effects: &[Effect], revision: i64) {
        let mut next = Arc::unwrap_or_clone(snapshot);
        for effect in effects {
            next.apply(&at_stored_precision(effect));
        }
        next.revision = revision;
        self.cache.offer(Arc::new(next));
    }

    async fn persist<T>(
        &self,
        tx: &mut Transaction<'static, Any>,
        org_id: &OrgId,
        planned: &Planned<T>,
        effects: &[Effect],
        ctx: &WriteContext,
    ) -> Result<Persisted, StoreError> {
        let now = to_ms(ctx.now);
        let revision: i64 =
            sqlx::query("UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision")
                .bind(org_id.as_str())
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
        let org = org_id.as_str();
        persist_effects(tx, self.backend, org, effects, now).await?;
        for row in &planned.rows {
            persist_row(tx, org, row).await?;
        }
        let actor = AuditActor::of(planned.change().grant().by());
        let deliveries =
            audit::append(tx, self.backend, org, &planned.audit, &actor, ctx, revision).await?;
        for email in &planned.emails {
            outbox::enqueue(tx, Some(org), email, now).await?;
        }
        let org_id = org;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify('roster_orgs', $1)")
                .bind(format!("{org_id}:{revision}"))
                .execute(&mut **tx)
                .await?;
        }
        Ok(Persisted {
            revision,
            events: planned.audit.len(),
            deliveries,
        })
    }
}

/// The effect as a fresh load will read it back: times in whole
/// milliseconds, as stored.
fn at_stored_precision(effect: &Effect) -> Effect {
    let ms = |t: Timestamp| crate::time::from_ms(to_ms(t));
    let ia = |ia: Option<&IaAssignment>| {
        ia.map(|ia| IaAssignment {
            assigned_at: ms(ia.assigned_at),
            expires_at: ia.expires_at.map(ms),
            duration: ia.duration,
            invited_by: ia.invited_by.clone(),
        })
    };
    match effect {
        Effect::AddMember(m) => {
            let mut m = m.clone();
            m.ia = ia(m.ia.as_deref()).map(Box::new);
            Effect::AddMember(m)
        }
        Effect::SetOrgRole {
            user_id,
            role,
            ia: assignment,
        } => Effect::SetOrgRole {
            user_id: user_id.clone(),
            role: *role,
            ia: ia(assignment.as_ref()),
        },
        Effect::PutInvitation(inv) => {
            let mut inv = inv.clone();
            inv.expires_at = ms(inv.expires_at);
            inv.created_at = ms(inv.created_at);
            Effect::PutInvitation(inv)
        }
        other => other.clone(),
    }
}

async fn persist_row(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
    row: &Row,
) -> Result<(), StoreError> {
    match row {
        Row::InvitationToken {
            invitation_id,
            token_hash,
        } => {
            sqlx::query("UPDATE invitations SET token_hash = $1 WHERE id = $2 AND org_id = $3")
                .bind(token_hash.clone())
                .bind(invitation_id.as_str())
                .bind(org_id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// What the rules planned, if they allowed it and their grant is for this
/// organization: a change allowed in one organization is never written in
/// another.
fn ruled<T, E>(
    planned: Result<Planned<T>, E>,
    org_id: &OrgId,
) -> Result<Planned<T>, WriteError<E>> {
    let planned = planned.map_err(WriteError::Rule)?;
    if planned.change().grant().org() == org_id {
        Ok(planned)
    } else {
        Err(WriteError::Store(StoreError::GrantMismatch))
    }
}

/// Finds or creates the accounts a write needs, in address order (so two
/// writes creating the same accounts never wait on each other in a cycle),
/// and reads the token it acts on.
async fn look_up(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    org_id: &OrgId,
    lookups: &Lookups,
    now: Timestamp,
) -> Result<Found, StoreError> {
    let mut found = Found::default();
    let mut requests: Vec<_> = lookups.accounts.iter().collect();
    requests.sort_by(|a, b| a.email.cmp(&b.email));
    requests.dedup_by(|a, b| a.email == b.email);
    let at = to_ms(now);
    for chunk in requests.chunks(batch::rows_per_statement(backend, 4)) {
        let sql = format!(
            "INSERT INTO users (id, email, name, created_at) VALUES {} ON CONFLICT (email) DO NOTHING RETURNING email",
            batch::placeholders(chunk.len(), 4)
        );
        let mut insert = sqlx::query(&sql);
        for request in chunk {
            insert = insert
                .bind(request.fresh_id.as_str())
                .bind(request.email.as_str())
                .bind(request.name.as_str())
                .bind(at);
        }
        let created = insert
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<FxHashSet<String>, _>>()?;
        let binds: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id, email, name FROM users WHERE email IN ({})",
            binds.join(", ")
        );
        let mut select = sqlx::query(&sql);
        for request in chunk {
            select = select.bind(request.email.as_str());
        }
        let rows = select.fetch_all(&mut **tx).await?;
        let mut ids: FxHashMap<String, (String, String)> = FxHashMap::default();
        for row in &rows {
            ids.insert(
                row.try_get("email")?,
                (row.try_get("id")?, row.try_get("name")?),
            );
        }
        for request in chunk {
            let (id, name) = ids
                .remove(request.email.as_str())
                .ok_or_else(|| StoreError::Corrupt(format!("no account for {}", request.email)))?;
            found.accounts.insert(
                request.email.clone(),
                Account {
                    user_id: id.into(),
                    email: request.email.clone(),
                    name,
                    created: created.contains(request.email.as_str()),
                },
            );
        }
    }
    if let Some(token_id) = &lookups.token {
        found.token = read_token(&mut **tx, token_id)
            .await?
            .filter(|t| t.org_id == *org_id);
    }
    Ok(found)
}

/// Every effect in order; a long run of new memberships and roles (an
/// import) goes in a few statements instead of one each.
async fn persist_effects(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    org: &str,
    effects: &[Effect],
    now: i64,
) -> Result<(), StoreError> {
    let mut start = 0;
    while start < effects.len() {
        let end = effects[start..]
            .iter()
            .position(|e| !batch::joins_run(e))
            .map_or(effects.len(), |p| start + p);
        let run = &effects[start..end];
        if run.len() >= 8 && batch::batchable(run) {
            batch::add_members(tx, backend, org, run, now).await?;
            for effect in run
                .iter()
                .filter(|e| matches!(e, Effect::SetOrgRole { .. }))
            {
                persist_effect(tx, org, effect, now).await?;
            }
            batch::set_space_roles(tx, backend, org, run).await?;
        } else {
            for effect in run {
                persist_effect(tx, org, effect, now).await?;
            }
        }
        if let Some(effect) = effects.get(end) {
            persist_effect(tx, org, effect, now).await?;
        }
        start = end + 1;
    }
    Ok(())
}

async fn persist_effect(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    effect: &Effect,
    now: i64,
) -> Result<(), StoreError> {
    match effect {
        Effect::SetName(name) => {
            sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2")
                .bind(name.as_str())
                .bind(org)
                .execute(&mut **tx)
                .await?;
        }
        Effect::SetSettings(settings) => {
            sqlx::query("UPDATE orgs SET seat_limit = $1, allow_ia = $2, seat_roles = $3, ia_domains = $4 WHERE id = $5")
                .bind(settings.seat_limit.map(i64::from))
                .bind(i64::from(settings.allow_implementation_admin))
                .bind(encode_seat_roles(settings.seat_policy))
                .bind(encode_domains(&settings.ia_domains))
                .bind(org)
                .execute(&mut **tx)
                .await?;
        }
        Effect::AddMember(m) => {
            let ia = m.ia.as_ref();
            sqlx::query(
                "INSERT INTO memberships (org_id, user_id, status, org_role, ia_assigned_at, ia_expires_at, ia_duration, ia_invited_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(org)
            .bind(m.user_id.as_str())
            .bind(m.status.as_str())
            .bind(m.org_role.map(|r| r.as_str()))
            .bind(ia.map(|ia| to_ms(ia.assigned_at)))
            .bind(ia.and_then(|ia| ia.expires_at.map(to_ms)))
            .bind(ia.map(|ia| ia.duration.as_str()))
            .bind(ia.and_then(|ia| ia.invited_by.as_ref().map(|i| i.user_id.as_str())))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Effect::SetUserName { user_id, name } => {
            sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
                .bind(name.as_str())
                .bind(user_id.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Effect::SetStatus { user_id, status } => {
            sqlx::query("UPDATE memberships SET status = $1 WHERE org_id = $2 AND user_id = $3")
                .bind(status.as_str())
                .bind(org)
                .bind(user_id.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Effect::SetOrgRole { user_id, role, ia } => {
            let ia = ia.as_ref();
            sqlx::query(
                "UPDATE memberships SET org_role = $1, ia_assigned_at = $2, ia_expires_at = $3, ia_duration = $4, ia_invited_by = $5, ia_last_reviewed_at = NULL
                 WHERE org_id = $6 AND user_id = $7",
            )
            .bind(role.map(|r| r.as_str()))
            .bind(ia.map(|ia| to_ms(ia.assigned_at)))
            .bind(ia.and_then(|ia| ia.expires_at.map(to_ms)))
            .bind(ia.map(|ia| ia.duration.as_str()))
            .bind(ia.and_then(|ia| ia.invited_by.as_ref().map(|i| i.user_id.as_str())))
            .bind(org)
            .bind(user_id.as_str())
            .execute(&mut **tx)
            .await?;
        }
        Effect::RemoveMember { user_id } => {
            sqlx::query("DELETE FROM space_roles WHERE org_id = $1 AND user_id = $2")
                .bind(org)
                .bind(user_id.as_str())
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org)
                .bind(user_id.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Effect::SetSpaceRole {
            user_id,
            space_id,
            role: Some(role),
        } => {
            sqlx::query(
                "INSERT INTO space_roles (org_id, space_id, user_id, role) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (space_id, user_id) DO UPDATE SET role = excluded.role",
            )
            .bind(org)
            .bind(space_id.as_str())
            .bind(user_id.as_str())
            .bind(role.as_str())
            .execute(&mut **tx)
            .await?;
        }
        Effect::SetSpaceRole {
            user_id,
            space_id,
            role: None,
        } => {
            sqlx::query(
                "DELETE FROM space_roles WHERE org_id = $1 AND space_id = $2 AND user_id = $3",
            )
            .bind(org)
            .bind(space_id.as_str())
            .bind(user_id.as_str())
            .execute(&mut **tx)
            .await?;
        }
        Effect::RevokeTokens { user_id, reason } => {
            sqlx::query(
                // Admin UI sessions end with their own audit entry (a job, or
                // their next use, ends them: they open nothing meanwhile).
                "UPDATE tokens SET revoked_at = $1, revoked_reason = $2 WHERE org_id = $3 AND user_id = $4 AND revoked_at IS NULL AND kind <> 'session'",
            )
            .bind(now)
            .bind(reason.as_str())
            .bind(org)
            .bind(user_id.as_str())
            .execute(&mut **tx)
            .await?;
        }
        Effect::AddSpace(space) => {
            sqlx::query(
                "INSERT INTO spaces (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(space.id.as_str())
            .bind(org)
            .bind(space.name.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Effect::RenameSpace { space_id, name } => {
            sqlx::query("UPDATE spaces SET name = $1 WHERE id = $2 AND org_id = $3")
                .bind(name.as_str())
                .bind(space_id.as_str())
                .bind(org)
                .execute(&mut **tx)
                .await?;
        }
        Effect::RemoveSpace { space_id } => {
            sqlx::query("DELETE FROM space_roles WHERE org_id = $1 AND space_id = $2")
                .bind(org)
                .bind(space_id.as_str())
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM spaces WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(space_id.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Effect::PutInvitation(inv) => {
            sqlx::query(
                "INSERT INTO invitations (id, org_id, batch_id, email, role, space_ids, duration, message, status, expires_at, invited_by, send_count, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, send_count = excluded.send_count",
            )
            .bind(inv.id.as_str())
            .bind(org)
            .bind(inv.batch_id.as_str())
            .bind(inv.email.as_str())
            .bind(inv.role.as_str())
            .bind(join_ids(&inv.space_ids))
            .bind(inv.duration.map(|d| d.as_str()))
            .bind(inv.message.as_deref())
            .bind(inv.status.as_str())
            .bind(to_ms(inv.expires_at))
            .bind(inv.invited_by.as_ref().map(|u| u.as_str()))
            .bind(i64::from(inv.send_count))
            .bind(to_ms(inv.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Effect::CreateToken(token) => {
            sqlx::query(
                "INSERT INTO tokens (id, org_id, user_id, kind, name, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(token.id.as_str())
            .bind(org)
            .bind(token.user_id.as_str())
            .bind(token.kind.as_str())
            .bind(token.name.as_str())
            .bind(token.secret_hash.as_str())
            .bind(now)
            .bind(token.expires_at.map(to_ms))
            .execute(&mut **tx)
            .await?;
        }
        Effect::RevokeToken { token_id, reason } => {
            sqlx::query(
                "UPDATE tokens SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND org_id = $4 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(reason.as_str())
            .bind(token_id.as_str())
            .bind(org)
            .execute(&mut **tx)
            .await?;
        }
        Effect::RecordReview { user_id } => {
            // Every review is kept; the membership shows the latest.
            sqlx::query(
                "INSERT INTO ia_reviews (org_id, user_id, reviewed_at) VALUES ($1, $2, $3)",
            )
            .bind(org)
            .bind(user_id.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await?;
            sqlx::query("UPDATE memberships SET ia_last_reviewed_at = $1 WHERE org_id = $2 AND user_id = $3")
                .bind(now)
                .bind(org)
                .bind(user_id.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Effect::CreateSignInLink(link) => {
            sqlx::query(
                "INSERT INTO sign_in_links (token_hash, org_id, user_id, expires_at, created_at, emailed) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(link.token_hash.as_str())
            .bind(org)
            .bind(link.user_id.as_str())
            .bind(to_ms(link.expires_at))
            .bind(now)
            .bind(i64::from(link.emailed))
            .execute(&mut **tx)
            .await?;
        }
        Effect::UseSignInLink { token_hash } => {
            // Single use: of two concurrent uses, one finds it used.
            let used = sqlx::query(
                "UPDATE sign_in_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
            )
            .bind(now)
            .bind(token_hash.as_str())
            .execute(&mut **tx)
            .await?;
            if used.rows_affected() != 1 {
                return Err(StoreError::Conflict("this sign-in link was already used"));
            }
        }
        Effect::PutWebhook(webhook) => webhooks::put(tx, webhook).await?,
        Effect::DeleteWebhook { id } => webhooks::delete(tx, id).await?,
        Effect::RotateWebhookSecret {
            id,
            secret,
            previous,
        } => webhooks::rotate(tx, id, secret, previous).await?,
        Effect::DeleteOrg => {
            sqlx::query("UPDATE tokens SET revoked_at = $1, revoked_reason = 'org_deleted' WHERE org_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(org)
                .execute(&mut **tx)
                .await?;
            sqlx::query("UPDATE orgs SET deleted_at = $1 WHERE id = $2")
                .bind(now)
                .bind(org)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Space ids as stored in an invitation row.
fn join_ids(ids: &[SpaceId]) -> String {
    ids.iter()
        .map(SpaceId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}
