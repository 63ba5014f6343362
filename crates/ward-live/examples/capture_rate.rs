//! Measure what a backend can take: count frames and kernel drops on an
//! interface for a while, with nothing else done per frame.
//!
//!   cargo run --release -p ward-live --example capture_rate -- IFACE SECS [afpacket|pcap] [BUFFER_MIB]
//!
//! Used for the numbers in docs/watch.md (a flood sent across a veth pair
//! between two network namespaces).

use std::time::{Duration, Instant};

use ward_live::{Backend, LiveOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(iface) = args.get(1) else {
        eprintln!("usage: capture_rate IFACE SECS [afpacket|pcap] [BUFFER_MIB]");
        std::process::exit(2);
    };
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let backend = args
        .get(3)
        .and_then(|s| Backend::parse(s))
        .unwrap_or_default();
    let mut opts = LiveOptions::new(iface.clone());
    if let Some(mib) = args.get(4).and_then(|s| s.parse::<usize>().ok()) {
        opts.buffer_bytes = mib << 20;
    }
    let mut src = match ward_live::open(backend, &opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("capture_rate: {e}");
            std::process::exit(1);
        }
    };
    let start = Instant::now();
    let (mut frames, mut bytes) = (0u64, 0u64);
    let mut first: Option<Instant> = None;
    let mut last = start;
    while start.elapsed() < Duration::from_secs(secs) {
        if let Ok(Some(f)) = src.next_frame(Duration::from_millis(100)) {
            frames += 1;
            bytes += f.data.len() as u64;
            let now = Instant::now();
            first.get_or_insert(now);
            last = now;
        }
    }
    let c = src.counters().unwrap_or_default();
    let active = first
        .map(|f| last.duration_since(f).as_secs_f64())
        .unwrap_or(0.0);
    println!(
        "{}: {frames} frames ({bytes} bytes) read in {active:.2} s of traffic = {:.0} frames/s; kernel: {} received, {} dropped ({:.2} %)",
        src.describe(),
        if active > 0.0 { frames as f64 / active } else { 0.0 },
        c.received,
        c.dropped,
        if c.received > 0 { 100.0 * c.dropped as f64 / c.received as f64 } else { 0.0 }
    );
}
