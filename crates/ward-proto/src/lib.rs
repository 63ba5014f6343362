//! Application-layer parsers for ward.
//!
//! Every protocol lives in its own module with the same shape (after Suricata's
//! `rust/src/<protocol>/`): a parser over `&[u8]` that never panics, an
//! [`AppParser`] implementation that the engine feeds with in-order payload of
//! one flow, and tests over tiny real captures or frames built in code.
//!
//! A parser reports what it learns as [`AppEvent`]s:
//! - **identity hints** ([`Hint`]) — DHCP options, mDNS service types,
//!   SSDP `SERVER` headers, HTTP User-Agents, JA3/JA4 … — which the
//!   identification layer turns into device evidence;
//! - **security facts** — credentials seen in the clear, software banners,
//!   TLS parameters, shell commands typed after a login;
//! - **protocol messages** detectors need (DHCP and DNS summaries, HTTP request
//!   lines);
//! - **malformation**, counted by the engine, never an error that stops it.
//!
//! Nothing here does I/O or reads a clock. Sizes of everything a parser keeps
//! are bounded by constants in the parser, so an attacker cannot grow them.
#![forbid(unsafe_code)]

// The shared test helpers in `tests/common` name the crate; unit tests
// (`dns::differential`) use them too.
#[cfg(test)]
extern crate self as ward_proto;

use std::fmt;

pub mod registry;

pub mod dhcp;
pub mod dhcpv6;
pub mod dns;
pub mod http;
pub mod lldp;
pub mod ntp;
pub mod ssdp;
pub mod ssh;
pub mod tcpfp;
pub mod tls;

pub mod ftp;
mod linebuf;
pub mod mail;
pub mod mqtt;
pub mod rtsp;
pub mod snmp;
pub mod telnet;
pub mod vnc;

pub use registry::{detect, AppProto};

/// Direction of a chunk of payload relative to the flow's initiator (the
/// endpoint that sent the flow's first packet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the initiator.
    ToServer,
    /// Sent by the responder.
    ToClient,
}

impl Direction {
    /// The endpoint that *sent* a chunk travelling in this direction.
    pub fn sender(self) -> About {
        match self {
            Direction::ToServer => About::Initiator,
            Direction::ToClient => About::Responder,
        }
    }
}

/// Transport a flow runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

/// Whom a hint or fact is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum About {
    /// The endpoint that opened the flow (for UDP: sent its first datagram).
    Initiator,
    /// The other endpoint.
    Responder,
    /// A device named by MAC inside the payload (DHCP `chaddr`, ARP).
    Mac([u8; 6]),
}

/// Kinds of identity evidence. `as_str` is the `source` written in a
/// device's `evidence` list, so it is part of the event contract: extend,
/// don't rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HintKind {
    /// Host name (DHCP option 12, mDNS A record owner, NetBIOS, LLDP system name).
    Hostname,
    /// DHCP option 55, the parameter request list, as comma-separated decimal codes in order.
    DhcpParamList,
    /// DHCP option 60, vendor class identifier.
    DhcpVendorClass,
    /// DHCP option 61, client identifier (hex).
    DhcpClientId,
    /// DHCP option 57, maximum message size.
    DhcpMaxMsgSize,
    /// DHCP option 81, client FQDN.
    DhcpFqdn,
    /// DHCP option codes present, in order (comma-separated decimal).
    DhcpOptions,
    /// DHCPv6 vendor class / enterprise number / option request list.
    Dhcpv6,
    /// A DNS-SD service type the device announces (`_hap._tcp.local`).
    MdnsService,
    /// A DNS-SD TXT value that names a model (`md=`, `model=`, `ty=` …), as `key=value`.
    MdnsTxt,
    /// SSDP/UPnP `SERVER` header.
    SsdpServer,
    /// SSDP `USN` header.
    SsdpUsn,
    /// SSDP `NT`/`ST` header.
    SsdpNt,
    /// UPnP device description field (`modelName`, `manufacturer` …), as `key=value`.
    UpnpDescription,
    /// LLDP/CDP system name, description, platform, as `key=value`.
    Lldp,
    /// A DNS name the device resolves.
    DnsQuery,
    /// HTTP `User-Agent` the device sends.
    HttpUserAgent,
    /// HTTP `Server` header the device answers with.
    HttpServer,
    /// JA3 hash of a TLS ClientHello the device sends.
    TlsJa3,
    /// JA4 (TLS client) fingerprint.
    TlsJa4,
    /// TLS server name the device asks for.
    TlsSni,
    /// p0f-style TCP SYN signature.
    TcpSyn,
    /// An NTP server the device uses (its address or name).
    NtpServer,
    /// A banner a service sends (SSH, FTP, Telnet, RTSP …).
    Banner,
    /// Operating system or stack hint.
    Os,
}

impl HintKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HintKind::Hostname => "hostname",
            HintKind::DhcpParamList => "dhcp.param_list",
            HintKind::DhcpVendorClass => "dhcp.vendor_class",
            HintKind::DhcpClientId => "dhcp.client_id",
            HintKind::DhcpMaxMsgSize => "dhcp.max_msg_size",
            HintKind::DhcpFqdn => "dhcp.fqdn",
            HintKind::DhcpOptions => "dhcp.options",
            HintKind::Dhcpv6 => "dhcpv6",
            HintKind::MdnsService => "mdns.service",
            HintKind::MdnsTxt => "mdns.txt",
            HintKind::SsdpServer => "ssdp.server",
            HintKind::SsdpUsn => "ssdp.usn",
            HintKind::SsdpNt => "ssdp.nt",
            HintKind::UpnpDescription => "upnp.description",
            HintKind::Lldp => "lldp",
            HintKind::DnsQuery => "dns.query",
            HintKind::HttpUserAgent => "http.user_agent",
            HintKind::HttpServer => "http.server",
            HintKind::TlsJa3 => "tls.ja3",
            HintKind::TlsJa4 => "tls.ja4",
            HintKind::TlsSni => "tls.sni",
            HintKind::TcpSyn => "tcp.syn",
            HintKind::NtpServer => "ntp.server",
            HintKind::Banner => "banner",
            HintKind::Os => "os",
        }
    }
}

/// One piece of identity evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub about: About,
    pub kind: HintKind,
    pub value: String,
}

/// Outcome of a login attempt, where the protocol shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginOutcome {
    Unknown,
    Success,
    Failure,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Unknown => "unknown",
            LoginOutcome::Success => "success",
            LoginOutcome::Failure => "failure",
        }
    }
}

/// A secret seen on the wire. `Debug` and `Display` never show it; call
/// [`Secret::expose`] where the user asked for it (`--reveal-secrets`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A login seen in the clear (initiator = client, responder = server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// Protocol name as in [`AppProto::as_str`] (`telnet`, `mqtt` …).
    pub protocol: &'static str,
    /// Mechanism: `plain`, `basic`, `digest`, `community`, `user-pass`, `auth-plain`, `auth-login`, `vnc-challenge` …
    pub method: &'static str,
    pub username: Option<String>,
    /// The password, community string or token; `None` where the protocol
    /// does not carry it in the clear (Digest, VNC challenge-response).
    pub secret: Option<Secret>,
    pub outcome: LoginOutcome,
}

/// TLS parameters from one hello.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TlsHello {
    /// True for a ClientHello, false for a ServerHello.
    pub client: bool,
    /// Record/legacy version and, for clients, the highest supported version (wire values).
    pub legacy_version: u16,
    pub max_version: u16,
    /// Cipher suites offered (client) or the one chosen (server), wire values, GREASE removed.
    pub ciphers: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub ja3: Option<String>,
    pub ja4: Option<String>,
}

/// Summary of one DHCPv4 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpSummary {
    /// DHCP message type (option 53): 1 DISCOVER, 2 OFFER, 3 REQUEST, 5 ACK, 6 NAK …; 0 if absent (BOOTP)
    /// or not captured (`cut`).
    pub msg_type: u8,
    /// BOOTP op: 1 BOOTREQUEST (from a client), 2 BOOTREPLY (from a server).
    pub op: u8,
    /// The capture's snap length cut the message: options after the cut
    /// (often all of them, the message type too) are missing.
    pub cut: bool,
    pub xid: u32,
    pub client_mac: [u8; 6],
    /// `yiaddr`: the address offered or assigned.
    pub your_ip: std::net::Ipv4Addr,
    /// `giaddr`: the relay agent that forwarded the message (0.0.0.0 when
    /// none). A reply to a relayed request goes from the server to this
    /// address and from it to the client.
    pub relay: std::net::Ipv4Addr,
    /// Option 54.
    pub server_id: Option<std::net::Ipv4Addr>,
    /// Option 50.
    pub requested_ip: Option<std::net::Ipv4Addr>,
    /// Option 1 (the client's subnet, with `your_ip`).
    pub subnet_mask: Option<std::net::Ipv4Addr>,
    /// Options 3 and 6.
    pub routers: Vec<std::net::Ipv4Addr>,
    pub dns_servers: Vec<std::net::Ipv4Addr>,
}

/// Summary of one DNS / mDNS / LLMNR message.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DnsSummary {
    pub id: u16,
    pub response: bool,
    pub rcode: u8,
    pub mdns: bool,
    pub queries: Vec<String>,
    /// A and AAAA answers.
    pub answers: Vec<(String, std::net::IpAddr)>,
}

/// An HTTP (or RTSP) request head.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HttpRequest {
    pub method: String,
    /// Request target, cut at 2 KiB.
    pub uri: String,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    /// The `Content-Type` header's value, cut at 512 bytes.
    pub content_type: Option<String>,
    /// Up to 1 KiB of the body that came in the same chunk as the head
    /// (never a chunked body's); in [`AppEvent::HttpRequestBody`], of the
    /// body's first bytes after the head (a chunked body's first chunk data,
    /// possibly from the head's own chunk).
    pub body_prefix: Vec<u8>,
    /// The capture cut this head short (a snap length): headers after the
    /// cut are missing, and when the request line itself was cut, `uri` is
    /// only the start of the target. Never set for a head captured whole,
    /// however it was split across segments.
    pub cut: bool,
    /// The request line itself was cut (`cut` is set too): `uri` is only the
    /// start of the target, and where it ends is not where the target ends
    /// (a rule that reads a target's end must not read it there).
    pub uri_cut: bool,
}

/// Something a parser learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppEvent {
    Hint(Hint),
    Credential(Credential),
    /// A service announced product/version (FTP/SSH/Telnet banner, HTTP `Server`, RTSP `Server`).
    Software {
        about: About,
        product: String,
        version: Option<String>,
        raw: String,
    },
    /// The server accepted a session without authentication (open MQTT broker,
    /// VNC security type None, RTSP stream without auth, Telnet shell without login).
    NoAuth {
        protocol: &'static str,
    },
    Tls(TlsHello),
    Dhcp(DhcpSummary),
    Dns(DnsSummary),
    HttpRequest(HttpRequest),
    /// The body of a request whose head came without any of it (its
    /// [`HttpRequest::body_prefix`] was empty although the head announced a
    /// body): the same request again, once, when the body's first bytes
    /// arrive, with `body_prefix` now holding up to 1 KiB of them (a chunked
    /// body's first chunk data). Tools and browsers often write a form's head
    /// and body separately; this lets rules read the body with its head.
    HttpRequestBody(HttpRequest),
    HttpResponse {
        status: u16,
    },
    /// A command line typed into a remote shell after login (Telnet), cut at 512 bytes.
    Command(String),
    /// SNMP PDU seen (version 0 = v1, 1 = v2c, 3 = v3).
    Snmp {
        version: u8,
    },
    /// Input the parser could not make sense of; `what` is a stable kebab-case kind.
    Malformed {
        protocol: &'static str,
        what: &'static str,
    },
}

/// The shape every protocol implements.
///
/// The engine creates one parser per flow (via [`registry::detect`]) and feeds
/// it each packet's payload in arrival order, TCP retransmissions removed. A
/// parser must tolerate gaps, garbage and truncation; it reports problems as
/// [`AppEvent::Malformed`] and may give up (then return `false` from `feed`
/// and the engine stops feeding it).
pub trait AppParser: Send {
    fn protocol(&self) -> AppProto;
    /// Feed one chunk. Returns `false` when the parser wants no more data on this flow.
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool;
    /// Feed the captured start of one segment (or datagram) whose last
    /// `missing` bytes the capture did not keep: it was cut by a snap length.
    /// `data` can be empty (only headers were kept). The next chunk of this
    /// direction continues after the missing bytes, not after `data`.
    ///
    /// The engine calls this only for packets known to be cut (the wire
    /// length says so), never for a head split across segments. The default
    /// feeds what there is, as if nothing were missing; a parser that can
    /// use a cut message's start (a request line, a fixed header) or must
    /// skip the gap to stay in step says so here.
    fn feed_cut(
        &mut self,
        dir: Direction,
        data: &[u8],
        missing: u32,
        out: &mut Vec<AppEvent>,
    ) -> bool {
        let _ = missing;
        data.is_empty() || self.feed(dir, data, out)
    }
    /// The flow ended: report anything pending (a login whose outcome never showed).
    fn finish(&mut self, _out: &mut Vec<AppEvent>) {}
}

/// Cut a byte slice to at most `max` bytes and make it a printable string
/// (lossy UTF-8, control characters replaced), for values written into events.
pub fn printable(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    // Nearly every value is printable ASCII, which comes out unchanged: one
    // copy instead of a decode and a char-by-char rebuild.
    if printable_ascii(cut) {
        if let Ok(s) = std::str::from_utf8(cut) {
            return s.to_owned();
        }
    }
    String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Whether every byte is printable ASCII (0x20..0x7f), eight bytes at a
/// time instead of a compare and a branch per byte ([`printable`] runs for
/// every SNI, ALPN id, host name and header value an event holds).
/// Per byte `b` of a word: `b < 0x80`, `b + 1 < 0x80` (so `b < 0x7f`) and
/// `b + 0x60 >= 0x80` (so `b >= 0x20`); once no byte has its top bit set,
/// neither sum carries into the next byte.
fn printable_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOP: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let Some(&w) = word.first_chunk::<8>() else {
            return false;
        };
        let x = u64::from_le_bytes(w);
        if (x | x.wrapping_add(ONES)) & TOP != 0 || x.wrapping_add(0x60 * ONES) & TOP != TOP {
            return false;
        }
    }
    words.remainder().iter().all(|b| (0x20..0x7f).contains(b))
}

/// [`printable`], appended to `out` (for text built in a reused buffer).
pub(crate) fn push_printable(out: &mut String, bytes: &[u8], max: usize) {
    let cut = &bytes[..bytes.len().min(max)];
    for chunk in cut.utf8_chunks() {
        for c in chunk.valid().chars() {
            out.push(if c.is_control() { '\u{fffd}' } else { c });
        }
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{printable, push_printable};

    proptest::proptest! {
        /// Appending gives what `printable` returns, wherever the cut falls.
        #[test]
        fn push_printable_is_printable(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                4 => 0x20u8..0x7f,
                1 => proptest::prelude::any::<u8>(),
                1 => proptest::sample::select(vec![0xc2, 0x85, 0xc3, 0xa9, 0xe2, 0x80, 0xa8, 0xf0, 0x9f]),
            ], 0..40),
            max in 0usize..48,
        ) {
            let mut s = String::from("kept:");
            push_printable(&mut s, &bytes, max);
            proptest::prop_assert_eq!(s, format!("kept:{}", printable(&bytes, max)));
        }
    }

    /// The word-at-a-time test says what the byte-by-byte one says, for
    /// every byte value at every place of a word and in the tail, among
    /// printable neighbours and next to bytes that would carry.
    #[test]
    fn printable_ascii_is_the_byte_test() {
        let simple = |b: &[u8]| b.iter().all(|b| (0x20..0x7f).contains(b));
        for fill in [b'a', b' ', b'~', 0x7f, 0x1f, 0xff, 0x00, 0x80] {
            for len in 0..=19 {
                for at in 0..len {
                    for v in 0..=255u8 {
                        let mut b = vec![fill; len];
                        b[at] = v;
                        assert_eq!(super::printable_ascii(&b), simple(&b), "{b:?}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn printable_ascii_matches_on_random_bytes(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                8 => 0x20u8..0x7f,
                1 => proptest::prelude::any::<u8>(),
            ], 0..40),
        ) {
            let simple = bytes.iter().all(|b| (0x20..0x7f).contains(b));
            proptest::prop_assert_eq!(super::printable_ascii(&bytes), simple);
        }
    }

    /// The ASCII shortcut and the general path agree on where they meet.
    #[test]
    fn printable_values() {
        assert_eq!(printable(b"Hue Bridge/1.0 ~", 64), "Hue Bridge/1.0 ~");
        assert_eq!(printable(b"abcdef", 3), "abc");
        assert_eq!(printable(b"a\tb\x7fc", 64), "a\u{fffd}b\u{fffd}c");
        assert_eq!(printable(b"caf\xc3\xa9", 64), "caf\u{e9}");
        // Cut inside a two-byte sequence, and invalid UTF-8.
        assert_eq!(printable(b"caf\xc3\xa9", 4), "caf\u{fffd}");
        assert_eq!(printable(b"\xff!", 64), "\u{fffd}!");
        // C1 controls are replaced as well.
        assert_eq!(printable("x\u{85}y".as_bytes(), 64), "x\u{fffd}y");
        assert_eq!(printable(b"", 64), "");
    }
}
