//! The AF_PACKET backend: a raw packet socket per interface.
//!
//! Frames are copied one per `recvmsg` into a snap-length buffer. That is
//! simpler than a TPACKET_V3 ring and enough for the rates of a home or
//! small-office network; the kernel's socket buffer (`buffer_bytes`,
//! 8 MiB by default) absorbs bursts, and whatever it cannot hold shows up
//! in [`CaptureCounters::dropped`] instead of disappearing.
//!
//! On a loopback interface the kernel delivers each frame twice (once
//! leaving, once arriving); like libpcap we keep only the arriving copy.

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ward_core::Timestamp;

use crate::sys::PacketSocket;
use crate::{linktype, CaptureCounters, Frame, LiveError, LiveOptions, LiveSource};

const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_IEEE80211_RADIOTAP: u16 = 803;
const ARPHRD_NONE: u16 = 0xfffe;
const PACKET_OUTGOING: u8 = 4;

pub struct AfPacketSource {
    sock: PacketSocket,
    iface: String,
    linktype: u32,
    loopback: bool,
    buf: Vec<u8>,
    counters: CaptureCounters,
}

fn os(op: &'static str) -> impl FnOnce(io::Error) -> LiveError {
    move |source| {
        if source.kind() == io::ErrorKind::PermissionDenied {
            LiveError::PermissionDenied
        } else {
            LiveError::Os { op, source }
        }
    }
}

impl AfPacketSource {
    pub fn open(opts: &LiveOptions) -> Result<AfPacketSource, LiveError> {
        let ifindex = PacketSocket::ifindex(&opts.interface)
            .map_err(|_| LiveError::BadInterfaceName(opts.interface.clone()))?
            .ok_or_else(|| LiveError::NoSuchInterface(opts.interface.clone()))?;
        let sock = PacketSocket::new().map_err(os("opening a packet socket"))?;
        // The link type is needed to compile a filter, but is known only
        // after binding; binding first would let unfiltered frames in. The
        // interface type from sysfs answers it without binding.
        let hatype = hardware_type_from_sysfs(&opts.interface);
        if let Some(filter) = &opts.filter {
            let lt = hatype.and_then(linktype_for).unwrap_or(linktype::ETHERNET);
            let prog = filter.program(lt, opts.snaplen)?;
            sock.attach_filter(&prog)
                .map_err(|e| LiveError::Filter(format!("the kernel refused the program: {e}")))?;
        }
        if opts.buffer_bytes > 0 {
            sock.set_receive_buffer(opts.buffer_bytes)
                .map_err(os("setting the receive buffer"))?;
        }
        sock.enable_timestamps()
            .map_err(os("enabling SO_TIMESTAMPNS"))?;
        sock.bind(ifindex).map_err(os("binding to the interface"))?;
        let hatype = sock
            .hardware_type()
            .map_err(os("reading the interface type"))?;
        let lt = linktype_for(hatype).ok_or_else(|| LiveError::UnsupportedLinkType {
            iface: opts.interface.clone(),
            hatype,
        })?;
        if opts.promiscuous && hatype != ARPHRD_LOOPBACK {
            sock.set_promiscuous(ifindex)
                .map_err(os("enabling promiscuous mode (needs CAP_NET_ADMIN)"))?;
        }
        Ok(AfPacketSource {
            sock,
            iface: opts.interface.clone(),
            linktype: lt,
            loopback: hatype == ARPHRD_LOOPBACK,
            buf: vec![0; opts.snaplen.clamp(64, 262_144) as usize],
            counters: CaptureCounters::default(),
        })
    }
}

fn linktype_for(hatype: u16) -> Option<u32> {
    match hatype {
        ARPHRD_ETHER | ARPHRD_LOOPBACK => Some(linktype::ETHERNET),
        ARPHRD_NONE => Some(linktype::RAW),
        ARPHRD_IEEE80211_RADIOTAP => Some(linktype::RADIOTAP),
        _ => None,
    }
}

fn hardware_type_from_sysfs(iface: &str) -> Option<u16> {
    if iface.contains('/') || iface.starts_with('.') {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{iface}/type"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn wall_clock_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

impl LiveSource for AfPacketSource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<Frame<'_>>, LiveError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if !self
                .sock
                .wait_readable(left)
                .map_err(os("waiting for frames"))?
            {
                return Ok(None);
            }
            let Some(r) = self.sock.recv(&mut self.buf).map_err(os("receiving"))? else {
                if left.is_zero() {
                    return Ok(None);
                }
                continue;
            };
            if self.loopback && r.pkttype == PACKET_OUTGOING {
                continue;
            }
            let ts = Timestamp::from_nanos(r.ts_nanos.unwrap_or_else(wall_clock_nanos));
            let data = self.buf.get(..r.captured).unwrap_or(&[]);
            return Ok(Some(Frame {
                ts,
                linktype: self.linktype,
                data,
                wire_len: u32::try_from(r.wire_len).unwrap_or(u32::MAX),
            }));
        }
    }

    fn counters(&mut self) -> Result<CaptureCounters, LiveError> {
        let (packets, drops) = self
            .sock
            .statistics()
            .map_err(os("reading PACKET_STATISTICS"))?;
        self.counters.received += u64::from(packets);
        self.counters.dropped += u64::from(drops);
        Ok(self.counters)
    }

    fn linktype(&self) -> u32 {
        self.linktype
    }

    fn describe(&self) -> String {
        format!("AF_PACKET on {}", self.iface)
    }
}
