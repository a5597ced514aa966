//! Roster's server: the HTTP API of API.md, background jobs and mail
//! delivery. Handlers translate HTTP to `roster_core` calls and back; every
//! permission is decided there.

pub mod auth;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod lifecycle;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod secrets;
pub mod state;
pub mod ui;
pub mod views;

use std::future::Future;

use roster_store::Store;
use tokio::net::TcpListener;

pub use config::Config;
pub use state::AppState;

const PLATFORM_KEY_HASH: &str = "platform_key_hash";

/// How the platform key was set up on this start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformKey {
    /// From `ROSTER_PLATFORM_KEY`.
    Configured,
    /// Generated now: shown this once.
    Generated(String),
    /// Generated on an earlier start; only its hash is kept.
    Stored,
}

/// Connects, migrates and sets up the platform key.
pub async fn prepare(config: Config) -> Result<(AppState, PlatformKey), String> {
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open {}: {e}", config.database_url))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    roster_core::DomainAllowlist::parse_all(config.default_ia_domains.iter().map(String::as_str))
        .map_err(|(entry, e)| format!("ROSTER_DEFAULT_IA_DOMAINS: {entry}: {e}"))?;
    if let Some(url) = &config.smtp_url {
        delivery::transport(url)?;
    }
    let (hash, key) = match &config.platform_key {
        Some(key) => (secrets::hash(key), PlatformKey::Configured),
        None => {
            let fresh = format!("rpk_{}", secrets::random_secret());
            let created = store
                .init_meta(PLATFORM_KEY_HASH, &secrets::hash(&fresh))
                .await
                .map_err(|e| e.to_string())?;
            let stored = store
                .meta(PLATFORM_KEY_HASH)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the platform key hash vanished")?;
            (
                stored,
                if created {
                    PlatformKey::Generated(fresh)
                } else {
                    PlatformKey::Stored
                },
            )
        }
    };
    let app = AppState::new(store, config, hash);
    app.clock
        .refresh(&app.store)
        .await
        .map_err(|e| e.to_string())?;
    Ok((app, key))
}

/// Serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    app: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let jobs = tokio::spawn(jobs::run_forever(app.clone(), jobs_stopped));
    let listener_task = app.store.spawn_change_listener();
    let router = routes::router(app.clone());
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_jobs.send(true);
    let _ = jobs.await;
    if let Some(task) = listener_task {
        task.abort();
    }
    app.store.close().await;
    result
}
