//! Run the pipeline with the default identifier over captures and print
//! each device's identity and evidence.
//!
//! `cargo run --release -p ward-identify --example identify_capture -- FILE.pcap...`

use ward_capture::{MergedReader, RawPacket};
use ward_core::{Engine, EngineConfig, Event, EventSink, Timestamp};
use ward_identify::{DeviceIdentifier, IdentifyConfig, Inventory};

struct Print;
impl EventSink for Print {
    fn emit(&mut self, e: &Event) {
        if e.alert.is_some() {
            println!("{}", e.to_json());
        }
    }
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let mut reader = match MergedReader::open(&paths) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let ident =
        match DeviceIdentifier::with_default_model(IdentifyConfig::default(), Inventory::default())
        {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
    let cfg = EngineConfig {
        emit_flows: Some(false),
        ..Default::default()
    };
    let detectors = vec![ident.port_observer()];
    let mut engine = Engine::new(cfg, 0, detectors).with_identifier(Box::new(ident));
    let mut pkt = RawPacket::default();
    while reader.next_packet(&mut pkt) {
        engine.process(
            Timestamp::from_nanos(pkt.ts_nanos),
            pkt.linktype,
            &pkt.data,
            pkt.orig_len,
            &mut Print,
        );
    }
    engine.finish(&mut Print);
    for (_, d) in engine.devices().iter() {
        println!(
            "{} vendor={:?} category={:?} model={:?} conf={:?}",
            d.label(),
            d.vendor,
            d.category,
            d.model,
            d.confidence
        );
        for e in &d.identity_evidence {
            println!("   * {}: {}", e.source, e.value);
        }
        for (k, v) in &d.evidence {
            println!("     {}: {}", k.as_str(), v);
        }
        if !d.services.is_empty() {
            println!("     services: {:?}", d.services);
        }
    }
    if let Some(i) = DeviceIdentifier::of_engine(&engine) {
        print!("{}", i.inventory().table());
    }
}
