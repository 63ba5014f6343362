//! Port evidence: which well-known ports a device talks to as a client,
//! and which fixed (non-ephemeral) source ports it talks from.
//!
//! The engine's inventory keeps the services a device *answers* on; many
//! IoT devices instead call out to a vendor protocol on a fixed port (an
//! Edimax plug's UDP 8765 reports, a fixed UDP 20560 source), which tells
//! sibling models apart where every DHCP/DNS detail is identical. A
//! [`Detector`] sees each flow when it ends; [`PortObserver`] records the
//! ports there and shares them with the [`crate::DeviceIdentifier`] through
//! a [`PortEvidence`] handle. Flow ends are far rarer than packets, so the
//! cost per packet is nil.
//!
//! Bounded: at most [`MAX_DEVICES`] devices and [`MAX_PORTS`] entries per
//! device; the identifier drops devices the inventory has evicted.

use std::collections::{BTreeSet, HashMap, HashSet};

use foldhash::fast::RandomState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ward_core::devices::DeviceKey;
use ward_core::{Detector, Event, FlowEndContext, PacketContext};

pub const MAX_DEVICES: usize = 65_536;
pub const MAX_PORTS: usize = 32;
/// Entries the observer remembers having recorded (cleared when full).
const MAX_SEEN: usize = 65_536;
/// Devices whose sets grew that are remembered until the identifier
/// reads them ([`PortEvidence::take_grown`]); past this, it reads every
/// device's count instead.
const MAX_GROWN: usize = 4_096;
/// Ports at or above this are treated as ephemeral (IANA dynamic range
/// starts at 49152; Linux picks from 32768).
const EPHEMERAL: u16 = 32_768;

/// How a device used a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortRole {
    /// It connected to this port.
    ClientTo,
    /// It connected from this fixed port.
    ClientFrom,
}

impl PortRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PortRole::ClientTo => "to",
            PortRole::ClientFrom => "from",
        }
    }
}

pub type PortSet = BTreeSet<(PortRole, u8, u16)>;

/// Shared handle to the port evidence (cheap to clone).
#[derive(Clone, Default)]
pub struct PortEvidence {
    map: Arc<Mutex<Sets>>,
    /// Bumped whenever any set grows, so readers can skip the lock.
    version: Arc<AtomicU64>,
    /// Bumped whenever devices are dropped, so the observer forgets what
    /// it recorded for them.
    epoch: Arc<AtomicU64>,
}

#[derive(Default)]
struct Sets {
    /// Keyed by MAC (attacker-chosen): a per-process random seed, and
    /// only looked up, never iterated into output.
    map: HashMap<DeviceKey, PortSet, RandomState>,
    /// Devices whose set grew since [`PortEvidence::take_grown`] last
    /// read them (a device may be listed more than once), at most
    /// [`MAX_GROWN`]; `overflow` says some were left out.
    grown: Vec<DeviceKey>,
    overflow: bool,
}

impl PortEvidence {
    /// The ports recorded for a device (empty if none).
    pub fn of(&self, key: DeviceKey) -> PortSet {
        let sets = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        sets.map.get(&key).cloned().unwrap_or_default()
    }

    /// Number of entries for a device (its evidence generation).
    pub fn count(&self, key: DeviceKey) -> usize {
        let sets = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        sets.map.get(&key).map_or(0, |s| s.len())
    }

    /// The devices whose sets grew since the last call, with their counts
    /// now, into `out` (cleared first). `false` if more devices grew than
    /// could be remembered: then any device's count may have moved.
    ///
    /// Why: the identifier used to read every device's count (one lock
    /// and lookup each) on every pass after any device's ports grew.
    pub fn take_grown(&self, out: &mut Vec<(DeviceKey, usize)>) -> bool {
        out.clear();
        let mut sets = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let sets = &mut *sets;
        out.extend(
            sets.grown
                .drain(..)
                .map(|k| (k, sets.map.get(&k).map_or(0, |s| s.len()))),
        );
        !std::mem::take(&mut sets.overflow)
    }

    /// Changes whenever some device's ports grew.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    fn record(&self, key: DeviceKey, entry: (PortRole, u8, u16)) {
        let mut sets = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let map = &mut sets.map;
        let full = map.len() >= MAX_DEVICES;
        let grew = if let Some(set) = map.get_mut(&key) {
            set.len() < MAX_PORTS && set.insert(entry)
        } else if !full {
            map.insert(key, PortSet::from([entry]));
            true
        } else {
            false
        };
        if grew {
            if sets.grown.len() < MAX_GROWN {
                sets.grown.push(key);
            } else {
                sets.overflow = true;
            }
            self.version.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Keep only the devices `keep` says still exist.
    pub fn retain(&self, mut keep: impl FnMut(DeviceKey) -> bool) {
        let mut sets = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        sets.map.retain(|k, _| keep(*k));
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }
}

/// The detector half: records client ports when flows end.
pub struct PortObserver {
    evidence: PortEvidence,
    /// Entries already recorded: most flows repeat one (a device's
    /// hundredth DNS query), and this skips the shared lock for them.
    seen: HashSet<(DeviceKey, PortRole, u8, u16), RandomState>,
    epoch: u64,
}

impl PortObserver {
    pub fn new(evidence: PortEvidence) -> Self {
        PortObserver {
            evidence,
            seen: HashSet::default(),
            epoch: 0,
        }
    }

    fn record(&mut self, key: DeviceKey, entry: (PortRole, u8, u16)) {
        let epoch = self.evidence.epoch.load(Ordering::Relaxed);
        if epoch != self.epoch || self.seen.len() >= MAX_SEEN {
            self.seen.clear();
            self.epoch = epoch;
        }
        if self.seen.insert((key, entry.0, entry.1, entry.2)) {
            self.evidence.record(key, entry);
        }
    }
}

impl Detector for PortObserver {
    fn name(&self) -> &'static str {
        "identify-ports"
    }

    fn on_packet(&mut self, _ctx: &PacketContext<'_, '_>, _out: &mut Vec<Event>) {}

    fn on_flow_end(&mut self, ctx: &FlowEndContext<'_>, _out: &mut Vec<Event>) {
        let f = ctx.flow;
        if !matches!(f.proto, 6 | 17) {
            return;
        }
        // A flow picked up mid-stream may have its initiator wrong; the
        // side on the ephemeral port is the client.
        let reversed = f.dst_port >= EPHEMERAL && f.src_port != 0 && f.src_port < EPHEMERAL;
        let (client, client_port, server_port) = if reversed {
            (ctx.server_device, f.dst_port, f.src_port)
        } else {
            (ctx.client_device, f.src_port, f.dst_port)
        };
        let Some(key) = client.and_then(|id| ctx.devices.get(id)).map(|d| d.key) else {
            return;
        };
        // A TCP flow counts only if the server answered with something
        // other than a reset, so a scan's thousand refused ports do not
        // fill the set (a flow picked up mid-stream has no SYN-ACK).
        let answered = match f.proto {
            6 => f.tcp_flags[1] & 0x12 == 0x12 || (f.pkts[1] > 0 && f.tcp_flags[1] & 0x04 == 0),
            _ => true,
        };
        if answered && server_port != 0 && server_port < EPHEMERAL {
            self.record(key, (PortRole::ClientTo, f.proto, server_port));
        }
        if (1024..EPHEMERAL).contains(&client_port) {
            self.record(key, (PortRole::ClientFrom, f.proto, client_port));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PortEvidence, PortRole, MAX_GROWN};
    use ward_core::devices::DeviceKey;
    use ward_core::MacAddr;

    fn key(i: usize) -> DeviceKey {
        let b = (i as u32).to_be_bytes();
        DeviceKey::Mac(MacAddr([0, 0x1a, b[0], b[1], b[2], b[3]]))
    }

    #[test]
    fn grown_devices_are_listed_once_read_and_overflow_says_so() {
        let e = PortEvidence::default();
        let mut out = Vec::new();
        assert!(e.take_grown(&mut out) && out.is_empty());
        e.record(key(1), (PortRole::ClientTo, 17, 53));
        e.record(key(1), (PortRole::ClientTo, 17, 53)); // no growth
        e.record(key(2), (PortRole::ClientFrom, 6, 8080));
        e.record(key(1), (PortRole::ClientTo, 6, 443));
        assert!(e.take_grown(&mut out));
        assert_eq!(out, vec![(key(1), 2), (key(2), 1), (key(1), 2)]);
        assert!(e.take_grown(&mut out) && out.is_empty());
        // More devices grow than are remembered: the reader is told.
        for i in 0..=MAX_GROWN {
            e.record(key(10 + i), (PortRole::ClientTo, 17, 123));
        }
        assert!(!e.take_grown(&mut out));
        assert_eq!(out.len(), MAX_GROWN);
        assert!(out.iter().all(|(k, n)| e.count(*k) == *n && *n == 1));
        assert!(e.take_grown(&mut out) && out.is_empty());
    }
}
