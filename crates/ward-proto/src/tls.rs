//! TLS ClientHello / ServerHello (tls-parser) with JA3 and JA4 fingerprints.
//!
//! The parser follows the record layer of each direction until it has the
//! first handshake message, reassembling it across TCP segments and across
//! records (bounded by [`HANDSHAKE_MAX`]). For the ClientHello it reports
//! [`AppEvent::Tls`] and, about the initiator, [`HintKind::TlsJa3`],
//! [`HintKind::TlsJa4`] and [`HintKind::TlsSni`]; for the ServerHello an
//! [`AppEvent::Tls`] with the chosen cipher and version. After both hellos
//! (or once the stream turns into anything else) it asks for no more data.
//!
//! Fingerprints:
//! - **JA3** (Salesforce): MD5 of
//!   `version,ciphers,extensions,groups,point_formats` in decimal, wire order,
//!   GREASE values (RFC 8701) removed — the string Wireshark's
//!   `tls.handshake.ja3_full` shows.
//! - **JA4** (FoxIO, TLS client only, BSD-3-Clause): `t` + version + `d`/`i` +
//!   cipher count + extension count + ALPN first/last character, `_`, the
//!   first 12 hex of SHA-256 over the sorted cipher list, `_`, the same over
//!   the sorted extension list (without SNI and ALPN) and the signature
//!   algorithms in wire order. The other JA4+ methods are under a different
//!   licence and deliberately not implemented.
//!
//! Malformed records or hellos are reported as [`AppEvent::Malformed`]; the
//! parser then gives up.

use md5::{Digest as _, Md5};
use sha2::Sha256;
use tls_parser::{parse_tls_message_handshake, TlsMessage, TlsMessageHandshake};

use crate::{printable, About, AppEvent, AppParser, AppProto, Direction, Hint, HintKind, TlsHello};

/// Largest first handshake message reassembled (a ClientHello with
/// post-quantum key shares is about 1.8 KiB; 16 KiB leaves ample room).
pub const HANDSHAKE_MAX: usize = 16 * 1024;
/// Largest record accepted (RFC 8446 §5.2: 2^14 + 256 for ciphertext).
const RECORD_MAX: usize = (1 << 14) + 256;
const PROTO: &str = "tls";

const EXT_SNI: u16 = 0x0000;
const EXT_GROUPS: u16 = 0x000a;
const EXT_POINT_FORMATS: u16 = 0x000b;
const EXT_SIG_ALGS: u16 = 0x000d;
const EXT_ALPN: u16 = 0x0010;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// RFC 8701 GREASE values: 0x0a0a, 0x1a1a … 0xfafa.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Reassembly buffers of one direction.
#[derive(Debug, Default)]
struct Side {
    /// Undecoded record bytes.
    records: Vec<u8>,
    /// Handshake-layer bytes (record payloads of content type 22).
    handshake: Vec<u8>,
}

impl Side {
    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.handshake.is_empty()
    }
}

/// TLS hello parser for one TCP flow.
///
/// Most flows carry each hello whole in one segment and wait a long time for
/// the other side's, so the reassembly buffers are boxed and kept only while
/// a direction has bytes pending (a record or handshake message split across
/// segments): an idle parser is 16 bytes.
#[derive(Debug, Default)]
pub struct TlsParser {
    /// Client (index 0) and server (index 1) buffers; `None` when both are empty.
    sides: Option<Box<[Side; 2]>>,
    /// Per direction: the hello was seen or the direction was given up.
    done: [bool; 2],
}

impl TlsParser {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Outcome of pushing bytes into one side.
enum Progress {
    NeedMore,
    Message(Vec<u8>),
    /// An SSLv2-compatible ClientHello (RFC 6101 appendix E.2): no extensions,
    /// so no JA3/JA4, but its version and cipher list still identify old stacks.
    Sslv2(TlsHello),
    /// The stream is not (or no longer) a TLS handshake we can follow.
    Stop(Option<&'static str>),
}

impl Side {
    /// Append `data` in pieces that fit the record buffer, decoding between
    /// pieces, so a large chunk (several records) never overflows it.
    fn push(&mut self, mut data: &[u8]) -> Progress {
        loop {
            let room = (RECORD_MAX + 5).saturating_sub(self.records.len());
            let take = data.len().min(room);
            self.records.extend_from_slice(&data[..take]);
            data = &data[take..];
            match self.decode() {
                Progress::NeedMore if !data.is_empty() => {
                    if take == 0 {
                        // Cannot happen (records are length-checked), but never spin.
                        return Progress::Stop(Some("record-too-long"));
                    }
                }
                other => return other,
            }
        }
    }

    fn decode(&mut self) -> Progress {
        if self.handshake.is_empty() {
            if let [b0, b1, 1, ..] = self.records[..] {
                if b0 & 0x80 != 0 {
                    let len = (usize::from(b0 & 0x7f) << 8) | usize::from(b1);
                    return match self.records.get(2..2 + len) {
                        Some(body) => match sslv2_client_hello(body) {
                            Some(h) => Progress::Sslv2(h),
                            None => Progress::Stop(Some("bad-sslv2-hello")),
                        },
                        None => Progress::NeedMore,
                    };
                }
            }
        }
        loop {
            // A complete handshake message already?
            if self.handshake.len() >= 4 {
                let len = u32::from_be_bytes([
                    0,
                    self.handshake[1],
                    self.handshake[2],
                    self.handshake[3],
                ]) as usize;
                if len + 4 > HANDSHAKE_MAX {
                    return Progress::Stop(Some("handshake-too-long"));
                }
                if self.handshake.len() >= len + 4 {
                    let msg = self.handshake[..len + 4].to_vec();
                    return Progress::Message(msg);
                }
            }
            if self.records.len() < 5 {
                return Progress::NeedMore;
            }
            let ctype = self.records[0];
            let major = self.records[1];
            let len = u16::from_be_bytes([self.records[3], self.records[4]]) as usize;
            match ctype {
                22 => {}
                // ChangeCipherSpec/alert/application data before a hello: not ours to follow.
                20 | 21 | 23 => return Progress::Stop(None),
                _ => return Progress::Stop(Some("not-a-tls-record")),
            }
            if major != 3 {
                return Progress::Stop(Some("bad-record-version"));
            }
            if len > RECORD_MAX {
                return Progress::Stop(Some("record-too-long"));
            }
            if self.records.len() < 5 + len {
                return Progress::NeedMore;
            }
            let take = len.min(HANDSHAKE_MAX.saturating_sub(self.handshake.len()));
            self.handshake.extend_from_slice(&self.records[5..5 + take]);
            self.records.drain(..5 + len);
        }
    }
}

impl AppParser for TlsParser {
    fn protocol(&self) -> AppProto {
        AppProto::Tls
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let i = usize::from(dir == Direction::ToClient);
        if self.done[i] {
            return !(self.done[0] && self.done[1]);
        }
        // The common case: nothing of this direction is buffered and the
        // chunk starts with a whole record holding a whole hello. Parse it
        // where it lies instead of copying it through the record and
        // handshake buffers (which would yield the same message bytes).
        let pending = self.sides.as_ref().is_some_and(|s| !s[i].is_empty());
        let progress = match (pending, whole_first_message(data)) {
            (false, Some(msg)) => {
                self.done[i] = true;
                if let Some(sides) = &mut self.sides {
                    sides[i] = Side::default();
                    if sides.iter().all(Side::is_empty) {
                        self.sides = None;
                    }
                }
                return self.report(InPlace::Message(msg), out);
            }
            _ => {
                let sides = self.sides.get_or_insert_with(Box::default);
                let progress = sides[i].push(data);
                if !matches!(progress, Progress::NeedMore) {
                    // This direction is finished: its buffers are never read again.
                    self.done[i] = true;
                    sides[i] = Side::default();
                }
                if sides.iter().all(Side::is_empty) {
                    self.sides = None;
                }
                progress
            }
        };
        match progress {
            Progress::NeedMore => true,
            Progress::Stop(what) => self.report(InPlace::Stop(what), out),
            Progress::Sslv2(hello) => {
                out.push(AppEvent::Tls(hello));
                !(self.done[0] && self.done[1])
            }
            Progress::Message(msg) => self.report(InPlace::Message(&msg), out),
        }
    }
}

/// What one direction ended with, borrowed.
enum InPlace<'a> {
    Message(&'a [u8]),
    Stop(Option<&'static str>),
}

impl TlsParser {
    /// Report a finished direction; false when the flow needs no more data.
    fn report(&self, end: InPlace<'_>, out: &mut Vec<AppEvent>) -> bool {
        match end {
            InPlace::Stop(Some(what)) => {
                out.push(AppEvent::Malformed {
                    protocol: PROTO,
                    what,
                });
                return false;
            }
            InPlace::Stop(None) => {}
            InPlace::Message(msg) => match parse_hello(msg) {
                Ok(Some(hello)) => emit(hello, out),
                Ok(None) => {}
                Err(what) => {
                    out.push(AppEvent::Malformed {
                        protocol: PROTO,
                        what,
                    });
                    return false;
                }
            },
        }
        !(self.done[0] && self.done[1])
    }
}

/// The first handshake message of a stream, if `data` starts with one
/// handshake record that holds all of it: exactly the bytes [`Side::push`]
/// would reassemble from the same chunk, without copying them. Anything
/// else (another record type, SSLv2, a message split over records or
/// segments, a record or message over the limits) is left to `push`.
fn whole_first_message(data: &[u8]) -> Option<&[u8]> {
    let [22, 3, _, l0, l1, payload @ ..] = data else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    if len > RECORD_MAX {
        return None;
    }
    let record = payload.get(..len)?;
    let [_, m0, m1, m2, ..] = *record else {
        return None;
    };
    let msg_len = u32::from_be_bytes([0, m0, m1, m2]) as usize + 4;
    if msg_len > HANDSHAKE_MAX {
        return None;
    }
    record.get(..msg_len)
}

fn emit(hello: TlsHello, out: &mut Vec<AppEvent>) {
    if hello.client {
        if let Some(j) = &hello.ja3 {
            out.push(hint(HintKind::TlsJa3, j.clone()));
        }
        if let Some(j) = &hello.ja4 {
            out.push(hint(HintKind::TlsJa4, j.clone()));
        }
        if let Some(s) = &hello.sni {
            out.push(hint(HintKind::TlsSni, s.clone()));
        }
    }
    out.push(AppEvent::Tls(hello));
}

fn hint(kind: HintKind, value: String) -> AppEvent {
    AppEvent::Hint(Hint {
        about: About::Initiator,
        kind,
        value,
    })
}

/// Parse one complete handshake message (with its 4-byte header). `Ok(None)`
/// for handshake messages other than hellos.
pub fn parse_hello(msg: &[u8]) -> Result<Option<TlsHello>, &'static str> {
    let parsed = match parse_tls_message_handshake(msg) {
        Ok((_, m)) => m,
        Err(_) => return Err("bad-hello"),
    };
    let TlsMessage::Handshake(hs) = parsed else {
        return Ok(None);
    };
    match hs {
        TlsMessageHandshake::ClientHello(ch) => {
            let ciphers = without_grease(ch.ciphers.len(), ch.ciphers.iter().map(|c| c.0));
            client_hello(ch.version.0, ciphers, ch.ext.unwrap_or(&[])).map(Some)
        }
        TlsMessageHandshake::ServerHello(sh) => {
            server_hello(sh.version.0, sh.cipher.0, sh.ext.unwrap_or(&[])).map(Some)
        }
        TlsMessageHandshake::ServerHelloV13Draft18(sh) => {
            server_hello(sh.version.0, sh.cipher.0, sh.ext.unwrap_or(&[])).map(Some)
        }
        TlsMessageHandshake::HelloRetryRequest(hr) => {
            server_hello(hr.version.0, hr.cipher.0, hr.ext.unwrap_or(&[])).map(Some)
        }
        _ => Ok(None),
    }
}

/// Each extension of `block` in wire order: its type and where its data
/// lies in `block`. Refused (`bad-extension`) unless the extensions tile
/// the block exactly.
fn for_each_extension(
    block: &[u8],
    mut f: impl FnMut(u16, std::ops::Range<usize>),
) -> Result<(), &'static str> {
    let mut at = 0;
    while at < block.len() {
        let Some(&[t0, t1, l0, l1]) = block.get(at..at + 4) else {
            return Err("bad-extension");
        };
        let end = at + 4 + usize::from(u16::from_be_bytes([l0, l1]));
        if end > block.len() {
            return Err("bad-extension");
        }
        f(u16::from_be_bytes([t0, t1]), at + 4..end);
        at = end;
    }
    Ok(())
}

/// The values that are not GREASE, in a `Vec` allocated once for `most`
/// of them (a filtered iterator's own collect grows from 4 by doubling:
/// three or four reallocations for a hello's lists).
fn without_grease(most: usize, values: impl Iterator<Item = u16>) -> Vec<u16> {
    let mut v = Vec::with_capacity(most);
    v.extend(values.filter(|v| !is_grease(*v)));
    v
}

/// The values behind the length prefix, GREASE included, not collected.
fn u16_values(data: &[u8], prefix: usize) -> impl Iterator<Item = u16> + '_ {
    let len = match prefix {
        1 => data.first().map(|l| *l as usize),
        _ => data
            .get(..2)
            .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize),
    };
    // No length, or a length past the data: an empty list.
    let body = len
        .and_then(|len| data.get(prefix..prefix + len))
        .unwrap_or(&[]);
    body.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// ALPN protocol names (RFC 7301 §3.1), in order, not collected.
fn alpn_names(data: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let len = data
        .get(..2)
        .map_or(0, |l| u16::from_be_bytes([l[0], l[1]]) as usize);
    let mut b = data.get(2..2 + len).unwrap_or(&[]);
    std::iter::from_fn(move || {
        let (&n, rest) = b.split_first()?;
        let name = rest.get(..n as usize)?;
        b = &rest[n as usize..];
        Some(name)
    })
}

/// The first host_name in a server_name extension (RFC 6066 §3).
fn sni(data: &[u8]) -> Option<String> {
    let list_len = u16::from_be_bytes([*data.first()?, *data.get(1)?]) as usize;
    let mut b = data.get(2..2 + list_len)?;
    while b.len() >= 3 {
        let kind = b[0];
        let len = u16::from_be_bytes([b[1], b[2]]) as usize;
        let name = b.get(3..3 + len)?;
        if kind == 0 {
            return Some(printable(name, 255));
        }
        b = &b[3 + len..];
    }
    None
}

/// A ClientHello's extension list and the GREASE-free lists its
/// fingerprints are computed from, kept per thread and reused: they are read
/// only while one hello is reported (its event carries its own cipher list),
/// so four allocations per hello are saved and nothing passes from one hello
/// to the next.
#[derive(Default)]
struct HelloLists {
    /// Every extension: its type and where its data lies in the block.
    exts: Vec<(u16, std::ops::Range<usize>)>,
    extensions: Vec<u16>,
    groups: Vec<u16>,
    sig_algs: Vec<u16>,
}

thread_local! {
    static LISTS: std::cell::RefCell<HelloLists> = std::cell::RefCell::default();
}

/// `ciphers`: the offered suites, GREASE removed; `block`: the extensions.
fn client_hello(version: u16, ciphers: Vec<u16>, block: &[u8]) -> Result<TlsHello, &'static str> {
    LISTS.with(|lists| match lists.try_borrow_mut() {
        Ok(mut lists) => client_hello_with(&mut lists, version, ciphers, block),
        // Cannot happen (nothing here re-enters), but never panic over scratch space.
        Err(_) => client_hello_with(&mut HelloLists::default(), version, ciphers, block),
    })
}

fn client_hello_with(
    lists: &mut HelloLists,
    version: u16,
    ciphers: Vec<u16>,
    block: &[u8],
) -> Result<TlsHello, &'static str> {
    lists.exts.clear();
    for_each_extension(block, |t, data| lists.exts.push((t, data)))?;
    let HelloLists {
        exts,
        extensions,
        groups,
        sig_algs,
    } = lists;
    // The first extension of a type, as the fingerprints read it.
    let find = |t: u16| {
        let (_, data) = exts.iter().find(|(et, _)| *et == t)?;
        block.get(data.clone())
    };
    extensions.clear();
    extensions.extend(exts.iter().map(|(t, _)| *t).filter(|t| !is_grease(*t)));
    groups.clear();
    if let Some(d) = find(EXT_GROUPS) {
        groups.extend(u16_values(d, 2).filter(|v| !is_grease(*v)));
    }
    sig_algs.clear();
    if let Some(d) = find(EXT_SIG_ALGS) {
        sig_algs.extend(u16_values(d, 2).filter(|v| !is_grease(*v)));
    }
    let point_formats: &[u8] = find(EXT_POINT_FORMATS)
        .and_then(|d| {
            let n = *d.first()? as usize;
            d.get(1..1 + n)
        })
        .unwrap_or_default();
    let max_version = find(EXT_SUPPORTED_VERSIONS)
        .and_then(|d| u16_values(d, 1).filter(|v| !is_grease(*v)).max())
        .unwrap_or(version);
    let alpn = find(EXT_ALPN);
    let sni = find(EXT_SNI).and_then(sni);

    let (ja3, ja4) = fingerprints(&FingerprintInput {
        version,
        groups,
        point_formats,
        ja4: Ja4Input {
            version: max_version,
            has_sni: exts.iter().any(|(t, _)| *t == EXT_SNI),
            ciphers: &ciphers,
            extensions,
            first_alpn: alpn.and_then(|d| alpn_names(d).next()),
            sig_algs,
        },
    });
    Ok(TlsHello {
        client: true,
        legacy_version: version,
        max_version,
        ciphers,
        sni,
        alpn: alpn
            .map(|d| alpn_names(d).map(|a| printable(a, 64)).collect())
            .unwrap_or_default(),
        ja3: Some(ja3),
        ja4: Some(ja4),
    })
}

/// `block`: the extensions, of which a ServerHello's summary reads two.
fn server_hello(version: u16, cipher: u16, block: &[u8]) -> Result<TlsHello, &'static str> {
    let (mut versions, mut alpn) = (None, None);
    for_each_extension(block, |t, data| {
        // The first of each type.
        if t == EXT_SUPPORTED_VERSIONS && versions.is_none() {
            versions = block.get(data);
        } else if t == EXT_ALPN && alpn.is_none() {
            alpn = block.get(data);
        }
    })?;
    // In a ServerHello, supported_versions holds the one selected version.
    let selected = versions
        .and_then(|d| d.get(..2))
        .map(|d| u16::from_be_bytes([d[0], d[1]]));
    Ok(TlsHello {
        client: false,
        legacy_version: version,
        max_version: selected.unwrap_or(version),
        ciphers: vec![cipher],
        sni: None,
        alpn: alpn
            .map(|d| alpn_names(d).map(|a| printable(a, 64)).collect())
            .unwrap_or_default(),
        ja3: None,
        ja4: None,
    })
}

/// An SSLv2 CLIENT-HELLO body (after the two-byte record header):
/// type 1, version, cipher-spec/session-id/challenge lengths, then 3-byte
/// cipher specs. Specs whose first byte is 0 are TLS cipher suites.
fn sslv2_client_hello(b: &[u8]) -> Option<TlsHello> {
    if b.len() < 9 || b[0] != 1 {
        return None;
    }
    let version = u16::from_be_bytes([b[1], b[2]]);
    let specs_len = usize::from(u16::from_be_bytes([b[3], b[4]]));
    let specs = b.get(9..9 + specs_len)?;
    if specs_len % 3 != 0 {
        return None;
    }
    let ciphers = specs
        .chunks_exact(3)
        .filter(|c| c[0] == 0)
        .map(|c| u16::from_be_bytes([c[1], c[2]]))
        .filter(|c| !is_grease(*c))
        .collect();
    Some(TlsHello {
        client: true,
        legacy_version: version,
        max_version: version,
        ciphers,
        ..TlsHello::default()
    })
}

/// Everything JA3 and JA4 are computed from: two hellos with equal inputs
/// have equal fingerprints.
struct FingerprintInput<'a> {
    /// The hello's (legacy) version, JA3's first field.
    version: u16,
    groups: &'a [u16],
    point_formats: &'a [u8],
    /// JA4's inputs; its cipher and extension lists are JA3's too.
    ja4: Ja4Input<'a>,
}

impl FingerprintInput<'_> {
    /// The inputs as one list of numbers, each list after its length (so
    /// two different inputs never give the same key): what the memo compares.
    fn key_into(&self, key: &mut Vec<u16>) {
        let i = &self.ja4;
        let alpn = i.first_alpn.map_or([0, 0, 0], |a| {
            let ends = |b: Option<&u8>| b.map_or(0, |b| 0x100 | u16::from(*b));
            [1, ends(a.first()), ends(a.last())]
        });
        key.clear();
        key.extend_from_slice(&[self.version, i.version, u16::from(i.has_sni)]);
        key.extend_from_slice(&alpn);
        for list in [i.ciphers, i.extensions, self.groups, i.sig_algs] {
            key.push(list.len() as u16);
            key.extend_from_slice(list);
        }
        key.push(self.point_formats.len() as u16);
        key.extend(self.point_formats.iter().map(|p| u16::from(*p)));
    }
}

/// Slots of the fingerprint memo (direct-mapped by a hash of the key).
const MEMO_SLOTS: usize = 64;
/// Keys longer than this (numbers) are not memoised: no real hello comes
/// near it, and a crafted one then costs its own computation, not memory.
const MEMO_KEY_MAX: usize = 512;

/// JA3 and JA4 of recently seen ClientHello inputs.
///
/// Devices open many connections with the same hello, and computing the two
/// fingerprints (a string of numbers, MD5, two sorted lists, two SHA-256)
/// was most of a hello's cost. The memo answers only for exactly the same
/// inputs (the whole key is compared, not its hash), so what a hello reports
/// never depends on what came before it; a slot's entry is replaced by the
/// next key hashing to it. Its size is fixed ([`MEMO_SLOTS`] entries of at
/// most [`MEMO_KEY_MAX`] numbers), whatever a sender varies. It is
/// per thread: parsers are created per flow and the trait gives them no
/// shared context, and one engine runs on one thread.
#[derive(Default)]
struct FingerprintMemo {
    slots: Vec<Option<MemoEntry>>,
    /// The key being looked up, reused between hellos.
    scratch: Vec<u16>,
    /// Random keys per thread for the slot hash, as every table keyed by
    /// attacker-controlled values has (ARCHITECTURE.md): a sender cannot
    /// aim its hellos at one slot. Answers never depend on it. foldhash,
    /// as the engine's tables: SipHash over a hello's ~100 numbers was
    /// about half the cost of a memo hit.
    hasher: foldhash::fast::RandomState,
}

struct MemoEntry {
    key: Box<[u16]>,
    ja3: String,
    ja4: String,
}

thread_local! {
    static MEMO: std::cell::RefCell<FingerprintMemo> = std::cell::RefCell::default();
}

/// JA3 (the MD5, in hex) and JA4 of a ClientHello, from the memo when the
/// same inputs were seen recently.
fn fingerprints(input: &FingerprintInput<'_>) -> (String, String) {
    MEMO.with(|memo| {
        let Ok(mut memo) = memo.try_borrow_mut() else {
            // Cannot happen (nothing here re-enters), but never panic over a cache.
            return compute_fingerprints(input);
        };
        let memo = &mut *memo;
        input.key_into(&mut memo.scratch);
        let key = &memo.scratch[..];
        if key.len() > MEMO_KEY_MAX {
            return compute_fingerprints(input);
        }
        let slot =
            (std::hash::BuildHasher::hash_one(&memo.hasher, key) % MEMO_SLOTS as u64) as usize;
        if memo.slots.is_empty() {
            memo.slots.resize_with(MEMO_SLOTS, || None);
        }
        let entry = &mut memo.slots[slot];
        if let Some(e) = entry.as_ref().filter(|e| *e.key == *key) {
            return (e.ja3.clone(), e.ja4.clone());
        }
        let (ja3, ja4) = compute_fingerprints(input);
        *entry = Some(MemoEntry {
            key: key.into(),
            ja3: ja3.clone(),
            ja4: ja4.clone(),
        });
        (ja3, ja4)
    })
}

fn compute_fingerprints(i: &FingerprintInput<'_>) -> (String, String) {
    let ja3 = ja3_string(
        i.version,
        i.ja4.ciphers,
        i.ja4.extensions,
        i.groups,
        i.point_formats,
    );
    (hex(&Md5::digest(ja3.as_bytes())), ja4(&i.ja4))
}

/// The JA3 full string (before hashing); all lists GREASE-free, wire order.
pub fn ja3_string(
    version: u16,
    ciphers: &[u16],
    extensions: &[u16],
    groups: &[u16],
    point_formats: &[u8],
) -> String {
    // Written straight into one string: this runs for every ClientHello,
    // and a string per number (then a join) was most of the hello's cost.
    let mut s = String::with_capacity(
        8 + 6 * (ciphers.len() + extensions.len() + groups.len()) + 4 * point_formats.len(),
    );
    push_decimal(&mut s, u32::from(version));
    for list in [ciphers, extensions, groups] {
        s.push(',');
        for (n, v) in list.iter().enumerate() {
            if n > 0 {
                s.push('-');
            }
            push_decimal(&mut s, u32::from(*v));
        }
    }
    s.push(',');
    for (n, v) in point_formats.iter().enumerate() {
        if n > 0 {
            s.push('-');
        }
        push_decimal(&mut s, u32::from(*v));
    }
    s
}

/// Append `v` in decimal (what `to_string` writes), without the formatter.
fn push_decimal(s: &mut String, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut n = digits.len();
    loop {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for d in &digits[n..] {
        s.push(char::from(*d));
    }
}

/// What JA4 (TLS client) needs from a ClientHello; all lists GREASE-free,
/// in wire order.
pub struct Ja4Input<'a> {
    /// Highest supported_versions value, or the hello's version without that extension.
    pub version: u16,
    pub has_sni: bool,
    pub ciphers: &'a [u16],
    pub extensions: &'a [u16],
    pub first_alpn: Option<&'a [u8]>,
    pub sig_algs: &'a [u16],
}

/// JA4 for TLS over TCP (`t…`).
pub fn ja4(i: &Ja4Input<'_>) -> String {
    let version = match i.version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    };
    let ends = i.first_alpn.and_then(|a| Some((*a.first()?, *a.last()?)));
    let alpn: [u8; 2] = match ends {
        Some((f, l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() => [f, l],
        // Non-alphanumeric: first hex digit of the first byte, last of the last.
        Some((f, l)) => [HEX[usize::from(f >> 4)], HEX[usize::from(l & 0x0f)]],
        None => *b"00",
    };
    let mut out = String::with_capacity(36);
    out.push('t');
    out.push_str(version);
    out.push(if i.has_sni { 'd' } else { 'i' });
    push_two_digits(&mut out, i.ciphers.len().min(99));
    push_two_digits(&mut out, i.extensions.len().min(99));
    out.push(char::from(alpn[0]));
    out.push(char::from(alpn[1]));

    // The lists are hashed as comma-separated 4-digit lower-case hex, sorted
    // as strings; fixed-width lower-case hex sorts as the numbers do, so the
    // numbers are sorted instead of the strings.
    let mut sorted: Vec<u16> = i.ciphers.to_vec();
    sorted.sort_unstable();
    let mut text =
        String::with_capacity(5 * (i.extensions.len() + i.sig_algs.len()).max(sorted.len()));
    push_hex_list(&mut text, &sorted);
    out.push('_');
    push_hash12(&mut out, &text, sorted.is_empty());

    sorted.clear();
    sorted.extend(
        i.extensions
            .iter()
            .copied()
            .filter(|e| *e != EXT_SNI && *e != EXT_ALPN),
    );
    sorted.sort_unstable();
    text.clear();
    push_hex_list(&mut text, &sorted);
    if !i.sig_algs.is_empty() {
        text.push('_');
        push_hex_list(&mut text, i.sig_algs);
    }
    out.push('_');
    push_hash12(&mut out, &text, sorted.is_empty());
    out
}

fn push_two_digits(s: &mut String, n: usize) {
    s.push(char::from(b'0' + (n / 10) as u8));
    s.push(char::from(b'0' + (n % 10) as u8));
}

/// `a,b,c` with each value as 4-digit lower-case hex.
fn push_hex_list(s: &mut String, v: &[u16]) {
    for (n, x) in v.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        push_hex(s, &x.to_be_bytes());
    }
}

/// The first 12 hex digits of SHA-256 over `text`, or twelve zeros for an
/// empty list.
fn push_hash12(out: &mut String, text: &str, empty: bool) {
    if empty {
        out.push_str("000000000000");
        return;
    }
    let digest = Sha256::digest(text.as_bytes());
    push_hex(out, &digest[..6]);
}

const HEX: [u8; 16] = *b"0123456789abcdef";

/// Append `b` as lower-case hex, two digits a byte.
fn push_hex(s: &mut String, b: &[u8]) {
    for x in b {
        s.push(char::from(HEX[usize::from(x >> 4)]));
        s.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 * b.len());
    push_hex(&mut s, b);
    s
}

/// True when `first` starts like a TLS handshake record (for detection on odd ports).
pub fn looks_like_tls(first: &[u8]) -> bool {
    // A TLS handshake record, or an SSLv2-compatible ClientHello offering SSL 3.0 / TLS.
    matches!(
        first,
        [0x16, 0x03, 0x00..=0x04, ..] | [0x80..=0xff, _, 0x01, 0x03, 0x00..=0x04, ..]
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn buffers_live_only_while_a_hello_is_split() {
        assert!(std::mem::size_of::<TlsParser>() <= 16);
        let hello = sample_hello();
        let mut p = TlsParser::new();
        let mut ev = Vec::new();
        let (a, b) = hello.split_at(hello.len() / 2);
        assert!(p.feed(Direction::ToServer, a, &mut ev));
        assert!(p.sides.is_some(), "half a record is kept");
        assert!(p.feed(Direction::ToServer, b, &mut ev));
        assert!(
            p.sides.is_none(),
            "nothing pending once the hello is parsed"
        );
        assert!(ev.iter().any(|e| matches!(e, AppEvent::Tls(h) if h.client)));
        // A whole hello in one chunk leaves nothing boxed either.
        let mut p = TlsParser::new();
        assert!(p.feed(Direction::ToServer, &hello, &mut Vec::new()));
        assert!(p.sides.is_none());
    }

    /// A ClientHello built from the RFC 8446 §4.1.2 structure.
    pub(crate) fn build_client_hello(ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]); // random
        body.push(0); // session id
        body.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            body.extend_from_slice(&c.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]); // compression: null
        let mut ext_bytes = Vec::new();
        for (t, d) in exts {
            ext_bytes.extend_from_slice(&t.to_be_bytes());
            ext_bytes.extend_from_slice(&(d.len() as u16).to_be_bytes());
            ext_bytes.extend_from_slice(d);
        }
        body.extend_from_slice(&(ext_bytes.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext_bytes);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    /// An extension block that does not tile (a length past the block, or
    /// three bytes left over) is `bad-extension`, and the parser gives up.
    #[test]
    fn extensions_must_tile_the_block() {
        let sni = sni_ext("a.example");
        let good = build_client_hello(&[0x1301], &[(0x0000, sni.clone())]);
        // The one extension's length field sits just before its data.
        let at = good.len() - sni.len() - 2;
        for (len, ok) in [
            (sni.len(), true),
            (sni.len() + 1, false),
            (sni.len() - 3, false),
        ] {
            let mut hello = good.clone();
            hello[at..at + 2].copy_from_slice(&(len as u16).to_be_bytes());
            let mut ev = Vec::new();
            let more = TlsParser::new().feed(Direction::ToServer, &hello, &mut ev);
            let bad = ev.iter().any(|e| {
                matches!(
                    e,
                    AppEvent::Malformed {
                        what: "bad-extension",
                        ..
                    }
                )
            });
            assert_eq!((more, bad), (ok, !ok), "extension length {len}: {ev:?}");
            assert_eq!(ev.iter().any(|e| matches!(e, AppEvent::Tls(_))), ok);
        }
    }

    fn sni_ext(name: &str) -> Vec<u8> {
        let mut e = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        e.push(0);
        e.extend_from_slice(&(name.len() as u16).to_be_bytes());
        e.extend_from_slice(name.as_bytes());
        e
    }

    fn u16s(prefix: usize, v: &[u16]) -> Vec<u8> {
        let mut e = if prefix == 1 {
            vec![(v.len() * 2) as u8]
        } else {
            ((v.len() * 2) as u16).to_be_bytes().to_vec()
        };
        for x in v {
            e.extend_from_slice(&x.to_be_bytes());
        }
        e
    }

    pub(crate) fn sample_hello() -> Vec<u8> {
        let alpn = {
            let mut l = vec![2, b'h', b'2', 8];
            l.extend_from_slice(b"http/1.1");
            let mut e = (l.len() as u16).to_be_bytes().to_vec();
            e.extend_from_slice(&l);
            e
        };
        build_client_hello(
            &[0x2a2a, 0x1301, 0x1302, 0xc02b],
            &[
                (0x1a1a, vec![]),
                (EXT_SNI, sni_ext("cloud.example.com")),
                (EXT_GROUPS, u16s(2, &[0x3a3a, 0x001d, 0x0017])),
                (EXT_POINT_FORMATS, vec![1, 0]),
                (EXT_SIG_ALGS, u16s(2, &[0x0403, 0x0804])),
                (EXT_ALPN, alpn),
                (EXT_SUPPORTED_VERSIONS, u16s(1, &[0x4a4a, 0x0304, 0x0303])),
            ],
        )
    }

    /// A hello parsed where it lies (whole in one chunk, followed by more
    /// records) says exactly what the same bytes say when reassembled from
    /// one-byte segments.
    #[test]
    fn in_place_hello_equals_reassembled_hello() {
        let mut flight = sample_hello();
        flight.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
        let mut whole = Vec::new();
        let mut p = TlsParser::new();
        assert!(p.feed(Direction::ToServer, &flight, &mut whole));
        assert!(p.sides.is_none());
        let mut bytewise = Vec::new();
        let mut q = TlsParser::new();
        for b in flight.chunks(1) {
            q.feed(Direction::ToServer, b, &mut bytewise);
        }
        assert_eq!(whole, bytewise);
        assert_eq!(whole.len(), 4, "three hints and the hello: {whole:?}");
    }

    #[test]
    fn grease_values() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }

    #[test]
    fn client_hello_split_over_segments() {
        let rec = sample_hello();
        let mut p = TlsParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &rec[..3], &mut ev));
        assert!(p.feed(Direction::ToServer, &rec[3..40], &mut ev));
        assert!(ev.is_empty());
        assert!(p.feed(Direction::ToServer, &rec[40..], &mut ev));
        let hello = ev
            .iter()
            .find_map(|e| match e {
                AppEvent::Tls(h) => Some(h),
                _ => None,
            })
            .expect("hello");
        assert_eq!(hello.sni.as_deref(), Some("cloud.example.com"));
        assert_eq!(hello.max_version, 0x0304);
        assert_eq!(hello.ciphers, vec![0x1301, 0x1302, 0xc02b]);
        assert_eq!(hello.alpn, vec!["h2", "http/1.1"]);
        let ja3 = ja3_string(
            0x0303,
            &[0x1301, 0x1302, 0xc02b],
            &[0, 10, 11, 13, 16, 43],
            &[29, 23],
            &[0],
        );
        assert_eq!(ja3, "771,4865-4866-49195,0-10-11-13-16-43,29-23,0");
        assert_eq!(
            hello.ja3.as_deref(),
            Some(hex(&Md5::digest(ja3.as_bytes())).as_str())
        );
        let ja4 = hello.ja4.as_deref().unwrap();
        assert!(ja4.starts_with("t13d0306h2_"), "{ja4}");
        for kind in [HintKind::TlsJa3, HintKind::TlsJa4, HintKind::TlsSni] {
            assert!(ev.iter().any(
                |e| matches!(e, AppEvent::Hint(h) if h.kind == kind && h.about == About::Initiator)
            ));
        }
    }

    #[test]
    fn hello_fragmented_over_two_records() {
        let rec = sample_hello();
        let hs = &rec[5..];
        let (a, b) = hs.split_at(30);
        let mut two = Vec::new();
        for part in [a, b] {
            two.extend_from_slice(&[0x16, 0x03, 0x01]);
            two.extend_from_slice(&(part.len() as u16).to_be_bytes());
            two.extend_from_slice(part);
        }
        let mut p = TlsParser::new();
        let mut ev = Vec::new();
        p.feed(Direction::ToServer, &two, &mut ev);
        let mut q = TlsParser::new();
        let mut ev2 = Vec::new();
        q.feed(Direction::ToServer, &rec, &mut ev2);
        assert_eq!(ev, ev2);
        assert!(!ev.is_empty());
    }

    /// The worked example of the JA4 specification (FoxIO, technical_details/JA4.md):
    /// its raw lists must hash to the published fingerprint.
    #[test]
    fn ja4_matches_spec_example() {
        let ciphers = [
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let exts = [
            0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
            0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ];
        let sigs = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let j = ja4(&Ja4Input {
            version: 0x0304,
            has_sni: true,
            ciphers: &ciphers,
            extensions: &exts,
            first_alpn: Some(b"h2"),
            sig_algs: &sigs,
        });
        assert_eq!(j, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    /// The memo answers exactly what computing answers, for inputs that
    /// repeat, differ in one field, collide in its slots and exceed its key
    /// limit, in any order.
    #[test]
    fn memoised_fingerprints_equal_computed_ones() {
        let lists: [&[u16]; 4] = [&[], &[0x1301], &[0x1301, 0x1302], &[0x1302, 0x1301]];
        let alpns: [Option<&[u8]>; 4] = [None, Some(b""), Some(b"h2"), Some(b"\x01x")];
        let long: Vec<u16> = (0..600).collect();
        let mut seen = std::collections::HashSet::new();
        // Many more distinct inputs than slots, each asked for several times.
        for round in 0..3u32 {
            for n in 0..2048u32 {
                let pick = |shift: u32| {
                    (n.wrapping_mul(2654435761).rotate_left(shift + round) % 4) as usize
                };
                let ciphers: &[u16] = if n % 97 == 0 { &long } else { lists[pick(0)] };
                let input = FingerprintInput {
                    version: 0x0301 + (n % 3) as u16,
                    groups: lists[pick(3)],
                    point_formats: if n % 2 == 0 { &[0] } else { &[] },
                    ja4: Ja4Input {
                        version: 0x0303 + (n % 2) as u16,
                        has_sni: n % 5 == 0,
                        ciphers,
                        extensions: lists[pick(6)],
                        first_alpn: alpns[pick(9)],
                        sig_algs: lists[pick(12)],
                    },
                };
                let got = fingerprints(&input);
                assert_eq!(
                    got,
                    compute_fingerprints(&input),
                    "input {n}, round {round}"
                );
                seen.insert(got);
            }
        }
        assert!(seen.len() > MEMO_SLOTS, "the test must overflow the memo");
    }

    #[test]
    fn ja4_alpn_edge_cases() {
        let base = |alpn: Option<&'static [u8]>| {
            ja4(&Ja4Input {
                version: 0x0303,
                has_sni: false,
                ciphers: &[],
                extensions: &[],
                first_alpn: alpn,
                sig_algs: &[],
            })
        };
        assert_eq!(base(None), "t12i000000_000000000000_000000000000");
        assert!(base(Some(b"h")).starts_with("t12i0000hh_"));
        assert!(base(Some(&[0xab, 0x20, 0xcd])).starts_with("t12i0000ad_"));
    }

    /// An SSLv2-compatible ClientHello as old OpenSSL sends it, built from
    /// RFC 6101 appendix E.2: TLS 1.0, two TLS suites and one SSLv2 spec.
    #[test]
    fn sslv2_compatible_hello() {
        let mut body = vec![1, 0x03, 0x01, 0, 9, 0, 0, 0, 16];
        body.extend_from_slice(&[0x00, 0x00, 0x39, 0x07, 0x00, 0xc0, 0x00, 0x00, 0x2f]);
        body.extend_from_slice(&[0x5a; 16]);
        let mut rec = vec![0x80 | (body.len() >> 8) as u8, body.len() as u8];
        rec.extend_from_slice(&body);
        assert!(looks_like_tls(&rec));
        let mut p = TlsParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &rec[..10], &mut ev));
        assert!(p.feed(Direction::ToServer, &rec[10..], &mut ev));
        let [AppEvent::Tls(h)] = &ev[..] else {
            panic!("{ev:?}")
        };
        assert_eq!(h.legacy_version, 0x0301);
        assert_eq!(h.ciphers, vec![0x0039, 0x002f]);
        assert!(h.ja3.is_none());
    }

    /// A server flight larger than one record buffer in a single chunk: the
    /// ServerHello comes first and must still be found.
    #[test]
    fn server_hello_in_a_large_chunk() {
        let mut sh = vec![0x03, 0x03];
        sh.extend_from_slice(&[9u8; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0x13, 0x01, 0]);
        sh.extend_from_slice(&[0, 6, 0, 0x2b, 0, 2, 0x03, 0x04]);
        let mut hs = vec![2];
        hs.extend_from_slice(&(sh.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&sh);
        let mut flight = vec![0x16, 0x03, 0x03];
        flight.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        flight.extend_from_slice(&hs);
        for _ in 0..3 {
            flight.extend_from_slice(&[0x17, 0x03, 0x03, 0x40, 0x00]);
            flight.extend_from_slice(&[0u8; 0x4000]);
        }
        let mut p = TlsParser::new();
        let mut ev = Vec::new();
        p.feed(Direction::ToClient, &flight, &mut ev);
        let [AppEvent::Tls(h)] = &ev[..] else {
            panic!("{ev:?}")
        };
        assert!(!h.client);
        assert_eq!(h.max_version, 0x0304);
        assert_eq!(h.ciphers, vec![0x1301]);
    }

    #[test]
    fn garbage_is_malformed_and_stops() {
        let mut p = TlsParser::new();
        let mut ev = Vec::new();
        assert!(!p.feed(
            Direction::ToServer,
            b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\xff",
            &mut ev
        ));
        assert!(matches!(
            ev[0],
            AppEvent::Malformed {
                protocol: "tls",
                ..
            }
        ));
        let mut p = TlsParser::new();
        let mut ev = Vec::new();
        assert!(!p.feed(Direction::ToServer, b"hello world", &mut ev));
    }
}
