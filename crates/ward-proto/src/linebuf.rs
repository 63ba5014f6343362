//! Small helpers shared by the line-based credential protocols (FTP, POP3,
//! IMAP, SMTP, RTSP, Telnet): a bounded line splitter, a strict base64
//! decoder for SASL exchanges, and a product/version guesser for banners.
//!
//! Guarantees: nothing here panics on any input, and a [`LineBuffer`] never
//! holds more than its cap (a line longer than that is dropped up to its end
//! and reported once per overlong line).

/// Splits a byte stream that may arrive in arbitrary pieces into lines.
///
/// Lines end at `\n`; a `\r` right before it is removed. A line longer than
/// `cap` is discarded (up to its newline) rather than buffered.
#[derive(Debug)]
pub(crate) struct LineBuffer {
    buf: Vec<u8>,
    cap: usize,
    /// Inside an overlong line whose start was dropped.
    skipping: bool,
}

/// The complete lines `data` finishes in `buf`, copied out; an over-long
/// line is dropped and reported as `Malformed` for `protocol`.
pub(crate) fn take_lines(
    buf: &mut LineBuffer,
    data: &[u8],
    protocol: &'static str,
    out: &mut Vec<crate::AppEvent>,
) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    if buf.push(data, |l| lines.push(l.to_vec())) > 0 {
        out.push(crate::AppEvent::Malformed {
            protocol,
            what: "line-too-long",
        });
    }
    lines
}

impl LineBuffer {
    pub(crate) fn new(cap: usize) -> Self {
        LineBuffer {
            buf: Vec::new(),
            cap,
            skipping: false,
        }
    }

    /// Append `data` and call `on_line` for each complete line. Returns the
    /// number of overlong lines dropped during this call.
    pub(crate) fn push(&mut self, data: &[u8], mut on_line: impl FnMut(&[u8])) -> usize {
        let mut dropped = 0;
        let mut rest = data;
        while !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    let (piece, tail) = rest.split_at(nl);
                    rest = tail.get(1..).unwrap_or_default();
                    if self.skipping {
                        self.skipping = false;
                        self.buf.clear();
                        continue;
                    }
                    if self.buf.len() + piece.len() > self.cap {
                        dropped += 1;
                        self.buf.clear();
                        continue;
                    }
                    self.buf.extend_from_slice(piece);
                    let line = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
                    on_line(line);
                    self.buf.clear();
                }
                None => {
                    if !self.skipping {
                        if self.buf.len() + rest.len() > self.cap {
                            dropped += 1;
                            self.skipping = true;
                            self.buf.clear();
                        } else {
                            self.buf.extend_from_slice(rest);
                        }
                    }
                    rest = &[];
                }
            }
        }
        dropped
    }
}

/// Decode standard base64 (RFC 4648, padding optional, no whitespace inside).
/// `None` for anything else, so garbage never turns into a fake credential.
pub(crate) fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let trimmed = input.trim_ascii();
    let body = trimmed
        .strip_suffix(b"==")
        .or_else(|| trimmed.strip_suffix(b"="))
        .unwrap_or(trimmed);
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    for chunk in body.chunks(4) {
        let mut acc: u32 = 0;
        for &c in chunk {
            acc = (acc << 6) | val(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            2 => out.push((acc >> 4) as u8),
            _ => return None,
        }
    }
    Some(out)
}

/// Guess `(product, version)` from a free-text banner such as
/// `220 (vsFTPd 3.0.3)`, `Server: GStreamer RTSP server/1.0` or
/// `BusyBox v1.19.4 built-in shell`. Takes the first token shaped like
/// `Name/1.2` or a name followed by a token that starts with a digit (or
/// `v` and a digit) and contains a dot. `None` when nothing looks like a
/// version: the raw banner is still reported by the caller.
pub(crate) fn product_version(text: &str) -> Option<(String, String)> {
    let clean = |s: &str| {
        s.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-' && c != '_')
            .to_string()
    };
    let is_version = |s: &str| {
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        s.starts_with(|c: char| c.is_ascii_digit())
            && s.contains('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    };
    // Words that name the kind of thing, not the product: `FileZilla Server 1.9.1`.
    let generic = |s: &str| {
        ["server", "ftp", "ftpd", "rtsp", "daemon", "service"]
            .iter()
            .any(|g| s.eq_ignore_ascii_case(g))
    };
    let words: Vec<&str> = text.split_whitespace().take(32).collect();
    for (i, w) in words.iter().enumerate() {
        if let Some((name, ver)) = w.split_once('/') {
            let (name, ver) = (clean(name), clean(ver));
            if !name.is_empty() && is_version(&ver) && name.chars().any(|c| c.is_alphabetic()) {
                return Some((name, ver));
            }
        }
        if i > 0 {
            let ver = clean(w);
            let name = clean(words[i - 1]);
            let numeric_name = name.chars().all(|c| c.is_ascii_digit());
            if name.eq_ignore_ascii_case("version") {
                continue;
            }
            if is_version(&ver) && !name.is_empty() && !numeric_name {
                let product = match i.checked_sub(2).map(|j| clean(words[j])) {
                    Some(prev) if generic(&name) && !prev.is_empty() => format!("{prev} {name}"),
                    _ => name,
                };
                return Some((product, ver.trim_start_matches(['v', 'V']).to_string()));
            }
        }
    }
    None
}

/// ASCII case-insensitive substring search.
pub(crate) fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_pushes() {
        let mut lb = LineBuffer::new(16);
        let mut got = Vec::new();
        lb.push(b"US", |l| got.push(l.to_vec()));
        lb.push(b"ER a\r", |l| got.push(l.to_vec()));
        lb.push(b"\nPASS b\n", |l| got.push(l.to_vec()));
        assert_eq!(got, vec![b"USER a".to_vec(), b"PASS b".to_vec()]);
    }

    #[test]
    fn overlong_line_is_dropped_not_buffered() {
        let mut lb = LineBuffer::new(4);
        let mut got = Vec::new();
        assert_eq!(lb.push(b"abcdefgh", |l| got.push(l.to_vec())), 1);
        assert_eq!(lb.push(b"ij\nok\n", |l| got.push(l.to_vec())), 0);
        assert_eq!(got, vec![b"ok".to_vec()]);
    }

    #[test]
    fn base64_round_trips_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_decode(enc.as_bytes()).unwrap(), plain.as_bytes());
        }
        assert!(base64_decode(b"Zm9v!").is_none());
        assert!(base64_decode(b"Z").is_none());
    }

    #[test]
    fn product_version_from_common_banners() {
        assert_eq!(
            product_version("220 (vsFTPd 3.0.3)"),
            Some(("vsFTPd".into(), "3.0.3".into()))
        );
        assert_eq!(
            product_version("Boa/0.94.14rc21"),
            Some(("Boa".into(), "0.94.14rc21".into()))
        );
        assert_eq!(
            product_version("BusyBox v1.19.4 (2013-01-01) built-in shell"),
            Some(("BusyBox".into(), "1.19.4".into()))
        );
        assert_eq!(
            product_version("Hikvision-Webs/2.1.0"),
            Some(("Hikvision-Webs".into(), "2.1.0".into()))
        );
        assert_eq!(product_version("220 ready"), None);
        assert_eq!(
            product_version("220 FileZilla Server 1.9.1"),
            Some(("FileZilla Server".into(), "1.9.1".into()))
        );
        assert_eq!(
            product_version("redmint FTP server (Version 6.4/OpenBSD/Linux-ftpd-0.17) ready."),
            None
        );
    }
}
