//! Per-device aggregation of over-threshold packets into incidents.
//!
//! One odd packet never pages. A device's packets over its threshold are
//! counted in a sliding window of packet time (ten buckets, O(1) per packet).
//! An incident opens only when, within that window, at least `min_packets`
//! packets were over the threshold, they make up at least `min_fraction` of
//! the device's packets, and the run of anomalies has lasted at least
//! `min_duration_secs`. An open incident absorbs every further anomaly of the
//! device and closes after `cooldown_secs` without one — one alert per
//! episode, with its start, end, peak score and packet counts. An incident
//! longer than `max_incident_secs` is reported and a new one starts, so a
//! week-long attack is not silent for a week.

use serde::{Deserialize, Serialize};

use crate::CategoryId;

/// Aggregation settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AggregationConfig {
    /// Length of the sliding window, seconds. Default 10.
    pub window_secs: f64,
    /// Over-threshold packets needed in the window. Default 10.
    pub min_packets: u32,
    /// Share of the device's packets in the window that must be over the
    /// threshold. Default 0.05.
    pub min_fraction: f64,
    /// The anomalous run must have lasted this long. Default 1 s.
    pub min_duration_secs: f64,
    /// Quiet time that ends an incident. Default 120 s.
    pub cooldown_secs: f64,
    /// An incident is reported (and a new one begun) after this long. Default 3600 s.
    pub max_incident_secs: f64,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        Self {
            window_secs: 10.0,
            min_packets: 10,
            min_fraction: 0.05,
            min_duration_secs: 1.0,
            cooldown_secs: 120.0,
            max_incident_secs: 3600.0,
        }
    }
}

const BUCKETS: usize = 10;

/// Sliding counts of all and of anomalous packets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Window {
    /// Index (in bucket units since the epoch) of the newest bucket.
    head: i64,
    total: [u32; BUCKETS],
    anomalous: [u32; BUCKETS],
}

impl Window {
    fn add(&mut self, now_us: i64, bucket_us: i64, anomalous: bool) {
        let b = now_us.div_euclid(bucket_us.max(1));
        if b > self.head {
            let steps = b.saturating_sub(self.head).min(BUCKETS as i64);
            for k in 1..=steps {
                let i = (self.head + k).rem_euclid(BUCKETS as i64) as usize;
                self.total[i] = 0;
                self.anomalous[i] = 0;
            }
            self.head = b;
        }
        // A packet older than the window (time going backwards) counts in the
        // newest bucket rather than being lost.
        let i = self.head.rem_euclid(BUCKETS as i64) as usize;
        self.total[i] = self.total[i].saturating_add(1);
        if anomalous {
            self.anomalous[i] = self.anomalous[i].saturating_add(1);
        }
    }

    /// Whether any bucket holds an anomalous packet: `sums().1 > 0` (the
    /// counts are never negative) without the two folds, on every packet.
    fn any_anomalous(&self) -> bool {
        self.anomalous.iter().any(|&v| v != 0)
    }

    fn sums(&self) -> (u32, u32) {
        (
            self.total.iter().fold(0u32, |a, &v| a.saturating_add(v)),
            self.anomalous
                .iter()
                .fold(0u32, |a, &v| a.saturating_add(v)),
        )
    }
}

/// An open incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incident {
    pub start_us: i64,
    pub last_anomaly_us: i64,
    pub peak_score: f32,
    /// Threshold in force at the peak.
    pub peak_threshold: f32,
    /// Feature vector of the peak packet (for the explanation).
    pub peak_features: Vec<f32>,
    pub peak_src: std::net::IpAddr,
    pub peak_dst: std::net::IpAddr,
    pub anomalous_packets: u64,
    pub total_packets: u64,
    /// The category whose normal judged the peak packet (a device still in
    /// its own learning period), `None` for the device's own normal.
    pub peak_category: Option<CategoryId>,
}

/// What one packet did to the device's aggregation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Quiet,
    /// Over threshold, not (yet) an incident.
    Candidate,
    /// Part of an open incident.
    InIncident,
}

/// Per-device aggregation state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Aggregator {
    window: Window,
    /// Start of the current run of anomalies that is not yet an incident.
    run_start_us: Option<i64>,
    open: Option<Incident>,
}

/// Data of the packet being aggregated.
pub struct PacketView<'a> {
    pub now_us: i64,
    pub score: f32,
    pub threshold: f32,
    pub features: &'a [f32],
    pub src: std::net::IpAddr,
    pub dst: std::net::IpAddr,
    /// Set when `threshold` is the category's (see [`Incident::peak_category`]).
    pub category: Option<CategoryId>,
}

fn secs_to_us(s: f64) -> i64 {
    (s * 1e6).clamp(0.0, 1e18) as i64
}

impl Aggregator {
    pub fn incident_open(&self) -> bool {
        self.open.is_some()
    }

    /// True when the window holds any anomalous packet (adaptation pauses).
    pub fn recently_anomalous(&self) -> bool {
        self.open.is_some() || self.window.any_anomalous()
    }

    /// Aggregates one packet. Returns what it did, and an incident that was
    /// closed by this packet's time (cool-down elapsed or too long).
    pub fn observe(
        &mut self,
        cfg: &AggregationConfig,
        p: &PacketView<'_>,
    ) -> (Step, Option<Incident>) {
        let anomalous = p.score > p.threshold;
        let mut closed = self.close_if_due(cfg, p.now_us);
        let bucket_us = secs_to_us(cfg.window_secs / BUCKETS as f64).max(1);
        self.window.add(p.now_us, bucket_us, anomalous);
        if let Some(inc) = &mut self.open {
            inc.total_packets += 1;
            if anomalous {
                inc.anomalous_packets += 1;
                inc.last_anomaly_us = inc.last_anomaly_us.max(p.now_us);
                if p.score - p.threshold > inc.peak_score - inc.peak_threshold {
                    set_peak(inc, p);
                }
                return (Step::InIncident, closed.take());
            }
            return (Step::Quiet, closed.take());
        }
        if !anomalous {
            if !self.window.any_anomalous() {
                self.run_start_us = None;
            }
            return (Step::Quiet, closed);
        }
        let run_start = *self.run_start_us.get_or_insert(p.now_us);
        let (total, anom) = self.window.sums();
        let enough = anom >= cfg.min_packets
            && f64::from(anom) >= cfg.min_fraction * f64::from(total)
            && p.now_us.saturating_sub(run_start) >= secs_to_us(cfg.min_duration_secs);
        if !enough {
            return (Step::Candidate, closed);
        }
        let mut inc = Incident {
            start_us: run_start,
            last_anomaly_us: p.now_us,
            peak_score: p.score,
            peak_threshold: p.threshold,
            peak_features: Vec::new(),
            peak_src: p.src,
            peak_dst: p.dst,
            anomalous_packets: u64::from(anom),
            total_packets: u64::from(total),
            peak_category: None,
        };
        set_peak(&mut inc, p);
        self.open = Some(inc);
        self.run_start_us = None;
        (Step::InIncident, closed)
    }

    /// Closes the open incident if its cool-down has elapsed at `now_us` or
    /// it has run longer than allowed.
    pub fn close_if_due(&mut self, cfg: &AggregationConfig, now_us: i64) -> Option<Incident> {
        let inc = self.open.as_ref()?;
        let quiet = now_us.saturating_sub(inc.last_anomaly_us) >= secs_to_us(cfg.cooldown_secs);
        let too_long = now_us.saturating_sub(inc.start_us) >= secs_to_us(cfg.max_incident_secs);
        if quiet || too_long {
            self.open.take()
        } else {
            None
        }
    }

    /// Closes the open incident unconditionally (end of input).
    pub fn close(&mut self) -> Option<Incident> {
        self.open.take()
    }
}

fn set_peak(inc: &mut Incident, p: &PacketView<'_>) {
    inc.peak_score = p.score;
    inc.peak_threshold = p.threshold;
    inc.peak_features.clear();
    inc.peak_features.extend_from_slice(p.features);
    inc.peak_src = p.src;
    inc.peak_dst = p.dst;
    inc.peak_category = p.category;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn view(now_us: i64, score: f32) -> PacketView<'static> {
        PacketView {
            now_us,
            score,
            threshold: 1.0,
            features: &[],
            src: IpAddr::V4(Ipv4Addr::LOCALHOST),
            dst: IpAddr::V4(Ipv4Addr::LOCALHOST),
            category: None,
        }
    }

    #[test]
    fn isolated_odd_packets_never_open_an_incident() {
        let cfg = AggregationConfig::default();
        let mut a = Aggregator::default();
        // One odd packet per minute among normal ones, for a day.
        for s in 0..86_400i64 {
            let score = if s % 60 == 0 { 50.0 } else { 0.1 };
            let (step, closed) = a.observe(&cfg, &view(s * 1_000_000, score));
            assert_ne!(step, Step::InIncident);
            assert!(closed.is_none());
        }
    }

    #[test]
    fn a_burst_is_one_incident_with_start_end_and_peak() {
        let cfg = AggregationConfig::default();
        let mut a = Aggregator::default();
        let mut closed = Vec::new();
        // 30 s of 100 anomalous packets per second, then quiet traffic.
        for i in 0..3000i64 {
            let score = 2.0 + (i % 7) as f32;
            closed.extend(a.observe(&cfg, &view(1_000_000_000 + i * 10_000, score)).1);
        }
        assert!(a.incident_open());
        for s in 0..300i64 {
            closed.extend(a.observe(&cfg, &view(1_030_000_000 + s * 1_000_000, 0.1)).1);
        }
        assert_eq!(closed.len(), 1);
        let inc = &closed[0];
        assert_eq!(inc.start_us, 1_000_000_000);
        assert!(inc.last_anomaly_us >= 1_029_000_000);
        assert_eq!(inc.peak_score, 8.0);
        assert!(inc.anomalous_packets >= 2900, "{}", inc.anomalous_packets);
    }
}
