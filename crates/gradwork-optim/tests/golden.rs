//! The committed golden checkpoint files (tests/fixtures/*.gwck) load, hold the expected values
//! and re-encode to the same bytes. They must stay loadable forever: never regenerate them for
//! an existing format version.
//!
//! They were written once with
//! `cargo test -p gradwork-optim --test golden -- --ignored write_golden_files`.

#[path = "common/ckpt.rs"]
mod ckpt;

use std::path::PathBuf;

use ckpt::{assert_same, sample_checkpoint};
use gradwork_nn::{layers::Linear, Module};
use gradwork_optim::{
    Adam, AdamConfig, Checkpoint, CheckpointMeta, LrSchedule, Optimizer, Schedule, ScheduleConfig,
};
use gradwork_tensor::Rng;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A model-only checkpoint: no optimizer, no schedule, default metadata.
fn minimal_checkpoint() -> Checkpoint {
    let mut ckpt = sample_checkpoint();
    ckpt.optimizer = None;
    ckpt.schedule = None;
    ckpt.extra.clear();
    ckpt.meta = CheckpointMeta::default();
    ckpt
}

#[test]
#[ignore = "writes the golden files; run by hand only when adding a new format version"]
fn write_golden_files() {
    sample_checkpoint()
        .save(golden("full_v1.gwck"))
        .expect("write full_v1.gwck");
    minimal_checkpoint()
        .save(golden("model_only_v1.gwck"))
        .expect("write model_only_v1.gwck");
}

#[test]
fn golden_full_v1_loads_with_expected_values() {
    let loaded = Checkpoint::load(golden("full_v1.gwck")).expect("golden file loads");
    assert_same(&loaded, &sample_checkpoint());
    // Spot checks spelled out, independent of the builder.
    assert_eq!(loaded.meta.step, 7);
    assert_eq!(loaded.meta.config_hash, "sha256:0123abcd");
    assert_eq!(
        loaded.model.get("0.weight").expect("weight").to_vec(),
        vec![0.5, -1.0, 0.25, 2.0]
    );
    assert_eq!(loaded.extra["scaler"], vec![1, 2, 3, 250]);
    let opt = loaded.optimizer.as_ref().expect("optimizer state");
    assert_eq!(
        opt.params["0.bias"].buffers["exp_avg_sq"].data,
        vec![0.25, 0.125]
    );
    let mut shuffle = Rng::seed_from(42).fork(1);
    shuffle.next_u64();
    assert_eq!(loaded.meta.rngs["shuffle"], shuffle);
    let bytes = std::fs::read(golden("full_v1.gwck")).expect("read");
    assert_eq!(
        loaded.to_bytes().expect("encode"),
        bytes,
        "format drifted: bytes differ"
    );
}

#[test]
fn golden_model_only_v1_loads_with_expected_values() {
    let loaded = Checkpoint::load(golden("model_only_v1.gwck")).expect("golden file loads");
    assert_same(&loaded, &minimal_checkpoint());
    assert!(loaded.optimizer.is_none() && loaded.schedule.is_none());
    let bytes = std::fs::read(golden("model_only_v1.gwck")).expect("read");
    assert_eq!(loaded.to_bytes().expect("encode"), bytes);
}

#[test]
fn golden_full_v1_restores_into_a_fresh_model_optimizer_and_schedule() {
    let loaded = Checkpoint::load(golden("full_v1.gwck")).expect("golden file loads");
    let mut model = gradwork_nn::Sequential::new().push(Linear::new(2, 2, &mut Rng::seed_from(5)));
    let mut opt = Adam::new_decoupled(AdamConfig::adamw()).expect("config");
    let mut sched = Schedule::new(ScheduleConfig::Sequential {
        schedules: vec![ScheduleConfig::Constant { lr: 1.0 }],
        milestones: vec![],
    })
    .expect("config");
    loaded
        .restore(&mut model, Some(&mut opt), Some(&mut sched))
        .expect("restore");
    assert_eq!(model.state_dict().to_records(), loaded.model.to_records());
    assert_eq!(opt.learning_rate(), 0.003);
    assert_eq!(sched.current_step(), 7);
    assert_eq!(Some(opt.state()), loaded.optimizer);
}

#[test]
fn restoring_into_a_different_model_is_refused_and_changes_nothing() {
    let loaded = Checkpoint::load(golden("full_v1.gwck")).expect("golden file loads");
    // Wrong shape: Linear(3 -> 2) has a [2, 3] weight where the file has [2, 2].
    let mut model = gradwork_nn::Sequential::new().push(Linear::new(3, 2, &mut Rng::seed_from(5)));
    let before = model.state_dict().to_records();
    let mut opt = Adam::new_decoupled(AdamConfig::adamw()).expect("config");
    let err = loaded
        .restore(&mut model, Some(&mut opt), None)
        .expect_err("shape mismatch must be refused");
    assert!(err.to_string().contains("0.weight"), "{err}");
    assert_eq!(model.state_dict().to_records(), before);
    assert!(opt.state().params.is_empty());
    // Another optimizer kind is refused too, leaving the model as it was.
    let mut model = gradwork_nn::Sequential::new().push(Linear::new(2, 2, &mut Rng::seed_from(5)));
    let before = model.state_dict().to_records();
    let mut adam = Adam::new(AdamConfig::adam()).expect("config");
    assert!(loaded.restore(&mut model, Some(&mut adam), None).is_err());
    assert_eq!(model.state_dict().to_records(), before);
    // Asking for state the file lacks is an error, not a silent no-op.
    let model_only = Checkpoint::load(golden("model_only_v1.gwck")).expect("golden file loads");
    assert!(model_only
        .restore(&mut model, Some(&mut adam), None)
        .is_err());
    model_only
        .restore(&mut model, None, None)
        .expect("model-only restore");
}

#[test]
fn a_refused_restore_rolls_back_what_it_already_loaded() {
    let loaded = Checkpoint::load(golden("full_v1.gwck")).expect("golden file loads");
    // Optimizer and schedule fit (the model has `0.weight` and `0.bias`), but the model also
    // has a second layer the file lacks, so the strict model load, which runs last, is
    // refused: the optimizer and schedule loaded before it must be rolled back.
    let mut rng = Rng::seed_from(5);
    let mut model = gradwork_nn::Sequential::new()
        .push(Linear::new(2, 2, &mut rng))
        .push(gradwork_nn::activations::Relu)
        .push(Linear::new(2, 2, &mut rng));
    let model_before = model.state_dict().to_records();
    let mut opt = Adam::new_decoupled(AdamConfig::adamw()).expect("config");
    let mut sched = Schedule::new(ScheduleConfig::Sequential {
        schedules: vec![ScheduleConfig::Constant { lr: 1.0 }],
        milestones: vec![],
    })
    .expect("config");
    let (opt_before, sched_before) = (opt.state(), sched.state());
    assert!(loaded
        .restore(&mut model, Some(&mut opt), Some(&mut sched))
        .is_err());
    assert_eq!(opt.state(), opt_before);
    assert_eq!(sched.state(), sched_before);
    assert_eq!(model.state_dict().to_records(), model_before);
}
