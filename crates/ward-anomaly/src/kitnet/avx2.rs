//! Eight-lane (AVX2) forward pass of one ensemble bundle: the same values,
//! bit for bit, as [`super::forward_bundle`].
//!
//! The bundle layout stays four lanes (one member per lane); a 256-bit
//! register holds two adjacent rows. In the encoder, hidden rows `2p` and
//! `2p + 1` of a weight row are adjacent in memory and share the input, so
//! one load, one multiply and one add serve both. In the decoder the four
//! partial sums `s0..s3` of [`super::dot4`] live as `s0|s1` (hidden rows
//! `k mod 4 ∈ {0, 1}`) and `s2|s3`; each half takes exactly the products,
//! in exactly the order, that its four-lane accumulator takes, and
//! `(s0 + s2) + (s1 + s3)` is the two registers added, then their halves.
//! Two input rows then share one eight-lane sigmoid, error and mask. Every
//! operation is an IEEE add, subtract, multiply, divide, min or max per lane
//! (no fused multiply-add), in the order of the four-lane code, so every
//! lane computes the same bits; `Kernels::Baseline` against the default in
//! the tests checks it.
//!
//! Only compiled on x86-64; called only with a [`V3`] token, which `pulp`
//! hands out after checking that the CPU has AVX2 (and the other x86-64-v3
//! features), and only inside `V3::vectorize`, which compiles the inlined
//! code with those features. Everything here is `#[inline(always)]` for
//! that reason: a call that is not inlined would run code compiled without
//! them.

use core::arch::x86_64::{__m128, __m256};

use pulp::x86::V3;

use super::{mul_add, sigmoid4, v4, Lanes, V4};
use crate::mathx::{C0, C1, C2, C3, C4, MAGIC};

/// Two adjacent rows as one register (an unaligned 256-bit load).
#[inline(always)]
fn pair(a: &[Lanes; 2]) -> __m256 {
    bytemuck::cast(*a)
}

#[inline(always)]
fn to_m128(v: V4) -> __m128 {
    bytemuck::cast(v)
}

#[inline(always)]
fn to_v4(v: __m128) -> V4 {
    bytemuck::cast(v)
}

#[inline(always)]
fn add(s: V3, a: __m256, b: __m256) -> __m256 {
    s.avx._mm256_add_ps(a, b)
}

#[inline(always)]
fn sub(s: V3, a: __m256, b: __m256) -> __m256 {
    s.avx._mm256_sub_ps(a, b)
}

#[inline(always)]
fn mul(s: V3, a: __m256, b: __m256) -> __m256 {
    s.avx._mm256_mul_ps(a, b)
}

#[inline(always)]
fn splat(s: V3, v: f32) -> __m256 {
    s.avx._mm256_set1_ps(v)
}

#[inline(always)]
fn low(s: V3, a: __m256) -> V4 {
    to_v4(s.avx._mm256_castps256_ps128(a))
}

#[inline(always)]
fn high(s: V3, a: __m256) -> V4 {
    to_v4(s.avx._mm256_extractf128_ps::<1>(a))
}

/// `mathx::exp2_fast4` on eight lanes, operation for operation: `maxps`
/// and `minps` with the same operand order (`fast_max`/`fast_min`), the
/// same magic-number rounding and integer steps, the same polynomial.
#[inline(always)]
fn exp2_8(s: V3, x: __m256) -> __m256 {
    let x = s.avx._mm256_max_ps(x, splat(s, -126.0));
    let x = s.avx._mm256_min_ps(x, splat(s, 126.0));
    let t = add(s, x, splat(s, MAGIC));
    let r = sub(s, t, splat(s, MAGIC));
    let n = s.avx2._mm256_sub_epi32(
        s.avx._mm256_castps_si256(t),
        s.avx._mm256_set1_epi32(MAGIC.to_bits() as i32),
    );
    let f = sub(s, x, r);
    let p = mul(s, f, splat(s, C4));
    let p = mul(s, f, add(s, splat(s, C3), p));
    let p = mul(s, f, add(s, splat(s, C2), p));
    let p = mul(s, f, add(s, splat(s, C1), p));
    let p = add(s, splat(s, C0), p);
    let bits = s
        .avx2
        ._mm256_slli_epi32::<23>(s.avx2._mm256_add_epi32(n, s.avx._mm256_set1_epi32(127)));
    mul(s, p, s.avx._mm256_castsi256_ps(bits))
}

/// `mathx::sigmoid4` on eight lanes.
#[inline(always)]
fn sigmoid8(s: V3, x: __m256) -> __m256 {
    let one = splat(s, 1.0);
    let e = exp2_8(s, mul(s, x, splat(s, -std::f32::consts::LOG2_E)));
    s.avx._mm256_div_ps(one, add(s, one, e))
}

/// `t = s01 + s23` for one weight row: its halves added give
/// [`super::dot4`]'s `combine` of the row's partial sums (without the
/// bias). `acc` holds the hidden units in pairs, `tail` the last one when
/// `H` is odd.
#[inline(always)]
fn row_sums<const H: usize>(s: V3, row: &[Lanes; H], acc: &[__m256; H], tail: V4) -> __m256 {
    let zero = splat(s, 0.0);
    let (mut s01, mut s23) = (zero, zero);
    let (r2, r1) = row.as_chunks::<2>();
    for (p, (r, a)) in r2.iter().zip(acc).enumerate() {
        // Hidden rows 2p, 2p + 1 go to partial sums 2p mod 4, 2p mod 4 + 1.
        if p % 2 == 0 {
            s01 = add(s, s01, mul(s, pair(r), *a));
        } else {
            s23 = add(s, s23, mul(s, pair(r), *a));
        }
    }
    if let Some(r) = r1.first() {
        // The last hidden row, H − 1 (even), goes to sum (H − 1) mod 4:
        // the low half of s01 or of s23, as its last term.
        if (H - 1).is_multiple_of(4) {
            let lo = mul_add(low(s, s01), v4(r), tail);
            s01 = s.avx._mm256_insertf128_ps::<0>(s01, to_m128(lo));
        } else {
            let lo = mul_add(low(s, s23), v4(r), tail);
            s23 = s.avx._mm256_insertf128_ps::<0>(s23, to_m128(lo));
        }
    }
    add(s, s01, s23)
}

/// [`super::forward_bundle`] on eight lanes, the same bits. `H ≤ 8`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn forward_bundle<const H: usize>(
    s: V3,
    x: &[Lanes],
    w: &[Lanes],
    hbias: &[Lanes],
    hmask: &[Lanes],
    vbias: &[Lanes],
    imask: &[Lanes],
    y: &mut [Lanes],
    err: &mut [Lanes],
) -> V4 {
    let (Ok(hb), Ok(hm), Ok(y)) = (
        <&[Lanes; H]>::try_from(hbias),
        <&[Lanes; H]>::try_from(hmask),
        <&mut [Lanes; H]>::try_from(y),
    ) else {
        return V4::ZERO;
    };
    let rows = w.as_chunks::<H>().0;
    // Encoder: hidden rows in pairs (only the first H / 2 entries of `acc`
    // are used; an array of H keeps the length a plain constant), the last
    // one alone when H is odd.
    let mut acc = [splat(s, 0.0); H];
    let (hb2, hb1) = hb.as_chunks::<2>();
    for (a, b) in acc.iter_mut().zip(hb2) {
        *a = pair(b);
    }
    let mut tail = hb1.first().map_or(V4::ZERO, v4);
    for (xj, row) in x.iter().zip(rows) {
        let x4 = to_m128(v4(xj));
        let xb = s.avx._mm256_broadcast_ps(&x4);
        let (r2, r1) = row.as_chunks::<2>();
        for (a, r) in acc.iter_mut().zip(r2) {
            *a = add(s, *a, mul(s, xb, pair(r)));
        }
        if let Some(r) = r1.first() {
            tail = mul_add(tail, v4(xj), v4(r));
        }
    }
    let (hm2, hm1) = hm.as_chunks::<2>();
    let (y2, y1) = y.as_chunks_mut::<2>();
    for ((a, m), o) in acc.iter_mut().zip(hm2).zip(y2.iter_mut()) {
        *a = mul(s, sigmoid8(s, *a), pair(m));
        *o = bytemuck::cast(*a);
    }
    if let (Some(m), Some(o)) = (hm1.first(), y1.first_mut()) {
        tail = sigmoid4(tail) * v4(m);
        *o = tail.to_array();
    }
    // Decoder, two input rows at a time.
    let mut sq = V4::ZERO;
    let (x2, x1) = x.as_chunks::<2>();
    let (w2, w1) = rows.as_chunks::<2>();
    let (b2, b1) = vbias.as_chunks::<2>();
    let (m2, m1) = imask.as_chunks::<2>();
    let (e2, e1) = err.as_chunks_mut::<2>();
    for ((((xp, [ra, rb]), bp), mp), ep) in x2.iter().zip(w2).zip(b2).zip(m2).zip(e2.iter_mut()) {
        let ta = row_sums(s, ra, &acc, tail);
        let tb = row_sums(s, rb, &acc, tail);
        let lo = s.avx._mm256_permute2f128_ps::<0x20>(ta, tb);
        let hi = s.avx._mm256_permute2f128_ps::<0x31>(ta, tb);
        let z = sigmoid8(s, add(s, pair(bp), add(s, lo, hi)));
        let ev = mul(s, sub(s, pair(xp), z), pair(mp));
        *ep = bytemuck::cast(ev);
        let ev2 = mul(s, ev, ev);
        sq += low(s, ev2);
        sq += high(s, ev2);
    }
    // An odd last row: four lanes.
    if let (Some(xj), Some(row), Some(b), Some(m), Some(e)) = (
        x1.first(),
        w1.first(),
        b1.first(),
        m1.first(),
        e1.first_mut(),
    ) {
        let t = row_sums(s, row, &acc, tail);
        let z = sigmoid4(v4(b) + (low(s, t) + high(s, t)));
        let ev = (v4(xj) - z) * v4(m);
        *e = ev.to_array();
        sq = mul_add(sq, ev, ev);
    }
    sq
}

/// [`super::encode_blocks`] on eight lanes, then the sigmoid: `y =
/// sigmoid(bias + Σ_j x_j·W[j])`, the same bits. Blocks `2p` and `2p + 1`
/// of a weight row are adjacent and take the same input, so one register
/// holds both; the last block alone when `B` is odd.
#[inline(always)]
pub(super) fn encode_blocks<const B: usize>(
    s: V3,
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
    // Only the first B / 2 entries of `acc` are used (an array of B keeps
    // the length a plain constant).
    let mut acc = [splat(s, 0.0); B];
    let (b2, b1) = bias.as_chunks::<2>();
    for (a, b) in acc.iter_mut().zip(b2) {
        *a = pair(b);
    }
    let mut tail = b1.first().map_or(V4::ZERO, v4);
    for (&xj, row) in x.iter().zip(w.as_chunks::<B>().0) {
        let xb = splat(s, xj);
        let (r2, r1) = row.as_chunks::<2>();
        for (a, r) in acc.iter_mut().zip(r2) {
            *a = add(s, *a, mul(s, xb, pair(r)));
        }
        if let Some(r) = r1.first() {
            tail = mul_add(tail, V4::splat(xj), v4(r));
        }
    }
    let (y2, y1) = y.as_chunks_mut::<2>();
    for (a, o) in acc.iter().zip(y2.iter_mut()) {
        *o = bytemuck::cast(sigmoid8(s, *a));
    }
    if let Some(o) = y1.first_mut() {
        *o = sigmoid4(tail).to_array();
    }
}

/// `mathx::sigmoid` of every value, eight lanes at a time, then four, then
/// one (all three give the same bits).
#[inline(always)]
pub(super) fn sigmoids(s: V3, v: &mut [f32]) {
    let (v8, rest) = v.as_chunks_mut::<8>();
    for c in v8 {
        *c = bytemuck::cast(sigmoid8(s, bytemuck::cast(*c)));
    }
    let (v4s, rest) = rest.as_chunks_mut::<4>();
    for c in v4s {
        *c = sigmoid4(v4(c)).to_array();
    }
    for c in rest {
        *c = crate::mathx::sigmoid(*c);
    }
}

/// `mathx::log_compress` on eight lanes, operation for operation: the
/// same exponent and mantissa bits, the same series in the same order, the
/// sign copied last.
#[inline(always)]
fn log_compress8(s: V3, x: __m256) -> __m256 {
    let sign = s.avx._mm256_castsi256_ps(s.avx._mm256_set1_epi32(i32::MIN));
    let one = splat(s, 1.0);
    // `1 + |x|`: `abs` clears the sign bit.
    let y = add(s, one, s.avx._mm256_andnot_ps(sign, x));
    let bits = s.avx._mm256_castps_si256(y);
    let e = s.avx2._mm256_sub_epi32(
        s.avx2._mm256_and_si256(
            s.avx2._mm256_srli_epi32::<23>(bits),
            s.avx._mm256_set1_epi32(0xff),
        ),
        s.avx._mm256_set1_epi32(127),
    );
    let m = s.avx._mm256_castsi256_ps(
        s.avx2._mm256_or_si256(
            s.avx2
                ._mm256_and_si256(bits, s.avx._mm256_set1_epi32(0x007f_ffff)),
            s.avx._mm256_set1_epi32(0x3f80_0000),
        ),
    );
    let t = s.avx._mm256_div_ps(sub(s, m, one), add(s, m, one));
    let t2 = mul(s, t, t);
    let p = add(s, splat(s, 1.0 / 7.0), mul(s, t2, splat(s, 1.0 / 9.0)));
    let p = add(s, splat(s, 0.2), mul(s, t2, p));
    let p = add(s, splat(s, 1.0 / 3.0), mul(s, t2, p));
    let p = add(s, one, mul(s, t2, p));
    let ln_m = mul(s, mul(s, splat(s, 2.0), t), p);
    let r = add(
        s,
        mul(
            s,
            s.avx._mm256_cvtepi32_ps(e),
            splat(s, std::f32::consts::LN_2),
        ),
        ln_m,
    );
    // `copysign(r, x)`.
    s.avx._mm256_or_ps(
        s.avx._mm256_andnot_ps(sign, r),
        s.avx._mm256_and_ps(sign, x),
    )
}

/// `super::clamp_scaled((v − lo)·inv)` on eight lanes: `maxps`, then
/// `minps`, with the scalar code's operand order.
#[inline(always)]
fn scale8(s: V3, v: __m256, lo: __m256, inv: __m256) -> __m256 {
    let t = mul(s, sub(s, v, lo), inv);
    let t = s.avx._mm256_max_ps(t, splat(s, -1000.0));
    s.avx._mm256_min_ps(t, splat(s, 1000.0))
}

/// Eight features by byte index (no bounds check: a byte indexes the
/// fixed-size buffer).
#[inline(always)]
fn gather8(s: V3, features: &[f32; super::GATHER_SPAN], g: &[[u8; 4]; 2]) -> __m256 {
    let [a, b] = g;
    let f = |i: u8| features[usize::from(i)];
    // Built in registers (a trip through a stack array would make the
    // 256-bit load wait for eight narrow stores it cannot forward).
    s.avx._mm256_setr_ps(
        f(a[0]),
        f(a[1]),
        f(a[2]),
        f(a[3]),
        f(b[0]),
        f(b[1]),
        f(b[2]),
        f(b[3]),
    )
}

/// [`super::Ensemble::prepare`] on eight lanes (two rows at a time), the
/// same bits: gather, `log_compress` into `raw`, scale into `x`.
#[inline(always)]
pub(super) fn prepare(
    s: V3,
    gather: &[[u8; 4]],
    features: &[f32; super::GATHER_SPAN],
    lo: &[Lanes],
    inv: &[Lanes],
    raw: &mut [Lanes],
    x: &mut [Lanes],
) {
    let (g2, g1) = gather.as_chunks::<2>();
    let (l2, l1) = lo.as_chunks::<2>();
    let (i2, i1) = inv.as_chunks::<2>();
    let (r2, r1) = raw.as_chunks_mut::<2>();
    let (x2, x1) = x.as_chunks_mut::<2>();
    for ((((g, l), i), r), o) in g2.iter().zip(l2).zip(i2).zip(r2).zip(x2) {
        let v = log_compress8(s, gather8(s, features, g));
        *r = bytemuck::cast(v);
        *o = bytemuck::cast(scale8(s, v, pair(l), pair(i)));
    }
    // An odd last row: four lanes, scalar compression.
    if let (Some(g), Some(l), Some(i), Some(r), Some(o)) = (
        g1.first(),
        l1.first(),
        i1.first(),
        r1.first_mut(),
        x1.first_mut(),
    ) {
        *r = g.map(|k| crate::mathx::log_compress(features[usize::from(k)]));
        for k in 0..4 {
            o[k] = super::clamp_scaled((r[k] - l[k]) * i[k]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The eight-lane compression is `mathx::log_compress` bit for bit: over
    /// every exponent with many mantissas, both signs, zeros, infinities,
    /// subnormals and NaN.
    #[test]
    fn log_compress8_is_the_scalar_bit_for_bit() {
        let Some(s) = V3::try_new() else {
            eprintln!("skipped: this CPU has no AVX2");
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
        for c in values.chunks_exact(8) {
            let v: [f32; 8] = c.try_into().expect("eight");
            let got: [f32; 8] = bytemuck::cast(s.vectorize(
                #[inline(always)]
                || log_compress8(s, bytemuck::cast(v)),
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
}
