//! Known-vulnerable software versions, matched against banners.
//!
//! The table is `data/vulnerable-software.toml`, compiled in and parsed on
//! first use; every entry names its CVE and the public source of its
//! affected-version range. [`find`] scans a whole banner (`Server:` value,
//! SSH identification, FTP/Telnet greeting) for a listed product name
//! followed by a version; [`lookup`] matches a product and version a parser
//! already split. Both ignore ASCII case, compare versions with
//! [`compare_versions`], and skip banners carrying one of the entry's
//! `not_if` markers (distributions that back-port fixes without changing
//! the version, like Debian's and Ubuntu's OpenSSH).

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
    /// Banner substrings (lower case) that mean "patched by the distributor".
    #[serde(default)]
    pub not_if: Vec<String>,
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
        if e.cve.is_empty()
            || e.source.is_empty()
            || e.names.is_empty()
            || e.names.iter().any(|n| n.trim().is_empty())
        {
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

/// Every entry's `names` in lower case, in table order ([`find`] compares
/// them with a lower-cased banner; lower-casing them per banner cost an
/// allocation per name per banner).
fn lower_names() -> &'static [Vec<String>] {
    static T: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    T.get_or_init(|| {
        table()
            .iter()
            .map(|e| e.names.iter().map(|n| n.to_ascii_lowercase()).collect())
            .collect()
    })
}

/// The first entry matching this product and version.
pub fn lookup(product: &str, version: &str) -> Option<&'static VulnerableSoftware> {
    let product = product.trim();
    let version = version.trim().trim_start_matches(['v', 'V']);
    table()
        .iter()
        .find(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(product)) && e.matches(version))
}

/// The banner's match by [`find`], else the parser's `product`/`version`
/// by [`lookup`] unless the banner carries one of the entry's `not_if`
/// markers.
pub fn check(product: &str, version: Option<&str>, banner: &str) -> Option<BannerMatch> {
    if let Some(m) = find(banner) {
        return Some(m);
    }
    let version = version?.trim().trim_start_matches(['v', 'V']);
    let entry = lookup(product, version)?;
    let lower = banner.to_ascii_lowercase();
    if entry.not_if.iter().any(|m| lower.contains(m.as_str())) {
        return None;
    }
    Some(BannerMatch {
        entry,
        version: version.to_string(),
    })
}

/// A banner's match: the entry and the version read from the banner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BannerMatch {
    pub entry: &'static VulnerableSoftware,
    pub version: String,
}

/// Banners longer than this are cut before scanning (a `Server:` value or
/// a greeting line is short; this bounds the work on hostile input).
const MAX_BANNER: usize = 512;

/// Scan `banner` for a listed product name followed by its version, as in
/// `lighttpd/1.4.35`, `220 ProFTPD 1.3.5 Server`, `SSH-2.0-dropbear_2014.63`,
/// `Linux/2.6 UPnP/1.0 MiniUPnPd/1.0` or `BusyBox v1.19.4`. The name must
/// stand alone (no letter or digit right before or after it), be followed by
/// at most two of ` /_-` and an optional `v`, then a version that starts
/// with a digit and holds a dot. The first matching entry wins.
pub fn find(banner: &str) -> Option<BannerMatch> {
    let cut = banner
        .char_indices()
        .nth(MAX_BANNER)
        .map_or(banner, |(i, _)| &banner[..i]);
    let lower = cut.to_ascii_lowercase();
    for (entry, names) in table().iter().zip(lower_names()) {
        if entry.not_if.iter().any(|m| lower.contains(m.as_str())) {
            continue;
        }
        for name in names {
            let name = name.as_str();
            let mut from = 0;
            while let Some(pos) = lower.get(from..).and_then(|t| t.find(name)) {
                let start = from + pos;
                let end = start + name.len();
                from = end;
                let before_ok = lower[..start]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_ascii_alphanumeric());
                if !before_ok {
                    continue;
                }
                let Some((a, b)) = version_after(&lower[end..]) else {
                    continue;
                };
                // ASCII lower-casing keeps byte offsets: the version as the
                // banner wrote it is at the same place in `cut`.
                let Some(version) = cut.get(end + a..end + b) else {
                    continue;
                };
                if entry.matches(version) {
                    return Some(BannerMatch {
                        entry,
                        version: version.to_string(),
                    });
                }
            }
        }
    }
    None
}

/// Where the version right after a product name lies in `rest`: up to two
/// separators (` /_-`), an optional `v`, then `[0-9][0-9A-Za-z.]*` holding
/// a dot (trailing dots dropped). None when the name runs on into a word
/// (`boat`) or no version follows.
fn version_after(rest: &str) -> Option<(usize, usize)> {
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() && i < 2 && matches!(b[i], b' ' | b'/' | b'_' | b'-') {
        i += 1;
    }
    if b.get(i).is_some_and(|c| *c == b'v') {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
        i += 1;
    }
    while i > start && b[i - 1] == b'.' {
        i -= 1;
    }
    rest.get(start..i)?.contains('.').then_some((start, i))
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

/// `rc`, `pre`, `beta`, `alpha`, `dev` mark a pre-release anywhere; a lone
/// `a` or `b` only when a number follows (`2.0b3`): at the end it is a
/// patch letter (`1.3.5a` comes after `1.3.5`, as ProFTPD and thttpd
/// number their fixes).
fn is_prerelease(w: &str, next: Option<&Tok<'_>>) -> bool {
    ["rc", "pre", "beta", "alpha", "dev"]
        .iter()
        .any(|p| w.eq_ignore_ascii_case(p))
        || (["a", "b"].iter().any(|p| w.eq_ignore_ascii_case(p))
            && matches!(next, Some(Tok::Num(_))))
}

/// Compare dotted versions: numbers numerically, words as text; a version
/// that continues with a pre-release word (`rc`, `beta` …) sorts before the
/// same version without it (`0.94.14rc21` < `0.94.14`), any other
/// continuation after it (`8.9p1` > `8.9`, `1.3.5b` > `1.3.5`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for i in 0..ta.len().max(tb.len()) {
        let o = match (ta.get(i), tb.get(i)) {
            (Some(Tok::Num(x)), Some(Tok::Num(y))) => x.cmp(y),
            // A pre-release word sorts before a patch letter (1.3.3rc1 < 1.3.3c).
            (Some(Tok::Word(x)), Some(Tok::Word(y))) => {
                match (
                    is_prerelease(x, ta.get(i + 1)),
                    is_prerelease(y, tb.get(i + 1)),
                ) {
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    _ => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                }
            }
            // A number outranks a word at the same place (1.0.1 > 1.0rc1).
            (Some(Tok::Num(_)), Some(Tok::Word(_))) => Ordering::Greater,
            (Some(Tok::Word(_)), Some(Tok::Num(_))) => Ordering::Less,
            (Some(Tok::Word(w)), None) if is_prerelease(w, ta.get(i + 1)) => Ordering::Less,
            (None, Some(Tok::Word(w))) if is_prerelease(w, tb.get(i + 1)) => Ordering::Greater,
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
        assert_eq!(compare_versions("1.3.5b", "1.3.5"), Greater);
        assert_eq!(compare_versions("1.3.5a", "1.3.5b"), Less);
        assert_eq!(compare_versions("2.23b1", "2.23"), Less);
        assert_eq!(compare_versions("1.3.3rc1", "1.3.3c"), Less);
        assert_eq!(compare_versions("1.3.3rc1", "1.3.3"), Less);
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

    /// Every entry's bounds: the boundary versions on both sides.
    #[test]
    fn boundaries_are_exact() {
        let hit = |b: &str| find(b).map(|m| (m.entry.cve[0].clone(), m.version));
        let cve = |b: &str| find(b).map(|m| m.entry.cve[0].clone());
        let c = |s: &str| Some(s.to_string());
        // Dropbear < 2016.74
        assert_eq!(
            hit("SSH-2.0-dropbear_2016.73"),
            Some((c("CVE-2016-7406").unwrap(), "2016.73".into()))
        );
        assert_eq!(cve("SSH-2.0-dropbear_2016.74"), None);
        // lighttpd < 1.4.50
        assert_eq!(cve("lighttpd/1.4.49"), c("CVE-2018-19052"));
        assert_eq!(cve("lighttpd/1.4.50"), None);
        // RomPager <= 4.34
        assert_eq!(cve("RomPager/4.34 UPnP/1.0"), c("CVE-2014-9222"));
        assert_eq!(
            cve("Allegro-Software-RomPager/4.07 UPnP/1.0"),
            c("CVE-2014-9222")
        );
        assert_eq!(cve("RomPager/4.51 UPnP/1.0"), None);
        // ProFTPD: < 1.3.3c, then 1.3.5 ..= 1.3.5b
        assert_eq!(
            cve("220 ProFTPD 1.3.3b Server (ProFTPD)"),
            c("CVE-2010-4221")
        );
        assert_eq!(cve("220 ProFTPD 1.3.3 Server"), c("CVE-2010-4221"));
        assert_eq!(cve("220 ProFTPD 1.3.3rc1 Server"), c("CVE-2010-4221"));
        assert_eq!(cve("220 ProFTPD 1.3.3c Server"), None);
        assert_eq!(cve("220 ProFTPD 1.3.4d Server"), None);
        assert_eq!(
            cve("220 ProFTPD 1.3.5 Server (ProFTPD Default Installation)"),
            c("CVE-2015-3306")
        );
        assert_eq!(cve("220 ProFTPD 1.3.5b Server"), c("CVE-2015-3306"));
        assert_eq!(cve("220 ProFTPD 1.3.5c Server"), None);
        assert_eq!(cve("220 ProFTPD 1.3.5 Server (Debian)"), None, "not_if");
        assert_eq!(cve("220 ProFTPD 1.3.6 Server"), None);
        // vsftpd = 2.3.4
        assert_eq!(cve("220 (vsFTPd 2.3.4)"), c("CVE-2011-2523"));
        assert_eq!(cve("220 (vsFTPd 2.3.5)"), None);
        assert_eq!(cve("220 (vsFTPd 3.0.3)"), None);
        // MiniUPnPd < 1.4, found anywhere in the header
        assert_eq!(
            cve("Linux/2.6.36 UPnP/1.0 MiniUPnPd/1.0"),
            c("CVE-2013-0229")
        );
        assert_eq!(
            cve("Linux/2.6.36 UPnP/1.0 MiniUPnPd/1.3"),
            c("CVE-2013-0229")
        );
        assert_eq!(cve("Linux/2.6.36 UPnP/1.0 MiniUPnPd/1.4"), None);
        assert_eq!(cve("OpenWRT/OpenWrt UPnP/1.1 MiniUPnPd/2.0"), None);
        // libupnp < 1.6.18
        assert_eq!(
            cve("Linux/2.6.21, UPnP/1.0, Portable SDK for UPnP devices/1.6.6"),
            c("CVE-2012-5958")
        );
        assert_eq!(
            cve("Linux/3.10, UPnP/1.0, Portable SDK for UPnP devices/1.6.17"),
            c("CVE-2012-5958")
        );
        assert_eq!(
            cve("Linux/3.10, UPnP/1.0, Portable SDK for UPnP devices/1.6.18"),
            None
        );
        assert_eq!(
            cve("Linux/4.9, UPnP/1.0, Portable SDK for UPnP devices/1.14.0"),
            None
        );
        // BusyBox < 1.25.0
        assert_eq!(
            cve("BusyBox v1.24.2 (2017-01-01) built-in shell (ash)"),
            c("CVE-2016-2148")
        );
        assert_eq!(cve("BusyBox v1.25.0 built-in shell"), None);
        // uc-httpd <= 1.0.0
        assert_eq!(cve("uc-httpd 1.0.0"), c("CVE-2017-7577"));
        assert_eq!(cve("uc-httpd 1.0.1"), None);
        // Apache = 2.4.49, 2.4.50
        assert_eq!(cve("Apache/2.4.49 (Unix)"), c("CVE-2021-41773"));
        assert_eq!(cve("Apache/2.4.50 (Unix)"), c("CVE-2021-41773"));
        assert_eq!(cve("Apache/2.4.48 (Unix)"), None);
        assert_eq!(cve("Apache/2.4.51 (Unix)"), None);
        assert_eq!(cve("Apache-Coyote/1.1"), None);
        // OpenSSH 8.5p1 ..< 9.8, distribution builds skipped
        assert_eq!(cve("SSH-2.0-OpenSSH_8.5p1"), c("CVE-2024-6387"));
        assert_eq!(cve("SSH-2.0-OpenSSH_9.7p1"), c("CVE-2024-6387"));
        assert_eq!(cve("SSH-2.0-OpenSSH_8.4p1"), None);
        assert_eq!(cve("SSH-2.0-OpenSSH_9.8p1"), None);
        assert_eq!(cve("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"), None);
        assert_eq!(cve("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"), None);
        // IIS = 6.0
        assert_eq!(cve("Microsoft-IIS/6.0"), c("CVE-2017-7269"));
        assert_eq!(cve("Microsoft-IIS/7.5"), None);
        // thttpd 2.21 ..= 2.23b1
        assert_eq!(cve("thttpd/2.21"), c("CVE-2003-0899"));
        assert_eq!(cve("thttpd/2.23b1 10jan2003"), c("CVE-2003-0899"));
        assert_eq!(cve("thttpd/2.20c"), None);
        assert_eq!(cve("thttpd/2.23"), None);
        assert_eq!(cve("thttpd/2.25b 29dec2003"), None);
        // GoAhead: < 3.6.5, then = 3.6.5, 4.1.1, 5.0.1; no version, no match
        assert_eq!(cve("GoAhead-http/3.6.4"), c("CVE-2017-17562"));
        assert_eq!(cve("GoAhead-http/3.6.5"), c("CVE-2019-5096"));
        assert_eq!(cve("GoAhead-http/4.1.2"), None);
        assert_eq!(cve("GoAhead-Webs"), None);
        // mini_httpd < 1.30; Boa <= 0.94.14rc21
        assert_eq!(cve("mini_httpd/1.29 23May2018"), c("CVE-2018-18778"));
        assert_eq!(cve("mini_httpd/1.30 26Oct2018"), None);
        assert_eq!(cve("Boa/0.94.14rc21"), c("CVE-2017-9833"));
        assert_eq!(cve("Boa/0.94.14"), None);
        // MikroTik: < 6.40.8, 6.41 ..< 6.42.1
        assert_eq!(
            cve("220 MikroTik FTP server (MikroTik 6.40.7) ready"),
            c("CVE-2018-14847")
        );
        assert_eq!(cve("220 MikroTik FTP server (MikroTik 6.40.8) ready"), None);
        assert_eq!(
            cve("220 MikroTik FTP server (MikroTik 6.41) ready"),
            c("CVE-2018-14847")
        );
        assert_eq!(
            cve("220 MikroTik FTP server (MikroTik 6.42) ready"),
            c("CVE-2018-14847")
        );
        assert_eq!(cve("220 MikroTik FTP server (MikroTik 6.42.1) ready"), None);
        assert_eq!(
            cve("220 MikroTik FTP server (MikroTik 6.49.10) ready"),
            None
        );
    }

    /// Every distinct `Server:`, SSH and FTP banner of the shared captures
    /// (`$WARD_DATASETS`, listed with tshark over all 471 files): only the
    /// two old lighttpd builds are in a range. `Portable SDK for UPnP
    /// devices/1.6.18` sits exactly on its entry's fixed version.
    #[test]
    fn real_banners_from_the_shared_captures() {
        let banners = [
            "openresty/1.9.15.1",
            "Unspecified, UPnP/1.0, Unspecified",
            "Linux/3.14.0 UPnP/1.0 IpBridge/1.9.0",
            "cloudflare-nginx",
            "Microsoft-IIS/7.5",
            "Cellvision UPnP/1.0",
            "Linux, UPnP/1.0 DCS-935L/1.0",
            "Embedded UPnP/1.0",
            "Linux/2.6.21, UPnP/1.0, Portable SDK for UPnP devices/1.6.18",
            "SimpleHTTP/0.6 Python/3.10.6",
            "SSH-2.0-OpenSSH_for_Windows_7.7",
            "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.1",
            "SSH-2.0-OpenSSH_7.4",
            "SSH-2.0-OpenSSH_6.7p1 Debian-3",
            "SSH-2.0-OpenSSH_6.2",
            "SSH-2.0-OpenSSH_5.8p1 Debian-1ubuntu3",
            "SSH-2.0-OpenSSH_4.3",
            "SSH-1.99-OpenSSH_3.9p1",
            "UPnP/Tomato 1.28.7500 MIPSR2Toastman-RT K26 USB Ext UPnP/1.0 MiniUPnPd/1.6",
            "Apache/2.2.17 (Ubuntu)",
            "Apache-Coyote/1.1",
            "redmint FTP server (Version 6.4/OpenBSD/Linux-ftpd-0.17) ready.",
            "ftp.ncsa.illinois.edu FTP Server (Apache/2.2.3 (CentOS) PHP/5.1.6 mod_ftp/0.9.6) ready.",
            "ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.",
            "FileZilla Server 1.9.1",
        ];
        for b in banners {
            assert_eq!(find(b), None, "{b}");
        }
        for b in ["lighttpd/1.4.31", "lighttpd/1.4.34"] {
            assert_eq!(
                find(b).map(|m| m.entry.cve[0].as_str()),
                Some("CVE-2018-19052")
            );
        }
    }

    #[test]
    fn dnsmasq_from_its_chaos_answer() {
        let cve = |b: &str| find(b).map(|m| m.entry.cve[0].clone());
        assert_eq!(cve("dnsmasq-2.77").as_deref(), Some("CVE-2017-14491"));
        assert_eq!(cve("dnsmasq-2.78").as_deref(), Some("CVE-2020-25681"));
        assert_eq!(cve("dnsmasq-2.82").as_deref(), Some("CVE-2020-25681"));
        assert_eq!(cve("dnsmasq-2.83"), None);
        assert_eq!(cve("dnsmasq-2.90"), None);
    }

    #[test]
    fn names_must_stand_alone() {
        assert_eq!(find("Boat/0.90"), None);
        assert_eq!(find("xlighttpd/1.4.20"), None);
        assert_eq!(find("lighttpd"), None, "no version");
        assert_eq!(find("lighttpd/1"), None, "a version holds a dot");
        assert_eq!(find("SSH-2.0-dropbear"), None);
        // The version as the banner spells it.
        assert_eq!(find("LIGHTTPD/1.4.35").unwrap().version, "1.4.35");
        assert_eq!(
            find("BusyBox v1.19.4 built-in shell").unwrap().version,
            "1.19.4"
        );
    }

    #[test]
    fn check_falls_back_to_the_parsed_product_and_honours_not_if() {
        assert!(check("dropbear", Some("2014.63"), "").is_some());
        assert!(check("OpenSSH", Some("9.2p1"), "SSH-2.0-OpenSSH_9.2p1 Debian-2").is_none());
        assert!(check("nginx", Some("1.0"), "nginx/1.0").is_none());
        assert!(check("", None, "").is_none());
    }

    proptest::proptest! {
        /// Banners are hostile bytes: scanning never panics, and whatever it
        /// reports is an entry that matches the version it read.
        #[test]
        fn find_never_panics(s in "\\PC{0,300}") {
            if let Some(m) = find(&s) {
                proptest::prop_assert!(m.entry.matches(&m.version));
            }
        }
    }

    #[test]
    fn broken_tables_are_errors() {
        assert!(parse("[[software]]\nproduct='x'\n").is_err());
        let open = "[[software]]\nproduct='x'\nnames=['x']\ncve=['CVE-1']\nseverity=1\nsummary=''\nadvice=''\nsource='http://x'\n";
        assert!(parse(open).is_err(), "no upper bound");
        // An empty name would match at every offset of every banner.
        let blank = "[[software]]\nproduct='x'\nnames=['x', ' ']\ncve=['CVE-1']\nseverity=1\nsummary=''\nadvice=''\nsource='http://x'\nbefore='2'\n";
        assert!(parse(blank).is_err(), "blank name");
        assert!(parse(&blank.replace("' '", "'y'")).is_ok());
    }
}
