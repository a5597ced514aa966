//! What the test modules share: a clock, people and organizations made
//! through core rules, snapshots compared field by field, and ways to hold
//! a write open or wait for another replica.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use roster_core::invite::{self, invitations_of, EmailInput, InviteRequest, NewIds};
use roster_core::{
    Account, Actor, AuditAction, BatchId, Change, Email, IaAssignment, Invitation, InvitationId,
    MemberStatus, Name, OrgId, OrgRole, OrgSettings, OrgSnapshot, Role, RuleError, Space, SpaceId,
    SpaceRole, Timestamp, Trigger, UserId,
};
use roster_store::{
    AccountRequest, AuditDraft, Found, Lookups, Planned, Store, WriteContext, WriteError, Written,
};
use roster_testkit::{Backend, TestDb};
use sqlx::{AnyPool, Row as _};

/// The first Owner of every organization made by [`new_org`].
pub const OWNER: &str = "u-owner";

/// The tables the migrations create (checked by the migrations test).
pub const TABLES: &[&str] = &[
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

// ----- time, ids, people ---------------------------------------------------

/// 2025-03-01T12:00:00Z: whole milliseconds, as the database stores them.
pub fn t0() -> Timestamp {
    DateTime::<Utc>::from_timestamp_millis(1_740_830_400_000).unwrap()
}

pub fn at(offset: Duration) -> Timestamp {
    t0() + offset
}

/// How long invitations stay open.
pub fn ttl() -> Duration {
    Duration::days(14)
}

pub fn ctx(now: Timestamp) -> WriteContext {
    WriteContext {
        now,
        request_id: Some("req-test".to_owned()),
        dry_run: false,
    }
}

pub fn oid(id: &str) -> OrgId {
    OrgId::from(id)
}

pub fn uid(id: &str) -> UserId {
    UserId::from(id)
}

pub fn sid(id: &str) -> SpaceId {
    SpaceId::from(id)
}

pub fn name(text: &str) -> Name {
    Name::parse("name", text).unwrap()
}

/// Ids unique in this test binary.
pub fn fresh(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("{prefix}{:06}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The address of person `user`.
pub fn email(user: &str) -> Email {
    Email::parse(&format!("{user}@example.com")).unwrap()
}

pub fn name_of(user: &str) -> String {
    format!("Name of {user}")
}

/// The Owner every organization starts with, acting.
pub fn owner() -> Actor {
    Actor::user(OWNER)
}

/// Person `user`'s account: found by address, or created with `user` as id.
pub fn account(user: &str) -> AccountRequest {
    AccountRequest {
        email: email(user),
        fresh_id: uid(user),
        name: name_of(user),
    }
}

/// A write's lookups: these people's accounts.
pub fn accounts(users: &[&str]) -> Lookups {
    Lookups {
        accounts: users.iter().map(|user| account(user)).collect(),
        token: None,
    }
}

/// The account the write found (or created) for `user`'s address.
pub fn found_account<'f>(found: &'f Found, user: &str) -> Result<&'f Account, RuleError> {
    found
        .account(&email(user))
        .ok_or(RuleError::NotFound("looked-up account"))
}

// ----- planning --------------------------------------------------------------

/// An audit entry as a request records it, with the grant's actor.
pub fn draft(action: AuditAction, target: Option<&UserId>) -> AuditDraft {
    AuditDraft {
        action,
        trigger: Trigger::Request,
        target_user_id: target.cloned(),
        space_id: None,
        details: serde_json::json!({}),
        actor: None,
    }
}

/// A change with nothing else to persist.
pub fn plan(change: Change) -> Planned<()> {
    Planned::new(change, ())
}

/// A change with the one audit entry that records it.
pub fn audited(change: Change, action: AuditAction, target: Option<&UserId>) -> Planned<()> {
    let mut planned = plan(change);
    planned.audit.push(draft(action, target));
    planned
}

// ----- writing -----------------------------------------------------------------

/// Runs rules that must succeed in `org`; answers what was written.
pub async fn write<T>(
    store: &Store,
    org: &str,
    now: Timestamp,
    lookups: &Lookups,
    rules: impl FnOnce(&OrgSnapshot, &Found) -> Result<Planned<T>, RuleError>,
) -> Written<T> {
    match store.write(&oid(org), &ctx(now), lookups, rules).await {
        Ok(written) => written,
        Err(e) => panic!("a write to {org} failed: {e:?}"),
    }
}

/// Runs one core rule that must succeed, persisting its change alone;
/// answers the new revision.
pub async fn apply(
    store: &Store,
    org: &str,
    now: Timestamp,
    rule: impl FnOnce(&OrgSnapshot) -> Result<Change, RuleError>,
) -> i64 {
    write(store, org, now, &Lookups::default(), |snap, _| {
        rule(snap).map(plan)
    })
    .await
    .revision
}

/// Organization `org`, "Acme", created by the platform with `u-owner` as
/// its first Owner (whose account is created on first use); answers its
/// revision.
pub async fn new_org(store: &Store, org: &str) -> i64 {
    new_org_with(store, org, &OrgSettings::default()).await
}

pub async fn new_org_with(store: &Store, org: &str, settings: &OrgSettings) -> i64 {
    store
        .create_org(
            &oid(org),
            "Acme",
            settings,
            &ctx(t0()),
            &accounts(&[OWNER]),
            |snap, found| {
                let owner = found_account(found, OWNER)?;
                let change = roster_core::org::create_organization(snap, &Actor::Platform, owner)?;
                Ok::<_, RuleError>(audited(
                    change,
                    AuditAction::OrgCreated,
                    Some(&owner.user_id),
                ))
            },
        )
        .await
        .unwrap()
        .revision
}

pub fn invitation_request(users: &[&str], role: Role, spaces: &[&str]) -> InviteRequest {
    InviteRequest {
        emails: EmailInput::List(users.iter().map(|u| email(u).to_string()).collect()),
        role,
        space_ids: spaces.iter().map(|s| sid(s)).collect(),
        duration: None,
        message: None,
    }
}

/// The Owner's invitation batch, with fresh ids.
pub fn invite_rule(
    snap: &OrgSnapshot,
    request: &InviteRequest,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let mut next = || InvitationId::from(fresh("inv-"));
    let ids = NewIds {
        batch: BatchId::from(fresh("bat-")),
        invitation: &mut next,
    };
    invite::invite(snap, &owner(), request, now, ttl(), ids)
}

/// The Owner invites `users` as `role` (into `spaces`); answers the
/// invitations' ids, in the order of the addresses.
pub async fn invite(
    store: &Store,
    org: &str,
    now: Timestamp,
    users: &[&str],
    role: Role,
    spaces: &[&str],
) -> Vec<InvitationId> {
    let request = invitation_request(users, role, spaces);
    write(store, org, now, &Lookups::default(), |snap, _| {
        let change = invite_rule(snap, &request, now)?;
        let ids = invitations_of(&change)
            .iter()
            .map(|i| i.id.clone())
            .collect();
        let mut planned = Planned::new(change, ids);
        planned
            .audit
            .push(draft(AuditAction::InvitationCreated, None));
        Ok(planned)
    })
    .await
    .value
}

/// Person `user` accepts invitation `id`, their account found or created
/// by address inside the write; answers that account.
pub async fn try_accept(
    store: &Store,
    org: &str,
    now: Timestamp,
    id: &InvitationId,
    user: &str,
) -> Result<Written<Account>, WriteError<RuleError>> {
    store
        .write(&oid(org), &ctx(now), &accounts(&[user]), |snap, found| {
            let account = found_account(found, user)?.clone();
            let change = invite::accept_invitation(snap, id, &account, None, now)?;
            let mut planned = Planned::new(change, account);
            let target = planned.value.user_id.clone();
            planned
                .audit
                .push(draft(AuditAction::InvitationAccepted, Some(&target)));
            Ok(planned)
        })
        .await
}

pub async fn accept(
    store: &Store,
    org: &str,
    now: Timestamp,
    id: &InvitationId,
    user: &str,
) -> Written<Account> {
    try_accept(store, org, now, id, user).await.unwrap()
}

/// Person `user` joins `org` as an Admin (invited, then accepting: two
/// writes); answers the revision after they joined.
pub async fn join(store: &Store, org: &str, now: Timestamp, user: &str) -> i64 {
    let ids = invite(store, org, now, &[user], Role::Org(OrgRole::Admin), &[]).await;
    accept(store, org, now, &ids[0], user).await.revision
}

/// The pending invitation for `user`'s address.
pub fn pending_for(snap: &OrgSnapshot, user: &str) -> Result<InvitationId, RuleError> {
    snap.pending_invitations()
        .find(|inv| inv.email == email(user))
        .map(|inv| inv.id.clone())
        .ok_or(RuleError::NotFound("pending invitation"))
}

/// A space made by the Owner.
pub fn space_rule(snap: &OrgSnapshot, id: &str, now: Timestamp) -> Result<Change, RuleError> {
    roster_core::spaces::create_space(snap, &owner(), sid(id), name(id), now)
}

// ----- reading -----------------------------------------------------------------

pub async fn connect(db: &TestDb) -> Store {
    Store::connect(db.url()).await.unwrap()
}

/// A store on the test's database, migrated.
pub async fn migrated(db: &TestDb) -> Store {
    let store = connect(db).await;
    store.migrate().await.unwrap();
    store
}

/// The snapshot `store` serves (from its cache when it has one).
pub async fn cached(store: &Store, org: &str) -> Arc<OrgSnapshot> {
    store.snapshot(&oid(org), None).await.unwrap().unwrap()
}

/// The organization as a store with an empty cache reads it.
pub async fn fresh_load(db: &TestDb, org: &str) -> Arc<OrgSnapshot> {
    let other = connect(db).await;
    let snapshot = cached(&other, org).await;
    other.close().await;
    snapshot
}

pub async fn db_revision(raw: &AnyPool, org: &str) -> i64 {
    count(raw, "SELECT revision FROM orgs WHERE id = $1", org).await
}

/// A number one query answers, for one organization.
pub async fn count(raw: &AnyPool, sql: &str, org: &str) -> i64 {
    sqlx::query(sql)
        .bind(org)
        .fetch_one(raw)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// A number one query answers.
pub async fn count_all(raw: &AnyPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(raw)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// Every text column of every table, as the database's own catalog lists
/// them: `(table, column)`.
pub async fn text_columns(db: &TestDb, raw: &AnyPool) -> Vec<(String, String)> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p
             WHERE m.type = 'table' AND upper(p.type) = 'TEXT'"
        }
        Backend::Postgres => {
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')"
        }
    };
    let rows = sqlx::query(sql).fetch_all(raw).await.unwrap();
    rows.iter()
        .map(|row| (row.try_get(0).unwrap(), row.try_get(1).unwrap()))
        .collect()
}

pub async fn audit_count(raw: &AnyPool, org: &str) -> i64 {
    count(raw, "SELECT COUNT(*) FROM audit WHERE org_id = $1", org).await
}

type MemberView = (
    UserId,
    Email,
    String,
    MemberStatus,
    Option<OrgRole>,
    Option<IaAssignment>,
    Vec<(SpaceId, SpaceRole)>,
);

/// Everything a snapshot says, in an order independent of how it was built.
#[derive(Debug, PartialEq)]
pub struct View {
    org_id: OrgId,
    name: String,
    revision: i64,
    settings: OrgSettings,
    members: Vec<MemberView>,
    spaces: Vec<Space>,
    invitations: Vec<Invitation>,
}

pub fn view(s: &Arc<OrgSnapshot>) -> View {
    let mut members: Vec<MemberView> = s
        .members()
        .map(|m| {
            let mut roles: Vec<(SpaceId, SpaceRole)> = s
                .space_roles_of(m)
                .map(|(space, role)| (space.clone(), role))
                .collect();
            roles.sort_by(|a, b| a.0.cmp(&b.0));
            (
                m.user_id.clone(),
                m.email.clone(),
                m.name.clone(),
                m.status,
                m.org_role,
                m.ia.as_deref().cloned(),
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

// ----- concurrency -------------------------------------------------------------

/// Waits for what another task or replica does, checking every 10 ms;
/// fails the test after 10 s.
pub async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up after 10 s waiting until {what}"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

/// Whether a session on this PostgreSQL database is waiting for a lock.
pub async fn someone_waits_for_a_lock(raw: &AnyPool) -> bool {
    count_all(
        raw,
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .await
        > 0
}

/// The revision `store` serves for `org` from its cache alone; `None` when
/// answering would take the database (a cache hit answers on the first
/// poll, without I/O, so one poll tells them apart).
pub fn served_from_cache(store: &Store, org: &str) -> Option<i64> {
    let org = oid(org);
    let mut answer = std::pin::pin!(store.snapshot(&org, None));
    match answer
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(Ok(Some(snapshot))) => Some(snapshot.revision),
        _ => None,
    }
}

/// Stops a write inside its rules — after its lookups, with its
/// organization locked and its transaction open — until released.
pub struct Hold {
    entered: tokio::sync::oneshot::Sender<()>,
    release: std::sync::mpsc::Receiver<()>,
}

/// The test's side of a [`Hold`].
pub struct Holder {
    entered: tokio::sync::oneshot::Receiver<()>,
    release: std::sync::mpsc::Sender<()>,
}

pub fn hold() -> (Hold, Holder) {
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    (
        Hold {
            entered: entered_tx,
            release: release_rx,
        },
        Holder {
            entered: entered_rx,
            release: release_tx,
        },
    )
}

impl Hold {
    /// Called by rules: blocks (its worker thread handed over to the other
    /// tasks) until released; a refusal if that does not happen in 10 s.
    pub fn wait(self) -> Result<(), RuleError> {
        let _ = self.entered.send(());
        tokio::task::block_in_place(|| self.release.recv_timeout(StdDuration::from_secs(10)))
            .map_err(|_| RuleError::Forbidden("the held write was never released".into()))
    }
}

impl Holder {
    /// Resolves once the held write is inside its rules.
    pub async fn entered(&mut self) {
        (&mut self.entered).await.unwrap();
    }

    pub fn release(self) {
        let _ = self.release.send(());
    }
}

/// Locks `space_roles` (loads read it third) in a transaction of its own,
/// then starts a load of `org` on `store` and waits until it waits for that
/// lock. Roll the transaction back to let the load go on.
pub async fn load_held_at_a_lock(
    raw: &AnyPool,
    store: &Store,
    org: &'static str,
) -> (
    sqlx::Transaction<'static, sqlx::Any>,
    tokio::task::JoinHandle<Arc<OrgSnapshot>>,
) {
    let mut lock = raw.begin().await.unwrap();
    sqlx::Executor::execute(
        &mut *lock,
        "LOCK TABLE space_roles IN ACCESS EXCLUSIVE MODE",
    )
    .await
    .unwrap();
    let loading = {
        let store = store.clone();
        tokio::spawn(async move { cached(&store, org).await })
    };
    wait_until("the load waits for the locked table", || {
        someone_waits_for_a_lock(raw)
    })
    .await;
    (lock, loading)
}
