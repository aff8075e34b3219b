//! A small, fully explicit checkpoint (no randomness in its values) used by the robustness and
//! golden-file tests.

use std::collections::BTreeMap;

use gradwork_nn::{StateDict, TensorRecord};
use gradwork_optim::{
    AdamConfig, Checkpoint, CheckpointMeta, OptimizerConfig, OptimizerState, ParamState,
    ScheduleConfig, ScheduleState,
};
use gradwork_tensor::{Rng, Tensor};

fn rec(shape: &[usize], data: &[f32]) -> TensorRecord {
    TensorRecord {
        shape: shape.to_vec(),
        data: data.to_vec(),
    }
}

/// A checkpoint with every section filled: a 2x2 weight and a 2-element bias, Adam state for
/// both, a warm-up + cosine schedule at step 7, metadata with two RNG streams, and an extra blob.
pub fn sample_checkpoint() -> Checkpoint {
    let mut model = StateDict::new();
    model.insert(
        "0.weight",
        Tensor::from_vec(vec![0.5, -1.0, 0.25, 2.0], &[2, 2]),
    );
    model.insert("0.bias", Tensor::from_vec(vec![0.125, -0.75], &[2]));
    let mut params = BTreeMap::new();
    let adam_bufs = |m: &[f32], v: &[f32], shape: &[usize]| {
        let mut b = BTreeMap::new();
        b.insert("exp_avg".to_string(), rec(shape, m));
        b.insert("exp_avg_sq".to_string(), rec(shape, v));
        b
    };
    params.insert(
        "0.weight".to_string(),
        ParamState {
            step: 7,
            buffers: adam_bufs(
                &[0.01, -0.02, 0.03, -0.04],
                &[1e-4, 4e-4, 9e-4, 1.6e-3],
                &[2, 2],
            ),
        },
    );
    params.insert(
        "0.bias".to_string(),
        ParamState {
            step: 7,
            buffers: adam_bufs(&[0.5, -0.5], &[0.25, 0.125], &[2]),
        },
    );
    let optimizer = OptimizerState {
        config: OptimizerConfig::AdamW(AdamConfig {
            lr: 0.003,
            ..AdamConfig::adamw()
        }),
        steps: 7,
        params,
    };
    let schedule = ScheduleState {
        config: ScheduleConfig::Sequential {
            schedules: vec![
                ScheduleConfig::Linear {
                    base_lr: 0.003,
                    start_factor: 0.1,
                    end_factor: 1.0,
                    total_iters: 5,
                },
                ScheduleConfig::CosineAnnealing {
                    base_lr: 0.003,
                    t_max: 95,
                    eta_min: 0.0,
                },
            ],
            milestones: vec![5],
        },
        step: 7,
    };
    let mut rngs = BTreeMap::new();
    rngs.insert("dropout".to_string(), Rng::seed_from(42).fork(3));
    let mut shuffle = Rng::seed_from(42).fork(1);
    shuffle.next_u64();
    rngs.insert("shuffle".to_string(), shuffle);
    let meta = CheckpointMeta {
        step: 7,
        epoch: 1,
        seed: 42,
        rngs,
        data_cursor: 3,
        config_hash: "sha256:0123abcd".to_string(),
    };
    let mut extra = BTreeMap::new();
    extra.insert("scaler".to_string(), vec![1, 2, 3, 250]);
    Checkpoint {
        meta,
        model: StateDict::from_records(&model.to_records()).expect("records"),
        optimizer: Some(optimizer),
        schedule: Some(schedule),
        extra,
    }
}

/// Asserts two checkpoints hold the same values (StateDict has no PartialEq).
pub fn assert_same(a: &Checkpoint, b: &Checkpoint) {
    assert_eq!(a.meta, b.meta);
    assert_eq!(a.model.to_records(), b.model.to_records());
    assert_eq!(a.optimizer, b.optimizer);
    assert_eq!(a.schedule, b.schedule);
    assert_eq!(a.extra, b.extra);
}
