//! Pooling layers over NCHW images: `MaxPool2d` (padding counts as -inf) and `AvgPool2d`
//! (`count_include_pad`), both in floor mode like PyTorch's defaults.

use gradwork_autodiff::Var;
use gradwork_tensor::Pool2dOptions;

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::module::{LayerKind, Module};
use crate::param::Param;

fn check_image(layer: String, input: &Var) -> Result<()> {
    if input.shape().len() != 4 {
        return Err(NnError::BadInput {
            layer,
            expected: "[N, C, H, W]".into(),
            got: input.shape().to_vec(),
        });
    }
    Ok(())
}

/// Max pooling (PyTorch's `nn.MaxPool2d`, Keras' `MaxPooling2D`): each output is the largest
/// input in its window; implicit padding is -inf, so it never wins. The gradient goes to each
/// window's maximum.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::MaxPool2d, Ctx, Module};
/// use gradwork_tensor::Tensor;
///
/// let mut pool = MaxPool2d::new((2, 2));
/// let x = Var::constant(Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]));
/// let y = pool.forward(&mut Ctx::eval(), &x).unwrap();
/// assert_eq!(y.value().to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Kernel, stride and padding (`count_include_pad` is ignored).
    pub options: Pool2dOptions,
}

impl MaxPool2d {
    /// A `kernel`-sized window with stride equal to the kernel and no padding.
    pub fn new(kernel: (usize, usize)) -> Self {
        MaxPool2d {
            options: Pool2dOptions::new(kernel),
        }
    }

    /// With another stride.
    pub fn with_stride(mut self, stride: (usize, usize)) -> Self {
        self.options.stride = stride;
        self
    }

    /// With another padding (at most half the kernel).
    pub fn with_padding(mut self, padding: (usize, usize)) -> Self {
        self.options.padding = padding;
        self
    }

    /// The pooled output and, for each output element, the flat index `h * W + w` of its
    /// maximum within its (unpadded) input plane (PyTorch's `return_indices=True`).
    pub fn forward_with_indices(&self, input: &Var) -> Result<(Var, Vec<usize>)> {
        check_image(self.describe(), input)?;
        Ok(input.try_max_pool2d_with_indices(&self.options)?)
    }
}

impl Module for MaxPool2d {
    fn forward(&mut self, _cx: &mut Ctx, input: &Var) -> Result<Var> {
        check_image(self.describe(), input)?;
        Ok(input.try_max_pool2d(&self.options)?)
    }

    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}

    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}

    fn describe(&self) -> String {
        let o = &self.options;
        format!(
            "MaxPool2d(kernel {:?}, stride {:?}, padding {:?})",
            o.kernel, o.stride, o.padding
        )
    }

    fn kind(&self) -> LayerKind {
        LayerKind::MaxPool(self.options)
    }
}

/// Average pooling (PyTorch's `nn.AvgPool2d`, Keras' `AveragePooling2D`): each output is the mean
/// of its window, zero padding. With `count_include_pad` (the default) the divisor is always
/// `kh * kw`; without it, only the window's real elements count.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::AvgPool2d, Ctx, Module};
/// use gradwork_tensor::Tensor;
///
/// let mut pool = AvgPool2d::new((2, 2));
/// let x = Var::constant(Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]));
/// let y = pool.forward(&mut Ctx::eval(), &x).unwrap();
/// assert_eq!(y.value().to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPool2d {
    /// Kernel, stride, padding and `count_include_pad`.
    pub options: Pool2dOptions,
}

impl AvgPool2d {
    /// A `kernel`-sized window with stride equal to the kernel, no padding, and
    /// `count_include_pad` true.
    pub fn new(kernel: (usize, usize)) -> Self {
        AvgPool2d {
            options: Pool2dOptions::new(kernel),
        }
    }

    /// With another stride.
    pub fn with_stride(mut self, stride: (usize, usize)) -> Self {
        self.options.stride = stride;
        self
    }

    /// With another padding (at most half the kernel).
    pub fn with_padding(mut self, padding: (usize, usize)) -> Self {
        self.options.padding = padding;
        self
    }

    /// Whether padded positions count in the divisor.
    pub fn with_count_include_pad(mut self, count_include_pad: bool) -> Self {
        self.options.count_include_pad = count_include_pad;
        self
    }
}

impl Module for AvgPool2d {
    fn forward(&mut self, _cx: &mut Ctx, input: &Var) -> Result<Var> {
        check_image(self.describe(), input)?;
        Ok(input.try_avg_pool2d(&self.options)?)
    }

    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}

    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}

    fn describe(&self) -> String {
        let o = &self.options;
        format!(
            "AvgPool2d(kernel {:?}, stride {:?}, padding {:?}, count_include_pad {})",
            o.kernel, o.stride, o.padding, o.count_include_pad
        )
    }
}
