//! The worker threads that turn a video into clip features and anomaly scores: decoding and
//! inference run concurrently, features are cached per (video, model) and resumed, progress is
//! reported, and the run can be cancelled.
//!
//! Owns the orchestration and the scoring rules (novelty scorer, peaks, the paper's 32
//! segments). Must not draw anything: progress goes to a callback the caller turns into a
//! progress bar or a repaint.

mod assemble;
mod bank;
mod cache;
mod cascade;
mod fused;
mod gate;
mod novelty;
mod options;
mod provisional;
mod record;
mod report;
mod rows;
mod run;
mod scores;
mod threads;
mod worker;

pub use assemble::OTHER_STREAMS_WARNING;
pub use bank::{
    BANK_K, BankChange, BankVideo, MAX_ROWS_PER_VIDEO, add_videos, bank_distances, bank_z,
    leave_one_out_distances,
};
pub use cache::{CompleteRecord, FeatureCache, default_cache_root};
pub use fused::{NOVELTY_TRIM, ScoreParts, explain, fused_params, fused_score};
pub use gate::{GRID as GATE_GRID, GateParams};
pub use novelty::{InMemory, NoveltyOutcome, RowSource, novelty_scores};
pub use options::{Progress, ScoreOptions};
pub use provisional::Provisional;
pub use report::{
    Action, CacheSummary, CascadeSummary, ClipScore, ModelSummary, Pass, Peak, ScoreReport,
    ScorerSummary, Timing, VideoSummary, peak_rss_mib,
};
pub use rows::{ClipFeatures, FeatureRun};
pub use run::{extract_clip_features, score_file};
pub use scores::{find_peaks, segment_ranges_32, segment_scores, top_moments};
pub use worker::{DetachedEnd, ScoreCommand, ScoreEvent, ScoringWorker};

use crate::model::ModelError;
use crate::video::VideoError;
use std::path::PathBuf;

/// Why scoring a file failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The footage could not be read.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// The model pack or ONNX Runtime failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The feature cache could not be written.
    #[error("feature cache {path}: {source}")]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The run was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// Only cached scores were asked for, and there are none.
    #[error("not scored yet (no complete scores in the cache)")]
    NotCached,
    /// A worker thread died; a bug, reported rather than hidden.
    #[error("internal error: {0}")]
    Internal(String),
}
