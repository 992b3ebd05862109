//! GSM8K (Cobbe et al., 2021): grade-school math word problems whose answer is one number.
//!
//! The file is JSON Lines, one object per line with string fields `question` and `answer`;
//! `answer` is the worked solution followed by `#### N`, the final answer. A completion is
//! graded by reading one number out of its answer part ([`extract_final_number`]) and
//! comparing it numerically with the gold answer ([`numbers_equal`]).

use std::path::Path;

use serde::Deserialize;

use super::BenchItem;
use crate::extract::{self, answer_text, THINK_CLOSE};
use crate::{Error, Result, Verdict};

/// The instruction appended (after a newline) to every GSM8K question in [`prompt`]:
/// `Solve step by step, then give the final answer as a number on the last line in the form "The answer is N."`
pub const INSTRUCTION: &str =
    "Solve step by step, then give the final answer as a number on the last line in the form \"The answer is N.\"";

/// The marker that precedes the gold answer in GSM8K's `answer` field.
pub const GOLD_MARKER: &str = "####";

/// Relative tolerance of [`numbers_equal`].
pub const TOLERANCE: f64 = 1e-6;

/// One line of the GSM8K file as written.
#[derive(Deserialize)]
struct Record {
    question: String,
    answer: String,
}

/// Loads the GSM8K file at `path`: one [`BenchItem`] per non-blank line, with id
/// `gsm8k-I` where `I` is the 0-based line index.
pub fn load(path: &Path) -> Result<Vec<BenchItem>> {
    let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::BenchMissing { path: path.to_path_buf() },
        _ => Error::BenchIo { path: path.to_path_buf(), source },
    })?;
    let mut items = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line).map_err(|source| Error::BenchLine {
            path: path.to_path_buf(),
            line: index + 1,
            source,
        })?;
        let (solution, gold) = split_answer(&record.answer)
            .ok_or_else(|| Error::BenchNoGold { path: path.to_path_buf(), line: index + 1 })?;
        items.push(BenchItem { id: format!("gsm8k-{index}"), question: record.question, gold, solution });
    }
    Ok(items)
}

/// Splits a GSM8K `answer` field into the worked solution (trimmed) and the gold answer:
/// the text after the last `#### `, trimmed, thousands separators removed. `None` when
/// there is no marker or nothing after it.
pub fn split_answer(answer: &str) -> Option<(String, String)> {
    let at = answer.rfind(GOLD_MARKER)?;
    let gold: String = answer[at + GOLD_MARKER.len()..].trim().chars().filter(|&c| c != ',').collect();
    if gold.is_empty() {
        return None;
    }
    Some((answer[..at].trim().to_string(), gold))
}

/// The user message for a GSM8K item: the question, a newline, then [`INSTRUCTION`].
pub fn prompt(item: &BenchItem) -> String {
    format!("{}\n{INSTRUCTION}", item.question.trim())
}

/// Grades `completion` against `item.gold`: unparsable when the thinking block is never
/// closed or the answer holds no number, else correct when the numbers are equal.
pub fn grade(item: &BenchItem, completion: &str) -> Verdict {
    if let Err(why) = answer_text(completion) {
        return Verdict::unparsable(format!("{why} (expected {})", item.gold));
    }
    match extract_final_number(completion) {
        None => Verdict::unparsable(format!("no number in the answer (expected {})", item.gold)),
        Some(read) => Verdict::judge(numbers_equal(&read, &item.gold), format!("expected {}, read {read}", item.gold)),
    }
}

/// Phrases after which a model states its final answer, lower case. `answer is` also
/// covers "The answer is" and "The final answer is"; `answer:` covers "Final answer:".
const ANSWER_MARKERS: [&str; 3] = ["answer is", "answer:", GOLD_MARKER];

/// The LaTeX box around a final answer.
const BOXED: &str = "\\boxed{";

/// The final numeric answer of a completion, normalised by [`normalize_number`].
///
/// Only the answer part is read: the text after the last `</think>`, or the whole text
/// when it has no thinking tags (`None` when a thinking block is never closed). In it, the
/// last of "…answer is N", "…answer: N", "#### N" and `\boxed{N}` that has a number wins
/// (the first number after the marker, on the marker's line or the next non-blank one, or
/// inside the box); failing those, the last number in the text. Numbers may be negative
/// (`-3`, `−3`), have thousands separators (`1,234`) and decimals (`2.5`); `$`, `%` and a
/// trailing full stop around them are ignored.
pub fn extract_final_number(text: &str) -> Option<String> {
    answer_text(text).ok()?;
    let region = text.rfind(THINK_CLOSE).map_or(text, |i| &text[i + THINK_CLOSE.len()..]);
    let lower = region.to_ascii_lowercase();
    let mut marked: Vec<(usize, &str)> = ANSWER_MARKERS
        .iter()
        .chain(std::iter::once(&BOXED))
        .flat_map(|m| lower.match_indices(m).map(|(at, _)| (at, *m)).collect::<Vec<_>>())
        .collect();
    marked.sort_unstable_by_key(|&(at, _)| std::cmp::Reverse(at));
    for (at, marker) in marked {
        let rest = &region[at + marker.len()..];
        let segment = if marker == BOXED { box_content(rest) } else { first_line(rest) };
        if let Some(n) = numbers(segment).into_iter().next() {
            return Some(n);
        }
    }
    numbers(region).pop()
}

/// The text up to the `}` that closes a box already opened (the rest when unclosed).
fn box_content(rest: &str) -> &str {
    let mut depth = 1usize;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..i];
                }
            }
            _ => {}
        }
    }
    rest
}

/// The first non-blank line of `rest` (from its start, so a marker's own line comes first).
fn first_line(rest: &str) -> &str {
    let rest = rest.trim_start();
    rest.split('\n').next().unwrap_or(rest)
}

/// Every number written in `text`, in order (see [`extract::numerals`]), normalised by
/// [`normalize_number`].
fn numbers(text: &str) -> Vec<String> {
    extract::numerals(text).iter().filter_map(|n| normalize_number(n)).collect()
}

/// The canonical form of a written number, or `None` when it is not one: thousands
/// separators, `$`, `%`, spaces and a trailing full stop removed, `−` read as `-`,
/// leading zeros and trailing decimal zeros dropped (`$1,234.50` → `1234.5`,
/// `18.00` → `18`, `-0` → `0`). Equal numbers written alike compare equal as strings.
pub fn normalize_number(text: &str) -> Option<String> {
    let cleaned: String = text
        .trim()
        .trim_end_matches('.')
        .replace('−', "-")
        .chars()
        .filter(|c| !matches!(c, ',' | '$' | '%' | ' '))
        .collect();
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let zero = int == "0" && frac.is_empty();
    let mut out = String::from(if negative && !zero { "-" } else { "" });
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

/// Whether two written numbers are equal: the same after [`normalize_number`], or within
/// a relative [`TOLERANCE`] of each other as `f64` (absolute near zero). Text that is not
/// a number is compared as trimmed text.
pub fn numbers_equal(a: &str, b: &str) -> bool {
    let (Some(na), Some(nb)) = (normalize_number(a), normalize_number(b)) else {
        return a.trim() == b.trim();
    };
    if na == nb {
        return true;
    }
    match (na.parse::<f64>(), nb.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= TOLERANCE * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::bench::Benchmark;
    use crate::Outcome;

    fn item(gold: &str) -> BenchItem {
        BenchItem { id: "gsm8k-0".into(), question: "q".into(), gold: gold.into(), solution: String::new() }
    }

    /// A file in the temp dir with a name no other test run uses; removed on drop.
    struct TempFile(PathBuf);
    impl TempFile {
        fn new(tag: &str, contents: &str) -> Self {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let path = std::env::temp_dir().join(format!("ponder-gsm8k-{tag}-{}-{nanos}.jsonl", std::process::id()));
            std::fs::write(&path, contents).expect("temp dir is writable");
            Self(path)
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn gold_is_after_the_last_marker_without_separators() {
        let (solution, gold) = split_answer("She has 1,000 + 450 = <<1000+450=1450>>1,450\n#### 1,450").expect("gold");
        assert_eq!(gold, "1450");
        assert_eq!(solution, "She has 1,000 + 450 = <<1000+450=1450>>1,450");
        assert_eq!(split_answer("a #### 3\nb\n#### -7 ").map(|(_, g)| g), Some("-7".to_string()));
        assert_eq!(split_answer("#### 1,450,000").map(|(_, g)| g), Some("1450000".to_string()));
        assert_eq!(split_answer("no marker 12"), None);
        assert_eq!(split_answer("empty ####  "), None);
    }

    #[test]
    fn extraction_prefers_the_stated_answer() {
        assert_eq!(extract_final_number("The answer is $1,234.").as_deref(), Some("1234"));
        assert_eq!(extract_final_number("So we get \\boxed{42} in total, i.e. 6 * 7").as_deref(), Some("42"));
        assert_eq!(extract_final_number("\\boxed{\\text{1,600 dollars}}").as_deref(), Some("1600"));
        assert_eq!(extract_final_number("so 5 - 8 = -3").as_deref(), Some("-3"));
        assert_eq!(extract_final_number("so 5 − 8 = −3").as_deref(), Some("-3"));
        assert_eq!(extract_final_number("Answer: 25%. Check: 100 / 4 = 25").as_deref(), Some("25"));
        assert_eq!(extract_final_number("The answer is 18 dollars, 2 more than 16.").as_deref(), Some("18"));
        assert_eq!(extract_final_number("The answer is 18.\nI hope this answer is right.").as_deref(), Some("18"));
        assert_eq!(extract_final_number("The answer is:\n\n**7.50**").as_deref(), Some("7.5"));
        assert_eq!(extract_final_number("9 * 2 = 18\n#### 18").as_deref(), Some("18"));
        assert_eq!(extract_final_number("Total: 3 + 4 = 7 apples.").as_deref(), Some("7"));
        assert_eq!(extract_final_number("x-3 and 5-8").as_deref(), Some("8"));
    }

    #[test]
    fn extraction_ignores_the_thinking() {
        let completion = "<think>Maybe 99? The answer is 99.</think>\nThe answer is 12.";
        assert_eq!(extract_final_number(completion).as_deref(), Some("12"));
        assert_eq!(extract_final_number("<think>it is 12</think> twelve, so 13").as_deref(), Some("13"));
        assert_eq!(extract_final_number("<think>it is 12 and still thinking"), None);
    }

    #[test]
    fn no_number_is_none() {
        assert_eq!(extract_final_number("I do not know."), None);
        assert_eq!(extract_final_number("<think>12</think>The answer is unknown."), None);
        assert_eq!(extract_final_number(""), None);
    }

    #[test]
    fn numbers_normalize() {
        assert_eq!(normalize_number("18.00").as_deref(), Some("18"));
        assert_eq!(normalize_number("$1,234.50.").as_deref(), Some("1234.5"));
        assert_eq!(normalize_number("-0").as_deref(), Some("0"));
        assert_eq!(normalize_number("007").as_deref(), Some("7"));
        assert_eq!(normalize_number(".5").as_deref(), Some("0.5"));
        assert_eq!(normalize_number("abc"), None);
        assert_eq!(normalize_number("-"), None);
        assert!(numbers_equal("18.00", "18"));
        assert!(numbers_equal("0.3333333", "0.33333333"));
        assert!(!numbers_equal("18", "-18"));
        assert!(!numbers_equal("18.1", "18"));
    }

    #[test]
    fn grading_compares_numbers() {
        let gold = item("18");
        let g = Benchmark::Gsm8k.grade(&gold, "<think>9 * 2</think>The answer is 18.00.");
        assert_eq!(g.outcome, Outcome::Correct, "{}", g.reason);
        assert_eq!(g.reward, 1.0);
        let g = Benchmark::Gsm8k.grade(&gold, "The answer is 17.");
        assert_eq!(g.outcome, Outcome::Wrong);
        assert!(g.reason.contains("expected 18") && g.reason.contains("17"), "{}", g.reason);
        assert_eq!(Benchmark::Gsm8k.grade(&gold, "no idea").outcome, Outcome::Unparsable);
        assert_eq!(Benchmark::Gsm8k.grade(&gold, "<think>18").outcome, Outcome::Unparsable);
        assert_eq!(Benchmark::Gsm8k.grade(&item("-3"), "so 5 - 8 = -3").outcome, Outcome::Correct);
        assert_eq!(Benchmark::Gsm8k.grade(&item("1234"), "The answer is $1,234.").outcome, Outcome::Correct);
    }

    #[test]
    fn prompt_states_the_format() {
        let p = Benchmark::Gsm8k.prompt(&item("1"));
        assert!(p.starts_with("q\n"));
        assert!(p.ends_with("\"The answer is N.\""));
    }

    #[test]
    fn loads_the_real_test_split() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/gsm8k/test.jsonl");
        if !path.exists() {
            eprintln!("skipping: {} is absent", path.display());
            return;
        }
        let items = Benchmark::Gsm8k.load(&path).expect("the GSM8K test split loads");
        assert_eq!(items.len(), 1319);
        assert_eq!(items[0].id, "gsm8k-0");
        assert_eq!(items[0].gold, "18");
        assert_eq!(items[1318].id, "gsm8k-1318");
        for it in &items {
            assert!(it.gold.parse::<f64>().is_ok(), "{}: gold `{}` is not a number", it.id, it.gold);
            assert!(!it.question.is_empty() && !it.solution.is_empty(), "{}", it.id);
            let solved = format!("{}\nThe answer is {}.", it.solution, it.gold);
            assert!(Benchmark::Gsm8k.grade(it, &solved).is_correct(), "{}", it.id);
        }
    }

    #[test]
    fn a_malformed_line_is_named() {
        let good = r#"{"question": "1 + 1?", "answer": "1 + 1 = 2\n#### 2"}"#;
        let file = TempFile::new("bad-json", &format!("{good}\n\n{{\"question\": \"oops\"\n"));
        let err = Benchmark::Gsm8k.load(&file.0).expect_err("line 3 is malformed");
        assert!(matches!(err, Error::BenchLine { line: 3, .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&format!("{}:3:", file.0.display())), "{msg}");

        let file = TempFile::new("no-gold", &format!("{good}\n{}\n", r#"{"question": "q", "answer": "just 4"}"#));
        let err = Benchmark::Gsm8k.load(&file.0).expect_err("line 2 has no gold");
        assert!(matches!(err, Error::BenchNoGold { line: 2, .. }), "{err:?}");
        assert!(err.to_string().contains(&format!("{}:2:", file.0.display())), "{err}");

        let file = TempFile::new("ok", &format!("{good}\n\n{good}\n"));
        let items = Benchmark::Gsm8k.load(&file.0).expect("valid file");
        assert_eq!(items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["gsm8k-0", "gsm8k-2"]);
    }

    #[test]
    fn a_missing_file_says_where_gsm8k_is() {
        let err = Benchmark::Gsm8k.load(Path::new("/nonexistent/gsm8k/test.jsonl")).expect_err("missing");
        assert!(matches!(err, Error::BenchMissing { .. }), "{err:?}");
        assert!(err.to_string().contains("../shared/data/gsm8k/test.jsonl"), "{err}");
    }
}
