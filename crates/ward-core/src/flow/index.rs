//! The flow table's index: a flow key's hash → the flow's slab slot.
//!
//! Open addressing with linear probing over 8-byte entries that hold the
//! slot *and* 32 bits of the hash, so a lookup reads one cache line of the
//! index (eight entries) and then the one flow whose hash bits match, instead
//! of a control-byte group, a separate bucket array and then the flow. The
//! position of an entry comes from the top bits of its hash, which the entry
//! keeps, so growing never needs the flows' keys again. Removal shifts later
//! entries back (no tombstones), so probe sequences never lengthen with churn.
//!
//! Guarantees: at most 3/4 full (probe sequences stay short whatever the
//! churn); memory is 8 bytes × a power of two ≥ 4/3 × the entries held;
//! lookups are exact (the caller's `eq` decides; matching hash bits only
//! select candidates). Hash-flooding resistance comes from the caller's
//! seeded hash.

/// An empty entry (slot `u32::MAX` is never handed out).
const EMPTY: u64 = u64::MAX;

/// Fewest entries once anything is stored.
const MIN_BITS: u32 = 4;

/// Most entries: 2^31 (16 GiB of index; far beyond any configured table).
const MAX_BITS: u32 = 31;

pub(super) struct Index {
    entries: Vec<u64>,
    /// log2 of `entries.len()` (0 while empty).
    bits: u32,
    len: usize,
}

#[inline]
fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

#[inline]
fn entry(tag: u32, slot: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(slot)
}

impl Index {
    pub(super) fn new() -> Self {
        Index {
            entries: Vec::new(),
            bits: 0,
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
    }

    /// Home position of an entry with hash bits `tag`.
    #[inline]
    fn home(&self, tag: u32) -> usize {
        // bits ≤ 31, so the shift is in range; bits = 0 never gets here.
        (tag >> (32 - self.bits)) as usize
    }

    /// The slot whose hash is `hash` and for which `eq` holds.
    #[inline]
    pub(super) fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let t = tag(hash);
        let mask = self.mask();
        let mut pos = self.home(t);
        loop {
            let e = self.entries[pos];
            if e == EMPTY {
                return None;
            }
            if (e >> 32) as u32 == t && eq(e as u32) {
                return Some(e as u32);
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Add `slot` under `hash` (the caller knows it is not there yet).
    pub(super) fn insert(&mut self, hash: u64, slot: u32) {
        if (self.len + 1) * 4 > self.entries.len() * 3 {
            self.grow();
        }
        self.place(entry(tag(hash), slot));
        self.len += 1;
    }

    fn place(&mut self, e: u64) {
        let mask = self.mask();
        let mut pos = self.home((e >> 32) as u32);
        while self.entries[pos] != EMPTY {
            pos = (pos + 1) & mask;
        }
        self.entries[pos] = e;
    }

    fn grow(&mut self) {
        let bits = (self.bits + 1).clamp(MIN_BITS, MAX_BITS);
        assert!(bits > self.bits, "flow index full at 2^{MAX_BITS} entries");
        let old = std::mem::replace(&mut self.entries, vec![EMPTY; 1 << bits]);
        self.bits = bits;
        for e in old {
            if e != EMPTY {
                self.place(e);
            }
        }
    }

    /// Remove `slot`, stored under `hash`. Returns whether it was there.
    pub(super) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        if self.len == 0 {
            return false;
        }
        let t = tag(hash);
        let mask = self.mask();
        let mut pos = self.home(t);
        loop {
            let e = self.entries[pos];
            if e == EMPTY {
                return false;
            }
            if e == entry(t, slot) {
                break;
            }
            pos = (pos + 1) & mask;
        }
        // Backward-shift: move later entries of the run into the hole when
        // their home is not between the hole and where they sit.
        let mut hole = pos;
        let mut j = pos;
        loop {
            j = (j + 1) & mask;
            let e = self.entries[j];
            if e == EMPTY {
                break;
            }
            let home = self.home((e >> 32) as u32);
            // Distance from home to j vs from hole to j (cyclic).
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.entries[hole] = e;
                hole = j;
            }
        }
        self.entries[hole] = EMPTY;
        self.len -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A tiny deterministic generator (xorshift) for the model test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn matches_a_hash_map_under_churn_and_collisions() {
        let mut rng = Rng(0x1234_5678);
        let mut idx = Index::new();
        // slot → hash; hashes drawn from a small set so that many share
        // their top bits (long runs, wrap-around, equal tags).
        let mut model: HashMap<u32, u64> = HashMap::new();
        let mut live: Vec<u32> = Vec::new();
        let mut next_slot = 0u32;
        for round in 0..100_000u32 {
            let r = rng.next();
            if !r.is_multiple_of(3) || model.is_empty() {
                let hash = (rng.next() % 4096) << 52 | (rng.next() % 8);
                idx.insert(hash, next_slot);
                model.insert(next_slot, hash);
                live.push(next_slot);
                next_slot += 1;
            } else {
                let victim = live.swap_remove((r as usize / 3) % live.len());
                let hash = model.remove(&victim).unwrap();
                assert!(idx.remove(hash, victim), "round {round}");
                assert!(!idx.remove(hash, victim));
            }
            assert_eq!(idx.len(), model.len());
            if round.is_multiple_of(997) {
                for (&slot, &hash) in &model {
                    assert_eq!(idx.find(hash, |s| s == slot), Some(slot));
                }
            }
        }
        for (&slot, &hash) in &model {
            assert_eq!(idx.find(hash, |s| s == slot), Some(slot));
            assert_eq!(idx.find(hash, |_| false), None);
        }
        assert!(idx.entries.len() * 3 >= idx.len() * 4);
    }

    #[test]
    fn empty_index_finds_and_removes_nothing() {
        let mut idx = Index::new();
        assert_eq!(idx.find(42, |_| true), None);
        assert!(!idx.remove(42, 0));
    }
}
