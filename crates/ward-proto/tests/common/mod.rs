//! Test-only helpers: pull transport payloads out of the real captures in
//! `$WARD_DATASETS`, and feed them through `ward_proto::detect` the way the
//! engine does (one parser per 5-tuple, directions from the first packet).
//! This is deliberately simpler than the engine (no reassembly, no eviction):
//! it exists so parser tests can run over real traffic without a dependency
//! cycle on ward-core.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::{create_reader, Linktype, PcapBlockOwned, PcapError};
use ward_proto::{AppEvent, AppParser, Direction, Transport};

/// `$WARD_DATASETS/<rel>`, or `None` (and a note on stderr) when unset.
pub fn dataset(rel: &str) -> Option<PathBuf> {
    match std::env::var_os("WARD_DATASETS") {
        Some(root) => {
            let p = PathBuf::from(root).join(rel);
            assert!(p.exists(), "dataset file missing: {}", p.display());
            Some(p)
        }
        None => {
            eprintln!("skipping: WARD_DATASETS is not set");
            None
        }
    }
}

#[derive(Debug, Clone)]
pub struct Payload {
    pub transport: Transport,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub src_mac: Option<[u8; 6]>,
    pub data: Vec<u8>,
}

/// Every TCP/UDP packet with a non-empty payload, in file order.
pub fn payloads(path: &PathBuf) -> Vec<Payload> {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = create_reader(1 << 20, file).unwrap();
    let mut out = Vec::new();
    let mut linktypes: Vec<Linktype> = Vec::new();
    loop {
        match reader.next() {
            Ok((off, block)) => {
                let frame: Option<(Linktype, Vec<u8>)> = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        linktypes = vec![h.network];
                        None
                    }
                    PcapBlockOwned::Legacy(b) => Some((linktypes[0], b.data.to_vec())),
                    PcapBlockOwned::NG(pcap_parser::Block::InterfaceDescription(idb)) => {
                        linktypes.push(idb.linktype);
                        None
                    }
                    PcapBlockOwned::NG(pcap_parser::Block::SectionHeader(_)) => {
                        linktypes.clear();
                        None
                    }
                    PcapBlockOwned::NG(pcap_parser::Block::EnhancedPacket(epb)) => Some((
                        linktypes[epb.if_id as usize],
                        epb.data[..epb.caplen as usize].to_vec(),
                    )),
                    _ => None,
                };
                reader.consume(off);
                if let Some((lt, data)) = frame {
                    if let Some(p) = slice(lt, &data) {
                        out.push(p);
                    }
                }
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().unwrap(),
            Err(e) => panic!("{}: {e:?}", path.display()),
        }
    }
    out
}

fn slice(lt: Linktype, data: &[u8]) -> Option<Payload> {
    let sliced = match lt {
        Linktype::ETHERNET => SlicedPacket::from_ethernet(data).ok()?,
        Linktype::RAW | Linktype(228) | Linktype(229) => SlicedPacket::from_ip(data).ok()?,
        Linktype::NULL => SlicedPacket::from_ip(data.get(4..)?).ok()?,
        Linktype::LINUX_SLL => SlicedPacket::from_linux_sll(data).ok()?,
        _ => return None,
    };
    let src_mac = match &sliced.link {
        Some(etherparse::LinkSlice::Ethernet2(e)) => Some(e.source()),
        _ => None,
    };
    let (src, dst): (IpAddr, IpAddr) = match &sliced.net {
        Some(NetSlice::Ipv4(v4)) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(v6)) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
        ),
        _ => return None,
    };
    let (transport, sport, dport, data) = match &sliced.transport {
        Some(TransportSlice::Tcp(t)) => (
            Transport::Tcp,
            t.source_port(),
            t.destination_port(),
            t.payload().to_vec(),
        ),
        Some(TransportSlice::Udp(u)) => (
            Transport::Udp,
            u.source_port(),
            u.destination_port(),
            u.payload().to_vec(),
        ),
        _ => return None,
    };
    if data.is_empty() {
        return None;
    }
    Some(Payload {
        transport,
        src,
        dst,
        sport,
        dport,
        src_mac,
        data,
    })
}

/// A flow's key: client address and port, then server address and port.
pub type FlowKey = (IpAddr, u16, IpAddr, u16);

/// The flow a payload belongs to, its direction in it, and whether the flow
/// is new (not in `flows` either way). A new flow is oriented by the
/// heuristic the engine uses: the lower port, if below 1024, is the server's.
pub fn flow_of<V>(flows: &HashMap<FlowKey, V>, p: &Payload) -> (FlowKey, Direction, bool) {
    let fwd = (p.src, p.sport, p.dst, p.dport);
    let rev = (p.dst, p.dport, p.src, p.sport);
    if flows.contains_key(&fwd) {
        (fwd, Direction::ToServer, false)
    } else if flows.contains_key(&rev) {
        (rev, Direction::ToClient, false)
    } else if p.sport < p.dport && p.sport < 1024 {
        (rev, Direction::ToClient, true)
    } else {
        (fwd, Direction::ToServer, true)
    }
}

/// Run every payload of a capture through the registry, one parser per
/// 5-tuple, and collect all events (with `finish` called at the end).
pub fn run_capture(path: &PathBuf) -> Vec<AppEvent> {
    let mut flows: HashMap<FlowKey, Option<Box<dyn AppParser>>> = HashMap::new();
    let mut order: Vec<FlowKey> = Vec::new();
    let mut events = Vec::new();
    for p in payloads(path) {
        let (key, dir, new) = flow_of(&flows, &p);
        if new {
            let parser = ward_proto::detect(p.transport, key.1, key.3, &p.data, dir);
            flows.insert(key, parser);
            order.push(key);
        }
        if let Some(Some(parser)) = flows.get_mut(&key) {
            if !parser.feed(dir, &p.data, &mut events) {
                flows.insert(key, None);
            }
        }
    }
    for key in order {
        if let Some(Some(mut parser)) = flows.remove(&key) {
            parser.finish(&mut events);
        }
    }
    events
}
