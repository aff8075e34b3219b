//! A fitted, sorted list of categories (class names or the values of a categorical feature) that
//! maps text to indices and refuses text it has not seen.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// The sorted distinct values of a column, seen when fitting; value `i` encodes as index `i`.
///
/// Values that all parse as numbers sort numerically (`"2" < "10"`), others sort as text, so the
/// order never depends on the order of the rows.
///
/// ```
/// use gradwork_data::Categories;
/// let cats = Categories::fit(["red", "blue", "red", "green"]);
/// assert_eq!(cats.names(), ["blue", "green", "red"]);
/// assert_eq!(cats.encode("red").unwrap(), 2);
/// assert!(cats.encode("purple").is_err()); // unseen at transform time: a clear error
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Categories {
    names: Vec<String>,
    lookup: HashMap<String, usize>,
}

impl From<Vec<String>> for Categories {
    fn from(names: Vec<String>) -> Self {
        let lookup = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        Categories { names, lookup }
    }
}

impl From<Categories> for Vec<String> {
    fn from(categories: Categories) -> Self {
        categories.names
    }
}

impl Categories {
    /// The sorted distinct values of `values`.
    pub fn fit<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut names: Vec<String> = values.into_iter().map(|v| v.as_ref().to_string()).collect();
        sort_categories(&mut names);
        names.dedup();
        Categories::from(names)
    }

    /// Categories in exactly this order (e.g. class names from a file's metadata).
    pub fn from_names(names: Vec<String>) -> Self {
        Categories::from(names)
    }

    /// The categories in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of categories.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no category.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of `value`, if it was seen when fitting.
    pub fn get(&self, value: &str) -> Option<usize> {
        self.lookup.get(value).copied()
    }

    /// The index of `value`, or [`DataError::UnseenCategory`] listing the known categories.
    pub fn encode(&self, value: &str) -> Result<usize> {
        self.get(value).ok_or_else(|| DataError::UnseenCategory {
            what: "Categories::encode".to_string(),
            value: value.to_string(),
            known: self.names.clone(),
        })
    }

    /// The indices of `values`, failing on the first unseen one.
    pub fn encode_all<S: AsRef<str>>(&self, values: &[S]) -> Result<Vec<usize>> {
        values.iter().map(|v| self.encode(v.as_ref())).collect()
    }

    /// The category of `index`, if in range.
    pub fn decode(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }
}

/// Sorts numerically when every value parses as a finite number, otherwise as text.
pub(crate) fn sort_categories(names: &mut Vec<String>) {
    let numbers: Option<Vec<f64>> = names
        .iter()
        .map(|n| n.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    match numbers {
        Some(numbers) => {
            let mut pairs: Vec<(f64, String)> = numbers.into_iter().zip(names.drain(..)).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            names.extend(pairs.into_iter().map(|(_, name)| name));
        }
        None => names.sort(),
    }
}
