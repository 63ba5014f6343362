//! Which parser `detect` picks for the identity protocols: ports first,
//! content on other ports, and nothing for foreign bytes on a web port.

use ward_proto::{detect, AppProto, Direction, Transport};

fn proto(t: Transport, sport: u16, dport: u16, first: &[u8], dir: Direction) -> Option<AppProto> {
    detect(t, sport, dport, first, dir).map(|p| p.protocol())
}

const HELLO_HEAD: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

#[test]
fn by_port() {
    use Direction::*;
    use Transport::*;
    assert_eq!(proto(Udp, 68, 67, b"x", ToServer), Some(AppProto::Dhcp));
    assert_eq!(proto(Udp, 546, 547, b"x", ToServer), Some(AppProto::Dhcpv6));
    assert_eq!(proto(Udp, 40000, 53, b"x", ToServer), Some(AppProto::Dns));
    assert_eq!(proto(Udp, 5353, 5353, b"x", ToServer), Some(AppProto::Mdns));
    assert_eq!(
        proto(Udp, 5355, 40000, b"x", ToClient),
        Some(AppProto::Llmnr)
    );
    assert_eq!(
        proto(Udp, 40000, 1900, b"x", ToServer),
        Some(AppProto::Ssdp)
    );
    assert_eq!(proto(Udp, 123, 123, b"x", ToServer), Some(AppProto::Ntp));
    assert_eq!(proto(Tcp, 40000, 53, b"x", ToServer), Some(AppProto::Dns));
    assert_eq!(
        proto(Tcp, 22, 40000, b"SSH-2.0-x\r\n", ToClient),
        Some(AppProto::Ssh)
    );
    assert_eq!(
        proto(Tcp, 40000, 7547, b"POST /tr069 HTTP/1.1\r\n", ToServer),
        Some(AppProto::Http)
    );
    assert_eq!(
        proto(Tcp, 40000, 443, HELLO_HEAD, ToServer),
        Some(AppProto::Tls)
    );
    assert_eq!(
        proto(Tcp, 40000, 8883, HELLO_HEAD, ToServer),
        Some(AppProto::Tls)
    );
    // TLS on an HTTP port and plain HTTP on a TLS port follow the content.
    assert_eq!(
        proto(Tcp, 40000, 8080, HELLO_HEAD, ToServer),
        Some(AppProto::Tls)
    );
    assert_eq!(
        proto(Tcp, 40000, 8443, b"GET / HTTP/1.1\r\n", ToServer),
        Some(AppProto::Http)
    );
    // Mid-connection: the server's response first.
    assert_eq!(
        proto(Tcp, 80, 40000, b"HTTP/1.1 200 OK\r\n", ToClient),
        Some(AppProto::Http)
    );
}

#[test]
fn by_content() {
    use Direction::*;
    use Transport::*;
    assert_eq!(
        proto(Tcp, 40000, 50443, HELLO_HEAD, ToServer),
        Some(AppProto::Tls)
    );
    assert_eq!(
        proto(Tcp, 40000, 9999, b"GET /x HTTP/1.0\r\n", ToServer),
        Some(AppProto::Http)
    );
    assert_eq!(
        proto(Tcp, 9999, 40000, b"SSH-2.0-dropbear\r\n", ToClient),
        Some(AppProto::Ssh)
    );
    assert_eq!(
        proto(
            Udp,
            49152,
            40000,
            b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nUSN: uuid:x\r\n\r\n",
            ToServer
        ),
        Some(AppProto::Ssdp)
    );
    // RTSP shares OPTIONS with HTTP but is not ours.
    assert_ne!(
        proto(
            Tcp,
            40000,
            9999,
            b"OPTIONS rtsp://cam/ RTSP/1.0\r\n",
            ToServer
        ),
        Some(AppProto::Http)
    );
}

#[test]
fn foreign_bytes_on_web_ports_are_not_claimed() {
    use Direction::*;
    use Transport::*;
    assert_eq!(proto(Tcp, 40000, 80, b"\x00\x01binary", ToServer), None);
    assert_eq!(proto(Tcp, 40000, 443, b"\x00\x01binary", ToServer), None);
}
