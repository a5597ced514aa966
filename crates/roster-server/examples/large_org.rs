//! One very large organization over HTTP: by default 1,000,000 members,
//! 50,000 spaces, 5,000,000 space roles and 1,000 Implementation Admins
//! (the data set of roster-store's `load_snapshot` example, put straight
//! into the database), served by the real server in this process. Then,
//! one request at a time over loopback, each latency from sending to the
//! last byte of the answer:
//!
//! - the first request, which loads the organization (a cold load);
//! - single evaluations of random members in random spaces, half of them
//!   spaces where the member has a role (each answer checked);
//! - the members list: first page, a later page (by its cursor), `role=`
//!   and `q=` (one member's address: every member is looked at);
//! - the seats (every holder listed), a member's capabilities (five
//!   spaces) and the Owner's (every space), a resource search;
//! - last, turning the Implementation Admin setting off, which removes all
//!   of them in one change (checked: every one is removed).
//!
//! `cargo run --release -p roster-server --example large_org -- [MEMBERS [SPACES]] [sqlite|postgres://…]`
//!
//! Default: a fresh SQLite file in a temporary folder. A `postgres://` URL
//! names a server where this may create a database: the run uses a fresh
//! database of its own (`roster_large_org_<pid>`) and drops it at the end.

use std::time::Instant;

use reqwest::Method;
use roster_core::{OrgId, OrgSettings};
use roster_server::app::members::{select, MemberFilter};
use roster_server::app::PageRequest;
use serde_json::{json, Value};

#[path = "shared/client.rs"]
mod client;
#[path = "../../roster-store/examples/shared/fill.rs"]
mod fill;
#[path = "shared/postgres.rs"]
mod postgres;
#[path = "shared/server.rs"]
mod server;

use client::{Client, Figures};
use fill::{Size, ORG, ROLES_PER_MEMBER};

const KEY: &str = "bench";
const IMPLEMENTATION_ADMINS: usize = 1_000;

/// A small fast generator, so the run picks the same members every time.
struct Picks(u64);

impl Picks {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The spaces where the fill gave member `i` a role.
fn spaces_of(i: usize, size: Size) -> Vec<usize> {
    let stride = fill::space_stride(size.spaces);
    (0..ROLES_PER_MEMBER)
        .map(|k| (i * 7 + k * stride) % size.spaces)
        .collect()
}

/// A member with no org role who is active (the fill deactivates every
/// 50th): their decisions follow their space roles alone.
fn plain_member(picks: &mut Picks, size: Size) -> usize {
    loop {
        let i = 20 + IMPLEMENTATION_ADMINS + picks.below(size.members - 20 - IMPLEMENTATION_ADMINS);
        if i % 50 != 49 {
            return i;
        }
    }
}

/// Asks `n` requests one at a time, `request(round)` giving each one's
/// method, path and body; prints their figures and answers the size of the
/// last answer.
async fn repeat(
    client: &Client,
    name: &str,
    n: usize,
    mut request: impl FnMut(usize) -> (Method, String, Option<Value>),
) -> Result<usize, String> {
    let mut figures = Figures::new(name);
    let mut bytes = 0;
    for round in 0..n {
        let (method, path, body) = request(round);
        let (took, _, size) = client.timed(method, &path, None, body.as_ref()).await?;
        figures.samples.push(took);
        bytes = size;
    }
    figures.print();
    Ok(bytes)
}

async fn set_up(url: &str, size: Size) -> Result<(), String> {
    let settings = OrgSettings {
        allow_implementation_admin: true,
        ..OrgSettings::default()
    };
    let raw = fill::prepare(url, &settings).await;
    fill::fill(&raw, size).await;
    fill::finish(raw).await;
    Ok(())
}

async fn run(url: &str, label: &str, size: Size) -> Result<(), String> {
    let started = Instant::now();
    set_up(url, size).await?;
    println!(
        "{label}: {} members, {} spaces, {} space roles, {IMPLEMENTATION_ADMINS} Implementation Admins (set up in {:.1} s)",
        size.members,
        size.spaces,
        size.members * ROLES_PER_MEMBER,
        started.elapsed().as_secs_f64()
    );
    let (base, app) = server::start(server::on(url, KEY)).await?;
    let client = Client {
        base,
        key: KEY.to_owned(),
        http: reqwest::Client::new(),
    };
    let org = format!("/v1/orgs/{ORG}");
    let (took, _, _) = client.timed(Method::GET, &org, None, None).await?;
    println!(
        "  first request, the organization loaded: {:.2} s",
        took.as_secs_f64()
    );

    let mut picks = Picks(0x9e37_79b9_7f4a_7c15);
    let questions: Vec<(usize, usize, bool)> = (0..2_000)
        .map(|round| {
            let member = plain_member(&mut picks, size);
            let theirs = spaces_of(member, size);
            if round % 2 == 0 {
                (member, theirs[picks.below(theirs.len())], true)
            } else {
                let other = (0..)
                    .map(|_| picks.below(size.spaces))
                    .find(|s| !theirs.contains(s))
                    .unwrap_or(0);
                (member, other, false)
            }
        })
        .collect();
    let mut figures = Figures::new("evaluation (random member and space)");
    for &(member, space, expected) in &questions {
        let body = json!({
            "subject": {"type": "user", "id": fill::user_id(member)},
            "action": {"name": "space.view"},
            "resource": {"type": "space", "id": fill::space_id(space), "properties": {"org_id": ORG}},
        });
        let (took, answer, _) = client
            .timed(Method::POST, "/access/v1/evaluation", None, Some(&body))
            .await?;
        if answer["decision"] != json!(expected) {
            return Err(format!(
                "member {member} in space {space}: {answer}, expected {expected}"
            ));
        }
        figures.samples.push(took);
    }
    figures.print();

    let first = client
        .must(Method::GET, &format!("{org}/members?limit=50"), None, None)
        .await?;
    let cursor = first["next_cursor"]
        .as_str()
        .ok_or("the first page has no next_cursor")?
        .to_owned();
    // The same first page in-process, on the server's cached snapshot (no
    // HTTP): how much of a page is the walk over the members.
    let snap = app
        .store
        .snapshot(&OrgId::from(ORG), None)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no snapshot")?;
    let page = PageRequest {
        cursor: None,
        limit: 50,
    };
    let mut figures = Figures::new("  in-process: the first page's selection");
    for _ in 0..50 {
        let started = Instant::now();
        let (items, _) = select(&snap, &MemberFilter::default(), &page, app.now());
        figures.samples.push(started.elapsed());
        if items.len() != 50 {
            return Err(format!("a first page of {} members", items.len()));
        }
    }
    figures.print();
    // What a write that may take a seat (an invitation, a role, a
    // reactivation) reads when the organization has a seat limit.
    let mut figures = Figures::new("  in-process: seats used and reserved");
    for _ in 0..20 {
        let started = Instant::now();
        std::hint::black_box(snap.seat_usage(app.now()));
        figures.samples.push(started.elapsed());
    }
    figures.print();
    drop(snap);
    let get = |path: String| (Method::GET, path, None);
    repeat(&client, "members list, first page of 50", 200, |_| {
        get(format!("{org}/members?limit=50"))
    })
    .await?;
    repeat(&client, "members list, second page (cursor)", 200, |_| {
        get(format!("{org}/members?limit=50&cursor={cursor}"))
    })
    .await?;
    repeat(&client, "members list, role=admin", 100, |_| {
        get(format!("{org}/members?role=admin&limit=50"))
    })
    .await?;
    let searched: Vec<usize> = (0..100).map(|_| plain_member(&mut picks, size)).collect();
    for &member in &searched[..3] {
        let found = client
            .must(
                Method::GET,
                &format!("{org}/members?q=user{member}%40example.com"),
                None,
                None,
            )
            .await?;
        let items = found["items"].as_array().map_or(0, Vec::len);
        if items != 1 {
            return Err(format!("q= for member {member} found {items}"));
        }
    }
    repeat(&client, "members list, q=<one address>", 100, |round| {
        get(format!(
            "{org}/members?q=user{}%40example.com",
            searched[round]
        ))
    })
    .await?;
    let bytes = repeat(&client, "seats (every holder)", 20, |_| {
        get(format!("{org}/seats"))
    })
    .await?;
    println!("    (an answer of {bytes} bytes)");
    repeat(&client, "capabilities of a member", 200, |round| {
        get(format!(
            "{org}/members/{}/capabilities",
            fill::user_id(searched[round % 100])
        ))
    })
    .await?;
    let bytes = repeat(&client, "capabilities of the Owner", 10, |_| {
        get(format!("{org}/members/{}/capabilities", fill::user_id(0)))
    })
    .await?;
    println!("    (an answer of {bytes} bytes)");
    repeat(&client, "search/resource of a member", 200, |round| {
        let body = json!({
            "subject": {"type": "user", "id": fill::user_id(searched[round % 100])},
            "action": {"name": "space.view"},
            "resource": {"type": "space", "properties": {"org_id": ORG}},
        });
        (
            Method::POST,
            "/access/v1/search/resource".to_owned(),
            Some(body),
        )
    })
    .await?;

    let (took, answer, _) = client
        .timed(
            Method::PUT,
            &format!("{org}/settings/implementation-admin"),
            None,
            Some(&json!({"enabled": false, "confirm": true})),
        )
        .await?;
    let removed = answer["removed"].as_array().map_or(0, Vec::len);
    if removed != IMPLEMENTATION_ADMINS {
        return Err(format!("the setting removed {removed}: {answer}"));
    }
    println!(
        "  Implementation Admin setting off, {removed} removed in one change: {:.2} s",
        took.as_secs_f64()
    );
    let verified = client
        .must(Method::GET, &format!("{org}/audit/verify"), None, None)
        .await?;
    if verified["ok"] != json!(true) {
        return Err(format!("the audit chain does not verify: {verified}"));
    }
    println!("  audit chain verifies: {} entries", verified["entries"]);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let (target, number) = postgres::numbers_then_target();
    let members = number(0).map_or(1_000_000, |n| n as usize);
    if !(IMPLEMENTATION_ADMINS + 100..=1_000_000).contains(&members) {
        return Err(format!(
            "the member count must be from {} to 1,000,000",
            IMPLEMENTATION_ADMINS + 100
        ));
    }
    let spaces = number(1)
        .map_or(members / 20, |n| n as usize)
        .max(ROLES_PER_MEMBER + 1);
    let size = Size {
        members,
        spaces,
        implementation_admins: IMPLEMENTATION_ADMINS,
    };
    postgres::on_scratch_database(&target, "roster_large_org", |url, backend| async move {
        run(&url, backend, size).await
    })
    .await
}
