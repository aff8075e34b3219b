//! Elementwise ops of one variable: `y = f(x)`, backward `g * f'(x)`.

use gradwork_tensor::{Elem, Tensor};

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
) -> Var {
    let input = x.value().clone();
    let output = value.clone();
    Var::from_op(name, &[x], value, move || {
        move |g: &Tensor, _: &[bool]| {
            // d/dx evaluated at (x, y), times the upstream gradient.
            let local = input.try_zip_map(&output, name, derivative)?;
            Ok(vec![Some(g.try_mul(&local)?)])
        }
    })
    .expect("a unary op has one input and cannot mix graphs")
}

impl Var {
    /// `-x`.
    pub fn neg(&self) -> Var {
        let value = self.value().neg();
        Var::from_op("neg", &[self], value, || {
            |g: &Tensor, _: &[bool]| Ok(vec![Some(g.neg())])
        })
        .expect("one input")
    }
    /// `|x|`; the gradient at 0 is 0 (PyTorch's convention).
    pub fn abs(&self) -> Var {
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
    pub fn exp(&self) -> Var {
        unary(self, "exp", self.value().exp(), |_, y| y)
    }
    /// The natural logarithm.
    pub fn ln(&self) -> Var {
        unary(self, "ln", self.value().ln(), |x, _| 1.0 / x)
    }
    /// The square root.
    pub fn sqrt(&self) -> Var {
        unary(self, "sqrt", self.value().sqrt(), |_, y| 0.5 / y)
    }
    /// `x * x`.
    pub fn square(&self) -> Var {
        unary(self, "square", self.value().square(), |x, _| 2.0 * x)
    }
    /// `1 / x`.
    pub fn recip(&self) -> Var {
        unary(self, "recip", self.value().recip(), |_, y| -y * y)
    }
    /// `x^exponent`.
    pub fn powf(&self, exponent: Elem) -> Var {
        unary(self, "powf", self.value().powf(exponent), move |x, _| {
            exponent * x.powf(exponent - 1.0)
        })
    }
    /// The logistic function.
    pub fn sigmoid(&self) -> Var {
        unary(self, "sigmoid", self.value().sigmoid(), |_, y| {
            y * (1.0 - y)
        })
    }
    /// The hyperbolic tangent.
    pub fn tanh(&self) -> Var {
        unary(self, "tanh", self.value().tanh(), |_, y| 1.0 - y * y)
    }
    /// `max(x, 0)`; the gradient at 0 is 0 (PyTorch's convention).
    pub fn relu(&self) -> Var {
        unary(self, "relu", self.value().relu(), |x, _| {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        })
    }
    /// Leaky ReLU; the gradient at 0 is `negative_slope` (PyTorch's convention).
    pub fn leaky_relu(&self, negative_slope: Elem) -> Var {
        unary(
            self,
            "leaky_relu",
            self.value().leaky_relu(negative_slope),
            move |x, _| {
                if x > 0.0 {
                    1.0
                } else {
                    negative_slope
                }
            },
        )
    }
    /// GELU with the exact Gaussian CDF (PyTorch's default).
    pub fn gelu(&self) -> Var {
        unary(self, "gelu", self.value().gelu(), |x, _| {
            // d/dx [x Phi(x)] = Phi(x) + x phi(x)
            let x = x as f64;
            let cdf = 0.5 * (1.0 + gradwork_tensor::special::erf(x / std::f64::consts::SQRT_2));
            let pdf = INV_SQRT_2PI * (-0.5 * x * x).exp();
            (cdf + x * pdf) as Elem
        })
    }
    /// GELU with the tanh approximation.
    pub fn gelu_tanh(&self) -> Var {
        unary(self, "gelu_tanh", self.value().gelu_tanh(), |x, _| {
            let inner = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
            let t = inner.tanh();
            let d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044_715 * x * x);
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner
        })
    }
    /// Each element limited to `[min, max]`; the gradient passes where `min <= x <= max`.
    pub fn clamp(&self, min: Elem, max: Elem) -> Var {
        unary(self, "clamp", self.value().clamp(min, max), move |x, _| {
            if x >= min && x <= max {
                1.0
            } else {
                0.0
            }
        })
    }
    /// The sine.
    pub fn sin(&self) -> Var {
        unary(self, "sin", self.value().sin(), |x, _| x.cos())
    }
    /// The cosine.
    pub fn cos(&self) -> Var {
        unary(self, "cos", self.value().cos(), |x, _| -x.sin())
    }
    /// `x + value`.
    pub fn add_scalar(&self, value: Elem) -> Var {
        let out = self.value().add_scalar(value);
        Var::from_op("add_scalar", &[self], out, || {
            |g: &Tensor, _: &[bool]| Ok(vec![Some(g.clone())])
        })
        .expect("one input")
    }
    /// `x - value`.
    pub fn sub_scalar(&self, value: Elem) -> Var {
        self.add_scalar(-value)
    }
    /// `x * value`.
    pub fn mul_scalar(&self, value: Elem) -> Var {
        let out = self.value().mul_scalar(value);
        Var::from_op("mul_scalar", &[self], out, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(g.mul_scalar(value))])
        })
        .expect("one input")
    }
    /// `x / value`.
    pub fn div_scalar(&self, value: Elem) -> Var {
        self.mul_scalar(1.0 / value)
    }
}
