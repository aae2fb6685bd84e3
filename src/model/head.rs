//! A trained scoring head (the paper's MIL network, see `mil::head`) run in ONNX Runtime: clip or
//! segment features in, one anomaly score in 0..1 each out.
//!
//! The head is tiny (a few hundred thousand weights), so it always runs on the CPU: a GPU would
//! spend more time moving the features than computing.

use super::ModelError;
use super::runtime::with_environment;
use ort::session::Session;
use ort::value::TensorRef;
use std::path::{Path, PathBuf};

/// Input tensor name of every head vigil writes.
pub const HEAD_INPUT: &str = "features";
/// Output tensor name (`N × 1`).
pub const HEAD_OUTPUT: &str = "scores";
/// Rows per ONNX Runtime call (bounds memory on day-long footage).
const CHUNK: usize = 4096;

/// One ONNX Runtime session of a scoring head.
pub struct HeadSession {
    session: Session,
    dim: usize,
    path: PathBuf,
}

impl HeadSession {
    /// Loads `path` and checks that it takes `dim` features and returns one score per row.
    pub fn new(path: &Path, dim: usize) -> Result<Self, ModelError> {
        let (env, _) = with_environment(Clone::clone)?;
        let session_err = |e: ort::Error| ModelError::Session {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let session = Session::builder(&env)
            .map_err(session_err)?
            .with_intra_threads(1)
            .map_err(|e| session_err(e.into()))?
            .commit_from_file(path)
            .map_err(session_err)?;
        let shape_of = |v: &ort::value::ValueType| match v {
            ort::value::ValueType::Tensor { shape, .. } => shape.to_vec(),
            _ => Vec::new(),
        };
        let inputs = session.inputs();
        let input = inputs.iter().find(|i| i.name() == HEAD_INPUT);
        let got = input.map(|i| shape_of(i.dtype()));
        if got.as_deref().and_then(|s| s.get(1).copied()) != Some(dim as i64) {
            return Err(ModelError::ModelShape {
                path: path.to_path_buf(),
                what: format!("input '{HEAD_INPUT}' shape"),
                expected: format!("[N, {dim}]"),
                got: got.map_or_else(|| "no such input".to_string(), |s| format!("{s:?}")),
            });
        }
        if !session.outputs().iter().any(|o| o.name() == HEAD_OUTPUT) {
            return Err(ModelError::ModelShape {
                path: path.to_path_buf(),
                what: "outputs".into(),
                expected: format!("'{HEAD_OUTPUT}'"),
                got: session
                    .outputs()
                    .iter()
                    .map(|o| o.name().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(Self {
            session,
            dim,
            path: path.to_path_buf(),
        })
    }

    /// Feature size the head takes.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Scores the rows of `features` (`n × dim`, row-major) as given (callers normalise).
    pub fn run(&mut self, features: &[f32]) -> Result<Vec<f32>, ModelError> {
        if !features.len().is_multiple_of(self.dim) {
            return Err(ModelError::Inference {
                reason: format!(
                    "{} values are not rows of {} features",
                    features.len(),
                    self.dim
                ),
            });
        }
        let infer = |e: ort::Error| ModelError::Inference {
            reason: e.to_string(),
        };
        let mut out = Vec::with_capacity(features.len() / self.dim);
        for chunk in features.chunks(CHUNK * self.dim) {
            let n = chunk.len() / self.dim;
            let tensor = TensorRef::from_array_view(([n, self.dim], chunk)).map_err(infer)?;
            let outputs = self
                .session
                .run(ort::inputs![HEAD_INPUT => tensor])
                .map_err(infer)?;
            let (_, scores) = outputs[HEAD_OUTPUT]
                .try_extract_tensor::<f32>()
                .map_err(infer)?;
            if scores.len() != n {
                return Err(ModelError::Inference {
                    reason: format!(
                        "head {} returned {} scores for {n} rows",
                        self.path.display(),
                        scores.len()
                    ),
                });
            }
            out.extend_from_slice(scores);
        }
        Ok(out)
    }
}

/// Scales each `dim`-row of `x` to unit length (zero rows stay zero): the head was trained on
/// L2-normalised segment features, so clips are scored in the same space.
pub fn l2_normalise_rows(x: &mut [f32], dim: usize) {
    if dim == 0 {
        return;
    }
    for row in x.chunks_mut(dim) {
        let norm = row
            .iter()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            for v in row {
                *v = (f64::from(*v) / norm) as f32;
            }
        }
    }
}
