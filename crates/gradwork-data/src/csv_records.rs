//! The record stream under the CSV readers: opening (with gzip), the `csv` crate configured
//! for ragged rows, exact line numbers, and the error constructor they share.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use csv::ByteRecord;
use flate2::read::MultiGzDecoder;

use crate::error::{excerpt, CsvProblem, DataError, Location, Result};
use crate::line_tracker::LineTracker;
use crate::prefetch::PrefetchReader;

/// Opens `path`, decompressing on the fly when its name ends in `.gz`; the reading and the
/// decompression run on a helper thread (see [`PrefetchReader`]).
pub(crate) fn open_file(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: Some(path.to_path_buf()),
        source,
    })?;
    let is_gzip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let inner: Box<dyn Read + Send> = if is_gzip {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)))
    } else {
        Box::new(file)
    };
    Ok(Box::new(PrefetchReader::spawn(inner)))
}

/// The records of a CSV stream, each with the exact line it starts on.
pub(crate) struct Records<R: Read> {
    csv: csv::Reader<LineTracker<R>>,
    /// The last record read.
    pub record: ByteRecord,
    path: Option<PathBuf>,
    /// The last line of the last record read (0 before the first).
    last_line: u64,
    /// Added to every line number: the stream starts on line `line_offset + 1` of the file.
    line_offset: u64,
}

impl<R: Read> Records<R> {
    pub fn new(reader: R, delimiter: u8, path: Option<PathBuf>) -> Self {
        Self::starting_at_line(reader, delimiter, path, 1)
    }

    /// Records of a stream that starts on line `first_line` of the file (the rest of a file
    /// whose beginning was read another way).
    pub fn starting_at_line(
        reader: R,
        delimiter: u8,
        path: Option<PathBuf>,
        first_line: u64,
    ) -> Self {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true) // ragged rows are reported by us, with the line and column
            .delimiter(delimiter)
            .buffer_capacity(1 << 16)
            .from_reader(LineTracker::new(reader));
        Records {
            csv,
            record: ByteRecord::new(),
            path,
            last_line: 0,
            line_offset: first_line.saturating_sub(1),
        }
    }

    /// Keeps a copy of the bytes read ahead, so that [`Self::into_rest`] can hand them back.
    pub fn keep_read_ahead(&mut self) {
        self.csv.get_mut().keep_last_read();
    }

    /// Stops reading records: returns the underlying reader, the bytes already read past the
    /// last record, and the line on which they start. `None` without [`Self::keep_read_ahead`].
    pub fn into_rest(self) -> Option<(R, Vec<u8>, u64)> {
        let consumed = self.csv.position().byte();
        let (reader, rest, line) = self.csv.into_inner().into_unconsumed(consumed)?;
        Some((reader, rest, line + self.line_offset))
    }

    /// Reads the next record; returns the 1-based line it starts on, or `None` at the end.
    pub fn next(&mut self) -> Result<Option<u64>> {
        let more = self.csv.read_byte_record(&mut self.record).map_err(|e| {
            let line = self.line_offset + self.last_line + 1;
            match e.into_kind() {
                csv::ErrorKind::Io(source) => DataError::Io {
                    path: self.path.clone(),
                    source,
                },
                other => csv_error(
                    &self.path,
                    line,
                    Some(1),
                    None,
                    CsvProblem::Malformed(format!("{other:?}")),
                    b"",
                ),
            }
        })?;
        if !more {
            return Ok(None);
        }
        let end = self.csv.position().byte();
        let ends_with_newline = self.record.as_slice().last() == Some(&b'\n');
        self.last_line = self.csv.get_mut().last_line_before(end, ends_with_newline);
        // Quoted fields may hold newlines: the record starts that many lines earlier.
        let fields = self.record.as_slice();
        let inner_newlines = if fields.contains(&b'\n') {
            fields.iter().filter(|&&b| b == b'\n').count() as u64
        } else {
            0
        };
        Ok(Some(
            self.line_offset + self.last_line
                - inner_newlines.min(self.last_line.saturating_sub(1)),
        ))
    }

    /// The line after the last record (where a missing record would have been).
    pub fn next_line(&self) -> u64 {
        self.line_offset + self.last_line + 1
    }
}

/// A [`DataError::Csv`] at `line` and `column`, quoting `text`.
pub(crate) fn csv_error(
    path: &Option<PathBuf>,
    line: u64,
    column: Option<usize>,
    column_name: Option<String>,
    problem: CsvProblem,
    text: &[u8],
) -> DataError {
    DataError::Csv {
        location: Box::new(Location {
            path: path.clone(),
            line,
            column,
            column_name,
        }),
        problem,
        text: excerpt(text),
    }
}
