//! Least-recently-used lists over slab slots, shared by the flow and device
//! tables: O(1) touch, remove and oldest-of-class, so expiry and eviction
//! never scan a table.

pub(crate) const NIL: u32 = u32::MAX;

/// Slots must be below this: a link keeps its list's class in the top four
/// bits of the `prev` word (8 bytes per slot instead of 12, ≈ 4 MB at a
/// million flows). Tables cap their size here (2^28 − 1 flows would be
/// 38 GB of `Flow`s, far past any real configuration).
pub(crate) const MAX_SLOTS: usize = SLOT_MASK as usize;

const SLOT_MASK: u32 = 0x0FFF_FFFF;
const TAG_SHIFT: u32 = 28;

/// `prev`: the previous (more recent) slot in bits 0–27 ([`SLOT_MASK`] for
/// none) and, in bits 28–31, the class + 1 (0: not in any list).
/// `next`: the next (older) slot, [`NIL`] for none.
#[derive(Clone, Copy)]
struct Links {
    prev: u32,
    next: u32,
}

const UNLINKED: Links = Links {
    prev: SLOT_MASK,
    next: NIL,
};

impl Links {
    fn linked(class: usize, prev: u32, next: u32) -> Links {
        debug_assert!(class < 15);
        Links {
            prev: ((class as u32 + 1) << TAG_SHIFT) | (prev & SLOT_MASK),
            next,
        }
    }
    /// The class of the list the slot is in, if any.
    fn class(self) -> Option<usize> {
        match self.prev >> TAG_SHIFT {
            0 => None,
            t => Some(t as usize - 1),
        }
    }
    fn prev(self) -> u32 {
        match self.prev & SLOT_MASK {
            SLOT_MASK => NIL,
            p => p,
        }
    }
    fn set_prev(&mut self, prev: u32) {
        self.prev = (self.prev & !SLOT_MASK) | (prev & SLOT_MASK);
    }
}

/// `N` independent recency lists over slots `0..MAX_SLOTS`; a slot is in at most one.
pub(crate) struct LruLists<const N: usize> {
    links: Vec<Links>,
    heads: [u32; N],
    tails: [u32; N],
}

impl<const N: usize> LruLists<N> {
    pub fn new() -> Self {
        LruLists {
            links: Vec::new(),
            heads: [NIL; N],
            tails: [NIL; N],
        }
    }

    /// Make `slot` the most recent of `class` (moving it from any list it is in).
    /// `slot` must be below [`MAX_SLOTS`] (the tables cap their size there).
    pub fn touch(&mut self, slot: u32, class: usize) {
        // Already the most recent of its class (a burst of one flow's
        // packets): nothing moves, and the neighbours' links stay untouched.
        if self.heads[class] == slot {
            return;
        }
        debug_assert!((slot as usize) < MAX_SLOTS);
        let i = slot as usize;
        if i >= self.links.len() {
            self.links.resize(i + 1, UNLINKED);
        }
        self.remove(slot);
        let head = self.heads[class];
        self.links[i] = Links::linked(class, NIL, head);
        if head != NIL {
            self.links[head as usize].set_prev(slot);
        } else {
            self.tails[class] = slot;
        }
        self.heads[class] = slot;
    }

    pub fn remove(&mut self, slot: u32) {
        let Some(l) = self.links.get(slot as usize).copied() else {
            return;
        };
        let Some(c) = l.class() else {
            return;
        };
        let (prev, next) = (l.prev(), l.next);
        if prev != NIL {
            self.links[prev as usize].next = next;
        } else {
            self.heads[c] = next;
        }
        if next != NIL {
            self.links[next as usize].set_prev(prev);
        } else {
            self.tails[c] = prev;
        }
        self.links[slot as usize] = UNLINKED;
    }

    /// The least recently touched slot of `class`.
    pub fn oldest(&self, class: usize) -> Option<u32> {
        let t = self.tails[class];
        (t != NIL).then_some(t)
    }

    /// Slots of `class` from least to most recent.
    pub fn iter_oldest_first(&self, class: usize) -> impl Iterator<Item = u32> + '_ {
        let mut cur = self.tails[class];
        std::iter::from_fn(move || {
            if cur == NIL {
                return None;
            }
            let s = cur;
            cur = self.links[s as usize].prev();
            Some(s)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_moves_to_front_and_oldest_is_the_tail() {
        let mut l: LruLists<2> = LruLists::new();
        l.touch(0, 0);
        l.touch(1, 0);
        l.touch(2, 1);
        assert_eq!(l.oldest(0), Some(0));
        l.touch(0, 0);
        assert_eq!(l.oldest(0), Some(1));
        assert_eq!(l.iter_oldest_first(0).collect::<Vec<_>>(), vec![1, 0]);
        l.touch(1, 1);
        assert_eq!(l.iter_oldest_first(1).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(l.oldest(0), Some(0));
        l.remove(0);
        assert_eq!(l.oldest(0), None);
        l.remove(0); // removing twice is harmless
    }

    /// Every class survives the packing into the link word, and lists of
    /// different classes interleaved over the slots stay separate.
    #[test]
    fn classes_stay_apart_when_packed() {
        let mut l: LruLists<5> = LruLists::new();
        for slot in 0..50u32 {
            l.touch(slot, (slot % 5) as usize);
        }
        for c in 0..5u32 {
            let want: Vec<u32> = (0..50).filter(|s| s % 5 == c).collect();
            assert_eq!(l.iter_oldest_first(c as usize).collect::<Vec<_>>(), want);
        }
        // Move 7 from class 2 to class 4, remove the oldest of class 0.
        l.touch(7, 4);
        l.remove(0);
        assert_eq!(
            l.iter_oldest_first(2).collect::<Vec<_>>(),
            vec![2, 12, 17, 22, 27, 32, 37, 42, 47]
        );
        assert_eq!(l.iter_oldest_first(4).last(), Some(7));
        assert_eq!(l.oldest(0), Some(5));
        assert_eq!(std::mem::size_of::<Links>(), 8);
    }
}
