//! Damped (exponentially decaying) window statistics, updated in O(1).
//!
//! A damped window gives every past observation `x_i` seen at time `t_i` the
//! weight `2^(-λ (t - t_i))`, so `1/λ` seconds is the half-life of the window.
//! This is the statistic behind Kitsune's AfterImage. We keep, per window:
//!
//! * `w`    — the decayed count `Σ w_i` (a packet rate proxy: at a steady rate
//!   `r` packets/s the count settles at `r / (λ ln 2)`),
//! * `mean` — `Σ w_i x_i / w`,
//! * `m2`   — `Σ w_i (x_i − mean)²`, so that `var = m2 / w`.
//!
//! Unlike Kitsune, which keeps linear and squared sums and computes
//! `ss/w − mean²`, we use the weighted Welford/West update: decaying all weights
//! by `d` scales `w` and `m2` by `d` and leaves `mean` unchanged, and inserting a
//! value of weight 1 is the textbook incremental step. This never cancels
//! catastrophically, which matters because sizes² × counts reach 10¹² within
//! the slowest window. All state is `f64` for that reason; features leave the
//! extractor as `f32`.
//!
//! Time never comes from a clock: callers pass the elapsed packet time and a
//! negative elapsed time (a capture going backwards) decays nothing.

use serde::{Deserialize, Serialize};

use crate::Simd;

/// Decay factor `2^(-λ·dt)` for `dt` seconds; `1.0` when `dt <= 0` or not finite.
#[inline]
pub fn decay_factor(lambda: f64, dt_secs: f64) -> f64 {
    if dt_secs > 0.0 && dt_secs.is_finite() {
        exp2(-lambda * dt_secs)
    } else {
        1.0
    }
}

/// `2^x` with the bits of glibc's (≥ 2.28) and musl's `exp2`: the same
/// algorithm (Arm's optimized-routines: `x = k/128 + r`, a 128-entry table
/// of `2^(k/128)` as a double and its rest, a degree-5 polynomial in `r`,
/// no fused multiply-add), written here so that it inlines: the decays of a
/// packet call it about fifteen times, and libm's call and argument checks
/// cost more than the arithmetic. Arguments outside (−512, −2⁻⁵⁴] ∪
/// [2⁻⁵⁴, 512) (overflow, underflow, subnormal results, NaN) go to libm
/// itself. A test compares both over millions of arguments. On a platform
/// whose libm has another `exp2` the results may differ from libm's in the
/// last bit, as two libms differ from each other.
#[inline(always)]
pub fn exp2(x: f64) -> f64 {
    use crate::exp2_table::EXP2_TABLE;
    // 1.5·2^52 / 128: adding it rounds x to a multiple of 1/128 and leaves
    // k = round(128·x) in the low bits.
    const SHIFT: f64 = 52_776_558_133_248.0;
    const C1: f64 = f64::from_bits(0x3fe6_2e42_fefa_39ef);
    const C2: f64 = f64::from_bits(0x3fce_bfbd_ff82_c424);
    const C3: f64 = f64::from_bits(0x3fac_6b08_d70c_f4b5);
    const C4: f64 = f64::from_bits(0x3f83_b2ab_d246_50cc);
    const C5: f64 = f64::from_bits(0x3f55_d7e0_9b4e_3a84);
    // |x| in [2^-54, 512): the exponent field minus 2^-54's is below
    // 512's minus 2^-54's (unsigned, so smaller |x| wraps above).
    let abstop = (x.to_bits() >> 52) as u32 & 0x7ff;
    if abstop.wrapping_sub(0x3c9) >= 0x408 - 0x3c9 {
        return x.exp2();
    }
    let kd = x + SHIFT;
    let ki = kd.to_bits();
    let kd = kd - SHIFT;
    let r = x - kd;
    let idx = 2 * (ki % 128) as usize;
    let top = ki << 45;
    let (Some(&tail), Some(&hi)) = (EXP2_TABLE.get(idx), EXP2_TABLE.get(idx + 1)) else {
        return x.exp2();
    };
    let tail = f64::from_bits(tail);
    let scale = f64::from_bits(hi.wrapping_add(top));
    let r2 = r * r;
    let tmp = tail + r * C1 + r2 * (C2 + r * C3) + r2 * r2 * (C4 + r * C5);
    scale + scale * tmp
}

/// Number of windows kept side by side (the feature extractor's five decay
/// rates).
pub const WINDOWS: usize = 5;

/// One value per window.
pub type PerWindow = [f64; WINDOWS];

/// A damped statistic of one scalar stream over every window at once.
///
/// Structure of arrays: each quantity is one array over the windows, so the
/// per-window arithmetic (the same for every window, only the decay factor
/// differs) is a few vector instructions instead of five scalar rounds of
/// dependent divisions and square roots. Every window's numbers are exactly
/// those of a scalar damped window updated in the same order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Damped {
    pub w: PerWindow,
    pub mean: PerWindow,
    pub m2: PerWindow,
}

impl Damped {
    /// Multiplies every past weight of window `i` by `d[i]` (`0 < d <= 1`).
    #[inline(always)]
    pub fn decay(&mut self, d: &PerWindow) {
        for i in 0..WINDOWS {
            self.w[i] *= d[i];
            self.m2[i] *= d[i];
        }
    }

    /// Adds `x` with weight 1 to every window and returns the residuals
    /// `x − mean_before`.
    #[inline(always)]
    pub fn insert(&mut self, x: f64) -> PerWindow {
        let mut delta = [0.0; WINDOWS];
        for i in 0..WINDOWS {
            self.w[i] += 1.0;
            delta[i] = x - self.mean[i];
            self.mean[i] += delta[i] / self.w[i];
            self.m2[i] += delta[i] * (x - self.mean[i]);
        }
        delta
    }

    /// Weighted variance per window; 0 for an empty window.
    #[inline(always)]
    pub fn var(&self) -> PerWindow {
        // Divide first, then select: the same values as a branch per
        // window, but a loop the compiler turns into vector divisions.
        let mut v = [0.0; WINDOWS];
        for i in 0..WINDOWS {
            let r = (self.m2[i] / self.w[i]).max(0.0);
            v[i] = if self.w[i] > 0.0 { r } else { 0.0 };
        }
        v
    }

    #[inline(always)]
    pub fn std(&self) -> PerWindow {
        self.var().map(f64::sqrt)
    }
}

impl Damped {
    /// [`Damped::decay`] with the first four windows as one vector (with
    /// the AVX2 token) and the fifth alone, where the compiler's own
    /// vectorisation of the five-window loop shuffles halves of registers:
    /// the same IEEE operations on the same operands, so the same bits.
    #[inline(always)]
    pub(crate) fn decay_with(&mut self, simd: Simd, d: &PerWindow) {
        let dh = head(d);
        let w = mul4(simd, head(&self.w), dh);
        let m2 = mul4(simd, head(&self.m2), dh);
        self.w[..BATCH_LANES].copy_from_slice(&w);
        self.m2[..BATCH_LANES].copy_from_slice(&m2);
        let t = WINDOWS - 1;
        self.w[t] *= d[t];
        self.m2[t] *= d[t];
    }

    /// [`Damped::decay`] by `d`, then [`Damped::insert`] of `x`, written as
    /// [`Damped::decay_with`] is (the same bits as the two calls); returns
    /// the residuals.
    #[inline(always)]
    pub(crate) fn decay_insert(&mut self, simd: Simd, d: &PerWindow, x: f64) -> PerWindow {
        let xs = [x; BATCH_LANES];
        let dh = head(d);
        let w = add4(simd, mul4(simd, head(&self.w), dh), [1.0; BATCH_LANES]);
        let mean0 = head(&self.mean);
        let delta = sub4(simd, xs, mean0);
        let mean = add4(simd, mean0, div4(simd, delta, w));
        let m2 = add4(
            simd,
            mul4(simd, head(&self.m2), dh),
            mul4(simd, delta, sub4(simd, xs, mean)),
        );
        self.w[..BATCH_LANES].copy_from_slice(&w);
        self.mean[..BATCH_LANES].copy_from_slice(&mean);
        self.m2[..BATCH_LANES].copy_from_slice(&m2);
        let t = WINDOWS - 1;
        self.w[t] = self.w[t] * d[t] + 1.0;
        let dt = x - self.mean[t];
        self.mean[t] += dt / self.w[t];
        self.m2[t] = self.m2[t] * d[t] + dt * (x - self.mean[t]);
        [delta[0], delta[1], delta[2], delta[3], dt]
    }
}

impl DampedCov {
    /// [`DampedCov::decay`] by `d`, then [`DampedCov::insert`] of `r` in
    /// direction `dir`, written as [`Damped::decay_with`] is (the same
    /// bits as the two calls).
    #[inline(always)]
    pub(crate) fn decay_insert(&mut self, simd: Simd, d: &PerWindow, dir: usize, r: &PerWindow) {
        let (this, other) = if dir & 1 == 0 { (0, 1) } else { (1, 0) };
        let dh = head(d);
        let last_other = mul4(simd, head(&self.last_residual[other]), dh);
        let sp = add4(
            simd,
            mul4(simd, head(&self.sum_products), dh),
            mul4(simd, head(r), last_other),
        );
        let w = add4(simd, mul4(simd, head(&self.w), dh), [1.0; BATCH_LANES]);
        self.sum_products[..BATCH_LANES].copy_from_slice(&sp);
        self.w[..BATCH_LANES].copy_from_slice(&w);
        self.last_residual[other][..BATCH_LANES].copy_from_slice(&last_other);
        let t = WINDOWS - 1;
        self.last_residual[other][t] *= d[t];
        self.sum_products[t] = self.sum_products[t] * d[t] + r[t] * self.last_residual[other][t];
        self.w[t] = self.w[t] * d[t] + 1.0;
        self.last_residual[this] = *r;
    }
}

/// Damped co-movement of the two directions of a channel (Kitsune's "2-D"
/// statistics), over every window. When a packet arrives in one direction
/// its residual is multiplied with the most recent residual of the other
/// direction; the sum of those products is decayed like any other damped
/// sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DampedCov {
    /// Decayed sum of residual products.
    pub sum_products: PerWindow,
    /// Decayed number of products in `sum_products`.
    pub w: PerWindow,
    /// Last residual seen in each direction (decayed with the window so that a
    /// silent direction fades out instead of correlating forever).
    pub last_residual: [PerWindow; 2],
}

impl DampedCov {
    #[inline(always)]
    pub fn decay(&mut self, d: &PerWindow) {
        for i in 0..WINDOWS {
            self.sum_products[i] *= d[i];
            self.w[i] *= d[i];
            self.last_residual[0][i] *= d[i];
            self.last_residual[1][i] *= d[i];
        }
    }

    /// Records residuals `r` observed in direction `dir` (0 or 1).
    #[inline(always)]
    pub fn insert(&mut self, dir: usize, r: &PerWindow) {
        let (this, other) = if dir & 1 == 0 { (0, 1) } else { (1, 0) };
        for i in 0..WINDOWS {
            self.sum_products[i] += r[i] * self.last_residual[other][i];
            self.w[i] += 1.0;
        }
        self.last_residual[this] = *r;
    }

    #[inline(always)]
    pub fn cov(&self) -> PerWindow {
        let mut c = [0.0; WINDOWS];
        for i in 0..WINDOWS {
            let r = self.sum_products[i] / self.w[i];
            c[i] = if self.w[i] > 0.0 { r } else { 0.0 };
        }
        c
    }
}

/// The 2-D statistics of two directional windows: magnitude of the means,
/// radius of the spreads, covariance and Pearson correlation, per window.
///
/// Kitsune defines the radius as `sqrt(var_a² + var_b²)`; we use
/// `sqrt(var_a + var_b)`, which keeps the unit (bytes) and stays inside `f32`
/// range for jumbo frames. The ordering of packets it induces is the same.
#[inline(always)]
pub fn two_d(a: &Damped, b: &Damped, cov: &DampedCov) -> [PerWindow; 4] {
    let (va, vb) = (a.var(), b.var());
    let c = cov.cov();
    let mut out = [[0.0; WINDOWS]; 4];
    for i in 0..WINDOWS {
        out[0][i] = (a.mean[i] * a.mean[i] + b.mean[i] * b.mean[i]).sqrt();
        out[1][i] = (va[i] + vb[i]).sqrt();
        out[2][i] = c[i];
        let denom = (va[i] * vb[i]).sqrt();
        let r = (c[i] / denom).clamp(-1.0, 1.0);
        out[3][i] = if denom > 1e-12 { r } else { 0.0 };
    }
    out
}

/// Lanes of the vectors the batched operations below fill: four `f64`.
const BATCH_LANES: usize = 4;

/// Four lanes.
type Four = [f64; BATCH_LANES];

/// `a / b` per lane: one AVX2 division with the token, else four.
#[inline(always)]
fn div4(simd: Simd, a: Four, b: Four) -> Four {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = simd {
        return bytemuck::cast(s.avx._mm256_div_pd(bytemuck::cast(a), bytemuck::cast(b)));
    }
    let _ = simd;
    [a[0] / b[0], a[1] / b[1], a[2] / b[2], a[3] / b[3]]
}

/// `a + b` per lane: one AVX2 addition with the token, else four.
#[inline(always)]
fn add4(simd: Simd, a: Four, b: Four) -> Four {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = simd {
        return bytemuck::cast(s.avx._mm256_add_pd(bytemuck::cast(a), bytemuck::cast(b)));
    }
    let _ = simd;
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
}

/// `a - b` per lane.
#[inline(always)]
fn sub4(simd: Simd, a: Four, b: Four) -> Four {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = simd {
        return bytemuck::cast(s.avx._mm256_sub_pd(bytemuck::cast(a), bytemuck::cast(b)));
    }
    let _ = simd;
    [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]]
}

/// `a * b` per lane.
#[inline(always)]
fn mul4(simd: Simd, a: Four, b: Four) -> Four {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = simd {
        return bytemuck::cast(s.avx._mm256_mul_pd(bytemuck::cast(a), bytemuck::cast(b)));
    }
    let _ = simd;
    [a[0] * b[0], a[1] * b[1], a[2] * b[2], a[3] * b[3]]
}

/// `a.sqrt()` per lane: one AVX2 square root with the token, else four.
#[inline(always)]
fn sqrt4(simd: Simd, a: Four) -> Four {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = simd {
        return bytemuck::cast(s.avx._mm256_sqrt_pd(bytemuck::cast(a)));
    }
    let _ = simd;
    a.map(f64::sqrt)
}

/// The first four windows of `v`.
#[inline(always)]
fn head(v: &PerWindow) -> Four {
    [v[0], v[1], v[2], v[3]]
}

/// The fifth windows of statistics `4c .. 4c + 4` of `v` (`pad` past the
/// end).
#[inline(always)]
fn tails<const N: usize>(v: [&PerWindow; N], c: usize, pad: f64) -> Four {
    let mut t = [pad; BATCH_LANES];
    for (i, t) in t.iter_mut().enumerate() {
        if let Some(x) = v.get(c * BATCH_LANES + i) {
            *t = x[WINDOWS - 1];
        }
    }
    t
}

/// `num[k][i] / den[k][i]` for every statistic `k` and window `i`, in
/// whole four-lane vectors: the first four windows of a statistic are one
/// division, and the fifth windows of four statistics share another, where
/// one statistic at a time took a four-lane and a scalar division (or, as
/// the compiler split five-window arrays, a mix of two-lane and scalar
/// ones): the divider, not the instruction count, sets the pace of the
/// derived statistics. With the AVX2 token (`Simd`) each vector is one
/// instruction. Every quotient is the same IEEE division of the same
/// operands as the element-wise loop, so the same bits on every build.
/// `T` is the number of fifth-window vectors, `N / 4` rounded up (checked
/// at compile time); padding lanes divide 1 by 1.
#[inline(always)]
pub fn quotients<const N: usize, const T: usize>(
    simd: Simd,
    num: [&PerWindow; N],
    den: [&PerWindow; N],
) -> [PerWindow; N] {
    const { assert!(T == N.div_ceil(BATCH_LANES)) };
    let mut q = [[0.0; WINDOWS]; N];
    for k in 0..N {
        let h = div4(simd, head(num[k]), head(den[k]));
        q[k][..BATCH_LANES].copy_from_slice(&h);
    }
    for c in 0..T {
        let t = div4(simd, tails(num, c, 1.0), tails(den, c, 1.0));
        for (i, t) in t.into_iter().enumerate() {
            if let Some(q) = q.get_mut(c * BATCH_LANES + i) {
                q[WINDOWS - 1] = t;
            }
        }
    }
    q
}

/// `x[k][i].sqrt()` for every statistic and window, in whole vectors as
/// [`quotients`] divides (the same bits as the element-wise square roots).
#[inline(always)]
pub fn square_roots<const N: usize, const T: usize>(
    simd: Simd,
    x: [PerWindow; N],
) -> [PerWindow; N] {
    const { assert!(T == N.div_ceil(BATCH_LANES)) };
    let mut r = [[0.0; WINDOWS]; N];
    for k in 0..N {
        let h = sqrt4(simd, head(&x[k]));
        r[k][..BATCH_LANES].copy_from_slice(&h);
    }
    let refs: [&PerWindow; N] = std::array::from_fn(|k| &x[k]);
    for c in 0..T {
        let t = sqrt4(simd, tails(refs, c, 1.0));
        for (i, t) in t.into_iter().enumerate() {
            if let Some(r) = r.get_mut(c * BATCH_LANES + i) {
                r[WINDOWS - 1] = t;
            }
        }
    }
    r
}

/// Window `i` of `vals[k]` as `f32` ([`f64`] `as f32`), for every window
/// `i` and statistic `k < N ≤ 4`, handed to `store(i, lanes)` with the
/// statistics side by side: `lanes[k]` is statistic `k`'s value in window
/// `i` (lanes `N..4` hold padding). This is the feature vector's
/// window-major layout: with the AVX2 token the first four windows of four
/// statistics are four conversions and a 4×4 transpose, and their fifth
/// windows one more conversion, where one statistic at a time took five
/// scalar conversions and stores. `vcvtpd2ps` rounds as `as f32` does (to
/// nearest, the only rounding mode Rust code runs in), so the same bits on
/// every build.
#[inline(always)]
pub fn to_f32_by_window<const N: usize>(
    simd: Simd,
    vals: [&PerWindow; N],
    mut store: impl FnMut(usize, [f32; BATCH_LANES]),
) {
    const { assert!(N >= 1 && N <= BATCH_LANES) };
    // The vector path stores four transposed rows and one row of tails.
    const { assert!(WINDOWS == BATCH_LANES + 1) };
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = simd {
        let cvt = |v: Four| s.avx._mm256_cvtpd_ps(bytemuck::cast(v));
        let h: [_; BATCH_LANES] =
            std::array::from_fn(|k| cvt(vals.get(k).map_or([0.0; BATCH_LANES], |v| head(v))));
        // _MM_TRANSPOSE4_PS: rows of windows from rows of statistics.
        let lo01 = s.sse._mm_unpacklo_ps(h[0], h[1]);
        let lo23 = s.sse._mm_unpacklo_ps(h[2], h[3]);
        let hi01 = s.sse._mm_unpackhi_ps(h[0], h[1]);
        let hi23 = s.sse._mm_unpackhi_ps(h[2], h[3]);
        let rows = [
            s.sse._mm_movelh_ps(lo01, lo23),
            s.sse._mm_movehl_ps(lo23, lo01),
            s.sse._mm_movelh_ps(hi01, hi23),
            s.sse._mm_movehl_ps(hi23, hi01),
        ];
        for (i, r) in rows.into_iter().enumerate() {
            store(i, bytemuck::cast(r));
        }
        store(WINDOWS - 1, bytemuck::cast(cvt(tails(vals, 0, 0.0))));
        return;
    }
    let _ = simd;
    for i in 0..WINDOWS {
        let mut lanes = [0.0; BATCH_LANES];
        for (l, v) in lanes.iter_mut().zip(vals) {
            *l = v[i] as f32;
        }
        store(i, lanes);
    }
}

/// The variance of [`Damped::var`] from its quotient `m2 / w` (computed by
/// [`quotients`]): the same selection, so the same bits.
#[inline(always)]
pub fn var_from(q: &PerWindow, w: &PerWindow) -> PerWindow {
    let mut v = [0.0; WINDOWS];
    for i in 0..WINDOWS {
        let r = q[i].max(0.0);
        v[i] = if w[i] > 0.0 { r } else { 0.0 };
    }
    v
}

/// The covariance of [`DampedCov::cov`] from its quotient
/// `sum_products / w`: the same selection, so the same bits.
#[inline(always)]
pub fn cov_from(q: &PerWindow, w: &PerWindow) -> PerWindow {
    let mut c = [0.0; WINDOWS];
    for i in 0..WINDOWS {
        c[i] = if w[i] > 0.0 { q[i] } else { 0.0 };
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAMBDAS: PerWindow = [5.0, 3.0, 1.0, 0.1, 0.01];

    /// Direct (non-incremental) damped statistics over `(t, x)` observed up to `now`.
    fn direct(lambda: f64, obs: &[(f64, f64)], now: f64) -> (f64, f64, f64) {
        let ws: Vec<f64> = obs
            .iter()
            .map(|&(t, _)| 2f64.powf(-lambda * (now - t)))
            .collect();
        let w: f64 = ws.iter().sum();
        let mean = obs.iter().zip(&ws).map(|(&(_, x), wi)| wi * x).sum::<f64>() / w;
        let var = obs
            .iter()
            .zip(&ws)
            .map(|(&(_, x), wi)| wi * (x - mean) * (x - mean))
            .sum::<f64>()
            / w;
        (w, mean, var)
    }

    fn decays(dt: f64) -> PerWindow {
        LAMBDAS.map(|l| decay_factor(l, dt))
    }

    #[test]
    fn incremental_matches_direct_formula() {
        let obs: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                let t = i as f64 * 0.037 + ((i * 7919) % 13) as f64 * 0.002;
                let x = 60.0 + ((i * 104_729) % 1400) as f64;
                (t, x)
            })
            .collect();
        let mut s = Damped::default();
        let mut last = obs[0].0;
        for &(t, x) in &obs {
            s.decay(&decays(t - last));
            last = t;
            s.insert(x);
        }
        let var = s.var();
        for (i, lambda) in LAMBDAS.into_iter().enumerate() {
            let (w, mean, v) = direct(lambda, &obs, last);
            assert!(
                (s.w[i] - w).abs() < 1e-9 * w.max(1.0),
                "λ={lambda} w {} vs {w}",
                s.w[i]
            );
            assert!((s.mean[i] - mean).abs() < 1e-9 * mean, "λ={lambda} mean");
            assert!(
                (var[i] - v).abs() < 1e-7 * v.max(1.0),
                "λ={lambda} var {} vs {v}",
                var[i]
            );
        }
    }

    #[test]
    fn steady_rate_settles_at_rate_over_lambda_ln2() {
        let rate = 100.0;
        let mut s = Damped::default();
        for _ in 0..5_000 {
            s.decay(&decays(1.0 / rate));
            s.insert(1.0);
        }
        // The 1 s window (settled after 50 s; the faster ones differ from
        // the continuous formula by their discrete steps, the slower ones
        // have not settled).
        for (i, lambda) in LAMBDAS.into_iter().enumerate().skip(2).take(1) {
            let expected = rate / (lambda * std::f64::consts::LN_2);
            assert!(
                (s.w[i] - expected).abs() / expected < 0.01,
                "{} vs {expected}",
                s.w[i]
            );
        }
    }

    #[test]
    fn exp2_has_libms_bits() {
        // Every argument the decays give (−λ·dt: λ from 1/86 400 to 5, dt
        // from 1 µs to days), the whole fast range, and its edges.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0u64;
        let mut check = |x: f64| {
            assert_eq!(exp2(x).to_bits(), x.exp2().to_bits(), "exp2({x:e})");
            checked += 1;
        };
        for _ in 0..2_000_000 {
            let u = next();
            // Uniform over the fast range, and log-uniform over magnitudes.
            check((u >> 11) as f64 / (1u64 << 53) as f64 * 1024.0 - 512.0);
            let mag = f64::from_bits((0x3c8u64 + (u % 0x44)) << 52 | (next() >> 12));
            check(-mag);
            check(mag);
        }
        for x in [
            0.0, -0.0, 1e-17, -1e-17, 5.5e-17, -5.5e-17, 511.999, -511.999, 512.0, -512.0, -1022.5,
            -1074.9, -1080.0, 1024.0, 2000.0, -2000.0,
        ] {
            check(x);
        }
        for x in [f64::INFINITY, f64::NEG_INFINITY] {
            check(x);
        }
        assert!(exp2(f64::NAN).is_nan());
        assert_eq!(checked, 6_000_018);
    }

    #[test]
    fn time_going_backwards_decays_nothing() {
        assert_eq!(decay_factor(5.0, -3.0), 1.0);
        assert_eq!(decay_factor(5.0, f64::NAN), 1.0);
        assert_eq!(decay_factor(5.0, 0.0), 1.0);
        assert!((decay_factor(1.0, 1.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn covariance_of_request_response_sizes() {
        // Requests of size s are answered by responses of size 2s: the two
        // directions move together, so the correlation must be clearly positive.
        let mut fwd = Damped::default();
        let mut rev = Damped::default();
        let mut cov = DampedCov::default();
        for i in 0..400 {
            let s = 100.0 + (i % 10) as f64 * 50.0;
            let r = fwd.insert(s);
            cov.insert(0, &r);
            let r = rev.insert(2.0 * s);
            cov.insert(1, &r);
        }
        let [mag, radius, c, pcc] = two_d(&fwd, &rev, &cov);
        for i in 0..WINDOWS {
            assert!(mag[i] > 0.0 && radius[i] > 0.0);
            assert!(c[i] > 0.0);
            assert!(pcc[i] > 0.5, "pcc {}", pcc[i]);
        }
    }

    fn bits(v: &[PerWindow]) -> Vec<u64> {
        v.iter().flatten().map(|x| x.to_bits()).collect()
    }

    fn damped_bits(s: &Damped) -> Vec<u64> {
        bits(&[s.w, s.mean, s.m2])
    }

    fn cov_bits(c: &DampedCov) -> Vec<u64> {
        bits(&[c.sum_products, c.w, c.last_residual[0], c.last_residual[1]])
    }

    /// The explicit updates (`decay_with`, `decay_insert`, and the
    /// co-movement's) give the bits of `decay` then `insert` on every build:
    /// a regrouped or fused operation, or a tail window updated in another
    /// order, fails here.
    #[test]
    fn explicit_updates_are_decay_then_insert() {
        let mut r = crate::mathx::Rng::new(23);
        for simd in [None, crate::compiled_with(crate::Kernels::Best, |s| s)] {
            let (mut a, mut ca) = ([Damped::default(); 2], DampedCov::default());
            let (mut b, mut cb) = (a, ca);
            let mut spread = 0;
            for n in 0..30_000 {
                let dt = match r.next_u64() % 8 {
                    0 => 0.0,
                    1 => -1.0,
                    2 => 3_600.0 * (r.next_u64() % 100) as f64,
                    _ => (r.next_u64() % 10_000) as f64 * 1e-4,
                };
                let d = LAMBDAS.map(|l| decay_factor(l, dt));
                let dir = (r.next_u64() & 1) as usize;
                let x = match r.next_u64() % 4 {
                    0 => 0.0,
                    1 => (r.next_u64() % 9_000) as f64,
                    2 => (r.next_u64() % 1_000_000) as f64 * 1e-6,
                    _ => (r.next_u64() % 1_000) as f64 * 1e9,
                };
                a[0].decay(&d);
                a[1].decay(&d);
                ca.decay(&d);
                let want = a[dir].insert(x);
                ca.insert(dir, &want);
                b[dir ^ 1].decay_with(simd, &d);
                let got = b[dir].decay_insert(simd, &d, x);
                cb.decay_insert(simd, &d, dir, &got);
                assert_eq!(bits(&[got]), bits(&[want]), "step {n} residuals");
                for k in 0..2 {
                    assert_eq!(damped_bits(&b[k]), damped_bits(&a[k]), "step {n} dir {k}");
                }
                assert_eq!(cov_bits(&cb), cov_bits(&ca), "step {n} co-movement");
                spread +=
                    usize::from(a[dir].m2.iter().all(|&m| m > 0.0) && ca.sum_products[0] != 0.0);
            }
            // Most steps update windows that hold a spread and co-movement.
            assert!(spread > 15_000, "{spread}");
        }
    }

    /// The transposed conversion gives `as f32` of every value in its
    /// window's lanes, on every build, for values `f32` cannot hold too
    /// (overflow, subnormals, NaN, infinities, -0) and every group size.
    #[test]
    fn conversion_by_window_is_as_f32_on_every_build() {
        let odd = [
            0.0,
            -0.0,
            1.0 / 3.0,
            -2.5e-40,
            1e-50,
            3.5e38,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::from_bits(0x7ff8_dead_beef_0001),
            16_777_217.0,
            f64::from(f32::MAX) * (1.0 + 1e-9),
        ];
        let mut r = crate::mathx::Rng::new(11);
        let mut pick = || {
            let i = (r.next_u64() % (odd.len() as u64 + 4)) as usize;
            odd.get(i).copied().unwrap_or_else(|| {
                f64::from_bits(r.next_u64()) // any bits, any exponent
            })
        };
        fn check<const N: usize>(vals: [&PerWindow; N]) {
            for simd in [None, crate::compiled_with(crate::Kernels::Best, |s| s)] {
                let mut seen = [false; WINDOWS];
                to_f32_by_window(simd, vals, |i, lanes| {
                    seen[i] = true;
                    for (k, v) in vals.iter().enumerate() {
                        assert_eq!(lanes[k].to_bits(), (v[i] as f32).to_bits(), "{v:?}");
                    }
                });
                assert_eq!(seen, [true; WINDOWS]);
            }
        }
        for _ in 0..2_000 {
            let v: [PerWindow; 4] = std::array::from_fn(|_| std::array::from_fn(|_| pick()));
            check([&v[0]]);
            check([&v[0], &v[1]]);
            check([&v[0], &v[1], &v[2]]);
            check([&v[0], &v[1], &v[2], &v[3]]);
        }
    }
}
