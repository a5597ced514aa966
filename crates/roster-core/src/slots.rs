//! Storage for snapshots that are cheap to copy: a write replays its
//! effects on a copy of the cached snapshot while readers keep the old one,
//! so copying must not mean copying every member.

use std::sync::Arc;

const CHUNK: usize = 256;

/// A growable array of optional values kept in shared chunks: a clone
/// copies only the chunk pointers, and changing one value copies only its
/// chunk.
#[derive(Clone, Debug)]
pub(crate) struct Slots<T> {
    chunks: Vec<Arc<Vec<Option<T>>>>,
    len: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Clone> Slots<T> {
    pub fn get(&self, index: u32) -> Option<&T> {
        let i = index as usize;
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)?.as_ref()
    }

    pub fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        let i = index as usize;
        let chunk = self.chunks.get_mut(i / CHUNK)?;
        Arc::make_mut(chunk).get_mut(i % CHUNK)?.as_mut()
    }

    pub fn take(&mut self, index: u32) -> Option<T> {
        let i = index as usize;
        let chunk = self.chunks.get_mut(i / CHUNK)?;
        Arc::make_mut(chunk).get_mut(i % CHUNK)?.take()
    }

    /// Appends a value and answers its index.
    pub fn push(&mut self, value: T) -> u32 {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        if let Some(last) = self.chunks.last_mut() {
            Arc::make_mut(last).push(Some(value));
        }
        self.len += 1;
        (self.len - 1) as u32
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter()).flatten()
    }

    /// Changes every value `select` picks; only chunks holding one are copied.
    pub fn update_where(&mut self, select: impl Fn(&T) -> bool, mut change: impl FnMut(&mut T)) {
        for chunk in &mut self.chunks {
            if chunk.iter().flatten().any(&select) {
                for value in Arc::make_mut(chunk).iter_mut().flatten() {
                    if select(value) {
                        change(value);
                    }
                }
            }
        }
    }
}

/// An index from keys to slot numbers, shared between copies (a hash array
/// mapped trie: a copy is a pointer, an insert copies one path).
pub(crate) type Index<K> = Map<K, u32>;

/// A shared map with the fast hasher.
pub(crate) type Map<K, V> =
    imbl::GenericHashMap<K, V, rustc_hash::FxBuildHasher, imbl::shared_ptr::DefaultSharedPtr>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_does_not_see_later_changes() {
        let mut a: Slots<String> = Slots::default();
        for i in 0..600 {
            a.push(format!("v{i}"));
        }
        let b = a.clone();
        if let Some(v) = a.get_mut(300) {
            v.push('!');
        }
        a.take(5);
        assert_eq!(a.get(300).map(String::as_str), Some("v300!"));
        assert_eq!(b.get(300).map(String::as_str), Some("v300"));
        assert_eq!(a.get(5), None);
        assert_eq!(b.get(5).map(String::as_str), Some("v5"));
        assert_eq!(a.iter().count(), 599);
        assert_eq!(b.iter().count(), 600);
    }

    #[test]
    fn update_where_changes_only_the_selected_values() {
        let mut a: Slots<u32> = Slots::default();
        for i in 0..1000 {
            a.push(i);
        }
        let before = a.clone();
        a.update_where(|v| *v % 500 == 0, |v| *v += 1);
        assert_eq!(a.get(500), Some(&501));
        assert_eq!(a.get(0), Some(&1));
        assert_eq!(a.get(1), Some(&1));
        assert_eq!(before.get(500), Some(&500));
    }
}
