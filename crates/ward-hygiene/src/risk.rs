//! Risk scores: per device (0 = nothing known against it, 100 = certainly
//! exposed) and for the whole network (0 = bad, 100 = nothing found).
//!
//! # Formula
//!
//! Every distinct issue of a device — a finding `(kind, protocol)` or an
//! alert `(role, category)` — has a weight `w` in 0…1 ([`finding_weight`],
//! [`alert_weight`]); repeats of the same issue count once, at their
//! highest weight. Issues combine like independent chances of compromise:
//!
//! ```text
//! device risk = round(100 × (1 − Π (1 − w_i)))
//! ```
//!
//! so one factory-default login (0.6) gives 60, adding an open Telnet
//! (0.35) gives 74, and no number of small issues reaches 100. The reasons
//! list every issue with its weight, highest first.
//!
//! The network score weighs the worst device and the average device (an
//! attacker needs only one way in, but many weak devices are worse than
//! one):
//!
//! ```text
//! network score = round(100 − (0.6 × max risk + 0.4 × mean risk))
//! ```
//!
//! over every device in the inventory (devices with nothing against them
//! count as 0 in the mean). Grades: risk < 20 `low`, < 50 `medium`,
//! < 80 `high`, else `critical`.

use serde::Serialize;
use ward_core::{AlertCategory, FindingKind};

/// Weight of a finding of `kind` with `severity` (1 highest … 4).
pub fn finding_weight(kind: FindingKind, severity: u8) -> f64 {
    let by_severity = |s1: f64, s2: f64, s3: f64| match severity {
        0 | 1 => s1,
        2 => s2,
        3 => s3,
        _ => s3 / 2.0,
    };
    match kind {
        // Someone can log in right now.
        FindingKind::DefaultCredentials => 0.6,
        FindingKind::WeakCredentials => 0.35,
        // Open doors and known holes: by how bad the detector judged them.
        FindingKind::RiskyService => by_severity(0.5, 0.35, 0.2),
        FindingKind::VulnerableSoftware => by_severity(0.5, 0.35, 0.2),
        // The password leaked to anyone on the path (less when only failed guesses were seen).
        FindingKind::CleartextCredentials => by_severity(0.3, 0.25, 0.1),
        FindingKind::InsecureProtocol => 0.15,
        FindingKind::WeakTls => 0.1,
    }
}

/// Weight of an alert for a device that was its attacker (`true`) or a
/// target. A device that attacks others is likely compromised already; a
/// target is only exposed.
pub fn alert_weight(category: AlertCategory, attacker: bool) -> f64 {
    match (attacker, category) {
        (true, AlertCategory::Botnet) => 0.8,
        (true, AlertCategory::Exploit | AlertCategory::Bruteforce | AlertCategory::Dos) => 0.6,
        (true, AlertCategory::Recon | AlertCategory::Spoofing) => 0.4,
        (true, _) => 0.2,
        (false, AlertCategory::Exploit | AlertCategory::Botnet) => 0.3,
        (false, AlertCategory::Bruteforce) => 0.15,
        (false, AlertCategory::NewDevice) => 0.0,
        (false, _) => 0.05,
    }
}

/// One reason behind a score.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Reason {
    /// `finding:default-credentials/telnet`, `alert:attacker/botnet` …
    pub issue: String,
    pub weight: f64,
    /// One sentence (the finding's or alert's summary).
    pub summary: String,
}

/// A device's score.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Risk {
    pub score: u8,
    pub grade: &'static str,
    pub reasons: Vec<Reason>,
}

/// Accumulates the issues of one device.
#[derive(Default, Debug, Clone)]
pub struct RiskBuilder {
    reasons: Vec<Reason>,
}

impl RiskBuilder {
    /// Add an issue; the same `issue` again keeps only the higher weight.
    pub fn add(&mut self, issue: String, weight: f64, summary: &str) {
        let weight = weight.clamp(0.0, 1.0);
        if let Some(r) = self.reasons.iter_mut().find(|r| r.issue == issue) {
            if weight > r.weight {
                r.weight = weight;
                r.summary = summary.to_string();
            }
            return;
        }
        self.reasons.push(Reason {
            issue,
            weight,
            summary: summary.to_string(),
        });
    }

    pub fn finish(mut self) -> Risk {
        let keep: f64 = self.reasons.iter().map(|r| 1.0 - r.weight).product();
        let score = (100.0 * (1.0 - keep)).round().clamp(0.0, 100.0) as u8;
        self.reasons.retain(|r| r.weight > 0.0);
        self.reasons.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.issue.cmp(&b.issue))
        });
        Risk {
            score,
            grade: grade(score),
            reasons: self.reasons,
        }
    }
}

/// `low`, `medium`, `high`, `critical`.
pub fn grade(risk: u8) -> &'static str {
    match risk {
        0..=19 => "low",
        20..=49 => "medium",
        50..=79 => "high",
        _ => "critical",
    }
}

/// The network's security score (100 = nothing found) from every device's risk.
pub fn network_score(risks: &[u8]) -> u8 {
    if risks.is_empty() {
        return 100;
    }
    let max = f64::from(*risks.iter().max().unwrap_or(&0));
    let mean = risks.iter().map(|r| f64::from(*r)).sum::<f64>() / risks.len() as f64;
    (100.0 - (0.6 * max + 0.4 * mean)).round().clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_matches_the_documented_examples() {
        let mut b = RiskBuilder::default();
        b.add("finding:default-credentials/telnet".into(), 0.6, "x");
        assert_eq!(b.clone().finish().score, 60);
        b.add("finding:risky-service/telnet".into(), 0.35, "y");
        let r = b.finish();
        assert_eq!(r.score, 74);
        assert_eq!(r.grade, "high");
        assert_eq!(r.reasons[0].issue, "finding:default-credentials/telnet");
    }

    #[test]
    fn repeats_count_once_and_scores_stay_below_100() {
        let mut b = RiskBuilder::default();
        for _ in 0..50 {
            b.add("finding:weak-tls/tls".into(), 0.1, "z");
        }
        assert_eq!(b.finish().score, 10);
        let mut b = RiskBuilder::default();
        for i in 0..20 {
            b.add(format!("i{i}"), 0.15, "z");
        }
        assert!(b.finish().score < 100);
    }

    #[test]
    fn network_score() {
        assert_eq!(super::network_score(&[]), 100);
        assert_eq!(super::network_score(&[0, 0]), 100);
        assert_eq!(super::network_score(&[74, 0, 0, 0]), 48);
    }

    #[test]
    fn attackers_weigh_more_than_targets() {
        assert!(
            alert_weight(AlertCategory::Botnet, true) > alert_weight(AlertCategory::Botnet, false)
        );
        assert_eq!(alert_weight(AlertCategory::NewDevice, false), 0.0);
        assert!(
            finding_weight(FindingKind::DefaultCredentials, 1)
                > finding_weight(FindingKind::WeakTls, 3)
        );
    }
}
