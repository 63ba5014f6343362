//! [`Engine::process_batch`] against [`Engine::process`]: the same events
//! in the same order, and every detector called with the same contexts in
//! the same order, whatever the batch size — over traffic that changes the
//! detector view mid-batch (new and evicted devices, addresses bound and
//! moved by DHCP, host names from DNS answers), ends flows by eviction and
//! crosses seconds (ticks, identification) inside batches.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use ward_bench::frame::{self, Path};
use ward_bench::payload;
use ward_bench::traffic::{self, Generator};

use super::*;

type Log = Arc<Mutex<Vec<String>>>;

/// Writes down everything it is shown, and raises a finding now and then
/// so detector events interleave with flow and device events.
struct Recorder {
    name: &'static str,
    log: Log,
    seen: u64,
}

/// What a detector can read of the inventory about `ip`.
fn view(devices: &DeviceTable, ip: Option<IpAddr>, s: &mut String) {
    let Some(ip) = ip else { return };
    match devices
        .find_ip(ip)
        .and_then(|id| devices.get(id).map(|d| (id, d)))
    {
        Some((id, d)) => {
            let _ = write!(
                s,
                " {ip}=#{id}:{}:{:?}:{:?}:{:?}",
                d.label(),
                d.hostname(),
                d.ips,
                d.category
            );
        }
        None => {
            let _ = write!(s, " {ip}=none");
        }
    }
}

fn flow_text(f: &Flow) -> String {
    format!(
        "{}:{:?}:{:?}:{:?}:{:?}:{:?}:{:?}",
        f.id, f.pkts, f.bytes, f.state, f.tcp_flags, f.app_proto, f.payload_bytes
    )
}

impl Recorder {
    fn note(&mut self, line: String, ts: Timestamp, out: &mut Vec<Event>) {
        self.seen += 1;
        if self.seen.is_multiple_of(37) {
            let mut e = Event::new(ts, EventType::Finding);
            e.flow_id = Some(self.seen);
            out.push(e);
        }
        if let Ok(mut log) = self.log.lock() {
            log.push(line);
        }
    }
}

impl Detector for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }

    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Event>) {
        let mut s = format!(
            "{} packet {:?} flow={:?} dir={:?} new={} ordinary={} app={} src={:?} dst={:?} n={}",
            self.name,
            ctx.pkt.ts,
            ctx.flow.map(flow_text),
            ctx.dir,
            ctx.new_flow,
            ctx.ordinary,
            ctx.app.len(),
            ctx.src_device,
            ctx.dst_device,
            ctx.devices.len(),
        );
        let ip = ctx.pkt.ip();
        view(ctx.devices, ip.map(|i| i.src), &mut s);
        view(ctx.devices, ip.map(|i| i.dst), &mut s);
        self.note(s, ctx.pkt.ts, out);
    }

    fn on_flow_end(&mut self, ctx: &FlowEndContext<'_>, out: &mut Vec<Event>) {
        let mut s = format!(
            "{} end {:?} flow={} app={} client={:?} server={:?} n={}",
            self.name,
            ctx.now,
            flow_text(ctx.flow),
            ctx.app.len(),
            ctx.client_device,
            ctx.server_device,
            ctx.devices.len(),
        );
        view(ctx.devices, ctx.flow.src_ip, &mut s);
        view(ctx.devices, ctx.flow.dst_ip, &mut s);
        self.note(s, ctx.now, out);
    }

    fn on_tick(&mut self, now: Timestamp, devices: &DeviceTable, out: &mut Vec<Event>) {
        let s = format!("{} tick {now:?} n={}", self.name, devices.len());
        self.note(s, now, out);
    }
}

/// Gives every device it sees a category, so identification changes the
/// inventory on ticks as the real identifier does.
struct Namer;

impl Identifier for Namer {
    fn identify(&mut self, now: Timestamp, devices: &mut DeviceTable, _out: &mut Vec<Event>) {
        let ids: Vec<DeviceId> = devices.ids_unordered().collect();
        for id in ids {
            let category = format!("kind-{}", (now.0 / 1_000_000 + i64::from(id)) % 3);
            devices.set_identity(id, Some(category), None, None, Vec::new());
        }
    }
}

const ROUTER: [u8; 6] = [0x24, 0x5a, 0x4c, 0x10, 0x00, 0x01];

/// The generator's home mix, with DNS answers naming LAN devices, DHCP
/// ACKs handing out and moving addresses, and one-packet devices appearing.
fn frames() -> Vec<(i64, Vec<u8>)> {
    let mut generator = Generator::new(traffic::Config {
        packets: 4_000,
        concurrent_flows: 120,
        seed: 11,
        devices: 40,
        servers: 64,
        gap_secs: 1.5,
        ..traffic::Config::default()
    });
    let mut out = Vec::new();
    let mut macs: Vec<([u8; 6], Ipv4Addr)> = Vec::new();
    let mut i = 0u32;
    while let Some((t, f)) = generator.next_frame() {
        let f = f.to_vec();
        // The generator's devices, as their frames show them.
        if let (Some(mac), Some(ip)) = (f.get(6..12), f.get(26..30)) {
            let ip = Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]);
            if let Ok(mac) = <[u8; 6]>::try_from(mac) {
                if ip.octets()[0] == 10 && mac != ROUTER && !macs.iter().any(|m| m.0 == mac) {
                    macs.push((mac, ip));
                }
            }
        }
        out.push((t, f));
        i += 1;
        let Some(&(mac, ip)) = macs.get(i as usize % macs.len().max(1)) else {
            continue;
        };
        let router = Path {
            src_mac: ROUTER,
            dst_mac: mac,
            src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst_ip: IpAddr::V4(ip),
            vlan: None,
            ttl: 64,
        };
        let mut frame_buf = Vec::new();
        if i.is_multiple_of(23) {
            // The resolver names a LAN device (a host name: the view changes).
            let named = macs.get(i as usize / 23 % macs.len()).map_or(ip, |m| m.1);
            let mut dns = Vec::new();
            let name = format!("host-{}.local", i / 23 % 17);
            payload::dns_response(&mut dns, i as u16, &name, IpAddr::V4(named));
            frame::udp(
                &mut frame_buf,
                &router,
                (53, 40_000 + i as u16 % 1000),
                &dns,
            );
        } else if i.is_multiple_of(41) {
            // A DHCPACK: an address bound, or moved from another device.
            let mut dhcp = Vec::new();
            payload::dhcp_discover(&mut dhcp, mac, i, "x", "y");
            dhcp[0] = 2;
            let yiaddr = Ipv4Addr::new(10, 0, 200, (i / 41 % 7) as u8 + 1);
            dhcp[16..20].copy_from_slice(&yiaddr.octets());
            dhcp[242] = 5;
            frame::udp(&mut frame_buf, &router, (67, 68), &dhcp);
        } else if i.is_multiple_of(29) {
            // A device seen once (new devices evict old ones at the cap).
            let stranger = Path {
                src_mac: [0x02, 0, 0, 0, (i >> 8) as u8, i as u8],
                dst_mac: mac,
                src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 100, i as u8)),
                dst_ip: IpAddr::V4(ip),
                vlan: None,
                ttl: 64,
            };
            frame::udp(&mut frame_buf, &stranger, (9_999, 9_999), b"hello");
        } else {
            continue;
        }
        out.push((t, frame_buf));
    }
    out
}

/// Events (as text) and detector calls of a run over `frames`, fed one by
/// one (`batch` 0) or in batches of `batch`.
fn run(frames: &[(i64, Vec<u8>)], batch: usize) -> (Vec<String>, Vec<String>) {
    let mut cfg = EngineConfig::default();
    cfg.flow.max_flows = 48;
    cfg.devices.max_devices = 24;
    cfg.devices.max_ips = 2;
    let log: Log = Arc::default();
    let detectors: Vec<Box<dyn Detector>> = ["first", "second"]
        .into_iter()
        .map(|name| {
            Box::new(Recorder {
                name,
                log: log.clone(),
                seen: 0,
            }) as Box<dyn Detector>
        })
        .collect();
    let mut engine = Engine::new(cfg, 5, detectors).with_identifier(Box::new(Namer));
    let mut sink = VecSink::default();
    if batch == 0 {
        for (t, f) in frames {
            engine.process(Timestamp(*t), 1, f, f.len() as u32, &mut sink);
        }
    } else {
        for chunk in frames.chunks(batch) {
            let batch: Vec<Frame<'_>> = chunk
                .iter()
                .map(|(t, f)| Frame {
                    ts: Timestamp(*t),
                    linktype: 1,
                    data: f,
                    wire_len: f.len() as u32,
                })
                .collect();
            engine.process_batch(&batch, &mut sink);
        }
    }
    engine.finish(&mut sink);
    let events = sink.0.iter().map(|e| format!("{e:?}")).collect();
    // Each detector's calls in order: batches run one detector over the
    // batch before the next, so only the two sequences, not their
    // interleaving, are the same.
    let mut calls = log.lock().map(|l| l.clone()).unwrap_or_default();
    calls.sort_by_key(|c| !c.starts_with("first"));
    (events, calls)
}

#[test]
fn batches_give_the_events_and_detector_calls_of_one_frame_at_a_time() {
    let frames = frames();
    let (events, calls) = run(&frames, 0);
    // The traffic does what the test is about.
    let text = events.join("\n");
    for what in [
        "reason: \"new\"",
        "reason: \"changed\"",
        "EventType::Flow",
        "Finding",
    ] {
        let what = what.replace("EventType::", "event_type: ");
        assert!(text.contains(&what), "no {what}");
    }
    assert!(calls.iter().any(|c| c.contains("tick")));
    assert!(calls.iter().any(|c| c.contains("Some(\"host-")));
    assert!(calls.iter().any(|c| c.contains("10.0.200.")));
    assert!(calls.iter().any(|c| c.contains(" end ")));
    for batch in [1, 2, 7, 64, 256, frames.len()] {
        let (e, c) = run(&frames, batch);
        assert_eq!(e.len(), events.len(), "batch {batch}: events");
        if let Some(i) = (0..e.len()).find(|&i| e[i] != events[i]) {
            panic!("batch {batch}: event {i}\n{}\n{}", events[i], e[i]);
        }
        assert_eq!(c.len(), calls.len(), "batch {batch}: calls");
        if let Some(i) = (0..c.len()).find(|&i| c[i] != calls[i]) {
            panic!("batch {batch}: call {i}\n{}\n{}", calls[i], c[i]);
        }
    }
}

/// The item list keeps its allocation from batch to batch (a batch of one,
/// `Engine::process`, would otherwise allocate for every packet).
#[test]
fn a_recycled_item_list_keeps_its_room() {
    let mut items: Vec<Item<'static>> = Vec::with_capacity(100);
    items.extend((0..100).map(|i| Item::Ready(i, i)));
    let at = items.as_ptr() as usize;
    let data = vec![0u8; 4];
    let mut borrowed: Vec<Item<'_>> = recycle(items);
    assert!(borrowed.is_empty());
    assert!(borrowed.capacity() >= 100);
    assert_eq!(borrowed.as_ptr() as usize, at);
    let pkt = crate::decode::decode(Timestamp(0), 1, &data, 4);
    borrowed.push(Item::Packet {
        pkt,
        outer: None,
        flow: None,
        dir: None,
        new_flow: false,
        ordinary: false,
        app: (0, 0),
        src: None,
        dst: None,
    });
    let back: Vec<Item<'static>> = recycle(borrowed);
    assert!(back.is_empty() && back.capacity() >= 100);
    assert_eq!(back.as_ptr() as usize, at);
}
