//! Supervised attack recognition: a random forest ([`ward_ml::forest`])
//! over one-second windows of each host's traffic ([`features`]), trained on
//! labelled lab runs ([`train`]) and shipped inside the binary ([`model`]).
//!
//! The detector ([`MlDetector`], name `ml`, config `[detectors.ml]`) keeps
//! one window per host for the current second, classifies each finished
//! window, and turns the windows it believes into *incidents*:
//!
//! - A window counts as evidence only when the forest gives an attack class
//!   at least `min_confidence` of its votes.
//! - One incident per (attacker, victim, class): the victim is the host's
//!   main destination when it got at least half of the window's packets,
//!   none for sweeps.
//! - An incident becomes an `alert` (category = the class, signature
//!   `ml-<class>`) once it has `min_windows` windows and `min_packets`
//!   packets of evidence and its mean confidence is at least
//!   `min_confidence`; it is then silent until it has been quiet for
//!   `quiet_secs`. So a single odd second never raises an alarm.
//! - Alerts explain themselves: the features the forest's decision paths
//!   tested most, with their values in the most confident window.
//!
//! Bounded: at most `max_tracked` host windows and incidents
//! ([`crate::table::IdMap`], [`crate::table::CappedMap`]); fixed-size state
//! per window. Cheap: a window is classified once, when its second is over,
//! and the forest stops as soon as no attack class can reach
//! `min_confidence` (most windows are benign). Packet time
//! only; the same capture gives the same alerts. No I/O: the CLI reads model
//! files and hands over their bytes.

pub mod features;
pub mod model;
pub mod train;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use ward_core::decode::Net;
use ward_core::devices::{DeviceId, DeviceKey, DeviceTable};
use ward_core::{Detector, Event, PacketContext, Timestamp};

use crate::alert::{secs, span, who, Draft};
use crate::table::{CappedMap, IdMap};
pub use features::{HostWindow, WindowRecord, FEATURE_NAMES, FEATURE_VERSION};
pub use model::{AttackModel, ModelError};

/// `[detectors.ml]` settings.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MlConfig {
    /// Run the detector (default: yes).
    pub enabled: bool,
    /// A model file to use instead of the built-in one (read by the CLI).
    pub model: Option<std::path::PathBuf>,
    /// Share of the forest's votes a window needs to count as evidence,
    /// and the mean an incident needs to be reported.
    pub min_confidence: f32,
    /// Windows (seconds) of evidence before an incident is reported.
    pub min_windows: u32,
    /// Packets the attacker sent in those windows, at least.
    pub min_packets: u64,
    /// An incident ends after this long without evidence.
    pub quiet_secs: u64,
    /// Most hosts and incidents tracked at once.
    pub max_tracked: usize,
}

impl Default for MlConfig {
    fn default() -> Self {
        MlConfig {
            enabled: true,
            model: None,
            min_confidence: 0.8,
            min_windows: 2,
            min_packets: 40,
            quiet_secs: 120,
            max_tracked: 4096,
        }
    }
}

/// Called with every finished window (training records them).
pub type WindowObserver = Box<dyn FnMut(&WindowRecord) + Send>;

/// The supervised attack detector. See the module docs.
pub struct MlDetector {
    model: Option<AttackModel>,
    /// The model's forest laid out for fast prediction (most windows are
    /// benign and need no explanation; see [`MlDetector::classify`]).
    compiled: ward_ml::forest::CompiledForest,
    /// When a window's walk of `compiled` may stop: the benign class and
    /// `min_confidence` never change, so the stopping rule is worked out
    /// once.
    early_exit: ward_ml::forest::EarlyExit,
    cfg: MlConfig,
    min_window_packets: u32,
    /// By device slot: indexed, not hashed (two lookups per packet).
    windows: IdMap<HostWindow>,
    /// The address each MAC first announced by ARP (first wins: a poisoner
    /// claims others' addresses later), to name hosts that forge sources.
    announced: CappedMap<ward_core::MacAddr, IpAddr>,
    incidents: CappedMap<IncidentKey, Incident>,
    observer: Option<WindowObserver>,
    closed: Vec<(DeviceId, WindowRecord, Option<Vec<f32>>)>,
    used: Vec<(u32, u32)>,
    /// The second of packet time the last packet fell in, and the
    /// microseconds it spans, `start..end` (empty until there is one): most
    /// packets fall in their predecessor's second, found by two compares
    /// instead of a division ([`MlDetector::second_of`]).
    last_second: i64,
    last_second_span: (i64, i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct IncidentKey {
    attacker: DeviceKey,
    class: u8,
    victim: Option<IpAddr>,
}

#[derive(Clone, Debug)]
struct Incident {
    first: Timestamp,
    last: Timestamp,
    windows: u32,
    packets: u64,
    confidence_sum: f32,
    reported: bool,
    /// The most confident window: its probability, features and the
    /// features the forest tested on it.
    best: f32,
    best_x: Vec<f32>,
    best_used: Vec<(usize, u32)>,
    victims: Vec<IpAddr>,
}

impl Incident {
    /// An episode that starts with a window from `first` to `last`.
    fn new(first: Timestamp, last: Timestamp) -> Self {
        Incident {
            first,
            last,
            windows: 0,
            packets: 0,
            confidence_sum: 0.0,
            reported: false,
            best: 0.0,
            best_x: Vec::new(),
            best_used: Vec::new(),
            victims: Vec::new(),
        }
    }
}

impl MlDetector {
    pub fn new(model: AttackModel, cfg: MlConfig) -> Self {
        let min = model.min_window_packets;
        Self::build(Some(model), cfg, min, None)
    }

    /// A detector that classifies nothing and hands every finished window
    /// of at least `min_window_packets` packets to `observer` (training).
    pub fn recorder(min_window_packets: u32, observer: WindowObserver) -> Self {
        Self::build(
            None,
            MlConfig::default(),
            min_window_packets,
            Some(observer),
        )
    }

    fn build(
        model: Option<AttackModel>,
        cfg: MlConfig,
        min_window_packets: u32,
        observer: Option<WindowObserver>,
    ) -> Self {
        let cap = cfg.max_tracked.max(64);
        let compiled: ward_ml::forest::CompiledForest = model
            .as_ref()
            .map(|m| m.forest.compile())
            .unwrap_or_default();
        let early_exit = model.as_ref().map_or_else(Default::default, |m| {
            compiled.early_exit(m.benign_index(), cfg.min_confidence)
        });
        MlDetector {
            compiled,
            early_exit,
            model,
            min_window_packets: min_window_packets.max(1),
            windows: IdMap::new(cap),
            announced: CappedMap::new(cap),
            incidents: CappedMap::new(cap),
            cfg,
            observer,
            closed: Vec::new(),
            used: Vec::new(),
            last_second: 0,
            last_second_span: (i64::MAX, i64::MIN),
        }
    }

    /// `ts`'s whole second (`ts.micros().div_euclid(1_000_000)`).
    #[inline(always)]
    fn second_of(&mut self, ts: Timestamp) -> i64 {
        let us = ts.micros();
        let (start, end) = self.last_second_span;
        if start <= us && us < end {
            return self.last_second;
        }
        let second = us.div_euclid(1_000_000);
        // A second whose bounds do not fit an i64 (the first and the last
        // of them all) is not remembered: the next packet divides again.
        let start = second.checked_mul(1_000_000);
        self.last_second_span = start
            .and_then(|s| Some((s, s.checked_add(1_000_000)?)))
            .unwrap_or((i64::MAX, i64::MIN));
        self.last_second = second;
        second
    }

    /// Device `id`'s window for a packet of `second`: its open one, or a
    /// fresh one.
    #[inline(always)]
    fn window(
        &mut self,
        id: DeviceId,
        key: DeviceKey,
        second: i64,
        ts: Timestamp,
    ) -> &mut HostWindow {
        let w = self.windows.entry(id, || HostWindow::new(key, second, ts));
        if w.key != key || !same_window(w.second, second) {
            // Ticks close windows before the next second's first packet;
            // this covers a reused device slot and time that jumped back
            // (a fresh window).
            *w = HostWindow::new(key, second, ts);
        }
        w
    }

    /// Finish every window older than `second` (all of them when `None`).
    ///
    /// Most windows are benign, and the forest settles that after a few of
    /// its trees ([`ward_ml::forest::CompiledForest::predict_proba_if_any_reaches`]):
    /// such a window ends there, without its record (addresses, heaviest
    /// destinations) being built. Only a window the model may call an
    /// attack, or one an observer wants, becomes a [`WindowRecord`].
    fn close_windows(&mut self, second: Option<i64>, devices: &DeviceTable, out: &mut Vec<Event>) {
        let min = self.min_window_packets;
        let due = |w: &HostWindow| w.open && second.is_none_or(|s| w.second < s);
        let has_model = self.model.is_some();
        let mut closed = std::mem::take(&mut self.closed);
        for (id, w) in self.windows.iter_mut() {
            if !due(w) {
                continue;
            }
            w.open = false;
            if w.pkts_out() < min {
                continue;
            }
            let p = has_model
                .then(|| {
                    self.compiled
                        .predict_proba_if_any_reaches_with(&w.feature_array(), &self.early_exit)
                })
                .flatten();
            if p.is_none() && self.observer.is_none() {
                continue;
            }
            let ips = devices.get(id).map_or(&[][..], |d| &d.ips[..]);
            let announced = match w.key {
                DeviceKey::Mac(m) => self.announced.get(&m).copied(),
                DeviceKey::Ip(ip) => Some(ip),
            };
            closed.push((id, w.record(ips, announced), p));
        }
        // Map order is deterministic but arbitrary; events go out by host.
        closed.sort_by_key(|(id, _, _)| *id);
        for (_, rec, p) in closed.drain(..) {
            if let Some(obs) = &mut self.observer {
                obs(&rec);
            }
            if let Some(p) = p {
                self.classify(&rec, &p, devices, out);
            }
        }
        self.closed = closed;
    }

    /// Turn a window's class probabilities `p` (every tree's) into
    /// incident evidence and, once an incident has enough, an alert.
    fn classify(
        &mut self,
        rec: &WindowRecord,
        p: &[f32],
        devices: &DeviceTable,
        out: &mut Vec<Event>,
    ) {
        let Some(model) = &self.model else { return };
        let benign = model.benign_index();
        let (ci, conf) = p.iter().enumerate().filter(|(i, _)| *i != benign).fold(
            (benign, 0.0f32),
            |b, (i, v)| if *v > b.1 { (i, *v) } else { b },
        );
        if ci == benign || conf < self.cfg.min_confidence || !conf.is_finite() {
            return;
        }
        let top = rec.top_destinations.first().copied();
        let victim = top
            .filter(|(_, n)| u64::from(*n) * 2 >= u64::from(rec.pkts_out))
            .map(|(ip, _)| ip);
        let key = IncidentKey {
            attacker: rec.host,
            class: ci as u8,
            victim,
        };
        let quiet_us = (self.cfg.quiet_secs as i64).saturating_mul(1_000_000);
        let now = rec.last;
        let inc = self.incidents.entry(key, || Incident::new(rec.start, now));
        if now.since(inc.last) > quiet_us {
            // A new episode of the same incident.
            *inc = Incident::new(rec.start, now);
        }
        inc.last = inc.last.max(now);
        inc.windows += 1;
        inc.packets += u64::from(rec.pkts_out);
        inc.confidence_sum += conf;
        for (ip, _) in rec.top_destinations.iter().take(4) {
            if inc.victims.len() < crate::alert::MAX_VICTIMS
                && !inc.victims.contains(ip)
                && !rec.ips.contains(ip)
            {
                inc.victims.push(*ip);
            }
        }
        if conf > inc.best {
            // Evidence: now the paths are worth recording (same walk, same
            // probabilities, plus the features each tree tested).
            self.used.clear();
            self.compiled.predict_explained(&rec.x, &mut self.used);
            inc.best = conf;
            inc.best_x.clone_from(&rec.x);
            let mut by_feature: BTreeMap<usize, u32> = BTreeMap::new();
            for (_, f) in &self.used {
                *by_feature.entry(*f as usize).or_insert(0) += 1;
            }
            let mut v: Vec<(usize, u32)> = by_feature.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v.truncate(5);
            inc.best_used = v;
        }
        let mean = inc.confidence_sum / inc.windows as f32;
        if inc.reported
            || inc.windows < self.cfg.min_windows
            || inc.packets < self.cfg.min_packets
            || mean < self.cfg.min_confidence
        {
            return;
        }
        inc.reported = true;
        let inc = inc.clone();
        let class = model.classes.get(ci).cloned().unwrap_or_default();
        out.push(alert_event(&class, key, &inc, rec, mean, devices));
    }
}

fn alert_event(
    class: &str,
    key: IncidentKey,
    inc: &Incident,
    rec: &WindowRecord,
    mean: f32,
    devices: &DeviceTable,
) -> Event {
    let category = model::category_of(class).unwrap_or(ward_core::AlertCategory::Anomaly);
    let mut d = Draft::new(category, format!("ml-{class}"), "ml", inc.last);
    d.first_seen = inc.first;
    d.count = inc.packets;
    d.confidence = mean;
    d.severity = 3;
    d.attacker = rec.ips.first().copied();
    d.victims = match key.victim {
        Some(v) => vec![v],
        None => inc.victims.clone(),
    };
    if d.attacker.is_none() {
        d.devices.push(key.attacker.to_string());
    }
    let drivers: Vec<serde_json::Value> = inc
        .best_used
        .iter()
        .map(|(f, n)| {
            serde_json::json!({
                "feature": FEATURE_NAMES.get(*f).copied().unwrap_or("?"),
                "value": inc.best_x.get(*f).copied().unwrap_or(0.0),
                "tests": n,
            })
        })
        .collect();
    let names: Vec<&str> = inc
        .best_used
        .iter()
        .take(3)
        .filter_map(|(f, _)| FEATURE_NAMES.get(*f).copied())
        .collect();
    let attacker = match d.attacker {
        Some(ip) => who(devices, ip),
        None => key.attacker.to_string(),
    };
    let target = match key.victim {
        Some(v) => format!(" {}", who(devices, v)),
        None if inc.victims.len() > 1 => {
            // The victims list keeps a few; the window counted them all
            // (approximately: `Distinct` is a 256-bit linear counter).
            let i = FEATURE_NAMES.iter().position(|n| *n == "distinct_dst_ips");
            let dsts = i.and_then(|i| inc.best_x.get(i)).copied().unwrap_or(0.0) as u64;
            format!(" about {} addresses", dsts.max(inc.victims.len() as u64))
        }
        None => inc
            .victims
            .first()
            .map(|v| format!(" {}", who(devices, *v)))
            .unwrap_or_default(),
    };
    let doing = match class {
        "recon" => format!("probed{target} the way scanners do"),
        "dos" => format!("flooded{target}"),
        "bruteforce" => format!("guessed passwords against{target}"),
        "botnet" => format!("behaved like a bot-infected device towards{target}"),
        "spoofing" => format!("sent forged address announcements to{target}"),
        "exploit" => format!("sent exploit-like requests to{target}"),
        other => format!("showed {other} traffic towards{target}"),
    };
    d.summary = format!(
        "{attacker} {doing} for {} ({} packets): the machine-learned traffic model recognised it, mostly from {}.",
        span(inc.first, inc.last),
        inc.packets,
        names.join(", ")
    );
    d.evidence.insert("class".into(), class.into());
    d.evidence.insert("windows".into(), inc.windows.into());
    d.evidence.insert("packets".into(), inc.packets.into());
    d.evidence
        .insert("duration_s".into(), secs(inc.first, inc.last).into());
    d.evidence.insert(
        "mean_probability".into(),
        ((mean * 1000.0).round() / 1000.0).into(),
    );
    d.evidence.insert("drivers".into(), drivers.into());
    d.evidence.insert(
        "model".into(),
        format!("random forest, feature version {FEATURE_VERSION}").into(),
    );
    d.into_event(devices)
}

/// Whether a packet of `second` goes into a window of `window`: its own
/// second, or the one before (capture reordering: restarting the window at
/// the late packet's second would throw the open window's evidence away
/// unclassified). Farther back is a jump in time and starts afresh, so a
/// replay of older traffic never piles into one window.
fn same_window(window: i64, second: i64) -> bool {
    second == window || second.checked_add(1) == Some(window)
}

impl Detector for MlDetector {
    fn name(&self) -> &'static str {
        "ml"
    }

    /// Its alerts corroborate the signature detectors': one attack they
    /// already reported is not reported twice.
    fn secondary(&self) -> bool {
        true
    }

    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Event>) {
        let ts = ctx.pkt.ts;
        if let Net::Arp(arp) = &ctx.pkt.net {
            if arp.sender_mac.is_station() && !arp.sender_ip.is_unspecified() {
                self.announced
                    .entry(arp.sender_mac, || IpAddr::V4(arp.sender_ip));
            }
        }
        let second = self.second_of(ts);
        if let Some(id) = ctx.src_device {
            if let Some(d) = ctx.devices.get(id) {
                self.window(id, d.key, second, ts).sent(ctx);
            }
        }
        if let Some(id) = ctx.dst_device.filter(|d| Some(*d) != ctx.src_device) {
            if let Some(d) = ctx.devices.get(id) {
                self.window(id, d.key, second, ts).received(ctx);
            }
        }
        let _ = out;
    }

    fn on_tick(&mut self, now: Timestamp, devices: &DeviceTable, out: &mut Vec<Event>) {
        self.close_windows(Some(now.micros().div_euclid(1_000_000)), devices, out);
    }

    fn finish(&mut self, _now: Timestamp, devices: &DeviceTable, out: &mut Vec<Event>) {
        self.close_windows(None, devices, out);
    }
}

#[cfg(test)]
mod tests {
    use super::{same_window, MlDetector};
    use ward_core::Timestamp;

    #[test]
    fn remembered_second_is_the_division() {
        let mut ml = MlDetector::recorder(1, Box::new(|_| {}));
        let mut r = 0x9e37_79b9_7f4a_7c15u64;
        let mut us = 0i64;
        for n in 0..200_000u32 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            us = match n % 7 {
                // Mostly forward by a little (the common case), sometimes
                // back, across zero, and to the ends of the range.
                0 => us.wrapping_sub((r % 3_000_000) as i64),
                1 => (r as i64) % 5_000_000,
                2 => i64::MIN.wrapping_add((r % 2_000_000) as i64),
                3 => i64::MAX.wrapping_sub((r % 2_000_000) as i64),
                4 => r as i64,
                _ => us.wrapping_add((r % 400_000) as i64),
            };
            let want = us.div_euclid(1_000_000);
            assert_eq!(ml.second_of(Timestamp(us)), want, "{us}");
            // And again: the remembered second.
            assert_eq!(ml.second_of(Timestamp(us)), want, "{us}");
        }
        for us in [
            i64::MIN,
            i64::MIN + 1,
            -1_000_001,
            -1_000_000,
            -999_999,
            -1,
            0,
            999_999,
            1_000_000,
            i64::MAX - 1,
            i64::MAX,
        ] {
            for _ in 0..2 {
                assert_eq!(
                    ml.second_of(Timestamp(us)),
                    us.div_euclid(1_000_000),
                    "{us}"
                );
            }
        }
    }

    #[test]
    fn only_the_previous_second_joins_the_open_window() {
        assert!(same_window(10, 10));
        assert!(same_window(10, 9)); // late by a little
        assert!(!same_window(10, 11)); // the next second
        assert!(!same_window(10, 5)); // a jump back: afresh
        assert!(!same_window(i64::MIN, i64::MAX));
    }
}
