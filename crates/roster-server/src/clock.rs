//! The server's clock. With `ROSTER_DEV_CLOCK=1` it can be moved forward for
//! tests and demos; the offset lives in the database so every replica (and
//! a restarted server) agrees on the time.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::Utc;
use roster_core::Timestamp;
use roster_store::{Store, StoreError};

const OFFSET_KEY: &str = "dev_clock_offset_ms";

pub struct Clock {
    dev: bool,
    offset_ms: AtomicI64,
    /// SQLite: the database files' generation when the offset was read.
    read_at: AtomicU64,
}

/// No generation read yet.
const NEVER: u64 = u64::MAX;

impl Clock {
    pub fn new(dev: bool) -> Self {
        Clock {
            dev,
            offset_ms: AtomicI64::new(0),
            read_at: AtomicU64::new(NEVER),
        }
    }

    pub fn is_dev(&self) -> bool {
        self.dev
    }

    /// Whole milliseconds, the precision times are stored with, so what a
    /// replica caches is what another one loads.
    pub fn now(&self) -> Timestamp {
        let ms = Utc::now()
            .timestamp_millis()
            .saturating_add(self.offset_ms.load(Ordering::Relaxed));
        chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
    }

    /// Picks up an advance made by another replica (dev clock only). On
    /// SQLite an advance anywhere changes the database's files, so while
    /// they are unchanged this reads nothing.
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        if !self.dev {
            return Ok(());
        }
        let generation = store.file_generation();
        if generation.is_some_and(|g| g != NEVER && g == self.read_at.load(Ordering::Relaxed)) {
            return Ok(());
        }
        let stored = store.meta(OFFSET_KEY).await?;
        let offset = stored.and_then(|v| v.parse().ok()).unwrap_or(0);
        // The dev clock only moves forward: a read that raced an advance
        // must not set it back.
        self.offset_ms.fetch_max(offset, Ordering::Relaxed);
        if let Some(generation) = generation {
            self.read_at.store(generation, Ordering::Relaxed);
        }
        Ok(())
    }

    pub async fn advance(&self, store: &Store, seconds: i64) -> Result<Timestamp, StoreError> {
        self.refresh(store).await?;
        let offset = self
            .offset_ms
            .load(Ordering::Relaxed)
            .saturating_add(seconds.saturating_mul(1000));
        store.set_meta(OFFSET_KEY, &offset.to_string()).await?;
        self.offset_ms.store(offset, Ordering::Relaxed);
        Ok(self.now())
    }
}
