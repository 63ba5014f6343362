//! Write the fuzzers' seed corpus: frames and dialogs built in code from the
//! protocol specs (see `ward_bench::frame` and `ward_bench::payload`), in
//! each fuzz target's input format (documented at the top of each target in
//! `fuzz/fuzz_targets/`).
//!
//! `cargo run -p ward-bench --bin gen-seeds -- fuzz/corpus`
//!
//! The output is deterministic; re-running it rewrites the same `seed-*`
//! files. Optional: `--capture FILE` adds a few KB-sized slices of a real
//! capture (first records of a pcap) to the capture_reader corpus.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path as FsPath, PathBuf};

use anyhow::Context;
use clap::Parser;
use ward_bench::frame::{self, Path, ACK, PSH, SYN};
use ward_bench::payload;
use ward_bench::pcap::{pcapng, PcapWriter, LINKTYPE_ETHERNET};
use ward_bench::traffic::{Config, Generator};

#[derive(Parser)]
struct Args {
    /// The corpus root (`fuzz/corpus`); one directory per target is written.
    out: PathBuf,
    /// A real capture to take small slices from (optional).
    #[arg(long)]
    capture: Option<PathBuf>,
}

// Link-type selectors of the `decode` target (index into its table).
const SEL_NULL: u8 = 0;
const SEL_ETHERNET: u8 = 1;
const SEL_RAW: u8 = 4;
const SEL_LOOP: u8 = 5;
const SEL_SLL: u8 = 6;
const SEL_IPV4: u8 = 7;
const SEL_IPV6: u8 = 8;
const SEL_SLL2: u8 = 9;

const CAM: [u8; 6] = [0x24, 0x28, 0xfd, 0x12, 0x34, 0x56];
const GW: [u8; 6] = [0x24, 0x5a, 0x4c, 0x10, 0x00, 0x01];

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn lan_path() -> Path {
    Path {
        src_mac: CAM,
        dst_mac: GW,
        src_ip: v4(10, 0, 0, 23),
        dst_ip: v4(52, 28, 1, 10),
        vlan: None,
        ttl: 64,
    }
}

fn v6_path() -> Path {
    Path {
        src_mac: CAM,
        dst_mac: GW,
        src_ip: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x23)),
        dst_ip: IpAddr::V6(Ipv6Addr::new(0x2a00, 0x1450, 0x4001, 0, 0, 0, 0, 1)),
        vlan: None,
        ttl: 64,
    }
}

/// Ethernet frames of many kinds, named.
fn ethernet_frames() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    let p = lan_path();
    let mut f = Vec::new();
    frame::tcp(
        &mut f,
        &p,
        (40_000, 443),
        1000,
        0,
        SYN,
        &frame::LINUX_SYN_OPTIONS,
        &[],
    );
    v.push(("eth-tcp-syn", std::mem::take(&mut f)));
    let mut ch = Vec::new();
    payload::tls_client_hello(&mut ch, "avs-alexa-eu.amazon.com", 7);
    frame::tcp(&mut f, &p, (40_000, 443), 1001, 5001, ACK | PSH, &[], &ch);
    v.push(("eth-tls-client-hello", std::mem::take(&mut f)));
    let mut dns = Vec::new();
    payload::dns_query(&mut dns, 0x1234, "pool.ntp.org", false);
    frame::udp(
        &mut f,
        &Path {
            dst_ip: v4(10, 0, 0, 1),
            ..p
        },
        (53_000, 53),
        &dns,
    );
    v.push(("eth-dns-query", std::mem::take(&mut f)));
    let vlan = Path {
        vlan: Some(20),
        ..p
    };
    frame::udp(&mut f, &vlan, (53_000, 53), &dns);
    v.push(("eth-vlan-dns", std::mem::take(&mut f)));
    let mut ntp = Vec::new();
    payload::ntp(&mut ntp, false, 1_767_225_600);
    frame::udp(&mut f, &v6_path(), (123, 123), &ntp);
    v.push(("eth-ipv6-ntp", std::mem::take(&mut f)));
    frame::icmp_echo(&mut f, &p, true, 7, 1, b"abcdefghijklmnopqrstuvwabcdefghi");
    v.push(("eth-icmp-echo", std::mem::take(&mut f)));
    frame::icmp_echo(&mut f, &v6_path(), true, 7, 1, b"abcdefgh");
    v.push(("eth-icmpv6-echo", std::mem::take(&mut f)));
    frame::arp(&mut f, true, (GW, [10, 0, 0, 1]), ([0; 6], [10, 0, 0, 23]));
    v.push(("eth-arp-request", std::mem::take(&mut f)));
    let mut dhcp = Vec::new();
    payload::dhcp_discover(&mut dhcp, CAM, 0xdead_beef, "ipcam-3456", "udhcp 1.30.1");
    let bc = Path {
        dst_mac: [0xff; 6],
        src_ip: v4(0, 0, 0, 0),
        dst_ip: v4(255, 255, 255, 255),
        ..p
    };
    frame::udp(&mut f, &bc, (68, 67), &dhcp);
    v.push(("eth-dhcp-discover", std::mem::take(&mut f)));

    // QinQ (802.1ad outer, 802.1Q inner) around the DNS query.
    let plain = v
        .iter()
        .find(|(n, _)| *n == "eth-dns-query")
        .map(|(_, f)| f.clone())
        .unwrap_or_default();
    let mut q = plain[..12].to_vec();
    q.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]);
    q.extend_from_slice(&plain[12..]);
    v.push(("eth-qinq-dns", q));

    // LLDP: chassis id (MAC), port id, TTL, system name, end (IEEE 802.1AB).
    let mut l = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
    l.extend_from_slice(&GW);
    l.extend_from_slice(&[0x88, 0xcc]);
    let tlv = |l: &mut Vec<u8>, t: u16, val: &[u8]| {
        l.extend_from_slice(&((t << 9) | val.len() as u16).to_be_bytes());
        l.extend_from_slice(val);
    };
    let mut chassis = vec![4];
    chassis.extend_from_slice(&GW);
    tlv(&mut l, 1, &chassis);
    tlv(&mut l, 2, b"\x05eth0");
    tlv(&mut l, 3, &[0, 120]);
    tlv(&mut l, 5, b"USW-Lite-8-PoE");
    tlv(&mut l, 0, &[]);
    v.push(("eth-lldp", l));

    // GRE (RFC 2784) carrying the TCP SYN's IPv4 packet, transparent
    // Ethernet bridging (0x6558) carrying the whole frame, and VXLAN.
    let syn = v[0].1.clone();
    let outer = Path {
        src_ip: v4(10, 0, 0, 2),
        dst_ip: v4(10, 0, 0, 3),
        ..p
    };
    for (name, proto, inner) in [
        ("eth-gre-ipv4", 0x0800u16, &syn[14..]),
        ("eth-gre-teb", 0x6558, &syn[..]),
    ] {
        let mut gre = vec![0, 0];
        gre.extend_from_slice(&proto.to_be_bytes());
        gre.extend_from_slice(inner);
        let mut g = Vec::new();
        ipv4_raw(&mut g, &outer, 47, &gre);
        v.push((name, g));
    }
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
    vx.extend_from_slice(&syn);
    frame::udp(&mut f, &outer, (49_152, 4789), &vx);
    v.push(("eth-vxlan", std::mem::take(&mut f)));

    // IPv6 with a hop-by-hop options header (router alert) before UDP.
    let mut h = Vec::new();
    frame::udp(&mut h, &v6_path(), (546, 547), b"\x01\x00\x00\x01");
    let mut x = h[..54].to_vec();
    x[20] = 0; // next header: hop-by-hop
    let plen = u16::from_be_bytes([x[18], x[19]]) + 8;
    x[18..20].copy_from_slice(&plen.to_be_bytes());
    x.extend_from_slice(&[17, 0, 5, 2, 0, 0, 1, 0]);
    x.extend_from_slice(&h[54..]);
    v.push(("eth-ipv6-hbh-dhcpv6", x));

    // A frame cut short inside the TCP header, and a runt.
    v.push(("eth-truncated-tcp", syn[..40].to_vec()));
    v.push(("eth-runt", syn[..10].to_vec()));

    // A router advertisement (RFC 4861 §4.2) from the gateway's link-local
    // address: source link-layer address, MTU, and an on-link, autonomous
    // /64 (§4.6.2) that ward-core's scope learns.
    let ra_path = Path {
        src_mac: GW,
        dst_mac: [0x33, 0x33, 0, 0, 0, 1],
        src_ip: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0x265a, 0x4cff, 0xfe10, 1)),
        dst_ip: IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
        vlan: None,
        ttl: 255,
    };
    // Hop limit 64, no flags, router lifetime 1800 s, reachable time and retrans timer 0.
    let mut ra = vec![64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    ra.extend_from_slice(&[1, 1]);
    ra.extend_from_slice(&GW);
    ra.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0xdc]);
    ra.extend_from_slice(&[3, 4, 64, 0xc0]);
    ra.extend_from_slice(&86_400u32.to_be_bytes());
    ra.extend_from_slice(&14_400u32.to_be_bytes());
    ra.extend_from_slice(&[0; 4]);
    ra.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0).octets());
    frame::icmpv6(&mut f, &ra_path, 134, 0, &ra);
    v.push(("eth-icmpv6-router-advertisement", std::mem::take(&mut f)));
    v
}

/// Ethernet + a bare IPv4 header with `proto` around `body`.
fn ipv4_raw(out: &mut Vec<u8>, p: &Path, proto: u8, body: &[u8]) {
    // Build a UDP frame of the same length and patch protocol and payload:
    // frame.rs computes the IPv4 checksum, recompute it after the patch.
    frame::udp(out, p, (0, 0), &body[..body.len().saturating_sub(8)]);
    out.truncate(34);
    out[23] = proto;
    out.extend_from_slice(body);
    out[24] = 0;
    out[25] = 0;
    let mut sum: u32 = out[14..34]
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    out[24..26].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

fn write(dir: &FsPath, name: &str, data: &[u8]) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    let p = dir.join(format!("seed-{name}"));
    fs::write(&p, data).with_context(|| format!("cannot write {}", p.display()))
}

fn decode_seeds(dir: &FsPath) -> anyhow::Result<()> {
    for (name, f) in ethernet_frames() {
        let mut s = vec![SEL_ETHERNET];
        s.extend_from_slice(&f);
        write(dir, name, &s)?;
    }
    let frames = ethernet_frames();
    let syn = &frames[0].1;
    let ip = &syn[14..];
    let v6 = &frames
        .iter()
        .find(|(n, _)| *n == "eth-ipv6-ntp")
        .map(|(_, f)| f.clone())
        .unwrap_or_default()[14..];
    let seeds: Vec<(&str, u8, Vec<u8>)> = vec![
        ("raw-ipv4-syn", SEL_RAW, ip.to_vec()),
        ("raw-ipv6-ntp", SEL_RAW, v6.to_vec()),
        ("ipv4-syn", SEL_IPV4, ip.to_vec()),
        ("ipv6-ntp", SEL_IPV6, v6.to_vec()),
        // BSD null: address family in host (little-endian) order; loop: network order.
        (
            "null-ipv4",
            SEL_NULL,
            [&2u32.to_le_bytes()[..], ip].concat(),
        ),
        (
            "loop-ipv6",
            SEL_LOOP,
            [&30u32.to_be_bytes()[..], v6].concat(),
        ),
        // Linux cooked v1: packet type, ARPHRD, address length, address, protocol.
        (
            "sll-ipv4",
            SEL_SLL,
            [&[0, 0, 0, 1, 0, 6][..], &CAM, &[0, 0, 0x08, 0x00], ip].concat(),
        ),
        // Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address.
        (
            "sll2-ipv4",
            SEL_SLL2,
            [
                &[0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6][..],
                &CAM,
                &[0, 0],
                ip,
            ]
            .concat(),
        ),
        // The high bit of the selector: cut by a snap length.
        ("eth-syn-snapped", SEL_ETHERNET | 0x80, syn[..54].to_vec()),
    ];
    for (name, sel, f) in seeds {
        let mut s = vec![sel];
        s.extend_from_slice(&f);
        write(dir, name, &s)?;
    }
    Ok(())
}

fn generated(n: u64, flows: usize, seed: u64) -> Vec<(i64, Vec<u8>)> {
    let mut g = Generator::new(Config {
        packets: n,
        concurrent_flows: flows,
        seed,
        devices: 6,
        servers: 4,
        gap_secs: 0.5,
        ..Config::default()
    });
    let mut v = Vec::new();
    while let Some((ts, f)) = g.next_frame() {
        v.push((ts, f.to_vec()));
    }
    v
}

fn capture_seeds(dir: &FsPath, real: Option<&FsPath>) -> anyhow::Result<()> {
    let frames = generated(12, 3, 11);
    let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET)?;
    for (ts, f) in &frames {
        w.write(*ts, f)?;
    }
    let le = w.into_inner();
    write(dir, "pcap-le-usec", &le)?;
    write(dir, "pcap-truncated", &le[..le.len() - 37])?;
    // The same file big-endian with nanosecond timestamps (magic a1b23c4d).
    let mut be = Vec::new();
    be.extend_from_slice(&0xa1b2_3c4du32.to_be_bytes());
    be.extend_from_slice(&2u16.to_be_bytes());
    be.extend_from_slice(&4u16.to_be_bytes());
    be.extend_from_slice(&[0; 8]);
    be.extend_from_slice(&65_535u32.to_be_bytes());
    be.extend_from_slice(&1u32.to_be_bytes());
    for (ts, f) in &frames {
        be.extend_from_slice(&((ts / 1_000_000) as u32).to_be_bytes());
        be.extend_from_slice(&(((ts % 1_000_000) * 1000) as u32).to_be_bytes());
        be.extend_from_slice(&(f.len() as u32).to_be_bytes());
        be.extend_from_slice(&(f.len() as u32 + 100).to_be_bytes());
        be.extend_from_slice(f);
    }
    write(dir, "pcap-be-nsec-snapped", &be)?;
    // pcapng: an Ethernet interface in µs and a raw-IP one in ns.
    let ng_packets: Vec<(u32, u64, &[u8])> = frames
        .iter()
        .enumerate()
        .map(|(i, (ts, f))| {
            if i % 2 == 0 {
                (0, *ts as u64, &f[..])
            } else {
                (1, *ts as u64 * 1000, &f[14..])
            }
        })
        .collect();
    write(
        dir,
        "pcapng-two-interfaces",
        &pcapng(&[(1, 6), (101, 9)], &ng_packets),
    )?;
    if let Some(path) = real {
        let data = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        // Slices of whole records from the start, each at most ~4 KB.
        let mut at = 24;
        let mut cut = Vec::new();
        while at + 16 <= data.len() && cut.len() < 3 {
            let start = at;
            while at + 16 <= data.len() && at - start < 4000 {
                let caplen =
                    u32::from_le_bytes([data[at + 8], data[at + 9], data[at + 10], data[at + 11]])
                        as usize;
                at += 16 + caplen;
            }
            let mut s = data[..24].to_vec();
            s.extend_from_slice(&data[start..at.min(data.len())]);
            cut.push(s);
        }
        for (i, s) in cut.iter().enumerate() {
            write(dir, &format!("real-slice-{i}"), s)?;
        }
    }
    Ok(())
}

/// Engine input: link selector, then `[step][len lo][len hi][frame]`.
fn engine_seeds(dir: &FsPath) -> anyhow::Result<()> {
    for (seed, n, flows) in [(1u64, 40u64, 3usize), (2, 60, 5), (3, 80, 12)] {
        let frames = generated(n, flows, seed);
        let mut s = vec![0u8]; // Ethernet
        let mut prev = frames.first().map(|f| f.0).unwrap_or(0);
        for (ts, f) in &frames {
            s.push(((ts - prev) / 50_000).clamp(0, 255) as u8);
            prev = *ts;
            s.extend_from_slice(&(f.len() as u16).to_le_bytes());
            s.extend_from_slice(f);
        }
        write(dir, &format!("generated-{seed}"), &s)?;
    }
    // Every kind of frame once, with a long pause (expiry) in the middle.
    let mut s = vec![0u8];
    for (i, (_, f)) in ethernet_frames().iter().enumerate() {
        s.push(if i == 8 { 255 } else { 1 });
        s.extend_from_slice(&(f.len() as u16).to_le_bytes());
        s.extend_from_slice(f);
    }
    write(dir, "all-frame-kinds", &s)
}

/// App-parser input: transport, ports, then `[dir][len lo][len hi][bytes]`.
fn dialog(udp: bool, sport: u16, dport: u16, msgs: &[(bool, &[u8])]) -> Vec<u8> {
    let mut s = vec![u8::from(udp)];
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    for (to_client, m) in msgs {
        s.push(u8::from(*to_client));
        s.extend_from_slice(&(m.len() as u16).to_le_bytes());
        s.extend_from_slice(m);
    }
    s
}

fn app_seeds(dir: &FsPath) -> anyhow::Result<()> {
    let c = false; // client → server
    let s = true;
    let b = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = Vec::new();
        f(&mut v);
        v
    };
    let get = b(&|v| {
        payload::http_request(
            v,
            "192.168.1.20:8080",
            "/description.xml",
            "Roku/DVP-12.5 (12.5.0.4178)",
        )
    });
    let resp = b(&|v| {
        payload::http_response_head(v, "Linux/4.9 UPnP/1.0 Hue/1.0", "text/xml", 27);
        v.extend_from_slice(b"<root><device/></root>\r\n\r\n");
    });
    let ch = b(&|v| payload::tls_client_hello(v, "clients3.google.com", 99));
    let sh = b(&|v| payload::tls_server_flight(v, 98, 600));
    let q = b(&|v| payload::dns_query(v, 7, "a1.tuyaeu.com", false));
    let r = b(&|v| {
        payload::dns_response(
            v,
            7,
            "a1.tuyaeu.com",
            IpAddr::V4(Ipv4Addr::new(3, 120, 1, 2)),
        )
    });
    let mut q_tcp = (q.len() as u16).to_be_bytes().to_vec();
    q_tcp.extend_from_slice(&q);
    let mdns = b(&|v| {
        payload::mdns_announce(
            v,
            "hue-bridge-a1b2",
            "_hue._tcp.local",
            "Hue Bridge - A1B2C3",
            Ipv4Addr::new(10, 0, 0, 40),
            "BSB002",
        )
    });
    let ntpq = b(&|v| payload::ntp(v, false, 1_767_225_600));
    let ntpr = b(&|v| payload::ntp(v, true, 1_767_225_601));
    let msearch = b(&|v| payload::ssdp_msearch(v, "Android/13 UPnP/1.0 Sonos/70.3"));
    let notify = b(&|v| {
        payload::ssdp_notify(
            v,
            Ipv4Addr::new(10, 0, 0, 40),
            "Linux/3.14 UPnP/1.0 IpBridge/1.50.0",
            "2f402f80-da50-11e1-9b23-001788a1b2c3",
        )
    });
    let conn =
        b(&|v| payload::mqtt_connect(v, "esp-plug-1234", Some(("homeassistant", "hunter22"))));
    let ack = b(&|v| payload::mqtt_connack(v));
    let publ = b(&|v| payload::mqtt_publish(v, "home/plug/state", b"{\"power\":1}"));
    let dhcp = b(&|v| payload::dhcp_discover(v, CAM, 0x1234_5678, "ipcam-3456", "udhcp 1.30.1"));
    // SNMPv1 GetRequest for sysDescr.0 with community "public" (RFC 1157, BER).
    let snmp: &[u8] = &[
        0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x19,
        0x02, 0x01, 0x2a, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08,
        0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
    ];
    let telnet_neg: &[u8] = &[0xff, 0xfd, 0x18, 0xff, 0xfd, 0x20, 0xff, 0xfb, 0x01];
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("http", dialog(false, 51_000, 8080, &[(c, &get), (s, &resp)])),
        ("http-split", dialog(false, 51_000, 80, &[(c, &get[..10]), (c, &get[10..]), (s, &resp[..30]), (s, &resp[30..])])),
        ("tls", dialog(false, 51_001, 443, &[(c, &ch), (s, &sh)])),
        ("tls-odd-port", dialog(false, 51_001, 4443, &[(c, &ch[..100]), (c, &ch[100..])])),
        ("dns-udp", dialog(true, 53_001, 53, &[(c, &q), (s, &r)])),
        ("dns-tcp", dialog(false, 53_001, 53, &[(c, &q_tcp)])),
        ("mdns", dialog(true, 5353, 5353, &[(c, &mdns)])),
        ("ntp", dialog(true, 123, 123, &[(c, &ntpq), (s, &ntpr)])),
        ("ssdp-msearch", dialog(true, 1900, 1900, &[(c, &msearch)])),
        ("ssdp-notify", dialog(true, 1900, 1900, &[(c, &notify)])),
        ("mqtt", dialog(false, 40_100, 1883, &[(c, &conn), (s, &ack), (c, &publ)])),
        ("mqtt-odd-port", dialog(false, 40_100, 9001, &[(c, &conn)])),
        ("dhcp", dialog(true, 68, 67, &[(c, &dhcp)])),
        ("snmp", dialog(true, 40_200, 161, &[(c, snmp)])),
        ("ssh", dialog(false, 40_300, 22, &[(s, b"SSH-2.0-dropbear_2020.81\r\n"), (c, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")])),
        ("telnet", dialog(false, 40_400, 23, &[(s, telnet_neg), (s, b"\r\nlogin: "), (c, b"admin\r\n"), (s, b"Password: "), (c, b"admin\r\n"), (s, b"\r\nBusyBox v1.30.1 built-in shell (ash)\r\n# ")])),
        ("ftp", dialog(false, 40_500, 21, &[(s, b"220 (vsFTPd 3.0.3)\r\n"), (c, b"USER anonymous\r\n"), (s, b"331 Please specify the password.\r\n"), (c, b"PASS guest@\r\n"), (s, b"230 Login successful.\r\n")])),
        ("pop3", dialog(false, 40_600, 110, &[(s, b"+OK POP3 ready\r\n"), (c, b"USER alice\r\n"), (s, b"+OK\r\n"), (c, b"PASS s3cret\r\n"), (s, b"-ERR authentication failed\r\n")])),
        ("imap", dialog(false, 40_700, 143, &[(s, b"* OK IMAP4rev1 ready\r\n"), (c, b"a1 LOGIN alice s3cret\r\n"), (s, b"a1 OK LOGIN completed\r\n")])),
        ("smtp", dialog(false, 40_800, 587, &[(s, b"220 mail.example ESMTP\r\n"), (c, b"EHLO cam\r\n"), (s, b"250-mail.example\r\n250 AUTH PLAIN LOGIN\r\n"), (c, b"AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"), (s, b"235 2.7.0 Authentication successful\r\n")])),
        ("rtsp", dialog(false, 40_900, 554, &[(c, b"DESCRIBE rtsp://10.0.0.23:554/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 2\r\nAuthorization: Basic YWRtaW46MTIzNDU=\r\nUser-Agent: LibVLC/3.0.18\r\n\r\n"), (s, b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Basic realm=\"IP Camera\"\r\n\r\n")])),
        ("vnc", dialog(false, 41_000, 5900, &[(s, b"RFB 003.008\n"), (c, b"RFB 003.008\n"), (s, &[1, 2]), (c, &[2]), (s, &[0x11; 16]), (c, &[0x22; 16]), (s, &[0, 0, 0, 1])])),
    ];
    for (name, data) in seeds {
        write(dir, name, &data)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    decode_seeds(&a.out.join("decode"))?;
    capture_seeds(&a.out.join("capture_reader"), a.capture.as_deref())?;
    engine_seeds(&a.out.join("engine"))?;
    app_seeds(&a.out.join("app_parsers"))?;
    eprintln!("seeds written under {}", a.out.display());
    Ok(())
}
