//! The passive hygiene detector: weaknesses read off the traffic.
//!
//! [`HygieneDetector`] implements [`ward_core::Detector`]. From the
//! application events of each packet (and those a parser reports when its
//! flow ends) it writes `finding` events:
//!
//! | kind | when | once per |
//! |---|---|---|
//! | `cleartext-credentials` | a password, token or community string crossed the network readable | server, protocol (the logins are counted in `evidence`) |
//! | `default-credentials` | a successful (or undecided) login used a pair from the bundled list | server, protocol, username |
//! | `weak-credentials` | a successful (or undecided) login used an empty, common, short or one-class password (and not a known default) | server, protocol, username |
//! | `insecure-protocol` | Telnet, FTP, HTTP Basic, MQTT, POP3/IMAP/SMTP logins in the clear; SNMP v1/v2c; RTSP without auth; VNC's DES challenge | server, protocol |
//! | `risky-service` | Telnet (23, 2323) or ADB (5555) answering; SSDP answering a remote address; open MQTT broker; VNC or Telnet without auth; an admin page served to a remote client; anonymous FTP | server, service |
//! | `weak-tls` | SSLv3/TLS ≤ 1.1 offered as the maximum or chosen; RC4, 3DES, DES, EXPORT or NULL suites chosen or the only ones offered | device, reason |
//! | `vulnerable-software` | a banner matches [`crate::vulnerable`] | device, product, version |
//!
//! Failed logins are not the device's weakness (a brute-force attack's
//! 400 wrong guesses say nothing about the real password), so default and
//! weak credentials are judged only on logins that succeeded or whose
//! outcome never showed. They still count as cleartext logins.
//!
//! The `cleartext-credentials` finding for a (server, protocol) is written
//! when logins to it pause for [`HygieneConfig::cleartext_window_secs`] of
//! packet time, at the latest [`HygieneConfig::cleartext_max_delay_secs`]
//! after the first one, or when the input ends — so that its
//! `evidence.logins` counts the whole burst instead of saying "1". Logins
//! after that are counted in [`HygieneDetector::logins_after_report`] only.
//!
//! Everything kept is bounded: the set of reported keys and the pending
//! cleartext aggregations by [`HygieneConfig::max_keys`] (past it, further
//! findings are dropped and counted in [`HygieneDetector::suppressed`], so a
//! flood of spoofed servers cannot grow memory), request URIs waiting for
//! their response by [`MAX_URI_FLOWS`] × [`MAX_URIS_PER_FLOW`], remembered
//! banner verdicts by [`MAX_BANNER_VERDICTS`].
//!
//! Cost: a packet without application events costs one branch. An event
//! whose finding was already written costs a lookup of a key written into
//! a reused buffer: no allocation, and no text is formatted (device names,
//! summaries, evidence) until a finding is written. A pending cleartext
//! aggregation keeps the raw facts, not a finished `Finding`, and is
//! written out in key order straight from the map, with no copy of the
//! keys; at the end of input, [`FINISH_PART`] at a time, each part handed
//! to the sinks before the next is made. Request URIs are kept only on flows from a remote client to a
//! local server, the only ones an exposed admin page can be reported on;
//! a banner's verdict is looked up once per distinct banner.
//!
//! Secrets are written only when the engine runs with `reveal_secrets`;
//! otherwise `secret_redacted` is set.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::IpAddr;

use foldhash::fast::RandomState;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ward_core::devices::{DeviceId, DeviceKey, DeviceTable};
use ward_core::flow::Flow;
use ward_core::{Detector, Event, Finding, FindingKind, FlowEndContext, PacketContext, Timestamp};
use ward_proto::{About, AppEvent, AppProto, Credential, LoginOutcome, TlsHello};

use crate::{classify, tls, vulnerable};

/// Request URIs are remembered for at most this many flows at once.
pub const MAX_URI_FLOWS: usize = 4096;
/// … and this many pipelined requests per flow.
pub const MAX_URIS_PER_FLOW: usize = 8;
/// Usernames listed in one `cleartext-credentials` finding.
pub const MAX_USERNAMES_LISTED: usize = 16;
/// Distinct banners whose [`vulnerable::check`] verdict is remembered
/// (the memory is cleared when full; a banner longer than
/// [`MAX_CACHED_BANNER`] bytes is always checked afresh).
pub const MAX_BANNER_VERDICTS: usize = 1024;
/// Longest banner (with its product and version) whose verdict is remembered.
pub const MAX_CACHED_BANNER: usize = 512;
/// Pending `cleartext-credentials` findings written per
/// [`Detector::finish_part`] call at the end of input (the engine writes
/// each part out before asking for the next).
pub const FINISH_PART: usize = 256;

/// `[detectors.hygiene]` settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HygieneConfig {
    /// Run the detector.
    pub enabled: bool,
    /// Findings remembered for de-duplication (and pending aggregations).
    pub max_keys: usize,
    /// The `cleartext-credentials` finding for a (server, protocol) is
    /// written once logins to it have paused for this many seconds of
    /// packet time …
    pub cleartext_window_secs: u64,
    /// … or this long after the first login, whichever comes first.
    pub cleartext_max_delay_secs: u64,
}

impl Default for HygieneConfig {
    fn default() -> Self {
        HygieneConfig {
            enabled: true,
            max_keys: 65_536,
            cleartext_window_secs: 30,
            cleartext_max_delay_secs: 300,
        }
    }
}

/// A de-duplication key as written by [`write_key`]: kind, whose weakness
/// (server IP or device key), and what (protocol, username, reason …).
/// Stored as one byte string so that a key written into a reused buffer
/// can be looked up without allocating. Keys are only looked up, never
/// shown: bytes, not text.
type Key = Box<[u8]>;

/// `kind NUL who what…`: a kind's name holds no NUL, and `who`
/// ([`Site::write_who_bytes`]) has a length fixed by its first byte, so two
/// keys are equal exactly when kind, `who` and the concatenated `what` are.
fn write_key(buf: &mut Vec<u8>, kind: FindingKind, site: &Site<'_>, about: About, what: &[&str]) {
    buf.clear();
    buf.extend_from_slice(kind.as_str().as_bytes());
    buf.push(0);
    site.write_who_bytes(about, buf);
    for w in what {
        buf.extend_from_slice(w.as_bytes());
    }
}

/// An address as `who` bytes: a family byte, then the address.
fn push_ip(buf: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            buf.push(4);
            buf.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            buf.push(6);
            buf.extend_from_slice(&a.octets());
        }
    }
}

/// Cleartext logins to one server over one protocol, not yet reported:
/// the facts its finding is written from (see [`Pending::take_event`]).
struct Pending {
    first: Timestamp,
    last: Timestamp,
    logins: u64,
    usernames: Vec<String>,
    /// Logins by outcome, in the order the evidence lists them:
    /// failure, success, unknown.
    outcomes: [u64; 3],
    methods: Vec<&'static str>,
    protocol: &'static str,
    /// The server as named when the first login was seen.
    name: String,
    /// `finding.device`.
    device: Option<String>,
    /// The first login's username is `usernames[0]`.
    first_has_username: bool,
    first_outcome: LoginOutcome,
    /// The first login's secret, kept only when secrets are revealed.
    secret: Option<String>,
    redacted: bool,
    endpoints: Endpoints,
}

/// `outcomes` slots, sorted by name as a JSON object lists them.
const OUTCOME_NAMES: [&str; 3] = ["failure", "success", "unknown"];

fn outcome_slot(o: LoginOutcome) -> usize {
    match o {
        LoginOutcome::Failure => 0,
        LoginOutcome::Success => 1,
        LoginOutcome::Unknown => 2,
    }
}

impl Pending {
    /// The `cleartext-credentials` finding. Takes the strings out of
    /// `self` (which is dropped next), so nothing is copied.
    fn take_event(&mut self) -> Event {
        let proto = self.protocol;
        let usernames = std::mem::take(&mut self.usernames);
        let username = if self.first_has_username {
            usernames.first().cloned()
        } else {
            None
        };
        let mut evidence = BTreeMap::new();
        evidence.insert("logins".to_string(), json!(self.logins));
        evidence.insert("usernames".to_string(), json!(usernames));
        let outcomes: serde_json::Map<String, Value> = OUTCOME_NAMES
            .iter()
            .zip(self.outcomes)
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| (name.to_string(), json!(n)))
            .collect();
        evidence.insert("outcomes".to_string(), Value::Object(outcomes));
        evidence.insert("methods".to_string(), json!(self.methods));
        evidence.insert("first_login".to_string(), json!(self.first));
        evidence.insert("last_login".to_string(), json!(self.last));
        // Only failed guesses: the password itself is still unknown.
        let only_failures = self.outcomes[1] == 0 && self.outcomes[2] == 0;
        let f = Finding {
            kind: FindingKind::CleartextCredentials,
            protocol: proto.to_string(),
            severity: if only_failures { 3 } else { 2 },
            summary: format!(
                "Passwords for {}'s {} service cross the network unencrypted, readable by anyone who can see the traffic.",
                self.name,
                proto_name(proto)
            ),
            username,
            secret: self.secret.take(),
            secret_redacted: self.redacted,
            outcome: Some(self.first_outcome.as_str().to_string()),
            device: self.device.take(),
            evidence,
            remedy: Some(insecure_remedy(proto).to_string()),
        };
        let e = self.endpoints;
        Event::finding(self.first, f).with_endpoints(e.client, e.server, Some(e.proto))
    }
}

#[derive(Clone, Copy)]
struct Endpoints {
    client: Option<(IpAddr, u16)>,
    server: Option<(IpAddr, u16)>,
    proto: u8,
}

/// Where a finding belongs: the flow's endpoints and the devices.
struct Site<'a> {
    ts: Timestamp,
    flow: &'a Flow,
    client_dev: Option<DeviceId>,
    server_dev: Option<DeviceId>,
    devices: &'a DeviceTable,
    reveal: bool,
}

impl Site<'_> {
    fn endpoints(&self) -> Endpoints {
        Endpoints {
            client: self.flow.src_ip.map(|ip| (ip, self.flow.src_port)),
            server: self.flow.dst_ip.map(|ip| (ip, self.flow.dst_port)),
            proto: self.flow.proto,
        }
    }

    /// The inventory device of a side. A remote address has none: its
    /// frames carry the router's MAC, and the router is not the server.
    fn dev(&self, about: About) -> Option<DeviceId> {
        if self.ip(about).is_some_and(|ip| !self.devices.is_local(ip)) {
            return None;
        }
        match about {
            About::Initiator => self.client_dev,
            About::Responder => self.server_dev,
            About::Mac(_) => None,
        }
    }

    fn ip(&self, about: About) -> Option<IpAddr> {
        match about {
            About::Initiator => self.flow.src_ip,
            About::Responder => self.flow.dst_ip,
            About::Mac(_) => None,
        }
    }

    /// [`Site::write_who`] as bytes for a de-duplication key, without
    /// formatting text: one byte string per text `write_who` writes. A
    /// device keyed by an address writes what that address writes (its
    /// text is the address's), a MAC-keyed one its MAC (a MAC's text is no
    /// address's), and `unknown` a byte of its own.
    fn write_who_bytes(&self, about: About, buf: &mut Vec<u8>) {
        if let Some(ip) = self.ip(about) {
            push_ip(buf, ip);
        } else if let Some(d) = self.dev(about).and_then(|id| self.devices.get(id)) {
            match d.key {
                DeviceKey::Ip(ip) => push_ip(buf, ip),
                DeviceKey::Mac(m) => {
                    buf.push(b'm');
                    buf.extend_from_slice(&m.0);
                }
            }
        } else {
            buf.push(b'?');
        }
    }

    /// The stable id of a side, appended to `buf`: its IP (what a person
    /// recognises), else its device label (no allocation once `buf` has room).
    fn write_who(&self, about: About, buf: &mut String) {
        if let Some(ip) = self.ip(about) {
            let _ = write!(buf, "{ip}");
        } else if let Some(d) = self.dev(about).and_then(|id| self.devices.get(id)) {
            // `Device::label` is the key's text.
            let _ = write!(buf, "{}", d.key);
        } else {
            buf.push_str("unknown");
        }
    }

    /// The device label written in `finding.device`.
    fn label(&self, about: About) -> Option<String> {
        self.dev(about)
            .and_then(|id| self.devices.get(id))
            .map(|d| d.label())
            .or_else(|| self.ip(about).map(|ip| ip.to_string()))
    }

    /// How a person would name the device: "the camera (Hikvision DS-2CD) at 192.168.1.64".
    fn name(&self, about: About) -> String {
        let ip = self.ip(about).map(|i| i.to_string());
        let dev = self.dev(about).and_then(|id| self.devices.get(id));
        let what = dev.and_then(|d| {
            d.model
                .clone()
                .or_else(|| d.hostname().map(str::to_string))
                .or_else(|| d.vendor.map(|v| format!("{v} device")))
        });
        match (what, ip) {
            (Some(w), Some(ip)) => format!("{w} at {ip}"),
            (Some(w), None) => w,
            (None, Some(ip)) => format!("the device at {ip}"),
            (None, None) => "a device".into(),
        }
    }
}

/// The detector. See the module docs.
pub struct HygieneDetector {
    cfg: HygieneConfig,
    /// Keys are looked up, never iterated into output: a per-process seed.
    reported: HashSet<Key, RandomState>,
    /// Keyed by `who NUL protocol`, which sorts as (who, protocol) does
    /// (`who` holds no NUL), the order findings are written in.
    pending: BTreeMap<String, Pending>,
    uris: HashMap<u64, VecDeque<String>, RandomState>,
    /// [`vulnerable::check`]'s verdict per banner (see [`banner_key`]).
    banners: HashMap<Box<[u8]>, Option<vulnerable::BannerMatch>, RandomState>,
    /// Reused buffers for keys (no allocation per event).
    key: Vec<u8>,
    pending_key: String,
    /// No pending cleartext finding is due before this (a lower bound of
    /// their due times, lowered whenever an entry's is), so a tick before
    /// it does not look at the map.
    pending_due: Timestamp,
    suppressed: u64,
    logins_after_report: u64,
}

impl Default for HygieneDetector {
    fn default() -> Self {
        Self::new(HygieneConfig::default())
    }
}

impl HygieneDetector {
    pub fn new(cfg: HygieneConfig) -> Self {
        HygieneDetector {
            cfg,
            reported: HashSet::default(),
            pending: BTreeMap::new(),
            uris: HashMap::default(),
            banners: HashMap::default(),
            key: Vec::new(),
            pending_key: String::new(),
            pending_due: Timestamp(i64::MAX),
            suppressed: 0,
            logins_after_report: 0,
        }
    }

    /// Findings dropped because the de-duplication set was full.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }

    /// Cleartext logins seen after their (server, protocol) was reported.
    pub fn logins_after_report(&self) -> u64 {
        self.logins_after_report
    }

    /// True the first time the key of (`kind`, `about`'s side, `what`
    /// concatenated) is seen (and there is room to remember it).
    fn first_time(
        &mut self,
        kind: FindingKind,
        site: &Site<'_>,
        about: About,
        what: &[&str],
    ) -> bool {
        // `was_reported` leaves the key in `self.key` for the insert below.
        if self.was_reported(kind, site, about, what) {
            return false;
        }
        if self.reported.len() >= self.cfg.max_keys {
            self.suppressed += 1;
            return false;
        }
        self.reported.insert(self.key.as_slice().into());
        true
    }

    /// The key was reported already; the key is left written in `self.key`.
    fn was_reported(
        &mut self,
        kind: FindingKind,
        site: &Site<'_>,
        about: About,
        what: &[&str],
    ) -> bool {
        write_key(&mut self.key, kind, site, about, what);
        self.reported.contains(self.key.as_slice())
    }

    fn emit(site: &Site<'_>, f: Finding, out: &mut Vec<Event>) {
        let e = site.endpoints();
        out.push(Event::finding(site.ts, f).with_endpoints(e.client, e.server, Some(e.proto)));
    }

    fn handle(&mut self, site: &Site<'_>, app: &[AppEvent], out: &mut Vec<Event>) {
        for ev in app {
            match ev {
                AppEvent::Credential(c) => self.on_credential(site, c, out),
                AppEvent::NoAuth { protocol } => self.on_noauth(site, protocol, out),
                AppEvent::Snmp { version } if *version <= 1 => {
                    let v = if *version == 0 { "v1" } else { "v2c" };
                    self.insecure(
                        site,
                        "snmp",
                        || format!(
                            "{} is managed with SNMP {v}, which sends its community string (a password) readable by anyone on the network and cannot encrypt.",
                            site.name(About::Responder)
                        ),
                        "Turn SNMP off if nothing uses it, or switch to SNMPv3 with authentication and privacy (authPriv).",
                        || json!({"snmp_version": v}),
                        out,
                    );
                }
                AppEvent::Tls(h) => self.on_tls(site, h, out),
                AppEvent::Software {
                    about,
                    product,
                    version,
                    raw,
                } => self.on_software(site, *about, product, version.as_deref(), raw, out),
                // The SSDP `SERVER` header names the UPnP stack (libupnp,
                // MiniUPnPd), and SSDP is where CVE-2012-5958 is exploited.
                AppEvent::Hint(h) if h.kind == ward_proto::HintKind::SsdpServer => {
                    self.on_software(site, h.about, "", None, &h.value, out)
                }
                // Only a remote client's request to a local server can show
                // an exposed admin page (`on_http_ok`): other flows keep no URI.
                AppEvent::HttpRequest(r)
                    if remote_to_local(site.flow, site.devices)
                        && (self.uris.len() < MAX_URI_FLOWS
                            || self.uris.contains_key(&site.flow.id)) =>
                {
                    let q = self.uris.entry(site.flow.id).or_default();
                    if q.len() < MAX_URIS_PER_FLOW {
                        q.push_back(r.uri.clone());
                    }
                }
                AppEvent::HttpResponse { status } if !self.uris.is_empty() => {
                    let uri = self.uris.get_mut(&site.flow.id).and_then(|q| q.pop_front());
                    if let (200, Some(uri)) = (*status, uri) {
                        self.on_http_ok(site, &uri, out);
                    }
                }
                _ => {}
            }
        }
    }

    fn on_credential(&mut self, site: &Site<'_>, c: &Credential, out: &mut Vec<Event>) {
        let proto = c.protocol;
        if c.method == "anonymous" {
            if c.outcome == LoginOutcome::Success
                && self.first_time(
                    FindingKind::RiskyService,
                    site,
                    About::Responder,
                    &["ftp-anonymous"],
                )
            {
                let f = finding(
                    site,
                    FindingKind::RiskyService,
                    "ftp",
                    3,
                    format!(
                        "{} lets anyone log in to its FTP server without a password (anonymous FTP).",
                        site.name(About::Responder)
                    ),
                    "Turn anonymous FTP off unless you mean to publish those files to everyone on the network.",
                    json!({"service": "ftp-anonymous", "username": c.username}),
                );
                Self::emit(site, f, out);
            }
            return;
        }
        if proto == "vnc" {
            // The password never crosses the wire, but the DES challenge
            // can be brute-forced offline and the session is unencrypted.
            self.insecure(
                site,
                "vnc",
                || format!(
                    "{} offers VNC remote desktop whose password check (DES challenge, 8 characters at most) can be cracked from a recording and whose screen contents travel unencrypted.",
                    site.name(About::Responder)
                ),
                "Reach VNC only through a VPN or an SSH tunnel, or use a remote-desktop product with TLS.",
                || json!({"method": c.method, "outcome": c.outcome.as_str()}),
                out,
            );
            return;
        }
        let Some(secret) = &c.secret else {
            return; // Digest, SNMPv3 USM: nothing readable crossed the wire.
        };

        self.cleartext(site, c, secret.expose());
        self.insecure(
            site,
            proto,
            || format!(
                "{} accepts {} logins without encryption, so anyone on the network can read the password.",
                site.name(About::Responder),
                proto_name(proto)
            ),
            insecure_remedy(proto),
            || json!({"method": c.method}),
            out,
        );

        if c.outcome == LoginOutcome::Failure {
            return;
        }
        let user = c.username.as_deref();
        let verdict = classify(proto, user, secret.expose());
        let who = user.unwrap_or("");
        if let Some(source) = verdict.default_source {
            if self.first_time(
                FindingKind::DefaultCredentials,
                site,
                About::Responder,
                &[proto, "/", who],
            ) {
                let mut f = finding(
                    site,
                    FindingKind::DefaultCredentials,
                    proto,
                    1,
                    format!(
                        "{} uses a factory-default {} password{} that {}.",
                        site.name(About::Responder),
                        proto_name(proto),
                        user.map(|u| format!(" for user \"{u}\""))
                            .unwrap_or_default(),
                        if source == "mirai" {
                            "the Mirai botnet tries first"
                        } else {
                            "is published in vendor manuals and tried by attackers"
                        }
                    ),
                    &default_remedy(&site.name(About::Responder), proto),
                    json!({"list": source, "method": c.method}),
                );
                set_login(&mut f, c, secret.expose(), site.reveal);
                Self::emit(site, f, out);
            }
        } else if let Some(reason) = verdict.weak_reason {
            if self.first_time(
                FindingKind::WeakCredentials,
                site,
                About::Responder,
                &[proto, "/", who],
            ) {
                let mut f = finding(
                    site,
                    FindingKind::WeakCredentials,
                    proto,
                    2,
                    format!(
                        "{} has a {} login with a weak password ({}), easy to guess.",
                        site.name(About::Responder),
                        proto_name(proto),
                        reason.replace('-', " ")
                    ),
                    "Set a long, unique password (a passphrase of four or more random words).",
                    json!({"reason": reason, "method": c.method}),
                );
                set_login(&mut f, c, secret.expose(), site.reveal);
                Self::emit(site, f, out);
            }
        }
    }

    fn cleartext(&mut self, site: &Site<'_>, c: &Credential, secret: &str) {
        let proto = c.protocol;
        let key = &mut self.pending_key;
        key.clear();
        site.write_who(About::Responder, key);
        key.push('\0');
        key.push_str(proto);
        if let Some(p) = self.pending.get_mut(key.as_str()) {
            p.logins += 1;
            p.last = site.ts;
            // Packet time can step back: keep the bound below this entry.
            let due = p
                .last
                .plus_secs(self.cfg.cleartext_window_secs)
                .min(p.first.plus_secs(self.cfg.cleartext_max_delay_secs));
            self.pending_due = self.pending_due.min(due);
            if let Some(u) = &c.username {
                if p.usernames.len() < MAX_USERNAMES_LISTED && !p.usernames.contains(u) {
                    p.usernames.push(u.clone());
                }
            }
            if !p.methods.contains(&c.method) {
                p.methods.push(c.method);
            }
            p.outcomes[outcome_slot(c.outcome)] += 1;
            return;
        }
        let kind = FindingKind::CleartextCredentials;
        if self.was_reported(kind, site, About::Responder, &[proto]) {
            self.logins_after_report += 1;
            return;
        }
        if !self.first_time(kind, site, About::Responder, &[proto]) {
            return;
        }
        let mut outcomes = [0; 3];
        outcomes[outcome_slot(c.outcome)] = 1;
        let pending = Pending {
            first: site.ts,
            last: site.ts,
            logins: 1,
            usernames: c.username.iter().cloned().collect(),
            outcomes,
            methods: vec![c.method],
            protocol: proto,
            name: site.name(About::Responder),
            device: site.label(About::Responder),
            first_has_username: c.username.is_some(),
            first_outcome: c.outcome,
            secret: site.reveal.then(|| secret.to_string()),
            redacted: !site.reveal,
            endpoints: site.endpoints(),
        };
        self.pending_due = self.pending_due.min(self.due_at(&pending));
        self.pending.insert(self.pending_key.clone(), pending);
    }

    /// When a pending cleartext finding is due: its logins paused for the
    /// window, or the longest delay passed since the first.
    fn due_at(&self, p: &Pending) -> Timestamp {
        p.last
            .plus_secs(self.cfg.cleartext_window_secs)
            .min(p.first.plus_secs(self.cfg.cleartext_max_delay_secs))
    }

    /// Write the cleartext findings whose window closed (all with `now` =
    /// None), in key order, straight out of the map: no list of due keys
    /// is built and nothing is copied.
    fn flush_pending(&mut self, now: Option<Timestamp>, out: &mut Vec<Event>) {
        let window = self.cfg.cleartext_window_secs;
        let max_delay = self.cfg.cleartext_max_delay_secs;
        let due = |p: &Pending| {
            now.is_none_or(|n| p.last.plus_secs(window) <= n || p.first.plus_secs(max_delay) <= n)
        };
        match now {
            None => {
                while let Some((_, mut p)) = self.pending.pop_first() {
                    out.push(p.take_event());
                }
                self.pending_due = Timestamp(i64::MAX);
            }
            // Most seconds nothing is due: no entry is before the bound.
            Some(n) if n < self.pending_due => {}
            Some(_) => {
                // Due times only ever move later, so the bound may be
                // stale: the scan finds the true one.
                let mut next = Timestamp(i64::MAX);
                self.pending.retain(|_, p| {
                    if due(p) {
                        out.push(p.take_event());
                        false
                    } else {
                        next = next.min(p.last.plus_secs(window).min(p.first.plus_secs(max_delay)));
                        true
                    }
                });
                self.pending_due = next;
            }
        }
    }

    /// `summary` and `evidence` are made only if the finding is written.
    fn insecure(
        &mut self,
        site: &Site<'_>,
        proto: &str,
        summary: impl FnOnce() -> String,
        remedy: &str,
        evidence: impl FnOnce() -> Value,
        out: &mut Vec<Event>,
    ) {
        if !self.first_time(
            FindingKind::InsecureProtocol,
            site,
            About::Responder,
            &[proto],
        ) {
            return;
        }
        let f = finding(
            site,
            FindingKind::InsecureProtocol,
            proto,
            3,
            summary(),
            remedy,
            evidence(),
        );
        Self::emit(site, f, out);
    }

    /// `summary` and `evidence` are made only if the finding is written.
    fn risky(
        &mut self,
        site: &Site<'_>,
        (service, proto, severity): (&str, &str, u8),
        summary: impl FnOnce() -> String,
        remedy: &str,
        evidence: impl FnOnce() -> Value,
        out: &mut Vec<Event>,
    ) {
        if !self.first_time(
            FindingKind::RiskyService,
            site,
            About::Responder,
            &[service],
        ) {
            return;
        }
        let mut evidence = evidence();
        if let Value::Object(m) = &mut evidence {
            m.insert("service".into(), json!(service));
        }
        let f = finding(
            site,
            FindingKind::RiskyService,
            proto,
            severity,
            summary(),
            remedy,
            evidence,
        );
        Self::emit(site, f, out);
    }

    fn on_noauth(&mut self, site: &Site<'_>, protocol: &str, out: &mut Vec<Event>) {
        // Named only for a finding: most events repeat one already written.
        let name = || site.name(About::Responder);
        match protocol {
            "mqtt" => self.risky(
 site,
 ("mqtt-open", "mqtt", 2),
                || format!("{} runs an MQTT broker that accepts anyone without a password: any device on the network can read and send its smart-home messages.", name()),
                "Require a username and password on the broker (mosquitto: allow_anonymous false and a password_file), and use TLS on port 8883.",
                || json!({}),
                out,
            ),
            "vnc" => self.risky(
 site,
 ("vnc-noauth", "vnc", 1),
                || format!("{} shares its screen over VNC without any password: anyone on the network can watch and control it.", name()),
                "Set a VNC password now, and reach VNC only through a VPN or SSH tunnel.",
                || json!({}),
                out,
            ),
            "telnet" => self.risky(
 site,
 ("telnet-noauth", "telnet", 1),
                || format!("{} gives a Telnet shell without asking for any password: anyone on the network can take control of it.", name()),
                "Turn Telnet off on this device (check its settings or update its firmware); if it cannot be turned off, isolate the device on its own network.",
                || json!({}),
                out,
            ),
            "rtsp" => self.insecure(
                site,
                "rtsp",
                || format!("{} streams video over RTSP without asking for a password: anyone on the network can watch the camera.", name()),
                "Turn on RTSP authentication in the camera's settings (and change its password), or turn RTSP off if you only use the app.",
                || json!({"auth": "none"}),
                out,
            ),
            _ => {}
        }
    }

    fn on_tls(&mut self, site: &Site<'_>, h: &TlsHello, out: &mut Vec<Event>) {
        // A weak choice by a remote (cloud) server is reported on the LAN
        // client whose connection it weakens: that is the device the user
        // owns, and the cloud server is not in the inventory.
        let remote_server = !h.client
            && site
                .flow
                .dst_ip
                .is_some_and(|ip| !site.devices.is_local(ip))
            && site.flow.src_ip.is_some_and(|ip| site.devices.is_local(ip));
        let about = if h.client || remote_server {
            About::Initiator
        } else {
            About::Responder
        };
        // Written only into a finding: most hellos give none.
        let server = || {
            site.flow
                .dst_ip
                .map(|ip| ip.to_string())
                .unwrap_or_default()
        };
        let mut reasons: Vec<(String, String)> = Vec::new();
        let v = h.max_version;
        if v != 0 && v < 0x0303 {
            let name = tls::version_name(v);
            if h.client {
                reasons.push((format!("max-{name}"), format!("offers at most {name}")));
            } else if remote_server {
                // Nothing to add when the client itself offered no more.
                if self.was_reported(
                    FindingKind::WeakTls,
                    site,
                    About::Initiator,
                    &["max-", name],
                ) {
                    return;
                }
                reasons.push((
                    format!("server-chose-{name}"),
                    format!(
                        "talks to the server {} with {name} (the server's choice)",
                        server()
                    ),
                ));
            } else {
                reasons.push((format!("chose-{name}"), format!("agreed to {name}")));
            }
        }
        if h.client {
            if !h.ciphers.is_empty() && h.ciphers.iter().all(|c| tls::weak_suite(*c).is_some()) {
                reasons.push((
                    "only-weak-suites".into(),
                    "offers only weak cipher suites".into(),
                ));
            }
        } else if let Some(w) = h.ciphers.first().and_then(|c| tls::weak_suite(*c)) {
            if remote_server {
                reasons.push((
                    format!("server-chose-{w}"),
                    format!(
                        "talks to the server {} with a {w} cipher suite (the server's choice)",
                        server()
                    ),
                ));
            } else {
                reasons.push((format!("chose-{w}"), format!("chose a {w} cipher suite")));
            }
        }
        for (reason, text) in reasons {
            if !self.first_time(FindingKind::WeakTls, site, about, &[&reason]) {
                continue;
            }
            let mut f = finding(
                site,
                FindingKind::WeakTls,
                "tls",
                3,
                format!(
                    "{} {}: encryption that attackers can break or downgrade.",
                    site.name(about),
                    text
                ),
                "Update the device's firmware (old TLS usually means old software); if none is available, keep the device off untrusted networks.",
                json!({
                    "reason": reason,
                    "side": if h.client { "client" } else { "server" },
                    "server": server(),
                    "version": format!("0x{:04x}", h.max_version),
                    "sni": h.sni,
                }),
            );
            f.device = site.label(about);
            Self::emit(site, f, out);
        }
    }

    fn on_software(
        &mut self,
        site: &Site<'_>,
        about: About,
        product: &str,
        version: Option<&str>,
        raw: &str,
        out: &mut Vec<Event>,
    ) {
        let Some(vulnerable::BannerMatch { entry, version }) =
            self.check_banner(product, version, raw)
        else {
            return;
        };
        if !self.first_time(
            FindingKind::VulnerableSoftware,
            site,
            about,
            &[&entry.product, "/", &version],
        ) {
            return;
        }
        let mut f = finding(
            site,
            FindingKind::VulnerableSoftware,
            site.flow
                .app_proto
                .map(AppProto::as_str)
                .unwrap_or("unknown"),
            entry.severity,
            format!(
                "{} runs {} {}, {}",
                site.name(about),
                entry.product,
                version,
                entry.summary
            ),
            &entry.advice,
            json!({
                "product": entry.product,
                "version": version,
                "banner": raw,
                "cve": entry.cve,
                "reference": entry.source,
                "affected": entry.affected(),
            }),
        );
        f.device = site.label(about);
        Self::emit(site, f, out);
    }

    /// [`vulnerable::check`], remembered per distinct banner: the same
    /// `Server:` header or greeting arrives on every connection.
    fn check_banner(
        &mut self,
        product: &str,
        version: Option<&str>,
        raw: &str,
    ) -> Option<vulnerable::BannerMatch> {
        if product.len() + version.map_or(0, str::len) + raw.len() > MAX_CACHED_BANNER {
            return vulnerable::check(product, version, raw);
        }
        banner_key(&mut self.key, product, version, raw);
        if let Some(verdict) = self.banners.get(self.key.as_slice()) {
            return verdict.clone();
        }
        let verdict = vulnerable::check(product, version, raw);
        if self.banners.len() >= MAX_BANNER_VERDICTS {
            self.banners.clear();
        }
        self.banners
            .insert(self.key.as_slice().into(), verdict.clone());
        verdict
    }

    fn on_http_ok(&mut self, site: &Site<'_>, uri: &str, out: &mut Vec<Event>) {
        let (Some(client), Some(server)) = (site.flow.src_ip, site.flow.dst_ip) else {
            return;
        };
        let local = |ip| site.devices.is_local(ip);
        if local(client) || !local(server) || !is_admin_path(uri) {
            return;
        }
        let name = || site.name(About::Responder);
        self.risky(
 site,
 ("admin-page-exposed", "http", 2),
            || format!("{} served its administration page to {client}, an address outside your network: its settings are reachable from the internet.", name()),
            "Turn off remote administration (often called \"remote management\" or \"WAN access\") on the device and the router's port forwarding to it.",
            || json!({"uri": truncate(uri, 256), "remote_client": client.to_string()}),
            out,
        );
    }

    fn on_ended_flow(&mut self, site: &Site<'_>, out: &mut Vec<Event>) {
        let flow = site.flow;
        // Named only for a finding: most flows end without one.
        let name = || site.name(About::Responder);
        match flow.proto {
            6 if flow.tcp_flags[1] & 0x12 == 0x12 => {
                let telnet =
                    matches!(flow.dst_port, 23 | 2323) || flow.app_proto == Some(AppProto::Telnet);
                if telnet {
                    self.risky(
 site,
 ("telnet", "telnet", 2),
                        || format!("{} has Telnet open (port {}), the service Mirai-style botnets break into first.", name(), flow.dst_port),
                        "Turn Telnet off on this device; if its settings cannot, update the firmware or keep the device on an isolated network.",
                        || json!({"port": flow.dst_port}),
                        out,
                    );
                } else if flow.dst_port == 5555 {
                    self.risky(
 site,
 ("adb", "adb", 1),
                        || format!("{} answers on port 5555, Android Debug Bridge: anyone who can reach it can install software and take over the device.", name()),
                        "Turn off \"ADB over network\" / developer options on the device (a TV box or phone), or update its firmware.",
                        || json!({"port": 5555}),
                        out,
                    );
                }
            }
            17 if flow.dst_port == 1900 && flow.pkts[1] > 0 => {
                let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
                    return;
                };
                if !site.devices.is_local(client)
                    && site.devices.is_local(server)
                    && !client.is_multicast()
                {
                    self.risky(
 site,
 ("upnp-wan", "ssdp", 2),
                        || format!("{} answers UPnP discovery (SSDP) from {client}, an address outside your network: it can be abused for DDoS reflection and exposes device details.", name()),
                        "Turn UPnP off on the router's internet side (and on the device if it is the router); make sure no port forwarding sends UDP 1900 to it.",
                        || json!({"remote_client": client.to_string(), "port": 1900}),
                        out,
                    );
                }
            }
            _ => {}
        }
    }
}

impl Detector for HygieneDetector {
    fn name(&self) -> &'static str {
        "hygiene"
    }

    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Event>) {
        if ctx.app.is_empty() {
            return;
        }
        let Some(flow) = ctx.flow else {
            return;
        };
        let site = Site {
            ts: ctx.pkt.ts,
            flow,
            client_dev: ctx.device_about(About::Initiator),
            server_dev: ctx.device_about(About::Responder),
            devices: ctx.devices,
            reveal: ctx.reveal_secrets,
        };
        self.handle(&site, ctx.app, out);
    }

    fn on_flow_end(&mut self, ctx: &FlowEndContext<'_>, out: &mut Vec<Event>) {
        let site = Site {
            ts: ctx.flow.last,
            flow: ctx.flow,
            client_dev: ctx.client_device,
            server_dev: ctx.server_device,
            devices: ctx.devices,
            reveal: ctx.reveal_secrets,
        };
        self.handle(&site, ctx.app, out);
        self.on_ended_flow(&site, out);
        if !self.uris.is_empty() {
            self.uris.remove(&ctx.flow.id);
        }
    }

    fn on_tick(&mut self, now: Timestamp, _devices: &DeviceTable, out: &mut Vec<Event>) {
        if !self.pending.is_empty() {
            self.flush_pending(Some(now), out);
        }
    }

    fn finish(&mut self, _now: Timestamp, _devices: &DeviceTable, out: &mut Vec<Event>) {
        self.flush_pending(None, out);
    }

    /// At most [`FINISH_PART`] pending findings per call, in key order,
    /// each taken out of the map as it is written: what is left of the
    /// report at the end of input is never copied or held twice.
    fn finish_part(
        &mut self,
        _now: Timestamp,
        _devices: &DeviceTable,
        out: &mut Vec<Event>,
    ) -> bool {
        for _ in 0..FINISH_PART {
            let Some((_, mut p)) = self.pending.pop_first() else {
                break;
            };
            out.push(p.take_event());
        }
        !self.pending.is_empty()
    }
}

/// A flow from a remote client to a local server.
fn remote_to_local(flow: &Flow, devices: &DeviceTable) -> bool {
    matches!((flow.src_ip, flow.dst_ip), (Some(c), Some(s)) if !devices.is_local(c) && devices.is_local(s))
}

/// The banner cache's key: product and version length-prefixed (so no
/// two inputs write the same bytes), then the banner.
fn banner_key(buf: &mut Vec<u8>, product: &str, version: Option<&str>, raw: &str) {
    buf.clear();
    buf.extend_from_slice(&(product.len() as u64).to_le_bytes());
    buf.extend_from_slice(product.as_bytes());
    match version {
        Some(v) => {
            buf.push(b'v');
            buf.extend_from_slice(&(v.len() as u64).to_le_bytes());
            buf.extend_from_slice(v.as_bytes());
        }
        None => buf.push(b'-'),
    }
    buf.extend_from_slice(raw.as_bytes());
}

fn finding(
    site: &Site<'_>,
    kind: FindingKind,
    proto: &str,
    severity: u8,
    summary: String,
    remedy: &str,
    evidence: Value,
) -> Finding {
    let evidence = match evidence {
        Value::Object(m) => m
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect::<BTreeMap<String, Value>>(),
        _ => BTreeMap::new(),
    };
    Finding {
        kind,
        protocol: proto.to_string(),
        severity,
        summary,
        username: None,
        secret: None,
        secret_redacted: false,
        outcome: None,
        device: site.label(About::Responder),
        evidence,
        remedy: Some(remedy.to_string()),
    }
}

fn set_login(f: &mut Finding, c: &Credential, secret: &str, reveal: bool) {
    f.username = c.username.clone();
    f.outcome = Some(c.outcome.as_str().to_string());
    if reveal {
        f.secret = Some(secret.to_string());
    } else {
        f.secret_redacted = true;
    }
}

/// What to do about a factory-default login: change it; for services a
/// device rarely needs (Telnet, FTP …), better turn them off.
pub fn default_remedy(device: &str, proto: &str) -> String {
    let change = format!(
        "Change the password of {device}'s {} login to a long, unique one",
        proto_name(proto)
    );
    match proto {
        "http" | "rtsp" | "snmp" | "vnc" => format!("{change} (in its settings page or app)."),
        "ssh" => format!("{change}, or better, allow SSH logins with keys only (or turn SSH off if nothing needs it)."),
        _ => format!("{change}, or better, turn {} off.", proto_name(proto)),
    }
}

/// The protocol as a person calls it.
pub fn proto_name(p: &str) -> &str {
    match p {
        "telnet" => "Telnet",
        "ssh" => "SSH",
        "ftp" => "FTP",
        "http" => "web (HTTP)",
        "mqtt" => "MQTT",
        "snmp" => "SNMP",
        "pop3" => "POP3 mail",
        "imap" => "IMAP mail",
        "smtp" => "SMTP mail",
        "rtsp" => "RTSP video",
        "vnc" => "VNC",
        other => other,
    }
}

fn insecure_remedy(p: &str) -> &'static str {
    match p {
        "telnet" => "Turn Telnet off and use SSH (or the vendor app) instead; change the password, since it has been exposed.",
        "ftp" => "Use SFTP or FTPS instead of FTP, and change the password, since it has been exposed.",
        "http" => "Use the device's HTTPS page (or turn on HTTPS), and change the password, since it has been exposed.",
        "mqtt" => "Turn on TLS on the MQTT broker (port 8883) and change the password, since it has been exposed.",
        "pop3" | "imap" | "smtp" => "Turn on TLS (STARTTLS or the secure port) in the mail client, and change the password, since it has been exposed.",
        "snmp" => "Switch to SNMPv3 with authPriv, or turn SNMP off; change the community string.",
        "rtsp" => "Use RTSP over TLS or the vendor app, and change the camera password, since it has been exposed.",
        _ => "Use the encrypted version of this protocol and change the password, since it has been exposed.",
    }
}

/// Request paths that are a device's administration interface.
pub fn is_admin_path(uri: &str) -> bool {
    let path = uri
        .split(['?', '#'])
        .next()
        .unwrap_or(uri)
        .to_ascii_lowercase();
    const MARKERS: [&str; 12] = [
        "/admin",
        "/cgi-bin/",
        "login.htm",
        "login.asp",
        "login.cgi",
        "login.php",
        "/goform/",
        "/setup.cgi",
        "/webadmin",
        "/manager/html",
        "/userrpm/",
        "/management",
    ];
    MARKERS.iter().any(|m| path.contains(m))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_paths() {
        assert!(is_admin_path("/cgi-bin/luci"));
        assert!(is_admin_path("/Login.htm?x=1"));
        assert!(is_admin_path("/admin/"));
        assert!(!is_admin_path("/index.html"));
        assert!(!is_admin_path("/static/app.js?admin=1"));
    }

    /// The de-duplication key's `who` bytes tell two sides apart exactly
    /// when the text `who` (the form findings name them by) does:
    /// addresses of both families (an IPv4-mapped IPv6 address is not its
    /// IPv4 address), a MAC-keyed device without an address, and nobody.
    #[test]
    fn who_bytes_are_equal_exactly_when_who_text_is() {
        use ward_core::devices::DeviceConfig;
        let mut devices = DeviceTable::new(DeviceConfig::default(), 1);
        let frame = |mac: [u8; 6]| {
            let mut out = Vec::new();
            etherparse::PacketBuilder::ethernet2(mac, [0xff; 6])
                .ipv4([0, 0, 0, 0], [255, 255, 255, 255], 64)
                .udp(68, 67)
                .write(&mut out, b"x")
                .unwrap();
            out
        };
        let mut ids = Vec::new();
        for mac in [[0x00, 0x1a, 0x11, 0, 0, 1], [0x00, 0x1a, 0x11, 0, 0, 2]] {
            let f = frame(mac);
            let pkt = ward_core::decode(Timestamp::from_secs(1), 1, &f, f.len() as u32);
            ids.push(devices.observe(&pkt).0.expect("a device"));
        }
        let ips: Vec<Option<IpAddr>> = vec![
            Some("192.168.1.9".parse().unwrap()),
            Some("192.168.1.10".parse().unwrap()),
            Some("::ffff:192.168.1.9".parse().unwrap()),
            Some("fe80::1".parse().unwrap()),
            Some("fe80::1:0".parse().unwrap()),
            None,
        ];
        let mut flows = Vec::new();
        for ip in &ips {
            let mut f = Flow::default();
            f.dst_ip = *ip;
            flows.push(f);
        }
        let mut sides = Vec::new();
        for flow in &flows {
            for dev in [None, Some(ids[0]), Some(ids[1])] {
                sides.push(Site {
                    ts: Timestamp::from_secs(1),
                    flow,
                    client_dev: None,
                    server_dev: dev,
                    devices: &devices,
                    reveal: false,
                });
            }
        }
        let who = |s: &Site<'_>| {
            let (mut text, mut bytes) = (String::new(), Vec::new());
            s.write_who(About::Responder, &mut text);
            s.write_who_bytes(About::Responder, &mut bytes);
            (text, bytes)
        };
        let mut distinct = std::collections::BTreeSet::new();
        for a in &sides {
            for b in &sides {
                let ((ta, ba), (tb, bb)) = (who(a), who(b));
                assert_eq!(ta == tb, ba == bb, "{ta} / {tb}");
                distinct.insert(ta);
            }
        }
        // Five addresses, two MACs and `unknown`.
        assert_eq!(distinct.len(), 8, "{distinct:?}");
    }
}
