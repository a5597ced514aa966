//! The test harness: the real server on a random loopback port, on a fresh
//! SQLite file or a fresh PostgreSQL database, with a real HTTP client and,
//! when asked, a real SMTP receiver.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod smtp;

use reqwest::{Method, StatusCode};
use roster_server::{AppState, Config};
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub use smtp::SmtpReceiver;

pub const KEY: &str = "test-platform-key";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test, dropped afterwards.
pub struct TestDb {
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempdir::TempDir>,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let name = format!("roster_t_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("roster.db").display());
                Some(TestDb {
                    url,
                    admin_url: None,
                    name,
                    _dir: Some(tempdir::TempDir(dir)),
                })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("ROSTER_TEST_POSTGRES_URL") else {
                    println!("skipped: ROSTER_TEST_POSTGRES_URL is not set, so the PostgreSQL run of this test did not happen");
                    return None;
                };
                psql(&admin_url, &format!("CREATE DATABASE {name}")).await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    admin_url: Some(admin_url),
                    name,
                    _dir: None,
                })
            }
        }
    }
}

async fn psql(admin_url: &str, sql: &str) {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(admin_url)
        .await
        .expect("connect to ROSTER_TEST_POSTGRES_URL");
    pool.execute(sql).await.expect(sql);
    pool.close().await;
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(admin) = self.admin_url.take() {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            // A runtime of its own: drop may run inside or outside one.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(psql(&admin, &sql));
                }
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub smtp: Option<SmtpReceiver>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pub db: TestDb,
}

pub fn config(db_url: &str) -> Config {
    Config::from_lookup(|k| match k {
        "ROSTER_LISTEN" => Some("127.0.0.1:0".into()),
        "ROSTER_DATABASE_URL" => Some(db_url.into()),
        "ROSTER_PLATFORM_KEY" => Some(KEY.into()),
        "ROSTER_DEV_CLOCK" => Some("1".into()),
        // Tests run the jobs through /v1/dev/sweep.
        "ROSTER_JOB_INTERVAL_MS" => Some("3600000".into()),
        _ => None,
    })
    .unwrap()
}

/// The server on a fresh database; `None` (after saying so) when the
/// backend is not available.
pub async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let db = TestDb::new(backend).await?;
    let mut config = config(&db.url);
    adjust(&mut config);
    Some(start(db, config, None).await)
}

/// The server with a real SMTP receiver as its relay.
pub async fn spawn_with_smtp(backend: Backend) -> Option<TestApp> {
    let db = TestDb::new(backend).await?;
    let smtp = SmtpReceiver::start().await;
    let mut config = config(&db.url);
    config.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    Some(start(db, config, Some(smtp)).await)
}

async fn start(db: TestDb, mut config: Config, smtp: Option<SmtpReceiver>) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    config.public_url = base.clone();
    let (state, _) = roster_server::prepare(config).await.unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let app = state.clone();
    let server = tokio::spawn(async move {
        roster_server::serve(app, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        base,
        client: reqwest::Client::new(),
        state,
        smtp,
        shutdown: Some(tx),
        server: Some(server),
        db,
    }
}

/// What a call answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// A request with the platform key, acting as `actor` when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        actor: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(actor) = actor {
            req = req.header("X-Roster-Actor", actor);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.unwrap()).await
    }

    /// A request with a user token.
    pub async fn call_with_token(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, actor: Option<&str>) -> Answer {
        self.call(Method::GET, path, actor, None).await
    }
    pub async fn post(&self, path: &str, actor: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, actor, Some(body)).await
    }
    pub async fn put(&self, path: &str, actor: Option<&str>, body: Value) -> Answer {
        self.call(Method::PUT, path, actor, Some(body)).await
    }
    pub async fn patch(&self, path: &str, actor: Option<&str>, body: Value) -> Answer {
        self.call(Method::PATCH, path, actor, Some(body)).await
    }
    pub async fn delete(&self, path: &str, actor: Option<&str>) -> Answer {
        self.call(Method::DELETE, path, actor, None).await
    }

    /// A new organization; answers (org id, owner user id).
    pub async fn create_org(
        &self,
        name: &str,
        owner_email: &str,
        seat_limit: Option<u32>,
    ) -> (String, String) {
        let a = self
            .post(
                "/v1/orgs",
                None,
                json!({"name": name, "owner_email": owner_email, "seat_limit": seat_limit}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        (
            a.body["id"].as_str().unwrap().to_owned(),
            a.body["owner"]["user_id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn create_space(&self, org: &str, actor: &str, name: &str) -> String {
        let a = self
            .post(
                &format!("/v1/orgs/{org}/spaces"),
                Some(actor),
                json!({"name": name}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        a.body["id"].as_str().unwrap().to_owned()
    }

    /// The token in the newest invitation email to `email` (from the outbox).
    pub async fn invitation_token(&self, email: &str) -> String {
        let messages = self.state.store.outbox(Some(email), 10).await.unwrap();
        let m = messages
            .iter()
            .find(|m| m.template == "invitation")
            .expect("an invitation email");
        m.body_text
            .split("token=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }

    /// Invites `email` as `role` (into `spaces`) as `actor`, accepts, and
    /// answers the new member's user id.
    pub async fn add_member(
        &self,
        org: &str,
        actor: &str,
        email: &str,
        role: &str,
        spaces: &[&str],
        duration: Option<&str>,
    ) -> String {
        let a = self
            .post(
                &format!("/v1/orgs/{org}/invitations"),
                Some(actor),
                json!({"emails": [email], "role": role, "space_ids": spaces, "duration": duration}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        let token = self.invitation_token(email).await;
        let a = self
            .post("/v1/invitations/accept", None, json!({"token": token}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.body["user_id"].as_str().unwrap().to_owned()
    }

    pub async fn decide(&self, org: &str, user: &str, action: &str, resource: Value) -> bool {
        let mut resource = resource;
        resource["properties"]["org_id"] = json!(org);
        let a = self
            .post("/access/v1/evaluation", None, json!({"subject": {"type": "user", "id": user}, "action": {"name": action}, "resource": resource}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.body["decision"].as_bool().unwrap()
    }

    pub async fn advance(&self, seconds: i64) {
        let a = self
            .post("/v1/dev/clock", None, json!({"advance_seconds": seconds}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }

    pub async fn sweep(&self) -> Value {
        let a = self.post("/v1/dev/sweep", None, json!({})).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.body
    }

    pub async fn audit(&self, org: &str) -> Vec<Value> {
        let a = self
            .get(&format!("/v1/orgs/{org}/audit?limit=500"), None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.body["items"].as_array().unwrap().clone()
    }
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        body,
        headers,
    }
}

/// Runs each test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $app = common::spawn(common::Backend::Sqlite).await.unwrap();
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some($app) = common::spawn(common::Backend::Postgres).await else { return };
                    $body
                }
            )*
        }
    };
}

/// A second server on the same database (another replica).
pub async fn start_replica(first: &TestApp, config: Config) -> TestApp {
    let db = TestDb {
        url: first.db.url.clone(),
        admin_url: None,
        name: first.db.name.clone(),
        _dir: None,
    };
    start(db, config, first.smtp.clone()).await
}
