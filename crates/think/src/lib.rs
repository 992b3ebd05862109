//! Test-time compute: engines that turn prompts into [`Completion`]s, each carrying its
//! [`Compute`] cost, so every curve can be drawn against compute measured at the source.

mod completion;
mod effort;
mod pretrained_engine;
mod scoring;
mod strategy;
mod tiny_engine;

pub use completion::{Completion, Compute};
pub use effort::Effort;
pub use ponder_model::{Budget, FinishReason, SamplingParams};
pub use pretrained_engine::{complete_pretrained, TextSink};
pub use scoring::{attempt_all, heldout_problems, Attempt, Scored};
pub use strategy::{decide, expected_solve_rate, AutoTable, Decision, Scorer, Strategy};
pub use tiny_engine::complete_tiny;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ponder_model::Error),
    /// A request that cannot be served.
    #[error("{0}")]
    Request(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something that turns prompts into completions: the local tiny reasoner, later real
/// models and remote OpenAI-compatible endpoints.
pub trait Engine {
    /// A short name for logs and reports.
    fn name(&self) -> String;
    /// One completion per prompt; `seeds[i]` seeds the sampler of prompt `i`, so a
    /// completion does not depend on what else is in the batch.
    fn complete(&self, prompts: &[String], seeds: &[u64], params: &SamplingParams) -> Result<Vec<Completion>>;
}
