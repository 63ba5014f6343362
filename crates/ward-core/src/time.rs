//! Packet time.
//!
//! ward never reads the wall clock inside the engine: every window, timeout
//! and rate is measured in the time carried by the packets. [`Timestamp`] is
//! microseconds since the Unix epoch (UTC), the resolution of the event
//! contract.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub fn from_nanos(ns: i64) -> Self {
        Timestamp(ns.div_euclid(1000))
    }
    pub fn from_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(1_000_000))
    }
    pub fn micros(self) -> i64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// `self - earlier` in microseconds (negative if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
    pub fn plus_micros(self, us: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(us))
    }
    pub fn plus_secs(self, s: u64) -> Timestamp {
        self.plus_micros((s as i64).saturating_mul(1_000_000))
    }

    /// Parse RFC 3339 as written by [`fmt::Display`] (`2024-01-02T03:04:05.123456Z`),
    /// also accepting fewer fraction digits, no fraction, and `+00:00`.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let t = s.get(r)?;
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let mut rest = &s[19..];
        let mut micros = 0i64;
        if let Some(r) = rest.strip_prefix('.') {
            let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                return None;
            }
            let mut frac = digits.clone();
            frac.truncate(6);
            while frac.len() < 6 {
                frac.push('0');
            }
            micros = frac.parse().ok()?;
            rest = &r[digits.len()..];
        }
        let offset_secs = match rest {
            "Z" | "z" | "+00:00" | "" => 0,
            o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
                let oh: i64 = o.get(1..3)?.parse().ok()?;
                let om: i64 = o.get(4..6)?.parse().ok()?;
                let sign = if o.starts_with('-') { -1 } else { 1 };
                sign * (oh * 3600 + om * 60)
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_secs;
        Some(Timestamp(secs * 1_000_000 + micros))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339, UTC, microseconds: `2024-01-02T03:04:05.123456Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 timestamp: {s}")))
    }
}

// Howard Hinnant's civil calendar algorithms (public domain), valid for the
// whole proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_microseconds() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
        // 2016-02-29T12:34:56.789012Z, a leap day
        let t = Timestamp(1_456_749_296_789_012);
        assert_eq!(t.to_string(), "2016-02-29T12:34:56.789012Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn parses_what_it_writes_and_common_variants() {
        for us in [0, 1_456_749_296_789_012, 1_800_000_000_000_001, -5] {
            let t = Timestamp(us);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t));
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2016-02-29T12:34:56Z"),
            Some(Timestamp(1_456_749_296_000_000))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2016-02-29T14:34:56.5+02:00"),
            Some(Timestamp(1_456_749_296_500_000))
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
        assert_eq!(Timestamp::parse_rfc3339("2016-13-29T14:34:56Z"), None);
    }
}
