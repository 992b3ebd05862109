//! Real open-weight models as users have them: one GGUF file, or a Hugging Face folder
//! (`config.json`, `*.safetensors` shards, `tokenizer.json`, `tokenizer_config.json`).
//! Loading gives the weights, the tokenizer, the chat template and the ids that steer
//! generation (stop tokens, thinking tags).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use crate::gguf::{Gguf, Value};
use crate::llama::{Llama, LlamaConfig, WeightSource};
use crate::{BpeTokenizer, BudgetTokens, ChatTemplate, Error, GenerationTokens, Message, Result, CHATML};

/// Tokens that end an assistant turn in the chat formats these models use.
const END_OF_TURN: [&str; 5] =
    ["<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "<｜end▁of▁sentence｜>"];

/// A real model, ready to chat.
pub struct Pretrained {
    /// The decoder.
    pub model: Llama,
    /// Its tokenizer.
    pub tokenizer: BpeTokenizer,
    /// Its chat template (ChatML when the model ships none).
    pub template: ChatTemplate,
    /// The file or folder name, for reports.
    pub name: String,
    /// Bytes of weights read per token at batch 1 (for the memory-bandwidth bound).
    pub weight_bytes: usize,
}

impl Pretrained {
    /// Loads a `.gguf` file or a Hugging Face model folder.
    pub fn load(path: &Path) -> Result<Self> {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        if path.is_dir() {
            Self::load_hf(path, name)
        } else if path.exists() {
            Self::load_gguf(path, name)
        } else {
            Err(Error::Load {
                path: path.to_path_buf(),
                why: "no such file or folder (a .gguf file or a Hugging Face model folder is expected; \
                      scripts/fetch-smollm2.sh installs SmolLM2 into models/)"
                    .into(),
            })
        }
    }

    fn load_gguf(path: &Path, name: String) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::Load { path: path.to_path_buf(), why: e.to_string() })?;
        let gguf = Gguf::parse(&bytes, path)?;
        let config = LlamaConfig::from_gguf(&gguf, path)?;
        let tokenizer = BpeTokenizer::from_gguf(&gguf, path)?;
        let template_source = gguf.get("tokenizer.chat_template").and_then(Value::as_str).unwrap_or(CHATML);
        let template = template(&tokenizer, template_source)?;
        let steer = steering(&tokenizer)?;
        let weight_bytes = gguf
            .tensors
            .iter()
            .filter(|t| t.name != "token_embd.weight" || !has_output(&gguf))
            .map(|t| t.size as usize)
            .sum();
        let model = Llama::load(config, &WeightSource::Gguf { gguf: &gguf, bytes: &bytes, path }, steer)?;
        Ok(Self { model, tokenizer, template, name, weight_bytes })
    }

    fn load_hf(dir: &Path, name: String) -> Result<Self> {
        let config = LlamaConfig::from_hf_json(&dir.join("config.json"))?;
        let tokenizer_config = read_tokenizer_config(&dir.join("tokenizer_config.json"))?;
        let tokenizer = BpeTokenizer::from_file(
            &dir.join("tokenizer.json"),
            tokenizer_config.bos_token.as_deref(),
            tokenizer_config.eos_token.as_deref(),
            tokenizer_config.add_bos_token,
        )?;
        let template = template(&tokenizer, tokenizer_config.chat_template.as_deref().unwrap_or(CHATML))?;
        let steer = steering(&tokenizer)?;
        let mut tensors = HashMap::new();
        for shard in safetensors_files(dir)? {
            let loaded = candle_core::safetensors::load(&shard, &Device::Cpu)
                .map_err(|e| Error::Load { path: shard.clone(), why: format!("not a valid safetensors file: {e}") })?;
            tensors.extend(loaded);
        }
        let weight_bytes = tensors.values().map(|t| t.elem_count() * t.dtype().size_in_bytes()).sum();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let model = Llama::load(config, &WeightSource::Dense(vb), steer)?;
        Ok(Self { model, tokenizer, template, name, weight_bytes })
    }

    /// The prompt tokens for a conversation, ending where the assistant's reply begins.
    pub fn chat_tokens(&self, messages: &[Message]) -> Result<Vec<u32>> {
        let text = self.template.render(messages, true)?;
        let mut tokens = self.tokenizer.encode(&text)?;
        // Templates that write the begin token themselves already have it.
        if let Some(bos) = self.tokenizer.bos.filter(|_| self.tokenizer.add_bos) {
            if tokens.first() != Some(&bos) {
                tokens.insert(0, bos);
            }
        }
        Ok(tokens)
    }

    /// Whether the chat template starts the reply inside a thinking block (its generation
    /// prompt ends with `<think>`, as DeepSeek-R1-Distill's does).
    pub fn template_opens_thinking(&self) -> Result<bool> {
        Ok(self.thinks() && self.template.render(&[Message::new("user", "?")], true)?.trim_end().ends_with("<think>"))
    }

    /// Whether the model marks reasoning with `<think>` … `</think>` tokens.
    pub fn thinks(&self) -> bool {
        self.model_steer().thinking.is_some()
    }

    fn model_steer(&self) -> &GenerationTokens {
        crate::CausalLm::generation_tokens(&self.model)
    }
}

/// Whether the file has a separate output head (otherwise the embedding is read twice per token).
fn has_output(gguf: &Gguf) -> bool {
    gguf.tensor("output.weight").is_some()
}

/// The chat template with the tokenizer's begin/end strings.
fn template(tokenizer: &BpeTokenizer, source: &str) -> Result<ChatTemplate> {
    let text = |id: Option<u32>| id.and_then(|id| tokenizer.id_token(id)).unwrap_or_default();
    ChatTemplate::new(source, &text(tokenizer.bos), &text(tokenizer.eos))
}

/// Stop at the end token or any end-of-turn token; thinking tags when the vocabulary has them.
fn steering(tokenizer: &BpeTokenizer) -> Result<GenerationTokens> {
    let mut stop: Vec<u32> = END_OF_TURN.iter().filter_map(|t| tokenizer.token_id(t)).collect();
    stop.extend(tokenizer.eos);
    stop.sort_unstable();
    stop.dedup();
    let pad = tokenizer.eos.or(stop.first().copied()).unwrap_or(0);
    let thinking = match (tokenizer.token_id("<think>"), tokenizer.token_id("</think>")) {
        (Some(open), Some(close)) => Some(BudgetTokens {
            open,
            close,
            answer_cue: tokenizer.encode("\n\n")?,
            continue_cue: tokenizer.encode("\nWait,")?,
        }),
        _ => None,
    };
    Ok(GenerationTokens { pad, stop, never: tokenizer.bos.into_iter().collect(), thinking })
}

/// The fields of `tokenizer_config.json` the loader reads.
#[derive(Default, serde::Deserialize)]
struct TokenizerConfig {
    #[serde(default, deserialize_with = "token_string")]
    bos_token: Option<String>,
    #[serde(default, deserialize_with = "token_string")]
    eos_token: Option<String>,
    #[serde(default)]
    add_bos_token: bool,
    chat_template: Option<String>,
}

/// A special token is written either as a string or as `{"content": "..."}`.
fn token_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Object(o) => o.get("content").and_then(|c| c.as_str()).map(str::to_string),
        _ => None,
    }))
}

use serde::Deserialize as _;

fn read_tokenizer_config(path: &Path) -> Result<TokenizerConfig> {
    if !path.exists() {
        return Ok(TokenizerConfig::default());
    }
    let err = |why: String| Error::Load { path: path.to_path_buf(), why };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| err(format!("not a valid tokenizer_config.json: {e}")))
}

/// `model.safetensors`, or the shards named in `model.safetensors.index.json`, or every
/// `*.safetensors` in the folder.
fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let err = |why: String| Error::Load { path: index.clone(), why };
        let text = std::fs::read_to_string(&index).map_err(|e| err(e.to_string()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(format!("invalid JSON: {e}")))?;
        let map = json.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| err("no `weight_map`".into()))?;
        let mut files: Vec<PathBuf> = map.values().filter_map(|v| v.as_str()).map(|f| dir.join(f)).collect();
        files.sort();
        files.dedup();
        return Ok(files);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Load { path: dir.to_path_buf(), why: e.to_string() })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Load { path: dir.to_path_buf(), why: "no *.safetensors weights in the folder".into() });
    }
    Ok(files)
}
