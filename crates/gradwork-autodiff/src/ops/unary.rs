//! Elementwise ops of one variable: `y = f(x)`, backward `g * f'(x)`.

use gradwork_tensor::{Elem, Tensor};

use crate::error::{or_panic, Result};
use crate::var::Var;

/// 1/sqrt(2 pi), for the Gaussian density in GELU's derivative.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

/// Records a unary op whose gradient is `g * d(x, y)` elementwise.
fn unary(
    x: &Var,
    name: &'static str,
    value: Tensor,
    derivative: impl Fn(Elem, Elem) -> Elem + Send + Sync + Copy + 'static,
) -> Result<Var> {
    let input = x.value().clone();
    let output = value.clone();
    Var::from_op(name, &[x], value, move || {
        move |g: &Tensor, _: &[bool]| {
            // The upstream gradient times d/dx evaluated at (x, y), in one pass: the same
            // products as building the tensor of derivatives first, without it.
            let grad =
                g.try_zip3_map(&input, &output, name, move |g, x, y| g * derivative(x, y))?;
            Ok(vec![Some(grad)])
        }
    })
}

/// Defines `try_$name` (returns the anomaly-mode error, the only way a one-input op can fail)
/// and the panicking `$name`, from the body of `try_$name`.
macro_rules! unary_ops {
    ($($(#[doc = $doc:literal])* fn $name:ident / $try_name:ident ($self:ident $(, $arg:ident: $ty:ty)*) $body:block)*) => {
        impl Var {
            $(
                $(#[doc = $doc])*
                pub fn $try_name(&$self $(, $arg: $ty)*) -> Result<Var> $body

                $(#[doc = $doc])*
                ///
                /// # Panics
                /// Only in anomaly mode, when the result is not finite.
                #[track_caller]
                pub fn $name(&$self $(, $arg: $ty)*) -> Var {
                    or_panic($self.$try_name($($arg),*))
                }
            )*
        }
    };
}

unary_ops! {
    /// `-x`.
    fn neg / try_neg(self) {
        let value = self.value().neg();
        Var::from_op("neg", &[self], value, || {
            |g: &Tensor, _: &[bool]| Ok(vec![Some(g.neg())])
        })
    }
    /// `|x|`; the gradient at 0 is 0 (PyTorch's convention).
    fn abs / try_abs(self) {
        unary(self, "abs", self.value().abs(), |x, _| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
    }
    /// `e^x`.
    fn exp / try_exp(self) {
        unary(self, "exp", self.value().exp(), |_, y| y)
    }
    /// The natural logarithm.
    fn ln / try_ln(self) {
        unary(self, "ln", self.value().ln(), |x, _| 1.0 / x)
    }
    /// The square root.
    fn sqrt / try_sqrt(self) {
        unary(self, "sqrt", self.value().sqrt(), |_, y| 0.5 / y)
    }
    /// `x * x`.
    fn square / try_square(self) {
        unary(self, "square", self.value().square(), |x, _| 2.0 * x)
    }
    /// `1 / x`.
    fn recip / try_recip(self) {
        unary(self, "recip", self.value().recip(), |_, y| -y * y)
    }
    /// `x^exponent` for a constant exponent.
    fn powf / try_powf(self, exponent: Elem) {
        unary(self, "powf", self.value().powf(exponent), move |x, _| {
            exponent * x.powf(exponent - 1.0)
        })
    }
    /// The logistic function.
    fn sigmoid / try_sigmoid(self) {
        unary(self, "sigmoid", self.value().sigmoid(), |_, y| y * (1.0 - y))
    }
    /// The hyperbolic tangent.
    fn tanh / try_tanh(self) {
        unary(self, "tanh", self.value().tanh(), |_, y| 1.0 - y * y)
    }
    /// `max(x, 0)`; the gradient at 0 is 0 (PyTorch's convention).
    fn relu / try_relu(self) {
        unary(self, "relu", self.value().relu(), |x, _| if x > 0.0 { 1.0 } else { 0.0 })
    }
    /// Leaky ReLU; the gradient at 0 is `negative_slope` (PyTorch's convention).
    fn leaky_relu / try_leaky_relu(self, negative_slope: Elem) {
        unary(
            self,
            "leaky_relu",
            self.value().leaky_relu(negative_slope),
            move |x, _| if x > 0.0 { 1.0 } else { negative_slope },
        )
    }
    /// GELU with the exact Gaussian CDF (PyTorch's default).
    fn gelu / try_gelu(self) {
        unary(self, "gelu", self.value().gelu(), |x, _| {
            // d/dx [x Phi(x)] = Phi(x) + x phi(x)
            let x = x as f64;
            let cdf = 0.5 * (1.0 + gradwork_tensor::special::erf(x / std::f64::consts::SQRT_2));
            let pdf = INV_SQRT_2PI * (-0.5 * x * x).exp();
            (cdf + x * pdf) as Elem
        })
    }
    /// GELU with the tanh approximation.
    fn gelu_tanh / try_gelu_tanh(self) {
        unary(self, "gelu_tanh", self.value().gelu_tanh(), |x, _| {
            let inner = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
            let t = inner.tanh();
            let d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044_715 * x * x);
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner
        })
    }
    /// Each element limited to `[min, max]`; the gradient passes where `min <= x <= max`.
    fn clamp / try_clamp(self, min: Elem, max: Elem) {
        unary(self, "clamp", self.value().clamp(min, max), move |x, _| {
            if x >= min && x <= max {
                1.0
            } else {
                0.0
            }
        })
    }
    /// The sine.
    fn sin / try_sin(self) {
        unary(self, "sin", self.value().sin(), |x, _| x.cos())
    }
    /// The cosine.
    fn cos / try_cos(self) {
        unary(self, "cos", self.value().cos(), |x, _| -x.sin())
    }
    /// `x + value`.
    fn add_scalar / try_add_scalar(self, value: Elem) {
        let out = self.value().add_scalar(value);
        Var::from_op("add_scalar", &[self], out, || {
            |g: &Tensor, _: &[bool]| Ok(vec![Some(g.clone())])
        })
    }
    /// `x - value`.
    fn sub_scalar / try_sub_scalar(self, value: Elem) {
        self.try_add_scalar(-value)
    }
    /// `x * value`.
    fn mul_scalar / try_mul_scalar(self, value: Elem) {
        let out = self.value().mul_scalar(value);
        Var::from_op("mul_scalar", &[self], out, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(g.mul_scalar(value))])
        })
    }
    /// `x / value`.
    fn div_scalar / try_div_scalar(self, value: Elem) {
        self.try_mul_scalar(1.0 / value)
    }
}
