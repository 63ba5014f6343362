//! Web vulnerability scanning and directory brute force, by shape.
//!
//! Every directory buster (dirb, gobuster, wfuzz, ffuf) and vulnerability
//! scanner (nikto, nmap's http-enum, OpenVAS-like checks) looks the same on
//! the wire whatever it calls itself: one client asks one web server for
//! many *different* paths in a short time, and most of the answers are
//! errors (404, 403, 400, 401, 405, 5xx), because most guesses miss. The
//! benign look-alikes differ in one of the two: a browser loading a
//! device's UI asks for many assets but gets 200/304; a phone app polling
//! an API, a UPnP control point fetching descriptions or a broken client
//! retrying a missing file ask for few distinct paths.
//!
//! Guarantees:
//! - one `web-vulnerability-scan` (category `recon`) per (client, server)
//!   and window; [`crate::table::Incidents`] folds repeats into one
//!   incident;
//! - state is one small fixed-size record per (client, server) pair in a
//!   [`CappedMap`]; distinct paths are counted in a 40-byte
//!   [`Distinct`] sketch, never stored, by *shape* (a name holding digits
//!   counts as one, so an app asking for 40 deleted recordings' numbered
//!   thumbnails is not a scan);
//! - a known scanner's User-Agent is evidence (named in the alert, higher
//!   confidence, half the thresholds), never enough on its own: one request
//!   from a scanner is `scan-tool-http-probe`'s business (`recon`).
//! - a *slow* scanner (dirb `-z`, nikto `-Pause`, a throttled crawler: fewer
//!   than 25 paths a minute) is counted again over a ten-minute window
//!   ([`WebScanLimits::slow_window_secs`]) at twice the paths and answers
//!   and the same error share; it is reported once per slow window, never
//!   beside a fast-tier report of the same pair in it (evidence `slow:
//!   true`). Spreading a scan out only delays it: 20 paths a minute is
//!   found after about 2.5 minutes.
//! - packet time only; the one allocation per request is a lower-cased
//!   copy of a User-Agent holding capitals (a browser's), made only while
//!   the pair has no scanner named.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::OnceLock;

use memchr::memmem::Finder;

use ward_core::flow::Dir;
use ward_core::{AlertCategory, PacketContext, Timestamp};
use ward_proto::{AppEvent, HttpRequest};

use crate::alert::{ascii_lower, secs, span, who, Draft, NeedleFilter, LOWER_ROOM};
use crate::table::{hasher, CappedMap, Distinct};

const NAME: &str = "webscan";
const SIGNATURE: &str = "web-vulnerability-scan";

/// Thresholds of the shape. Fixed rather than configured: they describe
/// what a scanning tool does, not a property of one network.
#[derive(Clone, Copy, Debug)]
pub struct WebScanLimits {
    /// Window over which a pair's requests are counted, seconds.
    pub window_secs: u64,
    /// Distinct paths (query cut off) a client must ask one server for.
    pub min_paths: u32,
    /// Answers the server must have given (so the miss ratio means something).
    pub min_answers: u32,
    /// Share of those answers that are errors (4xx, 5xx), in percent.
    pub min_error_pct: u32,
    /// The slow tier's window, seconds (0 turns it off); it asks for
    /// `slow_factor` times the paths and answers, at the same error share.
    pub slow_window_secs: u64,
    pub slow_factor: u32,
}

impl Default for WebScanLimits {
    fn default() -> Self {
        // dirb's small list is 959 paths and a busybox server answers 100
        // a second; nmap's http-enum asks ~2 000; nikto a few thousand. A
        // browser loading the heaviest camera UI asks 30-80 assets in a few
        // seconds, nearly all 200/304; 25 paths in a minute with 70 % errors
        // is far from it and reached by every tool in its first seconds.
        // The slow tier: a browser session of ten minutes on a device's
        // UI asks for its assets once (cached after) and gets 200/304; fifty
        // distinct missing paths in ten minutes is a word list, however
        // slowly it is read.
        WebScanLimits {
            window_secs: 60,
            min_paths: 25,
            min_answers: 20,
            min_error_pct: 70,
            slow_window_secs: 600,
            slow_factor: 2,
        }
    }
}

/// One client's requests to one server in the current window.
#[derive(Clone, Copy, Debug)]
struct Pair {
    start: Timestamp,
    first_seen: Timestamp,
    last_seen: Timestamp,
    requests: u32,
    paths: Distinct,
    answers: u32,
    errors: u32,
    /// Index into [`SCANNERS`] + 1 of a scanner User-Agent seen (0: none).
    tool: u8,
    port: u16,
    sport: u16,
    reported: bool,
    /// The slow tier's window: its own counts, from `slow.start`.
    slow: Tally,
}

/// The slow tier's counts of one pair (see the module docs).
#[derive(Clone, Copy, Debug)]
struct Tally {
    start: Timestamp,
    requests: u32,
    paths: Distinct,
    answers: u32,
    errors: u32,
    /// As [`Pair::tool`], over the slow window.
    tool: u8,
    /// Reported in this slow window, by either tier.
    reported: bool,
}

impl Tally {
    fn new(now: Timestamp) -> Self {
        Tally {
            start: now,
            requests: 0,
            paths: Distinct::default(),
            answers: 0,
            errors: 0,
            tool: 0,
            reported: false,
        }
    }
}

impl Pair {
    fn new(now: Timestamp) -> Self {
        Pair {
            start: now,
            first_seen: now,
            last_seen: now,
            requests: 0,
            paths: Distinct::default(),
            answers: 0,
            errors: 0,
            tool: 0,
            port: 0,
            sport: 0,
            reported: false,
            slow: Tally::new(now),
        }
    }

    /// Start a new window when the old one is over (keeping `first_seen`
    /// while the pair stays busy, for the alert's span), and the slow
    /// tier's when its own is.
    fn roll(&mut self, now: Timestamp, window_us: i64, slow_us: i64) {
        let slow = if now.since(self.slow.start) > slow_us {
            Tally::new(now)
        } else {
            self.slow
        };
        if now.since(self.start) > window_us {
            let first = if now.since(self.last_seen) > window_us {
                now
            } else {
                self.first_seen
            };
            *self = Pair::new(now);
            self.first_seen = first;
        }
        self.slow = slow;
    }
}

/// Scanner User-Agent substrings (lower case) and the tool's name. Only
/// tools that name themselves; dirb's MSIE 6 string names nothing.
const SCANNERS: &[(&str, &str)] = &[
    ("nikto", "Nikto"),
    ("nmap scripting engine", "nmap"),
    ("wfuzz", "wfuzz"),
    ("gobuster", "gobuster"),
    ("dirbuster", "DirBuster"),
    ("feroxbuster", "feroxbuster"),
    ("fuzz faster u fool", "ffuf"),
    ("sqlmap", "sqlmap"),
    ("nuclei", "Nuclei"),
    ("wpscan", "WPScan"),
    ("whatweb", "WhatWeb"),
    ("openvas", "OpenVAS"),
    ("greenbone", "OpenVAS"),
    ("nessus", "Nessus"),
    ("acunetix", "Acunetix"),
    ("netsparker", "Netsparker"),
    ("arachni", "Arachni"),
    ("skipfish", "skipfish"),
    ("w3af", "w3af"),
    ("commix", "commix"),
    ("zgrab", "ZGrab"),
    ("masscan", "masscan"),
    ("jaeles", "Jaeles"),
];

fn scanner(req: &HttpRequest) -> u8 {
    let Some(ua) = req.user_agent.as_deref() else {
        return 0;
    };
    // Nearly every User-Agent names no scanner: one pass over it says so
    // (this ran 23 searches on every request of a pair with no tool).
    static FILTER: OnceLock<NeedleFilter> = OnceLock::new();
    let filter =
        FILTER.get_or_init(|| NeedleFilter::new(SCANNERS.iter().map(|(n, _)| n.as_bytes())));
    if !filter.may_occur(ua.as_bytes()) {
        return 0;
    }
    // User-Agents are short (the parser keeps at most 512 bytes): one is
    // lower-cased on the stack, and only when it holds an upper-case letter.
    let mut room = [0u8; LOWER_ROOM];
    let ua = ascii_lower(ua.as_bytes(), &mut room);
    // Searchers built once: `str::contains` sets a searcher up for each
    // of the 23 needles on every request, ~160 instructions apiece.
    static FINDERS: OnceLock<Vec<Finder<'static>>> = OnceLock::new();
    let finders = FINDERS.get_or_init(|| {
        SCANNERS
            .iter()
            .map(|(needle, _)| Finder::new(needle.as_bytes()))
            .collect()
    });
    finders
        .iter()
        .position(|f| f.find(&ua).is_some())
        .map_or(0, |i| i as u8 + 1)
}

/// The path of a request target: the query and fragment cut off, so a
/// poller's cache-busting `?t=...` is one path, not many.
fn path_of(uri: &str) -> &str {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    &uri[..end]
}

/// A hash of a path's *shape*: every run of letters and digits that holds a
/// digit counts as one token, so `/rec/20261127_1200.jpg` and
/// `/rec/20261127_1201.jpg` (an app fetching thumbnails of recordings that
/// were deleted, each a 404) are one path, while a word list's guesses
/// (`/admin`, `/backup`, `/cgi-bin`) stay distinct. No allocation.
fn path_shape_hash(path: &str) -> u64 {
    let mut h = hasher().build_hasher();
    for tok in path
        .as_bytes()
        .split_inclusive(|b| !b.is_ascii_alphanumeric())
    {
        let (word, sep) = match tok.split_last() {
            Some((last, rest)) if !last.is_ascii_alphanumeric() => (rest, Some(*last)),
            _ => (tok, None),
        };
        if word.iter().any(u8::is_ascii_digit) {
            h.write_u8(0);
        } else {
            h.write(word);
        }
        if let Some(c) = sep {
            h.write_u8(c);
        }
    }
    h.finish()
}

/// An answer that says the asked-for thing is not there or not allowed.
fn is_error(status: u16) -> bool {
    (400..600).contains(&status)
}

pub struct WebScan {
    limits: WebScanLimits,
    pairs: CappedMap<(IpAddr, IpAddr), Pair>,
}

impl WebScan {
    pub fn new(cap: usize) -> Self {
        Self::with_limits(WebScanLimits::default(), cap)
    }

    pub fn with_limits(limits: WebScanLimits, cap: usize) -> Self {
        WebScan {
            limits,
            pairs: CappedMap::new(cap),
        }
    }

    /// Inlined: only requests and answers count, and most packets (most
    /// of those with application events too) carry neither: they are let
    /// go without a call.
    #[inline]
    pub fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let read = ctx
            .app
            .iter()
            .any(|e| matches!(e, AppEvent::HttpRequest(_) | AppEvent::HttpResponse { .. }));
        if read {
            self.on_events(ctx, out);
        }
    }

    #[inline(never)]
    fn on_events(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let Some(flow) = ctx.flow else { return };
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        let now = ctx.pkt.ts;
        let us = |s: u64| i64::try_from(s.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        let (window_us, slow_us) = (
            us(self.limits.window_secs),
            us(self.limits.slow_window_secs),
        );
        for ev in ctx.app {
            match ev {
                AppEvent::HttpRequest(req) if ctx.dir != Some(Dir::ToClient) => {
                    let p = self.pairs.entry((client, server), || Pair::new(now));
                    p.roll(now, window_us, slow_us);
                    p.last_seen = now;
                    p.requests = p.requests.saturating_add(1);
                    let shape = path_shape_hash(path_of(&req.uri));
                    p.paths.insert_hash(shape);
                    p.slow.requests = p.slow.requests.saturating_add(1);
                    p.slow.paths.insert_hash(shape);
                    p.port = flow.dst_port;
                    p.sport = flow.src_port;
                    if p.tool == 0 {
                        p.tool = scanner(req);
                    }
                    if p.slow.tool == 0 {
                        p.slow.tool = p.tool;
                    }
                }
                AppEvent::HttpResponse { status } => {
                    // Answers only count for a pair whose requests we saw.
                    let Some(p) = self.pairs.get_mut(&(client, server)) else {
                        continue;
                    };
                    p.answers = p.answers.saturating_add(1);
                    p.slow.answers = p.slow.answers.saturating_add(1);
                    if is_error(*status) {
                        p.errors = p.errors.saturating_add(1);
                        p.slow.errors = p.slow.errors.saturating_add(1);
                    }
                }
                _ => continue,
            }
            self.check(ctx, client, server, now, out);
        }
    }

    fn check(
        &mut self,
        ctx: &PacketContext<'_, '_>,
        client: IpAddr,
        server: IpAddr,
        now: Timestamp,
        out: &mut Vec<Draft>,
    ) {
        let Some(p) = self.pairs.get_mut(&(client, server)) else {
            return;
        };
        if p.reported {
            return;
        }
        let l = self.limits;
        // A tool that names itself needs half the evidence.
        let over = |tool: u8, paths: u32, answers: u32, errors: u32, factor: u32| {
            let div = if tool > 0 { 2 } else { 1 };
            paths >= (l.min_paths / div).saturating_mul(factor)
                && answers >= (l.min_answers / div).saturating_mul(factor)
                && u64::from(errors) * 100 >= u64::from(answers) * u64::from(l.min_error_pct / div)
        };
        let fast = over(p.tool, p.paths.estimate(), p.answers, p.errors, 1);
        let slow = !fast
            && l.slow_window_secs > 0
            && !p.slow.reported
            && over(
                p.slow.tool,
                p.slow.paths.estimate(),
                p.slow.answers,
                p.slow.errors,
                l.slow_factor.max(1),
            );
        if !fast && !slow {
            return;
        }
        p.reported = true;
        // Either tier's report is the slow window's too.
        p.slow.reported = true;
        if slow {
            // The counts the slow tier judged, from its own window.
            p.first_seen = p.slow.start;
            p.requests = p.slow.requests;
            p.paths = p.slow.paths;
            p.answers = p.slow.answers;
            p.errors = p.slow.errors;
            p.tool = p.slow.tool;
        }
        let paths = p.paths.estimate();
        let tool = usize::from(p.tool)
            .checked_sub(1)
            .and_then(|i| SCANNERS.get(i))
            .map(|(_, t)| *t);
        let mut d = Draft::new(AlertCategory::Recon, SIGNATURE, NAME, now);
        d.attacker = Some(client);
        d.attacker_port = p.sport;
        d.victims = vec![server];
        d.victim_port = p.port;
        d.proto = Some(6);
        d.first_seen = p.first_seen;
        d.count = u64::from(p.requests);
        d.severity = 2;
        d.confidence = if tool.is_some() { 0.95 } else { 0.8 };
        let error_pct = u64::from(p.errors) * 100 / u64::from(p.answers.max(1));
        d = d
            .ev("requests", p.requests)
            .ev("distinct_paths", paths)
            .ev("answers", p.answers)
            .ev("error_answers", p.errors)
            .ev("error_pct", error_pct)
            .ev("port", p.port)
            .ev("duration_s", secs(p.first_seen, now));
        if slow {
            d = d.ev("slow", true);
        }
        if let Some(t) = tool {
            d = d.ev("tool", t);
        }
        let by = tool.map(|t| format!(" with {t}")).unwrap_or_default();
        d.summary = format!(
            "{} asked the web server of {} for {paths} different paths in {}{by}, and {error_pct}% of the answers were errors: it is guessing at hidden pages and known vulnerable files, as a vulnerability scanner does.",
            who(ctx.devices, client),
            who(ctx.devices, server),
            span(p.first_seen, now),
        );
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_of_cuts_query_and_fragment() {
        assert_eq!(path_of("/a/b?x=1"), "/a/b");
        assert_eq!(path_of("/a#top"), "/a");
        assert_eq!(path_of("/"), "/");
        assert_eq!(path_of(""), "");
    }

    #[test]
    fn numbered_names_are_one_shape_words_are_not() {
        let h = path_shape_hash;
        assert_eq!(h("/rec/20261127_1200.jpg"), h("/rec/20261127_1201.jpg"));
        assert_eq!(h("/thumb/a3f9c2e1.jpg"), h("/thumb/77b0d2c4.jpg"));
        assert_ne!(h("/admin"), h("/backup"));
        assert_ne!(h("/admin/"), h("/admin"));
        assert_ne!(h("/rec/1.jpg"), h("/rec/1.png"));
        assert_eq!(h(""), h(""));
    }

    #[test]
    fn scanner_user_agents_are_named() {
        let r = |ua: &str| HttpRequest {
            user_agent: Some(ua.into()),
            ..Default::default()
        };
        let name = |ua: &str| {
            let i = scanner(&r(ua));
            usize::from(i)
                .checked_sub(1)
                .map(|i| SCANNERS[i].1)
                .unwrap_or("")
        };
        assert_eq!(name("Wfuzz/3.1.0"), "wfuzz");
        assert_eq!(
            name("Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)"),
            "Nikto"
        );
        assert_eq!(name("Fuzz Faster U Fool v1.1.0"), "ffuf");
        assert_eq!(
            name("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"),
            ""
        );
        assert_eq!(scanner(&HttpRequest::default()), 0);
    }
}
