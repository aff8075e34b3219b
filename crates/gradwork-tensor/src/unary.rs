//! Elementwise functions of one tensor and of a tensor and a scalar.

use std::marker::PhantomData;

use crate::par::{fill_chunks, ELEMENTWISE_CHUNK};
use crate::simd::{has_fma, run_fused, Fused, FusedKernel, MulAdd, Unfused};
use crate::special::erf;
use crate::tensor::{Elem, Tensor};
use crate::vmath;

/// sqrt(2/pi), for the tanh approximation of GELU.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

impl Tensor {
    /// Applies `f` to every element; the result is contiguous. Large tensors are processed in
    /// parallel in fixed chunks (elementwise work rounds the same on any thread count).
    pub fn map(&self, f: impl Fn(Elem) -> Elem + Sync + Send) -> Tensor {
        let mut out = crate::buffer::scratch(self.numel());
        match self.as_slice() {
            Some(input) => fill_chunks(&mut out, ELEMENTWISE_CHUNK, |start, chunk| {
                let src = &input[start..start + chunk.len()];
                for (o, &x) in chunk.iter_mut().zip(src) {
                    *o = f(x);
                }
            }),
            None => {
                let layout = &self.layout;
                let storage = &self.storage;
                fill_chunks(&mut out, ELEMENTWISE_CHUNK, |start, chunk| {
                    for (k, o) in chunk.iter_mut().enumerate() {
                        *o = f(storage[layout.index_of_flat(start + k)]);
                    }
                })
            }
        }
        Tensor::from_vec(out, self.shape())
    }

    /// [`Tensor::map`] for a function of [`crate::vmath`], compiled for the CPU's vector unit
    /// (through [`run_fused`]) so that the loop vectorises.
    fn map_vectorised<K: ElementFn>(&self) -> Tensor {
        let Some(input) = self.as_slice() else {
            return self.contiguous().map_vectorised::<K>();
        };
        let mut out = crate::buffer::scratch(self.numel());
        fill_chunks(&mut out, ELEMENTWISE_CHUNK, |start, chunk| {
            let src = &input[start..start + chunk.len()];
            run_fused::<_, Unfused>(&mut ApplyElementwise::<K> {
                src,
                dst: chunk,
                function: PhantomData,
            });
        });
        Tensor::from_vec(out, self.shape())
    }

    /// `-x`.
    pub fn neg(&self) -> Tensor {
        self.map(|x| -x)
    }
    /// `|x|`.
    pub fn abs(&self) -> Tensor {
        self.map(f32::abs)
    }
    /// `e^x`.
    pub fn exp(&self) -> Tensor {
        self.map(f32::exp)
    }
    /// The natural logarithm.
    pub fn ln(&self) -> Tensor {
        self.map(f32::ln)
    }
    /// The natural logarithm (alias of [`Tensor::ln`], PyTorch's name).
    pub fn log(&self) -> Tensor {
        self.ln()
    }
    /// The square root.
    pub fn sqrt(&self) -> Tensor {
        self.map(f32::sqrt)
    }
    /// `x * x`.
    pub fn square(&self) -> Tensor {
        self.map(|x| x * x)
    }
    /// `1 / x`.
    pub fn recip(&self) -> Tensor {
        self.map(|x| 1.0 / x)
    }
    /// `x^exponent`, with integer exponents computed exactly by `powi`.
    pub fn powf(&self, exponent: Elem) -> Tensor {
        if exponent.fract() == 0.0 && exponent.abs() <= 64.0 {
            let n = exponent as i32;
            self.map(move |x| x.powi(n))
        } else {
            self.map(move |x| x.powf(exponent))
        }
    }
    /// -1, 0 or 1 by the sign of `x` (0 for both zeros; NaN stays NaN).
    pub fn sign(&self) -> Tensor {
        self.map(|x| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x * 0.0
            }
        })
    }
    /// The logistic function `1 / (1 + e^-x)`, computed without overflow for any `x` (within 3
    /// ulp; vectorised, see [`crate::vmath`]).
    pub fn sigmoid(&self) -> Tensor {
        self.map_vectorised::<SigmoidFn>()
    }
    /// The hyperbolic tangent (within 3 ulp; vectorised, see [`crate::vmath`]).
    pub fn tanh(&self) -> Tensor {
        self.map_vectorised::<TanhFn>()
    }
    /// `max(x, 0)`; NaN propagates (as in PyTorch) so a NaN guard downstream still sees it.
    pub fn relu(&self) -> Tensor {
        self.map(crate::epilogue::relu)
    }
    /// `x` when positive, else `negative_slope * x`.
    pub fn leaky_relu(&self, negative_slope: Elem) -> Tensor {
        self.map(move |x| if x > 0.0 { x } else { negative_slope * x })
    }
    /// GELU with the exact Gaussian CDF: `0.5 x (1 + erf(x / sqrt 2))` (PyTorch's default).
    pub fn gelu(&self) -> Tensor {
        self.map(gelu_erf)
    }
    /// GELU with the tanh approximation `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    pub fn gelu_tanh(&self) -> Tensor {
        self.map(gelu_tanh)
    }
    /// Each element limited to `[min, max]`.
    pub fn clamp(&self, min: Elem, max: Elem) -> Tensor {
        self.map(move |x| x.max(min).min(max))
    }
    /// The sine.
    pub fn sin(&self) -> Tensor {
        self.map(f32::sin)
    }
    /// The cosine.
    pub fn cos(&self) -> Tensor {
        self.map(f32::cos)
    }
    /// `x + value`.
    pub fn add_scalar(&self, value: Elem) -> Tensor {
        self.map(move |x| x + value)
    }
    /// `x - value`.
    pub fn sub_scalar(&self, value: Elem) -> Tensor {
        self.map(move |x| x - value)
    }
    /// `x * value`.
    pub fn mul_scalar(&self, value: Elem) -> Tensor {
        self.map(move |x| x * value)
    }
    /// `x / value`.
    pub fn div_scalar(&self, value: Elem) -> Tensor {
        self.map(move |x| x / value)
    }
    /// 1 where `x` is finite, else 0.
    pub fn is_finite_mask(&self) -> Tensor {
        self.map(|x| if x.is_finite() { 1.0 } else { 0.0 })
    }
    /// True when every element is finite (no NaN or infinity).
    pub fn all_finite(&self) -> bool {
        match self.as_slice() {
            Some(s) => s.iter().all(|x| x.is_finite()),
            None => self.to_vec().iter().all(|x| x.is_finite()),
        }
    }
}

/// The logistic function, stable for large |x|, with the same bits as [`Tensor::sigmoid`].
pub fn sigmoid(x: Elem) -> Elem {
    // The multiply-add that `Tensor::sigmoid`'s vectorised loop uses on this CPU.
    if has_fma() {
        vmath::sigmoid::<Fused>(x)
    } else {
        vmath::sigmoid::<Unfused>(x)
    }
}

/// A function of one element that [`Tensor::map_vectorised`] applies.
trait ElementFn {
    fn apply<F: MulAdd>(x: Elem) -> Elem;
}

struct SigmoidFn;

impl ElementFn for SigmoidFn {
    #[inline(always)]
    fn apply<F: MulAdd>(x: Elem) -> Elem {
        vmath::sigmoid::<F>(x)
    }
}

struct TanhFn;

impl ElementFn for TanhFn {
    #[inline(always)]
    fn apply<F: MulAdd>(x: Elem) -> Elem {
        vmath::tanh::<F>(x)
    }
}

/// `dst[i] = K(src[i])`, as a [`FusedKernel`].
struct ApplyElementwise<'a, K> {
    src: &'a [Elem],
    dst: &'a mut [Elem],
    function: PhantomData<K>,
}

impl<K: ElementFn> FusedKernel for ApplyElementwise<'_, K> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        for (d, &x) in self.dst.iter_mut().zip(self.src) {
            *d = K::apply::<F>(x);
        }
    }
}

/// GELU with the exact CDF, evaluated in f64.
pub fn gelu_erf(x: Elem) -> Elem {
    let x = x as f64;
    (0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))) as Elem
}

/// GELU with the tanh approximation.
pub fn gelu_tanh(x: Elem) -> Elem {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)).tanh())
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn sigmoid_saturates_without_nan() {
        let t = Tensor::from_vec(vec![-1000.0, -20.0, 0.0, 20.0, 1000.0], &[5]).sigmoid();
        let v = t.to_vec();
        assert_eq!(v[0], 0.0);
        assert_eq!(v[2], 0.5);
        assert_eq!(v[4], 1.0);
        assert!(v.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn relu_propagates_nan() {
        let r = Tensor::from_vec(vec![f32::NAN, -1.0, 2.0], &[3])
            .relu()
            .to_vec();
        assert!(r[0].is_nan());
        assert_eq!(&r[1..], &[0.0, 2.0]);
    }

    #[test]
    fn unary_ops_work_on_strided_views() {
        let a = Tensor::from_fn(&[2, 3], |i| i as f32 - 2.0);
        let t = a.t();
        assert_eq!(t.relu().to_vec(), vec![0.0, 1.0, 0.0, 2.0, 0.0, 3.0]);
        assert_eq!(t.abs().to_vec(), vec![2.0, 1.0, 1.0, 2.0, 0.0, 3.0]);
    }

    #[test]
    fn gelu_matches_known_values() {
        // torch.nn.functional.gelu(torch.tensor([-1., 0.5, 2.]))
        let g = Tensor::from_vec(vec![-1.0, 0.5, 2.0], &[3]).gelu().to_vec();
        let want = [-0.158_655_26, 0.345_731_14, 1.954_499_7];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
