//! AfterImage-style feature extraction: 130 damped-window statistics per packet.
//!
//! For each of five windows — decay rates λ ∈ {5, 3, 1, 0.1, 0.01} per second,
//! i.e. half-lives of 200 ms, 330 ms, 1 s, 10 s and 100 s (Kitsune's set) — the
//! extractor updates and reads four bounded tables:
//!
//! | table | key | per window |
//! |---|---|---|
//! | MI | source MAC + source IP | count, mean, std of frame size |
//! | H | source IP | count, mean, std of size; **SYN rate; new-destination rate; new-connection rate** |
//! | HH | IP pair (both directions) | count, mean, std of size sent on this channel; magnitude, radius, covariance, correlation of the two directions; count, mean, std of the inter-arrival time in this direction (HH_jit) |
//! | HpHp | socket pair + protocol (both directions) | the 7 channel statistics for the connection |
//!
//! That is Kitsune's 115 features (MI, H, HH, HH_jit, HpHp × 5 windows) plus
//! three per source host and window that make IoT attacks obvious and
//! explanations readable: TCP connection attempts (SYN without ACK) per
//! second, destinations not contacted in the previous minute per second
//! (scans, worms), and connections (socket pairs) not seen in the previous
//! minute per second (port scans, floods with random source ports). They cost
//! nothing extra: "new" is known from whether the HH/HpHp lookup had to create
//! the entry or found it idle for at least [`NEW_AFTER_IDLE_SECS`].
//!
//! Cost per packet: four table lookups (≤ 8 probes each), four `exp2` (one
//! per lookup; the five windows' decays follow from it by exact powers, see
//! `factors`) and a few hundred flops, of which ≈ 90 divisions and ≈ 55
//! square roots in `f64` set the pace more than the instruction count: the
//! derived statistics of all four entries (variances, covariances, standard
//! deviations, the 2-D statistics) are computed together, so that their
//! divisions and square roots fill whole four-lane vectors
//! ([`crate::damped::quotients`]). Statistics are `f64` (see [`crate::damped`]); the feature
//! vector is `f32` because the models work in `f32` — the vector is fed to
//! an autoencoder after min-max scaling, where `f32` is ample.
//!
//! Memory per table entry (64-bit, including key and slot overhead): MI ≈
//! 160 B, H ≈ 280 B, HH ≈ 720 B, HpHp ≈ 480 B. With the default capacities
//! (4096 / 4096 / 8192 / 16384) the extractor needs ≈ 15 MiB, allocated once.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::damped::two_d;
use crate::damped::{
    cov_from, decay_factor, quotients, square_roots, to_f32_by_window, var_from, Damped, DampedCov,
    PerWindow, WINDOWS,
};
use crate::kitnet::Kernels;
use crate::table::{prefetch_entry, Activity, BoundedTable};
use crate::PacketObs;

/// Decay rates per second, fastest first.
pub const LAMBDAS: [f64; 5] = [5.0, 3.0, 1.0, 0.1, 0.01];
const L: usize = LAMBDAS.len();
/// Features per window.
pub const PER_WINDOW: usize = 26;
/// Length of the feature vector.
pub const N_FEATURES: usize = L * PER_WINDOW;
/// A destination or connection idle for this long counts as new again.
pub const NEW_AFTER_IDLE_SECS: f64 = 60.0;
/// Version of the feature layout; saved models refuse a different one.
pub const FEATURE_VERSION: u32 = 1;

const SLOWEST: usize = L - 1;
const LN2: f64 = std::f64::consts::LN_2;
const _: () = assert!(WINDOWS == L, "damped statistics keep one value per window");

/// Factor turning a damped count into a per-second rate, per window: a
/// damped count settles at rate / (λ ln 2).
const PER_SEC: PerWindow = [
    LAMBDAS[0] * LN2,
    LAMBDAS[1] * LN2,
    LAMBDAS[2] * LN2,
    LAMBDAS[3] * LN2,
    LAMBDAS[4] * LN2,
];

/// Writes window `i`'s value of `vals` to feature `i·PER_WINDOW + at`
/// (what [`put_stats`] does for several statistics at once).
#[cfg(test)]
fn put(out: &mut [f32; N_FEATURES], at: usize, vals: &PerWindow) {
    for (i, &v) in vals.iter().enumerate() {
        if let Some(o) = out.get_mut(i * PER_WINDOW + at) {
            *o = v as f32;
        }
    }
}

/// Writes window `i` of `vals[k]` to feature `i·PER_WINDOW + at + k`:
/// statistics that sit side by side in the vector go out together, one
/// store per window ([`to_f32_by_window`]) instead of one per value.
#[inline(always)]
fn put_stats<const N: usize>(
    simd: crate::Simd,
    out: &mut [f32; N_FEATURES],
    at: usize,
    vals: [&PerWindow; N],
) {
    to_f32_by_window(simd, vals, |i, lanes| {
        let at = i * PER_WINDOW + at;
        if let (Some(o), Some(l)) = (out.get_mut(at..at + N), lanes.get(..N)) {
            o.copy_from_slice(l);
        }
    });
}

type Ip = [u8; 16];

/// The connection key of a packet (both directions share it) and the
/// packet's direction in it.
#[inline]
fn sock_key(obs: &PacketObs, src: Ip, dst: Ip) -> (SockKey, usize) {
    if (src, obs.src_port) <= (dst, obs.dst_port) {
        (
            SockKey {
                a: src,
                b: dst,
                port_a: obs.src_port,
                port_b: obs.dst_port,
                proto: obs.proto,
            },
            0,
        )
    } else {
        (
            SockKey {
                a: dst,
                b: src,
                port_a: obs.dst_port,
                port_b: obs.src_port,
                proto: obs.proto,
            },
            1,
        )
    }
}

fn ip_key(ip: &IpAddr) -> Ip {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct MiKey {
    mac: [u8; 6],
    ip: Ip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct PairKey {
    a: Ip,
    b: Ip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct SockKey {
    a: Ip,
    b: Ip,
    port_a: u16,
    port_b: u16,
    proto: u8,
}

/// Decay factors of the five windows for one elapsed time.
///
/// One `exp2` instead of five: with λ = 0.01·{1, 10, 100, 300, 500},
/// `2^(−0.1·dt) = (2^(−0.01·dt))^10` and so on, by exact integer powers
/// (a few ulps of rounding, far below the statistics' noise). A test pins
/// [`LAMBDAS`] to the values this relies on.
#[inline(always)]
fn factors(dt_secs: f64) -> [f64; L] {
    if dt_secs <= 0.0 || dt_secs.is_nan() {
        return [1.0; L];
    }
    let a = decay_factor(LAMBDAS[4], dt_secs);
    let pow10 = |v: f64| {
        let v2 = v * v;
        let v5 = v2 * v2 * v;
        v5 * v5
    };
    let b = pow10(a);
    let c = pow10(b);
    let c2 = c * c;
    let c3 = c2 * c;
    [c3 * c2, c3, c, b, a]
}

#[inline]
fn slow_activity(w: f64, last_us: i64, now_us: i64) -> f64 {
    w * decay_factor(
        LAMBDAS[SLOWEST],
        now_us.saturating_sub(last_us) as f64 * 1e-6,
    )
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MiStats {
    size: Damped,
}

impl Activity for MiStats {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        slow_activity(self.size.w[SLOWEST], last_us, now_us)
    }
    // The slowest window's count grows by one per packet and decays at its rate.
    const DAMPED_TOUCHES: Option<f64> = Some(LAMBDAS[SLOWEST]);
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct HostStats {
    size: Damped,
    syn: PerWindow,
    new_dst: PerWindow,
    new_conn: PerWindow,
}

impl Activity for HostStats {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        slow_activity(self.size.w[SLOWEST], last_us, now_us)
    }
    // The slowest window's count grows by one per packet and decays at its rate.
    const DAMPED_TOUCHES: Option<f64> = Some(LAMBDAS[SLOWEST]);
}

/// Both directions of a channel (pair of IPs or of sockets).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ChannelStats {
    size: [Damped; 2],
    cov: DampedCov,
}

impl ChannelStats {
    /// Decays both directions and the co-movement by `d` and records
    /// `size` in direction `dir`: the bits of `Damped::decay` and `insert`,
    /// `DampedCov::decay` and `insert`, with the first four windows as one
    /// explicit vector ([`Damped::decay_insert`]).
    #[inline(always)]
    fn update(&mut self, simd: crate::Simd, d: &PerWindow, dir: usize, size: f64) {
        let dir = dir & 1;
        let (this, other) = if dir == 0 {
            let [a, b] = &mut self.size;
            (a, b)
        } else {
            let [a, b] = &mut self.size;
            (b, a)
        };
        other.decay_with(simd, d);
        let r = this.decay_insert(simd, d, size);
        self.cov.decay_insert(simd, d, dir, &r);
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PairStats {
    channel: ChannelStats,
    jitter: [Damped; 2],
    last_dir_us: [Option<i64>; 2],
}

impl Activity for PairStats {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        let w = self.channel.size[0].w[SLOWEST] + self.channel.size[1].w[SLOWEST];
        slow_activity(w, last_us, now_us)
    }
    // The slowest window's count grows by one per packet and decays at its rate.
    const DAMPED_TOUCHES: Option<f64> = Some(LAMBDAS[SLOWEST]);
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SockStats {
    channel: ChannelStats,
}

impl Activity for SockStats {
    fn activity(&self, last_us: i64, now_us: i64) -> f64 {
        let w = self.channel.size[0].w[SLOWEST] + self.channel.size[1].w[SLOWEST];
        slow_activity(w, last_us, now_us)
    }
    // The slowest window's count grows by one per packet and decays at its rate.
    const DAMPED_TOUCHES: Option<f64> = Some(LAMBDAS[SLOWEST]);
}

/// Table capacities of the extractor (entries; rounded up to a power of two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TableCapacities {
    /// Source MAC + IP pairs. Default 4096.
    pub mac_ip: usize,
    /// Source IPs. Default 4096.
    pub host: usize,
    /// IP pairs. Default 8192.
    pub ip_pair: usize,
    /// Socket pairs. Default 16384.
    pub socket_pair: usize,
}

impl Default for TableCapacities {
    fn default() -> Self {
        Self {
            mac_ip: 4096,
            host: 4096,
            ip_pair: 8192,
            socket_pair: 16384,
        }
    }
}

/// Table occupancy and evictions, for telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStats {
    pub len: usize,
    pub capacity: usize,
    pub evictions: u64,
}

/// The slowest window's decay (λ = 0.01/s) for one elapsed time, kept so
/// that another table whose entry was last touched at the same time reuses
/// it: [`decay_factor`] is a pure function of the time, so an equal time
/// gives the same bits, and any other time computes its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SlowDecay {
    dt: f64,
    factor: f64,
}

impl Default for SlowDecay {
    /// No time elapsed: no decay (as [`decay_factor`] says for 0).
    fn default() -> Self {
        Self {
            dt: 0.0,
            factor: 1.0,
        }
    }
}

impl SlowDecay {
    /// `decay_factor(LAMBDAS[SLOWEST], dt)`.
    #[inline(always)]
    pub(crate) fn at(&self, dt: f64) -> f64 {
        if dt == self.dt {
            self.factor
        } else {
            decay_factor(LAMBDAS[SLOWEST], dt)
        }
    }
}

/// What the last packet's feature lookups found that the engine's other
/// lookups of the same packet reuse (not state: each packet sets it).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LastPacket {
    /// Source and destination as 16-byte (IPv4-mapped) addresses.
    pub src: Ip,
    pub dst: Ip,
    /// The address pair, the lesser first: the key both directions of its
    /// channel share, which the engine's conversation scores reuse.
    pub pair: (Ip, Ip),
    /// The slowest window's decay since the channel's last packet.
    pub pair_slow: SlowDecay,
    /// The same since the source MAC + IP's last packet (the MAC's binding
    /// entry is usually touched with it).
    pub mi_slow: SlowDecay,
}

/// The incremental feature extractor. See the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureExtractor {
    mi: BoundedTable<MiKey, MiStats>,
    host: BoundedTable<Ip, HostStats>,
    pair: BoundedTable<PairKey, PairStats>,
    sock: BoundedTable<SockKey, SockStats>,
    /// What the last packet's lookups found (not state: each packet sets
    /// it).
    #[serde(skip)]
    last: LastPacket,
}

impl FeatureExtractor {
    /// Creates the tables; `seed` keys their hash function.
    pub fn new(cap: TableCapacities, seed: u64) -> Self {
        Self {
            mi: BoundedTable::new(cap.mac_ip, seed ^ 0x4d49),
            host: BoundedTable::new(cap.host, seed ^ 0x48),
            pair: BoundedTable::new(cap.ip_pair, seed ^ 0x4848),
            sock: BoundedTable::new(cap.socket_pair, seed ^ 0x4870_4870),
            last: LastPacket::default(),
        }
    }

    /// Rebuilds what a deserialised extractor's tables may lack (their
    /// dense touch counts, see [`BoundedTable::ensure_counts`]).
    pub(crate) fn after_load(&mut self) {
        self.mi.ensure_counts();
        self.host.ensure_counts();
        self.pair.ensure_counts();
        self.sock.ensure_counts();
    }

    pub(crate) fn is_well_formed(&self) -> bool {
        self.mi.is_well_formed()
            && self.host.is_well_formed()
            && self.pair.is_well_formed()
            && self.sock.is_well_formed()
    }

    /// What the last packet's lookups found ([`LastPacket`]).
    pub(crate) fn last(&self) -> &LastPacket {
        &self.last
    }

    /// Occupancy of the MI, H, HH and HpHp tables, in that order.
    pub fn table_stats(&self) -> [TableStats; 4] {
        fn s<K: Copy + Eq + std::hash::Hash, V: Default + Activity>(
            t: &BoundedTable<K, V>,
        ) -> TableStats {
            TableStats {
                len: t.len(),
                capacity: t.capacity(),
                evictions: t.evictions(),
            }
        }
        [s(&self.mi), s(&self.host), s(&self.pair), s(&self.sock)]
    }

    /// Updates the statistics with `obs` and writes its feature vector.
    pub fn extract(&mut self, obs: &PacketObs, out: &mut [f32; N_FEATURES]) {
        self.extract_using(Kernels::Best, obs, out);
    }

    /// [`FeatureExtractor::extract`] compiled for the instruction set `k`
    /// selects (AVX2 where the CPU has it, by default): the same bits either
    /// way.
    pub fn extract_using(&mut self, k: Kernels, obs: &PacketObs, out: &mut [f32; N_FEATURES]) {
        crate::compiled_with(
            k,
            #[inline(always)]
            |simd| self.extract_inline(simd, obs, out),
        );
    }

    /// [`FeatureExtractor::extract`], inlined into the caller (and so
    /// compiled for its instruction set).
    #[inline(always)]
    pub(crate) fn extract_inline(
        &mut self,
        simd: crate::Simd,
        obs: &PacketObs,
        out: &mut [f32; N_FEATURES],
    ) {
        let now = obs.ts_micros;
        let size = f64::from(obs.len);
        let src = ip_key(&obs.src_ip);
        let dst = ip_key(&obs.dst_ip);

        // Channel (IP pair). The key is ordered so both directions share it.
        let (pair_key, dir) = if src <= dst {
            (PairKey { a: src, b: dst }, 0)
        } else {
            (PairKey { a: dst, b: src }, 1)
        };
        self.last.pair = (pair_key.a, pair_key.b);
        (self.last.src, self.last.dst) = (src, dst);
        // The connection's, the source MAC+IP's and the host's lookups
        // start loading now, while the channel's is done (each is a cache
        // miss otherwise, one after another).
        let (sock_key, sdir) = sock_key(obs, src, dst);
        let mi_key = MiKey {
            mac: obs.src_mac,
            ip: src,
        };
        let (sock_key, mi_key, host_key) = (
            self.sock.hashed(sock_key),
            self.mi.hashed(mi_key),
            self.host.hashed(src),
        );
        self.sock.prefetch(&sock_key);
        self.mi.prefetch(&mi_key);
        self.host.prefetch(&host_key);
        // All four lookups first, then every line of the four entries is
        // asked for, then the arithmetic: an entry spans up to twelve
        // cache lines, which the statistics below reach one after another.
        // The tables are independent, so the order of their lookups
        // changes nothing.
        let tp = self.pair.touch(pair_key, now);
        let ts = self.sock.touch_hashed(sock_key, now);
        let tm = self.mi.touch_hashed(mi_key, now);
        let th = self.host.touch_hashed(host_key, now);
        prefetch_entry(&*tp.value);
        prefetch_entry(&*ts.value);
        prefetch_entry(&*tm.value);
        prefetch_entry(&*th.value);

        // Channel (IP pair).
        let new_dst = tp.fresh || tp.dt_secs >= NEW_AFTER_IDLE_SECS;
        let d = factors(tp.dt_secs);
        self.last.pair_slow = SlowDecay {
            dt: tp.dt_secs,
            factor: d[SLOWEST],
        };
        let p = tp.value;
        p.channel.update(simd, &d, dir, size);
        // Jitter: inter-arrival time in this direction, decayed with the channel.
        let gap = p.last_dir_us[dir].map(|last| now.saturating_sub(last).max(0) as f64 * 1e-6);
        p.last_dir_us[dir] = Some(p.last_dir_us[dir].map_or(now, |last| last.max(now)));
        let [j0, j1] = &mut p.jitter;
        let (jd, jo) = if dir == 0 { (j0, j1) } else { (j1, j0) };
        jo.decay_with(simd, &d);
        if let Some(g) = gap {
            jd.decay_insert(simd, &d, g);
        } else {
            jd.decay_with(simd, &d);
        }

        // Connection (socket pair + protocol).
        let new_conn = ts.fresh || ts.dt_secs >= NEW_AFTER_IDLE_SECS;
        let d = factors(ts.dt_secs);
        let s = ts.value;
        s.channel.update(simd, &d, sdir, size);

        // Source MAC + IP.
        let d = factors(tm.dt_secs);
        self.last.mi_slow = SlowDecay {
            dt: tm.dt_secs,
            factor: d[SLOWEST],
        };
        let m = &mut tm.value.size;
        m.decay_insert(simd, &d, size);

        // Source host, with the cheap IoT features.
        let is_syn = obs.proto == 6 && obs.tcp_flags & 0x02 != 0 && obs.tcp_flags & 0x10 == 0;
        let d = factors(th.dt_secs);
        let h = th.value;
        h.size.decay_insert(simd, &d, size);
        let (syn, new_dst, new_conn) = (
            f64::from(u8::from(is_syn)),
            f64::from(u8::from(new_dst)),
            f64::from(u8::from(new_conn)),
        );
        let mut rates = [[0.0; L]; 3];
        for i in 0..L {
            h.syn[i] = h.syn[i] * d[i] + syn;
            h.new_dst[i] = h.new_dst[i] * d[i] + new_dst;
            h.new_conn[i] = h.new_conn[i] * d[i] + new_conn;
            rates[0][i] = h.syn[i] * PER_SEC[i];
            rates[1][i] = h.new_dst[i] * PER_SEC[i];
            rates[2][i] = h.new_conn[i] * PER_SEC[i];
        }

        // The derived statistics of all four entries together, so that
        // their divisions and square roots fill whole vectors
        // ([`quotients`]); each value is the same IEEE operations on the
        // same operands as `Damped::var`, `std`, `DampedCov::cov` and
        // `two_d` compute one statistic at a time.
        let (pc, sc) = (&p.channel, &s.channel);
        let (pa, pb) = (&pc.size[dir], &pc.size[dir ^ 1]);
        let (sa, sb) = (&sc.size[sdir], &sc.size[sdir ^ 1]);
        let (j, m, h) = (&p.jitter[dir], &*m, &h.size);
        let [q_pa, q_pb, q_pc, q_sa, q_sb, q_sc, q_j, q_m, q_h] = quotients::<9, 3>(
            simd,
            [
                &pa.m2,
                &pb.m2,
                &pc.cov.sum_products,
                &sa.m2,
                &sb.m2,
                &sc.cov.sum_products,
                &j.m2,
                &m.m2,
                &h.m2,
            ],
            [
                &pa.w, &pb.w, &pc.cov.w, &sa.w, &sb.w, &sc.cov.w, &j.w, &m.w, &h.w,
            ],
        );
        let (v_pa, v_pb, c_p) = (
            var_from(&q_pa, &pa.w),
            var_from(&q_pb, &pb.w),
            cov_from(&q_pc, &pc.cov.w),
        );
        let (v_sa, v_sb, c_s) = (
            var_from(&q_sa, &sa.w),
            var_from(&q_sb, &sb.w),
            cov_from(&q_sc, &sc.cov.w),
        );
        let (v_j, v_m, v_h) = (
            var_from(&q_j, &j.w),
            var_from(&q_m, &m.w),
            var_from(&q_h, &h.w),
        );
        // `two_d`'s three square roots per channel, and the five standard
        // deviations.
        let [mag_p, rad_p, den_p] = two_d_radicands(pa, pb, &v_pa, &v_pb);
        let [mag_s, rad_s, den_s] = two_d_radicands(sa, sb, &v_sa, &v_sb);
        let [mag_p, rad_p, den_p, mag_s, rad_s, den_s, std_pa, std_sa, std_j, std_m, std_h] =
            square_roots::<11, 3>(
                simd,
                [
                    mag_p, rad_p, den_p, mag_s, rad_s, den_s, v_pa, v_sa, v_j, v_m, v_h,
                ],
            );
        let [q_p, q_s] = quotients::<2, 1>(simd, [&c_p, &c_s], [&den_p, &den_s]);
        let pcc_p = pcc_from(&q_p, &den_p);
        let pcc_s = pcc_from(&q_s, &den_s);

        // Window-major, four statistics at a time ([`put_stats`]).
        put_stats(simd, out, 0, [&m.w, &m.mean, &std_m, &h.w]);
        put_stats(simd, out, 4, [&h.mean, &std_h, &rates[0], &rates[1]]);
        put_stats(simd, out, 8, [&rates[2], &pa.w, &pa.mean, &std_pa]);
        put_stats(simd, out, 12, [&mag_p, &rad_p, &c_p, &pcc_p]);
        put_stats(simd, out, 16, [&j.w, &j.mean, &std_j, &sa.w]);
        put_stats(simd, out, 20, [&sa.mean, &std_sa, &mag_s, &rad_s]);
        put_stats(simd, out, 24, [&c_s, &pcc_s]);
    }
}

/// What [`two_d`] takes the square roots of, for direction `a` of a
/// channel whose other direction is `b` (variances `va`, `vb`): the sum of
/// the squared means (magnitude), the sum of the variances (radius) and
/// their product (the correlation's denominator).
#[inline(always)]
fn two_d_radicands(a: &Damped, b: &Damped, va: &PerWindow, vb: &PerWindow) -> [PerWindow; 3] {
    let mut r = [[0.0; WINDOWS]; 3];
    for i in 0..WINDOWS {
        r[0][i] = a.mean[i] * a.mean[i] + b.mean[i] * b.mean[i];
        r[1][i] = va[i] + vb[i];
        r[2][i] = va[i] * vb[i];
    }
    r
}

/// [`two_d`]'s correlation from its quotient `cov / denom`.
#[inline(always)]
fn pcc_from(q: &PerWindow, denom: &PerWindow) -> PerWindow {
    let mut c = [0.0; WINDOWS];
    for i in 0..WINDOWS {
        let r = q[i].clamp(-1.0, 1.0);
        c[i] = if denom[i] > 1e-12 { r } else { 0.0 };
    }
    c
}

/// How a feature's value reads in a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A damped packet count; shown as packets per second.
    Count,
    /// Already a rate per second.
    PerSecond,
    /// Bytes.
    Bytes,
    /// Seconds.
    Seconds,
    /// Square bytes (covariance).
    BytesSquared,
    /// Dimensionless (correlation).
    Ratio,
}

/// Human description of one feature.
#[derive(Debug, Clone, Copy)]
pub struct FeatureInfo {
    /// Which table and statistic, e.g. `"host.syn_rate"`.
    pub stat: &'static str,
    /// Plain words, completed by the window, e.g. "TCP connection attempts
    /// (SYNs) per second sent by this host".
    pub what: &'static str,
    pub unit: Unit,
    /// Index into [`LAMBDAS`].
    pub window: usize,
}

const STATS: [(&str, &str, Unit); PER_WINDOW] = [
    (
        "mac_ip.pkts",
        "packets per second sent from this MAC/IP pair",
        Unit::Count,
    ),
    (
        "mac_ip.size_mean",
        "average packet size sent from this MAC/IP pair",
        Unit::Bytes,
    ),
    (
        "mac_ip.size_std",
        "variation in packet size sent from this MAC/IP pair",
        Unit::Bytes,
    ),
    (
        "host.pkts",
        "packets per second sent by this host",
        Unit::Count,
    ),
    (
        "host.size_mean",
        "average packet size sent by this host",
        Unit::Bytes,
    ),
    (
        "host.size_std",
        "variation in packet size sent by this host",
        Unit::Bytes,
    ),
    (
        "host.syn_rate",
        "TCP connection attempts (SYNs) per second sent by this host",
        Unit::PerSecond,
    ),
    (
        "host.new_dst_rate",
        "new destinations contacted per second by this host",
        Unit::PerSecond,
    ),
    (
        "host.new_conn_rate",
        "new connections opened per second by this host",
        Unit::PerSecond,
    ),
    (
        "ip_pair.pkts",
        "packets per second from this host to one peer",
        Unit::Count,
    ),
    (
        "ip_pair.size_mean",
        "average packet size from this host to one peer",
        Unit::Bytes,
    ),
    (
        "ip_pair.size_std",
        "variation in packet size from this host to one peer",
        Unit::Bytes,
    ),
    (
        "ip_pair.magnitude",
        "combined average packet size in both directions with one peer",
        Unit::Bytes,
    ),
    (
        "ip_pair.radius",
        "combined size variation in both directions with one peer",
        Unit::Bytes,
    ),
    (
        "ip_pair.cov",
        "covariance of sent and received sizes with one peer",
        Unit::BytesSquared,
    ),
    (
        "ip_pair.pcc",
        "correlation of sent and received sizes with one peer",
        Unit::Ratio,
    ),
    (
        "ip_pair.gap_pkts",
        "packets per second (timed) from this host to one peer",
        Unit::Count,
    ),
    (
        "ip_pair.gap_mean",
        "average gap between packets from this host to one peer",
        Unit::Seconds,
    ),
    (
        "ip_pair.gap_std",
        "variation of the gaps between packets from this host to one peer",
        Unit::Seconds,
    ),
    (
        "conn.pkts",
        "packets per second on one connection",
        Unit::Count,
    ),
    (
        "conn.size_mean",
        "average packet size on one connection",
        Unit::Bytes,
    ),
    (
        "conn.size_std",
        "variation in packet size on one connection",
        Unit::Bytes,
    ),
    (
        "conn.magnitude",
        "combined average packet size in both directions of one connection",
        Unit::Bytes,
    ),
    (
        "conn.radius",
        "combined size variation in both directions of one connection",
        Unit::Bytes,
    ),
    (
        "conn.cov",
        "covariance of sent and received sizes on one connection",
        Unit::BytesSquared,
    ),
    (
        "conn.pcc",
        "correlation of sent and received sizes on one connection",
        Unit::Ratio,
    ),
];

/// Window labels by half-life.
pub const WINDOW_LABELS: [&str; L] = ["200ms", "330ms", "1s", "10s", "100s"];
const WINDOW_WORDS: [&str; L] = [
    "over the last 200 ms",
    "over the last third of a second",
    "over the last second",
    "over the last 10 seconds",
    "over the last 100 seconds",
];

/// Description of feature `index` (`None` past the end).
pub fn feature_info(index: usize) -> Option<FeatureInfo> {
    let window = index / PER_WINDOW;
    let (stat, what, unit) = *STATS.get(index % PER_WINDOW)?;
    (window < L).then_some(FeatureInfo {
        stat,
        what,
        unit,
        window,
    })
}

/// Stable machine name of feature `index`, e.g. `"host.syn_rate@1s"`.
pub fn feature_name(index: usize) -> String {
    match feature_info(index) {
        Some(f) => format!("{}@{}", f.stat, WINDOW_LABELS[f.window]),
        None => format!("feature{index}"),
    }
}

/// Converts a raw feature value to the quantity its sentence talks about
/// (damped counts become packets per second).
pub fn display_value(info: &FeatureInfo, raw: f32) -> f64 {
    match info.unit {
        Unit::Count => f64::from(raw) * LAMBDAS[info.window] * LN2,
        _ => f64::from(raw),
    }
}

/// Words for the window of `info`, e.g. "over the last second".
pub fn window_words(info: &FeatureInfo) -> &'static str {
    WINDOW_WORDS[info.window]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn obs(ts: i64, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8) -> PacketObs {
        PacketObs {
            ts_micros: ts,
            src_mac: [2, 0, 0, 0, 0, src[3]],
            src_ip: IpAddr::V4(Ipv4Addr::from(src)),
            dst_ip: IpAddr::V4(Ipv4Addr::from(dst)),
            src_port: sport,
            dst_port: dport,
            proto: 6,
            len: 60,
            tcp_flags: flags,
            device: 0,
        }
    }

    #[test]
    fn decay_factors_match_the_windows() {
        assert_eq!(
            LAMBDAS,
            [5.0, 3.0, 1.0, 0.1, 0.01],
            "factors() relies on these ratios"
        );
        for dt in [0.0, 1e-6, 0.013, 0.5, 1.0, 7.3, 100.0, 3600.0] {
            let got = factors(dt);
            for (g, lambda) in got.iter().zip(LAMBDAS) {
                let exact = decay_factor(lambda, dt);
                assert!(
                    (g - exact).abs() <= 1e-12 + 1e-12 * exact,
                    "dt={dt} λ={lambda}: {g} vs {exact}"
                );
            }
        }
        assert_eq!(factors(-1.0), [1.0; L]);
    }

    #[test]
    fn names_are_unique_and_complete() {
        let names: std::collections::HashSet<String> = (0..N_FEATURES).map(feature_name).collect();
        assert_eq!(names.len(), N_FEATURES);
        assert!(feature_info(N_FEATURES).is_none());
        assert_eq!(feature_name(2 * PER_WINDOW + 6), "host.syn_rate@1s");
    }

    #[test]
    fn syn_scan_raises_syn_new_destination_and_connection_rates() {
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 7);
        let mut out = [0f32; N_FEATURES];
        // 1000 SYNs per second to 1000 different hosts for one second.
        for i in 0..1000u32 {
            let dst = [10, 0, (i >> 8) as u8, i as u8];
            fx.extract(
                &obs(i64::from(i) * 1000, [192, 168, 1, 9], dst, 40000, 23, 0x02),
                &mut out,
            );
        }
        let w = 2 * PER_WINDOW; // the 1 s window
                                // After one second at 1000/s the 1 s-half-life rates have reached half
                                // their steady state (1 − 2^−1).
        for k in [6, 7, 8] {
            let rate = out[w + k];
            assert!(
                (400.0..=600.0).contains(&rate),
                "{} = {rate}",
                feature_name(w + k)
            );
        }
        // A normal connection: one destination, one socket, SYN only once.
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 7);
        for i in 0..1000u32 {
            let flags = if i == 0 { 0x02 } else { 0x10 };
            fx.extract(
                &obs(
                    i64::from(i) * 1000,
                    [192, 168, 1, 9],
                    [1, 1, 1, 1],
                    40000,
                    443,
                    flags,
                ),
                &mut out,
            );
        }
        for k in [6, 7, 8] {
            assert!(out[w + k] < 1.0, "{} = {}", feature_name(w + k), out[w + k]);
        }
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        // Small tables, so that they fill and evict too; gaps from 0 (and
        // time going backwards) to minutes, sizes from 40 to 9000 bytes.
        // Every build the CPU can run: the baseline (SSE2, the batched
        // divisions and square roots as scalar loops), AVX2 (explicit
        // four-lane vectors) and the default.
        let cap = TableCapacities {
            mac_ip: 64,
            host: 64,
            ip_pair: 64,
            socket_pair: 64,
        };
        if !Kernels::avx2_available() {
            eprintln!("no AVX2 on this CPU: every run is the baseline build");
        }
        let builds = [Kernels::Baseline, Kernels::Avx2, Kernels::Best];
        let mut fx = builds.map(|_| FeatureExtractor::new(cap, 5));
        let mut outs = [[0f32; N_FEATURES]; 3];
        let mut r = crate::mathx::Rng::new(17);
        let mut ts = 1_600_000_000_000_000i64;
        for i in 0..20_000 {
            ts += match r.next_u64() % 16 {
                0 => -1_000,
                1 => 0,
                2 => 90_000_000,
                _ => (r.next_u64() % 5_000) as i64,
            };
            let host = |v: u64| [192, 168, 1, (v % 80) as u8];
            let mut o = obs(
                ts,
                host(r.next_u64()),
                host(r.next_u64()),
                (r.next_u64() % 6) as u16,
                (r.next_u64() % 6) as u16,
                (r.next_u64() & 0x1f) as u8,
            );
            o.len = 40 + (r.next_u64() % 9_000) as u32;
            for ((f, out), k) in fx.iter_mut().zip(&mut outs).zip(builds) {
                f.extract_using(k, &o, out);
            }
            for (b, out) in builds.iter().zip(&outs).skip(1) {
                for (k, (x, y)) in outs[0].iter().zip(out).enumerate() {
                    assert_eq!(
                        x.to_bits(),
                        y.to_bits(),
                        "packet {i}, {} ({b:?})",
                        feature_name(k)
                    );
                }
            }
        }
        assert!(fx[0].table_stats().iter().all(|t| t.evictions > 0));
    }

    /// The values `ChannelStats` and the single-statistic functions of
    /// `damped` give, which the batched extraction must reproduce.
    #[test]
    fn batched_statistics_are_the_single_ones() {
        let mut r = crate::mathx::Rng::new(3);
        let mut stats = [Damped::default(); 2];
        let mut cov = DampedCov::default();
        for n in 0..5_000 {
            let d = factors((r.next_u64() % 3_000) as f64 * 1e-4);
            for s in &mut stats {
                s.decay(&d);
            }
            cov.decay(&d);
            let dir = (r.next_u64() & 1) as usize;
            let x = (r.next_u64() % 1_500) as f64;
            let res = stats[dir].insert(x);
            cov.insert(dir, &res);
            if n % 7 != 0 {
                continue;
            }
            let [a, b] = &stats;
            for simd in [None, crate::compiled_with(Kernels::Best, |s| s)] {
                let q = quotients::<3, 1>(
                    simd,
                    [&a.m2, &b.m2, &cov.sum_products],
                    [&a.w, &b.w, &cov.w],
                );
                let (va, vb, c) = (
                    var_from(&q[0], &a.w),
                    var_from(&q[1], &b.w),
                    cov_from(&q[2], &cov.w),
                );
                assert_eq!(va, a.var());
                assert_eq!(vb, b.var());
                assert_eq!(c, cov.cov());
                let [mag, rad, den] = two_d_radicands(a, b, &va, &vb);
                let [mag, rad, den, std] = square_roots::<4, 1>(simd, [mag, rad, den, va]);
                assert_eq!(std, a.std());
                let [pcc] = quotients::<1, 1>(simd, [&c], [&den]);
                let expected = crate::damped::two_d(a, b, &cov);
                for (got, want) in [mag, rad, c, pcc_from(&pcc, &den)].iter().zip(&expected) {
                    assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits));
                }
            }
        }
        assert!(stats.iter().all(|s| s.w.iter().all(|&w| w > 0.0)));
    }

    /// Every feature of the batched extraction is the single-statistic
    /// value (`Damped::std`, `two_d`) of the entries the packet updated,
    /// in the slot it had before the batching: a wiring slip (a channel's
    /// other direction, the socket's `sdir`, a swapped slot) gives the same
    /// bits on every build, so `every_instruction_set_gives_the_same_bits`
    /// cannot see it. Small tables (evictions), a source equal to its
    /// destination, empty windows (a direction or jitter never seen).
    #[test]
    fn batched_extraction_is_the_per_entry_statistics() {
        let cap = TableCapacities {
            mac_ip: 16,
            host: 16,
            ip_pair: 16,
            socket_pair: 16,
        };
        for k in [Kernels::Baseline, Kernels::Best] {
            let mut fx = FeatureExtractor::new(cap, 9);
            let mut out = [0f32; N_FEATURES];
            let mut r = crate::mathx::Rng::new(29);
            let mut ts = 1_600_000_000_000_000i64;
            for i in 0..6_000 {
                ts += match r.next_u64() % 12 {
                    0 => -2_000,
                    1 => 0,
                    2 => 30_000_000,
                    _ => (r.next_u64() % 20_000) as i64,
                };
                let host = |v: u64| [10, 0, 0, (v % 40) as u8];
                let mut o = obs(
                    ts,
                    host(r.next_u64()),
                    host(r.next_u64()),
                    (r.next_u64() % 4) as u16,
                    (r.next_u64() % 4) as u16,
                    (r.next_u64() & 0x1f) as u8,
                );
                o.len = 40 + (r.next_u64() % 1_500) as u32;
                fx.extract_using(k, &o, &mut out);

                let (src, dst) = (ip_key(&o.src_ip), ip_key(&o.dst_ip));
                let (pk, dir) = if src <= dst {
                    (PairKey { a: src, b: dst }, 0)
                } else {
                    (PairKey { a: dst, b: src }, 1)
                };
                let (sk, sdir) = sock_key(&o, src, dst);
                let mk = MiKey {
                    mac: o.src_mac,
                    ip: src,
                };
                let (Some(p), Some(s), Some(m), Some(h)) = (
                    fx.pair.get(&pk),
                    fx.sock.get(&sk),
                    fx.mi.get(&mk),
                    fx.host.get(&src),
                ) else {
                    panic!("packet {i}: an entry it touched is gone");
                };
                let mut want = [0f32; N_FEATURES];
                let channel = |c: &ChannelStats, d: usize, want: &mut [f32; N_FEATURES], at| {
                    let a = &c.size[d];
                    let [mag, radius, cov, pcc] = crate::damped::two_d(a, &c.size[d ^ 1], &c.cov);
                    for (j, v) in [a.w, a.mean, a.std(), mag, radius, cov, pcc]
                        .iter()
                        .enumerate()
                    {
                        put(want, at + j, v);
                    }
                };
                put(&mut want, 0, &m.size.w);
                put(&mut want, 1, &m.size.mean);
                put(&mut want, 2, &m.size.std());
                put(&mut want, 3, &h.size.w);
                put(&mut want, 4, &h.size.mean);
                put(&mut want, 5, &h.size.std());
                let rate =
                    |x: &PerWindow| -> PerWindow { std::array::from_fn(|w| x[w] * PER_SEC[w]) };
                put(&mut want, 6, &rate(&h.syn));
                put(&mut want, 7, &rate(&h.new_dst));
                put(&mut want, 8, &rate(&h.new_conn));
                channel(&p.channel, dir, &mut want, 9);
                let j = &p.jitter[dir];
                put(&mut want, 16, &j.w);
                put(&mut want, 17, &j.mean);
                put(&mut want, 18, &j.std());
                channel(&s.channel, sdir, &mut want, 19);
                for (f, (x, y)) in out.iter().zip(&want).enumerate() {
                    assert_eq!(
                        x.to_bits(),
                        y.to_bits(),
                        "packet {i} ({k:?}), {}",
                        feature_name(f)
                    );
                }
            }
            assert!(fx.table_stats().iter().all(|t| t.evictions > 0));
        }
    }

    #[test]
    fn both_directions_share_the_channel() {
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 7);
        let mut out = [0f32; N_FEATURES];
        let a = [192, 168, 1, 2];
        let b = [192, 168, 1, 3];
        fx.extract(&obs(0, a, b, 1000, 80, 0x02), &mut out);
        fx.extract(&obs(10, b, a, 80, 1000, 0x12), &mut out);
        let [mi, h, hh, hp] = fx.table_stats();
        assert_eq!((mi.len, h.len, hh.len, hp.len), (2, 2, 1, 1));
        // The reply sees the request in the other direction: magnitude > own mean.
        let o = 4 * PER_WINDOW;
        assert!(out[o + 12] > out[o + 10]);
    }
}
