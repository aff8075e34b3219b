//! The synthetic, MNIST-shaped data every benchmark peer trains on.
//!
//! Each value is a pure function of its index, so the Rust workers and `pytorch_peer.py` build the
//! same bits without sharing a file: feature `j` of sample `i` is the top 24 bits of
//! SplitMix64(`i * 784 + j`) scaled into `[0, 1)`, and the label is the index of the largest of ten
//! 78-feature group sums. Those sums are exact in `f64` (24-bit values, at most 78 terms), so the
//! labels cannot depend on summation order. The first `n` samples are the same whatever `n` is,
//! which lets a workload that needs 2,048 samples skip generating 60,000.

/// Samples in one epoch (MNIST's training set size).
pub const N_TRAIN: usize = 60_000;
/// Features per sample (28 x 28 pixels).
pub const N_FEATURES: usize = 784;
/// Image side: a sample reshaped for the CNN is `[1, 28, 28]`.
pub const IMAGE_SIDE: usize = 28;
/// Number of classes.
pub const N_CLASSES: usize = 10;
/// The stream of the features.
pub const DATA_SEED: u64 = 42;
/// Features per class group when labels are made (10 x 78 = 780 of the 784 features).
const GROUP: usize = 78;

/// SplitMix64's output for counter `index` in stream `stream`: the state after `index + 1` steps
/// from `stream * M1`, then the usual finaliser. Wrapping arithmetic throughout, as in numpy's
/// `uint64`.
pub fn splitmix64_at(index: u64, stream: u64) -> u64 {
    const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
    const M1: u64 = 0xBF58_476D_1CE4_E5B9;
    const M2: u64 = 0x94D0_49BB_1331_11EB;
    let mut z = stream
        .wrapping_mul(M1)
        .wrapping_add(index.wrapping_add(1).wrapping_mul(GOLDEN));
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z ^ (z >> 31)
}

/// The top 24 bits of [`splitmix64_at`] as an `f32` in `[0, 1)`; exact, since 24 bits fit the
/// mantissa and the scale is a power of two.
pub fn unit_f32(index: u64, stream: u64) -> f32 {
    (splitmix64_at(index, stream) >> 40) as f32 / (1u32 << 24) as f32
}

/// `len` values `unit_f32(0..len, stream)`: the operands of the SGEMM workload
/// (stream 1 for `A`, 2 for `B`).
pub fn operand(len: usize, stream: u64) -> Vec<f32> {
    (0..len as u64).map(|i| unit_f32(i, stream)).collect()
}

/// Features (row-major `[n, 784]`) and class labels of the first `n` synthetic samples.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticMnist {
    /// `n * 784` values in `[0, 1)`.
    pub features: Vec<f32>,
    /// `n` labels in `0..10`.
    pub labels: Vec<usize>,
}

impl SyntheticMnist {
    /// Generates the first `n` samples.
    ///
    /// ```
    /// use xtask::bench::data::SyntheticMnist;
    /// let d = SyntheticMnist::generate(3);
    /// assert_eq!(d.features.len(), 3 * 784);
    /// assert!(d.labels.iter().all(|&c| c < 10));
    /// ```
    pub fn generate(n: usize) -> Self {
        let features: Vec<f32> = (0..(n * N_FEATURES) as u64)
            .map(|i| unit_f32(i, DATA_SEED))
            .collect();
        let labels = features.chunks_exact(N_FEATURES).map(label_of).collect();
        SyntheticMnist { features, labels }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// A summary both peers report, so the driver can confirm they trained on identical data.
    pub fn fingerprint(&self) -> DataFingerprint {
        let mut histogram = vec![0usize; N_CLASSES];
        for &c in &self.labels {
            histogram[c] += 1;
        }
        DataFingerprint {
            samples: self.len(),
            // Exact: every value is k / 2^24 and the total stays below 2^26.
            feature_sum: self.features.iter().map(|&v| v as f64).sum(),
            label_histogram: histogram,
        }
    }
}

/// The class of one sample: the group with the largest sum, the first one on ties (numpy's argmax).
fn label_of(row: &[f32]) -> usize {
    let mut best = (f64::NEG_INFINITY, 0);
    for c in 0..N_CLASSES {
        let s: f64 = row[c * GROUP..(c + 1) * GROUP]
            .iter()
            .map(|&v| v as f64)
            .sum();
        if s > best.0 {
            best = (s, c);
        }
    }
    best.1
}

/// Sum of all features and the label counts of a data set (see [`SyntheticMnist::fingerprint`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataFingerprint {
    /// Number of samples generated.
    pub samples: usize,
    /// Sum of every feature, in `f64` (exact).
    pub feature_sum: f64,
    /// Samples per class.
    pub label_histogram: Vec<usize>,
}
