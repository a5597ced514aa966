//! The one write path: lock the organization, run the rules on a fresh
//! snapshot, persist effects + rows + audit + outbox, bump the revision, all
//! in one transaction.
//!
//! Locking (docs/decisions.md): on PostgreSQL `SELECT … FOR UPDATE` on the
//! organization's row serializes its writers across replicas; on SQLite the
//! database has one writer and this process queues its writes on a mutex.
//! Either way the rules always see the state they change.

use std::sync::Arc;

use roster_core::{Effect, Email, IaAssignment, OrgSettings, OrgSnapshot, Timestamp};
use sqlx::{Any, Row as _, Transaction};

use crate::audit::{self, AuditActor, AuditDraft};
use crate::load::{encode_domains, encode_seat_roles, load_snapshot};
use crate::outbox::{self, EmailDraft};
use crate::records::NewToken;
use crate::time::to_ms;
use crate::{Backend, Store, StoreError};

/// Who is writing, when, and for which request (for the audit log).
#[derive(Clone, Debug)]
pub struct WriteContext {
    pub now: Timestamp,
    pub actor: AuditActor,
    pub request_id: Option<String>,
}

/// Rows outside the decision snapshot that a write also changes.
#[derive(Clone, Debug)]
pub enum Row {
    CreateUser {
        id: String,
        email: Email,
        name: String,
    },
    CreateToken(NewToken),
    RevokeToken {
        token_id: String,
        reason: String,
    },
    InvitationToken {
        invitation_id: String,
        token_hash: String,
    },
    IaReview {
        user_id: String,
    },
    SignInLink {
        token_hash: String,
        user_id: String,
        expires_at: Timestamp,
    },
    UseSignInLink {
        token_hash: String,
    },
    DeleteOrg,
}

/// What a write changes, and the value it answers with.
#[derive(Clone, Debug)]
pub struct Write<T> {
    pub value: T,
    pub effects: Vec<Effect>,
    pub rows: Vec<Row>,
    pub audit: Vec<AuditDraft>,
    pub emails: Vec<EmailDraft>,
}

impl<T> Write<T> {
    pub fn new(value: T) -> Self {
        Write {
            value,
            effects: Vec::new(),
            rows: Vec::new(),
            audit: Vec::new(),
            emails: Vec::new(),
        }
    }

    pub fn effects(mut self, effects: Vec<Effect>) -> Self {
        self.effects.extend(effects);
        self
    }

    pub fn row(mut self, row: Row) -> Self {
        self.rows.push(row);
        self
    }

    pub fn audit(mut self, entry: AuditDraft) -> Self {
        self.audit.push(entry);
        self
    }

    pub fn email(mut self, email: EmailDraft) -> Self {
        self.emails.push(email);
        self
    }

    fn is_empty(&self) -> bool {
        self.effects.is_empty()
            && self.rows.is_empty()
            && self.audit.is_empty()
            && self.emails.is_empty()
    }
}

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

impl Store {
    /// Runs `rules` on the organization's current state and persists what it
    /// returns, atomically. Answers the value and the new revision.
    pub async fn write<T, E>(
        &self,
        org_id: &str,
        ctx: &WriteContext,
        rules: impl FnOnce(&OrgSnapshot) -> Result<Write<T>, E>,
    ) -> Result<(T, i64), WriteError<E>> {
        let _gate = self.sqlite_gate().await;
        let mut tx = self.pool.begin().await?;
        let lock = match self.backend {
            Backend::Postgres => {
                "SELECT revision FROM orgs WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
            }
            Backend::Sqlite => "SELECT revision FROM orgs WHERE id = $1 AND deleted_at IS NULL",
        };
        let Some(row) = sqlx::query(lock)
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(WriteError::OrgNotFound);
        };
        let revision: i64 = row.try_get(0)?;
        let snapshot = match self.cache.get(org_id).filter(|s| s.revision == revision) {
            Some(cached) => cached,
            None => Arc::new(
                load_snapshot(&mut tx, org_id)
                    .await?
                    .ok_or(WriteError::OrgNotFound)?,
            ),
        };
        let write = rules(&snapshot).map_err(WriteError::Rule)?;
        if write.is_empty() {
            tx.commit().await?;
            self.cache.offer(snapshot);
            return Ok((write.value, revision));
        }
        let revision = self.persist(&mut tx, org_id, &write, ctx).await?;
        tx.commit().await?;
        if !write.emails.is_empty() {
            self.announce_email();
        }
        if write.rows.iter().any(|r| matches!(r, Row::DeleteOrg)) {
            self.cache.evict(org_id, None);
        } else {
            self.remember(snapshot, &write.effects, revision);
        }
        Ok((write.value, revision))
    }

    /// Creates an organization and runs `rules` on its empty snapshot in the
    /// same transaction (for its first Owner).
    pub async fn create_org<T, E>(
        &self,
        org_id: &str,
        name: &str,
        settings: &OrgSettings,
        ctx: &WriteContext,
        rules: impl FnOnce(&OrgSnapshot) -> Result<Write<T>, E>,
    ) -> Result<(T, i64), WriteError<E>> {
        let _gate = self.sqlite_gate().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO orgs (id, name, seat_limit, allow_ia, seat_roles, ia_domains, revision, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .bind(org_id)
        .bind(name)
        .bind(settings.seat_limit.map(i64::from))
        .bind(i64::from(settings.allow_implementation_admin))
        .bind(encode_seat_roles(settings.seat_policy))
        .bind(encode_domains(&settings.ia_domains))
        .bind(to_ms(ctx.now))
        .execute(&mut *tx)
        .await?;
        let snapshot = Arc::new(OrgSnapshot::new(
            org_id.to_owned(),
            name.to_owned(),
            settings.clone(),
        ));
        let write = rules(&snapshot).map_err(WriteError::Rule)?;
        let revision = self.persist(&mut tx, org_id, &write, ctx).await?;
        tx.commit().await?;
        if !write.emails.is_empty() {
            self.announce_email();
        }
        self.remember(snapshot, &write.effects, revision);
        Ok((write.value, revision))
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
        org_id: &str,
        write: &Write<T>,
        ctx: &WriteContext,
    ) -> Result<i64, StoreError> {
        let now = to_ms(ctx.now);
        // Accounts first (memberships refer to them), then the effects, then
        // the rows that refer to what the effects created.
        let (accounts, others): (Vec<&Row>, Vec<&Row>) = write
            .rows
            .iter()
            .partition(|r| matches!(r, Row::CreateUser { .. }));
        for row in accounts {
            persist_row(tx, org_id, row, now).await?;
        }
        for effect in &write.effects {
            persist_effect(tx, org_id, effect, now).await?;
        }
        for row in others {
            persist_row(tx, org_id, row, now).await?;
        }
        audit::append(tx, org_id, &write.audit, ctx).await?;
        for email in &write.emails {
            outbox::enqueue(tx, Some(org_id), email, now).await?;
        }
        let revision: i64 =
            sqlx::query("UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision")
                .bind(org_id)
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify('roster_orgs', $1)")
                .bind(format!("{org_id}:{revision}"))
                .execute(&mut **tx)
                .await?;
        }
        Ok(revision)
    }
}

/// The effect as a fresh load will read it back: times in whole
/// milliseconds, as stored.
fn at_stored_precision(effect: &Effect) -> Effect {
    let ms = |t: Timestamp| crate::time::from_ms(to_ms(t));
    let ia = |ia: &Option<IaAssignment>| {
        ia.as_ref().map(|ia| IaAssignment {
            assigned_at: ms(ia.assigned_at),
            expires_at: ia.expires_at.map(ms),
            duration: ia.duration,
            invited_by: ia.invited_by.clone(),
        })
    };
    match effect {
        Effect::AddMember(m) => {
            let mut m = m.clone();
            m.ia = ia(&m.ia);
            Effect::AddMember(m)
        }
        Effect::SetOrgRole {
            user_id,
            role,
            ia: assignment,
        } => Effect::SetOrgRole {
            user_id: user_id.clone(),
            role: *role,
            ia: ia(assignment),
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
    now: i64,
) -> Result<(), StoreError> {
    let query = match row {
        Row::CreateUser { id, email, name } => sqlx::query(
            "INSERT INTO users (id, email, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.clone())
        .bind(email.as_str().to_owned())
        .bind(name.clone())
        .bind(now),
        Row::CreateToken(token) => sqlx::query(
            "INSERT INTO tokens (id, org_id, user_id, kind, name, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.id.clone())
        .bind(org_id.to_owned())
        .bind(token.user_id.clone())
        .bind(token.kind.clone())
        .bind(token.name.clone())
        .bind(token.secret_hash.clone())
        .bind(now)
        .bind(token.expires_at.map(to_ms)),
        Row::RevokeToken { token_id, reason } => sqlx::query(
            "UPDATE tokens SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND org_id = $4 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(reason.clone())
        .bind(token_id.clone())
        .bind(org_id.to_owned()),
        Row::InvitationToken { invitation_id, token_hash } => {
            sqlx::query("UPDATE invitations SET token_hash = $1 WHERE id = $2 AND org_id = $3")
                .bind(token_hash.clone())
                .bind(invitation_id.clone())
                .bind(org_id.to_owned())
        }
        Row::IaReview { user_id } => {
            // Every review is kept; the membership shows the latest.
            sqlx::query("INSERT INTO ia_reviews (org_id, user_id, reviewed_at) VALUES ($1, $2, $3)")
                .bind(org_id.to_owned())
                .bind(user_id.clone())
                .bind(now)
                .execute(&mut **tx)
                .await?;
            sqlx::query("UPDATE memberships SET ia_last_reviewed_at = $1 WHERE org_id = $2 AND user_id = $3")
                .bind(now)
                .bind(org_id.to_owned())
                .bind(user_id.clone())
        }
        Row::SignInLink { token_hash, user_id, expires_at } => sqlx::query(
            "INSERT INTO sign_in_links (token_hash, org_id, user_id, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.clone())
        .bind(org_id.to_owned())
        .bind(user_id.clone())
        .bind(to_ms(*expires_at)),
        Row::UseSignInLink { token_hash } => {
            // Single use: of two concurrent uses, one finds it used.
            let used = sqlx::query("UPDATE sign_in_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
                .bind(now)
                .bind(token_hash.clone())
                .execute(&mut **tx)
                .await?;
            if used.rows_affected() != 1 {
                return Err(StoreError::Conflict("this sign-in link was already used"));
            }
            return Ok(());
        }
        Row::DeleteOrg => {
            sqlx::query("UPDATE tokens SET revoked_at = $1, revoked_reason = 'org_deleted' WHERE org_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(org_id.to_owned())
                .execute(&mut **tx)
                .await?;
            sqlx::query("UPDATE orgs SET deleted_at = $1 WHERE id = $2")
                .bind(now)
                .bind(org_id.to_owned())
        }
    };
    query.execute(&mut **tx).await?;
    Ok(())
}

async fn persist_effect(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
    effect: &Effect,
    now: i64,
) -> Result<(), StoreError> {
    let org = org_id.to_owned();
    match effect {
        Effect::SetName(name) => {
            sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2")
                .bind(name.clone())
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
            sqlx::query(
                "INSERT INTO memberships (org_id, user_id, status, org_role, ia_assigned_at, ia_expires_at, ia_duration, ia_invited_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(org)
            .bind(m.user_id.clone())
            .bind(m.status.as_str())
            .bind(m.org_role.map(|r| r.as_str()))
            .bind(m.ia.as_ref().map(|ia| to_ms(ia.assigned_at)))
            .bind(m.ia.as_ref().and_then(|ia| ia.expires_at.map(to_ms)))
            .bind(m.ia.as_ref().map(|ia| ia.duration.as_str()))
            .bind(m.ia.as_ref().and_then(|ia| ia.invited_by.clone()))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Effect::SetStatus { user_id, status } => {
            sqlx::query("UPDATE memberships SET status = $1 WHERE org_id = $2 AND user_id = $3")
                .bind(status.as_str())
                .bind(org)
                .bind(user_id.clone())
                .execute(&mut **tx)
                .await?;
        }
        Effect::SetOrgRole { user_id, role, ia } => {
            sqlx::query(
                "UPDATE memberships SET org_role = $1, ia_assigned_at = $2, ia_expires_at = $3, ia_duration = $4, ia_invited_by = $5, ia_last_reviewed_at = NULL
                 WHERE org_id = $6 AND user_id = $7",
            )
            .bind(role.map(|r| r.as_str()))
            .bind(ia.as_ref().map(|ia| to_ms(ia.assigned_at)))
            .bind(ia.as_ref().and_then(|ia| ia.expires_at.map(to_ms)))
            .bind(ia.as_ref().map(|ia| ia.duration.as_str()))
            .bind(ia.as_ref().and_then(|ia| ia.invited_by.clone()))
            .bind(org)
            .bind(user_id.clone())
            .execute(&mut **tx)
            .await?;
        }
        Effect::RemoveMember { user_id } => {
            sqlx::query("DELETE FROM space_roles WHERE org_id = $1 AND user_id = $2")
                .bind(org.clone())
                .bind(user_id.clone())
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org)
                .bind(user_id.clone())
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
            .bind(space_id.clone())
            .bind(user_id.clone())
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
            .bind(space_id.clone())
            .bind(user_id.clone())
            .execute(&mut **tx)
            .await?;
        }
        Effect::RevokeTokens { user_id, reason } => {
            sqlx::query(
                "UPDATE tokens SET revoked_at = $1, revoked_reason = $2 WHERE org_id = $3 AND user_id = $4 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(*reason)
            .bind(org)
            .bind(user_id.clone())
            .execute(&mut **tx)
            .await?;
        }
        Effect::AddSpace(space) => {
            sqlx::query(
                "INSERT INTO spaces (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(space.id.clone())
            .bind(org)
            .bind(space.name.clone())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Effect::RenameSpace { space_id, name } => {
            sqlx::query("UPDATE spaces SET name = $1 WHERE id = $2 AND org_id = $3")
                .bind(name.clone())
                .bind(space_id.clone())
                .bind(org)
                .execute(&mut **tx)
                .await?;
        }
        Effect::RemoveSpace { space_id } => {
            sqlx::query("DELETE FROM space_roles WHERE org_id = $1 AND space_id = $2")
                .bind(org.clone())
                .bind(space_id.clone())
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM spaces WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(space_id.clone())
                .execute(&mut **tx)
                .await?;
        }
        Effect::PutInvitation(inv) => {
            sqlx::query(
                "INSERT INTO invitations (id, org_id, batch_id, email, role, space_ids, duration, message, status, expires_at, invited_by, send_count, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, send_count = excluded.send_count",
            )
            .bind(inv.id.clone())
            .bind(org)
            .bind(inv.batch_id.clone())
            .bind(inv.email.as_str().to_owned())
            .bind(inv.role.as_str())
            .bind(inv.space_ids.join(","))
            .bind(inv.duration.map(|d| d.as_str()))
            .bind(inv.message.clone())
            .bind(inv.status.as_str())
            .bind(to_ms(inv.expires_at))
            .bind(inv.invited_by.clone())
            .bind(i64::from(inv.send_count))
            .bind(to_ms(inv.created_at))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}
