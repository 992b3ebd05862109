//! Rollouts (a prompt, one sampled completion, its reward and advantage) and the policy
//! update on a batch of them: forward the sequences, recompute each completion token's
//! log-probability, and take one clipped policy-gradient step.

use candle_core::{Tensor, D};
use ponder_model::{special, Document, DocumentMask, TinyReasoner};

use crate::data::Batch;
use crate::grpo::{policy_loss, token_weights, Clip, LossAggregation, LossStats, PolicyTerms};
use crate::optim::AdamW;
use crate::pretrain::completion_loss;
use crate::Result;

/// One sampled completion, ready to learn from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// The prompt's tokens (from `ByteTokenizer::encode_prompt`).
    pub prompt: Vec<u32>,
    /// The sampled completion's tokens.
    pub completion: Vec<u32>,
    /// log π_old of every completion token, as recorded while sampling.
    pub logprobs: Vec<f32>,
    /// The group-relative advantage of this completion.
    pub advantage: f32,
}

/// How the policy update is done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateSettings {
    /// Ratio clipping.
    pub clip: Clip,
    /// Loss averaging.
    pub aggregation: LossAggregation,
    /// KL coefficient β toward the reference model (used only when a reference is given).
    pub kl_beta: f64,
    /// The temperature of the policy being trained: its log-probs are those of the model's
    /// logits / temperature (1: the model itself). Rollouts sampled at this temperature,
    /// with log-probs recorded at it, make the update exactly on-policy; greedy decoding is
    /// the same at every temperature.
    pub temperature: f32,
}

/// A supervised term added to a policy update: the pretraining loss on a packed batch of
/// solver traces, times `coef` (the "PPO-ptx" anchor of InstructGPT). It holds the skills
/// the traces teach while RL moves the policy elsewhere.
pub struct Anchor<'a> {
    /// Packed traces (see [`crate::data::packed_batch`]).
    pub batch: &'a Batch,
    /// Weight of the traces' mean cross-entropy against the policy loss.
    pub coef: f64,
    /// The anchor's own AdamW, or `None` to add its gradient to the policy's (one step).
    /// With its own moments the anchor takes a second step, at `coef` × the learning rate,
    /// so its gradients do not enter the moments that scale RL's step on every weight.
    pub optimizer: Option<&'a mut AdamW>,
}

/// What one update measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateStats {
    /// The loss value.
    pub loss: f64,
    /// Mean entropy (nats) of the policy over completion positions.
    pub entropy: f64,
    /// Ratio clipping and KL statistics.
    pub loss_stats: LossStats,
    /// Mean |π_θ/π_old − 1| over completion tokens before the step: ~0 on the first
    /// update of a batch, when sampling and training agree (a numerical sanity check).
    pub ratio_error: f64,
    /// Norm of the gradient the policy's AdamW steps on, before clipping (the anchor's
    /// included when it shares the policy's moments).
    pub grad_norm: f64,
    /// Sequence positions of rollouts processed, padding included (for FLOP accounting).
    pub tokens: usize,
    /// Mean number of keys a rollout position attends to (for FLOP accounting): a
    /// completion token sees its prompt and the completion before it.
    pub context: f64,
    /// Sequence positions of the anchor's traces processed (for FLOP accounting).
    pub anchor_tokens: usize,
    /// The anchor's cross-entropy on its traces (0 without an anchor).
    pub anchor_loss: f64,
}

/// Most sequence positions forwarded at once: the (n, heads, len, len) attention scores of
/// a whole RL batch do not fit in memory (128 sequences of 560 tokens took 24 GB), so the
/// update runs over micro-batches of similar lengths and accumulates their gradients.
const MICRO_BATCH_TOKENS: usize = 4096;

/// Rollouts as right-padded rows, one row per prompt: tensors are (n, len). A row holds
/// its prompt once, less the last token, and then each completion led by that token, as a
/// document that continues the prompt's (see [`DocumentMask::from_documents`]): a group of
/// G completions forwards its prompt once instead of G times, and every completion token
/// sees what it saw when sampled.
struct PolicyBatch {
    inputs: Tensor,
    targets: Tensor,
    documents: DocumentMask,
    old_logp: Tensor,
    advantages: Tensor,
    weights: Tensor,
    completion_mask: Tensor,
}

/// The positions of a row holding `members` (rollouts of one prompt).
fn row_len(members: &[&Rollout]) -> usize {
    let shared = members.first().map_or(0, |r| r.prompt.len().saturating_sub(1));
    shared + members.iter().map(|r| r.completion.len()).sum::<usize>()
}

/// The keys the positions of a row holding `members` attend to, summed: the shared prompt
/// position `i` sees `i + 1`, a completion's `j`-th position the shared prompt and `j + 1`.
fn row_attention(members: &[&Rollout]) -> usize {
    let shared = members.first().map_or(0, |r| r.prompt.len().saturating_sub(1));
    let triangle = |n: usize| n * (n + 1) / 2;
    triangle(shared) + members.iter().map(|r| r.completion.len() * shared + triangle(r.completion.len())).sum::<usize>()
}

/// The batch of `rows` (each the rollouts of one prompt), whose completion tokens weigh
/// `weights[row][member]` in the loss.
fn policy_batch(
    rows: &[Vec<&Rollout>],
    weights: &[Vec<&Vec<f32>>],
    device: &candle_core::Device,
) -> Result<PolicyBatch> {
    let n = rows.len();
    let len = rows.iter().map(|members| row_len(members)).max().unwrap_or(1).max(1);
    let mut inputs = vec![special::PAD; n * len];
    let mut targets = vec![special::PAD; n * len];
    let mut old = vec![0f32; n * len];
    let mut adv = vec![0f32; n * len];
    let mut token_weights = vec![0f32; n * len];
    let mut completion = vec![0f32; n * len];
    let mut documents = Vec::with_capacity(n);
    for (i, members) in rows.iter().enumerate() {
        let prompt = &members[0].prompt;
        let Some((&last, shared)) = prompt.split_last() else {
            return Err(crate::Error::Config("a rollout has an empty prompt".into()));
        };
        // Position p predicts the token after it: the prompt's own positions predict the
        // prompt (with no weight), each completion's first position (the prompt's last
        // token) predicts its first token.
        let row = i * len;
        inputs[row..row + shared.len()].copy_from_slice(shared);
        targets[row..row + shared.len()].copy_from_slice(&prompt[1..]);
        let mut row_documents = vec![Document { len: shared.len(), continues: None }];
        let mut at = row + shared.len();
        for (r, w) in members.iter().zip(&weights[i]) {
            let c = r.completion.len();
            if c == 0 {
                continue; // nothing to learn from, and no position to hold it
            }
            if r.logprobs.len() != c || w.len() != c {
                return Err(crate::Error::Config(format!(
                    "a rollout has {c} completion tokens but {} log-probs and {} weights",
                    r.logprobs.len(),
                    w.len()
                )));
            }
            inputs[at] = last;
            inputs[at + 1..at + c].copy_from_slice(&r.completion[..c.saturating_sub(1)]);
            targets[at..at + c].copy_from_slice(&r.completion);
            old[at..at + c].copy_from_slice(&r.logprobs);
            adv[at..at + c].fill(r.advantage);
            token_weights[at..at + c].copy_from_slice(w);
            completion[at..at + c].fill(1.0);
            row_documents.push(Document { len: c, continues: Some(0) });
            at += c;
        }
        documents.push(row_documents);
    }
    let documents = DocumentMask::from_documents(&documents)?;
    let shape = (n, len);
    Ok(PolicyBatch {
        inputs: Tensor::from_vec(inputs, shape, device)?,
        targets: Tensor::from_vec(targets, shape, device)?,
        documents,
        old_logp: Tensor::from_vec(old, shape, device)?,
        advantages: Tensor::from_vec(adv, shape, device)?,
        weights: Tensor::from_vec(token_weights, shape, device)?,
        completion_mask: Tensor::from_vec(completion, shape, device)?,
    })
}

/// (n, len) log-probabilities of the batch's targets under `model` at `temperature`, and
/// the (n, len, vocab) log-softmax they were read from.
fn target_logprobs(model: &TinyReasoner, batch: &PolicyBatch, temperature: f32) -> Result<(Tensor, Tensor)> {
    let logits = model.forward_documents(&batch.inputs, &batch.documents)?; // (n, len, vocab)
    let logits = if temperature == 1.0 { logits } else { logits.affine(1.0 / temperature as f64, 0.0)? };
    let logp_all = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let logp = logp_all.gather(&batch.targets.unsqueeze(2)?, 2)?.squeeze(2)?; // (n, len)
    Ok((logp, logp_all))
}

/// One policy-gradient step of `model` (whose weights `optimizer` holds) on `rollouts`,
/// at learning rate `lr`; `reference` is the frozen model of the KL penalty, `anchor` an
/// optional supervised term. The batch is processed in micro-batches of similar lengths
/// whose gradients add up to the full one.
pub fn policy_update(
    model: &TinyReasoner,
    reference: Option<&TinyReasoner>,
    optimizer: &mut AdamW,
    rollouts: &[Rollout],
    settings: UpdateSettings,
    lr: f64,
    anchor: Option<Anchor<'_>>,
) -> Result<UpdateStats> {
    if rollouts.is_empty() {
        return Ok(UpdateStats::default());
    }
    let (mut grads, mut stats) = policy_gradients(model, reference, optimizer, rollouts, settings, MICRO_BATCH_TOKENS)?;
    // The anchor's gradient is taken at the same weights as the policy's, before either step.
    let mut own_anchor_step = None;
    if let Some(anchor) = anchor {
        let (rows, len) = anchor.batch.inputs.dims2()?;
        stats.anchor_tokens = rows * len;
        match anchor.optimizer {
            None => {
                let (loss, anchor_grads) = anchor_gradient(model, optimizer, anchor.batch, anchor.coef)?;
                stats.anchor_loss = loss;
                optimizer.accumulate(&mut grads, &anchor_grads)?;
            }
            Some(own) => {
                // AdamW normalises a gradient's scale away, so the weight goes on the rate.
                let (loss, anchor_grads) = anchor_gradient(model, own, anchor.batch, 1.0)?;
                stats.anchor_loss = loss;
                let norm = own.grad_norm(&anchor_grads)?;
                own_anchor_step = Some((own, anchor_grads, norm, anchor.coef));
            }
        }
    }
    stats.grad_norm = optimizer.grad_norm(&grads)?;
    optimizer.step(&grads, lr, stats.grad_norm)?;
    if let Some((own, anchor_grads, norm, coef)) = own_anchor_step {
        own.step(&anchor_grads, lr * coef, norm)?;
    }
    Ok(stats)
}

/// Most anchor rows forwarded at once (a noise measurement with 64 rows of 768 tokens of
/// the 4-layer model in one piece peaked at 13 GB resident).
const ANCHOR_MICRO_ROWS: usize = 8;

/// The anchor's loss (its traces' mean cross-entropy) and the gradient of `coef` × it,
/// accumulated over micro-batches of rows, each weighted by its share of the loss tokens
/// (`optimizer` names the parameters to accumulate).
pub fn anchor_gradient(
    model: &TinyReasoner,
    optimizer: &AdamW,
    batch: &Batch,
    coef: f64,
) -> Result<(f64, candle_core::backprop::GradStore)> {
    let (rows, _) = batch.inputs.dims2()?;
    let total = batch.loss_tokens.max(1) as f64;
    let (mut loss, mut grads) = (0.0, None);
    for from in (0..rows).step_by(ANCHOR_MICRO_ROWS) {
        let part = batch.rows(from, ANCHOR_MICRO_ROWS.min(rows - from))?;
        if part.loss_tokens == 0 {
            continue;
        }
        let share = part.loss_tokens as f64 / total;
        let part_loss = completion_loss(model, &part)?;
        loss += share * part_loss.to_scalar::<f32>()? as f64;
        let g = part_loss.affine(coef * share, 0.0)?.backward()?;
        match &mut grads {
            Some(total) => optimizer.accumulate(total, &g)?,
            None => grads = Some(g),
        }
    }
    let grads = grads.ok_or_else(|| crate::Error::Config("the anchor's batch holds no trace tokens".into()))?;
    Ok((loss, grads))
}

/// The gradient of the policy loss over `rollouts` (non-empty) at the current weights,
/// without a step (for measuring it, see [`crate::noise`]).
pub fn policy_gradient(
    model: &TinyReasoner,
    optimizer: &AdamW,
    rollouts: &[Rollout],
    settings: UpdateSettings,
) -> Result<candle_core::backprop::GradStore> {
    Ok(policy_gradients(model, None, optimizer, rollouts, settings, MICRO_BATCH_TOKENS)?.0)
}

/// The gradient of the policy loss over `rollouts` (non-empty), accumulated over
/// micro-batches of at most `chunk_tokens` positions, and the update's statistics.
fn policy_gradients(
    model: &TinyReasoner,
    reference: Option<&TinyReasoner>,
    optimizer: &AdamW,
    rollouts: &[Rollout],
    settings: UpdateSettings,
    chunk_tokens: usize,
) -> Result<(candle_core::backprop::GradStore, UpdateStats)> {
    let lengths: Vec<usize> = rollouts.iter().map(|r| r.completion.len()).collect();
    let weights = token_weights(&lengths, settings.aggregation);
    // One row per run of rollouts with the same prompt (a group), shortest rows first,
    // gathered into micro-batches of at most `chunk_tokens` padded positions.
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for (i, r) in rollouts.iter().enumerate() {
        match rows.last_mut() {
            Some(row) if rollouts[row[0]].prompt == r.prompt => row.push(i),
            _ => rows.push(vec![i]),
        }
    }
    let members = |row: &Vec<usize>| row.iter().map(|&i| &rollouts[i]).collect::<Vec<_>>();
    let length = |row: &Vec<usize>| row_len(&members(row));
    let (attended, positions) =
        rows.iter().fold((0, 0), |(keys, n), row| (keys + row_attention(&members(row)), n + length(row)));
    rows.sort_by_cached_key(length);
    let mut chunks: Vec<Vec<Vec<usize>>> = vec![Vec::new()];
    for row in rows {
        let len = length(&row);
        let chunk = chunks.last_mut().expect("one chunk");
        if !chunk.is_empty() && (chunk.len() + 1) * len > chunk_tokens {
            chunks.push(vec![row]);
        } else {
            chunk.push(row);
        }
    }

    let mut stats = UpdateStats::default();
    let (mut ratio_sum, mut entropy_sum, mut clip_sum, mut kl_sum, mut weight_sum) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut total: Option<candle_core::backprop::GradStore> = None;
    for chunk in &chunks {
        let members: Vec<Vec<&Rollout>> = chunk.iter().map(|row| row.iter().map(|&i| &rollouts[i]).collect()).collect();
        let member_weights: Vec<Vec<&Vec<f32>>> =
            chunk.iter().map(|row| row.iter().map(|&i| &weights[i]).collect()).collect();
        let batch = policy_batch(&members, &member_weights, model.device())?;
        let (logp, logp_all) = target_logprobs(model, &batch, settings.temperature)?;
        let masked_sum =
            |t: &Tensor| -> Result<f64> { Ok((t * &batch.completion_mask)?.sum_all()?.to_scalar::<f32>()? as f64) };
        ratio_sum += masked_sum(&(logp.detach() - &batch.old_logp)?.exp()?.affine(1.0, -1.0)?.abs()?)?;
        entropy_sum += masked_sum(&(logp_all.exp()? * &logp_all)?.sum(D::Minus1)?.neg()?.detach())?;
        let reference_logp = match reference {
            Some(r) => Some(target_logprobs(r, &batch, settings.temperature)?.0.detach()),
            None => None,
        };
        let terms = PolicyTerms {
            logp: &logp,
            old_logp: &batch.old_logp,
            advantages: &batch.advantages,
            weights: &batch.weights,
            reference: reference_logp.as_ref().map(|r| (r, settings.kl_beta)),
        };
        let (loss, loss_stats) = policy_loss(&terms, settings.clip)?;
        let chunk_weight = batch.weights.sum_all()?.to_scalar::<f32>()? as f64;
        clip_sum += loss_stats.clip_fraction * chunk_weight;
        kl_sum += loss_stats.kl * chunk_weight;
        weight_sum += chunk_weight;
        stats.loss += loss.to_scalar::<f32>()? as f64;
        let (n, len) = batch.inputs.dims2()?;
        stats.tokens += n * len;
        let grads = loss.backward()?;
        match &mut total {
            Some(t) => optimizer.accumulate(t, &grads)?,
            None => total = Some(grads),
        }
    }
    let grads = total.ok_or_else(|| crate::Error::Config("a policy update needs at least one rollout".into()))?;
    let count = lengths.iter().sum::<usize>().max(1) as f64;
    stats.context = attended as f64 / positions.max(1) as f64;
    stats.ratio_error = ratio_sum / count;
    stats.entropy = entropy_sum / count;
    stats.loss_stats =
        LossStats { clip_fraction: clip_sum / weight_sum.max(1e-12), kl: kl_sum / weight_sum.max(1e-12) };
    Ok((grads, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::AdamWConfig;
    use candle_core::{DType, Device};
    use candle_nn::VarBuilder;
    use ponder_model::{init_weights, Preset, TinyConfig};

    /// A one-layer model small enough to differentiate in milliseconds.
    fn small_model(device: &Device) -> (candle_nn::VarMap, TinyReasoner) {
        let config = TinyConfig {
            d_model: 32,
            n_layers: 1,
            n_heads: 2,
            n_kv_heads: 2,
            d_ff: 64,
            max_seq_len: 32,
            ..TinyConfig::preset(Preset::Nano)
        };
        let varmap = init_weights(&config, 1, device).expect("init");
        let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F32, device)).expect("model");
        (varmap, model)
    }

    const SETTINGS: UpdateSettings = UpdateSettings {
        clip: Clip { low: 0.2, high: 0.28 },
        aggregation: LossAggregation::SequenceMean,
        kl_beta: 0.0,
        temperature: 0.7,
    };

    /// The largest difference between two gradients of `varmap`'s variables.
    fn assert_same_gradients(
        varmap: &candle_nn::VarMap,
        a: &candle_core::backprop::GradStore,
        b: &candle_core::backprop::GradStore,
    ) {
        for (name, var) in varmap.data().lock().expect("lock").iter() {
            let a = a.get(var.as_tensor()).expect("gradient").flatten_all().expect("flat");
            let b = b.get(var.as_tensor()).expect("gradient").flatten_all().expect("flat");
            let diff =
                (a - b).expect("diff").abs().expect("abs").max(0).expect("max").to_scalar::<f32>().expect("scalar");
            assert!(diff < 1e-5, "{name}: gradients differ by {diff}");
        }
    }

    /// Micro-batches add up to the full batch: one sequence per micro-batch gives the same
    /// gradient, loss and entropy as all sequences at once.
    #[test]
    fn micro_batches_give_the_full_batch_gradient() {
        let device = Device::Cpu;
        let rollouts: Vec<Rollout> = (0..5u32)
            .map(|i| Rollout {
                prompt: vec![special::BOS, 65 + i],
                completion: (0..(2 + i as usize)).map(|k| 97 + ((i as usize + k) % 7) as u32).collect(),
                logprobs: vec![-5.5; 2 + i as usize],
                advantage: i as f32 - 2.0,
            })
            .collect();
        let (varmap, model) = small_model(&device);
        let optimizer = AdamW::for_varmap(&varmap, AdamWConfig::default()).expect("optimizer");
        let (g_whole, whole) = policy_gradients(&model, None, &optimizer, &rollouts, SETTINGS, 10_000).expect("whole");
        let (g_split, split) = policy_gradients(&model, None, &optimizer, &rollouts, SETTINGS, 1).expect("split");
        assert!((whole.loss - split.loss).abs() < 1e-5, "{} vs {}", whole.loss, split.loss);
        assert!((whole.entropy - split.entropy).abs() < 1e-4);
        assert_same_gradients(&varmap, &g_whole, &g_split);
    }

    /// A group's completions forwarded after one shared copy of their prompt give the loss,
    /// entropy and gradient they give each in a row of its own (rollouts interleaved with
    /// another prompt's share nothing), and fewer positions are forwarded.
    #[test]
    fn a_shared_prompt_gives_the_gradient_of_separate_rows() {
        let device = Device::Cpu;
        let prompts = [vec![special::BOS, 70, 71, 72, 73], vec![special::BOS, 80, 81]];
        let group = |p: usize| -> Vec<Rollout> {
            (0..3)
                .map(|m| Rollout {
                    prompt: prompts[p].clone(),
                    completion: (0..(1 + 2 * m + p)).map(|k| 97 + ((m + 3 * k + p) % 11) as u32).collect(),
                    logprobs: vec![-5.0 + m as f32; 1 + 2 * m + p],
                    advantage: m as f32 - 1.0 + p as f32 * 0.5,
                })
                .collect()
        };
        let (a, b) = (group(0), group(1));
        let grouped: Vec<Rollout> = a.iter().chain(&b).cloned().collect();
        let interleaved: Vec<Rollout> = a.iter().zip(&b).flat_map(|(x, y)| [x.clone(), y.clone()]).collect();
        let (varmap, model) = small_model(&device);
        let optimizer = AdamW::for_varmap(&varmap, AdamWConfig::default()).expect("optimizer");
        for aggregation in [LossAggregation::SequenceMean, LossAggregation::TokenMean] {
            let settings = UpdateSettings { aggregation, ..SETTINGS };
            let (g_shared, shared) =
                policy_gradients(&model, None, &optimizer, &grouped, settings, 10_000).expect("shared");
            let (g_alone, alone) =
                policy_gradients(&model, None, &optimizer, &interleaved, settings, 10_000).expect("alone");
            assert!((shared.loss - alone.loss).abs() < 1e-5, "{} vs {}", shared.loss, alone.loss);
            assert!((shared.entropy - alone.entropy).abs() < 1e-4, "{} vs {}", shared.entropy, alone.entropy);
            assert_same_gradients(&varmap, &g_shared, &g_alone);
            assert!(shared.tokens < alone.tokens, "{} positions shared vs {} alone", shared.tokens, alone.tokens);
        }
    }

    /// The attention a shared row costs, counted by hand: prompt positions 0, 1, 2 see 1,
    /// 2 and 3 keys; a 2-token completion's positions see 3 + 1 and 3 + 2; a 1-token one's
    /// 3 + 1.
    #[test]
    fn a_shared_row_counts_the_keys_each_position_sees() {
        let rollout = |c: usize| Rollout {
            prompt: vec![1, 2, 3, 4],
            completion: vec![5; c],
            logprobs: vec![0.0; c],
            advantage: 0.0,
        };
        let (a, b) = (rollout(2), rollout(1));
        assert_eq!(row_attention(&[&a, &b]), 6 + 9 + 4);
        assert_eq!(row_len(&[&a, &b]), 3 + 2 + 1);
    }

    #[test]
    fn a_rollout_whose_log_probs_do_not_match_its_tokens_is_refused() {
        let device = Device::Cpu;
        let (varmap, model) = small_model(&device);
        let optimizer = AdamW::for_varmap(&varmap, AdamWConfig::default()).expect("optimizer");
        let rollout = Rollout {
            prompt: vec![special::BOS, 70],
            completion: vec![97, 98, 99],
            logprobs: vec![-1.0; 2],
            advantage: 1.0,
        };
        let Err(err) = policy_gradients(&model, None, &optimizer, &[rollout], SETTINGS, 4096) else {
            panic!("a mismatched rollout was accepted");
        };
        assert!(err.to_string().contains("3 completion tokens but 2 log-probs"), "{err}");
    }
}
