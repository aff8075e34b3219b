//! `Dropout`: inverted dropout in training, the identity in evaluation.

use gradwork_autodiff::Var;
use gradwork_tensor::Tensor;

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::module::Module;
use crate::param::Param;

/// Inverted dropout (PyTorch's `nn.Dropout`, Keras' `Dropout`): in training each element is
/// zeroed with probability `p` and the survivors are scaled by `1 / (1 - p)`, so the expected
/// activation is unchanged and evaluation needs no rescaling. In evaluation it is the identity.
///
/// The mask is drawn from the context's RNG ([`Ctx::rng`]), so a run is reproducible from the
/// seed of the RNG the context was given.
///
/// ```
/// use gradwork_autodiff::{Graph, Var};
/// use gradwork_nn::{layers::Dropout, Ctx, Module};
/// use gradwork_tensor::{Rng, Tensor};
///
/// let mut dropout = Dropout::new(0.5).unwrap();
/// let x = Var::constant(Tensor::ones(&[1000]));
/// let graph = Graph::new();
/// let y = dropout.forward(&mut Ctx::train(&graph, Rng::seed_from(1)), &x).unwrap();
/// // Survivors are scaled to 2, the rest are 0.
/// assert!(y.value().to_vec().iter().all(|&v| v == 0.0 || v == 2.0));
/// // Evaluation leaves the input alone.
/// let same = dropout.forward(&mut Ctx::eval(), &x).unwrap();
/// assert_eq!(same.value().to_vec(), x.value().to_vec());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    p: f32,
}

impl Dropout {
    /// Dropout with drop probability `p` in `[0, 1]`.
    pub fn new(p: f32) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(NnError::InvalidConfig {
                layer: "Dropout",
                reason: format!("the drop probability must be in [0, 1], got {p}"),
            });
        }
        Ok(Dropout { p })
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }
}

impl Module for Dropout {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        if !cx.is_training() || self.p == 0.0 {
            return Ok(input.clone());
        }
        if self.p == 1.0 {
            // Everything is dropped; there is no survivor to rescale (keep_prob would be 0).
            return Ok(input.mul_scalar(0.0));
        }
        let keep_prob = 1.0 - self.p;
        let rng = cx.rng();
        let mask = Tensor::from_fn(input.shape(), |_| {
            if rng.next_f32() < keep_prob {
                1.0
            } else {
                0.0
            }
        });
        Ok(input.try_dropout_with_mask(&mask, keep_prob)?)
    }

    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}

    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}

    fn describe(&self) -> String {
        format!("Dropout(p = {})", self.p)
    }
}
