//! `Trainer`: Keras' verbs — `fit`, `evaluate`, `predict` — over any `Module`.

use std::collections::BTreeMap;

use gradwork_autodiff::{AutodiffError, Graph, Var};
use gradwork_nn::{Ctx, Module};
use gradwork_optim::Optimizer;
use gradwork_tensor::{Rng, Tensor};

use crate::callbacks::{BatchInfo, Callback, Control};
use crate::dataset::{Dataset, Targets};
use crate::error::{Result, TrainError};
use crate::history::{EpochLogs, History};
use crate::loss::Loss;
use crate::progress::Progress;

/// RNG sub-streams of a fit's seed: each use of randomness has its own, so adding one never
/// shifts another.
pub mod streams {
    /// The validation split's shuffle.
    pub const VALIDATION_SPLIT: u64 = 1;
    /// The per-epoch shuffle (forked again by epoch).
    pub const SHUFFLE: u64 = 2;
    /// Dropout masks (forked again by global step).
    pub const DROPOUT: u64 = 3;
}

/// Where validation data comes from.
// Built once per `fit`, so the inline size of `Data` (two tensors) costs nothing worth a box
// that every caller would have to write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Default)]
pub enum Validation {
    /// No validation.
    #[default]
    None,
    /// Hold out this fraction of the training data, chosen by a seeded shuffle (not Keras'
    /// "last rows", which silently biases sorted data). `ceil(fraction * n)` rows are held out.
    Fraction(f64),
    /// An explicit validation set.
    Data(Dataset),
}

/// Settings for [`Trainer::fit`].
pub struct FitOptions {
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per optimizer step (the last batch may be smaller).
    pub batch_size: usize,
    /// Validation data.
    pub validation: Validation,
    /// The seed of every random choice in `fit` (split, shuffles, dropout).
    pub seed: u64,
    /// Shuffle the training rows each epoch (order depends only on seed and epoch).
    pub shuffle: bool,
    /// Hooks: early stopping, checkpoints, schedules, loggers.
    pub callbacks: Vec<Box<dyn Callback>>,
    /// Show progress (a bar on a terminal, one line per epoch otherwise).
    pub progress: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: 10,
            batch_size: 32,
            validation: Validation::None,
            seed: 0,
            shuffle: true,
            callbacks: Vec::new(),
            progress: false,
        }
    }
}

/// A metric measured by `fit` and `evaluate` besides the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// The fraction of correct class predictions (argmax for `[n, C]` outputs; threshold at 0.5
    /// probability for `[n, 1]` outputs).
    Accuracy,
    /// Mean absolute error of a regression output.
    MeanAbsoluteError,
}

impl MetricKind {
    fn name(self) -> &'static str {
        match self {
            MetricKind::Accuracy => "accuracy",
            MetricKind::MeanAbsoluteError => "mae",
        }
    }
}

/// Running sums for one pass over data.
#[derive(Default)]
struct Tally {
    samples: usize,
    loss_sum: f64,
    correct: usize,
    abs_error_sum: f64,
    abs_error_count: usize,
}

/// Trains a model with an optimizer and a loss (Keras' compiled model).
///
/// ```
/// use gradwork_nn::{activations::Relu, layers::Linear, Sequential};
/// use gradwork_optim::{Adam, AdamConfig};
/// use gradwork_tensor::{Rng, Tensor};
/// use gradwork_train::{Dataset, FitOptions, Loss, MetricKind, Targets, Trainer, Validation};
///
/// // y = 1 when x0 + x1 > 0.
/// let mut rng = Rng::seed_from(1);
/// let x = Tensor::rand_uniform(&[200, 2], -1.0, 1.0, &mut rng);
/// let y: Vec<usize> = x.sum(1, false).to_vec().iter().map(|&s| (s > 0.0) as usize).collect();
/// let data = Dataset::new(x, Targets::Classes(y)).unwrap();
///
/// let model = Sequential::new()
///     .push(Linear::new(2, 8, &mut rng))
///     .push(Relu)
///     .push(Linear::new(8, 2, &mut rng));
/// let adam = Adam::new(AdamConfig { lr: 0.02, ..AdamConfig::adam() }).unwrap();
/// let mut trainer = Trainer::new(model, Box::new(adam), Loss::SparseCategoricalCrossEntropy)
///     .with_metric(MetricKind::Accuracy);
/// let options = FitOptions { epochs: 20, batch_size: 16, validation: Validation::Fraction(0.2), seed: 7, ..FitOptions::default() };
/// let history = trainer.fit(&data, options).unwrap();
/// assert!(history.last().unwrap().get("val_accuracy").unwrap() > 0.9);
/// ```
///
/// The PyTorch-style manual loop (Graph, Ctx, forward, backward, `optimizer.step`) stays a
/// first-class way to train; `Trainer` is that loop with batching, validation, metrics and
/// callbacks around it.
pub struct Trainer<M: Module> {
    /// The model.
    pub model: M,
    /// The optimizer.
    pub optimizer: Box<dyn Optimizer>,
    /// The loss.
    pub loss: Loss,
    /// Metrics besides the loss.
    pub metrics: Vec<MetricKind>,
    step: u64,
}

impl<M: Module> Trainer<M> {
    /// A trainer (Keras' `compile`).
    pub fn new(model: M, optimizer: Box<dyn Optimizer>, loss: Loss) -> Self {
        Trainer {
            model,
            optimizer,
            loss,
            metrics: Vec::new(),
            step: 0,
        }
    }

    /// Adds a metric (builder style).
    pub fn with_metric(mut self, metric: MetricKind) -> Self {
        self.metrics.push(metric);
        self
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Trains for `options.epochs` epochs and returns the per-epoch history.
    ///
    /// While it runs, the thread pool's other threads wait for work awake (polling, not sleeping),
    /// so each op's parallel kernels start at once: with `RAYON_NUM_THREADS` threads, that many
    /// cores stay busy for the whole fit, as with OpenMP-based frameworks.
    pub fn fit(&mut self, train: &Dataset, options: FitOptions) -> Result<History> {
        // On a thread of rayon's pool, so each op's parallel kernels fork and join inside it, with
        // the pool's other threads kept awake between ops for the whole fit (an OS wake-up per
        // fork cost 20% of a two-thread MLP step; see `gradwork_tensor::par::install_busy`).
        gradwork_tensor::par::install_busy(|| self.fit_on_pool(train, options))
    }

    fn fit_on_pool(&mut self, train: &Dataset, mut options: FitOptions) -> Result<History> {
        if options.batch_size == 0 {
            return Err(TrainError::Options("batch_size must be positive".into()));
        }
        let root = Rng::seed_from(options.seed);
        let (train, validation) = match std::mem::take(&mut options.validation) {
            Validation::None => (train.clone(), None),
            Validation::Data(v) => (train.clone(), Some(v)),
            Validation::Fraction(fraction) => {
                if !(fraction > 0.0 && fraction < 1.0) {
                    return Err(TrainError::Options(format!(
                        "validation fraction must be in (0, 1), got {fraction}"
                    )));
                }
                let n = train.len();
                let n_val = (fraction * n as f64).ceil() as usize;
                if n_val == 0 || n_val >= n {
                    return Err(TrainError::Options(format!(
                        "validation fraction {fraction} of {n} samples leaves an empty side"
                    )));
                }
                let order = root.fork(streams::VALIDATION_SPLIT).permutation(n);
                let (val_rows, train_rows) = order.split_at(n_val);
                (train.select(train_rows)?, Some(train.select(val_rows)?))
            }
        };
        if train.is_empty() {
            return Err(TrainError::Options("the training set is empty".into()));
        }
        let mut callbacks = std::mem::take(&mut options.callbacks);
        if options.progress {
            callbacks.push(Box::new(Progress::new()));
        }
        let batches_per_epoch = train.len().div_ceil(options.batch_size);
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(options.epochs, batches_per_epoch)?;
        }
        let mut history = History::default();
        for epoch in 1..=options.epochs {
            let order: Vec<usize> = if options.shuffle {
                root.fork(streams::SHUFFLE)
                    .fork(epoch as u64)
                    .permutation(train.len())
            } else {
                (0..train.len()).collect()
            };
            let learning_rate = self.optimizer.learning_rate();
            let mut tally = Tally::default();
            for (batch_index, rows) in order.chunks(options.batch_size).enumerate() {
                let batch = train.select(rows)?;
                for cb in callbacks.iter_mut() {
                    cb.on_batch_begin(self.step, self.optimizer.as_mut())?;
                }
                let (loss, output) = self.train_step(&batch, &root, epoch, batch_index)?;
                self.tally(&mut tally, &output, &batch, loss)?;
                let info = BatchInfo {
                    epoch,
                    batch: batch_index,
                    step: self.step,
                    loss,
                    batch_size: rows.len(),
                };
                for cb in callbacks.iter_mut() {
                    cb.on_batch_end(&info)?;
                }
            }
            let mut logs = EpochLogs {
                epoch,
                metrics: self.summarise(&tally, ""),
                learning_rate,
            };
            if let Some(val) = &validation {
                logs.metrics
                    .extend(self.evaluate_with_prefix(val, options.batch_size, "val_")?);
            }
            let mut stop = None;
            for cb in callbacks.iter_mut() {
                if let Control::Stop(reason) = cb.on_epoch_end(&logs, &mut self.model)? {
                    stop.get_or_insert(reason);
                }
            }
            history.epochs.push(logs);
            if let Some(reason) = stop {
                history.stopped_early = Some(reason);
                break;
            }
        }
        for cb in callbacks.iter_mut() {
            cb.on_train_end(&mut self.model, &mut history)?;
        }
        Ok(history)
    }

    /// One optimizer step on a batch; returns the batch loss and the model output. A non-finite
    /// loss stops before the update, and the batch is replayed in anomaly mode to name the first
    /// op that produced it.
    fn train_step(
        &mut self,
        batch: &Dataset,
        root: &Rng,
        epoch: usize,
        batch_index: usize,
    ) -> Result<(f64, Tensor)> {
        let dropout_rng = root.fork(streams::DROPOUT).fork(self.step);
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, dropout_rng.clone());
        let output = self
            .model
            .forward(&mut cx, &Var::constant(batch.features.clone()))?;
        let loss = self.loss.compute(&output, &batch.targets)?;
        let value = loss.value().item() as f64;
        if !value.is_finite() {
            return Err(TrainError::NonFinite {
                epoch,
                step: self.step,
                batch: batch_index,
                loss: value,
                first_op: self.find_first_non_finite(batch, dropout_rng),
            });
        }
        let grads = graph.backward(&loss)?;
        let param_grads = cx.into_param_grads(&grads);
        if param_grads.iter().any(|(_, g)| !g.all_finite()) {
            return Err(TrainError::NonFinite {
                epoch,
                step: self.step,
                batch: batch_index,
                loss: f64::NAN,
                first_op: self.find_first_non_finite(batch, dropout_rng),
            });
        }
        self.optimizer.step(&mut self.model, &param_grads)?;
        self.step += 1;
        Ok((value, output.into_value()))
    }

    /// Replays a batch with anomaly detection on and reports the first op whose forward output
    /// or backward gradient is not finite.
    fn find_first_non_finite(&mut self, batch: &Dataset, rng: Rng) -> Option<String> {
        let graph = Graph::with_anomaly_detection();
        let mut cx = Ctx::train(&graph, rng);
        let describe = |e: &AutodiffError| match e {
            AutodiffError::Anomaly {
                op,
                phase,
                input_shapes,
            } => Some(format!("{op} ({phase}, input shapes {input_shapes:?})")),
            _ => None,
        };
        let output = match self
            .model
            .forward(&mut cx, &Var::constant(batch.features.clone()))
        {
            Ok(o) => o,
            Err(gradwork_nn::NnError::Autodiff(e)) => return describe(&e),
            Err(_) => return None,
        };
        let loss = match self.loss.compute(&output, &batch.targets) {
            Ok(l) => l,
            Err(TrainError::Autodiff(e)) => return describe(&e),
            Err(_) => return None,
        };
        match graph.backward(&loss) {
            Err(e) => describe(&e),
            Ok(_) => None,
        }
    }

    fn tally(&self, tally: &mut Tally, output: &Tensor, batch: &Dataset, loss: f64) -> Result<()> {
        let n = batch.len();
        tally.samples += n;
        tally.loss_sum += loss * n as f64;
        for metric in &self.metrics {
            match metric {
                MetricKind::Accuracy => {
                    tally.correct += self.count_correct(output, &batch.targets)?
                }
                MetricKind::MeanAbsoluteError => {
                    if let Targets::Values(t) = &batch.targets {
                        let diff = output.try_sub(t)?.abs();
                        tally.abs_error_sum += diff.sum_all_f64();
                        tally.abs_error_count += diff.numel();
                    }
                }
            }
        }
        Ok(())
    }

    fn count_correct(&self, output: &Tensor, targets: &Targets) -> Result<usize> {
        let predicted = self.classes_from_output(output);
        let truth: Vec<usize> = match targets {
            Targets::Classes(c) => c.clone(),
            Targets::Values(t) if t.ndim() == 2 && t.shape()[1] > 1 => t.argmax(1),
            Targets::Values(t) => t.to_vec().iter().map(|&v| (v >= 0.5) as usize).collect(),
        };
        Ok(predicted.iter().zip(&truth).filter(|(p, t)| p == t).count())
    }

    /// Class predictions from raw outputs: argmax for `[n, C]`, threshold for `[n, 1]` (0 for
    /// logits, 0.5 for probabilities).
    fn classes_from_output(&self, output: &Tensor) -> Vec<usize> {
        if output.ndim() == 2 && output.shape()[1] > 1 {
            output.argmax(1)
        } else {
            let threshold = if self.loss.takes_logits() { 0.0 } else { 0.5 };
            output
                .to_vec()
                .iter()
                .map(|&v| (v > threshold) as usize)
                .collect()
        }
    }

    fn summarise(&self, tally: &Tally, prefix: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let n = tally.samples.max(1) as f64;
        out.insert(format!("{prefix}loss"), tally.loss_sum / n);
        for metric in &self.metrics {
            let value = match metric {
                MetricKind::Accuracy => tally.correct as f64 / n,
                MetricKind::MeanAbsoluteError => {
                    tally.abs_error_sum / tally.abs_error_count.max(1) as f64
                }
            };
            out.insert(format!("{prefix}{}", metric.name()), value);
        }
        out
    }

    fn evaluate_with_prefix(
        &mut self,
        data: &Dataset,
        batch_size: usize,
        prefix: &str,
    ) -> Result<BTreeMap<String, f64>> {
        let mut tally = Tally::default();
        let rows: Vec<usize> = (0..data.len()).collect();
        for chunk in rows.chunks(batch_size.max(1)) {
            let batch = data.select(chunk)?;
            let mut cx = Ctx::eval();
            let output = self
                .model
                .forward(&mut cx, &Var::constant(batch.features.clone()))?;
            let loss = self.loss.compute(&output, &batch.targets)?.value().item() as f64;
            self.tally(&mut tally, output.value(), &batch, loss)?;
        }
        Ok(self.summarise(&tally, prefix))
    }

    /// The loss and metrics on `data`, in evaluation mode (Keras' `evaluate`).
    pub fn evaluate(&mut self, data: &Dataset, batch_size: usize) -> Result<BTreeMap<String, f64>> {
        gradwork_tensor::par::install(|| self.evaluate_with_prefix(data, batch_size, ""))
    }

    /// The model's raw outputs for `features`, in evaluation mode, batch by batch (Keras'
    /// `predict`).
    pub fn predict(&mut self, features: &Tensor, batch_size: usize) -> Result<Tensor> {
        gradwork_tensor::par::install(|| self.predict_on_pool(features, batch_size))
    }

    fn predict_on_pool(&mut self, features: &Tensor, batch_size: usize) -> Result<Tensor> {
        let n = features.shape().first().copied().unwrap_or(0);
        let rows: Vec<usize> = (0..n).collect();
        let mut parts = Vec::new();
        for chunk in rows.chunks(batch_size.max(1)) {
            let batch = features.try_index_select(0, chunk)?;
            let mut cx = Ctx::eval();
            parts.push(
                self.model
                    .forward(&mut cx, &Var::constant(batch))?
                    .into_value(),
            );
        }
        if parts.is_empty() {
            return Err(TrainError::Data("predict: no samples".into()));
        }
        let refs: Vec<&Tensor> = parts.iter().collect();
        Ok(Tensor::try_concat(&refs, 0)?)
    }

    /// Class probabilities: softmax of `[n, C]` logits, sigmoid of `[n, 1]` logits, or the
    /// outputs themselves when the loss already takes probabilities.
    pub fn predict_proba(&mut self, features: &Tensor, batch_size: usize) -> Result<Tensor> {
        let output = self.predict(features, batch_size)?;
        if !self.loss.takes_logits() {
            return Ok(output);
        }
        Ok(if output.ndim() == 2 && output.shape()[1] > 1 {
            output.try_softmax(1)?
        } else {
            output.sigmoid()
        })
    }

    /// Predicted class indices (argmax, or a 0.5-probability threshold for one output).
    pub fn predict_classes(&mut self, features: &Tensor, batch_size: usize) -> Result<Vec<usize>> {
        let output = self.predict(features, batch_size)?;
        Ok(self.classes_from_output(&output))
    }
}
