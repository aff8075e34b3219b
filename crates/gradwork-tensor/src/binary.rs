//! Elementwise functions of two tensors with NumPy broadcasting, and the `std::ops` operators.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::error::{or_panic, Result};
use crate::layout::broadcast_shapes;
use crate::par::{fill_chunks, for_each_row, ELEMENTWISE_CHUNK};
use crate::tensor::{Elem, Tensor};

impl Tensor {
    /// Combines `self` and `other` elementwise after broadcasting them to a common shape.
    /// `op` names the operation in the error when the shapes cannot broadcast.
    pub fn try_zip_map(
        &self,
        other: &Tensor,
        op: &'static str,
        f: impl Fn(Elem, Elem) -> Elem + Sync + Send,
    ) -> Result<Tensor> {
        let out_shape = broadcast_shapes(op, self.shape(), other.shape())?;
        let mut out = crate::buffer::scratch(out_shape.iter().product());
        if out.is_empty() {
            return Ok(Tensor::from_vec(out, &out_shape));
        }
        // Fast path: same shape, both contiguous.
        if let (Some(a), Some(b)) = (self.as_slice(), other.as_slice()) {
            if self.shape() == other.shape() {
                fill_chunks(&mut out, ELEMENTWISE_CHUNK, |start, chunk| {
                    let end = start + chunk.len();
                    for ((o, &x), &y) in chunk.iter_mut().zip(&a[start..end]).zip(&b[start..end]) {
                        *o = f(x, y);
                    }
                });
                return Ok(Tensor::from_vec(out, &out_shape));
            }
        }
        let a_layout = self.layout.broadcast_to(&out_shape);
        let b_layout = other.layout.broadcast_to(&out_shape);
        let inner = out_shape.last().copied().unwrap_or(1);
        let a_step = a_layout.strides().last().copied().unwrap_or(0);
        let b_step = b_layout.strides().last().copied().unwrap_or(0);
        let (a_data, b_data) = (&self.storage[..], &other.storage[..]);
        for_each_row(&mut out, inner, |row, out_row| {
            let a_base = a_layout.index_of_flat(row * inner);
            let b_base = b_layout.index_of_flat(row * inner);
            match (a_step, b_step) {
                (1, 1) => {
                    let a_row = &a_data[a_base..a_base + inner];
                    let b_row = &b_data[b_base..b_base + inner];
                    for ((o, &x), &y) in out_row.iter_mut().zip(a_row).zip(b_row) {
                        *o = f(x, y);
                    }
                }
                (1, 0) => {
                    let y = b_data[b_base];
                    for (o, &x) in out_row.iter_mut().zip(&a_data[a_base..a_base + inner]) {
                        *o = f(x, y);
                    }
                }
                (0, 1) => {
                    let x = a_data[a_base];
                    for (o, &y) in out_row.iter_mut().zip(&b_data[b_base..b_base + inner]) {
                        *o = f(x, y);
                    }
                }
                _ => {
                    for (k, o) in out_row.iter_mut().enumerate() {
                        *o = f(a_data[a_base + k * a_step], b_data[b_base + k * b_step]);
                    }
                }
            }
        });
        Ok(Tensor::from_vec(out, &out_shape))
    }

    /// Combines `self` and `other` elementwise after broadcasting (see [`Tensor::try_zip_map`]).
    #[track_caller]
    pub fn zip_map(
        &self,
        other: &Tensor,
        op: &'static str,
        f: impl Fn(Elem, Elem) -> Elem + Sync + Send,
    ) -> Tensor {
        or_panic(self.try_zip_map(other, op, f))
    }

    /// `f(self[i], b[i], c[i])` for three tensors of one shape, in one pass (a backward pass's
    /// `grad * f'(x, y)` without the intermediate tensor of `f'`). `op` names the operation in
    /// the error when the shapes differ; there is no broadcasting.
    ///
    /// ```
    /// use gradwork_tensor::Tensor;
    /// let g = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]);
    /// let x = Tensor::from_vec(vec![-1.0, 0.5, 2.0], &[3]);
    /// let relu_grad = g.try_zip3_map(&x, &x.relu(), "relu", |g, x, _| if x > 0.0 { g } else { 0.0 });
    /// assert_eq!(relu_grad.unwrap().to_vec(), vec![0.0, 2.0, 3.0]);
    /// ```
    pub fn try_zip3_map(
        &self,
        b: &Tensor,
        c: &Tensor,
        op: &'static str,
        f: impl Fn(Elem, Elem, Elem) -> Elem + Sync + Send,
    ) -> Result<Tensor> {
        for other in [b, c] {
            if other.shape() != self.shape() {
                return Err(crate::TensorError::shape_mismatch_because(
                    op,
                    self.shape(),
                    other.shape(),
                    "the three operands must have the same shape",
                ));
            }
        }
        let (a, b, c) = (self.contiguous(), b.contiguous(), c.contiguous());
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let (a, b, c) = (
            a.as_slice().unwrap(),
            b.as_slice().unwrap(),
            c.as_slice().unwrap(),
        );
        let mut out = crate::buffer::scratch(a.len());
        fill_chunks(&mut out, ELEMENTWISE_CHUNK, |start, chunk| {
            let range = start..start + chunk.len();
            let inputs = a[range.clone()]
                .iter()
                .zip(&b[range.clone()])
                .zip(&c[range]);
            for (o, ((&x, &y), &z)) in chunk.iter_mut().zip(inputs) {
                *o = f(x, y, z);
            }
        });
        Tensor::try_from_vec(out, self.shape())
    }
}

macro_rules! binary_ops {
    ($( $(#[$doc:meta])* $name:ident / $try_name:ident = $op:literal, |$x:ident, $y:ident| $body:expr; )*) => {
        impl Tensor {
            $(
                $(#[$doc])*
                ///
                /// Broadcasts with NumPy's rules; the error names the op and both shapes.
                pub fn $try_name(&self, other: &Tensor) -> Result<Tensor> {
                    self.try_zip_map(other, $op, |$x, $y| $body)
                }

                $(#[$doc])*
                ///
                /// # Panics
                /// When the shapes cannot broadcast (the message names the op and both shapes).
                #[track_caller]
                pub fn $name(&self, other: &Tensor) -> Tensor {
                    or_panic(self.$try_name(other))
                }
            )*
        }
    };
}

binary_ops! {
    /// Elementwise `self + other`.
    add / try_add = "add", |x, y| x + y;
    /// Elementwise `self - other`.
    sub / try_sub = "sub", |x, y| x - y;
    /// Elementwise `self * other`.
    mul / try_mul = "mul", |x, y| x * y;
    /// Elementwise `self / other`.
    div / try_div = "div", |x, y| x / y;
    /// Elementwise maximum (NaN if either is NaN).
    maximum / try_maximum = "maximum", |x, y| if x.is_nan() || y.is_nan() { f32::NAN } else { x.max(y) };
    /// Elementwise minimum (NaN if either is NaN).
    minimum / try_minimum = "minimum", |x, y| if x.is_nan() || y.is_nan() { f32::NAN } else { x.min(y) };
    /// Elementwise `self ^ other`.
    pow / try_pow = "pow", |x, y| x.powf(y);
    /// 1 where `self == other`, else 0.
    eq_mask / try_eq_mask = "eq", |x, y| (x == y) as u8 as f32;
    /// 1 where `self != other`, else 0.
    ne_mask / try_ne_mask = "ne", |x, y| (x != y) as u8 as f32;
    /// 1 where `self < other`, else 0.
    lt_mask / try_lt_mask = "lt", |x, y| (x < y) as u8 as f32;
    /// 1 where `self <= other`, else 0.
    le_mask / try_le_mask = "le", |x, y| (x <= y) as u8 as f32;
    /// 1 where `self > other`, else 0.
    gt_mask / try_gt_mask = "gt", |x, y| (x > y) as u8 as f32;
    /// 1 where `self >= other`, else 0.
    ge_mask / try_ge_mask = "ge", |x, y| (x >= y) as u8 as f32;
}

macro_rules! std_binary_op {
    ($trait:ident, $method:ident, $tensor_fn:ident, $scalar_fn:ident) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                self.$tensor_fn(rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                (&self).$tensor_fn(&rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                (&self).$tensor_fn(rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                self.$tensor_fn(&rhs)
            }
        }
        impl $trait<Elem> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Elem) -> Tensor {
                self.$scalar_fn(rhs)
            }
        }
        impl $trait<Elem> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Elem) -> Tensor {
                (&self).$scalar_fn(rhs)
            }
        }
    };
}

std_binary_op!(Add, add, add, add_scalar);
std_binary_op!(Sub, sub, sub, sub_scalar);
std_binary_op!(Mul, mul, mul, mul_scalar);
std_binary_op!(Div, div, div, div_scalar);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn broadcasting_a_row_and_a_column() {
        let col = Tensor::from_vec(vec![1.0, 2.0], &[2, 1]);
        let row = Tensor::from_vec(vec![10.0, 20.0, 30.0], &[3]);
        let sum = &col + &row;
        assert_eq!(sum.shape(), &[2, 3]);
        assert_eq!(sum.to_vec(), vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
    }

    #[test]
    fn shape_errors_name_the_op_and_both_shapes() {
        let a = Tensor::zeros(&[2, 3]);
        let b = Tensor::zeros(&[4]);
        let err = a.try_mul(&b).unwrap_err().to_string();
        assert!(
            err.starts_with("mul: shapes [2, 3] and [4] are incompatible"),
            "{err}"
        );
    }

    #[test]
    #[should_panic(expected = "sub: shapes [2] and [3]")]
    fn operators_panic_with_the_same_message() {
        let _ = Tensor::zeros(&[2]) - Tensor::zeros(&[3]);
    }

    #[test]
    fn comparisons_give_masks() {
        let a = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]);
        let b = Tensor::scalar(2.0);
        assert_eq!(a.gt_mask(&b).to_vec(), vec![0.0, 0.0, 1.0]);
        assert_eq!(a.le_mask(&b).to_vec(), vec![1.0, 1.0, 0.0]);
        assert_eq!((a * 2.0).to_vec(), vec![2.0, 4.0, 6.0]);
    }
}
