//! Readers for the text datasets: SST-2's `sentence<TAB>label` files and character-level corpora
//! such as Tiny Shakespeare.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::csv_records::open_file;
use crate::error::{excerpt, CsvProblem, DataError, Location, Result};
use crate::text::Vocabulary;

/// One labelled sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledSentence {
    /// The sentence (trailing whitespace removed).
    pub text: String,
    /// The label (SST-2: 0 negative, 1 positive).
    pub label: usize,
}

/// Reads an SST-2 (GLUE) TSV: a header `sentence<TAB>label`, then one sentence and its integer
/// label per line. Quotes are ordinary characters in these files.
pub fn read_sst2(path: impl AsRef<Path>) -> Result<Vec<LabeledSentence>> {
    let path = path.as_ref();
    read_sst2_from_reader(open_file(path)?, Some(path.to_path_buf()))
}

/// [`read_sst2`] from any reader; `path` is only used in error messages.
pub fn read_sst2_from_reader<R: Read>(
    reader: R,
    path: Option<PathBuf>,
) -> Result<Vec<LabeledSentence>> {
    let mut tsv = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(false)
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let error =
        |line: u64, column: usize, name: &str, problem: CsvProblem, text: &[u8]| DataError::Csv {
            location: Box::new(Location {
                path: path.clone(),
                line,
                column: Some(column),
                column_name: Some(name.to_string()),
            }),
            problem,
            text: excerpt(text),
        };
    let mut record = csv::ByteRecord::new();
    let mut sentences = Vec::new();
    let mut first = true;
    loop {
        let more = tsv
            .read_byte_record(&mut record)
            .map_err(|e| match e.into_kind() {
                csv::ErrorKind::Io(source) => DataError::Io {
                    path: path.clone(),
                    source,
                },
                other => error(
                    0,
                    1,
                    "sentence",
                    CsvProblem::Malformed(format!("{other:?}")),
                    b"",
                ),
            })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        if first {
            first = false;
            let header: Vec<&[u8]> = record.iter().collect();
            if header != [&b"sentence"[..], &b"label"[..]] {
                let text = header.join(&b'\t');
                return Err(error(
                    line,
                    1,
                    "sentence",
                    CsvProblem::Malformed("expected the header sentence<TAB>label".into()),
                    &text,
                ));
            }
            continue;
        }
        if record.len() != 2 {
            let problem = CsvProblem::RaggedRow {
                expected: 2,
                found: record.len(),
            };
            let column = record.len().min(2) + 1;
            return Err(error(
                line,
                column,
                "label",
                problem,
                &record.iter().collect::<Vec<_>>().join(&b'\t'),
            ));
        }
        let text = std::str::from_utf8(&record[0])
            .map_err(|_| error(line, 1, "sentence", CsvProblem::NotUtf8, &record[0]))?;
        let label = std::str::from_utf8(&record[1])
            .ok()
            .and_then(|l| l.trim().parse::<usize>().ok())
            .ok_or_else(|| error(line, 2, "label", CsvProblem::NotANumber, &record[1]))?;
        sentences.push(LabeledSentence {
            text: text.trim_end().to_string(),
            label,
        });
    }
    if first {
        return Err(error(1, 1, "sentence", CsvProblem::EmptyFile, b""));
    }
    Ok(sentences)
}

/// A character-level corpus: its vocabulary and the text as ids.
#[derive(Debug, Clone, PartialEq)]
pub struct CharCorpus {
    /// The character vocabulary (`<pad>`, `<unk>`, then the characters by code point).
    pub vocabulary: Vocabulary,
    /// The text, one id per character.
    pub ids: Vec<usize>,
}

impl CharCorpus {
    /// The corpus of `text`.
    ///
    /// ```
    /// use gradwork_data::CharCorpus;
    /// let corpus = CharCorpus::from_text("hello");
    /// assert_eq!(corpus.vocabulary.len(), 2 + 4); // <pad>, <unk>, e h l o
    /// assert_eq!(corpus.vocabulary.decode_chars(&corpus.ids), "hello");
    /// let (train, validation) = corpus.split_at_fraction(0.8);
    /// assert_eq!((train.len(), validation.len()), (4, 1));
    /// ```
    pub fn from_text(text: &str) -> Self {
        let vocabulary = Vocabulary::build_chars(text);
        let ids = vocabulary.encode_chars(text);
        CharCorpus { vocabulary, ids }
    }

    /// Reads a UTF-8 text file (gzipped when its name ends in `.gz`).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut text = String::new();
        open_file(path)?
            .read_to_string(&mut text)
            .map_err(|source| DataError::Io {
                path: Some(path.to_path_buf()),
                source,
            })?;
        Ok(CharCorpus::from_text(&text))
    }

    /// The first `floor(train_fraction * len)` ids and the rest (nanoGPT's 90/10 split by
    /// characters, not a shuffled one: neighbouring characters must stay together).
    pub fn split_at_fraction(&self, train_fraction: f64) -> (&[usize], &[usize]) {
        let cut = ((train_fraction.clamp(0.0, 1.0)) * self.ids.len() as f64).floor() as usize;
        self.ids.split_at(cut)
    }
}
