//! `ward audit`: the opt-in active check of devices you own (open IoT
//! ports, banners, factory-default logins). The logic and its safety
//! bounds live in `ward_hygiene::audit`; this file parses arguments,
//! collects targets, prints the table and writes EVE findings.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ward_core::{Event, EventSink, EventType};
use ward_hygiene::audit::{self, AuditConfig};

use crate::eve::EveWriter;

#[derive(Args, Debug)]
#[command(after_help = "Only audit devices you own or are allowed to test.\n\n\
Examples:\n  \
    ward audit 192.168.1.64\n  \
    ward audit --eve audit.json 192.168.1.0/24\n  \
    ward audit --inventory events.json --credentials mine.txt\n\n\
Exit status: 0 audit done (whatever it found); 1 bad targets or arguments, or output not writable.")]
pub struct AuditArgs {
    /// Addresses or CIDRs to audit (IPv4 up to /22, IPv6 up to /118 without --allow-large).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Also store the findings in ward's database FILE (for `ward serve`), next to what
    /// `ward analyze --db` and `ward watch --db` put there.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Also audit every device address of an inventory: ward's state file, or an EVE file
    /// written by `ward analyze --eve` (skipped with a note when it does not exist yet).
    #[arg(long, value_name = "STATE")]
    pub inventory: Option<PathBuf>,
    /// Allow addresses outside private, link-local, CGNAT and ULA ranges.
    #[arg(long)]
    pub allow_public: bool,
    /// Also audit inventory addresses that are not on a network this machine is
    /// directly attached to (an inventory from a capture of another network names
    /// addresses that, here, may belong to someone else).
    #[arg(long)]
    pub allow_remote_inventory: bool,
    /// Allow CIDRs larger than /22 (never more than 65536 hosts).
    #[arg(long)]
    pub allow_large: bool,
    /// TCP ports to check, comma-separated (default: common IoT ports).
    #[arg(long, value_delimiter = ',', value_name = "PORTS")]
    pub ports: Vec<u16>,
    /// Connection attempts per second, over all threads.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub rate: u32,
    /// Connections in flight at most.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// Connect timeout, milliseconds.
    #[arg(long, default_value_t = 1500, value_name = "MS")]
    pub connect_timeout_ms: u64,
    /// Timeout of each read or write, milliseconds.
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    pub io_timeout_ms: u64,
    /// Time budget per host, seconds.
    #[arg(long, default_value_t = 120, value_name = "S")]
    pub host_timeout: u64,
    /// Credential pairs tried per service at most.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_pairs: usize,
    /// Extra `username:password` lines to try first.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Grab banners only; try no logins.
    #[arg(long)]
    pub no_credentials: bool,
    /// Write the password of a factory login that worked into the findings
    /// (redacted by default: `secret_redacted: true`).
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Write findings as EVE NDJSON to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub eve: Option<PathBuf>,
}

/// Device addresses from an inventory: the state file ward keeps between
/// runs (a JSON object whose `devices` map holds entries with `ips`), or
/// the `device` events of an EVE file.
fn inventory_addresses(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let mut ips: BTreeSet<IpAddr> = BTreeSet::new();
    let text =
        std::fs::read(path).with_context(|| format!("cannot read inventory {}", path.display()))?;
    if let Ok(serde_json::Value::Object(state)) = serde_json::from_slice(&text) {
        if let Some(serde_json::Value::Object(devices)) = state.get("devices") {
            for entry in devices.values() {
                let list = entry.get("ips").and_then(|v| v.as_array());
                for ip in list.into_iter().flatten() {
                    if let Some(ip) = ip.as_str().and_then(|s| s.parse().ok()) {
                        ips.insert(ip);
                    }
                }
            }
            return Ok(ips.into_iter().map(|ip| ip.to_string()).collect());
        }
    }
    for line in text.lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let Ok(e) = serde_json::from_str::<Event>(&line) else {
            continue;
        };
        if e.event_type == EventType::Device {
            if let Some(d) = e.device {
                ips.extend(d.ips.iter().copied());
            }
        }
    }
    Ok(ips.into_iter().map(|ip| ip.to_string()).collect())
}

/// IPv4 networks this machine is directly attached to (`/proc/net/route`
/// entries without a gateway), as (network, mask) in host byte order.
fn attached_ipv4_networks() -> Vec<(u32, u32)> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else {
        return Vec::new();
    };
    parse_proc_route(&text)
}

fn parse_proc_route(text: &str) -> Vec<(u32, u32)> {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; addresses
    // are little-endian hex.
    let hex = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::from_be);
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (dest, gw, mask) = (hex(f.get(1)?)?, hex(f.get(2)?)?, hex(f.get(7)?)?);
            (gw == 0 && mask != 0).then_some((dest, mask))
        })
        .collect()
}

/// Keep the inventory addresses a scan from here may touch: IPv4 on an
/// attached network, or IPv6 link-local (which can only be on-link).
fn on_attached_networks(found: Vec<String>, nets: &[(u32, u32)]) -> (Vec<String>, usize) {
    let before = found.len();
    let kept: Vec<String> = found
        .into_iter()
        .filter(|a| match a.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => {
                let x = u32::from(v4);
                nets.iter().any(|(net, mask)| x & mask == net & mask)
            }
            Ok(IpAddr::V6(v6)) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            Err(_) => false,
        })
        .collect();
    let dropped = before - kept.len();
    (kept, dropped)
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let mut specs = args.targets.clone();
    if let Some(inv) = &args.inventory {
        if inv.exists() {
            let mut found = inventory_addresses(inv)?;
            eprintln!(
                "ward: {} device addresses from inventory {}",
                found.len(),
                inv.display()
            );
            if !args.allow_remote_inventory {
                let (kept, dropped) = on_attached_networks(found, &attached_ipv4_networks());
                if dropped > 0 {
                    eprintln!(
                        "ward: skipped {dropped} inventory address(es) not on a network this machine is attached to (--allow-remote-inventory to include them)"
                    );
                }
                found = kept;
            }
            specs.extend(found);
        } else {
            eprintln!(
                "ward: no inventory at {} yet (run `ward analyze --eve {}` first): skipped",
                inv.display(),
                inv.display()
            );
        }
    }
    if specs.is_empty() {
        anyhow::bail!("no targets: name addresses or CIDRs, or --inventory EVE_FILE");
    }
    let targets = audit::parse_targets(&specs, args.allow_public, args.allow_large)?;
    let mut cfg = AuditConfig {
        rate_per_sec: args.rate.max(1),
        concurrency: args.concurrency.max(1),
        connect_timeout: Duration::from_millis(args.connect_timeout_ms.max(1)),
        io_timeout: Duration::from_millis(args.io_timeout_ms.max(1)),
        host_timeout: Duration::from_secs(args.host_timeout.max(1)),
        max_pairs: args.max_pairs,
        try_credentials: !args.no_credentials,
        reveal_secrets: args.reveal_secrets,
        ..AuditConfig::default()
    };
    if !args.ports.is_empty() {
        cfg.ports = args.ports.clone();
    }
    if let Some(p) = &args.credentials {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read credentials {}", p.display()))?;
        cfg.extra_credentials =
            audit::parse_credentials(&text).with_context(|| format!("in {}", p.display()))?;
    }
    let mut eve = match &args.eve {
        Some(p) => Some(EveWriter::create(p)?),
        None => None,
    };

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    eprintln!(
        "ward: auditing {} host(s) × {} port(s) at ≤ {}/s …",
        targets.len(),
        cfg.ports.len(),
        cfg.rate_per_sec
    );
    let out = audit::run(&targets, cfg, stop);

    if let Some(w) = eve.as_mut() {
        for e in &out.findings {
            w.emit(e);
        }
    }
    if let Some(w) = eve {
        w.finish().context("writing EVE output")?;
    }
    if let Some(path) = &args.db {
        let store = ward_store::Store::open(path)
            .with_context(|| format!("cannot open store {}", path.display()))?;
        let mut sink = ward_store::StoreSink::new(store);
        for e in &out.findings {
            sink.emit(e);
        }
        sink.finish()
            .with_context(|| format!("writing store {}", path.display()))?;
    }

    let to_stderr = args.eve.as_deref() == Some(std::path::Path::new("-"));
    let mut text = String::new();
    text.push_str(&format!(
        "\nOpen services ({})\n  {:<40} {:<8} {:<12} {:>5}  banner\n",
        out.services.len(),
        "address",
        "service",
        "credentials",
        "tried"
    ));
    for s in &out.services {
        text.push_str(&format!(
            "  {:<40} {:<8} {:<12} {:>5}  {}\n",
            std::net::SocketAddr::new(s.ip, s.port).to_string(),
            s.service,
            s.credentials,
            s.tried,
            s.banner.chars().take(80).collect::<String>()
        ));
    }
    text.push_str(&format!("\nFindings ({})\n", out.findings.len()));
    for e in &out.findings {
        if let Some(f) = &e.finding {
            text.push_str(&format!(
                "  [{}] {:<20} {:<7} {}\n      → {}\n",
                f.severity,
                f.kind.as_str(),
                f.protocol,
                f.summary,
                f.remedy.as_deref().unwrap_or("")
            ));
        }
    }
    text.push_str(&format!(
        "\n{} connections; {}.\n",
        out.connections,
        if args.reveal_secrets {
            "passwords that worked are written (--reveal-secrets)"
        } else {
            "passwords are redacted (--reveal-secrets to write them)"
        }
    ));
    if !out.hosts_timed_out.is_empty() {
        text.push_str(&format!(
            "Time budget ran out for: {:?}\n",
            out.hosts_timed_out
        ));
    }
    if out.interrupted {
        text.push_str("Interrupted: results cover what was checked so far.\n");
    }
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_addresses_off_the_attached_networks_are_skipped() {
        // 192.168.50.0/24 on eth0 and a default route via 192.168.50.1.
        let route =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t0132A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t0032A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let nets = parse_proc_route(route);
        assert_eq!(nets, vec![(0xc0a8_3200, 0xffff_ff00)]);
        let found = vec![
            "192.168.50.9".to_string(),
            "192.168.56.101".to_string(),
            "10.10.3.4".to_string(),
            "fe80::1".to_string(),
            "fd00::1".to_string(),
        ];
        let (kept, dropped) = on_attached_networks(found, &nets);
        assert_eq!(
            kept,
            vec!["192.168.50.9".to_string(), "fe80::1".to_string()]
        );
        assert_eq!(dropped, 3);
    }
}
