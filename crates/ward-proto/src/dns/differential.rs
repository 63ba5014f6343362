//! The in-place message path against the reference (`simple_dns`, as the
//! parser read messages before): the same events in the same order, and the
//! same "give up" answers, on
//! - every DNS, mDNS and LLMNR payload of the real captures in
//!   `$WARD_DATASETS` (skipped, saying so, when unset), flow by flow so
//!   that the per-flow hint memory is exercised as in the engine;
//! - messages built in code (queries, answers, mDNS announcements and probes,
//!   LLMNR, every record type the reader checks and a few it leaves to
//!   `simple_dns`, odd bytes in names and TXT strings) and every one-byte
//!   change and every truncation of them, plus random runs of changes:
//!   pointer loops and forward pointers, huge counts, lengths past the end.
//!
//! The one difference allowed is the reader's own limit: a name needing more
//! than `wire::MAX_JUMPS` compression pointers is malformed for it and may
//! parse for `simple_dns`. Such inputs are counted, and none may occur in
//! real captures.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use simple_dns::rdata::{RData, A, AAAA, CNAME, HINFO, MX, NSEC, NULL, OPT, PTR, SOA, SRV, TXT};
use simple_dns::{
    CharacterString, Label, Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, QCLASS,
    QTYPE, TYPE,
};

use super::wire::{self, Bad, Verdict};
use super::{reference, DnsParser, Flavor};
use crate::{AppParser, Direction};

#[path = "../../tests/common/mod.rs"]
mod common;

/// Counts of what a comparison saw, so a test can check it compared
/// something.
#[derive(Debug, Default)]
struct Seen {
    messages: usize,
    events: usize,
    valid: usize,
    unsure: usize,
    invalid: usize,
    too_many_jumps: usize,
}

/// A parser pair fed the same chunks: the new path and the reference.
struct Pair {
    new: DnsParser,
    old: DnsParser,
    done: bool,
}

impl Pair {
    fn new(flavor: Flavor, tcp: bool) -> Self {
        Pair {
            new: DnsParser::new(flavor, tcp),
            old: DnsParser::new(flavor, tcp),
            done: false,
        }
    }

    /// Feed one chunk to both; panics with the chunk if they disagree.
    fn feed(&mut self, dir: Direction, chunk: &[u8], seen: &mut Seen) {
        if self.done {
            return;
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let go_a = self.new.feed(dir, chunk, &mut a);
        let go_b = reference::ON.with(|on| {
            on.set(true);
            let go = self.old.feed(dir, chunk, &mut b);
            on.set(false);
            go
        });
        assert_eq!(a, b, "events differ for {dir:?} {chunk:02x?}");
        assert_eq!(go_a, go_b, "give-up differs for {chunk:02x?}");
        seen.events += a.len();
        self.done = !go_a;
    }
}

/// What the reader says of one message, checked against `simple_dns`.
fn verdict(msg: &[u8], seen: &mut Seen) -> bool {
    seen.messages += 1;
    let parses = Packet::parse(msg).is_ok();
    match wire::check(msg) {
        Verdict::Valid(_) => {
            assert!(parses, "reader accepts what simple_dns refuses: {msg:02x?}");
            seen.valid += 1;
        }
        Verdict::Invalid(Bad::Malformed) => {
            assert!(
                !parses,
                "reader refuses what simple_dns accepts: {msg:02x?}"
            );
            seen.invalid += 1;
        }
        Verdict::Invalid(Bad::TooManyJumps) => {
            seen.too_many_jumps += 1;
            return false;
        }
        Verdict::Unsure(_) => seen.unsure += 1,
    }
    true
}

/// Compare one message in every flavor and direction, fresh parsers each.
fn compare_message(msg: &[u8], seen: &mut Seen) {
    if !verdict(msg, seen) {
        return;
    }
    for flavor in [Flavor::Dns, Flavor::Mdns, Flavor::Llmnr] {
        for dir in [Direction::ToServer, Direction::ToClient] {
            Pair::new(flavor, false).feed(dir, msg, seen);
        }
    }
}

#[test]
fn real_captures_give_the_same_events() {
    let Some(root) = common::dataset("") else {
        return;
    };
    let mut files = Vec::new();
    captures(&root, &mut files);
    let mut seen = Seen::default();
    let mut flows = std::collections::HashMap::new();
    for path in &files {
        flows.clear();
        for p in common::payloads(path) {
            let (key, dir, new) = common::flow_of(&flows, &p);
            if new {
                let pair =
                    crate::detect(p.transport, key.1, key.3, &p.data, dir).and_then(|parser| {
                        let tcp = p.transport == crate::Transport::Tcp;
                        match parser.protocol() {
                            crate::AppProto::Dns => Some(Pair::new(Flavor::Dns, tcp)),
                            crate::AppProto::Mdns => Some(Pair::new(Flavor::Mdns, tcp)),
                            crate::AppProto::Llmnr => Some(Pair::new(Flavor::Llmnr, tcp)),
                            _ => None,
                        }
                    });
                flows.insert(key, pair);
            }
            if let Some(Some(pair)) = flows.get_mut(&key) {
                if p.transport == crate::Transport::Udp {
                    verdict(&p.data, &mut seen);
                }
                pair.feed(dir, &p.data, &mut seen);
            }
        }
    }
    eprintln!("{} captures: {seen:?}", files.len());
    assert_eq!(seen.too_many_jumps, 0);
    // The shared captures hold thousands of DNS and mDNS messages.
    assert!(seen.valid > 1000 && seen.events > 1000, "{seen:?}");
}

fn captures(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
        {
            out.push(p);
        }
    }
}

fn name(s: &str) -> Name<'_> {
    Name::new_unchecked(s)
}

fn rr<'a>(owner: Name<'a>, ttl: u32, rdata: RData<'a>) -> ResourceRecord<'a> {
    ResourceRecord::new(owner, CLASS::IN, ttl, rdata)
}

fn question(n: &str, t: TYPE) -> Question<'_> {
    Question::new(name(n), QTYPE::TYPE(t), QCLASS::CLASS(CLASS::IN), false)
}

/// Messages of every shape the parser reads, built with `simple_dns`.
fn messages() -> Vec<Vec<u8>> {
    let odd = [
        Label::new_unchecked(&b"we.ird\\"[..]),
        Label::new_unchecked(&b"caf\xc3\xa9 \x01\xff"[..]),
        Label::new_unchecked(&b"_hap"[..]),
        Label::new_unchecked(&b"_TCP"[..]),
        Label::new_unchecked(&b"local"[..]),
    ];
    let long_label = "a".repeat(63);
    let long_name = format!("{long_label}.{long_label}.{long_label}.b123456789012345678.local");
    let mut out = Vec::new();
    let mut push = |p: &Packet<'_>| {
        out.push(p.build_bytes_vec_compressed().unwrap());
        out.push(p.build_bytes_vec().unwrap());
    };

    let mut q = Packet::new_query(0x1234);
    q.set_flags(PacketFlag::RECURSION_DESIRED);
    q.questions.push(question("time.apple.com", TYPE::A));
    q.questions
        .push(question("4.3.2.1.in-addr.arpa", TYPE::PTR));
    q.questions
        .push(question("_http._tcp.example.com", TYPE::SRV));
    *q.opt_mut() = Some(OPT {
        opt_codes: vec![simple_dns::rdata::OPTCode {
            code: 10,
            data: Cow::Borrowed(&[1, 2, 3, 4, 5, 6, 7, 8]),
        }],
        udp_packet_size: 1232,
        version: 0,
    });
    push(&q);

    let mut r = Packet::new_reply(0x1234);
    r.set_flags(PacketFlag::RECURSION_AVAILABLE);
    r.questions.push(question("www.example.com", TYPE::AAAA));
    r.answers.push(rr(
        name("www.example.com"),
        300,
        RData::CNAME(CNAME(name("edge.example.net"))),
    ));
    r.answers.push(rr(
        name("edge.example.net"),
        300,
        RData::A(A::from(Ipv4Addr::new(192, 0, 2, 7))),
    ));
    r.answers.push(rr(
        name("edge.example.net"),
        300,
        RData::AAAA(AAAA::from(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7))),
    ));
    r.answers.push(rr(
        name("edge.example.net"),
        300,
        RData::MX(MX {
            preference: 10,
            exchange: name("mail.example.net"),
        }),
    ));
    r.answers.push(rr(
        name("edge.example.net"),
        300,
        RData::HINFO(HINFO {
            cpu: CharacterString::new(b"ARM").unwrap(),
            os: CharacterString::new(b"Linux").unwrap(),
        }),
    ));
    r.answers.push(rr(
        name("edge.example.net"),
        300,
        RData::NULL(99, NULL::new(b"opaque").unwrap()),
    ));
    r.name_servers.push(rr(
        name("example.net"),
        300,
        RData::SOA(SOA {
            mname: name("ns1.example.net"),
            rname: name("hostmaster.example.net"),
            serial: 1,
            refresh: 2,
            retry: 3,
            expire: 4,
            minimum: 5,
        }),
    ));
    push(&r);

    // Types whose data rules the reader leaves to simple_dns (HTTPS, CAA),
    // one well formed and one not.
    let mut u = Packet::new_reply(7);
    u.questions.push(question("svc.example.com", TYPE::HTTPS));
    let https = [0u8, 1, 0, 0, 1, 0, 3, 2, b'h', b'2'];
    u.answers.push(rr(
        name("svc.example.com"),
        60,
        RData::NULL(65, NULL::new(&https).unwrap()),
    ));
    u.answers.push(rr(
        name("svc.example.com"),
        60,
        RData::NULL(257, NULL::new(b"\x00\x05issueca.example").unwrap()),
    ));
    u.answers.push(rr(
        name("svc.example.com"),
        60,
        RData::A(A::from(Ipv4Addr::new(198, 51, 100, 1))),
    ));
    push(&u);
    u.answers[0] = rr(
        name("svc.example.com"),
        60,
        RData::NULL(65, NULL::new(&https[..5]).unwrap()),
    );
    push(&u);

    let mut m = Packet::new_reply(0);
    m.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
    let inst = Name::new_with_labels(&[
        Label::new_unchecked(&b"Living Room"[..]),
        Label::new_unchecked(&b"_airplay"[..]),
        Label::new_unchecked(&b"_tcp"[..]),
        Label::new_unchecked(&b"local"[..]),
    ]);
    m.answers.push(rr(
        name("_airplay._tcp.local"),
        4500,
        RData::PTR(PTR(inst.clone())),
    ));
    m.answers.push(rr(
        name("_services._dns-sd._udp.local"),
        4500,
        RData::PTR(PTR(name("_airplay._tcp.local"))),
    ));
    m.answers.push(rr(
        name("_printer._sub._http._tcp.local"),
        4500,
        RData::PTR(PTR(name("x._http._tcp.local"))),
    ));
    m.answers.push(rr(
        inst.clone(),
        120,
        RData::SRV(SRV {
            priority: 0,
            weight: 0,
            port: 7000,
            target: name("Living-Room.local"),
        }),
    ));
    let txt = TXT::new()
        .with_string("md=AppleTV6,2")
        .unwrap()
        .with_string("MODEL= Speaker \u{a0}")
        .unwrap()
        .with_string("ty=")
        .unwrap()
        .with_string("=novalue")
        .unwrap()
        .with_string("manufacturer")
        .unwrap()
        .with_string("fn=Caf\u{e9}\tBar")
        .unwrap()
        .with_string("deviceid=00:11:22:33:44:55")
        .unwrap();
    m.answers.push(rr(inst.clone(), 4500, RData::TXT(txt)));
    m.answers.push(rr(
        Name::new_with_labels(&odd),
        120,
        RData::PTR(PTR(Name::new_with_labels(&odd[1..]))),
    ));
    m.answers.push(rr(
        Name::new_with_labels(&[odd[0].clone(), odd[4].clone()]),
        120,
        RData::A(A::from(Ipv4Addr::new(192, 168, 1, 9))),
    ));
    m.additional_records.push(
        rr(
            name("Living-Room.local"),
            120,
            RData::A(A::from(Ipv4Addr::new(192, 168, 1, 5))),
        )
        .with_cache_flush(true),
    );
    m.additional_records.push(rr(
        name("Living-Room.local"),
        120,
        RData::AAAA(AAAA::from(Ipv6Addr::new(0xfe80, 0, 0, 0, 1, 2, 3, 4))),
    ));
    m.additional_records.push(rr(
        name(&long_name),
        120,
        RData::A(A::from(Ipv4Addr::new(192, 168, 1, 6))),
    ));
    m.additional_records.push(rr(
        name("Living-Room.local"),
        120,
        RData::NSEC(NSEC {
            next_name: name("Living-Room.local"),
            // Two windows, the second at the 32-byte limit.
            type_bit_maps: vec![
                simple_dns::rdata::NsecTypeBitMap {
                    window_block: 0,
                    bitmap: Cow::Borrowed(&[0x40, 0, 0, 8]),
                },
                simple_dns::rdata::NsecTypeBitMap {
                    window_block: 1,
                    bitmap: Cow::Borrowed(&[0x80; 32]),
                },
            ],
        }),
    ));
    push(&m);

    // An mDNS probe: a question and the records it means to claim.
    let mut probe = Packet::new_query(0);
    probe.questions.push(Question::new(
        name("Living-Room.local"),
        QTYPE::ANY,
        QCLASS::CLASS(CLASS::IN),
        true,
    ));
    probe.name_servers.push(rr(
        name("Living-Room.local"),
        120,
        RData::A(A::from(Ipv4Addr::new(192, 168, 1, 5))),
    ));
    probe.name_servers.push(rr(
        inst,
        120,
        RData::SRV(SRV {
            priority: 0,
            weight: 0,
            port: 7000,
            target: name("Living-Room.local"),
        }),
    ));
    push(&probe);

    // Names at simple_dns's length limit: 254 is kept, 255 refused.
    for last in [61, 62] {
        let long = format!(
            "{long_label}.{long_label}.{long_label}.{}",
            "c".repeat(last)
        );
        let mut b = Packet::new_reply(9);
        b.questions.push(question(&long, TYPE::A));
        b.answers.push(rr(
            name(&long),
            5,
            RData::A(A::from(Ipv4Addr::new(10, 9, 9, 9))),
        ));
        push(&b);
    }

    // LLMNR: a responder answering for its own name.
    let mut l = Packet::new_reply(0x55);
    l.questions.push(question("DESKTOP-1", TYPE::A));
    l.answers.push(rr(
        name("DESKTOP-1"),
        30,
        RData::A(A::from(Ipv4Addr::new(10, 0, 0, 3))),
    ));
    l.answers.push(rr(
        Name::new_with_labels(&odd[..2]),
        30,
        RData::A(A::from(Ipv4Addr::new(10, 0, 0, 4))),
    ));
    push(&l);
    out
}

/// Every one-byte change to a few telling values and every truncation of
/// every message, in every flavor and direction.
#[test]
fn every_single_change_gives_the_same_events() {
    let mut seen = Seen::default();
    for msg in messages() {
        compare_message(&msg, &mut seen);
        for cut in 0..msg.len() {
            compare_message(&msg[..cut], &mut seen);
        }
        let mut m = msg.clone();
        for at in 0..msg.len() {
            let was = m[at];
            let near = [was ^ 0x80, was.wrapping_add(1), was.wrapping_sub(1)];
            let edges = [0x00, 0x01, 0x20, 0x21, 0x3f, 0x40, 0xc0, 0xfe, 0xff];
            for v in near.into_iter().chain(edges) {
                m[at] = v;
                compare_message(&m, &mut seen);
            }
            m[at] = was;
        }
    }
    eprintln!("{seen:?}");
    assert!(
        seen.valid > 1000 && seen.invalid > 1000 && seen.unsure > 100,
        "{seen:?}"
    );
    // No single change makes a chain of MAX_JUMPS pointers in these messages.
    assert_eq!(seen.too_many_jumps, 0);
}

/// Record data at the edges of each checked type's rules, written raw
/// (under the type's code) so that simple_dns's builder cannot tidy it.
#[test]
fn record_data_at_the_limits_gives_the_same_verdict() {
    let root_then = |rest: &[u8]| [&[0u8][..], rest].concat();
    let window = |block: u8, len: u8| {
        let mut w = vec![block, len];
        w.extend(std::iter::repeat_n(0x11, usize::from(len)));
        w
    };
    let cases: Vec<(u16, Vec<u8>)> = vec![
        (1, vec![1, 2, 3]),
        (1, vec![1, 2, 3, 4, 5]),
        (28, vec![0; 15]),
        (28, vec![0; 17]),
        (47, root_then(&window(0, 32))),
        (47, root_then(&window(0, 33))),
        (47, root_then(&[window(0, 1), window(0, 1)].concat())),
        (47, root_then(&[window(2, 1), window(1, 1)].concat())),
        (47, root_then(&[window(1, 1), window(2, 1)].concat())),
        (47, root_then(&[0, 1])),
        (47, root_then(&[0])),
        (16, vec![3, b'a', b'=', b'b', 0]),
        (16, vec![3, b'a', b'=']),
        (16, vec![0, 0, 0]),
        (13, vec![1, b'x', 0]),
        (13, vec![1, b'x']),
        (13, vec![1, b'x', 2, b'y']),
        (15, vec![0]),
        (15, vec![0, 1]),
        (15, vec![0, 1, 0, 9]),
        (33, vec![0, 0, 0, 0, 0]),
        (33, vec![0, 0, 0, 0, 0, 0, 0]),
        (6, root_then(&[0; 20])),
        (6, root_then(&[0; 21])),
        (6, root_then(&[0; 19])),
        (12, vec![0xc0, 12]),
        (12, vec![0xc0]),
        (12, vec![1, b'a']),
        (12, vec![1, b'a', 0, 0xff]),
        (19, vec![0xc0, 0, 2, 7]),
        (99, vec![0xff]),
        (65, vec![0, 1, 0]),
    ];
    let mut seen = Seen::default();
    for (rtype, data) in &cases {
        let mut r = Packet::new_reply(3);
        r.questions.push(question("a.example", TYPE::A));
        r.answers.push(rr(
            name("a.example"),
            5,
            RData::NULL(*rtype, NULL::new(data).unwrap()),
        ));
        compare_message(&r.build_bytes_vec().unwrap(), &mut seen);
    }
    // OPT's options (code, length, data) must tile its data exactly.
    for options in [
        &[0u8, 10, 0, 2, 1, 2][..],
        &[0, 10, 0, 3, 1, 2],
        &[0, 10, 0],
        &[],
    ] {
        let mut r = Packet::new_query(3);
        r.questions.push(question("a.example", TYPE::A));
        r.additional_records.push(rr(
            Name::new_with_labels(&[]),
            0,
            RData::NULL(41, NULL::new(options).unwrap()),
        ));
        compare_message(&r.build_bytes_vec().unwrap(), &mut seen);
    }
    assert!(seen.valid > 10 && seen.invalid > 10, "{seen:?}");
}

/// A run of changes: a byte set, a 16-bit value set (counts, lengths,
/// pointers), a pointer written, a cut.
#[derive(Clone, Debug)]
enum Change {
    Byte(usize, u8),
    Word(usize, u16),
    Pointer(usize, u16),
    Cut(usize),
}

fn apply(msg: &mut Vec<u8>, changes: &[Change]) {
    for c in changes {
        let n = msg.len().max(1);
        match *c {
            Change::Byte(at, v) => {
                if let Some(b) = msg.get_mut(at % n) {
                    *b = v;
                }
            }
            Change::Word(at, v) | Change::Pointer(at, v) => {
                let v = if matches!(c, Change::Pointer(..)) {
                    0xc000 | (v % n as u16)
                } else {
                    v
                };
                let at = at % n;
                if let Some(w) = msg.get_mut(at..at + 2) {
                    w.copy_from_slice(&v.to_be_bytes());
                }
            }
            Change::Cut(at) => msg.truncate(at % (n + 1)),
        }
    }
}

fn change() -> impl proptest::strategy::Strategy<Value = Change> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(a, v)| Change::Byte(a, v)),
        // Header counts sit at 4..12.
        2 => (4usize..12, any::<u16>()).prop_map(|(a, v)| Change::Word(a, v)),
        2 => (any::<usize>(), any::<u16>()).prop_map(|(a, v)| Change::Word(a, v)),
        3 => (any::<usize>(), any::<u16>()).prop_map(|(a, v)| Change::Pointer(a, v)),
        1 => any::<usize>().prop_map(Change::Cut),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

    /// Random runs of changes to the built messages, fed as one flow (so
    /// the per-flow hint memory is shared) over UDP and as DNS over TCP.
    #[test]
    fn mutated_flows_give_the_same_events(
        picks in proptest::collection::vec(
            (0usize..64, proptest::collection::vec(change(), 0..6), proptest::prelude::any::<bool>()),
            1..6,
        ),
    ) {
        let bases = messages();
        let mut seen = Seen::default();
        let mut flows: Vec<Pair> = [Flavor::Dns, Flavor::Mdns, Flavor::Llmnr]
            .into_iter()
            .map(|f| Pair::new(f, false))
            .collect();
        let mut tcp = Pair::new(Flavor::Dns, true);
        let mut stream = Vec::new();
        for (pick, changes, reply) in picks {
            let mut msg = bases[pick % bases.len()].clone();
            apply(&mut msg, &changes);
            if !verdict(&msg, &mut seen) {
                continue;
            }
            let dir = if reply { Direction::ToClient } else { Direction::ToServer };
            for pair in &mut flows {
                pair.feed(dir, &msg, &mut seen);
            }
            stream.extend_from_slice(&(msg.len() as u16).to_be_bytes());
            stream.extend_from_slice(&msg);
        }
        // Six changes cannot build a chain of MAX_JUMPS pointers here, so
        // every message was compared.
        proptest::prop_assert_eq!(seen.too_many_jumps, 0);
        // The TCP stream in uneven pieces, some splitting the length prefix.
        for piece in stream.chunks(37) {
            tcp.feed(Direction::ToServer, piece, &mut seen);
        }
    }

    /// Random bytes behind a plausible header.
    #[test]
    fn random_bodies_give_the_same_events(
        counts in proptest::array::uniform4(0u16..6),
        flags in proptest::prelude::any::<u16>(),
        body in proptest::collection::vec(
            proptest::prop_oneof![
                3 => proptest::prelude::any::<u8>(),
                2 => 0u8..4,
                1 => proptest::sample::select(vec![0xc0u8, 0x0c, 0x3f, 0x40]),
            ],
            0..120,
        ),
    ) {
        let mut msg = vec![0x12, 0x34];
        msg.extend_from_slice(&flags.to_be_bytes());
        for c in counts {
            msg.extend_from_slice(&c.to_be_bytes());
        }
        msg.extend_from_slice(&body);
        let mut seen = Seen::default();
        compare_message(&msg, &mut seen);
        proptest::prop_assert_eq!(seen.too_many_jumps, 0);
    }
}

proptest::proptest! {
    /// The borrowed `service_type` and `strip_local` find what the owned
    /// ones did, on names made of the pieces that matter.
    #[test]
    fn name_helpers_match_the_reference(
        labels in proptest::collection::vec(
            proptest::sample::select(vec![
                "_hap", "_tcp", "_UDP", "_Tcp", "_sub", "x", "", "local", "LOCAL", "a\\.b",
                "caf\u{e9}", "_", "host_1", "Kitchen",
            ]),
            0..7,
        ),
    ) {
        let name = labels.join(".");
        proptest::prop_assert_eq!(
            super::service_type(&name).map(str::to_owned),
            reference::service_type(&name)
        );
        proptest::prop_assert_eq!(
            super::strip_local(&name).map(str::to_owned),
            reference::strip_local(&name)
        );
    }
}

/// This thread's CPU time (ns), from the scheduler's own accounting.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of the two paths over the DNS, mDNS and LLMNR datagrams of
/// `$WARD_DNS_TIMING_CAPTURE`, alternated, one fresh parser per message (so
/// every message does its full work). A measurement, not a check:
///
/// ```sh
/// WARD_DNS_TIMING_CAPTURE=/work/bench/mix-1m.pcap taskset -c 1 \
///     cargo test --release -p ward-proto --lib dns_paths_timed -- --ignored --nocapture
/// ```
#[test]
#[ignore]
fn dns_paths_timed() {
    let Some(path) = std::env::var_os("WARD_DNS_TIMING_CAPTURE") else {
        eprintln!("skipping: WARD_DNS_TIMING_CAPTURE is not set");
        return;
    };
    let flavor = |port: u16| match port {
        53 => Some(Flavor::Dns),
        5353 => Some(Flavor::Mdns),
        5355 => Some(Flavor::Llmnr),
        _ => None,
    };
    let msgs: Vec<(Flavor, Direction, Vec<u8>)> = common::payloads(&path.into())
        .into_iter()
        .filter(|p| p.transport == crate::Transport::Udp)
        .filter_map(|p| match (flavor(p.dport), flavor(p.sport)) {
            (Some(f), _) => Some((f, Direction::ToServer, p.data)),
            (None, Some(f)) => Some((f, Direction::ToClient, p.data)),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    let mut run = |reference: bool| {
        reference::ON.with(|on| on.set(reference));
        let start = thread_cpu_ns();
        for (f, dir, m) in &msgs {
            DnsParser::new(*f, false).feed(*dir, m, &mut out);
            out.clear();
        }
        reference::ON.with(|on| on.set(false));
        thread_cpu_ns() - start
    };
    for round in 1..=5 {
        let (old, new) = (run(true), run(false));
        eprintln!(
            "round {round}: {} messages, simple_dns path {:.1} ns/message, in-place path {:.1} ns/message",
            msgs.len(),
            old as f64 / msgs.len() as f64,
            new as f64 / msgs.len() as f64
        );
    }
}
