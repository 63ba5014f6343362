//! Property tests: the identity parsers never panic on arbitrary input, in
//! either direction, chunked anyhow, and keep reporting through `finish`.

use proptest::prelude::*;
use ward_proto::{
    dhcp, dhcpv6, dns, http, lldp, ntp, ssdp, ssh, tcpfp, tls, AppEvent, AppParser, Direction,
    Transport,
};

fn parsers() -> Vec<Box<dyn AppParser>> {
    vec![
        Box::new(dhcp::DhcpParser::new()),
        Box::new(dhcpv6::Dhcpv6Parser::new()),
        Box::new(dns::DnsParser::new(dns::Flavor::Dns, false)),
        Box::new(dns::DnsParser::new(dns::Flavor::Dns, true)),
        Box::new(dns::DnsParser::new(dns::Flavor::Mdns, false)),
        Box::new(dns::DnsParser::new(dns::Flavor::Llmnr, false)),
        Box::new(ssdp::SsdpParser::new()),
        Box::new(http::HttpParser::new()),
        Box::new(tls::TlsParser::new()),
        Box::new(ntp::NtpParser::new()),
        Box::new(ssh::SshParser::new()),
    ]
}

/// Prefixes that steer the parsers past their first checks into deeper code.
const PREFIXES: [&[u8]; 9] = [
    b"",
    b"\x16\x03\x01",
    b"\x16\x03\x03\x00\x40\x01\x00\x00\x3c\x03\x03",
    b"GET / HTTP/1.1\r\nAuthorization: Basic ",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"NOTIFY * HTTP/1.1\r\n",
    b"SSH-2.0-",
    b"\x01\x01\x06\x00",
    b"\x80\x40\x01\x03\x01",
];

fn chunks() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
    prop::collection::vec(
        (any::<bool>(), prop::collection::vec(any::<u8>(), 0..600)),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn feed_never_panics(prefix in 0..PREFIXES.len(), data in chunks()) {
        for mut p in parsers() {
            let mut out: Vec<AppEvent> = Vec::new();
            let mut first = true;
            for (to_server, bytes) in &data {
                let dir = if *to_server { Direction::ToServer } else { Direction::ToClient };
                let mut chunk = Vec::new();
                if first {
                    chunk.extend_from_slice(PREFIXES[prefix]);
                    first = false;
                }
                chunk.extend_from_slice(bytes);
                if !p.feed(dir, &chunk, &mut out) {
                    break;
                }
            }
            p.finish(&mut out);
            // Bounded output: a few events per input byte at most.
            let input: usize = data.iter().map(|(_, b)| b.len()).sum();
            prop_assert!(out.len() <= 64 + input * 2, "{} events", out.len());
        }
    }

    #[test]
    fn detect_and_l2_helpers_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..400),
        sport in any::<u16>(),
        dport in any::<u16>(),
        udp in any::<bool>(),
        to_server in any::<bool>(),
    ) {
        let transport = if udp { Transport::Udp } else { Transport::Tcp };
        let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
        if let Some(mut p) = ward_proto::detect(transport, sport, dport, &data, dir) {
            let mut out = Vec::new();
            p.feed(dir, &data, &mut out);
            p.finish(&mut out);
        }
        let _ = lldp::parse_lldp(&data);
        let _ = lldp::parse_cdp(&data);
        let _ = tls::parse_hello(&data);
        let _ = dhcp::parse(&data);
        let sig = tcpfp::syn_signature(&tcpfp::SynPacket {
            ip_version: 4,
            ttl: data.first().copied().unwrap_or(64),
            window: 1024,
            options: &data[..data.len().min(40)],
            ..Default::default()
        });
        prop_assert!(sig.starts_with("4:"));
    }
}
