//! Live capture for ward: frames from a network interface, with the
//! kernel's drop counters, behind one trait.
//!
//! # What this crate guarantees
//! * [`LiveSource::next_frame`] never blocks longer than the timeout it is
//!   given, so the caller can notice a stop request or write periodic
//!   statistics while the network is quiet.
//! * Every frame carries the kernel's receive timestamp (nanoseconds from
//!   `SO_TIMESTAMPNS` on AF_PACKET, microseconds on libpcap), its link type
//!   and its length on the wire (a frame longer than the snap length is
//!   truncated, never dropped silently).
//! * [`LiveSource::counters`] reports what the kernel saw and dropped
//!   because ward did not read fast enough; these numbers are cumulative
//!   over the life of the source.
//! * Only [`sys`] contains `unsafe` code: the system calls on the packet
//!   socket. Everything else is safe Rust.
//!
//! Backends: [`Backend::AfPacket`] (default, no C library) and
//! [`Backend::Pcap`] (libpcap, cargo feature `libpcap`). A BPF filter is
//! either a compiled program (the output of `tcpdump -ddd`, see
//! [`bpf::parse_ddd`]) or, with the `libpcap` feature, an expression.
#![deny(unsafe_code)]

pub mod afpacket;
pub mod bpf;
#[cfg(feature = "libpcap")]
pub mod pcap_backend;
pub mod privileges;
mod sys;

use std::time::Duration;

use ward_core::Timestamp;

pub use bpf::{BpfInsn, Filter};

/// pcap link types ward decodes.
pub mod linktype {
    /// Ethernet (also Linux loopback, which carries an Ethernet header).
    pub const ETHERNET: u32 = 1;
    /// Raw IPv4/IPv6, no link header (tun devices).
    pub const RAW: u32 = 101;
    /// 802.11 with a radiotap header (monitor-mode Wi-Fi).
    pub const RADIOTAP: u32 = 127;
}

/// One captured frame, borrowed from the source's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    pub linktype: u32,
    pub data: &'a [u8],
    /// Length on the wire (≥ `data.len()`).
    pub wire_len: u32,
}

/// Kernel counters, cumulative since the source was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Frames the kernel handed to the capture (including those it then dropped).
    pub received: u64,
    /// Frames dropped because the socket buffer was full.
    pub dropped: u64,
    /// Frames dropped by the interface or driver (libpcap only; 0 otherwise).
    pub if_dropped: u64,
}

/// Which capture implementation to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// A Linux AF_PACKET socket (no C library needed).
    #[default]
    AfPacket,
    /// libpcap (cargo feature `libpcap`).
    Pcap,
}

impl Backend {
    pub fn parse(s: &str) -> Option<Backend> {
        match s {
            "afpacket" | "af_packet" | "af-packet" => Some(Backend::AfPacket),
            "pcap" | "libpcap" => Some(Backend::Pcap),
            _ => None,
        }
    }
}

/// How to open a source.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    /// Receive frames addressed to other hosts (needed on a mirror port).
    pub promiscuous: bool,
    /// Bytes kept per frame.
    pub snaplen: u32,
    pub filter: Option<Filter>,
    /// Socket receive buffer in bytes (0: the system default).
    pub buffer_bytes: usize,
}

impl LiveOptions {
    pub fn new(interface: impl Into<String>) -> Self {
        LiveOptions {
            interface: interface.into(),
            promiscuous: true,
            snaplen: 65_535,
            filter: None,
            buffer_bytes: 8 << 20,
        }
    }
}

/// Everything that can go wrong while capturing.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no such interface `{0}`")]
    NoSuchInterface(String),
    #[error("interface name `{0}` is not valid")]
    BadInterfaceName(String),
    #[error("permission denied opening a capture socket: needs CAP_NET_RAW (run as root or `setcap cap_net_raw,cap_net_admin=eip` on the binary)")]
    PermissionDenied,
    #[error("{op}: {source}")]
    Os {
        op: &'static str,
        source: std::io::Error,
    },
    #[error("interface `{iface}` has hardware type {hatype}, which ward cannot decode")]
    UnsupportedLinkType { iface: String, hatype: u16 },
    #[error("BPF filter: {0}")]
    Filter(String),
    #[error("this ward was built without libpcap; rebuild with `--features libpcap` to use {0}")]
    NeedsLibpcap(&'static str),
    #[cfg(feature = "libpcap")]
    #[error("libpcap: {0}")]
    Pcap(#[from] pcap::Error),
    #[error("dropping privileges: {0}")]
    Privileges(String),
}

/// A live source of frames.
pub trait LiveSource: Send {
    /// Wait at most `timeout` for the next frame; `Ok(None)` when none came.
    /// An interrupted wait (a signal) also returns `Ok(None)`.
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<Frame<'_>>, LiveError>;
    /// Kernel counters so far.
    fn counters(&mut self) -> Result<CaptureCounters, LiveError>;
    /// The link type of every frame.
    fn linktype(&self) -> u32;
    /// One line for logs: backend and interface.
    fn describe(&self) -> String;
}

/// Open `opts.interface` with `backend`.
pub fn open(backend: Backend, opts: &LiveOptions) -> Result<Box<dyn LiveSource>, LiveError> {
    match backend {
        Backend::AfPacket => Ok(Box::new(afpacket::AfPacketSource::open(opts)?)),
        #[cfg(feature = "libpcap")]
        Backend::Pcap => Ok(Box::new(pcap_backend::PcapSource::open(opts)?)),
        #[cfg(not(feature = "libpcap"))]
        Backend::Pcap => Err(LiveError::NeedsLibpcap("--backend pcap")),
    }
}
