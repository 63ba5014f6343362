//! MQTT 3.1 (`MQIsdp`), 3.1.1 and 5: the CONNECT login and the broker's
//! CONNACK verdict.
//!
//! - CONNECT gives the username and password (3.1/3.1.1/5) and, for MQTT 5,
//!   the authentication method and data properties (enhanced auth).
//! - CONNACK's return code (3.x) or reason code (5) gives the outcome:
//!   `0` success; `4`/`5` (3.x) and `0x86`/`0x87`/`0x8C` (5) failure; other
//!   codes say nothing about the credentials (unknown). `0x18` (continue
//!   authentication) keeps waiting.
//! - A broker accepting a CONNECT that carried no username, password or
//!   authentication method is an open broker: [`AppEvent::NoAuth`].
//!
//! Packets are framed per direction by their fixed header; only CONNECT,
//! CONNACK and AUTH bodies are buffered (at most [`MAX_PACKET`] bytes),
//! everything else is skipped by length without copying. Parsing stops after
//! the CONNACK: the rest of the session carries no logins.

use crate::{
    printable, AppEvent, AppParser, AppProto, Credential, Direction, LoginOutcome, Secret,
};

/// Largest CONNECT/CONNACK/AUTH body buffered.
pub const MAX_PACKET: usize = 16 * 1024;
const MAX_FIELD: usize = 256;

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const AUTH: u8 = 15;

/// Splits one direction into MQTT control packets.
///
/// The fixed state is inline (16 bytes); the body being collected lives in
/// a buffer the caller passes in, which [`MqttParser`] allocates only while a
/// CONNECT, CONNACK or AUTH is split across segments.
#[derive(Debug, Default)]
struct Framer {
    /// Fixed header so far: type byte and up to four remaining-length bytes.
    header: [u8; 5],
    header_len: u8,
    collecting: bool,
    /// Body length wanted while collecting (at most [`MAX_PACKET`]).
    want: u32,
    /// Bytes still to skip (a remaining length is below 2^28).
    skip: u32,
}

#[derive(Debug)]
enum Frame {
    Packet(u8, Vec<u8>),
    TooLarge,
    BadLength,
}

impl Framer {
    fn push(
        &mut self,
        mut data: &[u8],
        body: &mut Vec<u8>,
        interesting: impl Fn(u8) -> bool,
        frames: &mut Vec<Frame>,
    ) {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = (self.skip as usize).min(data.len());
                self.skip -= n as u32;
                data = &data[n..];
                continue;
            }
            if self.collecting {
                let want = self.want as usize;
                let n = want.saturating_sub(body.len()).min(data.len());
                body.extend_from_slice(&data[..n]);
                data = &data[n..];
                if body.len() == want {
                    self.collecting = false;
                    let kind = self.header[0] >> 4;
                    frames.push(Frame::Packet(kind, std::mem::take(body)));
                    self.header_len = 0;
                }
                continue;
            }
            let b = data[0];
            data = &data[1..];
            // header_len < 5 here: a fifth byte either ends the length or
            // returns BadLength below.
            self.header[usize::from(self.header_len)] = b;
            self.header_len += 1;
            if self.header_len == 1 {
                continue;
            }
            if b & 0x80 != 0 {
                if self.header_len == 5 {
                    // A remaining length takes at most four bytes.
                    frames.push(Frame::BadLength);
                    return;
                }
                continue;
            }
            let mut len = 0usize;
            for (i, &lb) in self.header[1..usize::from(self.header_len)]
                .iter()
                .enumerate()
            {
                len |= ((lb & 0x7f) as usize) << (7 * i);
            }
            // Four 7-bit groups: below 2^28, so it fits a u32.
            let len32 = len as u32;
            let kind = self.header[0] >> 4;
            if interesting(kind) {
                if len > MAX_PACKET {
                    frames.push(Frame::TooLarge);
                    self.skip = len32;
                    self.header_len = 0;
                } else if len == 0 {
                    frames.push(Frame::Packet(kind, Vec::new()));
                    self.header_len = 0;
                } else {
                    self.want = len32;
                    self.collecting = true;
                }
            } else {
                self.skip = len32;
                self.header_len = 0;
            }
        }
    }
}

/// Bounds-checked reader over one packet body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    /// Two-byte length prefixed string or binary data.
    fn bin16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
    fn varint(&mut self) -> Option<usize> {
        let mut v = 0usize;
        for i in 0..4 {
            let b = self.u8()?;
            v |= ((b & 0x7f) as usize) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

/// What a CONNECT carried.
#[derive(Debug, Default, PartialEq, Eq)]
struct Connect {
    level: u8,
    username: Option<String>,
    password: Option<String>,
    auth_method: Option<String>,
    auth_data: Option<String>,
}

/// MQTT 5 properties (§2.2.2.2): returns (authentication method, data).
/// `None` if a property is unknown or truncated.
fn properties(mut r: Reader<'_>) -> Option<(Option<String>, Option<String>)> {
    let (mut method, mut data) = (None, None);
    while !r.0.is_empty() {
        match r.varint()? {
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => {
                r.u8()?;
            }
            0x13 | 0x21 | 0x22 | 0x23 => {
                r.u16()?;
            }
            0x02 | 0x11 | 0x18 | 0x27 => {
                r.take(4)?;
            }
            0x0B => {
                r.varint()?;
            }
            0x03 | 0x08 | 0x09 | 0x12 | 0x1A | 0x1C | 0x1F => {
                r.bin16()?;
            }
            0x15 => method = Some(printable(r.bin16()?, MAX_FIELD)),
            0x16 => data = Some(printable(r.bin16()?, MAX_FIELD)),
            0x26 => {
                r.bin16()?;
                r.bin16()?;
            }
            _ => return None,
        }
    }
    Some((method, data))
}

fn parse_connect(body: &[u8]) -> Result<Connect, &'static str> {
    let mut r = Reader(body);
    let name = r.bin16().ok_or("connect-truncated")?;
    if name != b"MQTT" && name != b"MQIsdp" {
        return Err("connect-protocol-name");
    }
    let level = r.u8().ok_or("connect-truncated")?;
    let flags = r.u8().ok_or("connect-truncated")?;
    r.u16().ok_or("connect-truncated")?; // keep alive
    let mut c = Connect {
        level,
        ..Connect::default()
    };
    if level >= 5 {
        let n = r.varint().ok_or("connect-truncated")?;
        let props = r.take(n).ok_or("connect-truncated")?;
        let (m, d) = properties(Reader(props)).ok_or("connect-properties")?;
        c.auth_method = m;
        c.auth_data = d;
    }
    r.bin16().ok_or("connect-truncated")?; // client identifier
    if flags & 0x04 != 0 {
        if level >= 5 {
            let n = r.varint().ok_or("connect-truncated")?;
            r.take(n).ok_or("connect-truncated")?;
        }
        r.bin16().ok_or("connect-truncated")?; // will topic
        r.bin16().ok_or("connect-truncated")?; // will payload
    }
    if flags & 0x80 != 0 {
        c.username = Some(printable(r.bin16().ok_or("connect-truncated")?, MAX_FIELD));
    }
    if flags & 0x40 != 0 {
        c.password = Some(printable(r.bin16().ok_or("connect-truncated")?, MAX_FIELD));
    }
    Ok(c)
}

/// Outcome of a CONNACK code for a CONNECT of protocol `level`; `None` while
/// MQTT 5 enhanced authentication continues.
fn connack_outcome(level: u8, code: u8) -> Option<LoginOutcome> {
    Some(match (level >= 5, code) {
        (_, 0) => LoginOutcome::Success,
        (false, 4 | 5) => LoginOutcome::Failure,
        (true, 0x86 | 0x87 | 0x8C) => LoginOutcome::Failure,
        (true, 0x18) => return None,
        _ => LoginOutcome::Unknown,
    })
}

/// MQTT parser; one per flow.
///
/// Kept small for flows that wait long between packets: the framers are
/// inline, packet bodies being collected are boxed only while they exist,
/// and a CONNECT waiting for its CONNACK is its protocol level inline plus,
/// only if it carried credentials, a box (an idle parser is 56 bytes).
#[derive(Debug, Default)]
pub struct MqttParser {
    framers: [Framer; 2],
    /// Bodies being collected, to server (0) and to client (1); `None` when both are empty.
    bodies: Option<Box<[Vec<u8>; 2]>>,
    /// Protocol level of the CONNECT waiting for its CONNACK.
    connect_level: Option<u8>,
    /// That CONNECT, kept only if it carried a username, password or
    /// authentication method (most devices log in without).
    connect_creds: Option<Box<Connect>>,
    done: bool,
}

impl MqttParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn conclude(&mut self, outcome: LoginOutcome, out: &mut Vec<AppEvent>) {
        if self.connect_level.take().is_none() {
            return;
        }
        let c = *self.connect_creds.take().unwrap_or_default();
        if c.username.is_some() || c.password.is_some() {
            out.push(AppEvent::Credential(Credential {
                protocol: "mqtt",
                method: "user-pass",
                username: c.username,
                secret: c.password.map(Secret::new),
                outcome,
            }));
        } else if c.auth_method.is_some() {
            out.push(AppEvent::Credential(Credential {
                protocol: "mqtt",
                method: "enhanced-auth",
                username: None,
                secret: c.auth_data.map(Secret::new),
                outcome,
            }));
        } else if outcome == LoginOutcome::Success {
            out.push(AppEvent::NoAuth { protocol: "mqtt" });
        }
    }
}

/// True if `data` starts like an MQTT CONNECT (for content detection on odd ports).
pub fn looks_like_connect(data: &[u8]) -> bool {
    if data.first() != Some(&0x10) {
        return false;
    }
    // Skip the remaining-length varint, then expect a known protocol name.
    let rest = data.get(1..).unwrap_or_default();
    let Some(n) = rest.iter().take(4).position(|b| b & 0x80 == 0) else {
        return false;
    };
    let body = rest.get(n + 1..).unwrap_or_default();
    body.starts_with(b"\x00\x04MQTT") || body.starts_with(b"\x00\x06MQIsdp")
}

impl AppParser for MqttParser {
    fn protocol(&self) -> AppProto {
        AppProto::Mqtt
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        if self.done {
            return false;
        }
        let mut frames = Vec::new();
        let i = usize::from(dir == Direction::ToClient);
        // The body being collected, if any; the box is made only when a
        // body stays split after this chunk (PUBLISH traffic, most of an
        // MQTT flow, is skipped without one).
        let mut body = match &mut self.bodies {
            Some(b) => std::mem::take(&mut b[i]),
            None => Vec::new(),
        };
        match dir {
            Direction::ToServer => {
                self.framers[0].push(data, &mut body, |k| k == CONNECT || k == AUTH, &mut frames)
            }
            Direction::ToClient => {
                self.framers[1].push(data, &mut body, |k| k == CONNACK || k == AUTH, &mut frames)
            }
        }
        if !body.is_empty() {
            self.bodies.get_or_insert_with(Box::default)[i] = body;
        } else if self
            .bodies
            .as_ref()
            .is_some_and(|b| b.iter().all(Vec::is_empty))
        {
            self.bodies = None;
        }
        for f in frames {
            match f {
                Frame::BadLength => {
                    out.push(AppEvent::Malformed {
                        protocol: "mqtt",
                        what: "remaining-length",
                    });
                    self.done = true;
                }
                Frame::TooLarge => out.push(AppEvent::Malformed {
                    protocol: "mqtt",
                    what: "packet-too-large",
                }),
                Frame::Packet(CONNECT, body) => match parse_connect(&body) {
                    Ok(c) => {
                        self.conclude(LoginOutcome::Unknown, out);
                        self.connect_level = Some(c.level);
                        let creds =
                            c.username.is_some() || c.password.is_some() || c.auth_method.is_some();
                        self.connect_creds = creds.then(|| Box::new(c));
                    }
                    Err(what) => out.push(AppEvent::Malformed {
                        protocol: "mqtt",
                        what,
                    }),
                },
                Frame::Packet(CONNACK, body) => {
                    let level = self.connect_level.unwrap_or(4);
                    let Some(&code) = body.get(1) else {
                        out.push(AppEvent::Malformed {
                            protocol: "mqtt",
                            what: "connack-truncated",
                        });
                        continue;
                    };
                    if let Some(outcome) = connack_outcome(level, code) {
                        self.conclude(outcome, out);
                        self.done = true;
                    }
                }
                Frame::Packet(_, _) => {} // AUTH exchange: the CONNACK decides.
            }
            if self.done {
                break;
            }
        }
        !self.done
    }

    fn finish(&mut self, out: &mut Vec<AppEvent>) {
        self.conclude(LoginOutcome::Unknown, out);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn connect_body_is_boxed_only_while_split() {
        assert!(std::mem::size_of::<MqttParser>() <= 56);
        let c = encode_connect(4, "id", Some("u"), Some(b"p"), &[], None);
        let mut p = MqttParser::new();
        let mut ev = Vec::new();
        let (a, b) = c.split_at(c.len() - 3);
        assert!(p.feed(Direction::ToServer, a, &mut ev));
        assert!(p.bodies.is_some());
        assert!(p.feed(Direction::ToServer, b, &mut ev));
        assert!(p.bodies.is_none());
        assert_eq!(p.connect_level, Some(4));
        assert!(p.connect_creds.is_some());
        assert!(!p.feed(Direction::ToClient, &[0x20, 2, 0, 0], &mut ev));
        assert!(matches!(&ev[..], [AppEvent::Credential(c)] if c.outcome == LoginOutcome::Success));
        // Without credentials only the level is kept, and the broker's
        // acceptance still makes it an open broker.
        let mut p = MqttParser::new();
        let mut ev = Vec::new();
        let c = encode_connect(4, "id", None, None, &[], None);
        assert!(p.feed(Direction::ToServer, &c, &mut ev));
        assert_eq!(p.connect_level, Some(4));
        assert!(p.connect_creds.is_none());
        assert!(!p.feed(Direction::ToClient, &[0x20, 2, 0, 0], &mut ev));
        assert!(matches!(&ev[..], [AppEvent::NoAuth { protocol: "mqtt" }]));
    }

    /// MQTT CONNECT encoder written from the specifications (3.1 §3.1,
    /// 3.1.1 §3.1, 5.0 §3.1), for tests.
    pub(crate) fn encode_connect(
        level: u8,
        client_id: &str,
        user: Option<&str>,
        pass: Option<&[u8]>,
        props: &[u8],
        will: Option<(&str, &[u8])>,
    ) -> Vec<u8> {
        fn s(v: &mut Vec<u8>, b: &[u8]) {
            v.extend_from_slice(&(b.len() as u16).to_be_bytes());
            v.extend_from_slice(b);
        }
        fn varint(v: &mut Vec<u8>, mut n: usize) {
            loop {
                let mut b = (n % 128) as u8;
                n /= 128;
                if n > 0 {
                    b |= 0x80;
                }
                v.push(b);
                if n == 0 {
                    break;
                }
            }
        }
        let mut body = Vec::new();
        s(&mut body, if level == 3 { b"MQIsdp" } else { b"MQTT" });
        body.push(level);
        let mut flags = 0x02;
        if user.is_some() {
            flags |= 0x80;
        }
        if pass.is_some() {
            flags |= 0x40;
        }
        if will.is_some() {
            flags |= 0x04;
        }
        body.push(flags);
        body.extend_from_slice(&60u16.to_be_bytes());
        if level >= 5 {
            varint(&mut body, props.len());
            body.extend_from_slice(props);
        }
        s(&mut body, client_id.as_bytes());
        if let Some((topic, msg)) = will {
            if level >= 5 {
                body.push(0);
            }
            s(&mut body, topic.as_bytes());
            s(&mut body, msg);
        }
        if let Some(u) = user {
            s(&mut body, u.as_bytes());
        }
        if let Some(p) = pass {
            s(&mut body, p);
        }
        let mut pkt = vec![0x10];
        varint(&mut pkt, body.len());
        pkt.extend_from_slice(&body);
        pkt
    }

    fn run(steps: &[(Direction, Vec<u8>)]) -> Vec<AppEvent> {
        let mut p = MqttParser::new();
        let mut out = Vec::new();
        for (d, data) in steps {
            p.feed(*d, data, &mut out);
        }
        p.finish(&mut out);
        out
    }

    use Direction::{ToClient as S, ToServer as C};

    #[test]
    fn all_versions_user_pass_with_verdicts() {
        for (level, code, want) in [
            (3, 0, LoginOutcome::Success),
            (4, 4, LoginOutcome::Failure),
            (4, 5, LoginOutcome::Failure),
            (4, 3, LoginOutcome::Unknown),
            (5, 0x86, LoginOutcome::Failure),
            (5, 0, LoginOutcome::Success),
        ] {
            let connect = encode_connect(
                level,
                "cam-01",
                Some("user"),
                Some(b"pass"),
                &[0x21, 0x00, 0x14],
                Some(("last/will", b"bye")),
            );
            let mut connack = vec![0x20, 2, 0, code];
            if level >= 5 {
                connack = vec![0x20, 3, 0, code, 0];
            }
            // Split the CONNECT at every third byte, as a slow client might.
            let mut steps: Vec<(Direction, Vec<u8>)> =
                connect.chunks(3).map(|c| (C, c.to_vec())).collect();
            steps.push((S, connack));
            let ev = run(&steps);
            assert_eq!(
                ev,
                vec![AppEvent::Credential(Credential {
                    protocol: "mqtt",
                    method: "user-pass",
                    username: Some("user".into()),
                    secret: Some(Secret::new("pass")),
                    outcome: want,
                })],
                "level {level} code {code}"
            );
        }
    }

    #[test]
    fn anonymous_accept_is_noauth_and_reject_is_silent() {
        let connect = encode_connect(4, "sensor", None, None, &[], None);
        let ev = run(&[(C, connect.clone()), (S, vec![0x20, 2, 0, 0])]);
        assert_eq!(ev, vec![AppEvent::NoAuth { protocol: "mqtt" }]);
        let ev = run(&[(C, connect), (S, vec![0x20, 2, 0, 5])]);
        assert!(ev.is_empty());
    }

    #[test]
    fn mqtt5_enhanced_auth_method() {
        // Authentication Method "foo", Authentication Data "1234".
        let props = [
            0x15, 0, 3, b'f', b'o', b'o', 0x16, 0, 4, b'1', b'2', b'3', b'4',
        ];
        let connect = encode_connect(5, "x", None, None, &props, None);
        let ev = run(&[(C, connect), (S, vec![0x20, 3, 0, 0x8C, 0])]);
        assert_eq!(
            ev,
            vec![AppEvent::Credential(Credential {
                protocol: "mqtt",
                method: "enhanced-auth",
                username: None,
                secret: Some(Secret::new("1234")),
                outcome: LoginOutcome::Failure,
            })]
        );
    }

    #[test]
    fn publish_before_connack_is_skipped_and_connect_detected() {
        let connect = encode_connect(4, "c", Some("u"), Some(b"p"), &[], None);
        assert!(looks_like_connect(&connect));
        assert!(!looks_like_connect(b"\x10\x05GET /"));
        let mut p = MqttParser::new();
        let mut out = Vec::new();
        let mut data = connect;
        // A PUBLISH the client pipelines right after its CONNECT.
        data.extend_from_slice(&[0x30, 5, 0, 1, b't', b'h', b'i']);
        assert!(p.feed(C, &data, &mut out));
        assert!(!p.feed(S, &[0x20, 2, 0, 0], &mut out));
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn overlong_remaining_length_is_malformed() {
        let ev = run(&[(C, vec![0x10, 0xff, 0xff, 0xff, 0xff, 0x01])]);
        assert!(matches!(
            ev[0],
            AppEvent::Malformed {
                what: "remaining-length",
                ..
            }
        ));
    }
}
