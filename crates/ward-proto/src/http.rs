//! HTTP/1.x requests and responses (httparse).
//!
//! What the parser reports, per flow:
//! - every request head as [`AppEvent::HttpRequest`] (URI cut at 2 KiB,
//!   `Content-Type`, up to 1 KiB of body that was already buffered with the
//!   head) and every final response status as [`AppEvent::HttpResponse`];
//! - a request whose head announced a body (`Content-Length` above 0, or
//!   chunked) but came without any of it (a chunked body always: its data
//!   is never in the head's body prefix), once more as
//!   [`AppEvent::HttpRequestBody`] when the body's first bytes arrive (up to
//!   1 KiB of the first segment that carries any; a chunked body's first
//!   chunk data), so that rules read a body with its head; one such request
//!   is kept per flow, until its body, a newer head or the flow's end;
//! - `User-Agent` as [`HintKind::HttpUserAgent`] about the initiator and
//!   `Server` as [`HintKind::HttpServer`] plus [`AppEvent::Software`] about the
//!   responder (each distinct value once per flow, de-duplicated by a 64-bit
//!   hash of the value, as in `dns.rs`);
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
//! A segment the capture's snap length cut ([`AppParser::feed_cut`]) is
//! parsed as far as it was kept. A head it cut short is still reported from
//! its complete lines, or, when the first line itself was cut, from the
//! request's method and the start of its target (a response's status code),
//! with [`HttpRequest::cut`] set; then, as after a cut the parser cannot
//! count its way through, it skips segments until one starts like a head.
//! A body cut short is skipped by its length. None of this applies to a
//! head split across segments of a whole capture: that one waits for its end.
//!
//! The head-parsing helpers ([`split_product_version`], [`parse_authorization`],
//! [`header_value`]) are `pub(crate)` so that HTTP-shaped protocols (RTSP,
//! SSDP) reuse them.

use std::collections::VecDeque;
use std::hash::{Hash as _, Hasher as _};
use std::mem::MaybeUninit;
use std::num::NonZeroU64;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// Expecting a head.
    Head,
    /// Skipping `left` body bytes.
    Length,
    /// Inside a chunked body, expecting a chunk-size line.
    ChunkSize,
    /// Inside a chunked body, skipping `left` bytes of chunk data and its CRLF.
    ChunkData,
    /// Inside a chunked body, skipping trailer lines until an empty line.
    ChunkTrailer,
    /// Body runs until the connection closes (response without length, or
    /// after an upgrade): nothing more to parse in this direction.
    ToEnd,
    /// A snap length cut bytes out of the stream where they could not be
    /// skipped by count (inside a head, or past the end of a body): the
    /// next message starts somewhere unknown. Chunks are skipped until one
    /// starts like a head. Only [`AppParser::feed_cut`] leads here.
    Lost,
}

/// Body framing a head announced.
enum Body {
    Length(u64),
    Chunked,
    ToEnd,
}

/// HTTP/1.x parser for one TCP flow.
///
/// Most HTTP flows hold one request waiting for its response, or sit idle
/// between requests, for the rest of their timeout; what they need then is
/// kept inline in 56 bytes: each direction's framing, the queue of pending
/// requests as bit masks, and the hashes of the first User-Agent and Server
/// reported. Head bytes split across segments, the credentials of pending
/// requests, further de-duplication hashes and a UPnP body being collected
/// live in a box made only while a flow needs one of them.
///
/// Heads and bodies are parsed where they lie in the chunk the engine
/// passes; only a head (or chunk-size or trailer line) that ends beyond the
/// chunk is copied, to be completed by the next.
#[derive(Debug)]
pub struct HttpParser {
    /// Bytes left of a `Length` body or of `ChunkData`, per direction
    /// (index 0 to the server, 1 to the client).
    left: [u64; 2],
    /// Hashes (see [`seen_hash`]) of the first User-Agent and the first
    /// Server reported; the rest of each list is in `cold`.
    ua_first: Option<NonZeroU64>,
    server_first: Option<NonZeroU64>,
    cold: Option<Box<Cold>>,
    /// Requests waiting for their response, oldest in bit 0: a HEAD request.
    pending_head: u32,
    /// Same order: the request carried a credential (the next one in
    /// `cold.credentials`).
    pending_cred: u32,
    /// Number of pending requests, at most [`PENDING_MAX`].
    pending_len: u8,
    framing: [Framing; 2],
    /// The current response body is being collected for the UPnP scan (its
    /// bytes so far are `cold.upnp_body`).
    upnp_collecting: bool,
}

/// Per-flow state most flows never need.
#[derive(Debug, Default)]
struct Cold {
    /// Start of a head (or chunk line) that did not end in its segment, per direction.
    buf: [Vec<u8>; 2],
    /// Credentials of pending requests, oldest first.
    credentials: VecDeque<Credential>,
    /// De-duplication hashes after `ua_first` / `server_first`, oldest first.
    ua_more: Vec<u64>,
    server_more: Vec<u64>,
    /// UPnP `key=value` hashes reported, oldest first.
    upnp_seen: Vec<u64>,
    /// Body of the current response being collected for the UPnP scan.
    upnp_body: Vec<u8>,
    /// The last request, when its head announced a body that did not come
    /// with it: reported again as [`AppEvent::HttpRequestBody`] with the
    /// body's first bytes. At most one per flow (a newer head replaces it).
    body_wait: Option<Box<HttpRequest>>,
}

impl Cold {
    fn is_empty(&self) -> bool {
        self.buf.iter().all(Vec::is_empty)
            && self.credentials.is_empty()
            && self.ua_more.is_empty()
            && self.server_more.is_empty()
            && self.upnp_seen.is_empty()
            && self.upnp_body.is_empty()
            && self.body_wait.is_none()
    }
}

impl Default for HttpParser {
    fn default() -> Self {
        Self::new()
    }
}

/// What one step over a window of one direction's bytes did.
enum Step {
    /// This many bytes consumed; step again.
    Progress(usize),
    /// This many bytes consumed (stray CRLFs), and what follows is not
    /// complete within the window.
    NeedMore(usize),
    /// The rest of the direction is body to the end of the connection.
    ToEnd,
    Fail(&'static str),
}

impl HttpParser {
    pub fn new() -> Self {
        HttpParser {
            left: [0; 2],
            ua_first: None,
            server_first: None,
            cold: None,
            pending_head: 0,
            pending_cred: 0,
            pending_len: 0,
            framing: [Framing::Head; 2],
            upnp_collecting: false,
        }
    }

    fn cold(&mut self) -> &mut Cold {
        self.cold.get_or_insert_with(Box::default)
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

    /// Feed one direction (`d`: 0 to the server, 1 to the client).
    ///
    /// The steps see the bytes through a window that is exactly the buffer
    /// an earlier version of this parser kept (at most [`HEAD_MAX`] bytes from
    /// where it stands, filled from the chunk only when a step needs more), so
    /// what it reports does not depend on whether the bytes were copied: a
    /// head that does not end within [`HEAD_MAX`] bytes is too long, and a
    /// request's body prefix is what the window holds after its head.
    fn feed_side(&mut self, d: usize, data: &[u8], out: &mut Vec<AppEvent>) -> bool {
        if self.framing[d] == Framing::ToEnd {
            if d == 1 {
                self.collect_upnp(data, out);
            }
            return true;
        }
        if self.framing[d] == Framing::Lost {
            let head = if d == 0 {
                looks_like_request(data)
            } else {
                looks_like_response(data)
            };
            if !head {
                return true;
            }
            self.framing[d] = Framing::Head;
        }
        let mut pos = 0;
        let mut buf = match &mut self.cold {
            Some(c) => std::mem::take(&mut c.buf[d]),
            None => Vec::new(),
        };
        if !buf.is_empty() {
            // A head began in an earlier segment: complete it in the buffer,
            // then go on in place once the buffer is used up.
            let take = data.len().min(HEAD_MAX.saturating_sub(buf.len()));
            buf.extend_from_slice(&data[..take]);
            pos = take;
            let mut p = 0;
            loop {
                match self.step(d, &buf[p..], out) {
                    Step::Progress(n) => p += n,
                    Step::NeedMore(n) => {
                        p += n;
                        if p == buf.len() {
                            break;
                        }
                        if pos == data.len() {
                            buf.drain(..p);
                            self.cold().buf[d] = buf;
                            return true;
                        }
                        let room = HEAD_MAX.saturating_sub(buf.len() - p);
                        if room == 0 {
                            return self.abandon("head-too-long", out);
                        }
                        buf.drain(..p);
                        p = 0;
                        let take = (data.len() - pos).min(room);
                        buf.extend_from_slice(&data[pos..pos + take]);
                        pos += take;
                    }
                    Step::ToEnd => {
                        if d == 1 {
                            self.collect_upnp(&buf[p..], out);
                            self.collect_upnp(&data[pos..], out);
                        }
                        return true;
                    }
                    Step::Fail(what) => return self.abandon(what, out),
                }
            }
        }
        let mut p = pos;
        let mut end = data.len().min(p.saturating_add(HEAD_MAX));
        loop {
            if p == end {
                if p == data.len() {
                    return true;
                }
                end = data.len().min(p.saturating_add(HEAD_MAX));
                continue;
            }
            match self.step(d, &data[p..end], out) {
                Step::Progress(n) => p += n,
                Step::NeedMore(n) => {
                    p += n;
                    if end == data.len() {
                        if p < end {
                            // Rare: the head goes on in the next segment.
                            let rest = &data[p..end];
                            let cold = self.cold();
                            cold.buf[d].clear();
                            cold.buf[d].extend_from_slice(rest);
                        }
                        return true;
                    }
                    if end - p >= HEAD_MAX {
                        return self.abandon("head-too-long", out);
                    }
                    end = data.len().min(p.saturating_add(HEAD_MAX));
                }
                Step::ToEnd => {
                    if d == 1 {
                        self.collect_upnp(&data[p..], out);
                    }
                    return true;
                }
                Step::Fail(what) => return self.abandon(what, out),
            }
        }
    }

    /// Consume what the window `w` of direction `d` allows: one head or
    /// some body bytes.
    fn step(&mut self, d: usize, w: &[u8], out: &mut Vec<AppEvent>) -> Step {
        if w.is_empty() {
            return Step::NeedMore(0);
        }
        match self.framing[d] {
            Framing::ToEnd => Step::ToEnd,
            // Not reached: `feed_side` leaves this state before stepping.
            Framing::Lost => Step::Progress(w.len()),
            Framing::Length => {
                let take = self.left[d].min(w.len() as u64) as usize;
                if d == 0 {
                    self.report_body(&w[..take], out);
                }
                self.left[d] -= take as u64;
                let done = self.left[d] == 0;
                if done {
                    self.framing[d] = Framing::Head;
                }
                if d == 1 {
                    self.collect_upnp(&w[..take], out);
                    if done {
                        self.end_upnp(out);
                    }
                }
                Step::Progress(take)
            }
            Framing::ChunkSize => match httparse::parse_chunk_size(w) {
                Ok(httparse::Status::Complete((n, size))) => {
                    if size == 0 {
                        self.framing[d] = Framing::ChunkTrailer;
                    } else {
                        // The chunk's own CRLF is skipped along with its data.
                        self.framing[d] = Framing::ChunkData;
                        self.left[d] = size.saturating_add(2);
                    }
                    Step::Progress(n)
                }
                Ok(httparse::Status::Partial) => Step::NeedMore(0),
                Err(_) => Step::Fail("bad-chunked-body"),
            },
            Framing::ChunkData => {
                let take = self.left[d].min(w.len() as u64) as usize;
                if d == 0 {
                    // Without the chunk's CRLF (the last two of `left`).
                    let data = take.min(self.left[d].saturating_sub(2) as usize);
                    self.report_body(&w[..data], out);
                }
                self.left[d] -= take as u64;
                if self.left[d] == 0 {
                    self.framing[d] = Framing::ChunkSize;
                }
                // The trailing CRLF of a chunk is fed to the UPnP scan too; harmless.
                if d == 1 {
                    self.collect_upnp(&w[..take], out);
                }
                Step::Progress(take)
            }
            Framing::ChunkTrailer => {
                let Some(pos) = memchr::memmem::find(w, b"\r\n") else {
                    return Step::NeedMore(0);
                };
                if pos == 0 {
                    self.framing[d] = Framing::Head;
                    if d == 1 {
                        self.end_upnp(out);
                    }
                }
                Step::Progress(pos + 2)
            }
            Framing::Head => {
                // Tolerate stray CRLFs between messages (RFC 9112 §2.2).
                let crlf = w
                    .iter()
                    .take_while(|b| **b == b'\r' || **b == b'\n')
                    .count();
                let head = &w[crlf..];
                if head.is_empty() {
                    return Step::NeedMore(crlf);
                }
                let step = if d == 0 {
                    self.request_head(head, out)
                } else {
                    self.response_head(head, out)
                };
                match step {
                    Step::Progress(n) => Step::Progress(crlf + n),
                    Step::NeedMore(n) => Step::NeedMore(crlf + n),
                    other => other,
                }
            }
        }
    }

    /// Start a direction's next body.
    fn set_body(&mut self, d: usize, body: Body) {
        let (framing, left) = match body {
            Body::Length(n) => (Framing::Length, n),
            Body::Chunked => (Framing::ChunkSize, 0),
            Body::ToEnd => (Framing::ToEnd, 0),
        };
        self.framing[d] = framing;
        self.left[d] = left;
    }

    fn request_head(&mut self, buf: &[u8], out: &mut Vec<AppEvent>) -> Step {
        let mut headers = [MaybeUninit::uninit(); HEADERS_MAX];
        let mut req = httparse::Request::new(&mut []);
        let head_len = match req.parse_with_uninit_headers(buf, &mut headers) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Step::NeedMore(0),
            Err(httparse::Error::TooManyHeaders) => return Step::Fail("too-many-headers"),
            Err(_) => return Step::Fail("bad-request-head"),
        };
        // A newer head: an earlier request's body will not come any more.
        if let Some(c) = &mut self.cold {
            c.body_wait = None;
        }
        let method = req.method.unwrap_or_default().to_string();
        let uri_raw = req.path.unwrap_or_default();
        let uri = printable(uri_raw.as_bytes(), URI_MAX);
        let host = header_value(req.headers, "host").map(|v| printable(v, VALUE_MAX));
        let user_agent = header_value(req.headers, "user-agent").map(|v| printable(v, VALUE_MAX));
        let content_type =
            header_value(req.headers, "content-type").map(|v| printable(v, VALUE_MAX));
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
            _ => 0,
        };
        let avail = buf.len() - head_len;
        let body_prefix = buf[head_len..head_len + body_len_now.min(avail)].to_vec();

        if let Some(ua) = &user_agent {
            let key = seen_hash(ua);
            let cold = &mut self.cold;
            let fresh = remember(&mut self.ua_first, key, move || {
                &mut cold.get_or_insert_with(Box::default).ua_more
            });
            if fresh {
                out.push(AppEvent::Hint(Hint {
                    about: About::Initiator,
                    kind: HintKind::HttpUserAgent,
                    value: ua.clone(),
                }));
            }
        }
        let body_later = body_prefix.is_empty()
            && !is_connect
            && match &body {
                Body::Length(n) => *n > 0,
                Body::Chunked => true,
                Body::ToEnd => false,
            };
        let req = HttpRequest {
            method,
            uri,
            host,
            user_agent,
            content_type,
            body_prefix,
            cut: false,
            uri_cut: false,
        };
        if body_later {
            self.cold().body_wait = Some(Box::new(req.clone()));
        }
        out.push(AppEvent::HttpRequest(req));
        if usize::from(self.pending_len) >= PENDING_MAX {
            // Responses never came for the oldest: report it undecided.
            if let Some((_, Some(c))) = self.pop_pending() {
                out.push(AppEvent::Credential(c));
            }
        }
        self.push_pending(head_request, credential);
        // After CONNECT the stream is a tunnel; nothing HTTP follows from the client.
        self.set_body(0, if is_connect { Body::ToEnd } else { body });
        Step::Progress(head_len)
    }

    /// The first body bytes of a request that waits for its body
    /// ([`Cold::body_wait`]): report it with them.
    fn report_body(&mut self, bytes: &[u8], out: &mut Vec<AppEvent>) {
        if bytes.is_empty() {
            return;
        }
        let Some(mut req) = self.cold.as_mut().and_then(|c| c.body_wait.take()) else {
            return;
        };
        req.body_prefix = bytes[..bytes.len().min(BODY_PREFIX_MAX)].to_vec();
        out.push(AppEvent::HttpRequestBody(*req));
    }

    fn push_pending(&mut self, head_request: bool, credential: Option<Credential>) {
        let bit = 1u32 << self.pending_len;
        if head_request {
            self.pending_head |= bit;
        }
        if let Some(c) = credential {
            self.pending_cred |= bit;
            self.cold().credentials.push_back(c);
        }
        self.pending_len += 1;
    }

    /// The oldest pending request: whether it was a HEAD, and its credential.
    fn pop_pending(&mut self) -> Option<(bool, Option<Credential>)> {
        if self.pending_len == 0 {
            return None;
        }
        let head_request = self.pending_head & 1 != 0;
        let has_credential = self.pending_cred & 1 != 0;
        self.pending_head >>= 1;
        self.pending_cred >>= 1;
        self.pending_len -= 1;
        let credential = if has_credential {
            self.cold.as_mut().and_then(|c| c.credentials.pop_front())
        } else {
            None
        };
        Some((head_request, credential))
    }

    fn response_head(&mut self, buf: &[u8], out: &mut Vec<AppEvent>) -> Step {
        let mut headers = [MaybeUninit::uninit(); HEADERS_MAX];
        let mut resp = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut resp,
            buf,
            &mut headers,
        );
        let head_len = match parsed {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Step::NeedMore(0),
            Err(httparse::Error::TooManyHeaders) => return Step::Fail("too-many-headers"),
            Err(_) => return Step::Fail("bad-response-head"),
        };
        let status = resp.code.unwrap_or(0);
        out.push(AppEvent::HttpResponse { status });
        if let Some(server) = header_value(resp.headers, "server") {
            let raw = printable(server, VALUE_MAX);
            if !raw.trim().is_empty() {
                let key = seen_hash(&raw);
                let cold = &mut self.cold;
                let fresh = remember(&mut self.server_first, key, move || {
                    &mut cold.get_or_insert_with(Box::default).server_more
                });
                if fresh {
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
            if let Some((head, credential)) = self.pop_pending() {
                head_request = head;
                if let Some(mut c) = credential {
                    c.outcome = match status {
                        401 | 403 | 407 => LoginOutcome::Failure,
                        200..=399 => LoginOutcome::Success,
                        _ => LoginOutcome::Unknown,
                    };
                    out.push(AppEvent::Credential(c));
                }
            }
        }
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
        self.upnp_collecting = has_body && xml;
        if let Some(c) = &mut self.cold {
            c.upnp_body = Vec::new();
        }
        self.set_body(1, body);
        Step::Progress(head_len)
    }

    fn collect_upnp(&mut self, bytes: &[u8], out: &mut Vec<AppEvent>) {
        if !self.upnp_collecting || bytes.is_empty() {
            return;
        }
        let b = &mut self.cold().upnp_body;
        let room = UPNP_SCAN_MAX.saturating_sub(b.len());
        b.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if b.len() >= UPNP_SCAN_MAX {
            self.end_upnp(out);
        }
    }

    fn end_upnp(&mut self, out: &mut Vec<AppEvent>) {
        if !std::mem::take(&mut self.upnp_collecting) {
            return;
        }
        let Some(cold) = &mut self.cold else {
            return;
        };
        let body = std::mem::take(&mut cold.upnp_body);
        for kv in upnp_fields(&body) {
            if remember_list(&mut cold.upnp_seen, seen_hash(&kv)) {
                out.push(AppEvent::Hint(Hint {
                    about: About::Responder,
                    kind: HintKind::UpnpDescription,
                    value: kv,
                }));
            }
        }
    }

    /// `missing` bytes of direction `d` were cut off by the capture right
    /// after what was fed: skip them in a body, or report the head they cut
    /// short from what of it was captured, then wait for the next head.
    fn skip_cut(&mut self, d: usize, missing: u32, out: &mut Vec<AppEvent>) {
        let missing = u64::from(missing);
        if d == 0 {
            // A body's first bytes after the gap are not its first bytes.
            if let Some(c) = &mut self.cold {
                c.body_wait = None;
            }
        } else {
            // Body bytes are gone: scan what was collected.
            self.end_upnp(out);
        }
        let partial = self
            .cold
            .as_mut()
            .map(|c| std::mem::take(&mut c.buf[d]))
            .unwrap_or_default();
        match self.framing[d] {
            Framing::ToEnd | Framing::Lost => return,
            Framing::Length if self.left[d] >= missing => {
                self.left[d] -= missing;
                if self.left[d] == 0 {
                    self.framing[d] = Framing::Head;
                }
                return;
            }
            // Chunk data and its CRLF; the next chunk-size line must follow
            // whole.
            Framing::ChunkData if self.left[d] >= missing => {
                self.left[d] -= missing;
                if self.left[d] == 0 {
                    self.framing[d] = Framing::ChunkSize;
                }
                return;
            }
            Framing::Head if !partial.is_empty() => self.report_cut_head(d, &partial, out),
            _ => {}
        }
        self.framing[d] = Framing::Lost;
        if let Some(c) = &mut self.cold {
            c.body_wait = None;
        }
    }

    /// Report a head the capture cut short, from its captured start: the
    /// complete lines it has, or, when even the first line is cut, the
    /// request line's method and the start of its target (a response's
    /// status code). Rebuilt as a complete head and parsed as one, so it is
    /// checked and reported exactly as a whole head is; a request comes out
    /// with [`HttpRequest::cut`] set. Nothing is reported when not even
    /// that much was captured.
    fn report_cut_head(&mut self, d: usize, partial: &[u8], out: &mut Vec<AppEvent>) {
        let lines = memchr::memmem::rfind(partial, b"\r\n").map_or(0, |i| i + 2);
        let mut head = Vec::with_capacity(partial.len().min(HEAD_MAX) + 32);
        if lines > 0 {
            head.extend_from_slice(&partial[..lines]);
        } else if d == 0 {
            // `METHOD SP target-start`: the version (and the rest) was cut.
            let mut parts = partial.splitn(3, |b| *b == b' ');
            let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
                return;
            };
            if method.is_empty() || target.is_empty() {
                return;
            }
            head.extend_from_slice(method);
            head.push(b' ');
            head.extend_from_slice(target);
            head.extend_from_slice(b" HTTP/1.1\r\n");
        } else {
            // `HTTP/1.x NNN`: the status code whole, the reason cut.
            let Some(status) = partial.get(..12) else {
                return;
            };
            head.extend_from_slice(status);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let before = out.len();
        let step = if d == 0 {
            self.request_head(&head, out)
        } else {
            self.response_head(&head, out)
        };
        if let Step::Fail(what) = step {
            // Malformed as a whole head would be (detectors that read
            // rejected requests themselves wait for this).
            out.truncate(before);
            out.push(AppEvent::Malformed {
                protocol: PROTO,
                what,
            });
            return;
        }
        for ev in &mut out[before..] {
            if let AppEvent::HttpRequest(r) = ev {
                r.cut = true;
                r.uri_cut = lines == 0;
            }
        }
    }

    /// Free the box once nothing in it is needed.
    fn trim(&mut self) {
        if self.cold.as_ref().is_some_and(|c| c.is_empty()) {
            self.cold = None;
        }
    }
}

/// De-duplication key of a reported value. The seen-lists keep 64-bit
/// hashes instead of the values (a `String` each); a collision can only hide
/// a repeat-looking value of the same flow, as in `dns.rs`.
fn seen_hash(value: &str) -> NonZeroU64 {
    let mut h = std::hash::DefaultHasher::new();
    value.hash(&mut h);
    NonZeroU64::new(h.finish()).unwrap_or(NonZeroU64::MIN)
}

/// Remember `key` in a bounded list whose first (oldest) entry is inline
/// and the rest is `more()`; true when it was new. At most [`SEEN_MAX`],
/// forgetting the oldest first.
fn remember<'a>(
    first: &mut Option<NonZeroU64>,
    key: NonZeroU64,
    more: impl FnOnce() -> &'a mut Vec<u64>,
) -> bool {
    let Some(f) = *first else {
        *first = Some(key);
        return true;
    };
    if f == key {
        return false;
    }
    let more = more();
    if more.contains(&key.get()) {
        return false;
    }
    if 1 + more.len() >= SEEN_MAX {
        // Forget the oldest: the inline one, which the next takes over.
        *first = NonZeroU64::new(more.remove(0));
    }
    push_one(more, key.get());
    true
}

/// [`remember`] for a list kept wholly in the box.
fn remember_list(seen: &mut Vec<u64>, key: NonZeroU64) -> bool {
    if seen.contains(&key.get()) {
        return false;
    }
    if seen.len() >= SEEN_MAX {
        seen.remove(0);
    }
    push_one(seen, key.get());
    true
}

fn push_one(v: &mut Vec<u64>, x: u64) {
    if v.len() == v.capacity() {
        // Most flows remember one or two values: grow from one slot, not four.
        v.reserve_exact(v.len().max(1));
    }
    v.push(x);
}

/// Message body framing from the headers (RFC 9112 §6.3): `Ok(None)` when
/// neither `Transfer-Encoding: chunked` nor a valid `Content-Length` is there.
fn body_framing(headers: &[httparse::Header<'_>]) -> Result<Option<Body>, &'static str> {
    if let Some(te) = header_value(headers, "transfer-encoding") {
        let te = String::from_utf8_lossy(te).to_ascii_lowercase();
        if te.rsplit(',').next().map(str::trim) == Some("chunked") {
            return Ok(Some(Body::Chunked));
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
    // A known method, or any upper-case token (WebDAV, GENA, …) followed by
    // a space. Decided first, from the first few bytes: this runs on the
    // first payload of every TCP flow on an odd port, mostly binary, where
    // scanning for the line's end and two substrings byte by byte cost
    // about 3 400 instructions a flow. The token stops at a line feed, so
    // it and its space lie inside the request line.
    let known = METHODS.iter().any(|m| first.starts_with(m));
    let token_len = first
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || **b == b'-')
        .count();
    let token = token_len >= 3 && first.get(token_len) == Some(&b' ');
    if !(known || token) {
        return false;
    }
    let line = memchr::memchr(b'\n', first).map_or(first, |end| &first[..end]);
    // RTSP shares methods (OPTIONS, …) with HTTP; its request line ends in RTSP/1.0.
    if memchr::memmem::find(line, b"RTSP/").is_some() {
        return false;
    }
    // A token that is not a known method must be on a line naming HTTP/1.x.
    known || memchr::memmem::find(line, b"HTTP/1.").is_some()
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
        let d = usize::from(dir == Direction::ToClient);
        let more = self.feed_side(d, data, out);
        self.trim();
        more
    }

    fn feed_cut(
        &mut self,
        dir: Direction,
        data: &[u8],
        missing: u32,
        out: &mut Vec<AppEvent>,
    ) -> bool {
        let d = usize::from(dir == Direction::ToClient);
        if !data.is_empty() && !self.feed_side(d, data, out) {
            return false;
        }
        if missing > 0 {
            self.skip_cut(d, missing, out);
        }
        self.trim();
        true
    }

    fn finish(&mut self, out: &mut Vec<AppEvent>) {
        if let Some(c) = &mut self.cold {
            c.body_wait = None;
        }
        self.end_upnp(out);
        while let Some((_, credential)) = self.pop_pending() {
            if let Some(c) = credential {
                out.push(AppEvent::Credential(c));
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

    /// A flow waiting for its response, or idle between requests, keeps
    /// nothing but the inline state; the box exists only while something
    /// in it is needed.
    #[test]
    fn idle_and_waiting_flows_keep_no_box() {
        assert!(std::mem::size_of::<HttpParser>() <= 56);
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let req = b"GET /index.html HTTP/1.1\r\nHost: cam\r\nUser-Agent: curl/8.0\r\n\r\n";
        assert!(p.feed(Direction::ToServer, req, &mut ev));
        assert!(p.cold.is_none(), "one request waiting, one UA remembered");
        assert_eq!(p.pending_len, 1);
        // A head split across segments is kept only until it is complete.
        let resp = b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.59\r\nContent-Length: 4\r\n\r\nbody";
        assert!(p.feed(Direction::ToClient, &resp[..25], &mut ev));
        assert!(p.cold.as_ref().is_some_and(|c| c.buf[1].len() == 25));
        assert!(p.feed(Direction::ToClient, &resp[25..], &mut ev));
        assert!(p.cold.is_none());
        assert_eq!(p.pending_len, 0);
        assert_eq!(p.framing[1], Framing::Head);
        // The same UA and Server again: not reported twice, still no box.
        let n = ev.len();
        assert!(p.feed(Direction::ToServer, req, &mut ev));
        assert!(p.feed(Direction::ToClient, resp, &mut ev));
        assert!(p.cold.is_none());
        assert!(ev[n..]
            .iter()
            .all(|e| !matches!(e, AppEvent::Hint(_) | AppEvent::Software { .. })));
    }

    fn bodies(ev: &[AppEvent]) -> Vec<(&str, &[u8])> {
        ev.iter()
            .filter_map(|e| match e {
                AppEvent::HttpRequestBody(r) => Some((r.uri.as_str(), &r.body_prefix[..])),
                _ => None,
            })
            .collect()
    }

    /// The Content-Type comes with the request; a body that did not come
    /// with its head is reported once, with the head's fields, when its first
    /// bytes arrive; a body in the head's segment is only the body prefix.
    #[test]
    fn request_body_after_its_head_is_reported_with_the_head() {
        let head = b"POST /login.cgi HTTP/1.1\r\nHost: cam\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 19\r\n\r\n";
        let body = b"user=admin&pass=123";
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, head, &mut ev));
        let AppEvent::HttpRequest(r) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert!(r.body_prefix.is_empty());
        assert!(bodies(&ev).is_empty());
        assert!(p.cold.as_ref().is_some_and(|c| c.body_wait.is_some()));
        ev.clear();
        assert!(p.feed(Direction::ToServer, &body[..7], &mut ev));
        assert!(p.feed(Direction::ToServer, &body[7..], &mut ev));
        assert_eq!(
            bodies(&ev),
            [("/login.cgi", &body[..7])],
            "once, first bytes"
        );
        let Some(AppEvent::HttpRequestBody(r)) = ev.first() else {
            panic!("{ev:?}")
        };
        assert_eq!(r.method, "POST");
        assert_eq!(r.host.as_deref(), Some("cam"));
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        // Nothing kept once the body came and the response is in.
        assert!(p.feed(
            Direction::ToClient,
            b"HTTP/1.1 204 No Content\r\n\r\n",
            &mut ev
        ));
        assert!(p.cold.is_none());

        // Head and body in one segment: the prefix, no second report.
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let whole = [&head[..], &body[..]].concat();
        assert!(p.feed(Direction::ToServer, &whole, &mut ev));
        assert!(bodies(&ev).is_empty());
        assert!(matches!(&ev[0], AppEvent::HttpRequest(r) if r.body_prefix == body));

        // No body announced (a GET; Content-Length: 0): nothing waits.
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let get = b"GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert!(p.feed(Direction::ToServer, get, &mut ev));
        assert!(p.cold.is_none());
        assert!(p.feed(Direction::ToServer, b"GET /c HTTP/1.1\r\n\r\n", &mut ev));
        assert!(bodies(&ev).is_empty());
        assert!(ev
            .iter()
            .all(|e| !matches!(e, AppEvent::HttpRequest(r) if r.content_type.is_some())));
    }

    /// A chunked body's first chunk data (without its size line and CRLF)
    /// is the reported body, in the head's segment or a later one; a newer
    /// head or the flow's end drops a body still waiting.
    #[test]
    fn chunked_request_bodies_and_bodies_that_never_come() {
        let head = b"PUT /cfg HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let chunks = b"5\r\na=1&b\r\n3\r\n=22\r\n0\r\n\r\n";
        let whole = [&head[..], &chunks[..]].concat();
        for cut in [head.len(), head.len() + 2, whole.len()] {
            let mut p = HttpParser::new();
            let mut ev = Vec::new();
            assert!(p.feed(Direction::ToServer, &whole[..cut], &mut ev));
            assert!(p.feed(Direction::ToServer, &whole[cut..], &mut ev));
            assert_eq!(bodies(&ev), [("/cfg", &b"a=1&b"[..])], "cut at {cut}");
            assert!(p.cold.is_none(), "cut at {cut}");
        }

        // The next head comes instead of the body (Content-Length lied
        // about nothing here: the client sent a zero-size chunked body).
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, head, &mut ev));
        assert!(p.feed(Direction::ToServer, b"0\r\n\r\n", &mut ev));
        assert!(p.feed(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut ev));
        assert!(bodies(&ev).is_empty());
        assert!(p.cold.is_none());

        // The flow ends first.
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(
            Direction::ToServer,
            b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
            &mut ev
        ));
        p.finish(&mut ev);
        assert!(bodies(&ev).is_empty());
        assert!(p.cold.as_ref().is_none_or(|c| c.body_wait.is_none()));
    }

    /// Parsing in place keeps the old buffer's window: a head is read from
    /// at most HEAD_MAX bytes filled when the previous step needed more, so
    /// a body prefix that comes after a second, long head in the same chunk
    /// is cut where that buffer ended (8 192 bytes into the chunk), not
    /// HEAD_MAX bytes after the second head's start.
    #[test]
    fn body_prefix_is_cut_where_the_old_buffer_ended() {
        let first = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        let mut second = b"POST /b HTTP/1.1\r\nX-Pad: ".to_vec();
        second.resize(7_600 - 4 - 20, b'a');
        second.extend_from_slice(b"\r\nContent-Length: 1000\r\n\r\n");
        let head_len = second.len();
        second.extend_from_slice(&[b'b'; 1000]);
        let mut chunk = first.clone();
        chunk.extend_from_slice(&second);
        let mut ev = Vec::new();
        assert!(HttpParser::new().feed(Direction::ToServer, &chunk, &mut ev));
        let prefixes: Vec<usize> = ev
            .iter()
            .filter_map(|e| match e {
                AppEvent::HttpRequest(r) => Some(r.body_prefix.len()),
                _ => None,
            })
            .collect();
        assert_eq!(prefixes, vec![0, HEAD_MAX - first.len() - head_len]);
        // Fed on its own, the second request's window starts at its head.
        let mut ev = Vec::new();
        assert!(HttpParser::new().feed(Direction::ToServer, &second, &mut ev));
        assert!(ev.iter().any(
            |e| matches!(e, AppEvent::HttpRequest(r) if r.body_prefix.len() == HEAD_MAX - head_len)
        ));
    }

    /// The pending queue is bit masks plus the credentials in the box: 40
    /// pipelined requests, every third with a login, keep their order; the
    /// oldest are reported undecided when the queue is full.
    #[test]
    fn pipelined_requests_keep_their_credentials_in_order() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let mut stream = Vec::new();
        for i in 0..40 {
            let method = if i % 5 == 0 { "HEAD" } else { "GET" };
            stream.extend_from_slice(format!("{method} /{i} HTTP/1.1\r\n").as_bytes());
            if i % 3 == 0 {
                let auth = b64(format!("u{i}:p").as_bytes());
                stream.extend_from_slice(format!("Authorization: Basic {auth}\r\n").as_bytes());
            }
            stream.extend_from_slice(b"\r\n");
        }
        assert!(p.feed(Direction::ToServer, &stream, &mut ev));
        assert_eq!(usize::from(p.pending_len), PENDING_MAX);
        // Requests 0..8 fell out of the queue: their logins (0, 3, 6) undecided.
        let early: Vec<_> = creds(&ev).iter().map(|c| c.username.clone()).collect();
        assert_eq!(early, ["u0", "u3", "u6"].map(|u| Some(u.to_string())));
        // Request 8 is the oldest now; 401 to it, 200 to 9 (login u9).
        ev.clear();
        assert!(p.feed(
            Direction::ToClient,
            b"HTTP/1.1 401 No\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            &mut ev
        ));
        let c = creds(&ev);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].username.as_deref(), Some("u9"));
        assert_eq!(c[0].outcome, LoginOutcome::Success);
        // Request 10 was a HEAD: its 200 has no body, so the next head parses.
        ev.clear();
        assert!(p.feed(
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 403 F\r\nContent-Length: 0\r\n\r\n",
            &mut ev
        ));
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, AppEvent::HttpResponse { .. }))
                .count(),
            2
        );
        // Request 11 has no login; 12 (u12) is left for finish, with 15 … 39.
        p.finish(&mut ev);
        let rest: Vec<_> = creds(&ev)
            .iter()
            .map(|c| c.username.clone().unwrap())
            .collect();
        let want: Vec<String> = (12..40)
            .filter(|i| i % 3 == 0)
            .map(|i| format!("u{i}"))
            .collect();
        assert_eq!(rest, want);
        assert_eq!(p.pending_len, 0);
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

    fn requests(ev: &[AppEvent]) -> Vec<&HttpRequest> {
        ev.iter()
            .filter_map(|e| match e {
                AppEvent::HttpRequest(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Feed `msg` as one segment a snap length cut after `kept` bytes.
    fn feed_cut_at(
        p: &mut HttpParser,
        dir: Direction,
        msg: &[u8],
        kept: usize,
        ev: &mut Vec<AppEvent>,
    ) {
        let missing = (msg.len() - kept) as u32;
        assert!(p.feed_cut(dir, &msg[..kept], missing, ev));
    }

    #[test]
    fn a_head_cut_by_the_snap_length_is_reported_from_what_was_kept() {
        let req = b"GET /cgi-bin/x?cmd=id HTTP/1.1\r\nHost: cam\r\nUser-Agent: Mozilla/5.0 (compatible)\r\n\r\n";
        // Cut inside the User-Agent line: the lines before it are whole.
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        feed_cut_at(&mut p, Direction::ToServer, req, 50, &mut ev);
        let r = requests(&ev);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].method.as_str(), r[0].uri.as_str()),
            ("GET", "/cgi-bin/x?cmd=id")
        );
        assert_eq!(r[0].host.as_deref(), Some("cam"));
        assert_eq!(r[0].user_agent, None);
        assert!(r[0].cut);
        assert!(!r[0].uri_cut, "the request line was kept whole");
        // Cut inside the target: its start.
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        feed_cut_at(&mut p, Direction::ToServer, req, 16, &mut ev);
        let r = requests(&ev);
        assert_eq!((r[0].uri.as_str(), r[0].cut), ("/cgi-bin/x?c", true));
        assert!(
            r[0].uri_cut,
            "the target ends at the cut, not where it ended"
        );
        // Cut inside the method: nothing to report, and no malformation.
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        feed_cut_at(&mut p, Direction::ToServer, req, 2, &mut ev);
        assert!(ev.is_empty(), "{ev:?}");
    }

    #[test]
    fn a_head_split_across_segments_is_not_taken_for_a_cut_one() {
        let req = b"GET /cgi-bin/x?cmd=id HTTP/1.1\r\nHost: cam\r\n\r\n";
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        assert!(p.feed(Direction::ToServer, &req[..16], &mut ev));
        assert!(ev.is_empty(), "a partial head waits for the rest");
        assert!(p.feed(Direction::ToServer, &req[16..], &mut ev));
        let r = requests(&ev);
        assert_eq!((r[0].uri.as_str(), r[0].cut), ("/cgi-bin/x?cmd=id", false));
    }

    #[test]
    fn after_a_cut_the_parser_waits_for_the_next_head() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        // A POST whose head and body were cut short, then the rest of its
        // body in a second cut segment, then the next request whole.
        let post =
            b"POST /login HTTP/1.1\r\nHost: cam\r\nContent-Length: 3000\r\n\r\nuser=admin&pass=";
        feed_cut_at(&mut p, Direction::ToServer, post, 40, &mut ev);
        let more = [b'x'; 1400];
        feed_cut_at(&mut p, Direction::ToServer, &more, 60, &mut ev);
        assert!(p.feed(Direction::ToServer, b"GET /next HTTP/1.1\r\n\r\n", &mut ev));
        assert!(
            !ev.iter().any(|e| matches!(e, AppEvent::Malformed { .. })),
            "{ev:?}"
        );
        let r = requests(&ev);
        let uris: Vec<(&str, bool)> = r.iter().map(|r| (r.uri.as_str(), r.cut)).collect();
        assert_eq!(uris, [("/login", true), ("/next", false)]);
        // A head kept whole whose body was cut: the body's length is
        // skipped by count, and the next head is read where it starts.
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let mut msg = b"POST /a HTTP/1.1\r\nContent-Length: 200\r\n\r\n".to_vec();
        let head = msg.len();
        msg.extend_from_slice(&[b'y'; 200]);
        msg.extend_from_slice(b"GET /b HTTP/1.1\r\n\r\n");
        // One segment with the first message, cut 10 bytes into its body;
        // the second message in the next segment, whole.
        feed_cut_at(
            &mut p,
            Direction::ToServer,
            &msg[..head + 200],
            head + 10,
            &mut ev,
        );
        assert!(p.feed(Direction::ToServer, &msg[head + 200..], &mut ev));
        let uris: Vec<&str> = requests(&ev).iter().map(|r| r.uri.as_str()).collect();
        assert_eq!(uris, ["/a", "/b"]);
    }

    #[test]
    fn a_cut_response_still_gives_its_status_and_the_login_outcome() {
        let mut p = HttpParser::new();
        let mut ev = Vec::new();
        let r1 = format!(
            "GET / HTTP/1.1\r\nAuthorization: Basic {}\r\n\r\n",
            b64(b"admin:12345")
        );
        assert!(p.feed(Direction::ToServer, r1.as_bytes(), &mut ev));
        let resp = b"HTTP/1.1 401 Unauthorized\r\nServer: webs\r\nContent-Length: 300\r\n\r\n";
        feed_cut_at(&mut p, Direction::ToClient, resp, 16, &mut ev);
        p.finish(&mut ev);
        assert!(ev.contains(&AppEvent::HttpResponse { status: 401 }));
        let c = creds(&ev);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].outcome, LoginOutcome::Failure);
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

    /// The request-line test as it was before it decided from the first
    /// bytes (line end first, then the substrings): the model the faster
    /// one must agree with.
    fn looks_like_request_model(first: &[u8]) -> bool {
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
        if line.windows(5).any(|w| w == b"RTSP/") {
            return false;
        }
        let token_len = line
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || **b == b'-')
            .count();
        METHODS.iter().any(|m| first.starts_with(m))
            || (token_len >= 3
                && line.get(token_len) == Some(&b' ')
                && line.windows(7).any(|w| w == b"HTTP/1."))
    }

    /// Hand-picked edges: a line feed inside, right after or before the
    /// token, the substrings on the next line, cut short, `-` in tokens.
    #[test]
    fn request_line_detection_matches_the_model() {
        let cases: &[&[u8]] = &[
            b"",
            b"G",
            b"GET",
            b"GET ",
            b"GET\n ",
            b"GE\nT ",
            b"GET /\nRTSP/1.0",
            b"GET / RTSP/1.0",
            b"MKCOL",
            b"MKCOL ",
            b"MKCOL / HTTP/1.1",
            b"MKCOL /\nHTTP/1.1",
            b"MK\nCOL / HTTP/1.1",
            b"M-SEARCH * HTTP/1.1\r\n",
            b"AB / HTTP/1.1",
            b"ABC HTTP/1.",
            b"ABC HTTP/1",
            b"ABC\tHTTP/1.1",
            b"abc / HTTP/1.1",
            b"--- HTTP/1.0",
            b"OPTIONS * RTSP/",
            b"OPTIONS * RTSP",
            b"NOTIFY * HTTP/1.1\r\nRTSP/1.0",
            b"XYZ RTSP/ HTTP/1.1",
            b"SUBSCRIBE\n",
            b"\nGET / HTTP/1.1",
            b"POST",
            b"POST /x",
            b"DELETE ",
        ];
        for c in cases {
            assert_eq!(looks_like_request(c), looks_like_request_model(c), "{c:?}");
        }
    }

    proptest::proptest! {
        /// Random first payloads made of request-line pieces and bytes.
        #[test]
        fn request_line_detection_is_the_model(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Strategy::prop_map(
                    proptest::sample::select(vec![
                        &b"GET "[..], b"NOTIFY ", b"MKCOL", b"M-SEARCH", b"AB", b" ", b"\n",
                        b"\r\n", b"HTTP/1.", b"HTTP/1.1", b"RTSP/", b"RTSP/1.0", b"/", b"*", b"-",
                        b"OPTIONS",
                    ]),
                    <[u8]>::to_vec,
                ),
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6),
            ], 0..8),
        ) {
            let first = parts.concat();
            proptest::prop_assert_eq!(looks_like_request(&first), looks_like_request_model(&first));
        }
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
