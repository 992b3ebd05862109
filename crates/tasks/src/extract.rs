//! Reading the answer out of a completion, tolerant of the spacing, case and wrappers a
//! model plausibly emits.
//!
//! A completion is `<think>` thinking `</think>` answer. Only the text after the *last*
//! `</think>` is the answer; a thinking block that is opened and never closed has no
//! answer. Text with no thinking tags at all is taken whole as the answer (so a bare
//! answer such as `203` can be verified from the command line).

/// The tag that opens the thinking block.
pub const THINK_OPEN: &str = "<think>";
/// The tag that closes the thinking block.
pub const THINK_CLOSE: &str = "</think>";

/// The answer part of a completion, trimmed, or why there is none.
pub fn answer_text(completion: &str) -> Result<&str, &'static str> {
    let answer = match completion.rfind(THINK_CLOSE) {
        Some(i) => &completion[i + THINK_CLOSE.len()..],
        None if completion.contains(THINK_OPEN) => {
            return Err("the thinking block was never closed, so there is no answer")
        }
        None => completion,
    };
    let answer = strip_wrappers(answer.trim());
    if answer.is_empty() {
        Err("the answer after </think> is empty")
    } else {
        Ok(answer)
    }
}

/// The thinking part of a completion (between the first `<think>` and the last
/// `</think>`, or to the end when never closed); empty when there is none.
pub fn thinking_text(completion: &str) -> &str {
    let start = completion.find(THINK_OPEN).map_or(0, |i| i + THINK_OPEN.len());
    let end = completion.rfind(THINK_CLOSE).filter(|&e| e >= start).unwrap_or(completion.len());
    if completion.find(THINK_OPEN).is_none() && completion.rfind(THINK_CLOSE).is_none() {
        return "";
    }
    completion[start..end].trim()
}

/// Phrases that open a self-correction or a backtrack in thinking, lower case: the
/// solvers' own correction cues ([`crate::CORRECTION_CUES`]) and the usual words of
/// reasoning models.
pub const SELF_CORRECTION_PHRASES: [&str; 7] =
    ["wait", "hmm, no", "no, ", "let me check", "backtrack", "that's wrong", "actually,"];

/// How many self-corrections a thinking text holds: lines that start with one of
/// [`SELF_CORRECTION_PHRASES`] or restate a value against a wrong one, `… is X, not Y`
/// (", not " after an " is "; "a couch: furniture, not an animal" is a plain step). A
/// simple, documented detector: one count per line at most.
pub fn self_corrections(thinking: &str) -> usize {
    thinking
        .lines()
        .filter(|line| {
            let line = line.trim().to_lowercase();
            let starts = SELF_CORRECTION_PHRASES.iter().any(|p| line.starts_with(p));
            let restated = line.find(", not ").is_some_and(|at| line[..at].contains(" is "));
            starts || restated
        })
        .count()
}

/// Removes the wrappers models put around answers: `Answer:`, `The answer is`,
/// `\boxed{…}`, `**…**`, a trailing full stop.
pub fn strip_wrappers(text: &str) -> &str {
    let mut s = text.trim();
    loop {
        let before = s;
        for prefix in ["final answer:", "final answer is", "answer:", "the answer is", "answer is", "answer"] {
            if let Some(head) = s.get(..prefix.len()) {
                if head.eq_ignore_ascii_case(prefix) {
                    s = s[prefix.len()..].trim_start_matches([':', ' ', '\t', '\n']);
                }
            }
        }
        if let Some(inner) = s.strip_prefix("\\boxed{").and_then(|r| r.strip_suffix('}')) {
            s = inner;
        }
        if let Some(inner) = s.strip_prefix("**").and_then(|r| r.strip_suffix("**")) {
            s = inner;
        }
        s = s.trim().trim_end_matches('.').trim();
        if s == before {
            return s;
        }
    }
}

/// Every number written in `text`, in order, as a plain signed decimal (`-1234.5`, `7`):
/// thousands separators (`1,203`) joined, a decimal part kept. A `-` or `−` directly before
/// the digits makes it negative unless it follows a letter or digit (`5-8` is 5 and 8,
/// `x-3` is 3).
pub fn numerals(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let before = &text[..i];
        let sign = before.strip_suffix('-').or_else(|| before.strip_suffix('−'));
        let negative = sign.is_some_and(|rest| !rest.chars().next_back().is_some_and(char::is_alphanumeric));
        let mut number = String::from(if negative { "-" } else { "" });
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                number.push(char::from(bytes[i]));
                i += 1;
            } else if bytes[i] == b','
                && bytes.get(i + 1..i + 4).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                && !bytes.get(i + 4).is_some_and(u8::is_ascii_digit)
            {
                i += 1; // a thousands separator
            } else {
                break;
            }
        }
        if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            number.push('.');
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                number.push(char::from(bytes[i]));
                i += 1;
            }
        }
        out.push(number);
    }
    out
}

/// All integers written in `text`, in order (see [`numerals`]); numbers with a decimal
/// part, and those too large for `i64`, are skipped.
pub fn integers(text: &str) -> Vec<i64> {
    numerals(text).iter().filter(|n| !n.contains('.')).filter_map(|n| n.parse().ok()).collect()
}

/// The integer answer of a completion's answer text: the last integer written in it.
pub fn final_integer(answer: &str) -> Option<i64> {
    integers(answer).last().copied()
}

/// Lower-cases and collapses every run of non-alphanumeric characters into one space,
/// so `"Think step by step."` and `"think  step by step"` compare equal.
pub fn normalize_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn self_corrections_are_counted_per_line() {
        let text = "19 * 13 = 257\nWait, 19 * 13 is 247, not 257.\n19 * 13 = 247\nNo, wrong\nLet me check that: fine\nnothing here";
        assert_eq!(super::self_corrections(text), 3);
        assert_eq!(super::self_corrections("Start: 3 apples.\nNow 5."), 0);
        assert_eq!(super::self_corrections("a couch: furniture, not an animal, still 2"), 0);
        assert_eq!(super::self_corrections("so r1c4 is 1, not 2."), 1);
        assert_eq!(super::self_corrections("Hmm, no: it is 4.\nBacktrack to row 2."), 2);
    }

    use super::*;

    #[test]
    fn answer_is_after_the_last_close_tag() {
        assert_eq!(answer_text("<think>a</think> no </think> 42"), Ok("42"));
        assert_eq!(answer_text("<think>5 + 5 = 10</think>\nAnswer: 10."), Ok("10"));
        assert!(answer_text("<think>still thinking 42").is_err());
        assert!(answer_text("<think>x</think>   ").is_err());
        assert_eq!(answer_text("  203 "), Ok("203"));
        assert_eq!(answer_text("<think>t</think>The answer is \\boxed{7}"), Ok("7"));
        assert_eq!(answer_text("<think>t</think>**banana**"), Ok("banana"));
    }

    #[test]
    fn thinking_is_between_the_tags() {
        assert_eq!(thinking_text("<think>\nabc\n</think>\n1"), "abc");
        assert_eq!(thinking_text("<think>abc"), "abc");
        assert_eq!(thinking_text("just 7"), "");
    }

    #[test]
    fn integers_handle_signs_separators_and_decimals() {
        assert_eq!(integers("sold 1,203 kg, then -5 and 7"), vec![1203, -5, 7]);
        assert_eq!(integers("12.5 then 3"), vec![3]);
        assert_eq!(integers("x-3 is not negative"), vec![3]);
        assert_eq!(integers("99999999999999999999999 and 4"), vec![4]);
        assert_eq!(integers("1,2,3"), vec![1, 2, 3]);
        assert_eq!(final_integer("The total is 203 kg."), Some(203));
        assert_eq!(final_integer("none"), None);
    }

    #[test]
    fn words_normalize() {
        assert_eq!(normalize_words("  Think step, by STEP. "), "think step by step");
    }
}
