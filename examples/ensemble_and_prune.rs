//! Two of the articles' "making models better" techniques on Breast Cancer Wisconsin:
//! an ensemble of three MLPs trained with different seeds (averaged class probabilities), then
//! magnitude pruning of every member to 50 % and then 90 % sparsity (global, weight matrices
//! only), each followed by fine-tuning with the pruning masks re-applied after every optimizer
//! step so pruned weights stay exactly zero.
//!
//! Data and preprocessing as `tabular_csv` (split 0.2 seed 42, StandardScaler on train). Each
//! member: Dense 64 ReLU - Dense 32 ReLU - Dense 2, Adam lr 1e-3, batch 32, 30 epochs, seeds
//! 1, 2, 3; fine-tuning: 5 epochs after each pruning step.
//!
//! Run with `cargo run --release --example ensemble_and_prune` (flags: `--epochs N`,
//! `--finetune-epochs N`).
//!
//! Expected: a table of test accuracy (114 test rows) per member and for the ensemble. Measured
//! (about 1.5 s in all):
//!
//! ```text
//! test accuracy                  seed 1   seed 2   seed 3  ensemble
//! trained (dense)                0.9561   0.9825   0.9649    0.9649
//! pruned to 50%                  0.9474   0.9737   0.9737    0.9561
//! 50% + fine-tuned 5 ep          0.9649   0.9474   0.9649    0.9649
//! pruned to 90%                  0.9737   0.9737   0.9737    0.9737
//! 90% + fine-tuned 5 ep          0.9825   0.9737   0.9737    0.9825
//! ```
//!
//! This small problem is easy: one test row is 0.0088 of accuracy, and the MLPs are far
//! larger than it needs, so 90 % of the weights can go without loss.

#[path = "common/mod.rs"]
mod common;

use gradwork::data::{read_sklearn_csv, train_test_split, SplitConfig, StandardScaler};
use gradwork::metrics::accuracy;
use gradwork::nn::ensemble::{average_predictions, Combine};
use gradwork::nn::prune::{
    apply_masks, magnitude_prune, measured_sparsity, PruneConfig, PruneMasks,
};
use gradwork::prelude::*;

type Member = Trainer<Sequential>;

fn member(d: usize, seed: u64) -> Result<Member> {
    let mut rng = Rng::seed_from(seed);
    let model = Sequential::new()
        .push(Linear::new(d, 64, &mut rng))
        .push(Relu)
        .push(Linear::new(64, 32, &mut rng))
        .push(Relu)
        .push(Linear::new(32, 2, &mut rng));
    let adam = Adam::new(AdamConfig {
        lr: 1e-3,
        ..AdamConfig::adam()
    })?;
    Ok(
        Trainer::new(model, Box::new(adam), Loss::SparseCategoricalCrossEntropy)
            .with_metric(MetricKind::Accuracy),
    )
}

/// Test accuracy of each member and of the averaged probabilities, printed as one row.
fn report(stage: &str, members: &mut [Member], x: &Tensor, y: &[usize]) -> Result<()> {
    let mut probabilities = Vec::new();
    let mut line = format!("{stage:<28}");
    for m in members.iter_mut() {
        let p = m.predict_proba(x, 256)?;
        line += &format!(" {:>8.4}", accuracy(y, &p.argmax(1))?);
        probabilities.push(p);
    }
    let averaged = average_predictions(&probabilities, Combine::Mean)?;
    line += &format!(" {:>9.4}", accuracy(y, &averaged.argmax(1))?);
    println!("{line}");
    Ok(())
}

/// The manual loop with one addition: re-apply the masks after every optimizer step.
fn finetune(
    m: &mut Member,
    data: &Dataset,
    masks: &PruneMasks,
    epochs: usize,
    seed: u64,
) -> Result<()> {
    let root = Rng::seed_from(seed);
    for epoch in 0..epochs {
        let order = root.fork(epoch as u64).permutation(data.len());
        for rows in order.chunks(32) {
            let batch = data.select(rows)?;
            let graph = Graph::new();
            let mut cx = Ctx::train(&graph, root.fork(1000 + epoch as u64));
            let output = m
                .model
                .forward(&mut cx, &Var::constant(batch.features.clone()))?;
            let loss = m.loss.compute(&output, &batch.targets)?;
            let grads = graph.backward(&loss)?;
            m.optimizer
                .step(&mut m.model, &cx.into_param_grads(&grads))?;
            apply_masks(&mut m.model, masks)?;
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let epochs = common::arg("epochs", 30usize);
    let finetune_epochs = common::arg("finetune-epochs", 5usize);
    let path = common::shipped_dataset("breast-cancer").join("breast_cancer.csv");
    let table = read_sklearn_csv(&path)?;
    let labels = table.class_indices.clone().expect("class labels");
    let split = train_test_split(table.n_rows(), &SplitConfig::default())?;
    let x_train = table.features.try_index_select(0, &split.train)?;
    let x_test = table.features.try_index_select(0, &split.test)?;
    let scaler = StandardScaler::default().fit(&x_train)?;
    let (x_train, x_test) = (scaler.transform(&x_train)?, scaler.transform(&x_test)?);
    let y_train: Vec<usize> = split.train.iter().map(|&r| labels[r]).collect();
    let y_test: Vec<usize> = split.test.iter().map(|&r| labels[r]).collect();
    let train = Dataset::new(x_train, Targets::Classes(y_train))?;
    println!(
        "{}: train {} rows, test {} rows",
        common::show(&path),
        train.len(),
        y_test.len()
    );

    let seeds = [1u64, 2, 3];
    let mut members = Vec::new();
    for &seed in &seeds {
        let mut m = member(table.n_features(), seed)?;
        let history = m.fit(
            &train,
            FitOptions {
                epochs,
                batch_size: 32,
                seed,
                ..FitOptions::default()
            },
        )?;
        let last = history.last().expect("at least one epoch");
        println!(
            "member seed {seed}: {epochs} epochs, final train loss {:.4}",
            last.get("loss").unwrap_or(f64::NAN)
        );
        members.push(m);
    }

    println!(
        "\n{:<28} {:>8} {:>8} {:>8} {:>9}",
        "test accuracy", "seed 1", "seed 2", "seed 3", "ensemble"
    );
    report("trained (dense)", &mut members, &x_test, &y_test)?;
    for sparsity in [0.5, 0.9] {
        let mut all_masks = Vec::new();
        for m in members.iter_mut() {
            // Pruning again at a higher target keeps the earlier zeros (they rank smallest).
            all_masks.push(magnitude_prune(
                &mut m.model,
                &PruneConfig::global(sparsity),
            )?);
        }
        let pct = sparsity * 100.0;
        report(
            &format!("pruned to {pct:.0}%"),
            &mut members,
            &x_test,
            &y_test,
        )?;
        for ((m, masks), &seed) in members.iter_mut().zip(&all_masks).zip(&seeds) {
            finetune(m, &train, masks, finetune_epochs, seed * 100 + pct as u64)?;
        }
        report(
            &format!("{pct:.0}% + fine-tuned {finetune_epochs} ep"),
            &mut members,
            &x_test,
            &y_test,
        )?;
        let measured: Vec<String> = members
            .iter()
            .zip(&all_masks)
            .map(|(m, masks)| format!("{:.3}", measured_sparsity(&m.model, masks)))
            .collect();
        println!(
            "{:<28} {}",
            "  measured weight sparsity",
            measured.join("    ")
        );
    }
    Ok(())
}
