//! A small deterministic random forest (CART trees, Gini impurity,
//! bootstrap samples, a random subset of features per split).
//!
//! Written here rather than taken from a library because the model must be
//! bit-for-bit reproducible from a seed, serialise to a few hundred KiB of
//! JSON, and explain each prediction (which features its paths used); the
//! data sets are a few thousand rows, so simplicity beats speed.
//!
//! Guarantees: training with the same rows, labels, parameters and seed
//! gives the same forest on every machine (own PRNG, no hash-map iteration,
//! ties broken by index). Prediction never panics on any input vector: a
//! feature index beyond the vector reads as 0, and a malformed node (child
//! index out of range, as a corrupted model file could hold) ends the walk.

use serde::{Deserialize, Serialize};

/// Training parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ForestParams {
    pub trees: usize,
    pub max_depth: usize,
    pub min_samples_split: usize,
    /// Features tried per split; 0 means √(number of features).
    pub features_per_split: usize,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            trees: 60,
            max_depth: 24,
            min_samples_split: 2,
            features_per_split: 0,
            seed: 0x5741_5244,
        }
    }
}

/// One tree node. A leaf has `feature == LEAF` and a class distribution.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Node {
    #[serde(rename = "f")]
    pub feature: u32,
    #[serde(rename = "t", default)]
    pub threshold: f32,
    #[serde(rename = "l", default)]
    pub left: u32,
    #[serde(rename = "r", default)]
    pub right: u32,
    /// Leaf only: (class, fraction of the leaf's training rows).
    #[serde(rename = "p", default, skip_serializing_if = "Vec::is_empty")]
    pub dist: Vec<(u32, f32)>,
}

const LEAF: u32 = u32::MAX;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Forest {
    pub classes: usize,
    pub trees: Vec<Tree>,
}

/// SplitMix64: tiny, well-distributed, and ours (stable across versions).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

impl Forest {
    /// Train on `rows` (each of the same length) with labels `0..classes`.
    pub fn train(rows: &[Vec<f32>], labels: &[u32], classes: usize, p: &ForestParams) -> Forest {
        let dim = rows.first().map_or(0, |r| r.len());
        let mtry = if p.features_per_split == 0 {
            ((dim as f64).sqrt().ceil() as usize).max(1)
        } else {
            p.features_per_split
        };
        let mut rng = Rng::new(p.seed);
        let n = rows.len().min(labels.len());
        let mut trees = Vec::with_capacity(p.trees);
        for _ in 0..p.trees {
            let sample: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
            let mut b = TreeBuilder {
                rows,
                labels,
                classes,
                dim,
                mtry,
                params: p,
                rng: Rng::new(rng.next_u64()),
                nodes: Vec::new(),
            };
            if n > 0 {
                b.grow(sample, 0);
            } else {
                b.nodes.push(Node {
                    feature: LEAF,
                    threshold: 0.0,
                    left: 0,
                    right: 0,
                    dist: Vec::new(),
                });
            }
            trees.push(Tree { nodes: b.nodes });
        }
        Forest { classes, trees }
    }

    /// Class probabilities (mean of the trees' leaf distributions).
    pub fn predict_proba(&self, x: &[f32]) -> Vec<f32> {
        self.predict_explained(x, &mut Vec::new())
    }

    /// Class probabilities, and the features each tree's path tested, as
    /// `(tree, feature)` pairs appended to `used`.
    pub fn predict_explained(&self, x: &[f32], used: &mut Vec<(u32, u32)>) -> Vec<f32> {
        let mut p = vec![0.0f32; self.classes];
        if self.trees.is_empty() {
            return p;
        }
        for (ti, t) in self.trees.iter().enumerate() {
            let mut i = 0usize;
            // A path is never longer than the tree; the bound stops a
            // corrupted file's cycle.
            for _ in 0..=t.nodes.len() {
                let Some(node) = t.nodes.get(i) else { break };
                if node.feature == LEAF {
                    for &(c, w) in &node.dist {
                        if let Some(slot) = p.get_mut(c as usize) {
                            *slot += w;
                        }
                    }
                    break;
                }
                used.push((ti as u32, node.feature));
                let v = x.get(node.feature as usize).copied().unwrap_or(0.0);
                i = if v <= node.threshold {
                    node.left as usize
                } else {
                    node.right as usize
                };
            }
        }
        let n = self.trees.len() as f32;
        for v in &mut p {
            *v /= n;
        }
        p
    }

    pub fn node_count(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }

    /// The same forest laid out for fast prediction (see
    /// [`CompiledForest`]); predictions are bit-for-bit those of
    /// [`Forest::predict_explained`].
    pub fn compile(&self) -> CompiledForest {
        let mut nodes = Vec::with_capacity(self.node_count());
        let mut leaves = Vec::new();
        let mut roots = Vec::with_capacity(self.trees.len());
        // Trained trees are grown depth first, a node before its children,
        // so every split's children come after it: a walk then only moves
        // forward and needs neither a step bound nor tree-relative checks.
        let forward = self.trees.iter().all(|t| {
            let len = t.nodes.len();
            !t.nodes.is_empty()
                && t.nodes.iter().enumerate().all(|(j, n)| {
                    n.feature == LEAF || {
                        let (l, r) = (n.left as usize, n.right as usize);
                        j < l && l < len && j < r && r < len
                    }
                })
        }) && self.node_count() < u32::MAX as usize;
        for t in &self.trees {
            let base = nodes.len() as u32;
            let len = t.nodes.len() as u32;
            roots.push((base, len));
            // Forward forests store absolute children (see `forward`).
            let shift = if forward { base } else { 0 };
            for n in &t.nodes {
                if n.feature == LEAF {
                    let start = leaves.len() as u32;
                    leaves.extend(n.dist.iter().copied());
                    nodes.push(FlatNode {
                        feature: LEAF,
                        threshold: 0.0,
                        a: start,
                        b: n.dist.len() as u32,
                    });
                } else {
                    // Children stay tree-relative so a child index out of
                    // range (a corrupted file) is caught exactly as in
                    // `predict_explained`: it ends the walk.
                    nodes.push(FlatNode {
                        feature: n.feature,
                        threshold: n.threshold,
                        a: n.left + shift,
                        b: n.right + shift,
                    });
                }
            }
            debug_assert_eq!(nodes.len() as u32, base + len);
        }
        let remaining = remaining_votes(&self.trees, self.classes);
        CompiledForest {
            classes: self.classes,
            rule_key: rule_key(&remaining, self.trees.len(), self.classes),
            remaining,
            nodes,
            leaves,
            roots,
            forward,
        }
    }
}

/// For [`CompiledForest::predict_proba_if_any_reaches`]: the most each
/// class can still gain from the trees after the first `t`, at
/// `t * classes + class` (`trees + 1` rows; the last is all zeros). Empty
/// when a leaf holds a weight outside 0..=1 or names a class twice (no
/// trained forest does; a hand-edited file might), so that the bound below
/// never has to reason about such a forest: it is then always walked whole.
fn remaining_votes(trees: &[Tree], classes: usize) -> Vec<f64> {
    let mut most = vec![0.0f64; trees.len() * classes];
    for (t, tree) in trees.iter().enumerate() {
        for n in tree.nodes.iter().filter(|n| n.feature == LEAF) {
            for (i, &(c, w)) in n.dist.iter().enumerate() {
                let twice = n.dist[..i].iter().any(|(c2, _)| *c2 == c);
                if !(0.0..=1.0).contains(&w) || twice {
                    return Vec::new();
                }
                // A class beyond `classes` is ignored by prediction too.
                if (c as usize) < classes {
                    let m = &mut most[t * classes + c as usize];
                    *m = m.max(f64::from(w));
                }
            }
        }
    }
    let mut suffix = vec![0.0f64; (trees.len() + 1) * classes];
    for t in (0..trees.len()).rev() {
        for c in 0..classes {
            suffix[t * classes + c] = suffix[(t + 1) * classes + c] + most[t * classes + c];
        }
    }
    suffix
}

/// A node of a [`CompiledForest`]: 16 bytes, no pointer to chase. For a
/// split, `a`/`b` are the left/right child (absolute in a forward forest,
/// tree-relative otherwise: see `CompiledForest::forward`); for a leaf,
/// `a`/`b` are the start and length of its distribution in `leaves`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct FlatNode {
    feature: u32,
    threshold: f32,
    a: u32,
    b: u32,
}

/// A [`Forest`] flattened for prediction: every tree's nodes in one array
/// of 16-byte nodes (instead of 40-byte nodes that each own their leaf
/// distribution), all leaf distributions in another. A tree walk touches
/// 2.5x less memory, which is what prediction is bound by (a 60-tree
/// forest of 10 000 nodes does not fit in L1/L2 cache otherwise).
///
/// Same guarantees as [`Forest`]'s prediction: never panics, whatever the
/// forest it was compiled from, and the same probabilities to the bit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompiledForest {
    classes: usize,
    /// See [`remaining_votes`].
    remaining: Vec<f64>,
    /// What an [`EarlyExit`]'s limits depend on (see [`rule_key`]), so
    /// that one worked out on another forest is not trusted.
    rule_key: u64,
    nodes: Vec<FlatNode>,
    leaves: Vec<(u32, f32)>,
    /// Per tree: (first node, node count).
    roots: Vec<(u32, u32)>,
    /// Every split's children come after it in its tree, and `nodes`
    /// holds them as absolute indices: walks take the short path
    /// ([`CompiledForest::leaf_forward`]). Otherwise (a hand-made or
    /// corrupted file) children are tree-relative and every step is
    /// checked and bounded.
    forward: bool,
}

impl CompiledForest {
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Every split's children come after it (as in every trained
    /// forest), so walks take the short path; otherwise each step is
    /// checked and bounded. Same predictions either way.
    pub fn is_forward(&self) -> bool {
        self.forward
    }

    /// Class probabilities (mean of the trees' leaf distributions).
    pub fn predict_proba(&self, x: &[f32]) -> Vec<f32> {
        let mut p = vec![0.0f32; self.classes];
        self.walk(x, &mut p, None);
        p
    }

    /// As [`Forest::predict_explained`].
    pub fn predict_explained(&self, x: &[f32], used: &mut Vec<(u32, u32)>) -> Vec<f32> {
        let mut p = vec![0.0f32; self.classes];
        self.walk(x, &mut p, Some(used));
        p
    }

    /// The class probabilities of [`CompiledForest::predict_proba`] (the
    /// same bits) if some class other than `except` may get at least `min`
    /// of them; `None` as soon as the trees walked so far prove that none
    /// can, whatever the rest vote.
    ///
    /// A detector that acts only on a confident attack class (`except` =
    /// benign) mostly sees benign inputs, and those are settled after a
    /// fraction of the trees: with 30 trees and `min` = 0.8, after 7 trees
    /// that gave an attack class nothing. The bound is exact arithmetic
    /// plus a margin far above `f32` rounding (n² · 2⁻²⁰ votes for n
    /// trees), so `None` never hides a probability that would have reached
    /// `min`. Forests with leaf weights outside 0..=1 are always walked
    /// whole.
    pub fn predict_proba_if_any_reaches(
        &self,
        x: &[f32],
        except: usize,
        min: f32,
    ) -> Option<Vec<f32>> {
        let mut p = vec![0.0f32; self.classes];
        let n = self.roots.len() as f64;
        let need = f64::from(min) * n;
        let margin = n * n * 2f64.powi(-20);
        let bounded = !self.remaining.is_empty() && need.is_finite();
        let mut done = 0usize;
        let settled = |p: &[f32], done: usize| {
            let rest = self
                .remaining
                .get(done * self.classes..(done + 1) * self.classes)
                .unwrap_or(&[]);
            rest.len() == p.len()
                && p.iter().zip(rest).enumerate().all(|(c, (v, r))| {
                    c == except || (f64::from(*v) + r + margin) * (1.0 + 2f64.powi(-20)) < need
                })
        };
        let complete = self.walk_until(x, &mut p, None, |p| {
            done += 1;
            bounded && settled(p, done)
        });
        complete.then_some(p)
    }

    /// The stopping rule of [`CompiledForest::predict_proba_if_any_reaches`]
    /// for one `except` and `min`, worked out once: per tree walked and
    /// class, the largest vote the class may hold for the walk to stop.
    /// A caller that always asks with the same two (a detector) then pays
    /// one comparison per class and tree instead of the rule's
    /// floating-point sums ([`CompiledForest::predict_proba_if_any_reaches_with`]).
    pub fn early_exit(&self, except: usize, min: f32) -> EarlyExit {
        let classes = self.classes;
        let n = self.roots.len() as f64;
        let need = f64::from(min) * n;
        let margin = n * n * 2f64.powi(-20);
        let mut limits = Vec::new();
        if !self.remaining.is_empty() && need.is_finite() {
            limits.reserve(self.roots.len() * classes);
            for done in 1..=self.roots.len() {
                let rest = self
                    .remaining
                    .get(done * classes..(done + 1) * classes)
                    .unwrap_or(&[]);
                for (c, r) in rest.iter().enumerate() {
                    limits.push(if c == except {
                        f32::INFINITY
                    } else {
                        // The rule of `predict_proba_if_any_reaches`, for
                        // a vote `v` of this class.
                        largest_holding(|v| {
                            (f64::from(v) + r + margin) * (1.0 + 2f64.powi(-20)) < need
                        })
                    });
                }
            }
            if limits.len() != self.roots.len() * classes {
                limits.clear();
            }
        }
        EarlyExit {
            except,
            min_bits: min.to_bits(),
            rule_key: self.rule_key,
            limits,
        }
    }

    /// [`CompiledForest::predict_proba_if_any_reaches`] with the stopping
    /// rule worked out beforehand by [`CompiledForest::early_exit`]: the
    /// same answer, to the bit, for every input. An `exit` worked out on
    /// another forest (other leaves, trees or classes) is not used: the
    /// rule is then applied as `predict_proba_if_any_reaches` does.
    pub fn predict_proba_if_any_reaches_with(
        &self,
        x: &[f32],
        exit: &EarlyExit,
    ) -> Option<Vec<f32>> {
        if exit.rule_key != self.rule_key {
            let (except, min) = exit.for_what();
            return self.predict_proba_if_any_reaches(x, except, min);
        }
        let classes = self.classes;
        // Most walks stop early and their sums are thrown away: they go to
        // a buffer on the stack (the heap for a forest of many classes),
        // copied out only when the walk is complete.
        let mut small = [0.0f32; 16];
        let mut large = Vec::new();
        let p: &mut [f32] = match small.get_mut(..classes) {
            Some(p) => p,
            None => {
                large.resize(classes, 0.0f32);
                &mut large
            }
        };
        let mut limits = exit.limits.chunks_exact(classes.max(1));
        let bounded = !exit.limits.is_empty();
        let complete = self.walk_until(x, p, None, |p| {
            // One row per tree walked, in order.
            let row = limits.next().unwrap_or(&[]);
            bounded && row.len() == p.len() && p.iter().zip(row).all(|(v, l)| v <= l)
        });
        complete.then(|| p.to_vec())
    }

    fn walk(&self, x: &[f32], p: &mut [f32], used: Option<&mut Vec<(u32, u32)>>) {
        self.walk_until(x, p, used, |_| false);
    }

    /// Walk the trees in order, adding each one's leaf to `p`; after each
    /// tree `stop(p)` may end the walk (false is returned: `p` is partial).
    /// Otherwise `p` ends as the mean of the trees' leaves.
    fn walk_until(
        &self,
        x: &[f32],
        p: &mut [f32],
        mut used: Option<&mut Vec<(u32, u32)>>,
        mut stop: impl FnMut(&[f32]) -> bool,
    ) -> bool {
        if self.roots.is_empty() {
            return true;
        }
        for (ti, &(base, len)) in self.roots.iter().enumerate() {
            if self.forward {
                let leaf = match used.as_deref_mut() {
                    Some(u) => self.leaf_forward(base, x, |f| u.push((ti as u32, f))),
                    None => leaf_forward_plain(&self.nodes, base, x),
                };
                if let Some(node) = leaf {
                    self.add_leaf(node, p);
                }
                if stop(p) {
                    return false;
                }
                continue;
            }
            let tree = self
                .nodes
                .get(base as usize..(base as usize).saturating_add(len as usize))
                .unwrap_or(&[]);
            let mut i = 0usize;
            for _ in 0..=tree.len() {
                let Some(node) = tree.get(i) else { break };
                if node.feature == LEAF {
                    self.add_leaf(node, p);
                    break;
                }
                if let Some(u) = used.as_deref_mut() {
                    u.push((ti as u32, node.feature));
                }
                let v = x.get(node.feature as usize).copied().unwrap_or(0.0);
                i = if v <= node.threshold {
                    node.a as usize
                } else {
                    node.b as usize
                };
            }
            if stop(p) {
                return false;
            }
        }
        let n = self.roots.len() as f32;
        for v in p.iter_mut() {
            *v /= n;
        }
        true
    }

    /// The leaf a forward forest's tree starting at `root` (absolute)
    /// reaches for `x`, telling `tested` each split's feature on the way.
    /// Each step moves to a later node, so the walk ends; a missing node
    /// (impossible once `forward` was established) ends it without a leaf.
    #[inline]
    fn leaf_forward(&self, root: u32, x: &[f32], mut tested: impl FnMut(u32)) -> Option<&FlatNode> {
        let mut i = root as usize;
        loop {
            let node = self.nodes.get(i)?;
            if node.feature == LEAF {
                return Some(node);
            }
            tested(node.feature);
            let v = x.get(node.feature as usize).copied().unwrap_or(0.0);
            i = if v <= node.threshold {
                node.a as usize
            } else {
                node.b as usize
            };
        }
    }

    /// Add a leaf's class distribution to `p`.
    #[inline]
    fn add_leaf(&self, node: &FlatNode, p: &mut [f32]) {
        let start = node.a as usize;
        let dist = self
            .leaves
            .get(start..start.saturating_add(node.b as usize))
            .unwrap_or(&[]);
        for &(c, w) in dist {
            if let Some(slot) = p.get_mut(c as usize) {
                *slot += w;
            }
        }
    }
}

/// [`CompiledForest::leaf_forward`] when nothing is told of the splits
/// (every prediction but an explained one): the same leaf, in fewer
/// instructions per step. Out of line, so that the walk's few values stay
/// in registers (inlined into the tree loop, three of them were reloaded
/// from the stack at every step), and the leaf test is folded into the
/// input's bounds check: `LEAF` is past the end of any input shorter than
/// `LEAF` elements, so only a feature the input does not hold (a leaf, or
/// a feature that reads as 0) needs the second comparison. A longer input
/// (never seen: 16 GiB of features) takes the general walk.
#[inline(never)]
fn leaf_forward_plain<'n>(nodes: &'n [FlatNode], root: u32, x: &[f32]) -> Option<&'n FlatNode> {
    if x.len() > LEAF as usize {
        return leaf_forward_general(nodes, root, x);
    }
    let mut i = root as usize;
    loop {
        let node = nodes.get(i)?;
        let v = match x.get(node.feature as usize) {
            Some(&v) => v,
            None if node.feature == LEAF => return Some(node),
            None => 0.0,
        };
        i = if v <= node.threshold {
            node.a as usize
        } else {
            node.b as usize
        };
    }
}

/// [`leaf_forward_plain`] for any input length: the leaf test first.
#[cold]
fn leaf_forward_general<'n>(nodes: &'n [FlatNode], root: u32, x: &[f32]) -> Option<&'n FlatNode> {
    let mut i = root as usize;
    loop {
        let node = nodes.get(i)?;
        if node.feature == LEAF {
            return Some(node);
        }
        let v = x.get(node.feature as usize).copied().unwrap_or(0.0);
        i = if v <= node.threshold {
            node.a as usize
        } else {
            node.b as usize
        };
    }
}

/// See [`CompiledForest::early_exit`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EarlyExit {
    except: usize,
    min_bits: u32,
    /// The [`CompiledForest::rule_key`] of the forest it was worked out on.
    rule_key: u64,
    /// After `t + 1` trees, at `t * classes + c`: the walk may stop when
    /// every class's vote is at most its limit (`+∞` for `except`; below
    /// any vote when nothing lets the class stop the walk). Empty: the
    /// walk never stops early (as the rule decides for odd forests).
    limits: Vec<f32>,
}

impl EarlyExit {
    /// The class and the least share it was worked out for.
    pub fn for_what(&self) -> (usize, f32) {
        (self.except, f32::from_bits(self.min_bits))
    }
}

/// A digest of what [`CompiledForest::early_exit`]'s limits are worked
/// out from besides its two arguments (the remaining votes, the number of
/// trees and of classes): equal forests get equal keys, and a forest that
/// differs in any of these another key but by a 64-bit coincidence.
fn rule_key(remaining: &[f64], trees: usize, classes: usize) -> u64 {
    let mut rng = Rng::new(0x5741_5244);
    let mut key = rng.next_u64();
    for w in [trees as u64, classes as u64]
        .into_iter()
        .chain(remaining.iter().map(|r| r.to_bits()))
    {
        // SplitMix64's mixing of each word into the running key.
        key = Rng::new(key ^ w).next_u64();
    }
    key
}

/// The largest `f32` `v ≥ 0` for which `holds(v)`, given that `holds` is
/// true up to some value and false from there on (the rule is a chain of
/// rounded additions and a multiplication, each monotone, then `<`); -1
/// when it fails already at 0. Votes are sums of leaf weights in 0..=1,
/// so they are never negative, and for them `v <= limit` is `holds(v)`.
fn largest_holding(holds: impl Fn(f32) -> bool) -> f32 {
    if !holds(0.0) {
        return -1.0;
    }
    // Non-negative floats are ordered as their bits: bisect those.
    let (mut yes, mut no) = (0u32, f32::INFINITY.to_bits());
    if holds(f32::INFINITY) {
        return f32::INFINITY;
    }
    while no - yes > 1 {
        let mid = yes + (no - yes) / 2;
        if holds(f32::from_bits(mid)) {
            yes = mid;
        } else {
            no = mid;
        }
    }
    f32::from_bits(yes)
}

struct TreeBuilder<'a> {
    rows: &'a [Vec<f32>],
    labels: &'a [u32],
    classes: usize,
    dim: usize,
    mtry: usize,
    params: &'a ForestParams,
    rng: Rng,
    nodes: Vec<Node>,
}

impl TreeBuilder<'_> {
    fn value(&self, row: usize, f: usize) -> f32 {
        self.rows[row].get(f).copied().unwrap_or(0.0)
    }

    fn counts(&self, idx: &[usize]) -> Vec<u32> {
        let mut c = vec![0u32; self.classes];
        for &i in idx {
            if let Some(s) = c.get_mut(self.labels[i] as usize) {
                *s += 1;
            }
        }
        c
    }

    fn leaf(&mut self, counts: &[u32]) -> u32 {
        let total: u32 = counts.iter().sum();
        let dist = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(k, c)| (k as u32, *c as f32 / total.max(1) as f32))
            .collect();
        self.nodes.push(Node {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            dist,
        });
        (self.nodes.len() - 1) as u32
    }

    fn grow(&mut self, idx: Vec<usize>, depth: usize) -> u32 {
        let counts = self.counts(&idx);
        let pure = counts.iter().filter(|c| **c > 0).count() <= 1;
        if pure || depth >= self.params.max_depth || idx.len() < self.params.min_samples_split {
            return self.leaf(&counts);
        }
        let Some((f, t)) = self.best_split(&idx, &counts) else {
            return self.leaf(&counts);
        };
        let (l, r): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| self.value(i, f) <= t);
        let me = self.nodes.len();
        self.nodes.push(Node {
            feature: f as u32,
            threshold: t,
            left: 0,
            right: 0,
            dist: Vec::new(),
        });
        let li = self.grow(l, depth + 1);
        let ri = self.grow(r, depth + 1);
        self.nodes[me].left = li;
        self.nodes[me].right = ri;
        me as u32
    }

    /// The best (feature, threshold) among `mtry` randomly drawn features
    /// that are not constant in this node (drawing on until that many are
    /// found or all are tried: most hashed slots are 0 in most nodes).
    fn best_split(&mut self, idx: &[usize], counts: &[u32]) -> Option<(usize, f32)> {
        let n = idx.len() as f64;
        let parent = gini(counts, n);
        let mut order: Vec<usize> = (0..self.dim).collect();
        let mut best: Option<(f64, usize, f32)> = None;
        let mut tried = 0;
        let mut k = 0;
        while tried < self.mtry && k < order.len() {
            // Partial Fisher–Yates: draw the next feature.
            let j = k + self.rng.below(order.len() - k);
            order.swap(k, j);
            let f = order[k];
            k += 1;
            let mut vals: Vec<(f32, u32)> = idx
                .iter()
                .map(|&i| (self.value(i, f), self.labels[i]))
                .collect();
            let first = vals[0].0;
            if vals.iter().all(|(v, _)| *v == first) {
                continue;
            }
            tried += 1;
            vals.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut left = vec![0u32; self.classes];
            let mut right = counts.to_vec();
            for w in 0..vals.len() - 1 {
                let c = vals[w].1 as usize;
                if let (Some(l), Some(r)) = (left.get_mut(c), right.get_mut(c)) {
                    *l += 1;
                    *r -= 1;
                }
                if vals[w].0 == vals[w + 1].0 {
                    continue;
                }
                let nl = (w + 1) as f64;
                let nr = n - nl;
                let impurity = (nl * gini(&left, nl) + nr * gini(&right, nr)) / n;
                let gain = parent - impurity;
                if gain > 1e-12 && best.is_none_or(|(g, _, _)| gain > g) {
                    let t = vals[w].0 + (vals[w + 1].0 - vals[w].0) / 2.0;
                    best = Some((gain, f, t));
                }
            }
        }
        best.map(|(_, f, t)| (f, t))
    }
}

fn gini(counts: &[u32], n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    1.0 - counts
        .iter()
        .map(|&c| {
            let p = c as f64 / n;
            p * p
        })
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<Vec<f32>>, Vec<u32>) {
        // Class = which of three "tokens" is set; feature 3 is noise.
        let mut rng = Rng::new(7);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..90 {
            let c = (i % 3) as u32;
            let mut r = vec![0.0; 4];
            r[c as usize] = 1.0;
            r[3] = (rng.below(10)) as f32;
            rows.push(r);
            labels.push(c);
        }
        (rows, labels)
    }

    #[test]
    fn learns_a_separable_problem() {
        let (rows, labels) = toy();
        let f = Forest::train(&rows, &labels, 3, &ForestParams::default());
        for c in 0..3 {
            let mut x = vec![0.0; 4];
            x[c] = 1.0;
            let p = f.predict_proba(&x);
            let best = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
            assert_eq!(best, c, "{p:?}");
            assert!(p[c] > 0.8, "{p:?}");
        }
    }

    #[test]
    fn same_seed_same_forest() {
        let (rows, labels) = toy();
        let p = ForestParams::default();
        assert_eq!(
            Forest::train(&rows, &labels, 3, &p),
            Forest::train(&rows, &labels, 3, &p)
        );
    }

    #[test]
    fn compiled_forest_predicts_the_same_bits() {
        let (rows, labels) = toy();
        let f = Forest::train(&rows, &labels, 3, &ForestParams::default());
        let c = f.compile();
        let mut rng = Rng::new(11);
        for _ in 0..200 {
            let x: Vec<f32> = (0..4).map(|_| rng.below(12) as f32 / 3.0).collect();
            let (mut u1, mut u2) = (Vec::new(), Vec::new());
            let a = f.predict_explained(&x, &mut u1);
            let b = c.predict_explained(&x, &mut u2);
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            assert_eq!(u1, u2);
            assert_eq!(c.predict_proba(&x), a);
        }
        // An empty forest and a short input vector.
        let empty = Forest {
            classes: 2,
            trees: Vec::new(),
        };
        assert_eq!(empty.compile().predict_proba(&[]), vec![0.0, 0.0]);
        assert_eq!(c.predict_proba(&[]), f.predict_proba(&[]));
    }

    /// The plain walk and its general form reach, tree by tree, the leaf
    /// the told walk reaches, also for inputs shorter than the features
    /// tested (which read as 0).
    #[test]
    fn the_plain_walks_reach_the_told_walks_leaves() {
        let (rows, labels) = toy();
        let c = Forest::train(&rows, &labels, 3, &ForestParams::default()).compile();
        assert!(c.forward);
        let mut rng = Rng::new(29);
        for _ in 0..500 {
            let len = rng.below(6);
            let x: Vec<f32> = (0..len).map(|_| rng.below(12) as f32 / 3.0).collect();
            for &(root, _) in &c.roots {
                let told = c
                    .leaf_forward(root, &x, |_| {})
                    .map(|n| n as *const FlatNode);
                let plain = leaf_forward_plain(&c.nodes, root, &x).map(|n| n as *const FlatNode);
                let general =
                    leaf_forward_general(&c.nodes, root, &x).map(|n| n as *const FlatNode);
                assert!(told.is_some());
                assert_eq!(plain, told);
                assert_eq!(general, told);
            }
        }
    }

    #[test]
    fn trained_forests_take_the_forward_walk_and_others_the_checked_one() {
        let (rows, labels) = toy();
        let f = Forest::train(&rows, &labels, 3, &ForestParams::default());
        assert!(f.compile().forward);
        // The same trees with every node but the root in reverse order
        // (a split after the root then comes after its children: valid,
        // but not forward) predict the same through the checked walk.
        let moved = Forest {
            classes: f.classes,
            trees: f
                .trees
                .iter()
                .map(|t| {
                    let len = t.nodes.len() as u32;
                    let at = |j: u32| if j == 0 { 0 } else { len - j };
                    let mut nodes = t.nodes.clone();
                    for (j, n) in t.nodes.iter().enumerate() {
                        let mut n = n.clone();
                        if n.feature != LEAF {
                            n.left = at(n.left);
                            n.right = at(n.right);
                        }
                        nodes[at(j as u32) as usize] = n;
                    }
                    Tree { nodes }
                })
                .collect(),
        };
        let c = moved.compile();
        let splits_back = moved.trees.iter().any(|t| {
            t.nodes
                .iter()
                .enumerate()
                .any(|(j, n)| n.feature != LEAF && (n.left as usize) < j)
        });
        assert!(splits_back && !c.forward);
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let x: Vec<f32> = (0..4).map(|_| rng.below(12) as f32 / 3.0).collect();
            assert_eq!(c.predict_proba(&x), f.predict_proba(&x));
            assert_eq!(c.predict_proba(&x), f.compile().predict_proba(&x));
        }
    }

    #[test]
    fn early_exit_never_hides_a_class_that_reaches_the_threshold() {
        let (rows, labels) = toy();
        let f = Forest::train(&rows, &labels, 3, &ForestParams::default()).compile();
        let mut rng = Rng::new(5);
        let (mut settled, mut walked) = (0, 0);
        for i in 0..3000 {
            // Inputs between and around the three classes' corners, so
            // that probabilities land everywhere, thresholds included.
            let x: Vec<f32> = (0..4).map(|_| rng.below(9) as f32 / 8.0).collect();
            let full = f.predict_proba(&x);
            let except = i % 3;
            for min in [0.0f32, 0.3, 0.5, 0.8, 0.95, 1.0, full[(except + 1) % 3]] {
                let answer = f.predict_proba_if_any_reaches(&x, except, min);
                // The rule worked out beforehand gives the same answer.
                let exit = f.early_exit(except, min);
                assert_eq!(exit.for_what(), (except, min));
                assert_eq!(
                    f.predict_proba_if_any_reaches_with(&x, &exit)
                        .map(|p| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>()),
                    answer
                        .as_ref()
                        .map(|p| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>()),
                    "{x:?} {except} {min}"
                );
                match answer {
                    Some(p) => {
                        walked += 1;
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&p), bits(&full));
                    }
                    None => {
                        settled += 1;
                        for (c, v) in full.iter().enumerate() {
                            assert!(c == except || *v < min, "{x:?} {full:?} {min}");
                        }
                    }
                }
            }
        }
        // Both outcomes occur: the test exercises the early exit.
        assert!(settled > 1000 && walked > 1000, "{settled} {walked}");
    }

    /// A forest of more classes than the stack buffer of
    /// `predict_proba_if_any_reaches_with` holds (16) sums on the heap:
    /// the same answers, to the bit, as the rule applied tree by tree.
    #[test]
    fn early_exit_with_many_classes_is_the_rule() {
        let mut rng = Rng::new(11);
        let (mut rows, mut labels) = (Vec::new(), Vec::new());
        for i in 0..600u32 {
            let c = i % 20;
            let r: Vec<f32> = (0..4)
                .map(|j| (c * (j + 1)) as f32 + rng.below(3) as f32 / 4.0)
                .collect();
            rows.push(r);
            labels.push(c);
        }
        let f = Forest::train(&rows, &labels, 20, &ForestParams::default()).compile();
        assert_eq!(f.classes(), 20);
        let bits =
            |p: Option<Vec<f32>>| p.map(|p| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        let (mut settled, mut walked) = (0, 0);
        for i in 0..400 {
            let x: Vec<f32> = (0..4).map(|_| rng.below(160) as f32 / 2.0).collect();
            let except = i % 20;
            for min in [0.05f32, 0.3, 0.6, 0.9] {
                let want = f.predict_proba_if_any_reaches(&x, except, min);
                match &want {
                    Some(_) => walked += 1,
                    None => settled += 1,
                }
                let got = f.predict_proba_if_any_reaches_with(&x, &f.early_exit(except, min));
                assert_eq!(bits(got), bits(want), "{x:?} {except} {min}");
            }
        }
        assert!(settled > 100 && walked > 100, "{settled} {walked}");
    }

    /// Each worked-out limit is exactly where the rule turns: it holds
    /// at the limit and fails at the next float up (or fails already at
    /// 0 for a limit below every vote), so `v <= limit` is the rule.
    #[test]
    fn early_exit_limits_sit_where_the_rule_turns() {
        let (rows, labels) = toy();
        let f = Forest::train(&rows, &labels, 3, &ForestParams::default()).compile();
        let n = f.roots.len() as f64;
        let margin = n * n * 2f64.powi(-20);
        let mut below_every_vote = 0;
        for except in 0..4 {
            for min in [0.0f32, 0.1, 0.3, 0.5, 0.8, 0.95, 1.0, 1.5] {
                let exit = f.early_exit(except, min);
                assert_eq!(exit.limits.len(), f.roots.len() * f.classes);
                let need = f64::from(min) * n;
                for (i, &limit) in exit.limits.iter().enumerate() {
                    let (done, c) = (i / f.classes + 1, i % f.classes);
                    let r = f.remaining[done * f.classes + c];
                    let rule = |v: f32| (f64::from(v) + r + margin) * (1.0 + 2f64.powi(-20)) < need;
                    if c == except {
                        assert_eq!(limit, f32::INFINITY);
                    } else if limit < 0.0 {
                        below_every_vote += 1;
                        assert!(!rule(0.0));
                    } else {
                        assert!(rule(limit), "{limit}");
                        assert!(!rule(f32::from_bits(limit.to_bits() + 1)), "{limit}");
                    }
                }
            }
        }
        assert!(below_every_vote > 0);
    }

    /// An `EarlyExit` worked out on another forest is not trusted: its
    /// limits would let the walk stop where this forest's rule does not
    /// (here: hide a class at 0.95 against a threshold of 0.5).
    #[test]
    fn an_early_exit_of_another_forest_is_not_trusted() {
        let leaves = |dists: &[(u32, f32)]| {
            Forest {
                classes: 2,
                trees: dists
                    .iter()
                    .map(|&d| Tree {
                        nodes: vec![Node {
                            feature: LEAF,
                            threshold: 0.0,
                            left: 0,
                            right: 0,
                            dist: vec![d],
                        }],
                    })
                    .collect(),
            }
            .compile()
        };
        // Class 1 gets nothing from `a`'s second tree, 1.0 from `b`'s.
        let a = leaves(&[(0, 1.0), (0, 1.0)]);
        let b = leaves(&[(1, 0.9), (1, 1.0)]);
        let want = b.predict_proba_if_any_reaches(&[], 0, 0.5);
        assert_eq!(want, Some(vec![0.0, 0.95]));
        let exit = a.early_exit(0, 0.5);
        assert_eq!(b.predict_proba_if_any_reaches_with(&[], &exit), want);
        // A copy of the same forest takes the worked-out limits; the
        // other forest, given them, applies its own rule (it may stop).
        let exit = b.early_exit(0, 0.5);
        assert_eq!(
            b.clone().predict_proba_if_any_reaches_with(&[], &exit),
            want
        );
        assert_eq!(a.predict_proba_if_any_reaches_with(&[], &exit), None);
    }

    #[test]
    fn early_exit_walks_odd_forests_whole() {
        // A leaf weight above 1 (a hand-edited file): no bound is trusted.
        let odd = Forest {
            classes: 2,
            trees: vec![
                Tree {
                    nodes: vec![Node {
                        feature: LEAF,
                        threshold: 0.0,
                        left: 0,
                        right: 0,
                        dist: vec![(0, 1.0)],
                    }],
                };
                9
            ]
            .into_iter()
            .chain([Tree {
                nodes: vec![Node {
                    feature: LEAF,
                    threshold: 0.0,
                    left: 0,
                    right: 0,
                    dist: vec![(1, 9.0)],
                }],
            }])
            .collect(),
        }
        .compile();
        // Class 1 gets 9 / 10 = 0.9 from the last tree alone.
        let p = odd.predict_proba_if_any_reaches(&[0.0], 0, 0.8);
        assert_eq!(p, Some(vec![0.9, 0.9]));
        let exit = odd.early_exit(0, 0.8);
        assert!(exit.limits.is_empty());
        assert_eq!(odd.predict_proba_if_any_reaches_with(&[0.0], &exit), p);
        assert_eq!(
            Forest {
                classes: 2,
                trees: Vec::new()
            }
            .compile()
            .predict_proba_if_any_reaches(&[], 0, 0.5),
            Some(vec![0.0, 0.0])
        );
    }

    #[test]
    fn corrupted_model_never_panics() {
        let f = Forest {
            classes: 2,
            trees: vec![Tree {
                nodes: vec![Node {
                    feature: 9,
                    threshold: 0.5,
                    left: 0,
                    right: 77,
                    dist: vec![(5, 1.0)],
                }],
            }],
        };
        let p = f.predict_proba(&[0.0]);
        assert_eq!(p.len(), 2);
        assert_eq!(f.compile().predict_proba(&[0.0]), p);
        // A cycle (a child pointing back at its parent) ends too.
        let cyclic = Forest {
            classes: 2,
            trees: vec![Tree {
                nodes: vec![Node {
                    feature: 0,
                    threshold: 0.5,
                    left: 0,
                    right: 0,
                    dist: Vec::new(),
                }],
            }],
        };
        assert_eq!(cyclic.compile().predict_proba(&[0.0]), vec![0.0, 0.0]);
        assert_eq!(cyclic.predict_proba(&[0.0]), vec![0.0, 0.0]);
        // A child just past its tree's end (forward, but it would land in
        // the next tree once made absolute) keeps the checked walk.
        let leaf = |c: u32| Node {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            dist: vec![(c, 1.0)],
        };
        let split = Node {
            feature: 0,
            threshold: 0.5,
            left: 1,
            right: 2,
            dist: Vec::new(),
        };
        let past = Forest {
            classes: 2,
            trees: vec![
                Tree {
                    nodes: vec![split.clone(), leaf(0)],
                },
                Tree {
                    nodes: vec![leaf(1), leaf(1), leaf(1)],
                },
            ],
        };
        let c = past.compile();
        assert!(!c.is_forward());
        for x in [0.0, 1.0] {
            assert_eq!(c.predict_proba(&[x]), past.predict_proba(&[x]), "x = {x}");
        }
    }
}
