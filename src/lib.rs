//! vigil: review hours of surveillance footage in minutes.
//!
//! The library is the whole product minus argument parsing: `video` decodes footage with FFmpeg
//! into model-sized clips, `model` runs video networks in ONNX Runtime, `pipeline` turns a video
//! into per-clip features and anomaly scores (threads, cache, progress), and `case` keeps evidence
//! (hashes, atomic writes). Data flows one way: `video → pipeline → (model) → scores`.
//! See `ARCHITECTURE.md` for the map.

pub mod base;
pub mod case;
pub mod eval;
#[cfg(feature = "gui")]
pub mod gui;
pub mod kit;
pub mod mil;
pub mod model;
pub mod pipeline;
pub mod video;

/// The version recorded in every output, so that a result can be traced to the build that made it.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
