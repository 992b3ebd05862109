//! `ponder bench …`: speed figures, printed, with the peer measured in the same run.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use clap::{Args, Subcommand};
use ponder_model::{generate, init_weights, special, DocumentMask, Preset, SamplingParams, TinyReasoner};
use ponder_train::data::{packed_batch, Batch};
use ponder_train::{completion_loss, completion_loss_of, PretrainConfig};
use rand::{Rng, SeedableRng};

/// Arguments of `ponder bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Forward+backward tokens/s and GFLOP/s of a preset at the pretraining shapes, beside PyTorch CPU.
    Train {
        /// Model size.
        #[arg(long, default_value = "micro")]
        preset: Preset,
        /// Timed steps (after one warm-up step).
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// Python with torch for the peer (Debian's python3-torch); skip the peer if absent.
        #[arg(long, default_value = "/usr/bin/python3")]
        python: PathBuf,
    },
    /// A real model's prompt-processing and generation speed, beside llama.cpp on the same file.
    Decode {
        /// A .gguf file (or Hugging Face model folder).
        #[arg(long)]
        model: PathBuf,
        /// Thread counts to measure.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        threads: Vec<usize>,
        /// Python with llama-cpp-python for the peer.
        #[arg(long, default_value = "python3")]
        python: PathBuf,
        /// Repetitions per figure (the fastest counts).
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Also write the figures here as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Measure ponder only, in this process, and print JSON (used by the benchmark itself).
        #[arg(long, hide = true)]
        worker: bool,
        /// With --worker: only these figures (e.g. `tg128`, for profiling one path).
        #[arg(long, hide = true, value_delimiter = ',')]
        figures: Vec<String>,
    },
    /// Generation tokens/s with the KV cache: 64 sequences in parallel, and 1.
    Sample {
        /// Model size.
        #[arg(long, default_value = "micro")]
        preset: Preset,
        /// New tokens per sequence.
        #[arg(long, default_value_t = 256)]
        tokens: usize,
    },
}

/// Runs `ponder bench …`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Train { preset, steps, python } => train(preset, steps, &python),
        BenchCommand::Sample { preset, tokens } => sample(preset, tokens),
        BenchCommand::Decode { model, worker: true, reps, figures, .. } => {
            crate::bench_decode::worker(&model, reps, &figures)
        }
        BenchCommand::Decode { model, threads, python, reps, out, .. } => {
            crate::bench_decode::run(&model, &threads, &python, reps, out.as_ref())
        }
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn train(preset: Preset, steps: usize, python: &PathBuf) -> anyhow::Result<()> {
    let config = PretrainConfig::for_preset(preset);
    let (b, t, c) = (config.batch_size, config.seq_len, &config.model);
    let device = Device::Cpu;
    let varmap = init_weights(c, 0, &device)?;
    let model = TinyReasoner::new(c.clone(), VarBuilder::from_varmap(&varmap, DType::F32, &device))?;
    // Rows of one random 768-token document each: the shapes the PyTorch peer runs.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let tokens: Vec<u32> = (0..b * (t + 1)).map(|_| rng.random_range(0..256)).collect();
    let rows: Vec<&[u32]> = tokens.chunks(t + 1).collect();
    let single = Batch {
        inputs: Tensor::from_vec(rows.iter().flat_map(|r| r[..t].to_vec()).collect::<Vec<_>>(), (b, t), &device)?,
        targets: Tensor::from_vec(rows.iter().flat_map(|r| r[1..].to_vec()).collect::<Vec<_>>(), (b, t), &device)?,
        loss_mask: Tensor::ones((b, t), DType::F32, &device)?,
        documents: DocumentMask::new(&vec![vec![0; t]; b])?,
        loss_tokens: b * t,
    };
    // Rows as pretraining packs them, from the preset's mixture.
    let packed = packed_batch(&config.mixture, 0, 0, b, t, &device)?;
    println!(
        "ponder bench train: preset {preset:?} ({} parameters), batch {b} x {t} tokens, {} threads, forward+backward",
        c.param_count(),
        threads()
    );
    let mut ours = 0.0;
    for (rows, batch) in [("one document per row", &single), ("packed from the mixture", &packed)] {
        let fused = seconds_per_step(steps, || Ok(completion_loss(&model, batch)?.backward()?))?;
        let (mask, positions) = (batch.documents.dense(&device)?, batch.documents.positions(&device)?);
        let dense = seconds_per_step(steps, || {
            let logits = model.forward(&batch.inputs, &positions, &mask, None)?;
            Ok(completion_loss_of(&logits, batch)?.backward()?)
        })?;
        let rate = |seconds: f64| (b * t) as f64 / seconds;
        println!(
            "  rows {rows}: fused document attention {:>7.0} tokens/s ({fused:.2} s/step), dense mask {:>7.0} tokens/s ({dense:.2} s/step), fused / dense = {:.2}",
            rate(fused),
            rate(dense),
            dense / fused
        );
        if ours == 0.0 {
            ours = rate(fused);
            let gflops = 3.0 * c.flops_per_token(t / 2) * ours / 1e9;
            println!("    ponder (candle, fused): {gflops:.1} GFLOP/s");
        }
    }

    let peer = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/torch_train.py"))
        .args(["--d-model", &c.d_model.to_string(), "--layers", &c.n_layers.to_string()])
        .args(["--heads", &c.n_heads.to_string(), "--ff", &c.d_ff.to_string()])
        .args(["--batch", &b.to_string(), "--seq", &t.to_string(), "--steps", &steps.to_string()])
        .args(["--threads", &threads().to_string()])
        .output();
    match peer {
        Ok(out) if out.status.success() => {
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).context("peer printed no JSON")?;
            let theirs = report["tokens_per_second"].as_f64().context("peer JSON lacks tokens_per_second")?;
            println!("  {}: {theirs:>8.0} tokens/s", report["peer"].as_str().unwrap_or("pytorch"));
            println!("  ponder (fused) / pytorch, one document per row = {:.2}", ours / theirs);
        }
        Ok(out) => {
            println!("  pytorch peer failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""))
        }
        Err(e) => println!(
            "  pytorch peer not run ({}: {e}); install it with `apt-get install python3-torch libopenblas0-pthread`",
            python.display()
        ),
    }
    Ok(())
}

/// Mean seconds of `steps` calls of `step`, after one warm-up call.
fn seconds_per_step<T>(steps: usize, mut step: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<f64> {
    step()?;
    let start = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    Ok(start.elapsed().as_secs_f64() / steps.max(1) as f64)
}

fn sample(preset: Preset, tokens: usize) -> anyhow::Result<()> {
    let config = PretrainConfig::for_preset(preset).model;
    let varmap = init_weights(&config, 0, &Device::Cpu)?;
    let model = TinyReasoner::new(config.clone(), VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    // A random model rarely emits the end token; count the tokens actually generated.
    let params = SamplingParams { temperature: 1.0, max_new_tokens: tokens, ..SamplingParams::default() };
    println!(
        "ponder bench sample: preset {preset:?} ({} parameters), {tokens} new tokens per sequence, {} threads",
        config.param_count(),
        threads()
    );
    for batch in [1usize, 8, 64] {
        let prompts: Vec<Vec<u32>> =
            (0..batch).map(|_| vec![special::BOS, u32::from(b'Q'), u32::from(b'\n')]).collect();
        let seeds: Vec<u64> = (0..batch as u64).collect();
        let start = Instant::now();
        let out = generate(&model, &prompts, &seeds, &params, |_, _| {})?;
        let generated: usize = out.iter().map(|g| g.tokens.len()).sum();
        println!("  {batch:>3} sequences: {:>8.0} tokens/s", generated as f64 / start.elapsed().as_secs_f64());
    }
    Ok(())
}
