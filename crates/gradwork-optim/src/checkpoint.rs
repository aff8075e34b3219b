//! Training checkpoints: model, optimizer and schedule state plus run metadata in one
//! versioned, checksummed file (the layout is in `docs/checkpoint-format.md`).
//!
//! The container is gradwork-nn's [`codec`](gradwork_nn::codec) with magic `GWCK`: header,
//! bincode payload, SHA-256. Saving goes through a temporary file, fsync and rename, so a crash
//! mid-save leaves the previous checkpoint intact. Loading refuses a wrong magic, a newer
//! version, truncation, trailing bytes, a checksum mismatch and files above a size limit, each
//! with its own error; it never panics and never loads a damaged file.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use gradwork_nn::codec::{self, CodecError};
use gradwork_nn::{Module, StateDict, TensorRecord};
use gradwork_tensor::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};
use crate::optimizer::{Optimizer, OptimizerState};
use crate::schedule::{LrSchedule, ScheduleState};

/// The magic bytes every checkpoint starts with.
pub const CHECKPOINT_MAGIC: &[u8; 4] = b"GWCK";
/// The format version this build writes, and the newest it reads.
pub const CHECKPOINT_VERSION: u16 = 1;
/// The default read limit of [`Checkpoint::load`]: 4 GiB.
pub const DEFAULT_READ_LIMIT: u64 = 4 << 30;
/// Header (magic, version, payload length) plus SHA-256: the smallest possible file.
const FRAME_BYTES: u64 = 4 + 2 + 8 + 32;

/// Where a run is: everything besides tensors needed to resume it exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Optimizer steps taken.
    pub step: u64,
    /// Completed epochs.
    pub epoch: u64,
    /// The run's seed.
    pub seed: u64,
    /// Named random generators (e.g. "dropout", "shuffle") with their exact state.
    pub rngs: BTreeMap<String, Rng>,
    /// Position in the data stream (e.g. the next batch index within the epoch).
    pub data_cursor: u64,
    /// A hash of the run's resolved configuration, to refuse resuming a different run.
    pub config_hash: String,
}

/// A training checkpoint.
///
/// ```
/// use gradwork_nn::{layers::Linear, Module};
/// use gradwork_optim::{Adam, AdamConfig, Checkpoint, CheckpointMeta, Optimizer};
/// use gradwork_tensor::Rng;
///
/// let model = Linear::new(3, 2, &mut Rng::seed_from(0));
/// let adam = Adam::new(AdamConfig::adam()).unwrap();
/// let meta = CheckpointMeta { step: 10, seed: 0, ..CheckpointMeta::default() };
/// let ckpt = Checkpoint::capture(&model, Some(&adam), None, meta);
/// let bytes = ckpt.to_bytes().unwrap();
/// assert_eq!(&bytes[..4], b"GWCK");
/// let back = Checkpoint::from_bytes(&bytes).unwrap();
/// assert_eq!(back.meta.step, 10);
/// assert_eq!(back.to_bytes().unwrap(), bytes); // no timestamps: the bytes are reproducible
/// ```
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Run metadata.
    pub meta: CheckpointMeta,
    /// The model's parameters and buffers.
    pub model: StateDict,
    /// The optimizer's state, if saved.
    pub optimizer: Option<OptimizerState>,
    /// The schedule's state, if saved.
    pub schedule: Option<ScheduleState>,
    /// Free-form named blobs (a fitted scaler, an encoder, a vocabulary), stored verbatim.
    pub extra: BTreeMap<String, Vec<u8>>,
}

/// The bincode payload inside the container.
#[derive(Serialize, Deserialize)]
struct Payload {
    meta: CheckpointMeta,
    model: BTreeMap<String, TensorRecord>,
    optimizer: Option<OptimizerState>,
    schedule: Option<ScheduleState>,
    extra: BTreeMap<String, Vec<u8>>,
}

impl Checkpoint {
    /// Captures the current state of a model, optimizer and schedule.
    pub fn capture(
        model: &dyn Module,
        optimizer: Option<&dyn Optimizer>,
        schedule: Option<&dyn LrSchedule>,
        meta: CheckpointMeta,
    ) -> Self {
        Checkpoint {
            meta,
            model: model.state_dict(),
            optimizer: optimizer.map(|o| o.state()),
            schedule: schedule.map(|s| s.state()),
            extra: BTreeMap::new(),
        }
    }

    /// Loads the saved state into a freshly built model, optimizer and schedule, all or
    /// nothing: the model load is strict (every missing, unexpected or mis-shaped key is
    /// reported), the optimizer state is checked against the model's shapes, and when any part
    /// is refused the parts already loaded are rolled back. Asking to restore an optimizer or
    /// schedule that the checkpoint lacks is an error.
    pub fn restore(
        &self,
        model: &mut dyn Module,
        mut optimizer: Option<&mut dyn Optimizer>,
        mut schedule: Option<&mut dyn LrSchedule>,
    ) -> Result<()> {
        let missing = |what: &str| OptimError::StateContent {
            path: String::new(),
            reason: format!("the checkpoint holds no {what} state"),
        };
        let opt_state = match &optimizer {
            Some(_) => {
                let state = self
                    .optimizer
                    .as_ref()
                    .ok_or_else(|| missing("optimizer"))?;
                state.check_against(model)?;
                Some(state)
            }
            None => None,
        };
        let sched_state = match &schedule {
            Some(_) => Some(self.schedule.as_ref().ok_or_else(|| missing("schedule"))?),
            None => None,
        };
        // Each load below validates before changing anything; earlier loads are undone from
        // these snapshots when a later one is refused.
        let opt_backup = optimizer.as_ref().map(|o| o.state());
        let sched_backup = schedule.as_ref().map(|s| s.state());
        let rollback = |opt: &mut Option<&mut dyn Optimizer>,
                        sched: &mut Option<&mut dyn LrSchedule>| {
            if let (Some(o), Some(b)) = (opt.as_deref_mut(), &opt_backup) {
                let _ = o.load_state(b);
            }
            if let (Some(s), Some(b)) = (sched.as_deref_mut(), &sched_backup) {
                let _ = s.load_state(b);
            }
        };
        if let (Some(opt), Some(state)) = (optimizer.as_deref_mut(), opt_state) {
            opt.load_state(state)?;
        }
        if let (Some(sched), Some(state)) = (schedule.as_deref_mut(), sched_state) {
            if let Err(e) = sched.load_state(state) {
                rollback(&mut optimizer, &mut schedule);
                return Err(e);
            }
        }
        if let Err(e) = model.load_state_dict(&self.model, true) {
            rollback(&mut optimizer, &mut schedule);
            return Err(e.into());
        }
        Ok(())
    }

    /// The file bytes: identical for identical state (no timestamps inside).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = Payload {
            meta: self.meta.clone(),
            model: self.model.to_records(),
            optimizer: self.optimizer.clone(),
            schedule: self.schedule.clone(),
            extra: self.extra.clone(),
        };
        codec::encode(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, &payload)
            .map_err(|e| codec_error("<memory>", &[], e))
    }

    /// Parses file bytes, refusing anything damaged.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::parse("<memory>", bytes)
    }

    /// Saves atomically: a temporary file beside `path`, fsync, rename over `path`, fsync of the
    /// directory.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        codec::write_atomic(path, &bytes).map_err(|e| codec_error(&shown(path), &[], e))
    }

    /// Loads a checkpoint file of at most [`DEFAULT_READ_LIMIT`] bytes.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with_limit(path, DEFAULT_READ_LIMIT)
    }

    /// Loads a checkpoint file, refusing files larger than `limit` bytes before reading them.
    pub fn load_with_limit(path: impl AsRef<Path>, limit: u64) -> Result<Self> {
        let path = path.as_ref();
        let name = shown(path);
        let io = |e: std::io::Error| OptimError::Io {
            path: name.clone(),
            reason: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size > limit {
            return Err(OptimError::TooLarge {
                path: name,
                size,
                limit,
            });
        }
        let mut bytes = Vec::new();
        // `take` guards against a file that grows between the size check and the read.
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > limit {
            return Err(OptimError::TooLarge {
                path: name,
                size: bytes.len() as u64,
                limit,
            });
        }
        Self::parse(&name, &bytes)
    }

    fn parse(name: &str, bytes: &[u8]) -> Result<Self> {
        let (_version, payload): (u16, Payload) =
            codec::decode(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, bytes)
                .map_err(|e| codec_error(name, bytes, e))?;
        let model = StateDict::from_records(&payload.model).map_err(|e| OptimError::Payload {
            path: name.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Checkpoint {
            meta: payload.meta,
            model,
            optimizer: payload.optimizer,
            schedule: payload.schedule,
            extra: payload.extra,
        })
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Maps the codec's errors to this crate's, telling a truncated magic from a wrong one.
fn codec_error(path: &str, bytes: &[u8], e: CodecError) -> OptimError {
    let path = path.to_string();
    match e {
        CodecError::BadMagic { found, .. } => {
            if bytes.len() < CHECKPOINT_MAGIC.len() && CHECKPOINT_MAGIC.starts_with(bytes) {
                OptimError::Truncated {
                    path,
                    expected: FRAME_BYTES,
                    actual: bytes.len() as u64,
                }
            } else {
                OptimError::BadMagic { path, found }
            }
        }
        CodecError::NewerVersion { found, supported } => OptimError::NewerVersion {
            path,
            found,
            supported,
        },
        CodecError::Length { expected, actual } if actual < expected => OptimError::Truncated {
            path,
            expected,
            actual,
        },
        CodecError::Length { expected, actual } => OptimError::TrailingBytes {
            path,
            expected,
            actual,
        },
        CodecError::Checksum => OptimError::Checksum { path },
        CodecError::Io(reason) => OptimError::Io { path, reason },
        other => OptimError::Payload {
            path,
            reason: other.to_string(),
        },
    }
}
