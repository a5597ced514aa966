//! Writes under load: N organizations (default 100), each with an Owner,
//! 50 members and 5 spaces made through the API, then 16 writers for a
//! fixed time, each looping over random organizations with a mix of writes
//! the Owner makes: an org role change (`PATCH …/members/{user}`, Admin ↔
//! none), a space role change (`PUT …/spaces/{space}/members/{user}`), and
//! an invitation of a new address (`POST …/invitations`, one address,
//! a program role or Admin; no SMTP, so the email waits in the outbox).
//!
//! Every write is meant to change something and to be allowed: the
//! generator keeps each member's roles as it set them, never sends two
//! writes for one member at once, always asks for a role they do not hold,
//! and the organizations have a seat limit of 1,000,000 (checked on every
//! write, never reached). Any answer other than 2xx is printed and fails
//! the run. Afterwards every audit chain must verify, and the audit entries
//! written must number the writes answered (one entry each).
//!
//! `cargo run --release -p roster-server --example write_throughput -- [SECONDS] [ORGS] [sqlite|postgres://…]`
//!
//! Default 20 s, 100 organizations, a fresh SQLite file in a temporary
//! folder. A `postgres://` URL names a server where this may create a
//! database: the run uses a fresh database of its own next to the one
//! named (`roster_write_bench_<pid>`) and drops it at the end. The load
//! generator runs in the server's process, on the same two tokio workers.
//!
//! On PostgreSQL it also counts the rows read from `spaces` during the
//! timed window (`pg_stat_user_tables`): only loading a snapshot reads that
//! table (5 rows per load here), besides the foreign-key check of a new
//! space role (at most 1 row per write), so it tells how many writes had
//! to load their organization's snapshot from the database instead of
//! finding it in the cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "shared/client.rs"]
mod client;
use client::{text, Client};
#[path = "shared/postgres.rs"]
mod postgres;
#[path = "shared/server.rs"]
mod server;
use serde_json::{json, Value};

const KEY: &str = "bench";
const WRITERS: usize = 16;
const MEMBERS: usize = 50;
const SPACES: usize = 5;
const SEAT_LIMIT: u32 = 1_000_000;
const SPACE_ROLES: [&str; 4] = ["program_admin", "facilitator", "participant", "sponsor"];

/// The three kinds of write, as reported.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    OrgRole,
    SpaceRole,
    Invitation,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::OrgRole, Kind::SpaceRole, Kind::Invitation];

    fn label(self) -> &'static str {
        match self {
            Kind::OrgRole => "org role (PATCH member)",
            Kind::SpaceRole => "space role (PUT space member)",
            Kind::Invitation => "invitation (POST invitations)",
        }
    }
}

/// What the generator knows of one member: the roles it set.
struct Member {
    user_id: String,
    admin: bool,
    /// By space index: the role held there, if any.
    space_roles: [Option<usize>; SPACES],
    /// A write for this member is in flight.
    busy: bool,
}

struct Org {
    id: String,
    owner: String,
    spaces: Vec<String>,
    members: Mutex<Vec<Member>>,
}

/// A small deterministic generator (xorshift64*), one per writer.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// One organization with its Owner, spaces and members, through the API.
async fn make_org(client: &Client, i: usize) -> Result<Org, String> {
    use reqwest::Method;
    let org = client
        .must(
            Method::POST,
            "/v1/orgs",
            None,
            Some(json!({"name": format!("Writes {i}"), "owner_email": format!("owner{i}@writes.example"), "seat_limit": SEAT_LIMIT})),
        )
        .await?;
    let (id, owner) = (
        text(&org["id"], "org id")?,
        text(&org["owner"]["user_id"], "owner")?,
    );
    let mut spaces = Vec::with_capacity(SPACES);
    for s in 0..SPACES {
        let space = client
            .must(
                Method::POST,
                &format!("/v1/orgs/{id}/spaces"),
                Some(&owner),
                Some(json!({"name": format!("Program {s}")})),
            )
            .await?;
        spaces.push(text(&space["id"], "space id")?);
    }
    let rows: Vec<Value> = (0..MEMBERS)
        .map(|m| json!({"email": format!("m{m}.o{i}@writes.example"), "space_roles": [{"space_id": spaces[m % SPACES], "role": "participant"}]}))
        .collect();
    let imported = client
        .must(
            Method::POST,
            &format!("/v1/orgs/{id}/members/import?mode=add"),
            None,
            Some(json!({"members": rows})),
        )
        .await?;
    let created = imported["created"].as_array().ok_or("no created list")?;
    if created.len() != MEMBERS {
        return Err(format!("{} members imported, not {MEMBERS}", created.len()));
    }
    let participant = SPACE_ROLES
        .iter()
        .position(|r| *r == "participant")
        .ok_or("no participant role")?;
    let mut members = Vec::with_capacity(MEMBERS);
    for (m, user) in created.iter().enumerate() {
        let mut space_roles = [None; SPACES];
        space_roles[m % SPACES] = Some(participant);
        members.push(Member {
            user_id: text(user, "user id")?,
            admin: false,
            space_roles,
            busy: false,
        });
    }
    Ok(Org {
        id,
        owner,
        spaces,
        members: Mutex::new(members),
    })
}

/// What one writer saw: latencies by kind, and every answer other than 2xx.
#[derive(Default)]
struct Seen {
    latencies: HashMap<Kind, Vec<Duration>>,
    failures: Vec<String>,
}

/// A write chosen under the organization's state lock; `member` is marked
/// busy until it is answered.
struct Planned {
    kind: Kind,
    method: reqwest::Method,
    path: String,
    body: Value,
    member: Option<usize>,
    /// What the member's state becomes if the write is answered 2xx.
    admin: Option<bool>,
    space_role: Option<(usize, usize)>,
}

fn plan(org: &Org, rng: &mut Rng, writer: usize, n: u64) -> Result<Planned, String> {
    let kind = Kind::ALL[rng.below(Kind::ALL.len())];
    if kind == Kind::Invitation {
        let email = format!("w{writer}.n{n}@invitees.example");
        let body = match rng.below(3) {
            0 => json!({"emails": [email], "role": "admin"}),
            1 => {
                json!({"emails": [email], "role": "facilitator", "space_ids": [org.spaces[rng.below(SPACES)]]})
            }
            _ => {
                json!({"emails": [email], "role": "participant", "space_ids": [org.spaces[rng.below(SPACES)]]})
            }
        };
        return Ok(Planned {
            kind,
            method: reqwest::Method::POST,
            path: format!("/v1/orgs/{}/invitations", org.id),
            body,
            member: None,
            admin: None,
            space_role: None,
        });
    }
    let mut members = org.members.lock().map_err(|_| "a writer panicked")?;
    // At most 15 of 50 members are busy: a free one turns up quickly.
    let index = loop {
        let candidate = rng.below(members.len());
        if !members[candidate].busy {
            break candidate;
        }
    };
    let member = &mut members[index];
    member.busy = true;
    let user = &member.user_id;
    Ok(if kind == Kind::OrgRole {
        let to_admin = !member.admin;
        Planned {
            kind,
            method: reqwest::Method::PATCH,
            path: format!("/v1/orgs/{}/members/{user}", org.id),
            body: json!({"org_role": if to_admin { json!("admin") } else { Value::Null }}),
            member: Some(index),
            admin: Some(to_admin),
            space_role: None,
        }
    } else {
        let space = rng.below(SPACES);
        let role = loop {
            let role = rng.below(SPACE_ROLES.len());
            if member.space_roles[space] != Some(role) {
                break role;
            }
        };
        Planned {
            kind,
            method: reqwest::Method::PUT,
            path: format!(
                "/v1/orgs/{}/spaces/{}/members/{user}",
                org.id, org.spaces[space]
            ),
            body: json!({"role": SPACE_ROLES[role]}),
            member: Some(index),
            admin: None,
            space_role: Some((space, role)),
        }
    })
}

async fn writer(
    client: Arc<Client>,
    orgs: Arc<Vec<Org>>,
    writer: usize,
    until: Instant,
    counter: Arc<AtomicU64>,
) -> Result<Seen, String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (writer as u64 + 1).wrapping_mul(0x1234_5678_9ABC));
    let mut seen = Seen::default();
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        let org = &orgs[rng.below(orgs.len())];
        let planned = plan(org, &mut rng, writer, n)?;
        let started = Instant::now();
        let answer = client
            .send(
                planned.method.clone(),
                &planned.path,
                Some(&org.owner),
                Some(&planned.body),
            )
            .await;
        let took = started.elapsed();
        counter.fetch_add(1, Ordering::Relaxed);
        let ok = match &answer {
            Ok((status, _)) => (200..300).contains(status),
            Err(_) => false,
        };
        if let Some(index) = planned.member {
            let mut members = org.members.lock().map_err(|_| "a writer panicked")?;
            let member = &mut members[index];
            member.busy = false;
            if ok {
                if let Some(admin) = planned.admin {
                    member.admin = admin;
                }
                if let Some((space, role)) = planned.space_role {
                    member.space_roles[space] = Some(role);
                }
            }
        }
        seen.latencies.entry(planned.kind).or_default().push(took);
        if !ok {
            let what = match answer {
                Ok((status, body)) => format!("{status} {body}"),
                Err(e) => e,
            };
            let failure = format!(
                "{} {} {}: {what}",
                planned.method, planned.path, planned.body
            );
            eprintln!("{failure}");
            seen.failures.push(failure);
        }
    }
    Ok(seen)
}

fn at(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or(Duration::ZERO)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The audit entries of every organization, and whether each chain verifies.
async fn audit_entries(client: &Client, orgs: &[Org]) -> Result<(u64, usize), String> {
    let (mut entries, mut verified) = (0, 0);
    for org in orgs {
        let check = client
            .must(
                reqwest::Method::GET,
                &format!("/v1/orgs/{}/audit/verify", org.id),
                None,
                None,
            )
            .await?;
        entries += check["entries"].as_u64().ok_or("no entries count")?;
        verified += usize::from(check["ok"] == true);
    }
    Ok((entries, verified))
}

/// Rows read from `spaces` so far (PostgreSQL's statistics), after waiting
/// for idle backends to report theirs (they may hold them up to 10 s).
async fn spaces_rows_read(url: &str) -> Result<i64, String> {
    use sqlx::Row;
    tokio::time::sleep(Duration::from_secs(11)).await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url)
        .await
        .map_err(|e| format!("connect to {url}: {e}"))?;
    let row = sqlx::query(
        "SELECT CAST(COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) AS BIGINT) FROM pg_stat_user_tables WHERE relname = 'spaces'",
    )
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    pool.close().await;
    row.try_get(0).map_err(|e| e.to_string())
}

async fn start(url: &str) -> Result<Client, String> {
    let (base, _) = server::start(server::on(url, KEY)).await?;
    Ok(Client {
        base,
        key: KEY.to_owned(),
        http: reqwest::Client::new(),
    })
}

async fn run(seconds: u64, org_count: usize, url: &str, backend: &str) -> Result<(), String> {
    let client = Arc::new(start(url).await?);
    let setup = Instant::now();
    let mut orgs = Vec::with_capacity(org_count);
    for i in 0..org_count {
        orgs.push(make_org(&client, i).await?);
    }
    let orgs = Arc::new(orgs);
    let (entries_before, _) = audit_entries(&client, &orgs).await?;
    let postgres = url.starts_with("postgres");
    let read_before = if postgres {
        spaces_rows_read(url).await?
    } else {
        0
    };
    println!(
        "{backend}: {org_count} organizations ({MEMBERS} members and {SPACES} spaces each) set up in {:.1} s; {WRITERS} writers for {seconds} s",
        setup.elapsed().as_secs_f64()
    );
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        writers.spawn(writer(
            client.clone(),
            orgs.clone(),
            w,
            until,
            counter.clone(),
        ));
    }
    let mut last = 0;
    while Instant::now() < until {
        tokio::time::sleep(
            Duration::from_secs(5).min(until.saturating_duration_since(Instant::now())),
        )
        .await;
        let done = counter.load(Ordering::Relaxed);
        println!(
            "  {:>5.1} s: {done} writes ({:.0}/s in the last interval)",
            started.elapsed().as_secs_f64(),
            (done - last) as f64 / 5.0
        );
        last = done;
    }
    let mut by_kind: HashMap<Kind, Vec<Duration>> = HashMap::new();
    let mut failures = Vec::new();
    while let Some(joined) = writers.join_next().await {
        let seen = joined.map_err(|e| e.to_string())??;
        for (kind, mut latencies) in seen.latencies {
            by_kind.entry(kind).or_default().append(&mut latencies);
        }
        failures.extend(seen.failures);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut all: Vec<Duration> = by_kind.values().flatten().copied().collect();
    all.sort_unstable();
    println!(
        "{backend}, {org_count} orgs, {WRITERS} writers, {elapsed:.1} s: {} writes, {:.0} writes/s; p50 {}, p99 {}, max {}; non-2xx {}",
        all.len(),
        all.len() as f64 / elapsed,
        ms(at(&all, 0.5)),
        ms(at(&all, 0.99)),
        ms(at(&all, 1.0)),
        failures.len()
    );
    for kind in Kind::ALL {
        let mut latencies = by_kind.remove(&kind).unwrap_or_default();
        latencies.sort_unstable();
        println!(
            "  {:<31} {:>7} writes, {:>6.0}/s; p50 {}, p99 {}, max {}",
            kind.label(),
            latencies.len(),
            latencies.len() as f64 / elapsed,
            ms(at(&latencies, 0.5)),
            ms(at(&latencies, 0.99)),
            ms(at(&latencies, 1.0))
        );
    }
    if postgres {
        let read = spaces_rows_read(url).await? - read_before;
        println!(
            "  rows read from spaces: {read}, {:.2} per write: between {:.0} % and {:.0} % of the writes loaded the snapshot from the database",
            read as f64 / all.len().max(1) as f64,
            100.0 * (read as f64 - all.len() as f64).max(0.0) / (SPACES * all.len().max(1)) as f64,
            100.0 * read as f64 / (SPACES * all.len().max(1)) as f64
        );
    }
    let (entries_after, verified) = audit_entries(&client, &orgs).await?;
    let answered = all.len() as u64 - failures.len() as u64;
    println!(
        "audit: {} entries written for {answered} writes answered 2xx; {verified} of {org_count} chains verify",
        entries_after - entries_before
    );
    if !failures.is_empty() {
        return Err(format!("{} writes were not answered 2xx", failures.len()));
    }
    if verified != org_count {
        return Err(format!(
            "{} audit chains do not verify",
            org_count - verified
        ));
    }
    if entries_after - entries_before != answered {
        return Err("the audit entries do not number the writes".into());
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let (target, number) = postgres::numbers_then_target();
    let seconds = number(0).unwrap_or(20);
    let org_count = number(1).map_or(100, |n| n as usize).max(1);
    postgres::on_scratch_database(&target, "roster_write_bench", |url, backend| async move {
        run(seconds, org_count, &url, backend).await
    })
    .await
}
