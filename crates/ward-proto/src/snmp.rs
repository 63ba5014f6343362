//! SNMP v1/v2c community strings and v3 USM user names.
//!
//! Each datagram is decoded with a small strict BER reader (single-byte
//! tags, definite lengths of at most four bytes, every length checked
//! against what is left) that reads only the envelope: version, community
//! or v3 header and security parameters, PDU type and request-id. Variable
//! bindings are never walked.
//!
//! Events, per flow:
//! - [`AppEvent::Snmp`] once per SNMP version seen (v1 = 0, v2c = 1, v3 = 3);
//!   a walk of thousands of PDUs is one flow fact, not thousands.
//! - one [`Credential`] per distinct community (method `community`, the
//!   community as secret): success as soon as a Response with the
//!   request-id of a request that carried it comes back, otherwise unknown
//!   at [`AppParser::finish`] (agents drop requests with a wrong community
//!   silently, so "no answer" is the only failure signal there is).
//! - one [`Credential`] per distinct v3 user name (method `usm`, no secret):
//!   success when a Response (or an encrypted reply) to one of its msgIDs
//!   comes back, failure when only Reports did, otherwise unknown.
//!
//! At most [`MAX_NAMES`] communities/users and [`MAX_PENDING`] unanswered
//! requests are remembered per flow; older requests are forgotten first.

use crate::{
    printable, AppEvent, AppParser, AppProto, Credential, Direction, LoginOutcome, Secret,
};

/// Distinct communities or v3 users remembered per flow.
pub const MAX_NAMES: usize = 16;
/// Unanswered requests remembered per flow.
pub const MAX_PENDING: usize = 64;
const MAX_FIELD: usize = 128;

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTETS: u8 = 0x04;
const TAG_SEQUENCE: u8 = 0x30;
const PDU_GET: u8 = 0xA0;
const PDU_RESPONSE: u8 = 0xA2;
const PDU_TRAP_V1: u8 = 0xA4;
const PDU_TRAP_V2: u8 = 0xA7;
const PDU_REPORT: u8 = 0xA8;

/// One BER element: (tag, value, rest after it).
fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags never occur in SNMP
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first & 0x80 == 0 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None; // indefinite or absurd lengths
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    Some((tag, value, rest))
}

fn expect(data: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, value, rest) = tlv(data)?;
    (tag == want).then_some((value, rest))
}

fn integer(data: &[u8]) -> Option<(i64, &[u8])> {
    let (value, rest) = expect(data, TAG_INTEGER)?;
    if value.is_empty() || value.len() > 8 {
        return None;
    }
    let neg = value[0] & 0x80 != 0;
    let v = value
        .iter()
        .fold(if neg { -1i64 } else { 0 }, |a, &b| (a << 8) | b as i64);
    Some((v, rest))
}

/// The envelope of one SNMP message.
#[derive(Debug, PartialEq, Eq)]
enum Message {
    Community {
        version: u8,
        community: Vec<u8>,
        pdu: u8,
        /// `None` for v1 traps, which have no request-id.
        request_id: Option<i64>,
    },
    V3 {
        msg_id: i64,
        user: Vec<u8>,
        /// PDU tag, `None` when the scoped PDU is encrypted.
        pdu: Option<u8>,
    },
}

fn parse(datagram: &[u8]) -> Option<Message> {
    let (msg, _trailing) = expect(datagram, TAG_SEQUENCE)?;
    let (version, rest) = integer(msg)?;
    match version {
        0 | 1 => {
            let (community, rest) = expect(rest, TAG_OCTETS)?;
            let (pdu, body, _) = tlv(rest)?;
            if !(PDU_GET..=PDU_REPORT).contains(&pdu) {
                return None;
            }
            let request_id = if pdu == PDU_TRAP_V1 {
                None
            } else {
                Some(integer(body)?.0)
            };
            Some(Message::Community {
                version: version as u8,
                community: community.to_vec(),
                pdu,
                request_id,
            })
        }
        3 => {
            let (header, rest) = expect(rest, TAG_SEQUENCE)?;
            let (msg_id, _) = integer(header)?;
            let (sec, rest) = expect(rest, TAG_OCTETS)?;
            // USM parameters (RFC 3414 §2.4): engine id, boots, time, user, …
            let user = (|| {
                let (usm, _) = expect(sec, TAG_SEQUENCE)?;
                let (_, r) = expect(usm, TAG_OCTETS)?;
                let (_, r) = integer(r)?;
                let (_, r) = integer(r)?;
                Some(expect(r, TAG_OCTETS)?.0.to_vec())
            })()
            .unwrap_or_default();
            let (tag, scoped, _) = tlv(rest)?;
            let pdu = match tag {
                TAG_SEQUENCE => {
                    let (_, r) = expect(scoped, TAG_OCTETS)?; // contextEngineID
                    let (_, r) = expect(r, TAG_OCTETS)?; // contextName
                    Some(tlv(r)?.0)
                }
                TAG_OCTETS => None,
                _ => return None,
            };
            Some(Message::V3 { msg_id, user, pdu })
        }
        _ => None,
    }
}

#[derive(Debug)]
struct Name {
    value: String,
    reported: bool,
    /// v3: a Report came back for this user.
    reported_back: bool,
}

/// SNMP parser; one per flow (UDP 161/162).
#[derive(Debug, Default)]
pub struct SnmpParser {
    versions_seen: u8,
    malformed_reported: bool,
    communities: Vec<Name>,
    users: Vec<Name>,
    /// (v3?, request-id or msgID, index into communities/users)
    pending: Vec<(bool, i64, usize)>,
}

impl SnmpParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn name_index(names: &mut Vec<Name>, value: &[u8]) -> Option<usize> {
        let value = printable(value, MAX_FIELD);
        if let Some(i) = names.iter().position(|n| n.value == value) {
            return Some(i);
        }
        if names.len() >= MAX_NAMES {
            return None;
        }
        names.push(Name {
            value,
            reported: false,
            reported_back: false,
        });
        Some(names.len() - 1)
    }

    fn remember(&mut self, v3: bool, id: i64, idx: usize) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push((v3, id, idx));
    }

    fn answered(&mut self, v3: bool, id: i64) -> Option<usize> {
        let pos = self
            .pending
            .iter()
            .position(|&(p3, pid, _)| p3 == v3 && pid == id)?;
        Some(self.pending.remove(pos).2)
    }

    fn emit(name: &mut Name, v3: bool, outcome: LoginOutcome, out: &mut Vec<AppEvent>) {
        if name.reported {
            return;
        }
        name.reported = true;
        out.push(AppEvent::Credential(Credential {
            protocol: "snmp",
            method: if v3 { "usm" } else { "community" },
            username: v3.then(|| name.value.clone()),
            secret: (!v3).then(|| Secret::new(name.value.clone())),
            outcome,
        }));
    }
}

impl AppParser for SnmpParser {
    fn protocol(&self) -> AppProto {
        AppProto::Snmp
    }

    fn feed(&mut self, _dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let Some(msg) = parse(data) else {
            if !self.malformed_reported {
                self.malformed_reported = true;
                out.push(AppEvent::Malformed {
                    protocol: "snmp",
                    what: "ber",
                });
            }
            return true;
        };
        let version = match msg {
            Message::Community { version, .. } => version,
            Message::V3 { .. } => 3,
        };
        if self.versions_seen & (1 << version) == 0 {
            self.versions_seen |= 1 << version;
            out.push(AppEvent::Snmp { version });
        }
        match msg {
            Message::Community {
                community,
                pdu,
                request_id,
                ..
            } => {
                if pdu == PDU_RESPONSE || pdu == PDU_REPORT {
                    if let Some(idx) = request_id.and_then(|id| self.answered(false, id)) {
                        if let Some(n) = self.communities.get_mut(idx) {
                            Self::emit(n, false, LoginOutcome::Success, out);
                        }
                    }
                } else if let Some(idx) = Self::name_index(&mut self.communities, &community) {
                    // Traps (v1 and v2) are never answered; informs and requests are.
                    if let (Some(id), false) = (request_id, pdu == PDU_TRAP_V2) {
                        self.remember(false, id, idx);
                    }
                }
            }
            Message::V3 { msg_id, user, pdu } => {
                let reply = matches!(pdu, Some(PDU_RESPONSE | PDU_REPORT));
                if reply {
                    if let Some(idx) = self.answered(true, msg_id) {
                        if let Some(n) = self.users.get_mut(idx) {
                            if pdu == Some(PDU_REPORT) {
                                n.reported_back = true;
                            } else {
                                Self::emit(n, true, LoginOutcome::Success, out);
                            }
                        }
                    }
                } else if pdu.is_none() && self.pending.iter().any(|p| p.0 && p.1 == msg_id) {
                    // An encrypted reply to one of our msgIDs: Reports are
                    // never encrypted, so the user got through.
                    if let Some(idx) = self.answered(true, msg_id) {
                        if let Some(n) = self.users.get_mut(idx) {
                            Self::emit(n, true, LoginOutcome::Success, out);
                        }
                    }
                } else if !user.is_empty() {
                    if let Some(idx) = Self::name_index(&mut self.users, &user) {
                        self.remember(true, msg_id, idx);
                    }
                }
            }
        }
        true
    }

    fn finish(&mut self, out: &mut Vec<AppEvent>) {
        for n in &mut self.communities {
            Self::emit(n, false, LoginOutcome::Unknown, out);
        }
        for n in &mut self.users {
            let outcome = if n.reported_back {
                LoginOutcome::Failure
            } else {
                LoginOutcome::Unknown
            };
            Self::emit(n, true, outcome, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BER TLV with a definite length (short or long form), for tests.
    fn ber(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        if value.len() < 128 {
            v.push(value.len() as u8);
        } else {
            v.push(0x82);
            v.extend_from_slice(&(value.len() as u16).to_be_bytes());
        }
        v.extend_from_slice(value);
        v
    }
    fn int(i: i64) -> Vec<u8> {
        let bytes = i.to_be_bytes();
        let mut start = 0;
        while start < 7
            && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
                || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
        {
            start += 1;
        }
        ber(TAG_INTEGER, &bytes[start..])
    }
    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }
    /// An SNMPv1/v2c message (RFC 1157 / RFC 3416) with one NULL varbind.
    fn v2c(version: i64, community: &str, pdu: u8, rid: i64) -> Vec<u8> {
        let oid = ber(0x06, &[0x2b, 6, 1, 2, 1, 1, 1, 0]);
        let varbind = ber(TAG_SEQUENCE, &cat(&[oid, vec![0x05, 0]]));
        let pdu = ber(
            pdu,
            &cat(&[int(rid), int(0), int(0), ber(TAG_SEQUENCE, &varbind)]),
        );
        ber(
            TAG_SEQUENCE,
            &cat(&[int(version), ber(TAG_OCTETS, community.as_bytes()), pdu]),
        )
    }
    /// An SNMPv3 message (RFC 3412 §6, USM per RFC 3414 §2.4), plaintext scoped PDU.
    fn v3(msg_id: i64, user: &str, pdu: u8) -> Vec<u8> {
        let header = ber(
            TAG_SEQUENCE,
            &cat(&[int(msg_id), int(65507), ber(TAG_OCTETS, &[4]), int(3)]),
        );
        let usm = ber(
            TAG_SEQUENCE,
            &cat(&[
                ber(TAG_OCTETS, b"\x80\x00\x1f\x88\x04"),
                int(1),
                int(100),
                ber(TAG_OCTETS, user.as_bytes()),
                ber(TAG_OCTETS, b""),
                ber(TAG_OCTETS, b""),
            ]),
        );
        let scoped = ber(
            TAG_SEQUENCE,
            &cat(&[
                ber(TAG_OCTETS, b""),
                ber(TAG_OCTETS, b""),
                ber(pdu, &cat(&[int(7), int(0), int(0), ber(TAG_SEQUENCE, &[])])),
            ]),
        );
        ber(
            TAG_SEQUENCE,
            &cat(&[int(3), header, ber(TAG_OCTETS, &usm), scoped]),
        )
    }

    fn run(datagrams: &[Vec<u8>]) -> Vec<AppEvent> {
        let mut p = SnmpParser::new();
        let mut out = Vec::new();
        for d in datagrams {
            p.feed(Direction::ToServer, d, &mut out);
        }
        p.finish(&mut out);
        out
    }

    fn cred(outcome: LoginOutcome, community: &str) -> AppEvent {
        AppEvent::Credential(Credential {
            protocol: "snmp",
            method: "community",
            username: None,
            secret: Some(Secret::new(community)),
            outcome,
        })
    }

    #[test]
    fn answered_community_is_success_unanswered_unknown() {
        let ev = run(&[
            v2c(1, "public", PDU_GET, 42),
            v2c(1, "private", PDU_GET, 43),
            v2c(1, "public", PDU_RESPONSE, 42),
            v2c(1, "public", PDU_GET, -5),
            v2c(1, "public", PDU_RESPONSE, -5),
        ]);
        assert_eq!(
            ev,
            vec![
                AppEvent::Snmp { version: 1 },
                cred(LoginOutcome::Success, "public"),
                cred(LoginOutcome::Unknown, "private"),
            ]
        );
    }

    #[test]
    fn response_with_other_request_id_proves_nothing() {
        let ev = run(&[
            v2c(0, "public", PDU_GET, 1),
            v2c(0, "public", PDU_RESPONSE, 2),
        ]);
        assert_eq!(
            ev,
            vec![
                AppEvent::Snmp { version: 0 },
                cred(LoginOutcome::Unknown, "public")
            ]
        );
    }

    #[test]
    fn long_community_uses_long_form_length() {
        let long = "c".repeat(200);
        let ev = run(&[v2c(1, &long, PDU_GET, 9)]);
        assert!(
            matches!(&ev[1], AppEvent::Credential(c) if c.secret.as_ref().unwrap().len() == MAX_FIELD)
        );
    }

    #[test]
    fn v3_user_success_and_report_failure() {
        let ev = run(&[
            v3(1, "", PDU_GET), // engine discovery: no user
            v3(1, "", PDU_REPORT),
            v3(2, "admin", PDU_GET),
            v3(2, "admin", PDU_RESPONSE),
            v3(3, "guest", PDU_GET),
            v3(3, "", PDU_REPORT),
        ]);
        let creds: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                AppEvent::Credential(c) => {
                    Some((c.username.clone().unwrap(), c.secret.is_none(), c.outcome))
                }
                _ => None,
            })
            .collect();
        assert_eq!(ev[0], AppEvent::Snmp { version: 3 });
        assert_eq!(
            creds,
            vec![
                ("admin".to_string(), true, LoginOutcome::Success),
                ("guest".to_string(), true, LoginOutcome::Failure)
            ]
        );
    }

    #[test]
    fn truncated_and_indefinite_lengths_are_rejected() {
        let good = v2c(1, "public", PDU_GET, 1);
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_none(), "cut at {cut}");
        }
        assert!(tlv(&[0x30, 0x80, 0, 0]).is_none());
        assert!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
    }
}
