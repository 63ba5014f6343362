//! DNS answer races, the one fact behind both the `dns-spoofing` alert
//! ([`crate::spoofing`]) and the behaviour model's forged-answer input
//! ([`crate::behaviour`]).
//!
//! A forger on the LAN (or on the path) answers a device's query before the
//! real resolver does, under the resolver's source address; the device takes
//! the first answer and the real one arrives second. So: two answers to the
//! same client, query id and name, within a few seconds, that share no
//! address, are a race. Which one was forged is told by who sent it: a LAN
//! resolver's address belongs to one MAC, and a remote resolver's answers
//! come through the gateway's MAC; an answer sent under an address its MAC
//! does not own is the forgery. With nothing to tell, the first answer is
//! blamed (a forger must win the race to be of use), but [`Race::forged`]
//! says that nothing backs the choice.
//!
//! A race is one of two shapes, and callers weigh them differently:
//!
//! - **One resolver, two answers** ([`Race::same_source`]): both carry the
//!   source address of the resolver the client asked. A resolver answers a
//!   query once (a retransmitted query is answered again from the same
//!   cache, with the same addresses), so one of the two was forged: by a LAN
//!   host under the resolver's address, or from beyond the router (both then
//!   arrive with the router's MAC, and nothing on the LAN names the forger).
//! - **Two resolvers**: a client that asks its router and a public resolver
//!   (or the router and a Pi-hole) with one query id, at once or after a
//!   timeout (glibc, Android and Windows fall back to the next configured
//!   server), hears two genuine answers that may name different CDN
//!   addresses. Only a sender shown not to own its source address makes
//!   such a race a forgery.
//!
//! Answers are compared by their first [`MAX_ADDRS`] addresses. Two answers
//! that each carry more are no race: a resolver rotating a long record set
//! (round-robin) shows different first addresses each time, and a forger
//! needs only one.
//!
//! Memory: one [`CappedMap`] entry per (client, query id, name) answered,
//! holding the last answer of at most [`SENDERS_KEPT`] senders, so a forged
//! answer is still compared with the real one when a second resolver's
//! answer came between them. The cap is the caller's; a flood of answers
//! churns it, never grows it.

use std::net::IpAddr;

use ward_core::decode::Packet;
use ward_core::scope::LocalScope;
use ward_core::{MacAddr, PacketContext, Timestamp};
use ward_proto::DnsSummary;

use crate::table::{hash_of, CappedMap};

/// Addresses of an answer kept (and compared): the first four.
pub const MAX_ADDRS: usize = 4;
/// Senders whose last answer to one query is remembered.
pub const SENDERS_KEPT: usize = 2;

/// One DNS answer, as the race check keeps it.
#[derive(Clone, Copy, Debug)]
pub struct DnsAnswer {
    pub at: Timestamp,
    /// Source address of the answer (the resolver's, or the one forged).
    pub src: IpAddr,
    /// The frame's source MAC.
    pub mac: Option<MacAddr>,
    addrs: [Option<IpAddr>; MAX_ADDRS],
    /// Whether `addrs` holds all of the answer's addresses.
    complete: bool,
}

impl DnsAnswer {
    /// Its A and AAAA addresses (the first [`MAX_ADDRS`]).
    pub fn addrs(&self) -> [Option<IpAddr>; MAX_ADDRS] {
        self.addrs
    }

    /// Whether the two answers name different hosts: no address in common,
    /// and at least one of them kept whole (see the module docs).
    fn contradicts(&self, other: &DnsAnswer) -> bool {
        (self.complete || other.complete)
            && !self
                .addrs
                .iter()
                .flatten()
                .any(|a| other.addrs.contains(&Some(*a)))
    }

    fn same_sender(&self, other: &DnsAnswer) -> bool {
        self.src == other.src && self.mac == other.mac
    }

    /// Whether the answer came from the MAC that owns its source address:
    /// `owner_of` says which MAC owns a (LAN) address, and an off-LAN
    /// resolver's (outside `scope`) answers come through `gateway`. `None`
    /// when that cannot be told.
    pub fn sent_by_owner(
        &self,
        owner_of: impl FnOnce(IpAddr) -> Option<MacAddr>,
        gateway: Option<MacAddr>,
        scope: &LocalScope,
    ) -> Option<bool> {
        let mac = self.mac?;
        if let Some(owner) = owner_of(self.src) {
            return Some(owner == mac);
        }
        if !scope.is_local(self.src) {
            return gateway.map(|g| g == mac);
        }
        None
    }
}

/// The hash of a query name, case-folded (DNS compares names without case),
/// without allocating for every answer: folded on the stack up to 256 bytes
/// (a DNS name is at most 255). A name always takes the same path, so equal
/// names always get equal keys.
fn name_key(name: &str) -> u64 {
    let mut buf = [0u8; 256];
    match buf.get_mut(..name.len()) {
        Some(b) => {
            b.copy_from_slice(name.as_bytes());
            b.make_ascii_lowercase();
            hash_of(&&*b)
        }
        None => hash_of(&name.to_ascii_lowercase()),
    }
}

/// Two answers to one query that contradict each other.
#[derive(Clone, Copy, Debug)]
pub struct Race {
    /// The host both answers went to.
    pub client: IpAddr,
    pub id: u16,
    pub earlier: DnsAnswer,
    pub later: DnsAnswer,
}

impl Race {
    /// Whether both answers carry one source address: the resolver the
    /// client asked answered twice, differently, so one answer is forged
    /// whoever sent it (see the module docs).
    pub fn same_source(&self) -> bool {
        self.earlier.src == self.later.src
    }

    /// The answer the race blames, by `genuine` (whether an answer came from
    /// the owner of its source address, [`DnsAnswer::sent_by_owner`]): the
    /// one that did not, else the first. The flag says whether the choice
    /// rests on that evidence (the blamed answer's sender is shown not to
    /// own its address) rather than on the order alone.
    pub fn forged(&self, genuine: impl Fn(&DnsAnswer) -> Option<bool>) -> (&DnsAnswer, bool) {
        let (e, l) = (genuine(&self.earlier), genuine(&self.later));
        match (e, l) {
            (Some(false), _) => (&self.earlier, true),
            (_, Some(false)) => (&self.later, true),
            (Some(true), _) => (&self.later, false),
            _ => (&self.earlier, false),
        }
    }
}

/// The race check: remembers the last answers to each client per query id
/// and name. See the module docs.
pub struct DnsRace {
    answers: CappedMap<(IpAddr, u16, u64), [Option<DnsAnswer>; SENDERS_KEPT]>,
    window_us: i64,
}

impl DnsRace {
    /// At most `cap` queries' answers remembered; answers further apart than
    /// `window_secs` are no race.
    pub fn new(cap: usize, window_secs: u64) -> Self {
        DnsRace {
            answers: CappedMap::new(cap),
            window_us: (window_secs as i64).saturating_mul(1_000_000),
        }
    }

    /// Records the DNS message `m` of the packet in `ctx` when it is an
    /// answer (not mDNS) with addresses, and returns the race it completes:
    /// with an earlier answer from the same source address if there is one
    /// (the stronger shape), else with the latest contradicting answer.
    pub fn observe(&mut self, ctx: &PacketContext<'_, '_>, m: &DnsSummary) -> Option<Race> {
        self.observe_packet(ctx.pkt, m)
    }

    fn observe_packet(&mut self, pkt: &Packet<'_>, m: &DnsSummary) -> Option<Race> {
        if !m.response || m.mdns || m.answers.is_empty() {
            return None;
        }
        let ip = pkt.ip()?;
        let name = m.queries.first()?;
        let mut addrs = [None; MAX_ADDRS];
        for (slot, (_, a)) in addrs.iter_mut().zip(&m.answers) {
            *slot = Some(*a);
        }
        let fresh = DnsAnswer {
            at: pkt.ts,
            src: ip.src,
            mac: pkt.link.src,
            addrs,
            complete: m.answers.len() <= MAX_ADDRS,
        };
        let key = (ip.dst, m.id, name_key(name));
        let kept = self.answers.entry(key, || [None; SENDERS_KEPT]);
        let mut race: Option<DnsAnswer> = None;
        for p in kept.iter().flatten() {
            if fresh.at.since(p.at) > self.window_us || !p.contradicts(&fresh) {
                continue;
            }
            let better = match race {
                None => true,
                Some(r) => {
                    let (ps, rs) = (p.src == fresh.src, r.src == fresh.src);
                    ps && !rs || ps == rs && p.at >= r.at
                }
            };
            if better {
                race = Some(*p);
            }
        }
        // The fresh answer replaces its sender's last one, else an empty
        // slot, else the oldest.
        let slot = match kept
            .iter()
            .position(|k| k.is_some_and(|k| k.same_sender(&fresh)))
        {
            Some(i) => i,
            None => kept
                .iter()
                .enumerate()
                .min_by_key(|(_, k)| k.map_or(i64::MIN, |k| k.at.0))
                .map_or(0, |(i, _)| i),
        };
        if let Some(s) = kept.get_mut(slot) {
            *s = Some(fresh);
        }
        race.map(|earlier| Race {
            client: ip.dst,
            id: m.id,
            earlier,
            later: fresh,
        })
    }
}

/// The MAC a local device sends off-LAN traffic to (the gateway), read from
/// one packet: `None` unless the packet goes from a local address to a
/// remote (by `scope`), unicast one with a station MAC as its destination.
pub fn off_lan_next_hop(pkt: &Packet<'_>, scope: &LocalScope) -> Option<MacAddr> {
    let ip = pkt.ip()?;
    // A packet between two remote hosts is transit and says nothing.
    if scope.is_local(ip.src) && !scope.is_local(ip.dst) && !ip.dst.is_multicast() {
        pkt.link.dst.filter(|m| m.is_station())
    } else {
        None
    }
}
