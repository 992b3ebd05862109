//! Shared by the training tests.

use ponder_model::{Preset, TinyConfig};
use ponder_tasks::Family;
use ponder_train::data::MixtureConfig;
use ponder_train::PretrainConfig;

/// Count level 1 only, without mistakes or drills: the quickest family to learn.
pub fn count_level_1() -> MixtureConfig {
    MixtureConfig { sources: vec![(Family::Count, vec![1])], mistake_rate: 0.0, ..MixtureConfig::default() }
}

/// A very small model and batch so the test takes seconds.
pub fn quick_config(steps: u64) -> PretrainConfig {
    let mut config = PretrainConfig::for_preset(Preset::Nano);
    config.model =
        TinyConfig { d_model: 64, n_layers: 2, n_heads: 2, n_kv_heads: 2, d_ff: 128, max_seq_len: 256, ..config.model };
    config.batch_size = 4;
    config.seq_len = 256;
    config.steps = Some(steps);
    config.minutes = None;
    config.warmup_steps = 5;
    config.optimizer.lr = 3e-3;
    config.mixture = count_level_1();
    config.log_every = 5;
    config.eval_every = 1000;
    config.eval_per_level = 2;
    config.checkpoint_every = 3;
    config
}
