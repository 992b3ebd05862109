//! RL behaviour: GRPO raises the reward of a trivially learnable task in seconds; groups
//! with equal rewards are dropped (no update); a killed RL run resumes identically; the
//! run writes its log and its train-time curve.

mod common;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use ponder_model::{generate, init_weights, special, Preset, SamplingParams, TinyConfig, TinyReasoner, WEIGHTS_FILE};
use ponder_tasks::Family;
use ponder_train::data::packed_batch;
use ponder_train::grpo::{advantages, AdvantageNorm, Clip, LossAggregation};
use ponder_train::optim::{AdamW, AdamWConfig};
use ponder_train::rollout::{anchor_gradient, Anchor};
use ponder_train::rollout::{policy_update, Rollout, UpdateSettings};
use ponder_train::{
    is_curve_step, measure_noise, pretrain, rl, AnchorConfig, AnchorMoments, CurvePoint, RlConfig, RlLogEntry,
    CURVE_MODELS_DIR,
};

fn tiny(max_seq_len: usize) -> TinyConfig {
    TinyConfig {
        d_model: 32,
        n_layers: 1,
        n_heads: 2,
        n_kv_heads: 2,
        d_ff: 64,
        max_seq_len,
        ..TinyConfig::preset(Preset::Nano)
    }
}

/// A trainable `tiny(max_seq_len)` model seeded by `seed`, its AdamW at `lr`, and the
/// token-mean update settings without KL.
fn trainable(max_seq_len: usize, seed: u64, lr: f64) -> (TinyReasoner, AdamW, UpdateSettings) {
    let device = Device::Cpu;
    let config = tiny(max_seq_len);
    let varmap = init_weights(&config, seed, &device).expect("init");
    let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F32, &device)).expect("model");
    let adamw = AdamWConfig { lr, weight_decay: 0.0, ..AdamWConfig::default() };
    let optimizer = AdamW::for_varmap(&varmap, adamw).expect("optimizer");
    (model, optimizer, token_mean())
}

/// Token-mean update settings without KL, at temperature 1.
fn token_mean() -> UpdateSettings {
    UpdateSettings { clip: Clip::default(), aggregation: LossAggregation::TokenMean, kl_beta: 0.0, temperature: 1.0 }
}

/// The task: write lowercase letters. Reward = share of the 4 sampled tokens that are
/// `a`..=`z` (about 10% for a random model). GRPO must push it up within 30 steps.
#[test]
fn grpo_raises_the_reward_of_a_trivially_learnable_task() {
    let (model, mut optimizer, settings) = trainable(16, 3, 2e-2);
    let params = SamplingParams { temperature: 1.0, max_new_tokens: 4, ..SamplingParams::default() };
    let (groups, group) = (16usize, 8usize);
    let mut rewards_per_step = Vec::new();
    for step in 0..30u64 {
        let prompts = vec![vec![special::BOS, u32::from(b'x')]; groups * group];
        let seeds: Vec<u64> = (0..prompts.len() as u64).map(|i| step * 1000 + i).collect();
        let generated = generate(&model, &prompts, &seeds, &params, |_, _| {}).expect("generate");
        let rewards: Vec<f32> = generated
            .iter()
            .map(|g| {
                g.tokens.iter().filter(|&&t| (u32::from(b'a')..=u32::from(b'z')).contains(&t)).count() as f32 / 4.0
            })
            .collect();
        rewards_per_step.push(rewards.iter().sum::<f32>() / rewards.len() as f32);
        let mut rollouts = Vec::new();
        for (chunk, gens) in rewards.chunks(group).zip(generated.chunks(group)) {
            for (g, a) in gens.iter().zip(advantages(chunk, AdvantageNorm::GroupStd)) {
                rollouts.push(Rollout {
                    prompt: prompts[0].clone(),
                    completion: g.tokens.clone(),
                    logprobs: g.logprobs.clone(),
                    advantage: a,
                });
            }
        }
        let stats = policy_update(&model, None, &mut optimizer, &rollouts, settings, 2e-2, None).expect("update");
        // Sampling and training compute the same log-probabilities (the ratio starts at 1).
        assert!(stats.ratio_error < 1e-3, "ratio error {}", stats.ratio_error);
    }
    let first: f32 = rewards_per_step[..3].iter().sum::<f32>() / 3.0;
    let last: f32 = rewards_per_step[27..].iter().sum::<f32>() / 3.0;
    assert!(last > first + 0.3, "reward went from {first:.3} to {last:.3}: {rewards_per_step:?}");
}

/// RL trains the tempered policy: the log-probs recorded while sampling at temperature T
/// are those the update recomputes at T (its ratio starts at 1), not the model's own.
#[test]
fn tempered_sampling_and_the_update_agree_on_log_probs() {
    let (model, mut optimizer, mut settings) = trainable(16, 4, 0.0);
    let params =
        SamplingParams { temperature: 0.5, max_new_tokens: 6, tempered_logprobs: true, ..SamplingParams::default() };
    let prompts = vec![vec![special::BOS, u32::from(b'x')]; 8];
    let seeds: Vec<u64> = (0..8).collect();
    let generated = generate(&model, &prompts, &seeds, &params, |_, _| {}).expect("generate");
    let rollouts: Vec<Rollout> = generated
        .iter()
        .enumerate()
        .map(|(i, g)| Rollout {
            prompt: prompts[0].clone(),
            completion: g.tokens.clone(),
            logprobs: g.logprobs.clone(),
            advantage: if i % 2 == 0 { 0.5 } else { -0.5 },
        })
        .collect();
    // At learning rate 0 the weights stay put, so both updates see the same model.
    settings.temperature = 1.0;
    let untempered = policy_update(&model, None, &mut optimizer, &rollouts, settings, 0.0, None).expect("update");
    settings.temperature = 0.5;
    let tempered = policy_update(&model, None, &mut optimizer, &rollouts, settings, 0.0, None).expect("update");
    assert!(tempered.ratio_error < 1e-4, "tempered ratio error {}", tempered.ratio_error);
    assert!(untempered.ratio_error > 100.0 * tempered.ratio_error.max(1e-6), "untempered {}", untempered.ratio_error);
}

/// With rollouts that carry no advantage, an update is the anchor's alone: it must lower
/// the cross-entropy of the anchor's traces, step after step.
#[test]
fn the_supervised_anchor_lowers_the_trace_loss() {
    let (model, mut optimizer, settings) = trainable(384, 5, 1e-2);
    let batch = packed_batch(&common::count_level_1(), 0, 0, 2, 384, &Device::Cpu).expect("traces");
    assert!(batch.loss_tokens > 200);
    let rollouts = vec![Rollout {
        prompt: vec![special::BOS, u32::from(b'x')],
        completion: vec![u32::from(b'y'), special::EOS],
        logprobs: vec![-5.0, -5.0],
        advantage: 0.0,
    }];
    let mut losses = Vec::new();
    for _ in 0..8 {
        let anchor = Some(Anchor { batch: &batch, coef: 1.0, optimizer: None });
        let stats = policy_update(&model, None, &mut optimizer, &rollouts, settings, 1e-2, anchor).expect("update");
        assert_eq!(stats.anchor_tokens, 2 * 384);
        losses.push(stats.anchor_loss);
    }
    assert!(losses[7] < losses[0] - 0.5, "anchor loss {losses:?}");
}

/// AdamW's first step moves each weight by the learning rate times the sign of its
/// gradient. With its own moments the anchor's first step is therefore `coef` × the rate on
/// every weight it touches, while added to the policy gradient it takes the whole rate: its
/// weight sets its pull only when it has moments of its own.
#[test]
fn an_anchor_with_its_own_moments_steps_at_its_weight_times_the_rate() {
    let device = Device::Cpu;
    let batch = packed_batch(&common::count_level_1(), 0, 0, 2, 256, &device).expect("traces");
    // No advantage: the policy gradient is zero, so every move is the anchor's.
    let rollouts = vec![Rollout {
        prompt: vec![special::BOS, u32::from(b'x')],
        completion: vec![u32::from(b'y'), special::EOS],
        logprobs: vec![-5.0, -5.0],
        advantage: 0.0,
    }];
    let largest_move = |own_moments: bool| -> f32 {
        let varmap = init_weights(&tiny(256), 5, &device).expect("init");
        let model = TinyReasoner::new(tiny(256), VarBuilder::from_varmap(&varmap, DType::F32, &device)).expect("model");
        let adamw = AdamWConfig { weight_decay: 0.0, grad_clip: 0.0, ..AdamWConfig::default() };
        let mut policy = AdamW::for_varmap(&varmap, adamw.clone()).expect("optimizer");
        let mut own = AdamW::for_varmap(&varmap, adamw).expect("optimizer");
        let weights = || -> Vec<Vec<f32>> {
            varmap
                .all_vars()
                .iter()
                .map(|v| v.as_tensor().flatten_all().and_then(|t| t.to_vec1()).expect("w"))
                .collect()
        };
        let before = weights();
        let anchor = Anchor { batch: &batch, coef: 0.25, optimizer: own_moments.then_some(&mut own) };
        policy_update(&model, None, &mut policy, &rollouts, token_mean(), 1e-2, Some(anchor)).expect("update");
        let after = weights();
        before.iter().zip(&after).flat_map(|(b, a)| b.iter().zip(a).map(|(x, y)| (x - y).abs())).fold(0.0, f32::max)
    };
    let (own, shared) = (largest_move(true), largest_move(false));
    assert!((own - 0.25e-2).abs() < 1e-5, "own moments moved a weight by {own}");
    assert!((shared - 1e-2).abs() < 1e-5, "shared moments moved a weight by {shared}");
}

/// A count-only model pretrained for a few seconds, saved in `dir/model`.
fn pretrained(dir: &std::path::Path) {
    let mut config = common::quick_config(40);
    config.eval_per_level = 0;
    config.checkpoint_every = 1000;
    pretrain(dir, Some(config), false, None).expect("pretrain");
}

fn rl_config(init: &std::path::Path, steps: u64) -> RlConfig {
    let mut config = RlConfig::new(init.join("model"));
    config.sources = vec![(Family::Count, vec![1, 2])];
    config.group = 4;
    config.batch = 4;
    config.max_rounds = 2;
    config.steps = Some(steps);
    config.minutes = None;
    config.max_new_tokens = 96;
    config.eval_per_level = 4;
    config.checkpoint_every = 2;
    config.updates_per_batch = 2;
    // A supervised anchor on count level 1 with its own optimizer, so resuming covers its
    // data stream and its moments too.
    config.anchor = Some(AnchorConfig {
        mixture: common::count_level_1(),
        coef: 0.5,
        rows: 1,
        seq_len: 256,
        moments: AnchorMoments::Own,
    });
    config
}

fn log_entries(dir: &std::path::Path) -> Vec<RlLogEntry> {
    std::fs::read_to_string(dir.join("log.jsonl"))
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("log line"))
        .collect()
}

#[test]
fn a_killed_rl_run_resumes_identically_and_writes_its_curve() {
    let base = tempfile::tempdir().expect("tempdir");
    pretrained(base.path());

    let straight = tempfile::tempdir().expect("tempdir");
    let outcome = rl(straight.path(), Some(rl_config(base.path(), 5)), false, None).expect("straight run");
    assert_eq!(outcome.state.step, 5);

    let killed = tempfile::tempdir().expect("tempdir");
    // Killed after step 3: the last checkpoint is step 2; step 3 is redone on resume.
    rl(killed.path(), Some(rl_config(base.path(), 5)), false, Some(3)).expect("first part");
    rl(killed.path(), None, true, None).expect("resumed");

    let read = |d: &std::path::Path| std::fs::read(d.join("model").join(WEIGHTS_FILE)).expect("weights");
    assert_eq!(read(straight.path()), read(killed.path()), "resumed weights differ");
    let (a, b) = (log_entries(straight.path()), log_entries(killed.path()));
    assert_eq!(a.len(), 5);
    assert_eq!(b.len(), 5);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.step, x.reward, x.groups_used, x.entropy, x.anchor_loss, &x.accuracy_by_level),
            (y.step, y.reward, y.groups_used, y.entropy, y.anchor_loss, &y.accuracy_by_level)
        );
    }
    let mut before = 0.0;
    for e in &a {
        assert!((0.0..=1.0).contains(&e.dropped_groups) && e.groups_used <= 4, "{e:?}");
        assert!(e.flops > 0.0 && e.entropy > 0.0);
        // The step's time is split into sampling and updates, within the step's whole time.
        assert!(e.sample_seconds > 0.0 && (e.groups_used == 0 || e.update_seconds > 0.0), "{e:?}");
        assert!(e.sample_seconds + e.update_seconds <= e.seconds - before + 1e-6, "{e:?}");
        before = e.seconds;
        // Sampled accuracy per drawn level: only the trained levels, and they average to the whole.
        let levels = &e.accuracy_by_level;
        assert!(!levels.is_empty() && levels.keys().all(|k| k == "count/1" || k == "count/2"), "{e:?}");
        let (low, high) = levels.values().fold((1.0f64, 0.0f64), |(l, h), &a| (l.min(a), h.max(a)));
        assert!(low - 1e-9 <= e.reward_correct && e.reward_correct <= high + 1e-9, "{e:?}");
        // Every step with an update also took the anchor's step.
        assert!(e.groups_used == 0 || e.anchor_loss > 0.0, "{e:?}");
    }

    // The curve: steps 0, 1, 2, 3, 4 and the final 5, with compute growing.
    let curve: Vec<CurvePoint> =
        serde_json::from_str(&std::fs::read_to_string(straight.path().join("curve.json")).expect("curve"))
            .expect("json");
    let steps: Vec<u64> = curve.iter().map(|p| p.step).collect();
    assert_eq!(steps, [0, 1, 2, 3, 4, 5]);
    assert!(curve.windows(2).all(|w| w[1].flops > w[0].flops));
    assert!(curve[0].pass1.contains_key("count/1") && curve[0].pass1.contains_key("count/2"));
    // Every curve point's weights are kept; the last is the final model, the first the start.
    let kept = |d: &std::path::Path, step: u64| {
        std::fs::read(d.join(CURVE_MODELS_DIR).join(format!("step-{step:06}")).join(WEIGHTS_FILE))
            .expect("kept weights")
    };
    for run in [straight.path(), killed.path()] {
        for step in &steps {
            kept(run, *step);
        }
        assert_eq!(kept(run, 5), read(run));
        assert_eq!(kept(run, 0), std::fs::read(base.path().join("model").join(WEIGHTS_FILE)).expect("start"));
    }
}

#[test]
fn the_curve_is_evaluated_every_half_octave() {
    let steps: Vec<u64> = (0..=100).filter(|&s| is_curve_step(s)).collect();
    assert_eq!(steps, [0, 1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91]);
}

/// A random model never answers right; without shaping terms every reward is 0, so every
/// group is dropped and the weights do not move.
#[test]
fn groups_with_equal_rewards_are_dropped() {
    let base = tempfile::tempdir().expect("tempdir");
    let device = Device::Cpu;
    let config = tiny(256);
    let varmap = init_weights(&config, 5, &device).expect("init");
    ponder_model::save_weights(&base.path().join("model"), &config, &varmap).expect("save");

    let out = tempfile::tempdir().expect("tempdir");
    let mut rl_cfg = rl_config(base.path(), 2);
    rl_cfg.max_new_tokens = 24;
    rl_cfg.reward.format_bonus = 0.0;
    rl_cfg.reward.overlong_penalty = 0.0;
    rl(out.path(), Some(rl_cfg), false, None).expect("run");
    for e in log_entries(out.path()) {
        assert_eq!(e.groups_used, 0, "{e:?}");
        assert_eq!(e.dropped_groups, 1.0, "{e:?}");
        assert_eq!(e.reward, 0.0, "{e:?}");
    }
    let read = |d: &std::path::Path| std::fs::read(d.join("model").join(WEIGHTS_FILE)).expect("weights");
    assert_eq!(read(base.path()), read(out.path()), "weights moved without signal");
}

/// The noise-scale measurement of a run's updates: independent batches from the starting
/// policy, policy and anchor gradients.
#[test]
fn the_noise_scale_of_an_rl_run_is_measured() {
    let base = tempfile::tempdir().expect("tempdir");
    pretrained(base.path());
    let mut config = rl_config(base.path(), 1);
    config.max_rounds = 4;
    let report = measure_noise(&config, 3).expect("measure");
    let p = report.policy;
    assert_eq!(p.batches, 3);
    assert!(p.batch_size > 0.0 && p.batch_size <= 4.0, "{p:?}");
    assert!(p.noise > 0.0 && p.signal.is_finite() && p.mean_norm > 0.0, "{p:?}");
    assert!((-1.0..=1.0).contains(&p.cosine), "{p:?}");
    let a = report.anchor.expect("the run has an anchor");
    assert_eq!(a.batch_size, 1.0);
    assert!(a.noise > 0.0 && a.mean_norm > 0.0, "{a:?}");
    assert!(report.policy_anchor_cosine.is_some_and(|c| (-1.0..=1.0).contains(&c)));
    assert!((0.0..=1.0).contains(&report.sampled_accuracy));
}

/// The anchor runs in micro-batches of rows; their weighted gradients add up to the
/// gradient of the whole batch's mean loss, times the anchor's weight.
#[test]
fn the_anchor_in_micro_batches_gives_the_whole_batch_gradient() {
    let device = Device::Cpu;
    let varmap = init_weights(&tiny(256), 9, &device).expect("init");
    let model = TinyReasoner::new(tiny(256), VarBuilder::from_varmap(&varmap, DType::F32, &device)).expect("model");
    let optimizer = AdamW::for_varmap(&varmap, AdamWConfig::default()).expect("optimizer");
    let batch = packed_batch(&common::count_level_1(), 0, 0, 11, 256, &device).expect("traces");
    let (loss, chunked) = anchor_gradient(&model, &optimizer, &batch, 0.5).expect("chunked");
    let whole = ponder_train::completion_loss(&model, &batch).expect("loss");
    assert!((loss - whole.to_scalar::<f32>().expect("scalar") as f64).abs() < 1e-5);
    let whole = whole.affine(0.5, 0.0).and_then(|l| l.backward()).expect("backward");
    let (mut compared, mut largest) = (0, 0f32);
    for var in varmap.all_vars() {
        let (Some(a), Some(b)) = (chunked.get(var.as_tensor()), whole.get(var.as_tensor())) else { continue };
        let diff = (a - b).and_then(|d| d.abs()).and_then(|d| d.max_all()).and_then(|d| d.to_scalar::<f32>());
        largest = largest.max(diff.expect("diff"));
        compared += 1;
    }
    assert!(compared > 0, "no gradient compared");
    assert!(largest < 1e-5, "chunked and whole anchor gradients differ by {largest}");
}
