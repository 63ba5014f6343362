//! Fixed-capacity hash tables for per-key statistics that spoofed keys cannot grow.
//!
//! Guarantees:
//! * The table allocates its `capacity` slots once (capacity is rounded up to a
//!   power of two) and never grows: a flood of random spoofed source addresses
//!   costs evictions, not memory.
//! * Every lookup inspects at most [`PROBE_WINDOW`] consecutive slots, so the
//!   work per packet is O(1) whatever the load.
//! * When all slots of the window are taken by other keys, the *least active*
//!   entry of the window is replaced: its packet count decayed over the slowest
//!   window (≈100 s half-life). An idle entry has activity ≈0 and goes first,
//!   so this is "replace the stalest" for idle keys, but a busy legitimate
//!   entry survives a flood of one-packet spoofed keys. Every replacement is
//!   counted in [`BoundedTable::evictions`].
//! * Lookups probe a dense array of 32-bit hash tags (eight probes are one
//!   cache line) and read a slot only when its tag matches, so a lookup costs
//!   about one cache line and one page for the tags plus the entry itself,
//!   instead of one large entry per probe — with tables of several MiB in
//!   4 KiB pages, the probes' TLB misses had been the table's main cost.
//! * Slot positions come from foldhash with a caller-chosen seed: the same seed
//!   gives the same behaviour on replay (determinism), and an operator who keeps
//!   the seed secret denies an attacker the ability to aim keys at one window.

use std::hash::{BuildHasher, Hash};

use serde::{Deserialize, Serialize};

/// Number of consecutive slots searched for a key (and among which the victim
/// of an eviction is chosen).
pub const PROBE_WINDOW: usize = 8;

/// What a table needs to know about a value to pick an eviction victim.
pub trait Activity {
    /// Decayed packet count of this entry at `now_us`, given it was last
    /// touched at `last_us`.
    fn activity(&self, last_us: i64, now_us: i64) -> f64;

    /// `Some(λ)` when [`Activity::activity`] is the entry's number of touches
    /// damped by `2^(−λ·seconds)`. The table then keeps that count itself,
    /// in a dense array beside the tags, and chooses an eviction victim from
    /// it without reading the eight candidates' entries — eight cache misses
    /// per new key once a table is full, which is the common case under a
    /// flood of spoofed keys.
    const DAMPED_TOUCHES: Option<f64> = None;
}

/// `2^(−λ·dt)` in `f32` without libm (1 for `dt <= 0`): only used to rank
/// eviction candidates, where a relative error of 1e-7 does not matter.
#[inline]
fn damp(lambda: f64, dt_secs: f64) -> f32 {
    if dt_secs > 0.0 {
        crate::mathx::exp2_approx((-lambda * dt_secs) as f32)
    } else {
        1.0
    }
}

/// The tag of a hash: its upper half, never 0 (0 marks an empty slot).
#[inline]
fn tag_of(hash: u64) -> u32 {
    ((hash >> 32) as u32).max(1)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot<K, V> {
    key: K,
    last_us: i64,
    value: V,
}

/// A key with its hash in one table ([`BoundedTable::hashed`]): only that
/// table's lookups may take it (another table's hash would file the key in
/// the wrong slots).
#[derive(Debug, Clone, Copy)]
pub struct Hashed<K> {
    key: K,
    hash: u64,
}

/// Result of touching a key.
pub struct Touch<'a, V> {
    pub value: &'a mut V,
    /// Seconds since the entry was last touched (0 for a fresh entry or when
    /// packet time went backwards).
    pub dt_secs: f64,
    /// The entry was created by this touch (new key, or a victim replaced).
    pub fresh: bool,
}

/// Open-addressing table with a bounded probe window; see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundedTable<K, V> {
    seed: u64,
    /// Per slot: 0 when empty, else [`tag_of`] the key's hash.
    tags: Vec<u32>,
    slots: Vec<Option<Slot<K, V>>>,
    /// With [`Activity::DAMPED_TOUCHES`]: per slot, the damped touch count
    /// as of `count_us` (empty until the first touch). Saved with the table,
    /// so that a restored engine evicts exactly as the one that stopped.
    counts: Vec<f32>,
    count_us: Vec<i64>,
    len: usize,
    evictions: u64,
}

impl<K, V> BoundedTable<K, V>
where
    K: Copy + Eq + Hash,
    V: Default + Activity,
{
    /// A table of `capacity` slots (rounded up to a power of two, at least
    /// [`PROBE_WINDOW`]).
    pub fn new(capacity: usize, seed: u64) -> Self {
        let cap = capacity.max(PROBE_WINDOW).next_power_of_two();
        let mut slots = Vec::with_capacity(cap);
        slots.resize_with(cap, || None);
        let mut t = Self {
            seed,
            tags: vec![0; cap],
            slots,
            counts: Vec::new(),
            count_us: Vec::new(),
            len: 0,
            evictions: 0,
        };
        t.ensure_counts();
        t
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of entries replaced because their window was full.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Checks the invariants a deserialised table must satisfy.
    pub(crate) fn is_well_formed(&self) -> bool {
        let cap = self.slots.len();
        cap >= PROBE_WINDOW
            && cap.is_power_of_two()
            && self.tags.len() == cap
            && self.counts.len() == self.count_us.len()
            && (self.counts.is_empty() || self.counts.len() == cap)
            && self.slots.iter().filter(|s| s.is_some()).count() == self.len
            && self.slots.iter().zip(&self.tags).all(|(s, &t)| match s {
                Some(s) => t == tag_of(self.hash(&s.key)),
                None => t == 0,
            })
    }

    #[inline]
    fn hash(&self, key: &K) -> u64 {
        foldhash::fast::FixedState::with_seed(self.seed).hash_one(key)
    }

    /// The entry in slot `idx` (for sweeps over all entries), if occupied.
    pub fn slot_mut(&mut self, idx: usize) -> Option<(K, &mut V)> {
        self.slots
            .get_mut(idx)?
            .as_mut()
            .map(|s| (s.key, &mut s.value))
    }

    /// Mutable access to every occupied entry.
    pub fn values_mut(&mut self) -> impl Iterator<Item = (K, &mut V)> {
        self.slots
            .iter_mut()
            .flatten()
            .map(|s| (s.key, &mut s.value))
    }

    /// `key` with its hash in this table, for a [`BoundedTable::prefetch`]
    /// and a [`BoundedTable::touch_hashed`] that hash it once between them.
    #[inline]
    pub fn hashed(&self, key: K) -> Hashed<K> {
        Hashed {
            hash: self.hash(&key),
            key,
        }
    }

    /// Asks the CPU to start loading the cache lines a lookup of `key`
    /// reads first (its tag line, its home slot and, with damped touch
    /// counts, their lines), so that the several lookups of one packet wait
    /// for memory together rather than one after another. Changes nothing;
    /// does nothing where no safe prefetch is at hand (not x86-64, or a CPU
    /// without AVX2, whose `pulp` token this borrows).
    #[inline]
    pub fn prefetch(&self, key: &Hashed<K>) {
        #[cfg(target_arch = "x86_64")]
        if let Some(s) = pulp::x86::V3::try_new() {
            use core::arch::x86_64::_MM_HINT_T0;
            let home = (key.hash as usize) & (self.slots.len() - 1);
            // Pointers only (never dereferenced here): a prefetch of any
            // address is harmless.
            s.sse
                ._mm_prefetch::<_MM_HINT_T0>(self.tags.as_ptr().wrapping_add(home).cast());
            s.sse
                ._mm_prefetch::<_MM_HINT_T0>(self.slots.as_ptr().wrapping_add(home).cast());
            if !self.counts.is_empty() {
                s.sse
                    ._mm_prefetch::<_MM_HINT_T0>(self.counts.as_ptr().wrapping_add(home).cast());
                s.sse
                    ._mm_prefetch::<_MM_HINT_T0>(self.count_us.as_ptr().wrapping_add(home).cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = key;
    }

    /// Finds `key` without modifying anything.
    pub fn get(&self, key: &K) -> Option<&V> {
        let mask = self.slots.len() - 1;
        let h = self.hash(key);
        let (home, tag) = ((h as usize) & mask, tag_of(h));
        (0..PROBE_WINDOW)
            .map(|i| (home + i) & mask)
            .filter(|&idx| self.tags.get(idx) == Some(&tag))
            .filter_map(|idx| self.slots.get(idx)?.as_ref())
            .find(|s| s.key == *key)
            .map(|s| &s.value)
    }

    /// Builds the dense touch counts from the entries when they are missing:
    /// [`BoundedTable::new`] does, and a caller that deserialises a table
    /// must (a state saved before counts were built at construction may
    /// hold a table without them), so that no lookup has to check.
    pub(crate) fn ensure_counts(&mut self) {
        if V::DAMPED_TOUCHES.is_none() || self.counts.len() == self.slots.len() {
            return;
        }
        self.counts = self
            .slots
            .iter()
            .map(|s| {
                s.as_ref()
                    .map_or(0.0, |s| s.value.activity(s.last_us, s.last_us) as f32)
            })
            .collect();
        self.count_us = self
            .slots
            .iter()
            .map(|s| s.as_ref().map_or(0, |s| s.last_us))
            .collect();
    }

    /// Finds or creates the entry for `key` at packet time `now_us`.
    pub fn touch(&mut self, key: K, now_us: i64) -> Touch<'_, V> {
        let h = self.hash(&key);
        self.touch_at(key, h, now_us)
    }

    /// [`BoundedTable::touch`] with the hash [`BoundedTable::hashed`] gave.
    pub fn touch_hashed(&mut self, key: Hashed<K>, now_us: i64) -> Touch<'_, V> {
        debug_assert_eq!(key.hash, self.hash(&key.key), "hashed by another table");
        self.touch_at(key.key, key.hash, now_us)
    }

    #[inline(always)]
    fn touch_at(&mut self, key: K, h: u64, now_us: i64) -> Touch<'_, V> {
        let mask = self.slots.len() - 1;
        let (home, tag) = ((h as usize) & mask, tag_of(h));
        let mut empty = None;
        let mut found = None;
        for i in 0..PROBE_WINDOW {
            let idx = (home + i) & mask;
            let t = self.tags[idx];
            if t == tag {
                if matches!(&self.slots[idx], Some(s) if s.key == key) {
                    found = Some(idx);
                    break;
                }
            } else if t == 0 && empty.is_none() {
                empty = Some(idx);
            }
        }
        let (idx, fresh) = match (found, empty) {
            (Some(idx), _) => (idx, false),
            (None, Some(idx)) => {
                self.len += 1;
                (idx, true)
            }
            (None, None) => {
                self.evictions += 1;
                (self.least_active(home, now_us), true)
            }
        };
        if fresh {
            self.tags[idx] = tag;
            self.slots[idx] = Some(Slot {
                key,
                last_us: now_us,
                value: V::default(),
            });
        }
        let slot = self.slots[idx]
            .as_mut()
            .expect("slot was found or filled just above");
        let dt_secs = if now_us > slot.last_us {
            now_us.saturating_sub(slot.last_us) as f64 * 1e-6
        } else {
            0.0
        };
        slot.last_us = slot.last_us.max(now_us);
        if let (Some(lambda), Some(c), Some(t)) = (
            V::DAMPED_TOUCHES,
            self.counts.get_mut(idx),
            self.count_us.get_mut(idx),
        ) {
            *c = if fresh {
                0.0
            } else {
                *c * damp(lambda, dt_secs)
            } + 1.0;
            *t = slot.last_us;
        }
        Touch {
            value: &mut slot.value,
            dt_secs,
            fresh,
        }
    }

    fn least_active(&self, home: usize, now_us: i64) -> usize {
        let mask = self.slots.len() - 1;
        let mut best = home & mask;
        if let Some(lambda) = V::DAMPED_TOUCHES {
            if self.counts.len() == self.slots.len() && self.count_us.len() == self.slots.len() {
                // Every slot of the window is occupied (that is why we evict).
                let mut best_activity = f32::INFINITY;
                for i in 0..PROBE_WINDOW {
                    let idx = (home + i) & mask;
                    let dt = now_us.saturating_sub(self.count_us[idx]) as f64 * 1e-6;
                    let a = self.counts[idx] * damp(lambda, dt);
                    if a < best_activity {
                        best_activity = a;
                        best = idx;
                    }
                }
                return best;
            }
        }
        let mut best_activity = f64::INFINITY;
        for i in 0..PROBE_WINDOW {
            let idx = (home + i) & mask;
            if let Some(s) = &self.slots[idx] {
                let a = s.value.activity(s.last_us, now_us);
                // `<` keeps the first of equals; NaN never wins.
                if a < best_activity {
                    best_activity = a;
                    best = idx;
                }
            }
        }
        best
    }
}

/// Asks the CPU to start loading every cache line of `value` (an entry a
/// lookup returned), so that an entry spread over several lines arrives
/// while earlier arithmetic runs instead of line by line as the statistics
/// reach it. Changes nothing; does nothing where no safe prefetch is at hand
/// (as [`BoundedTable::prefetch`]).
#[inline(always)]
pub fn prefetch_entry<V>(value: &V) {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = pulp::x86::V3::try_new() {
        use core::arch::x86_64::_MM_HINT_T0;
        let p = (value as *const V).cast::<i8>();
        let n = core::mem::size_of::<V>();
        // Pointers only (never dereferenced here): one prefetch per line
        // the value touches, its last byte's line included.
        let mut off = 0;
        while off < n {
            s.sse._mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off));
            off += 64;
        }
        if n > 0 {
            s.sse._mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(n - 1));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug, Clone, Serialize, Deserialize)]
    struct Count(f64);

    impl Activity for Count {
        fn activity(&self, last_us: i64, now_us: i64) -> f64 {
            self.0 * crate::damped::decay_factor(0.01, now_us.saturating_sub(last_us) as f64 * 1e-6)
        }
    }

    #[test]
    fn flood_of_spoofed_keys_keeps_size_and_busy_entries() {
        let mut t: BoundedTable<u64, Count> = BoundedTable::new(1024, 42);
        let cap = t.capacity();
        // A busy legitimate key.
        for i in 0..1000 {
            t.touch(7, i).value.0 += 1.0;
        }
        for k in 0..200_000u64 {
            let key = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1 << 63;
            t.touch(key, 1000 + k as i64).value.0 += 1.0;
        }
        assert_eq!(t.capacity(), cap);
        assert!(t.len() <= cap);
        assert!(t.evictions() > 190_000);
        assert!(
            t.get(&7).is_some(),
            "busy entry must survive one-packet keys"
        );
        assert!(t.is_well_formed());
    }

    /// A touch count damped like `Count`'s activity, so the table may keep it.
    #[derive(Default, Debug, Clone, Serialize, Deserialize)]
    struct Damped(f64, i64);

    impl Activity for Damped {
        fn activity(&self, last_us: i64, now_us: i64) -> f64 {
            self.0 * crate::damped::decay_factor(0.01, now_us.saturating_sub(last_us) as f64 * 1e-6)
        }
        const DAMPED_TOUCHES: Option<f64> = Some(0.01);
    }

    #[test]
    fn dense_counts_evict_like_the_entries_and_survive_a_reload() {
        let mut t: BoundedTable<u64, Damped> = BoundedTable::new(64, 3);
        for i in 0..2000i64 {
            let v = t.touch(7, i * 1000).value;
            // The entry's own damped count, as the feature tables keep it.
            v.0 = v.0 * crate::damped::decay_factor(0.01, (i * 1000 - v.1) as f64 * 1e-6) + 1.0;
            v.1 = i * 1000;
        }
        let bytes = postcard::to_allocvec(&t).expect("serialises");
        let mut t: BoundedTable<u64, Damped> = postcard::from_bytes(&bytes).expect("loads");
        assert!(t.is_well_formed());
        for k in 0..50_000u64 {
            let key = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1 << 63;
            t.touch(key, 2_000_000 + k as i64);
        }
        assert!(
            t.get(&7).is_some(),
            "the busy entry outranks one-touch keys"
        );
        assert!(t.evictions() > 49_000);
        assert_eq!(t.len(), t.capacity());
    }

    #[test]
    fn reports_elapsed_time_and_tolerates_time_going_backwards() {
        let mut t: BoundedTable<u32, Count> = BoundedTable::new(16, 1);
        assert!(t.touch(1, 1_000_000).fresh);
        let touch = t.touch(1, 3_500_000);
        assert!(!touch.fresh);
        assert!((touch.dt_secs - 2.5).abs() < 1e-12);
        assert_eq!(t.touch(1, 2_000_000).dt_secs, 0.0);
        // The entry remembers the latest time, not the earlier one.
        assert!((t.touch(1, 4_500_000).dt_secs - 1.0).abs() < 1e-12);
    }
}
