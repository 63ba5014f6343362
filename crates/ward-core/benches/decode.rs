//! `decode` over a home/IoT mix of frames (TLS, HTTP, MQTT, DNS, mDNS,
//! SSDP, NTP, DHCP, ICMP, ARP; IPv4 and IPv6).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ward_core::decode::linktype;
use ward_core::{decode, Timestamp};

mod common;

fn bench(c: &mut Criterion) {
    let frames = common::frames(50_000, 5_000);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("home-mix", |b| {
        b.iter(|| {
            for (ts, f) in &frames {
                let pkt = decode(Timestamp(*ts), linktype::ETHERNET, f, f.len() as u32);
                black_box(&pkt);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
