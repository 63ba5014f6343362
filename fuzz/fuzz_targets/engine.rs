//! Several frames through the whole engine — decode, inventory, flow table
//! with a tiny cap (so eviction and reuse run constantly), application
//! parsers — and then `finish`. Catches panics anywhere past the decoder.
//!
//! Input: byte 0 picks the link type (as in the `decode` target), then
//! records of `[time step][len lo][len hi][len bytes of frame]`; the time
//! step advances packet time by `step * 50 ms`, so 255 (12.75 s) crosses
//! the closed-TCP timeout and a run of them the others. A last record
//! shorter than its length takes what is left.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_core::decode::linktype;
use ward_core::engine::EngineConfig;
use ward_core::event::Event;
use ward_core::{Engine, EventSink, Timestamp};

const LINKTYPES: [u32; 4] = [
    linktype::ETHERNET,
    linktype::RAW,
    linktype::LINUX_SLL2,
    linktype::NULL,
];

/// Counts events without keeping them, and checks each serialises.
struct CheckSink(usize);

impl EventSink for CheckSink {
    fn emit(&mut self, event: &Event) {
        let json = event.to_json();
        assert!(!json.contains('\n'), "an EVE record must be one line");
        self.0 += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let lt = LINKTYPES[usize::from(sel) % LINKTYPES.len()];
    let mut cfg = EngineConfig::default();
    cfg.flow.max_flows = 8;
    cfg.devices.max_devices = 8;
    cfg.devices.max_ips = 2;
    cfg.devices.max_evidence = 4;
    let mut engine = Engine::new(cfg, u64::from(sel), Vec::new());
    let mut sink = CheckSink(0);

    let mut ts = Timestamp::from_secs(1_700_000_000);
    while let [step, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        ts = ts.plus_micros(i64::from(*step) * 50_000);
        engine.process(ts, lt, frame, frame.len() as u32, &mut sink);
        assert!(engine.flows().len() <= 8, "flow cap exceeded");
        assert!(engine.devices().len() <= 8, "device cap exceeded");
        rest = next;
    }
    engine.finish(&mut sink);
    assert!(
        engine.flows().is_empty(),
        "finish must drain the flow table"
    );
    // At least the final stats event.
    assert!(sink.0 >= 1);
});
