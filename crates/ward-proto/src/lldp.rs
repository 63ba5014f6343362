//! LLDP (IEEE 802.1AB) and CDP (Cisco Discovery Protocol) frames.
//!
//! These are layer-2 protocols without flows, so there is no [`AppParser`]
//! here: the engine calls [`parse_lldp`] with the payload after the
//! EtherType 0x88cc, and [`parse_cdp`] with the payload after the
//! LLC/SNAP header (`aa aa 03 00 00 0c 20 00`), i.e. starting at the CDP
//! version byte. Hints are about [`About::Initiator`]: the engine attributes
//! them to the frame's source MAC.
//!
//! Reported as [`HintKind::Lldp`] `key=value` with keys shared between the two
//! protocols where they mean the same thing (`system_name`,
//! `system_description`, `platform`, `port_id`, `port_description`,
//! `capabilities`, `chassis_id`, LLDP-MED `med_*`), plus the system name /
//! device id as [`HintKind::Hostname`]. A truncated TLV ends parsing with one
//! [`AppEvent::Malformed`] after the hints found so far; at most
//! [`TLVS_MAX`] TLVs are read.
//!
//! [`AppParser`]: crate::AppParser

use crate::{printable, About, AppEvent, Hint, HintKind};

/// TLVs read from one frame.
pub const TLVS_MAX: usize = 64;
const VALUE_MAX: usize = 255;

fn hint(kind: HintKind, value: String) -> AppEvent {
    AppEvent::Hint(Hint {
        about: About::Initiator,
        kind,
        value,
    })
}

fn kv(out: &mut Vec<AppEvent>, key: &str, value: &[u8]) {
    let v = printable(value, VALUE_MAX);
    let v = v.trim();
    if !v.is_empty() {
        out.push(hint(HintKind::Lldp, format!("{key}={v}")));
    }
}

fn mac_or_text(subtype: u8, id: &[u8]) -> String {
    // Chassis subtype 4 / port subtype 3 are MAC addresses.
    if id.len() == 6 && (subtype == 4 || subtype == 3) {
        id.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    } else {
        printable(id, VALUE_MAX)
    }
}

/// LLDP system capability bits (802.1AB §8.5.8).
fn capability_names(bits: u16) -> String {
    const NAMES: [&str; 11] = [
        "other",
        "repeater",
        "bridge",
        "wlan-ap",
        "router",
        "telephone",
        "docsis",
        "station",
        "c-vlan",
        "s-vlan",
        "tpmr",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// Hints from one LLDPDU.
pub fn parse_lldp(payload: &[u8]) -> Vec<AppEvent> {
    let mut out = Vec::new();
    let mut b = payload;
    for _ in 0..TLVS_MAX {
        if b.len() < 2 {
            break;
        }
        let head = u16::from_be_bytes([b[0], b[1]]);
        let (t, len) = ((head >> 9) as u8, (head & 0x1ff) as usize);
        let Some(v) = b.get(2..2 + len) else {
            out.push(AppEvent::Malformed {
                protocol: "lldp",
                what: "truncated-tlv",
            });
            break;
        };
        b = &b[2 + len..];
        match t {
            0 => break,
            1 if len >= 2 => out.push(hint(
                HintKind::Lldp,
                format!("chassis_id={}", mac_or_text(v[0], &v[1..])),
            )),
            2 if len >= 2 => out.push(hint(
                HintKind::Lldp,
                format!("port_id={}", mac_or_text(v[0], &v[1..])),
            )),
            4 => kv(&mut out, "port_description", v),
            5 => {
                kv(&mut out, "system_name", v);
                let name = printable(v, VALUE_MAX);
                if !name.trim().is_empty() {
                    out.push(hint(HintKind::Hostname, name.trim().to_string()));
                }
            }
            6 => kv(&mut out, "system_description", v),
            7 if len >= 4 => {
                let enabled = u16::from_be_bytes([v[2], v[3]]);
                let caps = capability_names(enabled);
                if !caps.is_empty() {
                    out.push(hint(HintKind::Lldp, format!("capabilities={caps}")));
                }
            }
            // TIA LLDP-MED inventory TLVs (ANSI/TIA-1057 §10.2.6).
            127 if len >= 4 && v[..3] == [0x00, 0x12, 0xbb] => {
                let key = match v[3] {
                    5 => "med_hardware",
                    6 => "med_firmware",
                    7 => "med_software",
                    8 => "med_serial",
                    9 => "med_manufacturer",
                    10 => "med_model",
                    _ => continue,
                };
                kv(&mut out, key, &v[4..]);
            }
            _ => {}
        }
    }
    out
}

/// Hints from one CDP packet (starting at the version byte).
pub fn parse_cdp(payload: &[u8]) -> Vec<AppEvent> {
    let mut out = Vec::new();
    // version, ttl, checksum
    let Some(mut b) = payload.get(4..) else {
        out.push(AppEvent::Malformed {
            protocol: "cdp",
            what: "too-short",
        });
        return out;
    };
    for _ in 0..TLVS_MAX {
        if b.len() < 4 {
            break;
        }
        let t = u16::from_be_bytes([b[0], b[1]]);
        let len = u16::from_be_bytes([b[2], b[3]]) as usize;
        let Some(v) = (len >= 4).then(|| b.get(4..len)).flatten() else {
            out.push(AppEvent::Malformed {
                protocol: "cdp",
                what: "truncated-tlv",
            });
            break;
        };
        b = &b[len..];
        match t {
            0x0001 => {
                kv(&mut out, "system_name", v);
                let name = printable(v, VALUE_MAX);
                if !name.trim().is_empty() {
                    out.push(hint(HintKind::Hostname, name.trim().to_string()));
                }
            }
            0x0003 => kv(&mut out, "port_id", v),
            0x0004 if v.len() >= 4 => {
                let bits = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                const NAMES: [&str; 7] = [
                    "router",
                    "trans-bridge",
                    "source-route-bridge",
                    "switch",
                    "host",
                    "igmp",
                    "repeater",
                ];
                let caps: Vec<&str> = NAMES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, n)| *n)
                    .collect();
                if !caps.is_empty() {
                    out.push(hint(
                        HintKind::Lldp,
                        format!("capabilities={}", caps.join(",")),
                    ));
                }
            }
            0x0005 => kv(&mut out, "system_description", v),
            0x0006 => kv(&mut out, "platform", v),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(t: u8, v: &[u8]) -> Vec<u8> {
        let head = (u16::from(t) << 9) | v.len() as u16;
        let mut o = head.to_be_bytes().to_vec();
        o.extend_from_slice(v);
        o
    }

    #[test]
    fn lldp_tlvs() {
        let mut f = tlv(1, &[4, 0, 0x11, 0x22, 0x33, 0x44, 0x55]);
        f.extend(tlv(2, b"\x05eth0"));
        f.extend(tlv(3, &[0, 120]));
        f.extend(tlv(5, b"switch-01"));
        f.extend(tlv(6, b"Linux 6.1 ProCurve"));
        f.extend(tlv(7, &[0, 0x14, 0, 0x04]));
        f.extend(tlv(127, b"\x00\x12\xbb\x0aIP Phone 7"));
        f.extend(tlv(0, &[]));
        let ev = parse_lldp(&f);
        let vals: Vec<String> = ev
            .iter()
            .map(|e| match e {
                AppEvent::Hint(h) => format!("{}:{}", h.kind.as_str(), h.value),
                o => panic!("{o:?}"),
            })
            .collect();
        assert_eq!(
            vals,
            vec![
                "lldp:chassis_id=00:11:22:33:44:55",
                "lldp:port_id=eth0",
                "lldp:system_name=switch-01",
                "hostname:switch-01",
                "lldp:system_description=Linux 6.1 ProCurve",
                "lldp:capabilities=bridge",
                "lldp:med_model=IP Phone 7",
            ]
        );
    }

    #[test]
    fn truncated() {
        let mut f = tlv(5, b"abc");
        f.extend_from_slice(&[0x0a, 0x20, b'x']);
        let ev = parse_lldp(&f);
        assert!(matches!(
            ev.last(),
            Some(AppEvent::Malformed {
                what: "truncated-tlv",
                ..
            })
        ));
        assert!(matches!(
            parse_cdp(&[2, 180])[..],
            [AppEvent::Malformed { .. }]
        ));
        assert!(matches!(
            parse_cdp(&[2, 180, 0, 0, 0, 1, 0, 2])[..],
            [AppEvent::Malformed {
                what: "truncated-tlv",
                ..
            }]
        ));
    }
}
