//! The fast numeric path over the data rows of a CSV file: the bytes after the header are cut into
//! blocks of whole lines (about a megabyte each, so memory stays bounded whatever the file size),
//! a batch of blocks is parsed in parallel with rayon ([`parse_block`]), and the rows are appended
//! in file order. Rows the fast parser declines (a missing marker, text, a ragged row...) go
//! through the same [`RowSink::process`] as the `csv` crate's records; at the first quote or lone
//! `\r`, the `csv` crate reads the rest of the file. The result is therefore the same, bit for bit
//! and error for error, as reading every record with the `csv` crate, and does not depend on the
//! number of threads.

use std::io::{Chain, Cursor, Read};

use csv::ByteRecord;

use crate::csv_fast_block::{parse_block, plain_line, FastLayout, ParsedBlock, PlainLine};
use crate::csv_sink::RowSink;
use crate::error::{DataError, Result};

/// Block sizes of the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FastConfig {
    /// Bytes read per block (a block is then cut back to its last line feed).
    pub block_bytes: usize,
    /// Blocks read per rayon thread before parsing them in parallel.
    pub blocks_per_thread: usize,
}

impl Default for FastConfig {
    fn default() -> Self {
        FastConfig {
            block_bytes: 1 << 20,
            blocks_per_thread: 4,
        }
    }
}

/// A reader that ends with a read error already met (so the `csv` crate meets it too, after
/// the bytes read before it).
pub(crate) struct ErrorAtEnd<R> {
    inner: R,
    error: Option<std::io::Error>,
}

impl<R: Read> Read for ErrorAtEnd<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf)? {
            0 if !buf.is_empty() => self.error.take().map_or(Ok(0), Err),
            n => Ok(n),
        }
    }
}

/// The rest of the input after the fast path: the bytes it read but did not use, then the
/// reader (and a read error it met, if any).
pub(crate) type Rest<R> = Chain<Cursor<Vec<u8>>, ErrorAtEnd<Chain<Cursor<Vec<u8>>, R>>>;

/// How the fast path ended.
pub(crate) enum FastEnd<R> {
    /// Every row was read.
    Finished,
    /// The rest, from a record boundary on line `line`, must be read by the `csv` crate.
    Csv {
        /// The bytes from that boundary on.
        rest: R,
        /// The line the rest starts on.
        line: u64,
    },
}

/// A block of whole lines: `buffer[..len]`. The buffer is fully initialised and recycled, so
/// reading into it costs no zero-filling and no fresh pages.
struct Block {
    buffer: Vec<u8>,
    len: usize,
}

impl Block {
    fn bytes(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

/// Blocks of whole lines from a reader.
struct Blocks<R> {
    input: R,
    /// Bytes read past the last line feed of the previous block.
    carry: Vec<u8>,
    finished: bool,
    block_bytes: usize,
    /// A read error, reported once the whole lines read before it have been handed out.
    error: Option<std::io::Error>,
    /// Buffers of blocks already processed, for reuse.
    spare: Vec<Vec<u8>>,
}

impl<R: Read> Blocks<R> {
    /// The next block: whole lines (the last one may lack its line feed at the end of input).
    fn next_block(&mut self) -> std::io::Result<Option<Block>> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let mut buffer = self.spare.pop().unwrap_or_default();
        let mut wanted = self.block_bytes.max(self.carry.len() + 1);
        if buffer.len() < wanted {
            buffer.resize(wanted, 0);
        }
        let mut len = self.carry.len();
        buffer[..len].copy_from_slice(&self.carry);
        self.carry.clear();
        loop {
            while !self.finished && len < wanted {
                match self.input.read(&mut buffer[len..wanted]) {
                    Ok(0) => self.finished = true,
                    Ok(n) => len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(error) => {
                        self.finished = true;
                        let Some(last) = buffer[..len].iter().rposition(|&b| b == b'\n') else {
                            return Err(error);
                        };
                        // Whole lines first, the error next time (as the `csv` crate reports
                        // the records read before a failing read first).
                        self.error = Some(error);
                        return Ok(Some(Block {
                            buffer,
                            len: last + 1,
                        }));
                    }
                }
            }
            if self.finished {
                if len == 0 {
                    self.recycle(buffer);
                    return Ok(None);
                }
                return Ok(Some(Block { buffer, len }));
            }
            match buffer[..len].iter().rposition(|&b| b == b'\n') {
                Some(last) => {
                    self.carry.extend_from_slice(&buffer[last + 1..len]);
                    return Ok(Some(Block {
                        buffer,
                        len: last + 1,
                    }));
                }
                // A line longer than a block: read on.
                None => {
                    wanted *= 2;
                    buffer.resize(wanted, 0);
                }
            }
        }
    }

    /// Keeps a processed block's buffer for a later block.
    fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spare.len() < 64 {
            self.spare.push(buffer);
        }
    }
}

/// Reads the records of `head` followed by `input` (which start at a record boundary on line
/// `first_line`) into `sink`.
pub(crate) fn read_fast<R: Read>(
    input: R,
    head: Vec<u8>,
    first_line: u64,
    sink: &mut RowSink,
    layout: &FastLayout,
    config: FastConfig,
) -> Result<FastEnd<Rest<R>>> {
    // The head (what the header's reader read ahead) is cut into blocks like the rest.
    let mut blocks = Blocks {
        input: Cursor::new(head).chain(input),
        carry: Vec::new(),
        finished: false,
        block_bytes: config.block_bytes.max(1),
        error: None,
        spare: Vec::new(),
    };
    let batch_len = (rayon::current_num_threads() * config.blocks_per_thread).max(1);
    let mut record = ByteRecord::new();
    let mut line = first_line;
    loop {
        // Each block is handed to the pool as soon as it is read, so reading the next block
        // overlaps parsing the previous ones. Once a column has turned to text, nothing is
        // parsed ahead: every cell goes through the careful path.
        let parse = sink.all_numeric();
        let mut slots: Vec<Option<(Block, Option<ParsedBlock>)>> =
            (0..batch_len).map(|_| None).collect();
        let mut read_error = None;
        rayon::in_place_scope(|scope| {
            for slot in slots.iter_mut() {
                match blocks.next_block() {
                    Ok(Some(block)) if parse => scope.spawn(move |_| {
                        let parsed = parse_block(block.bytes(), layout);
                        *slot = Some((block, Some(parsed)));
                    }),
                    Ok(Some(block)) => *slot = Some((block, None)),
                    Ok(None) => break,
                    Err(e) => {
                        read_error = Some(e);
                        break;
                    }
                }
            }
        });
        let (batch, parsed): (Vec<Block>, Vec<Option<ParsedBlock>>) =
            slots.into_iter().flatten().unzip();
        if batch.is_empty() && read_error.is_none() {
            return Ok(FastEnd::Finished);
        }
        for (k, (block, parsed)) in batch.iter().zip(parsed).enumerate() {
            let mut start = 0;
            if let Some(parsed) = parsed.filter(|_| sink.all_numeric()) {
                let (end_line, stop) = (parsed.end_line, parsed.stop);
                sink.append_parsed(parsed, line);
                line += end_line;
                match stop {
                    None => continue,
                    Some(stop) => start = stop,
                }
            }
            let bytes = block.bytes();
            if let Some(offset) = careful_rows(bytes, start, &mut line, sink, &mut record)? {
                let mut rest = bytes[offset..].to_vec();
                for later in &batch[k + 1..] {
                    rest.extend_from_slice(later.bytes());
                }
                rest.extend_from_slice(&blocks.carry);
                let tail = ErrorAtEnd {
                    inner: blocks.input,
                    error: read_error.or(blocks.error),
                };
                return Ok(FastEnd::Csv {
                    rest: Cursor::new(rest).chain(tail),
                    line,
                });
            }
        }
        for block in batch {
            blocks.recycle(block.buffer);
        }
        // A read error is reported after the rows read before it (as the `csv` crate would).
        if let Some(source) = read_error {
            let path = sink.ctx.path.clone();
            return Err(DataError::Io { path, source });
        }
    }
}

/// Reads the lines of `block` from `start` one record at a time through [`RowSink::process`],
/// advancing `line`. Returns the offset of the first line that needs the `csv` crate, if any.
fn careful_rows(
    block: &[u8],
    start: usize,
    line: &mut u64,
    sink: &mut RowSink,
    record: &mut ByteRecord,
) -> Result<Option<usize>> {
    let mut pos = start;
    while pos < block.len() {
        match plain_line(block, pos) {
            PlainLine::Blank(next) => pos = next,
            PlainLine::NeedsCsv => return Ok(Some(pos)),
            PlainLine::Record { text, next } => {
                record.clear();
                for field in text.split(|&b| b == sink.delimiter) {
                    record.push_field(field);
                }
                sink.process(record, *line)?;
                pos = next;
            }
        }
        *line += 1;
    }
    Ok(None)
}
