//! Evaluation: run an engine on held-out problems, grade every sample, and report pass@1
//! (greedy and sampled), unbiased pass@k and thinking length per family and level.

mod passk;
mod report;

pub use passk::pass_at_k;
pub use report::{evaluate, EvalConfig, EvalReport, EvalRow};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine failed.
    #[error(transparent)]
    Think(#[from] ponder_think::Error),
    /// A task could not be generated.
    #[error(transparent)]
    Task(#[from] ponder_tasks::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
