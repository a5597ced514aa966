//! Migrations, written once for both backends (portable types: TEXT and
//! BIGINT; times are Unix milliseconds).

use sqlx::{AnyConnection, Connection, Executor, Row};

use crate::{Backend, Store, StoreError};

/// The newest migration: a database is up to date when every version up to
/// this one is recorded once.
pub const SCHEMA_VERSION: i64 = 2;

/// Each migration is a list of statements applied in one transaction.
const MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE roster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE orgs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            seat_limit BIGINT,
            allow_ia BIGINT NOT NULL DEFAULT 0,
            seat_roles TEXT NOT NULL,
            ia_domains TEXT NOT NULL DEFAULT '',
            revision BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            deleted_at BIGINT
        )",
        "CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
        "CREATE TABLE memberships (
            org_id TEXT NOT NULL REFERENCES orgs(id),
            user_id TEXT NOT NULL REFERENCES users(id),
            status TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
            org_role TEXT CHECK (org_role IN ('owner', 'admin', 'implementation_admin')),
            ia_assigned_at BIGINT,
            ia_expires_at BIGINT,
            ia_duration TEXT,
            ia_invited_by TEXT,
            ia_last_reviewed_at BIGINT,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (org_id, user_id),
            CHECK ((org_role = 'implementation_admin') = (ia_duration IS NOT NULL))
        )",
        "CREATE INDEX memberships_ia_expiry ON memberships (ia_expires_at) WHERE ia_expires_at IS NOT NULL",
        "CREATE TABLE spaces (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id),
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
        "CREATE INDEX spaces_org ON spaces (org_id)",
        "CREATE TABLE space_roles (
            org_id TEXT NOT NULL,
            space_id TEXT NOT NULL REFERENCES spaces(id),
            user_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('program_admin', 'facilitator', 'participant', 'sponsor')),
            PRIMARY KEY (space_id, user_id),
            FOREIGN KEY (org_id, user_id) REFERENCES memberships(org_id, user_id)
        )",
        "CREATE INDEX space_roles_org ON space_roles (org_id, user_id)",
        "CREATE TABLE invitations (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id),
            batch_id TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL,
            space_ids TEXT NOT NULL,
            duration TEXT,
            message TEXT,
            status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
            expires_at BIGINT NOT NULL,
            invited_by TEXT,
            send_count BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            token_hash TEXT UNIQUE
        )",
        "CREATE INDEX invitations_org ON invitations (org_id, status)",
        "CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id),
            user_id TEXT NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('api', 'mcp', 'oauth', 'session')),
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT,
            revoked_at BIGINT,
            revoked_reason TEXT
        )",
        "CREATE INDEX tokens_owner ON tokens (org_id, user_id)",
        "CREATE TABLE audit (
            org_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            id TEXT NOT NULL UNIQUE,
            at BIGINT NOT NULL,
            actor_kind TEXT NOT NULL,
            actor_user_id TEXT,
            trigger_kind TEXT NOT NULL,
            action TEXT NOT NULL,
            target_user_id TEXT,
            space_id TEXT,
            details TEXT NOT NULL,
            request_id TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (org_id, seq)
        )",
        "CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            org_id TEXT,
            recipient TEXT NOT NULL,
            template TEXT NOT NULL,
            subject TEXT NOT NULL,
            body_text TEXT NOT NULL,
            body_html TEXT NOT NULL,
            message_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            lease_until BIGINT,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            sent_at BIGINT
        )",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
        "CREATE TABLE ia_reviews (
            org_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            reviewed_at BIGINT NOT NULL
        )",
        "CREATE TABLE sign_in_links (
            token_hash TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
        )",
    ],
),
(
    2,
    &[
        // The chain's head lives with the organization, written in the same
        // transaction as each entry, so removing the newest entries shows.
        "ALTER TABLE orgs ADD COLUMN audit_seq BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE orgs ADD COLUMN audit_head TEXT NOT NULL DEFAULT ''",
        "UPDATE orgs SET
            audit_seq = COALESCE((SELECT MAX(a.seq) FROM audit a WHERE a.org_id = orgs.id), 0),
            audit_head = COALESCE((SELECT a.hash FROM audit a WHERE a.org_id = orgs.id ORDER BY a.seq DESC LIMIT 1), '')",
    ],
)];

impl Store {
    /// Applies every migration not yet applied; a no-op when up to date.
    /// On PostgreSQL an advisory lock keeps concurrent replicas from racing.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_lock(7402611)").await?;
        }
        let result = apply_all(&mut conn).await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_unlock(7402611)").await?;
        }
        result
    }
}

async fn apply_all(conn: &mut AnyConnection) -> Result<(), StoreError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS roster_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    for (version, statements) in MIGRATIONS {
        let applied = sqlx::query("SELECT COUNT(*) FROM roster_migrations WHERE version = $1")
            .bind(*version)
            .fetch_one(&mut *conn)
            .await?
            .try_get::<i64, _>(0)?;
        if applied > 0 {
            continue;
        }
        let mut tx = conn.begin().await?;
        for statement in *statements {
            tx.execute(*statement).await?;
        }
        sqlx::query("INSERT INTO roster_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
