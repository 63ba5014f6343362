//! Captures built in code, byte by byte from the pcap and pcapng specs, so
//! every header variant the reader claims to support is exercised.

use super::*;
use proptest::prelude::*;

struct Pcap {
    big: bool,
    linktype: u32,
    bytes: Vec<u8>,
}

impl Pcap {
    fn new(big: bool, nanos: bool, linktype: u32) -> Self {
        let mut p = Pcap {
            big,
            linktype,
            bytes: Vec::new(),
        };
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        p.u32(magic);
        p.u16(2);
        p.u16(4);
        p.u32(0);
        p.u32(0);
        p.u32(65535);
        p.u32(p.linktype);
        p
    }
    fn u16(&mut self, v: u16) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
    fn u32(&mut self, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
    fn record(&mut self, sec: u32, frac: u32, data: &[u8]) {
        self.u32(sec);
        self.u32(frac);
        self.u32(data.len() as u32);
        self.u32(data.len() as u32 + 10);
        self.bytes.extend_from_slice(data);
    }
}

struct Ng {
    big: bool,
    bytes: Vec<u8>,
}

impl Ng {
    fn u16(&self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u32(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn block(&mut self, kind: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        let (k, l) = (self.u32(kind), self.u32(len));
        self.bytes.extend_from_slice(&k);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(&body);
        self.bytes.extend_from_slice(&l);
    }
    fn section(&mut self, big: bool) {
        self.big = big;
        let mut b = Vec::new();
        b.extend_from_slice(&self.u32(0x1a2b_3c4d));
        b.extend_from_slice(&self.u16(1));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &b);
    }
    fn interface(&mut self, linktype: u16, tsresol: Option<u8>) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u16(linktype));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&self.u32(0));
        if let Some(r) = tsresol {
            b.extend_from_slice(&self.u16(9)); // if_tsresol
            b.extend_from_slice(&self.u16(1));
            b.extend_from_slice(&[r, 0, 0, 0]);
            b.extend_from_slice(&self.u16(0)); // opt_endofopt
            b.extend_from_slice(&self.u16(0));
        }
        self.block(1, &b);
    }
    fn packet(&mut self, if_id: u32, ts: u64, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u32(if_id));
        b.extend_from_slice(&self.u32((ts >> 32) as u32));
        b.extend_from_slice(&self.u32(ts as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(data);
        self.block(6, &b);
    }
}

fn reader(bytes: Vec<u8>) -> Result<CaptureReader, CaptureError> {
    CaptureReader::from_reader(
        Box::new(std::io::Cursor::new(bytes)),
        Path::new("test.pcap"),
        0,
    )
}

fn read_all(r: &mut CaptureReader) -> (Vec<RawPacket>, Option<CaptureError>) {
    let mut out = Vec::new();
    let mut p = RawPacket::default();
    loop {
        match r.next_packet(&mut p) {
            Ok(true) => out.push(p.clone()),
            Ok(false) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

#[test]
fn legacy_pcap_in_both_byte_orders_and_resolutions() {
    for big in [false, true] {
        for nanos in [false, true] {
            let mut p = Pcap::new(big, nanos, 1);
            p.record(1_700_000_000, 123, &[1, 2, 3]);
            p.record(1_700_000_001, 999, &[4; 60]);
            let (pkts, err) = read_all(&mut reader(p.bytes).unwrap());
            assert!(err.is_none(), "{err:?}");
            assert_eq!(pkts.len(), 2);
            let unit = if nanos { 1 } else { 1000 };
            assert_eq!(pkts[0].ts_nanos, 1_700_000_000_000_000_000 + 123 * unit);
            assert_eq!(pkts[0].data, vec![1, 2, 3]);
            assert_eq!(pkts[0].orig_len, 13);
            assert_eq!(pkts[1].linktype, 1);
            assert_eq!(pkts[1].data.len(), 60);
        }
    }
}

#[test]
fn pcapng_sections_and_interfaces_keep_their_own_link_types_and_clocks() {
    let mut ng = Ng {
        big: false,
        bytes: Vec::new(),
    };
    ng.section(false);
    ng.interface(1, None); // Ethernet, microseconds (default)
    ng.interface(101, Some(9)); // raw IP, nanoseconds
    ng.packet(0, 1_700_000_000_000_001, &[0xaa; 20]);
    ng.packet(1, 1_700_000_000_000_000_002, &[0x45; 20]);
    ng.section(true); // second section, big-endian, interface list restarts
    ng.interface(276, Some(3)); // SLL2, milliseconds
    ng.packet(0, 1_700_000_000_005, &[0x11; 30]);
    let (pkts, err) = read_all(&mut reader(ng.bytes).unwrap());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(pkts.len(), 3);
    assert_eq!(
        (pkts[0].linktype, pkts[0].ts_nanos),
        (1, 1_700_000_000_000_001_000)
    );
    assert_eq!(
        (pkts[1].linktype, pkts[1].ts_nanos),
        (101, 1_700_000_000_000_000_002)
    );
    assert_eq!(
        (pkts[2].linktype, pkts[2].ts_nanos),
        (276, 1_700_000_000_005_000_000)
    );
}

#[test]
fn truncated_file_delivers_what_is_whole_then_names_the_offset() {
    let mut p = Pcap::new(false, false, 1);
    p.record(1, 0, &[1; 40]);
    let whole = p.bytes.len() as u64;
    p.record(2, 0, &[2; 40]);
    p.bytes.truncate(p.bytes.len() - 7);
    let (pkts, err) = read_all(&mut reader(p.bytes).unwrap());
    assert_eq!(pkts.len(), 1);
    let err = err.expect("truncation is reported");
    assert!(matches!(err.kind, CaptureErrorKind::Truncated), "{err}");
    assert_eq!(err.offset, Some(whole));
    assert!(err.to_string().starts_with("test.pcap: at byte"), "{err}");
}

#[test]
fn garbage_and_empty_inputs_are_refused_with_a_reason() {
    let e = reader(b"this is not a capture file, just text\n".repeat(4)).unwrap_err();
    assert!(matches!(e.kind, CaptureErrorKind::NotACapture), "{e}");
    let e = reader(Vec::new()).unwrap_err();
    assert!(matches!(e.kind, CaptureErrorKind::Empty), "{e}");
}

#[test]
fn absurd_record_length_is_an_error_not_an_allocation() {
    let mut p = Pcap::new(false, false, 1);
    p.record(1, 0, &[1; 10]);
    p.u32(2);
    p.u32(0);
    p.u32(0xffff_fff0); // caplen
    p.u32(0xffff_fff0);
    p.bytes.extend_from_slice(&[0; 100]);
    let (pkts, err) = read_all(&mut reader(p.bytes).unwrap());
    assert_eq!(pkts.len(), 1);
    assert!(err.is_some());
}

#[test]
fn records_larger_than_the_initial_buffer_are_read() {
    let mut ng = Ng {
        big: false,
        bytes: Vec::new(),
    };
    ng.section(false);
    ng.interface(1, None);
    ng.packet(0, 5, &vec![7u8; 3 << 20]);
    ng.packet(0, 6, &[8u8; 64]);
    let (pkts, err) = read_all(&mut reader(ng.bytes).unwrap());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(pkts.len(), 2);
    assert_eq!(pkts[0].data.len(), 3 << 20);
}

#[test]
fn packet_on_an_undeclared_interface_is_reported() {
    let mut ng = Ng {
        big: false,
        bytes: Vec::new(),
    };
    ng.section(false);
    ng.interface(1, None);
    ng.packet(3, 5, &[1; 20]);
    let (_, err) = read_all(&mut reader(ng.bytes).unwrap());
    assert!(matches!(
        err.map(|e| e.kind),
        Some(CaptureErrorKind::UnknownInterface(3))
    ));
}

#[test]
fn merged_reader_interleaves_files_by_timestamp() {
    let dir = std::env::temp_dir().join(format!("ward-capture-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = Pcap::new(false, false, 1);
    a.record(10, 0, b"a");
    a.record(30, 0, b"a");
    let mut b = Pcap::new(true, true, 101);
    b.record(20, 0, b"b");
    b.record(40, 0, b"b");
    let pa = dir.join("a.pcap");
    let pb = dir.join("b.pcap");
    std::fs::write(&pa, a.bytes).unwrap();
    std::fs::write(&pb, b.bytes).unwrap();
    let mut m = MergedReader::open(&[&pa, &pb]).unwrap();
    let mut p = RawPacket::default();
    let mut seen = Vec::new();
    while m.next_packet(&mut p) {
        seen.push((p.ts_nanos / 1_000_000_000, p.data[0], p.source));
    }
    assert_eq!(
        seen,
        vec![(10, b'a', 0), (20, b'b', 1), (30, b'a', 0), (40, b'b', 1)]
    );
    assert!(m.errors.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_error_names_the_file() {
    let e = CaptureReader::open(Path::new("/nonexistent/x.pcap"), 0).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.pcap: cannot open"),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2048), ng in any::<bool>()) {
        let mut bytes = if ng {
            let mut n = Ng { big: false, bytes: Vec::new() };
            n.section(false);
            n.interface(1, None);
            n.bytes
        } else {
            Pcap::new(false, false, 1).bytes
        };
        bytes.extend_from_slice(&tail);
        if let Ok(mut r) = reader(bytes) {
            let _ = read_all(&mut r);
        }
    }
}
