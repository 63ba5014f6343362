//! Least-recently-used lists over slab slots, shared by the flow and device
//! tables: O(1) touch, remove and oldest-of-class, so expiry and eviction
//! never scan a table.

pub(crate) const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Links {
    prev: u32,
    next: u32,
    class: u8,
    linked: bool,
}

const UNLINKED: Links = Links {
    prev: NIL,
    next: NIL,
    class: 0,
    linked: false,
};

/// `N` independent recency lists over slots `0..`; a slot is in at most one.
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
    pub fn touch(&mut self, slot: u32, class: usize) {
        // Already the most recent of its class (a burst of one flow's
        // packets): nothing moves, and the neighbours' links stay untouched.
        if self.heads[class] == slot {
            return;
        }
        let i = slot as usize;
        if i >= self.links.len() {
            self.links.resize(i + 1, UNLINKED);
        }
        self.remove(slot);
        let head = self.heads[class];
        self.links[i] = Links {
            prev: NIL,
            next: head,
            class: class as u8,
            linked: true,
        };
        if head != NIL {
            self.links[head as usize].prev = slot;
        } else {
            self.tails[class] = slot;
        }
        self.heads[class] = slot;
    }

    pub fn remove(&mut self, slot: u32) {
        let Some(l) = self.links.get(slot as usize).copied() else {
            return;
        };
        if !l.linked {
            return;
        }
        let c = l.class as usize;
        if l.prev != NIL {
            self.links[l.prev as usize].next = l.next;
        } else {
            self.heads[c] = l.next;
        }
        if l.next != NIL {
            self.links[l.next as usize].prev = l.prev;
        } else {
            self.tails[c] = l.prev;
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
            cur = self.links[s as usize].prev;
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
}
