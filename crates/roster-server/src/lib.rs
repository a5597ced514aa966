//! Roster's server: the HTTP API of API.md, the admin UI, background jobs
//! and mail delivery. Every change goes one way (see [`app`]): an edge
//! (`http`, `ui`, `jobs`) parses, an app use case runs a core rule under
//! the organization's lock, [`effects`] turns its outcomes into audit
//! entries, events and emails, and the store persists it all at once.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod effects;
pub mod error;
pub mod extract;
pub mod http;
pub mod jobs;
mod json;
pub mod json_text;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod middleware;
pub mod secrets;
pub mod state;
pub mod ui;
pub mod views;
pub mod webhook;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use roster_store::Store;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::middleware::AroundRequestLayer;

pub use config::Config;
pub use state::AppState;

use state::PLATFORM_KEY_HASH;

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
    store.set_cache_budget(config.cache_bytes);
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

/// `roster platform-key rotate`: a new platform key, printed once by the
/// caller; the old one stops working at once on every replica. Refused
/// while `ROSTER_PLATFORM_KEY` sets the key.
pub async fn rotate_platform_key(config: &Config) -> Result<String, String> {
    if config.platform_key.is_some() {
        return Err(
            "ROSTER_PLATFORM_KEY sets the platform key: change that variable instead".into(),
        );
    }
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open {}: {e}", config.database_url))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    let fresh = format!("rpk_{}", secrets::random_secret());
    store
        .set_platform_key_hash(PLATFORM_KEY_HASH, &secrets::hash(&fresh))
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    // Every replica has heard of it, or stopped trusting what it read.
    tokio::time::sleep(state::PLATFORM_KEY_TRUST * 2).await;
    Ok(fresh)
}

/// Serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    app: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let jobs = tokio::spawn(jobs::run_forever(app.clone(), jobs_stopped.clone()));
    let webhooks = tokio::spawn(jobs::deliver_webhooks_forever(app.clone(), jobs_stopped));
    let sequencer = app.store.spawn_sequencer();
    let listener_task = app.store.spawn_change_listener();
    let router = router(app.clone());
    let service = router.into_make_service_with_connect_info::<listener::ClientAddr>();
    let result = axum::serve(listener::GuardedListener(listener), service)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_jobs.send(true);
    let _ = jobs.await;
    let _ = webhooks.await;
    sequencer.abort();
    if let Some(task) = listener_task {
        task.abort();
    }
    app.store.close().await;
    result
}

/// The whole server: the API (with its document), the admin UI, the dev
/// clock's paths when enabled, and what every request goes through.
pub fn router(state: AppState) -> Router {
    let (api, _) = http::api().split_for_parts();
    let mut routes = api.route("/", get(root)).merge(ui::routes());
    // The dev clock's paths exist only with ROSTER_DEV_CLOCK=1: otherwise
    // they are 404 for everyone, credentials or not.
    if state.clock.is_dev() {
        routes = routes.merge(http::platform::dev_api().split_for_parts().0);
    }
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(AroundRequestLayer(state.clone()))
        .with_state(state)
}

/// `GET /`: a browser goes to the admin UI's sign-in (API.md); anything
/// else learns where the API is.
async fn root(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        Redirect::to("/ui/sign-in").into_response()
    } else {
        ApiError::not_found("route")
            .with("docs", serde_json::json!("/docs"))
            .into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    )
}
