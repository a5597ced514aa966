//! A database of its own for each test, on either backend, removed
//! afterwards (also when the test fails): shared by the store's and the
//! server's suites so that both run every test on SQLite and PostgreSQL the
//! same way.
//!
//! PostgreSQL runs need `ROSTER_TEST_POSTGRES_URL`, a server where the user
//! may create databases (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it they are skipped, saying so. With `ROSTER_REQUIRE_POSTGRES=1`
//! a missing URL fails the test instead, so CI cannot skip them silently.
//!
//! ```text
//! roster_testkit::on_both_backends!(a_write_lands);
//!
//! async fn a_write_lands(db: TestDb) {
//!     let store = roster_store::Store::connect(db.url()).await.unwrap();
//!     // …
//! }
//! ```

// Test support: when a test database cannot be made or reached, the test
// cannot run, and failing loudly with the reason is the point.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// The variable naming the PostgreSQL server the tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "ROSTER_TEST_POSTGRES_URL";
/// Set to `1` to make a missing [`POSTGRES_URL_VAR`] a failure, not a skip.
pub const REQUIRE_POSTGRES_VAR: &str = "ROSTER_REQUIRE_POSTGRES";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's database: a SQLite file in a temporary directory, or a
/// PostgreSQL database of its own. Dropping it removes the directory or
/// drops the database (terminating whatever is still connected).
#[derive(Debug)]
pub struct TestDb {
    url: String,
    backend: Backend,
    name: String,
    /// Set when this value created the database, and so must drop it.
    admin_url: Option<String>,
    dir: Option<PathBuf>,
}

impl TestDb {
    /// A fresh, empty database; `None` (after saying so) when `backend` is
    /// PostgreSQL and no server is configured.
    ///
    /// # Panics
    /// When the database cannot be created, or PostgreSQL is required but
    /// not configured.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let name = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir)
                    .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
                Some(TestDb {
                    url: format!("sqlite://{}", dir.join("roster.db").display()),
                    backend,
                    name,
                    admin_url: None,
                    dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let admin_url = postgres_server()?;
                admin_sql(&admin_url, &format!("CREATE DATABASE {name}")).await;
                Some(TestDb {
                    url: sibling_database(&admin_url, &name),
                    backend,
                    name,
                    admin_url: Some(admin_url),
                    dir: None,
                })
            }
        }
    }

    /// What `Store::connect` takes: `sqlite://…` or `postgres://…`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Direct SQL on the database, bypassing the code under test (to look
    /// at rows, tamper with them, or hold a lock).
    pub async fn raw(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        let url = match self.backend {
            Backend::Sqlite => format!("{}?mode=rwc", self.url),
            Backend::Postgres => self.url.clone(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connect to the test database {url}: {e}"));
        if self.backend == Backend::Sqlite {
            pool.execute("PRAGMA busy_timeout = 10000")
                .await
                .expect("set busy_timeout");
        }
        pool
    }
}

/// The configured server, or `None` after saying that the run is skipped.
fn postgres_server() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var(REQUIRE_POSTGRES_VAR).as_deref() == Ok("1") => panic!(
            "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set: the PostgreSQL runs may not be skipped"
        ),
        _ => {
            println!(
                "skipped: {POSTGRES_URL_VAR} is not set, so the PostgreSQL run did not happen"
            );
            None
        }
    }
}

/// The URL of database `name` on the server of `admin_url`, keeping its
/// credentials and parameters.
fn sibling_database(admin_url: &str, name: &str) -> String {
    let (path, query) = match admin_url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (admin_url, None),
    };
    let server = path.rsplit_once('/').map_or(path, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

async fn admin_sql(admin_url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {POSTGRES_URL_VAR}: {e}"));
    pool.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(admin_url) = self.admin_url.take() {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            // A runtime of its own: a test's runtime may be gone, or be the
            // one this thread is blocked in.
            let _ = std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(admin_sql(&admin_url, &sql));
                }
            })
            .join();
        }
    }
}

/// Declares each named test twice, in modules `sqlite` and `postgres`:
/// each calls the function of that name in the invoking module with a
/// fresh [`TestDb`] of its backend (dropped when the test ends). The
/// PostgreSQL one does nothing, having said so, when it is skipped.
///
/// ```text
/// on_both_backends!(ten_concurrent_writes_all_land);
///
/// async fn ten_concurrent_writes_all_land(db: TestDb) { /* … */ }
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $($crate::backend_test!($crate::Backend::Sqlite, $name);)*
        }
        mod postgres {
            $($crate::backend_test!($crate::Backend::Postgres, $name);)*
        }
    };
}

/// Like [`on_both_backends!`] for behaviour only PostgreSQL has (several
/// replicas, row locks, LISTEN/NOTIFY): one module, `postgres_only`.
#[macro_export]
macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {
        mod postgres_only {
            $($crate::backend_test!($crate::Backend::Postgres, $name);)*
        }
    };
}

/// One test on one backend (the expansion of the macros above). Test
/// crates need `tokio` with its `macros` feature; tests run on two worker
/// threads, so concurrent writes really overlap.
#[doc(hidden)]
#[macro_export]
macro_rules! backend_test {
    ($backend:expr, $name:ident) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if let Some(db) = $crate::TestDb::new($backend).await {
                super::$name(db).await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::sibling_database;

    #[test]
    fn a_test_database_lives_on_the_configured_server_with_its_parameters() {
        assert_eq!(
            sibling_database("postgres://postgres@127.0.0.1:5432/test", "roster_test_1"),
            "postgres://postgres@127.0.0.1:5432/roster_test_1"
        );
        assert_eq!(
            sibling_database("postgres://u:p@db/test?sslmode=disable", "roster_test_1"),
            "postgres://u:p@db/roster_test_1?sslmode=disable"
        );
    }
}
