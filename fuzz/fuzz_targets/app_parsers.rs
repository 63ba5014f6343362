//! The application-parser registry and every parser behind it: pick a
//! parser with `ward_proto::detect` as the engine does, feed it the rest of
//! the input in chunks in both directions, then `finish`.
//!
//! Input: byte 0 bit 0 picks the transport (0 TCP, 1 UDP); bytes 1–2 and
//! 3–4 are the initiator's and responder's ports (big-endian). Then records
//! of `[direction][len lo][len hi][len bytes]`, direction bit 0 set meaning
//! responder → initiator; a last record shorter than its length takes what
//! is left. The first record is what `detect` sees, as in the engine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_proto::{detect, AppEvent, Direction, Transport};

fn records(mut rest: &[u8]) -> impl Iterator<Item = (Direction, &[u8])> {
    std::iter::from_fn(move || {
        let [dir, lo, hi, tail @ ..] = rest else {
            return None;
        };
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (data, next) = tail.split_at(len);
        rest = next;
        let dir = if dir & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        Some((dir, data))
    })
}

fuzz_target!(|data: &[u8]| {
    let [flags, sp0, sp1, dp0, dp1, rest @ ..] = data else {
        return;
    };
    let transport = if flags & 1 == 0 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let src_port = u16::from_be_bytes([*sp0, *sp1]);
    let dst_port = u16::from_be_bytes([*dp0, *dp1]);
    // The engine never calls detect or feed with an empty payload.
    let mut chunks = records(rest).filter(|(_, d)| !d.is_empty());
    let Some((first_dir, first)) = chunks.next() else {
        return;
    };
    let Some(mut parser) = detect(transport, src_port, dst_port, first, first_dir) else {
        return;
    };
    let proto = parser.protocol();
    assert!(!proto.as_str().is_empty());

    let mut out: Vec<AppEvent> = Vec::new();
    for (dir, piece) in std::iter::once((first_dir, first)).chain(chunks) {
        if !parser.feed(dir, piece, &mut out) {
            break;
        }
        // Events are drained after every packet, as the engine does, so
        // growth here would be the parser's own.
        assert!(out.len() <= 4096, "{proto:?} emitted {} events", out.len());
        out.clear();
    }
    parser.finish(&mut out);
    let _ = format!("{out:?}");
});
