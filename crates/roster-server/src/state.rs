//! What every part of the server shares.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use roster_core::Timestamp;
use roster_store::Store;

use crate::clock::Clock;
use crate::config::Config;
use crate::effects::EffectsConfig;
use crate::limits::PerClient;
use crate::metrics::Metrics;
use crate::secrets;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub clock: Clock,
    pub config: Config,
    pub effects: EffectsConfig,
    platform_key: PlatformKeyHash,
    pub metrics: Metrics,
    /// One delivery run at a time in this process, so a sweep waits for a
    /// run already under way and then finds everything sent.
    pub delivery: tokio::sync::Mutex<()>,
    /// Likewise for webhook deliveries.
    pub webhook_runs: tokio::sync::Mutex<()>,
    /// Sign-in link requests per client address (SPEC §19: 30 a minute).
    pub sign_in_requests: PerClient,
    /// Sign-in link requests already answered whose links are still being
    /// made: each holds a read guard until it is done, and a job run takes
    /// the write side first, so what was asked before a run is in the
    /// outbox when it runs.
    pub sign_in_pending: Arc<tokio::sync::RwLock<()>>,
    /// One sign-in link request at a time in this process, so that the
    /// per-address limit is counted and spent in one step.
    pub sign_in_sends: tokio::sync::Mutex<()>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The platform key's hash: fixed when `ROSTER_PLATFORM_KEY` sets it,
/// otherwise the stored one, read again whenever the installation's
/// settings may have changed (`roster platform-key rotate` on any replica)
/// and at least every [`PLATFORM_KEY_TRUST`], so a replica whose
/// notification is still on its way does not accept a rotated key for
/// longer than that.
struct PlatformKeyHash {
    /// The hash of `ROSTER_PLATFORM_KEY`: never changes, read without a lock.
    configured: Option<String>,
    current: RwLock<KnownHash>,
}

struct KnownHash {
    generation: u64,
    hash: String,
    read_at: Instant,
}

/// How long a replica trusts the stored platform key's hash it read
/// without hearing of a change; `roster platform-key rotate` waits twice
/// this before it answers, so when it does the old key is refused
/// everywhere.
pub const PLATFORM_KEY_TRUST: Duration = Duration::from_millis(100);

/// Where the generated platform key's hash is kept.
pub const PLATFORM_KEY_HASH: &str = "platform_key_hash";

impl AppState {
    /// Whether `secret` is the platform key as of now.
    pub async fn is_platform_key(&self, secret: &str) -> bool {
        match &self.platform_key.configured {
            Some(hash) => secrets::matches(secret, hash),
            None => secrets::matches(secret, &self.platform_key_hash().await),
        }
    }

    /// The platform key's hash as of now.
    pub async fn platform_key_hash(&self) -> String {
        let key = &self.platform_key;
        if let Some(hash) = &key.configured {
            return hash.clone();
        }
        let generation = self.store.settings_generation();
        if let Ok(current) = key.current.read() {
            let fresh =
                current.generation == generation && current.read_at.elapsed() < PLATFORM_KEY_TRUST;
            if fresh {
                return current.hash.clone();
            }
        }
        match self.store.meta(PLATFORM_KEY_HASH).await {
            Ok(Some(hash)) => {
                if let Ok(mut current) = key.current.write() {
                    *current = KnownHash {
                        generation,
                        hash: hash.clone(),
                        read_at: Instant::now(),
                    };
                }
                hash
            }
            // The key cannot be read: nothing matches it.
            Ok(None) | Err(_) => String::new(),
        }
    }

    pub fn new(store: Store, config: Config, platform_key_hash: String) -> Self {
        let configured = config
            .platform_key
            .is_some()
            .then(|| platform_key_hash.clone());
        let generation = store.settings_generation();
        AppState(Arc::new(Inner {
            store,
            clock: Clock::new(config.dev_clock),
            effects: EffectsConfig {
                public_url: config.public_url.clone(),
            },
            config,
            platform_key: PlatformKeyHash {
                configured,
                current: RwLock::new(KnownHash {
                    generation,
                    hash: platform_key_hash,
                    read_at: Instant::now(),
                }),
            },
            metrics: Metrics::default(),
            delivery: tokio::sync::Mutex::new(()),
            webhook_runs: tokio::sync::Mutex::new(()),
            sign_in_requests: PerClient::new(30),
            sign_in_pending: Arc::default(),
            sign_in_sends: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
