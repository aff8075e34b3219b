//! Text data: SST-2 sentences as padded word ids (`sst2`), and a character corpus for language
//! models (`char_corpus`).

use std::path::Path;

use gradwork::data::{read_sst2, tokenize_words, CharCorpus, Vocabulary, PAD_ID, UNK_ID};
use gradwork::tensor::{Rng, Tensor};
use gradwork::train::{Dataset, Targets};
use serde::{Deserialize, Serialize};

use super::data::{record_file, require, resolve, FileRecord, PreparedData, SplitRecord};
use super::hashing::{sha256_hex, sha256_indices};
use super::ExperimentError;

/// The RNG stream of the language model's training windows (forked again by epoch).
pub const WINDOW_STREAM: u64 = 0x7769_6E64;
/// The RNG stream of the fixed validation windows.
pub const EVAL_WINDOW_STREAM: u64 = 0x6576_616C;

/// The vocabulary a token run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VocabularyRecord {
    /// Entries, `<pad>` and `<unk>` included.
    pub size: usize,
    /// SHA-256 of the tokens in id order, each followed by a newline.
    pub sha256: String,
}

impl VocabularyRecord {
    /// The record of `vocab`.
    pub fn of(vocab: &Vocabulary) -> Self {
        let mut text = String::new();
        for t in vocab.tokens() {
            text.push_str(t);
            text.push('\n');
        }
        VocabularyRecord {
            size: vocab.len(),
            sha256: sha256_hex(text.as_bytes()),
        }
    }
}

/// Settings of the `sst2` data kind.
pub struct Sst2Options {
    /// First N training phrases.
    pub train_limit: Option<usize>,
    /// First N dev sentences.
    pub dev_limit: Option<usize>,
    /// Tokens per sentence.
    pub max_len: usize,
    /// Vocabulary cap.
    pub vocab_size: Option<usize>,
    /// Minimum count.
    pub min_count: usize,
}

/// SST-2: train phrases and dev sentences as ids `[n, max_len]` (f32, `PAD_ID` padding), the
/// vocabulary built on the (limited) training part. An empty sentence becomes one `<unk>` so
/// attention always has a key.
pub fn prepare_sst2(workspace: &Path, o: &Sst2Options) -> Result<PreparedData, ExperimentError> {
    if o.max_len == 0 {
        return Err(ExperimentError::Data(
            "sst2: max_len must be at least 1".into(),
        ));
    }
    let mut files = Vec::new();
    let mut read = |name: &str, limit: Option<usize>| {
        let p = require(workspace, "sst2", name)?;
        record_file(&p, format!("sst2/{name}"), &mut files)?;
        let mut rows = read_sst2(&p).map_err(ExperimentError::data)?;
        rows.truncate(limit.unwrap_or(rows.len()));
        Ok::<_, ExperimentError>(rows)
    };
    let train = read("train.tsv", o.train_limit)?;
    let dev = read("dev.tsv", o.dev_limit)?;
    let vocab = Vocabulary::build(
        train.iter().flat_map(|s| tokenize_words(&s.text)),
        o.min_count,
        o.vocab_size,
    );
    let encode = |rows: &[gradwork::data::LabeledSentence]| {
        let mut ids = Vec::with_capacity(rows.len() * o.max_len);
        for s in rows {
            let mut sentence = vocab.encode(&tokenize_words(&s.text));
            sentence.truncate(o.max_len);
            if sentence.is_empty() {
                sentence.push(UNK_ID);
            }
            sentence.resize(o.max_len, PAD_ID);
            ids.extend(sentence.iter().map(|&i| i as f32));
        }
        let labels: Vec<usize> = rows.iter().map(|s| s.label).collect();
        (Tensor::from_vec(ids, &[rows.len(), o.max_len]), labels)
    };
    let (x_train, y_train) = encode(&train);
    let (x_test, y_test) = encode(&dev);
    let n_classes = y_train.iter().chain(&y_test).max().map_or(2, |m| m + 1);
    let count = |y: &[usize]| {
        let mut c = vec![0; n_classes];
        for &v in y {
            c[v] += 1;
        }
        c
    };
    let split = SplitRecord {
        method: "official".into(),
        n_train: y_train.len(),
        n_test: y_test.len(),
        train_indices_sha256: sha256_indices(&(0..y_train.len()).collect::<Vec<_>>()),
        test_indices_sha256: sha256_indices(&(0..y_test.len()).collect::<Vec<_>>()),
        train_class_counts: Some(count(&y_train)),
        test_class_counts: Some(count(&y_test)),
    };
    let vocabulary = Some(VocabularyRecord::of(&vocab));
    Ok(PreparedData {
        train: Dataset::new(x_train, Targets::Classes(y_train)).map_err(ExperimentError::data)?,
        test: Dataset::new(x_test, Targets::Classes(y_test)).map_err(ExperimentError::data)?,
        class_names: Some(vec!["negative".into(), "positive".into()]),
        files,
        split,
        scaler: None,
        vocab: Some(vocab),
        vocabulary,
    })
}

/// A character corpus split for language modelling.
pub struct CorpusData {
    /// The character vocabulary.
    pub vocab: Vocabulary,
    /// Training ids (the prefix).
    pub train: Vec<usize>,
    /// Validation ids (the rest).
    pub valid: Vec<usize>,
    /// Files read.
    pub files: Vec<FileRecord>,
    /// The split, as character positions.
    pub split: SplitRecord,
}

/// Reads and splits a `char_corpus`.
pub fn prepare_corpus(
    workspace: &Path,
    path: &Option<String>,
    dataset: &Option<String>,
    file: &Option<String>,
    train_fraction: f64,
    char_limit: Option<usize>,
) -> Result<CorpusData, ExperimentError> {
    let mut files = Vec::new();
    let p = resolve(workspace, path, dataset, file, &mut files)?;
    let mut corpus = CharCorpus::read(&p).map_err(ExperimentError::data)?;
    if let Some(limit) = char_limit {
        // Rebuild from the kept text so the vocabulary holds only characters that occur.
        let text = corpus.vocabulary.decode_chars(&corpus.ids);
        let kept: String = text.chars().take(limit).collect();
        corpus = CharCorpus::from_text(&kept);
    }
    let (train, valid) = corpus.split_at_fraction(train_fraction);
    let (train, valid) = (train.to_vec(), valid.to_vec());
    let split = SplitRecord {
        method: "prefix".into(),
        n_train: train.len(),
        n_test: valid.len(),
        train_indices_sha256: sha256_indices(&(0..train.len()).collect::<Vec<_>>()),
        test_indices_sha256: sha256_indices(&(train.len()..corpus.ids.len()).collect::<Vec<_>>()),
        train_class_counts: None,
        test_class_counts: None,
    };
    Ok(CorpusData {
        vocab: corpus.vocabulary,
        train,
        valid,
        files,
        split,
    })
}

/// `count` windows of `seq + 1` characters of `ids` at offsets drawn from `rng`: inputs
/// `[count, seq]` (f32 ids) and the next-character targets, row-major.
pub fn windows(ids: &[usize], count: usize, seq: usize, rng: &mut Rng) -> (Tensor, Vec<usize>) {
    let span = (ids.len() - seq - 1) as u64;
    let mut inputs = Vec::with_capacity(count * seq);
    let mut targets = Vec::with_capacity(count * seq);
    for _ in 0..count {
        let start = (rng.next_u64() % span) as usize;
        inputs.extend(ids[start..start + seq].iter().map(|&i| i as f32));
        targets.extend_from_slice(&ids[start + 1..start + seq + 1]);
    }
    (Tensor::from_vec(inputs, &[count, seq]), targets)
}
