//! The `mnist-mlp` and `mnist-cnn` workloads: training throughput of exactly the models that
//! `examples/mnist_mlp.rs` and `examples/mnist_cnn.rs` train (same layers, batch size, optimizer,
//! loss, and for the MLP the input normalisation and the decaying learning rate), so the examples'
//! own samples/s can be set beside PyTorch's on the same model and batch.
//!
//! Unlike the examples, the data is the synthetic MNIST-shaped set of [`super::data`] and the loop
//! is the manual training step of [`super::models`] (no shuffling, no accuracy metric, no
//! progress bar): the figure is the model's training speed, not the `Trainer`'s bookkeeping.
//! `xtask/bench/pytorch_peer.py` mirrors this file; change both together.

use gradwork::nn::layers::{Conv2d, Flatten, MaxPool2d};
use gradwork::prelude::*;

use super::data::{SyntheticMnist, IMAGE_SIDE, N_CLASSES, N_FEATURES};
use super::error::BenchError;
use super::models::{batches, mlp, train_rate, MODEL_SEED};
use super::protocol::{workload_id, Measurement};
use super::timing::Budget;

/// Batch size of `examples/mnist_mlp.rs`.
pub const MNIST_MLP_BATCH: usize = 128;
/// Batch size of `examples/mnist_cnn.rs`.
pub const MNIST_CNN_BATCH: usize = 64;
/// The MNIST normalisation `examples/mnist_mlp.rs` applies to its inputs: (mean, std).
pub const MNIST_MLP_NORMALISATION: (f32, f32) = (0.1307, 0.3081);
/// The MLP example's Adam learning rate at its first step.
pub const MNIST_MLP_LR: f64 = 1e-3;
/// The MLP example's learning-rate factor at the end of the run (its `--decay` default).
pub const MNIST_MLP_DECAY: f64 = 0.3;
/// Batches trained before the clock starts (as the `mlp` and `cnn` workloads do).
const WARMUP_BATCHES: (usize, usize) = (5, 2);

/// The model of `examples/mnist_mlp.rs`: 784 - 256 ReLU - 128 ReLU - 10, the same layers as the
/// `mlp` workload's (what differs is the normalisation and the learning-rate decay).
pub fn mnist_mlp(rng: &mut Rng) -> Sequential {
    mlp(rng)
}

/// The model of `examples/mnist_cnn.rs`: 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5
/// -conv3-> 3, so 64 * 3 * 3 = 576 features into Dense 64 and Dense 10 (93,322 parameters).
pub fn mnist_cnn(rng: &mut Rng) -> gradwork::Result<Sequential> {
    Ok(Sequential::new()
        .push(Conv2d::new(1, 32, (3, 3), rng)?)
        .push(Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Conv2d::new(32, 64, (3, 3), rng)?)
        .push(Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Conv2d::new(64, 64, (3, 3), rng)?)
        .push(Relu)
        .push(Flatten::new(1))
        .push(Linear::new(64 * 3 * 3, 64, rng))
        .push(Relu)
        .push(Linear::new(64, N_CLASSES, rng)))
}

/// The MLP example's learning rate at `step` of a run of `total_steps`: 1e-3 decayed
/// exponentially to 3e-4 at the end.
///
/// ```
/// use xtask::bench::mnist_examples::mnist_mlp_lr;
/// assert_eq!(mnist_mlp_lr(0, 10), 1e-3);
/// assert!((mnist_mlp_lr(10, 10) - 3e-4).abs() < 1e-12);
/// ```
pub fn mnist_mlp_lr(step: u64, total_steps: u64) -> f64 {
    MNIST_MLP_LR * MNIST_MLP_DECAY.powf(step as f64 / total_steps.max(1) as f64)
}

/// Training samples/s of the MLP example's model over every sample of `data` (normalised first,
/// untimed), batch 128, Adam with the example's decaying rate.
pub fn mnist_mlp_train(
    mut data: SyntheticMnist,
    threads: usize,
    budget: &Budget,
) -> Result<Measurement, BenchError> {
    let (mean, std) = MNIST_MLP_NORMALISATION;
    for v in &mut data.features {
        *v = (*v - mean) / std;
    }
    let batches = batches(&data, MNIST_MLP_BATCH, &[N_FEATURES]);
    drop(data);
    let mut model = mnist_mlp(&mut Rng::seed_from(MODEL_SEED));
    let warmup = WARMUP_BATCHES.0;
    let total_steps = (warmup + batches.len()) as u64;
    let lr_at = move |step: u64| mnist_mlp_lr(step, total_steps);
    train_rate(
        workload_id::MNIST_MLP_TRAIN,
        format!("bs{MNIST_MLP_BATCH}"),
        &mut model,
        &batches,
        warmup,
        Some(&lr_at),
        threads,
        budget,
    )
}

/// Training samples/s of the CNN example's model over every sample of `data`, batch 64, Adam
/// at 1e-3.
pub fn mnist_cnn_train(
    data: SyntheticMnist,
    threads: usize,
    budget: &Budget,
) -> Result<Measurement, BenchError> {
    let batches = batches(&data, MNIST_CNN_BATCH, &[1, IMAGE_SIDE, IMAGE_SIDE]);
    drop(data);
    let mut model = mnist_cnn(&mut Rng::seed_from(MODEL_SEED))
        .map_err(|e| BenchError::gradwork(workload_id::MNIST_CNN_TRAIN, e))?;
    train_rate(
        workload_id::MNIST_CNN_TRAIN,
        format!("bs{MNIST_CNN_BATCH}"),
        &mut model,
        &batches,
        WARMUP_BATCHES.1,
        None,
        threads,
        budget,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::protocol::{WorkerOutput, GRADWORK};
    use crate::bench::worker::{run_worker, WorkerArgs};
    use crate::bench::Job;

    #[test]
    fn example_models_have_the_examples_parameter_counts() {
        // 784*256+256 + 256*128+128 + 128*10+10, and the CNN's 93,322 (as in Keras).
        let mut rng = Rng::seed_from(0);
        assert_eq!(mnist_mlp(&mut rng).num_params(), 235_146);
        assert_eq!(mnist_cnn(&mut rng).unwrap().num_params(), 93_322);
    }

    #[test]
    fn mnist_workload_names_parse_and_round_trip_through_worker_args() {
        let jobs = Job::expand(&["mnist-mlp".into(), " mnist-cnn".into()]).unwrap();
        assert_eq!(jobs, vec![Job::MnistMlp, Job::MnistCnn]);
        for job in jobs {
            let args = job.worker_args();
            assert_eq!(args[0], "--workload");
            assert_eq!(Job::parse(&args[1], 128).unwrap(), job);
        }
        assert!(Job::parse("mnist_cnn", 64).is_err());
    }

    #[test]
    fn quick_mnist_mlp_worker_reports_a_positive_rate_at_the_examples_batch() {
        let args = WorkerArgs {
            workload: "mnist-mlp".into(),
            threads: 1,
            batch: 7, // ignored: the example's batch is fixed
            quick: true,
        };
        let mut out = Vec::new();
        run_worker(&args, &mut out).unwrap();
        let parsed = WorkerOutput::parse(&String::from_utf8(out).unwrap());
        assert_eq!(parsed.measurements.len(), 1);
        let m = &parsed.measurements[0];
        assert_eq!(
            (
                m.workload.as_str(),
                m.case.as_str(),
                m.implementation.as_str()
            ),
            (workload_id::MNIST_MLP_TRAIN, "bs128", GRADWORK)
        );
        assert!(m.value.is_finite() && m.value > 0.0, "{m:?}");
        let losses = m.details["chunk_losses"].as_array().unwrap();
        assert!(losses
            .iter()
            .all(|l| l.as_f64().is_some_and(f64::is_finite)));
    }
}
