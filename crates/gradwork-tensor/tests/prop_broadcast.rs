//! Broadcasting binary ops against a naive reference: every output element is computed from
//! explicit NumPy broadcast index arithmetic on the operands' logical values, for random
//! broadcastable shape pairs (size-1 axes, 0-d operands, empty axes) and operands laid out as
//! permuted, narrowed, strided and broadcast views.

mod common;

use common::{make_operand, numel, ravel, same_float, unravel, Recipe};
use gradwork_tensor::{Result, Rng, Tensor};
use proptest::prelude::*;

type TryOp = fn(&Tensor, &Tensor) -> Result<Tensor>;
type ScalarOp = fn(f32, f32) -> f32;

/// Each op with its elementwise definition on f32 (IEEE operations round exactly once, so the
/// kernel and the reference must agree bit for bit).
fn ops() -> Vec<(&'static str, TryOp, ScalarOp)> {
    fn nan_or(x: f32, y: f32, f: fn(f32, f32) -> f32) -> f32 {
        if x.is_nan() || y.is_nan() {
            f32::NAN
        } else {
            f(x, y)
        }
    }
    fn mask(c: bool) -> f32 {
        if c {
            1.0
        } else {
            0.0
        }
    }
    vec![
        ("add", Tensor::try_add, |x, y| x + y),
        ("sub", Tensor::try_sub, |x, y| x - y),
        ("mul", Tensor::try_mul, |x, y| x * y),
        ("div", Tensor::try_div, |x, y| x / y),
        ("pow", Tensor::try_pow, f32::powf),
        ("maximum", Tensor::try_maximum, |x, y| {
            nan_or(x, y, f32::max)
        }),
        ("minimum", Tensor::try_minimum, |x, y| {
            nan_or(x, y, f32::min)
        }),
        ("eq", Tensor::try_eq_mask, |x, y| mask(x == y)),
        ("ne", Tensor::try_ne_mask, |x, y| mask(x != y)),
        ("lt", Tensor::try_lt_mask, |x, y| mask(x < y)),
        ("le", Tensor::try_le_mask, |x, y| mask(x <= y)),
        ("gt", Tensor::try_gt_mask, |x, y| mask(x > y)),
        ("ge", Tensor::try_ge_mask, |x, y| mask(x >= y)),
    ]
}

/// The broadcast shape, by NumPy's rule written out: align from the right, a 1 takes the other size.
fn broadcast_reference(lhs: &[usize], rhs: &[usize]) -> Vec<usize> {
    let ndim = lhs.len().max(rhs.len());
    (0..ndim)
        .map(|i| {
            let l = (i + lhs.len()).checked_sub(ndim).map_or(1, |j| lhs[j]);
            let r = (i + rhs.len()).checked_sub(ndim).map_or(1, |j| rhs[j]);
            if l == 1 {
                r
            } else {
                l
            }
        })
        .collect()
}

/// The operand's element that feeds output index `out`: drop leading axes, pin size-1 axes to 0.
fn operand_value(values: &[f32], shape: &[usize], out: &[usize]) -> f32 {
    let lead = out.len() - shape.len();
    let index: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(a, &d)| if d == 1 { 0 } else { out[lead + a] })
        .collect();
    values[ravel(&index, shape)]
}

/// A broadcastable pair: a common shape, and for each operand a suffix of it with some axes set to 1.
fn shape_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    let dim = prop_oneof![1 => Just(0usize), 8 => 1..=4usize];
    (
        prop::collection::vec(dim, 0..=4),
        0..=4usize,
        0..=4usize,
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(out, left_rank, right_rank, left_ones, right_ones)| {
            let operand = |rank: usize, ones: u8| -> Vec<usize> {
                let rank = rank.min(out.len());
                out[out.len() - rank..]
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| if (ones >> i) & 1 == 1 { 1 } else { d })
                    .collect()
            };
            (
                operand(left_rank, left_ones),
                operand(right_rank, right_ones),
            )
        })
}

fn check_every_op(lhs_shape: &[usize], rhs_shape: &[usize], recipes: (u8, u8), seed: u64) {
    let mut rng = Rng::seed_from(seed);
    let (a, a_vals) = make_operand(lhs_shape, Recipe::from_bits(recipes.0), &mut rng);
    let (b, b_vals) = make_operand(rhs_shape, Recipe::from_bits(recipes.1), &mut rng);
    assert_eq!(a.to_vec().len(), a_vals.len());
    let out_shape = broadcast_reference(lhs_shape, rhs_shape);
    for (name, op, reference) in ops() {
        let got = op(&a, &b).unwrap_or_else(|e| panic!("{name} refused broadcastable shapes: {e}"));
        assert_eq!(
            got.shape(),
            &out_shape[..],
            "{name} {lhs_shape:?} {rhs_shape:?}"
        );
        let got = got.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let index = unravel(flat, &out_shape);
            let x = operand_value(&a_vals, lhs_shape, &index);
            let y = operand_value(&b_vals, rhs_shape, &index);
            let want = reference(x, y);
            assert!(
                same_float(g, want),
                "{name}({x}, {y}) at {index:?} of {out_shape:?}: got {g}, want {want} \
                 (lhs {lhs_shape:?} recipe {:?}, rhs {rhs_shape:?} recipe {:?})",
                Recipe::from_bits(recipes.0),
                Recipe::from_bits(recipes.1),
            );
        }
    }
}

proptest! {
    #![proptest_config(common::proptest_config(256))]

    #[test]
    fn binary_ops_match_explicit_broadcast_index_arithmetic(
        (lhs, rhs) in shape_pair(),
        recipes in (0u8..16, 0u8..16),
        seed in any::<u64>(),
    ) {
        check_every_op(&lhs, &rhs, recipes, seed);
    }

    #[test]
    fn broadcasting_is_symmetric_in_shape((lhs, rhs) in shape_pair(), seed in any::<u64>()) {
        let mut rng = Rng::seed_from(seed);
        let (a, _) = make_operand(&lhs, Recipe::CONTIGUOUS, &mut rng);
        let (b, _) = make_operand(&rhs, Recipe::CONTIGUOUS, &mut rng);
        let ab = a.try_add(&b).unwrap();
        let ba = b.try_add(&a).unwrap();
        prop_assert_eq!(ab.shape(), ba.shape());
        prop_assert_eq!(ab.to_vec(), ba.to_vec());
    }
}

#[test]
fn zero_dimensional_operands_broadcast_against_anything() {
    for shape in [vec![], vec![0], vec![3], vec![2, 1, 4]] {
        for recipes in [(0, 0), (0, 15), (15, 0), (5, 3)] {
            check_every_op(&[], &shape, recipes, 7);
            check_every_op(&shape, &[], recipes, 8);
        }
    }
}

#[test]
fn large_broadcasts_on_the_parallel_path_match_the_reference() {
    // More output elements than the parallel threshold, with rows shorter and longer than a chunk.
    for (lhs, rhs) in [
        (vec![70, 1, 1000], vec![1, 3, 1000]),
        (vec![300, 257], vec![257]),
        (vec![40_000, 1], vec![1, 3]),
    ] {
        assert!(numel(&broadcast_reference(&lhs, &rhs)) > 1 << 16);
        check_every_op(&lhs, &rhs, (0, 0), 1);
        check_every_op(&lhs, &rhs, (7, 6), 2);
    }
}

#[test]
fn operators_agree_with_the_try_forms() {
    let mut rng = Rng::seed_from(3);
    let (a, _) = make_operand(&[2, 3, 4], Recipe::from_bits(1), &mut rng);
    let (b, _) = make_operand(&[3, 1], Recipe::from_bits(2), &mut rng);
    assert_eq!((&a + &b).to_vec(), a.try_add(&b).unwrap().to_vec());
    assert_eq!((&a - &b).to_vec(), a.try_sub(&b).unwrap().to_vec());
    assert_eq!((&a * &b).to_vec(), a.try_mul(&b).unwrap().to_vec());
    let quotient = (&a / &b).to_vec();
    let want = a.try_div(&b).unwrap().to_vec();
    assert!(quotient.iter().zip(&want).all(|(&x, &y)| same_float(x, y)));
}
