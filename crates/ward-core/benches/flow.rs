//! Flow tracking: `FlowTable::update` over 200 000 packets of 20 000
//! concurrent flows, from an empty table each iteration (so flow creation,
//! lookup, closing and idle expiry all count), with and without decoding.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ward_core::decode::linktype;
use ward_core::flow::{FlowConfig, FlowTable};
use ward_core::{decode, Packet, Timestamp};

mod common;

fn bench(c: &mut Criterion) {
    let frames = common::frames(200_000, 20_000);
    let decoded: Vec<Packet<'_>> = frames
        .iter()
        .map(|(ts, f)| decode(Timestamp(*ts), linktype::ETHERNET, f, f.len() as u32))
        .collect();
    let mut g = c.benchmark_group("flow");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.sample_size(20);
    g.bench_function("decode+update", |b| {
        b.iter_batched_ref(
            || (FlowTable::new(FlowConfig::default(), 1), Vec::new()),
            |(table, ended)| {
                for (ts, f) in &frames {
                    let pkt = decode(Timestamp(*ts), linktype::ETHERNET, f, f.len() as u32);
                    black_box(table.update(&pkt, ended));
                    ended.clear();
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("update", |b| {
        b.iter_batched_ref(
            || (FlowTable::new(FlowConfig::default(), 1), Vec::new()),
            |(table, ended)| {
                for pkt in &decoded {
                    black_box(table.update(pkt, ended));
                    ended.clear();
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
