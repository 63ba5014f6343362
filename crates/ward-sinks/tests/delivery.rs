//! Sinks against real receivers on loopback: a small HTTP server written
//! here (one that answers 200, one that fails first), UDP and TCP syslog
//! sockets, and a real mosquitto broker when it is installed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ward_core::{Alert, AlertCategory, Event, EventSink, EventType, Timestamp};
use ward_sinks::{SinkReport, SinkSet};

fn alert(severity: u8, category: AlertCategory, sig: &str) -> Event {
    Event::alert(
        Timestamp::parse_rfc3339("2024-05-01T10:00:00.5Z").unwrap(),
        Alert {
            category,
            signature: sig.into(),
            severity,
            confidence: 0.8,
            summary: format!("{sig} seen"),
            evidence: BTreeMap::new(),
            devices: vec![],
            attacker: Some("10.0.0.9".parse().unwrap()),
            victims: vec![],
            first_seen: Timestamp::ZERO,
            last_seen: Timestamp::ZERO,
            count: 1,
            detector: "test".into(),
        },
    )
}

fn sinks(toml_text: &str) -> SinkSet {
    #[derive(serde::Deserialize)]
    struct File {
        sinks: Vec<serde_json::Value>,
    }
    let f: File = toml::from_str(toml_text).expect("TOML");
    SinkSet::from_config(&f.sinks).expect("sinks start")
}

/// One recorded HTTP request.
#[derive(Debug, Clone)]
struct Request {
    head: String,
    body: String,
}

/// A tiny HTTP/1.1 server on 127.0.0.1: answers each request with the next
/// status from `statuses` (the last one repeats) and records it.
struct HttpReceiver {
    url: String,
    got: Arc<Mutex<Vec<Request>>>,
}

impl HttpReceiver {
    fn start(statuses: Vec<u16>) -> HttpReceiver {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            let mut n = 0usize;
            for conn in l.incoming() {
                let Ok(conn) = conn else { continue };
                // Keep-alive: several requests may come on one connection.
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut w = conn;
                loop {
                    let mut head = String::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            break;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    if head.is_empty() {
                        break;
                    }
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        break;
                    }
                    let status = statuses[n.min(statuses.len() - 1)];
                    n += 1;
                    g.lock().unwrap().push(Request {
                        head,
                        body: String::from_utf8_lossy(&body).into(),
                    });
                    let resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                    if w.write_all(resp.as_bytes()).is_err() {
                        break;
                    }
                }
            }
        });
        HttpReceiver { url, got }
    }

    fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }
}

fn only(reports: &[SinkReport]) -> &SinkReport {
    assert_eq!(reports.len(), 1);
    &reports[0]
}

#[test]
fn webhook_posts_filtered_events_as_json() {
    let rx = HttpReceiver::start(vec![200]);
    let mut set = sinks(&format!(
        r#"[[sinks]]
        type = "webhook"
        name = "hook"
        url = "{}"
        headers = {{ Authorization = "Bearer s3cret" }}
        min_severity = 2
        categories = ["bruteforce", "botnet"]
        "#,
        rx.url
    ));
    set.emit(&alert(1, AlertCategory::Bruteforce, "telnet-bruteforce"));
    set.emit(&alert(3, AlertCategory::Bruteforce, "too-mild")); // severity filter
    set.emit(&alert(1, AlertCategory::Recon, "port-scan")); // category filter
    set.emit(&Event::new(Timestamp::ZERO, EventType::Stats)); // event-type filter
    let r = set.finish(Duration::from_secs(10));
    let r = only(&r);
    assert_eq!((r.sent, r.failed, r.dropped), (1, 0, 0), "{r:?}");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert!(
        reqs[0].head.starts_with("POST /hook HTTP/1.1"),
        "{}",
        reqs[0].head
    );
    let lower = reqs[0].head.to_ascii_lowercase();
    assert!(
        lower.contains("authorization: bearer s3cret"),
        "{}",
        reqs[0].head
    );
    assert!(
        lower.contains("content-type: application/json"),
        "{}",
        reqs[0].head
    );
    let ev: Event = serde_json::from_str(&reqs[0].body).unwrap();
    assert_eq!(ev.alert.unwrap().signature, "telnet-bruteforce");
}

#[test]
fn webhook_retries_server_errors_with_backoff() {
    let rx = HttpReceiver::start(vec![503, 500, 200]);
    let mut set = sinks(&format!(
        "[[sinks]]\ntype = \"webhook\"\nurl = \"{}\"\nbackoff_ms = 50\n",
        rx.url
    ));
    let t0 = Instant::now();
    set.emit(&alert(1, AlertCategory::Dos, "syn-flood"));
    let r = set.finish(Duration::from_secs(10));
    let r = only(&r);
    assert_eq!((r.sent, r.retried, r.failed), (1, 2, 0), "{r:?}");
    assert_eq!(rx.requests().len(), 3);
    // Two waits of 50 ms and 100 ms, each with jitter in [0.5, 1.5).
    assert!(
        t0.elapsed() >= Duration::from_millis(75),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(r.last_error.as_deref(), Some("webhook answered HTTP 500"));
}

#[test]
fn webhook_does_not_retry_a_refusal() {
    let rx = HttpReceiver::start(vec![400]);
    let mut set = sinks(&format!(
        "[[sinks]]\ntype = \"webhook\"\nurl = \"{}\"\n",
        rx.url
    ));
    set.emit(&alert(1, AlertCategory::Dos, "syn-flood"));
    let r = set.finish(Duration::from_secs(10));
    assert_eq!(
        (r[0].sent, r[0].retried, r[0].failed),
        (0, 0, 1),
        "{:?}",
        r[0]
    );
    assert_eq!(rx.requests().len(), 1);
}

#[test]
fn an_unreachable_webhook_never_blocks_the_engine() {
    // A port nobody listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut set = sinks(&format!(
        "[[sinks]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{port}/\"\nqueue = 10\nmax_attempts = 2\nbackoff_ms = 20\n"
    ));
    let t0 = Instant::now();
    for _ in 0..1000 {
        set.emit(&alert(1, AlertCategory::Dos, "syn-flood"));
    }
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "emit blocked: {:?}",
        t0.elapsed()
    );
    let r = set.finish(Duration::from_secs(2));
    let r = only(&r);
    assert_eq!(r.sent, 0);
    assert!(r.dropped >= 980, "{r:?}");
    assert_eq!(r.sent + r.failed + r.dropped, 1000, "{r:?}");
    assert!(
        r.last_error.as_deref().unwrap_or("").contains("webhook"),
        "{r:?}"
    );
}

#[test]
fn syslog_over_udp_is_rfc5424() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut set = sinks(&format!(
        "[[sinks]]\ntype = \"syslog\"\naddress = \"{}\"\nhostname = \"pi\"\n",
        rx.local_addr().unwrap()
    ));
    set.emit(&alert(1, AlertCategory::Bruteforce, "telnet-bruteforce"));
    set.emit(&alert(3, AlertCategory::Recon, "port-scan"));
    let r = set.finish(Duration::from_secs(5));
    assert_eq!(r[0].sent, 2);
    let mut buf = [0u8; 4096];
    let n = rx.recv(&mut buf).unwrap();
    let m = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(
        m.starts_with("<130>1 2024-05-01T10:00:00.500000Z pi ward - alert [ward@32473 sig=\"telnet-bruteforce\" sev=\"1\" cat=\"bruteforce\""),
        "{m}"
    );
    assert!(m.ends_with("] telnet-bruteforce seen"), "{m}");
    let n = rx.recv(&mut buf).unwrap();
    let m = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(
        m.starts_with("<132>1 "),
        "local0.warning for severity 3: {m}"
    );
}

#[test]
fn syslog_over_tcp_uses_octet_counting() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut set = sinks(&format!(
        "[[sinks]]\ntype = \"syslog\"\naddress = \"{}\"\ntransport = \"tcp\"\nfacility = \"daemon\"\n",
        l.local_addr().unwrap()
    ));
    set.emit(&alert(2, AlertCategory::Botnet, "mirai-scan"));
    set.emit(&alert(2, AlertCategory::Botnet, "mirai-scan"));
    let r = set.finish(Duration::from_secs(5));
    assert_eq!(r[0].sent, 2, "{:?}", r[0]);
    let (conn, _) = l.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut all = String::new();
    BufReader::new(conn).read_to_string(&mut all).unwrap();
    // Two frames, each `LEN SP MSG` with LEN the exact byte length.
    let mut rest = all.as_str();
    for _ in 0..2 {
        let (len, tail) = rest.split_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        let msg = &tail[..len];
        assert!(msg.starts_with("<27>1 "), "daemon.err: {msg}");
        rest = &tail[len..];
    }
    assert!(rest.is_empty());
}

#[test]
fn metrics_expose_counters_per_sink() {
    let rx = HttpReceiver::start(vec![200]);
    let mut set = sinks(&format!(
        "[[sinks]]\ntype = \"webhook\"\nname = \"hook\"\nurl = \"{}\"\n",
        rx.url
    ));
    let metrics = set.metrics();
    set.emit(&alert(1, AlertCategory::Dos, "syn-flood"));
    let t0 = Instant::now();
    while set.reports()[0].sent == 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut reg = prometheus_client::registry::Registry::default();
    reg.register_collector(Box::new(metrics));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
    assert!(
        text.contains(r#"ward_sink_events_total{sink="hook",type="webhook",outcome="sent"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ward_sink_queue_depth{sink="hook",type="webhook"} 0"#),
        "{text}"
    );
    set.finish(Duration::from_secs(5));
}

/// mosquitto on a free loopback port, stopped on drop.
struct Broker {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Broker {
    fn start() -> Option<Broker> {
        Broker::start_with(|_| String::new())
    }

    /// `extra` gets the broker's directory and returns more listener lines.
    fn start_with(extra: impl Fn(&std::path::Path) -> String) -> Option<Broker> {
        if Command::new("mosquitto")
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!("skipping: mosquitto is not installed (apt-get install mosquitto mosquitto-clients)");
            return None;
        }
        if Command::new("mosquitto_sub")
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!(
                "skipping: mosquitto_sub is not installed (apt-get install mosquitto-clients)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("ward-sinks-mqtt-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("mosquitto.conf");
        let more = extra(&dir);
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\n{more}"),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "mosquitto did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Broker { child, port, dir })
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn mqtt_publishes_alerts_by_category_to_a_real_broker() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "-t",
            "home/ward/#",
            "-v",
            "-C",
            "2",
            "-W",
            "15",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Give the subscription time to reach the broker (messages are not retained).
    std::thread::sleep(Duration::from_millis(500));
    let mut set = sinks(&format!(
        "[[sinks]]\ntype = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {}\ntopic_prefix = \"home/ward\"\nclient_id = \"ward-test\"\n",
        broker.port
    ));
    set.emit(&alert(1, AlertCategory::Bruteforce, "telnet-bruteforce"));
    set.emit(&alert(2, AlertCategory::NewDevice, "new-device"));
    let r = set.finish(Duration::from_secs(10));
    assert_eq!(
        (r[0].sent, r[0].failed),
        (2, 0),
        "acknowledged by the broker: {:?}",
        r[0]
    );
    let out = sub.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let (topic, payload) = lines[0].split_once(' ').unwrap();
    assert_eq!(topic, "home/ward/alerts/bruteforce");
    let ev: Event = serde_json::from_str(payload).unwrap();
    assert_eq!(ev.alert.unwrap().signature, "telnet-bruteforce");
    assert!(
        lines[1].starts_with("home/ward/alerts/new-device {"),
        "{}",
        lines[1]
    );
}

#[test]
fn mqtt_without_a_broker_counts_failures_and_does_not_hang() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let port = broker.port;
    drop(broker); // now nothing listens there
    let mut set = sinks(&format!(
        "[[sinks]]\ntype = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {port}\nmax_attempts = 2\nbackoff_ms = 50\n"
    ));
    set.emit(&alert(1, AlertCategory::Dos, "syn-flood"));
    let t0 = Instant::now();
    let r = set.finish(Duration::from_secs(8));
    assert!(t0.elapsed() < Duration::from_secs(12), "{:?}", t0.elapsed());
    assert_eq!(
        (r[0].sent, r[0].failed, r[0].retried),
        (0, 1, 1),
        "{:?}",
        r[0]
    );
    assert!(
        r[0].last_error
            .as_deref()
            .unwrap_or("")
            .contains("not connected"),
        "{:?}",
        r[0]
    );
}

/// A throw-away CA and a server certificate for 127.0.0.1, made with openssl.
fn make_certs(dir: &std::path::Path) -> bool {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    std::fs::write(
        dir.join("srv.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ca = |key: &str, pem: &str, cn: &str| {
        let subj = format!("/CN={cn}");
        run(&[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", key, "-out", pem, "-days", "2", "-subj", &subj],
        ]
        .concat())
    };
    ca("ca.key", "ca.pem", "ward test CA")
        && run(&[
            &["req"][..],
            &ec,
            &["-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1"],
        ]
        .concat())
        && run(&[
            "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "srv.ext",
        ])
        // Another CA, which did not sign the broker's certificate.
        && ca("other.key", "other.pem", "someone else")
}

#[test]
fn mqtt_over_tls_verifies_the_broker() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipping: openssl is not installed (needed to make test certificates)");
        return;
    }
    let made = std::sync::atomic::AtomicBool::new(true);
    let Some(broker) = Broker::start_with(|dir| {
        if !make_certs(dir) {
            made.store(false, std::sync::atomic::Ordering::SeqCst);
            return String::new();
        }
        // mosquitto may drop to its own user: let it read the files.
        for f in ["ca.pem", "srv.pem", "srv.key"] {
            let _ = std::fs::set_permissions(
                dir.join(f),
                std::os::unix::fs::PermissionsExt::from_mode(0o644),
            );
        }
        format!(
            "cafile {0}/ca.pem\ncertfile {0}/srv.pem\nkeyfile {0}/srv.key\n",
            dir.display()
        )
    }) else {
        return;
    };
    assert!(
        made.load(std::sync::atomic::Ordering::SeqCst),
        "openssl could not make certificates"
    );
    let sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "--cafile",
        ])
        .arg(broker.dir.join("ca.pem"))
        .args(["-t", "ward/#", "-v", "-C", "1", "-W", "15"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let cfg = |ca: &str, attempts: u32| {
        format!(
            "[[sinks]]\ntype = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {}\ntls = true\nca_file = \"{}\"\nclient_id = \"ward-tls-{attempts}\"\nmax_attempts = {attempts}\nbackoff_ms = 50\n",
            broker.port,
            broker.dir.join(ca).display()
        )
    };
    // The right CA: delivered and acknowledged over TLS.
    let mut set = sinks(&cfg("ca.pem", 5));
    set.emit(&alert(1, AlertCategory::Exploit, "cve-probe"));
    let r = set.finish(Duration::from_secs(10));
    assert_eq!((r[0].sent, r[0].failed), (1, 0), "{:?}", r[0]);
    let out = sub.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("ward/alerts/exploit {"), "{text}");
    // A CA that did not sign the broker's certificate: never connected.
    let mut set = sinks(&cfg("other.pem", 2));
    set.emit(&alert(1, AlertCategory::Exploit, "cve-probe"));
    let r = set.finish(Duration::from_secs(8));
    assert_eq!((r[0].sent, r[0].failed), (0, 1), "{:?}", r[0]);
}

/// Read one HTTP request (head and body) from `s`; `None` at end of stream.
fn read_request(s: &mut impl Read) -> Option<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    s.read_exact(&mut body).ok()?;
    Some(Request {
        head,
        body: String::from_utf8_lossy(&body).into(),
    })
}

#[test]
fn webhook_over_https_verifies_the_server() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipping: openssl is not installed (needed to make test certificates)");
        return;
    }
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::env::temp_dir().join(format!("ward-sinks-https-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(make_certs(&dir), "openssl could not make certificates");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("srv.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("srv.key")).unwrap();
    let server = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::<Request>::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().map_while(Result::ok) {
            let conn = rustls::ServerConnection::new(server.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // A client that rejects our certificate ends the handshake here.
            while let Some(req) = read_request(&mut tls) {
                g.lock().unwrap().push(req);
                if tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .is_err()
                {
                    break;
                }
            }
        }
    });
    let cfg = |ca: &str| {
        format!(
            "[[sinks]]\ntype = \"webhook\"\nurl = \"https://127.0.0.1:{port}/hook\"\nca_file = \"{}\"\nmax_attempts = 2\nbackoff_ms = 20\n",
            dir.join(ca).display()
        )
    };
    let mut set = sinks(&cfg("ca.pem"));
    set.emit(&alert(1, AlertCategory::Spoofing, "arp-spoof"));
    let r = set.finish(Duration::from_secs(10));
    assert_eq!((r[0].sent, r[0].failed), (1, 0), "{:?}", r[0]);
    let reqs = got.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    let ev: Event = serde_json::from_str(&reqs[0].body).unwrap();
    assert_eq!(ev.alert.unwrap().signature, "arp-spoof");
    // The wrong CA: the TLS handshake fails, nothing is delivered.
    let mut set = sinks(&cfg("other.pem"));
    set.emit(&alert(1, AlertCategory::Spoofing, "arp-spoof"));
    let r = set.finish(Duration::from_secs(10));
    assert_eq!(
        (r[0].sent, r[0].failed, r[0].retried),
        (0, 1, 1),
        "{:?}",
        r[0]
    );
    let why = r[0].last_error.clone().unwrap_or_default().to_lowercase();
    assert!(why.contains("certificate"), "{why}");
    assert_eq!(got.lock().unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
