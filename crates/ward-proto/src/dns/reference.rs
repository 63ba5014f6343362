//! The DNS parser's message path as it was before the in-place reader
//! (`wire`): `simple_dns::Packet::parse`, a `Vec` per name, owned text for
//! every hint considered. Kept, for tests only, as the reference the new
//! path is compared with (same events, same order, on real captures and
//! mutated messages): `super::tests` and `super::differential`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simple_dns::{rdata::RData, Name, Packet, ResourceRecord};

use super::{
    hint_hash, interesting_query, DnsParser, Flavor, HINTS_PER_MESSAGE_MAX, MALFORMED_STREAK_MAX,
    NAMES_MAX, TXT_KEYS,
};
use crate::{printable, About, AppEvent, Direction, DnsSummary, Hint, HintKind};

thread_local! {
    /// Set by a test: the parser's messages take this path.
    pub(super) static ON: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl DnsParser {
    /// One whole DNS message, as the parser read it before `wire`
    /// (through `simple_dns::Packet`); false when the parser gives up.
    pub(super) fn message_reference(
        &mut self,
        dir: Direction,
        msg: &[u8],
        out: &mut Vec<AppEvent>,
    ) -> bool {
        let packet = match Packet::parse(msg) {
            Ok(p) => p,
            Err(_) => {
                out.push(AppEvent::Malformed {
                    protocol: self.proto_name(),
                    what: "bad-message",
                });
                self.malformed_streak = self.malformed_streak.saturating_add(1);
                return u32::from(self.malformed_streak) < MALFORMED_STREAK_MAX;
            }
        };
        self.malformed_streak = 0;
        // Header fields straight from the wire: the packet parsed, so 12 bytes exist.
        let response = msg.get(2).is_some_and(|b| b & 0x80 != 0);
        let rcode = msg.get(3).map_or(0, |b| b & 0x0f);
        let summary = DnsSummary {
            id: packet.id(),
            response,
            rcode,
            mdns: self.flavor == Flavor::Mdns,
            queries: packet
                .questions
                .iter()
                .take(NAMES_MAX)
                .map(|q| name_text(&q.qname, 255))
                .collect(),
            answers: packet
                .answers
                .iter()
                .filter_map(address_record)
                .take(NAMES_MAX)
                .collect(),
        };
        // Hints go out before the summary, at most HINTS_PER_MESSAGE_MAX
        // considered per message (empty and repeated ones count too).
        let flavor = self.flavor;
        let mut budget = HINTS_PER_MESSAGE_MAX;
        let mut hint = |about: About, kind: HintKind, value: String| {
            if budget == 0 {
                return;
            }
            budget -= 1;
            if value.is_empty() || !self.remember(hint_hash(about, kind, &value)) {
                return;
            }
            out.push(AppEvent::Hint(Hint { about, kind, value }));
        };
        match flavor {
            Flavor::Dns => {
                if !response && dir == Direction::ToServer {
                    for q in &summary.queries {
                        if interesting_query(q) {
                            hint(About::Initiator, HintKind::DnsQuery, q.clone());
                        }
                    }
                }
            }
            Flavor::Mdns => {
                let sender = dir.sender();
                if response {
                    for rr in packet.answers.iter().chain(&packet.additional_records) {
                        mdns_record_hints(rr, sender, &mut hint);
                    }
                } else {
                    // Probes carry the records the sender is about to claim.
                    for rr in &packet.name_servers {
                        mdns_record_hints(rr, sender, &mut hint);
                    }
                }
            }
            Flavor::Llmnr => {
                if response {
                    for (name, _) in &summary.answers {
                        hint(dir.sender(), HintKind::Hostname, name.clone());
                    }
                }
            }
        }
        out.push(AppEvent::Dns(summary));
        true
    }
}

fn address_record(rr: &ResourceRecord<'_>) -> Option<(String, IpAddr)> {
    let ip = match &rr.rdata {
        RData::A(a) => IpAddr::V4(Ipv4Addr::from(a.address)),
        RData::AAAA(a) => IpAddr::V6(Ipv6Addr::from(a.address)),
        _ => return None,
    };
    Some((name_text(&rr.name, 255), ip))
}

/// A name as `Name`'s `Display` writes it (labels joined by dots, a dot or
/// backslash inside a label escaped, invalid UTF-8 replaced).
fn name_string(name: &Name<'_>) -> String {
    if !is_plain(name) {
        return name.to_string();
    }
    let mut s = String::with_capacity(name.as_bytes().map(|l| l.len() + 1).sum());
    push_plain_labels(&mut s, name, usize::MAX);
    s
}

/// `printable(name_string(name), max)`, without the formatter and the
/// second copy for the names nearly all traffic carries.
fn name_text(name: &Name<'_>, max: usize) -> String {
    if !is_plain(name) {
        return printable(name.to_string().as_bytes(), max);
    }
    let mut s = String::with_capacity(max.min(name.as_bytes().map(|l| l.len() + 1).sum()));
    push_plain_labels(&mut s, name, max);
    s
}

/// Every label is printable ASCII without a dot or backslash: `Display`
/// then writes the bytes as they are, and `printable` keeps them.
fn is_plain(name: &Name<'_>) -> bool {
    name.as_bytes().all(|l| {
        l.iter()
            .all(|b| (0x20..0x7f).contains(b) && *b != b'.' && *b != b'\\')
    })
}

/// The labels of a plain name joined by dots, cut at `max` bytes.
fn push_plain_labels(s: &mut String, name: &Name<'_>, max: usize) {
    for (n, label) in name.as_bytes().enumerate() {
        if n > 0 {
            s.push('.');
        }
        // Plain labels are ASCII, so this never fails.
        if let Ok(text) = std::str::from_utf8(label) {
            s.push_str(text);
        }
        if s.len() >= max {
            s.truncate(max);
            return;
        }
    }
}

/// `_svc._tcp.local` (or `_udp`) from a name that ends in one, else None.
pub(super) fn service_type(name: &str) -> Option<String> {
    let labels: Vec<&str> = name.split('.').collect();
    let n = labels.len();
    for i in 0..n.saturating_sub(2) {
        let proto = labels[i + 1].to_ascii_lowercase();
        if labels[i].starts_with('_')
            && (proto == "_tcp" || proto == "_udp")
            && labels[i + 2..].iter().all(|l| !l.starts_with('_'))
        {
            return Some(labels[i..].join("."));
        }
    }
    None
}

pub(super) fn strip_local(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let host = lower
        .strip_suffix(".local")
        .map(|_| &name[..name.len() - 6])?;
    (!host.is_empty() && !host.contains('_')).then(|| host.to_string())
}

fn mdns_record_hints(
    rr: &ResourceRecord<'_>,
    sender: About,
    hint: &mut impl FnMut(About, HintKind, String),
) {
    // The owner's text only for the records that read it (not TXT, nor
    // the many other types an announcement carries).
    let owner = || name_string(&rr.name);
    match &rr.rdata {
        RData::PTR(target) => {
            let owner = owner();
            let target = name_string(&target.0);
            if owner.eq_ignore_ascii_case("_services._dns-sd._udp.local") {
                if let Some(s) = service_type(&target) {
                    hint(sender, HintKind::MdnsService, s);
                }
            } else if let Some(s) = service_type(&owner) {
                // Skip sub-type browsing names (`_printer._sub._http._tcp.local`):
                // service_type already returns the base type for those.
                hint(sender, HintKind::MdnsService, s);
            }
        }
        RData::SRV(srv) => {
            if let Some(s) = service_type(&owner()) {
                hint(sender, HintKind::MdnsService, s);
            }
            if let Some(h) = strip_local(&name_string(&srv.target)) {
                hint(sender, HintKind::Hostname, printable(h.as_bytes(), 255));
            }
        }
        RData::TXT(txt) => {
            for (k, v) in txt.iter_raw() {
                let key = String::from_utf8_lossy(k);
                if TXT_KEYS.iter().any(|t| t.eq_ignore_ascii_case(&key)) {
                    let value = printable(v.unwrap_or(&[]), 128);
                    if !value.trim().is_empty() {
                        hint(
                            sender,
                            HintKind::MdnsTxt,
                            format!("{}={}", printable(k, 32), value.trim()),
                        );
                    }
                }
            }
        }
        RData::A(_) | RData::AAAA(_) => {
            if let Some(h) = strip_local(&owner()) {
                hint(sender, HintKind::Hostname, printable(h.as_bytes(), 255));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The shortcut for plain names writes exactly what `Display` and
        /// `printable` write, wherever the cut falls.
        #[test]
        fn name_text_is_printable_display(
            labels in proptest::collection::vec(
                proptest::collection::vec(proptest::prop_oneof![
                    8 => 0x61u8..0x7b,
                    1 => proptest::prelude::any::<u8>(),
                    1 => proptest::sample::select(vec![b'.', b'\\', b' ', 0x7f, 0xc3, 0xa9]),
                ], 0..20),
                0..8,
            ),
            max in 0usize..80,
        ) {
            let labels: Vec<_> = labels
                .iter()
                .map(|l| simple_dns::Label::new_unchecked(l.as_slice()))
                .collect();
            let name = Name::new_with_labels(&labels);
            proptest::prop_assert_eq!(name_string(&name), name.to_string());
            proptest::prop_assert_eq!(
                name_text(&name, max),
                printable(name.to_string().as_bytes(), max)
            );
        }
    }
}
