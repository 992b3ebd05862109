//! AdamW with decoupled weight decay, global-norm gradient clipping and a warmup + cosine
//! learning-rate schedule. Written here rather than taken from candle-nn because a resumed
//! run must continue *identically*, which needs the optimizer moments saved and restored
//! (candle's `AdamW` keeps them private).

use std::collections::HashMap;
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Optimizer settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// Peak learning rate (small models tolerate a high one).
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay (0.95 rather than 0.999: steadier for short, noisy runs).
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
    /// Decoupled weight decay on matrices (norm gains are not decayed).
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (0 = off).
    pub grad_clip: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self { lr: 2e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1, grad_clip: 1.0 }
    }
}

/// Warmup then cosine decay to `min_ratio` of the peak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Linear warmup steps.
    pub warmup: u64,
    /// Total steps (the cosine reaches its floor here).
    pub total: u64,
    /// Final learning rate as a fraction of the peak.
    pub min_ratio: f64,
}

impl Schedule {
    /// Learning-rate multiplier at `step` (0-based).
    pub fn factor(&self, step: u64) -> f64 {
        if step < self.warmup {
            return (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup).max(1) as f64;
        let progress = ((step - self.warmup) as f64 / span).min(1.0);
        self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

/// AdamW over named variables.
pub struct AdamW {
    config: AdamWConfig,
    params: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    steps: u64,
}

impl AdamW {
    /// An optimizer for `params` (sorted by name, so state files line up).
    pub fn new(mut params: Vec<(String, Var)>, config: AdamWConfig) -> Result<Self> {
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |v: &Var| v.as_tensor().zeros_like();
        let m = params.iter().map(|(_, v)| zeros(v)).collect::<candle_core::Result<_>>()?;
        let v = params.iter().map(|(_, v)| zeros(v)).collect::<candle_core::Result<_>>()?;
        Ok(Self { config, params, m, v, steps: 0 })
    }

    /// An optimizer for every variable of `varmap`.
    pub fn for_varmap(varmap: &candle_nn::VarMap, config: AdamWConfig) -> Result<Self> {
        let data =
            varmap.data().lock().map_err(|_| crate::Error::Config("the variable map's lock is poisoned".into()))?;
        Self::new(data.iter().map(|(k, v)| (k.clone(), v.clone())).collect(), config)
    }

    /// The L2 norm of all gradients together.
    pub fn grad_norm(&self, grads: &GradStore) -> Result<f64> {
        let mut total = 0.0;
        for (_, var) in &self.params {
            if let Some(g) = grads.get(var.as_tensor()) {
                total += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        Ok(total.sqrt())
    }

    /// Every parameter's gradient in `grads` as one vector, in this optimizer's (name)
    /// order; zeros for a parameter without one, so vectors of different batches line up.
    pub fn flatten(&self, grads: &GradStore) -> Result<Vec<f32>> {
        let mut flat = Vec::new();
        for (_, var) in &self.params {
            let g = match grads.get(var.as_tensor()) {
                Some(g) => g.flatten_all()?.to_vec1::<f32>()?,
                None => vec![0.0; var.as_tensor().elem_count()],
            };
            flat.extend(g);
        }
        Ok(flat)
    }

    /// Adds the gradients of `more` (a later micro-batch) into `total`, for every
    /// parameter this optimizer holds.
    pub fn accumulate(&self, total: &mut GradStore, more: &GradStore) -> Result<()> {
        for (_, var) in &self.params {
            let t = var.as_tensor();
            if let Some(g) = more.get(t) {
                let sum = match total.get(t) {
                    Some(a) => (a + g)?,
                    None => g.clone(),
                };
                total.insert(t, sum);
            }
        }
        Ok(())
    }

    /// One update at learning rate `lr`, clipping by the precomputed global `grad_norm`.
    pub fn step(&mut self, grads: &GradStore, lr: f64, grad_norm: f64) -> Result<()> {
        self.steps += 1;
        let c = &self.config;
        let clip = if c.grad_clip > 0.0 && grad_norm > c.grad_clip { c.grad_clip / grad_norm } else { 1.0 };
        let (bias1, bias2) = (1.0 - c.beta1.powi(self.steps as i32), 1.0 - c.beta2.powi(self.steps as i32));
        for (i, (name, var)) in self.params.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else { continue };
            let g = (g * clip)?;
            self.m[i] = ((&self.m[i] * c.beta1)? + (&g * (1.0 - c.beta1))?)?;
            self.v[i] = ((&self.v[i] * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let m_hat = (&self.m[i] / bias1)?;
            let v_hat = (&self.v[i] / bias2)?;
            let update = (m_hat / (v_hat.sqrt()? + c.eps)?)?;
            let decay = if name.contains("norm") { 0.0 } else { c.weight_decay };
            let w = var.as_tensor();
            let next = ((w * (1.0 - lr * decay))? - (update * lr)?)?;
            var.set(&next)?;
        }
        Ok(())
    }

    /// Saves the moments and step count (safetensors), through a temporary file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            tensors.insert(format!("m.{name}"), self.m[i].clone());
            tensors.insert(format!("v.{name}"), self.v[i].clone());
        }
        tensors.insert("steps".into(), Tensor::new(&[self.steps as f64], &Device::Cpu)?);
        let tmp = path.with_extension("tmp");
        candle_core::safetensors::save(&tensors, &tmp)?;
        std::fs::rename(&tmp, path).map_err(|e| Error::Io { path: path.to_path_buf(), why: e.to_string() })
    }

    /// Restores what [`Self::save`] wrote.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let bad = |why: String| Error::Io { path: path.to_path_buf(), why };
        let tensors = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| bad(e.to_string()))?;
        for (i, (name, _)) in self.params.iter().enumerate() {
            self.m[i] = tensors.get(&format!("m.{name}")).ok_or_else(|| bad(format!("no moment for {name}")))?.clone();
            self.v[i] = tensors.get(&format!("v.{name}")).ok_or_else(|| bad(format!("no moment for {name}")))?.clone();
        }
        let steps = tensors.get("steps").ok_or_else(|| bad("no step count".into()))?;
        self.steps = steps.to_vec1::<f64>()?[0] as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_the_floor() {
        let s = Schedule { warmup: 10, total: 110, min_ratio: 0.1 };
        assert!((s.factor(0) - 0.1).abs() < 1e-12);
        assert!((s.factor(9) - 1.0).abs() < 1e-12);
        assert!((s.factor(10) - 1.0).abs() < 1e-12);
        assert!((s.factor(60) - 0.55).abs() < 1e-12);
        assert!((s.factor(110) - 0.1).abs() < 1e-12);
        assert!((s.factor(500) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn one_step_matches_the_adamw_formula() {
        // With m, v starting at zero, the first bias-corrected step is lr · g/|g| (per element).
        let var = Var::new(&[1.0f32, -2.0], &Device::Cpu).expect("var");
        let loss = (var.as_tensor() * 3.0).and_then(|t| t.sum_all()).expect("loss"); // grad = 3
        let grads = loss.backward().expect("grads");
        let config = AdamWConfig { weight_decay: 0.5, grad_clip: 0.0, ..AdamWConfig::default() };
        let mut opt = AdamW::new(vec![("w".into(), var.clone())], config).expect("opt");
        opt.step(&grads, 0.1, 0.0).expect("step");
        let w = var.as_tensor().to_vec1::<f32>().expect("w");
        // w · (1 − lr·wd) − lr · 3/(3 + eps)
        assert!((w[0] - (1.0 * 0.95 - 0.1)).abs() < 1e-6, "{w:?}");
        assert!((w[1] - (-2.0 * 0.95 - 0.1)).abs() < 1e-6, "{w:?}");
    }
}
