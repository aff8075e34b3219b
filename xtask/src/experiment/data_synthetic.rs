//! Synthetic data of the `xor` and `linear_regression` kinds, drawn from the manifest seed.

use gradwork::tensor::{Rng, Tensor};

use super::data::Table;

/// The RNG stream of synthetic data, forked from the manifest seed.
pub const SYNTHETIC_STREAM: u64 = 0x5EED_DA7A;

/// The four corners of the unit square, repeated, with Gaussian noise; label `a xor b`.
pub(super) fn xor(samples: usize, noise: f64, seed: u64) -> Table {
    let mut rng = Rng::seed_from(seed).fork(SYNTHETIC_STREAM);
    let mut x = Vec::with_capacity(samples * 2);
    let mut y = Vec::with_capacity(samples);
    for i in 0..samples {
        let (a, b) = (i % 2, (i / 2) % 2);
        x.push(a as f32 + (noise * rng.next_normal()) as f32);
        x.push(b as f32 + (noise * rng.next_normal()) as f32);
        y.push(a ^ b);
    }
    Table {
        features: Tensor::from_vec(x, &[samples, 2]),
        classes: Some(y),
        values: None,
        class_names: Some(vec!["0".into(), "1".into()]),
    }
}

/// `y = sum (i + 1) x_i + 0.5 + noise` with standard normal `x`.
pub(super) fn linear(samples: usize, features: usize, noise: f64, seed: u64) -> Table {
    let mut rng = Rng::seed_from(seed).fork(SYNTHETIC_STREAM);
    let mut x = Vec::with_capacity(samples * features);
    let mut y = Vec::with_capacity(samples);
    for _ in 0..samples {
        let mut target = 0.5;
        for j in 0..features {
            let v = rng.next_normal();
            target += (j + 1) as f64 * v;
            x.push(v as f32);
        }
        y.push((target + noise * rng.next_normal()) as f32);
    }
    Table {
        features: Tensor::from_vec(x, &[samples, features]),
        classes: None,
        values: Some(y),
        class_names: None,
    }
}
