//! The identifier the engine runs once per second of packet time.
//!
//! For every device whose evidence changed since it last looked (a cheap
//! generation made of the lengths of the device's append-only evidence,
//! service, protocol and name lists), it extracts the features, asks the
//! model, falls back to explicit rules, and writes category, model,
//! confidence and the reasons to the inventory
//! ([`DeviceTable::set_identity`]), so the engine emits a `device` event
//! with reason `changed`. Devices whose evidence did not change cost one
//! table lookup per second.
//!
//! When it looks ([`next_wait_s`]): a new device at once; a device whose
//! evidence grew by something decisive ([`rules::is_decisive`]: a host
//! name, DHCP options, DNS-SD, SSDP/UPnP, LLDP, a User-Agent, a banner, a
//! DNS name of a vendor cloud a rule knows, a service a rule reads) at the
//! next pass, within a second; otherwise no sooner than the device's
//! wait, which grows 4, 16, 64 … s up to [`IdentifyConfig::max_wait_s`]
//! while its conclusion holds and is a quarter of its age (2–60 s) while
//! it has none or it just changed. The end of the input looks at every
//! device whose evidence grew since, so the final inventory reads all of
//! it.
//!
//! It also keeps the persistent [`Inventory`] up to date and raises:
//! * `new-device` (category `new-device`) for a device first seen after the
//!   learning period, unless it is a known device under a new randomised
//!   MAC — those are merged into the old entry (evidence `same-as`);
//! * `device-identity-changed` (category `policy`) when a device whose
//!   category had settled starts to look like something else.
//!
//! Bounded: one small record per device of the engine's (bounded) table,
//! swept when devices are evicted; the inventory is capped.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use foldhash::fast::FixedState;
use serde::{Deserialize, Serialize};
use ward_core::devices::{Device, DeviceId, DeviceKey, DeviceTable};
use ward_core::event::Evidence;
use ward_core::{Alert, AlertCategory, Engine, Event, Identifier, Timestamp};
use ward_proto::HintKind;

use crate::features;
use crate::inventory::{Inventory, InventoryEntry, Signature};
use crate::model::{Model, ModelError};
use crate::ports::{PortEvidence, PortObserver};
use crate::rules;

/// `[identify]` settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IdentifyConfig {
    /// Run identification at all. Off, the engine keeps collecting
    /// evidence (addresses, host names, hints) but nothing is classified,
    /// no inventory is kept and no `new-device` alerts are raised; this is
    /// how its cost is measured (docs/benchmarks.md).
    pub enabled: bool,
    /// Seconds of packet time after the first packet (or the state file's
    /// start) during which new devices are learnt, not alerted on.
    pub learning_period_s: u64,
    /// A category must have held this long before a change is alerted
    /// (early packets refine the guess; that is not a change of identity).
    pub settle_s: u64,
    /// Least vote share for the model's answer to be accepted.
    pub min_probability: f32,
    /// Least vote share for a category without a model (the category
    /// forest generalises further, so it must be surer).
    pub min_category_probability: f32,
    /// Least share of the device's evidence the model must have seen in
    /// training for that answer (novelty check).
    pub min_coverage: f32,
    /// Least number of the device's evidence tokens the model must know
    /// (a device with fewer tokens must have all of them known).
    pub min_matched_tokens: usize,
    /// How long to wait for DHCP/host-name evidence before deciding a
    /// device with a locally administered MAC is new (not a known device
    /// under a new random MAC).
    pub random_mac_wait_s: u64,
    /// Longest wait (seconds of packet time) before a device whose
    /// conclusion holds is examined again for evidence that only refines
    /// (more DNS and TLS names, fingerprints, services, client ports).
    /// The wait grows 4, 16, 64 … up to this while the conclusion holds;
    /// decisive evidence (see [`crate::rules::is_decisive`]) is examined at
    /// the next pass whatever the wait, and the end of the input examines
    /// every device whose evidence grew. It also caps the wait of a device
    /// without a conclusion (a quarter of its age, at most 60 s), so a
    /// value under 60 shortens that too. 0 is taken as 1 s.
    pub max_wait_s: u64,
}

impl Default for IdentifyConfig {
    fn default() -> Self {
        IdentifyConfig {
            enabled: true,
            learning_period_s: 3600,
            settle_s: 300,
            min_probability: 0.5,
            min_category_probability: 0.9,
            min_coverage: 0.6,
            min_matched_tokens: 4,
            random_mac_wait_s: 30,
            max_wait_s: u64::from(MAX_SETTLED_WAIT_S),
        }
    }
}

/// Counters for the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IdentifyCounters {
    /// Devices (re-)classified.
    pub classified: u64,
    pub new_device_alerts: u64,
    pub identity_changed_alerts: u64,
    /// Devices recognised under a new MAC.
    pub merged: u64,
}

struct Track {
    id: DeviceId,
    key: String,
    generation: (usize, usize, usize, usize),
    new_pending: bool,
    same_as: Option<String>,
    category: Option<String>,
    category_since: Timestamp,
    /// The category came from a previous run's state (already settled).
    settled: bool,
    synced_last_seen: Timestamp,
    synced_at: Timestamp,
    /// Port entries last read for this device.
    ports: usize,
    /// Earliest time of the next classification.
    next_classify: Timestamp,
    /// Wait after the last classification (see [`next_wait_s`]).
    wait_s: u32,
    /// What the last classification concluded: (category, model), `None`
    /// when it concluded nothing.
    answer: Option<(Option<String>, Option<String>)>,
    /// Evidence items and host names already looked at for decisive
    /// evidence (see [`rules::is_decisive`]) while the device waits.
    decisive_checked: (usize, usize),
    /// [`rules::rule_services`] when the device was last classified.
    rule_services: u8,
    /// The tokens of the device's evidence read so far, when the budget
    /// ([`MAX_KEPT_TOKENS`]) allowed keeping them.
    tokens: Option<Box<features::EvidenceTokens>>,
}

/// Evidence tokens kept over all devices (8 bytes each: ≈ 2 MiB). A
/// device's evidence is capped (64 items), so a few hundred devices'
/// tokens fit; the devices beyond are extracted from scratch each time,
/// with the same result.
const MAX_KEPT_TOKENS: usize = 1 << 18;

/// Longest wait between two classifications of a device whose
/// conclusion holds (packet time): [`IdentifyConfig::max_wait_s`]'s
/// default.
const MAX_SETTLED_WAIT_S: u32 = 300;
/// How much longer each wait of a device whose conclusion holds is than
/// the one before.
const SETTLED_GROWTH: u32 = 4;
/// Longest wait between two classifications of a device that has no
/// conclusion yet, or whose conclusion just changed.
const MAX_UNSETTLED_WAIT_S: u32 = 60;

/// How long to wait before the next classification of a device whose
/// evidence changed, given the wait before this one, whether this
/// classification concluded what the previous one did, the device's age
/// in seconds and the longest wait allowed
/// ([`IdentifyConfig::max_wait_s`], at least 1 s).
///
/// Why: evidence arrives in bursts (a device's set-up), and classifying
/// on every change costs a forest walk each; on a busy network nearly
/// every device brings another DNS or TLS name every second. A device
/// whose conclusion holds is asked again after 4, 16, 64 … s, up to the
/// longest wait, so evidence that keeps coming without changing the
/// answer costs a number of classifications that grows with the log of
/// the device's age. A device without a conclusion (or whose conclusion
/// moved) is asked every quarter of its age (2 s while it is under 8 s
/// old, 60 s at most), so evidence arriving at 20 s is looked at by 25 s
/// rather than after a back-off that grew while the device was silent.
/// Decisive evidence does not wait at all (see [`rules::is_decisive`]).
pub fn next_wait_s(prev_wait_s: u32, same_answer: bool, age_s: i64, max_wait_s: u32) -> u32 {
    let max = max_wait_s.max(1);
    if same_answer {
        prev_wait_s.saturating_mul(SETTLED_GROWTH).max(4).min(max)
    } else {
        ((age_s / 4).clamp(2, MAX_UNSETTLED_WAIT_S as i64) as u32).min(max)
    }
}

/// How often (packet time) an unchanged device's last-seen time and
/// addresses are copied to the inventory.
/// (Every pass walks all devices, so on a sparse capture spanning days,
/// where nearly every packet starts a new second, this sets the cost.)
const REFRESH_US: i64 = 60_000_000;

/// See the module docs.
pub struct DeviceIdentifier {
    model: Model,
    cfg: IdentifyConfig,
    inventory: Inventory,
    tracks: HashMap<DeviceKey, Track, FixedState>,
    counters: IdentifyCounters,
    ports: PortEvidence,
    ports_seen: u64,
    /// Reused buffer of devices whose ports grew ([`PortEvidence::take_grown`]).
    ports_grown: Vec<(DeviceKey, usize)>,
    /// Reused id buffer (no allocation per second).
    ids: Vec<DeviceId>,
    /// The input ended: classify regardless of the back-off.
    concluding: bool,
    /// (evidence, ports, devices created) at the last pass.
    versions_seen: (u64, u64, u64),
    /// Earliest time a device that waits (for its next classification or
    /// the new-device decision) may be looked at again: no pass before it
    /// unless something new arrives.
    next_due: Timestamp,
    next_refresh: Timestamp,
    /// Feature buffers reused by every classification.
    scratch: features::Scratch,
    /// Tokens kept in the tracks' `tokens`.
    kept_tokens: usize,
    /// The device table's eviction count when the kept tokens were last
    /// checked: an evicted device's id (and key) can come back with other
    /// evidence, so every kept list is dropped when it moves.
    evictions_seen: u64,
}

impl DeviceIdentifier {
    pub fn new(model: Model, cfg: IdentifyConfig, inventory: Inventory) -> Self {
        DeviceIdentifier {
            model,
            cfg,
            inventory,
            // Lookups only (never iterated into output), so a fixed seed
            // cannot change results; it is fast on the per-second pass.
            tracks: HashMap::with_hasher(FixedState::with_seed(0x6964_656e)),
            counters: IdentifyCounters::default(),
            ports: PortEvidence::default(),
            ports_seen: u64::MAX,
            ports_grown: Vec::new(),
            ids: Vec::new(),
            concluding: false,
            versions_seen: (u64::MAX, 0, 0),
            next_due: Timestamp(i64::MAX),
            next_refresh: Timestamp(i64::MIN),
            scratch: features::Scratch::default(),
            kept_tokens: 0,
            evictions_seen: 0,
        }
    }

    /// The detector that gathers client-port evidence for this identifier.
    /// Pass it to [`Engine::new`] with the other detectors; without it,
    /// identification works on the inventory's evidence alone (and the
    /// shipped model, trained with ports, is a little less sure of
    /// same-vendor siblings).
    pub fn port_observer(&self) -> Box<dyn ward_core::Detector> {
        Box::new(PortObserver::new(self.ports.clone()))
    }

    /// With the model compiled into the binary.
    pub fn with_default_model(
        cfg: IdentifyConfig,
        inventory: Inventory,
    ) -> Result<Self, ModelError> {
        Ok(DeviceIdentifier::new(
            Model::default_model()?,
            cfg,
            inventory,
        ))
    }

    /// The identifier an engine runs, if it is this type.
    pub fn of_engine(engine: &Engine) -> Option<&DeviceIdentifier> {
        let any: &dyn std::any::Any = engine.identifier()?;
        any.downcast_ref()
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    pub fn into_inventory(self) -> Inventory {
        self.inventory
    }

    pub fn counters(&self) -> IdentifyCounters {
        self.counters
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The evidence tokens kept for the device under `key`, if any (for
    /// tests: the next extraction starts from them).
    pub fn kept_evidence_tokens(&self, key: DeviceKey) -> Option<&features::EvidenceTokens> {
        self.tracks.get(&key).and_then(|t| t.tokens.as_deref())
    }

    /// The model's answer if it is sure enough, else a model the device
    /// states, else the rules, else the category forest's answer. Each
    /// step is computed only when reached: most devices are settled by
    /// the first or the rules, so the explanation's walk and the category
    /// forest are skipped (the answer is the same as from
    /// [`Model::predict`], which takes every step).
    fn classify(
        &self,
        d: &Device,
        tokens: Option<&mut features::EvidenceTokens>,
        scratch: &mut features::Scratch,
    ) -> Option<Identity> {
        let ports = self.ports.of(d.key);
        let f = match tokens {
            Some(t) => features::extract_with_ports_cached(d, &ports, t, scratch),
            None => features::extract_with_ports_into(d, &ports, scratch),
        };
        let m = self.model.vote_model(f);
        let min_p = self.cfg.min_probability;
        let min_c = self.cfg.min_coverage;
        let why = |prob: f32| {
            let sources = self.model.sources(f);
            let top: Vec<&str> = sources.iter().take(3).copied().collect();
            format!("classifier: {prob:.2} ({})", top.join(", "))
        };
        let enough = m.enough_evidence(self.cfg.min_matched_tokens);
        if m.probability >= min_p && m.coverage >= min_c && enough {
            let model = self.model.model_label(&m).name;
            let category = self
                .model
                .models
                .iter()
                .position(|name| *name == model)
                .and_then(|i| self.model.model_category.get(i))
                .cloned()
                .unwrap_or_else(|| {
                    let c = self.model.vote_category(f);
                    self.model.category_label(&c).name
                });
            return Some(Identity {
                category: Some(category.clone()),
                model: Some(model.clone()),
                confidence: m.probability,
                evidence: vec![
                    ev("model", why(m.probability)),
                    ev("category", format!("model {model} is a {category}")),
                ],
            });
        }
        let stated = rules::stated_model(d);
        // A model the device names itself that the model knows: its
        // category is known too (a Cast device saying "Google Home Mini"
        // is a speaker, whatever the service type suggests).
        if let Some((name, src)) = &stated {
            if let Some((label, category)) = self.known_model(name) {
                return Some(Identity {
                    category: Some(category.to_string()),
                    model: Some(label.to_string()),
                    confidence: 0.8,
                    evidence: vec![
                        ev("model", format!("stated by the device ({src})")),
                        ev("category", format!("model {label} is a {category}")),
                    ],
                });
            }
        }
        if let Some(r) = rules::classify(d) {
            let mut evidence = vec![ev("category", format!("rule: {}", r.reason))];
            if let Some((_, src)) = &stated {
                evidence.push(ev("model", format!("stated by the device ({src})")));
            }
            return Some(Identity {
                category: Some(r.category.to_string()),
                model: stated.map(|(m, _)| m),
                confidence: r.confidence,
                evidence,
            });
        }
        // Explicit evidence (rules) beats the category forest, which only
        // generalises from the training devices' categories.
        let min_cp = self.cfg.min_category_probability;
        let c = self.model.vote_category(f);
        if c.probability >= min_cp && c.coverage >= min_c && enough {
            return Some(Identity {
                category: Some(self.model.category_label(&c).name),
                model: None,
                confidence: c.probability,
                evidence: vec![ev("category", why(c.probability))],
            });
        }
        stated.map(|(m, src)| Identity {
            category: None,
            model: Some(m),
            confidence: 0.5,
            evidence: vec![ev("model", format!("stated by the device ({src})"))],
        })
    }

    /// The model's label (and its category) for a model name a device
    /// states, compared without case.
    fn known_model(&self, name: &str) -> Option<(&str, &str)> {
        let name = name.trim();
        self.model
            .models
            .iter()
            .zip(&self.model.model_category)
            .find(|(m, c)| m.eq_ignore_ascii_case(name) && !c.is_empty())
            .map(|(m, c)| (m.as_str(), c.as_str()))
    }

    fn alert(&mut self, now: Timestamp, d: &Device, alert: Alert, out: &mut Vec<Event>) {
        let mut e = Event::alert(now, alert);
        e.src_mac = d.mac();
        e.src_ip = d
            .ips
            .iter()
            .find(|ip| ip.is_ipv4())
            .or(d.ips.first())
            .copied();
        out.push(e);
    }
}

struct Identity {
    category: Option<String>,
    model: Option<String>,
    confidence: f32,
    evidence: Vec<Evidence>,
}

fn ev(source: &str, value: String) -> Evidence {
    Evidence {
        source: source.to_string(),
        value,
    }
}

/// Grows whenever the device's evidence does (every list is append-only
/// until its cap).
pub fn generation(d: &Device, ports: usize) -> (usize, usize, usize, usize) {
    (
        d.evidence.len(),
        d.services.len(),
        d.protocols.len() + (ports << 8),
        d.hostnames.len(),
    )
}

/// The fingerprint that recognises a device under another MAC.
pub fn signature(d: &Device) -> Signature {
    Signature {
        client_id: signature_client_id(d),
        hostnames: d.hostnames.clone(),
        param_list: d.hint(HintKind::DhcpParamList).map(str::to_string),
        vendor_class: d.hint(HintKind::DhcpVendorClass).map(str::to_string),
    }
}

/// [`Signature::client_id`]: the DHCP client identifier as lower-case
/// hex, unless it is only the MAC.
fn signature_client_id(d: &Device) -> Option<String> {
    client_id_hex(d.hint(HintKind::DhcpClientId)?, d.mac()).map(|h| h.map(char::from).collect())
}

/// The characters of [`signature_client_id`] for the client identifier
/// `id` of a device with `mac`, without building the string: the
/// identifier compares it with the inventory's on every classification,
/// and it rarely changes.
fn client_id_hex(
    id: &str,
    mac: Option<ward_core::MacAddr>,
) -> Option<impl Iterator<Item = u8> + Clone + '_> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mac = mac?;
    // Hex digits are ASCII: the bytes of other characters are never one.
    let hex = id
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|b| b.to_ascii_lowercase());
    let n = hex.clone().count();
    let mac_hex = mac
        .0
        .into_iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    // `01` + MAC (or the bare MAC) changes with the MAC: useless here.
    let only_mac = n >= 12 && hex.clone().skip(n - 12).eq(mac_hex);
    (!only_mac && n >= 4).then_some(hex)
}

/// Make `dst` equal to `src` item by item, allocating only for the items
/// that differ (an unchanged list costs a comparison).
fn sync_strings<'a>(dst: &mut Vec<String>, src: impl ExactSizeIterator<Item = &'a str>) {
    dst.truncate(src.len());
    for (i, v) in src.enumerate() {
        match dst.get_mut(i) {
            Some(d) if d == v => {}
            Some(d) => v.clone_into(d),
            None => dst.push(v.to_string()),
        }
    }
}

/// Whether `d`'s evidence grew, since its last classification, by
/// something that could decide what it is (a host name, a decisive item,
/// a service a rule reads): such evidence is examined at once, not after
/// the device's wait. Each item is looked at once (`decisive_checked`);
/// `gen` is the device's current [`generation`].
fn decisive_arrived(t: &mut Track, d: &Device, gen: (usize, usize, usize, usize)) -> bool {
    let (items, names) = t.decisive_checked;
    t.decisive_checked = (d.evidence.len(), d.hostnames.len());
    if d.hostnames.len() > names {
        return true;
    }
    let new_items = d.evidence.get(items..).unwrap_or_default();
    if new_items.iter().any(|(k, v)| rules::is_decisive(*k, v)) {
        return true;
    }
    // Only a grown service list can add a service a rule reads.
    gen.1 != t.generation.1 && rules::rule_services(d) != t.rule_services
}

fn has_identity_evidence(d: &Device) -> bool {
    !d.hostnames.is_empty()
        || d.evidence
            .iter()
            .any(|(k, _)| matches!(k, HintKind::DhcpClientId | HintKind::DhcpParamList))
}

impl Identifier for DeviceIdentifier {
    fn finish(&mut self, now: Timestamp, devices: &mut DeviceTable, out: &mut Vec<Event>) {
        self.concluding = true;
        self.identify(now, devices, out);
        self.concluding = false;
    }

    fn identify(&mut self, now: Timestamp, devices: &mut DeviceTable, out: &mut Vec<Event>) {
        // The pipeline does not build an identifier when this is off; an
        // embedder that does still gets what the setting promises.
        if !self.cfg.enabled {
            return;
        }
        let started = *self.inventory.learning_started.get_or_insert(now);
        let learning_us = (self.cfg.learning_period_s as i64).saturating_mul(1_000_000);
        let learning = now.since(started) < learning_us;
        let settle_us = (self.cfg.settle_s as i64).saturating_mul(1_000_000);
        let wait_us = (self.cfg.random_mac_wait_s as i64).saturating_mul(1_000_000);

        // Nothing new since the last pass (no evidence, no ports, no new
        // device, nothing waiting)? Then only the periodic refresh runs.
        let versions = (
            devices.evidence_version(),
            self.ports.version(),
            devices.counters.created,
        );
        if versions == self.versions_seen
            && now < self.next_due
            && !self.concluding
            && now < self.next_refresh
        {
            return;
        }
        self.versions_seen = versions;
        self.next_due = Timestamp(i64::MAX);
        if now >= self.next_refresh {
            self.next_refresh = now.plus_micros(REFRESH_US);
        }
        if devices.counters.evicted != self.evictions_seen {
            self.evictions_seen = devices.counters.evicted;
            self.drop_kept_tokens();
        }
        // Port evidence is behind a lock: when some device's ports grew,
        // read the counts of those devices only (every device's when more
        // grew than the evidence remembers).
        let ports_version = self.ports.version();
        let mut read_all_ports = false;
        if ports_version != self.ports_seen {
            self.ports_seen = ports_version;
            let mut grown = std::mem::take(&mut self.ports_grown);
            read_all_ports = !self.ports.take_grown(&mut grown);
            for (key, n) in &grown {
                // A device without a record yet reads its count below.
                if let Some(t) = self.tracks.get_mut(key) {
                    t.ports = *n;
                }
            }
            self.ports_grown = grown;
        }
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        ids.extend(devices.ids_unordered());
        for &id in &ids {
            let Some(d) = devices.get(id) else { continue };
            let key = d.key;
            // One lookup per device and pass: a record of another device
            // that had this key (evicted since) is replaced.
            let (fresh, t) = match self.tracks.entry(key) {
                Entry::Occupied(o) if o.get().id == id => (false, o.into_mut()),
                entry => {
                    let key_str = key.to_string();
                    let known = self.inventory.devices.get(&key_str);
                    let track = Track {
                        id,
                        generation: (usize::MAX, 0, 0, 0),
                        new_pending: known.is_none(),
                        same_as: None,
                        category: known.and_then(|e| e.category.clone()),
                        category_since: now,
                        settled: known.is_some_and(|e| e.category.is_some()),
                        synced_last_seen: Timestamp(i64::MIN),
                        synced_at: Timestamp(i64::MIN),
                        ports: 0,
                        next_classify: Timestamp(i64::MIN),
                        wait_s: 0,
                        answer: None,
                        decisive_checked: (0, 0),
                        rule_services: 0,
                        tokens: None,
                        key: key_str,
                    };
                    let t = match entry {
                        Entry::Occupied(mut o) => {
                            let replaced = o.insert(track);
                            if let Some(kept) = replaced.tokens {
                                self.kept_tokens = self.kept_tokens.saturating_sub(kept.tokens());
                            }
                            o.into_mut()
                        }
                        Entry::Vacant(v) => v.insert(track),
                    };
                    (true, t)
                }
            };
            if read_all_ports || fresh {
                t.ports = self.ports.count(key);
            }
            let gen = generation(d, t.ports);
            // Evidence arrives in bursts: re-classify no sooner than the
            // device's wait allows (see `next_wait_s`), unless what
            // arrived could decide what the device is.
            let grew = t.generation != gen;
            let mut changed =
                grew && (self.concluding || now >= t.next_classify || decisive_arrived(t, d, gen));
            if grew && !changed {
                self.next_due = self.next_due.min(t.next_classify);
            }
            if !changed && !t.new_pending {
                // Refresh last-seen and addresses now and then, not every
                // second: the state file is allowed to lag by that much.
                if d.last_seen > t.synced_last_seen && now.since(t.synced_at) >= REFRESH_US {
                    t.synced_last_seen = d.last_seen;
                    t.synced_at = now;
                    t.synced_at = now;
                    if let Some(e) = self.inventory.devices.get_mut(&t.key) {
                        e.last_seen = d.last_seen;
                        if e.ips != d.ips {
                            e.ips.clone_from(&d.ips);
                        }
                    }
                }
                continue;
            }
            let key_str = t.key.clone();

            // New device, or a known one under a new MAC?
            let mut new_alert = false;
            if t.new_pending {
                let local = d.mac().is_some_and(|m| m.is_local());
                let waited = now.since(d.first_seen) >= wait_us;
                if !local || has_identity_evidence(d) || waited {
                    let sig = signature(d);
                    if let Some(old) = self.inventory.find_same(&key_str, &sig).map(str::to_string)
                    {
                        self.inventory.rekey(&old, &key_str);
                        self.counters.merged += 1;
                        // A known device under a new MAC: classify now,
                        // whatever the wait, so `same-as` shows at once.
                        changed = true;
                        let prev = self.inventory.devices.get(&key_str);
                        let cat = prev.and_then(|e| e.category.clone());
                        if let Some(t) = self.tracks.get_mut(&key) {
                            t.same_as = Some(old);
                            t.settled = cat.is_some();
                            t.category = cat;
                        }
                    } else {
                        new_alert = !learning;
                    }
                    if let Some(t) = self.tracks.get_mut(&key) {
                        t.new_pending = false;
                    }
                } else {
                    self.next_due = self.next_due.min(d.first_seen.plus_micros(wait_us));
                }
            }

            let Some(d) = devices.get(id) else { continue };
            let identity = if changed {
                self.counters.classified += 1;
                let mut scratch = std::mem::take(&mut self.scratch);
                let mut tokens = self.tracks.get_mut(&key).and_then(|t| t.tokens.take());
                if tokens.is_none() && self.kept_tokens < MAX_KEPT_TOKENS {
                    tokens = Some(Box::default());
                }
                let before = tokens.as_ref().map_or(0, |t| t.tokens());
                let identity = self.classify(d, tokens.as_deref_mut(), &mut scratch);
                self.scratch = scratch;
                if let Some(t) = tokens {
                    // Kept while the budget holds (the list only grows, by
                    // what this extraction read).
                    let after = t.tokens();
                    let kept = self.kept_tokens - before.min(self.kept_tokens);
                    if kept + after <= MAX_KEPT_TOKENS {
                        self.kept_tokens = kept + after;
                        if let Some(track) = self.tracks.get_mut(&key) {
                            track.tokens = Some(t);
                        }
                    } else {
                        self.kept_tokens = kept;
                    }
                }
                let answer = identity
                    .as_ref()
                    .map(|i| (i.category.clone(), i.model.clone()));
                let age_s = now.since(d.first_seen) / 1_000_000;
                if let Some(t) = self.tracks.get_mut(&key) {
                    // "No conclusion" twice is not a settled answer.
                    let same = answer.is_some() && t.answer == answer;
                    let max_wait = u32::try_from(self.cfg.max_wait_s).unwrap_or(u32::MAX);
                    t.wait_s = next_wait_s(t.wait_s, same, age_s, max_wait);
                    t.next_classify = now.plus_secs(u64::from(t.wait_s));
                    t.answer = answer;
                    // What this classification read is not news.
                    t.decisive_checked = (d.evidence.len(), d.hostnames.len());
                    t.rule_services = rules::rule_services(d);
                }
                identity
            } else {
                None
            };
            let t = self.tracks.get(&key);
            let same_as = t.and_then(|t| t.same_as.clone());
            let prev_cat = t.and_then(|t| t.category.clone());
            let prev_since = t.map_or(now, |t| t.category_since);
            let settled = t.is_some_and(|t| t.settled);

            let mut identity_changed = None;
            if let Some(idn) = identity {
                let mut evidence = idn.evidence;
                if let Some(old) = &same_as {
                    evidence.push(ev("same-as", old.clone()));
                }
                if let (Some(old), Some(new)) = (&prev_cat, &idn.category) {
                    if old != new && (settled || now.since(prev_since) >= settle_us) {
                        identity_changed = Some((old.clone(), new.clone()));
                    }
                }
                devices.set_identity(
                    id,
                    idn.category.clone(),
                    idn.model.clone(),
                    Some(idn.confidence.clamp(0.0, 1.0)),
                    evidence,
                );
                if let Some(t) = self.tracks.get_mut(&key) {
                    if idn.category.is_some() && t.category != idn.category {
                        t.category = idn.category.clone();
                        t.category_since = now;
                        t.settled = false;
                    }
                }
            } else if changed && same_as.is_some() {
                let d = devices.get(id);
                if let Some(d) = d {
                    if !d.identity_evidence.iter().any(|e| e.source == "same-as") {
                        let mut evidence = d.identity_evidence.clone();
                        evidence.push(ev("same-as", same_as.clone().unwrap_or_default()));
                        let (c, m, conf) = (d.category.clone(), d.model.clone(), d.confidence);
                        devices.set_identity(id, c, m, conf, evidence);
                    }
                }
            }

            let Some(d) = devices.get(id) else { continue };
            self.sync_entry(&key_str, d, now);
            if let Some(t) = self.tracks.get_mut(&key) {
                if changed {
                    t.generation = gen;
                }
                t.synced_last_seen = d.last_seen;
                t.synced_at = now;
            }
            if new_alert {
                self.counters.new_device_alerts += 1;
                let alert = new_device_alert(now, d);
                self.alert(now, d, alert, out);
            }
            if let Some((old, new)) = identity_changed {
                self.counters.identity_changed_alerts += 1;
                let alert = identity_changed_alert(now, d, &old, &new);
                self.alert(now, d, alert, out);
            }
        }

        self.ids = ids;
        if self.tracks.len() > 2 * devices.len() + 1024 {
            self.tracks.retain(|k, t| devices.find(*k) == Some(t.id));
            self.ports.retain(|k| devices.find(k).is_some());
            self.kept_tokens = self
                .tracks
                .values()
                .filter_map(|t| t.tokens.as_ref())
                .map(|t| t.tokens())
                .sum();
        }
        self.inventory.enforce_bound();
    }
}

impl DeviceIdentifier {
    /// Forget every device's kept evidence tokens (the next classification
    /// of each reads its whole list again).
    fn drop_kept_tokens(&mut self) {
        // Every record, also those of no token: items that give none (an
        // SSDP USN without a type part) are still read and counted, so a
        // zero `kept_tokens` does not mean nothing is kept.
        for t in self.tracks.values_mut() {
            t.tokens = None;
        }
        self.kept_tokens = 0;
    }

    /// Copy what the engine knows about `d` into its inventory entry.
    fn sync_entry(&mut self, key: &str, d: &Device, now: Timestamp) {
        let e = self
            .inventory
            .devices
            .entry(key.to_string())
            .or_insert_with(|| InventoryEntry {
                key: key.to_string(),
                aliases: Vec::new(),
                ips: Vec::new(),
                vendor: None,
                hostnames: Vec::new(),
                category: None,
                model: None,
                confidence: None,
                identity_evidence: Vec::new(),
                evidence: Vec::new(),
                services: Vec::new(),
                protocols: Vec::new(),
                first_seen: d.first_seen,
                last_seen: d.last_seen,
                identified_at: None,
                random_mac: false,
                signature: Signature::default(),
            });
        // The fields of `d.record(..)` the entry keeps, copied only where
        // they differ: this runs on every classification, and the record
        // would copy every piece of evidence.
        if e.ips != d.ips {
            e.ips.clone_from(&d.ips);
        }
        if e.vendor.as_deref() != d.vendor {
            e.vendor = d.vendor.map(str::to_string);
        }
        for h in &d.hostnames {
            if !e.hostnames.contains(h) && e.hostnames.len() < 8 {
                e.hostnames.push(h.clone());
            }
        }
        if d.category.is_some() || d.model.is_some() {
            // Identified now, unless it already was as this (a device seen
            // again in a later run keeps its original time).
            if e.category != d.category || e.model != d.model || e.identified_at.is_none() {
                e.identified_at = Some(now);
            }
            e.category = d.category.clone();
            e.model = d.model.clone();
            e.confidence = d.confidence;
            if e.identity_evidence != d.identity_evidence {
                e.identity_evidence.clone_from(&d.identity_evidence);
            }
        }
        // Copy only what differs: the device's list grows at its end, so
        // usually the entry holds a prefix of it and only the new items are
        // cloned. Compared item by item: the entry may hold another run's
        // (or a merged device's) list, which is cut where it departs.
        let kept = e
            .evidence
            .iter()
            .zip(&d.evidence)
            .take_while(|(a, (k, v))| a.source == k.as_str() && a.value == *v)
            .count();
        e.evidence.truncate(kept);
        if let Some(new) = d.evidence.get(kept..) {
            // Exactly the room it needs, as the rebuilt list had: the
            // inventory holds one entry per device ever seen, and growing
            // by doubling would keep up to four times a short list's room.
            e.evidence.reserve_exact(new.len());
            e.evidence
                .extend(new.iter().map(|(k, v)| ev(k.as_str(), v.clone())));
        }
        // As `DeviceRecord::services` writes them ("TCP/80").
        let service =
            |(p, port): &(u8, u16)| format!("{}/{port}", ward_core::event::proto_name(*p));
        let same = e.services.len() == d.services.len()
            && d.services
                .iter()
                .zip(&e.services)
                .all(|(s, e)| service(s) == *e);
        if !same {
            e.services = d.services.iter().map(service).collect();
        }
        sync_strings(&mut e.protocols, d.protocols.iter().map(|p| p.as_str()));
        e.first_seen = e.first_seen.min(d.first_seen);
        e.last_seen = e.last_seen.max(d.last_seen);
        e.random_mac = d.mac().is_some_and(|m| m.is_local());
        // The signature is merged in place (as `signature(d)` would give).
        let s = &mut e.signature;
        if let Some(id) = d
            .hint(HintKind::DhcpClientId)
            .and_then(|c| client_id_hex(c, d.mac()))
        {
            if !s
                .client_id
                .as_deref()
                .is_some_and(|old| old.bytes().eq(id.clone()))
            {
                s.client_id = Some(id.map(char::from).collect());
            }
        }
        for h in &d.hostnames {
            if !s.hostnames.contains(h) && s.hostnames.len() < 8 {
                s.hostnames.push(h.clone());
            }
        }
        if let Some(p) = d.hint(HintKind::DhcpParamList) {
            if s.param_list.as_deref() != Some(p) {
                s.param_list = Some(p.to_string());
            }
        }
        if let Some(v) = d.hint(HintKind::DhcpVendorClass) {
            if s.vendor_class.as_deref() != Some(v) {
                s.vendor_class = Some(v.to_string());
            }
        }
    }
}

fn describe(d: &Device) -> String {
    let mut s = d.label();
    let what: Vec<&str> = [
        d.model.as_deref(),
        d.category.as_deref(),
        d.vendor,
        d.hostname(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !what.is_empty() {
        s.push_str(&format!(" ({})", what.join(", ")));
    }
    s
}

fn device_facts(d: &Device) -> BTreeMap<String, serde_json::Value> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k.to_string(), serde_json::Value::String(v));
        }
    };
    put("vendor", d.vendor.map(str::to_string));
    put("hostname", d.hostname().map(str::to_string));
    put("category", d.category.clone());
    put("model", d.model.clone());
    put("first_seen", Some(d.first_seen.to_string()));
    m
}

fn new_device_alert(now: Timestamp, d: &Device) -> Alert {
    Alert {
        category: AlertCategory::NewDevice,
        signature: "new-device".into(),
        severity: 3,
        confidence: 1.0,
        summary: format!("A new device joined the network: {}.", describe(d)),
        evidence: device_facts(d),
        devices: vec![d.label()],
        attacker: None,
        victims: Vec::new(),
        first_seen: d.first_seen,
        last_seen: now.max(d.first_seen),
        count: 1,
        detector: "identify".into(),
    }
}

fn identity_changed_alert(now: Timestamp, d: &Device, old: &str, new: &str) -> Alert {
    let mut evidence = device_facts(d);
    evidence.insert("previous_category".into(), old.into());
    evidence.insert("new_category".into(), new.into());
    if let Some(why) = d.identity_evidence.first() {
        evidence.insert(
            "reason".into(),
            format!("{}: {}", why.source, why.value).into(),
        );
    }
    Alert {
        category: AlertCategory::Policy,
        signature: "device-identity-changed".into(),
        severity: 2,
        confidence: d.confidence.unwrap_or(0.5).clamp(0.0, 1.0),
        summary: format!(
            "Device {} used to look like a {old} and now looks like a {new}.",
            d.label()
        ),
        evidence,
        devices: vec![d.label()],
        attacker: None,
        victims: Vec::new(),
        first_seen: d.first_seen,
        last_seen: now.max(d.first_seen),
        count: 1,
        detector: "identify".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::client_id_hex;
    use ward_core::MacAddr;
    use ward_ml::forest::Rng;

    /// The client id as it was built with a formatted MAC and collected
    /// strings: the allocation-free version must give the same answer.
    fn client_id_with_strings(c: &str, mac: Option<MacAddr>) -> Option<String> {
        let mac_hex: String = mac
            .map(|m| m.0.iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default();
        let hex: String = c
            .chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect::<String>()
            .to_ascii_lowercase();
        (!mac_hex.is_empty() && !hex.ends_with(&mac_hex) && hex.len() >= 4).then_some(hex)
    }

    #[test]
    fn client_ids_match_the_string_built_ones() {
        let mut rng = Rng::new(23);
        let alphabet: Vec<char> = "0123456789abcdefABCDEFxyz:-. é".chars().collect();
        let (mut some, mut none) = (0, 0);
        for i in 0..20_000 {
            let mac = MacAddr(std::array::from_fn(|_| rng.below(256) as u8));
            let mac_text: String = mac.0.iter().map(|b| format!("{b:02X}:")).collect();
            // Random text, sometimes ending in the MAC (as `01` + MAC ids
            // do), in either case and with separators.
            let mut c: String = (0..rng.below(20))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            match rng.below(3) {
                0 => c.push_str(&mac_text),
                1 => c.push_str(&mac_text.to_lowercase().replace(':', "")),
                _ => {}
            }
            let mac = (i % 10 != 0).then_some(mac);
            let want = client_id_with_strings(&c, mac);
            let got = client_id_hex(&c, mac).map(|h| h.map(char::from).collect::<String>());
            assert_eq!(got, want, "{c:?} {mac:?}");
            if want.is_some() {
                some += 1;
            } else {
                none += 1;
            }
        }
        assert!(some > 3000 && none > 3000, "{some} {none}");
    }
}
