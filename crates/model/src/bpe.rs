//! Byte-level BPE tokenizers of real models, as Hugging Face `tokenizers`, built from a
//! GGUF file's `tokenizer.ggml.*` metadata or read from a `tokenizer.json`.
//!
//! The pre-tokenizer (how text is split before merging) is chosen by the GGUF's
//! `tokenizer.ggml.pre`, with the same regular expressions llama.cpp uses for that name.
//! Control and user-defined tokens (`<|im_start|>`, `<think>`, …) become added tokens, so
//! they are matched whole in prompt text, as llama.cpp does with `parse_special`.

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use crate::gguf::{Gguf, Value};
use crate::{Error, Result};

/// Qwen2's split (also DeepSeek-R1-Distill-Qwen): single digits, case-insensitive contractions.
const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's split: numbers in groups of up to three digits.
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// A real model's tokenizer and the ids the engine needs.
#[derive(Clone)]
pub struct BpeTokenizer {
    inner: Tokenizer,
    /// The begin-of-text token, if the vocabulary has one.
    pub bos: Option<u32>,
    /// The end-of-text token.
    pub eos: Option<u32>,
    /// Whether raw (non-chat) prompts start with `bos` (`tokenizer.ggml.add_bos_token`).
    pub add_bos: bool,
}

impl BpeTokenizer {
    /// Builds the tokenizer from GGUF metadata (`tokenizer.ggml.model = "gpt2"`, i.e. byte-level
    /// BPE, which SmolLM2, Llama 3 and Qwen2 use). `path` is only for error messages.
    pub fn from_gguf(gguf: &Gguf, path: &Path) -> Result<Self> {
        let err = |why: String| Error::Load { path: path.to_path_buf(), why };
        let kind = gguf.require_str("tokenizer.ggml.model", path)?;
        if kind != "gpt2" {
            return Err(err(format!(
                "tokenizer.ggml.model is `{kind}`; only byte-level BPE (`gpt2`: SmolLM2, Llama 3, Qwen2) is supported"
            )));
        }
        let tokens = string_array(gguf, "tokenizer.ggml.tokens", path)?;
        let merges = string_array(gguf, "tokenizer.ggml.merges", path)?;
        let types: Vec<i64> = match gguf.get("tokenizer.ggml.token_type").and_then(Value::as_array) {
            Some(values) => values.iter().map(|v| v.as_u64().map_or(1, |t| t as i64)).collect(),
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(err(format!("{} token types for {} tokens", types.len(), tokens.len())));
        }
        let vocab: tokenizers::models::bpe::Vocab =
            tokens.iter().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
        let merges = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| err(format!("merge `{m}` is not two tokens separated by a space")))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .ignore_merges(gguf.get("tokenizer.ggml.pre").and_then(Value::as_str) == Some("llama-bpe"))
            .build()
            .map_err(|e| err(format!("cannot build the BPE model: {e}")))?;
        let mut inner = Tokenizer::new(bpe);
        let pre = gguf.get("tokenizer.ggml.pre").and_then(Value::as_str).unwrap_or("default");
        inner.with_pre_tokenizer(Some(pre_tokenizer(pre).ok_or_else(|| {
            err(format!(
                "tokenizer.ggml.pre `{pre}` is not supported; supported: gpt2, smollm, starcoder, qwen2, \
                 deepseek-r1-qwen, llama-bpe, default"
            ))
        })?));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        let added: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, &t)| t == TOKEN_TYPE_CONTROL || t == TOKEN_TYPE_USER_DEFINED)
            .map(|(token, &t)| AddedToken::from(token.to_string(), t == TOKEN_TYPE_CONTROL).normalized(false))
            .collect();
        inner.add_special_tokens(added).map_err(|e| err(format!("cannot add the special tokens: {e}")))?;
        let id = |key: &str| {
            gguf.get(key).and_then(Value::as_u64).map(|v| v as u32).filter(|&v| (v as usize) < tokens.len())
        };
        Ok(Self {
            inner,
            bos: id("tokenizer.ggml.bos_token_id"),
            eos: id("tokenizer.ggml.eos_token_id"),
            add_bos: gguf.get("tokenizer.ggml.add_bos_token").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// Reads a Hugging Face `tokenizer.json`; `bos`/`eos` are the token strings named in
    /// `tokenizer_config.json` (looked up in the vocabulary).
    pub fn from_file(path: &Path, bos: Option<&str>, eos: Option<&str>, add_bos: bool) -> Result<Self> {
        let inner = Tokenizer::from_file(path)
            .map_err(|e| Error::Load { path: path.to_path_buf(), why: format!("not a valid tokenizer.json: {e}") })?;
        let bos = bos.and_then(|t| inner.token_to_id(t));
        let eos = eos.and_then(|t| inner.token_to_id(t));
        Ok(Self { inner, bos, eos, add_bos })
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_start|>`) become their ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| Error::Config(format!("cannot tokenize the prompt: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of `ids` (special tokens included, so `<think>` tags survive).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::Config(format!("cannot decode tokens: {e}")))
    }

    /// The id of a token written exactly as in the vocabulary (`<|im_end|>`).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The vocabulary's string for `id`.
    pub fn id_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Tokens in the vocabulary, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// The pre-tokenizer llama.cpp uses for a `tokenizer.ggml.pre` name.
fn pre_tokenizer(name: &str) -> Option<PreTokenizerWrapper> {
    let byte_level = |regex: bool| PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, regex));
    let split = |pattern: &str| -> Option<PreTokenizerWrapper> {
        let split =
            Split::new(SplitPattern::Regex(pattern.to_string()), SplitDelimiterBehavior::Isolated, false).ok()?;
        Some(PreTokenizerWrapper::Split(split))
    };
    Some(match name {
        // GPT-2's split (contractions, words, numbers, punctuation runs, whitespace), built into ByteLevel.
        "gpt2" | "default" => byte_level(true),
        // Digits one by one, then GPT-2's split.
        "smollm" | "starcoder" | "refact" | "codeshell" => PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            byte_level(true),
        ])),
        "qwen2" | "deepseek-r1-qwen" => {
            PreTokenizerWrapper::Sequence(Sequence::new(vec![split(QWEN2_PATTERN)?, byte_level(false)]))
        }
        "llama-bpe" | "llama3" => {
            PreTokenizerWrapper::Sequence(Sequence::new(vec![split(LLAMA3_PATTERN)?, byte_level(false)]))
        }
        _ => return None,
    })
}

/// A metadata array of strings.
fn string_array<'a>(gguf: &'a Gguf, key: &str, path: &Path) -> Result<Vec<&'a str>> {
    let err = |why: String| Error::Load { path: path.to_path_buf(), why };
    let values = gguf
        .get(key)
        .ok_or_else(|| err(format!("missing metadata `{key}`: the file has no tokenizer")))?
        .as_array()
        .ok_or_else(|| err(format!("metadata `{key}` is not an array")))?;
    values.iter().map(|v| v.as_str().ok_or_else(|| err(format!("metadata `{key}` holds a non-string")))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pre_tokenizer_pattern_compiles() {
        for name in ["gpt2", "default", "smollm", "qwen2", "deepseek-r1-qwen", "llama-bpe"] {
            assert!(pre_tokenizer(name).is_some(), "{name}");
        }
        assert!(pre_tokenizer("mystery").is_none());
    }
}
