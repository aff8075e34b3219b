//! Conv2d, MaxPool2d, AvgPool2d and Flatten pass grad_check with respect to the input and every
//! parameter, over random small sizes and hyper-parameters.

mod prop_layers_support;

use gradwork_autodiff::GradCheckConfig;
use gradwork_nn::layers::{AvgPool2d, Conv2d, Conv2dConfig, Flatten, MaxPool2d};
use gradwork_nn::Module;
use gradwork_tensor::Rng;
use prop_layers_support::{check_layer, distinct, normal, param_values};
use proptest::prelude::*;

/// The smallest input extent that gives at least one output position.
fn min_extent(kernel: usize, dilation: usize, padding: usize) -> usize {
    (dilation * (kernel - 1) + 1)
        .saturating_sub(2 * padding)
        .max(1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn conv2d_gradients_match_finite_differences(
        n in 1usize..=2, groups in 1usize..=2, in_per_group in 1usize..=2, out_per_group in 1usize..=2,
        kh in 1usize..=3, kw in 1usize..=3, stride in 1usize..=2, padding in 0usize..=1,
        dilation in 1usize..=2, extra_h in 0usize..=2, extra_w in 0usize..=2, bias: bool, seed: u64,
    ) {
        let config = Conv2dConfig::new(groups * in_per_group, groups * out_per_group, (kh, kw))
            .with_stride((stride, stride))
            .with_padding((padding, padding))
            .with_dilation((dilation, dilation))
            .with_groups(groups)
            .with_bias(bias);
        let h = min_extent(kh, dilation, padding) + extra_h;
        let w = min_extent(kw, dilation, padding) + extra_w;
        let params = param_values(&config.init(&mut Rng::seed_from(seed)).unwrap());
        let input = normal(&[n, groups * in_per_group, h, w], seed ^ 1);
        let report = check_layer(
            move || config.init(&mut Rng::seed_from(0)).unwrap(),
            |layer: &mut Conv2d, cx, x| layer.forward(cx, x.unwrap()),
            Some(input),
            params,
            true,
            GradCheckConfig::default(),
        );
        prop_assert!(report.passed(), "{}", report);
        prop_assert_eq!(report.inputs.len(), 2 + bias as usize);
    }

    #[test]
    fn max_pool2d_gradients_match_finite_differences(
        n in 1usize..=2, c in 1usize..=2, k in 1usize..=3, stride in 1usize..=3,
        pad in 0usize..=1, extra in 0usize..=3, seed: u64,
    ) {
        let padding = pad.min(k / 2); // padding may be at most half the kernel
        let size = min_extent(k, 1, padding) + extra;
        let pool = MaxPool2d::new((k, k)).with_stride((stride, stride)).with_padding((padding, padding));
        let report = check_layer(
            move || pool,
            |layer: &mut MaxPool2d, cx, x| layer.forward(cx, x.unwrap()),
            Some(distinct(&[n, c, size, size + 1], seed)),
            vec![],
            true,
            GradCheckConfig::default(),
        );
        prop_assert!(report.passed(), "{}", report);
    }

    #[test]
    fn avg_pool2d_gradients_match_finite_differences(
        n in 1usize..=2, c in 1usize..=2, k in 1usize..=3, stride in 1usize..=3,
        pad in 0usize..=1, extra in 0usize..=3, include_pad: bool, seed: u64,
    ) {
        let padding = pad.min(k / 2);
        let size = min_extent(k, 1, padding) + extra;
        let pool = AvgPool2d::new((k, k))
            .with_stride((stride, stride))
            .with_padding((padding, padding))
            .with_count_include_pad(include_pad);
        let report = check_layer(
            move || pool,
            |layer: &mut AvgPool2d, cx, x| layer.forward(cx, x.unwrap()),
            Some(normal(&[n, c, size + 1, size], seed)),
            vec![],
            true,
            GradCheckConfig::default(),
        );
        prop_assert!(report.passed(), "{}", report);
    }

    #[test]
    fn flatten_gradients_match_finite_differences(
        dims in proptest::collection::vec(1usize..=3, 2..=4), seed: u64,
    ) {
        let report = check_layer(
            Flatten::default,
            |layer: &mut Flatten, cx, x| layer.forward(cx, x.unwrap()),
            Some(normal(&dims, seed)),
            vec![],
            true,
            GradCheckConfig::default(),
        );
        prop_assert!(report.passed(), "{}", report);
    }
}

#[test]
fn conv2d_config_and_input_errors_name_the_problem() {
    let mut rng = Rng::seed_from(0);
    let err = Conv2dConfig::new(3, 4, (3, 3))
        .with_groups(2)
        .init(&mut rng)
        .unwrap_err();
    assert!(err.to_string().contains("groups (2)"), "{err}");
    assert!(Conv2dConfig::new(3, 4, (0, 3)).init(&mut rng).is_err());
    assert!(Conv2dConfig::new(3, 4, (3, 3))
        .with_stride((0, 1))
        .init(&mut rng)
        .is_err());
    let mut conv = Conv2d::new(3, 4, (3, 3), &mut rng).unwrap();
    let x = gradwork_autodiff::Var::constant(gradwork_tensor::Tensor::zeros(&[1, 2, 5, 5]));
    let err = conv.forward(&mut gradwork_nn::Ctx::eval(), &x).unwrap_err();
    assert!(err.to_string().contains("[1, 2, 5, 5]"), "{err}");
    // PyTorch's default init bound 1/sqrt(fan_in), fan_in = 3 * 3 * 3.
    let bound = 1.0 / 27f32.sqrt();
    let w = conv.weight.value().to_vec();
    assert!(w.iter().all(|v| v.abs() <= bound));
    assert!(
        w.iter().any(|v| v.abs() > bound * 0.8),
        "the bound is reached, not a narrower one"
    );
}
