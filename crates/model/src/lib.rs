//! Models for ponder, in candle: the tiny reasoner trained from scratch, its byte-level
//! tokenizer, a preallocated KV cache and batched sampling with per-token log-probs.

mod bpe;
mod budget;
mod cache;
mod chat;
mod decode_attention;
mod doc_attention;
mod generate;
pub mod gguf;
pub mod llama;
mod lm;
mod pretrained;
pub mod quant;
mod tiny;
mod tokenizer;

pub use bpe::BpeTokenizer;
pub use budget::{Budget, BudgetState, BudgetTokens};
pub use cache::KvCache;
pub use chat::{ChatTemplate, Message, CHATML};
pub use decode_attention::decode_attention;
pub use doc_attention::{document_attention, Document, DocumentMask};
pub use generate::{causal_mask, generate, FinishReason, Generated, SamplingParams};
pub use lm::{CausalLm, GenerationTokens};
pub use pretrained::Pretrained;
pub use tiny::{init_weights, read_config, save_weights, Preset, TinyConfig, TinyReasoner, CONFIG_FILE, WEIGHTS_FILE};
pub use tokenizer::{special, ByteTokenizer, BYTE_VOCAB_SIZE};

use std::path::{Path, PathBuf};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed (shape mismatch, out of memory, …).
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A model configuration or request that cannot work.
    #[error("{0}")]
    Config(String),
    /// A model file that cannot be read.
    #[error("cannot load {path}: {why}")]
    Load {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A file that cannot be written.
    #[error("cannot write {path}: {why}")]
    Save {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see a
/// half-written file, even if the process is killed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let save_err = |e: std::io::Error| Error::Save { path: path.to_path_buf(), why: e.to_string() };
    std::fs::write(&tmp, bytes).map_err(save_err)?;
    std::fs::rename(&tmp, path).map_err(save_err)
}
