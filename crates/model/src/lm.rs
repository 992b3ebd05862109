//! What the sampler needs from a model: a forward pass over new tokens with a KV cache,
//! and the token ids that steer generation (padding, stops, thinking tags). The tiny
//! reasoner and real llama/qwen2 models both implement it, so one sampler serves both.

use candle_core::{Device, Tensor};

use crate::{BudgetTokens, KvCache, Result};

/// Token ids that steer generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationTokens {
    /// Fed at padding positions and for sequences that already finished (never attended to).
    pub pad: u32,
    /// Any of these ends a sequence (it is kept in the output).
    pub stop: Vec<u32>,
    /// Never sampled (padding, begin-of-text).
    pub never: Vec<u32>,
    /// The thinking tags and cues, when the model has `<think>` / `</think>` tokens;
    /// `None` means thinking budgets cannot be enforced on this model.
    pub thinking: Option<BudgetTokens>,
}

/// A decoder-only language model the sampler can drive.
pub trait CausalLm {
    /// Logits for every new position.
    ///
    /// * `tokens`: (batch, seq) u32 — the new tokens.
    /// * `positions`: (batch, seq) u32 — their rotary positions.
    /// * `mask`: (batch, 1, seq, keys) f32, added to attention scores (0 = visible, a large
    ///   negative number = hidden); `keys` = cached + new tokens.
    /// * `cache`: read and extended when given.
    ///
    /// Returns (batch, seq, vocab) f32 logits.
    fn forward(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor>;
    /// Logits of the last new position only, (batch, vocab): what sampling needs, and for a
    /// long prompt much cheaper than every position's.
    fn forward_last(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let logits = self.forward(tokens, positions, mask, cache)?; // (b, t, vocab)
        let t = logits.dim(1)?;
        Ok(logits.narrow(1, t - 1, 1)?.squeeze(1)?)
    }
    /// An empty cache for `batch` sequences of up to `capacity` tokens.
    fn new_cache(&self, batch: usize, capacity: usize) -> Result<KvCache>;
    /// The longest context the model supports.
    fn max_seq_len(&self) -> usize;
    /// Where the weights live.
    fn device(&self) -> &Device;
    /// The ids that steer generation.
    fn generation_tokens(&self) -> &GenerationTokens;
    /// Forward FLOPs of one token at context length `context` (2 per weight + attention).
    fn flops_per_token(&self, context: usize) -> f64;
}
