//! `summary.md`: the short Markdown report written beside `results.json`.

use std::collections::BTreeMap;

use super::results::Results;
use super::run::files;

/// The Markdown summary written beside `results.json`.
pub fn summary_markdown(r: &Results) -> String {
    let mut s = format!(
        "# Experiment `{}`\n\n{}\n\n| | |\n|---|---|\n",
        r.name, r.manifest.description
    );
    for (k, v) in &r.test_metrics {
        s += &format!("| test {k} | {v:.4} |\n");
    }
    s += &format!(
        "| epochs | {} |\n| parameters | {} |\n| train / test rows | {} / {} |\n| threads | {} |\n| wall time | {:.2} s ({:.0} samples/s) |\n| parameters SHA-256 | `{}` |\n| manifest SHA-256 | `{}` |\n| git | `{}`{} |\n\n",
        r.history.len(),
        r.num_params,
        r.split.n_train,
        r.split.n_test,
        r.environment.threads,
        r.timings.total_seconds,
        r.timings.train_samples_per_second,
        r.parameters_sha256,
        r.manifest_sha256,
        r.environment.git.commit,
        if r.environment.git.dirty { " (dirty)" } else { "" },
    );
    s += &stages_markdown(r);
    if let Some(lm) = &r.language_model {
        s += &format!(
            "Validation loss before training: {:.4} nats/char. Sample (temperature {}):\n\n```text\n{}\n```\n\n",
            lm.initial_val_loss, lm.temperature, lm.sample
        );
    }
    s += &format!(
        "Curves: [{}]({}), [{}]({}). Check it with `cargo xtask verify results.json`.\n",
        files::LOSS_SVG,
        files::LOSS_SVG,
        files::METRIC_SVG,
        files::METRIC_SVG
    );
    s
}

/// The ensemble-and-prune stages as a Markdown table of accuracies (empty for other runs).
pub fn stages_markdown(r: &Results) -> String {
    let Some(e) = &r.ensemble else {
        return String::new();
    };
    let mut s = String::from("| step | sparsity |");
    for m in &e.members {
        s += &format!(" seed {} |", m.seed);
    }
    s += " ensemble |\n|---|---|";
    s += &"---|".repeat(e.members.len() + 1);
    s += "\n";
    let acc = |m: &BTreeMap<String, f64>| {
        m.get("accuracy")
            .map_or("-".to_string(), |a| format!("{a:.4}"))
    };
    for st in &e.stages {
        s += &format!("| {} | {:.2} |", st.stage, st.sparsity);
        for m in &st.members {
            s += &format!(" {} |", acc(m));
        }
        s += &format!(" {} |\n", acc(&st.ensemble));
    }
    s + "\n(test accuracy)\n\n"
}
