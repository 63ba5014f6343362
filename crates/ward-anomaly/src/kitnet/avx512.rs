//! AVX-512 kernels of KitNET: the same values, bit for bit, as the generic
//! ones in `kitnet.rs` and the AVX2 ones in `avx2.rs`.
//!
//! A row of the ensemble (one value of each of a bundle's sixteen members)
//! is one 512-bit register here: [`forward_bundle`] is the generic
//! kernel's vertical arithmetic with one register per row, so a bundle is
//! one pass instead of two halves. [`compress_all`] log-compresses the
//! features sixteen at a time, and [`prepare`] gathers a row's sixteen
//! features from the compressed features held in registers with
//! two-table permutes (`vpermt2ps`, 32 values each) merged under
//! precomputed lane masks, where the eight-lane builds insert the values
//! one by one. Every arithmetic operation is an IEEE add, subtract,
//! multiply, divide, square root, min or max per lane (no fused
//! multiply-add, no approximate reciprocal), in the order of the generic
//! code, so every lane computes the same bits; the tests run every build
//! against the textbook network and against each other.
//!
//! Only compiled on x86-64; called only with a [`V4`] token, which `pulp`
//! hands out after checking that the CPU has AVX-512 F, BW, CD, DQ and VL
//! (and the x86-64-v3 features), and only inside `V4::vectorize`, which
//! compiles the inlined code with those features. Everything here is
//! `#[inline(always)]` for that reason: a call that is not inlined would
//! run code compiled without them.

use core::arch::x86_64::{__m512, __m512i};

use pulp::x86::V4;

use super::{mul_add, sigmoid4, v4, Lanes, Row, GATHER_SPAN, MEMBERS, V4 as F4};
use crate::mathx::{C0, C1, C2, C3, C4, MAGIC};

#[inline(always)]
fn add(s: V4, a: __m512, b: __m512) -> __m512 {
    s.avx512f._mm512_add_ps(a, b)
}

#[inline(always)]
fn sub(s: V4, a: __m512, b: __m512) -> __m512 {
    s.avx512f._mm512_sub_ps(a, b)
}

#[inline(always)]
fn mul(s: V4, a: __m512, b: __m512) -> __m512 {
    s.avx512f._mm512_mul_ps(a, b)
}

#[inline(always)]
fn splat(s: V4, v: f32) -> __m512 {
    s.avx512f._mm512_set1_ps(v)
}

#[inline(always)]
fn splat_i(s: V4, v: i32) -> __m512i {
    s.avx512f._mm512_set1_epi32(v)
}

/// A row of the ensemble (an unaligned 512-bit load).
#[inline(always)]
fn row16(a: &Row) -> __m512 {
    bytemuck::cast(*a)
}

/// `mathx::exp2_fast4` on sixteen lanes, operation for operation: `vmaxps`
/// and `vminps` (which return the second operand when either is NaN, as
/// SSE's do) with the same operand order, the same magic-number rounding
/// and integer steps, the same polynomial.
#[inline(always)]
fn exp2_16(s: V4, x: __m512) -> __m512 {
    let f = s.avx512f;
    let x = f._mm512_max_ps(x, splat(s, -126.0));
    let x = f._mm512_min_ps(x, splat(s, 126.0));
    let t = add(s, x, splat(s, MAGIC));
    let r = sub(s, t, splat(s, MAGIC));
    let n = f._mm512_sub_epi32(f._mm512_castps_si512(t), splat_i(s, MAGIC.to_bits() as i32));
    let fr = sub(s, x, r);
    let p = mul(s, fr, splat(s, C4));
    let p = mul(s, fr, add(s, splat(s, C3), p));
    let p = mul(s, fr, add(s, splat(s, C2), p));
    let p = mul(s, fr, add(s, splat(s, C1), p));
    let p = add(s, splat(s, C0), p);
    let bits = f._mm512_slli_epi32::<23>(f._mm512_add_epi32(n, splat_i(s, 127)));
    mul(s, p, f._mm512_castsi512_ps(bits))
}

/// `mathx::sigmoid4` on sixteen lanes.
#[inline(always)]
fn sigmoid16(s: V4, x: __m512) -> __m512 {
    let one = splat(s, 1.0);
    let e = exp2_16(s, mul(s, x, splat(s, -std::f32::consts::LOG2_E)));
    s.avx512f._mm512_div_ps(one, add(s, one, e))
}

/// [`super::forward_bundle`] with one AVX-512 register per row (a lane per
/// member), the same bits: every lane takes the same operations in the
/// same order as the generic kernel's; then each lane's RMSE,
/// `√(Σ err² / count)`. `H ≤ 8`; `None` when the slices do not have the
/// bundle's shape (never for a well-formed ensemble).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn forward_bundle<const H: usize>(
    s: V4,
    x: &[Row],
    w: &[Row],
    hbias: &[Row],
    hmask: &[Row],
    vbias: &[Row],
    imask: &[Row],
    y: &mut [Row],
    err: &mut [Row],
    count: &Row,
) -> Option<Row> {
    let (Ok(hb), Ok(hm), Ok(y)) = (
        <&[Row; H]>::try_from(hbias),
        <&[Row; H]>::try_from(hmask),
        <&mut [Row; H]>::try_from(y),
    ) else {
        return None;
    };
    let rows = w.as_chunks::<H>().0;
    // Encoder: `acc_k = bias_k + Σ_j x_j·W[j][k]` in input order.
    let mut acc: [__m512; H] = core::array::from_fn(|k| row16(&hb[k]));
    for (xj, row) in x.iter().zip(rows) {
        let xj = row16(xj);
        for k in 0..H {
            acc[k] = add(s, acc[k], mul(s, xj, row16(&row[k])));
        }
    }
    for k in 0..H {
        acc[k] = mul(s, sigmoid16(s, acc[k]), row16(&hm[k]));
        y[k] = bytemuck::cast(acc[k]);
    }
    // Decoder: per input row, hidden unit `k` into partial sum `k mod 4`,
    // combined as `(s0 + s2) + (s1 + s3)`, the bias added. The sums start
    // at −0 (see [`super::SUM_START`]): the compiler drops the first
    // additions.
    let start = splat(s, super::SUM_START);
    let mut sq = start;
    for ((((xj, row), b), m), e) in x.iter().zip(rows).zip(vbias).zip(imask).zip(err) {
        let mut p = [start; 4];
        for k in 0..H {
            p[k % 4] = add(s, p[k % 4], mul(s, row16(&row[k]), acc[k]));
        }
        let t = add(s, add(s, p[0], p[2]), add(s, p[1], p[3]));
        let z = sigmoid16(s, add(s, row16(b), t));
        let ev = mul(s, sub(s, row16(xj), z), row16(m));
        *e = bytemuck::cast(ev);
        sq = add(s, sq, mul(s, ev, ev));
    }
    let f = s.avx512f;
    Some(bytemuck::cast(
        f._mm512_sqrt_ps(f._mm512_div_ps(sq, row16(count))),
    ))
}

/// Four blocks of four lanes as one register (an unaligned 512-bit load).
#[inline(always)]
fn quad(a: &[Lanes; 4]) -> __m512 {
    bytemuck::cast(*a)
}

/// [`super::encode_blocks`] on sixteen lanes, then the sigmoid: `y =
/// sigmoid(bias + Σ_j x_j·W[j])`, the same bits. Blocks `4q..4q + 4` of a
/// weight row are adjacent and take the same input, so one register holds
/// them; the last `B mod 4` blocks are done four lanes at a time.
#[inline(always)]
pub(super) fn encode_blocks<const B: usize>(
    s: V4,
    x: &[f32],
    w: &[Lanes],
    bias: &[Lanes],
    y: &mut [Lanes],
) {
    let (Ok(bias), Ok(y)) = (
        <&[Lanes; B]>::try_from(bias),
        <&mut [Lanes; B]>::try_from(y),
    ) else {
        return;
    };
    // Only the first B / 4 entries of `acc` and B mod 4 of `tail` are used
    // (arrays of B keep the lengths plain constants).
    let mut acc = [s.avx512f._mm512_setzero_ps(); B];
    let mut tail = [F4::ZERO; B];
    let (b4, b1) = bias.as_chunks::<4>();
    for (a, b) in acc.iter_mut().zip(b4) {
        *a = quad(b);
    }
    for (t, b) in tail.iter_mut().zip(b1) {
        *t = v4(b);
    }
    for (&xj, row) in x.iter().zip(w.as_chunks::<B>().0) {
        let xb = splat(s, xj);
        let (r4, r1) = row.as_chunks::<4>();
        for (a, r) in acc.iter_mut().zip(r4) {
            *a = add(s, *a, mul(s, xb, quad(r)));
        }
        for (t, r) in tail.iter_mut().zip(r1) {
            *t = mul_add(*t, F4::splat(xj), v4(r));
        }
    }
    let (y4, y1) = y.as_chunks_mut::<4>();
    for (a, o) in acc.iter().zip(y4) {
        *o = bytemuck::cast(sigmoid16(s, *a));
    }
    for (t, o) in tail.iter().zip(y1) {
        *o = sigmoid4(*t).to_array();
    }
}

/// [`super::decode_blocks`] on sixteen lanes, the same bits:
/// `z_j = bias_j + W[j]·y` for four rows at once, from `wt`, the weights
/// four rows to a group, block-major (group `q`'s block `b` holds block
/// `b` of rows `4q..4q + 4` side by side; see
/// `Autoencoder::refresh_transposed`). Each row's
/// four lanes take the block products in block order from zero, then
/// `(l0 + l2) + (l1 + l3)` within its 128-bit lane, then the bias, as the
/// generic decoder does. False (nothing written) when the slices do not
/// have the shape.
#[inline(always)]
pub(super) fn decode_groups<const B: usize>(
    s: V4,
    wt: &[Row],
    y: &[Lanes],
    bias: &[f32],
    z: &mut [f32],
) -> bool {
    let Ok(y) = <&[Lanes; B]>::try_from(y) else {
        return false;
    };
    let groups = wt.as_chunks::<B>().0;
    if groups.len() != z.len().div_ceil(4) || bias.len() != z.len() {
        return false;
    }
    let f = s.avx512f;
    // Each block of hidden units in all four 128-bit lanes.
    let yq: [__m512; B] = y.map(|l| bytemuck::cast([l; 4]));
    // Lanes 0, 4, 8 and 12: each row's combined sum.
    let firsts: __m512i = bytemuck::cast([0u32, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let (z4, z_rest) = z.as_chunks_mut::<4>();
    let (b4, b_rest) = bias.as_chunks::<4>();
    for (q, g) in groups.iter().enumerate() {
        // From −0, as the generic decoder (see [`super::SUM_START`]).
        let mut a = splat(s, super::SUM_START);
        for b in 0..B {
            a = add(s, a, mul(s, row16(&g[b]), yq[b]));
        }
        // Per 128-bit lane: `[l0 + l2, l1 + l3, ..]`, then `(l0 + l2) +
        // (l1 + l3)` in its first lane (IEEE addition is commutative).
        let t = add(s, a, f._mm512_permute_ps::<0x4e>(a));
        let u = add(s, t, f._mm512_permute_ps::<0xb1>(t));
        let c: Lanes = bytemuck::cast(f._mm512_castps512_ps128(f._mm512_permutexvar_ps(firsts, u)));
        if let (Some(zq), Some(bq)) = (z4.get_mut(q), b4.get(q)) {
            *zq = (v4(bq) + F4::new(c)).to_array();
        } else {
            for ((zj, &bj), &cj) in z_rest.iter_mut().zip(b_rest).zip(&c) {
                *zj = bj + cj;
            }
        }
    }
    true
}

/// `mathx::sigmoid` of every value, sixteen lanes at a time, then as
/// `avx2::sigmoids` does the rest (all give the same bits).
#[inline(always)]
pub(super) fn sigmoids(s: V4, v: &mut [f32]) {
    let (v16, rest) = v.as_chunks_mut::<16>();
    for c in v16 {
        *c = bytemuck::cast(sigmoid16(s, bytemuck::cast(*c)));
    }
    super::avx2::sigmoids(*s, rest);
}

/// [`super::gradient`] with one register per row, the same bits: `g_k =
/// (Σ_j err_j·W[j][k])·y_k·(1 − y_k)` (from zero, in input order) for `k`
/// in `k0..k0 + H` of a bundle whose rows are `h` long.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn gradient<const H: usize>(
    k0: usize,
    s: V4,
    err: &[Row],
    w: &[Row],
    h: usize,
    y: &[Row],
    gh: &mut [Row],
) {
    let (Some(y), Some(out)) = (y.get(k0..k0 + H), gh.get_mut(k0..k0 + H)) else {
        return;
    };
    let mut acc = [s.avx512f._mm512_setzero_ps(); H];
    for (j, e) in err.iter().enumerate() {
        let Some(row) = super::weights::<H>(w, h, j, k0) else {
            break;
        };
        let e = row16(e);
        for k in 0..H {
            acc[k] = add(s, acc[k], mul(s, e, row16(&row[k])));
        }
    }
    let one = splat(s, 1.0);
    for ((o, a), y) in out.iter_mut().zip(acc).zip(y) {
        let y = row16(y);
        *o = bytemuck::cast(mul(s, mul(s, a, y), sub(s, one, y)));
    }
}

/// [`super::update`] with one register per row, the same bits: `W[j][k]
/// += lr·(x_j·g_k + err_j·y_k)` for `k` in `k0..k0 + H`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn update<const H: usize>(
    k0: usize,
    s: V4,
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
    let lr = splat(s, lr);
    for (j, (xj, ej)) in x.iter().zip(err).enumerate() {
        let Some(row) = w.get_mut(j * h + k0..j * h + k0 + H) else {
            break;
        };
        let (xj, ej) = (row16(xj), row16(ej));
        for k in 0..H {
            let t = add(s, mul(s, xj, row16(&gh[k])), mul(s, ej, row16(&y[k])));
            row[k] = bytemuck::cast(add(s, row16(&row[k]), mul(s, lr, t)));
        }
    }
}

/// `mathx::log_compress` on sixteen lanes, operation for operation: the
/// same exponent and mantissa bits, the same series in the same order, the
/// sign copied last.
#[inline(always)]
fn log_compress16(s: V4, x: __m512) -> __m512 {
    let (f, dq) = (s.avx512f, s.avx512dq);
    let sign = f._mm512_castsi512_ps(splat_i(s, i32::MIN));
    let one = splat(s, 1.0);
    // `1 + |x|`: `abs` clears the sign bit.
    let y = add(s, one, dq._mm512_andnot_ps(sign, x));
    let bits = f._mm512_castps_si512(y);
    let e = f._mm512_sub_epi32(
        f._mm512_and_si512(f._mm512_srli_epi32::<23>(bits), splat_i(s, 0xff)),
        splat_i(s, 127),
    );
    let m = f._mm512_castsi512_ps(f._mm512_or_si512(
        f._mm512_and_si512(bits, splat_i(s, 0x007f_ffff)),
        splat_i(s, 0x3f80_0000),
    ));
    let t = f._mm512_div_ps(sub(s, m, one), add(s, m, one));
    let t2 = mul(s, t, t);
    let p = add(s, splat(s, 1.0 / 7.0), mul(s, t2, splat(s, 1.0 / 9.0)));
    let p = add(s, splat(s, 0.2), mul(s, t2, p));
    let p = add(s, splat(s, 1.0 / 3.0), mul(s, t2, p));
    let p = add(s, one, mul(s, t2, p));
    let ln_m = mul(s, mul(s, splat(s, 2.0), t), p);
    let r = add(
        s,
        mul(s, f._mm512_cvtepi32_ps(e), splat(s, std::f32::consts::LN_2)),
        ln_m,
    );
    // `copysign(r, x)`.
    dq._mm512_or_ps(dq._mm512_andnot_ps(sign, r), dq._mm512_and_ps(sign, x))
}

/// `mathx::log_compress` of every value, sixteen at a time (`v.len()` a
/// multiple of sixteen; a shorter tail is left as it is).
#[inline(always)]
pub(super) fn compress_all(s: V4, v: &mut [f32]) {
    for c in v.as_chunks_mut::<16>().0 {
        *c = bytemuck::cast(log_compress16(s, bytemuck::cast(*c)));
    }
}

/// `super::clamp_scaled((v − lo)·inv)` on sixteen lanes: `vmaxps`, then
/// `vminps`, with the scalar code's operand order.
#[inline(always)]
fn scale16(s: V4, v: __m512, lo: __m512, inv: __m512) -> __m512 {
    let f = s.avx512f;
    let t = mul(s, sub(s, v, lo), inv);
    let t = f._mm512_max_ps(t, splat(s, -1000.0));
    f._mm512_min_ps(t, splat(s, 1000.0))
}

/// `super::Autoencoder::scale` on whole rows: `clamp_scaled((raw −
/// lo)·inv)` sixteen at a time ([`scale16`], the ensemble's scaling, the
/// same bits as the scalar code), the lanes past input `n` set to `+0`
/// (their `lo` and `inv` are 0, but a non-finite `raw` there would give
/// NaN). `raw` holds at least `x.len()` values.
#[inline(always)]
pub(super) fn scale_rows(s: V4, raw: &[f32], lo: &[Row], inv: &[Row], n: usize, x: &mut [f32]) {
    let f = s.avx512f;
    for (c, (((o, r), l), i)) in x
        .as_chunks_mut::<MEMBERS>()
        .0
        .iter_mut()
        .zip(raw.as_chunks::<MEMBERS>().0)
        .zip(lo)
        .zip(inv)
        .enumerate()
    {
        let v = scale16(s, row16(r), row16(l), row16(i));
        *o = bytemuck::cast(f._mm512_maskz_mov_ps(lanes_below(n, c), v));
    }
}

/// Lanes `l` of row `c` with `16·c + l < n`.
#[inline(always)]
fn lanes_below(n: usize, c: usize) -> u16 {
    match n.saturating_sub(c * MEMBERS) {
        k if k >= MEMBERS => u16::MAX,
        k => (1u16 << k) - 1,
    }
}

/// `super::Autoencoder::rmse` with the errors and their squares sixteen at
/// a time: `err = x − z` and `err²` per lane (the padding's set to `+0`),
/// then the first `n` squares summed one by one in input order from
/// `−0.0`, four terms a step as `Iterator::sum` over chunks of four does,
/// and `√(Σ / n)`. The buffers hold whole rows, at least `n` values.
#[inline(always)]
pub(super) fn rmse(s: V4, x: &[f32], z: &[f32], err: &mut [f32], sq: &mut [f32], n: usize) -> f32 {
    let f = s.avx512f;
    for (c, (((e, q), xr), zr)) in err
        .as_chunks_mut::<MEMBERS>()
        .0
        .iter_mut()
        .zip(sq.as_chunks_mut::<MEMBERS>().0)
        .zip(x.as_chunks::<MEMBERS>().0)
        .zip(z.as_chunks::<MEMBERS>().0)
        .enumerate()
    {
        let ev = f._mm512_maskz_mov_ps(lanes_below(n, c), sub(s, row16(xr), row16(zr)));
        *e = bytemuck::cast(ev);
        *q = bytemuck::cast(mul(s, ev, ev));
    }
    super::root_mean(sq.get(..n).unwrap_or(sq), n)
}

/// Where each member's RMSE lies in the per-bundle RMSE rows, as two
/// permutes over the first two rows (32 lanes): member `16·c + l` reads
/// lane `idx[c][l]` of the pair; lanes past the last member are set to
/// `+0`.
#[derive(Debug, Clone, Copy)]
pub(super) struct SlotPerm {
    idx: [[u32; MEMBERS]; 2],
    masks: [u16; 2],
}

impl SlotPerm {
    /// From [`super::Ensemble::rmse_slots`]; `None` when a slot lies past
    /// the first two bundles or there are more than 32 members (the
    /// caller then copies slot by slot).
    pub(super) fn new(slots: &[u32]) -> Option<Self> {
        if slots.len() > 2 * MEMBERS || slots.iter().any(|&i| i >= 2 * MEMBERS as u32) {
            return None;
        }
        let mut idx = [[0u32; MEMBERS]; 2];
        let mut masks = [0u16; 2];
        for (m, &i) in slots.iter().enumerate() {
            idx[m / MEMBERS][m % MEMBERS] = i;
            masks[m / MEMBERS] |= 1 << (m % MEMBERS);
        }
        Some(Self { idx, masks })
    }
}

/// The members' RMSEs from the per-bundle rows `rmse` into `errors` (whole
/// rows, at most two) by [`SlotPerm`]: the same values as the slot-by-slot
/// copy, `+0` past the last member.
#[inline(always)]
pub(super) fn collect_rmse(s: V4, p: &SlotPerm, rmse: &[Row], errors: &mut [f32]) {
    let f = s.avx512f;
    let zero = f._mm512_setzero_ps();
    let a = rmse.first().map_or(zero, row16);
    let b = rmse.get(1).map_or(zero, row16);
    for ((o, idx), &k) in errors
        .as_chunks_mut::<MEMBERS>()
        .0
        .iter_mut()
        .zip(&p.idx)
        .zip(&p.masks)
    {
        let idx: __m512i = bytemuck::cast(*idx);
        *o = bytemuck::cast(f._mm512_maskz_permutex2var_ps(k, a, idx, b));
    }
}

/// Tables of 32 features (two registers) a permute reads from: the
/// features buffer holds eight.
const PAIRS: usize = GATHER_SPAN / 32;

/// How one input row of the ensemble gathers its sixteen lanes from the
/// compressed features: `vpermt2ps` with `idx` picks lane `l` from feature
/// `32·p + idx[l] mod 32` of table pair `p`, and the lanes whose feature
/// lies in pair `p` (bit `l` of `masks[p]`) take that result.
#[derive(Debug, Clone, Copy)]
pub(super) struct PermRow {
    idx: [u32; MEMBERS],
    masks: [u16; PAIRS],
}

/// [`PermRow`]s of every input row, and how many table pairs hold a
/// gathered feature.
#[derive(Debug, Clone, Default)]
pub(super) struct Perm {
    rows: Vec<PermRow>,
    pairs: usize,
}

impl Perm {
    /// From the byte gather (`u8::MAX` in padding: such a lane is left 0,
    /// which is what the byte gather reads there, the buffer's last slot).
    pub(super) fn new(bytes: &[[u8; MEMBERS]]) -> Self {
        let mut pairs = 0;
        let rows = bytes
            .iter()
            .map(|g| {
                let mut masks = [0u16; PAIRS];
                for (l, &i) in g.iter().enumerate() {
                    if i != u8::MAX {
                        let p = usize::from(i >> 5);
                        masks[p] |= 1 << l;
                        pairs = pairs.max(p + 1);
                    }
                }
                PermRow {
                    idx: g.map(|i| u32::from(i & 31)),
                    masks,
                }
            })
            .collect();
        Self { rows, pairs }
    }
}

/// [`super::Ensemble::prepare`] with one register per row, the same bits:
/// gather into `raw`, scale into `x`. The gather reads the first `P`
/// table pairs of `features`, held in registers for all rows.
#[inline(always)]
fn prepare_pairs<const P: usize>(
    s: V4,
    perm: &[PermRow],
    features: &[f32; GATHER_SPAN],
    lo: &[Row],
    inv: &[Row],
    raw: &mut [Row],
    x: &mut [Row],
) {
    let f = s.avx512f;
    let tables: &[[[f32; 16]; 2]; PAIRS] = bytemuck::cast_ref(features);
    let t: [[__m512; 2]; P] = core::array::from_fn(|p| tables[p % PAIRS].map(bytemuck::cast));
    for ((((pr, l), i), r), o) in perm.iter().zip(lo).zip(inv).zip(raw).zip(x) {
        let idx: __m512i = bytemuck::cast(pr.idx);
        let mut v = f._mm512_setzero_ps();
        for (p, [a, b]) in t.iter().enumerate() {
            let g = f._mm512_permutex2var_ps(*a, idx, *b);
            v = f._mm512_mask_blend_ps(pr.masks[p % PAIRS], v, g);
        }
        *r = bytemuck::cast(v);
        *o = bytemuck::cast(scale16(s, v, row16(l), row16(i)));
    }
}

/// [`super::Ensemble::prepare`] with one register per row; see
/// [`prepare_pairs`].
#[inline(always)]
pub(super) fn prepare(
    s: V4,
    perm: &Perm,
    features: &[f32; GATHER_SPAN],
    lo: &[Row],
    inv: &[Row],
    raw: &mut [Row],
    x: &mut [Row],
) {
    let rows = &perm.rows;
    match perm.pairs {
        0 | 1 => prepare_pairs::<1>(s, rows, features, lo, inv, raw, x),
        2 => prepare_pairs::<2>(s, rows, features, lo, inv, raw, x),
        3 => prepare_pairs::<3>(s, rows, features, lo, inv, raw, x),
        4 => prepare_pairs::<4>(s, rows, features, lo, inv, raw, x),
        5 => prepare_pairs::<5>(s, rows, features, lo, inv, raw, x),
        6 => prepare_pairs::<6>(s, rows, features, lo, inv, raw, x),
        7 => prepare_pairs::<7>(s, rows, features, lo, inv, raw, x),
        _ => prepare_pairs::<8>(s, rows, features, lo, inv, raw, x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sixteen-lane compression is `mathx::log_compress` bit for bit:
    /// over every exponent with many mantissas, both signs, zeros,
    /// infinities, subnormals and NaN.
    #[test]
    fn log_compress16_is_the_scalar_bit_for_bit() {
        let Some(s) = V4::try_new() else {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        };
        let mut values: Vec<f32> = vec![0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        let mut bits = 0u32;
        // Every 4099th bit pattern: all exponents, both signs.
        while let Some(b) = bits.checked_add(4099) {
            values.push(f32::from_bits(b));
            bits = b;
        }
        let mut checked = 0usize;
        for c in values.chunks_exact(16) {
            let v: [f32; 16] = c.try_into().expect("sixteen");
            let got: [f32; 16] = bytemuck::cast(s.vectorize(
                #[inline(always)]
                || log_compress16(s, bytemuck::cast(v)),
            ));
            for (g, &x) in got.iter().zip(&v) {
                let want = crate::mathx::log_compress(x);
                assert_eq!(
                    g.to_bits(),
                    want.to_bits(),
                    "x = {x:e} ({:#x})",
                    x.to_bits()
                );
                checked += 1;
            }
        }
        assert!(checked > 1_000_000);
    }

    /// The sixteen-lane sigmoid is `mathx::sigmoid` bit for bit, from deep
    /// saturation on both sides through the clamps of `exp2`, and for
    /// zeros, infinities and NaN.
    #[test]
    fn sigmoid16_is_the_scalar_bit_for_bit() {
        let Some(s) = V4::try_new() else {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        };
        let mut values: Vec<f32> = vec![0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        let mut x = -300.0f32;
        while x < 300.0 {
            values.push(x);
            x += 0.0137;
        }
        values.extend([1e30, -1e30, 87.5, -87.5, 126.5, -126.5, f32::MIN_POSITIVE]);
        for c in values.chunks(16) {
            let mut v = [0.0f32; 16];
            v[..c.len()].copy_from_slice(c);
            let got: [f32; 16] = bytemuck::cast(s.vectorize(
                #[inline(always)]
                || sigmoid16(s, bytemuck::cast(v)),
            ));
            for (g, &x) in got.iter().zip(&v) {
                assert_eq!(g.to_bits(), crate::mathx::sigmoid(x).to_bits(), "x = {x:e}");
            }
        }
    }

    /// The permute gather reads what the byte gather reads, for every
    /// feature index in every lane (padding included), whatever the
    /// features hold.
    #[test]
    fn permute_gather_is_the_byte_gather() {
        let Some(s) = V4::try_new() else {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        };
        let mut features = [0.0f32; GATHER_SPAN];
        for (i, v) in features.iter_mut().enumerate().take(GATHER_SPAN - 1) {
            *v = (i as f32 + 1.0) * if i % 3 == 0 { -1.5 } else { 0.25 };
        }
        // Rows whose lanes read every index 0..=255 in turn, shifted per row.
        let bytes: Vec<[u8; MEMBERS]> = (0..GATHER_SPAN / 4)
            .map(|r| core::array::from_fn(|l| ((r * 7 + l * 17) % GATHER_SPAN) as u8))
            .collect();
        let perm = Perm::new(&bytes);
        assert_eq!(perm.pairs, PAIRS);
        let rows = bytes.len();
        let lo = vec![[0.0f32; MEMBERS]; rows];
        let inv = vec![[1.0f32; MEMBERS]; rows];
        let mut raw = vec![[f32::NAN; MEMBERS]; rows];
        let mut x = vec![[f32::NAN; MEMBERS]; rows];
        s.vectorize(
            #[inline(always)]
            || prepare(s, &perm, &features, &lo, &inv, &mut raw, &mut x),
        );
        for (g, r) in bytes.iter().zip(&raw) {
            for (&i, v) in g.iter().zip(r) {
                assert_eq!(v.to_bits(), features[usize::from(i)].to_bits(), "index {i}");
            }
        }
    }
}
