//! `ward analyze` from the outside: captures in, exit status, summary and
//! EVE lines out. Frames are built in code (etherparse) and written as pcap
//! here; real captures come from `$WARD_DATASETS` when it is set.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn ward() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ward"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ward-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The file header of a little-endian microsecond pcap of Ethernet frames.
fn pcap_header() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b
}

/// A little-endian microsecond pcap of Ethernet frames, one per 10 ms.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut b = pcap_header();
    for (i, f) in frames.iter().enumerate() {
        b.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        b.extend_from_slice(&((i as u32) * 10_000).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
    }
    b
}

fn frames() -> Vec<Vec<u8>> {
    let cam = [0xb0, 0xc5, 0x54, 0x25, 0x5b, 0x0e];
    let phone = [0x3c, 0x28, 0x6d, 0x01, 0x02, 0x03];
    let mk = |src: [u8; 6],
              dst: [u8; 6],
              sip: [u8; 4],
              dip: [u8; 4],
              sp: u16,
              dp: u16,
              flags: &str,
              payload: &[u8]| {
        let mut b = etherparse::PacketBuilder::ethernet2(src, dst)
            .ipv4(sip, dip, 64)
            .tcp(sp, dp, 1, 65535);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('A') {
            b = b.ack(1);
        }
        if flags.contains('F') {
            b = b.fin();
        }
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    };
    let (p, c) = ([192, 168, 1, 5], [192, 168, 1, 30]);
    vec![
        mk(phone, cam, p, c, 50000, 80, "S", b""),
        mk(cam, phone, c, p, 80, 50000, "SA", b""),
        mk(
            phone,
            cam,
            p,
            c,
            50000,
            80,
            "A",
            b"GET / HTTP/1.1\r\nHost: cam\r\nUser-Agent: ward-test\r\n\r\n",
        ),
        mk(
            cam,
            phone,
            c,
            p,
            80,
            50000,
            "A",
            b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.59\r\nContent-Length: 0\r\n\r\n",
        ),
        mk(phone, cam, p, c, 50000, 80, "FA", b""),
        mk(cam, phone, c, p, 80, 50000, "FA", b""),
    ]
}

fn run(args: &[&str]) -> Output {
    ward().args(args).stdin(Stdio::null()).output().unwrap()
}

fn eve_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
        .collect()
}

#[test]
fn eve_output_follows_the_contract() {
    let dir = tmpdir("eve");
    let cap = dir.join("web.pcap");
    std::fs::write(&cap, pcap(&frames())).unwrap();
    let out = run(&["analyze", "--eve", "-", cap.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = eve_lines(&out.stdout);
    for e in &events {
        let ts = e["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 27, "timestamp {ts}");
        let t = e["event_type"].as_str().unwrap();
        assert!(e.get(t).is_some(), "body named after its type: {e}");
    }
    let flow = events.iter().find(|e| e["event_type"] == "flow").unwrap();
    assert_eq!(flow["src_ip"], "192.168.1.5");
    assert_eq!(flow["dest_port"], 80);
    assert_eq!(flow["proto"], "TCP");
    assert_eq!(flow["flow"]["pkts_toserver"], 3);
    assert_eq!(flow["flow"]["state"], "closed");
    let cam = events
        .iter()
        .rev()
        .find(|e| e["event_type"] == "device" && e["device"]["mac"] == "b0:c5:54:25:5b:0e")
        .unwrap();
    assert_eq!(cam["device"]["reason"], "final");
    assert_eq!(cam["device"]["ips"][0], "192.168.1.30");
    assert!(
        cam["device"]["vendor"].as_str().unwrap().contains("D-Link"),
        "{cam}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["event_type"], "stats");
    assert_eq!(last["stats"]["packets"], 6);
    // The summary went to stderr because stdout carries the events.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Devices (2)"), "{err}");
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let mut child = ward()
        .args(["analyze", "-q", "--eve", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&pcap(&frames()))
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let events = eve_lines(&out.stdout);
    assert_eq!(events.last().unwrap()["stats"]["packets"], 6);
}

#[test]
fn unreadable_input_fails_with_the_file_named() {
    let dir = tmpdir("bad");
    let garbage = dir.join("notes.pcap");
    std::fs::write(&garbage, "these are my notes, not a capture\n".repeat(10)).unwrap();
    let out = run(&["analyze", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.pcap") && err.contains("not a pcap"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let out = run(&["analyze", "/nonexistent/capture.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/capture.pcap"));
}

#[test]
fn truncated_input_is_processed_up_to_the_damage_and_exits_2() {
    let dir = tmpdir("trunc");
    let cap = dir.join("cut.pcap");
    let mut bytes = pcap(&frames());
    bytes.truncate(bytes.len() - 20);
    std::fs::write(&cap, bytes).unwrap();
    let out = run(&["analyze", "--eve", "-", cap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut.pcap: at byte") && err.contains("truncated"),
        "{err}"
    );
    let events = eve_lines(&out.stdout);
    assert_eq!(events.last().unwrap()["stats"]["packets"], 5);
}

#[test]
fn help_and_version() {
    let out = run(&["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ward "));
    let out = run(&["analyze", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--eve") && text.contains("Exit status"),
        "{text}"
    );
}

/// Every capture in the shared datasets runs to completion without a panic.
#[test]
fn every_dataset_capture_runs_without_a_crash() {
    let Some(root) = std::env::var_os("WARD_DATASETS") else {
        eprintln!("skipping: WARD_DATASETS is not set");
        return;
    };
    let mut files = Vec::new();
    collect(Path::new(&root), &mut files);
    assert!(!files.is_empty());
    let args: Vec<String> = vec![
        "analyze".into(),
        "-q".into(),
        "--eve".into(),
        "/dev/null".into(),
    ];
    // One process per folder keeps the run short while still covering every file.
    for chunk in files.chunks(64) {
        let mut a = args.clone();
        a.extend(chunk.iter().map(|p| p.display().to_string()));
        let out = ward().args(&a).stdin(Stdio::null()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)) && !err.contains("panicked"),
            "{:?}: {err}",
            out.status
        );
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
        {
            out.push(p);
        }
    }
}

#[test]
fn a_bad_local_network_is_a_config_error_naming_the_key() {
    let dir = tmpdir("scope-config");
    let cap = dir.join("web.pcap");
    std::fs::write(&cap, pcap(&frames())).unwrap();
    for bad in ["198.51.100.0/33", "198.51.100.0", "2001:db8::/129", "lan"] {
        let cfg = dir.join("ward.toml");
        std::fs::write(
            &cfg,
            format!("[network]\nlocal_networks = [\"10.9.0.0/16\", \"{bad}\"]\n"),
        )
        .unwrap();
        let out = run(&[
            "analyze",
            "--config",
            cfg.to_str().unwrap(),
            cap.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("local_networks") && err.contains(bad) && err.contains("ward.toml"),
            "{bad}: {err}"
        );
    }
}

/// The demo capture with its LAN, 192.168.50.0/24, moved to the public
/// 198.51.100.0/24 in the IPv4 and ARP headers (what `tcprewrite --pnat`
/// does; payloads such as DHCP's keep the old addresses, and ward checks
/// no checksums).
fn demo_on_a_public_lan(pcap: &[u8]) -> Vec<u8> {
    let mut b = pcap.to_vec();
    let swap = |a: &mut [u8]| {
        if a.starts_with(&[192, 168, 50]) {
            a[..3].copy_from_slice(&[198, 51, 100]);
        }
    };
    let mut at = 24;
    while let Some(hdr) = b.get(at..at + 16) {
        let incl = u32::from_le_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
        let Some(f) = b.get_mut(at + 16..at + 16 + incl) else {
            break;
        };
        match f.get(12..14) {
            Some([0x08, 0x00]) if f.len() >= 34 => {
                swap(&mut f[26..30]);
                swap(&mut f[30..34]);
            }
            Some([0x08, 0x06]) if f.len() >= 42 => {
                swap(&mut f[28..32]);
                swap(&mut f[38..42]);
            }
            _ => {}
        }
        at += 16 + incl;
    }
    b
}

#[test]
fn a_public_address_lan_gets_its_bot_alert_back_with_local_networks() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/home-lab.pcap");
    let Ok(original) = std::fs::read(&demo) else {
        eprintln!("skipping: {} is missing", demo.display());
        return;
    };
    let dir = tmpdir("public-lan");
    let cap = dir.join("home-lab-public.pcap");
    let public = demo_on_a_public_lan(&original);
    assert_ne!(public, original, "the rewrite moved addresses");
    std::fs::write(&cap, public).unwrap();
    let cfg = dir.join("ward.toml");
    std::fs::write(&cfg, "[network]\nlocal_networks = [\"198.51.100.0/24\"]\n").unwrap();
    let flooding = |args: &[&str]| {
        let out = run(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let events = eve_lines(&out.stdout);
        let bot = events
            .iter()
            .find(|e| e["alert"]["signature"] == "infected-device-flooding")
            .cloned();
        let stats = events.last().cloned().unwrap_or_default();
        (bot, stats)
    };
    let (bot, stats) = flooding(&[
        "analyze",
        "-q",
        "--config",
        cfg.to_str().unwrap(),
        "--eve",
        "-",
        cap.to_str().unwrap(),
    ]);
    let bot = bot.expect("infected-device-flooding with the LAN configured");
    assert_eq!(bot["src_ip"], "198.51.100.150", "{bot}");
    assert!(
        stats["stats"].get("local_networks_learned").is_none(),
        "{stats}"
    );
    // Without the setting the public LAN is "the internet": the bot's
    // flood is only a flood (the DHCP payloads still say 192.168.50.x).
    let (bot, _) = flooding(&["analyze", "-q", "--eve", "-", cap.to_str().unwrap()]);
    assert!(bot.is_none(), "{bot:?}");
}

#[test]
fn ctrl_c_keeps_every_event_written_so_far() {
    // 400 000 UDP datagrams over 400 s of packet time between many port
    // pairs: long enough (in a test build) to be interrupted mid-run, with
    // flows ending all along, so events are in flight when Ctrl-C comes.
    let dir = tmpdir("sigint");
    let cap = dir.join("long.pcap");
    let eve = dir.join("eve.json");
    let mut b = pcap_header();
    let mut frame = Vec::with_capacity(64);
    for i in 0..400_000u32 {
        frame.clear();
        etherparse::PacketBuilder::ethernet2(
            [0xb0, 0xc5, 0x54, 0x25, 0x5b, 0x0e],
            [0x3c, 0x28, 0x6d, 0x01, 0x02, 0x03],
        )
        .ipv4([192, 168, 1, 20], [192, 168, 1, 30], 64)
        .udp(1024 + (i % 20_000) as u16, 9999)
        .write(&mut frame, &[0x55; 8])
        .unwrap();
        b.extend_from_slice(&(1_700_000_000 + i / 1000).to_le_bytes());
        b.extend_from_slice(&((i % 1000) * 1000).to_le_bytes());
        b.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        b.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        b.extend_from_slice(&frame);
    }
    std::fs::write(&cap, b).unwrap();
    let child = ward()
        .args(["analyze", "-q", "--eve"])
        .arg(&eve)
        .arg(&cap)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&eve).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(text.ends_with('\n'), "the file ends with a whole line");
    let last = events.last().expect("events");
    assert_eq!(last["event_type"], "stats", "{last}");
    if sent.is_ok_and(|s| s.success()) && err.contains("interrupted") {
        // Every packet read before the stop is in the stats, and every flow
        // that ended by then has its event in the file.
        let packets = last["stats"]["packets"].as_u64().unwrap();
        assert!(packets < 400_000, "{packets}");
        let flows = events.iter().filter(|e| e["event_type"] == "flow").count() as u64;
        assert_eq!(flows, last["stats"]["flows"].as_u64().unwrap(), "{err}");
    } else {
        eprintln!("not interrupted (the run was over first): {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
