//! Turning the finished column stores into the row-major feature matrix, the targets and the
//! fitted schema.

use gradwork_tensor::Tensor;

use crate::csv_columns::{ColumnReader, Store, MISSING_CODE};
use crate::csv_options::CategoricalEncoding;
use crate::csv_reader::Fitting;
use crate::error::Result;
use crate::sklearn_csv::SklearnMetadata;
use crate::tabular::{ColumnEncoding, SourceColumn, TabularDataset, TabularSchema, TargetEncoding};

/// Builds the row-major feature matrix, the targets and the schema from the column stores.
pub(crate) fn assemble(
    columns: Vec<ColumnReader>,
    target: Option<ColumnReader>,
    source_lines: Vec<u64>,
    encoding: CategoricalEncoding,
    fitting: &Fitting,
    metadata: Option<&SklearnMetadata>,
) -> Result<TabularDataset> {
    let n = source_lines.len();
    let mut blocks: Vec<(SourceColumn, Block)> = Vec::with_capacity(columns.len());
    for (k, mut column) in columns.into_iter().enumerate() {
        let name = column.name.clone();
        match column.finish_text() {
            Some((categories, codes)) => {
                let encoding = match fitting {
                    Fitting::Schema(schema) => match &schema.columns[k].encoding {
                        ColumnEncoding::Categorical { encoding, .. } => *encoding,
                        ColumnEncoding::Numeric => encoding,
                    },
                    _ => encoding,
                };
                let width = if encoding == CategoricalEncoding::OneHot {
                    categories.len()
                } else {
                    1
                };
                let source = SourceColumn {
                    name,
                    encoding: ColumnEncoding::Categorical {
                        categories,
                        encoding,
                    },
                };
                blocks.push((
                    source,
                    Block::Codes {
                        codes,
                        width,
                        one_hot: encoding == CategoricalEncoding::OneHot,
                    },
                ));
            }
            None => {
                let Store::Numeric(values) = column.store else {
                    unreachable!("finish_text returns None only for numbers")
                };
                blocks.push((
                    SourceColumn {
                        name,
                        encoding: ColumnEncoding::Numeric,
                    },
                    Block::Numbers(values),
                ));
            }
        }
    }
    let d: usize = blocks.iter().map(|(_, b)| b.width()).sum();
    let mut data = vec![0.0f32; n * d];
    // Row by row: each output row is written once while every column is read in order, rather
    // than one strided pass over the whole matrix per column.
    if d > 0 {
        for (i, row) in data.chunks_exact_mut(d).enumerate() {
            let mut offset = 0;
            for (_, block) in &blocks {
                block.write_row(i, row, offset);
                offset += block.width();
            }
        }
    }
    let schema_columns: Vec<SourceColumn> = blocks.into_iter().map(|(s, _)| s).collect();

    let (targets, class_indices, class_names, target_schema) = match target {
        None => (None, None, None, None),
        Some(mut column) => {
            let name = column.name.clone();
            if let Some((categories, codes)) = column.finish_text() {
                let indices: Vec<usize> = codes.iter().map(|&c| c as usize).collect();
                debug_assert!(codes.iter().all(|&c| c != MISSING_CODE));
                let values: Vec<f32> = indices.iter().map(|&i| i as f32).collect();
                let names = categories.names().to_vec();
                (
                    Some(Tensor::try_from_vec(values, &[n])?),
                    Some(indices),
                    Some(names),
                    Some((name, TargetEncoding::Classes(categories))),
                )
            } else {
                match column.store {
                    Store::ClassIndex { indices, .. } => {
                        let names = metadata
                            .map(|m| m.class_names.clone())
                            .or_else(|| match fitting {
                                Fitting::Schema(schema) => {
                                    match schema.target.as_ref().map(|t| &t.1) {
                                        Some(TargetEncoding::ClassIndices(names)) => {
                                            Some(names.clone())
                                        }
                                        _ => None,
                                    }
                                }
                                _ => None,
                            })
                            .unwrap_or_default();
                        let values: Vec<f32> = indices.iter().map(|&i| i as f32).collect();
                        (
                            Some(Tensor::try_from_vec(values, &[n])?),
                            Some(indices),
                            Some(names.clone()),
                            Some((name, TargetEncoding::ClassIndices(names))),
                        )
                    }
                    Store::Numeric(values) => (
                        Some(Tensor::try_from_vec(values, &[n])?),
                        None,
                        None,
                        Some((name, TargetEncoding::Numeric)),
                    ),
                    _ => unreachable!("text stores were finished above"),
                }
            }
        }
    };
    let schema = TabularSchema {
        columns: schema_columns,
        target: target_schema,
    };
    Ok(TabularDataset {
        features: Tensor::try_from_vec(data, &[n, d])?,
        targets,
        class_indices,
        feature_names: schema.feature_names(),
        target_name: schema.target.as_ref().map(|t| t.0.clone()),
        class_names,
        source_lines,
        schema,
    })
}

/// One source column's finished values.
enum Block {
    Numbers(Vec<f32>),
    Codes {
        codes: Vec<u32>,
        width: usize,
        one_hot: bool,
    },
}

impl Block {
    fn width(&self) -> usize {
        match self {
            Block::Numbers(_) => 1,
            Block::Codes { width, .. } => *width,
        }
    }

    /// Writes row `i` of this block into `row[offset..offset + width]`.
    fn write_row(&self, i: usize, row: &mut [f32], offset: usize) {
        match self {
            Block::Numbers(values) => row[offset] = values[i],
            Block::Codes {
                codes,
                width,
                one_hot,
            } => {
                let cells = &mut row[offset..offset + width];
                match (codes[i], one_hot) {
                    (MISSING_CODE, _) => cells.fill(f32::NAN),
                    (code, true) => cells[code as usize] = 1.0,
                    (code, false) => cells[0] = code as f32,
                }
            }
        }
    }
}
