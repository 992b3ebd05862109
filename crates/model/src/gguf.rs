//! A bounds-checked, panic-free parser for GGUF files, versions 2 and 3.
//!
//! Spec: <https://github.com/ggerganov/ggml/blob/master/docs/gguf.md>. A GGUF file is, in
//! little-endian order: the magic `GGUF`, a `u32` version, a `u64` tensor count, a `u64`
//! metadata count, the metadata key/value pairs, the tensor infos, padding up to the next
//! multiple of `general.alignment` (default 32), and the tensor data.
//!
//! [`Gguf::parse`] validates the whole header against the bytes it is given before returning:
//! every read is bounds-checked, every length and count is checked against the bytes that remain
//! *before* anything is allocated (so a hostile file cannot make it allocate more than a small
//! constant, about 32, times its own size), array nesting is limited, and every tensor's data
//! range is checked to lie inside the file. Malformed input gives an [`Error::Load`] that names
//! the problem and, where it helps, the offset; it never panics.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use candle_core::quantized::GgmlDType;

use crate::{Error, Result};

/// Alignment of the tensor data section when `general.alignment` is absent.
const DEFAULT_ALIGNMENT: u64 = 32;
/// The metadata key that sets the alignment of the tensor data section.
const ALIGNMENT_KEY: &str = "general.alignment";
/// Most levels of arrays inside arrays (a top-level array is level 1).
const MAX_ARRAY_DEPTH: usize = 4;
/// Most dimensions a tensor may have (`GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;
/// Fewest bytes a metadata entry takes: key length, value type, a one-byte value.
const MIN_KV_SIZE: u64 = 8 + 4 + 1;
/// Fewest bytes a tensor info takes: name length, dimension count, ggml type, offset.
const MIN_TENSOR_INFO_SIZE: u64 = 8 + 4 + 4 + 8;

// Metadata value types, as numbered in the file.
const T_U8: u32 = 0;
const T_I8: u32 = 1;
const T_U16: u32 = 2;
const T_I16: u32 = 3;
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_U64: u32 = 10;
const T_I64: u32 = 11;
const T_F64: u32 = 12;

/// The name of a metadata value type, or `None` for a number the spec does not define.
fn type_name(ty: u32) -> Option<&'static str> {
    Some(match ty {
        T_U8 => "u8",
        T_I8 => "i8",
        T_U16 => "u16",
        T_I16 => "i16",
        T_U32 => "u32",
        T_I32 => "i32",
        T_F32 => "f32",
        T_BOOL => "bool",
        T_STRING => "string",
        T_ARRAY => "array",
        T_U64 => "u64",
        T_I64 => "i64",
        T_F64 => "f64",
        _ => return None,
    })
}

/// The fewest bytes a value of type `ty` takes in the file (a string: its length; an array: its
/// element type and count), or `None` for an unknown type.
fn min_value_size(ty: u32) -> Option<u64> {
    Some(match ty {
        T_U8 | T_I8 | T_BOOL => 1,
        T_U16 | T_I16 => 2,
        T_U32 | T_I32 | T_F32 => 4,
        T_U64 | T_I64 | T_F64 | T_STRING => 8,
        T_ARRAY => 4 + 8,
        _ => return None,
    })
}

/// The ggml tensor type numbered `ty` in the file, for the types candle can load.
///
/// This mirrors candle's `GgmlDType::from_u32`, which candle does not export.
fn ggml_dtype(ty: u32) -> Option<GgmlDType> {
    Some(match ty {
        0 => GgmlDType::F32,
        1 => GgmlDType::F16,
        2 => GgmlDType::Q4_0,
        3 => GgmlDType::Q4_1,
        6 => GgmlDType::Q5_0,
        7 => GgmlDType::Q5_1,
        8 => GgmlDType::Q8_0,
        9 => GgmlDType::Q8_1,
        10 => GgmlDType::Q2K,
        11 => GgmlDType::Q3K,
        12 => GgmlDType::Q4K,
        13 => GgmlDType::Q5K,
        14 => GgmlDType::Q6K,
        15 => GgmlDType::Q8K,
        30 => GgmlDType::BF16,
        _ => return None,
    })
}

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An 8-bit unsigned integer (type 0).
    U8(u8),
    /// An 8-bit signed integer (type 1).
    I8(i8),
    /// A 16-bit unsigned integer (type 2).
    U16(u16),
    /// A 16-bit signed integer (type 3).
    I16(i16),
    /// A 32-bit unsigned integer (type 4).
    U32(u32),
    /// A 32-bit signed integer (type 5).
    I32(i32),
    /// A 32-bit float (type 6).
    F32(f32),
    /// A boolean, stored as one byte that is 0 or 1 (type 7).
    Bool(bool),
    /// A UTF-8 string (type 8).
    String(String),
    /// An array of values of one type, possibly arrays themselves (type 9).
    Array(Vec<Value>),
    /// A 64-bit unsigned integer (type 10).
    U64(u64),
    /// A 64-bit signed integer (type 11).
    I64(i64),
    /// A 64-bit float (type 12).
    F64(f64),
}

impl Value {
    /// The value as a `u64`, if it is an integer of any type and not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            Self::F32(_) | Self::F64(_) | Self::Bool(_) | Self::String(_) | Self::Array(_) => None,
        }
    }

    /// The value as an `f32`, if it is a float or an integer (converted to the nearest `f32`).
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Self::F32(v) => Some(v),
            Self::F64(v) => Some(v as f32),
            Self::U8(v) => Some(v.into()),
            Self::I8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::I16(v) => Some(v.into()),
            Self::U32(v) => Some(v as f32),
            Self::I32(v) => Some(v as f32),
            Self::U64(v) => Some(v as f32),
            Self::I64(v) => Some(v as f32),
            Self::Bool(_) | Self::String(_) | Self::Array(_) => None,
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if the value is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The value as a `bool`, if it is a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the value is an integer of any type.
    fn is_integer(&self) -> bool {
        matches!(
            self,
            Self::U8(_)
                | Self::I8(_)
                | Self::U16(_)
                | Self::I16(_)
                | Self::U32(_)
                | Self::I32(_)
                | Self::U64(_)
                | Self::I64(_)
        )
    }

    /// What the value is, for error messages: "a string", "an i32 (-1)", "an array of 3 values".
    fn describe(&self) -> String {
        match self {
            Self::U8(v) => format!("a u8 ({v})"),
            Self::I8(v) => format!("an i8 ({v})"),
            Self::U16(v) => format!("a u16 ({v})"),
            Self::I16(v) => format!("an i16 ({v})"),
            Self::U32(v) => format!("a u32 ({v})"),
            Self::I32(v) => format!("an i32 ({v})"),
            Self::U64(v) => format!("a u64 ({v})"),
            Self::I64(v) => format!("an i64 ({v})"),
            Self::F32(v) => format!("an f32 ({v})"),
            Self::F64(v) => format!("an f64 ({v})"),
            Self::Bool(v) => format!("a bool ({v})"),
            Self::String(_) => "a string".to_owned(),
            Self::Array(items) => format!("an array of {} values", items.len()),
        }
    }
}

/// One tensor's header entry, validated against the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// The dimensions as stored in the file: ggml order, innermost (contiguous) first, so a
    /// row-major `[rows, cols]` matrix is stored as `[cols, rows]`. 0 to 4 of them, each > 0.
    pub dims: Vec<u64>,
    /// The element type.
    pub dtype: GgmlDType,
    /// Absolute offset of the tensor's data in the file (the data section start plus the
    /// relative offset stored in the file).
    pub offset: u64,
    /// Size of the tensor's data in bytes.
    pub size: u64,
}

/// The parsed header of a GGUF file: its metadata and tensor infos. The tensor data stays in the
/// caller's buffer; see [`Gguf::tensor_bytes`].
#[derive(Debug, Clone, PartialEq)]
pub struct Gguf {
    /// The format version: 2 or 3.
    pub version: u32,
    /// The metadata key/value pairs, keys unique.
    pub metadata: BTreeMap<String, Value>,
    /// The tensor infos in file order, names unique.
    pub tensors: Vec<TensorInfo>,
    /// Alignment of the tensor data section and of each tensor's offset in it: a power of two.
    pub alignment: u64,
}

impl Gguf {
    /// Parses and validates the header of the GGUF file whose complete contents are `bytes`.
    ///
    /// `path` is used only in error messages. Every tensor's data range is checked to lie inside
    /// `bytes`. Never panics; on malformed input returns an [`Error::Load`] that says what is wrong.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Gguf> {
        let mut r = Reader { bytes, pos: 0, path };
        r.magic()?;
        let version = r.u32(format_args!("version"))?;
        match version {
            2 | 3 => {}
            1 => return Err(r.err("GGUF version 1 is not supported; re-convert the file with a recent llama.cpp")),
            v if matches!(v.swap_bytes(), 1..=3) => {
                return Err(r.err(format!(
                    "this looks like a big-endian GGUF file (version {} byte-swapped), which is not supported",
                    v.swap_bytes()
                )))
            }
            v => return Err(r.err(format!("GGUF version {v} is not supported (only versions 2 and 3 are)"))),
        }
        let tensor_count = r.u64(format_args!("tensor count"))?;
        let kv_count = r.u64(format_args!("metadata count"))?;
        r.check_count(kv_count, MIN_KV_SIZE, format_args!("metadata entries"))?;

        let mut metadata = BTreeMap::new();
        for i in 0..kv_count {
            let key_at = r.pos;
            let key = r.string(format_args!("key of metadata entry {i}"))?;
            if metadata.contains_key(&key) {
                return Err(r.err(format!("duplicate metadata key `{key}` (entry {i}, at offset {key_at})")));
            }
            let ty_at = r.pos;
            let ty = r.u32(format_args!("value type of metadata `{key}`"))?;
            let value = r.value(ty, ty_at, 0, format_args!("metadata value of `{key}`"))?;
            metadata.insert(key, value);
        }

        let alignment = match metadata.get(ALIGNMENT_KEY) {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a.is_power_of_two() => a,
                Some(a) => {
                    return Err(r.err(format!("metadata `{ALIGNMENT_KEY}` is {a}, expected a non-zero power of two")))
                }
                None => {
                    return Err(r.err(format!(
                        "metadata `{ALIGNMENT_KEY}` is {}, expected a non-zero power of two",
                        v.describe()
                    )))
                }
            },
        };

        r.check_count(tensor_count, MIN_TENSOR_INFO_SIZE, format_args!("tensor infos"))?;
        let mut tensors = Vec::with_capacity(usize::try_from(tensor_count).unwrap_or(0));
        let mut names = HashSet::new();
        for i in 0..tensor_count {
            let info = r.tensor_info(i, alignment)?;
            if !names.insert(info.name.clone()) {
                return Err(r.err(format!("duplicate tensor name `{}` (tensor {i})", info.name)));
            }
            // For now `info.offset` is relative to the data section; made absolute below.
            tensors.push(info);
        }

        // The data section starts at the next multiple of the alignment. Computed in u128, where
        // none of this arithmetic can overflow.
        let len = bytes.len() as u128;
        let align = u128::from(alignment);
        let data_start = (r.pos as u128).div_ceil(align) * align;
        for info in &mut tensors {
            let start = data_start + u128::from(info.offset);
            let end = start + u128::from(info.size);
            if end > len {
                return Err(
                    r.err(format!("tensor `{}` data [{start}, {end}) is outside the file ({len} bytes)", info.name))
                );
            }
            // `start <= end <= len`, so it fits in u64.
            info.offset = u64::try_from(start).unwrap_or(u64::MAX);
        }

        Ok(Gguf { version, metadata, tensors, alignment })
    }

    /// The metadata value under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// The metadata value under `key` as a `u64` (any integer type that is not negative).
    ///
    /// Errors, with `path` in the message: "missing metadata `llama.block_count`" or
    /// "metadata `x` is a string, expected an integer".
    pub fn require_u64(&self, key: &str, path: &Path) -> Result<u64> {
        let v = self.require(key, path)?;
        v.as_u64().ok_or_else(|| {
            let expected = if v.is_integer() { "a non-negative integer" } else { "an integer" };
            load_err(path, format!("metadata `{key}` is {}, expected {expected}", v.describe()))
        })
    }

    /// The metadata value under `key` as an `f32` (any float or integer type).
    ///
    /// Errors, with `path` in the message, if the key is missing or not a number.
    pub fn require_f32(&self, key: &str, path: &Path) -> Result<f32> {
        let v = self.require(key, path)?;
        v.as_f32().ok_or_else(|| load_err(path, format!("metadata `{key}` is {}, expected a number", v.describe())))
    }

    /// The metadata value under `key` as a string.
    ///
    /// Errors, with `path` in the message, if the key is missing or not a string.
    pub fn require_str(&self, key: &str, path: &Path) -> Result<&str> {
        let v = self.require(key, path)?;
        v.as_str().ok_or_else(|| load_err(path, format!("metadata `{key}` is {}, expected a string", v.describe())))
    }

    /// The metadata value under `key`, or a "missing metadata" error.
    fn require(&self, key: &str, path: &Path) -> Result<&Value> {
        self.get(key).ok_or_else(|| load_err(path, format!("missing metadata `{key}`")))
    }

    /// The tensor named `name`, if any.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The data of `info` inside `bytes`, the buffer this header was parsed from.
    ///
    /// The range was validated by [`Gguf::parse`]; if `bytes` is not that buffer and the range
    /// does not fit in it, this returns an empty slice rather than panicking.
    pub fn tensor_bytes<'a>(&self, info: &TensorInfo, bytes: &'a [u8]) -> &'a [u8] {
        let range = usize::try_from(info.offset)
            .ok()
            .zip(usize::try_from(info.size).ok())
            .and_then(|(start, size)| Some(start..start.checked_add(size)?));
        range.and_then(|range| bytes.get(range)).unwrap_or_default()
    }
}

/// An [`Error::Load`] for `path`.
fn load_err(path: &Path, why: String) -> Error {
    Error::Load { path: path.to_path_buf(), why }
}

/// A cursor over the file's bytes whose every read is bounds-checked. `what` arguments name the
/// thing being read for error messages; they are only formatted on error.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn err(&self, why: impl Into<String>) -> Error {
        load_err(self.path, why.into())
    }

    fn truncated(&self, need: impl fmt::Display, what: fmt::Arguments<'_>) -> Error {
        self.err(format!(
            "truncated: {what} needs {need} bytes at offset {} but the file has {}",
            self.pos,
            self.bytes.len()
        ))
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// Checks the magic number.
    fn magic(&mut self) -> Result<()> {
        const MAGIC: &[u8; 4] = b"GGUF";
        let head = self.bytes.get(..4).unwrap_or(self.bytes);
        if head == MAGIC {
            self.pos = 4;
            Ok(())
        } else if MAGIC.starts_with(head) {
            Err(self.truncated(4, format_args!("magic")))
        } else {
            Err(self.err(format!("not a GGUF file (starts with b\"{}\")", head.escape_ascii())))
        }
    }

    /// Takes the next `n` bytes.
    fn take(&mut self, n: u64, what: fmt::Arguments<'_>) -> Result<&'a [u8]> {
        let range = usize::try_from(n).ok().and_then(|n| Some(self.pos..self.pos.checked_add(n)?));
        match range.and_then(|range| self.bytes.get(range)) {
            Some(taken) => {
                self.pos += taken.len();
                Ok(taken)
            }
            None => Err(self.truncated(n, what)),
        }
    }

    /// Takes the next `N` bytes as an array.
    fn fixed<const N: usize>(&mut self, what: fmt::Arguments<'_>) -> Result<[u8; N]> {
        match self.bytes.get(self.pos..).and_then(|rest| rest.first_chunk::<N>()) {
            Some(chunk) => {
                self.pos += N;
                Ok(*chunk)
            }
            None => Err(self.truncated(N, what)),
        }
    }

    fn u32(&mut self, what: fmt::Arguments<'_>) -> Result<u32> {
        self.fixed(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: fmt::Arguments<'_>) -> Result<u64> {
        self.fixed(what).map(u64::from_le_bytes)
    }

    /// Checks that `count` items of at least `min_size` bytes each fit in the remaining bytes.
    fn check_count(&self, count: u64, min_size: u64, what: fmt::Arguments<'_>) -> Result<()> {
        let need = u128::from(count) * u128::from(min_size);
        if need > self.remaining() as u128 {
            return Err(self.err(format!(
                "truncated: {count} {what} need at least {need} bytes at offset {} but the file has {}",
                self.pos,
                self.bytes.len()
            )));
        }
        Ok(())
    }

    /// Reads a GGUF string: a `u64` length and that many bytes of UTF-8.
    fn string(&mut self, what: fmt::Arguments<'_>) -> Result<String> {
        let len = self.u64(format_args!("length of {what}"))?;
        let start = self.pos;
        let raw = self.take(len, what)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(self.err(format!("{what} at offset {start} is not valid UTF-8 ({e})"))),
        }
    }

    /// Reads a metadata value of type `ty`, whose type field was at offset `ty_at`, at array
    /// nesting level `depth` (0 for a top-level value).
    fn value(&mut self, ty: u32, ty_at: usize, depth: usize, what: fmt::Arguments<'_>) -> Result<Value> {
        Ok(match ty {
            T_U8 => Value::U8(u8::from_le_bytes(self.fixed(what)?)),
            T_I8 => Value::I8(i8::from_le_bytes(self.fixed(what)?)),
            T_U16 => Value::U16(u16::from_le_bytes(self.fixed(what)?)),
            T_I16 => Value::I16(i16::from_le_bytes(self.fixed(what)?)),
            T_U32 => Value::U32(u32::from_le_bytes(self.fixed(what)?)),
            T_I32 => Value::I32(i32::from_le_bytes(self.fixed(what)?)),
            T_F32 => Value::F32(f32::from_le_bytes(self.fixed(what)?)),
            T_U64 => Value::U64(u64::from_le_bytes(self.fixed(what)?)),
            T_I64 => Value::I64(i64::from_le_bytes(self.fixed(what)?)),
            T_F64 => Value::F64(f64::from_le_bytes(self.fixed(what)?)),
            T_BOOL => {
                let at = self.pos;
                match self.fixed::<1>(what)? {
                    [0] => Value::Bool(false),
                    [1] => Value::Bool(true),
                    [b] => {
                        return Err(self.err(format!("{what} is a bool stored as {b} at offset {at}, expected 0 or 1")))
                    }
                }
            }
            T_STRING => Value::String(self.string(what)?),
            T_ARRAY => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(
                        self.err(format!("{what} nests arrays more than {MAX_ARRAY_DEPTH} deep (at offset {ty_at})"))
                    );
                }
                let elem_at = self.pos;
                let elem = self.u32(format_args!("array element type of {what}"))?;
                let (Some(elem_name), Some(min_size)) = (type_name(elem), min_value_size(elem)) else {
                    return Err(self.err(format!("unknown array element type {elem} in {what} at offset {elem_at}")));
                };
                let count = self.u64(format_args!("array length of {what}"))?;
                self.check_count(count, min_size, format_args!("{elem_name} array elements of {what}"))?;
                // The check above bounds `count` by the remaining bytes, so this cannot over-allocate.
                let mut items = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
                for _ in 0..count {
                    items.push(self.value(elem, elem_at, depth + 1, what)?);
                }
                Value::Array(items)
            }
            _ => return Err(self.err(format!("unknown metadata value type {ty} for {what} at offset {ty_at}"))),
        })
    }

    /// Reads tensor info number `i` and validates its shape, type and size. Its `offset` is left
    /// relative to the data section.
    fn tensor_info(&mut self, i: u64, alignment: u64) -> Result<TensorInfo> {
        let name = self.string(format_args!("name of tensor {i}"))?;
        let n_dims = self.u32(format_args!("dimension count of tensor `{name}`"))?;
        if n_dims > MAX_DIMS {
            return Err(self.err(format!("tensor `{name}` has {n_dims} dimensions; at most {MAX_DIMS} are supported")));
        }
        let mut dims = Vec::with_capacity(MAX_DIMS as usize);
        for d in 0..n_dims {
            let dim = self.u64(format_args!("dimension {d} of tensor `{name}`"))?;
            if dim == 0 {
                return Err(self.err(format!("tensor `{name}` has dimension {d} of size 0")));
            }
            dims.push(dim);
        }
        let ty_at = self.pos;
        let ty = self.u32(format_args!("ggml type of tensor `{name}`"))?;
        let dtype = ggml_dtype(ty)
            .ok_or_else(|| self.err(format!("unknown ggml type {ty} for tensor `{name}` (at offset {ty_at})")))?;
        let offset = self.u64(format_args!("data offset of tensor `{name}`"))?;

        let elements = dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .ok_or_else(|| self.err(format!("tensor `{name}` has dimensions {dims:?} whose product overflows u64")))?;
        let block = dtype.block_size() as u64;
        let innermost = dims.first().copied().unwrap_or(1);
        if !innermost.is_multiple_of(block) {
            return Err(self.err(format!(
                "tensor `{name}` has innermost dimension {innermost}, not a multiple of the {dtype:?} block size {block}"
            )));
        }
        let size = (elements / block)
            .checked_mul(dtype.type_size() as u64)
            .ok_or_else(|| self.err(format!("tensor `{name}` with dimensions {dims:?} is too large")))?;
        if !offset.is_multiple_of(alignment) {
            return Err(self.err(format!(
                "tensor `{name}` has data offset {offset}, not a multiple of the alignment {alignment}"
            )));
        }
        Ok(TensorInfo { name, dims, dtype, offset, size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use std::path::PathBuf;
    use std::sync::OnceLock;
    use std::time::Instant;

    fn path() -> PathBuf {
        PathBuf::from("test.gguf")
    }

    // --- a small GGUF writer ---------------------------------------------------------------

    fn put_u32(buf: &mut Vec<u8>, v: u32) {
        buf.extend_from_slice(&v.to_le_bytes());
    }

    fn put_u64(buf: &mut Vec<u8>, v: u64) {
        buf.extend_from_slice(&v.to_le_bytes());
    }

    fn put_str(buf: &mut Vec<u8>, s: &str) {
        put_u64(buf, s.len() as u64);
        buf.extend_from_slice(s.as_bytes());
    }

    fn type_of(v: &Value) -> u32 {
        match v {
            Value::U8(_) => T_U8,
            Value::I8(_) => T_I8,
            Value::U16(_) => T_U16,
            Value::I16(_) => T_I16,
            Value::U32(_) => T_U32,
            Value::I32(_) => T_I32,
            Value::F32(_) => T_F32,
            Value::Bool(_) => T_BOOL,
            Value::String(_) => T_STRING,
            Value::Array(_) => T_ARRAY,
            Value::U64(_) => T_U64,
            Value::I64(_) => T_I64,
            Value::F64(_) => T_F64,
        }
    }

    /// Writes a value without its type (arrays take their element type from the first element).
    fn put_value(buf: &mut Vec<u8>, v: &Value) {
        match v {
            Value::U8(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::I8(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::U16(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::I16(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::U32(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::I32(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::F32(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::Bool(x) => buf.push(u8::from(*x)),
            Value::String(s) => put_str(buf, s),
            Value::Array(items) => {
                put_u32(buf, items.first().map_or(T_U8, type_of));
                put_u64(buf, items.len() as u64);
                for item in items {
                    put_value(buf, item);
                }
            }
            Value::U64(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::I64(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::F64(x) => buf.extend_from_slice(&x.to_le_bytes()),
        }
    }

    fn put_kv(buf: &mut Vec<u8>, key: &str, v: &Value) {
        put_str(buf, key);
        put_u32(buf, type_of(v));
        put_value(buf, v);
    }

    /// A tensor for the writer: name, dims (ggml order), ggml type number, and an explicit
    /// relative offset or `None` for the next aligned one.
    struct Spec {
        name: &'static str,
        dims: Vec<u64>,
        ty: u32,
        offset: Option<u64>,
    }

    fn spec(name: &'static str, dims: &[u64], ty: u32) -> Spec {
        Spec { name, dims: dims.to_vec(), ty, offset: None }
    }

    /// The data size of a tensor the writer writes (0 for ones that cannot be valid).
    fn data_size(s: &Spec) -> u64 {
        let Some(dtype) = ggml_dtype(s.ty) else { return 0 };
        let elements = s.dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d)).unwrap_or(0);
        let block = dtype.block_size() as u64;
        if elements > 1 << 20 || !s.dims.first().copied().unwrap_or(1).is_multiple_of(block) {
            return 0;
        }
        elements / block * dtype.type_size() as u64
    }

    fn align(n: u64, to: u64) -> u64 {
        n.div_ceil(to).saturating_mul(to)
    }

    /// A complete GGUF v3 file. Alignment comes from `general.alignment` if given, else 32.
    /// Tensor data byte `i` of the section is `(i * 31 + 7) as u8`; the file ends right after
    /// the last tensor's data. Tensors whose data would end beyond 64 KiB get no data (nor does
    /// anything if the data section would start there).
    fn build(meta: &[(&str, Value)], tensors: &[Spec]) -> Vec<u8> {
        let alignment = meta
            .iter()
            .find(|(k, _)| *k == ALIGNMENT_KEY)
            .and_then(|(_, v)| v.as_u64())
            .unwrap_or(DEFAULT_ALIGNMENT)
            .max(1);
        let mut buf = b"GGUF".to_vec();
        put_u32(&mut buf, 3);
        put_u64(&mut buf, tensors.len() as u64);
        put_u64(&mut buf, meta.len() as u64);
        for (k, v) in meta {
            put_kv(&mut buf, k, v);
        }
        let mut next = 0;
        let mut data_end = 0;
        for t in tensors {
            put_str(&mut buf, t.name);
            put_u32(&mut buf, t.dims.len() as u32);
            for &d in &t.dims {
                put_u64(&mut buf, d);
            }
            put_u32(&mut buf, t.ty);
            let offset = t.offset.unwrap_or(next);
            put_u64(&mut buf, offset);
            let end = offset.saturating_add(data_size(t));
            next = align(end, alignment);
            if end <= 1 << 16 {
                data_end = data_end.max(end);
            }
        }
        let data_start = align(buf.len() as u64, alignment);
        if data_start > 1 << 16 {
            return buf;
        }
        buf.resize(data_start as usize, 0);
        buf.extend((0..data_end).map(|i| (i * 31 + 7) as u8));
        buf
    }

    fn valid_meta() -> Vec<(&'static str, Value)> {
        vec![
            ("general.architecture", Value::String("llama".into())),
            ("general.alignment", Value::U32(64)),
            ("t.u8", Value::U8(200)),
            ("t.i8", Value::I8(-100)),
            ("t.u16", Value::U16(60_000)),
            ("t.i16", Value::I16(-30_000)),
            ("t.u32", Value::U32(4_000_000_000)),
            ("t.i32", Value::I32(-2_000_000_000)),
            ("t.f32", Value::F32(1.5e-5)),
            ("t.bool", Value::Bool(true)),
            ("t.string", Value::String("héllo, wörld".into())),
            ("t.u64", Value::U64(u64::MAX)),
            ("t.i64", Value::I64(i64::MIN)),
            ("t.f64", Value::F64(-2.25)),
            ("t.empty", Value::Array(vec![])),
            (
                "tokenizer.ggml.tokens",
                Value::Array(vec![Value::String("<s>".into()), Value::String("Ġthe".into()), Value::String("".into())]),
            ),
            (
                "t.nested",
                Value::Array(vec![
                    Value::Array(vec![Value::I32(1), Value::I32(-2)]),
                    Value::Array(vec![]),
                    Value::Array(vec![Value::Array(vec![Value::Bool(false)])]),
                ]),
            ),
        ]
    }

    fn valid_tensors() -> Vec<Spec> {
        vec![spec("a.weight", &[4, 3], 0), spec("b.weight", &[32, 2], 8)]
    }

    fn valid_file() -> &'static [u8] {
        static FILE: OnceLock<Vec<u8>> = OnceLock::new();
        FILE.get_or_init(|| build(&valid_meta(), &valid_tensors()))
    }

    fn parse_err(bytes: &[u8]) -> String {
        match Gguf::parse(bytes, &path()) {
            Ok(g) => panic!("expected an error, parsed {g:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[track_caller]
    fn assert_err(bytes: &[u8], words: &[&str]) {
        let msg = parse_err(bytes);
        for w in words {
            assert!(msg.contains(w), "error {msg:?} does not contain {w:?}");
        }
        assert!(msg.contains("test.gguf"), "error {msg:?} does not name the file");
    }

    /// A file with one metadata entry whose type and value bytes are given raw.
    fn raw_kv(key: &str, ty: u32, value: &[u8]) -> Vec<u8> {
        let mut buf = b"GGUF".to_vec();
        put_u32(&mut buf, 3);
        put_u64(&mut buf, 0);
        put_u64(&mut buf, 1);
        put_str(&mut buf, key);
        put_u32(&mut buf, ty);
        buf.extend_from_slice(value);
        buf
    }

    // --- round trip ------------------------------------------------------------------------

    #[test]
    fn gguf_round_trip() {
        let bytes = valid_file();
        let g = Gguf::parse(bytes, &path()).expect("valid file parses");
        assert_eq!(g.version, 3);
        assert_eq!(g.alignment, 64);
        let expected: BTreeMap<String, Value> = valid_meta().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(g.metadata, expected);
        assert_eq!(g.tensors.len(), 2);

        let data_start = g.tensors[0].offset;
        assert_eq!(data_start % 64, 0);
        let a = g.tensor("a.weight").expect("a");
        assert_eq!((a.dims.clone(), a.dtype, a.size), (vec![4, 3], GgmlDType::F32, 48));
        let b = g.tensor("b.weight").expect("b");
        assert_eq!((b.dims.clone(), b.dtype, b.size), (vec![32, 2], GgmlDType::Q8_0, 68));
        assert_eq!(b.offset, data_start + 64, "b starts at the next 64-byte boundary after a");
        assert_eq!(b.offset + b.size, bytes.len() as u64);
        assert!(g.tensor("c.weight").is_none());

        let a_bytes = g.tensor_bytes(a, bytes);
        assert_eq!(a_bytes.len(), 48);
        assert!(a_bytes.iter().enumerate().all(|(i, &x)| x == (i as u64 * 31 + 7) as u8));
        let b_bytes = g.tensor_bytes(b, bytes);
        assert_eq!(b_bytes.len(), 68);
        assert_eq!(b_bytes[0], (64 * 31 + 7) as u8);
        assert!(g.tensor_bytes(b, &bytes[..100]).is_empty(), "a foreign buffer gives an empty slice");

        // Accessors.
        assert_eq!(g.require_str("general.architecture", &path()).expect("arch"), "llama");
        assert_eq!(g.require_u64("t.u32", &path()).expect("u32"), 4_000_000_000);
        assert_eq!(g.require_u64("t.u64", &path()).expect("u64"), u64::MAX);
        assert_eq!(g.require_f32("t.f32", &path()).expect("f32"), 1.5e-5);
        assert_eq!(g.require_f32("t.u16", &path()).expect("int as f32"), 60_000.0);
        assert_eq!(g.get("t.bool").and_then(Value::as_bool), Some(true));
        assert_eq!(g.get("t.nested").and_then(Value::as_array).map(<[Value]>::len), Some(3));
        assert_eq!(Value::I8(5).as_u64(), Some(5));
        assert_eq!(Value::F64(0.5).as_f32(), Some(0.5));
        assert_eq!(Value::U8(1).as_str(), None);
    }

    #[test]
    fn gguf_default_alignment_and_version_2() {
        let mut bytes = build(&[("x", Value::U8(1))], &valid_tensors());
        bytes[4] = 2;
        let g = Gguf::parse(&bytes, &path()).expect("parses");
        assert_eq!((g.version, g.alignment), (2, 32));
        assert_eq!(g.tensors[0].offset % 32, 0);
        assert_eq!(g.tensors[1].offset, g.tensors[0].offset + 64, "48 bytes padded to 64");
        // No tensors at all is fine, even without padding at the end.
        let g = Gguf::parse(&build(&[("x", Value::U8(1))], &[]), &path()).expect("parses");
        assert!(g.tensors.is_empty());
    }

    #[test]
    fn gguf_require_errors() {
        let g = Gguf::parse(valid_file(), &path()).expect("parses");
        let e = |r: Result<String>| r.expect_err("error").to_string();
        let msg = e(g.require_u64("llama.block_count", &path()).map(|v| v.to_string()));
        assert!(msg.contains("missing metadata `llama.block_count`"), "{msg}");
        let msg = e(g.require_u64("general.architecture", &path()).map(|v| v.to_string()));
        assert!(msg.contains("metadata `general.architecture` is a string, expected an integer"), "{msg}");
        let msg = e(g.require_u64("t.i8", &path()).map(|v| v.to_string()));
        assert!(msg.contains("is an i8 (-100), expected a non-negative integer"), "{msg}");
        let msg = e(g.require_f32("t.nested", &path()).map(|v| v.to_string()));
        assert!(msg.contains("is an array of 3 values, expected a number"), "{msg}");
        let msg = e(g.require_str("t.u8", &path()).map(str::to_owned));
        assert!(msg.contains("is a u8 (200), expected a string"), "{msg}");
    }

    /// Files written by candle's own GGUF writer, with every type candle can quantize to, parse
    /// to the same dtypes and (reversed) shapes — which also checks our type numbering.
    #[test]
    fn gguf_reads_candle_written_files() {
        use candle_core::quantized::{gguf_file, QTensor};
        use candle_core::{Device, Tensor};
        let dtypes = [
            GgmlDType::F32,
            GgmlDType::F16,
            GgmlDType::BF16,
            GgmlDType::Q4_0,
            GgmlDType::Q4_1,
            GgmlDType::Q5_0,
            GgmlDType::Q5_1,
            GgmlDType::Q8_0,
            GgmlDType::Q2K,
            GgmlDType::Q3K,
            GgmlDType::Q4K,
            GgmlDType::Q5K,
            GgmlDType::Q6K,
            GgmlDType::Q8K,
        ];
        let src = Tensor::arange(0f32, 512., &Device::Cpu).and_then(|t| t.reshape((2, 256))).expect("tensor");
        let qs: Vec<(String, QTensor)> =
            dtypes.iter().map(|&d| (format!("{d:?}"), QTensor::quantize(&src, d).expect("quantize"))).collect();
        let named: Vec<(&str, &QTensor)> = qs.iter().map(|(n, q)| (n.as_str(), q)).collect();
        let arch = gguf_file::Value::String("llama".into());
        let mut cursor = std::io::Cursor::new(Vec::new());
        gguf_file::write(&mut cursor, &[("general.architecture", &arch)], &named).expect("write");
        let bytes = cursor.into_inner();
        let g = Gguf::parse(&bytes, &path()).expect("parses candle's file");
        assert_eq!(g.tensors.len(), dtypes.len());
        for (info, (&dtype, (_, q))) in g.tensors.iter().zip(dtypes.iter().zip(&qs)) {
            assert_eq!(info.dtype, dtype);
            assert_eq!(info.dims, vec![256, 2]);
            assert_eq!(info.size as usize, q.storage_size_in_bytes());
            assert_eq!(g.tensor_bytes(info, &bytes), q.data().expect("data").as_ref());
        }
    }

    // --- malformed files -------------------------------------------------------------------

    #[test]
    fn gguf_bad_magic_and_versions() {
        assert_err(b"PK\x03\x04rest of a zip", &["not a GGUF file", "PK\\x03\\x04"]);
        assert_err(b"", &["truncated", "magic"]);
        assert_err(b"GG", &["truncated", "magic"]);
        assert_err(b"{", &["not a GGUF file"]);
        let mut bytes = valid_file().to_vec();
        bytes[4] = 1;
        assert_err(&bytes, &["GGUF version 1 is not supported; re-convert the file with a recent llama.cpp"]);
        bytes[4] = 4;
        assert_err(&bytes, &["GGUF version 4 is not supported"]);
        bytes[4..8].copy_from_slice(&3u32.to_be_bytes());
        assert_err(&bytes, &["big-endian"]);
    }

    #[test]
    fn gguf_every_truncation_is_an_error() {
        let bytes = valid_file();
        for n in 0..bytes.len() {
            let msg = parse_err(&bytes[..n]);
            assert!(msg.contains("truncated") || msg.contains("outside the file"), "prefix {n}: {msg}");
        }
        let msg = parse_err(&raw_kv("general.architecture", T_U8, &[1])[..40]);
        assert!(
            msg.contains("truncated: key of metadata entry 0 needs 20 bytes at offset 32 but the file has 40"),
            "{msg}"
        );
    }

    #[test]
    fn gguf_huge_counts_and_lengths() {
        let mut array = T_U8.to_le_bytes().to_vec();
        array.extend_from_slice(&(1u64 << 60).to_le_bytes());
        assert_err(
            &raw_kv("x", T_ARRAY, &array),
            &["truncated", "1152921504606846976 u8 array elements of metadata value of `x`", "need at least"],
        );
        let mut array = T_STRING.to_le_bytes().to_vec();
        array.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_err(&raw_kv("x", T_ARRAY, &array), &["truncated", "string array elements", "147573952589676412920"]);
        assert_err(
            &raw_kv("x", T_STRING, &u64::MAX.to_le_bytes()),
            &["truncated: metadata value of `x` needs 18446744073709551615 bytes at offset 45"],
        );
        // A huge key length.
        let mut bytes = raw_kv("x", T_U8, &[1]);
        bytes[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert_err(&bytes, &["truncated: key of metadata entry 0 needs 1099511627776 bytes"]);
        // Huge metadata and tensor counts.
        let mut bytes = raw_kv("x", T_U8, &[1]);
        bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_err(&bytes, &["truncated", "18446744073709551615 metadata entries"]);
        let mut bytes = raw_kv("x", T_U8, &[1]);
        bytes[8..16].copy_from_slice(&(1u64 << 62).to_le_bytes());
        assert_err(&bytes, &["truncated", "4611686018427387904 tensor infos"]);
    }

    #[test]
    fn gguf_bad_values() {
        assert_err(
            &raw_kv("x", 13, &[0; 8]),
            &["unknown metadata value type 13 for metadata value of `x` at offset 33"],
        );
        let mut array = 99u32.to_le_bytes().to_vec();
        array.extend_from_slice(&1u64.to_le_bytes());
        assert_err(&raw_kv("x", T_ARRAY, &array), &["unknown array element type 99"]);
        assert_err(&raw_kv("x", T_BOOL, &[2]), &["bool stored as 2"]);
        let mut s = 2u64.to_le_bytes().to_vec();
        s.extend_from_slice(&[0xff, 0xfe]);
        assert_err(&raw_kv("x", T_STRING, &s), &["metadata value of `x` at offset", "not valid UTF-8"]);
        let mut bytes = raw_kv("ab", T_U8, &[1]);
        bytes[33] = 0xc3;
        assert_err(&bytes, &["key of metadata entry 0", "not valid UTF-8"]);
        // Arrays nested 4 deep are fine, 5 deep are not.
        let nest = |levels: usize| (0..levels).fold(Value::U8(1), |v, _| Value::Array(vec![v]));
        let g = Gguf::parse(&build(&[("x", nest(4))], &[]), &path()).expect("4 levels parse");
        assert_eq!(g.get("x"), Some(&nest(4)));
        assert_err(&build(&[("x", nest(5))], &[]), &["metadata value of `x` nests arrays more than 4 deep"]);
        assert_err(&build(&[("x", nest(100))], &[]), &["nests arrays more than 4 deep"]);
    }

    #[test]
    fn gguf_duplicates() {
        assert_err(
            &build(&[("x", Value::U8(1)), ("y", Value::U8(1)), ("x", Value::U8(2))], &[]),
            &["duplicate metadata key `x` (entry 2"],
        );
        assert_err(
            &build(&[], &[spec("t", &[4], 0), spec("u", &[4], 0), spec("t", &[4], 0)]),
            &["duplicate tensor name `t` (tensor 2)"],
        );
    }

    #[test]
    fn gguf_bad_alignment() {
        assert_err(&build(&[(ALIGNMENT_KEY, Value::U32(0))], &[]), &["`general.alignment` is 0", "power of two"]);
        assert_err(&build(&[(ALIGNMENT_KEY, Value::U32(48))], &[]), &["`general.alignment` is 48", "power of two"]);
        assert_err(&build(&[(ALIGNMENT_KEY, Value::String("8".into()))], &[]), &["is a string", "power of two"]);
        // A huge alignment pushes the data section past the end of the file.
        assert_err(&build(&[(ALIGNMENT_KEY, Value::U64(1 << 63))], &[spec("t", &[4], 0)]), &["outside the file"]);
    }

    #[test]
    fn gguf_bad_tensors() {
        assert_err(
            &build(&[], &[spec("blk.0.attn_q.weight", &[32], 99)]),
            &["unknown ggml type 99 for tensor `blk.0.attn_q.weight`"],
        );
        assert_err(&build(&[], &[spec("t", &[32], 4)]), &["unknown ggml type 4"]);
        assert_err(
            &build(&[], &[spec("q", &[33, 2], 8)]),
            &["tensor `q` has innermost dimension 33, not a multiple of the Q8_0 block size 32"],
        );
        assert_err(&build(&[], &[spec("t", &[1, 1, 1, 1, 1], 0)]), &["tensor `t` has 5 dimensions"]);
        assert_err(&build(&[], &[spec("t", &[4, 0], 0)]), &["tensor `t` has dimension 1 of size 0"]);
        assert_err(&build(&[], &[spec("t", &[1 << 32, 1 << 32], 0)]), &["tensor `t`", "overflows u64"]);
        assert_err(&build(&[], &[spec("t", &[1 << 61, 4], 0)]), &["tensor `t`", "too large"]);
        assert_err(&build(&[], &[spec("t", &[1 << 20, 1 << 20], 0)]), &["tensor `t` data [", "outside the file"]);
        let far = Spec { offset: Some(1 << 20), ..spec("x", &[4], 0) };
        let bytes = build(&[], &[far]);
        let start = bytes.len() as u64 + (1 << 20);
        let msg = parse_err(&bytes);
        let want = format!("tensor `x` data [{start}, {}) is outside the file ({} bytes)", start + 16, bytes.len());
        assert!(msg.contains(&want), "{msg} lacks {want}");
        let wrapping = Spec { offset: Some(u64::MAX - 31), ..spec("x", &[4], 0) };
        assert_err(&build(&[], &[wrapping]), &["tensor `x` data [", "outside the file"]);
        let unaligned = Spec { offset: Some(4), ..spec("x", &[4], 0) };
        assert_err(&build(&[], &[unaligned]), &["tensor `x` has data offset 4, not a multiple of the alignment 32"]);
        // A scalar (no dimensions) is one element.
        let g = Gguf::parse(&build(&[], &[spec("s", &[], 0)]), &path()).expect("scalar");
        assert_eq!(g.tensors[0].size, 4);
    }

    // --- fuzzing -----------------------------------------------------------------------------

    /// A random edit of the valid file: up to 8 overwritten or bit-flipped bytes, then maybe a
    /// truncation, then maybe an insertion.
    #[derive(Debug, Clone)]
    struct Mutation {
        edits: Vec<(prop::sample::Index, u8, bool)>,
        truncate: Option<prop::sample::Index>,
        insert: Option<(prop::sample::Index, Vec<u8>)>,
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        (
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 0..=8),
            prop::option::weighted(0.2, any::<prop::sample::Index>()),
            prop::option::weighted(0.2, (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..16))),
        )
            .prop_map(|(edits, truncate, insert)| Mutation { edits, truncate, insert })
    }

    fn apply(m: &Mutation) -> Vec<u8> {
        let mut bytes = valid_file().to_vec();
        for (at, byte, flip) in &m.edits {
            let i = at.index(bytes.len());
            if *flip {
                bytes[i] ^= 1 << (byte % 8);
            } else {
                bytes[i] = *byte;
            }
        }
        if let Some(at) = &m.truncate {
            bytes.truncate(at.index(bytes.len()));
        }
        if let Some((at, insert)) = &m.insert {
            let i = at.index(bytes.len() + 1);
            bytes.splice(i..i, insert.iter().copied());
        }
        bytes
    }

    /// Parses a mutated file; whatever parses must be self-consistent. Returns whether it parsed.
    fn check_mutation(m: &Mutation) -> bool {
        let bytes = apply(m);
        let Ok(g) = Gguf::parse(&bytes, &path()) else { return false };
        for t in &g.tensors {
            assert_eq!(g.tensor_bytes(t, &bytes).len() as u64, t.size);
            assert_eq!(t.offset % g.alignment, 0);
        }
        true
    }

    /// Runs `cases` random mutations; returns the time taken and how many mutated files parsed.
    fn run_mutations(cases: u32) -> (std::time::Duration, u32) {
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let parsed = std::cell::Cell::new(0);
        let start = Instant::now();
        runner
            .run(&mutation(), |m| {
                if check_mutation(&m) {
                    parsed.set(parsed.get() + 1);
                }
                Ok(())
            })
            .expect("parse never panics on a mutated file");
        (start.elapsed(), parsed.get())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 50_000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn gguf_fuzz_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = Gguf::parse(&bytes, &path());
        }

        #[test]
        fn gguf_fuzz_random_after_header(version in 2u32..=3, counts in (0u64..4, 0u64..4), rest in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut bytes = b"GGUF".to_vec();
            put_u32(&mut bytes, version);
            put_u64(&mut bytes, counts.0);
            put_u64(&mut bytes, counts.1);
            bytes.extend_from_slice(&rest);
            let _ = Gguf::parse(&bytes, &path());
        }
    }

    #[test]
    fn gguf_fuzz_mutations() {
        let (_, parsed) = run_mutations(200_000);
        assert!(parsed > 0, "some mutations (e.g. of tensor data) still parse");
    }

    #[test]
    #[ignore = "long: 1,000,000 mutation cases (GGUF_FUZZ_CASES overrides)"]
    fn fuzz_gguf_long() {
        let cases = std::env::var("GGUF_FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1_000_000);
        let (took, parsed) = run_mutations(cases);
        eprintln!(
            "fuzz_gguf_long: {cases} mutation cases in {:.1} s, no panic; {parsed} mutated files parsed, the rest were errors",
            took.as_secs_f64()
        );
    }

    // --- a real model ------------------------------------------------------------------------

    #[test]
    fn gguf_smollm2() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/SmolLM2-135M-Instruct.Q4_1.gguf");
        let bytes = match std::fs::read(&file) {
            Ok(b) if b.len() > 80_000_000 => b,
            _ => {
                eprintln!("skipping: {} is absent or incomplete", file.display());
                return;
            }
        };
        let g = Gguf::parse(&bytes, &file).expect("SmolLM2 parses");
        assert_eq!(g.require_str("general.architecture", &file).expect("arch"), "llama");
        let tokens = g.get("tokenizer.ggml.tokens").and_then(Value::as_array).expect("tokens");
        assert_eq!(tokens.len(), 49152);
        assert!(g.tensor("token_embd.weight").is_some());
        assert_eq!(g.require_u64("llama.block_count", &file).expect("blocks"), 30);
        assert_eq!((0..30).filter(|i| g.tensor(&format!("blk.{i}.attn_q.weight")).is_some()).count(), 30);

        eprintln!("GGUF v{}, alignment {}, {} metadata keys:", g.version, g.alignment, g.metadata.len());
        for (k, v) in &g.metadata {
            match v.as_array() {
                Some(items) if items.len() > 8 => eprintln!("  {k} = [{} values]", items.len()),
                _ => eprintln!("  {k} = {v:?}"),
            }
        }
        eprintln!("{} tensors:", g.tensors.len());
        for t in &g.tensors {
            eprintln!("  {} {:?} {:?} {} bytes", t.name, t.dtype, t.dims, t.size);
        }
        let mut counts = BTreeMap::new();
        for t in &g.tensors {
            *counts.entry(format!("{:?}", t.dtype)).or_insert(0) += 1;
        }
        eprintln!("dtypes: {counts:?}");
    }
}
