//! One frame under any link type: `decode` must never panic, and every
//! slice it returns must lie inside the frame it was given. A router
//! advertisement's prefix options are parsed and learned too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_core::decode::{decode_with_outer, linktype, ndp, Net, Transport};
use ward_core::scope::{self, LocalScope};
use ward_core::Timestamp;

const LINKTYPES: [u32; 10] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW_OLD,
    linktype::RAW_OLD2,
    linktype::RAW,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
];

fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    // Low nibble: a supported link type, or (6 values in 16) an arbitrary one.
    let lt = match LINKTYPES.get(usize::from(sel & 0x0f)) {
        Some(&lt) => lt,
        None => u32::from(sel),
    };
    // High bit: the frame was cut by a snap length (wire length > captured).
    let wire_len = frame.len() as u32 + if sel & 0x80 != 0 { 1500 } else { 0 };
    let mut outer = None;
    let pkt = decode_with_outer(
        Timestamp(1_700_000_000_000_000_000),
        lt,
        frame,
        wire_len,
        &mut outer,
    );

    assert!(inside(pkt.payload, frame), "payload outside the frame");
    match pkt.net {
        Net::Lldp(b) | Net::Cdp(b) => assert!(inside(b, frame)),
        Net::Ip(ip) => {
            let _ = ip.is_v6();
            assert_eq!(ip.src.is_ipv6(), ip.dst.is_ipv6());
        }
        _ => {}
    }
    if let Transport::Tcp(tcp) = pkt.transport {
        assert!(inside(tcp.options, frame), "TCP options outside the frame");
        assert!(tcp.options.len() <= 40);
    }
    let _ = pkt.transport.ports();
    assert!(usize::from(pkt.encapsulation) <= ward_core::decode::MAX_ENCAPSULATION);
    // The outermost IP header is kept exactly when a tunnel was opened.
    assert_eq!(outer.is_some(), pkt.encapsulation > 0);
    // A router advertisement's options (ward-core's scope learns from them):
    // parsed whatever the bytes, learned only within the limits.
    if let Transport::Icmp(icmp) = pkt.transport {
        if icmp.v6 && icmp.kind == ndp::ROUTER_ADVERTISEMENT {
            if let Ok(prefixes) = ndp::RaPrefixes::parse(pkt.payload) {
                assert!(prefixes.count() <= pkt.payload.len() / 32);
            }
            let mut scope = LocalScope::default();
            let learned = scope.learn_router_advertisement(&pkt, outer.as_ref());
            assert!(learned <= scope::MAX_LEARNED);
            for (net, _) in scope.learned() {
                let len = net.prefix_len();
                assert!((scope::RA_MIN_PREFIX..=scope::RA_MAX_PREFIX).contains(&len));
                assert!(scope.is_local(net.network()));
            }
        }
    }
});
