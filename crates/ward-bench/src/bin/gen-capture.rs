//! Write a synthetic home/IoT capture (pcap, Ethernet) for benchmarks.
//!
//! `cargo run --release -p ward-bench --bin gen-capture -- --packets 5000000 \
//!     --concurrent-flows 20000 --seed 1 -o /work/bench/mix-5m.pcap`

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use ward_bench::pcap::{PcapWriter, LINKTYPE_ETHERNET};
use ward_bench::traffic::{Config, Generator};

#[derive(Parser)]
#[command(about = "Generate a synthetic home/IoT capture with a chosen number of concurrent flows")]
struct Args {
    /// Packets to write.
    #[arg(long, default_value_t = 5_000_000)]
    packets: u64,
    /// Conversations open at any time.
    #[arg(long, default_value_t = 20_000)]
    concurrent_flows: usize,
    /// Seed: the same seed and settings give the same file, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// LAN stations.
    #[arg(long, default_value_t = 250)]
    devices: usize,
    /// Remote servers.
    #[arg(long, default_value_t = 8192)]
    servers: usize,
    /// Capture seconds one round over all open conversations takes (each
    /// open flow gets one packet per round).
    #[arg(long, default_value_t = 10.0)]
    gap_secs: f64,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let cfg = Config {
        packets: a.packets,
        concurrent_flows: a.concurrent_flows,
        seed: a.seed,
        devices: a.devices,
        servers: a.servers,
        gap_secs: a.gap_secs,
        ..Config::default()
    };
    let file =
        File::create(&a.output).with_context(|| format!("cannot create {}", a.output.display()))?;
    let mut w = PcapWriter::new(BufWriter::with_capacity(1 << 20, file), LINKTYPE_ETHERNET)?;
    let mut g = Generator::new(cfg);
    let pps = g.packets_per_second();
    let (mut first, mut last) = (None, 0);
    while let Some((ts, frame)) = g.next_frame() {
        first.get_or_insert(ts);
        last = ts;
        w.write(ts, frame)?;
    }
    use std::io::Write;
    w.into_inner().flush()?;
    let t = g.totals;
    let span = (last - first.unwrap_or(last)) as f64 / 1e6;
    eprintln!(
        "{}: {} packets, {} bytes of frames (mean {:.0} B), {} conversations ({} TCP, {} UDP), \
         {:.0} s of capture time at {:.0} packets/s",
        a.output.display(),
        t.packets,
        t.bytes,
        t.bytes as f64 / t.packets.max(1) as f64,
        t.conversations,
        t.tcp_conversations,
        t.udp_conversations,
        span,
        pps
    );
    Ok(())
}
