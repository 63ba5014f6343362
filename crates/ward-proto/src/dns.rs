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

use std::cell::RefCell;
use std::hash::BuildHasher as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU64;

use crate::{
    printable, push_printable, About, AppEvent, AppParser, AppProto, Direction, DnsSummary, Hint,
    HintKind,
};

#[cfg(test)]
mod differential;
#[cfg(test)]
mod reference;
mod wire;

use wire::{Layout, Verdict};

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
///
/// foldhash (quality) with one random seed per process: SipHash, with the
/// fixed keys of `DefaultHasher::new`, cost ≈ 350 instructions a hint (≈ 60
/// now) and its values were no less predictable to a sender. The seed is
/// per process, not per thread, because a parser (`Send`) may be fed on
/// another thread than the one that made its seen-list, and a key must mean
/// the same hint there.
pub(crate) fn hint_hash(about: About, kind: HintKind, value: &str) -> NonZeroU64 {
    static SEED: std::sync::OnceLock<foldhash::quality::SeedableRandomState> =
        std::sync::OnceLock::new();
    let h = SEED
        .get_or_init(foldhash::quality::SeedableRandomState::random)
        .hash_one((about, kind, value));
    NonZeroU64::new(h).unwrap_or(NonZeroU64::MIN)
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
        #[cfg(test)]
        if reference::ON.get() {
            return self.message_reference(dir, msg, out);
        }
        let layout = match wire::check(msg) {
            Verdict::Valid(layout) => Some(layout),
            // A record type whose data rules the reader does not replicate
            // (HTTPS, CAA, RRSIG …): simple_dns decides, as it always did.
            Verdict::Unsure(layout) => simple_dns::Packet::parse(msg).is_ok().then_some(layout),
            Verdict::Invalid(_) => None,
        };
        let Some(layout) = layout else {
            out.push(AppEvent::Malformed {
                protocol: self.proto_name(),
                what: "bad-message",
            });
            self.malformed_streak = self.malformed_streak.saturating_add(1);
            return u32::from(self.malformed_streak) < MALFORMED_STREAK_MAX;
        };
        self.malformed_streak = 0;
        SCRATCH.with_borrow_mut(|scratch| self.report(dir, msg, &layout, scratch, out));
        true
    }

    /// The hints and the summary of a message [`wire::check`] accepted.
    fn report(
        &mut self,
        dir: Direction,
        msg: &[u8],
        layout: &Layout,
        s: &mut Scratch,
        out: &mut Vec<AppEvent>,
    ) {
        let questions = usize::from(layout.count[wire::QUESTIONS]);
        let mut queries = Vec::with_capacity(questions.min(NAMES_MAX));
        for q in wire::questions(msg, layout).take(NAMES_MAX) {
            queries.push(name_text(&mut s.owner, msg, q, 255));
        }
        let mut answers = Vec::with_capacity(layout.address_answers.min(NAMES_MAX));
        for rr in wire::records(msg, layout, wire::ANSWERS) {
            if answers.len() == NAMES_MAX {
                break;
            }
            if let Some(ip) = address(msg, &rr) {
                answers.push((name_text(&mut s.owner, msg, rr.owner, 255), ip));
            }
        }
        let summary = DnsSummary {
            id: layout.id,
            response: layout.response,
            rcode: layout.rcode,
            mdns: self.flavor == Flavor::Mdns,
            queries,
            answers,
        };
        // Hints go out before the summary, at most HINTS_PER_MESSAGE_MAX
        // considered per message (empty and repeated ones count too). A
        // hint's text is copied out only when it is new to the flow.
        let flavor = self.flavor;
        let mut budget = HINTS_PER_MESSAGE_MAX;
        let mut hint = |about: About, kind: HintKind, value: &str| {
            if budget == 0 {
                return;
            }
            budget -= 1;
            if value.is_empty() || !self.remember(hint_hash(about, kind, value)) {
                return;
            }
            out.push(AppEvent::Hint(Hint {
                about,
                kind,
                value: value.to_owned(),
            }));
        };
        match flavor {
            Flavor::Dns => {
                if !layout.response && dir == Direction::ToServer {
                    for q in &summary.queries {
                        if interesting_query(q) {
                            hint(About::Initiator, HintKind::DnsQuery, q);
                        }
                    }
                }
            }
            Flavor::Mdns => {
                let sender = dir.sender();
                if layout.response {
                    let records = wire::records(msg, layout, wire::ANSWERS).chain(wire::records(
                        msg,
                        layout,
                        wire::ADDITIONAL,
                    ));
                    for rr in records {
                        mdns_record_hints(msg, &rr, sender, s, &mut hint);
                    }
                } else {
                    // Probes carry the records the sender is about to claim.
                    for rr in wire::records(msg, layout, wire::AUTHORITY) {
                        mdns_record_hints(msg, &rr, sender, s, &mut hint);
                    }
                }
            }
            Flavor::Llmnr => {
                if layout.response {
                    for (name, _) in &summary.answers {
                        hint(dir.sender(), HintKind::Hostname, name);
                    }
                }
            }
        }
        out.push(AppEvent::Dns(summary));
    }
}

/// Text buffers a message's names and hints are written into (a hint is
/// copied out only when it is new to its flow). Per thread, because a
/// parser lives per flow and must stay small: each buffer is cleared before
/// it is written, so nothing passes from one message to the next, and none
/// grows past a few times a name's 255 bytes.
#[derive(Default)]
struct Scratch {
    /// Names, as `wire::write_name` writes them.
    owner: Vec<u8>,
    target: Vec<u8>,
    /// Hint text.
    text: String,
    value: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The address an A or AAAA record with data holds (`simple_dns` reads the
/// first 4 or 16 bytes of longer data).
fn address(msg: &[u8], rr: &wire::Record) -> Option<IpAddr> {
    let data = msg.get(rr.rdata..rr.end)?;
    match rr.rtype {
        1 => {
            let octets: [u8; 4] = data.get(..4)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(octets)))
        }
        28 => {
            let octets: [u8; 16] = data.get(..16)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

/// The name at `pos` (of `msg[..limit]`) as `simple_dns` writes it (see
/// [`wire::write_name`]), in `buf`; and whether it is plain ASCII.
fn name_in<'b>(buf: &'b mut Vec<u8>, msg: &[u8], pos: usize, limit: usize) -> (&'b str, bool) {
    buf.clear();
    let plain = wire::write_name(msg, pos, limit, buf);
    // write_name writes UTF-8: the fallback is never taken.
    (std::str::from_utf8(buf).unwrap_or_default(), plain)
}

/// `printable(the name as simple_dns writes it, max)` for a name outside
/// record data, with one allocation.
fn name_text(buf: &mut Vec<u8>, msg: &[u8], pos: usize, max: usize) -> String {
    let (text, plain) = name_in(buf, msg, pos, msg.len());
    if plain {
        // ASCII: any cut falls between characters.
        return text.get(..text.len().min(max)).unwrap_or(text).to_owned();
    }
    printable(text.as_bytes(), max)
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

/// `_svc._tcp.local` (or `_udp`) from a name that ends in one, else None:
/// the suffix from the next-to-last label starting with `_` on, when the
/// last such label is `_tcp` or `_udp` (any case) and at least one label
/// follows it. Labels are what `split('.')` gives (an escaped dot splits
/// too, as it always did).
fn service_type(name: &str) -> Option<&str> {
    // The label ending at `end`: where it starts.
    let start_of = |end: usize| {
        name.get(..end)
            .and_then(|s| s.rfind('.'))
            .map_or(0, |d| d + 1)
    };
    // From the end: the last label starting with `_` is the protocol.
    let mut end = name.len();
    let mut after = 0usize;
    let proto_start = loop {
        let start = start_of(end);
        if name.get(start..end)?.starts_with('_') {
            break start;
        }
        if start == 0 {
            return None;
        }
        after += 1;
        end = start - 1;
    };
    let proto = name.get(proto_start..end)?;
    // The label before it is the service.
    let service_end = proto_start.checked_sub(1)?;
    let service_start = start_of(service_end);
    let found = after > 0
        && name.get(service_start..service_end)?.starts_with('_')
        && (proto.eq_ignore_ascii_case("_tcp") || proto.eq_ignore_ascii_case("_udp"));
    if found {
        name.get(service_start..)
    } else {
        None
    }
}

/// The host part of `<host>.local` (any case), if it has no `_`.
fn strip_local(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(6)?;
    let (host, suffix) = (name.get(..cut)?, name.get(cut..)?);
    (suffix.eq_ignore_ascii_case(".local") && !host.is_empty() && !host.contains('_'))
        .then_some(host)
}

/// `printable(bytes, max)`, written into `buf`.
fn printable_in<'b>(buf: &'b mut String, bytes: &[u8], max: usize) -> &'b str {
    buf.clear();
    push_printable(buf, bytes, max);
    buf.as_str()
}

fn mdns_record_hints(
    msg: &[u8],
    rr: &wire::Record,
    sender: About,
    s: &mut Scratch,
    hint: &mut impl FnMut(About, HintKind, &str),
) {
    if rr.rdata == rr.end {
        // No data: simple_dns keeps only the type, and no hint reads it.
        return;
    }
    let Scratch {
        owner,
        target,
        text,
        value,
    } = s;
    // The owner's text only for the records that read it (not TXT, nor
    // the many other types an announcement carries).
    match rr.rtype {
        // PTR
        12 => {
            let (owner, _) = name_in(owner, msg, rr.owner, msg.len());
            let (target, _) = name_in(target, msg, rr.rdata, rr.end);
            if owner.eq_ignore_ascii_case("_services._dns-sd._udp.local") {
                if let Some(s) = service_type(target) {
                    hint(sender, HintKind::MdnsService, s);
                }
            } else if let Some(s) = service_type(owner) {
                // Skip sub-type browsing names (`_printer._sub._http._tcp.local`):
                // service_type already returns the base type for those.
                hint(sender, HintKind::MdnsService, s);
            }
        }
        // SRV: priority, weight and port, then the target.
        33 => {
            let (owner, _) = name_in(owner, msg, rr.owner, msg.len());
            if let Some(s) = service_type(owner) {
                hint(sender, HintKind::MdnsService, s);
            }
            let (target, _) = name_in(target, msg, rr.rdata + 6, rr.end);
            if let Some(h) = strip_local(target) {
                let h = printable_in(text, h.as_bytes(), 255);
                hint(sender, HintKind::Hostname, h);
            }
        }
        // TXT: length-prefixed `key=value` strings (checked to tile the data).
        16 => {
            let mut at = rr.rdata;
            while at < rr.end {
                let Some(&len) = msg.get(at) else {
                    break;
                };
                let Some(string) = msg.get(at + 1..at + 1 + usize::from(len)) else {
                    break;
                };
                at += 1 + usize::from(len);
                let mut kv = string.splitn(2, |c| *c == b'=');
                let Some(key) = kv.next().filter(|k| !k.is_empty()) else {
                    continue;
                };
                // The keys are ASCII, so a key that matches one is printable
                // ASCII and comes out of `printable` as it is.
                if !TXT_KEYS
                    .iter()
                    .any(|t| t.as_bytes().eq_ignore_ascii_case(key))
                {
                    continue;
                }
                let value = printable_in(value, kv.next().unwrap_or(&[]), 128).trim();
                if value.is_empty() {
                    continue;
                }
                text.clear();
                push_printable(text, key, 32);
                text.push('=');
                text.push_str(value);
                hint(sender, HintKind::MdnsTxt, text);
            }
        }
        // A, AAAA
        1 | 28 => {
            let (owner, _) = name_in(owner, msg, rr.owner, msg.len());
            if let Some(h) = strip_local(owner) {
                let h = printable_in(text, h.as_bytes(), 255);
                hint(sender, HintKind::Hostname, h);
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
            // The buffer is taken out while its messages are read in place
            // (reading one may remember hints in `more`), then put back.
            let mut buf = std::mem::take(&mut self.more.get_or_insert_with(Box::default).buf[i]);
            let room = (TCP_MSG_MAX + 2).saturating_sub(buf.len());
            let take = rest.len().min(room);
            buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            let mut at = 0;
            let go_on = loop {
                let Some(&[b0, b1]) = buf.get(at..at + 2) else {
                    break true;
                };
                let len = u16::from_be_bytes([b0, b1]) as usize;
                if len > TCP_MSG_MAX {
                    // Zone transfers and the like: not worth reassembling.
                    out.push(AppEvent::Malformed {
                        protocol: self.proto_name(),
                        what: "message-too-long",
                    });
                    break false;
                }
                let Some(msg) = buf.get(at + 2..at + 2 + len) else {
                    break true;
                };
                at += 2 + len;
                if !self.message(dir, msg, out) {
                    break false;
                }
            };
            buf.drain(..at);
            if let Some(more) = self.more.as_mut() {
                more.buf[i] = buf;
            }
            if !go_on {
                return false;
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
        rdata::{RData, A, PTR, SRV, TXT},
        Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, QCLASS, QTYPE, TYPE,
    };

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
        assert_eq!(service_type("x._hap._tcp.local"), Some("_hap._tcp.local"));
        assert_eq!(
            service_type("_printer._sub._http._tcp.local"),
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
