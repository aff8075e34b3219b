//! Streaming CSV reading: one record at a time through the `csv` crate (the file is never held as
//! text), each selected cell parsed straight into its column's store.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use csv::ByteRecord;
use flate2::read::MultiGzDecoder;
use gradwork_tensor::Tensor;

use crate::csv_columns::{CellContext, ColumnReader, Store, MISSING_CODE};
use crate::csv_options::{
    CategoricalColumns, CategoricalEncoding, ColumnRef, CsvOptions, MissingPolicy, TargetColumn,
    TargetKind,
};
use crate::error::{excerpt, CsvProblem, DataError, Location, Result};
use crate::line_tracker::LineTracker;
use crate::parse_number::parse_f32_fast;
use crate::sklearn_csv::SklearnMetadata;
use crate::tabular::{ColumnEncoding, SourceColumn, TabularDataset, TabularSchema, TargetEncoding};

/// Reads a delimited text file (gzip-compressed when the name ends in `.gz`) into a table.
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

/// Opens `path`, decompressing on the fly when its name ends in `.gz`.
pub(crate) fn open_file(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: Some(path.to_path_buf()),
        source,
    })?;
    let buffered = BufReader::with_capacity(1 << 16, file);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        Ok(Box::new(MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// The records of a CSV stream, each with the exact line it starts on.
struct Records<R: Read> {
    csv: csv::Reader<LineTracker<R>>,
    record: ByteRecord,
    path: Option<PathBuf>,
    /// The last line of the last record read (0 before the first).
    last_line: u64,
}

impl<R: Read> Records<R> {
    fn new(reader: R, delimiter: u8, path: Option<PathBuf>) -> Self {
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
        }
    }

    /// Reads the next record; returns the 1-based line it starts on, or `None` at the end.
    fn next(&mut self) -> Result<Option<u64>> {
        let more = self.csv.read_byte_record(&mut self.record).map_err(|e| {
            let line = self.last_line + 1;
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
            self.last_line - inner_newlines.min(self.last_line.saturating_sub(1)),
        ))
    }

    /// The line after the last record (where a missing record would have been).
    fn next_line(&self) -> u64 {
        self.last_line + 1
    }
}

fn csv_error(
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

fn resolve(
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

/// The reader behind every public entry point.
pub(crate) fn read_any<R: Read>(
    reader: R,
    path: Option<PathBuf>,
    options: &CsvOptions,
    fitting: Fitting,
) -> Result<TabularDataset> {
    let mut records = Records::new(reader, options.delimiter, path.clone());
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

    let mut columns = feature_readers(
        &feature_positions,
        &names,
        options,
        &fitting,
        header_line,
        &path,
    )?;
    let mut target = target_position
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
    let width = names.len();
    let mut source_lines: Vec<u64> = Vec::new();
    let mut process = |record: &ByteRecord, line: u64| -> Result<()> {
        if record.len() != width {
            let column = record.len().min(width) + 1;
            let problem = CsvProblem::RaggedRow {
                expected: width,
                found: record.len(),
            };
            let text: Vec<u8> = record.iter().collect::<Vec<_>>().join(&options.delimiter);
            return Err(csv_error(
                &path,
                line,
                Some(column),
                names.get(column - 1).cloned(),
                problem,
                &text,
            ));
        }
        for column in columns.iter_mut() {
            column.push(&record[column.position], line, &ctx)?;
        }
        if let Some(target) = target.as_mut() {
            target.push(&record[target.position], line, &ctx)?;
        }
        source_lines.push(line);
        Ok(())
    };
    if pending_first_row {
        process(&records.record, header_line)?;
    }
    while let Some(line) = records.next()? {
        process(&records.record, line)?;
    }
    if source_lines.is_empty() {
        let line = records.next_line();
        return Err(csv_error(
            &path,
            line,
            Some(1),
            None,
            CsvProblem::NoDataRows,
            b"",
        ));
    }
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
    let dataset = assemble(
        columns,
        target,
        source_lines,
        options.categorical_encoding,
        &fitting,
        metadata.as_ref(),
    )?;
    if let Some(metadata) = &metadata {
        metadata.check(&dataset, &path)?;
    }
    Ok(dataset)
}

fn feature_readers(
    positions: &[usize],
    names: &[String],
    options: &CsvOptions,
    fitting: &Fitting,
    header_line: u64,
    path: &Option<PathBuf>,
) -> Result<Vec<ColumnReader>> {
    if let Fitting::Schema(schema) = fitting {
        let found: Vec<&String> = positions.iter().map(|&p| &names[p]).collect();
        let expected: Vec<&String> = schema.columns.iter().map(|c| &c.name).collect();
        if found != expected {
            let text = format!("schema columns {expected:?}, file columns {found:?}");
            return Err(csv_error(
                path,
                header_line,
                None,
                None,
                CsvProblem::UnknownColumn,
                text.as_bytes(),
            ));
        }
        return Ok(positions
            .iter()
            .zip(&schema.columns)
            .map(|(&position, column)| match &column.encoding {
                ColumnEncoding::Numeric => ColumnReader::new(
                    position,
                    names[position].clone(),
                    Store::Numeric(Vec::new()),
                ),
                ColumnEncoding::Categorical { categories, .. } => {
                    let store = Store::Fixed {
                        codes: Vec::new(),
                        categories: categories.clone(),
                    };
                    let mut reader = ColumnReader::new(position, names[position].clone(), store);
                    reader.normalise_numbers = options.categorical == CategoricalColumns::Auto;
                    reader
                }
            })
            .collect());
    }
    let explicit: Vec<usize> = match &options.categorical {
        CategoricalColumns::Columns(list) => list
            .iter()
            .map(|c| resolve(c, names, header_line, path))
            .collect::<Result<_>>()?,
        _ => Vec::new(),
    };
    Ok(positions
        .iter()
        .map(|&position| {
            let name = names[position].clone();
            if explicit.contains(&position) {
                ColumnReader::new(position, name, text_store())
            } else {
                let mut reader = ColumnReader::new(position, name, Store::Numeric(Vec::new()));
                reader.may_become_text = options.categorical == CategoricalColumns::Auto;
                reader
            }
        })
        .collect())
}

fn text_store() -> Store {
    Store::Text {
        codes: Vec::new(),
        interned: Default::default(),
        values: Vec::new(),
    }
}

fn target_reader(
    position: usize,
    names: &[String],
    options: &CsvOptions,
    fitting: &Fitting,
    metadata: Option<&SklearnMetadata>,
) -> Result<ColumnReader> {
    let name = names[position].clone();
    let mut reader = match (fitting, metadata) {
        (_, Some(meta)) => ColumnReader::new(
            position,
            name,
            Store::ClassIndex {
                indices: Vec::new(),
                classes: meta.class_names.len(),
            },
        ),
        (Fitting::Schema(schema), _) => {
            let store = match schema.target.as_ref().map(|t| &t.1) {
                Some(TargetEncoding::Classes(categories)) => Store::Fixed {
                    codes: Vec::new(),
                    categories: categories.clone(),
                },
                Some(TargetEncoding::ClassIndices(names)) => Store::ClassIndex {
                    indices: Vec::new(),
                    classes: names.len(),
                },
                _ => Store::Numeric(Vec::new()),
            };
            let mut reader = ColumnReader::new(position, name, store);
            reader.normalise_numbers = true;
            reader
        }
        _ => match options.target_kind {
            TargetKind::Regression => ColumnReader::new(position, name, Store::Numeric(Vec::new())),
            TargetKind::Auto => {
                let mut reader = ColumnReader::new(position, name, Store::Numeric(Vec::new()));
                reader.may_become_text = true;
                reader
            }
            TargetKind::Classes => {
                let mut reader = ColumnReader::new(position, name, text_store());
                reader.normalise_numbers = true;
                reader
            }
        },
    };
    reader.refuse_missing = true;
    Ok(reader)
}

/// Builds the row-major feature matrix, the targets and the schema from the column stores.
fn assemble(
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
    let mut offset = 0;
    for (_, block) in &blocks {
        block.write(&mut data, n, d, offset);
        offset += block.width();
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

    /// Writes this block into columns `offset..offset + width` of the `[n, d]` row-major matrix.
    fn write(&self, data: &mut [f32], n: usize, d: usize, offset: usize) {
        match self {
            Block::Numbers(values) => {
                for i in 0..n {
                    data[i * d + offset] = values[i];
                }
            }
            Block::Codes {
                codes,
                width,
                one_hot,
            } => {
                for (i, &code) in codes.iter().enumerate() {
                    let row = &mut data[i * d + offset..i * d + offset + width];
                    match (code, one_hot) {
                        (MISSING_CODE, _) => row.fill(f32::NAN),
                        (code, true) => row[code as usize] = 1.0,
                        (code, false) => row[0] = code as f32,
                    }
                }
            }
        }
    }
}
