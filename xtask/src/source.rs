//! Where a file can come from: a mirror (directory or http(s) base URL), the official URLs, then the
//! fallbacks, in that order.

use std::fmt;
use std::path::PathBuf;

use crate::error::{FetchError, Result};
use crate::registry::{DataFile, Dataset};

/// A mirror: a copy of the datasets laid out as `<mirror>/<mirror_folder>/<file path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// A local directory (e.g. the project's offline `shared/datasets`).
    Dir(PathBuf),
    /// An http(s) base URL with the same layout, without a trailing slash.
    Url(String),
}

impl Mirror {
    /// Reads a `--mirror` / `GRADWORK_DATA_MIRROR` value: an http(s) URL, or an existing directory.
    ///
    /// ```
    /// use xtask::source::Mirror;
    /// assert_eq!(
    ///     Mirror::parse("http://127.0.0.1:8000/data/").unwrap(),
    ///     Mirror::Url("http://127.0.0.1:8000/data".into())
    /// );
    /// assert!(Mirror::parse("/no/such/dir").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Mirror> {
        if value.starts_with("http://") || value.starts_with("https://") {
            return Ok(Mirror::Url(value.trim_end_matches('/').to_string()));
        }
        let dir = PathBuf::from(value);
        if dir.is_dir() {
            Ok(Mirror::Dir(dir))
        } else {
            Err(FetchError::BadMirror {
                value: value.to_string(),
            })
        }
    }

    /// Where this mirror keeps one file of a dataset.
    pub fn source_for(&self, dataset: &Dataset, file: &DataFile) -> Source {
        match self {
            Mirror::Dir(dir) => {
                Source::File(dir.join(dataset.mirror_folder()).join(file.rel_path()))
            }
            Mirror::Url(base) => {
                Source::Http(format!("{base}/{}/{}", dataset.mirror_folder(), file.path))
            }
        }
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mirror::Dir(d) => write!(f, "directory {}", d.display()),
            Mirror::Url(u) => write!(f, "{u}"),
        }
    }
}

/// One concrete place to read a file from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local file.
    File(PathBuf),
    /// An http(s) URL.
    Http(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Http(u) => f.write_str(u),
        }
    }
}

/// Why a source is in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// From `--mirror` or `GRADWORK_DATA_MIRROR`.
    Mirror,
    /// An official URL from the registry.
    Official,
    /// A fallback copy from the registry.
    Fallback,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Mirror => "mirror",
            SourceKind::Official => "official",
            SourceKind::Fallback => "fallback",
        })
    }
}

/// The sources to try for one file, in order: the mirror (if any), then, unless `offline`, the
/// official URLs and the fallbacks.
pub fn sources_for(
    dataset: &Dataset,
    file: &DataFile,
    mirror: Option<&Mirror>,
    offline: bool,
) -> Vec<(SourceKind, Source)> {
    let mut out = Vec::new();
    if let Some(m) = mirror {
        out.push((SourceKind::Mirror, m.source_for(dataset, file)));
    }
    if !offline {
        out.extend(
            file.urls
                .iter()
                .map(|u| (SourceKind::Official, Source::Http(u.clone()))),
        );
        out.extend(
            file.fallbacks
                .iter()
                .map(|u| (SourceKind::Fallback, Source::Http(u.clone()))),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use std::path::Path;

    fn toy() -> Registry {
        Registry::parse(
            r#"
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
mirror_folder = "toy-folder"
[[datasets.files]]
path = "sub/f.bin"
size = 1
sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
urls = ["http://a.invalid/f", "http://b.invalid/f"]
fallbacks = ["http://c.invalid/f"]
"#,
            Path::new("t.toml"),
        )
        .unwrap()
    }

    #[test]
    fn mirror_comes_first_then_official_then_fallbacks() {
        let r = toy();
        let d = &r.datasets[0];
        let m = Mirror::Url("http://m.invalid/base".into());
        let got = sources_for(d, &d.files[0], Some(&m), false);
        let want = vec![
            (
                SourceKind::Mirror,
                Source::Http("http://m.invalid/base/toy-folder/sub/f.bin".into()),
            ),
            (
                SourceKind::Official,
                Source::Http("http://a.invalid/f".into()),
            ),
            (
                SourceKind::Official,
                Source::Http("http://b.invalid/f".into()),
            ),
            (
                SourceKind::Fallback,
                Source::Http("http://c.invalid/f".into()),
            ),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn offline_keeps_only_the_mirror_and_directory_mirrors_use_the_folder() {
        let r = toy();
        let d = &r.datasets[0];
        let m = Mirror::Dir(PathBuf::from("/m"));
        let got = sources_for(d, &d.files[0], Some(&m), true);
        assert_eq!(
            got,
            vec![(
                SourceKind::Mirror,
                Source::File(Path::new("/m").join("toy-folder").join("sub").join("f.bin"))
            )]
        );
        assert!(sources_for(d, &d.files[0], None, true).is_empty());
    }
}
