//! A curriculum that keeps RL problems at the edge of the policy's competence: each
//! family climbs its list of levels when the policy's recent accuracy at the current
//! level passes a threshold. A share of problems replays the levels already passed, so
//! the easy skills are not forgotten.

use ponder_tasks::{Family, Rng};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// When to move up, and how much to replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurriculumConfig {
    /// Move to the next level when the mean group accuracy of the last `window` groups
    /// at the current level reaches this.
    pub promote_at: f32,
    /// Groups averaged for the decision.
    pub window: usize,
    /// Probability that a problem is drawn from a lower level of the family's list.
    pub replay: f64,
    /// Relative weight of a family's draws (1 for a family not listed; all 1: uniform).
    #[serde(default)]
    pub weights: Vec<(Family, f64)>,
}

impl Default for CurriculumConfig {
    fn default() -> Self {
        Self { promote_at: 0.7, window: 16, replay: 0.2, weights: Vec::new() }
    }
}

/// One family's place in its list of levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyProgress {
    /// The family.
    pub family: Family,
    /// Its levels, easiest first.
    pub levels: Vec<u8>,
    /// Index of the current level in `levels`.
    pub current: usize,
    /// Accuracies of the latest groups at the current level (at most `window`).
    pub recent: Vec<f32>,
}

/// The curriculum's state (saved with checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curriculum {
    /// Progress per family.
    pub families: Vec<FamilyProgress>,
}

impl Curriculum {
    /// Every family starts at the first of its levels.
    pub fn new(sources: &[(Family, Vec<u8>)]) -> Self {
        let families = sources
            .iter()
            .filter(|(_, levels)| !levels.is_empty())
            .map(|(family, levels)| FamilyProgress {
                family: *family,
                levels: levels.clone(),
                current: 0,
                recent: vec![],
            })
            .collect();
        Self { families }
    }

    /// The (family, level) of the next problem: a family in proportion to its weight
    /// (uniformly without weights), then its current level, or with probability `replay`
    /// one of its lower levels.
    pub fn draw(&self, rng: &mut Rng, config: &CurriculumConfig) -> (Family, u8) {
        let f = if config.weights.is_empty() {
            &self.families[rng.random_range(0..self.families.len())]
        } else {
            let weight = |f: &FamilyProgress| config.weights.iter().find(|(w, _)| *w == f.family).map_or(1.0, |w| w.1);
            let total: f64 = self.families.iter().map(weight).sum();
            let mut left = rng.random::<f64>() * total;
            let last = self.families.len() - 1;
            let index = self.families.iter().position(|f| {
                left -= weight(f);
                left < 0.0
            });
            &self.families[index.unwrap_or(last)]
        };
        let index =
            if f.current > 0 && rng.random_bool(config.replay) { rng.random_range(0..f.current) } else { f.current };
        (f.family, f.levels[index])
    }

    /// Records a group's accuracy at (family, level); returns the new level when the
    /// family moves up.
    pub fn record(&mut self, family: Family, level: u8, accuracy: f32, config: &CurriculumConfig) -> Option<u8> {
        let f = self.families.iter_mut().find(|f| f.family == family)?;
        if f.levels[f.current] != level {
            return None; // a replayed level: does not count toward promotion
        }
        f.recent.push(accuracy);
        if f.recent.len() > config.window {
            f.recent.remove(0);
        }
        let mean = f.recent.iter().sum::<f32>() / f.recent.len() as f32;
        if f.recent.len() == config.window && mean >= config.promote_at && f.current + 1 < f.levels.len() {
            f.current += 1;
            f.recent.clear();
            return Some(f.levels[f.current]);
        }
        None
    }

    /// The current level of every family, as `family -> level`.
    pub fn levels(&self) -> std::collections::BTreeMap<String, u8> {
        self.families.iter().map(|f| (f.family.to_string(), f.levels[f.current])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_family_moves_up_after_a_window_of_high_accuracy() {
        let config = CurriculumConfig { promote_at: 0.7, window: 3, replay: 0.0, weights: Vec::new() };
        let mut c = Curriculum::new(&[(Family::Word, vec![2, 3, 4]), (Family::Count, vec![1])]);
        assert_eq!(c.record(Family::Word, 2, 1.0, &config), None);
        assert_eq!(c.record(Family::Word, 2, 0.25, &config), None); // mean 0.625 < 0.7 after 3
        assert_eq!(c.record(Family::Word, 2, 0.625, &config), None);
        assert_eq!(c.record(Family::Word, 2, 1.0, &config), None); // last 3: 0.25, 0.625, 1 → 0.625
        assert_eq!(c.record(Family::Word, 2, 1.0, &config), Some(3)); // 0.625, 1, 1 → 0.875
        assert_eq!(c.levels()["word"], 3);
        // A replayed lower level does not count; the last level is the top.
        assert_eq!(c.record(Family::Word, 2, 1.0, &config), None);
        for _ in 0..3 {
            c.record(Family::Count, 1, 1.0, &config);
        }
        assert_eq!(c.levels()["count"], 1);
    }

    #[test]
    fn draws_replay_lower_levels_at_the_configured_rate() {
        let config = CurriculumConfig { replay: 0.25, ..CurriculumConfig::default() };
        let mut c = Curriculum::new(&[(Family::Word, vec![2, 3, 4])]);
        c.families[0].current = 2;
        let mut rng = Rng::seed_from_u64(7);
        let draws: Vec<u8> = (0..4000).map(|_| c.draw(&mut rng, &config).1).collect();
        let lower = draws.iter().filter(|&&l| l < 4).count() as f64 / 4000.0;
        assert!((lower - 0.25).abs() < 0.03, "{lower}");
        assert!(draws.contains(&2) && draws.contains(&3));
    }

    #[test]
    fn families_are_drawn_in_proportion_to_their_weights() {
        let config = CurriculumConfig { weights: vec![(Family::Word, 0.25)], ..CurriculumConfig::default() };
        let c = Curriculum::new(&[(Family::Count, vec![2]), (Family::Word, vec![1])]);
        let mut rng = Rng::seed_from_u64(3);
        let words = (0..8000).filter(|_| c.draw(&mut rng, &config).0 == Family::Word).count() as f64 / 8000.0;
        assert!((words - 0.2).abs() < 0.015, "{words}"); // 0.25 / (1 + 0.25)
    }
}
