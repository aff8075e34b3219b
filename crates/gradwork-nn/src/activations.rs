//! Activation layers (no parameters): ReLU, LeakyReLU, GELU, Sigmoid, Tanh, Softmax.

use gradwork_autodiff::Var;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::module::{LayerKind, Module};
use crate::param::Param;

macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $body:expr) => {
        activation!($(#[$doc])* $name, |$x| $body, LayerKind::Opaque);
    };
    ($(#[$doc:meta])* $name:ident, |$x:ident| $body:expr, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl Module for $name {
            fn forward(&mut self, _cx: &mut Ctx, $x: &Var) -> Result<Var> {
                Ok($body)
            }
            fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}
            fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}
            fn describe(&self) -> String {
                stringify!($name).to_string()
            }
            fn kind(&self) -> LayerKind {
                $kind
            }
        }
    };
}

activation!(
    /// `max(x, 0)`.
    Relu, |x| x.relu(), LayerKind::Relu
);
activation!(
    /// GELU with the exact Gaussian CDF (PyTorch's default).
    Gelu, |x| x.gelu()
);
activation!(
    /// The logistic function.
    Sigmoid, |x| x.sigmoid()
);
activation!(
    /// The hyperbolic tangent.
    Tanh, |x| x.tanh()
);

/// Leaky ReLU with a negative slope (PyTorch's default 0.01).
#[derive(Debug, Clone, Copy)]
pub struct LeakyRelu {
    /// The slope for negative inputs.
    pub negative_slope: f32,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu {
            negative_slope: 0.01,
        }
    }
}

impl Module for LeakyRelu {
    fn forward(&mut self, _cx: &mut Ctx, x: &Var) -> Result<Var> {
        Ok(x.leaky_relu(self.negative_slope))
    }
    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}
    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}
    fn describe(&self) -> String {
        format!("LeakyRelu({})", self.negative_slope)
    }
}

/// Softmax over an axis (default the last).
#[derive(Debug, Clone, Copy)]
pub struct Softmax {
    /// The axis (negative counts from the end).
    pub axis: i64,
}

impl Default for Softmax {
    fn default() -> Self {
        Softmax { axis: -1 }
    }
}

impl Module for Softmax {
    fn forward(&mut self, _cx: &mut Ctx, x: &Var) -> Result<Var> {
        Ok(x.try_softmax(self.axis)?)
    }
    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}
    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}
    fn describe(&self) -> String {
        format!("Softmax(axis {})", self.axis)
    }
}
