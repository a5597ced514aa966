//! What every part of the server shares.

use std::sync::Arc;

use roster_core::Timestamp;
use roster_store::Store;

use crate::clock::Clock;
use crate::config::Config;
use crate::effects::EffectsConfig;
use crate::limits::PerClient;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub clock: Clock,
    pub config: Config,
    pub effects: EffectsConfig,
    pub platform_key_hash: String,
    pub metrics: Metrics,
    /// One delivery run at a time in this process, so a sweep waits for a
    /// run already under way and then finds everything sent.
    pub delivery: tokio::sync::Mutex<()>,
    /// Likewise for webhook deliveries.
    pub webhook_runs: tokio::sync::Mutex<()>,
    /// Sign-in link requests per client address (SPEC §19: 30 a minute).
    pub sign_in_requests: PerClient,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, config: Config, platform_key_hash: String) -> Self {
        AppState(Arc::new(Inner {
            store,
            clock: Clock::new(config.dev_clock),
            effects: EffectsConfig {
                public_url: config.public_url.clone(),
            },
            config,
            platform_key_hash,
            metrics: Metrics::default(),
            delivery: tokio::sync::Mutex::new(()),
            webhook_runs: tokio::sync::Mutex::new(()),
            sign_in_requests: PerClient::new(30),
        }))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
