//! Migrations, written once for both backends (portable types: TEXT and
//! BIGINT; times are Unix milliseconds).

use sqlx::{AnyConnection, Connection, Executor, Row};

use crate::{Backend, Store, StoreError};

/// The newest migration: a database is up to date when every version up to
/// this one is recorded once.
pub const SCHEMA_VERSION: i64 = 3;

/// A statement of a migration, for both backends or one.
#[derive(Clone, Copy)]
enum Statement {
    Both(&'static str),
    Postgres(&'static str),
}

/// Each migration is a list of statements applied in one transaction.
const MIGRATIONS: &[(i64, &[Statement])] = &[(
    1,
    &[
        Statement::Both("CREATE TABLE roster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"),
        Statement::Both("CREATE TABLE orgs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            seat_limit BIGINT,
            allow_ia BIGINT NOT NULL DEFAULT 0,
            seat_roles TEXT NOT NULL,
            ia_domains TEXT NOT NULL DEFAULT '',
            revision BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            deleted_at BIGINT
        )"),
        Statement::Both("CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )"),
        Statement::Both("CREATE TABLE memberships (
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
        )"),
        Statement::Both("CREATE INDEX memberships_ia_expiry ON memberships (ia_expires_at) WHERE ia_expires_at IS NOT NULL"),
        Statement::Both("CREATE TABLE spaces (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id),
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )"),
        Statement::Both("CREATE INDEX spaces_org ON spaces (org_id)"),
        Statement::Both("CREATE TABLE space_roles (
            org_id TEXT NOT NULL,
            space_id TEXT NOT NULL REFERENCES spaces(id),
            user_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('program_admin', 'facilitator', 'participant', 'sponsor')),
            PRIMARY KEY (space_id, user_id),
            FOREIGN KEY (org_id, user_id) REFERENCES memberships(org_id, user_id)
        )"),
        Statement::Both("CREATE INDEX space_roles_org ON space_roles (org_id, user_id)"),
        Statement::Both("CREATE TABLE invitations (
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
        )"),
        Statement::Both("CREATE INDEX invitations_org ON invitations (org_id, status)"),
        Statement::Both("CREATE TABLE tokens (
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
        )"),
        Statement::Both("CREATE INDEX tokens_owner ON tokens (org_id, user_id)"),
        Statement::Both("CREATE TABLE audit (
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
        )"),
        Statement::Both("CREATE TABLE outbox (
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
        )"),
        Statement::Both("CREATE INDEX outbox_due ON outbox (status, next_attempt_at)"),
        Statement::Both("CREATE TABLE ia_reviews (
            org_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            reviewed_at BIGINT NOT NULL
        )"),
        Statement::Both("CREATE TABLE sign_in_links (
            token_hash TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
        )"),
    ],
),
(
    2,
    &[
        // The chain's head lives with the organization, written in the same
        // transaction as each entry, so removing the newest entries shows.
        Statement::Both("ALTER TABLE orgs ADD COLUMN audit_seq BIGINT NOT NULL DEFAULT 0"),
        Statement::Both("ALTER TABLE orgs ADD COLUMN audit_head TEXT NOT NULL DEFAULT ''"),
        Statement::Both("UPDATE orgs SET
            audit_seq = COALESCE((SELECT MAX(a.seq) FROM audit a WHERE a.org_id = orgs.id), 0),
            audit_head = COALESCE((SELECT a.hash FROM audit a WHERE a.org_id = orgs.id ORDER BY a.seq DESC LIMIT 1), '')"),
    ],
),
(
    3,
    &[
        // Events (SPEC §16): one per audit entry, with the organization's
        // revision after the change and its place in the platform feed.
        Statement::Both("ALTER TABLE audit ADD COLUMN event_id TEXT"),
        Statement::Both("ALTER TABLE audit ADD COLUMN revision BIGINT"),
        Statement::Both("ALTER TABLE audit ADD COLUMN position BIGINT"),
        Statement::Both("ALTER TABLE audit ADD COLUMN write_order BIGINT"),
        Statement::Both("UPDATE audit SET event_id = 'evt_' || replace(id, '-', '')"),
        Statement::Both("CREATE UNIQUE INDEX audit_event_id ON audit (event_id)"),
        Statement::Both("CREATE UNIQUE INDEX audit_position ON audit (position)"),
        Statement::Both("CREATE INDEX audit_unplaced ON audit (write_order) WHERE position IS NULL"),
        Statement::Postgres("CREATE SEQUENCE roster_write_order"),
        // Entries written before events existed join the platform feed in
        // time order.
        Statement::Both("UPDATE audit SET position = numbered.position FROM (
            SELECT org_id, seq, ROW_NUMBER() OVER (ORDER BY at, org_id, seq) AS position FROM audit
        ) numbered WHERE audit.org_id = numbered.org_id AND audit.seq = numbered.seq"),
        Statement::Both("CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            org_id TEXT,
            url TEXT NOT NULL,
            types TEXT NOT NULL,
            description TEXT NOT NULL,
            enabled BIGINT NOT NULL,
            disabled_reason TEXT,
            secret TEXT NOT NULL,
            previous_secret TEXT,
            previous_until BIGINT,
            created_at BIGINT NOT NULL
        )"),
        Statement::Both("CREATE INDEX webhooks_org ON webhooks (org_id)"),
        Statement::Both("CREATE TABLE deliveries (
            id TEXT PRIMARY KEY,
            webhook_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            org_id TEXT,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
            attempts BIGINT NOT NULL,
            last_status BIGINT,
            last_error TEXT,
            next_attempt_at BIGINT NOT NULL,
            delivered_at BIGINT,
            lease_until BIGINT,
            lease_token BIGINT NOT NULL,
            created_at BIGINT NOT NULL
        )"),
        Statement::Both("CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)"),
        Statement::Both("CREATE INDEX deliveries_endpoint ON deliveries (webhook_id, id)"),
        // Sign-in links: when, and whether emailed (a limit per address).
        Statement::Both("ALTER TABLE sign_in_links ADD COLUMN created_at BIGINT"),
        Statement::Both("ALTER TABLE sign_in_links ADD COLUMN emailed BIGINT NOT NULL DEFAULT 0"),
        Statement::Both("CREATE INDEX sign_in_links_user ON sign_in_links (user_id, created_at)"),
        Statement::Both("CREATE INDEX tokens_open_sessions ON tokens (kind, revoked_at)"),
        // Fenced leases for the email outbox too (SPEC §19).
        Statement::Both("ALTER TABLE outbox ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0"),
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
        let result = apply_all(&mut conn, self.backend).await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_unlock(7402611)").await?;
        }
        result
    }
}

async fn apply_all(conn: &mut AnyConnection, backend: Backend) -> Result<(), StoreError> {
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
            match (statement, backend) {
                (Statement::Both(sql), _) | (Statement::Postgres(sql), Backend::Postgres) => {
                    tx.execute(*sql).await?;
                }
                (Statement::Postgres(_), Backend::Sqlite) => {}
            }
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
