//! The column readers of a CSV file once its header is known: which store each selected column
//! starts with (numbers, text, categories or class indices of a fitted schema, scikit-learn's
//! class indices) and how its cells are normalised.

use std::path::PathBuf;

use crate::csv_columns::{ColumnReader, Store};
use crate::csv_options::{CategoricalColumns, CsvOptions, TargetKind};
use crate::csv_reader::{resolve, Fitting};
use crate::csv_records::csv_error;
use crate::error::{CsvProblem, Result};
use crate::sklearn_csv::SklearnMetadata;
use crate::tabular::{ColumnEncoding, TargetEncoding};

pub(crate) fn feature_readers(
    positions: &[usize],
    names: &[String],
    options: &CsvOptions,
    fitting: &Fitting,
    header_line: u64,
    path: &Option<PathBuf>,
) -> Result<Vec<ColumnReader>> {
    if let Fitting::Schema(schema) = fitting {
        let found: Vec<&String> = positions.iter().map(|&p| &names[p]).collect();
        let expected: Vec<&String> = schema.columns.iter().map(|c| &c.name).collect();
        if found != expected {
            let text = format!("schema columns {expected:?}, file columns {found:?}");
            return Err(csv_error(
                path,
                header_line,
                None,
                None,
                CsvProblem::UnknownColumn,
                text.as_bytes(),
            ));
        }
        return Ok(positions
            .iter()
            .zip(&schema.columns)
            .map(|(&position, column)| match &column.encoding {
                ColumnEncoding::Numeric => ColumnReader::new(
                    position,
                    names[position].clone(),
                    Store::Numeric(Vec::new()),
                ),
                ColumnEncoding::Categorical { categories, .. } => {
                    let store = Store::Fixed {
                        codes: Vec::new(),
                        categories: categories.clone(),
                    };
                    let mut reader = ColumnReader::new(position, names[position].clone(), store);
                    reader.normalise_numbers = options.categorical == CategoricalColumns::Auto;
                    reader
                }
            })
            .collect());
    }
    let explicit: Vec<usize> = match &options.categorical {
        CategoricalColumns::Columns(list) => list
            .iter()
            .map(|c| resolve(c, names, header_line, path))
            .collect::<Result<_>>()?,
        _ => Vec::new(),
    };
    Ok(positions
        .iter()
        .map(|&position| {
            let name = names[position].clone();
            if explicit.contains(&position) {
                ColumnReader::new(position, name, text_store())
            } else {
                let mut reader = ColumnReader::new(position, name, Store::Numeric(Vec::new()));
                reader.may_become_text = options.categorical == CategoricalColumns::Auto;
                reader
            }
        })
        .collect())
}

fn text_store() -> Store {
    Store::Text {
        codes: Vec::new(),
        interned: Default::default(),
        values: Vec::new(),
    }
}

pub(crate) fn target_reader(
    position: usize,
    names: &[String],
    options: &CsvOptions,
    fitting: &Fitting,
    metadata: Option<&SklearnMetadata>,
) -> Result<ColumnReader> {
    let name = names[position].clone();
    let mut reader = match (fitting, metadata) {
        (_, Some(meta)) => ColumnReader::new(
            position,
            name,
            Store::ClassIndex {
                indices: Vec::new(),
                classes: meta.class_names.len(),
            },
        ),
        (Fitting::Schema(schema), _) => {
            let store = match schema.target.as_ref().map(|t| &t.1) {
                Some(TargetEncoding::Classes(categories)) => Store::Fixed {
                    codes: Vec::new(),
                    categories: categories.clone(),
                },
                Some(TargetEncoding::ClassIndices(names)) => Store::ClassIndex {
                    indices: Vec::new(),
                    classes: names.len(),
                },
                _ => Store::Numeric(Vec::new()),
            };
            let mut reader = ColumnReader::new(position, name, store);
            reader.normalise_numbers = true;
            reader
        }
        _ => match options.target_kind {
            TargetKind::Regression => ColumnReader::new(position, name, Store::Numeric(Vec::new())),
            TargetKind::Auto => {
                let mut reader = ColumnReader::new(position, name, Store::Numeric(Vec::new()));
                reader.may_become_text = true;
                reader
            }
            TargetKind::Classes => {
                let mut reader = ColumnReader::new(position, name, text_store());
                reader.normalise_numbers = true;
                reader
            }
        },
    };
    reader.refuse_missing = true;
    Ok(reader)
}
