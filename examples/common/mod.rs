//! Helpers shared by the examples: finding downloaded datasets, reading `--flag value`
//! arguments, timing and peak memory. Not every example uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Instant;

/// The workspace root (where `datasets/` lives).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(PathBuf::from)
}

/// A dataset shipped in git under `datasets/<name>/`.
pub fn shipped_dataset(name: &str) -> PathBuf {
    workspace().join("datasets").join(name)
}

/// The directory holding every file of a dataset fetched by `cargo xtask fetch NAME`.
///
/// Looks in the fetch cache (`$GRADWORK_DATA/<name>`, default `datasets/cache/<name>`), then in
/// the shared development mirror (`$GRADWORK_SHARED/datasets/<mirror_folder>`, default
/// `../shared/datasets/<mirror_folder>`). When the files are nowhere, prints the command that
/// fetches them and exits with status 2: examples never download anything themselves.
pub fn fetched_dataset(name: &str, mirror_folder: &str, files: &[&str]) -> PathBuf {
    let mut candidates = Vec::new();
    match env_dir("GRADWORK_DATA") {
        Some(cache) => candidates.push(cache.join(name)),
        None => candidates.push(workspace().join("datasets").join("cache").join(name)),
    }
    let shared =
        env_dir("GRADWORK_SHARED").unwrap_or_else(|| workspace().join("..").join("shared"));
    candidates.push(shared.join("datasets").join(mirror_folder));
    // Also accept GRADWORK_SHARED pointing at the datasets folder itself.
    candidates.push(shared.join(mirror_folder));
    let mut seen = Vec::new();
    candidates.retain(|d| {
        let new = !seen.contains(d);
        seen.push(d.clone());
        new
    });
    for dir in &candidates {
        if files.iter().all(|f| dir.join(f).is_file()) {
            return dir.clone();
        }
    }
    eprintln!("error: the `{name}` dataset is not available; looked for {files:?} in:");
    for dir in &candidates {
        eprintln!("  {}", dir.display());
    }
    eprintln!("fetch it with:\n  cargo xtask fetch {name}");
    std::process::exit(2);
}

/// The value after `--name` on the command line, parsed, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let flag = format!("--{name}");
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| *a == flag) {
        Some(i) => match args.get(i + 1).map(|v| v.parse::<T>()) {
            Some(Ok(v)) => v,
            _ => {
                eprintln!("error: {flag} needs a valid value");
                std::process::exit(2);
            }
        },
        None => default,
    }
}

/// True when `--name` is on the command line.
pub fn flag(name: &str) -> bool {
    let flag = format!("--{name}");
    std::env::args().any(|a| a == flag)
}

/// Peak resident memory of this process in MiB (`VmHWM` of `/proc/self/status`; Linux only).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Prints wall time and throughput of `samples` processed since `start`.
pub fn report_throughput(what: &str, samples: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what}: {samples} samples in {secs:.2} s = {:.0} samples/s (threads: {})",
        samples as f64 / secs.max(1e-9),
        rayon_threads()
    );
}

/// The thread count the kernels use (set it with `RAYON_NUM_THREADS`).
pub fn rayon_threads() -> usize {
    rayon::current_num_threads()
}

/// The first `limit` rows (all when `limit` is 0 or larger than `n`).
pub fn first_rows(n: usize, limit: usize) -> Vec<usize> {
    (0..if limit == 0 { n } else { limit.min(n) }).collect()
}

/// Displays a path relative to the workspace when possible.
pub fn show(path: &Path) -> String {
    path.strip_prefix(workspace())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// MNIST from the fetch cache (or the shared mirror), as `(train, test)` with at most
/// `train_limit` / `test_limit` images each (0: all). Exits with the fetch command when missing.
pub fn load_mnist(
    layout: gradwork::data::ImageLayout,
    train_limit: usize,
    test_limit: usize,
) -> gradwork::Result<(gradwork::train::Dataset, gradwork::train::Dataset)> {
    use gradwork::data::read_mnist;
    use gradwork::train::{Dataset, Targets};
    let dir = fetched_dataset(
        "mnist",
        "mnist",
        &[
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ],
    );
    println!("MNIST from {}", dir.display());
    let mut parts = Vec::new();
    for (prefix, limit) in [("train", train_limit), ("t10k", test_limit)] {
        let part = read_mnist(&dir, prefix, layout)?;
        let rows = first_rows(part.labels.len(), limit);
        let images = if rows.len() == part.labels.len() {
            part.images
        } else {
            part.images.try_index_select(0, &rows)?
        };
        let labels = part.labels[..rows.len()].to_vec();
        parts.push(Dataset::new(images, Targets::Classes(labels))?);
    }
    let test = parts.pop().expect("two parts");
    let train = parts.pop().expect("two parts");
    Ok((train, test))
}

/// Trains a classifier with `options`, prints each epoch's loss and accuracy, the training
/// throughput, the test loss and accuracy (evaluated in batches of `eval_batch`) and the peak
/// memory: the shared tail of the MNIST examples.
pub fn fit_and_report(
    trainer: &mut gradwork::train::Trainer<impl gradwork::nn::Module>,
    train: &gradwork::train::Dataset,
    test: &gradwork::train::Dataset,
    options: gradwork::train::FitOptions,
    eval_batch: usize,
) -> gradwork::Result<()> {
    let start = Instant::now();
    let history = trainer.fit(train, options)?;
    let train_secs = start.elapsed().as_secs_f64();
    for logs in &history.epochs {
        println!(
            "epoch {}  loss {:.4}  accuracy {:.4}",
            logs.epoch,
            logs.get("loss").unwrap_or(f64::NAN),
            logs.get("accuracy").unwrap_or(f64::NAN)
        );
    }
    report_throughput("training", train.len() * history.epochs.len(), start);

    let eval_start = Instant::now();
    let results = trainer.evaluate(test, eval_batch)?;
    println!(
        "test loss {:.4}  test accuracy {:.4}  (evaluation {:.2} s, training {train_secs:.1} s)",
        results.get("loss").copied().unwrap_or(f64::NAN),
        results.get("accuracy").copied().unwrap_or(f64::NAN),
        eval_start.elapsed().as_secs_f64()
    );
    match peak_memory_mib() {
        Some(mib) => println!("peak memory (VmHWM): {mib:.0} MiB"),
        None => println!("peak memory: unavailable (no /proc/self/status)"),
    }
    Ok(())
}
