//! The LAN's address scope: which addresses belong to the monitored
//! network's own devices, as opposed to remote hosts.
//!
//! The fixed rule, [`is_local_scope`], takes the private, link-local, CGNAT
//! and IPv6 ULA/link-local ranges. Real networks also use other addresses
//! for their devices: IPv6 homes number them from the ISP's global prefix,
//! and universities, offices and many research captures (or anonymised
//! datasets) use public IPv4 ranges. [`LocalScope`] answers "is this address
//! local?" with the fixed rule *or* a short list of networks:
//!
//! - configured ones (`[network] local_networks` in the config file), and
//! - learned ones, from packets that announce the LAN's own numbering: a
//!   Router Advertisement's on-link prefix (see
//!   [`LocalScope::learn_router_advertisement`]) and a DHCPv4 ACK's address
//!   with its subnet mask (see [`LocalScope::learn_dhcp_ack`]).
//!
//! Who can teach it: only packets sent on the monitored link itself
//! ([`sent_on_link`]): a tunnel's inner packet (GRE, 6in4, VXLAN) can be
//! written by anyone on the internet, and a DHCP ACK must come the way a
//! server's does ([`dhcp_ack_sent_on_link`]). Any host *on* the LAN can
//! still forge an advertisement or an ACK (that is what RA Guard and DHCP
//! snooping on a switch are for, and ward cannot tell): a compromised
//! device can make a network of its choice local, e.g. to have its
//! controller's inbound connections taken for LAN traffic by hygiene. The
//! prefix-length limits bound how much of the internet one forgery covers,
//! not whether a chosen host is covered; the cap bounds how many.
//!
//! Bounded and deterministic: at most [`MAX_LEARNED`] learned networks per
//! address family, kept in the order the packets came, the first ones kept
//! (later ones only counted in [`LocalScope::dropped`]), so a flood of rogue
//! advertisements cannot grow memory, and a replay learns the same list.
//! Learned networks are never forgotten during a run.
//!
//! Cost: the fixed rule answers first, as before; the list is only scanned
//! for an address the rule rejects, and it is a plain array of (network,
//! mask) integers, no hashing. With no list (the usual home network) that
//! scan is one length test.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decode::ndp::{RaPrefixes, ROUTER_ADVERTISEMENT};
use crate::decode::{OuterIp, Packet, Transport};

/// Most networks learned per address family (configured ones not counted).
pub const MAX_LEARNED: usize = 8;

/// Shortest on-link prefix learned from a Router Advertisement. A /32 is
/// the smallest allocation a regional registry makes to an ISP: a shorter
/// "on-link" prefix would make a swath of the internet local on one forged
/// packet.
pub const RA_MIN_PREFIX: u8 = 32;
/// Longest on-link prefix learned from a Router Advertisement. A LAN
/// subnet is a /64 (SLAAC needs it, RFC 7421); a longer on-link prefix has
/// no hosts forming addresses in it, and would only use up the slots.
pub const RA_MAX_PREFIX: u8 = 64;
/// Widest DHCPv4 subnet learned: more than 65 536 public addresses local
/// on the word of one DHCP ACK is no LAN.
pub const DHCP_MIN_PREFIX: u8 = 16;
/// Narrowest DHCPv4 subnet learned: /31 and /32 are point-to-point links
/// and single hosts, with no neighbours to be local to.
pub const DHCP_MAX_PREFIX: u8 = 30;

/// Whether `pkt` travelled on the monitored link itself: captured there,
/// or copied from it by a mirror port (one ERSPAN layer, `outer.mirror`),
/// rather than carried in by a tunnel (GRE, IP-in-IP, VXLAN). A tunnel's
/// inner packet was written by whoever sent the tunnel packet, from
/// anywhere on the internet: its hop limit of 255 and link-local source
/// prove nothing, so the scope never learns from it.
pub fn sent_on_link(pkt: &Packet<'_>, outer: Option<&OuterIp>) -> bool {
    match pkt.encapsulation {
        0 => true,
        1 => outer.is_some_and(|o| o.mirror),
        _ => false,
    }
}

/// Whether the packet carrying a DHCP ACK that gives `your_ip` is one a
/// client on this link receives from its server or relay (RFC 2131
/// §4.1): sent on the link ([`sent_on_link`]), from UDP port 67, to the
/// limited broadcast (which no router forwards) or to `your_ip` itself.
/// A forged ACK sent in from the internet then reaches a LAN host only
/// when it names that host's own address, so it cannot make a network of
/// the sender's choosing local; a forger on the LAN can (as it can forge
/// a router advertisement), which the cap bounds.
pub fn dhcp_ack_sent_on_link(pkt: &Packet<'_>, outer: Option<&OuterIp>, your_ip: Ipv4Addr) -> bool {
    let (Some(ip), Transport::Udp(udp)) = (pkt.ip(), pkt.transport) else {
        return false;
    };
    udp.src_port == 67
        && (ip.dst == IpAddr::V4(Ipv4Addr::BROADCAST) || ip.dst == IpAddr::V4(your_ip))
        && sent_on_link(pkt, outer)
}

/// Is `ip` an address a LAN device owns (as opposed to a remote host), by
/// the fixed rule alone: RFC 1918, IPv4 link-local, CGNAT 100.64/10, IPv6
/// link-local and ULA. [`LocalScope::is_local`] adds the network's own
/// list to it.
#[inline]
pub fn is_local_scope(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_link_local() || (o[0] == 100 && (o[1] & 0xc0) == 64)
            // CGNAT 100.64/10
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xfe00) == 0xfc00
        }
    }
}

/// An IP network: an address with its host bits cleared, and a prefix
/// length. Written and read as `198.51.100.0/24`, `2001:db8:1::/48`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    net: IpAddr,
    len: u8,
}

/// Why a text is not a network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("no prefix length (write it as address/length, e.g. 198.51.100.0/24)")]
    NoLength,
    #[error("{0:?} is not an IP address")]
    Address(String),
    #[error("{0:?} is not a prefix length")]
    Length(String),
    #[error("prefix length {len} is longer than an IPv{family} address ({max} bits)")]
    TooLong { len: u8, family: u8, max: u8 },
}

impl Cidr {
    /// The network of `len` bits holding `addr` (host bits cleared), or
    /// `None` when `len` is longer than the address.
    pub fn new(addr: IpAddr, len: u8) -> Option<Cidr> {
        let net = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from_bits(a.to_bits() & mask4(len)?)),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from_bits(a.to_bits() & mask6(len)?)),
        };
        Some(Cidr { net, len })
    }

    /// The network address (host bits zero).
    pub fn network(&self) -> IpAddr {
        self.net
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                mask4(self.len).is_some_and(|m| a.to_bits() & m == n.to_bits())
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                mask6(self.len).is_some_and(|m| a.to_bits() & m == n.to_bits())
            }
            _ => false,
        }
    }
}

/// The mask of an IPv4 prefix of `len` bits.
fn mask4(len: u8) -> Option<u32> {
    match len {
        0 => Some(0),
        1..=32 => Some(u32::MAX << (32 - len)),
        _ => None,
    }
}

/// The mask of an IPv6 prefix of `len` bits.
fn mask6(len: u8) -> Option<u128> {
    match len {
        0 => Some(0),
        1..=128 => Some(u128::MAX << (128 - len)),
        _ => None,
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.len)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `address/length`; host bits after the length are cleared
    /// (`192.168.1.1/24` is `192.168.1.0/24`), as a router's interface
    /// address is often written.
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr, len) = s.trim().split_once('/').ok_or(CidrError::NoLength)?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::Address(addr.to_string()))?;
        let len: u8 = len
            .parse()
            .map_err(|_| CidrError::Length(len.to_string()))?;
        let (family, max) = if addr.is_ipv4() { (4, 32) } else { (6, 128) };
        Cidr::new(addr, len).ok_or(CidrError::TooLong { len, family, max })
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a network: {e}")))
    }
}

/// The `[network]` section of the config file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Networks whose addresses are the LAN's own devices, besides the
    /// private, link-local, CGNAT and ULA ranges (which always are): a
    /// public-address LAN, or the ISP's IPv6 prefix. Learned networks
    /// (router advertisements, DHCP) are added to these while ward runs.
    #[serde(deserialize_with = "local_networks")]
    pub local_networks: Vec<Cidr>,
}

/// Most networks `local_networks` may list (each is a comparison for every
/// packet whose address the fixed rule does not cover).
pub const MAX_CONFIGURED: usize = 64;
/// Shortest prefixes `local_networks` accepts, IPv4 and IPv6: a shorter one
/// would make a large part of the internet "the LAN" (`0.0.0.0/0`: every
/// attacker becomes "your device").
pub const MIN_CONFIGURED_LEN: (u8, u8) = (8, 16);

/// `local_networks`, with the key in the message of a bad entry.
fn local_networks<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cidr>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    if texts.len() > MAX_CONFIGURED {
        return Err(serde::de::Error::custom(format!(
            "[network] local_networks: {} networks, at most {MAX_CONFIGURED}",
            texts.len()
        )));
    }
    texts
        .iter()
        .map(|s| {
            let c: Cidr = s.parse().map_err(|e| {
                serde::de::Error::custom(format!(
                    "[network] local_networks: {s:?} is not a network: {e}"
                ))
            })?;
            let min = if c.network().is_ipv4() {
                MIN_CONFIGURED_LEN.0
            } else {
                MIN_CONFIGURED_LEN.1
            };
            if c.prefix_len() < min {
                return Err(serde::de::Error::custom(format!(
                    "[network] local_networks: {s:?} is too wide (a LAN's network is /{min} or longer)"
                )));
            }
            Ok(c)
        })
        .collect()
}

/// Where a learned network came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnedFrom {
    /// An ICMPv6 Router Advertisement's on-link prefix.
    RouterAdvertisement,
    /// A DHCPv4 ACK's address and subnet mask.
    DhcpAck,
}

/// What [`LocalScope::learn`] did with a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learn {
    /// Added.
    New,
    /// Already inside a configured or learned network.
    Known,
    /// The family's [`MAX_LEARNED`] slots are taken: counted, not kept.
    Dropped,
}

/// The scope. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct LocalScope {
    /// IPv4 networks as (network, mask): configured first, then learned.
    v4: Vec<(u32, u32)>,
    /// IPv6 networks as (network, mask): configured first, then learned.
    v6: Vec<(u128, u128)>,
    /// Learned networks in the order they were learned.
    learned: Vec<(Cidr, LearnedFrom)>,
    /// Learned networks per family (IPv4, IPv6).
    learned_count: [usize; 2],
    /// New networks not kept because their family's slots were taken.
    dropped: u64,
}

impl LocalScope {
    /// The fixed rule and `configured` networks, nothing learned yet.
    pub fn new(configured: &[Cidr]) -> LocalScope {
        let mut s = LocalScope::default();
        for c in configured {
            s.push(*c);
        }
        s
    }

    /// Is `ip` one of the LAN's own addresses: the fixed rule, or inside a
    /// configured or learned network.
    #[inline]
    pub fn is_local(&self, ip: IpAddr) -> bool {
        is_local_scope(ip) || self.is_listed(ip)
    }

    /// Inside a configured or learned network (the fixed rule not asked).
    #[inline]
    pub fn is_listed(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => {
                let a = a.to_bits();
                self.v4.iter().any(|&(n, m)| a & m == n)
            }
            IpAddr::V6(a) => {
                let a = a.to_bits();
                self.v6.iter().any(|&(n, m)| a & m == n)
            }
        }
    }

    /// Networks learned so far, in the order they were learned.
    pub fn learned(&self) -> impl Iterator<Item = (Cidr, LearnedFrom)> + '_ {
        self.learned.iter().copied()
    }

    /// New networks seen after their family's [`MAX_LEARNED`] were taken.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn push(&mut self, c: Cidr) {
        match c.net {
            IpAddr::V4(n) => self
                .v4
                .push((n.to_bits(), mask4(c.len).unwrap_or(u32::MAX))),
            IpAddr::V6(n) => self
                .v6
                .push((n.to_bits(), mask6(c.len).unwrap_or(u128::MAX))),
        }
    }

    /// Whether a network already in the list holds all of `c`.
    fn covers(&self, c: Cidr) -> bool {
        match c.net {
            IpAddr::V4(n) => {
                let (n, m) = (n.to_bits(), mask4(c.len).unwrap_or(u32::MAX));
                self.v4.iter().any(|&(hn, hm)| hm & m == hm && n & hm == hn)
            }
            IpAddr::V6(n) => {
                let (n, m) = (n.to_bits(), mask6(c.len).unwrap_or(u128::MAX));
                self.v6.iter().any(|&(hn, hm)| hm & m == hm && n & hm == hn)
            }
        }
    }

    /// Add a learned network, unless one in the list already holds it or
    /// its family's slots are taken. Callers judge whether the packet that
    /// announced it is believable; see the two `learn_*` methods.
    pub fn learn(&mut self, c: Cidr, from: LearnedFrom) -> Learn {
        if self.covers(c) {
            return Learn::Known;
        }
        let family = usize::from(c.net.is_ipv6());
        let Some(count) = self.learned_count.get_mut(family) else {
            return Learn::Dropped;
        };
        if *count >= MAX_LEARNED {
            self.dropped += 1;
            return Learn::Dropped;
        }
        *count += 1;
        self.learned.push((c, from));
        self.push(c);
        Learn::New
    }

    /// Learn the on-link global prefixes a Router Advertisement announces
    /// (RFC 4861 §4.2, §4.6.2), when the packet is one a host would
    /// believe (§6.1.2): ICMPv6 type 134 code 0, from a link-local address,
    /// hop limit 255 (so it was not routed here), not fragmented, not out
    /// of a tunnel ([`sent_on_link`]: `outer` is the outermost header
    /// [`decode_with_outer`](crate::decode::decode_with_outer) gave), with a
    /// well-formed option area (see [`RaPrefixes`]). A prefix is taken
    /// with the L (on-link) flag, a non-zero valid lifetime, a length of
    /// [`RA_MIN_PREFIX`]..=[`RA_MAX_PREFIX`], inside the global unicast
    /// range 2000::/3 (link-local and ULA prefixes are local by the fixed
    /// rule anyway, multicast is never a prefix). Returns how many
    /// networks were added.
    pub fn learn_router_advertisement(
        &mut self,
        pkt: &Packet<'_>,
        outer: Option<&OuterIp>,
    ) -> usize {
        let (Some(ip), Transport::Icmp(icmp)) = (pkt.ip(), pkt.transport) else {
            return 0;
        };
        let IpAddr::V6(src) = ip.src else { return 0 };
        if !icmp.v6
            || icmp.kind != ROUTER_ADVERTISEMENT
            || icmp.code != 0
            || ip.ttl != 255
            || ip.fragmented
            || (src.segments()[0] & 0xffc0) != 0xfe80
            || !sent_on_link(pkt, outer)
        {
            return 0;
        }
        let Ok(prefixes) = RaPrefixes::parse(pkt.payload) else {
            return 0;
        };
        let mut added = 0;
        for p in prefixes {
            if !p.on_link
                || p.valid_lifetime == 0
                || !(RA_MIN_PREFIX..=RA_MAX_PREFIX).contains(&p.len)
                || p.prefix.segments()[0] & 0xe000 != 0x2000
            {
                continue;
            }
            let Some(c) = Cidr::new(IpAddr::V6(p.prefix), p.len) else {
                continue;
            };
            if self.learn(c, LearnedFrom::RouterAdvertisement) == Learn::New {
                added += 1;
            }
        }
        added
    }

    /// Learn the subnet a DHCPv4 ACK puts its client in: `your_ip` (yiaddr)
    /// masked by the subnet-mask option, when the address is a public
    /// unicast one (a private one is local by the fixed rule; 0/8,
    /// loopback, multicast and 240/4 are nobody's) and the mask is
    /// contiguous, [`DHCP_MIN_PREFIX`]..=[`DHCP_MAX_PREFIX`] bits. Whether
    /// a network was added. The caller first checks that the packet came
    /// the way a real ACK comes ([`dhcp_ack_sent_on_link`]).
    pub fn learn_dhcp_ack(&mut self, your_ip: Ipv4Addr, mask: Option<Ipv4Addr>) -> bool {
        let Some(mask) = mask.map(Ipv4Addr::to_bits) else {
            return false;
        };
        let len = mask.leading_ones();
        let o = your_ip.octets();
        if mask.checked_shl(len).unwrap_or(0) != 0
            || !(u32::from(DHCP_MIN_PREFIX)..=u32::from(DHCP_MAX_PREFIX)).contains(&len)
            || is_local_scope(IpAddr::V4(your_ip))
            || o[0] == 0
            || o[0] >= 224
            || your_ip.is_loopback()
        {
            return false;
        }
        let Some(c) = u8::try_from(len)
            .ok()
            .and_then(|len| Cidr::new(IpAddr::V4(your_ip), len))
        else {
            return false;
        };
        self.learn(c, LearnedFrom::DhcpAck) == Learn::New
    }
}

#[cfg(test)]
mod tests;
