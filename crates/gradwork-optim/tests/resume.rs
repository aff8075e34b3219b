//! Resuming from a checkpoint file mid-training gives bitwise the same final parameters (and
//! optimizer state) as an uninterrupted run.

use gradwork_autodiff::{Graph, Var};
use gradwork_nn::{activations::Relu, layers::Linear, Ctx, Module, Sequential};
use gradwork_optim::{
    clip_grad_norm, AdamConfig, Checkpoint, CheckpointMeta, LrSchedule, Optimizer, OptimizerConfig,
    RmsPropConfig, Schedule, ScheduleConfig, SgdConfig,
};
use gradwork_tensor::{Rng, Tensor};

const STEPS: u64 = 24;

fn mlp(seed: u64) -> Sequential {
    let mut rng = Rng::seed_from(seed);
    Sequential::new()
        .push(Linear::new(3, 16, &mut rng))
        .push(Relu)
        .push(Linear::new(16, 1, &mut rng))
}

fn schedule() -> ScheduleConfig {
    ScheduleConfig::Sequential {
        schedules: vec![
            ScheduleConfig::Linear {
                base_lr: 0.02,
                start_factor: 0.2,
                end_factor: 1.0,
                total_iters: 5,
            },
            ScheduleConfig::CosineAnnealing {
                base_lr: 0.02,
                t_max: 19,
                eta_min: 0.001,
            },
        ],
        milestones: vec![5],
    }
}

/// Batch `step` of a fixed regression problem (y = sum of squares of x), drawn from the data RNG.
fn batch(data_rng: &Rng, step: u64) -> (Var, Var) {
    let mut rng = data_rng.fork(step);
    let x = Tensor::rand_uniform(&[8, 3], -1.0, 1.0, &mut rng);
    let xs = x.to_vec();
    let y: Vec<f32> = xs
        .chunks(3)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    (
        Var::constant(x),
        Var::constant(Tensor::from_vec(y, &[8, 1])),
    )
}

fn train(
    model: &mut Sequential,
    opt: &mut dyn Optimizer,
    sched: &mut dyn LrSchedule,
    meta: &CheckpointMeta,
    from: u64,
    to: u64,
) {
    let data = &meta.rngs["data"];
    let dropout = &meta.rngs["dropout"];
    for step in from..to {
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, dropout.fork(step));
        let (x, y) = batch(data, step);
        let loss = model
            .forward(&mut cx, &x)
            .expect("forward")
            .sub(&y)
            .square()
            .mean_all();
        let mut grads = cx.param_grads(&graph.backward(&loss).expect("backward"));
        clip_grad_norm(&mut grads, 1.0).expect("clip");
        sched.apply(opt);
        opt.step(model, &grads).expect("step");
        sched.step();
    }
}

fn bits(model: &Sequential) -> Vec<(String, Vec<u32>)> {
    model
        .state_dict()
        .iter()
        .map(|(k, t)| (k.clone(), t.to_vec().iter().map(|v| v.to_bits()).collect()))
        .collect()
}

fn meta() -> CheckpointMeta {
    let mut meta = CheckpointMeta {
        seed: 11,
        ..CheckpointMeta::default()
    };
    meta.rngs.insert("data".into(), Rng::seed_from(11).fork(1));
    meta.rngs
        .insert("dropout".into(), Rng::seed_from(11).fork(2));
    meta
}

fn resume_matches_uninterrupted(config: OptimizerConfig) {
    let meta = meta();
    // Uninterrupted.
    let mut model = mlp(3);
    let mut opt = config.build().expect("config");
    let mut sched = Schedule::new(schedule()).expect("schedule");
    train(&mut model, opt.as_mut(), &mut sched, &meta, 0, STEPS);
    let expected = bits(&model);

    // First half, then a checkpoint file.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("half.gwck");
    {
        let mut model = mlp(3);
        let mut opt = config.build().expect("config");
        let mut sched = Schedule::new(schedule()).expect("schedule");
        train(&mut model, opt.as_mut(), &mut sched, &meta, 0, STEPS / 2);
        let mut m = meta.clone();
        m.step = STEPS / 2;
        Checkpoint::capture(&model, Some(opt.as_ref()), Some(&sched), m)
            .save(&path)
            .expect("save");
    }

    // A fresh process: different init, default hyper-parameters, all restored from the file.
    let ckpt = Checkpoint::load(&path).expect("load");
    let mut model = mlp(999);
    let mut opt = match &config {
        OptimizerConfig::Sgd(_) => OptimizerConfig::Sgd(SgdConfig::default()),
        OptimizerConfig::Adam(_) => OptimizerConfig::Adam(AdamConfig::adam()),
        OptimizerConfig::AdamW(_) => OptimizerConfig::AdamW(AdamConfig::adamw()),
        OptimizerConfig::RmsProp(_) => OptimizerConfig::RmsProp(RmsPropConfig::default()),
    }
    .build()
    .expect("config");
    let mut sched = Schedule::new(ScheduleConfig::Sequential {
        schedules: vec![ScheduleConfig::Constant { lr: 0.5 }],
        milestones: vec![],
    })
    .expect("schedule");
    ckpt.restore(&mut model, Some(opt.as_mut()), Some(&mut sched))
        .expect("restore");
    assert_eq!(sched.current_step(), STEPS / 2);
    train(
        &mut model,
        opt.as_mut(),
        &mut sched,
        &ckpt.meta,
        ckpt.meta.step,
        STEPS,
    );
    assert_eq!(
        bits(&model),
        expected,
        "{}: resumed run diverged",
        config.kind()
    );
}

#[test]
fn adam_resume_from_file_is_bitwise_identical() {
    resume_matches_uninterrupted(OptimizerConfig::Adam(AdamConfig {
        amsgrad: true,
        weight_decay: 1e-3,
        ..AdamConfig::adam()
    }));
}

#[test]
fn adamw_sgd_and_rmsprop_resume_from_file_bitwise_identical() {
    resume_matches_uninterrupted(OptimizerConfig::AdamW(AdamConfig::adamw()));
    resume_matches_uninterrupted(OptimizerConfig::Sgd(SgdConfig {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-4,
        ..SgdConfig::default()
    }));
    resume_matches_uninterrupted(OptimizerConfig::RmsProp(RmsPropConfig {
        momentum: 0.5,
        centered: true,
        ..RmsPropConfig::default()
    }));
}

#[test]
fn training_reduces_the_loss_so_the_resume_test_is_not_vacuous() {
    let meta = meta();
    let mut model = mlp(3);
    let mut opt = OptimizerConfig::Adam(AdamConfig::adam())
        .build()
        .expect("config");
    let mut sched = Schedule::new(schedule()).expect("schedule");
    let before = bits(&model);
    train(&mut model, opt.as_mut(), &mut sched, &meta, 0, STEPS);
    assert_ne!(bits(&model), before);
}
