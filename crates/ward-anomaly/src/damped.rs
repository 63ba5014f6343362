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

/// One damped window over a scalar stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Damped {
    pub w: f64,
    pub mean: f64,
    pub m2: f64,
}

impl Damped {
    /// Multiplies every past weight by `d` (`0 < d <= 1`).
    #[inline]
    pub fn decay(&mut self, d: f64) {
        self.w *= d;
        self.m2 *= d;
    }

    /// Adds `x` with weight 1 and returns the residual `x − mean_before`.
    #[inline]
    pub fn insert(&mut self, x: f64) -> f64 {
        self.w += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.w;
        self.m2 += delta * (x - self.mean);
        delta
    }

    /// Weighted variance; 0 for an empty window.
    #[inline]
    pub fn var(&self) -> f64 {
        if self.w > 0.0 {
            (self.m2 / self.w).max(0.0)
        } else {
            0.0
        }
    }

    #[inline]
    pub fn std(&self) -> f64 {
        self.var().sqrt()
    }
}

/// Damped co-movement of the two directions of a channel (Kitsune's "2-D"
/// statistics). When a packet arrives in one direction its residual is
/// multiplied with the most recent residual of the other direction; the sum of
/// those products is decayed like any other damped sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DampedCov {
    /// Decayed sum of residual products.
    pub sum_products: f64,
    /// Decayed number of products in `sum_products`.
    pub w: f64,
    /// Last residual seen in each direction (decayed with the window so that a
    /// silent direction fades out instead of correlating forever).
    pub last_residual: [f64; 2],
}

impl DampedCov {
    #[inline]
    pub fn decay(&mut self, d: f64) {
        self.sum_products *= d;
        self.w *= d;
        self.last_residual[0] *= d;
        self.last_residual[1] *= d;
    }

    /// Records residual `r` observed in direction `dir` (0 or 1).
    #[inline]
    pub fn insert(&mut self, dir: usize, r: f64) {
        let other = (dir ^ 1) & 1;
        self.sum_products += r * self.last_residual[other];
        self.w += 1.0;
        self.last_residual[dir & 1] = r;
    }

    #[inline]
    pub fn cov(&self) -> f64 {
        if self.w > 0.0 {
            self.sum_products / self.w
        } else {
            0.0
        }
    }
}

/// The 2-D statistics of two directional windows: magnitude of the means,
/// radius of the spreads, covariance and Pearson correlation.
///
/// Kitsune defines the radius as `sqrt(var_a² + var_b²)`; we use
/// `sqrt(var_a + var_b)`, which keeps the unit (bytes) and stays inside `f32`
/// range for jumbo frames. The ordering of packets it induces is the same.
#[inline]
pub fn two_d(a: &Damped, b: &Damped, cov: &DampedCov) -> [f64; 4] {
    let magnitude = (a.mean * a.mean + b.mean * b.mean).sqrt();
    let (va, vb) = (a.var(), b.var());
    let radius = (va + vb).sqrt();
    let c = cov.cov();
    let denom = (va * vb).sqrt();
    let pcc = if denom > 1e-12 {
        (c / denom).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    [magnitude, radius, c, pcc]
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn incremental_matches_direct_formula() {
        let obs: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                let t = i as f64 * 0.037 + ((i * 7919) % 13) as f64 * 0.002;
                let x = 60.0 + ((i * 104_729) % 1400) as f64;
                (t, x)
            })
            .collect();
        for lambda in [5.0, 3.0, 1.0, 0.1, 0.01] {
            let mut s = Damped::default();
            let mut last = obs[0].0;
            for &(t, x) in &obs {
                s.decay(decay_factor(lambda, t - last));
                last = t;
                s.insert(x);
            }
            let now = last;
            let (w, mean, var) = direct(lambda, &obs, now);
            assert!(
                (s.w - w).abs() < 1e-9 * w.max(1.0),
                "λ={lambda} w {} vs {w}",
                s.w
            );
            assert!((s.mean - mean).abs() < 1e-9 * mean, "λ={lambda} mean");
            assert!(
                (s.var() - var).abs() < 1e-7 * var.max(1.0),
                "λ={lambda} var {} vs {var}",
                s.var()
            );
        }
    }

    #[test]
    fn steady_rate_settles_at_rate_over_lambda_ln2() {
        let lambda = 1.0;
        let rate = 100.0;
        let mut s = Damped::default();
        for _ in 0..5_000 {
            s.decay(decay_factor(lambda, 1.0 / rate));
            s.insert(1.0);
        }
        let expected = rate / (lambda * std::f64::consts::LN_2);
        assert!(
            (s.w - expected).abs() / expected < 0.01,
            "{} vs {expected}",
            s.w
        );
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
            cov.insert(0, r);
            let r = rev.insert(2.0 * s);
            cov.insert(1, r);
        }
        let [mag, radius, c, pcc] = two_d(&fwd, &rev, &cov);
        assert!(mag > 0.0 && radius > 0.0);
        assert!(c > 0.0);
        assert!(pcc > 0.5, "pcc {pcc}");
    }
}
