//! Training for ponder: pretraining the tiny reasoner on solver traces, reinforcement
//! learning on verifiable rewards (GRPO family), run folders with atomic checkpoints that
//! a killed run resumes from, and JSONL run logs.

pub mod curriculum;
pub mod data;
pub mod grpo;
pub mod heldout;
pub mod noise;
pub mod optim;
pub mod pretrain;
pub mod rl;
pub mod rollout;
pub mod run;

pub use data::MixtureConfig;
pub use pretrain::{completion_loss, completion_loss_of, pretrain, PretrainConfig, PretrainOutcome};
pub use rl::{
    is_curve_step, measure_noise, rl, AnchorConfig, AnchorMoments, CurvePoint, NoiseReport, RlConfig, RlLogEntry,
    RlOutcome, RlState, CURVE_MODELS_DIR,
};
pub use run::RunDir;

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ponder_model::Error),
    /// An engine failed.
    #[error(transparent)]
    Think(#[from] ponder_think::Error),
    /// A task could not be generated.
    #[error(transparent)]
    Task(#[from] ponder_tasks::Error),
    /// A run configuration that cannot work.
    #[error("{0}")]
    Config(String),
    /// A file of the run folder could not be read or written.
    #[error("{path}: {why}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
