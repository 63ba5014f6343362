use super::*;
use crate::event::EventType;
use crate::testutil::*;

const S: i64 = 1_000_000;
const T0: i64 = 1_700_000_000 * S;

fn conversation() -> Vec<(i64, Vec<u8>)> {
    let c = (MAC_A, IP_A, 40000);
    let s = (MAC_B, IP_B, 80);
    vec![
        (T0, tcp(c, s, 100, "S", b"")),
        (T0 + 1000, tcp(s, c, 500, "SA", b"")),
        (T0 + 2000, tcp(c, s, 101, "A", b"")),
        (
            T0 + 3000,
            tcp(c, s, 101, "PA", b"GET / HTTP/1.1\r\nHost: cam\r\n\r\n"),
        ),
        (T0 + 2 * S, tcp(s, c, 501, "FA", b"")),
        (T0 + 2 * S + 10, tcp(c, s, 130, "FA", b"")),
        (
            T0 + 3 * S,
            udp(
                (MAC_A, IP_A, 5353),
                ([1, 0, 0x5e, 0, 0, 0xfb], [224, 0, 0, 251], 5353),
                b"",
            ),
        ),
    ]
}

#[test]
fn a_conversation_gives_flow_device_and_stats_events() {
    let events = run(&conversation());
    let flows: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == EventType::Flow)
        .collect();
    assert_eq!(flows.len(), 2);
    let f = flows
        .iter()
        .find(|e| e.proto.as_deref() == Some("TCP"))
        .unwrap();
    assert_eq!(f.src_port, Some(40000));
    assert_eq!(f.dest_port, Some(80));
    let rec = f.flow.as_ref().unwrap();
    assert_eq!((rec.pkts_toserver, rec.pkts_toclient), (4, 2));
    assert_eq!(rec.state, "closed");
    assert_eq!(rec.tcp_flags.as_deref(), Some("1b"));
    let new: Vec<_> = events
        .iter()
        .filter(|e| e.device.as_ref().is_some_and(|d| d.reason == "new"))
        .collect();
    assert_eq!(new.len(), 2, "client and server each announced once");
    let finals = events
        .iter()
        .filter(|e| e.device.as_ref().is_some_and(|d| d.reason == "final"))
        .count();
    assert_eq!(finals, 2);
    let last = events.last().unwrap();
    assert_eq!(last.event_type, EventType::Stats);
    let st = last.stats.as_ref().unwrap();
    assert_eq!(st.packets, 7);
    assert_eq!(st.flows, 2);
    assert_eq!(st.devices, 2);
    let server = events
        .iter()
        .rev()
        .find(|e| {
            e.device
                .as_ref()
                .is_some_and(|d| d.mac == Some(MacAddr(MAC_B)))
        })
        .unwrap();
    assert_eq!(
        server.device.as_ref().unwrap().services,
        vec!["TCP/80".to_string()]
    );
}

#[test]
fn output_is_identical_whatever_the_hash_seed() {
    let frames = conversation();
    let run_seed = |seed| {
        let mut engine = Engine::new(EngineConfig::default(), seed, Vec::new());
        let mut sink = VecSink::default();
        for (t, f) in &frames {
            engine.process(Timestamp(*t), 1, f, f.len() as u32, &mut sink);
        }
        engine.finish(&mut sink);
        sink.0.iter().map(|e| e.to_json()).collect::<Vec<_>>()
    };
    assert_eq!(run_seed(1), run_seed(99));
}

#[test]
fn decode_anomalies_are_counted_by_kind() {
    let mut f = tcp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), 1, "S", b"");
    f.truncate(30);
    let events = run(&[(T0, f), (T0 + 1, vec![])]);
    let st = events.last().unwrap().stats.clone().unwrap();
    assert_eq!(st.decode_anomalies.get("truncated-ipv4"), Some(&1));
    assert_eq!(st.decode_anomalies.get("empty-frame"), Some(&1));
    assert_eq!(st.packets, 2);
}

#[test]
fn events_round_trip_through_json() {
    for e in run(&conversation()) {
        let line = e.to_json();
        let back: Event = serde_json::from_str(&line).unwrap();
        assert_eq!(back, e, "{line}");
    }
}

struct CountingDetector {
    packets: u64,
    ticks: Vec<Timestamp>,
    flows: u64,
}

impl Detector for CountingDetector {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn on_packet(&mut self, _ctx: &PacketContext<'_, '_>, _out: &mut Vec<Event>) {
        self.packets += 1;
    }
    fn on_flow_end(&mut self, _ctx: &FlowEndContext<'_>, _out: &mut Vec<Event>) {
        self.flows += 1;
    }
    fn on_tick(&mut self, now: Timestamp, _d: &DeviceTable, _out: &mut Vec<Event>) {
        self.ticks.push(now);
    }
    fn finish(&mut self, now: Timestamp, _d: &DeviceTable, out: &mut Vec<Event>) {
        let alert = crate::event::Alert {
            category: crate::event::AlertCategory::Policy,
            signature: "test-summary".into(),
            severity: 4,
            confidence: 1.0,
            summary: format!(
                "saw {} packets, {} flows, {} ticks",
                self.packets,
                self.flows,
                self.ticks.len()
            ),
            evidence: Default::default(),
            devices: vec![],
            attacker: None,
            victims: vec![],
            first_seen: now,
            last_seen: now,
            count: self.packets,
            detector: "counting".into(),
        };
        out.push(Event::alert(now, alert));
    }
}

#[test]
fn detectors_see_packets_flows_and_ticks_on_packet_time() {
    let det = CountingDetector {
        packets: 0,
        ticks: vec![],
        flows: 0,
    };
    let mut engine = Engine::new(EngineConfig::default(), 1, vec![Box::new(det)]);
    let mut sink = VecSink::default();
    for (t, f) in conversation() {
        engine.process(Timestamp(t), 1, &f, f.len() as u32, &mut sink);
    }
    engine.finish(&mut sink);
    let alert = sink
        .0
        .iter()
        .find_map(|e| e.alert.as_ref())
        .expect("detector's finish ran");
    // Seconds T0+1 .. T0+3 are crossed by packets at +2 s and +3 s.
    assert_eq!(alert.summary, "saw 7 packets, 2 flows, 2 ticks");
    assert_eq!(engine.stats().alerts, 1);
}

#[test]
fn one_way_udp_from_a_service_port_is_not_a_service() {
    // A flood whose source ports sweep through 1900 must not make the
    // flooding device look like an SSDP server.
    let bot = (MAC_A, IP_A, 1900);
    let victim = (MAC_B, IP_B, 8009);
    let frames: Vec<(i64, Vec<u8>)> = (0..20).map(|i| (T0 + i, udp(bot, victim, b"x"))).collect();
    let events = run(&frames);
    let d = events
        .iter()
        .rev()
        .find_map(|e| e.device.as_ref().filter(|d| d.mac == Some(MacAddr(MAC_A))))
        .unwrap();
    assert!(d.services.is_empty(), "{:?}", d.services);
}

/// `finish` ends the table a batch at a time (so a full table's events are
/// never all in memory); every flow must still come out, oldest activity first.
#[test]
fn finish_ends_more_flows_than_one_batch_in_activity_order() {
    let n = FINISH_BATCH + 1_000;
    let frames: Vec<(i64, Vec<u8>)> = (0..n)
        .map(|i| {
            let c = (MAC_A, IP_A, 10_000 + i as u16);
            let s = (MAC_B, IP_B, 9_999);
            (T0 + i as i64 * 1_000, udp(c, s, b"x"))
        })
        .collect();
    let events = run(&frames);
    let flows: Vec<Timestamp> = events
        .iter()
        .filter(|e| e.event_type == EventType::Flow)
        .map(|e| e.timestamp)
        .collect();
    assert_eq!(flows.len(), n);
    assert!(flows.windows(2).all(|w| w[0] <= w[1]), "not oldest first");
}

#[test]
fn a_service_is_learnt_at_its_first_answer_not_at_flow_end() {
    // Identification needs "answers DNS" while the flow is still open (a
    // resolver's flows idle out only after minutes); a request alone, or
    // the client's side, teaches nothing.
    let client = (MAC_A, IP_A, 40000);
    let server = (MAC_B, IP_B, 53);
    let mut engine = Engine::new(EngineConfig::default(), 7, Vec::new());
    let mut sink = VecSink::default();
    let services = |engine: &Engine, mac: [u8; 6]| {
        let t = engine.devices();
        t.find(DeviceKey::Mac(MacAddr(mac)))
            .and_then(|id| t.get(id))
            .map(|d| d.services.clone())
            .unwrap_or_default()
    };
    let f = udp(client, server, b"q");
    engine.process(Timestamp(T0), 1, &f, f.len() as u32, &mut sink);
    assert!(services(&engine, MAC_B).is_empty());
    let f = udp(server, client, b"a");
    engine.process(Timestamp(T0 + 1000), 1, &f, f.len() as u32, &mut sink);
    assert!(services(&engine, MAC_B).contains(&(17, 53)));
    assert!(services(&engine, MAC_A).is_empty());

    // TCP: the SYN-ACK is the answer.
    let (c, s) = ((MAC_A, IP_A, 40001), (MAC_B, IP_B, 8080));
    let f = tcp(c, s, 1, "S", b"");
    engine.process(Timestamp(T0 + 2000), 1, &f, f.len() as u32, &mut sink);
    assert!(!services(&engine, MAC_B).contains(&(6, 8080)));
    let f = tcp(s, c, 9, "SA", b"");
    engine.process(Timestamp(T0 + 3000), 1, &f, f.len() as u32, &mut sink);
    assert!(services(&engine, MAC_B).contains(&(6, 8080)));
}

/// Top talkers are credited per flow (when it ends, or when the table is
/// read) instead of per packet; the result must be what counting every
/// packet for its source and destination gives, while flows are open,
/// after some timed out, and after `finish`.
#[test]
fn top_talkers_equal_per_packet_counting_at_any_time() {
    let ip_c: [u8; 4] = [192, 168, 1, 30];
    let mut frames = conversation();
    // A UDP exchange that times out (60 s) before the last packets, and
    // one more flow still open when the table is first read.
    frames.push((
        T0 + 4 * S,
        udp((MAC_A, IP_A, 5000), (MAC_B, IP_B, 53), b"q"),
    ));
    frames.push((
        T0 + 4 * S + 5,
        udp((MAC_B, IP_B, 53), (MAC_A, IP_A, 5000), b"answer"),
    ));
    frames.push((
        T0 + 200 * S,
        udp((MAC_B, IP_B, 7), (MAC_A, ip_c, 9000), b"xyz"),
    ));
    frames.push((
        T0 + 201 * S,
        udp((MAC_A, ip_c, 9000), (MAC_B, IP_B, 7), b""),
    ));
    let mut engine = Engine::new(EngineConfig::default(), 3, Vec::new());
    let mut sink = VecSink::default();
    let mut expected: std::collections::BTreeMap<IpAddr, Talker> = Default::default();
    let check = |engine: &Engine, expected: &std::collections::BTreeMap<IpAddr, Talker>| {
        let mut want: Vec<(IpAddr, Talker)> = expected.iter().map(|(a, t)| (*a, *t)).collect();
        want.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
        assert_eq!(engine.top_talkers(100), want);
    };
    for (t, f) in &frames {
        engine.process(Timestamp(*t), 1, f, f.len() as u32, &mut sink);
        let pkt = decode::decode(Timestamp(*t), 1, f, f.len() as u32);
        if let Some(ip) = pkt.ip() {
            for a in [ip.src, ip.dst] {
                let e = expected.entry(a).or_default();
                e.pkts += 1;
                e.bytes += f.len() as u64;
            }
        }
        check(&engine, &expected);
    }
    assert!(engine.flows().counters.timed_out > 0, "a flow timed out");
    engine.finish(&mut sink);
    check(&engine, &expected);
    assert_eq!(engine.top_talkers(1).len(), 1);
}

#[test]
fn protocols_and_application_protocols_are_counted() {
    let mut frames = conversation();
    frames.push((T0 + 4 * S, udp((MAC_A, IP_A, 5000), (MAC_B, IP_B, 53), b"")));
    let mut engine = Engine::new(EngineConfig::default(), 3, Vec::new());
    let mut sink = VecSink::default();
    for (t, f) in &frames {
        engine.process(Timestamp(*t), 1, f, f.len() as u32, &mut sink);
    }
    let p = engine.protocols();
    assert_eq!(p.get("TCP"), Some(&6));
    assert_eq!(p.get("UDP"), Some(&2));
    assert_eq!(p.len(), 2, "only protocols seen: {p:?}");
    // The HTTP request picked a parser for the TCP flow.
    assert_eq!(engine.stats().app_protos.get("http"), Some(&1));
    assert_eq!(engine.stats().app_protos.len(), 1);
}

/// Records the targets of the HTTP requests parsed.
struct RequestRecorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Detector for RequestRecorder {
    fn name(&self) -> &'static str {
        "requests"
    }
    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, _out: &mut Vec<Event>) {
        for e in ctx.app {
            if let ward_proto::AppEvent::HttpRequest(r) = e {
                self.0.lock().unwrap().push(r.uri.clone());
            }
        }
    }
}

#[test]
fn a_cut_retransmission_that_carries_more_tells_the_parser_of_the_gap() {
    // A POST announcing 300 bytes of body; 100 come whole, then a
    // retransmission of those that carries all 300, cut by a 96-byte snap
    // length so that every captured byte is one fed before; then the next
    // request, whole. The 200 cut-off bytes end the body: the next bytes
    // are the next head, not more body.
    let c = (MAC_A, IP_A, 40000);
    let s = (MAC_B, IP_B, 80);
    let head = b"POST /a HTTP/1.1\r\nHost: cam\r\nContent-Length: 300\r\n\r\n";
    let body = [b'x'; 300];
    let seq0 = 101u32;
    let body_seq = seq0 + head.len() as u32;
    let frames: [(Vec<u8>, usize); 6] = {
        let f = |seq, flags, p: &[u8]| tcp(c, s, seq, flags, p);
        let retrans = f(body_seq, "PA", &body);
        [
            (f(100, "S", b""), 0),
            (tcp(s, c, 500, "SA", b""), 0),
            (f(seq0, "PA", head), 0),
            (f(body_seq, "PA", &body[..100]), 0),
            (retrans, 96),
            (
                f(
                    body_seq + 300,
                    "PA",
                    b"GET /b HTTP/1.1\r\nHost: cam\r\n\r\n",
                ),
                0,
            ),
        ]
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let det: Box<dyn Detector> = Box::new(RequestRecorder(seen.clone()));
    let mut engine = Engine::new(EngineConfig::default(), 7, vec![det]);
    let mut sink = VecSink::default();
    for (i, (f, snap)) in frames.iter().enumerate() {
        let kept = if *snap == 0 { f.len() } else { *snap };
        let t = Timestamp(T0 + i as i64 * 1000);
        engine.process(t, 1, &f[..kept], f.len() as u32, &mut sink);
    }
    assert_eq!(*seen.lock().unwrap(), ["/a", "/b"]);
}

/// Records `PacketContext::ordinary` per packet.
struct OrdinaryRecorder(std::sync::Arc<std::sync::Mutex<Vec<bool>>>);

impl Detector for OrdinaryRecorder {
    fn name(&self) -> &'static str {
        "ordinary"
    }
    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, _out: &mut Vec<Event>) {
        self.0.lock().unwrap().push(ctx.ordinary);
    }
}

fn ordinary_flags(frames: &[Vec<u8>]) -> Vec<bool> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let det: Box<dyn Detector> = Box::new(OrdinaryRecorder(seen.clone()));
    let mut engine = Engine::new(EngineConfig::default(), 7, vec![det]);
    let mut sink = VecSink::default();
    for (i, f) in frames.iter().enumerate() {
        engine.process(
            Timestamp(T0 + i as i64 * 1000),
            1,
            f,
            f.len() as u32,
            &mut sink,
        );
    }
    let v = seen.lock().unwrap().clone();
    v
}

#[test]
fn ordinary_packets_are_mid_flow_repeats_with_nothing_new() {
    const MAC_C: [u8; 6] = [0x02, 0, 0, 0, 0, 0x66];
    let c = (MAC_A, IP_A, 40000);
    let s = (MAC_B, IP_B, 8765);
    let forged = (MAC_C, IP_A, 40000);
    let frames = [
        tcp(c, s, 100, "S", b""),      // opens the flow
        tcp(s, c, 500, "SA", b""),     // first answer
        tcp(c, s, 101, "A", b""),      // handshake done: state changes
        tcp(c, s, 101, "A", b""),      // nothing new
        tcp(s, c, 501, "A", b""),      // ACK seen before (in the SYN-ACK)
        tcp(c, s, 101, "PA", b"xyz"),  // PSH is new for this direction
        tcp(c, s, 104, "PA", b"abc"),  // payload no parser knows: ordinary
        tcp(forged, s, 107, "A", b""), // same 5-tuple, another MAC
        tcp(s, c, 501, "RA", b""),     // RST
        tcp(c, s, 107, "A", b""),      // state stays reset: ordinary again
    ];
    assert_eq!(
        ordinary_flags(&frames),
        [false, false, false, true, true, false, true, false, false, true]
    );
    let uc = (MAC_A, IP_A, 41000);
    let us = (MAC_B, IP_B, 9999);
    let frames = [
        udp(uc, us, b"a"), // opens the flow
        udp(uc, us, b"b"), // repeat
        udp(us, uc, b"c"), // first answer: the flow is established
        udp(us, uc, b"d"), // repeat
    ];
    assert_eq!(ordinary_flags(&frames), [false, true, false, true]);
}

#[test]
fn packets_with_application_events_are_not_ordinary() {
    let c = (MAC_A, IP_A, 40000);
    let s = (MAC_B, IP_B, 80);
    let frames = [
        tcp(c, s, 100, "S", b""),
        tcp(s, c, 500, "SA", b""),
        tcp(c, s, 101, "PA", b""),
        // The request's head gives the parser something to report.
        tcp(
            c,
            s,
            101,
            "PA",
            b"GET / HTTP/1.1\r\nHost: cam\r\nUser-Agent: x\r\n\r\n",
        ),
        tcp(c, s, 150, "PA", b""),
    ];
    assert_eq!(ordinary_flags(&frames), [false, false, false, false, true]);
}

#[test]
fn flags_hex_writes_what_format_wrote() {
    assert_eq!(flags_hex(0), None);
    for f in 1..=255u8 {
        assert_eq!(flags_hex(f), Some(format!("{f:02x}")));
    }
}

/// Records, per packet, `ordinary` and whether the flow's application
/// protocol is known.
struct AppProtoRecorder(std::sync::Arc<std::sync::Mutex<Vec<(bool, bool)>>>);

impl Detector for AppProtoRecorder {
    fn name(&self) -> &'static str {
        "app-proto"
    }
    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, _out: &mut Vec<Event>) {
        let known = ctx.flow.is_some_and(|f| f.app_proto.is_some());
        self.0.lock().unwrap().push((ctx.ordinary, known));
    }
}

/// What `PacketContext::ordinary`'s docs warn of: a flow's first payload
/// without PSH (the first segment of a request) is ordinary, and the
/// flow's protocol becomes known in it.
#[test]
fn the_first_payload_can_be_ordinary() {
    let c = (MAC_A, IP_A, 40000);
    let s = (MAC_B, IP_B, 80);
    let frames = [
        tcp(c, s, 100, "S", b""),
        tcp(s, c, 500, "SA", b""),
        tcp(c, s, 101, "A", b""),
        tcp(c, s, 101, "A", b"GET / HTTP/1.1\r\nHost: cam\r\n"),
        tcp(c, s, 128, "PA", b"User-Agent: x\r\n\r\n"),
    ];
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let det: Box<dyn Detector> = Box::new(AppProtoRecorder(seen.clone()));
    let mut engine = Engine::new(EngineConfig::default(), 7, vec![det]);
    let mut sink = VecSink::default();
    for (i, f) in frames.iter().enumerate() {
        let ts = Timestamp(T0 + i as i64 * 1000);
        engine.process(ts, 1, f, f.len() as u32, &mut sink);
    }
    let v = seen.lock().unwrap().clone();
    assert_eq!(
        v,
        [
            (false, false),
            (false, false),
            (false, false),
            (true, true),
            (false, true)
        ]
    );
}

/// The `flow` event is refilled in one place for flow after flow: every
/// field must be what `flow_event` builds, whatever the flow before it had
/// (a TCP flow's flags after a UDP flow's none, a numbered protocol after a
/// named one, an application protocol after none and back).
#[test]
fn the_refilled_flow_event_is_the_built_one() {
    use crate::flow::EndReason;
    let states = [
        FlowState::New,
        FlowState::SynSent,
        FlowState::SynReceived,
        FlowState::Established,
        FlowState::Closing,
        FlowState::Closed,
        FlowState::Reset,
    ];
    let reasons = [
        None,
        Some(EndReason::Timeout),
        Some(EndReason::Evicted),
        Some(EndReason::Reused),
        Some(EndReason::Shutdown),
    ];
    let apps = [
        None,
        Some(ward_proto::AppProto::Http),
        Some(ward_proto::AppProto::Dns),
    ];
    let mut scratch = FlowEventScratch::default();
    let mut checked = 0;
    for i in 0u32..3_000 {
        // Protocols 0..=255 (the named ones among them), TCP every third flow.
        let proto = if i % 3 == 0 { 6 } else { (i * 7 % 256) as u8 };
        let flow = Flow {
            src_ip: (i % 11 != 0).then(|| IpAddr::from([10, 0, (i >> 8) as u8, i as u8])),
            dst_ip: (i % 13 != 0).then(|| IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16])),
            proto,
            state: states[i as usize % states.len()],
            tcp_flags: [(i * 37) as u8, (i * 11 % 7) as u8],
            src_port: (i % 5) as u16 * 1000,
            dst_port: (i % 4) as u16 * 443,
            vlan: (i % 6 == 0).then_some(i as u16),
            app_proto: apps[i as usize % apps.len()],
            pkts: [i, i / 2],
            last: Timestamp(1_000_000 + i64::from(i)),
            bytes: [u64::from(i) * 60, 7],
            src_mac: (i % 2 == 0).then_some(MacAddr(MAC_A)),
            dst_mac: (i % 3 == 0).then_some(MacAddr(MAC_B)),
            end_reason: reasons[i as usize % reasons.len()],
            start: Timestamp(i64::from(i)),
            id: u64::from(i) * 0x9e37,
            ..Flow::default()
        };
        let want = flow_event(&flow);
        let got = scratch.fill(&flow);
        assert_eq!(*got, want, "flow {i}");
        assert_eq!(got.to_json(), want.to_json(), "flow {i}");
        checked += 1;
    }
    assert_eq!(checked, 3_000);
}

/// Flow events leave in the place they always had: after the packet's own
/// events, each after its own flow's `on_flow_end` events, before the
/// `device` events of the same flush.
#[test]
fn flow_events_keep_their_place_among_other_events() {
    struct Marks;
    impl Detector for Marks {
        fn name(&self) -> &'static str {
            "marks"
        }
        fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Event>) {
            let mut e = Event::new(ctx.pkt.ts, EventType::Finding);
            e.src_port = ctx.flow.map(|f| f.src_port);
            out.push(e);
        }
        fn on_flow_end(&mut self, ctx: &FlowEndContext<'_>, out: &mut Vec<Event>) {
            let mut e = Event::new(ctx.now, EventType::Finding);
            e.flow_id = Some(ctx.flow.id);
            out.push(e);
        }
    }
    // Three UDP flows from a new device each second, then a packet 100 s
    // later: its tick expires all three at once.
    let server = (MAC_B, IP_B, 9_999);
    let mut frames: Vec<(i64, Vec<u8>)> = (0..3u16)
        .map(|i| {
            (
                T0 + i64::from(i) * 1_000_000,
                udp(([2, 0, 0, 0, 0, i as u8], IP_A, 10_000 + i), server, b"x"),
            )
        })
        .collect();
    frames.push((T0 + 100_000_000, udp((MAC_A, IP_A, 20_000), server, b"x")));
    let mut engine = Engine::new(EngineConfig::default(), 3, vec![Box::new(Marks)]);
    let mut sink = VecSink::default();
    for (t, f) in &frames {
        engine.process(Timestamp(*t), 1, f, f.len() as u32, &mut sink);
    }
    engine.finish(&mut sink);
    let kinds: Vec<String> = sink
        .0
        .iter()
        .map(|e| match e.event_type {
            EventType::Flow => format!("flow {}", e.flow_id.unwrap()),
            EventType::Finding if e.flow_id.is_some() => format!("end {}", e.flow_id.unwrap()),
            EventType::Finding => "packet".to_string(),
            EventType::Device => format!("device {}", e.device.as_ref().unwrap().reason),
            other => format!("{other:?}"),
        })
        .collect();
    // Every flow's end mark is right before its flow event.
    let mut flows = 0;
    for (i, k) in kinds.iter().enumerate() {
        if let Some(id) = k.strip_prefix("flow ") {
            assert_eq!(kinds[i - 1], format!("end {id}"), "{kinds:?}");
            flows += 1;
        }
    }
    assert_eq!(flows, 4, "{kinds:?}");
    // The tick that expires the three flows runs before the fourth packet:
    // their events come first, then that packet's mark, then its new device.
    let tail: Vec<&str> = kinds
        .iter()
        .map(String::as_str)
        .skip_while(|k| !k.starts_with("end"))
        .collect();
    assert_eq!(tail[6..8], ["packet", "device new"], "{kinds:?}");
}

/// A flow pushed out by a new device's first packet: its event comes after
/// that packet's own events and before the new device's event.
#[test]
fn an_evicted_flow_event_comes_before_the_new_device() {
    let mut cfg = EngineConfig::default();
    cfg.flow.max_flows = 1;
    let server = (MAC_B, IP_B, 9_999);
    let frames = [
        (T0, udp((MAC_A, IP_A, 10_000), server, b"x")),
        (
            T0 + 10,
            udp(
                ([2, 0, 0, 0, 0, 9], [192, 168, 1, 99], 10_001),
                server,
                b"x",
            ),
        ),
    ];
    let mut engine = Engine::new(cfg, 3, Vec::new());
    let mut sink = VecSink::default();
    for (t, f) in &frames {
        engine.process(Timestamp(*t), 1, f, f.len() as u32, &mut sink);
    }
    let kinds: Vec<String> = sink
        .0
        .iter()
        .map(|e| match &e.device {
            Some(d) => format!("device {:?}", d.mac),
            None => format!("{:?}", e.event_type),
        })
        .collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        [
            "Flow".to_string(),
            "device Some(02:00:00:00:00:09)".to_string()
        ],
        "{kinds:?}"
    );
}

/// The hex pairs come from the table for every byte as `flags_hex` writes
/// them (the flow event test meets only the flags its flows have).
#[test]
fn hex_byte_is_flags_hex_for_every_byte() {
    for f in 0..=255u8 {
        assert_eq!(hex_byte(f), flags_hex(f).as_deref(), "{f:#x}");
    }
}

/// The station's addresses in its last `device` event.
fn device_ips(events: &[Event], mac: [u8; 6]) -> Vec<IpAddr> {
    events
        .iter()
        .filter_map(|e| e.device.as_ref())
        .rfind(|d| d.mac == Some(MacAddr(mac)))
        .map(|d| d.ips.clone())
        .unwrap_or_default()
}

fn stats_of(events: &[Event]) -> Stats {
    events
        .iter()
        .rev()
        .find_map(|e| e.stats.clone())
        .expect("a stats event")
}

#[test]
fn a_station_s_global_ipv6_address_is_bound_after_the_router_advertises_its_prefix() {
    let router = ([0x02, 0, 0, 0, 0, 0xfe], v6("fe80::1"));
    let gua = v6("2001:db8:1::10");
    let ra = router_advertisement(
        router,
        255,
        0,
        &prefix_information(v6("2001:db8:1::"), 64, 0xc0, 86_400),
    );
    let from_gua = udp6(
        (MAC_A, gua, 40000),
        ([0x02, 0, 0, 0, 0, 0xfe], v6("2001:db8:ffff::1"), 443),
        b"x",
    );
    let with_ra = run(&[(T0, ra), (T0 + S, from_gua.clone())]);
    let without = run(&[(T0 + S, from_gua)]);
    let gua = IpAddr::from(gua);
    assert_eq!(device_ips(&with_ra, MAC_A), vec![gua]);
    assert!(!device_ips(&without, MAC_A).contains(&gua));
    assert_eq!(
        stats_of(&with_ra).local_networks_learned,
        vec!["2001:db8:1::/64".to_string()]
    );
    assert!(stats_of(&without).local_networks_learned.is_empty());
    // A stats event without learned networks writes neither field.
    let text = serde_json::to_string(&stats_of(&without)).unwrap();
    assert!(!text.contains("local_networks"), "{text}");
}

#[test]
fn a_dhcp_ack_on_a_public_subnet_makes_its_neighbours_local() {
    const SERVER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    const CLIENT: [u8; 6] = [0x02, 0, 0, 0, 0, 0x07]; // never sends
    let ack = |mask| {
        udp(
            (SERVER, [198, 51, 100, 1], 67),
            ([0xff; 6], [255, 255, 255, 255], 68),
            &dhcp_ack(CLIENT, [198, 51, 100, 7], mask),
        )
    };
    // Another station of the subnet, talking to the internet.
    let neighbour = udp(
        (MAC_A, [198, 51, 100, 9], 40000),
        (SERVER, [9, 9, 9, 9], 53),
        b"x",
    );
    let learnt = run(&[
        (T0, ack(Some([255, 255, 255, 0]))),
        (T0 + S, neighbour.clone()),
    ]);
    let no_mask = run(&[(T0, ack(None)), (T0 + S, neighbour)]);
    let nine = IpAddr::from([198, 51, 100, 9]);
    assert_eq!(device_ips(&learnt, MAC_A), vec![nine]);
    assert!(device_ips(&no_mask, MAC_A).is_empty());
    assert_eq!(
        stats_of(&learnt).local_networks_learned,
        vec!["198.51.100.0/24".to_string()]
    );
}

#[test]
fn configured_local_networks_bind_public_sources() {
    let frame = udp(
        (MAC_A, [198, 51, 100, 9], 40000),
        (MAC_B, [9, 9, 9, 9], 53),
        b"x",
    );
    let run_with = |nets: &[Cidr]| {
        let mut engine =
            Engine::new(EngineConfig::default(), 7, Vec::new()).with_local_networks(nets);
        let mut sink = VecSink::default();
        engine.process(Timestamp(T0), 1, &frame, frame.len() as u32, &mut sink);
        engine.finish(&mut sink);
        sink.0
    };
    let nine = IpAddr::from([198, 51, 100, 9]);
    let configured = run_with(&["198.51.100.0/24".parse().unwrap()]);
    assert_eq!(device_ips(&configured, MAC_A), vec![nine]);
    assert!(device_ips(&run_with(&[]), MAC_A).is_empty());
    // Configured networks are not "learned".
    assert!(stats_of(&configured).local_networks_learned.is_empty());
}

#[test]
fn a_syn_whose_options_were_cut_gives_no_tcp_fingerprint() {
    let syn = tcp((MAC_A, IP_A, 40000), (MAC_B, IP_B, 80), 1000, "S", b"");
    let fingerprints = |frame: &[u8]| {
        let mut engine = Engine::new(EngineConfig::default(), 7, Vec::new());
        let mut sink = VecSink::default();
        engine.process(Timestamp(1_000_000), 1, frame, syn.len() as u32, &mut sink);
        engine.finish(&mut sink);
        sink.0
            .iter()
            .filter_map(|e| e.device.as_ref())
            .filter(|d| d.mac == Some(MacAddr(MAC_A)))
            .flat_map(|d| d.evidence.iter())
            .filter(|e| e.source == "tcp.syn")
            .count()
    };
    assert!(fingerprints(&syn) > 0, "a whole SYN is fingerprinted");
    // A 64-byte snap length keeps 10 of the SYN's 20 option bytes.
    assert_eq!(fingerprints(&syn[..64]), 0);
}

#[test]
fn only_advertisements_and_dhcp_acks_sent_on_the_link_teach_the_scope() {
    let router = ([0x02, 0, 0, 0, 0, 0xfe], v6("fe80::1"));
    let ra = router_advertisement(
        router,
        255,
        0,
        &prefix_information(v6("2001:db8:1::"), 64, 0xc0, 86_400),
    );
    let learned = |frames: &[Vec<u8>]| {
        let timed: Vec<(i64, Vec<u8>)> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| (T0 + i as i64 * S, f.clone()))
            .collect();
        stats_of(&run(&timed)).local_networks_learned
    };
    // A mirror port's copy (ERSPAN) is the link: the engine hands the
    // outer header to the scope.
    assert_eq!(
        learned(&[from_the_internet(47, &erspan(&ra))]),
        vec!["2001:db8:1::/64".to_string()]
    );
    // The same advertisement sent in through a 6in4 tunnel from the internet.
    assert!(learned(&[from_the_internet(41, &ra[14..])]).is_empty());
    // A DHCP ACK from the internet to a LAN host, naming another network.
    let forged = udp(
        ([0x02, 0, 0, 0, 0, 0xfe], [203, 0, 113, 66], 67),
        (MAC_A, IP_A, 68),
        &dhcp_ack(MAC_A, [203, 0, 113, 7], Some([255, 255, 0, 0])),
    );
    assert!(learned(&[forged]).is_empty());
}
