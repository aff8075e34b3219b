//! The hashes recorded in results: bytes, files, index lists and model parameters.

use std::path::Path;

use gradwork::nn::StateDict;
use sha2::{Digest, Sha256};

use super::ExperimentError;

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of a file's bytes.
pub fn sha256_file(path: &Path) -> Result<String, ExperimentError> {
    let bytes = std::fs::read(path).map_err(|e| ExperimentError::io(path, e))?;
    Ok(sha256_hex(&bytes))
}

/// SHA-256 of a list of row indices, each as a little-endian `u64`.
pub fn sha256_indices(indices: &[usize]) -> String {
    let mut h = Sha256::new();
    for &i in indices {
        h.update((i as u64).to_le_bytes());
    }
    hex(&h.finalize())
}

/// SHA-256 of a state dict in key order: for each entry the key's UTF-8 bytes, a zero byte, the
/// rank and dimensions as little-endian `u64`, then the elements as little-endian `f32` bits. Two
/// models hash equal exactly when every parameter and buffer is bitwise equal.
pub fn sha256_state_dict(state: &StateDict) -> String {
    let mut h = Sha256::new();
    for (key, tensor) in state.iter() {
        h.update(key.as_bytes());
        h.update([0u8]);
        h.update((tensor.shape().len() as u64).to_le_bytes());
        for &d in tensor.shape() {
            h.update((d as u64).to_le_bytes());
        }
        for v in tensor.to_vec() {
            h.update(v.to_bits().to_le_bytes());
        }
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
