//! The fast numeric path's parser for one block of whole lines: fields split on the delimiter and
//! each selected cell parsed as it is scanned, with no per-record allocation and no CSV state
//! machine. It only accepts what it can prove means the same as the `csv` crate's reading: it
//! stops at the first row holding a quote, a carriage return not followed by a line feed, a
//! field count other than the header's, or a cell that is not a finite number (a missing-value
//! marker, text, an infinity...); the caller takes over from that row.
//!
//! Why a line feed in such a block ends a record: the block starts at a record boundary, and
//! every byte before the stop is outside quotes (none was seen), so each `\n` is a terminator.
//! Blocks are parsed independently (in parallel) and their rows appended in file order, so the
//! result does not depend on where the blocks were cut or how many threads parsed them.

use crate::csv_columns::trim_cell;
use crate::parse_number::{parse_decimal_prefix, parse_f32_fast};

/// What the fast path needs to know about the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FastLayout {
    /// The field delimiter (never a digit, sign, point, quote or line break).
    pub delimiter: u8,
    /// For each field of a record, whether it is read. Its length is the number of fields every
    /// record must have.
    pub selected: Vec<bool>,
    /// For each output column (the features in order, then the target), where its value sits
    /// among a row's selected fields (which are stored in field order).
    pub order: Vec<usize>,
    /// The missing-value markers (trimmed): such a cell is never read as a number here.
    pub markers: Vec<Vec<u8>>,
}

/// The rows of a block that the fast path could read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedBlock {
    /// Row-major values: each row's selected fields in field order (`order` maps them to output
    /// columns).
    pub values: Vec<f32>,
    /// The number of selected fields per row.
    pub width: usize,
    /// Each parsed row's line, relative to the block's first line (0-based).
    pub lines: Vec<u64>,
    /// The byte offset of the first row the fast path could not read, if any.
    pub stop: Option<usize>,
    /// The relative line of `stop`, or the number of line feeds in the block when it was read
    /// to the end.
    pub end_line: u64,
}

impl ParsedBlock {
    /// The values of output column `k`, row after row, given the layout's `order`.
    pub fn column<'a>(&'a self, order: &[usize], k: usize) -> impl Iterator<Item = f32> + 'a {
        let at = order[k].min(self.values.len());
        self.values[at..].iter().step_by(self.width.max(1)).copied()
    }
}

/// Where the field starting at `start` ends (at a delimiter, `\n`, `\r\n` or the end of the
/// block); `None` when a quote or a lone `\r` comes first (the `csv` crate must decide).
fn field_end(block: &[u8], start: usize, delimiter: u8) -> Option<usize> {
    for (i, &b) in block[start..].iter().enumerate() {
        let at = start + i;
        if b == delimiter || b == b'\n' {
            return Some(at);
        }
        if b == b'"' {
            return None;
        }
        if b == b'\r' {
            return (block.get(at + 1) == Some(&b'\n')).then_some(at);
        }
    }
    Some(block.len())
}

/// What ends a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldEnd {
    /// A delimiter: another field follows.
    Delimiter,
    /// The end of the row, after a line break of this many bytes (`\n`, `\r\n`, or none at the
    /// end of the block).
    Row(usize),
    /// Anything else: the field is not a plain number.
    Other,
}

/// What the byte at `at` does to the field before it.
#[inline(always)]
fn field_end_at(block: &[u8], at: usize, delimiter: u8) -> FieldEnd {
    match block.get(at) {
        None => FieldEnd::Row(0),
        Some(&b) if b == delimiter => FieldEnd::Delimiter,
        Some(b'\n') => FieldEnd::Row(1),
        Some(b'\r') if block.get(at + 1) == Some(&b'\n') => FieldEnd::Row(2),
        Some(_) => FieldEnd::Other,
    }
}

/// A trimmed cell that is not a plain decimal (an exponent, more than 19 digits...) read as
/// [`crate::csv_columns::ColumnReader::push`] reads it in a numeric column: unless it is a
/// missing-value marker, through `str::parse::<f32>`, and only a finite value is a number here
/// (`NaN` is missing, infinities are errors: the careful path decides those).
fn parse_other(cell: &[u8], layout: &FastLayout) -> Option<f32> {
    if layout.markers.iter().any(|m| m.as_slice() == cell) {
        return None;
    }
    let value = std::str::from_utf8(cell).ok()?.parse::<f32>().ok()?;
    value.is_finite().then_some(value)
}

/// Parses the rows of `block` (whole lines, starting at a record boundary) until its end or the
/// first row the fast path cannot read.
///
/// A selected cell is parsed as it is scanned (the common case: a plain decimal followed by a
/// delimiter or a line break); anything else is delimited, trimmed and given to
/// [`parse_f32_fast`], then to [`parse_other`], as [`crate::csv_columns::ColumnReader::push`]
/// does.
pub(crate) fn parse_block(block: &[u8], layout: &FastLayout) -> ParsedBlock {
    let fields = layout.selected.len();
    let delimiter = layout.delimiter;
    let width = layout.order.len();
    // A guess of the row count (about 8 bytes a field) so the vectors rarely grow; any excess is
    // given back at the end (counting the lines first would cost a sixth of the parsing time).
    let rows_guess = block.len() / (8 * fields.max(1)) + 1;
    let mut values: Vec<f32> = Vec::with_capacity(rows_guess * width);
    let mut lines: Vec<u64> = Vec::with_capacity(rows_guess);
    let mut pos = 0;
    let mut line = 0u64;
    let stop = 'rows: loop {
        match block.get(pos) {
            None => break None,
            // Blank lines hold no record (as in the `csv` crate).
            Some(b'\n') => {
                pos += 1;
                line += 1;
                continue;
            }
            Some(b'\r') if block.get(pos + 1) == Some(&b'\n') => {
                pos += 2;
                line += 1;
                continue;
            }
            Some(_) => {}
        }
        let row_start = pos;
        for (field, &selected) in layout.selected.iter().enumerate() {
            let mut end = (pos, FieldEnd::Other);
            if selected {
                if let Some((value, after)) = parse_decimal_prefix(block, pos) {
                    end = (after, field_end_at(block, after, delimiter));
                    if end.1 != FieldEnd::Other {
                        values.push(value);
                    }
                }
            }
            if end.1 == FieldEnd::Other {
                // Spaces around the number, something else, or a field not read.
                let Some(after) = field_end(block, pos, delimiter) else {
                    break 'rows Some(row_start);
                };
                if selected {
                    let cell = trim_cell(&block[pos..after]);
                    let Some(value) = parse_f32_fast(cell).or_else(|| parse_other(cell, layout))
                    else {
                        break 'rows Some(row_start);
                    };
                    values.push(value);
                }
                end = (after, field_end_at(block, after, delimiter));
            }
            let last = field + 1 == fields;
            match (end.1, last) {
                (FieldEnd::Delimiter, false) => pos = end.0 + 1,
                (FieldEnd::Row(newline), true) => {
                    pos = end.0 + newline;
                    lines.push(line);
                    line += u64::from(newline > 0);
                }
                // More or fewer fields than the header.
                _ => break 'rows Some(row_start),
            }
        }
    };
    // Drop the cells of a row left half-read; the block may wait in memory until the end of the
    // file, so it keeps no spare capacity.
    values.truncate(lines.len() * width);
    values.shrink_to_fit();
    lines.shrink_to_fit();
    ParsedBlock {
        values,
        width,
        lines,
        stop,
        end_line: line,
    }
}

/// One line of a block for the careful path: its fields, without the line break.
pub(crate) enum PlainLine<'a> {
    /// A line with no quote and no lone `\r`, whose fields are split on the delimiter.
    Record {
        /// The line's bytes (without `\n` or `\r\n`).
        text: &'a [u8],
        /// Where the next line starts.
        next: usize,
    },
    /// A blank line (no record); the next line starts here.
    Blank(usize),
    /// A line holding a quote or a lone `\r`: only the `csv` crate can tell where its record ends.
    NeedsCsv,
}

/// The line of `block` starting at `pos` (which must be before the end).
pub(crate) fn plain_line(block: &[u8], pos: usize) -> PlainLine<'_> {
    let rest = &block[pos..];
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let next = pos + end + usize::from(end < rest.len());
    let mut text = &rest[..end];
    if end < rest.len() {
        text = text.strip_suffix(b"\r").unwrap_or(text);
    }
    if text.is_empty() && end < rest.len() {
        return PlainLine::Blank(next);
    }
    if text.iter().any(|&b| b == b'"' || b == b'\r') {
        return PlainLine::NeedsCsv;
    }
    PlainLine::Record { text, next }
}
