//! The result of reading a table: features, targets, names, and the schema (encoders) needed to
//! read another file (a test set) the same way.

use gradwork_tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::categories::Categories;
use crate::csv_options::CategoricalEncoding;
use crate::error::{DataError, Result};

/// How one selected source column became feature columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ColumnEncoding {
    /// A numeric column, copied as is.
    Numeric,
    /// A categorical column with its fitted categories.
    Categorical {
        /// The sorted categories seen when fitting.
        categories: Categories,
        /// One-hot (one output column per category) or ordinal (one column of indices).
        encoding: CategoricalEncoding,
    },
}

/// One selected source column of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceColumn {
    /// The column's name (from the header, or `column_<1-based index>`).
    pub name: String,
    /// How it is encoded.
    pub encoding: ColumnEncoding,
}

/// How the target was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TargetEncoding {
    /// Numbers (regression).
    Numeric,
    /// Class labels: the cell's text is looked up in the categories.
    Classes(Categories),
    /// Class labels given as integer indices into these names (scikit-learn's bundled CSVs).
    ClassIndices(Vec<String>),
}

/// Everything fitted while reading a training file: the selected columns, their encoders and
/// the target's classes. Reading a test file with [`crate::read_csv_with_schema`] reuses it, so
/// both files get the same columns, and an unseen category is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabularSchema {
    /// The selected feature columns, in output order.
    pub columns: Vec<SourceColumn>,
    /// The target column's name and encoding, if there is a target.
    pub target: Option<(String, TargetEncoding)>,
}

impl TabularSchema {
    /// The names of the output feature columns: a numeric or ordinal column keeps its name, a
    /// one-hot column `c` with category `v` is named `c=v`.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for column in &self.columns {
            match &column.encoding {
                ColumnEncoding::Categorical {
                    categories,
                    encoding: CategoricalEncoding::OneHot,
                } => names.extend(
                    categories
                        .names()
                        .iter()
                        .map(|v| format!("{}={v}", column.name)),
                ),
                _ => names.push(column.name.clone()),
            }
        }
        names
    }
}

/// A table of `n` rows: features `[n, d]` and optional targets.
///
/// For classification, `targets` holds the class index as `f32` and `class_indices` the same
/// indices as `usize`; `class_names[i]` names class `i`. For regression, `class_indices` and
/// `class_names` are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct TabularDataset {
    /// The feature matrix, `[n, d]`. Missing values (with [`crate::MissingPolicy::Keep`]) are `NaN`.
    pub features: Tensor,
    /// The targets, `[n]`, if a target column was read.
    pub targets: Option<Tensor>,
    /// The class index of each row, for classification targets.
    pub class_indices: Option<Vec<usize>>,
    /// The names of the `d` feature columns.
    pub feature_names: Vec<String>,
    /// The target column's name.
    pub target_name: Option<String>,
    /// The class names, for classification targets.
    pub class_names: Option<Vec<String>>,
    /// The 1-based line each row started on in the source file.
    pub source_lines: Vec<u64>,
    /// The fitted schema (column encoders, classes) to read more files the same way.
    pub schema: TabularSchema,
}

impl TabularDataset {
    /// The number of rows.
    pub fn n_rows(&self) -> usize {
        self.features.shape()[0]
    }

    /// The number of feature columns.
    pub fn n_features(&self) -> usize {
        self.features.shape()[1]
    }

    /// The number of rows of each class (`None` for regression targets).
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let classes = self.class_names.as_ref()?.len();
        let mut counts = vec![0; classes];
        for &c in self.class_indices.as_ref()? {
            counts[c] += 1;
        }
        Some(counts)
    }

    /// The rows `indices` (in that order) as a new dataset with the same names and schema: use
    /// it with the indices of a [`crate::Split`].
    pub fn select_rows(&self, indices: &[usize]) -> Result<TabularDataset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.n_rows()) {
            return Err(DataError::invalid(
                "TabularDataset::select_rows",
                format!("row {bad} is out of range for {} rows", self.n_rows()),
            ));
        }
        Ok(TabularDataset {
            features: self.features.try_index_select(0, indices)?,
            targets: match &self.targets {
                Some(t) => Some(t.try_index_select(0, indices)?),
                None => None,
            },
            class_indices: self
                .class_indices
                .as_ref()
                .map(|c| indices.iter().map(|&i| c[i]).collect()),
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
            class_names: self.class_names.clone(),
            source_lines: indices.iter().map(|&i| self.source_lines[i]).collect(),
            schema: self.schema.clone(),
        })
    }
}
