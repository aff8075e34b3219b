//! A multilayer perceptron on MNIST: 784 - 256 ReLU - 128 ReLU - 10, Adam (lr 1e-3), sparse
//! categorical cross-entropy, batch 128, seed 0.
//!
//! Needs MNIST: `cargo xtask fetch mnist` (the example looks in `$GRADWORK_DATA/mnist`, default
//! `datasets/cache/mnist`, then in the shared mirror `$GRADWORK_SHARED/datasets/mnist`).
//!
//! Run with `cargo run --release --example mnist_mlp` (flags: `--epochs N` default 5,
//! `--limit N` training images, `--test-limit N`, `--batch N`; 0 means all).
//!
//! Expected: test accuracy at least 0.980 after 5 full epochs. The program prints the wall time
//! and training samples per second; measured figures are in docs/examples.md.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use gradwork::data::ImageLayout;
use gradwork::prelude::*;

fn main() -> Result<()> {
    let epochs = common::arg("epochs", 5usize);
    let batch_size = common::arg("batch", 128usize);
    let (train, test) = common::load_mnist(
        ImageLayout::Flat,
        common::arg("limit", 0usize),
        common::arg("test-limit", 0usize),
    )?;
    println!(
        "train {} images, test {} images, {epochs} epochs, batch {batch_size}, {} threads",
        train.len(),
        test.len(),
        common::rayon_threads()
    );

    let mut rng = Rng::seed_from(0);
    let model = Sequential::new()
        .push(Linear::new(784, 256, &mut rng))
        .push(Relu)
        .push(Linear::new(256, 128, &mut rng))
        .push(Relu)
        .push(Linear::new(128, 10, &mut rng));
    println!("parameters: {}", model.num_params());
    let adam = Adam::new(AdamConfig {
        lr: 1e-3,
        ..AdamConfig::adam()
    })?;
    let mut trainer = Trainer::new(model, Box::new(adam), Loss::SparseCategoricalCrossEntropy)
        .with_metric(MetricKind::Accuracy);

    let start = Instant::now();
    let history = trainer.fit(
        &train,
        FitOptions {
            epochs,
            batch_size,
            seed: 0,
            progress: true,
            ..FitOptions::default()
        },
    )?;
    let train_secs = start.elapsed().as_secs_f64();
    for logs in &history.epochs {
        println!(
            "epoch {}  loss {:.4}  accuracy {:.4}",
            logs.epoch,
            logs.get("loss").unwrap_or(f64::NAN),
            logs.get("accuracy").unwrap_or(f64::NAN)
        );
    }
    common::report_throughput("training", train.len() * history.epochs.len(), start);

    let eval_start = Instant::now();
    let results = trainer.evaluate(&test, 1000)?;
    println!(
        "test loss {:.4}  test accuracy {:.4}  (evaluation {:.2} s, training {train_secs:.1} s)",
        results.get("loss").copied().unwrap_or(f64::NAN),
        results.get("accuracy").copied().unwrap_or(f64::NAN),
        eval_start.elapsed().as_secs_f64()
    );
    if let Some(mib) = common::peak_memory_mib() {
        println!("peak memory (VmHWM): {mib:.0} MiB");
    }
    Ok(())
}
