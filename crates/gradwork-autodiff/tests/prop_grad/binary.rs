//! Elementwise ops of two variables with broadcasting (one operand often has size-1 or missing
//! axes), with the first operand sometimes fed as a transposed view.

use gradwork_autodiff::{Result, Var};
use gradwork_tensor::Tensor;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::common::{away_from, broadcast_pair, check, config, maybe_t, t_shape, tensor};

/// Two broadcast-compatible tensors with elements in `[low, high)`, the first stored transposed
/// when the flag is set (the test transposes it back, so the op sees a strided view).
fn pair(low: f32, high: f32) -> impl Strategy<Value = (Tensor, Tensor, bool)> {
    (broadcast_pair(3, 4), any::<bool>()).prop_flat_map(move |((a, b), tr)| {
        (
            tensor(t_shape(&a, tr), low, high),
            tensor(b, low, high),
            Just(tr),
        )
    })
}

fn check_binary(
    op: &str,
    (a, b, tr): (Tensor, Tensor, bool),
    f: impl Fn(&Var, &Var) -> Result<Var>,
) -> std::result::Result<(), TestCaseError> {
    check(op, |v| f(&maybe_t(&v[0], tr), &v[1]), &[a, b])
}

/// Snaps values to a 0.1 grid, shifted by `offset`: two tensors snapped with offsets 0 and
/// 0.05 never hold values closer than 0.05, so maximum/minimum have no ties near the inputs.
fn snap(t: Tensor, offset: f32) -> Tensor {
    t.map(|v| (v * 10.0).round() / 10.0 + offset)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn add_gradient_matches_finite_differences(p in pair(-2.0, 2.0)) {
        check_binary("add", p, |a, b| a.try_add(b))?;
    }

    #[test]
    fn sub_gradient_matches_finite_differences(p in pair(-2.0, 2.0)) {
        check_binary("sub", p, |a, b| a.try_sub(b))?;
    }

    #[test]
    fn mul_gradient_matches_finite_differences(p in pair(-2.0, 2.0)) {
        check_binary("mul", p, |a, b| a.try_mul(b))?;
    }

    #[test]
    fn div_gradient_matches_finite_differences((a, b, tr) in pair(-2.0, 2.0)) {
        // |divisor| >= 0.5, as in the PyTorch fixtures.
        let b = away_from(b, &[0.0], 0.5);
        check_binary("div", (a, b, tr), |a, b| a.try_div(b))?;
    }

    #[test]
    fn pow_gradient_matches_finite_differences((a, b, tr) in pair(0.5, 2.0)) {
        // Base in [0.5, 2) (ln defined, modest curvature), exponent in [-1.5, 2).
        let b = b.map(|e| e * 2.3 - 3.0);
        check_binary("pow", (a, b, tr), |a, b| a.try_pow(b))?;
    }

    #[test]
    fn maximum_gradient_matches_finite_differences((a, b, tr) in pair(-2.0, 2.0)) {
        check_binary("maximum", (snap(a, 0.0), snap(b, 0.05), tr), |a, b| a.try_maximum(b))?;
    }

    #[test]
    fn minimum_gradient_matches_finite_differences((a, b, tr) in pair(-2.0, 2.0)) {
        check_binary("minimum", (snap(a, 0.0), snap(b, 0.05), tr), |a, b| a.try_minimum(b))?;
    }
}
