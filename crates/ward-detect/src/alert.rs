//! The alert a sub-detector proposes, before incident suppression and
//! device labelling turn it into an [`Event`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use ward_core::devices::DeviceTable;
use ward_core::{Alert, AlertCategory, Event, Timestamp};

/// Most victims listed in one alert.
pub const MAX_VICTIMS: usize = 16;

/// A proposed alert. See [`crate::Attacks`] for what happens to it.
#[derive(Clone, Debug)]
pub struct Draft {
    pub category: AlertCategory,
    pub signature: Cow<'static, str>,
    pub detector: &'static str,
    pub severity: u8,
    pub confidence: f32,
    pub summary: String,
    pub evidence: BTreeMap<String, serde_json::Value>,
    pub attacker: Option<IpAddr>,
    pub attacker_port: u16,
    pub victims: Vec<IpAddr>,
    pub victim_port: u16,
    pub proto: Option<u8>,
    /// The attacker's MAC where its IP address cannot be trusted (spoofed
    /// floods, ARP and DHCP attacks); [`crate::Attacks`] names its address.
    pub attacker_mac: Option<ward_core::MacAddr>,
    /// Extra device labels (MAC-only actors, such as a DHCP starvation tool).
    pub devices: Vec<String>,
    /// Key the incident on the first victim (false: on the attacker alone,
    /// for sweeps and floods whose victims vary).
    pub per_victim: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u64,
}

impl Draft {
    pub fn new(
        category: AlertCategory,
        signature: impl Into<Cow<'static, str>>,
        detector: &'static str,
        now: Timestamp,
    ) -> Self {
        Draft {
            category,
            signature: signature.into(),
            detector,
            severity: 3,
            confidence: 0.5,
            summary: String::new(),
            evidence: BTreeMap::new(),
            attacker: None,
            attacker_port: 0,
            victims: Vec::new(),
            victim_port: 0,
            proto: None,
            attacker_mac: None,
            devices: Vec::new(),
            per_victim: true,
            first_seen: now,
            last_seen: now,
            count: 1,
        }
    }

    pub fn ev(mut self, k: &str, v: impl Into<serde_json::Value>) -> Self {
        self.evidence.insert(k.to_string(), v.into());
        self
    }

    pub fn victim(&self) -> Option<IpAddr> {
        self.victims.first().copied()
    }

    /// The event, with device labels looked up now.
    pub fn into_event(self, devices: &DeviceTable) -> Event {
        let mut labels: Vec<String> = Vec::new();
        let mut add = |l: String| {
            if !labels.contains(&l) && labels.len() < MAX_VICTIMS + 2 {
                labels.push(l);
            }
        };
        for ip in self.attacker.iter().chain(self.victims.iter()) {
            if let Some(d) = devices.find_ip(*ip).and_then(|id| devices.get(id)) {
                add(d.label());
            }
        }
        for l in self.devices {
            add(l);
        }
        let victims: Vec<IpAddr> = self.victims.into_iter().take(MAX_VICTIMS).collect();
        let src = self.attacker.map(|ip| (ip, self.attacker_port));
        let dst = victims.first().map(|ip| (*ip, self.victim_port));
        let alert = Alert {
            category: self.category,
            signature: self.signature.into_owned(),
            severity: self.severity.clamp(1, 4),
            confidence: if self.confidence.is_finite() {
                self.confidence.clamp(0.0, 1.0)
            } else {
                0.5
            },
            summary: self.summary,
            evidence: self.evidence,
            devices: labels,
            attacker: self.attacker,
            victims,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            count: self.count,
            detector: self.detector.to_string(),
        };
        Event::alert(self.last_seen, alert).with_endpoints(src, dst, self.proto)
    }
}

/// How an address is named in a summary: `192.168.1.20`, or
/// `192.168.1.20 (dvr-01)` when the inventory knows a host name.
pub fn who(devices: &DeviceTable, ip: IpAddr) -> String {
    match devices
        .find_ip(ip)
        .and_then(|id| devices.get(id))
        .and_then(|d| d.hostname())
    {
        Some(h) => format!("{ip} ({h})"),
        None => ip.to_string(),
    }
}

/// A duration in words for summaries.
pub fn span(first: Timestamp, last: Timestamp) -> String {
    let s = last.since(first).max(0) / 1_000_000;
    match s {
        0 => "under a second".into(),
        1 => "1 second".into(),
        2..=119 => format!("{s} seconds"),
        120..=7199 => format!("{} minutes", s / 60),
        _ => format!("{} hours", s / 3600),
    }
}

/// Seconds between two times, for evidence.
pub fn secs(first: Timestamp, last: Timestamp) -> f64 {
    (last.since(first).max(0) as f64 / 1e6 * 1000.0).round() / 1000.0
}

/// Room [`ascii_lower`] lower-cases into without allocating: the HTTP
/// parser keeps at most 512 bytes of a User-Agent.
pub(crate) const LOWER_ROOM: usize = 512;

/// `s` in ASCII lower case: itself when it holds no upper-case letter,
/// else a copy in `room` when it fits, else an allocated copy. Lets the
/// per-request User-Agent checks run without a heap copy for each
/// `Mozilla/...`.
pub(crate) fn ascii_lower<'a>(s: &'a [u8], room: &'a mut [u8; LOWER_ROOM]) -> Cow<'a, [u8]> {
    if !s.iter().any(u8::is_ascii_uppercase) {
        return Cow::Borrowed(s);
    }
    match room.get_mut(..s.len()) {
        Some(dst) => {
            dst.copy_from_slice(s);
            dst.make_ascii_lowercase();
            Cow::Borrowed(dst)
        }
        None => Cow::Owned(s.to_ascii_lowercase()),
    }
}

/// A one-pass test of whether any of a list of lower-case ASCII needles
/// occurs in a text, ignoring ASCII case: an Aho-Corasick automaton with
/// a SIMD prefilter, built once. It only screens: a text it lets through
/// is searched needle by needle as before (which needle, in list order),
/// so what a check finds is unchanged, while the texts that hold none of
/// the needles (nearly every User-Agent) cost one pass instead of a search
/// per needle.
pub(crate) struct NeedleFilter(Option<aho_corasick::AhoCorasick>);

impl NeedleFilter {
    pub(crate) fn new<'n>(needles: impl IntoIterator<Item = &'n [u8]>) -> Self {
        // The needles are lower case, so "ignoring ASCII case" is the
        // same as searching the text lower-cased. Building cannot fail
        // for a few dozen short needles; if it ever did, every text would
        // be let through to the search.
        NeedleFilter(
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(needles)
                .ok(),
        )
    }

    /// False only when no needle occurs in `text` (any ASCII case).
    pub(crate) fn may_occur(&self, text: &[u8]) -> bool {
        self.0.as_ref().is_none_or(|ac| ac.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_lower_is_to_ascii_lowercase_in_every_case() {
        let long = "X".repeat(LOWER_ROOM + 1);
        for s in [
            "",
            "nikto/2.5",
            "Mozilla/5.0 (Nikto)",
            "ÄÖ Sqlmap/1.7 ÉÈ",
            &long,
        ] {
            let mut room = [0u8; LOWER_ROOM];
            let got = ascii_lower(s.as_bytes(), &mut room);
            assert_eq!(&*got, s.to_ascii_lowercase().as_bytes(), "{s}");
            // No copy for a text already in lower case.
            assert_eq!(
                matches!(got, Cow::Borrowed(b) if b.as_ptr() == s.as_ptr()),
                s == s.to_ascii_lowercase(),
                "{s}"
            );
        }
    }

    /// The filter lets a text through exactly when the lower-cased text
    /// contains a needle: over random texts drawn from the needles' own
    /// letters in both cases (so near misses and overlaps are common), and
    /// over every needle planted in each case mix.
    #[test]
    fn a_needle_filter_passes_exactly_the_texts_holding_a_needle() {
        let needles: [&[u8]; 5] = [
            b"nikto",
            b"nmap scripting engine",
            b"zgrab",
            b"ab",
            b"/nice%20",
        ];
        let filter = NeedleFilter::new(needles);
        let holds = |t: &[u8]| {
            let lower = t.to_ascii_lowercase();
            needles
                .iter()
                .any(|n| lower.windows(n.len()).any(|w| w == *n))
        };
        let alphabet = b"nikNIKtoTOmapMAP sScriptENGINEzgrabZGRAB/%20ice\xc3\xa9";
        let mut x: u64 = 7;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut passed = 0;
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(filter.may_occur(&text), holds(&text), "{text:?}");
            passed += usize::from(holds(&text));
        }
        assert!(passed > 1_000, "too few texts held a needle: {passed}");
        for n in needles {
            for mask in 0..64u32 {
                let mut t = b"Mozilla/5.0 (".to_vec();
                t.extend(n.iter().enumerate().map(|(i, c)| {
                    if mask & (1 << (i % 6)) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        *c
                    }
                }));
                t.extend_from_slice(b")");
                assert!(filter.may_occur(&t), "{t:?}");
                assert!(!filter.may_occur(&t[..12]));
            }
        }
    }
}
