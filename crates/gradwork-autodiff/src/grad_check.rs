//! `grad_check`: compares the tape's gradients with central finite differences.
//!
//! The function under test may return a tensor of any shape; it is reduced to a scalar with a
//! random weighting `L = sum(w * f(x))` (the trick JAX's `check_grads` uses), so one backward pass
//! checks every output element's gradient and large outputs stay cheap: each input element costs
//! two forward evaluations, whatever the output size.
//!
//! ## Tolerances, and why
//! Everything runs in f32. For each input element the numeric gradient is the central
//! difference `(L(x+h) - L(x-h)) / 2h` with `L = sum(w * f(x))` accumulated in f64. Its error has
//! two parts:
//! - truncation, about `h^2 |f'''| / 6`: with the default `step = 1e-2` that is below
//!   `2e-5 |f'''|`, so around 1e-4 for smooth functions of inputs of order 1 (`|f'''|` up to ~10);
//! - rounding, about `ulp(y) / h` for outputs `y` (each output element is an f32): about 1e-4
//!   for outputs of magnitude up to ~10, growing with the output's magnitude.
//!
//! A gradient element passes when
//! `|analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)` with the defaults
//! `rtol = 1e-2` and `atol = 1e-3`. That is about 100 times the numeric error above, so correct
//! rules pass reliably, while the mistakes gradient rules actually have (a wrong factor, sign or
//! transposition, a missed broadcast sum, a gradient sent to the wrong element) are errors of
//! order 100% and fail. `atol` covers gradients near zero, where a relative error means nothing.
//!
//! When to change them: where `|f'''|` is large (`ln` or `1/x` near 0, binary cross-entropy near
//! probabilities 0 or 1), lower `step` (halving it divides truncation by 4 and doubles
//! rounding); where outputs are large (a summed loss over many elements), keep them of order
//! 1-10 or raise `atol`. Inputs must stay well over `step` away from kinks (0 for relu/abs, the
//! clamp bounds, ties in max/min, `x = t` for L1): there the two one-sided slopes differ and no
//! tolerance is right. The gradient property tests of this crate follow these rules.

use gradwork_tensor::{Rng, Tensor};

use crate::error::{AutodiffError, Result};
use crate::graph::Graph;
use crate::var::Var;

/// Settings for [`grad_check()`]; the defaults and when to change them are explained in the
/// [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheckConfig {
    /// The finite-difference step `h`.
    pub step: f32,
    /// Relative tolerance.
    pub rtol: f32,
    /// Absolute tolerance.
    pub atol: f32,
    /// Seed of the random output weighting.
    pub seed: u64,
}

impl Default for GradCheckConfig {
    fn default() -> Self {
        GradCheckConfig {
            step: 1e-2,
            rtol: 1e-2,
            atol: 1e-3,
            seed: 0,
        }
    }
}

/// The worst disagreement found for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputReport {
    /// The largest `|analytic - numeric|` over the input's elements.
    pub max_abs_error: f32,
    /// The flat index of the first element outside the tolerance, if any.
    pub first_failure: Option<usize>,
    /// The analytic gradient.
    pub analytic: Tensor,
    /// The numeric gradient.
    pub numeric: Tensor,
}

/// What [`grad_check()`] found, one entry per input.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// One report per input, in order.
    pub inputs: Vec<InputReport>,
}

impl GradCheckReport {
    /// True when every element of every input is within the tolerance.
    pub fn passed(&self) -> bool {
        self.inputs.iter().all(|r| r.first_failure.is_none())
    }
}

impl std::fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, r) in self.inputs.iter().enumerate() {
            write!(
                f,
                "input {i}: max |analytic - numeric| = {:e}",
                r.max_abs_error
            )?;
            if let Some(at) = r.first_failure {
                let (a, n) = (r.analytic.to_vec()[at], r.numeric.to_vec()[at]);
                write!(f, " (FAILS at flat index {at}: analytic {a}, numeric {n})")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

fn weighted_sum(output: &Tensor, weights: &[f32]) -> f64 {
    output
        .to_vec()
        .iter()
        .zip(weights)
        .map(|(&y, &w)| y as f64 * w as f64)
        .sum()
}

/// Checks the gradients of `f` at `inputs` against central finite differences.
///
/// `f` receives one variable per input (tracked for the analytic pass, untracked for the
/// numeric evaluations) and returns the output variable.
///
/// ```
/// use gradwork_autodiff::{grad_check, GradCheckConfig, Var};
/// use gradwork_tensor::Tensor;
///
/// let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3]);
/// let report = grad_check(|v: &[Var]| Ok(v[0].tanh().mul(&v[0])), &[x], GradCheckConfig::default()).unwrap();
/// assert!(report.passed(), "{report}");
/// ```
pub fn grad_check(
    f: impl Fn(&[Var]) -> Result<Var>,
    inputs: &[Tensor],
    config: GradCheckConfig,
) -> Result<GradCheckReport> {
    let graph = Graph::new();
    let leaves: Vec<Var> = inputs.iter().map(|t| graph.leaf(t.contiguous())).collect();
    let output = f(&leaves)?;
    let mut rng = Rng::seed_from(config.seed);
    // Weights in [0.5, 1.5) with a random sign: never near zero, so no output is ignored.
    let weights: Vec<f32> = (0..output.value().numel())
        .map(|_| {
            let w = 0.5 + rng.next_f32();
            if rng.next_u64() & 1 == 0 {
                w
            } else {
                -w
            }
        })
        .collect();
    let weight_tensor = Tensor::from_vec(weights.clone(), output.shape());
    let grads = if output.is_tracked() {
        Some(graph.backward_with(&output, weight_tensor)?)
    } else {
        None
    };
    let evaluate = |values: &[Tensor]| -> Result<f64> {
        let vars: Vec<Var> = values.iter().cloned().map(Var::constant).collect();
        let out = f(&vars)?;
        if out.shape() != output.shape() {
            return Err(AutodiffError::Invalid {
                op: "grad_check",
                reason: format!(
                    "f returned shape {:?}, then {:?}",
                    output.shape(),
                    out.shape()
                ),
            });
        }
        Ok(weighted_sum(out.value(), &weights))
    };
    let mut reports = Vec::with_capacity(inputs.len());
    for (which, leaf) in leaves.iter().enumerate() {
        let analytic = grads
            .as_ref()
            .and_then(|g| g.get(leaf).cloned())
            .unwrap_or_else(|| Tensor::zeros(leaf.shape()));
        let analytic_values = analytic.to_vec();
        let mut numeric = vec![0.0f32; analytic_values.len()];
        let mut values: Vec<Tensor> = inputs.iter().map(Tensor::contiguous).collect();
        for (i, slot) in numeric.iter_mut().enumerate() {
            let original = values[which].to_vec()[i];
            values[which].data_mut()[i] = original + config.step;
            let plus = evaluate(&values)?;
            values[which].data_mut()[i] = original - config.step;
            let minus = evaluate(&values)?;
            values[which].data_mut()[i] = original;
            *slot = ((plus - minus) / (2.0 * config.step as f64)) as f32;
        }
        let mut max_abs_error = 0.0f32;
        let mut first_failure = None;
        for (i, (&a, &n)) in analytic_values.iter().zip(&numeric).enumerate() {
            let err = (a - n).abs();
            max_abs_error = max_abs_error.max(err);
            let ok = err <= config.atol + config.rtol * a.abs().max(n.abs());
            if !ok && first_failure.is_none() {
                first_failure = Some(i);
            }
        }
        reports.push(InputReport {
            max_abs_error,
            first_failure,
            analytic,
            numeric: Tensor::from_vec(numeric, leaf.shape()),
        });
    }
    Ok(GradCheckReport { inputs: reports })
}
