//! DHCPv6 (RFC 8415), client messages as identity hints.
//!
//! From client messages (SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, RELEASE,
//! DECLINE, INFORMATION-REQUEST) the parser reports, about the sender,
//! [`HintKind::Dhcpv6`] values:
//! - `oro=23,24,39` — option request list (option 6), in order;
//! - `options=1,3,6,8` — option codes present, in order;
//! - `vendor_class=<enterprise>:<data>` (option 16) and
//!   `enterprise=<number>` for vendor-specific information (option 17);
//! - `duid_type=<n>` — the DUID flavour (option 1), which differs by stack;
//!
//! and the client FQDN (option 39) as [`HintKind::Hostname`] (first label).
//! Relay messages (RELAY-FORW/REPL) are unwrapped through their Relay
//! Message option, at most [`RELAY_DEPTH_MAX`] deep. Server messages yield
//! nothing. Garbage is [`AppEvent::Malformed`]; after
//! [`MALFORMED_STREAK_MAX`] in a row the parser gives up.

use crate::{printable, AppEvent, AppParser, AppProto, Direction, Hint, HintKind};

pub const MALFORMED_STREAK_MAX: u32 = 8;
/// Nested relay messages followed.
pub const RELAY_DEPTH_MAX: usize = 4;
const PROTO: &str = "dhcpv6";
/// Option codes listed in `options=` / `oro=` values.
const CODES_MAX: usize = 64;

/// DHCPv6 parser for one UDP flow (546/547).
#[derive(Debug, Default)]
pub struct Dhcpv6Parser {
    malformed_streak: u32,
}

impl Dhcpv6Parser {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Options in wire order.
fn options(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, &'static str> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return Err("truncated-option");
        }
        let code = u16::from_be_bytes([b[0], b[1]]);
        let len = u16::from_be_bytes([b[2], b[3]]) as usize;
        let data = b.get(4..4 + len).ok_or("truncated-option")?;
        out.push((code, data));
        b = &b[4 + len..];
    }
    Ok(out)
}

fn is_client_message(t: u8) -> bool {
    matches!(t, 1 | 3 | 4 | 5 | 6 | 8 | 9 | 11)
}

/// Options of one message in wire order: (code, data).
type Options<'a> = Vec<(u16, &'a [u8])>;

/// The (type, options) of the innermost message, unwrapping relays.
fn innermost(mut msg: &[u8]) -> Result<(u8, Options<'_>), &'static str> {
    for _ in 0..=RELAY_DEPTH_MAX {
        let t = *msg.first().ok_or("too-short")?;
        if t == 12 || t == 13 {
            // Relay: type, hop count, link address (16), peer address (16).
            let opts = options(msg.get(34..).ok_or("too-short")?)?;
            match opts.iter().find(|(c, _)| *c == 9) {
                Some((_, inner)) => msg = inner,
                None => return Ok((t, opts)),
            }
        } else {
            let opts = options(msg.get(4..).ok_or("too-short")?)?;
            return Ok((t, opts));
        }
    }
    Err("relay-too-deep")
}

fn join(codes: impl Iterator<Item = u16>) -> String {
    codes
        .take(CODES_MAX)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// DNS wire-format name (RFC 8415 §10), printable, labels joined by dots.
fn wire_name(mut b: &[u8]) -> Option<String> {
    let mut labels = Vec::new();
    while let Some((&len, rest)) = b.split_first() {
        if len == 0 || len > 63 {
            break;
        }
        labels.push(printable(rest.get(..len as usize)?, 63));
        b = &rest[len as usize..];
    }
    (!labels.is_empty()).then(|| labels.join("."))
}

/// Hints (kind, value) from one client message's options.
fn client_hints(opts: &[(u16, &[u8])]) -> Vec<(HintKind, String)> {
    let mut out = Vec::new();
    out.push((
        HintKind::Dhcpv6,
        format!("options={}", join(opts.iter().map(|(c, _)| *c))),
    ));
    for (code, d) in opts {
        match code {
            1 if d.len() >= 2 => {
                out.push((
                    HintKind::Dhcpv6,
                    format!("duid_type={}", u16::from_be_bytes([d[0], d[1]])),
                ));
            }
            6 => {
                let codes = d.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                out.push((HintKind::Dhcpv6, format!("oro={}", join(codes))));
            }
            16 if d.len() >= 4 => {
                let ent = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                // vendor-class-data: a list of (u16 length, opaque) items.
                let mut items = Vec::new();
                let mut b = &d[4..];
                while b.len() >= 2 && items.len() < 8 {
                    let n = u16::from_be_bytes([b[0], b[1]]) as usize;
                    let Some(item) = b.get(2..2 + n) else { break };
                    items.push(printable(item, 128));
                    b = &b[2 + n..];
                }
                out.push((
                    HintKind::Dhcpv6,
                    format!("vendor_class={ent}:{}", items.join(",")),
                ));
            }
            17 if d.len() >= 4 => {
                let ent = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                out.push((HintKind::Dhcpv6, format!("enterprise={ent}")));
            }
            39 if d.len() >= 2 => {
                if let Some(name) = wire_name(&d[1..]) {
                    let host = name.split('.').next().unwrap_or_default().to_string();
                    out.push((HintKind::Hostname, host));
                }
            }
            _ => {}
        }
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

impl AppParser for Dhcpv6Parser {
    fn protocol(&self) -> AppProto {
        AppProto::Dhcpv6
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        match innermost(data) {
            Ok((t, opts)) => {
                self.malformed_streak = 0;
                if is_client_message(t) {
                    // A relayed client message is about the client, not the relay
                    // that sent it; the engine cannot attribute it, so skip it.
                    if data.first().is_some_and(|f| *f == 12 || *f == 13) {
                        return true;
                    }
                    for (kind, value) in client_hints(&opts) {
                        out.push(AppEvent::Hint(Hint {
                            about: dir.sender(),
                            kind,
                            value,
                        }));
                    }
                }
                true
            }
            Err(what) => {
                out.push(AppEvent::Malformed {
                    protocol: PROTO,
                    what,
                });
                self.malformed_streak += 1;
                self.malformed_streak < MALFORMED_STREAK_MAX
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::About;

    fn opt(code: u16, data: &[u8]) -> Vec<u8> {
        let mut v = code.to_be_bytes().to_vec();
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    /// A SOLICIT built from RFC 8415 §8 and §21.
    fn solicit() -> Vec<u8> {
        let mut m = vec![1, 0xab, 0xcd, 0xef];
        // DUID-LL: type 3, hardware type 1, MAC.
        m.extend(opt(1, &[0, 3, 0, 1, 2, 0x11, 0x22, 0x33, 0x44, 0x55]));
        m.extend(opt(6, &[0, 23, 0, 24, 0, 39]));
        m.extend(opt(8, &[0, 0]));
        let mut vc = 311u32.to_be_bytes().to_vec();
        vc.extend_from_slice(&[0, 8]);
        vc.extend_from_slice(b"MSFT 5.0");
        m.extend(opt(16, &vc));
        m.extend(opt(39, b"\x00\x07desktop\x04home\x00"));
        m
    }

    #[test]
    fn solicit_hints() {
        let mut p = Dhcpv6Parser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &solicit(), &mut ev));
        let vals: Vec<String> = ev
            .iter()
            .map(|e| match e {
                AppEvent::Hint(h) => {
                    assert_eq!(h.about, About::Initiator);
                    format!("{}:{}", h.kind.as_str(), h.value)
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            vals,
            vec![
                "dhcpv6:options=1,6,8,16,39",
                "dhcpv6:duid_type=3",
                "dhcpv6:oro=23,24,39",
                "dhcpv6:vendor_class=311:MSFT 5.0",
                "hostname:desktop",
            ]
        );
    }

    #[test]
    fn server_reply_and_garbage() {
        let mut p = Dhcpv6Parser::new();
        let mut ev = Vec::new();
        let mut adv = solicit();
        adv[0] = 2;
        assert!(p.feed(Direction::ToClient, &adv, &mut ev));
        assert!(ev.is_empty());
        p.feed(Direction::ToClient, &[1, 0, 0, 0, 0, 9, 0xff], &mut ev);
        assert!(matches!(
            ev[0],
            AppEvent::Malformed {
                protocol: "dhcpv6",
                ..
            }
        ));
    }
}
