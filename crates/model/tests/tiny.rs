//! The tiny reasoner against an obviously-correct reference, its gradients, its
//! generation and its files.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use ponder_model::{
    causal_mask, generate, init_weights, save_weights, special, Document, DocumentMask, SamplingParams, TinyConfig,
    TinyReasoner, BYTE_VOCAB_SIZE,
};

/// A small shape with grouped-query heads and an untied head, so every code path runs.
fn small_config(tie: bool) -> TinyConfig {
    TinyConfig {
        vocab_size: BYTE_VOCAB_SIZE,
        d_model: 32,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 2,
        d_ff: 48,
        max_seq_len: 64,
        rope_theta: 10_000.0,
        norm_eps: 1e-5,
        tie_embeddings: tie,
    }
}

/// The weights of `init_weights(config, seed)` times 10 (sharp attention), as f64 variables.
fn sharp_f64_weights(config: &TinyConfig, seed: u64) -> VarMap {
    let varmap32 = init_weights(config, seed, &Device::Cpu).expect("init");
    let varmap = VarMap::new();
    for (name, var) in varmap32.data().lock().expect("lock").iter() {
        let t = (var.as_tensor() * 10.0).and_then(|t| t.to_dtype(DType::F64)).expect("f64");
        varmap.data().lock().expect("lock").insert(name.clone(), Var::from_tensor(&t).expect("var"));
    }
    varmap
}

/// Asserts that two gradients agree on every variable of `varmap`, to `tolerance` of the
/// variable's largest gradient entry.
fn assert_same_gradients(
    varmap: &VarMap,
    a: &candle_core::backprop::GradStore,
    b: &candle_core::backprop::GradStore,
    tolerance: f64,
) {
    for (name, var) in varmap.data().lock().expect("lock").iter() {
        let read = |g: &candle_core::backprop::GradStore| {
            let g = g.get(var.as_tensor()).expect("grad").flatten_all().and_then(|g| g.to_dtype(DType::F64));
            g.and_then(|g| g.to_vec1::<f64>()).expect("vec")
        };
        let (a, b) = (read(a), read(b));
        let scale = a.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-6);
        let worst = a.iter().zip(&b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst / scale < tolerance, "{name}: gradients differ by {worst} (largest {scale})");
    }
}

/// The weights of a var map as plain vectors.
fn plain_weights(varmap: &VarMap) -> HashMap<String, Vec<f32>> {
    varmap
        .data()
        .lock()
        .expect("lock")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().flatten_all().and_then(|t| t.to_vec1()).expect("f32 weights")))
        .collect()
}

/// `w` (out, inp) times `x` (inp), with loops.
fn matvec(w: &[f32], x: &[f32], out: usize) -> Vec<f32> {
    let inp = x.len();
    (0..out).map(|o| (0..inp).map(|i| w[o * inp + i] * x[i]).sum()).collect()
}

fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (ms + eps).sqrt();
    x.iter().zip(w).map(|(v, g)| v * inv * g).collect()
}

fn rope(head: &mut [f32], pos: usize, theta: f32) {
    let hd = head.len();
    let half = hd / 2;
    for i in 0..half {
        let angle = pos as f32 * theta.powf(-((2 * i) as f32) / hd as f32);
        let (x1, x2) = (head[i], head[i + half]);
        head[i] = x1 * angle.cos() - x2 * angle.sin();
        head[i + half] = x2 * angle.cos() + x1 * angle.sin();
    }
}

/// The forward pass written with loops over one sequence: the reference.
fn reference_logits(w: &HashMap<String, Vec<f32>>, c: &TinyConfig, tokens: &[u32]) -> Vec<Vec<f32>> {
    let (d, hd, t) = (c.d_model, c.head_dim(), tokens.len());
    let eps = c.norm_eps as f32;
    let mut x: Vec<Vec<f32>> =
        tokens.iter().map(|&tok| w["embed"][tok as usize * d..(tok as usize + 1) * d].to_vec()).collect();
    for l in 0..c.n_layers {
        let p = |n: &str| format!("blocks.{l}.{n}");
        let normed: Vec<Vec<f32>> = x.iter().map(|v| rms_norm(v, &w[&p("attn_norm.weight")], eps)).collect();
        let mut q: Vec<Vec<f32>> = normed.iter().map(|v| matvec(&w[&p("attn.wq")], v, c.n_heads * hd)).collect();
        let mut k: Vec<Vec<f32>> = normed.iter().map(|v| matvec(&w[&p("attn.wk")], v, c.n_kv_heads * hd)).collect();
        let v: Vec<Vec<f32>> = normed.iter().map(|v| matvec(&w[&p("attn.wv")], v, c.n_kv_heads * hd)).collect();
        for pos in 0..t {
            for h in 0..c.n_heads {
                rope(&mut q[pos][h * hd..(h + 1) * hd], pos, c.rope_theta);
            }
            for h in 0..c.n_kv_heads {
                rope(&mut k[pos][h * hd..(h + 1) * hd], pos, c.rope_theta);
            }
        }
        let group = c.n_heads / c.n_kv_heads;
        for pos in 0..t {
            let mut out = vec![0.0f32; c.n_heads * hd];
            for h in 0..c.n_heads {
                let kh = h / group;
                let scores: Vec<f32> = (0..=pos)
                    .map(|j| (0..hd).map(|i| q[pos][h * hd + i] * k[j][kh * hd + i]).sum::<f32>() / (hd as f32).sqrt())
                    .collect();
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let z: f32 = exps.iter().sum();
                for (j, e) in exps.iter().enumerate() {
                    for i in 0..hd {
                        out[h * hd + i] += e / z * v[j][kh * hd + i];
                    }
                }
            }
            let o = matvec(&w[&p("attn.wo")], &out, d);
            x[pos].iter_mut().zip(o).for_each(|(a, b)| *a += b);
        }
        for row in x.iter_mut() {
            let n = rms_norm(row, &w[&p("mlp_norm.weight")], eps);
            let gate = matvec(&w[&p("mlp.gate")], &n, c.d_ff);
            let up = matvec(&w[&p("mlp.up")], &n, c.d_ff);
            let hidden: Vec<f32> = gate.iter().zip(&up).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
            let o = matvec(&w[&p("mlp.down")], &hidden, d);
            row.iter_mut().zip(o).for_each(|(a, b)| *a += b);
        }
    }
    let head = if c.tie_embeddings { &w["embed"] } else { &w["head"] };
    x.iter().map(|v| matvec(head, &rms_norm(v, &w["norm.weight"], eps), c.vocab_size)).collect()
}

fn full_pass(model: &TinyReasoner, tokens: &[u32]) -> Vec<Vec<f32>> {
    let device = Device::Cpu;
    let (mask, positions) = causal_mask(&[vec![0; tokens.len()]], &device).expect("mask");
    let input = Tensor::new(tokens, &device).and_then(|t| t.unsqueeze(0)).expect("tokens");
    let logits = model.forward(&input, &positions, &mask, None).expect("forward");
    logits.squeeze(0).and_then(|l| l.to_vec2()).expect("logits")
}

#[test]
fn forward_matches_the_loop_reference() {
    for tie in [true, false] {
        let config = small_config(tie);
        let varmap = init_weights(&config, 7, &Device::Cpu).expect("init");
        // Larger weights than the init, so attention is far from uniform.
        for var in varmap.all_vars() {
            let scaled = (var.as_tensor() * 10.0).expect("scale");
            var.set(&scaled).expect("set");
        }
        let model = TinyReasoner::new(config.clone(), VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))
            .expect("model");
        let tokens: Vec<u32> = "How many r's in strawberry?".bytes().map(u32::from).collect();
        let ours = full_pass(&model, &tokens);
        let reference = reference_logits(&plain_weights(&varmap), &config, &tokens);
        let mut worst = 0.0f32;
        for (a, b) in ours.iter().flatten().zip(reference.iter().flatten()) {
            worst = worst.max((a - b).abs() / (1.0 + b.abs()));
        }
        assert!(worst < 1e-4, "tie={tie}: logits differ by {worst}");
    }
}

/// Two documents in one row: the halves of `tokens`.
fn two_documents(n: usize) -> Vec<Vec<u32>> {
    vec![(0..n).map(|i| u32::from(i >= n / 2)).collect()]
}

/// Next-token loss over a row of two documents, through the dense mask or the fused
/// document attention.
fn training_loss(model: &TinyReasoner, tokens: &[u32], fused: bool) -> Tensor {
    let device = model.device();
    let n = tokens.len() - 1;
    let input = Tensor::new(&tokens[..n], device).and_then(|t| t.unsqueeze(0)).expect("input");
    let target = Tensor::new(&tokens[1..], device).expect("target");
    let logits = if fused {
        model.forward_documents(&input, &DocumentMask::new(&two_documents(n)).expect("documents"))
    } else {
        let (mask, positions) = causal_mask(&two_documents(n), device).expect("mask");
        model.forward(&input, &positions, &mask, None)
    };
    let logits = logits.expect("forward").squeeze(0).expect("squeeze");
    candle_nn::loss::cross_entropy(&logits, &target).expect("loss")
}

#[test]
fn every_parameter_receives_a_gradient() {
    let config = small_config(false);
    let varmap = init_weights(&config, 3, &Device::Cpu).expect("init");
    let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    let tokens: Vec<u32> = "<think>3 + 4 = 7</think>7".bytes().map(u32::from).collect();
    for fused in [false, true] {
        let grads = training_loss(&model, &tokens, fused).backward().expect("backward");
        let data = varmap.data().lock().expect("lock");
        assert_eq!(data.len(), 2 * 9 + 3, "parameter tensors");
        for (name, var) in data.iter() {
            let grad = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{name} received no gradient"));
            let norm = grad.sqr().and_then(|g| g.sum_all()).and_then(|s| s.to_scalar::<f32>()).expect("norm");
            assert!(norm > 0.0, "fused={fused}: {name} has an all-zero gradient");
        }
    }
}

#[test]
fn gradients_match_finite_differences_in_f64() {
    let config = small_config(false);
    let device = Device::Cpu;
    let varmap = sharp_f64_weights(&config, 5);
    let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F64, &device)).expect("model");
    let tokens: Vec<u32> = "count: a, b, c".bytes().map(u32::from).collect();
    for fused in [false, true] {
        let loss = |m: &TinyReasoner| training_loss(m, &tokens, fused).to_scalar::<f64>().expect("scalar");
        let grads = training_loss(&model, &tokens, fused).backward().expect("backward");
        let data = varmap.data().lock().expect("lock");
        for name in [
            "embed",
            "blocks.0.attn.wq",
            "blocks.1.attn.wk",
            "blocks.0.attn_norm.weight",
            "blocks.1.mlp.gate",
            "norm.weight",
            "head",
        ] {
            let var = &data[name];
            let analytic =
                grads.get(var.as_tensor()).expect("grad").flatten_all().and_then(|g| g.to_vec1::<f64>()).expect("vec");
            let original = var.as_tensor().flatten_all().and_then(|t| t.to_vec1::<f64>()).expect("vec");
            // The largest-gradient entries, where the comparison means most.
            let mut order: Vec<usize> = (0..original.len()).collect();
            order.sort_by(|&a, &b| analytic[b].abs().total_cmp(&analytic[a].abs()));
            for &i in order.iter().take(3) {
                let eps = 1e-6;
                let nudge = |delta: f64| {
                    let mut values = original.clone();
                    values[i] += delta;
                    let t = Tensor::from_vec(values, var.shape(), &device).expect("tensor");
                    var.set(&t).expect("set");
                    loss(&model)
                };
                let numeric = (nudge(eps) - nudge(-eps)) / (2.0 * eps);
                nudge(0.0);
                let rel = (numeric - analytic[i]).abs() / (numeric.abs() + analytic[i].abs()).max(1e-8);
                assert!(rel < 1e-4, "fused={fused}: {name}[{i}]: analytic {} vs numeric {numeric}", analytic[i]);
            }
        }
    }
}

/// Rows of several documents and trailing padding, as pretraining and RL updates pack them.
fn packed_segments() -> Vec<Vec<u32>> {
    let row = |lengths: &[usize], len: usize| -> Vec<u32> {
        let mut seg: Vec<u32> =
            lengths.iter().enumerate().flat_map(|(d, &n)| std::iter::repeat_n(d as u32, n)).collect();
        seg.resize(len, u32::MAX);
        seg
    };
    vec![row(&[7, 9, 8], 24), row(&[24], 24), row(&[1, 12], 24), row(&[5, 5, 5, 5, 4], 24)]
}

#[test]
fn fused_document_attention_matches_the_dense_mask() {
    let config = small_config(false);
    let device = Device::Cpu;
    let varmap = init_weights(&config, 11, &device).expect("init");
    for var in varmap.all_vars() {
        var.set(&(var.as_tensor() * 10.0).expect("scale")).expect("set");
    }
    let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F32, &device)).expect("model");
    let segments = packed_segments();
    let (b, t) = (segments.len(), segments[0].len());
    let tokens: Vec<u32> = (0..b * t).map(|i| ((i * 37 + 11) % 250) as u32).collect();
    let input = Tensor::from_vec(tokens, (b, t), &device).expect("tokens");
    let (mask, positions) = causal_mask(&segments, &device).expect("mask");
    let dense = model.forward(&input, &positions, &mask, None).expect("dense");
    let fused = model.forward_documents(&input, &DocumentMask::new(&segments).expect("documents")).expect("fused");
    let worst = (&dense - &fused).and_then(|d| d.abs()).and_then(|d| d.max_all()).and_then(|d| d.to_scalar::<f32>());
    let worst = worst.expect("diff");
    assert!(worst < 1e-4, "logits differ by {worst}");
    // The same gradient for every parameter, from a loss that weights positions unevenly.
    let weights = Tensor::arange(0f32, (b * t) as f32, &device)
        .and_then(|w| (w / (b * t) as f64)?.reshape((b, t, 1)))
        .expect("weights"); // in [0, 1)
    let loss = |logits: &Tensor| logits.broadcast_mul(&weights).and_then(|l| l.tanh()).and_then(|l| l.sum_all());
    let (dense_grads, fused_grads) = (
        loss(&dense).and_then(|l| l.backward()).expect("dense"),
        loss(&fused).and_then(|l| l.backward()).expect("fused"),
    );
    assert_same_gradients(&varmap, &dense_grads, &fused_grads, 1e-4);
}

/// Completions that continue one shared copy of their prompt get the logits, and through
/// the dense mask the gradients, they get each forwarded whole on its own.
#[test]
fn completions_sharing_a_prompt_see_what_they_would_see_alone() {
    let config = small_config(false);
    let device = Device::Cpu;
    // In f64, so that any difference beyond rounding is a fault.
    let varmap = sharp_f64_weights(&config, 5);
    let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F64, &device)).expect("model");
    let prompt: Vec<u32> = vec![3, 17, 99, 42, 7];
    let completions: Vec<Vec<u32>> = vec![vec![11, 12, 13, 14], vec![200, 5, 9, 77, 31, 8], vec![60]];
    // Row 0: the prompt less its last token, then each completion led by that token.
    let (shared, last) = (&prompt[..prompt.len() - 1], prompt[prompt.len() - 1]);
    let mut row: Vec<u32> = shared.to_vec();
    let mut documents = vec![Document { len: shared.len(), continues: None }];
    for c in &completions {
        row.push(last);
        row.extend(&c[..c.len() - 1]);
        documents.push(Document { len: c.len(), continues: Some(0) });
    }
    // Row 1: one document of its own, shorter, so that row 0's length pads it.
    let alone: Vec<u32> = vec![1, 2, 3, 4, 5, 6];
    let t = row.len();
    let mut tokens = row.clone();
    tokens.extend(&alone);
    tokens.resize(2 * t, special::PAD);
    let rows = vec![documents, vec![Document { len: alone.len(), continues: None }]];
    let mask = DocumentMask::from_documents(&rows).expect("documents");
    let input = Tensor::from_vec(tokens, (2, t), &device).expect("tokens");
    let fused = model.forward_documents(&input, &mask).expect("fused"); // (2, t, vocab)

    let alone_logits = |tokens: &[u32]| {
        let input = Tensor::new(tokens, &device).and_then(|t| t.unsqueeze(0)).expect("input");
        let one = DocumentMask::new(&[vec![0; tokens.len()]]).expect("one document");
        model.forward_documents(&input, &one).expect("alone").squeeze(0).expect("squeeze")
        // (len, vocab)
    };
    let close = |a: &Tensor, b: &Tensor, what: &str| {
        let worst = (a - b).and_then(|d| d.abs()?.max_all()?.to_scalar::<f64>()).expect("diff");
        let scale = b.abs().and_then(|b| b.max_all()?.to_scalar::<f64>()).expect("scale").max(1.0);
        assert!(worst / scale < 1e-10, "{what}: logits differ by {worst} (largest {scale})");
    };
    let whole: Vec<u32> = prompt.iter().chain(&completions[0]).copied().collect();
    let reference = alone_logits(&whole[..whole.len() - 1]);
    close(
        &fused.get(0).and_then(|r| r.narrow(0, 0, shared.len())).expect("prompt"),
        &reference.narrow(0, 0, shared.len()).expect("prompt"),
        "the prompt",
    );
    let mut at = shared.len();
    for (k, c) in completions.iter().enumerate() {
        let whole: Vec<u32> = prompt.iter().chain(c).copied().collect();
        let reference = alone_logits(&whole[..whole.len() - 1]).narrow(0, shared.len(), c.len()).expect("completion");
        close(
            &fused.get(0).and_then(|r| r.narrow(0, at, c.len())).expect("member"),
            &reference,
            &format!("completion {k}"),
        );
        at += c.len();
    }
    close(&fused.get(1).and_then(|r| r.narrow(0, 0, alone.len())).expect("row 1"), &alone_logits(&alone), "row 1");

    // The dense mask (the path off the CPU) agrees, gradients included.
    let dense =
        model.forward(&input, &mask.positions(&device).expect("positions"), &mask.dense(&device).expect("mask"), None);
    let dense = dense.expect("dense");
    close(&dense, &fused, "dense and fused");
    let loss = |logits: &Tensor| logits.tanh().and_then(|l| l.sum_all());
    let (dense_grads, fused_grads) = (
        loss(&dense).and_then(|l| l.backward()).expect("dense"),
        loss(&fused).and_then(|l| l.backward()).expect("fused"),
    );
    assert_same_gradients(&varmap, &dense_grads, &fused_grads, 1e-10);
}

#[test]
fn a_document_continues_only_an_earlier_one() {
    let rows = vec![vec![Document { len: 3, continues: Some(1) }, Document { len: 2, continues: None }]];
    let err = DocumentMask::from_documents(&rows).expect_err("forward reference");
    assert!(err.to_string().contains("not before it"), "{err}");
}

#[test]
fn document_masks_reject_ragged_rows() {
    let err = DocumentMask::new(&[vec![0; 4], vec![0; 3]]).expect_err("ragged");
    assert!(err.to_string().contains("pad rows to one length"), "{err}");
}

#[test]
fn a_batch_generates_what_each_sequence_generates_alone() {
    let config = small_config(true);
    let varmap = init_weights(&config, 11, &Device::Cpu).expect("init");
    let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    let prompts: Vec<Vec<u32>> = ["a", "How many?", "Decode: oyfjdnisdr rtq"]
        .iter()
        .map(|p| std::iter::once(special::BOS).chain(p.bytes().map(u32::from)).collect())
        .collect();
    let seeds = [1u64, 2, 3];
    for temperature in [0.0, 1.0] {
        let params = SamplingParams { temperature, max_new_tokens: 20, ..SamplingParams::default() };
        let batch = generate(&model, &prompts, &seeds, &params, |_, _| {}).expect("batch");
        for (i, prompt) in prompts.iter().enumerate() {
            let alone =
                generate(&model, std::slice::from_ref(prompt), &seeds[i..=i], &params, |_, _| {}).expect("alone");
            assert_eq!(batch[i].tokens, alone[0].tokens, "sequence {i} at temperature {temperature}");
            for (a, b) in batch[i].logprobs.iter().zip(&alone[0].logprobs) {
                assert!((a - b).abs() < 1e-4);
            }
            assert_eq!(batch[i].tokens.len(), batch[i].logprobs.len());
        }
    }
}

#[test]
fn cached_decoding_matches_the_full_pass() {
    let config = small_config(true);
    let varmap = init_weights(&config, 13, &Device::Cpu).expect("init");
    let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    let prompt: Vec<u32> = "abc".bytes().map(u32::from).collect();
    let params = SamplingParams { temperature: 0.0, max_new_tokens: 10, ..SamplingParams::default() };
    let out = generate(&model, std::slice::from_ref(&prompt), &[0], &params, |_, _| {}).expect("generate");
    // Greedy decoding with the cache must pick the argmax of a full pass at every step.
    let mut seq = prompt.clone();
    for (step, &token) in out[0].tokens.iter().enumerate() {
        let logits = full_pass(&model, &seq);
        let row = logits.last().expect("row");
        let best = (0..row.len())
            .filter(|&i| i as u32 != special::PAD && i as u32 != special::BOS)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .expect("best");
        assert_eq!(token, best as u32, "step {step}");
        seq.push(token);
    }
}

#[test]
fn saved_weights_load_back_identically() {
    let config = small_config(false);
    let varmap = init_weights(&config, 17, &Device::Cpu).expect("init");
    let model =
        TinyReasoner::new(config.clone(), VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    let dir = tempfile::tempdir().expect("tempdir");
    save_weights(dir.path(), &config, &varmap).expect("save");
    let loaded = TinyReasoner::load(dir.path(), &Device::Cpu).expect("load");
    assert_eq!(loaded.config(), &config);
    let tokens: Vec<u32> = "round trip".bytes().map(u32::from).collect();
    assert_eq!(full_pass(&model, &tokens), full_pass(&loaded, &tokens));
    // A truncated weights file is a clear error, not a panic.
    let weights = dir.path().join(ponder_model::WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).expect("read");
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).expect("truncate");
    let err = TinyReasoner::load(dir.path(), &Device::Cpu).err().expect("must fail");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn presets_have_the_advertised_sizes() {
    use ponder_model::Preset;
    let n = |p| TinyConfig::preset(p).param_count();
    assert!((400_000..700_000).contains(&n(Preset::Nano)), "{}", n(Preset::Nano));
    assert!((3_000_000..4_000_000).contains(&n(Preset::Micro)), "{}", n(Preset::Micro));
    assert!((20_000_000..32_000_000).contains(&n(Preset::Small)), "{}", n(Preset::Small));
    let config = TinyConfig::preset(Preset::Micro);
    let varmap = init_weights(&config, 0, &Device::Cpu).expect("init");
    let counted: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
    assert_eq!(counted, config.param_count());
}

#[test]
fn the_thinking_budget_is_enforced_inside_the_sampling_loop() {
    use ponder_model::Budget;
    let config = small_config(true);
    let varmap = init_weights(&config, 19, &Device::Cpu).expect("init");
    let model = TinyReasoner::new(config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    let prompts: Vec<Vec<u32>> = (0..4).map(|i| vec![special::BOS, 65 + i, u32::from(b'\n')]).collect();
    for max in [1usize, 5, 12] {
        let budget = Budget { min_thinking: 0, max_thinking: Some(max) };
        let params = SamplingParams { max_new_tokens: 30, budget, ..SamplingParams::default() };
        for g in generate(&model, &prompts, &[1, 2, 3, 4], &params, |_, _| {}).expect("generate") {
            assert_eq!(g.tokens[0], special::THINK, "the engine opens the block");
            let close = g.tokens.iter().position(|&t| t == special::END_THINK);
            // A random model may end the document while thinking; otherwise the block closes in budget.
            if g.tokens.contains(&special::EOS) && close.is_none() {
                continue;
            }
            let close = close.expect("closed by the model or the budget");
            assert!(close - 1 <= max, "{} thinking tokens over a budget of {max}", close - 1);
            assert_eq!(g.closed_by_budget, close - 1 == max && g.tokens[close + 1] == u32::from(b'\n'));
        }
    }
}
