//! Streaming SHA-256 (and MD5) digests, and the check of a byte stream against a registry entry.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::{FetchError, Result};
use crate::registry::DataFile;

/// Lower-case hex of a byte slice.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// Running digests of a byte stream: SHA-256, MD5 and the byte count.
///
/// ```
/// let mut d = xtask::hash::Digests::new();
/// d.update(b"abc");
/// let done = d.finish();
/// assert_eq!(done.len, 3);
/// assert_eq!(done.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// ```
#[derive(Clone, Default)]
pub struct Digests {
    sha256: Sha256,
    md5: Md5,
    len: u64,
}

/// Final digests of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Lower-case hex MD5.
    pub md5: String,
    /// Number of bytes hashed.
    pub len: u64,
}

impl Digests {
    /// Empty digests.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.md5.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Finishes and returns the hex digests.
    pub fn finish(self) -> Finished {
        Finished {
            sha256: to_hex(&self.sha256.finalize()),
            md5: to_hex(&self.md5.finalize()),
            len: self.len,
        }
    }
}

/// Hashes a whole file.
pub fn hash_file(path: &Path) -> Result<Finished> {
    let mut file = File::open(path).map_err(|e| FetchError::io("opening", path, e))?;
    let mut digests = Digests::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| FetchError::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        digests.update(&buf[..n]);
    }
    Ok(digests.finish())
}

/// Checks finished digests against a registry entry: size, SHA-256, and MD5 when one is recorded.
/// `source_name` (a URL or path) goes into the error.
pub fn check(file: &DataFile, got: &Finished, source_name: &str) -> Result<()> {
    if got.len < file.size {
        return Err(FetchError::ShortRead {
            source_name: source_name.to_string(),
            expected: file.size,
            got: got.len,
        });
    }
    if got.len != file.size {
        return Err(FetchError::SizeMismatch {
            source_name: source_name.to_string(),
            expected: file.size,
            actual: got.len,
        });
    }
    let Some(expected) = file.sha256.as_deref() else {
        // Registry validation prevents reaching here for installs; be strict anyway.
        return Err(FetchError::HashMismatch {
            source_name: source_name.to_string(),
            algorithm: "SHA-256",
            expected: "(none recorded)".to_string(),
            actual: got.sha256.clone(),
        });
    };
    if !expected.eq_ignore_ascii_case(&got.sha256) {
        return Err(FetchError::HashMismatch {
            source_name: source_name.to_string(),
            algorithm: "SHA-256",
            expected: expected.to_string(),
            actual: got.sha256.clone(),
        });
    }
    if let Some(md5) = file.md5.as_deref() {
        if !md5.eq_ignore_ascii_case(&got.md5) {
            return Err(FetchError::HashMismatch {
                source_name: source_name.to_string(),
                algorithm: "MD5",
                expected: md5.to_string(),
                actual: got.md5.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_published_test_vectors() {
        let mut d = Digests::new();
        d.update(b"");
        let empty = d.finish();
        assert_eq!(
            empty.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(empty.md5, "d41d8cd98f00b204e9800998ecf8427e");
        // Feeding in pieces gives the same digest as feeding at once.
        let mut parts = Digests::new();
        parts.update(b"ab");
        parts.update(b"c");
        let abc = parts.finish();
        assert_eq!(abc.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            abc.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn to_hex_pads_each_byte_to_two_digits() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
