//! A run folder: resolved config, JSONL log, checkpoints, final model.
//!
//! ```text
//! runs/NAME/
//!   pretrain.json            the resolved configuration
//!   log.jsonl                one JSON object per logged step or evaluation
//!   model/                   the latest weights for inference (config.json + model.safetensors)
//!   checkpoints/LATEST       name of the newest complete checkpoint
//!   checkpoints/step-000200/ weights, optimizer moments, state.json
//! ```
//!
//! A checkpoint folder is written completely before `LATEST` is switched to it (through
//! a temporary file and a rename), so a run killed at any moment resumes from a whole one.

use std::io::Write;
use std::path::{Path, PathBuf};

use candle_nn::VarMap;
use ponder_model::{save_weights, write_atomically, TinyConfig, WEIGHTS_FILE};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::optim::AdamW;
use crate::{Error, Result};

/// File stem of a run's (main) optimizer moments in a checkpoint folder.
pub const OPTIMIZER: &str = "optimizer";

/// Progress counters saved with every checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Optimizer steps done.
    pub step: u64,
    /// Input tokens processed.
    pub tokens: u64,
    /// Training FLOPs spent (forward + backward).
    pub flops: f64,
    /// Seconds of training so far (across resumes).
    pub seconds: f64,
    /// Sum of step losses since the last log line (so a resumed run logs the same means).
    pub window_loss: f64,
    /// Steps since the last log line.
    pub window_steps: u64,
}

/// A run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io { path: path.to_path_buf(), why: e.to_string() }
}

impl RunDir {
    /// Opens (and creates) a run folder.
    pub fn create(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root.join("checkpoints")).map_err(io_err(root))?;
        Ok(Self { root: root.to_path_buf() })
    }

    /// The folder holding the latest inference weights.
    pub fn model_dir(&self) -> PathBuf {
        self.root.join("model")
    }

    /// The JSONL log.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("log.jsonl")
    }

    /// Writes a JSON document (a resolved config) atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(|e| Error::Config(e.to_string()))?;
        Ok(write_atomically(&self.root.join(name), text.as_bytes())?)
    }

    /// Reads a JSON document written by [`Self::write_json`].
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let path = self.root.join(name);
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        serde_json::from_str(&text).map_err(|e| Error::Io { path, why: format!("not valid: {e}") })
    }

    /// Appends one line to the log.
    pub fn log<T: Serialize>(&self, entry: &T) -> Result<()> {
        let path = self.log_path();
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io_err(&path))?;
        let line = serde_json::to_string(entry).map_err(|e| Error::Config(e.to_string()))?;
        writeln!(file, "{line}").map_err(io_err(&path))
    }

    /// Drops log lines of steps after `step` (written after the checkpoint a resumed run
    /// restarts from, and about to be written again).
    pub fn truncate_log_after(&self, step: u64) -> Result<()> {
        let path = self.log_path();
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(()) };
        let kept: String = text
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("step").and_then(serde_json::Value::as_u64))
                    .is_some_and(|s| s <= step)
            })
            .map(|line| format!("{line}\n"))
            .collect();
        Ok(write_atomically(&path, kept.as_bytes())?)
    }

    /// Saves a complete checkpoint of step `step` (weights, the moments of each optimizer
    /// in `<name>.safetensors`, e.g. [`OPTIMIZER`], and the run's `state`, e.g. a
    /// [`RunState`]), switches `LATEST` to it, removes older ones, and refreshes `model/`.
    pub fn save_checkpoint<S: Serialize>(
        &self,
        config: &TinyConfig,
        varmap: &VarMap,
        optimizers: &[(&str, &AdamW)],
        step: u64,
        state: &S,
    ) -> Result<()> {
        let name = format!("step-{step:06}");
        let dir = self.root.join("checkpoints").join(&name);
        save_weights(&dir, config, varmap)?;
        for (file, optimizer) in optimizers {
            optimizer.save(&dir.join(format!("{file}.safetensors")))?;
        }
        let state_json = serde_json::to_string_pretty(state).map_err(|e| Error::Config(e.to_string()))?;
        write_atomically(&dir.join("state.json"), state_json.as_bytes())?;
        write_atomically(&self.root.join("checkpoints").join("LATEST"), name.as_bytes())?;
        let checkpoints = self.root.join("checkpoints");
        for entry in std::fs::read_dir(&checkpoints).map_err(io_err(&checkpoints))?.flatten() {
            let old = entry.file_name().to_string_lossy().into_owned();
            if old.starts_with("step-") && old != name {
                let _ = std::fs::remove_dir_all(entry.path()); // stale; harmless if it stays
            }
        }
        save_weights(&self.model_dir(), config, varmap)?;
        Ok(())
    }

    /// The newest complete checkpoint: its folder and state, or `None` when there is none.
    pub fn latest_checkpoint<S: DeserializeOwned>(&self) -> Result<Option<(PathBuf, S)>> {
        let latest = self.root.join("checkpoints").join("LATEST");
        let Ok(name) = std::fs::read_to_string(&latest) else { return Ok(None) };
        let dir = self.root.join("checkpoints").join(name.trim());
        let state_path = dir.join("state.json");
        let text = std::fs::read_to_string(&state_path).map_err(io_err(&state_path))?;
        let state = serde_json::from_str(&text).map_err(|e| Error::Io { path: state_path, why: e.to_string() })?;
        Ok(Some((dir, state)))
    }

    /// Loads a checkpoint's weights and the moments of each named optimizer (as saved by
    /// [`Self::save_checkpoint`]) into a live model and its optimizers.
    pub fn restore(dir: &Path, varmap: &mut VarMap, optimizers: &mut [(&str, &mut AdamW)]) -> Result<()> {
        let weights = dir.join(WEIGHTS_FILE);
        varmap.load(&weights).map_err(|e| Error::Io { path: weights, why: e.to_string() })?;
        for (file, optimizer) in optimizers {
            optimizer.load(&dir.join(format!("{file}.safetensors")))?;
        }
        Ok(())
    }
}
