//! Gradient clipping against naive references.

use gradwork_nn::{Param, ParamGrads};
use gradwork_optim::{clip_grad_norm, clip_grad_value, global_norm, OptimError};
use gradwork_tensor::{Rng, Tensor};
use proptest::prelude::*;

fn random_grads(sizes: &[usize], seed: u64, scale: f32) -> (Vec<Param>, ParamGrads) {
    let mut rng = Rng::seed_from(seed);
    let params: Vec<Param> = sizes
        .iter()
        .map(|&n| Param::new(Tensor::zeros(&[n])))
        .collect();
    let mut grads = ParamGrads::default();
    for p in &params {
        grads.insert(
            p,
            Tensor::rand_uniform(p.value().shape(), -scale, scale, &mut rng),
        );
    }
    (params, grads)
}

fn all(params: &[Param], grads: &ParamGrads) -> Vec<Vec<f32>> {
    params
        .iter()
        .map(|p| grads.get(p).expect("grad").to_vec())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn clip_grad_norm_matches_naive_reference(
        sizes in proptest::collection::vec(1usize..20, 1..5),
        seed in 0u64..1000,
        scale in 0.01f32..10.0,
        max_norm in 0.1f32..5.0,
    ) {
        let (params, mut grads) = random_grads(&sizes, seed, scale);
        let before = all(&params, &grads);
        let naive: f64 = before.iter().flatten().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();
        let total = clip_grad_norm(&mut grads, max_norm).expect("clip");
        prop_assert!((total as f64 - naive).abs() <= 1e-5 * naive.max(1e-6));
        let coef = (max_norm as f64 / (naive + 1e-6)).min(1.0);
        for (b, a) in before.iter().flatten().zip(all(&params, &grads).iter().flatten()) {
            prop_assert!((*a as f64 - *b as f64 * coef).abs() <= 1e-5 * (b.abs() as f64 + 1e-6));
        }
        let after = global_norm(&grads) as f64;
        prop_assert!(after <= max_norm as f64 * (1.0 + 1e-5) || naive <= max_norm as f64);
    }

    #[test]
    fn clip_grad_value_matches_naive_clamp(
        sizes in proptest::collection::vec(1usize..20, 1..5),
        seed in 0u64..1000,
        clip in 0.0f32..2.0,
    ) {
        let (params, mut grads) = random_grads(&sizes, seed, 3.0);
        let before = all(&params, &grads);
        clip_grad_value(&mut grads, clip).expect("clip");
        for (b, a) in before.iter().flatten().zip(all(&params, &grads).iter().flatten()) {
            let want = if *b > clip { clip } else if *b < -clip { -clip } else { *b };
            prop_assert_eq!(*a, want);
        }
    }
}

#[test]
fn clip_grad_norm_below_the_limit_changes_nothing_bitwise() {
    let (params, mut grads) = random_grads(&[5, 3], 1, 0.1);
    let before = all(&params, &grads);
    let total = clip_grad_norm(&mut grads, 100.0).expect("clip");
    assert!(total < 100.0);
    assert_eq!(all(&params, &grads), before);
}

#[test]
fn non_finite_norm_and_bad_limits_are_errors_that_change_nothing() {
    let p = Param::new(Tensor::zeros(&[2]));
    let mut grads = ParamGrads::default();
    grads.insert(&p, Tensor::from_vec(vec![f32::INFINITY, 1.0], &[2]));
    assert!(matches!(
        clip_grad_norm(&mut grads, 1.0),
        Err(OptimError::NonFiniteNorm { .. })
    ));
    assert_eq!(
        grads.get(&p).expect("grad").to_vec(),
        vec![f32::INFINITY, 1.0]
    );
    assert!(clip_grad_norm(&mut grads, f32::NAN).is_err());
    assert!(clip_grad_value(&mut grads, -1.0).is_err());
}
