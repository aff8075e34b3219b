//! Progress display: an indicatif bar with loss and throughput on a terminal, one plain line per
//! epoch otherwise (logs, CI, pipes).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::callbacks::{BatchInfo, Callback, Control};
use crate::error::Result;
use crate::history::EpochLogs;

/// Shows training progress. On a terminal: a bar per epoch with the running loss and
/// samples/second. Otherwise: one line per epoch with its metrics, so logs stay readable.
pub struct Progress {
    bar: Option<ProgressBar>,
    interactive: bool,
    epochs: usize,
    batches: usize,
    started: Instant,
    samples: usize,
    loss_sum: f64,
    seen_batches: usize,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// A progress display that draws a bar only when stderr is a terminal.
    pub fn new() -> Self {
        Progress {
            bar: None,
            interactive: std::io::stderr().is_terminal(),
            epochs: 0,
            batches: 0,
            started: Instant::now(),
            samples: 0,
            loss_sum: 0.0,
            seen_batches: 0,
        }
    }
}

impl Callback for Progress {
    fn name(&self) -> &str {
        "Progress"
    }

    fn on_train_begin(&mut self, epochs: usize, batches_per_epoch: usize) -> Result<()> {
        self.epochs = epochs;
        self.batches = batches_per_epoch;
        Ok(())
    }

    fn on_batch_end(&mut self, info: &BatchInfo) -> Result<()> {
        if info.batch == 0 {
            self.started = Instant::now();
            self.samples = 0;
            self.loss_sum = 0.0;
            self.seen_batches = 0;
            if self.interactive {
                let bar = ProgressBar::with_draw_target(
                    Some(self.batches as u64),
                    ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                        .expect("static template")
                        .progress_chars("=> "),
                );
                bar.set_prefix(format!("{}/{}", info.epoch, self.epochs));
                self.bar = Some(bar);
            }
        }
        self.samples += info.batch_size;
        self.loss_sum += info.loss;
        self.seen_batches += 1;
        if let Some(bar) = &self.bar {
            let rate = self.samples as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4}  {:.0} samples/s",
                self.loss_sum / self.seen_batches as f64,
                rate
            ));
            bar.inc(1);
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        logs: &EpochLogs,
        _: &mut dyn gradwork_nn::Module,
    ) -> Result<Control> {
        let elapsed = self.started.elapsed().as_secs_f64();
        let metrics: Vec<String> = logs
            .metrics
            .iter()
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect();
        let line = format!(
            "epoch {}/{}: {}  ({:.1}s, {:.0} samples/s)",
            logs.epoch,
            self.epochs,
            metrics.join("  "),
            elapsed,
            self.samples as f64 / elapsed.max(1e-9)
        );
        match self.bar.take() {
            Some(bar) => bar.finish_with_message(line),
            None => eprintln!("{line}"),
        }
        Ok(Control::Continue)
    }
}
