//! Roster's persistence: one async API over SQLite (the embedded default)
//! and PostgreSQL (for several replicas). Every write runs the core's rules
//! against a fresh snapshot under a per-organization lock and persists the
//! resulting effects, audit entries and outbox emails in one transaction.

mod audit;
mod batch;
mod cache;
mod events;
mod files;
mod gates;
mod load;
mod outbox;
mod plan;
mod records;
mod schema;
mod time;
mod webhooks;
mod write;

use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;

pub use audit::{AuditEntry, AuditFilter, ChainCheck};
pub use cache::CacheStats;
pub use events::{rfc3339, Event, EventActor, EventData, FeedItem, FeedQuery};
pub use outbox::{EmailDraft, OutboxMessage};
pub use plan::{
    AccountRequest, AuditActor, AuditDraft, Found, Lookups, Planned, Row, WriteContext,
};
pub use records::{ForeverAssignment, OrgRecord, SignInLinkRecord, TokenRecord, UserRecord};
pub use schema::SCHEMA_VERSION;
pub use time::{from_ms, to_ms};
pub use webhooks::{Attempt, Delivery, DEAD, DELIVERED, PENDING};
pub use write::{WriteError, Written};

/// Set on every SQLite connection (WAL is the database's own setting, set
/// once by [`Store::connect`]).
const SQLITE_PRAGMAS: [&str; 3] = [
    "PRAGMA busy_timeout = 10000",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("unsupported database url: {0}")]
    UnsupportedUrl(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// `at_least` named a revision the organization has not reached.
    #[error("revision {wanted} is not available (the organization is at {latest})")]
    RevisionNotAvailable { wanted: i64, latest: i64 },
    /// A change allowed in one organization was handed to another's write:
    /// a programming error, never a client's.
    #[error("a change allowed in another organization")]
    GrantMismatch,
    /// The connection that hears other replicas' writes dropped.
    #[error("the change listener's connection dropped")]
    ListenerLost,
}

/// The database, plus the cache of decision snapshots.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where snapshots are loaded from: the same database through its own
    /// driver, a few connections of its own.
    loads: load::Loads,
    backend: Backend,
    url: String,
    /// SQLite has one writer: writes in this process queue here instead of
    /// failing with SQLITE_BUSY.
    write_gate: Arc<tokio::sync::Mutex<()>>,
    cache: Arc<cache::SnapshotCache>,
    /// Woken after a commit that queued email, so delivery need not wait
    /// for the next job interval.
    outbox_queued: Arc<tokio::sync::Notify>,
    /// Woken after a commit that wrote events (the sequencer places them).
    events_written: Arc<tokio::sync::Notify>,
    /// Woken after a commit that queued webhook deliveries.
    deliveries_queued: Arc<tokio::sync::Notify>,
    /// On PostgreSQL, counts changes of the installation's settings (the
    /// platform key) that other replicas announced.
    settings_changes: Arc<std::sync::atomic::AtomicU64>,
    /// The SQLite database's files, to notice another process's writes.
    sqlite_files: Option<Arc<files::DatabaseFiles>>,
    /// Organizations being loaded, each behind its own lock.
    loading: Arc<gates::Gates>,
    /// PostgreSQL: this process's writers of one organization take turns
    /// here before they take its row lock, so the next one finds the
    /// snapshot the last one cached instead of loading it again.
    writing: Arc<gates::Gates>,
}

impl Store {
    /// Connects to `sqlite://path` (created if missing, WAL) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let mut sqlite_files = None;
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            sqlite_files = Some(Arc::new(files::DatabaseFiles::new(path)));
            (Backend::Sqlite, format!("sqlite://{path}?mode=rwc"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in SQLITE_PRAGMAS {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        let loads = load::Loads::open(backend, &url)?;
        Ok(Store {
            pool,
            loads,
            backend,
            url,
            write_gate: Arc::new(tokio::sync::Mutex::new(())),
            cache: Arc::new(cache::SnapshotCache::default()),
            outbox_queued: Arc::new(tokio::sync::Notify::new()),
            events_written: Arc::new(tokio::sync::Notify::new()),
            deliveries_queued: Arc::new(tokio::sync::Notify::new()),
            settings_changes: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            sqlite_files,
            loading: Arc::default(),
            writing: Arc::default(),
        })
    }

    /// Holds at most `bytes` of decision snapshots (least recently used
    /// go first); unbounded until this is called.
    pub fn set_cache_budget(&self, bytes: u64) {
        self.cache.set_budget(bytes);
    }

    /// Hits, misses, loads and evictions of the snapshot cache, and what it
    /// holds now.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Resolves after a commit that queued email (in this process).
    pub async fn email_queued(&self) {
        self.outbox_queued.notified().await;
    }

    pub(crate) fn announce_email(&self) {
        self.outbox_queued.notify_one();
    }

    /// Resolves after a commit that queued webhook deliveries (in this process).
    pub async fn delivery_queued(&self) {
        self.deliveries_queued.notified().await;
    }

    pub(crate) fn announce_delivery(&self) {
        self.deliveries_queued.notify_one();
    }

    /// A number that changes whenever the installation's settings (the
    /// platform key) may have changed in another process: on PostgreSQL the
    /// count of announcements (and reconnections), on SQLite the size and
    /// time of the database's files (one `fstat`, no query).
    pub fn settings_generation(&self) -> u64 {
        match &self.sqlite_files {
            Some(files) => files.generation(),
            None => self
                .settings_changes
                .load(std::sync::atomic::Ordering::Acquire),
        }
    }

    /// SQLite: a number that changes whenever the database's files do
    /// (this process's writes or another's); `None` on PostgreSQL.
    pub fn file_generation(&self) -> Option<u64> {
        self.sqlite_files
            .is_some()
            .then(|| self.settings_generation())
    }

    /// Replaces the platform key's hash, at once for every replica.
    pub async fn set_platform_key_hash(&self, key: &str, hash: &str) -> Result<(), StoreError> {
        self.set_meta(key, hash).await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify('roster_settings', '')")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub(crate) fn announce_events(&self) {
        self.events_written.notify_one();
    }

    /// Places committed events in the platform feed: at once after a write
    /// of this process, and every quarter second for writes of replicas
    /// that stopped before placing theirs (so within a second of commit).
    pub fn spawn_sequencer(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = store.events_written.notified() => {}
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                }
                if let Err(e) = store.sequence_events().await {
                    tracing::warn!(error = %e, "could not place events in the platform feed");
                }
            }
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.loads.close().await;
    }
}

impl Store {
    /// On PostgreSQL, follows other replicas' writes (LISTEN/NOTIFY) and
    /// drops stale snapshots, so a revocation on one replica is honoured by
    /// all. If the connection drops, every snapshot is dropped before
    /// listening again, since notifications may have been missed.
    pub fn spawn_change_listener(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let store = self.clone();
        Some(tokio::spawn(async move {
            loop {
                if let Err(e) = store.listen_once().await {
                    tracing::warn!(error = %e, "change listener lost its connection");
                }
                store.evict_all();
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }))
    }

    fn settings_changed(&self) {
        self.settings_changes
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    async fn listen_once(&self) -> Result<(), StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
        listener
            .listen_all(["roster_orgs", "roster_settings"])
            .await?;
        // Anything written before we listened may be cached stale.
        self.evict_all();
        self.settings_changed();
        loop {
            // `try_recv` answers `None` when the connection dropped: what was
            // announced meanwhile is lost, so start again (listen, then
            // forget every snapshot) rather than reconnect silently.
            let Some(note) = listener.try_recv().await? else {
                return Err(StoreError::ListenerLost);
            };
            if note.channel() == "roster_settings" {
                self.settings_changed();
                continue;
            }
            let payload = note.payload();
            if let Some((org_id, revision)) = payload.rsplit_once(':') {
                self.evict(org_id, revision.parse().ok());
            }
        }
    }
}
