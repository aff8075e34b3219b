//! Fused, numerically stable loss functions. Each records one node on the tape, computes its
//! value with the sum accumulated in f64 (in element order, so it is reproducible) and writes
//! its gradient in one pass. Targets are constants: plain tensors or class indices.
//!
//! Conventions follow PyTorch's `torch.nn.functional` (see `fixtures/README.md`):
//! elementwise losses (`mse_loss`, `l1_loss`, `binary_cross_entropy*`) average over **all
//! elements**; the class losses (`cross_entropy_*`, `nll_loss`) average over the **batch** `N`,
//! also for probability targets.
//!
//! ```
//! use gradwork_autodiff::loss::{cross_entropy_with_logits, Reduction};
//! use gradwork_autodiff::Graph;
//! use gradwork_tensor::Tensor;
//!
//! let graph = Graph::new();
//! let logits = graph.leaf(Tensor::from_vec(vec![2.0, 0.0, 0.0, 0.0, 3.0, 0.0], &[2, 3]));
//! let loss = cross_entropy_with_logits(&logits, &[0, 1], Reduction::Mean);
//! let grads = graph.backward(&loss).unwrap();
//! // The gradient of each row is (softmax - one_hot) / N: it sums to zero.
//! let g = grads.get(&logits).unwrap().to_vec();
//! assert!(g[..3].iter().sum::<f32>().abs() < 1e-6);
//! ```

use gradwork_tensor::{Elem, Tensor, TensorError};

use crate::error::{or_panic, AutodiffError, Result};
use crate::var::Var;

/// How per-element (or per-sample) losses are combined into the scalar result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The average (over all elements, or over the batch for the class losses).
    #[default]
    Mean,
    /// The sum.
    Sum,
}

impl Reduction {
    /// The factor that turns the sum over `count` terms into this reduction.
    fn scale(self, count: usize) -> f64 {
        match self {
            Reduction::Mean => 1.0 / count.max(1) as f64,
            Reduction::Sum => 1.0,
        }
    }
}

/// Records a loss whose value is `scale * sum_i term(x_i, t_i)` over the elements of `input`
/// and `target` (equal shapes), with gradient `upstream * scale * slope(x_i, t_i)`.
fn elementwise_loss(
    name: &'static str,
    input: &Var,
    target: &Tensor,
    reduction: Reduction,
    term: fn(f64, f64) -> f64,
    slope: fn(Elem, Elem) -> Elem,
) -> Result<Var> {
    if input.shape() != target.shape() {
        return Err(TensorError::shape_mismatch_because(
            name,
            input.shape(),
            target.shape(),
            "the target must have the input's shape",
        )
        .into());
    }
    let x = input.value().contiguous();
    let t = target.contiguous();
    let (xs, ts) = (
        x.as_slice().expect("contiguous"),
        t.as_slice().expect("contiguous"),
    );
    let scale = reduction.scale(xs.len());
    let total: f64 = xs
        .iter()
        .zip(ts)
        .map(|(&x, &t)| term(x as f64, t as f64))
        .sum();
    let value = Tensor::scalar((total * scale) as Elem);
    Var::from_op(name, &[input], value, move || {
        move |g: &Tensor, _: &[bool]| {
            let factor = (g.item() as f64 * scale) as Elem;
            let xs = x.as_slice().expect("contiguous");
            let ts = t.as_slice().expect("contiguous");
            let grad: Vec<Elem> = xs
                .iter()
                .zip(ts)
                .map(|(&x, &t)| factor * slope(x, t))
                .collect();
            Ok(vec![Some(Tensor::try_from_vec(grad, x.shape())?)])
        }
    })
}

/// Mean squared error `(x - t)^2`, averaged over all elements or summed.
pub fn try_mse_loss(input: &Var, target: &Tensor, reduction: Reduction) -> Result<Var> {
    elementwise_loss(
        "mse_loss",
        input,
        target,
        reduction,
        |x, t| (x - t) * (x - t),
        |x, t| 2.0 * (x - t),
    )
}

/// Mean squared error (see [`try_mse_loss`]).
#[track_caller]
pub fn mse_loss(input: &Var, target: &Tensor, reduction: Reduction) -> Var {
    or_panic(try_mse_loss(input, target, reduction))
}

/// Mean absolute error `|x - t|` (L1), averaged over all elements or summed. The gradient at
/// `x = t` is 0 (PyTorch's `sign(0) = 0`).
pub fn try_l1_loss(input: &Var, target: &Tensor, reduction: Reduction) -> Result<Var> {
    elementwise_loss(
        "l1_loss",
        input,
        target,
        reduction,
        |x, t| (x - t).abs(),
        |x, t| {
            if x > t {
                1.0
            } else if x < t {
                -1.0
            } else {
                0.0
            }
        },
    )
}

/// Mean absolute error (see [`try_l1_loss`]).
#[track_caller]
pub fn l1_loss(input: &Var, target: &Tensor, reduction: Reduction) -> Var {
    or_panic(try_l1_loss(input, target, reduction))
}

/// Binary cross-entropy from logits, `max(x, 0) - x t + ln(1 + e^{-|x|})`: the same as
/// `-(t ln σ(x) + (1 - t) ln(1 - σ(x)))` but finite and accurate for any `|x|` (the naive form
/// overflows or loses everything past `|x| ≈ 17` in f32). Targets may be soft, in `[0, 1]`.
/// Gradient `σ(x) - t`.
pub fn try_binary_cross_entropy_with_logits(
    logits: &Var,
    target: &Tensor,
    reduction: Reduction,
) -> Result<Var> {
    elementwise_loss(
        "binary_cross_entropy_with_logits",
        logits,
        target,
        reduction,
        |x, t| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p(),
        |x, t| gradwork_tensor::sigmoid(x) - t,
    )
}

/// Binary cross-entropy from logits (see [`try_binary_cross_entropy_with_logits`]).
#[track_caller]
pub fn binary_cross_entropy_with_logits(
    logits: &Var,
    target: &Tensor,
    reduction: Reduction,
) -> Var {
    or_panic(try_binary_cross_entropy_with_logits(
        logits, target, reduction,
    ))
}

/// The floor PyTorch puts under each log in `binary_cross_entropy`, so a probability of exactly
/// 0 or 1 costs 100, not infinity.
const BCE_LOG_FLOOR: f64 = -100.0;
/// The floor under `p (1 - p)` in the gradient of `binary_cross_entropy` (PyTorch's value).
const BCE_GRAD_EPS: Elem = 1e-12;

/// Binary cross-entropy from probabilities `p` in `[0, 1]`: `-(t ln p + (1 - t) ln(1 - p))` with
/// each log clamped at `>= -100` as PyTorch does. Gradient `(p - t) / max(p (1 - p), 1e-12)`.
/// Prefer [`try_binary_cross_entropy_with_logits`], which is stable without clamping. A
/// probability outside `[0, 1]` is an error.
pub fn try_binary_cross_entropy(input: &Var, target: &Tensor, reduction: Reduction) -> Result<Var> {
    let bad = input
        .value()
        .to_vec()
        .into_iter()
        .enumerate()
        .find(|(_, p)| !(0.0..=1.0).contains(p));
    if let Some((at, p)) = bad {
        return Err(AutodiffError::Invalid {
            op: "binary_cross_entropy",
            reason: format!("input probabilities must lie in [0, 1]; found {p} at flat index {at}"),
        });
    }
    elementwise_loss(
        "binary_cross_entropy",
        input,
        target,
        reduction,
        |p, t| -(t * p.ln().max(BCE_LOG_FLOOR) + (1.0 - t) * (1.0 - p).ln().max(BCE_LOG_FLOOR)),
        |p, t| (p - t) / (p * (1.0 - p)).max(BCE_GRAD_EPS),
    )
}

/// Binary cross-entropy from probabilities (see [`try_binary_cross_entropy`]).
#[track_caller]
pub fn binary_cross_entropy(input: &Var, target: &Tensor, reduction: Reduction) -> Var {
    or_panic(try_binary_cross_entropy(input, target, reduction))
}

/// Checks a `[N, C]` input and, when given, `N` class indices below `C`; returns `(N, C)`.
fn check_classes(
    name: &'static str,
    input: &Var,
    targets: Option<&[usize]>,
) -> Result<(usize, usize)> {
    let shape = input.shape();
    if shape.len() != 2 {
        return Err(
            TensorError::invalid(name, shape, "the input must be [N, C] (batch, classes)").into(),
        );
    }
    let (n, c) = (shape[0], shape[1]);
    if let Some(targets) = targets {
        if targets.len() != n {
            return Err(AutodiffError::Invalid {
                op: name,
                reason: format!(
                    "{} targets for a batch of {n} (input shape {shape:?})",
                    targets.len()
                ),
            });
        }
        if let Some((position, &index)) = targets.iter().enumerate().find(|(_, &t)| t >= c) {
            return Err(AutodiffError::TargetOutOfRange {
                loss: name,
                position,
                index,
                classes: c,
            });
        }
    }
    Ok((n, c))
}

/// Cross-entropy from logits `[N, C]` and class indices: `-log_softmax(x)[i, t_i]` per sample,
/// fused (log-sum-exp with the max subtracted, so large logits do not overflow). Gradient
/// `(softmax(x) - one_hot(t)) / N` for the mean. An index `>= C` is an
/// [`AutodiffError::TargetOutOfRange`].
pub fn try_cross_entropy_with_logits(
    logits: &Var,
    targets: &[usize],
    reduction: Reduction,
) -> Result<Var> {
    const NAME: &str = "cross_entropy_with_logits";
    let (n, c) = check_classes(NAME, logits, Some(targets))?;
    let log_probs = logits.value().try_log_softmax(1)?.contiguous();
    let lp = log_probs
        .as_slice()
        .expect("log_softmax output is contiguous");
    let scale = reduction.scale(n);
    let total: f64 = targets
        .iter()
        .enumerate()
        .map(|(i, &t)| -(lp[i * c + t] as f64))
        .sum();
    let targets = targets.to_vec();
    Var::from_op(
        NAME,
        &[logits],
        Tensor::scalar((total * scale) as Elem),
        move || {
            move |g: &Tensor, _: &[bool]| {
                let factor = (g.item() as f64 * scale) as Elem;
                let lp = log_probs.as_slice().expect("contiguous");
                let mut grad: Vec<Elem> = lp.iter().map(|&l| factor * l.exp()).collect();
                for (i, &t) in targets.iter().enumerate() {
                    grad[i * c + t] -= factor;
                }
                Ok(vec![Some(Tensor::try_from_vec(grad, &[n, c])?)])
            }
        },
    )
}

/// Cross-entropy from logits and class indices (see [`try_cross_entropy_with_logits`]).
#[track_caller]
pub fn cross_entropy_with_logits(logits: &Var, targets: &[usize], reduction: Reduction) -> Var {
    or_panic(try_cross_entropy_with_logits(logits, targets, reduction))
}

/// Cross-entropy from logits `[N, C]` and target probabilities `[N, C]` (one-hot or soft):
/// `-Σ_c t_c log_softmax(x)_c` per sample. The mean divides by `N`, not `N·C` (PyTorch's
/// convention). Gradient `softmax(x) Σ_c t_c - t` per row, which is `softmax(x) - t` when the
/// targets sum to one.
pub fn try_cross_entropy_with_probs(
    logits: &Var,
    target: &Tensor,
    reduction: Reduction,
) -> Result<Var> {
    const NAME: &str = "cross_entropy_with_probs";
    let (n, c) = check_classes(NAME, logits, None)?;
    if target.shape() != logits.shape() {
        return Err(TensorError::shape_mismatch_because(
            NAME,
            logits.shape(),
            target.shape(),
            "the target probabilities must have the logits' shape [N, C]",
        )
        .into());
    }
    let log_probs = logits.value().try_log_softmax(1)?.contiguous();
    let t = target.contiguous();
    let (lp, ts) = (
        log_probs.as_slice().expect("contiguous"),
        t.as_slice().expect("contiguous"),
    );
    let scale = reduction.scale(n);
    let total: f64 = lp
        .iter()
        .zip(ts)
        .map(|(&l, &t)| -(t as f64) * l as f64)
        .sum();
    Var::from_op(
        NAME,
        &[logits],
        Tensor::scalar((total * scale) as Elem),
        move || {
            move |g: &Tensor, _: &[bool]| {
                let factor = (g.item() as f64 * scale) as Elem;
                let lp = log_probs.as_slice().expect("contiguous");
                let ts = t.as_slice().expect("contiguous");
                let mut grad = vec![0.0; n * c];
                for ((out, lp), ts) in grad
                    .chunks_mut(c.max(1))
                    .zip(lp.chunks(c.max(1)))
                    .zip(ts.chunks(c.max(1)))
                {
                    let mass: Elem = ts.iter().sum();
                    for ((o, &l), &t) in out.iter_mut().zip(lp).zip(ts) {
                        *o = factor * (l.exp() * mass - t);
                    }
                }
                Ok(vec![Some(Tensor::try_from_vec(grad, &[n, c])?)])
            }
        },
    )
}

/// Cross-entropy from logits and target probabilities (see [`try_cross_entropy_with_probs`]).
#[track_caller]
pub fn cross_entropy_with_probs(logits: &Var, target: &Tensor, reduction: Reduction) -> Var {
    or_panic(try_cross_entropy_with_probs(logits, target, reduction))
}

/// Negative log-likelihood from log-probabilities `[N, C]` (e.g. a `log_softmax` output) and
/// class indices: `-x[i, t_i]` per sample. Gradient `-1/N` at each target position for the mean.
pub fn try_nll_loss(log_probs: &Var, targets: &[usize], reduction: Reduction) -> Result<Var> {
    const NAME: &str = "nll_loss";
    let (n, c) = check_classes(NAME, log_probs, Some(targets))?;
    let x = log_probs.value().contiguous();
    let xs = x.as_slice().expect("contiguous");
    let scale = reduction.scale(n);
    let total: f64 = targets
        .iter()
        .enumerate()
        .map(|(i, &t)| -(xs[i * c + t] as f64))
        .sum();
    let targets = targets.to_vec();
    Var::from_op(
        NAME,
        &[log_probs],
        Tensor::scalar((total * scale) as Elem),
        move || {
            move |g: &Tensor, _: &[bool]| {
                let factor = (g.item() as f64 * scale) as Elem;
                let mut grad = vec![0.0; n * c];
                for (i, &t) in targets.iter().enumerate() {
                    grad[i * c + t] -= factor;
                }
                Ok(vec![Some(Tensor::try_from_vec(grad, &[n, c])?)])
            }
        },
    )
}

/// Negative log-likelihood (see [`try_nll_loss`]).
#[track_caller]
pub fn nll_loss(log_probs: &Var, targets: &[usize], reduction: Reduction) -> Var {
    or_panic(try_nll_loss(log_probs, targets, reduction))
}
