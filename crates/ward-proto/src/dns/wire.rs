//! An allocation-free reader over one DNS message, in place.
//!
//! [`check`] walks the whole message once and says whether `simple_dns`'s
//! `Packet::parse` (the reference this module replaces on the per-packet
//! path) accepts it, without building anything: the same header, name,
//! question, class and record-data rules, replicated for the record types
//! real traffic carries (A, AAAA, the name-only types, MX, HINFO, TXT, SRV,
//! SOA, NSEC, OPT, NULL and every type `simple_dns` does not know). For a
//! record of another known type (HTTPS, SVCB, CAA, RRSIG …) whose data rules
//! are not replicated, the verdict is [`Verdict::Unsure`] and the caller asks
//! `simple_dns`; the record's extent is fixed by its length field either way,
//! so the rest of the walk is exact. The names in such data are still
//! walked here for their pointer count (see below), and nothing else.
//!
//! Once a message is known to parse, [`records`], [`walk_name`] and
//! [`write_name`] read it again without failing.
//!
//! Guarantees: no panic and no allocation on any input; every offset is
//! checked against the message (or, for a name inside record data, the
//! record data's end, as `simple_dns` limits it). A compression pointer must
//! point before itself (so a chain always ends) and at most [`MAX_JUMPS`] are
//! followed in one name: this is the one place the reader is stricter than
//! `simple_dns`, which follows a pointer chain as long as the message allows
//! (tens of thousands of hops in a 64 KiB datagram, for every name that ends
//! in it). A name needing more hops is reported as bad.

use simple_dns::{CLASS, QCLASS, QTYPE, TYPE};

/// Compression pointers followed in one name. A name has at most 127
/// labels, and a real encoder points at a label (or, having recorded a
/// fully compressed name's own position, at one pointer); only a crafted
/// pointer-to-pointer chain comes near this.
pub const MAX_JUMPS: u32 = 128;

/// Names longer than this (label bytes plus one per label) are refused, as
/// by `simple_dns` (which refuses a name reaching 255).
const NAME_MAX: usize = 255;
const LABEL_MAX: usize = 63;

/// The four sections, in message order.
pub const QUESTIONS: usize = 0;
pub const ANSWERS: usize = 1;
pub const AUTHORITY: usize = 2;
pub const ADDITIONAL: usize = 3;

/// Where a message's parts are, once [`check`] found it well formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub id: u16,
    /// The QR bit.
    pub response: bool,
    /// The header's four-bit response code.
    pub rcode: u8,
    /// Entries per section.
    pub count: [u16; 4],
    /// Offset of each section's first entry.
    pub start: [usize; 4],
    /// A and AAAA records in the answer section (with data).
    pub address_answers: usize,
}

/// What `simple_dns::Packet::parse` would say of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It parses.
    Valid(Layout),
    /// It does not parse (or a name needs more than [`MAX_JUMPS`] pointers).
    Invalid(Bad),
    /// Well formed as far as this reader checks, but a record of a type whose
    /// data rules it does not replicate needs `simple_dns`'s word.
    Unsure(Layout),
}

/// Why a message is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bad {
    /// `simple_dns` refuses it too.
    Malformed,
    /// A name follows more than [`MAX_JUMPS`] compression pointers.
    TooManyJumps,
}

fn u16_at(msg: &[u8], at: usize) -> Option<u16> {
    let b = msg.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Walk the name at `pos` of `msg[..limit]`, following compression
/// pointers, handing each label to `on_label`. Returns where the name ends
/// in the stream (after its zero byte or its first pointer).
///
/// The rules are `simple_dns` 0.13's `Name::parse`: a length byte with both
/// top bits set is a pointer (its target must lie before the pointer); any
/// other non-zero byte is a label length, refused above 63 or once the
/// name's length (label bytes plus one per label) reaches 255; a label or
/// pointer running past `limit` is refused.
pub fn walk_name(
    msg: &[u8],
    mut pos: usize,
    limit: usize,
    mut on_label: impl FnMut(&[u8]),
) -> Result<usize, Bad> {
    let data = msg.get(..limit).ok_or(Bad::Malformed)?;
    let mut name_len = 0usize;
    let mut end = None;
    let mut jumps = 0u32;
    loop {
        let b = *data.get(pos).ok_or(Bad::Malformed)?;
        pos += 1;
        match b {
            0 => return Ok(end.unwrap_or(pos)),
            b if b & 0xc0 == 0xc0 => {
                let lo = *data.get(pos).ok_or(Bad::Malformed)?;
                pos += 1;
                let target = usize::from(u16::from_be_bytes([b & 0x3f, lo]));
                end.get_or_insert(pos);
                if target >= pos - 2 {
                    return Err(Bad::Malformed);
                }
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return Err(Bad::TooManyJumps);
                }
                pos = target;
            }
            len => {
                let len = usize::from(len);
                name_len += 1 + len;
                if name_len >= NAME_MAX || len > LABEL_MAX {
                    return Err(Bad::Malformed);
                }
                let label = data.get(pos..pos + len).ok_or(Bad::Malformed)?;
                on_label(label);
                pos += len;
            }
        }
    }
}

fn skip_name(msg: &[u8], pos: usize, limit: usize) -> Result<usize, Bad> {
    walk_name(msg, pos, limit, |_| {})
}

/// Length-prefixed strings from `pos` that must end exactly at `end`
/// (TXT's data; NSEC's windows and OPT's options are the same shape with
/// other headers).
fn strings_tile(msg: &[u8], mut pos: usize, end: usize) -> bool {
    while pos < end {
        match msg.get(pos) {
            Some(&l) => pos += 1 + usize::from(l),
            None => return false,
        }
    }
    pos == end
}

/// One character-string at `pos`, which must fit before `end`; where it ends.
fn char_string(msg: &[u8], pos: usize, end: usize) -> Result<usize, Bad> {
    if pos >= end {
        return Err(Bad::Malformed);
    }
    let l = usize::from(*msg.get(pos).ok_or(Bad::Malformed)?);
    let next = pos + 1 + l;
    if next > end {
        return Err(Bad::Malformed);
    }
    Ok(next)
}

/// OPT's options (code, length, data) must tile its data exactly.
fn options_tile(msg: &[u8], mut pos: usize, end: usize) -> bool {
    while pos < end {
        if pos + 4 > end {
            return false;
        }
        match u16_at(msg, pos + 2) {
            Some(l) => pos += 4 + usize::from(l),
            None => return false,
        }
    }
    pos == end
}

/// NSEC's type bit maps: strictly increasing windows of at most 32 bytes,
/// tiling the rest of the data.
fn nsec_windows(msg: &[u8], mut pos: usize, end: usize) -> bool {
    let mut prev: Option<u8> = None;
    while pos < end {
        let Some(&window) = msg.get(pos) else {
            return false;
        };
        if prev.is_some_and(|p| window <= p) {
            return false;
        }
        prev = Some(window);
        if pos + 2 > end {
            return false;
        }
        let Some(&l) = msg.get(pos + 1) else {
            return false;
        };
        if l > 32 {
            return false;
        }
        pos += 2 + usize::from(l);
        if pos > end {
            return false;
        }
    }
    true
}

/// Record data of type `rtype` in `msg[rdata..end]` (`end > rdata`): is it
/// what `simple_dns` accepts? `Ok(false)`: a type whose rules are not
/// replicated here.
fn rdata_ok(msg: &[u8], rtype: u16, rdata: usize, end: usize) -> Result<bool, Bad> {
    let len = end - rdata;
    let fits = |ok: bool| if ok { Ok(true) } else { Err(Bad::Malformed) };
    match rtype {
        1 => fits(len >= 4),
        28 => fits(len >= 16),
        // NS, MD, MF, CNAME, MB, MG, MR, PTR, NSAP-PTR: one name.
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 23 => skip_name(msg, rdata, end).map(|_| true),
        // MX: preference, exchange.
        15 => {
            fits(len >= 2)?;
            skip_name(msg, rdata + 2, end).map(|_| true)
        }
        // HINFO: cpu, os.
        13 => {
            let at = char_string(msg, rdata, end)?;
            char_string(msg, at, end).map(|_| true)
        }
        16 => fits(strings_tile(msg, rdata, end)),
        // SRV: priority, weight, port, target.
        33 => {
            fits(len >= 6)?;
            skip_name(msg, rdata + 6, end).map(|_| true)
        }
        // SOA: two names, then five 32-bit numbers.
        6 => {
            let at = skip_name(msg, rdata, end)?;
            let at = skip_name(msg, at, end)?;
            fits(at + 20 <= end)
        }
        // NSEC: next name, then the type bit maps.
        47 => {
            let at = skip_name(msg, rdata, end)?;
            fits(nsec_windows(msg, at, end))
        }
        // NULL and types simple_dns does not know (X25's 19 among them:
        // it declares the type but leaves it out of its list): opaque bytes.
        10 => Ok(true),
        t => {
            let known = !matches!(TYPE::from(t), TYPE::Unknown(_));
            if known {
                unreplicated_names(msg, t, rdata, end)?;
            }
            Ok(!known)
        }
    }
}

/// The names in the data of the known types whose rules are not
/// replicated here (simple_dns decides on those), walked only to cut a
/// pointer chain at [`MAX_JUMPS`] as everywhere else: simple_dns would
/// follow it to the end, so records all entering one long chain would cost
/// it the chain's length each (quadratic in the message). Any other fault
/// is left for simple_dns to find.
fn unreplicated_names(msg: &[u8], rtype: u16, rdata: usize, end: usize) -> Result<(), Bad> {
    let jumps_only = |r: Result<usize, Bad>| match r {
        Err(Bad::TooManyJumps) => Err(Bad::TooManyJumps),
        other => Ok(other.ok()),
    };
    let first = match rtype {
        // MINFO, RP: two names.
        14 | 17 => {
            if let Some(at) = jumps_only(skip_name(msg, rdata, end))? {
                jumps_only(skip_name(msg, at, end))?;
            }
            return Ok(());
        }
        // AFSDB, RT, KX, SVCB, HTTPS: a 16-bit number, then a name.
        18 | 21 | 36 | 64 | 65 => rdata + 2,
        // RRSIG: 18 bytes of fixed fields, then the signer's name.
        46 => rdata + 18,
        // IPSECKEY: a name as gateway only for gateway type 3.
        45 if end > rdata + 1 && msg.get(rdata + 1) == Some(&3) => rdata + 3,
        // NAPTR: order, preference, three character-strings, then a name.
        35 => {
            let strings = char_string(msg, rdata + 4, end)
                .and_then(|at| char_string(msg, at, end))
                .and_then(|at| char_string(msg, at, end));
            match strings {
                Ok(at) => at,
                Err(_) => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    jumps_only(skip_name(msg, first, end)).map(|_| ())
}

/// The verdict on a whole message; see the module docs.
pub fn check(msg: &[u8]) -> Verdict {
    let mut layout = Layout {
        id: 0,
        response: false,
        rcode: 0,
        count: [0; 4],
        start: [12; 4],
        address_answers: 0,
    };
    match walk(msg, &mut layout) {
        Ok(true) => Verdict::Valid(layout),
        Ok(false) => Verdict::Unsure(layout),
        Err(bad) => Verdict::Invalid(bad),
    }
}

/// [`check`]'s walk: `Ok(false)` when a record's data needs `simple_dns`.
fn walk(msg: &[u8], layout: &mut Layout) -> Result<bool, Bad> {
    let header = msg.get(..12).ok_or(Bad::Malformed)?;
    let field = |i: usize| u16::from_be_bytes([header[2 * i], header[2 * i + 1]]);
    let flags = field(1);
    // simple_dns refuses the reserved Z bit.
    if flags & 0x0040 != 0 {
        return Err(Bad::Malformed);
    }
    layout.id = field(0);
    layout.response = flags & 0x8000 != 0;
    layout.rcode = (flags & 0x000f) as u8;
    for (s, c) in layout.count.iter_mut().enumerate() {
        *c = field(2 + s);
    }
    let mut pos = 12;
    for _ in 0..layout.count[QUESTIONS] {
        pos = skip_name(msg, pos, msg.len())?;
        let (Some(qtype), Some(qclass)) = (u16_at(msg, pos), u16_at(msg, pos + 2)) else {
            return Err(Bad::Malformed);
        };
        if QTYPE::try_from(qtype).is_err() || QCLASS::try_from(qclass & 0x7fff).is_err() {
            return Err(Bad::Malformed);
        }
        pos += 4;
    }
    let mut sure = true;
    for section in ANSWERS..=ADDITIONAL {
        layout.start[section] = pos;
        for _ in 0..layout.count[section] {
            let rr = record_at(msg, pos)?;
            pos = rr.end;
            if rr.rtype == 41 {
                // OPT: its class field is the sender's UDP size, not a class.
                if !options_tile(msg, rr.rdata, rr.end) {
                    return Err(Bad::Malformed);
                }
                continue;
            }
            if CLASS::try_from(rr.class & 0x7fff).is_err() {
                return Err(Bad::Malformed);
            }
            if rr.rdata == rr.end {
                // No data: simple_dns keeps the type only.
                continue;
            }
            sure &= rdata_ok(msg, rr.rtype, rr.rdata, rr.end)?;
            if section == ANSWERS && matches!(rr.rtype, 1 | 28) {
                layout.address_answers += 1;
            }
        }
    }
    Ok(sure)
}

/// One resource record's place in the message.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    /// Where its owner name starts.
    pub owner: usize,
    pub rtype: u16,
    /// The class field as sent (mDNS's cache-flush bit included).
    pub class: u16,
    /// Its data: `rdata..end`.
    pub rdata: usize,
    pub end: usize,
}

/// The record at `pos`: owner name (checked), fixed fields and data extent.
fn record_at(msg: &[u8], pos: usize) -> Result<Record, Bad> {
    let at = skip_name(msg, pos, msg.len())?;
    let (Some(rtype), Some(class), Some(rdlen)) =
        (u16_at(msg, at), u16_at(msg, at + 2), u16_at(msg, at + 8))
    else {
        return Err(Bad::Malformed);
    };
    let rdata = at + 10;
    let end = rdata + usize::from(rdlen);
    if end > msg.len() {
        return Err(Bad::Malformed);
    }
    Ok(Record {
        owner: pos,
        rtype,
        class,
        rdata,
        end,
    })
}

/// The records of one section of a message [`check`] accepted, in order.
pub fn records<'m>(
    msg: &'m [u8],
    layout: &Layout,
    section: usize,
) -> impl Iterator<Item = Record> + 'm {
    let mut pos = layout.start.get(section).copied().unwrap_or(msg.len());
    let mut left = layout.count.get(section).copied().unwrap_or(0);
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        let rr = record_at(msg, pos).ok()?;
        pos = rr.end;
        Some(rr)
    })
}

/// The question names of a message [`check`] accepted: where each starts.
pub fn questions<'m>(msg: &'m [u8], layout: &Layout) -> impl Iterator<Item = usize> + 'm {
    let mut pos = layout.start[QUESTIONS];
    let mut left = layout.count[QUESTIONS];
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        let at = pos;
        pos = skip_name(msg, pos, msg.len()).ok()? + 4;
        Some(at)
    })
}

/// Whether a label is written as-is by `simple_dns`'s `Display` and kept
/// by `printable`: printable ASCII without a dot or backslash.
pub fn plain_label(label: &[u8]) -> bool {
    label
        .iter()
        .all(|b| (0x20..0x7f).contains(b) && *b != b'.' && *b != b'\\')
}

/// Append the name at `pos` (of `msg[..limit]`) to `out` as `simple_dns`'s
/// `Name` `Display` writes it (so `out` stays UTF-8): labels joined by
/// dots, a dot or backslash in a label escaped with a backslash, invalid
/// UTF-8 replaced by U+FFFD. Returns whether every label was plain (then
/// `out` got the raw bytes).
pub fn write_name(msg: &[u8], pos: usize, limit: usize, out: &mut Vec<u8>) -> bool {
    let mut plain = true;
    let mut first = true;
    // The name was checked; a failure here can only leave it cut short.
    let _ = walk_name(msg, pos, limit, |label| {
        if !first {
            out.push(b'.');
        }
        first = false;
        if plain_label(label) {
            out.extend_from_slice(label);
            return;
        }
        plain = false;
        for chunk in label.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '.' => out.extend_from_slice(b"\\."),
                    '\\' => out.extend_from_slice(b"\\\\"),
                    c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            }
            if !chunk.invalid().is_empty() {
                out.extend_from_slice("\u{fffd}".as_bytes());
            }
        }
    });
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_must_point_backwards() {
        // Header, then a question whose name is a pointer to itself.
        let mut m = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(check(&m), Verdict::Invalid(Bad::Malformed));
        // Pointing at the header's zero bytes is allowed (an empty name).
        m[13] = 4;
        assert!(matches!(check(&m), Verdict::Valid(_)));
    }

    #[test]
    fn long_pointer_chains_are_cut() {
        // A chain of pointers, each to the one before, in a NULL record's
        // data, and a question (after it) that enters at its far end.
        let hops = MAX_JUMPS as usize + 1;
        let mut m = vec![0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        // Answer: root owner, type NULL, class IN, ttl 0, data = chain.
        m.extend_from_slice(&[0, 0, 10, 0, 1, 0, 0, 0, 0]);
        m.extend_from_slice(&((2 * hops + 1) as u16).to_be_bytes());
        let last = push_pointer_chain(&mut m, hops);
        // Questions come first in the message, so put the entering name in
        // an authority record instead.
        m[5] = 0;
        m[9] = 1;
        m.extend_from_slice(&(0xc000 | last as u16).to_be_bytes());
        m.extend_from_slice(&[0, 10, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(check(&m), Verdict::Invalid(Bad::TooManyJumps));
        // simple_dns follows it to the end.
        assert!(simple_dns::Packet::parse(&m).is_ok());
    }

    /// Appends a root name and then `hops` pointers, each to the one
    /// before it (the first to the root); returns the offset of the last
    /// pointer, where a name entering the chain at its far end points.
    fn push_pointer_chain(m: &mut Vec<u8>, hops: usize) -> usize {
        let chain = m.len();
        m.push(0);
        for i in 0..hops {
            let target = if i == 0 {
                chain
            } else {
                chain + 1 + 2 * (i - 1)
            };
            m.extend_from_slice(&(0xc000 | target as u16).to_be_bytes());
        }
        m.len() - 2
    }

    /// A chain of `hops` pointers in a NULL answer, then `records` answers
    /// of type `rtype` whose data is `head`, a pointer entering the chain
    /// at its far end, and `tail`.
    fn chain_then_records(
        hops: usize,
        rtype: u16,
        (head, tail): (&[u8], &[u8]),
        records: u16,
    ) -> Vec<u8> {
        let mut m = vec![0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&(records + 1).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&[0, 0, 10, 0, 1, 0, 0, 0, 0]);
        m.extend_from_slice(&((2 * hops + 1) as u16).to_be_bytes());
        let last = push_pointer_chain(&mut m, hops) as u16;
        for _ in 0..records {
            m.extend_from_slice(&[0]);
            m.extend_from_slice(&rtype.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 0]);
            m.extend_from_slice(&((head.len() + 2 + tail.len()) as u16).to_be_bytes());
            m.extend_from_slice(head);
            m.extend_from_slice(&(0xc000 | last).to_be_bytes());
            m.extend_from_slice(tail);
        }
        m
    }

    /// Names in the data of the types whose rules are not replicated here
    /// (left to simple_dns) are cut at MAX_JUMPS too: simple_dns would
    /// follow each to the end, so a message of such records, all entering
    /// one long chain, cost it the chain's length for every record.
    #[test]
    fn long_pointer_chains_are_cut_in_unreplicated_types() {
        type Data<'a> = (&'a [u8], &'a [u8]);
        let cases: [(u16, Data); 12] = [
            (14, (&[], &[0])),                         // MINFO, first name
            (14, (&[0], &[])),                         // MINFO, second name
            (17, (&[], &[0])),                         // RP, first name
            (17, (&[0], &[])),                         // RP, second name
            (18, (&[0, 1], &[])),                      // AFSDB
            (21, (&[0, 1], &[])),                      // RT
            (35, (&[0, 1, 0, 1, 0, 1, b'u', 0], &[])), // NAPTR
            (36, (&[0, 1], &[])),                      // KX
            (45, (&[0, 3, 0], &[1, 2])),               // IPSECKEY, a domain gateway
            (46, (&[0; 18], &[9])),                    // RRSIG
            (64, (&[0, 1], &[])),                      // SVCB
            (65, (&[0, 1], &[])),                      // HTTPS
        ];
        for (rtype, data) in cases {
            let m = chain_then_records(MAX_JUMPS as usize + 1, rtype, data, 3);
            assert_eq!(
                check(&m),
                Verdict::Invalid(Bad::TooManyJumps),
                "type {rtype}"
            );
            // simple_dns takes it (it follows the chain to the end) …
            assert!(simple_dns::Packet::parse(&m).is_ok(), "type {rtype}");
            // … and a chain within the limit is still its to decide.
            let m = chain_then_records(MAX_JUMPS as usize - 1, rtype, data, 3);
            assert!(matches!(check(&m), Verdict::Unsure(_)), "type {rtype}");
            assert!(simple_dns::Packet::parse(&m).is_ok(), "type {rtype}");
        }
    }
}
