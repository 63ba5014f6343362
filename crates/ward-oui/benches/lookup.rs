//! Cost of one vendor lookup over a mix of address kinds. The first lookup in
//! the process is timed once and printed, since it cannot be repeated
//! in-process: the table is compiled in (build.rs), so it should cost no more
//! than the others plus the first touch of its pages.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A fixed, deterministic spread of addresses: xorshift output with the U/L bit
/// cleared (so every address takes the full three-level search path, the worst
/// case), plus a few known-vendor prefixes so hits are exercised too.
fn addresses() -> Vec<[u8; 6]> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out: Vec<[u8; 6]> = (0..1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = state.to_be_bytes();
            [b[0] & !0x02, b[1], b[2], b[3], b[4], b[5]]
        })
        .collect();
    out.extend([
        [0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56], // Espressif, MA-L
        [0x9c, 0x43, 0x1e, 0x90, 0x00, 0x01], // MA-M
        [0x70, 0xb3, 0xd5, 0xd9, 0xf0, 0x00], // MA-S
        [0xda, 0xa1, 0x19, 0x5e, 0x7f, 0x03], // randomised: early exit
    ]);
    out
}

fn bench_lookup(c: &mut Criterion) {
    let macs = addresses();
    // The first lookup outside the measurement, timed once.
    let start = std::time::Instant::now();
    black_box(ward_oui::lookup([0, 0, 0, 0, 0, 0]));
    eprintln!(
        "oui: first lookup in the process took {:?}",
        start.elapsed()
    );
    let mut group = c.benchmark_group("oui");
    group.throughput(Throughput::Elements(macs.len() as u64));
    group.bench_function("lookup_mixed", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for mac in &macs {
                hits += usize::from(ward_oui::lookup(black_box(*mac)).is_some());
            }
            hits
        })
    });
    group.finish();
}

criterion_group!(benches, bench_lookup);
criterion_main!(benches);
