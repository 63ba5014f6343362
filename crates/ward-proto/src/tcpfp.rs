//! p0f-style (v3) TCP SYN signatures.
//!
//! The engine calls [`syn_signature`] on SYN (and SYN+ACK) packets with the
//! header fields it already decoded and the *raw TCP options bytes*, and
//! emits the result as [`HintKind::TcpSyn`](crate::HintKind::TcpSyn) about
//! the sender. The string follows p0f 3's `raw_sig` layout:
//!
//! `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`
//!
//! - `ver` 4 or 6; `ittl` as `observed+distance` to the next initial TTL among
//!   32, 64, 128, 255 (`57+7`); `olen` IPv4 options length;
//! - `mss` from the option or `*`; `wsize` as `mss*N` when the window is a
//!   multiple of the MSS, else the raw value (p0f's `mtu*N` form is not
//!   produced); `scale` the window-scale shift or 0;
//! - `olayout` the options in order: `eol+N` (N padding bytes after it),
//!   `nop`, `mss`, `ws`, `sok`, `sack`, `ts`, `?K` for unknown kind K;
//! - `quirks` in p0f order: `df`, `id+`, `id-`, `ecn`, `0+`, `flow`, `seq-`,
//!   `ack+`, `ack-`, `uptr+`, `urgf+`, `pushf+`, `ts1-`, `ts2+`, `opt+`,
//!   `exws`, `bad`;
//! - `pclass` `0` without payload, `+` with.
//!
//! The function is total: malformed options set the `bad` quirk and end the
//! layout; it never panics and never allocates more than the options allow.

use std::fmt::Write as _;

/// TCP flag bits (RFC 9293 §3.1).
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// What the signature needs from one SYN or SYN+ACK packet.
#[derive(Clone, Debug, Default)]
pub struct SynPacket<'a> {
    /// 4 or 6.
    pub ip_version: u8,
    /// IPv4 TTL or IPv6 hop limit as observed.
    pub ttl: u8,
    /// IPv4 options length in bytes (0 for IPv6).
    pub ip_opts_len: usize,
    /// IPv4 Don't Fragment bit.
    pub df: bool,
    /// IPv4 identification (ignored for IPv6).
    pub ip_id: u16,
    /// IPv4 reserved ("evil") flag bit.
    pub ip_reserved_bit: bool,
    /// The two ECN bits of the IPv4 TOS / IPv6 traffic class.
    pub ip_ecn: u8,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    pub seq: u32,
    pub ack: u32,
    /// TCP flags byte ([`flags`]).
    pub tcp_flags: u8,
    pub window: u16,
    pub urgent_ptr: u16,
    /// Raw TCP options (the bytes between the fixed header and the payload).
    pub options: &'a [u8],
    pub payload_len: usize,
}

/// TCP options decoded for fingerprinting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// p0f layout tokens in order.
    pub layout: Vec<String>,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    /// (own timestamp, echoed timestamp).
    pub timestamps: Option<(u32, u32)>,
    /// Non-zero bytes after an EOL.
    pub data_after_eol: bool,
    /// An option ran past the end or had a wrong length.
    pub malformed: bool,
}

/// Decode raw TCP options (RFC 9293 §3.2, RFC 7323).
pub fn parse_options(opts: &[u8]) -> TcpOptions {
    let mut o = TcpOptions::default();
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        match kind {
            0 => {
                let rest = &opts[i + 1..];
                o.layout.push(format!("eol+{}", rest.len()));
                o.data_after_eol = rest.iter().any(|b| *b != 0);
                return o;
            }
            1 => {
                o.layout.push("nop".into());
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(i + 1) else {
            o.malformed = true;
            return o;
        };
        let len = len as usize;
        let Some(body) = (len >= 2).then(|| opts.get(i + 2..i + len)).flatten() else {
            o.malformed = true;
            return o;
        };
        let token = match (kind, body.len()) {
            (2, 2) => {
                o.mss = Some(u16::from_be_bytes([body[0], body[1]]));
                "mss".to_string()
            }
            (3, 1) => {
                o.window_scale = Some(body[0]);
                "ws".to_string()
            }
            (4, 0) => "sok".to_string(),
            (5, n) if n % 8 == 0 && n > 0 => "sack".to_string(),
            (8, 8) => {
                o.timestamps = Some((
                    u32::from_be_bytes([body[0], body[1], body[2], body[3]]),
                    u32::from_be_bytes([body[4], body[5], body[6], body[7]]),
                ));
                "ts".to_string()
            }
            (2 | 3 | 4 | 5 | 8, _) => {
                o.malformed = true;
                return o;
            }
            (k, _) => format!("?{k}"),
        };
        o.layout.push(token);
        i += len;
    }
    o
}

/// Guess the initial TTL the sender used: the next of 32, 64, 128, 255.
pub fn initial_ttl(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

/// The p0f-style signature of one SYN or SYN+ACK.
pub fn syn_signature(p: &SynPacket<'_>) -> String {
    let o = parse_options(p.options);
    let ittl = initial_ttl(p.ttl);
    let mut s = String::with_capacity(96);
    let _ = write!(
        s,
        "{}:{}+{}:{}:",
        p.ip_version,
        p.ttl,
        ittl - p.ttl,
        p.ip_opts_len
    );
    match o.mss {
        Some(m) => {
            let _ = write!(s, "{m}:");
        }
        None => s.push_str("*:"),
    }
    match o.mss {
        Some(m) if m > 0 && p.window > 0 && p.window.is_multiple_of(m) => {
            let _ = write!(s, "mss*{}", p.window / m);
        }
        _ => {
            let _ = write!(s, "{}", p.window);
        }
    }
    let _ = write!(
        s,
        ",{}:{}:",
        o.window_scale.unwrap_or(0),
        o.layout.join(",")
    );

    let f = p.tcp_flags;
    let mut q: Vec<&str> = Vec::new();
    if p.ip_version == 4 {
        if p.df {
            q.push("df");
            if p.ip_id != 0 {
                q.push("id+");
            }
        } else if p.ip_id == 0 {
            q.push("id-");
        }
    }
    if p.ip_ecn != 0 || f & (flags::ECE | flags::CWR) != 0 {
        q.push("ecn");
    }
    if p.ip_version == 4 && p.ip_reserved_bit {
        q.push("0+");
    }
    if p.ip_version == 6 && p.flow_label != 0 {
        q.push("flow");
    }
    if p.seq == 0 {
        q.push("seq-");
    }
    if f & flags::ACK == 0 && p.ack != 0 {
        q.push("ack+");
    }
    if f & flags::ACK != 0 && p.ack == 0 {
        q.push("ack-");
    }
    if f & flags::URG == 0 && p.urgent_ptr != 0 {
        q.push("uptr+");
    }
    if f & flags::URG != 0 {
        q.push("urgf+");
    }
    if f & flags::PSH != 0 {
        q.push("pushf+");
    }
    if let Some((own, peer)) = o.timestamps {
        if own == 0 {
            q.push("ts1-");
        }
        // Only a SYN (not a SYN+ACK) must leave the echoed timestamp zero.
        if peer != 0 && f & flags::ACK == 0 {
            q.push("ts2+");
        }
    }
    if o.data_after_eol {
        q.push("opt+");
    }
    if o.window_scale.is_some_and(|w| w > 14) {
        q.push("exws");
    }
    if o.malformed {
        q.push("bad");
    }
    let _ = write!(
        s,
        "{}:{}",
        q.join(","),
        if p.payload_len == 0 { "0" } else { "+" }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options of a Linux SYN, built from RFC 9293/7323 layouts:
    /// MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
    fn linux_options() -> Vec<u8> {
        let mut o = vec![2, 4, 0x05, 0xb4, 4, 2, 8, 10];
        o.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        o.extend_from_slice(&0u32.to_be_bytes());
        o.extend_from_slice(&[1, 3, 3, 7]);
        o
    }

    #[test]
    fn linux_like_syn() {
        let opts = linux_options();
        let p = SynPacket {
            ip_version: 4,
            ttl: 57,
            df: true,
            ip_id: 0x4d2,
            seq: 1,
            tcp_flags: flags::SYN,
            window: 64240,
            options: &opts,
            ..Default::default()
        };
        assert_eq!(
            syn_signature(&p),
            "4:57+7:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0"
        );
    }

    #[test]
    fn quirks_and_bad_options() {
        let p = SynPacket {
            ip_version: 4,
            ttl: 128,
            tcp_flags: flags::SYN | flags::PSH,
            ack: 5,
            window: 8192,
            options: &[2, 4, 5, 0xb4, 0, 0, 1],
            payload_len: 3,
            ..Default::default()
        };
        assert_eq!(
            syn_signature(&p),
            "4:128+0:0:1460:8192,0:mss,eol+2:id-,seq-,ack+,pushf+,opt+:+"
        );
        let bad = parse_options(&[3, 9, 1]);
        assert!(bad.malformed);
        let p = SynPacket {
            ip_version: 6,
            ttl: 64,
            flow_label: 9,
            seq: 1,
            tcp_flags: flags::SYN,
            window: 1,
            options: &[2, 4],
            ..Default::default()
        };
        assert_eq!(syn_signature(&p), "6:64+0:0:*:1,0::flow,bad:0");
    }
}
