//! Ensembles: averaging the predictions of several models (the source articles' trick of
//! training a few networks from different seeds and averaging their outputs).
//!
//! ```
//! use gradwork_nn::ensemble::{predict_ensemble, Combine};
//! use gradwork_nn::{layers::Linear, Module};
//! use gradwork_tensor::{Rng, Tensor};
//!
//! let mut models: Vec<Box<dyn Module>> = (0..3)
//!     .map(|seed| Box::new(Linear::new(4, 3, &mut Rng::seed_from(seed))) as Box<dyn Module>)
//!     .collect();
//! let x = Tensor::ones(&[5, 4]);
//! let p = predict_ensemble(&mut models, &x, Combine::MeanOfSoftmax).unwrap();
//! assert_eq!(p.shape(), &[5, 3]);
//! // Averaged probabilities still sum to one per row.
//! assert!(p.sum(-1, false).to_vec().iter().all(|s| (s - 1.0).abs() < 1e-5));
//! ```

use gradwork_autodiff::Var;
use gradwork_tensor::Tensor;

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::module::{join_path, Module};
use crate::param::Param;

/// How member outputs (`[n, C]`, or any shape all members share) are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Combine {
    /// The elementwise mean of the outputs as they are: averages probabilities when the members
    /// end in a softmax or sigmoid, or logits when they do not.
    #[default]
    Mean,
    /// A softmax over the last axis of each member's logits, then the mean: averaged
    /// probabilities from logit models.
    MeanOfSoftmax,
}

fn shape_disagreement(member: usize, first: &[usize], got: &[usize]) -> NnError {
    NnError::BadInput {
        layer: "Ensemble".into(),
        expected: format!(
            "every member's prediction to have member 0's shape {first:?}, but member {member}'s differs"
        ),
        got: got.to_vec(),
    }
}

/// Combines predictions already computed (one tensor per model). An empty list or a shape
/// disagreement is an error.
pub fn average_predictions(predictions: &[Tensor], combine: Combine) -> Result<Tensor> {
    let vars: Vec<Var> = predictions.iter().cloned().map(Var::constant).collect();
    Ok(combine_vars(&vars, combine)?.into_value())
}

fn combine_vars(outputs: &[Var], combine: Combine) -> Result<Var> {
    let Some(first) = outputs.first() else {
        return Err(NnError::InvalidConfig {
            layer: "Ensemble",
            reason: "an ensemble needs at least one member".into(),
        });
    };
    let mut total: Option<Var> = None;
    for (member, output) in outputs.iter().enumerate() {
        if output.shape() != first.shape() {
            return Err(shape_disagreement(member, first.shape(), output.shape()));
        }
        let term = match combine {
            Combine::Mean => output.clone(),
            Combine::MeanOfSoftmax => output.try_softmax(-1)?,
        };
        total = Some(match total {
            None => term,
            Some(sum) => sum.try_add(&term)?,
        });
    }
    // `outputs` is non-empty, so `total` was set in the loop.
    let total = total.expect("at least one member");
    Ok(total.div_scalar(outputs.len() as f32))
}

/// Runs every model on `input` in evaluation mode and combines their predictions.
pub fn predict_ensemble(
    models: &mut [Box<dyn Module>],
    input: &Tensor,
    combine: Combine,
) -> Result<Tensor> {
    let (mut cx, x) = (Ctx::eval(), Var::constant(input.clone()));
    let outputs = models
        .iter_mut()
        .map(|m| m.forward(&mut cx, &x))
        .collect::<Result<Vec<_>>>()?;
    Ok(combine_vars(&outputs, combine)?.into_value())
}

/// [`predict_ensemble`] for models of one concrete type.
pub fn predict_ensemble_of<M: Module>(
    models: &mut [M],
    input: &Tensor,
    combine: Combine,
) -> Result<Tensor> {
    let (mut cx, x) = (Ctx::eval(), Var::constant(input.clone()));
    let outputs = models
        .iter_mut()
        .map(|m| m.forward(&mut cx, &x))
        .collect::<Result<Vec<_>>>()?;
    Ok(combine_vars(&outputs, combine)?.into_value())
}

/// An ensemble as one [`Module`]: the forward pass runs every member and combines their
/// outputs (differentiably, so the whole ensemble can be trained or fine-tuned at once).
/// Members' parameters are named `0.…`, `1.…`, like a [`Sequential`](crate::Sequential).
#[derive(Default)]
pub struct Ensemble {
    members: Vec<Box<dyn Module>>,
    combine: Combine,
}

impl Ensemble {
    /// An ensemble of `members` combined with `combine`.
    pub fn new(members: Vec<Box<dyn Module>>, combine: Combine) -> Self {
        Ensemble { members, combine }
    }

    /// The members.
    pub fn members(&self) -> &[Box<dyn Module>] {
        &self.members
    }

    /// Mutable access to the members.
    pub fn members_mut(&mut self) -> &mut [Box<dyn Module>] {
        &mut self.members
    }
}

impl Module for Ensemble {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        let outputs = self
            .members
            .iter_mut()
            .map(|m| m.forward(cx, input))
            .collect::<Result<Vec<_>>>()?;
        combine_vars(&outputs, self.combine)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        for (i, m) in self.members.iter().enumerate() {
            m.visit_params(&join_path(prefix, &i.to_string()), f);
        }
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        for (i, m) in self.members.iter_mut().enumerate() {
            m.visit_params_mut(&join_path(prefix, &i.to_string()), f);
        }
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (i, m) in self.members.iter().enumerate() {
            m.visit_buffers(&join_path(prefix, &i.to_string()), f);
        }
    }

    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor)) {
        for (i, m) in self.members.iter_mut().enumerate() {
            m.visit_buffers_mut(&join_path(prefix, &i.to_string()), f);
        }
    }

    fn describe(&self) -> String {
        format!(
            "Ensemble({} members, {:?})",
            self.members.len(),
            self.combine
        )
    }
}
