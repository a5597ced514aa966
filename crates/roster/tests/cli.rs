//! The `roster` command line (SPEC §18, API.md "Running it") as an operator
//! runs it: the real binary against a real SQLite file and, when
//! `ROSTER_TEST_POSTGRES_URL` is set, a fresh PostgreSQL database
//! (`roster_testkit`; `ROSTER_REQUIRE_POSTGRES=1` makes its absence a
//! failure). Every child process is killed when its test ends, also when
//! the test fails ([`Running`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{redirect, StatusCode};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    migrate_and_orgs_create_print_what_works_on_a_running_server,
    import_reads_json_and_csv_files_does_dry_runs_and_names_every_rejected_row,
    a_rotated_platform_key_is_refused_by_a_running_server_and_the_new_one_accepted,
);

/// How long a command or a server may take before the test gives up on it.
const PATIENCE: Duration = Duration::from_secs(120);

/// A folder of the test's own, removed when the test ends.
struct Folder(PathBuf);

impl Folder {
    fn new(what: &str) -> Folder {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("roster-cli-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `roster`, in `dir`, with none of the caller's `ROSTER_*` settings.
fn roster(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ROSTER_") {
            command.env_remove(name);
        }
    }
    command
        .current_dir(dir)
        // `roster demo` makes its fresh database under the temporary folder.
        .env("TMPDIR", dir)
        .stdin(Stdio::null());
    command
}

/// What a finished command did.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Ran {
    fn assert_exit(&self, code: i32, what: &str) -> &Ran {
        assert_eq!(self.code, Some(code), "{what}: {self:?}");
        self
    }

    /// The value of `name: value` on stdout.
    fn field(&self, name: &str) -> String {
        let prefix = format!("{name}: ");
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no `{name}:` line: {self:?}"))
            .trim()
            .to_owned()
    }
}

/// Runs `roster args…` to the end (on a thread of its own: the test's
/// runtime keeps serving).
async fn run(mut command: Command, args: &[&str]) -> Ran {
    command.args(args);
    let line = format!("roster {}", args.join(" "));
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A `roster serve` or `roster demo` that runs until the test ends: killed
/// (and reaped) on drop, whatever happened.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn start(mut command: Command, args: &[&str]) -> Running {
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        // Logs are drained (a full pipe would stall the server) and kept
        // for failure messages.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let kept = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = err.read(&mut buffer) {
                if n == 0 {
                    return;
                }
                kept.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Running {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// `roster serve` on `db`, listening on `port`, with `env` on top.
    fn serve(dir: &Path, db: &str, port: u16, env: &[(&str, &str)]) -> Running {
        let mut command = roster(dir);
        command
            .env("ROSTER_DATABASE_URL", db)
            .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
            .envs(env.iter().copied());
        let mut server = Running::start(command, &["serve"]);
        // Printed once the port is bound and the database ready.
        server.line(|l| l.starts_with("Roster is listening on"), "serve started");
        server
    }

    /// The next line of stdout that `wanted` accepts (earlier ones are kept).
    fn line(&mut self, wanted: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "{what}: no such line ({e:?}); exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
                    self.child.try_wait(),
                    self.stdout.join("\n"),
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The platform key servers started with `ROSTER_PLATFORM_KEY` use.
const KEY: &str = "cli-test-platform-key";

/// A call to the API with `key`, answering (status, body).
async fn api(
    base: &str,
    method: reqwest::Method,
    path: &str,
    key: &str,
    actor: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(key);
    if let Some(actor) = actor {
        request = request.header("X-Roster-Actor", actor);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(base: &str, path: &str, key: &str) -> (StatusCode, Value) {
    api(base, reqwest::Method::GET, path, key, None, None).await
}

/// A browser, as far as signing in needs one: it keeps cookies, follows
/// redirects, and says its forms come from the same site.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// A page the browser ended on.
struct Page {
    status: StatusCode,
    /// Its path (after redirects).
    path: String,
    html: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap();
            let (name, content) = pair.split_once('=').unwrap();
            if content.is_empty() || value.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), content.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, url: &str) -> Page {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let request = self.client.get(&url);
        self.follow(request).await
    }

    async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Sec-Fetch-Site", "same-origin")
            .form(fields);
        self.follow(request).await
    }

    async fn follow(&mut self, mut request: reqwest::RequestBuilder) -> Page {
        for _ in 0..10 {
            let response = request
                .header(reqwest::header::COOKIE, self.cookie_header())
                .send()
                .await
                .unwrap();
            self.keep_cookies(response.headers());
            let status = response.status();
            let path = response.url().path().to_owned();
            if status.is_redirection() {
                let to = response.headers()[LOCATION].to_str().unwrap().to_owned();
                let to = if to.starts_with('/') {
                    format!("{}{to}", self.base)
                } else {
                    to
                };
                request = self.client.get(to);
                continue;
            }
            let html = response.text().await.unwrap();
            return Page { status, path, html };
        }
        panic!("more than 10 redirects");
    }

    /// Opens a sign-in link as a person does: the link shows a button,
    /// the button posts the token, the session cookie lands, and `/ui`
    /// leads on to the first page this person may see.
    async fn sign_in(&mut self, link: &str) -> Page {
        let page = self.get(link).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        assert!(
            page.html.contains(r#"action="/ui/sign-in/link""#),
            "the link shows a button: {}",
            page.html
        );
        let token = link.split("token=").nth(1).unwrap();
        self.post_form("/ui/sign-in/link", &[("token", token)])
            .await
    }
}

/// What `html` reads as: tags removed, whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The part of `html` from `from` to the next `to`.
fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html
        .find(from)
        .unwrap_or_else(|| panic!("no `{from}` in {html}"));
    let rest = &html[start..];
    &rest[..rest.find(to).unwrap_or(rest.len())]
}

/// The labels of the Admin Area's navigation.
fn navigation(html: &str) -> Vec<String> {
    between(html, r#"aria-label="Admin Area""#, "</nav>")
        .split("</a>")
        .filter_map(|part| part.rsplit_once('>').map(|(_, label)| label.trim()))
        .filter(|label| !label.is_empty())
        .map(|label| label.replace("&amp;", "&"))
        .collect()
}

/// The values a `<select id=…>` offers.
fn options(html: &str, id: &str) -> Vec<String> {
    between(html, &format!(r#"id="{id}""#), "</select>")
        .split("value=\"")
        .skip(1)
        .filter_map(|part| part.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_and_the_help_of_every_subcommand_are_printed_without_a_database() {
    let dir = Folder::new("help");
    let ran = run(roster(&dir.0), &["--version"]).await;
    ran.assert_exit(0, "--version");
    assert_eq!(
        ran.stdout.trim(),
        format!("roster {}", env!("CARGO_PKG_VERSION"))
    );

    let ran = run(roster(&dir.0), &["--help"]).await;
    ran.assert_exit(0, "--help");
    for sub in ["serve", "migrate", "demo", "import", "orgs", "platform-key"] {
        assert!(
            ran.stdout.lines().any(|l| l.trim_start().starts_with(sub)),
            "--help lists {sub}: {ran:?}"
        );
    }

    // Each subcommand has its help, with the flags of the ROSTER_* variables.
    let commands: [(&[&str], &[&str]); 8] = [
        (&["serve"], &[]),
        (&["migrate"], &[]),
        (&["demo"], &[]),
        (&["import"], &["--org", "--mode", "--dry-run", "<FILE>"]),
        (&["orgs"], &["create"]),
        (
            &["orgs", "create"],
            &["--name", "--owner-email", "--owner-name", "--seat-limit"],
        ),
        (&["platform-key"], &["rotate"]),
        (&["platform-key", "rotate"], &[]),
    ];
    for (command, own) in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let ran = run(roster(&dir.0), &args).await;
        ran.assert_exit(0, &args.join(" "));
        assert!(
            ran.stdout
                .contains(&format!("Usage: roster {}", command.join(" "))),
            "{ran:?}"
        );
        for flag in own.iter().chain(&[
            "--database-url",
            "--listen",
            "--platform-key",
            "--public-url",
            "--smtp-url",
            "[env: ROSTER_DATABASE_URL=]",
        ]) {
            assert!(
                ran.stdout.contains(flag),
                "`roster {}` mentions {flag}: {ran:?}",
                args.join(" ")
            );
        }
    }
    let left: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    assert!(left.is_empty(), "help touched no database: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_and_say_what_is_wrong() {
    let dir = Folder::new("usage");
    let notes = dir.file("notes.txt", "email\nx@acme.test\n");
    let notes = notes.to_str().unwrap();
    let db = format!("sqlite://{}", dir.0.join("roster.db").display());
    let cases: [(&[&str], &str); 9] = [
        (&[], "Usage"),
        (&["frobnicate"], "frobnicate"),
        (&["import", "people.json"], "--org"),
        (
            &["import", "--org", "org_1", "--mode", "merge", "p.json"],
            "merge",
        ),
        (&["orgs", "create", "--name", "Acme"], "--owner-email"),
        (
            &[
                "orgs",
                "create",
                "--name",
                "Acme",
                "--owner-email",
                "o@a.test",
                "--seat-limit",
                "many",
            ],
            "many",
        ),
        (
            &[
                "orgs",
                "create",
                "--name",
                "Acme",
                "--owner-email",
                "not-an-email",
                "--database-url",
                &db,
            ],
            "--owner-email",
        ),
        (
            &["import", "--org", "org_1", notes, "--database-url", &db],
            ".json or .csv",
        ),
        (
            &[
                "import",
                "--org",
                "org_1",
                "missing.json",
                "--database-url",
                &db,
            ],
            "missing.json",
        ),
    ];
    for (args, says) in cases {
        let ran = run(roster(&dir.0), args).await;
        ran.assert_exit(2, &args.join(" "));
        assert!(
            ran.stderr.contains(says),
            "`roster {}` says {says:?}: {ran:?}",
            args.join(" ")
        );
        assert!(ran.stdout.is_empty(), "{ran:?}");
    }
    assert!(
        !dir.0.join("roster.db").exists(),
        "usage errors are found before the database is opened"
    );
}

async fn migrate_and_orgs_create_print_what_works_on_a_running_server(db: TestDb) {
    let dir = Folder::new("orgs");
    let url = db.url();
    for time in ["first", "second"] {
        let ran = run(roster(&dir.0), &["migrate", "--database-url", url]).await;
        ran.assert_exit(0, &format!("migrate, {time} time"));
        assert!(ran.stdout.contains("migrations applied"), "{ran:?}");
    }

    let port = free_port();
    let server = Running::serve(&dir.0, url, port, &[("ROSTER_PLATFORM_KEY", KEY)]);
    let base = format!("http://127.0.0.1:{port}");
    let mut command = roster(&dir.0);
    command.env("ROSTER_DATABASE_URL", url);
    let ran = run(
        command,
        &[
            "orgs",
            "create",
            "--name",
            "Acme Coaching",
            "--owner-email",
            "olive@acme.test",
            "--owner-name",
            "Olive Owner",
            "--seat-limit",
            "5",
            // Links are made for the server's address.
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
    )
    .await;
    ran.assert_exit(0, "orgs create");
    let (org, owner, link) = (
        ran.field("org_id"),
        ran.field("owner_user_id"),
        ran.field("sign_in_link"),
    );

    // The running server knows the organization and its Owner.
    let (status, body) = get(&base, &format!("/v1/orgs/{org}"), KEY).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            &body["name"],
            &body["seat_limit"],
            &body["owner"]["user_id"],
            &body["owner"]["email"]
        ),
        (
            &json!("Acme Coaching"),
            &json!(5),
            &json!(owner),
            &json!("olive@acme.test")
        )
    );
    let (status, member) = get(&base, &format!("/v1/orgs/{org}/members/{owner}"), KEY).await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(
        (&member["org_role"], &member["name"]),
        (&json!("owner"), &json!("Olive Owner"))
    );

    // The link signs the Owner in to the admin UI, once.
    assert!(
        link.starts_with(&format!("{base}/ui/sign-in/link?token=")),
        "{link}"
    );
    let mut browser = Browser::new(&base);
    let page = browser.sign_in(&link).await;
    assert_eq!(
        (page.status, page.path.as_str()),
        (StatusCode::OK, "/ui/users"),
        "{}",
        page.html
    );
    let shown = text(&page.html);
    assert!(
        shown.contains("Acme Coaching") && shown.contains("Olive Owner"),
        "{shown}"
    );
    let again = Browser::new(&base).sign_in(&link).await;
    assert_ne!(again.path, "/ui/users", "a link works once");
    drop(server);
}

async fn import_reads_json_and_csv_files_does_dry_runs_and_names_every_rejected_row(db: TestDb) {
    let dir = Folder::new("import");
    let url = db.url();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let cli = || {
        let mut command = roster(&dir.0);
        command.env("ROSTER_DATABASE_URL", url);
        command
    };
    let org = run(
        cli(),
        &[
            "orgs",
            "create",
            "--name",
            "Acme Coaching",
            "--owner-email",
            "owner@acme.test",
        ],
    )
    .await
    .assert_exit(0, "orgs create")
    .field("org_id");
    // A program to import into, made through the API of a server that
    // keeps running (and caching the organization) while the command line
    // imports.
    let _server = Running::serve(&dir.0, url, port, &[("ROSTER_PLATFORM_KEY", KEY)]);
    let owner = {
        let (_, body) = get(&base, &format!("/v1/orgs/{org}"), KEY).await;
        let owner = body["owner"]["user_id"].as_str().unwrap().to_owned();
        let (status, space) = api(
            &base,
            reqwest::Method::POST,
            &format!("/v1/orgs/{org}/spaces"),
            KEY,
            Some(&owner),
            Some(json!({"name": "Leadership"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{space}");
        owner
    };

    let people = dir.file(
        "people.json",
        &json!({"members": [
            {"email": "ada@acme.test", "name": "Ada Admin", "org_role": "admin"},
            {"email": "pat@acme.test", "name": "Pat Participant", "space_roles": [{"space_name": "Leadership", "role": "participant"}]},
        ]})
        .to_string(),
    );
    let people = people.to_str().unwrap();
    let ran = run(
        cli(),
        &[
            "import",
            "--org",
            &org,
            "--mode",
            "add",
            "--dry-run",
            people,
        ],
    )
    .await;
    ran.assert_exit(0, "a dry run");
    assert_eq!(
        ran.stdout.trim(),
        "Import would: 2 created, 0 invited, 0 unchanged"
    );
    let ran = run(cli(), &["import", "--org", &org, "--mode", "add", people]).await;
    ran.assert_exit(0, "the import");
    assert_eq!(
        ran.stdout.trim(),
        "Import did: 2 created, 0 invited, 0 unchanged"
    );

    // CSV by its extension; invite is the default mode.
    let more = dir.file(
        "more.CSV",
        "email,name,org_role,duration,space,space_role\n\
         cai@acme.test,Cai Coach,,,Leadership,facilitator\n\
         ada@acme.test,,admin,,,\n",
    );
    let ran = run(cli(), &["import", "--org", &org, more.to_str().unwrap()]).await;
    ran.assert_exit(0, "a CSV import");
    assert_eq!(
        ran.stdout.trim(),
        "Import did: 0 created, 1 invited, 1 unchanged\n  unchanged: ada@acme.test"
    );

    // One failing row: nothing applied, every failing row on stderr.
    let bad = dir.file(
        "bad.csv",
        "email,name,org_role,duration,space,space_role\n\
         fine@acme.test,,admin,,,\n\
         not-an-email,,admin,,,\n\
         lost@acme.test,,,,Nowhere,participant\n",
    );
    for mode in ["add", "invite"] {
        let ran = run(
            cli(),
            &[
                "import",
                "--org",
                &org,
                "--mode",
                mode,
                bad.to_str().unwrap(),
            ],
        )
        .await;
        ran.assert_exit(1, "an import with failing rows");
        assert!(ran.stdout.is_empty(), "{ran:?}");
        assert!(
            ran.stderr.contains("import refused (validation_failed)"),
            "{ran:?}"
        );
        let rows: Vec<&str> = ran
            .stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("row "))
            .map(str::trim)
            .collect();
        assert_eq!(rows.len(), 2, "{ran:?}");
        assert!(
            rows[0].starts_with("row 2: not-an-email validation_failed"),
            "{rows:?}"
        );
        assert!(
            rows[1].starts_with("row 3: lost@acme.test not_found"),
            "{rows:?}"
        );
    }
    let ran = run(cli(), &["import", "--org", "org_missing", people]).await;
    ran.assert_exit(1, "an unknown organization");
    assert!(ran.stderr.contains("not_found"), "{ran:?}");

    // What the imports did, as the running server sees it at once.
    let (_, listed) = get(&base, &format!("/v1/orgs/{org}/members?limit=500"), KEY).await;
    let members: BTreeMap<String, (Value, Value, Value)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_owned(),
                (
                    m["name"].clone(),
                    m["org_role"].clone(),
                    m["space_roles"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["role"].clone())
                        .collect(),
                ),
            )
        })
        .collect();
    assert_eq!(
        members.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["ada@acme.test", "owner@acme.test", "pat@acme.test"],
        "the dry run and the refused imports added nobody"
    );
    assert_eq!(
        members["ada@acme.test"],
        (json!("Ada Admin"), json!("admin"), json!([]))
    );
    assert_eq!(
        members["pat@acme.test"],
        (
            json!("Pat Participant"),
            Value::Null,
            json!(["participant"])
        )
    );
    // Decisions follow at once too: the imported Admin may see the
    // members, as the Owner always could.
    let ada = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "ada@acme.test")
        .map(|m| m["user_id"].clone())
        .unwrap();
    for subject in [ada, json!(owner)] {
        let (status, decision) = api(
            &base,
            reqwest::Method::POST,
            "/access/v1/evaluation",
            KEY,
            None,
            Some(json!({"subject": {"type": "user", "id": subject}, "action": {"name": "members.view"}, "resource": {"type": "organization", "id": org}})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{decision}");
        assert_eq!(decision["decision"], true, "{subject}: {decision}");
    }
    let (_, invitations) = get(&base, &format!("/v1/orgs/{org}/invitations"), KEY).await;
    let invited: Vec<(&str, &str)> = invitations["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["email"].as_str().unwrap(), i["role"].as_str().unwrap()))
        .collect();
    assert_eq!(invited, vec![("cai@acme.test", "facilitator")]);
    let (_, audit) = get(
        &base,
        &format!("/v1/orgs/{org}/audit?action=members.imported"),
        KEY,
    )
    .await;
    let imported: BTreeSet<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["mode"].as_str().unwrap())
        .collect();
    assert_eq!(imported, BTreeSet::from(["add", "invite"]));
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
}

async fn a_rotated_platform_key_is_refused_by_a_running_server_and_the_new_one_accepted(
    db: TestDb,
) {
    let dir = Folder::new("rotate");
    let url = db.url();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // No ROSTER_PLATFORM_KEY: the server makes a key and prints it once.
    let mut server = Running::serve(&dir.0, url, port, &[]);
    let printed = server.line(|l| l.starts_with("Platform key"), "the key");
    let old = printed
        .split_whitespace()
        .find(|w| w.starts_with("rpk_"))
        .unwrap_or_else(|| panic!("the generated key is printed: {printed}"))
        .to_owned();
    let platform_only = "/v1/platform/implementation-admins?duration=forever";
    assert_eq!(get(&base, platform_only, &old).await.0, StatusCode::OK);

    let mut command = roster(&dir.0);
    command.env("ROSTER_DATABASE_URL", url);
    let ran = run(command, &["platform-key", "rotate"]).await;
    ran.assert_exit(0, "platform-key rotate");
    let new = ran.stdout.trim().lines().last().unwrap().trim().to_owned();
    assert!(new.starts_with("rpk_") && new != old, "{ran:?}");
    assert_eq!(ran.stdout.matches(&new).count(), 1, "printed once: {ran:?}");

    // At once: the running server refuses the old key and takes the new one.
    assert_eq!(
        get(&base, platform_only, &old).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&base, platform_only, &new).await.0, StatusCode::OK);
    // The new key creates an organization; the old one cannot.
    let create = |key: String| {
        let base = base.clone();
        async move {
            api(
                &base,
                reqwest::Method::POST,
                "/v1/orgs",
                &key,
                None,
                Some(json!({"name": "Acme", "owner_email": "o@acme.test"})),
            )
            .await
            .0
        }
    };
    assert_eq!(create(old.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(create(new.clone()).await, StatusCode::CREATED);

    // While ROSTER_PLATFORM_KEY (or its flag) sets the key, rotate refuses.
    for how in ["variable", "flag"] {
        let mut command = roster(&dir.0);
        command.env("ROSTER_DATABASE_URL", url);
        let ran = if how == "variable" {
            command.env("ROSTER_PLATFORM_KEY", "configured-key");
            run(command, &["platform-key", "rotate"]).await
        } else {
            run(
                command,
                &["platform-key", "rotate", "--platform-key", "configured-key"],
            )
            .await
        };
        ran.assert_exit(1, &format!("rotate with the key set by {how}"));
        assert!(ran.stderr.contains("ROSTER_PLATFORM_KEY"), "{ran:?}");
        assert!(!ran.stdout.contains("rpk_"), "{ran:?}");
    }
    assert_eq!(
        get(&base, platform_only, &new).await.0,
        StatusCode::OK,
        "a refused rotation changes nothing"
    );

    // A restarted server keeps the rotated key and prints no key.
    drop(server);
    server = Running::serve(&dir.0, url, port, &[]);
    let printed = server.line(|l| l.starts_with("Platform key"), "the key line");
    assert!(
        printed.contains("rotate") && !printed.contains("rpk_"),
        "{printed}"
    );
    assert_eq!(get(&base, platform_only, &new).await.0, StatusCode::OK);
    assert_eq!(
        get(&base, platform_only, &old).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// What each of the seven roles should find behind its link (SPEC §4, §14):
/// the page `/ui` leads to, the Admin Area's sections, and the programs
/// with the view they have of each.
struct Seat {
    role: &'static str,
    lands_on: &'static str,
    sections: &'static [&'static str],
    programs: &'static [(&'static str, &'static str)],
}

const ADMIN_AREA: &[&str] = &[
    "Users",
    "Invitations",
    "Programs",
    "Brand & Settings",
    "Integrations",
    "Audit log",
];

const SEATS: [Seat; 7] = [
    Seat {
        role: "owner",
        lands_on: "/ui/users",
        sections: ADMIN_AREA,
        programs: &[],
    },
    Seat {
        role: "admin",
        lands_on: "/ui/users",
        sections: ADMIN_AREA,
        programs: &[],
    },
    Seat {
        role: "implementation_admin",
        lands_on: "/ui/users",
        sections: ADMIN_AREA,
        programs: &[],
    },
    Seat {
        role: "program_admin",
        lands_on: "/ui/spaces",
        sections: &["Programs"],
        programs: &[("Leadership Accelerator", "Admin")],
    },
    Seat {
        role: "facilitator",
        lands_on: "/ui/spaces",
        sections: &["Programs"],
        programs: &[
            ("Leadership Accelerator", "Facilitator"),
            ("New Manager Foundations", "Facilitator"),
        ],
    },
    Seat {
        role: "participant",
        lands_on: "/ui/spaces",
        sections: &["Programs"],
        programs: &[
            ("Leadership Accelerator", "Participant"),
            ("New Manager Foundations", "Participant"),
        ],
    },
    Seat {
        role: "sponsor",
        lands_on: "/ui/spaces",
        sections: &["Programs"],
        programs: &[("Executive Coaching Circle", "Sponsor")],
    },
];

/// The programs table of `/ui/spaces`: (program, view).
fn programs(html: &str) -> Vec<(String, String)> {
    between(html, "<tbody>", "</tbody>")
        .split("<tr>")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td>")
                .skip(1)
                .map(|cell| text(cell.split("</td>").next().unwrap()))
                .collect();
            (cells[0].clone(), cells[1].clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_a_link_per_role_and_each_signs_in_to_what_that_role_should_see() {
    let dir = Folder::new("demo");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut command = roster(&dir.0);
    command.env("ROSTER_LISTEN", format!("127.0.0.1:{port}"));
    let mut demo = Running::start(command, &["demo"]);

    // Seven lines, one per role, each with the role's name and its URL.
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    while links.len() < 7 {
        let line = demo.line(|l| l.contains("/ui/sign-in/link?token="), "a role's link");
        let (role, url) = line.trim().split_once("): ").expect("`Label (role): URL`");
        let (label, role) = role.split_once(" (").unwrap();
        assert!(!label.is_empty(), "{line}");
        assert!(
            url.starts_with(&format!("{base}/ui/sign-in/link?token=")),
            "{line}"
        );
        links.insert(role.to_owned(), url.to_owned());
    }
    let roles: BTreeSet<&str> = links.keys().map(String::as_str).collect();
    assert_eq!(roles, SEATS.iter().map(|s| s.role).collect());
    let printed = demo.stdout.join("\n");
    // A fresh SQLite file in a temporary folder.
    let database = format!("database sqlite://{}/roster-demo-", dir.0.display());
    assert!(printed.contains(&database), "{printed}");
    let key = printed
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ROSTER_KEY="))
        .expect("the platform key is printed")
        .to_owned();
    let org = printed
        .split(['(', ')'])
        .find(|w| w.starts_with("org_"))
        .expect("the organization's id")
        .to_owned();

    for seat in &SEATS {
        let mut browser = Browser::new(&base);
        let page = browser.sign_in(&links[seat.role]).await;
        let what = format!("{}: {}", seat.role, text(&page.html));
        assert_eq!(
            (page.status, page.path.as_str()),
            (StatusCode::OK, seat.lands_on),
            "{what}"
        );
        assert_eq!(navigation(&page.html), seat.sections, "{what}");
        if seat.lands_on == "/ui/spaces" {
            let expected: Vec<(String, String)> = seat
                .programs
                .iter()
                .map(|(p, v)| ((*p).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(programs(&page.html), expected, "{what}");
            // The people pages are not theirs.
            let users = browser.get("/ui/users").await;
            assert_eq!(users.status, StatusCode::FORBIDDEN, "{}", seat.role);
        } else {
            // Only an Owner may bring in another Owner.
            let invite = browser.get("/ui/users?modal=invite").await;
            assert_eq!(invite.status, StatusCode::OK);
            let offered = options(&invite.html, "invite-role");
            assert_eq!(
                offered.iter().any(|r| r == "owner"),
                seat.role == "owner",
                "{}: {offered:?}",
                seat.role
            );
            assert!(offered.iter().any(|r| r == "admin"), "{offered:?}");
        }
        // Each link works once.
        let again = Browser::new(&base).sign_in(&links[seat.role]).await;
        assert_ne!(again.path, seat.lands_on, "{}: a second use", seat.role);
    }

    // The organization behind it: three programs, people in every role, an
    // Implementation Admin whose access ends in two days, an invitation.
    let (status, spaces) = get(&base, &format!("/v1/orgs/{org}/spaces"), &key).await;
    assert_eq!(status, StatusCode::OK, "{spaces}");
    assert_eq!(spaces["items"].as_array().unwrap().len(), 3);
    let (_, members) = get(&base, &format!("/v1/orgs/{org}/members?limit=500"), &key).await;
    let members = members["items"].as_array().unwrap();
    let ia = members
        .iter()
        .find(|m| m["org_role"] == "implementation_admin")
        .expect("an Implementation Admin");
    let ends: chrono::DateTime<chrono::Utc> = ia["implementation_admin"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let hours = (ends - chrono::Utc::now()).num_hours();
    assert!(
        (46..=48).contains(&hours),
        "ends in two days: {ends} (in {hours} hours)"
    );
    let (_, pending) = get(
        &base,
        &format!("/v1/orgs/{org}/invitations?status=pending"),
        &key,
    )
    .await;
    assert!(!pending["items"].as_array().unwrap().is_empty());
    drop(demo);
}
