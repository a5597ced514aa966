//! Loading an organization's decision snapshot: the organization, its
//! spaces, members (with their space roles on SQLite, see [`Roles`]),
//! space roles (PostgreSQL, and a write's load) and pending invitations,
//! decoded by position. Rows are streamed, not fetched all at once; what
//! is held while a load runs is the snapshot being built, each space role
//! as a 12-byte triple until every member is in, and, where the roles come
//! as rows of their own, the members themselves until all are read (to be
//! added in id order).
//!
//! Loads read through the database's own driver (a small pool of their own,
//! [`Loads`]), in one read-only transaction; writes that find no snapshot
//! cached read the same way through the `Any` connection of their own
//! transaction ([`load_snapshot`]). One decoder serves both: [`Columns`].

use std::str::FromStr;
use std::sync::Arc;

use futures_util::stream::BoxStream;
use futures_util::TryStreamExt;
use roster_core::{
    DomainAllowlist, Email, IaAssignment, IaDuration, Invitation, InvitationStatus, Inviter,
    LaterRoles, Member, MemberStatus, OrgId, OrgRole, OrgSettings, OrgSnapshot, Role, SeatPolicy,
    Space, SpaceId, SpaceRole, UserId,
};
use sqlx::any::AnyRow;
use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{
    Any, AnyConnection, Column, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments,
    PgPool, Postgres, Row, Sqlite, SqlitePool, Type,
};

use crate::cache::Hit;
use crate::time::from_ms;
use crate::{Backend, Store, StoreError, SQLITE_PRAGMAS};

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// A row's columns by position, as text and integers, whichever driver
/// read it: what lets one decoder serve the `Any` rows and the native ones.
pub(crate) trait Columns {
    fn text(&self, at: usize) -> Result<&str, sqlx::Error>;
    fn maybe_text(&self, at: usize) -> Result<Option<&str>, sqlx::Error>;
    fn int(&self, at: usize) -> Result<i64, sqlx::Error>;
    fn maybe_int(&self, at: usize) -> Result<Option<i64>, sqlx::Error>;
}

impl<R> Columns for R
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> &'r str: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, at: usize) -> Result<&str, sqlx::Error> {
        self.try_get(at)
    }

    fn maybe_text(&self, at: usize) -> Result<Option<&str>, sqlx::Error> {
        self.try_get(at)
    }

    fn int(&self, at: usize) -> Result<i64, sqlx::Error> {
        self.try_get(at)
    }

    fn maybe_int(&self, at: usize) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(at)
    }
}

/// Parses stored text, calling anything unparsable corrupt.
fn parsed<T: FromStr>(text: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(corrupt)
}

const ORG: &str = "SELECT name, seat_limit, allow_ia, seat_roles, ia_domains, revision FROM orgs WHERE id = $1 AND deleted_at IS NULL";

/// The settings from [`ORG`]'s columns.
fn settings(row: &impl Columns) -> Result<OrgSettings, StoreError> {
    let roles = row
        .text(3)?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(parsed::<Role>)
        .collect::<Result<Vec<_>, _>>()?;
    let ia_domains = DomainAllowlist::parse_all(row.text(4)?.split(',').filter(|s| !s.is_empty()))
        .map_err(|(entry, e)| corrupt(format!("allowlist entry {entry}: {e}")))?;
    Ok(OrgSettings {
        allow_implementation_admin: row.int(2)? != 0,
        seat_limit: row
            .maybe_int(1)?
            .map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
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

pub(crate) const INVITATION_COLUMNS: &str = "id, batch_id, email, role, space_ids, duration, message, status, expires_at, invited_by, send_count, created_at";

/// An invitation selected with [`INVITATION_COLUMNS`] (other columns may
/// come first).
pub(crate) fn parse_invitation(row: &AnyRow) -> Result<Invitation, StoreError> {
    invitation(row, row.try_column("id")?.ordinal())
}

/// An invitation from [`INVITATION_COLUMNS`], the first at position `at`.
fn invitation(row: &impl Columns, at: usize) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: row.text(at)?.into(),
        batch_id: row.text(at + 1)?.into(),
        email: Email::parse(row.text(at + 2)?).map_err(corrupt)?,
        role: parsed(row.text(at + 3)?)?,
        space_ids: row
            .text(at + 4)?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(SpaceId::from)
            .collect(),
        duration: row
            .maybe_text(at + 5)?
            .map(parsed::<IaDuration>)
            .transpose()?,
        message: row.maybe_text(at + 6)?.map(str::to_owned),
        status: parsed::<InvitationStatus>(row.text(at + 7)?)?,
        expires_at: from_ms(row.int(at + 8)?),
        invited_by: row.maybe_text(at + 9)?.map(UserId::from),
        send_count: u32::try_from(row.int(at + 10)?).unwrap_or(u32::MAX),
        created_at: from_ms(row.int(at + 11)?),
    })
}

const MEMBER_COLUMNS: &str = "m.user_id, u.email, u.name, m.status, m.org_role, m.ia_assigned_at, m.ia_expires_at, m.ia_duration, m.ia_invited_by, i.email";
const MEMBERS_FROM: &str = "FROM memberships m JOIN users u ON u.id = m.user_id LEFT JOIN users i ON i.id = m.ia_invited_by WHERE m.org_id = $1";
/// A member's space roles as one JSON array of `[space_id, role]` pairs.
const ROLES_OF_MEMBER: &str = "(SELECT json_group_array(json_array(r.space_id, r.role)) FROM space_roles r WHERE r.org_id = m.org_id AND r.user_id = m.user_id)";

/// Where a load finds the space roles.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Roles {
    /// A query of their own, a row each.
    Rows,
    /// A column of the members' query, a JSON array per member
    /// ([`ROLES_OF_MEMBER`]): with five roles per member a sixth of the
    /// rows. SQLite's driver hands every row from its thread to the task,
    /// which costs more than reading the row; PostgreSQL streams rows
    /// cheaply but aggregates them slowly.
    PerMember,
}

/// A member from [`MEMBER_COLUMNS`].
fn member(row: &impl Columns) -> Result<Member, StoreError> {
    let mut member = Member::new(
        row.text(0)?.into(),
        Email::parse(row.text(1)?).map_err(corrupt)?,
        row.text(2)?.to_owned(),
    );
    member.status = parsed::<MemberStatus>(row.text(3)?)?;
    member.org_role = row.maybe_text(4)?.map(parsed::<OrgRole>).transpose()?;
    if let Some(duration) = row.maybe_text(7)? {
        let invited_by = match (row.maybe_text(8)?, row.maybe_text(9)?) {
            (Some(id), Some(email)) => Some(Inviter {
                user_id: id.into(),
                email: Email::parse(email).map_err(corrupt)?,
            }),
            _ => None,
        };
        member.ia = Some(Box::new(IaAssignment {
            assigned_at: from_ms(row.int(5)?),
            expires_at: row.maybe_int(6)?.map(from_ms),
            duration: parsed(duration)?,
            invited_by,
        }));
    }
    Ok(member)
}

const SPACES: &str = "SELECT id, name FROM spaces WHERE org_id = $1 ORDER BY created_at, id";
const SPACE_ROLES: &str = "SELECT user_id, space_id, role FROM space_roles WHERE org_id = $1";

/// The next row of a stream. SQLite's rows arrive through a channel that
/// is seldom empty, so a large load would not let other tasks on its
/// thread run: it gives way once its cooperative budget is spent.
async fn next<R>(
    rows: &mut BoxStream<'_, Result<R, sqlx::Error>>,
) -> Result<Option<R>, sqlx::Error> {
    tokio::task::consume_budget().await;
    rows.try_next().await
}

/// Reads one organization (not deleted) on `conn`: every table at one
/// revision when `conn` is in a transaction that sees one instant.
async fn read_snapshot<DB>(
    conn: &mut DB::Connection,
    org_id: &str,
    roles: Roles,
) -> Result<Option<OrgSnapshot>, StoreError>
where
    DB: Database,
    DB::Row: Columns,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    let Some(org) = sqlx::query(ORG)
        .bind(org_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut snapshot = OrgSnapshot::new(
        OrgId::from(org_id),
        org.text(0)?.to_owned(),
        settings(&org)?,
    );
    snapshot.revision = org.int(5)?;
    // Spaces first: a role is loaded into a space the snapshot has.
    {
        let mut rows = sqlx::query(SPACES).bind(org_id).fetch(&mut *conn);
        while let Some(row) = next(&mut rows).await? {
            snapshot.add_space(Space {
                id: row.text(0)?.into(),
                name: row.text(1)?.to_owned(),
            });
        }
    }
    {
        let members = match roles {
            Roles::Rows => format!("SELECT {MEMBER_COLUMNS} {MEMBERS_FROM}"),
            Roles::PerMember => {
                format!("SELECT {MEMBER_COLUMNS}, {ROLES_OF_MEMBER} {MEMBERS_FROM}")
            }
        };
        let mut rows = sqlx::query(&members).bind(org_id).fetch(&mut *conn);
        let mut later = LaterRoles::default();
        match roles {
            // SQLite reads the members through their primary key, so in
            // id order (nothing relies on it: the walks that answer in id
            // order check it), their roles beside them: each member is
            // added as it comes.
            Roles::PerMember => {
                while let Some(row) = next(&mut rows).await? {
                    snapshot.add_member(member(&row)?);
                    let pairs: Vec<StoredRole> =
                        serde_json::from_str(row.text(10)?).map_err(corrupt)?;
                    let pairs = pairs
                        .iter()
                        .map(|StoredRole(space, role)| (&**space, *role));
                    snapshot.hold_space_roles(&mut later, row.text(0)?, pairs);
                }
            }
            // Members in the join's order (PostgreSQL's plan, or any
            // order): all are read, then added in id order; their roles
            // follow in the order they lie on disk.
            Roles::Rows => {
                let mut loaded = Vec::new();
                while let Some(row) = next(&mut rows).await? {
                    loaded.push(member(&row)?);
                }
                snapshot.add_loaded_members(loaded);
                drop(rows);
                let mut rows = sqlx::query(SPACE_ROLES).bind(org_id).fetch(&mut *conn);
                while let Some(row) = next(&mut rows).await? {
                    let role = parsed(row.text(2)?)?;
                    let pair = std::iter::once((row.text(1)?, role));
                    snapshot.hold_space_roles(&mut later, row.text(0)?, pair);
                }
            }
        }
        snapshot.set_later_roles(later);
    }
    {
        let pending = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE org_id = $1 AND status = 'pending'"
        );
        let mut rows = sqlx::query(&pending).bind(org_id).fetch(&mut *conn);
        while let Some(row) = next(&mut rows).await? {
            snapshot.load_invitation(invitation(&row, 0)?);
        }
    }
    snapshot.loaded();
    Ok(Some(snapshot))
}

/// A member's space role as SQLite lists them in the member's row: the
/// space's id borrowed from the row unless it had to be unescaped.
#[derive(serde::Deserialize)]
struct StoredRole<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>, SpaceRole);

/// Loads one organization (not deleted) in the given connection (a write's
/// transaction, when it finds no snapshot cached).
pub(crate) async fn load_snapshot(
    conn: &mut AnyConnection,
    org_id: &str,
) -> Result<Option<OrgSnapshot>, StoreError> {
    read_snapshot::<Any>(conn, org_id, Roles::Rows).await
}

/// The connections snapshot loads read on: the database's own driver
/// (the `Any` driver converts every value of every row first), a few
/// connections apart from the others, so a large organization loading
/// neither waits for nor holds up other requests' connections, and a
/// small organization's load need not wait for it either.
#[derive(Clone, Debug)]
pub(crate) enum Loads {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// At most this many loads run at once (per process); more wait their turn.
const LOAD_CONNECTIONS: u32 = 4;

/// PostgreSQL: every table of one load as of one instant, and nothing written.
const BEGIN_POSTGRES: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

impl Loads {
    /// The pool for `url` (as `Store::connect` normalized it), connecting
    /// when the first load needs it.
    pub(crate) fn open(backend: Backend, url: &str) -> Result<Loads, StoreError> {
        fn options<DB: Database>() -> PoolOptions<DB> {
            PoolOptions::new().max_connections(LOAD_CONNECTIONS)
        }
        Ok(match backend {
            Backend::Sqlite => Loads::Sqlite(
                options()
                    .after_connect(|conn: &mut sqlx::SqliteConnection, _| {
                        Box::pin(async move {
                            for pragma in SQLITE_PRAGMAS {
                                conn.execute(pragma).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_lazy_with(SqliteConnectOptions::from_str(url)?),
            ),
            Backend::Postgres => {
                Loads::Postgres(options().connect_lazy_with(PgConnectOptions::from_str(url)?))
            }
        })
    }

    /// Reads an organization's snapshot in one read transaction. On SQLite
    /// a deferred `BEGIN`: its first read fixes the WAL snapshot the others
    /// read too, and writers go on meanwhile.
    async fn load(&self, org_id: &str) -> Result<Option<OrgSnapshot>, StoreError> {
        match self {
            Loads::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let loaded = read_snapshot::<Sqlite>(&mut tx, org_id, Roles::PerMember).await?;
                tx.commit().await?;
                Ok(loaded)
            }
            Loads::Postgres(pool) => {
                let mut tx = pool.begin_with(BEGIN_POSTGRES).await?;
                let loaded = read_snapshot::<Postgres>(&mut tx, org_id, Roles::Rows).await?;
                tx.commit().await?;
                Ok(loaded)
            }
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Loads::Sqlite(pool) => pool.close().await,
            Loads::Postgres(pool) => pool.close().await,
        }
    }
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
        let fresh = |hit: &Hit| at_least.is_none_or(|r| hit.snapshot.revision >= r);
        let generation = self.file_generation();
        if let Some(hit) = self.cache.get(org_id).filter(fresh) {
            if !self.changed_on_disk(org_id, &hit, generation).await? {
                self.cache.served(true);
                return Ok(Some(hit.snapshot));
            }
        }
        self.cache.served(false);
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
            if let Some(hit) = self.cache.get(org_id).filter(fresh) {
                return Ok(Some(hit.snapshot));
            }
        }
        // One load per organization at a time in this process: whoever
        // waited for it finds the snapshot cached.
        let _loading = self.loading.enter(org_id).await;
        if let Some(hit) = self.cache.get(org_id).filter(fresh) {
            if !self.changed_on_disk(org_id, &hit, generation).await? {
                return Ok(Some(hit.snapshot));
            }
        }
        let loaded = self.load(org_id).await?.map(Arc::new);
        if let Some(snapshot) = &loaded {
            self.cache.offer(snapshot.clone());
            if let Some(generation) = generation {
                self.cache.checked(org_id, snapshot.revision, generation);
            }
        }
        Ok(loaded)
    }

    /// Reads an organization's snapshot from the database.
    async fn load(&self, org_id: &str) -> Result<Option<OrgSnapshot>, StoreError> {
        self.cache.loaded();
        self.loads.load(org_id).await
    }

    /// SQLite: whether another process (`roster import`, a second server on
    /// the same file) changed this organization since its snapshot was
    /// cached. Asked only when the database's files changed since the last
    /// check; PostgreSQL replicas hear of writes through notifications.
    async fn changed_on_disk(
        &self,
        org_id: &str,
        hit: &Hit,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        let Some(generation) = generation else {
            return Ok(false);
        };
        if hit.checked == Some(generation) {
            return Ok(false);
        }
        let revision = hit.snapshot.revision;
        if self.stored_revision(org_id).await? == Some(revision) {
            self.cache.checked(org_id, revision, generation);
            return Ok(false);
        }
        Ok(true)
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
