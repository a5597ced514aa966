//! One async lock per organization, made when first asked for and forgotten
//! when nobody holds or waits for it: so a map of them stays as small as
//! the organizations in use at the moment.

use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;
use tokio::sync::OwnedMutexGuard;

#[derive(Default)]
pub(crate) struct Gates {
    open: Mutex<FxHashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// An organization's turn: others asking for the same organization wait
/// until it is dropped.
pub(crate) struct Turn<'a> {
    gates: &'a Gates,
    org_id: &'a str,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Gates {
    /// Waits for the organization's turn.
    pub async fn enter<'a>(&'a self, org_id: &'a str) -> Turn<'a> {
        let gate = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(org_id.to_owned())
            .or_default()
            .clone();
        Turn {
            gates: self,
            org_id,
            guard: Some(gate.lock_owned().await),
        }
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut open = self
            .gates
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(guard) = self.guard.take() {
            // The map's reference and this turn's: nobody else waits. Others
            // take theirs under the map's lock, so none can appear meanwhile.
            if Arc::strong_count(OwnedMutexGuard::mutex(&guard)) <= 2 {
                open.remove(self.org_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    #[tokio::test]
    async fn a_second_turn_waits_for_the_first_and_free_gates_are_forgotten() {
        let gates = Gates::default();
        let first = gates.enter("org_a").await;
        // Another organization is not held up.
        drop(gates.enter("org_b").await);
        let second = gates.enter("org_a");
        tokio::pin!(second);
        assert!(
            second.as_mut().now_or_never().is_none(),
            "the same organization waits"
        );
        drop(first);
        let second = second.await;
        assert_eq!(gates.open(), 1, "org_a is still held");
        drop(second);
        assert_eq!(gates.open(), 0, "nobody holds or waits: forgotten");
    }
}
