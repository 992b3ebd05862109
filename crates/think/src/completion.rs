//! One sampled completion and what it cost.

use ponder_model::FinishReason;
use ponder_tasks::extract::answer_text;
use serde::{Deserialize, Serialize};

/// What a completion cost. Counted where the tokens are produced, never estimated later.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Compute {
    /// Tokens of the prompt.
    pub prompt_tokens: usize,
    /// Tokens inside the thinking block (the tags included).
    pub thinking_tokens: usize,
    /// Tokens after the thinking block (the end token included).
    pub answer_tokens: usize,
    /// Forward-pass FLOPs spent on this completion, prompt included.
    pub flops: f64,
    /// Wall time in seconds (a batch's time is shared equally by its completions).
    pub wall_seconds: f64,
}

impl std::ops::AddAssign for Compute {
    fn add_assign(&mut self, other: Self) {
        self.prompt_tokens += other.prompt_tokens;
        self.thinking_tokens += other.thinking_tokens;
        self.answer_tokens += other.answer_tokens;
        self.flops += other.flops;
        self.wall_seconds += other.wall_seconds;
    }
}

/// One sample: `<think>` thinking `</think>` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The whole generated text.
    pub text: String,
    /// Generated token ids.
    pub tokens: Vec<u32>,
    /// Log-probability of each generated token (untempered model distribution).
    pub logprobs: Vec<f32>,
    /// Why generation stopped.
    pub finish: FinishReason,
    /// The thinking block was closed by the budget rather than by the model.
    pub closed_by_budget: bool,
    /// What it cost.
    pub compute: Compute,
}

impl Completion {
    /// A completion from a sampler's output: `thinking_tokens` of its tokens are inside the
    /// thinking block; `flops` and `wall_seconds` are what producing it cost.
    pub fn from_generated(
        text: String,
        g: ponder_model::Generated,
        prompt_tokens: usize,
        thinking_tokens: usize,
        flops: f64,
        wall_seconds: f64,
    ) -> Self {
        Completion {
            text,
            compute: Compute {
                prompt_tokens,
                thinking_tokens,
                answer_tokens: g.tokens.len() - thinking_tokens,
                flops,
                wall_seconds,
            },
            tokens: g.tokens,
            logprobs: g.logprobs,
            finish: g.finish,
            closed_by_budget: g.closed_by_budget,
        }
    }

    /// The answer text after the last `</think>`, or `None` when the thinking block never
    /// closed or nothing follows it.
    pub fn answer(&self) -> Option<&str> {
        answer_text(&self.text).ok()
    }

    /// Mean log-probability per generated token (a confidence score; 0 when empty).
    pub fn mean_logprob(&self) -> f32 {
        if self.logprobs.is_empty() {
            0.0
        } else {
            self.logprobs.iter().sum::<f32>() / self.logprobs.len() as f32
        }
    }
}
