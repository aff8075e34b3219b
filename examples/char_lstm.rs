//! A character-level LSTM language model on Tiny Shakespeare (the articles' LSTM text
//! generator): Embedding - LSTM - Linear over the vocabulary, trained on random windows with
//! Adam and gradient clipping; reports the validation loss in nats per character and
//! generates text from a prompt with temperature sampling.
//!
//! Needs the corpus: `cargo xtask fetch tiny-shakespeare` (looked for in
//! `$GRADWORK_DATA/tiny-shakespeare`, default `datasets/cache/tiny-shakespeare`, then in the
//! shared mirror `$GRADWORK_SHARED/datasets/tiny-shakespeare`). Split: the first 90 % of the
//! characters train, the last 10 % validate (nanoGPT's split).
//!
//! Run with `cargo run --release --example char_lstm` — small defaults that finish in minutes
//! (`--steps 300 --hidden 128 --embed 32 --seq 64 --batch 32`). The full run, which reaches the
//! target of at most 1.75 nats/char, is
//! `cargo run --release --example char_lstm -- --steps 6000 --hidden 256 --embed 64 --seq 100`.
//! Other flags: `--lr` (default 3e-3), `--temperature` (0.8), `--prompt` ("ROMEO:"),
//! `--generate` (characters to generate, 400), `--eval-batches` (20).
//!
//! Expected: the validation loss falls from 4.21 nats/char (about ln 67, the vocabulary) at the
//! start. Measured with the defaults: 2.0065 nats/char after 300 steps (92 s, 6,653 characters/s,
//! 2 threads on a loaded machine), and a sample with Shakespeare's layout (speaker names in
//! capitals, short verse lines) and mostly invented words. The 1.75 target needs the longer run
//! above; its figures, when measured, are in docs/examples.md.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use gradwork::data::CharCorpus;
use gradwork::nn::layers::{Embedding, Lstm, RecurrentState};
use gradwork::nn::{join_path, Param};
use gradwork::optim::clip_grad_norm;
use gradwork::prelude::*;

/// Embedding -> LSTM -> Linear; `forward` maps ids `[B, T]` (as f32) to logits `[B * T, V]`.
struct CharModel {
    embed: Embedding,
    lstm: Lstm,
    head: Linear,
}

impl CharModel {
    fn new(vocab: usize, embed: usize, hidden: usize, rng: &mut Rng) -> Result<Self> {
        Ok(CharModel {
            embed: Embedding::new(vocab, embed, rng),
            lstm: Lstm::new(embed, hidden, 1, rng)?,
            head: Linear::new(hidden, vocab, rng),
        })
    }

    /// One generation step from `state`: the logits of the next character and the new state.
    fn step(
        &mut self,
        cx: &mut Ctx,
        id: usize,
        state: Option<&RecurrentState>,
    ) -> Result<(Tensor, RecurrentState)> {
        let x = self.embed.forward_indices(cx, &[id], &[1, 1])?;
        let out = self.lstm.forward_seq(cx, &x, state)?;
        let h = out.output.reshape(&[1, self.lstm.hidden_size()]);
        let logits = self.head.forward(cx, &h)?.into_value();
        let next = RecurrentState {
            h: out.h_n,
            c: out.c_n,
        };
        Ok((logits, next))
    }
}

impl Module for CharModel {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> gradwork::nn::Result<Var> {
        let (b, t) = (input.shape()[0], input.shape()[1]);
        let x = self.embed.forward(cx, input)?;
        let h = self.lstm.forward(cx, &x)?;
        let h = h.try_reshape(&[b * t, self.lstm.hidden_size()])?;
        self.head.forward(cx, &h)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        self.embed.visit_params(&join_path(prefix, "embed"), f);
        self.lstm.visit_params(&join_path(prefix, "lstm"), f);
        self.head.visit_params(&join_path(prefix, "head"), f);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        self.embed.visit_params_mut(&join_path(prefix, "embed"), f);
        self.lstm.visit_params_mut(&join_path(prefix, "lstm"), f);
        self.head.visit_params_mut(&join_path(prefix, "head"), f);
    }
}

/// `batch` windows of `seq + 1` characters starting at random offsets: inputs and next-char
/// targets.
fn sample_batch(ids: &[usize], batch: usize, seq: usize, rng: &mut Rng) -> (Tensor, Targets) {
    let mut inputs = Vec::with_capacity(batch * seq);
    let mut targets = Vec::with_capacity(batch * seq);
    for _ in 0..batch {
        let start = (rng.next_u64() % (ids.len() - seq - 1) as u64) as usize;
        inputs.extend(ids[start..start + seq].iter().map(|&i| i as f32));
        targets.extend_from_slice(&ids[start + 1..start + seq + 1]);
    }
    (
        Tensor::from_vec(inputs, &[batch, seq]),
        Targets::Classes(targets),
    )
}

/// The mean cross-entropy in nats per character over `batches` fixed windows of `ids`.
fn validation_loss(
    model: &mut CharModel,
    ids: &[usize],
    batches: usize,
    batch: usize,
    seq: usize,
) -> Result<f64> {
    let mut rng = Rng::seed_from(12345); // the same windows at every evaluation
    let mut total = 0.0;
    for _ in 0..batches {
        let (x, y) = sample_batch(ids, batch, seq, &mut rng);
        let logits = model.forward(&mut Ctx::eval(), &Var::constant(x))?;
        total += Loss::SparseCategoricalCrossEntropy
            .compute(&logits, &y)?
            .value()
            .item() as f64;
    }
    Ok(total / batches as f64)
}

/// Draws an index from `softmax(logits / temperature)`.
fn sample(logits: &Tensor, temperature: f32, rng: &mut Rng) -> usize {
    let probabilities = logits.mul_scalar(1.0 / temperature).softmax(-1).to_vec();
    let mut u = rng.next_f32();
    for (i, &p) in probabilities.iter().enumerate() {
        if u < p {
            return i;
        }
        u -= p;
    }
    probabilities.len() - 1
}

fn main() -> Result<()> {
    let steps = common::arg("steps", 300usize);
    let hidden = common::arg("hidden", 128usize);
    let embed = common::arg("embed", 32usize);
    let seq = common::arg("seq", 64usize);
    let batch = common::arg("batch", 32usize);
    let lr = common::arg("lr", 3e-3f64);
    let temperature = common::arg("temperature", 0.8f32);
    let prompt = common::arg("prompt", "ROMEO:".to_string());
    let generate = common::arg("generate", 400usize);
    let eval_batches = common::arg("eval-batches", 20usize);

    let dir = common::fetched_dataset("tiny-shakespeare", "tiny-shakespeare", &["input.txt"]);
    let corpus = CharCorpus::read(dir.join("input.txt"))?;
    let vocab = corpus.vocabulary.len();
    let (train, valid) = corpus.split_at_fraction(0.9);
    println!(
        "{}: {} characters (train {}, validation {}), vocabulary {vocab}",
        dir.join("input.txt").display(),
        corpus.ids.len(),
        train.len(),
        valid.len()
    );

    let mut rng = Rng::seed_from(0);
    let mut model = CharModel::new(vocab, embed, hidden, &mut rng)?;
    println!(
        "model: embedding {embed}, LSTM {hidden}, {} parameters; {steps} steps of {batch}x{seq}",
        model.num_params()
    );
    let mut optimizer = Adam::new(AdamConfig {
        lr,
        ..AdamConfig::adam()
    })?;
    let initial = validation_loss(&mut model, valid, eval_batches, batch, seq)?;
    println!("step     0  validation {initial:.4} nats/char");
    let mut data_rng = Rng::seed_from(1);
    let start = Instant::now();
    let report_every = (steps / 10).max(1);
    let mut running = 0.0;
    for step in 1..=steps {
        let (x, y) = sample_batch(train, batch, seq, &mut data_rng);
        let graph = Graph::new();
        let mut cx = Ctx::train(&graph, rng.fork(step as u64));
        let logits = model.forward(&mut cx, &Var::constant(x))?;
        let loss = Loss::SparseCategoricalCrossEntropy.compute(&logits, &y)?;
        let grads = graph.backward(&loss)?;
        let mut param_grads = cx.into_param_grads(&grads);
        clip_grad_norm(&mut param_grads, 5.0)?;
        optimizer.step(&mut model, &param_grads)?;
        running += loss.value().item() as f64;
        if step % report_every == 0 || step == steps {
            let n = if step % report_every == 0 {
                report_every
            } else {
                step % report_every
            };
            let val = validation_loss(&mut model, valid, eval_batches, batch, seq)?;
            println!(
                "step {step:>5}  train {:.4}  validation {val:.4} nats/char  ({:.1} s)",
                running / n as f64,
                start.elapsed().as_secs_f64()
            );
            running = 0.0;
        }
    }
    common::report_throughput("training (characters)", steps * batch * seq, start);
    let final_loss = validation_loss(&mut model, valid, eval_batches, batch, seq)?;
    println!(
        "final validation loss {final_loss:.4} nats/char ({:.3} bits/char) on {} windows of {seq}",
        final_loss / std::f64::consts::LN_2,
        eval_batches * batch
    );

    // Generation: warm the state up on the prompt, then sample one character at a time.
    let mut cx = Ctx::eval();
    let mut state: Option<RecurrentState> = None;
    let mut logits = None;
    for id in corpus.vocabulary.encode_chars(&prompt) {
        let (l, s) = model.step(&mut cx, id, state.as_ref())?;
        logits = Some(l);
        state = Some(s);
    }
    let mut sample_rng = Rng::seed_from(2);
    let mut text = prompt.clone();
    if let Some(mut l) = logits {
        for _ in 0..generate {
            let id = sample(&l, temperature, &mut sample_rng);
            text += &corpus.vocabulary.decode_chars(&[id]);
            let (next, s) = model.step(&mut cx, id, state.as_ref())?;
            l = next;
            state = Some(s);
        }
    }
    println!("\n--- sample (temperature {temperature}) ---\n{text}\n---");
    Ok(())
}
