//! `audit::run` against real daemons with factory logins, in a network
//! namespace this test creates (no route out: traffic cannot leave it).
//!
//! The outer test (root only; skipped with a reason otherwise) builds the
//! namespace with one veth pair (both ends inside), starts busybox telnetd (a `-l`
//! login program that accepts only root/vizxv, the 2nd pair of Mirai's
//! list), busybox httpd with Basic auth admin:admin (4th pair), and
//! mosquitto with a password file (support/support, 11th pair) and
//! dropbear (banner only: SSH logins are not tried), then
//! re-runs this test binary *inside* the namespace for the inner test,
//! which audits 10.231.0.1 and checks each finding.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use ward_core::FindingKind;
use ward_hygiene::audit::{self, AuditConfig};

const TARGET_ENV: &str = "WARD_AUDIT_LAB_TARGET";
const ADDR: &str = "10.231.0.1";

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Lab {
    ns: String,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Anything else still inside (telnetd's login children).
        if let Ok(o) = Command::new("ip")
            .args(["netns", "pids", &self.ns])
            .output()
        {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        sh(&["ip", "netns", "del", &self.ns]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write lab file");
}

#[test]
fn audit_finds_factory_logins_of_real_daemons_in_a_namespace() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root {
        eprintln!("skipping: needs root to create a network namespace");
        return;
    }
    for tool in [
        "ip",
        "busybox",
        "mosquitto",
        "mosquitto_passwd",
        "dropbear",
        "dropbearkey",
    ] {
        if !have(tool) {
            eprintln!("skipping: {tool} is not installed");
            return;
        }
    }
    let ns = format!("ward-audit-{}", std::process::id());
    let dir = std::env::temp_dir().join(&ns);
    std::fs::create_dir_all(dir.join("www")).unwrap();
    let mut lab = Lab {
        ns: ns.clone(),
        dir: dir.clone(),
        children: Vec::new(),
    };
    assert!(sh(&["ip", "netns", "add", &ns]));
    for cmd in [
        vec!["ip", "-n", &ns, "link", "set", "lo", "up"],
        // Both ends of the pair stay inside the namespace.
        vec![
            "ip", "-n", &ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1",
        ],
        vec!["ip", "-n", &ns, "addr", "add", "10.231.0.1/24", "dev", "d0"],
        vec!["ip", "-n", &ns, "link", "set", "d0", "up"],
        vec!["ip", "-n", &ns, "link", "set", "d1", "up"],
    ] {
        assert!(sh(&cmd), "{cmd:?}");
    }
    let routes = Command::new("ip")
        .args(["-n", &ns, "route", "show", "default"])
        .output()
        .unwrap();
    assert!(
        routes.stdout.is_empty(),
        "the lab namespace must have no default route"
    );

    let login = dir.join("login.sh");
    write(
        &login,
        "#!/bin/busybox sh\n\
         printf 'Camera login: '; read u; u=$(echo \"$u\" | tr -d '\\r')\n\
         printf 'Password: '; read p; p=$(echo \"$p\" | tr -d '\\r')\n\
         if [ \"$u\" = root ] && [ \"$p\" = vizxv ]; then\n\
           echo; echo 'BusyBox v1.19.4 (2015-05-05) built-in shell (ash)'; printf '# '; read x; exit 0\n\
         fi\n\
         echo; echo 'Login incorrect'; exit 1\n",
    );
    sh(&["chmod", "755", login.to_str().unwrap()]);
    write(
        &dir.join("www/index.html"),
        "<html><head><title>IP Camera</title></head><body>live</body></html>\n",
    );
    write(&dir.join("httpd.conf"), "/:admin:admin\n");
    let passwd = dir.join("mqtt.passwd");
    assert!(sh(&[
        "mosquitto_passwd",
        "-c",
        "-b",
        passwd.to_str().unwrap(),
        "support",
        "support"
    ]));
    write(
        &dir.join("mosquitto.conf"),
        &format!(
            "user root\nlistener 1883 {ADDR}\nallow_anonymous false\npassword_file {}\n",
            passwd.display()
        ),
    );

    let spawn = |args: &[&str]| {
        let mut full = vec!["netns", "exec", &ns];
        full.extend_from_slice(args);
        Command::new("ip")
            .args(&full)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("daemon starts")
    };
    let login_s = login.to_str().unwrap().to_string();
    let www = dir.join("www").to_str().unwrap().to_string();
    let conf = dir.join("httpd.conf").to_str().unwrap().to_string();
    let mconf = dir.join("mosquitto.conf").to_str().unwrap().to_string();
    lab.children.push(spawn(&[
        "busybox", "telnetd", "-F", "-p", "23", "-b", ADDR, "-l", &login_s,
    ]));
    lab.children.push(spawn(&[
        "busybox",
        "httpd",
        "-f",
        "-p",
        &format!("{ADDR}:80"),
        "-h",
        &www,
        "-c",
        &conf,
        "-r",
        "camera",
    ]));
    lab.children.push(spawn(&["mosquitto", "-c", &mconf]));
    let key = dir.join("dropbear_ed25519").to_str().unwrap().to_string();
    assert!(Command::new("dropbearkey")
        .args(["-t", "ed25519", "-f", &key])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success()));
    lab.children.push(spawn(&[
        "dropbear",
        "-F",
        "-E",
        "-s",
        "-r",
        &key,
        "-p",
        &format!("{ADDR}:22"),
    ]));
    std::thread::sleep(Duration::from_millis(700));

    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(&exe)
        .args([
            "--exact",
            "inner_audit_in_namespace",
            "--ignored",
            "--nocapture",
        ])
        .env(TARGET_ENV, ADDR)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "inner audit failed");
    assert!(stdout.contains("1 passed"), "inner test did not run");
    drop(lab);
}

/// Runs only inside the namespace, started by the test above.
#[test]
#[ignore = "started inside the lab namespace by audit_finds_factory_logins_of_real_daemons_in_a_namespace"]
fn inner_audit_in_namespace() {
    let Ok(target) = std::env::var(TARGET_ENV) else {
        return;
    };
    let targets = audit::parse_targets(&[target], false, false).unwrap();
    let cfg = AuditConfig {
        ports: vec![21, 22, 23, 80, 554, 1883, 5555],
        rate_per_sec: 200,
        concurrency: 4,
        connect_timeout: Duration::from_millis(500),
        io_timeout: Duration::from_millis(1500),
        ..AuditConfig::default()
    };
    let started = std::time::Instant::now();
    let out = audit::run(&targets, cfg, Arc::new(AtomicBool::new(false)));
    println!(
        "audit took {:?}, {} connections",
        started.elapsed(),
        out.connections
    );
    for s in &out.services {
        println!(
            "{}:{} {} [{}] creds={} tried={}",
            s.ip, s.port, s.service, s.banner, s.credentials, s.tried
        );
    }
    for e in &out.findings {
        let f = e.finding.as_ref().unwrap();
        println!("{:?} {} {:?} {}", f.kind, f.protocol, f.username, f.summary);
    }
    let open: Vec<u16> = out.services.iter().map(|s| s.port).collect();
    assert_eq!(open, [22, 23, 80, 1883], "only the four daemons answer");
    let ssh = out.services.iter().find(|s| s.port == 22).unwrap();
    assert!(
        ssh.banner.starts_with("SSH-2.0-dropbear_"),
        "{}",
        ssh.banner
    );
    assert!(
        !ssh.banner.contains("curve25519"),
        "identification line only: {}",
        ssh.banner
    );
    assert_eq!(ssh.credentials, "not-checked");
    let defaults: Vec<(String, Option<String>)> = out
        .findings
        .iter()
        .filter_map(|e| e.finding.as_ref())
        .filter(|f| f.kind == FindingKind::DefaultCredentials)
        .map(|f| (f.protocol.clone(), f.username.clone()))
        .collect();
    let mut sorted = defaults.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            ("http".to_string(), Some("admin".to_string())),
            ("mqtt".to_string(), Some("support".to_string())),
            ("telnet".to_string(), Some("root".to_string())),
        ]
    );
    for e in &out.findings {
        let f = e.finding.as_ref().unwrap();
        assert!(f.secret.is_none(), "secrets are never written by the audit");
        assert_eq!(e.dest_ip.map(|i| i.to_string()).as_deref(), Some(ADDR));
        if f.kind == FindingKind::DefaultCredentials {
            assert_eq!(f.outcome.as_deref(), Some("success"));
            assert!(f.secret_redacted);
        }
    }
    let telnet = out.services.iter().find(|s| s.port == 23).unwrap();
    assert_eq!(telnet.tried, 2, "root/xc3511 refused, root/vizxv accepted");
    let http = out.services.iter().find(|s| s.port == 80).unwrap();
    assert!(http.banner.contains("401"), "{}", http.banner);
    assert_eq!(http.tried, 4);
    let kinds: Vec<FindingKind> = out
        .findings
        .iter()
        .filter_map(|e| e.finding.as_ref().map(|f| f.kind))
        .collect();
    assert!(kinds.contains(&FindingKind::RiskyService), "telnet open");
    assert!(
        kinds.contains(&FindingKind::InsecureProtocol),
        "http basic, mqtt"
    );
}
