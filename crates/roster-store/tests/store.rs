//! The storage crate against real databases: every test body runs once on a
//! fresh SQLite file and once on a fresh PostgreSQL database (created through
//! `ROSTER_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`,
//! and dropped afterwards; skipped, saying so, when the variable is unset).
//!
//! Each test is a module named as a sentence, with one `sqlite` and one
//! `postgres` test function (PostgreSQL-only behaviour has just the latter).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use roster_core::{
    DomainAllowlist, Effect, Email, IaAssignment, IaDuration, Invitation, InvitationStatus, Member,
    MemberStatus, OrgRole, OrgSettings, OrgSnapshot, Role, SeatPolicy, Space, SpaceRole, Timestamp,
};
use roster_store::{
    AuditActor, AuditDraft, EmailDraft, NewToken, Row, Store, Write, WriteContext, WriteError,
};
use sqlx::{AnyPool, Executor, Row as _};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's database is; cheap to clone into the test body.
#[derive(Clone, Debug)]
struct Db {
    url: String,
    backend: Backend,
}

impl Db {
    /// A second, independent store on the same database (another replica,
    /// or a process restart): its cache starts empty.
    async fn connect(&self) -> Store {
        Store::connect(&self.url).await.unwrap()
    }

    /// Direct SQL access, bypassing the store.
    async fn raw(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        let url = match self.backend {
            Backend::Sqlite => format!("{}?mode=rwc", self.url),
            Backend::Postgres => self.url.clone(),
        };
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .unwrap();
        if self.backend == Backend::Sqlite {
            pool.execute("PRAGMA busy_timeout = 10000").await.unwrap();
        }
        pool
    }
}

/// Owns the test's database and removes it on drop (also when the test panics).
struct TestDb {
    db: Db,
    admin_url: Option<String>,
    name: String,
    dir: Option<std::path::PathBuf>,
}

impl TestDb {
    async fn new(backend: Backend) -> Option<TestDb> {
        let name = format!("roster_s_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap();
                Some(TestDb {
                    db: Db {
                        url: format!("sqlite://{}", dir.join("roster.db").display()),
                        backend,
                    },
                    admin_url: None,
                    name,
                    dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("ROSTER_TEST_POSTGRES_URL") else {
                    println!("skipped: ROSTER_TEST_POSTGRES_URL is not set");
                    return None;
                };
                admin_sql(&admin_url, &format!("CREATE DATABASE {name}")).await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .unwrap_or(&admin_url);
                Some(TestDb {
                    db: Db {
                        url: format!("{base}/{name}"),
                        backend,
                    },
                    admin_url: Some(admin_url),
                    name,
                    dir: None,
                })
            }
        }
    }
}

async fn admin_sql(admin_url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(admin_url)
        .await
        .expect("connect to ROSTER_TEST_POSTGRES_URL");
    pool.execute(sql).await.expect(sql);
    pool.close().await;
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(admin) = self.admin_url.take() {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            // A runtime of its own: drop may run inside or outside one.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(admin_sql(&admin, &sql));
                }
            })
            .join();
        }
    }
}

/// Runs `body` on a fresh database of `backend` (migrated unless told not to).
async fn run<F, Fut>(backend: Backend, migrate: bool, body: F)
where
    F: FnOnce(Store, Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let store = Store::connect(&test_db.db.url).await.unwrap();
    if migrate {
        store.migrate().await.unwrap();
    }
    body(store.clone(), test_db.db.clone()).await;
    store.close().await;
    drop(test_db);
}

/// The two test functions of a test module, each running its `body`.
macro_rules! on_both_backends {
    () => {
        on_both_backends!(migrated: true);
    };
    (migrated: $migrate:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            crate::run(crate::Backend::Sqlite, $migrate, body).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            crate::run(crate::Backend::Postgres, $migrate, body).await;
        }
    };
}

macro_rules! on_postgres_only {
    () => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            crate::run(crate::Backend::Postgres, true, body).await;
        }
    };
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// 2025-03-01T12:00:00Z: whole milliseconds, as the database stores them.
fn t0() -> Timestamp {
    DateTime::<Utc>::from_timestamp_millis(1_740_830_400_000).unwrap()
}

fn at(offset: chrono::Duration) -> Timestamp {
    t0() + offset
}

fn ctx(now: Timestamp) -> WriteContext {
    WriteContext {
        now,
        actor: AuditActor::user("u-owner"),
        request_id: Some("req-test".to_owned()),
    }
}

fn email(user_id: &str) -> Email {
    Email::parse(&format!("{user_id}@example.com")).unwrap()
}

fn member(user_id: &str) -> Member {
    Member::new(
        user_id.to_owned(),
        email(user_id),
        format!("Name of {user_id}"),
    )
}

fn create_user(user_id: &str) -> Row {
    Row::CreateUser {
        id: user_id.to_owned(),
        email: email(user_id),
        name: format!("Name of {user_id}"),
    }
}

/// A write that creates the account and its membership, with an audit entry.
fn join(user_id: &str) -> Write<()> {
    Write::new(())
        .row(create_user(user_id))
        .effects(vec![Effect::AddMember(member(user_id))])
        .audit(AuditDraft::new("member.added").target(user_id))
}

/// Creates an organization whose first Owner is `u-owner`; answers its revision.
async fn new_org(store: &Store, org_id: &str) -> i64 {
    let mut owner = member("u-owner");
    owner.org_role = Some(OrgRole::Owner);
    let owner_account = store.user("u-owner").await.unwrap().is_none();
    let (_, revision) = store
        .create_org(org_id, "Acme", &OrgSettings::default(), &ctx(t0()), |_| {
            let mut write = Write::new(())
                .effects(vec![Effect::AddMember(owner)])
                .audit(AuditDraft::new("org.created").target("u-owner"));
            if owner_account {
                write = write.row(create_user("u-owner"));
            }
            Ok::<_, Infallible>(write)
        })
        .await
        .unwrap();
    revision
}

/// Runs one write whose rules cannot fail; answers the new revision.
async fn apply(store: &Store, org_id: &str, now: Timestamp, write: Write<()>) -> i64 {
    store
        .write(org_id, &ctx(now), move |_| Ok::<_, Infallible>(write))
        .await
        .unwrap()
        .1
}

fn effects(effects: Vec<Effect>) -> Write<()> {
    Write::new(()).effects(effects)
}

async fn db_revision(raw: &AnyPool, org_id: &str) -> i64 {
    sqlx::query("SELECT revision FROM orgs WHERE id = $1")
        .bind(org_id)
        .fetch_one(raw)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn count(raw: &AnyPool, sql: &str, org_id: &str) -> i64 {
    sqlx::query(sql)
        .bind(org_id)
        .fetch_one(raw)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn audit_count(raw: &AnyPool, org_id: &str) -> i64 {
    count(raw, "SELECT COUNT(*) FROM audit WHERE org_id = $1", org_id).await
}

async fn cached(store: &Store, org_id: &str) -> Arc<OrgSnapshot> {
    store.snapshot(org_id, None).await.unwrap().unwrap()
}

/// The organization as read from the database by a store with an empty cache.
async fn fresh(db: &Db, org_id: &str) -> Arc<OrgSnapshot> {
    let other = db.connect().await;
    let snapshot = other.snapshot(org_id, None).await.unwrap().unwrap();
    other.close().await;
    snapshot
}

type MemberView = (
    String,
    String,
    String,
    MemberStatus,
    Option<OrgRole>,
    Option<IaAssignment>,
    Vec<(String, SpaceRole)>,
);

/// Everything a snapshot says, in an order independent of how it was built.
#[derive(Debug, PartialEq)]
struct View {
    org_id: String,
    name: String,
    revision: i64,
    settings: OrgSettings,
    members: Vec<MemberView>,
    spaces: Vec<Space>,
    invitations: Vec<Invitation>,
}

fn view(s: &Arc<OrgSnapshot>) -> View {
    let mut members: Vec<MemberView> = s
        .members()
        .map(|m| {
            let mut roles: Vec<(String, SpaceRole)> = s
                .space_roles_of(m)
                .map(|(space, role)| (space.to_owned(), role))
                .collect();
            roles.sort();
            (
                m.user_id.clone(),
                m.email.as_str().to_owned(),
                m.name.clone(),
                m.status,
                m.org_role,
                m.ia.clone(),
                roles,
            )
        })
        .collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let mut spaces: Vec<Space> = s.spaces().cloned().collect();
    spaces.sort_by(|a, b| a.id.cmp(&b.id));
    let mut invitations: Vec<Invitation> = s.pending_invitations().cloned().collect();
    invitations.sort_by(|a, b| a.id.cmp(&b.id));
    View {
        org_id: s.org_id.clone(),
        name: s.name.clone(),
        revision: s.revision,
        settings: s.settings.clone(),
        members,
        spaces,
        invitations,
    }
}

fn invitation(id: &str, now: Timestamp) -> Invitation {
    Invitation {
        id: id.to_owned(),
        batch_id: "batch-1".to_owned(),
        email: Email::parse(&format!("{id}@invited.example")).unwrap(),
        role: Role::Space(SpaceRole::Participant),
        space_ids: vec!["s-1".to_owned(), "s-2".to_owned()],
        duration: None,
        message: Some("Welcome aboard".to_owned()),
        status: InvitationStatus::Pending,
        expires_at: now + chrono::Duration::days(7),
        invited_by: Some("u-owner".to_owned()),
        send_count: 1,
        created_at: now,
    }
}

fn draft_email(n: usize) -> EmailDraft {
    EmailDraft {
        recipient: format!("person{n}@example.com"),
        template: "invitation",
        subject: format!("Invitation {n}"),
        body_text: "text".to_owned(),
        body_html: "<p>html</p>".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------

const TABLES: &[&str] = &[
    "roster_meta",
    "orgs",
    "users",
    "memberships",
    "spaces",
    "space_roles",
    "invitations",
    "tokens",
    "audit",
    "outbox",
    "ia_reviews",
    "sign_in_links",
];

mod migrations_apply_to_an_empty_database_and_rerunning_them_is_a_no_op {
    use super::*;

    async fn body(store: Store, db: Db) {
        let raw = db.raw().await;
        assert!(
            sqlx::query("SELECT COUNT(*) FROM orgs")
                .fetch_one(&raw)
                .await
                .is_err(),
            "an empty database has no tables before migrating"
        );

        store.migrate().await.unwrap();
        for table in TABLES {
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&raw)
                .await
                .unwrap_or_else(|e| panic!("table {table} after migrating: {e}"))
                .try_get(0)
                .unwrap();
            assert_eq!(n, 0, "{table} starts empty");
        }
        let applied = sqlx::query("SELECT version, applied_at FROM roster_migrations")
            .fetch_all(&raw)
            .await
            .unwrap();
        assert_eq!(
            applied.len() as i64,
            roster_store::SCHEMA_VERSION,
            "every migration once"
        );
        let applied_at: i64 = applied[0].try_get(1).unwrap();

        // Some data, then migrate again: from this store and from a new one.
        let revision = new_org(&store, "org-1").await;
        store.migrate().await.unwrap();
        let other = db.connect().await;
        other.migrate().await.unwrap();
        other.close().await;

        let again = sqlx::query("SELECT version, applied_at FROM roster_migrations")
            .fetch_all(&raw)
            .await
            .unwrap();
        assert_eq!(
            again.len() as i64,
            roster_store::SCHEMA_VERSION,
            "no migration recorded twice"
        );
        assert_eq!(again[0].try_get::<i64, _>(1).unwrap(), applied_at);
        assert_eq!(db_revision(&raw, "org-1").await, revision);
        assert_eq!(fresh(&db, "org-1").await.member_count(), 1);
        raw.close().await;
    }

    on_both_backends!(migrated: false);
}

mod two_stores_migrating_one_empty_database_at_once_both_succeed {
    use super::*;

    async fn body(store: Store, db: Db) {
        let other = db.connect().await;
        let (a, b) = tokio::join!(store.migrate(), other.migrate());
        a.unwrap();
        b.unwrap();
        let raw = db.raw().await;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM roster_migrations")
            .fetch_one(&raw)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(n, roster_store::SCHEMA_VERSION);
        other.close().await;
        raw.close().await;
    }

    // PostgreSQL replicas serialize on an advisory lock; SQLite is embedded
    // (one process), so racing migrations there are not a supported setup.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        crate::run(crate::Backend::Postgres, false, body).await;
    }
}

// ---------------------------------------------------------------------------
// The write path
// ---------------------------------------------------------------------------

mod a_rule_error_inside_write_leaves_nothing_written {
    use super::*;

    async fn body(store: Store, db: Db) {
        let raw = db.raw().await;
        let revision = new_org(&store, "org-1").await;
        let before = view(&cached(&store, "org-1").await);
        let audit_before = audit_count(&raw, "org-1").await;

        let outcome = store
            .write("org-1", &ctx(t0()), |snapshot| {
                assert_eq!(
                    snapshot.revision, revision,
                    "the rules see the current state"
                );
                // What the rules would have done, had they not refused.
                let _would =
                    join("u-never")
                        .email(draft_email(1))
                        .row(Row::CreateToken(NewToken {
                            id: "tok-never".to_owned(),
                            user_id: "u-owner".to_owned(),
                            kind: "api".to_owned(),
                            name: "never".to_owned(),
                            secret_hash: "00".repeat(32),
                            expires_at: None,
                        }));
                Err::<Write<()>, _>("seat limit reached")
            })
            .await;
        assert!(
            matches!(outcome, Err(WriteError::Rule("seat limit reached"))),
            "{outcome:?}"
        );
        assert_eq!(db_revision(&raw, "org-1").await, revision);
        assert_eq!(audit_count(&raw, "org-1").await, audit_before);
        assert!(store.user("u-never").await.unwrap().is_none());
        assert!(store.outbox(None, 10).await.unwrap().is_empty());
        assert_eq!(view(&cached(&store, "org-1").await), before);
        assert_eq!(view(&fresh(&db, "org-1").await), before);

        // A failure while persisting (the membership exists already) rolls
        // back what the same write had already done: the new account, the
        // audit entry, the email.
        let outcome = store
            .write("org-1", &ctx(t0()), |_| {
                Ok::<_, Infallible>(
                    Write::new(())
                        .row(create_user("u-new"))
                        .effects(vec![
                            Effect::AddSpace(Space {
                                id: "s-1".to_owned(),
                                name: "Space".to_owned(),
                            }),
                            Effect::AddMember(member("u-owner")),
                        ])
                        .audit(AuditDraft::new("member.added"))
                        .email(draft_email(2)),
                )
            })
            .await;
        assert!(matches!(outcome, Err(WriteError::Store(_))), "{outcome:?}");
        assert_eq!(db_revision(&raw, "org-1").await, revision);
        assert_eq!(audit_count(&raw, "org-1").await, audit_before);
        assert!(store.user("u-new").await.unwrap().is_none());
        assert!(store.outbox(None, 10).await.unwrap().is_empty());
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM spaces WHERE org_id = $1",
                "org-1"
            )
            .await,
            0
        );
        assert_eq!(view(&cached(&store, "org-1").await), before);

        // The store is not left locked or poisoned: the next write lands.
        let next = apply(&store, "org-1", t0(), join("u-alice")).await;
        assert_eq!(next, revision + 1);
        assert_eq!(
            view(&cached(&store, "org-1").await),
            view(&fresh(&db, "org-1").await)
        );

        // An unknown organization is reported as such, and nothing is written.
        let outcome = store
            .write("org-missing", &ctx(t0()), |_| {
                Ok::<_, Infallible>(join("u-ghost"))
            })
            .await;
        assert!(
            matches!(outcome, Err(WriteError::OrgNotFound)),
            "{outcome:?}"
        );
        assert!(store.user("u-ghost").await.unwrap().is_none());
        raw.close().await;
    }

    on_both_backends!();
}

mod every_successful_write_bumps_the_revision_by_one_and_the_cache_matches_a_fresh_load {
    use super::*;

    async fn body(store: Store, db: Db) {
        let raw = db.raw().await;
        let org = "org-1";
        let mut revision = new_org(&store, org).await;
        assert_eq!(
            revision, 1,
            "creating the organization is its first revision"
        );

        let space = |id: &str, name: &str| Space {
            id: id.to_owned(),
            name: name.to_owned(),
        };
        let set_role = |user: &str, space: &str, role: Option<SpaceRole>| Effect::SetSpaceRole {
            user_id: user.to_owned(),
            space_id: space.to_owned(),
            role,
        };
        let ia = IaAssignment::new(
            IaDuration::ThreeMonths,
            at(chrono::Duration::hours(1)),
            Some("u-owner".to_owned()),
        );
        let forever = IaAssignment::new(IaDuration::Forever, t0(), None);
        let settings = OrgSettings {
            allow_implementation_admin: true,
            seat_limit: Some(50),
            seat_policy: SeatPolicy::from_roles([
                Role::Org(OrgRole::Owner),
                Role::Space(SpaceRole::Participant),
            ]),
            ia_domains: DomainAllowlist::parse_all(["partner.io", "*.example.org"]).unwrap(),
        };
        let mut renewed = invitation("inv-1", t0());
        renewed.expires_at = at(chrono::Duration::days(14));
        renewed.send_count = 2;
        let mut revoked = invitation("inv-2", t0());
        revoked.status = InvitationStatus::Revoked;
        let mut ia_invitation = invitation("inv-3", t0());
        ia_invitation.role = Role::Org(OrgRole::ImplementationAdmin);
        ia_invitation.space_ids = Vec::new();
        ia_invitation.duration = Some(IaDuration::SixMonths);
        ia_invitation.message = None;
        ia_invitation.invited_by = None;

        let steps: Vec<(&str, Write<()>)> = vec![
            ("alice joins", join("u-alice")),
            ("bob joins", join("u-bob")),
            (
                "carol and dave join in one write",
                join("u-carol")
                    .row(create_user("u-dave"))
                    .effects(vec![Effect::AddMember(member("u-dave"))]),
            ),
            (
                "three spaces",
                effects(vec![
                    Effect::AddSpace(space("s-1", "One")),
                    Effect::AddSpace(space("s-2", "Two")),
                    Effect::AddSpace(space("s-3", "Three")),
                ]),
            ),
            (
                "space roles",
                effects(vec![
                    set_role("u-alice", "s-1", Some(SpaceRole::Facilitator)),
                    set_role("u-bob", "s-1", Some(SpaceRole::Participant)),
                    set_role("u-alice", "s-2", Some(SpaceRole::ProgramAdmin)),
                    set_role("u-carol", "s-3", Some(SpaceRole::Sponsor)),
                    set_role("u-dave", "s-3", Some(SpaceRole::Participant)),
                ]),
            ),
            (
                "a space role changes",
                effects(vec![set_role(
                    "u-alice",
                    "s-1",
                    Some(SpaceRole::Participant),
                )]),
            ),
            (
                "a space role is removed",
                effects(vec![set_role("u-bob", "s-1", None)]),
            ),
            (
                "org roles",
                effects(vec![
                    Effect::SetOrgRole {
                        user_id: "u-bob".to_owned(),
                        role: Some(OrgRole::Admin),
                        ia: None,
                    },
                    Effect::SetOrgRole {
                        user_id: "u-carol".to_owned(),
                        role: Some(OrgRole::ImplementationAdmin),
                        ia: Some(ia),
                    },
                    Effect::SetOrgRole {
                        user_id: "u-dave".to_owned(),
                        role: Some(OrgRole::ImplementationAdmin),
                        ia: Some(forever),
                    },
                ]),
            ),
            (
                "an org role is removed",
                effects(vec![Effect::SetOrgRole {
                    user_id: "u-dave".to_owned(),
                    role: None,
                    ia: None,
                }]),
            ),
            (
                "carol is deactivated, her tokens revoked",
                effects(vec![
                    Effect::SetStatus {
                        user_id: "u-carol".to_owned(),
                        status: MemberStatus::Deactivated,
                    },
                    Effect::RevokeTokens {
                        user_id: "u-carol".to_owned(),
                        reason: "deactivated",
                    },
                ]),
            ),
            (
                "a space is renamed",
                effects(vec![Effect::RenameSpace {
                    space_id: "s-2".to_owned(),
                    name: "Two, renamed".to_owned(),
                }]),
            ),
            (
                "a space with roles is removed",
                effects(vec![Effect::RemoveSpace {
                    space_id: "s-3".to_owned(),
                }]),
            ),
            (
                "alice is removed",
                effects(vec![Effect::RemoveMember {
                    user_id: "u-alice".to_owned(),
                }]),
            ),
            (
                "alice comes back (her account stayed) and a new space appears",
                effects(vec![
                    Effect::AddMember(member("u-alice")),
                    Effect::AddSpace(space("s-4", "Four")),
                    set_role("u-alice", "s-4", Some(SpaceRole::Facilitator)),
                    set_role("u-alice", "s-2", Some(SpaceRole::Sponsor)),
                ]),
            ),
            (
                "name and settings",
                effects(vec![
                    Effect::SetName("Acme, renamed".to_owned()),
                    Effect::SetSettings(settings),
                ]),
            ),
            (
                "invitations",
                effects(vec![
                    Effect::PutInvitation(invitation("inv-1", t0())),
                    Effect::PutInvitation(invitation("inv-2", t0())),
                    Effect::PutInvitation(ia_invitation),
                ]),
            ),
            (
                "an invitation is resent, another revoked",
                effects(vec![
                    Effect::PutInvitation(renewed),
                    Effect::PutInvitation(revoked),
                ]),
            ),
            (
                "an audit entry alone is a write too",
                Write::new(()).audit(AuditDraft::new("settings.viewed")),
            ),
        ];

        for (what, write) in steps {
            let now = at(chrono::Duration::minutes(revision));
            let next = apply(&store, org, now, write).await;
            assert_eq!(next, revision + 1, "{what}: the revision moves by one");
            assert_eq!(db_revision(&raw, org).await, next, "{what}: as stored");
            revision = next;
            let cached = cached(&store, org).await;
            assert_eq!(cached.revision, revision, "{what}: the cache is current");
            assert_eq!(view(&cached), view(&fresh(&db, org).await), "{what}");
        }

        // Spot checks on the end state, so the comparison is not vacuous.
        let end = cached(&store, org).await;
        assert_eq!(end.name, "Acme, renamed");
        assert_eq!(end.member_count(), 5);
        assert_eq!(end.space_count(), 3);
        assert!(end.space("s-3").is_none());
        let alice = end.member("u-alice").unwrap();
        assert_eq!(
            end.space_role(alice, "s-1"),
            None,
            "removal dropped her roles"
        );
        assert_eq!(end.space_role(alice, "s-4"), Some(SpaceRole::Facilitator));
        assert_eq!(
            end.member("u-carol").unwrap().status,
            MemberStatus::Deactivated
        );
        assert_eq!(end.pending_invitations().count(), 2);
        assert_eq!(end.invitation("inv-1").unwrap().send_count, 2);

        // A write that changes nothing persists nothing, not even a revision.
        let (_, unchanged) = store
            .write(org, &ctx(t0()), |_| Ok::<_, Infallible>(Write::new(())))
            .await
            .unwrap();
        assert_eq!(unchanged, revision);
        assert_eq!(db_revision(&raw, org).await, revision);

        // What the store serves after its last write comes from its cache:
        // it answers even with the database connection closed.
        store.close().await;
        assert_eq!(
            view(&store.snapshot(org, None).await.unwrap().unwrap()),
            view(&fresh(&db, org).await)
        );
        raw.close().await;
    }

    on_both_backends!();
}

mod a_write_at_a_sub_millisecond_instant_caches_what_a_fresh_load_reads {
    use super::*;

    /// The server's clock is `Utc::now()`, finer than the milliseconds the
    /// database keeps; the cache must not know more than the database does.
    async fn body(store: Store, db: Db) {
        new_org(&store, "org-1").await;
        apply(&store, "org-1", t0(), join("u-carol")).await;
        let now = t0() + chrono::Duration::nanoseconds(123_456_789);
        apply(
            &store,
            "org-1",
            now,
            effects(vec![
                Effect::SetOrgRole {
                    user_id: "u-carol".to_owned(),
                    role: Some(OrgRole::ImplementationAdmin),
                    ia: Some(IaAssignment::new(
                        IaDuration::OneMonth,
                        now,
                        Some("u-owner".to_owned()),
                    )),
                },
                Effect::PutInvitation(invitation("inv-1", now)),
            ]),
        )
        .await;
        assert_eq!(
            view(&cached(&store, "org-1").await),
            view(&fresh(&db, "org-1").await)
        );
    }

    on_both_backends!();
}

// ---------------------------------------------------------------------------
// Audit chain
// ---------------------------------------------------------------------------

/// An organization with seven audit entries (seq 1..=7).
async fn org_with_history(store: &Store, org_id: &str) {
    new_org(store, org_id).await;
    for user in ["u-a", "u-b", "u-c"] {
        let user = format!("{org_id}-{user}");
        apply(store, org_id, t0(), join(&user)).await;
    }
    apply(
        store,
        org_id,
        at(chrono::Duration::seconds(5)),
        Write::new(())
            .effects(vec![Effect::AddSpace(Space {
                id: format!("{org_id}-s"),
                name: "S".to_owned(),
            })])
            .audit(
                AuditDraft::new("space.created")
                    .space(&format!("{org_id}-s"))
                    .details(serde_json::json!({"name": "S", "n": 1.5, "tags": ["a", "b"]})),
            )
            .audit(
                AuditDraft::new("implementation_admin.expired")
                    .trigger("expiry")
                    .actor(AuditActor::system_on_behalf_of(Some("u-owner".to_owned())))
                    .target(&format!("{org_id}-u-a")),
            ),
    )
    .await;
    let (_, _) = store
        .write(
            org_id,
            &WriteContext {
                now: at(chrono::Duration::seconds(9)),
                actor: AuditActor::platform(),
                request_id: None,
            },
            |_| Ok::<_, Infallible>(Write::new(()).audit(AuditDraft::new("allowlist.changed"))),
        )
        .await
        .unwrap();
}

mod the_audit_chain_verifies_and_an_edited_or_deleted_entry_is_named {
    use super::*;

    async fn body(store: Store, db: Db) {
        let raw = db.raw().await;
        for org in ["org-a", "org-b", "org-c", "org-d"] {
            org_with_history(&store, org).await;
            let check = store.verify_audit(org).await.unwrap();
            assert!(check.ok, "{org}: {check:?}");
            assert_eq!(check.entries, 7);
            assert_eq!(check.first_bad_seq, None);
        }
        let entries = store
            .audit_entries(
                "org-a",
                &roster_store::AuditFilter {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=7).collect::<Vec<_>>()
        );
        for pair in entries.windows(2) {
            assert_eq!(
                pair[1].prev_hash, pair[0].hash,
                "each entry links to the previous"
            );
        }
        assert_eq!(entries[0].prev_hash, "0".repeat(64));
        assert_eq!(entries[5].actor.kind, "system_on_behalf_of");
        assert_eq!(entries[5].trigger, "expiry");
        assert_eq!(entries[6].actor.kind, "platform");

        // Filters and the cursor read the same entries on both backends.
        let filtered = |filter: roster_store::AuditFilter| {
            let store = store.clone();
            async move { store.audit_entries("org-a", &filter).await.unwrap() }
        };
        let joins = filtered(roster_store::AuditFilter {
            action: Some("member.added".to_owned()),
            limit: 100,
            ..Default::default()
        })
        .await;
        assert_eq!(
            joins.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        let about_a = filtered(roster_store::AuditFilter {
            target_user_id: Some("org-a-u-a".to_owned()),
            limit: 100,
            ..Default::default()
        })
        .await;
        assert_eq!(
            about_a.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![2, 6]
        );
        let since = filtered(roster_store::AuditFilter {
            since: Some(at(chrono::Duration::seconds(5))),
            limit: 100,
            ..Default::default()
        })
        .await;
        assert_eq!(
            since.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![5, 6, 7]
        );
        let page = filtered(roster_store::AuditFilter {
            after_seq: 2,
            limit: 2,
            ..Default::default()
        })
        .await;
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(
            page[0].details,
            serde_json::json!({}),
            "details round-trip as JSON"
        );
        assert_eq!(
            entries[4].details,
            serde_json::json!({"name": "S", "n": 1.5, "tags": ["a", "b"]})
        );

        // One edited entry in org-a: its own seq is named.
        sqlx::query("UPDATE audit SET details = $1 WHERE org_id = $2 AND seq = 3")
            .bind(r#"{"tampered":true}"#)
            .bind("org-a")
            .execute(&raw)
            .await
            .unwrap();
        let check = store.verify_audit("org-a").await.unwrap();
        assert!(!check.ok);
        assert_eq!(check.first_bad_seq, Some(3));
        assert_eq!(check.entries, 2, "the entries before it are good");

        // Other columns are covered too (org-c, one edit each, restored after).
        for (column, value) in [
            ("action", "member.removed"),
            ("actor_user_id", "u-mallory"),
            ("target_user_id", "u-mallory"),
            ("request_id", "req-other"),
            ("trigger_kind", "expiry"),
        ] {
            let original: Option<String> = sqlx::query(&format!(
                "SELECT {column} FROM audit WHERE org_id = $1 AND seq = 4"
            ))
            .bind("org-c")
            .fetch_one(&raw)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
            let update = format!("UPDATE audit SET {column} = $1 WHERE org_id = $2 AND seq = 4");
            let set = |v: Option<String>| sqlx::query(&update).bind(v).bind("org-c");
            set(Some(value.to_owned())).execute(&raw).await.unwrap();
            let check = store.verify_audit("org-c").await.unwrap();
            assert_eq!(check.first_bad_seq, Some(4), "editing {column}");
            set(original).execute(&raw).await.unwrap();
            assert!(
                store.verify_audit("org-c").await.unwrap().ok,
                "{column} restored"
            );
        }
        sqlx::query("UPDATE audit SET at = at + 1 WHERE org_id = $1 AND seq = 4")
            .bind("org-c")
            .execute(&raw)
            .await
            .unwrap();
        assert_eq!(
            store.verify_audit("org-c").await.unwrap().first_bad_seq,
            Some(4),
            "editing the time"
        );

        // A deleted middle entry in org-b: the entry after the gap is named.
        sqlx::query("DELETE FROM audit WHERE org_id = $1 AND seq = 4")
            .bind("org-b")
            .execute(&raw)
            .await
            .unwrap();
        let check = store.verify_audit("org-b").await.unwrap();
        assert!(!check.ok);
        assert_eq!(check.first_bad_seq, Some(5));
        assert_eq!(check.entries, 3);

        // A broken link (org-d): the entry whose prev_hash was edited is named.
        sqlx::query("UPDATE audit SET prev_hash = $1 WHERE org_id = $2 AND seq = 7")
            .bind("f".repeat(64))
            .bind("org-d")
            .execute(&raw)
            .await
            .unwrap();
        assert_eq!(
            store.verify_audit("org-d").await.unwrap().first_bad_seq,
            Some(7)
        );

        // The newest entries removed (org-f): the chain ends before its head.
        org_with_history(&store, "org-f").await;
        sqlx::query("DELETE FROM audit WHERE org_id = $1 AND seq >= 5")
            .bind("org-f")
            .execute(&raw)
            .await
            .unwrap();
        let check = store.verify_audit("org-f").await.unwrap();
        assert!(!check.ok, "truncation shows: {check:?}");
        assert_eq!((check.entries, check.first_bad_seq), (4, Some(5)));

        // Chains are per organization: the others' tampering does not matter
        // to a fresh one, whose chain starts at seq 1.
        org_with_history(&store, "org-e").await;
        let check = store.verify_audit("org-e").await.unwrap();
        assert!(check.ok && check.entries == 7, "{check:?}");
        raw.close().await;
    }

    on_both_backends!();
}

// ---------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------

mod outbox_claims_are_exclusive_and_leased {
    use super::*;

    async fn body(store: Store, db: Db) {
        new_org(&store, "org-1").await;
        // Emails come with the write that causes them ...
        let mut write = Write::new(()).audit(AuditDraft::new("invitation.created"));
        for n in 0..15 {
            write = write.email(draft_email(n));
        }
        apply(&store, "org-1", t0(), write).await;
        // ... or alone (sign-in links).
        for n in 15..20 {
            store
                .enqueue_email(None, &draft_email(n), t0())
                .await
                .unwrap();
        }
        let all = store.outbox(None, 100).await.unwrap();
        assert_eq!(all.len(), 20);
        assert!(all.iter().all(|m| m.status == "pending" && m.attempts == 0));
        let message_ids: BTreeSet<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
        assert_eq!(
            message_ids.len(),
            20,
            "every message has its own Message-ID"
        );

        // Four workers on two replicas claim at the same time, three at a time.
        let other = db.connect().await;
        let lease = chrono::Duration::seconds(60);
        let mut workers = Vec::new();
        for worker in 0..4 {
            let store = if worker % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            workers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_outbox(t0(), lease, 3).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    mine.extend(batch.into_iter().map(|m| m.id));
                }
                mine
            }));
        }
        let mut claimed = Vec::new();
        for worker in workers {
            claimed.extend(worker.await.unwrap());
        }
        let distinct: BTreeSet<&String> = claimed.iter().collect();
        assert_eq!(distinct.len(), claimed.len(), "no message claimed twice");
        assert_eq!(claimed.len(), 20, "every message claimed once");

        // Not again while the lease runs, by anyone.
        let half = t0() + chrono::Duration::seconds(30);
        assert!(store
            .claim_outbox(half, lease, 100)
            .await
            .unwrap()
            .is_empty());
        assert!(other
            .claim_outbox(half, lease, 100)
            .await
            .unwrap()
            .is_empty());

        // Once it ends (a worker that crashed), the messages come back, with
        // the same Message-ID, counting the attempt.
        let later = t0() + lease;
        let again = other.claim_outbox(later, lease, 100).await.unwrap();
        assert_eq!(again.len(), 20);
        assert!(again.iter().all(|m| m.attempts == 2));
        let again_ids: BTreeSet<&str> = again.iter().map(|m| m.message_id.as_str()).collect();
        assert_eq!(again_ids, message_ids);

        let sent = &again[0].id;
        let dead = &again[1].id;
        let retried = &again[2].id;
        store.mark_sent(sent, later).await.unwrap();
        store
            .mark_failed(dead, "550 no such user", None)
            .await
            .unwrap();
        let retry_at = t0() + chrono::Duration::minutes(10);
        store
            .mark_failed(retried, "connection refused", Some(retry_at))
            .await
            .unwrap();

        // After the second lease: everything but those three.
        let third = t0() + chrono::Duration::minutes(2);
        let batch = store
            .claim_outbox(third, chrono::Duration::minutes(30), 100)
            .await
            .unwrap();
        assert_eq!(batch.len(), 17);
        assert!(batch
            .iter()
            .all(|m| m.id != *sent && m.id != *dead && m.id != *retried));
        // The retry is due at its time, not before.
        assert!(store
            .claim_outbox(retry_at - chrono::Duration::milliseconds(1), lease, 100)
            .await
            .unwrap()
            .is_empty());
        let due = store.claim_outbox(retry_at, lease, 100).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, *retried);
        assert_eq!(due[0].last_error.as_deref(), Some("connection refused"));

        // Sent and dead messages are never claimed again.
        let much_later = t0() + chrono::Duration::days(30);
        let last = store.claim_outbox(much_later, lease, 100).await.unwrap();
        assert_eq!(last.len(), 18);
        assert!(last.iter().all(|m| m.id != *sent && m.id != *dead));
        let everything = store.outbox(None, 1000).await.unwrap();
        let by_id = |id: &str| everything.iter().find(|m| m.id == id).unwrap();
        assert_eq!(by_id(dead).status, "dead");
        assert_eq!(by_id(dead).last_error.as_deref(), Some("550 no such user"));
        assert_eq!(by_id(sent).status, "sent");
        other.close().await;
    }

    on_both_backends!();
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

mod ten_concurrent_writes_to_one_organization_all_land {
    use super::*;

    async fn body(store: Store, db: Db) {
        let initial = new_org(&store, "org-1").await;
        let mut tasks = Vec::new();
        for n in 0..10 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                apply(&store, "org-1", t0(), join(&format!("u-{n}"))).await
            }));
        }
        let mut revisions = BTreeSet::new();
        for task in tasks {
            revisions.insert(task.await.unwrap());
        }
        assert_eq!(
            revisions,
            (initial + 1..=initial + 10).collect::<BTreeSet<_>>(),
            "each write had a revision of its own"
        );
        let raw = db.raw().await;
        assert_eq!(db_revision(&raw, "org-1").await, initial + 10);
        let cached = cached(&store, "org-1").await;
        assert_eq!(cached.revision, initial + 10);
        assert_eq!(cached.member_count(), 11);
        assert_eq!(view(&cached), view(&fresh(&db, "org-1").await));
        let check = store.verify_audit("org-1").await.unwrap();
        assert!(check.ok, "{check:?}");
        assert_eq!(check.entries, 11);
        raw.close().await;
    }

    on_both_backends!();
}

/// Rules that admit a member only while the organization has fewer than six.
fn join_if_room(user_id: String) -> impl FnOnce(&OrgSnapshot) -> Result<Write<()>, &'static str> {
    move |snapshot| {
        if snapshot.member_count() >= 6 {
            Err("full")
        } else {
            Ok(join(&user_id))
        }
    }
}

async fn ten_joins_race_for_five_seats(stores: Vec<Store>, db: Db) {
    new_org(&stores[0], "org-1").await;
    let mut tasks = Vec::new();
    for n in 0..10 {
        let store = stores[n % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            store
                .write("org-1", &ctx(t0()), join_if_room(format!("u-{n}")))
                .await
        }));
    }
    let (mut admitted, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(WriteError::Rule("full")) => refused += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((admitted, refused), (5, 5));
    let fresh = fresh(&db, "org-1").await;
    assert_eq!(fresh.member_count(), 6);
    assert_eq!(fresh.revision, 6);
    for store in &stores {
        let snapshot = store.snapshot("org-1", Some(6)).await.unwrap().unwrap();
        assert_eq!(view(&snapshot), view(&fresh));
    }
}

mod rules_see_the_state_they_change_so_ten_concurrent_joins_fill_exactly_five_seats {
    use super::*;

    async fn body(store: Store, db: Db) {
        ten_joins_race_for_five_seats(vec![store], db).await;
    }

    on_both_backends!();
}

mod replicas_on_postgresql_serialize_writes_to_one_organization {
    use super::*;

    async fn body(store: Store, db: Db) {
        let other = db.connect().await;
        ten_joins_race_for_five_seats(vec![store.clone(), other.clone()], db.clone()).await;

        // And plain concurrent writes from both replicas all land.
        let mut tasks = Vec::new();
        for n in 0..10 {
            let store = if n % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tasks.push(tokio::spawn(async move {
                apply(&store, "org-1", t0(), join(&format!("u-more-{n}"))).await
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let fresh = fresh(&db, "org-1").await;
        assert_eq!(fresh.revision, 16);
        assert_eq!(fresh.member_count(), 16);
        assert!(store.verify_audit("org-1").await.unwrap().ok);
        other.close().await;
    }

    on_postgres_only!();
}

mod a_write_on_one_replica_reaches_the_cache_of_another {
    use super::*;

    async fn body(store: Store, db: Db) {
        new_org(&store, "org-1").await;
        let revision = apply(&store, "org-1", t0(), join("u-alice")).await;
        let other = db.connect().await;
        let listener = other.spawn_change_listener().unwrap();
        assert_eq!(cached(&other, "org-1").await.revision, revision);
        // Let the listener subscribe before the write.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(cached(&other, "org-1").await.revision, revision);

        let removed = apply(
            &store,
            "org-1",
            t0(),
            effects(vec![Effect::RemoveMember {
                user_id: "u-alice".to_owned(),
            }]),
        )
        .await;
        let mut seen = None;
        for _ in 0..50 {
            let snapshot = cached(&other, "org-1").await;
            if snapshot.revision == removed {
                seen = Some(snapshot);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let seen = seen.expect("the other replica learns of the write within 5 s");
        assert!(seen.member("u-alice").is_none());
        listener.abort();
        other.close().await;
    }

    on_postgres_only!();
}

mod a_replica_loading_during_a_write_elsewhere_does_not_keep_a_stale_snapshot {
    use super::*;

    /// Replica B loads the organization (slowly, as for a large one) while
    /// replica A adds a member. B's listener hears of A's write during the
    /// load; B must not go on serving the state from before it.
    ///
    /// The slow load is made deterministic by holding a lock on
    /// `space_roles`: B's load reads `orgs` and `memberships`, then waits on
    /// `space_roles` until the lock is released, after A's write landed and
    /// was notified.
    async fn body(store: Store, db: Db) {
        let before = new_org(&store, "org-1").await;
        let other = db.connect().await;
        let listener = other.spawn_change_listener().unwrap();
        assert_eq!(cached(&other, "org-1").await.revision, before);
        tokio::time::sleep(Duration::from_millis(500)).await;

        let raw = db.raw().await;
        let mut lock = raw.begin().await.unwrap();
        lock.execute("LOCK TABLE space_roles IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        other.evict_all();
        let loading = {
            let other = other.clone();
            tokio::spawn(async move { cached(&other, "org-1").await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let revision = apply(&store, "org-1", t0(), join("u-alice")).await;
        // The notification arrives while B is still loading.
        tokio::time::sleep(Duration::from_millis(500)).await;
        lock.rollback().await.unwrap();
        let loaded = loading.await.unwrap();
        assert_eq!(loaded.revision, before, "the load began before the write");
        tokio::time::sleep(Duration::from_millis(500)).await;

        let served = cached(&other, "org-1").await;
        listener.abort();
        other.close().await;
        raw.close().await;
        assert_eq!(
            (served.revision, served.member("u-alice").is_some()),
            (revision, true),
            "replica B still serves revision {} after revision {revision} was written and notified",
            served.revision
        );
    }

    on_postgres_only!();
}

mod a_sign_in_link_is_used_once_even_by_two_concurrent_uses {
    use super::*;

    async fn body(store: Store, _db: Db) {
        new_org(&store, "org-1").await;
        let expires_at = at(chrono::Duration::minutes(15));
        apply(
            &store,
            "org-1",
            t0(),
            Write::new(()).row(Row::SignInLink {
                token_hash: "link-hash".to_owned(),
                user_id: "u-owner".to_owned(),
                expires_at,
            }),
        )
        .await;
        let link = store.sign_in_link("link-hash").await.unwrap().unwrap();
        assert_eq!(
            (
                link.org_id.as_str(),
                link.user_id.as_str(),
                link.expires_at,
                link.used
            ),
            ("org-1", "u-owner", expires_at, false)
        );

        let use_link = |n: usize| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write("org-1", &ctx(t0()), move |_| {
                        Ok::<_, Infallible>(
                            Write::new(())
                                .row(Row::UseSignInLink {
                                    token_hash: "link-hash".to_owned(),
                                })
                                .row(Row::CreateToken(NewToken {
                                    id: format!("ses-{n}"),
                                    user_id: "u-owner".to_owned(),
                                    kind: "session".to_owned(),
                                    name: "admin UI session".to_owned(),
                                    secret_hash: format!("{n:064}"),
                                    expires_at: None,
                                })),
                        )
                    })
                    .await
            })
        };
        let (a, b) = (use_link(1), use_link(2));
        let outcomes = [a.await.unwrap(), b.await.unwrap()];
        let used = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(used, 1, "{outcomes:?}");
        assert!(outcomes.iter().any(|o| matches!(
            o,
            Err(WriteError::Store(roster_store::StoreError::Conflict(_)))
        )));
        assert!(store.sign_in_link("link-hash").await.unwrap().unwrap().used);
        let sessions = usize::from(store.token("ses-1").await.unwrap().is_some())
            + usize::from(store.token("ses-2").await.unwrap().is_some());
        assert_eq!(sessions, 1, "the refused use created no session");
        assert!(
            store
                .tokens("org-1", None, None, 10)
                .await
                .unwrap()
                .is_empty(),
            "sessions are not listed as tokens"
        );
    }

    on_both_backends!();
}

mod deleting_an_organization_revokes_its_tokens_and_hides_it {
    use super::*;

    async fn body(store: Store, db: Db) {
        new_org(&store, "org-1").await;
        new_org(&store, "org-2").await;
        let token = |id: &str| {
            Write::new(()).row(Row::CreateToken(NewToken {
                id: id.to_owned(),
                user_id: "u-owner".to_owned(),
                kind: "mcp".to_owned(),
                name: id.to_owned(),
                secret_hash: format!("hash-of-{id}"),
                expires_at: None,
            }))
        };
        apply(&store, "org-1", t0(), token("tok-1")).await;
        apply(&store, "org-2", t0(), token("tok-2")).await;
        let other = db.connect().await;
        assert!(other.snapshot("org-1", None).await.unwrap().is_some());

        let gone = at(chrono::Duration::hours(1));
        apply(
            &store,
            "org-1",
            gone,
            Write::new(())
                .row(Row::DeleteOrg)
                .audit(AuditDraft::new("org.deleted")),
        )
        .await;
        assert!(store.snapshot("org-1", None).await.unwrap().is_none());
        other.evict_all();
        assert!(other.snapshot("org-1", None).await.unwrap().is_none());
        let revoked = store.token("tok-1").await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(gone));
        assert_eq!(revoked.revoked_reason.as_deref(), Some("org_deleted"));
        assert_eq!(
            store.token("tok-2").await.unwrap().unwrap().revoked_at,
            None
        );
        let outcome = store
            .write("org-1", &ctx(gone), |_| Ok::<_, Infallible>(join("u-late")))
            .await;
        assert!(
            matches!(outcome, Err(WriteError::OrgNotFound)),
            "{outcome:?}"
        );
        // The audit log stays, and still verifies.
        assert!(store.verify_audit("org-1").await.unwrap().ok);
        assert!(store.snapshot("org-2", None).await.unwrap().is_some());
        other.close().await;
    }

    on_both_backends!();
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

mod a_new_token_stores_only_the_hash_it_is_given {
    use super::*;
    use sha2::{Digest, Sha256};

    async fn body(store: Store, db: Db) {
        new_org(&store, "org-1").await;
        apply(&store, "org-1", t0(), join("u-alice")).await;
        let secret = "rst_api_7f3c9a1be2d44f0c8a6b5e1d2c3b4a59";
        let hash = hex::encode(Sha256::digest(secret.as_bytes()));
        let expires = at(chrono::Duration::days(30));
        apply(
            &store,
            "org-1",
            t0(),
            Write::new(())
                .row(Row::CreateToken(NewToken {
                    id: "tok-1".to_owned(),
                    user_id: "u-alice".to_owned(),
                    kind: "api".to_owned(),
                    name: "CI".to_owned(),
                    secret_hash: hash.clone(),
                    expires_at: Some(expires),
                }))
                .audit(
                    AuditDraft::new("token.created")
                        .target("u-alice")
                        .details(serde_json::json!({"token_id": "tok-1", "kind": "api"})),
                ),
        )
        .await;

        let token = store.token("tok-1").await.unwrap().unwrap();
        assert_eq!(token.secret_hash, hash, "the hash exactly as given");
        assert_eq!(token.org_id, "org-1");
        assert_eq!(token.user_id, "u-alice");
        assert_eq!(token.kind, "api");
        assert_eq!(token.created_at, t0());
        assert_eq!(token.expires_at, Some(expires));
        assert_eq!(token.revoked_at, None);
        let json = serde_json::to_value(&token).unwrap();
        assert!(json.get("secret_hash").is_none(), "{json}");
        assert_eq!(
            store
                .tokens("org-1", Some("u-alice"), None, 10)
                .await
                .unwrap()
                .len(),
            1
        );

        // No text anywhere in the database holds the secret, nor any large
        // piece of it.
        let raw = db.raw().await;
        let needle = &secret[8..24];
        let mut hash_seen = 0;
        for table in TABLES {
            let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                .fetch_all(&raw)
                .await
                .unwrap();
            for row in &rows {
                for i in 0..row.len() {
                    if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                        assert!(
                            !text.contains(needle),
                            "{table} column {i} holds the secret: {text}"
                        );
                        if text == hash {
                            hash_seen += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(hash_seen, 1, "the hash is stored once, in tokens");

        // Revocation keeps the row, with when and why.
        let revoked_at = at(chrono::Duration::hours(2));
        apply(
            &store,
            "org-1",
            revoked_at,
            Write::new(()).row(Row::RevokeToken {
                token_id: "tok-1".to_owned(),
                reason: "user_revoked".to_owned(),
            }),
        )
        .await;
        let token = store.token("tok-1").await.unwrap().unwrap();
        assert_eq!(token.revoked_at, Some(revoked_at));
        assert_eq!(token.revoked_reason.as_deref(), Some("user_revoked"));
        assert_eq!(token.secret_hash, hash);
        raw.close().await;
    }

    on_both_backends!();
}
