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
//! Everything is `f32` with [`crate::mathx::sigmoid`]; a packet costs about
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
    x.signum() * x.abs().ln_1p()
}

/// One autoencoder with tied weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Autoencoder {
    n: usize,
    h: usize,
    /// `n × h`, row-major.
    w: Vec<f32>,
    hbias: Vec<f32>,
    vbias: Vec<f32>,
    norm_min: Vec<f32>,
    norm_max: Vec<f32>,
}

/// Reusable buffers so scoring allocates nothing.
#[derive(Debug, Default, Clone)]
struct Scratch {
    x: Vec<f32>,
    y: Vec<f32>,
    z: Vec<f32>,
    err: Vec<f32>,
    gh: Vec<f32>,
}

impl Autoencoder {
    fn new(n: usize, hidden_ratio: f32, rng: &mut Rng) -> Self {
        let h = ((n as f32 * hidden_ratio).ceil() as usize).max(1);
        let a = 1.0 / n.max(1) as f64;
        let w = (0..n * h)
            .map(|_| ((rng.next_f64() * 2.0 - 1.0) * a) as f32)
            .collect();
        Self {
            n,
            h,
            w,
            hbias: vec![0.0; h],
            vbias: vec![0.0; n],
            norm_min: vec![f32::INFINITY; n],
            norm_max: vec![f32::NEG_INFINITY; n],
        }
    }

    fn is_well_formed(&self) -> bool {
        self.n > 0
            && self.h > 0
            && self.w.len() == self.n * self.h
            && self.hbias.len() == self.h
            && self.vbias.len() == self.n
            && self.norm_min.len() == self.n
            && self.norm_max.len() == self.n
    }

    /// Min-max scaling with the ranges seen in training. Kitsune divides by
    /// `max − min + 1e-16`; a feature that was constant in training then turns
    /// any later change into a value near 1e16 that swamps every other
    /// autoencoder (we measured thresholds of 1e11). The range is therefore
    /// floored at 1 % of the feature's magnitude (and 1e-3), and the scaled
    /// value clamped to ±1000: still far outside the unit interval the
    /// sigmoid outputs live in, so outliers keep scoring high.
    fn normalise(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            x.iter()
                .zip(&self.norm_min)
                .zip(&self.norm_max)
                .map(|((&v, &lo), &hi)| {
                    if hi >= lo {
                        let range = (hi - lo).max(0.01 * lo.abs().max(hi.abs())).max(1e-3);
                        ((v - lo) / range).clamp(-1000.0, 1000.0)
                    } else {
                        0.0
                    }
                }),
        );
    }

    /// Forward pass on the normalised input in `s.x`; leaves hidden and
    /// reconstruction in `s.y` and `s.z` and returns the RMSE.
    fn forward(&self, s: &mut Scratch) -> f32 {
        s.y.clear();
        s.y.extend_from_slice(&self.hbias);
        for (j, &xj) in s.x.iter().enumerate() {
            let row = &self.w[j * self.h..(j + 1) * self.h];
            for (y, &wjk) in s.y.iter_mut().zip(row) {
                *y += xj * wjk;
            }
        }
        for y in &mut s.y {
            *y = sigmoid(*y);
        }
        s.z.clear();
        let mut sq = 0.0f32;
        for (j, &xj) in s.x.iter().enumerate() {
            let row = &self.w[j * self.h..(j + 1) * self.h];
            let mut acc = self.vbias[j];
            for (&y, &wjk) in s.y.iter().zip(row) {
                acc += y * wjk;
            }
            let zj = sigmoid(acc);
            s.z.push(zj);
            sq += (xj - zj) * (xj - zj);
        }
        (sq / self.n as f32).sqrt()
    }

    fn score(&self, x: &[f32], s: &mut Scratch) -> f32 {
        let mut buf = std::mem::take(&mut s.x);
        self.normalise(x, &mut buf);
        s.x = buf;
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
        let rmse = self.score(x, s);
        // Output error and the hidden-layer gradient.
        s.err.clear();
        s.err.extend(s.x.iter().zip(&s.z).map(|(x, z)| x - z));
        s.gh.clear();
        s.gh.resize(self.h, 0.0);
        for (j, &e) in s.err.iter().enumerate() {
            let row = &self.w[j * self.h..(j + 1) * self.h];
            for (g, &wjk) in s.gh.iter_mut().zip(row) {
                *g += e * wjk;
            }
        }
        for (g, &y) in s.gh.iter_mut().zip(&s.y) {
            *g *= y * (1.0 - y);
        }
        // W += lr·(x ⊗ gh + err ⊗ y); biases follow their gradients.
        for j in 0..self.n {
            let (xj, ej) = (s.x[j], s.err[j]);
            let row = &mut self.w[j * self.h..(j + 1) * self.h];
            for ((w, &g), &y) in row.iter_mut().zip(&s.gh).zip(&s.y) {
                *w += lr * (xj * g + ej * y);
            }
        }
        for (b, &g) in self.hbias.iter_mut().zip(&s.gh) {
            *b += lr * g;
        }
        for (b, &e) in self.vbias.iter_mut().zip(&s.err) {
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
        self.errors.clear();
        for (g, ae) in self.groups.iter().zip(self.ensemble.iter_mut()) {
            self.gathered.clear();
            self.gathered.extend(
                g.iter()
                    .map(|&i| compress(x.get(usize::from(i)).copied().unwrap_or(0.0))),
            );
            let e = if train {
                ae.train(&self.gathered, self.learning_rate, &mut self.scratch)
            } else {
                ae.score(&self.gathered, &mut self.scratch)
            };
            self.errors.push(e);
        }
        if self.errors.is_empty() {
            self.errors.push(0.0);
        }
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
