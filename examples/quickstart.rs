//! The smallest tour of gradwork's tensors: seeded random data, a matrix product with a
//! broadcast bias, a softmax, and a reduction.
//!
//! Run with `cargo run --release --example quickstart`. Expected output: a 4x3 matrix of class
//! probabilities whose rows each sum to 1, and the same numbers on every run and thread count.

use gradwork::prelude::*;

fn main() {
    let mut rng = Rng::seed_from(42);
    let x = Tensor::rand_normal(&[4, 5], 0.0, 1.0, &mut rng);
    let w = Tensor::rand_uniform(&[5, 3], -0.5, 0.5, &mut rng);
    let b = Tensor::from_vec(vec![0.1, 0.0, -0.1], &[3]);
    let logits = x.matmul(&w) + &b;
    let probabilities = logits.softmax(-1);
    println!("logits =\n{logits}\n");
    println!("softmax(logits) =\n{probabilities}\n");
    println!("row sums = {}", probabilities.sum(-1, false));
    println!("predicted classes = {:?}", probabilities.argmax(-1));
}
