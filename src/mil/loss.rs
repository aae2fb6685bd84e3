//! The paper's objective (eq. 5–7) and the binary-classifier baseline, on burn tensors so that
//! autodiff gives the gradients.
//!
//! MIL ranking, as the original `custom_objective` aggregates it: every normal bag `n` is ranked
//! against every anomalous bag `a` of the batch,
//!
//! ```text
//! hinge = 1/|N| · Σ_n Σ_a max(0, 1 − max_i f(a_i) + max_i f(n_i))
//! loss  = hinge + λ1 · Σ_a Σ_i (f(a_i) − f(a_{i+1}))² + λ2 · Σ_a Σ_i f(a_i) + λ_w · Σ ‖W‖²
//! ```
//!
//! (With one bag of each kind this is exactly eq. 7.) λ1 = λ2 = 8e-5 and λ_w = 0.001 (Keras
//! `l2(0.001)` on every weight matrix, not the biases) are the paper's and the code's values.

use burn::tensor::Tensor;

/// Weights of the terms.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossWeights {
    /// Temporal smoothness λ1.
    pub smoothness: f64,
    /// Sparsity λ2.
    pub sparsity: f64,
    /// L2 on the weight matrices.
    pub weight_l2: f64,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            smoothness: 8e-5,
            sparsity: 8e-5,
            weight_l2: 1e-3,
        }
    }
}

/// The MIL ranking loss of `anomalous` (`[A, 32]` segment scores) against `normal` (`[N, 32]`),
/// without the weight term (added by the caller, who owns the weights).
pub fn mil_ranking_loss(anomalous: Tensor<2>, normal: Tensor<2>, w: &LossWeights) -> Tensor<1> {
    let [a, segs] = anomalous.dims();
    let [n, _] = normal.dims();
    let max_a = anomalous.clone().max_dim(1).reshape([1, a]); // [1, A]
    let max_n = normal.max_dim(1).reshape([n, 1]); // [N, 1]
    // [N, A] pairs, broadcast.
    let hinge = (max_n - max_a + 1.0).clamp_min(0.0).sum() / n as f64;
    let smooth = if segs > 1 {
        let d = anomalous.clone().narrow(1, 0, segs - 1) - anomalous.clone().narrow(1, 1, segs - 1);
        d.powf_scalar(2.0).sum()
    } else {
        anomalous.clone().sum() * 0.0
    };
    let sparse = anomalous.sum();
    hinge + smooth * w.smoothness + sparse * w.sparsity
}

/// The binary-classifier baseline (paper Table 3, first row): every segment carries its video's
/// label; mean binary cross-entropy.
pub fn binary_loss(anomalous: Tensor<2>, normal: Tensor<2>) -> Tensor<1> {
    const EPS: f64 = 1e-7;
    let pos = anomalous.clamp(EPS, 1.0 - EPS).log();
    let neg = (normal.neg() + 1.0).clamp(EPS, 1.0 - EPS).log();
    let count = (pos.dims()[0] * pos.dims()[1] + neg.dims()[0] * neg.dims()[1]) as f64;
    (pos.sum() + neg.sum()).neg() / count
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t(rows: &[&[f32]]) -> Tensor<2> {
        let n = rows.len();
        let d = rows[0].len();
        let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [n, d]), &Device::flex())
    }

    fn value(x: Tensor<1>) -> f64 {
        f64::from(x.into_scalar::<f32>())
    }

    #[test]
    fn toy_bags_by_hand() {
        let w = LossWeights {
            smoothness: 0.5,
            sparsity: 0.25,
            weight_l2: 0.0,
        };
        // Anomalous max 0.9, normal max 0.3: hinge 1 − 0.9 + 0.3 = 0.4.
        // Smoothness (0.1−0.9)² + (0.9−0.2)² = 0.64 + 0.49; sparsity 1.2.
        let a = t(&[&[0.1, 0.9, 0.2]]);
        let n = t(&[&[0.3, 0.0, 0.1]]);
        let want = 0.4 + 0.5 * 1.13 + 0.25 * 1.2;
        assert!((value(mil_ranking_loss(a, n, &w)) - want).abs() < 1e-6);

        // Well separated beyond the margin: only the constraints remain.
        let zero = LossWeights {
            smoothness: 0.0,
            sparsity: 0.0,
            weight_l2: 0.0,
        };
        let a = t(&[&[0.0, 1.0]]);
        let n = t(&[&[0.0, 0.0]]);
        assert!(value(mil_ranking_loss(a, n, &zero)).abs() < 1e-7);

        // Two of each: 1/2 Σ_n Σ_a hinge. maxA = (0.8, 0.4), maxN = (0.2, 0.6):
        // n=0.2: 0.4 + 0.8; n=0.6: 0.8 + 1.2 → (1.2 + 2.0) / 2 = 1.6.
        let a = t(&[&[0.8, 0.1], &[0.4, 0.3]]);
        let n = t(&[&[0.2, 0.1], &[0.0, 0.6]]);
        assert!((value(mil_ranking_loss(a, n, &zero)) - 1.6).abs() < 1e-6);
    }

    /// Central differences in f64 of a loss evaluated in f32 on the plain device.
    fn numeric_grad(
        f: &dyn Fn(&[f32], &[f32]) -> f64,
        a: &[f32],
        n: &[f32],
        wrt_a: bool,
    ) -> Vec<f64> {
        let eps = 1e-3f32;
        let len = if wrt_a { a.len() } else { n.len() };
        (0..len)
            .map(|i| {
                let (mut a1, mut n1, mut a2, mut n2) =
                    (a.to_vec(), n.to_vec(), a.to_vec(), n.to_vec());
                if wrt_a {
                    a1[i] += eps;
                    a2[i] -= eps;
                } else {
                    n1[i] += eps;
                    n2[i] -= eps;
                }
                (f(&a1, &n1) - f(&a2, &n2)) / (2.0 * f64::from(eps))
            })
            .collect()
    }

    fn tensor_on(v: &[f32], rows: usize, dev: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [rows, v.len() / rows]), dev)
    }

    #[test]
    fn gradients_match_finite_differences() {
        // Two anomalous and two normal bags of 5 segments; distinct values (no ties at the max),
        // hinge active for some pairs and not for others; large λ so every term matters.
        let a = [0.1, 0.7, 0.35, 0.2, 0.05, 0.3, 0.25, 0.45, 0.15, 0.4];
        let n = [0.2, 0.55, 0.1, 0.3, 0.12, 0.05, 0.15, 0.08, 0.02, 0.1];
        let w = LossWeights {
            smoothness: 0.3,
            sparsity: 0.2,
            weight_l2: 0.0,
        };
        let plain = Device::flex();
        let mil = |a: &[f32], n: &[f32]| {
            value(mil_ranking_loss(
                tensor_on(a, 2, &plain),
                tensor_on(n, 2, &plain),
                &w,
            ))
        };
        let bin = |a: &[f32], n: &[f32]| {
            value(binary_loss(
                tensor_on(a, 2, &plain),
                tensor_on(n, 2, &plain),
            ))
        };
        let dev = Device::flex().autodiff();
        for (name, f) in [
            ("mil", &mil as &dyn Fn(&[f32], &[f32]) -> f64),
            ("binary", &bin),
        ] {
            let ta = tensor_on(&a, 2, &dev).require_grad();
            let tn = tensor_on(&n, 2, &dev).require_grad();
            let loss = if name == "mil" {
                mil_ranking_loss(ta.clone(), tn.clone(), &w)
            } else {
                binary_loss(ta.clone(), tn.clone())
            };
            let grads = loss.backward();
            for (t, wrt_a) in [(ta, true), (tn, false)] {
                let got = t
                    .grad(&grads)
                    .unwrap()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap();
                let want = numeric_grad(f, &a, &n, wrt_a);
                for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (f64::from(*g) - e).abs() < 2e-3,
                        "{name} d/d{}[{i}]: autodiff {g}, finite differences {e}",
                        if wrt_a { "a" } else { "n" }
                    );
                }
                // Not all zero: the check has teeth.
                assert!(want.iter().any(|e| e.abs() > 0.05), "{name}");
            }
        }
    }

    #[test]
    fn binary_loss_by_hand() {
        let a = t(&[&[0.9, 0.5]]);
        let n = t(&[&[0.2, 0.5]]);
        let want = -((0.9f64).ln() + 0.5f64.ln() + 0.8f64.ln() + 0.5f64.ln()) / 4.0;
        assert!((value(binary_loss(a, n)) - want).abs() < 1e-6);
    }
}
