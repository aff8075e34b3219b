//! `matmul` against a naive f64 triple loop and against nalgebra's `DMatrix<f64>` product, on random
//! shapes with `torch.matmul` semantics: 2-D, batched, broadcast batch axes and 1-D operands, with
//! operands that are transposed, narrowed, strided and broadcast views.

mod common;

use common::{make_operand, numel, ravel, unravel, Recipe};
use gradwork_tensor::{Rng, Tensor};
use nalgebra::DMatrix;
use proptest::prelude::*;

/// One operand's shape and logical values.
struct Operand<'a> {
    shape: &'a [usize],
    values: &'a [f32],
}

/// The expected result of `a @ b`: its shape and, per output element, the exact (f64) value and
/// `sum |a_ip * b_pj|`, which bounds the rounding error of any f32 evaluation order.
struct Expected {
    shape: Vec<usize>,
    value: Vec<f64>,
    magnitude: Vec<f64>,
    /// Per batch, the two matrices as nalgebra sees them.
    matrices: Vec<(DMatrix<f64>, DMatrix<f64>)>,
    m: usize,
    k: usize,
    n: usize,
}

fn batch_broadcast(lhs: &[usize], rhs: &[usize]) -> Vec<usize> {
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

/// Element `(row, col)` of batch `batch` of a (possibly batch-broadcast) matrix operand.
fn element(op: &Operand, matrix: (usize, usize), batch: &[usize], row: usize, col: usize) -> f64 {
    let own_batch = &op.shape[..op.shape.len().saturating_sub(2)];
    let lead = batch.len() - own_batch.len();
    let mut index: Vec<usize> = own_batch
        .iter()
        .enumerate()
        .map(|(a, &d)| if d == 1 { 0 } else { batch[lead + a] })
        .collect();
    let mut shape = own_batch.to_vec();
    index.extend([row, col]);
    shape.extend([matrix.0, matrix.1]);
    op.values[ravel(&index, &shape)] as f64
}

fn reference(a: &Operand, b: &Operand) -> Expected {
    // A 1-D left operand is one row, a 1-D right operand one column (torch.matmul).
    let (m, k) = match a.shape {
        [k] => (1, *k),
        [.., m, k] => (*m, *k),
        [] => unreachable!("0-d operands are rejected before this"),
    };
    let n = match b.shape {
        [_] => 1,
        [.., n] => *n,
        [] => unreachable!(),
    };
    let a_batch = &a.shape[..a.shape.len().saturating_sub(2)];
    let b_batch = &b.shape[..b.shape.len().saturating_sub(2)];
    let batch = batch_broadcast(a_batch, b_batch);
    let mut shape = batch.clone();
    if a.shape.len() > 1 {
        shape.push(m);
    }
    if b.shape.len() > 1 {
        shape.push(n);
    }
    let mut expected = Expected {
        shape,
        value: vec![],
        magnitude: vec![],
        matrices: vec![],
        m,
        k,
        n,
    };
    for flat in 0..numel(&batch) {
        let bi = unravel(flat, &batch);
        let am = DMatrix::from_fn(m, k, |i, p| element(a, (m, k), &bi, i, p));
        let bm = DMatrix::from_fn(k, n, |p, j| element(b, (k, n), &bi, p, j));
        for i in 0..m {
            for j in 0..n {
                let (mut sum, mut magnitude) = (0.0f64, 0.0f64);
                for p in 0..k {
                    sum += am[(i, p)] * bm[(p, j)];
                    magnitude += (am[(i, p)] * bm[(p, j)]).abs();
                }
                expected.value.push(sum);
                expected.magnitude.push(magnitude);
            }
        }
        expected.matrices.push((am, bm));
    }
    expected
}

/// Forward error bound of a k-term f32 dot product, `gamma_k * sum |a b|` with unit roundoff
/// 2^-24, plus one rounding of the result; doubled for slack. Far below any indexing mistake.
fn tolerance(k: usize, magnitude: f64) -> f64 {
    2.0 * (k as f64 + 1.0) * 2f64.powi(-24) * magnitude
}

fn check_matmul(a_shape: &[usize], b_shape: &[usize], recipes: (u8, u8), seed: u64) {
    let mut rng = Rng::seed_from(seed);
    let (a, a_values) = make_operand(a_shape, Recipe::from_bits(recipes.0), &mut rng);
    let (b, b_values) = make_operand(b_shape, Recipe::from_bits(recipes.1), &mut rng);
    let context = format!(
        "{a_shape:?} @ {b_shape:?}, recipes {:?} / {:?}",
        Recipe::from_bits(recipes.0),
        Recipe::from_bits(recipes.1)
    );
    let got = a
        .try_matmul(&b)
        .unwrap_or_else(|e| panic!("{context}: {e}"));
    let want = reference(
        &Operand {
            shape: a_shape,
            values: &a_values,
        },
        &Operand {
            shape: b_shape,
            values: &b_values,
        },
    );
    assert_eq!(got.shape(), &want.shape[..], "{context}");
    let got = got.to_vec();
    for (flat, &g) in got.iter().enumerate() {
        let tol = tolerance(want.k, want.magnitude[flat]);
        assert!(
            (g as f64 - want.value[flat]).abs() <= tol,
            "{context}: element {flat} is {g}, the f64 loop gives {} (tolerance {tol})",
            want.value[flat]
        );
    }
    // nalgebra, batch by batch.
    let per_batch = want.m * want.n;
    for (batch, (am, bm)) in want.matrices.iter().enumerate() {
        let product = am * bm;
        for i in 0..want.m {
            for j in 0..want.n {
                let flat = batch * per_batch + i * want.n + j;
                let tol = tolerance(want.k, want.magnitude[flat]);
                assert!(
                    (got[flat] as f64 - product[(i, j)]).abs() <= tol,
                    "{context}: batch {batch} ({i}, {j}) is {}, nalgebra gives {}",
                    got[flat],
                    product[(i, j)]
                );
            }
        }
    }
}

/// Operand shapes for `a @ b`: batch axes that broadcast, and sometimes a 1-D operand.
fn matmul_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    let rows = prop_oneof![6 => 0..=9usize, 1 => 60..=140usize];
    let inner = prop_oneof![6 => 0..=12usize, 1 => 30..=80usize];
    let cols = prop_oneof![6 => 0..=12usize, 1 => 30..=70usize];
    (
        (rows, inner, cols),
        prop::collection::vec(1..=3usize, 0..=2),
        (0..=2usize, any::<u8>(), 0..=2usize, any::<u8>()),
        (0..5u8, 0..5u8),
    )
        .prop_map(
            |((m, k, n), batch, (ar, a_ones, br, b_ones), (a_kind, b_kind))| {
                let operand_batch = |rank: usize, ones: u8| -> Vec<usize> {
                    let rank = rank.min(batch.len());
                    batch[batch.len() - rank..]
                        .iter()
                        .enumerate()
                        .map(|(i, &d)| if (ones >> i) & 1 == 1 { 1 } else { d })
                        .collect()
                };
                // Kind 0 is a 1-D operand (one in five).
                let a = if a_kind == 0 {
                    vec![k]
                } else {
                    let mut s = operand_batch(ar, a_ones);
                    s.extend([m, k]);
                    s
                };
                let b = if b_kind == 0 {
                    vec![k]
                } else {
                    let mut s = operand_batch(br, b_ones);
                    s.extend([k, n]);
                    s
                };
                (a, b)
            },
        )
}

proptest! {
    #![proptest_config(common::proptest_config(128))]

    #[test]
    fn matmul_matches_a_naive_f64_loop_and_nalgebra(
        (a_shape, b_shape) in matmul_shapes(),
        recipes in (0u8..16, 0u8..16),
        seed in any::<u64>(),
    ) {
        check_matmul(&a_shape, &b_shape, recipes, seed);
    }
}

#[test]
fn large_products_on_the_parallel_path_match_the_references() {
    // Above the parallel threshold, with more than one 64-row block and a partial last block,
    // including transposed (1), narrowed (2), strided (4) and broadcast (8) operands.
    let cases: [(&[usize], &[usize]); 4] = [
        (&[130, 65], &[65, 97]),
        (&[257, 128], &[128, 33]),
        (&[3, 70, 50], &[50, 80]),
        (&[2, 1, 66, 40], &[3, 40, 70]),
    ];
    for (a, b) in cases {
        for recipes in [(0, 0), (1, 1), (2, 5), (5, 2), (15, 15)] {
            check_matmul(a, b, recipes, 11);
        }
    }
}

#[test]
fn transposed_operands_are_not_copied_and_match_the_explicit_transpose() {
    let mut rng = Rng::seed_from(5);
    let a = Tensor::rand_normal(&[40, 70], 0.0, 1.0, &mut rng);
    let b = Tensor::rand_normal(&[30, 40], 0.0, 1.0, &mut rng);
    let at = a.t();
    assert!(!at.is_contiguous() && at.shares_storage_with(&a));
    let via_view = at.matmul(&b.t());
    let via_copy = at.contiguous().matmul(&b.t().contiguous());
    let (x, y) = (via_view.to_vec(), via_copy.to_vec());
    assert!(x
        .iter()
        .zip(&y)
        .all(|(p, q)| (p - q).abs() <= 1e-4 * (1.0 + q.abs())));
}
