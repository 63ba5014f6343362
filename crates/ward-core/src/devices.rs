//! The device inventory the engine keeps while it runs.
//!
//! A device is keyed by its MAC address where layer 2 is visible, and by a
//! local IP address where only layer 3 is (raw-IP captures, tunnels).
//! "Local" is the table's [`LocalScope`]: private, link-local, ULA and CGNAT
//! addresses, plus the configured networks and those learned from router
//! advertisements and DHCP ([`DeviceTable::is_local`]). Remote internet
//! hosts never become devices: they have no MAC of their own on the LAN,
//! and their addresses are never bound to the router's MAC (only ARP and
//! DHCP may bind a non-local address to a device).
//!
//! An address stays with the device that uses it. A packet from another MAC
//! with the same source address (a forged source, ARP poisoning, a spoofed
//! flood) does not take it over while the owner has used it within
//! [`ADDRESS_HOLD_SECS`] of packet time; a DHCPACK hands it over at once, and
//! an address its owner stopped using moves to the next device that uses it.
//! So alert text names an address after its real owner even while an
//! attacker forges it; detectors judge the forgery from the packets.
//!
//! Bounded: at most `max_devices` devices (least recently seen evicted and
//! counted — a flood of spoofed MACs churns the oldest entries instead of
//! growing memory) and a fixed number of IPs, names, services, protocols and
//! evidence items per device.

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::net::IpAddr;

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use ward_proto::{AppProto, HintKind};

use crate::decode::{MacAddr, Net, Packet};
use crate::event::{DeviceRecord, Evidence};
use crate::lru::LruLists;
pub use crate::scope::is_local_scope;
use crate::scope::{Cidr, LocalScope};
use crate::time::Timestamp;

/// Inventory limits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// Most devices tracked at once.
    pub max_devices: usize,
    /// Most addresses remembered per device (most recent kept).
    pub max_ips: usize,
    /// Most distinct evidence items kept per device.
    pub max_evidence: usize,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            max_devices: 65_536,
            max_ips: 16,
            max_evidence: 64,
        }
    }
}

const MAX_NAMES: usize = 8;
/// Slots of the MAC → device cache in front of the key index (a power of
/// two; 16 KiB). Most packets come from and go to a handful of stations (the
/// router above all), so most lookups end here, in L1, instead of in the
/// hash index and the device itself. Direct-mapped: with 256 slots a home
/// mix of ~250 stations missed on one lookup in five (two MACs sharing a
/// slot push each other out).
const MAC_CACHE: usize = 1024;
/// The MAC cache's "no such device" (ids stay below `lru::MAX_SLOTS`).
const NO_DEVICE: u32 = u32::MAX;
/// Slots of the evidence memo (a power of two; 16 KiB), see
/// [`DeviceTable::add_hint`].
const EVIDENCE_MEMO: usize = 4096;
const MAX_SERVICES: usize = 64;
const MAX_PROTOCOLS: usize = 32;
const MAX_VALUE: usize = 256;

/// How a device is keyed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKey {
    Mac(MacAddr),
    Ip(IpAddr),
}

impl std::fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceKey::Mac(m) => m.fmt(f),
            DeviceKey::Ip(ip) => ip.fmt(f),
        }
    }
}

/// Index of a device in the table; stable while the device exists.
pub type DeviceId = u32;

/// What the engine knows about one device.
#[derive(Clone, Debug)]
pub struct Device {
    pub key: DeviceKey,
    pub ips: Vec<IpAddr>,
    pub vendor: Option<&'static str>,
    /// Names seen, first one first.
    pub hostnames: Vec<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub pkts_sent: u64,
    pub bytes_sent: u64,
    pub pkts_received: u64,
    pub bytes_received: u64,
    /// (IP protocol, port) it answered on.
    pub services: BTreeSet<(u8, u16)>,
    /// Application protocols it spoke as a client.
    pub protocols: BTreeSet<AppProto>,
    /// Identity evidence, deduplicated, in arrival order.
    pub evidence: Vec<(HintKind, String)>,
    pub category: Option<String>,
    pub model: Option<String>,
    pub confidence: Option<f32>,
    /// Evidence behind category/model (filled by identification).
    pub identity_evidence: Vec<Evidence>,
    /// Identity changed since the last `device` event.
    pub changed: bool,
    /// A `device` event has been written for it.
    pub announced: bool,
    /// TCP SYN signatures taken so far (a few are enough).
    pub syn_signatures: u8,
    /// When it last sent, as the table's packet sequence number (see
    /// [`DeviceTable::touch`]): the recency order eviction follows.
    touched: u64,
    /// Bucket of the address index that held its latest source address
    /// of each family (IPv4, IPv6) when it last used it: a hint checked
    /// on use, never trusted (see [`DeviceTable::bind_used`]).
    addr_buckets: [usize; 2],
}

impl Device {
    fn new(key: DeviceKey, now: Timestamp) -> Self {
        let vendor = match key {
            DeviceKey::Mac(m) => ward_oui::lookup(m.0),
            DeviceKey::Ip(_) => None,
        };
        Device {
            key,
            ips: Vec::new(),
            vendor,
            hostnames: Vec::new(),
            first_seen: now,
            last_seen: now,
            pkts_sent: 0,
            bytes_sent: 0,
            pkts_received: 0,
            bytes_received: 0,
            services: BTreeSet::new(),
            protocols: BTreeSet::new(),
            evidence: Vec::new(),
            category: None,
            model: None,
            confidence: None,
            identity_evidence: Vec::new(),
            changed: true,
            announced: false,
            syn_signatures: 0,
            touched: 0,
            addr_buckets: [usize::MAX; 2],
        }
    }

    pub fn mac(&self) -> Option<MacAddr> {
        match self.key {
            DeviceKey::Mac(m) => Some(m),
            DeviceKey::Ip(_) => None,
        }
    }

    pub fn hostname(&self) -> Option<&str> {
        self.hostnames.first().map(|s| s.as_str())
    }

    /// The id written in alerts (`devices`) and findings.
    pub fn label(&self) -> String {
        self.key.to_string()
    }

    /// The evidence value for `kind`, first seen.
    pub fn hint(&self, kind: HintKind) -> Option<&str> {
        self.evidence
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_str())
    }

    /// The `device` event body.
    pub fn record(&self, reason: &str) -> DeviceRecord {
        // Built in its final order and length at once (no regrowth, no
        // shift for the vendor): the vendor, identification's evidence,
        // then the device's own while the two are under 32 items.
        let own = (self.evidence.len()).min(32usize.saturating_sub(self.identity_evidence.len()));
        let mut evidence: Vec<Evidence> = Vec::with_capacity(
            usize::from(self.vendor.is_some()) + self.identity_evidence.len() + own,
        );
        if let Some(v) = self.vendor {
            evidence.push(Evidence {
                source: "oui".into(),
                value: v.to_string(),
            });
        }
        evidence.extend(self.identity_evidence.iter().cloned());
        evidence.extend(self.evidence.iter().take(own).map(|(k, v)| Evidence {
            source: k.as_str().to_string(),
            value: v.clone(),
        }));
        DeviceRecord {
            mac: self.mac(),
            ips: self.ips.clone(),
            vendor: self.vendor.map(str::to_string),
            hostname: self.hostname().map(str::to_string),
            category: self.category.clone(),
            model: self.model.clone(),
            confidence: self.confidence,
            evidence,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            reason: reason.to_string(),
            random_mac: self.mac().map(|m| m.is_local()).unwrap_or(false),
            pkts_sent: self.pkts_sent,
            bytes_sent: self.bytes_sent,
            pkts_received: self.pkts_received,
            bytes_received: self.bytes_received,
            services: self
                .services
                .iter()
                .map(|(p, port)| format!("{}/{}", crate::event::proto_name(*p), port))
                .collect(),
            protocols: self
                .protocols
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        }
    }
}

fn is_bindable(ip: IpAddr) -> bool {
    !(ip.is_unspecified() || ip.is_multicast() || ip.is_loopback())
        && match ip {
            IpAddr::V4(v4) => !v4.is_broadcast(),
            IpAddr::V6(_) => true,
        }
}

/// How long (seconds of packet time) an address stays with a device that
/// stopped using it before another device's packets may claim it. A typical
/// short DHCP lease; reassignment seen as a DHCPACK moves it at once.
pub const ADDRESS_HOLD_SECS: i64 = 300;

/// Who may move an address binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The device sent from the address (IP source, ARP sender): moves the
    /// binding only when the current owner has not used it for
    /// [`ADDRESS_HOLD_SECS`].
    Used,
    /// A DHCP server assigned the address to the device: moves at once.
    Assigned,
}

/// Counters the inventory keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceCounters {
    pub created: u64,
    pub evicted: u64,
}

/// The inventory. See the module docs.
pub struct DeviceTable {
    cfg: DeviceConfig,
    hasher: FixedState,
    by_key: HashTable<u32>,
    /// IP → (device, when the device last used it), for attributing
    /// traffic to a destination device and naming addresses.
    by_ip: HashTable<(IpAddr, u32, Timestamp)>,
    slab: Vec<Option<Device>>,
    free: Vec<u32>,
    /// Devices from least to most recently seen, kept only once the table
    /// has been full (`lru_live`): it exists to pick the device to evict,
    /// and until the first eviction each device's `touched` number holds
    /// the same order at a fraction of the cost (two list updates per
    /// packet, where most packets come from another device than the last).
    lru: LruLists<1>,
    lru_live: bool,
    /// Packets whose sender was touched so far (the `touched` clock).
    touches: u64,
    /// Devices whose identity changed since the last call to `take_changed`.
    changed: Vec<u32>,
    pub counters: DeviceCounters,
    /// Bumped whenever any device gains evidence, a service or a protocol.
    evidence_version: u64,
    /// Direct-mapped cache of [`DeviceTable::find`] for MAC keys: per slot
    /// the MAC (as [`mac_bits`], never 0) and its device, or [`NO_DEVICE`]
    /// for a MAC `find` knows nothing of. An entry is only ever what `find`
    /// would answer: it is written from `find` or a new device (which
    /// overwrites its MAC's slot, so a "none" never outlives the device's
    /// creation), and cleared when its device is removed (ids are reused).
    /// Fixed size, so spoofed MACs only evict each other.
    mac_cache: Box<[(u64, u32)]>,
    /// Odd multiplier picking a MAC's cache slot, from the seed (a flood
    /// aimed at one slot only costs the lookups the cache would save).
    mac_cache_mul: u64,
    /// Per slot (picked by device, kind and value), the place in its
    /// device's `evidence` where a hint hashing here was last found or
    /// put: a guess, compared with the entry before it is believed, so it
    /// never changes what is kept (see [`DeviceTable::add_hint`]).
    evidence_memo: Box<[u32]>,
    /// Which addresses are the LAN's own (see [`DeviceTable::is_local`]).
    scope: LocalScope,
}

impl DeviceTable {
    pub fn new(cfg: DeviceConfig, seed: u64) -> Self {
        DeviceTable {
            cfg,
            hasher: FixedState::with_seed(seed ^ 0x6465_7669_6365),
            by_key: HashTable::new(),
            by_ip: HashTable::new(),
            slab: Vec::new(),
            free: Vec::new(),
            lru: LruLists::new(),
            lru_live: false,
            touches: 0,
            changed: Vec::new(),
            counters: DeviceCounters::default(),
            evidence_version: 0,
            mac_cache: vec![(0, 0); MAC_CACHE].into_boxed_slice(),
            mac_cache_mul: FixedState::with_seed(seed ^ 0x6d61_635f_6361_6368).hash_one(0u64) | 1,
            evidence_memo: vec![u32::MAX; EVIDENCE_MEMO].into_boxed_slice(),
            scope: LocalScope::default(),
        }
    }

    /// The table with `networks` local besides the fixed rule's ranges
    /// (`[network] local_networks`). Replaces what was configured and
    /// learned before.
    pub fn set_local_networks(&mut self, networks: &[Cidr]) {
        self.scope = LocalScope::new(networks);
    }

    /// Is `ip` one of the LAN's own addresses (as opposed to a remote
    /// host's)? The fixed rule ([`is_local_scope`]: private, link-local,
    /// CGNAT, ULA) or a configured or learned network: the question every
    /// detector asks of an address, asked here so that they all agree.
    #[inline]
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.scope.is_local(ip)
    }

    /// The LAN's address scope: configured and learned networks.
    pub fn scope(&self) -> &LocalScope {
        &self.scope
    }

    /// The scope, to learn networks from packets the engine judged (a
    /// router advertisement's prefixes, a DHCP ACK's subnet).
    pub fn scope_mut(&mut self) -> &mut LocalScope {
        &mut self.scope
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn get(&self, id: DeviceId) -> Option<&Device> {
        self.slab.get(id as usize).and_then(|d| d.as_ref())
    }

    pub fn get_mut(&mut self, id: DeviceId) -> Option<&mut Device> {
        self.slab.get_mut(id as usize).and_then(|d| d.as_mut())
    }

    /// Devices in the order they were first seen.
    pub fn iter(&self) -> impl Iterator<Item = (DeviceId, &Device)> {
        let mut v: Vec<(DeviceId, &Device)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.as_ref().map(|d| (i as u32, d)))
            .collect();
        // Each key's text once (sorting by a computed key makes it for
        // every comparison); stable like `sort_by_key`, keys distinct anyway.
        v.sort_by_cached_key(|(_, d)| (d.first_seen, d.key.to_string()));
        v.into_iter()
    }

    /// Device ids in no particular order, without sorting or allocating
    /// (for per-second passes over the whole table).
    pub fn ids_unordered(&self) -> impl Iterator<Item = DeviceId> + '_ {
        self.slab
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.as_ref().map(|_| i as u32))
    }

    pub fn find(&self, key: DeviceKey) -> Option<DeviceId> {
        let h = key_hash(&self.hasher, key);
        let slab = &self.slab;
        self.by_key
            .find(h, |&i| {
                slab[i as usize].as_ref().map(|d| d.key) == Some(key)
            })
            .copied()
    }

    /// [`DeviceTable::find`] of `DeviceKey::Mac(m)` through the MAC cache
    /// (same answer).
    #[inline]
    fn find_mac_cached(&mut self, m: MacAddr) -> Option<DeviceId> {
        let bits = mac_bits(m);
        let slot = self.cache_slot(bits);
        if let Some(&(k, id)) = self.mac_cache.get(slot) {
            if k == bits {
                return (id != NO_DEVICE).then_some(id);
            }
        }
        self.find_mac_into_cache(m, bits, slot)
    }

    /// The cache missed: ask the index and remember its answer, a device
    /// or none (a MAC that receives but never sent is asked about often).
    #[inline(never)]
    fn find_mac_into_cache(&mut self, m: MacAddr, bits: u64, slot: usize) -> Option<DeviceId> {
        let id = self.find(DeviceKey::Mac(m));
        if let Some(e) = self.mac_cache.get_mut(slot) {
            *e = (bits, id.unwrap_or(NO_DEVICE));
        }
        id
    }

    #[inline]
    fn cache_slot(&self, bits: u64) -> usize {
        (bits.wrapping_mul(self.mac_cache_mul) >> (64 - MAC_CACHE.trailing_zeros())) as usize
    }

    /// [`DeviceTable::find_endpoint`] through the MAC cache (same answer).
    pub fn find_endpoint_cached(
        &mut self,
        mac: Option<MacAddr>,
        ip: Option<IpAddr>,
    ) -> Option<DeviceId> {
        match mac.filter(|m| m.is_station()) {
            Some(m) => self.find_mac_cached(m),
            None => ip.and_then(|ip| self.find_ip(ip)),
        }
    }

    /// The device an address belongs to.
    pub fn find_ip(&self, ip: IpAddr) -> Option<DeviceId> {
        let h = ip_hash(&self.hasher, ip);
        self.by_ip
            .find(h, |(a, _, _)| *a == ip)
            .map(|(_, id, _)| *id)
    }

    /// The device at one end of a conversation: by its MAC where it has a
    /// station MAC, else by its address.
    pub fn find_endpoint(&self, mac: Option<MacAddr>, ip: Option<IpAddr>) -> Option<DeviceId> {
        match mac.filter(|m| m.is_station()) {
            Some(m) => self.find(DeviceKey::Mac(m)),
            None => ip.and_then(|ip| self.find_ip(ip)),
        }
    }

    /// Some device changed since the last [`DeviceTable::take_changed`].
    pub fn any_changed(&self) -> bool {
        !self.changed.is_empty()
    }

    /// Devices whose identity changed (new, new name, new address, new
    /// category) since the last call, oldest change first.
    pub fn take_changed(&mut self) -> Vec<DeviceId> {
        let ids = std::mem::take(&mut self.changed);
        for &id in &ids {
            if let Some(d) = self.get_mut(id) {
                d.changed = false;
            }
        }
        ids
    }

    fn mark_changed(&mut self, id: DeviceId) {
        if let Some(d) = self.slab.get_mut(id as usize).and_then(|d| d.as_mut()) {
            if !d.changed {
                d.changed = true;
                self.changed.push(id);
            }
        }
    }

    #[inline]
    fn get_or_create(&mut self, key: DeviceKey, now: Timestamp) -> DeviceId {
        let found = match key {
            DeviceKey::Mac(m) => self.find_mac_cached(m),
            DeviceKey::Ip(_) => self.find(key),
        };
        match found {
            Some(id) => id,
            None => self.create(key, now),
        }
    }

    /// Make `id` the most recently seen device: the next number of the
    /// `touched` clock, and the front of the recency list once there is one.
    #[inline]
    fn touch(&mut self, id: DeviceId) -> Option<&mut Device> {
        self.touches += 1;
        let t = self.touches;
        if self.lru_live {
            self.lru.touch(id, 0);
        }
        let d = self.get_mut(id)?;
        d.touched = t;
        Some(d)
    }

    /// Build the recency list from the `touched` numbers (distinct: one
    /// clock), least recent first: the list per-packet touches would have
    /// built, since it only ever held live devices in the order they last
    /// sent. From here on every touch moves the list too.
    #[cold]
    fn start_lru(&mut self) {
        let mut order: Vec<(u64, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.as_ref().map(|d| (d.touched, i as u32)))
            .collect();
        order.sort_unstable();
        for (_, id) in order {
            self.lru.touch(id, 0);
        }
        self.lru_live = true;
    }

    #[inline(never)]
    fn create(&mut self, key: DeviceKey, now: Timestamp) -> DeviceId {
        if self.by_key.len() >= self.cfg.max_devices.clamp(1, crate::lru::MAX_SLOTS) {
            if !self.lru_live {
                self.start_lru();
            }
            if let Some(old) = self.lru.oldest(0) {
                self.remove(old);
                self.counters.evicted += 1;
            }
        }
        let dev = Device::new(key, now);
        let id = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(dev);
                i
            }
            None => {
                self.slab.push(Some(dev));
                (self.slab.len() - 1) as u32
            }
        };
        let h = key_hash(&self.hasher, key);
        let (slab, hasher) = (&self.slab, &self.hasher);
        self.by_key.insert_unique(h, id, |&i| {
            slab[i as usize]
                .as_ref()
                .map(|d| key_hash(hasher, d.key))
                .unwrap_or(0)
        });
        self.counters.created += 1;
        self.changed.push(id);
        self.touch(id);
        if let DeviceKey::Mac(m) = key {
            let bits = mac_bits(m);
            let slot = self.cache_slot(bits);
            if let Some(e) = self.mac_cache.get_mut(slot) {
                *e = (bits, id);
            }
        }
        id
    }

    fn remove(&mut self, id: DeviceId) {
        let Some(dev) = self.slab.get_mut(id as usize).and_then(|d| d.take()) else {
            return;
        };
        let h = key_hash(&self.hasher, dev.key);
        if let Ok(e) = self.by_key.find_entry(h, |&i| i == id) {
            e.remove();
        }
        if let DeviceKey::Mac(m) = dev.key {
            let bits = mac_bits(m);
            let slot = self.cache_slot(bits);
            if let Some(e) = self.mac_cache.get_mut(slot) {
                if *e == (bits, id) {
                    *e = (0, 0);
                }
            }
        }
        for ip in dev.ips {
            let h = ip_hash(&self.hasher, ip);
            if let Ok(e) = self.by_ip.find_entry(h, |(a, i, _)| *a == ip && *i == id) {
                e.remove();
            }
        }
        self.lru.remove(id);
        self.changed.retain(|&c| c != id);
        self.free.push(id);
    }

    /// Remember that `ip` belongs to device `id` (most recent address last),
    /// used or assigned at `now`. A used address already owned by another
    /// device that used it within [`ADDRESS_HOLD_SECS`] stays where it is.
    pub fn bind_ip(&mut self, id: DeviceId, ip: IpAddr, now: Timestamp, claim: Claim) {
        self.bind_ip_at(id, ip, now, claim);
    }

    /// [`DeviceTable::bind_ip`] for the address a device sent from
    /// (`Claim::Used`), the same bindings and times. Nearly always the
    /// device already holds the address: the index bucket where its last
    /// use of an address of this family found it is looked at first, and
    /// taken only if it still holds this address with this owner (buckets
    /// move when the index grows, and are reused when entries go), which is
    /// exactly the case `bind_ip` settles by refreshing the time.
    fn bind_used(&mut self, id: DeviceId, ip: IpAddr, now: Timestamp) {
        let family = usize::from(ip.is_ipv6());
        let hint = self
            .get(id)
            .and_then(|d| d.addr_buckets.get(family).copied())
            .unwrap_or(usize::MAX);
        if let Some((a, owner, last)) = self.by_ip.get_bucket_mut(hint) {
            if *a == ip && *owner == id {
                if now > *last {
                    *last = now;
                }
                return;
            }
        }
        let at = self.bind_ip_at(id, ip, now, Claim::Used);
        if let Some(slot) = self
            .get_mut(id)
            .and_then(|d| d.addr_buckets.get_mut(family))
        {
            *slot = at.unwrap_or(usize::MAX);
        }
    }

    /// [`DeviceTable::bind_ip`], returning the index bucket of the binding
    /// when the address is `id`'s afterwards.
    fn bind_ip_at(
        &mut self,
        id: DeviceId,
        ip: IpAddr,
        now: Timestamp,
        claim: Claim,
    ) -> Option<usize> {
        if !is_bindable(ip) {
            return None;
        }
        let h = ip_hash(&self.hasher, ip);
        let at = self.by_ip.find_bucket_index(h, |(a, _, _)| *a == ip);
        let prev = match at.and_then(|i| self.by_ip.get_bucket_mut(i)) {
            Some((_, owner, last)) if *owner == id => {
                if now > *last {
                    *last = now;
                }
                return at;
            }
            Some((_, owner, last)) => {
                if claim == Claim::Used && now.since(*last) < ADDRESS_HOLD_SECS * 1_000_000 {
                    return None;
                }
                Some(*owner)
            }
            None => None,
        };
        if let Some(other) = prev {
            // The address moved (DHCP reassignment, or an owner gone quiet);
            // the old owner forgets it.
            if let Some(d) = self.get_mut(other) {
                d.ips.retain(|a| *a != ip);
            }
            if let Ok(e) = self.by_ip.find_entry(h, |(a, _, _)| *a == ip) {
                e.remove();
            }
        }
        let max_ips = self.cfg.max_ips.max(1);
        let dev = self.get_mut(id)?;
        let mut dropped = None;
        if dev.ips.len() >= max_ips {
            dropped = Some(dev.ips.remove(0));
        }
        dev.ips.push(ip);
        let v4 = ip.is_ipv4();
        if let Some(old) = dropped {
            let h = ip_hash(&self.hasher, old);
            if let Ok(e) = self.by_ip.find_entry(h, |(a, i, _)| *a == old && *i == id) {
                e.remove();
            }
        }
        let hasher = &self.hasher;
        let at = self
            .by_ip
            .insert_unique(h, (ip, id, now), |(a, _, _)| ip_hash(hasher, *a))
            .bucket_index();
        if v4 {
            self.mark_changed(id);
        }
        Some(at)
    }

    /// Account a packet: create/refresh the sending device, bind addresses,
    /// count traffic. Returns the sending and receiving devices, where known.
    ///
    /// The engine lets a router advertisement teach the scope its on-link
    /// prefixes just before ([`LocalScope::learn_router_advertisement`]),
    /// so a device's global IPv6 address is bound from its first packet
    /// after it.
    pub fn observe(&mut self, pkt: &Packet<'_>) -> (Option<DeviceId>, Option<DeviceId>) {
        let now = pkt.ts;
        let len = pkt.wire_len as u64;
        let ip = pkt.ip();
        let mut src = None;
        if let Some(mac) = pkt.link.src.filter(|m| m.is_station()) {
            let id = self.get_or_create(DeviceKey::Mac(mac), now);
            src = Some(id);
            match (&pkt.net, ip) {
                (Net::Arp(arp), _) if arp.sender_mac == mac => {
                    self.bind_used(id, IpAddr::V4(arp.sender_ip), now);
                }
                (_, Some(ip)) if self.scope.is_local(ip.src) => self.bind_used(id, ip.src, now),
                _ => {}
            }
        } else if let Some(ip) = ip {
            if pkt.link.src.is_none() && self.scope.is_local(ip.src) && is_bindable(ip.src) {
                let id = self.get_or_create(DeviceKey::Ip(ip.src), now);
                self.bind_used(id, ip.src, now);
                src = Some(id);
            }
        }
        if let Some(id) = src {
            if let Some(d) = self.touch(id) {
                d.pkts_sent += 1;
                d.bytes_sent += len;
                if now > d.last_seen {
                    d.last_seen = now;
                }
            }
        }
        let dst = match (pkt.link.dst, ip) {
            (Some(mac), _) if mac.is_station() => self.find_mac_cached(mac),
            (None, Some(ip)) => self.find_ip(ip.dst),
            _ => None,
        };
        if let Some(d) = dst.and_then(|id| self.get_mut(id)) {
            d.pkts_received += 1;
            d.bytes_received += len;
        }
        (src, dst)
    }

    /// Add a piece of identity evidence. Host names also become the device's name.
    ///
    /// Most hints repeat evidence the device already has (every DNS query,
    /// every TLS hello; nine in ten in a home mix), so the value is copied
    /// only when it is kept, and a repeat is recognised without walking
    /// the list (up to `max_evidence` string comparisons): the evidence
    /// memo names where the same device, kind and value were last found,
    /// and that entry is compared first. A wrong guess (another hint in
    /// the slot, the list changed by hand) only costs the walk. Host names
    /// always take the long way: they also feed `hostnames`.
    pub fn add_hint(&mut self, id: DeviceId, kind: HintKind, value: &str) {
        let max = self.cfg.max_evidence;
        let value = clean(value);
        if value.is_empty() {
            return;
        }
        let value: &str = &value;
        if kind != HintKind::Hostname {
            self.add_evidence(id, kind, value, max);
            return;
        }
        let Some(dev) = self.get_mut(id) else { return };
        let mut changed = false;
        // A new name is news for identification even when the evidence
        // list is full (it reads the names): bump the version either way.
        let mut grew = false;
        if kind == HintKind::Hostname
            && dev.hostnames.len() < MAX_NAMES
            && !dev.hostnames.iter().any(|h| h == value)
        {
            changed = dev.hostnames.is_empty();
            dev.hostnames.push(value.to_string());
            grew = true;
        }
        if dev.evidence.len() < max && !dev.evidence.iter().any(|(k, v)| *k == kind && v == value) {
            dev.evidence.push((kind, value.to_string()));
            grew = true;
        }
        if grew {
            self.evidence_version += 1;
        }
        if changed {
            self.mark_changed(id);
        }
    }

    /// [`DeviceTable::add_hint`] for a cleaned, non-empty value of any kind
    /// but `Hostname`: keep it unless the device has it or `max` items.
    fn add_evidence(&mut self, id: DeviceId, kind: HintKind, value: &str, max: usize) {
        let h = self.hasher.hash_one(value) ^ (u64::from(id) << 8 | kind as u64);
        let slot = (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - EVIDENCE_MEMO.trailing_zeros()))
            as usize;
        let Some(dev) = self.slab.get_mut(id as usize).and_then(|d| d.as_mut()) else {
            return;
        };
        let is_it = |(k, v): &(HintKind, String)| *k == kind && v == value;
        let guess = self
            .evidence_memo
            .get(slot)
            .map_or(usize::MAX, |&i| i as usize);
        if dev.evidence.get(guess).is_some_and(is_it) {
            return;
        }
        let at = match dev.evidence.iter().position(is_it) {
            Some(at) => at,
            None if dev.evidence.len() < max => {
                dev.evidence.push((kind, value.to_string()));
                self.evidence_version += 1;
                dev.evidence.len() - 1
            }
            None => return,
        };
        if let Some(m) = self.evidence_memo.get_mut(slot) {
            *m = u32::try_from(at).unwrap_or(u32::MAX);
        }
    }

    pub fn add_service(&mut self, id: DeviceId, proto: u8, port: u16) {
        if let Some(d) = self.get_mut(id) {
            if d.services.len() < MAX_SERVICES && d.services.insert((proto, port)) {
                self.evidence_version += 1;
            }
        }
    }

    pub fn add_protocol(&mut self, id: DeviceId, p: AppProto) {
        if let Some(d) = self.get_mut(id) {
            if d.protocols.len() < MAX_PROTOCOLS && d.protocols.insert(p) {
                self.evidence_version += 1;
            }
        }
    }

    /// A number that changes whenever any device gains evidence, a service
    /// or a protocol (identification skips its pass when it has not).
    pub fn evidence_version(&self) -> u64 {
        self.evidence_version
    }

    /// Set category/model (identification). Marks the device changed when they differ.
    pub fn set_identity(
        &mut self,
        id: DeviceId,
        category: Option<String>,
        model: Option<String>,
        confidence: Option<f32>,
        evidence: Vec<Evidence>,
    ) {
        let Some(d) = self.get_mut(id) else { return };
        let differs = d.category != category || d.model != model;
        d.category = category;
        d.model = model;
        d.confidence = confidence;
        d.identity_evidence = evidence;
        if differs {
            self.mark_changed(id);
        }
    }
}

/// A MAC as one integer for the MAC cache, with a bit no MAC sets (so an
/// empty entry, 0, never matches).
#[inline]
fn mac_bits(m: MacAddr) -> u64 {
    let b = m.0;
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], 0, 0x80])
}

/// The seeded hash of a device key as one integer. Hashed the derived way
/// (enum tag, length prefix, bytes) a MAC cost several multiply rounds, and
/// the inventory looks up two keys per packet.
#[inline]
fn key_hash(hasher: &FixedState, key: DeviceKey) -> u64 {
    match key {
        DeviceKey::Mac(m) => {
            let b = m.0;
            hasher.hash_one(u64::from_le_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], 0, 0,
            ]))
        }
        DeviceKey::Ip(ip) => ip_hash(hasher, ip),
    }
}

/// The seeded hash of an address as one integer (IPv4) or one `u128` (IPv6).
#[inline]
fn ip_hash(hasher: &FixedState, ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => hasher.hash_one(v4.to_bits()),
        IpAddr::V6(v6) => hasher.hash_one(v6.to_bits()),
    }
}

/// Printable, bounded value for evidence: borrowed when `v` needs only
/// trimming (the usual case), copied when characters must be dropped.
fn clean(v: &str) -> std::borrow::Cow<'_, str> {
    let v = v.trim().trim_end_matches('.');
    // At most MAX_VALUE bytes is at most MAX_VALUE characters: nothing to cut.
    if v.len() <= MAX_VALUE && !has_control(v) {
        return std::borrow::Cow::Borrowed(v.trim_end());
    }
    let mut out: String = v
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE)
        .collect();
    out.truncate(out.trim_end().len());
    std::borrow::Cow::Owned(out)
}

/// `v.chars().any(char::is_control)`, the usual case first: printable
/// ASCII (every byte 0x20–0x7E) has no control character, and telling so
/// is one pass without an early exit, which the compiler vectorises; only
/// a value with another byte is read as characters.
fn has_control(v: &str) -> bool {
    let unusual = v.bytes().fold(false, |a, c| a | !(0x20..0x7f).contains(&c));
    unusual && v.chars().any(char::is_control)
}

#[cfg(test)]
mod tests;
