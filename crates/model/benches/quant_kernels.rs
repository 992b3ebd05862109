//! The quantized matmul kernels at SmolLM2-135M-Instruct.Q4_1's shapes and formats: Q4_1
//! layers and the Q8_0 output head, for one input row (batch-1 decoding) and eight, on
//! matrices kept hot in cache and on matrices streamed from memory as decoding does.
//! Throughput counts 32-value block products per second.
//!
//! `RAYON_NUM_THREADS=1 cargo bench -p ponder-model --bench quant_kernels`
//! (`PONDER_NO_VNNI=1` measures the AVX2 kernels on a CPU with AVX-512 VNNI.)
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use candle_core::quantized::GgmlDType;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::f16;
use ponder_model::quant::{QuantMatrix, BLOCK};
use rand::{Rng, SeedableRng};

/// SmolLM2-135M's width.
const D: usize = 576;

/// A random matrix in GGUF's byte layout: per block an f16 scale, for Q4_1 an f16 minimum,
/// then 16 nibble bytes (Q4_1) or 32 signed bytes (Q8_0).
fn random_matrix(dtype: GgmlDType, rows: usize, cols: usize, seed: u64) -> QuantMatrix {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut bytes = Vec::new();
    for _ in 0..rows * cols / BLOCK {
        bytes.extend_from_slice(&f16::from_f32(rng.random_range(0.001..0.02)).to_le_bytes());
        let quants = if dtype == GgmlDType::Q4_1 {
            bytes.extend_from_slice(&f16::from_f32(rng.random_range(-0.1..0.0)).to_le_bytes());
            16
        } else {
            32
        };
        bytes.extend((0..quants).map(|_| rng.random::<u8>()));
    }
    QuantMatrix::from_gguf(dtype, rows, cols, &bytes).expect("a format with kernels")
}

/// `m` input rows of width `cols`.
fn input(m: usize, cols: usize) -> Vec<f32> {
    (0..m * cols).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect()
}

fn kernels(c: &mut Criterion) {
    // This thread joins a pool of RAYON_NUM_THREADS threads, so a product runs as in the
    // model's forward pass (`llama.rs`'s `in_pool`): forked from a pool thread, which takes
    // part in the work, instead of handed over to the pool at every call.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads())
        .use_current_thread()
        .build()
        .expect("thread pool");

    // One matrix, hot in cache after the first iteration: the kernel's arithmetic speed.
    let mut group = c.benchmark_group("hot");
    for (dtype, name, rows, cols) in [
        (GgmlDType::Q4_1, "q4_1_attn_output", D, D),
        (GgmlDType::Q4_1, "q4_1_gate_up", 2 * 1536, D),
        (GgmlDType::Q8_0, "q8_0_attn_output", D, D),
    ] {
        let w = random_matrix(dtype, rows, cols, 1);
        for m in [1, 8] {
            let x = input(m, cols);
            group.throughput(Throughput::Elements((rows * cols / BLOCK * m) as u64));
            group.bench_with_input(BenchmarkId::new(name, format!("m{m}")), &x, |b, x| {
                b.iter(|| pool.install(|| w.matmul(x)))
            });
        }
    }
    group.finish();

    // Decoding reads every weight once per token, far more than the 32 MB L3 here holds.
    let mut group = c.benchmark_group("streamed");
    let layers: Vec<QuantMatrix> = (0..80).map(|i| random_matrix(GgmlDType::Q4_1, 2 * 1536, D, 10 + i)).collect();
    let x = input(1, D);
    group.throughput(Throughput::Elements((layers.len() * 2 * 1536 * D / BLOCK) as u64));
    group.bench_function("q4_1_gate_up_x80/m1", |b| {
        b.iter(|| pool.install(|| layers.iter().map(|w| w.matmul(&x)[0]).sum::<f32>()))
    });
    let head = random_matrix(GgmlDType::Q8_0, 49152, D, 2); // the tied embedding, 32 MB
    group.throughput(Throughput::Elements((49152 * D / BLOCK) as u64));
    group.bench_function("q8_0_head/m1", |b| b.iter(|| pool.install(|| head.matmul(&x))));
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
