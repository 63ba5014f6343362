//! End to end in a real browser: a real capture through the real engine and
//! detectors into a store, `ward serve`'s server on loopback, headless
//! Chromium driven over chromedriver's WebDriver HTTP API. Signs in, finds
//! a device, mutes an alert, checks the store, and sees a live update.
//!
//! Skips (saying why) when `chromium` or `chromedriver` is missing
//! (`apt-get install -y chromium chromium-driver`) or no capture is found
//! (`demo/home-lab.pcap`, else `$WARD_DATASETS/scans-esnet/...masscan...`).
//! With `WARD_SCREENSHOTS=DIR` it saves PNGs of the main pages there
//! (`WARD_SCREENSHOTS=docs/screenshots` regenerates the documentation's).

mod webdriver;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ward_capture::{MergedReader, RawPacket};
use ward_core::{Config, Detector, Engine, Timestamp};
use ward_store::{AlertQuery, AlertStatus, Store, StoreSink};
use webdriver::WebDriver;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn find_capture() -> Option<PathBuf> {
    let demo = workspace_root().join("demo/home-lab.pcap");
    if demo.exists() {
        return Some(demo);
    }
    let ds = std::env::var_os("WARD_DATASETS")?;
    let p = PathBuf::from(ds).join("scans-esnet/attacks/scanners/masscan/tcp_0_1000_20190821.pcap");
    p.exists().then_some(p)
}

/// Run `capture` through the engine with the detectors and the device
/// identifier `ward analyze` uses, into the store at `db`. Returns the
/// number of alerts stored.
fn analyze_into(capture: &Path, db: &Path) -> u64 {
    let mut detectors: Vec<Box<dyn Detector>> = vec![Box::new(ward_hygiene::HygieneDetector::new(
        Default::default(),
    ))];
    detectors.extend(ward_detect::detectors(None).unwrap());
    let ident = ward_identify::DeviceIdentifier::new(
        ward_identify::Model::default_model().unwrap(),
        Default::default(),
        Default::default(),
    );
    detectors.push(ident.port_observer());
    let config = Config::default();
    let mut engine =
        Engine::new(config.engine.clone(), 7, detectors).with_identifier(Box::new(ident));
    let mut reader = MergedReader::open(&[capture]).unwrap();
    let mut sink = StoreSink::new(Store::open(db).unwrap());
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
    let (_, totals) = sink.finish().unwrap();
    totals.alerts_new
}

/// A contract-valid alert, for captures on which no detector fires yet.
fn synthetic_alert(store: &mut Store) {
    let d = store.devices(&Default::default()).unwrap();
    let victim = d.first().map(|d| d.id.clone()).unwrap_or_default();
    let now = d.first().map(|d| d.last_seen).unwrap_or_default();
    let a = ward_core::Alert {
        category: ward_core::AlertCategory::Recon,
        signature: "tcp-port-scan".into(),
        severity: 2,
        confidence: 0.9,
        summary: "synthetic: a port scan (no detector fired on this capture)".into(),
        evidence: Default::default(),
        devices: vec![victim],
        attacker: Some("192.0.2.66".parse().unwrap()),
        victims: vec![],
        first_seen: now,
        last_seen: now,
        count: 100,
        detector: "e2e-synthetic".into(),
    };
    store.ingest(&[ward_core::Event::alert(now, a)]).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshots_dir() -> Option<PathBuf> {
    let d = PathBuf::from(std::env::var_os("WARD_SCREENSHOTS")?);
    let d = if d.is_relative() {
        workspace_root().join(d)
    } else {
        d
    };
    std::fs::create_dir_all(&d).unwrap();
    Some(d)
}

/// Take a screenshot; check it is a PNG; save it when asked.
fn shot(wd: &WebDriver, name: &str) {
    let png = wd.screenshot();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
    if let Some(dir) = screenshots_dir() {
        let p = dir.join(format!("{name}.png"));
        std::fs::write(&p, &png).unwrap();
        eprintln!("saved {} ({} kB)", p.display(), png.len() / 1024);
        assert!(png.len() < 300 * 1024, "{name}.png is {} bytes", png.len());
    }
}

#[test]
fn browser_signs_in_finds_a_device_and_mutes_an_alert() {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(tool).exists() {
            eprintln!("skipped: {tool} missing (apt-get install -y chromium chromium-driver)");
            return;
        }
    }
    let Some(capture) = find_capture() else {
        eprintln!(
            "skipped: no demo/home-lab.pcap and WARD_DATASETS unset or without the masscan capture"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ward.db");
    let alerts = analyze_into(&capture, &db);
    eprintln!(
        "{}: {alerts} alert(s) from the detectors",
        capture.display()
    );
    let mut store = Store::open(&db).unwrap();
    if alerts == 0 {
        eprintln!("no detector fired on this capture: adding one synthetic, contract-valid alert");
        synthetic_alert(&mut store);
    }
    let secret = ward_web::auth::reset_admin_secret(&mut store).unwrap();

    // The server, as `ward serve` runs it, on a loopback port.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let state = ward_web::AppState::new(store, false);
            ward_web::serve_plain(state, listener, async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        });
    });

    let port = free_port();
    let driver = KillOnDrop(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let wd = WebDriver::start(port, CHROMIUM, profile.path());
    eprintln!("browser up after {:?}", t0.elapsed());

    // Sign in: every page sends us to the form first.
    wd.go(&format!("{base}/"));
    assert!(wd.url().contains("/login"), "{}", wd.url());
    shot(&wd, "login");
    wd.find("#password").send_keys(&secret);
    wd.find("form[action='/login'] button[type=submit]").click();
    let home = format!("{base}/");
    wd.wait_url("the overview after signing in", |u| u == home);
    assert!(wd.find("h1").text().contains("Network security score"));
    shot(&wd, "overview");
    eprintln!("signed in after {:?}", t0.elapsed());

    // Find a device by searching the inventory.
    let reader = Store::open(&db).unwrap();
    let target = reader
        .devices(&ward_store::DeviceQuery {
            sort: ward_store::DeviceSort::Risk,
            descending: true,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .next()
        .expect("the capture has devices");
    let needle = target.ips.first().cloned().unwrap_or(target.id.clone());
    wd.go(&format!("{base}/devices"));
    shot(&wd, "devices");
    wd.find("input[name=q]").send_keys(&needle);
    wd.find("form.filters button[type=submit]").click();
    wd.wait_url("the search results", |u| u.contains("q="));
    let link = wd.find("table.list tbody tr td a");
    assert_eq!(link.text(), target.display_name());
    link.click();
    wd.wait_url("the device page", |u| u.contains("/devices/"));
    assert!(wd.find("h1").text().contains(&target.display_name()));
    assert!(wd.page_source().contains("What to do"));
    shot(&wd, "device");

    // Mute the newest active alert.
    wd.go(&format!("{base}/alerts"));
    shot(&wd, "alerts");
    let card = wd.find("article.alert");
    let id: i64 = card
        .attribute("id")
        .strip_prefix("alert-")
        .unwrap()
        .parse()
        .unwrap();
    card.find("input[name=note]")
        .send_keys("muted by the e2e test");
    card.find("button[value=mute]").click();
    let fragment = format!("#alert-{id}");
    wd.wait_url("the alerts page after muting", |u| u.ends_with(&fragment));
    let row = reader.alert(id).unwrap().unwrap();
    assert_eq!(row.status, AlertStatus::Muted);
    assert_eq!(row.note.as_deref(), Some("muted by the e2e test"));
    // It left the active list.
    assert!(!wd.page_source().contains(&format!(r#"id="alert-{id}""#)));

    eprintln!("alert muted after {:?}", t0.elapsed());
    wd.go(&format!("{base}/findings"));
    shot(&wd, "findings");

    // Live update: a new alert written by another process shows the banner.
    wd.go(&format!("{base}/"));
    let mut writer = Store::open(&db).unwrap();
    let before = writer.alerts(&AlertQuery::default()).unwrap().len();
    synthetic_alert(&mut writer);
    assert_eq!(
        writer.alerts(&AlertQuery::default()).unwrap().len(),
        before + 1
    );
    let started = Instant::now();
    loop {
        if wd.find("#live").displayed() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the live banner never appeared"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(wd.find("#live-text").text().contains("New data"));
    eprintln!("live banner after {:?}", t0.elapsed());

    wd.quit();
    drop(driver);
    let _ = stop_tx.send(());
    server.join().unwrap();
    eprintln!("server stopped after {:?}", t0.elapsed());
}
