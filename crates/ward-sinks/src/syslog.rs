//! Syslog (RFC 5424) over UDP (RFC 5426) or TCP (RFC 6587 octet counting).
//!
//! One event becomes one message:
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME ward - MSGID [ward@32473 k="v" …] SUMMARY
//! <130>1 2024-05-01T10:00:00.123456Z pi ward - alert [ward@32473 sig="telnet-bruteforce" sev="1" cat="bruteforce" src="10.0.0.9"] 41 failed Telnet logins …
//! ```
//!
//! PRI is `facility · 8 + level`, the level mapped from ward's severity
//! (1 → crit, 2 → err, 3 → warning, 4 → notice; events without a
//! severity → info). TIMESTAMP is the event's packet time. 32473 is the
//! IANA "example" enterprise number RFC 5612 sets aside for documentation;
//! a deployment that wants its own registers one. Header fields are
//! restricted to printable ASCII and truncated to the RFC's lengths;
//! parameter values escape `"`, `\` and `]`; control characters in the
//! summary become spaces so one message stays one line in any collector.
//! A summary with non-ASCII text is prefixed with the UTF-8 BOM, as the
//! RFC requires for UTF-8 MSG.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use ward_core::Event;

use crate::config::{SyslogConfig, SyslogTransport};
use crate::queue::{Deliver, DeliverError};
use crate::SinkError;

/// Our structured-data ID (the documentation enterprise number, RFC 5612).
pub const SD_ID: &str = "ward@32473";
/// Longest UDP message we send (RFC 5426 says receivers must take 480
/// bytes and should take 2048; we truncate the summary to fit 2048).
pub const MAX_UDP_BYTES: usize = 2048;
const MAX_TCP_BYTES: usize = 64 * 1024;

/// Facility number for a name (RFC 5424 table 1).
pub fn facility_code(name: &str) -> Option<u8> {
    Some(match name {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return None,
    })
}

/// Syslog level for a ward severity (1 highest … 4).
pub fn level_for(severity: Option<u8>) -> u8 {
    match severity {
        Some(1) => 2,
        Some(2) => 3,
        Some(3) => 4,
        Some(_) => 5,
        None => 6,
    }
}

/// `PRINTUSASCII` only (33–126), at most `max` bytes; empty becomes `-`.
fn header_field(s: &str, max: usize) -> String {
    let v: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// PARAM-VALUE: escape `"`, `\` and `]`; control characters become spaces.
fn param_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Format `event` as one RFC 5424 message (no framing). `max_bytes`
/// bounds the whole message; only the summary is shortened to fit.
pub fn format(event: &Event, facility: u8, hostname: &str, max_bytes: usize) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    let (severity, msgid, summary) = if let Some(a) = &event.alert {
        params.push(("sig", a.signature.clone()));
        params.push(("sev", a.severity.to_string()));
        params.push(("cat", a.category.as_str().to_string()));
        params.push(("conf", format!("{:.2}", a.confidence)));
        params.push(("detector", a.detector.clone()));
        if let Some(ip) = a.attacker {
            params.push(("attacker", ip.to_string()));
        }
        (Some(a.severity), "alert", a.summary.clone())
    } else if let Some(f) = &event.finding {
        params.push(("kind", f.kind.as_str().to_string()));
        params.push(("sev", f.severity.to_string()));
        params.push(("proto", f.protocol.clone()));
        if let Some(d) = &f.device {
            params.push(("device", d.clone()));
        }
        (Some(f.severity), "finding", f.summary.clone())
    } else if let Some(d) = &event.device {
        let who = d
            .mac
            .map(|m| m.to_string())
            .or_else(|| d.ips.first().map(|ip| ip.to_string()))
            .unwrap_or_default();
        params.push(("reason", d.reason.clone()));
        (None, "device", format!("device {who} ({})", d.reason))
    } else if let Some(s) = &event.stats {
        params.push(("packets", s.packets.to_string()));
        if let Some(d) = s.capture_dropped {
            params.push(("dropped", d.to_string()));
        }
        (
            None,
            "stats",
            format!("{} packets, {} alerts", s.packets, s.alerts),
        )
    } else {
        (None, "flow", "flow".to_string())
    };
    if let Some(ip) = event.src_ip {
        params.push(("src", ip.to_string()));
    }
    if let Some(ip) = event.dest_ip {
        params.push(("dst", ip.to_string()));
    }
    let pri = u16::from(facility) * 8 + u16::from(level_for(severity));
    let mut msg = format!(
        "<{pri}>1 {} {} ward - {msgid} [{SD_ID}",
        event.timestamp,
        header_field(hostname, 255),
    );
    for (k, v) in &params {
        msg.push_str(&format!(" {k}=\"{}\"", param_value(v)));
    }
    msg.push_str("] ");
    let summary: String = summary
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if !summary.is_ascii() {
        msg.push('\u{feff}');
    }
    let room = max_bytes.saturating_sub(msg.len());
    let mut cut = summary.len().min(room);
    while !summary.is_char_boundary(cut) {
        cut -= 1;
    }
    msg.push_str(&summary[..cut]);
    msg
}

fn this_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

enum Conn {
    Udp(UdpSocket),
    Tcp(Option<TcpStream>),
}

pub struct Syslog {
    address: String,
    facility: u8,
    hostname: String,
    conn: Conn,
}

impl Syslog {
    pub fn open(cfg: &SyslogConfig) -> Result<Syslog, SinkError> {
        let facility = facility_code(&cfg.facility).ok_or_else(|| {
            SinkError::Config(format!("unknown syslog facility `{}`", cfg.facility))
        })?;
        let conn = match cfg.transport {
            SyslogTransport::Udp => {
                let target = cfg
                    .address
                    .to_socket_addrs()
                    .map_err(|e| SinkError::Start(format!("syslog address {}: {e}", cfg.address)))?
                    .next()
                    .ok_or_else(|| {
                        SinkError::Start(format!(
                            "syslog address {} resolves to nothing",
                            cfg.address
                        ))
                    })?;
                let bind = if target.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let s = UdpSocket::bind(bind)
                    .and_then(|s| s.connect(target).map(|_| s))
                    .map_err(|e| SinkError::Start(format!("syslog {}: {e}", cfg.address)))?;
                Conn::Udp(s)
            }
            // Connected on first use, and again after an error.
            SyslogTransport::Tcp => Conn::Tcp(None),
        };
        Ok(Syslog {
            address: cfg.address.clone(),
            facility,
            hostname: cfg.hostname.clone().unwrap_or_else(this_hostname),
            conn,
        })
    }
}

impl Deliver for Syslog {
    fn deliver(&mut self, event: &Event) -> Result<(), DeliverError> {
        let retry =
            |e: std::io::Error| DeliverError::Retry(format!("syslog {}: {e}", self.address));
        match &mut self.conn {
            Conn::Udp(s) => {
                let msg = format(event, self.facility, &self.hostname, MAX_UDP_BYTES);
                s.send(msg.as_bytes()).map(drop).map_err(retry)
            }
            Conn::Tcp(slot) => {
                let msg = format(event, self.facility, &self.hostname, MAX_TCP_BYTES);
                if slot.is_none() {
                    let addr = self
                        .address
                        .to_socket_addrs()
                        .map_err(retry)?
                        .next()
                        .ok_or_else(|| {
                            DeliverError::Retry(format!("syslog {}: no address", self.address))
                        })?;
                    let s =
                        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(retry)?;
                    let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
                    *slot = Some(s);
                }
                let Some(s) = slot.as_mut() else {
                    return Err(DeliverError::Retry("not connected".into()));
                };
                let framed = format!("{} {msg}", msg.len());
                if let Err(e) = s.write_all(framed.as_bytes()) {
                    *slot = None;
                    return Err(retry(e));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use ward_core::{Alert, AlertCategory, Timestamp};

    fn alert(summary: &str, sig: &str) -> Event {
        Event::alert(
            Timestamp::parse_rfc3339("2024-05-01T10:00:00.123456Z").unwrap(),
            Alert {
                category: AlertCategory::Bruteforce,
                signature: sig.into(),
                severity: 1,
                confidence: 0.9,
                summary: summary.into(),
                evidence: BTreeMap::new(),
                devices: vec![],
                attacker: Some("10.0.0.9".parse().unwrap()),
                victims: vec![],
                first_seen: Timestamp::ZERO,
                last_seen: Timestamp::ZERO,
                count: 41,
                detector: "attacks".into(),
            },
        )
        .with_endpoints(
            Some(("10.0.0.9".parse().unwrap(), 40000)),
            Some(("10.0.0.2".parse().unwrap(), 23)),
            Some(6),
        )
    }

    #[test]
    fn formats_rfc5424() {
        let m = format(
            &alert("41 failed Telnet logins", "telnet-bruteforce"),
            16,
            "pi",
            2048,
        );
        assert_eq!(
            m,
            "<130>1 2024-05-01T10:00:00.123456Z pi ward - alert [ward@32473 sig=\"telnet-bruteforce\" sev=\"1\" cat=\"bruteforce\" conf=\"0.90\" detector=\"attacks\" attacker=\"10.0.0.9\" src=\"10.0.0.9\" dst=\"10.0.0.2\"] 41 failed Telnet logins"
        );
    }

    #[test]
    fn escapes_values_and_sanitises_fields() {
        let m = format(
            &alert("line1\nline2 ünïcode", "a\"b]c\\d"),
            3,
            "my host",
            2048,
        );
        assert!(m.contains(r#"sig="a\"b\]c\\d""#), "{m}");
        assert!(m.starts_with("<26>1 "), "daemon.crit: {m}");
        assert!(m.contains(" myhost ward "), "{m}");
        assert!(m.ends_with("] \u{feff}line1 line2 ünïcode"), "{m}");
        assert!(!m.contains('\n'));
    }

    #[test]
    fn truncates_to_the_limit_on_a_char_boundary() {
        let long = "é".repeat(3000);
        let m = format(&alert(&long, "x"), 16, "h", 2048);
        assert!(m.len() <= 2048, "{}", m.len());
        assert!(m.len() > 2000);
    }
}
