//! IoT hygiene: what is weak about the devices on a network.
//!
//! - [`detector`]: the passive [`HygieneDetector`] (findings from traffic);
//! - [`audit`]: the opt-in active audit behind `ward audit` (with [`ssh`],
//!   its SSH password logins, the only code here that touches the network);
//! - [`vulnerable`]: known-vulnerable versions matched against banners;
//! - [`risk`] and [`report`]: per-device risk scores and the HTML/JSON report;
//! - this module: credential classification, below.
//!
//! # Credentials: is a login seen on the wire a known default, or weak?
//!
//! Two tables are compiled in (see `data/SOURCES.md` for where they come
//! from and the scripts that regenerate them):
//! - `data/default-credentials.csv` — the 62 username/password pairs of the
//!   Mirai bot's Telnet dictionary and vendor defaults for IoT devices from
//!   SecLists;
//! - `data/common-passwords.txt` — the most common passwords (SecLists'
//!   top-500 of the "10 million passwords" list).
//!
//! [`classify`] answers both questions at once. The tables are parsed once,
//! on first use, into hash maps; a lookup allocates nothing.
//!
//! Matching rules:
//! - **default**: the password matches exactly (case-sensitive) and the
//!   username matches ASCII-case-insensitively; an entry with an empty
//!   username matches any username, including none. A login without a
//!   username (SNMP community, VNC password) matches only such entries. The
//!   first matching row wins, so Mirai's dictionary is reported before the
//!   vendor lists.
//! - **weak** (first reason that applies): empty; equal to the username
//!   (ignoring ASCII case); in the common list; shorter than
//!   [`MIN_LENGTH`] characters; only one character class (lower, upper,
//!   digit, other) and shorter than [`SINGLE_CLASS_MIN_LENGTH`].
#![forbid(unsafe_code)]

pub mod audit;
pub mod detector;
pub mod report;
pub mod risk;
pub mod ssh;
pub mod tls;
pub mod vulnerable;

pub use detector::{HygieneConfig, HygieneDetector};

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Passwords shorter than this many characters are weak.
pub const MIN_LENGTH: usize = 8;
/// Passwords of a single character class shorter than this are weak.
pub const SINGLE_CLASS_MIN_LENGTH: usize = 10;

const DEFAULTS_CSV: &str = include_str!("../data/default-credentials.csv");
const COMMON_TXT: &str = include_str!("../data/common-passwords.txt");

/// Verdict on one credential. `Default` means neither a default nor weak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Classification {
    /// The `source` of the matching default-credential row (`mirai`, `seclists`).
    pub default_source: Option<&'static str>,
    /// Why the password is weak, as a stable kebab-case reason:
    /// `empty`, `same-as-username`, `common-password`, `shorter-than-8`,
    /// `single-character-class`.
    pub weak_reason: Option<&'static str>,
}

impl Classification {
    pub fn is_default(&self) -> bool {
        self.default_source.is_some()
    }
    pub fn is_weak(&self) -> bool {
        self.weak_reason.is_some()
    }
}

/// One row of the default-credential table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultCredential {
    /// Empty means "any username".
    pub username: &'static str,
    pub password: &'static str,
    /// `mirai` or `seclists`; see `data/SOURCES.md`.
    pub source: &'static str,
    /// Vendor and upstream comment (SecLists), weight (Mirai).
    pub notes: &'static str,
}

/// A line of the compiled-in data that does not parse. Only a broken edit
/// of the data files can cause it; the crate's tests parse both files.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DataError {
    #[error("default-credentials.csv line {line}: expected 4 comma-separated fields")]
    FieldCount { line: usize },
    #[error("default-credentials.csv: header is not `username,password,source,notes`")]
    Header,
}

struct Tables {
    entries: Vec<DefaultCredential>,
    /// Password → indices into `entries`, in file order.
    by_password: HashMap<&'static str, Vec<usize>>,
    common: HashSet<&'static str>,
}

fn parse_defaults(text: &'static str) -> Result<Vec<DefaultCredential>, DataError> {
    let mut rows = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.is_empty());
    match rows.next() {
        Some((_, "username,password,source,notes")) => {}
        _ => return Err(DataError::Header),
    }
    rows.map(|(i, line)| {
        let f: Vec<&'static str> = line.split(',').collect();
        match f.as_slice() {
            [username, password, source, notes] => Ok(DefaultCredential {
                username,
                password,
                source,
                notes,
            }),
            _ => Err(DataError::FieldCount { line: i + 1 }),
        }
    })
    .collect()
}

fn parse_common(text: &'static str) -> HashSet<&'static str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let entries = parse_defaults(DEFAULTS_CSV)
            .expect("compiled-in default-credentials.csv parses (tested)");
        let mut by_password: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_password.entry(e.password).or_default().push(i);
        }
        Tables {
            entries,
            by_password,
            common: parse_common(COMMON_TXT),
        }
    })
}

/// Every row of the default-credential table, in file order.
pub fn default_credentials() -> &'static [DefaultCredential] {
    &tables().entries
}

/// Number of passwords in the common-password list.
pub fn common_password_count() -> usize {
    tables().common.len()
}

/// The first default-credential row matching this login, if any.
pub fn find_default(username: Option<&str>, password: &str) -> Option<&'static DefaultCredential> {
    let t = tables();
    t.by_password.get(password)?.iter().find_map(|&i| {
        let e = &t.entries[i];
        let user_ok =
            e.username.is_empty() || username.is_some_and(|u| u.eq_ignore_ascii_case(e.username));
        user_ok.then_some(e)
    })
}

/// Why `password` is weak, if it is (see the module docs for the rules).
pub fn weak_reason(username: Option<&str>, password: &str) -> Option<&'static str> {
    if password.is_empty() {
        return Some("empty");
    }
    if username.is_some_and(|u| !u.is_empty() && u.eq_ignore_ascii_case(password)) {
        return Some("same-as-username");
    }
    if tables().common.contains(password) {
        return Some("common-password");
    }
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Some("shorter-than-8");
    }
    let class = |c: char| {
        if c.is_ascii_lowercase() {
            0
        } else if c.is_ascii_uppercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            3
        }
    };
    let mut chars = password.chars().map(class);
    let first = chars.next();
    if chars.all(|c| Some(c) == first) && len < SINGLE_CLASS_MIN_LENGTH {
        return Some("single-character-class");
    }
    None
}

/// Classify a credential seen on the wire.
///
/// `protocol` is the ward protocol name (`telnet`, `ftp` …). It matters for
/// one case: an anonymous FTP login (`anonymous`/`ftp`) carries an e-mail
/// address by convention, not a secret, so it is neither default nor weak —
/// the anonymous access itself is reported by the FTP parser.
pub fn classify(protocol: &str, username: Option<&str>, password: &str) -> Classification {
    if protocol == "ftp"
        && username
            .is_some_and(|u| u.eq_ignore_ascii_case("anonymous") || u.eq_ignore_ascii_case("ftp"))
    {
        return Classification::default();
    }
    Classification {
        default_source: find_default(username, password).map(|e| e.source),
        weak_reason: weak_reason(username, password),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_in_data_parses_with_expected_sizes() {
        let rows = parse_defaults(DEFAULTS_CSV).unwrap();
        assert_eq!(rows.iter().filter(|r| r.source == "mirai").count(), 62);
        assert_eq!(rows.iter().filter(|r| r.source == "seclists").count(), 143);
        assert!(rows
            .iter()
            .all(|r| r.source == "mirai" || r.source == "seclists"));
        assert_eq!(common_password_count(), 439);
        assert_eq!(default_credentials().len(), rows.len());
    }

    #[test]
    fn broken_data_is_a_typed_error() {
        assert_eq!(parse_defaults("# c\nuser,pass\n"), Err(DataError::Header));
        assert_eq!(
            parse_defaults("username,password,source,notes\na,b,c\n"),
            Err(DataError::FieldCount { line: 2 })
        );
    }

    #[test]
    fn mirai_pairs_decoded_from_the_source_bytes() {
        // First and last entries of scanner.c, and the two whose source
        // comments are wrong.
        assert_eq!(default_credentials()[0].username, "root");
        assert_eq!(default_credentials()[0].password, "xc3511");
        assert_eq!(default_credentials()[61].username, "mother");
        for (u, p) in [
            ("root", "xc3511"),
            ("Administrator", "meinsm"),
            ("admin", "4321"),
            ("root", ""),
        ] {
            assert_eq!(
                find_default(Some(u), p).map(|e| e.source),
                Some("mirai"),
                "{u}/{p}"
            );
        }
    }

    #[test]
    fn password_is_case_sensitive_username_is_not() {
        assert!(classify("telnet", Some("ROOT"), "xc3511").is_default());
        assert!(!classify("telnet", Some("root"), "XC3511").is_default());
        assert!(!classify("telnet", Some("nobody"), "xc3511").is_default());
    }

    #[test]
    fn empty_username_entry_matches_any_and_none() {
        // SecLists: Netgear, <BLANK>, zebra.
        let c = classify("http", Some("whoever"), "zebra");
        assert_eq!(c.default_source, Some("seclists"));
        assert_eq!(
            classify("snmp", None, "zebra").default_source,
            Some("seclists")
        );
        // A row with a username never matches a login without one.
        assert_eq!(classify("vnc", None, "xc3511").default_source, None);
    }

    #[test]
    fn vendor_rows_carry_their_reference() {
        let e = find_default(Some("pi"), "raspberry").unwrap();
        assert_eq!(e.source, "seclists");
        assert!(e.notes.contains("raspberrypi.org"), "{}", e.notes);
        // admin/12345 is Hikvision's default too, but Mirai's row comes first.
        assert_eq!(
            find_default(Some("admin"), "12345").unwrap().source,
            "mirai"
        );
    }

    #[test]
    fn weak_rules_in_order() {
        assert_eq!(weak_reason(Some("a"), ""), Some("empty"));
        assert_eq!(
            weak_reason(Some("Operator"), "operator"),
            Some("same-as-username")
        );
        assert_eq!(weak_reason(None, "trustno1"), Some("common-password"));
        assert_eq!(weak_reason(None, "Xy7!q"), Some("shorter-than-8"));
        assert_eq!(
            weak_reason(None, "zqxjkvbwp"),
            Some("single-character-class")
        );
        assert_eq!(
            weak_reason(None, "739104628"),
            Some("single-character-class")
        );
        assert_eq!(
            weak_reason(None, "zqxjkvbwpm"),
            None,
            "ten letters is long enough"
        );
        assert_eq!(weak_reason(None, "Tr0ub4dor&3"), None);
        assert_eq!(
            weak_reason(None, "pässwörd"),
            None,
            "mixed classes, 8 characters"
        );
    }

    #[test]
    fn mirai_login_is_default_and_weak() {
        let c = classify("telnet", Some("root"), "xc3511");
        assert_eq!(c.default_source, Some("mirai"));
        assert_eq!(c.weak_reason, Some("shorter-than-8"));
    }

    #[test]
    fn anonymous_ftp_is_not_judged() {
        assert_eq!(
            classify("ftp", Some("anonymous"), "guest@"),
            Classification::default()
        );
        assert!(classify("telnet", Some("anonymous"), "guest@").is_weak());
    }

    #[test]
    fn edimax_plug_login_seen_in_iot_sentinel_is_a_default() {
        // The Edimax SP-1101W/2101W plugs in the IoT Sentinel captures are
        // driven with HTTP Basic admin:1234, their factory login.
        let c = classify("http", Some("admin"), "1234");
        assert!(c.is_default() && c.is_weak());
        assert!(default_credentials().iter().any(|r| r.username == "admin"
            && r.password == "1234"
            && r.notes.starts_with("vendor Edimax")));
    }

    #[test]
    fn tables_are_built_once() {
        assert!(std::ptr::eq(tables(), tables()));
    }
}
