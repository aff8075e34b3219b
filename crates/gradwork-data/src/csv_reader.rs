//! Streaming CSV reading. The header (and any skipped or metadata lines) goes through the `csv`
//! crate; so do all data rows unless every selected column is numeric, in which case the fast path
//! of [`crate::csv_fast_read`] reads them in bounded blocks, in parallel, with the same results.
//! The file is never held as text: each selected cell is parsed straight into its column.

use std::io::Read;
use std::path::{Path, PathBuf};

use csv::ByteRecord;

use crate::csv_assemble::assemble;
use crate::csv_assemble_numeric::assemble_numeric;
use crate::csv_column_setup::{feature_readers, target_reader};
use crate::csv_columns::{CellContext, ColumnReader};
use crate::csv_fast_read::{read_fast, FastConfig, FastEnd};
use crate::csv_options::{ColumnRef, CsvOptions, MissingPolicy, TargetColumn};
use crate::csv_records::{csv_error, open_file, Records};
use crate::csv_sink::RowSink;
use crate::error::{CsvProblem, DataError, Result};
use crate::parse_number::parse_f32_fast;
use crate::sklearn_csv::SklearnMetadata;
use crate::tabular::{TabularDataset, TabularSchema};

/// Reads a delimited text file (gzip-compressed when the name ends in `.gz`) into a table.
///
/// When every selected column is numeric, the data rows are parsed in blocks of about a megabyte
/// on the current rayon pool (the global one, or the one of an enclosing `install`); memory stays
/// bounded by a few blocks of text, and the result is bit for bit the same whatever the number
/// of threads, and the same as reading record by record.
///
/// ```
/// use gradwork_data::{read_csv, CsvOptions, TargetColumn};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("data.csv");
/// std::fs::write(&path, "x1,x2,species\n1.5,2,cat\n0.5,4,dog\n2.5,6,cat\n").unwrap();
/// let options = CsvOptions { target: TargetColumn::Name("species".into()), ..CsvOptions::default() };
/// let table = read_csv(&path, &options).unwrap();
/// assert_eq!(table.features.shape(), &[3, 2]);
/// assert_eq!(table.class_names.as_deref(), Some(&["cat".to_string(), "dog".to_string()][..]));
/// assert_eq!(table.class_indices, Some(vec![0, 1, 0]));
/// ```
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<TabularDataset> {
    let path = path.as_ref();
    read_any(
        open_file(path)?,
        Some(path.to_path_buf()),
        options,
        Fitting::Fit,
    )
}

/// Reads CSV text from any reader (no decompression) into a table.
pub fn read_csv_from_reader<R: Read>(reader: R, options: &CsvOptions) -> Result<TabularDataset> {
    read_any(reader, None, options, Fitting::Fit)
}

/// Reads a file with the columns, category lists and classes of `schema` (fitted on a training
/// file), so the result has the same feature columns; an unseen category or class is an error.
pub fn read_csv_with_schema(
    path: impl AsRef<Path>,
    options: &CsvOptions,
    schema: &TabularSchema,
) -> Result<TabularDataset> {
    let path = path.as_ref();
    read_any(
        open_file(path)?,
        Some(path.to_path_buf()),
        options,
        Fitting::Schema(schema),
    )
}

/// [`read_csv_with_schema`] from any reader.
pub fn read_csv_from_reader_with_schema<R: Read>(
    reader: R,
    options: &CsvOptions,
    schema: &TabularSchema,
) -> Result<TabularDataset> {
    read_any(reader, None, options, Fitting::Schema(schema))
}

/// Where the encoders come from.
pub(crate) enum Fitting<'a> {
    /// Fitted on this file.
    Fit,
    /// Taken from a schema fitted on another file.
    Schema(&'a TabularSchema),
    /// scikit-learn's bundled CSV: the first record is metadata naming the classes.
    Sklearn,
}

/// The column names of a header record: trimmed, BOM-stripped, unique, `column_<i>` when empty.
fn header_names(record: &ByteRecord, line: u64, path: &Option<PathBuf>) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    for (i, raw) in record.iter().enumerate() {
        let text = std::str::from_utf8(raw)
            .map_err(|_| csv_error(path, line, Some(i + 1), None, CsvProblem::NotUtf8, raw))?;
        let name = text.trim_start_matches('\u{feff}').trim();
        let name = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name.to_string()
        };
        if let Some(first) = names.iter().position(|n| *n == name) {
            let problem = CsvProblem::DuplicateHeader {
                first_column: first + 1,
            };
            return Err(csv_error(path, line, Some(i + 1), Some(name), problem, raw));
        }
        names.push(name);
    }
    Ok(names)
}

pub(crate) fn resolve(
    column: &ColumnRef,
    names: &[String],
    header_line: u64,
    path: &Option<PathBuf>,
) -> Result<usize> {
    let found = match column {
        ColumnRef::Name(name) => names.iter().position(|n| n == name),
        ColumnRef::Index(i) => (*i < names.len()).then_some(*i),
    };
    found.ok_or_else(|| match column {
        ColumnRef::Name(name) => csv_error(
            path,
            header_line,
            None,
            Some(name.clone()),
            CsvProblem::UnknownColumn,
            format!("{names:?}").as_bytes(),
        ),
        ColumnRef::Index(i) => csv_error(
            path,
            header_line,
            Some(i + 1),
            None,
            CsvProblem::UnknownColumn,
            format!("the file has {} columns", names.len()).as_bytes(),
        ),
    })
}

/// How the data rows are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Every record through the `csv` crate.
    #[cfg_attr(not(test), allow(dead_code))]
    CsvOnly,
    /// The fast numeric path where it applies (see [`crate::csv_fast_read`]).
    Fast(FastConfig),
}

/// The reader behind every public entry point.
pub(crate) fn read_any<R: Read>(
    reader: R,
    path: Option<PathBuf>,
    options: &CsvOptions,
    fitting: Fitting,
) -> Result<TabularDataset> {
    read_any_with(
        reader,
        path,
        options,
        fitting,
        Engine::Fast(FastConfig::default()),
    )
}

/// [`read_any`] with a chosen [`Engine`].
pub(crate) fn read_any_with<R: Read>(
    reader: R,
    path: Option<PathBuf>,
    options: &CsvOptions,
    fitting: Fitting,
    engine: Engine,
) -> Result<TabularDataset> {
    let mut records = Records::new(reader, options.delimiter, path.clone());
    if matches!(engine, Engine::Fast(_)) {
        records.keep_read_ahead();
    }
    let empty = |line: u64| csv_error(&path, line, Some(1), None, CsvProblem::EmptyFile, b"");

    let mut metadata = None;
    if let Fitting::Sklearn = fitting {
        let Some(line) = records.next()? else {
            return Err(empty(1));
        };
        metadata = Some(SklearnMetadata::parse(&records.record, line, &path)?);
    }
    for _ in 0..options.skip_rows {
        if records.next()?.is_none() {
            return Err(empty(records.next_line()));
        }
    }
    let Some(header_line) = records.next()? else {
        return Err(empty(records.next_line()));
    };
    let names = if options.has_header {
        header_names(&records.record, header_line, &path)?
    } else {
        (1..=records.record.len())
            .map(|i| format!("column_{i}"))
            .collect()
    };
    let pending_first_row = !options.has_header;

    let target_position = match &options.target {
        TargetColumn::Name(name) => Some(resolve(
            &ColumnRef::Name(name.clone()),
            &names,
            header_line,
            &path,
        )?),
        TargetColumn::Index(i) => Some(resolve(&ColumnRef::Index(*i), &names, header_line, &path)?),
        TargetColumn::Last => Some(names.len() - 1),
        TargetColumn::None => None,
    };
    let feature_positions: Vec<usize> = match &options.features {
        Some(list) => list
            .iter()
            .map(|c| resolve(c, &names, header_line, &path))
            .collect::<Result<_>>()?,
        None => (0..names.len())
            .filter(|&i| Some(i) != target_position)
            .collect(),
    };
    if feature_positions.is_empty() {
        let column = target_position.unwrap_or(0);
        let name = names.get(column).cloned();
        let text = names.join(",");
        return Err(csv_error(
            &path,
            header_line,
            Some(column + 1),
            name,
            CsvProblem::NoFeatures,
            text.as_bytes(),
        ));
    }

    let columns = feature_readers(
        &feature_positions,
        &names,
        options,
        &fitting,
        header_line,
        &path,
    )?;
    let target = target_position
        .map(|position| target_reader(position, &names, options, &fitting, metadata.as_ref()))
        .transpose()?;

    let markers: Vec<Vec<u8>> = options
        .missing_markers
        .iter()
        .map(|m| m.trim().as_bytes().to_vec())
        .collect();
    let numeric_marker = markers.iter().any(|m| parse_f32_fast(m).is_some());
    let ctx = CellContext {
        path: &path,
        markers: &markers,
        numeric_marker,
    };
    let no_data_line = records.next_line();
    let mut sink = RowSink {
        columns,
        target,
        source_lines: Vec::new(),
        width: names.len(),
        names: &names,
        delimiter: options.delimiter,
        ctx,
        pending: Vec::new(),
    };
    if pending_first_row {
        sink.process(&records.record, header_line)?;
    }
    match (engine, sink.fast_layout()) {
        (Engine::Fast(config), Some(layout)) => {
            let (rest, head, line) = records.into_rest().ok_or_else(|| DataError::Io {
                path: path.clone(),
                source: std::io::Error::other("the CSV read-ahead was not kept"),
            })?;
            if let FastEnd::Csv { rest, line } =
                read_fast(rest, head, line, &mut sink, &layout, config)?
            {
                let mut records =
                    Records::starting_at_line(rest, options.delimiter, path.clone(), line);
                while let Some(line) = records.next()? {
                    sink.process(&records.record, line)?;
                }
            }
        }
        _ => {
            while let Some(line) = records.next()? {
                sink.process(&records.record, line)?;
            }
        }
    }
    if sink.rows() == 0 {
        return Err(csv_error(
            &path,
            no_data_line,
            Some(1),
            None,
            CsvProblem::NoDataRows,
            b"",
        ));
    }
    let order = sink.output_order();
    let RowSink {
        columns,
        target,
        source_lines,
        pending,
        ..
    } = sink;
    if options.missing == MissingPolicy::Error {
        let reports: Vec<_> = columns
            .iter()
            .filter_map(ColumnReader::missing_report)
            .collect();
        if !reports.is_empty() {
            return Err(DataError::MissingValues {
                path,
                columns: reports,
            });
        }
    }
    // Fast blocks are pending only while every column is numeric (see `RowSink`).
    let dataset = if pending.is_empty() {
        assemble(
            columns,
            target,
            source_lines,
            options.categorical_encoding,
            &fitting,
            metadata.as_ref(),
        )?
    } else {
        assemble_numeric(columns, target, source_lines, pending, &order)?
    };
    if let Some(metadata) = &metadata {
        metadata.check(&dataset, &path)?;
    }
    Ok(dataset)
}
