//! The paper's scoring network, as the original Keras `model.json` builds it:
//!
//! ```text
//! D → Dense 512, ReLU → Dropout 0.6 → Dense 32 (linear) → Dropout 0.6 → Dense 1, sigmoid
//! ```
//!
//! The middle layer is linear because the original code makes it so (`"activation": "linear"`
//! in `model.json`); the paper's text does not say. We follow the code: the published numbers
//! come from it. Weights start Glorot-normal as in Keras (`init: glorot_normal`), biases zero.
//! Dropout is applied by the training loop through [`DropoutMasks`]; inference has none.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_distr::{Distribution, Normal};

/// Hidden sizes of the original network.
pub const HIDDEN: [usize; 2] = [512, 32];
/// The original dropout probability.
pub const DROPOUT: f64 = 0.6;

/// The head. Burn keeps a linear layer's weight as `in × out` (`y = x·W + b`).
///
/// Randomness (initial weights, dropout masks) comes from the caller's seeded RNG rather than
/// burn's device RNG, which is process-global: two trainings in one process (tests, or a GUI
/// later) would otherwise interleave their draws and stop being reproducible.
#[derive(Module, Debug)]
pub struct MilHead {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

/// Dropout masks for one training forward pass, already scaled by 1 / keep.
pub struct DropoutMasks {
    /// `[rows, 512]`.
    pub hidden1: Tensor<2>,
    /// `[rows, 32]`.
    pub hidden2: Tensor<2>,
}

impl DropoutMasks {
    /// Inverted-dropout masks for `rows` rows drawn from `rng` (probability `p` of dropping).
    pub fn draw(rows: usize, p: f64, rng: &mut impl Rng, device: &Device) -> Self {
        let keep = 1.0 - p;
        let scale = (1.0 / keep) as f32;
        let mut mask = |cols: usize| {
            let v: Vec<f32> = (0..rows * cols)
                .map(|_| {
                    if rng.random::<f64>() < keep {
                        scale
                    } else {
                        0.0
                    }
                })
                .collect();
            Tensor::<2>::from_data(TensorData::new(v, [rows, cols]), device)
        };
        Self {
            hidden1: mask(HIDDEN[0]),
            hidden2: mask(HIDDEN[1]),
        }
    }
}

/// The head's weights as plain arrays, for ONNX export and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadWeights {
    /// Input size.
    pub dim: usize,
    /// `(in, out, weight in×out row-major, bias)` per layer.
    pub layers: Vec<(usize, usize, Vec<f32>, Vec<f32>)>,
}

impl MilHead {
    /// A freshly initialised head for `dim` features on `device`: Glorot-normal weights
    /// (σ = √(2 / (fan_in + fan_out)), Keras 1's `glorot_normal`) drawn from `rng`, zero biases.
    pub fn new(dim: usize, rng: &mut impl Rng, device: &Device) -> Self {
        let sizes = [(dim, HIDDEN[0]), (HIDDEN[0], HIDDEN[1]), (HIDDEN[1], 1)];
        let layers = sizes
            .iter()
            .map(|&(i, o)| {
                let sd = (2.0 / (i + o) as f64).sqrt();
                let w: Vec<f32> = match Normal::new(0.0, sd) {
                    Ok(n) => (0..i * o).map(|_| n.sample(rng) as f32).collect(),
                    Err(_) => vec![0.0; i * o],
                };
                (i, o, w, vec![0.0; o])
            })
            .collect();
        Self::from_weights(&HeadWeights { dim, layers }, device)
    }

    /// Scores `[N, dim]` features → `[N]` in 0..1, without dropout (evaluation).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        self.forward_masked(x, None)
    }

    /// The training forward pass: dropout after the first and second layers when `masks` are
    /// given (as the original: Dense-ReLU-Dropout-Dense-Dropout-Dense-sigmoid).
    pub fn forward_masked(&self, x: Tensor<2>, masks: Option<&DropoutMasks>) -> Tensor<1> {
        let mut h = relu(self.fc1.forward(x));
        if let Some(m) = masks {
            h = h * m.hidden1.clone();
        }
        let mut h = self.fc2.forward(h);
        if let Some(m) = masks {
            h = h * m.hidden2.clone();
        }
        let out = sigmoid(self.fc3.forward(h));
        let n = out.dims()[0];
        out.reshape([n])
    }

    /// Sum of squared weights (not biases), the Keras `l2` regulariser's sum.
    pub fn weight_sq_sum(&self) -> Tensor<1> {
        let sq = |fc: &Linear| fc.weight.val().powf_scalar(2.0).sum();
        sq(&self.fc1) + sq(&self.fc2) + sq(&self.fc3)
    }

    /// The weights, copied out.
    pub fn weights(&self) -> HeadWeights {
        let layer = |fc: &Linear| {
            let [i, o] = fc.weight.val().dims();
            let w = fc
                .weight
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            let b = fc
                .bias
                .as_ref()
                .map(|b| b.val().into_data().try_to_vec::<f32>().unwrap_or_default())
                .unwrap_or_else(|| vec![0.0; o]);
            (i, o, w, b)
        };
        let layers = vec![layer(&self.fc1), layer(&self.fc2), layer(&self.fc3)];
        HeadWeights {
            dim: layers[0].0,
            layers,
        }
    }

    /// A head with the given weights on `device`.
    pub fn from_weights(w: &HeadWeights, device: &Device) -> Self {
        let layer = |(i, o, wt, b): &(usize, usize, Vec<f32>, Vec<f32>)| Linear {
            weight: Param::from_data(TensorData::new(wt.clone(), [*i, *o]), device),
            bias: Some(Param::from_data(TensorData::new(b.clone(), [*o]), device)),
        };
        Self {
            fc1: layer(&w.layers[0]),
            fc2: layer(&w.layers[1]),
            fc3: layer(&w.layers[2]),
        }
    }
}

/// Scores rows of `x` (`n × dim`) with `head` in evaluation mode on the plain CPU device.
pub fn score_rows(head: &MilHead, x: &[f32], dim: usize) -> Vec<f32> {
    let device = Device::flex();
    let n = x.len() / dim.max(1);
    if n == 0 {
        return Vec::new();
    }
    let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, dim]), &device);
    let h = head.valid();
    h.forward(t)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mil::loss::{LossWeights, mil_ranking_loss};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn bags(dim: usize) -> Vec<f32> {
        // 2 bags × 32 segments; deterministic, varied.
        (0..2 * 32 * dim)
            .map(|i| (((i * 7919) % 101) as f32 / 101.0 - 0.5) * 0.4)
            .collect()
    }

    fn loss_of(head: &MilHead, x: &[f32], dim: usize, device: &Device) -> Tensor<1> {
        let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [64, dim]), device);
        let s = head.forward(t).reshape([2, 32]);
        let w = LossWeights {
            smoothness: 0.05,
            sparsity: 0.05,
            weight_l2: 0.01,
        };
        mil_ranking_loss(s.clone().narrow(0, 0, 1), s.narrow(0, 1, 1), &w)
            + head.weight_sq_sum() * w.weight_l2
    }

    #[test]
    fn weight_gradients_match_finite_differences() {
        let dim = 8;
        let dev = Device::flex().autodiff();
        let start = MilHead::new(dim, &mut ChaCha8Rng::seed_from_u64(3), &dev).weights();
        let head = MilHead::from_weights(&start, &dev);
        let x = bags(dim);
        let grads = loss_of(&head, &x, dim, &dev).backward();
        let g1 = head
            .fc1
            .weight
            .val()
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let g3 = head
            .fc3
            .weight
            .val()
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let plain = Device::flex();
        let at = |layer: usize, idx: usize, delta: f32| {
            let mut w = start.clone();
            w.layers[layer].2[idx] += delta;
            let h = MilHead::from_weights(&w, &plain);
            f64::from(loss_of(&h, &x, dim, &plain).into_scalar::<f32>())
        };
        let eps = 1e-2f32;
        let mut checked = 0;
        for (layer, grad, picks) in [
            (0usize, &g1, [0usize, 37, 200, 4095]),
            (2, &g3, [0, 5, 17, 31]),
        ] {
            for idx in picks {
                let num = (at(layer, idx, eps) - at(layer, idx, -eps)) / (2.0 * f64::from(eps));
                let got = f64::from(grad[idx]);
                assert!(
                    (got - num).abs() < 2e-3 + 2e-2 * num.abs(),
                    "layer {layer} weight {idx}: autodiff {got}, finite differences {num}"
                );
                checked += usize::from(num.abs() > 1e-3);
            }
        }
        assert!(checked >= 4, "too few non-zero gradients to mean anything");
    }

    #[test]
    fn same_seed_same_start_and_zero_biases() {
        let dev = Device::flex().autodiff();
        let new = |seed| MilHead::new(16, &mut ChaCha8Rng::seed_from_u64(seed), &dev).weights();
        let (a, b, c) = (new(9), new(9), new(10));
        // Glorot-normal σ of the first layer: √(2 / (16 + 512)).
        let w = &a.layers[0].2;
        let sd = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
        assert!((sd - (2.0f32 / 528.0).sqrt()).abs() < 0.01, "σ {sd}");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.layers.iter().all(|l| l.3.iter().all(|&v| v == 0.0)));
        assert_eq!(
            a.layers.iter().map(|l| (l.0, l.1)).collect::<Vec<_>>(),
            vec![(16, 512), (512, 32), (32, 1)]
        );
    }
}
