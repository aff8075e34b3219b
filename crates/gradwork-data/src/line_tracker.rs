//! Exact 1-based line numbers for CSV records. The `csv` crate's own `Position::line` drifts with
//! CRLF line endings and blank lines, so the reader is wrapped in a counter that remembers where
//! the newlines of the read-ahead window are, and a record's line is derived from the byte
//! offset where the parser stopped after it.

use std::collections::VecDeque;
use std::io::Read;

/// A reader that records the byte offsets of the `\n` bytes passing through it.
#[derive(Debug)]
pub(crate) struct LineTracker<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// Offsets of newlines not yet counted (only the read-ahead window is kept).
    pending: VecDeque<u64>,
    /// Newlines already counted (all before the last queried offset).
    counted: u64,
    /// The offset of the last counted newline.
    last_counted: Option<u64>,
    /// Offsets of quote bytes not yet passed.
    pending_quotes: VecDeque<u64>,
    /// The offset of the last quote passed.
    last_quote: Option<u64>,
}

impl<R: Read> LineTracker<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            pending: VecDeque::new(),
            counted: 0,
            last_counted: None,
            pending_quotes: VecDeque::new(),
            last_quote: None,
        }
    }

    /// The 1-based line of the byte just before `end`, i.e. the last line of a record after which
    /// the parser stopped at `end` (just past the record's first terminator byte, or at the end
    /// of input). `record_ends_with_newline` says whether the record's last field ends in `\n`.
    /// Queries must not go backwards.
    pub fn last_line_before(&mut self, end: u64, record_ends_with_newline: bool) -> u64 {
        while let Some(&front) = self.pending_quotes.front() {
            if front + 1 >= end {
                break;
            }
            self.pending_quotes.pop_front();
            self.last_quote = Some(front);
        }
        while let Some(&front) = self.pending.front() {
            if front >= end {
                break;
            }
            self.pending.pop_front();
            self.counted += 1;
            self.last_counted = Some(front);
        }
        let mut ends_with_newline = end > 0 && self.last_counted == Some(end - 1);
        // A newline at `end - 1` that is not preceded by a closing quote, in a record whose last
        // field ends with a newline, is the field's own: an unterminated quote ran to the end of
        // the input. The record then ends on the line after it.
        let closing_quote = end > 1 && self.last_quote == Some(end - 2);
        if ends_with_newline && record_ends_with_newline && !closing_quote {
            ends_with_newline = false;
        }
        // After "...\n" the record's last line is the newline's own line; after "...\r" (CRLF) or
        // at the end of input without a terminator, it is the line after the counted newlines.
        self.counted + u64::from(!ends_with_newline)
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let data = &buf[..n];
        // Quotes are rare in numeric files: one SWAR scan (`contains` is memchr) usually rules
        // them out. Newlines are located block by block: a branch-free test per 64-byte block
        // (which vectorises), and a byte scan only of the blocks that hold one.
        if data.contains(&b'"') {
            for (i, &byte) in data.iter().enumerate() {
                if byte == b'"' {
                    self.pending_quotes.push_back(self.offset + i as u64);
                }
            }
        }
        for (k, block) in data.chunks(64).enumerate() {
            if !block.iter().fold(false, |acc, &b| acc | (b == b'\n')) {
                continue;
            }
            let base = self.offset + (k * 64) as u64;
            for (i, &byte) in block.iter().enumerate() {
                if byte == b'\n' {
                    self.pending.push_back(base + i as u64);
                }
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}
