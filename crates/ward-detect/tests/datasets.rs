//! The whole engine with the attack detectors over real third-party
//! captures (see /work/shared/datasets/README.md). Skipped, saying so,
//! when `WARD_DATASETS` is not set.

use std::path::PathBuf;

use ward_capture::{MergedReader, RawPacket};
use ward_core::{Engine, EngineConfig, Event, Timestamp, VecSink};

fn dataset(rel: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("WARD_DATASETS") else {
        eprintln!("WARD_DATASETS not set: skipping {rel}");
        return None;
    };
    let p = PathBuf::from(root).join(rel);
    if !p.exists() {
        eprintln!("{} missing: skipping", p.display());
        return None;
    }
    Some(p)
}

/// Alerts from running `paths` (merged) through a default engine.
fn alerts(paths: &[PathBuf]) -> Vec<ward_core::Alert> {
    let dets = ward_detect::detectors(None).expect("default config");
    let mut engine = Engine::new(EngineConfig::default(), 42, dets);
    let mut sink = VecSink::default();
    let mut reader = MergedReader::open(paths).expect("open capture");
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
    engine.finish(&mut sink);
    let out: Vec<ward_core::Alert> = sink.0.into_iter().filter_map(|e: Event| e.alert).collect();
    for a in &out {
        eprintln!(
            "  {} {} {:?} -> {:?} count={} {}",
            a.category.as_str(),
            a.signature,
            a.attacker,
            a.victims,
            a.count,
            a.summary
        );
    }
    out
}

fn has(alerts: &[ward_core::Alert], sig: &str) -> bool {
    alerts.iter().any(|a| a.signature == sig)
}

fn run(rel: &str) -> Option<Vec<ward_core::Alert>> {
    let p = dataset(rel)?;
    eprintln!("{rel}:");
    Some(alerts(&[p]))
}

#[test]
fn masscan_tcp_is_a_port_scan() {
    let Some(a) = run("scans-esnet/attacks/scanners/masscan/tcp_0_1000_20190821.pcap") else {
        return;
    };
    assert!(has(&a, "tcp-port-scan"), "{a:?}");
    assert_eq!(a.len(), 1, "one incident, one alert");
}

#[test]
fn masscan_udp_is_a_udp_port_scan() {
    let Some(a) = run("scans-esnet/attacks/scanners/masscan/udp_0_1000_20190821.pcap") else {
        return;
    };
    assert!(has(&a, "udp-port-scan"), "{a:?}");
    assert_eq!(a.len(), 1);
}

#[test]
fn nmap_service_and_script_scans_are_recognised() {
    for f in ["nmap_80_w_service_detection.pcap", "nmap_80_all.pcap"] {
        let Some(a) = run(&format!("scans-esnet/attacks/scanners/nmap/{f}")) else {
            return;
        };
        assert!(has(&a, "scan-tool-http-probe"), "{f}: {a:?}");
        assert!(a
            .iter()
            .all(|x| x.attacker == Some("10.87.1.10".parse().unwrap())));
    }
}

#[test]
fn benign_whois_query_is_quiet() {
    let Some(a) = run("scans-esnet/protocols/whois/whois.pcap") else {
        return;
    };
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn ftp_password_guessing_is_bruteforce() {
    let Some(a) = run("zeek-traces/ftp/bruteforce.pcap") else {
        return;
    };
    assert!(
        has(&a, "ftp-bruteforce") || has(&a, "ftp-bruteforce-success"),
        "{a:?}"
    );
    assert!(a
        .iter()
        .all(|x| x.category == ward_core::AlertCategory::Bruteforce));
}

#[test]
fn ssh_password_guessing_is_bruteforce() {
    let Some(a) = run("zeek-traces/ssh/sshguess.pcap") else {
        return;
    };
    assert!(has(&a, "ssh-bruteforce"), "{a:?}");
}

#[test]
fn single_ssh_session_is_quiet() {
    let Some(a) = run("zeek-traces/ssh/single-conn.pcap") else {
        return;
    };
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn dhcp_floods_are_detected() {
    for f in [
        "suricata-verify/dhcp-request-flood/test.pcap",
        "zeek-traces/dhcp/dhcp_flood.pcap",
    ] {
        let Some(a) = run(f) else { return };
        assert!(
            has(&a, "dhcp-flood") || has(&a, "dhcp-starvation"),
            "{f}: {a:?}"
        );
    }
}

#[test]
fn ordinary_dhcp_is_quiet() {
    let Some(a) = run("zeek-traces/dhcp/dhcp.pcap") else {
        return;
    };
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn jaws_exploit_inside_erspan_is_an_exploit() {
    for f in [
        "suricata-verify/bug-5437-01/input.pcap",
        "suricata-verify/bug-5437-02/input.pcap",
    ] {
        let Some(a) = run(f) else { return };
        assert!(has(&a, "jaws-dvr-shell-injection"), "{f}: {a:?}");
    }
}

#[test]
fn a_week_of_benign_iot_traffic_is_quiet() {
    for f in [
        "iot-cset2021/pcaps/blink-cam-01.pcap",
        "iot-cset2021/pcaps/lockly-hub-01.pcap",
    ] {
        let Some(a) = run(f) else { return };
        assert!(a.is_empty(), "{f}: {a:?}");
    }
}

#[test]
fn irc_session_is_flagged_as_possible_c2() {
    let Some(a) = run("zeek-traces/irc-basic.pcap") else {
        return;
    };
    assert!(has(&a, "irc-c2"), "{a:?}");
}
