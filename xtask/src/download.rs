//! Copies one source (local file or http(s) URL) into a temporary file next to its destination,
//! hashing while it streams. The temporary file is returned only when size and hashes match, already
//! fsynced; on any error it is dropped, which deletes it.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use tempfile::NamedTempFile;

use crate::error::{FetchError, Result};
use crate::hash::{self, Digests};
use crate::progress;
use crate::registry::DataFile;
use crate::source::Source;

const BUF_SIZE: usize = 64 * 1024;

/// Downloads with one reusable HTTP agent (connection pool, timeouts, redirects).
#[derive(Clone)]
pub struct Downloader {
    agent: ureq::Agent,
    show_progress: bool,
}

impl Downloader {
    /// A downloader; `show_progress` draws a bar per file on stderr (pass
    /// [`progress::stderr_is_terminal`] to draw only on terminals).
    pub fn new(show_progress: bool) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(30))
            .timeout_read(Duration::from_secs(60))
            .redirects(5)
            .user_agent(concat!("gradwork-xtask/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent,
            show_progress,
        }
    }

    /// Copies `source` into a new temporary file in `dir` (which must exist and be on the same file
    /// system as the destination), checking size, SHA-256 and MD5 against `file`.
    pub fn fetch_verified(
        &self,
        source: &Source,
        file: &DataFile,
        dir: &Path,
        label: &str,
    ) -> Result<NamedTempFile> {
        let name = source.to_string();
        let (reader, announced) = self.open(source)?;
        if let Some(len) = announced {
            if len != file.size {
                return Err(FetchError::SizeMismatch {
                    source_name: name,
                    expected: file.size,
                    actual: len,
                });
            }
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", base_name(&file.path)))
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| FetchError::io("creating temporary file in", dir, e))?;
        let bar = progress::bytes_bar(file.size, label, self.show_progress);
        let tmp_path = tmp.path().to_path_buf();
        let result = copy_hashing(reader, tmp.as_file_mut(), file.size, &name, &tmp_path, &bar);
        bar.finish_and_clear();
        let digests = result?;
        hash::check(file, &digests.finish(), &name)?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| FetchError::io("syncing", tmp.path(), e))?;
        Ok(tmp)
    }

    /// Opens a source for reading; returns the announced length when the source states one.
    fn open(&self, source: &Source) -> Result<(Box<dyn Read>, Option<u64>)> {
        match source {
            Source::File(path) => {
                let f = std::fs::File::open(path).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        FetchError::MissingInMirror { path: path.clone() }
                    } else {
                        FetchError::io("opening", path, e)
                    }
                })?;
                let len = f
                    .metadata()
                    .map_err(|e| FetchError::io("reading metadata of", path, e))?
                    .len();
                Ok((Box::new(f), Some(len)))
            }
            Source::Http(url) => {
                // Identity encoding: the registry hashes the bytes as stored, never a re-encoding.
                let response = self
                    .agent
                    .get(url)
                    .set("Accept-Encoding", "identity")
                    .call()
                    .map_err(|e| match e {
                        ureq::Error::Status(status, resp) => FetchError::Http {
                            url: url.clone(),
                            status,
                            reason: resp.status_text().to_string(),
                        },
                        ureq::Error::Transport(t) => FetchError::Transport {
                            url: url.clone(),
                            // ureq's Display repeats the URL; keep only the kind and the cause.
                            message: match t.message() {
                                Some(m) => format!("{}: {m}", t.kind()),
                                None => t.kind().to_string(),
                            },
                        },
                    })?;
                let len = response
                    .header("Content-Length")
                    .and_then(|v| v.trim().parse::<u64>().ok());
                Ok((Box::new(response.into_reader()), len))
            }
        }
    }
}

/// The last `/`-separated part of a registry path.
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Streams at most `expected + 1` bytes from `reader` into `out`, hashing them. Reading one byte past
/// the expected size is enough to detect an oversized source without reading it all.
fn copy_hashing(
    reader: Box<dyn Read>,
    out: &mut std::fs::File,
    expected: u64,
    name: &str,
    tmp_path: &Path,
    bar: &indicatif::ProgressBar,
) -> Result<Digests> {
    let mut limited = reader.take(expected.saturating_add(1));
    let mut digests = Digests::new();
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // A connection dropped mid-body is a short read; say so, with the cause.
                return Err(if digests.len() < expected {
                    FetchError::ShortRead {
                        source_name: format!("{name} ({e})"),
                        expected,
                        got: digests.len(),
                    }
                } else {
                    FetchError::Transport {
                        url: name.to_string(),
                        message: e.to_string(),
                    }
                });
            }
        };
        digests.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| FetchError::io("writing", tmp_path, e))?;
        bar.inc(n as u64);
    }
    out.flush()
        .map_err(|e| FetchError::io("writing", tmp_path, e))?;
    Ok(digests)
}
