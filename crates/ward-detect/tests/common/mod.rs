//! Frame builders shared by the integration tests that feed the engine
//! frames built in code (etherparse's `PacketBuilder`).

use etherparse::PacketBuilder;

pub type Mac = [u8; 6];
pub type V4 = [u8; 4];
/// One end of a conversation: MAC, IPv4 address, port.
pub type End = (Mac, V4, u16);

/// An Ethernet/IPv4/TCP frame; `flags` is any of `S`, `A` (ack 1), `F`,
/// `R`, `P`.
pub fn tcp(src: End, dst: End, seq: u32, flags: &str, payload: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv4(src.1, dst.1, 64)
        .tcp(src.2, dst.2, seq, 64240);
    for f in flags.chars() {
        b = match f {
            'S' => b.syn(),
            'A' => b.ack(1),
            'F' => b.fin(),
            'R' => b.rst(),
            'P' => b.psh(),
            _ => b,
        };
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp(src: End, dst: End, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv4(src.1, dst.1, 64)
        .udp(src.2, dst.2);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}
