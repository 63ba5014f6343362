//! Known-vulnerable software versions, matched against banners.
//!
//! The table is `data/vulnerable-software.toml`, compiled in and parsed on
//! first use; every entry names its CVE and the public source of its
//! affected-version range. [`lookup`] matches a product name (ASCII case
//! ignored) and a version by [`compare_versions`].

use std::cmp::Ordering;
use std::sync::OnceLock;

use serde::Deserialize;

const TABLE: &str = include_str!("../data/vulnerable-software.toml");

/// One known-vulnerable product/version range.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VulnerableSoftware {
    pub product: String,
    pub names: Vec<String>,
    #[serde(default)]
    pub exact: Vec<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub through: Option<String>,
    pub cve: Vec<String>,
    pub severity: u8,
    pub summary: String,
    pub advice: String,
    pub source: String,
}

impl VulnerableSoftware {
    /// Does `version` fall in this entry's range?
    pub fn matches(&self, version: &str) -> bool {
        if !self.exact.is_empty() {
            return self.exact.iter().any(|v| v.eq_ignore_ascii_case(version));
        }
        if self.before.is_none() && self.through.is_none() {
            return false; // an open range would flag every version
        }
        let lo = self
            .from
            .as_deref()
            .is_none_or(|f| compare_versions(version, f) != Ordering::Less);
        let hi_b = self
            .before
            .as_deref()
            .is_none_or(|b| compare_versions(version, b) == Ordering::Less);
        let hi_t = self
            .through
            .as_deref()
            .is_none_or(|t| compare_versions(version, t) != Ordering::Greater);
        lo && hi_b && hi_t
    }

    /// The range in words (`< 2016.74`, `<= 4.34`, `= 2.3.4`).
    pub fn affected(&self) -> String {
        if !self.exact.is_empty() {
            return format!("= {}", self.exact.join(", "));
        }
        let mut parts = Vec::new();
        if let Some(f) = &self.from {
            parts.push(format!(">= {f}"));
        }
        if let Some(b) = &self.before {
            parts.push(format!("< {b}"));
        }
        if let Some(t) = &self.through {
            parts.push(format!("<= {t}"));
        }
        parts.join(", ")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    software: Vec<VulnerableSoftware>,
}

/// The table failed to parse (only a broken edit of the data file can cause it).
#[derive(Debug, thiserror::Error)]
#[error("vulnerable-software.toml: {0}")]
pub struct TableError(String);

fn parse(text: &str) -> Result<Vec<VulnerableSoftware>, TableError> {
    let f: File = toml::from_str(text).map_err(|e| TableError(e.to_string()))?;
    for e in &f.software {
        if e.cve.is_empty() || e.source.is_empty() || e.names.is_empty() {
            return Err(TableError(format!(
                "{}: needs names, cve and source",
                e.product
            )));
        }
        if e.exact.is_empty() && e.before.is_none() && e.through.is_none() {
            return Err(TableError(format!("{}: no upper bound", e.product)));
        }
    }
    Ok(f.software)
}

/// Every entry, in file order.
pub fn table() -> &'static [VulnerableSoftware] {
    static T: OnceLock<Vec<VulnerableSoftware>> = OnceLock::new();
    T.get_or_init(|| parse(TABLE).expect("compiled-in vulnerable-software.toml parses (tested)"))
}

/// The first entry matching this product and version.
pub fn lookup(product: &str, version: &str) -> Option<&'static VulnerableSoftware> {
    let product = product.trim();
    let version = version.trim().trim_start_matches(['v', 'V']);
    table()
        .iter()
        .find(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(product)) && e.matches(version))
}

#[derive(Debug, PartialEq, Eq)]
enum Tok<'a> {
    Num(u64),
    Word(&'a str),
}

fn tokens(v: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            // Saturate absurd digit runs instead of failing.
            out.push(Tok::Num(v[start..i].parse().unwrap_or(u64::MAX)));
        } else if b[i].is_ascii_alphabetic() {
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Tok::Word(&v[start..i]));
        } else {
            i += 1;
        }
    }
    out
}

fn is_prerelease(w: &str) -> bool {
    ["rc", "pre", "beta", "alpha", "b", "a", "dev"]
        .iter()
        .any(|p| w.eq_ignore_ascii_case(p))
}

/// Compare dotted versions: numbers numerically, words as text; a version
/// that continues with a pre-release word (`rc`, `beta` …) sorts before the
/// same version without it (`0.94.14rc21` < `0.94.14`), any other
/// continuation after it (`8.9p1` > `8.9`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for i in 0..ta.len().max(tb.len()) {
        let o = match (ta.get(i), tb.get(i)) {
            (Some(Tok::Num(x)), Some(Tok::Num(y))) => x.cmp(y),
            (Some(Tok::Word(x)), Some(Tok::Word(y))) => {
                x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase())
            }
            // A number outranks a word at the same place (1.0.1 > 1.0rc1).
            (Some(Tok::Num(_)), Some(Tok::Word(_))) => Ordering::Greater,
            (Some(Tok::Word(_)), Some(Tok::Num(_))) => Ordering::Less,
            (Some(Tok::Word(w)), None) if is_prerelease(w) => Ordering::Less,
            (None, Some(Tok::Word(w))) if is_prerelease(w) => Ordering::Greater,
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_every_entry_is_sourced() {
        let t = table();
        assert!(t.len() >= 7);
        for e in t {
            assert!(e.cve.iter().all(|c| c.starts_with("CVE-")), "{e:?}");
            assert!(e.source.contains("http"), "{e:?}");
            assert!((1..=4).contains(&e.severity));
        }
    }

    #[test]
    fn version_order() {
        use Ordering::*;
        assert_eq!(compare_versions("2014.63", "2016.74"), Less);
        assert_eq!(compare_versions("1.4.9", "1.4.50"), Less);
        assert_eq!(compare_versions("0.94.14rc21", "0.94.14"), Less);
        assert_eq!(compare_versions("8.9p1", "8.9"), Greater);
        assert_eq!(compare_versions("4.34", "4.34"), Equal);
        assert_eq!(compare_versions("2.3.4", "2.3.4"), Equal);
    }

    #[test]
    fn lookups() {
        assert_eq!(
            lookup("dropbear", "2014.63").unwrap().cve,
            ["CVE-2016-7406"]
        );
        assert!(lookup("dropbear", "2016.74").is_none());
        assert!(lookup("dropbear", "2022.83").is_none());
        assert_eq!(
            lookup("RomPager", "4.07").unwrap().product,
            "Allegro RomPager"
        );
        assert!(lookup("RomPager", "4.51").is_none());
        assert!(lookup("vsFTPd", "2.3.4").is_some());
        assert!(lookup("vsFTPd", "3.0.3").is_none());
        assert!(lookup("lighttpd", "1.4.35").is_some());
        assert!(lookup("lighttpd", "1.4.59").is_none());
        assert!(lookup("Boa", "0.94.14rc21").is_some());
        assert!(lookup("mini_httpd", "1.19").is_some());
        assert!(lookup("GoAhead-Webs", "2.5.0").is_some());
        assert!(lookup("nginx", "1.0").is_none());
    }

    #[test]
    fn broken_tables_are_errors() {
        assert!(parse("[[software]]\nproduct='x'\n").is_err());
        let open = "[[software]]\nproduct='x'\nnames=['x']\ncve=['CVE-1']\nseverity=1\nsummary=''\nadvice=''\nsource='http://x'\n";
        assert!(parse(open).is_err(), "no upper bound");
    }
}
