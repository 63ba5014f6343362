//! Reading capture files.
//!
//! [`CaptureReader`] reads one pcap or pcapng stream (file or standard
//! input): both byte orders, micro- and nanosecond pcap, pcapng with several
//! sections and interfaces, each with its own link type, timestamp resolution
//! and offset. [`MergedReader`] reads several files and hands packets out in
//! timestamp order.
//!
//! Guarantees:
//! - No panic on any input. Absurd block or record lengths are an error
//!   naming the file and byte offset, never an allocation of that size: a
//!   record may be at most [`MAX_RECORD`] bytes.
//! - A file that is not a capture at all is an error from [`CaptureReader::open`].
//!   Damage *inside* a readable file ends that file with a [`CaptureError`]
//!   from [`CaptureReader::next_packet`]: everything before it has been
//!   delivered; the caller decides whether to go on with other files.
//! - Link types are passed through untouched; decoding is ward-core's job.
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

/// Largest record or block accepted (16 MiB). Real captures have snap
/// lengths of at most 256 KiB; anything bigger is damage or an attack.
pub const MAX_RECORD: usize = 16 << 20;

const INITIAL_BUFFER: usize = 1 << 20;

/// Nanoseconds since the Unix epoch (UTC).
pub type Nanos = i64;

/// One captured frame.
#[derive(Debug, Clone, Default)]
pub struct RawPacket {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_nanos: Nanos,
    /// Link type (pcap LINKTYPE_* value) of the interface it was captured on.
    pub linktype: u32,
    /// Length of the frame on the wire (may exceed `data.len()` when the capture was cut by a snap length).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
    /// Index of the input (in the order given) the packet came from.
    pub source: usize,
}

/// Why a capture could not be read (further).
#[derive(Debug, thiserror::Error)]
pub enum CaptureErrorKind {
    #[error("cannot open: {0}")]
    Open(#[source] io::Error),
    #[error("read failed: {0}")]
    Read(String),
    #[error("empty file")]
    Empty,
    #[error("not a pcap or pcapng capture (unrecognised header)")]
    NotACapture,
    #[error("file ends in the middle of a record (truncated)")]
    Truncated,
    #[error("record of {0} bytes is larger than the {MAX_RECORD}-byte limit")]
    RecordTooLarge(usize),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("packet refers to interface {0}, which this section does not describe")]
    UnknownInterface(u32),
}

/// An error reading a capture, with the file and byte offset it happened at.
#[derive(Debug)]
pub struct CaptureError {
    pub path: PathBuf,
    /// Byte offset into the file of the record that could not be read, where known.
    pub offset: Option<u64>,
    pub kind: CaptureErrorKind,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(off) => write!(f, "{}: at byte {}: {}", self.path.display(), off, self.kind),
            None => write!(f, "{}: {}", self.path.display(), self.kind),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.kind.source()
    }
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    /// Units per second of this interface's timestamps.
    resolution: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// Counts of frames the reader skipped without giving up on the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderCounters {
    /// Packet blocks whose interface has an invalid timestamp resolution.
    pub bad_timestamp: u64,
    /// Records whose captured length exceeds their original length (kept, but suspicious).
    pub caplen_over_origlen: u64,
}

/// Reads one pcap or pcapng stream.
pub struct CaptureReader {
    path: PathBuf,
    inner: Box<dyn PcapReaderIterator + Send>,
    /// File offset of the start of the reader's buffer.
    consumed: u64,
    state: BlockState,
    capacity: usize,
    done: bool,
}

/// What the reader knows about the file so far, kept apart from the parser so
/// a block borrowed from the parser's buffer can be handled without copying.
struct BlockState {
    source: usize,
    /// Legacy pcap: link type and whether timestamps are nanoseconds.
    legacy: Option<(u32, bool)>,
    /// pcapng: the interfaces of the current section.
    interfaces: Vec<Interface>,
    counters: ReaderCounters,
}

impl fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("path", &self.path)
            .field("offset", &self.consumed)
            .finish()
    }
}

impl CaptureReader {
    /// Open a file; `-` means standard input.
    pub fn open(path: &Path, source: usize) -> Result<Self, CaptureError> {
        let err = |kind| CaptureError {
            path: path.to_path_buf(),
            offset: None,
            kind,
        };
        let reader: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else {
            let file = File::open(path).map_err(|e| err(CaptureErrorKind::Open(e)))?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(err(CaptureErrorKind::Open(io::Error::other(
                    "is a directory",
                ))));
            }
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        Self::from_reader(reader, path, source)
    }

    /// Read a capture from any byte stream; `name` is used in errors.
    pub fn from_reader(
        reader: Box<dyn Read + Send>,
        name: &Path,
        source: usize,
    ) -> Result<Self, CaptureError> {
        let err = |kind| CaptureError {
            path: name.to_path_buf(),
            offset: Some(0),
            kind,
        };
        let inner = match create_reader(INITIAL_BUFFER, reader) {
            Ok(r) => r,
            Err(PcapError::Eof) => return Err(err(CaptureErrorKind::Empty)),
            Err(PcapError::ReadError) => {
                return Err(err(CaptureErrorKind::Read("read error".into())))
            }
            Err(PcapError::Incomplete(_)) | Err(PcapError::UnexpectedEof) => {
                return Err(err(CaptureErrorKind::Truncated))
            }
            Err(_) => return Err(err(CaptureErrorKind::NotACapture)),
        };
        Ok(CaptureReader {
            path: name.to_path_buf(),
            inner,
            consumed: 0,
            state: BlockState {
                source,
                legacy: None,
                interfaces: Vec::new(),
                counters: ReaderCounters::default(),
            },
            capacity: INITIAL_BUFFER,
            done: false,
        })
    }

    /// Frames skipped or flagged without giving up on the file.
    pub fn counters(&self) -> ReaderCounters {
        self.state.counters
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file consumed so far (for progress reporting).
    pub fn position(&self) -> u64 {
        self.consumed
    }

    fn error(&mut self, kind: CaptureErrorKind) -> CaptureError {
        self.done = true;
        CaptureError {
            path: self.path.clone(),
            offset: Some(self.consumed),
            kind,
        }
    }

    /// The next packet, `Ok(None)` at the end of the file. After an error the
    /// reader is finished and returns `Ok(None)`.
    ///
    /// `out` is reused to avoid an allocation per packet.
    pub fn next_packet(&mut self, out: &mut RawPacket) -> Result<bool, CaptureError> {
        while !self.done {
            let step = match self.inner.next() {
                Ok((len, block)) => {
                    let r = self.state.handle_block(block, out);
                    Ok((len, r))
                }
                Err(e) => Err(classify(e)),
            };
            match step {
                Ok((len, r)) => {
                    self.inner.consume(len);
                    let at = self.consumed;
                    self.consumed += len as u64;
                    match r {
                        Ok(true) => return Ok(true),
                        Ok(false) => {}
                        Err(kind) => {
                            self.consumed = at;
                            return Err(self.error(kind));
                        }
                    }
                }
                Err(Step::Eof) => {
                    self.done = true;
                    return Ok(false);
                }
                Err(Step::NeedMore(needed)) => {
                    if self.inner.reader_exhausted() {
                        return Err(self.error(CaptureErrorKind::Truncated));
                    }
                    let before = self.inner.data().len();
                    if let Err(e) = self.inner.refill() {
                        let msg = format!("{e:?}");
                        return Err(self.error(CaptureErrorKind::Read(msg)));
                    }
                    let after = self.inner.data().len();
                    if after == before && after >= self.capacity {
                        // The buffer is full and still holds no whole record:
                        // the record is bigger than the buffer.
                        let want = (self.capacity * 2).max(needed + after);
                        if want > MAX_RECORD {
                            return Err(self.error(CaptureErrorKind::RecordTooLarge(want)));
                        }
                        if !self.inner.grow(want) {
                            return Err(self.error(CaptureErrorKind::RecordTooLarge(want)));
                        }
                        self.capacity = want;
                    }
                }
                Err(Step::Grow) => {
                    let want = self.capacity * 2;
                    if want > MAX_RECORD || !self.inner.grow(want) {
                        return Err(self.error(CaptureErrorKind::RecordTooLarge(want)));
                    }
                    self.capacity = want;
                    if let Err(e) = self.inner.refill() {
                        let msg = format!("{e:?}");
                        return Err(self.error(CaptureErrorKind::Read(msg)));
                    }
                }
                Err(Step::Fatal(kind)) => return Err(self.error(kind)),
            }
        }
        Ok(false)
    }
}

impl BlockState {
    /// Ok(true) when `out` now holds a packet.
    fn handle_block(
        &mut self,
        block: PcapBlockOwned<'_>,
        out: &mut RawPacket,
    ) -> Result<bool, CaptureErrorKind> {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy = Some((h.network.0 as u32, h.is_nanosecond_precision()));
                Ok(false)
            }
            PcapBlockOwned::Legacy(b) => {
                let (linktype, nanos) = self
                    .legacy
                    .ok_or(CaptureErrorKind::Malformed("record before the file header"))?;
                let frac = if nanos {
                    b.ts_usec as i64
                } else {
                    b.ts_usec as i64 * 1000
                };
                let caplen = (b.caplen as usize).min(b.data.len());
                fill(
                    out,
                    (b.ts_sec as i64) * 1_000_000_000 + frac,
                    linktype,
                    b.origlen,
                    &b.data[..caplen],
                    self.source,
                );
                if b.caplen > b.origlen {
                    self.counters.caplen_over_origlen += 1;
                }
                Ok(true)
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                self.interfaces.clear();
                Ok(false)
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                self.interfaces.push(Interface {
                    linktype: idb.linktype.0 as u32,
                    resolution: idb.ts_resolution().unwrap_or(0),
                    offset_secs: idb.if_tsoffset,
                });
                Ok(false)
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let iface = *self
                    .interfaces
                    .get(epb.if_id as usize)
                    .ok_or(CaptureErrorKind::UnknownInterface(epb.if_id))?;
                let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                let ts = match ng_nanos(raw, iface) {
                    Some(ts) => ts,
                    None => {
                        self.counters.bad_timestamp += 1;
                        0
                    }
                };
                let caplen = (epb.caplen as usize).min(epb.data.len());
                if epb.caplen > epb.origlen {
                    self.counters.caplen_over_origlen += 1;
                }
                fill(
                    out,
                    ts,
                    iface.linktype,
                    epb.origlen,
                    &epb.data[..caplen],
                    self.source,
                );
                Ok(true)
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                // A simple packet block belongs to interface 0 and has no timestamp.
                let iface = *self
                    .interfaces
                    .first()
                    .ok_or(CaptureErrorKind::UnknownInterface(0))?;
                let len = (spb.origlen as usize).min(spb.data.len());
                fill(
                    out,
                    0,
                    iface.linktype,
                    spb.origlen,
                    &spb.data[..len],
                    self.source,
                );
                Ok(true)
            }
            PcapBlockOwned::NG(_) => Ok(false),
        }
    }
}

fn fill(out: &mut RawPacket, ts: Nanos, linktype: u32, orig_len: u32, data: &[u8], source: usize) {
    out.ts_nanos = ts;
    out.linktype = linktype;
    out.orig_len = orig_len.max(data.len() as u32);
    out.data.clear();
    out.data.extend_from_slice(data);
    out.source = source;
}

/// pcapng timestamp in interface units → nanoseconds, `None` on a
/// resolution of zero or a result that does not fit.
fn ng_nanos(raw: u64, iface: Interface) -> Option<Nanos> {
    if iface.resolution == 0 {
        return None;
    }
    let res = iface.resolution as i128;
    let raw = raw as i128;
    let secs = raw / res + iface.offset_secs as i128;
    let frac_ns = (raw % res) * 1_000_000_000 / res;
    let total = secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)?;
    i64::try_from(total).ok()
}

enum Step {
    Eof,
    /// A block longer than the buffer: grow it.
    Grow,
    NeedMore(usize),
    Fatal(CaptureErrorKind),
}

fn classify(e: PcapError<&[u8]>) -> Step {
    match e {
        PcapError::Eof => Step::Eof,
        PcapError::Incomplete(n) => Step::NeedMore(n),
        PcapError::UnexpectedEof => Step::Fatal(CaptureErrorKind::Truncated),
        PcapError::BufferTooSmall => Step::Grow,
        PcapError::ReadError => Step::Fatal(CaptureErrorKind::Read("read error".into())),
        PcapError::HeaderNotRecognized => Step::Fatal(CaptureErrorKind::Malformed("header")),
        PcapError::NomError(_, _) | PcapError::OwnedNomError(_, _) => {
            Step::Fatal(CaptureErrorKind::Malformed("block or record"))
        }
    }
}

/// Several captures read as one stream in timestamp order.
///
/// Each input keeps one packet of look-ahead; the earliest is handed out
/// (ties go to the input given first), so files from different taps of the
/// same network interleave correctly. Packets out of order *within* one file
/// are handed out as they are.
pub struct MergedReader {
    readers: Vec<CaptureReader>,
    heads: Vec<Option<RawPacket>>,
    /// Errors met so far (the damaged input is dropped, the others go on).
    pub errors: Vec<CaptureError>,
    started: bool,
}

impl MergedReader {
    /// Open every path; fails on the first that cannot be opened at all.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<Self, CaptureError> {
        let mut readers = Vec::with_capacity(paths.len());
        for (i, p) in paths.iter().enumerate() {
            readers.push(CaptureReader::open(p.as_ref(), i)?);
        }
        Ok(Self::from_readers(readers))
    }

    pub fn from_readers(readers: Vec<CaptureReader>) -> Self {
        let n = readers.len();
        MergedReader {
            readers,
            heads: (0..n).map(|_| None).collect(),
            errors: Vec::new(),
            started: false,
        }
    }

    /// Total bytes consumed over all inputs (for progress).
    pub fn position(&self) -> u64 {
        self.readers.iter().map(|r| r.position()).sum()
    }

    /// Counters summed over all inputs.
    pub fn counters(&self) -> ReaderCounters {
        let mut c = ReaderCounters::default();
        for r in &self.readers {
            let rc = r.counters();
            c.bad_timestamp += rc.bad_timestamp;
            c.caplen_over_origlen += rc.caplen_over_origlen;
        }
        c
    }

    fn advance(&mut self, i: usize, mut buf: RawPacket) {
        match self.readers[i].next_packet(&mut buf) {
            Ok(true) => self.heads[i] = Some(buf),
            Ok(false) => self.heads[i] = None,
            Err(e) => {
                self.errors.push(e);
                self.heads[i] = None;
            }
        }
    }

    /// The next packet in timestamp order, or `None` when every input is done.
    /// `out` receives the packet; its previous buffer is recycled.
    pub fn next_packet(&mut self, out: &mut RawPacket) -> bool {
        if !self.started {
            self.started = true;
            for i in 0..self.readers.len() {
                self.advance(i, RawPacket::default());
            }
        }
        // A linear scan: the number of inputs is small (a handful of files).
        let mut best: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            if let Some(p) = h {
                match best {
                    Some(b) if self.heads[b].as_ref().map(|q| q.ts_nanos) <= Some(p.ts_nanos) => {}
                    _ => best = Some(i),
                }
            }
        }
        let Some(i) = best else { return false };
        let Some(pkt) = self.heads[i].take() else {
            return false;
        };
        let recycled = std::mem::replace(out, pkt);
        self.advance(i, recycled);
        true
    }
}

#[cfg(test)]
mod tests;
