//! IPv6 Neighbor Discovery: the Prefix Information options of a Router
//! Advertisement (RFC 4861 §4.2, §4.6.2), read from the ICMPv6 body the
//! decoder hands out ([`Packet::payload`](super::Packet::payload) of an
//! ICMPv6 type-134 packet: what follows the first 8 bytes).
//!
//! [`RaPrefixes::parse`] checks the whole option area once, the way a node
//! validates an advertisement before using any of it (§6.1.2): a body
//! shorter than the reachable-time and retrans-timer fields, an option of
//! length 0 or an option running past the end makes the advertisement
//! malformed, and none of its prefixes is read. After that check the
//! iterator's reads cannot fail. A Prefix Information option whose length
//! is not 4 (32 bytes) is skipped, like any option of another type; every
//! other field is handed out as it was sent (lifetimes, flags, the prefix
//! with whatever bits follow its length), for the caller to judge.

use std::net::Ipv6Addr;

/// ICMPv6 type of a Router Advertisement.
pub const ROUTER_ADVERTISEMENT: u8 = 134;
/// Option type of Prefix Information.
const PREFIX_INFORMATION: u8 = 3;
/// Prefix Information's length, in units of 8 bytes.
const PREFIX_INFORMATION_UNITS: u8 = 4;
/// Reachable time and retrans timer, before the options.
const FIXED: usize = 8;

/// One Prefix Information option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaPrefix {
    pub prefix: Ipv6Addr,
    /// Prefix length in bits, as sent (may exceed 128 on the wire).
    pub len: u8,
    /// L: the prefix is on-link (addresses in it are reached directly).
    pub on_link: bool,
    /// A: hosts may form addresses in it by SLAAC.
    pub autonomous: bool,
    /// Seconds the prefix stays valid (0: withdrawn; all ones: forever).
    pub valid_lifetime: u32,
}

/// Why a Router Advertisement's option area was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaError {
    /// The body ends before the options start.
    Truncated,
    /// An option of length 0 (§4.6: silently discarded).
    ZeroLengthOption,
    /// An option runs past the end of the packet.
    OptionOverrun,
}

/// The Prefix Information options of one advertisement, in wire order.
#[derive(Clone, Debug)]
pub struct RaPrefixes<'a> {
    /// The checked option area still to read.
    rest: &'a [u8],
}

impl<'a> RaPrefixes<'a> {
    /// Check an advertisement's body (the ICMPv6 bytes after the first 8)
    /// and return its prefixes, or why it is malformed.
    pub fn parse(body: &'a [u8]) -> Result<Self, RaError> {
        let options = body.get(FIXED..).ok_or(RaError::Truncated)?;
        let mut rest = options;
        while !rest.is_empty() {
            let units = *rest.get(1).ok_or(RaError::OptionOverrun)?;
            if units == 0 {
                return Err(RaError::ZeroLengthOption);
            }
            rest = rest
                .get(usize::from(units) * 8..)
                .ok_or(RaError::OptionOverrun)?;
        }
        Ok(RaPrefixes { rest: options })
    }
}

impl Iterator for RaPrefixes<'_> {
    type Item = RaPrefix;

    fn next(&mut self) -> Option<RaPrefix> {
        loop {
            // `parse` checked every option's length: these reads succeed,
            // and a `None` (impossible) only ends the iteration.
            let (&kind, &units) = (self.rest.first()?, self.rest.get(1)?);
            let size = usize::from(units) * 8;
            let (option, rest) = (self.rest.get(..size)?, self.rest.get(size..)?);
            self.rest = rest;
            if kind != PREFIX_INFORMATION || units != PREFIX_INFORMATION_UNITS {
                continue;
            }
            let bytes: [u8; 16] = option.get(16..32)?.try_into().ok()?;
            let lifetime: [u8; 4] = option.get(4..8)?.try_into().ok()?;
            let flags = *option.get(3)?;
            return Some(RaPrefix {
                prefix: Ipv6Addr::from(bytes),
                len: *option.get(2)?,
                on_link: flags & 0x80 != 0,
                autonomous: flags & 0x40 != 0,
                valid_lifetime: u32::from_be_bytes(lifetime),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Prefix Information option as RFC 4861 §4.6.2 lays it out.
    fn prefix_option(prefix: Ipv6Addr, len: u8, flags: u8, valid: u32) -> Vec<u8> {
        let mut o = vec![PREFIX_INFORMATION, 4, len, flags];
        o.extend_from_slice(&valid.to_be_bytes());
        o.extend_from_slice(&valid.to_be_bytes()); // preferred lifetime
        o.extend_from_slice(&[0; 4]); // reserved
        o.extend_from_slice(&prefix.octets());
        o
    }

    fn body(options: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![0u8; FIXED];
        for o in options {
            b.extend_from_slice(o);
        }
        b
    }

    fn p(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn reads_prefixes_and_skips_other_options() {
        // Source link-layer address (type 1, length 1) and MTU (5, 1) around two prefixes.
        let sll = vec![1, 1, 2, 0, 0, 0, 0, 1];
        let mtu = vec![5, 1, 0, 0, 0, 0, 5, 220];
        let b = body(&[
            sll,
            prefix_option(p("2001:db8:1::"), 64, 0xc0, 86_400),
            mtu,
            prefix_option(p("2001:db8:2::"), 56, 0x40, 0),
        ]);
        let got: Vec<RaPrefix> = RaPrefixes::parse(&b).unwrap().collect();
        assert_eq!(
            got,
            vec![
                RaPrefix {
                    prefix: p("2001:db8:1::"),
                    len: 64,
                    on_link: true,
                    autonomous: true,
                    valid_lifetime: 86_400,
                },
                RaPrefix {
                    prefix: p("2001:db8:2::"),
                    len: 56,
                    on_link: false,
                    autonomous: true,
                    valid_lifetime: 0,
                },
            ]
        );
    }

    #[test]
    fn malformed_option_areas_yield_nothing() {
        let good = prefix_option(p("2001:db8:1::"), 64, 0xc0, 600);
        // Shorter than reachable time + retrans timer.
        assert_eq!(RaPrefixes::parse(&[0; 7]).err(), Some(RaError::Truncated));
        // A good prefix, then an option of length 0: the whole advertisement goes.
        let b = body(&[good.clone(), vec![1, 0, 0, 0, 0, 0, 0, 0]]);
        assert_eq!(RaPrefixes::parse(&b).err(), Some(RaError::ZeroLengthOption));
        // A prefix option cut short by the capture, at every length.
        let whole = body(std::slice::from_ref(&good));
        for cut in FIXED + 1..whole.len() {
            assert_eq!(
                RaPrefixes::parse(&whole[..cut]).err(),
                Some(RaError::OptionOverrun),
                "cut at {cut}"
            );
        }
        // A lone type byte after a good option.
        let mut b = body(&[good]);
        b.push(3);
        assert_eq!(RaPrefixes::parse(&b).err(), Some(RaError::OptionOverrun));
        // No options at all is a valid advertisement with no prefixes.
        assert_eq!(RaPrefixes::parse(&[0; FIXED]).unwrap().count(), 0);
    }

    #[test]
    fn a_prefix_option_of_the_wrong_length_is_skipped() {
        let mut long = prefix_option(p("2001:db8:9::"), 64, 0xc0, 600);
        long[1] = 5;
        long.extend_from_slice(&[0; 8]);
        let b = body(&[long, prefix_option(p("2001:db8:1::"), 64, 0x80, 600)]);
        let got: Vec<Ipv6Addr> = RaPrefixes::parse(&b).unwrap().map(|r| r.prefix).collect();
        assert_eq!(got, vec![p("2001:db8:1::")]);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // Every short byte pattern over a small alphabet of lengths and types.
        let alphabet = [0u8, 1, 3, 4, 5, 0xff];
        let mut buf = vec![0u8; FIXED + 6];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for tail in 0..6 {
                        buf.truncate(FIXED);
                        buf.extend_from_slice(&[a, b, c, a, b, c][..tail]);
                        if let Ok(it) = RaPrefixes::parse(&buf) {
                            for r in it {
                                let _ = r.prefix;
                            }
                        }
                    }
                }
            }
        }
    }
}
