//! scikit-learn's bundled CSVs (`iris.csv`, `wine_data.csv`, `breast_cancer.csv`): a metadata line
//! `n_samples,n_features,class names...`, then rows of features and an integer label.

use std::path::{Path, PathBuf};

use csv::ByteRecord;

use crate::csv_options::{CsvOptions, TargetColumn};
use crate::csv_reader::{read_any, Fitting};
use crate::csv_records::open_file;
use crate::error::{excerpt, CsvProblem, DataError, Location, Result};
use crate::tabular::TabularDataset;

/// Reads a scikit-learn bundled CSV: the metadata line names the classes, the last column holds
/// each row's class index, and the row and feature counts are checked against the metadata.
///
/// ```no_run
/// let iris = gradwork_data::read_sklearn_csv("datasets/iris/sklearn/iris.csv").unwrap();
/// assert_eq!(iris.features.shape(), &[150, 4]);
/// assert_eq!(iris.class_names.unwrap(), ["setosa", "versicolor", "virginica"]);
/// ```
pub fn read_sklearn_csv(path: impl AsRef<Path>) -> Result<TabularDataset> {
    let path = path.as_ref();
    let options = CsvOptions {
        has_header: false,
        target: TargetColumn::Last,
        ..CsvOptions::default()
    };
    read_any(
        open_file(path)?,
        Some(path.to_path_buf()),
        &options,
        Fitting::Sklearn,
    )
}

/// [`read_sklearn_csv`] from any reader.
pub fn read_sklearn_csv_from_reader<R: std::io::Read>(reader: R) -> Result<TabularDataset> {
    let options = CsvOptions {
        has_header: false,
        target: TargetColumn::Last,
        ..CsvOptions::default()
    };
    read_any(reader, None, &options, Fitting::Sklearn)
}

/// The parsed metadata line.
#[derive(Debug, Clone)]
pub(crate) struct SklearnMetadata {
    pub n_samples: usize,
    pub n_features: usize,
    pub class_names: Vec<String>,
    line: u64,
}

fn metadata_error(
    path: &Option<PathBuf>,
    line: u64,
    column: usize,
    why: &str,
    text: &[u8],
) -> DataError {
    DataError::Csv {
        location: Box::new(Location {
            path: path.clone(),
            line,
            column: Some(column),
            column_name: None,
        }),
        problem: CsvProblem::BadMetadata(why.to_string()),
        text: excerpt(text),
    }
}

impl SklearnMetadata {
    /// Parses `n_samples,n_features,class names...`.
    pub fn parse(record: &ByteRecord, line: u64, path: &Option<PathBuf>) -> Result<Self> {
        let count = |i: usize, what: &str| -> Result<usize> {
            let raw = record.get(i).unwrap_or(b"");
            std::str::from_utf8(raw)
                .ok()
                .and_then(|t| t.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    metadata_error(path, line, i + 1, &format!("{what} is not a count"), raw)
                })
        };
        let n_samples = count(0, "n_samples")?;
        let n_features = count(1, "n_features")?;
        let mut class_names = Vec::new();
        for (i, raw) in record.iter().enumerate().skip(2) {
            let name = std::str::from_utf8(raw)
                .map_err(|_| metadata_error(path, line, i + 1, "class name is not UTF-8", raw))?;
            class_names.push(name.trim().to_string());
        }
        if class_names.is_empty() {
            return Err(metadata_error(path, line, 3, "no class names", b""));
        }
        Ok(SklearnMetadata {
            n_samples,
            n_features,
            class_names,
            line,
        })
    }

    /// Checks the data against the metadata's counts.
    pub fn check(&self, data: &TabularDataset, path: &Option<PathBuf>) -> Result<()> {
        if data.n_rows() != self.n_samples {
            let why = format!(
                "it announces {} rows, the file has {}",
                self.n_samples,
                data.n_rows()
            );
            return Err(metadata_error(
                path,
                self.line,
                1,
                &why,
                self.n_samples.to_string().as_bytes(),
            ));
        }
        if data.n_features() != self.n_features {
            let why = format!(
                "it announces {} features, the rows have {}",
                self.n_features,
                data.n_features()
            );
            return Err(metadata_error(
                path,
                self.line,
                2,
                &why,
                self.n_features.to_string().as_bytes(),
            ));
        }
        Ok(())
    }
}
