//! In-memory decision snapshots, one per organization, replaced (never
//! mutated under a reader) when a write lands or another replica says so.

use std::sync::{Arc, RwLock};

use roster_core::{OrgId, OrgSnapshot};
use rustc_hash::FxHashMap;

#[derive(Default)]
struct Entries {
    snapshots: FxHashMap<OrgId, Arc<OrgSnapshot>>,
    /// The newest revision another replica announced, per organization: a
    /// snapshot older than this is stale even if it was loaded just now.
    announced: FxHashMap<OrgId, i64>,
}

#[derive(Default)]
pub(crate) struct SnapshotCache {
    entries: RwLock<Entries>,
}

impl SnapshotCache {
    /// A cached snapshot that no announcement has made stale.
    pub fn get(&self, org_id: &str) -> Option<Arc<OrgSnapshot>> {
        let entries = self.entries.read().ok()?;
        let snapshot = entries.snapshots.get(org_id)?;
        let floor = entries.announced.get(org_id).copied().unwrap_or(i64::MIN);
        (snapshot.revision >= floor).then(|| snapshot.clone())
    }

    /// Keeps whichever snapshot is newer, and none older than announced.
    pub fn offer(&self, snapshot: Arc<OrgSnapshot>) {
        if let Ok(mut entries) = self.entries.write() {
            let floor = entries
                .announced
                .get(snapshot.org_id.as_str())
                .copied()
                .unwrap_or(i64::MIN);
            let newer = snapshot.revision >= floor
                && entries
                    .snapshots
                    .get(snapshot.org_id.as_str())
                    .is_none_or(|cached| cached.revision < snapshot.revision);
            if newer {
                entries.snapshots.insert(snapshot.org_id.clone(), snapshot);
            }
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
                        .is_some_and(|s| s.revision < r)
                    {
                        entries.snapshots.remove(org_id);
                    }
                }
                None => {
                    entries.snapshots.remove(org_id);
                }
            }
        }
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.snapshots.clear();
        }
    }
}
