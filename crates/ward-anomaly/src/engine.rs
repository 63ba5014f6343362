//! The engine: features → model → per-device threshold → incidents → alerts.
//!
//! Life cycle (global, in packets and packet time, see [`LearningConfig`]):
//!
//! 1. **Mapping** — the feature extractor warms up; KitNET learns its feature
//!    groups, HST the feature ranges. Score 0.
//! 2. **Training** — the model learns every packet. Device baselines (feature
//!    means) and the global feature spread are accumulated.
//! 3. **Calibrating** — the frozen model scores packets; the global threshold
//!    for the target false-positive rate comes from the tail of these scores.
//! 4. **Scoring** — each device first finishes its own learning period
//!    (per-device calibration: its threshold is the higher of the global one
//!    and its own tail), then its packets are aggregated into incidents.
//!
//! **Conversations.** From calibration on, a packet's score is the larger of
//! the model's score and the recent peak score between the same two
//! addresses, in either direction, halved every
//! `conversation_half_life_secs` (one bounded table of IP pairs). The
//! answers to an attack — a brute-forced device's replies, the RSTs of a
//! scanned port, an exploited web server's response — come from a device
//! behaving normally, yet they are the attack's packets. Thresholds are
//! calibrated on these scores, so benign conversations that carry one odd
//! packet cost their false positives in calibration, not later.
//!
//! **Drift without learning attacks.** In the scoring phase the model and the
//! device baseline learn only from packets that score below the
//! `adapt_below_quantile` of the calibration scores, that come from a device
//! with no over-threshold packet in its aggregation window and no open
//! incident, and only one in `adapt_every` of those. An attack therefore never
//! feeds the model while it is being noticed, and slow benign drift is
//! followed at a bounded rate.
//!
//! Memory is fixed by the configuration: feature tables, at most
//! `max_devices` device states (least active replaced), bounded reservoirs and
//! a bounded alert queue.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregator, Incident, PacketView};
use crate::binding::{BindingTracker, N_BINDING};
use crate::calibrate::{quantile, threshold, Reservoir};
use crate::config::{AnomalyConfig, CalibrationConfig, LearningConfig, ModelKind};
use crate::damped::decay_factor;
use crate::explain::{explain, FeatureContribution, Normal};
use crate::features::{FeatureExtractor, LastPacket, TableStats, FEATURE_VERSION, N_FEATURES};
use crate::hst::HalfSpaceTrees;
use crate::kitnet::{FeatureMapper, Kernels, KitNet};
use crate::mathx::Rng;
use crate::table::{Activity, BoundedTable};
use crate::{AnomalyError, CategoryId, PacketHints, PacketObs};

const MAGIC: &[u8; 8] = b"WARDANOM";
/// 2: the model's input grew by the MAC–IP binding and fan-in features.
/// 3: conversation memory (scores shared by both directions of a pair).
/// 4: bounded tables keep hash tags (`table.rs`); KitNET is one packed
///    ensemble and the mapper a sample (`kitnet.rs`).
/// 5: bounded tables keep damped touch counts for eviction (`table.rs`).
/// 6: KitNET's members side by side, four to a bundle (`kitnet.rs`);
///    damped statistics as arrays over the windows (`damped.rs`).
/// 7: per-category baselines (devices carry their category, categories
///    their pooled scores, threshold and feature means; incidents say which
///    normal judged them) and the DHCP-client binding inputs.
/// 8: Half-Space Trees scores are shifted to be ≥ 0 (`hst.rs`), so an HST
///    state's calibrated thresholds from format 7 no longer apply.
/// 9: two more binding inputs (packets sent to an address a forged DNS
///    answer gave the sender) and the table of such addresses; a model
///    learned on 140 inputs cannot score 142.
const FORMAT_VERSION: u32 = 9;

/// Distinct device categories an engine keeps ([`AnomalyEngine::category_id`]):
/// identification yields a dozen; the cap bounds what a caller can intern.
pub const MAX_CATEGORIES: usize = 64;
/// Longest category name kept, bytes (longer names are cut at a char boundary).
const MAX_CATEGORY_NAME: usize = 64;

/// Length of the model's input: the AfterImage features followed by the
/// MAC–IP binding features ([`crate::binding`]).
pub const N_INPUTS: usize = N_FEATURES + N_BINDING;

/// Where a packet's device (or the engine) is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Mapping,
    Training,
    Calibrating,
    /// The engine scores, but this device is still in its own learning period.
    DeviceLearning,
    Scoring,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Mapping => "mapping",
            Phase::Training => "training",
            Phase::Calibrating => "calibrating",
            Phase::DeviceLearning => "device-learning",
            Phase::Scoring => "scoring",
        }
    }
}

/// The verdict on one packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacketScore {
    /// Anomaly score (higher = more anomalous; 0 during mapping).
    pub score: f32,
    /// Threshold in force for this packet's device (`+inf` before calibration).
    pub threshold: f32,
    pub phase: Phase,
    /// `score > threshold` in the scoring phase.
    pub anomalous: bool,
}

/// One row of the per-packet research output (`timestamp, score, src, dst,
/// device`); `Display` writes it as a CSV line without the newline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRecord {
    pub ts_micros: i64,
    pub score: f32,
    pub threshold: f32,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub device: u32,
    pub phase: Phase,
}

impl ScoreRecord {
    /// Header line matching `Display`.
    pub const CSV_HEADER: &'static str = "ts_micros,score,threshold,src,dst,device,phase";

    pub fn new(obs: &PacketObs, s: &PacketScore) -> Self {
        Self {
            ts_micros: obs.ts_micros,
            score: s.score,
            threshold: s.threshold,
            src: obs.src_ip,
            dst: obs.dst_ip,
            device: obs.device,
            phase: s.phase,
        }
    }
}

impl fmt::Display for ScoreRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{},{},{},{}",
            self.ts_micros,
            self.score,
            self.threshold,
            self.src,
            self.dst,
            self.device,
            self.phase.as_str()
        )
    }
}

/// An anomaly incident of one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyAlert {
    /// The caller's device index (`u32::MAX`: unattributed).
    pub device: u32,
    /// First over-threshold packet of the episode (packet time, µs).
    pub start_micros: i64,
    /// Last over-threshold packet of the episode.
    pub end_micros: i64,
    pub peak_score: f32,
    /// The device's threshold at the peak.
    pub threshold: f32,
    /// Over-threshold packets in the episode.
    pub packets: u64,
    /// All packets of the device during the episode.
    pub total_packets: u64,
    pub peak_src: IpAddr,
    pub peak_dst: IpAddr,
    /// Plain-words explanation.
    pub explanation: String,
    /// The features that stood out most (name, value, baseline).
    pub top_features: Vec<FeatureContribution>,
    /// The category whose normal judged the peak packet, when the device
    /// was still in its own learning period; `None` when it was judged
    /// against its own normal.
    pub judged_by_category: Option<String>,
}

/// Where a saved model came from (STYLE §8: models are artefacts with provenance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub feature_version: u32,
    pub model: ModelKind,
    pub seed: u64,
    /// Packet time of the first and last learning packets (µs).
    pub learned_from_micros: Option<i64>,
    pub learned_until_micros: Option<i64>,
    pub training_packets: u64,
    pub calibration_packets: u64,
    /// Global threshold (`+inf` until calibrated).
    pub threshold: f32,
}

/// Counters for telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineStats {
    pub packets: u64,
    pub phase: Phase,
    /// Packets learned in the scoring phase (drift adaptation).
    pub adapted: u64,
    pub alerts_raised: u64,
    pub alerts_dropped: u64,
    /// Device states replaced because `max_devices` were tracked.
    pub device_evictions: u64,
    /// MI, H, HH, HpHp tables.
    pub tables: [TableStats; 4],
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Model {
    KitnetMapping(FeatureMapper),
    Kitnet(Box<KitNet>),
    HstWarmup { min: Vec<f32>, max: Vec<f32> },
    Hst(HalfSpaceTrees),
}

impl Model {
    fn is_well_formed(&self) -> bool {
        match self {
            Model::KitnetMapping(m) => m.is_well_formed(N_INPUTS),
            Model::Kitnet(k) => k.is_well_formed(N_INPUTS),
            Model::HstWarmup { min, max } => min.len() == N_INPUTS && max.len() == N_INPUTS,
            Model::Hst(h) => h.is_well_formed(N_INPUTS),
        }
    }

    fn learn(&mut self, x: &[f32]) -> f32 {
        match self {
            Model::Kitnet(k) => k.train(x),
            Model::Hst(h) => {
                let s = if h.has_reference() { h.score(x) } else { 0.0 };
                h.learn(x);
                s
            }
            Model::KitnetMapping(_) | Model::HstWarmup { .. } => 0.0,
        }
    }

    /// [`Model::learn`] of the input of the last [`Model::score`] (drift
    /// adaptation), which KitNET learns from the pass that scored it.
    fn learn_scored(&mut self, x: &[f32]) -> f32 {
        match self {
            Model::Kitnet(k) => k.train_scored(x),
            _ => self.learn(x),
        }
    }

    fn score(&mut self, x: &[f32]) -> f32 {
        match self {
            Model::Kitnet(k) => k.score(x),
            Model::Hst(h) => h.score(x),
            Model::KitnetMapping(_) | Model::HstWarmup { .. } => 0.0,
        }
    }
}

/// Recent peak score of one conversation (unordered address pair).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Conversation {
    peak: f32,
    peak_us: i64,
    /// Packets, for eviction.
    pkts: f64,
}

impl Activity for Conversation {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        self.pkts * decay_factor(0.01, now_us.saturating_sub(last_us) as f64 * 1e-6)
    }
}

/// The conversation key of a packet from `a` to `b`: both addresses as 16
/// bytes, the lesser first. The engine takes it from the feature extractor,
/// which orders the channel's key the same way (a test checks it).
#[cfg(test)]
fn pair_key(a: &IpAddr, b: &IpAddr) -> ([u8; 16], [u8; 16]) {
    let k = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    let (a, b) = (k(a), k(b));
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Per-device state: baseline, calibration, incidents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DeviceState {
    first_seen_us: i64,
    packets: u64,
    /// Mean feature vector (the device's normal), empty until first learned.
    baseline: Vec<f32>,
    baseline_count: u64,
    calib: Reservoir,
    /// Set when the device's learning period ended.
    threshold: Option<f32>,
    agg: Aggregator,
    /// The category the caller last gave for the device.
    category: Option<CategoryId>,
    /// While judged by its category: the learning packets kept out of the
    /// device's own sample (over the category threshold, or in an open
    /// incident) — their scores, feature means and count, and the count
    /// of those kept in.
    unlike: Reservoir,
    unlike_baseline: Vec<f32>,
    unlike_packets: u64,
    calm_packets: u64,
}

/// What the devices of one category look like, pooled from each device's
/// own learning period as it ends: the tail of their scores (the threshold
/// a new device of the category is held to while it learns) and their mean
/// features (the normal its explanations compare with).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CategoryState {
    name: String,
    /// Scores of the category's devices' calm learning packets.
    calib: Reservoir,
    /// Set once a device of the category finished its learning period: the
    /// global threshold, raised to the pooled tail when the sample holds
    /// `category_min_scores` scores, then widened by `category_margin` (the
    /// threshold a new device of the category is held to).
    threshold: Option<f32>,
    /// Mean feature vector over the devices' baselines, packet-weighted.
    baseline: Vec<f32>,
    baseline_count: u64,
    /// Devices whose learning period contributed.
    devices: u32,
}

impl CategoryState {
    fn is_well_formed(&self) -> bool {
        self.calib.is_well_formed()
            && (self.baseline.is_empty() || self.baseline.len() == N_INPUTS)
            && self.name.len() <= MAX_CATEGORY_NAME
    }

    /// Pools a device's learning period into the category.
    fn absorb(&mut self, dev: &DeviceState, scores: &[f32], rng: &mut Rng) {
        for &v in scores {
            self.calib.push(v, rng);
        }
        if dev.baseline.len() == N_INPUTS && dev.baseline_count > 0 {
            if self.baseline.len() != N_INPUTS {
                self.baseline = vec![0.0; N_INPUTS];
                self.baseline_count = 0;
            }
            let total = self.baseline_count.saturating_add(dev.baseline_count);
            let w = dev.baseline_count as f64 / total.max(1) as f64;
            for (c, &d) in self.baseline.iter_mut().zip(&dev.baseline) {
                *c += ((f64::from(d) - f64::from(*c)) * w) as f32;
            }
            self.baseline_count = total;
        }
        self.devices = self.devices.saturating_add(1);
    }
}

/// A category as the engine knows it (for telemetry and tests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryInfo {
    pub name: String,
    /// Devices whose learning period was pooled into the category.
    pub devices: u32,
    /// Scores pooled.
    pub scores: usize,
    /// Threshold a new device of the category is held to (`None` until a
    /// device of the category finished its learning period).
    pub threshold: Option<f32>,
}

impl Activity for DeviceState {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        // Packets, fading with a one-day half-life of silence.
        self.packets as f64
            * decay_factor(1.0 / 86_400.0, now_us.saturating_sub(last_us) as f64 * 1e-6)
    }
}

/// Running mean of `x` into `mean` over `count` vectors.
fn running_mean(mean: &mut Vec<f32>, count: u64, x: &[f32]) {
    if mean.len() != x.len() {
        *mean = vec![0.0; x.len()];
    }
    let k = 1.0 / count.max(1) as f32;
    for (b, &v) in mean.iter_mut().zip(x) {
        *b += (v - *b) * k;
    }
}

impl DeviceState {
    /// Whether the device's own learning period is over at `seen` seconds
    /// after its first packet. A device that was kept out of its own sample
    /// more than in it (an attack, and the minutes its slow windows carry
    /// it) learns on, up to twice the period, until its calm sample can
    /// give it a threshold of its own.
    fn learning_over(&self, seen: f64, l: &LearningConfig, cal: &CalibrationConfig) -> bool {
        if seen < l.device_learning_secs || self.packets < l.device_learning_packets {
            return false;
        }
        self.calm_packets >= self.unlike_packets
            || self.calib.len() >= cal.device_min_scores
            || seen >= 2.0 * l.device_learning_secs
    }

    /// Ends the device's own learning period: its threshold and sample.
    ///
    /// Its own normal is its calm packets. Only a device whose calm sample
    /// is too small for a threshold and that was unlike its category more
    /// than like it is not having an episode: it is a device unlike its
    /// category (an alert said so), and its own normal is learned from all
    /// its packets, or it would be flagged for ever.
    ///
    /// Returns the calm sample when the device is typical of its category
    /// (to be pooled into it), `None` when it is not.
    fn end_learning(
        &mut self,
        cal: &CalibrationConfig,
        global: f32,
        rng: &mut Rng,
    ) -> Option<Vec<f32>> {
        let unlike =
            self.unlike_packets > self.calm_packets && self.calib.len() < cal.device_min_scores;
        let calm = self.calib.sorted();
        let mine = if unlike {
            if self.calib.is_empty() {
                // No calm packet made the sample (a default one holds
                // nothing): the unlike scores need room.
                self.calib = Reservoir::new(cal.device_reservoir);
            }
            for v in self.unlike.sorted() {
                self.calib.push(v, rng);
            }
            let total = self.baseline_count + self.unlike_packets;
            if self.unlike_baseline.len() == N_INPUTS {
                let w = self.unlike_packets as f64 / total.max(1) as f64;
                if self.baseline.len() != N_INPUTS {
                    self.baseline = self.unlike_baseline.clone();
                } else {
                    for (b, &u) in self.baseline.iter_mut().zip(&self.unlike_baseline) {
                        *b += ((f64::from(u) - f64::from(*b)) * w) as f32;
                    }
                }
                self.baseline_count = total;
            }
            self.calib.sorted()
        } else {
            calm.clone()
        };
        let own = if mine.len() >= cal.device_min_scores {
            threshold(&mine, cal.target_fpr, cal.margin)
        } else {
            None
        };
        self.threshold = Some(own.map_or(global, |t| t.max(global)));
        self.calib.clear();
        self.unlike.clear();
        self.unlike_baseline = Vec::new();
        (!unlike).then_some(calm)
    }

    fn learn_baseline(&mut self, x: &[f32]) {
        if self.baseline.len() != x.len() {
            self.baseline_count = 0;
        }
        self.baseline_count += 1;
        running_mean(&mut self.baseline, self.baseline_count, x);
    }

    fn adapt_baseline(&mut self, x: &[f32], rate: f32) {
        if self.baseline.len() != x.len() {
            return self.learn_baseline(x);
        }
        for (b, &v) in self.baseline.iter_mut().zip(x) {
            *b += (v - *b) * rate;
        }
    }
}

/// Global feature spread (Welford), for scaling explanations.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Spread {
    n: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Spread {
    fn new() -> Self {
        Self {
            n: 0.0,
            mean: vec![0.0; N_INPUTS],
            m2: vec![0.0; N_INPUTS],
        }
    }

    fn update(&mut self, x: &[f32]) {
        self.n += 1.0;
        for ((m, s), &v) in self.mean.iter_mut().zip(&mut self.m2).zip(x) {
            let v = f64::from(v);
            let d = v - *m;
            *m += d / self.n;
            *s += d * (v - *m);
        }
    }

    fn std(&self) -> Vec<f32> {
        self.m2
            .iter()
            .map(|&s| {
                if self.n > 1.0 {
                    (s / self.n).sqrt() as f32
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Online anomaly detection over [`PacketObs`]; see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnomalyEngine {
    cfg: AnomalyConfig,
    features: FeatureExtractor,
    binding: BindingTracker,
    model: Model,
    phase: Phase,
    phase_packets: u64,
    phase_start_us: Option<i64>,
    first_us: Option<i64>,
    learned_until_us: Option<i64>,
    calib: Reservoir,
    threshold: f32,
    /// Median of the calibration scores (the origin `category_margin`
    /// widens from).
    median: f32,
    adapt_below: f32,
    spread: Spread,
    spread_std: Vec<f32>,
    devices: BoundedTable<u32, DeviceState>,
    categories: Vec<CategoryState>,
    conversations: BoundedTable<([u8; 16], [u8; 16]), Conversation>,
    rng: Rng,
    adapt_counter: u64,
    sweep_cursor: usize,
    pending: Vec<AnomalyAlert>,
    packets: u64,
    adapted: u64,
    alerts_raised: u64,
    alerts_dropped: u64,
    training_packets: u64,
    calibration_packets: u64,
    #[serde(skip)]
    x: Vec<f32>,
    /// Which build of KitNET's kernels and of the feature statistics runs
    /// (not state: a loaded engine picks the best the CPU has).
    #[serde(skip)]
    kernels: Kernels,
}

/// Non-finite inputs (a division that met an empty window, say) become 0;
/// finite values, -0.0 included, keep their bits. A select on the bits
/// over whole chunks of eight, not a branch per value: LLVM emits a few
/// vector instructions per chunk (one register of eight inside the AVX2
/// region, two of four under SSE2), where a branchy loop stays scalar.
#[inline(always)]
fn zero_non_finite(xs: &mut [f32; N_INPUTS]) {
    let mut chunks = xs.chunks_exact_mut(8);
    for c in &mut chunks {
        for v in c {
            *v = if v.to_bits() & 0x7fff_ffff < 0x7f80_0000 {
                *v
            } else {
                0.0
            };
        }
    }
    for v in chunks.into_remainder() {
        *v = if v.is_finite() { *v } else { 0.0 };
    }
}

fn reached(packets: u64, min_packets: u64, elapsed_us: i64, min_secs: f64) -> bool {
    packets >= min_packets && elapsed_us as f64 * 1e-6 >= min_secs
}

impl AnomalyEngine {
    /// A fresh engine that starts learning.
    pub fn new(cfg: AnomalyConfig) -> Result<Self, AnomalyError> {
        cfg.validate()?;
        let model = match cfg.model {
            ModelKind::Kitnet => Model::KitnetMapping(FeatureMapper::new(N_INPUTS)),
            ModelKind::HalfSpaceTrees => Model::HstWarmup {
                min: vec![f32::INFINITY; N_INPUTS],
                max: vec![f32::NEG_INFINITY; N_INPUTS],
            },
        };
        Ok(Self {
            features: FeatureExtractor::new(cfg.tables, cfg.seed),
            binding: BindingTracker::new(cfg.tables, cfg.seed),
            model,
            phase: Phase::Mapping,
            phase_packets: 0,
            phase_start_us: None,
            first_us: None,
            learned_until_us: None,
            calib: Reservoir::new(cfg.calibration.reservoir),
            threshold: f32::INFINITY,
            median: 0.0,
            adapt_below: f32::NEG_INFINITY,
            spread: Spread::new(),
            spread_std: vec![0.0; N_INPUTS],
            devices: BoundedTable::new(cfg.max_devices, cfg.seed ^ 0x6465_7669_6365),
            categories: Vec::new(),
            conversations: BoundedTable::new(cfg.tables.ip_pair, cfg.seed ^ 0x636f_6e76),
            rng: Rng::new(cfg.seed ^ 0x0072_6e67),
            adapt_counter: 0,
            sweep_cursor: 0,
            pending: Vec::new(),
            packets: 0,
            adapted: 0,
            alerts_raised: 0,
            alerts_dropped: 0,
            training_packets: 0,
            calibration_packets: 0,
            x: vec![0.0; N_INPUTS],
            kernels: Kernels::default(),
            cfg,
        })
    }

    pub fn config(&self) -> &AnomalyConfig {
        &self.cfg
    }

    /// The engine's (global) phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Global threshold (`+inf` until calibrated).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn model_info(&self) -> ModelInfo {
        ModelInfo {
            feature_version: FEATURE_VERSION,
            model: self.cfg.model,
            seed: self.cfg.seed,
            learned_from_micros: self.first_us,
            learned_until_micros: self.learned_until_us,
            training_packets: self.training_packets,
            calibration_packets: self.calibration_packets,
            threshold: self.threshold,
        }
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            packets: self.packets,
            phase: self.phase,
            adapted: self.adapted,
            alerts_raised: self.alerts_raised,
            alerts_dropped: self.alerts_dropped,
            device_evictions: self.devices.evictions(),
            tables: self.features.table_stats(),
        }
    }

    /// KitNET's learned feature groups (indices into the feature vector), once
    /// mapping is over.
    pub fn feature_groups(&self) -> Option<&[Vec<u16>]> {
        match &self.model {
            Model::Kitnet(k) => Some(k.groups()),
            _ => None,
        }
    }

    /// Chooses the build of KitNET's kernels and of the feature statistics
    /// (by default the widest the CPU has: AVX-512 for KitNET where it has
    /// it, else AVX2, and AVX2 for the statistics; every build gives the
    /// same bits). For tests and benchmarks that compare them.
    pub fn set_kernels(&mut self, k: Kernels) {
        self.kernels = k;
        if let Model::Kitnet(net) = &mut self.model {
            net.set_kernels(k);
        }
    }

    /// The feature vector of the last processed packet (for research output).
    pub fn last_features(&self) -> &[f32] {
        &self.x
    }

    /// The id of device category `name` (case-sensitive, as the caller's
    /// identification names it), interned on first use; `None` when
    /// [`MAX_CATEGORIES`] other categories exist or the name is blank.
    pub fn category_id(&mut self, name: &str) -> Option<CategoryId> {
        let mut end = name.len().min(MAX_CATEGORY_NAME);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let name = name[..end].trim();
        if name.is_empty() {
            return None;
        }
        let i = match self.categories.iter().position(|c| c.name == name) {
            Some(i) => i,
            None if self.categories.len() < MAX_CATEGORIES => {
                self.categories.push(CategoryState {
                    name: name.to_string(),
                    calib: Reservoir::new(self.cfg.calibration.category_reservoir),
                    ..CategoryState::default()
                });
                self.categories.len() - 1
            }
            None => return None,
        };
        u16::try_from(i).ok().map(CategoryId)
    }

    /// The categories interned so far, with what has been pooled into each.
    pub fn categories(&self) -> Vec<CategoryInfo> {
        self.categories
            .iter()
            .map(|c| CategoryInfo {
                name: c.name.clone(),
                devices: c.devices,
                scores: c.calib.len(),
                threshold: c.threshold,
            })
            .collect()
    }

    /// Processes one packet observation.
    pub fn process(&mut self, obs: &PacketObs) -> PacketScore {
        self.process_with(obs, &PacketHints::default())
    }

    /// Processes one packet observation with what the caller knows beyond
    /// its headers (the sender's category, a DHCP client address, a forged
    /// DNS answer).
    pub fn process_with(&mut self, obs: &PacketObs, hints: &PacketHints) -> PacketScore {
        let now = obs.ts_micros;
        self.packets += 1;
        self.first_us.get_or_insert(now);
        let mut x = std::mem::take(&mut self.x);
        if x.len() != N_INPUTS {
            x = vec![0.0; N_INPUTS];
        }
        let xs: &mut [f32; N_INPUTS] = x
            .as_mut_slice()
            .try_into()
            .expect("length checked just above");
        let (features, binding) = (&mut self.features, &mut self.binding);
        // The statistics and the filter below run in one region compiled
        // for the CPU's instruction set (AVX2 where it has it; the same
        // bits either way).
        crate::compiled_with(
            self.kernels,
            #[inline(always)]
            |simd| {
                let (head, tail) = xs.split_at_mut(N_FEATURES);
                if let Ok(xa) = <&mut [f32; N_FEATURES]>::try_from(head) {
                    features.extract_inline(simd, obs, xa);
                }
                binding.extract_after(
                    obs,
                    features.last(),
                    hints.dhcp_client_mac,
                    hints.contradicted_dns.as_ref(),
                    tail,
                );
                zero_non_finite(xs);
            },
        );
        let result = self.step(obs, hints, &x, now);
        self.x = x;
        self.sweep_one(now);
        result
    }

    fn step(&mut self, obs: &PacketObs, hints: &PacketHints, x: &[f32], now: i64) -> PacketScore {
        let l = self.cfg.learning;
        let phase_start = *self.phase_start_us.get_or_insert(now);
        let elapsed_phase = now.saturating_sub(phase_start);
        let dev = self.devices.touch(obs.device, now);
        let fresh = dev.fresh;
        let dev = dev.value;
        if fresh {
            dev.first_seen_us = now;
        }
        dev.packets += 1;
        if hints.category.is_some() {
            dev.category = hints.category;
        }
        match self.phase {
            Phase::Mapping => {
                match &mut self.model {
                    Model::KitnetMapping(m) => m.update(x),
                    Model::HstWarmup { min, max } => {
                        for ((lo, hi), &v) in min.iter_mut().zip(max.iter_mut()).zip(x) {
                            *lo = lo.min(v);
                            *hi = hi.max(v);
                        }
                    }
                    _ => {}
                }
                self.phase_packets += 1;
                if reached(
                    self.phase_packets,
                    l.mapping_packets,
                    elapsed_phase,
                    l.min_mapping_secs,
                ) {
                    self.model = match &self.model {
                        Model::KitnetMapping(m) => {
                            let groups = m.clusters(self.cfg.kitnet.max_group);
                            let mut k = KitNet::new(
                                &groups,
                                self.cfg.kitnet.hidden_ratio,
                                self.cfg.kitnet.learning_rate,
                                self.cfg.seed ^ 0x6b69_746e_6574,
                            );
                            k.set_kernels(self.kernels);
                            Model::Kitnet(Box::new(k))
                        }
                        Model::HstWarmup { min, max } => Model::Hst(HalfSpaceTrees::new(
                            self.cfg.hst,
                            min,
                            max,
                            self.cfg.seed ^ 0x0068_7374,
                        )),
                        other => other.clone(),
                    };
                    self.enter(Phase::Training, now);
                }
                self.learning_score(0.0, Phase::Mapping)
            }
            Phase::Training => {
                let s = self.model.learn(x);
                self.spread.update(x);
                dev.learn_baseline(x);
                self.phase_packets += 1;
                self.training_packets += 1;
                if reached(
                    self.phase_packets,
                    l.training_packets,
                    elapsed_phase,
                    l.min_training_secs,
                ) {
                    self.enter(Phase::Calibrating, now);
                }
                self.learning_score(s, Phase::Training)
            }
            Phase::Calibrating => {
                let s = self.model.score(x);
                let s = converse(
                    &mut self.conversations,
                    self.cfg.conversation_half_life_secs,
                    self.features.last(),
                    s,
                    now,
                );
                self.calib.push(s, &mut self.rng);
                if dev.calib.is_empty() {
                    dev.calib = Reservoir::new(self.cfg.calibration.device_reservoir);
                }
                dev.calib.push(s, &mut self.rng);
                self.spread.update(x);
                dev.learn_baseline(x);
                self.phase_packets += 1;
                self.calibration_packets += 1;
                if reached(
                    self.phase_packets,
                    l.calibration_packets,
                    elapsed_phase,
                    l.min_calibration_secs,
                ) {
                    self.finish_calibration(now);
                }
                self.learning_score(s, Phase::Calibrating)
            }
            Phase::DeviceLearning | Phase::Scoring => {
                let s = self.model.score(x);
                let s = converse(
                    &mut self.conversations,
                    self.cfg.conversation_half_life_secs,
                    self.features.last(),
                    s,
                    now,
                );
                let cal = self.cfg.calibration;
                let Some(thr) = dev.threshold else {
                    // The device's own learning period. With a category
                    // whose devices have been learned, it is judged against
                    // that category's normal meanwhile; only its calm
                    // packets (under the category threshold, no open
                    // incident) are learned, so a device that attacks from
                    // its first day does not learn the attack as its own
                    // normal.
                    let judge = dev
                        .category
                        .filter(|_| cal.category_baselines)
                        .and_then(|c| {
                            let cat = self.categories.get(usize::from(c.0))?;
                            Some((c, cat.threshold?))
                        });
                    let mut anomalous = false;
                    let mut calm = true;
                    let mut alert = None;
                    if let Some((cat, cat_thr)) = judge {
                        let view = PacketView {
                            now_us: now,
                            score: s,
                            threshold: cat_thr,
                            features: x,
                            src: obs.src_ip,
                            dst: obs.dst_ip,
                            category: Some(cat),
                        };
                        let (_, closed) = dev.agg.observe(&self.cfg.aggregation, &view);
                        anomalous = s > cat_thr;
                        // A benign new device's odd packets stay under the
                        // widened threshold and are part of its own normal.
                        calm = !anomalous && !dev.agg.incident_open();
                        alert = closed.map(|inc| {
                            build_alert(
                                obs.device,
                                inc,
                                &dev.baseline,
                                &self.categories,
                                &self.spread_std,
                            )
                        });
                    }
                    if calm {
                        if dev.calib.is_empty() {
                            dev.calib = Reservoir::new(cal.device_reservoir);
                        }
                        dev.calib.push(s, &mut self.rng);
                        dev.learn_baseline(x);
                        dev.calm_packets += 1;
                    } else {
                        if dev.unlike.is_empty() {
                            dev.unlike = Reservoir::new(cal.device_reservoir);
                        }
                        dev.unlike.push(s, &mut self.rng);
                        dev.unlike_packets += 1;
                        running_mean(&mut dev.unlike_baseline, dev.unlike_packets, x);
                    }
                    let seen = now.saturating_sub(dev.first_seen_us) as f64 * 1e-6;
                    if dev.learning_over(seen, &l, &cal) {
                        // Only a typical device's calm sample speaks for
                        // its category.
                        let typical = dev.end_learning(&cal, self.threshold, &mut self.rng);
                        if let Some((cat, sorted)) = dev
                            .category
                            .and_then(|c| self.categories.get_mut(usize::from(c.0)))
                            .zip(typical)
                        {
                            cat.absorb(dev, &sorted, &mut self.rng);
                            // The network's threshold, raised to the
                            // category's own tail once its sample is big
                            // enough to have one (a quiet category's few
                            // hundred scores say little about its 0.1 %).
                            let pooled = cat.calib.sorted();
                            let own = if pooled.len() >= cal.category_min_scores {
                                threshold(&pooled, cal.target_fpr, cal.margin)
                                    .zip(quantile(&pooled, 0.5))
                            } else {
                                None
                            };
                            let (base, median) = match own {
                                Some((t, m)) if t > self.threshold => (t, m),
                                _ => (self.threshold, self.median),
                            };
                            let widen = (cal.category_margin - 1.0) as f32;
                            cat.threshold = Some(base + widen * (base - median).max(0.0));
                        }
                    }
                    if calm && s < self.adapt_below {
                        self.adapt_counter += 1;
                        if cal.adapt_every > 0
                            && self
                                .adapt_counter
                                .is_multiple_of(u64::from(cal.adapt_every))
                        {
                            // `x` was scored above, nothing learned since.
                            self.model.learn_scored(x);
                            self.adapted += 1;
                        }
                    }
                    if let Some(alert) = alert {
                        self.push_alert(alert);
                    }
                    return PacketScore {
                        score: s,
                        threshold: judge.map_or(f32::INFINITY, |(_, t)| t),
                        phase: Phase::DeviceLearning,
                        anomalous,
                    };
                };
                let view = PacketView {
                    now_us: now,
                    score: s,
                    threshold: thr,
                    features: x,
                    src: obs.src_ip,
                    dst: obs.dst_ip,
                    category: None,
                };
                let (_, closed) = dev.agg.observe(&self.cfg.aggregation, &view);
                let calm = !dev.agg.recently_anomalous();
                if calm && s < self.adapt_below {
                    self.adapt_counter += 1;
                    if cal.adapt_every > 0
                        && self
                            .adapt_counter
                            .is_multiple_of(u64::from(cal.adapt_every))
                    {
                        // `x` was scored above, nothing learned since.
                        self.model.learn_scored(x);
                        dev.adapt_baseline(x, cal.baseline_rate);
                        self.adapted += 1;
                    }
                }
                if let Some(inc) = closed {
                    let alert = build_alert(
                        obs.device,
                        inc,
                        &dev.baseline,
                        &self.categories,
                        &self.spread_std,
                    );
                    self.push_alert(alert);
                }
                PacketScore {
                    score: s,
                    threshold: thr,
                    phase: Phase::Scoring,
                    anomalous: s > thr,
                }
            }
        }
    }

    fn learning_score(&self, score: f32, phase: Phase) -> PacketScore {
        PacketScore {
            score,
            threshold: self.threshold,
            phase,
            anomalous: false,
        }
    }

    fn enter(&mut self, phase: Phase, now: i64) {
        self.phase = phase;
        self.phase_packets = 0;
        self.phase_start_us = Some(now);
    }

    fn finish_calibration(&mut self, now: i64) {
        let cal = self.cfg.calibration;
        let sorted = self.calib.sorted();
        self.threshold = threshold(&sorted, cal.target_fpr, cal.margin).unwrap_or(f32::INFINITY);
        self.adapt_below = quantile(&sorted, cal.adapt_below_quantile).unwrap_or(f32::NEG_INFINITY);
        self.median = quantile(&sorted, 0.5).unwrap_or(0.0);
        self.spread_std = self.spread.std();
        self.calib.clear();
        self.learned_until_us = Some(now);
        self.enter(Phase::Scoring, now);
    }

    fn push_alert(&mut self, alert: AnomalyAlert) {
        self.alerts_raised += 1;
        if self.pending.len() < self.cfg.max_pending_alerts {
            self.pending.push(alert);
        } else {
            self.alerts_dropped += 1;
        }
    }

    /// Checks one device slot per packet for an incident whose cool-down has
    /// passed, so alerts come out even for devices that went silent.
    fn sweep_one(&mut self, now: i64) {
        let cap = self.devices.capacity();
        self.sweep_cursor = (self.sweep_cursor + 1) % cap;
        let cfg = self.cfg.aggregation;
        let closed = self
            .devices
            .slot_mut(self.sweep_cursor)
            .and_then(|(device, d)| {
                d.agg.close_if_due(&cfg, now).map(|inc| {
                    build_alert(device, inc, &d.baseline, &self.categories, &self.spread_std)
                })
            });
        if let Some(alert) = closed {
            self.push_alert(alert);
        }
    }

    /// Closes every incident whose cool-down has passed at packet time
    /// `now_micros` (O(max_devices); call it from a periodic tick).
    pub fn poll(&mut self, now_micros: i64) {
        let cfg = self.cfg.aggregation;
        for a in self.close_incidents(|agg| agg.close_if_due(&cfg, now_micros)) {
            self.push_alert(a);
        }
    }

    /// Closes all open incidents (end of a capture) and queues their alerts.
    pub fn finish(&mut self) {
        let mut out = self.close_incidents(Aggregator::close);
        out.sort_by_key(|a| (a.start_micros, a.device));
        for a in out {
            self.push_alert(a);
        }
    }

    /// The alerts of the incidents `close` ends, one device at a time.
    fn close_incidents(
        &mut self,
        mut close: impl FnMut(&mut Aggregator) -> Option<Incident>,
    ) -> Vec<AnomalyAlert> {
        let mut out = Vec::new();
        for (device, d) in self.devices.values_mut() {
            if let Some(inc) = close(&mut d.agg) {
                out.push(build_alert(
                    device,
                    inc,
                    &d.baseline,
                    &self.categories,
                    &self.spread_std,
                ));
            }
        }
        out
    }

    /// Takes the queued alerts.
    pub fn drain_alerts(&mut self) -> Vec<AnomalyAlert> {
        std::mem::take(&mut self.pending)
    }

    /// Serialises the whole state (tables, model, thresholds, baselines,
    /// open incidents) so a restart continues exactly where it stopped.
    pub fn save(&self) -> Result<Vec<u8>, AnomalyError> {
        let mut out = Vec::with_capacity(1 << 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&FEATURE_VERSION.to_le_bytes());
        let body = postcard::to_allocvec(self).map_err(|e| AnomalyError::Encode(e.to_string()))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Restores a state written by [`AnomalyEngine::save`], checking its
    /// format, feature version and internal consistency.
    pub fn load(bytes: &[u8]) -> Result<Self, AnomalyError> {
        let header = bytes
            .get(..16)
            .ok_or(AnomalyError::Corrupt("shorter than the header"))?;
        if &header[..8] != MAGIC {
            return Err(AnomalyError::Corrupt(
                "not a ward-anomaly state (bad magic)",
            ));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let format = u32_at(8);
        if format != FORMAT_VERSION {
            return Err(AnomalyError::UnsupportedVersion {
                what: "state format",
                found: format,
            });
        }
        let features = u32_at(12);
        if features != FEATURE_VERSION {
            return Err(AnomalyError::UnsupportedVersion {
                what: "feature layout",
                found: features,
            });
        }
        let mut engine: AnomalyEngine =
            postcard::from_bytes(&bytes[16..]).map_err(|e| AnomalyError::Decode(e.to_string()))?;
        engine.cfg.validate()?;
        let ok = engine.features.is_well_formed()
            && engine.binding.is_well_formed()
            && engine.conversations.is_well_formed()
            && engine.model.is_well_formed()
            && engine.devices.is_well_formed()
            && engine.categories.len() <= MAX_CATEGORIES
            && engine.categories.iter().all(CategoryState::is_well_formed)
            && engine.calib.is_well_formed()
            && engine.spread.mean.len() == N_INPUTS
            && engine.spread.m2.len() == N_INPUTS
            && engine.spread_std.len() == N_INPUTS;
        if !ok {
            return Err(AnomalyError::Corrupt(
                "inconsistent sizes in the saved state",
            ));
        }
        engine.features.after_load();
        engine.x = vec![0.0; N_INPUTS];
        Ok(engine)
    }
}

/// The packet's score in its conversation (see the module docs): the
/// larger of `s` and the pair's decayed peak, which `s` then updates.
/// `seen` is what the feature extractor found for the packet: its address
/// pair, the lesser first (the conversation's key), and the channel's
/// slowest decay, which the conversation's own eviction count reuses when
/// both were last touched at the same time.
fn converse(
    table: &mut BoundedTable<([u8; 16], [u8; 16]), Conversation>,
    half_life: f64,
    seen: &LastPacket,
    s: f32,
    now: i64,
) -> f32 {
    if half_life <= 0.0 || !s.is_finite() {
        return s;
    }
    let t = table.touch(seen.pair, now);
    let c = t.value;
    // λ = 0.01/s, the channel's slowest window.
    c.pkts = c.pkts * seen.pair_slow.at(t.dt_secs) + 1.0;
    let since_peak = now.saturating_sub(c.peak_us).max(0) as f64 * 1e-6;
    let carried = (f64::from(c.peak) * decay_factor(1.0 / half_life, since_peak)) as f32;
    if s >= carried {
        c.peak = s;
        c.peak_us = now;
    }
    s.max(carried)
}

/// The alert for a closed incident, explained against the normal that
/// judged its peak: the device's own, or its category's while it was new.
fn build_alert(
    device: u32,
    inc: Incident,
    own_baseline: &[f32],
    categories: &[CategoryState],
    spread: &[f32],
) -> AnomalyAlert {
    let category = inc
        .peak_category
        .and_then(|c| categories.get(usize::from(c.0)));
    let (baseline, normal) = match category {
        Some(c) if c.baseline.len() == N_INPUTS => (&c.baseline[..], Normal::Category(&c.name)),
        Some(c) => (own_baseline, Normal::Category(&c.name)),
        None => (own_baseline, Normal::Own),
    };
    let (explanation, top_features) = explain(
        device,
        inc.peak_src,
        inc.peak_dst,
        &inc.peak_features,
        baseline,
        spread,
        inc.peak_score,
        inc.peak_threshold,
        normal,
    );
    AnomalyAlert {
        device,
        start_micros: inc.start_us,
        end_micros: inc.last_anomaly_us,
        peak_score: inc.peak_score,
        threshold: inc.peak_threshold,
        packets: inc.anomalous_packets,
        total_packets: inc.total_packets,
        peak_src: inc.peak_src,
        peak_dst: inc.peak_dst,
        explanation,
        top_features,
        judged_by_category: category.map(|c| c.name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// A device none of whose learning packets was calm (every one over
    /// its category's threshold) gets its own threshold from all of them,
    /// not the global one its every packet exceeds.
    #[test]
    fn a_device_never_calm_while_learning_gets_its_own_threshold() {
        let cal = CalibrationConfig::default();
        let mut rng = Rng::new(7);
        let mut dev = DeviceState {
            unlike: Reservoir::new(cal.device_reservoir),
            ..DeviceState::default()
        };
        for i in 0..2 * cal.device_min_scores {
            dev.unlike.push(10.0 + (i % 7) as f32, &mut rng);
            dev.unlike_packets += 1;
        }
        assert_eq!(dev.calm_packets, 0);
        let typical = dev.end_learning(&cal, 1.0, &mut rng);
        assert!(typical.is_none(), "unlike its category: not pooled");
        let thr = dev.threshold.expect("learning ended");
        assert!(thr > 16.0, "own tail, not the global 1.0: {thr}");
    }

    fn obs(ts_s: f64, src: u8, dst: u8) -> PacketObs {
        PacketObs {
            ts_micros: (ts_s * 1e6) as i64,
            src_mac: [2, 0, 0, 0, 0, src],
            src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, src)),
            dst_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, dst)),
            src_port: 0,
            dst_port: 0,
            proto: 6,
            len: 60,
            tcp_flags: 0,
            device: 0,
        }
    }

    #[test]
    fn the_feature_extractors_channel_key_is_the_conversation_key() {
        use crate::features::{FeatureExtractor, TableCapacities};
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 3);
        let mut out = [0f32; N_FEATURES];
        let v6 = |last: u16| IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last));
        let v4 = |last: u8| IpAddr::V4(Ipv4Addr::new(10, 0, 0, last));
        for (a, b) in [
            (v4(1), v4(2)),
            (v4(2), v4(1)),
            (v4(7), v4(7)),
            (v6(1), v4(1)),
            (v4(200), v6(3)),
            (v6(9), v6(8)),
            (IpAddr::V4(Ipv4Addr::UNSPECIFIED), v4(255)),
        ] {
            let o = PacketObs {
                src_ip: a,
                dst_ip: b,
                ..obs(1.0, 1, 2)
            };
            fx.extract(&o, &mut out);
            assert_eq!(fx.last().pair, pair_key(&a, &b), "{a} -> {b}");
        }
    }

    /// The binding inputs and the conversation scores that reuse the
    /// feature extractor's keys and slowest decays give the same bits as
    /// those that compute their own, over a stream with shared and moving
    /// addresses, repeated times, time going backwards and long gaps.
    #[test]
    fn reusing_the_extractors_keys_and_decays_changes_no_bit() {
        use crate::binding::BindingTracker;
        use crate::features::{FeatureExtractor, TableCapacities};
        let cap = TableCapacities {
            mac_ip: 64,
            host: 64,
            ip_pair: 64,
            socket_pair: 64,
        };
        let mut fx = FeatureExtractor::new(cap, 9);
        let (mut own, mut reused) = (BindingTracker::new(cap, 9), BindingTracker::new(cap, 9));
        let (mut conv_own, mut conv_reused) = (BoundedTable::new(64, 4), BoundedTable::new(64, 4));
        let mut out = [0f32; N_FEATURES];
        let (mut a, mut b) = ([0f32; N_BINDING], [0f32; N_BINDING]);
        let mut r = Rng::new(23);
        let mut ts = 1_700_000_000_000_000i64;
        for i in 0..20_000 {
            ts += match r.below(16) {
                0 => -2_000,
                1 | 2 => 0,
                3 => 400_000_000,
                _ => r.below(3_000) as i64,
            };
            let mac = r.below(12) as u8;
            let o = PacketObs {
                ts_micros: ts,
                src_mac: [2, 0, 0, 0, 0, mac],
                // MACs mostly keep their address, sometimes take another.
                src_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, mac + 10 * r.below(2) as u8)),
                dst_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, r.below(30) as u8)),
                src_port: r.below(4) as u16,
                dst_port: 80,
                proto: 6,
                len: 60 + r.below(1400) as u32,
                tcp_flags: if r.below(4) == 0 { 0x02 } else { 0x10 },
                device: 0,
            };
            fx.extract(&o, &mut out);
            own.extract_with(&o, None, None, &mut a);
            reused.extract_after(&o, fx.last(), None, None, &mut b);
            for (k, (x, y)) in a.iter().zip(&b).enumerate() {
                assert_eq!(x.to_bits(), y.to_bits(), "packet {i}, binding input {k}");
            }
            let s = (r.below(1000) as f32) * 0.01;
            let plain = LastPacket {
                pair: fx.last().pair,
                ..LastPacket::default()
            };
            let x = converse(&mut conv_own, 2.0, &plain, s, ts);
            let y = converse(&mut conv_reused, 2.0, fx.last(), s, ts);
            assert_eq!(x.to_bits(), y.to_bits(), "packet {i}, conversation score");
        }
        let (x, y) = (
            postcard::to_allocvec(&own).expect("serialises"),
            postcard::to_allocvec(&reused).expect("serialises"),
        );
        assert_eq!(x, y, "the binding tables' states");
        let (x, y) = (
            postcard::to_allocvec(&conv_own).expect("serialises"),
            postcard::to_allocvec(&conv_reused).expect("serialises"),
        );
        assert_eq!(x, y, "the conversations' states");
    }

    /// [`converse`] for the packet `o`.
    fn converse_obs(
        t: &mut BoundedTable<([u8; 16], [u8; 16]), Conversation>,
        half_life: f64,
        o: &PacketObs,
        s: f32,
        now: i64,
    ) -> f32 {
        let seen = LastPacket {
            pair: pair_key(&o.src_ip, &o.dst_ip),
            ..LastPacket::default()
        };
        converse(t, half_life, &seen, s, now)
    }

    #[test]
    fn an_answer_carries_its_conversations_recent_peak_and_it_fades() {
        let converse = converse_obs;
        let mut t = BoundedTable::new(64, 1);
        // An attack packet 66 -> 7 scores 10.
        assert_eq!(
            converse(&mut t, 1.0, &obs(100.0, 66, 7), 10.0, 100_000_000),
            10.0
        );
        // The answer 7 -> 66 a millisecond later scores 0.1 alone.
        let s = converse(&mut t, 1.0, &obs(100.001, 7, 66), 0.1, 100_001_000);
        assert!(s > 9.9, "{s}");
        // Another conversation of the victim is not touched.
        assert_eq!(
            converse(&mut t, 1.0, &obs(100.002, 7, 1), 0.1, 100_002_000),
            0.1
        );
        // Ten half-lives later the peak is gone.
        let s = converse(&mut t, 1.0, &obs(110.0, 7, 66), 0.1, 110_000_000);
        assert!(s < 0.11, "{s}");
        // Half-life 0: every packet alone.
        let mut t = BoundedTable::new(64, 1);
        converse(&mut t, 0.0, &obs(1.0, 66, 7), 10.0, 1_000_000);
        assert_eq!(converse(&mut t, 0.0, &obs(1.0, 7, 66), 0.1, 1_000_100), 0.1);
    }
}
