//! Latency of the AuthZEN searches and the capabilities manifest on one
//! large organization: 10,000 spaces (made through the API), a Facilitator
//! (no org role) with a role in every one of them, one space with 10,000
//! participants and another with 1,000 (imported with `mode=add`, the
//! space roles in the import rows). Then, one request at a time over
//! loopback:
//!
//! - `POST /access/v1/search/resource`: the Facilitator's spaces for
//!   `events.manage`, first pages (`page.limit` 100) and full walks of
//!   every page (each page and each walk timed);
//! - `POST /access/v1/search/subject`: who may `space.view` the
//!   10,000-participant space, first pages and full walks;
//! - `POST /access/v1/search/action`: the Facilitator's actions in that space;
//! - `GET /v1/orgs/{org}/members/{user}/capabilities` for the Facilitator
//!   (asked as themselves).
//!
//! Every answer is checked: a walk must give exactly the 10,000 spaces, or
//! the 10,000 participants plus the Facilitator and the Owner, each once;
//! the action search must list the actions the capabilities list for that
//! space. A latency runs from sending the request to the last byte of the
//! answer (parsing it in the client is not counted). Last, the core calls
//! behind the slow answers are timed in-process on the server's cached
//! snapshot (no HTTP), to show where their time goes.
//!
//! `cargo run --release -p roster-server --example search_latency -- [sqlite|postgres://…]`
//!
//! Default: a fresh SQLite file in a temporary folder. A `postgres://` URL
//! names a server where this may create a database: the run uses a fresh
//! database of its own next to the one named (`roster_search_bench_<pid>`)
//! and drops it at the end.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use reqwest::Method;
use roster_core::capabilities::{allowed_actions, allowed_subjects, capabilities};
use roster_core::{decide, Action, OrgId, Resource, SpaceId, UserId};
use roster_server::auth::Caller;
use roster_server::extract::ApiJson;
use roster_server::http::decisions::{search_resource, search_subject, Search, SubjectSearch};
use roster_server::json_text::JsonText;
use roster_server::views::CapabilitiesView;
use roster_server::AppState;
use serde_json::{json, Value};

#[path = "shared/client.rs"]
mod client;
use client::{ms, text, Client, Figures};
#[path = "shared/postgres.rs"]
mod postgres;
#[path = "shared/server.rs"]
mod server;

const KEY: &str = "bench";
const SPACES: usize = 10_000;
const BIG_SPACE_MEMBERS: usize = 10_000;
const OTHER_SPACE_MEMBERS: usize = 1_000;
const PAGE: usize = 100;
const SINGLE_REQUESTS: usize = 1_000;
const ACTION_REQUESTS: usize = 10_000;
/// Full walks: at least this many, then more until the budget is spent.
const MIN_WALKS: usize = 10;
const MAX_WALKS: usize = 100;
const WALK_BUDGET: Duration = Duration::from_secs(60);

fn ids(value: &Value, what: &str) -> Result<Vec<String>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("no {what} list in the answer"))?
        .iter()
        .map(|v| text(v, what))
        .collect()
}

/// A search body at `token` ("" for the first page).
fn paged(question: &Value, token: &str) -> Value {
    let mut body = question.clone();
    body["page"] = if token.is_empty() {
        json!({"limit": PAGE})
    } else {
        json!({"limit": PAGE, "token": token})
    };
    body
}

/// Walks every page of a search; the ids found in order, each page's
/// latency and the whole walk's.
async fn walk(
    client: &Client,
    path: &str,
    question: &Value,
) -> Result<(Vec<String>, Vec<Duration>, Duration), String> {
    let (mut found, mut pages, mut token) = (Vec::new(), Vec::new(), String::new());
    let started = Instant::now();
    loop {
        let (took, answer, _) = client
            .timed(Method::POST, path, None, Some(&paged(question, &token)))
            .await?;
        pages.push(took);
        let results = answer["results"].as_array().ok_or("no results")?;
        if results.len() > PAGE {
            return Err(format!("{path}: a page of {} results", results.len()));
        }
        for result in results {
            found.push(text(&result["id"], "result id")?);
        }
        token = text(&answer["page"]["next_token"], "next_token")?;
        if token.is_empty() {
            break;
        }
        if pages.len() > 10 * SPACES {
            return Err(format!("{path}: the walk does not end"));
        }
    }
    Ok((found, pages, started.elapsed()))
}

/// Many walks (see [`MIN_WALKS`]), each checked against `expected`; the
/// per-page and per-walk figures, and the mean latency by page position
/// (tenths of the walk).
async fn walks(
    client: &Client,
    path: &str,
    label: &str,
    question: &Value,
    expected: &HashSet<String>,
) -> Result<(Figures, Figures, Vec<Duration>), String> {
    let mut per_page = Figures::new(format!("{label}: each page of a walk"));
    let mut per_walk = Figures::new(format!("{label}: full walk"));
    let mut by_tenth = vec![(Duration::ZERO, 0u32); 10];
    let started = Instant::now();
    while per_walk.samples.len() < MIN_WALKS
        || (per_walk.samples.len() < MAX_WALKS && started.elapsed() < WALK_BUDGET)
    {
        let (found, pages, whole) = walk(client, path, question).await?;
        let distinct: HashSet<String> = found.iter().cloned().collect();
        if distinct.len() != found.len() || distinct != *expected {
            return Err(format!(
                "{label}: a walk gave {} results ({} distinct), expected the {} known ids",
                found.len(),
                distinct.len(),
                expected.len()
            ));
        }
        if found.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("{label}: a walk is not in id order"));
        }
        for (i, took) in pages.iter().enumerate() {
            let tenth = &mut by_tenth[i * 10 / pages.len()];
            tenth.0 += *took;
            tenth.1 += 1;
        }
        per_page.samples.extend(pages);
        per_walk.samples.push(whole);
    }
    let by_tenth = by_tenth
        .into_iter()
        .map(|(sum, n)| sum / n.max(1))
        .collect();
    Ok((per_page, per_walk, by_tenth))
}

/// `n` requests of one first page, each checked to hold `PAGE` results
/// and a next token.
async fn first_pages(
    client: &Client,
    path: &str,
    label: &str,
    question: &Value,
    n: usize,
) -> Result<Figures, String> {
    let mut figures = Figures::new(format!("{label}: first page"));
    let body = paged(question, "");
    for _ in 0..n {
        let (took, answer, _) = client.timed(Method::POST, path, None, Some(&body)).await?;
        let results = answer["results"].as_array().map_or(0, Vec::len);
        if results != PAGE
            || answer["page"]["next_token"]
                .as_str()
                .unwrap_or("")
                .is_empty()
        {
            return Err(format!("{label}: a first page of {results} results"));
        }
        figures.samples.push(took);
    }
    Ok(figures)
}

struct Org {
    id: String,
    owner: String,
    spaces: Vec<String>,
    facilitator: String,
    big_space_members: Vec<String>,
}

/// The organization, through the API; prints how long each step took.
async fn set_up(client: &Arc<Client>) -> Result<Org, String> {
    let org = client
        .must(
            Method::POST,
            "/v1/orgs",
            None,
            Some(json!({"name": "Search", "owner_email": "owner@search.example"})),
        )
        .await?;
    let (id, owner) = (
        text(&org["id"], "org id")?,
        text(&org["owner"]["user_id"], "owner")?,
    );
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut creators = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, next, id, owner) = (client.clone(), next.clone(), id.clone(), owner.clone());
        creators.spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= SPACES {
                    return Ok::<_, String>(made);
                }
                let space = client
                    .must(
                        Method::POST,
                        &format!("/v1/orgs/{id}/spaces"),
                        Some(&owner),
                        Some(json!({"name": format!("Program {i:05}")})),
                    )
                    .await?;
                made.push((i, text(&space["id"], "space id")?));
            }
        });
    }
    let mut spaces = Vec::with_capacity(SPACES);
    while let Some(made) = creators.join_next().await {
        spaces.extend(made.map_err(|e| e.to_string())??);
    }
    spaces.sort_unstable();
    let spaces: Vec<String> = spaces.into_iter().map(|(_, id)| id).collect();
    println!(
        "  {SPACES} spaces created one by one (4 at a time) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let import = format!("/v1/orgs/{id}/members/import?mode=add");
    let started = Instant::now();
    let roles: Vec<Value> = spaces
        .iter()
        .map(|space| json!({"space_id": space, "role": "facilitator"}))
        .collect();
    let imported = client
        .must(
            Method::POST,
            &import,
            None,
            Some(json!({"members": [{"email": "facilitator@search.example", "name": "Fran Facilitator", "space_roles": roles}]})),
        )
        .await?;
    let facilitator = text(&imported["created"][0], "facilitator")?;
    println!(
        "  the Facilitator in {SPACES} spaces imported (one row) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let rows: Vec<Value> = (0..BIG_SPACE_MEMBERS)
        .map(|i| json!({"email": format!("p{i}@search.example"), "space_roles": [{"space_id": spaces[0], "role": "participant"}]}))
        .chain((0..OTHER_SPACE_MEMBERS).map(|i| json!({"email": format!("q{i}@search.example"), "space_roles": [{"space_id": spaces[1], "role": "participant"}]})))
        .collect();
    let imported = client
        .must(Method::POST, &import, None, Some(json!({"members": rows})))
        .await?;
    let created = ids(&imported["created"], "created")?;
    if created.len() != BIG_SPACE_MEMBERS + OTHER_SPACE_MEMBERS {
        return Err(format!("{} people imported", created.len()));
    }
    println!(
        "  {} participants imported in {:.1} s",
        created.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Org {
        id,
        owner,
        spaces,
        facilitator,
        big_space_members: created.into_iter().take(BIG_SPACE_MEMBERS).collect(),
    })
}

async fn run(url: &str, backend: &str) -> Result<(), String> {
    let (client, app) = start(url).await?;
    let client = Arc::new(client);
    println!("{backend}: setting up");
    let org = set_up(&client).await?;
    let spaces_path = "/access/v1/search/resource";
    let subjects_path = "/access/v1/search/subject";
    let resource_question = json!({
        "subject": {"type": "user", "id": org.facilitator},
        "action": {"name": "events.manage"},
        "resource": {"type": "space", "properties": {"org_id": org.id}},
    });
    let subject_question = json!({
        "subject": {"type": "user"},
        "action": {"name": "space.view"},
        "resource": {"type": "space", "id": org.spaces[0], "properties": {"org_id": org.id}},
    });
    let all_spaces: HashSet<String> = org.spaces.iter().cloned().collect();
    let mut viewers: HashSet<String> = org.big_space_members.iter().cloned().collect();
    viewers.insert(org.facilitator.clone());
    viewers.insert(org.owner.clone());

    // What the capabilities say of the big space: the action search must agree.
    let caps_path = format!(
        "/v1/orgs/{}/members/{}/capabilities",
        org.id, org.facilitator
    );
    let (_, caps, caps_bytes) = client
        .timed(Method::GET, &caps_path, Some(&org.facilitator), None)
        .await?;
    let listed = caps["spaces"]
        .as_array()
        .ok_or("no spaces in capabilities")?;
    if listed.len() != SPACES || listed.iter().any(|s| s["view"] != "facilitator") {
        return Err(format!(
            "capabilities list {} spaces, expected {SPACES}, each seen as a facilitator",
            listed.len()
        ));
    }
    let mut big_space_actions: Vec<String> = listed
        .iter()
        .find(|s| s["space_id"] == org.spaces[0].as_str())
        .ok_or("the big space is not in the capabilities")?["actions"]
        .as_array()
        .ok_or("no actions")?
        .iter()
        .map(|a| text(a, "action"))
        .collect::<Result<_, _>>()?;
    big_space_actions.sort_unstable();
    let action_question = json!({
        "subject": {"type": "user", "id": org.facilitator},
        "resource": {"type": "space", "id": org.spaces[0], "properties": {"org_id": org.id}},
    });
    let (_, answer, _) = client
        .timed(
            Method::POST,
            "/access/v1/search/action",
            None,
            Some(&action_question),
        )
        .await?;
    let found_actions: Vec<String> = answer["results"]
        .as_array()
        .ok_or("no results")?
        .iter()
        .map(|r| text(&r["name"], "action name"))
        .collect::<Result<_, _>>()?;
    if found_actions != big_space_actions
        || !answer["page"]["next_token"]
            .as_str()
            .is_some_and(str::is_empty)
    {
        return Err(format!(
            "the action search gave {found_actions:?}, the capabilities {big_space_actions:?}"
        ));
    }
    println!(
        "  checked: capabilities list {SPACES} spaces ({caps_bytes} bytes); {} actions in the big space, the same in the action search",
        found_actions.len()
    );

    let mut table = Vec::new();
    let mut tenths_of = Vec::new();
    for (path, label, question, expected) in [
        (
            spaces_path,
            "search/resource",
            &resource_question,
            &all_spaces,
        ),
        (subjects_path, "search/subject", &subject_question, &viewers),
    ] {
        table.push(first_pages(&client, path, label, question, SINGLE_REQUESTS).await?);
        let (per_page, per_walk, by_tenth) =
            walks(&client, path, label, question, expected).await?;
        table.extend([per_page, per_walk]);
        tenths_of.push(by_tenth);
    }
    let mut actions = Figures::new("search/action (one subject, one space)");
    for _ in 0..ACTION_REQUESTS {
        let (took, answer, _) = client
            .timed(
                Method::POST,
                "/access/v1/search/action",
                None,
                Some(&action_question),
            )
            .await?;
        if answer["results"].as_array().map_or(0, Vec::len) != found_actions.len() {
            return Err(format!("an action search answered {answer}"));
        }
        actions.samples.push(took);
    }
    table.push(actions);
    let mut capabilities = Figures::new("capabilities of the Facilitator");
    for _ in 0..SINGLE_REQUESTS {
        let (took, answer, _) = client
            .timed(Method::GET, &caps_path, Some(&org.facilitator), None)
            .await?;
        if answer["spaces"].as_array().map_or(0, Vec::len) != SPACES {
            return Err("capabilities without every space".into());
        }
        capabilities.samples.push(took);
    }
    table.push(capabilities);

    println!(
        "{backend}: {SPACES} spaces, a Facilitator in all of them, {} members ({BIG_SPACE_MEMBERS} in one space); walks of {PAGE} a page checked ({} spaces; {} subjects)",
        BIG_SPACE_MEMBERS + OTHER_SPACE_MEMBERS + 2,
        all_spaces.len(),
        viewers.len()
    );
    for figures in &mut table {
        figures.print();
    }
    let tenths = |t: &[Duration]| t.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ");
    println!("  mean page latency by tenth of the walk, first to last:");
    for (label, by_tenth) in ["search/resource:", "search/subject: "]
        .iter()
        .zip(&tenths_of)
    {
        println!("    {label} {}", tenths(by_tenth));
    }
    breakdown(&app, &org, [&resource_question, &subject_question]).await
}

/// The median of `n` runs of `work`.
fn median<T>(n: usize, mut work: impl FnMut() -> T) -> Duration {
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(work());
            started.elapsed()
        })
        .collect();
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// The median time of `n` calls of a search handler (no HTTP, no JSON in
/// or out) for the first page of `question`.
async fn handler_median<T, F, Fut>(
    n: usize,
    question: &Value,
    handler: F,
) -> Result<Duration, String>
where
    T: serde::de::DeserializeOwned,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let body: T = serde_json::from_value(paged(question, "")).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let results = handler(body).await;
        samples.push(started.elapsed());
        if results != PAGE {
            return Err(format!("a handler answered {results} results"));
        }
    }
    samples.sort_unstable();
    Ok(samples[samples.len() / 2])
}

/// Where the time of the slow answers goes: the search handlers called
/// directly, and the core calls they make, on the server's own cached
/// snapshot.
async fn breakdown(app: &AppState, org: &Org, questions: [&Value; 2]) -> Result<(), String> {
    let [resource_question, subject_question] = questions;
    let resource_handler = handler_median(200, resource_question, |body: Search| {
        let app = app.clone();
        async move {
            search_resource(State(app), Caller::Platform, ApiJson(body))
                .await
                .map_or(0, |page| page.results.len())
        }
    })
    .await?;
    let subject_handler = handler_median(200, subject_question, |body: SubjectSearch| {
        let app = app.clone();
        async move {
            search_subject(State(app), Caller::Platform, ApiJson(body))
                .await
                .map_or(0, |page| page.results.len())
        }
    })
    .await?;
    let snap = app
        .store
        .snapshot(&OrgId::from(org.id.as_str()), None)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no snapshot")?;
    let now = app.now();
    let subject = UserId::from(org.facilitator.as_str());
    let big = SpaceId::from(org.spaces[0].as_str());
    let allowed_spaces = || -> Vec<&SpaceId> {
        snap.spaces()
            .map(|s| &s.id)
            .filter(|id| {
                decide(
                    &snap,
                    &subject,
                    Action::EventsManage,
                    Resource::Space(id),
                    now,
                )
                .allowed
            })
            .collect()
    };
    // The answer as the handler sends it: written in pieces on a blocking
    // thread, here collected whole.
    let caps = Arc::new(capabilities(&snap, &subject, now));
    let mut samples = Vec::with_capacity(50);
    for _ in 0..50 {
        let caps = Arc::clone(&caps);
        let started = Instant::now();
        let answer = JsonText::stream(move |json| CapabilitiesView::write(json, &caps)).await;
        let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .map_err(|e| e.to_string())?;
        samples.push(started.elapsed());
        std::hint::black_box(body.len());
    }
    samples.sort_unstable();
    let written = samples[samples.len() / 2];
    let figures = [
        ("search/resource handler, first page", resource_handler),
        (
            "  (for scale: decide events.manage in each of the 10,000 spaces)",
            median(200, || allowed_spaces().len()),
        ),
        (
            "  (and sort them all, as each page did before first_in_order)",
            median(200, || {
                let mut ids = allowed_spaces();
                ids.sort_unstable();
                ids.len()
            }),
        ),
        ("search/subject handler, first page", subject_handler),
        (
            "  allowed_subjects: space.view in the big space, first page",
            median(200, || {
                allowed_subjects(
                    &snap,
                    Action::SpaceView,
                    Resource::Space(&big),
                    now,
                    "",
                    PAGE,
                )
                .len()
            }),
        ),
        (
            "allowed_actions: one subject, one space",
            median(2000, || {
                allowed_actions(&snap, &subject, Resource::Space(&big), now).len()
            }),
        ),
        (
            "capabilities() for the Facilitator",
            median(50, || capabilities(&snap, &subject, now).spaces.len()),
        ),
        ("  its answer written as JSON", written),
    ];
    println!("  in-process, no HTTP, on the cached snapshot (median):");
    for (what, took) in figures {
        println!("    {what:<66} {}", ms(took));
    }
    Ok(())
}

async fn start(url: &str) -> Result<(Client, AppState), String> {
    let (base, app) = server::start(server::on(url, KEY)).await?;
    Ok((
        Client {
            base,
            key: KEY.to_owned(),
            http: reqwest::Client::new(),
        },
        app,
    ))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let (target, _) = postgres::numbers_then_target();
    postgres::on_scratch_database(&target, "roster_search_bench", |url, backend| async move {
        run(&url, backend).await
    })
    .await
}
