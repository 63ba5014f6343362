//! Property: the credential parsers accept any bytes, in any split, in
//! either direction, without panicking — and so does `detect` on them.
//! Inputs mix random bytes with protocol fragments so the state machines
//! get past their greetings.

use proptest::prelude::*;
use ward_proto::mail::{MailParser, MailProtocol};
use ward_proto::{ftp, mqtt, rtsp, snmp, telnet, vnc, AppParser, Direction, Transport};

const FRAGMENTS: &[&[u8]] = &[
    b"login: ",
    b"Password:",
    b"\r\n",
    b"\r\0",
    b"\x08\x7f",
    b"# ",
    b"Login incorrect\r\n",
    b"\xff\xfd\x18\xff\xfa\x18\x01\xff\xf0\xff\xff",
    b"\xff\xfa",
    b"USER root\r\n",
    b"PASS admin\r\n",
    b"230 ok\r\n",
    b"230-",
    b"530 no\r\n",
    b"+OK\r\n",
    b"+ \r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH LOGIN YWRtaW4=\r\n",
    b"AGFkbWluAGFkbWlu\r\n",
    b"a1 LOGIN \"x\" \"y\r\n",
    b"a1 OK\r\n",
    b"334 \r\n",
    b"235 \r\n",
    b"RFB 003.008\n",
    b"RFB 003.003\n",
    b"\x00\x00\x00\x02",
    b"\x10\x16\x00\x04MQTT\x05\xc2\x00\x3c\x05\x15\x00\x01a",
    b"\x20\x02\x00\x00",
    b"\x30\x82\xff\xff",
    b"\x30\x1a\x02\x01\x01\x04\x06public\xa0\x0d\x02\x01\x07",
    b"DESCRIBE rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\nAuthorization: Basic YTpi\r\n\r\n",
    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 99999\r\n\r\n",
    b"$\x00\xff\xff",
];

fn chunk() -> impl Strategy<Value = (bool, Vec<u8>)> {
    let piece = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48),
        prop::sample::select(FRAGMENTS).prop_map(|f| f.to_vec()),
    ];
    (
        any::<bool>(),
        prop::collection::vec(piece, 1..4).prop_map(|v| v.concat()),
    )
}

fn parsers() -> Vec<Box<dyn AppParser>> {
    vec![
        Box::new(telnet::TelnetParser::new()),
        Box::new(ftp::FtpParser::new()),
        Box::new(MailParser::new(MailProtocol::Pop3)),
        Box::new(MailParser::new(MailProtocol::Imap)),
        Box::new(MailParser::new(MailProtocol::Smtp)),
        Box::new(mqtt::MqttParser::new()),
        Box::new(snmp::SnmpParser::new()),
        Box::new(rtsp::RtspParser::new()),
        Box::new(vnc::VncParser::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn feed_never_panics(chunks in prop::collection::vec(chunk(), 0..24)) {
        for mut p in parsers() {
            let mut out = Vec::new();
            for (to_server, data) in &chunks {
                let dir = if *to_server { Direction::ToServer } else { Direction::ToClient };
                if !p.feed(dir, data, &mut out) {
                    break;
                }
            }
            p.finish(&mut out);
        }
    }

    #[test]
    fn detect_never_panics_on_credential_ports(
        port in prop::sample::select(vec![21u16, 23, 25, 110, 143, 161, 554, 587, 1883, 2323, 5900, 8554, 40000]),
        first in chunk(),
    ) {
        for transport in [Transport::Tcp, Transport::Udp] {
            if let Some(mut p) = ward_proto::detect(transport, 50000, port, &first.1, Direction::ToServer) {
                let mut out = Vec::new();
                p.feed(Direction::ToServer, &first.1, &mut out);
                p.finish(&mut out);
            }
        }
    }
}

#[test]
fn registry_routes_credential_ports() {
    use ward_proto::AppProto;
    let cases: &[(Transport, u16, &[u8], AppProto)] = &[
        (Transport::Tcp, 23, b"\xff\xfd\x01", AppProto::Telnet),
        (Transport::Tcp, 2323, b"\xff\xfd\x01", AppProto::Telnet),
        (Transport::Tcp, 21, b"USER a\r\n", AppProto::Ftp),
        (Transport::Tcp, 110, b"USER a\r\n", AppProto::Pop3),
        (Transport::Tcp, 143, b"a1 LOGIN a b\r\n", AppProto::Imap),
        (Transport::Tcp, 25, b"EHLO x\r\n", AppProto::Smtp),
        (Transport::Tcp, 587, b"EHLO x\r\n", AppProto::Smtp),
        (
            Transport::Tcp,
            1883,
            b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00",
            AppProto::Mqtt,
        ),
        (
            Transport::Tcp,
            31883,
            b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00",
            AppProto::Mqtt,
        ),
        (
            Transport::Tcp,
            41883,
            b"\x10\x0e\x00\x06MQIsdp\x03\x02\x00\x3c",
            AppProto::Mqtt,
        ),
        (Transport::Udp, 161, b"\x30\x00", AppProto::Snmp),
        (Transport::Udp, 162, b"\x30\x00", AppProto::Snmp),
        (
            Transport::Tcp,
            554,
            b"OPTIONS rtsp://h/ RTSP/1.0\r\n",
            AppProto::Rtsp,
        ),
        (
            Transport::Tcp,
            8554,
            b"OPTIONS rtsp://h/ RTSP/1.0\r\n",
            AppProto::Rtsp,
        ),
        (Transport::Tcp, 5901, b"RFB 003.008\n", AppProto::Vnc),
        (Transport::Tcp, 15900, b"RFB 003.008\n", AppProto::Vnc),
    ];
    for &(t, port, first, want) in cases {
        let p = ward_proto::detect(t, 50123, port, first, Direction::ToServer)
            .unwrap_or_else(|| panic!("nothing for {t:?}/{port}"));
        assert_eq!(p.protocol(), want, "{t:?}/{port}");
    }
    // The VNC port alone is not enough: the server must greet with RFB.
    assert!(ward_proto::detect(
        Transport::Tcp,
        50123,
        5900,
        b"GET / HTTP/1.1\r\n",
        Direction::ToServer
    )
    .is_none_or(|p| p.protocol() != AppProto::Vnc));
}
