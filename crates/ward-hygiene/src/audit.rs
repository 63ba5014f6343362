//! The active, opt-in audit behind `ward audit`: connect to explicitly
//! named hosts, grab banners, and try the bundled default credentials.
//!
//! This is the only module of ward that sends traffic of its own, so it is
//! deliberately narrow and bounded:
//! - **targets are explicit** ([`parse_targets`]): addresses and CIDRs;
//!   a CIDR larger than /22 (IPv4) or /118 (IPv6) is refused unless
//!   `allow_large`, and never more than [`MAX_TARGETS`] hosts; addresses
//!   outside local scope (private, link-local, CGNAT, ULA, loopback) are
//!   refused unless `allow_public`;
//! - **rate and concurrency are capped**: every connection attempt takes a
//!   slot from one global pacer ([`AuditConfig::rate_per_sec`]), and at most
//!   [`AuditConfig::concurrency`] worker threads run;
//! - **time is bounded**: a connect timeout, a read/write timeout on every
//!   socket operation, a per-host budget after which the host's remaining
//!   ports are skipped, and a `stop` flag (Ctrl-C) checked between steps;
//! - **credential tries are capped** per service
//!   ([`AuditConfig::max_pairs`]), one pair per connection (as Mirai does,
//!   and so a lock-out counter sees the fewest failures).
//!
//! What is checked, by port: FTP (banner, `USER`/`PASS`), SSH (banner, then
//! password logins through [`crate::ssh`], the host key fingerprint kept as
//! evidence), Telnet (prompt-driven login, options refused), HTTP (status,
//! `Server`, `<title>`, UPnP `/description.xml` and `/rootDesc.xml`, Basic
//! auth), DNS (the CHAOS `version.bind` answer, on TCP 53), RTSP
//! (`OPTIONS`, `DESCRIBE`, Basic auth), MQTT (`CONNECT` without
//! and with credentials), and plain reachability of ADB (5555), TR-069
//! (7547) and Huawei's UPnP port 37215. TLS ports are reported open only.
//!
//! Results are [`ward_core::Finding`]s in the same event contract as the
//! passive detector, plus one [`ServiceReport`] per open port.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};
use ward_core::devices::is_local_scope;
use ward_core::{Event, Finding, FindingKind, Timestamp};

use crate::{default_credentials, ssh, vulnerable};

/// Never more hosts than this in one audit, whatever the flags.
pub const MAX_TARGETS: usize = 65_536;
/// Bytes read from one service reply at most.
const MAX_READ: usize = 16 * 1024;

/// The IoT ports scanned by default.
pub const DEFAULT_PORTS: &[u16] = &[
    21, 22, 23, 53, 80, 81, 443, 554, 1883, 2323, 5555, 7547, 8000, 8080, 8081, 8443, 8554, 37215,
];

/// Audit settings.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    pub ports: Vec<u16>,
    /// Connection attempts per second, over all workers.
    pub rate_per_sec: u32,
    /// Worker threads.
    pub concurrency: usize,
    pub connect_timeout: Duration,
    /// Timeout of each read and write.
    pub io_timeout: Duration,
    /// Time budget per host; its ports not yet started are skipped after it.
    pub host_timeout: Duration,
    /// Credential pairs tried per service at most.
    pub max_pairs: usize,
    /// Extra (username, password) pairs, tried before the bundled list.
    pub extra_credentials: Vec<(String, String)>,
    /// Try credentials at all (off: banners only).
    pub try_credentials: bool,
    /// Write the password of a default login that worked into the finding
    /// (`--reveal-secrets`); off, it is redacted (`secret_redacted: true`).
    pub reveal_secrets: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            ports: DEFAULT_PORTS.to_vec(),
            rate_per_sec: 50,
            concurrency: 16,
            connect_timeout: Duration::from_millis(1500),
            io_timeout: Duration::from_secs(3),
            host_timeout: Duration::from_secs(120),
            max_pairs: 20,
            extra_credentials: Vec::new(),
            try_credentials: true,
            reveal_secrets: false,
        }
    }
}

/// Why targets were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuditError {
    #[error("`{0}` is not an address or CIDR")]
    BadTarget(String),
    #[error(
        "{0} is a public address: auditing it may be illegal; pass --allow-public if it is yours"
    )]
    Public(IpAddr),
    #[error("{0} has {1} addresses: larger than /22 (IPv4) or /118 (IPv6); pass --allow-large")]
    TooLarge(String, u128),
    #[error("more than {MAX_TARGETS} hosts in total")]
    TooMany,
    #[error("no targets")]
    Empty,
    #[error("credentials file line {0}: expected `username:password`")]
    BadCredentialLine(usize),
}

/// Expand targets (`192.168.1.10`, `192.168.1.0/24`, `fd00::5`) into hosts.
pub fn parse_targets(
    specs: &[String],
    allow_public: bool,
    allow_large: bool,
) -> Result<Vec<IpAddr>, AuditError> {
    let mut out: Vec<IpAddr> = Vec::new();
    for spec in specs {
        let spec = spec.trim();
        let (addr, prefix) = match spec.split_once('/') {
            Some((a, p)) => (
                a,
                Some(
                    p.parse::<u8>()
                        .map_err(|_| AuditError::BadTarget(spec.into()))?,
                ),
            ),
            None => (spec, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| AuditError::BadTarget(spec.into()))?;
        let bits: u8 = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return Err(AuditError::BadTarget(spec.into()));
        }
        let size: u128 = 1u128
            .checked_shl(u32::from(bits - prefix))
            .unwrap_or(u128::MAX);
        // /22 for IPv4 and /118 for IPv6: 1024 addresses either way.
        let limit: u128 = 1 << 10;
        if size > limit && !allow_large {
            return Err(AuditError::TooLarge(spec.into(), size));
        }
        if size + out.len() as u128 > MAX_TARGETS as u128 {
            return Err(AuditError::TooMany);
        }
        match ip {
            IpAddr::V4(v4) => {
                let base =
                    u32::from(v4) & (u32::MAX.checked_shl(u32::from(32 - prefix)).unwrap_or(0));
                for i in 0..size as u32 {
                    let a = Ipv4Addr::from(base.wrapping_add(i));
                    // Skip network and broadcast addresses of real subnets.
                    if prefix <= 30 && (i == 0 || i == size as u32 - 1) {
                        continue;
                    }
                    out.push(IpAddr::V4(a));
                }
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(u32::from(128 - prefix)).unwrap_or(0);
                let base = u128::from(v6) & mask;
                for i in 0..size {
                    out.push(IpAddr::V6(Ipv6Addr::from(base.wrapping_add(i))));
                }
            }
        }
    }
    if out.is_empty() {
        return Err(AuditError::Empty);
    }
    if !allow_public {
        if let Some(p) = out
            .iter()
            .find(|ip| !(is_local_scope(**ip) || ip.is_loopback()))
        {
            return Err(AuditError::Public(*p));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Parse a credentials file: `username:password` per line (`#` comments;
/// an empty username or password is allowed: `:1234`, `admin:`).
pub fn parse_credentials(text: &str) -> Result<Vec<(String, String)>, AuditError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let l = l.trim_end_matches('\r');
            l.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .ok_or(AuditError::BadCredentialLine(i + 1))
        })
        .collect()
}

/// One open port and what it said.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServiceReport {
    pub ip: IpAddr,
    pub port: u16,
    /// `telnet`, `ssh`, `ftp`, `http`, `rtsp`, `mqtt`, `adb`, `tr-069`, `tls`, `tcp`.
    pub service: String,
    /// Banner, `Server` header, title … (printable, cut).
    pub banner: String,
    /// `found`, `none-worked`, `not-checked`, `no-auth`, `keys-only` (SSH
    /// offering no password method), `n/a`.
    pub credentials: String,
    /// Credential pairs tried.
    pub tried: usize,
}

/// Everything an audit found.
#[derive(Debug, Default)]
pub struct AuditOutcome {
    pub services: Vec<ServiceReport>,
    pub findings: Vec<Event>,
    /// Hosts whose time budget ran out before all ports were tried.
    pub hosts_timed_out: Vec<IpAddr>,
    pub connections: u64,
    pub interrupted: bool,
}

/// Spaces connection attempts `1/rate` seconds apart over all threads.
struct Pacer {
    next: Mutex<Instant>,
    gap: Duration,
}

impl Pacer {
    fn new(rate: u32) -> Self {
        Pacer {
            next: Mutex::new(Instant::now()),
            gap: Duration::from_secs_f64(1.0 / f64::from(rate.max(1))),
        }
    }

    fn wait(&self, stop: &AtomicBool) -> bool {
        let slot = {
            let mut n = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = (*n).max(now);
            *n = slot + self.gap;
            slot
        };
        while Instant::now() < slot {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep((slot - Instant::now()).min(Duration::from_millis(50)));
        }
        !stop.load(Ordering::Relaxed)
    }
}

struct Shared {
    cfg: AuditConfig,
    pairs: Vec<(String, String)>,
    pacer: Pacer,
    stop: Arc<AtomicBool>,
    jobs: Mutex<VecDeque<(IpAddr, u16)>>,
    host_start: Mutex<HashMap<IpAddr, Instant>>,
    out: Mutex<AuditOutcome>,
}

/// Audit `targets`. Blocks until done or `stop` is set.
pub fn run(targets: &[IpAddr], cfg: AuditConfig, stop: Arc<AtomicBool>) -> AuditOutcome {
    let mut pairs: Vec<(String, String)> = cfg.extra_credentials.clone();
    for d in default_credentials() {
        let p = (d.username.to_string(), d.password.to_string());
        if !pairs.contains(&p) {
            pairs.push(p);
        }
    }
    pairs.truncate(cfg.max_pairs);
    let jobs: VecDeque<(IpAddr, u16)> = targets
        .iter()
        .flat_map(|ip| cfg.ports.iter().map(move |p| (*ip, *p)))
        .collect();
    let workers = cfg.concurrency.clamp(1, 256).min(jobs.len().max(1));
    let shared = Arc::new(Shared {
        pacer: Pacer::new(cfg.rate_per_sec),
        cfg,
        pairs,
        stop,
        jobs: Mutex::new(jobs),
        host_start: Mutex::new(HashMap::new()),
        out: Mutex::new(AuditOutcome::default()),
    });
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let s = Arc::clone(&shared);
            std::thread::spawn(move || worker(&s))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let mut out = std::mem::take(&mut *shared.out.lock().unwrap_or_else(|e| e.into_inner()));
    out.interrupted = shared.stop.load(Ordering::Relaxed);
    out.services.sort_by_key(|a| (a.ip, a.port));
    out.hosts_timed_out.sort();
    out.hosts_timed_out.dedup();
    out.findings.sort_by(|a, b| {
        (a.dest_ip, a.dest_port, a.finding.as_ref().map(|f| f.kind)).cmp(&(
            b.dest_ip,
            b.dest_port,
            b.finding.as_ref().map(|f| f.kind),
        ))
    });
    out
}

fn worker(s: &Shared) {
    loop {
        if s.stop.load(Ordering::Relaxed) {
            return;
        }
        let Some((ip, port)) = s.jobs.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
            return;
        };
        let started = *s
            .host_start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(ip)
            .or_insert_with(Instant::now);
        let deadline = started + s.cfg.host_timeout;
        if Instant::now() >= deadline {
            s.out
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .hosts_timed_out
                .push(ip);
            continue;
        }
        let mut probe = Probe {
            s,
            addr: SocketAddr::new(ip, port),
            deadline,
            connections: 0,
            findings: Vec::new(),
        };
        let report = probe.run();
        let mut out = s.out.lock().unwrap_or_else(|e| e.into_inner());
        out.connections += probe.connections;
        out.findings.append(&mut probe.findings);
        if let Some(r) = report {
            out.services.push(r);
        }
    }
}

/// How one FTP login went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FtpLogin {
    /// `230` right after `USER`: no password asked.
    NoPassword,
    /// `230` after `PASS`.
    LoggedIn,
    Refused,
}

/// Probing one port of one host.
struct Probe<'a> {
    s: &'a Shared,
    addr: SocketAddr,
    deadline: Instant,
    connections: u64,
    findings: Vec<Event>,
}

fn now_ts() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn printable(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(max)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty() && hay.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

impl Probe<'_> {
    fn stopped(&self) -> bool {
        self.s.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    fn connect(&mut self) -> Option<TcpStream> {
        if self.stopped() || !self.s.pacer.wait(&self.s.stop) {
            return None;
        }
        self.connections += 1;
        let st = TcpStream::connect_timeout(&self.addr, self.s.cfg.connect_timeout).ok()?;
        let _ = st.set_read_timeout(Some(self.s.cfg.io_timeout));
        let _ = st.set_write_timeout(Some(self.s.cfg.io_timeout));
        let _ = st.set_nodelay(true);
        Some(st)
    }

    /// Read until one of `needles` appears (ASCII case ignored), the peer
    /// closes, a read times out, or [`MAX_READ`] bytes. Telnet option
    /// requests are refused on the way when `telnet` is set.
    fn read_until(&self, st: &mut TcpStream, needles: &[&str], telnet: bool) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 2048];
        let until = Instant::now() + self.s.cfg.io_timeout;
        while buf.len() < MAX_READ && Instant::now() < until && !self.stopped() {
            let n = match st.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let data = &chunk[..n];
            if telnet {
                let (text, reply) = strip_telnet(data);
                if !reply.is_empty() {
                    let _ = st.write_all(&reply);
                }
                buf.extend_from_slice(&text);
            } else {
                buf.extend_from_slice(data);
            }
            if needles.iter().any(|nd| contains_ci(&buf, nd)) {
                break;
            }
        }
        buf
    }

    fn exchange(&mut self, request: &[u8], needles: &[&str]) -> Option<Vec<u8>> {
        let mut st = self.connect()?;
        st.write_all(request).ok()?;
        Some(self.read_until(&mut st, needles, false))
    }

    fn finding(
        &mut self,
        kind: FindingKind,
        proto: &str,
        severity: u8,
        summary: String,
        remedy: &str,
        evidence: Value,
    ) -> Finding {
        let evidence = match evidence {
            Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect(),
            _ => BTreeMap::new(),
        };
        let _ = kind;
        Finding {
            kind,
            protocol: proto.into(),
            severity,
            summary,
            username: None,
            secret: None,
            secret_redacted: false,
            outcome: None,
            device: Some(self.addr.ip().to_string()),
            evidence,
            remedy: Some(remedy.into()),
        }
    }

    fn push(&mut self, mut f: Finding) {
        f.evidence.insert("source".into(), json!("active-audit"));
        let e = Event::finding(now_ts(), f).with_endpoints(
            None,
            Some((self.addr.ip(), self.addr.port())),
            Some(6),
        );
        self.findings.push(e);
    }

    fn report_default(&mut self, proto: &str, user: &str, pass: &str) {
        self.report_default_with(proto, user, pass, json!({"port": self.addr.port()}));
    }

    /// A `default-credentials` finding; `evidence` must hold `port`.
    fn report_default_with(&mut self, proto: &str, user: &str, pass: &str, evidence: Value) {
        let ip = self.addr.ip();
        let mut f = self.finding(
            FindingKind::DefaultCredentials,
            proto,
            1,
            format!(
                "The device at {ip} accepts a factory-default {} login (user \"{user}\"): anyone on the network — or a botnet — can log in.",
                crate::detector::proto_name(proto)
            ),
            &crate::detector::default_remedy(&format!("the device at {ip}"), proto),
            evidence,
        );
        f.username = Some(user.into());
        f.outcome = Some("success".into());
        if self.s.cfg.reveal_secrets {
            f.secret = Some(pass.into());
        } else {
            f.secret_redacted = true;
        }
        self.push(f);
    }

    /// A `vulnerable-software` finding when the banner (or the product and
    /// version a parser split from it) is in the table.
    fn vulnerable(&mut self, proto: &str, product: &str, version: Option<&str>, banner: &str) {
        let Some(vulnerable::BannerMatch { entry: e, version }) =
            vulnerable::check(product, version, banner)
        else {
            return;
        };
        let f = self.finding(
            FindingKind::VulnerableSoftware,
            proto,
            e.severity,
            format!("The device at {} runs {} {version}, {}", self.addr.ip(), e.product, e.summary),
            &e.advice.clone(),
            json!({"product": e.product, "version": version, "banner": banner, "cve": e.cve, "reference": e.source, "affected": e.affected()}),
        );
        self.push(f);
    }

    fn run(&mut self) -> Option<ServiceReport> {
        // Reachability first: one plain connect.
        let mut st = self.connect()?;
        let port = self.addr.port();
        let mut report = ServiceReport {
            ip: self.addr.ip(),
            port,
            service: "tcp".into(),
            banner: String::new(),
            credentials: "n/a".into(),
            tried: 0,
        };
        match port {
            21 => self.ftp(&mut st, &mut report),
            22 => {
                let b = self.read_until(&mut st, &["\n"], false);
                drop(st);
                self.ssh_service(&mut report, &b);
            }
            23 | 2323 => {
                drop(st);
                self.telnet(&mut report);
            }
            53 => {
                report.service = "dns".into();
                if let Some(v) = self.dns_version(&mut st) {
                    report.banner = v.clone();
                    self.vulnerable("dns", "", None, &v);
                }
            }
            554 | 8554 => {
                drop(st);
                self.rtsp(&mut report);
            }
            1883 => {
                drop(st);
                self.mqtt(&mut report);
            }
            443 | 8443 => report.service = "tls".into(),
            5555 => {
                report.service = "adb".into();
                let ip = self.addr.ip();
                let f = self.finding(FindingKind::RiskyService, "adb", 1,
                    format!("The device at {ip} accepts connections on port 5555, Android Debug Bridge: anyone who reaches it can install software and take it over."),
                    "Turn off \"ADB over network\" / developer options on the device, or update its firmware.",
                    json!({"port": 5555, "service": "adb"}));
                self.push(f);
            }
            7547 | 37215 => {
                drop(st);
                report.service = if port == 7547 {
                    "tr-069"
                } else {
                    "huawei-upnp"
                }
                .into();
                self.http(&mut report);
                let ip = self.addr.ip();
                let what = if port == 7547 {
                    "the ISP remote-management port (TR-069/CWMP), attacked by Mirai variants in 2016"
                } else {
                    "port 37215, the Huawei router UPnP service exploited by the Satori and Okiru botnets (CVE-2017-17215)"
                };
                let f = self.finding(FindingKind::RiskyService, &report.service.clone(), 2,
                    format!("The device at {ip} answers on {what}."),
                    "Update the router's firmware and ask the ISP to restrict remote management to its own servers; close the port if you manage the router yourself.",
                    json!({"port": port, "service": report.service}));
                self.push(f);
            }
            _ => {
                drop(st);
                self.http(&mut report);
                // An SSH server on another port (2222 …) answers a GET
                // with its identification line.
                if report.service == "tcp" && report.banner.starts_with("SSH-") {
                    let b = report.banner.clone().into_bytes();
                    self.ssh_service(&mut report, &b);
                }
            }
        }
        Some(report)
    }

    /// The resolver's own name for its software: a CHAOS-class TXT query
    /// for `version.bind` over TCP (dnsmasq answers `dnsmasq-2.90`, BIND
    /// its version, unless configured not to). One query on the open
    /// connection; nothing else is asked.
    fn dns_version(&self, st: &mut TcpStream) -> Option<String> {
        let mut q = vec![0x57, 0x41, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["version", "bind"] {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 16, 0, 3]); // end of name, TXT, CHAOS
        let mut msg = (q.len() as u16).to_be_bytes().to_vec();
        msg.extend_from_slice(&q);
        st.write_all(&msg).ok()?;
        // One deadline for the whole answer: `read_exact` alone would let a
        // server that drips a byte per read timeout hold this probe far past
        // the host's budget (up to MAX_READ timeouts).
        let until = Instant::now() + self.s.cfg.io_timeout;
        let mut len = [0u8; 2];
        self.read_exact_by(st, &mut len, until)?;
        let len = usize::from(u16::from_be_bytes(len)).min(MAX_READ);
        let mut resp = vec![0u8; len];
        self.read_exact_by(st, &mut resp, until)?;
        chaos_txt(&resp)
    }

    /// Fill `buf`, giving up (None) at `until`, when stopped, at the end of
    /// the stream or on a read error.
    fn read_exact_by(&self, st: &mut TcpStream, buf: &mut [u8], until: Instant) -> Option<()> {
        let mut got = 0;
        while got < buf.len() {
            if Instant::now() >= until || self.stopped() {
                return None;
            }
            match st.read(buf.get_mut(got..)?) {
                Ok(0) => return None,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Some(())
    }

    /// An SSH server whose first bytes were `first`: banner, vulnerable
    /// version, then password logins.
    fn ssh_service(&mut self, report: &mut ServiceReport, first: &[u8]) {
        // The identification line only: KEXINIT may follow in the same read.
        let line = first.split(|c| *c == b'\n').next().unwrap_or(&[]);
        report.service = "ssh".into();
        report.banner = printable(line, 200);
        report.credentials = "not-checked".into();
        let banner = report.banner.clone();
        let (p, v) = ward_proto::ssh::split_banner(banner.trim()).unwrap_or_default();
        self.vulnerable("ssh", &p, v.as_deref(), &banner);
        if banner.starts_with("SSH-") && self.s.cfg.try_credentials {
            self.ssh(report);
        }
    }

    /// SSH password logins, one pair per connection (see [`crate::ssh`]).
    /// The host key fingerprint goes into the service banner and the
    /// finding's evidence: it says which server accepted the login.
    fn ssh(&mut self, report: &mut ServiceReport) {
        let mut client = ssh::Client::new(self.s.cfg.io_timeout);
        report.credentials = "none-worked".into();
        // Key exchange, authentication and disconnect: a few round trips.
        let budget = self.s.cfg.io_timeout * 3;
        let mut failures = 0;
        let pairs = self.s.pairs.clone();
        for (u, p) in pairs {
            let Some(st) = self.connect() else { break };
            let left = self.deadline.saturating_duration_since(Instant::now());
            report.tried += 1;
            match client.try_password(st, &u, &p, budget.min(left)) {
                ssh::Attempt::Accepted => {
                    report.credentials = "found".into();
                    let key = client.host_key.clone().unwrap_or_default();
                    self.report_default_with(
                        "ssh",
                        &u,
                        &p,
                        json!({"port": self.addr.port(), "host_key": key.algorithm, "host_key_sha256": key.fingerprint}),
                    );
                    break;
                }
                ssh::Attempt::Refused { .. } => {}
                ssh::Attempt::NoPasswordMethod { methods } => {
                    // Keys only: nothing to guess, and that is the good case.
                    report.tried -= 1;
                    report.credentials = "keys-only".into();
                    report
                        .banner
                        .push_str(&format!("; auth: {}", methods.join(",")));
                    break;
                }
                ssh::Attempt::Failed(why) => {
                    // A server that cannot finish a key exchange with us (or
                    // drops us) twice in a row will not start to.
                    report.tried -= 1;
                    failures += 1;
                    if failures >= 2 {
                        report.credentials = "not-checked".into();
                        report
                            .banner
                            .push_str(&format!("; ssh failed: {}", printable(why.as_bytes(), 80)));
                        break;
                    }
                    continue;
                }
            }
            failures = 0;
        }
        if let Some(k) = &client.host_key {
            report
                .banner
                .push_str(&format!("; host key {} {}", k.algorithm, k.fingerprint));
        }
    }

    fn ftp(&mut self, st: &mut TcpStream, report: &mut ServiceReport) {
        let b = self.read_until(st, &["\n"], false);
        report.service = "ftp".into();
        report.banner = printable(&b, 200);
        let banner = report.banner.clone();
        let (p, v) = product_version(&banner).unzip();
        self.vulnerable("ftp", p.as_deref().unwrap_or(""), v.as_deref(), &banner);
        let ip = self.addr.ip();
        let f = self.finding(FindingKind::InsecureProtocol, "ftp", 3,
            format!("The device at {ip} runs an FTP server: its logins and files cross the network unencrypted."),
            "Use SFTP or FTPS instead, or turn the FTP server off if nothing needs it.",
            json!({"port": self.addr.port(), "banner": banner}));
        self.push(f);
        if !self.s.cfg.try_credentials {
            report.credentials = "not-checked".into();
            return;
        }
        report.credentials = "none-worked".into();
        // Anonymous FTP first (RFC 1635: user `anonymous`, an e-mail
        // address as password): not a default password, but the same
        // open door, reported as the passive detector does.
        if self.ftp_login("anonymous", "ward-audit@example.invalid") == Some(FtpLogin::LoggedIn) {
            let f = self.finding(FindingKind::RiskyService, "ftp", 3,
                format!("The device at {ip} lets anyone log in to its FTP server without a password (anonymous FTP)."),
                "Turn anonymous FTP off unless you mean to publish those files to everyone on the network.",
                json!({"port": self.addr.port(), "service": "ftp-anonymous", "username": "anonymous"}));
            self.push(f);
            report.banner.push_str("; anonymous login accepted");
        }
        let pairs = self.s.pairs.clone();
        for (u, p) in pairs {
            let Some(r) = self.ftp_login(&u, &p) else {
                break;
            };
            report.tried += 1;
            let pass = match r {
                FtpLogin::Refused => continue,
                FtpLogin::NoPassword => "",
                FtpLogin::LoggedIn => p.as_str(),
            };
            report.credentials = "found".into();
            self.report_default("ftp", &u, pass);
            break;
        }
    }

    /// One FTP login on a new connection; None when no connection could
    /// be made (stopped, out of time, or refused).
    fn ftp_login(&mut self, user: &str, pass: &str) -> Option<FtpLogin> {
        let mut c = self.connect()?;
        let _ = self.read_until(&mut c, &["220 "], false);
        if c.write_all(format!("USER {user}\r\n").as_bytes()).is_err() {
            return Some(FtpLogin::Refused);
        }
        let r = self.read_until(&mut c, &["\n"], false);
        if r.starts_with(b"230") {
            let _ = c.write_all(b"QUIT\r\n");
            return Some(FtpLogin::NoPassword);
        }
        if c.write_all(format!("PASS {pass}\r\n").as_bytes()).is_err() {
            return Some(FtpLogin::Refused);
        }
        let r = self.read_until(&mut c, &["\n"], false);
        let _ = c.write_all(b"QUIT\r\n");
        Some(if r.starts_with(b"230") {
            FtpLogin::LoggedIn
        } else {
            FtpLogin::Refused
        })
    }

    fn telnet(&mut self, report: &mut ServiceReport) {
        report.service = "telnet".into();
        let Some(mut st) = self.connect() else { return };
        let first = self.read_until(
            &mut st,
            &["login:", "username:", "user:", "password:", "# ", "$ "],
            true,
        );
        drop(st);
        report.banner = printable(&first, 200);
        let ip = self.addr.ip();
        let port = self.addr.port();
        let f = self.finding(FindingKind::RiskyService, "telnet", 2,
            format!("The device at {ip} has Telnet open (port {port}), the service Mirai-style botnets break into first."),
            "Turn Telnet off on this device; if its settings cannot, update the firmware or keep the device on an isolated network.",
            json!({"port": port, "service": "telnet"}));
        self.push(f);
        let banner = report.banner.clone();
        let (p, v) = product_version(&banner).unzip();
        self.vulnerable("telnet", p.as_deref().unwrap_or(""), v.as_deref(), &banner);
        let asks_login = ["login:", "username:", "user:"]
            .iter()
            .any(|n| contains_ci(&first, n));
        let asks_password = contains_ci(&first, "password:");
        if !asks_login && !asks_password {
            if shell_prompt(&first) {
                report.credentials = "no-auth".into();
                let f = self.finding(FindingKind::RiskyService, "telnet", 1,
                    format!("The device at {ip} gives a Telnet shell without asking for any password."),
                    "Turn Telnet off on this device now; if it cannot be turned off, isolate the device.",
                    json!({"port": port, "service": "telnet-noauth"}));
                self.push(f);
            } else {
                report.credentials = "not-checked".into();
            }
            return;
        }
        if !self.s.cfg.try_credentials {
            report.credentials = "not-checked".into();
            return;
        }
        report.credentials = "none-worked".into();
        let pairs = self.s.pairs.clone();
        for (u, p) in pairs {
            let Some(mut c) = self.connect() else { break };
            report.tried += 1;
            let prompt =
                self.read_until(&mut c, &["login:", "username:", "user:", "password:"], true);
            if !contains_ci(&prompt, "password:") {
                if c.write_all(format!("{u}\r\n").as_bytes()).is_err() {
                    continue;
                }
                let _ = self.read_until(&mut c, &["password:"], true);
            }
            if c.write_all(format!("{p}\r\n").as_bytes()).is_err() {
                continue;
            }
            let after = self.read_until(
                &mut c,
                &[
                    "# ",
                    "$ ",
                    "> ",
                    "incorrect",
                    "failed",
                    "invalid",
                    "denied",
                    "login:",
                ],
                true,
            );
            if shell_prompt(&after) && !login_refused(&after) {
                report.credentials = "found".into();
                self.report_default("telnet", &u, &p);
                break;
            }
        }
    }

    fn http(&mut self, report: &mut ServiceReport) {
        let host = self.addr.ip();
        let get = |path: &str, auth: Option<&str>| {
            let mut r = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: ward-audit\r\nConnection: close\r\n");
            if let Some(a) = auth {
                r.push_str(&format!("Authorization: Basic {a}\r\n"));
            }
            r.push_str("\r\n");
            r
        };
        let Some(resp) = self.exchange(get("/", None).as_bytes(), &["</title>"]) else {
            return;
        };
        if !resp.starts_with(b"HTTP/") {
            // Not a web server: its first line says what it is.
            let line = resp.split(|c| *c == b'\n').next().unwrap_or(&[]);
            report.banner = printable(line, 120);
            return;
        }
        if report.service == "tcp" {
            report.service = "http".into();
        }
        let status = http_status(&resp);
        let server = header(&resp, "server");
        let title = title(&resp);
        report.banner = [
            Some(format!("{status}")),
            server.clone().map(|s| format!("Server: {s}")),
            title.map(|t| format!("title: {t}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
        if let Some(s) = &server {
            // Every `product/version` of the header is looked at
            // (`Linux/2.6 UPnP/1.0 MiniUPnPd/1.0`), by the banner scan.
            let first = s.split_whitespace().next().unwrap_or("");
            let (p, v) = first.split_once('/').unzip();
            self.vulnerable("http", p.unwrap_or(""), v, s);
        }
        // UPnP device description (model and firmware, often).
        for path in ["/description.xml", "/rootDesc.xml"] {
            let Some(d) = self.exchange(get(path, None).as_bytes(), &["</root>"]) else {
                break;
            };
            if http_status(&d) == 200 {
                let fields: Vec<String> =
                    ["manufacturer", "modelName", "modelNumber", "friendlyName"]
                        .iter()
                        .filter_map(|t| xml_field(&d, t).map(|v| format!("{t}={v}")))
                        .collect();
                if !fields.is_empty() {
                    report
                        .banner
                        .push_str(&format!("; upnp: {}", fields.join(", ")));
                    break;
                }
            }
        }
        let basic = status == 401
            && header(&resp, "www-authenticate")
                .is_some_and(|h| h.to_ascii_lowercase().starts_with("basic"));
        if !basic {
            return;
        }
        let ip = self.addr.ip();
        let f = self.finding(FindingKind::InsecureProtocol, "http", 3,
            format!("The device at {ip} asks for its password over plain HTTP Basic authentication: anyone on the network can read it."),
            "Use the device's HTTPS page (or turn on HTTPS), and never reuse that password elsewhere.",
            json!({"port": self.addr.port()}));
        self.push(f);
        if !self.s.cfg.try_credentials {
            report.credentials = "not-checked".into();
            return;
        }
        report.credentials = "none-worked".into();
        let pairs = self.s.pairs.clone();
        for (u, p) in pairs {
            report.tried += 1;
            let token = base64(format!("{u}:{p}").as_bytes());
            let Some(r) = self.exchange(get("/", Some(&token)).as_bytes(), &["\r\n\r\n"]) else {
                break;
            };
            let st = http_status(&r);
            // 2xx/3xx: in. Another answer than 401 (403/404 for a page
            // that is missing or forbidden once logged in, as lighttpd
            // gives for a directory without index) counts only if a wrong
            // password for the same user is still refused with 401 — a
            // device that locks out answers 403 to everything.
            let accepted = (200..400).contains(&st)
                || (st != 401 && st != 0 && {
                    let wrong = base64(format!("{u}:ward-audit-wrong-{p}-x").as_bytes());
                    self.exchange(get("/", Some(&wrong)).as_bytes(), &["\r\n\r\n"])
                        .is_some_and(|w| http_status(&w) == 401)
                });
            if accepted {
                report.credentials = "found".into();
                self.report_default_with(
                    "http",
                    &u,
                    &p,
                    json!({"port": self.addr.port(), "status": st}),
                );
                break;
            }
        }
    }

    fn rtsp(&mut self, report: &mut ServiceReport) {
        report.service = "rtsp".into();
        let ip = self.addr.ip();
        let port = self.addr.port();
        let url = format!("rtsp://{}/", self.addr);
        let req = |method: &str, seq: u32, auth: Option<&str>| {
            let mut r =
                format!("{method} {url} RTSP/1.0\r\nCSeq: {seq}\r\nUser-Agent: ward-audit\r\n");
            if method == "DESCRIBE" {
                r.push_str("Accept: application/sdp\r\n");
            }
            if let Some(a) = auth {
                r.push_str(&format!("Authorization: Basic {a}\r\n"));
            }
            r.push_str("\r\n");
            r
        };
        let Some(o) = self.exchange(req("OPTIONS", 1, None).as_bytes(), &["\r\n\r\n"]) else {
            return;
        };
        report.banner = header(&o, "server").unwrap_or_default();
        if !report.banner.is_empty() {
            let banner = report.banner.clone();
            self.vulnerable("rtsp", "", None, &banner);
        }
        let Some(d) = self.exchange(req("DESCRIBE", 2, None).as_bytes(), &["\r\n\r\n"]) else {
            return;
        };
        let status = http_status(&d);
        if status == 200 {
            report.credentials = "no-auth".into();
            let f = self.finding(FindingKind::InsecureProtocol, "rtsp", 2,
                format!("The camera at {ip} streams video over RTSP without asking for a password: anyone on the network can watch."),
                "Turn on RTSP authentication in the camera's settings (and change its password), or turn RTSP off.",
                json!({"port": port, "auth": "none"}));
            self.push(f);
            return;
        }
        let basic = status == 401
            && header(&d, "www-authenticate")
                .is_some_and(|h| h.to_ascii_lowercase().starts_with("basic"));
        if !basic || !self.s.cfg.try_credentials {
            report.credentials = "not-checked".into();
            return;
        }
        report.credentials = "none-worked".into();
        let pairs = self.s.pairs.clone();
        for (i, (u, p)) in pairs.into_iter().enumerate() {
            report.tried += 1;
            let token = base64(format!("{u}:{p}").as_bytes());
            let Some(r) = self.exchange(
                req("DESCRIBE", 3 + i as u32, Some(&token)).as_bytes(),
                &["\r\n\r\n"],
            ) else {
                break;
            };
            if http_status(&r) == 200 {
                report.credentials = "found".into();
                self.report_default("rtsp", &u, &p);
                break;
            }
        }
    }

    fn mqtt(&mut self, report: &mut ServiceReport) {
        report.service = "mqtt".into();
        let ip = self.addr.ip();
        let port = self.addr.port();
        let Some(rc) = self.mqtt_connect(None) else {
            return;
        };
        report.banner = format!("CONNACK return code {rc} without credentials");
        if rc == 0 {
            report.credentials = "no-auth".into();
            let f = self.finding(FindingKind::RiskyService, "mqtt", 2,
                format!("The device at {ip} runs an MQTT broker that accepts anyone without a password: any device on the network can read and send its smart-home messages."),
                "Require a username and password on the broker (mosquitto: allow_anonymous false and a password_file), and use TLS on port 8883.",
                json!({"port": port, "service": "mqtt-open"}));
            self.push(f);
            return;
        }
        let f = self.finding(FindingKind::InsecureProtocol, "mqtt", 3,
            format!("The device at {ip} runs an MQTT broker without TLS: its passwords and messages cross the network unencrypted."),
            "Turn on TLS on the MQTT broker (port 8883) and close the plain port 1883.",
            json!({"port": port}));
        self.push(f);
        if !self.s.cfg.try_credentials {
            report.credentials = "not-checked".into();
            return;
        }
        report.credentials = "none-worked".into();
        let pairs = self.s.pairs.clone();
        for (u, p) in pairs {
            report.tried += 1;
            match self.mqtt_connect(Some((&u, &p))) {
                Some(0) => {
                    report.credentials = "found".into();
                    self.report_default("mqtt", &u, &p);
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
    }

    /// MQTT 3.1.1 CONNECT; the CONNACK return code.
    fn mqtt_connect(&mut self, cred: Option<(&str, &str)>) -> Option<u8> {
        let mut var = Vec::new();
        let put_str = |v: &mut Vec<u8>, s: &[u8]| {
            v.extend_from_slice(&(s.len().min(65535) as u16).to_be_bytes());
            v.extend_from_slice(&s[..s.len().min(65535)]);
        };
        put_str(&mut var, b"MQTT");
        var.push(4); // protocol level 3.1.1
        let flags = 0x02 | if cred.is_some() { 0xC0 } else { 0 };
        var.push(flags);
        var.extend_from_slice(&30u16.to_be_bytes());
        put_str(&mut var, b"ward-audit");
        if let Some((u, p)) = cred {
            put_str(&mut var, u.as_bytes());
            put_str(&mut var, p.as_bytes());
        }
        let mut pkt = vec![0x10];
        let mut len = var.len();
        loop {
            let mut byte = (len % 128) as u8;
            len /= 128;
            if len > 0 {
                byte |= 0x80;
            }
            pkt.push(byte);
            if len == 0 {
                break;
            }
        }
        pkt.extend_from_slice(&var);
        let mut st = self.connect()?;
        st.write_all(&pkt).ok()?;
        let mut ack = [0u8; 4];
        st.read_exact(&mut ack).ok()?;
        let _ = st.write_all(&[0xE0, 0x00]); // DISCONNECT
        (ack[0] == 0x20 && ack[1] == 2).then_some(ack[3])
    }
}

/// Split Telnet commands out of `data`: the text, and the refusals to send
/// (every DO is answered WONT, every WILL DONT), so the server falls back
/// to a plain line-mode dialogue.
fn strip_telnet(data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    const IAC: u8 = 255;
    let (mut text, mut reply) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b != IAC {
            if b != 0 {
                text.push(b);
            }
            i += 1;
            continue;
        }
        match data.get(i + 1) {
            Some(&IAC) => {
                text.push(IAC);
                i += 2;
            }
            Some(&cmd @ (251..=254)) => {
                if let Some(&opt) = data.get(i + 2) {
                    match cmd {
                        253 => reply.extend_from_slice(&[IAC, 252, opt]), // DO → WONT
                        251 => reply.extend_from_slice(&[IAC, 254, opt]), // WILL → DONT
                        _ => {}
                    }
                }
                i += 3;
            }
            Some(&250) => {
                // Subnegotiation: skip to IAC SE.
                let end = data[i..]
                    .windows(2)
                    .position(|w| w == [IAC, 240])
                    .map_or(data.len(), |p| i + p + 2);
                i = end;
            }
            Some(_) => i += 2,
            None => i += 1,
        }
    }
    (text, reply)
}

/// The first TXT string of the first answer of a DNS response to our
/// `version.bind` query (ID 0x5741), printable and cut; None for anything
/// else (an error code, no answer, a malformed message).
fn chaos_txt(resp: &[u8]) -> Option<String> {
    if resp.get(..2)? != [0x57, 0x41] || resp.get(3)? & 0x0f != 0 {
        return None;
    }
    let qd = u16::from_be_bytes([*resp.get(4)?, *resp.get(5)?]);
    let an = u16::from_be_bytes([*resp.get(6)?, *resp.get(7)?]);
    if an == 0 {
        return None;
    }
    // Skip a name: labels up to a zero byte, or a compression pointer.
    let skip_name = |mut i: usize| -> Option<usize> {
        for _ in 0..128 {
            let l = *resp.get(i)?;
            if l == 0 {
                return Some(i + 1);
            }
            if l & 0xc0 == 0xc0 {
                return Some(i + 2);
            }
            i += 1 + usize::from(l);
        }
        None
    };
    let mut i = 12;
    for _ in 0..qd {
        i = skip_name(i)? + 4;
    }
    i = skip_name(i)?;
    let rtype = u16::from_be_bytes([*resp.get(i)?, *resp.get(i + 1)?]);
    if rtype != 16 {
        return None;
    }
    let rdlen = usize::from(u16::from_be_bytes([*resp.get(i + 8)?, *resp.get(i + 9)?]));
    let rdata = resp.get(i + 10..i + 10 + rdlen)?;
    let n = usize::from(*rdata.first()?);
    let txt = printable(rdata.get(1..1 + n)?, 120);
    (!txt.is_empty()).then_some(txt)
}

fn shell_prompt(b: &[u8]) -> bool {
    let t = String::from_utf8_lossy(b);
    let t = t.trim_end();
    t.ends_with('#') || t.ends_with('$') || t.ends_with('>') || t.ends_with('%')
}

fn login_refused(b: &[u8]) -> bool {
    ["incorrect", "failed", "invalid", "denied", "login:"]
        .iter()
        .any(|n| contains_ci(b, n))
}

fn http_status(resp: &[u8]) -> u16 {
    // "HTTP/1.1 200 OK" or "RTSP/1.0 401 Unauthorized".
    let line = resp.split(|b| *b == b'\n').next().unwrap_or(&[]);
    String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn header(resp: &[u8], name: &str) -> Option<String> {
    let head_end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(resp.len());
    String::from_utf8_lossy(&resp[..head_end])
        .lines()
        .skip(1)
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| printable(v.trim().as_bytes(), 200))
        })
}

fn title(resp: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(resp);
    let lower = s.to_ascii_lowercase();
    let start = lower.find("<title>")? + 7;
    let end = lower[start..].find("</title>")? + start;
    let t = printable(s.get(start..end)?.as_bytes(), 120);
    (!t.is_empty()).then_some(t)
}

fn xml_field(doc: &[u8], tag: &str) -> Option<String> {
    let s = String::from_utf8_lossy(doc);
    let open = format!("<{tag}>");
    let start = s.find(&open)? + open.len();
    let end = s[start..].find('<')? + start;
    let v = printable(s.get(start..end)?.as_bytes(), 80);
    (!v.is_empty()).then_some(v)
}

/// (product, version) from a banner like `220 (vsFTPd 2.3.4)` or
/// `BusyBox v1.19.4 built-in shell`.
fn product_version(banner: &str) -> Option<(String, String)> {
    let words: Vec<String> = banner
        .split_whitespace()
        .take(32)
        .map(|w| {
            w.trim_matches(|c: char| {
                !c.is_ascii_alphanumeric() && c != '.' && c != '_' && c != '-' && c != '/'
            })
            .to_string()
        })
        .collect();
    let is_version = |v: &str| {
        let v = v.trim_start_matches(['v', 'V']);
        v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.')
    };
    for (i, w) in words.iter().enumerate() {
        if let Some((p, v)) = w.split_once('/') {
            if is_version(v) && p.chars().any(char::is_alphabetic) {
                return Some((p.into(), v.trim_start_matches(['v', 'V']).into()));
            }
        }
        if i > 0 && is_version(w) && words[i - 1].chars().any(char::is_alphabetic) {
            return Some((
                words[i - 1].clone(),
                w.trim_start_matches(['v', 'V']).into(),
            ));
        }
    }
    None
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn targets_are_bounded_and_local_by_default() {
        let t = parse_targets(&s(&["192.168.1.0/30", "10.0.0.5"]), false, false).unwrap();
        assert_eq!(t.len(), 3, "{t:?}"); // .1 .2 of the /30 and 10.0.0.5
        assert!(matches!(
            parse_targets(&s(&["8.8.8.8"]), false, false),
            Err(AuditError::Public(_))
        ));
        assert!(parse_targets(&s(&["8.8.8.8"]), true, false).is_ok());
        assert!(matches!(
            parse_targets(&s(&["10.0.0.0/16"]), false, false),
            Err(AuditError::TooLarge(..))
        ));
        assert_eq!(
            parse_targets(&s(&["10.0.0.0/22"]), false, false)
                .unwrap()
                .len(),
            1022
        );
        assert!(matches!(
            parse_targets(&s(&["10.0.0.0/8"]), false, true),
            Err(AuditError::TooMany)
        ));
        assert!(parse_targets(&s(&["fe80::1"]), false, false).is_ok());
        assert!(matches!(
            parse_targets(&s(&["nonsense"]), false, false),
            Err(AuditError::BadTarget(_))
        ));
        assert!(matches!(
            parse_targets(&[], false, false),
            Err(AuditError::Empty)
        ));
    }

    #[test]
    fn credentials_file() {
        let c = parse_credentials("# mine\nadmin:admin\n:1234\nroot:a:b\n").unwrap();
        assert_eq!(c[1], ("".into(), "1234".into()));
        assert_eq!(c[2], ("root".into(), "a:b".into()));
        assert_eq!(
            parse_credentials("nocolon\n"),
            Err(AuditError::BadCredentialLine(1))
        );
    }

    #[test]
    fn chaos_version_answer() {
        // Shaped like dnsmasq's answer (the lab test gets a real one): one
        // question, one TXT answer naming it through a pointer.
        let mut r = vec![0x57, 0x41, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0];
        r.extend_from_slice(b"\x07version\x04bind\x00\x00\x10\x00\x03");
        r.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 3, 0, 0, 0, 0, 0, 13, 12]);
        r.extend_from_slice(b"dnsmasq-2.76");
        assert_eq!(chaos_txt(&r).as_deref(), Some("dnsmasq-2.76"));
        let mut refused = r.clone();
        refused[3] = 0x05; // REFUSED
        assert_eq!(chaos_txt(&refused), None);
        assert_eq!(chaos_txt(&r[..r.len() - 3]), None, "cut short");
    }

    #[test]
    fn telnet_options_are_refused() {
        let (text, reply) =
            strip_telnet(&[255, 253, 1, 255, 251, 3, b'l', b'o', b'g', b'i', b'n', b':']);
        assert_eq!(text, b"login:");
        assert_eq!(reply, [255, 252, 1, 255, 254, 3]);
    }

    #[test]
    fn banner_parsing() {
        assert_eq!(
            product_version("220 (vsFTPd 2.3.4)"),
            Some(("vsFTPd".into(), "2.3.4".into()))
        );
        assert_eq!(
            product_version("BusyBox v1.19.4 built-in shell"),
            Some(("BusyBox".into(), "1.19.4".into()))
        );
        assert_eq!(base64(b"admin:admin"), "YWRtaW46YWRtaW4=");
        assert_eq!(base64(b"ab"), "YWI=");
        let resp = b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nServer: lighttpd/1.4.35\r\n\r\n<title> Cam </title>";
        assert_eq!(http_status(resp), 401);
        assert_eq!(header(resp, "server").as_deref(), Some("lighttpd/1.4.35"));
        assert_eq!(title(resp).as_deref(), Some("Cam"));
    }

    proptest::proptest! {
        /// Device replies are hostile bytes: no parser of them may panic.
        #[test]
        fn reply_parsers_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let (text, reply) = strip_telnet(&data);
            proptest::prop_assert!(text.len() <= data.len() && reply.len() <= data.len() * 3);
            let _ = http_status(&data);
            let _ = header(&data, "server");
            let _ = title(&data);
            let _ = xml_field(&data, "modelName");
            let _ = shell_prompt(&data);
            let _ = chaos_txt(&data);
            let _ = login_refused(&data);
            let s = String::from_utf8_lossy(&data);
            let _ = product_version(&s);
            let _ = ward_proto::ssh::split_banner(&s);
            proptest::prop_assert!(printable(&data, 100).chars().count() <= 100);
        }
    }

    #[test]
    fn dns_answer_dripped_byte_by_byte_stops_at_the_io_timeout() {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let d = Arc::clone(&done);
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            // Announce a 512-byte answer, then one byte every 10 ms: each
            // read finishes within the read timeout, the whole takes 5 s.
            let _ = c.write_all(&[0x02, 0x00]);
            while !d.load(Ordering::Relaxed) && c.write_all(&[0]).is_ok() {
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let cfg = AuditConfig {
            io_timeout: Duration::from_millis(300),
            ..AuditConfig::default()
        };
        let shared = Shared {
            pacer: Pacer::new(cfg.rate_per_sec),
            cfg,
            pairs: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            jobs: Mutex::new(VecDeque::new()),
            host_start: Mutex::new(HashMap::new()),
            out: Mutex::new(AuditOutcome::default()),
        };
        let mut probe = Probe {
            s: &shared,
            addr,
            deadline: Instant::now() + Duration::from_secs(60),
            connections: 0,
            findings: Vec::new(),
        };
        let mut st = probe.connect().unwrap();
        let started = Instant::now();
        assert_eq!(probe.dns_version(&mut st), None);
        let took = started.elapsed();
        done.store(true, Ordering::Relaxed);
        drop(st);
        let _ = t.join();
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn pacer_spaces_attempts() {
        let p = Pacer::new(100);
        let stop = AtomicBool::new(false);
        let t = Instant::now();
        for _ in 0..11 {
            assert!(p.wait(&stop));
        }
        assert!(
            t.elapsed() >= Duration::from_millis(95),
            "{:?}",
            t.elapsed()
        );
    }
}
