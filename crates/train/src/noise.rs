//! The gradient noise scale (McCandlish et al. 2018, "An Empirical Model of Large-Batch
//! Training"): how many examples a batch needs before its gradient is more signal than noise.
//!
//! With `K` independent batch gradients `g_i`, each the mean over `B` examples of a
//! per-example gradient with mean `G` and covariance `Σ`:
//!
//! * `|G|²` is estimated without bias by the mean dot product of distinct batches,
//!   `Σ_{i≠j} g_i · g_j / (K (K − 1))` (a batch's own noise cancels out of it);
//! * `tr(Σ) / B` by the spread of the batches around their mean, `Σ |g_i − ḡ|² / (K − 1)`;
//! * the *simple noise scale* `B_simple = tr(Σ) / |G|²` is the batch size at which a batch
//!   gradient's noise equals its signal. A batch of `B` examples has signal-to-noise ratio
//!   `B / B_simple`; far below `B_simple`, each step is mostly a random direction.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What independent batch gradients say about their signal and noise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseScale {
    /// Independent batches measured.
    pub batches: usize,
    /// Examples per batch (mean, when batches differ).
    pub batch_size: f64,
    /// Estimate of `|G|²`, the squared norm of the true gradient (can come out ≤ 0 when
    /// the signal is too small to tell from the noise).
    pub signal: f64,
    /// Estimate of `tr(Σ)`, the per-example gradient variance.
    pub noise: f64,
    /// `tr(Σ) / |G|²`: the batch size at which noise equals signal (infinite when the
    /// signal estimate is not positive).
    pub critical_batch: f64,
    /// Mean cosine similarity between distinct batch gradients: near 1 when batches agree,
    /// near 0 when each is mostly noise.
    pub cosine: f64,
    /// Norm of the mean of the batch gradients.
    pub mean_norm: f64,
}

/// The noise scale of `gradients`, each a flattened gradient averaged over `batch_size`
/// examples. Needs at least two gradients of one length.
pub fn noise_scale(gradients: &[Vec<f32>], batch_size: f64) -> Result<NoiseScale> {
    let k = gradients.len();
    let len = gradients.first().map_or(0, Vec::len);
    if k < 2 || len == 0 || gradients.iter().any(|g| g.len() != len) {
        return Err(Error::Config(format!(
            "the noise scale needs two or more gradients of one non-zero length, got {k} of lengths {:?}",
            gradients.iter().map(Vec::len).collect::<Vec<_>>()
        )));
    }
    let mean = mean_f64(gradients);
    let norms: Vec<f64> = gradients.iter().map(|g| dot(g, g).sqrt()).collect();
    let (mut cross, mut cosine) = (0.0, 0.0);
    for i in 0..k {
        for j in i + 1..k {
            let d = dot(&gradients[i], &gradients[j]);
            cross += d;
            cosine += d / (norms[i] * norms[j]).max(f64::MIN_POSITIVE);
        }
    }
    let pairs = (k * (k - 1) / 2) as f64;
    let signal = cross / pairs;
    let spread: f64 =
        gradients.iter().map(|g| g.iter().zip(&mean).map(|(&x, &m)| (x as f64 - m).powi(2)).sum::<f64>()).sum();
    let noise = batch_size * spread / (k - 1) as f64;
    Ok(NoiseScale {
        batches: k,
        batch_size,
        signal,
        noise,
        critical_batch: if signal > 0.0 { noise / signal } else { f64::INFINITY },
        cosine: cosine / pairs,
        mean_norm: mean.iter().map(|m| m * m).sum::<f64>().sqrt(),
    })
}

/// Cosine similarity of two flattened gradients.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    dot(a, b) / (dot(a, a) * dot(b, b)).sqrt().max(f64::MIN_POSITIVE)
}

/// The element-wise mean of flattened gradients of one length.
pub fn mean(gradients: &[Vec<f32>]) -> Vec<f32> {
    mean_f64(gradients).into_iter().map(|m| m as f32).collect()
}

/// [`mean`], kept in f64.
fn mean_f64(gradients: &[Vec<f32>]) -> Vec<f64> {
    let (len, k) = (gradients.first().map_or(0, Vec::len), gradients.len() as f64);
    (0..len).map(|p| gradients.iter().map(|g| g[p] as f64).sum::<f64>() / k).collect()
}

/// `a · b`, accumulated in f64.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn hand_computed_values() {
        // g1 = (1, 0), g2 = (0, 1): |G|² ≈ g1·g2 = 0; spread around (½, ½) = ½ + ½ = 1.
        let s = noise_scale(&[vec![1.0, 0.0], vec![0.0, 1.0]], 4.0).expect("scale");
        assert_eq!(s.signal, 0.0);
        assert!((s.noise - 4.0).abs() < 1e-12);
        assert!(s.critical_batch.is_infinite());
        // g1 = (1, 1), g2 = (3, 1): |G|² ≈ 4; spread around (2, 1) = 1 + 1 = 2; tr Σ = 2 · 2.
        let s = noise_scale(&[vec![1.0, 1.0], vec![3.0, 1.0]], 2.0).expect("scale");
        assert!((s.signal - 4.0).abs() < 1e-12 && (s.noise - 4.0).abs() < 1e-12);
        assert!((s.critical_batch - 1.0).abs() < 1e-12);
        assert!((s.cosine - 4.0 / (2f64.sqrt() * 10f64.sqrt())).abs() < 1e-12);
        assert!(noise_scale(&[vec![1.0]], 1.0).is_err(), "one gradient says nothing about noise");
        assert!(noise_scale(&[vec![1.0], vec![1.0, 2.0]], 1.0).is_err(), "lengths differ");
    }

    /// Batch means of per-example gradients with a known mean and covariance: the
    /// estimate recovers `B_simple = tr(Σ) / |G|²`.
    #[test]
    fn recovers_a_known_noise_scale() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (dims, batch, batches, sigma) = (200, 16, 400, 2.0f32);
        let signal: Vec<f32> = (0..dims).map(|i| if i % 2 == 0 { 0.1 } else { -0.1 }).collect();
        let normal = Normal::new(0.0f32, sigma).expect("normal");
        let gradients: Vec<Vec<f32>> = (0..batches)
            .map(|_| {
                let mut g = vec![0f32; dims];
                for _ in 0..batch {
                    for (x, s) in g.iter_mut().zip(&signal) {
                        *x += (s + normal.sample(&mut rng)) / batch as f32;
                    }
                }
                g
            })
            .collect();
        let s = noise_scale(&gradients, batch as f64).expect("scale");
        let want = dims as f64 * (sigma as f64).powi(2) / (dims as f64 * 0.01); // tr Σ / |G|² = 400
        assert!((s.critical_batch / want - 1.0).abs() < 0.1, "{} vs {want}", s.critical_batch);
        assert!(s.cosine < 0.1, "16 examples against a noise scale of 400 barely agree: {}", s.cosine);
    }
}
