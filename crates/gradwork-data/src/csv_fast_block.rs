//! The fast numeric path's parser for one block of whole lines: fields split on the delimiter and
//! each selected cell parsed as it is scanned, with no per-record allocation and no CSV state
//! machine. It only accepts what it can prove means the same as the `csv` crate's reading: it stops at the
//! first row holding a quote, a carriage return not followed by a line feed, a field count other
//! than the header's, or a cell that is not a plain decimal; the caller takes over from that row.
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
    /// For each field of a record, the output column it goes to (`None`: not selected). Its
    /// length is the number of fields every record must have.
    pub slots: Vec<Option<usize>>,
    /// The number of output columns.
    pub outputs: usize,
}

/// The rows of a block that the fast path could read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedBlock {
    /// One vector per output column, one value per parsed row.
    pub columns: Vec<Vec<f32>>,
    /// Each parsed row's line, relative to the block's first line (0-based).
    pub lines: Vec<u64>,
    /// The byte offset of the first row the fast path could not read, if any.
    pub stop: Option<usize>,
    /// The relative line of `stop`, or the number of line feeds in the block when it was read
    /// to the end.
    pub end_line: u64,
}

/// Whether a field may end at `end`: a delimiter, `\n`, `\r\n` or the end of the block.
#[inline(always)]
fn ends_field(block: &[u8], end: usize, delimiter: u8) -> bool {
    match block.get(end) {
        None => true,
        Some(&b) if b == delimiter || b == b'\n' => true,
        Some(b'\r') => block.get(end + 1) == Some(&b'\n'),
        Some(_) => false,
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

/// The length of the line break at `at` (`\n` or `\r\n`), or 0 at the end of the block.
#[inline(always)]
fn line_break_len(block: &[u8], at: usize) -> usize {
    match block.get(at) {
        None => 0,
        Some(b'\r') => 2,
        Some(_) => 1,
    }
}

/// Parses the selected cell starting at `start`: the number is read as the field is scanned
/// (the common case: a plain decimal followed by a delimiter or a line break); anything else is
/// trimmed and given to [`parse_f32_fast`], as [`crate::csv_columns::ColumnReader::push`] does.
/// Returns the value and where the field ends, or `None` when the fast path declines the cell.
#[inline(always)]
fn parse_cell(block: &[u8], start: usize, delimiter: u8) -> Option<(f32, usize)> {
    match parse_decimal_prefix(block, start) {
        Some((value, end)) if ends_field(block, end, delimiter) => Some((value, end)),
        // Spaces around the number, or something else: the cell as a whole.
        _ => {
            let end = field_end(block, start, delimiter)?;
            parse_f32_fast(trim_cell(&block[start..end])).map(|v| (v, end))
        }
    }
}

/// Parses the rows of `block` (whole lines, starting at a record boundary) until its end or the
/// first row the fast path cannot read.
pub(crate) fn parse_block(block: &[u8], layout: &FastLayout) -> ParsedBlock {
    let width = layout.slots.len();
    let delimiter = layout.delimiter;
    // At most one row per line: the vectors never grow, and hold no more than they must
    // (this count is a vectorised pass, cheap next to the parsing).
    let rows_guess = block.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut columns: Vec<Vec<f32>> = (0..layout.outputs)
        .map(|_| Vec::with_capacity(rows_guess))
        .collect();
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
        for (field, slot) in layout.slots.iter().enumerate() {
            let end = match *slot {
                Some(output) => {
                    let Some((value, end)) = parse_cell(block, pos, delimiter) else {
                        break 'rows Some(row_start);
                    };
                    columns[output].push(value);
                    end
                }
                None => match field_end(block, pos, delimiter) {
                    Some(end) => end,
                    None => break 'rows Some(row_start),
                },
            };
            let last = field + 1 == width;
            match block.get(end) {
                // More fields than the header.
                Some(&b) if b == delimiter && last => break 'rows Some(row_start),
                Some(&b) if b == delimiter => pos = end + 1,
                // Fewer fields than the header.
                _ if !last => break 'rows Some(row_start),
                _ => {
                    let newline = line_break_len(block, end);
                    pos = end + newline;
                    lines.push(line);
                    line += u64::from(newline > 0);
                }
            }
        }
    };
    // Drop the cells of a row left half-read.
    for column in &mut columns {
        column.truncate(lines.len());
    }
    ParsedBlock {
        columns,
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
