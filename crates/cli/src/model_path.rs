//! Finding a model from what the user typed: a run folder or a model folder.

use std::path::{Path, PathBuf};

use anyhow::bail;
use ponder_model::CONFIG_FILE;

/// The model folder (config.json + model.safetensors) for `path`: the folder itself, or
/// its `model/` when `path` is a run folder.
pub fn model_dir(path: &Path) -> anyhow::Result<PathBuf> {
    for candidate in [path.join("model"), path.to_path_buf()] {
        if candidate.join(CONFIG_FILE).is_file() {
            return Ok(candidate);
        }
    }
    if !path.exists() {
        bail!(
            "{} does not exist: train one first (`ponder demo` or `ponder pretrain --out {}`)",
            path.display(),
            path.display()
        );
    }
    bail!("{} is not a model: expected config.json and model.safetensors in it or in its model/ folder", path.display())
}

/// Parses a comma-separated family list ("word,count"); empty means all six.
pub fn families(list: &[ponder_tasks::Family]) -> Vec<ponder_tasks::Family> {
    if list.is_empty() {
        ponder_tasks::Family::ALL.to_vec()
    } else {
        list.to_vec()
    }
}

/// A model the engine can run: a tiny-reasoner run or model folder, a `.gguf` file, or a
/// Hugging Face model folder (`config.json` + `*.safetensors`).
pub fn load_engine(path: &Path) -> anyhow::Result<Box<dyn ponder_think::Engine>> {
    if is_pretrained(path) {
        return Ok(Box::new(ponder_model::Pretrained::load(path)?));
    }
    let dir = model_dir(path)?;
    Ok(Box::new(ponder_model::TinyReasoner::load(&dir, &candle_core::Device::Cpu)?))
}

/// Whether `path` names a real open-weight model rather than a tiny reasoner.
pub fn is_pretrained(path: &Path) -> bool {
    let hf_folder = path.join("config.json").is_file() && path.join("tokenizer.json").is_file();
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) || hf_folder
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weights kept in the repository (`weights/`) stay loadable as the code changes:
    /// the model folder reads, and its `pretrain.json` reads as a pretraining config, so
    /// `--init weights/w4` and RL's anchor on its mixture both work.
    #[test]
    fn kept_weights_load_with_their_mixture() {
        let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../weights/w4");
        let dir = model_dir(&run).expect("weights/w4 is a run folder");
        let config = ponder_model::read_config(&dir).expect("its model config");
        assert_eq!((config.d_model, config.n_layers), (128, 4));
        load_engine(&run).expect("the weights load");
        let text = std::fs::read_to_string(run.join(ponder_train::pretrain::CONFIG_NAME)).expect("pretrain.json");
        let pretrained: ponder_train::PretrainConfig = serde_json::from_str(&text).expect("a pretraining config");
        assert_eq!(pretrained.mixture.drill_share, 0.15);
        assert!(pretrained
            .mixture
            .sources
            .iter()
            .any(|(family, levels)| *family == ponder_tasks::Family::Word && levels.contains(&3)));
    }
}
