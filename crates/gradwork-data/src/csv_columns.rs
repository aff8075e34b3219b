//! Per-column storage while a CSV file streams by: numbers as `f32`, text interned to small
//! integer codes (so a categorical column costs 4 bytes a row, not a `String`), and a tally of
//! missing cells for the error report.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::categories::{sort_categories, Categories};
use crate::error::{excerpt, CsvProblem, DataError, Location, MissingColumnReport, Result};
use crate::parse_number::parse_f32_fast;

/// The code of a missing cell in a text column.
pub(crate) const MISSING_CODE: u32 = u32::MAX;
/// How many line numbers a missing-value report keeps per column.
const REPORTED_LINES: usize = 5;

/// The values of one column read so far.
#[derive(Debug)]
pub(crate) enum Store {
    /// Numbers; a missing cell is `NaN`.
    Numeric(Vec<f32>),
    /// Text interned in order of first appearance (sorted when the file is finished).
    Text {
        codes: Vec<u32>,
        interned: HashMap<String, u32>,
        values: Vec<String>,
    },
    /// Text looked up in categories fitted on another file.
    Fixed {
        codes: Vec<u32>,
        categories: Categories,
    },
    /// Integer class indices below `classes` (scikit-learn's metadata-named labels).
    ClassIndex { indices: Vec<usize>, classes: usize },
}

/// One selected column: where it is in the record, how it is stored and what is missing.
#[derive(Debug)]
pub(crate) struct ColumnReader {
    /// 0-based position in the record.
    pub position: usize,
    /// The column's name.
    pub name: String,
    /// The values so far.
    pub store: Store,
    /// A numeric column may turn into a text column at its first non-number.
    pub may_become_text: bool,
    /// Text cells that look numeric are normalised through `f64` (so `1.0` and `1` agree).
    pub normalise_numbers: bool,
    /// Missing cells are refused at once (targets).
    pub refuse_missing: bool,
    /// How many cells were missing.
    pub missing_count: usize,
    /// The first lines with a missing cell.
    pub missing_lines: Vec<u64>,
}

/// What a cell is checked against.
pub(crate) struct CellContext<'a> {
    pub path: &'a Option<PathBuf>,
    pub markers: &'a [Vec<u8>],
    /// Whether some marker parses as a plain decimal (then markers are checked before numbers).
    pub numeric_marker: bool,
}

/// Trims ASCII spaces and tabs (not newlines: a newline inside a number means a quote went astray).
pub(crate) fn trim_cell(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

impl ColumnReader {
    /// A reader for column `position` named `name` storing into `store`.
    pub fn new(position: usize, name: String, store: Store) -> Self {
        ColumnReader {
            position,
            name,
            store,
            may_become_text: false,
            normalise_numbers: false,
            refuse_missing: false,
            missing_count: 0,
            missing_lines: Vec::new(),
        }
    }

    fn error(&self, ctx: &CellContext, line: u64, problem: CsvProblem, raw: &[u8]) -> DataError {
        DataError::Csv {
            location: Box::new(Location {
                path: ctx.path.clone(),
                line,
                column: Some(self.position + 1),
                column_name: Some(self.name.clone()),
            }),
            problem,
            text: excerpt(raw),
        }
    }

    /// Stores one cell of this column, read from the record starting on `line`.
    pub fn push(&mut self, raw: &[u8], line: u64, ctx: &CellContext) -> Result<()> {
        let cell = trim_cell(raw);
        // The common case first: a plain decimal in a numeric column (unless some missing-value
        // marker is itself a plain decimal, like -999, which must win).
        if !ctx.numeric_marker {
            if let Store::Numeric(values) = &mut self.store {
                if let Some(x) = parse_f32_fast(cell) {
                    values.push(x);
                    return Ok(());
                }
            }
        }
        if ctx.markers.iter().any(|m| m.as_slice() == cell) {
            return self.push_missing(raw, line, ctx);
        }
        if let Store::Numeric(values) = &mut self.store {
            if let Some(x) = parse_f32_fast(cell) {
                values.push(x);
                return Ok(());
            }
        }
        let text = std::str::from_utf8(cell)
            .map_err(|_| self.error(ctx, line, CsvProblem::NotUtf8, raw))?;
        match &mut self.store {
            Store::Numeric(values) => match text.parse::<f32>() {
                Ok(x) if x.is_nan() => return self.push_missing(raw, line, ctx),
                Ok(x) if x.is_finite() => values.push(x),
                Ok(_) => return Err(self.error(ctx, line, CsvProblem::NotFinite, raw)),
                // Checked before turning text: a multi-line cell in a numeric column almost
                // always means an unterminated quote swallowed the following lines.
                Err(_) if cell.contains(&b'\n') || cell.contains(&b'\r') => {
                    let why = "a field spans several lines: is a quote unterminated?".to_string();
                    return Err(self.error(ctx, line, CsvProblem::Malformed(why), raw));
                }
                Err(_) if self.may_become_text => {
                    self.become_text();
                    return self.push(raw, line, ctx);
                }
                Err(_) => return Err(self.error(ctx, line, CsvProblem::NotANumber, raw)),
            },
            Store::Text {
                codes,
                interned,
                values,
            } => {
                let key = normalised(text, self.normalise_numbers);
                let code = match interned.get(key.as_ref()) {
                    Some(&code) => code,
                    None => {
                        let code = values.len() as u32;
                        values.push(key.to_string());
                        interned.insert(key.into_owned(), code);
                        code
                    }
                };
                codes.push(code);
            }
            Store::Fixed { codes, categories } => {
                let key = normalised(text, self.normalise_numbers);
                match categories.get(&key) {
                    Some(i) => codes.push(i as u32),
                    None => {
                        let known = categories.names().to_vec();
                        let problem = CsvProblem::UnseenCategory { known };
                        return Err(self.error(ctx, line, problem, raw));
                    }
                }
            }
            Store::ClassIndex { indices, classes } => {
                let classes = *classes;
                match text.parse::<f64>() {
                    Ok(x) if x >= 0.0 && x.fract() == 0.0 && x < classes as f64 => {
                        indices.push(x as usize)
                    }
                    _ => {
                        let problem = CsvProblem::LabelOutOfRange { classes };
                        return Err(self.error(ctx, line, problem, raw));
                    }
                }
            }
        }
        Ok(())
    }

    fn push_missing(&mut self, raw: &[u8], line: u64, ctx: &CellContext) -> Result<()> {
        if self.refuse_missing {
            return Err(self.error(ctx, line, CsvProblem::MissingTarget, raw));
        }
        self.missing_count += 1;
        if self.missing_lines.len() < REPORTED_LINES {
            self.missing_lines.push(line);
        }
        match &mut self.store {
            Store::Numeric(values) => values.push(f32::NAN),
            Store::Text { codes, .. } | Store::Fixed { codes, .. } => codes.push(MISSING_CODE),
            Store::ClassIndex { .. } => {
                return Err(self.error(ctx, line, CsvProblem::MissingTarget, raw));
            }
        }
        Ok(())
    }

    /// Turns a numeric column into a text column: the numbers read so far become their shortest
    /// decimal text, which is also what later numeric-looking cells are normalised to.
    fn become_text(&mut self) {
        let Store::Numeric(numbers) = &self.store else {
            return;
        };
        let mut codes = Vec::with_capacity(numbers.len());
        let mut interned = HashMap::new();
        let mut values: Vec<String> = Vec::new();
        for &x in numbers {
            if x.is_nan() {
                codes.push(MISSING_CODE);
                continue;
            }
            let key = format!("{x}");
            let next = values.len() as u32;
            let code = *interned.entry(key.clone()).or_insert_with(|| {
                values.push(key);
                next
            });
            codes.push(code);
        }
        self.store = Store::Text {
            codes,
            interned,
            values,
        };
        self.may_become_text = false;
        self.normalise_numbers = true;
    }

    /// The missing-value report of this column, if any cell was missing.
    pub fn missing_report(&self) -> Option<MissingColumnReport> {
        (self.missing_count > 0).then(|| MissingColumnReport {
            column: self.position + 1,
            column_name: self.name.clone(),
            count: self.missing_count,
            first_lines: self.missing_lines.clone(),
        })
    }

    /// Finishes a text column: the sorted categories and each row's index into them
    /// (`MISSING_CODE` for missing cells). `None` for a numeric column.
    pub fn finish_text(&mut self) -> Option<(Categories, Vec<u32>)> {
        match std::mem::replace(&mut self.store, Store::Numeric(Vec::new())) {
            Store::Text { codes, values, .. } => {
                let mut sorted = values.clone();
                sort_categories(&mut sorted);
                let categories = Categories::from_names(sorted);
                // Map first-appearance codes to sorted positions once, then rewrite every row.
                let remap: Vec<u32> = values
                    .iter()
                    .map(|v| {
                        categories
                            .get(v)
                            .expect("every interned value is a category")
                            as u32
                    })
                    .collect();
                let codes = codes
                    .into_iter()
                    .map(|c| {
                        if c == MISSING_CODE {
                            c
                        } else {
                            remap[c as usize]
                        }
                    })
                    .collect();
                Some((categories, codes))
            }
            Store::Fixed { codes, categories } => Some((categories, codes)),
            other => {
                self.store = other;
                None
            }
        }
    }
}

/// The key a text cell is interned under.
fn normalised(text: &str, normalise_numbers: bool) -> std::borrow::Cow<'_, str> {
    if normalise_numbers {
        // Through f32, so that a column that started numeric (stored as f32) agrees.
        if let Ok(x) = text.parse::<f32>() {
            if x.is_finite() {
                return std::borrow::Cow::Owned(format!("{x}"));
            }
        }
    }
    std::borrow::Cow::Borrowed(text)
}
