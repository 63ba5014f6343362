//! The fixed-length, versioned feature vector of a device.
//!
//! A device's identity evidence (DHCP options, host name, mDNS, SSDP, HTTP,
//! TLS, DNS, TCP SYN signature, OUI vendor, services, protocols) becomes a
//! vector of [`DIM`] numbers:
//!
//! * [`HASH_BUCKETS`] binary slots: each piece of evidence is cut into
//!   tokens (the whole value with digit runs generalised, plus its parts:
//!   DHCP option codes, words of a User-Agent, the registered domain of a
//!   DNS query …), every token is prefixed with its source and hashed
//!   (FNV-1a, fixed, so the same evidence maps to the same slot on every
//!   machine and in every version of Rust) into one slot;
//! * one count per evidence kind, then counts of services, client
//!   protocols and host names and whether the MAC is locally administered.
//!
//! Guarantees: the length is always [`DIM`], the mapping depends only on the
//! evidence (never on arrival order beyond which items the inventory kept),
//! and it changes only together with [`FEATURE_VERSION`] — a model records the
//! version it was trained on and refuses a different one.
//! Every slot set is also returned with the evidence source behind it, so a
//! prediction can say which sources decided it.

use std::cmp::Ordering;

use ward_core::devices::Device;
use ward_proto::HintKind;

use crate::ports::{PortRole, PortSet};

/// Bumped whenever tokenisation, hashing or layout changes.
pub const FEATURE_VERSION: u32 = 1;
/// Hashed token slots.
pub const HASH_BUCKETS: usize = 2048;
/// Evidence kinds counted (one slot each).
const KINDS: [HintKind; 25] = [
    HintKind::Hostname,
    HintKind::DhcpParamList,
    HintKind::DhcpVendorClass,
    HintKind::DhcpClientId,
    HintKind::DhcpMaxMsgSize,
    HintKind::DhcpFqdn,
    HintKind::DhcpOptions,
    HintKind::Dhcpv6,
    HintKind::MdnsService,
    HintKind::MdnsTxt,
    HintKind::SsdpServer,
    HintKind::SsdpUsn,
    HintKind::SsdpNt,
    HintKind::UpnpDescription,
    HintKind::Lldp,
    HintKind::DnsQuery,
    HintKind::HttpUserAgent,
    HintKind::HttpServer,
    HintKind::TlsJa3,
    HintKind::TlsJa4,
    HintKind::TlsSni,
    HintKind::TcpSyn,
    HintKind::NtpServer,
    HintKind::Banner,
    HintKind::Os,
];
/// Dense slots after the hashed ones: one count per kind, then services,
/// protocols, host names, local MAC, then traffic shape: mean size of sent
/// and received frames, log2 of frames sent, IPv4 and IPv6 addresses.
const DENSE: usize = KINDS.len() + 9;
/// Length of every feature vector.
pub const DIM: usize = HASH_BUCKETS + DENSE;

const COUNT_CAP: f32 = 16.0;

/// A device's features and, for each set hashed slot, the source behind it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Features {
    pub x: Vec<f32>,
    /// (slot, evidence source) for every token hashed, sorted and
    /// deduplicated.
    pub origin: Vec<(u32, &'static str)>,
    /// A 32-bit id of every token (another part of the same hash), sorted
    /// and deduplicated: exact token identity for the novelty check, which
    /// the slots cannot give (different tokens share slots).
    pub tokens: Vec<u32>,
    /// The token id of the OUI vendor, which alone never identifies a
    /// model (one vendor makes routers, plugs and phones).
    pub oui_token: Option<u32>,
}

impl Features {
    /// The evidence sources that set `slot`, if it is a hashed slot.
    pub fn sources_of(&self, slot: u32) -> impl Iterator<Item = &'static str> + '_ {
        // `origin` is sorted by slot: a binary search, not a scan (this
        // runs for every node of every tree a prediction walks).
        let start = self.origin.partition_point(|(s, _)| *s < slot);
        self.origin[start..]
            .iter()
            .take_while(move |(s, _)| *s == slot)
            .map(|(_, src)| *src)
    }

    /// Name of a dense slot (for explanations), `None` for hashed slots.
    pub fn dense_name(slot: u32) -> Option<&'static str> {
        let i = (slot as usize).checked_sub(HASH_BUCKETS)?;
        if let Some(k) = KINDS.get(i) {
            return Some(k.as_str());
        }
        match i - KINDS.len() {
            0 => Some("services"),
            1 => Some("protocols"),
            2 => Some("hostname"),
            3 => Some("random_mac"),
            4 => Some("traffic.mean_sent_size"),
            5 => Some("traffic.mean_received_size"),
            6 => Some("traffic.log2_frames_sent"),
            7 => Some("ipv4_addresses"),
            8 => Some("ipv6_addresses"),
            _ => None,
        }
    }
}

/// The evidence of one device, as the extractor reads it. Kept separate
/// from [`Device`] so the training code and tests can build it directly.
#[derive(Clone, Debug, Default)]
pub struct EvidenceView<'a> {
    pub vendor: Option<&'a str>,
    pub evidence: Vec<(HintKind, &'a str)>,
    pub services: Vec<(u8, u16)>,
    pub protocols: Vec<&'a str>,
    pub hostnames: usize,
    pub local_mac: bool,
    /// (frames, bytes) sent and received.
    pub sent: (u64, u64),
    pub received: (u64, u64),
    pub ipv4: usize,
    pub ipv6: usize,
    /// Client ports (see [`crate::ports`]).
    pub ports: Vec<(PortRole, u8, u16)>,
}

impl<'a> EvidenceView<'a> {
    pub fn of(d: &'a Device) -> Self {
        let mut v = Self::of_without_evidence(d);
        v.evidence = d.evidence.iter().map(|(k, v)| (*k, v.as_str())).collect();
        v
    }

    /// [`EvidenceView::of`] without the evidence items (for an extraction
    /// that has their tokens already).
    fn of_without_evidence(d: &'a Device) -> Self {
        EvidenceView {
            vendor: d.vendor,
            evidence: Vec::new(),
            services: d.services.iter().copied().collect(),
            protocols: d.protocols.iter().map(|p| p.as_str()).collect(),
            hostnames: d.hostnames.len(),
            local_mac: d.mac().is_some_and(|m| m.is_local()),
            sent: (d.pkts_sent, d.bytes_sent),
            received: (d.pkts_received, d.bytes_received),
            ipv4: d.ips.iter().filter(|ip| ip.is_ipv4()).count(),
            ipv6: d.ips.iter().filter(|ip| ip.is_ipv6()).count(),
            ports: Vec::new(),
        }
    }
}

/// Extract the feature vector of a device (without port evidence).
pub fn extract(d: &Device) -> Features {
    extract_view(&EvidenceView::of(d))
}

/// Extract the feature vector of a device with its port evidence.
pub fn extract_with_ports(d: &Device, ports: &PortSet) -> Features {
    let mut s = Scratch::default();
    extract_with_ports_into(d, ports, &mut s);
    s.f
}

/// Buffers reused from one extraction to the next
/// ([`extract_with_ports_into`]): a caller that classifies device after
/// device does not allocate and zero a fresh vector of [`DIM`] numbers
/// each time (a third of an extraction's cost). Only this module writes
/// it, so it always holds a previous extraction's result (or nothing).
#[derive(Debug, Default)]
pub struct Scratch {
    f: Features,
    /// What an extraction from kept tokens adds, before the merge.
    origin: Vec<(u32, &'static str)>,
    tokens: Vec<u32>,
}

/// [`extract_with_ports`], into `scratch`: the same features.
pub fn extract_with_ports_into<'s>(
    d: &Device,
    ports: &PortSet,
    scratch: &'s mut Scratch,
) -> &'s Features {
    let mut v = EvidenceView::of(d);
    v.ports = ports.iter().copied().collect();
    extract_view_into(&v, scratch)
}

/// The tokens of a device's evidence items, kept from one extraction to
/// the next ([`extract_with_ports_cached`]).
///
/// Why: a device's evidence list only grows (the inventory appends
/// deduplicated items up to its cap and never edits or removes one), and
/// tokenising all of it again (lower-casing, shapes, words, registered
/// domains, an FNV hash per token) was most of every re-classification's
/// extraction. With this, an extraction tokenises only the items that
/// arrived since the last one and replays the stored tokens of the rest.
///
/// Guarantee: the features are exactly those of [`extract_with_ports`]
/// as long as the caller hands the same device's list each time (the
/// identifier drops a device's tokens when the device table could have
/// put another device under its id). A shorter list than the one read
/// before starts over. Memory: 8 bytes per distinct token
/// ([`Self::tokens`]).
#[derive(Clone, Debug, Default)]
pub struct EvidenceTokens {
    /// Evidence items tokenised: a prefix of the device's list.
    read: usize,
    /// Items per kind of [`KINDS`] among them.
    counts: [u32; KINDS.len()],
    /// The token ids of those items, sorted, each once (what
    /// [`Features::tokens`] takes from them).
    ids: Vec<u32>,
    /// The (slot, kind) of every token of those items, sorted as
    /// [`Features::origin`] is (by slot, then the kind's name), each once.
    slots: Vec<(u16, HintKind)>,
}

impl EvidenceTokens {
    /// Distinct tokens stored (the longer of the two sets: 4 bytes each,
    /// so at most 8 bytes per token).
    pub fn tokens(&self) -> usize {
        self.ids.len().max(self.slots.len())
    }

    /// Tokenise the items of `evidence` after those read before.
    fn update(&mut self, evidence: &[(HintKind, String)]) {
        if evidence.len() < self.read {
            *self = EvidenceTokens::default();
        }
        let Some(new) = evidence.get(self.read..) else {
            return;
        };
        if new.is_empty() {
            return;
        }
        // The builder's slot vector stays empty: only its token lists
        // are read here (`token_parts` sets slots that exist).
        let mut f = Builder {
            x: Vec::new(),
            origin: Vec::new(),
            tokens: Vec::new(),
        };
        let mut buf = String::new();
        let mut slots: Vec<(u16, HintKind)> = Vec::new();
        for (kind, value) in new {
            if let Some(i) = KINDS.iter().position(|k| k == kind) {
                self.counts[i] += 1;
            }
            let start = f.origin.len();
            tokens_of(*kind, value, &mut f, &mut buf);
            // Slots are below HASH_BUCKETS (2 048): they fit a u16.
            slots.extend(
                f.origin[start..]
                    .iter()
                    .map(|(slot, _)| (*slot as u16, *kind)),
            );
        }
        // Kept as sets, in the order an extraction wants them: it only
        // ever reads the sets of slots (with their sources) and of token
        // ids, and many items share tokens (the registered domain of a
        // device's DNS queries), so it merges the few tokens it adds into
        // these instead of sorting all of them again.
        f.tokens.sort_unstable();
        f.tokens.dedup();
        self.ids = merge_sets(&self.ids, &f.tokens, |a, b| a.cmp(b));
        slots.sort_unstable_by(slot_order);
        slots.dedup();
        self.slots = merge_sets(&self.slots, &slots, slot_order);
        self.read = evidence.len();
    }
}

/// The order of [`Features::origin`] for a kept (slot, kind).
fn slot_order(a: &(u16, HintKind), b: &(u16, HintKind)) -> Ordering {
    a.0.cmp(&b.0).then_with(|| a.1.as_str().cmp(b.1.as_str()))
}

/// The union of two sorted sets (each sorted by `order`, each item once),
/// sorted, each item once: what sorting and deduplicating both together
/// gives. Its room is exactly its length (the identifier's budget counts
/// what is kept).
fn merge_sets<T: Copy>(a: &[T], b: &[T], order: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    merge_sets_into(a, b, order, |x| x, |y| y, &mut out);
    out.shrink_to_fit();
    out
}

/// [`merge_sets`] of a set `a` and a set `b` of another type, appended to
/// `out` as `from_a` and `from_b` give them; `order` compares an item of
/// `a` with one of `b` (equal: the same item, written once).
///
/// Why this shape: `b` is short (what an extraction adds to a device's
/// kept tokens, or the tokens of its newest items), so each of its items
/// finds its place by bisection and the runs of `a` between are copied
/// whole (a sort of both was most of an extraction's cost).
fn merge_sets_into<A: Copy, B: Copy, U>(
    a: &[A],
    b: &[B],
    order: impl Fn(&A, &B) -> Ordering,
    from_a: impl Fn(A) -> U,
    from_b: impl Fn(B) -> U,
    out: &mut Vec<U>,
) {
    out.reserve(a.len() + b.len());
    let mut rest = a;
    for y in b {
        let (before, after) = rest.split_at(rest.partition_point(|x| order(x, y).is_lt()));
        out.extend(before.iter().map(|&x| from_a(x)));
        rest = after;
        // An equal item of `a` stays in `rest` and is copied with it.
        if !rest.first().is_some_and(|x| order(x, y).is_eq()) {
            out.push(from_b(*y));
        }
    }
    out.extend(rest.iter().map(|&x| from_a(x)));
}

/// [`extract_with_ports_into`], reading the tokens of the evidence items
/// `tokens` holds already and adding the new ones to it: the same
/// features (see [`EvidenceTokens`]).
pub fn extract_with_ports_cached<'s>(
    d: &Device,
    ports: &PortSet,
    tokens: &mut EvidenceTokens,
    scratch: &'s mut Scratch,
) -> &'s Features {
    tokens.update(&d.evidence);
    let mut v = EvidenceView::of_without_evidence(d);
    v.ports = ports.iter().copied().collect();
    extract_into(&v, Some(tokens), scratch)
}

/// Extract the feature vector from an evidence view.
pub fn extract_view(v: &EvidenceView<'_>) -> Features {
    let mut s = Scratch::default();
    extract_view_into(v, &mut s);
    s.f
}

/// [`extract_view`], into `scratch`: the same features.
pub fn extract_view_into<'s>(v: &EvidenceView<'_>, scratch: &'s mut Scratch) -> &'s Features {
    extract_into(v, None, scratch)
}

/// The extraction: `v`'s evidence and, before it, the items `stored` has
/// tokenised already.
fn extract_into<'s>(
    v: &EvidenceView<'_>,
    stored: Option<&EvidenceTokens>,
    scratch: &'s mut Scratch,
) -> &'s Features {
    let out = &mut scratch.f;
    let mut x = std::mem::take(&mut out.x);
    if x.len() == DIM {
        // A previous extraction's vector: only its hashed slots listed in
        // `origin` (every hashed slot set is recorded there) and the
        // dense slots can be non-zero.
        for &(slot, _) in &out.origin {
            if let Some(v) = x.get_mut(slot as usize) {
                *v = 0.0;
            }
        }
        x[HASH_BUCKETS..].fill(0.0);
    } else {
        x = vec![0.0; DIM];
    }
    // With stored tokens, the lists are built here from what this
    // extraction adds and then merged with the stored sets.
    let (mut origin, mut tokens) = match stored {
        Some(_) => (
            std::mem::take(&mut scratch.origin),
            std::mem::take(&mut scratch.tokens),
        ),
        None => (
            std::mem::take(&mut out.origin),
            std::mem::take(&mut out.tokens),
        ),
    };
    origin.clear();
    tokens.clear();
    let mut f = Builder { x, origin, tokens };
    let mut oui_token = None;
    if let Some(vendor) = v.vendor {
        f.token("oui", "oui", &vendor.to_ascii_lowercase());
        oui_token = f.tokens.last().copied();
    }
    let mut counts = [0u32; KINDS.len()];
    if let Some(t) = stored {
        counts = t.counts;
        for &(slot, _) in &t.slots {
            if let Some(x) = f.x.get_mut(usize::from(slot)) {
                *x = 1.0;
            }
        }
    }
    // One buffer for the formatted tokens (no allocation per token).
    let mut buf = String::new();
    for &(kind, value) in &v.evidence {
        if let Some(i) = KINDS.iter().position(|k| *k == kind) {
            counts[i] += 1;
        }
        tokens_of(kind, value, &mut f, &mut buf);
    }
    for (proto, port) in &v.services {
        buf.clear();
        push_service(&mut buf, *proto, *port);
        f.token("services", "svc", &buf);
    }
    for p in &v.protocols {
        f.token("protocols", "proto", p);
    }
    for (role, proto, port) in &v.ports {
        buf.clear();
        buf.push_str(role.as_str());
        buf.push(':');
        push_service(&mut buf, *proto, *port);
        f.token("ports", "port", &buf);
    }
    for (i, c) in counts.iter().enumerate() {
        f.x[HASH_BUCKETS + i] = (*c as f32).min(COUNT_CAP);
    }
    let base = HASH_BUCKETS + KINDS.len();
    f.x[base] = (v.services.len() as f32).min(COUNT_CAP);
    f.x[base + 1] = (v.protocols.len() as f32).min(COUNT_CAP);
    f.x[base + 2] = (v.hostnames as f32).min(COUNT_CAP);
    f.x[base + 3] = if v.local_mac { 1.0 } else { 0.0 };
    let mean = |(n, b): (u64, u64)| b.checked_div(n).unwrap_or(0) as f32;
    f.x[base + 4] = mean(v.sent);
    f.x[base + 5] = mean(v.received);
    f.x[base + 6] = (v.sent.0 as f32 + 1.0).log2().floor();
    f.x[base + 7] = (v.ipv4 as f32).min(COUNT_CAP);
    f.x[base + 8] = (v.ipv6 as f32).min(COUNT_CAP);
    f.origin.sort_unstable();
    f.origin.dedup();
    f.tokens.sort_unstable();
    f.tokens.dedup();
    let (origin, tokens) = match stored {
        Some(t) => {
            let mut origin = std::mem::take(&mut scratch.f.origin);
            let mut tokens = std::mem::take(&mut scratch.f.tokens);
            origin.clear();
            tokens.clear();
            let origin_of = |(slot, kind): (u16, HintKind)| (u32::from(slot), kind.as_str());
            merge_sets_into(
                &t.slots,
                &f.origin,
                |&a, b| origin_of(a).cmp(b),
                origin_of,
                |b| b,
                &mut origin,
            );
            merge_sets_into(
                &t.ids,
                &f.tokens,
                |a, b| a.cmp(b),
                |a| a,
                |b| b,
                &mut tokens,
            );
            scratch.origin = f.origin;
            scratch.tokens = f.tokens;
            (origin, tokens)
        }
        None => (f.origin, f.tokens),
    };
    scratch.f = Features {
        x: f.x,
        origin,
        tokens,
        oui_token,
    };
    &scratch.f
}

/// `proto/port` in decimal, as `write!(buf, "{proto}/{port}")` writes it,
/// without the formatting machinery (every extraction writes each of a
/// device's services and ports: it was a tenth of an extraction's cost).
fn push_service(buf: &mut String, proto: u8, port: u16) {
    push_decimal(buf, u16::from(proto));
    buf.push('/');
    push_decimal(buf, port);
}

/// `n` in decimal, no leading zeros (`0` for zero).
fn push_decimal(buf: &mut String, n: u16) {
    let mut started = false;
    for div in [10_000u16, 1_000, 100, 10, 1] {
        let digit = (n / div) % 10;
        if digit != 0 || started || div == 1 {
            buf.push(char::from(b'0' + digit as u8));
            started = true;
        }
    }
}

struct Builder {
    x: Vec<f32>,
    origin: Vec<(u32, &'static str)>,
    tokens: Vec<u32>,
}

impl Builder {
    fn token(&mut self, source: &'static str, prefix: &str, token: &str) {
        self.token_parts(source, prefix, "", token);
    }

    /// A token whose prefix is `source` + `suffix` (`dhcp.options` +
    /// `.code`), hashed as the concatenation without building it.
    fn token_sub(&mut self, source: &'static str, suffix: &str, token: &str) {
        self.token_parts(source, source, suffix, token);
    }

    fn token_parts(&mut self, source: &'static str, prefix: &str, suffix: &str, token: &str) {
        if token.is_empty() {
            return;
        }
        // FNV-1a over `prefix suffix \x1f token`, byte for byte what one
        // write of the formatted string gave (feature version 1).
        let mut h = Fnv::new();
        h.write(prefix.as_bytes());
        h.write(suffix.as_bytes());
        h.write(b"\x1f");
        h.write(token.as_bytes());
        let slot = (h.0 % HASH_BUCKETS as u64) as u32;
        if let Some(x) = self.x.get_mut(slot as usize) {
            *x = 1.0;
        }
        self.origin.push((slot, source));
        self.tokens.push((h.0 >> 32) as u32);
    }
}

/// 64-bit FNV-1a: fixed and tiny; the keys are our own tokens, and a
/// collision only merges two features.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The tokens of one piece of evidence. `buf` is scratch space for the
/// generalised shapes, so a value costs no allocation unless it has
/// upper-case letters. Repeated tokens are harmless: the builder's lists
/// are sorted and deduplicated at the end.
fn tokens_of(kind: HintKind, value: &str, f: &mut Builder, buf: &mut String) {
    let src = kind.as_str();
    let lower: std::borrow::Cow<'_, str> = if value.bytes().any(|b| b.is_ascii_uppercase()) {
        value.to_ascii_lowercase().into()
    } else {
        value.into()
    };
    let lower = &*lower;

    match kind {
        HintKind::DhcpParamList | HintKind::DhcpOptions => {
            f.token(src, src, lower);
            for code in lower.split(',') {
                f.token_sub(src, ".code", code.trim());
            }
        }
        HintKind::DhcpClientId => {
            // The identifier usually embeds the MAC; only its type byte
            // (01 = Ethernet MAC, ff = RFC 4361 …) says something about the stack.
            f.token(src, src, lower.get(..2).unwrap_or(""));
        }
        HintKind::Hostname | HintKind::DhcpFqdn => {
            f.token(src, "hostname", shaped(lower, buf));
            f.token(src, "hostname.prefix", alpha_prefix(lower));
        }
        HintKind::DnsQuery | HintKind::TlsSni | HintKind::NtpServer => {
            let name = lower.trim_end_matches('.');
            if name.parse::<std::net::IpAddr>().is_ok() {
                f.token(src, src, "<ip>");
            } else {
                // The registered domain generalises across firmware
                // versions and regional endpoints; the whole name (with
                // digits generalised) keeps the specific host.
                f.token(src, "domain", registered_domain(name));
                f.token_sub(src, ".name", shaped(name, buf));
            }
        }
        HintKind::HttpUserAgent
        | HintKind::HttpServer
        | HintKind::SsdpServer
        | HintKind::Banner
        | HintKind::Os
        | HintKind::DhcpVendorClass
        | HintKind::Dhcpv6 => {
            f.token(src, src, shaped(lower, buf));
            for w in words(lower) {
                f.token_sub(src, ".word", w);
            }
        }
        HintKind::SsdpUsn => {
            // uuid:<random>::urn:… — the part after the uuid names the type.
            let tail = lower.split("::").nth(1).unwrap_or("");
            f.token(src, src, shaped(tail, buf));
        }
        HintKind::MdnsService
        | HintKind::MdnsTxt
        | HintKind::SsdpNt
        | HintKind::UpnpDescription
        | HintKind::Lldp
        | HintKind::TlsJa3
        | HintKind::TlsJa4
        | HintKind::TcpSyn
        | HintKind::DhcpMaxMsgSize => {
            f.token(src, src, lower);
            if matches!(kind, HintKind::MdnsTxt | HintKind::UpnpDescription) {
                if let Some((k, _)) = lower.split_once('=') {
                    f.token_sub(src, ".key", k);
                }
            }
        }
    }
}

/// Generalise a value: digit runs become `#`, long hex runs (serials,
/// MAC fragments) become `%`, so `ESP_07AEFB` and `ESP_1C2D3E` share a shape.
pub fn shape(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(128));
    shape_into(s, &mut out);
    out
}

/// [`shape`] of `s`, written into `buf` (cleared first).
fn shaped<'b>(s: &str, buf: &'b mut String) -> &'b str {
    buf.clear();
    shape_into(s, buf);
    buf
}

/// [`shape`], appended to `out`.
fn shape_into(s: &str, out: &mut String) {
    let start = out.len();
    for run in split_keep(s) {
        let alnum = run.chars().all(|c| c.is_ascii_alphanumeric());
        if alnum && run.chars().all(|c| c.is_ascii_digit()) {
            out.push('#');
        } else if alnum
            && run.len() >= 4
            && run.chars().all(|c| c.is_ascii_hexdigit())
            && run.chars().any(|c| c.is_ascii_digit())
        {
            out.push('%');
        } else if alnum && run.chars().any(|c| c.is_ascii_digit()) && run.len() >= 8 {
            // Long mixed alphanumerics are serials or random ids.
            out.push('%');
        } else {
            out.push_str(run);
        }
        if out.len() - start >= 128 {
            break;
        }
    }
}

/// Split into maximal alphanumeric runs and the single characters between them.
fn split_keep(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let c = rest.chars().next()?;
        let end = if c.is_ascii_alphanumeric() {
            rest.find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len())
        } else {
            c.len_utf8()
        };
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

/// Words of a product string: alphabetic runs of 2+ letters (versions
/// dropped), the first 24 (a word may repeat).
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .take(24)
}

fn alpha_prefix(s: &str) -> &str {
    let end = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    &s[..end]
}

/// The registered domain of a DNS name, by a small public-suffix rule:
/// two labels, or three under a two-letter country code whose second level
/// is generic (`co.uk`, `com.cn`). Good enough to group cloud endpoints.
pub fn registered_domain(name: &str) -> &str {
    let name = name.trim_end_matches('.');
    // The last three dots, from the end (no list of labels).
    let mut dots = name.rmatch_indices('.').map(|(i, _)| i);
    let (Some(last), Some(second)) = (dots.next(), dots.next()) else {
        return name; // one or two labels
    };
    let tld = &name[last + 1..];
    let sld = &name[second + 1..last];
    let generic = [
        "co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go",
    ];
    if tld.len() == 2 && generic.contains(&sld) {
        match dots.next() {
            Some(third) => &name[third + 1..],
            None => name,
        }
    } else {
        &name[second + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> Builder {
        Builder {
            x: vec![0.0; DIM],
            origin: Vec::new(),
            tokens: Vec::new(),
        }
    }

    /// `shape` and `registered_domain` as they were written with a list of
    /// runs and of labels (feature version 1): the allocation-free versions
    /// must give the same text for any input.
    fn shape_with_lists(s: &str) -> String {
        let mut runs = Vec::new();
        let mut start = None;
        for (i, c) in s.char_indices() {
            if c.is_ascii_alphanumeric() {
                start.get_or_insert(i);
            } else {
                if let Some(st) = start.take() {
                    runs.push(&s[st..i]);
                }
                runs.push(&s[i..i + c.len_utf8()]);
            }
        }
        if let Some(st) = start {
            runs.push(&s[st..]);
        }
        let mut out = String::new();
        for run in runs {
            let alnum = run.chars().all(|c| c.is_ascii_alphanumeric());
            if alnum && run.chars().all(|c| c.is_ascii_digit()) {
                out.push('#');
            } else if alnum
                && ((run.len() >= 4
                    && run.chars().all(|c| c.is_ascii_hexdigit())
                    && run.chars().any(|c| c.is_ascii_digit()))
                    || (run.chars().any(|c| c.is_ascii_digit()) && run.len() >= 8))
            {
                out.push('%');
            } else {
                out.push_str(run);
            }
            if out.len() >= 128 {
                break;
            }
        }
        out
    }

    fn registered_domain_with_labels(name: &str) -> &str {
        let name = name.trim_end_matches('.');
        let mut labels = Vec::new();
        let mut start = 0;
        for (i, c) in name.char_indices() {
            if c == '.' {
                labels.push((start, &name[start..i]));
                start = i + 1;
            }
        }
        labels.push((start, &name[start..]));
        let n = labels.len();
        if n <= 2 {
            return name;
        }
        let generic = [
            "co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go",
        ];
        let keep = if labels[n - 1].1.len() == 2 && generic.contains(&labels[n - 2].1) {
            3
        } else {
            2
        };
        &name[labels[n - keep].0..]
    }

    #[test]
    fn shapes_and_domains_match_the_list_based_versions() {
        let inputs = [
            "",
            ".",
            "..",
            "a",
            "a.b",
            "a.b.c",
            "x.co.uk",
            "co.uk",
            "a..co.uk",
            ".co.uk",
            "www.bbc.co.uk.",
            "api.amazon.com.cn",
            "a.b.c.d.e",
            "1.2.3.4",
            "é.ü.de",
            "esp_07aefb",
            "udhcp 1.19.4",
            "Linux/2.6 UPnP/1.0 MiniUPnPd/1.0",
            "dahua-dvr_20240101abcdef",
            "ΩΩ--ж..",
            "hs110x",
            "a1b2c3d4e5f6a7b8c9",
        ];
        let long = "ab12-".repeat(60);
        for s in inputs.iter().copied().chain([long.as_str()]) {
            assert_eq!(shape(s), shape_with_lists(s), "{s:?}");
            assert_eq!(
                registered_domain(s),
                registered_domain_with_labels(s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_split_prefix_hashes_like_the_formatted_one() {
        // Feature version 1 hashed `format!("{src}.code")`; the parts must
        // give the same slots and ids, or every shipped model is wrong.
        for (src, suffix, tok) in [
            ("dhcp.options", ".code", "55"),
            ("dns.query", ".name", "a#.example.com"),
            ("http.user_agent", ".word", "linux"),
            ("mdns.txt", ".key", "md"),
        ] {
            let (mut a, mut b) = (builder(), builder());
            a.token(src, &format!("{src}{suffix}"), tok);
            b.token_sub(src, suffix, tok);
            assert_eq!(a.origin, b.origin);
            assert_eq!(a.tokens, b.tokens);
        }
    }

    #[test]
    fn registered_domains() {
        assert_eq!(registered_domain("devs.tplinkcloud.com"), "tplinkcloud.com");
        assert_eq!(registered_domain("a.b.example.co.uk."), "example.co.uk");
        assert_eq!(registered_domain("local"), "local");
        assert_eq!(registered_domain("x.y"), "x.y");
    }

    #[test]
    fn shapes_generalise_serials_and_versions() {
        assert_eq!(shape("esp_07aefb"), shape("esp_1c2d3e"));
        assert_eq!(shape("udhcp 1.19.4"), "udhcp #.#.#");
        assert_ne!(shape("hs100"), shape("hs110x"));
    }

    #[test]
    fn vector_has_fixed_length_and_records_sources() {
        let v = EvidenceView {
            vendor: Some("TP-LINK TECHNOLOGIES CO.,LTD."),
            evidence: vec![
                (HintKind::DhcpParamList, "1,3,6,12,15,28,42"),
                (HintKind::DnsQuery, "devs.tplinkcloud.com"),
            ],
            services: vec![(6, 9999)],
            protocols: vec!["dhcp", "dns"],
            hostnames: 1,
            local_mac: false,
            ..Default::default()
        };
        let f = extract_view(&v);
        assert_eq!(f.x.len(), DIM);
        let sources: Vec<&str> = f.origin.iter().map(|(_, s)| *s).collect();
        for s in [
            "oui",
            "dhcp.param_list",
            "dns.query",
            "services",
            "protocols",
        ] {
            assert!(sources.contains(&s), "{s} missing from {sources:?}");
        }
        // 7 option codes + the whole list + oui + 2 DNS tokens + 1 service + 2 protocols.
        let set = f.x[..HASH_BUCKETS].iter().filter(|x| **x > 0.0).count();
        assert!(set >= 10, "{set} slots set");
        assert_eq!(f.x[HASH_BUCKETS + 1], 1.0, "one param list counted");
        assert_eq!(f.x[HASH_BUCKETS + KINDS.len()], 1.0, "one service");
    }

    #[test]
    fn reused_buffers_give_the_fresh_features() {
        let a = EvidenceView {
            vendor: Some("TP-LINK TECHNOLOGIES CO.,LTD."),
            evidence: vec![
                (HintKind::DhcpParamList, "1,3,6,12,15,28,42"),
                (HintKind::DnsQuery, "devs.tplinkcloud.com"),
                (HintKind::HttpUserAgent, "Mozilla/5.0 (Linux; Android 12)"),
            ],
            services: vec![(6, 9999), (17, 1900)],
            protocols: vec!["dhcp", "dns"],
            hostnames: 1,
            local_mac: true,
            sent: (10, 1000),
            received: (4, 900),
            ipv4: 1,
            ipv6: 2,
            ports: vec![(PortRole::ClientTo, 17, 8765)],
        };
        let b = EvidenceView {
            evidence: vec![(HintKind::Hostname, "esp_07aefb")],
            ..Default::default()
        };
        let empty = EvidenceView::default();
        let mut s = Scratch::default();
        // Every order of a rich, a small and an empty view, twice over:
        // what the buffers held before never shows.
        for v in [&a, &b, &a, &empty, &b, &empty, &a, &a] {
            assert_eq!(extract_view_into(v, &mut s), &extract_view(v));
        }
        assert!(extract_view(&a).x.iter().filter(|x| **x != 0.0).count() > 10);
    }

    #[test]
    fn same_evidence_same_vector_regardless_of_order() {
        let a = EvidenceView {
            evidence: vec![
                (HintKind::HttpUserAgent, "Mozilla/5.0"),
                (HintKind::Hostname, "cam-01"),
            ],
            ..Default::default()
        };
        let mut b = a.clone();
        b.evidence.reverse();
        assert_eq!(extract_view(&a), extract_view(&b));
    }

    /// The merge of two sets is what sorting and deduplicating both
    /// together gives (an extraction from kept tokens relies on it), for
    /// sets that overlap, nest, are empty or hold equal slots of other
    /// kinds.
    #[test]
    fn merged_sets_are_the_sorted_union() {
        let mut r = ward_ml::forest::Rng::new(5);
        const K: [HintKind; 4] = [
            HintKind::DnsQuery,
            HintKind::Banner,
            HintKind::TlsJa3,
            HintKind::Hostname,
        ];
        for _ in 0..2_000 {
            let mut set = |n: usize| {
                let mut v: Vec<(u16, HintKind)> = (0..r.below(n))
                    .map(|_| (r.below(8) as u16, K[r.below(4)]))
                    .collect();
                v.sort_unstable_by(slot_order);
                v.dedup();
                v
            };
            let (a, b) = (set(12), set(6));
            let mut want = [a.clone(), b.clone()].concat();
            want.sort_unstable_by(slot_order);
            want.dedup();
            assert_eq!(merge_sets(&a, &b, slot_order), want, "{a:?} {b:?}");
            // As origin pairs, the order `extract_into` merges in.
            let pairs = |v: &[(u16, HintKind)]| -> Vec<(u32, &'static str)> {
                v.iter().map(|(s, k)| (u32::from(*s), k.as_str())).collect()
            };
            let mut got = Vec::new();
            merge_sets_into(
                &a,
                &pairs(&b),
                |&(s, k), y| (u32::from(s), k.as_str()).cmp(y),
                |(s, k)| (u32::from(s), k.as_str()),
                |y| y,
                &mut got,
            );
            let mut want_pairs = [pairs(&a), pairs(&b)].concat();
            want_pairs.sort_unstable();
            want_pairs.dedup();
            assert_eq!(got, want_pairs);
        }
    }

    /// Services and ports are written as `write!` wrote them, for every
    /// protocol byte and port.
    #[test]
    fn services_are_written_as_formatted() {
        let mut buf = String::new();
        for port in 0..=u16::MAX {
            for proto in [0u8, 1, 6, 9, 10, 17, 99, 100, 255] {
                buf.clear();
                push_service(&mut buf, proto, port);
                assert_eq!(buf, format!("{proto}/{port}"));
            }
        }
        for proto in 0..=u8::MAX {
            buf.clear();
            push_service(&mut buf, proto, 80);
            assert_eq!(buf, format!("{proto}/80"));
        }
    }

    /// Kept tokens hold about 8 bytes per distinct token, as the
    /// identifier's budget counts them, even when the items' tokens repeat
    /// (a DHCP parameter list of one code over and over: 122 tokens an
    /// item, about two new ones per item).
    #[test]
    fn kept_tokens_hold_no_room_for_their_repeats() {
        let values: Vec<String> = (0..64)
            .map(|i| format!("{}{i}", "1,".repeat(120)))
            .collect();
        let evidence: Vec<(HintKind, String)> = values
            .iter()
            .map(|v| (HintKind::DhcpParamList, v.clone()))
            .collect();
        let mut kept = EvidenceTokens::default();
        kept.update(&evidence);
        assert!(kept.tokens() <= 2 * 64 + 2, "{}", kept.tokens());
        assert!(
            kept.ids.capacity() + kept.slots.capacity() <= 2 * kept.tokens(),
            "{} + {} sets' room for {} tokens",
            kept.ids.capacity(),
            kept.slots.capacity(),
            kept.tokens()
        );
    }
}
