//! Half-Space Trees (Tan, Ting & Liu, IJCAI 2011): random, data-independent
//! binary trees over a perturbed unit work space, scored by the *mass* each
//! region held in the last complete window of normal traffic.
//!
//! * **Inputs.** Features are log-compressed (`sign(x)·ln(1+|x|)`) and scaled
//!   to [0, 1] by ranges learned during the warm-up, so that a split half-way
//!   through a dimension means something for heavy-tailed rates and sizes.
//! * **Trees.** Each tree draws, per dimension, a work range
//!   `s ± 2·max(s, 1−s)` around a uniform `s`, then splits a random dimension
//!   at the middle of the node's current range down to `depth` levels. Nodes
//!   live in a flat array (children of `i` at `2i+1`, `2i+2`).
//! * **Mass profiles.** Every node keeps the mass `r` of the last complete
//!   window and the mass `l` of the window being filled. Switching windows
//!   is lazy: a node remembers the epoch of its `l`, and is brought up to date
//!   when touched, so a window switch costs O(1) instead of O(nodes).
//! * **Score.** Walk each tree to the first node whose reference mass is below
//!   `size_limit` (or to a leaf); sum `r·2^depth` over trees. Few similar
//!   packets ⇒ small sum ⇒ anomalous. We report
//!   `ln(1 + window·2^depth) − ln(1 + sum / trees)`, so higher means more
//!   anomalous, and never below 0: a node's mass is at most `window`, so the
//!   mean is at most `window·2^depth`. The engine's conversation peaks and
//!   thresholds assume scores ≥ 0; with `ln(window)` as the first term (as
//!   until the third session) every packet of a dense region scored below 0,
//!   the conversation peak (0) masked it, and every packet scored exactly 0.
//!
//! Deterministic with a seed; a packet costs at most `trees × (depth+1)` node
//! visits.

use serde::{Deserialize, Serialize};

use crate::mathx::Rng;

/// Parameters of the forest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HstParams {
    /// Number of trees. Default 25 (the paper's value).
    pub trees: usize,
    /// Depth of each tree (levels below the root). Default 12.
    pub depth: usize,
    /// Packets per mass window. Default 1000.
    pub window: u32,
    /// A node whose reference mass is below this ends the walk. Default 10.
    pub size_limit: u32,
}

impl Default for HstParams {
    fn default() -> Self {
        Self {
            trees: 25,
            depth: 12,
            window: 1000,
            size_limit: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Node {
    dim: u16,
    split: f32,
    r: u32,
    l: u32,
    epoch: u32,
}

impl Node {
    /// Reference mass as of `epoch` without modifying the node.
    #[inline]
    fn reference(&self, epoch: u32) -> u32 {
        if self.epoch == epoch {
            self.r
        } else if self.epoch.wrapping_add(1) == epoch {
            self.l
        } else {
            0
        }
    }

    #[inline]
    fn catch_up(&mut self, epoch: u32) {
        if self.epoch != epoch {
            self.r = self.reference(epoch);
            self.l = 0;
            self.epoch = epoch;
        }
    }
}

/// A forest of Half-Space Trees.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HalfSpaceTrees {
    params: HstParams,
    n_features: usize,
    /// `trees × (2^(depth+1) − 1)` nodes.
    nodes: Vec<Node>,
    lo: Vec<f32>,
    scale: Vec<f32>,
    epoch: u32,
    in_window: u32,
    #[serde(skip)]
    buf: Vec<f32>,
}

#[inline]
fn compress(x: f32) -> f32 {
    crate::mathx::log_compress(x)
}

impl HalfSpaceTrees {
    /// Builds the forest. `min`/`max` are the raw feature ranges seen during
    /// warm-up (same length = number of features).
    pub fn new(params: HstParams, min: &[f32], max: &[f32], seed: u64) -> Self {
        let params = HstParams {
            trees: params.trees.clamp(1, 1000),
            depth: params.depth.clamp(1, 20),
            window: params.window.max(1),
            size_limit: params.size_limit,
        };
        let n = min.len().min(max.len()).max(1);
        let (mut lo, mut scale) = (vec![0.0; n], vec![0.0; n]);
        for i in 0..n {
            let a = compress(min.get(i).copied().unwrap_or(0.0));
            let b = compress(max.get(i).copied().unwrap_or(0.0));
            if a.is_finite() && b.is_finite() && b > a {
                lo[i] = a;
                scale[i] = 1.0 / (b - a);
            }
        }
        let per_tree = (1usize << (params.depth + 1)) - 1;
        let mut nodes = vec![Node::default(); params.trees * per_tree];
        let mut rng = Rng::new(seed);
        for t in 0..params.trees {
            let mut wlo = vec![0f32; n];
            let mut whi = vec![0f32; n];
            for q in 0..n {
                let s = rng.next_f64() as f32;
                let range = 2.0 * s.max(1.0 - s);
                wlo[q] = s - range;
                whi[q] = s + range;
            }
            let tree = &mut nodes[t * per_tree..(t + 1) * per_tree];
            build(tree, 0, 0, params.depth, &mut wlo, &mut whi, &mut rng);
        }
        Self {
            params,
            n_features: n,
            nodes,
            lo,
            scale,
            epoch: 1,
            in_window: 0,
            buf: Vec::new(),
        }
    }

    pub(crate) fn is_well_formed(&self, n_features: usize) -> bool {
        let p = self.params;
        (1..=20).contains(&p.depth)
            && (1..=1000).contains(&p.trees)
            && p.window > 0
            && self.n_features == n_features
            && self.lo.len() == n_features
            && self.scale.len() == n_features
            && self.nodes.len() == p.trees * ((1usize << (p.depth + 1)) - 1)
            && self.nodes.iter().all(|nd| usize::from(nd.dim) < n_features)
    }

    fn scale_into(&mut self, x: &[f32]) {
        self.buf.clear();
        self.buf.extend((0..self.n_features).map(|i| {
            let v = compress(x.get(i).copied().unwrap_or(0.0));
            let u = (v - self.lo[i]) * self.scale[i];
            if u.is_finite() {
                u
            } else {
                0.0
            }
        }));
    }

    /// Adds `x` to the current mass window.
    pub fn learn(&mut self, x: &[f32]) {
        self.scale_into(x);
        let per_tree = (1usize << (self.params.depth + 1)) - 1;
        let epoch = self.epoch;
        for tree in self.nodes.chunks_exact_mut(per_tree) {
            let mut i = 0;
            for _ in 0..=self.params.depth {
                let Some(node) = tree.get_mut(i) else { break };
                node.catch_up(epoch);
                node.l = node.l.saturating_add(1);
                let v = self.buf.get(usize::from(node.dim)).copied().unwrap_or(0.0);
                i = 2 * i + if v < node.split { 1 } else { 2 };
            }
        }
        self.in_window += 1;
        if self.in_window >= self.params.window {
            self.in_window = 0;
            self.epoch = self.epoch.wrapping_add(1);
        }
    }

    /// True once one full window has been learned (scores mean something).
    pub fn has_reference(&self) -> bool {
        self.epoch > 1
    }

    /// Anomaly score of `x` (higher = more anomalous); does not learn.
    pub fn score(&mut self, x: &[f32]) -> f32 {
        self.scale_into(x);
        let per_tree = (1usize << (self.params.depth + 1)) - 1;
        let mut total = 0f64;
        for tree in self.nodes.chunks_exact(per_tree) {
            let mut i = 0;
            for depth in 0..=self.params.depth {
                let Some(node) = tree.get(i) else { break };
                let r = node.reference(self.epoch);
                if r < self.params.size_limit || depth == self.params.depth {
                    total += f64::from(r) * (1u64 << depth) as f64;
                    break;
                }
                let v = self.buf.get(usize::from(node.dim)).copied().unwrap_or(0.0);
                i = 2 * i + if v < node.split { 1 } else { 2 };
            }
        }
        let mean = total / self.params.trees as f64;
        let most = f64::from(self.params.window) * (1u64 << self.params.depth) as f64;
        (most.ln_1p() - mean.ln_1p()).max(0.0) as f32
    }
}

fn build(
    tree: &mut [Node],
    i: usize,
    depth: usize,
    max_depth: usize,
    wlo: &mut [f32],
    whi: &mut [f32],
    rng: &mut Rng,
) {
    if i >= tree.len() {
        return;
    }
    let q = rng.below(wlo.len() as u64) as usize;
    let split = 0.5 * (wlo[q] + whi[q]);
    tree[i].dim = q as u16;
    tree[i].split = split;
    if depth == max_depth {
        return;
    }
    let saved_hi = whi[q];
    whi[q] = split;
    build(tree, 2 * i + 1, depth + 1, max_depth, wlo, whi, rng);
    whi[q] = saved_hi;
    let saved_lo = wlo[q];
    wlo[q] = split;
    build(tree, 2 * i + 2, depth + 1, max_depth, wlo, whi, rng);
    wlo[q] = saved_lo;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_cluster_and_flags_an_outlier() {
        let mut rng = Rng::new(9);
        let min = vec![0.0; 4];
        let max = vec![100.0; 4];
        let mut hst = HalfSpaceTrees::new(HstParams::default(), &min, &max, 11);
        let sample = |rng: &mut Rng| -> Vec<f32> {
            (0..4).map(|_| 20.0 + 5.0 * rng.next_f64() as f32).collect()
        };
        assert!(!hst.has_reference());
        for _ in 0..3000 {
            let x = sample(&mut rng);
            hst.learn(&x);
        }
        assert!(hst.has_reference());
        let normal: Vec<f32> = (0..200).map(|_| hst.score(&sample(&mut rng))).collect();
        let worst = normal.iter().cloned().fold(f32::MIN, f32::max);
        let outlier = hst.score(&[90.0, 3.0, 20.0, 22.0]);
        assert!(
            outlier > worst + 1.0,
            "outlier {outlier} vs worst normal {worst}"
        );
        // The engine keeps conversation peaks that start at 0 and decay
        // towards 0: scores must never be below 0, or every packet of a
        // dense region scores 0 after them. Dense normal packets used to
        // score ln(window) − ln(1 + r·2^depth) < 0 here.
        let best = normal.iter().cloned().fold(f32::MAX, f32::min);
        assert!(best >= 0.0, "a normal packet scored {best} < 0");
        assert!(
            best < worst,
            "normal packets all score {best}: no spread to rank by"
        );
    }

    #[test]
    fn window_switch_is_lazy_but_exact() {
        let mut n = Node {
            r: 5,
            l: 7,
            epoch: 3,
            ..Node::default()
        };
        assert_eq!(n.reference(3), 5);
        assert_eq!(n.reference(4), 7);
        assert_eq!(n.reference(5), 0);
        n.catch_up(4);
        assert_eq!((n.r, n.l, n.epoch), (7, 0, 4));
    }
}
