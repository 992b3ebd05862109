//! The local engine for the tiny reasoner.

use std::time::Instant;

use ponder_model::{generate, special, ByteTokenizer, SamplingParams, TinyReasoner};

use crate::{Completion, Engine, Result};

/// Completions from a tiny reasoner, calling `on_token(i, bytes)` with the text of each
/// token of prompt `i` as it is chosen (for streaming).
pub fn complete_tiny(
    model: &TinyReasoner,
    prompts: &[String],
    seeds: &[u64],
    params: &SamplingParams,
    mut on_token: impl FnMut(usize, &[u8]),
) -> Result<Vec<Completion>> {
    if seeds.len() != prompts.len() {
        return Err(crate::Error::Request(format!("{} prompts but {} seeds", prompts.len(), seeds.len())));
    }
    let tokenizer = ByteTokenizer;
    let encoded: Vec<Vec<u32>> = prompts.iter().map(|p| tokenizer.encode_prompt(p)).collect();
    let start = Instant::now();
    let generated = generate(model, &encoded, seeds, params, |i, t| on_token(i, tokenizer.token_bytes(t)))?;
    let wall = start.elapsed().as_secs_f64() / prompts.len().max(1) as f64;
    let config = model.config();
    Ok(encoded
        .iter()
        .zip(generated)
        .map(|(prompt, g)| {
            let thinking_end = g.tokens.iter().position(|&t| t == special::END_THINK);
            let thinking_tokens = thinking_end.map_or(g.tokens.len(), |e| e + 1);
            let flops: f64 = (0..prompt.len() + g.tokens.len()).map(|ctx| config.flops_per_token(ctx)).sum();
            Completion::from_generated(tokenizer.decode(&g.tokens), g, prompt.len(), thinking_tokens, flops, wall)
        })
        .collect())
}

impl Engine for TinyReasoner {
    fn name(&self) -> String {
        format!("tiny reasoner ({} parameters)", self.config().param_count())
    }

    fn complete(&self, prompts: &[String], seeds: &[u64], params: &SamplingParams) -> Result<Vec<Completion>> {
        complete_tiny(self, prompts, seeds, params, |_, _| {})
    }
}
