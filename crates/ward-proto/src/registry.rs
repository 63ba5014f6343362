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
    None
}
