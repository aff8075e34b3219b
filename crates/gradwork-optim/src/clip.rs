//! Gradient clipping by global L2 norm (PyTorch's `clip_grad_norm_`) and by value.

use gradwork_nn::ParamGrads;

use crate::error::{OptimError, Result};

/// Scales all gradients together so their global L2 norm is at most `max_norm`, and returns the
/// norm before clipping.
///
/// As PyTorch: the total norm is the L2 norm of the per-gradient L2 norms; when it exceeds
/// `max_norm` every gradient is multiplied by `max_norm / (total + 1e-6)`. Each gradient's sum of
/// squares is accumulated in f64 in element order, and gradients are visited in parameter-id
/// order, so the result is deterministic. A NaN or infinite norm is an error
/// ([`OptimError::NonFiniteNorm`]) and leaves the gradients unchanged.
///
/// ```
/// use gradwork_nn::{Param, ParamGrads};
/// use gradwork_optim::clip_grad_norm;
/// use gradwork_tensor::Tensor;
/// let p = Param::new(Tensor::zeros(&[2]));
/// let mut grads = ParamGrads::default();
/// grads.insert(&p, Tensor::from_vec(vec![3.0, 4.0], &[2]));
/// let norm = clip_grad_norm(&mut grads, 1.0).unwrap();
/// assert_eq!(norm, 5.0);
/// let g = grads.get(&p).unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm(grads: &mut ParamGrads, max_norm: f32) -> Result<f32> {
    if !(max_norm.is_finite() && max_norm >= 0.0) {
        return Err(OptimError::InvalidConfig {
            what: "clip_grad_norm",
            reason: format!("max_norm = {max_norm} must be finite and >= 0"),
        });
    }
    let total = global_norm(grads);
    if !total.is_finite() {
        return Err(OptimError::NonFiniteNorm { norm: total });
    }
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        for (_, g) in grads.iter_mut() {
            for x in g.data_mut() {
                *x *= coef;
            }
        }
    }
    Ok(total)
}

/// The global L2 norm of all gradients (the value [`clip_grad_norm`] returns), without changing them.
pub fn global_norm(grads: &ParamGrads) -> f32 {
    let mut sum_sq = 0.0f64;
    for (_, g) in grads.iter() {
        let own: f64 = g
            .to_vec()
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum();
        // PyTorch rounds each tensor's norm to f32 before combining them.
        let norm = own.sqrt() as f32;
        sum_sq += f64::from(norm) * f64::from(norm);
    }
    sum_sq.sqrt() as f32
}

/// Clamps every gradient element to `[-clip_value, clip_value]` (PyTorch's `clip_grad_value_`).
/// NaN elements stay NaN.
pub fn clip_grad_value(grads: &mut ParamGrads, clip_value: f32) -> Result<()> {
    if !(clip_value.is_finite() && clip_value >= 0.0) {
        return Err(OptimError::InvalidConfig {
            what: "clip_grad_value",
            reason: format!("clip_value = {clip_value} must be finite and >= 0"),
        });
    }
    for (_, g) in grads.iter_mut() {
        for x in g.data_mut() {
            *x = x.clamp(-clip_value, clip_value);
        }
    }
    Ok(())
}
