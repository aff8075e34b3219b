//! Vocabularies (word or character level) with `<pad>` = 0 and `<unk>` = 1, tokenising,
//! encoding/decoding and padding/truncating to a fixed length.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The padding token; always id 0.
pub const PAD_TOKEN: &str = "<pad>";
/// The unknown-token token; always id 1.
pub const UNK_TOKEN: &str = "<unk>";
/// The id of [`PAD_TOKEN`].
pub const PAD_ID: usize = 0;
/// The id of [`UNK_TOKEN`].
pub const UNK_ID: usize = 1;

/// Splits text on whitespace (SST-2 is already lower-cased and PTB-tokenised, so this is its
/// tokeniser).
pub fn tokenize_words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// Lower-cases text and splits it into runs of alphanumeric characters (apostrophes kept inside
/// words) and single punctuation marks: a simple tokeniser for raw English text.
pub fn tokenize_simple(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || (c == '\'' && !word.is_empty()) {
            word.extend(c.to_lowercase());
        } else {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// `ids` cut to `length`, or extended with `pad_id` up to it.
pub fn pad_or_truncate(ids: &[usize], length: usize, pad_id: usize) -> Vec<usize> {
    let mut out: Vec<usize> = ids.iter().copied().take(length).collect();
    out.resize(length, pad_id);
    out
}

/// A token-to-id map: `<pad>` is 0, `<unk>` is 1, then the tokens by decreasing frequency (ties
/// in token order, so the ids do not depend on the order of the corpus).
///
/// ```
/// use gradwork_data::{tokenize_words, Vocabulary, UNK_ID};
/// let corpus = ["a good film", "a bad film", "a film"];
/// let vocab = Vocabulary::build(corpus.iter().flat_map(|s| tokenize_words(s)), 1, None);
/// assert_eq!(vocab.tokens()[2..], ["a", "film", "bad", "good"]);
/// let ids = vocab.encode(&tokenize_words("a great film"));
/// assert_eq!(ids, [2, UNK_ID, 3]);
/// assert_eq!(vocab.encode_padded(&["film"], 3), [3, 0, 0]);
/// assert_eq!(vocab.decode(&ids), "a <unk> film");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Vocabulary {
    tokens: Vec<String>,
    lookup: HashMap<String, usize>,
}

impl From<Vec<String>> for Vocabulary {
    fn from(tokens: Vec<String>) -> Self {
        let lookup = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Vocabulary { tokens, lookup }
    }
}

impl From<Vocabulary> for Vec<String> {
    fn from(vocab: Vocabulary) -> Self {
        vocab.tokens
    }
}

impl Vocabulary {
    /// Counts `tokens` and keeps those seen at least `min_count` times, the most frequent first,
    /// at most `max_size` entries in all (including `<pad>` and `<unk>`).
    pub fn build<S: AsRef<str>>(
        tokens: impl IntoIterator<Item = S>,
        min_count: usize,
        max_size: Option<usize>,
    ) -> Self {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for token in tokens {
            let token = token.as_ref();
            match counts.get_mut(token) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(token.to_string(), 1);
                }
            }
        }
        let mut ranked: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(t, c)| *c >= min_count.max(1) && t != PAD_TOKEN && t != UNK_TOKEN)
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut list = vec![PAD_TOKEN.to_string(), UNK_TOKEN.to_string()];
        list.extend(ranked.into_iter().map(|(t, _)| t));
        if let Some(max) = max_size {
            list.truncate(max.max(2));
        }
        Vocabulary::from(list)
    }

    /// A character vocabulary of `text`: every distinct character, sorted by code point (the
    /// usual char-RNN ordering), after `<pad>` and `<unk>`.
    pub fn build_chars(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        let mut list = vec![PAD_TOKEN.to_string(), UNK_TOKEN.to_string()];
        list.extend(chars.into_iter().map(String::from));
        Vocabulary::from(list)
    }

    /// The tokens in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The number of ids.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary holds no token (never true for a built one: `<pad>`, `<unk>`).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of `token`, or [`UNK_ID`].
    pub fn id(&self, token: &str) -> usize {
        self.lookup.get(token).copied().unwrap_or(UNK_ID)
    }

    /// The token of `id`, if in range.
    pub fn token(&self, id: usize) -> Option<&str> {
        self.tokens.get(id).map(String::as_str)
    }

    /// The ids of `tokens`.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<usize> {
        tokens.iter().map(|t| self.id(t.as_ref())).collect()
    }

    /// The ids of `tokens`, padded with [`PAD_ID`] or truncated to `length`.
    pub fn encode_padded<S: AsRef<str>>(&self, tokens: &[S], length: usize) -> Vec<usize> {
        pad_or_truncate(&self.encode(tokens), length, PAD_ID)
    }

    /// The ids of the characters of `text` (for a character vocabulary).
    pub fn encode_chars(&self, text: &str) -> Vec<usize> {
        let mut buf = [0u8; 4];
        text.chars()
            .map(|c| self.id(c.encode_utf8(&mut buf)))
            .collect()
    }

    /// The tokens of `ids` joined by spaces, padding left out; out-of-range ids become `<unk>`.
    pub fn decode(&self, ids: &[usize]) -> String {
        self.decode_tokens(ids).join(" ")
    }

    /// The characters of `ids` concatenated, padding left out (for a character vocabulary).
    pub fn decode_chars(&self, ids: &[usize]) -> String {
        self.decode_tokens(ids).concat()
    }

    fn decode_tokens(&self, ids: &[usize]) -> Vec<&str> {
        ids.iter()
            .filter(|&&id| id != PAD_ID)
            .map(|&id| self.token(id).unwrap_or(UNK_TOKEN))
            .collect()
    }
}
