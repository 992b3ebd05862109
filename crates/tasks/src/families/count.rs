//! `count`: count the items of one category in a list ("I have a clarinet, a piano, a
//! dog, and two violins. How many musical instruments do I have?").
//!
//! A built-in lexicon of nine categories holds 250 nouns with their plurals. Difficulty
//! sets the list length, the largest quantity ("seven drums") and how many entries come
//! from other categories (distractors). The trace walks the list entry by entry, names
//! each entry's own category (a lookup that does not depend on the question), compares it
//! with the category asked about, and keeps a running count.

use std::sync::LazyLock;

use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::Task;
use crate::english::{plural, with_article, NUMBER_WORDS};
use crate::extract::final_integer;
use crate::{slip_number, Rng, Trace, Verdict};

/// A category of the lexicon: its name in questions, in traces, and its nouns
/// (`singular` or `singular|plural` for irregular plurals).
struct Category {
    question: &'static str,
    label: &'static str,
    nouns: &'static str,
}

const CATEGORIES: [Category; 9] = [
    Category {
        question: "musical instruments",
        label: "instrument",
        nouns: "piano violin clarinet flute trumpet drum guitar cello harp saxophone trombone oboe banjo accordion tuba \
                ukulele harmonica xylophone bassoon viola mandolin tambourine organ piccolo marimba sitar cymbal bugle gong kazoo lute ocarina recorder bongo",
    },
    Category {
        question: "animals",
        label: "animal",
        nouns: "dog cat rabbit goat cow horse pig sheep|sheep mouse|mice duck chicken frog snake goose|geese donkey \
                hamster parrot turtle lizard fish|fish bear fox wolf|wolves deer|deer owl lion tiger zebra camel monkey giraffe elephant hippo kangaroo koala panda penguin \
                squirrel hedgehog badger otter beaver raccoon",
    },
    Category {
        question: "pieces of furniture",
        label: "furniture",
        nouns: "chair table sofa bed desk wardrobe bookshelf|bookshelves stool bench dresser couch armchair \
                cabinet nightstand ottoman cupboard futon recliner crib loveseat sideboard hutch \
                rocker footstool highchair",
    },
    Category {
        question: "fruits",
        label: "fruit",
        nouns: "apple banana orange pear peach plum grape mango|mangoes cherry lemon lime kiwi \
                strawberry raspberry blackberry nectarine apricot watermelon \
                pineapple papaya fig coconut melon pomegranate guava lychee tangerine grapefruit \
                clementine date",
    },
    Category {
        question: "vegetables",
        label: "vegetable",
        nouns: "carrot potato|potatoes onion cabbage cauliflower cucumber zucchini eggplant radish turnip \
                beet yam leek artichoke parsnip shallot rutabaga kohlrabi celeriac daikon",
    },
    Category {
        question: "vehicles",
        label: "vehicle",
        nouns: "car bus truck bicycle motorcycle train tractor scooter van boat airplane helicopter taxi \
                ambulance sailboat canoe tram jeep minivan limousine trolley wagon sled submarine \
                ferry yacht",
    },
    Category {
        question: "tools",
        label: "tool",
        nouns: "hammer screwdriver wrench saw drill chisel shovel rake axe ladder mallet crowbar trowel hoe \
                sander clamp spanner pickaxe hacksaw sledgehammer pitchfork scraper",
    },
    Category {
        question: "pieces of clothing",
        label: "clothing",
        nouns: "shirt sweater jacket coat scarf|scarves hat dress skirt glove tie vest blouse hoodie cardigan \
                belt cap raincoat uniform overcoat poncho kimono tunic tuxedo",
    },
    Category {
        question: "kitchen utensils",
        label: "kitchen utensil",
        nouns: "spoon fork knife|knives ladle whisk spatula pan pot kettle colander grater peeler teapot mug \
                bowl plate cup saucepan sieve skillet wok jug platter saucer",
    },
];

/// One noun of the lexicon.
struct Noun {
    singular: &'static str,
    plural: String,
    category: usize,
}

/// The lexicon, parsed once.
static LEXICON: LazyLock<Vec<Noun>> = LazyLock::new(|| {
    CATEGORIES
        .iter()
        .enumerate()
        .flat_map(|(category, c)| {
            c.nouns.split_whitespace().map(move |entry| {
                let (singular, plural) = match entry.split_once('|') {
                    Some((s, p)) => (s, p.to_string()),
                    None => (entry, plural(entry)),
                };
                Noun { singular, plural, category }
            })
        })
        .collect()
});

/// One entry of the list: a quantity of a noun.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// How many.
    pub quantity: u32,
    /// The noun as written ("violins", "piano").
    pub noun: String,
    /// The label of the noun's own category ("instrument", "furniture"); the entry counts
    /// when it is the label asked about.
    pub kind: String,
}

impl Entry {
    /// The entry as written in the list: "a piano", "an oboe", "two violins".
    fn phrase(&self) -> String {
        match self.quantity {
            1 => with_article(&self.noun),
            q => format!("{} {}", NUMBER_WORDS[q as usize], self.noun),
        }
    }
}

/// A counting problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    /// The list, in the order written.
    pub entries: Vec<Entry>,
    /// The category asked about, as in the question ("musical instruments").
    pub category: String,
    /// The category's label in the trace ("instrument").
    pub label: String,
    /// How the list is introduced ("I have").
    pub opener: String,
}

/// List length, largest quantity and number of distractors for a level.
fn shape(difficulty: u8) -> (std::ops::RangeInclusive<usize>, u32, std::ops::RangeInclusive<usize>) {
    match difficulty {
        1 => (3..=4, 1, 0..=1),
        2 => (4..=5, 3, 1..=2),
        3 => (6..=7, 5, 2..=3),
        4 => (8..=10, 9, 3..=4),
        _ => (11..=14, 12, 4..=6),
    }
}

impl Count {
    /// Whether an entry belongs to the category asked about.
    fn counts(&self, entry: &Entry) -> bool {
        entry.kind == self.label
    }

    fn total(&self) -> u32 {
        self.entries.iter().filter(|e| self.counts(e)).map(|e| e.quantity).sum()
    }
}

impl Task for Count {
    const LEVELS: u8 = 5;
    const ANSWER_FORMAT: &'static str = "an integer, e.g. `4` (the last number in the answer counts)";

    fn level_description(difficulty: u8) -> String {
        let (len, max_q, distractors) = shape(difficulty);
        format!(
            "{}-{} entries, quantities up to {max_q}, {}-{} from other categories",
            len.start(),
            len.end(),
            distractors.start(),
            distractors.end()
        )
    }

    fn generate(rng: &mut Rng, difficulty: u8) -> Self {
        let (len, max_q, distractors) = shape(difficulty);
        let len = rng.random_range(len);
        let distractors = rng.random_range(distractors).min(len - 1);
        let category = rng.random_range(0..CATEGORIES.len());
        let inside: Vec<&Noun> = LEXICON.iter().filter(|n| n.category == category).collect();
        let outside: Vec<&Noun> = LEXICON.iter().filter(|n| n.category != category).collect();
        let mut picked: Vec<&Noun> = inside.choose_multiple(rng, len - distractors).copied().collect();
        picked.extend(outside.choose_multiple(rng, distractors).copied());
        picked.shuffle(rng);
        let entries = picked
            .into_iter()
            .map(|noun| {
                let quantity = if max_q > 1 && rng.random_bool(0.5) { rng.random_range(2..=max_q) } else { 1 };
                let word = if quantity == 1 { noun.singular.to_string() } else { noun.plural.clone() };
                Entry { quantity, noun: word, kind: CATEGORIES[noun.category].label.into() }
            })
            .collect();
        let opener = ["I have", "In my house there are", "My friend owns", "On the list are"]
            .choose(rng)
            .expect("openers are not empty");
        Count {
            entries,
            category: CATEGORIES[category].question.to_string(),
            label: CATEGORIES[category].label.to_string(),
            opener: opener.to_string(),
        }
    }

    fn prompt(&self) -> String {
        let phrases: Vec<String> = self.entries.iter().map(Entry::phrase).collect();
        let list = match phrases.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{}, and {last}", init.join(", ")),
        };
        let question = match self.opener.as_str() {
            "I have" => "do I have",
            "My friend owns" => "does my friend own",
            "In my house there are" => "are in my house",
            _ => "are on the list",
        };
        format!("{} {list}. How many {} {question}?", self.opener, self.category)
    }

    fn answer(&self) -> String {
        self.total().to_string()
    }

    fn check(&self, answer: &str) -> Verdict {
        let expected = i64::from(self.total());
        match final_integer(answer) {
            Some(v) => Verdict::judge(v == expected, format!("expected {expected}, read {v}")),
            None => Verdict::unparsable(format!("no integer in the answer {answer:?}")),
        }
    }

    fn canonical(&self, answer: &str) -> Option<String> {
        final_integer(answer).map(|v| v.to_string())
    }

    fn solve(&self, trace: &mut Trace<'_>) -> String {
        trace.line(format!("Count the {}, entry by entry.", self.category));
        let mut total = 0u32;
        for entry in &self.entries {
            let phrase = entry.phrase();
            if self.counts(entry) {
                let next = total + entry.quantity;
                let right = format!("{phrase}: {}, {total} + {} = {next}", self.label, entry.quantity);
                if trace.slip() {
                    let wrong = slip_number(trace.rng(), i64::from(next));
                    trace.mistake(
                        format!("{phrase}: {}, {total} + {} = {wrong}", self.label, entry.quantity),
                        format!("{total} + {} is {next}, not {wrong}.", entry.quantity),
                        right,
                    );
                } else {
                    trace.line(right);
                }
                total = next;
            } else {
                let right = format!("{phrase}: {}, not {}, still {total}", entry.kind, label_with_article(&self.label));
                if trace.slip() {
                    let wrong = total + entry.quantity;
                    trace.mistake(
                        format!("{phrase}: {}, {total} + {} = {wrong}", self.label, entry.quantity),
                        match entry.quantity {
                            1 => format!("{phrase} is not {}, so it does not count.", label_with_article(&self.label)),
                            _ => format!("{} are not {}, so they do not count.", entry.noun, self.category),
                        },
                        right,
                    );
                } else {
                    trace.line(right);
                }
            }
        }
        trace.line(format!("Total: {total}."));
        total.to_string()
    }
}

/// "an instrument", "a fruit", "clothing" (mass nouns take no article).
fn label_with_article(label: &str) -> String {
    match label {
        "furniture" | "clothing" => label.to_string(),
        l => with_article(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Family;
    use rand::SeedableRng;

    #[test]
    fn the_lexicon_has_hundreds_of_distinct_nouns() {
        assert!(LEXICON.len() >= 200, "{}", LEXICON.len());
        let mut singulars: Vec<&str> = LEXICON.iter().map(|n| n.singular).collect();
        singulars.sort_unstable();
        singulars.dedup();
        assert_eq!(singulars.len(), LEXICON.len(), "a noun appears in two categories");
    }

    #[test]
    fn the_example_from_the_talk_reads_naturally() {
        let count = Count {
            entries: vec![
                Entry { quantity: 1, noun: "clarinet".into(), kind: "instrument".into() },
                Entry { quantity: 1, noun: "piano".into(), kind: "instrument".into() },
                Entry { quantity: 1, noun: "dog".into(), kind: "animal".into() },
                Entry { quantity: 2, noun: "violins".into(), kind: "instrument".into() },
            ],
            category: "musical instruments".into(),
            label: "instrument".into(),
            opener: "I have".into(),
        };
        assert_eq!(
            count.prompt(),
            "I have a clarinet, a piano, a dog, and two violins. How many musical instruments do I have?"
        );
        assert_eq!(count.answer(), "4");
        assert!(count.check("4 instruments").is_correct());
        assert!(!count.check("5").is_correct());
    }

    #[test]
    fn solutions_verify_and_mistakes_are_caught() {
        for level in 1..=Count::LEVELS {
            for seed in 0..50 {
                let p = Family::Count.generate(level, seed).expect("valid level");
                let mut rng = Rng::seed_from_u64(seed);
                let clean = p.solve(&mut rng, 0.0);
                assert!(p.verify(&clean.completion()).is_correct(), "{}", clean.completion());
                let messy = p.solve(&mut rng, 1.0);
                assert!(messy.mistakes > 0);
                assert!(p.verify(&messy.completion()).is_correct(), "{}", messy.completion());
                let off = p.answer.parse::<i64>().expect("integer") + 1;
                assert!(!p.verify(&off.to_string()).is_correct());
            }
        }
    }

    #[test]
    fn the_trace_names_each_entrys_own_category_before_comparing() {
        let p = (0..100)
            .map(|seed| Family::Count.generate(2, seed).expect("valid level"))
            .find(|p| matches!(&p.spec, crate::Spec::Count(c) if c.entries.iter().any(|e| !c.counts(e))))
            .expect("level 2 has distractors");
        let crate::Spec::Count(c) = &p.spec else { unreachable!() };
        let thinking = p.solve(&mut Rng::seed_from_u64(0), 0.0).completion();
        for entry in &c.entries {
            let line = thinking.lines().find(|l| l.starts_with(&format!("{}:", entry.phrase()))).expect("one line");
            assert!(line.starts_with(&format!("{}: {}, ", entry.phrase(), entry.kind)), "{line}");
            assert_eq!(line.contains(", not "), !c.counts(entry), "{line}");
        }
    }

    #[test]
    fn levels_grow_in_length_and_distractors() {
        for level in 1..=Count::LEVELS {
            let (len, _, distractors) = shape(level);
            for seed in 0..30 {
                let p = Family::Count.generate(level, seed).expect("valid level");
                let crate::Spec::Count(c) = &p.spec else { panic!("not a count problem") };
                assert!(len.contains(&c.entries.len()));
                let outside = c.entries.iter().filter(|e| !c.counts(e)).count();
                assert!(outside <= *distractors.end());
            }
        }
    }
}
