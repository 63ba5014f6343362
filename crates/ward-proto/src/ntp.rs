//! NTP (RFC 5905), UDP 123.
//!
//! The parser reads the first byte (leap, version, mode) and, for server
//! replies, the stratum and reference id. It reports:
//! - for the first client request (mode 3, or symmetric active 1) of a flow, a
//!   [`HintKind::NtpServer`] hint about the initiator whose value is
//!   [`RESPONDER_ADDRESS`]: the parser sees no addresses, so the engine
//!   replaces that marker with the flow's responder address (the server the
//!   device is configured to use);
//! - for the first server reply (mode 4), symmetric passive reply (2) or
//!   broadcast (mode 5) a
//!   [`HintKind::Banner`] about the sender, `ntp v4 stratum 2 refid 192.0.2.1`
//!   (stratum 1 reference ids are clock names such as `GPS`);
//! - [`AppEvent::Malformed`] for datagrams that are too short or carry mode 0;
//!   after [`MALFORMED_STREAK_MAX`] in a row the parser gives up.
//!
//! Control (6) and private (7, `monlist`) messages are valid NTP and produce
//! no event here. Once both hints are out, the parser asks for no more data.

use crate::{printable, AppEvent, AppParser, AppProto, Direction, Hint, HintKind};

/// Marker value of the [`HintKind::NtpServer`] hint: "this flow's responder".
pub const RESPONDER_ADDRESS: &str = "@responder";
pub const MALFORMED_STREAK_MAX: u32 = 8;
const PROTO: &str = "ntp";
/// Mode 6 control messages may be as short as their 12-byte header.
const CONTROL_MIN: usize = 12;
const PACKET_MIN: usize = 48;

/// NTP parser for one UDP flow.
#[derive(Debug, Default)]
pub struct NtpParser {
    client_seen: bool,
    server_seen: bool,
    malformed_streak: u32,
}

impl NtpParser {
    pub fn new() -> Self {
        Self::default()
    }
}

/// (version, mode) of an NTP datagram, or None when it is not one.
pub fn version_mode(data: &[u8]) -> Option<(u8, u8)> {
    let first = *data.first()?;
    let version = (first >> 3) & 7;
    let mode = first & 7;
    let min = if mode >= 6 { CONTROL_MIN } else { PACKET_MIN };
    (data.len() >= min && mode != 0 && (1..=4).contains(&version)).then_some((version, mode))
}

fn refid(stratum: u8, id: &[u8]) -> String {
    if stratum <= 1 {
        // Kiss code or reference clock name, ASCII padded with NULs.
        let end = id.iter().position(|b| *b == 0).unwrap_or(id.len());
        printable(&id[..end], 4)
    } else {
        format!("{}.{}.{}.{}", id[0], id[1], id[2], id[3])
    }
}

impl AppParser for NtpParser {
    fn protocol(&self) -> AppProto {
        AppProto::Ntp
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let Some((version, mode)) = version_mode(data) else {
            out.push(AppEvent::Malformed {
                protocol: PROTO,
                what: "bad-packet",
            });
            self.malformed_streak += 1;
            return self.malformed_streak < MALFORMED_STREAK_MAX;
        };
        self.malformed_streak = 0;
        match mode {
            // Client, or symmetric-active peer: the responder serves it time.
            1 | 3 if dir == Direction::ToServer && !self.client_seen => {
                self.client_seen = true;
                out.push(AppEvent::Hint(Hint {
                    about: dir.sender(),
                    kind: HintKind::NtpServer,
                    value: RESPONDER_ADDRESS.to_string(),
                }));
            }
            2 | 4 | 5 if !self.server_seen => {
                self.server_seen = true;
                // version_mode guaranteed 48 bytes for these modes.
                let stratum = data[1];
                out.push(AppEvent::Hint(Hint {
                    about: dir.sender(),
                    kind: HintKind::Banner,
                    value: format!(
                        "ntp v{version} stratum {stratum} refid {}",
                        refid(stratum, &data[12..16])
                    ),
                }));
            }
            _ => {}
        }
        !(self.client_seen && self.server_seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::About;

    fn packet(version: u8, mode: u8, stratum: u8, refid: [u8; 4]) -> Vec<u8> {
        let mut p = vec![0u8; 48];
        p[0] = (version << 3) | mode;
        p[1] = stratum;
        p[12..16].copy_from_slice(&refid);
        p
    }

    #[test]
    fn client_and_server() {
        let mut p = NtpParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &packet(4, 3, 0, [0; 4]), &mut ev));
        assert!(!p.feed(
            Direction::ToClient,
            &packet(4, 4, 2, [192, 0, 2, 1]),
            &mut ev
        ));
        assert_eq!(
            ev,
            vec![
                AppEvent::Hint(Hint {
                    about: About::Initiator,
                    kind: HintKind::NtpServer,
                    value: RESPONDER_ADDRESS.into()
                }),
                AppEvent::Hint(Hint {
                    about: About::Responder,
                    kind: HintKind::Banner,
                    value: "ntp v4 stratum 2 refid 192.0.2.1".into()
                }),
            ]
        );
        let mut ev = Vec::new();
        NtpParser::new().feed(Direction::ToClient, &packet(4, 4, 1, *b"GPS\0"), &mut ev);
        assert!(matches!(&ev[0], AppEvent::Hint(h) if h.value.ends_with("refid GPS")));
    }

    #[test]
    fn short_is_malformed() {
        let mut ev = Vec::new();
        NtpParser::new().feed(Direction::ToServer, &[0x23, 0, 0], &mut ev);
        assert!(matches!(
            ev[0],
            AppEvent::Malformed {
                protocol: "ntp",
                ..
            }
        ));
    }
}
