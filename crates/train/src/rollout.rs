//! Rollouts (a prompt, one sampled completion, its reward and advantage) and the policy
//! update on a batch of them: forward the sequences, recompute each completion token's
//! log-probability, and take one clipped policy-gradient step.

use candle_core::{Tensor, D};
use ponder_model::{causal_mask, special, TinyReasoner};

use crate::grpo::{policy_loss, token_weights, Clip, LossAggregation, LossStats, PolicyTerms};
use crate::optim::AdamW;
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
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    /// Sequence positions processed (for FLOP accounting).
    pub tokens: usize,
}

/// The rollouts as one right-padded batch. Returns (inputs, targets, positions, attention,
/// old log-probs, advantages, weights, completion mask); tensors are (n, len) except the
/// attention mask (n, 1, len, len).
struct PolicyBatch {
    inputs: Tensor,
    targets: Tensor,
    positions: Tensor,
    attention: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    weights: Tensor,
    completion_mask: Tensor,
    completion_tokens: usize,
}

fn policy_batch(
    rollouts: &[Rollout],
    aggregation: LossAggregation,
    device: &candle_core::Device,
) -> Result<PolicyBatch> {
    let n = rollouts.len();
    // Position i predicts token i + 1, so a sequence of s tokens has s - 1 inputs.
    let len = rollouts.iter().map(|r| r.prompt.len() + r.completion.len() - 1).max().unwrap_or(1).max(1);
    let lengths: Vec<usize> = rollouts.iter().map(|r| r.completion.len()).collect();
    let weights_per_seq = token_weights(&lengths, aggregation);
    let mut inputs = vec![special::PAD; n * len];
    let mut targets = vec![special::PAD; n * len];
    let mut old = vec![0f32; n * len];
    let mut adv = vec![0f32; n * len];
    let mut weights = vec![0f32; n * len];
    let mut completion = vec![0f32; n * len];
    let mut segments = Vec::with_capacity(n);
    for (i, r) in rollouts.iter().enumerate() {
        let tokens: Vec<u32> = r.prompt.iter().chain(&r.completion).copied().collect();
        let used = tokens.len() - 1;
        inputs[i * len..i * len + used].copy_from_slice(&tokens[..used]);
        targets[i * len..i * len + used].copy_from_slice(&tokens[1..]);
        for (k, (&lp, &w)) in r.logprobs.iter().zip(&weights_per_seq[i]).enumerate() {
            let at = i * len + r.prompt.len() - 1 + k; // the input position that predicts completion token k
            old[at] = lp;
            adv[at] = r.advantage;
            weights[at] = w;
            completion[at] = 1.0;
        }
        let mut seg = vec![0u32; used];
        seg.resize(len, u32::MAX);
        segments.push(seg);
    }
    let (attention, positions) = causal_mask(&segments, device)?;
    let shape = (n, len);
    Ok(PolicyBatch {
        inputs: Tensor::from_vec(inputs, shape, device)?,
        targets: Tensor::from_vec(targets, shape, device)?,
        positions,
        attention,
        old_logp: Tensor::from_vec(old, shape, device)?,
        advantages: Tensor::from_vec(adv, shape, device)?,
        weights: Tensor::from_vec(weights, shape, device)?,
        completion_mask: Tensor::from_vec(completion, shape, device)?,
        completion_tokens: lengths.iter().sum(),
    })
}

/// (n, len) log-probabilities of the batch's targets under `model`, and the (n, len, vocab)
/// log-softmax they were read from.
fn target_logprobs(model: &TinyReasoner, batch: &PolicyBatch) -> Result<(Tensor, Tensor)> {
    let logits = model.forward(&batch.inputs, &batch.positions, &batch.attention, None)?; // (n, len, vocab)
    let logp_all = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let logp = logp_all.gather(&batch.targets.unsqueeze(2)?, 2)?.squeeze(2)?; // (n, len)
    Ok((logp, logp_all))
}

/// One policy-gradient step of `model` (whose weights `optimizer` holds) on `rollouts`,
/// at learning rate `lr`; `reference` is the frozen model of the KL penalty.
pub fn policy_update(
    model: &TinyReasoner,
    reference: Option<&TinyReasoner>,
    optimizer: &mut AdamW,
    rollouts: &[Rollout],
    settings: UpdateSettings,
    lr: f64,
) -> Result<UpdateStats> {
    if rollouts.is_empty() {
        return Ok(UpdateStats::default());
    }
    let batch = policy_batch(rollouts, settings.aggregation, model.device())?;
    let (logp, logp_all) = target_logprobs(model, &batch)?;
    let count = batch.completion_tokens.max(1) as f64;
    let masked_mean =
        |t: &Tensor| -> Result<f64> { Ok((t * &batch.completion_mask)?.sum_all()?.to_scalar::<f32>()? as f64 / count) };
    let ratio_error = masked_mean(&(logp.detach() - &batch.old_logp)?.exp()?.affine(1.0, -1.0)?.abs()?)?;
    let entropy = masked_mean(&(logp_all.exp()? * &logp_all)?.sum(D::Minus1)?.neg()?.detach())?;
    let reference_logp = match reference {
        Some(r) => Some(target_logprobs(r, &batch)?.0.detach()),
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
    let grads = loss.backward()?;
    let grad_norm = optimizer.grad_norm(&grads)?;
    optimizer.step(&grads, lr, grad_norm)?;
    let (n, len) = batch.inputs.dims2()?;
    Ok(UpdateStats {
        loss: loss.to_scalar::<f32>()? as f64,
        entropy,
        loss_stats,
        ratio_error,
        grad_norm,
        tokens: n * len,
    })
}
