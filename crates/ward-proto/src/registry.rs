//! Which parser handles a flow.
//!
//! [`detect`] is called once per flow, with the first payload-bearing packet,
//! and picks a parser by well-known port first and by content second (an
//! HTTP request line or a TLS record on an odd port). Adding a protocol means
//! adding a variant to [`AppProto`] and one arm here.

use crate::{AppParser, Direction, Transport};

/// Application protocols ward knows. `as_str` is written into `flow.app_proto`
/// and finding/credential `protocol` fields: extend, don't rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AppProto {
    Dhcp,
    Dhcpv6,
    Dns,
    Mdns,
    Llmnr,
    Ssdp,
    Http,
    Tls,
    Ssh,
    Mqtt,
    Telnet,
    Ftp,
    Pop3,
    Imap,
    Smtp,
    Snmp,
    Rtsp,
    Vnc,
    Ntp,
}

impl AppProto {
    pub fn as_str(self) -> &'static str {
        match self {
            AppProto::Dhcp => "dhcp",
            AppProto::Dhcpv6 => "dhcpv6",
            AppProto::Dns => "dns",
            AppProto::Mdns => "mdns",
            AppProto::Llmnr => "llmnr",
            AppProto::Ssdp => "ssdp",
            AppProto::Http => "http",
            AppProto::Tls => "tls",
            AppProto::Ssh => "ssh",
            AppProto::Mqtt => "mqtt",
            AppProto::Telnet => "telnet",
            AppProto::Ftp => "ftp",
            AppProto::Pop3 => "pop3",
            AppProto::Imap => "imap",
            AppProto::Smtp => "smtp",
            AppProto::Snmp => "snmp",
            AppProto::Rtsp => "rtsp",
            AppProto::Vnc => "vnc",
            AppProto::Ntp => "ntp",
        }
    }
}

/// Pick a parser for a new flow.
///
/// `src_port`/`dst_port` are those of the flow's first packet (initiator →
/// responder); `first` is the first payload seen and `dir` its direction.
/// Returns `None` for flows no parser understands.
pub fn detect(
    transport: Transport,
    src_port: u16,
    dst_port: u16,
    first: &[u8],
    dir: Direction,
) -> Option<Box<dyn AppParser>> {
    let _ = (transport, src_port, dst_port, first, dir);
    // Protocol arms are added here, one per module.
    if let Some(p) = identity_by_port(transport, src_port, dst_port, first, dir) {
        return Some(p);
    }
    if let Some(p) = credential_by_port(transport, src_port, dst_port, first) {
        return Some(p);
    }
    // Port arms of other protocols go above this line; content sniffing last.
    if let Some(p) = credential_by_content(transport, first) {
        return Some(p);
    }
    if let Some(p) = identity_by_content(transport, first, dir) {
        return Some(p);
    }
    None
}

/// Well-known ports of the identity protocols (DHCP, DNS, SSDP, NTP, HTTP,
/// TLS, SSH). The responder's port is checked first.
fn identity_by_port(
    transport: Transport,
    src_port: u16,
    dst_port: u16,
    first: &[u8],
    dir: Direction,
) -> Option<Box<dyn AppParser>> {
    use crate::{dhcp, dhcpv6, dns, ntp, ssdp, ssh};
    let pick = |f: &dyn Fn(u16) -> Option<Box<dyn AppParser>>| f(dst_port).or_else(|| f(src_port));
    match transport {
        Transport::Udp => pick(&|port| -> Option<Box<dyn AppParser>> {
            Some(match port {
                67 | 68 => Box::new(dhcp::DhcpParser::new()),
                546 | 547 => Box::new(dhcpv6::Dhcpv6Parser::new()),
                53 => Box::new(dns::DnsParser::new(dns::Flavor::Dns, false)),
                5353 => Box::new(dns::DnsParser::new(dns::Flavor::Mdns, false)),
                5355 => Box::new(dns::DnsParser::new(dns::Flavor::Llmnr, false)),
                1900 => Box::new(ssdp::SsdpParser::new()),
                123 => Box::new(ntp::NtpParser::new()),
                _ => return None,
            })
        }),
        Transport::Tcp => pick(&|port| -> Option<Box<dyn AppParser>> {
            match port {
                53 => Some(Box::new(dns::DnsParser::new(dns::Flavor::Dns, true))),
                22 | 2222 => Some(Box::new(ssh::SshParser::new())),
                // HTTP: web UIs, TR-069 (7547), UPnP description servers (49152+), Chromecast (8008).
                80 | 81 | 591 | 5000 | 7547 | 8000 | 8008 | 8080 | 8081 | 8088 | 8888 | 49152
                | 49153 | 49154 => web_parser(first, dir, false),
                // TLS: HTTPS, MQTT (8883), IMAPS/POP3S/SMTPS, LDAPS, DoT, SIP-TLS, XMPP, AMQPS.
                443 | 8443 | 8883 | 993 | 995 | 465 | 636 | 853 | 5061 | 5223 | 5671 | 4433
                | 9443 | 10443 => web_parser(first, dir, true),
                _ => None,
            }
        }),
    }
}

/// HTTP or TLS on a web port: the first bytes decide; bytes that are
/// neither (another protocol on a web port) are left to the other arms.
fn web_parser(first: &[u8], dir: Direction, tls_port: bool) -> Option<Box<dyn AppParser>> {
    use crate::{http, tls};
    let from_client = dir == Direction::ToServer;
    if from_client {
        if tls::looks_like_tls(first) {
            return Some(Box::new(tls::TlsParser::new()));
        }
        if http::looks_like_request(first) {
            return Some(Box::new(http::HttpParser::new()));
        }
        return None;
    }
    // The capture started mid-connection and the server spoke first.
    if http::looks_like_response(first) {
        Some(Box::new(http::HttpParser::new()))
    } else if tls_port && first.first().is_some_and(|b| (20..=23).contains(b)) {
        Some(Box::new(tls::TlsParser::new()))
    } else {
        None
    }
}

/// Content sniffing for flows on other ports.
fn identity_by_content(
    transport: Transport,
    first: &[u8],
    dir: Direction,
) -> Option<Box<dyn AppParser>> {
    use crate::{http, ssdp, ssh, tls};
    let from_client = dir == Direction::ToServer;
    match transport {
        // Unicast answers to an M-SEARCH come from an ephemeral port.
        Transport::Udp if ssdp::looks_like_ssdp(first) => Some(Box::new(ssdp::SsdpParser::new())),
        Transport::Udp => None,
        Transport::Tcp if ssh::looks_like_ssh(first) => Some(Box::new(ssh::SshParser::new())),
        Transport::Tcp if from_client && tls::looks_like_tls(first) => {
            Some(Box::new(tls::TlsParser::new()))
        }
        Transport::Tcp
            if (from_client && http::looks_like_request(first))
                || (!from_client && http::looks_like_response(first)) =>
        {
            Some(Box::new(http::HttpParser::new()))
        }
        Transport::Tcp => None,
    }
}

/// Well-known ports of the credential protocols (Telnet, FTP, mail, MQTT,
/// SNMP, RTSP, VNC). The responder's port is checked first.
fn credential_by_port(
    transport: Transport,
    src_port: u16,
    dst_port: u16,
    first: &[u8],
) -> Option<Box<dyn AppParser>> {
    use crate::mail::{MailParser, MailProtocol};
    use crate::{ftp, mqtt, rtsp, snmp, telnet, vnc};
    let by_port = |port: u16| -> Option<Box<dyn AppParser>> {
        match (transport, port) {
            (Transport::Tcp, 23 | 2323) => Some(Box::new(telnet::TelnetParser::new())),
            (Transport::Tcp, 21) => Some(Box::new(ftp::FtpParser::new())),
            (Transport::Tcp, 110) => Some(Box::new(MailParser::new(MailProtocol::Pop3))),
            (Transport::Tcp, 143) => Some(Box::new(MailParser::new(MailProtocol::Imap))),
            (Transport::Tcp, 25 | 587) => Some(Box::new(MailParser::new(MailProtocol::Smtp))),
            (Transport::Tcp, 1883) => Some(Box::new(mqtt::MqttParser::new())),
            (Transport::Udp, 161 | 162) => Some(Box::new(snmp::SnmpParser::new())),
            (Transport::Tcp, 554 | 8554) => Some(Box::new(rtsp::RtspParser::new())),
            // VNC only if the greeting is there: the server speaks first,
            // so a flow whose first bytes are not `RFB ` is something else.
            (Transport::Tcp, 5900..=5903) if first.starts_with(b"RFB ") => {
                Some(Box::new(vnc::VncParser::new()))
            }
            _ => None,
        }
    };
    by_port(dst_port).or_else(|| by_port(src_port))
}

/// Content sniffing for the credential protocols on other ports.
fn credential_by_content(transport: Transport, first: &[u8]) -> Option<Box<dyn AppParser>> {
    use crate::{mqtt, vnc};
    match transport {
        Transport::Tcp if mqtt::looks_like_connect(first) => {
            Some(Box::new(mqtt::MqttParser::new()))
        }
        Transport::Tcp if first.starts_with(b"RFB 00") => Some(Box::new(vnc::VncParser::new())),
        _ => None,
    }
}
