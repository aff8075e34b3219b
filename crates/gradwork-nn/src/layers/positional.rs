//! Positional encodings added to a `[B, T, E]` sequence of embeddings: the fixed sinusoidal table
//! of "Attention Is All You Need" and a learned table.

use gradwork_autodiff::Var;
use gradwork_tensor::{Rng, Tensor};

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::layers::attention::{check_dropout, dropout};
use crate::module::{join_path, Module};
use crate::param::Param;

fn check_input(layer: String, input: &Var, max_len: usize, d_model: usize) -> Result<usize> {
    let shape = input.shape();
    if shape.len() != 3 || shape[2] != d_model || shape[1] > max_len {
        return Err(NnError::BadInput {
            layer,
            expected: format!("[batch, time <= {max_len}, {d_model}]"),
            got: shape.to_vec(),
        });
    }
    Ok(shape[1])
}

/// The fixed encoding `PE[pos, 2i] = sin(pos / 10000^(2i/E))`, `PE[pos, 2i+1] = cos(...)`,
/// added to the input, then dropout (training only). It has no parameters and is not saved:
/// the table is a function of its size.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::SinusoidalPositionalEncoding, Ctx, Module};
/// use gradwork_tensor::Tensor;
///
/// let mut pe = SinusoidalPositionalEncoding::new(4, 10, 0.0).unwrap();
/// let y = pe.forward(&mut Ctx::eval(), &Var::constant(Tensor::zeros(&[1, 2, 4]))).unwrap();
/// // Position 1: sin(1), cos(1), sin(1/100), cos(1/100).
/// assert!((y.value().get(&[0, 1, 0]) - 1f32.sin()).abs() < 1e-6);
/// assert!((y.value().get(&[0, 1, 3]) - 0.01f32.cos()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct SinusoidalPositionalEncoding {
    table: Tensor,
    dropout: f32,
}

impl SinusoidalPositionalEncoding {
    /// A table for sequences up to `max_len` steps of width `d_model`, and a dropout probability.
    pub fn new(d_model: usize, max_len: usize, dropout: f32) -> Result<Self> {
        check_dropout("SinusoidalPositionalEncoding", dropout)?;
        if d_model == 0 || max_len == 0 {
            return Err(NnError::InvalidConfig {
                layer: "SinusoidalPositionalEncoding",
                reason: format!("d_model ({d_model}) and max_len ({max_len}) must be positive"),
            });
        }
        // Computed in f64 so long tables stay accurate at large positions.
        let table = Tensor::from_fn(&[max_len, d_model], |flat| {
            let (pos, col) = ((flat / d_model) as f64, flat % d_model);
            let pair = (col / 2 * 2) as f64;
            let angle = pos / 10000f64.powf(pair / d_model as f64);
            (if col % 2 == 0 {
                angle.sin()
            } else {
                angle.cos()
            }) as f32
        });
        Ok(SinusoidalPositionalEncoding { table, dropout })
    }

    /// The table `[max_len, d_model]`.
    pub fn table(&self) -> &Tensor {
        &self.table
    }
}

impl Module for SinusoidalPositionalEncoding {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        let (max_len, d) = (self.table.shape()[0], self.table.shape()[1]);
        let t = check_input(self.describe(), input, max_len, d)?;
        let rows = Var::constant(self.table.try_narrow(0, 0, t)?.contiguous());
        dropout(&input.try_add(&rows)?, self.dropout, cx)
    }

    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}

    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}

    fn describe(&self) -> String {
        format!(
            "SinusoidalPositionalEncoding(max_len {}, d_model {})",
            self.table.shape()[0],
            self.table.shape()[1]
        )
    }
}

/// A learned encoding: a `weight [max_len, d_model]` table (initialised `N(0, 0.02^2)`, as BERT
/// and GPT-2 do) whose first `T` rows are added to the input, then dropout (training only).
#[derive(Debug, Clone)]
pub struct LearnedPositionalEncoding {
    /// `[max_len, d_model]`.
    pub weight: Param,
    dropout: f32,
}

impl LearnedPositionalEncoding {
    /// A table for up to `max_len` steps of width `d_model`, and a dropout probability.
    pub fn new(d_model: usize, max_len: usize, dropout: f32, rng: &mut Rng) -> Result<Self> {
        check_dropout("LearnedPositionalEncoding", dropout)?;
        if d_model == 0 || max_len == 0 {
            return Err(NnError::InvalidConfig {
                layer: "LearnedPositionalEncoding",
                reason: format!("d_model ({d_model}) and max_len ({max_len}) must be positive"),
            });
        }
        Ok(LearnedPositionalEncoding {
            weight: Param::new(Tensor::rand_normal(&[max_len, d_model], 0.0, 0.02, rng)),
            dropout,
        })
    }
}

impl Module for LearnedPositionalEncoding {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        let (max_len, d) = (
            self.weight.value().shape()[0],
            self.weight.value().shape()[1],
        );
        let t = check_input(self.describe(), input, max_len, d)?;
        let rows = cx.param(&self.weight).try_narrow(0, 0, t)?;
        dropout(&input.try_add(&rows)?, self.dropout, cx)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(&join_path(prefix, "weight"), &self.weight);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(&join_path(prefix, "weight"), &mut self.weight);
    }

    fn describe(&self) -> String {
        let shape = self.weight.value().shape();
        format!(
            "LearnedPositionalEncoding(max_len {}, d_model {})",
            shape[0], shape[1]
        )
    }
}
