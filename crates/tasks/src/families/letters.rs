//! Letters: counting a letter in a word ("How many r's are in strawberry?"), naming the
//! letter at a position ("What is the 4th letter of garden?"), and picking the words that
//! have a given letter at a given position.
//!
//! The solver spells the word out, one position per line, the way a careful person
//! checks a word they cannot "see" letter by letter. This module also owns the embedded
//! word list ([`words_between`], [`random_word`]) that the cipher family shares.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::Task;
use crate::english::NUMBER_WORDS;
use crate::extract::{final_integer, normalize_words};
use crate::{Rng, Trace, Verdict};

/// The embedded word list (SCOWL via Debian wamerican-small): lowercase words of 3 to 10
/// letters, one a line.
const WORDS_TXT: &str = include_str!("../../data/words.txt");

/// The word list sorted by length (alphabetical within a length), and where each length
/// starts.
struct WordList {
    words: Vec<&'static str>,
    /// `start[n]` is the index of the first word with `n` or more letters.
    start: [usize; 12],
}

static WORDS: LazyLock<WordList> = LazyLock::new(|| {
    let mut words: Vec<&'static str> = WORDS_TXT
        .lines()
        .map(str::trim)
        .filter(|w| {
            (3..=10).contains(&w.len())
                && w.bytes().all(|b| b.is_ascii_lowercase())
                // drops `rpm` and the roman numerals (xxv, lxvii), keeping `mix`
                && w.bytes().any(|b| b"aeiouy".contains(&b))
                && (!is_roman_numeral(w) || *w == "mix")
        })
        .collect();
    words.sort_by_key(|w| w.len()); // stable, so alphabetical within a length
    let mut start = [0; 12];
    for (len, s) in start.iter_mut().enumerate() {
        *s = words.partition_point(|w| w.len() < len);
    }
    WordList { words, start }
});

/// Whether `word` is a roman numeral written the standard way (`xvii`, `lxiv`).
fn is_roman_numeral(word: &str) -> bool {
    const DIGITS: [(u32, &str); 13] = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    // Parse greedily by the standard digits, then check nothing is left over.
    let mut rest = word;
    let mut count = 0;
    for (_, digit) in DIGITS {
        while let Some(r) = rest.strip_prefix(digit) {
            rest = r;
            count += 1;
            if count > 15 {
                return false;
            }
        }
    }
    rest.is_empty() && !word.is_empty() && {
        // Standard numerals repeat a one-letter digit at most three times in a row.
        let b = word.as_bytes();
        !b.windows(4).any(|w| w.iter().all(|&c| c == w[0]))
    }
}

/// The words of the embedded list with `lo..=hi` letters (clamped to 3..=10), in a stable
/// order. Shared with the cipher family.
pub(crate) fn words_between(lo: usize, hi: usize) -> &'static [&'static str] {
    let (lo, hi) = (lo.clamp(3, 10), hi.clamp(3, 10));
    if lo > hi {
        return &[];
    }
    let list = &*WORDS;
    &list.words[list.start[lo]..list.start[hi + 1]]
}

/// A uniformly random word with `lo..=hi` letters from the embedded list.
pub(crate) fn random_word(rng: &mut Rng, lo: usize, hi: usize) -> &'static str {
    let words = words_between(lo, hi);
    if words.is_empty() {
        return "word";
    }
    words[rng.random_range(0..words.len())]
}

/// `1st`, `2nd`, `3rd`, `4th`, …, `11th`, `21st`.
pub(crate) fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The letters of `word` joined by hyphens: `g-a-r-d-e-n`.
fn spelled(letters: &[u8]) -> String {
    let mut out = String::with_capacity(letters.len() * 2);
    for (i, &b) in letters.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.push(char::from(b));
    }
    out
}

/// `r's`, the plural of a letter.
fn plural(letter: char) -> String {
    format!("{letter}'s")
}

/// Common letters, most frequent first: where a letter that is *not* in the word is drawn.
const COMMON: &[u8] = b"etaoinshrdlcumwfgypb";

/// Words that answers use as glue ("cat and pan", "none of them"); never candidates, so an
/// answer's glue words can never be mistaken for a listed word.
const FILLER: [&str; 20] = [
    "and", "or", "none", "no", "neither", "nor", "of", "them", "the", "words", "word", "are", "is", "only", "both",
    "these", "those", "match", "matches", "answer",
];

/// A position in a word, counted from the start (1 = first) or from the end (1 = last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The n-th letter from the start (1 is the first letter).
    FromStart(usize),
    /// The n-th letter from the end (1 is the last letter, 2 the second-to-last).
    FromEnd(usize),
}

impl Place {
    /// The 0-based index of this place in a word of `len` letters, if it has one.
    pub fn index(self, len: usize) -> Option<usize> {
        match self {
            Place::FromStart(k) => (1..=len).contains(&k).then(|| k - 1),
            Place::FromEnd(k) => (1..=len).contains(&k).then(|| len - k),
        }
    }

    /// How the place is said: `4th`, `last`, `2nd-to-last`.
    pub fn name(self) -> String {
        match self {
            Place::FromStart(k) => ordinal(k),
            Place::FromEnd(1) => "last".to_string(),
            Place::FromEnd(k) => format!("{}-to-last", ordinal(k)),
        }
    }

    /// The place one step further along (`+1`) or back (`-1`) in its own direction.
    fn step(self, delta: isize) -> Option<Place> {
        let (k, wrap): (usize, fn(usize) -> Place) = match self {
            Place::FromStart(k) => (k, Place::FromStart),
            Place::FromEnd(k) => (k, Place::FromEnd),
        };
        k.checked_add_signed(delta).filter(|&k| k >= 1).map(wrap)
    }

    /// The letters a solver writes out to reach this place: the first `k` letters from the
    /// start, or `ends` and the last `k` letters from the end.
    fn reach(self, word: &[u8]) -> Option<String> {
        let i = self.index(word.len())?;
        Some(match self {
            Place::FromStart(_) => spelled(&word[..=i]),
            Place::FromEnd(_) => format!("ends {}", spelled(&word[i..])),
        })
    }
}

/// The letter of `word` at `place`, if the word is long enough.
fn letter_at(word: &str, place: Place) -> Option<char> {
    place.index(word.len()).and_then(|i| word.as_bytes().get(i)).map(|&b| char::from(b))
}

/// One question about letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Question {
    /// How many times `letter` occurs in `word` (possibly 0).
    Count {
        /// The word (lowercase ASCII).
        word: String,
        /// The letter to count.
        letter: char,
    },
    /// Which letter of `word` is at `place`.
    Position {
        /// The word (lowercase ASCII).
        word: String,
        /// The position asked about.
        place: Place,
    },
    /// Which of `words` have `letter` at `place`.
    Which {
        /// The candidate words, in the order the prompt lists them.
        words: Vec<String>,
        /// The letter looked for.
        letter: char,
        /// The position looked at.
        place: Place,
    },
}

/// A letters problem: one question, in one of a few phrasings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Letters {
    /// What is asked.
    pub question: Question,
    /// Which wording of the prompt is used (0, 1 or 2).
    pub phrasing: u8,
}

impl Letters {
    /// The words of a which-words question that have the letter at the place, in order.
    fn matches(words: &[String], letter: char, place: Place) -> Vec<&str> {
        words.iter().filter(|w| letter_at(w, place) == Some(letter)).map(String::as_str).collect()
    }
}

/// A count question about a word of `lo..=hi` letters. With probability `p_repeat` the
/// word has a letter that occurs twice or more and that letter is asked about; with
/// probability `p_absent` the letter does not occur at all.
fn gen_count(rng: &mut Rng, lo: usize, hi: usize, p_repeat: f64, p_absent: f64) -> Question {
    let want_repeat = rng.random_bool(p_repeat);
    let mut word = random_word(rng, lo, hi);
    let repeated = |w: &str| -> Vec<u8> {
        let mut r: Vec<u8> = w.bytes().filter(|&b| w.bytes().filter(|&c| c == b).count() >= 2).collect();
        r.dedup();
        r
    };
    if want_repeat {
        for _ in 0..500 {
            if !repeated(word).is_empty() {
                break;
            }
            word = random_word(rng, lo, hi);
        }
    }
    let bytes = word.as_bytes();
    let absent: Vec<u8> = COMMON.iter().copied().filter(|b| !bytes.contains(b)).collect();
    let reps = repeated(word);
    let letter = if rng.random_bool(p_absent) && !absent.is_empty() {
        absent[rng.random_range(0..absent.len())]
    } else if want_repeat && !reps.is_empty() {
        reps[rng.random_range(0..reps.len())]
    } else {
        bytes[rng.random_range(0..bytes.len())]
    };
    Question::Count { word: word.to_string(), letter: char::from(letter) }
}

/// A position question about a word of `lo..=hi` letters, counted from the start, or from
/// the end (up to `from_end_max` back) when `from_end_max > 0`.
fn gen_position(rng: &mut Rng, lo: usize, hi: usize, from_end_max: usize) -> Question {
    let word = random_word(rng, lo, hi);
    let len = word.len();
    let place = if from_end_max > 0 {
        Place::FromEnd(rng.random_range(1..=from_end_max.min(len)))
    } else {
        Place::FromStart(rng.random_range(1..=len))
    };
    Question::Position { word: word.to_string(), place }
}

/// A which-words question: `n` distinct words of `lo..=hi` letters, each long enough for
/// `place`; some (sometimes none, sometimes all) have the letter there.
fn gen_which(rng: &mut Rng, n: usize, lo: usize, hi: usize, place: Place) -> Question {
    let usable = |w: &str| place.index(w.len()).is_some() && !FILLER.contains(&w);
    let mut anchor = random_word(rng, lo, hi);
    for _ in 0..100 {
        if usable(anchor) {
            break;
        }
        anchor = random_word(rng, lo, hi);
    }
    let letter = letter_at(anchor, place).unwrap_or('e');
    let matching = match rng.random_range(0..20) {
        0 | 1 => 0,
        2 => n,
        _ => rng.random_range(1..n.max(2)),
    };
    let mut words: Vec<&str> = Vec::with_capacity(n);
    if matching > 0 && usable(anchor) {
        words.push(anchor);
    }
    let mut found = words.len();
    for _ in 0..20_000 {
        if found >= matching {
            break;
        }
        let w = random_word(rng, lo, hi);
        if usable(w) && letter_at(w, place) == Some(letter) && !words.contains(&w) {
            words.push(w);
            found += 1;
        }
    }
    // The others: about half of them decoys that hold the letter somewhere else.
    for _ in 0..20_000 {
        if words.len() >= n {
            break;
        }
        let want_decoy = rng.random_bool(0.5);
        let mut w = random_word(rng, lo, hi);
        for _ in 0..50 {
            if !want_decoy || w.contains(letter) {
                break;
            }
            w = random_word(rng, lo, hi);
        }
        if usable(w) && letter_at(w, place) != Some(letter) && !words.contains(&w) {
            words.push(w);
        }
    }
    words.shuffle(rng);
    Question::Which { words: words.into_iter().map(str::to_string).collect(), letter, place }
}

/// Reads a count: the last integer, else the last number word (`three`, `zero`, `none`).
/// `no` means 0 only where it speaks of letters (`no r's`, `no letters`, a bare `no`), so
/// `no idea` is not read as a count.
fn parse_count(answer: &str) -> Option<i64> {
    if let Some(n) = final_integer(answer) {
        return Some(n);
    }
    let words: Vec<String> = normalize_words(answer).split(' ').map(str::to_string).collect();
    (0..words.len()).rev().find_map(|i| match words[i].as_str() {
        "none" => Some(0),
        "no" => match words.get(i + 1).map(String::as_str) {
            None | Some("letter" | "letters" | "times") => Some(0),
            Some(next) if next.chars().count() == 1 => Some(0),
            _ => None,
        },
        w => NUMBER_WORDS.iter().position(|n| *n == w).and_then(|i| i64::try_from(i).ok()),
    })
}

/// Reads a single letter: the last one-letter word of the answer (`d`, `'D'`,
/// `The 4th letter is d`), lowercased.
fn parse_letter(answer: &str) -> Option<char> {
    answer
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|t| t.trim_matches('\''))
        .filter_map(|t| {
            let mut chars = t.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_alphabetic() => Some(c),
                _ => None,
            }
        })
        .next_back()
        .map(|c| c.to_ascii_lowercase())
}

/// Reads a which-words answer as a set of listed words, or says why it cannot be read:
/// `Err((true, why))` for an unreadable answer, `Err((false, why))` for a wrong one.
fn parse_words(answer: &str, candidates: &[String]) -> Result<BTreeSet<String>, (bool, String)> {
    let mut set = BTreeSet::new();
    let mut said_none = false;
    for token in answer.split(|c: char| !c.is_alphabetic()).filter(|t| !t.is_empty()) {
        let token = token.to_lowercase();
        if candidates.contains(&token) {
            set.insert(token);
        } else if FILLER.contains(&token.as_str()) {
            said_none |= matches!(token.as_str(), "none" | "no" | "neither");
        } else {
            return Err((false, format!("`{}` is not one of the listed words", clip(&token))));
        }
    }
    if set.is_empty() && !said_none {
        return Err((true, "no listed word and no `none` in the answer".to_string()));
    }
    Ok(set)
}

/// At most 60 characters of `text`, for reasons.
fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Writes the spelling line of `word`, sometimes with a slip (a doubled letter dropped, or
/// two neighbours swapped) that is noticed and fixed.
fn spell_line(trace: &mut Trace<'_>, word: &str) {
    let bytes = word.as_bytes();
    let right = format!("{word} = {} ({} letters)", spelled(bytes), bytes.len());
    let doubled: Vec<usize> = (1..bytes.len()).filter(|&i| bytes[i] == bytes[i - 1]).collect();
    let swappable: Vec<usize> = (1..bytes.len()).filter(|&i| bytes[i] != bytes[i - 1]).collect();
    if (doubled.is_empty() && swappable.is_empty()) || !trace.slip() {
        trace.line(right);
        return;
    }
    if !doubled.is_empty() && (swappable.is_empty() || trace.rng().random_bool(0.5)) {
        let i = doubled[trace.rng().random_range(0..doubled.len())];
        let mut wrong = bytes.to_vec();
        wrong.remove(i);
        let pair = spelled(&bytes[i - 1..=i]);
        trace.mistake(
            format!("{word} = {} ({} letters)", spelled(&wrong), wrong.len()),
            format!("I dropped a letter: \"{word}\" has {pair}, so {} letters.", bytes.len()),
            right,
        );
    } else {
        let i = swappable[trace.rng().random_range(0..swappable.len())];
        let mut wrong = bytes.to_vec();
        wrong.swap(i - 1, i);
        trace.mistake(
            format!("{word} = {} ({} letters)", spelled(&wrong), wrong.len()),
            format!("I swapped two letters: it is {}, not {}.", spelled(&bytes[i - 1..=i]), spelled(&wrong[i - 1..=i])),
            right,
        );
    }
}

/// The count trace: spell, then go letter by letter keeping a running count.
fn solve_count(trace: &mut Trace<'_>, word: &str, letter: char) -> String {
    spell_line(trace, word);
    trace.line(format!("Go letter by letter, counting {}:", plural(letter)));
    let mut count = 0usize;
    let mut seen: Vec<usize> = Vec::new();
    for (i, c) in word.chars().enumerate() {
        let pos = i + 1;
        if c != letter {
            trace.line(format!("{pos} {c}"));
            continue;
        }
        count += 1;
        seen.push(pos);
        let right = format!("{pos} {c}, count {count}");
        if trace.slip() {
            if count >= 2 && trace.rng().random_bool(0.5) {
                let list = seen.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                trace.mistake(
                    format!("{pos} {c}, count {}", count + 1),
                    format!("the {} so far are at {list}: that is {count}, not {}.", plural(letter), count + 1),
                    right,
                );
            } else {
                trace.mistake(
                    format!("{pos} {c}"),
                    format!("position {pos} is also {letter}, so the count is {count}."),
                    right,
                );
            }
        } else {
            trace.line(right);
        }
    }
    if count == 1 {
        trace.line(format!("So there is 1 {letter}."));
    } else {
        trace.line(format!("So there are {count} {}.", plural(letter)));
    }
    count.to_string()
}

/// The position trace: spell, count up to the place (or back from the end), read it off.
fn solve_position(trace: &mut Trace<'_>, word: &str, place: Place) -> String {
    spell_line(trace, word);
    let bytes = word.as_bytes();
    let Some(idx) = place.index(bytes.len()) else {
        trace.line(format!("\"{word}\" has no {} letter.", place.name()));
        return "none".to_string();
    };
    match place {
        Place::FromStart(k) => {
            trace.line(format!("Count to the {}:", place.name()));
            for (i, &b) in bytes.iter().enumerate().take(k) {
                trace.line(format!("{} {}", i + 1, char::from(b)));
            }
        }
        Place::FromEnd(k) => {
            trace.line("Count back from the end:");
            for j in 1..=k {
                let b = bytes[bytes.len() - j];
                trace.line(format!("{}: {}", Place::FromEnd(j).name(), char::from(b)));
            }
        }
    }
    let right_letter = char::from(bytes[idx]);
    let right = format!("The {} letter is {right_letter}.", place.name());
    let neighbours: Vec<(Place, char)> = [place.step(-1), place.step(1)]
        .into_iter()
        .flatten()
        .filter_map(|p| letter_at(word, p).map(|c| (p, c)))
        .filter(|&(_, c)| c != right_letter)
        .collect();
    if !neighbours.is_empty() && trace.slip() {
        let (p, c) = neighbours[trace.rng().random_range(0..neighbours.len())];
        trace.mistake(
            format!("The {} letter is {c}.", place.name()),
            format!("{c} is the {} letter; the {} is {right_letter}.", p.name(), place.name()),
            right,
        );
    } else {
        trace.line(right);
    }
    right_letter.to_string()
}

/// The which-words trace: one line per word with its letter at the place and yes/no.
fn solve_which(trace: &mut Trace<'_>, words: &[String], letter: char, place: Place) -> String {
    trace.line(format!("The {} letter of each word:", place.name()));
    for word in words {
        let bytes = word.as_bytes();
        let line = |p: Place| -> Option<String> {
            let c = letter_at(word, p)?;
            let verdict = if c == letter { "yes" } else { "no" };
            Some(format!("{word}: {} -> {c}, {verdict}", p.reach(bytes)?))
        };
        let Some(right) = line(place) else {
            trace.line(format!("{word}: too short, no"));
            continue;
        };
        let right_letter = letter_at(word, place).unwrap_or(letter);
        let neighbours: Vec<Place> = [place.step(-1), place.step(1)]
            .into_iter()
            .flatten()
            .filter(|&p| letter_at(word, p).is_some_and(|c| c != right_letter))
            .collect();
        if !neighbours.is_empty() && trace.slip() {
            let p = neighbours[trace.rng().random_range(0..neighbours.len())];
            let wrong = line(p).unwrap_or_default();
            trace.mistake(
                wrong,
                format!("that is the {} letter; the {} is {right_letter}.", p.name(), place.name()),
                right,
            );
        } else {
            trace.line(right);
        }
    }
    let found = Letters::matches(words, letter, place);
    if found.is_empty() {
        trace.line(format!("No word has '{letter}' as its {} letter.", place.name()));
        "none".to_string()
    } else {
        let list = found.join(", ");
        trace.line(format!("Words with '{letter}' as their {} letter: {list}.", place.name()));
        list
    }
}

impl Task for Letters {
    const LEVELS: u8 = 5;
    const ANSWER_FORMAT: &'static str = "Counting: an integer (`3`; `3 r's` and `There are 3.` are read too). \
        Position: a single letter (`d`; quotes, case and `The 4th letter is d` are tolerated). \
        Which words: the matching words separated by commas, in any order, case-insensitive (`cat, pan`), \
        or `none` when no word matches; an extra or a missing word is wrong.";

    fn level_description(difficulty: u8) -> String {
        match difficulty {
            1 => "count a letter or name the letter at a position, 3-6 letter words",
            2 => "count a letter (often a repeated one) or name a letter, 7-10 letter words",
            3 => "which of 3-4 short words have a letter at a position",
            4 => "which of 5-6 words of 5-10 letters have a letter at a position",
            5 => "positions counted from the end: one 7-10 letter word, or 5-6 candidate words",
            _ => "no such level",
        }
        .to_string()
    }

    fn generate(rng: &mut Rng, difficulty: u8) -> Self {
        let question = match difficulty {
            0 | 1 => {
                if rng.random_bool(0.5) {
                    gen_count(rng, 3, 6, 0.3, 0.15)
                } else {
                    gen_position(rng, 3, 6, 0)
                }
            }
            2 => {
                if rng.random_bool(0.5) {
                    gen_count(rng, 7, 10, 0.75, 0.1)
                } else {
                    gen_position(rng, 7, 10, 0)
                }
            }
            3 => {
                let n = rng.random_range(3..=4);
                let place = Place::FromStart(rng.random_range(1..=3));
                gen_which(rng, n, 3, 6, place)
            }
            4 => {
                let n = rng.random_range(5..=6);
                let place = Place::FromStart(rng.random_range(1..=5));
                gen_which(rng, n, 5, 10, place)
            }
            _ => {
                if rng.random_bool(0.5) {
                    gen_position(rng, 7, 10, 4)
                } else {
                    let n = rng.random_range(5..=6);
                    let place = Place::FromEnd(rng.random_range(1..=3));
                    gen_which(rng, n, 5, 10, place)
                }
            }
        };
        let phrasing = rng.random_range(0..3);
        Letters { question, phrasing }
    }

    fn prompt(&self) -> String {
        match &self.question {
            Question::Count { word, letter } => match self.phrasing {
                0 => format!("How many {} are in \"{word}\"?", plural(*letter)),
                1 => format!("How many times does the letter '{letter}' appear in \"{word}\"?"),
                _ => format!("Count the {} in the word \"{word}\".", plural(*letter)),
            },
            Question::Position { word, place } => match self.phrasing {
                0 => format!("What is the {} letter of \"{word}\"?", place.name()),
                1 => format!("Which letter is {} in the word \"{word}\"?", place.name()),
                _ => format!("Name the {} letter of the word \"{word}\".", place.name()),
            },
            Question::Which { words, letter, place } => {
                let list = words.join(", ");
                match self.phrasing {
                    0 => format!(
                        "Which of these words have '{letter}' as their {} letter: {list}? List them, or say none.",
                        place.name()
                    ),
                    1 => format!(
                        "Words: {list}. Which have '{letter}' as the {} letter? List them, or say none.",
                        place.name()
                    ),
                    _ => format!("List the words whose {} letter is '{letter}' (or say none): {list}.", place.name()),
                }
            }
        }
    }

    fn answer(&self) -> String {
        match &self.question {
            Question::Count { word, letter } => word.chars().filter(|c| c == letter).count().to_string(),
            Question::Position { word, place } => letter_at(word, *place).map_or("none".to_string(), String::from),
            Question::Which { words, letter, place } => {
                let found = Letters::matches(words, *letter, *place);
                if found.is_empty() {
                    "none".to_string()
                } else {
                    found.join(", ")
                }
            }
        }
    }

    fn check(&self, answer: &str) -> Verdict {
        match &self.question {
            Question::Count { word, letter } => {
                let want = word.chars().filter(|c| c == letter).count();
                match parse_count(answer) {
                    None => Verdict::unparsable(format!("no count in \"{}\"", clip(answer))),
                    Some(got) => Verdict::judge(
                        i64::try_from(want).is_ok_and(|w| w == got),
                        format!("expected {want}, read {got}"),
                    ),
                }
            }
            Question::Position { word, place } => {
                let want = letter_at(word, *place);
                match parse_letter(answer) {
                    None => Verdict::unparsable(format!("no single letter in \"{}\"", clip(answer))),
                    Some(got) => Verdict::judge(
                        want == Some(got),
                        format!("expected {}, read {got}", want.map_or("none".to_string(), String::from)),
                    ),
                }
            }
            Question::Which { words, letter, place } => {
                let want: BTreeSet<String> =
                    Letters::matches(words, *letter, *place).into_iter().map(str::to_string).collect();
                let show = |s: &BTreeSet<String>| {
                    if s.is_empty() {
                        "none".to_string()
                    } else {
                        s.iter().cloned().collect::<Vec<_>>().join(", ")
                    }
                };
                match parse_words(answer, words) {
                    Err((true, why)) => Verdict::unparsable(why),
                    Err((false, why)) => Verdict::wrong(why),
                    Ok(got) => Verdict::judge(got == want, format!("expected {}, read {}", show(&want), show(&got))),
                }
            }
        }
    }

    fn canonical(&self, answer: &str) -> Option<String> {
        match &self.question {
            Question::Count { .. } => parse_count(answer).map(|n| n.to_string()),
            Question::Position { .. } => parse_letter(answer).map(String::from),
            Question::Which { words, .. } => {
                let set = parse_words(answer, words).ok()?;
                Some(if set.is_empty() { "none".to_string() } else { set.into_iter().collect::<Vec<_>>().join(",") })
            }
        }
    }

    fn solve(&self, trace: &mut Trace<'_>) -> String {
        match &self.question {
            Question::Count { word, letter } => solve_count(trace, word, *letter),
            Question::Position { word, place } => solve_position(trace, word, *place),
            Question::Which { words, letter, place } => solve_which(trace, words, *letter, *place),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Family;
    use rand::SeedableRng;

    fn problem(level: u8, seed: u64) -> (crate::Problem, Letters) {
        let p = Family::Letters.generate(level, seed).expect("a valid level");
        let crate::Spec::Letters(l) = p.spec.clone() else { panic!("not a letters problem") };
        (p, l)
    }

    fn spec(question: Question) -> Letters {
        Letters { question, phrasing: 0 }
    }

    #[test]
    fn word_list_is_loaded_and_indexed_by_length() {
        assert!(words_between(3, 10).len() > 30_000);
        assert!(words_between(3, 3).iter().all(|w| w.len() == 3));
        assert!(words_between(7, 10).iter().all(|w| (7..=10).contains(&w.len())));
        assert!(words_between(3, 3).contains(&"cat"));
        assert!(!words_between(3, 3).contains(&"xxx"));
        for w in ["xvii", "lxvii", "clii", "iii", "xcix", "xxxviii"] {
            assert!(is_roman_numeral(w) && !words_between(3, 10).contains(&w), "{w}");
        }
        for w in ["civic", "did", "dim", "livid", "mild", "mimic", "vivid", "mill", "ill"] {
            assert!(!is_roman_numeral(w) && words_between(3, 10).contains(&w), "{w}");
        }
        assert!(words_between(9, 4).is_empty());
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 10, 11, 12, 13, 21, 22].into_iter().map(ordinal).collect();
        assert_eq!(got, ["1st", "2nd", "3rd", "4th", "10th", "11th", "12th", "13th", "21st", "22nd"]);
        assert_eq!(Place::FromEnd(1).name(), "last");
        assert_eq!(Place::FromEnd(2).name(), "2nd-to-last");
        assert_eq!(Place::FromEnd(2).index(6), Some(4));
        assert_eq!(Place::FromStart(7).index(6), None);
    }

    #[test]
    fn solver_is_right_at_every_level() {
        for level in 1..=Letters::LEVELS {
            for seed in 0..60 {
                let (p, _) = problem(level, seed);
                let mut rng = Rng::seed_from_u64(seed);
                let s = p.solve(&mut rng, 0.0);
                assert_eq!(s.mistakes, 0);
                assert_eq!(s.answer, p.answer, "{}", p.id);
                let v = p.verify(&s.completion());
                assert!(v.is_correct(), "{}: {} -> {v:?}\n{}", p.id, p.prompt, s.thinking);
            }
        }
    }

    #[test]
    fn mistakes_are_corrected_before_the_answer() {
        for level in 1..=Letters::LEVELS {
            for seed in 0..50 {
                let (p, _) = problem(level, seed);
                let mut rng = Rng::seed_from_u64(seed);
                let s = p.solve(&mut rng, 1.0);
                assert!(s.mistakes > 0, "{}: no mistake\n{}", p.id, s.thinking);
                assert!(p.verify(&s.completion()).is_correct(), "{}\n{}", p.id, s.thinking);
                let cues = crate::trace::CORRECTION_CUES;
                let corrections = s.thinking.lines().filter(|l| cues.iter().any(|c| l.starts_with(c))).count();
                assert_eq!(corrections as u32, s.mistakes);
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        for level in 1..=Letters::LEVELS {
            for seed in 0..20 {
                assert_eq!(problem(level, seed).0, problem(level, seed).0);
            }
        }
        let prompts: BTreeSet<String> = (0..50).map(|s| problem(1, s).0.prompt).collect();
        assert!(prompts.len() > 40, "too many repeats");
    }

    #[test]
    fn levels_ask_what_they_say() {
        for seed in 0..50 {
            match problem(1, seed).1.question {
                Question::Count { word, .. } | Question::Position { word, .. } => {
                    assert!((3..=6).contains(&word.len()))
                }
                q => panic!("level 1 asked {q:?}"),
            }
            match problem(2, seed).1.question {
                Question::Count { word, .. } | Question::Position { word, .. } => {
                    assert!((7..=10).contains(&word.len()))
                }
                q => panic!("level 2 asked {q:?}"),
            }
            let Question::Which { words, .. } = problem(3, seed).1.question else { panic!("level 3") };
            assert!((3..=4).contains(&words.len()), "{words:?}");
            let Question::Which { words, .. } = problem(4, seed).1.question else { panic!("level 4") };
            assert!((5..=6).contains(&words.len()), "{words:?}");
            match problem(5, seed).1.question {
                Question::Position { place: Place::FromEnd(_), .. }
                | Question::Which { place: Place::FromEnd(_), .. } => {}
                q => panic!("level 5 asked {q:?}"),
            }
        }
        // counts are not all trivial: repeated letters and zeros both occur
        let counts: Vec<usize> = (0..200)
            .filter_map(|s| match problem(2, s).1.question {
                Question::Count { word, letter } => Some(word.chars().filter(|&c| c == letter).count()),
                _ => None,
            })
            .collect();
        assert!(counts.iter().filter(|&&c| c >= 2).count() > counts.len() / 2, "{counts:?}");
        assert!(counts.contains(&0));
        // which-words answers vary: some none, mostly a few
        let answers: Vec<String> = (0..200).map(|s| problem(4, s).0.answer).collect();
        assert!(answers.iter().any(|a| a == "none"));
        assert!(answers.iter().filter(|a| a.contains(',')).count() > 50);
    }

    #[test]
    fn count_answers() {
        let l = spec(Question::Count { word: "strawberry".into(), letter: 'r' });
        assert_eq!(l.answer(), "3");
        assert_eq!(l.prompt(), "How many r's are in \"strawberry\"?");
        for ok in ["3", "3 r's", "There are 3.", "three", "**3**"] {
            assert!(l.check(ok).is_correct(), "{ok}");
        }
        for bad in ["2", "4", "30", "two"] {
            assert_eq!(l.check(bad).outcome, crate::Outcome::Wrong, "{bad}");
        }
        assert_eq!(l.check("lots").outcome, crate::Outcome::Unparsable);
        let zero = spec(Question::Count { word: "garden".into(), letter: 'z' });
        assert!(zero.check("0").is_correct());
        assert!(zero.check("There are no z's").is_correct());
        assert!(zero.check("none").is_correct());
        assert!(zero.check("zero").is_correct());
        assert!(!zero.check("1").is_correct());
        // Regression: "no idea" was read as a count of 0 and graded correct.
        assert_eq!(zero.check("no idea").outcome, crate::Outcome::Unparsable);
    }

    #[test]
    fn position_answers() {
        let l = spec(Question::Position { word: "garden".into(), place: Place::FromStart(4) });
        assert_eq!(l.prompt(), "What is the 4th letter of \"garden\"?");
        assert_eq!(l.answer(), "d");
        for ok in ["d", "D", "'d'", "\"D\"", "The 4th letter is d", "The answer is: D", "It's d."] {
            assert!(l.check(ok).is_correct(), "{ok}");
        }
        for bad in ["r", "e", "The 4th letter is e"] {
            assert_eq!(l.check(bad).outcome, crate::Outcome::Wrong, "{bad}");
        }
        assert_eq!(l.check("4").outcome, crate::Outcome::Unparsable);
        let end = spec(Question::Position { word: "garden".into(), place: Place::FromEnd(2) });
        assert_eq!(end.prompt(), "What is the 2nd-to-last letter of \"garden\"?");
        assert!(end.check("e").is_correct());
        assert!(!end.check("n").is_correct());
    }

    #[test]
    fn which_answers() {
        let words = ["cat", "dog", "pan", "hen"].map(String::from).to_vec();
        let l = spec(Question::Which { words: words.clone(), letter: 'a', place: Place::FromStart(2) });
        assert_eq!(l.answer(), "cat, pan");
        for ok in ["cat, pan", "pan, cat", "Cat, Pan.", "cat and pan", "**cat, pan**", "cat pan"] {
            assert!(l.check(ok).is_correct(), "{ok}");
        }
        for bad in ["cat", "pan", "cat, pan, hen", "cat, pen", "none", "cat, dog, pan"] {
            assert_eq!(l.check(bad).outcome, crate::Outcome::Wrong, "{bad}");
        }
        let none = spec(Question::Which { words, letter: 'z', place: Place::FromStart(2) });
        assert_eq!(none.answer(), "none");
        assert!(none.check("none").is_correct());
        assert!(none.check("None.").is_correct());
        assert!(!none.check("cat").is_correct());
        assert_eq!(none.check("???").outcome, crate::Outcome::Unparsable);
    }

    #[test]
    fn perturbed_reference_answers_are_rejected() {
        for level in 1..=Letters::LEVELS {
            for seed in 0..50 {
                let (p, l) = problem(level, seed);
                let wrong: Vec<String> = match &l.question {
                    Question::Count { .. } => {
                        let n: i64 = p.answer.parse().expect("a count");
                        vec![(n + 1).to_string(), format!("{} r's", n + 2)]
                    }
                    Question::Position { .. } => {
                        let c = p.answer.chars().next().expect("a letter");
                        let other = if c == 'z' { 'a' } else { char::from(c as u8 + 1) };
                        vec![other.to_string(), format!("The letter is {other}")]
                    }
                    Question::Which { words, .. } => {
                        let right: Vec<&str> = if p.answer == "none" { vec![] } else { p.answer.split(", ").collect() };
                        let mut out = Vec::new();
                        if let Some(extra) = words.iter().find(|w| !right.contains(&w.as_str())) {
                            let mut more = right.clone();
                            more.push(extra);
                            out.push(more.join(", "));
                        }
                        if !right.is_empty() {
                            out.push(if right.len() == 1 { "none".to_string() } else { right[1..].join(", ") });
                        }
                        out
                    }
                };
                for w in wrong {
                    assert!(!p.verify(&w).is_correct(), "{}: accepted {w:?} for {}", p.id, p.answer);
                }
            }
        }
    }

    #[test]
    fn check_never_panics() {
        let (_, count) = problem(1, 3);
        let (_, which) = problem(4, 3);
        let huge = "é1,".repeat(100_000);
        for l in [&count, &which, &spec(Question::Position { word: "garden".into(), place: Place::FromStart(1) })] {
            for text in ["", " ", "\u{0}", "ÄÖÜ ß", "🍓🍓🍓", "-", "'", "9999999999999999999999", huge.as_str()]
            {
                let _ = l.check(text);
            }
        }
    }
}
