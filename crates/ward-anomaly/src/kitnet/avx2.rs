//! AVX2 kernels of KitNET: the same values, bit for bit, as the generic
//! ones in `kitnet.rs`.
//!
//! The ensemble's bundles hold sixteen members side by side (`Row`), so
//! half a row is one 256-bit register: [`forward_bundle`] is the generic
//! kernel's vertical arithmetic with one register per half row (a bundle
//! is done as two halves, one after the other), [`compress_all`]
//! log-compresses the features eight at a time and [`prepare`] gathers
//! and scales half a row at a time. The output
//! autoencoder keeps four hidden units per block; its encoder does two
//! adjacent blocks per register ([`encode_blocks`]). Every operation is an
//! IEEE add, subtract, multiply, divide, min or max per lane (no fused
//! multiply-add), in the order of the generic code, so every lane computes
//! the same bits; `Kernels::Baseline` against the default in the tests
//! checks it.
//!
//! Only compiled on x86-64; called only with a [`V3`] token, which `pulp`
//! hands out after checking that the CPU has AVX2 (and the other x86-64-v3
//! features), and only inside `V3::vectorize`, which compiles the inlined
//! code with those features. Everything here is `#[inline(always)]` for
//! that reason: a call that is not inlined would run code compiled without
//! them.

use core::arch::x86_64::__m256;

use pulp::x86::V3;

use super::{half, half_mut, mul_add, sigmoid4, v4, Half, Lanes, Row, V4, V8};
use crate::mathx::{C0, C1, C2, C3, C4, MAGIC};

/// Two adjacent rows as one register (an unaligned 256-bit load).
#[inline(always)]
fn pair(a: &[Lanes; 2]) -> __m256 {
    bytemuck::cast(*a)
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

/// Half `G` of a row of the ensemble (an unaligned 256-bit load).
#[inline(always)]
fn row8<const G: usize>(a: &Row) -> __m256 {
    bytemuck::cast(*half(a, G))
}

/// Stores `v` as half `G` of a row.
#[inline(always)]
fn store8<const G: usize>(a: &mut Row, v: __m256) {
    *half_mut(a, G) = bytemuck::cast::<__m256, Half>(v);
}

/// [`super::forward_bundle`] with one AVX2 register per half row (a lane
/// per member), the same bits: every lane takes the same operations in the
/// same order as the generic kernel's. `H ≤ 8`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn forward_bundle<const H: usize, const G: usize>(
    s: V3,
    x: &[Row],
    w: &[Row],
    hbias: &[Row],
    hmask: &[Row],
    vbias: &[Row],
    imask: &[Row],
    y: &mut [Row],
    err: &mut [Row],
) -> V8 {
    let (Ok(hb), Ok(hm), Ok(y)) = (
        <&[Row; H]>::try_from(hbias),
        <&[Row; H]>::try_from(hmask),
        <&mut [Row; H]>::try_from(y),
    ) else {
        return V8::ZERO;
    };
    let rows = w.as_chunks::<H>().0;
    // Encoder: `acc_k = bias_k + Σ_j x_j·W[j][k]` in input order.
    let mut acc: [__m256; H] = core::array::from_fn(|k| row8::<G>(&hb[k]));
    for (xj, row) in x.iter().zip(rows) {
        let xj = row8::<G>(xj);
        for k in 0..H {
            acc[k] = add(s, acc[k], mul(s, xj, row8::<G>(&row[k])));
        }
    }
    for k in 0..H {
        acc[k] = mul(s, sigmoid8(s, acc[k]), row8::<G>(&hm[k]));
        store8::<G>(&mut y[k], acc[k]);
    }
    // Decoder: per input row, hidden unit `k` into partial sum `k mod 4`,
    // combined as `(s0 + s2) + (s1 + s3)`, the bias added. The sums start
    // at −0 (see [`super::SUM_START`]).
    let start = splat(s, super::SUM_START);
    let mut sq = start;
    for ((((xj, row), b), m), e) in x.iter().zip(rows).zip(vbias).zip(imask).zip(err) {
        let mut p = [start; 4];
        for k in 0..H {
            p[k % 4] = add(s, p[k % 4], mul(s, row8::<G>(&row[k]), acc[k]));
        }
        let t = add(s, add(s, p[0], p[2]), add(s, p[1], p[3]));
        let z = sigmoid8(s, add(s, row8::<G>(b), t));
        let ev = mul(s, sub(s, row8::<G>(xj), z), row8::<G>(m));
        store8::<G>(e, ev);
        sq = add(s, sq, mul(s, ev, ev));
    }
    bytemuck::cast(sq)
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
fn gather8(s: V3, features: &[f32; super::GATHER_SPAN], g: &[u8; 8]) -> __m256 {
    let f = |i: u8| features[usize::from(i)];
    // Built in registers (a trip through a stack array would make the
    // 256-bit load wait for eight narrow stores it cannot forward).
    s.avx._mm256_setr_ps(
        f(g[0]),
        f(g[1]),
        f(g[2]),
        f(g[3]),
        f(g[4]),
        f(g[5]),
        f(g[6]),
        f(g[7]),
    )
}

/// `mathx::log_compress` of every value, eight at a time (`v.len()` a
/// multiple of eight; a shorter tail is left as it is).
#[inline(always)]
pub(super) fn compress_all(s: V3, v: &mut [f32]) {
    for c in v.as_chunks_mut::<8>().0 {
        *c = bytemuck::cast(log_compress8(s, bytemuck::cast(*c)));
    }
}

/// [`super::Ensemble::prepare`] with one register per half row, the same
/// bits: gather into `raw`, scale into `x`.
#[inline(always)]
pub(super) fn prepare(
    s: V3,
    gather: &[[u8; super::MEMBERS]],
    features: &[f32; super::GATHER_SPAN],
    lo: &[Row],
    inv: &[Row],
    raw: &mut [Row],
    x: &mut [Row],
) {
    for ((((g, l), i), r), o) in gather.iter().zip(lo).zip(inv).zip(raw).zip(x) {
        let [g0, g1]: &[[u8; 8]; 2] = bytemuck::cast_ref(g);
        let v = gather8(s, features, g0);
        store8::<0>(r, v);
        store8::<0>(o, scale8(s, v, row8::<0>(l), row8::<0>(i)));
        let v = gather8(s, features, g1);
        store8::<1>(r, v);
        store8::<1>(o, scale8(s, v, row8::<1>(l), row8::<1>(i)));
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
