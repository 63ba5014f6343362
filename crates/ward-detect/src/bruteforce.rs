//! Password guessing: many failed logins from one client to one service.
//!
//! Clear-text protocols report each login with its outcome
//! ([`ward_proto::Credential`], from the Telnet, FTP, HTTP Basic, MQTT,
//! RTSP … parsers). A guesser tries *different* credentials, so the count
//! that matters is failed attempts with distinct username/password pairs: a
//! device retrying one wrong password is a misconfiguration, not an attack,
//! and stays quiet. A success after the threshold is a likely compromise
//! and gets its own, higher-severity alert.
//!
//! SSH is encrypted: there each short connection from a client to an SSH
//! server counts as an attempt (at flow end), the way Zeek's SSH
//! password-guessing heuristic works. Challenge-response logins whose
//! secret never crosses the wire (VNC's DES challenge, RTSP/HTTP Digest)
//! cannot be told apart by content: each connection carrying one counts as
//! a distinct guess, but only at tool speed (on average one every
//! `BLIND_GUESS_SECS` or faster), so a device retrying a stale password on
//! its own schedule stays quiet.
//!
//! Guessing spread over several clients (a botnet's slow, distributed
//! guessing at one device, each bot under the per-client threshold) is
//! counted per (server, protocol) over `distributed_window_secs`: failed
//! logins with visible secrets from at least `distributed_clients` clients,
//! with at least twice `failures` distinct credentials *and* at least two
//! per client on average. Devices with a stale saved password each repeat
//! one credential, so a house of sensors failing after a password change
//! stays quiet however many there are. SSH and web forms show no
//! credential, so they are not counted there.
//!
//! A botnet whose every bot tries a *single* credential and never comes
//! back has one failure per client, under the two-per-client rule. What
//! tells it from stale devices is that a device retries and a bot does
//! not: clients whose only failure at the server is 50-60 s old (at least
//! `SETTLE_SECS - EPOCH_SECS`; a stale device would have retried by then,
//! the lab's and the tests' retry every 30 s or sooner) are counted, and
//! twice `failures` of them (12) with as many distinct credentials are
//! `distributed-bruteforce` too ("one password each"). The count is kept
//! in counters of `EPOCH_SECS` epochs (one per epoch younger than
//! `SETTLE_SECS`, one for all older), so no per-client list is needed: a
//! client's second failure, or a successful login, takes it back out of
//! the counter its first went into, found from that failure's time kept in
//! the per-client record. It is judged when a new
//! client fails, so a botnet is found while bots keep coming (one bot every
//! 4 s: at about the 28th) or at the next new client's failure; the alert
//! names one of the settled bots, not that client. A device that retries
//! less often than once a minute with a stale password of its own, among
//! eleven others doing the same, would look the same; a password change
//! leaves every device with the *same* stale credential, which this never
//! counts as many.
//!
//! State: one record per (client, server, protocol) and one per (server,
//! protocol), capped.

use std::net::IpAddr;

use ward_core::devices::DeviceTable;
use ward_core::flow::{Flow, FlowState};
use ward_core::{AlertCategory, FlowEndContext, PacketContext, Timestamp};
use ward_proto::{AppEvent, AppProto, Credential, LoginOutcome};

use crate::alert::{secs, span, who, Draft};
use crate::config::BruteforceConfig;
use crate::table::{hash_of, CappedMap, Distinct};

const NAME: &str = "bruteforce";
/// Average seconds per failed attempt below which attempts with an unseen
/// secret are a guessing tool (hydra: 10+ per second against VNC/RTSP; a
/// client's reconnect back-off or a person retyping: several seconds each).
const BLIND_GUESS_SECS: i64 = 5;
/// Seconds after its one failure from which a client that has not tried
/// again counts as a one-guess bot (module docs): between
/// `SETTLE_SECS - EPOCH_SECS` and `SETTLE_SECS`, by epoch.
const SETTLE_SECS: i64 = 60;
/// Epoch of the single-guess counters.
const EPOCH_SECS: i64 = 10;
/// Counters: one per epoch younger than [`SETTLE_SECS`], one for older.
const EPOCHS: usize = (SETTLE_SECS / EPOCH_SECS) as usize + 1;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    client: IpAddr,
    server: IpAddr,
    protocol: &'static str,
}

#[derive(Clone, Copy)]
struct Attempts {
    start: Timestamp,
    last: Timestamp,
    failed: u32,
    succeeded: u32,
    /// Failed attempts whose secret was not visible (told apart by connection).
    blind: u32,
    pairs: Distinct,
    port: u16,
    alerted: bool,
    success_alerted: bool,
    /// Failed attempts with a visible secret (those the per-server
    /// [`Spread`] counts).
    visible: u32,
    /// The time of the client's one visible failure while the spread
    /// counts it as a one-guess client; taken when the client tries again,
    /// failing or succeeding. Not `start`: the record may begin with a
    /// success or a blind failure long before.
    single_at: Option<Timestamp>,
}

impl Attempts {
    fn new(now: Timestamp, port: u16) -> Self {
        Attempts {
            start: now,
            last: now,
            failed: 0,
            succeeded: 0,
            blind: 0,
            pairs: Distinct::default(),
            port,
            alerted: false,
            success_alerted: false,
            visible: 0,
            single_at: None,
        }
    }
}

/// Failed logins at one server and protocol from every client.
#[derive(Clone, Copy)]
struct Spread {
    start: Timestamp,
    clients: Distinct,
    pairs: Distinct,
    failed: u32,
    port: u16,
    alerted: bool,
    /// Clients with exactly one failure here, by the [`EPOCH_SECS`] epoch
    /// (counted from `start`) of that failure: `single[0]` the current
    /// epoch, `single[i]` the i-th before it, the last every older one.
    single: [u32; EPOCHS],
    /// The last client counted into each of `single` (the last slot: the
    /// newest of the older epochs'; none once that client came back): the
    /// one-guess alert names a client that did guess once and go, not
    /// whoever failed when it fired.
    single_ip: [Option<IpAddr>; EPOCHS],
    /// The epoch `single[0]` counts.
    epoch: i64,
}

impl Spread {
    /// A window of failures at one server port starting at `start`.
    fn new(start: Timestamp, port: u16) -> Self {
        Spread {
            start,
            clients: Distinct::default(),
            pairs: Distinct::default(),
            failed: 0,
            port,
            alerted: false,
            single: [0; EPOCHS],
            single_ip: [None; EPOCHS],
            epoch: 0,
        }
    }

    fn epoch_of(&self, t: Timestamp) -> i64 {
        t.since(self.start).div_euclid(EPOCH_SECS * 1_000_000)
    }

    /// Move the epoch counters on to `now`'s epoch.
    fn roll(&mut self, now: Timestamp) {
        let e = self.epoch_of(now);
        let last = EPOCHS - 1;
        for _ in 0..(e - self.epoch).clamp(0, last as i64) {
            self.single[last] = self.single[last].saturating_add(self.single[last - 1]);
            self.single.copy_within(0..last - 1, 1);
            self.single[0] = 0;
            self.single_ip[last] = self.single_ip[last - 1].or(self.single_ip[last]);
            self.single_ip.copy_within(0..last - 1, 1);
            self.single_ip[0] = None;
        }
        self.epoch = self.epoch.max(e);
    }

    /// A client's failure: its first (`prior` = None) adds it to the
    /// current epoch; its second (or a login) takes it out of the epoch of
    /// its first, and out of that epoch's name.
    fn single_guess(&mut self, client: IpAddr, prior: Option<Timestamp>) {
        match prior {
            None => {
                self.single[0] = self.single[0].saturating_add(1);
                self.single_ip[0] = Some(client);
            }
            Some(t) => {
                let slot = (self.epoch - self.epoch_of(t)).clamp(0, EPOCHS as i64 - 1) as usize;
                self.single[slot] = self.single[slot].saturating_sub(1);
                // It came back: never the bot an alert names.
                if self.single_ip[slot] == Some(client) {
                    self.single_ip[slot] = None;
                }
            }
        }
    }

    /// Clients whose one failure is at least `SETTLE_SECS - EPOCH_SECS` old.
    fn settled(&self) -> u32 {
        self.single[EPOCHS - 1]
    }
}

/// Where a failure stands in its client's record: the client's first
/// failure here, its second (with the time of the first), or a later one.
#[derive(Clone, Copy)]
enum Nth {
    First,
    Second(Timestamp),
    Later,
}

pub struct Bruteforce {
    cfg: BruteforceConfig,
    window_us: i64,
    spread_window_us: i64,
    table: CappedMap<Key, Attempts>,
    spread: CappedMap<(IpAddr, &'static str), Spread>,
}

/// A request that submits a login form (POST to a login-looking path with a body).
fn is_login_form(r: &ward_proto::HttpRequest) -> bool {
    if !r.method.eq_ignore_ascii_case("POST") || r.body_prefix.is_empty() {
        return false;
    }
    let uri = r.uri.to_ascii_lowercase();
    [
        "login", "logon", "signin", "sign-in", "auth", "session", "password", "passwd",
    ]
    .iter()
    .any(|k| uri.contains(k))
}

/// (signature, success signature, human name) per protocol.
fn names(protocol: &str) -> (&'static str, &'static str, &'static str) {
    match protocol {
        "telnet" => ("telnet-bruteforce", "telnet-bruteforce-success", "telnet"),
        "ssh" => ("ssh-bruteforce", "ssh-bruteforce-success", "SSH"),
        "ftp" => ("ftp-bruteforce", "ftp-bruteforce-success", "FTP"),
        "http" => ("http-bruteforce", "http-bruteforce-success", "web"),
        "http-form" => (
            "http-form-bruteforce",
            "http-form-bruteforce-success",
            "web page",
        ),
        "mqtt" => ("mqtt-bruteforce", "mqtt-bruteforce-success", "MQTT"),
        "rtsp" => (
            "rtsp-bruteforce",
            "rtsp-bruteforce-success",
            "video-stream (RTSP)",
        ),
        "vnc" => ("vnc-bruteforce", "vnc-bruteforce-success", "VNC"),
        "pop3" | "imap" | "smtp" => ("mail-bruteforce", "mail-bruteforce-success", "mail"),
        "snmp" => (
            "snmp-community-guessing",
            "snmp-community-guessing-success",
            "SNMP",
        ),
        _ => ("login-bruteforce", "login-bruteforce-success", "login"),
    }
}

impl Bruteforce {
    pub fn new(cfg: BruteforceConfig, cap: usize) -> Self {
        Bruteforce {
            window_us: (cfg.window_secs.max(1) as i64).saturating_mul(1_000_000),
            spread_window_us: (cfg.distributed_window_secs.clamp(1, 1 << 40) as i64)
                .saturating_mul(1_000_000),
            cfg,
            table: CappedMap::new(cap),
            spread: CappedMap::new(cap),
        }
    }

    /// Inlined: most application events (DNS, TLS, banners) are none of
    /// the two kinds read here, and the packet is let go without a call.
    #[inline]
    pub fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let read = ctx.app.iter().any(|e| {
            matches!(
                e,
                AppEvent::Credential(_) | AppEvent::HttpRequest(_) | AppEvent::HttpRequestBody(_)
            )
        });
        if read {
            self.on_events(ctx, out);
        }
    }

    #[inline(never)]
    fn on_events(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let Some(flow) = ctx.flow else { return };
        for ev in ctx.app {
            match ev {
                AppEvent::Credential(c) => self.credential(flow, c, ctx.pkt.ts, ctx.devices, out),
                // A form whose body came after its head (browsers, curl and
                // scripting libraries often write them apart) arrives as the
                // body event; its head had no body, so it is counted once.
                AppEvent::HttpRequest(r) | AppEvent::HttpRequestBody(r) if is_login_form(r) => {
                    self.login_form(flow, r, ctx.pkt.ts, ctx.devices, out)
                }
                _ => {}
            }
        }
    }

    /// A POST to a login page: an attempt whose outcome HTTP does not say
    /// in a standard way. Distinct bodies mean distinct guesses.
    fn login_form(
        &mut self,
        flow: &Flow,
        r: &ward_proto::HttpRequest,
        now: Timestamp,
        devices: &DeviceTable,
        out: &mut Vec<Draft>,
    ) {
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        let key = Key {
            client,
            server,
            protocol: "http-form",
        };
        let a = self.attempts(key, now, flow.dst_port);
        a.failed += 1;
        a.pairs.insert(&r.body_prefix);
        self.check(key, now, devices, out);
    }

    pub fn on_flow_end(&mut self, ctx: &FlowEndContext<'_>, out: &mut Vec<Draft>) {
        let flow = ctx.flow;
        for ev in ctx.app {
            if let AppEvent::Credential(c) = ev {
                self.credential(flow, c, flow.last, ctx.devices, out);
            }
        }
        if self.is_ssh_attempt(flow) {
            let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
                return;
            };
            let key = Key {
                client,
                server,
                protocol: "ssh",
            };
            let now = flow.last;
            let a = self.attempts(key, now, flow.dst_port);
            a.failed += 1;
            // Each connection is a fresh try; count it as a distinct pair.
            a.pairs.insert(&(flow.start, flow.src_port));
            self.check(key, now, ctx.devices, out);
        }
    }

    /// A completed-handshake SSH connection that was short and small: the
    /// shape of one password attempt (or a few) by a guessing tool.
    fn is_ssh_attempt(&self, flow: &Flow) -> bool {
        let ssh = flow.app_proto == Some(AppProto::Ssh) || matches!(flow.dst_port, 22 | 2222);
        ssh && flow.proto == 6
            && flow.pkts[1] > 2
            && flow.payload_bytes[1] > 0
            && !matches!(flow.state, FlowState::SynSent | FlowState::SynReceived)
            && flow.last.since(flow.start) <= (self.cfg.ssh_max_secs as i64) * 1_000_000
            && u64::from(flow.payload_bytes[0]) <= self.cfg.ssh_max_client_bytes
    }

    fn attempts(&mut self, key: Key, now: Timestamp, port: u16) -> &mut Attempts {
        let window = self.window_us;
        let a = self.table.entry(key, || Attempts::new(now, port));
        if now.since(a.last) > window {
            *a = Attempts::new(now, port);
        }
        a.last = now.max(a.last);
        a
    }

    fn credential(
        &mut self,
        flow: &Flow,
        c: &Credential,
        now: Timestamp,
        devices: &DeviceTable,
        out: &mut Vec<Draft>,
    ) {
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        let key = Key {
            client,
            server,
            protocol: c.protocol,
        };
        let failed = matches!(c.outcome, LoginOutcome::Failure | LoginOutcome::Unknown);
        // A failure whose secret is visible also counts towards guessing
        // spread over many clients.
        let visible = c
            .secret
            .as_ref()
            .map(|secret| hash_of(&(c.username.as_deref(), secret.expose())));
        if let (true, Some(pair)) = (failed, visible) {
            let a = self.attempts(key, now, flow.dst_port);
            let nth = match (a.visible, a.single_at.take()) {
                (0, _) => Nth::First,
                (_, Some(first)) => Nth::Second(first),
                _ => Nth::Later,
            };
            a.visible = a.visible.saturating_add(1);
            if matches!(nth, Nth::First) {
                a.single_at = Some(now);
            }
            self.spread_failure(
                client,
                server,
                c.protocol,
                flow.dst_port,
                pair,
                nth,
                now,
                devices,
                out,
            );
        }
        let a = self.attempts(key, now, flow.dst_port);
        if !failed {
            a.succeeded += 1;
            // A client that logs in after its one failure came back: no
            // one-guess bot.
            if let Some(first) = a.single_at.take() {
                if let Some(s) = self.spread.get_mut(&(server, c.protocol)) {
                    if first >= s.start {
                        s.roll(now);
                        s.single_guess(client, Some(first));
                    }
                }
            }
        } else {
            a.failed += 1;
            let pair = visible.unwrap_or_else(|| {
                // Challenge-response: only the connection tells guesses apart.
                a.blind += 1;
                hash_of(&(c.username.as_deref(), flow.start, flow.src_port))
            });
            a.pairs.insert_hash(pair);
        }
        self.check(key, now, devices, out);
    }

    /// One failed login with a visible credential, counted per (server,
    /// protocol) over all clients: distributed guessing (module docs).
    #[allow(clippy::too_many_arguments)]
    fn spread_failure(
        &mut self,
        client: IpAddr,
        server: IpAddr,
        protocol: &'static str,
        port: u16,
        pair: u64,
        nth: Nth,
        now: Timestamp,
        devices: &DeviceTable,
        out: &mut Vec<Draft>,
    ) {
        let window = self.spread_window_us;
        let s = self
            .spread
            .entry((server, protocol), || Spread::new(now, port));
        if now.since(s.start) > window {
            *s = Spread::new(now, port);
        }
        s.roll(now);
        match nth {
            Nth::First => s.single_guess(client, None),
            // A first failure from before this window was never counted.
            Nth::Second(first) if first >= s.start => s.single_guess(client, Some(first)),
            _ => {}
        }
        s.clients.insert(&client);
        s.pairs.insert_hash(pair);
        s.failed = s.failed.saturating_add(1);
        let (clients, pairs) = (s.clients.estimate(), s.pairs.estimate());
        let need_clients = self.cfg.distributed_clients.max(2);
        let need_pairs = self.cfg.failures.max(2).saturating_mul(2);
        // One guess per bot: clients whose one failure is SETTLE_SECS old
        // and was never repeated, each (nearly) with its own credential.
        // Judged when a new client fails (the bot named is one more of
        // them), never on a known client's retry.
        let settled = s.settled();
        let one_each = matches!(nth, Nth::First)
            && settled >= need_pairs.max(need_clients)
            && pairs >= settled;
        if s.alerted
            || self.cfg.distributed_clients == 0
            || clients < need_clients
            || pairs < need_pairs
            || (pairs < clients.saturating_mul(2) && !one_each)
        {
            return;
        }
        s.alerted = true;
        let (_, _, human) = names(protocol);
        let mut d = Draft::new(
            AlertCategory::Bruteforce,
            "distributed-bruteforce",
            NAME,
            now,
        );
        // The client whose failure completed the picture, or for bots
        // guessing once each one of the settled ones; the others are
        // counted in the evidence (a bot among many).
        let one_guess = pairs < clients.saturating_mul(2);
        d.attacker = Some(if one_guess {
            s.single_ip[EPOCHS - 1].unwrap_or(client)
        } else {
            client
        });
        d.victims = vec![server];
        d.victim_port = s.port;
        d.proto = Some(if protocol == "snmp" { 17 } else { 6 });
        d.first_seen = s.start;
        d.last_seen = now;
        d.count = u64::from(s.failed);
        d.per_victim = false;
        d.severity = 2;
        d.confidence = 0.8;
        d = d
            .ev("protocol", protocol)
            .ev("clients", clients)
            .ev("failed", s.failed)
            .ev("distinct_credentials", pairs)
            .ev("duration_s", secs(s.start, now))
            .ev("port", s.port);
        d.summary = if one_guess {
            d = d.ev("single_guess_clients", settled);
            format!(
                "{clients} different addresses tried {pairs} different passwords on the {human} login of {} in {}, {settled} of them one password each and never again: a botnet sharing out a password list so that none of its bots stands out.",
                who(devices, server),
                span(s.start, now)
            )
        } else {
            format!(
                "{clients} different addresses tried {pairs} different passwords on the {human} login of {} in {}, guessing together so that none of them stands out.",
                who(devices, server),
                span(s.start, now)
            )
        };
        out.push(d);
    }

    fn check(&mut self, key: Key, now: Timestamp, devices: &DeviceTable, out: &mut Vec<Draft>) {
        let need = self.cfg.failures.max(2);
        let ssh_need = self.cfg.ssh_connections.max(2);
        let Some(a) = self.table.get_mut(&key) else {
            return;
        };
        let (sig, success_sig, human) = names(key.protocol);
        let ssh = key.protocol == "ssh";
        let distinct = a.pairs.estimate();
        // A login that worked right after a run of different wrong guesses
        // at tool speed is a compromise even below the usual threshold: some
        // parsers see one login per connection while tools retry several on
        // it. "Tool speed" is under 15 s per guess: hydra against a busy
        // device manages about one per 8 s (seen in the lab), a person
        // retyping a password rarely tries three different ones that fast.
        let machine_speed = a.failed >= 3
            && distinct >= 3
            && now.since(a.start) <= i64::from(a.failed) * 15_000_000;
        // Guesses told apart only by their connections count at tool speed.
        let blind_ok = a.blind == 0
            || now.since(a.start) <= i64::from(a.failed) * BLIND_GUESS_SECS * 1_000_000;
        let guessing = if ssh {
            a.failed >= ssh_need
        } else {
            (a.failed >= need && distinct >= need.div_ceil(2).max(2) && blind_ok)
                || (a.succeeded > 0 && machine_speed)
        };
        let mk = |sig: &'static str, a: &Attempts| {
            let mut d = Draft::new(AlertCategory::Bruteforce, sig, NAME, now);
            d.attacker = Some(key.client);
            d.victims = vec![key.server];
            d.victim_port = a.port;
            d.proto = Some(if matches!(key.protocol, "snmp") {
                17
            } else {
                6
            });
            d.first_seen = a.start;
            d.last_seen = now;
            d.count = u64::from(a.failed + a.succeeded);
            d.evidence.insert("protocol".into(), key.protocol.into());
            d.evidence.insert("failed".into(), a.failed.into());
            d.evidence.insert("succeeded".into(), a.succeeded.into());
            d.evidence
                .insert("distinct_credentials".into(), distinct.into());
            d.evidence
                .insert("duration_s".into(), secs(a.start, now).into());
            d.evidence.insert("port".into(), a.port.into());
            d
        };
        let tries = if ssh { "connections" } else { "passwords" };
        if guessing && !a.alerted {
            a.alerted = true;
            let worked = a.succeeded > 0;
            if worked {
                a.success_alerted = true;
            }
            let mut d = mk(if worked { success_sig } else { sig }, a);
            d.severity = if worked { 1 } else { 2 };
            d.confidence = if ssh { 0.75 } else { 0.9 };
            d.summary = format!(
                "{} tried {} {tries} on the {human} login of {} in {}{}",
                who(devices, key.client),
                a.failed + a.succeeded,
                who(devices, key.server),
                span(a.start, now),
                if worked {
                    "; one of them worked, so the device is probably compromised."
                } else {
                    "."
                }
            );
            out.push(d);
        } else if a.alerted && a.succeeded > 0 && !a.success_alerted {
            a.success_alerted = true;
            let mut d = mk(success_sig, a);
            d.severity = 1;
            d.confidence = 0.9;
            d.summary = format!(
                "After {} failed guesses, {} logged in to the {human} service of {}: the device is probably compromised.",
                a.failed,
                who(devices, key.client),
                who(devices, key.server)
            );
            out.push(d);
        }
    }
}
