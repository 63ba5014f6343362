//! FTP control connection: `USER`/`PASS` (and `ACCT`) logins with their
//! outcome, and the server's `220` banner.
//!
//! Replies are matched to the oldest unanswered login command (FTP clients do
//! not pipeline logins). `230`/`202` after `PASS`/`ACCT` is success, `530`
//! and other 4xx/5xx are failure, `332` means an account is still needed and
//! the attempt stays open until the `ACCT` reply. A `230` straight after
//! `USER` is a login without password (secret `None`). Anonymous logins
//! (`anonymous`/`ftp`, RFC 1635) are credentials too, with method
//! `anonymous`, so policy can tell them apart from real accounts.
//!
//! Parsing stops (`feed` returns false) after a successful login — nothing
//! later on the control channel matters here — or once `AUTH TLS` is
//! accepted and the channel becomes ciphertext. Lines are buffered per
//! direction up to [`MAX_LINE`] bytes.

use crate::linebuf::{product_version, LineBuffer};
use crate::{
    printable, About, AppEvent, AppParser, AppProto, Credential, Direction, Hint, HintKind,
    LoginOutcome, Secret,
};

/// Longest command or reply line kept while waiting for its end.
pub const MAX_LINE: usize = 4096;
const MAX_FIELD: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Nothing,
    User,
    Pass,
    Acct,
    AuthTls,
}

#[derive(Debug)]
struct Attempt {
    user: Option<String>,
    secret: Option<String>,
}

/// FTP control-channel parser; one per flow.
#[derive(Debug)]
pub struct FtpParser {
    client: LineBuffer,
    server: LineBuffer,
    /// Code of a multi-line reply in progress (`230-` … `230 `).
    multiline: Option<[u8; 3]>,
    banner_seen: bool,
    user: Option<String>,
    attempt: Option<Attempt>,
    awaiting: Awaiting,
    done: bool,
}

impl Default for FtpParser {
    fn default() -> Self {
        Self::new()
    }
}

impl FtpParser {
    pub fn new() -> Self {
        FtpParser {
            client: LineBuffer::new(MAX_LINE),
            server: LineBuffer::new(MAX_LINE),
            multiline: None,
            banner_seen: false,
            user: None,
            attempt: None,
            awaiting: Awaiting::Nothing,
            done: false,
        }
    }

    fn command(&mut self, line: &[u8], out: &mut Vec<AppEvent>) {
        let (verb, arg) = split_verb(line);
        let arg = printable(arg, MAX_FIELD);
        if verb.eq_ignore_ascii_case(b"USER") {
            self.flush(LoginOutcome::Unknown, out);
            self.user = Some(arg);
            self.awaiting = Awaiting::User;
        } else if verb.eq_ignore_ascii_case(b"PASS") {
            self.flush(LoginOutcome::Unknown, out);
            self.attempt = Some(Attempt {
                user: self.user.clone(),
                secret: Some(arg),
            });
            self.awaiting = Awaiting::Pass;
        } else if verb.eq_ignore_ascii_case(b"ACCT") {
            // After a `332` the account completes the open attempt; on its
            // own it is a login of its own.
            if self.attempt.is_none() {
                self.attempt = Some(Attempt {
                    user: self.user.clone(),
                    secret: Some(arg),
                });
            }
            self.awaiting = Awaiting::Acct;
        } else if verb.eq_ignore_ascii_case(b"AUTH") {
            self.awaiting = Awaiting::AuthTls;
        } else {
            self.awaiting = Awaiting::Nothing;
        }
    }

    fn reply(&mut self, line: &[u8], out: &mut Vec<AppEvent>) {
        let code: Option<[u8; 3]> = line
            .get(..3)
            .filter(|c| c.iter().all(u8::is_ascii_digit))
            .and_then(|c| c.try_into().ok());
        let sep = line.get(3).copied();
        if let Some(open) = self.multiline {
            // Only `NNN ` with the same code ends a multi-line reply.
            if code == Some(open) && sep != Some(b'-') {
                self.multiline = None;
            } else {
                return;
            }
        } else if let (Some(c), Some(b'-')) = (code, sep) {
            self.multiline = Some(c);
            // The first line carries the code and the banner text.
            if !self.banner_seen && &c == b"220" {
                self.banner(line, out);
            }
            return;
        }
        let Some(code) = code else {
            out.push(AppEvent::Malformed {
                protocol: "ftp",
                what: "reply-without-code",
            });
            return;
        };
        if !self.banner_seen && &code == b"220" {
            self.banner(line, out);
            return;
        }
        let class = code[0];
        match (self.awaiting, &code) {
            (Awaiting::Nothing, _) => {}
            (_, [b'1', ..]) => return, // preliminary reply; the real one follows
            (Awaiting::User, b"230") => {
                let user = self.user.clone();
                self.emit(user, None, LoginOutcome::Success, out);
            }
            (Awaiting::User, _) => {}
            // 331 answers a `USER` sent in the same segment as `PASS`;
            // 332 asks for `ACCT`: either way the verdict is still to come.
            (Awaiting::Pass | Awaiting::Acct, b"331" | b"332") => return,
            (Awaiting::Pass | Awaiting::Acct, b"230" | b"202") => {
                self.flush(LoginOutcome::Success, out)
            }
            (Awaiting::Pass | Awaiting::Acct, _) if class == b'4' || class == b'5' => {
                self.flush(LoginOutcome::Failure, out)
            }
            (Awaiting::Pass | Awaiting::Acct, _) => self.flush(LoginOutcome::Unknown, out),
            (Awaiting::AuthTls, b"234") => self.done = true,
            (Awaiting::AuthTls, _) => {}
        }
        self.awaiting = Awaiting::Nothing;
    }

    fn banner(&mut self, line: &[u8], out: &mut Vec<AppEvent>) {
        self.banner_seen = true;
        let text = printable(line.get(4..).unwrap_or_default(), MAX_FIELD)
            .trim()
            .to_string();
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
            self.emit(a.user, a.secret, outcome, out);
        }
    }

    fn emit(
        &mut self,
        user: Option<String>,
        secret: Option<String>,
        outcome: LoginOutcome,
        out: &mut Vec<AppEvent>,
    ) {
        let anonymous = user
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("anonymous") || u.eq_ignore_ascii_case("ftp"));
        out.push(AppEvent::Credential(Credential {
            protocol: "ftp",
            method: if anonymous { "anonymous" } else { "user-pass" },
            username: user,
            secret: secret.map(Secret::new),
            outcome,
        }));
        if outcome == LoginOutcome::Success {
            self.done = true;
        }
    }
}

/// `VERB arg` → (`VERB`, `arg`); the argument keeps inner spaces (passwords may have them).
pub(crate) fn split_verb(line: &[u8]) -> (&[u8], &[u8]) {
    let line = line.trim_ascii_start();
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], line.get(i + 1..).unwrap_or_default()),
        None => (line, &[]),
    }
}

impl AppParser for FtpParser {
    fn protocol(&self) -> AppProto {
        AppProto::Ftp
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let protocol = "ftp";
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
                Direction::ToServer => self.command(&line, out),
                Direction::ToClient => self.reply(&line, out),
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

    fn run(steps: &[(Direction, &[u8])]) -> Vec<AppEvent> {
        let mut p = FtpParser::new();
        let mut out = Vec::new();
        for (d, data) in steps {
            p.feed(*d, data, &mut out);
        }
        p.finish(&mut out);
        out
    }

    fn creds(ev: &[AppEvent]) -> Vec<Credential> {
        ev.iter()
            .filter_map(|e| match e {
                AppEvent::Credential(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn failed_then_successful_login_split_across_segments() {
        let ev = run(&[
            (S, b"220 (vsFTPd 3.0.3)\r\n"),
            (C, b"USER ad"),
            (C, b"min\r\n"),
            (S, b"331 Please specify the password.\r\n"),
            (C, b"PASS 1234\r\n"),
            (S, b"530 Login incorrect.\r\n"),
            (C, b"USER admin\r\nPASS pass word\r\n"),
            (
                S,
                b"331 Please specify the password.\r\n230-Welcome\r\n230 Login successful.\r\n",
            ),
        ]);
        let c = creds(&ev);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].username.as_deref(), Some("admin"));
        assert_eq!(c[0].secret.as_ref().unwrap().expose(), "1234");
        assert_eq!(c[0].outcome, LoginOutcome::Failure);
        assert_eq!(c[1].secret.as_ref().unwrap().expose(), "pass word");
        assert_eq!(c[1].outcome, LoginOutcome::Success);
        assert!(ev.iter().any(|e| matches!(e,
            AppEvent::Software { product, version: Some(v), .. } if product == "vsFTPd" && v == "3.0.3")));
    }

    #[test]
    fn anonymous_is_a_credential_with_its_own_method() {
        let ev = run(&[
            (S, b"220 ready\r\n"),
            (C, b"USER anonymous\r\n"),
            (S, b"331 Guest login ok\r\n"),
            (C, b"PASS guest@\r\n"),
            (S, b"230 ok\r\n"),
        ]);
        let c = creds(&ev);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].method, "anonymous");
        assert_eq!(c[0].outcome, LoginOutcome::Success);
    }

    #[test]
    fn account_needed_keeps_attempt_open() {
        let ev = run(&[
            (C, b"USER u\r\n"),
            (S, b"331 pw\r\n"),
            (C, b"PASS p\r\n"),
            (S, b"332 need account\r\n"),
            (C, b"ACCT a\r\n"),
            (S, b"230 in\r\n"),
        ]);
        let c = creds(&ev);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].secret.as_ref().unwrap().expose(), "p");
        assert_eq!(c[0].outcome, LoginOutcome::Success);
    }

    #[test]
    fn unanswered_password_is_unknown_at_finish() {
        let c = creds(&run(&[(C, b"USER root\r\nPASS toor\r\n")]));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].outcome, LoginOutcome::Unknown);
    }
}
