//! Many organizations on one replica with a bounded snapshot cache: by
//! default 100,000 organizations of 5 members (an Owner and four without
//! an org role, two spaces, each member a participant of one) and 10 of
//! 10,000 members, put straight into the database, served by the real
//! server in this process with `ROSTER_CACHE_MB` (default 64). Then a walk
//! asks one evaluation per organization, every organization once in a
//! shuffled order, 4 at a time, twice; each answer is checked (the Owner
//! may view the members). Printed: latencies, the cache's hits, misses,
//! loads and evictions, the bytes it holds, and the process's resident
//! memory, sampled every 50 ms through the walks.
//!
//! `cargo run --release -p roster-server --example many_orgs -- [ORGS [CACHE_MB]] [sqlite|postgres://…]`
//!
//! Default: a fresh SQLite file in a temporary folder. A `postgres://` URL
//! names a server where this may create a database: the run uses a fresh
//! database of its own (`roster_many_orgs_<pid>`) and drops it at the end.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use roster_core::OrgSettings;
use serde_json::json;

#[path = "shared/client.rs"]
mod client;
#[path = "../../roster-store/examples/shared/fill.rs"]
mod fill;
#[path = "shared/postgres.rs"]
mod postgres;
#[path = "shared/server.rs"]
mod server;

use client::{Client, Figures};

const KEY: &str = "bench";
const SMALL_MEMBERS: usize = 5;
const LARGE_ORGS: usize = 10;
const LARGE_MEMBERS: usize = 10_000;
const AT_ONCE: usize = 4;

fn org_id(k: usize) -> String {
    format!("org_{k:032x}")
}

fn members_of(k: usize) -> usize {
    if k < LARGE_ORGS {
        LARGE_MEMBERS
    } else {
        SMALL_MEMBERS
    }
}

/// The first member (the Owner) of organization `k`; its members are
/// numbered on from there.
fn first_member(k: usize) -> usize {
    // Member 0 is the Owner of the template organization.
    1 + k.min(LARGE_ORGS) * LARGE_MEMBERS + k.saturating_sub(LARGE_ORGS) * SMALL_MEMBERS
}

async fn set_up(url: &str, orgs: usize) -> Result<(), String> {
    // One organization through the write API, as the others' template.
    let raw = fill::prepare(url, &OrgSettings::default()).await;
    let seat_roles: String = sqlx::query_scalar("SELECT seat_roles FROM orgs WHERE id = $1")
        .bind(fill::ORG)
        .fetch_one(&raw)
        .await
        .map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp_millis();
    fill::insert(
        &raw,
        "INSERT INTO orgs (id, name, seat_limit, allow_ia, seat_roles, ia_domains, revision, created_at)",
        (0..orgs).map(|k| {
            format!(
                "('{}', 'Organization {k}', NULL, 0, '{seat_roles}', '', 1, {now})",
                org_id(k)
            )
        }),
    )
    .await;
    let people = first_member(orgs);
    fill::insert(
        &raw,
        "INSERT INTO users (id, email, name, created_at)",
        (1..people).map(|i| {
            format!(
                "('{}', 'user{i}@example.com', 'User {i}', {now})",
                fill::user_id(i)
            )
        }),
    )
    .await;
    let each = |k: usize| (0..members_of(k)).map(move |m| (k, m, first_member(k) + m));
    fill::insert(
        &raw,
        "INSERT INTO memberships (org_id, user_id, status, org_role, created_at)",
        (0..orgs).flat_map(each).map(|(k, m, i)| {
            let role = if m == 0 { "'owner'" } else { "NULL" };
            format!(
                "('{}', '{}', 'active', {role}, {now})",
                org_id(k),
                fill::user_id(i)
            )
        }),
    )
    .await;
    fill::insert(
        &raw,
        "INSERT INTO spaces (id, org_id, name, created_at)",
        (0..orgs).flat_map(|k| {
            (0..2).map(move |s| {
                format!(
                    "('{}', '{}', 'Space {s}', {now})",
                    fill::space_id(2 * k + s),
                    org_id(k)
                )
            })
        }),
    )
    .await;
    fill::insert(
        &raw,
        "INSERT INTO space_roles (org_id, space_id, user_id, role)",
        (0..orgs)
            .flat_map(each)
            .filter(|(_, m, _)| *m > 0)
            .map(|(k, m, i)| {
                format!(
                    "('{}', '{}', '{}', 'participant')",
                    org_id(k),
                    fill::space_id(2 * k + m % 2),
                    fill::user_id(i)
                )
            }),
    )
    .await;
    fill::finish(raw).await;
    Ok(())
}

/// Every organization once, in a shuffled order, `AT_ONCE` at a time.
async fn walk(client: &Arc<Client>, order: &Arc<Vec<usize>>) -> Result<Figures, String> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..AT_ONCE {
        let (client, order, next) = (client.clone(), order.clone(), next.clone());
        tasks.spawn(async move {
            let mut samples = Vec::new();
            loop {
                let at = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&k) = order.get(at) else {
                    return Ok::<_, String>(samples);
                };
                let body = json!({
                    "subject": {"type": "user", "id": fill::user_id(first_member(k))},
                    "action": {"name": "members.view"},
                    "resource": {"type": "organization", "id": org_id(k), "properties": {"org_id": org_id(k)}},
                });
                let (took, answer, _) = client
                    .timed(Method::POST, "/access/v1/evaluation", None, Some(&body))
                    .await?;
                if answer["decision"] != json!(true) {
                    return Err(format!("organization {k}: {answer}"));
                }
                samples.push(took);
            }
        });
    }
    let mut figures = Figures::new("evaluation, each organization once");
    while let Some(done) = tasks.join_next().await {
        figures.samples.extend(done.map_err(|e| e.to_string())??);
    }
    Ok(figures)
}

async fn run(url: &str, label: &str, orgs: usize, cache_mb: u64) -> Result<(), String> {
    let started = Instant::now();
    set_up(url, orgs).await?;
    println!(
        "{label}: {orgs} organizations ({LARGE_ORGS} of {LARGE_MEMBERS} members, the rest of {SMALL_MEMBERS}), set up in {:.1} s; ROSTER_CACHE_MB={cache_mb}",
        started.elapsed().as_secs_f64()
    );
    let settings = server::on(url, KEY);
    let (base, app) = server::start(move |name| match name {
        "ROSTER_CACHE_MB" => Some(cache_mb.to_string()),
        _ => settings(name),
    })
    .await?;
    let client = Arc::new(Client {
        base,
        key: KEY.to_owned(),
        http: reqwest::Client::new(),
    });
    let before = server::rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let walking = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, walking) = (peak.clone(), walking.clone());
        tokio::spawn(async move {
            while walking.load(Ordering::Relaxed) {
                peak.fetch_max(server::rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // A shuffled order (Fisher-Yates with a fixed xorshift generator).
    let mut order: Vec<usize> = (0..orgs).collect();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for i in (1..orgs).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let order = Arc::new(order);
    for pass in 1..=2 {
        let walked = Instant::now();
        let mut figures = walk(&client, &order).await?;
        let took = walked.elapsed();
        figures.name = format!("pass {pass}: evaluation, each organization once");
        figures.print();
        let stats = app.store.cache_stats();
        println!(
            "    {:.1} s, {:.0} requests/s; cache: {} hits, {} misses, {} loads, {} evictions; holds {} snapshots, {:.1} MiB",
            took.as_secs_f64(),
            orgs as f64 / took.as_secs_f64(),
            stats.hits,
            stats.misses,
            stats.loads,
            stats.evictions,
            stats.snapshots,
            stats.bytes as f64 / f64::from(1 << 20)
        );
        if stats.bytes > cache_mb << 20 {
            return Err(format!("the cache holds more than its budget: {stats:?}"));
        }
    }
    walking.store(false, Ordering::Relaxed);
    sampler.await.map_err(|e| e.to_string())?;
    println!(
        "  resident memory: {} MiB before the walks, at most {} MiB during them",
        before / 1024,
        peak.load(Ordering::Relaxed) / 1024
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let (target, number) = postgres::numbers_then_target();
    let orgs = number(0).map_or(100_000, |n| n as usize);
    if orgs <= LARGE_ORGS {
        return Err(format!("more than {LARGE_ORGS} organizations, please"));
    }
    let cache_mb = number(1).unwrap_or(64).max(1);
    postgres::on_scratch_database(&target, "roster_many_orgs", |url, backend| async move {
        run(&url, backend, orgs, cache_mb).await
    })
    .await
}
