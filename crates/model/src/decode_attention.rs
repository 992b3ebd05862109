//! Attention of one new token per sequence over its KV cache, fused, for sampling on the CPU.
//!
//! A decoding step of a batch feeds one token per sequence. Done with candle's ops, each
//! layer copies the cached values into a contiguous tensor (the cache is a view into a
//! larger preallocated buffer), runs one tiny matrix product per (sequence, head) for the
//! scores and another for the output, and adds a dense mask that hides each sequence's left
//! padding. For a batch of 128 sequences with a few hundred cached tokens, those copies and
//! the per-product overhead of the general matrix multiply took most of a sampling step
//! (`perf` on `ponder eval`: gemm's small-product paths about 30%, memmove about 18%).
//!
//! [`decode_attention`] reads the keys and values where the cache holds them, skips each
//! sequence's padding, and shares a key/value head among its query heads without copying
//! it (grouped-query attention). It is forward-only: sampling is never differentiated.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};

use crate::doc_attention::{axpy, softmax_row, Element};
use crate::Result;

/// The left padding of every sequence, read from a one-query decoding mask
/// `(batch, 1, 1, keys)`: `Some(pads)` when row `i` hides exactly its first `pads[i]` keys
/// (the shape the sampler builds), `None` for any other mask, which the caller must then
/// apply densely.
pub(crate) fn left_padding(mask: &Tensor) -> Result<Option<Vec<usize>>> {
    let (b, _, t, keys) = mask.dims4()?;
    if t != 1 {
        return Ok(None);
    }
    let rows = mask.reshape((b, keys))?.to_dtype(DType::F32)?.to_vec2::<f32>()?;
    let mut pads = Vec::with_capacity(b);
    for row in rows {
        let pad = row.iter().take_while(|&&m| m < -1e8).count();
        if pad == keys || row[pad..].iter().any(|&m| m != 0.0) {
            return Ok(None);
        }
        pads.push(pad);
    }
    Ok(Some(pads))
}

/// Softmax attention of one new query per sequence over the keys and values of its cache,
/// scaled by `1 / sqrt(head_dim)`; sequence `i` does not see its first `pads[i]` keys.
///
/// * `q`: (batch, heads, 1, head_dim).
/// * `k`, `v`: (batch, kv_heads, keys, head_dim), `heads` a multiple of `kv_heads`; each
///   (sequence, head) block's rows must be contiguous, as in a narrowed [`crate::KvCache`].
///
/// Returns (batch, heads, 1, head_dim), f32 or f64 on the CPU.
pub fn decode_attention(q: &Tensor, k: &Tensor, v: &Tensor, pads: &[usize]) -> Result<Tensor> {
    let (b, h, t, hd) = q.dims4()?;
    let (kb, kv_heads, keys, khd) = k.dims4()?;
    if t != 1 || kb != b || khd != hd || v.dims4()? != (b, kv_heads, keys, hd) || h % kv_heads != 0 {
        return Err(crate::Error::Config(format!(
            "decode attention needs q (b, h, 1, hd) and k, v (b, kv_heads, keys, hd) with h a multiple of \
             kv_heads, got {:?}, {:?}, {:?}",
            q.dims(),
            k.dims(),
            v.dims()
        )));
    }
    if pads.len() != b || pads.iter().any(|&p| p >= keys) {
        return Err(crate::Error::Config(format!(
            "decode attention over {b} sequences of {keys} keys was given the paddings {pads:?}"
        )));
    }
    let op = DecodeAttention { pads: pads.to_vec(), scale: 1.0 / (hd as f64).sqrt() };
    Ok(q.contiguous()?.apply_op3_no_bwd(k, v, &op)?)
}

/// Multiply-adds of one step below which the attention runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 16;

struct DecodeAttention {
    pads: Vec<usize>,
    scale: f64,
}

/// Where the (sequence, head) blocks of a (batch, heads, keys, head_dim) view start in its
/// storage, when every block's rows are contiguous.
struct Blocks<'a, T> {
    data: &'a [T],
    offset: usize,
    strides: [usize; 2],
}

impl<'a, T: Element> Blocks<'a, T> {
    fn new(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<Self> {
        let (_, _, keys, hd) = layout.shape().dims4()?;
        let s = layout.stride();
        if s[3] != 1 || (keys > 1 && s[2] != hd) {
            candle_core::bail!("decode attention needs the rows of each key/value block contiguous, strides {s:?}");
        }
        Ok(Self { data: T::cpu_storage_as_slice(storage)?, offset: layout.start_offset(), strides: [s[0], s[1]] })
    }

    /// Rows `from..to` of the block of sequence `row`, head `head`.
    fn rows(&self, row: usize, head: usize, from: usize, to: usize, hd: usize) -> &'a [T] {
        let at = self.offset + row * self.strides[0] + head * self.strides[1];
        &self.data[at + from * hd..at + to * hd]
    }
}

impl DecodeAttention {
    fn forward<T: Element>(
        &self,
        q: &[T],
        (k, v): (Blocks<T>, Blocks<T>),
        (h, kv_heads, keys, hd): (usize, usize, usize, usize),
    ) -> Vec<T> {
        use rayon::prelude::*;
        let scale = T::from(self.scale).expect("a float");
        let group = h / kv_heads;
        let mut out = vec![T::zero(); q.len()];
        let attend = |p: &mut Vec<T>, (bh, y): (usize, &mut [T])| {
            let (row, head) = (bh / h, bh % h);
            let pad = self.pads[row];
            softmax_row(&q[bh * hd..(bh + 1) * hd], k.rows(row, head / group, pad, keys, hd), hd, scale, p);
            for (pj, vj) in p.iter().zip(v.rows(row, head / group, pad, keys, hd).chunks_exact(hd)) {
                axpy(*pj, vj, y);
            }
        };
        // Waking the thread pool costs more than a small batch's attention (batch 1: 20-30%).
        if q.len() * keys < PARALLEL_WORK {
            let mut p = Vec::new();
            out.chunks_mut(hd).enumerate().for_each(|block| attend(&mut p, block));
        } else {
            out.par_chunks_mut(hd).enumerate().for_each_init(Vec::new, attend);
        }
        out
    }
}

impl CustomOp3 for DecodeAttention {
    fn name(&self) -> &'static str {
        "decode-attention"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, h, _, hd) = l1.shape().dims4()?;
        let (_, kv_heads, keys, _) = l2.shape().dims4()?;
        let dims = (h, kv_heads, keys, hd);
        let storage = match candle_core::backend::BackendStorage::dtype(s1) {
            DType::F32 => {
                let q = crate::doc_attention::slice::<f32>(s1, l1)?;
                CpuStorage::F32(self.forward(q, (Blocks::new(s2, l2)?, Blocks::new(s3, l3)?), dims))
            }
            DType::F64 => {
                let q = crate::doc_attention::slice::<f64>(s1, l1)?;
                CpuStorage::F64(self.forward(q, (Blocks::new(s2, l2)?, Blocks::new(s3, l3)?), dims))
            }
            other => candle_core::bail!("decode attention runs in f32 or f64, not {other:?}"),
        };
        Ok((storage, l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, D};

    /// The same attention with candle's ops and a dense mask.
    fn dense(q: &Tensor, k: &Tensor, v: &Tensor, pads: &[usize]) -> Tensor {
        let (b, h, _, hd) = q.dims4().expect("q");
        let (_, kv_heads, keys, _) = k.dims4().expect("k");
        let group = h / kv_heads;
        let repeat = |x: &Tensor| crate::cache::repeat_heads(&x.contiguous().expect("c"), group).expect("repeat");
        let mut mask = vec![0f32; b * keys];
        for (i, &p) in pads.iter().enumerate() {
            mask[i * keys..i * keys + p].fill(crate::doc_attention::MASKED);
        }
        let mask = Tensor::from_vec(mask, (b, 1, 1, keys), &Device::Cpu).expect("mask");
        let scores = (q.matmul(&repeat(k).t().expect("t")).expect("qk") / (hd as f64).sqrt()).expect("scale");
        let weights = candle_nn::ops::softmax(&scores.broadcast_add(&mask).expect("mask"), D::Minus1).expect("softmax");
        weights.matmul(&repeat(v)).expect("pv")
    }

    #[test]
    fn matches_the_dense_mask_on_a_cache_view_with_shared_heads() {
        let device = Device::Cpu;
        let (b, h, kv_heads, capacity, keys, hd) = (3, 4, 2, 20, 13, 8);
        let cache = |seed: f64| {
            let n = b * kv_heads * capacity * hd;
            let data: Vec<f32> = (0..n).map(|i| ((i as f64 * 0.37 + seed).sin()) as f32).collect();
            Tensor::from_vec(data, (b, kv_heads, capacity, hd), &device)
                .expect("cache")
                .narrow(2, 0, keys)
                .expect("view")
        };
        let (k, v) = (cache(0.1), cache(2.3));
        assert!(!k.is_contiguous(), "the test must read a view, as the sampler does");
        let q = Tensor::randn(0f32, 1.0, (b, h, 1, hd), &device).expect("q");
        let pads = [0, 5, 12];
        let got = decode_attention(&q, &k, &v, &pads).expect("fused");
        let want = dense(&q, &k, &v, &pads);
        let diff =
            (got - want).expect("diff").abs().expect("abs").max_all().expect("max").to_scalar::<f32>().expect("s");
        assert!(diff < 1e-5, "fused and dense differ by {diff}");
    }

    #[test]
    fn left_padding_is_read_only_from_masks_of_that_shape() {
        let device = Device::Cpu;
        let m = crate::doc_attention::MASKED;
        let mask = |rows: Vec<f32>, b: usize| Tensor::from_vec(rows, (b, 1, 1, 4), &device).expect("mask");
        let padded = mask(vec![m, m, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 2);
        assert_eq!(left_padding(&padded).expect("read"), Some(vec![2, 0]));
        // A hole after the padding, or a row that sees nothing, is not left padding.
        assert_eq!(left_padding(&mask(vec![0.0, m, 0.0, 0.0], 1)).expect("read"), None);
        assert_eq!(left_padding(&mask(vec![m, m, m, m], 1)).expect("read"), None);
        // Neither is a mask over several queries.
        let two_queries = Tensor::zeros((1, 1, 2, 4), DType::F32, &device).expect("mask");
        assert_eq!(left_padding(&two_queries).expect("read"), None);
    }

    #[test]
    fn bad_shapes_and_paddings_are_refused() {
        let device = Device::Cpu;
        let q = Tensor::zeros((2, 3, 1, 4), DType::F32, &device).expect("q");
        let k = Tensor::zeros((2, 2, 5, 4), DType::F32, &device).expect("k");
        assert!(decode_attention(&q, &k, &k, &[0, 0]).is_err(), "3 heads cannot share 2 key/value heads");
        let q = Tensor::zeros((2, 2, 1, 4), DType::F32, &device).expect("q");
        assert!(decode_attention(&q, &k, &k, &[0, 5]).is_err(), "a row that sees no key");
        assert!(decode_attention(&q, &k, &k, &[0]).is_err(), "one padding per sequence");
    }
}
