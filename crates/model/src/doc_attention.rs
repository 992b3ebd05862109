//! Attention inside the documents of packed rows, fused, for full-sequence passes on the CPU.
//!
//! A pretraining row packs several documents, and each position may attend only to the
//! earlier positions of its own document. Done with a dense (batch, 1, seq, seq) mask, the
//! scores of every query against every key of the row are computed, masked, exponentiated
//! and differentiated, though most of them are thrown away: with two or three documents in a
//! 768-token row, most of the (seq × seq) scores are masked. Those element-wise passes over
//! the scores took more time than every matmul of a step together (`perf` on a 4-layer
//! pretraining run: 21% gemm, over half in candle's element-wise maps and buffer zeroing).
//!
//! [`DocumentMask`] records, for every position, where its document starts; the fused op
//! ([`document_attention`]) computes each query's softmax over its own document's keys only
//! and never materialises the scores. Its backward pass recomputes the softmax (as flash
//! attention does) instead of storing it.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp3, DType, Device, Layout, Shape, Tensor};
use num_traits::Float;
use rayon::prelude::*;

use crate::Result;

/// Added to the attention score of a key a query must not see. Large but finite, so a
/// row with nothing visible stays finite instead of turning into NaN.
pub(crate) const MASKED: f32 = -1e9;

/// Causal attention within each document of a batch of packed rows: position `q` of a row
/// attends to positions `start(q) ..= q`, where `start(q)` is the first position of its
/// document, and, if its document continues another, first to all of that one's positions
/// `prefix(q)` (a shared prompt that several completions of one row continue). Built from
/// per-position document ids ([`Self::new`]) or from documents that may continue an earlier
/// one ([`Self::from_documents`]).
#[derive(Debug, Clone)]
pub struct DocumentMask {
    batch: usize,
    seq: usize,
    /// (batch · seq): the first position of each position's document, within its row.
    starts: Arc<Vec<u32>>,
    /// (batch · seq): the positions `from..to` of the document each position's document
    /// continues (empty, `0..0`, for one that continues none).
    prefixes: Arc<Vec<(u32, u32)>>,
}

/// One document of a packed row, for [`DocumentMask::from_documents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document {
    /// Its number of positions.
    pub len: usize,
    /// The index, within the row, of an earlier document this one continues: it attends to
    /// all of that document's positions before its own, and its rotary positions count on
    /// from that document's length (one level: not the positions that one continues in
    /// turn). `None`: a document of its own.
    pub continues: Option<usize>,
}

impl DocumentMask {
    /// `segments[row][i]` is the document id of position `i` of `row`; a document is a run
    /// of equal ids (padding is a document of its own). Every row must have the same length.
    pub fn new(segments: &[Vec<u32>]) -> Result<Self> {
        let batch = segments.len();
        let seq = segments.first().map_or(0, Vec::len);
        let mut starts = Vec::with_capacity(batch * seq);
        for (row, seg) in segments.iter().enumerate() {
            if seg.len() != seq {
                return Err(crate::Error::Config(format!(
                    "row {row} of the document mask has {} positions, row 0 has {seq}: pad rows to one length",
                    seg.len()
                )));
            }
            let mut start = 0;
            for q in 0..seq {
                if q > 0 && seg[q] != seg[q - 1] {
                    start = q;
                }
                starts.push(start as u32);
            }
        }
        Ok(Self { batch, seq, starts: Arc::new(starts), prefixes: Arc::new(vec![(0, 0); batch * seq]) })
    }

    /// Rows of documents, some continuing an earlier document of their row (completions
    /// sharing their prompt). Shorter rows are padded to the longest with a document of
    /// their own.
    pub fn from_documents(rows: &[Vec<Document>]) -> Result<Self> {
        let batch = rows.len();
        let seq = rows.iter().map(|row| row.iter().map(|d| d.len).sum::<usize>()).max().unwrap_or(0);
        let (mut starts, mut prefixes) = (Vec::with_capacity(batch * seq), Vec::with_capacity(batch * seq));
        for (r, row) in rows.iter().enumerate() {
            let mut spans: Vec<(u32, u32)> = Vec::with_capacity(row.len());
            for (d, doc) in row.iter().enumerate() {
                let start = starts.len() - r * seq;
                let prefix = match doc.continues {
                    Some(earlier) if earlier < d => spans[earlier],
                    Some(earlier) => {
                        return Err(crate::Error::Config(format!(
                            "document {d} of row {r} continues document {earlier}, which is not before it"
                        )))
                    }
                    None => (0, 0),
                };
                starts.extend(std::iter::repeat_n(start as u32, doc.len));
                prefixes.extend(std::iter::repeat_n(prefix, doc.len));
                spans.push((start as u32, (start + doc.len) as u32));
            }
            let used = starts.len() - r * seq;
            starts.extend(std::iter::repeat_n(used as u32, seq - used));
            prefixes.extend(std::iter::repeat_n((0, 0), seq - used));
        }
        Ok(Self { batch, seq, starts: Arc::new(starts), prefixes: Arc::new(prefixes) })
    }

    /// The mask of rows `from .. from + n` only.
    pub fn rows(&self, from: usize, n: usize) -> Result<Self> {
        if from + n > self.batch {
            return Err(crate::Error::Config(format!(
                "rows {from}..{} of a document mask of {} rows",
                from + n,
                self.batch
            )));
        }
        let span = from * self.seq..(from + n) * self.seq;
        let starts = self.starts[span.clone()].to_vec();
        let prefixes = self.prefixes[span].to_vec();
        Ok(Self { batch: n, seq: self.seq, starts: Arc::new(starts), prefixes: Arc::new(prefixes) })
    }

    /// (batch, seq).
    pub fn dims(&self) -> (usize, usize) {
        (self.batch, self.seq)
    }

    /// (batch, seq) u32 rotary positions: each document starts again at 0, or, if it
    /// continues another, at that one's length.
    pub fn positions(&self, device: &Device) -> Result<Tensor> {
        let positions: Vec<u32> = (self.starts.iter().zip(self.prefixes.iter()).enumerate())
            .map(|(i, (&start, &(from, to)))| (i % self.seq.max(1)) as u32 - start + (to - from))
            .collect();
        Ok(Tensor::from_vec(positions, (self.batch, self.seq), device)?)
    }

    /// The same mask as a dense (batch, 1, seq, seq) f32 tensor to add to attention scores:
    /// 0 where a query may look, a large negative number elsewhere.
    pub fn dense(&self, device: &Device) -> Result<Tensor> {
        let (b, t) = (self.batch, self.seq);
        let mut mask = vec![MASKED; b * t * t];
        for (i, (&start, &(from, to))) in self.starts.iter().zip(self.prefixes.iter()).enumerate() {
            let q = i % t;
            mask[i * t + from as usize..i * t + to as usize].fill(0.0);
            mask[i * t + start as usize..=i * t + q].fill(0.0);
        }
        Ok(Tensor::from_vec(mask, (b, 1, t, t), device)?)
    }
}

/// Softmax attention of `q` over the keys `k` and values `v` of its own document, scaled
/// by `1 / sqrt(head_dim)`, with a backward pass. `q`, `k`, `v`: (batch, heads, seq,
/// head_dim) f32 or f64 on the CPU, with the batch and seq of `mask`; returns the same shape.
pub fn document_attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: &DocumentMask) -> Result<Tensor> {
    let (b, _, t, hd) = q.dims4()?;
    if (b, t) != mask.dims() {
        return Err(crate::Error::Config(format!(
            "attention over (batch {b}, seq {t}) was given a document mask for {:?}",
            mask.dims()
        )));
    }
    let op = DocumentAttention {
        starts: mask.starts.clone(),
        prefixes: mask.prefixes.clone(),
        scale: 1.0 / (hd as f64).sqrt(),
    };
    Ok(q.contiguous()?.apply_op3(&k.contiguous()?, &v.contiguous()?, op)?)
}

struct DocumentAttention {
    starts: Arc<Vec<u32>>,
    prefixes: Arc<Vec<(u32, u32)>>,
    scale: f64,
}

/// The element types the kernels run in.
pub(crate) trait Element:
    Float + std::ops::AddAssign + std::ops::MulAssign + Send + Sync + candle_core::WithDType
{
}
impl Element for f32 {}
impl Element for f64 {}

/// Borrows a contiguous storage as a slice of `T`, or says why not.
pub(crate) fn slice<'a, T: Element>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [T]> {
    let all = T::cpu_storage_as_slice(storage)?;
    match layout.contiguous_offsets() {
        Some((from, to)) => Ok(&all[from..to]),
        None => candle_core::bail!("document attention needs contiguous inputs"),
    }
}

impl DocumentAttention {
    fn forward<T: Element>(&self, q: &[T], k: &[T], v: &[T], shape: &Shape) -> candle_core::Result<Vec<T>> {
        let (b, h, t, hd) = shape.dims4()?;
        let scale = T::from(self.scale).expect("a float");
        let mut out = vec![T::zero(); b * h * t * hd];
        let block = t * hd;
        out.par_chunks_mut(block).enumerate().for_each(|(bh, y)| {
            let at = bh * block;
            let row = (bh / h) * t..(bh / h + 1) * t;
            let (starts, prefixes) = (&self.starts[row.clone()], &self.prefixes[row]);
            let (q, k, v) = (&q[at..at + block], &k[at..at + block], &v[at..at + block]);
            let mut p = Vec::with_capacity(t);
            for (i, y) in y.chunks_exact_mut(hd).enumerate() {
                let keys = visible_keys(prefixes[i], starts[i], i, hd);
                softmax_row2(&q[i * hd..(i + 1) * hd], [&k[keys[0].clone()], &k[keys[1].clone()]], hd, scale, &mut p);
                let values = v[keys[0].clone()].chunks_exact(hd).chain(v[keys[1].clone()].chunks_exact(hd));
                for (pj, vj) in p.iter().zip(values) {
                    axpy(*pj, vj, y);
                }
            }
        });
        Ok(out)
    }

    /// Gradients of `sum(y · dy)` with respect to `q`, `k` and `v`, each (b, h, t, hd).
    fn backward<T: Element>(
        &self,
        (q, k, v, dy): (&[T], &[T], &[T], &[T]),
        (b, h, t, hd): (usize, usize, usize, usize),
    ) -> (Vec<T>, Vec<T>, Vec<T>) {
        let scale = T::from(self.scale).expect("a float");
        let block = t * hd;
        let zeros = || vec![T::zero(); b * h * block];
        let (mut dq, mut dk, mut dv) = (zeros(), zeros(), zeros());
        // Each (row, head) writes its own block of the three gradients.
        let blocks = dq.par_chunks_mut(block).zip(dk.par_chunks_mut(block)).zip(dv.par_chunks_mut(block));
        blocks.enumerate().for_each(|(bh, ((dq, dk), dv))| {
            let at = bh * block;
            let row = (bh / h) * t..(bh / h + 1) * t;
            let (starts, prefixes) = (&self.starts[row.clone()], &self.prefixes[row]);
            let (q, k, v, dy) = (&q[at..at + block], &k[at..at + block], &v[at..at + block], &dy[at..at + block]);
            let (mut p, mut dp) = (Vec::with_capacity(t), Vec::with_capacity(t));
            for i in 0..t {
                let keys = visible_keys(prefixes[i], starts[i], i, hd);
                let (qi, dyi) = (&q[i * hd..(i + 1) * hd], &dy[i * hd..(i + 1) * hd]);
                softmax_row2(qi, [&k[keys[0].clone()], &k[keys[1].clone()]], hd, scale, &mut p);
                // dp_j = dy_i · v_j; the softmax's backward: ds_j = p_j (dp_j − Σ p dp).
                dp.clear();
                let values = v[keys[0].clone()].chunks_exact(hd).chain(v[keys[1].clone()].chunks_exact(hd));
                dp.extend(values.map(|vj| dot(dyi, vj)));
                let mean = p.iter().zip(&dp).fold(T::zero(), |acc, (&pj, &dpj)| acc + pj * dpj);
                let dqi = &mut dq[i * hd..(i + 1) * hd];
                // Key j's offset in k: the prefix's keys come first, then the document's own.
                let in_prefix = keys[0].len() / hd;
                let offset = |j: usize| {
                    if j < in_prefix {
                        keys[0].start + j * hd
                    } else {
                        keys[1].start + (j - in_prefix) * hd
                    }
                };
                for (j, (&pj, &dpj)) in p.iter().zip(&dp).enumerate() {
                    let key = offset(j);
                    let ds = pj * (dpj - mean) * scale;
                    axpy(ds, &k[key..key + hd], dqi);
                    axpy(ds, qi, &mut dk[key..key + hd]);
                    axpy(pj, dyi, &mut dv[key..key + hd]);
                }
            }
        });
        (dq, dk, dv)
    }

    /// [`Self::backward`] on tensors: the gradients for `bwd`.
    #[allow(clippy::type_complexity)]
    fn gradients<T: Element>(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dims, device) = (q.dims4()?, q.device().clone());
        let read = |t: &Tensor| t.contiguous()?.flatten_all()?.to_vec1::<T>();
        let (q, k, v, dy) = (read(q)?, read(k)?, read(v)?, read(dy)?);
        let (dq, dk, dv) = self.backward((&q, &k, &v, &dy), dims);
        Ok((
            Some(Tensor::from_vec(dq, dims, &device)?),
            Some(Tensor::from_vec(dk, dims, &device)?),
            Some(Tensor::from_vec(dv, dims, &device)?),
        ))
    }
}

/// The element ranges of `k` (rows of `hd`) query `i` sees: its prefix's positions
/// `from..to`, then its own document's `start..=i`.
fn visible_keys((from, to): (u32, u32), start: u32, i: usize, hd: usize) -> [std::ops::Range<usize>; 2] {
    [from as usize * hd..to as usize * hd, start as usize * hd..(i + 1) * hd]
}

/// `p` ← softmax over the keys `keys` (rows of `hd`) of `scale · q · key`.
pub(crate) fn softmax_row<T: Element>(q: &[T], keys: &[T], hd: usize, scale: T, p: &mut Vec<T>) {
    softmax_row2(q, [&[], keys], hd, scale, p)
}

/// [`softmax_row`] over the keys of two slices, the first's before the second's.
fn softmax_row2<T: Element>(q: &[T], keys: [&[T]; 2], hd: usize, scale: T, p: &mut Vec<T>) {
    p.clear();
    p.extend(keys[0].chunks_exact(hd).chain(keys[1].chunks_exact(hd)).map(|key| dot(q, key) * scale));
    let max = p.iter().fold(T::neg_infinity(), |m, &s| Float::max(m, s));
    let mut sum = T::zero();
    for s in p.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    let inv = sum.recip();
    p.iter_mut().for_each(|s| *s *= inv);
}

/// `a · b`, in eight lanes so that the compiler can vectorise it.
fn dot<T: Element>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca.remainder().iter().zip(cb.remainder()).fold(T::zero(), |acc, (&x, &y)| acc + x * y);
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().fold(tail, |acc, &l| acc + l)
}

/// `y += a · x`.
pub(crate) fn axpy<T: Element>(a: T, x: &[T], y: &mut [T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

impl CustomOp3 for DocumentAttention {
    fn name(&self) -> &'static str {
        "document-attention"
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
        let shape = l1.shape().clone();
        if l2.shape() != &shape || l3.shape() != &shape {
            candle_core::bail!(
                "document attention needs q, k and v of one shape, got {shape:?}, {:?}, {:?}",
                l2.shape(),
                l3.shape()
            );
        }
        let storage = match candle_core::backend::BackendStorage::dtype(s1) {
            DType::F32 => {
                CpuStorage::F32(self.forward::<f32>(slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?, &shape)?)
            }
            DType::F64 => {
                CpuStorage::F64(self.forward::<f64>(slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?, &shape)?)
            }
            other => candle_core::bail!("document attention runs in f32 or f64, not {other:?}"),
        };
        Ok((storage, shape))
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        match q.dtype() {
            DType::F32 => self.gradients::<f32>(q, k, v, dy),
            DType::F64 => self.gradients::<f64>(q, k, v, dy),
            other => candle_core::bail!("document attention runs in f32 or f64, not {other:?}"),
        }
    }
}
