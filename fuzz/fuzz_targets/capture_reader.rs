//! Arbitrary bytes as a capture file: open it, read every packet, then read
//! the same bytes again through a `MergedReader` of one input. Neither may
//! panic, allocate past `MAX_RECORD`, or loop forever.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ward_capture::{CaptureReader, MergedReader, RawPacket, MAX_RECORD};

/// A capture of n bytes cannot hold more than n/16 records (a pcap record
/// header alone is 16 bytes); more means the reader is not advancing.
fn record_bound(len: usize) -> usize {
    len / 16 + 1
}

fuzz_target!(|data: &[u8]| {
    let name = Path::new("fuzz.pcap");
    let open =
        |data: &[u8]| CaptureReader::from_reader(Box::new(Cursor::new(data.to_vec())), name, 0);

    let Ok(mut reader) = open(data) else { return };
    let mut pkt = RawPacket::default();
    let mut n = 0usize;
    while let Ok(true) = reader.next_packet(&mut pkt) {
        assert!(pkt.data.len() <= MAX_RECORD);
        assert!(pkt.orig_len as usize >= pkt.data.len());
        n += 1;
        assert!(n <= record_bound(data.len()), "reader is not advancing");
    }
    // After the end (or an error) the reader stays finished.
    assert!(matches!(reader.next_packet(&mut pkt), Ok(false)));

    let Ok(reader) = open(data) else {
        panic!("the same bytes opened once and failed the second time")
    };
    let mut merged = MergedReader::from_readers(vec![reader]);
    let mut m = 0usize;
    while merged.next_packet(&mut pkt) {
        m += 1;
        assert!(
            m <= n,
            "merged reader yields more packets than the file holds"
        );
    }
    assert_eq!(
        m, n,
        "merged reader of one input must yield the same packets"
    );
    assert!(merged.errors.len() <= 1);
});
