//! The paper's scoring network, as the original Keras `model.json` builds it:
//!
//! ```text
//! D → Dense 512, ReLU → Dropout 0.6 → Dense 32 (linear) → Dropout 0.6 → Dense 1, sigmoid
//! ```
//!
//! The middle layer is linear because the original code makes it so (`"activation": "linear"`
//! in `model.json`); the paper's text does not say. We follow the code: the published numbers
//! come from it. Weights start Glorot-normal as in Keras (`init: glorot_normal`), biases zero.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};

/// Hidden sizes of the original network.
pub const HIDDEN: [usize; 2] = [512, 32];
/// The original dropout probability.
pub const DROPOUT: f64 = 0.6;

/// The head. Burn keeps a linear layer's weight as `in × out` (`y = x·W + b`).
#[derive(Module, Debug)]
pub struct MilHead {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    dropout: Dropout,
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
    /// A freshly initialised head for `dim` features on `device` (seed the device first for a
    /// reproducible start).
    pub fn new(dim: usize, dropout: f64, device: &Device) -> Self {
        let layer = |i: usize, o: usize| {
            LinearConfig::new(i, o)
                .with_initializer(Initializer::XavierNormal { gain: 1.0 })
                .init(device)
        };
        let mut head = Self {
            fc1: layer(dim, HIDDEN[0]),
            fc2: layer(HIDDEN[0], HIDDEN[1]),
            fc3: layer(HIDDEN[1], 1),
            dropout: DropoutConfig::new(dropout).init(),
        };
        // Keras starts biases at zero; burn's Linear draws them from the initializer.
        for fc in [&mut head.fc1, &mut head.fc2, &mut head.fc3] {
            if let Some(b) = fc.bias.take() {
                let n = b.val().dims()[0];
                fc.bias = Some(burn::module::Param::from_tensor(Tensor::zeros([n], device)));
            }
        }
        head
    }

    /// Scores `[N, dim]` features → `[N]` in 0..1. Dropout is active only on an autodiff
    /// device in training mode (burn's rule), so evaluation passes a plain device.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let h = self.dropout.forward(relu(self.fc1.forward(x)));
        let h = self.dropout.forward(self.fc2.forward(h));
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
            let w = fc.weight.val().into_data().try_to_vec::<f32>().unwrap_or_default();
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

    /// A head with the given weights (e.g. to evaluate an exported one), dropout off.
    pub fn from_weights(w: &HeadWeights, device: &Device) -> Self {
        let layer = |(i, o, wt, b): &(usize, usize, Vec<f32>, Vec<f32>)| Linear {
            weight: burn::module::Param::from_data(TensorData::new(wt.clone(), [*i, *o]), device),
            bias: Some(burn::module::Param::from_data(
                TensorData::new(b.clone(), [*o]),
                device,
            )),
        };
        Self {
            fc1: layer(&w.layers[0]),
            fc2: layer(&w.layers[1]),
            fc3: layer(&w.layers[2]),
            dropout: DropoutConfig::new(0.0).init(),
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
    h.forward(t).into_data().try_to_vec::<f32>().unwrap_or_default()
}
