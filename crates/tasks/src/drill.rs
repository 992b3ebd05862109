//! Drills: documents of the one-step skills solver traces stand on, shown on their own.
//!
//! **Arithmetic drills** list the one-step facts that worked arithmetic stands on.
//!
//! Worked arithmetic ([`crate::arithmetic`]) breaks `19 * 13` into steps, but it stops at
//! facts such as `17 + 7 = 24`, `29 + 8 = 37`, `30 + 27 = 57` or `7 * 8 = 56`. Inside
//! solver traces a small model meets each of them rarely, and that is where it slips: the
//! 4-layer tiny reasoner wrote `12 + 5 = 16` and `8 + 8 = 14` in word problems it had
//! read correctly. A drill document is a list of such facts, one per line, so that a
//! pretraining mixture can show them as often as they are needed: the "reasoning data
//! first" recipe of a small model, applied to its weakest step.

//!
//! **Lookup drills** are a letter table in the cells of the Caesar and substitution traces
//! (`Tl`: cipher letter in capitals, then the plain letter), then random letter strings
//! decoded through it (`tqv: Tl Qi Vn -> lin`). A Caesar trace decodes by looking its
//! letters up in the table it wrote; the 4-layer tiny reasoner built and checked that
//! table without fault, then decoded into plausible English words instead. Strings of
//! random letters leave no word to guess, only the lookup to learn.
//!
//! **Quote drills** are a story, then each of its sentences quoted on a line of its own.
//! Word traces quote the sentence they act on and count traces copy each entry, so every
//! solver trace stands on copying a span of the prompt exactly. The tiny reasoners slip
//! there first: the 4-layer model wrote `"The next day 17 more pears are collected."` for
//! "7 more" before any arithmetic, and the 2-layer default names categories it was not
//! asked about. A quote drill's sentences come from word and count problems, shuffled
//! across problems, so the next sentence cannot be told from the last: only the copy is
//! left to learn.

use rand::seq::SliceRandom;
use rand::Rng as _;

use crate::families::cipher::{lookup, table_cells, table_line};
use crate::{Family, Result, Rng, Split};

/// The prompt of every drill document; the facts are its completion, with no thinking
/// block: a drill is not a problem, and its distinct prompt keeps the model from
/// confusing the two (problem documents always open their completion with `<think>`).
pub const DRILL_PROMPT: &str = "Arithmetic facts, one per line.";

/// `lines` random facts, one per line (`a + b = c`, `a - b = c`, `a * b = c`), drawn
/// from the kinds worked arithmetic leaves as single steps:
///
/// * a one-digit number added to a number up to 99, in either order (`17 + 7`, `6 + 18`),
///   half of them with both at most 20 (the numbers of easy word problems);
/// * a one-digit number taken from a number up to 99 (`23 - 8`);
/// * a tens number plus a two-digit one (`30 + 27`), the sums of place-value parts;
/// * the one-digit times table (`7 * 8`).
pub fn drill(rng: &mut Rng, lines: usize) -> String {
    let mut out = String::new();
    for _ in 0..lines {
        let line = match rng.random_range(0..20) {
            0..=7 => {
                let small = rng.random_range(1..=9);
                let other = if rng.random_bool(0.5) { rng.random_range(0..=20) } else { rng.random_range(0..=99) };
                let (a, b) = if rng.random_bool(0.5) { (other, small) } else { (small, other) };
                format!("{a} + {b} = {}", a + b)
            }
            8..=10 => {
                let b = rng.random_range(1..=9);
                let a = rng.random_range(b..=99);
                format!("{a} - {b} = {}", a - b)
            }
            11..=13 => {
                let tens = 10 * rng.random_range(1..=9);
                let b = rng.random_range(10..=99);
                format!("{tens} + {b} = {}", tens + b)
            }
            _ => {
                let (a, b) = (rng.random_range(2..=9), rng.random_range(2..=9));
                format!("{a} * {b} = {}", a * b)
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.pop();
    out
}

/// The prompt of every lookup drill document (its completion has no thinking block).
pub const LOOKUP_PROMPT: &str = "Look the letters up in the table.";

/// A 26-cell letter table, then `lines` random strings of 3-6 letters decoded through it,
/// one per line. Half the tables are shifts written from a random first pair, walking
/// both alphabets as a Caesar trace does; half are random substitutions, their keys in
/// a random order.
pub fn lookup_drill(rng: &mut Rng, lines: usize) -> String {
    let alphabet: Vec<u8> = (b'a'..=b'z').collect();
    let table: Vec<(u8, u8)> = if rng.random_bool(0.5) {
        let (c0, p0) = (rng.random_range(0..26u8), rng.random_range(0..26u8));
        (0..26u8).map(|i| (b'a' + (c0 + i) % 26, b'a' + (p0 + i) % 26)).collect()
    } else {
        let mut keys = alphabet.clone();
        let mut values = alphabet.clone();
        keys.shuffle(rng);
        values.shuffle(rng);
        keys.into_iter().zip(values).collect()
    };
    let mut out = table_cells(&table);
    for _ in 0..lines {
        let len = rng.random_range(3..=6);
        let word: String = (0..len).map(|_| char::from(alphabet[rng.random_range(0..26)])).collect();
        let plain: Vec<u8> = word.bytes().map(|c| lookup(&table, c)).collect();
        out.push('\n');
        out.push_str(&table_line(&word, &plain));
    }
    out
}

/// The first line of every quote drill's prompt; the story follows on the next line.
pub const QUOTE_PROMPT: &str = "Quote each sentence, in order.";

/// Story length a quote drill stops drawing at; with its quotes and instruction the
/// document stays under 768 bytes, the default pretraining row.
const QUOTE_STORY_BYTES: usize = 300;

/// A quote drill, as (prompt, completion): the prompt is [`QUOTE_PROMPT`] and a story of
/// training-split word (levels 1-4) and count (levels 1-3) sentences in a random order,
/// about 200-300 bytes; the completion quotes each sentence in story order, one per line,
/// as word traces quote them (`"Amir brings 11 more lemons."`).
pub fn quote_drill(rng: &mut Rng) -> Result<(String, String)> {
    let mut sentences: Vec<String> = Vec::new();
    let mut bytes = 0;
    while bytes < QUOTE_STORY_BYTES * 2 / 3 {
        let (family, level) = if rng.random_bool(0.5) {
            (Family::Word, rng.random_range(1..=4))
        } else {
            (Family::Count, rng.random_range(1..=3))
        };
        let problem = family.generate(level, rng.random())?;
        if Split::of_prompt(&problem.prompt) != Split::Train {
            continue;
        }
        for sentence in split_sentences(&problem.prompt) {
            bytes += sentence.len() + 1;
            sentences.push(sentence.to_string());
        }
    }
    sentences.shuffle(rng);
    let mut story = String::new();
    let mut quotes = String::new();
    for sentence in sentences {
        if !story.is_empty() && story.len() + 1 + sentence.len() > QUOTE_STORY_BYTES {
            continue;
        }
        if !story.is_empty() {
            story.push(' ');
            quotes.push('\n');
        }
        story.push_str(&sentence);
        quotes.push_str(&format!("\"{sentence}\""));
    }
    Ok((format!("{QUOTE_PROMPT}\n{story}"), quotes))
}

/// The sentences of a problem statement: each ends at a `.` or `?` (problem statements
/// use neither inside a sentence).
fn split_sentences(text: &str) -> Vec<&str> {
    text.split_inclusive(['.', '?']).map(str::trim).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_fact_is_true_and_drills_are_seeded() {
        let mut rng = Rng::seed_from_u64(3);
        let text = drill(&mut rng, 2000);
        assert_eq!(text.lines().count(), 2000);
        let mut ops = std::collections::BTreeSet::new();
        for line in text.lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            let [a, op, b, "=", c] = parts[..] else { panic!("malformed fact {line:?}") };
            let number = |t: &str| t.parse::<i64>().unwrap_or_else(|_| panic!("{t:?} in {line:?} is not a number"));
            let (a, b, c) = (number(a), number(b), number(c));
            let want = match op {
                "+" => a + b,
                "-" => a - b,
                "*" => a * b,
                _ => panic!("unknown operator in {line:?}"),
            };
            assert_eq!(c, want, "{line}");
            assert!(c >= 0, "{line}");
            ops.insert(op);
        }
        assert_eq!(ops.len(), 3, "all three operators appear");
        assert_eq!(drill(&mut Rng::seed_from_u64(3), 50), drill(&mut Rng::seed_from_u64(3), 50));
    }

    /// Every lookup agrees with the table on the first line; the table maps each letter
    /// once; capitals appear only as keys; drills are seeded.
    #[test]
    fn every_lookup_reads_the_table() {
        for seed in 0..40 {
            let text = lookup_drill(&mut Rng::seed_from_u64(seed), 12);
            let mut lines = text.lines();
            let table: std::collections::BTreeMap<char, char> = lines
                .next()
                .expect("a table line")
                .split(' ')
                .map(|cell| {
                    let mut c = cell.chars();
                    let (key, value) = (c.next().expect("key"), c.next().expect("value"));
                    assert!(key.is_ascii_uppercase() && value.is_ascii_lowercase() && c.next().is_none(), "{cell}");
                    (key.to_ascii_lowercase(), value)
                })
                .collect();
            assert_eq!(table.len(), 26, "{text}");
            let rest: Vec<&str> = lines.collect();
            assert_eq!(rest.len(), 12);
            for line in rest {
                let (word, tail) = line.split_once(": ").expect("word: cells -> plain");
                let (cells, plain) = tail.split_once(" -> ").expect("cells -> plain");
                let want: String = word.chars().map(|c| table[&c]).collect();
                assert_eq!(plain, want, "{line} against the table");
                assert!(cells.split(' ').all(|cell| table[&cell.chars().next().expect("key").to_ascii_lowercase()]
                    == cell.chars().nth(1).expect("value")));
                assert!(!word.chars().chain(plain.chars()).any(|c| c.is_ascii_uppercase()), "{line}");
            }
        }
        let seeded = |s| lookup_drill(&mut Rng::seed_from_u64(s), 5);
        assert_eq!(seeded(7), seeded(7));
        assert_ne!(seeded(7), seeded(8));
    }

    /// Every quote is a sentence of the story, in story order, and together they are the
    /// whole story; documents fit a 768-byte row; drills are seeded and mix both families.
    #[test]
    fn every_quote_copies_the_story_in_order() {
        let (mut word, mut count) = (false, false);
        for seed in 0..200 {
            let (prompt, quotes) = quote_drill(&mut Rng::seed_from_u64(seed)).expect("a drill");
            let story = prompt.strip_prefix(&format!("{QUOTE_PROMPT}\n")).expect("the instruction line");
            assert!(story.len() <= QUOTE_STORY_BYTES && story.len() > 60, "{} bytes: {story}", story.len());
            assert!(prompt.len() + quotes.len() < 740, "{prompt}\n{quotes}");
            let unquoted: Vec<&str> = quotes
                .lines()
                .map(|line| line.strip_prefix('"').and_then(|l| l.strip_suffix('"')).expect("a quoted line"))
                .collect();
            assert_eq!(unquoted.join(" "), story, "the quotes, joined, are the story");
            assert!(unquoted.iter().all(|s| s.ends_with('.') || s.ends_with('?')), "{quotes}");
            word |= story.contains(" more ");
            count |= story.contains("How many") && story.contains(", and ");
        }
        assert!(word && count, "both families appear");
        let seeded = |s| quote_drill(&mut Rng::seed_from_u64(s)).expect("a drill");
        assert_eq!(seeded(7), seeded(7));
        assert_ne!(seeded(7), seeded(8));
    }

    #[test]
    fn sentences_split_at_full_stops_and_questions() {
        assert_eq!(
            split_sentences("Ava has 12 buttons. Ava finds 14 more buttons. How many buttons does Ava have now?"),
            ["Ava has 12 buttons.", "Ava finds 14 more buttons.", "How many buttons does Ava have now?"]
        );
        assert_eq!(split_sentences("No stop at the end"), ["No stop at the end"]);
    }
}
