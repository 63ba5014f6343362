//! The libpcap backend (cargo feature `libpcap`): for interfaces the
//! AF_PACKET backend does not know, and for libpcap's own filter compiler.
//!
//! The handle is non-blocking and we wait with our own `poll()`: on Linux
//! with TPACKET_V3, libpcap's blocking read waits without a timeout until
//! a ring block fills or a frame arrives, so it could not honour the
//! timeout [`LiveSource::next_frame`] promises. Each frame is copied out
//! of libpcap's ring into our buffer (one small copy) so that the borrow
//! on the handle ends before we decide whether to wait again.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use ward_core::Timestamp;

use crate::{CaptureCounters, Filter, Frame, LiveError, LiveOptions, LiveSource};

/// libpcap's buffer timeout, used only if the platform cannot do
/// immediate mode: frames are then delivered at least this often.
const READ_TIMEOUT_MS: i32 = 200;

pub struct PcapSource {
    cap: pcap::Capture<pcap::Active>,
    iface: String,
    linktype: u32,
    buf: Vec<u8>,
}

impl PcapSource {
    pub fn open(opts: &LiveOptions) -> Result<PcapSource, LiveError> {
        let inactive = pcap::Capture::from_device(opts.interface.as_str())?
            .promisc(opts.promiscuous)
            .snaplen(opts.snaplen.min(i32::MAX as u32) as i32)
            // Immediate mode: each frame wakes our poll() as it arrives
            // (the timeout then only matters if immediate mode is refused).
            .timeout(READ_TIMEOUT_MS)
            .immediate_mode(true);
        let inactive = if opts.buffer_bytes > 0 {
            inactive.buffer_size(opts.buffer_bytes.min(i32::MAX as usize) as i32)
        } else {
            inactive
        };
        let cap = inactive.open().map_err(|e| match e {
            pcap::Error::PcapError(ref m) if m.contains("ermission") => LiveError::PermissionDenied,
            other => LiveError::Pcap(other),
        })?;
        let mut cap = cap.setnonblock()?;
        let linktype = cap.get_datalink().0 as u32;
        match &opts.filter {
            Some(Filter::Expression(e)) => cap
                .filter(e, true)
                .map_err(|err| LiveError::Filter(format!("`{e}`: {err}")))?,
            Some(Filter::Program(_)) => {
                return Err(LiveError::Filter(
                    "the libpcap backend takes filter expressions, not compiled programs".into(),
                ))
            }
            None => {}
        }
        Ok(PcapSource {
            cap,
            iface: opts.interface.clone(),
            linktype,
            buf: Vec::with_capacity(opts.snaplen.min(262_144) as usize),
        })
    }
}

impl LiveSource for PcapSource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<Frame<'_>>, LiveError> {
        let deadline = Instant::now() + timeout;
        let (ts, wire_len) = loop {
            match self.cap.next_packet() {
                Ok(p) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(p.data);
                    break (timeval_micros(&p.header.ts), p.header.len);
                }
                // Non-blocking: nothing queued right now.
                Err(pcap::Error::TimeoutExpired) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    crate::sys::wait_readable(self.cap.as_raw_fd(), left).map_err(|source| {
                        LiveError::Os {
                            op: "waiting for frames",
                            source,
                        }
                    })?;
                    if Instant::now() >= deadline {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(LiveError::Pcap(e)),
            }
        };
        Ok(Some(Frame {
            ts: Timestamp(ts),
            linktype: self.linktype,
            data: &self.buf,
            wire_len,
        }))
    }

    fn counters(&mut self) -> Result<CaptureCounters, LiveError> {
        let s = self.cap.stats()?;
        Ok(CaptureCounters {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
        })
    }

    fn linktype(&self) -> u32 {
        self.linktype
    }

    fn describe(&self) -> String {
        format!("libpcap on {}", self.iface)
    }
}

/// `time_t` and `suseconds_t` are 32 bits on some targets.
#[allow(clippy::useless_conversion)]
fn timeval_micros(tv: &libc::timeval) -> i64 {
    i64::from(tv.tv_sec)
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(tv.tv_usec))
}
