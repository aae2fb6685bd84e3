//! The paper's method (Sultani, Chen and Shah, CVPR 2018): videos as bags of 32 segments,
//! trained with the MIL ranking loss from video-level labels alone.
//!
//! - `labels`: the video lists ML staff write (`PATH normal|anomalous [CLASS]`).
//! - `bags`: clip features → the 32-segment bag; the original text format and `.npy` sets.
//! - `featureset`: a folder of bags with its index (`vigil features` writes it, training reads it).
//! - `head`, `loss`, `train`: the 4096/1024 → 512 → 32 → 1 network in burn, the loss of the
//!   paper's eq. 5–7, and the seeded Adagrad loop with checkpoints and validation.
//! - `onnx`: the trained head as an ONNX graph, and the model pack that carries it.
//!
//! Data flows `pipeline (clip features) → bags → train → onnx → model::HeadSession`; nothing here
//! decodes video or touches the GUI.

pub mod bags;
pub mod featureset;
pub mod fusion;
pub mod head;
pub mod labels;
pub mod loss;
pub mod onnx;
pub mod record;
pub mod train;

use std::path::PathBuf;

/// Everything that can go wrong reading feature sets or training.
#[derive(Debug, thiserror::Error)]
pub enum MilError {
    /// A feature file is malformed.
    #[error("feature file {path}: {reason}")]
    Features { path: PathBuf, reason: String },
    /// A label list line is malformed.
    #[error("label list {path} line {line}: {reason}")]
    Labels {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// Arrays of the wrong size.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The training set or options cannot train anything.
    #[error("cannot train: {0}")]
    Training(String),
    /// The head could not be written or run.
    #[error("head: {0}")]
    Head(String),
    /// Training was cancelled (Ctrl-C); the last checkpoint is kept.
    #[error("cancelled")]
    Cancelled,
    /// ONNX Runtime or a model pack failed.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}
