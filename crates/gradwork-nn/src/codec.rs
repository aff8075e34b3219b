//! The one place that turns values into bytes: a framed, versioned, checksummed container, and
//! atomic file writes. State files and training checkpoints both use it.
//!
//! Layout: 4-byte magic, `u16` format version (little endian), `u64` payload length, the
//! bincode payload, then the SHA-256 of everything before it (32 bytes). Readers check the
//! magic, the version, the length and the hash before decoding, so truncation and bit flips are
//! refused, never silently loaded.

use std::io::Write;
use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};

/// Why a container could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The file does not start with the expected magic bytes.
    #[error("not a {expected} file (magic bytes {found:?})")]
    BadMagic {
        /// The expected magic, as text.
        expected: String,
        /// The bytes found.
        found: Vec<u8>,
    },
    /// Written by a newer format version than this build understands.
    #[error("format version {found} is newer than the newest this build reads ({supported})")]
    NewerVersion {
        /// The file's version.
        found: u16,
        /// The newest supported.
        supported: u16,
    },
    /// The file is shorter or longer than its header says.
    #[error("truncated or padded file: {actual} bytes, header implies {expected}")]
    Length {
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The checksum does not match: the file is corrupt.
    #[error("checksum mismatch: the file is corrupt")]
    Checksum,
    /// The payload could not be encoded or decoded.
    #[error("payload: {0}")]
    Payload(String),
    /// An I/O error.
    #[error("{0}")]
    Io(String),
}

const HEADER: usize = 4 + 2 + 8;
const HASH: usize = 32;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes `value` in the container with `magic` and `version`.
pub fn encode<T: Serialize>(
    magic: &[u8; 4],
    version: u16,
    value: &T,
) -> Result<Vec<u8>, CodecError> {
    let payload = bincode::serde::encode_to_vec(value, config())
        .map_err(|e| CodecError::Payload(e.to_string()))?;
    let mut bytes = Vec::with_capacity(HEADER + payload.len() + HASH);
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&payload);
    let hash = Sha256::digest(&bytes);
    bytes.extend_from_slice(&hash);
    Ok(bytes)
}

/// Decodes a container, checking magic, version (at most `max_version`), length and checksum.
/// Returns the file's version and the value.
pub fn decode<T: DeserializeOwned>(
    magic: &[u8; 4],
    max_version: u16,
    bytes: &[u8],
) -> Result<(u16, T), CodecError> {
    if bytes.len() < 4 || &bytes[..4] != magic {
        return Err(CodecError::BadMagic {
            expected: String::from_utf8_lossy(magic).into_owned(),
            found: bytes.iter().take(4).copied().collect(),
        });
    }
    if bytes.len() < HEADER + HASH {
        return Err(CodecError::Length {
            expected: (HEADER + HASH) as u64,
            actual: bytes.len() as u64,
        });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    let len = u64::from_le_bytes(bytes[6..14].try_into().expect("8 bytes"));
    let expected = (HEADER as u64)
        .saturating_add(len)
        .saturating_add(HASH as u64);
    if expected != bytes.len() as u64 {
        return Err(CodecError::Length {
            expected,
            actual: bytes.len() as u64,
        });
    }
    let body = &bytes[..bytes.len() - HASH];
    if Sha256::digest(body).as_slice() != &bytes[bytes.len() - HASH..] {
        return Err(CodecError::Checksum);
    }
    if version > max_version {
        return Err(CodecError::NewerVersion {
            found: version,
            supported: max_version,
        });
    }
    let (value, used) = bincode::serde::decode_from_slice(&body[HEADER..], config())
        .map_err(|e| CodecError::Payload(e.to_string()))?;
    if used != body.len() - HEADER {
        return Err(CodecError::Payload(
            "trailing bytes after the payload".into(),
        ));
    }
    Ok((version, value))
}

/// Writes `bytes` to `path` so that a crash never leaves a partial file: write a temporary file
/// beside it, fsync it, rename it over `path`, then fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CodecError> {
    let io = |e: std::io::Error| CodecError::Io(format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| CodecError::Io(format!("{}: not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
