//! Every case of `fixtures/optim_lr_schedules.json`: the learning-rate sequence, both from the
//! closed form and from stepping, matches PyTorch within the case tolerance.

mod common;

use common::{assert_close, fixture, tolerance};
use gradwork_optim::{LrSchedule, Schedule, ScheduleConfig};
use serde_json::Value;

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} missing"))
}

fn int(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} missing"))
}

/// One torch-style scheduler description (`scheduler` name plus its arguments).
fn torch_config(kind: &str, c: &Value, base_lr: f64) -> ScheduleConfig {
    match kind {
        "StepLR" => ScheduleConfig::Step {
            base_lr,
            step_size: int(c, "step_size"),
            gamma: num(c, "gamma"),
        },
        "ExponentialLR" => ScheduleConfig::Exponential {
            base_lr,
            gamma: num(c, "gamma"),
        },
        "CosineAnnealingLR" => ScheduleConfig::CosineAnnealing {
            base_lr,
            t_max: int(c, "T_max"),
            eta_min: num(c, "eta_min"),
        },
        "LinearLR" => ScheduleConfig::Linear {
            base_lr,
            start_factor: num(c, "start_factor"),
            end_factor: num(c, "end_factor"),
            total_iters: int(c, "total_iters"),
        },
        "SequentialLR" => ScheduleConfig::Sequential {
            schedules: c["schedulers"]
                .as_array()
                .expect("schedulers")
                .iter()
                .map(|s| torch_config(s["scheduler"].as_str().expect("name"), s, base_lr))
                .collect(),
            milestones: c["milestones"]
                .as_array()
                .expect("milestones")
                .iter()
                .map(|m| m.as_u64().expect("milestone"))
                .collect(),
        },
        other if other.starts_with("ExponentialDecay") => ScheduleConfig::ExponentialDecay {
            initial_lr: num(c, "initial_learning_rate"),
            decay_steps: int(c, "decay_steps"),
            decay_rate: num(c, "decay_rate"),
            staircase: c["staircase"].as_bool().expect("staircase"),
        },
        other => panic!("unknown scheduler {other}"),
    }
}

#[test]
fn every_schedule_case_matches_pytorch() {
    let file = fixture("optim_lr_schedules.json");
    let cases = file["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let (rtol, atol) = tolerance(case);
        let config = torch_config(
            case["scheduler"].as_str().expect("scheduler"),
            &case["config"],
            num(case, "base_lr"),
        );
        let want: Vec<f64> = case["lr"]
            .as_array()
            .expect("lr")
            .iter()
            .map(|x| x.as_f64().expect("lr"))
            .collect();
        assert_eq!(want.len() as u64, int(case, "steps"), "{name}");
        let mut sched = Schedule::new(config).expect("valid schedule");
        let closed: Vec<f64> = (0..want.len() as u64).map(|t| sched.lr_at(t)).collect();
        assert_close(&format!("{name} closed form"), &closed, &want, rtol, atol);
        let mut stepped = Vec::new();
        for _ in 0..want.len() {
            stepped.push(sched.lr());
            sched.step();
        }
        assert_close(&format!("{name} stepped"), &stepped, &want, rtol, atol);
        let reference: Vec<f64> = case["closed_form"]
            .as_array()
            .expect("closed_form")
            .iter()
            .map(|x| x.as_f64().expect("value"))
            .collect();
        assert_close(
            &format!("{name} vs f64 formula"),
            &closed,
            &reference,
            1e-12,
            1e-15,
        );
    }
}

#[test]
fn schedule_state_resumes_exactly_mid_run() {
    let config = ScheduleConfig::Sequential {
        schedules: vec![
            ScheduleConfig::Linear {
                base_lr: 0.1,
                start_factor: 0.1,
                end_factor: 1.0,
                total_iters: 10,
            },
            ScheduleConfig::CosineAnnealing {
                base_lr: 0.1,
                t_max: 50,
                eta_min: 0.0,
            },
        ],
        milestones: vec![10],
    };
    let mut whole = Schedule::new(config.clone()).expect("valid");
    let mut first = Schedule::new(config).expect("valid");
    for _ in 0..37 {
        whole.step();
        first.step();
    }
    let saved = first.state();
    let mut resumed = Schedule::new(ScheduleConfig::Sequential {
        schedules: vec![ScheduleConfig::Constant { lr: 1.0 }],
        milestones: vec![],
    })
    .expect("valid");
    resumed.load_state(&saved).expect("same kind");
    for _ in 0..100 {
        assert_eq!(resumed.lr().to_bits(), whole.lr().to_bits());
        resumed.step();
        whole.step();
    }
}

#[test]
fn schedule_refuses_other_kind_and_bad_config() {
    let mut s = Schedule::new(ScheduleConfig::Exponential {
        base_lr: 0.1,
        gamma: 0.9,
    })
    .expect("valid");
    let other = Schedule::new(ScheduleConfig::Constant { lr: 0.1 }).expect("valid");
    assert!(s.load_state(&other.state()).is_err());
    assert!(Schedule::new(ScheduleConfig::Step {
        base_lr: 0.1,
        step_size: 0,
        gamma: 0.5
    })
    .is_err());
    assert!(Schedule::new(ScheduleConfig::Sequential {
        schedules: vec![ScheduleConfig::Constant { lr: 0.1 }],
        milestones: vec![3],
    })
    .is_err());
}
