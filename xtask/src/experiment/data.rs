//! From a manifest's `data`, `split` and `preprocessing` to train and test [`Dataset`]s, recording
//! what was read (file hashes), how it was split (index hashes, class counts) and the fitted scaler.

use std::path::{Path, PathBuf};

use gradwork::data::{
    read_csv, read_mnist, read_sklearn_csv, stratified_train_test_split, train_test_split,
    CsvOptions, ImageLayout, MinMaxScaler, Split, SplitConfig, StandardScaler, TargetColumn,
    TargetKind,
};
use gradwork::tensor::Tensor;
use gradwork::train::{Dataset, Targets};
use serde::{Deserialize, Serialize};

use super::hashing::{sha256_file, sha256_indices};
use super::manifest::{DataSpec, Manifest, Preprocessing};
use super::ExperimentError;
use crate::fetch::{self, FetchOptions};
use crate::paths;
use crate::registry::Registry;

pub use super::data_synthetic::SYNTHETIC_STREAM;
use super::data_synthetic::{linear, xor};

/// One input file and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path relative to the workspace (or the cache) as the manifest named it.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// How the rows were split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRecord {
    /// `random`, `stratified` or `official` (the dataset's own split).
    pub method: String,
    /// Rows in the training part (before the validation hold-out).
    pub n_train: usize,
    /// Rows in the test part.
    pub n_test: usize,
    /// SHA-256 of the training row indices (little-endian u64 each, in order).
    pub train_indices_sha256: String,
    /// SHA-256 of the test row indices.
    pub test_indices_sha256: String,
    /// Rows per class in the training part (classification only).
    pub train_class_counts: Option<Vec<usize>>,
    /// Rows per class in the test part.
    pub test_class_counts: Option<Vec<usize>>,
}

/// The fitted preprocessing, as numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalerRecord {
    /// `standard_scaler` or `minmax`.
    pub kind: String,
    /// Per-feature offset subtracted (mean, or data minimum).
    pub offset: Vec<f64>,
    /// Per-feature divisor (standard deviation, or data range).
    pub scale: Vec<f64>,
}

/// What the run trains and tests on.
pub struct PreparedData {
    /// Training samples (the validation fraction is held out of these by the trainer).
    pub train: Dataset,
    /// Test samples.
    pub test: Dataset,
    /// Class names (classification).
    pub class_names: Option<Vec<String>>,
    /// Input files and hashes.
    pub files: Vec<FileRecord>,
    /// The split.
    pub split: SplitRecord,
    /// The fitted scaler.
    pub scaler: Option<ScalerRecord>,
    /// The token vocabulary (token data only).
    pub vocab: Option<gradwork::data::Vocabulary>,
    /// Its record for the results.
    pub vocabulary: Option<super::data_text::VocabularyRecord>,
}

/// Features with class labels or values, before splitting.
pub(super) struct Table {
    pub(super) features: Tensor,
    pub(super) classes: Option<Vec<usize>>,
    pub(super) values: Option<Vec<f32>>,
    pub(super) class_names: Option<Vec<String>>,
}

/// Loads, splits and scales the data of a manifest.
pub fn prepare(manifest: &Manifest, workspace: &Path) -> Result<PreparedData, ExperimentError> {
    let mut files = Vec::new();
    if let DataSpec::Mnist {
        channels,
        train_limit,
        test_limit,
    } = &manifest.data
    {
        return prepare_mnist(workspace, *channels, *train_limit, *test_limit);
    }
    if let DataSpec::Sst2 {
        train_limit,
        dev_limit,
        max_len,
        vocab_size,
        min_count,
    } = &manifest.data
    {
        let options = super::data_text::Sst2Options {
            train_limit: *train_limit,
            dev_limit: *dev_limit,
            max_len: *max_len,
            vocab_size: *vocab_size,
            min_count: *min_count,
        };
        return super::data_text::prepare_sst2(workspace, &options);
    }
    let table = match &manifest.data {
        DataSpec::SklearnCsv {
            path,
            dataset,
            file,
        } => {
            let p = resolve(workspace, path, dataset, file, &mut files)?;
            let t = read_sklearn_csv(&p).map_err(ExperimentError::data)?;
            Table {
                features: t.features,
                classes: t.class_indices,
                values: None,
                class_names: t.class_names,
            }
        }
        DataSpec::Csv {
            path,
            dataset,
            file,
            target,
            classification,
        } => {
            let p = resolve(workspace, path, dataset, file, &mut files)?;
            let options = CsvOptions {
                target: TargetColumn::Name(target.clone()),
                target_kind: if *classification {
                    TargetKind::Classes
                } else {
                    TargetKind::Regression
                },
                ..CsvOptions::default()
            };
            let t = read_csv(&p, &options).map_err(ExperimentError::data)?;
            let values = t.targets.as_ref().map(|v| v.to_vec());
            Table {
                features: t.features,
                classes: t.class_indices,
                values,
                class_names: t.class_names,
            }
        }
        DataSpec::Xor { samples, noise } => xor(*samples, *noise, manifest.seed),
        DataSpec::LinearRegression {
            samples,
            features,
            noise,
        } => linear(*samples, *features, *noise, manifest.seed),
        DataSpec::Mnist { .. } | DataSpec::Sst2 { .. } => unreachable!("handled above"),
        DataSpec::CharCorpus { .. } => {
            return Err(ExperimentError::Data(
                "char_corpus is language-model data: it needs a [language_model] table".into(),
            ))
        }
    };
    let regression = manifest.loss.is_regression();
    let n = table.features.shape()[0];
    let config = SplitConfig {
        test_fraction: manifest.split.test_fraction,
        shuffle: true,
        seed: manifest.split.seed,
    };
    let (split, method) = match (&table.classes, manifest.split.stratify) {
        (Some(labels), true) => (
            stratified_train_test_split(labels, &config).map_err(ExperimentError::data)?,
            "stratified",
        ),
        _ => (
            train_test_split(n, &config).map_err(ExperimentError::data)?,
            "random",
        ),
    };
    let x_train = table
        .features
        .try_index_select(0, &split.train)
        .map_err(ExperimentError::data)?;
    let x_test = table
        .features
        .try_index_select(0, &split.test)
        .map_err(ExperimentError::data)?;
    let (x_train, x_test, scaler) = scale(manifest.preprocessing, x_train, x_test)?;
    let targets = if regression {
        let v = table
            .values
            .clone()
            .or_else(|| {
                table
                    .classes
                    .as_ref()
                    .map(|c| c.iter().map(|&c| c as f32).collect())
            })
            .ok_or_else(|| ExperimentError::Data("the data has no target".into()))?;
        Targets::Values(Tensor::from_vec(v, &[n, 1]))
    } else {
        Targets::Classes(
            table
                .classes
                .clone()
                .ok_or_else(|| ExperimentError::Data("classification needs class labels".into()))?,
        )
    };
    let n_classes = table
        .classes
        .as_ref()
        .map(|c| c.iter().max().map_or(0, |m| m + 1));
    let split_record = record_split(method, &split, table.classes.as_deref(), n_classes);
    let train = Dataset::new(
        x_train,
        targets
            .select(&split.train)
            .map_err(ExperimentError::data)?,
    )
    .map_err(ExperimentError::data)?;
    let test = Dataset::new(
        x_test,
        targets.select(&split.test).map_err(ExperimentError::data)?,
    )
    .map_err(ExperimentError::data)?;
    Ok(PreparedData {
        train,
        test,
        class_names: if regression { None } else { table.class_names },
        files,
        split: split_record,
        scaler,
        vocab: None,
        vocabulary: None,
    })
}

fn record_split(
    method: &str,
    split: &Split,
    labels: Option<&[usize]>,
    n_classes: Option<usize>,
) -> SplitRecord {
    let counts = |rows: &[usize]| {
        labels.zip(n_classes).map(|(l, c)| {
            let mut counts = vec![0; c];
            for &r in rows {
                counts[l[r]] += 1;
            }
            counts
        })
    };
    SplitRecord {
        method: method.to_string(),
        n_train: split.train.len(),
        n_test: split.test.len(),
        train_indices_sha256: sha256_indices(&split.train),
        test_indices_sha256: sha256_indices(&split.test),
        train_class_counts: counts(&split.train),
        test_class_counts: counts(&split.test),
    }
}

fn scale(
    kind: Preprocessing,
    train: Tensor,
    test: Tensor,
) -> Result<(Tensor, Tensor, Option<ScalerRecord>), ExperimentError> {
    let d = ExperimentError::data;
    Ok(match kind {
        Preprocessing::None => (train, test, None),
        Preprocessing::StandardScaler => {
            let s = StandardScaler::default().fit(&train).map_err(d)?;
            let record = ScalerRecord {
                kind: "standard_scaler".into(),
                offset: s.mean.clone(),
                scale: s.scale.clone(),
            };
            (
                s.transform(&train).map_err(d)?,
                s.transform(&test).map_err(d)?,
                Some(record),
            )
        }
        Preprocessing::Minmax => {
            let s = MinMaxScaler::default().fit(&train).map_err(d)?;
            let record = ScalerRecord {
                kind: "minmax".into(),
                offset: s.data_min.clone(),
                scale: s.data_range.clone(),
            };
            (
                s.transform(&train).map_err(d)?,
                s.transform(&test).map_err(d)?,
                Some(record),
            )
        }
    })
}

/// Finds a data file: a workspace-relative path, or a registry file verified by `require_file`.
pub(super) fn resolve(
    workspace: &Path,
    path: &Option<String>,
    dataset: &Option<String>,
    file: &Option<String>,
    files: &mut Vec<FileRecord>,
) -> Result<PathBuf, ExperimentError> {
    let (full, name) = match (path, dataset, file) {
        (Some(p), None, None) => (workspace.join(p), p.clone()),
        (None, Some(d), Some(f)) => (require(workspace, d, f)?, format!("{d}/{f}")),
        _ => {
            return Err(ExperimentError::Data(
                "give either `path` or both `dataset` and `file`".into(),
            ))
        }
    };
    record_file(&full, name, files)?;
    Ok(full)
}

pub(super) fn record_file(
    full: &Path,
    name: String,
    files: &mut Vec<FileRecord>,
) -> Result<(), ExperimentError> {
    let bytes = std::fs::metadata(full)
        .map_err(|e| ExperimentError::io(full, e))?
        .len();
    files.push(FileRecord {
        name,
        sha256: sha256_file(full)?,
        bytes,
    });
    Ok(())
}

/// A verified registry file, or an error telling which `cargo xtask fetch` to run.
pub(super) fn require(
    workspace: &Path,
    dataset: &str,
    file: &str,
) -> Result<PathBuf, ExperimentError> {
    let registry =
        Registry::load(&Registry::default_path(workspace)).map_err(ExperimentError::data)?;
    let opts = FetchOptions {
        workspace: workspace.to_path_buf(),
        cache_dir: paths::cache_dir(workspace),
        mirror: None,
        offline: true,
        progress: false,
    };
    fetch::require_file(&registry, &opts, dataset, file).map_err(|e| {
        let message = e.to_string();
        // A missing file's error already says which fetch command to run.
        ExperimentError::Data(if message.contains("cargo xtask fetch") {
            message
        } else {
            format!(
                "{message}; run `cargo xtask fetch {dataset}` (add `--mirror DIR` to copy from a local mirror)"
            )
        })
    })
}

fn prepare_mnist(
    workspace: &Path,
    channels: bool,
    train_limit: Option<usize>,
    test_limit: Option<usize>,
) -> Result<PreparedData, ExperimentError> {
    let mut files = Vec::new();
    let mut dir = PathBuf::new();
    for f in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        let p = require(workspace, "mnist", f)?;
        record_file(&p, format!("mnist/{f}"), &mut files)?;
        dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    let layout = if channels {
        ImageLayout::Channels
    } else {
        ImageLayout::Flat
    };
    let take = |part: gradwork::data::ImageDataset, limit: Option<usize>| {
        let n = limit.map_or(part.labels.len(), |l| l.min(part.labels.len()));
        let rows: Vec<usize> = (0..n).collect();
        let x = part
            .images
            .try_index_select(0, &rows)
            .map_err(ExperimentError::data)?;
        Ok::<_, ExperimentError>((x, part.labels[..n].to_vec()))
    };
    let (x_train, y_train) = take(
        read_mnist(&dir, "train", layout).map_err(ExperimentError::data)?,
        train_limit,
    )?;
    let (x_test, y_test) = take(
        read_mnist(&dir, "t10k", layout).map_err(ExperimentError::data)?,
        test_limit,
    )?;
    let count = |y: &[usize]| {
        let mut c = vec![0; 10];
        for &v in y {
            c[v] += 1;
        }
        c
    };
    let train_rows: Vec<usize> = (0..y_train.len()).collect();
    let test_rows: Vec<usize> = (0..y_test.len()).collect();
    let split = SplitRecord {
        method: "official".into(),
        n_train: y_train.len(),
        n_test: y_test.len(),
        train_indices_sha256: sha256_indices(&train_rows),
        test_indices_sha256: sha256_indices(&test_rows),
        train_class_counts: Some(count(&y_train)),
        test_class_counts: Some(count(&y_test)),
    };
    Ok(PreparedData {
        train: Dataset::new(x_train, Targets::Classes(y_train)).map_err(ExperimentError::data)?,
        test: Dataset::new(x_test, Targets::Classes(y_test)).map_err(ExperimentError::data)?,
        class_names: Some((0..10).map(|i| i.to_string()).collect()),
        files,
        split,
        scaler: None,
        vocab: None,
        vocabulary: None,
    })
}
