//! `Sequential`: modules applied in order, named `0`, `1`, ... in the state dict.

use gradwork_autodiff::Var;
use gradwork_tensor::Tensor;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::module::{join_path, Module};
use crate::param::Param;

/// Modules applied one after another (Keras' `Sequential`, PyTorch's `nn.Sequential`).
///
/// One exception to the order, invisible in the results: a ReLU directly before a max pooling
/// runs after it, on the pooled (smaller) tensor, with the same values and gradients (see
/// [`crate::reorder`]).
///
/// ```
/// use gradwork_nn::{layers::Linear, activations::Relu, Ctx, Module, Sequential};
/// use gradwork_autodiff::Var;
/// use gradwork_tensor::{Rng, Tensor};
///
/// let mut rng = Rng::seed_from(0);
/// let mut model = Sequential::new()
///     .push(Linear::new(4, 8, &mut rng))
///     .push(Relu)
///     .push(Linear::new(8, 2, &mut rng));
/// assert_eq!(model.num_params(), 4 * 8 + 8 + 8 * 2 + 2);
/// let y = model.forward(&mut Ctx::eval(), &Var::constant(Tensor::ones(&[3, 4]))).unwrap();
/// assert_eq!(y.shape(), &[3, 2]);
/// assert!(model.state_dict().get("2.weight").is_some());
/// ```
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// An empty sequence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a module (builder style).
    pub fn push(mut self, module: impl Module + 'static) -> Self {
        self.layers.push(Box::new(module));
        self
    }

    /// Appends a boxed module.
    pub fn push_boxed(&mut self, module: Box<dyn Module>) {
        self.layers.push(module);
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when there are no modules.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The modules.
    pub fn layers(&self) -> &[Box<dyn Module>] {
        &self.layers
    }

    /// Mutable access to the modules.
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Module>] {
        &mut self.layers
    }
}

impl Module for Sequential {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        // As written, except that a ReLU before a max pooling runs after it (same values and
        // gradients, a quarter of the work for 2x2 windows; see `reorder`).
        crate::reorder::forward_stack(cx, input, &mut self.layers)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_params(&join_path(prefix, &i.to_string()), f);
        }
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params_mut(&join_path(prefix, &i.to_string()), f);
        }
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_buffers(&join_path(prefix, &i.to_string()), f);
        }
    }

    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_buffers_mut(&join_path(prefix, &i.to_string()), f);
        }
    }

    fn describe(&self) -> String {
        let inner: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("Sequential[{}]", inner.join(", "))
    }
}
