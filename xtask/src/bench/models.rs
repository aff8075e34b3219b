//! The MLP and CNN workloads on gradwork: training throughput and inference speed.
//!
//! A training step is what a user's manual loop does: a fresh [`Graph`], the forward pass in a
//! training [`Ctx`], the fused softmax cross-entropy, backward, Adam. The batches are cut from
//! the data before the clock starts, so data preparation is not timed (the PyTorch side slices
//! views of one tensor, which costs nothing either).

use std::time::Instant;

use gradwork::autodiff::loss::{cross_entropy_with_logits, Reduction};
use gradwork::nn::layers::{Conv2d, Flatten, MaxPool2d};
use gradwork::nn::predict;
use gradwork::prelude::*;

use super::data::{SyntheticMnist, IMAGE_SIDE, N_CLASSES, N_FEATURES};
use super::error::BenchError;
use super::protocol::{workload_id, Measurement, GRADWORK};
use super::timing::{chunk_ranges, latency_us, median, time_reps, Budget};

/// The seed of model initialisation.
pub const MODEL_SEED: u64 = 42;
/// Batches trained before the clock starts (allocator and caches warm up), MLP and CNN.
const WARMUP_BATCHES: (usize, usize) = (5, 2);
/// Batch size of the CNN workload.
pub const CNN_BATCH: usize = 64;
/// Batch size of the inference throughput workload.
pub const INFER_BATCH: usize = 1024;

/// The MLP 784-256-128-10 with ReLU.
pub fn mlp(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .push(Linear::new(N_FEATURES, 256, rng))
        .push(Relu)
        .push(Linear::new(256, 128, rng))
        .push(Relu)
        .push(Linear::new(128, N_CLASSES, rng))
}

/// The Keras MNIST CNN: 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5, then 64*5*5 = 1600
/// features into Dense 128 and Dense 10.
pub fn cnn(rng: &mut Rng) -> gradwork::Result<Sequential> {
    Ok(Sequential::new()
        .push(Conv2d::new(1, 32, (3, 3), rng)?)
        .push(Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Conv2d::new(32, 64, (3, 3), rng)?)
        .push(Relu)
        .push(MaxPool2d::new((2, 2)))
        .push(Flatten::new(1))
        .push(Linear::new(1600, 128, rng))
        .push(Relu)
        .push(Linear::new(128, N_CLASSES, rng)))
}

/// One training step: forward, softmax cross-entropy (mean), backward, optimizer step.
/// Returns the loss.
pub fn train_step(
    model: &mut Sequential,
    optimizer: &mut dyn Optimizer,
    inputs: &Tensor,
    labels: &[usize],
    rng: &Rng,
) -> gradwork::Result<f32> {
    let graph = Graph::new();
    let mut cx = Ctx::train(&graph, rng.clone());
    let logits = model.forward(&mut cx, &Var::constant(inputs.clone()))?;
    let loss = cross_entropy_with_logits(&logits, labels, Reduction::Mean);
    let grads = graph.backward(&loss)?;
    optimizer.step(model, &cx.into_param_grads(&grads))?;
    Ok(loss.value().item())
}

/// The batches of `data`, each a tensor of shape `[b, sample_shape..]` with its labels.
pub fn batches(
    data: &SyntheticMnist,
    batch: usize,
    sample_shape: &[usize],
) -> Vec<(Tensor, Vec<usize>)> {
    let mut out = Vec::with_capacity(data.len().div_ceil(batch));
    for start in (0..data.len()).step_by(batch.max(1)) {
        let end = (start + batch).min(data.len());
        let mut shape = vec![end - start];
        shape.extend_from_slice(sample_shape);
        let x = Tensor::from_slice(&data.features[start * N_FEATURES..end * N_FEATURES], &shape);
        out.push((x, data.labels[start..end].to_vec()));
    }
    out
}

/// A learning-rate schedule: step (counted from the first warm-up batch) to rate, set on the
/// optimizer before each step, as the `LrScheduler` callback does.
pub type LrAt<'a> = &'a (dyn Fn(u64) -> f64 + Sync);

/// Samples/s of one epoch of training with Adam (lr 1e-3, or `lr_at` when given), timed in
/// `budget.chunks` chunks (the figure is their median) and stopped early at `budget.train_cap_s`.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_rate(
    workload: &str,
    case: String,
    model: &mut Sequential,
    batches: &[(Tensor, Vec<usize>)],
    warmup: usize,
    lr_at: Option<LrAt<'_>>,
    threads: usize,
    budget: &Budget,
) -> Result<Measurement, BenchError> {
    // The loop runs on a thread of the pool with the other threads kept awake, as the Trainer's
    // `fit` does (`gradwork::tensor::par::install_busy`): every op's fork-join stays inside the
    // pool and starts without an OS wake-up, as PyTorch's spinning OpenMP threads do.
    let (rates, losses, done, total_s) = gradwork::tensor::par::install_busy(|| {
        let fail = |e: gradwork::Error| BenchError::gradwork(workload, e);
        let mut adam = Adam::new(AdamConfig::adam()).map_err(|e| fail(e.into()))?;
        let rng = Rng::seed_from(MODEL_SEED);
        let mut step = 0u64;
        let mut train = |x: &Tensor, y: &[usize]| {
            if let Some(lr_at) = lr_at {
                adam.set_learning_rate(lr_at(step));
            }
            step += 1;
            train_step(model, &mut adam, x, y, &rng).map_err(fail)
        };
        for (x, y) in batches.iter().take(warmup) {
            train(x, y)?;
        }
        let (mut rates, mut losses) = (Vec::new(), Vec::new());
        let (mut done, mut total_s) = (0usize, 0.0f64);
        for range in chunk_ranges(batches.len(), budget.chunks) {
            let t0 = Instant::now();
            let (mut count, mut loss) = (0usize, f32::NAN);
            for (x, y) in &batches[range] {
                loss = train(x, y)?;
                count += y.len();
                if total_s + t0.elapsed().as_secs_f64() > budget.train_cap_s {
                    break;
                }
            }
            let dt = t0.elapsed().as_secs_f64();
            rates.push(count as f64 / dt);
            losses.push(loss as f64);
            done += count;
            total_s += dt;
            if total_s > budget.train_cap_s {
                break;
            }
        }
        Ok::<_, BenchError>((rates, losses, done, total_s))
    })?;
    let total: usize = batches.iter().map(|(_, y)| y.len()).sum();
    Ok(Measurement::new(
        workload,
        case,
        GRADWORK,
        threads,
        median(&rates),
        "samples/s",
        true,
    )
    .with_samples(rates)
    .with_detail("overall", done as f64 / total_s)
    .with_detail("trained_samples", done)
    .with_detail("seconds", total_s)
    .with_detail("partial", done < total)
    .with_detail("chunk_losses", losses))
}

/// MLP training samples/s at `batch` over every sample of `data` (one epoch).
pub fn mlp_train(
    data: SyntheticMnist,
    batch: usize,
    threads: usize,
    budget: &Budget,
) -> Result<Measurement, BenchError> {
    let batches = batches(&data, batch, &[N_FEATURES]);
    drop(data);
    let mut model = mlp(&mut Rng::seed_from(MODEL_SEED));
    let case = format!("bs{batch}");
    let warmup = WARMUP_BATCHES.0;
    train_rate(
        workload_id::MLP_TRAIN,
        case,
        &mut model,
        &batches,
        warmup,
        None,
        threads,
        budget,
    )
}

/// CNN training samples/s at batch 64 over every sample of `data`.
pub fn cnn_train(
    data: SyntheticMnist,
    threads: usize,
    budget: &Budget,
) -> Result<Measurement, BenchError> {
    let batches = batches(&data, CNN_BATCH, &[1, IMAGE_SIDE, IMAGE_SIDE]);
    drop(data);
    let mut model =
        cnn(&mut Rng::seed_from(MODEL_SEED)).map_err(|e| BenchError::gradwork("cnn", e))?;
    let case = format!("bs{CNN_BATCH}");
    let warmup = WARMUP_BATCHES.1;
    train_rate(
        workload_id::CNN_TRAIN,
        case,
        &mut model,
        &batches,
        warmup,
        None,
        threads,
        budget,
    )
}

/// MLP inference: median single-sample latency (microseconds) and batch-1024 samples/s, on the
/// first 1,024 samples of `data`.
pub fn mlp_infer(
    data: &SyntheticMnist,
    threads: usize,
    budget: &Budget,
) -> Result<Vec<Measurement>, BenchError> {
    if data.len() < INFER_BATCH {
        return Err(BenchError::argument(
            "samples",
            &data.len().to_string(),
            format!("inference needs {INFER_BATCH} samples"),
        ));
    }
    let one = Tensor::from_slice(&data.features[..N_FEATURES], &[1, N_FEATURES]);
    let all = Tensor::from_slice(
        &data.features[..INFER_BATCH * N_FEATURES],
        &[INFER_BATCH, N_FEATURES],
    );
    let mut model = mlp(&mut Rng::seed_from(MODEL_SEED));
    // Check once that the calls succeed, so the timed closures can ignore errors.
    for x in [&one, &all] {
        predict(&mut model, x).map_err(|e| BenchError::gradwork("infer", e))?;
    }
    let (us, calls) = latency_us(
        || predict(&mut model, &one).ok(),
        budget.latency_calls,
        budget.train_cap_s,
    );
    let times = time_reps(|| predict(&mut model, &all).ok(), budget.reps, budget);
    let per_rep: Vec<f64> = times
        .per_call_s
        .iter()
        .map(|s| INFER_BATCH as f64 / s)
        .collect();
    Ok(vec![
        Measurement::new(
            workload_id::INFER_LATENCY,
            "bs1",
            GRADWORK,
            threads,
            us,
            "us",
            false,
        )
        .with_detail("calls", calls),
        Measurement::new(
            workload_id::INFER_THROUGHPUT,
            format!("bs{INFER_BATCH}"),
            GRADWORK,
            threads,
            INFER_BATCH as f64 / times.median_s(),
            "samples/s",
            true,
        )
        .with_samples(per_rep)
        .with_detail("iters_per_rep", times.iters),
    ])
}
