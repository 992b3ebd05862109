//! `word`: multi-step arithmetic stories ("A shop sold 29 bags of potatoes in the morning
//! and 17 bags in the afternoon. Each bag weighs 7 kg. How many kilograms…?").
//!
//! A story is a chain of operations on one running quantity (items, items per group, or a
//! measure such as dollars or kilograms). Difficulty is the number of arithmetic
//! operations (1 to 6) and sets the size of the numbers; from level 4 on, sentences with
//! irrelevant numbers (distractors) are mixed in. The trace reads the story sentence by
//! sentence: it quotes each sentence that changes the quantity, then does its computation,
//! one per line, so every number and verb it needs sits just above the step that uses it.

use rand::seq::IndexedRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::Task;
use crate::arithmetic::working;
use crate::english::plural;
use crate::extract::final_integer;
use crate::{slip_number, Rng, Trace, Verdict};

/// One arithmetic step of the solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b` (always exact)
    Div,
}

impl Op {
    fn symbol(self) -> char {
        match self {
            Op::Add => '+',
            Op::Sub => '-',
            Op::Mul => '*',
            Op::Div => '/',
        }
    }
    fn apply(self, a: i64, b: i64) -> i64 {
        match self {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
        }
    }
}

/// A line of the solution: a computation, or a note that a sentence does not matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// `label: a op b = result unit`
    Compute {
        /// What the step does, in a few words ("Sold in the afternoon").
        label: String,
        /// Left operand.
        a: i64,
        /// The operation.
        op: Op,
        /// Right operand.
        b: i64,
        /// The unit of the result ("bags", "kg").
        unit: String,
        /// The story sentence this step starts from, quoted in the trace (`None` for a second
        /// step of the same sentence).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sentence: Option<String>,
    },
    /// A distractor sentence the solver notes and skips.
    Ignore {
        /// Why it does not matter.
        note: String,
    },
}

/// A word problem: the story, the question and the steps that solve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// Sentences of the story, in order.
    pub story: Vec<String>,
    /// The question sentence.
    pub question: String,
    /// The starting quantity and its unit.
    pub start: (i64, String),
    /// The solution steps, in story order.
    pub steps: Vec<Step>,
    /// The number asked for.
    pub value: i64,
}

/// A story setting: who acts, on what, and how each operation is phrased.
/// Placeholders: `{n}` actor, `{o}` other person, `{t}` things, `{g}` group word,
/// `{m}` measure unit, `{a}` `{b}` `{c}` numbers.
struct Frame {
    /// Whether the starting quantity counts groups ("bags of rice") rather than things.
    counts_groups: bool,
    start: &'static [&'static str],
    gain: &'static [&'static str],
    loss: &'static [&'static str],
    scale: &'static [&'static str],
    packs: &'static [&'static str],
    share: &'static str,
    group_gain: &'static str,
    group_loss: &'static str,
    combine: Option<&'static str>,
    /// (sentence, unit, trace label) of the step that turns items into a measure.
    measure: &'static [(&'static str, &'static str, &'static str)],
    measure_gain: &'static str,
    measure_loss: &'static str,
    ask_items: &'static str,
    ask_group: &'static str,
    ask_measure: &'static str,
    things: &'static [&'static str],
    groups: &'static [&'static str],
}

const COLLECTOR: Frame = Frame {
    counts_groups: false,
    start: &["{n} has {a} {t}.", "{n} starts the day with {a} {t}.", "There are {a} {t} in {n}'s bag."],
    gain: &[
        "Then {n} buys {b} more {t}.",
        "{o} gives {n} {b} {t}.",
        "{n} finds {b} more {t}.",
        "Later {n} gets {b} more {t}.",
    ],
    loss: &[
        "{n} gives {b} {t} to {o}.",
        "{n} loses {b} {t} on the way home.",
        "{n} uses {b} of the {t}.",
        "{o} borrows {b} {t} and keeps them.",
    ],
    scale: &["By the end of the week {n} has {b} times as many {t}.", "{n}'s pile of {t} grows to {b} times its size."],
    packs: &["{n} buys {b} packs with {c} {t} in each.", "{o} gives {n} {b} {gs}, each holding {c} {t}."],
    share: "{n} puts all the {t} into {b} {gs}, the same number in each.",
    group_gain: "Then {n} adds {b} more {t} to each {g}.",
    group_loss: "Then {n} takes {b} {t} out of each {g}.",
    combine: Some("{n} keeps {b} of the {gs} and gives the rest to {o}."),
    measure: &[("Each of the {t} sells for {b} dollars, and {n} sells them all.", "dollars", "Money from the sale")],
    measure_gain: "{o} pays {n} {b} dollars more as a tip.",
    measure_loss: "{n} then spends {b} dollars of it on a ticket.",
    ask_items: "How many {t} does {n} have now?",
    ask_group: "How many {t} are in each {g}?",
    ask_measure: "How many dollars from the sale does {n} have now?",
    things: &[
        "apples",
        "marbles",
        "stickers",
        "stamps",
        "cookies",
        "pencils",
        "books",
        "shells",
        "cards",
        "beads",
        "eggs",
        "candies",
        "coins",
        "crayons",
        "buttons",
        "balloons",
        "muffins",
        "toy cars",
        "seashells",
        "postcards",
    ],
    groups: &["box", "bag", "jar", "basket", "tray", "envelope"],
};

const SHOP: Frame = Frame {
    counts_groups: true,
    start: &[
        "A shop sold {a} {gs} of {t} in the morning.",
        "A market stall sold {a} {gs} of {t} before noon.",
        "On Monday a grocer sold {a} {gs} of {t}.",
    ],
    gain: &[
        "It sold {b} more {gs} in the afternoon.",
        "In the evening it sold another {b} {gs}.",
        "A restaurant then bought {b} {gs} as well.",
    ],
    loss: &[
        "Customers brought back {b} of the {gs}.",
        "{b} of the sold {gs} were returned the next day.",
        "{b} {gs} were refunded because they were damaged.",
    ],
    scale: &["On Tuesday it sold {b} times as many {gs} as that."],
    packs: &["A hotel ordered {b} crates with {c} {gs} in each."],
    share: "The {gs} sold were delivered on {b} trucks, each carrying the same number.",
    group_gain: "Each truck also took {b} more {gs}.",
    group_loss: "Each truck dropped off {b} {gs} at the first stop.",
    combine: None,
    measure: &[("Each {g} weighs {b} kg.", "kg", "Weight"), ("Each {g} costs {b} dollars.", "dollars", "Price")],
    measure_gain: "The shop also charged {b} {m} extra for delivery.",
    measure_loss: "A discount took {b} {m} off the total.",
    ask_items: "How many {gs} of {t} did the shop sell in the end?",
    ask_group: "How many {gs} did each truck carry?",
    ask_measure: "How many {m} is that in total?",
    things: &[
        "potatoes",
        "rice",
        "flour",
        "sugar",
        "onions",
        "carrots",
        "oranges",
        "coffee beans",
        "lentils",
        "tomatoes",
    ],
    groups: &["bag", "sack", "box", "crate"],
};

const FARM: Frame = Frame {
    counts_groups: false,
    start: &[
        "A farmer collects {a} {t} on Monday.",
        "{n} picks {a} {t} on the farm.",
        "A farm has {a} {t} in the barn.",
    ],
    gain: &["The next day {b} more {t} are collected.", "{n} adds {b} {t} from the field.", "{o} brings {b} more {t}."],
    loss: &[
        "{b} of the {t} are spoiled and thrown away.",
        "{n} gives {b} {t} to {o}.",
        "{b} {t} are eaten by the family.",
    ],
    scale: &[
        "By Friday there are {b} times as many {t}.",
        "After a good harvest the number of {t} is {b} times as large.",
    ],
    packs: &["{o} brings {b} {gs} with {c} {t} in each."],
    share: "The {t} are packed into {b} {gs} with the same number in each.",
    group_gain: "Then {b} more {t} are added to each {g}.",
    group_loss: "Then {b} {t} are taken out of each {g}.",
    combine: Some("The farm keeps {b} of the {gs} and sells the rest to {o}."),
    measure: &[
        ("Each of the {t} is sold for {b} dollars.", "dollars", "Money from sales"),
        ("Each of the {t} weighs {b} grams.", "grams", "Weight"),
    ],
    measure_gain: "The farm also gets {b} {m} more from {o}.",
    measure_loss: "Then {b} {m} are taken away for the farm's own use.",
    ask_items: "How many {t} does the farm have now?",
    ask_group: "How many {t} are in each {g}?",
    ask_measure: "How many {m} is that altogether?",
    things: &["eggs", "apples", "pumpkins", "pears", "peaches", "lemons", "plums", "melons", "potatoes", "cucumbers"],
    groups: &["crate", "basket", "box", "carton"],
};

const FRAMES: [&Frame; 3] = [&COLLECTOR, &SHOP, &FARM];

const NAMES: &[&str] = &[
    "Ava", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Hugo", "Isla", "Jack", "Kira", "Leo", "Maya", "Noah",
    "Olivia", "Priya", "Quinn", "Ravi", "Sofia", "Tom", "Uma", "Victor", "Wen", "Yusuf", "Zoe", "Amir", "Lena", "Omar",
    "Nina", "Sam",
];

const DISTRACTORS: &[&str] = &[
    "{o} has {x} pet fish.",
    "The trip home takes {x} minutes.",
    "It is {x} degrees outside.",
    "{o} is {x} years old.",
    "The street has {x} houses.",
    "A bus passes by every {x} minutes.",
];

/// One of `templates`, at random.
fn pick(rng: &mut Rng, templates: &[&'static str]) -> &'static str {
    templates.choose(rng).expect("templates are not empty")
}

/// Where the running quantity stands: plain items, items per group, or a measure.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Items,
    PerGroup,
    Measure,
}

/// The filled-in names of one story.
struct Cast {
    actor: &'static str,
    other: &'static str,
    things: &'static str,
    group: &'static str,
    measure: &'static str,
}

impl Cast {
    /// Fills a template: `{a}`, `{b}` and `{x}` take `first`, `{c}` takes `second`.
    fn fill(&self, template: &str, first: i64, second: i64) -> String {
        template
            .replace("{n}", self.actor)
            .replace("{o}", self.other)
            .replace("{t}", self.things)
            .replace("{gs}", &plural(self.group))
            .replace("{g}", self.group)
            .replace("{m}", self.measure)
            .replace("{a}", &first.to_string())
            .replace("{b}", &first.to_string())
            .replace("{c}", &second.to_string())
            .replace("{x}", &first.to_string())
    }
}

/// The largest operand for a level: numbers grow with difficulty.
fn max_number(difficulty: u8) -> i64 {
    match difficulty {
        1 | 2 => 20,
        3 | 4 => 50,
        _ => 100,
    }
}

impl Word {
    fn compute(label: &str, a: i64, op: Op, b: i64, unit: &str) -> Step {
        Step::Compute { label: label.to_string(), a, op, b, unit: unit.to_string(), sentence: None }
    }
}

impl Task for Word {
    const LEVELS: u8 = 6;
    const ANSWER_FORMAT: &'static str =
        "an integer, e.g. `322` (units and words around it are ignored; the last number counts)";

    fn level_description(difficulty: u8) -> String {
        let distractors = if difficulty >= 4 { ", with distractors" } else { "" };
        format!("{difficulty} operation(s), numbers up to {}{distractors}", max_number(difficulty))
    }

    fn generate(rng: &mut Rng, difficulty: u8) -> Self {
        let frame = *FRAMES.choose(rng).expect("FRAMES is not empty");
        let (measure_template, measure, measure_label) = *frame.measure.choose(rng).expect("each frame has a measure");
        let actor = *NAMES.choose(rng).expect("NAMES is not empty");
        let other = loop {
            let o = *NAMES.choose(rng).expect("NAMES is not empty");
            if o != actor {
                break o;
            }
        };
        let cast = Cast {
            actor,
            other,
            things: frame.things.choose(rng).expect("things"),
            group: frame.groups.choose(rng).expect("groups"),
            measure,
        };
        let top = max_number(difficulty);

        let mut q = rng.random_range(3.max(top / 4)..=top);
        let mut story = vec![cast.fill(pick(rng, frame.start), q, 0)];
        let start = (q, if frame.counts_groups { plural(cast.group) } else { cast.things.to_string() });
        let mut unit = start.1.clone();
        let mut steps = Vec::new();
        let mut phase = Phase::Items;
        let mut ops_left = i64::from(difficulty);
        let mut distractors = if difficulty >= 4 { rng.random_range(1..=usize::from(difficulty) - 2) } else { 0 };
        let add_distractor = |rng: &mut Rng, story: &mut Vec<String>, steps: &mut Vec<Step>| {
            let x = rng.random_range(2..=60);
            let sentence = cast.fill(pick(rng, DISTRACTORS), x, 0);
            steps.push(Step::Ignore { note: format!("\"{sentence}\" does not matter here.") });
            story.push(sentence);
        };
        while ops_left > 0 {
            if distractors > 0 && rng.random_bool(0.3) {
                add_distractor(rng, &mut story, &mut steps);
                distractors -= 1;
            }
            let (sentences_before, steps_before) = (story.len(), steps.len());
            let small = rng.random_range(2..=top.min(12));
            let amount = rng.random_range(2..=top);
            // Pick an operation that fits the phase, the numbers and the operations left.
            let choice = rng.random_range(0..6);
            match phase {
                Phase::Items => match choice {
                    0 if ops_left >= 2 => {
                        let (b, c) = (rng.random_range(2..=9), rng.random_range(2..=top.min(20)));
                        story.push(cast.fill(pick(rng, frame.packs), b, c));
                        steps.push(Word::compute("Packs", b, Op::Mul, c, &unit));
                        steps.push(Word::compute("Together", q, Op::Add, b * c, &unit));
                        q += b * c;
                        ops_left -= 2;
                    }
                    1 if q > 3 => {
                        let b = rng.random_range(1..q);
                        story.push(cast.fill(pick(rng, frame.loss), b, 0));
                        steps.push(Word::compute("After losing some", q, Op::Sub, b, &unit));
                        q -= b;
                        ops_left -= 1;
                    }
                    2 if q * small <= 5000 => {
                        let b = rng.random_range(2..=5);
                        story.push(cast.fill(pick(rng, frame.scale), b, 0));
                        steps.push(Word::compute(&format!("{b} times as many"), q, Op::Mul, b, &unit));
                        q *= b;
                        ops_left -= 1;
                    }
                    3 => {
                        let divisors: Vec<i64> = (2..=12).filter(|d| q % d == 0 && q / d >= 2).collect();
                        let Some(&b) = divisors.choose(rng) else { continue };
                        story.push(cast.fill(frame.share, b, 0));
                        steps.push(Word::compute(&format!("Per {}", cast.group), q, Op::Div, b, &unit));
                        q /= b;
                        phase = Phase::PerGroup;
                        ops_left -= 1;
                    }
                    4 if ops_left <= 2 => {
                        let b = rng.random_range(2..=top.min(15));
                        story.push(cast.fill(measure_template, b, 0));
                        unit = measure.to_string();
                        steps.push(Word::compute(measure_label, q, Op::Mul, b, &unit));
                        q *= b;
                        phase = Phase::Measure;
                        ops_left -= 1;
                    }
                    _ => {
                        story.push(cast.fill(pick(rng, frame.gain), amount, 0));
                        steps.push(Word::compute("After getting more", q, Op::Add, amount, &unit));
                        q += amount;
                        ops_left -= 1;
                    }
                },
                Phase::PerGroup => match choice {
                    0 | 1 if q > 2 => {
                        let b = rng.random_range(1..q);
                        story.push(cast.fill(frame.group_loss, b, 0));
                        steps.push(Word::compute(
                            &format!("Each {} after taking some out", cast.group),
                            q,
                            Op::Sub,
                            b,
                            &unit,
                        ));
                        q -= b;
                        ops_left -= 1;
                    }
                    2 | 3 if frame.combine.is_some() => {
                        story.push(cast.fill(frame.combine.unwrap_or_default(), small, 0));
                        steps.push(Word::compute(
                            &format!("In {small} {}", plural(cast.group)),
                            q,
                            Op::Mul,
                            small,
                            &unit,
                        ));
                        q *= small;
                        phase = Phase::Items;
                        ops_left -= 1;
                    }
                    _ => {
                        let b = rng.random_range(1..=top.min(20));
                        story.push(cast.fill(frame.group_gain, b, 0));
                        steps.push(Word::compute(
                            &format!("Each {} after adding more", cast.group),
                            q,
                            Op::Add,
                            b,
                            &unit,
                        ));
                        q += b;
                        ops_left -= 1;
                    }
                },
                Phase::Measure => {
                    if choice < 3 && q > 2 {
                        let b = rng.random_range(1..q.min(top * 2));
                        story.push(cast.fill(frame.measure_loss, b, 0));
                        steps.push(Word::compute("After taking some away", q, Op::Sub, b, &unit));
                        q -= b;
                    } else {
                        story.push(cast.fill(frame.measure_gain, amount, 0));
                        steps.push(Word::compute("After adding more", q, Op::Add, amount, &unit));
                        q += amount;
                    }
                    ops_left -= 1;
                }
            }
            if story.len() > sentences_before {
                if let Some(Step::Compute { sentence, .. }) = steps.get_mut(steps_before) {
                    *sentence = story.last().cloned();
                }
            }
        }
        for _ in 0..distractors {
            add_distractor(rng, &mut story, &mut steps);
        }
        let question = match phase {
            Phase::Items => cast.fill(frame.ask_items, 0, 0),
            Phase::PerGroup => cast.fill(frame.ask_group, 0, 0),
            Phase::Measure => cast.fill(frame.ask_measure, 0, 0),
        };
        Word { story, question, start, steps, value: q }
    }

    fn prompt(&self) -> String {
        let mut text = self.story.join(" ");
        text.push(' ');
        text.push_str(&self.question);
        text
    }

    fn answer(&self) -> String {
        self.value.to_string()
    }

    fn check(&self, answer: &str) -> Verdict {
        match final_integer(answer) {
            Some(v) => Verdict::judge(v == self.value, format!("expected {}, read {v}", self.value)),
            None => Verdict::unparsable(format!("no integer in the answer {answer:?}")),
        }
    }

    fn canonical(&self, answer: &str) -> Option<String> {
        final_integer(answer).map(|v| v.to_string())
    }

    fn solve(&self, trace: &mut Trace<'_>) -> String {
        trace.line(format!("Start: {} {}.", self.start.0, self.start.1));
        for step in &self.steps {
            match step {
                Step::Ignore { note } => trace.line(note),
                Step::Compute { label, a, op, b, unit, sentence } => {
                    if let Some(sentence) = sentence {
                        trace.line(format!("\"{sentence}\""));
                    }
                    let result = op.apply(*a, *b);
                    let sym = op.symbol();
                    let right = format!("{label}: {a} {sym} {b} = {result} {unit}.");
                    for line in working(*a, sym, *b) {
                        trace.line(line);
                    }
                    if trace.slip() {
                        let wrong = slip_number(trace.rng(), result);
                        trace.mistake(
                            format!("{label}: {a} {sym} {b} = {wrong} {unit}."),
                            format!("{a} {sym} {b} is {result}, not {wrong}."),
                            right,
                        );
                    } else {
                        trace.line(right);
                    }
                }
            }
        }
        trace.line(format!("So the answer is {}.", self.value));
        self.value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Family;
    use rand::SeedableRng;

    /// Every level's problems for seeds `0..seeds`, with their word-problem spec.
    fn problems(seeds: u64) -> impl Iterator<Item = (u8, u64, crate::Problem, Word)> {
        (1..=Word::LEVELS).flat_map(move |level| {
            (0..seeds).map(move |seed| {
                let p = Family::Word.generate(level, seed).expect("valid level");
                let crate::Spec::Word(w) = p.spec.clone() else { panic!("not a word problem") };
                (level, seed, p, w)
            })
        })
    }

    #[test]
    fn the_steps_reach_the_value_with_the_right_number_of_operations() {
        for (level, _, p, w) in problems(100) {
            let results: Vec<i64> = w
                .steps
                .iter()
                .filter_map(|s| match s {
                    Step::Compute { a, op, b, .. } => Some(op.apply(*a, *b)),
                    Step::Ignore { .. } => None,
                })
                .collect();
            assert_eq!(results.len(), usize::from(level), "{}", p.prompt);
            assert!(results.iter().all(|&r| r > 0), "{}", p.prompt);
            assert_eq!(results.last(), Some(&w.value), "{}", p.prompt);
            assert!(w.value >= 0);
            let distractors = w.steps.iter().filter(|s| matches!(s, Step::Ignore { .. })).count();
            assert_eq!(distractors > 0, level >= 4, "{}", p.prompt);
        }
    }

    #[test]
    fn every_story_sentence_after_the_first_is_quoted_before_its_steps() {
        for (_, seed, p, w) in problems(50) {
            let thinking = p.solve(&mut Rng::seed_from_u64(seed), 0.0).completion();
            let mut last = 0;
            for sentence in &w.story[1..] {
                let at = thinking[last..].find(&format!("\"{sentence}\"")).map(|i| i + last);
                last = at.unwrap_or_else(|| panic!("{sentence:?} not quoted in order in\n{thinking}"));
            }
            for step in &w.steps {
                if let Step::Compute { b, sentence: Some(sentence), .. } = step {
                    assert!(sentence.contains(&b.to_string()), "{sentence} / {b}");
                }
            }
        }
    }

    #[test]
    fn solutions_verify_and_slips_are_caught() {
        for level in 1..=Word::LEVELS {
            for seed in 0..50 {
                let p = Family::Word.generate(level, seed).expect("valid level");
                let mut rng = Rng::seed_from_u64(seed);
                let clean = p.solve(&mut rng, 0.0);
                assert!(p.verify(&clean.completion()).is_correct(), "{}", clean.completion());
                assert_eq!(clean.mistakes, 0);
                let messy = p.solve(&mut rng, 1.0);
                assert!(messy.mistakes > 0);
                assert!(p.verify(&messy.completion()).is_correct());
                assert!(!p.verify(&(p.answer.parse::<i64>().expect("integer") + 1).to_string()).is_correct());
            }
        }
    }

    #[test]
    fn answers_with_units_and_words_are_read() {
        let p = Family::Word.generate(1, 3).expect("valid level");
        let v = &p.answer;
        assert!(p.verify(&format!("<think>x</think>The answer is {v} kg.")).is_correct());
        assert!(p.verify(&format!("<think>x</think>**{v}**")).is_correct());
        assert_eq!(p.verify("<think>x</think>many").outcome, crate::Outcome::Unparsable);
    }
}
