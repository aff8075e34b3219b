//! Where the records of a CSV file go once the header is known: a row-width check, then each
//! selected cell into its column's store. Both record sources (the `csv` crate and the fast
//! numeric path of [`crate::csv_fast_read`]) feed the same sink, so they agree on every value and
//! every error.

use std::path::PathBuf;

use csv::ByteRecord;

use crate::csv_columns::{CellContext, ColumnReader, Store};
use crate::csv_fast_block::{FastLayout, ParsedBlock};
use crate::csv_records::csv_error;
use crate::error::{CsvProblem, Result};

/// The column stores being filled, and what a record is checked against.
pub(crate) struct RowSink<'a> {
    /// The feature columns, in output order.
    pub columns: Vec<ColumnReader>,
    /// The target column, if any.
    pub target: Option<ColumnReader>,
    /// The line each stored row starts on.
    pub source_lines: Vec<u64>,
    /// The number of fields of every record (from the header or the first row).
    pub width: usize,
    /// The column names (for error messages).
    pub names: &'a [String],
    /// The field delimiter (to quote a ragged row in its error).
    pub delimiter: u8,
    /// The file and the missing-value markers.
    pub ctx: CellContext<'a>,
    /// Blocks read by the fast path after the last row stored in the columns, with the line
    /// their relative lines count from. They are copied into the stores only when a later row
    /// goes through [`Self::process`]; otherwise they go straight into the feature matrix.
    pub pending: Vec<(ParsedBlock, u64)>,
}

impl RowSink<'_> {
    /// The file, for error messages.
    fn path(&self) -> &Option<PathBuf> {
        self.ctx.path
    }

    /// Checks `record`'s width and stores its selected cells; `line` is where it starts.
    pub fn process(&mut self, record: &ByteRecord, line: u64) -> Result<()> {
        // Rows stay in file order: earlier fast blocks go into the stores first (a column
        // turning to text converts everything stored before it).
        if !self.pending.is_empty() {
            self.flush_pending();
        }
        if record.len() != self.width {
            let column = record.len().min(self.width) + 1;
            let problem = CsvProblem::RaggedRow {
                expected: self.width,
                found: record.len(),
            };
            let text: Vec<u8> = record.iter().collect::<Vec<_>>().join(&self.delimiter);
            return Err(csv_error(
                self.path(),
                line,
                Some(column),
                self.names.get(column - 1).cloned(),
                problem,
                &text,
            ));
        }
        for column in self.columns.iter_mut() {
            column.push(&record[column.position], line, &self.ctx)?;
        }
        if let Some(target) = self.target.as_mut() {
            target.push(&record[target.position], line, &self.ctx)?;
        }
        self.source_lines.push(line);
        Ok(())
    }

    /// The readers in output order: features, then the target.
    fn readers(&self) -> impl Iterator<Item = &ColumnReader> {
        self.columns.iter().chain(self.target.as_ref())
    }

    /// The layout of the fast numeric path, when it applies: every selected column (target
    /// included) is still a plain numeric store, no two selections share a source column, no
    /// missing-value marker is itself a plain decimal, and the delimiter cannot be part of a
    /// number or a line break or a quote.
    pub fn fast_layout(&self) -> Option<FastLayout> {
        let d = self.delimiter;
        if d.is_ascii_digit() || matches!(d, b'.' | b'+' | b'-' | b'"' | b'\n' | b'\r') {
            return None;
        }
        if self.width == 0 || self.ctx.numeric_marker || !self.all_numeric() {
            return None;
        }
        let mut selected = vec![false; self.width];
        for reader in self.readers() {
            let slot = selected.get_mut(reader.position)?;
            if *slot {
                return None;
            }
            *slot = true;
        }
        Some(FastLayout {
            delimiter: d,
            selected,
            order: self.output_order(),
            markers: self.ctx.markers.to_vec(),
        })
    }

    /// For each output column (features, then the target), where its value sits among a row's
    /// selected fields taken in field order (the fast path's row layout).
    pub fn output_order(&self) -> Vec<usize> {
        let mut positions: Vec<usize> = self.readers().map(|r| r.position).collect();
        positions.sort_unstable();
        self.readers()
            .map(|r| positions.partition_point(|&p| p < r.position))
            .collect()
    }

    /// Whether every selected column still stores plain numbers (a column that turned to text
    /// takes every later cell through [`ColumnReader::push`]).
    pub fn all_numeric(&self) -> bool {
        self.readers().all(|r| matches!(r.store, Store::Numeric(_)))
    }

    /// Appends the rows of a block parsed by the fast path; its relative lines start at `line`.
    pub fn append_parsed(&mut self, block: ParsedBlock, line: u64) {
        if !block.lines.is_empty() {
            self.pending.push((block, line));
        }
    }

    /// Copies the pending fast blocks into the column stores.
    fn flush_pending(&mut self) {
        let order = self.output_order();
        for (block, line) in std::mem::take(&mut self.pending) {
            let readers = self.columns.iter_mut().chain(self.target.as_mut());
            for (k, reader) in readers.enumerate() {
                if let Store::Numeric(store) = &mut reader.store {
                    store.extend(block.column(&order, k));
                }
            }
            self.source_lines
                .extend(block.lines.iter().map(|&relative| line + relative));
        }
    }

    /// The number of rows read so far.
    pub fn rows(&self) -> usize {
        self.source_lines.len()
            + self
                .pending
                .iter()
                .map(|(b, _)| b.lines.len())
                .sum::<usize>()
    }
}
