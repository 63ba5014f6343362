//! KitNET (Mirsky et al., NDSS 2018): an ensemble of small autoencoders over
//! correlated feature groups, and an output autoencoder over their errors.
//!
//! 1. **Feature mapping.** During the mapping period [`FeatureMapper`] keeps
//!    a uniform sample of the feature vectors (all of them for up to
//!    [`MAPPER_SAMPLE`] packets) and computes their correlations at the end.
//!    It then clusters features by correlation distance `1 − ρ` with single
//!    linkage (as Kitsune's `corClust`) and cuts the dendrogram top-down until
//!    no group has more than `max_group` features.
//! 2. **Training.** Each group gets a denoising-autoencoder-shaped network with
//!    tied weights (`hidden = ⌈ratio·n⌉`, ratio 0.5 by default where
//!    Kitsune has 0.75; sigmoid units, inputs min-max normalised with ranges
//!    learned while training), trained by one SGD step per packet (learning
//!    rate 0.1) with Kitsune's update rule. The output
//!    autoencoder learns the vector of the ensemble's RMSEs the same way.
//! 3. **Scoring.** The score is the output autoencoder's RMSE.
//!
//! Everything is `f32` with `mathx::sigmoid`; a packet costs about
//! 2·Σ nᵢ·hᵢ multiply-adds plus a few hundred sigmoids. Weights start uniform
//! in ±1/n from a seeded generator, so the same seed and input give the same
//! scores bit for bit.

use serde::{Deserialize, Serialize};

use wide::{f32x4, f32x8};

use crate::mathx::{sigmoid, sigmoid4, Rng};

/// Feature vectors kept for the mapper: a uniform sample of the mapping
/// period. The correlation of two features estimated from 8192 packets is
/// within about ±0.02 of the full-period value (standard error `1/√n`), far
/// finer than the differences the single-linkage clustering acts on.
pub const MAPPER_SAMPLE: usize = 8192;

/// A uniform sample of the mapping period's feature vectors, for correlation
/// clustering of the features.
///
/// Kitsune updates a full co-moment matrix with every packet: `n²/2` (≈ 9 000)
/// `f64` multiply-adds and a 70 KB sweep of memory per packet, which made
/// mapping the most expensive phase of the whole detector. A reservoir
/// sample (Vitter's algorithm R, seeded, so deterministic) costs one random
/// number per packet and a copy for the few packets that enter the sample;
/// the correlations are computed once, from the sample, when the mapping
/// ends. A mapping period of at most [`MAPPER_SAMPLE`] packets (a quiet home
/// network's five minutes) keeps every packet, exactly as before.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureMapper {
    n: usize,
    seen: u64,
    /// Sampled vectors, row-major, `n` values each.
    sample: Vec<f32>,
    rng: Rng,
}

impl FeatureMapper {
    pub fn new(n: usize) -> Self {
        Self {
            n,
            seen: 0,
            sample: Vec::new(),
            rng: Rng::new(0x6d61_7070_6572),
        }
    }

    /// Packets seen (sampled or not).
    pub fn count(&self) -> u64 {
        self.seen
    }

    pub(crate) fn is_well_formed(&self, n: usize) -> bool {
        self.n == n
            && n > 0
            && self.sample.len().is_multiple_of(n)
            && self.sample.len() / n <= MAPPER_SAMPLE
            && self.sample.len() as u64 / n as u64 <= self.seen
    }

    /// Adds one feature vector (`x.len()` should equal `n`; extra values are
    /// ignored, missing ones count as 0).
    pub fn update(&mut self, x: &[f32]) {
        let n = self.n;
        if n == 0 {
            return;
        }
        self.seen += 1;
        let rows = self.sample.len() / n;
        let slot = if rows < MAPPER_SAMPLE {
            self.sample.resize((rows + 1) * n, 0.0);
            rows
        } else {
            let j = self.rng.below(self.seen) as usize;
            if j >= MAPPER_SAMPLE {
                return;
            }
            j
        };
        let row = &mut self.sample[slot * n..(slot + 1) * n];
        let k = n.min(x.len());
        row[..k].copy_from_slice(&x[..k]);
        row[k..].fill(0.0);
    }

    /// Upper-triangular co-moment matrix (row-major `n × n`) of the sample,
    /// computed in two passes (means, then centred products) in `f64`.
    fn comoment(&self) -> Vec<f64> {
        let n = self.n;
        let mut mean = vec![0.0f64; n];
        let rows = self.sample.len() / n.max(1);
        for row in self.sample.chunks_exact(n) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        for m in mean.iter_mut() {
            *m /= rows.max(1) as f64;
        }
        let mut c = vec![0.0f64; n];
        let mut co = vec![0.0f64; n * n];
        for row in self.sample.chunks_exact(n) {
            for ((c, &v), &m) in c.iter_mut().zip(row).zip(&mean) {
                *c = f64::from(v) - m;
            }
            for i in 0..n {
                let ci = c[i];
                for (o, &cj) in co[i * n + i..(i + 1) * n].iter_mut().zip(&c[i..]) {
                    *o += ci * cj;
                }
            }
        }
        co
    }

    /// Groups of feature indices, each of at most `max_group` members, ordered
    /// deterministically.
    pub fn clusters(&self, max_group: usize) -> Vec<Vec<usize>> {
        let n = self.n;
        let max_group = max_group.max(1);
        if n == 0 {
            return Vec::new();
        }
        let comoment = self.comoment();
        let var = |i: usize| comoment[i * n + i];
        let dist = |i: usize, j: usize| -> f64 {
            let (a, b) = if i <= j { (i, j) } else { (j, i) };
            let denom = (var(a) * var(b)).sqrt();
            let rho = if denom > 1e-12 {
                (comoment[a * n + b] / denom).clamp(-1.0, 1.0)
            } else {
                0.0
            };
            1.0 - rho
        };
        // Single-linkage agglomeration. Nodes 0..n are features; merges are
        // appended. O(n³) with n = 130 is about two million steps, once.
        let mut children: Vec<(usize, usize)> = Vec::with_capacity(n);
        let mut size: Vec<usize> = vec![1; n];
        let mut active: Vec<usize> = (0..n).collect();
        let mut d: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|j| dist(i, j)).collect())
            .collect();
        // `d` is indexed by position in `active`.
        while active.len() > 1 {
            let (mut bi, mut bj, mut best) = (0, 1, f64::INFINITY);
            for i in 0..active.len() {
                for j in i + 1..active.len() {
                    if d[i][j] < best {
                        best = d[i][j];
                        bi = i;
                        bj = j;
                    }
                }
            }
            let node = n + children.len();
            children.push((active[bi], active[bj]));
            size.push(size[active[bi]] + size[active[bj]]);
            // Merge bj into bi (single linkage: minimum distance).
            for k in 0..active.len() {
                let m = d[bi][k].min(d[bj][k]);
                d[bi][k] = m;
                d[k][bi] = m;
            }
            d[bi][bi] = 0.0;
            active[bi] = node;
            active.remove(bj);
            d.remove(bj);
            for row in &mut d {
                row.remove(bj);
            }
        }
        // Cut top-down: a node small enough becomes a group.
        let mut groups = Vec::new();
        let mut stack = vec![active[0]];
        while let Some(node) = stack.pop() {
            if size[node] <= max_group || node < n {
                let mut members = Vec::new();
                let mut s = vec![node];
                while let Some(x) = s.pop() {
                    if x < n {
                        members.push(x);
                    } else {
                        let (a, b) = children[x - n];
                        s.push(a);
                        s.push(b);
                    }
                }
                members.sort_unstable();
                groups.push(members);
            } else {
                let (a, b) = children[node - n];
                stack.push(b);
                stack.push(a);
            }
        }
        groups.sort();
        groups
    }
}

/// `sign(x)·ln(1 + |x|)`: packet rates, sizes and covariances are heavy-tailed;
/// on a log scale a benign burst slightly beyond the training range stays
/// close to it, while a flood (orders of magnitude more) still lands far
/// outside. Without it the longest benign bursts of a week dominate the tail.
#[inline]
pub(crate) fn compress(x: f32) -> f32 {
    crate::mathx::log_compress(x)
}

/// Lanes of one SSE2 register (the x86-64 baseline every build may assume):
/// four `f32`. The output autoencoder puts four hidden units side by side
/// in these lanes (the ensemble puts [`MEMBERS`] members side by side).
const LANES: usize = 4;
type Lanes = [f32; LANES];

/// A register of four lanes. Explicit vectors rather than `[f32; 4]`
/// arithmetic left to the optimiser: over arrays, LLVM's loop vectoriser
/// tends to vectorise the loop *around* a lane-wise body (interleaving rows
/// and shuffling lanes back), which made the bundled layout slower than the
/// layout it replaced. `wide` maps these to SSE on x86-64 and NEON on
/// aarch64, with scalar code elsewhere; every operation used here is a
/// plain IEEE add, multiply or divide per lane, so every build gives the
/// same bits.
type V4 = f32x4;

#[inline(always)]
fn v4(a: &Lanes) -> V4 {
    V4::new(*a)
}

/// Which build of the kernels a [`KitNet`] runs.
///
/// The kernels are written once for eight lanes (the x86-64 baseline's
/// SSE2 registers in pairs, or one AVX2 register) and once for sixteen (one
/// AVX-512 register); [`Kernels::Best`] runs the widest build the CPU
/// has, chosen at run time through `pulp`, since this crate forbids
/// `unsafe`. Every operation in them is an IEEE add, multiply, divide,
/// square root, min or max per lane, none is fused (Rust never contracts
/// `a + x·w` into a fused multiply-add, and the explicit kernels use no FMA
/// instruction), so every build gives the same bits; tests check it over
/// synthetic streams and a real capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// The x86-64 baseline (SSE2), or the target's own vectors elsewhere.
    Baseline,
    /// AVX2 (x86-64-v3) when the CPU has it, else the baseline; never
    /// AVX-512. For comparing builds on a CPU that has AVX-512.
    Avx2,
    /// AVX-512 (x86-64-v4) when the CPU has it, else AVX2 when it has
    /// that, else the baseline.
    #[default]
    Best,
}

impl Kernels {
    /// Whether [`Kernels::Avx2`] and [`Kernels::Best`] run (at least) the
    /// AVX2 build on this CPU.
    pub fn avx2_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            pulp::x86::V3::is_available()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Whether [`Kernels::Best`] runs the AVX-512 build on this CPU.
    pub fn avx512_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            pulp::x86::V4::is_available()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }
}

/// The instruction set a kernel may use, with the token that proves the CPU
/// has it: `Avx2` and `Avx512` only inside code that [`with_kernels`] runs
/// compiled for them.
#[derive(Clone, Copy)]
enum Simd {
    Base,
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
    #[cfg(target_arch = "x86_64")]
    Avx512(pulp::x86::V4),
}

impl Simd {
    /// The AVX2 token, also inside AVX-512 code (a superset).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn avx2(self) -> Option<pulp::x86::V3> {
        match self {
            Simd::Base => None,
            Simd::Avx2(s) => Some(s),
            Simd::Avx512(s) => Some(*s),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Runs `f` compiled for the instruction set `k` selects, handing it the
/// matching token. `f` (a closure marked `#[inline(always)]`) and what it
/// calls must be inlined to be compiled for it: a function call from it
/// runs the baseline build.
#[inline(always)]
fn with_kernels<R>(k: Kernels, f: impl FnOnce(Simd) -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if k == Kernels::Best {
            if let Some(v4) = pulp::x86::V4::try_new() {
                return v4.vectorize(
                    #[inline(always)]
                    move || f(Simd::Avx512(v4)),
                );
            }
        }
        if k != Kernels::Baseline {
            if let Some(v3) = pulp::x86::V3::try_new() {
                return v3.vectorize(
                    #[inline(always)]
                    move || f(Simd::Avx2(v3)),
                );
            }
        }
    }
    let _ = k;
    f(Simd::Base)
}

/// `a + x·w` per lane (a multiply, then an add: no fused multiply-add).
#[inline(always)]
fn mul_add(a: V4, x: V4, w: V4) -> V4 {
    a + x * w
}

/// Members side by side in one ensemble bundle: sixteen, one AVX-512
/// register. The eight-lane builds (AVX2, and the baseline's SSE2 registers
/// in pairs) take a bundle as two halves of eight lanes each, one after
/// the other, with the same per-lane operations; a half with no member is
/// skipped.
const MEMBERS: usize = 16;
/// Lanes of the eight-lane builds: half a row.
const HALF: usize = 8;
/// One value (input, hidden unit, weight) of each of a bundle's members.
type Row = [f32; MEMBERS];
/// Half a row: the lanes an eight-lane kernel computes at once.
type Half = [f32; HALF];
/// Half a row as a vector: `wide`'s eight lanes (two SSE registers where
/// the build may not assume AVX).
type V8 = f32x8;

/// Half `g` (0 or 1) of a row.
#[inline(always)]
fn half(r: &Row, g: usize) -> &Half {
    let h: &[Half; 2] = bytemuck::cast_ref(r);
    &h[g & 1]
}

#[inline(always)]
fn half_mut(r: &mut Row, g: usize) -> &mut Half {
    let h: &mut [Half; 2] = bytemuck::cast_mut(r);
    &mut h[g & 1]
}

/// Half `g` of a row as a vector.
#[inline(always)]
fn v8(r: &Row, g: usize) -> V8 {
    V8::new(*half(r, g))
}

/// [`mul_add`] on eight lanes.
#[inline(always)]
fn mul_add8(a: V8, x: V8, w: V8) -> V8 {
    a + x * w
}

/// `mathx::sigmoid4` on each half (the same bits as the scalar sigmoid).
#[inline(always)]
fn sigmoid8(x: V8) -> V8 {
    let [a, b]: [V4; 2] = bytemuck::cast(x);
    bytemuck::cast([sigmoid4(a), sigmoid4(b)])
}

/// Where the decoders' partial sums (and a bundle's sum of squared errors)
/// start: −0, the identity of IEEE addition (`−0 + a` is `a` for every
/// `a`; `+0 + a` is not, `+0 + −0 = +0`), so the compiler drops each
/// sum's first addition and the sum is its first product. The only values
/// this changes from a start at +0 are sums that are exactly zero, whose
/// sign can then be −0 instead of +0; no result sees that sign: every such
/// sum is added to a bias (which is never −0: it starts at +0 and a sum is
/// −0 only when both addends are) and squashed by the sigmoid, which gives
/// the same bits for ±0, and a sum of squares is never −0. So scores,
/// errors and learning are the same bits as from +0 (the textbook-network
/// test starts from +0).
const SUM_START: f32 = -0.0;

/// `(s0 + s2) + (s1 + s3)`: how the decoder combines its partial sums.
#[inline(always)]
fn combine(s: &[V8; 4]) -> V8 {
    (s[0] + s[2]) + (s[1] + s[3])
}

/// The decoder's dot product of a weight row with the hidden units, summed
/// in KitNET's reference order: four partial sums (hidden unit `k` into sum
/// `k mod 4`, in order), combined by [`combine`], then the bias added; half
/// `g` of the lanes. For any number of hidden units; [`forward_bundle`]
/// does the same for a known number.
#[inline(always)]
fn dot(g: usize, row: &[Row], y: &[Row], bias: &Row) -> V8 {
    let mut s = [V8::splat(SUM_START); 4];
    let (rows, r) = row.as_chunks::<4>();
    let (ys, yy) = y.as_chunks::<4>();
    for (rc, yc) in rows.iter().zip(ys) {
        for i in 0..4 {
            s[i] = mul_add8(s[i], v8(&rc[i], g), v8(&yc[i], g));
        }
    }
    for (i, (r, y)) in r.iter().zip(yy).enumerate() {
        let i = i & 3;
        s[i] = mul_add8(s[i], v8(r, g), v8(y, g));
    }
    v8(bias, g) + combine(&s)
}

/// Forward pass of half `G` of one bundle with `H` hidden rows, everything
/// in registers: `y = sigmoid(bias + Σ_j x_j·W[j])` masked to each
/// member's hidden units, then per input row `z_j = sigmoid(bias_j +
/// W[j]·y)` (see [`dot`]) and `err_j = (x_j − z_j)` masked to each
/// member's inputs. Writes half `G` of `y` and `err` (the SGD step reads
/// them) and returns each lane's sum of squared errors, in row order.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_bundle<const H: usize, const G: usize>(
    x: &[Row],
    w: &[Row],
    hbias: &[Row],
    hmask: &[Row],
    vbias: &[Row],
    imask: &[Row],
    y: &mut [Row],
    err: &mut [Row],
) -> V8 {
    let (Ok(hb), Ok(hm), Ok(y)) = (
        <&[Row; H]>::try_from(hbias),
        <&[Row; H]>::try_from(hmask),
        <&mut [Row; H]>::try_from(y),
    ) else {
        return V8::ZERO;
    };
    let rows = w.as_chunks::<H>().0;
    let mut acc: [V8; H] = core::array::from_fn(|k| v8(&hb[k], G));
    for (xj, row) in x.iter().zip(rows) {
        let xj = v8(xj, G);
        for k in 0..H {
            acc[k] = mul_add8(acc[k], xj, v8(&row[k], G));
        }
    }
    for k in 0..H {
        acc[k] = sigmoid8(acc[k]) * v8(&hm[k], G);
        *half_mut(&mut y[k], G) = acc[k].to_array();
    }
    let mut sq = V8::splat(SUM_START);
    for ((((xj, row), b), m), e) in x.iter().zip(rows).zip(vbias).zip(imask).zip(err) {
        let mut s = [V8::splat(SUM_START); 4];
        for k in 0..H {
            s[k % 4] = mul_add8(s[k % 4], v8(&row[k], G), acc[k]);
        }
        let z = sigmoid8(v8(b, G) + combine(&s));
        let ev = (v8(xj, G) - z) * v8(m, G);
        *half_mut(e, G) = ev.to_array();
        sq = mul_add8(sq, ev, ev);
    }
    sq
}

/// Hidden rows per kernel call: the bundle kernels below take `H` rows at
/// once with `H` a constant, so the compiler keeps `H` accumulators in
/// registers and emits straight vector code; a bundle with more hidden
/// rows is done in chunks of [`CHUNK`] (each hidden unit's sums are its
/// own, so chunking changes no result).
const CHUNK: usize = 8;

/// Calls `$kernel::<H>(k0, args...)` over hidden rows `k0..k0 + H` of a
/// bundle with `$h` hidden rows, `H ≤ CHUNK`.
macro_rules! by_chunks {
    ($h:expr, $kernel:ident, $($arg:expr),*) => {{
        let h: usize = $h;
        let mut k0 = 0;
        while k0 < h {
            match h - k0 {
                1 => $kernel::<1>(k0, $($arg),*),
                2 => $kernel::<2>(k0, $($arg),*),
                3 => $kernel::<3>(k0, $($arg),*),
                4 => $kernel::<4>(k0, $($arg),*),
                5 => $kernel::<5>(k0, $($arg),*),
                6 => $kernel::<6>(k0, $($arg),*),
                7 => $kernel::<7>(k0, $($arg),*),
                _ => $kernel::<CHUNK>(k0, $($arg),*),
            }
            k0 += CHUNK;
        }
    }};
}

/// Row `j`'s weights to hidden units `k0..k0 + H` of a bundle whose rows
/// are `h` long.
#[inline(always)]
fn weights<const H: usize>(w: &[Row], h: usize, j: usize, k0: usize) -> Option<&[Row; H]> {
    w.get(j * h + k0..j * h + k0 + H)?.try_into().ok()
}

/// Encoder, half `g` of the lanes: `y_k = bias_k + Σ_j x_j·W[j][k]`
/// (input order) for `k` in `k0..k0 + H`.
#[inline(always)]
fn encode<const H: usize>(
    k0: usize,
    g: usize,
    x: &[Row],
    w: &[Row],
    h: usize,
    bias: &[Row],
    y: &mut [Row],
) {
    let Some(b) = bias.get(k0..k0 + H) else {
        return;
    };
    let mut acc = [V8::ZERO; H];
    for (a, b) in acc.iter_mut().zip(b) {
        *a = v8(b, g);
    }
    for (j, xj) in x.iter().enumerate() {
        let Some(row) = weights::<H>(w, h, j, k0) else {
            break;
        };
        let xj = v8(xj, g);
        for k in 0..H {
            acc[k] = mul_add8(acc[k], xj, v8(&row[k], g));
        }
    }
    if let Some(out) = y.get_mut(k0..k0 + H) {
        for (o, a) in out.iter_mut().zip(acc) {
            *half_mut(o, g) = a.to_array();
        }
    }
}

/// Hidden-layer gradient, half `g` of the lanes: `g_k = (Σ_j
/// err_j·W[j][k])·y_k·(1 − y_k)` for `k` in `k0..k0 + H`.
#[inline(always)]
fn gradient<const H: usize>(
    k0: usize,
    g: usize,
    err: &[Row],
    w: &[Row],
    h: usize,
    y: &[Row],
    gh: &mut [Row],
) {
    let Some(y) = y.get(k0..k0 + H) else {
        return;
    };
    let mut acc = [V8::ZERO; H];
    for (j, e) in err.iter().enumerate() {
        let Some(row) = weights::<H>(w, h, j, k0) else {
            break;
        };
        let e = v8(e, g);
        for k in 0..H {
            acc[k] = mul_add8(acc[k], e, v8(&row[k], g));
        }
    }
    if let Some(out) = gh.get_mut(k0..k0 + H) {
        for ((o, a), y) in out.iter_mut().zip(acc).zip(y) {
            let y = v8(y, g);
            *half_mut(o, g) = (a * y * (V8::ONE - y)).to_array();
        }
    }
}

/// SGD step of the weights, half `g` of the lanes: `W[j][k] +=
/// lr·(x_j·g_k + err_j·y_k)` for `k` in `k0..k0 + H`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn update<const H: usize>(
    k0: usize,
    g: usize,
    x: &[Row],
    err: &[Row],
    gh: &[Row],
    y: &[Row],
    w: &mut [Row],
    h: usize,
    lr: f32,
) {
    let (Some(gh), Some(y)) = (gh.get(k0..k0 + H), y.get(k0..k0 + H)) else {
        return;
    };
    let lr = V8::splat(lr);
    for (j, (xj, ej)) in x.iter().zip(err).enumerate() {
        let Some(row) = w.get_mut(j * h + k0..j * h + k0 + H) else {
            break;
        };
        let (xj, ej) = (v8(xj, g), v8(ej, g));
        for k in 0..H {
            let r = v8(&row[k], g) + lr * (xj * v8(&gh[k], g) + ej * v8(&y[k], g));
            *half_mut(&mut row[k], g) = r.to_array();
        }
    }
}

/// Where one member of an [`Ensemble`] lives: a lane of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Member {
    /// Inputs (= outputs).
    n: usize,
    /// Hidden units.
    h: usize,
    bundle: usize,
    lane: usize,
}

/// Up to `L` members computed side by side, one per lane, with the shape
/// of the largest (the others padded with zero weights that never learn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Bundle {
    /// Input rows (the largest member's inputs).
    n: usize,
    /// Hidden rows (the largest member's hidden units).
    h: usize,
    /// First row in the input-sized arrays.
    input: usize,
    /// First row in the hidden-sized arrays.
    hidden: usize,
    /// First row of weights: `n·h` rows, input-major (row `j·h + k` joins
    /// input `j` and hidden unit `k`).
    weight: usize,
}

/// KitNET's ensemble: many small autoencoders with tied weights, each over
/// its own slice of the feature vector, `L` members side by side.
///
/// **Layout: members side by side.** KitNET's members have at most a few
/// dozen weights, and per-member loops over their few inputs and hidden
/// units are too short to fill a vector register: the previous layout
/// (one member at a time, four hidden units per register) spent its time on
/// broadcasts, the decoder's horizontal sums and padding. Here members are
/// sorted by shape and packed `L` to a *bundle*; every value of a bundle
/// (an input, a hidden unit, a weight) is a row of `L` lanes, one per
/// member, and every operation is the same on every lane. The encoder,
/// decoder, errors and SGD step are then plain vertical arithmetic with no
/// shuffle, which vectorises on any SIMD width and computes, for each
/// member, exactly the sums of the textbook per-member network in the same
/// order (a test checks bit equality against one). A member smaller than
/// its bundle's shape has zero weights in the extra rows; masks keep its
/// padded inputs, errors and hidden units at exactly zero, so they neither
/// change its sums nor learn.
///
/// **Sixteen in memory, four on disk.** [`KitNet`] computes with `L =`
/// [`MEMBERS`] (sixteen: one AVX-512 register, or two AVX2 registers one
/// after the other; a quarter of the bundles of four and their per-bundle
/// work) and saves the four-lane layout that the state format has held
/// since format 6 ([`four_lanes`]): the layout is a pure function of the
/// members' sizes, so either is rebuilt from the other exactly, and saved
/// states keep loading. Padding lanes hold exact zeros (`±0`) whichever
/// build computes them, or if an eight-lane build skips a half that holds
/// no member: they add `±0` to zero weights and biases, which stay `+0`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(
    serialize = "[f32; L]: Serialize",
    deserialize = "[f32; L]: Deserialize<'de>"
))]
struct Ensemble<const L: usize> {
    /// In the caller's order (its feature groups).
    members: Vec<Member>,
    bundles: Vec<Bundle>,
    w: Vec<[f32; L]>,
    /// One per hidden row.
    hbias: Vec<[f32; L]>,
    /// 1 where the row is a hidden unit of the lane's member, else 0.
    hmask: Vec<[f32; L]>,
    /// One per input row.
    vbias: Vec<[f32; L]>,
    /// 1 where the row is an input of the lane's member, else 0.
    imask: Vec<[f32; L]>,
    /// Per bundle: the lane's member's input count (1 for an empty lane).
    count: Vec<[f32; L]>,
    /// Per input row: range seen in training, and the scaling derived from
    /// it (see [`Ensemble::refresh_scale`]): `x' = (x − lo)·inv`, 0 in
    /// padding.
    norm_min: Vec<[f32; L]>,
    norm_max: Vec<[f32; L]>,
    lo: Vec<[f32; L]>,
    inv: Vec<[f32; L]>,
}

/// Activations of one pass through an [`Ensemble`], kept between packets
/// so scoring allocates nothing.
#[derive(Debug, Default, Clone)]
struct Buffers {
    /// Scaled input.
    x: Vec<Row>,
    /// Hidden units.
    y: Vec<Row>,
    /// Reconstruction.
    z: Vec<Row>,
    /// `x − z` (0 in padding).
    err: Vec<Row>,
    /// Hidden-layer gradient.
    gh: Vec<Row>,
    /// Per bundle: each lane's RMSE.
    rmse: Vec<Row>,
}

/// Hidden units of a member with `n` inputs.
fn hidden_units(n: usize, ratio: f32) -> usize {
    ((n as f32 * ratio).ceil() as usize).max(1)
}

/// Bundles for members of the given `(inputs, hidden)` sizes: sorted by
/// shape (largest first, then by position), `lanes` to a bundle. Returns
/// the bundles and each member's (bundle, lane). A pure function of the
/// sizes, so a loaded state can be checked against it.
fn layout(sizes: &[(usize, usize)], lanes: usize) -> (Vec<Bundle>, Vec<(usize, usize)>) {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(sizes[i]), i));
    let mut bundles = Vec::new();
    let mut place = vec![(0, 0); sizes.len()];
    let (mut input, mut hidden, mut weight) = (0usize, 0usize, 0usize);
    for (b, chunk) in order.chunks(lanes.max(1)).enumerate() {
        let n = chunk.iter().map(|&i| sizes[i].0).max().unwrap_or(1);
        let h = chunk.iter().map(|&i| sizes[i].1).max().unwrap_or(1);
        bundles.push(Bundle {
            n,
            h,
            input,
            hidden,
            weight,
        });
        for (lane, &i) in chunk.iter().enumerate() {
            place[i] = (b, lane);
        }
        input += n;
        hidden += h;
        weight += n * h;
    }
    (bundles, place)
}

impl<const L: usize> Ensemble<L> {
    /// Members of the given `(inputs, hidden)` sizes laid out `L` to a
    /// bundle, every weight and bias 0, ranges empty.
    fn empty(shapes: &[(usize, usize)]) -> Self {
        let (bundles, place) = layout(shapes, L);
        let members: Vec<Member> = shapes
            .iter()
            .zip(&place)
            .map(|(&(n, h), &(bundle, lane))| Member { n, h, bundle, lane })
            .collect();
        let (rows_in, rows_h, rows_w) = bundles.last().map_or((0, 0, 0), |b| {
            (b.input + b.n, b.hidden + b.h, b.weight + b.n * b.h)
        });
        let mut e = Self {
            members,
            bundles,
            w: vec![[0.0; L]; rows_w],
            hbias: vec![[0.0; L]; rows_h],
            hmask: Vec::new(),
            vbias: vec![[0.0; L]; rows_in],
            imask: Vec::new(),
            count: Vec::new(),
            norm_min: vec![[f32::INFINITY; L]; rows_in],
            norm_max: vec![[f32::NEG_INFINITY; L]; rows_in],
            lo: vec![[0.0; L]; rows_in],
            inv: vec![[0.0; L]; rows_in],
        };
        (e.imask, e.hmask, e.count) = e.masks();
        e
    }

    /// One member per entry of `sizes` (inputs each, at least 1), with
    /// `⌈ratio·n⌉` hidden units and weights uniform in ±1/n drawn in member,
    /// input, hidden-unit order.
    fn new(sizes: impl IntoIterator<Item = usize>, hidden_ratio: f32, rng: &mut Rng) -> Self {
        let shapes: Vec<(usize, usize)> = sizes
            .into_iter()
            .map(|n| {
                let n = n.max(1);
                (n, hidden_units(n, hidden_ratio))
            })
            .collect();
        let mut e = Self::empty(&shapes);
        for m in &e.members {
            let b = e.bundles[m.bundle];
            let a = 1.0 / m.n as f64;
            for j in 0..m.n {
                for k in 0..m.h {
                    e.w[b.weight + j * b.h + k][m.lane] = ((rng.next_f64() * 2.0 - 1.0) * a) as f32;
                }
            }
        }
        e
    }

    /// The same members, weights, biases and ranges laid out `M` to a
    /// bundle. Only for a well-formed ensemble (every index below is then
    /// in range); values are copied, not computed, so it is exact.
    fn relayout<const M: usize>(&self) -> Ensemble<M> {
        let shapes: Vec<(usize, usize)> = self.members.iter().map(|m| (m.n, m.h)).collect();
        let mut to = Ensemble::<M>::empty(&shapes);
        for (a, b) in self.members.iter().zip(&to.members) {
            let (fa, fb) = (self.bundles[a.bundle], to.bundles[b.bundle]);
            let (la, lb) = (a.lane, b.lane);
            for j in 0..a.n {
                let (ra, rb) = (fa.input + j, fb.input + j);
                to.vbias[rb][lb] = self.vbias[ra][la];
                to.norm_min[rb][lb] = self.norm_min[ra][la];
                to.norm_max[rb][lb] = self.norm_max[ra][la];
                to.lo[rb][lb] = self.lo[ra][la];
                to.inv[rb][lb] = self.inv[ra][la];
                for k in 0..a.h {
                    to.w[fb.weight + j * fb.h + k][lb] = self.w[fa.weight + j * fa.h + k][la];
                }
            }
            for k in 0..a.h {
                to.hbias[fb.hidden + k][lb] = self.hbias[fa.hidden + k][la];
            }
        }
        to
    }

    /// Input and hidden masks and per-lane input counts of the layout.
    #[allow(clippy::type_complexity)]
    fn masks(&self) -> (Vec<[f32; L]>, Vec<[f32; L]>, Vec<[f32; L]>) {
        let rows_in = self.bundles.last().map_or(0, |b| b.input + b.n);
        let rows_h = self.bundles.last().map_or(0, |b| b.hidden + b.h);
        let mut imask = vec![[0.0; L]; rows_in];
        let mut hmask = vec![[0.0; L]; rows_h];
        let mut count = vec![[1.0; L]; self.bundles.len()];
        for m in &self.members {
            let b = self.bundles[m.bundle];
            for row in &mut imask[b.input..b.input + m.n] {
                row[m.lane] = 1.0;
            }
            for row in &mut hmask[b.hidden..b.hidden + m.h] {
                row[m.lane] = 1.0;
            }
            count[m.bundle][m.lane] = m.n as f32;
        }
        (imask, hmask, count)
    }

    /// Rows of the input-sized arrays.
    fn rows(&self) -> usize {
        self.vbias.len()
    }

    /// Checks that the layout is the one [`Ensemble::new`] gives for the
    /// members' sizes, that every array has its length and that padding
    /// holds zero weights, so no slice taken later is out of range and no
    /// padded unit contributes.
    fn is_well_formed(&self, hidden_ratio: Option<f32>) -> bool {
        // Bounds far above any configuration keep the arithmetic below
        // from overflowing on a corrupt file.
        if self
            .members
            .iter()
            .any(|m| m.n == 0 || m.h == 0 || m.n > 1 << 16 || m.h > 1 << 18)
        {
            return false;
        }
        if hidden_ratio.is_some_and(|r| self.members.iter().any(|m| m.h != hidden_units(m.n, r))) {
            return false;
        }
        let sizes: Vec<(usize, usize)> = self.members.iter().map(|m| (m.n, m.h)).collect();
        let (bundles, place) = layout(&sizes, L);
        if bundles != self.bundles
            || self
                .members
                .iter()
                .zip(&place)
                .any(|(m, &p)| (m.bundle, m.lane) != p)
        {
            return false;
        }
        let (rows_in, rows_h, rows_w) = bundles.last().map_or((0, 0, 0), |b| {
            (b.input + b.n, b.hidden + b.h, b.weight + b.n * b.h)
        });
        // Lengths first: the masks below are as large as the layout says.
        let lengths_ok = self.w.len() == rows_w
            && self.hbias.len() == rows_h
            && [
                &self.vbias,
                &self.norm_min,
                &self.norm_max,
                &self.lo,
                &self.inv,
            ]
            .iter()
            .all(|v| v.len() == rows_in);
        if !lengths_ok {
            return false;
        }
        let (imask, hmask, count) = self.masks();
        if imask != self.imask || hmask != self.hmask || count != self.count {
            return false;
        }
        // Padding must be inert: zero weights, biases and scaling.
        self.bundles.iter().all(|b| {
            (0..b.n).all(|j| {
                let im = &self.imask[b.input + j];
                (0..L).all(|l| {
                    im[l] != 0.0
                        || (self.vbias[b.input + j][l] == 0.0 && self.inv[b.input + j][l] == 0.0)
                }) && (0..b.h).all(|k| {
                    let hm = &self.hmask[b.hidden + k];
                    let r = &self.w[b.weight + j * b.h + k];
                    (0..L).all(|l| (im[l] != 0.0 && hm[l] != 0.0) || r[l] == 0.0)
                })
            }) && (0..b.h).all(|k| {
                let hm = &self.hmask[b.hidden + k];
                (0..L).all(|l| hm[l] != 0.0 || self.hbias[b.hidden + k][l] == 0.0)
            })
        })
    }

    /// Widens the training ranges by `raw` (input rows; non-finite values
    /// and padding ignored); true when a range (so the scaling) changed.
    #[inline(always)]
    fn observe(&mut self, raw: &[[f32; L]]) -> bool {
        // Selects rather than branches (the same updates): the loop runs
        // eight lanes a step and only the final `changed` is a branch.
        let mut changed = false;
        for (((lo, hi), &v), &m) in self
            .norm_min
            .as_flattened_mut()
            .iter_mut()
            .zip(self.norm_max.as_flattened_mut())
            .zip(raw.as_flattened())
            .zip(self.imask.as_flattened())
        {
            let on = (m != 0.0) & v.is_finite();
            let below = on & (v < *lo);
            let above = on & (v > *hi);
            *lo = if below { v } else { *lo };
            *hi = if above { v } else { *hi };
            changed |= below | above;
        }
        // The scaling is a function of the ranges alone; after the first
        // packets they rarely move.
        if changed {
            self.refresh_scale();
        }
        changed
    }

    /// Min-max scaling with the ranges seen in training; see
    /// [`Autoencoder::refresh_scale`], of which this is the lane-wise copy.
    /// Padding keeps `lo = inv = 0`, so its scaled input is 0.
    fn refresh_scale(&mut self) {
        for r in 0..self.rows() {
            for l in 0..L {
                let (lo, inv) = scale_of(self.norm_min[r][l], self.norm_max[r][l]);
                let on = self.imask[r][l] != 0.0;
                self.lo[r][l] = if on { lo } else { 0.0 };
                self.inv[r][l] = if on { inv } else { 0.0 };
            }
        }
    }
}

/// [`KitNet`]'s ensemble saved in its four-lane layout (state format 6 and
/// later) and computed in the sixteen-lane one; see [`Ensemble`].
mod four_lanes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Ensemble, MEMBERS};

    pub(super) fn serialize<S: Serializer>(e: &Ensemble<MEMBERS>, s: S) -> Result<S::Ok, S::Error> {
        e.relayout::<4>().serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Ensemble<MEMBERS>, D::Error> {
        let saved = Ensemble::<4>::deserialize(d)?;
        // The copy indexes by the saved layout: it must be the one its
        // members' sizes give (the hidden ratio is checked with the
        // whole model, after loading).
        if !saved.is_well_formed(None) {
            return Err(serde::de::Error::custom(
                "KitNET ensemble: layout does not match its members",
            ));
        }
        // The sixteen-lane copy is allocated from the members' sizes. With
        // hidden units growing with inputs (any one hidden ratio) it never
        // needs more rows than the saved four-lane layout holds (each four
        // times as wide: at most four times the file's arrays); sizes that
        // do not (refused with the ratio anyway) could make a small file
        // ask for a product of two unrelated maxima, gigabytes.
        let sizes: Vec<(usize, usize)> = saved.members.iter().map(|m| (m.n, m.h)).collect();
        let (bundles, _) = super::layout(&sizes, MEMBERS);
        let (rows_in, rows_h, rows_w) = bundles.last().map_or((0, 0, 0), |b| {
            (b.input + b.n, b.hidden + b.h, b.weight + b.n * b.h)
        });
        if rows_in > saved.vbias.len() || rows_h > saved.hbias.len() || rows_w > saved.w.len() {
            return Err(serde::de::Error::custom(
                "KitNET ensemble: member sizes do not grow together",
            ));
        }
        Ok(saved.relayout())
    }
}

impl Ensemble<MEMBERS> {
    fn buffers_fit(&self, b: &mut Buffers) {
        let (ni, nh, nb) = (self.rows(), self.hbias.len(), self.bundles.len());
        if b.x.len() != ni || b.y.len() != nh || b.rmse.len() != nb {
            *b = Buffers {
                x: vec![[0.0; MEMBERS]; ni],
                y: vec![[0.0; MEMBERS]; nh],
                z: vec![[0.0; MEMBERS]; ni],
                err: vec![[0.0; MEMBERS]; ni],
                gh: vec![[0.0; MEMBERS]; nh],
                rmse: vec![[0.0; MEMBERS]; nb],
            };
        }
    }

    /// Halves of the bundle's rows that hold a member (1 or 2): members
    /// fill a bundle from lane 0, and every member has an input, so the
    /// first input row's mask says which lanes are taken. The eight-lane
    /// builds skip the other half: its values are all zero, computed or
    /// not (see [`Ensemble`]).
    #[inline(always)]
    fn halves(&self, bd: &Bundle) -> usize {
        match self.imask.get(bd.input) {
            Some(m) if half(m, 1).iter().any(|&v| v != 0.0) => 2,
            _ => 1,
        }
    }

    /// Scales `raw` (input rows, 0 in padding) into `b.x`.
    #[inline(always)]
    fn scale(&self, raw: &[Row], b: &mut Buffers) {
        self.buffers_fit(b);
        for (((o, &v), &lo), &inv) in
            b.x.as_flattened_mut()
                .iter_mut()
                .zip(raw.as_flattened())
                .zip(self.lo.as_flattened())
                .zip(self.inv.as_flattened())
        {
            *o = clamp_scaled((v - lo) * inv);
        }
    }

    /// Gathers the input rows from the compressed `features` (by `gather`;
    /// padding reads 0) into `raw` and scales them into `b.x`, one row at
    /// a time: the same values as a gather followed by
    /// [`Ensemble::scale`], in one pass instead of two.
    #[inline(always)]
    fn prepare(
        &self,
        gather: &Gather,
        features: &[f32; GATHER_SPAN],
        raw: &mut [Row],
        b: &mut Buffers,
        simd: Simd,
    ) {
        self.buffers_fit(b);
        match simd {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512(s) => avx512::prepare(
                s,
                &gather.perm,
                features,
                &self.lo,
                &self.inv,
                raw,
                &mut b.x,
            ),
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2(s) => avx2::prepare(
                s,
                &gather.bytes,
                features,
                &self.lo,
                &self.inv,
                raw,
                &mut b.x,
            ),
            Simd::Base => {
                for ((((g, r), lo), inv), o) in gather
                    .bytes
                    .iter()
                    .zip(raw.iter_mut())
                    .zip(&self.lo)
                    .zip(&self.inv)
                    .zip(b.x.iter_mut())
                {
                    *r = g.map(|i| features[usize::from(i)]);
                    for l in 0..MEMBERS {
                        o[l] = clamp_scaled((r[l] - lo[l]) * inv[l]);
                    }
                }
            }
        }
    }

    /// Each member's lane in the flat per-bundle RMSEs of [`Buffers`], in
    /// member order.
    fn rmse_slots(&self) -> Vec<u32> {
        self.members
            .iter()
            .map(|m| (m.bundle * MEMBERS + m.lane) as u32)
            .collect()
    }

    /// Forward pass of half `G` of bundle `bd` over `x`, eight lanes at a
    /// time; leaves hidden units in `y`, reconstructions in `z` (only for
    /// more than [`CHUNK`] hidden rows), `x − z` in `err`, and returns each
    /// lane's sum of squared errors.
    // Inlined into the kernel build's closure only with optimisations: an
    // unoptimised build would give every inlined kernel its own stack
    // slots, a frame of over a megabyte (more than a test thread's stack).
    // Not inlined, it still computes the same bits, only slower.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn forward_half<const G: usize>(
        &self,
        bd: &Bundle,
        x: &[Row],
        y: &mut [Row],
        z: &mut [Row],
        err: &mut [Row],
        simd: Simd,
    ) -> V8 {
        let xs = &x[bd.input..bd.input + bd.n];
        let w = &self.w[bd.weight..bd.weight + bd.n * bd.h];
        let hb = &self.hbias[bd.hidden..bd.hidden + bd.h];
        let hm = &self.hmask[bd.hidden..bd.hidden + bd.h];
        let vb = &self.vbias[bd.input..bd.input + bd.n];
        let im = &self.imask[bd.input..bd.input + bd.n];
        let ys = &mut y[bd.hidden..bd.hidden + bd.h];
        let es = &mut err[bd.input..bd.input + bd.n];
        // One AVX2 register per half row where the CPU has it (same bits).
        #[cfg(target_arch = "x86_64")]
        let avx2 = simd.avx2();
        #[cfg(not(target_arch = "x86_64"))]
        let _ = simd;
        macro_rules! bundle {
            ($h:literal) => {{
                #[cfg(target_arch = "x86_64")]
                if let Some(s) = avx2 {
                    return avx2::forward_bundle::<$h, G>(s, xs, w, hb, hm, vb, im, ys, es);
                }
                forward_bundle::<$h, G>(xs, w, hb, hm, vb, im, ys, es)
            }};
        }
        match bd.h {
            1 => bundle!(1),
            2 => bundle!(2),
            3 => bundle!(3),
            4 => bundle!(4),
            5 => bundle!(5),
            6 => bundle!(6),
            7 => bundle!(7),
            8 => bundle!(8),
            h => {
                // More hidden units than registers: encode in chunks,
                // then decode row by row through memory.
                by_chunks!(h, encode, G, xs, w, h, hb, ys);
                for (v, m) in ys.iter_mut().zip(hm) {
                    *half_mut(v, G) = (sigmoid8(v8(v, G)) * v8(m, G)).to_array();
                }
                let zs = &mut z[bd.input..bd.input + bd.n];
                let mut sq = V8::splat(SUM_START);
                for ((((zj, row), bias), (xj, m)), e) in zs
                    .iter_mut()
                    .zip(w.chunks_exact(h))
                    .zip(vb)
                    .zip(xs.iter().zip(im))
                    .zip(es.iter_mut())
                {
                    let zv = sigmoid8(dot(G, row, ys, bias));
                    *half_mut(zj, G) = zv.to_array();
                    let ev = (v8(xj, G) - zv) * v8(m, G);
                    *half_mut(e, G) = ev.to_array();
                    sq = mul_add8(sq, ev, ev);
                }
                sq
            }
        }
    }

    /// Forward pass of every member over `b.x`; leaves hidden units in
    /// `b.y`, reconstructions in `b.z`, `x − z` in `b.err`, and each lane's
    /// RMSE in `b.rmse` (see [`Scratch::collect_errors`]).
    // Inlined into the kernel build's closure only with optimisations: an
    // unoptimised build would give every inlined kernel its own stack
    // slots, a frame of over a megabyte (more than a test thread's stack).
    // Not inlined, it still computes the same bits, only slower.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn forward(&self, b: &mut Buffers, simd: Simd) {
        let Buffers {
            x,
            y,
            z,
            err,
            rmse: out,
            ..
        } = b;
        for ((bd, out), count) in self.bundles.iter().zip(out.iter_mut()).zip(&self.count) {
            // One AVX-512 register per row where the CPU has it (same
            // bits).
            #[cfg(target_arch = "x86_64")]
            if let Simd::Avx512(s) = simd {
                let xs = &x[bd.input..bd.input + bd.n];
                let w = &self.w[bd.weight..bd.weight + bd.n * bd.h];
                let hb = &self.hbias[bd.hidden..bd.hidden + bd.h];
                let hm = &self.hmask[bd.hidden..bd.hidden + bd.h];
                let vb = &self.vbias[bd.input..bd.input + bd.n];
                let im = &self.imask[bd.input..bd.input + bd.n];
                let ys = &mut y[bd.hidden..bd.hidden + bd.h];
                let es = &mut err[bd.input..bd.input + bd.n];
                macro_rules! bundle {
                    ($h:literal) => {
                        avx512::forward_bundle::<$h>(s, xs, w, hb, hm, vb, im, ys, es, count)
                    };
                }
                let done = match bd.h {
                    1 => bundle!(1),
                    2 => bundle!(2),
                    3 => bundle!(3),
                    4 => bundle!(4),
                    5 => bundle!(5),
                    6 => bundle!(6),
                    7 => bundle!(7),
                    8 => bundle!(8),
                    _ => None,
                };
                if let Some(r) = done {
                    *out = r;
                    continue;
                }
            }
            for g in 0..self.halves(bd) {
                let sq = if g == 0 {
                    self.forward_half::<0>(bd, x, y, z, err, simd)
                } else {
                    self.forward_half::<1>(bd, x, y, z, err, simd)
                };
                *half_mut(out, g) = (sq / v8(count, g)).sqrt().to_array();
            }
        }
    }

    /// One SGD step (Kitsune's `dA.train`) of every member, from the pass
    /// [`Ensemble::forward`] left in `b`. Padding stays 0: `x = err = 0` in
    /// padded inputs, `g = y = 0` in padded hidden units.
    // Inlined into the kernel build's closure only with optimisations: an
    // unoptimised build would give every inlined kernel its own stack
    // slots, a frame of over a megabyte (more than a test thread's stack).
    // Not inlined, it still computes the same bits, only slower.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn learn(&mut self, b: &mut Buffers, lr: f32, simd: Simd) {
        for i in 0..self.bundles.len() {
            let bd = self.bundles[i];
            let halves = self.halves(&bd);
            let (n, h) = (bd.n, bd.h);
            let w = &mut self.w[bd.weight..bd.weight + n * h];
            let xs = &b.x[bd.input..bd.input + n];
            let err = &b.err[bd.input..bd.input + n];
            let ys = &b.y[bd.hidden..bd.hidden + h];
            let gh = &mut b.gh[bd.hidden..bd.hidden + h];
            // One AVX-512 register per row where the CPU has it (same
            // bits), else eight lanes at a time.
            #[cfg(target_arch = "x86_64")]
            if let Simd::Avx512(s) = simd {
                use avx512::{gradient as gradient16, update as update16};
                by_chunks!(h, gradient16, s, err, w, h, ys, gh);
                by_chunks!(h, update16, s, xs, err, gh, ys, w, h, lr);
                continue;
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = simd;
            for g in 0..halves {
                by_chunks!(h, gradient, g, err, w, h, ys, gh);
                by_chunks!(h, update, g, xs, err, gh, ys, w, h, lr);
            }
        }
        for (bias, &g) in self
            .hbias
            .as_flattened_mut()
            .iter_mut()
            .zip(b.gh.as_flattened())
        {
            *bias += lr * g;
        }
        for (bias, &e) in self
            .vbias
            .as_flattened_mut()
            .iter_mut()
            .zip(b.err.as_flattened())
        {
            *bias += lr * e;
        }
    }
}

/// `lo` and `1/range` of min-max scaling for a training range (0 and 0
/// before any value was seen). Kitsune divides by `max − min + 1e-16`; a
/// feature that was constant in training then turns any later change into a
/// value near 1e16 that swamps every other autoencoder (we measured
/// thresholds of 1e11). The range is therefore floored at 1 % of the
/// feature's magnitude (and 1e-3), and the scaled value clamped to ±1000
/// (by [`clamp_scaled`]): still far outside the unit interval the sigmoid
/// outputs live in, so outliers keep scoring high.
#[inline]
fn scale_of(lo: f32, hi: f32) -> (f32, f32) {
    if hi >= lo {
        let range = (hi - lo).max(0.01 * lo.abs().max(hi.abs())).max(1e-3);
        (lo, 1.0 / range)
    } else {
        (0.0, 0.0)
    }
}

/// Clamp to ±1000 in the form SSE's maxps/minps implement (see
/// `mathx::exp2_fast`); inputs are finite here.
#[inline(always)]
fn clamp_scaled(s: f32) -> f32 {
    let s = if s > -1000.0 { s } else { -1000.0 };
    if s < 1000.0 {
        s
    } else {
        1000.0
    }
}

/// One autoencoder with tied weights whose hidden units are computed four
/// to a register: KitNET's output layer, a single network over the
/// ensemble's RMSEs (as many inputs as there are members, so its loops are
/// long enough for that layout).
///
/// `W` is stored once: row `j` holds input `j`'s weights to every hidden
/// unit, in blocks of [`LANES`] units (the last block padded with zeros),
/// and serves the encoder, the decoder and the update. Padded hidden units
/// are set to 0 after the sigmoid, so they add exact zeros when decoding
/// and never learn.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Autoencoder {
    n: usize,
    h: usize,
    /// `n` rows of `blocks()` blocks.
    w: Vec<Lanes>,
    /// One per (padded) hidden unit.
    hbias: Vec<Lanes>,
    /// One per input.
    vbias: Vec<f32>,
    norm_min: Vec<f32>,
    norm_max: Vec<f32>,
    lo: Vec<f32>,
    inv: Vec<f32>,
    /// `w` four rows to a group, block-major, for the AVX-512 decoder
    /// (`avx512::decode_groups`): group `q`'s block `b` holds block `b`
    /// of rows `4q..4q + 4` side by side (zeros past the last row). A
    /// copy of `w`, made when scoring finds it stale (after a learning
    /// step); not saved.
    // Read only by the x86-64 AVX-512 decoder: dead code elsewhere.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    #[serde(skip)]
    wt: Vec<Row>,
    /// `wt` holds the current `w`.
    #[serde(skip)]
    wt_fresh: bool,
    /// `lo` and `inv` sixteen to a row, zero past the last input, for
    /// the AVX-512 scaling ([`Autoencoder::scale`]); rebuilt with them
    /// (and after loading, when scoring finds them missing). Not saved.
    #[serde(skip)]
    lo16: Vec<Row>,
    #[serde(skip)]
    inv16: Vec<Row>,
}

/// Activations of one pass through an [`Autoencoder`].
#[derive(Debug, Default, Clone)]
struct Activations {
    x: Vec<f32>,
    y: Vec<Lanes>,
    z: Vec<f32>,
    err: Vec<f32>,
    /// `err²`, summed in order for the RMSE.
    sq: Vec<f32>,
    gh: Vec<Lanes>,
}

/// Output-layer encoder for `B` blocks of hidden units: `y = bias + Σ_j
/// x_j·W[j]`, in input order, the blocks' sums in registers.
#[inline(always)]
fn encode_blocks<const B: usize>(x: &[f32], w: &[Lanes], bias: &[Lanes], y: &mut [Lanes]) {
    let mut acc = [V4::ZERO; B];
    for (a, b) in acc.iter_mut().zip(bias) {
        *a = v4(b);
    }
    for (&xj, row) in x.iter().zip(w.as_chunks::<B>().0) {
        let xb = V4::splat(xj);
        for b in 0..B {
            acc[b] = mul_add(acc[b], xb, v4(&row[b]));
        }
    }
    for (o, a) in y.iter_mut().zip(acc) {
        *o = a.to_array();
    }
}

/// Output-layer decoder for `B` blocks: `z_j = bias_j + W[j]·y`, the lanes'
/// partial sums (in block order) combined as `(l0 + l2) + (l1 + l3)`.
#[inline(always)]
fn decode_blocks<const B: usize>(w: &[Lanes], y: &[Lanes], bias: &[f32], z: &mut [f32]) {
    let Ok(y) = <&[Lanes; B]>::try_from(y) else {
        return;
    };
    let y = y.map(V4::new);
    let rows = w.as_chunks::<B>().0;
    let dot = |row: &[Lanes; B]| {
        let mut a = V4::splat(SUM_START);
        for b in 0..B {
            a = mul_add(a, v4(&row[b]), y[b]);
        }
        a
    };
    // Four rows at a time: their partial sums transposed, so that one
    // vector addition combines the lanes of four rows (the same additions
    // in the same order as the scalar combination of the remainder below,
    // without a trip through memory per row).
    let (z4, z_rest) = z.as_chunks_mut::<4>();
    let (b4, b_rest) = bias.as_chunks::<4>();
    let (r4, r_rest) = rows.as_chunks::<4>();
    for ((zq, bq), rq) in z4.iter_mut().zip(b4).zip(r4) {
        let [l0, l1, l2, l3] = V4::transpose([dot(&rq[0]), dot(&rq[1]), dot(&rq[2]), dot(&rq[3])]);
        *zq = (v4(bq) + ((l0 + l2) + (l1 + l3))).to_array();
    }
    for ((zj, &bj), row) in z_rest.iter_mut().zip(b_rest).zip(r_rest) {
        let a = dot(row).to_array();
        *zj = bj + ((a[0] + a[2]) + (a[1] + a[3]));
    }
}

/// [`encode_blocks`] for any number of blocks (same order of operations).
fn encode_any(x: &[f32], w: &[Lanes], bias: &[Lanes], y: &mut [Lanes]) {
    let blocks = y.len();
    y.copy_from_slice(bias);
    for (&xj, row) in x.iter().zip(w.chunks_exact(blocks)) {
        let xb = V4::splat(xj);
        for (a, r) in y.iter_mut().zip(row) {
            *a = mul_add(v4(a), xb, v4(r)).to_array();
        }
    }
}

/// [`decode_blocks`] for any number of blocks (same order of operations).
fn decode_any(w: &[Lanes], y: &[Lanes], bias: &[f32], z: &mut [f32]) {
    for ((zj, &bj), row) in z.iter_mut().zip(bias).zip(w.chunks_exact(y.len())) {
        let mut a = V4::splat(SUM_START);
        for (r, yy) in row.iter().zip(y) {
            a = mul_add(a, v4(r), v4(yy));
        }
        let a = a.to_array();
        *zj = bj + ((a[0] + a[2]) + (a[1] + a[3]));
    }
}

/// `√(Σ sq / n)` with the squares summed in `Iterator::sum`'s order and
/// start (−0.0), four terms a step: every kernel path's RMSE ends here, so
/// they give the same bits.
#[inline(always)]
fn root_mean(sq: &[f32], n: usize) -> f32 {
    let (q4, rest) = sq.as_chunks::<4>();
    let mut total = -0.0f32;
    for q in q4 {
        total = total + q[0] + q[1] + q[2] + q[3];
    }
    for &q in rest {
        total += q;
    }
    (total / n as f32).sqrt()
}
impl Autoencoder {
    /// `n` inputs (at least 1), `⌈ratio·n⌉` hidden units, weights uniform
    /// in ±1/n drawn in input, hidden-unit order.
    fn new(n: usize, hidden_ratio: f32, rng: &mut Rng) -> Self {
        let n = n.max(1);
        let h = hidden_units(n, hidden_ratio);
        let blocks = h.div_ceil(LANES);
        let mut w = vec![[0.0; LANES]; n * blocks];
        let a = 1.0 / n as f64;
        for j in 0..n {
            for k in 0..h {
                w[j * blocks + k / LANES][k % LANES] = ((rng.next_f64() * 2.0 - 1.0) * a) as f32;
            }
        }
        Self {
            n,
            h,
            w,
            hbias: vec![[0.0; LANES]; blocks],
            vbias: vec![0.0; n],
            norm_min: vec![f32::INFINITY; n],
            norm_max: vec![f32::NEG_INFINITY; n],
            lo: vec![0.0; n],
            inv: vec![0.0; n],
            wt: Vec::new(),
            wt_fresh: false,
            lo16: Vec::new(),
            inv16: Vec::new(),
        }
    }

    /// Values of the activations' input-sized buffers: `n` rounded up to
    /// whole sixteen-lane rows, so that the AVX-512 build scales, squashes
    /// and subtracts whole registers (the padding is never read as an
    /// input, reconstruction or error).
    fn padded(&self) -> usize {
        self.n.next_multiple_of(MEMBERS)
    }

    /// Whether `lo16` and `inv16` are `lo` and `inv` in rows.
    fn rows_fresh(&self) -> bool {
        self.lo16.len() == self.n.div_ceil(MEMBERS)
    }

    /// Makes `lo16` and `inv16` the current `lo` and `inv`.
    fn refresh_rows(&mut self) {
        let rows = |v: &[f32]| {
            let mut r = vec![[0.0f32; MEMBERS]; v.len().div_ceil(MEMBERS)];
            r.as_flattened_mut()[..v.len()].copy_from_slice(v);
            r
        };
        self.lo16 = rows(&self.lo);
        self.inv16 = rows(&self.inv);
    }

    fn blocks(&self) -> usize {
        self.hbias.len()
    }

    /// Makes `wt` the current `w` in the AVX-512 decoder's layout.
    // Called only where the AVX-512 build exists (x86-64).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fn refresh_transposed(&mut self) {
        let blocks = self.blocks();
        self.wt.clear();
        self.wt.resize(self.n.div_ceil(4) * blocks, [0.0; MEMBERS]);
        for (j, row) in self.w.chunks_exact(blocks).enumerate() {
            for (b, block) in row.iter().enumerate() {
                if let Some(o) = self.wt.get_mut((j / 4) * blocks + b) {
                    o[(j % 4) * LANES..(j % 4 + 1) * LANES].copy_from_slice(block);
                }
            }
        }
        self.wt_fresh = true;
    }

    fn is_well_formed(&self) -> bool {
        let (n, h) = (self.n, self.h);
        if n == 0 || h == 0 || n > 1 << 16 || h > 1 << 18 {
            return false;
        }
        let blocks = h.div_ceil(LANES);
        // Padded hidden units (flat index ≥ h) hold zero weights and bias.
        let padding_inert = |v: &[Lanes]| v.as_flattened()[h..].iter().all(|&x| x == 0.0);
        self.w.len() == n * blocks
            && self.hbias.len() == blocks
            && [
                &self.vbias,
                &self.norm_min,
                &self.norm_max,
                &self.lo,
                &self.inv,
            ]
            .iter()
            .all(|v| v.len() == n)
            && padding_inert(&self.hbias)
            && self.w.chunks_exact(blocks).all(padding_inert)
    }

    fn fit(&self, b: &mut Activations) {
        let (p, blocks) = (self.padded(), self.blocks());
        if b.x.len() != p || b.y.len() != blocks {
            *b = Activations {
                x: vec![0.0; p],
                y: vec![[0.0; LANES]; blocks],
                z: vec![0.0; p],
                err: vec![0.0; p],
                sq: vec![0.0; p],
                gh: vec![[0.0; LANES]; blocks],
            };
        }
    }

    /// Widens the training ranges by `raw` (non-finite values ignored);
    /// true when a range (so the scaling) changed.
    #[inline(always)]
    fn observe(&mut self, raw: &[f32]) -> bool {
        let mut changed = false;
        for ((lo, hi), &v) in self.norm_min.iter_mut().zip(&mut self.norm_max).zip(raw) {
            if v.is_finite() {
                if v < *lo {
                    *lo = v;
                    changed = true;
                }
                if v > *hi {
                    *hi = v;
                    changed = true;
                }
            }
        }
        if changed {
            self.refresh_scale();
        }
        changed
    }

    /// Min-max scaling with the ranges seen in training, see [`scale_of`].
    fn refresh_scale(&mut self) {
        for j in 0..self.n {
            (self.lo[j], self.inv[j]) = scale_of(self.norm_min[j], self.norm_max[j]);
        }
        self.refresh_rows();
    }

    /// Scales `raw` (one value per input; missing values count as 0) into
    /// `b.x` (its padding stays 0). Under AVX-512, when `raw` has whole
    /// rows and the scaling rows are current, sixteen at a time with the
    /// same operations (see `avx512::scale_rows`).
    #[inline(always)]
    fn scale(&self, raw: &[f32], b: &mut Activations, simd: Simd) {
        self.fit(b);
        #[cfg(target_arch = "x86_64")]
        if let Simd::Avx512(s) = simd {
            if raw.len() >= b.x.len() && self.rows_fresh() {
                avx512::scale_rows(s, raw, &self.lo16, &self.inv16, self.n, &mut b.x);
                return;
            }
        }
        let _ = simd;
        if raw.len() < self.n {
            b.x.fill(0.0);
        }
        for (((o, &v), &lo), &inv) in b.x.iter_mut().zip(raw).zip(&self.lo).zip(&self.inv) {
            *o = clamp_scaled((v - lo) * inv);
        }
    }

    /// The decoder before the sigmoid: `z = bias + W·y`, four lanes at a
    /// time.
    #[inline(always)]
    fn decode(&self, y: &[Lanes], z: &mut [f32]) {
        match self.blocks() {
            1 => decode_blocks::<1>(&self.w, y, &self.vbias, z),
            2 => decode_blocks::<2>(&self.w, y, &self.vbias, z),
            3 => decode_blocks::<3>(&self.w, y, &self.vbias, z),
            4 => decode_blocks::<4>(&self.w, y, &self.vbias, z),
            5 => decode_blocks::<5>(&self.w, y, &self.vbias, z),
            6 => decode_blocks::<6>(&self.w, y, &self.vbias, z),
            _ => decode_any(&self.w, y, &self.vbias, z),
        }
    }

    /// Forward pass over `b.x`; returns the RMSE of the reconstruction.
    // Inlined only with optimisations, as `Ensemble::forward`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn forward(&self, b: &mut Activations, simd: Simd) -> f32 {
        let n = self.n;
        let (x, y) = (&b.x[..n], &mut b.y[..]);
        let z = &mut b.z[..n];
        // Encoder and sigmoid: sixteen lanes where the CPU has AVX-512,
        // eight where it has AVX2 (same bits).
        #[cfg(target_arch = "x86_64")]
        let wide = simd.avx2();
        #[cfg(target_arch = "x86_64")]
        let done = if let Simd::Avx512(s) = simd {
            match self.blocks() {
                1 => avx512::encode_blocks::<1>(s, x, &self.w, &self.hbias, y),
                2 => avx512::encode_blocks::<2>(s, x, &self.w, &self.hbias, y),
                3 => avx512::encode_blocks::<3>(s, x, &self.w, &self.hbias, y),
                4 => avx512::encode_blocks::<4>(s, x, &self.w, &self.hbias, y),
                5 => avx512::encode_blocks::<5>(s, x, &self.w, &self.hbias, y),
                6 => avx512::encode_blocks::<6>(s, x, &self.w, &self.hbias, y),
                _ => {
                    encode_any(x, &self.w, &self.hbias, y);
                    avx512::sigmoids(s, y.as_flattened_mut());
                }
            }
            true
        } else if let Some(s) = wide {
            match self.blocks() {
                1 => avx2::encode_blocks::<1>(s, x, &self.w, &self.hbias, y),
                2 => avx2::encode_blocks::<2>(s, x, &self.w, &self.hbias, y),
                3 => avx2::encode_blocks::<3>(s, x, &self.w, &self.hbias, y),
                4 => avx2::encode_blocks::<4>(s, x, &self.w, &self.hbias, y),
                5 => avx2::encode_blocks::<5>(s, x, &self.w, &self.hbias, y),
                6 => avx2::encode_blocks::<6>(s, x, &self.w, &self.hbias, y),
                _ => {
                    encode_any(x, &self.w, &self.hbias, y);
                    avx2::sigmoids(s, y.as_flattened_mut());
                }
            }
            true
        } else {
            false
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = {
            let _ = simd;
            false
        };
        if !done {
            match self.blocks() {
                1 => encode_blocks::<1>(x, &self.w, &self.hbias, y),
                2 => encode_blocks::<2>(x, &self.w, &self.hbias, y),
                3 => encode_blocks::<3>(x, &self.w, &self.hbias, y),
                4 => encode_blocks::<4>(x, &self.w, &self.hbias, y),
                5 => encode_blocks::<5>(x, &self.w, &self.hbias, y),
                6 => encode_blocks::<6>(x, &self.w, &self.hbias, y),
                _ => encode_any(x, &self.w, &self.hbias, y),
            }
            for v in y.iter_mut() {
                *v = sigmoid4(v4(v)).to_array();
            }
        }
        y.as_flattened_mut()[self.h..].fill(0.0);
        // Four rows to a register where the CPU has AVX-512 and the
        // transposed weights are current (same bits).
        #[cfg(target_arch = "x86_64")]
        let decoded = match simd {
            Simd::Avx512(s) if self.wt_fresh => match self.blocks() {
                1 => avx512::decode_groups::<1>(s, &self.wt, y, &self.vbias, z),
                2 => avx512::decode_groups::<2>(s, &self.wt, y, &self.vbias, z),
                3 => avx512::decode_groups::<3>(s, &self.wt, y, &self.vbias, z),
                4 => avx512::decode_groups::<4>(s, &self.wt, y, &self.vbias, z),
                5 => avx512::decode_groups::<5>(s, &self.wt, y, &self.vbias, z),
                6 => avx512::decode_groups::<6>(s, &self.wt, y, &self.vbias, z),
                _ => false,
            },
            _ => false,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let decoded = false;
        if !decoded {
            self.decode(y, z);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let wide: Option<std::convert::Infallible> = None;
        match wide {
            #[cfg(target_arch = "x86_64")]
            Some(s) => match simd {
                Simd::Avx512(s) => {
                    // Whole registers over the padded buffer (the padding
                    // is squashed too, and never read), then the errors
                    // and their squares sixteen at a time.
                    avx512::sigmoids(s, &mut b.z);
                    return avx512::rmse(s, &b.x, &b.z, &mut b.err, &mut b.sq, n);
                }
                _ => avx2::sigmoids(s, z),
            },
            _ => {
                let (blocks, rest) = z.as_chunks_mut::<LANES>();
                for v in blocks {
                    *v = sigmoid4(v4(v)).to_array();
                }
                for v in rest {
                    *v = sigmoid(*v);
                }
            }
        }
        Self::rmse(x, z, &mut b.err[..n], &mut b.sq[..n])
    }

    /// `err = x − z` and the RMSE: the errors and their squares in one
    /// vector loop, the squares then summed in input order.
    #[inline(always)]
    fn rmse(x: &[f32], z: &[f32], err: &mut [f32], sq: &mut [f32]) -> f32 {
        for (((e, q), &xj), &zj) in err.iter_mut().zip(sq.iter_mut()).zip(x).zip(z) {
            *e = xj - zj;
            *q = *e * *e;
        }
        root_mean(sq, x.len())
    }

    /// One SGD step (Kitsune's `dA.train`) from the pass
    /// [`Autoencoder::forward`] left in `b`.
    #[inline(always)]
    fn learn(&mut self, b: &mut Activations, lr: f32) {
        self.wt_fresh = false;
        let blocks = self.blocks();
        let (xin, err, yh, gh) = (&b.x[..], &b.err[..], &b.y[..], &mut b.gh[..]);
        // Hidden-layer gradient (zero in padded units, where y = 0).
        gh.fill([0.0; LANES]);
        for (&e, row) in err.iter().zip(self.w.chunks_exact(blocks)) {
            let eb = V4::splat(e);
            for (g, r) in gh.iter_mut().zip(row) {
                *g = mul_add(v4(g), eb, v4(r)).to_array();
            }
        }
        for (g, &yk) in gh.as_flattened_mut().iter_mut().zip(yh.as_flattened()) {
            *g = *g * yk * (1.0 - yk);
        }
        // W += lr·(x ⊗ gh + err ⊗ y); padded columns stay 0.
        for ((&xj, &ej), row) in xin.iter().zip(err).zip(self.w.chunks_exact_mut(blocks)) {
            for ((r, &g), &yk) in row
                .as_flattened_mut()
                .iter_mut()
                .zip(gh.as_flattened())
                .zip(yh.as_flattened())
            {
                *r += lr * (xj * g + ej * yk);
            }
        }
        for (bias, &g) in self
            .hbias
            .as_flattened_mut()
            .iter_mut()
            .zip(gh.as_flattened())
        {
            *bias += lr * g;
        }
        for (bias, &e) in self.vbias.iter_mut().zip(err) {
            *bias += lr * e;
        }
    }
}

/// Features up to which the gather reads a fixed-size buffer.
const GATHER_SPAN: usize = 256;
const _: () = assert!(GATHER_SPAN == 1 << u8::BITS, "a byte indexes the buffer");

/// Which compressed feature each lane of the ensemble's input rows reads,
/// for fewer than [`GATHER_SPAN`] features, in the forms the kernels read.
#[derive(Debug, Clone, Default)]
struct Gather {
    /// Per row, a byte per lane (`u16::MAX` is 255, the buffer's last slot,
    /// which is 0): a byte indexes the fixed-size buffer without a bounds
    /// check or a mask.
    bytes: Vec<[u8; MEMBERS]>,
    /// The same as the AVX-512 kernel's permute indices and masks.
    #[cfg(target_arch = "x86_64")]
    perm: avx512::Perm,
}

impl Gather {
    /// From the feature of each lane, row after row (`u16::MAX` in
    /// padding).
    fn new(lanes: &[u16]) -> Self {
        let bytes: Vec<[u8; MEMBERS]> = lanes
            .as_chunks::<MEMBERS>()
            .0
            .iter()
            .map(|g| g.map(|i| u8::try_from(i).unwrap_or(u8::MAX)))
            .collect();
        Self {
            #[cfg(target_arch = "x86_64")]
            perm: avx512::Perm::new(&bytes),
            bytes,
        }
    }
}

/// Reusable buffers so scoring allocates nothing after the first packet.
#[derive(Debug, Clone)]
struct Scratch {
    /// Per input row and lane of the ensemble: the feature it reads
    /// (`u16::MAX` in padding, which reads 0).
    gather: Vec<u16>,
    /// The same for fewer than [`GATHER_SPAN`] features, in the forms the
    /// kernels read.
    gather8: Gather,
    /// [`Ensemble::rmse_slots`], built with `gather`.
    slots: Vec<u32>,
    /// The same as the AVX-512 build's permute of the per-bundle RMSEs
    /// (at most two bundles: 32 lanes), built with `slots`.
    #[cfg(target_arch = "x86_64")]
    slot_perm: Option<avx512::SlotPerm>,
    /// Compressed features in the ensemble's input rows.
    raw: Vec<Row>,
    /// The input's features in feature order, compressed, zero past the
    /// last (the gather's source; padding reads its last slot).
    features: Box<[f32; GATHER_SPAN]>,
    /// Values of `features` written by the longest input so far (those
    /// past the current input must be reset to 0).
    features_len: usize,
    ens: Buffers,
    /// The ensemble's RMSEs: the output autoencoder's input.
    errors: Vec<f32>,
    out: Activations,
    /// The buffers above hold the pass of the last [`KitNet::score`] with
    /// the current weights (cleared by any training step), and its score.
    scored_pass: bool,
    scored_score: f32,
    /// Debug builds only: the input of that score, to check that
    /// [`KitNet::train_scored`] is given the same one (release builds do
    /// not copy it: 568 bytes a scored packet).
    scored: Vec<f32>,
    kernels: Kernels,
}

impl Scratch {
    /// The members' RMSEs (per-bundle lanes in `ens.rmse`) into `errors`
    /// in member order, zero-padded to whole sixteen-lane rows (the output
    /// layer reads them as rows under AVX-512, and only its `n` inputs
    /// otherwise); a single 0 when there is no member.
    #[inline(always)]
    fn collect_errors(&mut self, simd: Simd) {
        let members = self.slots.len();
        self.errors.clear();
        self.errors
            .resize(members.max(1).next_multiple_of(MEMBERS), 0.0);
        #[cfg(target_arch = "x86_64")]
        if let (Simd::Avx512(s), Some(p)) = (simd, &self.slot_perm) {
            avx512::collect_rmse(s, p, &self.ens.rmse, &mut self.errors);
            return;
        }
        let _ = simd;
        let flat = self.ens.rmse.as_flattened();
        for (e, &i) in self.errors.iter_mut().zip(&self.slots) {
            *e = flat.get(i as usize).copied().unwrap_or(0.0);
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            gather: Vec::new(),
            gather8: Gather::default(),
            slots: Vec::new(),
            #[cfg(target_arch = "x86_64")]
            slot_perm: None,
            raw: Vec::new(),
            features: Box::new([0.0; GATHER_SPAN]),
            features_len: 0,
            ens: Buffers::default(),
            errors: Vec::new(),
            out: Activations::default(),
            scored_pass: false,
            scored_score: 0.0,
            scored: Vec::new(),
            kernels: Kernels::default(),
        }
    }
}

/// The trained-or-training ensemble.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KitNet {
    groups: Vec<Vec<u16>>,
    #[serde(with = "four_lanes")]
    ensemble: Ensemble<MEMBERS>,
    /// The network over the ensemble's RMSEs.
    output: Autoencoder,
    hidden_ratio: f32,
    learning_rate: f32,
    #[serde(skip)]
    scratch: Scratch,
}

impl KitNet {
    /// Builds the ensemble for feature `groups` (indices must be `< n_features`).
    pub fn new(groups: &[Vec<usize>], hidden_ratio: f32, learning_rate: f32, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let groups: Vec<Vec<u16>> = groups
            .iter()
            .filter(|g| !g.is_empty())
            .map(|g| g.iter().map(|&i| i as u16).collect())
            .collect();
        let ensemble = Ensemble::new(groups.iter().map(Vec::len), hidden_ratio, &mut rng);
        let output = Autoencoder::new(groups.len(), hidden_ratio, &mut rng);
        Self {
            groups,
            ensemble,
            output,
            hidden_ratio,
            learning_rate,
            scratch: Scratch::default(),
        }
    }

    /// Feature groups, for explanations and reports.
    pub fn groups(&self) -> &[Vec<u16>] {
        &self.groups
    }

    pub(crate) fn is_well_formed(&self, n_features: usize) -> bool {
        let ratio =
            (self.hidden_ratio > 0.0 && self.hidden_ratio <= 4.0).then_some(self.hidden_ratio);
        ratio.is_some()
            && self.ensemble.is_well_formed(ratio)
            && self.groups.len() == self.ensemble.members.len()
            && self
                .groups
                .iter()
                .zip(&self.ensemble.members)
                .all(|(g, m)| m.n == g.len() && g.iter().all(|&i| usize::from(i) < n_features))
            && self.output.is_well_formed()
            && self.output.n == self.groups.len().max(1)
    }

    /// Runs the ensemble over `x` (learning from it if `train`) and leaves
    /// the members' RMSEs in `scratch.errors`.
    #[inline(always)]
    fn ensemble_errors(&mut self, x: &[f32], train: bool, simd: Simd) {
        let s = &mut self.scratch;
        let rows = self.ensemble.rows();
        if s.gather.len() != rows * MEMBERS {
            // Padding reads the last slot of the buffer, which no feature
            // fills when there are fewer than `GATHER_SPAN` (and reads past
            // the end, 0, otherwise).
            s.gather = vec![u16::MAX; rows * MEMBERS];
            for (g, m) in self.groups.iter().zip(&self.ensemble.members) {
                let first = self.ensemble.bundles[m.bundle].input;
                for (j, &i) in g.iter().enumerate() {
                    s.gather[(first + j) * MEMBERS + m.lane] = i;
                }
            }
            s.gather8 = Gather::new(&s.gather);
            s.slots = self.ensemble.rmse_slots();
            #[cfg(target_arch = "x86_64")]
            {
                s.slot_perm = avx512::SlotPerm::new(&s.slots);
            }
            s.raw = vec![[0.0; MEMBERS]; rows];
        }
        // Gather into the bundles' rows, compress and scale; padding reads
        // 0. With fewer than `GATHER_SPAN` features the gather indexes a
        // fixed-size buffer by a byte: no bounds check, no branch per value.
        let head = if x.len() < GATHER_SPAN {
            s.features.get_mut(..x.len())
        } else {
            None
        };
        if let Some(head) = head {
            // Fewer than `GATHER_SPAN` features (142 here): compress in
            // feature order (9 sixteen-lane registers of values, where the
            // rows' 176 lanes with their padding would take 11 divisions),
            // then one pass per row gathers and scales (see
            // [`Ensemble::prepare`]); the features past the input read 0.
            head.copy_from_slice(x);
            if let Some(stale) = s.features.get_mut(x.len()..s.features_len) {
                stale.fill(0.0);
            }
            s.features_len = x.len();
            // Whole registers: the values past the input are 0, and
            // `compress(0) = 0`.
            let len = x.len().next_multiple_of(16);
            if let Some(head) = s.features.get_mut(..len) {
                match simd {
                    #[cfg(target_arch = "x86_64")]
                    Simd::Avx512(v4) => avx512::compress_all(v4, head),
                    #[cfg(target_arch = "x86_64")]
                    Simd::Avx2(v3) => avx2::compress_all(v3, head),
                    Simd::Base => {
                        for c in head {
                            *c = compress(*c);
                        }
                    }
                }
            }
            self.ensemble
                .prepare(&s.gather8, &s.features, &mut s.raw, &mut s.ens, simd);
            if train {
                s.scored_pass = false;
                if self.ensemble.observe(&s.raw) {
                    // A range widened: scale again with the new ranges.
                    self.ensemble.scale(&s.raw, &mut s.ens);
                }
            }
        } else {
            for (r, &i) in s.raw.as_flattened_mut().iter_mut().zip(&s.gather) {
                *r = compress(x.get(usize::from(i)).copied().unwrap_or(0.0));
            }
            if train {
                self.ensemble.observe(&s.raw);
                s.scored_pass = false;
            }
            self.ensemble.scale(&s.raw, &mut s.ens);
        }
        self.ensemble.forward(&mut s.ens, simd);
        s.collect_errors(simd);
        if train {
            self.ensemble.learn(&mut s.ens, self.learning_rate, simd);
        }
    }

    #[inline(always)]
    fn output_score(&mut self, train: bool, simd: Simd) -> f32 {
        let s = &mut self.scratch;
        if train {
            self.output.observe(&s.errors);
        }
        if !self.output.rows_fresh() {
            // A loaded network: its scaling rows are not saved.
            self.output.refresh_rows();
        }
        self.output.scale(&s.errors, &mut s.out, simd);
        // Scoring keeps the AVX-512 decoder's copy of the weights current
        // (training, which changes them every packet, decodes from `w`).
        #[cfg(target_arch = "x86_64")]
        if !train && !self.output.wt_fresh && matches!(simd, Simd::Avx512(_)) {
            self.output.refresh_transposed();
        }
        let score = self.output.forward(&mut s.out, simd);
        if train {
            self.output.learn(&mut s.out, self.learning_rate);
        }
        score
    }

    /// Trains on `x` and returns its score before the update. A packet
    /// just scored is learned faster by [`KitNet::train_scored`].
    pub fn train(&mut self, x: &[f32]) -> f32 {
        with_kernels(
            self.scratch.kernels,
            #[inline(always)]
            |simd| self.train_inner(x, false, simd),
        )
    }

    /// [`KitNet::train`] of `x`, which must be the input of the last
    /// [`KitNet::score`] (drift adaptation learns the packet it has just
    /// scored): when no training step came between, the forward passes
    /// that score left in the buffers are exactly those training would
    /// compute (same weights; the same scaling unless `x` widens a training
    /// range, when the pass is redone) and only the SGD steps remain (half
    /// the cost of an adapted packet, the same results). The caller vouches for `x` rather than
    /// `score` keeping a copy to compare (568 bytes a scored packet, for
    /// the few that are learned); debug builds check it.
    pub fn train_scored(&mut self, x: &[f32]) -> f32 {
        with_kernels(
            self.scratch.kernels,
            #[inline(always)]
            |simd| self.train_inner(x, true, simd),
        )
    }

    #[inline(always)]
    fn train_inner(&mut self, x: &[f32], scored: bool, simd: Simd) -> f32 {
        // Bits, not `==`: -0.0 and 0.0 compress to different bits.
        debug_assert!(
            !(scored && self.scratch.scored_pass)
                || bytemuck::cast_slice::<f32, u32>(&self.scratch.scored)
                    == bytemuck::cast_slice::<f32, u32>(x),
            "train_scored: not the input of the last score"
        );
        let reuse = scored && self.scratch.scored_pass;
        self.scratch.scored_pass = false;
        if !reuse {
            self.ensemble_errors(x, true, simd);
            return self.output_score(true, simd);
        }
        let s = &mut self.scratch;
        if self.ensemble.observe(&s.raw) {
            // The scaling moved: the pass must be redone with it.
            self.ensemble.scale(&s.raw, &mut s.ens);
            self.ensemble.forward(&mut s.ens, simd);
            s.collect_errors(simd);
            self.ensemble.learn(&mut s.ens, self.learning_rate, simd);
            return self.output_score(true, simd);
        }
        self.ensemble.learn(&mut s.ens, self.learning_rate, simd);
        let score = if self.output.observe(&s.errors) {
            self.output.scale(&s.errors, &mut s.out, simd);
            self.output.forward(&mut s.out, simd)
        } else {
            s.scored_score
        };
        self.output.learn(&mut s.out, self.learning_rate);
        score
    }

    /// Chooses the build of the kernels (by default the best the CPU
    /// runs); for tests and benchmarks that compare them. Not serialised.
    pub fn set_kernels(&mut self, k: Kernels) {
        self.scratch.kernels = k;
    }

    /// Scores `x` without learning.
    pub fn score(&mut self, x: &[f32]) -> f32 {
        let score = with_kernels(
            self.scratch.kernels,
            #[inline(always)]
            |simd| {
                self.ensemble_errors(x, false, simd);
                self.output_score(false, simd)
            },
        );
        let s = &mut self.scratch;
        s.scored_pass = true;
        s.scored_score = score;
        if cfg!(debug_assertions) {
            s.scored.clear();
            s.scored.extend_from_slice(x);
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two independent latent signals, each driving five correlated features.
    fn sample(rng: &mut Rng) -> Vec<f32> {
        let a = rng.next_f64() as f32;
        let b = rng.next_f64() as f32;
        let mut x = Vec::new();
        for k in 0..5 {
            x.push(a * (k + 1) as f32 + 0.01 * rng.next_f64() as f32);
        }
        for k in 0..5 {
            x.push(100.0 - b * (k + 2) as f32 + 0.01 * rng.next_f64() as f32);
        }
        x
    }

    /// The textbook autoencoder of one member (Kitsune's `dA`), written
    /// plainly, one network at a time, with the sums in the documented
    /// order.
    struct Reference {
        w: Vec<Vec<f32>>,
        hb: Vec<f32>,
        vb: Vec<f32>,
        min: Vec<f32>,
        max: Vec<f32>,
    }

    impl Reference {
        fn new(n: usize, ratio: f32, rng: &mut Rng) -> Self {
            let h = hidden_units(n, ratio);
            let a = 1.0 / n as f64;
            let w = (0..n)
                .map(|_| {
                    (0..h)
                        .map(|_| ((rng.next_f64() * 2.0 - 1.0) * a) as f32)
                        .collect()
                })
                .collect();
            Self {
                w,
                hb: vec![0.0; h],
                vb: vec![0.0; n],
                min: vec![f32::INFINITY; n],
                max: vec![f32::NEG_INFINITY; n],
            }
        }

        /// Returns the RMSE of `raw`, learning from it first if `train`
        /// (the score is the one before the update).
        fn run(&mut self, raw: &[f32], train: bool, lr: f32) -> f32 {
            let (n, h) = (self.vb.len(), self.hb.len());
            if train {
                for j in 0..n {
                    if raw[j].is_finite() {
                        self.min[j] = self.min[j].min(raw[j]);
                        self.max[j] = self.max[j].max(raw[j]);
                    }
                }
            }
            let x: Vec<f32> = (0..n)
                .map(|j| {
                    let (lo, inv) = scale_of(self.min[j], self.max[j]);
                    clamp_scaled((raw[j] - lo) * inv)
                })
                .collect();
            let y: Vec<f32> = (0..h)
                .map(|k| {
                    let mut a = self.hb[k];
                    for j in 0..n {
                        a += x[j] * self.w[j][k];
                    }
                    sigmoid(a)
                })
                .collect();
            let z: Vec<f32> = (0..n)
                .map(|j| {
                    let mut s = [0f32; 4];
                    for k in 0..h {
                        s[k % 4] += self.w[j][k] * y[k];
                    }
                    sigmoid(self.vb[j] + ((s[0] + s[2]) + (s[1] + s[3])))
                })
                .collect();
            let e: Vec<f32> = (0..n).map(|j| x[j] - z[j]).collect();
            let mut sq = 0f32;
            for &v in &e {
                sq += v * v;
            }
            if train {
                let g: Vec<f32> = (0..h)
                    .map(|k| {
                        let mut a = 0f32;
                        for j in 0..n {
                            a += e[j] * self.w[j][k];
                        }
                        a * y[k] * (1.0 - y[k])
                    })
                    .collect();
                for j in 0..n {
                    for k in 0..h {
                        self.w[j][k] += lr * (x[j] * g[k] + e[j] * y[k]);
                    }
                    self.vb[j] += lr * e[j];
                }
                for k in 0..h {
                    self.hb[k] += lr * g[k];
                }
            }
            (sq / n as f32).sqrt()
        }
    }

    /// The packed ensemble (members side by side in bundles, padding,
    /// hidden rows in chunks, half bundles) computes exactly the textbook
    /// networks: the same scores, bit for bit, while training and while
    /// scoring, on every kernel build the CPU has. The member sizes give
    /// every bundle shape: groups of 1 to 14 inputs (1 to 11 hidden units,
    /// so a bundle is also done in two chunks, and a last bundle with one
    /// member), and bundles led by every hidden count from 1 to 8 (a last
    /// bundle that fills half its lanes). Each group's features are spread
    /// over the feature vector, so a row's lanes read from every part of it.
    #[test]
    fn packed_ensemble_is_the_textbook_network_bit_for_bit() {
        let mixed = [
            3usize, 10, 1, 14, 5, 10, 2, 7, 1, 9, 12, 4, 6, 8, 11, 13, 10,
        ];
        // Four of each size from 1 to 10: bundles led by 8, 5 and 2 hidden
        // units, the last one half full.
        let ten: Vec<usize> = (0..40).map(|i| 1 + (i * 7) % 10).collect();
        // Sixteen of one size a bundle: 6, 4 and 1, then 7 and 3 hidden
        // units.
        let c: Vec<usize> = [[8; 16], [5; 16]]
            .concat()
            .into_iter()
            .chain([1; 10])
            .collect();
        let d: Vec<usize> = [[9; 16], [4; 16]].concat();
        for sizes in [&mixed[..], &ten, &c, &d] {
            packed_ensemble_matches_textbook(Kernels::Baseline, sizes);
            // On a CPU with AVX2, the eight-lane kernels, and on one with
            // AVX-512, the sixteen-lane ones (else the narrower again).
            packed_ensemble_matches_textbook(Kernels::Avx2, sizes);
            packed_ensemble_matches_textbook(Kernels::Best, sizes);
        }
    }

    fn packed_ensemble_matches_textbook(kernels: Kernels, sizes: &[usize]) {
        let (ratio, lr, seed) = (0.75, 0.1, 11);
        let n_features: usize = sizes.iter().sum();
        assert!(n_features < GATHER_SPAN);
        // Feature `f` of the groups' concatenation is `37·f mod n`: the
        // groups spread over the vector (37 is prime to every `n` here).
        let spread = |f: usize| (f * 37) % n_features;
        let mut next = 0usize;
        let groups: Vec<Vec<usize>> = sizes
            .iter()
            .map(|&n| {
                next += n;
                (next - n..next).map(spread).collect()
            })
            .collect();
        let mut all: Vec<usize> = groups.concat();
        all.sort_unstable();
        assert_eq!(all, (0..n_features).collect::<Vec<_>>());
        let mut net = KitNet::new(&groups, ratio, lr, seed);
        net.set_kernels(kernels);
        let mut rng = Rng::new(seed);
        let mut members: Vec<Reference> = sizes
            .iter()
            .map(|&n| Reference::new(n, ratio, &mut rng))
            .collect();
        let mut output = Reference::new(sizes.len(), ratio, &mut rng);
        let mut data = Rng::new(5);
        for i in 0..3000 {
            let train = i < 2000 || i % 8 == 0;
            let x: Vec<f32> = (0..n_features)
                .map(|f| {
                    let v = data.next_f64() as f32 * (f as f32 + 1.0) * 10.0;
                    // Now and then a value far out of the training range.
                    if i > 2000 && i % 97 == f % 97 {
                        v * 1e4
                    } else {
                        v
                    }
                })
                .collect();
            let errors: Vec<f32> = groups
                .iter()
                .zip(&mut members)
                .map(|(g, m)| {
                    let raw: Vec<f32> = g.iter().map(|&f| compress(x[f])).collect();
                    m.run(&raw, train, lr)
                })
                .collect();
            let want = output.run(&errors, train, lr);
            let got = if train { net.train(&x) } else { net.score(&x) };
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{kernels:?}, packet {i}: {got} vs {want}"
            );
        }
        assert!(net.is_well_formed(n_features));
        // Saved and loaded, the ensemble goes on with the same numbers.
        let bytes = postcard::to_allocvec(&net).expect("serialises");
        let mut loaded: KitNet = postcard::from_bytes(&bytes).expect("loads");
        assert!(loaded.is_well_formed(n_features));
        let x: Vec<f32> = (0..n_features).map(|f| f as f32).collect();
        assert_eq!(loaded.score(&x).to_bits(), net.score(&x).to_bits());
    }

    /// Learning a packet right after scoring it (drift adaptation) reuses
    /// the scored pass; the scores and weights are exactly those of a
    /// network that learns the packet without scoring it first, also when
    /// the packet widens a training range (the pass is then redone).
    #[test]
    fn training_after_scoring_the_same_packet_is_plain_training() {
        let groups = vec![vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8, 9], vec![10]];
        let mut reused = KitNet::new(&groups, 0.75, 0.1, 4);
        let mut plain = reused.clone();
        let mut rng = Rng::new(8);
        let mut x = vec![0.0f32; 11];
        for i in 0..3000 {
            for v in x.iter_mut() {
                *v = rng.next_f64() as f32 * 50.0;
            }
            if i % 50 == 0 {
                // Out of every range seen so far.
                x[i % 11] = 1e4 + i as f32;
            }
            let scored = reused.score(&x);
            assert_eq!(scored.to_bits(), plain.score(&x).to_bits(), "packet {i}");
            if i % 3 != 2 {
                // Empty buffers: `plain` learns without the scored pass.
                plain.scratch = Scratch::default();
                let (a, b) = (reused.train_scored(&x), plain.train(&x));
                assert_eq!(a.to_bits(), b.to_bits(), "packet {i}");
            }
        }
        let probe: Vec<f32> = (0..11).map(|f| f as f32 * 3.0).collect();
        assert_eq!(
            reused.score(&probe).to_bits(),
            plain.score(&probe).to_bits()
        );
        // `train` learns from scratch, whatever was scored last.
        reused.score(&probe);
        plain.scratch = Scratch::default();
        assert_eq!(reused.train(&x).to_bits(), plain.train(&x).to_bits());
        // So does `train_scored` after a training step.
        reused.score(&x);
        plain.scratch = Scratch::default();
        assert_eq!(reused.train(&x).to_bits(), plain.train(&x).to_bits());
        plain.scratch = Scratch::default();
        assert_eq!(reused.train_scored(&x).to_bits(), plain.train(&x).to_bits());
    }

    /// `train_scored` learns from the last score's pass without comparing
    /// inputs in release builds (the engine vouches: it learns the slice it
    /// has just scored); a debug build checks the bits, so a caller that
    /// hands it another input is caught, even one that differs only by
    /// the sign of a zero (equal under `==`, not the same compressed input).
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "train_scored: not the input of the last score")]
    fn train_scored_of_another_input_is_caught_in_debug_builds() {
        let groups = vec![vec![0, 1, 2], vec![3, 4]];
        let mut net = KitNet::new(&groups, 0.5, 0.1, 6);
        let x = [0.5f32, 0.0, 2.0, 7.0, 1.0];
        for _ in 0..20 {
            net.train(&x);
        }
        net.score(&x);
        let mut other = x;
        other[1] = -0.0;
        net.train_scored(&other);
    }

    /// The ensemble computes sixteen members to a bundle but saves the
    /// four-lane layout of state format 6: a fresh network saves exactly
    /// the four-lane ensemble of the same seed, and a trained one goes to
    /// four lanes and back unchanged.
    #[test]
    fn saved_ensemble_keeps_the_four_lane_layout() {
        let sizes = [10usize, 3, 10, 5, 1, 10, 2, 7, 1, 9, 10, 4, 1];
        let mut next = 0usize;
        let groups: Vec<Vec<usize>> = sizes
            .iter()
            .map(|&n| {
                next += n;
                (next - n..next).collect()
            })
            .collect();
        let mut net = KitNet::new(&groups, 0.75, 0.1, 3);
        let four = Ensemble::<4>::new(sizes, 0.75, &mut Rng::new(3));
        let bytes = |e: &Ensemble<4>| postcard::to_allocvec(e).expect("serialises");
        assert_eq!(bytes(&net.ensemble.relayout()), bytes(&four));
        let mut rng = Rng::new(9);
        for _ in 0..500 {
            let x: Vec<f32> = (0..next).map(|_| rng.next_f64() as f32 * 20.0).collect();
            net.train(&x);
        }
        let back: Ensemble<MEMBERS> = net.ensemble.relayout::<4>().relayout();
        assert!(back.is_well_formed(Some(0.75)));
        assert_eq!(
            postcard::to_allocvec(&back).expect("serialises"),
            postcard::to_allocvec(&net.ensemble).expect("serialises")
        );
        // A four-lane layout that does not match its members is refused
        // when loading, before anything indexes by it.
        let mut bad = net.ensemble.relayout::<4>();
        bad.members[0].lane = 3;
        let good: KitNet =
            postcard::from_bytes(&postcard::to_allocvec(&net).expect("serialises")).expect("loads");
        assert!(good.is_well_formed(next));
        let saved = postcard::to_allocvec(&bad).expect("serialises");
        assert!(postcard::from_bytes::<Ensemble<4>>(&saved).is_ok());
        let mut de = postcard::Deserializer::from_bytes(&saved);
        assert!(four_lanes::deserialize(&mut de).is_err());
    }

    /// `kitnet/format9.postcard` is a KitNET saved by the code of state
    /// format 9 (commit 8deb128, four members to a bundle in memory as on
    /// disk): `KitNet::new(&groups, 0.75, 0.1, 21)` over the groups below,
    /// trained on 300 inputs of `format9_input`. Today's code loads it,
    /// saves the same bytes, rebuilds it from the same recipe, and goes on
    /// with the scores the old code gave (their bits recorded from it), on
    /// every kernel build the CPU has.
    #[test]
    fn a_network_saved_by_the_four_lane_code_loads_and_scores_the_same() {
        fn format9_input(d: &mut Rng, i: usize) -> Vec<f32> {
            (0..17)
                .map(|f| {
                    ((d.next_f64() * 2.0 - 0.5) * (f as f64 + 1.0) * (1.0 + (i % 7) as f64)) as f32
                })
                .collect()
        }
        let saved: &[u8] = include_bytes!("kitnet/format9.postcard");
        let groups = vec![
            vec![0, 4, 9, 12, 16],
            vec![1, 2, 3],
            vec![5, 6],
            vec![7],
            vec![8, 10, 11, 13],
            vec![14, 15],
        ];
        let mut rebuilt = KitNet::new(&groups, 0.75, 0.1, 21);
        let mut d = Rng::new(8);
        for i in 0..300 {
            rebuilt.train(&format9_input(&mut d, i));
        }
        assert_eq!(postcard::to_allocvec(&rebuilt).expect("serialises"), saved);
        let old_bits = [
            0x3e5c_d0e1u32,
            0x3e40_bad8,
            0x3e0c_6f4b,
            0x3e10_faca,
            0x3e63_9194,
            0x3e86_95ef,
        ];
        for kernels in [Kernels::Baseline, Kernels::Avx2, Kernels::Best] {
            let mut net: KitNet = postcard::from_bytes(saved).expect("loads");
            assert!(net.is_well_formed(17));
            assert_eq!(postcard::to_allocvec(&net).expect("serialises"), saved);
            net.set_kernels(kernels);
            let mut probe = d.clone();
            for (i, &want) in old_bits.iter().enumerate() {
                let x = format9_input(&mut probe, i);
                let got = if i % 2 == 0 {
                    net.score(&x)
                } else {
                    net.train(&x)
                };
                assert_eq!(got.to_bits(), want, "{kernels:?}, input {i}");
            }
        }
    }

    /// A saved four-lane ensemble whose sizes would make the sixteen-lane
    /// copy far larger than the file (wide members bundled with deep
    /// ones) is refused before anything is allocated for it.
    #[test]
    fn saved_sizes_that_would_blow_up_the_sixteen_lane_copy_are_refused() {
        let mut shapes = vec![(2048usize, 1usize); 4];
        shapes.extend([(1, 2048); 4]);
        let saved = Ensemble::<4>::empty(&shapes);
        assert!(saved.is_well_formed(None));
        assert_eq!(saved.w.len(), 2 * 2048);
        let bytes = postcard::to_allocvec(&saved).expect("serialises");
        let mut de = postcard::Deserializer::from_bytes(&bytes);
        assert!(four_lanes::deserialize(&mut de).is_err());
        // A real network's ensemble still loads.
        let groups: Vec<Vec<usize>> = (0..9)
            .map(|g| (g * 10..g * 10 + 10 - g).collect())
            .collect();
        let net = KitNet::new(&groups, 0.75, 0.1, 2);
        let bytes = postcard::to_allocvec(&net).expect("serialises");
        let loaded: KitNet = postcard::from_bytes(&bytes).expect("loads");
        assert!(loaded.is_well_formed(90));
    }

    #[test]
    fn corrupt_padding_or_layout_is_refused() {
        let groups = vec![vec![0, 1, 2], vec![3], vec![4, 5, 6, 7, 8]];
        let net = KitNet::new(&groups, 0.75, 0.1, 1);
        assert!(net.is_well_formed(9));
        assert!(!net.is_well_formed(8), "a feature index out of range");
        // A weight in a padded slot would make a padded unit contribute.
        let mut bad = net.clone();
        let m = bad.ensemble.members[1];
        let b = bad.ensemble.bundles[m.bundle];
        bad.ensemble.w[b.weight + 2 * b.h][m.lane] = 0.5;
        assert!(!bad.is_well_formed(9));
        // A member moved to another lane.
        let mut bad = net.clone();
        bad.ensemble.members.swap(0, 2);
        assert!(!bad.is_well_formed(9));
        // Arrays of the wrong length.
        let mut bad = net;
        bad.ensemble.vbias.pop();
        assert!(!bad.is_well_formed(9));
    }

    #[test]
    fn mapper_separates_independent_groups() {
        let mut rng = Rng::new(1);
        let mut fm = FeatureMapper::new(10);
        for _ in 0..2000 {
            fm.update(&sample(&mut rng));
        }
        let groups = fm.clusters(5);
        assert_eq!(groups, vec![vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8, 9]]);
        // With a smaller bound every group respects it and all features appear once.
        let groups = fm.clusters(3);
        assert!(groups.iter().all(|g| g.len() <= 3));
        let mut all: Vec<usize> = groups.concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn learns_a_pattern_and_flags_an_outlier() {
        let mut rng = Rng::new(2);
        let groups = vec![vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8, 9]];
        let mut net = KitNet::new(&groups, 0.75, 0.1, 3);
        for _ in 0..20_000 {
            net.train(&sample(&mut rng));
        }
        let normal: Vec<f32> = (0..500).map(|_| net.score(&sample(&mut rng))).collect();
        let max_normal = normal.iter().cloned().fold(0.0, f32::max);
        // Break the correlation inside the first group: each value stays in its
        // own range, only their relation is abnormal.
        let mut odd = sample(&mut rng);
        odd[0] = 0.95;
        odd[4] = 0.1;
        let s = net.score(&odd);
        assert!(
            s > 2.0 * max_normal,
            "outlier {s} vs max normal {max_normal}"
        );
        assert!(normal.iter().all(|v| v.is_finite()));
    }
}
