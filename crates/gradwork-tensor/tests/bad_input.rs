//! Bad input never panics: for every binary op and for matmul, 10,000 random shape pairs (ranks
//! 0-4, sizes 0-5, about half of them compatible) give either a result of the right shape or the
//! documented `TensorError::ShapeMismatch` naming the op and both shapes. Each call runs under
//! `catch_unwind`, so a panic or an out-of-bounds access inside a kernel is reported with its shapes.

use std::panic::{catch_unwind, AssertUnwindSafe};

use gradwork_tensor::{Result, Rng, Tensor, TensorError};

const PAIRS_PER_OP: usize = 10_000;

type TryOp = fn(&Tensor, &Tensor) -> Result<Tensor>;

const BINARY_OPS: [(&str, TryOp); 13] = [
    ("add", Tensor::try_add),
    ("sub", Tensor::try_sub),
    ("mul", Tensor::try_mul),
    ("div", Tensor::try_div),
    ("pow", Tensor::try_pow),
    ("maximum", Tensor::try_maximum),
    ("minimum", Tensor::try_minimum),
    ("eq", Tensor::try_eq_mask),
    ("ne", Tensor::try_ne_mask),
    ("lt", Tensor::try_lt_mask),
    ("le", Tensor::try_le_mask),
    ("gt", Tensor::try_gt_mask),
    ("ge", Tensor::try_ge_mask),
];

fn random_shape(rng: &mut Rng) -> Vec<usize> {
    let rank = rng.below(5) as usize;
    (0..rank).map(|_| rng.below(6) as usize).collect()
}

/// A shape related to `base` (a suffix with some sizes replaced by 1 and, sometimes, one size
/// changed), so that about half of the pairs are compatible.
fn related_shape(base: &[usize], rng: &mut Rng) -> Vec<usize> {
    let rank = rng.below(base.len() as u64 + 1) as usize;
    let mut shape: Vec<usize> = base[base.len() - rank..]
        .iter()
        .map(|&d| if rng.below(3) == 0 { 1 } else { d })
        .collect();
    if !shape.is_empty() && rng.below(4) == 0 {
        let axis = rng.below(shape.len() as u64) as usize;
        shape[axis] = rng.below(6) as usize;
    }
    shape
}

fn shape_pair(rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let lhs = random_shape(rng);
    let rhs = if rng.below(2) == 0 {
        random_shape(rng)
    } else {
        related_shape(&lhs, rng)
    };
    if rng.below(2) == 0 {
        (lhs, rhs)
    } else {
        (rhs, lhs)
    }
}

/// A pair for matmul: half random, half built to multiply (the right operand's batch axes related
/// to the left's, its row count equal to the left's column count), with some sizes then changed.
fn matmul_pair(rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let lhs = random_shape(rng);
    if lhs.is_empty() || rng.below(2) == 0 {
        return (lhs, random_shape(rng));
    }
    let k = lhs[lhs.len() - 1];
    let rhs = if rng.below(4) == 0 {
        vec![k]
    } else {
        let batch = &lhs[..lhs.len().saturating_sub(2)];
        let mut rhs = related_shape(batch, rng);
        rhs.extend([k, rng.below(6) as usize]);
        rhs
    };
    let mut pair = (lhs, rhs);
    if rng.below(5) == 0 {
        let side = if rng.below(2) == 0 {
            &mut pair.0
        } else {
            &mut pair.1
        };
        let axis = rng.below(side.len() as u64) as usize;
        side[axis] = rng.below(6) as usize;
    }
    pair
}

/// A tensor of `shape`, sometimes as a non-contiguous (axis-reversed) view.
fn operand(shape: &[usize], rng: &mut Rng) -> Tensor {
    let n = shape.iter().product();
    if shape.len() >= 2 && rng.below(2) == 0 {
        let reversed: Vec<usize> = shape.iter().rev().copied().collect();
        let perm: Vec<usize> = (0..shape.len()).rev().collect();
        Tensor::from_fn(&reversed, |i| i as f32 - 3.0).permute(&perm)
    } else {
        Tensor::from_vec((0..n).map(|i| i as f32 * 0.5).collect(), shape)
    }
}

/// NumPy broadcasting, written out: `None` when some aligned pair of sizes differs and neither is 1.
fn expected_broadcast(lhs: &[usize], rhs: &[usize]) -> Option<Vec<usize>> {
    let ndim = lhs.len().max(rhs.len());
    (0..ndim)
        .map(|i| {
            let l = (i + lhs.len()).checked_sub(ndim).map_or(1, |j| lhs[j]);
            let r = (i + rhs.len()).checked_sub(ndim).map_or(1, |j| rhs[j]);
            match (l, r) {
                _ if l == r => Some(l),
                (1, _) => Some(r),
                (_, 1) => Some(l),
                _ => None,
            }
        })
        .collect()
}

/// torch.matmul's result shape, or `None` when the operands do not multiply.
fn expected_matmul(lhs: &[usize], rhs: &[usize]) -> Option<Vec<usize>> {
    if lhs.is_empty() || rhs.is_empty() {
        return None;
    }
    let (a_batch, k) = (&lhs[..lhs.len().saturating_sub(2)], lhs[lhs.len() - 1]);
    let (b_batch, k2) = match rhs.len() {
        1 => (&rhs[..0], rhs[0]),
        r => (&rhs[..r - 2], rhs[r - 2]),
    };
    if k != k2 {
        return None;
    }
    let mut shape = expected_broadcast(a_batch, b_batch)?;
    if lhs.len() > 1 {
        shape.push(lhs[lhs.len() - 2]);
    }
    if rhs.len() > 1 {
        shape.push(rhs[rhs.len() - 1]);
    }
    Some(shape)
}

/// Calls `op` on `PAIRS_PER_OP` random pairs and checks each outcome against `expected`.
fn check_op(
    name: &str,
    op: TryOp,
    pairs: fn(&mut Rng) -> (Vec<usize>, Vec<usize>),
    expected: fn(&[usize], &[usize]) -> Option<Vec<usize>>,
    seed: u64,
) {
    let mut rng = Rng::seed_from(seed);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..PAIRS_PER_OP {
        let (lhs, rhs) = pairs(&mut rng);
        let (a, b) = (operand(&lhs, &mut rng), operand(&rhs, &mut rng));
        let outcome = catch_unwind(AssertUnwindSafe(|| op(&a, &b)))
            .unwrap_or_else(|_| panic!("{name} panicked on shapes {lhs:?} and {rhs:?}"));
        match (outcome, expected(&lhs, &rhs)) {
            (Ok(result), Some(shape)) => {
                assert_eq!(result.shape(), &shape[..], "{name} {lhs:?} {rhs:?}");
                assert_eq!(result.to_vec().len(), shape.iter().product::<usize>());
                accepted += 1;
            }
            (Err(error), None) => {
                let message = error.to_string();
                match error {
                    TensorError::ShapeMismatch {
                        op, lhs: l, rhs: r, ..
                    } => {
                        assert_eq!((op, &l, &r), (name, &lhs, &rhs), "{message}");
                    }
                    other => panic!("{name} {lhs:?} {rhs:?}: not a ShapeMismatch: {other:?}"),
                }
                let prefix = format!("{name}: shapes {lhs:?} and {rhs:?} are incompatible");
                assert!(message.starts_with(&prefix), "{message}");
                refused += 1;
            }
            (Ok(result), None) => {
                panic!(
                    "{name} accepted {lhs:?} and {rhs:?} (gave {:?})",
                    result.shape()
                )
            }
            (Err(error), Some(shape)) => {
                panic!("{name} refused {lhs:?} and {rhs:?}, expected shape {shape:?}: {error}")
            }
        }
    }
    // The generator must exercise both outcomes substantially.
    assert!(
        accepted > PAIRS_PER_OP / 5 && refused > PAIRS_PER_OP / 5,
        "{name}: {accepted} accepted, {refused} refused"
    );
}

#[test]
fn binary_ops_return_the_broadcast_shape_or_a_shape_mismatch_never_a_panic() {
    for (i, (name, op)) in BINARY_OPS.into_iter().enumerate() {
        check_op(name, op, shape_pair, expected_broadcast, 100 + i as u64);
    }
}

#[test]
fn matmul_returns_the_torch_shape_or_a_shape_mismatch_never_a_panic() {
    check_op(
        "matmul",
        Tensor::try_matmul,
        matmul_pair,
        expected_matmul,
        7,
    );
}

#[test]
fn zip3_map_computes_in_one_pass_and_refuses_different_shapes() {
    let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let b = Tensor::from_vec(vec![10.0, 20.0, 30.0, 40.0], &[2, 2]).t();
    let c = Tensor::full(&[2, 2], 0.5);
    // A transposed operand is read in logical order.
    let out = a.try_zip3_map(&b, &c, "fma", |x, y, z| x * y + z).unwrap();
    assert_eq!(out.to_vec(), vec![10.5, 60.5, 60.5, 160.5]);
    let err = a
        .try_zip3_map(&Tensor::ones(&[4]), &c, "fma", |x, _, _| x)
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("fma") && message.contains("[2, 2]") && message.contains("[4]"),
        "{message}"
    );
}
