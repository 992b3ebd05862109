//! Public benchmarks: fixed sets of questions with reference answers, loaded from files.
//!
//! Unlike the generated [`Family`](crate::Family) problems, a benchmark item comes from a
//! file (e.g. GSM8K's `test.jsonl`), is stated by [`Benchmark::prompt`] and is graded by
//! [`Benchmark::grade`] under the same thinking protocol: only the text after the last
//! `</think>` is read.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Verdict};

pub mod gsm8k;

pub use gsm8k::{extract_final_number, normalize_number, numbers_equal};

/// One benchmark question with its reference answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchItem {
    /// Stable identifier, `BENCHMARK-INDEX` (e.g. `gsm8k-0` for the file's first line).
    pub id: String,
    /// The question as written in the benchmark.
    pub question: String,
    /// The final (gold) answer as written after `#### `, thousands separators removed (`1,600` → `1600`).
    pub gold: String,
    /// The reference worked solution: the `answer` text before `#### `, trimmed, as written
    /// (GSM8K's `<<48/2=24>>` calculator annotations included).
    pub solution: String,
}

/// A public benchmark this crate can load and grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Benchmark {
    /// GSM8K: grade-school math word problems with a numeric final answer (1319 test items).
    Gsm8k,
}

impl Benchmark {
    /// Every benchmark, in a fixed order.
    pub const ALL: [Benchmark; 1] = [Benchmark::Gsm8k];

    /// The benchmark's name, as accepted by [`FromStr`] (e.g. `gsm8k`).
    pub fn name(self) -> &'static str {
        match self {
            Benchmark::Gsm8k => "gsm8k",
        }
    }

    /// Where the benchmark's test split lies under a data directory
    /// (GSM8K: `DATA_DIR/gsm8k/test.jsonl`).
    pub fn default_path(self, data_dir: &Path) -> PathBuf {
        match self {
            Benchmark::Gsm8k => data_dir.join("gsm8k").join("test.jsonl"),
        }
    }

    /// Loads every item of the benchmark file at `path`, in file order.
    ///
    /// Errors name the file, and for a bad record its 1-based line number.
    pub fn load(self, path: &Path) -> Result<Vec<BenchItem>> {
        match self {
            Benchmark::Gsm8k => gsm8k::load(path),
        }
    }

    /// The user message that asks `item`'s question (see [`gsm8k::INSTRUCTION`] for GSM8K).
    pub fn prompt(self, item: &BenchItem) -> String {
        match self {
            Benchmark::Gsm8k => gsm8k::prompt(item),
        }
    }

    /// Grades a completion (thinking protocol included) against `item`'s gold answer:
    /// correct, wrong, or unparsable when no answer can be read.
    pub fn grade(self, item: &BenchItem, completion: &str) -> Verdict {
        match self {
            Benchmark::Gsm8k => gsm8k::grade(item, completion),
        }
    }
}

impl fmt::Display for Benchmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Benchmark {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Benchmark::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownBenchmark(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Benchmark::ALL {
            assert_eq!(b.name().parse::<Benchmark>().expect("known name"), b);
            assert_eq!(b.to_string(), b.name());
        }
        assert_eq!(" GSM8K ".parse::<Benchmark>().expect("case-insensitive"), Benchmark::Gsm8k);
        let err = "gsm9k".parse::<Benchmark>().expect_err("unknown name");
        assert!(err.to_string().contains("gsm8k"), "{err}");
    }

    #[test]
    fn default_path_is_under_the_data_dir() {
        assert_eq!(Benchmark::Gsm8k.default_path(Path::new("data")), Path::new("data/gsm8k/test.jsonl"));
    }
}
