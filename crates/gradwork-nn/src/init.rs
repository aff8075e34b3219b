//! Weight initialisers, all drawing from an explicit [`Rng`] so models are reproducible.
//!
//! `fan_in`/`fan_out` follow PyTorch: for a weight `[out, in, k...]`, `fan_in = in * prod(k)`
//! and `fan_out = out * prod(k)`.

use gradwork_tensor::{Rng, Tensor};

/// `(fan_in, fan_out)` of a weight shape, as PyTorch computes them.
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape.len() {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        _ => {
            let receptive: usize = shape[2..].iter().product();
            (shape[1] * receptive, shape[0] * receptive)
        }
    }
}

/// Uniform on `[-bound, bound)`.
pub fn uniform(shape: &[usize], bound: f32, rng: &mut Rng) -> Tensor {
    Tensor::rand_uniform(shape, -bound, bound, rng)
}

/// Glorot/Xavier uniform: `U(-a, a)`, `a = gain * sqrt(6 / (fan_in + fan_out))` (Keras' Dense default).
pub fn xavier_uniform(shape: &[usize], gain: f32, rng: &mut Rng) -> Tensor {
    let (fan_in, fan_out) = fans(shape);
    uniform(shape, gain * (6.0 / (fan_in + fan_out) as f32).sqrt(), rng)
}

/// Glorot/Xavier normal: `N(0, std^2)`, `std = gain * sqrt(2 / (fan_in + fan_out))`.
pub fn xavier_normal(shape: &[usize], gain: f32, rng: &mut Rng) -> Tensor {
    let (fan_in, fan_out) = fans(shape);
    Tensor::rand_normal(
        shape,
        0.0,
        gain * (2.0 / (fan_in + fan_out) as f32).sqrt(),
        rng,
    )
}

/// He/Kaiming uniform for ReLU nets: `U(-b, b)`, `b = sqrt(6 / fan_in)` (gain sqrt 2).
pub fn kaiming_uniform(shape: &[usize], rng: &mut Rng) -> Tensor {
    let (fan_in, _) = fans(shape);
    uniform(shape, (6.0 / fan_in.max(1) as f32).sqrt(), rng)
}

/// He/Kaiming normal: `N(0, 2 / fan_in)`.
pub fn kaiming_normal(shape: &[usize], rng: &mut Rng) -> Tensor {
    let (fan_in, _) = fans(shape);
    Tensor::rand_normal(shape, 0.0, (2.0 / fan_in.max(1) as f32).sqrt(), rng)
}

/// PyTorch's default for Linear and Conv weights and biases: `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`
/// (kaiming_uniform with a = sqrt 5 reduces to this bound).
pub fn pytorch_default(shape: &[usize], fan_in: usize, rng: &mut Rng) -> Tensor {
    uniform(shape, 1.0 / (fan_in.max(1) as f32).sqrt(), rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fans_follow_pytorch() {
        assert_eq!(fans(&[64, 32]), (32, 64));
        assert_eq!(fans(&[16, 3, 5, 5]), (75, 400));
    }

    #[test]
    fn initialisers_respect_their_bounds_and_variance() {
        let mut rng = Rng::seed_from(0);
        let w = xavier_uniform(&[200, 300], 1.0, &mut rng);
        let bound = (6.0f32 / 500.0).sqrt();
        assert!(w.to_vec().iter().all(|x| x.abs() <= bound));
        let k = kaiming_normal(&[400, 500], &mut rng).to_vec();
        let var = k.iter().map(|x| (x * x) as f64).sum::<f64>() / k.len() as f64;
        assert!((var - 2.0 / 500.0).abs() < 2e-4, "{var}");
    }
}
