//! Small English helpers shared by the story-writing families.

/// The plural of a regular noun: "bags", "boxes", "benches", "cherries".
pub fn plural(noun: &str) -> String {
    let ends_consonant_y =
        noun.ends_with('y') && noun.len() > 1 && !noun[..noun.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if ends_consonant_y {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if noun.ends_with(['s', 'x', 'z']) || noun.ends_with("ch") || noun.ends_with("sh") {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

/// The noun with its indefinite article: "a piano", "an oboe".
pub fn with_article(noun: &str) -> String {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

/// Number words for small quantities.
pub const NUMBER_WORDS: [&str; 13] =
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_the_spelling_rules() {
        assert_eq!(plural("bag"), "bags");
        assert_eq!(plural("box"), "boxes");
        assert_eq!(plural("bench"), "benches");
        assert_eq!(plural("cherry"), "cherries");
        assert_eq!(plural("trolley"), "trolleys");
        assert_eq!(plural("bus"), "buses");
    }

    #[test]
    fn articles_follow_the_first_letter() {
        assert_eq!(with_article("oboe"), "an oboe");
        assert_eq!(with_article("piano"), "a piano");
    }
}
