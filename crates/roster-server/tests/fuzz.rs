//! Property-based fuzzing of what clients send (issue 12): every operation
//! of the OpenAPI document that takes a JSON body, and the CSV import.
//!
//! The real router runs in-process (`tower::ServiceExt::oneshot`) on a fresh
//! SQLite file, with an organization, a space, a member and webhooks so the
//! ids in paths and bodies are real. Each operation gets arbitrary bytes,
//! arbitrary JSON values, and bodies shaped like its request schema with
//! mutated field values, all as `application/json` with the platform key.
//! For every answer:
//!
//! * the status is below 500 (and no handler panics);
//! * a non-2xx answer is `application/problem+json` with a `code`;
//! * a refused request changes nothing: the organization's `revision` is
//!   the same, and no connection committed anything to the database
//!   (SQLite's `PRAGMA data_version`, read on a connection of the test's).
//!
//! The CSV import is fuzzed the same way over HTTP (`text/csv`), and its
//! parser directly: any bytes give numbered rows or a 400, and CSV written
//! by a CSV writer reads back cell for cell.
//!
//! Cases: `PROPTEST_CASES` (proptest reads it) per operation and kind of
//! input, [`DEFAULT_CASES`] without it; the CSV import over HTTP gets
//! [`HTTP_CSV_FACTOR`] times that and each CSV parser property
//! [`PARSER_FACTOR`] times. Failures are shrunk and reported with the
//! operation, the actor and the body. The long form and its figures are in
//! `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestError, TestRunner};
use roster_server::app::import::{rows_from_csv, CSV_HEADER};
use roster_server::Config as ServerConfig;
use roster_testkit::{Backend, TestDb};
use serde_json::{json, Map, Number, Value};
use sqlx::{Connection, SqliteConnection};
use tower::ServiceExt;

/// Cases per operation and kind of input, and per CSV property, when
/// `PROPTEST_CASES` is not set: the whole binary stays well under a minute
/// in a debug build on two cores.
const DEFAULT_CASES: u32 = 48;
/// The direct CSV parser is fast: it gets this many times more cases.
const PARSER_FACTOR: u32 = 40;
/// The CSV import over HTTP: one operation, so a few times more.
const HTTP_CSV_FACTOR: u32 = 4;

const KEY: &str = "fuzz-platform-key";

fn cases() -> u32 {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default().cases
    } else {
        DEFAULT_CASES
    }
}

/// A run's failure, its minimal input shown as `show` says (bytes as
/// text, not as a list of numbers).
fn failure<V>(result: Result<(), TestError<V>>, show: impl Fn(&V) -> String) -> Result<(), String> {
    result.map_err(|error| match error {
        TestError::Fail(reason, input) => {
            format!("{reason}\nminimal failing input: {}", show(&input))
        }
        TestError::Abort(reason) => format!("aborted: {reason}"),
    })
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        // Every failure is reported with its minimal input; a bug found
        // becomes a named regression test, not a seed file.
        failure_persistence: None,
        max_shrink_iters: 2_048,
        ..Config::default()
    })
}

/// Real ids, reached from bodies and paths through `@@name@@` markers that
/// are replaced just before a request is sent (so a member re-created
/// after a fuzzed removal is still the one the next case names).
#[derive(Clone, Debug, Default)]
struct Ids {
    org: String,
    owner: String,
    owner_email: String,
    space: String,
    user: String,
    other_org: String,
    other_space: String,
    other_user: String,
    webhook: String,
    platform_webhook: String,
}

impl Ids {
    fn fill(&self, text: &str) -> String {
        [
            ("@@org@@", &self.org),
            ("@@owner@@", &self.owner),
            ("@@owner_email@@", &self.owner_email),
            ("@@space@@", &self.space),
            ("@@user@@", &self.user),
            ("@@other_org@@", &self.other_org),
            ("@@other_space@@", &self.other_space),
            ("@@other_user@@", &self.other_user),
            ("@@webhook@@", &self.webhook),
            ("@@platform_webhook@@", &self.platform_webhook),
        ]
        .iter()
        .fold(text.to_owned(), |text, (marker, id)| {
            text.replace(marker, id)
        })
    }
}

const ID_MARKERS: &[&str] = &[
    "@@org@@",
    "@@owner@@",
    "@@space@@",
    "@@user@@",
    "@@other_org@@",
    "@@other_space@@",
    "@@other_user@@",
    "@@webhook@@",
    "@@platform_webhook@@",
];

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What a refused request must leave as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fingerprint {
    /// `GET /v1/orgs/{org}` → `revision`.
    revision: i64,
    /// Advances whenever any other connection commits.
    data_version: i64,
}

struct Server {
    runtime: tokio::runtime::Runtime,
    router: Router,
    ids: Mutex<Ids>,
    /// A connection of the test's own, for `PRAGMA data_version`.
    observer: tokio::sync::Mutex<SqliteConnection>,
    last: Mutex<Fingerprint>,
    fresh: std::sync::atomic::AtomicUsize,
    _db: TestDb,
}

impl Server {
    fn start() -> Server {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let db = runtime
            .block_on(TestDb::new(Backend::Sqlite))
            .expect("SQLite is always available");
        let url = db.url().to_owned();
        let config = ServerConfig::from_lookup(|k| match k {
            "ROSTER_DATABASE_URL" => Some(url.clone()),
            "ROSTER_PLATFORM_KEY" => Some(KEY.into()),
            // `/v1/dev/clock` is in the document: fuzz it too.
            "ROSTER_DEV_CLOCK" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        let (state, _) = runtime.block_on(roster_server::prepare(config)).unwrap();
        let router = roster_server::router(state);
        let observer = runtime.block_on(SqliteConnection::connect(&url)).unwrap();
        let server = Server {
            runtime,
            router,
            ids: Mutex::new(Ids::default()),
            observer: tokio::sync::Mutex::new(observer),
            last: Mutex::new(Fingerprint {
                revision: 0,
                data_version: 0,
            }),
            fresh: Default::default(),
            _db: db,
        };
        server.populate();
        server
    }

    fn ids(&self) -> Ids {
        self.ids.lock().unwrap().clone()
    }

    fn send(&self, method: &Method, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.send_as(None, method, path, content_type, body)
    }

    /// With the platform key, acting as `actor` (`X-Roster-Actor`) if given.
    fn send_as(
        &self,
        actor: Option<&str>,
        method: &Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
            .header(header::CONTENT_TYPE, content_type);
        if let Some(actor) = actor {
            request = request.header("x-roster-actor", actor);
        }
        let request = request.body(Body::from(body)).unwrap();
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap()
                .to_vec();
            Answer {
                status,
                content_type,
                body,
            }
        })
    }

    /// A setup call that must succeed.
    fn call(&self, method: Method, path: &str, body: Value) -> Value {
        let ids = self.ids();
        let path = ids.fill(path);
        let body = ids.fill(&body.to_string());
        let answer = self.send(
            &method,
            &path,
            "application/json",
            body.clone().into_bytes(),
        );
        assert!(
            answer.status.is_success(),
            "{method} {path} {body}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()
    }

    fn get(&self, path: &str) -> Answer {
        let path = self.ids().fill(path);
        self.send(&Method::GET, &path, "application/json", Vec::new())
    }

    /// Two organizations, each with a space and a member; the first with
    /// Implementation Admins allowed for `fuzz.example`, an endpoint of its
    /// own, and a platform endpoint.
    fn populate(&self) {
        for (org, owner_email) in [
            ("org", "owner@fuzz.example"),
            ("other", "owner@other.example"),
        ] {
            let created = self.call(
                Method::POST,
                "/v1/orgs",
                json!({"name": format!("Fuzz {org}"), "owner_email": owner_email}),
            );
            let org_id = created["id"].as_str().unwrap().to_owned();
            let space = self.call(
                Method::POST,
                &format!("/v1/orgs/{org_id}/spaces"),
                json!({"name": "Fuzz space"}),
            )["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let mut ids = self.ids.lock().unwrap();
            if org == "org" {
                ids.org = org_id;
                ids.owner = created["owner"]["user_id"].as_str().unwrap().to_owned();
                ids.owner_email = owner_email.to_owned();
                ids.space = space;
            } else {
                ids.other_org = org_id;
                ids.other_space = space;
            }
        }
        let user = self.add_member("@@org@@", "@@space@@");
        self.ids.lock().unwrap().user = user;
        let other_user = self.add_member("@@other_org@@", "@@other_space@@");
        self.ids.lock().unwrap().other_user = other_user;
        self.call(
            Method::PUT,
            "/v1/orgs/@@org@@/settings/implementation-admin",
            json!({"enabled": true}),
        );
        self.call(
            Method::PUT,
            "/v1/orgs/@@org@@/implementation-admin-domains",
            json!({"domains": ["fuzz.example", "*.example.com"]}),
        );
        // A public address literal: no DNS, and nothing delivers (no jobs).
        let webhook = json!({"url": "https://93.184.216.34/hook"});
        let org_hook = self.call(Method::POST, "/v1/orgs/@@org@@/webhooks", webhook.clone());
        let platform_hook = self.call(Method::POST, "/v1/webhooks", webhook);
        {
            let mut ids = self.ids.lock().unwrap();
            ids.webhook = org_hook["id"].as_str().unwrap().to_owned();
            ids.platform_webhook = platform_hook["id"].as_str().unwrap().to_owned();
        }
        let now = self.fingerprint();
        *self.last.lock().unwrap() = now;
    }

    /// A new member with no org role, participant of `space`.
    fn add_member(&self, org: &str, space: &str) -> String {
        let n = self
            .fresh
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let done = self.call(
            Method::POST,
            &format!("/v1/orgs/{org}/members/import?mode=add"),
            json!({"members": [{
                "email": format!("member{n}@fuzz.example"),
                "name": "Fuzzed Member",
                "space_roles": [{"space_id": space, "role": "participant"}],
            }]}),
        );
        done["created"][0].as_str().unwrap().to_owned()
    }

    fn fingerprint(&self) -> Fingerprint {
        let org = self.get("/v1/orgs/@@org@@");
        assert_eq!(org.status, StatusCode::OK, "the organization is readable");
        let revision = org.json()["revision"].as_i64().unwrap();
        let data_version = self.runtime.block_on(async {
            let mut observer = self.observer.lock().await;
            sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(&mut *observer)
                .await
                .unwrap()
        });
        Fingerprint {
            revision,
            data_version,
        }
    }

    /// After a change went through: the member the cases name is there and
    /// active again (a fuzzed bulk removal may have taken them).
    fn restore(&self) {
        let member = self.get("/v1/orgs/@@org@@/members/@@user@@");
        if member.status == StatusCode::NOT_FOUND {
            let user = self.add_member("@@org@@", "@@space@@");
            self.ids.lock().unwrap().user = user;
        } else if member.json()["status"] != "active" {
            let path = self
                .ids()
                .fill("/v1/orgs/@@org@@/members/@@user@@/reactivate");
            // Refused when a fuzzed seat limit is full: the next cases then
            // meet a deactivated member, which is fine too.
            let _ = self.send(&Method::POST, &path, "application/json", Vec::new());
        }
        let now = self.fingerprint();
        *self.last.lock().unwrap() = now;
    }

    /// Sends one fuzzed request and holds the answer to the properties.
    fn check(
        &self,
        what: &str,
        actor: Actor,
        method: &Method,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> TestCaseResult {
        let ids = self.ids();
        let path = ids.fill(path);
        // Markers are replaced in text; other bytes go as they are.
        let body = match std::str::from_utf8(body) {
            Ok(text) => ids.fill(text).into_bytes(),
            Err(_) => body.to_vec(),
        };
        let actor = actor.marker().map(|marker| ids.fill(marker));
        let shown = || {
            let text = String::from_utf8_lossy(&body);
            let cut: String = text.chars().take(600).collect();
            let bytes = body.len();
            let who = actor.as_deref().unwrap_or("the platform");
            format!("{what}: {method} {path} as {who} ({content_type}, {bytes} bytes) {cut:?}")
        };
        let before = *self.last.lock().unwrap();
        let answer = self.send_as(actor.as_deref(), method, &path, content_type, body.clone());
        let status = answer.status;
        let after = if status.is_success() {
            self.restore();
            before
        } else {
            // Taken before any property is checked, so that one failure
            // does not make every later case fail with it.
            let after = self.fingerprint();
            *self.last.lock().unwrap() = after;
            after
        };
        prop_assert!(
            status.as_u16() < 500,
            "{} answered {} {}",
            shown(),
            status,
            String::from_utf8_lossy(&answer.body)
        );
        if status.is_success() {
            return Ok(());
        }
        prop_assert!(
            answer
                .content_type
                .split(';')
                .next()
                .is_some_and(|mime| mime.trim() == "application/problem+json"),
            "{} answered {} as {:?}",
            shown(),
            status,
            answer.content_type
        );
        let problem = answer.json();
        let code = problem["code"].as_str().unwrap_or_default();
        prop_assert!(
            !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{} answered {} without a snake_case code: {}",
            shown(),
            status,
            problem
        );
        prop_assert_eq!(
            problem["status"].as_u64(),
            Some(u64::from(status.as_u16())),
            "{}",
            shown()
        );
        prop_assert_eq!(
            after,
            before,
            "{} was refused ({} {}) but changed something",
            shown(),
            status,
            code
        );
        Ok(())
    }
}

/// Who the platform key acts as: the platform itself mostly, sometimes the
/// Owner or the member (`X-Roster-Actor`), for the operations that need a
/// person (tokens, leaving a space).
#[derive(Clone, Copy, Debug)]
enum Actor {
    Platform,
    Owner,
    Member,
}

impl Actor {
    fn marker(self) -> Option<&'static str> {
        match self {
            Actor::Platform => None,
            Actor::Owner => Some("@@owner@@"),
            Actor::Member => Some("@@user@@"),
        }
    }
}

/// Mostly who the operation's example acts as (see [`examples`]).
fn actor_for(operation: &Operation) -> impl Strategy<Value = Actor> {
    let usual = example_of(operation).map_or(Actor::Platform, |(actor, _)| actor);
    prop_oneof![
        6 => Just(usual),
        1 => Just(Actor::Platform),
        1 => Just(Actor::Owner),
        1 => Just(Actor::Member),
    ]
}

static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    serde_json::to_value(roster_server::http::openapi::document()).unwrap()
});

#[derive(Clone, Debug)]
struct Operation {
    method: Method,
    /// The path with its parameters as `@@id@@` markers.
    path: String,
    template: String,
    schema: Value,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

/// The marker for a path parameter: the organization's ids; `{id}` is the
/// organization's endpoint under `/v1/orgs`, the platform's elsewhere.
fn marker(template: &str, parameter: &str) -> &'static str {
    match parameter {
        "org" => "@@org@@",
        "space" => "@@space@@",
        "user" => "@@user@@",
        "id" if template.starts_with("/v1/orgs/") && template.contains("/webhooks/") => {
            "@@webhook@@"
        }
        "id" if template.starts_with("/v1/webhooks/") => "@@platform_webhook@@",
        other => panic!("{template}: no real id for the path parameter {{{other}}}; add one"),
    }
}

fn json_operations() -> Vec<Operation> {
    let mut operations = Vec::new();
    for (template, item) in DOCUMENT["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(schema) = operation["requestBody"]["content"]["application/json"]
                .get("schema")
                .cloned()
            else {
                continue;
            };
            let path = template
                .split('/')
                .map(
                    |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(parameter) => marker(template, parameter).to_owned(),
                        None => segment.to_owned(),
                    },
                )
                .collect::<Vec<_>>()
                .join("/");
            operations.push(Operation {
                method: method.to_ascii_uppercase().parse().unwrap(),
                path,
                template: template.clone(),
                schema,
            });
        }
    }
    operations
}

/// Sends every operation `strategy`'s inputs (as `body` writes them) and
/// checks each answer ([`Server::check`]), all on one server; every
/// operation is tried even after one fails, then the failures are reported
/// together.
fn for_every_operation<S: Strategy>(
    what: &str,
    strategy: impl Fn(&Operation) -> S,
    body: impl Fn(&S::Value) -> Vec<u8>,
) {
    let started = std::time::Instant::now();
    let server = Server::start();
    let operations = json_operations();
    let mut failures = Vec::new();
    for operation in &operations {
        let mut runner = runner(cases());
        let actor = actor_for(operation);
        let result = runner.run(&(actor, strategy(operation)), |(actor, input)| {
            server.check(
                what,
                actor,
                &operation.method,
                &operation.path,
                "application/json",
                &body(&input),
            )
        });
        if let Err(failure) = failure(result, |(actor, input)| {
            let text: String = String::from_utf8_lossy(&body(input))
                .chars()
                .take(2_000)
                .collect();
            format!("as {actor:?}: {text:?}")
        }) {
            failures.push(format!("{}: {failure}", operation.name()));
        }
    }
    summary(what, operations.len() as u64 * u64::from(cases()), started);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What a run did, for the long form's figures (`--show-output`).
fn summary(what: &str, cases: u64, started: std::time::Instant) {
    println!("{what}: {cases} cases in {:.1?}", started.elapsed());
}

/// Prints what a run did, then fails with its minimal input if it failed.
fn report<V>(
    what: &str,
    cases: u32,
    started: std::time::Instant,
    result: Result<(), TestError<V>>,
    show: impl Fn(&V) -> String,
) {
    summary(what, u64::from(cases), started);
    if let Err(failure) = failure(result, show) {
        panic!("{what}: {failure}");
    }
}

/// Strings that have broken parsers, stores and renderers elsewhere.
const TRICKY_STRINGS: &[&str] = &[
    "",
    " ",
    "\t\n",
    "\u{0}",
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "../../etc/passwd",
    "%00",
    "%zz",
    "<script>alert(1)</script>",
    "=HYPERLINK(\"x\")",
    "'; DROP TABLE orgs; --",
    "\u{feff}",
    "\u{202e}gnp.exe",
    "\u{1f600}",
    "a\r\nb",
    "\"",
    "\\",
    "{}",
    "[]",
    "\u{fffd}",
    "\u{10ffff}",
];

fn enum_words() -> Vec<String> {
    let mut words = BTreeSet::new();
    fn walk(value: &Value, words: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(values)) = map.get("enum") {
                    words.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                map.values().for_each(|v| walk(v, words));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, words)),
            _ => {}
        }
    }
    walk(&DOCUMENT["components"], &mut words);
    words.extend(
        [
            "user",
            "execute_all",
            "deny_on_first_deny",
            "permit_on_first_permit",
        ]
        .map(str::to_owned),
    );
    words.into_iter().collect()
}

fn any_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        2 => "(?s).{0,24}",
        2 => prop::sample::select(TRICKY_STRINGS).prop_map(str::to_owned),
        2 => prop::sample::select(enum_words()),
        1 => prop::sample::select(&[63usize, 64, 100, 101, 200, 201, 254, 255, 500, 501, 2048, 2049, 5000, 5001][..])
            .prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

fn id() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(ID_MARKERS).prop_map(str::to_owned),
        1 => "[a-z0-9_-]{0,30}",
        1 => any_string(),
    ]
    .boxed()
}

/// An id of the kind `likely` names, mostly; any id otherwise.
fn id_like(likely: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![3 => prop::sample::select(likely).prop_map(str::to_owned), 1 => id()].boxed()
}

fn email() -> BoxedStrategy<String> {
    prop_oneof![
        2 => Just("@@owner_email@@".to_owned()),
        4 => "[a-z]{1,8}@fuzz\\.example",
        2 => "[a-z]{1,8}@(example\\.com|[a-z]{1,5}\\.example\\.com)",
        1 => "[A-Z]{1,5}@FUZZ\\.EXAMPLE\\.?",
        1 => prop::sample::select(&[
            "member0@fuzz.example",
            "x@bücher.de",
            "no-at-sign",
            "a@@fuzz.example",
            "a@localhost",
            "\"q\"@fuzz.example",
            "a@1.2.3.4",
            "a..b@fuzz.example",
            "a@fuzz..example",
            "a@xn--.example",
        ][..])
        .prop_map(str::to_owned),
        1 => any_string(),
    ]
    .boxed()
}

/// A pasted list: addresses between commas, semicolons and white space.
fn pasted_emails() -> BoxedStrategy<String> {
    (
        prop::collection::vec(email(), 0..6),
        prop::collection::vec("[,; \n\t]{1,3}", 6),
    )
        .prop_map(|(emails, separators)| {
            emails
                .iter()
                .zip(&separators)
                .map(|(e, s)| format!("{e}{s}"))
                .collect()
        })
        .boxed()
}

fn url() -> BoxedStrategy<String> {
    prop_oneof![
        // Public address literals: no DNS lookup, and accepted.
        3 => prop::sample::select(&[
            "https://93.184.216.34/hook",
            "http://93.184.216.34:8080/x?y=1#z",
            "HTTPS://93.184.216.34/",
            "https://[2606:4700:4700::1111]/h",
        ][..])
        .prop_map(str::to_owned),
        3 => prop::sample::select(&[
            "http://127.0.0.1:9/hook",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://localhost/",
            "ftp://93.184.216.34/",
            "file:///etc/passwd",
            "https://user:pw@93.184.216.34/",
            "https://",
            "not a url",
        ][..])
        .prop_map(str::to_owned),
        1 => (2030usize..2100).prop_map(|n| format!("https://93.184.216.34/{}", "a".repeat(n))),
        1 => any_string(),
    ]
    .boxed()
}

fn domain() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(&[
            "fuzz.example", "*.example.com", "example.com", "*", "*.", "*.com", "bücher.de",
            "*.Bücher.de.", "a..b", "x.com.", "-x.com", "1.2.3.4", "a@b.com", "*.*.x.com",
        ][..])
        .prop_map(str::to_owned),
        1 => "[a-z]{1,10}\\.(com|example)",
        1 => any_string(),
    ]
    .boxed()
}

fn date_time() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(&[
            "2030-01-01T00:00:00Z",
            "2000-01-01T00:00:00Z",
            "1970-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59.999999999-23:59",
            "+262143-12-31T23:59:59Z",
            "-262144-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2030-02-30T00:00:00Z",
            "2030-01-01T24:00:00Z",
            "2030-01-01T23:59:60Z",
            "2030-01-01",
            "now",
        ][..])
        .prop_map(str::to_owned),
        2 => (0u32..10_000, 1u32..13, 1u32..29, 0u32..24, 0u32..60)
            .prop_map(|(y, mo, d, h, mi)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00Z")),
        1 => any::<i64>().prop_map(|s| {
            chrono::DateTime::from_timestamp(s, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| s.to_string())
        }),
        1 => any_string(),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => prop::sample::select(&[
            0i64, 1, 2, -1, 100, 101, 500, 501, 1000, 1001, 86_400, 630_720_000, 630_720_001,
            2_147_483_647, 2_147_483_648, 4_294_967_295, 4_294_967_296, i64::MAX, i64::MIN,
        ][..])
        .prop_map(Value::from),
        2 => (0i64..2_000).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => Just(Value::from(u64::MAX)),
        1 => prop::sample::select(&[0.5f64, -0.0, 1e300, -1e300, 1.0, 2.5e9][..])
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
    .boxed()
}

/// A number for the field `name`. `context.at_least` above every revision
/// written makes a decision wait a second for replicas (API.md), so it is
/// mostly one that exists: the wait is a rule, not something to fuzz for
/// hours.
fn number_for(name: &str) -> BoxedStrategy<Value> {
    match name {
        "at_least" => prop_oneof![30 => (-2i64..30).prop_map(Value::from), 1 => number()].boxed(),
        _ => number(),
    }
}

/// A JSON leaf of any kind.
fn any_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        any_string().prop_map(Value::String),
        id().prop_map(Value::String),
    ]
    .boxed()
}

/// Arbitrary JSON: any nesting of any values, keys often the schema's own
/// field names so the values land on real fields.
fn any_json(keys: Vec<String>) -> BoxedStrategy<Value> {
    let key = if keys.is_empty() {
        any_string()
    } else {
        prop_oneof![3 => prop::sample::select(keys), 1 => any_string()].boxed()
    };
    any_leaf()
        .prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
        .boxed()
}

fn field_names(schema: &Value, depth: usize, names: &mut BTreeSet<String>) {
    if depth > 8 {
        return;
    }
    let schema = resolve(schema);
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            names.insert(name.clone());
            field_names(property, depth + 1, names);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for option in schema[key].as_array().into_iter().flatten() {
            field_names(option, depth + 1, names);
        }
    }
    field_names(&schema["items"], depth + 1, names);
}

fn resolve(schema: &Value) -> &Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(&DOCUMENT["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A value shaped like `schema`, the field `name`'s: mostly the kind of
/// value the field takes (real ids, addresses, enum members, boundary
/// numbers), sometimes a value of another kind, a missing required field or
/// an unknown one.
fn plausible(schema: &Value, name: &str, depth: usize) -> BoxedStrategy<Value> {
    let shaped = shaped(schema, name, depth);
    if depth > 6 {
        return shaped;
    }
    prop_oneof![20 => shaped, 1 => any_leaf()].boxed()
}

fn shaped(schema: &Value, name: &str, depth: usize) -> BoxedStrategy<Value> {
    let schema = resolve(schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            // `null` (a field left as it is) is one choice among several.
            let options: Vec<_> = options
                .iter()
                .map(|o| {
                    let weight = if o["type"] == "null" { 1 } else { 4 };
                    (weight, shaped(o, name, depth + 1))
                })
                .collect();
            return Union::new_weighted(options).boxed();
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return prop_oneof![
            8 => prop::sample::select(values.clone()),
            1 => prop::sample::select(values.clone())
                .prop_map(|v| Value::String(v.as_str().unwrap_or_default().to_ascii_uppercase())),
            1 => any_string().prop_map(Value::String),
        ]
        .boxed();
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.is_empty() {
        return any_json(Vec::new());
    }
    let options: Vec<_> = types
        .into_iter()
        .map(|t| typed(schema, t, name, depth))
        .collect();
    Union::new(options).boxed()
}

fn typed(schema: &Value, kind: &str, name: &str, depth: usize) -> BoxedStrategy<Value> {
    match kind {
        "null" => Just(Value::Null).boxed(),
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        "integer" | "number" => number_for(name),
        "string" => string_for(schema, name).prop_map(Value::String).boxed(),
        "array" => array_of(&schema["items"], name, depth),
        "object" => object(schema, depth),
        _ => any_leaf(),
    }
}

fn string_for(schema: &Value, name: &str) -> BoxedStrategy<String> {
    if schema["format"] == "date-time" {
        return date_time();
    }
    match name {
        "url" => url(),
        "email" | "owner_email" => email(),
        "emails" => prop_oneof![pasted_emails(), email()].boxed(),
        "domains" => domain(),
        "org_id" => id_like(&["@@org@@", "@@org@@", "@@other_org@@"]),
        "space_id" | "space_ids" => id_like(&["@@space@@", "@@space@@", "@@other_space@@"]),
        "user_id" | "user_ids" | "added_by" => {
            id_like(&["@@user@@", "@@owner@@", "@@other_user@@"])
        }
        "id" => id(),
        "expires_at" => date_time(),
        "role" => prop_oneof![
            3 => prop::sample::select(&["owner", "admin", "implementation_admin", "program_admin", "facilitator", "participant", "sponsor"][..]).prop_map(str::to_owned),
            1 => any_string(),
        ]
        .boxed(),
        "space_name" => prop_oneof![Just("Fuzz space".to_owned()), any_string()].boxed(),
        // `subject.type`, `resource.type`.
        "type" => prop_oneof![
            3 => prop::sample::select(&["user", "user", "organization", "space", "item"][..])
                .prop_map(str::to_owned),
            1 => any_string(),
        ]
        .boxed(),
        _ => prop_oneof![3 => any_string(), 1 => id(), 1 => email()].boxed(),
    }
}

fn array_of(items: &Value, name: &str, depth: usize) -> BoxedStrategy<Value> {
    let item = plausible(items, name, depth + 1);
    let simple = !matches!(resolve(items)["type"].as_str(), Some("object"));
    let small = prop::collection::vec(item.clone(), 0..4).prop_map(Value::Array);
    if simple && depth < 3 {
        // Around the caps: 100 spaces, 500 addresses, 1000 evaluations.
        let large = prop::collection::vec(item, 95..520).prop_map(Value::Array);
        prop_oneof![12 => small, 1 => large].boxed()
    } else {
        small.boxed()
    }
}

fn object(schema: &Value, depth: usize) -> BoxedStrategy<Value> {
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let value = plausible(property, name, depth + 1);
        let key = name.clone();
        let present = if required.contains(name.as_str()) {
            0.97
        } else {
            0.7
        };
        fields.push(
            prop::option::weighted(present, value)
                .prop_map(move |v| v.map(|v| (key.clone(), v)))
                .boxed(),
        );
    }
    let unknown = prop::option::weighted(0.05, (any_string(), any_leaf()));
    (fields, unknown)
        .prop_map(|(fields, unknown)| {
            let mut object: Map<String, Value> = fields.into_iter().flatten().collect();
            if let Some((key, value)) = unknown {
                object.insert(key, value);
            }
            Value::Object(object)
        })
        .boxed()
}

/// For each operation: who acts, a body it accepts as it is (ids as
/// markers), and whether it does (`/v1/invitations/accept` needs a token
/// from an email, so its example is refused: its fields are still fuzzed).
fn examples() -> Vec<(&'static str, Actor, Value, bool)> {
    let user = json!({"type": "user", "id": "@@user@@"});
    let space = json!({"type": "space", "id": "@@space@@", "properties": {"org_id": "@@org@@"}});
    let webhook = json!({
        "url": "https://93.184.216.34/hook",
        "types": ["member.removed", "space.created"],
        "description": "Fuzzed endpoint",
    });
    vec![
        (
            "POST /access/v1/evaluation",
            Actor::Platform,
            json!({
                "subject": user, "action": {"name": "space.view"}, "resource": space,
                "context": {"explain": true, "at_least": 1},
            }),
            true,
        ),
        (
            "POST /access/v1/evaluations",
            Actor::Platform,
            json!({
                "subject": user, "action": {"name": "space.view"}, "resource": space,
                "evaluations": [
                    {},
                    {"action": {"name": "members.invite"}, "resource": {"type": "organization", "id": "@@org@@"}},
                    {"subject": {"type": "user", "id": "@@owner@@"}},
                ],
                "options": {"evaluations_semantic": "execute_all"},
            }),
            true,
        ),
        (
            "POST /access/v1/search/action",
            Actor::Platform,
            json!({
                "subject": user, "resource": space, "page": {"limit": 10},
            }),
            true,
        ),
        (
            "POST /access/v1/search/resource",
            Actor::Platform,
            json!({
                "subject": user, "action": {"name": "space.view"},
                "resource": {"type": "space", "properties": {"org_id": "@@org@@"}},
                "page": {"limit": 10, "token": null},
            }),
            true,
        ),
        (
            "POST /access/v1/search/subject",
            Actor::Platform,
            json!({
                "subject": {"type": "user"}, "action": {"name": "space.view"}, "resource": space,
            }),
            true,
        ),
        (
            "POST /v1/dev/clock",
            Actor::Platform,
            json!({"advance_seconds": 60}),
            true,
        ),
        (
            "POST /v1/invitations/accept",
            Actor::Platform,
            json!({"token": "inv_unknown", "name": "New Person"}),
            false,
        ),
        (
            "POST /v1/orgs",
            Actor::Platform,
            json!({
                "name": "Fuzzed Co", "owner_email": "founder@fuzz.example",
                "owner_name": "Founder", "seat_limit": 10,
            }),
            true,
        ),
        (
            "PATCH /v1/orgs/{org}",
            Actor::Platform,
            json!({
                "name": "Fuzz org", "seat_limit": null, "seat_roles": ["owner", "admin", "participant"],
            }),
            true,
        ),
        (
            "PUT /v1/orgs/{org}/implementation-admin-domains",
            Actor::Platform,
            json!({
                "domains": ["fuzz.example", "*.example.com"],
            }),
            true,
        ),
        (
            "POST /v1/orgs/{org}/invitations",
            Actor::Platform,
            json!({
                "emails": "invitee@fuzz.example, other@example.com", "role": "participant",
                "space_ids": ["@@space@@"], "message": "Welcome",
            }),
            true,
        ),
        (
            "POST /v1/orgs/{org}/members/bulk",
            Actor::Platform,
            json!({
                "action": "reactivate", "user_ids": ["@@user@@"],
            }),
            true,
        ),
        (
            "POST /v1/orgs/{org}/members/import",
            Actor::Platform,
            json!({
                "members": [{
                    "email": "imported@fuzz.example", "name": "Imported", "org_role": null,
                    "space_roles": [{"space_id": "@@space@@", "role": "participant"}],
                }, {
                    "email": "named@fuzz.example",
                    "space_roles": [{"space_name": "Fuzz space", "role": "sponsor"}],
                }],
            }),
            true,
        ),
        (
            "PATCH /v1/orgs/{org}/members/{user}",
            Actor::Platform,
            json!({
                "org_role": "implementation_admin", "duration": "1_month",
            }),
            true,
        ),
        (
            "POST /v1/orgs/{org}/members/{user}/remove-implementation-admin",
            Actor::Platform,
            json!({
                "confirm": true,
            }),
            true,
        ),
        (
            "PUT /v1/orgs/{org}/settings/implementation-admin",
            Actor::Platform,
            json!({
                "enabled": true, "confirm": true,
            }),
            true,
        ),
        (
            "POST /v1/orgs/{org}/spaces",
            Actor::Platform,
            json!({"name": "Another space"}),
            true,
        ),
        (
            "PATCH /v1/orgs/{org}/spaces/{space}",
            Actor::Platform,
            json!({"name": "Fuzz space"}),
            true,
        ),
        (
            "POST /v1/orgs/{org}/spaces/{space}/leave",
            Actor::Member,
            json!({"confirm": true}),
            true,
        ),
        (
            "PUT /v1/orgs/{org}/spaces/{space}/members/{user}",
            Actor::Platform,
            json!({"role": "facilitator"}),
            true,
        ),
        (
            "POST /v1/orgs/{org}/tokens",
            Actor::Owner,
            json!({
                "kind": "api", "name": "Fuzzed token", "expires_at": "2030-01-01T00:00:00Z",
            }),
            true,
        ),
        (
            "POST /v1/orgs/{org}/webhooks",
            Actor::Platform,
            webhook.clone(),
            true,
        ),
        (
            "PATCH /v1/orgs/{org}/webhooks/{id}",
            Actor::Platform,
            json!({
                "enabled": true, "description": "Renamed", "types": [], "url": "https://93.184.216.34/other",
            }),
            true,
        ),
        (
            "POST /v1/webhooks",
            Actor::Platform,
            {
                let mut platform = webhook;
                platform["org_id"] = json!("@@org@@");
                platform
            },
            true,
        ),
        (
            "PATCH /v1/webhooks/{id}",
            Actor::Platform,
            json!({"enabled": false, "types": null}),
            true,
        ),
    ]
}

fn example_of(operation: &Operation) -> Option<(Actor, Value)> {
    examples()
        .into_iter()
        .find(|(name, ..)| *name == operation.name())
        .map(|(_, actor, body, _)| (actor, body))
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// One change to an example body.
#[derive(Clone, Debug)]
enum Edit {
    Replace(Vec<Step>, Value),
    Remove(Vec<Step>),
    Insert(Vec<Step>, String, Value),
}

fn at_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get_mut(key.as_str()),
        Step::Index(i) => value.get_mut(*i),
    })
}

impl Edit {
    /// Applies the edit if its place still exists (an earlier edit may
    /// have replaced or removed it).
    fn apply(&self, body: &mut Value) {
        match self {
            Edit::Replace(path, new) => {
                if let Some(place) = at_mut(body, path) {
                    *place = new.clone();
                }
            }
            Edit::Remove(path) => {
                let Some((last, parent)) = path.split_last() else {
                    return;
                };
                match (at_mut(body, parent), last) {
                    (Some(Value::Object(map)), Step::Key(key)) => {
                        map.remove(key);
                    }
                    (Some(Value::Array(items)), Step::Index(i)) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                }
            }
            Edit::Insert(path, key, new) => {
                if let Some(Value::Object(map)) = at_mut(body, path) {
                    map.insert(key.clone(), new.clone());
                }
            }
        }
    }
}

/// Every place of `value` with the name of the field it belongs to.
fn places(value: &Value, path: Vec<Step>, name: &str, out: &mut Vec<(Vec<Step>, String, Value)>) {
    out.push((path.clone(), name.to_owned(), value.clone()));
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let mut at = path.clone();
                at.push(Step::Key(key.clone()));
                places(inner, at, key, out);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                let mut at = path.clone();
                at.push(Step::Index(i));
                places(inner, at, name, out);
            }
        }
        _ => {}
    }
}

/// A value for the place: of its kind and field mostly, anything sometimes.
fn replacement(name: &str, current: &Value) -> BoxedStrategy<Value> {
    let like = match current {
        Value::String(_) => string_for(&Value::Null, name)
            .prop_map(Value::String)
            .boxed(),
        Value::Number(_) => number_for(name),
        Value::Bool(_) => any::<bool>().prop_map(Value::Bool).boxed(),
        Value::Array(items) => {
            let item = match items.first() {
                Some(first) => replacement(name, first),
                None => string_for(&Value::Null, name)
                    .prop_map(Value::String)
                    .boxed(),
            };
            prop_oneof![
                8 => prop::collection::vec(item.clone(), 0..5),
                1 => prop::collection::vec(item, 95..520),
            ]
            .prop_map(Value::Array)
            .boxed()
        }
        Value::Object(_) | Value::Null => any_leaf(),
    };
    prop_oneof![5 => like, 1 => any_leaf(), 1 => Just(Value::Null)].boxed()
}

/// An example body with a few of its values replaced or removed, or fields
/// added: close to valid, so the rules behind the parsing are reached.
fn mutated(example: Value) -> BoxedStrategy<Value> {
    let mut found = Vec::new();
    places(&example, Vec::new(), "", &mut found);
    let edits: Vec<BoxedStrategy<Edit>> = found
        .into_iter()
        .map(|(path, name, current)| {
            let mut choices: Vec<(u32, BoxedStrategy<Edit>)> = Vec::new();
            let at = path.clone();
            choices.push((
                6,
                replacement(&name, &current)
                    .prop_map(move |v| Edit::Replace(at.clone(), v))
                    .boxed(),
            ));
            if !path.is_empty() {
                choices.push((2, Just(Edit::Remove(path.clone())).boxed()));
            }
            if current.is_object() {
                let at = path.clone();
                let keys = prop_oneof![prop::sample::select(enum_words()), any_string()];
                choices.push((
                    1,
                    (keys, any_leaf())
                        .prop_map(move |(k, v)| Edit::Insert(at.clone(), k, v))
                        .boxed(),
                ));
            }
            Union::new_weighted(choices).boxed()
        })
        .collect();
    (
        Just(example),
        prop::collection::vec(Union::new(edits), 0..4),
    )
        .prop_map(|(mut body, edits)| {
            for edit in &edits {
                edit.apply(&mut body);
            }
            body
        })
        .boxed()
}

/// Bytes: anything, JSON-looking prefixes, deep nesting, bodies at the
/// 1 MiB limit, and a plausible body cut short or with a byte changed.
fn any_bytes(operation: &Operation) -> BoxedStrategy<Vec<u8>> {
    let body = plausible(&operation.schema, "", 0).prop_map(|v| serde_json::to_vec(&v).unwrap());
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..512),
        2 => (body.clone(), any::<prop::sample::Index>())
            .prop_map(|(body, at)| body[..at.index(body.len() + 1)].to_vec()),
        2 => (body, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut body, at, byte)| {
            if !body.is_empty() {
                let i = at.index(body.len());
                body[i] = byte;
            }
            body
        }),
        1 => ("[\\[{\"]", 1usize..20_000).prop_map(|(open, n)| open.repeat(n).into_bytes()),
        1 => prop::sample::select(&[
            "", "null", "{}", "[]", "\"\"", "0", "-0", "1e999999", "123456789012345678901234567890",
            "{\"a\":1,\"a\":2}", "\u{feff}{}", "{} {}", "{\"\\ud800\":1}", "\"\\ud800\"",
        ][..])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => (1_048_560usize..1_048_600).prop_map(|n| {
            let mut body = b"{}".to_vec();
            body.resize(n, b' ');
            body
        }),
    ]
    .boxed()
}

#[test]
fn every_json_operation_of_the_document_has_an_example_body_to_mutate() {
    let operations: BTreeSet<String> = json_operations().iter().map(Operation::name).collect();
    let examples: BTreeSet<String> = examples().iter().map(|(n, ..)| (*n).to_owned()).collect();
    // A new operation is fuzzed from its schema at once; give it an example
    // here too, so mutations of a valid body reach its rules.
    assert_eq!(operations, examples);
}

#[test]
fn every_example_body_is_accepted_as_it_is() {
    let server = Server::start();
    let operations = json_operations();
    for (name, actor, body, accepted) in examples() {
        let operation = operations.iter().find(|o| o.name() == name).unwrap();
        let ids = server.ids();
        let path = ids.fill(&operation.path);
        let answer = server.send_as(
            actor.marker().map(|m| ids.fill(m)).as_deref(),
            &operation.method,
            &path,
            "application/json",
            ids.fill(&body.to_string()).into_bytes(),
        );
        assert_eq!(
            answer.status.is_success(),
            accepted,
            "{name} {body}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        server.restore();
    }
}

#[test]
fn arbitrary_bytes_as_any_json_body_are_refused_cleanly_and_change_nothing() {
    for_every_operation("bytes", any_bytes, Clone::clone);
}

#[test]
fn arbitrary_json_as_any_json_body_is_answered_cleanly() {
    for_every_operation(
        "json",
        |operation| {
            let mut names = BTreeSet::new();
            field_names(&operation.schema, 0, &mut names);
            any_json(names.into_iter().collect())
        },
        |value| serde_json::to_vec(value).unwrap(),
    );
}

#[test]
fn bodies_shaped_like_each_schema_with_mutated_values_are_answered_cleanly() {
    for_every_operation(
        "shaped",
        |operation| match example_of(operation) {
            Some((_, example)) => {
                prop_oneof![plausible(&operation.schema, "", 0), mutated(example)].boxed()
            }
            None => plausible(&operation.schema, "", 0),
        },
        |value| serde_json::to_vec(value).unwrap(),
    );
}

fn csv_cell() -> BoxedStrategy<String> {
    prop_oneof![
        3 => any_string(),
        2 => email(),
        2 => prop::sample::select(enum_words()),
        1 => Just("@@space@@".to_owned()),
        1 => Just("Fuzz space".to_owned()),
        1 => Just(String::new()),
    ]
    .boxed()
}

/// A record an import takes: a new address, perhaps a name, an org role
/// (with its duration) or a space role, or both.
fn valid_csv_record() -> BoxedStrategy<Vec<String>> {
    let org_role = prop::sample::select(
        &[
            ("", ""),
            ("", ""),
            ("", ""),
            ("admin", ""),
            ("implementation_admin", "1_month"),
        ][..],
    );
    let space = prop_oneof![
        1 => Just(("", "")),
        6 => (
            prop::sample::select(&["@@space@@", "Fuzz space"][..]),
            prop::sample::select(&["participant", "facilitator", "program_admin", "sponsor"][..]),
        ),
    ];
    (
        // On the Implementation Admin allowlist.
        "[a-z]{1,8}@fuzz\\.example",
        prop_oneof![Just(String::new()), "[A-Za-z ]{1,20}"],
        org_role,
        space,
    )
        .prop_map(|(email, name, (role, duration), (space, space_role))| {
            [email.as_str(), &name, role, duration, space, space_role]
                .map(str::to_owned)
                .to_vec()
        })
        .boxed()
}

/// One CSV record: valid, valid but for one cell, six cells of anything
/// plausible, or any number of cells.
fn csv_record() -> BoxedStrategy<Vec<String>> {
    let email = prop_oneof![3 => email(), 1 => csv_cell()];
    let role = |words: &'static [&'static str]| {
        prop_oneof![
            4 => prop::sample::select(words).prop_map(str::to_owned),
            1 => csv_cell(),
        ]
    };
    let six = (
        email,
        prop_oneof![Just(String::new()), any_string()],
        role(&["", "", "owner", "admin", "implementation_admin"]),
        role(&["", "", "1_month", "forever"]),
        prop_oneof![
            Just(String::new()),
            Just("@@space@@".to_owned()),
            Just("@@other_space@@".to_owned()),
            Just("Fuzz space".to_owned()),
            any_string(),
        ],
        role(&["", "participant", "facilitator", "program_admin", "sponsor"]),
    )
        .prop_map(|(a, b, c, d, e, f)| vec![a, b, c, d, e, f]);
    let one_cell_off = (valid_csv_record(), any::<prop::sample::Index>(), csv_cell()).prop_map(
        |(mut record, at, cell)| {
            let i = at.index(record.len());
            record[i] = cell;
            record
        },
    );
    prop_oneof![
        10 => valid_csv_record(),
        3 => one_cell_off,
        2 => six,
        1 => prop::collection::vec(csv_cell(), 0..9),
    ]
    .boxed()
}

/// CSV text as a client would write it (quoted where needed), with the
/// header, a mutated header, or none.
fn csv_text() -> BoxedStrategy<String> {
    let header = prop_oneof![
        6 => Just(CSV_HEADER.map(str::to_owned).to_vec()),
        1 => Just(
            std::iter::once(format!("\u{feff}{}", CSV_HEADER[0]))
                .chain(CSV_HEADER[1..].iter().map(|h| (*h).to_owned()))
                .collect()
        ),
        1 => Just(CSV_HEADER.map(|h| format!(" {} ", h.to_ascii_uppercase())).to_vec()),
        1 => prop::collection::vec(csv_cell(), 0..8),
    ];
    let terminator = prop_oneof![
        Just(csv::Terminator::CRLF),
        Just(csv::Terminator::Any(b'\n'))
    ];
    (
        header,
        prop::collection::vec(csv_record(), 0..6),
        terminator,
    )
        .prop_map(|(header, records, terminator)| {
            let mut writer = csv::WriterBuilder::new()
                .flexible(true)
                .terminator(terminator)
                .from_writer(Vec::new());
            writer.write_record(&header).unwrap();
            for record in &records {
                writer.write_record(record).unwrap();
            }
            String::from_utf8(writer.into_inner().unwrap()).unwrap()
        })
        .boxed()
}

/// Bytes for the CSV parser: anything, CSV text, and CSV text cut short or
/// with a byte changed (unbalanced quotes, broken UTF-8).
fn csv_bytes() -> BoxedStrategy<Vec<u8>> {
    let text = csv_text().prop_map(String::into_bytes);
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..512),
        1 => (Just(CSV_HEADER.join(",")), prop::collection::vec(any::<u8>(), 0..256))
            .prop_map(|(header, tail)| [header.as_bytes(), b"\n", &tail].concat()),
        8 => text.clone(),
        2 => (text.clone(), any::<prop::sample::Index>())
            .prop_map(|(text, at)| text[..at.index(text.len() + 1)].to_vec()),
        2 => (text, any::<prop::sample::Index>(), prop::sample::select(&[b'"', b'\r', b'\n', b',', 0, 0xff, 0xc3][..]))
            .prop_map(|(mut text, at, byte)| {
                if !text.is_empty() {
                    let i = at.index(text.len());
                    text[i] = byte;
                }
                text
            }),
    ]
    .boxed()
}

#[test]
fn the_csv_parser_reads_any_bytes_into_numbered_rows_or_a_400() {
    let cases = cases() * PARSER_FACTOR;
    let started = std::time::Instant::now();
    let mut runner = runner(cases);
    let result = runner.run(&csv_bytes(), |body| {
        match rows_from_csv(&body) {
            Ok(rows) => {
                prop_assert!(rows.len() <= roster_core::import::MAX_ROWS);
                for (i, row) in rows.iter().enumerate() {
                    prop_assert_eq!(row.row, i + 1, "rows count from 1 without gaps");
                }
            }
            Err(error) => {
                prop_assert_eq!(error.status, StatusCode::BAD_REQUEST);
                prop_assert_eq!(error.code, "validation_failed");
            }
        }
        Ok(())
    });
    report("csv parser, any bytes", cases, started, result, |body| {
        format!("{:?}", String::from_utf8_lossy(body))
    });
}

/// A cell as the parser reports it: trimmed (the CSV reader trims ASCII
/// white space), `None` when empty after trimming.
fn cell_text(cell: &str) -> Option<String> {
    let cell = cell.trim();
    (!cell.is_empty()).then(|| cell.to_owned())
}

#[test]
fn the_csv_parser_reads_back_what_a_csv_writer_wrote() {
    // Cells with only ASCII white space around them, so the reader's
    // trimming and `str::trim` agree.
    let cell = || {
        prop_oneof![
            "[ \t]{0,2}",
            ("[ \t]{0,2}", "[^ \t\r\n\u{b}\u{c}\u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]([^\r]{0,20}[^ \t\r\n\u{b}\u{c}\u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}])?", "[ \t]{0,2}")
                .prop_map(|(a, b, c)| format!("{a}{b}{c}")),
        ]
    };
    let record = (
        cell(),
        cell(),
        prop::sample::select(&["", "owner", "admin", " implementation_admin "][..]),
        prop::sample::select(&["", "forever", "1_month"][..]),
        cell(),
        prop::sample::select(&["", "participant", "sponsor"][..]),
    );
    let strategy = prop::collection::vec(record, 0..12);
    let cases = cases() * PARSER_FACTOR;
    let started = std::time::Instant::now();
    let mut runner = runner(cases);
    let result = runner.run(&strategy, |records| {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(CSV_HEADER).unwrap();
        for (email, name, org_role, duration, space, space_role) in &records {
            writer
                .write_record([email.as_str(), name, org_role, duration, space, space_role])
                .unwrap();
        }
        let body = writer.into_inner().unwrap();
        let rows = rows_from_csv(&body).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(rows.len(), records.len());
        for (row, (email, name, org_role, duration, space, space_role)) in rows.iter().zip(&records)
        {
            prop_assert_eq!(&row.email, email.trim());
            prop_assert_eq!(&row.name, &cell_text(name));
            prop_assert_eq!(row.org_role.map(|r| r.to_string()), cell_text(org_role));
            prop_assert_eq!(row.duration.map(|d| d.to_string()), cell_text(duration));
            let expected_space = match (cell_text(space), cell_text(space_role)) {
                (Some(space), Some(role)) => Some((space, role)),
                _ => None,
            };
            let space_roles: Vec<(String, String)> = row
                .space_roles
                .iter()
                .map(|(space, role)| match space {
                    roster_core::import::SpaceRef::IdOrName(s) => (s.clone(), role.to_string()),
                    other => (format!("{other:?}"), role.to_string()),
                })
                .collect();
            prop_assert_eq!(space_roles, expected_space.into_iter().collect::<Vec<_>>());
            // A space without a role, or a role without a space, is named.
            prop_assert_eq!(
                row.unreadable.is_some(),
                cell_text(space).is_some() != cell_text(space_role).is_some(),
                "{:?}",
                row
            );
        }
        Ok(())
    });
    report(
        "csv parser, written CSV",
        cases,
        started,
        result,
        |records| format!("{records:?}"),
    );
}

#[test]
fn a_csv_import_over_http_is_answered_cleanly_and_a_refusal_or_dry_run_writes_nothing() {
    let started = std::time::Instant::now();
    let server = Server::start();
    let query = prop_oneof![
        4 => prop::sample::select(&[
            "?mode=add",
            "?mode=invite",
            "",
            "?mode=add&dry_run=true",
            "?mode=invite&dry_run=true",
            "?dry_run=false",
        ][..])
        .prop_map(str::to_owned),
        1 => ("[a-z_=&%0-9]{0,20}").prop_map(|q| format!("?{q}")),
    ];
    let content_type =
        prop::sample::select(&["text/csv", "text/csv; charset=utf-8", "TEXT/CSV"][..]);
    let cases = cases() * HTTP_CSV_FACTOR;
    let mut runner = runner(cases);
    let result = runner.run(
        &(csv_bytes(), query, content_type),
        |(body, query, content_type)| {
            let dry = query.contains("dry_run=true");
            let before = *server.last.lock().unwrap();
            server.check(
                "csv",
                Actor::Platform,
                &Method::POST,
                &format!("/v1/orgs/@@org@@/members/import{query}"),
                content_type,
                &body,
            )?;
            if dry {
                // A dry run that went through changed nothing either (the
                // fingerprint was taken again after the member check).
                let after = *server.last.lock().unwrap();
                prop_assert_eq!(
                    after,
                    before,
                    "a dry run wrote: {:?}",
                    String::from_utf8_lossy(&body)
                );
            }
            Ok(())
        },
    );
    report(
        "csv import over HTTP",
        cases,
        started,
        result,
        |(body, query, content_type)| {
            format!(
                "{query} ({content_type}) {:?}",
                String::from_utf8_lossy(body)
            )
        },
    );
}
