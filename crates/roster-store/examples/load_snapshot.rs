//! How long a cold `Store::snapshot` takes for a large organization, and
//! the memory it needs: by default 100,000 members, 10,000 spaces and
//! 500,000 space roles (five per member). Another member count may be
//! given, and a space count after it (by default one space per ten
//! members), e.g. `1000000 50000`.
//!
//! The organization and its first Owner are made through the write API;
//! the rest goes in directly with SQL (multi-row INSERTs in batches, one
//! transaction per table), not through `Store::write`. Then the snapshot is
//! loaded five times, the cache emptied before each, and the median printed,
//! with the process's peak resident memory during the loads (`VmHWM`, reset
//! through `/proc/self/clear_refs` once the data is in: what the setup used
//! is not counted; what the process held before the loads is). Runs on
//! SQLite (a temporary file) and, when `ROSTER_TEST_POSTGRES_URL` is set, on
//! PostgreSQL (a temporary database, dropped afterwards); set
//! `ROSTER_BENCH_BACKEND` to `sqlite` or `postgres` for one of them alone.
//!
//! ```sh
//! ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo run --release -p roster-store --example load_snapshot [-- MEMBERS [SPACES]]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use roster_core::{OrgId, OrgSettings};
use roster_store::Store;
use roster_testkit::{Backend, TestDb, POSTGRES_URL_VAR};
use sqlx::Executor;

#[path = "shared/fill.rs"]
mod fill;
use fill::{create_org, fill, Size, ORG, ROLES_PER_MEMBER};

const DEFAULT_MEMBERS: usize = 100_000;
const RUNS: usize = 5;
/// `sqlite` or `postgres`: that backend alone (each in a process of its
/// own, so that one's memory does not count in the other's peak).
const BACKEND_VAR: &str = "ROSTER_BENCH_BACKEND";

#[tokio::main]
async fn main() {
    let members = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse::<usize>()
            .ok()
            .filter(|n| (30..=1_000_000).contains(n))
            .unwrap_or_else(|| {
                panic!("the member count must be a number from 30 to 1,000,000, not {arg}")
            }),
        None => DEFAULT_MEMBERS,
    };
    let spaces = match std::env::args().nth(2) {
        Some(arg) => arg
            .parse::<usize>()
            .ok()
            .filter(|n| (ROLES_PER_MEMBER..=100_000).contains(n))
            .unwrap_or_else(|| {
                panic!("the space count must be a number from {ROLES_PER_MEMBER} to 100,000, not {arg}")
            }),
        None => (members / 10).clamp(ROLES_PER_MEMBER, 100_000),
    };
    let size = Size {
        members,
        spaces,
        implementation_admins: 10,
    };

    let only = std::env::var(BACKEND_VAR).ok();
    let wanted = |backend: &str| only.as_deref().is_none_or(|b| b == backend);
    if wanted("sqlite") {
        let sqlite = TestDb::new(Backend::Sqlite).await.unwrap();
        bench("SQLite", &sqlite, size).await;
        drop(sqlite);
    }
    if !wanted("postgres") {
        return;
    }
    if std::env::var(POSTGRES_URL_VAR).is_ok() {
        if let Some(postgres) = TestDb::new(Backend::Postgres).await {
            bench("PostgreSQL", &postgres, size).await;
        }
    } else {
        println!("PostgreSQL: skipped: {POSTGRES_URL_VAR} is not set");
    }
}

async fn bench(label: &str, db: &TestDb, size: Size) {
    let Size {
        members, spaces, ..
    } = size;
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    create_org(&store, &OrgSettings::default()).await;

    let raw = db.raw().await;
    let started = Instant::now();
    fill(&raw, size).await;
    raw.execute("ANALYZE").await.unwrap();
    let setup = started.elapsed();

    let org = OrgId::from(ORG);
    let before = reset_peak_rss();
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..RUNS {
        store.evict_all();
        let started = Instant::now();
        let cpu_before = cpu_time();
        let snapshot = store.snapshot(&org, None).await.unwrap().unwrap();
        times.push(started.elapsed());
        cpu.push(cpu_time().saturating_sub(cpu_before));
        assert_eq!(snapshot.member_count(), members);
        assert_eq!(snapshot.space_count(), spaces);
    }
    let peak = peak_rss();
    let snapshot = store.snapshot(&org, None).await.unwrap().unwrap();
    let roles: usize = snapshot
        .members()
        .map(|m| snapshot.space_roles_of(m).count())
        .sum();
    assert_eq!(roles, members * ROLES_PER_MEMBER);
    let bytes = snapshot.approximate_bytes();
    drop(snapshot);

    // Where the time goes: the database's part alone (rows streamed through
    // the database's own driver and dropped, not parsed).
    let mut fetch = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let rows = match db.backend() {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(db.url()).await.unwrap();
                stream_rows(&pool).await
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
                stream_rows(&pool).await
            }
        };
        fetch.push(started.elapsed());
        assert_eq!(rows, members + spaces + roles);
    }

    let in_order = times.iter().map(|t| ms(*t)).collect::<Vec<_>>().join(", ");
    times.sort();
    fetch.sort();
    cpu.sort();
    let median = times[RUNS / 2];
    println!(
        "{label}: {members} members, {spaces} spaces, {roles} space roles (setup {:.1} s)",
        setup.as_secs_f64()
    );
    println!(
        "{label}: cold Store::snapshot, {RUNS} runs: median {} (min {}, max {}); in order: {in_order}",
        ms(median),
        ms(times[0]),
        ms(times[RUNS - 1]),
    );
    println!(
        "{label}: per 100,000 members: {}; CPU time of this process per load (all its threads; median): {}",
        ms(median.mul_f64(100_000.0 / members as f64)),
        ms(cpu[RUNS / 2]),
    );
    println!(
        "{label}: peak RSS during the loads: {} (resident before them: {}); the snapshot counts {} MiB",
        mib(peak),
        mib(before),
        bytes / (1 << 20)
    );
    println!(
        "{label}: of which streaming the rows of the three large queries (connecting included): median {}",
        ms(fetch[RUNS / 2])
    );
    raw.close().await;
    store.close().await;
}

/// The rows of the loader's three large queries, streamed and counted.
async fn stream_rows<DB>(pool: &sqlx::Pool<DB>) -> usize
where
    DB: sqlx::Database,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    use futures_util::TryStreamExt;
    let mut rows = 0;
    for sql in [
        "SELECT m.user_id, u.email, u.name, m.status, m.org_role, m.ia_assigned_at, m.ia_expires_at, m.ia_duration, m.ia_invited_by FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1",
        "SELECT id, name FROM spaces WHERE org_id = $1 ORDER BY created_at, id",
        "SELECT user_id, space_id, role FROM space_roles WHERE org_id = $1",
    ] {
        let mut stream = sqlx::query(sql).bind(ORG).fetch(pool);
        while stream.try_next().await.unwrap().is_some() {
            rows += 1;
        }
    }
    pool.close().await;
    rows
}

/// The CPU time this process's threads have used (Linux: user and system
/// time from `/proc/self/stat`, in clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let user: u64 = fields.get(11)?.parse().ok()?;
            let system: u64 = fields.get(12)?.parse().ok()?;
            Some(user + system)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Resets the process's peak resident memory to what it holds now (Linux:
/// `/proc/self/clear_refs`); answers that.
fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kib("VmRSS:")
}

/// The process's peak resident memory since the last reset.
fn peak_rss() -> Option<u64> {
    status_kib("VmHWM:")
}

/// A `/proc/self/status` line's figure, in KiB.
fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "unknown".to_owned(), |k| format!("{} MiB", k / 1024))
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}
