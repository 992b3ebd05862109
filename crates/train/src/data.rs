//! The pretraining data: an endless, seeded mixture of solver traces from the task
//! families, packed into fixed-length rows. Batch `step` is a pure function of the run
//! seed and the step, so a resumed run sees exactly the data it would have seen.

use candle_core::{Device, Tensor};
use ponder_model::{special, ByteTokenizer, DocumentMask};
use ponder_tasks::{drill, seed_for, Family, Rng, Split};
use rand::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Facts in one drill document: about 400 bytes, the length of an easy problem's trace.
const DRILL_LINES: usize = 32;

/// Decoded strings in one lookup drill: with its table, about 500 bytes.
const LOOKUP_LINES: usize = 12;

/// Which problems the mixture draws from, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureConfig {
    /// (family, difficulty levels) pairs; every pair is drawn equally often.
    pub sources: Vec<(Family, Vec<u8>)>,
    /// Probability that a trace step contains a mistake that is then corrected. Above zero
    /// so the model sees (and learns to make) self-corrections.
    pub mistake_rate: f64,
    /// Share of documents that are arithmetic drills ([`ponder_tasks::drill`]) instead of
    /// problems: the one-step facts worked arithmetic stands on. 0 (the default, and what
    /// runs written before this field read as) draws only problems.
    #[serde(default)]
    pub drill_share: f64,
    /// Share of documents that are lookup drills ([`ponder_tasks::drill::lookup_drill`]): a
    /// letter table, then strings decoded through it, the step Caesar traces stand on. 0
    /// by default, as for `drill_share`.
    #[serde(default)]
    pub lookup_share: f64,
    /// Share of documents that are quote drills ([`ponder_tasks::drill::quote_drill`]): a
    /// story, then each sentence quoted on its own line, the copy that word and count
    /// traces stand on. 0 by default, as for `drill_share`.
    #[serde(default)]
    pub quote_share: f64,
}

impl Default for MixtureConfig {
    fn default() -> Self {
        Self {
            // Levels whose documents (prompt + trace) fit a 768-byte row (see `ponder tasks
            // stats`); the longer, harder levels are for RL and evaluation.
            sources: vec![
                (Family::Word, vec![1, 2, 3, 4]),
                (Family::Count, vec![1, 2, 3]),
                (Family::Letters, vec![1, 2, 3]),
                (Family::Cipher, vec![1, 3]),
                (Family::Countdown, vec![1, 2]),
                // 4×4 sudoku level 2 names every cell and reads every unit: too long now.
                (Family::Sudoku, vec![1]),
            ],
            mistake_rate: 0.15,
            drill_share: 0.0,
            lookup_share: 0.0,
            quote_share: 0.0,
        }
    }
}

impl MixtureConfig {
    /// Only these families (keeping their default levels).
    pub fn with_families(mut self, families: &[Family]) -> Self {
        self.sources.retain(|(f, _)| families.contains(f));
        self
    }

    /// The (family, level) pairs, flattened.
    fn pairs(&self) -> Vec<(Family, u8)> {
        self.sources.iter().flat_map(|(f, levels)| levels.iter().map(move |&l| (*f, l))).collect()
    }

    /// Document `index` of the stream seeded by `seed`: a training-split problem with its
    /// solver trace (or, with probability `drill_share`, an arithmetic drill, or with
    /// probability `lookup_share` of the rest, a lookup drill, then `quote_share` of the
    /// rest, a quote drill), as tokens and per-token
    /// "in the completion" flags.
    pub fn document(&self, seed: u64, index: &[u64]) -> Result<(Vec<u32>, Vec<bool>)> {
        let pairs = self.pairs();
        if pairs.is_empty() {
            return Err(Error::Config("the data mixture has no (family, level) sources".into()));
        }
        let mut rng = Rng::seed_from_u64(seed_for(seed, index));
        // Drawn only when drills are on, so older runs keep their exact data stream.
        if self.drill_share > 0.0 && rng.random_bool(self.drill_share.min(1.0)) {
            let facts = drill::drill(&mut rng, DRILL_LINES);
            return Ok(ByteTokenizer.encode_document(drill::DRILL_PROMPT, &facts));
        }
        if self.lookup_share > 0.0 && rng.random_bool(self.lookup_share.min(1.0)) {
            let lookups = drill::lookup_drill(&mut rng, LOOKUP_LINES);
            return Ok(ByteTokenizer.encode_document(drill::LOOKUP_PROMPT, &lookups));
        }
        if self.quote_share > 0.0 && rng.random_bool(self.quote_share.min(1.0)) {
            let (story, quotes) = drill::quote_drill(&mut rng)?;
            return Ok(ByteTokenizer.encode_document(&story, &quotes));
        }
        let (family, level) = pairs[rng.random_range(0..pairs.len())];
        // About 1 in 8 prompts is held out; skip those (the test split is never trained on).
        let problem = loop {
            let problem = family.generate(level, rng.random())?;
            if Split::of_prompt(&problem.prompt) == Split::Train {
                break problem;
            }
        };
        let solution = problem.solve(&mut rng, self.mistake_rate);
        Ok(ByteTokenizer.encode_document(&problem.prompt, &solution.completion()))
    }
}

/// One batch of packed rows, ready for the model.
pub struct Batch {
    /// (batch, seq) u32 input tokens.
    pub inputs: Tensor,
    /// (batch, seq) u32 next tokens.
    pub targets: Tensor,
    /// (batch, seq) f32: 1 where the target is a completion token to learn, else 0.
    pub loss_mask: Tensor,
    /// Which positions each position attends to: causally, within its own document (and
    /// rotary positions that restart with each document).
    pub documents: DocumentMask,
    /// Number of target tokens that count in the loss.
    pub loss_tokens: usize,
}

impl Batch {
    /// Rows `from .. from + n` of the batch, with their own loss-token count.
    pub fn rows(&self, from: usize, n: usize) -> Result<Batch> {
        let loss_mask = self.loss_mask.narrow(0, from, n)?;
        Ok(Batch {
            inputs: self.inputs.narrow(0, from, n)?,
            targets: self.targets.narrow(0, from, n)?,
            loss_tokens: loss_mask.sum_all()?.to_scalar::<f32>()? as usize,
            loss_mask,
            documents: self.documents.rows(from, n)?,
        })
    }
}

/// Packs documents into `batch` rows of `seq_len` inputs each (plus the shifted target).
/// Documents longer than a row are skipped; the tail of a row that no further document
/// fits is padding, excluded from the loss.
pub fn packed_batch(
    mixture: &MixtureConfig,
    seed: u64,
    step: u64,
    batch: usize,
    seq_len: usize,
    device: &Device,
) -> Result<Batch> {
    let row_len = seq_len + 1;
    let (mut inputs, mut targets, mut mask, mut segments) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in 0..batch {
        let (mut tokens, mut learn, mut seg) = (Vec::with_capacity(row_len), Vec::with_capacity(row_len), Vec::new());
        let mut doc = 0u64;
        let mut misses = 0;
        while tokens.len() < row_len && misses < 4 {
            let (t, l) = mixture.document(seed, &[step, row as u64, doc])?;
            doc += 1;
            if tokens.len() + t.len() > row_len {
                misses += 1; // try a few more documents that might fit, then pad
                continue;
            }
            seg.extend(std::iter::repeat_n(doc as u32, t.len()));
            tokens.extend(t);
            learn.extend(l);
        }
        let padding = row_len - tokens.len();
        tokens.extend(std::iter::repeat_n(special::PAD, padding));
        learn.extend(std::iter::repeat_n(false, padding));
        seg.extend(std::iter::repeat_n(u32::MAX, padding));
        inputs.extend_from_slice(&tokens[..seq_len]);
        targets.extend_from_slice(&tokens[1..]);
        // Learn token i+1 from position i when i+1 is a completion token of the same document.
        mask.extend((0..seq_len).map(|i| if learn[i + 1] && seg[i] == seg[i + 1] { 1.0f32 } else { 0.0 }));
        segments.push(seg[..seq_len].to_vec());
    }
    let loss_tokens = mask.iter().filter(|&&m| m > 0.0).count();
    let documents = DocumentMask::new(&segments)?;
    Ok(Batch {
        inputs: Tensor::from_vec(inputs, (batch, seq_len), device)?,
        targets: Tensor::from_vec(targets, (batch, seq_len), device)?,
        loss_mask: Tensor::from_vec(mask, (batch, seq_len), device)?,
        documents,
        loss_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_a_function_of_seed_and_step() {
        let mixture = MixtureConfig::default();
        let a = packed_batch(&mixture, 1, 5, 2, 256, &Device::Cpu).expect("batch");
        let b = packed_batch(&mixture, 1, 5, 2, 256, &Device::Cpu).expect("batch");
        let c = packed_batch(&mixture, 1, 6, 2, 256, &Device::Cpu).expect("batch");
        let ids = |x: &Batch| x.inputs.to_vec2::<u32>().expect("ids");
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        assert!(a.loss_tokens > 100);
    }

    #[test]
    fn only_completion_tokens_are_learned() {
        let mixture = MixtureConfig::default().with_families(&[Family::Word]);
        let batch = packed_batch(&mixture, 3, 0, 1, 512, &Device::Cpu).expect("batch");
        let targets = batch.targets.to_vec2::<u32>().expect("targets").remove(0);
        let mask = batch.loss_mask.to_vec2::<f32>().expect("mask").remove(0);
        let learned: Vec<u32> = targets.iter().zip(&mask).filter(|(_, &m)| m > 0.0).map(|(&t, _)| t).collect();
        let text = ByteTokenizer.decode(&learned);
        // Every document's completion starts with <think>; no prompt text is learned.
        assert!(learned.first() == Some(&special::THINK), "{text}");
        assert!(!text.contains("How many"), "{text}");
        assert!(learned.contains(&special::EOS));
        assert!(!learned.contains(&special::BOS));
    }

    /// The text of the first two 768-token rows of `mixture`'s stream seeded by `seed`.
    fn first_rows_text(mixture: &MixtureConfig, seed: u64) -> String {
        let batch = packed_batch(mixture, seed, 0, 2, 768, &Device::Cpu).expect("batch");
        let rows = batch.inputs.to_vec2::<u32>().expect("ids");
        rows.iter().map(|r| ByteTokenizer.decode(r)).collect()
    }

    #[test]
    fn drills_join_the_mixture_only_when_asked_for() {
        let text = |mixture: &MixtureConfig| first_rows_text(mixture, 4);
        let plain = MixtureConfig::default();
        assert!(!text(&plain).contains(drill::DRILL_PROMPT));
        let drills = MixtureConfig { drill_share: 0.5, ..plain };
        let with = text(&drills);
        assert!(with.contains(drill::DRILL_PROMPT), "{with}");
        // The facts follow their prompt: `17 + 7 = 24`, one per line.
        let after = with.split(drill::DRILL_PROMPT).nth(1).unwrap_or_default();
        let fact = after.lines().find(|l| !l.is_empty()).unwrap_or_default();
        let parts: Vec<&str> = fact.split(' ').collect();
        assert!(parts.len() == 5 && parts[3] == "=" && parts[4].parse::<i64>().is_ok(), "{fact:?} in {with}");
        // A run config written before the field existed still reads, with no drills.
        let old = r#"{"sources":[["word",[1]]],"mistake_rate":0.15}"#;
        let read: MixtureConfig = serde_json::from_str(old).expect("old mixture config");
        assert_eq!(read.drill_share, 0.0);
        assert_eq!(read.lookup_share, 0.0);
        assert_eq!(read.quote_share, 0.0);
    }

    /// Checks that the drill whose prompt is `prompt` is absent from the default mixture,
    /// present once `turn_on` sets its share to 0.5, and drawn after the `earlier` drill
    /// (all documents of that kind): turning it on leaves that stream as it was. Returns
    /// the text with it on.
    fn drill_joins_only_when_asked_for(
        prompt: &str,
        earlier: MixtureConfig,
        turn_on: fn(&mut MixtureConfig),
    ) -> String {
        let text = |mixture: &MixtureConfig| first_rows_text(mixture, 5);
        let on = |mut mixture: MixtureConfig| {
            turn_on(&mut mixture);
            mixture
        };
        assert!(!text(&MixtureConfig::default()).contains(prompt));
        let with = text(&on(MixtureConfig::default()));
        assert!(with.contains(prompt), "{with}");
        assert_eq!(text(&earlier), text(&on(earlier.clone())));
        with
    }

    #[test]
    fn lookup_drills_join_the_mixture_only_when_asked_for() {
        let drills = MixtureConfig { drill_share: 1.0, ..MixtureConfig::default() };
        let with = drill_joins_only_when_asked_for(drill::LOOKUP_PROMPT, drills, |m| m.lookup_share = 0.5);
        // The table follows the prompt: 26 cells such as `Tl`.
        let after = with.split(drill::LOOKUP_PROMPT).nth(1).unwrap_or_default();
        let table = after.lines().find(|l| !l.is_empty()).unwrap_or_default();
        assert_eq!(table.split(' ').count(), 26, "{table:?}");
    }

    #[test]
    fn quote_drills_join_the_mixture_only_when_asked_for() {
        let lookups = MixtureConfig { lookup_share: 1.0, ..MixtureConfig::default() };
        let with = drill_joins_only_when_asked_for(drill::QUOTE_PROMPT, lookups, |m| m.quote_share = 0.5);
        // The story follows the instruction, and its first sentence is quoted.
        let after = with.split(drill::QUOTE_PROMPT).nth(1).unwrap_or_default();
        let first = after.lines().find(|l| !l.is_empty()).unwrap_or_default();
        let sentence = first.split_inclusive(['.', '?']).next().unwrap_or_default();
        assert!(with.contains(&format!("\"{sentence}\"")), "{sentence:?} quoted in {with}");
    }
}
