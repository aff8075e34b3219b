//! Runtime dispatch to loops compiled for the CPU's vector units, with a portable fallback.
//!
//! A hot loop is written once, generic over [`MulAdd`] (how `a * b + c` is computed), as a
//! [`FusedKernel`]. [`run_fused`] runs it compiled with AVX2 and FMA when the CPU has them, where
//! `F::mul_add` is one fused instruction and plain element-wise loops vectorise, and otherwise
//! with the fallback the caller picks: [`Unfused`] (a multiply then an add: fast, but rounded
//! twice, so results differ from the FMA path in the last bits) or an exact emulation (the
//! optimizers use one so that every machine computes the same bits).
//!
//! The choice depends only on the CPU, never on the thread count, so the determinism contract
//! (same bits on 1 or many threads) holds on every machine.
//!
//! ```
//! use gradwork_tensor::simd::{run_fused, FusedKernel, MulAdd, Unfused};
//!
//! struct Axpy<'a> { alpha: f32, x: &'a [f32], y: &'a mut [f32] }
//! impl FusedKernel for Axpy<'_> {
//!     #[inline(always)]
//!     fn run<F: MulAdd>(&mut self) {
//!         for (y, &x) in self.y.iter_mut().zip(self.x) {
//!             *y = F::mul_add(self.alpha, x, *y);
//!         }
//!     }
//! }
//! let mut y = vec![1.0; 4];
//! run_fused::<_, Unfused>(&mut Axpy { alpha: 2.0, x: &[1.0, 2.0, 3.0, 4.0], y: &mut y });
//! assert_eq!(y, vec![3.0, 5.0, 7.0, 9.0]);
//! ```

/// How a kernel computes `a * b + c`.
pub trait MulAdd {
    /// `a * b + c`.
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// `f32::mul_add`: one fused instruction (single rounding) inside a function compiled with the
/// FMA feature, and on targets where FMA is baseline (aarch64); elsewhere a libm call.
pub struct Fused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// A multiply then an add, each rounded: the fast fallback for CPUs without FMA.
pub struct Unfused;

impl MulAdd for Unfused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// A loop generic over how it multiplies and adds. Implementations mark `run`
/// `#[inline(always)]` so that it is compiled inside [`run_fused`]'s feature-enabled copy.
pub trait FusedKernel {
    /// Runs the loop.
    fn run<F: MulAdd>(&mut self);
}

/// Whether [`run_fused`] takes the AVX2+FMA path on this CPU.
pub fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Runs `kernel` with [`Fused`] compiled for AVX2+FMA when the CPU has them (with [`Fused`] on
/// aarch64, where FMA is baseline), else with the `Fallback` multiply-add.
pub fn run_fused<K: FusedKernel, Fallback: MulAdd>(kernel: &mut K) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_fma() {
            #[allow(unsafe_code)]
            // SAFETY: the CPU supports AVX2 and FMA (checked just above), the only precondition
            // of calling a function compiled with those target features.
            unsafe {
                run_with_avx2_fma(kernel)
            };
            return;
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        kernel.run::<Fused>();
        return;
    }
    #[allow(unreachable_code)]
    kernel.run::<Fallback>();
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_with_avx2_fma<K: FusedKernel>(kernel: &mut K) {
    kernel.run::<Fused>();
}
