//! The fused losses, both reductions, inputs fed directly and as transposed views. Targets are
//! constants; inputs stay off the kinks (`x = t` for L1) and inside the domains (probabilities
//! in (0.2, 0.8) for binary cross-entropy).

use gradwork_autodiff::loss::{self, Reduction};
use gradwork_autodiff::{GradCheckConfig, Var};
use gradwork_tensor::Tensor;
use proptest::prelude::*;

use crate::common::{check, check_with, config, maybe_t, shape, t_shape, tensor};

fn reduction() -> impl Strategy<Value = Reduction> {
    prop_oneof![Just(Reduction::Mean), Just(Reduction::Sum)]
}

/// An input (stored transposed when the flag is set), a target of the op's shape, the flag.
fn input_and_target(
    lo: f32,
    hi: f32,
    t_lo: f32,
    t_hi: f32,
) -> impl Strategy<Value = (Tensor, Tensor, bool)> {
    // At most 9 elements: a summed loss stays small enough that its f32 rounding (ulp(L) / step
    // in the numeric gradient) is well inside grad_check's absolute tolerance.
    (shape(2, 3), any::<bool>()).prop_flat_map(move |(s, tr)| {
        (
            tensor(t_shape(&s, tr), lo, hi),
            tensor(s, t_lo, t_hi),
            Just(tr),
        )
    })
}

/// Logits `[N, C]` (stored transposed when the flag is set) and class indices.
fn logits_and_classes() -> impl Strategy<Value = (Tensor, Vec<usize>, bool)> {
    (1usize..=4, 1usize..=5, any::<bool>()).prop_flat_map(|(n, c, tr)| {
        (
            tensor(t_shape(&[n, c], tr), -3.0, 3.0),
            prop::collection::vec(0..c, n),
            Just(tr),
        )
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mse_loss_gradient_matches((x, t, tr) in input_and_target(-1.0, 1.0, -1.0, 1.0), r in reduction()) {
        check("mse_loss", |v| loss::try_mse_loss(&maybe_t(&v[0], tr), &t, r), &[x])?;
    }

    #[test]
    fn l1_loss_gradient_matches((x, t, tr) in input_and_target(-1.0, 1.0, -1.0, 1.0), r in reduction()) {
        // Keep every |x - t| >= 0.05: the L1 kink is at x = t.
        let view = maybe_t(&Var::constant(x.clone()), tr).value().contiguous();
        let shifted: Vec<f32> = view.to_vec().iter().zip(t.to_vec())
            .map(|(&x, t)| if (x - t).abs() < 0.05 { t + 0.05 } else { x })
            .collect();
        let fixed = Tensor::from_vec(shifted, view.shape());
        let x = if tr { fixed.t().contiguous() } else { fixed };
        check("l1_loss", |v| loss::try_l1_loss(&maybe_t(&v[0], tr), &t, r), &[x])?;
    }

    #[test]
    fn binary_cross_entropy_gradient_matches((p, t, tr) in input_and_target(0.2, 0.8, 0.0, 1.0), r in reduction()) {
        // ln p has a large third derivative near 0 and 1: a smaller step keeps the central
        // difference's truncation error (h^2 |f'''| / 6) small where the gradient is near zero.
        let config = GradCheckConfig { step: 5e-3, ..GradCheckConfig::default() };
        check_with("binary_cross_entropy", |v| loss::try_binary_cross_entropy(&maybe_t(&v[0], tr), &t, r), &[p], config)?;
    }

    #[test]
    fn binary_cross_entropy_with_logits_gradient_matches((x, t, tr) in input_and_target(-6.0, 6.0, 0.0, 1.0), r in reduction()) {
        check("binary_cross_entropy_with_logits", |v| loss::try_binary_cross_entropy_with_logits(&maybe_t(&v[0], tr), &t, r), &[x])?;
    }

    #[test]
    fn cross_entropy_with_logits_gradient_matches((x, classes, tr) in logits_and_classes(), r in reduction()) {
        check("cross_entropy_with_logits", |v| loss::try_cross_entropy_with_logits(&maybe_t(&v[0], tr), &classes, r), &[x])?;
    }

    #[test]
    fn cross_entropy_with_probs_gradient_matches(
        (x, raw, tr) in (1usize..=4, 1usize..=5, any::<bool>()).prop_flat_map(|(n, c, tr)| {
            (tensor(t_shape(&[n, c], tr), -3.0, 3.0), tensor(vec![n, c], 0.0, 1.0), Just(tr))
        }),
        r in reduction(),
        normalise in any::<bool>(),
    ) {
        // Soft targets: rows normalised to sum to one, or left unnormalised (the general rule).
        let target = if normalise { raw.try_div(&raw.sum(1, true).add_scalar(1e-3)).unwrap() } else { raw };
        check("cross_entropy_with_probs", |v| loss::try_cross_entropy_with_probs(&maybe_t(&v[0], tr), &target, r), &[x])?;
    }

    #[test]
    fn nll_loss_gradient_matches((x, classes, tr) in logits_and_classes(), r in reduction()) {
        check("nll_loss", |v| loss::try_nll_loss(&maybe_t(&v[0], tr).try_log_softmax(1)?, &classes, r), &[x])?;
    }
}
