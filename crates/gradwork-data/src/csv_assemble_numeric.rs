//! The feature matrix of an all-numeric file straight from the fast path's parsed blocks: each
//! block's rows are written into their place in the row-major matrix, blocks in parallel, without
//! first gathering every column into one vector. The result equals what [`crate::csv_assemble`]
//! builds from the same rows stored column by column.

use gradwork_tensor::Tensor;
use rayon::prelude::*;

use crate::csv_columns::{ColumnReader, Store};
use crate::csv_fast_block::ParsedBlock;
use crate::error::Result;
use crate::tabular::{ColumnEncoding, SourceColumn, TabularDataset, TabularSchema, TargetEncoding};

/// The numbers of a numeric store (empty for any other store, which cannot occur here).
fn numbers(reader: &ColumnReader) -> &[f32] {
    match &reader.store {
        Store::Numeric(values) => values,
        _ => &[],
    }
}

/// Builds the dataset from numeric column stores holding the first `stored_lines.len()` rows,
/// followed by the rows of `pending` blocks (row-major, output column `k` at `order[k]` in each
/// row; the outputs are the features in order, then the target).
pub(crate) fn assemble_numeric(
    columns: Vec<ColumnReader>,
    target: Option<ColumnReader>,
    stored_lines: Vec<u64>,
    pending: Vec<(ParsedBlock, u64)>,
    order: &[usize],
) -> Result<TabularDataset> {
    let d = columns.len();
    let stored = stored_lines.len();
    let n = stored + pending.iter().map(|(b, _)| b.lines.len()).sum::<usize>();
    // Zero-filled by the allocator (fresh pages), then written once by whichever thread owns
    // the rows.
    let mut data = vec![0.0f32; n * d];
    let mut targets = target.as_ref().map(|_| vec![0.0f32; n]);
    let has_target = targets.is_some();
    let (stored_part, mut rest) = data.split_at_mut(stored * d);
    let (stored_targets, mut targets_rest) = match targets.as_mut() {
        Some(t) => t.split_at_mut(stored),
        None => (&mut [][..], &mut [][..]),
    };
    // Each block's rows of the matrix and of the targets, in file order.
    let mut pieces = Vec::with_capacity(pending.len());
    for (block, _) in &pending {
        let rows = block.lines.len();
        let (piece, tail) = rest.split_at_mut(rows * d);
        rest = tail;
        let (target_piece, target_tail) =
            std::mem::take(&mut targets_rest).split_at_mut(if has_target { rows } else { 0 });
        targets_rest = target_tail;
        pieces.push((piece, target_piece, block));
    }
    let stored_columns: Vec<&[f32]> = columns.iter().map(numbers).collect();
    if let Some(t) = target.as_ref() {
        stored_targets.copy_from_slice(numbers(t));
    }
    let features_order = &order[..d];
    rayon::join(
        || write_rows(stored_part, &stored_columns, d),
        || {
            pieces
                .into_par_iter()
                .for_each(|(piece, target_piece, block)| {
                    copy_rows(piece, block, features_order);
                    if !target_piece.is_empty() {
                        let values = block.column(order, d);
                        for (cell, value) in target_piece.iter_mut().zip(values) {
                            *cell = value;
                        }
                    }
                })
        },
    );

    let mut source_lines = stored_lines;
    source_lines.reserve(n - stored);
    for (block, line) in &pending {
        source_lines.extend(block.lines.iter().map(|&relative| line + relative));
    }

    let schema = TabularSchema {
        columns: columns
            .into_iter()
            .map(|c| SourceColumn {
                name: c.name,
                encoding: ColumnEncoding::Numeric,
            })
            .collect(),
        target: target.map(|t| (t.name, TargetEncoding::Numeric)),
    };
    Ok(TabularDataset {
        features: Tensor::try_from_vec(data, &[n, d])?,
        targets: targets
            .map(|values| Tensor::try_from_vec(values, &[n]))
            .transpose()?,
        class_indices: None,
        feature_names: schema.feature_names(),
        target_name: schema.target.as_ref().map(|t| t.0.clone()),
        class_names: None,
        source_lines,
        schema,
    })
}

/// Writes rows `0..out.len() / d` of `columns` (one slice per feature) row-major into `out`.
fn write_rows(out: &mut [f32], columns: &[&[f32]], d: usize) {
    if d == 0 {
        return;
    }
    for (i, row) in out.chunks_exact_mut(d).enumerate() {
        for (cell, column) in row.iter_mut().zip(columns) {
            *cell = column[i];
        }
    }
}

/// Writes the features of a parsed block's rows into `out` (row-major, `features_order.len()`
/// columns): a straight copy when the features are the first fields of each row, in order.
fn copy_rows(out: &mut [f32], block: &ParsedBlock, features_order: &[usize]) {
    let d = features_order.len();
    if d == 0 {
        return;
    }
    let rows = block.values.chunks_exact(block.width.max(1));
    if features_order.iter().enumerate().all(|(k, &at)| k == at) {
        for (row, values) in out.chunks_exact_mut(d).zip(rows) {
            row.copy_from_slice(&values[..d]);
        }
    } else {
        for (row, values) in out.chunks_exact_mut(d).zip(rows) {
            for (cell, &at) in row.iter_mut().zip(features_order) {
                *cell = values[at];
            }
        }
    }
}
