//! Application payloads built from their specs: HTTP/1.1 heads (RFC 9112),
//! TLS 1.3 ClientHello/ServerHello (RFC 8446), DNS and mDNS messages (RFC
//! 1035/6762, via `simple-dns`), NTPv4 (RFC 5905), SSDP (UPnP DA 2.0), MQTT
//! 3.1.1 CONNECT/PUBLISH and a DHCPDISCOVER (RFC 2131/2132).

use std::net::{IpAddr, Ipv4Addr};

use simple_dns::rdata::{RData, A, AAAA, PTR, TXT};
use simple_dns::{Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, QCLASS, QTYPE, TYPE};

pub fn http_request(out: &mut Vec<u8>, host: &str, path: &str, user_agent: &str) {
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\nUser-Agent: ");
    out.extend_from_slice(user_agent.as_bytes());
    out.extend_from_slice(b"\r\nAccept: */*\r\nConnection: close\r\n\r\n");
}

/// A `200 OK` head announcing `body_len` bytes of body (not included).
pub fn http_response_head(out: &mut Vec<u8>, server: &str, content_type: &str, body_len: usize) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nServer: ");
    out.extend_from_slice(server.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(format!("\r\nContent-Length: {body_len}\r\n\r\n").as_bytes());
}

fn u16be(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u16).to_be_bytes());
}

/// Length-prefix the bytes written by `f` with a `width`-byte big-endian length.
fn prefixed(out: &mut Vec<u8>, width: usize, f: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend(std::iter::repeat_n(0u8, width));
    f(out);
    let len = (out.len() - at - width) as u32;
    out[at..at + width].copy_from_slice(&len.to_be_bytes()[4 - width..]);
}

/// A TLS 1.3 ClientHello record as a current browser/IoT SDK sends it,
/// with SNI, ALPN, supported groups/versions and an X25519 key share.
/// `random` fills the random, session id and key share.
pub fn tls_client_hello(out: &mut Vec<u8>, sni: &str, random: u64) {
    let fill = |out: &mut Vec<u8>, n: usize| {
        out.extend((0..n).map(|i| (random >> ((i % 8) * 8)) as u8 ^ i as u8));
    };
    out.extend_from_slice(&[0x16, 0x03, 0x01]);
    prefixed(out, 2, |out| {
        out.push(1); // client_hello
        prefixed(out, 3, |out| {
            out.extend_from_slice(&[0x03, 0x03]);
            fill(out, 32);
            out.push(32);
            fill(out, 32);
            let suites: [u16; 9] = [
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
            ];
            u16be(out, suites.len() * 2);
            for s in suites {
                out.extend_from_slice(&s.to_be_bytes());
            }
            out.extend_from_slice(&[1, 0]); // null compression
            prefixed(out, 2, |out| {
                // server_name
                out.extend_from_slice(&[0, 0]);
                prefixed(out, 2, |out| {
                    prefixed(out, 2, |out| {
                        out.push(0);
                        u16be(out, sni.len());
                        out.extend_from_slice(sni.as_bytes());
                    })
                });
                // supported_groups: x25519, secp256r1, secp384r1
                out.extend_from_slice(&[0, 0x0a, 0, 8, 0, 6, 0, 0x1d, 0, 0x17, 0, 0x18]);
                // ec_point_formats: uncompressed
                out.extend_from_slice(&[0, 0x0b, 0, 2, 1, 0]);
                // signature_algorithms
                out.extend_from_slice(&[0, 0x0d, 0, 18, 0, 16]);
                for s in [
                    0x0403u16, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
                ] {
                    out.extend_from_slice(&s.to_be_bytes());
                }
                // ALPN: h2, http/1.1
                out.extend_from_slice(&[0, 0x10, 0, 14, 0, 12, 2]);
                out.extend_from_slice(b"h2");
                out.push(8);
                out.extend_from_slice(b"http/1.1");
                // supported_versions: TLS 1.3, 1.2
                out.extend_from_slice(&[0, 0x2b, 0, 5, 4, 3, 4, 3, 3]);
                // key_share: x25519
                out.extend_from_slice(&[0, 0x33, 0, 38, 0, 36, 0, 0x1d, 0, 32]);
                fill(out, 32);
            });
        });
    });
}

/// ServerHello + ChangeCipherSpec + the first encrypted record, padded so
/// the whole flight is `total` bytes (at least the hello's own size).
pub fn tls_server_flight(out: &mut Vec<u8>, random: u64, total: usize) {
    let start = out.len();
    let fill = |out: &mut Vec<u8>, n: usize| {
        out.extend((0..n).map(|i| (random >> ((i % 8) * 8)) as u8 ^ (i as u8).wrapping_mul(7)));
    };
    out.extend_from_slice(&[0x16, 0x03, 0x03]);
    prefixed(out, 2, |out| {
        out.push(2); // server_hello
        prefixed(out, 3, |out| {
            out.extend_from_slice(&[0x03, 0x03]);
            fill(out, 32);
            out.push(32);
            fill(out, 32);
            out.extend_from_slice(&[0x13, 0x01, 0]);
            prefixed(out, 2, |out| {
                out.extend_from_slice(&[0, 0x2b, 0, 2, 3, 4]);
                out.extend_from_slice(&[0, 0x33, 0, 36, 0, 0x1d, 0, 32]);
                fill(out, 32);
            });
        });
    });
    out.extend_from_slice(&[0x14, 0x03, 0x03, 0, 1, 1]);
    let used = out.len() - start;
    let body = total.saturating_sub(used + 5).max(17);
    tls_app_data(out, random, body);
}

/// One TLS application-data record of `len` opaque bytes.
pub fn tls_app_data(out: &mut Vec<u8>, random: u64, len: usize) {
    out.extend_from_slice(&[0x17, 0x03, 0x03]);
    u16be(out, len);
    out.extend((0..len).map(|i| (random >> ((i % 8) * 8)) as u8 ^ (i as u8)));
}

pub fn dns_query(out: &mut Vec<u8>, id: u16, name: &str, aaaa: bool) {
    let mut p = Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    let t = if aaaa { TYPE::AAAA } else { TYPE::A };
    p.questions.push(Question::new(
        Name::new_unchecked(name),
        QTYPE::TYPE(t),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    if let Ok(b) = p.build_bytes_vec_compressed() {
        out.extend_from_slice(&b);
    }
}

pub fn dns_response(out: &mut Vec<u8>, id: u16, name: &str, answer: IpAddr) {
    let mut p = Packet::new_reply(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED | PacketFlag::RECURSION_AVAILABLE);
    let (t, rdata) = match answer {
        IpAddr::V4(a) => (TYPE::A, RData::A(A::from(a))),
        IpAddr::V6(a) => (TYPE::AAAA, RData::AAAA(AAAA::from(a))),
    };
    p.questions.push(Question::new(
        Name::new_unchecked(name),
        QTYPE::TYPE(t),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    p.answers.push(ResourceRecord::new(
        Name::new_unchecked(name),
        CLASS::IN,
        300,
        rdata,
    ));
    if let Ok(b) = p.build_bytes_vec_compressed() {
        out.extend_from_slice(&b);
    }
}

/// An unsolicited mDNS announcement of `instance` under `service` (e.g.
/// `_hap._tcp.local`) with the host's A record and a model TXT record.
pub fn mdns_announce(
    out: &mut Vec<u8>,
    host: &str,
    service: &str,
    instance: &str,
    ip: Ipv4Addr,
    model: &str,
) {
    let mut p = Packet::new_reply(0);
    p.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
    let host_name = format!("{host}.local");
    let full = format!("{instance}.{service}");
    let md = format!("md={model}");
    let mut txt = TXT::new();
    let _ = txt.add_string(&md);
    p.answers.push(ResourceRecord::new(
        Name::new_unchecked(service),
        CLASS::IN,
        4500,
        RData::PTR(PTR(Name::new_unchecked(&full))),
    ));
    p.answers.push(ResourceRecord::new(
        Name::new_unchecked(&full),
        CLASS::IN,
        4500,
        RData::TXT(txt),
    ));
    p.answers.push(ResourceRecord::new(
        Name::new_unchecked(&host_name),
        CLASS::IN,
        120,
        RData::A(A::from(ip)),
    ));
    if let Ok(b) = p.build_bytes_vec_compressed() {
        out.extend_from_slice(&b);
    }
}

/// An NTPv4 client request (mode 3) or server reply (mode 4).
pub fn ntp(out: &mut Vec<u8>, server: bool, unix_secs: u64) {
    let era = unix_secs.wrapping_add(2_208_988_800) as u32;
    let mut p = [0u8; 48];
    if server {
        p[0] = 0x24; // LI 0, VN 4, mode 4
        p[1] = 2; // stratum
        p[2] = 6;
        p[3] = 0xe9;
        p[12..16].copy_from_slice(&[0xc0, 0x00, 0x02, 0x01]); // reference id
        for at in [16, 24, 32, 40] {
            p[at..at + 4].copy_from_slice(&era.to_be_bytes());
        }
    } else {
        p[0] = 0x23; // LI 0, VN 4, mode 3
        p[2] = 6;
        p[40..44].copy_from_slice(&era.to_be_bytes());
    }
    out.extend_from_slice(&p);
}

pub fn ssdp_msearch(out: &mut Vec<u8>, user_agent: &str) {
    out.extend_from_slice(
        format!(
            "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\
             MX: 2\r\nST: ssdp:all\r\nUSER-AGENT: {user_agent}\r\n\r\n"
        )
        .as_bytes(),
    );
}

pub fn ssdp_notify(out: &mut Vec<u8>, ip: Ipv4Addr, server: &str, uuid: &str) {
    out.extend_from_slice(
        format!(
            "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n\
             LOCATION: http://{ip}:49152/description.xml\r\nNT: upnp:rootdevice\r\n\
             NTS: ssdp:alive\r\nSERVER: {server}\r\nUSN: uuid:{uuid}::upnp:rootdevice\r\n\r\n"
        )
        .as_bytes(),
    );
}

fn mqtt_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn mqtt_str(out: &mut Vec<u8>, s: &[u8]) {
    u16be(out, s.len());
    out.extend_from_slice(s);
}

/// MQTT 3.1.1 CONNECT with a client id and, if given, user name and password.
pub fn mqtt_connect(out: &mut Vec<u8>, client_id: &str, login: Option<(&str, &str)>) {
    let mut body = Vec::new();
    mqtt_str(&mut body, b"MQTT");
    body.push(4);
    body.push(if login.is_some() { 0xc2 } else { 0x02 });
    body.extend_from_slice(&60u16.to_be_bytes());
    mqtt_str(&mut body, client_id.as_bytes());
    if let Some((u, p)) = login {
        mqtt_str(&mut body, u.as_bytes());
        mqtt_str(&mut body, p.as_bytes());
    }
    out.push(0x10);
    mqtt_varint(out, body.len());
    out.extend_from_slice(&body);
}

pub fn mqtt_connack(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0x20, 2, 0, 0]);
}

/// A QoS 0 PUBLISH.
pub fn mqtt_publish(out: &mut Vec<u8>, topic: &str, payload: &[u8]) {
    out.push(0x30);
    mqtt_varint(out, 2 + topic.len() + payload.len());
    mqtt_str(out, topic.as_bytes());
    out.extend_from_slice(payload);
}

/// A DHCPDISCOVER from `mac` with host name and vendor class (options 12, 60).
pub fn dhcp_discover(out: &mut Vec<u8>, mac: [u8; 6], xid: u32, hostname: &str, vendor: &str) {
    out.extend_from_slice(&[1, 1, 6, 0]);
    out.extend_from_slice(&xid.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0x80, 0]); // secs, broadcast flag
    out.extend(std::iter::repeat_n(0u8, 16)); // ciaddr, yiaddr, siaddr, giaddr
    out.extend_from_slice(&mac);
    out.extend(std::iter::repeat_n(0u8, 10 + 64 + 128)); // chaddr pad, sname, file
    out.extend_from_slice(&[0x63, 0x82, 0x53, 0x63]);
    out.extend_from_slice(&[53, 1, 1]);
    out.extend_from_slice(&[61, 7, 1]);
    out.extend_from_slice(&mac);
    out.extend_from_slice(&[12, hostname.len() as u8]);
    out.extend_from_slice(hostname.as_bytes());
    out.extend_from_slice(&[60, vendor.len() as u8]);
    out.extend_from_slice(vendor.as_bytes());
    out.extend_from_slice(&[55, 6, 1, 3, 6, 15, 28, 42, 255]);
}
