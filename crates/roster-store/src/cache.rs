//! In-memory decision snapshots, one per organization, replaced (never
//! mutated under a reader) when a write lands or another replica says so.
//! The cache holds at most a budget of bytes (`ROSTER_CACHE_MB`): past it,
//! the least recently used snapshots go first, until a tenth of the budget
//! is free again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use roster_core::{OrgId, OrgSnapshot};
use rustc_hash::FxHashMap;

struct Cached {
    snapshot: Arc<OrgSnapshot>,
    bytes: usize,
    /// The cache's clock (a count of snapshots offered) when it was last
    /// served.
    used: AtomicU64,
    /// SQLite: the database files' generation at which this snapshot was
    /// last found to be the stored revision (`NOT_CHECKED` before).
    checked: AtomicU64,
}

const NOT_CHECKED: u64 = u64::MAX;

/// A cached snapshot, and the files' generation at which it was last
/// found to match the database.
pub(crate) struct Hit {
    pub snapshot: Arc<OrgSnapshot>,
    pub checked: Option<u64>,
}

#[derive(Default)]
struct Entries {
    snapshots: FxHashMap<OrgId, Cached>,
    /// What the snapshots above hold, in bytes.
    bytes: usize,
    /// The newest revision another replica announced, per organization: a
    /// snapshot older than this is stale even if it was loaded just now.
    announced: FxHashMap<OrgId, i64>,
}

impl Entries {
    fn remove(&mut self, org_id: &str) {
        if let Some(gone) = self.snapshots.remove(org_id) {
            self.bytes -= gone.bytes;
        }
    }
}

/// How the cache has been used since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub loads: u64,
    pub evictions: u64,
    /// Snapshots held now, and their bytes.
    pub snapshots: u64,
    pub bytes: u64,
}

pub(crate) struct SnapshotCache {
    entries: RwLock<Entries>,
    budget: AtomicU64,
    clock: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    loads: AtomicU64,
    evictions: AtomicU64,
}

impl Default for SnapshotCache {
    fn default() -> Self {
        SnapshotCache {
            entries: RwLock::default(),
            budget: AtomicU64::new(u64::MAX),
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }
}

impl SnapshotCache {
    /// Holds at most `bytes` of snapshots from now on.
    pub fn set_budget(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::Relaxed);
        if let Ok(mut entries) = self.entries.write() {
            self.shrink(&mut entries);
        }
    }

    /// A cached snapshot that no announcement has made stale.
    pub fn get(&self, org_id: &str) -> Option<Hit> {
        let found = self.entries.read().ok().and_then(|entries| {
            let cached = entries.snapshots.get(org_id)?;
            let floor = entries.announced.get(org_id).copied().unwrap_or(i64::MIN);
            (cached.snapshot.revision >= floor).then(|| {
                // Only loads move the clock: a hit reads it, so concurrent
                // decisions do not contend on one counter.
                let now = self.clock.load(Ordering::Relaxed);
                if cached.used.load(Ordering::Relaxed) != now {
                    cached.used.store(now, Ordering::Relaxed);
                }
                let checked = cached.checked.load(Ordering::Relaxed);
                Hit {
                    snapshot: cached.snapshot.clone(),
                    checked: (checked != NOT_CHECKED).then_some(checked),
                }
            })
        });
        found
    }

    /// SQLite: the snapshot of `revision`, if still cached, matched the
    /// database when its files were at `generation`.
    pub fn checked(&self, org_id: &str, revision: i64, generation: u64) {
        if let Ok(entries) = self.entries.read() {
            if let Some(cached) = entries
                .snapshots
                .get(org_id)
                .filter(|c| c.snapshot.revision == revision)
            {
                cached.checked.store(generation, Ordering::Relaxed);
            }
        }
    }

    /// Counts one request served from the cache (`true`) or not: once per
    /// request, however often it looked.
    pub fn served(&self, from_cache: bool) {
        let counter = if from_cache { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot was read from the database.
    pub fn loaded(&self) {
        self.loads.fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps whichever snapshot is newer, and none older than announced.
    pub fn offer(&self, snapshot: Arc<OrgSnapshot>) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        let floor = entries
            .announced
            .get(snapshot.org_id.as_str())
            .copied()
            .unwrap_or(i64::MIN);
        let newer = snapshot.revision >= floor
            && entries
                .snapshots
                .get(snapshot.org_id.as_str())
                .is_none_or(|cached| cached.snapshot.revision < snapshot.revision);
        if !newer {
            return;
        }
        let bytes = snapshot.approximate_bytes();
        entries.remove(snapshot.org_id.as_str());
        entries.bytes += bytes;
        let used = AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed));
        entries.snapshots.insert(
            snapshot.org_id.clone(),
            Cached {
                snapshot,
                bytes,
                used,
                checked: AtomicU64::new(NOT_CHECKED),
            },
        );
        self.shrink(&mut entries);
    }

    /// Over budget: drops the least recently used snapshots until a tenth
    /// of the budget is free (so a cache walking many organizations does
    /// not sort at every load).
    fn shrink(&self, entries: &mut Entries) {
        let budget = usize::try_from(self.budget.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
        if entries.bytes <= budget {
            return;
        }
        let target = budget - budget / 10;
        let mut by_use: Vec<(u64, OrgId)> = entries
            .snapshots
            .iter()
            .map(|(id, cached)| (cached.used.load(Ordering::Relaxed), id.clone()))
            .collect();
        by_use.sort_unstable();
        for (_, org_id) in by_use {
            if entries.bytes <= target {
                break;
            }
            entries.remove(org_id.as_str());
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Another replica wrote `revision` (or something, with `None`): drop
    /// what is older, and refuse older snapshots still being loaded.
    pub fn evict(&self, org_id: &str, revision: Option<i64>) {
        if let Ok(mut entries) = self.entries.write() {
            match revision {
                Some(r) => {
                    let floor = entries.announced.entry(OrgId::from(org_id)).or_insert(r);
                    *floor = (*floor).max(r);
                    if entries
                        .snapshots
                        .get(org_id)
                        .is_some_and(|c| c.snapshot.revision < r)
                    {
                        entries.remove(org_id);
                    }
                }
                None => entries.remove(org_id),
            }
        }
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.snapshots.clear();
            entries.bytes = 0;
        }
    }

    pub fn stats(&self) -> CacheStats {
        let (snapshots, bytes) = self
            .entries
            .read()
            .map(|e| (e.snapshots.len() as u64, e.bytes as u64))
            .unwrap_or_default();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            loads: self.loads.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            snapshots,
            bytes,
        }
    }
}
