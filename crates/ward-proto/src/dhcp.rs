//! DHCPv4 (RFC 2131/2132), parsed by hand so that option *order* and unknown
//! codes survive — for fingerprinting, the order of option 55 and of the
//! options themselves is the signal (dhcproto keeps options in a map).
//!
//! Every message that parses becomes an [`AppEvent::Dhcp`] summary (client and
//! server messages alike: detectors look for rogue servers and starvation).
//! Client messages (BOOTREQUEST) with an Ethernet `chaddr` also yield hints
//! about [`About::Mac`]`(chaddr)`: host name (12), parameter request list (55),
//! vendor class (60), client id (61, hex), maximum message size (57), client
//! FQDN (81) and the list of option codes in order.
//!
//! Option overload (52) is honoured: the `file`/`sname` fields are read as
//! options when it says so. A message that is too short, lacks the magic
//! cookie or has a truncated option is reported as [`AppEvent::Malformed`];
//! after [`MALFORMED_STREAK_MAX`] such messages in a row the parser gives up.
//! A message the capture's snap length cut ([`AppParser::feed_cut`]) is not
//! malformed: it is summarised from the fixed header and whatever options
//! were kept ([`DhcpSummary::cut`]), with no hints.
//! The parser keeps no state between messages besides that counter.

use std::net::Ipv4Addr;

use crate::{
    printable, About, AppEvent, AppParser, AppProto, DhcpSummary, Direction, Hint, HintKind,
};

/// Consecutive malformed messages before the parser gives up on a flow.
pub const MALFORMED_STREAK_MAX: u32 = 8;
const PROTO: &str = "dhcp";
const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Fixed BOOTP header before the magic cookie.
const FIXED: usize = 236;
/// Addresses kept from options 3 and 6.
const ADDRS_MAX: usize = 8;

/// One option in wire order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpOpt<'a> {
    pub code: u8,
    pub data: &'a [u8],
}

/// A parsed DHCPv4 message (borrowing the datagram).
#[derive(Clone, Debug)]
pub struct DhcpMessage<'a> {
    /// 1 BOOTREQUEST (client → server), 2 BOOTREPLY.
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub xid: u32,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    /// The relay agent that forwarded the message (0.0.0.0 when none).
    pub giaddr: Ipv4Addr,
    pub chaddr: [u8; 16],
    /// Options in wire order (PAD and END left out), overload areas appended.
    pub options: Vec<DhcpOpt<'a>>,
}

impl DhcpMessage<'_> {
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options.iter().find(|o| o.code == code).map(|o| o.data)
    }

    /// The client MAC, when `chaddr` holds an Ethernet address.
    pub fn client_mac(&self) -> Option<[u8; 6]> {
        (self.htype == 1 && self.hlen == 6).then(|| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&self.chaddr[..6]);
            m
        })
    }
}

/// Why a datagram is not a DHCPv4 message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpError {
    TooShort,
    NoMagic,
    TruncatedOption,
}

impl DhcpError {
    fn what(self) -> &'static str {
        match self {
            DhcpError::TooShort => "too-short",
            DhcpError::NoMagic => "no-magic-cookie",
            DhcpError::TruncatedOption => "truncated-option",
        }
    }
}

fn ip(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// Parse one DHCPv4 datagram.
pub fn parse(msg: &[u8]) -> Result<DhcpMessage<'_>, DhcpError> {
    if msg.len() < FIXED + 4 {
        return Err(DhcpError::TooShort);
    }
    if msg[FIXED..FIXED + 4] != MAGIC {
        return Err(DhcpError::NoMagic);
    }
    let mut chaddr = [0u8; 16];
    chaddr.copy_from_slice(&msg[28..44]);
    let mut options = Vec::new();
    walk_options(&msg[FIXED + 4..], &mut options)?;
    // Option 52: 1 = file holds options, 2 = sname, 3 = both (file first).
    if let Some(&[ov]) = options.iter().find(|o| o.code == 52).map(|o| o.data) {
        if ov & 1 != 0 {
            walk_options(&msg[108..236], &mut options)?;
        }
        if ov & 2 != 0 {
            walk_options(&msg[44..108], &mut options)?;
        }
    }
    Ok(message(msg, chaddr, options))
}

/// The message from its fixed header (`msg` holds at least its first 28
/// bytes), `chaddr` and the options read.
fn message<'a>(msg: &[u8], chaddr: [u8; 16], options: Vec<DhcpOpt<'a>>) -> DhcpMessage<'a> {
    DhcpMessage {
        op: msg[0],
        htype: msg[1],
        hlen: msg[2],
        xid: u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]),
        ciaddr: ip(&msg[12..16]),
        yiaddr: ip(&msg[16..20]),
        giaddr: ip(&msg[24..28]),
        chaddr,
        options,
    }
}

fn walk_options<'a>(mut b: &'a [u8], out: &mut Vec<DhcpOpt<'a>>) -> Result<(), DhcpError> {
    while let Some((&code, rest)) = b.split_first() {
        match code {
            0 => b = rest,
            255 => return Ok(()),
            _ => {
                let (&len, rest) = rest.split_first().ok_or(DhcpError::TruncatedOption)?;
                let data = rest.get(..len as usize).ok_or(DhcpError::TruncatedOption)?;
                out.push(DhcpOpt { code, data });
                b = &rest[len as usize..];
            }
        }
    }
    // A missing END is common enough in the wild to accept.
    Ok(())
}

fn addrs(data: Option<&[u8]>) -> Vec<Ipv4Addr> {
    data.unwrap_or(&[])
        .chunks_exact(4)
        .take(ADDRS_MAX)
        .map(ip)
        .collect()
}

fn one_addr(data: Option<&[u8]>) -> Option<Ipv4Addr> {
    data.filter(|d| d.len() == 4).map(ip)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The summary detectors use.
pub fn summary(m: &DhcpMessage<'_>) -> DhcpSummary {
    let mut client_mac = [0u8; 6];
    client_mac.copy_from_slice(&m.chaddr[..6]);
    DhcpSummary {
        msg_type: m.option(53).and_then(|d| d.first().copied()).unwrap_or(0),
        op: m.op,
        cut: false,
        xid: m.xid,
        client_mac,
        your_ip: m.yiaddr,
        relay: m.giaddr,
        server_id: one_addr(m.option(54)),
        requested_ip: one_addr(m.option(50)),
        subnet_mask: one_addr(m.option(1)),
        routers: addrs(m.option(3)),
        dns_servers: addrs(m.option(6)),
    }
}

/// Identity hints from a client message (empty for server messages and
/// non-Ethernet clients).
pub fn client_hints(m: &DhcpMessage<'_>) -> Vec<Hint> {
    let mut hints = Vec::new();
    let Some(mac) = m.client_mac() else {
        return hints;
    };
    if m.op != 1 {
        return hints;
    }
    let mut push = |kind, value: String| {
        if !value.is_empty() {
            hints.push(Hint {
                about: About::Mac(mac),
                kind,
                value,
            })
        }
    };
    if let Some(d) = m.option(12) {
        push(HintKind::Hostname, printable(trim_nul(d), 255));
    }
    if let Some(d) = m.option(55) {
        push(HintKind::DhcpParamList, join_codes(d.iter().copied()));
    }
    if let Some(d) = m.option(60) {
        push(HintKind::DhcpVendorClass, printable(trim_nul(d), 255));
    }
    if let Some(d) = m.option(61) {
        push(HintKind::DhcpClientId, hex(d));
    }
    if let Some(&[a, b]) = m.option(57) {
        push(
            HintKind::DhcpMaxMsgSize,
            u16::from_be_bytes([a, b]).to_string(),
        );
    }
    if let Some(d) = m.option(81) {
        if let Some(name) = fqdn_name(d) {
            push(HintKind::DhcpFqdn, name);
        }
    }
    push(
        HintKind::DhcpOptions,
        join_codes(m.options.iter().map(|o| o.code)),
    );
    hints
}

fn trim_nul(d: &[u8]) -> &[u8] {
    let end = d.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    &d[..end]
}

fn join_codes(codes: impl Iterator<Item = u8>) -> String {
    codes.map(|c| c.to_string()).collect::<Vec<_>>().join(",")
}

/// Option 81 (RFC 4702): flags, two obsolete rcodes, then the name — in DNS
/// wire format when the E flag (0x04) is set, ASCII otherwise.
fn fqdn_name(d: &[u8]) -> Option<String> {
    let flags = *d.first()?;
    let name = d.get(3..)?;
    if flags & 0x04 == 0 {
        let s = printable(trim_nul(name), 255);
        return (!s.is_empty()).then_some(s);
    }
    let mut labels = Vec::new();
    let mut b = name;
    while let Some((&len, rest)) = b.split_first() {
        if len == 0 || len > 63 {
            break;
        }
        let label = rest.get(..len as usize)?;
        labels.push(printable(label, 63));
        b = &rest[len as usize..];
    }
    (!labels.is_empty()).then(|| labels.join("."))
}

/// Summary of a message the capture's snap length cut: its fixed header up
/// to the client's Ethernet address (the first 6 bytes of `chaddr`, 34 bytes
/// in all) must have been kept, and the options are read as far as they go,
/// a cut option dropped. `None` when not even that much was kept, or what
/// there is cannot be DHCP.
pub fn cut_summary(msg: &[u8]) -> Option<DhcpSummary> {
    if msg.len() < 34 || !matches!(msg[0], 1 | 2) {
        return None;
    }
    let mut options = Vec::new();
    if msg.get(FIXED..FIXED + 4) == Some(&MAGIC[..]) {
        let mut b = &msg[FIXED + 4..];
        // As `walk_options`, stopping without complaint at the cut.
        while let Some((&code, rest)) = b.split_first() {
            match code {
                0 => b = rest,
                255 => break,
                _ => {
                    let Some((&len, rest)) = rest.split_first() else {
                        break;
                    };
                    let Some(data) = rest.get(..len as usize) else {
                        break;
                    };
                    options.push(DhcpOpt { code, data });
                    b = &rest[len as usize..];
                }
            }
        }
    }
    let mut chaddr = [0u8; 16];
    let kept = &msg[28..msg.len().min(44)];
    chaddr[..kept.len()].copy_from_slice(kept);
    let m = message(msg, chaddr, options);
    Some(DhcpSummary {
        cut: true,
        ..summary(&m)
    })
}

/// DHCPv4 parser for one UDP flow (67/68). Stateless besides the malformed
/// streak: one server flow often carries many clients' messages.
#[derive(Debug, Default)]
pub struct DhcpParser {
    malformed_streak: u32,
}

impl DhcpParser {
    pub fn new() -> Self {
        Self::default()
    }
}

impl AppParser for DhcpParser {
    fn protocol(&self) -> AppProto {
        AppProto::Dhcp
    }

    fn feed(&mut self, _dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        match parse(data) {
            Ok(m) => {
                self.malformed_streak = 0;
                out.extend(client_hints(&m).into_iter().map(AppEvent::Hint));
                out.push(AppEvent::Dhcp(summary(&m)));
                true
            }
            Err(e) => {
                out.push(AppEvent::Malformed {
                    protocol: PROTO,
                    what: e.what(),
                });
                self.malformed_streak += 1;
                self.malformed_streak < MALFORMED_STREAK_MAX
            }
        }
    }

    /// A cut message is no malformation: its summary (no identity hints: a
    /// cut option list would be a wrong fingerprint) from what was kept.
    fn feed_cut(
        &mut self,
        _dir: Direction,
        data: &[u8],
        _missing: u32,
        out: &mut Vec<AppEvent>,
    ) -> bool {
        if let Some(s) = cut_summary(data) {
            self.malformed_streak = 0;
            out.push(AppEvent::Dhcp(s));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcproto::v4::{self, DhcpOption, Message, MessageType, OptionCode};
    use dhcproto::{Encodable, Encoder};

    const MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

    fn discover() -> Vec<u8> {
        let mut msg = Message::default();
        msg.set_chaddr(&MAC).set_xid(0xdead_beef);
        let opts = msg.opts_mut();
        opts.insert(DhcpOption::MessageType(MessageType::Discover));
        opts.insert(DhcpOption::Hostname("esp-cam".into()));
        opts.insert(DhcpOption::ParameterRequestList(vec![
            OptionCode::SubnetMask,
            OptionCode::Router,
            OptionCode::DomainNameServer,
            OptionCode::NtpServers,
        ]));
        opts.insert(DhcpOption::ClassIdentifier(b"udhcp 1.36.1".to_vec()));
        opts.insert(DhcpOption::ClientIdentifier(vec![
            1, 2, 0x11, 0x22, 0x33, 0x44, 0x55,
        ]));
        opts.insert(DhcpOption::MaxMessageSize(1500));
        let mut buf = Vec::new();
        msg.encode(&mut Encoder::new(&mut buf)).unwrap();
        buf
    }

    fn offer() -> Vec<u8> {
        let mut msg = Message::default();
        msg.set_opcode(v4::Opcode::BootReply)
            .set_chaddr(&MAC)
            .set_xid(0xdead_beef)
            .set_yiaddr([192, 168, 1, 50]);
        let opts = msg.opts_mut();
        opts.insert(DhcpOption::MessageType(MessageType::Offer));
        opts.insert(DhcpOption::ServerIdentifier([192, 168, 1, 1].into()));
        opts.insert(DhcpOption::SubnetMask([255, 255, 255, 0].into()));
        opts.insert(DhcpOption::Router(vec![[192, 168, 1, 1].into()]));
        opts.insert(DhcpOption::DomainNameServer(vec![
            [1, 1, 1, 1].into(),
            [8, 8, 8, 8].into(),
        ]));
        let mut buf = Vec::new();
        msg.encode(&mut Encoder::new(&mut buf)).unwrap();
        buf
    }

    #[test]
    fn a_message_cut_by_the_snap_length_is_summarised_not_malformed() {
        let d = discover();
        let mut p = DhcpParser::new();
        // Cut after the fixed header's first 86 bytes (a 128-byte snap
        // length behind Ethernet, IPv4 and UDP), nine times in a row.
        for _ in 0..9 {
            let mut ev = Vec::new();
            let missing = (d.len() - 86) as u32;
            assert!(p.feed_cut(Direction::ToServer, &d[..86], missing, &mut ev));
            let [AppEvent::Dhcp(s)] = ev.as_slice() else {
                panic!("{ev:?}");
            };
            assert_eq!((s.op, s.msg_type, s.cut), (1, 0, true));
            assert_eq!((s.client_mac, s.xid), (MAC, 0xdead_beef));
        }
        // Cut inside the options, just after 53: the whole ones are read,
        // and no hints are taken from a list that is not whole.
        let m = parse(&d).unwrap();
        let opt53 = m.options.iter().find(|o| o.code == 53).unwrap().data;
        let after = opt53.as_ptr() as usize - d.as_ptr() as usize + 1;
        let mut ev = Vec::new();
        assert!(p.feed_cut(Direction::ToServer, &d[..after + 1], 10, &mut ev));
        let [AppEvent::Dhcp(s)] = ev.as_slice() else {
            panic!("{ev:?}");
        };
        assert_eq!((s.msg_type, s.cut), (1, true));
        // Too little kept to say whose message it is: nothing.
        let mut ev = Vec::new();
        assert!(p.feed_cut(Direction::ToServer, &d[..30], 10, &mut ev));
        assert!(ev.is_empty());
        // The same cut bytes captured as they are (not cut) stay malformed.
        let mut ev = Vec::new();
        p.feed(Direction::ToServer, &d[..86], &mut ev);
        assert!(matches!(ev[0], AppEvent::Malformed { .. }));
    }

    #[test]
    fn a_cut_reply_gives_each_option_whole_or_not_at_all() {
        // Wherever the snap length cuts an OFFER, the network settings
        // it gives are the ones sent or none: an option cut in its middle
        // (a mask missing its last byte, one of two DNS servers) is
        // dropped, so no subnet is learned from part of a mask.
        let o = offer();
        let whole = summary(&parse(&o).unwrap());
        assert_eq!(whole.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
        let mut seen = [false; 2];
        for kept in 34..o.len() {
            let s = cut_summary(&o[..kept]).unwrap();
            assert_eq!((s.op, s.your_ip, s.cut), (2, whole.your_ip, true));
            assert!(s.subnet_mask.is_none() || s.subnet_mask == whole.subnet_mask);
            assert!(s.routers.is_empty() || s.routers == whole.routers);
            assert!(s.dns_servers.is_empty() || s.dns_servers == whole.dns_servers);
            assert!(s.server_id.is_none() || s.server_id == whole.server_id);
            seen[usize::from(s.subnet_mask.is_some())] = true;
        }
        assert_eq!(seen, [true, true], "cut before and after the mask");
    }

    fn hint(ev: &[AppEvent], kind: HintKind) -> Option<String> {
        ev.iter().find_map(|e| match e {
            AppEvent::Hint(h) if h.kind == kind => {
                assert_eq!(h.about, About::Mac(MAC));
                Some(h.value.clone())
            }
            _ => None,
        })
    }

    #[test]
    fn discover_yields_client_hints() {
        let mut p = DhcpParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &discover(), &mut ev));
        assert_eq!(hint(&ev, HintKind::Hostname).as_deref(), Some("esp-cam"));
        assert_eq!(
            hint(&ev, HintKind::DhcpParamList).as_deref(),
            Some("1,3,6,42")
        );
        assert_eq!(
            hint(&ev, HintKind::DhcpVendorClass).as_deref(),
            Some("udhcp 1.36.1")
        );
        assert_eq!(
            hint(&ev, HintKind::DhcpClientId).as_deref(),
            Some("01021122334455")
        );
        assert_eq!(hint(&ev, HintKind::DhcpMaxMsgSize).as_deref(), Some("1500"));
        // dhcproto encodes options sorted by code.
        assert_eq!(
            hint(&ev, HintKind::DhcpOptions).as_deref(),
            Some("12,53,55,57,60,61")
        );
        let AppEvent::Dhcp(s) = ev.last().unwrap() else {
            panic!()
        };
        assert_eq!(s.msg_type, 1);
        assert_eq!(s.xid, 0xdead_beef);
        assert_eq!(s.client_mac, MAC);
    }

    #[test]
    fn offer_summary_has_server_fields_and_no_hints() {
        let mut p = DhcpParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToClient, &offer(), &mut ev));
        assert_eq!(ev.len(), 1);
        let AppEvent::Dhcp(s) = &ev[0] else { panic!() };
        assert_eq!(s.msg_type, 2);
        assert_eq!(s.your_ip, Ipv4Addr::new(192, 168, 1, 50));
        assert_eq!(s.server_id, Some(Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(s.routers, vec![Ipv4Addr::new(192, 168, 1, 1)]);
        assert_eq!(s.dns_servers.len(), 2);
        assert_eq!(s.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    }

    #[test]
    fn fqdn_wire_and_ascii() {
        assert_eq!(
            fqdn_name(b"\x00\x00\x00host.lan").as_deref(),
            Some("host.lan")
        );
        assert_eq!(
            fqdn_name(b"\x05\x00\x00\x04host\x03lan\x00").as_deref(),
            Some("host.lan")
        );
    }

    #[test]
    fn truncated_option_is_malformed() {
        let mut d = discover();
        // Cut inside the options, after an option code and a length that overruns.
        d.truncate(FIXED + 4);
        d.extend_from_slice(&[12, 40, b'x']);
        let mut p = DhcpParser::new();
        let mut ev = Vec::new();
        p.feed(Direction::ToServer, &d, &mut ev);
        assert_eq!(
            ev,
            vec![AppEvent::Malformed {
                protocol: "dhcp",
                what: "truncated-option"
            }]
        );
    }
}
