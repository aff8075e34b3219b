//! How to read a delimited text file into a [`crate::TabularDataset`]: named options, no bare booleans
//! in positional arguments.

use serde::{Deserialize, Serialize};

/// A column chosen by its header name or its 0-based position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnRef {
    /// The column whose header cell is this name.
    Name(String),
    /// The column at this 0-based position.
    Index(usize),
}

/// Which column holds the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetColumn {
    /// The column whose header cell is this name.
    Name(String),
    /// The column at this 0-based position.
    Index(usize),
    /// The last column (the default, as in the sklearn CSVs).
    Last,
    /// No target: every selected column is a feature.
    None,
}

/// How the target values are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TargetKind {
    /// Numbers are regression targets; if any target is not a number, the targets are class
    /// labels (mapped to indices in sorted order, names kept).
    #[default]
    Auto,
    /// Always class labels: the sorted distinct values (numerically sorted when all are numbers)
    /// become classes `0..k`.
    Classes,
    /// Always numbers; a non-number is an error.
    Regression,
}

/// How a categorical (string) feature column becomes numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CategoricalEncoding {
    /// One 0/1 column per category, in sorted category order.
    #[default]
    OneHot,
    /// One column holding the category's index in the sorted category list.
    Ordinal,
}

/// Which feature columns are categorical.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CategoricalColumns {
    /// None: every feature must be a number, and a non-number is an error naming the cell.
    #[default]
    None,
    /// Exactly these columns (their cells are taken as text even when they look numeric).
    Columns(Vec<ColumnRef>),
    /// Any feature column holding a cell that is not a number (and not a missing marker).
    Auto,
}

/// What to do with cells that hold a missing-value marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MissingPolicy {
    /// Refuse the file, listing per column how many cells are missing and their first lines.
    #[default]
    Error,
    /// Keep them as `NaN` in the feature tensor, to be filled by a [`crate::FittedImputer`]
    /// fitted on the training rows only (a one-hot block gets `NaN` in each of its columns).
    Keep,
}

/// Options for [`crate::read_csv`]. `CsvOptions::default()` reads a comma-separated file with a
/// header, takes the last column as the target and refuses missing values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvOptions {
    /// Whether the first record (after `skip_rows`) holds the column names. Without a header the
    /// columns are named `column_1`, `column_2`, ... (1-based, like the error messages).
    pub has_header: bool,
    /// The field delimiter byte (`b','`, `b'\t'`, `b';'`, `b' '`...).
    pub delimiter: u8,
    /// Records to skip before the header or the first data row.
    pub skip_rows: usize,
    /// The target column.
    pub target: TargetColumn,
    /// How the target is interpreted.
    pub target_kind: TargetKind,
    /// The feature columns, in the order given; `None` means every column except the target.
    pub features: Option<Vec<ColumnRef>>,
    /// Cell texts (after trimming spaces) that mean "missing".
    pub missing_markers: Vec<String>,
    /// What to do with missing feature values.
    pub missing: MissingPolicy,
    /// Which feature columns are categorical.
    pub categorical: CategoricalColumns,
    /// How categorical columns are encoded.
    pub categorical_encoding: CategoricalEncoding,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            delimiter: b',',
            skip_rows: 0,
            target: TargetColumn::Last,
            target_kind: TargetKind::Auto,
            features: None,
            missing_markers: ["", "NA", "NaN", "?"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            missing: MissingPolicy::Error,
            categorical: CategoricalColumns::None,
            categorical_encoding: CategoricalEncoding::OneHot,
        }
    }
}
