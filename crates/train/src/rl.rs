//! Reinforcement learning on verifiable rewards, GRPO family. One visible loop:
//!
//! ```text
//! draw problems (curriculum) → sample G completions each → verify → rewards
//!   → drop groups with equal rewards, draw more until the batch is full (dynamic sampling)
//!   → group-relative advantages → clipped policy-gradient step → log
//!   → at log-spaced steps: greedy held-out evaluation, a point of the train-time curve
//! ```
//!
//! Every random choice is a function of the run seed and the step, and the curriculum is
//! saved with each checkpoint, so a killed run resumes exactly where it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use indicatif::{ProgressBar, ProgressStyle};
use ponder_model::{read_config, special, ByteTokenizer, SamplingParams, TinyConfig, TinyReasoner, WEIGHTS_FILE};
use ponder_tasks::extract::{self_corrections, thinking_text};
use ponder_tasks::{seed_for, Family, Problem, Rng, Split};
use ponder_think::{attempt_all, complete_tiny, Completion};
use rand::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::curriculum::{Curriculum, CurriculumConfig};
use crate::data::{packed_batch, Batch, MixtureConfig};
use crate::grpo::{advantages, no_signal, reward, AdvantageNorm, Clip, LossAggregation, Reward, RewardConfig};
use crate::heldout::{heldout_set, pass1_by_level};
use crate::noise::NoiseScale;
use crate::optim::{AdamW, AdamWConfig};
use crate::rollout::{policy_update, Anchor, Rollout, UpdateSettings, UpdateStats};
use crate::run::{RunDir, OPTIMIZER};
use crate::{Error, Result};

/// File name of the resolved RL configuration in a run folder.
pub const RL_CONFIG_NAME: &str = "rl.json";
/// File name of the train-time compute curve in a run folder.
pub const CURVE_NAME: &str = "curve.json";
/// Folder of a run where the weights of every curve point are kept, one `step-NNNNNN`
/// model folder each, so checkpoints along the curve can be evaluated or compared later.
pub const CURVE_MODELS_DIR: &str = "curve-models";
/// File stem of the anchor's own optimizer moments in a checkpoint (with [`AnchorMoments::Own`]).
const ANCHOR_OPTIMIZER: &str = "anchor-optimizer";
/// Mixed into the run seed for the anchor's data stream, apart from the problems RL draws.
const ANCHOR_SEED: u64 = 0x616e_6368_6f72;
/// Most rows in the anchor's batch (it runs in micro-batches of 8 rows). Many rows at a
/// small weight hold the easy levels with little noise: the noise an anchor adds to a step
/// falls with the square root of its rows (see `ponder rl --noise-batches`).
pub const MAX_ANCHOR_ROWS: usize = 64;

/// Everything an RL run needs; written resolved into the run folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RlConfig {
    /// The model folder of the starting policy (e.g. `runs/base/model`).
    pub init: PathBuf,
    /// Seeds problems and sampling.
    pub seed: u64,
    /// Families and their curriculum levels, easiest first.
    pub sources: Vec<(Family, Vec<u8>)>,
    /// Completions per problem (G).
    pub group: usize,
    /// Groups (problems) per optimizer step.
    pub batch: usize,
    /// Dynamic sampling: at most this many rounds of drawing `batch` problems per step.
    pub max_rounds: usize,
    /// Stop after this many steps …
    pub steps: Option<u64>,
    /// … or after this many minutes of RL (evaluations excluded).
    pub minutes: Option<f64>,
    /// Temperature of the policy RL trains: completions are sampled from, and their
    /// log-probs (so the gradient) computed at, the model's logits / temperature. Greedy
    /// decoding is the same at every temperature; below 1 the samples stay nearer the
    /// greedy path, where the greedy answer is decided.
    pub temperature: f32,
    /// Completion length cap in tokens.
    pub max_new_tokens: usize,
    /// Optimizer (the learning rate is constant after warmup).
    pub optimizer: AdamWConfig,
    /// Linear warmup steps.
    pub warmup_steps: u64,
    /// Fraction of the run (of its steps, or of its minutes) at the end over which the
    /// learning rate falls linearly to 0, so the final policy is not one full-size step
    /// away from where RL went (0: constant after warmup). 0.33 by default: over two seeds
    /// of 60-minute runs it cut the spread of the trained level's gain from 11.8 points to 4.
    /// Configurations written before it existed read as 0, so they resume unchanged.
    #[serde(default)]
    pub decay_last: f64,
    /// Policy updates per sampled batch (more than 1 makes the ratio clipping matter).
    pub updates_per_batch: usize,
    /// Ratio clipping.
    pub clip: Clip,
    /// Advantage normalisation.
    pub advantage: AdvantageNorm,
    /// Loss aggregation.
    pub aggregation: LossAggregation,
    /// KL penalty coefficient toward the starting policy (0 = off, the default).
    pub kl_beta: f64,
    /// Reward shaping.
    pub reward: RewardConfig,
    /// Level progression.
    pub curriculum: CurriculumConfig,
    /// Held-out problems per (family, level) in each evaluation.
    pub eval_per_level: usize,
    /// The (family, level) pairs evaluated; empty = every level of `sources`.
    pub eval_pairs: Vec<(Family, u8)>,
    /// Checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// A supervised anchor on solver traces added to every update (off by default).
    #[serde(default)]
    pub anchor: Option<AnchorConfig>,
}

/// The supervised anchor of an RL run: each update also lowers the pretraining loss on a
/// fresh packed batch of solver traces, weighted by `coef`, so that the skills the traces
/// teach (the easy levels) are held while RL works on the hard ones. Give it levels RL
/// does not train on, so that any gain on the trained levels is RL's. A step whose groups
/// all lacked signal makes no update, so no anchor step either.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnchorConfig {
    /// What the traces are drawn from.
    pub mixture: MixtureConfig,
    /// Weight of the traces' cross-entropy against the policy loss.
    pub coef: f64,
    /// Packed rows per step.
    pub rows: usize,
    /// Tokens per row.
    pub seq_len: usize,
    /// Whether the anchor's gradient shares the policy's AdamW moments (configurations
    /// saved before the choice existed read as shared).
    #[serde(default)]
    pub moments: AnchorMoments,
}

/// How the anchor's gradient reaches the weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnchorMoments {
    /// One AdamW step on the policy gradient plus `coef` × the anchor's. The anchor's
    /// gradients then enter the second moments that divide every weight's step, so a noisy
    /// or strong anchor also shrinks the steps RL gets.
    #[default]
    Shared,
    /// Two steps from the same weights: the policy's with its AdamW, then the anchor's with
    /// its own AdamW (no weight decay) at `coef` × the learning rate. Each is normalised by
    /// its own moments, so RL keeps the step size it would have without an anchor.
    Own,
}

impl RlConfig {
    /// Defaults for RL from the model in `init`: the harder levels of every family,
    /// 16 groups of 8 completions per step, DAPO-style loss, no KL.
    pub fn new(init: PathBuf) -> Self {
        Self {
            init,
            seed: 0,
            sources: vec![
                (Family::Word, vec![2, 3, 4, 5]),
                (Family::Count, vec![2, 3, 4]),
                (Family::Letters, vec![2, 3, 4]),
                (Family::Cipher, vec![1, 3]),
                (Family::Countdown, vec![1, 2]),
                (Family::Sudoku, vec![1]),
            ],
            group: 8,
            batch: 16,
            max_rounds: 3,
            steps: None,
            minutes: Some(10.0),
            temperature: 1.0,
            // 4×4 sudoku and cipher traces run to about 600 tokens.
            max_new_tokens: 640,
            optimizer: AdamWConfig { lr: 5e-4, weight_decay: 0.0, ..AdamWConfig::default() },
            warmup_steps: 5,
            decay_last: 0.33,
            updates_per_batch: 1,
            clip: Clip::default(),
            advantage: AdvantageNorm::MeanOnly,
            aggregation: LossAggregation::TokenMean,
            kl_beta: 0.0,
            reward: RewardConfig::default(),
            curriculum: CurriculumConfig::default(),
            eval_per_level: 32,
            eval_pairs: Vec::new(),
            checkpoint_every: 20,
            anchor: None,
        }
    }

    /// The trained levels as curve keys (`count/2`), the way [`CurvePoint::pass1`] names them.
    pub fn trained_keys(&self) -> Vec<String> {
        self.sources.iter().flat_map(|(f, levels)| levels.iter().map(move |l| format!("{f}/{l}"))).collect()
    }

    /// The evaluated (family, level) pairs.
    pub fn evaluated_pairs(&self) -> Vec<(Family, u8)> {
        if !self.eval_pairs.is_empty() {
            return self.eval_pairs.clone();
        }
        self.sources.iter().flat_map(|(f, levels)| levels.iter().map(move |&l| (*f, l))).collect()
    }
}

/// Counters and curriculum saved with every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RlState {
    /// Optimizer steps done.
    pub step: u64,
    /// FLOPs spent sampling (all rounds, dropped groups included).
    pub sample_flops: f64,
    /// FLOPs spent in policy updates (forward + backward, reference forward).
    pub train_flops: f64,
    /// Seconds of RL (sampling + updates; evaluations excluded), across resumes.
    pub seconds: f64,
    /// The curriculum.
    pub curriculum: Curriculum,
    /// The train-time curve so far.
    pub curve: Vec<CurvePoint>,
}

/// One held-out evaluation of the policy: a point of the train-time compute curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// RL steps done.
    pub step: u64,
    /// RL FLOPs spent so far (sampling + training).
    pub flops: f64,
    /// RL seconds so far.
    pub seconds: f64,
    /// Greedy pass@1 per `family/level`.
    pub pass1: BTreeMap<String, f64>,
    /// Mean of `pass1` over the evaluated pairs.
    pub mean_pass1: f64,
    /// Mean thinking tokens per completion.
    pub thinking_tokens: f64,
    /// Fraction of completions with at least one self-correction in their thinking.
    pub self_correction_rate: f64,
}

/// One line of the RL log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RlLogEntry {
    /// Steps done.
    pub step: u64,
    /// Mean total reward of the sampled completions (all rounds).
    pub reward: f64,
    /// Mean correctness reward (= sampled accuracy).
    pub reward_correct: f64,
    /// Sampled accuracy per `family/level` drawn this step (all rounds).
    #[serde(default)]
    pub accuracy_by_level: BTreeMap<String, f64>,
    /// Mean format bonus.
    pub reward_format: f64,
    /// Mean overlong penalty.
    pub reward_overlong: f64,
    /// Mean and max completion length (tokens).
    pub mean_length: f64,
    /// Longest completion.
    pub max_length: usize,
    /// Mean thinking tokens.
    pub thinking_tokens: f64,
    /// Fraction of sampled groups dropped for equal rewards.
    pub dropped_groups: f64,
    /// Groups the update used.
    pub groups_used: usize,
    /// Mean policy entropy per completion token (nats).
    pub entropy: f64,
    /// Fraction of tokens whose ratio was clipped.
    pub clip_fraction: f64,
    /// Mean k3 KL to the reference (0 when off).
    pub kl: f64,
    /// Mean |ratio − 1| on the first update (sampling/training agreement).
    pub ratio_error: f64,
    /// Gradient norm before clipping, first update (the anchor's gradient included when it
    /// shares the policy's AdamW moments).
    #[serde(default)]
    pub grad_norm: f64,
    /// The supervised anchor's cross-entropy on its traces (0 without one).
    #[serde(default)]
    pub anchor_loss: f64,
    /// Fraction of completions with a self-correction.
    pub self_correction_rate: f64,
    /// Curriculum level per family.
    pub levels: BTreeMap<String, u8>,
    /// Learning rate.
    pub lr: f64,
    /// Cumulative RL FLOPs.
    pub flops: f64,
    /// Cumulative RL seconds.
    pub seconds: f64,
    /// This step's seconds spent sampling its groups (every round of dynamic sampling).
    #[serde(default)]
    pub sample_seconds: f64,
    /// This step's seconds spent on its updates (gradients, the anchor's included, and steps).
    #[serde(default)]
    pub update_seconds: f64,
}

/// What a finished run reached.
#[derive(Debug, Clone)]
pub struct RlOutcome {
    /// The run's settings (as given, or as read back on resume).
    pub config: RlConfig,
    /// Counters, curriculum and curve at the end.
    pub state: RlState,
}

/// True for the steps the curve is evaluated at: 0 and every half octave, `round(2^(k/2))`:
/// 0, 1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, … A run of 30 steps gets 10 of them and a
/// final point, where powers of two alone would give it 6 and the final one.
pub fn is_curve_step(step: u64) -> bool {
    step == 0
        || (0..128).map(|k| 2f64.powf(k as f64 / 2.0).round() as u64).take_while(|&s| s <= step).any(|s| s == step)
}

/// A completion and its reward, with the problem's (family, level).
struct Sampled {
    problem: Problem,
    completion: Completion,
    prompt: Vec<u32>,
    reward: Reward,
    correct: bool,
}

/// The learning rate of the update after `step` steps and `seconds` of RL: linear warmup,
/// then constant, then (with `decay_last`) a linear fall to 0 over the run's last part.
fn learning_rate(config: &RlConfig, step: u64, seconds: f64) -> f64 {
    let warmup = ((step + 1) as f64 / config.warmup_steps.max(1) as f64).min(1.0);
    let done = match (config.steps, config.minutes) {
        (Some(n), _) => step as f64 / n.max(1) as f64,
        (None, Some(m)) => seconds / (m * 60.0),
        (None, None) => 0.0,
    };
    let decay = if config.decay_last > 0.0 { ((1.0 - done) / config.decay_last).clamp(0.0, 1.0) } else { 1.0 };
    config.optimizer.lr * warmup * decay
}

/// Draws one training-split problem for slot `slot` of round `round` of `step`.
fn draw_problem(config: &RlConfig, curriculum: &Curriculum, step: u64, round: u64, slot: u64) -> Result<Problem> {
    let mut rng = Rng::seed_from_u64(seed_for(config.seed, &[step, round, slot]));
    let (family, level) = curriculum.draw(&mut rng, &config.curriculum);
    loop {
        let problem = family.generate(level, rng.random())?;
        if Split::of_prompt(&problem.prompt) == Split::Train {
            return Ok(problem);
        }
    }
}

/// Sampled accuracy per `family/level` (the keys of [`CurvePoint::pass1`]).
fn accuracy_by_level(samples: &[&Sampled]) -> BTreeMap<String, f64> {
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in samples {
        let entry = tally.entry(format!("{}/{}", s.problem.family(), s.problem.difficulty)).or_default();
        entry.0 += usize::from(s.correct);
        entry.1 += 1;
    }
    tally.into_iter().map(|(key, (right, all))| (key, right as f64 / all as f64)).collect()
}

/// Samples a group of completions for each problem and scores them.
fn sample_groups(
    model: &TinyReasoner,
    config: &RlConfig,
    problems: &[Problem],
    step: u64,
    round: u64,
) -> Result<Vec<Vec<Sampled>>> {
    let params = SamplingParams {
        temperature: config.temperature,
        max_new_tokens: config.max_new_tokens,
        tempered_logprobs: true,
        ..SamplingParams::default()
    };
    let prompts: Vec<String> =
        problems.iter().flat_map(|p| std::iter::repeat_n(p.prompt.clone(), config.group)).collect();
    let seeds: Vec<u64> =
        (0..prompts.len() as u64).map(|j| seed_for(config.seed, &[step, round, j, 0x5a4d_504c])).collect();
    let mut completions = Vec::with_capacity(prompts.len());
    for (p, s) in prompts.chunks(128).zip(seeds.chunks(128)) {
        completions.extend(complete_tiny(model, p, s, &params, |_, _| {})?);
    }
    let mut groups: Vec<Vec<Sampled>> = problems.iter().map(|_| Vec::with_capacity(config.group)).collect();
    for (j, completion) in completions.into_iter().enumerate() {
        let problem = &problems[j / config.group];
        let verdict = problem.verify(&completion.text);
        let closed = completion.tokens.contains(&special::END_THINK);
        let r = reward(&verdict, closed, completion.tokens.len(), config.max_new_tokens, &config.reward);
        groups[j / config.group].push(Sampled {
            problem: problem.clone(),
            prompt: ByteTokenizer.encode_prompt(&problem.prompt),
            completion,
            reward: r,
            correct: r.correct > 0.0,
        });
    }
    Ok(groups)
}

/// The groups one step samples.
struct StepSamples {
    /// Groups with signal, at most `batch` of them: what the update learns from.
    kept: Vec<Vec<Sampled>>,
    /// The other groups sampled (no signal, or past a full batch).
    unused: Vec<Vec<Sampled>>,
    /// How many groups had equal rewards.
    dropped: usize,
}

/// Samples rounds of problems × `group` completions at `step` until `batch` groups with
/// signal are in hand, or `max_rounds` rounds are spent (dynamic sampling). The first
/// round draws `batch` problems; later ones only as many as the rate of groups with
/// signal so far says the batch still needs, so that few sampled groups go unused.
fn sample_step(model: &TinyReasoner, config: &RlConfig, curriculum: &Curriculum, step: u64) -> Result<StepSamples> {
    let mut samples = StepSamples { kept: Vec::new(), unused: Vec::new(), dropped: 0 };
    for round in 0..config.max_rounds as u64 {
        let (kept, drawn) = (samples.kept.len(), samples.kept.len() + samples.unused.len());
        let size =
            if kept == 0 { config.batch } else { ((config.batch - kept) * drawn).div_ceil(kept).min(config.batch) };
        let problems: Vec<Problem> =
            (0..size as u64).map(|slot| draw_problem(config, curriculum, step, round, slot)).collect::<Result<_>>()?;
        for group in sample_groups(model, config, &problems, step, round)? {
            let rewards: Vec<f32> = group.iter().map(|s| s.reward.total()).collect();
            if no_signal(&rewards) || samples.kept.len() >= config.batch {
                samples.dropped += usize::from(no_signal(&rewards));
                samples.unused.push(group);
            } else {
                samples.kept.push(group);
            }
        }
        if samples.kept.len() >= config.batch {
            break;
        }
    }
    Ok(samples)
}

/// The rollouts of `groups`, with group-relative advantages.
fn rollouts_of(groups: &[Vec<Sampled>], norm: AdvantageNorm) -> Vec<Rollout> {
    groups
        .iter()
        .flat_map(|group| {
            let rewards: Vec<f32> = group.iter().map(|s| s.reward.total()).collect();
            let adv = advantages(&rewards, norm);
            group.iter().zip(adv).map(|(s, a)| Rollout {
                prompt: s.prompt.clone(),
                completion: s.completion.tokens.clone(),
                logprobs: s.completion.logprobs.clone(),
                advantage: a,
            })
        })
        .collect()
}

/// Greedy held-out evaluation: a curve point.
fn evaluate(model: &TinyReasoner, problems: &[Problem], max_new_tokens: usize, state: &RlState) -> Result<CurvePoint> {
    let params = SamplingParams { temperature: 0.0, max_new_tokens, ..SamplingParams::default() };
    let scored = attempt_all(model, problems, 1, &params, 0, 64)?;
    let (mut thinking, mut corrections) = (0usize, 0usize);
    for a in scored.iter().flat_map(|s| &s.attempts) {
        thinking += a.completion.compute.thinking_tokens;
        corrections += usize::from(self_corrections(thinking_text(&a.completion.text)) > 0);
    }
    let pass1 = pass1_by_level(&scored);
    let n = scored.len().max(1) as f64;
    Ok(CurvePoint {
        step: state.step,
        flops: state.sample_flops + state.train_flops,
        seconds: state.seconds,
        mean_pass1: pass1.values().sum::<f64>() / pass1.len().max(1) as f64,
        pass1,
        thinking_tokens: thinking as f64 / n,
        self_correction_rate: corrections as f64 / n,
    })
}

/// The anchor's traces for `step`: a function of the run seed and the step, like the
/// problems RL draws, so a resumed run sees the same ones.
fn anchor_batch(anchor: &AnchorConfig, seed: u64, step: u64, device: &Device) -> Result<Batch> {
    let batch = packed_batch(&anchor.mixture, seed ^ ANCHOR_SEED, step, anchor.rows, anchor.seq_len, device)?;
    if batch.loss_tokens == 0 {
        return Err(Error::Config(format!(
            "the anchor's {}-token rows hold none of its documents: give it shorter levels or longer rows",
            anchor.seq_len
        )));
    }
    Ok(batch)
}

/// Loads the starting policy's weights into a fresh, trainable variable map.
fn load_policy(init: &Path, device: &Device) -> Result<(VarMap, TinyReasoner)> {
    let model_config = read_config(init)?;
    let mut varmap = ponder_model::init_weights(&model_config, 0, device)?;
    let weights = init.join(WEIGHTS_FILE);
    varmap.load(&weights).map_err(|e| Error::Io { path: weights, why: e.to_string() })?;
    let model = TinyReasoner::new(model_config, VarBuilder::from_varmap(&varmap, DType::F32, device))?;
    Ok((varmap, model))
}

/// Starts a fresh RL run in `out` (`resume = false`) or continues the one there from its
/// last checkpoint. `stop_after` ends the run after that step without the final
/// checkpoint, as a kill would (for tests).
pub fn rl(out: &Path, config: Option<RlConfig>, resume: bool, stop_after: Option<u64>) -> Result<RlOutcome> {
    let device = Device::Cpu;
    let run = RunDir::create(out)?;
    let config = match (resume, config) {
        (true, _) => run.read_json::<RlConfig>(RL_CONFIG_NAME)?,
        (false, Some(c)) => c,
        (false, None) => return Err(Error::Config("a new RL run needs a configuration".into())),
    };
    if config.steps.is_none() && config.minutes.is_none() {
        return Err(Error::Config("give a step count or a time budget in minutes".into()));
    }
    if config.sources.iter().all(|(_, levels)| levels.is_empty()) || config.group < 2 || config.batch == 0 {
        return Err(Error::Config("RL needs at least one (family, level), a group of 2 or more and a batch".into()));
    }
    if let Some(a) = &config.anchor {
        let max = read_config(&config.init)?.max_seq_len;
        if !(1..=MAX_ANCHOR_ROWS).contains(&a.rows) || a.seq_len < 32 || a.seq_len > max {
            return Err(Error::Config(format!(
                "the anchor needs 1 to {MAX_ANCHOR_ROWS} rows of 32 to {max} tokens (the model's context), not {} × {}",
                a.rows, a.seq_len
            )));
        }
        anchor_batch(a, config.seed, 0, &device)?;
    }
    run.write_json(RL_CONFIG_NAME, &config)?;

    let (mut varmap, model) = load_policy(&config.init, &device)?;
    let reference = if config.kl_beta > 0.0 { Some(TinyReasoner::load(&config.init, &device)?) } else { None };
    let model_config = model.config().clone();
    let mut optimizer = AdamW::for_varmap(&varmap, config.optimizer.clone())?;
    let mut anchor_optimizer = match &config.anchor {
        Some(AnchorConfig { moments: AnchorMoments::Own, .. }) => {
            Some(AdamW::for_varmap(&varmap, AdamWConfig { weight_decay: 0.0, ..config.optimizer.clone() })?)
        }
        _ => None,
    };
    let mut state = RlState {
        step: 0,
        sample_flops: 0.0,
        train_flops: 0.0,
        seconds: 0.0,
        curriculum: Curriculum::new(&config.sources),
        curve: Vec::new(),
    };
    if resume {
        match run.latest_checkpoint::<RlState>()? {
            Some((dir, saved)) => {
                let mut optimizers = vec![(OPTIMIZER, &mut optimizer)];
                optimizers.extend(anchor_optimizer.as_mut().map(|a| (ANCHOR_OPTIMIZER, a)));
                RunDir::restore(&dir, &mut varmap, &mut optimizers)?;
                state = saved;
                run.truncate_log_after(state.step)?;
            }
            None => run.truncate_log_after(0)?,
        }
    } else {
        let _ = std::fs::remove_file(run.log_path());
    }

    let heldout = heldout_set(&config.evaluated_pairs(), config.eval_per_level)?;
    let settings = UpdateSettings {
        clip: config.clip,
        aggregation: config.aggregation,
        kl_beta: config.kl_beta,
        temperature: config.temperature,
    };
    let deadline = config.minutes.map(|m| m * 60.0);
    let bar = ProgressBar::new(config.steps.unwrap_or(0));
    let template = if config.steps.is_some() {
        "rl {bar:30} {pos}/{len} steps  {msg}  [{elapsed_precise}, ETA {eta}]"
    } else {
        "rl step {pos}  {msg}  [{elapsed_precise}]"
    };
    bar.set_style(ProgressStyle::with_template(template).map_err(|e| Error::Config(e.to_string()))?);
    bar.set_position(state.step);

    loop {
        if is_curve_step(state.step) && state.curve.last().is_none_or(|p| p.step < state.step) {
            let point = evaluate(&model, &heldout, config.max_new_tokens, &state)?;
            bar.println(format!(
                "step {:>5}  {:.3e} FLOPs  held-out pass@1 {:.1}%",
                point.step,
                point.flops,
                point.mean_pass1 * 100.0
            ));
            state.curve.push(point);
            run.write_json(CURVE_NAME, &state.curve)?;
            keep_curve_weights(out, state.step, &model_config, &varmap)?;
        }
        let out_of_time = deadline.is_some_and(|d| state.seconds >= d);
        if config.steps.is_some_and(|n| state.step >= n) || (config.steps.is_none() && out_of_time) {
            break;
        }
        let started = Instant::now();

        // 1. Sample: rounds of `batch` problems × `group` completions until `batch`
        //    groups with signal are in hand (dynamic sampling).
        let StepSamples { kept, unused, dropped } = sample_step(&model, &config, &state.curriculum, state.step)?;
        let sample_seconds = started.elapsed().as_secs_f64();
        state.sample_flops += kept.iter().chain(&unused).flatten().map(|s| s.completion.compute.flops).sum::<f64>();
        // 2. Curriculum: every sampled group at a family's current level counts.
        for group in kept.iter().chain(&unused) {
            let p = &group[0].problem;
            let accuracy = group.iter().filter(|s| s.correct).count() as f32 / group.len() as f32;
            if let Some(level) = state.curriculum.record(p.family(), p.difficulty, accuracy, &config.curriculum) {
                bar.println(format!("step {:>5}  curriculum: {} moves up to level {level}", state.step, p.family()));
            }
        }
        // 3. Advantages and the update.
        let rollouts = rollouts_of(&kept, config.advantage);
        let lr = learning_rate(&config, state.step, state.seconds);
        let anchor_batch = match &config.anchor {
            Some(a) => Some(anchor_batch(a, config.seed, state.step, &device)?),
            None => None,
        };
        let mut stats = UpdateStats::default();
        let updating = Instant::now();
        for update in 0..config.updates_per_batch {
            let anchor = config.anchor.as_ref().zip(anchor_batch.as_ref()).map(|(a, batch)| Anchor {
                batch,
                coef: a.coef,
                optimizer: anchor_optimizer.as_mut(),
            });
            let s = policy_update(&model, reference.as_ref(), &mut optimizer, &rollouts, settings, lr, anchor)?;
            if !s.loss.is_finite() || !s.anchor_loss.is_finite() {
                return Err(Error::Config(format!(
                    "RL loss became {} (anchor {}) at step {}: lower the learning rate",
                    s.loss, s.anchor_loss, state.step
                )));
            }
            let passes = if reference.is_some() { 4.0 } else { 3.0 };
            state.train_flops += passes * model_config.flops_per_token(s.context.round() as usize) * s.tokens as f64;
            if let Some(a) = &config.anchor {
                state.train_flops += 3.0 * model_config.flops_per_token(a.seq_len / 2) * s.anchor_tokens as f64;
            }
            // Entropy and ratio agreement are read on the first update (the sampling policy);
            // clipping only happens on later ones, so their clip and KL figures are kept.
            if update == 0 {
                stats = s;
            } else {
                stats.loss_stats = s.loss_stats;
            }
        }
        let update_seconds = updating.elapsed().as_secs_f64();
        state.step += 1;
        state.seconds += started.elapsed().as_secs_f64();

        // 4. Log.
        let samples: Vec<&Sampled> = kept.iter().chain(&unused).flatten().collect();
        let n = samples.len().max(1) as f64;
        let mean = |f: &dyn Fn(&Sampled) -> f64| samples.iter().map(|s| f(s)).sum::<f64>() / n;
        let entry = RlLogEntry {
            step: state.step,
            reward: mean(&|s| s.reward.total() as f64),
            reward_correct: mean(&|s| s.reward.correct as f64),
            accuracy_by_level: accuracy_by_level(&samples),
            reward_format: mean(&|s| s.reward.format as f64),
            reward_overlong: mean(&|s| s.reward.overlong as f64),
            mean_length: mean(&|s| s.completion.tokens.len() as f64),
            max_length: samples.iter().map(|s| s.completion.tokens.len()).max().unwrap_or(0),
            thinking_tokens: mean(&|s| s.completion.compute.thinking_tokens as f64),
            dropped_groups: dropped as f64 / (kept.len() + unused.len()).max(1) as f64,
            groups_used: kept.len(),
            entropy: stats.entropy,
            clip_fraction: stats.loss_stats.clip_fraction,
            kl: stats.loss_stats.kl,
            ratio_error: stats.ratio_error,
            grad_norm: stats.grad_norm,
            anchor_loss: stats.anchor_loss,
            self_correction_rate: mean(&|s| {
                f64::from(u8::from(self_corrections(thinking_text(&s.completion.text)) > 0))
            }),
            levels: state.curriculum.levels(),
            lr,
            flops: state.sample_flops + state.train_flops,
            seconds: state.seconds,
            sample_seconds,
            update_seconds,
        };
        run.log(&entry)?;
        bar.set_position(state.step);
        bar.set_message(format!(
            "reward {:.3} | acc {:.0}% | len {:.0} | dropped {:.0}% | H {:.2}",
            entry.reward,
            entry.reward_correct * 100.0,
            entry.mean_length,
            entry.dropped_groups * 100.0,
            entry.entropy
        ));
        if stop_after == Some(state.step) {
            bar.abandon();
            return Ok(RlOutcome { config, state });
        }
        let finished = config.steps.is_some_and(|n| state.step >= n);
        if state.step.is_multiple_of(config.checkpoint_every) || finished {
            run.save_checkpoint(
                &model_config,
                &varmap,
                &optimizers(&optimizer, &anchor_optimizer),
                state.step,
                &state,
            )?;
        }
    }
    // The final point of the curve, when the last step was not a curve step.
    if state.curve.last().is_none_or(|p| p.step < state.step) {
        let point = evaluate(&model, &heldout, config.max_new_tokens, &state)?;
        state.curve.push(point);
        run.write_json(CURVE_NAME, &state.curve)?;
        keep_curve_weights(out, state.step, &model_config, &varmap)?;
    }
    run.save_checkpoint(&model_config, &varmap, &optimizers(&optimizer, &anchor_optimizer), state.step, &state)?;
    bar.finish();
    Ok(RlOutcome { config, state })
}

/// The optimizers a checkpoint keeps, by file stem: the policy's, and the anchor's own.
fn optimizers<'a>(policy: &'a AdamW, anchor: &'a Option<AdamW>) -> Vec<(&'static str, &'a AdamW)> {
    std::iter::once((OPTIMIZER, policy)).chain(anchor.as_ref().map(|a| (ANCHOR_OPTIMIZER, a))).collect()
}

/// Saves the policy evaluated at curve point `step` under [`CURVE_MODELS_DIR`] (weights
/// only: a few MB for the tiny reasoner).
fn keep_curve_weights(out: &Path, step: u64, config: &TinyConfig, varmap: &VarMap) -> Result<()> {
    Ok(ponder_model::save_weights(&out.join(CURVE_MODELS_DIR).join(format!("step-{step:06}")), config, varmap)?)
}

/// The gradient noise scale of an RL run's updates at its starting policy (see
/// [`crate::noise`]), and of its anchor's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseReport {
    /// The policy gradient's, in groups with signal.
    pub policy: NoiseScale,
    /// The anchor's, in packed rows (when the run has an anchor).
    pub anchor: Option<NoiseScale>,
    /// Cosine similarity of the mean policy gradient and the mean anchor gradient (× its
    /// coefficient): below 0 the anchor pulls against RL.
    pub policy_anchor_cosine: Option<f64>,
    /// Sampled accuracy over the measured batches.
    pub sampled_accuracy: f64,
}

/// Measures, at `config`'s starting policy, how much of an update's gradient is signal:
/// samples `batches` independent batches as step 0 would (dynamic sampling included),
/// takes each one's policy gradient and, with an anchor, each anchor batch's gradient,
/// and returns their noise scales. Nothing is trained.
pub fn measure_noise(config: &RlConfig, batches: usize) -> Result<NoiseReport> {
    let device = Device::Cpu;
    let (varmap, model) = load_policy(&config.init, &device)?;
    let optimizer = AdamW::for_varmap(&varmap, config.optimizer.clone())?;
    let curriculum = Curriculum::new(&config.sources);
    let settings = UpdateSettings {
        clip: config.clip,
        aggregation: config.aggregation,
        kl_beta: 0.0,
        temperature: config.temperature,
    };
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("noise scale {bar:30} {pos}/{len} batches [{elapsed_precise}, ETA {eta}]")
            .map_err(|e| Error::Config(e.to_string()))?,
    );
    let (mut policy, mut anchor, mut groups) = (Vec::new(), Vec::new(), 0usize);
    let (mut right, mut sampled) = (0usize, 0usize);
    for b in 0..batches as u64 {
        // Distinct step numbers give independent problems and samples from one policy.
        let samples = sample_step(&model, config, &curriculum, b)?;
        for s in samples.kept.iter().chain(&samples.unused).flatten() {
            right += usize::from(s.correct);
            sampled += 1;
        }
        if samples.kept.is_empty() {
            return Err(Error::Config(format!(
                "batch {b} had no group with signal: every group was all right or all wrong"
            )));
        }
        groups += samples.kept.len();
        let rollouts = rollouts_of(&samples.kept, config.advantage);
        policy.push(optimizer.flatten(&crate::rollout::policy_gradient(&model, &optimizer, &rollouts, settings)?)?);
        if let Some(a) = &config.anchor {
            let batch = anchor_batch(a, config.seed, b, &device)?;
            let (_, grads) = crate::rollout::anchor_gradient(&model, &optimizer, &batch, a.coef)?;
            anchor.push(optimizer.flatten(&grads)?);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let policy_scale = crate::noise::noise_scale(&policy, groups as f64 / batches as f64)?;
    let (anchor_scale, policy_anchor_cosine) = match &config.anchor {
        Some(a) => (
            Some(crate::noise::noise_scale(&anchor, a.rows as f64)?),
            Some(crate::noise::cosine(&crate::noise::mean(&policy), &crate::noise::mean(&anchor))),
        ),
        None => (None, None),
    };
    Ok(NoiseReport {
        policy: policy_scale,
        anchor: anchor_scale,
        policy_anchor_cosine,
        sampled_accuracy: right as f64 / sampled.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_learning_rate_warms_up_holds_and_decays_over_the_last_part() {
        let mut config = RlConfig::new(PathBuf::from("x"));
        (config.optimizer.lr, config.warmup_steps, config.steps, config.minutes) = (1e-3, 5, Some(100), None);
        config.decay_last = 0.0;
        assert!((learning_rate(&config, 0, 0.0) - 2e-4).abs() < 1e-12); // 1 of 5 warmup steps
        assert_eq!(learning_rate(&config, 90, 0.0), 1e-3); // constant without decay
        config.decay_last = 0.25;
        assert_eq!(learning_rate(&config, 50, 0.0), 1e-3); // before the last quarter
        assert_eq!(learning_rate(&config, 75, 0.0), 1e-3);
        assert!((learning_rate(&config, 90, 0.0) - 0.4e-3).abs() < 1e-12); // 10 steps left of 25
        assert_eq!(learning_rate(&config, 100, 0.0), 0.0);
        // A time budget: progress is the share of its minutes spent.
        (config.steps, config.minutes) = (None, Some(10.0));
        assert!((learning_rate(&config, 40, 540.0) - 0.4e-3).abs() < 1e-12); // 1 minute left of 2.5
        assert_eq!(learning_rate(&config, 40, 60.0), 1e-3);
    }

    #[test]
    fn a_config_saved_before_the_decay_existed_resumes_at_a_constant_rate() {
        let config = RlConfig::new(PathBuf::from("x"));
        assert_eq!(config.decay_last, 0.33);
        let mut saved = serde_json::to_value(&config).expect("serialize");
        saved.as_object_mut().expect("an object").remove("decay_last");
        let read: RlConfig = serde_json::from_value(saved).expect("an older rl.json still reads");
        assert_eq!(read.decay_last, 0.0);
    }
}
