//! Seeds and the train / held-out split.

use serde::{Deserialize, Serialize};

/// Which side of the train / held-out divide a problem is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Training data (pretraining traces, RL problems): 7 of every 8 prompts.
    Train,
    /// Held-out evaluation problems: 1 of every 8 prompts.
    Test,
}

impl Split {
    /// The split a prompt belongs to, from a stable hash (FNV-1a, 64 bit) of its text.
    /// The same text always lands on the same side, so the two sets are disjoint
    /// whatever seeds produced them.
    pub fn of_prompt(prompt: &str) -> Split {
        if fnv1a(prompt.as_bytes()).is_multiple_of(8) {
            Split::Test
        } else {
            Split::Train
        }
    }
}

/// A 64-bit FNV-1a hash: tiny, stable across platforms and Rust versions.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Derives an independent seed from a run seed and a path of indices (family, step,
/// problem, sample, …) with the SplitMix64 finaliser, so every random choice in a run
/// has its own reproducible stream.
pub fn seed_for(seed: u64, path: &[u64]) -> u64 {
    let mut z = seed;
    for &p in path {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(p.wrapping_mul(0xbf58_476d_1ce4_e5b9));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_known_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn about_one_eighth_is_held_out() {
        let test = (0..8000).filter(|i| Split::of_prompt(&format!("problem {i}")) == Split::Test).count();
        assert!((800..1200).contains(&test), "{test} of 8000 held out");
    }

    #[test]
    fn seeds_depend_on_every_index() {
        assert_ne!(seed_for(1, &[0, 1]), seed_for(1, &[1, 0]));
        assert_ne!(seed_for(1, &[0]), seed_for(2, &[0]));
        assert_eq!(seed_for(7, &[3, 4]), seed_for(7, &[3, 4]));
    }
}
