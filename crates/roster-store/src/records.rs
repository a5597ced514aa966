//! Rows read outside the decision snapshot: users, tokens, invitations,
//! sign-in links, settings of the installation, the jobs' work lists.

use roster_core::{
    Email, Invitation, InvitationId, InvitationStatus, OrgId, Timestamp, TokenId, TokenKind, UserId,
};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::load::{corrupt, parse_invitation, INVITATION_COLUMNS};
use crate::time::{from_ms, to_ms};
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub id: UserId,
    pub email: Email,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrgRecord {
    pub id: OrgId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub id: TokenId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub kind: TokenKind,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_reason: Option<String>,
}

/// A Forever Implementation Admin, for the platform's periodic review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForeverAssignment {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub email: String,
    pub since: Timestamp,
    pub last_reviewed_at: Option<Timestamp>,
    /// Reviews recorded since this assignment began.
    pub reviews: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInLinkRecord {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub expires_at: Timestamp,
    pub used: bool,
}

const TOKEN_COLUMNS: &str = "id, org_id, user_id, kind, name, secret_hash, created_at, expires_at, revoked_at, revoked_reason";

fn parse_token(row: &AnyRow) -> Result<TokenRecord, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(TokenRecord {
        id: row.try_get::<String, _>("id")?.into(),
        org_id: row.try_get::<String, _>("org_id")?.into(),
        user_id: row.try_get::<String, _>("user_id")?.into(),
        kind: kind.parse().map_err(corrupt)?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        created_at: from_ms(row.try_get("created_at")?),
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(from_ms),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(from_ms),
        revoked_reason: row.try_get("revoked_reason")?,
    })
}

fn parse_user(row: &AnyRow) -> Result<UserRecord, StoreError> {
    let email: String = row.try_get("email")?;
    Ok(UserRecord {
        id: row.try_get::<String, _>("id")?.into(),
        email: Email::parse(&email).map_err(corrupt)?,
        name: row.try_get("name")?,
    })
}

/// One token by id, in any connection (a write reads it under its lock).
pub(crate) async fn read_token<'c, E>(
    executor: E,
    id: &TokenId,
) -> Result<Option<TokenRecord>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(parse_token).transpose()
}

impl Store {
    pub async fn user(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT id, email, name FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(parse_user).transpose()
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT id, email, name FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(parse_user).transpose()
    }

    pub async fn token(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        read_token(&self.pool, id).await
    }

    /// Tokens of an organization (optionally one user's), oldest first,
    /// after the cursor id.
    pub async fn tokens(
        &self,
        org_id: &OrgId,
        user_id: Option<&UserId>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE org_id = $1 AND kind <> 'session' AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
        ))
        .bind(org_id.as_str())
        .bind(user_id.map(UserId::as_str))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_token).collect()
    }

    pub async fn invitations(
        &self,
        org_id: &OrgId,
        status: Option<InvitationStatus>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Invitation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE org_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
        ))
        .bind(org_id.as_str())
        .bind(status.map(|s| s.as_str()))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(parse_invitation).collect()
    }

    pub async fn invitation(
        &self,
        org_id: &OrgId,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE org_id = $1 AND id = $2"
        ))
        .bind(org_id.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(parse_invitation).transpose()
    }

    /// The organization and invitation an invitation token's hash names.
    pub async fn invitation_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(OrgId, Invitation)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT org_id, {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some((
                row.try_get::<String, _>("org_id")?.into(),
                parse_invitation(&row)?,
            ))),
            None => Ok(None),
        }
    }

    pub async fn sign_in_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<SignInLinkRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT org_id, user_id, expires_at, used_at FROM sign_in_links WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SignInLinkRecord {
                org_id: row.try_get::<String, _>("org_id")?.into(),
                user_id: row.try_get::<String, _>("user_id")?.into(),
                expires_at: from_ms(row.try_get("expires_at")?),
                used: row.try_get::<Option<i64>, _>("used_at")?.is_some(),
            })
        })
        .transpose()
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM roster_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let _gate = self.sqlite_gate().await;
        sqlx::query("INSERT INTO roster_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        let _gate = self.sqlite_gate().await;
        sqlx::query("DELETE FROM roster_meta WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores `value` only if the key is unset; answers whether it did.
    pub async fn init_meta(&self, key: &str, value: &str) -> Result<bool, StoreError> {
        let _gate = self.sqlite_gate().await;
        let done = sqlx::query(
            "INSERT INTO roster_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Organizations with an Implementation Admin whose assignment ended by `now`.
    pub async fn orgs_with_expired_implementation_admins(
        &self,
        now: Timestamp,
    ) -> Result<Vec<OrgId>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT m.org_id FROM memberships m JOIN orgs o ON o.id = m.org_id
             WHERE o.deleted_at IS NULL AND m.org_role = 'implementation_admin' AND m.ia_expires_at IS NOT NULL AND m.ia_expires_at <= $1",
        )
        .bind(to_ms(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?.into()))
            .collect()
    }

    /// Organizations with pending invitations past their expiry.
    pub async fn orgs_with_expired_invitations(
        &self,
        now: Timestamp,
    ) -> Result<Vec<OrgId>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT i.org_id FROM invitations i JOIN orgs o ON o.id = i.org_id
             WHERE o.deleted_at IS NULL AND i.status = 'pending' AND i.expires_at <= $1",
        )
        .bind(to_ms(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?.into()))
            .collect()
    }

    pub async fn forever_implementation_admins(
        &self,
    ) -> Result<Vec<ForeverAssignment>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.org_id, m.user_id, u.email, m.ia_assigned_at, m.ia_last_reviewed_at,
                    (SELECT COUNT(*) FROM ia_reviews r
                     WHERE r.org_id = m.org_id AND r.user_id = m.user_id AND r.reviewed_at >= m.ia_assigned_at) AS reviews
             FROM memberships m JOIN users u ON u.id = m.user_id JOIN orgs o ON o.id = m.org_id
             WHERE o.deleted_at IS NULL AND m.org_role = 'implementation_admin' AND m.ia_duration = 'forever'
             ORDER BY m.ia_assigned_at, m.org_id, m.user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ForeverAssignment {
                    org_id: row.try_get::<String, _>("org_id")?.into(),
                    user_id: row.try_get::<String, _>("user_id")?.into(),
                    email: row.try_get("email")?,
                    since: from_ms(row.try_get("ia_assigned_at")?),
                    last_reviewed_at: row
                        .try_get::<Option<i64>, _>("ia_last_reviewed_at")?
                        .map(from_ms),
                    reviews: row.try_get("reviews")?,
                })
            })
            .collect()
    }

    /// How many sign-in links were emailed to this person since `since`.
    pub async fn emailed_links_since(
        &self,
        user_id: &UserId,
        since: Timestamp,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM sign_in_links WHERE user_id = $1 AND emailed = 1 AND created_at >= $2",
        )
        .bind(user_id.as_str())
        .bind(to_ms(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Open admin UI sessions that have ended on their own: past their end,
    /// or their person no longer holds access (by organization).
    pub async fn sessions_to_end(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(OrgId, UserId, TokenId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.org_id, t.user_id, t.id FROM tokens t
             JOIN orgs o ON o.id = t.org_id AND o.deleted_at IS NULL
             LEFT JOIN memberships m ON m.org_id = t.org_id AND m.user_id = t.user_id
             WHERE t.kind = 'session' AND t.revoked_at IS NULL
               AND (t.expires_at <= $1 OR m.user_id IS NULL OR m.status <> 'active'
                    OR (m.ia_expires_at IS NOT NULL AND m.ia_expires_at <= $1))
             ORDER BY t.org_id, t.id",
        )
        .bind(to_ms(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>(0)?.into(),
                    r.try_get::<String, _>(1)?.into(),
                    r.try_get::<String, _>(2)?.into(),
                ))
            })
            .collect()
    }

    /// Forgets what is no longer needed: sign-in links used or expired over
    /// an hour ago (the hourly limit reads the last hour), and sessions
    /// ended over a week ago. Answers how many rows went.
    pub async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        let _gate = self.sqlite_gate().await;
        let hour_ago = to_ms(now - chrono::Duration::hours(1));
        let week_ago = to_ms(now - chrono::Duration::days(7));
        let links = sqlx::query(
            "DELETE FROM sign_in_links WHERE expires_at < $1 OR (used_at IS NOT NULL AND used_at < $1)",
        )
        .bind(hour_ago)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let sessions = sqlx::query(
            "DELETE FROM tokens WHERE kind = 'session' AND revoked_at IS NOT NULL AND revoked_at < $1",
        )
        .bind(week_ago)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(links + sessions)
    }

    /// The organizations where this person is an active member, by name.
    pub async fn memberships_of(&self, user_id: &UserId) -> Result<Vec<OrgRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.name FROM memberships m JOIN orgs o ON o.id = m.org_id
             WHERE m.user_id = $1 AND m.status = 'active' AND o.deleted_at IS NULL ORDER BY o.name, o.id",
        )
        .bind(user_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrgRecord {
                    id: r.try_get::<String, _>("id")?.into(),
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }
}
