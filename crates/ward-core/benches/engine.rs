//! The whole engine without detectors — decode, inventory, flow table,
//! application parsers, events to a sink that drops them — over 200 000
//! packets of 20 000 concurrent flows, from a fresh engine each iteration.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ward_core::decode::linktype;
use ward_core::engine::EngineConfig;
use ward_core::event::Event;
use ward_core::{Engine, EventSink, Timestamp};

mod common;

/// Counts events, so building them is not optimised away.
struct CountSink(u64);

impl EventSink for CountSink {
    fn emit(&mut self, _event: &Event) {
        self.0 += 1;
    }
}

fn bench(c: &mut Criterion) {
    let frames = common::frames(200_000, 20_000);
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.sample_size(10);
    for (name, emit_flows) in [
        ("no-detectors", true),
        ("no-detectors-no-flow-events", false),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    let cfg = EngineConfig {
                        emit_flows: Some(emit_flows),
                        ..EngineConfig::default()
                    };
                    (Engine::new(cfg, 1, Vec::new()), CountSink(0))
                },
                |(engine, sink)| {
                    for (ts, f) in &frames {
                        engine.process(Timestamp(*ts), linktype::ETHERNET, f, f.len() as u32, sink);
                    }
                    engine.finish(sink);
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
