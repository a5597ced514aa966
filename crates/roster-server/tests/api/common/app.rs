//! Starting the server: on a `roster_testkit` database of its own, with the
//! dev clock on and the background jobs left to `/v1/dev/sweep`.

use std::sync::Arc;

use roster_server::{AppState, Config};
use roster_testkit::{Backend, TestDb};
use tokio::sync::oneshot;

use super::smtp::SmtpReceiver;

/// The platform key every test server is configured with.
pub const KEY: &str = "test-platform-key";

/// A running server and what the tests need to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    /// The server's own state: its store, to read the outbox directly.
    pub state: AppState,
    pub smtp: Option<SmtpReceiver>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// Shared with replicas; the database goes when the last one does.
    db: Arc<TestDb>,
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

/// The server on `db`.
pub async fn spawn(db: TestDb) -> TestApp {
    spawn_with(db, |_| {}).await
}

/// The server on `db`, its configuration adjusted first.
pub async fn spawn_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = config(db.url());
    adjust(&mut config);
    start(Arc::new(db), config, None).await
}

/// The server with a real SMTP receiver as its relay.
pub async fn spawn_with_smtp(db: TestDb) -> TestApp {
    let smtp = SmtpReceiver::start().await;
    let mut config = config(db.url());
    config.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    start(Arc::new(db), config, Some(smtp)).await
}

/// A fresh SQLite database, for tests that are about the HTTP contract
/// rather than about a database.
pub async fn sqlite() -> TestDb {
    TestDb::new(Backend::Sqlite)
        .await
        .expect("SQLite is always available")
}

async fn start(db: Arc<TestDb>, mut config: Config, smtp: Option<SmtpReceiver>) -> TestApp {
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

impl TestApp {
    /// A second server on the same database (another replica), configured
    /// like this one (the same SMTP receiver too).
    pub async fn replica(&self) -> TestApp {
        let config = self.state.config.clone();
        start(self.db.clone(), config, self.smtp.clone()).await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}
