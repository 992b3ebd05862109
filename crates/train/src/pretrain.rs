//! Pretraining the tiny reasoner from scratch on solver traces: one visible loop
//! (batch → forward → masked loss → backward → clip → AdamW step → log → eval → checkpoint).

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::{VarBuilder, VarMap};
use indicatif::{ProgressBar, ProgressStyle};
use ponder_model::{init_weights, Preset, TinyConfig, TinyReasoner};
use serde::{Deserialize, Serialize};

use crate::data::{packed_batch, Batch, MixtureConfig};
use crate::heldout::{greedy_accuracy, heldout_set};
use crate::optim::{AdamW, AdamWConfig, Schedule};
use crate::run::{RunDir, RunState, OPTIMIZER};
use crate::{Error, Result};

/// File name of the resolved pretraining configuration in a run folder.
pub const CONFIG_NAME: &str = "pretrain.json";

/// Everything a pretraining run needs; written resolved into the run folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainConfig {
    /// The model shape.
    pub model: TinyConfig,
    /// Start from the weights in this model folder instead of a fresh initialisation.
    #[serde(default)]
    pub init: Option<std::path::PathBuf>,
    /// Seeds the initial weights and the data stream.
    pub seed: u64,
    /// Rows per batch.
    pub batch_size: usize,
    /// Tokens per row: 768 bytes hold nearly every default-mixture document (prompt + trace).
    pub seq_len: usize,
    /// Stop after this many steps …
    pub steps: Option<u64>,
    /// … or after this many minutes (the step count is then fixed after a few timed steps).
    pub minutes: Option<f64>,
    /// The step count the schedule decays over, once known.
    pub total_steps: Option<u64>,
    /// Optimizer settings.
    pub optimizer: AdamWConfig,
    /// Linear warmup steps.
    pub warmup_steps: u64,
    /// Final learning rate as a fraction of the peak.
    pub min_lr_ratio: f64,
    /// The training data.
    pub mixture: MixtureConfig,
    /// Log every this many steps.
    pub log_every: u64,
    /// Evaluate on the held-out set every this many steps (and at the end).
    pub eval_every: u64,
    /// Held-out problems per (family, level) of the mixture's easiest level (0: no evaluation).
    pub eval_per_level: usize,
    /// Checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
}

impl PretrainConfig {
    /// Defaults for a preset: a batch of 8 × 768 tokens, a learning rate that suits the size.
    pub fn for_preset(preset: Preset) -> Self {
        let lr = match preset {
            Preset::Nano => 6e-3,
            Preset::Micro => 2e-3,
            Preset::Small => 1e-3,
        };
        Self {
            model: TinyConfig::preset(preset),
            init: None,
            seed: 0,
            batch_size: 8,
            seq_len: 768,
            steps: None,
            minutes: Some(10.0),
            total_steps: None,
            optimizer: AdamWConfig { lr, ..AdamWConfig::default() },
            warmup_steps: 50,
            min_lr_ratio: 0.1,
            mixture: MixtureConfig::default(),
            log_every: 10,
            eval_every: 500,
            eval_per_level: 8,
            checkpoint_every: 100,
        }
    }
}

/// One line of the run log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    /// Steps done.
    pub step: u64,
    /// Mean loss per completion token over the steps since the last entry.
    pub loss: f64,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Global gradient norm before clipping, last step.
    pub grad_norm: f64,
    /// Input tokens per second since the last entry.
    pub tokens_per_second: f64,
    /// Input tokens so far.
    pub tokens: u64,
    /// Training FLOPs so far.
    pub flops: f64,
    /// Training seconds so far.
    pub seconds: f64,
    /// Held-out greedy accuracy per `family/level` (on evaluation steps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heldout: Option<std::collections::BTreeMap<String, f64>>,
}

/// What a finished (or interrupted) run reached.
#[derive(Debug, Clone)]
pub struct PretrainOutcome {
    /// Counters at the end.
    pub state: RunState,
    /// The last logged loss.
    pub last_loss: f64,
    /// The last held-out evaluation.
    pub heldout: std::collections::BTreeMap<String, f64>,
}

/// Mean cross-entropy of the tokens the batch's loss mask selects (the completions).
pub fn completion_loss(model: &TinyReasoner, batch: &Batch) -> Result<Tensor> {
    let logits = model.forward_documents(&batch.inputs, &batch.documents)?; // (b, t, vocab)
    completion_loss_of(&logits, batch)
}

/// [`completion_loss`] from the (batch, seq, vocab) logits of `batch`'s inputs.
pub fn completion_loss_of(logits: &Tensor, batch: &Batch) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let picked = logp.gather(&batch.targets.unsqueeze(2)?, 2)?.squeeze(2)?; // (b, t)
    Ok(((picked * &batch.loss_mask)?.sum_all()? / -(batch.loss_tokens.max(1) as f64))?)
}

/// Starts a fresh run in `out` (`resume = false`) or continues the run there from its last
/// checkpoint (`resume = true`, the configuration is read from the folder). `stop_after`
/// ends the run after that step without the final checkpoint, as a kill would (for tests).
pub fn pretrain(
    out: &Path,
    config: Option<PretrainConfig>,
    resume: bool,
    stop_after: Option<u64>,
) -> Result<PretrainOutcome> {
    let device = Device::Cpu;
    let run = RunDir::create(out)?;
    let mut config = match (resume, config) {
        (true, _) => run.read_json::<PretrainConfig>(CONFIG_NAME)?,
        (false, Some(c)) => c,
        (false, None) => return Err(Error::Config("a new run needs a configuration".into())),
    };
    if config.steps.is_none() && config.minutes.is_none() {
        return Err(Error::Config("give a step count or a time budget in minutes".into()));
    }
    if config.steps.is_some() {
        config.total_steps = config.steps;
    }
    run.write_json(CONFIG_NAME, &config)?;

    // Model and optimizer: fresh, or restored from the last checkpoint.
    let mut varmap: VarMap = init_weights(&config.model, config.seed, &device)?;
    let model = TinyReasoner::new(config.model.clone(), VarBuilder::from_varmap(&varmap, DType::F32, &device))?;
    if let (Some(init), false) = (&config.init, resume) {
        let weights = init.join(ponder_model::WEIGHTS_FILE);
        varmap.load(&weights).map_err(|e| Error::Io { path: weights, why: e.to_string() })?;
    }
    let mut optimizer = AdamW::for_varmap(&varmap, config.optimizer.clone())?;
    let mut state = RunState::default();
    if resume {
        match run.latest_checkpoint::<RunState>()? {
            Some((dir, saved)) => {
                RunDir::restore(&dir, &mut varmap, &mut [(OPTIMIZER, &mut optimizer)])?;
                state = saved;
                run.truncate_log_after(state.step)?;
            }
            None => run.truncate_log_after(0)?,
        }
    } else {
        let _ = std::fs::remove_file(run.log_path());
    }

    let pairs: Vec<_> =
        config.mixture.sources.iter().filter_map(|(f, levels)| levels.first().map(|&l| (*f, l))).collect();
    let heldout = heldout_set(&pairs, config.eval_per_level)?;
    let eval_tokens = config.seq_len;
    let tokens_per_step = (config.batch_size * config.seq_len) as u64;
    let flops_per_step = 3.0 * config.model.flops_per_token(config.seq_len / 2) * tokens_per_step as f64;

    let bar = ProgressBar::new(config.total_steps.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("pretrain {bar:30} {pos}/{len} steps  {msg}  [{elapsed_precise}, ETA {eta}]")
            .map_err(|e| Error::Config(e.to_string()))?,
    );
    bar.set_position(state.step);

    let started = Instant::now();
    let mut timing_from: Option<Instant> = None;
    let seconds_before = state.seconds;
    let (mut window_start, mut window_tokens) = (Instant::now(), 0u64);
    let mut last_loss = f64::NAN;
    let mut last_heldout = Default::default();
    loop {
        // With a time budget, fix the step count from steps 3-8, timed after the first
        // steps have warmed up the allocator (they are several times slower).
        if config.total_steps.is_none() && state.step == 3 {
            timing_from = Some(Instant::now());
        }
        if let (None, Some(t3), 8..) = (config.total_steps, timing_from, state.step) {
            let per_step = t3.elapsed().as_secs_f64() / (state.step - 3) as f64;
            let used = started.elapsed().as_secs_f64();
            let budget = config.minutes.unwrap_or(0.0) * 60.0 * 0.92; // leave time for evals and saves
            let left = ((budget - used).max(0.0) / per_step) as u64;
            config.total_steps = Some(state.step + left.max(1));
            run.write_json(CONFIG_NAME, &config)?;
            bar.set_length(config.total_steps.unwrap_or(0));
        }
        let total = config.total_steps.unwrap_or(u64::MAX);
        if state.step >= total {
            break;
        }
        let schedule = Schedule { warmup: config.warmup_steps, total, min_ratio: config.min_lr_ratio };
        let lr = config.optimizer.lr * schedule.factor(state.step);

        // sample → forward → masked cross-entropy on completion tokens
        let batch = packed_batch(&config.mixture, config.seed, state.step, config.batch_size, config.seq_len, &device)?;
        let loss = completion_loss(&model, &batch)?;

        // backward → clip → step
        let grads = loss.backward()?;
        let grad_norm = optimizer.grad_norm(&grads)?;
        optimizer.step(&grads, lr, grad_norm)?;

        let loss_value = loss.to_scalar::<f32>()? as f64;
        if !loss_value.is_finite() {
            return Err(Error::Config(format!(
                "loss became {loss_value} at step {}: lower the learning rate",
                state.step
            )));
        }
        state.step += 1;
        state.tokens += tokens_per_step;
        state.flops += flops_per_step;
        state.seconds = seconds_before + started.elapsed().as_secs_f64();
        state.window_loss += loss_value;
        state.window_steps += 1;
        window_tokens += tokens_per_step;
        bar.set_position(state.step);

        let finished = state.step >= config.total_steps.unwrap_or(u64::MAX);
        let evaluate = config.eval_per_level > 0 && (state.step % config.eval_every == 0 || finished);
        // The last step is always logged, so a run shorter than the interval reports its loss.
        if state.step % config.log_every == 0 || evaluate || finished {
            let rate = window_tokens as f64 / window_start.elapsed().as_secs_f64().max(1e-9);
            last_loss = state.window_loss / state.window_steps.max(1) as f64;
            let heldout = if evaluate { Some(greedy_accuracy(&model, &heldout, eval_tokens)?) } else { None };
            if let Some(h) = &heldout {
                last_heldout = h.clone();
            }
            run.log(&LogEntry {
                step: state.step,
                loss: last_loss,
                lr,
                grad_norm,
                tokens_per_second: rate,
                tokens: state.tokens,
                flops: state.flops,
                seconds: state.seconds,
                heldout,
            })?;
            let acc = last_heldout.get("all").map_or(String::new(), |a| format!(" | held-out {:.0}%", a * 100.0));
            bar.set_message(format!("loss {last_loss:.3} | {rate:.0} tok/s{acc}"));
            (state.window_loss, state.window_steps) = (0.0, 0);
            (window_start, window_tokens) = (Instant::now(), 0);
        }
        if stop_after == Some(state.step) {
            bar.abandon();
            return Ok(PretrainOutcome { state, last_loss, heldout: last_heldout });
        }
        if state.step % config.checkpoint_every == 0 || finished {
            run.save_checkpoint(&config.model, &varmap, &[(OPTIMIZER, &optimizer)], state.step, &state)?;
        }
    }
    bar.finish();
    Ok(PretrainOutcome { state, last_loss, heldout: last_heldout })
}
