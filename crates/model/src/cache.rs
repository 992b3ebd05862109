//! A preallocated key/value cache, passed in by the caller so one set of weights serves
//! many sequences. Appending writes in place (no re-concatenation per token).

use candle_core::{DType, Device, Tensor};

use crate::{Error, Result};

/// Keys and values of every layer for a batch of sequences that advance together.
pub struct KvCache {
    keys: Vec<Tensor>,   // per layer: (batch, n_kv_heads, capacity, head_dim)
    values: Vec<Tensor>, // per layer: (batch, n_kv_heads, capacity, head_dim)
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// An empty cache for `batch` sequences of up to `capacity` tokens each.
    pub fn new(
        layers: usize,
        batch: usize,
        kv_heads: usize,
        head_dim: usize,
        capacity: usize,
        device: &Device,
    ) -> Result<Self> {
        let zeros = || Tensor::zeros((batch, kv_heads, capacity, head_dim), DType::F32, device);
        Ok(Self {
            keys: (0..layers).map(|_| zeros()).collect::<candle_core::Result<_>>()?,
            values: (0..layers).map(|_| zeros()).collect::<candle_core::Result<_>>()?,
            len: 0,
            capacity,
        })
    }

    /// Tokens cached so far (the same for every sequence of the batch).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most tokens the cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Writes the new keys/values (batch, n_kv, t, hd) of `layer` after the cached ones and
    /// returns all of them, (batch, n_kv, len + t, hd). The length moves on at [`Self::advance`].
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let t = k.dim(2)?;
        if self.len + t > self.capacity {
            return Err(Error::Config(format!(
                "KV cache full: {} cached + {t} new tokens exceed its capacity of {}",
                self.len, self.capacity
            )));
        }
        self.keys[layer].slice_set(&k.contiguous()?, 2, self.len)?;
        self.values[layer].slice_set(&v.contiguous()?, 2, self.len)?;
        Ok((self.keys[layer].narrow(2, 0, self.len + t)?, self.values[layer].narrow(2, 0, self.len + t)?))
    }

    /// Keeps only the sequences `rows` (indices into the batch, in their new order) and
    /// frees the others: the sampler drops finished sequences so they cost no more steps.
    pub fn keep_rows(&mut self, rows: &[usize]) -> Result<()> {
        let device = self.keys.first().map(Tensor::device).cloned().unwrap_or(Device::Cpu);
        let index = Tensor::from_vec(rows.iter().map(|&r| r as u32).collect::<Vec<_>>(), rows.len(), &device)?;
        for tensor in self.keys.iter_mut().chain(self.values.iter_mut()) {
            *tensor = tensor.index_select(&index, 0)?;
        }
        Ok(())
    }

    /// Marks `t` more tokens as cached (called once per forward pass, after every layer).
    pub fn advance(&mut self, t: usize) {
        self.len += t;
    }
}

/// (b, n_kv, s, hd) → (b, n_kv·group, s, hd): each cached key/value head shared by `group`
/// query heads (grouped-query attention), for the tiny reasoner (the llama engine stacks
/// query heads instead, see `llama::attend_unpadded`).
pub(crate) fn repeat_heads(x: &Tensor, group: usize) -> Result<Tensor> {
    let (b, n, s, hd) = x.dims4()?;
    Ok(x.unsqueeze(2)?.broadcast_as((b, n, group, s, hd))?.reshape((b, n * group, s, hd))?)
}
