//! MAC–IP binding and fan-in features: who claims which address, and who
//! is being hammered.
//!
//! The AfterImage features describe traffic per address, so an attacker who
//! sends under *other* addresses hides in them: every packet of a flood with
//! random spoofed sources is the first packet of a new host, and ARP
//! poisoning (the attacker's MAC answering for the gateway's address and
//! forwarding the victim's packets) is a handful of ordinary-looking
//! packets. Kitsune catches ARP poisoning through its MAC–IP channel; these
//! features make that relation explicit and cheap. The AfterImage features
//! are also all about what a host *sends*: a brute-forced or scanned
//! device's answers look like a server at work. The fan-in features give
//! every packet the connection attempts its source and its destination are
//! *receiving*:
//!
//! | feature | per | meaning |
//! |---|---|---|
//! | `mac.new_ip_rate@1s`, `@10s` | source MAC | addresses per second this MAC started to send from, beyond its first one of each family (IPv4, IPv6) |
//! | `ip.mac_conflict_rate@1s`, `@10s` | source address | packets per second sent from this address by a MAC other than the one that owns it |
//! | `src.syn_in_rate@1s`, `@10s` | source address | TCP connection attempts (SYN without ACK) per second this (local) address receives |
//! | `dst.syn_in_rate@1s`, `@10s` | destination address | the same for the destination |
//! | `mac.dhcp_new_client_rate@1s`, `@10s` | source MAC | DHCP client messages per second in the name of a hardware address (`chaddr`) other than the MAC's own, and new for this MAC |
//! | `dns.contradicted_dst_rate@1s`, `@10s` | (source, destination) | packets per second the source sends to an address that a forged DNS answer gave it |
//!
//! DHCP starvation asks for every address of the pool from one NIC in the
//! names of made-up hardware: the forged addresses are inside the DHCP
//! payload and the packets come from `0.0.0.0`, so no header feature sees
//! them. The caller's DHCP parser hands the client address in
//! ([`crate::PacketHints::dhcp_client_mac`]); a device asking for itself
//! counts nothing, and a relay renewing the same clients counts each client
//! once (per table slot).
//!
//! DNS spoofing redirects a device by a forged answer: the device then talks
//! to the forger's address (or the forger's server) like to any other
//! host, and no header says why. The caller checks DNS answers for races
//! (two answers to one query from different senders that share no address)
//! and, when it can tell the forged one (its sender's MAC does not own its
//! source address), hands its addresses in with the packet that revealed
//! the race ([`crate::PacketHints::contradicted_dns`]). Each (client,
//! address) pair is remembered for [`CONTRADICTED_MEMORY_SECS`] after the
//! last forged answer that named it, in a table of its own whose least
//! active pair is replaced when full, so a flood of forged answers costs
//! evictions, not memory. Two resolvers that answer one query with
//! different CDN addresses are a race too, but neither answer is forged:
//! the caller hands nothing in, and nothing counts.
//!
//! A new address counts only while the MAC is still using another address
//! of the same family (it sent from one within [`OWNER_TIMEOUT_SECS`]): a
//! device that joins the network (or a lab run whose devices all have new
//! MACs) is the device tracker's news, and a device that comes back after a
//! while on a new DHCP lease has moved, not multiplied. A pair stays known
//! until its table slot is reused for a busier pair, so a device that is
//! silent for a while and returns on its address binds nothing new.
//!
//! An address is *owned* by the MAC that first used it; ownership passes to
//! another MAC only after the owner has been silent for
//! [`OWNER_TIMEOUT_SECS`] (a DHCP lease handed to a new device), so a MAC
//! that claims an address while its owner is still talking is a conflict
//! on every packet. The unspecified address (DHCP discovery, ARP probes)
//! and group or all-zero MACs bind nothing.
//!
//! Known benign sources of non-zero values, which the model learns from the
//! learning period rather than being told: a router forwarding traffic from
//! remote hosts (new addresses behind the router's MAC), a device renewing to
//! a new address, a repeater that rewrites source MACs.
//!
//! Memory is fixed: six [`BoundedTable`]s whose capacities follow the
//! feature tables'; cost per packet is at most seven lookups and a few
//! dozen flops (eight for a DHCP client message, and one per forged
//! address for a packet that reveals a DNS race); until the first forged
//! answer the DNS table is empty and costs nothing.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::damped::decay_factor;
use crate::features::{FeatureInfo, LastPacket, TableCapacities, Unit, LAMBDAS};
use crate::table::{Activity, BoundedTable};
use crate::{ContradictedAnswer, PacketObs};

/// Number of binding and fan-in features.
pub const N_BINDING: usize = 12;
/// An owner silent for this long gives its address up.
pub const OWNER_TIMEOUT_SECS: f64 = 300.0;
/// How long an address a forged DNS answer gave a client stays suspect,
/// counted from the last forged answer that named it: longer than the
/// TTLs forgers give (dnsspoof and ettercap use 60 s to an hour) and than
/// a device's own cache usually keeps an answer.
pub const CONTRADICTED_MEMORY_SECS: f64 = 3600.0;
/// Slots of the forged-address table: a home sees a handful of forged
/// answers at a time; a flood of them replaces the least active pairs.
const CONTRADICTED_SLOTS: usize = 1024;

/// The two windows, as indices into [`LAMBDAS`] (1 s and 10 s half-lives):
/// fast enough that a single rebinding fades within a minute.
const WINDOWS: [usize; 2] = [2, 3];
const LN2: f64 = std::f64::consts::LN_2;

type Ip = [u8; 16];

fn ip_key(ip: &IpAddr) -> Ip {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MacStats {
    new_ip: [f64; 2],
    /// DHCP client messages for hardware new to this MAC.
    dhcp_new_client: [f64; 2],
    /// Packet time the MAC last sent from an IPv4 / IPv6 address.
    last_family_us: [Option<i64>; 2],
    /// Packets, for eviction (decayed at 100 s).
    pkts: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IpOwner {
    owner: [u8; 6],
    owner_last_us: i64,
    conflict: [f64; 2],
    pkts: f64,
}

/// Connection attempts an address receives.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FanIn {
    syn: [f64; 2],
    /// Packet time of the last update (for reading without touching).
    last_us: i64,
}

impl Activity for FanIn {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        slow(self.syn[1], last_us, now_us)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PairSeen {
    pkts: f64,
}

/// A (client, address) pair a forged DNS answer created.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Misled {
    /// Packet time of the last forged answer that named the address.
    named_us: i64,
    /// Packets the client sent to the address, damped over the two windows.
    sent: [f64; 2],
    /// Touches (answers and packets), for eviction.
    pkts: f64,
}

impl Activity for Misled {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        daily(self.pkts, last_us, now_us)
    }
}

fn slow(w: f64, last_us: i64, now_us: i64) -> f64 {
    w * decay_factor(
        LAMBDAS[LAMBDAS.len() - 1],
        now_us.saturating_sub(last_us) as f64 * 1e-6,
    )
}

impl Activity for MacStats {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        slow(self.pkts, last_us, now_us)
    }
}
// Owners and known pairs fade over a day, not 100 s: a spoofed-source
// flood fills these tables with one-packet entries, and a real binding that
// is used once every few minutes must outrank them, or it would be evicted
// and its next packet would read as a new binding long after the flood.
impl Activity for IpOwner {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        daily(self.pkts, last_us, now_us)
    }
}
impl Activity for PairSeen {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        daily(self.pkts, last_us, now_us)
    }
}

/// Half-life of owner and pair activity, seconds.
const DAY_SECS: f64 = 86_400.0;

fn daily(w: f64, last_us: i64, now_us: i64) -> f64 {
    w * decay_factor(1.0 / DAY_SECS, now_us.saturating_sub(last_us) as f64 * 1e-6)
}

/// Decays of the two windows and of the slow eviction count for `dt` seconds
/// (inlined, so that a caller that drops one does not compute it).
#[inline(always)]
fn decays(dt: f64) -> ([f64; 2], f64) {
    (
        [
            decay_factor(LAMBDAS[WINDOWS[0]], dt),
            decay_factor(LAMBDAS[WINDOWS[1]], dt),
        ],
        decay_factor(LAMBDAS[LAMBDAS.len() - 1], dt),
    )
}

/// The two windows' decays for an elapsed time, computed on first use.
///
/// A quiet network's binding counters are exactly 0 nearly always (no new
/// address, no conflict, no DHCP client in another's name), and `0·d + x`
/// is `x` whatever the decay `d` (every counter is ≥ +0 and every decay
/// finite), so such an update needs no `exp2`: the same bits as the eager
/// `c·d + x`, for two `exp2` fewer per counter pair.
struct LazyDecays {
    dt: f64,
    d: Option<[f64; 2]>,
}

impl LazyDecays {
    #[inline(always)]
    fn new(dt: f64) -> Self {
        Self { dt, d: None }
    }

    #[inline(always)]
    fn get(&mut self) -> [f64; 2] {
        let dt = self.dt;
        *self.d.get_or_insert_with(|| decays(dt).0)
    }

    /// `c ← c·d + x` in each window.
    #[inline(always)]
    fn step(&mut self, c: &mut [f64; 2], x: f64) {
        if *c == [0.0; 2] {
            *c = [x; 2];
            return;
        }
        let d = self.get();
        for k in 0..2 {
            c[k] = c[k] * d[k] + x;
        }
    }

    /// `c ← c·d` in each window.
    #[inline(always)]
    fn scale(&mut self, c: &mut [f64; 2]) {
        if *c == [0.0; 2] {
            return;
        }
        let d = self.get();
        for k in 0..2 {
            c[k] *= d[k];
        }
    }
}

/// The binding tracker. See the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BindingTracker {
    by_mac: BoundedTable<[u8; 6], MacStats>,
    by_ip: BoundedTable<Ip, IpOwner>,
    pairs: BoundedTable<([u8; 6], Ip), PairSeen>,
    fan_in: BoundedTable<Ip, FanIn>,
    /// (sender MAC, DHCP client hardware address) pairs seen.
    dhcp_clients: BoundedTable<([u8; 6], [u8; 6]), PairSeen>,
    /// (client, address) pairs forged DNS answers created.
    contradicted: BoundedTable<(Ip, Ip), Misled>,
}

impl BindingTracker {
    pub fn new(cap: TableCapacities, seed: u64) -> Self {
        Self {
            by_mac: BoundedTable::new(cap.mac_ip, seed ^ 0x006d_6163),
            by_ip: BoundedTable::new(cap.host, seed ^ 0x6970),
            pairs: BoundedTable::new(cap.mac_ip, seed ^ 0x7061_6972),
            fan_in: BoundedTable::new(cap.host, seed ^ 0x6661_6e69),
            dhcp_clients: BoundedTable::new(cap.mac_ip, seed ^ 0x6468_6370),
            contradicted: BoundedTable::new(CONTRADICTED_SLOTS.min(cap.host), seed ^ 0x0064_6e73),
        }
    }

    pub(crate) fn is_well_formed(&self) -> bool {
        self.by_mac.is_well_formed()
            && self.by_ip.is_well_formed()
            && self.pairs.is_well_formed()
            && self.fan_in.is_well_formed()
            && self.dhcp_clients.is_well_formed()
            && self.contradicted.is_well_formed()
    }

    /// Updates the tables with `obs` and writes the [`N_BINDING`] features
    /// (for a packet that carries neither a DHCP client message nor a
    /// contradicted DNS answer).
    pub fn extract(&mut self, obs: &PacketObs, out: &mut [f32]) {
        self.extract_with(obs, None, None, out);
    }

    /// [`BindingTracker::extract`] for a packet that may carry a DHCP client
    /// message naming `dhcp_client` as its hardware address, or a DNS
    /// answer that revealed the forged answer `contradicted`.
    pub fn extract_with(
        &mut self,
        obs: &PacketObs,
        dhcp_client: Option<[u8; 6]>,
        contradicted: Option<&ContradictedAnswer>,
        out: &mut [f32],
    ) {
        let seen = LastPacket {
            src: ip_key(&obs.src_ip),
            dst: ip_key(&obs.dst_ip),
            ..LastPacket::default()
        };
        self.extract_after(obs, &seen, dhcp_client, contradicted, out);
    }

    /// [`BindingTracker::extract_with`] after the feature extractor saw
    /// the packet: its address keys, and the slowest window's decay of its
    /// MAC + IP entry (the MAC's own entry, usually touched at the same
    /// time, reuses it; the same bits either way).
    pub(crate) fn extract_after(
        &mut self,
        obs: &PacketObs,
        seen: &LastPacket,
        dhcp_client: Option<[u8; 6]>,
        contradicted: Option<&ContradictedAnswer>,
        out: &mut [f32],
    ) {
        let (bind, rest) = out.split_at_mut(4.min(out.len()));
        let (fan, rest) = rest.split_at_mut(4.min(rest.len()));
        let (dhcp, dns) = rest.split_at_mut(2.min(rest.len()));
        self.fan_in(obs, seen, fan);
        self.binding(obs, seen, dhcp_client, bind, dhcp);
        self.misled(obs, seen, contradicted, dns);
    }

    /// Forged DNS answers: remembers the (client, address) pairs of
    /// `contradicted`, then counts this packet if its source sends it to an
    /// address a forged answer gave it within [`CONTRADICTED_MEMORY_SECS`].
    fn misled(
        &mut self,
        obs: &PacketObs,
        seen: &LastPacket,
        contradicted: Option<&ContradictedAnswer>,
        out: &mut [f32],
    ) {
        out.iter_mut().for_each(|v| *v = 0.0);
        let now = obs.ts_micros;
        if let Some(c) = contradicted {
            let client = ip_key(&c.client);
            for addr in c.addrs.iter().flatten() {
                let t = self.contradicted.touch((client, ip_key(addr)), now);
                let (d, _) = decays(t.dt_secs);
                let m = t.value;
                m.pkts = m.pkts * decay_factor(1.0 / DAY_SECS, t.dt_secs) + 1.0;
                for k in 0..2 {
                    m.sent[k] *= d[k];
                }
                m.named_us = m.named_us.max(now);
            }
        }
        if self.contradicted.is_empty() {
            return;
        }
        // A read first: nearly every packet is not to a forged address, and
        // a touch would create an entry for it.
        let key = (seen.src, seen.dst);
        let live =
            |m: &Misled| (now.saturating_sub(m.named_us) as f64 * 1e-6) < CONTRADICTED_MEMORY_SECS;
        if !self.contradicted.get(&key).is_some_and(live) {
            return;
        }
        let t = self.contradicted.touch(key, now);
        let (d, _) = decays(t.dt_secs);
        let m = t.value;
        m.pkts = m.pkts * decay_factor(1.0 / DAY_SECS, t.dt_secs) + 1.0;
        for k in 0..2 {
            m.sent[k] = m.sent[k] * d[k] + 1.0;
        }
        let vals = [
            m.sent[0] * LAMBDAS[WINDOWS[0]] * LN2,
            m.sent[1] * LAMBDAS[WINDOWS[1]] * LN2,
        ];
        for (slot, v) in out.iter_mut().zip(vals) {
            *slot = v as f32;
        }
    }

    /// Fan-in: the destination's received-SYN counters take this packet,
    /// then the source's and the destination's are read (the source's only
    /// if it has an entry: a spoofed source must not fill the table). Only
    /// local addresses (private, link-local, unique-local) are tracked: a
    /// cloud server's fan-in seen from one home is just that home's own
    /// connection rate, which the host features already have.
    fn fan_in(&mut self, obs: &PacketObs, seen: &LastPacket, out: &mut [f32]) {
        let now = obs.ts_micros;
        let (dst_local, src_local) = (is_local(&obs.dst_ip), is_local(&obs.src_ip));
        if !dst_local && !src_local {
            out.iter_mut().for_each(|v| *v = 0.0);
            return;
        }
        let is_syn = obs.proto == 6 && obs.tcp_flags & 0x02 != 0 && obs.tcp_flags & 0x10 == 0;
        let rate = |c: &[f64; 2], d: [f64; 2]| {
            [
                c[0] * d[0] * LAMBDAS[WINDOWS[0]] * LN2,
                c[1] * d[1] * LAMBDAS[WINDOWS[1]] * LN2,
            ]
        };
        let dst_rate = if dst_local {
            let dst = self.fan_in.touch(seen.dst, now);
            let f = dst.value;
            LazyDecays::new(dst.dt_secs).step(&mut f.syn, f64::from(u8::from(is_syn)));
            f.last_us = f.last_us.max(now);
            rate(&f.syn, [1.0, 1.0])
        } else {
            [0.0; 2]
        };
        // Only a local destination ever gets an entry (above), so a
        // non-local IPv4 source has none: no lookup to find that out (about
        // every other packet of a home network comes from the internet).
        // An IPv6 source is looked up whatever it is: an IPv4-mapped one
        // shares its key with the IPv4 address, which may be local.
        let found = if src_local || obs.src_ip.is_ipv6() {
            self.fan_in.get(&seen.src)
        } else {
            None
        };
        let src_rate = found.map_or([0.0; 2], |f| {
            // 0 stays 0 whatever the decay (see `LazyDecays`).
            if f.syn == [0.0; 2] {
                return [0.0; 2];
            }
            let dt = now.saturating_sub(f.last_us).max(0) as f64 * 1e-6;
            rate(&f.syn, decays(dt).0)
        });
        for (slot, v) in out
            .iter_mut()
            .zip([src_rate[0], src_rate[1], dst_rate[0], dst_rate[1]])
        {
            *slot = v as f32;
        }
    }

    fn binding(
        &mut self,
        obs: &PacketObs,
        seen: &LastPacket,
        dhcp_client: Option<[u8; 6]>,
        out: &mut [f32],
        dhcp_out: &mut [f32],
    ) {
        let mac = obs.src_mac;
        let group_or_zero = mac[0] & 1 == 1 || mac == [0; 6];
        let unspecified = obs.src_ip.is_unspecified();
        if group_or_zero || (unspecified && dhcp_client.is_none()) {
            out.iter_mut().for_each(|v| *v = 0.0);
            dhcp_out.iter_mut().for_each(|v| *v = 0.0);
            return;
        }
        let now = obs.ts_micros;
        // A client message in the name of other hardware, new for this MAC.
        let new_client = match dhcp_client.filter(|c| *c != mac && *c != [0; 6]) {
            Some(client) => {
                let t = self.dhcp_clients.touch((mac, client), now);
                t.value.pkts = t.value.pkts * decay_factor(1.0 / DAY_SECS, t.dt_secs) + 1.0;
                t.fresh
            }
            None => false,
        };
        let dhcp_rate = |m: &MacStats| {
            [
                m.dhcp_new_client[0] * LAMBDAS[WINDOWS[0]] * LN2,
                m.dhcp_new_client[1] * LAMBDAS[WINDOWS[1]] * LN2,
            ]
        };
        if unspecified {
            // DHCP discovery from 0.0.0.0: the MAC's DHCP rate only; the
            // unspecified address binds nothing.
            out.iter_mut().for_each(|v| *v = 0.0);
            let t = self.by_mac.touch(mac, now);
            let mut d = LazyDecays::new(t.dt_secs);
            let m = t.value;
            m.pkts = m.pkts * seen.mi_slow.at(t.dt_secs) + 1.0;
            d.scale(&mut m.new_ip);
            d.step(&mut m.dhcp_new_client, f64::from(u8::from(new_client)));
            for (slot, v) in dhcp_out.iter_mut().zip(dhcp_rate(m)) {
                *slot = v as f32;
            }
            return;
        }
        let ip = seen.src;

        let t = self.pairs.touch((mac, ip), now);
        let new_pair = t.fresh;
        // The address's own entry was nearly always last touched with this
        // pair's (one MAC per address), so it reuses this decay: a pure
        // function of the elapsed time, the same bits for the same time.
        let pair_daily = (t.dt_secs, decay_factor(1.0 / DAY_SECS, t.dt_secs));
        t.value.pkts = t.value.pkts * pair_daily.1 + 1.0;

        let t = self.by_mac.touch(mac, now);
        let mut d = LazyDecays::new(t.dt_secs);
        let m = t.value;
        m.pkts = m.pkts * seen.mi_slow.at(t.dt_secs) + 1.0;
        let family = usize::from(!obs.src_ip.is_ipv4());
        let busy = m.last_family_us[family]
            .is_some_and(|last| now.saturating_sub(last) as f64 * 1e-6 < OWNER_TIMEOUT_SECS);
        let new_binding = new_pair && busy;
        m.last_family_us[family] = Some(m.last_family_us[family].map_or(now, |l| l.max(now)));
        d.step(&mut m.new_ip, f64::from(u8::from(new_binding)));
        d.step(&mut m.dhcp_new_client, f64::from(u8::from(new_client)));
        for (slot, v) in dhcp_out.iter_mut().zip(dhcp_rate(m)) {
            *slot = v as f32;
        }

        let t = self.by_ip.touch(ip, now);
        let fresh = t.fresh;
        let mut d = LazyDecays::new(t.dt_secs);
        let o = t.value;
        let daily = if t.dt_secs == pair_daily.0 {
            pair_daily.1
        } else {
            decay_factor(1.0 / DAY_SECS, t.dt_secs)
        };
        o.pkts = o.pkts * daily + 1.0;
        let conflict = if fresh || o.owner == mac {
            o.owner = mac;
            o.owner_last_us = o.owner_last_us.max(now);
            false
        } else if now.saturating_sub(o.owner_last_us) as f64 * 1e-6 >= OWNER_TIMEOUT_SECS {
            o.owner = mac;
            o.owner_last_us = now;
            false
        } else {
            true
        };
        d.step(&mut o.conflict, f64::from(u8::from(conflict)));

        let vals = [
            m.new_ip[0] * LAMBDAS[WINDOWS[0]] * LN2,
            m.new_ip[1] * LAMBDAS[WINDOWS[1]] * LN2,
            o.conflict[0] * LAMBDAS[WINDOWS[0]] * LN2,
            o.conflict[1] * LAMBDAS[WINDOWS[1]] * LN2,
        ];
        for (slot, v) in out.iter_mut().zip(vals) {
            *slot = v as f32;
        }
    }
}

/// Private, link-local or unique-local (the addresses of a home network).
fn is_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            first & 0xffc0 == 0xfe80 || first & 0xfe00 == 0xfc00
        }
    }
}

/// Description of binding or fan-in feature `i` (0..[`N_BINDING`]).
pub fn info(i: usize) -> Option<FeatureInfo> {
    let (stat, what) = match i / 2 {
        2 => (
            "src.syn_in_rate",
            "TCP connection attempts per second received by this host",
        ),
        3 => (
            "dst.syn_in_rate",
            "TCP connection attempts per second received by its peer",
        ),
        0 => (
            "mac.new_ip_rate",
            "addresses per second newly sent from this MAC",
        ),
        1 => (
            "ip.mac_conflict_rate",
            "packets per second sent from this address by a MAC that does not own it",
        ),
        4 => (
            "mac.dhcp_new_client_rate",
            "DHCP requests per second this MAC sent in the name of other, new hardware addresses",
        ),
        5 => (
            "dns.contradicted_dst_rate",
            "packets per second this host sent to an address that a contradicted (forged) DNS answer gave it",
        ),
        _ => return None,
    };
    Some(FeatureInfo {
        stat,
        what,
        unit: Unit::PerSecond,
        window: WINDOWS[i % 2],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn obs(ts_s: f64, mac: u8, ip: [u8; 4]) -> PacketObs {
        PacketObs {
            ts_micros: (ts_s * 1e6) as i64,
            src_mac: [2, 0, 0, 0, 0, mac],
            src_ip: IpAddr::V4(Ipv4Addr::from(ip)),
            dst_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)),
            src_port: 0,
            dst_port: 0,
            proto: 17,
            len: 60,
            tcp_flags: 0,
            device: 0,
        }
    }

    #[test]
    fn steady_bindings_stay_at_zero_and_a_claimed_address_conflicts() {
        let mut b = BindingTracker::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_BINDING];
        // Two devices, each with its own address, for ten minutes.
        for s in 0..600 {
            b.extract(&obs(f64::from(s), 1, [192, 168, 1, 1]), &mut out);
            b.extract(&obs(f64::from(s) + 0.5, 2, [192, 168, 1, 2]), &mut out);
        }
        assert!(out[..4].iter().all(|&v| v < 1e-3), "{out:?}");
        // A silent device returning on its address binds nothing new.
        b.extract(&obs(2000.0, 1, [192, 168, 1, 1]), &mut out);
        assert_eq!(out[..4], [0.0; 4]);
        b.extract(&obs(2000.1, 2, [192, 168, 1, 2]), &mut out);
        // Device 2's MAC answers for device 1's address while 1 still talks
        // (and while using its own).
        b.extract(&obs(2000.2, 2, [192, 168, 1, 1]), &mut out);
        assert!(out[0] > 0.5, "new address for MAC 2: {out:?}");
        assert!(out[2] > 0.5, "conflict on 192.168.1.1: {out:?}");
        // The owner itself is never in conflict.
        b.extract(&obs(2000.4, 1, [192, 168, 1, 1]), &mut out);
        assert!(out[0] < 0.5 && out[3] > 0.0, "{out:?}");
    }

    #[test]
    fn spoofed_sources_raise_the_new_address_rate_and_a_silent_owner_hands_over() {
        let mut b = BindingTracker::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_BINDING];
        for i in 0..1000u32 {
            let ip = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            b.extract(&obs(f64::from(i) * 1e-3, 9, ip), &mut out);
        }
        assert!(out[0] > 300.0, "{out:?}");
        // A new device's first address is not a new binding.
        b.extract(&obs(1.5, 5, [10, 9, 9, 9]), &mut out);
        assert_eq!(out[0], 0.0, "{out:?}");
        assert_eq!(out[2], 0.0);
        // A lease handed to a new device after the owner left is no conflict.
        b.extract(&obs(1000.0, 3, [10, 0, 0, 5]), &mut out);
        assert_eq!(out[2], 0.0, "{out:?}");
        // The flooder back ten minutes later on a new lease has moved: no
        // new binding.
        b.extract(&obs(1600.0, 9, [192, 168, 1, 77]), &mut out);
        assert_eq!(out[0], 0.0, "{out:?}");
        // Unspecified sources bind nothing.
        b.extract(&obs(1001.0, 4, [0, 0, 0, 0]), &mut out);
        assert_eq!(out[..4], [0.0; 4]);
    }

    #[test]
    fn a_spoofed_flood_does_not_evict_a_quiet_devices_binding() {
        let cap = TableCapacities {
            mac_ip: 64,
            host: 64,
            ..TableCapacities::default()
        };
        let mut b = BindingTracker::new(cap, 1);
        let mut out = [0f32; N_BINDING];
        // A device that speaks from two addresses every four minutes.
        for m in 0..60 {
            let t = f64::from(m) * 240.0;
            b.extract(&obs(t, 1, [192, 168, 1, 1]), &mut out);
            b.extract(&obs(t + 1.0, 1, [192, 168, 1, 201]), &mut out);
        }
        // A flood of 5,000 spoofed sources from another MAC in between.
        let t0 = 59.0 * 240.0 + 200.0;
        for i in 0..5000u32 {
            let ip = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            b.extract(&obs(t0 + f64::from(i) * 1e-3, 9, ip), &mut out);
        }
        // At its next turn the device's addresses are still known.
        b.extract(&obs(60.0 * 240.0, 1, [192, 168, 1, 1]), &mut out);
        b.extract(&obs(60.0 * 240.0 + 1.0, 1, [192, 168, 1, 201]), &mut out);
        assert_eq!(out[..2], [0.0; 2], "{out:?}");
    }

    #[test]
    fn dhcp_requests_in_the_names_of_made_up_hardware_raise_the_senders_rate() {
        let mut b = BindingTracker::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_BINDING];
        let discover = |ts: f64, mac: u8| {
            let mut o = obs(ts, mac, [0, 0, 0, 0]);
            o.dst_ip = IpAddr::V4(Ipv4Addr::BROADCAST);
            o
        };
        // A device booting asks for itself: nothing, however often.
        for i in 0..20 {
            let own = [2, 0, 0, 0, 0, 5];
            b.extract_with(&discover(f64::from(i), 5), Some(own), None, &mut out);
            assert_eq!(out[8..10], [0.0; 2], "{out:?}");
        }
        // A NIC asking for 100 made-up clients in 10 s.
        for i in 0..100u32 {
            let client = [0x12, 0x34, 0, 0, (i >> 8) as u8, i as u8];
            b.extract_with(
                &discover(100.0 + f64::from(i) * 0.1, 9),
                Some(client),
                None,
                &mut out,
            );
        }
        assert!(out[8] > 5.0 && out[9] > 3.0, "{out:?}");
        // The unspecified source still binds nothing.
        assert_eq!(out[..4], [0.0; 4]);
        // The same NIC's ordinary packets carry its rate while it lasts...
        b.extract(&obs(110.5, 9, [192, 168, 1, 9]), &mut out);
        assert!(out[9] > 3.0, "{out:?}");
        // ...and another device's do not.
        b.extract(&obs(110.6, 5, [192, 168, 1, 5]), &mut out);
        assert_eq!(out[8..10], [0.0; 2], "{out:?}");
        // A relay renewing the same client again counts it once.
        let mut b = BindingTracker::new(TableCapacities::default(), 1);
        for i in 0..50 {
            b.extract_with(
                &obs(f64::from(i) * 60.0, 7, [192, 168, 1, 7]),
                Some([0x12; 6]),
                None,
                &mut out,
            );
        }
        assert!(out[8] < 1e-6 && out[9] < 1e-6, "{out:?}");
    }

    #[test]
    fn packets_to_an_address_a_forged_dns_answer_gave_count_for_that_client_only() {
        let mut b = BindingTracker::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_BINDING];
        let (victim, other, forger) = ([192, 168, 1, 31], [192, 168, 1, 32], [192, 168, 1, 66]);
        let to = |ts: f64, src: [u8; 4], dst: [u8; 4]| {
            let mut o = obs(ts, src[3], src);
            o.dst_ip = IpAddr::V4(Ipv4Addr::from(dst));
            o.proto = 6;
            o.tcp_flags = 0x02;
            o
        };
        // Before any forged answer every packet reads zero.
        b.extract(&to(1.0, victim, forger), &mut out);
        assert_eq!(out[10..], [0.0; 2]);
        // The packet that revealed the race (the gateway's answer to the
        // victim) hands in the forged answer's address.
        let mut answer = obs(10.0, 1, [192, 168, 1, 1]);
        answer.dst_ip = IpAddr::V4(Ipv4Addr::from(victim));
        let forged = ContradictedAnswer {
            client: IpAddr::V4(Ipv4Addr::from(victim)),
            addrs: [Some(IpAddr::V4(Ipv4Addr::from(forger))), None, None, None],
        };
        b.extract_with(&answer, None, Some(&forged), &mut out);
        assert_eq!(
            out[10..],
            [0.0; 2],
            "the answer itself is not a packet to the address"
        );
        // The victim connects to the forger's address: counted.
        for i in 0..3 {
            b.extract(&to(10.1 + f64::from(i) * 0.1, victim, forger), &mut out);
        }
        assert!(out[10] > 1.0 && out[11] > 0.1, "{out:?}");
        // The forger's answer back, and another device talking to the same
        // address (nobody lied to it), count nothing.
        b.extract(&to(10.5, forger, victim), &mut out);
        assert_eq!(out[10..], [0.0; 2], "{out:?}");
        b.extract(&to(10.6, other, forger), &mut out);
        assert_eq!(out[10..], [0.0; 2], "{out:?}");
        // The victim's other traffic counts nothing.
        b.extract(&to(10.7, victim, [192, 168, 1, 1]), &mut out);
        assert_eq!(out[10..], [0.0; 2]);
        // An hour after the forged answer the address is forgiven.
        b.extract(
            &to(10.0 + CONTRADICTED_MEMORY_SECS + 1.0, victim, forger),
            &mut out,
        );
        assert_eq!(out[10..], [0.0; 2], "{out:?}");
    }

    #[test]
    fn a_flood_of_forged_answers_stays_in_its_table() {
        let cap = TableCapacities {
            host: 64,
            ..TableCapacities::default()
        };
        let mut b = BindingTracker::new(cap, 1);
        let mut out = [0f32; N_BINDING];
        let client = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 31));
        let mut answer = obs(0.0, 1, [192, 168, 1, 1]);
        answer.dst_ip = client;
        for i in 0..10_000u32 {
            answer.ts_micros = i64::from(i) * 1000;
            let a = |k: u32| {
                Some(IpAddr::V4(Ipv4Addr::from(
                    i.wrapping_mul(4).wrapping_add(k),
                )))
            };
            let forged = ContradictedAnswer {
                client,
                addrs: [a(0), a(1), a(2), a(3)],
            };
            b.extract_with(&answer, None, Some(&forged), &mut out);
        }
        assert!(b.contradicted.len() <= 64);
        assert!(b.is_well_formed());
    }

    #[test]
    fn a_brute_forced_host_answers_with_its_fan_in_visible() {
        let mut b = BindingTracker::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_BINDING];
        let victim = [192, 168, 1, 7];
        // Ten connection attempts per second for five seconds.
        for i in 0..50 {
            let t = f64::from(i) * 0.1;
            let mut syn = obs(t, 9, [192, 168, 1, 66]);
            syn.dst_ip = IpAddr::V4(Ipv4Addr::from(victim));
            syn.proto = 6;
            syn.tcp_flags = 0x02;
            b.extract(&syn, &mut out);
            assert!(out[6] > 0.0, "dst fan-in {out:?}");
        }
        // The victim's answer carries its own fan-in.
        let mut reply = obs(5.0, 7, victim);
        reply.dst_ip = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 66));
        b.extract(&reply, &mut out);
        assert!(out[4] > 5.0 && out[5] > 1.0, "{out:?}");
        // An address that never received anything reads zero.
        b.extract(&obs(5.0, 8, [192, 168, 1, 8]), &mut out);
        assert_eq!((out[4], out[5]), (0.0, 0.0));
        // The victim's address written as IPv4-mapped IPv6 shares its key,
        // so it reads the same fan-in (a source that is not local as
        // written is still looked up when it is IPv6).
        let mut mapped = reply;
        mapped.ts_micros = 5_000_000;
        mapped.src_ip = IpAddr::V6(Ipv4Addr::from(victim).to_ipv6_mapped());
        b.extract(&mapped, &mut out);
        assert!(out[4] > 5.0 && out[5] > 1.0, "{out:?}");
        // A non-local source never has an entry.
        let mut remote = reply;
        remote.src_ip = IpAddr::V4(Ipv4Addr::new(34, 100, 0, 10));
        b.extract(&remote, &mut out);
        assert_eq!(out[4..6], [0.0; 2], "{out:?}");
    }
}
