//! Shared by the benches: an in-memory packet set from ward-bench's
//! synthetic home/IoT generator (the same one `gen-capture` writes).

use ward_bench::traffic::{Config, Generator};

/// `(timestamp µs, frame)` pairs, in capture order.
pub fn frames(packets: u64, concurrent_flows: usize) -> Vec<(i64, Vec<u8>)> {
    let mut g = Generator::new(Config {
        packets,
        concurrent_flows,
        seed: 7,
        ..Config::default()
    });
    let mut v = Vec::with_capacity(packets as usize);
    while let Some((ts, f)) = g.next_frame() {
        v.push((ts, f.to_vec()));
    }
    v
}
