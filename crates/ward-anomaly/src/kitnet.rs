//! KitNET (Mirsky et al., NDSS 2018): an ensemble of small autoencoders over
//! correlated feature groups, and an output autoencoder over their errors.
//!
//! 1. **Feature mapping.** During the mapping period [`FeatureMapper`] keeps
//!    running means and the co-moment matrix of the features (Welford, `f64`).
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

/// Running co-moments for correlation clustering of features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureMapper {
    n: usize,
    count: f64,
    mean: Vec<f64>,
    /// Upper-triangular co-moment matrix, row-major `n × n` (lower part unused).
    comoment: Vec<f64>,
    #[serde(skip)]
    delta: Vec<f64>,
}

impl FeatureMapper {
    pub fn new(n: usize) -> Self {
        Self {
            n,
            count: 0.0,
            mean: vec![0.0; n],
            comoment: vec![0.0; n * n],
            delta: Vec::new(),
        }
    }

    pub fn count(&self) -> u64 {
        self.count as u64
    }

    pub(crate) fn is_well_formed(&self, n: usize) -> bool {
        self.n == n && self.mean.len() == n && self.comoment.len() == n * n
    }

    /// Adds one feature vector (`x.len()` must equal `n`; extra values are ignored).
    pub fn update(&mut self, x: &[f32]) {
        let n = self.n.min(x.len());
        self.count += 1.0;
        self.delta.resize(self.n, 0.0);
        for i in 0..n {
            let xi = f64::from(x[i]);
            let d = xi - self.mean[i];
            self.delta[i] = d;
            self.mean[i] += d / self.count;
        }
        for i in 0..n {
            let di = self.delta[i];
            let row = &mut self.comoment[i * self.n..(i + 1) * self.n];
            for j in i..n {
                // (x_i − old mean_i)(x_j − new mean_j): Welford's co-moment.
                row[j] += di * (f64::from(x[j]) - self.mean[j]);
            }
        }
    }

    /// Groups of feature indices, each of at most `max_group` members, ordered
    /// deterministically.
    pub fn clusters(&self, max_group: usize) -> Vec<Vec<usize>> {
        let n = self.n;
        let max_group = max_group.max(1);
        if n == 0 {
            return Vec::new();
        }
        let var = |i: usize| self.comoment[i * n + i];
        let dist = |i: usize, j: usize| -> f64 {
            let (a, b) = if i <= j { (i, j) } else { (j, i) };
            let denom = (var(a) * var(b)).sqrt();
            let rho = if denom > 1e-12 {
                (self.comoment[a * n + b] / denom).clamp(-1.0, 1.0)
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

/// Lanes per block: every row is padded to a multiple of this so the inner
/// loops run over fixed-size blocks the compiler turns into SIMD. Padding
/// weights are zero, so padded lanes add exact zeros and scores are the same
/// bits as an unpadded evaluation in the same order.
const LANES: usize = 8;

#[inline]
fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// `acc += a · row`, both of a length that is a multiple of [`LANES`].
#[inline(always)]
fn axpy(acc: &mut [f32], a: f32, row: &[f32]) {
    for (acc, row) in acc.chunks_exact_mut(LANES).zip(row.chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[i] += a * row[i];
        }
    }
}

#[inline(always)]
fn sigmoid_all(v: &mut [f32]) {
    for block in v.chunks_exact_mut(LANES) {
        for x in block.iter_mut() {
            *x = sigmoid(*x);
        }
    }
}

/// One autoencoder with tied weights, stored twice (row-major `W` for the
/// encoder, `Wᵀ` for the decoder) so both passes are SIMD-friendly `axpy`s.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Autoencoder {
    n: usize,
    h: usize,
    /// `n × padded(h)`.
    w: Vec<f32>,
    /// `h × padded(n)`, always equal to the transpose of `w`.
    wt: Vec<f32>,
    /// `padded(h)`.
    hbias: Vec<f32>,
    /// `padded(n)`.
    vbias: Vec<f32>,
    norm_min: Vec<f32>,
    norm_max: Vec<f32>,
    /// Scaling derived from the ranges (see [`Autoencoder::refresh_scale`]):
    /// `x' = (x − lo)·inv`.
    lo: Vec<f32>,
    inv: Vec<f32>,
}

/// Reusable buffers so scoring allocates nothing after the first packet.
#[derive(Debug, Default, Clone)]
struct Scratch {
    x: Vec<f32>,
    y: Vec<f32>,
    z: Vec<f32>,
    err: Vec<f32>,
    gh: Vec<f32>,
}

impl Scratch {
    fn ensure(&mut self, np: usize, hp: usize) {
        if self.x.len() < np {
            self.x.resize(np, 0.0);
            self.z.resize(np, 0.0);
            self.err.resize(np, 0.0);
        }
        if self.y.len() < hp {
            self.y.resize(hp, 0.0);
            self.gh.resize(hp, 0.0);
        }
    }
}

impl Autoencoder {
    fn new(n: usize, hidden_ratio: f32, rng: &mut Rng) -> Self {
        let n = n.max(1);
        let h = ((n as f32 * hidden_ratio).ceil() as usize).max(1);
        let (np, hp) = (padded(n), padded(h));
        let a = 1.0 / n as f64;
        let mut w = vec![0.0; n * hp];
        let mut wt = vec![0.0; h * np];
        for j in 0..n {
            for k in 0..h {
                let v = ((rng.next_f64() * 2.0 - 1.0) * a) as f32;
                w[j * hp + k] = v;
                wt[k * np + j] = v;
            }
        }
        Self {
            n,
            h,
            w,
            wt,
            hbias: vec![0.0; hp],
            vbias: vec![0.0; np],
            norm_min: vec![f32::INFINITY; n],
            norm_max: vec![f32::NEG_INFINITY; n],
            lo: vec![0.0; n],
            inv: vec![0.0; n],
        }
    }

    fn is_well_formed(&self) -> bool {
        let (np, hp) = (padded(self.n), padded(self.h));
        self.n > 0
            && self.h > 0
            && self.w.len() == self.n * hp
            && self.wt.len() == self.h * np
            && self.hbias.len() == hp
            && self.vbias.len() == np
            && self.norm_min.len() == self.n
            && self.norm_max.len() == self.n
            && self.lo.len() == self.n
            && self.inv.len() == self.n
    }

    /// Min-max scaling with the ranges seen in training. Kitsune divides by
    /// `max − min + 1e-16`; a feature that was constant in training then turns
    /// any later change into a value near 1e16 that swamps every other
    /// autoencoder (we measured thresholds of 1e11). The range is therefore
    /// floored at 1 % of the feature's magnitude (and 1e-3), and the scaled
    /// value clamped to ±1000 (in [`Autoencoder::score`]): still far outside
    /// the unit interval the sigmoid outputs live in, so outliers keep
    /// scoring high.
    fn refresh_scale(&mut self) {
        for j in 0..self.n {
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

    /// Forward pass on the normalised input in `s.x[..padded(n)]`; leaves
    /// hidden and reconstruction in `s.y` and `s.z`; returns the RMSE.
    fn forward(&self, s: &mut Scratch) -> f32 {
        let (np, hp) = (padded(self.n), padded(self.h));
        let x = &s.x[..np];
        let y = &mut s.y[..hp];
        let z = &mut s.z[..np];
        y.copy_from_slice(&self.hbias);
        for (&xj, row) in x[..self.n].iter().zip(self.w.chunks_exact(hp)) {
            axpy(y, xj, row);
        }
        sigmoid_all(y);
        z.copy_from_slice(&self.vbias);
        for (&yk, row) in y[..self.h].iter().zip(self.wt.chunks_exact(np)) {
            axpy(z, yk, row);
        }
        sigmoid_all(z);
        let mut sq = 0.0f32;
        for (&xj, &zj) in x[..self.n].iter().zip(&z[..self.n]) {
            sq += (xj - zj) * (xj - zj);
        }
        (sq / self.n as f32).sqrt()
    }

    /// Scores raw input `x` (`x.len() >= n`; missing values count as 0).
    fn score(&self, x: &[f32], s: &mut Scratch) -> f32 {
        let (np, hp) = (padded(self.n), padded(self.h));
        s.ensure(np, hp);
        let out = &mut s.x[..np];
        for (j, o) in out.iter_mut().enumerate() {
            *o = match (x.get(j), self.lo.get(j), self.inv.get(j)) {
                (Some(&v), Some(&lo), Some(&inv)) => ((v - lo) * inv).clamp(-1000.0, 1000.0),
                _ => 0.0,
            };
        }
        self.forward(s)
    }

    /// One SGD step (Kitsune's `dA.train`); returns the RMSE before the step.
    fn train(&mut self, x: &[f32], lr: f32, s: &mut Scratch) -> f32 {
        for ((lo, hi), &v) in self.norm_min.iter_mut().zip(&mut self.norm_max).zip(x) {
            if v.is_finite() {
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
        }
        self.refresh_scale();
        let rmse = self.score(x, s);
        let (np, hp) = (padded(self.n), padded(self.h));
        let (n, h) = (self.n, self.h);
        // Output error (zero in padded lanes) and the hidden-layer gradient.
        let err = &mut s.err[..np];
        for j in 0..np {
            err[j] = if j < n { s.x[j] - s.z[j] } else { 0.0 };
        }
        let gh = &mut s.gh[..hp];
        gh.fill(0.0);
        for (&e, row) in err[..n].iter().zip(self.w.chunks_exact(hp)) {
            axpy(gh, e, row);
        }
        for k in 0..hp {
            gh[k] = if k < h {
                gh[k] * s.y[k] * (1.0 - s.y[k])
            } else {
                0.0
            };
        }
        // W += lr·(x ⊗ gh + err ⊗ y), mirrored into Wᵀ; padded lanes stay 0.
        for j in 0..n {
            let (xj, ej) = (s.x[j], err[j]);
            for k in 0..h {
                let v = self.w[j * hp + k] + lr * (xj * gh[k] + ej * s.y[k]);
                self.w[j * hp + k] = v;
                self.wt[k * np + j] = v;
            }
        }
        for (b, &g) in self.hbias.iter_mut().zip(gh.iter()).take(h) {
            *b += lr * g;
        }
        for (b, &e) in self.vbias.iter_mut().zip(err.iter()).take(n) {
            *b += lr * e;
        }
        rmse
    }
}

/// The trained-or-training ensemble.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KitNet {
    groups: Vec<Vec<u16>>,
    ensemble: Vec<Autoencoder>,
    output: Autoencoder,
    learning_rate: f32,
    #[serde(skip)]
    scratch: Scratch,
    #[serde(skip)]
    gathered: Vec<f32>,
    #[serde(skip)]
    errors: Vec<f32>,
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
        let ensemble = groups
            .iter()
            .map(|g| Autoencoder::new(g.len(), hidden_ratio, &mut rng))
            .collect();
        let output = Autoencoder::new(groups.len().max(1), hidden_ratio, &mut rng);
        Self {
            groups,
            ensemble,
            output,
            learning_rate,
            scratch: Scratch::default(),
            gathered: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Feature groups, for explanations and reports.
    pub fn groups(&self) -> &[Vec<u16>] {
        &self.groups
    }

    pub(crate) fn is_well_formed(&self, n_features: usize) -> bool {
        self.groups.len() == self.ensemble.len()
            && self.groups.iter().zip(&self.ensemble).all(|(g, ae)| {
                ae.is_well_formed()
                    && ae.n == g.len()
                    && g.iter().all(|&i| usize::from(i) < n_features)
            })
            && self.output.is_well_formed()
            && self.output.n == self.groups.len().max(1)
    }

    fn ensemble_errors(&mut self, x: &[f32], train: bool) {
        // Compress every feature once (several groups never share one, but
        // this keeps the loop branch-free and vectorisable).
        self.gathered.clear();
        self.gathered.extend(x.iter().map(|&v| compress(v)));
        let cx = std::mem::take(&mut self.gathered);
        self.errors.clear();
        let mut buf = [0f32; 64];
        for (g, ae) in self.groups.iter().zip(self.ensemble.iter_mut()) {
            let mut heap;
            let input: &mut [f32] = if g.len() <= buf.len() {
                &mut buf[..g.len()]
            } else {
                heap = vec![0.0; g.len()];
                &mut heap
            };
            for (slot, &i) in input.iter_mut().zip(g) {
                *slot = cx.get(usize::from(i)).copied().unwrap_or(0.0);
            }
            let e = if train {
                ae.train(input, self.learning_rate, &mut self.scratch)
            } else {
                ae.score(input, &mut self.scratch)
            };
            self.errors.push(e);
        }
        if self.errors.is_empty() {
            self.errors.push(0.0);
        }
        self.gathered = cx;
    }

    /// Trains on `x` and returns its score before the update.
    pub fn train(&mut self, x: &[f32]) -> f32 {
        self.ensemble_errors(x, true);
        let errors = std::mem::take(&mut self.errors);
        let s = self
            .output
            .train(&errors, self.learning_rate, &mut self.scratch);
        self.errors = errors;
        s
    }

    /// Scores `x` without learning.
    pub fn score(&mut self, x: &[f32]) -> f32 {
        self.ensemble_errors(x, false);
        self.output.score(&self.errors, &mut self.scratch)
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
