//! Ciphers: decode a message given one worked example (plaintext and its ciphertext).
//!
//! Three ciphers, all on lowercase words separated by spaces:
//!
//! * **Caesar**: every letter moves the same number of places along the alphabet.
//! * **Substitution**: a fixed random permutation of the alphabet; the example always
//!   contains every letter the message needs, so the table can be read off it.
//! * **Pair average** (the cipher of the OpenAI o1 demo): each letter is written as two
//!   letters whose alphabet positions (a=1 … z=26) average to it, so `oy` (15, 25) is
//!   `t` (20). The two letters are chosen at random, so only the rule is fixed.
//!
//! The solvers work from the example. Caesar: the first letter pair fixes the whole table,
//! which the trace writes out by walking both alphabets, checks on the example and
//! decodes through. Substitution: compare word lengths, reject a shift, read the table
//! off the example and decode through it. Pair average: compare word lengths, reject a
//! shift of the first letters, find and check the averaging rule, then decode pair by pair.

use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::letters::{random_word, words_between};
use super::Task;
use crate::extract::normalize_words;
use crate::{Rng, Trace, Verdict};

/// Which cipher a problem uses, with its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// Every letter moves `shift` places forward (1 to 25), wrapping from z to a.
    Caesar {
        /// How many places each plaintext letter moves forward to give the ciphertext.
        shift: u8,
    },
    /// Every letter is replaced through a fixed permutation of the alphabet.
    Substitution {
        /// 26 lowercase letters: the ciphertext letter for a, for b, …, for z.
        key: String,
    },
    /// Every letter is written as two letters whose alphabet positions average to it.
    PairAverage,
}

/// A cipher problem: the example pair and the message, in both forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cipher {
    /// The cipher and its key.
    pub kind: Kind,
    /// The example's plaintext (lowercase words separated by single spaces).
    pub example_plain: String,
    /// The example's ciphertext.
    pub example_cipher: String,
    /// The message to decode, as shown.
    pub message_cipher: String,
    /// The message's plaintext: the reference answer.
    pub message_plain: String,
    /// Which wording of the prompt is used (0 or 1).
    pub phrasing: u8,
}

/// The alphabet position of a lowercase letter: a=1 … z=26.
fn val(b: u8) -> i32 {
    i32::from(b) - i32::from(b'a') + 1
}

/// The letter at alphabet position `v` (1 to 26), or `?` outside that range.
fn chr(v: i32) -> char {
    u8::try_from(v - 1).ok().filter(|&i| i < 26).map_or('?', |i| char::from(b'a' + i))
}

/// Applies `f` to every letter of every word of `text`, keeping single spaces between words.
fn map_words(text: &str, mut f: impl FnMut(u8) -> String) -> String {
    text.split_whitespace().map(|w| w.bytes().map(&mut f).collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// Caesar encryption: each letter `shift` places forward.
fn caesar(text: &str, shift: u8) -> String {
    map_words(text, |b| chr((val(b) - 1 + i32::from(shift)).rem_euclid(26) + 1).to_string())
}

/// Substitution encryption through `key` (the cipher letter for a, b, …, z).
fn substitute(text: &str, key: &str) -> String {
    let key = key.as_bytes();
    map_words(text, |b| key.get(usize::from(b.wrapping_sub(b'a'))).map_or('?', |&k| char::from(k)).to_string())
}

/// Pair-average encryption: each letter becomes two letters, chosen at random, whose
/// positions average to it.
fn pair_encode(rng: &mut Rng, text: &str) -> String {
    map_words(text, |b| {
        let p = val(b);
        let a = rng.random_range((2 * p - 26).max(1)..=(2 * p - 1).min(26));
        format!("{}{}", chr(a), chr(2 * p - a))
    })
}

/// Decodes the pair-average cipher (the OpenAI o1 demo's): every two letters of a word
/// stand for the letter at the average of their alphabet positions. `None` when a word
/// has an odd number of letters, a non-letter, or a pair with an odd sum.
pub fn pair_decode(cipher: &str) -> Option<String> {
    let mut words = Vec::new();
    for word in cipher.split_whitespace() {
        let bytes = word.to_ascii_lowercase().into_bytes();
        if bytes.len() % 2 != 0 || !bytes.iter().all(u8::is_ascii_lowercase) {
            return None;
        }
        let mut plain = String::new();
        for pair in bytes.chunks(2) {
            let sum = val(pair[0]) + val(pair[1]);
            if sum % 2 != 0 {
                return None;
            }
            plain.push(chr(sum / 2));
        }
        words.push(plain);
    }
    Some(words.join(" "))
}

/// `n` distinct random words of `lo..=hi` letters, none of them in `avoid`.
fn distinct_words(rng: &mut Rng, n: usize, lo: usize, hi: usize, avoid: &[&str]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::with_capacity(n);
    for _ in 0..1000 {
        if out.len() >= n {
            break;
        }
        let w = random_word(rng, lo, hi);
        if !out.contains(&w) && !avoid.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Example words that between them hold every letter of `needed`, none of them in
/// `avoid`; at least two words.
fn covering_words(rng: &mut Rng, needed: &[u8], avoid: &[&str]) -> Vec<&'static str> {
    let mut missing: Vec<u8> = needed.to_vec();
    missing.sort_unstable();
    missing.dedup();
    let mut out: Vec<&'static str> = Vec::new();
    let new_letters = |w: &str, missing: &[u8]| missing.iter().filter(|b| w.as_bytes().contains(b)).count();
    for _ in 0..26 {
        if missing.is_empty() {
            break;
        }
        let mut best: Option<(&'static str, usize)> = None;
        for _ in 0..150 {
            let w = random_word(rng, 4, 7);
            let gain = new_letters(w, &missing);
            if gain > 0 && !avoid.contains(&w) && !out.contains(&w) && best.is_none_or(|(_, g)| gain > g) {
                best = Some((w, gain));
            }
        }
        if best.is_none() {
            // A rare letter (q, x, z, j): scan the list from a random place for one.
            let all = words_between(4, 8);
            let start = rng.random_range(0..all.len().max(1));
            best = all
                .iter()
                .cycle()
                .skip(start)
                .take(all.len())
                .find(|w| new_letters(w, &missing) > 0 && !avoid.contains(w) && !out.contains(w))
                .map(|&w| (w, 1));
        }
        let Some((w, _)) = best else { break };
        missing.retain(|b| !w.as_bytes().contains(b));
        out.push(w);
    }
    if out.len() < 2 {
        let mut taken: Vec<&str> = avoid.to_vec();
        taken.extend(&out);
        out.extend(distinct_words(rng, 2 - out.len(), 3, 6, &taken));
    }
    out.shuffle(rng);
    out
}

/// Whether `map` (cipher letter → plain letter pairs) is consistent with a Caesar shift
/// or with the reversed alphabet, either of which would make a substitution look simpler
/// than it is.
fn looks_like_shift_or_reverse(pairs: &[(u8, u8)]) -> bool {
    let Some(&(c0, p0)) = pairs.first() else { return true };
    let d0 = (val(p0) - val(c0)).rem_euclid(26);
    let shift = pairs.iter().all(|&(c, p)| (val(p) - val(c)).rem_euclid(26) == d0);
    let reverse = pairs.iter().all(|&(c, p)| val(p) == 27 - val(c));
    shift || reverse
}

/// The letter pairs (cipher letter, plain letter) of a one-to-one example, each distinct
/// cipher letter once, in order of first appearance.
fn letter_pairs(cipher: &str, plain: &str) -> Vec<(u8, u8)> {
    let mut out: Vec<(u8, u8)> = Vec::new();
    for (c, p) in cipher.bytes().zip(plain.bytes()) {
        if c != b' ' && !out.iter().any(|&(x, _)| x == c) {
            out.push((c, p));
        }
    }
    out
}

/// The pairs of a pair-average example: (two cipher letters, plain letter), in order.
fn pair_pairs(cipher: &str, plain: &str) -> Vec<([u8; 2], u8)> {
    let mut out = Vec::new();
    for (cw, pw) in cipher.split_whitespace().zip(plain.split_whitespace()) {
        for (pair, &p) in cw.as_bytes().chunks(2).zip(pw.as_bytes()) {
            if let [a, b] = *pair {
                out.push(([a, b], p));
            }
        }
    }
    out
}

/// Word lengths, comma separated: `5, 4, 2`.
fn lengths(text: &str) -> String {
    text.split_whitespace().map(|w| w.len().to_string()).collect::<Vec<_>>().join(", ")
}

/// At most 60 characters of `text`, for reasons.
fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// One table cell: `Tl`, the cipher letter in capitals, then the plain letter it stands
/// for. Capitals occur nowhere else in a trace, so looking a letter up is one step of
/// the simplest copying a transformer learns (find the earlier `T`, copy what followed
/// it). With `t>l` it had to match two tokens, `t` and `>`, and a 4-layer model never
/// learned to: it decoded through the table into plausible words instead.
fn cell(c: u8, p: u8) -> String {
    format!("{}{}", char::from(c.to_ascii_uppercase()), char::from(p))
}

/// A whole table on one line: `Vp Wq Xr …`.
pub(crate) fn table_cells(table: &[(u8, u8)]) -> String {
    table.iter().map(|&(c, p)| cell(c, p)).collect::<Vec<_>>().join(" ")
}

/// `tqvm: Tl Qi Vn Me -> line`: one word decoded through a table.
pub(crate) fn table_line(word: &str, plain: &[u8]) -> String {
    let cells: Vec<String> = word.bytes().zip(plain).map(|(c, &p)| cell(c, p)).collect();
    format!("{word}: {} -> {}", cells.join(" "), String::from_utf8_lossy(plain))
}

/// The plain letter `table` gives cipher letter `c`, or `?` when it has none.
pub(crate) fn lookup(table: &[(u8, u8)], c: u8) -> u8 {
    table.iter().find(|&&(x, _)| x == c).map_or(b'?', |&(_, p)| p)
}

/// A value next to `v` (one up or down) that stays in 1..=26.
fn neighbour(rng: &mut Rng, v: i32) -> i32 {
    if v <= 1 || (v < 26 && rng.random_bool(0.5)) {
        v + 1
    } else {
        v - 1
    }
}

impl Cipher {
    /// The first step of the substitution and pair-average solvers: compare the word
    /// lengths of the example's two sides, then say what that means.
    fn measure(&self, trace: &mut Trace<'_>, conclusion: &str) {
        let (c, p) = (lengths(&self.example_cipher), lengths(&self.example_plain));
        trace.line(format!("Word lengths: {c} -> {p}. {conclusion}"));
    }

    /// The Caesar table from one known pair: cipher `c0` stands for plain `p0`, and both
    /// alphabets walk on together, wrapping from z to a. 26 (cipher, plain) pairs.
    fn caesar_table(c0: u8, p0: u8) -> Vec<(u8, u8)> {
        let next = |b: u8| if b == b'z' { b'a' } else { b + 1 };
        std::iter::successors(Some((c0, p0)), |&(c, p)| Some((next(c), next(p)))).take(26).collect()
    }

    /// A Caesar cipher moves every letter alike, so one example letter fixes the whole
    /// table: the solver writes it out by walking both alphabets on from the first pair
    /// (a successor step, no arithmetic), checks it on the example, then decodes every
    /// word by looking letters up in it. Arithmetic on letter positions (`19-21=-2, +26`)
    /// was where a small model slipped most; reading a table it wrote itself is a copy.
    fn solve_caesar(&self, trace: &mut Trace<'_>) -> String {
        let (Some(c0), Some(p0)) = (self.example_cipher.bytes().next(), self.example_plain.bytes().next()) else {
            return self.message_plain.clone();
        };
        // The prose is lower case: capitals are kept for the table's keys.
        trace.line(format!("first letters: {} stands for {}.", char::from(c0), char::from(p0)));
        trace.line("if it is a shift, every letter moves alike. walk both alphabets on from there:");
        let table = Self::caesar_table(c0, p0);
        trace.line(table_cells(&table));
        let first = |text: &str| text.split_whitespace().next().unwrap_or("").to_string();
        let (example_word, example_plain) = (first(&self.example_cipher), first(&self.example_plain));
        let decoded: Vec<u8> = example_word.bytes().map(|c| lookup(&table, c)).collect();
        let ok = if decoded == example_plain.as_bytes() { "matches" } else { "does not match" };
        trace.line(format!("check {}, {ok}.", table_line(&example_word, &decoded)));
        self.decode_with_table(trace, "so it is a shift. decode with the table:", &table)
    }

    fn solve_substitution(&self, trace: &mut Trace<'_>) -> String {
        self.measure(trace, "The same, so one cipher letter per letter.");
        let pairs = letter_pairs(&self.example_cipher, &self.example_plain);
        if let Some(&(c0, p0)) = pairs.first() {
            let d0 = (val(p0) - val(c0)).rem_euclid(26);
            if let Some(&(c1, p1)) = pairs.iter().find(|&&(c, p)| (val(p) - val(c)).rem_euclid(26) != d0) {
                let diff = |c: u8, p: u8| {
                    format!("{} -> {} is {}-{}={}", char::from(c), char::from(p), val(p), val(c), val(p) - val(c))
                };
                trace.line(format!("Try a shift: {}; {}. Different, so not a shift.", diff(c0, p0), diff(c1, p1)));
            }
        }
        trace.line("So it is a letter table. From the example:");
        trace.line(table_cells(&pairs));
        let cipher_bytes = self.example_cipher.as_bytes();
        if let Some(&(c, p)) = pairs.iter().find(|&&(c, _)| cipher_bytes.iter().filter(|&&x| x == c).count() >= 2) {
            trace.line(format!(
                "{} comes more than once and is {} every time, so the table is consistent.",
                char::from(c),
                char::from(p)
            ));
        }
        self.decode_with_table(trace, "Decode with the table:", &pairs)
    }

    /// After the line `intro`, decodes the message word by word through `table` (cipher,
    /// plain) pairs, one line a word (`tqvm: Tl Qi Vn Me -> line`), then states the
    /// message. A slip reads the next or previous row of the table for one letter, and is
    /// corrected.
    fn decode_with_table(&self, trace: &mut Trace<'_>, intro: &str, table: &[(u8, u8)]) -> String {
        trace.line(intro);
        let mut words = Vec::new();
        for word in self.message_cipher.split_whitespace() {
            let plain: Vec<u8> = word.bytes().map(|c| lookup(table, c)).collect();
            let right = table_line(word, &plain);
            if table.len() >= 2 && trace.slip() {
                let i = trace.rng().random_range(0..plain.len());
                let c = word.as_bytes()[i];
                let row = table.iter().position(|&(x, _)| x == c).unwrap_or(0);
                let step = if trace.rng().random_bool(0.5) { 1 } else { table.len() - 1 };
                let misread = table[(row + step) % table.len()].1;
                let mut wrong = plain.clone();
                wrong[i] = misread;
                let fix = format!("the table has {}, not {}.", cell(c, plain[i]), cell(c, misread));
                trace.mistake(table_line(word, &wrong), fix, right);
            } else {
                trace.line(right);
            }
            words.push(String::from_utf8_lossy(&plain).into_owned());
        }
        let plain = words.join(" ");
        trace.line(format!("so the message is: {plain}"));
        plain
    }

    fn solve_pairs(&self, trace: &mut Trace<'_>) -> String {
        self.measure(trace, "Twice as long, so two cipher letters per letter.");
        let pairs = pair_pairs(&self.example_cipher, &self.example_plain);
        if let Some(first) = self.example_cipher.split_whitespace().next() {
            let plain_first = self.example_plain.split_whitespace().next().unwrap_or("");
            let split: Vec<String> =
                first.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
            let letters: Vec<String> = plain_first.chars().map(String::from).collect();
            trace.line(format!("First word in pairs: {} -> {}", split.join(" "), letters.join(" ")));
        }
        let show = |[a, b]: [u8; 2]| format!("{}{}", char::from(a), char::from(b));
        // The first letter of each pair, shifted? Rejected as soon as two shifts differ.
        if let Some(&([a0, _], p0)) = pairs.first() {
            let d0 = val(p0) - val(a0);
            if let Some(&([a1, _], p1)) = pairs.iter().find(|&&([a, _], p)| val(p) - val(a) != d0) {
                let sign = |d: i32| if d >= 0 { format!("+{d}") } else { d.to_string() };
                trace.line(format!(
                    "Try the first letter of each pair, shifted: {}={} -> {}={} is {}; {}={} -> {}={} is {}. Different, so no.",
                    char::from(a0), val(a0), char::from(p0), val(p0), sign(d0),
                    char::from(a1), val(a1), char::from(p1), val(p1), sign(val(p1) - val(a1))
                ));
            }
        }
        let avg = |[a, b]: [u8; 2]| -> (i32, i32, i32) {
            let (x, y) = (val(a), val(b));
            (x, y, (x + y) / 2)
        };
        for (i, &(pair, p)) in pairs.iter().take(3).enumerate() {
            let (x, y, h) = avg(pair);
            let ok = if chr(h) == char::from(p) { "Matches." } else { "No." };
            let lead = if i == 0 { "Try the average, " } else { "Check " };
            trace.line(format!("{lead}{}: {x}+{y}={}, half {h} = {}. {ok}", show(pair), x + y, chr(h)));
        }
        trace.line("So each pair is the letter halfway between its two letters.");
        trace.line("Decode pair by pair:");
        let mut words = Vec::new();
        for word in self.message_cipher.split_whitespace() {
            trace.line(format!("{word}:"));
            let mut plain = String::new();
            for chunk in word.as_bytes().chunks(2) {
                let pair = match *chunk {
                    [a, b] => [a, b],
                    [a] => [a, a],
                    _ => continue,
                };
                let (x, y, h) = avg(pair);
                let s = x + y;
                let right = format!("{}: {x}+{y}={s}, half {h} -> {}", show(pair), chr(h));
                if trace.slip() {
                    match trace.rng().random_range(0..3) {
                        0 => {
                            let wh = neighbour(trace.rng(), h);
                            trace.mistake(
                                format!("{}: {x}+{y}={}, half {wh} -> {}", show(pair), 2 * wh, chr(wh)),
                                format!("{x}+{y} is {s}, not {}.", 2 * wh),
                                right,
                            );
                        }
                        1 => {
                            let wh = neighbour(trace.rng(), h);
                            trace.mistake(
                                format!("{}: {x}+{y}={s}, half {wh} -> {}", show(pair), chr(wh)),
                                format!("half of {s} is {h}, not {wh}."),
                                right,
                            );
                        }
                        _ => {
                            let wl = chr(neighbour(trace.rng(), h));
                            trace.mistake(
                                format!("{}: {x}+{y}={s}, half {h} -> {wl}", show(pair)),
                                format!("{h} is {}, not {wl}.", chr(h)),
                                right,
                            );
                        }
                    }
                } else {
                    trace.line(right);
                }
                plain.push(chr(h));
            }
            trace.line(format!("-> {plain}"));
            words.push(plain);
        }
        let plain = words.join(" ");
        trace.line(format!("So the message is: {plain}"));
        plain
    }
}

impl Task for Cipher {
    const LEVELS: u8 = 5;
    const ANSWER_FORMAT: &'static str = "The decoded plaintext, e.g. `think step by step`. \
        Case, punctuation, quotes and spacing are ignored; every word must be right.";

    fn level_description(difficulty: u8) -> String {
        match difficulty {
            1 => "Caesar shift, 1-2 words",
            2 => "Caesar shift, 3-4 words",
            3 => "letter substitution (table from the example), 2-3 words",
            4 => "pair-average cipher (o1 demo), 1-2 words",
            5 => "pair-average cipher (o1 demo), 3-4 words",
            _ => "no such level",
        }
        .to_string()
    }

    fn generate(rng: &mut Rng, difficulty: u8) -> Self {
        let phrasing = rng.random_range(0..2);
        let n_message = match difficulty {
            0 | 1 => rng.random_range(1..=2),
            2 | 5 => rng.random_range(3..=4),
            3 => rng.random_range(2..=3),
            _ => rng.random_range(1..=2),
        };
        let longest = if difficulty <= 1 { 4 } else { 5 };
        let message = distinct_words(rng, n_message, 3, longest, &[]);
        let message_plain = message.join(" ");
        match difficulty {
            0..=2 => {
                let n = rng.random_range(2..=3);
                let example_plain = distinct_words(rng, n, 3, 6, &message).join(" ");
                let shift = rng.random_range(1..=25u8);
                Cipher {
                    kind: Kind::Caesar { shift },
                    example_cipher: caesar(&example_plain, shift),
                    example_plain,
                    message_cipher: caesar(&message_plain, shift),
                    message_plain,
                    phrasing,
                }
            }
            3 => {
                let needed: Vec<u8> = message_plain.bytes().filter(u8::is_ascii_lowercase).collect();
                let example_plain = covering_words(rng, &needed, &message).join(" ");
                let mut key: Vec<u8> = (b'a'..=b'z').collect();
                for _ in 0..100 {
                    key.shuffle(rng);
                    let k = String::from_utf8_lossy(&key).into_owned();
                    let pairs = letter_pairs(&substitute(&example_plain, &k), &example_plain);
                    if !looks_like_shift_or_reverse(&pairs) {
                        break;
                    }
                }
                let key = String::from_utf8_lossy(&key).into_owned();
                Cipher {
                    example_cipher: substitute(&example_plain, &key),
                    example_plain,
                    message_cipher: substitute(&message_plain, &key),
                    message_plain,
                    kind: Kind::Substitution { key },
                    phrasing,
                }
            }
            _ => {
                let example_plain = distinct_words(rng, 2, 3, 5, &message).join(" ");
                Cipher {
                    kind: Kind::PairAverage,
                    example_cipher: pair_encode(rng, &example_plain),
                    example_plain,
                    message_cipher: pair_encode(rng, &message_plain),
                    message_plain,
                    phrasing,
                }
            }
        }
    }

    fn prompt(&self) -> String {
        let (ec, ep, mc) = (&self.example_cipher, &self.example_plain, &self.message_cipher);
        match self.phrasing {
            0 => format!("The ciphertext \"{ec}\" decodes to \"{ep}\". Use the same cipher to decode: \"{mc}\""),
            _ => format!("In a secret code, \"{ep}\" is written \"{ec}\". Decode \"{mc}\" with the same code."),
        }
    }

    fn answer(&self) -> String {
        self.message_plain.clone()
    }

    fn check(&self, answer: &str) -> Verdict {
        let got = normalize_words(answer);
        if got.is_empty() {
            return Verdict::unparsable(format!("no words in \"{}\"", clip(answer)));
        }
        let want = normalize_words(&self.message_plain);
        Verdict::judge(got == want, format!("expected \"{want}\", read \"{}\"", clip(&got)))
    }

    fn canonical(&self, answer: &str) -> Option<String> {
        let words = normalize_words(answer);
        (!words.is_empty()).then_some(words)
    }

    fn solve(&self, trace: &mut Trace<'_>) -> String {
        match &self.kind {
            Kind::Caesar { .. } => self.solve_caesar(trace),
            Kind::Substitution { .. } => self.solve_substitution(trace),
            Kind::PairAverage => self.solve_pairs(trace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Family, Outcome};
    use rand::SeedableRng;

    const DEMO_CIPHER: &str = "oyfjdnisdr rtqwainr acxz mynzbhhx";

    fn problem(level: u8, seed: u64) -> (crate::Problem, Cipher) {
        let p = Family::Cipher.generate(level, seed).expect("a valid level");
        let crate::Spec::Cipher(c) = p.spec.clone() else { panic!("not a cipher problem") };
        (p, c)
    }

    fn demo() -> Cipher {
        Cipher {
            kind: Kind::PairAverage,
            example_plain: "there are three rs in strawberry".into(),
            example_cipher: "oyekaijzdf aaptcg suaokybhai ouow aqht mynznvaatzacdfoulxxz".into(),
            message_cipher: DEMO_CIPHER.into(),
            message_plain: "think step by step".into(),
            phrasing: 0,
        }
    }

    #[test]
    fn o1_demo_pair_decodes() {
        assert_eq!(pair_decode(DEMO_CIPHER).as_deref(), Some("think step by step"));
        // the demo's question, decoded with the same rule
        assert_eq!(
            pair_decode("oyekaijzdf aaptcg suaokybhai ouow aqht mynznvaatzacdfoulxxz").as_deref(),
            Some("there are three rs in strawberry")
        );
        assert_eq!(pair_decode("abc"), None);
        assert_eq!(pair_decode("ab"), None); // 1+2 is odd
        let d = demo();
        assert!(d.check("Think step by step").is_correct());
        assert!(d.check("Think step by step.").is_correct());
        assert!(d.check("\"think step by step\"").is_correct());
        assert!(!d.check("think step by stop").is_correct());
        // and the solver gets there too
        let mut rng = Rng::seed_from_u64(0);
        let mut trace = Trace::new(&mut rng, 0.0);
        assert_eq!(d.solve(&mut trace), "think step by step");
        let (text, _) = trace.finish();
        assert!(text.contains("oy: 15+25=40, half 20 -> t"), "{text}");
    }

    #[test]
    fn caesar_traces_write_the_whole_table_and_decode_by_lookup() {
        for seed in 0..40 {
            let (p, c) = problem(1 + (seed % 2) as u8, seed);
            let Kind::Caesar { shift } = c.kind else { panic!("levels 1-2 are Caesar") };
            let s = p.solve(&mut Rng::seed_from_u64(seed), 0.0);
            let lines: Vec<&str> = s.thinking.lines().collect();
            let cells: Vec<&[u8]> = lines[2].split(' ').map(str::as_bytes).collect();
            assert_eq!(cells.len(), 26, "{}", s.thinking);
            let mut cipher_letters: Vec<u8> = cells.iter().map(|cell| cell[0]).collect();
            for cell in &cells {
                let ok = cell.len() == 2 && cell[0].is_ascii_uppercase() && cell[1].is_ascii_lowercase();
                assert!(ok, "{}: cell {:?}", p.id, String::from_utf8_lossy(cell));
                // Each cell is true: the plain letter, encrypted, is the cipher letter.
                let encrypted = caesar(&char::from(cell[1]).to_string(), shift);
                assert_eq!(encrypted.as_bytes(), &[cell[0].to_ascii_lowercase()], "{}", p.id);
            }
            cipher_letters.sort_unstable();
            cipher_letters.dedup();
            assert_eq!(cipher_letters.len(), 26, "{}: every letter once, z wrapping to a", p.id);
            assert!(lines[3].starts_with("check ") && lines[3].ends_with(", matches."), "{}", s.thinking);
            assert!(!s.thinking.contains('='), "{}: no letter arithmetic\n{}", p.id, s.thinking);
            // Capitals are the table's keys and nothing else: each starts a two-letter cell.
            let bytes = s.thinking.as_bytes();
            for i in (0..bytes.len()).filter(|&i| bytes[i].is_ascii_uppercase()) {
                let cell = i > 0
                    && matches!(bytes[i - 1], b' ' | b'\n')
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase);
                assert!(cell && bytes.get(i + 2).is_none_or(|&n| n == b' ' || n == b'\n'), "{}\n{}", p.id, s.thinking);
            }
        }
    }

    #[test]
    fn encoders_invert() {
        let mut rng = Rng::seed_from_u64(5);
        for _ in 0..50 {
            let text = distinct_words(&mut rng, 3, 3, 10, &[]).join(" ");
            let enc = pair_encode(&mut rng, &text);
            assert_eq!(pair_decode(&enc).as_deref(), Some(text.as_str()));
            let shift = rng.random_range(1..=25);
            assert_eq!(caesar(&caesar(&text, shift), 26 - shift), text);
        }
        assert_eq!(caesar("hello world", 3), "khoor zruog");
        assert_eq!(caesar("xyz", 3), "abc");
    }

    #[test]
    fn solver_is_right_at_every_level() {
        for level in 1..=Cipher::LEVELS {
            for seed in 0..60 {
                let (p, c) = problem(level, seed);
                let mut rng = Rng::seed_from_u64(seed);
                let s = p.solve(&mut rng, 0.0);
                assert_eq!(s.mistakes, 0);
                assert_eq!(s.answer, p.answer, "{}\n{}", p.id, s.thinking);
                assert!(p.verify(&s.completion()).is_correct(), "{}\n{}", p.id, s.thinking);
                assert_ne!(c.message_plain, c.example_plain);
                for line in s.thinking.lines().filter(|l| l.to_lowercase().starts_with("check")) {
                    assert!(line.ends_with("matches.") || line.ends_with("Matches."), "{}: {line}", p.id);
                }
            }
        }
    }

    #[test]
    fn mistakes_are_corrected_before_the_answer() {
        for level in 1..=Cipher::LEVELS {
            for seed in 0..50 {
                let (p, _) = problem(level, seed);
                let mut rng = Rng::seed_from_u64(seed);
                let s = p.solve(&mut rng, 1.0);
                assert!(s.mistakes > 0, "{}", p.id);
                assert!(p.verify(&s.completion()).is_correct(), "{}\n{}", p.id, s.thinking);
                let cues = crate::trace::CORRECTION_CUES;
                let corrections = s.thinking.lines().filter(|l| cues.iter().any(|c| l.starts_with(c))).count();
                assert_eq!(corrections as u32, s.mistakes, "{}\n{}", p.id, s.thinking);
            }
        }
    }

    #[test]
    fn generation_is_deterministic_and_levels_use_their_cipher() {
        for level in 1..=Cipher::LEVELS {
            for seed in 0..50 {
                let (p, c) = problem(level, seed);
                assert_eq!(p, problem(level, seed).0);
                let words = c.message_plain.split(' ').count();
                let expect = match level {
                    1 => matches!(c.kind, Kind::Caesar { .. }) && (1..=2).contains(&words),
                    2 => matches!(c.kind, Kind::Caesar { .. }) && (3..=4).contains(&words),
                    3 => matches!(c.kind, Kind::Substitution { .. }) && (2..=3).contains(&words),
                    4 => c.kind == Kind::PairAverage && (1..=2).contains(&words),
                    _ => c.kind == Kind::PairAverage && (3..=4).contains(&words),
                };
                assert!(expect, "{}: {c:?}", p.id);
                if let Kind::Caesar { shift } = c.kind {
                    assert!((1..=25).contains(&shift));
                    assert_eq!(caesar(&c.message_plain, shift), c.message_cipher);
                }
                if c.kind == Kind::PairAverage {
                    assert_eq!(pair_decode(&c.message_cipher).as_deref(), Some(c.message_plain.as_str()));
                    assert_eq!(pair_decode(&c.example_cipher).as_deref(), Some(c.example_plain.as_str()));
                }
            }
        }
    }

    #[test]
    fn substitution_examples_cover_the_message() {
        for seed in 0..300 {
            let (p, c) = problem(3, seed);
            let Kind::Substitution { key } = &c.kind else { panic!("level 3 is substitution") };
            let mut sorted: Vec<u8> = key.bytes().collect();
            sorted.sort_unstable();
            assert_eq!(sorted, (b'a'..=b'z').collect::<Vec<_>>());
            for b in c.message_cipher.bytes().filter(|&b| b != b' ') {
                assert!(c.example_cipher.as_bytes().contains(&b), "{}: {} not in the example", p.id, char::from(b));
            }
            assert_eq!(substitute(&c.message_plain, key), c.message_cipher);
            let pairs = letter_pairs(&c.example_cipher, &c.example_plain);
            assert!(!looks_like_shift_or_reverse(&pairs), "{}", p.id);
            assert!(p.prompt.len() < 260, "{}: {} bytes", p.id, p.prompt.len());
        }
    }

    #[test]
    fn answers_are_tolerant_but_exact_in_words() {
        for level in 1..=Cipher::LEVELS {
            for seed in 0..50 {
                let (p, _) = problem(level, seed);
                let a = &p.answer;
                for ok in
                    [a.to_uppercase(), format!("{a}."), format!("\"{a}\""), format!("  {}  ", a.replace(' ', "  "))]
                {
                    assert!(p.verify(&ok).is_correct(), "{}: rejected {ok:?}", p.id);
                }
                let words: Vec<&str> = a.split(' ').collect();
                // one wrong word, one missing word, one extra word
                let mut wrong = words.clone();
                let changed = format!("{}x", words[0]);
                wrong[0] = &changed;
                let bad = [wrong.join(" "), words[1..].join(" "), format!("{a} {}", words[0])];
                for b in bad.iter().filter(|b| !b.is_empty()) {
                    assert_eq!(p.verify(b).outcome, Outcome::Wrong, "{}: accepted {b:?}", p.id);
                }
                assert_eq!(p.verify("<think>x</think> ...").outcome, Outcome::Unparsable);
            }
        }
    }

    #[test]
    fn check_never_panics() {
        let (_, c) = problem(5, 1);
        let huge = "ü ".repeat(200_000);
        for text in ["", " ", "\u{0}", "ÄÖÜ ß", "🍓🍓🍓", "-", "'", "9999999999999999999999", huge.as_str()] {
            let _ = c.check(text);
        }
        assert_eq!(pair_decode("ÄÖ"), None);
        assert_eq!(pair_decode("").as_deref(), Some(""));
    }
}
