//! Bench-only tooling: frames built in code from the protocol specs, a pcap
//! writer, and a generator of synthetic home/IoT traffic with a chosen
//! number of concurrently open flows.
//!
//! Nothing here is used by ward at run time. The generator exists so the
//! throughput and memory targets can be measured on a capture of any size
//! that anyone can regenerate bit for bit from a seed, and the frame and
//! payload builders also produce the fuzzers' seed corpus.
#![forbid(unsafe_code)]

pub mod frame;
pub mod payload;
pub mod pcap;
pub mod rng;
pub mod traffic;
