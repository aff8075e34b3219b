//! The dataset registry (`datasets/registry.toml`): which files make up each dataset, where they can be
//! downloaded from, and the size and hashes every copy must have.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::error::{FetchError, Result};

/// The registry format version this code reads.
pub const FORMAT_VERSION: u32 = 1;

/// The whole registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Format version; must equal [`FORMAT_VERSION`].
    pub format: u32,
    /// Datasets in registry order.
    pub datasets: Vec<Dataset>,
}

/// One dataset: metadata plus its files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// Short name used on the command line (`mnist`, `breast-cancer`).
    pub name: String,
    /// One-line human title.
    pub title: String,
    /// What the data is (rows, columns, labels, format quirks).
    pub description: String,
    /// Licence of the data and of the packaging it comes in.
    pub license: String,
    /// A few words of licence for tables (`MIT`, `CC-BY-4.0`).
    pub license_short: String,
    /// The dataset's home page.
    pub homepage: String,
    /// How the recorded hashes were established.
    pub verified: String,
    /// True when the files are committed under `datasets/<name>/` instead of downloaded.
    pub shipped: bool,
    /// Folder name of this dataset in a mirror (`<mirror>/<folder>/<path>`); defaults to `name`.
    #[serde(default)]
    pub mirror_folder: Option<String>,
    /// The files.
    pub files: Vec<DataFile>,
}

/// One file of a dataset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// Relative path inside the dataset folder, `/`-separated (`sklearn/iris.csv`).
    pub path: String,
    /// Exact size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256; `None` when unknown, in which case the file is never installed.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Lower-case hex MD5, checked too when present.
    #[serde(default)]
    pub md5: Option<String>,
    /// Official download URLs, tried in order after the mirror.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Other known-good copies, tried after the official URLs.
    #[serde(default)]
    pub fallbacks: Vec<String>,
}

impl Dataset {
    /// The folder name of this dataset in a mirror.
    pub fn mirror_folder(&self) -> &str {
        self.mirror_folder.as_deref().unwrap_or(&self.name)
    }

    /// Sum of the file sizes.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

impl DataFile {
    /// The relative path as a platform path.
    pub fn rel_path(&self) -> PathBuf {
        self.path.split('/').collect()
    }
}

impl Registry {
    /// Path of the registry inside a workspace.
    pub fn default_path(workspace: &Path) -> PathBuf {
        workspace.join("datasets").join("registry.toml")
    }

    /// Reads and validates a registry file.
    pub fn load(path: &Path) -> Result<Registry> {
        let text = std::fs::read_to_string(path).map_err(|e| FetchError::io("reading", path, e))?;
        Self::parse(&text, path)
    }

    /// Parses and validates registry text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Registry> {
        let registry: Registry = toml::from_str(text).map_err(|e| FetchError::Registry {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        registry
            .validate()
            .map_err(|message| FetchError::Registry {
                path: path.to_path_buf(),
                message,
            })?;
        Ok(registry)
    }

    /// Checks the invariants the fetch code relies on; returns the first problem found.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.format != FORMAT_VERSION {
            return Err(format!(
                "format {} is not supported (expected {FORMAT_VERSION})",
                self.format
            ));
        }
        let mut names = BTreeSet::new();
        for d in &self.datasets {
            if d.name.is_empty()
                || !d
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!(
                    "dataset name '{}' must be non-empty ASCII letters, digits and '-'",
                    d.name
                ));
            }
            if !names.insert(d.name.as_str()) {
                return Err(format!("dataset '{}' is listed twice", d.name));
            }
            if d.files.is_empty() {
                return Err(format!("dataset '{}' has no files", d.name));
            }
            check_relative(d.mirror_folder())
                .map_err(|m| format!("{}: mirror_folder {m}", d.name))?;
            let mut paths = BTreeSet::new();
            for f in &d.files {
                check_relative(&f.path).map_err(|m| format!("{}: file path {m}", d.name))?;
                if !paths.insert(f.path.as_str()) {
                    return Err(format!("{}: file '{}' is listed twice", d.name, f.path));
                }
                check_hex(&f.sha256, 64)
                    .map_err(|m| format!("{}/{}: sha256 {m}", d.name, f.path))?;
                check_hex(&f.md5, 32).map_err(|m| format!("{}/{}: md5 {m}", d.name, f.path))?;
                for url in f.urls.iter().chain(&f.fallbacks) {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(format!("{}/{}: URL '{url}' is not http(s)", d.name, f.path));
                    }
                }
            }
        }
        Ok(())
    }

    /// All dataset names in registry order.
    pub fn names(&self) -> Vec<String> {
        self.datasets.iter().map(|d| d.name.clone()).collect()
    }

    /// Looks a dataset up by name.
    pub fn get(&self, name: &str) -> Result<&Dataset> {
        self.datasets
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| FetchError::UnknownDataset {
                name: name.to_string(),
                known: self.names(),
            })
    }
}

/// A relative, `/`-separated path with no `..`, no absolute root and no empty parts.
fn check_relative(path: &str) -> std::result::Result<(), String> {
    let p = Path::new(path);
    let ok = !path.is_empty()
        && !path.contains('\\')
        && path.split('/').all(|part| !part.is_empty())
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{path}' must be a plain relative path without '..'"
        ))
    }
}

fn check_hex(value: &Option<String>, len: usize) -> std::result::Result<(), String> {
    match value {
        None => Ok(()),
        Some(v) if v.len() == len && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => {
            Ok(())
        }
        Some(v) => Err(format!("'{v}' is not {len} lower-case hex digits")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
format = 1
[[datasets]]
name = "toy"
title = "t"
description = "d"
license = "l"
license_short = "l"
homepage = "h"
verified = "v"
shipped = false
[[datasets.files]]
path = "a/b.csv"
size = 3
sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
urls = ["http://example.invalid/b.csv"]
"#;

    #[test]
    fn minimal_registry_parses_with_defaults() {
        let r = Registry::parse(MINIMAL, Path::new("r.toml")).unwrap();
        let d = r.get("toy").unwrap();
        assert_eq!(d.mirror_folder(), "toy");
        assert_eq!(d.files[0].rel_path(), Path::new("a").join("b.csv"));
        assert!(d.files[0].md5.is_none() && d.files[0].fallbacks.is_empty());
    }

    #[test]
    fn unsafe_paths_bad_hashes_and_duplicates_are_rejected() {
        let cases = [
            MINIMAL.replace("a/b.csv", "../b.csv"),
            MINIMAL.replace("a/b.csv", "/etc/passwd"),
            MINIMAL.replace("a/b.csv", "a//b"),
            MINIMAL.replace("ba7816bf", "BA7816BF"),
            MINIMAL.replace("15ad\"", "15\""),
            MINIMAL.replace("http://example", "ftp://example"),
            MINIMAL.replace("format = 1", "format = 2"),
            MINIMAL.replace("name = \"toy\"", "name = \"to y\""),
            format!(
                "{MINIMAL}{}",
                &MINIMAL[MINIMAL.find("[[datasets.files]]").unwrap()..]
            ),
        ];
        for text in cases {
            let err = Registry::parse(&text, Path::new("r.toml")).unwrap_err();
            assert!(matches!(err, FetchError::Registry { .. }), "{text}: {err}");
        }
    }

    #[test]
    fn unknown_dataset_error_lists_known_names() {
        let r = Registry::parse(MINIMAL, Path::new("r.toml")).unwrap();
        let msg = r.get("nope").unwrap_err().to_string();
        assert!(msg.contains("nope") && msg.contains("toy"), "{msg}");
    }
}
