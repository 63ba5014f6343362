//! `ward watch` and alert sinks from the outside.
//!
//! The live test runs ward inside a network namespace the test creates,
//! on one end of a veth pair whose other end sits in a second namespace,
//! and sends real traffic (the kernel's `ping`) across it. Needs root,
//! `ip` and `ping`; skips (saying why) otherwise. The namespaces are
//! deleted by a guard, also when the test fails.
//!
//! The sink test runs `ward analyze` over the demo capture with a webhook
//! sink pointed at a small HTTP server on 127.0.0.1 in this test.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn ward() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ward"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ward-cli-watch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// `wa0` (10.99.0.1) in namespace `a`, `wb0` (10.99.0.2) in `b`; deleted on drop.
struct Lab {
    a: String,
    b: String,
}

impl Lab {
    fn new(tag: &str) -> Option<Lab> {
        if !is_root() {
            eprintln!("skipping: needs root to create network namespaces");
            return None;
        }
        for (tool, arg) in [("ip", "-V"), ("ping", "-V")] {
            if Command::new(tool).arg(arg).output().is_err() {
                eprintln!("skipping: `{tool}` is not installed");
                return None;
            }
        }
        let id = format!("{}-{tag}", std::process::id());
        let lab = Lab {
            a: format!("wardtest-{id}-a"),
            b: format!("wardtest-{id}-b"),
        };
        let setup = || -> Result<(), String> {
            ip(&["netns", "add", &lab.a])?;
            ip(&["netns", "add", &lab.b])?;
            ip(&[
                "link", "add", "name", "wa0", "netns", &lab.a, "type", "veth", "peer", "name",
                "wb0", "netns", &lab.b,
            ])?;
            for (ns, dev, addr) in [
                (&lab.a, "wa0", "10.99.0.1/24"),
                (&lab.b, "wb0", "10.99.0.2/24"),
            ] {
                ip(&["-n", ns, "addr", "add", addr, "dev", dev])?;
                ip(&["-n", ns, "link", "set", dev, "up"])?;
                ip(&["-n", ns, "link", "set", "lo", "up"])?;
            }
            Ok(())
        };
        setup().expect("setting up namespaces");
        Some(lab)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// Kills the child if the test fails before it is stopped on purpose.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn proc_status(pid: u32) -> BTreeMap<String, String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

#[test]
fn watch_captures_live_traffic_drops_privileges_and_stops_cleanly_on_sigterm() {
    let Some(lab) = Lab::new("watch") else { return };
    let dir = tmpdir("live");
    // /tmp dirs are 0755 root: let the unprivileged user write its outputs.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let eve = dir.join("eve.json");
    let stats_only = dir.join("stats.json");
    let state = dir.join("state");
    let config = dir.join("ward.toml");
    std::fs::write(
        &config,
        format!(
            "[[sinks]]\ntype = \"eve\"\nname = \"stats-file\"\npath = \"{}\"\nevent_types = [\"stats\"]\n",
            stats_only.display()
        ),
    )
    .unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &lab.b])
        .arg(env!("CARGO_BIN_EXE_ward"))
        .args([
            "watch",
            "-i",
            "wb0",
            "--stats-interval",
            "1",
            "--user",
            "nobody",
            "--metrics-listen",
            "127.0.0.1:9617",
            "--config",
        ])
        .arg(&config)
        .arg("--eve")
        .arg(&eve)
        .arg("--state")
        .arg(&state)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(Some(child));
    let pid = child.0.as_ref().unwrap().id();
    // `ip netns exec` execs ward in place, so `pid` is ward. Wait for its
    // start-up line: from then on the socket is open.
    let stderr = child.0.as_mut().unwrap().stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("ward starts");
    assert!(first.contains("watching AF_PACKET on wb0"), "{first}");
    assert!(first.contains("capabilities: none"), "{first}");

    let st = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.a,
            "ping",
            "-q",
            "-c",
            "5",
            "-i",
            "0.1",
            "10.99.0.2",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    // At least one periodic stats event after the pings.
    std::thread::sleep(Duration::from_millis(1500));

    // /metrics, from inside the namespace (bash's /dev/tcp: no HTTP client needed).
    let metrics = Command::new("ip")
        .args(["netns", "exec", &lab.b, "bash", "-c"])
        .arg("exec 3<>/dev/tcp/127.0.0.1/9617; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3")
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout);
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    assert!(value("ward_capture_packets_total ") >= 10, "{metrics}");
    assert_eq!(value("ward_capture_kernel_dropped_total "), 0);
    assert!(value(r#"ward_sink_events_total{sink="eve",type="eve",outcome="sent"} "#) > 0);
    assert_eq!(
        value(r#"ward_sink_events_total{sink="stats-file",type="eve",outcome="dropped"} "#),
        0
    );

    let status = proc_status(pid);
    assert_eq!(
        status.get("CapEff").map(String::as_str),
        Some("0000000000000000"),
        "{status:?}"
    );
    assert_eq!(
        status.get("CapPrm").map(String::as_str),
        Some("0000000000000000"),
        "{status:?}"
    );
    // Started as root: the bounding set is emptied too.
    assert_eq!(
        status.get("CapBnd").map(String::as_str),
        Some("0000000000000000"),
        "{status:?}"
    );
    assert_eq!(
        status.get("NoNewPrivs").map(String::as_str),
        Some("1"),
        "{status:?}"
    );
    assert!(
        status.get("Uid").is_some_and(|u| u.starts_with("65534")),
        "{status:?}"
    );

    assert!(Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let t0 = Instant::now();
    let exit = loop {
        if let Some(s) = child.0.as_mut().unwrap().try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "ward did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    child.0 = None;
    assert!(exit.success(), "{exit:?}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("stopped after")), "{rest:?}");

    let events = lines(&eve);
    let of = |t: &str| {
        events
            .iter()
            .filter(|e| e["event_type"] == t)
            .collect::<Vec<_>>()
    };
    let stats = of("stats");
    assert!(
        stats.len() >= 2,
        "periodic and final stats: {}",
        stats.len()
    );
    for s in &stats {
        assert_eq!(s["stats"]["capture_dropped"], 0, "{s}");
    }
    let last = stats.last().unwrap();
    assert!(last["stats"]["packets"].as_u64().unwrap() >= 10, "{last}");
    // The final inventory names both ends of the veth by address.
    let finals: Vec<_> = of("device")
        .into_iter()
        .filter(|d| d["device"]["reason"] == "final")
        .collect();
    for addr in ["10.99.0.1", "10.99.0.2"] {
        assert!(
            finals.iter().any(|d| d["device"]["ips"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i == addr)),
            "no final device event for {addr}: {finals:?}"
        );
    }
    // The pings end as an ICMP flow of 5 requests and 5 replies.
    let icmp: Vec<_> = of("flow")
        .into_iter()
        .filter(|f| f["proto"] == "ICMP")
        .collect();
    let pkts: u64 = icmp
        .iter()
        .map(|f| {
            f["flow"]["pkts_toserver"].as_u64().unwrap()
                + f["flow"]["pkts_toclient"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(pkts, 10, "{icmp:?}");
    // --state: the identifier's inventory was saved at stop, with both ends.
    let inv: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("inventory.json")).unwrap())
            .unwrap();
    assert_eq!(
        inv["devices"].as_object().map(|d| d.len()),
        Some(2),
        "{inv}"
    );
    // The [[sinks]] entry of the config got exactly the stats events.
    let extra = lines(&stats_only);
    assert_eq!(extra.len(), stats.len());
    assert!(extra.iter().all(|e| e["event_type"] == "stats"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn watch_refuses_bad_setups_with_one_clear_sentence() {
    let out = ward().args(["watch", "-i", "nosuchif0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no such interface `nosuchif0`") || err.contains("CAP_NET_RAW"),
        "{err}"
    );
    let dir = tmpdir("bad");
    let config = dir.join("ward.toml");
    std::fs::write(
        &config,
        "[[sinks]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nmin_sevrity = 2\n",
    )
    .unwrap();
    let out = ward()
        .args(["watch", "-i", "lo", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("min_sevrity"), "{err}");
    #[cfg(not(feature = "libpcap"))]
    {
        let out = ward()
            .args(["watch", "-i", "lo", "--filter", "tcp"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("libpcap"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn analyze_delivers_alerts_and_findings_to_a_webhook() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/home-lab.pcap");
    if !demo.exists() {
        eprintln!("skipping: {} is missing", demo.display());
        return;
    }
    // A minimal HTTP/1.1 receiver on loopback that records bodies.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ward", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::<String>::new()));
    let b = bodies.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            let b = b.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut w = conn;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    b.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into());
                    if w.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    let dir = tmpdir("hook");
    let config = dir.join("ward.toml");
    std::fs::write(
        &config,
        format!("[[sinks]]\ntype = \"webhook\"\nname = \"hook\"\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let eve = dir.join("eve.json");
    let out = ward()
        .args(["analyze", "--config"])
        .arg(&config)
        .arg("--eve")
        .arg(&eve)
        .arg(&demo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let events = lines(&eve);
    let wanted: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "alert" || e["event_type"] == "finding")
        .collect();
    assert!(!wanted.is_empty(), "the demo capture raises alerts");
    let got = bodies.lock().unwrap().clone();
    assert_eq!(got.len(), wanted.len(), "one POST per alert and finding");
    for (body, e) in got.iter().zip(&wanted) {
        let posted: Value = serde_json::from_str(body).unwrap();
        assert_eq!(&&posted, e, "POSTed in order, identical to the EVE line");
    }
    assert!(
        err.contains(&format!(
            "sink hook (webhook): {} sent, 0 failed",
            wanted.len()
        )),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_ordinary_user_can_watch_with_file_capabilities() {
    for (tool, arg) in [("setcap", "-v"), ("setpriv", "--version")] {
        if Command::new(tool).arg(arg).output().is_err() {
            eprintln!("skipping: `{tool}` is not installed (libcap2-bin, util-linux)");
            return;
        }
    }
    let Some(lab) = Lab::new("setcap") else {
        return;
    };
    let dir = tmpdir("setcap");
    let copy = dir.join("ward");
    std::fs::copy(env!("CARGO_BIN_EXE_ward"), &copy).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let as_nobody = |bin: &Path| {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &lab.b,
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .arg(bin)
        .args(["watch", "-i", "wb0", "--stats-interval", "0", "--eve", "-"]);
        c
    };
    // Without capabilities: refused, with the remedy named.
    let out = as_nobody(&copy).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CAP_NET_RAW") && err.contains("setcap"),
        "{err}"
    );
    // With `setcap cap_net_raw,cap_net_admin=eip`: runs, and holds nothing once started.
    let st = Command::new("setcap")
        .arg("cap_net_raw,cap_net_admin=eip")
        .arg(&copy)
        .status()
        .unwrap();
    if !st.success() {
        eprintln!("skipping: setcap failed here (file system without extended attributes?)");
        return;
    }
    let child = as_nobody(&copy)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(Some(child));
    let pid = child.0.as_ref().unwrap().id();
    let stderr = child.0.as_mut().unwrap().stderr.take().unwrap();
    // Keep reading stderr: ward writes its closing lines there.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("ward starts");
    assert!(first.contains("(uid 65534, capabilities: none)"), "{first}");
    // `setpriv` execs ward, and so does `ip netns exec`: `pid` is ward.
    let status = proc_status(pid);
    assert_eq!(
        status.get("CapEff").map(String::as_str),
        Some("0000000000000000"),
        "{status:?}"
    );
    assert!(Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.0.take().unwrap().wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(text.lines().last().expect("final stats")).unwrap();
    assert_eq!(last["event_type"], "stats");
    assert_eq!(last["stats"]["capture_dropped"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_signal_ends_a_slow_shutdown_at_once() {
    let Some(lab) = Lab::new("twice") else { return };
    let dir = tmpdir("twice");
    let config = dir.join("ward.toml");
    // A receiver that refuses every connection (nothing listens on port 9
    // of the namespace's loopback) and long retry waits: the clean
    // shutdown would wait the full 10 s grace for this sink.
    std::fs::write(
        &config,
        "[[sinks]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nevent_types = [\"stats\"]\nbackoff_ms = 5000\n",
    )
    .unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &lab.b])
        .arg(env!("CARGO_BIN_EXE_ward"))
        .args(["watch", "-i", "wb0", "--stats-interval", "0", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(Some(child));
    let pid = child.0.as_ref().unwrap().id().to_string();
    let stderr = child.0.as_mut().unwrap().stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Started as root without --user: a note comes first, then the start line.
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("ward starts");
        if line.contains("watching") {
            break;
        }
        assert!(line.contains("note:"), "{line}");
    }
    let term = || {
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success())
    };
    term();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        child.0.as_mut().unwrap().try_wait().unwrap().is_none(),
        "still delivering within the grace period"
    );
    let t0 = Instant::now();
    term();
    let exit = loop {
        if let Some(s) = child.0.as_mut().unwrap().try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "second SIGTERM ignored"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.0 = None;
    assert_eq!(exit.code(), Some(130));
    let _ = std::fs::remove_dir_all(&dir);
}
