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
    /// The offset of the counted newline before it.
    previous_counted: Option<u64>,
    /// Offsets of quote bytes not yet passed.
    pending_quotes: VecDeque<u64>,
    /// The offset of the last quote passed.
    last_quote: Option<u64>,
    /// A copy of the bytes of the last `read` call, kept when asked for (see [`Self::keep_last_read`]).
    last_read: Option<Vec<u8>>,
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
            previous_counted: None,
            pending_quotes: VecDeque::new(),
            last_quote: None,
            last_read: None,
        }
    }

    /// Keeps a copy of each read's bytes, so that the bytes a buffered parser on top has read but
    /// not consumed can be recovered with [`Self::into_unconsumed`].
    pub fn keep_last_read(&mut self) {
        self.last_read = Some(Vec::new());
    }

    /// The inner reader, the bytes from offset `consumed` to the end of what was read (which must
    /// all lie in the last read: true under a `BufReader`, which reads only when it is empty), and
    /// the 1-based line on which offset `consumed` lies. `None` without [`Self::keep_last_read`]
    /// or when `consumed` is before the last read.
    pub fn into_unconsumed(self, consumed: u64) -> Option<(R, Vec<u8>, u64)> {
        let last_read = self.last_read?;
        let last_start = self.offset - last_read.len() as u64;
        let skip = usize::try_from(consumed.checked_sub(last_start)?).ok()?;
        let rest = last_read.get(skip..)?.to_vec();
        // Counted newlines all lie before the last queried offset, which is at most `consumed`.
        let newlines_before = self.counted
            + self
                .pending
                .iter()
                .take_while(|&&offset| offset < consumed)
                .count() as u64;
        Some((self.inner, rest, newlines_before + 1))
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
            self.previous_counted = self.last_counted;
            self.last_counted = Some(front);
        }
        let mut ends_with_newline = end > 0 && self.last_counted == Some(end - 1);
        // A newline at `end - 1` that is not preceded by a closing quote, in a record whose last
        // field ends with a newline, is the field's own: an unterminated quote ran to the end of
        // the input. The record then ends on the line after it. The quote before it closes the
        // field only if the field's own newline precedes it (`...\n"\n`); otherwise it opened
        // the field (`,"\n`) or doubled another quote (`""\n`), still inside the field.
        let closing_quote =
            end > 2 && self.last_quote == Some(end - 2) && self.previous_counted == Some(end - 3);
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
        if let Some(copy) = self.last_read.as_mut() {
            copy.clear();
            copy.extend_from_slice(data);
        }
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
