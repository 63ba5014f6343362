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

/// Decay factor `2^(-λ·dt)` for `dt` seconds; `1.0` when `dt <= 0` or not finite.
#[inline]
pub fn decay_factor(lambda: f64, dt_secs: f64) -> f64 {
    if dt_secs > 0.0 && dt_secs.is_finite() {
        (-lambda * dt_secs).exp2()
    } else {
        1.0
    }
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
}
