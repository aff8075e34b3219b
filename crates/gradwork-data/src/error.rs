//! The crate's error type. Every CSV error names the file (when there is one), the 1-based line,
//! the column (1-based number and name when known) and the offending text, so the message alone
//! says where to look and what to fix.

use std::fmt;
use std::path::PathBuf;

use gradwork_tensor::TensorError;
use thiserror::Error;

/// A shorthand for results whose error is [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;

/// Where in a delimited text file something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, when reading from a path (not from an in-memory reader).
    pub path: Option<PathBuf>,
    /// The 1-based line on which the record starts.
    pub line: u64,
    /// The 1-based column number, when the problem is in one column.
    pub column: Option<usize>,
    /// The column's name, when the file has a header (or the column was named by the reader).
    pub column_name: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        write!(f, "line {}", self.line)?;
        match (self.column, &self.column_name) {
            (Some(column), Some(name)) => write!(f, ", column {column} ({name:?})")?,
            (Some(column), None) => write!(f, ", column {column}")?,
            (None, Some(name)) => write!(f, ", column {name:?}")?,
            (None, None) => {}
        }
        Ok(())
    }
}

/// What is wrong with a CSV cell, row or header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsvProblem {
    /// The file holds no record at all.
    EmptyFile,
    /// The file holds a header (or metadata line) but no data row.
    NoDataRows,
    /// A row has a different number of fields from the header (or the first row).
    RaggedRow {
        /// The number of fields of the header or first row.
        expected: usize,
        /// The number of fields of this row.
        found: usize,
    },
    /// A numeric cell does not parse as a number.
    NotANumber,
    /// A numeric cell is infinite or out of `f32` range.
    NotFinite,
    /// A cell is not valid UTF-8.
    NotUtf8,
    /// Two header cells have the same name.
    DuplicateHeader {
        /// The 1-based column where the name first appears.
        first_column: usize,
    },
    /// A requested column (target or feature) does not exist.
    UnknownColumn,
    /// The only column left is the target: there would be no feature.
    NoFeatures,
    /// The target cell is a missing-value marker (targets are never imputed).
    MissingTarget,
    /// A categorical cell holds a category the fitted schema does not know.
    UnseenCategory {
        /// The categories the schema knows, sorted.
        known: Vec<String>,
    },
    /// scikit-learn's metadata line (`n_samples,n_features,class names...`) is malformed or does
    /// not match the data.
    BadMetadata(String),
    /// A class label is not an integer index into the metadata's class names.
    LabelOutOfRange {
        /// The number of classes the metadata names.
        classes: usize,
    },
    /// The `csv` crate's own parser refused the input.
    Malformed(String),
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvProblem::EmptyFile => {
                write!(
                    f,
                    "no record here (the file is empty, or everything was skipped)"
                )
            }
            CsvProblem::NoDataRows => write!(f, "there is no data row after the header"),
            CsvProblem::RaggedRow { expected, found } => {
                write!(
                    f,
                    "the row has {found} fields but the first row has {expected}"
                )
            }
            CsvProblem::NotANumber => write!(f, "not a number"),
            CsvProblem::NotFinite => write!(f, "not a finite f32 number"),
            CsvProblem::NotUtf8 => write!(f, "not valid UTF-8"),
            CsvProblem::DuplicateHeader { first_column } => {
                write!(
                    f,
                    "duplicate column name (first used by column {first_column})"
                )
            }
            CsvProblem::UnknownColumn => write!(f, "no such column"),
            CsvProblem::NoFeatures => {
                write!(
                    f,
                    "the target is the only selected column: no feature is left"
                )
            }
            CsvProblem::MissingTarget => write!(f, "the target value is missing"),
            CsvProblem::UnseenCategory { known } => {
                write!(f, "category not seen when fitting (known: {known:?})")
            }
            CsvProblem::BadMetadata(why) => write!(f, "bad scikit-learn metadata line: {why}"),
            CsvProblem::LabelOutOfRange { classes } => {
                write!(f, "the label is not an integer in 0..{classes}")
            }
            CsvProblem::Malformed(why) => write!(f, "malformed CSV: {why}"),
        }
    }
}

/// Missing values found in one column (see [`DataError::MissingValues`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingColumnReport {
    /// The 1-based column number.
    pub column: usize,
    /// The column's name.
    pub column_name: String,
    /// How many cells of the column hold a missing-value marker.
    pub count: usize,
    /// The 1-based lines of the first few of them.
    pub first_lines: Vec<u64>,
}

fn format_missing(path: &Option<PathBuf>, columns: &[MissingColumnReport]) -> String {
    let mut out = String::new();
    if let Some(path) = path {
        out.push_str(&format!("{}: ", path.display()));
    }
    out.push_str("missing values (choose MissingPolicy::Keep and impute them, or clean the file):");
    for report in columns {
        let lines: Vec<String> = report.first_lines.iter().map(u64::to_string).collect();
        out.push_str(&format!(
            " column {} ({:?}): {} missing, first at line {};",
            report.column,
            report.column_name,
            report.count,
            lines.join(", line ")
        ));
    }
    out
}

/// Why a data operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// Reading a file failed at the operating-system level.
    #[error("{}: {source}", path.as_ref().map_or_else(|| "<reader>".to_string(), |p| p.display().to_string()))]
    Io {
        /// The file, if any.
        path: Option<PathBuf>,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A CSV cell, row or header is malformed.
    #[error("{location}: {problem}: {text:?}")]
    Csv {
        /// Where (boxed to keep `Result`s small).
        location: Box<Location>,
        /// What is wrong.
        problem: CsvProblem,
        /// The offending text (lossily decoded, truncated to 200 characters).
        text: String,
    },
    /// Cells hold missing-value markers and the policy is to refuse them.
    #[error("{}", format_missing(path, columns))]
    MissingValues {
        /// The file, if any.
        path: Option<PathBuf>,
        /// One report per column that has missing values, in column order.
        columns: Vec<MissingColumnReport>,
    },
    /// A value to encode was not seen when the encoder was fitted.
    #[error("{what}: category {value:?} was not seen when fitting (known: {known:?})")]
    UnseenCategory {
        /// The encoder or column.
        what: String,
        /// The unseen value.
        value: String,
        /// The categories the encoder knows.
        known: Vec<String>,
    },
    /// An IDX file is malformed.
    #[error("{}: IDX: {reason}", path.as_ref().map_or_else(|| "<reader>".to_string(), |p| p.display().to_string()))]
    Idx {
        /// The file, if any.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// Two shapes that must agree do not.
    #[error("{op}: expected shape {expected}, got {found:?}")]
    Shape {
        /// The operation.
        op: &'static str,
        /// The expected shape, in words (e.g. "[n, 4]").
        expected: String,
        /// The actual shape.
        found: Vec<usize>,
    },
    /// An argument or configuration is invalid (split sizes, batch size, fold count...).
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// What is wrong, with the values involved.
        reason: String,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

impl DataError {
    /// An [`DataError::InvalidArgument`] for `op`.
    pub fn invalid(op: &'static str, reason: impl Into<String>) -> Self {
        DataError::InvalidArgument {
            op,
            reason: reason.into(),
        }
    }

    /// A [`DataError::Shape`] for `op`.
    pub fn shape(op: &'static str, expected: impl Into<String>, found: &[usize]) -> Self {
        DataError::Shape {
            op,
            expected: expected.into(),
            found: found.to_vec(),
        }
    }
}

/// Truncates `text` for an error message, so a runaway field (an unterminated quote swallowing
/// the rest of the file) does not produce a megabyte-long message.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() <= MAX {
        text.into_owned()
    } else {
        let mut short: String = text.chars().take(MAX).collect();
        short.push_str("...");
        short
    }
}
