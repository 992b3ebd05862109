//! Every quantization common GGUF files use, on a small random llama written here as a GGUF
//! file (with candle's writer): each loads, runs, and stays close to the same model in f32.
//! The tolerance grows as the format gets coarser.

use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use ponder_model::{CausalLm, Pretrained};
use rand::{Rng, SeedableRng};

const D: usize = 256; // K-quants need rows that are multiples of 256
const FF: usize = 512;
const LAYERS: usize = 2;
const HEADS: usize = 4;
const VOCAB: usize = 270;

/// Byte-level tokens (GPT-2's printable alphabet) plus a few specials.
fn tokens() -> Vec<String> {
    let mut tokens: Vec<String> = (0..256u32)
        .map(|b| {
            let c = match b {
                33..=126 | 161..=172 | 174..=255 => char::from_u32(b),
                _ => None,
            };
            c.unwrap_or_else(|| char::from_u32(256 + b).expect("valid")).to_string()
        })
        .collect();
    tokens.extend(["<|im_start|>", "<|im_end|>"].map(String::from));
    tokens.extend((tokens.len()..VOCAB).map(|i| format!("<unused{i}>")));
    tokens
}

/// Writes a llama GGUF whose matrices are stored as `dtype` (norms stay f32).
fn write_gguf(path: &Path, dtype: GgmlDType) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut tensor = |shape: &[usize], scale: f32, offset: f32| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| offset + rng.random_range(-scale..scale)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).expect("tensor")
    };
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut matrix = |name: String, t: Tensor| {
        tensors.push((name, QTensor::quantize(&t, dtype).expect("quantize")));
    };
    matrix("token_embd.weight".into(), tensor(&[VOCAB, D], 1.0, 0.0));
    matrix("output.weight".into(), tensor(&[VOCAB, D], 0.1, 0.0));
    let hd = D / HEADS;
    for i in 0..LAYERS {
        matrix(format!("blk.{i}.attn_q.weight"), tensor(&[HEADS * hd, D], 0.1, 0.0));
        matrix(format!("blk.{i}.attn_k.weight"), tensor(&[HEADS * hd, D], 0.1, 0.0));
        matrix(format!("blk.{i}.attn_v.weight"), tensor(&[HEADS * hd, D], 0.1, 0.0));
        matrix(format!("blk.{i}.attn_output.weight"), tensor(&[D, HEADS * hd], 0.1, 0.0));
        matrix(format!("blk.{i}.ffn_gate.weight"), tensor(&[FF, D], 0.1, 0.0));
        matrix(format!("blk.{i}.ffn_up.weight"), tensor(&[FF, D], 0.1, 0.0));
        matrix(format!("blk.{i}.ffn_down.weight"), tensor(&[D, FF], 0.1, 0.0));
    }
    let mut norms: Vec<(String, QTensor)> =
        vec![("output_norm.weight".into(), QTensor::quantize(&tensor(&[D], 0.1, 1.0), GgmlDType::F32).expect("norm"))];
    for i in 0..LAYERS {
        for n in ["attn_norm", "ffn_norm"] {
            let t = QTensor::quantize(&tensor(&[D], 0.1, 1.0), GgmlDType::F32).expect("norm");
            norms.push((format!("blk.{i}.{n}.weight"), t));
        }
    }
    tensors.extend(norms);
    let tokens = tokens();
    let types: Vec<Value> = (0..VOCAB).map(|i| Value::I32(if i < 256 { 1 } else { 3 })).collect();
    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("llama".into())),
        ("llama.block_count", Value::U32(LAYERS as u32)),
        ("llama.context_length", Value::U32(512)),
        ("llama.embedding_length", Value::U32(D as u32)),
        ("llama.feed_forward_length", Value::U32(FF as u32)),
        ("llama.attention.head_count", Value::U32(HEADS as u32)),
        ("llama.attention.head_count_kv", Value::U32(HEADS as u32)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("llama.rope.freq_base", Value::F32(10_000.0)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("gpt2".into())),
        ("tokenizer.ggml.tokens", Value::Array(tokens.into_iter().map(Value::String).collect())),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.merges", Value::Array(Vec::new())),
        ("tokenizer.ggml.eos_token_id", Value::U32(257)),
    ];
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = std::fs::File::create(path).expect("create");
    candle_core::quantized::gguf_file::write(&mut file, &metadata, &tensors).expect("write gguf");
}

/// Last-position logits for a fixed prompt.
fn logits(model: &Pretrained) -> Vec<f32> {
    let prompt = model.tokenizer.encode("<|im_start|>hello, world 123").expect("encodes");
    let t = prompt.len();
    let (mask, positions) = ponder_model::causal_mask(&[vec![0; t]], &Device::Cpu).expect("mask");
    let tokens = Tensor::from_slice(&prompt, (1, t), &Device::Cpu).expect("tokens");
    model
        .model
        .forward_last(&tokens, &positions, &mask, None)
        .and_then(|l| Ok(l.squeeze(0)?.to_vec1::<f32>()?))
        .expect("forward")
}

#[test]
fn every_common_quantization_loads_and_tracks_f32() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f32_path = dir.path().join("f32.gguf");
    write_gguf(&f32_path, GgmlDType::F32);
    let exact = logits(&Pretrained::load(&f32_path).expect("f32 loads"));
    let spread = {
        let mean = exact.iter().sum::<f32>() / exact.len() as f32;
        (exact.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / exact.len() as f32).sqrt()
    };
    // Relative RMS error of the logits allowed per format (measured errors are well inside).
    for (dtype, allowed) in [
        (GgmlDType::F16, 0.01),
        (GgmlDType::Q8_0, 0.05),
        (GgmlDType::Q6K, 0.08),
        (GgmlDType::Q5K, 0.12),
        (GgmlDType::Q4_1, 0.25),
        (GgmlDType::Q4_0, 0.25),
        (GgmlDType::Q4K, 0.25),
    ] {
        let path = dir.path().join(format!("{dtype:?}.gguf"));
        write_gguf(&path, dtype);
        let model = Pretrained::load(&path).unwrap_or_else(|e| panic!("{dtype:?} does not load: {e}"));
        let got = logits(&model);
        let rms = (got.iter().zip(&exact).map(|(a, b)| (a - b).powi(2)).sum::<f32>() / got.len() as f32).sqrt();
        eprintln!("{dtype:?}: relative RMS logit error {:.4}", rms / spread);
        assert!(rms / spread < allowed, "{dtype:?}: relative RMS logit error {} ≥ {allowed}", rms / spread);
    }
}
