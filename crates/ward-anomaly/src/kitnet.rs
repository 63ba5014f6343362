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
//!    tied weights (`hidden = ⌈0.75·n⌉`, sigmoid units, inputs min-max
//!    normalised with ranges learned while training), trained by one SGD step
//!    per packet (learning rate 0.1) with Kitsune's update rule. The output
//!    autoencoder learns the vector of the ensemble's RMSEs the same way.
//! 3. **Scoring.** The score is the output autoencoder's RMSE.
//!
//! Everything is `f32` with `mathx::sigmoid`; a packet costs about
//! 2·Σ nᵢ·hᵢ multiply-adds plus a few hundred sigmoids. Weights start uniform
//! in ±1/n from a seeded generator, so the same seed and input give the same
//! scores bit for bit.

use serde::{Deserialize, Serialize};

use crate::mathx::{sigmoid, Rng};

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

/// Lanes per block of hidden units: SSE2, the x86-64 baseline every build
/// may assume, holds four `f32`. Each member's hidden layer is padded to a
/// multiple of this with zero weights and biases, and the padded units are
/// set to 0 after the sigmoid, so they add exact zeros when decoding and
/// never learn.
const LANES: usize = 4;

#[inline]
fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

#[inline(always)]
fn sigmoid_all(v: &mut [f32]) {
    for block in v.chunks_exact_mut(LANES) {
        for x in block.iter_mut() {
            *x = sigmoid(*x);
        }
    }
}

/// Encoder of one member whose hidden layer is `B` blocks: `out = bias +
/// Σ_j x_j·W[j]`, summed in input order, each block of four hidden units
/// accumulated in a register. `w` holds `x.len()` rows of `B·LANES`.
#[inline(always)]
fn encode<const B: usize>(x: &[f32], w: &[f32], bias: &[f32], out: &mut [f32]) {
    let mut acc = [[0f32; LANES]; B];
    for (a, b) in acc.iter_mut().zip(bias.chunks_exact(LANES)) {
        a.copy_from_slice(b);
    }
    for (&xj, row) in x.iter().zip(w.chunks_exact(B * LANES)) {
        for (a, r) in acc.iter_mut().zip(row.chunks_exact(LANES)) {
            for l in 0..LANES {
                a[l] += xj * r[l];
            }
        }
    }
    for (o, a) in out.chunks_exact_mut(LANES).zip(&acc) {
        o.copy_from_slice(a);
    }
}

/// [`encode`] for any number of blocks, with the same order of operations.
fn encode_any(x: &[f32], w: &[f32], bias: &[f32], out: &mut [f32]) {
    let hp = out.len();
    for (blk, (o, b)) in out
        .chunks_exact_mut(LANES)
        .zip(bias.chunks_exact(LANES))
        .enumerate()
    {
        let mut a = [0f32; LANES];
        a.copy_from_slice(b);
        for (j, &xj) in x.iter().enumerate() {
            let start = j * hp + blk * LANES;
            let Some(r) = w.get(start..start + LANES) else {
                break;
            };
            for l in 0..LANES {
                a[l] += xj * r[l];
            }
        }
        o.copy_from_slice(&a);
    }
}

/// Decoder of one member whose hidden layer is `B` blocks: `z_j = bias_j +
/// W[j]·y`, the dot product accumulated lane-wise over the blocks and the
/// four lanes summed as `(l0 + l2) + (l1 + l3)`.
#[inline(always)]
fn decode<const B: usize>(w: &[f32], y: &[f32], bias: &[f32], z: &mut [f32]) {
    let Some(y) = y.get(..B * LANES) else {
        return;
    };
    for ((zj, &bj), row) in z.iter_mut().zip(bias).zip(w.chunks_exact(B * LANES)) {
        let mut a = [0f32; LANES];
        for (r, yy) in row.chunks_exact(LANES).zip(y.chunks_exact(LANES)) {
            for l in 0..LANES {
                a[l] += r[l] * yy[l];
            }
        }
        *zj = bj + ((a[0] + a[2]) + (a[1] + a[3]));
    }
}

/// [`decode`] for any number of blocks, with the same order of operations.
fn decode_any(w: &[f32], y: &[f32], bias: &[f32], z: &mut [f32]) {
    let hp = y.len();
    for (j, (zj, &bj)) in z.iter_mut().zip(bias).enumerate() {
        let Some(row) = w.get(j * hp..j * hp + hp) else {
            break;
        };
        let mut a = [0f32; LANES];
        for (r, yy) in row.chunks_exact(LANES).zip(y.chunks_exact(LANES)) {
            for l in 0..LANES {
                a[l] += r[l] * yy[l];
            }
        }
        *zj = bj + ((a[0] + a[2]) + (a[1] + a[3]));
    }
}

/// One autoencoder of an [`Ensemble`] and where its parts live in the
/// ensemble's shared arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Member {
    /// Inputs (= outputs).
    n: usize,
    /// Hidden units.
    h: usize,
    /// First input (and reconstruction) in the ensemble's input vector.
    input: usize,
    /// First hidden unit in the ensemble's hidden vector (a multiple of [`LANES`]).
    hidden: usize,
    /// First weight: the member's tied weights are `n` rows of `padded(h)`.
    weight: usize,
}

/// Autoencoders with tied weights side by side, each over its own slice of
/// one input vector, with all their weights, biases and activations in shared
/// contiguous arrays.
///
/// Why one structure for many small networks: KitNET's members have at most
/// ten inputs, so per-network overhead (calls, buffer set-up, short loops over
/// padding) would cost more than the arithmetic. Here the encoders write one
/// hidden vector, one sigmoid loop covers every member's hidden units, the
/// decoders write one reconstruction vector, one sigmoid loop covers it, and
/// the input scaling is one loop over all inputs — long, branch-free loops
/// the compiler vectorises. Encoding accumulates each block of four hidden
/// units in registers over the member's inputs; decoding is a dot product of
/// a weight row with the hidden vector, so `W` is stored once (row `j` holds
/// input `j`'s weights to every hidden unit) and serves the encoder, the
/// decoder and the update.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ensemble {
    members: Vec<Member>,
    w: Vec<f32>,
    /// One per (padded) hidden unit.
    hbias: Vec<f32>,
    /// One per input.
    vbias: Vec<f32>,
    /// Per input: range seen in training, and the scaling derived from it
    /// (see [`Ensemble::refresh_scale`]): `x' = (x − lo)·inv`.
    norm_min: Vec<f32>,
    norm_max: Vec<f32>,
    lo: Vec<f32>,
    inv: Vec<f32>,
}

/// Activations of one pass through an [`Ensemble`], kept between packets so
/// scoring allocates nothing. Vectors over inputs are padded to [`LANES`].
#[derive(Debug, Default, Clone)]
struct Buffers {
    /// Scaled input.
    x: Vec<f32>,
    /// Hidden units.
    y: Vec<f32>,
    /// Reconstruction.
    z: Vec<f32>,
    /// `x − z`.
    err: Vec<f32>,
    /// Hidden-layer gradient.
    gh: Vec<f32>,
}

impl Ensemble {
    /// One member per entry of `sizes` (inputs each, at least 1), with
    /// `⌈ratio·n⌉` hidden units and weights uniform in ±1/n drawn in member,
    /// input, hidden-unit order.
    fn new(sizes: impl IntoIterator<Item = usize>, hidden_ratio: f32, rng: &mut Rng) -> Self {
        let mut members = Vec::new();
        let (mut input, mut hidden, mut weight) = (0, 0, 0);
        for n in sizes {
            let n = n.max(1);
            let h = ((n as f32 * hidden_ratio).ceil() as usize).max(1);
            members.push(Member {
                n,
                h,
                input,
                hidden,
                weight,
            });
            input += n;
            hidden += padded(h);
            weight += n * padded(h);
        }
        let mut w = vec![0.0; weight];
        for m in &members {
            let a = 1.0 / m.n as f64;
            let hp = padded(m.h);
            for j in 0..m.n {
                for k in 0..m.h {
                    w[m.weight + j * hp + k] = ((rng.next_f64() * 2.0 - 1.0) * a) as f32;
                }
            }
        }
        Self {
            members,
            w,
            hbias: vec![0.0; hidden],
            vbias: vec![0.0; input],
            norm_min: vec![f32::INFINITY; input],
            norm_max: vec![f32::NEG_INFINITY; input],
            lo: vec![0.0; input],
            inv: vec![0.0; input],
        }
    }

    /// Total inputs of all members.
    fn inputs(&self) -> usize {
        self.vbias.len()
    }

    /// Checks that the members tile the arrays exactly as [`Ensemble::new`]
    /// lays them out, so that no slice taken later can be out of range.
    fn is_well_formed(&self) -> bool {
        let (mut input, mut hidden, mut weight) = (0usize, 0usize, 0usize);
        for m in &self.members {
            // Bounds far above any configuration keep the arithmetic below
            // from overflowing on a corrupt file.
            if m.n == 0 || m.h == 0 || m.n > 1 << 16 || m.h > 1 << 18 {
                return false;
            }
            if (m.input, m.hidden, m.weight) != (input, hidden, weight) {
                return false;
            }
            input += m.n;
            hidden += padded(m.h);
            weight = match m
                .n
                .checked_mul(padded(m.h))
                .and_then(|x| x.checked_add(weight))
            {
                Some(w) => w,
                None => return false,
            };
        }
        self.w.len() == weight
            && self.hbias.len() == hidden
            && [
                &self.vbias,
                &self.norm_min,
                &self.norm_max,
                &self.lo,
                &self.inv,
            ]
            .iter()
            .all(|v| v.len() == input)
    }

    fn buffers_fit(&self, b: &mut Buffers) {
        let (np, hp) = (padded(self.inputs()), self.hbias.len());
        if b.x.len() != np || b.y.len() != hp {
            *b = Buffers {
                x: vec![0.0; np],
                y: vec![0.0; hp],
                z: vec![0.0; np],
                err: vec![0.0; np],
                gh: vec![0.0; hp],
            };
        }
    }

    /// Widens the training ranges by `raw` (non-finite values ignored).
    fn observe(&mut self, raw: &[f32]) {
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
        // The scaling is a function of the ranges alone; after the first
        // packets they rarely move.
        if changed {
            self.refresh_scale();
        }
    }

    /// Min-max scaling with the ranges seen in training. Kitsune divides by
    /// `max − min + 1e-16`; a feature that was constant in training then turns
    /// any later change into a value near 1e16 that swamps every other
    /// autoencoder (we measured thresholds of 1e11). The range is therefore
    /// floored at 1 % of the feature's magnitude (and 1e-3), and the scaled
    /// value clamped to ±1000 (in [`Ensemble::scale`]): still far outside
    /// the unit interval the sigmoid outputs live in, so outliers keep
    /// scoring high.
    fn refresh_scale(&mut self) {
        for j in 0..self.inputs() {
            let (lo, hi) = (self.norm_min[j], self.norm_max[j]);
            if hi >= lo {
                let range = (hi - lo).max(0.01 * lo.abs().max(hi.abs())).max(1e-3);
                self.lo[j] = lo;
                self.inv[j] = 1.0 / range;
            } else {
                self.lo[j] = 0.0;
                self.inv[j] = 0.0;
            }
        }
    }

    /// Scales `raw` (one value per input; missing values count as 0) into `b.x`.
    fn scale(&self, raw: &[f32], b: &mut Buffers) {
        self.buffers_fit(b);
        let n = self.inputs();
        let x = &mut b.x[..n];
        if raw.len() < n {
            x.fill(0.0);
        }
        for (((o, &v), &lo), &inv) in x.iter_mut().zip(raw).zip(&self.lo).zip(&self.inv) {
            // Clamp to ±1000 in the form SSE's maxps/minps implement (see
            // `mathx::exp2_fast`); inputs are finite here.
            let s = (v - lo) * inv;
            let s = if s > -1000.0 { s } else { -1000.0 };
            *o = if s < 1000.0 { s } else { 1000.0 };
        }
    }

    /// Forward pass of every member over `b.x`; leaves hidden units in `b.y`,
    /// reconstructions in `b.z`, `x − z` in `b.err`, and pushes each member's
    /// RMSE to `rmse`.
    fn forward(&self, b: &mut Buffers, rmse: &mut Vec<f32>) {
        let n_in = self.inputs();
        let (x, y, z) = (&b.x[..n_in], &mut b.y[..], &mut b.z[..]);
        for m in &self.members {
            let hp = padded(m.h);
            let xin = &x[m.input..m.input + m.n];
            let w = &self.w[m.weight..m.weight + m.n * hp];
            let out = &mut y[m.hidden..m.hidden + hp];
            let bias = &self.hbias[m.hidden..m.hidden + hp];
            match hp / LANES {
                1 => encode::<1>(xin, w, bias, out),
                2 => encode::<2>(xin, w, bias, out),
                3 => encode::<3>(xin, w, bias, out),
                4 => encode::<4>(xin, w, bias, out),
                _ => encode_any(xin, w, bias, out),
            }
        }
        sigmoid_all(y);
        for m in &self.members {
            y[m.hidden + m.h..m.hidden + padded(m.h)].fill(0.0);
        }
        for m in &self.members {
            let hp = padded(m.h);
            let yh = &y[m.hidden..m.hidden + hp];
            let w = &self.w[m.weight..m.weight + m.n * hp];
            let zo = &mut z[m.input..m.input + m.n];
            let vb = &self.vbias[m.input..m.input + m.n];
            match hp / LANES {
                1 => decode::<1>(w, yh, vb, zo),
                2 => decode::<2>(w, yh, vb, zo),
                3 => decode::<3>(w, yh, vb, zo),
                4 => decode::<4>(w, yh, vb, zo),
                _ => decode_any(w, yh, vb, zo),
            }
        }
        sigmoid_all(z);
        let err = &mut b.err[..n_in];
        for ((e, &xj), &zj) in err.iter_mut().zip(x).zip(&z[..n_in]) {
            *e = xj - zj;
        }
        for m in &self.members {
            let sq: f32 = err[m.input..m.input + m.n].iter().map(|e| e * e).sum();
            rmse.push((sq / m.n as f32).sqrt());
        }
    }

    /// One SGD step (Kitsune's `dA.train`) of every member, from the pass
    /// [`Ensemble::forward`] left in `b`.
    fn learn(&mut self, b: &mut Buffers, lr: f32) {
        for m in &self.members {
            let hp = padded(m.h);
            let w = &mut self.w[m.weight..m.weight + m.n * hp];
            let xin = &b.x[m.input..m.input + m.n];
            let err = &b.err[m.input..m.input + m.n];
            let yh = &b.y[m.hidden..m.hidden + hp];
            let gh = &mut b.gh[m.hidden..m.hidden + hp];
            // Hidden-layer gradient (zero in padded units, where y = 0).
            gh.fill(0.0);
            for (&e, row) in err.iter().zip(w.chunks_exact(hp)) {
                for (g, &r) in gh.iter_mut().zip(row) {
                    *g += e * r;
                }
            }
            for (g, &yk) in gh.iter_mut().zip(yh) {
                *g = *g * yk * (1.0 - yk);
            }
            // W += lr·(x ⊗ gh + err ⊗ y); padded columns stay 0.
            for ((&xj, &ej), row) in xin.iter().zip(err).zip(w.chunks_exact_mut(hp)) {
                for ((r, &g), &yk) in row.iter_mut().zip(gh.iter()).zip(yh) {
                    *r += lr * (xj * g + ej * yk);
                }
            }
            for (bias, &g) in self.hbias[m.hidden..m.hidden + hp]
                .iter_mut()
                .zip(gh.iter())
            {
                *bias += lr * g;
            }
            for (bias, &e) in self.vbias[m.input..m.input + m.n].iter_mut().zip(err) {
                *bias += lr * e;
            }
        }
    }
}

/// Reusable buffers so scoring allocates nothing after the first packet.
#[derive(Debug, Default, Clone)]
struct Scratch {
    /// Feature indices in member order (the groups, concatenated).
    order: Vec<u16>,
    /// Compressed features in member order.
    raw: Vec<f32>,
    ens: Buffers,
    /// The ensemble's RMSEs: the output autoencoder's input.
    errors: Vec<f32>,
    out: Buffers,
    score: Vec<f32>,
}

/// The trained-or-training ensemble.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KitNet {
    groups: Vec<Vec<u16>>,
    ensemble: Ensemble,
    /// One member over the ensemble's RMSEs.
    output: Ensemble,
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
        let output = Ensemble::new([groups.len().max(1)], hidden_ratio, &mut rng);
        Self {
            groups,
            ensemble,
            output,
            learning_rate,
            scratch: Scratch::default(),
        }
    }

    /// Feature groups, for explanations and reports.
    pub fn groups(&self) -> &[Vec<u16>] {
        &self.groups
    }

    pub(crate) fn is_well_formed(&self, n_features: usize) -> bool {
        self.ensemble.is_well_formed()
            && self.groups.len() == self.ensemble.members.len()
            && self
                .groups
                .iter()
                .zip(&self.ensemble.members)
                .all(|(g, m)| m.n == g.len() && g.iter().all(|&i| usize::from(i) < n_features))
            && self.output.is_well_formed()
            && self.output.members.len() == 1
            && self.output.inputs() == self.groups.len().max(1)
    }

    /// Runs the ensemble over `x` (learning from it if `train`) and leaves
    /// the members' RMSEs in `scratch.errors`.
    fn ensemble_errors(&mut self, x: &[f32], train: bool) {
        let s = &mut self.scratch;
        // Gather in member order, then compress in one vectorisable loop.
        let n_in = self.ensemble.inputs();
        if s.order.len() != n_in {
            s.order = self.groups.iter().flatten().copied().collect();
            s.raw = vec![0.0; n_in];
        }
        for (r, &i) in s.raw.iter_mut().zip(&s.order) {
            *r = x.get(usize::from(i)).copied().unwrap_or(0.0);
        }
        for v in s.raw.iter_mut() {
            *v = compress(*v);
        }
        if train {
            self.ensemble.observe(&s.raw);
        }
        self.ensemble.scale(&s.raw, &mut s.ens);
        s.errors.clear();
        self.ensemble.forward(&mut s.ens, &mut s.errors);
        if train {
            self.ensemble.learn(&mut s.ens, self.learning_rate);
        }
        if s.errors.is_empty() {
            s.errors.push(0.0);
        }
    }

    fn output_score(&mut self, train: bool) -> f32 {
        let s = &mut self.scratch;
        if train {
            self.output.observe(&s.errors);
        }
        self.output.scale(&s.errors, &mut s.out);
        s.score.clear();
        self.output.forward(&mut s.out, &mut s.score);
        if train {
            self.output.learn(&mut s.out, self.learning_rate);
        }
        s.score.first().copied().unwrap_or(0.0)
    }

    /// Trains on `x` and returns its score before the update.
    pub fn train(&mut self, x: &[f32]) -> f32 {
        self.ensemble_errors(x, true);
        self.output_score(true)
    }

    /// Scores `x` without learning.
    pub fn score(&mut self, x: &[f32]) -> f32 {
        self.ensemble_errors(x, false);
        self.output_score(false)
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
