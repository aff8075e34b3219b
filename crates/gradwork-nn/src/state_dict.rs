//! `StateDict`: parameters and buffers by dotted path, saved in a checksummed file.

use std::collections::BTreeMap;
use std::path::Path;

use gradwork_tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::error::{NnError, Result};

const MAGIC: &[u8; 4] = b"GWSD";
const VERSION: u16 = 1;

/// A tensor as stored on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorRecord {
    /// The shape.
    pub shape: Vec<usize>,
    /// The elements in row-major order.
    pub data: Vec<f32>,
}

impl From<&Tensor> for TensorRecord {
    fn from(t: &Tensor) -> Self {
        TensorRecord {
            shape: t.shape().to_vec(),
            data: t.to_vec(),
        }
    }
}

impl TensorRecord {
    /// The tensor, or an error when the data does not fill the shape.
    pub fn to_tensor(&self) -> Result<Tensor> {
        Ok(Tensor::try_from_vec(self.data.clone(), &self.shape)?)
    }
}

/// Parameters and buffers by dotted path, in sorted (deterministic) order.
#[derive(Debug, Clone, Default)]
pub struct StateDict {
    entries: BTreeMap<String, Tensor>,
}

impl StateDict {
    /// An empty state dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: &str, value: Tensor) {
        self.entries.insert(key.to_string(), value);
    }

    /// The tensor at `key`.
    pub fn get(&self, key: &str) -> Option<&Tensor> {
        self.entries.get(key)
    }

    /// The keys in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }

    /// (key, tensor) pairs in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Tensor)> {
        self.entries.iter()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The serialisable form.
    pub fn to_records(&self) -> BTreeMap<String, TensorRecord> {
        self.entries
            .iter()
            .map(|(k, v)| (k.clone(), v.into()))
            .collect()
    }

    /// From the serialisable form.
    pub fn from_records(records: &BTreeMap<String, TensorRecord>) -> Result<Self> {
        let mut sd = StateDict::new();
        for (k, r) in records {
            sd.insert(k, r.to_tensor()?);
        }
        Ok(sd)
    }

    /// The file bytes (see [`codec`](crate::codec) for the layout).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        codec::encode(MAGIC, VERSION, &self.to_records()).map_err(|e| file_error("<memory>", e))
    }

    /// Parses file bytes, refusing corrupt or truncated data.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (_, records): (u16, BTreeMap<String, TensorRecord>) =
            codec::decode(MAGIC, VERSION, bytes).map_err(|e| file_error("<memory>", e))?;
        Self::from_records(&records)
    }

    /// Saves atomically (temporary file, fsync, rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = codec::encode(MAGIC, VERSION, &self.to_records())
            .map_err(|e| file_error(&path.display().to_string(), e))?;
        codec::write_atomic(path, &bytes).map_err(|e| file_error(&path.display().to_string(), e))
    }

    /// Loads a file written by [`StateDict::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| NnError::File {
            path: name.clone(),
            reason: e.to_string(),
        })?;
        let (_, records): (u16, BTreeMap<String, TensorRecord>) =
            codec::decode(MAGIC, VERSION, &bytes).map_err(|e| file_error(&name, e))?;
        Self::from_records(&records)
    }
}

fn file_error(path: &str, e: CodecError) -> NnError {
    NnError::File {
        path: path.to_string(),
        reason: e.to_string(),
    }
}
