//! Credential protocols over real captures from `$WARD_DATASETS`.
//!
//! Expected logins come from each capture's ground truth: Suricata's
//! `test.yaml` (MQTT username/password, SNMP community, RFB result, FTP
//! `USER`), the capture's README (Telnet `fake`/`user`), or — where the
//! upstream suite only has Zeek baseline logs that are not copied here —
//! from reading the capture with tshark (noted per row). Each row must be
//! found exactly (protocol, method, username, secret, outcome, in order),
//! and captures without logins must yield no credential at all.
//!
//! `cargo test -p ward-proto --test credentials -- --nocapture` prints the
//! expected-versus-found table.

mod common;

use ward_proto::{AppEvent, LoginOutcome};

use LoginOutcome::{Failure, Success, Unknown};

type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    LoginOutcome,
);

struct Case {
    capture: &'static str,
    creds: Vec<Row>,
    noauth: &'static [&'static str],
}

/// (protocol, method, username, secret, outcome) as owned strings.
type Found = (String, String, Option<String>, Option<String>, LoginOutcome);

fn found(events: &[AppEvent]) -> Vec<Found> {
    events
        .iter()
        .filter_map(|e| match e {
            AppEvent::Credential(c) => Some((
                c.protocol.to_string(),
                c.method.to_string(),
                c.username.clone(),
                c.secret.as_ref().map(|s| s.expose().to_string()),
                c.outcome,
            )),
            _ => None,
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let mqtt = |capture| Case {
        capture,
        creds: vec![("mqtt", "user-pass", Some("user"), Some("pass"), Success)],
        noauth: &[],
    };
    let brute: Vec<Row> = (1..=30)
        .map(|i| -> Row {
            let pass: &'static str = Box::leak(i.to_string().into_boxed_str());
            ("ftp", "user-pass", Some("bro"), Some(pass), Failure)
        })
        .collect();
    vec![
        Case {
            capture: "suricata-verify/telnet/telnet-01/telnet.pcap",
            creds: vec![("telnet", "plain", Some("fake"), Some("user"), Success)],
            noauth: &[],
        },
        mqtt("suricata-verify/mqtt31-pub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt31-sub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt311-pub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt311-sub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt5-pub-userpass/input.pcap"),
        mqtt("suricata-verify/mqtt5-sub-userpass/input.pcap"),
        // test.yaml: username/password flags false, authentication_method foo,
        // authentication_data "1234", CONNACK return code 140 (bad method).
        Case {
            capture: "suricata-verify/mqtt5-sub-customauth/input.pcap",
            creds: vec![("mqtt", "enhanced-auth", None, Some("1234"), Failure)],
            noauth: &[],
        },
        // Mosquitto's properties test also logs in as user/pass.
        mqtt("suricata-verify/mqtt5-pub-mosquittoprops/input.pcap"),
        // pop3.syn: AUTH XOAUTH2 for joe.speedboat, answered "+OK Welcome.".
        Case {
            capture: "suricata-verify/pop3-auth-01/input.pcap",
            creds: vec![(
                "pop3",
                "auth-xoauth2",
                Some("joe.speedboat"),
                Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                Success,
            )],
            noauth: &[],
        },
        // test.yaml: community "[R0_C@cti!]", four request/response pairs on
        // four client ports (four flows, one credential each).
        Case {
            capture: "suricata-verify/snmp-v2c-get/SNMPv2c_get_requests.pcap",
            creds: vec![("snmp", "community", None, Some("[R0_C@cti!]"), Success); 4],
            noauth: &[],
        },
        // Two flows: discovery, then noAuthUser answered by a Report with
        // usmStatsUnknownUserNames (1.3.6.1.6.3.15.1.1.3.0) — per tshark.
        Case {
            capture: "suricata-verify/snmp-v3-unauth/snmp-v3-get-bulk-unauth.pcap",
            creds: vec![("snmp", "usm", Some("noAuthUser"), None, Failure); 2],
            noauth: &[],
        },
        // test.yaml: security_type 2, security_result "OK".
        Case {
            capture: "suricata-verify/rfb-protocol-3.3/06-vnc-Password-3.3.pcap",
            creds: vec![("vnc", "vnc-challenge", None, None, Success)],
            noauth: &[],
        },
        // test.yaml: ftp USER (bob); PASS and 230 per tshark.
        Case {
            capture: "suricata-verify/ftp/ftp-download-passive/input.pcap",
            creds: vec![("ftp", "user-pass", Some("bob"), Some("password"), Success)],
            noauth: &[],
        },
        // zeek-traces SOURCES.md: "one client tries USER bro with 30 passwords" (1..30, all 530).
        Case {
            capture: "zeek-traces/ftp/bruteforce.pcap",
            creds: brute,
            noauth: &[],
        },
        // Rows below: tshark over the capture.
        Case {
            capture: "zeek-traces/ftp/ftp-password-pass-command.pcap",
            creds: vec![("ftp", "user-pass", Some("Admin"), Some("qwerty"), Failure)],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/ftp/ipv4.pcap",
            creds: vec![("ftp", "anonymous", Some("anonymous"), Some("test"), Success)],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/ftp/retr.pcap",
            creds: vec![(
                "ftp",
                "anonymous",
                Some("anonymous"),
                Some("chrome@example.com"),
                Success,
            )],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/var-services-std-ports.pcap",
            creds: vec![(
                "ftp",
                "user-pass",
                Some("jsiwek"),
                Some("whatabadpass"),
                Success,
            )],
            noauth: &[],
        },
        // Three connections: the first hangs up at the challenge (no attempt),
        // the second gets SecurityResult 1, the third 0.
        Case {
            capture: "zeek-traces/rfb/vnc-mac-to-linux.pcap",
            creds: vec![
                ("vnc", "vnc-challenge", None, None, Failure),
                ("vnc", "vnc-challenge", None, None, Success),
            ],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/rfb/vnc-scanner.pcap",
            creds: vec![("vnc", "vnc-challenge", None, None, Failure)],
            noauth: &[],
        },
        // Two CONNECTs without username, both accepted: an open broker.
        Case {
            capture: "zeek-traces/mqtt.pcap",
            creds: vec![],
            noauth: &["mqtt", "mqtt"],
        },
        // POP3 sessions with AUTH PLAIN: napier rejected ("-ERR authentication
        // failed"), napier123 accepted twice — the base64 lines were pulled
        // with `tshark -z follow` and decoded with `base64 -d`.
        Case {
            capture: "zeek-traces/pop3/pop3.pcap",
            creds: vec![
                (
                    "pop3",
                    "auth-plain",
                    Some("digitalinvestigator@networksims.com"),
                    Some("napier"),
                    Failure,
                ),
                (
                    "pop3",
                    "auth-plain",
                    Some("digitalinvestigator@networksims.com"),
                    Some("napier123"),
                    Success,
                ),
                (
                    "pop3",
                    "auth-plain",
                    Some("digitalinvestigator@networksims.com"),
                    Some("napier123"),
                    Success,
                ),
            ],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/snmp/snmpv2_get.pcap",
            creds: vec![("snmp", "community", None, Some("public"), Success)],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/snmp/snmpwalk-short.pcap",
            creds: vec![("snmp", "community", None, Some("public"), Success)],
            noauth: &[],
        },
        // A v1 trap is never answered.
        Case {
            capture: "zeek-traces/snmp/snmpv1_trap.pcap",
            creds: vec![("snmp", "community", None, Some("public"), Unknown)],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/snmp/snmpv3_get_next.pcap",
            creds: vec![("snmp", "usm", Some("username"), None, Success)],
            noauth: &[],
        },
        // Captures with no login in any protocol.
        Case {
            capture: "suricata-verify/ssh-hassh/input.pcap",
            creds: vec![],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/ssh/sshguess.pcap",
            creds: vec![],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/nmap-vsn.pcap",
            creds: vec![],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/modbus/modbusSmall.pcap",
            creds: vec![],
            noauth: &[],
        },
        Case {
            capture: "zeek-traces/irc-basic.pcap",
            creds: vec![],
            noauth: &[],
        },
        Case {
            capture: "smarthome-fdekeers/data/traces/tplink-plug/tp-link.pcap",
            creds: vec![],
            noauth: &[],
        },
    ]
}

#[test]
fn logins_in_real_captures_match_ground_truth() {
    if common::dataset("suricata-verify").is_none() {
        return;
    }
    let mut failures = Vec::new();
    println!(
        "{:<66} {:>8} {:>6} {:>7}",
        "capture", "expected", "found", "match"
    );
    for case in cases() {
        let path = common::dataset(case.capture).unwrap();
        let events = common::run_capture(&path);
        let got = found(&events);
        let want: Vec<Found> = case
            .creds
            .iter()
            .map(|&(p, m, u, s, o)| {
                (
                    p.to_string(),
                    m.to_string(),
                    u.map(str::to_string),
                    s.map(str::to_string),
                    o,
                )
            })
            .collect();
        let noauth: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                AppEvent::NoAuth { protocol } => Some(*protocol),
                _ => None,
            })
            .collect();
        let ok = got == want && noauth == case.noauth;
        println!(
            "{:<66} {:>8} {:>6} {:>7}",
            case.capture,
            want.len() + case.noauth.len(),
            got.len() + noauth.len(),
            if ok { "yes" } else { "NO" }
        );
        if !ok {
            failures.push(format!(
                "{}:\n  want {want:?} noauth {:?}\n  got  {got:?} noauth {noauth:?}",
                case.capture, case.noauth
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn telnet_commands_after_login() {
    let Some(path) = common::dataset("suricata-verify/telnet/telnet-01/telnet.pcap") else {
        return;
    };
    let events = common::run_capture(&path);
    let mut commands: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            AppEvent::Command(c) => Some(c.as_str()),
            _ => None,
        })
        .collect();
    // The capture holds one TCP retransmission of the ping line, which the
    // test helper (unlike the engine) does not remove.
    commands.dedup();
    assert_eq!(
        commands,
        ["/sbin/ping www.yahoo.com", "ls", "ls -a", "exit"]
    );
    assert!(events.iter().any(|e| matches!(e,
        AppEvent::Hint(h) if h.value == "OpenBSD/i386 (oof) (ttyp2)")));
}

#[test]
fn ftp_banner_names_the_server() {
    let Some(path) = common::dataset("zeek-traces/ftp/ftp-password-pass-command.pcap") else {
        return;
    };
    let events = common::run_capture(&path);
    assert!(events.iter().any(|e| matches!(e,
        AppEvent::Software { product, version: Some(v), .. }
            if product == "FileZilla Server" && v == "1.9.1")));
}
