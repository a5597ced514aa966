//! In-memory decision snapshots, one per organization, replaced (never
//! mutated under a reader) when a write lands or another replica says so.

use std::sync::{Arc, RwLock};

use roster_core::OrgSnapshot;
use rustc_hash::FxHashMap;

#[derive(Default)]
pub(crate) struct SnapshotCache {
    map: RwLock<FxHashMap<String, Arc<OrgSnapshot>>>,
}

impl SnapshotCache {
    pub fn get(&self, org_id: &str) -> Option<Arc<OrgSnapshot>> {
        self.map.read().ok()?.get(org_id).cloned()
    }

    /// Keeps whichever snapshot is newer.
    pub fn offer(&self, snapshot: Arc<OrgSnapshot>) {
        if let Ok(mut map) = self.map.write() {
            let newer = map
                .get(&snapshot.org_id)
                .is_none_or(|cached| cached.revision < snapshot.revision);
            if newer {
                map.insert(snapshot.org_id.clone(), snapshot);
            }
        }
    }

    /// Drops a snapshot older than `revision` (or any, with `None`).
    pub fn evict(&self, org_id: &str, revision: Option<i64>) {
        if let Ok(mut map) = self.map.write() {
            let stale = map
                .get(org_id)
                .is_some_and(|cached| revision.is_none_or(|r| cached.revision < r));
            if stale {
                map.remove(org_id);
            }
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.map.write() {
            map.clear();
        }
    }
}
