//! How long a cold `Store::snapshot` takes for a large organization:
//! 100,000 members, 10,000 spaces and 500,000 space roles.
//!
//! The data goes in directly with SQL (multi-row INSERTs in batches, one
//! transaction per table), not through `Store::write`. Then the snapshot is
//! loaded five times, the cache emptied before each, and the median printed.
//! Runs on SQLite (a temporary file) and, when `ROSTER_TEST_POSTGRES_URL` is
//! set, on PostgreSQL (a temporary database, dropped afterwards).
//!
//! ```sh
//! ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo run --release -p roster-store --example load_snapshot
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::time::{Duration, Instant};

use roster_core::{OrgSettings, SpaceRole};
use roster_store::{AuditActor, Store, Write, WriteContext};
use sqlx::{AnyPool, Executor};

const MEMBERS: usize = 100_000;
const SPACES: usize = 10_000;
const ROLES_PER_MEMBER: usize = 5;
const BATCH: usize = 2_000;
const RUNS: usize = 5;
const ORG: &str = "org-bench";

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("roster_bench_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite_url = format!("sqlite://{}", dir.join("roster.db").display());
    bench("SQLite", &sqlite_url, &format!("{sqlite_url}?mode=rwc")).await;
    let _ = std::fs::remove_dir_all(&dir);

    match std::env::var("ROSTER_TEST_POSTGRES_URL") {
        Ok(admin_url) => {
            let name = format!("roster_bench_{}", uuid::Uuid::new_v4().simple());
            admin_sql(&admin_url, &format!("CREATE DATABASE {name}")).await;
            let base = admin_url
                .rsplit_once('/')
                .map(|(base, _)| base)
                .unwrap_or(&admin_url);
            let url = format!("{base}/{name}");
            bench("PostgreSQL", &url, &url).await;
            admin_sql(
                &admin_url,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
        Err(_) => println!("PostgreSQL: skipped: ROSTER_TEST_POSTGRES_URL is not set"),
    }
}

async fn admin_sql(admin_url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(admin_url).await.unwrap();
    pool.execute(sql).await.unwrap();
    pool.close().await;
}

async fn bench(label: &str, url: &str, raw_url: &str) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let ctx = WriteContext {
        now: chrono::Utc::now(),
        actor: AuditActor::platform(),
        request_id: None,
    };
    store
        .create_org(ORG, "Bench", &OrgSettings::default(), &ctx, |_| {
            Ok::<_, Infallible>(Write::new(()))
        })
        .await
        .unwrap();

    let raw = AnyPool::connect(raw_url).await.unwrap();
    let started = Instant::now();
    fill(&raw).await;
    raw.execute("ANALYZE").await.unwrap();
    let setup = started.elapsed();

    let mut times = Vec::new();
    for _ in 0..RUNS {
        store.evict_all();
        let started = Instant::now();
        let snapshot = store.snapshot(ORG, None).await.unwrap().unwrap();
        times.push(started.elapsed());
        assert_eq!(snapshot.member_count(), MEMBERS);
        assert_eq!(snapshot.space_count(), SPACES);
    }
    let snapshot = store.snapshot(ORG, None).await.unwrap().unwrap();
    let roles: usize = snapshot
        .members()
        .map(|m| snapshot.space_roles_of(m).count())
        .sum();
    assert_eq!(roles, MEMBERS * ROLES_PER_MEMBER);

    // Where the time goes: the database's part alone (rows fetched, not parsed).
    let mut fetch = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        for sql in [
            "SELECT m.user_id, u.email, u.name, m.status, m.org_role, m.ia_assigned_at, m.ia_expires_at, m.ia_duration, m.ia_invited_by FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1",
            "SELECT id, name FROM spaces WHERE org_id = $1 ORDER BY created_at, id",
            "SELECT user_id, space_id, role FROM space_roles WHERE org_id = $1",
        ] {
            sqlx::query(sql).bind(ORG).fetch_all(&raw).await.unwrap();
        }
        fetch.push(started.elapsed());
    }

    let in_order = times.iter().map(|t| ms(*t)).collect::<Vec<_>>().join(", ");
    times.sort();
    fetch.sort();
    println!(
        "{label}: {MEMBERS} members, {SPACES} spaces, {roles} space roles (setup {:.1} s)",
        setup.as_secs_f64()
    );
    println!(
        "{label}: cold Store::snapshot, {RUNS} runs: median {} (min {}, max {}); in order: {in_order}",
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1]),
    );
    println!(
        "{label}: of which fetching the rows of the three large queries: median {}",
        ms(fetch[RUNS / 2])
    );
    raw.close().await;
    store.close().await;
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Inserts `rows` with multi-row INSERTs of `BATCH` rows, in one transaction.
async fn insert(raw: &AnyPool, head: &str, rows: impl Iterator<Item = String>) {
    let mut tx = raw.begin().await.unwrap();
    let rows: Vec<String> = rows.collect();
    for chunk in rows.chunks(BATCH) {
        let sql = format!("{head} VALUES {}", chunk.join(","));
        tx.execute(sql.as_str()).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn fill(raw: &AnyPool) {
    let now = chrono::Utc::now().timestamp_millis();
    let in_three_months = now + 90 * 24 * 3600 * 1000;
    insert(
        raw,
        "INSERT INTO users (id, email, name, created_at)",
        (0..MEMBERS).map(|i| format!("('u{i:06}', 'user{i}@example.com', 'User {i}', {now})")),
    )
    .await;
    // One Owner, 19 Admins, 10 Implementation Admins, every 50th deactivated.
    insert(
        raw,
        "INSERT INTO memberships (org_id, user_id, status, org_role, ia_assigned_at, ia_expires_at, ia_duration, ia_invited_by, created_at)",
        (0..MEMBERS).map(|i| {
            let status = if i % 50 == 49 { "deactivated" } else { "active" };
            let role = match i {
                0 => "'owner', NULL, NULL, NULL, NULL".to_owned(),
                1..20 => "'admin', NULL, NULL, NULL, NULL".to_owned(),
                20..30 => format!("'implementation_admin', {now}, {in_three_months}, '3_months', 'u000000'"),
                _ => "NULL, NULL, NULL, NULL, NULL".to_owned(),
            };
            format!("('{ORG}', 'u{i:06}', '{status}', {role}, {now})")
        }),
    )
    .await;
    insert(
        raw,
        "INSERT INTO spaces (id, org_id, name, created_at)",
        (0..SPACES).map(|j| format!("('s{j:05}', '{ORG}', 'Space {j}', {now})")),
    )
    .await;
    // Five roles per member, in five different spaces.
    insert(
        raw,
        "INSERT INTO space_roles (org_id, space_id, user_id, role)",
        (0..MEMBERS).flat_map(|i| {
            (0..ROLES_PER_MEMBER).map(move |k| {
                let space = (i * 7 + k * 2003) % SPACES;
                let role = SpaceRole::ALL[(i + k) % 4].as_str();
                format!("('{ORG}', 's{space:05}', 'u{i:06}', '{role}')")
            })
        }),
    )
    .await;
}
