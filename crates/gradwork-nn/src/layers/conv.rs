//! `Conv2d`: 2-D cross-correlation over NCHW images (PyTorch's `nn.Conv2d`, Keras' `Conv2D`).
//!
//! The Keras MNIST CNN of the source articles, one training step:
//!
//! ```
//! use gradwork_autodiff::{Graph, Var};
//! use gradwork_nn::activations::Relu;
//! use gradwork_nn::layers::{Conv2d, Dropout, Flatten, Linear, MaxPool2d};
//! use gradwork_nn::losses::{sparse_categorical_cross_entropy, Reduction};
//! use gradwork_nn::{Ctx, Module, Sequential};
//! use gradwork_tensor::{Rng, Tensor};
//!
//! let mut rng = Rng::seed_from(0);
//! let mut model = Sequential::new()
//!     .push(Conv2d::new(1, 32, (3, 3), &mut rng).unwrap())
//!     .push(Relu)
//!     .push(MaxPool2d::new((2, 2)))
//!     .push(Conv2d::new(32, 64, (3, 3), &mut rng).unwrap())
//!     .push(Relu)
//!     .push(MaxPool2d::new((2, 2)))
//!     .push(Flatten::default())
//!     .push(Dropout::new(0.5).unwrap())
//!     .push(Linear::new(64 * 5 * 5, 10, &mut rng));
//! assert_eq!(model.num_params(), 320 + 18_496 + 16_010); // Keras' model.summary() total
//! let graph = Graph::new();
//! let mut cx = Ctx::train(&graph, rng.fork(1));
//! let images = Var::constant(Tensor::rand_uniform(&[2, 1, 28, 28], 0.0, 1.0, &mut rng));
//! let logits = model.forward(&mut cx, &images).unwrap();
//! assert_eq!(logits.shape(), &[2, 10]);
//! let loss = sparse_categorical_cross_entropy(&logits, &[3, 7], Reduction::Mean).unwrap();
//! let grads = cx.param_grads(&graph.backward(&loss).unwrap());
//! assert_eq!(grads.len(), 6); // two kernels, two conv biases, the dense weight and bias
//! ```

use gradwork_autodiff::Var;
use gradwork_tensor::{Conv2dOptions, Rng};

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::init;
use crate::module::{join_path, LayerKind, Module};
use crate::param::Param;

/// The hyper-parameters of a [`Conv2d`], as `(height, width)` pairs. Build one with
/// [`Conv2dConfig::new`], adjust it with the `with_*` methods, then [`Conv2dConfig::init`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dConfig {
    /// Input channels `C`.
    pub in_channels: usize,
    /// Output channels `O`.
    pub out_channels: usize,
    /// Kernel size `(kh, kw)`.
    pub kernel: (usize, usize),
    /// Stride, padding, dilation and groups.
    pub options: Conv2dOptions,
    /// Whether the layer adds a per-channel bias.
    pub bias: bool,
}

impl Conv2dConfig {
    /// PyTorch's defaults: stride 1, no padding, dilation 1, one group, with a bias.
    pub fn new(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> Self {
        Conv2dConfig {
            in_channels,
            out_channels,
            kernel,
            options: Conv2dOptions::default(),
            bias: true,
        }
    }

    /// With another stride.
    pub fn with_stride(mut self, stride: (usize, usize)) -> Self {
        self.options.stride = stride;
        self
    }

    /// With another zero padding (on both sides of each axis).
    pub fn with_padding(mut self, padding: (usize, usize)) -> Self {
        self.options.padding = padding;
        self
    }

    /// With another dilation.
    pub fn with_dilation(mut self, dilation: (usize, usize)) -> Self {
        self.options.dilation = dilation;
        self
    }

    /// With `groups` channel groups (both channel counts must be multiples of it).
    pub fn with_groups(mut self, groups: usize) -> Self {
        self.options.groups = groups;
        self
    }

    /// With or without a bias.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// A layer with PyTorch's default initialisation: weight and bias both
    /// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` with `fan_in = C/groups * kh * kw`.
    pub fn init(&self, rng: &mut Rng) -> Result<Conv2d> {
        let Conv2dOptions {
            stride,
            dilation,
            groups,
            ..
        } = self.options;
        let invalid = |reason: String| NnError::InvalidConfig {
            layer: "Conv2d",
            reason,
        };
        let sizes = [
            self.in_channels,
            self.out_channels,
            self.kernel.0,
            self.kernel.1,
        ];
        if sizes.contains(&0) || [stride.0, stride.1, dilation.0, dilation.1].contains(&0) {
            return Err(invalid(format!(
                "channels, kernel {:?}, stride {stride:?} and dilation {dilation:?} must be positive",
                self.kernel
            )));
        }
        if groups == 0
            || !self.in_channels.is_multiple_of(groups)
            || !self.out_channels.is_multiple_of(groups)
        {
            return Err(invalid(format!(
                "groups ({groups}) must divide in_channels ({}) and out_channels ({})",
                self.in_channels, self.out_channels
            )));
        }
        let (kh, kw) = self.kernel;
        let shape = [self.out_channels, self.in_channels / groups, kh, kw];
        let fan_in = self.in_channels / groups * kh * kw;
        let weight = Param::new(init::pytorch_default(&shape, fan_in, rng));
        let bias = self
            .bias
            .then(|| Param::new(init::pytorch_default(&[self.out_channels], fan_in, rng)));
        Ok(Conv2d {
            weight,
            bias,
            options: self.options,
        })
    }
}

/// A 2-D convolution layer: input `[N, C, H, W]`, `weight [O, C/groups, kh, kw]`, optional
/// `bias [O]`, output `[N, O, Ho, Wo]` with `Ho = floor((H + 2p - d(kh - 1) - 1) / s) + 1`.
/// Cross-correlation (no kernel flip) with zero padding, as in PyTorch.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::{Conv2d, Conv2dConfig}, Ctx, Module};
/// use gradwork_tensor::{Rng, Tensor};
///
/// let mut rng = Rng::seed_from(0);
/// let mut conv = Conv2dConfig::new(1, 32, (3, 3)).with_padding((1, 1)).init(&mut rng).unwrap();
/// let y = conv.forward(&mut Ctx::eval(), &Var::constant(Tensor::zeros(&[2, 1, 28, 28]))).unwrap();
/// assert_eq!(y.shape(), &[2, 32, 28, 28]);
/// assert_eq!(conv.num_params(), 32 * 9 + 32);
/// ```
#[derive(Debug, Clone)]
pub struct Conv2d {
    /// `[out_channels, in_channels / groups, kh, kw]`.
    pub weight: Param,
    /// `[out_channels]`, if the layer has a bias.
    pub bias: Option<Param>,
    /// Stride, padding, dilation and groups.
    pub options: Conv2dOptions,
}

impl Conv2d {
    /// Refuses an input that is not `[N, in_channels, H, W]`.
    fn check_input(&self, input: &Var) -> Result<()> {
        let shape = input.shape();
        if shape.len() != 4 || shape[1] != self.in_channels() {
            return Err(NnError::BadInput {
                layer: self.describe(),
                expected: format!("[N, {}, H, W]", self.in_channels()),
                got: shape.to_vec(),
            });
        }
        Ok(())
    }

    /// A `kernel`-sized convolution with PyTorch's defaults otherwise (see [`Conv2dConfig`]).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        rng: &mut Rng,
    ) -> Result<Self> {
        Conv2dConfig::new(in_channels, out_channels, kernel).init(rng)
    }

    /// The number of input channels.
    pub fn in_channels(&self) -> usize {
        self.weight.value().shape()[1] * self.options.groups
    }

    /// The number of output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.value().shape()[0]
    }

    /// The kernel size `(kh, kw)`.
    pub fn kernel(&self) -> (usize, usize) {
        let shape = self.weight.value().shape();
        (shape[2], shape[3])
    }
}

impl Module for Conv2d {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        self.check_input(input)?;
        let weight = cx.param(&self.weight);
        let bias = self.bias.as_ref().map(|b| cx.param(b));
        Ok(input.try_conv2d(&weight, bias.as_ref(), &self.options)?)
    }

    /// A following max pooling runs as the convolution produces its output, block by block
    /// (same values and gradients as the two layers in turn, without the full-size output).
    fn forward_fused(&mut self, cx: &mut Ctx, input: &Var, next: LayerKind) -> Result<Option<Var>> {
        let LayerKind::MaxPool(pool) = next else {
            return Ok(None);
        };
        if !pool.fits_codes() {
            return Ok(None);
        }
        self.check_input(input)?;
        let weight = cx.param(&self.weight);
        let bias = self.bias.as_ref().map(|b| cx.param(b));
        let pooled = input.try_conv2d_max_pool2d(&weight, bias.as_ref(), &self.options, &pool)?;
        Ok(Some(pooled))
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(&join_path(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join_path(prefix, "bias"), b);
        }
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(&join_path(prefix, "weight"), &mut self.weight);
        if let Some(b) = &mut self.bias {
            f(&join_path(prefix, "bias"), b);
        }
    }

    fn describe(&self) -> String {
        let o = &self.options;
        format!(
            "Conv2d({} -> {}, kernel {:?}, stride {:?}, padding {:?}, dilation {:?}, groups {})",
            self.in_channels(),
            self.out_channels(),
            self.kernel(),
            o.stride,
            o.padding,
            o.dilation,
            o.groups
        )
    }
}
