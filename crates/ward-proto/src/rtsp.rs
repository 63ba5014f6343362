//! RTSP (IP cameras): `Authorization` on requests, the server's verdict and
//! `Server` header, and streams served without any authentication.
//!
//! - `Authorization: Basic` → a credential with username and password;
//!   `Digest` → username only (the response hash is not a password).
//! - The response with the request's `CSeq` decides: `401`/`403` failure,
//!   `2xx` success, anything else unknown. Identical credentials repeated on
//!   every request of a session (DESCRIBE, SETUP, PLAY …) are reported once,
//!   with the first verdict that is not unknown.
//! - `200` to a DESCRIBE or PLAY that carried no `Authorization`, on a flow
//!   where no request did, is [`AppEvent::NoAuth`]: anyone can watch.
//! - The first `Server` header is a [`HintKind::Banner`] and, where it
//!   names a version, [`AppEvent::Software`].
//!
//! Messages are framed per direction: heads up to [`MAX_HEAD`] bytes,
//! bodies skipped by `Content-Length`, interleaved RTP/RTCP (`$`, channel,
//! 16-bit length) skipped by length. At most [`MAX_PENDING`] unanswered
//! requests are remembered.

use crate::linebuf::{base64_decode, product_version};
use crate::{
    printable, About, AppEvent, AppParser, AppProto, Credential, Direction, Hint, HintKind,
    LoginOutcome, Secret,
};

/// Longest message head (request/status line and headers) buffered.
pub const MAX_HEAD: usize = 8 * 1024;
/// Requests waiting for their response.
pub const MAX_PENDING: usize = 16;
const MAX_FIELD: usize = 256;

#[derive(Debug, Default)]
struct Stream {
    buf: Vec<u8>,
    skip: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Login {
    method: &'static str,
    user: Option<String>,
    secret: Option<String>,
}

#[derive(Debug)]
struct Pending {
    cseq: Option<u32>,
    watch: bool,
    login: Option<Login>,
}

/// RTSP parser; one per flow.
#[derive(Debug, Default)]
pub struct RtspParser {
    streams: [Stream; 2],
    pending: Vec<Pending>,
    any_auth: bool,
    noauth_reported: bool,
    server_reported: bool,
    /// Logins already reported with a known outcome, so a session's
    /// repeated headers are one credential.
    reported: Vec<Login>,
    /// Logins reported once: the last unknown one is kept until finish.
    unresolved: Vec<Login>,
}

enum Item {
    Head(Vec<u8>),
    Malformed(&'static str),
}

impl Stream {
    fn push(&mut self, mut data: &[u8], items: &mut Vec<Item>) {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                if self.skip > 0 {
                    return;
                }
            }
            if !data.is_empty() {
                let room = MAX_HEAD.saturating_sub(self.buf.len());
                let n = room.min(data.len());
                self.buf.extend_from_slice(&data[..n]);
                data = &data[n..];
            }
            if self.buf.is_empty() {
                return;
            }
            if self.buf[0] == b'$' {
                // Interleaved binary data: '$', channel, 16-bit length.
                let Some(len) = self.buf.get(2..4) else {
                    return;
                };
                let total = 4 + u16::from_be_bytes([len[0], len[1]]) as usize;
                if self.buf.len() >= total {
                    self.buf.drain(..total);
                } else {
                    self.skip = total - self.buf.len();
                    self.buf.clear();
                }
                continue;
            }
            let Some(end) = find(&self.buf, b"\r\n\r\n")
                .map(|i| i + 4)
                .or_else(|| find(&self.buf, b"\n\n").map(|i| i + 2))
            else {
                if self.buf.len() >= MAX_HEAD {
                    items.push(Item::Malformed("head-too-long"));
                    self.buf.clear();
                }
                if data.is_empty() {
                    return;
                }
                continue;
            };
            let head: Vec<u8> = self.buf.drain(..end).collect();
            let body = header(&head, b"content-length")
                .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let n = body.min(self.buf.len());
            self.buf.drain(..n);
            self.skip = body - n;
            items.push(Item::Head(head));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Value of the first header named `name` (lower-case) in a message head.
fn header<'a>(head: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (k, v) = line.split_at(colon);
        k.trim_ascii()
            .eq_ignore_ascii_case(name)
            .then(|| v[1..].trim_ascii())
    })
}

fn authorization(value: &[u8]) -> Option<Login> {
    // hydra's RTSP module sends `Authorization: : Basic …`; camera servers
    // that skip the stray colon accept it, so read past it too.
    let value = value
        .strip_prefix(b":")
        .map_or(value, |v| v.trim_ascii_start());
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(i) => (&value[..i], value[i + 1..].trim_ascii()),
        None => (value, &[][..]),
    };
    if scheme.eq_ignore_ascii_case(b"Basic") {
        let raw = base64_decode(rest)?;
        let colon = raw.iter().position(|&b| b == b':')?;
        Some(Login {
            method: "basic",
            user: Some(printable(&raw[..colon], MAX_FIELD)),
            secret: Some(printable(&raw[colon + 1..], MAX_FIELD)),
        })
    } else if scheme.eq_ignore_ascii_case(b"Digest") {
        Some(Login {
            method: "digest",
            user: digest_param(rest, b"username").map(|u| printable(u, MAX_FIELD)),
            secret: None,
        })
    } else {
        None
    }
}

/// A `key="value"` or `key=value` parameter of a Digest header.
fn digest_param<'a>(params: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut rest = params;
    while !rest.is_empty() {
        rest = rest.trim_ascii_start();
        let eq = rest.iter().position(|&b| b == b'=')?;
        let k = rest[..eq].trim_ascii();
        let after = &rest[eq + 1..];
        let (v, tail) = if let Some(q) = after.strip_prefix(b"\"") {
            let end = q.iter().position(|&b| b == b'"')?;
            (&q[..end], &q[end + 1..])
        } else {
            let end = after.iter().position(|&b| b == b',').unwrap_or(after.len());
            (after[..end].trim_ascii(), &after[end..])
        };
        if k.eq_ignore_ascii_case(key) {
            return Some(v);
        }
        rest = tail.strip_prefix(b",").unwrap_or(tail.trim_ascii_start());
        if let Some(r) = rest.strip_prefix(b",") {
            rest = r;
        }
    }
    None
}

fn cseq(head: &[u8]) -> Option<u32> {
    std::str::from_utf8(header(head, b"cseq")?)
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl RtspParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn request(&mut self, head: &[u8]) {
        let method = head.split(|&b| b == b' ').next().unwrap_or_default();
        let watch =
            method.eq_ignore_ascii_case(b"DESCRIBE") || method.eq_ignore_ascii_case(b"PLAY");
        let login = header(head, b"authorization").and_then(authorization);
        if header(head, b"authorization").is_some() {
            self.any_auth = true;
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(Pending {
            cseq: cseq(head),
            watch,
            login,
        });
    }

    fn response(&mut self, head: &[u8], out: &mut Vec<AppEvent>) {
        if !self.server_reported {
            if let Some(server) = header(head, b"server") {
                self.server_reported = true;
                let text = printable(server, MAX_FIELD);
                out.push(AppEvent::Hint(Hint {
                    about: About::Responder,
                    kind: HintKind::Banner,
                    value: text.clone(),
                }));
                if let Some((product, version)) = product_version(&text) {
                    out.push(AppEvent::Software {
                        about: About::Responder,
                        product,
                        version: Some(version),
                        raw: text,
                    });
                }
            }
        }
        let status: Option<u16> = head
            .split(|&b| b == b' ')
            .nth(1)
            .and_then(|s| std::str::from_utf8(s).ok()?.parse().ok());
        let Some(status) = status else {
            out.push(AppEvent::Malformed {
                protocol: "rtsp",
                what: "status-line",
            });
            return;
        };
        let seq = cseq(head);
        let pos = match seq {
            Some(s) => self.pending.iter().position(|p| p.cseq == Some(s)),
            None if !self.pending.is_empty() => Some(0),
            None => None,
        };
        let Some(pending) = pos.map(|i| self.pending.remove(i)) else {
            return;
        };
        let outcome = match status {
            200..=299 => LoginOutcome::Success,
            401 | 403 => LoginOutcome::Failure,
            _ => LoginOutcome::Unknown,
        };
        match pending.login {
            Some(login) => self.report(login, outcome, out),
            None => {
                if pending.watch
                    && outcome == LoginOutcome::Success
                    && !self.any_auth
                    && !self.noauth_reported
                {
                    self.noauth_reported = true;
                    out.push(AppEvent::NoAuth { protocol: "rtsp" });
                }
            }
        }
    }

    fn report(&mut self, login: Login, outcome: LoginOutcome, out: &mut Vec<AppEvent>) {
        if self.reported.contains(&login) {
            return;
        }
        if outcome == LoginOutcome::Unknown {
            if !self.unresolved.contains(&login) && self.unresolved.len() < MAX_PENDING {
                self.unresolved.push(login);
            }
            return;
        }
        self.unresolved.retain(|l| l != &login);
        if self.reported.len() >= MAX_PENDING {
            self.reported.remove(0);
        }
        self.reported.push(login.clone());
        out.push(AppEvent::Credential(Credential {
            protocol: "rtsp",
            method: login.method,
            username: login.user,
            secret: login.secret.map(Secret::new),
            outcome,
        }));
    }
}

impl AppParser for RtspParser {
    fn protocol(&self) -> AppProto {
        AppProto::Rtsp
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let mut items = Vec::new();
        let idx = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        self.streams[idx].push(data, &mut items);
        for item in items {
            match item {
                Item::Malformed(what) => out.push(AppEvent::Malformed {
                    protocol: "rtsp",
                    what,
                }),
                // Either side may send requests (ANNOUNCE, GET_PARAMETER from
                // the server); the first line tells which kind it is.
                Item::Head(h) if h.starts_with(b"RTSP/") => self.response(&h, out),
                Item::Head(h) => {
                    if dir == Direction::ToServer {
                        self.request(&h)
                    }
                }
            }
        }
        true
    }

    fn finish(&mut self, out: &mut Vec<AppEvent>) {
        let mut left: Vec<Login> = self.pending.drain(..).filter_map(|p| p.login).collect();
        left.append(&mut self.unresolved);
        for login in left {
            if self.reported.contains(&login) {
                continue;
            }
            self.reported.push(login.clone());
            out.push(AppEvent::Credential(Credential {
                protocol: "rtsp",
                method: login.method,
                username: login.user,
                secret: login.secret.map(Secret::new),
                outcome: LoginOutcome::Unknown,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ToClient as S, ToServer as C};

    fn run(steps: &[(Direction, &[u8])]) -> Vec<AppEvent> {
        let mut p = RtspParser::new();
        let mut out = Vec::new();
        for (d, data) in steps {
            p.feed(*d, data, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn basic_auth_401_then_200_once_per_session() {
        // "admin:12345" in base64 (RFC 7617 encoding).
        let ev = run(&[
            (C, b"DESCRIBE rtsp://10.0.0.2/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
            (S, b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nServer: Hikvision-Webs/2.1.0\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n"),
            (C, b"DESCRIBE rtsp://10.0.0.2/ RTSP/1.0\r\nCSeq: 2\r\nAuthorization: Basic YWRtaW46MTIzNDU=\r\n\r\n"),
            (S, b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 10\r\n\r\nv=0\r\no=- 1"),
            (C, b"PLAY rtsp://10.0.0.2/ RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic YWRtaW46MTIzNDU=\r\n\r\n"),
            (S, b"RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n$\x00\x00\x04abcd$\x01\x00\x02"),
            (S, b"xyRTSP/1.0 200 OK\r\nCSeq: 4\r\n\r\n"),
        ]);
        let creds: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                AppEvent::Credential(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(creds.len(), 1);
        assert_eq!(creds[0].method, "basic");
        assert_eq!(creds[0].username.as_deref(), Some("admin"));
        assert_eq!(creds[0].secret.as_ref().unwrap().expose(), "12345");
        assert_eq!(creds[0].outcome, LoginOutcome::Success);
        assert!(!ev.contains(&AppEvent::NoAuth { protocol: "rtsp" }));
        assert!(ev.iter().any(|e| matches!(e,
            AppEvent::Software { product, .. } if product == "Hikvision-Webs")));
        assert!(!ev.iter().any(|e| matches!(e, AppEvent::Malformed { .. })));
    }

    #[test]
    fn digest_username_and_failure() {
        let ev = run(&[
            (C, b"DESCRIBE rtsp://h/ RTSP/1.0\r\nCSeq: 5\r\nAuthorization: Digest username=\"viewer\", realm=\"r\", nonce=\"n\", uri=\"rtsp://h/\", response=\"0123\"\r\n\r\n"),
            (S, b"RTSP/1.0 401 Unauthorized\r\nCSeq: 5\r\n\r\n"),
        ]);
        assert_eq!(
            ev,
            vec![AppEvent::Credential(Credential {
                protocol: "rtsp",
                method: "digest",
                username: Some("viewer".into()),
                secret: None,
                outcome: LoginOutcome::Failure,
            })]
        );
    }

    /// hydra 9.4 (lab scenario `variants`) writes a stray colon before the
    /// scheme; its guesses must still be read.
    #[test]
    fn hydra_stray_colon_before_the_scheme_is_read() {
        let ev = run(&[
            (C, b"DESCRIBE rtsp://h:554 RTSP/1.0\r\nCSeq: 2\r\nAuthorization: : Basic cm9vdDp4YzM1MTE=\r\n\r\n"),
            (S, b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Basic realm=\"IP Camera\"\r\n\r\n"),
        ]);
        let [AppEvent::Credential(c)] = ev.as_slice() else {
            panic!("one credential expected: {ev:?}");
        };
        assert_eq!(c.username.as_deref(), Some("root"));
        assert_eq!(c.secret.as_ref().map(|s| s.expose()), Some("xc3511"));
        assert_eq!(c.outcome, LoginOutcome::Failure);
    }

    #[test]
    fn open_stream_is_noauth() {
        let ev = run(&[
            (C, b"OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
            (S, b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"),
            (C, b"DESCRIBE rtsp://h/ RTSP/1.0\r\nCSeq: 2\r\n\r\n"),
            (S, b"RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n"),
        ]);
        assert_eq!(ev, vec![AppEvent::NoAuth { protocol: "rtsp" }]);
    }
}
