//! DNS, mDNS and LLMNR (simple-dns).
//!
//! Every message that parses becomes an [`AppEvent::Dns`] summary (at most
//! [`NAMES_MAX`] questions and answers kept). Identity hints:
//! - unicast DNS queries: [`HintKind::DnsQuery`] about the initiator for each
//!   question name, skipping reverse lookups (`*.arpa`) and DNS-SD browsing
//!   (`_…` service labels, `*.local`), which say little about the device;
//! - mDNS responses and announcements (and the authority section of probes),
//!   about the *sender*: [`HintKind::MdnsService`] for DNS-SD service types,
//!   [`HintKind::MdnsTxt`] `key=value` for TXT keys that name a model or vendor,
//!   [`HintKind::Hostname`] from A/AAAA owners and SRV targets in `.local`;
//! - LLMNR responses: [`HintKind::Hostname`] from the A/AAAA owner (the
//!   responder answers for its own name).
//!
//! Hints are de-duplicated per flow in a bounded list. Over TCP (port 53)
//! messages carry a two-byte length prefix (RFC 1035 §4.2.2) and are
//! reassembled up to [`TCP_MSG_MAX`]. Unparseable messages are reported as
//! [`AppEvent::Malformed`]; after [`MALFORMED_STREAK_MAX`] of them in a row
//! the parser gives up on the flow.

use std::hash::{Hash as _, Hasher as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU64;

use simple_dns::{rdata::RData, Name, Packet, ResourceRecord};

use crate::{
    printable, About, AppEvent, AppParser, AppProto, Direction, DnsSummary, Hint, HintKind,
};

/// Questions and A/AAAA answers kept in one summary.
pub const NAMES_MAX: usize = 32;
/// Largest DNS-over-TCP message reassembled.
pub const TCP_MSG_MAX: usize = 16 * 1024;
/// Consecutive unparseable messages before the parser gives up.
pub const MALFORMED_STREAK_MAX: u32 = 8;
/// Hints remembered per flow for de-duplication.
const SEEN_MAX: usize = 256;
/// Hints emitted per message, so one crafted message cannot flood the engine.
const HINTS_PER_MESSAGE_MAX: usize = 64;

/// TXT keys (DNS-SD, compared case-insensitively) whose values name a model,
/// vendor or product: AirPlay/HomeKit `md`/`am`/`model`, IPP/printers `ty`,
/// `usb_MFG`/`usb_MDL`/`product`, Google Cast `md`/`fn`, Sonos/others
/// `manufacturer`/`mfg`/`vendor` …
const TXT_KEYS: [&str; 18] = [
    // Google Cast `ca` (capability bits: video out, audio out …) and
    // HomeKit `ci` (accessory category) say what kind of device it is.
    "ca",
    "ci",
    "md",
    "model",
    "mdl",
    "ty",
    "usb_mdl",
    "usb_mfg",
    "manufacturer",
    "mfg",
    "fn",
    "product",
    "vendor",
    "am",
    "rpmd",
    "modelname",
    "modelid",
    "manufacturer_name",
];

/// Which flavour of the protocol a flow carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Dns,
    Mdns,
    Llmnr,
}

/// DNS/mDNS/LLMNR parser for one flow.
///
/// A UDP flow lives for its whole idle timeout and most report one or two
/// hints, so the state is kept small: the first seen-hint is an inline hash,
/// and the rest of the seen-list and the TCP reassembly buffers are boxed
/// only once a flow needs them (a second distinct hint, a TCP message split
/// across segments). An idle parser is 24 bytes.
#[derive(Debug)]
pub struct DnsParser {
    /// Hash of the first hint reported (see [`hint_hash`]), oldest first with `more.seen`.
    seen_first: Option<NonZeroU64>,
    more: Option<Box<More>>,
    flavor: Flavor,
    tcp: bool,
    /// At most [`MALFORMED_STREAK_MAX`].
    malformed_streak: u8,
}

/// Per-flow state most flows never need.
#[derive(Debug, Default)]
struct More {
    /// Hashes of the hints after `seen_first`, oldest first.
    seen: Vec<u64>,
    /// TCP reassembly, per direction.
    buf: [Vec<u8>; 2],
}

impl More {
    fn is_empty(&self) -> bool {
        self.seen.is_empty() && self.buf.iter().all(Vec::is_empty)
    }
}

/// De-duplication key of a hint. The seen-list keeps 64-bit hashes instead
/// of the hints themselves (32 bytes and a `String` each); a collision can
/// only hide a repeat-looking hint of the same flow, whose sender could as
/// well not have sent it.
pub(crate) fn hint_hash(about: About, kind: HintKind, value: &str) -> NonZeroU64 {
    let mut h = std::hash::DefaultHasher::new();
    (about, kind, value).hash(&mut h);
    NonZeroU64::new(h.finish()).unwrap_or(NonZeroU64::MIN)
}

impl DnsParser {
    pub fn new(flavor: Flavor, tcp: bool) -> Self {
        DnsParser {
            seen_first: None,
            more: None,
            flavor,
            tcp,
            malformed_streak: 0,
        }
    }

    /// Remember a hint; false if it was reported on this flow already.
    /// Keeps at most [`SEEN_MAX`], forgetting the oldest first.
    fn remember(&mut self, key: NonZeroU64) -> bool {
        let Some(first) = self.seen_first else {
            self.seen_first = Some(key);
            return true;
        };
        if first == key {
            return false;
        }
        let more = self.more.get_or_insert_with(Box::default);
        if more.seen.contains(&key.get()) {
            return false;
        }
        if 1 + more.seen.len() >= SEEN_MAX {
            // Forget the oldest: the inline one, which the next takes over.
            self.seen_first = NonZeroU64::new(more.seen.remove(0));
        }
        if more.seen.len() == more.seen.capacity() {
            // Grow from one slot: most flows that get here remember one or
            // two more hints, and a first push would reserve four.
            more.seen.reserve_exact(more.seen.len().max(1));
        }
        more.seen.push(key.get());
        true
    }

    fn proto_name(&self) -> &'static str {
        match self.flavor {
            Flavor::Dns => "dns",
            Flavor::Mdns => "mdns",
            Flavor::Llmnr => "llmnr",
        }
    }

    /// One whole DNS message; false when the parser gives up.
    fn message(&mut self, dir: Direction, msg: &[u8], out: &mut Vec<AppEvent>) -> bool {
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

fn interesting_query(q: &str) -> bool {
    !(q.is_empty()
        || ends_with_ignore_case(q, ".arpa")
        || ends_with_ignore_case(q, ".local")
        || q.split('.').any(|label| label.starts_with('_')))
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
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
fn service_type(name: &str) -> Option<String> {
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

fn strip_local(name: &str) -> Option<String> {
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

impl AppParser for DnsParser {
    fn protocol(&self) -> AppProto {
        match self.flavor {
            Flavor::Dns => AppProto::Dns,
            Flavor::Mdns => AppProto::Mdns,
            Flavor::Llmnr => AppProto::Llmnr,
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        if !self.tcp {
            return self.message(dir, data, out);
        }
        let i = usize::from(dir == Direction::ToClient);
        let go_on = self.feed_tcp(i, dir, data, out);
        if self.more.as_ref().is_some_and(|m| m.is_empty()) {
            self.more = None;
        }
        go_on
    }
}

impl DnsParser {
    /// DNS over TCP: length-prefixed messages reassembled in `more.buf[i]`.
    fn feed_tcp(&mut self, i: usize, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let mut rest = data;
        // Append in pieces that fit the buffer, decoding between pieces, so a
        // chunk carrying many messages never overflows it.
        loop {
            let buf = &mut self.more.get_or_insert_with(Box::default).buf[i];
            let room = (TCP_MSG_MAX + 2).saturating_sub(buf.len());
            let take = rest.len().min(room);
            buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            while let Some(buf) = self.more.as_mut().map(|m| &mut m.buf[i]) {
                let [b0, b1, ..] = buf[..] else {
                    break;
                };
                let len = u16::from_be_bytes([b0, b1]) as usize;
                if len > TCP_MSG_MAX {
                    // Zone transfers and the like: not worth reassembling.
                    out.push(AppEvent::Malformed {
                        protocol: self.proto_name(),
                        what: "message-too-long",
                    });
                    return false;
                }
                if buf.len() < 2 + len {
                    break;
                }
                let msg: Vec<u8> = buf.drain(..2 + len).skip(2).collect();
                if !self.message(dir, &msg, out) {
                    return false;
                }
            }
            if rest.is_empty() {
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::{
        rdata::{A, PTR, SRV, TXT},
        Name, PacketFlag, Question, CLASS, QCLASS, QTYPE, TYPE,
    };

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

    fn hints(ev: &[AppEvent], kind: HintKind) -> Vec<String> {
        ev.iter()
            .filter_map(|e| match e {
                AppEvent::Hint(h) if h.kind == kind => Some(h.value.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn unicast_query_hint_skips_arpa_and_sd() {
        let mut pkt = Packet::new_query(0x1234);
        for n in [
            "time.apple.com",
            "4.3.2.1.in-addr.arpa",
            "_http._tcp.example.com",
        ] {
            pkt.questions.push(Question::new(
                Name::new_unchecked(n),
                QTYPE::TYPE(TYPE::A),
                QCLASS::CLASS(CLASS::IN),
                false,
            ));
        }
        let bytes = pkt.build_bytes_vec().unwrap();
        let mut p = DnsParser::new(Flavor::Dns, false);
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &bytes, &mut ev));
        assert_eq!(hints(&ev, HintKind::DnsQuery), vec!["time.apple.com"]);
        let AppEvent::Dns(s) = ev.last().unwrap() else {
            panic!()
        };
        assert_eq!(s.id, 0x1234);
        assert_eq!(s.queries.len(), 3);
        assert!(!s.response);
    }

    fn query(id: u16, name: &str) -> Vec<u8> {
        let mut pkt = Packet::new_query(id);
        pkt.questions.push(Question::new(
            Name::new_unchecked(name),
            QTYPE::TYPE(TYPE::A),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        pkt.build_bytes_vec().unwrap()
    }

    #[test]
    fn idle_parser_is_small() {
        assert!(std::mem::size_of::<DnsParser>() <= 24);
        // One hint: nothing boxed.
        let mut p = DnsParser::new(Flavor::Dns, false);
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &query(1, "time.apple.com"), &mut ev));
        assert!(p.feed(Direction::ToServer, &query(2, "time.apple.com"), &mut ev));
        assert!(p.more.is_none());
        assert_eq!(hints(&ev, HintKind::DnsQuery), vec!["time.apple.com"]);
    }

    #[test]
    fn seen_list_forgets_oldest_first() {
        let mut p = DnsParser::new(Flavor::Dns, false);
        let mut ev = Vec::new();
        // SEEN_MAX distinct names fill the list; one more forgets name 0 only.
        for i in 0..=SEEN_MAX {
            assert!(p.feed(
                Direction::ToServer,
                &query(1, &format!("h{i}.example")),
                &mut ev
            ));
        }
        assert_eq!(hints(&ev, HintKind::DnsQuery).len(), SEEN_MAX + 1);
        ev.clear();
        assert!(p.feed(Direction::ToServer, &query(1, "h1.example"), &mut ev));
        assert!(
            hints(&ev, HintKind::DnsQuery).is_empty(),
            "h1 still remembered"
        );
        assert!(p.feed(Direction::ToServer, &query(1, "h0.example"), &mut ev));
        assert_eq!(hints(&ev, HintKind::DnsQuery), vec!["h0.example"]);
        // Remembering h0 again forgot h1, the oldest then.
        ev.clear();
        assert!(p.feed(Direction::ToServer, &query(1, "h1.example"), &mut ev));
        assert_eq!(hints(&ev, HintKind::DnsQuery), vec!["h1.example"]);
    }

    #[test]
    fn dns_over_tcp_split() {
        let mut pkt = Packet::new_query(7);
        pkt.questions.push(Question::new(
            Name::new_unchecked("example.org"),
            QTYPE::TYPE(TYPE::AAAA),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        let msg = pkt.build_bytes_vec().unwrap();
        let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&msg);
        framed.extend_from_slice(&framed.clone());
        let mut p = DnsParser::new(Flavor::Dns, true);
        let mut ev = Vec::new();
        for c in framed.chunks(5) {
            assert!(p.feed(Direction::ToServer, c, &mut ev));
        }
        let n = ev.iter().filter(|e| matches!(e, AppEvent::Dns(_))).count();
        assert_eq!(n, 2);
    }

    #[test]
    fn many_tcp_messages_in_one_large_chunk() {
        let mut pkt = Packet::new_query(9);
        pkt.questions.push(Question::new(
            Name::new_unchecked("a-rather-long-label-to-fill-space.example.net"),
            QTYPE::TYPE(TYPE::A),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        let msg = pkt.build_bytes_vec().unwrap();
        let mut framed = Vec::new();
        let n = 2 * TCP_MSG_MAX / msg.len() + 3;
        for _ in 0..n {
            framed.extend_from_slice(&(msg.len() as u16).to_be_bytes());
            framed.extend_from_slice(&msg);
        }
        let mut p = DnsParser::new(Flavor::Dns, true);
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &framed, &mut ev));
        let got = ev.iter().filter(|e| matches!(e, AppEvent::Dns(_))).count();
        assert_eq!(got, n);
    }

    #[test]
    fn mdns_announcement_hints_about_sender() {
        let mut pkt = Packet::new_reply(0);
        pkt.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
        let svc = Name::new_unchecked("_airplay._tcp.local");
        let inst = Name::new_unchecked("Kitchen._airplay._tcp.local");
        let host = Name::new_unchecked("Kitchen-Speaker.local");
        pkt.answers.push(ResourceRecord::new(
            svc,
            CLASS::IN,
            120,
            RData::PTR(PTR(inst.clone())),
        ));
        pkt.answers.push(ResourceRecord::new(
            inst.clone(),
            CLASS::IN,
            120,
            RData::SRV(SRV {
                priority: 0,
                weight: 0,
                port: 7000,
                target: host.clone(),
            }),
        ));
        let txt = TXT::new()
            .with_string("model=AudioAccessory5,1")
            .unwrap()
            .with_string("deviceid=00:11:22:33:44:55")
            .unwrap()
            .with_string("manufacturer=Apple Inc.")
            .unwrap();
        pkt.answers
            .push(ResourceRecord::new(inst, CLASS::IN, 120, RData::TXT(txt)));
        pkt.additional_records.push(ResourceRecord::new(
            host,
            CLASS::IN,
            120,
            RData::A(A {
                address: 0xc0a8_0105,
            }),
        ));
        let bytes = pkt.build_bytes_vec().unwrap();
        let mut p = DnsParser::new(Flavor::Mdns, false);
        let mut ev = Vec::new();
        // An unsolicited announcement is the first datagram of its flow: sender = initiator.
        assert!(p.feed(Direction::ToServer, &bytes, &mut ev));
        assert_eq!(
            hints(&ev, HintKind::MdnsService),
            vec!["_airplay._tcp.local"]
        );
        assert_eq!(hints(&ev, HintKind::Hostname), vec!["Kitchen-Speaker"]);
        assert_eq!(
            hints(&ev, HintKind::MdnsTxt),
            vec!["model=AudioAccessory5,1", "manufacturer=Apple Inc."]
        );
        assert!(ev
            .iter()
            .all(|e| !matches!(e, AppEvent::Hint(h) if h.about != About::Initiator)));
        // The same announcement again adds no hints.
        let before = ev.len();
        p.feed(Direction::ToServer, &bytes, &mut ev);
        assert_eq!(ev.len(), before + 1);
    }

    #[test]
    fn service_type_extraction() {
        assert_eq!(
            service_type("x._hap._tcp.local").as_deref(),
            Some("_hap._tcp.local")
        );
        assert_eq!(
            service_type("_printer._sub._http._tcp.local").as_deref(),
            Some("_http._tcp.local")
        );
        assert_eq!(service_type("host.local"), None);
    }

    #[test]
    fn garbage_gives_up_after_streak() {
        let mut p = DnsParser::new(Flavor::Dns, false);
        let mut ev = Vec::new();
        let mut alive = true;
        for _ in 0..MALFORMED_STREAK_MAX {
            alive = p.feed(Direction::ToServer, b"\x01\x02\x03", &mut ev);
        }
        assert!(!alive);
        assert_eq!(ev.len() as u32, MALFORMED_STREAK_MAX);
    }
}
