//! Storage for snapshots that are cheap to copy: a write replays its
//! effects on a copy of the cached snapshot while readers keep the old one,
//! so copying must not mean copying every member, and a decision must reach
//! a member in as few memory hops as a plain hash map would.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

const CHUNK: usize = 256;
/// The last chunk starts this small and doubles up to [`CHUNK`]: most
/// organizations are small, and a cache holds many of them.
const FIRST_CHUNK: usize = 4;

/// One slot: empty or holding a value. The mark is a byte at the slot's
/// start (`repr(u8)` rules out hiding it in a niche of the value, which the
/// compiler may place anywhere in it), so confirming that a slot is full
/// reads the line where the value begins.
#[derive(Clone, Debug)]
#[repr(u8)]
enum Slot<T> {
    Empty,
    Full(T),
}

impl<T> Slot<T> {
    fn as_ref(&self) -> Option<&T> {
        match self {
            Slot::Full(value) => Some(value),
            Slot::Empty => None,
        }
    }

    fn as_mut(&mut self) -> Option<&mut T> {
        match self {
            Slot::Full(value) => Some(value),
            Slot::Empty => None,
        }
    }

    fn take(&mut self) -> Option<T> {
        match std::mem::replace(self, Slot::Empty) {
            Slot::Full(value) => Some(value),
            Slot::Empty => None,
        }
    }
}

/// A growable array of optional values kept in shared chunks of [`CHUNK`]
/// slots (the last one may be shorter):
/// a clone copies only the chunk pointers, changing one value copies only
/// its chunk, and a read is one hop from the pointer to the value.
#[derive(Clone, Debug)]
pub(crate) struct Slots<T> {
    chunks: Vec<Arc<[Slot<T>]>>,
    /// Slots handed out; indexes are never reused.
    len: usize,
    /// Slots holding a value.
    live: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            chunks: Vec::new(),
            len: 0,
            live: 0,
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
        let taken = Arc::make_mut(chunk).get_mut(i % CHUNK)?.take();
        if taken.is_some() {
            self.live -= 1;
        }
        taken
    }

    /// Appends a value and answers its index.
    pub fn push(&mut self, value: T) -> u32 {
        let i = self.len;
        let offset = i % CHUNK;
        if offset == 0 {
            self.chunks
                .push((0..FIRST_CHUNK).map(|_| Slot::Empty).collect());
        } else if self.chunks.last().is_some_and(|last| last.len() == offset) {
            self.grow_last((offset * 2).min(CHUNK));
        }
        if let Some(slot) = self
            .chunks
            .last_mut()
            .and_then(|last| Arc::make_mut(last).get_mut(i % CHUNK))
        {
            *slot = Slot::Full(value);
        }
        self.len += 1;
        self.live += 1;
        i as u32
    }

    /// Makes the last chunk `to` slots long, moving its values when no
    /// copy shares it (copying them when one does, as any change would).
    fn grow_last(&mut self, to: usize) {
        let Some(last) = self.chunks.last_mut() else {
            return;
        };
        let mut grown: Vec<Slot<T>> = Vec::with_capacity(to);
        match Arc::get_mut(last) {
            Some(unique) => grown.extend(
                unique
                    .iter_mut()
                    .map(|slot| std::mem::replace(slot, Slot::Empty)),
            ),
            None => grown.extend(last.iter().cloned()),
        }
        grown.resize_with(to, || Slot::Empty);
        *last = grown.into();
    }

    /// How many slots hold a value.
    pub fn live(&self) -> usize {
        self.live
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.iter_indexed().map(|(_, value)| value)
    }

    pub fn iter_indexed(&self) -> impl Iterator<Item = (u32, &T)> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .enumerate()
            .filter_map(|(i, value)| Some((i as u32, value.as_ref()?)))
    }

    /// Changes every value `select` picks; only chunks holding one are copied.
    pub fn update_where(&mut self, select: impl Fn(&T) -> bool, mut change: impl FnMut(&mut T)) {
        for chunk in &mut self.chunks {
            if chunk.iter().filter_map(Slot::as_ref).any(&select) {
                for value in Arc::make_mut(chunk).iter_mut().filter_map(Slot::as_mut) {
                    if select(value) {
                        change(value);
                    }
                }
            }
        }
    }
}

/// From keys to slot numbers, for a large set that changes a little at a
/// time. Most keys sit in a hash table of slot numbers (the keys themselves
/// stay in the slots, so an entry is 8 bytes: the slot and 32 bits of the
/// key's hash, which spares reading slots that cannot match), built in one
/// pass and shared by every copy; keys added since are in a small
/// persistent map. A copy for a write is two pointers; a lookup is one
/// probe of the table, then the slot to confirm the key. When the keys
/// added or dropped since the build outgrow an eighth of the table, the
/// next change rebuilds it, so rebuilding costs a few slot reads per write.
///
/// A slot number is confirmed against the slot's current key on every
/// lookup, so an emptied slot or a changed key is never found by its old key.
#[derive(Clone, Debug)]
pub(crate) struct Lookup<K> {
    built: Arc<HashTable<(u32, u32)>>,
    recent: Map<K, u32>,
    /// Entries of `built` whose slot was emptied since the build.
    dropped: usize,
}

impl<K> Default for Lookup<K> {
    fn default() -> Self {
        Lookup {
            built: Arc::default(),
            recent: Map::default(),
            dropped: 0,
        }
    }
}

impl<K: Hash + Eq + Clone> Lookup<K> {
    /// The slot holding `key`, where `key_of` reads a value's key.
    pub fn get<T: Clone, Q>(
        &self,
        key: &Q,
        slots: &Slots<T>,
        key_of: impl Fn(&T) -> &Q,
    ) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key, slots, key_of).map(|(index, _)| index)
    }

    /// The value whose key is `key`.
    pub fn value<'s, T: Clone, Q>(
        &self,
        key: &Q,
        slots: &'s Slots<T>,
        key_of: impl Fn(&T) -> &Q,
    ) -> Option<&'s T>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key, slots, key_of).map(|(_, value)| value)
    }

    /// The slot holding `key` and its value, read once: confirming the key
    /// reads the value a caller wants next.
    pub fn find<'s, T: Clone, Q>(
        &self,
        key: &Q,
        slots: &'s Slots<T>,
        key_of: impl Fn(&T) -> &Q,
    ) -> Option<(u32, &'s T)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let holding = |index: u32| slots.get(index).filter(|value| key_of(value) == key);
        let hash = FxBuildHasher.hash_one(key);
        let mut found = None;
        self.built.find(hash, |&(index, tag)| {
            found = (tag == tag_of(hash))
                .then(|| holding(index))
                .flatten()
                .map(|value| (index, value));
            found.is_some()
        });
        if found.is_some() || self.recent.is_empty() {
            return found;
        }
        let index = *self.recent.get(key)?;
        holding(index).map(|value| (index, value))
    }

    /// Records that `key` is now in slot `index`.
    pub fn insert<T: Clone, Q>(
        &mut self,
        key: K,
        index: u32,
        slots: &Slots<T>,
        key_of: impl Fn(&T) -> &Q,
    ) where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // Not shared with any copy (a load, or a snapshot being built):
        // straight into the table, with no map of recent keys to keep.
        if let Some(table) = Arc::get_mut(&mut self.built) {
            let hash = FxBuildHasher.hash_one(key.borrow());
            let holds = |i: u32| {
                slots
                    .get(i)
                    .is_some_and(|value| key_of(value) == key.borrow())
            };
            match table.find_mut(hash, |(i, tag)| {
                *tag == tag_of(hash) && *i != index && holds(*i)
            }) {
                Some(entry) => entry.0 = index,
                None => {
                    let hash_of = |i: u32| {
                        slots
                            .get(i)
                            .map_or(0, |value| FxBuildHasher.hash_one(key_of(value)))
                    };
                    table.insert_unique(hash, (index, tag_of(hash)), |(i, _)| hash_of(*i));
                }
            }
            return;
        }
        self.recent.insert(key, index);
        self.rebuild_if_due(slots, key_of);
    }

    /// Records that a slot holding one of the keys was emptied or re-keyed.
    pub fn dropped<T: Clone, Q>(&mut self, key: &Q, slots: &Slots<T>, key_of: impl Fn(&T) -> &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.recent.remove(key).is_none() {
            self.dropped += 1;
        }
        self.rebuild_if_due(slots, key_of);
    }

    fn rebuild_if_due<T: Clone, Q>(&mut self, slots: &Slots<T>, key_of: impl Fn(&T) -> &Q)
    where
        Q: Hash + Eq + ?Sized,
    {
        if self.recent.len() + self.dropped > 64 + self.built.len() / 8 {
            self.rebuild(slots, key_of);
        }
    }

    /// Moves every key into the table if some are outside it (after a bulk
    /// load, so that no lookup needs the map of recent keys).
    pub fn settle<T: Clone, Q>(&mut self, slots: &Slots<T>, key_of: impl Fn(&T) -> &Q)
    where
        Q: Hash + Eq + ?Sized,
    {
        if !self.recent.is_empty() || self.dropped > 0 {
            self.rebuild(slots, key_of);
        }
    }

    /// Moves every key into a new table.
    pub fn rebuild<T: Clone, Q>(&mut self, slots: &Slots<T>, key_of: impl Fn(&T) -> &Q)
    where
        Q: Hash + Eq + ?Sized,
    {
        let hash_of = |index: u32| {
            slots
                .get(index)
                .map_or(0, |value| FxBuildHasher.hash_one(key_of(value)))
        };
        let mut table = HashTable::with_capacity(slots.live());
        for (index, value) in slots.iter_indexed() {
            let hash = FxBuildHasher.hash_one(key_of(value));
            table.insert_unique(hash, (index, tag_of(hash)), |(i, _)| hash_of(*i));
        }
        self.built = Arc::new(table);
        self.recent = Map::default();
        self.dropped = 0;
    }
}

/// The bits of a hash kept beside a slot number: the high half (the table
/// places entries by the low bits).
fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// A shared map with the fast hasher.
pub(crate) type Map<K, V> =
    imbl::GenericHashMap<K, V, FxBuildHasher, imbl::shared_ptr::DefaultSharedPtr>;

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
    fn a_small_array_holds_a_small_chunk_and_grows_without_losing_values() {
        let mut slots: Slots<String> = Slots::default();
        for n in 0..5 {
            slots.push(n.to_string());
        }
        assert_eq!(slots.chunks.len(), 1);
        assert!(slots.chunks[0].len() < CHUNK, "{}", slots.chunks[0].len());
        // A copy shares the chunk; growing the original leaves the copy as it was.
        let copy = slots.clone();
        for n in 5..(CHUNK + 3) {
            slots.push(n.to_string());
        }
        assert_eq!(slots.chunks.len(), 2);
        assert_eq!(slots.chunks[0].len(), CHUNK);
        for n in 0..(CHUNK + 3) {
            assert_eq!(slots.get(n as u32), Some(&n.to_string()));
        }
        assert_eq!(copy.live(), 5);
        assert_eq!(copy.get(4), Some(&"4".to_owned()));
        assert_eq!(copy.get(5), None);
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

    // The slots hold `String`s, so `key_of` is handed a `&String`.
    #[allow(clippy::ptr_arg)]
    fn key(s: &String) -> &str {
        s.as_str()
    }

    /// A lookup over slots, checked against a plain map after every change.
    #[test]
    fn lookup_finds_exactly_the_live_keys_across_rebuilds_and_copies() {
        let mut slots: Slots<String> = Slots::default();
        let mut lookup: Lookup<Box<str>> = Lookup::default();
        let mut reference = std::collections::HashMap::new();
        for i in 0..5_000u32 {
            let name = format!("k{i}");
            let index = slots.push(name.clone());
            lookup.insert(name.clone().into_boxed_str(), index, &slots, key);
            reference.insert(name, index);
            if i % 3 == 0 {
                let gone = format!("k{}", i / 2);
                if let Some(index) = reference.remove(&gone) {
                    slots.take(index);
                    lookup.dropped(gone.as_str(), &slots, key);
                }
            }
        }
        let copy = lookup.clone();
        let copy_slots = slots.clone();
        // Re-adding a dropped key gives it a new slot.
        let index = slots.push("k0".into());
        lookup.insert("k0".into(), index, &slots, key);
        reference.insert("k0".into(), index);
        for i in 0..5_001u32 {
            let name = format!("k{i}");
            assert_eq!(
                lookup.get(name.as_str(), &slots, key),
                reference.get(&name).copied(),
                "{name}"
            );
        }
        assert_eq!(copy.get("k0", &copy_slots, key), None);
        assert_eq!(slots.live(), reference.len());
    }

    #[test]
    fn a_changed_key_is_found_only_by_its_new_value() {
        let mut slots: Slots<String> = Slots::default();
        let mut lookup: Lookup<Box<str>> = Lookup::default();
        for i in 0..1_000 {
            let index = slots.push(format!("k{i}"));
            lookup.insert(format!("k{i}").into_boxed_str(), index, &slots, key);
        }
        if let Some(value) = slots.get_mut(7) {
            *value = "renamed".into();
        }
        lookup.dropped("k7", &slots, key);
        lookup.insert("renamed".into(), 7, &slots, key);
        assert_eq!(lookup.get("k7", &slots, key), None);
        assert_eq!(lookup.get("renamed", &slots, key), Some(7));
    }
}
