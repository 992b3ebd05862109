//! A Hugging Face model folder, created here in its exact layout (`config.json`, sharded
//! `*.safetensors` with `model.safetensors.index.json`, `tokenizer.json`,
//! `tokenizer_config.json` with a DeepSeek-R1-style chat template), loaded by the same
//! engine as GGUF files: the forward pass against a plain reference, thinking-aware
//! generation with budgets, batching, and clear errors for broken folders and files.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use ponder_model::{generate, Budget, CausalLm, Message, Pretrained, SamplingParams};
use rand::{Rng, SeedableRng};

const VOCAB: usize = 300;
const D: usize = 64;
const FF: usize = 96;
const LAYERS: usize = 2;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HD: usize = D / HEADS;

/// R1's template, shortened: it ends the generation prompt inside an open `<think>` block.
const TEMPLATE: &str =
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}\
    {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}";

/// Random weights (seeded) for every tensor a Qwen2 checkpoint has, by Hugging Face name.
fn weights() -> HashMap<String, Tensor> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut t = |shape: &[usize], scale: f32| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).expect("tensor")
    };
    let mut w = HashMap::new();
    w.insert("model.embed_tokens.weight".to_string(), t(&[VOCAB, D], 1.0));
    w.insert("lm_head.weight".to_string(), t(&[VOCAB, D], 0.2));
    w.insert("model.norm.weight".to_string(), t(&[D], 1.0).affine(0.2, 1.0).expect("norm"));
    for i in 0..LAYERS {
        let p = format!("model.layers.{i}.");
        for (name, shape) in [
            ("self_attn.q_proj.weight", vec![HEADS * HD, D]),
            ("self_attn.k_proj.weight", vec![KV_HEADS * HD, D]),
            ("self_attn.v_proj.weight", vec![KV_HEADS * HD, D]),
            ("self_attn.o_proj.weight", vec![D, HEADS * HD]),
            ("mlp.gate_proj.weight", vec![FF, D]),
            ("mlp.up_proj.weight", vec![FF, D]),
            ("mlp.down_proj.weight", vec![D, FF]),
            ("self_attn.q_proj.bias", vec![HEADS * HD]),
            ("self_attn.k_proj.bias", vec![KV_HEADS * HD]),
            ("self_attn.v_proj.bias", vec![KV_HEADS * HD]),
        ] {
            w.insert(p.clone() + name, t(&shape, 0.25));
        }
        for norm in ["input_layernorm.weight", "post_attention_layernorm.weight"] {
            w.insert(p.clone() + norm, t(&[D], 0.2).affine(1.0, 1.0).expect("norm"));
        }
    }
    w
}

/// A byte-level BPE tokenizer with no merges (every byte a token) plus the chat specials.
fn tokenizer_json() -> String {
    use tokenizers::models::bpe::BPE;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    let mut vocab: Vec<(String, u32)> = ByteLevel::alphabet().into_iter().map(|c| (c.to_string(), 0)).collect();
    vocab.sort();
    let vocab: tokenizers::models::bpe::Vocab =
        vocab.into_iter().enumerate().map(|(i, (c, _))| (c, i as u32)).collect();
    let bpe = BPE::builder().vocab_and_merges(vocab, Vec::new()).build().expect("bpe");
    let mut tokenizer = tokenizers::Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, false, true)));
    tokenizer.with_decoder(Some(tokenizers::decoders::byte_level::ByteLevel::default()));
    let specials: Vec<tokenizers::AddedToken> = ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|endoftext|>"]
        .iter()
        .map(|t| tokenizers::AddedToken::from(t.to_string(), true))
        .collect();
    tokenizer.add_special_tokens(specials).expect("specials");
    tokenizer.to_string(false).expect("json")
}

/// Writes the whole folder: config, two weight shards with their index, tokenizer files.
fn write_folder(dir: &Path, weights: &HashMap<String, Tensor>) {
    let config = serde_json::json!({
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": VOCAB,
        "hidden_size": D, "intermediate_size": FF, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0, "max_position_embeddings": 256, "tie_word_embeddings": false,
        "torch_dtype": "float32"
    });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("config");
    let mut names: Vec<&String> = weights.keys().collect();
    names.sort();
    let mut weight_map = serde_json::Map::new();
    for (shard, part) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let file = format!("model-{:05}-of-00002.safetensors", shard + 1);
        // Shards stored as bf16, as checkpoints usually are; the loader converts to f32.
        let tensors: HashMap<&str, Tensor> =
            part.iter().map(|n| (n.as_str(), weights[*n].to_dtype(DType::BF16).expect("bf16"))).collect();
        candle_core::safetensors::save(&tensors, dir.join(&file)).expect("safetensors");
        for n in part {
            weight_map.insert(n.to_string(), file.clone().into());
        }
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).expect("index");
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json()).expect("tokenizer");
    let tokenizer_config = serde_json::json!({
        "bos_token": null, "eos_token": {"content": "<|im_end|>"}, "chat_template": TEMPLATE
    });
    std::fs::write(dir.join("tokenizer_config.json"), tokenizer_config.to_string()).expect("tokenizer config");
}

fn folder() -> (tempfile::TempDir, HashMap<String, Tensor>) {
    let dir = tempfile::tempdir().expect("tempdir");
    // The reference uses the weights as the loader sees them: rounded through bf16.
    let weights: HashMap<String, Tensor> = weights()
        .into_iter()
        .map(|(k, v)| (k, v.to_dtype(DType::BF16).and_then(|v| v.to_dtype(DType::F32)).expect("round")))
        .collect();
    write_folder(dir.path(), &weights);
    (dir, weights)
}

/// Qwen2 written plainly in f64: RMSNorm, biased q/k/v, rotary halves, grouped-query causal
/// attention, SwiGLU, untied head. Returns the logits of every position.
fn reference_logits(w: &HashMap<String, Tensor>, tokens: &[u32]) -> Vec<Vec<f64>> {
    let get = |n: &str| -> Vec<f64> {
        w[n].flatten_all().and_then(|t| t.to_vec1::<f32>()).expect(n).into_iter().map(f64::from).collect()
    };
    let matvec = |m: &[f64], x: &[f64], out: usize| -> Vec<f64> {
        (0..out).map(|o| (0..x.len()).map(|i| m[o * x.len() + i] * x[i]).sum()).collect()
    };
    let norm = |x: &[f64], g: &[f64]| -> Vec<f64> {
        let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64 + 1e-6).sqrt();
        x.iter().zip(g).map(|(v, g)| v / rms * g).collect()
    };
    let rope = |x: &mut [f64], pos: usize| {
        for h in 0..x.len() / HD {
            for i in 0..HD / 2 {
                let angle = pos as f64 / 10000f64.powf(2.0 * i as f64 / HD as f64);
                let (a, b) = (x[h * HD + i], x[h * HD + i + HD / 2]);
                x[h * HD + i] = a * angle.cos() - b * angle.sin();
                x[h * HD + i + HD / 2] = b * angle.cos() + a * angle.sin();
            }
        }
    };
    let embed = get("model.embed_tokens.weight");
    let mut xs: Vec<Vec<f64>> = tokens.iter().map(|&t| embed[t as usize * D..(t as usize + 1) * D].to_vec()).collect();
    for l in 0..LAYERS {
        let p = |n: &str| format!("model.layers.{l}.{n}");
        let (mut qs, mut ks, mut vs) = (Vec::new(), Vec::new(), Vec::new());
        for (pos, x) in xs.iter().enumerate() {
            let h = norm(x, &get(&p("input_layernorm.weight")));
            let proj = |name: &str, out: usize| -> Vec<f64> {
                let bias = get(&p(&format!("self_attn.{name}.bias")));
                matvec(&get(&p(&format!("self_attn.{name}.weight"))), &h, out)
                    .iter()
                    .zip(&bias)
                    .map(|(a, b)| a + b)
                    .collect()
            };
            let (mut q, mut k) = (proj("q_proj", HEADS * HD), proj("k_proj", KV_HEADS * HD));
            rope(&mut q, pos);
            rope(&mut k, pos);
            qs.push(q);
            ks.push(k);
            vs.push(proj("v_proj", KV_HEADS * HD));
        }
        for pos in 0..xs.len() {
            let mut attn = vec![0.0; HEADS * HD];
            for h in 0..HEADS {
                let kv = h / (HEADS / KV_HEADS);
                let scores: Vec<f64> = (0..=pos)
                    .map(|j| {
                        (0..HD).map(|i| qs[pos][h * HD + i] * ks[j][kv * HD + i]).sum::<f64>() / (HD as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::MIN, f64::max);
                let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (j, s) in scores.iter().enumerate() {
                    for i in 0..HD {
                        attn[h * HD + i] += (s - max).exp() / z * vs[j][kv * HD + i];
                    }
                }
            }
            let o = matvec(&get(&p("self_attn.o_proj.weight")), &attn, D);
            xs[pos].iter_mut().zip(&o).for_each(|(x, o)| *x += o);
            let h = norm(&xs[pos], &get(&p("post_attention_layernorm.weight")));
            let gate = matvec(&get(&p("mlp.gate_proj.weight")), &h, FF);
            let up = matvec(&get(&p("mlp.up_proj.weight")), &h, FF);
            let hidden: Vec<f64> = gate.iter().zip(&up).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
            let down = matvec(&get(&p("mlp.down_proj.weight")), &hidden, D);
            xs[pos].iter_mut().zip(&down).for_each(|(x, d)| *x += d);
        }
    }
    xs.iter().map(|x| matvec(&get("lm_head.weight"), &norm(x, &get("model.norm.weight")), VOCAB)).collect()
}

#[test]
fn a_hugging_face_folder_loads_and_matches_a_plain_reference() {
    let (dir, weights) = folder();
    let model = Pretrained::load(dir.path()).expect("the folder loads");
    assert_eq!(model.model.config().n_kv_heads, KV_HEADS);
    let tokens: Vec<u32> = vec![5, 17, 200, 33, 99, 3, 250];
    let t = tokens.len();
    let (mask, positions) = ponder_model::causal_mask(&[vec![0; t]], &Device::Cpu).expect("mask");
    let ours = model
        .model
        .forward(&Tensor::from_slice(&tokens, (1, t), &Device::Cpu).expect("tokens"), &positions, &mask, None)
        .and_then(|l| Ok(l.squeeze(0)?.to_vec2::<f32>()?))
        .expect("forward");
    let reference = reference_logits(&weights, &tokens);
    for (pos, (a, b)) in ours.iter().zip(&reference).enumerate() {
        for (x, y) in a.iter().zip(b) {
            // ponder rounds attention inputs through f16 as llama.cpp does: ~1e-3 relative.
            assert!((f64::from(*x) - y).abs() < 2e-2 * (1.0 + y.abs()), "position {pos}: {x} vs {y}");
        }
    }
}

#[test]
fn reasoning_is_split_and_budgets_hold_on_a_thinking_model() {
    let (dir, _) = folder();
    let model = Pretrained::load(dir.path()).expect("the folder loads");
    assert!(model.thinks(), "<think> and </think> are tokens of this vocabulary");
    assert!(model.template_opens_thinking().expect("renders"));
    let prompt = model.chat_tokens(&[Message::new("user", "What is 2 + 2?")]).expect("prompt");
    let think = model.tokenizer.token_id("<think>").expect("think token");
    assert_eq!(prompt.iter().rev().nth(1), Some(&think), "the prompt ends with <think>\\n");
    for max in [1usize, 4, 9] {
        let params = SamplingParams {
            max_new_tokens: 40,
            budget: Budget { min_thinking: 0, max_thinking: Some(max) },
            ..SamplingParams::default()
        };
        for seed in 0..4 {
            let g = generate(&model.model, std::slice::from_ref(&prompt), &[seed], &params, |_, _| {})
                .expect("generates")
                .remove(0);
            let close = model.tokenizer.token_id("</think>").expect("close token");
            // The prompt opened the block, so thinking starts at once and never passes the cap;
            // the block closes unless the model ended the turn first.
            let thinking = g.tokens.iter().position(|&t| t == close);
            let stopped_early = g.finish == ponder_model::FinishReason::Stop && thinking.is_none();
            assert!(thinking.is_some() || stopped_early, "max {max}, seed {seed}: never closed: {:?}", g.tokens);
            let thinking = thinking.unwrap_or(g.tokens.len() - 1);
            assert!(thinking <= max, "max {max}: {thinking} thinking tokens");
            assert!(g.closed_by_budget || thinking < max);
        }
    }
}

#[test]
fn batched_prompts_of_different_lengths_match_each_alone() {
    let (dir, _) = folder();
    let model = Pretrained::load(dir.path()).expect("loads");
    let prompts: Vec<Vec<u32>> = vec![vec![5, 6, 7], vec![9; 11], vec![40, 41, 42, 43, 44, 45]];
    let params = SamplingParams { temperature: 0.8, max_new_tokens: 12, ..SamplingParams::default() };
    let seeds = [3, 4, 5];
    let batch = generate(&model.model, &prompts, &seeds, &params, |_, _| {}).expect("batch");
    for (i, p) in prompts.iter().enumerate() {
        let alone = generate(&model.model, std::slice::from_ref(p), &seeds[i..=i], &params, |_, _| {}).expect("alone");
        assert_eq!(batch[i].tokens, alone[0].tokens, "prompt {i}");
        // Dense weights go through candle's gemm, whose blocking depends on the batch: the
        // log-probs agree to float rounding (GGUF kernels are bit-identical, see smollm2.rs).
        for (a, b) in batch[i].logprobs.iter().zip(&alone[0].logprobs) {
            assert!((a - b).abs() < 1e-4, "prompt {i}: {a} vs {b}");
        }
    }
}

#[test]
fn broken_folders_and_files_give_clear_errors() {
    let (dir, _) = folder();
    let err = |path: &Path| match Pretrained::load(path) {
        Ok(_) => panic!("{} should not load", path.display()),
        Err(e) => e.to_string(),
    };
    // Unknown architecture.
    let config = dir.path().join("config.json");
    let original = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, original.replace("Qwen2ForCausalLM", "MambaForCausalLM")).expect("write");
    let e = err(dir.path());
    assert!(e.contains("MambaForCausalLM") && e.contains("not supported") && e.contains("config.json"), "{e}");
    // A missing field.
    std::fs::write(&config, original.replace("\"hidden_size\"", "\"width\"")).expect("write");
    let e = err(dir.path());
    assert!(e.contains("hidden_size") && e.contains("config.json"), "{e}");
    std::fs::write(&config, &original).expect("restore");
    // A truncated shard.
    let shard = dir.path().join("model-00001-of-00002.safetensors");
    let bytes = std::fs::read(&shard).expect("shard");
    std::fs::write(&shard, &bytes[..bytes.len() / 2]).expect("truncate");
    let e = err(dir.path());
    assert!(e.contains("model-00001-of-00002.safetensors"), "{e}");
    // Not a GGUF file, and a missing one.
    let fake = dir.path().join("fake.gguf");
    std::fs::write(&fake, b"GGML not really").expect("write");
    let e = err(&fake);
    assert!(e.contains("fake.gguf") && e.contains("GGUF"), "{e}");
    let e = err(&dir.path().join("absent.gguf"));
    assert!(e.contains("absent.gguf") && e.contains("no such file"), "{e}");
}

#[test]
fn a_truncated_real_gguf_is_refused_with_the_file_named() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("SKIPPED: {} is absent; run scripts/fetch-smollm2.sh", path.display());
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    for keep in [100, 3_000_000, bytes.len() - 1000] {
        let cut = dir.path().join("cut.gguf");
        std::fs::write(&cut, &bytes[..keep]).expect("write");
        match Pretrained::load(&cut) {
            Ok(_) => panic!("a file cut to {keep} bytes loaded"),
            Err(e) => assert!(e.to_string().contains("cut.gguf"), "{e}"),
        }
    }
}
