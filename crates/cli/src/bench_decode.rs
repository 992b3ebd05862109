//! `ponder bench decode --model FILE`: prompt processing and generation speed of a real
//! model at 1 and 2 threads, beside llama.cpp on the same file in the same run.
//!
//! Each thread count runs in a child process (`RAYON_NUM_THREADS` fixes the pool size at
//! start), measuring what llama-bench measures: pp128 / pp512 (one prompt of random tokens,
//! logits of the last position only), tg128 (128 tokens decoded one at a time at batch 1),
//! and the throughput of 8 and 32 sequences decoded together. The peer is
//! `bench/llama_cpp_decode.py` (llama-cpp-python), measured the same way.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use candle_core::{Device, Tensor};
use ponder_model::{CausalLm, Pretrained};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// One set of figures, tokens per second.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DecodeFigures {
    /// Who was measured.
    pub peer: String,
    /// Threads used.
    pub threads: usize,
    /// Prompt processing, 128 tokens.
    pub pp128: f64,
    /// Prompt processing, 512 tokens.
    pub pp512: f64,
    /// Generation at batch 1.
    pub tg128: f64,
    /// Generation throughput, 8 sequences.
    pub batch8: f64,
    /// Generation throughput, 32 sequences.
    pub batch32: f64,
}

const FIGURES: [&str; 5] = ["pp128", "pp512", "tg128", "batch8", "batch32"];

impl DecodeFigures {
    fn get(&self, name: &str) -> f64 {
        match name {
            "pp128" => self.pp128,
            "pp512" => self.pp512,
            "tg128" => self.tg128,
            "batch8" => self.batch8,
            _ => self.batch32,
        }
    }
}

/// Measures ponder in this process (with whatever thread pool it has) and prints JSON.
/// `only`: the figures to measure (empty: all); the others are reported as 0.
pub fn worker(model_path: &Path, reps: usize, only: &[String]) -> anyhow::Result<()> {
    let wanted = |name: &str| only.is_empty() || only.iter().any(|f| f == name);
    let model = Pretrained::load(model_path)?;
    let lm = &model.model;
    let vocab = lm.config().vocab_size as u32;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut random_tokens = |n: usize| -> Vec<u32> { (0..n).map(|_| rng.random_range(0..vocab)).collect() };
    let best = |f: &mut dyn FnMut() -> anyhow::Result<f64>| -> anyhow::Result<f64> {
        let mut fastest = f64::INFINITY;
        for _ in 0..reps.max(1) {
            fastest = fastest.min(f()?);
        }
        Ok(fastest)
    };
    let mut pp = |n: usize| -> anyhow::Result<f64> {
        let tokens = random_tokens(n);
        let seconds = best(&mut || {
            let mut cache = lm.new_cache(1, n)?;
            let start = Instant::now();
            let (mask, positions) = causal(n)?;
            lm.forward_last(&Tensor::from_slice(&tokens, (1, n), &Device::Cpu)?, &positions, &mask, Some(&mut cache))?;
            Ok(start.elapsed().as_secs_f64())
        })?;
        Ok(n as f64 / seconds)
    };
    pp(32)?; // warm-up
    let pp128 = if wanted("pp128") { pp(128)? } else { 0.0 };
    let pp512 = if wanted("pp512") { pp(512)? } else { 0.0 };
    let steps = 128;
    let mut tg = |batch: usize| -> anyhow::Result<f64> {
        let first = random_tokens(batch);
        let seconds = best(&mut || {
            let mut cache = lm.new_cache(batch, steps)?;
            let mut next = first.clone();
            let start = Instant::now();
            for step in 0..steps {
                let tokens = Tensor::from_slice(&next, (batch, 1), &Device::Cpu)?;
                let positions = Tensor::from_vec(vec![step as u32; batch], (batch, 1), &Device::Cpu)?;
                let mask = Tensor::zeros((batch, 1, 1, step + 1), candle_core::DType::F32, &Device::Cpu)?;
                let logits = lm.forward_last(&tokens, &positions, &mask, Some(&mut cache))?; // (batch, vocab)
                next = logits.argmax(1)?.to_vec1::<u32>()?;
            }
            Ok(start.elapsed().as_secs_f64())
        })?;
        Ok((batch * steps) as f64 / seconds)
    };
    let figures = DecodeFigures {
        peer: "ponder".into(),
        threads: rayon::current_num_threads(),
        pp128,
        pp512,
        tg128: if wanted("tg128") { tg(1)? } else { 0.0 },
        batch8: if wanted("batch8") { tg(8)? } else { 0.0 },
        batch32: if wanted("batch32") { tg(32)? } else { 0.0 },
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// A causal mask (1, 1, n, n) and positions (1, n) for one prompt of `n` tokens.
fn causal(n: usize) -> anyhow::Result<(Tensor, Tensor)> {
    let (mask, positions) = ponder_model::causal_mask(&[vec![0; n]], &Device::Cpu)?;
    Ok((mask, positions))
}

/// Runs the benchmark: ponder and llama.cpp at each thread count, then the table and ratios.
pub fn run(model: &Path, threads: &[usize], python: &Path, reps: usize, out: Option<&PathBuf>) -> anyhow::Result<()> {
    let loaded = Pretrained::load(model)?;
    let file_bytes = std::fs::metadata(model).map(|m| m.len() as f64).unwrap_or(0.0);
    println!(
        "ponder bench decode: {} ({:.0} MB, {:.0} MB of weights read per token)",
        loaded.name,
        file_bytes / 1e6,
        loaded.weight_bytes as f64 / 1e6
    );
    drop(loaded);
    let exe = std::env::current_exe().context("cannot find the ponder executable")?;
    let mut rows = Vec::new();
    for &n in threads {
        let ours = Command::new(&exe)
            .env("RAYON_NUM_THREADS", n.to_string())
            .args(["bench", "decode", "--worker", "--reps", &reps.to_string(), "--model"])
            .arg(model)
            .output()
            .context("cannot run the ponder worker")?;
        anyhow::ensure!(ours.status.success(), "ponder worker failed: {}", String::from_utf8_lossy(&ours.stderr));
        let ours: DecodeFigures = serde_json::from_slice(&ours.stdout).context("the ponder worker printed no JSON")?;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/llama_cpp_decode.py");
        let peer = Command::new(python)
            .arg(script)
            .arg(model)
            .args(["--threads", &n.to_string(), "--reps", &reps.to_string()])
            .output();
        let theirs = match peer {
            Ok(o) if o.status.success() => serde_json::from_slice::<DecodeFigures>(&o.stdout).ok(),
            Ok(o) => {
                eprintln!("llama.cpp peer failed: {}", String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or(""));
                None
            }
            Err(e) => {
                eprintln!(
                    "llama.cpp peer not run ({}: {e}); install it with `pip install llama-cpp-python` and pass --python",
                    python.display()
                );
                None
            }
        };
        rows.push((n, ours, theirs));
    }
    let bandwidth = read_bandwidth();
    println!("memory read bandwidth (this machine, 2 threads): {:.1} GB/s", bandwidth / 1e9);
    println!("{:>8} {:>8} {:>10} {:>10} {:>8}", "threads", "figure", "ponder", "llama.cpp", "ratio");
    for (n, ours, theirs) in &rows {
        for name in FIGURES {
            let o = ours.get(name);
            match theirs {
                Some(t) => println!("{n:>8} {name:>8} {o:>10.1} {:>10.1} {:>8.2}", t.get(name), o / t.get(name)),
                None => println!("{n:>8} {name:>8} {o:>10.1} {:>10} {:>8}", "-", "-"),
            }
        }
        let bound = bandwidth / file_bytes.max(1.0);
        println!(
            "{n:>8} tg128 at {:.0}% of the memory-bandwidth bound ({bound:.0} tokens/s)",
            100.0 * ours.tg128 / bound
        );
    }
    if let Some(out) = out {
        let json = serde_json::json!({ "model": model, "bandwidth_bytes_per_s": bandwidth,
            "rows": rows.iter().map(|(n, o, t)| serde_json::json!({"threads": n, "ponder": o, "llama_cpp": t})).collect::<Vec<_>>() });
        std::fs::write(out, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

/// Bytes per second summed from a 512 MiB buffer by the thread pool (the bound on decoding
/// at batch 1, which reads every weight once per token).
fn read_bandwidth() -> f64 {
    use rayon::prelude::*;
    let data = vec![1u64; 64 << 20];
    let mut best = 0f64;
    for _ in 0..3 {
        let start = Instant::now();
        let sum: u64 = data.par_chunks(1 << 16).map(|c| c.iter().fold(0u64, |a, &b| a.wrapping_add(b))).sum();
        let rate = (data.len() * 8) as f64 / start.elapsed().as_secs_f64();
        std::hint::black_box(sum);
        best = best.max(rate);
    }
    best
}
