//! "A `kill -9` mid-write loses nothing already acknowledged."
//!
//! The test re-runs its own binary as a child (`crash_child`, inert unless
//! `WARD_STORE_CRASH_DB` is set) that ingests batches in a loop and prints
//! `ack <batch_id> <n>` after each `ingest` returns. The parent kills it with
//! SIGKILL at a random-ish moment, several times over the same file, then
//! checks that every printed batch is in the database, every stored batch is
//! complete (atomicity) and `PRAGMA integrity_check` passes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ward_store::{AlertQuery, Store};

/// Events per batch: 1 alert (tagged with the batch number) + devices + flows.
const ALERT_SIG: &str = "crash-test";

fn batch(n: i64) -> Vec<ward_core::Event> {
    let mut evs = Vec::new();
    let m = (n % 200) as u8;
    evs.push(device(
        n,
        m,
        &format!("10.0.{}.{}", n / 200 % 250, m),
        None,
        None,
    ));
    for k in 0..40 {
        evs.push(flow(
            n,
            n + 120,
            (m, "10.0.0.1"),
            "203.0.113.9",
            10 + k,
            1000,
        ));
    }
    let mut a = alert(n, ALERT_SIG, 3, "192.168.1.66", mac(m));
    a.alert
        .as_mut()
        .unwrap()
        .evidence
        .insert("batch".into(), serde_json::json!(n));
    evs.push(a);
    evs.push(finding(n, &mac(m).to_string(), &format!("user{n}"), 3));
    evs
}

#[test]
fn crash_child() {
    let Ok(path) = std::env::var("WARD_STORE_CRASH_DB") else {
        return; // only meaningful as the child of `kill_9_loses_no_acknowledged_batch`
    };
    let start: i64 = std::env::var("WARD_STORE_CRASH_START")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut store = Store::open(&path).unwrap();
    let mut out = std::io::stdout().lock();
    for n in start.. {
        let r = store.ingest(&batch(n)).unwrap();
        writeln!(out, "ack {} {n}", r.batch_id).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_loses_no_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ward.db");
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(i64, i64)> = Vec::new();
    let mut next = 0i64;
    for round in 0..4u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("WARD_STORE_CRASH_DB", &path)
            .env("WARD_STORE_CRASH_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Let it acknowledge a varying number of batches, then kill it while
        // it is inside the next one.
        let want = 5 + round * 7;
        let mut seen = 0;
        let started = Instant::now();
        while seen < want {
            let Some(Ok(line)) = lines.next() else {
                panic!("child ended early");
            };
            if let Some(rest) = line.strip_prefix("ack ") {
                let mut it = rest.split(' ').map(|x| x.parse::<i64>().unwrap());
                acked.push((it.next().unwrap(), it.next().unwrap()));
                seen += 1;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "child too slow"
            );
        }
        std::thread::sleep(Duration::from_micros(1_000 + round * 3_337));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Acks printed before the kill are still in the pipe: they count.
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("ack ") {
                let mut it = rest.split(' ').map(|x| x.parse::<i64>().unwrap());
                acked.push((it.next().unwrap(), it.next().unwrap()));
            }
        }
        next = acked.last().unwrap().1 + 1;

        let store = Store::open(&path).unwrap();
        store.integrity_check().unwrap();
        for (batch_id, n) in &acked {
            assert!(store.has_batch(*batch_id).unwrap(), "batch {batch_id} lost");
            let _ = n;
        }
        // Every alert row is a whole batch's alert: count and tags agree
        // with the batch log (a half-written batch would break this).
        let alerts = store
            .alerts(&AlertQuery {
                signature: Some(ALERT_SIG.into()),
                limit: 1000,
                ..Default::default()
            })
            .unwrap();
        let mut tags: Vec<i64> = alerts
            .iter()
            .map(|a| a.evidence["batch"].as_i64().unwrap())
            .collect();
        tags.sort_unstable();
        let batches = store.last_batch_id().unwrap();
        assert_eq!(tags.len() as i64, batches, "alerts vs acknowledged batches");
        for (_, n) in &acked {
            assert!(tags.binary_search(n).is_ok(), "alert of batch {n} lost");
        }
        // A batch committed but killed before its ack was printed is fine; it
        // must then be the very next one.
        next = next.max(*tags.last().unwrap() + 1);
    }
    assert!(acked.len() >= 5 + 12 + 19 + 26);
}
