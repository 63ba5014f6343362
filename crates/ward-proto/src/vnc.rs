//! VNC / RFB (RFC 6143): version handshake and security negotiation.
//!
//! - The server's `RFB xxx.yyy` greeting is a [`HintKind::Banner`] (Apple
//!   Remote Desktop says `003.889`, UltraVNC `003.004`/`003.006` …).
//! - Security type 1 (None) accepted → [`AppEvent::NoAuth`]: the screen is
//!   open to anyone.
//! - Security type 2 (VNC authentication, DES challenge-response) →
//!   a [`Credential`] with method `vnc-challenge`, no username and no secret
//!   (the response is crackable offline but is not the password), outcome
//!   from the SecurityResult. Other types (TLS, VeNCrypt, Apple …) end the
//!   parse: what follows is not readable here.
//!
//! The server speaks first, so the direction of the first `RFB ` greeting is
//! taken as the server's — the parser works even when the engine guessed the
//! flow's initiator wrong. Per direction at most [`MAX_BUFFER`] bytes are
//! buffered; versions other than 3.7 and 3.8 are read as 3.3, as the RFC
//! asks.

use crate::{AppEvent, AppParser, AppProto, Credential, Direction, Hint, HintKind, LoginOutcome};

/// Bytes buffered per direction while a handshake message is incomplete.
pub const MAX_BUFFER: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    ServerVersion,
    ClientVersion,
    SecurityTypes,
    ClientChoice,
    Challenge,
    Response,
    SecurityResult { none: bool },
    Done,
}

/// VNC/RFB parser; one per flow.
#[derive(Debug)]
pub struct VncParser {
    state: State,
    server_dir: Option<Direction>,
    /// [server bytes, client bytes]
    bufs: [Vec<u8>; 2],
    /// Minor protocol version in use: 3, 7 or 8.
    minor: u8,
}

impl Default for VncParser {
    fn default() -> Self {
        Self::new()
    }
}

fn version(msg: &[u8]) -> Option<(u16, u16)> {
    let s = std::str::from_utf8(msg.strip_prefix(b"RFB ")?.strip_suffix(b"\n")?).ok()?;
    let (maj, min) = s.split_once('.')?;
    Some((maj.parse().ok()?, min.parse().ok()?))
}

impl VncParser {
    pub fn new() -> Self {
        VncParser {
            state: State::ServerVersion,
            server_dir: None,
            bufs: [Vec::new(), Vec::new()],
            minor: 3,
        }
    }

    /// Take `n` bytes from the server (`true`) or client buffer, if there.
    fn take(&mut self, server: bool, n: usize) -> Option<Vec<u8>> {
        let buf = &mut self.bufs[if server { 0 } else { 1 }];
        (buf.len() >= n).then(|| buf.drain(..n).collect())
    }

    fn credential(outcome: LoginOutcome) -> AppEvent {
        AppEvent::Credential(Credential {
            protocol: "vnc",
            method: "vnc-challenge",
            username: None,
            secret: None,
            outcome,
        })
    }

    fn malformed(&mut self, what: &'static str, out: &mut Vec<AppEvent>) {
        out.push(AppEvent::Malformed {
            protocol: "vnc",
            what,
        });
        self.state = State::Done;
    }

    /// Advance as far as the buffered bytes allow.
    fn step(&mut self, out: &mut Vec<AppEvent>) {
        loop {
            let before = self.state;
            match self.state {
                State::ServerVersion => {
                    let Some(msg) = self.take(true, 12) else {
                        return;
                    };
                    if version(&msg).is_none() {
                        return self.malformed("server-version", out);
                    }
                    let about = self
                        .server_dir
                        .map_or(crate::About::Responder, |d| d.sender());
                    out.push(AppEvent::Hint(Hint {
                        about,
                        kind: HintKind::Banner,
                        value: String::from_utf8_lossy(&msg[..11]).into_owned(),
                    }));
                    self.state = State::ClientVersion;
                }
                State::ClientVersion => {
                    let Some(msg) = self.take(false, 12) else {
                        return;
                    };
                    let Some((_, minor)) = version(&msg) else {
                        return self.malformed("client-version", out);
                    };
                    self.minor = match minor {
                        7 => 7,
                        8.. => 8,
                        _ => 3,
                    };
                    self.state = State::SecurityTypes;
                }
                State::SecurityTypes if self.minor == 3 => {
                    // 3.3: the server decides, as a u32.
                    let Some(t) = self.take(true, 4) else { return };
                    self.state = match u32::from_be_bytes([t[0], t[1], t[2], t[3]]) {
                        1 => {
                            out.push(AppEvent::NoAuth { protocol: "vnc" });
                            State::Done
                        }
                        2 => State::Challenge,
                        _ => State::Done,
                    };
                }
                State::SecurityTypes => {
                    let Some(&n) = self.bufs[0].first() else {
                        return;
                    };
                    if n == 0 {
                        self.state = State::Done; // connection failed, reason follows
                        continue;
                    }
                    if self.take(true, 1 + n as usize).is_none() {
                        return;
                    }
                    self.state = State::ClientChoice;
                }
                State::ClientChoice => {
                    let Some(c) = self.take(false, 1) else { return };
                    self.state = match (c[0], self.minor) {
                        (1, 8) => State::SecurityResult { none: true },
                        (1, _) => {
                            out.push(AppEvent::NoAuth { protocol: "vnc" });
                            State::Done
                        }
                        (2, _) => State::Challenge,
                        _ => State::Done,
                    };
                }
                State::Challenge => {
                    if self.take(true, 16).is_none() {
                        return;
                    }
                    self.state = State::Response;
                }
                State::Response => {
                    if self.take(false, 16).is_none() {
                        return;
                    }
                    self.state = State::SecurityResult { none: false };
                }
                State::SecurityResult { none } => {
                    let Some(r) = self.take(true, 4) else { return };
                    let ok = r == [0, 0, 0, 0];
                    match (none, ok) {
                        (true, true) => out.push(AppEvent::NoAuth { protocol: "vnc" }),
                        (true, false) => {}
                        (false, true) => out.push(Self::credential(LoginOutcome::Success)),
                        (false, false) => out.push(Self::credential(LoginOutcome::Failure)),
                    }
                    self.state = State::Done;
                }
                State::Done => return,
            }
            if self.state == before {
                return;
            }
        }
    }
}

impl AppParser for VncParser {
    fn protocol(&self) -> AppProto {
        AppProto::Vnc
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        if self.state == State::Done {
            return false;
        }
        if self.server_dir.is_none() {
            if !data.starts_with(b"RFB ") {
                self.malformed("no-greeting", out);
                return false;
            }
            self.server_dir = Some(dir);
        }
        let server = Some(dir) == self.server_dir;
        let buf = &mut self.bufs[if server { 0 } else { 1 }];
        if buf.len() + data.len() > MAX_BUFFER {
            self.malformed("buffer-overflow", out);
            return false;
        }
        buf.extend_from_slice(data);
        self.step(out);
        self.state != State::Done
    }

    fn finish(&mut self, out: &mut Vec<AppEvent>) {
        // Only a client that answered the challenge made an attempt; one
        // that hung up at the challenge (a user cancelling the password
        // dialog) did not.
        if self.state == (State::SecurityResult { none: false }) {
            out.push(Self::credential(LoginOutcome::Unknown));
        }
        self.state = State::Done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ToClient as S, ToServer as C};

    fn run(steps: &[(Direction, &[u8])]) -> Vec<AppEvent> {
        let mut p = VncParser::new();
        let mut out = Vec::new();
        for (d, data) in steps {
            p.feed(*d, data, &mut out);
        }
        p.finish(&mut out);
        out
    }

    fn banner(v: &str) -> AppEvent {
        AppEvent::Hint(Hint {
            about: crate::About::Responder,
            kind: HintKind::Banner,
            value: v.into(),
        })
    }

    #[test]
    fn v38_vnc_auth_failed_with_reason() {
        let ev = run(&[
            (S, b"RFB 003.008\n"),
            (C, b"RFB 003.008\n"),
            (S, &[2, 2, 16]),
            (C, &[2]),
            (S, &[7; 16]),
            (C, &[9; 16]),
            (S, &[0, 0, 0, 1, 0, 0, 0, 4, b'n', b'o', b'p', b'e']),
        ]);
        assert_eq!(
            ev,
            vec![
                banner("RFB 003.008"),
                VncParser::credential(LoginOutcome::Failure)
            ]
        );
    }

    #[test]
    fn v33_none_and_v38_none_are_noauth() {
        let ev = run(&[
            (S, b"RFB 003.003\n"),
            (C, b"RFB 003.003\n"),
            (S, &[0, 0, 0, 1]),
        ]);
        assert_eq!(
            ev,
            vec![banner("RFB 003.003"), AppEvent::NoAuth { protocol: "vnc" }]
        );
        let ev = run(&[
            (S, b"RFB 003.008\n"),
            (C, b"RFB 003.008\n"),
            (S, &[1, 1]),
            (C, &[1]),
            (S, &[0, 0, 0, 0]),
        ]);
        assert_eq!(
            ev,
            vec![banner("RFB 003.008"), AppEvent::NoAuth { protocol: "vnc" }]
        );
    }

    #[test]
    fn whole_handshake_in_one_chunk_per_side_and_reversed_roles() {
        // The engine took the server for the initiator: roles follow the greeting.
        let mut server = b"RFB 003.007\n".to_vec();
        server.extend_from_slice(&[1, 2]);
        let ev = run(&[
            (C, &server),
            (S, b"RFB 003.007\n\x02"),
            (C, &[5; 16]),
            (S, &[6; 16]),
            (C, &[0, 0, 0, 0]),
        ]);
        assert_eq!(
            ev.last(),
            Some(&VncParser::credential(LoginOutcome::Success))
        );
    }

    #[test]
    fn unanswered_challenge_is_unknown() {
        let ev = run(&[
            (S, b"RFB 003.003\n"),
            (C, b"RFB 003.003\n"),
            (S, &[0, 0, 0, 2]),
            (S, &[1; 16]),
            (C, &[2; 16]),
        ]);
        assert_eq!(
            ev.last(),
            Some(&VncParser::credential(LoginOutcome::Unknown))
        );
        // A client that hangs up at the challenge made no attempt.
        let ev = run(&[
            (S, b"RFB 003.003\n"),
            (C, b"RFB 003.003\n"),
            (S, &[0, 0, 0, 2]),
            (S, &[1; 16]),
        ]);
        assert_eq!(ev.len(), 1);
    }
}
