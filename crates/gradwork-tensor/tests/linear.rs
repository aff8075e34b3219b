//! `Tensor::try_linear`, whose bias and ReLU are applied as the product writes its output, gives
//! the bits of the separate ops (`matmul`, broadcast `add`, `relu`) on every path a product can
//! take: the matrix-vector kernel (one or two rows), the transposed product (fewer rows than
//! outputs), the packed kernels across several row and column blocks, row and column pieces on
//! several threads, a weight that is itself a transposed view, and an empty inner dimension.

use gradwork_tensor::{Activation, Rng, Tensor};
use rayon::ThreadPoolBuilder;

/// Equal bits, or both NaN (the payload of an operation on two NaNs depends on their order).
fn assert_same_bits(got: &Tensor, expected: &Tensor, what: &str) {
    assert_eq!(got.shape(), expected.shape(), "{what}: shape");
    let (got, expected) = (got.to_vec(), expected.to_vec());
    let first_difference = got
        .iter()
        .zip(&expected)
        .position(|(x, y)| x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()));
    if let Some(i) = first_difference {
        panic!("{what}: element {i}: {} vs {}", got[i], expected[i]);
    }
}

/// Normal values with a few infinities, NaNs and zeros of both signs.
fn awkward(shape: &[usize], rng: &mut Rng) -> Tensor {
    let mut v = Tensor::rand_normal(shape, 0.0, 1.0, rng).to_vec();
    let specials = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0];
    for (i, special) in specials.into_iter().enumerate() {
        if !v.is_empty() && rng.next_f32() < 0.5 {
            let at = (13 * i + 5) % v.len();
            v[at] = special;
        }
    }
    Tensor::from_vec(v, shape)
}

fn separate_ops(x: &Tensor, w: &Tensor, b: Option<&Tensor>, activation: Activation) -> Tensor {
    let mut y = x.matmul(&w.t());
    if let Some(b) = b {
        y = y.add(b);
    }
    match activation {
        Activation::Relu => y.relu(),
        _ => y,
    }
}

#[test]
fn fused_linear_gives_the_separate_ops_bits() {
    let mut rng = Rng::seed_from(21);
    let pool = ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let shapes = [
        (1, 784, 256),
        (2, 33, 17),
        (3, 0, 20),
        (1, 0, 4),
        (5, 40, 3),
        (32, 784, 256),
        (40, 300, 130),
        (130, 70, 97),
        (300, 520, 40),
        (20, 9, 1100),
        (1030, 3, 1040),
    ];
    for (m, k, n) in shapes {
        let x = awkward(&[m, k], &mut rng);
        let w = awkward(&[n, k], &mut rng);
        // The same weight as a transposed view of a `[in, out]` matrix.
        let w_view = w.t().contiguous().t();
        let b = awkward(&[n], &mut rng);
        for activation in [Activation::Identity, Activation::Relu] {
            for bias in [Some(&b), None] {
                let expected = separate_ops(&x, &w, bias, activation);
                let what = format!("{m}x{k}x{n} {activation:?} bias {}", bias.is_some());
                let fused = x.try_linear(&w, bias, activation).unwrap();
                assert_same_bits(&fused, &expected, &what);
                let split = pool.install(|| x.try_linear(&w, bias, activation).unwrap());
                assert_same_bits(&split, &expected, &format!("{what}, 3 threads"));
                // (The matrix-vector kernel sums in a different order for this layout, so the
                // reference is computed on the view too.)
                let expected = separate_ops(&x, &w_view, bias, activation);
                let viewed = pool.install(|| x.try_linear(&w_view, bias, activation).unwrap());
                assert_same_bits(&viewed, &expected, &format!("{what}, weight view"));
            }
        }
    }
}

#[test]
fn bad_shapes_name_the_op_and_both_shapes() {
    let x = Tensor::zeros(&[2, 3]);
    let err = x
        .try_linear(&Tensor::zeros(&[4, 5]), None, Activation::Relu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("linear") && err.contains("[2, 3]") && err.contains("[4, 5]"),
        "{err}"
    );
    let err = x
        .try_linear(
            &Tensor::zeros(&[4, 3]),
            Some(&Tensor::zeros(&[3])),
            Activation::Identity,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("linear") && err.contains("[4]"), "{err}");
    assert!(Tensor::zeros(&[3])
        .try_linear(&Tensor::zeros(&[4, 3]), None, Activation::Identity)
        .is_err());
}
