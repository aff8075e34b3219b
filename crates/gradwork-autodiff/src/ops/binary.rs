//! Elementwise ops of two variables with broadcasting; backward sums each gradient back to its
//! input's shape. Also the `std::ops` operators on `Var`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use gradwork_tensor::{Elem, Tensor};

use super::reduce_grad;
use crate::error::{or_panic, Result};
use crate::var::Var;

impl Var {
    /// Elementwise `self + other` (broadcasting).
    pub fn try_add(&self, other: &Var) -> Result<Var> {
        let value = self.value().try_add(other.value())?;
        let (a, b) = (self.shape().to_vec(), other.shape().to_vec());
        Var::from_op("add", &[self, other], value, move || {
            move |g: &Tensor, needs: &[bool]| {
                Ok(vec![
                    reduce_grad(g, &a, needs[0])?,
                    reduce_grad(g, &b, needs[1])?,
                ])
            }
        })
    }

    /// Elementwise `self - other` (broadcasting).
    pub fn try_sub(&self, other: &Var) -> Result<Var> {
        let value = self.value().try_sub(other.value())?;
        let (a, b) = (self.shape().to_vec(), other.shape().to_vec());
        Var::from_op("sub", &[self, other], value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let gb = if needs[1] {
                    Some(g.try_sum_to_shape(&b)?.neg())
                } else {
                    None
                };
                Ok(vec![reduce_grad(g, &a, needs[0])?, gb])
            }
        })
    }

    /// Elementwise `self * other` (broadcasting).
    pub fn try_mul(&self, other: &Var) -> Result<Var> {
        let value = self.value().try_mul(other.value())?;
        let (x, y) = (self.value().clone(), other.value().clone());
        Var::from_op("mul", &[self, other], value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let ga = if needs[0] {
                    reduce_grad(&g.try_mul(&y)?, x.shape(), true)?
                } else {
                    None
                };
                let gb = if needs[1] {
                    reduce_grad(&g.try_mul(&x)?, y.shape(), true)?
                } else {
                    None
                };
                Ok(vec![ga, gb])
            }
        })
    }

    /// Elementwise `self / other` (broadcasting).
    pub fn try_div(&self, other: &Var) -> Result<Var> {
        let value = self.value().try_div(other.value())?;
        let (x, y) = (self.value().clone(), other.value().clone());
        Var::from_op("div", &[self, other], value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let ga = if needs[0] {
                    reduce_grad(&g.try_div(&y)?, x.shape(), true)?
                } else {
                    None
                };
                let gb = if needs[1] {
                    // d(x/y)/dy = -x / y^2
                    let local = x.try_zip_map(&y, "div_backward", |x, y| -x / (y * y))?;
                    reduce_grad(&g.try_mul(&local)?, y.shape(), true)?
                } else {
                    None
                };
                Ok(vec![ga, gb])
            }
        })
    }

    /// Elementwise `self ^ exponent` with a variable exponent (broadcasting). Backward:
    /// `d/dx = e x^(e-1)` and `d/de = x^e ln x`; at `x = 0` the exponent's gradient is taken as 0
    /// (PyTorch's convention), and for `x < 0` it is NaN, as `ln x` is.
    pub fn try_pow(&self, exponent: &Var) -> Result<Var> {
        let value = self
            .value()
            .try_zip_map(exponent.value(), "pow", |x, e| x.powf(e))?;
        let (x, e) = (self.value().clone(), exponent.value().clone());
        let y = value.clone();
        Var::from_op("pow", &[self, exponent], value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let gx = if needs[0] {
                    let local = x.try_zip_map(&e, "pow_backward", |x, e| {
                        if e == 0.0 {
                            0.0
                        } else {
                            e * x.powf(e - 1.0)
                        }
                    })?;
                    reduce_grad(&g.try_mul(&local)?, x.shape(), true)?
                } else {
                    None
                };
                let ge = if needs[1] {
                    let local =
                        y.try_zip_map(&x.try_broadcast_to(y.shape())?, "pow_backward", |y, x| {
                            if x == 0.0 {
                                0.0
                            } else {
                                y * x.ln()
                            }
                        })?;
                    reduce_grad(&g.try_mul(&local)?, e.shape(), true)?
                } else {
                    None
                };
                Ok(vec![gx, ge])
            }
        })
    }

    /// Elementwise `self ^ exponent` (see [`Var::try_pow`]).
    #[track_caller]
    pub fn pow(&self, exponent: &Var) -> Var {
        or_panic(self.try_pow(exponent))
    }

    /// Elementwise maximum (broadcasting). Where the two are equal the gradient is split
    /// equally between them, as PyTorch does.
    pub fn try_maximum(&self, other: &Var) -> Result<Var> {
        self.select_between(other, "maximum", |a, b| a > b)
    }

    /// Elementwise minimum (broadcasting); ties split the gradient equally.
    pub fn try_minimum(&self, other: &Var) -> Result<Var> {
        self.select_between(other, "minimum", |a, b| a < b)
    }

    fn select_between(
        &self,
        other: &Var,
        name: &'static str,
        first_wins: fn(Elem, Elem) -> bool,
    ) -> Result<Var> {
        let value = self.value().try_zip_map(other.value(), name, move |a, b| {
            if first_wins(a, b) || a == b {
                a
            } else {
                b
            }
        })?;
        let (x, y) = (self.value().clone(), other.value().clone());
        Var::from_op(name, &[self, other], value, move || {
            move |g: &Tensor, needs: &[bool]| {
                // Share of the gradient that goes to the first input: 1, 0, or 1/2 on ties.
                let share = x.try_zip_map(&y, name, move |a, b| {
                    if a == b {
                        0.5
                    } else if first_wins(a, b) {
                        1.0
                    } else {
                        0.0
                    }
                })?;
                let ga = if needs[0] {
                    reduce_grad(&g.try_mul(&share)?, x.shape(), true)?
                } else {
                    None
                };
                let gb = if needs[1] {
                    let rest = share.map(|s| 1.0 - s);
                    reduce_grad(&g.try_mul(&rest)?, y.shape(), true)?
                } else {
                    None
                };
                Ok(vec![ga, gb])
            }
        })
    }

    /// Elementwise `self + other` (panics on incompatible shapes, naming both).
    #[track_caller]
    pub fn add(&self, other: &Var) -> Var {
        or_panic(self.try_add(other))
    }
    /// Elementwise `self - other`.
    #[track_caller]
    pub fn sub(&self, other: &Var) -> Var {
        or_panic(self.try_sub(other))
    }
    /// Elementwise `self * other`.
    #[track_caller]
    pub fn mul(&self, other: &Var) -> Var {
        or_panic(self.try_mul(other))
    }
    /// Elementwise `self / other`.
    #[track_caller]
    pub fn div(&self, other: &Var) -> Var {
        or_panic(self.try_div(other))
    }
    /// Elementwise maximum.
    #[track_caller]
    pub fn maximum(&self, other: &Var) -> Var {
        or_panic(self.try_maximum(other))
    }
    /// Elementwise minimum.
    #[track_caller]
    pub fn minimum(&self, other: &Var) -> Var {
        or_panic(self.try_minimum(other))
    }
}

macro_rules! var_operator {
    ($trait:ident, $method:ident, $scalar:ident) => {
        impl $trait<&Var> for &Var {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: &Var) -> Var {
                Var::$method(self, rhs)
            }
        }
        impl $trait<Var> for Var {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: Var) -> Var {
                Var::$method(&self, &rhs)
            }
        }
        impl $trait<&Var> for Var {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: &Var) -> Var {
                Var::$method(&self, rhs)
            }
        }
        impl $trait<Var> for &Var {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: Var) -> Var {
                Var::$method(self, &rhs)
            }
        }
        impl $trait<Elem> for &Var {
            type Output = Var;
            fn $method(self, rhs: Elem) -> Var {
                self.$scalar(rhs)
            }
        }
        impl $trait<Elem> for Var {
            type Output = Var;
            fn $method(self, rhs: Elem) -> Var {
                self.$scalar(rhs)
            }
        }
    };
}

var_operator!(Add, add, add_scalar);
var_operator!(Sub, sub, sub_scalar);
var_operator!(Mul, mul, mul_scalar);
var_operator!(Div, div, div_scalar);

impl Neg for &Var {
    type Output = Var;
    fn neg(self) -> Var {
        Var::neg(self)
    }
}

impl Neg for Var {
    type Output = Var;
    fn neg(self) -> Var {
        Var::neg(&self)
    }
}
