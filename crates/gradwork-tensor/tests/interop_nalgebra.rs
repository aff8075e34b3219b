//! The nalgebra conversions (feature `nalgebra`): element (row, column) agrees on both sides for
//! any tensor layout, round trips are exact, and ranks other than 2 (matrices) or 1 (vectors)
//! are refused with an error naming the shape. Without the feature this file compiles to nothing;
//! run it with `cargo test -p gradwork-tensor --features nalgebra`.
#![cfg(feature = "nalgebra")]

mod common;

use common::{make_operand, Recipe};
use gradwork_tensor::{Rng, Tensor, TensorError};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;

proptest! {
    #![proptest_config(common::proptest_config(64))]

    #[test]
    fn tensor_to_matrix_keeps_every_element_for_any_layout(
        rows in 0..=7usize, columns in 0..=7usize, recipe in 0u8..16, seed in any::<u64>(),
    ) {
        let mut rng = Rng::seed_from(seed);
        let (t, values) = make_operand(&[rows, columns], Recipe::from_bits(recipe), &mut rng);
        let m = DMatrix::<f32>::try_from(&t).unwrap();
        prop_assert_eq!(m.shape(), (rows, columns));
        for i in 0..rows {
            for j in 0..columns {
                prop_assert_eq!(m[(i, j)], values[i * columns + j]);
            }
        }
        let back = Tensor::from(&m);
        prop_assert_eq!(back.shape(), &[rows, columns]);
        prop_assert_eq!(back.to_vec(), values);
    }

    #[test]
    fn matrix_to_tensor_round_trips(rows in 0..=7usize, columns in 0..=7usize, seed in any::<u64>()) {
        let mut rng = Rng::seed_from(seed);
        let m = DMatrix::from_fn(rows, columns, |_, _| rng.next_normal() as f32);
        let t = Tensor::from(&m);
        for i in 0..rows {
            for j in 0..columns {
                prop_assert_eq!(t.get(&[i, j]), m[(i, j)]);
            }
        }
        prop_assert_eq!(DMatrix::<f32>::try_from(&t).unwrap(), m);
    }

    #[test]
    fn vectors_round_trip(len in 0..=20usize, recipe in 0u8..16, seed in any::<u64>()) {
        let mut rng = Rng::seed_from(seed);
        let (t, values) = make_operand(&[len], Recipe::from_bits(recipe), &mut rng);
        let v = DVector::<f32>::try_from(&t).unwrap();
        prop_assert_eq!(v.as_slice(), &values[..]);
        let back = Tensor::from(&v);
        prop_assert_eq!(back.shape(), &[len]);
        prop_assert_eq!(back.to_vec(), values);
    }
}

#[test]
fn products_agree_after_conversion() {
    let mut rng = Rng::seed_from(1);
    let a = Tensor::rand_normal(&[5, 7], 0.0, 1.0, &mut rng);
    let b = Tensor::rand_normal(&[7, 3], 0.0, 1.0, &mut rng);
    let ours = DMatrix::<f32>::try_from(&a.matmul(&b)).unwrap();
    let theirs = DMatrix::<f32>::try_from(&a).unwrap() * DMatrix::<f32>::try_from(&b).unwrap();
    assert!((ours - theirs).abs().max() < 1e-5);
}

#[test]
fn wrong_ranks_are_refused_with_the_shape() {
    for shape in [vec![], vec![4], vec![2, 3, 4]] {
        let err = DMatrix::<f32>::try_from(&Tensor::zeros(&shape)).unwrap_err();
        match &err {
            TensorError::InvalidArgument { op, shape: s, .. } => {
                assert_eq!((*op, s), ("to_dmatrix", &shape));
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("2-D"), "{err}");
    }
    for shape in [vec![], vec![4, 1], vec![1, 4]] {
        let err = DVector::<f32>::try_from(&Tensor::zeros(&shape)).unwrap_err();
        assert!(
            matches!(&err, TensorError::InvalidArgument { op: "to_dvector", shape: s, .. } if *s == shape),
            "{err:?}"
        );
    }
}
