//! Small numeric helpers: a fast deterministic sigmoid and a seeded generator.
//!
//! The autoencoders evaluate a few hundred sigmoids per packet; libm's `expf`
//! would cost more than the rest of the model. [`sigmoid`] computes `2^x` from
//! the exponent bits and a degree-4 polynomial (relative error < 3e-6), uses no
//! fused multiply-add and therefore gives the same bits on every x86-64 and
//! aarch64 build — determinism is part of the contract.

use bytemuck::cast;
use serde::{Deserialize, Serialize};
use wide::{f32x4, i32x4};

/// Coefficients of the degree-4 polynomial closest to `2^f` on
/// [-0.5, 0.5] in relative error (minimax, by the Remez exchange; maximum
/// relative error 2.6e-6). It replaced the degree-6 Taylor series (1e-8):
/// two multiply-adds fewer in every sigmoid, and the sigmoid stays within
/// 7e-7 of the logistic function, far below anything the autoencoders'
/// scores resolve.
pub(crate) const C0: f32 = 0.999_999_3;
pub(crate) const C1: f32 = 0.693_121_8;
pub(crate) const C2: f32 = 0.240_247_44;
pub(crate) const C3: f32 = 0.055_917_86;
pub(crate) const C4: f32 = 0.009_570_102;

/// 1.5·2²³: its ulp is 1, so adding it rounds to an integer (see
/// [`exp2_fast`]).
pub(crate) const MAGIC: f32 = 12_582_912.0;

/// `2^x` for `x` in roughly [-126, 126] (clamped).
///
/// Written so that a loop over it vectorises with plain SSE2 (the x86-64
/// baseline, no `target-cpu` needed): no float→int `as` cast (Rust's cast
/// saturates and checks NaN, which LLVM only emits as scalar code), but the
/// "magic number" rounding: adding 1.5·2²³ leaves `round(x)` in the low
/// mantissa bits, read back as an integer.
#[inline(always)]
fn exp2_fast(x: f32) -> f32 {
    // `if` rather than `clamp`: this form is exactly SSE's maxps/minps (one
    // instruction each), where `clamp`'s NaN rule costs a compare and three
    // logic operations per bound. A NaN becomes -126.
    let x = if x > -126.0 { x } else { -126.0 };
    let x = if x < 126.0 { x } else { 126.0 };
    let t = x + MAGIC;
    // round(x) (ties to even), exactly, as a float and as an integer.
    let r = t - MAGIC;
    let n = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    // f in [-0.5, 0.5], where the polynomial is accurate to 2.6e-6.
    let f = x - r;
    let p = C0 + f * (C1 + f * (C2 + f * (C3 + f * C4)));
    // n + 127 is the biased exponent, in [1, 253].
    let bits = (n.wrapping_add(127) as u32) << 23;
    p * f32::from_bits(bits)
}

/// [`exp2_fast`] on four lanes, operation for operation (so the same bits:
/// `fast_max`/`fast_min` are SSE's `maxps`/`minps`, the forms the scalar
/// clamps are written in; the integer steps wrap as the scalar ones do).
#[inline(always)]
fn exp2_fast4(x: f32x4) -> f32x4 {
    let x = x.fast_max(f32x4::splat(-126.0));
    let x = x.fast_min(f32x4::splat(126.0));
    let t = x + f32x4::splat(MAGIC);
    let r = t - f32x4::splat(MAGIC);
    let n = cast::<f32x4, i32x4>(t) - i32x4::splat(MAGIC.to_bits() as i32);
    let f = x - r;
    let c = |v: f32| f32x4::splat(v);
    let p = c(C0) + f * (c(C1) + f * (c(C2) + f * (c(C3) + f * c(C4))));
    let bits = (n + i32x4::splat(127)) << 23;
    p * cast::<i32x4, f32x4>(bits)
}

/// [`sigmoid`] on four lanes, with the same bits.
#[inline(always)]
pub(crate) fn sigmoid4(x: f32x4) -> f32x4 {
    // `x·(−log2 e)` is `(−x)·log2 e` exactly: IEEE multiplication is
    // symmetric in sign.
    f32x4::ONE / (f32x4::ONE + exp2_fast4(x * f32x4::splat(-std::f32::consts::LOG2_E)))
}

/// [`exp2_fast`] for callers outside this module.
#[inline]
pub(crate) fn exp2_approx(x: f32) -> f32 {
    exp2_fast(x)
}

/// `sign(x)·ln(1 + |x|)` without libm: exponent bits plus the atanh series
/// of the mantissa (error < 2e-6 relative + 1e-7 absolute, the rounding of `1 + |x|`). 130 of these per packet through
/// libm's `log1pf` cost more than the whole autoencoder ensemble. Non-finite
/// inputs give a finite value (callers sanitise NaN before).
#[inline(always)]
pub fn log_compress(x: f32) -> f32 {
    let y = 1.0 + x.abs();
    let bits = y.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let ln_m =
        2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    (e as f32 * std::f32::consts::LN_2 + ln_m).copysign(x)
}

/// Logistic function `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp2_fast(-x * std::f32::consts::LOG2_E))
}

/// SplitMix64: tiny, seedable, serialisable; quality is ample for weight
/// initialisation and reservoir sampling.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) for n > 0 (0 when n == 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_matches_libm() {
        let mut x = -30.0f32;
        while x < 30.0 {
            let exact = 1.0 / (1.0 + (-f64::from(x)).exp());
            let err = (f64::from(sigmoid(x)) - exact).abs();
            assert!(err < 1e-6, "x={x} err={err}");
            x += 0.013;
        }
        assert_eq!(sigmoid(-1e30), 0.0f32.max(sigmoid(-1e30)));
        assert!(sigmoid(f32::NAN).is_nan() || (0.0..=1.0).contains(&sigmoid(f32::NAN)));
    }

    #[test]
    fn four_lane_sigmoid_is_the_scalar_one_bit_for_bit() {
        let mut x = -200.0f32;
        while x < 200.0 {
            let lanes = [x, -x, x * 0.37, x * 1e-3];
            let got = sigmoid4(f32x4::new(lanes)).to_array();
            for (g, l) in got.iter().zip(lanes) {
                assert_eq!(g.to_bits(), sigmoid(l).to_bits(), "x={l}");
            }
            x += 0.0173;
        }
        for l in [0.0, -0.0, 1e30, -1e30, f32::MIN_POSITIVE, 126.5, -126.5] {
            let got = sigmoid4(f32x4::splat(l)).to_array()[0];
            assert_eq!(got.to_bits(), sigmoid(l).to_bits(), "x={l}");
        }
    }

    #[test]
    fn log_compress_matches_libm() {
        let mut x = -1e7f32;
        while x < 1e7 {
            let exact = f64::from(x).abs().ln_1p().copysign(f64::from(x));
            let got = f64::from(log_compress(x));
            assert!(
                (got - exact).abs() <= 2e-6 * exact.abs() + 1e-7,
                "x={x}: {got} vs {exact}"
            );
            x = if x.abs() < 1e-3 {
                -x + 1e-3
            } else if x < 0.0 {
                x * 0.93
            } else {
                x * 1.07
            };
        }
        assert_eq!(log_compress(0.0), 0.0);
        assert!(log_compress(f32::INFINITY).is_finite());
    }

    #[test]
    fn rng_is_deterministic() {
        let a: Vec<u64> = {
            let mut r = Rng::new(5);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::new(5);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
