//! # gradwork-data
//!
//! From a file on disk to batches of tensors, with scikit-learn's semantics where people expect
//! them. Depends on `gradwork-tensor` only (no autodiff), so it is usable on its own, the way
//! pandas and scikit-learn's `model_selection` and `preprocessing` are.
//!
//! The pipeline of the usual tutorial (read a CSV, split 80/20 with a seed, fit a scaler on the
//! training part, transform both parts, batch):
//!
//! ```
//! use gradwork_data::{
//!     read_csv_from_reader, train_test_split, CsvOptions, DataLoader, DataLoaderConfig,
//!     SplitConfig, StandardScaler, TargetColumn,
//! };
//!
//! let csv = "height,weight,target\n1.7,65,0\n1.8,80,1\n1.6,55,0\n1.9,90,1\n1.75,70,0\n";
//! let options = CsvOptions { target: TargetColumn::Name("target".into()), ..CsvOptions::default() };
//! let table = read_csv_from_reader(csv.as_bytes(), &options)?;
//! assert_eq!(table.features.shape(), &[5, 2]);
//!
//! let split = train_test_split(table.n_rows(), &SplitConfig { test_fraction: 0.2, shuffle: true, seed: 42 })?;
//! assert_eq!((split.train.len(), split.test.len()), (4, 1)); // n_test = ceil(0.2 * 5)
//! let (train, test) = (table.select_rows(&split.train)?, table.select_rows(&split.test)?);
//!
//! let scaler = StandardScaler::default().fit(&train.features)?; // statistics from train only
//! let x_train = scaler.transform(&train.features)?;
//! let _x_test = scaler.transform(&test.features)?;
//!
//! let config = DataLoaderConfig { batch_size: 2, shuffle: true, drop_last: false, seed: 42 };
//! let loader = DataLoader::new(x_train, train.targets.clone(), config)?;
//! assert_eq!(loader.epoch(0).count(), 2);
//! # Ok::<(), gradwork_data::DataError>(())
//! ```
//!
//! ## Map
//! | module | what |
//! |---|---|
//! | [`read_csv`], [`CsvOptions`] | streaming CSV (header, delimiter, BOM, CRLF, quotes, `.gz`), target by name/index/last, feature subset, missing markers, categoricals, class labels; numeric files parsed in parallel on the rayon pool, with results independent of the thread count |
//! | [`read_sklearn_csv`] | scikit-learn's bundled CSVs (metadata line naming the classes) |
//! | [`TabularDataset`], [`TabularSchema`] | the result, and the fitted encoders to read a test file the same way ([`read_csv_with_schema`]) |
//! | [`Categories`] | a fitted sorted category list; unseen values are errors |
//! | [`Imputer`] | mean / median / most-frequent imputation fitted on training rows |
//! | [`read_idx`], [`read_mnist`] | the IDX format of MNIST, gzip included |
//! | [`Vocabulary`], [`read_sst2`], [`CharCorpus`] | word and character vocabularies, SST-2, char-level corpora |
//! | [`train_test_split`], [`stratified_train_test_split`], [`KFold`], [`StratifiedKFold`] | index splits with scikit-learn's sizes |
//! | [`StandardScaler`], [`MinMaxScaler`] | configs that fit into serialisable fitted scalers |
//! | [`DataLoader`] | batches whose order depends only on `(seed, epoch)` |
//! | [`DataError`] | the one error type: line, column and text for every CSV problem |

mod categories;
mod csv_assemble;
mod csv_assemble_numeric;
mod csv_column_setup;
mod csv_columns;
mod csv_fast_block;
mod csv_fast_read;
#[cfg(test)]
mod csv_fast_tests;
mod csv_options;
mod csv_reader;
mod csv_records;
mod csv_sink;
mod error;
mod idx;
mod impute;
mod kfold;
mod line_tracker;
mod loader;
mod parse_number;
mod prefetch;
mod scaler;
mod sklearn_csv;
mod split;
mod tabular;
mod text;
mod text_datasets;

pub use categories::Categories;
pub use csv_options::{
    CategoricalColumns, CategoricalEncoding, ColumnRef, CsvOptions, MissingPolicy, TargetColumn,
    TargetKind,
};
pub use csv_reader::{
    read_csv, read_csv_from_reader, read_csv_from_reader_with_schema, read_csv_with_schema,
};
pub use error::{CsvProblem, DataError, Location, MissingColumnReport, Result};
pub use idx::{
    read_idx, read_idx_from_reader, read_idx_images, read_idx_labels, read_mnist, IdxArray,
    ImageDataset, ImageLayout, IDX_UNSIGNED_BYTE,
};
pub use impute::{FittedImputer, ImputeStrategy, Imputer};
pub use kfold::{KFold, StratifiedKFold, KFOLD_STREAM};
pub use loader::{Batch, Batches, DataLoader, DataLoaderConfig, SHUFFLE_STREAM, VALIDATION_STREAM};
pub use scaler::{FittedMinMaxScaler, FittedStandardScaler, MinMaxScaler, StandardScaler};
pub use sklearn_csv::{read_sklearn_csv, read_sklearn_csv_from_reader};
pub use split::{
    approximate_mode, split_sizes, stratified_train_test_split, train_test_split, Split,
    SplitConfig, SPLIT_STREAM,
};
pub use tabular::{ColumnEncoding, SourceColumn, TabularDataset, TabularSchema, TargetEncoding};
pub use text::{
    pad_or_truncate, tokenize_simple, tokenize_words, Vocabulary, PAD_ID, PAD_TOKEN, UNK_ID,
    UNK_TOKEN,
};
pub use text_datasets::{read_sst2, read_sst2_from_reader, CharCorpus, LabeledSentence};
