//! Batched generation with a KV cache: left-padded prompts, per-sequence rotary positions
//! and seeded RNGs (so a sequence gets the same tokens alone or in a batch), temperature /
//! top-k / top-p sampling, and the log-probability of every sampled token.

use candle_core::{Device, Tensor};
use rand::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::doc_attention::MASKED;
use crate::{Budget, BudgetState, CausalLm, DocumentMask, Error, GenerationTokens, Result};

/// How to pick tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// 0 = greedy (argmax); otherwise logits are divided by it before sampling.
    pub temperature: f32,
    /// Keep only the k most likely tokens (0 = off).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches p (1.0 = off).
    pub top_p: f32,
    /// Stop after this many new tokens.
    pub max_new_tokens: usize,
    /// Thinking-token limits enforced while sampling (none by default).
    #[serde(default)]
    pub budget: Budget,
    /// Record each token's log-probability under the tempered distribution it was drawn
    /// from (logits / temperature) instead of the model's own: RL that trains the tempered
    /// policy needs these. Greedy decoding always records the model's own.
    #[serde(default)]
    pub tempered_logprobs: bool,
}

impl Default for SamplingParams {
    fn default() -> Self {
        // Plain sampling from the model's distribution: what RL needs for unbiased log-probs.
        Self {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            max_new_tokens: 512,
            budget: Budget::default(),
            tempered_logprobs: false,
        }
    }
}

/// Why a sequence stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model emitted the end token.
    Stop,
    /// It reached `max_new_tokens` (or the model's context).
    Length,
}

/// One generated continuation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    /// The new tokens (the end token included when it was emitted).
    pub tokens: Vec<u32>,
    /// Log-probability of each new token under the model's untempered distribution
    /// (temperature 1, no truncation): the quantity policy-gradient RL recomputes.
    pub logprobs: Vec<f32>,
    /// Why it stopped.
    pub finish: FinishReason,
    /// The thinking block was closed by the budget, not by the model.
    pub closed_by_budget: bool,
    /// Early `</think>`s replaced by the continuation cue to reach the minimum budget.
    pub extensions: usize,
}

/// The attention mask and rotary positions of packed training rows.
///
/// `segments[b][i]` names the document token `i` of row `b` belongs to; a query sees only
/// earlier-or-equal keys of its own document, and positions restart at 0 with every
/// document. Returns the mask (batch, 1, seq, seq) and positions (batch, seq).
pub fn causal_mask(segments: &[Vec<u32>], device: &Device) -> Result<(Tensor, Tensor)> {
    let documents = DocumentMask::new(segments)?;
    Ok((documents.dense(device)?, documents.positions(device)?))
}

/// Continues every prompt; `seeds[i]` seeds the sampler of sequence `i`. Calls
/// `on_token(i, token)` as each token is chosen (for streaming). Tokens forced by the
/// thinking budget are recorded with the model's own log-probability for them.
pub fn generate<M: CausalLm + ?Sized>(
    model: &M,
    prompts: &[Vec<u32>],
    seeds: &[u64],
    params: &SamplingParams,
    mut on_token: impl FnMut(usize, u32),
) -> Result<Vec<Generated>> {
    let b = prompts.len();
    if b == 0 {
        return Ok(Vec::new());
    }
    let steer = model.generation_tokens();
    let cues = match (&steer.thinking, params.budget.is_active()) {
        (Some(cues), _) => cues.clone(),
        (None, false) => no_thinking(steer),
        (None, true) => {
            return Err(Error::Config(
                "this model has no <think> / </think> tokens, so a thinking budget cannot be enforced; \
                 drop the budget (reasoning effort) or use a reasoning model"
                    .into(),
            ))
        }
    };
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let max_new = params.max_new_tokens.min(model.max_seq_len().saturating_sub(longest));
    let device = model.device();
    let mut cache = model.new_cache(b, longest + max_new)?;
    let pads: Vec<usize> = prompts.iter().map(|p| longest - p.len()).collect();
    let mut rngs: Vec<rand_chacha::ChaCha8Rng> =
        seeds.iter().map(|&s| rand_chacha::ChaCha8Rng::seed_from_u64(s)).collect();

    // Prefill: left-padded prompts; pads are invisible to everyone but themselves.
    let mut tokens = Vec::with_capacity(b * longest);
    let mut positions = Vec::with_capacity(b * longest);
    let mut mask = vec![MASKED; b * longest * longest];
    for (i, prompt) in prompts.iter().enumerate() {
        tokens.extend(std::iter::repeat_n(steer.pad, pads[i]).chain(prompt.iter().copied()));
        positions.extend((0..longest).map(|j| j.saturating_sub(pads[i]) as u32));
        for q in 0..longest {
            for k in 0..=q {
                if k >= pads[i] || k == q {
                    mask[(i * longest + q) * longest + k] = 0.0;
                }
            }
        }
    }
    let tokens = Tensor::from_vec(tokens, (b, longest), device)?;
    let positions = Tensor::from_vec(positions, (b, longest), device)?;
    let mask = Tensor::from_vec(mask, (b, 1, longest, longest), device)?;
    let mut last = model.forward_last(&tokens, &positions, &mask, Some(&mut cache))?; // (b, vocab)

    let mut budgets: Vec<BudgetState> =
        prompts.iter().map(|p| BudgetState::new(params.budget, &cues, opens_thinking(p, &cues))).collect();
    let mut out: Vec<Generated> = (0..b)
        .map(|_| Generated {
            tokens: Vec::new(),
            logprobs: Vec::new(),
            finish: FinishReason::Length,
            closed_by_budget: false,
            extensions: 0,
        })
        .collect();
    let mut done = vec![false; b];
    // Log-probs are read from logits × this: the tempered distribution when asked for.
    let logprob_scale =
        if params.tempered_logprobs && params.temperature > 0.0 { 1.0 / params.temperature } else { 1.0 };
    // `rows[r]` is the sequence in row r of the cache and of `last`; finished sequences
    // are dropped from the batch once they make up a quarter of it.
    let mut rows: Vec<usize> = (0..b).collect();
    for _ in 0..max_new {
        let logits: Vec<Vec<f32>> = last.to_vec2()?;
        let mut next = vec![steer.pad; rows.len()];
        for (r, &i) in rows.iter().enumerate() {
            if done[i] {
                continue;
            }
            let chosen = budgets[i].forced().unwrap_or_else(|| sample(&logits[r], params, &steer.never, &mut rngs[i]));
            let token = budgets[i].emit(chosen, &cues);
            out[i].tokens.push(token);
            out[i].logprobs.push(log_softmax_at(&logits[r], token as usize, logprob_scale));
            on_token(i, token);
            if steer.stop.contains(&token) {
                done[i] = true;
                out[i].finish = FinishReason::Stop;
            }
            next[r] = token;
        }
        let running: Vec<usize> = (0..rows.len()).filter(|&r| !done[rows[r]]).collect();
        if running.is_empty() {
            break;
        }
        if running.len() * 4 <= rows.len() * 3 {
            cache.keep_rows(&running)?;
            next = running.iter().map(|&r| next[r]).collect();
            rows = running.iter().map(|&r| rows[r]).collect();
        }
        // One step: every row feeds its new token (finished ones not yet dropped feed padding).
        let n = rows.len();
        let keys = cache.len() + 1;
        let positions: Vec<u32> = rows.iter().map(|&i| (cache.len() - pads[i]) as u32).collect();
        let mut mask = vec![0.0f32; n * keys];
        for (r, &i) in rows.iter().enumerate() {
            mask[r * keys..r * keys + pads[i]].fill(MASKED);
        }
        let tokens = Tensor::from_vec(next, (n, 1), device)?;
        let positions = Tensor::from_vec(positions, (n, 1), device)?;
        let mask = Tensor::from_vec(mask, (n, 1, 1, keys), device)?;
        last = model.forward_last(&tokens, &positions, &mask, Some(&mut cache))?;
        // (n, vocab)
    }
    for (g, state) in out.iter_mut().zip(&budgets) {
        g.closed_by_budget = state.closed_by_budget;
        g.extensions = state.extensions;
    }
    Ok(out)
}

/// Budget cues for a model without thinking tokens: ids no sampled token can equal, so
/// the budget never acts (it is inactive whenever this is used).
fn no_thinking(steer: &GenerationTokens) -> crate::BudgetTokens {
    crate::BudgetTokens { open: u32::MAX, close: u32::MAX - 1, answer_cue: Vec::new(), continue_cue: vec![steer.pad] }
}

/// Whether `prompt` leaves a thinking block open (a template that starts the reply with
/// `<think>`, as DeepSeek-R1's does), so the model begins inside it.
fn opens_thinking(prompt: &[u32], cues: &crate::BudgetTokens) -> bool {
    let last = |t: u32| prompt.iter().rposition(|&p| p == t);
    match (last(cues.open), last(cues.close)) {
        (Some(open), Some(close)) => open > close,
        (open, _) => open.is_some(),
    }
}

/// `log softmax(logits × scale)[index]`, computed stably (`scale` = 1 / temperature reads
/// the tempered distribution).
fn log_softmax_at(logits: &[f32], index: usize, scale: f32) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) * scale;
    let sum: f32 = logits.iter().map(|&l| (l * scale - max).exp()).sum();
    logits[index] * scale - max - sum.ln()
}

/// Picks a token from one row of logits; tokens in `never` are never produced.
fn sample(logits: &[f32], params: &SamplingParams, never: &[u32], rng: &mut rand_chacha::ChaCha8Rng) -> u32 {
    let allowed = |i: usize| !never.contains(&(i as u32));
    if params.temperature <= 0.0 {
        let mut best = 0;
        for (i, &l) in logits.iter().enumerate() {
            if allowed(i) && (l > logits[best] || !allowed(best)) {
                best = i;
            }
        }
        return best as u32;
    }
    let mut candidates: Vec<(usize, f32)> =
        logits.iter().enumerate().filter(|&(i, _)| allowed(i)).map(|(i, &l)| (i, l / params.temperature)).collect();
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if params.top_k > 0 {
        candidates.truncate(params.top_k);
    }
    let max = candidates[0].1;
    let mut probs: Vec<f32> = candidates.iter().map(|&(_, l)| (l - max).exp()).collect();
    let total: f32 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if params.top_p < 1.0 {
        let mut mass = 0.0;
        let keep = probs.iter().position(|&p| {
            mass += p;
            mass >= params.top_p
        });
        let keep = keep.map_or(probs.len(), |k| k + 1);
        probs.truncate(keep);
        candidates.truncate(keep);
    }
    let total: f32 = probs.iter().sum();
    let mut u = rng.random::<f32>() * total;
    for (j, &p) in probs.iter().enumerate() {
        if u < p {
            return candidates[j].0 as u32;
        }
        u -= p;
    }
    candidates[candidates.len() - 1].0 as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KvCache;

    #[test]
    fn log_softmax_matches_the_definition() {
        let logits = [1.0f32, 2.0, 3.0];
        let z: f32 = logits.iter().map(|l| l.exp()).sum();
        assert!((log_softmax_at(&logits, 2, 1.0) - (3.0f32.exp() / z).ln()).abs() < 1e-6);
        // At temperature 0.5 the logits count double.
        let z2: f32 = logits.iter().map(|l| (2.0 * l).exp()).sum();
        assert!((log_softmax_at(&logits, 0, 2.0) - (2.0f32.exp() / z2).ln()).abs() < 1e-6);
    }

    #[test]
    fn greedy_takes_the_argmax_and_never_padding() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut logits = vec![0.0f32; crate::BYTE_VOCAB_SIZE];
        logits[crate::special::PAD as usize] = 9.0;
        logits[42] = 5.0;
        let greedy = SamplingParams { temperature: 0.0, ..SamplingParams::default() };
        assert_eq!(sample(&logits, &greedy, &[crate::special::PAD], &mut rng), 42);
    }

    #[test]
    fn top_k_one_is_greedy_and_top_p_truncates() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut logits = vec![0.0f32; crate::BYTE_VOCAB_SIZE];
        logits[7] = 10.0;
        logits[8] = 10.0;
        let top1 = SamplingParams { top_k: 1, ..SamplingParams::default() };
        let top_p = SamplingParams { top_p: 0.5, ..SamplingParams::default() };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            assert_eq!(sample(&logits, &top1, &[], &mut rng), 7);
            seen.insert(sample(&logits, &top_p, &[], &mut rng));
        }
        // 7 and 8 each hold ~49.7% of the mass: top-p 0.5 keeps exactly those two.
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![7, 8]);
    }

    /// A model whose next token is a function of every token it has seen, read back from
    /// its KV cache: vocabulary 0–6, 6 is the stop token, 0 the padding. A cache row that
    /// follows the wrong sequence, or a padding key left visible, changes what it says.
    struct CountingLm {
        steer: GenerationTokens,
    }

    impl CountingLm {
        fn new() -> Self {
            Self { steer: GenerationTokens { pad: 0, stop: vec![6], never: vec![0], thinking: None } }
        }
    }

    impl CausalLm for CountingLm {
        fn forward(&self, tokens: &Tensor, _: &Tensor, mask: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor> {
            let cache = cache.expect("the sampler always passes a cache");
            let (b, t) = tokens.dims2()?;
            let seen = tokens.to_dtype(candle_core::DType::F32)?.reshape((b, 1, t, 1))?;
            let (keys, _) = cache.append(0, &seen, &seen)?; // (b, 1, keys, 1)
            cache.advance(t);
            // From the last query's visible keys: the sum of their tokens and their count.
            let visible = mask.narrow(2, t - 1, 1)?.ge(-1.0)?.to_dtype(candle_core::DType::F32)?.flatten_all()?;
            let keys = keys.flatten_all()?.to_vec1::<f32>()?;
            let visible = visible.to_vec1::<f32>()?;
            let n = visible.len() / b;
            let mut logits = vec![0f32; b * t * 7];
            for row in 0..b {
                let seen = (0..n).filter(|&j| visible[row * n + j] > 0.0);
                let (sum, count) = seen.fold((0.0, 0.0), |(s, c), j| (s + keys[row * n + j], c + 1.0));
                let (sum, count) = (sum as usize, count as usize);
                let next = if (sum * 3 + count) % 7 == 3 { 6 } else { 1 + (sum + count) % 5 };
                logits[(row * t + t - 1) * 7 + next] = 10.0;
            }
            Ok(Tensor::from_vec(logits, (b, t, 7), &Device::Cpu)?)
        }
        fn new_cache(&self, batch: usize, capacity: usize) -> Result<KvCache> {
            KvCache::new(1, batch, 1, 1, capacity, &Device::Cpu)
        }
        fn max_seq_len(&self) -> usize {
            64
        }
        fn device(&self) -> &Device {
            &Device::Cpu
        }
        fn generation_tokens(&self) -> &GenerationTokens {
            &self.steer
        }
        fn flops_per_token(&self, _: usize) -> f64 {
            0.0
        }
    }

    #[test]
    fn dropping_finished_sequences_leaves_the_others_unchanged() {
        let model = CountingLm::new();
        let prompts: Vec<Vec<u32>> = (0..12u32).map(|i| (0..1 + i % 4).map(|j| 1 + (i + j) % 5).collect()).collect();
        let params = SamplingParams { temperature: 0.0, max_new_tokens: 30, ..SamplingParams::default() };
        let seeds = vec![0; prompts.len()];
        let batch = generate(&model, &prompts, &seeds, &params, |_, _| {}).expect("batch");
        let lengths: Vec<usize> = batch.iter().map(|g| g.tokens.len()).collect();
        let stopped = batch.iter().filter(|g| g.finish == FinishReason::Stop).count();
        assert!(
            stopped >= 6 && lengths.iter().min() < lengths.iter().max(),
            "sequences must stop at different steps: {lengths:?}"
        );
        for (i, prompt) in prompts.iter().enumerate() {
            let alone = generate(&model, std::slice::from_ref(prompt), &seeds[..1], &params, |_, _| {}).expect("alone");
            assert_eq!(batch[i].tokens, alone[0].tokens, "sequence {i}");
            assert_eq!(batch[i].finish, alone[0].finish, "sequence {i}");
        }
    }

    #[test]
    fn packed_documents_do_not_see_each_other() {
        let (mask, positions) = causal_mask(&[vec![0, 0, 1, 1, 1]], &Device::Cpu).expect("mask");
        assert_eq!(positions.to_vec2::<u32>().expect("positions"), vec![vec![0, 1, 0, 1, 2]]);
        let m = mask.squeeze(0).and_then(|m| m.squeeze(0)).and_then(|m| m.to_vec2::<f32>()).expect("mask rows");
        assert_eq!(m[1][0], 0.0);
        assert_eq!(m[2][1], MASKED);
        assert_eq!(m[4][2], 0.0);
        assert_eq!(m[2][3], MASKED);
    }
}
