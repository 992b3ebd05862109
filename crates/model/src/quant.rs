//! Quantized matrix products for the GGUF formats SmolLM2 and most llama.cpp files use
//! (Q4_1 and Q8_0 weights), written to do exactly ggml's x86 arithmetic.
//!
//! Why our own: candle's Q8_1 activation blocks compute their sum term in f16
//! (`f16(sum) * f16(d)`) where ggml computes `f16(d * sum)` in f32, and it has no SIMD
//! path for Q4_1. The first makes greedy decoding drift from llama.cpp's; the second makes
//! it 4× slower. Here activations are quantized as ggml's AVX2 `quantize_row_q8_{0,1}`
//! does (scale `127 / max`, round half to even), and dot products accumulate as its AVX2
//! `vec_dot`: eight lanes of four products each, fused multiply-adds per block, then the
//! same horizontal sum. Integer sums are exact, so any SIMD width gives the same result;
//! the float steps are done in the same order.
//!
//! [`dot`] is the plain scalar reference; the `avx2` and `vnni` kernel modules do the same
//! arithmetic in intrinsics (ggml's instruction sequence; VNNI where the CPU has AVX-512
//! VNNI, as llama.cpp built for such a CPU does), chosen at run time; a test checks that
//! every variant agrees with the reference bit for bit.
#![allow(unsafe_code)] // AVX2 intrinsics (loads checked against slice lengths) and their dispatch

use candle_core::quantized::GgmlDType;
use half::f16;
use rayon::prelude::*;

/// Values per quantization block.
pub const BLOCK: usize = 32;

/// A weight matrix (rows × cols), one block scale per 32 values of a row.
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    rows: usize,
    cols: usize,
    format: Format,
    /// Block scales, rows × cols / 32.
    d: Vec<f32>,
    /// Block minimums (Q4_1 only; empty for Q8_0).
    m: Vec<f32>,
    /// Q4_1: 16 bytes per block, value `j` in the low nibble of byte `j` and value `j + 16`
    /// in its high nibble; Q8_0: 32 signed bytes per block stored as `u8`.
    qs: Vec<u8>,
}

/// The weight formats with kernels here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `d · q + m`, q in 0..16.
    Q4_1,
    /// `d · q`, q in -128..128.
    Q8_0,
}

/// Activations quantized to 8 bits per value, one row of the input at a time.
#[derive(Debug, Clone, Default)]
pub struct QuantActivations {
    cols: usize,
    /// Scale per block (rows × blocks), rounded through f16 as ggml stores it.
    d: Vec<f32>,
    /// `d · Σq` per block, rounded through f16 (ggml's `s`, used against Q4_1's minimum).
    s: Vec<f32>,
    /// The quantized values.
    qs: Vec<i8>,
}

impl QuantMatrix {
    /// Reads a GGUF tensor of `rows × cols` values; `None` for formats without a kernel here.
    /// `bytes` must hold exactly the tensor (checked by the GGUF parser).
    pub fn from_gguf(dtype: GgmlDType, rows: usize, cols: usize, bytes: &[u8]) -> Option<Self> {
        if !cols.is_multiple_of(BLOCK) {
            return None;
        }
        let blocks = rows * cols / BLOCK;
        let half = |b: &[u8]| f16::from_le_bytes([b[0], b[1]]).to_f32();
        match dtype {
            GgmlDType::Q4_1 if bytes.len() == blocks * 20 => {
                let (mut d, mut m, mut qs) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks), Vec::new());
                qs.reserve(blocks * 16);
                for block in bytes.chunks_exact(20) {
                    d.push(half(&block[0..2]));
                    m.push(half(&block[2..4]));
                    qs.extend_from_slice(&block[4..20]);
                }
                Some(Self { rows, cols, format: Format::Q4_1, d, m, qs })
            }
            GgmlDType::Q8_0 if bytes.len() == blocks * 34 => {
                let (mut d, mut qs) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks * 32));
                for block in bytes.chunks_exact(34) {
                    d.push(half(&block[0..2]));
                    qs.extend_from_slice(&block[2..34]);
                }
                Some(Self { rows, cols, format: Format::Q8_0, d, m: Vec::new(), qs })
            }
            _ => None,
        }
    }

    /// The rows of `parts` one after the other (same format and width), or `None`.
    pub fn stack(parts: &[&QuantMatrix]) -> Option<QuantMatrix> {
        let first = parts.first()?;
        if parts.iter().any(|p| p.format != first.format || p.cols != first.cols) {
            return None;
        }
        let cat = |f: fn(&QuantMatrix) -> &Vec<f32>| parts.iter().flat_map(|p| f(p).iter().copied()).collect();
        Some(QuantMatrix {
            rows: parts.iter().map(|p| p.rows).sum(),
            cols: first.cols,
            format: first.format,
            d: cat(|p| &p.d),
            m: cat(|p| &p.m),
            qs: parts.iter().flat_map(|p| p.qs.iter().copied()).collect(),
        })
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` as f32 (for embedding lookups): `d · q (+ m)`, as ggml dequantizes.
    pub fn row(&self, r: usize, out: &mut [f32]) {
        let blocks = self.cols / BLOCK;
        for b in 0..blocks {
            let i = r * blocks + b;
            let out = &mut out[b * BLOCK..(b + 1) * BLOCK];
            match self.format {
                Format::Q4_1 => {
                    let qs = &self.qs[i * 16..(i + 1) * 16];
                    for j in 0..16 {
                        out[j] = f32::from(qs[j] & 0x0F) * self.d[i] + self.m[i];
                        out[j + 16] = f32::from(qs[j] >> 4) * self.d[i] + self.m[i];
                    }
                }
                Format::Q8_0 => {
                    for (o, &q) in out.iter_mut().zip(&self.qs[i * 32..(i + 1) * 32]) {
                        *o = f32::from(q as i8) * self.d[i];
                    }
                }
            }
        }
    }

    /// `y = x · Wᵀ` for `x` (m × cols) row-major; returns (m × rows).
    pub fn matmul(&self, x: &[f32]) -> Vec<f32> {
        let m = x.len() / self.cols;
        let acts = QuantActivations::quantize(x, self.cols);
        let acts: Vec<ActRow> = (0..m).map(|i| acts.row(i)).collect();
        let mut out = vec![0f32; m * self.rows];
        // Each task takes a run of weight rows and multiplies them with every input row, so a
        // weight row is read from memory once per call.
        let chunk = (self.rows / (4 * rayon::current_num_threads())).clamp(16, 1024).next_multiple_of(4);
        if m == 1 {
            // One input row (decoding): each task writes its run of outputs in place.
            out.par_chunks_mut(chunk).enumerate().for_each(|(k, dst)| {
                let start = k * chunk;
                dst.copy_from_slice(&self.rows_times(start..start + dst.len(), &acts));
            });
            return out;
        }
        let parts: Vec<(usize, Vec<f32>)> = (0..self.rows)
            .step_by(chunk)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let end = (start + chunk).min(self.rows);
                (start, self.rows_times(start..end, &acts))
            })
            .collect();
        for (start, part) in parts {
            let width = part.len() / m.max(1);
            for i in 0..m {
                out[i * self.rows + start..][..width].copy_from_slice(&part[i * width..(i + 1) * width]);
            }
        }
        out
    }

    /// Weight rows `rows` times every activation row: (m × rows.len()), row-major.
    fn rows_times(&self, rows: std::ops::Range<usize>, acts: &[ActRow]) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        match simd() {
            // SAFETY: the CPU supports the features each variant is compiled for (detected).
            Simd::Vnni => return unsafe { vnni::rows_times(self, rows, acts) },
            Simd::Avx2 => return unsafe { avx2::rows_times(self, rows, acts) },
            Simd::None => {}
        }
        let width = rows.len();
        let mut part = vec![0f32; acts.len() * width];
        for r in rows.clone() {
            for (i, a) in acts.iter().enumerate() {
                part[i * width + r - rows.start] = dot(&self.row_view(r), a);
            }
        }
        part
    }

    /// Weight row `r`.
    #[inline(always)]
    fn row_view(&self, r: usize) -> Row<'_> {
        let blocks = self.cols / BLOCK;
        let per_block = if self.format == Format::Q4_1 { 16 } else { 32 };
        Row {
            format: self.format,
            d: &self.d[r * blocks..(r + 1) * blocks],
            m: if self.m.is_empty() { &[] } else { &self.m[r * blocks..(r + 1) * blocks] },
            qs: &self.qs[r * blocks * per_block..(r + 1) * blocks * per_block],
        }
    }
}

impl QuantActivations {
    /// Row `i`.
    fn row(&self, i: usize) -> ActRow<'_> {
        let blocks = self.cols / BLOCK;
        ActRow {
            d: &self.d[i * blocks..(i + 1) * blocks],
            s: &self.s[i * blocks..(i + 1) * blocks],
            qs: &self.qs[i * self.cols..(i + 1) * self.cols],
        }
    }

    /// Quantizes every row of `x` (rows × cols) to 8 bits per value in blocks of 32, as
    /// ggml's AVX2 `quantize_row_q8_1` does.
    pub fn quantize(x: &[f32], cols: usize) -> Self {
        let blocks = x.len() / BLOCK;
        let mut out = Self { cols, d: vec![0.0; blocks], s: vec![0.0; blocks], qs: vec![0; x.len()] };
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has the features `quantize_avx2` is compiled for (checked).
            unsafe { quantize_avx2(x, &mut out) };
            return out;
        }
        quantize_blocks(x, &mut out);
        out
    }
}

/// The body of [`QuantActivations::quantize`]: scale `127 / max`, round half to even.
#[inline(always)]
fn quantize_blocks(x: &[f32], out: &mut QuantActivations) {
    for (b, (block, qs)) in x.chunks_exact(BLOCK).zip(out.qs.chunks_exact_mut(BLOCK)).enumerate() {
        let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = max / 127.0;
        let id = if max != 0.0 { 127.0 / max } else { 0.0 };
        let mut sum = 0i32;
        for (q, &v) in qs.iter_mut().zip(block) {
            *q = (v * id).round_ties_even() as i8;
            sum += i32::from(*q);
        }
        out.d[b] = f16::from_f32(d).to_f32();
        out.s[b] = f16::from_f32(d * sum as f32).to_f32();
    }
}

/// [`quantize_blocks`] compiled with AVX2 (rounding becomes one instruction, not a libm call).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn quantize_avx2(x: &[f32], out: &mut QuantActivations) {
    quantize_blocks(x, out);
}

/// One weight row.
#[derive(Clone)]
struct Row<'a> {
    format: Format,
    d: &'a [f32],
    m: &'a [f32],
    qs: &'a [u8],
}

/// One quantized activation row.
#[derive(Clone)]
struct ActRow<'a> {
    d: &'a [f32],
    s: &'a [f32],
    qs: &'a [i8],
}

/// The dot product of a weight row and an activation row, in ggml's AVX2 order: per block,
/// eight integer lane sums of four products, `acc[lane] = fma(dw · da, lane, acc[lane])`;
/// Q4_1 adds `Σ m · s` separately; then ggml's horizontal sum of the eight lanes.
#[inline(always)]
fn dot(w: &Row, a: &ActRow) -> f32 {
    let mut acc = [0f32; 8];
    let mut mins = 0f32;
    for b in 0..w.d.len() {
        let aq = &a.qs[b * BLOCK..(b + 1) * BLOCK];
        let mut lanes = [0i32; 8];
        match w.format {
            Format::Q4_1 => {
                mins += w.m[b] * a.s[b];
                let wq = &w.qs[b * 16..(b + 1) * 16];
                for j in 0..16 {
                    lanes[j / 4] += i32::from(wq[j] & 0x0F) * i32::from(aq[j]);
                    lanes[4 + j / 4] += i32::from(wq[j] >> 4) * i32::from(aq[j + 16]);
                }
            }
            Format::Q8_0 => {
                let wq = &w.qs[b * 32..(b + 1) * 32];
                for j in 0..32 {
                    lanes[j / 4] += i32::from(wq[j] as i8) * i32::from(aq[j]);
                }
            }
        }
        let scale = w.d[b] * a.d[b];
        for (acc, &lane) in acc.iter_mut().zip(&lanes) {
            *acc = scale.mul_add(lane as f32, *acc);
        }
    }
    // ggml's hsum_float_8: (hi + lo) pairwise, then lanes 0+2 and 1+3, then 0+1.
    let r: [f32; 4] = std::array::from_fn(|i| acc[4 + i] + acc[i]);
    let (r0, r1) = (r[0] + r[2], r[1] + r[3]);
    (r0 + r1) + mins
}

/// The SIMD kernels this CPU can run, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Simd {
    /// AVX2 + FMA with AVX-512 VNNI's `vpdpbusd` (one instruction for the byte products and
    /// their four-way sums, where AVX2 needs `maddubs` then `madd`).
    Vnni,
    /// AVX2 + FMA.
    Avx2,
    /// The scalar reference.
    None,
}

/// Detects (once) which kernels run here.
fn simd() -> Simd {
    static DETECTED: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                if has!("avx512vnni") && has!("avx512vl") && std::env::var_os("PONDER_NO_VNNI").is_none() {
                    return Simd::Vnni;
                }
                return Simd::Avx2;
            }
        }
        Simd::None
    })
}

/// Whether this CPU runs the AVX2 kernels (the activation quantizer uses them too).
fn has_avx2() -> bool {
    simd() != Simd::None
}

/// Writes one module of x86 kernels compiled for `$features`, whose eight four-product
/// lane sums come from `$lanes`: `rows_times` walks weight rows in tiles of 4 rows × 2 (or 1)
/// inputs, and `dot_tile` is R weight rows × C activation rows of [`dot`] at once, in
/// ggml's instruction sequence. Each (row, input) pair keeps its own accumulator in block
/// order, so every result is bit-identical to [`dot`] (tested); the R·C independent chains
/// hide the latency of the fused multiply-add, and each loaded block is reused R or C times.
/// Everything inlines into `rows_times`, which carries the target features (closures would
/// not inherit them, so there are none in here).
macro_rules! x86_kernels {
    ($module:ident, $features:literal, $lanes:ident) => {
        #[cfg(target_arch = "x86_64")]
        mod $module {
            use super::*;
            use std::arch::x86_64::*;

            /// See [`QuantMatrix::rows_times`].
            #[target_feature(enable = $features)]
            pub(super) fn rows_times(w: &QuantMatrix, rows: std::ops::Range<usize>, acts: &[ActRow]) -> Vec<f32> {
                let (m, width) = (acts.len(), rows.len());
                let mut part = vec![0f32; m * width];
                let mut r = rows.start;
                while r + 4 <= rows.end {
                    let tile = [w.row_view(r), w.row_view(r + 1), w.row_view(r + 2), w.row_view(r + 3)];
                    let col = r - rows.start;
                    let mut i = 0;
                    while i + 2 <= m {
                        let y = dot_tile::<4, 2>(&tile, &[acts[i].clone(), acts[i + 1].clone()]);
                        for (dr, ys) in y.iter().enumerate() {
                            part[i * width + col + dr] = ys[0];
                            part[(i + 1) * width + col + dr] = ys[1];
                        }
                        i += 2;
                    }
                    if i < m {
                        let y = dot_tile::<4, 1>(&tile, std::array::from_ref(&acts[i]));
                        for (dr, ys) in y.iter().enumerate() {
                            part[i * width + col + dr] = ys[0];
                        }
                    }
                    r += 4;
                }
                for r in r..rows.end {
                    let tile = [w.row_view(r)];
                    for (i, a) in acts.iter().enumerate() {
                        part[i * width + r - rows.start] = dot_tile::<1, 1>(&tile, std::array::from_ref(a))[0][0];
                    }
                }
                part
            }

            #[target_feature(enable = $features)]
            #[inline]
            fn dot_tile<const R: usize, const C: usize>(w: &[Row; R], a: &[ActRow; C]) -> [[f32; C]; R] {
                let blocks = w[0].d.len();
                let q4 = w[0].format == Format::Q4_1;
                let per_block = if q4 { 16 } else { 32 };
                // Every slice is checked once here; the loop below reads inside these bounds only.
                let mut wq = [std::ptr::null::<u8>(); R];
                let mut wd: [&[f32]; R] = [&[]; R];
                let mut wm: [&[f32]; R] = [&[]; R];
                for r in 0..R {
                    assert!(
                        w[r].format == w[0].format && w[r].d.len() == blocks && w[r].qs.len() >= blocks * per_block
                    );
                    assert!(!q4 || w[r].m.len() >= blocks);
                    wq[r] = w[r].qs.as_ptr();
                    wd[r] = &w[r].d[..blocks];
                    wm[r] = if q4 { &w[r].m[..blocks] } else { &[] };
                }
                let mut aq = [std::ptr::null::<i8>(); C];
                let mut ad: [&[f32]; C] = [&[]; C];
                let mut as_: [&[f32]; C] = [&[]; C];
                for c in 0..C {
                    assert!(a[c].qs.len() >= blocks * BLOCK && a[c].d.len() >= blocks && a[c].s.len() >= blocks);
                    aq[c] = a[c].qs.as_ptr();
                    ad[c] = &a[c].d[..blocks];
                    as_[c] = &a[c].s[..blocks];
                }
                let low_nibbles = _mm256_set1_epi8(0x0F);
                let mut acc = [[_mm256_setzero_ps(); C]; R];
                let mut mins = [[0f32; C]; R];
                let mut qy = [_mm256_setzero_si256(); C];
                if q4 {
                    for b in 0..blocks {
                        for c in 0..C {
                            // SAFETY: b < blocks and a[c].qs holds blocks · 32 bytes (asserted).
                            qy[c] = unsafe { _mm256_loadu_si256(aq[c].add(b * BLOCK).cast()) };
                        }
                        for r in 0..R {
                            // SAFETY: w[r].qs holds blocks · 16 bytes (asserted).
                            let raw = unsafe { _mm_loadu_si128(wq[r].add(b * 16).cast()) };
                            // Low nibbles in the low half, high nibbles in the high half.
                            let qx = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), low_nibbles);
                            for c in 0..C {
                                mins[r][c] += wm[r][b] * as_[c][b];
                                let lanes = $lanes(qx, qy[c]);
                                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(wd[r][b] * ad[c][b]), lanes, acc[r][c]);
                            }
                        }
                    }
                } else {
                    for b in 0..blocks {
                        for c in 0..C {
                            // SAFETY: as above.
                            qy[c] = unsafe { _mm256_loadu_si256(aq[c].add(b * BLOCK).cast()) };
                        }
                        for r in 0..R {
                            // SAFETY: w[r].qs holds blocks · 32 bytes (asserted).
                            let qx = unsafe { _mm256_loadu_si256(wq[r].add(b * 32).cast()) };
                            // The same bytes of the next tile's row: streaming a large Q8_0
                            // matrix (an output head) ran 1.6× faster with this hint than
                            // on the hardware prefetcher alone (Q4_1 ran slower with it).
                            // A hint never faults, so any address will do.
                            _mm_prefetch::<_MM_HINT_T0>(wq[r].wrapping_add((R * blocks + b) * 32).cast());
                            // Signed × signed: |x| times y with x's sign, as ggml does.
                            let ax = _mm256_sign_epi8(qx, qx);
                            for c in 0..C {
                                let lanes = $lanes(ax, _mm256_sign_epi8(qy[c], qx));
                                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(wd[r][b] * ad[c][b]), lanes, acc[r][c]);
                            }
                        }
                    }
                }
                let mut out = [[0f32; C]; R];
                for r in 0..R {
                    for c in 0..C {
                        let mut l = [0f32; 8];
                        // SAFETY: `l` holds exactly eight f32.
                        unsafe { _mm256_storeu_ps(l.as_mut_ptr(), acc[r][c]) };
                        let h = [l[4] + l[0], l[5] + l[1], l[6] + l[2], l[7] + l[3]];
                        out[r][c] = ((h[0] + h[2]) + (h[1] + h[3])) + mins[r][c];
                    }
                }
                out
            }
        }
    };
}

/// Unsigned × signed byte products summed in fours, as f32 lanes: AVX2's `maddubs` (pairs
/// into i16, which cannot saturate for these operands) then `madd` with ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lanes_maddubs(x: std::arch::x86_64::__m256i, y: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1)))
}

/// The same lanes in one VNNI instruction (exact integer sums, so bit-identical).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
#[inline]
fn lanes_vnni(x: std::arch::x86_64::__m256i, y: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), x, y))
}

x86_kernels!(avx2, "avx2,fma", lanes_maddubs);
x86_kernels!(vnni, "avx2,fma,avx512vnni,avx512vl", lanes_vnni);

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-2.0f32..2.0)).collect()
    }

    /// Candle's own quantization of `w` into `dtype`, as GGUF bytes.
    fn quantized(w: &[f32], rows: usize, cols: usize, dtype: GgmlDType) -> QuantMatrix {
        let t = candle_core::Tensor::from_slice(w, (rows, cols), &candle_core::Device::Cpu).expect("tensor");
        let q = candle_core::quantized::QTensor::quantize(&t, dtype).expect("quantize");
        QuantMatrix::from_gguf(dtype, rows, cols, &q.data().expect("bytes")).expect("supported")
    }

    #[test]
    fn simd_tiles_and_scalar_agree_bit_for_bit() {
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            // 1 and 7 inputs: 4×2 and 4×1 tiles, single rows and single inputs.
            let (rows, cols) = (42, 96); // three tasks of 16 rows; tiles of 4 and single-row tails
            let w = quantized(&random(rows * cols, 1), rows, cols, dtype);
            for m in [1, 7] {
                let x = random(m * cols, 2);
                let acts = QuantActivations::quantize(&x, cols);
                let rows_of_acts: Vec<ActRow> = (0..m).map(|i| acts.row(i)).collect();
                let mut variants = vec![("matmul", w.matmul(&x))];
                #[cfg(target_arch = "x86_64")]
                {
                    use std::is_x86_feature_detected as has;
                    if has!("avx2") && has!("fma") {
                        // SAFETY: the features were just detected.
                        variants.push(("avx2", unsafe { avx2::rows_times(&w, 0..rows, &rows_of_acts) }));
                        if has!("avx512vnni") && has!("avx512vl") {
                            // SAFETY: as above.
                            variants.push(("vnni", unsafe { vnni::rows_times(&w, 0..rows, &rows_of_acts) }));
                        }
                    }
                }
                for (name, y) in &variants {
                    for r in 0..rows {
                        for i in 0..m {
                            let scalar = dot(&w.row_view(r), &acts.row(i));
                            let got = y[i * rows + r];
                            assert_eq!(scalar.to_bits(), got.to_bits(), "{name} {dtype:?} m {m} row {r} input {i}");
                        }
                    }
                }
                eprintln!("{dtype:?} m {m}: {} variants agree", variants.len());
            }
        }
    }

    /// The same quantized arithmetic written plainly, in f64: Σ over blocks of
    /// `dw · da · Σ qw·qa (+ m · s)`.
    fn reference(w: &QuantMatrix, acts: &QuantActivations, r: usize, i: usize) -> f64 {
        let blocks = w.cols / BLOCK;
        (0..blocks)
            .map(|b| {
                let (wb, ab) = (r * blocks + b, i * blocks + b);
                let aq = &acts.qs[ab * BLOCK..(ab + 1) * BLOCK];
                let ints: i64 = (0..BLOCK)
                    .map(|j| {
                        let q = match w.format {
                            Format::Q4_1 => {
                                let byte = w.qs[wb * 16 + j % 16];
                                i64::from(if j < 16 { byte & 0x0F } else { byte >> 4 })
                            }
                            Format::Q8_0 => i64::from(w.qs[wb * 32 + j] as i8),
                        };
                        q * i64::from(aq[j])
                    })
                    .sum();
                let min = if w.m.is_empty() { 0.0 } else { f64::from(w.m[wb]) * f64::from(acts.s[ab]) };
                f64::from(w.d[wb]) * f64::from(acts.d[ab]) * ints as f64 + min
            })
            .sum()
    }

    #[test]
    fn products_match_the_plain_quantized_arithmetic_and_approximate_the_float_product() {
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let (m, rows, cols) = (3, 40, 128);
            let w = quantized(&random(rows * cols, 3), rows, cols, dtype);
            let x = random(m * cols, 4);
            let acts = QuantActivations::quantize(&x, cols);
            let y = w.matmul(&x);
            let mut row = vec![0f32; cols];
            for r in 0..rows {
                w.row(r, &mut row);
                for i in 0..m {
                    let got = f64::from(y[i * rows + r]);
                    let plain = reference(&w, &acts, r, i);
                    assert!((got - plain).abs() < 1e-4 * (1.0 + plain.abs()), "{dtype:?} {got} vs {plain}");
                    let float: f64 = row.iter().zip(&x[i * cols..(i + 1) * cols]).map(|(a, b)| f64::from(a * b)).sum();
                    // 8-bit activations and an f16 block sum: a few hundredths on 128 terms.
                    assert!((got - float).abs() < 0.25, "{dtype:?} {got} vs float {float}");
                }
            }
        }
    }

    #[test]
    fn rows_dequantize_as_candle_does() {
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let (rows, cols) = (4, 64);
            let t = candle_core::Tensor::from_vec(random(rows * cols, 5), (rows, cols), &candle_core::Device::Cpu)
                .expect("tensor");
            let q = candle_core::quantized::QTensor::quantize(&t, dtype).expect("quantize");
            let theirs = q.dequantize(&candle_core::Device::Cpu).and_then(|t| t.to_vec2::<f32>()).expect("dequantize");
            let ours = QuantMatrix::from_gguf(dtype, rows, cols, &q.data().expect("bytes")).expect("supported");
            let mut row = vec![0f32; cols];
            for (r, theirs) in theirs.iter().enumerate() {
                ours.row(r, &mut row);
                assert_eq!(&row, theirs, "{dtype:?} row {r}");
            }
        }
    }

    #[test]
    fn activation_quantization_rounds_half_to_even_and_keeps_the_sum_in_f32() {
        // max 127 → scale exactly 1: 0.5 → 0, 1.5 → 2, 2.5 → 2.
        let mut x = vec![0f32; 32];
        x[0] = 127.0;
        x[1] = 0.5;
        x[2] = 1.5;
        x[3] = 2.5;
        let q = QuantActivations::quantize(&x, 32);
        assert_eq!(&q.qs[..4], &[127, 0, 2, 2]);
        assert_eq!(q.d[0], 1.0);
        assert_eq!(q.s[0], 131.0);
    }

    #[test]
    fn unsupported_formats_are_declined() {
        assert!(QuantMatrix::from_gguf(GgmlDType::Q4K, 1, 256, &[0; 144]).is_none());
        assert!(QuantMatrix::from_gguf(GgmlDType::Q4_1, 1, 32, &[0; 19]).is_none());
    }
}
