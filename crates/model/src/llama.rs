//! Llama and Qwen2 decoders for inference (SmolLM2, Llama 3.x, Qwen2.5,
//! DeepSeek-R1-Distill-Qwen), with quantized weights from a GGUF file or dense weights from
//! Hugging Face safetensors.
//!
//! Reads top to bottom: config (from GGUF metadata or `config.json`), where weights come
//! from, layers, model. Inference only, so it uses candle's fused kernels (RMSNorm, rotary
//! embeddings, softmax) that the trainable tiny reasoner must avoid.

use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::gguf::Gguf;
use crate::quant::QuantMatrix;
use crate::{CausalLm, Error, GenerationTokens, KvCache, Result};

/// The decoder families this module runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// Llama (SmolLM2, Llama 3.x): no attention biases.
    Llama,
    /// Qwen2 (Qwen2.5, DeepSeek-R1-Distill-Qwen): biases on the q, k, v projections.
    Qwen2,
}

impl Arch {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "llama" | "LlamaForCausalLM" => Some(Self::Llama),
            "qwen2" | "Qwen2ForCausalLM" => Some(Self::Qwen2),
            _ => None,
        }
    }
}

/// The shape of a llama-family model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Architecture.
    pub arch: Arch,
    /// Tokens in the vocabulary (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Transformer blocks.
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_heads`).
    pub n_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Hidden width of the SwiGLU MLP.
    pub d_ff: usize,
    /// RMSNorm epsilon.
    pub norm_eps: f64,
    /// Rotary base frequency.
    pub rope_theta: f64,
    /// Longest context the model was trained for.
    pub max_seq_len: usize,
    /// Rotary pairs are adjacent (GGUF llama, whose q/k rows llama.cpp's converter permutes)
    /// rather than the two halves of a head (Hugging Face layout, GGUF qwen2).
    pub rope_interleaved: bool,
    /// Rotary frequency scaling from a Hugging Face `config.json` (GGUF files carry the
    /// resulting factors as the tensor `rope_freqs.weight` instead).
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
}

/// How a model stretches its rotary frequencies for a longer context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RopeScaling {
    /// Every angle divided by `factor` (`"rope_type": "linear"`).
    Linear {
        /// The divisor.
        factor: f64,
    },
    /// Llama 3.1's scheme (`"rope_type": "llama3"`): low frequencies divided by `factor`,
    /// high ones kept, those between blended smoothly.
    Llama3 {
        /// Divisor of the low frequencies.
        factor: f64,
        /// Wavelengths above `original_context / low_freq_factor` count as low.
        low_freq_factor: f64,
        /// Wavelengths below `original_context / high_freq_factor` count as high.
        high_freq_factor: f64,
        /// The context the model was first trained for.
        original_context: f64,
    },
}

impl RopeScaling {
    /// Reads `rope_scaling` from a `config.json`; `Ok(None)` for null.
    fn from_hf(value: &serde_json::Value) -> std::result::Result<Option<Self>, String> {
        if value.is_null() {
            return Ok(None);
        }
        let kind = value.get("rope_type").or_else(|| value.get("type")).and_then(|t| t.as_str()).unwrap_or("");
        let number = |key: &str| {
            value
                .get(key)
                .and_then(serde_json::Value::as_f64)
                .ok_or_else(|| format!("rope_scaling has no number `{key}`"))
        };
        match kind {
            "default" => Ok(None),
            "linear" => Ok(Some(Self::Linear { factor: number("factor")? })),
            "llama3" => Ok(Some(Self::Llama3 {
                factor: number("factor")?,
                low_freq_factor: number("low_freq_factor")?,
                high_freq_factor: number("high_freq_factor")?,
                original_context: number("original_max_position_embeddings")?,
            })),
            other => Err(format!(
                "rope_scaling type `{other}` is not supported (supported: linear, llama3); use the model's GGUF file"
            )),
        }
    }

    /// The divisor of each of the `head_dim / 2` rotary frequencies `base^(-2i/head_dim)`,
    /// computed as Hugging Face's `_compute_llama3_parameters` and llama.cpp's converter do.
    pub fn frequency_factors(&self, head_dim: usize, base: f64) -> Vec<f32> {
        (0..head_dim / 2)
            .map(|i| match *self {
                Self::Linear { factor } => factor as f32,
                Self::Llama3 { factor, low_freq_factor, high_freq_factor, original_context } => {
                    let wavelength = 2.0 * std::f64::consts::PI * base.powf(2.0 * i as f64 / head_dim as f64);
                    if wavelength < original_context / high_freq_factor {
                        1.0
                    } else if wavelength > original_context / low_freq_factor {
                        factor as f32
                    } else {
                        let smooth =
                            (original_context / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor);
                        (1.0 / ((1.0 - smooth) / factor + smooth)) as f32
                    }
                }
            })
            .collect()
    }
}

impl LlamaConfig {
    /// Reads the shape from GGUF metadata (`{arch}.block_count`, …).
    pub fn from_gguf(gguf: &Gguf, path: &Path) -> Result<Self> {
        let name = gguf.require_str("general.architecture", path)?;
        let arch = Arch::parse(name).ok_or_else(|| Error::Load {
            path: path.to_path_buf(),
            why: format!("architecture `{name}` is not supported; supported: llama, qwen2"),
        })?;
        let int = |key: &str| gguf.require_u64(&format!("{name}.{key}"), path).map(|v| v as usize);
        let d_model = int("embedding_length")?;
        let n_heads = int("attention.head_count")?;
        let n_kv_heads = match gguf.get(&format!("{name}.attention.head_count_kv")) {
            Some(_) => int("attention.head_count_kv")?,
            None => n_heads,
        };
        let vocab_size = match gguf.get("tokenizer.ggml.tokens").and_then(|v| v.as_array()) {
            Some(tokens) => tokens.len(),
            None => int("vocab_size")?,
        };
        let config = Self {
            arch,
            vocab_size,
            d_model,
            n_layers: int("block_count")?,
            n_heads,
            n_kv_heads,
            head_dim: d_model / n_heads.max(1),
            d_ff: int("feed_forward_length")?,
            norm_eps: f64::from(gguf.require_f32(&format!("{name}.attention.layer_norm_rms_epsilon"), path)?),
            rope_theta: match gguf.get(&format!("{name}.rope.freq_base")) {
                Some(_) => f64::from(gguf.require_f32(&format!("{name}.rope.freq_base"), path)?),
                None => 10_000.0,
            },
            max_seq_len: int("context_length")?,
            rope_interleaved: arch == Arch::Llama,
            rope_scaling: None, // GGUF files carry the factors as `rope_freqs.weight`
        };
        config.validate().map_err(|why| Error::Load { path: path.to_path_buf(), why })?;
        Ok(config)
    }

    /// Reads a Hugging Face `config.json`.
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let err = |why: String| Error::Load { path: path.to_path_buf(), why };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let hf: HfConfig = serde_json::from_str(&text).map_err(|e| err(format!("not a model config.json: {e}")))?;
        let arch_name = hf.architectures.first().cloned().or(hf.model_type.clone()).unwrap_or_default();
        let arch = Arch::parse(&arch_name).ok_or_else(|| {
            err(format!("architecture `{arch_name}` is not supported; supported: LlamaForCausalLM, Qwen2ForCausalLM"))
        })?;
        let rope_scaling = match &hf.rope_scaling {
            Some(value) => RopeScaling::from_hf(value).map_err(err)?,
            None => None,
        };
        let config = Self {
            arch,
            vocab_size: hf.vocab_size,
            d_model: hf.hidden_size,
            n_layers: hf.num_hidden_layers,
            n_heads: hf.num_attention_heads,
            n_kv_heads: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
            head_dim: hf.head_dim.unwrap_or(hf.hidden_size / hf.num_attention_heads.max(1)),
            d_ff: hf.intermediate_size,
            norm_eps: hf.rms_norm_eps,
            rope_theta: hf.rope_theta.unwrap_or(10_000.0),
            max_seq_len: hf.max_position_embeddings,
            rope_interleaved: false,
            rope_scaling,
        };
        config.validate().map_err(err)?;
        Ok(config)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let positive = [self.vocab_size, self.d_model, self.n_layers, self.n_heads, self.n_kv_heads, self.d_ff];
        if positive.contains(&0) || self.head_dim == 0 {
            return Err(format!("a size in the model config is zero: {self:?}"));
        }
        if !self.n_heads.is_multiple_of(self.n_kv_heads) || !self.head_dim.is_multiple_of(2) {
            return Err(format!(
                "{} query heads cannot share {} key/value heads of width {}",
                self.n_heads, self.n_kv_heads, self.head_dim
            ));
        }
        Ok(())
    }

    /// Weights used in matrix products (embedding lookups excluded, output head included).
    pub fn matmul_params(&self) -> usize {
        let (d, hd) = (self.d_model, self.head_dim);
        let attn = d * hd * (2 * self.n_heads + 2 * self.n_kv_heads);
        let mlp = 3 * d * self.d_ff;
        self.n_layers * (attn + mlp) + self.vocab_size * d
    }

    /// Forward FLOPs of one token at context length `context`: 2 per matmul weight, plus
    /// scores and weighted values over the context.
    pub fn flops_per_token(&self, context: usize) -> f64 {
        let attention = 4.0 * (self.n_layers * self.n_heads * self.head_dim * context) as f64;
        2.0 * self.matmul_params() as f64 + attention
    }
}

/// The fields of a Hugging Face `config.json` this module reads.
#[derive(Deserialize)]
struct HfConfig {
    #[serde(default)]
    architectures: Vec<String>,
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: f64,
    rope_theta: Option<f64>,
    max_position_embeddings: usize,
    rope_scaling: Option<serde_json::Value>,
}

/// Where the weights come from: a parsed GGUF file and its bytes, or dense tensors.
pub enum WeightSource<'a> {
    /// Quantized tensors inside a GGUF file.
    Gguf {
        /// The parsed header.
        gguf: &'a Gguf,
        /// The whole file.
        bytes: &'a [u8],
        /// For error messages.
        path: &'a Path,
    },
    /// Hugging Face tensors (any float dtype; converted to f32).
    Dense(VarBuilder<'a>),
}

/// A weight's name in each layout.
struct Name {
    gguf: String,
    hf: String,
}

impl Name {
    fn global(gguf: &str, hf: &str) -> Self {
        Self { gguf: gguf.into(), hf: hf.into() }
    }
    fn layer(i: usize, gguf: &str, hf: &str) -> Self {
        Self { gguf: format!("blk.{i}.{gguf}"), hf: format!("model.layers.{i}.{hf}") }
    }
}

impl WeightSource<'_> {
    fn has(&self, name: &Name) -> bool {
        match self {
            Self::Gguf { gguf, .. } => gguf.tensor(&name.gguf).is_some(),
            Self::Dense(vb) => vb.contains_tensor(&name.hf),
        }
    }

    /// The GGUF tensor `name`, checked against `shape` (candle order, outermost first).
    fn info<'g>(gguf: &'g Gguf, path: &Path, name: &Name, shape: &[usize]) -> Result<&'g crate::gguf::TensorInfo> {
        let err = |why: String| Error::Load { path: path.to_path_buf(), why };
        let info = gguf.tensor(&name.gguf).ok_or_else(|| err(format!("tensor `{}` is missing", name.gguf)))?;
        let dims: Vec<usize> = info.dims.iter().rev().map(|&d| d as usize).collect();
        if dims != shape {
            return Err(err(format!("tensor `{}` has shape {dims:?}, the config implies {shape:?}", name.gguf)));
        }
        Ok(info)
    }

    /// The tensor in its file format as a candle quantized tensor.
    fn qtensor(&self, name: &Name, shape: &[usize]) -> Result<Arc<QTensor>> {
        match self {
            Self::Gguf { gguf, bytes, path } => {
                let info = Self::info(gguf, path, name, shape)?;
                let data = gguf.tensor_bytes(info, bytes);
                Ok(Arc::new(qtensor_from_ggml(info.dtype, data, shape.to_vec(), &Device::Cpu)?))
            }
            Self::Dense(_) => Err(Error::Config(format!("`{}` is a dense tensor, not a quantized one", name.hf))),
        }
    }

    /// The tensor as f32.
    fn dense(&self, name: &Name, shape: &[usize]) -> Result<Tensor> {
        match self {
            Self::Gguf { .. } => Ok(self.qtensor(name, shape)?.dequantize(&Device::Cpu)?),
            Self::Dense(vb) => vb.get(shape, &name.hf).map_err(|e| Error::Config(format!("weight `{}`: {e}", name.hf))),
        }
    }

    /// A projection `x @ Wᵀ`, kept quantized when the file is.
    fn matmul(&self, name: &Name, shape: &[usize]) -> Result<Weight> {
        match self {
            Self::Gguf { gguf, bytes, path } => {
                let info = Self::info(gguf, path, name, shape)?;
                let kernel = match std::env::var_os("PONDER_CANDLE_QMATMUL") {
                    Some(_) => None, // candle's own quantized matmul, for comparisons
                    None => QuantMatrix::from_gguf(info.dtype, shape[0], shape[1], gguf.tensor_bytes(info, bytes)),
                };
                match kernel {
                    Some(kernel) => Ok(Weight::Kernel(kernel)),
                    None => Ok(Weight::Candle(QMatMul::from_arc(self.qtensor(name, shape)?)?)),
                }
            }
            Self::Dense(_) => Ok(Weight::Candle(QMatMul::Tensor(self.dense(name, shape)?))),
        }
    }
}

/// A weight matrix (out, in): our ggml-exact kernels for Q4_1 / Q8_0, candle for the rest.
#[derive(Clone)]
enum Weight {
    Kernel(QuantMatrix),
    Candle(QMatMul),
}

impl Weight {
    /// (…, in) → (…, out)
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Candle(w) => Ok(w.forward(x)?),
            Self::Kernel(w) => {
                let mut dims = x.dims().to_vec();
                let input = x.flatten_all()?.to_vec1::<f32>()?;
                *dims.last_mut().expect("rank ≥ 1") = w.rows();
                Ok(Tensor::from_vec(w.matmul(&input), dims, x.device())?)
            }
        }
    }

    /// Rows `ids` (…) → (…, in), for an embedding table.
    fn embedding(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            Self::Candle(w) => Ok(w.embedding(ids)?),
            Self::Kernel(w) => {
                let ids = ids.flatten_all()?.to_vec1::<u32>()?;
                let cols = w.cols();
                let mut out = vec![0f32; ids.len() * cols];
                for (row, &id) in out.chunks_exact_mut(cols).zip(&ids) {
                    if id as usize >= w.rows() {
                        return Err(Error::Config(format!("token id {id} is outside the vocabulary of {}", w.rows())));
                    }
                    w.row(id as usize, row);
                }
                Ok(Tensor::from_vec(out, (ids.len(), cols), &Device::Cpu)?)
            }
        }
    }
}

/// A projection with an optional bias.
struct Linear {
    weight: Weight,       // (out, in)
    bias: Option<Tensor>, // (out)
}

impl Linear {
    fn load(source: &WeightSource, name: &Name, shape: [usize; 2], bias: bool) -> Result<Self> {
        let bias = if bias {
            let bias_name =
                Name { gguf: name.gguf.replace(".weight", ".bias"), hf: name.hf.replace(".weight", ".bias") };
            Some(source.dense(&bias_name, &shape[..1])?)
        } else {
            None
        };
        Ok(Self { weight: source.matmul(name, &shape)?, bias })
    }

    /// Output width.
    fn out_features(&self) -> usize {
        match &self.weight {
            Weight::Kernel(k) => k.rows(),
            Weight::Candle(QMatMul::QTensor(q)) => q.shape().dims()[0],
            Weight::Candle(QMatMul::Tensor(t) | QMatMul::TensorF16(t)) => t.dims()[0],
        }
    }

    /// (…, in) → (…, out)
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.weight.forward(x)?;
        Ok(match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
}

/// One pre-norm block: attention then SwiGLU MLP, each added to the residual stream.
struct Block {
    attn_norm: Tensor,    // (d)
    qkv: Projections,     // q (n_heads·hd, d), k and v (n_kv·hd, d)
    o: Linear,            // (d, n_heads·hd)
    mlp_norm: Tensor,     // (d)
    gate_up: Projections, // gate and up (d_ff, d)
    down: Linear,         // (d, d_ff)
}

/// Projections of the same input. When every weight uses our kernels they are stacked into
/// one matrix at load, so the input is quantized once and the threads are forked once; each
/// output row is computed exactly as it would be alone.
struct Projections {
    parts: Vec<Linear>,
    stacked: Option<Weight>,
}

impl Projections {
    fn new(parts: Vec<Linear>) -> Self {
        let kernels: Option<Vec<&QuantMatrix>> = parts
            .iter()
            .map(|p| match &p.weight {
                Weight::Kernel(k) => Some(k),
                Weight::Candle(_) => None,
            })
            .collect();
        let stacked = kernels.and_then(|k| QuantMatrix::stack(&k)).map(Weight::Kernel);
        Self { parts, stacked }
    }

    /// (…, in) → one (…, out_i) per projection.
    fn forward(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        let Some(stacked) = &self.stacked else {
            return self.parts.iter().map(|p| p.forward(x)).collect();
        };
        let y = stacked.forward(x)?; // (…, Σ out_i)
        let mut start = 0;
        self.parts
            .iter()
            .map(|p| {
                let width = p.out_features();
                let part = y.narrow(candle_core::D::Minus1, start, width)?;
                start += width;
                Ok(match &p.bias {
                    Some(b) => part.broadcast_add(b)?,
                    None => part,
                })
            })
            .collect()
    }
}

impl Block {
    fn load(source: &WeightSource, c: &LlamaConfig, i: usize) -> Result<Self> {
        let (d, hd) = (c.d_model, c.head_dim);
        let bias = c.arch == Arch::Qwen2;
        let n = |gguf: &str, hf: &str| Name::layer(i, gguf, hf);
        Ok(Self {
            attn_norm: source.dense(&n("attn_norm.weight", "input_layernorm.weight"), &[d])?,
            qkv: Projections::new(vec![
                Linear::load(source, &n("attn_q.weight", "self_attn.q_proj.weight"), [c.n_heads * hd, d], bias)?,
                Linear::load(source, &n("attn_k.weight", "self_attn.k_proj.weight"), [c.n_kv_heads * hd, d], bias)?,
                Linear::load(source, &n("attn_v.weight", "self_attn.v_proj.weight"), [c.n_kv_heads * hd, d], bias)?,
            ]),
            o: Linear::load(source, &n("attn_output.weight", "self_attn.o_proj.weight"), [d, c.n_heads * hd], false)?,
            mlp_norm: source.dense(&n("ffn_norm.weight", "post_attention_layernorm.weight"), &[d])?,
            gate_up: Projections::new(vec![
                Linear::load(source, &n("ffn_gate.weight", "mlp.gate_proj.weight"), [c.d_ff, d], false)?,
                Linear::load(source, &n("ffn_up.weight", "mlp.up_proj.weight"), [c.d_ff, d], false)?,
            ]),
            down: Linear::load(source, &n("ffn_down.weight", "mlp.down_proj.weight"), [d, c.d_ff], false)?,
        })
    }
}

/// A llama-family decoder ready for inference.
pub struct Llama {
    config: LlamaConfig,
    embed: Weight, // (vocab, d), looked up by row
    blocks: Vec<Block>,
    norm: Tensor, // (d)
    head: Weight, // (vocab, d); the embedding itself when tied
    cos: Tensor,  // (context, hd / 2)
    sin: Tensor,  // (context, hd / 2)
    steer: GenerationTokens,
}

impl Llama {
    /// Builds the model from `source`; `steer` holds the tokenizer's stop and thinking ids.
    pub fn load(config: LlamaConfig, source: &WeightSource, steer: GenerationTokens) -> Result<Self> {
        let (v, d) = (config.vocab_size, config.d_model);
        let embed_name = Name::global("token_embd.weight", "model.embed_tokens.weight");
        let embed = source.matmul(&embed_name, &[v, d])?;
        let head_name = Name::global("output.weight", "lm_head.weight");
        let head = if source.has(&head_name) { source.matmul(&head_name, &[v, d])? } else { embed.clone() };
        let blocks = (0..config.n_layers).map(|i| Block::load(source, &config, i)).collect::<Result<Vec<_>>>()?;
        let norm = source.dense(&Name::global("output_norm.weight", "model.norm.weight"), &[d])?;
        // Llama 3.1 files carry per-frequency rotary scaling factors.
        let freq_factors = match source {
            WeightSource::Gguf { gguf, .. } if gguf.tensor("rope_freqs.weight").is_some() => {
                Some(source.dense(&Name::global("rope_freqs.weight", ""), &[config.head_dim / 2])?.to_vec1::<f32>()?)
            }
            _ => config.rope_scaling.as_ref().map(|s| s.frequency_factors(config.head_dim, config.rope_theta)),
        };
        let (cos, sin) = rope_tables(&config, freq_factors.as_deref())?;
        Ok(Self { embed, blocks, norm, head, cos, sin, steer, config })
    }

    /// The model's shape.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Final norm and output head: (…, d) → (…, vocab).
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        self.head.forward(&candle_nn::ops::rms_norm(x, &self.norm, self.config.norm_eps as f32)?)
    }

    /// The residual stream after the last block, (b, t, d), before the final norm. Arguments
    /// as in [`CausalLm::forward`].
    fn hidden(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        mut cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, t) = tokens.dims2()?;
        let flat_positions = positions.flatten_all()?;
        let top = flat_positions.max(0)?.to_scalar::<u32>()? as usize;
        if top >= self.max_seq_len() {
            return Err(Error::Config(format!("position {top} is past the model's context of {}", self.max_seq_len())));
        }
        let half = c.head_dim / 2;
        let cos = self.cos.index_select(&flat_positions, 0)?.reshape((b, t, half))?;
        let sin = self.sin.index_select(&flat_positions, 0)?.reshape((b, t, half))?;
        let eps = c.norm_eps as f32;
        let pads = leading_padding(mask)?;
        let mask = &infinite_mask(mask)?;
        let mut x = self.embed.embedding(tokens)?.reshape((b, t, c.d_model))?; // (b, t, d)
        for (layer, block) in self.blocks.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| (c, layer));
            let h = candle_nn::ops::rms_norm(&x, &block.attn_norm, eps)?;
            x = (x + self.attention(block, &h, (&cos, &sin), mask, &pads, layer_cache)?)?;
            let h = candle_nn::ops::rms_norm(&x, &block.mlp_norm, eps)?;
            let gate_up = block.gate_up.forward(&h)?; // (b, t, d_ff) each
            let hidden = (gate_up[0].silu()? * &gate_up[1])?;
            x = (x + block.down.forward(&hidden)?)?;
        }
        if let Some(cache) = cache {
            cache.advance(t);
        }
        Ok(x)
    }

    /// Attention of one block over the new tokens and the cache. `x`: (b, t, d) normalised;
    /// `mask`: (b, 1, t, keys); `cos`/`sin`: (b, t, hd/2). Returns (b, t, d).
    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        (cos, sin): (&Tensor, &Tensor),
        mask: &Tensor,
        pads: &[usize],
        cache: Option<(&mut KvCache, usize)>,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, t, _) = x.dims3()?;
        let qkv = block.qkv.forward(x)?; // (b, t, n·hd) each
        let heads = |y: &Tensor, n: usize| -> Result<Tensor> {
            Ok(y.reshape((b, t, n, c.head_dim))?.transpose(1, 2)?.contiguous()?)
            // (b, n, t, hd)
        };
        let rotate = |x: Tensor| -> Result<Tensor> {
            Ok(if c.rope_interleaved {
                candle_nn::rotary_emb::rope_i(&x, cos, sin)?
            } else {
                candle_nn::rotary_emb::rope(&x, cos, sin)?
            })
        };
        // Keys and values are rounded to f16, as llama.cpp stores its KV cache, and so are the
        // queries, as llama.cpp's attention converts them.
        let q = f16_round(&rotate(heads(&qkv[0], c.n_heads)?)?)?;
        let k = f16_round(&rotate(heads(&qkv[1], c.n_kv_heads)?)?)?;
        let v = f16_round(&heads(&qkv[2], c.n_kv_heads)?)?;
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, &k, &v)?, // (b, n_kv, keys, hd)
            None => (k, v),
        };
        let scale = 1.0 / (c.head_dim as f64).sqrt();
        let y = attend_unpadded(&q, &k, &v, mask, pads, scale)?; // (b, h, t, hd)
        let y = y.transpose(1, 2)?.reshape((b, t, c.n_heads * c.head_dim))?;
        block.o.forward(&y)
    }
}

impl CausalLm for Llama {
    fn forward(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        in_pool(|| self.logits(&self.hidden(tokens, positions, mask, cache)?)) // (b, t, vocab)
    }

    fn forward_last(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        in_pool(|| {
            let x = self.hidden(tokens, positions, mask, cache)?; // (b, t, d)
            let last = x.narrow(1, x.dim(1)? - 1, 1)?.squeeze(1)?.contiguous()?; // (b, d)
            self.logits(&last) // (b, vocab)
        })
    }

    fn new_cache(&self, batch: usize, capacity: usize) -> Result<KvCache> {
        let c = &self.config;
        KvCache::new(c.n_layers, batch, c.n_kv_heads, c.head_dim, capacity, &Device::Cpu)
    }

    fn max_seq_len(&self) -> usize {
        self.cos.dim(0).unwrap_or(0)
    }

    fn device(&self) -> &Device {
        &Device::Cpu
    }

    fn generation_tokens(&self) -> &GenerationTokens {
        &self.steer
    }

    fn flops_per_token(&self, context: usize) -> f64 {
        self.config.flops_per_token(context)
    }
}

/// Runs `f` on a thread of rayon's pool. The kernels fork hundreds of times per token; forked
/// from a pool thread, that thread takes part in the work, where the caller's own thread
/// would hand every fork over and sleep.
fn in_pool<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let mut out = None;
    rayon::scope(|_| out = Some(f()));
    out.expect("the scope ran its body")
}

/// Per sequence, the keys hidden from its last query: the left padding of its prompt.
/// `mask`: (b, 1, t, keys).
fn leading_padding(mask: &Tensor) -> Result<Vec<usize>> {
    let t = mask.dim(2)?;
    let last: Vec<Vec<f32>> = mask.narrow(2, t - 1, 1)?.squeeze(2)?.squeeze(1)?.to_vec2()?; // (b, keys)
    Ok(last.iter().map(|row| row.iter().take_while(|&&m| m <= -1e8).count()).collect())
}

/// Scaled dot-product attention computed for each sequence over its own keys only, as if it
/// were alone: padding never enters a sum, so a sequence gets bit-identical results whatever
/// else is in the batch (summation order depends on the length summed over). Sequences with
/// the same padding are computed together.
///
/// Grouped-query attention without copying the cache: the `group` query heads that share a
/// key/value head are stacked as `group · t` query rows against that head, so each score is
/// the same dot product as with the keys repeated per query head (repeating them copied the
/// whole cache `group` times per layer and token: 10% of two-thread generation time).
///
/// `q`: (b, h, t, hd); `k`, `v`: (b, n_kv, keys, hd) with `h = n_kv · group`; `mask`:
/// (b, 1, t, keys); `pads[i]`: the leading padded keys of sequence `i`. Rows of padded
/// queries come out as zeros. Returns (b, h, t, hd).
fn attend_unpadded(q: &Tensor, k: &Tensor, v: &Tensor, mask: &Tensor, pads: &[usize], scale: f64) -> Result<Tensor> {
    let (b, h, t, hd) = q.dims4()?;
    let (n_kv, keys) = (k.dim(1)?, k.dim(2)?);
    if n_kv == 0 || h % n_kv != 0 {
        return Err(Error::Config(format!("{h} query heads cannot share {n_kv} key/value heads evenly")));
    }
    let group = h / n_kv;
    let cached = keys - t;
    let mut out: Vec<Option<Tensor>> = vec![None; b];
    let mut distinct: Vec<usize> = pads.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    for pad in distinct {
        let members: Vec<u32> = (0..b as u32).filter(|&i| pads[i as usize] == pad).collect();
        let ids = Tensor::new(members.as_slice(), q.device())?;
        let pick = |x: &Tensor| -> Result<Tensor> {
            Ok(if members.len() == b { x.clone() } else { x.contiguous()?.index_select(&ids, 0)? })
        };
        let skip_q = pad.saturating_sub(cached).min(t); // padded query rows (prefill only)
        let q = pick(q)?.narrow(2, skip_q, t - skip_q)?;
        let k = pick(k)?.narrow(2, pad, keys - pad)?;
        let v = pick(v)?.narrow(2, pad, keys - pad)?;
        let mask = pick(mask)?.narrow(2, skip_q, t - skip_q)?.narrow(3, pad, keys - pad)?;
        let (g, rows) = (members.len(), t - skip_q);
        let q = q.contiguous()?.reshape((g, n_kv, group * rows, hd))?;
        let scores = q.matmul(&k.t()?)?.reshape((g, h, rows, keys - pad))?; // (g, h, t', keys')
        let weights = attention_weights(&scores, &mask, scale)?.reshape((g, n_kv, group * rows, keys - pad))?;
        let mut y = weights.matmul(&v)?.reshape((g, h, rows, hd))?; // (g, h, t', hd)
        if skip_q > 0 {
            y = Tensor::cat(&[Tensor::zeros((g, h, skip_q, hd), y.dtype(), y.device())?, y], 2)?;
        }
        if members.len() == b {
            return Ok(y);
        }
        for (j, &i) in members.iter().enumerate() {
            out[i as usize] = Some(y.narrow(0, j, 1)?);
        }
    }
    let parts: Vec<Tensor> =
        out.into_iter().map(|y| y.ok_or_else(|| Error::Config("unassigned sequence".into()))).collect::<Result<_>>()?;
    Ok(Tensor::cat(&parts, 0)?)
}

/// The additive mask with hidden keys at −∞ instead of a large negative number: the same
/// zero weights after softmax, but `expf(−∞)` returns at once where `expf(−1e9)` takes
/// libm's slow underflow path (9% of a 512-token prompt's time in a profile). Every query
/// row that reaches the softmax sees at least itself, so no row is all −∞.
fn infinite_mask(mask: &Tensor) -> Result<Tensor> {
    let hidden = Tensor::full(f32::NEG_INFINITY, mask.shape(), mask.device())?;
    Ok(mask.ge(-1e8)?.where_cond(mask, &hidden)?)
}

/// Attention weights from raw scores in one parallel pass per row: `scores · scale + mask`,
/// softmax over the keys, then rounded to f16 (llama.cpp's weights meet its f16 values as
/// f16). The arithmetic and its order are those of candle's `affine`, `broadcast_add`,
/// `softmax_last_dim` and [`f16_round`] one after another (a test checks it bit for bit, so
/// the llama.cpp agreement holds), but candle's `affine` runs on one thread, and four
/// passes over the (g, h, t, keys) scores become one.
///
/// `scores`: (g, h, t, keys); `mask`: (g, 1, t, keys). Returns (g, h, t, keys).
#[allow(unsafe_code)] // candle's own max and sum reductions, for its summation order
fn attention_weights(scores: &Tensor, mask: &Tensor, scale: f64) -> Result<Tensor> {
    use candle_core::cpu::kernels::VecOps;
    use half::slice::HalfFloatSliceExt;
    use rayon::prelude::*;
    let (g, h, t, keys) = scores.dims4()?;
    if mask.dims4()? != (g, 1, t, keys) {
        return Err(Error::Config(format!("attention mask {:?} does not fit scores {:?}", mask.dims(), scores.dims())));
    }
    let mut values = scores.flatten_all()?.to_vec1::<f32>()?;
    let mask = mask.flatten_all()?.to_vec1::<f32>()?; // (g, t, keys)
    let scale = scale as f32;
    let row_buffer = || vec![half::f16::ZERO; keys]; // one per rayon task, not per row
    values.par_chunks_mut(keys).enumerate().for_each_init(row_buffer, |halves, (row, x)| {
        let (sequence, query) = (row / (h * t), row % t);
        let mask = &mask[(sequence * t + query) * keys..][..keys];
        for (x, m) in x.iter_mut().zip(mask) {
            *x = *x * scale + m;
        }
        let mut max = f32::NEG_INFINITY;
        // SAFETY: both pointers come from live slices of `keys` elements.
        unsafe { f32::vec_reduce_max(x.as_ptr(), &mut max, keys) };
        for x in x.iter_mut() {
            *x = (*x - max).exp();
        }
        let mut sum = 0f32;
        // SAFETY: as above.
        unsafe { f32::vec_reduce_sum(x.as_ptr(), &mut sum, keys) };
        for x in x.iter_mut() {
            *x /= sum;
        }
        halves.convert_from_f32_slice(x);
        halves.convert_to_f32_slice(x);
    });
    Ok(Tensor::from_vec(values, (g, h, t, keys), scores.device())?)
}

/// `x` rounded to the nearest f16 value, kept in f32. Done in parallel slices with `half`'s
/// vectorised conversions: candle's `to_dtype` converts one element at a time on one thread,
/// which held back prompt processing on two threads.
fn f16_round(x: &Tensor) -> Result<Tensor> {
    use half::slice::HalfFloatSliceExt;
    use rayon::prelude::*;
    const CHUNK: usize = 4096;
    let mut values = x.flatten_all()?.to_vec1::<f32>()?;
    values.par_chunks_mut(CHUNK).for_each(|chunk| {
        let mut halves = [half::f16::ZERO; CHUNK];
        let halves = &mut halves[..chunk.len()];
        halves.convert_from_f32_slice(chunk);
        halves.convert_to_f32_slice(chunk);
    });
    Ok(Tensor::from_vec(values, x.dims(), x.device())?)
}

/// The longest context served, whatever the model claims (the rotary tables cost
/// 2 × this × head_dim / 2 floats).
const MAX_CONTEXT: usize = 32_768;

/// Rotary tables (context, hd / 2) for `context = min(max_seq_len, MAX_CONTEXT)`:
/// `cos`/`sin` of `p · base^(-2i/d) / factor_i`, the angle built by repeated multiplication
/// in f32 as ggml's rope cache builds it (so positions agree with llama.cpp's to the bit).
fn rope_tables(c: &LlamaConfig, factors: Option<&[f32]>) -> Result<(Tensor, Tensor)> {
    let (half, context) = (c.head_dim / 2, c.max_seq_len.min(MAX_CONTEXT));
    let theta_scale = (c.rope_theta as f32).powf(-2.0 / c.head_dim as f32);
    let (mut cos, mut sin) = (Vec::with_capacity(context * half), Vec::with_capacity(context * half));
    for p in 0..context {
        let mut theta = p as f32;
        for i in 0..half {
            let angle = theta / factors.map_or(1.0, |f| f[i]);
            cos.push(angle.cos());
            sin.push(angle.sin());
            theta *= theta_scale;
        }
    }
    Ok((Tensor::from_vec(cos, (context, half), &Device::Cpu)?, Tensor::from_vec(sin, (context, half), &Device::Cpu)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grouped-query attention over a strided cache view, with left padding, against plain
    /// loops where query head `h` reads key/value head `h / group` (llama's convention).
    #[test]
    fn grouped_query_attention_matches_plain_loops_with_shared_heads() {
        let device = Device::Cpu;
        let (b, h, n_kv, t, keys, hd, capacity) = (2, 6, 2, 3, 7, 8, 10);
        let group = h / n_kv;
        let q = Tensor::randn(0f32, 1.0, (b, h, t, hd), &device).expect("q");
        // Keys and values are views of a larger cache, as `KvCache::append` returns them.
        let cache = |seed: f32| {
            (Tensor::randn(0f32, 1.0, (b, n_kv, capacity, hd), &device).expect("cache") + seed as f64)
                .and_then(|c| c.narrow(2, 0, keys))
                .expect("view")
        };
        let (k, v) = (cache(0.0), cache(0.5));
        let pads = [0usize, 2];
        let cached = keys - t;
        let hidden = |i: usize, r: usize, j: usize| j < pads[i] || j > cached + r;
        let mask: Vec<f32> = (0..b * t * keys)
            .map(|x| if hidden(x / (t * keys), (x / keys) % t, x % keys) { -1e9 } else { 0.0 })
            .collect();
        let mask = infinite_mask(&Tensor::from_vec(mask, (b, 1, t, keys), &device).expect("mask")).expect("mask");
        let scale = 1.0 / (hd as f64).sqrt();
        let got = attend_unpadded(&q, &k, &v, &mask, &pads, scale).expect("attention");
        assert_eq!(got.dims(), &[b, h, t, hd]);

        let flat = |x: &Tensor| x.flatten_all().and_then(|x| x.to_vec1::<f32>()).expect("values");
        let (q, k, v, got) = (flat(&q), flat(&k), flat(&v), flat(&got));
        // Key or value `j` of sequence `i`, head `kv`, in the (b, n_kv, keys, hd) layout.
        fn row(x: &[f32], (i, kv, j): (usize, usize, usize), (n_kv, keys, hd): (usize, usize, usize)) -> &[f32] {
            &x[((i * n_kv + kv) * keys + j) * hd..][..hd]
        }
        let mut worst = 0f32;
        for i in 0..b {
            for head in 0..h {
                let kv = head / group;
                for r in 0..t {
                    let query = &q[((i * h + head) * t + r) * hd..][..hd];
                    let shape = (n_kv, keys, hd);
                    let scores: Vec<f32> = (0..keys)
                        .map(|j| match hidden(i, r, j) {
                            true => f32::NEG_INFINITY,
                            false => {
                                let key = row(&k, (i, kv, j), shape);
                                query.iter().zip(key).map(|(a, b)| a * b).sum::<f32>() * scale as f32
                            }
                        })
                        .collect();
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let total: f32 = scores.iter().map(|s| (s - max).exp()).sum();
                    for d in 0..hd {
                        let want: f32 =
                            (0..keys).map(|j| (scores[j] - max).exp() / total * row(&v, (i, kv, j), shape)[d]).sum();
                        let have = got[((i * h + head) * t + r) * hd + d];
                        worst = worst.max((want - have).abs());
                    }
                }
            }
        }
        // The weights are rounded to f16 (as llama.cpp's are): agreement to that precision.
        assert!(worst < 2e-3, "grouped attention differs from the plain loops by {worst}");
    }

    /// The fused scale, mask, softmax and f16 rounding against candle's separate ops.
    #[test]
    fn fused_attention_weights_match_candles_ops_bit_for_bit() {
        let device = Device::Cpu;
        let (g, h, t, keys) = (2, 3, 5, 9);
        let scores = Tensor::randn(0f32, 3.0, (g, h, t, keys), &device).expect("scores");
        // Causal with two leading hidden keys for the second sequence, as prompts with padding get.
        let mask: Vec<f32> = (0..g * t * keys)
            .map(|i| {
                let (sequence, query, key) = (i / (t * keys), (i / keys) % t, i % keys);
                if key > query + keys - t || (sequence == 1 && key < 2) {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, (g, 1, t, keys), &device).expect("mask");
        let scale = 1.0 / 8f64.sqrt();
        let unfused = (scores.clone() * scale).and_then(|s| s.broadcast_add(&mask)).expect("masked");
        let unfused = f16_round(&candle_nn::ops::softmax_last_dim(&unfused).expect("softmax")).expect("round");
        let fused = attention_weights(&scores, &mask, scale).expect("fused");
        let values = |x: &Tensor| x.flatten_all().and_then(|x| x.to_vec1::<f32>()).expect("f32 values");
        let (a, b) = (values(&unfused), values(&fused));
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{a:?}\n{b:?}");
        assert!(attention_weights(&scores, &mask.narrow(3, 0, 4).expect("narrow"), scale).is_err());
    }

    /// Llama 3.1 8B's `rope_scaling`, against factors computed with Hugging Face's formula
    /// (`inv_freq / inv_freq_llama`) in Python.
    #[test]
    fn llama3_rope_scaling_matches_hugging_face() {
        let value = serde_json::json!({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192});
        let scaling = RopeScaling::from_hf(&value).expect("valid").expect("some");
        let factors = scaling.frequency_factors(128, 500_000.0);
        assert_eq!(factors.len(), 64);
        assert!(factors[..29].iter().all(|&f| f == 1.0), "high frequencies are kept");
        assert!(factors[35..].iter().all(|&f| f == 8.0), "low frequencies are divided by the factor");
        let expected = [1.207484, 1.553415, 2.026313, 2.69453, 3.684253, 5.257327];
        for (i, want) in expected.iter().enumerate() {
            assert!((factors[29 + i] - want).abs() < 1e-5, "factor {}: {} vs {want}", 29 + i, factors[29 + i]);
        }
    }

    #[test]
    fn other_rope_scalings_are_read_or_refused_clearly() {
        let linear = RopeScaling::from_hf(&serde_json::json!({"type": "linear", "factor": 2.0})).expect("valid");
        assert_eq!(linear, Some(RopeScaling::Linear { factor: 2.0 }));
        assert_eq!(RopeScaling::from_hf(&serde_json::Value::Null).expect("null"), None);
        let yarn = RopeScaling::from_hf(&serde_json::json!({"rope_type": "yarn", "factor": 4.0}));
        assert!(yarn.expect_err("unsupported").contains("`yarn` is not supported"));
        let broken = RopeScaling::from_hf(&serde_json::json!({"rope_type": "llama3", "factor": 8.0}));
        assert!(broken.expect_err("incomplete").contains("low_freq_factor"));
    }
}
