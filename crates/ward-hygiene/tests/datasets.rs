//! The whole engine plus [`HygieneDetector`] over the real credential
//! traces in `$WARD_DATASETS`.
//!
//! Quality target: every login in the traces is found, with its protocol
//! and username, and nothing else is reported as a credential. The
//! expected logins are the ground truth that `ward-proto`'s
//! `tests/credentials.rs` takes from each capture's Suricata `test.yaml`,
//! README or a tshark reading (see the notes there); here they are
//! reduced to the (protocol, username) pairs a person would be told
//! about. Logins without a readable secret (VNC challenge-response,
//! SNMPv3 USM, anonymous FTP) are not credentials in the clear and are
//! checked as the other findings they produce instead.
//!
//! `cargo test -p ward-hygiene --test datasets -- --nocapture` prints the
//! expected-versus-found table. Skips (and says so) without
//! `WARD_DATASETS`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use ward_capture::{MergedReader, RawPacket};
use ward_core::{Config, Engine, Event, FindingKind, Timestamp, VecSink};
use ward_hygiene::HygieneDetector;

fn dataset(rel: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("WARD_DATASETS") else {
        eprintln!("WARD_DATASETS is not set: skipping the dataset tests");
        return None;
    };
    let p = PathBuf::from(root).join(rel);
    assert!(p.exists(), "{} missing from WARD_DATASETS", p.display());
    Some(p)
}

fn run(path: &PathBuf, reveal: bool) -> Vec<Event> {
    let mut cfg = Config::default().engine;
    cfg.reveal_secrets = reveal;
    let mut engine = Engine::new(cfg, 7, vec![Box::new(HygieneDetector::default())]);
    let mut reader = MergedReader::open(&[path]).expect("capture opens");
    let mut sink = VecSink::default();
    let mut pkt = RawPacket::default();
    while reader.next_packet(&mut pkt) {
        engine.process(
            Timestamp::from_nanos(pkt.ts_nanos),
            pkt.linktype,
            &pkt.data,
            pkt.orig_len,
            &mut sink,
        );
    }
    let _ = AtomicBool::new(false);
    engine.finish(&mut sink);
    sink.0
}

const CREDENTIAL_KINDS: [FindingKind; 3] = [
    FindingKind::CleartextCredentials,
    FindingKind::DefaultCredentials,
    FindingKind::WeakCredentials,
];

type Login = (String, Option<String>);

/// (protocol, username) of every login the credential findings tell about.
fn logins(events: &[Event]) -> BTreeSet<Login> {
    let mut out = BTreeSet::new();
    for f in events.iter().filter_map(|e| e.finding.as_ref()) {
        if !CREDENTIAL_KINDS.contains(&f.kind) {
            continue;
        }
        out.insert((f.protocol.clone(), f.username.clone()));
        if let Some(list) = f.evidence.get("usernames").and_then(|v| v.as_array()) {
            for u in list.iter().filter_map(|u| u.as_str()) {
                out.insert((f.protocol.clone(), Some(u.to_string())));
            }
        }
    }
    out
}

fn kinds(events: &[Event]) -> BTreeSet<(FindingKind, String)> {
    events
        .iter()
        .filter_map(|e| e.finding.as_ref())
        .map(|f| (f.kind, f.protocol.clone()))
        .collect()
}

struct Case {
    capture: &'static str,
    logins: &'static [(&'static str, Option<&'static str>)],
    /// Other findings that must be present (kind, protocol).
    also: &'static [(FindingKind, &'static str)],
}

fn cases() -> Vec<Case> {
    use FindingKind::*;
    let mqtt = |capture| Case {
        capture,
        logins: &[("mqtt", Some("user"))],
        also: &[(InsecureProtocol, "mqtt"), (WeakCredentials, "mqtt")],
    };
    vec![
        Case {
            capture: "suricata-verify/telnet/telnet-01/telnet.pcap",
            logins: &[("telnet", Some("fake"))],
            also: &[(InsecureProtocol, "telnet"), (RiskyService, "telnet")],
        },
        mqtt("suricata-verify/mqtt31-pub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt31-sub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt311-pub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt311-sub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt5-pub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt5-sub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt5-pub-mosquittoprops/input.pcap"),
        // Enhanced auth with method "foo", data "1234", refused.
        Case {
            capture: "suricata-verify/mqtt5-sub-customauth/input.pcap",
            logins: &[("mqtt", None)],
            also: &[(InsecureProtocol, "mqtt")],
        },
        Case {
            capture: "suricata-verify/pop3-auth-01/input.pcap",
            logins: &[("pop3", Some("joe.speedboat"))],
            also: &[(InsecureProtocol, "pop3")],
        },
        Case {
            capture: "suricata-verify/snmp-v2c-get/SNMPv2c_get_requests.pcap",
            logins: &[("snmp", None)],
            also: &[(InsecureProtocol, "snmp")],
        },
        Case {
            capture: "suricata-verify/snmp-v3-unauth/snmp-v3-get-bulk-unauth.pcap",
            logins: &[],
            also: &[],
        },
        Case {
            capture: "suricata-verify/rfb-protocol-3.3/06-vnc-Password-3.3.pcap",
            logins: &[],
            also: &[(InsecureProtocol, "vnc")],
        },
        Case {
            capture: "suricata-verify/ftp/ftp-download-passive/input.pcap",
            logins: &[("ftp", Some("bob"))],
            also: &[(InsecureProtocol, "ftp"), (WeakCredentials, "ftp")],
        },
        // 30 refused guesses: cleartext, but no default/weak verdict.
        Case {
            capture: "zeek-traces/ftp/bruteforce.pcap",
            logins: &[("ftp", Some("bro"))],
            also: &[(InsecureProtocol, "ftp")],
        },
        Case {
            capture: "zeek-traces/ftp/ftp-password-pass-command.pcap",
            logins: &[("ftp", Some("Admin"))],
            also: &[(InsecureProtocol, "ftp")],
        },
        Case {
            capture: "zeek-traces/ftp/ipv4.pcap",
            logins: &[],
            also: &[(RiskyService, "ftp")],
        },
        Case {
            capture: "zeek-traces/ftp/retr.pcap",
            logins: &[],
            also: &[(RiskyService, "ftp")],
        },
        Case {
            capture: "zeek-traces/var-services-std-ports.pcap",
            logins: &[("ftp", Some("jsiwek"))],
            also: &[(InsecureProtocol, "ftp")],
        },
        Case {
            capture: "zeek-traces/rfb/vnc-mac-to-linux.pcap",
            logins: &[],
            also: &[(InsecureProtocol, "vnc")],
        },
        Case {
            capture: "zeek-traces/rfb/vnc-scanner.pcap",
            logins: &[],
            also: &[(InsecureProtocol, "vnc")],
        },
        Case {
            capture: "zeek-traces/mqtt.pcap",
            logins: &[],
            also: &[(RiskyService, "mqtt")],
        },
        Case {
            capture: "zeek-traces/pop3/pop3.pcap",
            logins: &[("pop3", Some("digitalinvestigator@networksims.com"))],
            also: &[(InsecureProtocol, "pop3")],
        },
        Case {
            capture: "zeek-traces/snmp/snmpv2_get.pcap",
            logins: &[("snmp", None)],
            also: &[(InsecureProtocol, "snmp")],
        },
        Case {
            capture: "zeek-traces/snmp/snmpwalk-short.pcap",
            logins: &[("snmp", None)],
            also: &[(InsecureProtocol, "snmp")],
        },
        Case {
            capture: "zeek-traces/snmp/snmpv1_trap.pcap",
            logins: &[("snmp", None)],
            also: &[(InsecureProtocol, "snmp")],
        },
        Case {
            capture: "zeek-traces/snmp/snmpv3_get_next.pcap",
            logins: &[],
            also: &[],
        },
        HTTP_BASIC_COLON,
        HTTP_BASIC_SPACE,
        // Bearer tokens and an unknown scheme: not a login ward can judge.
        Case {
            capture: "suricata-verify/http-auth-bearer/input.pcap",
            logins: &[],
            also: &[],
        },
        Case {
            capture: "suricata-verify/http-auth-unrecognized/input.pcap",
            logins: &[],
            also: &[],
        },
        // Captures with no login at all.
        Case {
            capture: "suricata-verify/ssh-hassh/input.pcap",
            logins: &[],
            also: &[],
        },
        Case {
            capture: "zeek-traces/ssh/sshguess.pcap",
            logins: &[],
            also: &[],
        },
        Case {
            capture: "zeek-traces/nmap-vsn.pcap",
            logins: &[],
            also: &[],
        },
        Case {
            capture: "zeek-traces/modbus/modbusSmall.pcap",
            logins: &[],
            also: &[],
        },
        Case {
            capture: "zeek-traces/irc-basic.pcap",
            logins: &[],
            also: &[],
        },
        Case {
            capture: "smarthome-fdekeers/data/traces/tplink-plug/tp-link.pcap",
            logins: &[],
            also: &[],
        },
    ]
}

// Zeek's http tests: Basic credentials whose password holds a colon, and a
// header with an extra space (usernames per `tshark -Y http.authbasic`).
const HTTP_BASIC_COLON: Case = Case {
    capture: "zeek-traces/http/basic-auth-with-colon.pcap",
    logins: &[("http", Some("test"))],
    also: &[(FindingKind::InsecureProtocol, "http")],
};
const HTTP_BASIC_SPACE: Case = Case {
    capture: "zeek-traces/http/basic-auth-with-extra-space.pcap",
    logins: &[("http", Some("test"))],
    also: &[(FindingKind::InsecureProtocol, "http")],
};

#[test]
fn every_login_is_found_and_nothing_else_is_a_credential() {
    if dataset("suricata-verify").is_none() {
        return;
    }
    let mut failures = Vec::new();
    println!(
        "{:<62} {:<44} {:<44} ok",
        "capture", "expected (protocol, user)", "found"
    );
    for case in cases() {
        let path = dataset(case.capture).unwrap();
        let events = run(&path, false);
        let got = logins(&events);
        let want: BTreeSet<Login> = case
            .logins
            .iter()
            .map(|(p, u)| (p.to_string(), u.map(str::to_string)))
            .collect();
        let have = kinds(&events);
        let missing_also: Vec<_> = case
            .also
            .iter()
            .filter(|(k, p)| !have.contains(&(*k, p.to_string())))
            .collect();
        let ok = got == want && missing_also.is_empty();
        let show = |s: &BTreeSet<Login>| {
            s.iter()
                .map(|(p, u)| format!("{p}/{}", u.as_deref().unwrap_or("-")))
                .collect::<Vec<_>>()
                .join(",")
        };
        println!(
            "{:<62} {:<44} {:<44} {}",
            case.capture,
            show(&want),
            show(&got),
            if ok { "yes" } else { "NO" }
        );
        if !ok {
            failures.push(format!(
                "{}: want {want:?} got {got:?}; missing {missing_also:?}; all findings {have:?}",
                case.capture
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn secrets_are_withheld_unless_revealed_and_findings_name_their_endpoints() {
    let Some(path) = dataset("suricata-verify/telnet/telnet-01/telnet.pcap") else {
        return;
    };
    for reveal in [false, true] {
        let events = run(&path, reveal);
        let creds: Vec<&Event> = events
            .iter()
            .filter(|e| {
                e.finding
                    .as_ref()
                    .is_some_and(|f| CREDENTIAL_KINDS.contains(&f.kind))
            })
            .collect();
        assert!(!creds.is_empty());
        for e in creds {
            let f = e.finding.as_ref().unwrap();
            assert_eq!(f.secret.is_some(), reveal, "{f:?}");
            assert_eq!(f.secret_redacted, !reveal, "{f:?}");
            assert_eq!(e.dest_port, Some(23), "client → server: {e:?}");
            assert!(e.src_ip.is_some() && f.device.is_some() && f.remedy.is_some());
            if reveal {
                assert_eq!(f.secret.as_deref(), Some("user"));
            }
        }
        let json = events
            .iter()
            .map(Event::to_json)
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(json.contains("\"secret\":\"user\""), reveal);
    }
}

#[test]
fn brute_force_is_one_cleartext_finding_with_the_count_and_no_verdict() {
    let Some(path) = dataset("zeek-traces/ftp/bruteforce.pcap") else {
        return;
    };
    let events = run(&path, false);
    let findings: Vec<_> = events.iter().filter_map(|e| e.finding.as_ref()).collect();
    let clear: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::CleartextCredentials)
        .collect();
    assert_eq!(clear.len(), 1, "{findings:?}");
    assert_eq!(clear[0].evidence["logins"], 30);
    assert_eq!(clear[0].evidence["outcomes"]["failure"], 30);
    assert!(!findings.iter().any(|f| matches!(
        f.kind,
        FindingKind::DefaultCredentials | FindingKind::WeakCredentials
    )));
}

/// (kind, protocol, username, evidence key, evidence value) a capture must yield.
type Expect = (
    FindingKind,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

#[test]
fn iot_sentinel_devices_show_their_real_weaknesses() {
    if dataset("iot-sentinel").is_none() {
        return;
    }
    use FindingKind::*;
    let cases: [(&str, &[Expect]); 3] = [
        // The Edimax plug is configured with HTTP Basic admin:1234 (its factory
        // login, in Mirai's list) and answers with lighttpd/1.4.31.
        (
            "iot-sentinel/EdimaxPlug1101W/Setup-C-2-STA.pcap",
            &[
                (DefaultCredentials, "http", Some("admin"), "list", "mirai"),
                (
                    CleartextCredentials,
                    "http",
                    Some("admin"),
                    "methods",
                    "basic",
                ),
                (InsecureProtocol, "http", None, "method", "basic"),
                (
                    VulnerableSoftware,
                    "http",
                    None,
                    "banner",
                    "lighttpd/1.4.31",
                ),
            ],
        ),
        // D-Link's hub: lighttpd/1.4.34, and a TLS client whose best is TLS 1.0.
        (
            "iot-sentinel/D-LinkHomeHub/Setup-C-1-STA.pcap",
            &[
                (
                    VulnerableSoftware,
                    "http",
                    None,
                    "banner",
                    "lighttpd/1.4.34",
                ),
                (WeakTls, "tls", None, "reason", "max-TLS 1.0"),
            ],
        ),
        (
            "iot-sentinel/D-LinkCam/Setup-C-1-STA.pcap",
            &[(WeakTls, "tls", None, "reason", "max-TLS 1.0")],
        ),
    ];
    for (capture, expects) in cases {
        let events = run(&dataset(capture).unwrap(), false);
        let findings: Vec<_> = events.iter().filter_map(|e| e.finding.as_ref()).collect();
        for (kind, proto, user, key, value) in expects {
            let hit = findings.iter().any(|f| {
                f.kind == *kind
                    && f.protocol == *proto
                    && f.username.as_deref() == *user
                    && match &f.evidence.get(*key) {
                        Some(serde_json::Value::String(s)) => s == value,
                        Some(serde_json::Value::Array(a)) => a.iter().any(|x| x == value),
                        _ => false,
                    }
            });
            assert!(
                hit,
                "{capture}: no {kind:?} {proto} {user:?} {key}={value} in {findings:#?}"
            );
        }
        // The client's own TLS 1.0 offer explains the server's choice: one finding, not two.
        assert!(!findings.iter().any(|f| f.evidence.get("reason")
            == Some(&serde_json::Value::String("server-chose-TLS 1.0".into()))));
    }
}

/// Every capture file under `dir` (sorted, so the output is stable).
fn captures(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.starts_with("pcap"))
        {
            out.push(p);
        }
    }
}

/// The benign device captures (IoT Sentinel set-ups, a week of a Blink camera
/// and a Lockly hub, TP-Link/Xiaomi traces) hold many `Server:`, SSDP, SSH
/// and FTP banners. The vulnerable-software table may match only the
/// versions that really are in its ranges: the two lighttpd builds below
/// (checked by hand with tshark: `lighttpd/1.4.31` on the Edimax plugs,
/// `lighttpd/1.4.34` on the D-Link hub, both < 1.4.50) and nothing else —
/// not the `Linux/… UPnP/1.0 …` SSDP servers, not current OpenSSH/Dropbear.
#[test]
fn benign_captures_match_only_banners_that_are_really_in_range() {
    let Some(root) = dataset("iot-sentinel") else {
        return;
    };
    let root = root.parent().unwrap().to_path_buf();
    let mut files = Vec::new();
    for dir in ["iot-sentinel", "iot-cset2021", "smarthome-fdekeers"] {
        captures(&root.join(dir), &mut files);
    }
    assert!(files.len() > 300, "{} captures", files.len());
    let mut found: BTreeSet<(String, String, String)> = BTreeSet::new();
    for f in &files {
        for e in run(f, false) {
            let Some(fi) = e.finding else { continue };
            if fi.kind != FindingKind::VulnerableSoftware {
                continue;
            }
            let s = |k: &str| {
                fi.evidence
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            found.insert((s("product"), s("version"), s("banner")));
        }
    }
    println!("{} captures; vulnerable-software matches:", files.len());
    for m in &found {
        println!("  {m:?}");
    }
    let versions: BTreeSet<(String, String)> = found
        .iter()
        .map(|(p, v, _)| (p.clone(), v.clone()))
        .collect();
    let expected: BTreeSet<(String, String)> = [("lighttpd", "1.4.31"), ("lighttpd", "1.4.34")]
        .iter()
        .map(|(p, v)| (p.to_string(), v.to_string()))
        .collect();
    assert_eq!(versions, expected);
}
