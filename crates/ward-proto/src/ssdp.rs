//! SSDP (UPnP discovery, UDP 1900): `NOTIFY` announcements, `M-SEARCH`
//! requests and their unicast `HTTP/1.1 200 OK` answers, parsed with httparse.
//!
//! About the sender of each datagram ([`Direction::sender`]):
//! [`HintKind::SsdpServer`] (`SERVER`), [`HintKind::SsdpUsn`] (`USN`),
//! [`HintKind::SsdpNt`] (`NT` of a NOTIFY, `ST` of a search or its answer) and,
//! for `M-SEARCH`, the `USER-AGENT` as [`HintKind::HttpUserAgent`] (UPnP 1.1
//! control points send one in the same `OS/ver UPnP/1.1 product/ver` form as
//! `SERVER`). `ssdp:all` and `upnp:rootdevice` search targets say nothing about
//! the searcher and are skipped. Values are de-duplicated per flow in a bounded
//! list of hashes; unparseable datagrams are [`AppEvent::Malformed`], and after
//! [`MALFORMED_STREAK_MAX`] in a row the parser gives up.

use std::mem::MaybeUninit;

use crate::dns::hint_hash;
use crate::http::header_value;
use crate::{printable, AppEvent, AppParser, AppProto, Direction, Hint, HintKind};

pub const MALFORMED_STREAK_MAX: u32 = 8;
const PROTO: &str = "ssdp";
const HEADERS_MAX: usize = 48;
const SEEN_MAX: usize = 64;
const VALUE_MAX: usize = 256;

/// SSDP parser for one UDP flow.
///
/// A device announces itself on one flow every few minutes for as long as
/// it runs, so the de-duplication list keeps 64-bit hashes of the hints
/// (as `dns.rs` does), not the hints and their strings.
#[derive(Debug, Default)]
pub struct SsdpParser {
    /// Hashes of the hints reported, oldest first.
    seen: Vec<u64>,
    malformed_streak: u32,
}

impl SsdpParser {
    pub fn new() -> Self {
        Self::default()
    }
}

/// True when a datagram starts like an SSDP message (for detection off port 1900).
pub fn looks_like_ssdp(first: &[u8]) -> bool {
    (first.starts_with(b"NOTIFY * HTTP/1.") || first.starts_with(b"M-SEARCH * HTTP/1."))
        || (first.starts_with(b"HTTP/1.1 200")
            && first
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"\nST:") || w.eq_ignore_ascii_case(b"\nUSN")))
}

/// Hints (kind, value) from one SSDP datagram, or None when it does not parse.
pub fn datagram_hints(data: &[u8]) -> Option<Vec<(HintKind, String)>> {
    let mut headers = [MaybeUninit::uninit(); HEADERS_MAX];
    let mut out = Vec::new();
    let get = |hs: &[httparse::Header<'_>], n: &str| {
        header_value(hs, n)
            .map(|v| printable(v, VALUE_MAX))
            .filter(|v| !v.trim().is_empty())
    };
    if data.starts_with(b"HTTP/") {
        let mut resp = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut resp,
            data,
            &mut headers,
        );
        match parsed {
            Ok(httparse::Status::Complete(_)) => {}
            _ => return None,
        }
        let hs = &*resp.headers;
        if let Some(v) = get(hs, "server") {
            out.push((HintKind::SsdpServer, v));
        }
        if let Some(v) = get(hs, "usn") {
            out.push((HintKind::SsdpUsn, v));
        }
        if let Some(v) = get(hs, "st") {
            out.push((HintKind::SsdpNt, v));
        }
    } else {
        let mut req = httparse::Request::new(&mut []);
        match req.parse_with_uninit_headers(data, &mut headers) {
            Ok(httparse::Status::Complete(_)) => {}
            _ => return None,
        }
        let method = req.method.unwrap_or_default();
        let hs = &*req.headers;
        if method.eq_ignore_ascii_case("M-SEARCH") {
            if let Some(v) = get(hs, "user-agent") {
                out.push((HintKind::HttpUserAgent, v));
            }
            if let Some(v) = get(hs, "st") {
                let generic =
                    v.eq_ignore_ascii_case("ssdp:all") || v.eq_ignore_ascii_case("upnp:rootdevice");
                if !generic {
                    out.push((HintKind::SsdpNt, v));
                }
            }
        } else {
            if let Some(v) = get(hs, "server") {
                out.push((HintKind::SsdpServer, v));
            }
            if let Some(v) = get(hs, "usn") {
                out.push((HintKind::SsdpUsn, v));
            }
            if let Some(v) = get(hs, "nt") {
                out.push((HintKind::SsdpNt, v));
            }
        }
    }
    Some(out)
}

impl AppParser for SsdpParser {
    fn protocol(&self) -> AppProto {
        AppProto::Ssdp
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let Some(hints) = datagram_hints(data) else {
            out.push(AppEvent::Malformed {
                protocol: PROTO,
                what: "bad-message",
            });
            self.malformed_streak += 1;
            return self.malformed_streak < MALFORMED_STREAK_MAX;
        };
        self.malformed_streak = 0;
        let about = dir.sender();
        for (kind, value) in hints {
            let key = hint_hash(about, kind, &value).get();
            if self.seen.contains(&key) {
                continue;
            }
            if self.seen.len() >= SEEN_MAX {
                self.seen.remove(0);
            }
            if self.seen.len() == self.seen.capacity() {
                // Most flows announce three values: grow from one slot, not four.
                self.seen.reserve_exact(self.seen.len().max(1));
            }
            self.seen.push(key);
            out.push(AppEvent::Hint(Hint { about, kind, value }));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_and_search() {
        let notify = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n\
LOCATION: http://192.168.1.20:49152/desc.xml\r\nNT: urn:schemas-upnp-org:device:MediaRenderer:1\r\nNTS: ssdp:alive\r\n\
SERVER: Linux/3.14 UPnP/1.0 Sonos/70.3-35220\r\nUSN: uuid:RINCON_000E58::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n";
        let mut p = SsdpParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, notify, &mut ev));
        assert!(p.feed(Direction::ToServer, notify, &mut ev));
        let got: Vec<String> = ev
            .iter()
            .map(|e| match e {
                AppEvent::Hint(h) => format!("{}={}", h.kind.as_str(), h.value),
                o => panic!("{o:?}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                "ssdp.server=Linux/3.14 UPnP/1.0 Sonos/70.3-35220",
                "ssdp.usn=uuid:RINCON_000E58::urn:schemas-upnp-org:device:MediaRenderer:1",
                "ssdp.nt=urn:schemas-upnp-org:device:MediaRenderer:1",
            ]
        );
        let search = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\n\
ST: ssdp:all\r\nUSER-AGENT: Android/13 UPnP/1.1 Hue/4.0\r\n\r\n";
        let mut ev = Vec::new();
        assert!(SsdpParser::new().feed(Direction::ToServer, search, &mut ev));
        assert_eq!(ev.len(), 1);
        assert!(matches!(&ev[0], AppEvent::Hint(h) if h.kind == HintKind::HttpUserAgent));
        assert!(looks_like_ssdp(search));
        assert!(looks_like_ssdp(
            b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n"
        ));
    }

    #[test]
    fn garbage() {
        let mut ev = Vec::new();
        SsdpParser::new().feed(Direction::ToServer, b"\x00garbage", &mut ev);
        assert!(matches!(
            ev[0],
            AppEvent::Malformed {
                protocol: "ssdp",
                ..
            }
        ));
    }
}
