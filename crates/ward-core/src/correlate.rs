//! One incident, one alert, across detectors.
//!
//! Each detector aggregates its own evidence into incidents, but two
//! detectors can see the same attack: the SYN-flood signature and the
//! machine-learned traffic model both recognise one flood. A detector that
//! declares itself *secondary* ([`crate::engine::Detector::secondary`])
//! corroborates the others: its alert is dropped (and counted in
//! `stats.alerts_corroborated`) when a primary detector alerted about the
//! same attacker within [`CORROBORATION_WINDOW_SECS`] of packet time, in the
//! same category (a sweep's victims differ from alert to alert) or about the
//! same victim where the secondary alert names one. What a secondary
//! detector finds on its own still reaches the user.
//!
//! Bounded: the most recent [`MAX_RECENT`] primary incidents are kept; the
//! work per alert is a scan of that list (alerts are rare next to packets).

use std::collections::VecDeque;
use std::net::IpAddr;

use crate::event::{AlertCategory, Event, EventType};
use crate::time::Timestamp;

/// How far apart (packet time) a primary and a secondary alert may be and
/// still be one incident.
pub const CORROBORATION_WINDOW_SECS: i64 = 300;
/// Primary incidents remembered.
pub const MAX_RECENT: usize = 512;

struct Recent {
    attacker: IpAddr,
    category: AlertCategory,
    victims: Vec<IpAddr>,
    last_seen: Timestamp,
}

/// See the module docs.
#[derive(Default)]
pub struct Correlator {
    secondary: Vec<&'static str>,
    recent: VecDeque<Recent>,
    /// Secondary alerts folded into a primary incident.
    pub corroborated: u64,
}

impl Correlator {
    /// `secondary`: names of the detectors whose alerts only corroborate.
    pub fn new(secondary: Vec<&'static str>) -> Self {
        Correlator {
            secondary,
            recent: VecDeque::new(),
            corroborated: 0,
        }
    }

    /// Whether `ev` goes out. Non-alerts always do.
    pub fn keep(&mut self, ev: &Event) -> bool {
        if ev.event_type != EventType::Alert {
            return true;
        }
        let Some(alert) = &ev.alert else { return true };
        let Some(attacker) = alert.attacker else {
            return true;
        };
        let window = CORROBORATION_WINDOW_SECS.saturating_mul(1_000_000);
        if self.secondary.contains(&alert.detector.as_str()) {
            let victim = alert.victims.first();
            let known = self.recent.iter().any(|r| {
                r.attacker == attacker
                    && (r.category == alert.category
                        || victim.is_none_or(|v| r.victims.is_empty() || r.victims.contains(v)))
                    && alert.first_seen.since(r.last_seen) <= window
                    && r.last_seen.since(alert.last_seen) <= window
            });
            if known {
                self.corroborated += 1;
            }
            return !known;
        }
        if self.recent.len() >= MAX_RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            attacker,
            category: alert.category,
            victims: alert.victims.clone(),
            last_seen: alert.last_seen,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Alert, AlertCategory};

    fn alert(detector: &str, attacker: [u8; 4], victim: Option<[u8; 4]>, t: i64) -> Event {
        let a = Alert {
            category: AlertCategory::Dos,
            signature: "x".into(),
            severity: 2,
            confidence: 0.9,
            summary: String::new(),
            evidence: Default::default(),
            devices: Vec::new(),
            attacker: Some(IpAddr::from(attacker)),
            victims: victim.map(IpAddr::from).into_iter().collect(),
            first_seen: Timestamp::from_secs(t),
            last_seen: Timestamp::from_secs(t + 10),
            count: 1,
            detector: detector.into(),
        };
        Event::alert(Timestamp::from_secs(t + 10), a)
    }

    #[test]
    fn a_secondary_alert_about_a_known_incident_is_folded_in() {
        let mut c = Correlator::new(vec!["ml"]);
        assert!(c.keep(&alert("dos", [10, 0, 0, 9], Some([10, 0, 0, 2]), 100)));
        assert!(!c.keep(&alert("ml", [10, 0, 0, 9], Some([10, 0, 0, 2]), 102)));
        assert!(!c.keep(&alert("ml", [10, 0, 0, 9], None, 103)));
        assert_eq!(c.corroborated, 2);
    }

    #[test]
    fn a_secondary_alert_of_its_own_goes_out() {
        let mut c = Correlator::new(vec!["ml"]);
        assert!(c.keep(&alert("dos", [10, 0, 0, 9], Some([10, 0, 0, 2]), 100)));
        // Another victim in another category, another attacker, much
        // later: all new.
        let mut other = alert("ml", [10, 0, 0, 9], Some([10, 0, 0, 3]), 101);
        if let Some(a) = other.alert.as_mut() {
            a.category = AlertCategory::Recon;
        }
        assert!(c.keep(&other));
        assert!(c.keep(&alert("ml", [10, 0, 0, 8], Some([10, 0, 0, 2]), 101)));
        assert!(c.keep(&alert("ml", [10, 0, 0, 9], Some([10, 0, 0, 2]), 1000)));
        // Primary alerts are never dropped, whatever came before.
        assert!(c.keep(&alert("dos", [10, 0, 0, 9], Some([10, 0, 0, 2]), 1000)));
        assert_eq!(c.corroborated, 0);
    }

    #[test]
    fn a_secondary_alert_in_the_same_category_is_folded_in_whatever_its_victim() {
        let mut c = Correlator::new(vec!["ml"]);
        assert!(c.keep(&alert("recon", [10, 0, 0, 9], Some([10, 0, 0, 2]), 100)));
        // The same sweep, another address of it first: still one incident.
        assert!(!c.keep(&alert("ml", [10, 0, 0, 9], Some([10, 0, 0, 77]), 101)));
        // Another category about another victim is news.
        let mut other = alert("ml", [10, 0, 0, 9], Some([10, 0, 0, 78]), 102);
        if let Some(a) = other.alert.as_mut() {
            a.category = AlertCategory::Bruteforce;
        }
        assert!(c.keep(&other));
        assert_eq!(c.corroborated, 1);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut c = Correlator::new(vec!["ml"]);
        for i in 0..10_000u32 {
            let b = i.to_be_bytes();
            assert!(c.keep(&alert("dos", [10, b[1], b[2], b[3]], None, i64::from(i))));
        }
        assert_eq!(c.recent.len(), MAX_RECENT);
    }
}
