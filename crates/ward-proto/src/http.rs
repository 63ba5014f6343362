//! HTTP/1.x requests and responses (httparse).
//!
//! What the parser reports, per flow:
//! - every request head as [`AppEvent::HttpRequest`] (URI cut at 2 KiB, up to
//!   1 KiB of body that was already buffered with the head) and every final
//!   response status as [`AppEvent::HttpResponse`];
//! - `User-Agent` as [`HintKind::HttpUserAgent`] about the initiator and
//!   `Server` as [`HintKind::HttpServer`] plus [`AppEvent::Software`] about the
//!   responder (each distinct value once per flow);
//! - `Authorization`/`Proxy-Authorization` Basic (user and password) and
//!   Digest (user only) as [`AppEvent::Credential`], one per request, with the
//!   outcome taken from the matching response: 401/403/407 → failure, 2xx/3xx →
//!   success, anything else or no response → unknown;
//! - UPnP device-description fields (`friendlyName`, `manufacturer`,
//!   `modelName`, `modelNumber`, `modelDescription`) found in the first
//!   [`UPNP_SCAN_MAX`] bytes of a response body, as
//!   [`HintKind::UpnpDescription`] `key=value` about the responder.
//!
//! Keep-alive and pipelining are followed by skipping bodies
//! (`Content-Length` and chunked). Heads split across packets are buffered up
//! to [`HEAD_MAX`] bytes per direction; a longer head, a broken head or a
//! broken chunked body is reported as [`AppEvent::Malformed`] and the parser
//! gives up on the flow (after reporting pending credentials). Everything kept
//! per flow is bounded by the constants below.
//!
//! The head-parsing helpers ([`split_product_version`], [`parse_authorization`],
//! [`header_value`]) are `pub(crate)` so that HTTP-shaped protocols (RTSP,
//! SSDP) reuse them.

use std::collections::VecDeque;

use crate::{
    printable, About, AppEvent, AppParser, AppProto, Credential, Direction, Hint, HintKind,
    HttpRequest, LoginOutcome, Secret,
};

/// Longest request or response head buffered while waiting for its end.
pub const HEAD_MAX: usize = 8 * 1024;
/// Request target kept in [`HttpRequest::uri`].
pub const URI_MAX: usize = 2 * 1024;
/// Body bytes kept in [`HttpRequest::body_prefix`].
pub const BODY_PREFIX_MAX: usize = 1024;
/// Response body bytes scanned for UPnP description fields.
pub const UPNP_SCAN_MAX: usize = 8 * 1024;
/// Requests waiting for their response (pipelining depth we follow).
const PENDING_MAX: usize = 32;
/// Header slots handed to httparse; more headers than this is malformed.
const HEADERS_MAX: usize = 96;
/// Distinct User-Agent / Server / UPnP values remembered per flow for de-duplication.
const SEEN_MAX: usize = 16;
/// Header values written into events are cut here.
const VALUE_MAX: usize = 512;

const PROTO: &str = "http";

/// Where one direction's byte stream is.
#[derive(Debug)]
enum Body {
    /// Expecting a head.
    Head,
    /// Skipping this many body bytes.
    Length(u64),
    /// Inside a chunked body.
    Chunked(Chunked),
    /// Body runs until the connection closes (response without length, or
    /// after an upgrade): nothing more to parse in this direction.
    ToEnd,
}

#[derive(Debug)]
enum Chunked {
    /// Expecting a chunk-size line.
    Size,
    /// Skipping chunk data, then its CRLF.
    Data(u64),
    /// Skipping trailer lines until an empty line.
    Trailer,
}

#[derive(Debug)]
struct Pending {
    head_request: bool,
    /// Boxed: most requests carry none, and the queue's slots stay small.
    credential: Option<Box<Credential>>,
}

#[derive(Debug)]
struct Side {
    buf: Vec<u8>,
    body: Body,
}

impl Side {
    fn new() -> Self {
        Side {
            buf: Vec::new(),
            body: Body::Head,
        }
    }
}

/// HTTP/1.x parser for one TCP flow.
#[derive(Debug)]
pub struct HttpParser {
    to_server: Side,
    to_client: Side,
    pending: VecDeque<Pending>,
    user_agents: Vec<String>,
    servers: Vec<String>,
    upnp_seen: Vec<String>,
    /// Body of the current response being collected for the UPnP scan.
    upnp_body: Option<Vec<u8>>,
}

impl Default for HttpParser {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpParser {
    pub fn new() -> Self {
        HttpParser {
            to_server: Side::new(),
            to_client: Side::new(),
            pending: VecDeque::new(),
            user_agents: Vec::new(),
            servers: Vec::new(),
            upnp_seen: Vec::new(),
            upnp_body: None,
        }
    }

    /// Give up: report pending credentials and malformation.
    fn abandon(&mut self, what: &'static str, out: &mut Vec<AppEvent>) -> bool {
        out.push(AppEvent::Malformed {
            protocol: PROTO,
            what,
        });
        self.finish(out);
        false
    }

    fn feed_side(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        let side = match dir {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        };
        if matches!(side.body, Body::ToEnd) {
            if dir == Direction::ToClient {
                self.collect_upnp(data, out);
            }
            return true;
        }
        // Append, bounded: a head can never need more than HEAD_MAX, and body
        // bytes are consumed as soon as they arrive.
        let room = HEAD_MAX.saturating_sub(side.buf.len());
        let take = data.len().min(room);
        side.buf.extend_from_slice(&data[..take]);
        let mut rest = &data[take..];
        loop {
            match self.step(dir, out) {
                Step::Progress => {}
                Step::NeedMore => {
                    if rest.is_empty() {
                        let side = self.side(dir);
                        if side.buf.is_empty() {
                            // Between messages a flow keeps no buffer: a
                            // million idle connections would each hold the
                            // capacity of their last head.
                            side.buf = Vec::new();
                        }
                        return true;
                    }
                    let side = self.side(dir);
                    let room = HEAD_MAX.saturating_sub(side.buf.len());
                    if room == 0 {
                        return self.abandon("head-too-long", out);
                    }
                    let take = rest.len().min(room);
                    side.buf.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                }
                Step::ToEnd => {
                    let side = self.side(dir);
                    side.buf = Vec::new();
                    if dir == Direction::ToClient && !rest.is_empty() {
                        let r = rest.to_vec();
                        self.collect_upnp(&r, out);
                    }
                    return true;
                }
                Step::Fail(what) => return self.abandon(what, out),
            }
        }
    }

    fn side(&mut self, dir: Direction) -> &mut Side {
        match dir {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }

    /// Consume what the buffer of `dir` allows: one head or some body bytes.
    fn step(&mut self, dir: Direction, out: &mut Vec<AppEvent>) -> Step {
        let side = self.side(dir);
        if side.buf.is_empty() {
            return Step::NeedMore;
        }
        match &mut side.body {
            Body::ToEnd => {
                let b = std::mem::take(&mut side.buf);
                if dir == Direction::ToClient {
                    self.collect_upnp(&b, out);
                }
                Step::ToEnd
            }
            Body::Length(n) => {
                let take = (*n).min(side.buf.len() as u64) as usize;
                *n -= take as u64;
                let done = *n == 0;
                if done {
                    side.body = Body::Head;
                }
                if dir == Direction::ToClient && self.upnp_body.is_some() {
                    let side = self.side(dir);
                    let consumed: Vec<u8> = side.buf.drain(..take).collect();
                    self.collect_upnp(&consumed, out);
                } else {
                    // Not collected: no copy of the body bytes.
                    self.side(dir).buf.drain(..take);
                }
                if dir == Direction::ToClient && done {
                    self.end_upnp(out);
                }
                Step::Progress
            }
            Body::Chunked(state) => match skip_chunked(state, &mut side.buf) {
                ChunkStep::Data(bytes) => {
                    if dir == Direction::ToClient {
                        self.collect_upnp(&bytes, out);
                    }
                    Step::Progress
                }
                ChunkStep::Progress => Step::Progress,
                ChunkStep::Done => {
                    side.body = Body::Head;
                    if dir == Direction::ToClient {
                        self.end_upnp(out);
                    }
                    Step::Progress
                }
                ChunkStep::NeedMore => Step::NeedMore,
                ChunkStep::Bad => Step::Fail("bad-chunked-body"),
            },
            Body::Head => match dir {
                Direction::ToServer => self.request_head(out),
                Direction::ToClient => self.response_head(out),
            },
        }
    }

    fn request_head(&mut self, out: &mut Vec<AppEvent>) -> Step {
        // Tolerate stray CRLFs between messages (RFC 9112 §2.2).
        strip_leading_crlf(&mut self.to_server.buf);
        if self.to_server.buf.is_empty() {
            return Step::NeedMore;
        }
        let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut req = httparse::Request::new(&mut headers);
        let buf = &self.to_server.buf;
        let head_len = match req.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Step::NeedMore,
            Err(httparse::Error::TooManyHeaders) => return Step::Fail("too-many-headers"),
            Err(_) => return Step::Fail("bad-request-head"),
        };
        let method = req.method.unwrap_or_default().to_string();
        let uri_raw = req.path.unwrap_or_default();
        let uri = printable(uri_raw.as_bytes(), URI_MAX);
        let host = header_value(req.headers, "host").map(|v| printable(v, VALUE_MAX));
        let user_agent = header_value(req.headers, "user-agent").map(|v| printable(v, VALUE_MAX));
        let mut credential = None;
        for name in ["authorization", "proxy-authorization"] {
            if let Some(v) = header_value(req.headers, name) {
                credential = parse_authorization(v, PROTO);
                if credential.is_some() {
                    break;
                }
            }
        }
        let body = match body_framing(req.headers) {
            Ok(Some(b)) => b,
            // A request without length has no body (RFC 9112 §6.3, rule 6).
            Ok(None) => Body::Length(0),
            Err(what) => return Step::Fail(what),
        };
        let is_connect = method.eq_ignore_ascii_case("CONNECT");
        let head_request = method.eq_ignore_ascii_case("HEAD");
        let body_len_now = match &body {
            Body::Length(n) => (*n).min(BODY_PREFIX_MAX as u64) as usize,
            Body::Chunked(_) => 0,
            _ => 0,
        };
        let avail = buf.len() - head_len;
        let body_prefix = buf[head_len..head_len + body_len_now.min(avail)].to_vec();

        if let Some(ua) = &user_agent {
            if remember(&mut self.user_agents, ua) {
                out.push(AppEvent::Hint(Hint {
                    about: About::Initiator,
                    kind: HintKind::HttpUserAgent,
                    value: ua.clone(),
                }));
            }
        }
        out.push(AppEvent::HttpRequest(HttpRequest {
            method,
            uri,
            host,
            user_agent,
            body_prefix,
        }));
        if self.pending.len() >= PENDING_MAX {
            // Responses never came for the oldest: report it undecided.
            if let Some(old) = self.pending.pop_front() {
                if let Some(c) = old.credential {
                    out.push(AppEvent::Credential(*c));
                }
            }
        }
        if self.pending.capacity() == 0 {
            // One request in flight is the common case: a first push would
            // reserve four slots, for each of a million idle flows.
            self.pending.reserve_exact(1);
        }
        self.pending.push_back(Pending {
            head_request,
            credential: credential.map(Box::new),
        });
        self.to_server.buf.drain(..head_len);
        // After CONNECT the stream is a tunnel; nothing HTTP follows from the client.
        self.to_server.body = if is_connect { Body::ToEnd } else { body };
        Step::Progress
    }

    fn response_head(&mut self, out: &mut Vec<AppEvent>) -> Step {
        strip_leading_crlf(&mut self.to_client.buf);
        if self.to_client.buf.is_empty() {
            return Step::NeedMore;
        }
        let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(&self.to_client.buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Step::NeedMore,
            Err(httparse::Error::TooManyHeaders) => return Step::Fail("too-many-headers"),
            Err(_) => return Step::Fail("bad-response-head"),
        };
        let status = resp.code.unwrap_or(0);
        out.push(AppEvent::HttpResponse { status });
        if let Some(server) = header_value(resp.headers, "server") {
            let raw = printable(server, VALUE_MAX);
            if !raw.trim().is_empty() && remember(&mut self.servers, &raw) {
                out.push(AppEvent::Hint(Hint {
                    about: About::Responder,
                    kind: HintKind::HttpServer,
                    value: raw.clone(),
                }));
                let (product, version) = split_product_version(&raw);
                out.push(AppEvent::Software {
                    about: About::Responder,
                    product,
                    version,
                    raw,
                });
            }
        }
        let framing = body_framing(resp.headers);
        // Device descriptions are XML: scanning every body (images, JSON,
        // firmware) for UPnP tags cost a third of the engine's time on
        // busy captures. No Content-Type: look, some devices omit it.
        let xml = header_value(resp.headers, "content-type")
            .is_none_or(|ct| ct.windows(3).any(|w| w.eq_ignore_ascii_case(b"xml")));
        let interim = (100..200).contains(&status);
        let mut head_request = false;
        if !interim {
            if let Some(p) = self.pending.pop_front() {
                head_request = p.head_request;
                if let Some(mut c) = p.credential {
                    c.outcome = match status {
                        401 | 403 | 407 => LoginOutcome::Failure,
                        200..=399 => LoginOutcome::Success,
                        _ => LoginOutcome::Unknown,
                    };
                    out.push(AppEvent::Credential(*c));
                }
            }
        }
        self.to_client.buf.drain(..head_len);
        // RFC 9112 §6.3: HEAD responses, 1xx, 204 and 304 carry no body.
        let body = if status == 101 {
            Body::ToEnd
        } else if head_request || interim || status == 204 || status == 304 {
            Body::Length(0)
        } else {
            match framing {
                Ok(Some(b)) => b,
                Ok(None) => Body::ToEnd,
                Err(what) => return Step::Fail(what),
            }
        };
        let has_body = !matches!(body, Body::Length(0));
        self.upnp_body = (has_body && xml).then(Vec::new);
        self.to_client.body = body;
        Step::Progress
    }

    fn collect_upnp(&mut self, bytes: &[u8], out: &mut Vec<AppEvent>) {
        if let Some(b) = &mut self.upnp_body {
            let room = UPNP_SCAN_MAX.saturating_sub(b.len());
            b.extend_from_slice(&bytes[..bytes.len().min(room)]);
            if b.len() >= UPNP_SCAN_MAX {
                self.end_upnp(out);
            }
        }
    }

    fn end_upnp(&mut self, out: &mut Vec<AppEvent>) {
        let Some(body) = self.upnp_body.take() else {
            return;
        };
        for kv in upnp_fields(&body) {
            if remember(&mut self.upnp_seen, &kv) {
                out.push(AppEvent::Hint(Hint {
                    about: About::Responder,
                    kind: HintKind::UpnpDescription,
                    value: kv,
                }));
            }
        }
    }
}

enum Step {
    Progress,
    NeedMore,
    ToEnd,
    Fail(&'static str),
}

enum ChunkStep {
    Data(Vec<u8>),
    Progress,
    Done,
    NeedMore,
    Bad,
}

fn skip_chunked(state: &mut Chunked, buf: &mut Vec<u8>) -> ChunkStep {
    match state {
        Chunked::Size => match httparse::parse_chunk_size(buf) {
            Ok(httparse::Status::Complete((n, size))) => {
                buf.drain(..n);
                *state = if size == 0 {
                    Chunked::Trailer
                } else {
                    // The chunk's own CRLF is skipped along with its data.
                    Chunked::Data(size.saturating_add(2))
                };
                ChunkStep::Progress
            }
            Ok(httparse::Status::Partial) => ChunkStep::NeedMore,
            Err(_) => ChunkStep::Bad,
        },
        Chunked::Data(left) => {
            let take = (*left).min(buf.len() as u64) as usize;
            *left -= take as u64;
            let data: Vec<u8> = buf.drain(..take).collect();
            if *left == 0 {
                *state = Chunked::Size;
            }
            // The trailing CRLF of a chunk is fed to the UPnP scan too; harmless.
            ChunkStep::Data(data)
        }
        Chunked::Trailer => {
            let Some(pos) = buf.windows(2).position(|w| w == b"\r\n") else {
                return ChunkStep::NeedMore;
            };
            buf.drain(..pos + 2);
            if pos == 0 {
                ChunkStep::Done
            } else {
                ChunkStep::Progress
            }
        }
    }
}

fn strip_leading_crlf(buf: &mut Vec<u8>) {
    let n = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if n > 0 {
        buf.drain(..n);
    }
}

/// Remember `value` in a bounded list; true when it was new.
fn remember(seen: &mut Vec<String>, value: &str) -> bool {
    if seen.iter().any(|s| s == value) {
        return false;
    }
    if seen.len() >= SEEN_MAX {
        seen.remove(0);
    }
    if seen.len() == seen.capacity() {
        // Most flows remember one or two values: grow from one slot, not four.
        seen.reserve_exact(seen.len().max(1));
    }
    seen.push(value.to_string());
    true
}

/// Message body framing from the headers (RFC 9112 §6.3): `Ok(None)` when
/// neither `Transfer-Encoding: chunked` nor a valid `Content-Length` is there.
fn body_framing(headers: &[httparse::Header<'_>]) -> Result<Option<Body>, &'static str> {
    if let Some(te) = header_value(headers, "transfer-encoding") {
        let te = String::from_utf8_lossy(te).to_ascii_lowercase();
        if te.rsplit(',').next().map(str::trim) == Some("chunked") {
            return Ok(Some(Body::Chunked(Chunked::Size)));
        }
        // Another coding last: the body runs to the end of the connection.
        return Ok(None);
    }
    match header_value(headers, "content-length") {
        Some(v) => {
            let s = std::str::from_utf8(v).map_err(|_| "bad-content-length")?;
            s.trim()
                .parse::<u64>()
                .map(|n| Some(Body::Length(n)))
                .map_err(|_| "bad-content-length")
        }
        None => Ok(None),
    }
}

/// The value of the first header called `name` (ASCII case-insensitive).
pub(crate) fn header_value<'a>(headers: &[httparse::Header<'a>], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| trim_ascii(h.value))
}

fn trim_ascii(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &v[start..end.max(start)]
}

/// Split a `Server`/`User-Agent`-style product token list into the product
/// that names the software and its version: `lighttpd/1.4.59` → (`lighttpd`,
/// `1.4.59`), `Apache/2.4.41 (Ubuntu)` → (`Apache`, `2.4.41`), `nginx` →
/// (`nginx`, None). UPnP servers say `OS/ver UPnP/1.0 product/ver` (UDA 1.0
/// §1.1.2), so there the token after `UPnP/…` (and `DLNADOC/…`) is the
/// product: `Linux/3.14.0 UPnP/1.0 IpBridge/1.9.0` → (`IpBridge`, `1.9.0`).
pub(crate) fn split_product_version(raw: &str) -> (String, Option<String>) {
    let tokens: Vec<&str> = raw
        .split_whitespace()
        .filter(|t| !t.starts_with('(') && !t.ends_with(')'))
        .map(|t| t.trim_end_matches(','))
        .collect();
    let generic = |t: &str| {
        let name = t.split('/').next().unwrap_or(t);
        name.eq_ignore_ascii_case("upnp") || name.eq_ignore_ascii_case("dlnadoc")
    };
    let upnp = tokens
        .iter()
        .position(|t| t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("upnp/")));
    let chosen = upnp
        .and_then(|i| tokens[i + 1..].iter().find(|t| !generic(t)))
        .or_else(|| tokens.iter().find(|t| !generic(t)))
        .or(tokens.first())
        .copied()
        .unwrap_or("");
    match chosen.split_once('/') {
        Some((p, v)) if !v.is_empty() => (p.to_string(), Some(v.to_string())),
        Some((p, _)) => (p.to_string(), None),
        None => (chosen.to_string(), None),
    }
}

/// A credential from an `Authorization` header value (`Basic`: user and
/// password; `Digest`: user only), outcome unknown. `protocol` is written into
/// the credential (RTSP uses the same header).
pub(crate) fn parse_authorization(value: &[u8], protocol: &'static str) -> Option<Credential> {
    let value = trim_ascii(value);
    let sp = value.iter().position(|b| *b == b' ')?;
    let (scheme, rest) = (&value[..sp], trim_ascii(&value[sp..]));
    if scheme.eq_ignore_ascii_case(b"basic") {
        let decoded = base64_decode(rest)?;
        // RFC 7617: the user-id cannot contain a colon, the password can.
        let colon = decoded.iter().position(|b| *b == b':')?;
        let user = printable(&decoded[..colon], VALUE_MAX);
        let pass = String::from_utf8_lossy(&decoded[colon + 1..]).into_owned();
        Some(Credential {
            protocol,
            method: "basic",
            username: Some(user),
            secret: Some(Secret::new(pass)),
            outcome: LoginOutcome::Unknown,
        })
    } else if scheme.eq_ignore_ascii_case(b"digest") {
        Some(Credential {
            protocol,
            method: "digest",
            username: digest_param(rest, "username"),
            secret: None,
            outcome: LoginOutcome::Unknown,
        })
    } else {
        None
    }
}

/// One `name=value` or `name="value"` parameter of a Digest header.
fn digest_param(params: &[u8], name: &str) -> Option<String> {
    let s = String::from_utf8_lossy(params);
    let mut rest: &str = &s;
    while !rest.is_empty() {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let eq = rest.find('=')?;
        let key = rest[..eq].trim();
        let after = &rest[eq + 1..];
        let (val, tail) = if let Some(q) = after.strip_prefix('"') {
            // Quoted string; backslash escapes a character (RFC 9110 §5.6.4).
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => v.push(c),
                }
            }
            (v, &q[end.min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(printable(val.as_bytes(), VALUE_MAX));
        }
        rest = tail;
    }
    None
}

/// Standard base64 (RFC 4648 §4), padding optional, whitespace not allowed.
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
    let body = match input.iter().position(|b| *b == b'=') {
        Some(p) => {
            if input[p..].iter().any(|b| *b != b'=') || input.len() - p > 2 {
                return None;
            }
            &input[..p]
        }
        None => input,
    };
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// UPnP device-description fields in an XML body, as `key=value`.
fn upnp_fields(body: &[u8]) -> Vec<String> {
    const TAGS: [&str; 5] = [
        "friendlyName",
        "manufacturer",
        "modelName",
        "modelNumber",
        "modelDescription",
    ];
    let mut found = Vec::new();
    // One pass to rule out bodies without any device description.
    if find(body, b"<modelName>").is_none() && find(body, b"<friendlyName>").is_none() {
        return found;
    }
    for tag in TAGS {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        // First occurrence only: the root device comes first in the document.
        let Some(start) = find(body, open.as_bytes()) else {
            continue;
        };
        let from = start + open.len();
        let Some(len) = find(&body[from..], close.as_bytes()) else {
            continue;
        };
        let value = printable(trim_ascii(&body[from..from + len]), 128);
        if !value.is_empty() {
            found.push(format!("{tag}={}", xml_unescape(&value)));
        }
    }
    found
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// True when `first` starts like an HTTP/1.x request line (for detection on
/// odd ports).
pub fn looks_like_request(first: &[u8]) -> bool {
    const METHODS: [&[u8]; 12] = [
        b"GET ",
        b"POST ",
        b"HEAD ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
        b"PROPFIND ",
        b"SUBSCRIBE ",
        b"NOTIFY ",
    ];
    let line_end = first
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(first.len());
    let line = &first[..line_end];
    // RTSP shares methods (OPTIONS, …) with HTTP; its request line ends in RTSP/1.0.
    let rtsp = line.windows(5).any(|w| w == b"RTSP/");
    if rtsp {
        return false;
    }
    // A known method, or any upper-case token (WebDAV, GENA, …) on a request
    // line that names HTTP/1.x.
    let token_len = line
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || **b == b'-')
        .count();
    METHODS.iter().any(|m| first.starts_with(m))
        || (token_len >= 3
            && line.get(token_len) == Some(&b' ')
            && line.windows(7).any(|w| w == b"HTTP/1."))
}

/// True when `first` starts like an HTTP/1.x status line.
pub fn looks_like_response(first: &[u8]) -> bool {
    first.starts_with(b"HTTP/1.")
}

impl AppParser for HttpParser {
    fn protocol(&self) -> AppProto {
        AppProto::Http
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        if data.is_empty() {
            return true;
        }
        self.feed_side(dir, data, out)
    }

    fn finish(&mut self, out: &mut Vec<AppEvent>) {
        self.end_upnp(out);
        for p in self.pending.drain(..) {
            if let Some(c) = p.credential {
                out.push(AppEvent::Credential(*c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(input: &[u8]) -> String {
        // Encoder for tests only, from RFC 4648 §4.
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in input.chunks(3) {
            let n = c.len();
            let v = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= n {
                    s.push(A[(v >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    fn creds(ev: &[AppEvent]) -> Vec<&Credential> {
        ev.iter()
            .filter_map(|e| match e {
                AppEvent::Credential(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn base64_round_trips() {
        for s in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"admin:pa:ss",
            b"\xff\x00\x10",
        ] {
            assert_eq!(base64_decode(b64(s).as_bytes()).unwrap(), s);
        }
        assert!(base64_decode(b"a").is_none());
        assert!(base64_decode(b"ab=c").is_none());
        assert!(base64_decode(b"a*==").is_none());
    }

    #[test]
    fn basic_auth_failure_then_success_keep_alive() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let r1 = format!(
            "GET /cgi-bin/x HTTP/1.1\r\nHost: cam\r\nUser-Agent: curl/8.0\r\nAuthorization: Basic {}\r\n\r\n",
            b64(b"admin:wrong")
        );
        let r2 = format!(
            "GET /cgi-bin/x HTTP/1.1\r\nHost: cam\r\nUser-Agent: curl/8.0\r\nAuthorization: Basic {}\r\n\r\n",
            b64(b"admin:pa:ss")
        );
        assert!(p.feed(Direction::ToServer, r1.as_bytes(), &mut ev));
        // A response split in the middle of its head, with a body.
        let resp1 = b"HTTP/1.1 401 Unauthorized\r\nServer: lighttpd/1.4.59\r\nContent-Length: 5\r\n\r\nnope!";
        assert!(p.feed(Direction::ToClient, &resp1[..20], &mut ev));
        assert!(p.feed(Direction::ToClient, &resp1[20..], &mut ev));
        assert!(p.feed(Direction::ToServer, r2.as_bytes(), &mut ev));
        assert!(p.feed(
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.59\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            &mut ev
        ));
        p.finish(&mut ev);
        let c = creds(&ev);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].outcome, LoginOutcome::Failure);
        assert_eq!(c[0].secret.as_ref().unwrap().expose(), "wrong");
        assert_eq!(c[1].outcome, LoginOutcome::Success);
        assert_eq!(c[1].username.as_deref(), Some("admin"));
        assert_eq!(c[1].secret.as_ref().unwrap().expose(), "pa:ss");
        let uas = ev
            .iter()
            .filter(|e| matches!(e, AppEvent::Hint(h) if h.kind == HintKind::HttpUserAgent))
            .count();
        assert_eq!(uas, 1, "same UA reported once per flow");
        assert!(ev.iter().any(|e| matches!(e, AppEvent::Software { product, version: Some(v), .. } if product == "lighttpd" && v == "1.4.59")));
        let statuses: Vec<u16> = ev
            .iter()
            .filter_map(|e| match e {
                AppEvent::HttpResponse { status } => Some(*status),
                _ => None,
            })
            .collect();
        assert_eq!(statuses, vec![401, 200]);
    }

    #[test]
    fn digest_username_and_unknown_outcome_at_finish() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let req = b"GET / HTTP/1.1\r\nAuthorization: Digest username=\"ad\\\"min\", realm=\"x\", nonce=\"n\", uri=\"/\", response=\"abc\"\r\n\r\n";
        assert!(p.feed(Direction::ToServer, req, &mut ev));
        p.finish(&mut ev);
        let c = creds(&ev);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].method, "digest");
        assert_eq!(c[0].username.as_deref(), Some("ad\"min"));
        assert!(c[0].secret.is_none());
        assert_eq!(c[0].outcome, LoginOutcome::Unknown);
    }

    #[test]
    fn request_head_split_across_chunks_and_body_prefix() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let req = b"POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcdGET /next HTTP/1.1\r\nHost: h\r\n\r\n";
        for chunk in req.chunks(7) {
            assert!(p.feed(Direction::ToServer, chunk, &mut ev));
        }
        let reqs: Vec<&HttpRequest> = ev
            .iter()
            .filter_map(|e| match e {
                AppEvent::HttpRequest(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].method, "POST");
        assert_eq!(reqs[1].uri, "/next");
        assert_eq!(reqs[1].host.as_deref(), Some("h"));
        // The body came in small chunks, so only what was buffered with the head is kept.
        assert!(reqs[0].body_prefix.len() <= 4);
    }

    #[test]
    fn body_prefix_when_in_same_chunk() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let req = b"POST /login HTTP/1.1\r\nContent-Length: 9\r\n\r\nuser=root";
        p.feed(Direction::ToServer, req, &mut ev);
        assert!(ev
            .iter()
            .any(|e| matches!(e, AppEvent::HttpRequest(r) if r.body_prefix == b"user=root")));
    }

    #[test]
    fn oversized_head_gives_up_cleanly() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let mut alive = p.feed(Direction::ToServer, b"GET / HTTP/1.1\r\n", &mut ev);
        let filler = format!("X-Fill: {}\r\n", "a".repeat(1000));
        for _ in 0..20 {
            if !alive {
                break;
            }
            alive = p.feed(Direction::ToServer, filler.as_bytes(), &mut ev);
        }
        assert!(!alive);
        assert!(ev.iter().any(|e| matches!(
            e,
            AppEvent::Malformed {
                what: "head-too-long",
                ..
            }
        )));
    }

    #[test]
    fn garbage_is_malformed() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        assert!(!p.feed(
            Direction::ToServer,
            b"\x00\x01\x02 garbage\r\n\r\n",
            &mut ev
        ));
        assert!(matches!(
            ev[0],
            AppEvent::Malformed {
                protocol: "http",
                ..
            }
        ));
    }

    #[test]
    fn upnp_description_in_response_body() {
        let xml = "<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device>\
            <friendlyName>Living Room TV</friendlyName><manufacturer>ACME &amp; Co</manufacturer>\
            <modelName>TV-9000</modelName><modelNumber>9000</modelNumber></device></root>";
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
            xml.len()
        );
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        p.feed(
            Direction::ToServer,
            b"GET /desc.xml HTTP/1.1\r\n\r\n",
            &mut ev,
        );
        for c in resp.as_bytes().chunks(50) {
            p.feed(Direction::ToClient, c, &mut ev);
        }
        let vals: Vec<&str> = ev
            .iter()
            .filter_map(|e| match e {
                AppEvent::Hint(h) if h.kind == HintKind::UpnpDescription => Some(h.value.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            vals,
            vec![
                "friendlyName=Living Room TV",
                "manufacturer=ACME & Co",
                "modelName=TV-9000",
                "modelNumber=9000"
            ]
        );
    }

    #[test]
    fn head_response_has_no_body() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        p.feed(
            Direction::ToServer,
            b"HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            &mut ev,
        );
        p.feed(
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &mut ev,
        );
        let statuses: Vec<u16> = ev
            .iter()
            .filter_map(|e| match e {
                AppEvent::HttpResponse { status } => Some(*status),
                _ => None,
            })
            .collect();
        assert_eq!(statuses, vec![200, 404]);
    }

    #[test]
    fn request_line_detection() {
        assert!(looks_like_request(b"GET "));
        assert!(looks_like_request(b"MKCOL /dav/x HTTP/1.1\r\n"));
        assert!(looks_like_request(b"UNSUBSCRIBE /evt HTTP/1.1\r\n"));
        assert!(!looks_like_request(b"OPTIONS rtsp://cam/ RTSP/1.0\r\n"));
        assert!(!looks_like_request(b"HELLO world\r\n"));
        assert!(!looks_like_request(b"\x16\x03\x01"));
    }

    #[test]
    fn product_version_split() {
        assert_eq!(
            split_product_version("Apache/2.4.41 (Ubuntu)"),
            ("Apache".into(), Some("2.4.41".into()))
        );
        assert_eq!(split_product_version("nginx"), ("nginx".into(), None));
        assert_eq!(
            split_product_version("Linux/3.14.0 UPnP/1.0 IpBridge/1.9.0"),
            ("IpBridge".into(), Some("1.9.0".into()))
        );
        // MiniDLNA 1.3.0 on Debian, as served on loopback in the lab.
        assert_eq!(
            split_product_version("Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0"),
            ("MiniDLNA".into(), Some("1.3.0".into()))
        );
        assert_eq!(
            split_product_version("Unspecified, UPnP/1.0, Unspecified"),
            ("Unspecified".into(), None)
        );
        assert_eq!(
            split_product_version("SimpleHTTP/0.6 Python/3.10.6"),
            ("SimpleHTTP".into(), Some("0.6".into()))
        );
    }
}
