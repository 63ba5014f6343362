//! Mail-access and submission logins in the clear: POP3 (`USER`/`PASS`,
//! `APOP`, `AUTH`), IMAP (`LOGIN`, `AUTHENTICATE`) and SMTP (`AUTH`).
//!
//! SASL mechanisms decoded: `PLAIN` (RFC 4616, with or without an initial
//! response), `LOGIN` (username then password, base64 lines) and Google's
//! `XOAUTH2` (username and bearer token). Other mechanisms (CRAM-MD5,
//! SCRAM …) carry no reusable secret and are not reported. `APOP` yields the
//! username only: its digest is not a password.
//!
//! The outcome is the server's final answer to the login: `+OK`/`-ERR`
//! (POP3), the tagged `OK`/`NO`/`BAD` (IMAP), `2xx`/`4xx`/`5xx` (SMTP).
//! Parsing stops after a successful login, after `STLS`/`STARTTLS` is
//! accepted (the stream is ciphertext), and at SMTP `MAIL` (RFC 4954 allows
//! no `AUTH` inside a mail transaction; what follows is message text). Lines are buffered per direction up to [`MAX_LINE`] bytes; one
//! attempt at a time is kept.

use crate::ftp::split_verb;
use crate::linebuf::{base64_decode, product_version, LineBuffer};
use crate::{
    printable, About, AppEvent, AppParser, AppProto, Credential, Direction, Hint, HintKind,
    LoginOutcome, Secret,
};

/// Longest command or reply line kept while waiting for its end.
pub const MAX_LINE: usize = 4096;
const MAX_FIELD: usize = 256;
const MAX_TAG: usize = 64;

/// Which of the three protocols a [`MailParser`] speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailProtocol {
    Pop3,
    Imap,
    Smtp,
}

impl MailProtocol {
    fn name(self) -> &'static str {
        match self {
            MailProtocol::Pop3 => "pop3",
            MailProtocol::Imap => "imap",
            MailProtocol::Smtp => "smtp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Sasl {
    Off,
    Plain,
    LoginUser,
    LoginPass { user: String },
    Xoauth2,
}

#[derive(Debug)]
struct Attempt {
    method: &'static str,
    user: Option<String>,
    secret: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Ok,
    Err,
    Continue,
    Other,
}

/// POP3/IMAP/SMTP parser; one per flow.
#[derive(Debug)]
pub struct MailParser {
    proto: MailProtocol,
    client: LineBuffer,
    server: LineBuffer,
    banner_seen: bool,
    pop_user: Option<String>,
    sasl: Sasl,
    attempt: Option<Attempt>,
    /// An authentication exchange waits for the server's final answer.
    awaiting: bool,
    imap_tag: Vec<u8>,
    starttls: bool,
    done: bool,
}

impl MailParser {
    pub fn new(proto: MailProtocol) -> Self {
        MailParser {
            proto,
            client: LineBuffer::new(MAX_LINE),
            server: LineBuffer::new(MAX_LINE),
            banner_seen: false,
            pop_user: None,
            sasl: Sasl::Off,
            attempt: None,
            awaiting: false,
            imap_tag: Vec::new(),
            starttls: false,
            done: false,
        }
    }

    fn client_line(&mut self, line: &[u8], out: &mut Vec<AppEvent>) {
        // Once the client talks, whatever the server says is no banner.
        self.banner_seen = true;
        if self.sasl != Sasl::Off {
            self.sasl_response(line, out);
            return;
        }
        let line = if self.proto == MailProtocol::Imap {
            let (tag, rest) = split_verb(line);
            self.imap_tag = tag
                .get(..tag.len().min(MAX_TAG))
                .unwrap_or_default()
                .to_vec();
            rest
        } else {
            line
        };
        let (verb, arg) = split_verb(line);
        let upper = verb.to_ascii_uppercase();
        match (self.proto, upper.as_slice()) {
            (MailProtocol::Pop3, b"USER") => self.pop_user = Some(printable(arg, MAX_FIELD)),
            (MailProtocol::Pop3, b"PASS") => self.start(
                Attempt {
                    method: "user-pass",
                    user: self.pop_user.clone(),
                    secret: Some(printable(arg, MAX_FIELD)),
                },
                out,
            ),
            (MailProtocol::Pop3, b"APOP") => {
                let (name, _digest) = split_verb(arg);
                self.start(
                    Attempt {
                        method: "apop",
                        user: Some(printable(name, MAX_FIELD)),
                        secret: None,
                    },
                    out,
                )
            }
            (MailProtocol::Imap, b"LOGIN") => {
                let mut args = imap_strings(arg);
                let user = args.next();
                let pass = args.next();
                if let (Some(user), Some(pass)) = (user, pass) {
                    self.start(
                        Attempt {
                            method: "plain",
                            user: Some(user),
                            secret: Some(pass),
                        },
                        out,
                    );
                } else {
                    out.push(AppEvent::Malformed {
                        protocol: "imap",
                        what: "login-arguments",
                    });
                }
            }
            (MailProtocol::Pop3 | MailProtocol::Smtp, b"AUTH")
            | (MailProtocol::Imap, b"AUTHENTICATE") => {
                let (mech, initial) = split_verb(arg);
                let mech = mech.to_ascii_uppercase();
                self.sasl = match mech.as_slice() {
                    b"PLAIN" => Sasl::Plain,
                    b"LOGIN" => Sasl::LoginUser,
                    b"XOAUTH2" => Sasl::Xoauth2,
                    _ => return,
                };
                self.flush(LoginOutcome::Unknown, out);
                self.awaiting = true;
                let initial = initial.trim_ascii();
                if initial == b"=" {
                    // RFC 4954: `=` is an empty initial response.
                    self.sasl_response(b"", out);
                } else if !initial.is_empty() {
                    self.sasl_response(initial, out);
                }
            }
            (MailProtocol::Pop3, b"STLS") | (_, b"STARTTLS") => self.starttls = true,
            // RFC 4954 §4: no AUTH during a mail transaction. What follows
            // MAIL is envelope and message text, where an "AUTH" line would
            // be content — stop before reading it.
            (MailProtocol::Smtp, b"MAIL") => {
                self.flush(LoginOutcome::Unknown, out);
                self.done = true;
            }
            _ => {}
        }
    }

    fn sasl_response(&mut self, line: &[u8], out: &mut Vec<AppEvent>) {
        if line.trim_ascii() == b"*" {
            // The client cancelled the exchange.
            self.sasl = Sasl::Off;
            self.awaiting = false;
            return;
        }
        let Some(raw) = base64_decode(line) else {
            out.push(AppEvent::Malformed {
                protocol: self.proto.name(),
                what: "sasl-base64",
            });
            self.sasl = Sasl::Off;
            return;
        };
        let sasl = std::mem::replace(&mut self.sasl, Sasl::Off);
        let attempt = match sasl {
            Sasl::Off => return,
            Sasl::Plain => {
                // authzid NUL authcid NUL passwd
                let mut parts = raw.split(|&b| b == 0);
                let (Some(authzid), Some(authcid), Some(pass)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    out.push(AppEvent::Malformed {
                        protocol: self.proto.name(),
                        what: "sasl-plain",
                    });
                    return;
                };
                let user = if authcid.is_empty() { authzid } else { authcid };
                Attempt {
                    method: "auth-plain",
                    user: Some(printable(user, MAX_FIELD)),
                    secret: Some(printable(pass, MAX_FIELD)),
                }
            }
            Sasl::LoginUser => {
                self.sasl = Sasl::LoginPass {
                    user: printable(&raw, MAX_FIELD),
                };
                return;
            }
            Sasl::LoginPass { user } => Attempt {
                method: "auth-login",
                user: Some(user),
                secret: Some(printable(&raw, MAX_FIELD)),
            },
            Sasl::Xoauth2 => {
                // user=NAME ^A auth=Bearer TOKEN ^A ^A
                let mut user = None;
                let mut token = None;
                for field in raw.split(|&b| b == 1) {
                    if let Some(u) = field.strip_prefix(b"user=") {
                        user = Some(printable(u, MAX_FIELD));
                    } else if let Some(a) = field.strip_prefix(b"auth=") {
                        let a = a.strip_prefix(b"Bearer ").unwrap_or(a);
                        token = Some(printable(a, MAX_FIELD));
                    }
                }
                Attempt {
                    method: "auth-xoauth2",
                    user,
                    secret: token,
                }
            }
        };
        self.attempt = Some(attempt);
    }

    fn start(&mut self, attempt: Attempt, out: &mut Vec<AppEvent>) {
        self.flush(LoginOutcome::Unknown, out);
        self.attempt = Some(attempt);
        self.awaiting = true;
    }

    fn server_line(&mut self, line: &[u8], out: &mut Vec<AppEvent>) {
        if !self.banner_seen {
            self.banner_seen = true;
            self.banner(line, out);
            return;
        }
        let reply = self.classify(line);
        if self.starttls && reply != Reply::Other {
            self.starttls = false;
            if reply == Reply::Ok {
                self.done = true;
            }
            return;
        }
        if !self.awaiting {
            return;
        }
        match reply {
            Reply::Ok => {
                self.awaiting = false;
                self.sasl = Sasl::Off;
                self.flush(LoginOutcome::Success, out);
                // Logged in: the rest of the session is mail, not logins.
                self.done = true;
            }
            Reply::Err => {
                self.awaiting = false;
                self.sasl = Sasl::Off;
                self.flush(LoginOutcome::Failure, out);
            }
            Reply::Continue | Reply::Other => {}
        }
    }

    fn classify(&self, line: &[u8]) -> Reply {
        match self.proto {
            MailProtocol::Pop3 => {
                if line.starts_with(b"+OK") {
                    Reply::Ok
                } else if line.starts_with(b"-ERR") {
                    Reply::Err
                } else if line.starts_with(b"+") {
                    Reply::Continue
                } else {
                    Reply::Other
                }
            }
            MailProtocol::Smtp => match (line.first(), line.get(3)) {
                (_, Some(b'-')) => Reply::Other,
                (Some(b'3'), _) => Reply::Continue,
                (Some(b'2'), _) => Reply::Ok,
                (Some(b'4' | b'5'), _) => Reply::Err,
                _ => Reply::Other,
            },
            MailProtocol::Imap => {
                if line.starts_with(b"+") {
                    return Reply::Continue;
                }
                let (tag, rest) = split_verb(line);
                if tag != self.imap_tag.as_slice() || tag == b"*" {
                    return Reply::Other;
                }
                let (status, _) = split_verb(rest);
                if status.eq_ignore_ascii_case(b"OK") {
                    Reply::Ok
                } else if status.eq_ignore_ascii_case(b"NO") || status.eq_ignore_ascii_case(b"BAD")
                {
                    Reply::Err
                } else {
                    Reply::Other
                }
            }
        }
    }

    fn banner(&mut self, line: &[u8], out: &mut Vec<AppEvent>) {
        let text = match self.proto {
            MailProtocol::Pop3 => line.strip_prefix(b"+OK").unwrap_or(line),
            MailProtocol::Smtp => line.get(4..).unwrap_or_default(),
            MailProtocol::Imap => line.strip_prefix(b"* OK").unwrap_or(line),
        };
        let text = printable(text, MAX_FIELD).trim().to_string();
        if text.is_empty() {
            return;
        }
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

    fn flush(&mut self, outcome: LoginOutcome, out: &mut Vec<AppEvent>) {
        if let Some(a) = self.attempt.take() {
            out.push(AppEvent::Credential(Credential {
                protocol: self.proto.name(),
                method: a.method,
                username: a.user,
                secret: a.secret.map(Secret::new),
                outcome,
            }));
        }
    }
}

/// IMAP `astring`s: atoms or quoted strings with `\\`/`\"` escapes. A
/// literal (`{n}`) ends the list: its bytes come on the next line and the
/// login is not reported (rare for LOGIN, and never silently mis-parsed).
fn imap_strings(mut s: &[u8]) -> impl Iterator<Item = String> + '_ {
    std::iter::from_fn(move || {
        s = s.trim_ascii_start();
        match s.first()? {
            b'"' => {
                let mut val = Vec::new();
                let mut i = 1;
                loop {
                    match s.get(i)? {
                        b'\\' => {
                            val.push(*s.get(i + 1)?);
                            i += 2;
                        }
                        b'"' => break,
                        &b => {
                            val.push(b);
                            i += 1;
                        }
                    }
                }
                s = s.get(i + 1..).unwrap_or_default();
                Some(printable(&val, MAX_FIELD))
            }
            b'{' => None,
            _ => {
                let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
                let (atom, rest) = s.split_at(end);
                s = rest;
                Some(printable(atom, MAX_FIELD))
            }
        }
    })
}

impl AppParser for MailParser {
    fn protocol(&self) -> AppProto {
        match self.proto {
            MailProtocol::Pop3 => AppProto::Pop3,
            MailProtocol::Imap => AppProto::Imap,
            MailProtocol::Smtp => AppProto::Smtp,
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let protocol = self.proto.name();
        let buf = match dir {
            Direction::ToServer => &mut self.client,
            Direction::ToClient => &mut self.server,
        };
        let lines = crate::linebuf::take_lines(buf, data, protocol, out);
        for line in lines {
            if self.done {
                break;
            }
            match dir {
                Direction::ToServer => self.client_line(&line, out),
                Direction::ToClient => self.server_line(&line, out),
            }
        }
        !self.done
    }

    fn finish(&mut self, out: &mut Vec<AppEvent>) {
        self.flush(LoginOutcome::Unknown, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ToClient as S, ToServer as C};

    fn b64(data: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for ch in data.chunks(3) {
            let n = ch.len();
            let v = (ch[0] as u32) << 16
                | (*ch.get(1).unwrap_or(&0) as u32) << 8
                | *ch.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= n {
                    s.push(A[(v >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    fn run(proto: MailProtocol, steps: &[(Direction, &[u8])]) -> Vec<Credential> {
        let mut p = MailParser::new(proto);
        let mut out = Vec::new();
        for (d, data) in steps {
            p.feed(*d, data, &mut out);
        }
        p.finish(&mut out);
        out.into_iter()
            .filter_map(|e| match e {
                AppEvent::Credential(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    fn summary(c: &Credential) -> (&str, Option<&str>, Option<&str>, LoginOutcome) {
        (
            c.method,
            c.username.as_deref(),
            c.secret.as_ref().map(|s| s.expose()),
            c.outcome,
        )
    }

    #[test]
    fn pop3_user_pass_and_apop() {
        let c = run(
            MailProtocol::Pop3,
            &[
                (S, b"+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
                (C, b"USER mrose\r\n"),
                (S, b"+OK\r\n"),
                (C, b"PASS tanstaaf\r\n"),
                (S, b"-ERR invalid\r\n"),
                (C, b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
                (S, b"+OK maildrop has 1 message\r\n"),
            ],
        );
        assert_eq!(
            c.iter().map(summary).collect::<Vec<_>>(),
            vec![
                (
                    "user-pass",
                    Some("mrose"),
                    Some("tanstaaf"),
                    LoginOutcome::Failure
                ),
                ("apop", Some("mrose"), None, LoginOutcome::Success),
            ]
        );
    }

    #[test]
    fn smtp_auth_login_and_plain() {
        let user = b64(b"alice");
        let pass = b64(b"s3cret");
        let plain = b64(b"\0bob\0hunter2");
        let steps: Vec<(Direction, Vec<u8>)> = vec![
            (S, b"220 mx.example.org ESMTP Postfix\r\n".to_vec()),
            (C, b"EHLO client\r\n".to_vec()),
            (
                S,
                b"250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n".to_vec(),
            ),
            (C, b"AUTH LOGIN\r\n".to_vec()),
            (S, b"334 VXNlcm5hbWU6\r\n".to_vec()),
            (C, format!("{user}\r\n").into_bytes()),
            (S, b"334 UGFzc3dvcmQ6\r\n".to_vec()),
            (C, format!("{pass}\r\n").into_bytes()),
            (S, b"535 5.7.8 Authentication failed\r\n".to_vec()),
            (C, format!("AUTH PLAIN {plain}\r\n").into_bytes()),
            (S, b"235 2.7.0 Authentication successful\r\n".to_vec()),
        ];
        let steps: Vec<(Direction, &[u8])> = steps.iter().map(|(d, v)| (*d, &v[..])).collect();
        let c = run(MailProtocol::Smtp, &steps);
        assert_eq!(
            c.iter().map(summary).collect::<Vec<_>>(),
            vec![
                (
                    "auth-login",
                    Some("alice"),
                    Some("s3cret"),
                    LoginOutcome::Failure
                ),
                (
                    "auth-plain",
                    Some("bob"),
                    Some("hunter2"),
                    LoginOutcome::Success
                ),
            ]
        );
    }

    #[test]
    fn imap_login_quoted_and_authenticate_plain() {
        let plain = b64(b"\0carol\0pw");
        let steps: Vec<(Direction, Vec<u8>)> = vec![
            (
                S,
                b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n".to_vec(),
            ),
            (C, b"a001 LOGIN \"dave\" \"p\\\"w d\"\r\n".to_vec()),
            (
                S,
                b"* CAPABILITY IMAP4rev1\r\na001 NO [AUTHENTICATIONFAILED] failed\r\n".to_vec(),
            ),
            (C, b"a002 AUTHENTICATE PLAIN\r\n".to_vec()),
            (S, b"+ \r\n".to_vec()),
            (C, format!("{plain}\r\n").into_bytes()),
            (S, b"a002 OK Logged in\r\n".to_vec()),
        ];
        let steps: Vec<(Direction, &[u8])> = steps.iter().map(|(d, v)| (*d, &v[..])).collect();
        let c = run(MailProtocol::Imap, &steps);
        assert_eq!(
            c.iter().map(summary).collect::<Vec<_>>(),
            vec![
                ("plain", Some("dave"), Some("p\"w d"), LoginOutcome::Failure),
                (
                    "auth-plain",
                    Some("carol"),
                    Some("pw"),
                    LoginOutcome::Success
                ),
            ]
        );
    }

    #[test]
    fn smtp_message_text_is_not_read_as_commands() {
        let plain = b64(b"\0eve\0x");
        let body = format!("MAIL FROM:<a@b>\r\nDATA\r\nAUTH PLAIN {plain}\r\n.\r\n");
        let mut p = MailParser::new(MailProtocol::Smtp);
        let mut out = Vec::new();
        p.feed(S, b"220 hi\r\n", &mut out);
        assert!(!p.feed(C, body.as_bytes(), &mut out));
        assert!(!out.iter().any(|e| matches!(e, AppEvent::Credential(_))));
    }

    #[test]
    fn starttls_stops_parsing() {
        let mut p = MailParser::new(MailProtocol::Smtp);
        let mut out = Vec::new();
        assert!(p.feed(S, b"220 hi\r\n", &mut out));
        assert!(p.feed(C, b"STARTTLS\r\n", &mut out));
        assert!(!p.feed(S, b"220 go ahead\r\n", &mut out));
    }
}
