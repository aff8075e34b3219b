//! Elementwise ops of one variable, on random shapes, directly and through a transposed
//! (non-contiguous) view, with inputs kept away from kinks and outside each op's domain edge.

use gradwork_autodiff::Var;
use gradwork_tensor::Tensor;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::common::{any_tensor, away_from, check, config, maybe_t};

/// Checks `f` applied to `x` (or its transposed view) with `x` kept 0.05 away from `kinks`.
fn check_unary(
    op: &str,
    x: Tensor,
    transposed: bool,
    kinks: &[f32],
    f: impl Fn(&Var) -> Var,
) -> Result<(), TestCaseError> {
    let x = away_from(x, kinks, 0.05);
    check(op, |v| Ok(f(&maybe_t(&v[0], transposed))), &[x])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn neg_gradient_matches_finite_differences(x in any_tensor(3, 4, -2.0, 2.0), tr in any::<bool>()) {
        check_unary("neg", x, tr, &[], Var::neg)?;
    }

    #[test]
    fn abs_gradient_matches_finite_differences(x in any_tensor(3, 4, -2.0, 2.0), tr in any::<bool>()) {
        check_unary("abs", x, tr, &[0.0], Var::abs)?;
    }

    #[test]
    fn exp_gradient_matches_finite_differences(x in any_tensor(3, 4, -2.0, 2.0), tr in any::<bool>()) {
        check_unary("exp", x, tr, &[], Var::exp)?;
    }

    #[test]
    fn ln_gradient_matches_finite_differences(x in any_tensor(3, 4, 0.2, 3.0), tr in any::<bool>()) {
        check_unary("ln", x, tr, &[], Var::ln)?;
    }

    #[test]
    fn sqrt_gradient_matches_finite_differences(x in any_tensor(3, 4, 0.2, 3.0), tr in any::<bool>()) {
        check_unary("sqrt", x, tr, &[], Var::sqrt)?;
    }

    #[test]
    fn square_gradient_matches_finite_differences(x in any_tensor(3, 4, -2.0, 2.0), tr in any::<bool>()) {
        check_unary("square", x, tr, &[], Var::square)?;
    }

    #[test]
    fn recip_gradient_matches_finite_differences(x in any_tensor(3, 4, -2.0, 2.0), tr in any::<bool>()) {
        // |x| >= 0.5 keeps the curvature of 1/x small enough for central differences.
        let x = away_from(x, &[0.0], 0.5);
        check_unary("recip", x, tr, &[], Var::recip)?;
    }

    #[test]
    fn powf_gradient_matches_finite_differences(
        x in any_tensor(3, 4, 0.3, 2.0),
        e in -2.0f32..3.0,
        tr in any::<bool>(),
    ) {
        check_unary("powf", x, tr, &[], |v| v.powf(e))?;
    }

    #[test]
    fn sigmoid_gradient_matches_finite_differences(x in any_tensor(3, 4, -4.0, 4.0), tr in any::<bool>()) {
        check_unary("sigmoid", x, tr, &[], Var::sigmoid)?;
    }

    #[test]
    fn tanh_gradient_matches_finite_differences(x in any_tensor(3, 4, -3.0, 3.0), tr in any::<bool>()) {
        check_unary("tanh", x, tr, &[], Var::tanh)?;
    }

    #[test]
    fn relu_gradient_matches_finite_differences(x in any_tensor(3, 4, -2.0, 2.0), tr in any::<bool>()) {
        check_unary("relu", x, tr, &[0.0], Var::relu)?;
    }

    #[test]
    fn leaky_relu_gradient_matches_finite_differences(
        x in any_tensor(3, 4, -2.0, 2.0),
        slope in 0.0f32..0.5,
        tr in any::<bool>(),
    ) {
        check_unary("leaky_relu", x, tr, &[0.0], |v| v.leaky_relu(slope))?;
    }

    #[test]
    fn gelu_gradient_matches_finite_differences(x in any_tensor(3, 4, -3.0, 3.0), tr in any::<bool>()) {
        check_unary("gelu", x, tr, &[], Var::gelu)?;
    }

    #[test]
    fn gelu_tanh_gradient_matches_finite_differences(x in any_tensor(3, 4, -3.0, 3.0), tr in any::<bool>()) {
        check_unary("gelu_tanh", x, tr, &[], Var::gelu_tanh)?;
    }

    #[test]
    fn clamp_gradient_matches_finite_differences(
        x in any_tensor(3, 4, -2.0, 2.0),
        lo in -1.0f32..0.0,
        width in 0.2f32..1.5,
        tr in any::<bool>(),
    ) {
        let hi = lo + width;
        check_unary("clamp", x, tr, &[lo, hi], |v| v.clamp(lo, hi))?;
    }

    #[test]
    fn sin_gradient_matches_finite_differences(x in any_tensor(3, 4, -3.0, 3.0), tr in any::<bool>()) {
        check_unary("sin", x, tr, &[], Var::sin)?;
    }

    #[test]
    fn cos_gradient_matches_finite_differences(x in any_tensor(3, 4, -3.0, 3.0), tr in any::<bool>()) {
        check_unary("cos", x, tr, &[], Var::cos)?;
    }

    #[test]
    fn scalar_arithmetic_gradients_match_finite_differences(
        x in any_tensor(3, 4, -2.0, 2.0),
        s in -3.0f32..3.0,
        tr in any::<bool>(),
    ) {
        let d = if s.abs() < 0.25 { 0.25 } else { s };
        check_unary("add_scalar", x.clone(), tr, &[], |v| v.add_scalar(s))?;
        check_unary("sub_scalar", x.clone(), tr, &[], |v| v.sub_scalar(s))?;
        check_unary("mul_scalar", x.clone(), tr, &[], |v| v.mul_scalar(s))?;
        check_unary("div_scalar", x, tr, &[], |v| v.div_scalar(d))?;
    }
}
