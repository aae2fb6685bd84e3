//! ONNX Runtime: finding and loading the library, choosing the execution provider, model packs
//! and their manifests, and running the clip feature extractor.
//!
//! Owns everything that touches ONNX Runtime. Must not know about video files or egui: it is
//! handed clips as RGB bytes in the layout its manifest declares.

mod bank;
mod extractor;
mod head;
mod manifest;
mod runtime;

pub use bank::{
    BANK_FILE, Bank, BankSource, BankSpec, bank_bytes, install as install_bank, normalised,
    read_rows,
};
pub use extractor::{ClipOutput, Extractor, TOP_K};
pub use head::{HEAD_INPUT, HEAD_OUTPUT, HeadSession, l2_normalise_rows};
pub use manifest::{
    DEFAULT_PACK, Extractor as ExtractorSpec, FusedParams, FusionRule, InputContract, Labels,
    MANIFEST_VERSION, Manifest, MilHeadParams, NoveltyParams, OutputSpec, Pack, Provenance,
    ScorerSpec, default_pack_dir,
};
pub use runtime::{Device, ExecutionProvider, RuntimeInfo, init_runtime, locate_runtime};

use std::path::PathBuf;

/// Everything that can go wrong with a model pack or ONNX Runtime.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No ONNX Runtime library was found.
    #[error(
        "ONNX Runtime library not found (looked for {}); run `make setup` or set ORT_DYLIB_PATH to a libonnxruntime.so",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    RuntimeMissing { searched: Vec<PathBuf> },
    /// The library was found but could not be loaded or is too old.
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    RuntimeLoad { path: PathBuf, reason: String },
    /// The pack folder has no manifest.
    #[error("no model pack at {dir} (no manifest.json); build the default one with `make models`")]
    PackMissing { dir: PathBuf },
    /// The manifest (or a file it names) is malformed or asks for something unsupported.
    #[error("model pack manifest {path}: {reason}")]
    Manifest { path: PathBuf, reason: String },
    /// A file named by the manifest is missing.
    #[error("model pack file missing: {path}")]
    FileMissing { path: PathBuf },
    /// A file's SHA-256 differs from the manifest: corrupt or replaced.
    #[error(
        "model pack file {path} is corrupt or was replaced: SHA-256 {got}, manifest says {expected}"
    )]
    HashMismatch {
        path: PathBuf,
        expected: String,
        got: String,
    },
    /// ONNX Runtime refused the model file.
    #[error("ONNX Runtime cannot load {path}: {reason}")]
    Session { path: PathBuf, reason: String },
    /// The network's inputs or outputs disagree with the manifest.
    #[error("model {path} does not match its manifest: {what} is {got}, manifest says {expected}")]
    ModelShape {
        path: PathBuf,
        what: String,
        expected: String,
        got: String,
    },
    /// `--device cuda` was asked for and CUDA cannot run.
    #[error("CUDA was requested but cannot run: {reason}")]
    CudaUnavailable { reason: String },
    /// A run failed.
    #[error("inference failed: {reason}")]
    Inference { reason: String },
}
