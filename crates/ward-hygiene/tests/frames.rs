//! Service findings over conversations built in code (etherparse frames,
//! payloads written from the protocol specs): ADB and Telnet answering,
//! SSDP answering a remote address, an admin page served to a remote
//! client — and their local-only counterparts, which must stay quiet.

use ward_core::scope::Cidr;
use ward_core::{Config, Engine, Event, FindingKind, Timestamp, VecSink};
use ward_hygiene::HygieneDetector;

const ROUTER: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const DEV: [u8; 6] = [0xb0, 0xc5, 0x54, 0x25, 0x5b, 0x0e];
const PHONE: [u8; 6] = [0x3c, 0x28, 0x6d, 0x01, 0x02, 0x03];

/// One TCP conversation with correct sequence numbers.
struct Tcp {
    cmac: [u8; 6],
    smac: [u8; 6],
    cip: [u8; 4],
    sip: [u8; 4],
    cport: u16,
    sport: u16,
    cseq: u32,
    sseq: u32,
    frames: Vec<Vec<u8>>,
}

impl Tcp {
    fn new(cmac: [u8; 6], cip: [u8; 4], smac: [u8; 6], sip: [u8; 4], sport: u16) -> Self {
        Tcp {
            cmac,
            smac,
            cip,
            sip,
            cport: 40000,
            sport,
            cseq: 1000,
            sseq: 5000,
            frames: Vec::new(),
        }
    }
    fn send(&mut self, from_client: bool, syn: bool, payload: &[u8]) {
        let (src, dst, sip, dip, sp, dp, seq, ack) = if from_client {
            (
                self.cmac, self.smac, self.cip, self.sip, self.cport, self.sport, self.cseq,
                self.sseq,
            )
        } else {
            (
                self.smac, self.cmac, self.sip, self.cip, self.sport, self.cport, self.sseq,
                self.cseq,
            )
        };
        let mut b = etherparse::PacketBuilder::ethernet2(src, dst)
            .ipv4(sip, dip, 64)
            .tcp(sp, dp, seq, 65535);
        if syn {
            b = b.syn();
        }
        if !(syn && from_client) {
            b = b.ack(ack);
        }
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        self.frames.push(out);
        let adv = payload.len() as u32 + u32::from(syn);
        if from_client {
            self.cseq += adv;
        } else {
            self.sseq += adv;
        }
    }
    fn handshake(mut self) -> Self {
        self.send(true, true, b"");
        self.send(false, true, b"");
        self.send(true, false, b"");
        self
    }
}

fn udp(
    smac: [u8; 6],
    dmac: [u8; 6],
    sip: [u8; 4],
    dip: [u8; 4],
    sp: u16,
    dp: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    etherparse::PacketBuilder::ethernet2(smac, dmac)
        .ipv4(sip, dip, 64)
        .udp(sp, dp)
        .write(&mut out, payload)
        .unwrap();
    out
}

fn run(frames: &[Vec<u8>]) -> Vec<Event> {
    run_every(frames, 1_000_000)
}

/// Frames `step_us` microseconds apart.
fn run_every(frames: &[Vec<u8>], step_us: i64) -> Vec<Event> {
    run_on(frames, step_us, &[])
}

/// Frames `step_us` microseconds apart, on a LAN that also owns `networks`
/// (`[network] local_networks`).
fn run_on(frames: &[Vec<u8>], step_us: i64, networks: &[Cidr]) -> Vec<Event> {
    let mut engine = Engine::new(
        Config::default().engine,
        1,
        vec![Box::new(HygieneDetector::default())],
    )
    .with_local_networks(networks);
    let mut sink = VecSink::default();
    for (i, f) in frames.iter().enumerate() {
        engine.process(
            Timestamp::from_secs(1_700_000_000).plus_micros(i as i64 * step_us),
            1,
            f,
            f.len() as u32,
            &mut sink,
        );
    }
    engine.finish(&mut sink);
    sink.0
}

fn services(events: &[Event]) -> Vec<String> {
    let mut v: Vec<String> = events
        .iter()
        .filter_map(|e| e.finding.as_ref())
        .filter(|f| f.kind == FindingKind::RiskyService)
        .filter_map(|f| {
            f.evidence
                .get("service")
                .and_then(|s| s.as_str())
                .map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn adb_and_telnet_answering_are_risky_services_once() {
    let mut frames = Vec::new();
    for _ in 0..3 {
        frames.extend(
            Tcp::new(PHONE, [192, 168, 1, 5], DEV, [192, 168, 1, 30], 5555)
                .handshake()
                .frames,
        );
    }
    frames.extend(
        Tcp::new(PHONE, [192, 168, 1, 5], DEV, [192, 168, 1, 30], 2323)
            .handshake()
            .frames,
    );
    let events = run(&frames);
    assert_eq!(services(&events), ["adb", "telnet"]);
    let adb = events
        .iter()
        .find(|e| e.finding.as_ref().is_some_and(|f| f.protocol == "adb"))
        .unwrap();
    assert_eq!(adb.dest_port, Some(5555));
    assert_eq!(
        adb.finding.as_ref().unwrap().device.as_deref(),
        Some("b0:c5:54:25:5b:0e")
    );
}

#[test]
fn a_port_that_only_resets_is_not_a_service() {
    let mut t = Tcp::new(PHONE, [192, 168, 1, 5], DEV, [192, 168, 1, 30], 5555);
    t.send(true, true, b"");
    let mut out = Vec::new();
    etherparse::PacketBuilder::ethernet2(DEV, PHONE)
        .ipv4([192, 168, 1, 30], [192, 168, 1, 5], 64)
        .tcp(5555, 40000, 0, 0)
        .rst()
        .ack(1001)
        .write(&mut out, b"")
        .unwrap();
    t.frames.push(out);
    assert!(services(&run(&t.frames)).is_empty());
}

#[test]
fn ssdp_answering_a_remote_address_is_risky_but_not_a_local_one() {
    let search = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
    let reply = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\nUSN: uuid:1::upnp:rootdevice\r\nSERVER: Linux/3.4 UPnP/1.0 miniupnpd/1.9\r\nLOCATION: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n";
    let remote = [203, 0, 113, 9];
    let lan = [192, 168, 1, 1];
    let wan = vec![
        udp(ROUTER, DEV, remote, lan, 5353, 1900, search),
        udp(DEV, ROUTER, lan, remote, 1900, 5353, reply),
    ];
    let events = run(&wan);
    assert_eq!(services(&events), ["upnp-wan"]);
    let local = vec![
        udp(PHONE, DEV, [192, 168, 1, 5], lan, 5353, 1900, search),
        udp(DEV, PHONE, lan, [192, 168, 1, 5], 1900, 5353, reply),
    ];
    assert!(services(&run(&local)).is_empty());
}

#[test]
fn on_a_public_address_lan_ssdp_answering_the_internet_is_risky_but_not_a_neighbour() {
    // The LAN is 198.51.100.0/24: its router answers SSDP at .1.
    let search = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
    let reply = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\nUSN: uuid:1::upnp:rootdevice\r\nSERVER: Linux/3.4 UPnP/1.0 miniupnpd/1.9\r\nLOCATION: http://198.51.100.1:5000/rootDesc.xml\r\n\r\n";
    let net: Cidr = "198.51.100.0/24".parse().unwrap();
    let server = [198, 51, 100, 1];
    let conv = |client: [u8; 4], mac: [u8; 6]| {
        vec![
            udp(mac, DEV, client, server, 5353, 1900, search),
            udp(DEV, mac, server, client, 1900, 5353, reply),
        ]
    };
    let wan = conv([203, 0, 113, 9], ROUTER);
    assert_eq!(services(&run_on(&wan, 1_000_000, &[net])), ["upnp-wan"]);
    let lan = conv([198, 51, 100, 5], PHONE);
    assert!(services(&run_on(&lan, 1_000_000, &[net])).is_empty());
    // Without the setting the server's public address is not the LAN's,
    // and the exposure goes unseen (the fixed rule's answer).
    assert!(services(&run(&wan)).is_empty());
}

/// A client at `client` (frames from `mac`) opening the camera's LuCI admin
/// page at `server`, and the page served.
fn admin_page_visit(client: [u8; 4], mac: [u8; 6], server: [u8; 4]) -> Vec<Vec<u8>> {
    let mut t = Tcp::new(mac, client, DEV, server, 80).handshake();
    t.send(
        true,
        false,
        b"GET /cgi-bin/luci HTTP/1.1\r\nHost: cam\r\nUser-Agent: curl/8\r\n\r\n",
    );
    t.send(
        false,
        false,
        b"HTTP/1.1 200 OK\r\nServer: uhttpd\r\nContent-Length: 5\r\n\r\nhello",
    );
    t.frames
}

#[test]
fn admin_page_served_to_a_remote_client_is_risky_but_not_to_a_local_one() {
    let conv = |client: [u8; 4], mac: [u8; 6]| admin_page_visit(client, mac, [192, 168, 1, 30]);
    let events = run(&conv([198, 51, 100, 7], ROUTER));
    assert_eq!(services(&events), ["admin-page-exposed"]);
    let f = events.iter().find_map(|e| e.finding.as_ref()).unwrap();
    assert_eq!(f.evidence["uri"], "/cgi-bin/luci");
    assert!(services(&run(&conv([192, 168, 1, 5], PHONE))).is_empty());
}

#[test]
fn on_a_public_address_lan_an_admin_page_served_to_the_internet_is_exposed() {
    // The LAN is 198.51.100.0/24: the camera at .30, a phone at .5.
    let conv = |client: [u8; 4], mac: [u8; 6]| admin_page_visit(client, mac, [198, 51, 100, 30]);
    let lan: Cidr = "198.51.100.0/24".parse().unwrap();
    let remote = conv([203, 0, 113, 9], ROUTER);
    let events = run_on(&remote, 1_000_000, &[lan]);
    assert_eq!(services(&events), ["admin-page-exposed"]);
    // A LAN client is no exposure.
    let local = conv([198, 51, 100, 5], PHONE);
    assert!(services(&run_on(&local, 1_000_000, &[lan])).is_empty());
    // Without the setting the camera's public address is "the internet"
    // too, and the exposure goes unseen.
    assert!(services(&run(&remote)).is_empty());
}

/// A device announcing an old UPnP stack in its SSDP `SERVER` header is
/// `vulnerable-software` (libupnp 1.6.6, CVE-2012-5958); the fixed 1.6.18 is not.
#[test]
fn an_old_upnp_stack_announced_over_ssdp_is_vulnerable_software() {
    let notify = |server: &str| {
        format!(
            "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://192.168.1.20:49152/description.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nSERVER: {server}\r\nUSN: uuid:Socket-1_0-221239K1100001::upnp:rootdevice\r\n\r\n"
        )
    };
    let mcast_mac = [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa];
    let frame = |server: &str| {
        udp(
            DEV,
            mcast_mac,
            [192, 168, 1, 20],
            [239, 255, 255, 250],
            1900,
            1900,
            notify(server).as_bytes(),
        )
    };
    let events = run(&[frame(
        "Linux/2.6.21, UPnP/1.0, Portable SDK for UPnP devices/1.6.6",
    )]);
    let vulns: Vec<_> = events
        .iter()
        .filter_map(|e| e.finding.as_ref())
        .filter(|f| f.kind == FindingKind::VulnerableSoftware)
        .collect();
    assert_eq!(vulns.len(), 1, "{events:#?}");
    assert_eq!(vulns[0].protocol, "ssdp");
    assert_eq!(vulns[0].evidence["cve"][0], "CVE-2012-5958");
    assert_eq!(vulns[0].evidence["version"], "1.6.6");
    let fixed = run(&[frame(
        "Linux/2.6.21, UPnP/1.0, Portable SDK for UPnP devices/1.6.18",
    )]);
    assert!(!fixed
        .iter()
        .filter_map(|e| e.finding.as_ref())
        .any(|f| f.kind == FindingKind::VulnerableSoftware));
}

/// One FTP login (`USER`, `PASS`, then `reply`) from `client`'s port
/// `cport` to `server`.
fn ftp_login(
    (client, cport): ([u8; 4], u16),
    server: [u8; 4],
    user: &str,
    reply: &[u8],
) -> Vec<Vec<u8>> {
    let mut t = Tcp::new(PHONE, client, DEV, server, 21);
    t.cport = cport;
    let mut t = t.handshake();
    t.send(false, false, b"220 FTP server ready\r\n");
    t.send(true, false, format!("USER {user}\r\n").as_bytes());
    t.send(false, false, b"331 Password required\r\n");
    t.send(true, false, b"PASS Tr0ub4dor&3-horse\r\n");
    t.send(false, false, reply);
    t.frames
}

fn cleartext(events: &[Event]) -> Vec<&ward_core::Finding> {
    events
        .iter()
        .filter_map(|e| e.finding.as_ref())
        .filter(|f| f.kind == FindingKind::CleartextCredentials)
        .collect()
}

/// The `cleartext-credentials` finding of a server counts every login of
/// the burst (usernames, outcomes, methods), is rated lower when every
/// login failed, and findings still pending at the end are written in
/// (server, protocol) order — here 192.168.1.100 before 192.168.1.9, as
/// text sorts.
#[test]
fn cleartext_logins_are_aggregated_per_server_and_written_in_order() {
    let nine = [192, 168, 1, 9];
    let hundred = [192, 168, 1, 100];
    let mut frames = Vec::new();
    let client = [192, 168, 1, 5];
    let failed = b"530 Login incorrect\r\n";
    let ok = b"230 Logged in\r\n";
    frames.extend(ftp_login((client, 40001), nine, "alice", failed));
    frames.extend(ftp_login((client, 40002), nine, "bob", ok));
    frames.extend(ftp_login(([192, 168, 1, 6], 40003), nine, "alice", ok));
    frames.extend(ftp_login((client, 40004), hundred, "eve", failed));
    let events = run(&frames);
    let found = cleartext(&events);
    assert_eq!(found.len(), 2, "{events:#?}");
    let (a, b) = (found[0], found[1]);
    assert_eq!(a.evidence["logins"], 1);
    assert_eq!(a.evidence["usernames"], serde_json::json!(["eve"]));
    assert_eq!(a.evidence["outcomes"], serde_json::json!({"failure": 1}));
    assert_eq!(a.severity, 3, "only failed guesses");
    assert!(a.summary.contains("192.168.1.100"), "{}", a.summary);
    assert_eq!(b.evidence["logins"], 3);
    assert_eq!(b.evidence["usernames"], serde_json::json!(["alice", "bob"]));
    assert_eq!(
        b.evidence["outcomes"],
        serde_json::json!({"failure": 1, "success": 2})
    );
    assert_eq!(b.severity, 2);
    assert_eq!(b.username.as_deref(), Some("alice"));
    assert_eq!(b.outcome.as_deref(), Some("failure"));
    assert!(b.secret_redacted && b.secret.is_none());
    assert!(b.evidence["first_login"].as_str() < b.evidence["last_login"].as_str());
}

/// A server's `cleartext-credentials` finding is written once its logins
/// pause for the window (30 s), counting only the burst before it; one
/// whose logins never pause is written at the longest delay (300 s) after
/// the first. Later logins make no second finding.
#[test]
fn cleartext_findings_are_written_when_due() {
    let (paused, busy) = ([192, 168, 1, 9], [192, 168, 1, 10]);
    let client = [192, 168, 1, 5];
    let ok = b"230 Logged in\r\n";
    let filler = |i: u16| udp(PHONE, ROUTER, client, [192, 168, 1, 1], 50_000 + i, 9, b"x");
    let mut frames = Vec::new();
    let mut port = 41_000;
    let mut login = |frames: &mut Vec<Vec<u8>>, server| {
        port += 1;
        frames.extend(ftp_login((client, port), server, "alice", ok));
    };
    // One frame a second: three logins to `paused` (≈ 30 s), 40 s of
    // silence, two more; `busy` gets a login every ≈ 20 s for 400 s.
    for _ in 0..3 {
        login(&mut frames, paused);
    }
    for i in 0..40 {
        frames.push(filler(i));
    }
    for _ in 0..2 {
        login(&mut frames, paused);
    }
    for k in 0..20 {
        login(&mut frames, busy);
        for i in 0..11 {
            frames.push(filler(100 + k * 11 + i));
        }
    }
    let events = run(&frames);
    let found = cleartext(&events);
    assert_eq!(found.len(), 2, "{found:#?}");
    let logins = |ip: &str| {
        found
            .iter()
            .find(|f| f.summary.contains(ip))
            .map(|f| f.evidence["logins"].clone())
    };
    assert_eq!(logins("192.168.1.9'"), Some(serde_json::json!(3)));
    // Written at 300 s: the logins of the first 300 s (one per ≈ 20 s),
    // not all 20.
    let busy_logins = logins("192.168.1.10'").and_then(|v| v.as_u64()).unwrap();
    assert!((14..=16).contains(&busy_logins), "{busy_logins}");
}

/// A vulnerable banner is reported once per device, however often it is
/// seen; its verdict is remembered per banner, not per device.
#[test]
fn a_vulnerable_banner_is_reported_once_per_device() {
    let frame = |mac: [u8; 6], ip: [u8; 4]| {
        let server = "Linux/2.6.21, UPnP/1.0, Portable SDK for UPnP devices/1.6.6";
        let notify = format!(
            "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nSERVER: {server}\r\nUSN: uuid:1::upnp:rootdevice\r\n\r\n"
        );
        let mcast_mac = [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa];
        udp(
            mac,
            mcast_mac,
            ip,
            [239, 255, 255, 250],
            1900,
            1900,
            notify.as_bytes(),
        )
    };
    let a = frame(DEV, [192, 168, 1, 20]);
    let b = frame(PHONE, [192, 168, 1, 21]);
    let events = run(&[a.clone(), b.clone(), a, b]);
    let devices: Vec<_> = events
        .iter()
        .filter_map(|e| e.finding.as_ref())
        .filter(|f| f.kind == FindingKind::VulnerableSoftware)
        .map(|f| f.device.clone())
        .collect();
    assert_eq!(devices.len(), 2, "{events:#?}");
    assert_ne!(devices[0], devices[1]);
}

/// More findings pending at the end of input than one part of the
/// report (`FINISH_PART`): the engine gets them in parts, and the sinks
/// see every one, in (server, protocol) order, as if written at once.
#[test]
fn a_long_report_at_the_end_of_input_arrives_whole_and_in_order() {
    let n = ward_hygiene::detector::FINISH_PART + 44;
    let mut frames = Vec::new();
    for i in 0..n {
        let server = [10, 1, (i / 200) as u8, (i % 200) as u8 + 1];
        let reply = b"230 Logged in\r\n";
        frames.extend(ftp_login(
            ([192, 168, 1, 5], 40000 + i as u16),
            server,
            "admin",
            reply,
        ));
    }
    // 1 ms apart: every login within one cleartext window, so all are
    // still pending when the input ends.
    let events = run_every(&frames, 1_000);
    let servers: Vec<String> = events
        .iter()
        .filter(|e| {
            e.finding
                .as_ref()
                .is_some_and(|f| f.kind == FindingKind::CleartextCredentials)
        })
        .filter_map(|e| e.dest_ip.map(|ip| ip.to_string()))
        .collect();
    assert_eq!(servers.len(), n);
    let mut sorted = servers.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(servers, sorted, "one finding per server, in key order");
}
