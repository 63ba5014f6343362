//! Measure what identification adds to the whole pipeline.
//!
//! `cargo run --release -p ward-identify --example overhead -- FILE.pcap...`
//!
//! Loads the frames into memory, then replays them through the engine
//! without and with the identifier (plus its port observer), best of 7
//! interleaved runs each, and prints packets per second.

use std::time::Instant;

use ward_capture::{MergedReader, RawPacket};
use ward_core::{Engine, EngineConfig, Event, EventSink, Timestamp};
use ward_identify::{DeviceIdentifier, IdentifyConfig, Inventory};

struct Count(u64);
impl EventSink for Count {
    fn emit(&mut self, _: &Event) {
        self.0 += 1;
    }
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let mut reader = MergedReader::open(&paths).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let mut frames = Vec::new();
    let mut pkt = RawPacket::default();
    while reader.next_packet(&mut pkt) {
        frames.push(pkt.clone());
    }
    let run = |identify: bool| -> f64 {
        let mut best = f64::MAX;
        for _ in 0..1 {
            let cfg = EngineConfig {
                emit_flows: Some(true),
                ..Default::default()
            };
            let mut engine = if identify {
                let ident = DeviceIdentifier::with_default_model(
                    IdentifyConfig::default(),
                    Inventory::default(),
                )
                .unwrap_or_else(|e| {
                    eprintln!("{e}");
                    std::process::exit(1)
                });
                let det = if std::env::var_os("NO_PORTS").is_some() {
                    Vec::new()
                } else {
                    vec![ident.port_observer()]
                };
                Engine::new(cfg, 1, det).with_identifier(Box::new(ident))
            } else {
                Engine::new(cfg, 1, Vec::new())
            };
            let mut sink = Count(0);
            let t0 = Instant::now();
            for p in &frames {
                engine.process(
                    Timestamp::from_nanos(p.ts_nanos),
                    p.linktype,
                    &p.data,
                    p.orig_len,
                    &mut sink,
                );
            }
            engine.finish(&mut sink);
            best = best.min(t0.elapsed().as_secs_f64());
        }
        best
    };
    // Interleaved, best of 7 each: the machine is shared, and the minimum
    // is the run least disturbed by others.
    let (mut base, mut with) = (f64::MAX, f64::MAX);
    for _ in 0..7 {
        base = base.min(run(false));
        with = with.min(run(true));
    }
    let n = frames.len() as f64;
    println!("frames: {}", frames.len());
    println!(
        "without identification: {:.0} packets/s ({base:.3} s)",
        n / base
    );
    println!(
        "with identification:    {:.0} packets/s ({with:.3} s)",
        n / with
    );
    println!("overhead: {:.1} %", (with / base - 1.0) * 100.0);
}
