//! The tiny reasoner: a llama-style decoder (token embedding, RMSNorm, rotary position
//! embeddings, causal multi-head attention with optional grouped-query heads, SwiGLU MLP,
//! tied or untied output head), small enough to train from scratch on a laptop CPU.
//!
//! Reads top to bottom: config, layers, model, weights on disk. Every op here records a
//! backward pass (no fused candle fast paths, which silently drop gradients); a test checks
//! that every parameter receives a gradient.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::cache::repeat_heads;
use crate::decode_attention::{decode_attention, left_padding};
use crate::{
    document_attention, special, BudgetTokens, ByteTokenizer, CausalLm, DocumentMask, Error, GenerationTokens, KvCache,
    Result, BYTE_VOCAB_SIZE,
};

/// Named model sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// ~0.5M parameters: d 128, 2 layers. The default tiny reasoner: it pretrains, RL-trains
    /// and sweeps within minutes on 2 CPU cores.
    Nano,
    /// ~3.5M parameters: d 256, 4 layers. For runs of hours.
    Micro,
    /// ~27M parameters: d 512, 8 layers. For longer runs.
    Small,
}

impl std::str::FromStr for Preset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nano" => Ok(Preset::Nano),
            "micro" => Ok(Preset::Micro),
            "small" => Ok(Preset::Small),
            other => Err(Error::Config(format!("unknown preset `{other}`: expected nano, micro or small"))),
        }
    }
}

/// The shape of a tiny reasoner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TinyConfig {
    /// Token ids: 256 bytes + specials.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Number of transformer blocks.
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads (`n_heads` for plain multi-head attention, fewer for grouped-query).
    pub n_kv_heads: usize,
    /// Hidden width of the SwiGLU MLP.
    pub d_ff: usize,
    /// Longest sequence (prompt + completion) the rotary tables cover.
    pub max_seq_len: usize,
    /// Rotary base frequency.
    pub rope_theta: f32,
    /// RMSNorm epsilon.
    pub norm_eps: f64,
    /// Output head shares the embedding matrix (saves `vocab × d_model` parameters).
    pub tie_embeddings: bool,
}

impl TinyConfig {
    /// The configuration of a preset. Heads are 32 wide (a good fit for byte-level
    /// attention at this scale); the MLP is 3× wide as in llama's SwiGLU (⅔ of 4×, rounded).
    pub fn preset(preset: Preset) -> Self {
        let (d_model, n_layers) = match preset {
            Preset::Nano => (128, 2),
            Preset::Micro => (256, 4),
            Preset::Small => (512, 8),
        };
        Self::with_shape(d_model, n_layers)
    }

    /// A model `d_model` wide and `n_layers` deep, shaped as the presets are: heads 32 wide
    /// (at least one), the MLP 3× wide.
    pub fn with_shape(d_model: usize, n_layers: usize) -> Self {
        let n_heads = (d_model / 32).max(1);
        Self {
            vocab_size: BYTE_VOCAB_SIZE,
            d_model,
            n_layers,
            n_heads,
            n_kv_heads: n_heads,
            d_ff: 3 * d_model,
            max_seq_len: 1024,
            rope_theta: 10_000.0,
            norm_eps: 1e-5,
            tie_embeddings: true,
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }

    /// Checks that the shape is usable.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::Config(why));
        if self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return bad(format!("d_model {} is not a multiple of n_heads {}", self.d_model, self.n_heads));
        }
        if self.n_kv_heads == 0 || !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return bad(format!("n_heads {} is not a multiple of n_kv_heads {}", self.n_heads, self.n_kv_heads));
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad(format!("head width {} must be even for rotary embeddings", self.head_dim()));
        }
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        let (d, kv) = (self.d_model, self.n_kv_heads * self.head_dim());
        let per_layer = 2 * d * d + 2 * d * kv + 3 * d * self.d_ff + 2 * d;
        let head = if self.tie_embeddings { 0 } else { self.vocab_size * d };
        self.vocab_size * d + self.n_layers * per_layer + d + head
    }

    /// Forward FLOPs for one token attending to `context` earlier tokens: 2 per
    /// multiply-add of every weight matrix (embedding lookup excluded, output head
    /// included) plus the attention scores and weighted sum. Training costs 3× this.
    pub fn flops_per_token(&self, context: usize) -> f64 {
        let (d, kv) = (self.d_model as f64, (self.n_kv_heads * self.head_dim()) as f64);
        let matmul = self.n_layers as f64 * (2.0 * d * d + 2.0 * d * kv + 3.0 * d * self.d_ff as f64)
            + d * self.vocab_size as f64;
        let attention = self.n_layers as f64 * 2.0 * d * context as f64;
        2.0 * (matmul + attention)
    }
}

/// `x @ wᵀ` for `x` of any rank (…, in) and `w` (out, in), as one 2-D matmul.
fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let (rows, inner) = (dims[..dims.len() - 1].iter().product::<usize>(), dims[dims.len() - 1]);
    let y = x.reshape((rows, inner))?.matmul(&w.t()?)?; // (rows, out)
    let mut out_dims = dims;
    *out_dims.last_mut().expect("rank ≥ 1") = w.dim(0)?;
    Ok(y.reshape(out_dims)?)
}

/// RMSNorm written with differentiable ops: `x / sqrt(mean(x²) + eps) * weight`.
struct RmsNorm {
    weight: Tensor, // (d_model)
    eps: f64,
}

impl RmsNorm {
    fn new(vb: VarBuilder, d: usize, eps: f64) -> Result<Self> {
        Ok(Self { weight: vb.get(d, "weight")?, eps })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean_sq = x.sqr()?.mean_keepdim(D::Minus1)?; // (…, 1)
        let inv = (mean_sq + self.eps)?.sqrt()?.recip()?;
        Ok(x.broadcast_mul(&inv)?.broadcast_mul(&self.weight)?)
    }
}

/// Rotates the two halves of every head (`x1, x2 → x1·cos − x2·sin, x2·cos + x1·sin`),
/// the non-interleaved rotary layout of llama in Hugging Face format.
/// `x`: (batch, heads, seq, head_dim); `cos`, `sin`: (batch, 1, seq, head_dim / 2).
fn rotate(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let r1 = (x1.broadcast_mul(cos)? - x2.broadcast_mul(sin)?)?;
    let r2 = (x2.broadcast_mul(cos)? + x1.broadcast_mul(sin)?)?;
    Ok(Tensor::cat(&[r1, r2], D::Minus1)?)
}

/// What each query of a pass may attend to.
enum Keys<'a> {
    /// An additive (batch, 1, seq, keys) mask, `keys` = cached + new tokens: any pass.
    Mask(&'a Tensor),
    /// Causally inside its own document: full passes on the CPU, fused.
    Documents(&'a DocumentMask),
    /// One new token per sequence after its cache, which hides sequence `i`'s first
    /// `pads[i]` keys: decoding steps on the CPU, fused.
    LeftPadded(&'a [usize]),
}

/// Causal self-attention with rotary positions and optional grouped-query heads.
struct Attention {
    wq: Tensor, // (n_heads·hd, d)
    wk: Tensor, // (n_kv·hd, d)
    wv: Tensor, // (n_kv·hd, d)
    wo: Tensor, // (d, n_heads·hd)
    n_heads: usize,
    n_kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    fn new(vb: VarBuilder, c: &TinyConfig) -> Result<Self> {
        let (hd, d) = (c.head_dim(), c.d_model);
        Ok(Self {
            wq: vb.get((c.n_heads * hd, d), "wq")?,
            wk: vb.get((c.n_kv_heads * hd, d), "wk")?,
            wv: vb.get((c.n_kv_heads * hd, d), "wv")?,
            wo: vb.get((d, c.n_heads * hd), "wo")?,
            n_heads: c.n_heads,
            n_kv_heads: c.n_kv_heads,
            head_dim: hd,
        })
    }

    /// `x`: (batch, seq, d); returns (batch, seq, d).
    fn forward(
        &self,
        x: &Tensor,
        rope: (&Tensor, &Tensor),
        keys: &Keys,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let heads = |w: &Tensor, n: usize| -> Result<Tensor> {
            Ok(linear(x, w)?.reshape((b, t, n, self.head_dim))?.transpose(1, 2)?.contiguous()?)
            // (b, n, t, hd)
        };
        let q = rotate(&heads(&self.wq, self.n_heads)?, rope.0, rope.1)?;
        let k = rotate(&heads(&self.wk, self.n_kv_heads)?, rope.0, rope.1)?;
        let v = heads(&self.wv, self.n_kv_heads)?;
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, &k, &v)?, // (b, n_kv, keys, hd)
            None => (k, v),
        };
        let group = self.n_heads / self.n_kv_heads;
        let shared = |x: &Tensor| if group == 1 { Ok(x.clone()) } else { repeat_heads(x, group) }; // (b, h, keys, hd)
        let y = match keys {
            // Reads the cache in place and shares key/value heads without repeating them.
            Keys::LeftPadded(pads) => decode_attention(&q, &k, &v, pads)?, // (b, h, 1, hd)
            Keys::Documents(documents) => document_attention(&q, &shared(&k)?, &shared(&v)?, documents)?, // (b, h, t, hd)
            Keys::Mask(mask) => {
                let scale = 1.0 / (self.head_dim as f64).sqrt();
                let scores = (q.matmul(&shared(&k)?.t()?)? * scale)?.broadcast_add(mask)?; // (b, h, t, keys)
                let weights = candle_nn::ops::softmax(&scores, D::Minus1)?; // differentiable, unlike softmax_last_dim
                weights.matmul(&shared(&v)?.contiguous()?)? // (b, h, t, hd)
            }
        };
        let y = y.transpose(1, 2)?.reshape((b, t, self.n_heads * self.head_dim))?;
        linear(&y, &self.wo)
    }
}

/// SwiGLU MLP: `down(silu(gate(x)) · up(x))`.
struct Mlp {
    gate: Tensor, // (d_ff, d)
    up: Tensor,   // (d_ff, d)
    down: Tensor, // (d, d_ff)
}

impl Mlp {
    fn new(vb: VarBuilder, c: &TinyConfig) -> Result<Self> {
        Ok(Self {
            gate: vb.get((c.d_ff, c.d_model), "gate")?,
            up: vb.get((c.d_ff, c.d_model), "up")?,
            down: vb.get((c.d_model, c.d_ff), "down")?,
        })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let hidden = (linear(x, &self.gate)?.silu()? * linear(x, &self.up)?)?; // (…, d_ff)
        linear(&hidden, &self.down)
    }
}

/// One pre-norm transformer block.
struct Block {
    attn_norm: RmsNorm,
    attn: Attention,
    mlp_norm: RmsNorm,
    mlp: Mlp,
}

/// The tiny reasoner.
pub struct TinyReasoner {
    config: TinyConfig,
    embed: Tensor, // (vocab, d)
    blocks: Vec<Block>,
    norm: RmsNorm,
    head: Option<Tensor>, // (vocab, d); None when tied to `embed`
    cos: Tensor,          // (max_seq, hd / 2)
    sin: Tensor,          // (max_seq, hd / 2)
    steer: GenerationTokens,
}

impl TinyReasoner {
    /// Builds the model from weights under `vb` (a `VarMap` for training, loaded tensors
    /// for inference: one loader serves both).
    pub fn new(config: TinyConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let blocks = (0..config.n_layers)
            .map(|i| {
                let vb = vb.pp(format!("blocks.{i}"));
                Ok(Block {
                    attn_norm: RmsNorm::new(vb.pp("attn_norm"), config.d_model, config.norm_eps)?,
                    attn: Attention::new(vb.pp("attn"), &config)?,
                    mlp_norm: RmsNorm::new(vb.pp("mlp_norm"), config.d_model, config.norm_eps)?,
                    mlp: Mlp::new(vb.pp("mlp"), &config)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let head =
            if config.tie_embeddings { None } else { Some(vb.get((config.vocab_size, config.d_model), "head")?) };
        let (cos, sin) = rope_tables(&config, vb.dtype(), vb.device())?;
        Ok(Self {
            embed: vb.get((config.vocab_size, config.d_model), "embed")?,
            norm: RmsNorm::new(vb.pp("norm"), config.d_model, config.norm_eps)?,
            blocks,
            head,
            cos,
            sin,
            config,
            steer: byte_generation_tokens(),
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &TinyConfig {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        self.embed.device()
    }

    /// Logits for every position.
    ///
    /// * `tokens`: (batch, seq) u32 — the new tokens.
    /// * `positions`: (batch, seq) u32 — their rotary positions (restart at 0 per document).
    /// * `mask`: (batch, 1, seq, keys) f32, added to the attention scores: 0 where a query may
    ///   look, a large negative number elsewhere; `keys` = cached + new tokens.
    /// * `cache`: the KV cache to read and extend, or `None` for a full-sequence pass.
    ///
    /// Returns (batch, seq, vocab) logits.
    pub fn forward(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let mask = mask.to_dtype(self.embed.dtype())?;
        // A decoding step over a cache whose mask only hides left padding runs fused.
        let pads = if cache.is_some() && self.runs_fused() { left_padding(&mask)? } else { None };
        match pads {
            Some(pads) => self.forward_with(tokens, positions, &Keys::LeftPadded(&pads), cache),
            None => self.forward_with(tokens, positions, &Keys::Mask(&mask), cache),
        }
    }

    /// Logits of a full pass over packed rows, each position attending causally inside its
    /// own document (`documents`), with positions restarting per document. On the CPU in
    /// f32 or f64 this runs the fused [`document_attention`], which skips the masked scores a
    /// dense mask would compute; elsewhere it falls back to the dense mask.
    ///
    /// * `tokens`: (batch, seq) u32, the batch and seq of `documents`.
    ///
    /// Returns (batch, seq, vocab) logits.
    pub fn forward_documents(&self, tokens: &Tensor, documents: &DocumentMask) -> Result<Tensor> {
        let device = self.embed.device();
        let positions = documents.positions(device)?;
        if self.runs_fused() {
            self.forward_with(tokens, &positions, &Keys::Documents(documents), None)
        } else {
            let mask = documents.dense(device)?.to_dtype(self.embed.dtype())?;
            self.forward_with(tokens, &positions, &Keys::Mask(&mask), None)
        }
    }

    /// Whether the fused attention kernels serve this model: on the CPU, in f32 or f64.
    fn runs_fused(&self) -> bool {
        self.embed.device().is_cpu() && matches!(self.embed.dtype(), DType::F32 | DType::F64)
    }

    /// The pass both entry points share: `keys` says what each query may attend to.
    fn forward_with(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        keys: &Keys,
        mut cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let (b, t) = tokens.dims2()?;
        let max = self.config.max_seq_len;
        let flat_positions = positions.flatten_all()?;
        let top = flat_positions.max(0)?.to_scalar::<u32>()? as usize;
        if top >= max {
            return Err(Error::Config(format!("position {top} is past the model's max_seq_len {max}")));
        }
        let half = self.config.head_dim() / 2;
        let cos = self.cos.index_select(&flat_positions, 0)?.reshape((b, 1, t, half))?;
        let sin = self.sin.index_select(&flat_positions, 0)?.reshape((b, 1, t, half))?;
        let mut x = self.embed.index_select(&tokens.flatten_all()?, 0)?.reshape((b, t, self.config.d_model))?; // (b, t, d)
        for (layer, block) in self.blocks.iter().enumerate() {
            let cache = cache.as_deref_mut().map(|c| (c, layer));
            let h = block.attn.forward(&block.attn_norm.forward(&x)?, (&cos, &sin), keys, cache)?;
            x = (x + h)?;
            let h = block.mlp.forward(&block.mlp_norm.forward(&x)?)?;
            x = (x + h)?;
        }
        if let Some(cache) = cache {
            cache.advance(t);
        }
        let x = self.norm.forward(&x)?;
        linear(&x, self.head.as_ref().unwrap_or(&self.embed)) // (b, t, vocab)
    }

    /// Loads a model saved by [`save_weights`] (config.json + model.safetensors in `dir`)
    /// for inference.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let config = read_config(dir)?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let tensors = candle_core::safetensors::load(&weights_path, device)
            .map_err(|e| Error::Load { path: weights_path.clone(), why: e.to_string() })?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Self::new(config, vb).map_err(|e| Error::Load { path: weights_path, why: e.to_string() })
    }
}

/// Cosine and sine tables, (max_seq, head_dim / 2).
fn rope_tables(c: &TinyConfig, dtype: DType, device: &Device) -> Result<(Tensor, Tensor)> {
    let half = c.head_dim() / 2;
    let inv_freq: Vec<f32> = (0..half).map(|i| c.rope_theta.powf(-((2 * i) as f32) / c.head_dim() as f32)).collect();
    let angles: Vec<f32> = (0..c.max_seq_len).flat_map(|p| inv_freq.iter().map(move |f| p as f32 * f)).collect();
    let angles = Tensor::from_vec(angles, (c.max_seq_len, half), device)?.to_dtype(dtype)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// The file names of a saved model.
pub const CONFIG_FILE: &str = "config.json";
/// The weights file of a saved model.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// Reads `config.json` from a model folder.
pub fn read_config(dir: &Path) -> Result<TinyConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Load { path: path.clone(), why: e.to_string() })?;
    let config: TinyConfig =
        serde_json::from_str(&text).map_err(|e| Error::Load { path: path.clone(), why: e.to_string() })?;
    config.validate()?;
    Ok(config)
}

/// Fresh weights for `config`, drawn from a seeded RNG (candle's own initialisers use an
/// unseeded generator): normal(0, 0.02) for matrices, with the residual output projections
/// scaled by 1/√(2·layers) as in GPT-2; ones for norms.
pub fn init_weights(config: &TinyConfig, seed: u64, device: &Device) -> Result<VarMap> {
    config.validate()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (d, hd, ff, v) = (config.d_model, config.head_dim(), config.d_ff, config.vocab_size);
    let mut shapes: Vec<(String, Vec<usize>, f32)> = vec![("embed".into(), vec![v, d], 0.02)];
    let residual_std = 0.02 / (2.0 * config.n_layers as f32).sqrt();
    for i in 0..config.n_layers {
        let p = format!("blocks.{i}");
        shapes.push((format!("{p}.attn_norm.weight"), vec![d], 1.0));
        shapes.push((format!("{p}.attn.wq"), vec![config.n_heads * hd, d], 0.02));
        shapes.push((format!("{p}.attn.wk"), vec![config.n_kv_heads * hd, d], 0.02));
        shapes.push((format!("{p}.attn.wv"), vec![config.n_kv_heads * hd, d], 0.02));
        shapes.push((format!("{p}.attn.wo"), vec![d, config.n_heads * hd], residual_std));
        shapes.push((format!("{p}.mlp_norm.weight"), vec![d], 1.0));
        shapes.push((format!("{p}.mlp.gate"), vec![ff, d], 0.02));
        shapes.push((format!("{p}.mlp.up"), vec![ff, d], 0.02));
        shapes.push((format!("{p}.mlp.down"), vec![d, ff], residual_std));
    }
    shapes.push(("norm.weight".into(), vec![d], 1.0));
    if !config.tie_embeddings {
        shapes.push(("head".into(), vec![v, d], 0.02));
    }
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().map_err(|_| Error::Config("weight map lock poisoned".into()))?;
        for (name, shape, std) in shapes {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = if name.ends_with("norm.weight") {
                vec![1.0; n]
            } else {
                let normal = Normal::new(0.0, std).map_err(|e| Error::Config(e.to_string()))?;
                (0..n).map(|_| normal.sample(&mut rng)).collect()
            };
            data.insert(name, Var::from_tensor(&Tensor::from_vec(values, shape, device)?)?);
        }
    }
    Ok(varmap)
}

/// Writes `config.json` and `model.safetensors` into `dir`, each through a temporary file
/// and a rename, so a crash never leaves a half-written model.
pub fn save_weights(dir: &Path, config: &TinyConfig, varmap: &VarMap) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Save { path: dir.to_path_buf(), why: e.to_string() })?;
    let tensors: HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .map_err(|_| Error::Config("weight map lock poisoned".into()))?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let weights = dir.join(WEIGHTS_FILE);
    let tmp = dir.join(format!("{WEIGHTS_FILE}.tmp"));
    candle_core::safetensors::save(&tensors, &tmp)
        .map_err(|e| Error::Save { path: tmp.clone(), why: e.to_string() })?;
    std::fs::rename(&tmp, &weights).map_err(|e| Error::Save { path: weights.clone(), why: e.to_string() })?;
    let json = serde_json::to_string_pretty(config).map_err(|e| Error::Config(e.to_string()))?;
    crate::write_atomically(&dir.join(CONFIG_FILE), json.as_bytes())
}

/// The byte tokenizer's steering ids: stop at the end token, never sample padding or a
/// begin token, `</think>` then a newline to cue the answer, "\nWait," to keep thinking.
fn byte_generation_tokens() -> GenerationTokens {
    GenerationTokens {
        pad: special::PAD,
        stop: vec![special::EOS],
        never: vec![special::PAD, special::BOS],
        thinking: Some(BudgetTokens {
            open: special::THINK,
            close: special::END_THINK,
            answer_cue: vec![u32::from(b'\n')],
            continue_cue: ByteTokenizer.encode("\nWait,"),
        }),
    }
}

impl CausalLm for TinyReasoner {
    fn forward(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        TinyReasoner::forward(self, tokens, positions, mask, cache)
    }
    fn new_cache(&self, batch: usize, capacity: usize) -> Result<KvCache> {
        let c = &self.config;
        KvCache::new(c.n_layers, batch, c.n_kv_heads, c.head_dim(), capacity, self.device())
    }
    fn max_seq_len(&self) -> usize {
        self.config.max_seq_len
    }
    fn device(&self) -> &Device {
        TinyReasoner::device(self)
    }
    fn generation_tokens(&self) -> &GenerationTokens {
        &self.steer
    }
    fn flops_per_token(&self, context: usize) -> f64 {
        self.config.flops_per_token(context)
    }
}
