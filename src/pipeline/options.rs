//! How to score ([`ScoreOptions`]) and what a run reports while it works ([`Progress`]): the
//! two types every pass and every caller (CLI, app, batch) share.

use super::provisional::Provisional;
use crate::model::{Device, ExecutionProvider};
use std::path::PathBuf;

/// How to score.
#[derive(Debug, Clone)]
pub struct ScoreOptions {
    /// Hardware to ask for.
    pub device: Device,
    /// Clips per inference call (and per cache file); None: 4 on the CPU, 16 on CUDA.
    pub batch_size: Option<usize>,
    /// Inference threads, each with its own session.
    pub workers: usize,
    /// ONNX Runtime CPU threads per session (None: the cores shared among the workers).
    pub intra_threads: Option<usize>,
    /// Cache root; None disables the cache.
    pub cache_root: Option<PathBuf>,
    /// Score at or above which clips are flagged.
    pub threshold: f32,
    /// Flagged runs closer than this (seconds) are merged into one span.
    pub merge_gap_s: f64,
    /// Flagged spans shorter than this (seconds) are dropped.
    pub min_peak_s: f64,
    /// Only use scores already complete in the cache; never decode or run the network
    /// ([`PipelineError::NotCached`] otherwise).
    pub cache_only: bool,
    /// Scorer kind to use (`novelty`, `mil_head`); None: the pack's default.
    pub scorer: Option<String>,
    /// Run the novelty scorer as a cascade (change gate, coarse network on every clip, full
    /// network on candidates; `pipeline::cascade`) when the pack has a coarse extractor. False:
    /// every clip through the full network.
    pub cascade: bool,
    /// Report provisional scores while scoring runs ([`Progress::Provisional`]; the novelty
    /// scorer only): the review app's timeline fills as batches finish.
    pub provisional: bool,
    /// Which video stream to score, and the frame rate of a stream that stores no frame times.
    pub open: crate::video::OpenOptions,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            device: Device::Auto,
            batch_size: None,
            workers: 1,
            intra_threads: None,
            cache_root: super::cache::default_cache_root(),
            threshold: 0.5,
            merge_gap_s: 2.0,
            min_peak_s: 0.0,
            cache_only: false,
            scorer: None,
            cascade: true,
            provisional: false,
            open: crate::video::OpenOptions::default(),
        }
    }
}

/// What the run reports while it works (on the caller's thread).
#[derive(Debug, Clone)]
pub enum Progress {
    /// The file is being hashed (SHA-256) to find its cache.
    Hashing,
    /// The file's SHA-256, known before scoring starts: the app lets the analyst mark the
    /// footage from then on (a mark is bound to the hash).
    Hashed {
        /// Lowercase hex.
        sha256: String,
    },
    /// Decoding and inference have started.
    Started {
        /// Which pass: `full pass`, `coarse pass` or `refine`.
        stage: &'static str,
        /// Clips expected from the container's duration (may be off for damaged files).
        clips_estimate: u64,
        /// Clips already in the cache.
        clips_cached: u64,
        /// The execution provider that runs.
        provider: ExecutionProvider,
        /// Why it is not the one asked for, when it is not.
        note: Option<String>,
    },
    /// More clips are done (cumulative, cached ones included).
    Clips {
        /// Clips done.
        done: u64,
        /// Current estimate of the total.
        estimate: u64,
        /// Seconds of footage done.
        video_s: f64,
    },
    /// Scores of the clips done so far, calibrated on them alone: for a timeline that fills
    /// while scoring runs. They change as more footage comes in and are replaced by the
    /// report's; never evidence.
    Provisional(std::sync::Arc<Provisional>),
}
