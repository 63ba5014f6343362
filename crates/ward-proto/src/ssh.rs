//! SSH identification strings (RFC 4253 §4.2).
//!
//! Each side sends `SSH-protoversion-softwareversion SP comments CR LF`,
//! possibly after other lines (servers may send text first). The parser
//! reports, for each side, [`AppEvent::Software`] (product and version split
//! from the software-version token: `OpenSSH_8.9p1` → `OpenSSH` `8.9p1`,
//! `dropbear_2022.83`, `Cisco-1.25`) and a [`HintKind::Banner`] hint with the
//! whole line, about the sender. It buffers at most [`LINE_MAX`] bytes per
//! line and [`PRE_LINES_MAX`] lines before the banner, then gives up with
//! [`AppEvent::Malformed`]. After both banners it asks for no more data (the
//! rest is the binary protocol).

use crate::{printable, AppEvent, AppParser, AppProto, Direction, Hint, HintKind};

/// RFC 4253: the identification line is at most 255 bytes including CR LF.
pub const LINE_MAX: usize = 255;
/// Lines tolerated before the identification line.
pub const PRE_LINES_MAX: usize = 8;
const PROTO: &str = "ssh";

#[derive(Debug, Default)]
struct Side {
    line: Vec<u8>,
    lines_before: usize,
    done: bool,
}

/// SSH banner parser for one TCP flow.
#[derive(Debug, Default)]
pub struct SshParser {
    client: Side,
    server: Side,
}

impl SshParser {
    pub fn new() -> Self {
        Self::default()
    }
}

/// (product, version) from a banner line `SSH-2.0-OpenSSH_8.9p1 Ubuntu-3`.
pub fn split_banner(line: &str) -> Option<(String, Option<String>)> {
    let rest = line.strip_prefix("SSH-")?;
    let (_proto, software) = rest.split_once('-')?;
    let software = software.split([' ', '\t']).next().unwrap_or_default();
    if software.is_empty() {
        return None;
    }
    // The version starts at the first `_` or `-` followed by a digit:
    // `OpenSSH_8.9p1`, `OpenSSH_for_Windows_7.7`, `PuTTY_Release_0.78`, `Cisco-1.25`.
    let bytes = software.as_bytes();
    let cut = (0..bytes.len().saturating_sub(1))
        .find(|&i| matches!(bytes[i], b'_' | b'-') && bytes[i + 1].is_ascii_digit());
    let (p, v) = match cut {
        Some(i) => (&software[..i], Some(&software[i + 1..])),
        None => (software, None),
    };
    Some((
        p.to_string(),
        v.filter(|v| !v.is_empty()).map(str::to_string),
    ))
}

impl AppParser for SshParser {
    fn protocol(&self) -> AppProto {
        AppProto::Ssh
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let side = match dir {
            Direction::ToServer => &mut self.client,
            Direction::ToClient => &mut self.server,
        };
        let mut rest = data;
        while !side.done && !rest.is_empty() {
            let nl = rest.iter().position(|b| *b == b'\n');
            let (part, tail) = match nl {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            if side.line.len() + part.len() > LINE_MAX {
                out.push(AppEvent::Malformed {
                    protocol: PROTO,
                    what: "banner-too-long",
                });
                return false;
            }
            side.line.extend_from_slice(part);
            rest = tail;
            if nl.is_none() {
                break;
            }
            let line = std::mem::take(&mut side.line);
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.starts_with(b"SSH-") {
                side.done = true;
                let raw = printable(line, LINE_MAX);
                out.push(AppEvent::Hint(Hint {
                    about: dir.sender(),
                    kind: HintKind::Banner,
                    value: raw.clone(),
                }));
                match split_banner(&raw) {
                    Some((product, version)) => out.push(AppEvent::Software {
                        about: dir.sender(),
                        product,
                        version,
                        raw,
                    }),
                    None => out.push(AppEvent::Malformed {
                        protocol: PROTO,
                        what: "bad-banner",
                    }),
                }
            } else {
                side.lines_before += 1;
                if side.lines_before > PRE_LINES_MAX {
                    out.push(AppEvent::Malformed {
                        protocol: PROTO,
                        what: "no-banner",
                    });
                    return false;
                }
            }
        }
        !(self.client.done && self.server.done)
    }
}

/// True when `first` starts like an SSH identification line.
pub fn looks_like_ssh(first: &[u8]) -> bool {
    first.starts_with(b"SSH-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::About;

    #[test]
    fn banners_both_ways() {
        let mut p = SshParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToClient, b"SSH-2.0-dropbear_2022", &mut ev));
        assert!(p.feed(Direction::ToClient, b".83\r\n\x00\x00\x01\x14", &mut ev));
        assert!(!p.feed(
            Direction::ToServer,
            b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
            &mut ev
        ));
        let sw: Vec<(About, String, Option<String>)> = ev
            .iter()
            .filter_map(|e| match e {
                AppEvent::Software {
                    about,
                    product,
                    version,
                    ..
                } => Some((*about, product.clone(), version.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            sw,
            vec![
                (About::Responder, "dropbear".into(), Some("2022.83".into())),
                (About::Initiator, "OpenSSH".into(), Some("9.2p1".into())),
            ]
        );
    }

    #[test]
    fn split_variants() {
        assert_eq!(
            split_banner("SSH-2.0-Cisco-1.25"),
            Some(("Cisco".into(), Some("1.25".into())))
        );
        assert_eq!(
            split_banner("SSH-2.0-ROSSSH"),
            Some(("ROSSSH".into(), None))
        );
        assert_eq!(split_banner("SSH-1.99-"), None);
        assert_eq!(
            split_banner("SSH-2.0-OpenSSH_for_Windows_7.7"),
            Some(("OpenSSH_for_Windows".into(), Some("7.7".into())))
        );
        assert_eq!(
            split_banner("SSH-2.0-libssh2_1.10.0"),
            Some(("libssh2".into(), Some("1.10.0".into())))
        );
    }

    #[test]
    fn no_banner_gives_up() {
        let mut p = SshParser::new();
        let mut ev = Vec::new();
        let junk = b"x\n".repeat(PRE_LINES_MAX + 1);
        assert!(!p.feed(Direction::ToClient, &junk, &mut ev));
        let mut p = SshParser::new();
        assert!(!p.feed(Direction::ToClient, &[b'a'; 300], &mut ev));
    }
}
