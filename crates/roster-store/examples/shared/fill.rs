//! A large organization put straight into the database: the organization
//! and its first Owner through the write API, everything else with SQL
//! (multi-row INSERTs in batches, one transaction per table), not through
//! `Store::write`. Shared by the benchmark examples that need one.
// Each example that includes this file uses a part of it.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeSet;

use roster_core::{Actor, Email, OrgId, OrgSettings, RuleError, SpaceRole};
use roster_store::{AccountRequest, Lookups, Planned, Store, WriteContext};
use sqlx::{AnyPool, Executor};

pub const ROLES_PER_MEMBER: usize = 5;
const BATCH: usize = 2_000;
pub const ORG: &str = "org-bench";

/// Member `i`'s user id, shaped as Roster makes them (`usr_` and 32 hex
/// digits of a time-ordered UUID: `i` stands for the time): member 0 is
/// the Owner.
pub fn user_id(i: usize) -> String {
    format!("usr_{i:012x}7{:019x}", i.wrapping_mul(0x9e37_79b9))
}

/// Space `j`'s id, shaped as Roster makes them.
pub fn space_id(j: usize) -> String {
    format!("spc_{j:012x}7{:019x}", j.wrapping_mul(0x9e37_79b9))
}

/// A migrated database at `url` with the organization made through the
/// write API; answers a plain pool for the SQL that fills it.
pub async fn prepare(url: &str, settings: &OrgSettings) -> AnyPool {
    sqlx::any::install_default_drivers();
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    create_org(&store, settings).await;
    store.close().await;
    AnyPool::connect(url).await.unwrap()
}

/// Updates the database's statistics once the rows are in, and closes.
pub async fn finish(raw: AnyPool) {
    raw.execute("ANALYZE").await.unwrap();
    raw.close().await;
}

/// What to fill the organization with.
#[derive(Clone, Copy)]
pub struct Size {
    pub members: usize,
    pub spaces: usize,
    /// Implementation Admins (members 20, 21, …), each for three months.
    pub implementation_admins: usize,
}

/// The organization, created by the platform with member 0 as its Owner.
pub async fn create_org(store: &Store, settings: &OrgSettings) {
    let owner = AccountRequest {
        email: Email::parse("user0@example.com").unwrap(),
        fresh_id: user_id(0).as_str().into(),
        name: "User 0".to_owned(),
    };
    let lookups = Lookups {
        accounts: vec![owner.clone()],
        token: None,
    };
    let ctx = WriteContext {
        now: chrono::Utc::now(),
        request_id: None,
        dry_run: false,
    };
    store
        .create_org(
            &OrgId::from(ORG),
            "Bench",
            settings,
            &ctx,
            &lookups,
            |snap, found| {
                let account = found
                    .account(&owner.email)
                    .ok_or(RuleError::NotFound("owner account"))?;
                let change =
                    roster_core::org::create_organization(snap, &Actor::Platform, account)?;
                Ok::<_, RuleError>(Planned::new(change, ()))
            },
        )
        .await
        .unwrap();
}

/// Inserts `rows` with multi-row INSERTs of `BATCH` rows, in one
/// transaction (one batch of text at a time in memory).
pub async fn insert(raw: &AnyPool, head: &str, mut rows: impl Iterator<Item = String>) {
    let mut tx = raw.begin().await.unwrap();
    loop {
        let chunk: Vec<String> = rows.by_ref().take(BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        let sql = format!("{head} VALUES {}", chunk.join(","));
        tx.execute(sql.as_str()).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// The step between a member's spaces: 2003 (the measured data set) when
/// that gives five different spaces, else a fifth of them.
pub fn space_stride(spaces: usize) -> usize {
    let offsets: BTreeSet<usize> = (0..ROLES_PER_MEMBER).map(|k| k * 2003 % spaces).collect();
    if offsets.len() == ROLES_PER_MEMBER {
        2003
    } else {
        spaces / ROLES_PER_MEMBER
    }
}

pub async fn fill(
    raw: &AnyPool,
    Size {
        members,
        spaces,
        implementation_admins,
    }: Size,
) {
    let now = chrono::Utc::now().timestamp_millis();
    let in_three_months = now + 90 * 24 * 3600 * 1000;
    // Member 0, the Owner, exists already.
    insert(
        raw,
        "INSERT INTO users (id, email, name, created_at)",
        (1..members).map(|i| {
            format!(
                "('{}', 'user{i}@example.com', 'User {i}', {now})",
                user_id(i)
            )
        }),
    )
    .await;
    // 19 Admins, then the Implementation Admins; every 50th member deactivated.
    insert(
        raw,
        "INSERT INTO memberships (org_id, user_id, status, org_role, ia_assigned_at, ia_expires_at, ia_duration, ia_invited_by, created_at)",
        (1..members).map(|i| {
            let status = if i % 50 == 49 { "deactivated" } else { "active" };
            let role = match i {
                1..20 => "'admin', NULL, NULL, NULL, NULL".to_owned(),
                _ if i < 20 + implementation_admins => format!("'implementation_admin', {now}, {in_three_months}, '3_months', '{}'", user_id(0)),
                _ => "NULL, NULL, NULL, NULL, NULL".to_owned(),
            };
            format!("('{ORG}', '{}', '{status}', {role}, {now})", user_id(i))
        }),
    )
    .await;
    insert(
        raw,
        "INSERT INTO spaces (id, org_id, name, created_at)",
        (0..spaces).map(|j| format!("('{}', '{ORG}', 'Space {j}', {now})", space_id(j))),
    )
    .await;
    // Five roles per member, in five different spaces.
    let stride = space_stride(spaces);
    insert(
        raw,
        "INSERT INTO space_roles (org_id, space_id, user_id, role)",
        (0..members).flat_map(|i| {
            (0..ROLES_PER_MEMBER).map(move |k| {
                let space = (i * 7 + k * stride) % spaces;
                let role = SpaceRole::ALL[(i + k) % 4].as_str();
                format!(
                    "('{ORG}', '{}', '{}', '{role}')",
                    space_id(space),
                    user_id(i)
                )
            })
        }),
    )
    .await;
}
