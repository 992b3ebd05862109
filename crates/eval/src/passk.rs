//! The unbiased pass@k estimator of Chen et al. (2021), "Evaluating Large Language Models
//! Trained on Code": with `n` samples of which `c` are correct,
//! pass@k = 1 − C(n − c, k) / C(n, k), computed as a stable product.

/// Probability that at least one of `k` samples drawn without replacement from `n`
/// (of which `c` are correct) is correct. `k` is clamped to `n`.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> f64 {
    let k = k.min(n);
    if k == 0 {
        return 0.0;
    }
    if n - c < k {
        return 1.0;
    }
    // C(n−c, k) / C(n, k) = Π_{i = n−c+1}^{n} (1 − k / i)
    1.0 - ((n - c + 1)..=n).map(|i| 1.0 - k as f64 / i as f64).product::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_values() {
        assert_eq!(pass_at_k(10, 0, 5), 0.0);
        assert_eq!(pass_at_k(10, 10, 1), 1.0);
        assert!((pass_at_k(10, 3, 1) - 0.3).abs() < 1e-12);
        // 1 − C(2,2)/C(4,2) = 1 − 1/6
        assert!((pass_at_k(4, 2, 2) - 5.0 / 6.0).abs() < 1e-12);
        // 1 − C(7,3)/C(10,3) = 1 − 35/120
        assert!((pass_at_k(10, 3, 3) - 85.0 / 120.0).abs() < 1e-12);
        assert_eq!(pass_at_k(5, 1, 5), 1.0);
        assert_eq!(pass_at_k(5, 1, 9), 1.0);
    }
}
