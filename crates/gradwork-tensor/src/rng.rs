//! A seeded, portable random number generator: xoshiro256++ seeded through SplitMix64.
//!
//! The `rand` crates do not promise that a seeded `StdRng` yields the same numbers across versions,
//! and gradwork promises bitwise-reproducible runs, so the generator lives here, with a golden test
//! of its first outputs. [`Rng::fork`] derives independent sub-streams from a stream's *key*, not
//! from its position, so `rng.fork(SHUFFLE).fork(epoch)` is the same generator however many numbers
//! were drawn before: a resumed run needs no saved RNG state to see the same batches.

use serde::{Deserialize, Serialize};

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// One step of SplitMix64 (Steele, Lea & Flood, 2014): advances `state` and returns a mixed value.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(GOLDEN_GAMMA);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The xoshiro256++ generator (Blackman & Vigna, 2019) with a stream key for forking.
///
/// ```
/// use gradwork_tensor::Rng;
/// let mut a = Rng::seed_from(42);
/// let mut b = Rng::seed_from(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// // Sub-streams depend only on the key, not on how far the parent has advanced.
/// let shuffle = Rng::seed_from(42).fork(1);
/// a.next_u64();
/// assert_eq!(a.fork(1), shuffle);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    key: u64,
    state: [u64; 4],
}

impl Rng {
    /// A generator for `seed`. The four state words come from SplitMix64, so no seed (not even 0)
    /// gives the all-zero state that xoshiro cannot leave.
    pub fn seed_from(seed: u64) -> Self {
        let mut sm = seed;
        let state = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Rng { key: seed, state }
    }

    /// An independent generator for sub-stream `stream` of this one (e.g. one for the split, one
    /// for initialisation, one per epoch's shuffle). It depends only on this generator's key and
    /// `stream`, never on how many numbers were drawn.
    pub fn fork(&self, stream: u64) -> Self {
        let mut sm = self.key ^ GOLDEN_GAMMA.rotate_left(17);
        let a = splitmix64(&mut sm);
        let mut sm2 = stream.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ a;
        Rng::seed_from(splitmix64(&mut sm2))
    }

    /// The stream key this generator was created from (its seed, or the derived key of a fork).
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform `f32` in `[0, 1)` with 24 random bits (every representable multiple of 2^-24).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// A uniform `f64` in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `0..bound` without modulo bias (Lemire's multiply-and-reject).
    ///
    /// # Panics
    /// If `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "Rng::below: bound must be positive");
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = (self.next_u64() as u128) * (bound as u128);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// A standard normal sample (Box-Muller in f64, one value per two uniforms).
    pub fn next_normal(&mut self) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Shuffles `items` in place (Fisher-Yates, from the back).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// A uniformly random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        self.shuffle(&mut order);
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First outputs of the reference splitmix64.c with seed 1234567.
        let mut s = 1234567u64;
        let got: Vec<u64> = (0..3).map(|_| splitmix64(&mut s)).collect();
        assert_eq!(
            got,
            vec![
                6457827717110365317,
                3203168211198807973,
                9817491932198370423
            ]
        );
    }

    #[test]
    fn xoshiro256pp_matches_the_reference_for_a_known_state() {
        // Reference: xoshiro256plusplus.c with s = {1, 2, 3, 4}.
        let mut rng = Rng {
            key: 0,
            state: [1, 2, 3, 4],
        };
        let got: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            vec![41943041, 58720359, 3588806011781223, 3591011842654386]
        );
    }

    #[test]
    fn golden_first_outputs_of_seed_42_never_change() {
        let mut rng = Rng::seed_from(42);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(got, GOLDEN_SEED_42);
    }

    // Recorded from this implementation; a change here breaks every saved experiment.
    const GOLDEN_SEED_42: [u64; 3] = [
        15021278609987233951,
        5881210131331364753,
        18149643915985481100,
    ];

    #[test]
    fn forks_are_distinct_and_position_independent() {
        let root = Rng::seed_from(7);
        let mut advanced = root.clone();
        for _ in 0..10 {
            advanced.next_u64();
        }
        assert_eq!(root.fork(3), advanced.fork(3));
        let mut a = root.fork(1);
        let mut b = root.fork(2);
        assert_ne!(a.next_u64(), b.next_u64());
        assert_ne!(root.fork(1).fork(0), root.fork(0).fork(1));
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut rng = Rng::seed_from(1);
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[rng.below(7) as usize] += 1;
        }
        for &c in &counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn normal_samples_have_unit_moments() {
        let mut rng = Rng::seed_from(5);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.next_normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }

    #[test]
    fn permutation_contains_every_index_once() {
        let mut p = Rng::seed_from(9).permutation(100);
        p.sort_unstable();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
    }
}
