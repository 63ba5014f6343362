//! Synthetic home/IoT traffic with a chosen number of concurrent flows.
//!
//! The network: one /16 LAN behind a router, `devices` stations whose MACs
//! carry real IEEE OUIs of IoT vendors (Espressif, Tuya, Amazon, Google,
//! Apple, Hikvision, Philips Hue …), some with IPv6, and a pool of remote
//! servers. `concurrent_flows` conversations are open at any time; the
//! generator visits them round-robin, one packet each, so every open
//! conversation advances once per *round*, and a conversation that ends is
//! replaced at once by a new one. A round lasts `gap_secs` of capture time,
//! which keeps every open flow well inside ward's idle timeouts.
//!
//! Conversation mix (by count): HTTPS/TLS 30 %, DNS 25 %, HTTP 10 %, MQTT
//! 8 %, other TCP 7 %, mDNS 6 %, NTP 4 %, SSDP 4 %, ICMP echo 4 %, ARP 1 %,
//! DHCP 1 %. TCP conversations have a full handshake, data both ways and a
//! FIN exchange; payloads are real protocol messages (see [`crate::payload`]),
//! so the application parsers run as on real traffic.
//!
//! Besides the open conversations the flow table also holds flows that ended
//! recently (until their closed/UDP timeout), so its peak is somewhat above
//! `concurrent_flows`; `gen-capture` prints the numbers and ward's `stats`
//! event shows the real peak.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::frame::{self, Path, ACK, FIN, PSH, SYN};
use crate::payload;
use crate::rng::Rng;

/// Generator settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub packets: u64,
    pub concurrent_flows: usize,
    pub seed: u64,
    pub devices: usize,
    /// Remote servers in the pool.
    pub servers: usize,
    /// Capture time one round over all open conversations takes.
    pub gap_secs: f64,
    /// Capture start, microseconds since the epoch.
    pub start_us: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            packets: 1_000_000,
            concurrent_flows: 10_000,
            seed: 1,
            devices: 250,
            servers: 8_192,
            gap_secs: 10.0,
            start_us: 1_767_225_600_000_000, // 2026-01-01T00:00:00Z
        }
    }
}

/// Device archetypes: OUI, host name stem, HTTP user agent, SNI, MQTT use.
struct Kind {
    oui: [u8; 3],
    name: &'static str,
    ua: &'static str,
    sni: &'static str,
    model: &'static str,
}

const KINDS: &[Kind] = &[
    Kind {
        oui: [0x24, 0x0a, 0xc4],
        name: "esp-plug",
        ua: "ESP32 HTTP Client/1.0",
        sni: "a1b2c3d4e5-ats.iot.eu-west-1.amazonaws.com",
        model: "ESP32-SmartPlug",
    },
    Kind {
        oui: [0x10, 0x5a, 0x17],
        name: "tuya-bulb",
        ua: "Tuya-IoT/2.0",
        sni: "a1.tuyaeu.com",
        model: "TY-LB01",
    },
    Kind {
        oui: [0x44, 0x65, 0x0d],
        name: "echo-dot",
        ua: "Dalvik/2.1.0 (Linux; U; Android 9; AEOBC Build/PS7624)",
        sni: "avs-alexa-eu.amazon.com",
        model: "Echo Dot",
    },
    Kind {
        oui: [0xf4, 0xf5, 0xd8],
        name: "google-home",
        ua: "CrKey armv7l 1.56.500000",
        sni: "clients3.google.com",
        model: "Google Home Mini",
    },
    Kind {
        oui: [0x3c, 0x22, 0xfb],
        name: "iphone",
        ua: "iOS/17.4 (21E219) dataaccessd/1.0",
        sni: "gateway.icloud.com",
        model: "iPhone15,2",
    },
    Kind {
        oui: [0x24, 0x28, 0xfd],
        name: "ipcam",
        ua: "Hikvision-Webs",
        sni: "dev.hik-connect.com",
        model: "DS-2CD2143G0-I",
    },
    Kind {
        oui: [0x00, 0x17, 0x88],
        name: "hue-bridge",
        ua: "hue/1.0",
        sni: "ws.meethue.com",
        model: "BSB002",
    },
    Kind {
        oui: [0x00, 0x04, 0x3c],
        name: "sonos",
        ua: "Linux UPnP/1.0 Sonos/70.3-35220 (ZPS23)",
        sni: "api.ws.sonos.com",
        model: "Sonos One",
    },
    Kind {
        oui: [0x20, 0xef, 0xbd],
        name: "roku",
        ua: "Roku/DVP-12.5 (12.5.0.4178)",
        sni: "api.roku.com",
        model: "Roku Express",
    },
    Kind {
        oui: [0xb8, 0x27, 0xeb],
        name: "raspberrypi",
        ua: "curl/7.88.1",
        sni: "deb.debian.org",
        model: "Raspberry Pi 3",
    },
    Kind {
        oui: [0x04, 0x7a, 0x0b],
        name: "xiaomi-vacuum",
        ua: "MiIO/1.0",
        sni: "de.api.io.mi.com",
        model: "roborock.vacuum.s5",
    },
    Kind {
        oui: [0x54, 0xaf, 0x97],
        name: "tapo-plug",
        ua: "Tapo/1.0",
        sni: "euw1-api.tplinkra.com",
        model: "P110",
    },
];

/// Router: a Ubiquiti gateway.
const ROUTER_MAC: [u8; 6] = [0x24, 0x5a, 0x4c, 0x10, 0x00, 0x01];
const ROUTER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const ROUTER_IP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);

struct Device {
    mac: [u8; 6],
    ip: Ipv4Addr,
    ip6: Option<Ipv6Addr>,
    kind: u8,
    next_port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Https,
    Http,
    Mqtt,
    OtherTcp,
    Dns,
    Ntp,
    Mdns,
    Ssdp,
    Icmp,
    Arp,
    Dhcp,
}

/// One open conversation. Kept small: a million of them must fit in memory.
#[derive(Clone, Copy, Debug)]
struct Conv {
    proto: Proto,
    v6: bool,
    dev: u16,
    /// Remote server index, or the peer device for LAN protocols.
    peer: u32,
    sport: u16,
    dport: u16,
    step: u16,
    /// Packets in the conversation.
    len: u16,
    cseq: u32,
    sseq: u32,
    salt: u32,
}

/// Counts of what was generated.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub packets: u64,
    pub bytes: u64,
    pub conversations: u64,
    pub tcp_conversations: u64,
    pub udp_conversations: u64,
}

/// The generator: an iterator of `(timestamp µs, frame)` in time order.
pub struct Generator {
    cfg: Config,
    rng: Rng,
    devices: Vec<Device>,
    slots: Vec<Option<Conv>>,
    cursor: usize,
    /// Nanoseconds, to keep sub-microsecond spacing exact.
    now_ns: i128,
    step_ns: i128,
    frame: Vec<u8>,
    scratch: Vec<u8>,
    pub totals: Totals,
}

impl Generator {
    pub fn new(cfg: Config) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let n_dev = cfg.devices.clamp(1, 60_000);
        let devices = (0..n_dev)
            .map(|i| {
                let kind = (rng.below(KINDS.len() as u64)) as u8;
                let oui = KINDS[kind as usize].oui;
                let host = (i + 2) as u16; // .0.0 is the network, .0.1 the router
                let mac = [
                    oui[0],
                    oui[1],
                    oui[2],
                    (rng.next_u64() & 0xff) as u8,
                    (host >> 8) as u8,
                    host as u8,
                ];
                let ip6 = rng
                    .chance(30)
                    .then(|| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, host >> 8, host & 0xff));
                Device {
                    mac,
                    ip: Ipv4Addr::new(10, 0, (host >> 8) as u8, host as u8),
                    ip6,
                    kind,
                    next_port: 32_768 + (rng.below(20_000)) as u16,
                }
            })
            .collect();
        let m = cfg.concurrent_flows.max(1);
        let step_ns = ((cfg.gap_secs * 1e9) / m as f64).max(1.0) as i128;
        Generator {
            now_ns: i128::from(cfg.start_us) * 1000,
            step_ns,
            rng,
            devices,
            slots: vec![None; m],
            cursor: 0,
            frame: Vec::with_capacity(2048),
            scratch: Vec::with_capacity(2048),
            totals: Totals::default(),
            cfg,
        }
    }

    /// Capture-time packet rate implied by the settings.
    pub fn packets_per_second(&self) -> f64 {
        1e9 / self.step_ns as f64
    }

    /// The next frame and its timestamp (µs), `None` after `packets` frames.
    pub fn next_frame(&mut self) -> Option<(i64, &[u8])> {
        if self.totals.packets >= self.cfg.packets {
            return None;
        }
        let i = self.cursor;
        self.cursor = (self.cursor + 1) % self.slots.len();
        let mut conv = match self.slots[i] {
            Some(c) => c,
            None => self.new_conv(),
        };
        self.frame.clear();
        self.emit(&mut conv);
        conv.step += 1;
        self.slots[i] = (conv.step < conv.len).then_some(conv);
        // Jitter of ±50 % around the mean spacing, never going back in time.
        let jitter = self.rng.below(self.step_ns as u64 + 1) as i128;
        self.now_ns += self.step_ns / 2 + jitter;
        self.totals.packets += 1;
        self.totals.bytes += self.frame.len() as u64;
        Some(((self.now_ns / 1000) as i64, &self.frame))
    }

    fn new_conv(&mut self) -> Conv {
        let r = &mut self.rng;
        let pick = r.below(100);
        let proto = match pick {
            0..30 => Proto::Https,
            30..55 => Proto::Dns,
            55..65 => Proto::Http,
            65..73 => Proto::Mqtt,
            73..80 => Proto::OtherTcp,
            80..86 => Proto::Mdns,
            86..90 => Proto::Ntp,
            90..94 => Proto::Ssdp,
            94..98 => Proto::Icmp,
            98 => Proto::Arp,
            _ => Proto::Dhcp,
        };
        let dev = r.below(self.devices.len() as u64) as usize;
        let has_v6 = self.devices[dev].ip6.is_some();
        let v6 = has_v6 && matches!(proto, Proto::Https | Proto::Dns | Proto::Icmp) && r.chance(40);
        let peer = r.below(self.cfg.servers.max(1) as u64) as u32;
        let (len, dport) = match proto {
            // handshake 3 + hello flights 3 + data + FIN 3
            Proto::Https => (
                9 + r.range(2, 24) as u16,
                if r.chance(90) { 443 } else { 8883 },
            ),
            Proto::Http => (
                8 + r.range(1, 12) as u16,
                if r.chance(80) { 80 } else { 8080 },
            ),
            Proto::Mqtt => (8 + r.range(2, 16) as u16, 1883),
            Proto::OtherTcp => (
                6 + r.range(2, 20) as u16,
                [5228u16, 8009, 7000, 9999][r.below(4) as usize],
            ),
            Proto::Dns => (2, 53),
            Proto::Ntp => (2, 123),
            Proto::Mdns => (1, 5353),
            Proto::Ssdp => (1, 1900),
            Proto::Icmp => (2 * r.range(1, 4) as u16, 0),
            Proto::Arp => (2, 0),
            Proto::Dhcp => (1, 67),
        };
        let d = &mut self.devices[dev];
        let sport = match proto {
            Proto::Mdns => 5353,
            Proto::Ssdp => 1900,
            Proto::Dhcp => 68,
            Proto::Icmp => r.next_u64() as u16, // echo identifier
            _ => {
                let p = d.next_port;
                d.next_port = if p >= 60_999 { 32_768 } else { p + 1 };
                p
            }
        };
        self.totals.conversations += 1;
        match proto {
            Proto::Https | Proto::Http | Proto::Mqtt | Proto::OtherTcp => {
                self.totals.tcp_conversations += 1
            }
            Proto::Dns | Proto::Ntp | Proto::Mdns | Proto::Ssdp | Proto::Dhcp => {
                self.totals.udp_conversations += 1
            }
            _ => {}
        }
        Conv {
            proto,
            v6,
            dev: dev as u16,
            peer,
            sport,
            dport,
            step: 0,
            len,
            cseq: r.next_u64() as u32,
            sseq: r.next_u64() as u32,
            salt: r.next_u64() as u32,
        }
    }

    fn server_ip(&self, c: &Conv) -> IpAddr {
        // Spread the pool over a few provider ranges.
        const BASES: [[u8; 2]; 6] = [
            [52, 28],
            [142, 250],
            [17, 253],
            [104, 16],
            [34, 120],
            [3, 120],
        ];
        let b = BASES[(c.peer as usize) % BASES.len()];
        let n = c.peer / BASES.len() as u32;
        if c.v6 {
            IpAddr::V6(Ipv6Addr::new(
                0x2a00,
                0x1450,
                0x4001,
                (n >> 16) as u16,
                0,
                0,
                0,
                n as u16 | 1,
            ))
        } else {
            IpAddr::V4(Ipv4Addr::new(
                b[0],
                b[1].wrapping_add((n >> 8) as u8 & 0x0f),
                n as u8,
                10 + (n >> 12) as u8 % 200,
            ))
        }
    }

    /// Client → server path of a conversation with a remote server (through the router).
    fn uplink(&self, c: &Conv) -> Path {
        let d = &self.devices[c.dev as usize];
        let (src_ip, dst_ip) = match (c.v6, d.ip6) {
            (true, Some(ip6)) => (IpAddr::V6(ip6), self.server_ip(c)),
            _ => (IpAddr::V4(d.ip), self.server_ip(c)),
        };
        Path {
            src_mac: d.mac,
            dst_mac: ROUTER_MAC,
            src_ip,
            dst_ip,
            vlan: None,
            ttl: 64,
        }
    }

    fn emit(&mut self, c: &mut Conv) {
        let mut out = std::mem::take(&mut self.frame);
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        match c.proto {
            Proto::Https | Proto::Http | Proto::Mqtt | Proto::OtherTcp => {
                self.tcp_step(&mut out, &mut buf, c)
            }
            Proto::Dns => {
                let dev = &self.devices[c.dev as usize];
                let kind = &KINDS[dev.kind as usize];
                let ip = self.server_ip(c);
                let resolver = if c.v6 {
                    IpAddr::V6(ROUTER_IP6)
                } else {
                    IpAddr::V4(ROUTER_IP)
                };
                let mut p = self.uplink(c);
                p.dst_ip = resolver;
                let id = c.salt as u16;
                if c.step == 0 {
                    payload::dns_query(&mut buf, id, kind.sni, c.v6);
                    frame::udp(&mut out, &p, (c.sport, 53), &buf);
                } else {
                    payload::dns_response(&mut buf, id, kind.sni, ip);
                    frame::udp(&mut out, &p.reversed(64), (53, c.sport), &buf);
                }
            }
            Proto::Ntp => {
                let p = self.uplink(c);
                let secs = (self.now_ns / 1_000_000_000) as u64;
                if c.step == 0 {
                    payload::ntp(&mut buf, false, secs);
                    frame::udp(&mut out, &p, (c.sport, 123), &buf);
                } else {
                    payload::ntp(&mut buf, true, secs);
                    frame::udp(&mut out, &p.reversed(52), (123, c.sport), &buf);
                }
            }
            Proto::Mdns => {
                let d = &self.devices[c.dev as usize];
                let kind = &KINDS[d.kind as usize];
                let host = format!("{}-{:02x}{:02x}", kind.name, d.mac[4], d.mac[5]);
                let service = match d.kind % 4 {
                    0 => "_hap._tcp.local",
                    1 => "_googlecast._tcp.local",
                    2 => "_airplay._tcp.local",
                    _ => "_http._tcp.local",
                };
                payload::mdns_announce(&mut buf, &host, service, &host, d.ip, kind.model);
                let group = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251));
                let p = Path {
                    src_mac: d.mac,
                    dst_mac: frame::multicast_mac(group),
                    src_ip: IpAddr::V4(d.ip),
                    dst_ip: group,
                    vlan: None,
                    ttl: 255,
                };
                frame::udp(&mut out, &p, (5353, 5353), &buf);
            }
            Proto::Ssdp => {
                let d = &self.devices[c.dev as usize];
                let kind = &KINDS[d.kind as usize];
                if c.salt & 1 == 0 {
                    payload::ssdp_msearch(&mut buf, kind.ua);
                } else {
                    let uuid = format!(
                        "2f402f80-da50-11e1-9b23-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                        d.mac[0], d.mac[1], d.mac[2], d.mac[3], d.mac[4], d.mac[5]
                    );
                    payload::ssdp_notify(&mut buf, d.ip, kind.ua, &uuid);
                }
                let group = IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250));
                let p = Path {
                    src_mac: d.mac,
                    dst_mac: frame::multicast_mac(group),
                    src_ip: IpAddr::V4(d.ip),
                    dst_ip: group,
                    vlan: None,
                    ttl: 4,
                };
                frame::udp(&mut out, &p, (1900, 1900), &buf);
            }
            Proto::Icmp => {
                let p = self.uplink(c);
                let seq = c.step / 2;
                buf.extend((0..56u8).map(|i| i.wrapping_add(c.salt as u8)));
                if c.step.is_multiple_of(2) {
                    frame::icmp_echo(&mut out, &p, true, c.sport, seq, &buf);
                } else {
                    frame::icmp_echo(&mut out, &p.reversed(117), false, c.sport, seq, &buf);
                }
            }
            Proto::Arp => {
                let d = &self.devices[c.dev as usize];
                let me = (d.mac, d.ip.octets());
                let router = (ROUTER_MAC, ROUTER_IP.octets());
                if c.step == 0 {
                    frame::arp(&mut out, true, router, ([0; 6], me.1));
                } else {
                    frame::arp(&mut out, false, me, router);
                }
            }
            Proto::Dhcp => {
                let d = &self.devices[c.dev as usize];
                let kind = &KINDS[d.kind as usize];
                let host = format!("{}-{:02x}{:02x}", kind.name, d.mac[4], d.mac[5]);
                payload::dhcp_discover(&mut buf, d.mac, c.salt, &host, kind.model);
                let bcast = IpAddr::V4(Ipv4Addr::BROADCAST);
                let p = Path {
                    src_mac: d.mac,
                    dst_mac: [0xff; 6],
                    src_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    dst_ip: bcast,
                    vlan: None,
                    ttl: 64,
                };
                frame::udp(&mut out, &p, (68, 67), &buf);
            }
        }
        self.frame = out;
        self.scratch = buf;
    }

    /// TCP: SYN, SYN/ACK, ACK, the protocol's body, FIN/ACK, FIN/ACK, ACK.
    fn tcp_step(&mut self, out: &mut Vec<u8>, buf: &mut Vec<u8>, c: &mut Conv) {
        let up = self.uplink(c);
        let down = up.reversed(if c.v6 { 56 } else { 118 });
        let ports = (c.sport, c.dport);
        let back = (c.dport, c.sport);
        let body_steps = c.len - 6;
        let s = c.step;
        if s == 0 {
            frame::tcp(
                out,
                &up,
                ports,
                c.cseq,
                0,
                SYN,
                &frame::LINUX_SYN_OPTIONS,
                &[],
            );
            c.cseq = c.cseq.wrapping_add(1);
        } else if s == 1 {
            let opts = [2, 4, 0x05, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7];
            frame::tcp(out, &down, back, c.sseq, c.cseq, SYN | ACK, &opts, &[]);
            c.sseq = c.sseq.wrapping_add(1);
        } else if s == 2 {
            frame::tcp(out, &up, ports, c.cseq, c.sseq, ACK, &[], &[]);
        } else if s < 3 + body_steps {
            let from_client = self.body(buf, c, s - 3);
            if from_client {
                frame::tcp(out, &up, ports, c.cseq, c.sseq, ACK | PSH, &[], buf);
                c.cseq = c.cseq.wrapping_add(buf.len() as u32);
            } else {
                frame::tcp(out, &down, back, c.sseq, c.cseq, ACK | PSH, &[], buf);
                c.sseq = c.sseq.wrapping_add(buf.len() as u32);
            }
        } else if s == 3 + body_steps {
            frame::tcp(out, &up, ports, c.cseq, c.sseq, FIN | ACK, &[], &[]);
            c.cseq = c.cseq.wrapping_add(1);
        } else if s == 4 + body_steps {
            frame::tcp(out, &down, back, c.sseq, c.cseq, FIN | ACK, &[], &[]);
            c.sseq = c.sseq.wrapping_add(1);
        } else {
            frame::tcp(out, &up, ports, c.cseq, c.sseq, ACK, &[], &[]);
        }
    }

    /// Payload of body step `j`; returns whether the client sends it.
    fn body(&mut self, buf: &mut Vec<u8>, c: &Conv, j: u16) -> bool {
        let d = &self.devices[c.dev as usize];
        let kind = &KINDS[d.kind as usize];
        let salt = u64::from(c.salt) << 16 | u64::from(j);
        match (c.proto, j) {
            (Proto::Https, 0) => {
                payload::tls_client_hello(buf, kind.sni, salt);
                true
            }
            (Proto::Https, 1) => {
                payload::tls_server_flight(buf, salt, 1448);
                false
            }
            (Proto::Https, 2) => {
                buf.extend_from_slice(&[0x14, 0x03, 0x03, 0, 1, 1]);
                payload::tls_app_data(buf, salt, 74);
                true
            }
            (Proto::Https, j) => {
                if j % 3 == 0 {
                    payload::tls_app_data(buf, salt, 120 + (salt % 400) as usize);
                    true
                } else {
                    payload::tls_app_data(buf, salt, 1443);
                    false
                }
            }
            (Proto::Http, 0) => {
                let path = [
                    "/",
                    "/status.json",
                    "/description.xml",
                    "/api/v1/state",
                    "/firmware/check",
                ][(c.salt % 5) as usize];
                let host = if c.dport == 80 {
                    kind.sni.to_string()
                } else {
                    format!("{}:{}", kind.sni, c.dport)
                };
                payload::http_request(buf, &host, path, kind.ua);
                true
            }
            (Proto::Http, 1) => {
                let body_len = 1448 * usize::from(c.len - 7);
                payload::http_response_head(buf, "nginx/1.24.0", "application/json", body_len);
                fill_body(buf, salt, 1448);
                false
            }
            (Proto::Http, _) => {
                fill_body(buf, salt, 1448);
                false
            }
            (Proto::Mqtt, 0) => {
                let id = format!("{}-{:02x}{:02x}", kind.name, d.mac[4], d.mac[5]);
                let login = c
                    .salt
                    .is_multiple_of(4)
                    .then_some(("homeassistant", "hunter22"));
                payload::mqtt_connect(buf, &id, login);
                true
            }
            (Proto::Mqtt, 1) => {
                payload::mqtt_connack(buf);
                false
            }
            (Proto::Mqtt, j) => {
                let topic = format!("home/{}/{:02x}{:02x}/state", kind.name, d.mac[4], d.mac[5]);
                let msg = format!("{{\"power\":{},\"rssi\":-{}}}", j % 2, 40 + salt % 40);
                payload::mqtt_publish(buf, &topic, msg.as_bytes());
                j % 4 != 3
            }
            (_, j) => {
                let n = 40 + (self.rng.below(1400)) as usize;
                fill_body(buf, salt, n);
                j % 2 == 0
            }
        }
    }
}

/// Opaque body bytes (compressed-looking, not all zero).
fn fill_body(buf: &mut Vec<u8>, salt: u64, n: usize) {
    let mut x = salt | 1;
    let target = buf.len() + n;
    while buf.len() < target {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        let take = (target - buf.len()).min(8);
        buf.extend_from_slice(&b[..take]);
    }
}
