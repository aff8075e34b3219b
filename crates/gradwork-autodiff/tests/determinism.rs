//! The determinism contract (docs/determinism.md) for gradients: an MLP and a small CNN give
//! bitwise-identical gradients in rayon pools of 1, 2 and 3 threads. The sizes are big enough
//! that matmul, convolution and pooling take their parallel paths.

use gradwork_autodiff::loss::{cross_entropy_with_logits, Reduction};
use gradwork_autodiff::{Graph, Var};
use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Rng, Tensor};

/// The gradients of every parameter, as raw bits, computed inside a pool of `threads` threads.
fn gradient_bits(threads: usize, compute: &(dyn Fn() -> Vec<Tensor> + Sync)) -> Vec<Vec<u32>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        assert_eq!(rayon::current_num_threads(), threads);
        compute()
            .iter()
            .map(|g| g.to_vec().iter().map(|v| v.to_bits()).collect())
            .collect()
    })
}

fn labels(n: usize, classes: usize, rng: &mut Rng) -> Vec<usize> {
    (0..n).map(|_| rng.below(classes as u64) as usize).collect()
}

fn assert_same_on_1_2_3_threads(compute: &(dyn Fn() -> Vec<Tensor> + Sync)) {
    let one = gradient_bits(1, compute);
    assert!(one.iter().all(|g| !g.is_empty()));
    // Not all zero: the comparison below means something.
    assert!(one
        .iter()
        .all(|g| g.iter().any(|&b| f32::from_bits(b) != 0.0)));
    for threads in [2, 3] {
        let other = gradient_bits(threads, compute);
        for (p, (a, b)) in one.iter().zip(&other).enumerate() {
            let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
            assert_eq!(
                differing, 0,
                "parameter {p}: {differing} gradient elements differ between 1 and {threads} threads"
            );
        }
    }
}

#[test]
fn mlp_gradients_are_bitwise_identical_on_1_2_and_3_threads() {
    let mut rng = Rng::seed_from(7);
    let (batch, input, hidden, classes) = (128, 784, 256, 10);
    let x = Tensor::rand_normal(&[batch, input], 0.0, 1.0, &mut rng);
    let y = labels(batch, classes, &mut rng);
    let w1 = Tensor::rand_normal(&[hidden, input], 0.0, 0.05, &mut rng);
    let b1 = Tensor::rand_normal(&[hidden], 0.0, 0.05, &mut rng);
    let w2 = Tensor::rand_normal(&[classes, hidden], 0.0, 0.05, &mut rng);
    let b2 = Tensor::rand_normal(&[classes], 0.0, 0.05, &mut rng);
    let compute = || {
        let graph = Graph::new();
        let params: Vec<Var> = [&w1, &b1, &w2, &b2]
            .iter()
            .map(|t| graph.leaf((*t).clone()))
            .collect();
        let logits = Var::constant(x.clone())
            .linear(&params[0], Some(&params[1]))
            .relu()
            .linear(&params[2], Some(&params[3]));
        let loss = cross_entropy_with_logits(&logits, &y, Reduction::Mean);
        let grads = graph.backward(&loss).unwrap();
        params
            .iter()
            .map(|p| grads.get(p).unwrap().clone())
            .collect()
    };
    assert_same_on_1_2_3_threads(&compute);
}

#[test]
fn cnn_gradients_are_bitwise_identical_on_1_2_and_3_threads() {
    let mut rng = Rng::seed_from(11);
    let (batch, channels, side, filters, classes) = (64, 3, 16, 8, 10);
    let x = Tensor::rand_normal(&[batch, channels, side, side], 0.0, 1.0, &mut rng);
    let y = labels(batch, classes, &mut rng);
    let conv_w = Tensor::rand_normal(&[filters, channels, 3, 3], 0.0, 0.2, &mut rng);
    let conv_b = Tensor::rand_normal(&[filters], 0.0, 0.1, &mut rng);
    let flat = filters * (side / 2) * (side / 2);
    let fc_w = Tensor::rand_normal(&[classes, flat], 0.0, 0.05, &mut rng);
    let fc_b = Tensor::rand_normal(&[classes], 0.0, 0.05, &mut rng);
    let conv = Conv2dOptions {
        padding: (1, 1),
        ..Conv2dOptions::default()
    };
    let pool = Pool2dOptions::new((2, 2));
    let compute = || {
        let graph = Graph::new();
        let params: Vec<Var> = [&conv_w, &conv_b, &fc_w, &fc_b]
            .iter()
            .map(|t| graph.leaf((*t).clone()))
            .collect();
        let features = Var::constant(x.clone())
            .conv2d(&params[0], Some(&params[1]), &conv)
            .relu()
            .max_pool2d(&pool)
            .reshape(&[batch, flat]);
        let logits = features.linear(&params[2], Some(&params[3]));
        let loss = cross_entropy_with_logits(&logits, &y, Reduction::Mean);
        let grads = graph.backward(&loss).unwrap();
        params
            .iter()
            .map(|p| grads.get(p).unwrap().clone())
            .collect()
    };
    assert_same_on_1_2_3_threads(&compute);
}
