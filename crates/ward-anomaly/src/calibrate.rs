//! Alert thresholds from the tail of scores seen on training traffic.
//!
//! The threshold for a target per-packet false-positive rate `p` is the
//! empirical `(1 − p)` quantile of the calibration scores pushed further out by
//! a safety margin measured in the score's own spread:
//! `q + margin · (q − median)`. Measuring the margin in units of the
//! distribution (rather than multiplying `q`) works for any monotone score —
//! KitNET's RMSE is positive, the Half-Space-Tree score is a log and can be
//! negative. We do not fit a log-normal as Kitsune did: the empirical tail with
//! a margin needs no shape assumption, and the margin absorbs the estimate's
//! noise when only a few samples lie beyond the quantile.
//!
//! Scores are kept in a bounded reservoir (Vitter's algorithm R with a seeded
//! generator), so calibration memory is fixed however long it runs.

use serde::{Deserialize, Serialize};

use crate::mathx::Rng;

/// A bounded uniform sample of scores.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reservoir {
    cap: usize,
    seen: u64,
    items: Vec<f32>,
}

impl Reservoir {
    pub fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            seen: 0,
            items: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn is_well_formed(&self) -> bool {
        self.items.len() <= self.cap
    }

    /// Offers one score (non-finite scores are ignored).
    pub fn push(&mut self, v: f32, rng: &mut Rng) {
        if !v.is_finite() {
            return;
        }
        self.seen += 1;
        if self.items.len() < self.cap {
            self.items.push(v);
        } else {
            let j = rng.below(self.seen) as usize;
            if let Some(slot) = self.items.get_mut(j) {
                *slot = v;
            }
        }
    }

    /// Frees the sample.
    pub fn clear(&mut self) {
        self.items = Vec::new();
        self.seen = 0;
    }

    /// Sorted copy of the sample.
    pub fn sorted(&self) -> Vec<f32> {
        let mut v = self.items.clone();
        v.sort_by(f32::total_cmp);
        v
    }
}

/// The `q` quantile (0..=1) of sorted values by linear interpolation.
pub fn quantile(sorted: &[f32], q: f64) -> Option<f32> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let i = pos.floor() as usize;
    let frac = (pos - i as f64) as f32;
    let a = *sorted.get(i)?;
    let b = *sorted.get((i + 1).min(last))?;
    Some(a + (b - a) * frac)
}

/// Threshold for per-packet false-positive rate `target_fpr` with `margin`
/// (see module docs). `None` for an empty sample.
pub fn threshold(sorted: &[f32], target_fpr: f64, margin: f64) -> Option<f32> {
    let q = quantile(sorted, 1.0 - target_fpr)?;
    let median = quantile(sorted, 0.5)?;
    let spread = (q - median).max(0.0);
    // A degenerate sample (all equal) still needs a threshold strictly above it.
    let floor = q.abs().max(1e-6) * 1e-3;
    Some(q + (margin as f32 * spread).max(floor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_lies_beyond_the_target_quantile() {
        let mut rng = Rng::new(4);
        let mut r = Reservoir::new(100_000);
        for _ in 0..100_000 {
            // Log-normal-ish scores.
            let u = rng.next_f64();
            r.push((3.0 * u * u * u).exp() as f32, &mut rng);
        }
        let s = r.sorted();
        let t = threshold(&s, 1e-3, 0.2).expect("non-empty");
        let above = s.iter().filter(|&&v| v > t).count();
        assert!(above <= 100, "{above} samples above the threshold");
        assert!(t > quantile(&s, 0.999).expect("non-empty"));
    }

    #[test]
    fn reservoir_is_bounded_and_uniform_enough() {
        let mut rng = Rng::new(1);
        let mut r = Reservoir::new(1000);
        for i in 0..100_000 {
            r.push(i as f32, &mut rng);
        }
        assert_eq!(r.len(), 1000);
        let median = quantile(&r.sorted(), 0.5).expect("non-empty");
        assert!((40_000.0..60_000.0).contains(&median), "median {median}");
        r.push(f32::NAN, &mut rng);
        assert!(r.sorted().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn degenerate_sample_gets_a_threshold_above_it() {
        let t = threshold(&[0.5; 100], 1e-3, 0.2).expect("non-empty");
        assert!(t > 0.5);
        assert!(threshold(&[], 1e-3, 0.2).is_none());
    }
}
