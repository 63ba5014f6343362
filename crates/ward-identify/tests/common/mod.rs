//! Frames and device sightings the identifier's tests share.

use ward_core::devices::DeviceTable;
use ward_core::{decode, Timestamp};

/// One mDNS-port UDP broadcast from `mac` at `ip`.
pub fn frame(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2(mac, [0xff; 6])
        .ipv4(ip, [255, 255, 255, 255], 64)
        .udp(5353, 5353);
    let mut out = Vec::new();
    b.write(&mut out, b"hello").unwrap();
    out
}

/// Let `mac` send one frame at `t` seconds; returns its device id.
pub fn see(table: &mut DeviceTable, mac: [u8; 6], ip: [u8; 4], t: i64) -> u32 {
    let data = frame(mac, ip);
    let pkt = decode(Timestamp::from_secs(t), 1, &data, data.len() as u32);
    table.observe(&pkt).0.expect("device created")
}
