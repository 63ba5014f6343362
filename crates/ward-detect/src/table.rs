//! Bounded state shared by the detectors.
//!
//! - [`CappedMap`]: a map that never holds more than `cap` entries. It keeps
//!   two generations; when the young one is half full the old one is dropped
//!   and the young one becomes old. A key touched in the old generation moves
//!   back to the young one, so active keys survive and a flood of spoofed keys
//!   only ever churns through the table: O(1) per operation (amortised: the
//!   dropped generation's slots are freed by one scan per `cap / 2` keys).
//! - [`IdMap`]: the same for small integer keys (device slots), by
//!   indexing instead of hashing.
//! - [`Distinct`]: an approximate distinct counter in 40 bytes (linear
//!   counting over a 256-bit bitmap), exact enough for thresholds of a few
//!   dozen and never growing.
//! - [`Majority`]: a Boyer–Moore majority vote (who sent most of a
//!   second's packets) in the candidate plus 4 bytes, with a sound test
//!   for a strict majority.
//! - [`Incidents`]: the "one alert per attack" rule: a (signature, attacker,
//!   victim) key is reported once and then suppressed until it has been quiet
//!   for a while.

use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

use foldhash::fast::FixedState;
use hashbrown::{hash_table, HashTable};
use ward_core::Timestamp;

/// Hash seed for detector tables. Fixed so that iteration order (and thus
/// event order) is the same on every run; the tables are capped, so a
/// collision flood can cost time but never memory.
const SEED: u64 = 0x7761_7264_6465_7463;

pub(crate) fn hasher() -> FixedState {
    FixedState::with_seed(SEED)
}

pub(crate) fn hash_of<T: Hash>(v: &T) -> u64 {
    hasher().hash_one(v)
}

/// Where a [`Generations`] table finds a key's slot: a hash index
/// ([`CappedMap`]) or a plain array for small integer keys ([`IdMap`]).
trait SlotIndex<K> {
    fn find(&self, k: &K) -> Option<usize>;
    fn set(&mut self, k: K, slot: usize);
    /// Forget `k`; its slot if it was there.
    fn unset(&mut self, k: &K) -> Option<usize>;
    /// `k`'s slot if it has one (`Ok`), else `k` now maps to `slot`
    /// (`Err(slot)`): `find` then `set` in one lookup.
    fn find_or_set(&mut self, k: K, slot: usize) -> Result<usize, usize>;
}

/// The hash index of a [`CappedMap`]: (key, slot) pairs found by the
/// key's hash. A `HashTable` rather than a `HashMap` so that a lookup that
/// misses can insert with the hash it already computed: a new key costs one
/// hash, where `get` then `insert` hashed it twice (and a `HashMap::entry`
/// made every hit pay for tracking an insert position).
struct HashIndex<K> {
    table: HashTable<(K, u32)>,
    hasher: FixedState,
}

impl<K: Hash + Eq> HashIndex<K> {
    fn new() -> Self {
        HashIndex {
            table: HashTable::new(),
            hasher: hasher(),
        }
    }
}

impl<K: Hash + Eq> SlotIndex<K> for HashIndex<K> {
    fn find(&self, k: &K) -> Option<usize> {
        let h = self.hasher.hash_one(k);
        self.table.find(h, |e| e.0 == *k).map(|e| e.1 as usize)
    }
    fn set(&mut self, k: K, slot: usize) {
        let h = self.hasher.hash_one(&k);
        let hasher = &self.hasher;
        match self.table.entry(h, |e| e.0 == k, |e| hasher.hash_one(&e.0)) {
            hash_table::Entry::Occupied(mut o) => o.get_mut().1 = slot as u32,
            hash_table::Entry::Vacant(v) => {
                v.insert((k, slot as u32));
            }
        }
    }
    fn unset(&mut self, k: &K) -> Option<usize> {
        let h = self.hasher.hash_one(k);
        match self.table.find_entry(h, |e| e.0 == *k) {
            Ok(o) => Some(o.remove().0 .1 as usize),
            Err(_) => None,
        }
    }
    /// One hash: a hit costs what `find` does, a miss inserts with the
    /// hash already computed.
    fn find_or_set(&mut self, k: K, slot: usize) -> Result<usize, usize> {
        let h = self.hasher.hash_one(&k);
        if let Some(e) = self.table.find(h, |e| e.0 == k) {
            return Ok(e.1 as usize);
        }
        let hasher = &self.hasher;
        self.table
            .insert_unique(h, (k, slot as u32), |e| hasher.hash_one(&e.0));
        Err(slot)
    }
}

/// Per key: its slot + 1 (0: absent).
impl SlotIndex<u32> for Vec<u32> {
    fn find(&self, &k: &u32) -> Option<usize> {
        match self.get(k as usize) {
            Some(&at) if at > 0 => Some(at as usize - 1),
            _ => None,
        }
    }
    fn set(&mut self, k: u32, slot: usize) {
        if self.len() <= k as usize {
            self.resize(k as usize + 1, 0);
        }
        self[k as usize] = slot as u32 + 1;
    }
    fn unset(&mut self, &k: &u32) -> Option<usize> {
        let at = self.find(&k)?;
        self[k as usize] = 0;
        Some(at)
    }
    fn find_or_set(&mut self, k: u32, slot: usize) -> Result<usize, usize> {
        match self.find(&k) {
            Some(at) => Ok(at),
            None => {
                self.set(k, slot);
                Err(slot)
            }
        }
    }
}

/// The two-generation rule of the module docs, over slots found through an
/// index `I`.
///
/// Entries live in slots; the index maps keys to slots and a slot's stamp
/// says its generation. So a key that comes back from the old generation is
/// re-stamped in place (the two-map layout this replaced moved the value
/// between maps: DoS victims are ~500 bytes), and the index probes small
/// entries. Dropping the old generation scans the slots once per `cap / 2`
/// new keys. Which keys are kept and dropped is exactly the two-map rule
/// (tested against it).
struct Generations<K, V, I> {
    index: I,
    slots: Vec<Slot<K, V>>,
    free: Vec<u32>,
    /// Stamp of the young generation; the old one's is one less; 0 is free.
    young_gen: u64,
    young: usize,
    old: usize,
    half: usize,
}

struct Slot<K, V> {
    key: K,
    gen: u64,
    value: V,
}

impl<K: Copy, V, I: SlotIndex<K>> Generations<K, V, I> {
    fn new(cap: usize, index: I) -> Self {
        Generations {
            index,
            slots: Vec::new(),
            free: Vec::new(),
            young_gen: 2,
            young: 0,
            old: 0,
            half: (cap / 2).max(1),
        }
    }

    /// The entry for `k`, created with `make` when absent: one index lookup.
    ///
    /// Inlined, with the rare case (the young generation full: the next
    /// key from outside it drops the old one) out of line in
    /// [`Generations::entry_at_half`], so that the common case stays small
    /// enough to inline into a detector's per-packet lookup.
    #[inline]
    fn entry(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        // While the young generation is below half, no key can drop the old
        // one, so the lookup may insert a new key at once: at the slot the
        // slow path below would give it (the last free slot, else a new
        // one). Same slots, same generations; one lookup instead of two.
        if self.young < self.half {
            let next = self.free.last().map_or(self.slots.len(), |&i| i as usize);
            let i = match self.index.find_or_set(k, next) {
                Ok(i) => self.promote(i),
                Err(_) => self.fill(k, make),
            };
            return &mut self.slots[i].value;
        }
        self.entry_at_half(k, make)
    }

    /// [`Generations::entry`] when the young generation is full.
    #[inline(never)]
    fn entry_at_half(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        let mut at = self.index.find(&k);
        let young = at.is_some_and(|i| self.slots[i].gen == self.young_gen);
        if self.young >= self.half && !young {
            self.drop_old_generation();
            // A key that was not young was old, and has just been dropped.
            at = None;
        }
        let i = match at {
            Some(i) => self.promote(i),
            None => {
                let i = self.fill(k, make);
                self.index.set(k, i);
                i
            }
        };
        &mut self.slots[i].value
    }

    /// Slot `i`, found by its key, joins the young generation if it was
    /// old; returns `i`.
    #[inline(always)]
    fn promote(&mut self, i: usize) -> usize {
        let s = &mut self.slots[i];
        if s.gen != self.young_gen {
            s.gen = self.young_gen;
            self.old -= 1;
            self.young += 1;
        }
        i
    }

    /// A new young entry for `k` in the last free slot, else a new one (the
    /// slot [`Generations::entry`]'s one-lookup path names in advance);
    /// returns its slot. The caller keeps the index.
    #[inline(always)]
    fn fill(&mut self, k: K, make: impl FnOnce() -> V) -> usize {
        let slot = Slot {
            key: k,
            gen: self.young_gen,
            value: make(),
        };
        self.young += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i as usize
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        }
    }

    /// The young generation becomes the old one; the old one is dropped.
    fn drop_old_generation(&mut self) {
        let old_gen = self.young_gen - 1;
        if self.old > 0 {
            for (i, s) in self.slots.iter_mut().enumerate() {
                if s.gen == old_gen {
                    s.gen = 0;
                    self.index.unset(&s.key);
                    self.free.push(i as u32);
                }
            }
        }
        self.young_gen += 1;
        self.old = self.young;
        self.young = 0;
    }

    fn get(&self, k: &K) -> Option<&V> {
        self.index.find(k).map(|i| &self.slots[i].value)
    }

    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.index.find(k).map(|i| &mut self.slots[i].value)
    }

    /// Forget `k`; true if it was there.
    fn remove(&mut self, k: &K) -> bool {
        let Some(i) = self.index.unset(k) else {
            return false;
        };
        self.release(i);
        true
    }

    fn release(&mut self, i: usize) {
        let s = &mut self.slots[i];
        if s.gen == self.young_gen {
            self.young -= 1;
        } else {
            self.old -= 1;
        }
        s.gen = 0;
        self.free.push(i as u32);
    }

    fn len(&self) -> usize {
        self.young + self.old
    }

    /// Every entry, in slot order (deterministic, arbitrary).
    fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.slots
            .iter_mut()
            .filter(|s| s.gen != 0)
            .map(|s| (&s.key, &mut s.value))
    }

    /// Drop entries for which `keep` says no.
    fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for i in 0..self.slots.len() {
            let s = &mut self.slots[i];
            if s.gen != 0 && !keep(&s.key, &mut s.value) {
                let k = s.key;
                self.index.unset(&k);
                self.release(i);
            }
        }
    }
}

/// A two-generation map holding at most `cap` entries, found by hashing.
/// See the module docs and [`Generations`].
pub struct CappedMap<K, V>(Generations<K, V, HashIndex<K>>);

impl<K: Hash + Eq + Copy, V> CappedMap<K, V> {
    pub fn new(cap: usize) -> Self {
        CappedMap(Generations::new(cap, HashIndex::new()))
    }

    /// The entry for `k`, created with `make` when absent: one hash lookup
    /// (two when the key's arrival drops the old generation).
    pub fn entry(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        self.0.entry(k, make)
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.0.get(k)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.0.get_mut(k)
    }

    /// Forget `k`; true if it was there.
    pub fn remove(&mut self, k: &K) -> bool {
        self.0.remove(k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, in slot order (deterministic, arbitrary).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.0.iter_mut()
    }

    /// Drop entries for which `keep` says no.
    pub fn retain(&mut self, keep: impl FnMut(&K, &mut V) -> bool) {
        self.0.retain(keep)
    }
}

/// A [`CappedMap`] for small integer keys handed out by a table with its
/// own cap (the engine's `DeviceId`s are slot indices below
/// `max_devices`): the same two-generation rule and the same cap, so the
/// same keys are kept and dropped, but an entry is found by indexing
/// instead of hashing.
///
/// Memory: at most `cap` values, plus 4 bytes per key value up to the
/// largest key seen.
pub struct IdMap<V>(Generations<u32, V, Vec<u32>>);

impl<V> IdMap<V> {
    pub fn new(cap: usize) -> Self {
        IdMap(Generations::new(cap, Vec::new()))
    }

    /// The entry for `k`, created with `make` when absent.
    ///
    /// Inlined: a key of the young generation (a host seen in the last
    /// `cap / 2` new keys: nearly every lookup) is found by two indexings,
    /// without the generation bookkeeping of [`Generations::entry`] (which
    /// does nothing for such a key) or a call. Always inlined, with the
    /// rest out of line in [`IdMap::entry_cold`]: with [`Generations::entry`]
    /// inlined into it the whole was too big, so the compiler called it
    /// (≈ 35 instructions a lookup, two lookups a packet in `ml`).
    #[inline(always)]
    pub fn entry(&mut self, k: u32, make: impl FnOnce() -> V) -> &mut V {
        let g = &self.0;
        let young = g
            .index
            .find(&k)
            .filter(|&i| g.slots.get(i).is_some_and(|s| s.gen == g.young_gen));
        match young {
            Some(i) => &mut self.0.slots[i].value,
            None => self.entry_cold(k, make),
        }
    }

    /// [`IdMap::entry`] for a new key or one of the old generation.
    #[inline(never)]
    fn entry_cold(&mut self, k: u32, make: impl FnOnce() -> V) -> &mut V {
        self.0.entry(k, make)
    }

    pub fn get(&self, k: u32) -> Option<&V> {
        self.0.get(&k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, in slot order (deterministic, arbitrary).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut V)> {
        self.0.iter_mut().map(|(k, v)| (*k, v))
    }
}

/// Approximate count of distinct values (linear counting, 256 bits: within
/// a few percent up to ~100, saturating around 1,400).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Distinct {
    bits: [u64; 4],
    ones: u16,
}

/// Linear-counting estimates by number of set bits, computed once.
fn estimates() -> &'static [u32; 257] {
    static TABLE: std::sync::OnceLock<[u32; 257]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        const M: f64 = 256.0;
        let mut t = [0u32; 257];
        for (set, e) in t.iter_mut().enumerate() {
            let zero = 256 - set;
            *e = if zero == 0 {
                1_500 // saturated: at least this many
            } else {
                (-M * (zero as f64 / M).ln()).round() as u32
            };
        }
        t
    })
}

impl Distinct {
    /// Add a value by its hash; true if it set a new bit (probably new).
    pub fn insert_hash(&mut self, h: u64) -> bool {
        let i = (h >> 56) as usize; // top 8 bits: 0..256
        let (w, b) = (i / 64, i % 64);
        let new = self.bits[w] & (1 << b) == 0;
        if new {
            self.bits[w] |= 1 << b;
            self.ones += 1;
        }
        new
    }

    pub fn insert<T: Hash>(&mut self, v: &T) -> bool {
        self.insert_hash(hash_of(v))
    }

    /// Estimated number of distinct values added (a table lookup).
    pub fn estimate(&self) -> u32 {
        estimates()[usize::from(self.ones).min(256)]
    }

    pub fn clear(&mut self) {
        *self = Distinct::default();
    }
}

/// A Boyer–Moore majority vote over a stream of items: the one candidate
/// that can hold a strict majority of them, in the candidate plus 4 bytes.
///
/// [`Majority::winner`] is sound: when it names a candidate, that candidate
/// really is at least half of the `n` items voted since the last
/// [`Majority::clear`] (the candidate's last run began at a reset and
/// gained `votes` net of the others, so it occurred at least
/// (run + votes) / 2 times; with votes ≥ n/2 that is at least half of all
/// items). It is not complete, but a source sending 90 % of the packets
/// keeps ≥ 80 % of them as votes. The answer depends on the order of the
/// items, so a detector that must replay the same alerts votes in packet
/// order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Majority<T> {
    top: T,
    votes: u32,
}

impl<T: PartialEq + Copy> Majority<T> {
    /// No votes yet; `top` is only a placeholder (never reported: the first
    /// vote replaces it).
    pub const fn new(top: T) -> Self {
        Majority { top, votes: 0 }
    }

    /// One step of the vote. Saturating: a tally that runs across seconds
    /// (the reflection spoofer's) can reach `u32::MAX`.
    pub fn vote(&mut self, x: T) {
        if self.votes == 0 {
            self.top = x;
            self.votes = 1;
        } else if self.top == x {
            self.votes = self.votes.saturating_add(1);
        } else {
            self.votes -= 1;
        }
    }

    /// Start a new vote (the candidate is kept until the next vote replaces it).
    pub fn clear(&mut self) {
        self.votes = 0;
    }

    /// The candidate, whatever its votes (the placeholder before any vote).
    pub fn candidate(&self) -> T {
        self.top
    }

    pub fn votes(&self) -> u32 {
        self.votes
    }

    /// The candidate while it has votes left.
    pub fn leader(&self) -> Option<T> {
        (self.votes > 0).then_some(self.top)
    }

    /// The candidate if it provably holds a strict majority of the `n`
    /// items voted since the last clear (see the type's docs).
    pub fn winner(&self, n: u32) -> Option<T> {
        self.has_majority(n).then_some(self.top)
    }

    /// Whether the candidate provably holds a majority of `n` items.
    pub fn has_majority(&self, n: u32) -> bool {
        n > 0 && self.votes.saturating_mul(2) >= n
    }
}

/// Identity of an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IncidentKey {
    /// Hash of the signature (see [`IncidentKey::new`]).
    pub signature: u64,
    pub attacker: Option<IpAddr>,
    pub victim: Option<IpAddr>,
}

impl IncidentKey {
    pub fn new(signature: &str, attacker: Option<IpAddr>, victim: Option<IpAddr>) -> Self {
        IncidentKey {
            signature: hash_of(&signature),
            attacker,
            victim,
        }
    }
}

/// The repeat-suppression table. See the module docs.
pub struct Incidents {
    last: CappedMap<IncidentKey, Timestamp>,
    quiet_us: i64,
}

impl Incidents {
    pub fn new(cap: usize, quiet_secs: u64) -> Self {
        Incidents {
            last: CappedMap::new(cap),
            quiet_us: (quiet_secs as i64).saturating_mul(1_000_000),
        }
    }

    /// True when this is a new incident (report it); false while the same
    /// incident goes on. Either way the incident's last activity becomes `now`.
    pub fn is_new(&mut self, key: IncidentKey, now: Timestamp) -> bool {
        let mut fresh = false;
        let last = self.last.entry(key, || {
            fresh = true;
            now
        });
        let new = fresh || now.since(*last) > self.quiet_us;
        *last = now.max(*last);
        new
    }

    /// Has this incident been reported and is it still going on?
    pub fn active(&self, key: &IncidentKey, now: Timestamp) -> bool {
        self.last
            .get(key)
            .is_some_and(|t| now.since(*t) <= self.quiet_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashbrown::HashMap;

    /// The spoofer's tally is not reset each second, so a long forged
    /// request stream reaches `u32::MAX` votes; one more must not overflow.
    #[test]
    fn a_vote_saturates_instead_of_overflowing() {
        let mut m = Majority {
            top: 7u32,
            votes: u32::MAX,
        };
        m.vote(7);
        assert_eq!((m.candidate(), m.votes()), (7, u32::MAX));
        m.vote(8);
        assert_eq!((m.candidate(), m.votes()), (7, u32::MAX - 1));
    }

    /// The vote's `winner` is never wrong: whenever it names a candidate,
    /// that candidate really sent at least half of the items. Streams mix a
    /// dominant sender at several shares with background senders, in
    /// shuffled orders.
    #[test]
    fn a_majority_winner_is_sound_and_finds_a_dominant_sender() {
        let mut x: u64 = 42;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u32
        };
        for share in [10u32, 40, 50, 60, 90, 99] {
            for _ in 0..200 {
                let n = 1 + next() % 600;
                let mut m = Majority::new(u32::MAX);
                let mut counts = std::collections::HashMap::new();
                for _ in 0..n {
                    let src = if next() % 100 < share { 7 } else { next() % 5 };
                    *counts.entry(src).or_insert(0u32) += 1;
                    m.vote(src);
                }
                if let Some(top) = m.winner(n) {
                    assert!(counts[&top] * 2 >= n, "share {share}: {top} is no majority");
                    assert_eq!(m.leader(), Some(top));
                }
                if share >= 90 && n >= 50 {
                    assert_eq!(m.winner(n), Some(7), "share {share}, n {n}");
                }
            }
        }
        // A cleared vote has no leader and no winner, whatever came before.
        let mut m = Majority::new(0u32);
        m.vote(3);
        m.clear();
        assert_eq!((m.leader(), m.winner(0), m.winner(1)), (None, None, None));
    }

    #[test]
    fn capped_map_never_exceeds_cap_and_keeps_active_keys() {
        let mut m: CappedMap<u32, u32> = CappedMap::new(100);
        for i in 0..10_000u32 {
            *m.entry(i, || 0) += 1;
            // Key 0 stays active throughout.
            *m.entry(0, || 0) += 1;
            assert!(m.len() <= 100);
        }
        assert!(m.get(&0).copied().unwrap_or(0) > 9_000);
    }

    /// The two-map layout `CappedMap` replaced, as the reference for
    /// which keys a capped table keeps and drops.
    struct TwoMaps<K, V> {
        young: HashMap<K, V, FixedState>,
        old: HashMap<K, V, FixedState>,
        half: usize,
    }

    impl<K: Hash + Eq + Copy, V> TwoMaps<K, V> {
        fn new(cap: usize) -> Self {
            TwoMaps {
                young: HashMap::with_hasher(hasher()),
                old: HashMap::with_hasher(hasher()),
                half: (cap / 2).max(1),
            }
        }
        fn entry(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
            if self.young.len() >= self.half && !self.young.contains_key(&k) {
                self.old = std::mem::replace(&mut self.young, HashMap::with_hasher(hasher()));
            }
            match self.young.entry(k) {
                hashbrown::hash_map::Entry::Occupied(o) => o.into_mut(),
                hashbrown::hash_map::Entry::Vacant(v) => {
                    let val = self.old.remove(&k).unwrap_or_else(make);
                    v.insert(val)
                }
            }
        }
        fn get(&self, k: &K) -> Option<&V> {
            self.young.get(k).or_else(|| self.old.get(k))
        }
        fn remove(&mut self, k: &K) -> bool {
            self.young
                .remove(k)
                .or_else(|| self.old.remove(k))
                .is_some()
        }
        fn len(&self) -> usize {
            self.young.len() + self.old.len()
        }
    }

    /// A xorshift stream: a few hot keys among many cold ones, so that
    /// keys come back from the old generation as well as being dropped.
    fn keys(n: usize) -> impl Iterator<Item = (u64, u32)> {
        let mut rng = 0x1234_5678u64;
        (0..n as u64).map(move |step| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let k = if rng.is_multiple_of(3) {
                (rng >> 8) as u32 % 8
            } else {
                (rng >> 8) as u32 % 500
            };
            (step, k)
        })
    }

    #[test]
    fn capped_map_keeps_and_drops_exactly_what_two_maps_do() {
        let mut a: TwoMaps<u32, u64> = TwoMaps::new(64);
        let mut b: CappedMap<u32, u64> = CappedMap::new(64);
        for (step, k) in keys(50_000) {
            if step.is_multiple_of(11) {
                assert_eq!(a.remove(&k), b.remove(&k));
            } else if step.is_multiple_of(7) {
                if let (Some(x), Some(y)) = (a.young.get_mut(&k), b.get_mut(&k)) {
                    *x += 5;
                    *y += 5;
                } else if let (Some(x), Some(y)) = (a.old.get_mut(&k), b.get_mut(&k)) {
                    *x += 5;
                    *y += 5;
                } else {
                    assert!(a.get(&k).is_none() && b.get(&k).is_none());
                }
            } else {
                *a.entry(k, || step) += 1;
                *b.entry(k, || step) += 1;
            }
            assert_eq!(a.len(), b.len());
            assert!(b.len() <= 64);
            if step.is_multiple_of(97) {
                for q in 0..500u32 {
                    assert_eq!(a.get(&q), b.get(&q), "key {q} at step {step}");
                }
            }
        }
        // Slots are reused: never more than the cap (plus the half that
        // fills before a generation is dropped).
        assert!(b.0.slots.len() <= 64 + 32, "{}", b.0.slots.len());
        b.retain(|k, _| k % 2 == 0);
        assert!(b.iter_mut().all(|(k, _)| k % 2 == 0));
        assert_eq!(b.len(), b.iter_mut().count());
    }

    #[test]
    fn id_map_keeps_and_drops_exactly_what_two_maps_do() {
        let mut a: TwoMaps<u32, u64> = TwoMaps::new(64);
        let mut b: IdMap<u64> = IdMap::new(64);
        for (step, k) in keys(50_000) {
            *a.entry(k, || step) += 1;
            *b.entry(k, || step) += 1;
            assert_eq!(a.len(), b.len());
            assert!(b.len() <= 64);
            if step.is_multiple_of(97) {
                for q in 0..500u32 {
                    assert_eq!(a.get(&q), b.get(q), "key {q} at step {step}");
                }
            }
        }
        let mut all: Vec<(u32, u64)> = b.iter_mut().map(|(k, v)| (k, *v)).collect();
        all.sort_unstable();
        let mut want: Vec<(u32, u64)> = a
            .young
            .iter()
            .chain(a.old.iter())
            .map(|(k, v)| (*k, *v))
            .collect();
        want.sort_unstable();
        assert_eq!(all, want);
    }

    #[test]
    fn distinct_estimates_small_counts_closely() {
        let mut d = Distinct::default();
        for i in 0..30u32 {
            d.insert(&i);
        }
        let e = d.estimate();
        assert!((27..=33).contains(&e), "estimate {e}");
        for i in 0..30u32 {
            d.insert(&i);
        }
        assert_eq!(d.estimate(), e);
    }

    #[test]
    fn incidents_suppress_until_quiet() {
        let mut inc = Incidents::new(16, 60);
        let k = IncidentKey::new("x", None, None);
        assert!(inc.is_new(k, Timestamp::from_secs(0)));
        assert!(!inc.is_new(k, Timestamp::from_secs(50)));
        assert!(!inc.is_new(k, Timestamp::from_secs(100)));
        assert!(inc.is_new(k, Timestamp::from_secs(200)));
    }
}
