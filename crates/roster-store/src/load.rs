//! Loading an organization's decision snapshot: five queries, no joins per
//! member.

use std::sync::Arc;

use roster_core::{
    DomainAllowlist, Email, IaAssignment, IaDuration, Invitation, InvitationStatus, Inviter,
    Member, MemberStatus, OrgId, OrgRole, OrgSettings, OrgSnapshot, Role, SeatPolicy, Space,
    SpaceId, SpaceRole, UserId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::time::from_ms;
use crate::{Store, StoreError};

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn parse_settings(row: &AnyRow) -> Result<OrgSettings, StoreError> {
    let seat_limit: Option<i64> = row.try_get("seat_limit")?;
    let seat_roles: String = row.try_get("seat_roles")?;
    let domains: String = row.try_get("ia_domains")?;
    let roles = seat_roles
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Role>().map_err(corrupt))
        .collect::<Result<Vec<_>, _>>()?;
    let ia_domains = DomainAllowlist::parse_all(domains.split(',').filter(|s| !s.is_empty()))
        .map_err(|(entry, e)| corrupt(format!("allowlist entry {entry}: {e}")))?;
    Ok(OrgSettings {
        allow_implementation_admin: row.try_get::<i64, _>("allow_ia")? != 0,
        seat_limit: seat_limit.map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
        seat_policy: SeatPolicy::from_roles(roles),
        ia_domains,
    })
}

pub(crate) fn encode_seat_roles(policy: SeatPolicy) -> String {
    policy
        .seat_roles()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn encode_domains(allowlist: &DomainAllowlist) -> String {
    allowlist
        .patterns()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn parse_invitation(row: &AnyRow) -> Result<Invitation, StoreError> {
    let role: String = row.try_get("role")?;
    let space_ids: String = row.try_get("space_ids")?;
    let duration: Option<String> = row.try_get("duration")?;
    let status: String = row.try_get("status")?;
    let email: String = row.try_get("email")?;
    Ok(Invitation {
        id: row.try_get::<String, _>("id")?.into(),
        batch_id: row.try_get::<String, _>("batch_id")?.into(),
        email: Email::parse(&email).map_err(corrupt)?,
        role: role.parse().map_err(corrupt)?,
        space_ids: space_ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(SpaceId::from)
            .collect(),
        duration: duration
            .map(|d| d.parse::<IaDuration>().map_err(corrupt))
            .transpose()?,
        message: row.try_get("message")?,
        status: status.parse::<InvitationStatus>().map_err(corrupt)?,
        expires_at: from_ms(row.try_get("expires_at")?),
        invited_by: row
            .try_get::<Option<String>, _>("invited_by")?
            .map(UserId::from),
        send_count: u32::try_from(row.try_get::<i64, _>("send_count")?).unwrap_or(u32::MAX),
        created_at: from_ms(row.try_get("created_at")?),
    })
}

pub(crate) const INVITATION_COLUMNS: &str = "id, batch_id, email, role, space_ids, duration, message, status, expires_at, invited_by, send_count, created_at";

fn parse_member(row: &AnyRow) -> Result<Member, StoreError> {
    let email: String = row.try_get("email")?;
    let status: String = row.try_get("status")?;
    let org_role: Option<String> = row.try_get("org_role")?;
    let duration: Option<String> = row.try_get("ia_duration")?;
    let mut member = Member::new(
        row.try_get::<String, _>("user_id")?.into(),
        Email::parse(&email).map_err(corrupt)?,
        row.try_get("name")?,
    );
    member.status = status.parse::<MemberStatus>().map_err(corrupt)?;
    member.org_role = org_role
        .map(|r| r.parse::<OrgRole>().map_err(corrupt))
        .transpose()?;
    if let Some(duration) = duration {
        let expires_at: Option<i64> = row.try_get("ia_expires_at")?;
        let inviter: Option<String> = row.try_get("ia_invited_by")?;
        let inviter_email: Option<String> = row.try_get("inviter_email")?;
        let invited_by = match (inviter, inviter_email) {
            (Some(id), Some(email)) => Some(Inviter {
                user_id: id.into(),
                email: Email::parse(&email).map_err(corrupt)?,
            }),
            _ => None,
        };
        member.ia = Some(Box::new(IaAssignment {
            assigned_at: from_ms(row.try_get("ia_assigned_at")?),
            expires_at: expires_at.map(from_ms),
            duration: duration.parse().map_err(corrupt)?,
            invited_by,
        }));
    }
    Ok(member)
}

/// Loads one organization (not deleted) in the given connection.
pub(crate) async fn load_snapshot(
    conn: &mut AnyConnection,
    org_id: &str,
) -> Result<Option<OrgSnapshot>, StoreError> {
    let Some(org) = sqlx::query(
        "SELECT name, seat_limit, allow_ia, seat_roles, ia_domains, revision FROM orgs WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let mut snapshot = OrgSnapshot::new(
        OrgId::from(org_id),
        org.try_get("name")?,
        parse_settings(&org)?,
    );
    snapshot.revision = org.try_get("revision")?;

    let members = sqlx::query(
        "SELECT m.user_id, u.email, u.name, m.status, m.org_role, m.ia_assigned_at, m.ia_expires_at, m.ia_duration, m.ia_invited_by,
                i.email AS inviter_email
         FROM memberships m JOIN users u ON u.id = m.user_id LEFT JOIN users i ON i.id = m.ia_invited_by
         WHERE m.org_id = $1",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &members {
        snapshot.add_member(parse_member(row)?);
    }
    let spaces =
        sqlx::query("SELECT id, name FROM spaces WHERE org_id = $1 ORDER BY created_at, id")
            .bind(org_id)
            .fetch_all(&mut *conn)
            .await?;
    for row in &spaces {
        snapshot.add_space(Space {
            id: row.try_get::<String, _>("id")?.into(),
            name: row.try_get("name")?,
        });
    }
    let roles = sqlx::query("SELECT user_id, space_id, role FROM space_roles WHERE org_id = $1")
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
    for row in &roles {
        let user: String = row.try_get("user_id")?;
        let space: String = row.try_get("space_id")?;
        let role: String = row.try_get("role")?;
        snapshot.load_space_role(
            &user.into(),
            &space.into(),
            role.parse::<SpaceRole>().map_err(corrupt)?,
        );
    }
    let invitations = sqlx::query(&format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE org_id = $1 AND status = 'pending'"
    ))
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &invitations {
        snapshot.load_invitation(parse_invitation(row)?);
    }
    snapshot.loaded();
    Ok(Some(snapshot))
}

impl Store {
    /// The organization's decision snapshot: from the cache when fresh
    /// enough (`at_least` a revision), else loaded. `None` if there is no
    /// such (undeleted) organization.
    pub async fn snapshot(
        &self,
        org_id: &OrgId,
        at_least: Option<i64>,
    ) -> Result<Option<Arc<OrgSnapshot>>, StoreError> {
        let org_id = org_id.as_str();
        let fresh = |s: &Arc<OrgSnapshot>| at_least.is_none_or(|r| s.revision >= r);
        let generation = self.file_generation();
        if let Some(cached) = self.cache.get(org_id).filter(fresh) {
            if !self.changed_on_disk(org_id, &cached, generation).await? {
                return Ok(Some(cached));
            }
        }
        if let Some(wanted) = at_least {
            // A revision this deployment has not written yet: wait a moment
            // for it (another replica may be committing it), then refuse.
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
            loop {
                match self.stored_revision(org_id).await? {
                    None => return Ok(None),
                    Some(revision) if revision >= wanted => break,
                    Some(latest) if tokio::time::Instant::now() >= deadline => {
                        return Err(StoreError::RevisionNotAvailable { wanted, latest })
                    }
                    Some(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                }
            }
            if let Some(cached) = self.cache.get(org_id).filter(fresh) {
                return Ok(Some(cached));
            }
        }
        // One load per organization at a time in this process: whoever
        // waited for it finds the snapshot cached.
        let flight = self.flight(org_id);
        let _loading = flight.lock().await;
        if let Some(cached) = self.cache.get(org_id).filter(fresh) {
            if !self.changed_on_disk(org_id, &cached, generation).await? {
                return Ok(Some(cached));
            }
        }
        let loaded = self.load(org_id).await.map(|found| found.map(Arc::new));
        if let Ok(Some(snapshot)) = &loaded {
            self.cache.offer(snapshot.clone());
            self.checked_on_disk(org_id, generation);
        }
        self.landed(org_id, &flight);
        loaded
    }

    /// The lock that makes concurrent loads of one organization one load.
    fn flight(&self, org_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.loading.lock() {
            Ok(mut loading) => loading.entry(org_id.to_owned()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// A load is over: forget its lock unless others still wait on it.
    fn landed(&self, org_id: &str, flight: &Arc<tokio::sync::Mutex<()>>) {
        if let Ok(mut loading) = self.loading.lock() {
            // Ours and the map's: nobody else is waiting.
            if Arc::strong_count(flight) <= 2 {
                loading.remove(org_id);
            }
        }
    }

    /// Reads an organization's snapshot from the database.
    async fn load(&self, org_id: &str) -> Result<Option<OrgSnapshot>, StoreError> {
        self.cache.loaded();
        // One read transaction, so every table is read at the same revision.
        let mut tx = self.pool.begin().await?;
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let loaded = load_snapshot(&mut tx, org_id).await?;
        tx.commit().await?;
        Ok(loaded)
    }

    /// SQLite: whether another process (`roster import`, a second server on
    /// the same file) changed this organization since its snapshot was
    /// cached. Asked only when the database's files changed since the last
    /// check; PostgreSQL replicas hear of writes through notifications.
    async fn changed_on_disk(
        &self,
        org_id: &str,
        cached: &OrgSnapshot,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        let Some(generation) = generation else {
            return Ok(false);
        };
        let seen = self
            .sqlite_checked
            .lock()
            .map(|checked| checked.get(org_id) == Some(&generation))
            .unwrap_or(false);
        if seen {
            return Ok(false);
        }
        if self.stored_revision(org_id).await? == Some(cached.revision) {
            self.checked_on_disk(org_id, Some(generation));
            return Ok(false);
        }
        Ok(true)
    }

    fn checked_on_disk(&self, org_id: &str, generation: Option<u64>) {
        if let (Some(generation), Ok(mut checked)) = (generation, self.sqlite_checked.lock()) {
            checked.insert(org_id.to_owned(), generation);
        }
    }

    /// The organization's revision in the database (none if deleted).
    async fn stored_revision(&self, org_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query("SELECT revision FROM orgs WHERE id = $1 AND deleted_at IS NULL")
                .bind(org_id)
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?,
        )
    }

    /// Forgets a cached snapshot (when another replica wrote).
    pub fn evict(&self, org_id: &str, revision: Option<i64>) {
        self.cache.evict(org_id, revision);
    }

    pub fn evict_all(&self) {
        self.cache.clear();
    }
}
