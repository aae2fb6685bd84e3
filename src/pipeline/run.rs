//! Scoring one file: [`score_file`] chooses the cascade (`cascade.rs`) or the full pass, runs
//! the pack's scorer (novelty, fused, or the MIL head) on the clip features, and hands the
//! scores to `assemble.rs` for the report. [`extract_clip_features`] is the same first half for
//! callers that want the features themselves (`vigil features`, `vigil bank add`).
//!
//! The features stay in the feature cache (a temporary one for `--no-cache`): the caller keeps
//! where each clip's lie and its top classes, about 100 bytes a clip, and the scorers read
//! them back a block at a time. Measured from the cache, the full pass's peak memory grew by
//! 20 MiB from 1 h to 8 h of footage (it grew by 554 MiB when every feature was held).

use super::PipelineError;
use super::assemble::assemble_report;
use super::bank::{bank_distances, bank_z};
use super::cache::{CachedRows, CompleteRecord};
use super::fused::{ScoreParts, fused_score};
use super::novelty::novelty_scores_from;
use super::provisional::Provisional;
use super::report::{CascadeSummary, Pass, ScoreReport, ScorerSummary};
use super::rows::{ClipRows, clip_rows};
use crate::model::{
    Bank, Device, ExecutionProvider, HeadSession, Pack, ScorerSpec, l2_normalise_rows,
};
use crate::video::VideoInfo;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// Every clip's features of one video, from the cache or computed (and then cached).
#[derive(Debug, Clone)]
pub struct ClipFeatures {
    /// How they were got: the file, what decoding found, what ran, what the cache gave.
    pub run: FeatureRun,
    /// Feature size.
    pub dim: usize,
    /// `run.record.spans.len() × dim` features, clip order, as the network outputs them.
    pub features: Vec<f32>,
    /// Top classes per clip.
    pub tops: Vec<Vec<(u32, f32)>>,
}

/// How one file's clip features were got: the file, what decoding found, what ran the network
/// and what the cache gave. The pass that reads the features makes it once; it travels whole
/// to the report, so that no step unpacks and repacks its fields.
#[derive(Debug, Clone)]
pub struct FeatureRun {
    /// The file's streams and metadata.
    pub info: VideoInfo,
    /// SHA-256 of the file.
    pub sha256: String,
    /// What decoding found: clip spans, frames, duration, warnings.
    pub record: CompleteRecord,
    /// What ran the network (`cache` when nothing had to).
    pub device: String,
    /// Why the device differs from the one asked for.
    pub device_note: Option<String>,
    /// ONNX Runtime version, when it ran.
    pub runtime_version: Option<String>,
    /// Clips read from the cache.
    pub clips_from_cache: u64,
    /// Clips computed now.
    pub clips_computed: u64,
    /// Seconds spent computing them.
    pub infer_s: f64,
    /// The cache folder used.
    pub cache_dir: Option<String>,
    /// Cache files found bad and recomputed in this run (for the report's warnings; never
    /// stored in the cache record).
    pub cache_warnings: Vec<String>,
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

/// Scores one video file with `pack`: decodes it, runs (or reads from the cache) every clip's
/// features, and applies the pack's scorer. With `opts.cascade` (the default) and a pack that
/// has a coarse extractor, the novelty scorer runs as a cascade (`pipeline::cascade`): the
/// change gate and the coarse network on every clip, the full network on the candidates. When
/// `cancelled()` turns true the run stops at the next clip or batch with
/// [`PipelineError::Cancelled`]; what was computed stays in the cache.
pub fn score_file(
    path: &Path,
    pack: &Pack,
    opts: &ScoreOptions,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(Progress),
) -> Result<ScoreReport, PipelineError> {
    let t0 = Instant::now();
    let spec = pack.scorer(opts.scorer.as_deref())?.clone();
    let mut why_full = None;
    if opts.cascade {
        match (&spec, pack.coarse_extractor()) {
            (ScorerSpec::Novelty(params), Some(_)) => {
                match super::cascade::score_cascade(
                    path, pack, params, None, opts, cancelled, progress,
                )? {
                    Ok(scored) => return Ok(assemble_report(path, pack, opts, t0, scored)),
                    Err(why) => why_full = Some(why),
                }
            }
            (ScorerSpec::Fused(f), Some(_)) => {
                let bank = match &pack.manifest.normal_bank {
                    Some(b) => Bank::load(&pack.dir, b)?,
                    None => {
                        return Err(PipelineError::Internal(
                            "the fused scorer needs a normal bank".into(),
                        ));
                    }
                };
                let head = match pack_head(pack) {
                    Some(h) => Some(std::cell::RefCell::new(HeadSession::new(
                        &pack.dir.join(&h.file),
                        h.input_dim,
                    )?)),
                    None => None,
                };
                let fusion = super::cascade::Fusion {
                    params: f,
                    bank: &bank,
                    head,
                };
                match super::cascade::score_cascade(
                    path,
                    pack,
                    &f.novelty,
                    Some(fusion),
                    opts,
                    cancelled,
                    progress,
                )? {
                    Ok(scored) => return Ok(assemble_report(path, pack, opts, t0, scored)),
                    Err(why) => why_full = Some(why),
                }
            }
            (ScorerSpec::MilHead(_), _) => {
                why_full = Some(
                    "the cascade serves the novelty scorer; the MIL head scored every clip with the full network".into(),
                );
            }
            (_, None) => {
                why_full = Some(
                    "this pack has no coarse extractor: every clip went through the full network (rebuild it with `make models` for the cascade)".into(),
                );
            }
        }
    }
    let mut scored = full_pass(path, pack, &spec, opts, cancelled, progress)?;
    if let Some(why) = why_full {
        scored.summary.note = Some(match scored.summary.note.take() {
            Some(n) => format!("{n}; {why}"),
            None => why,
        });
    }
    Ok(assemble_report(path, pack, opts, t0, scored))
}

/// Everything a report is made of, whichever way the scores were made.
pub(super) struct Scored {
    /// How the features were got.
    pub run: FeatureRun,
    pub scores: Vec<f32>,
    pub tops: Vec<Vec<(u32, f32)>>,
    pub passes: Vec<Pass>,
    /// The cascade's coarse score of each clip (empty for the full pass).
    pub coarse_scores: Vec<f32>,
    pub summary: ScorerSummary,
    /// What each clip's fused score is made of (empty for the other scorers; `None` for a
    /// clip the cascade left at its coarse score).
    pub parts: Vec<Option<ScoreParts>>,
    pub cascade: Option<CascadeSummary>,
}

/// Clips the MIL head scores at once (16 MiB of features at 1,024 values a clip).
const HEAD_BLOCK: usize = 4096;

/// Today's full pass: every clip through the full network, then the scorer.
fn full_pass(
    path: &Path,
    pack: &Pack,
    spec: &ScorerSpec,
    opts: &ScoreOptions,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(Progress),
) -> Result<Scored, PipelineError> {
    // Open the head and the bank before the long part, so that a broken one fails at once.
    // The fused scorer shows the pack's head beside its parts.
    let head_spec = match spec {
        ScorerSpec::MilHead(h) => Some(h),
        ScorerSpec::Fused(_) => pack_head(pack),
        ScorerSpec::Novelty(_) => None,
    };
    let mut head = match head_spec {
        Some(h) => Some(HeadSession::new(&pack.dir.join(&h.file), h.input_dim)?),
        None => None,
    };
    let bank = match (spec, &pack.manifest.normal_bank) {
        (ScorerSpec::Fused(_), Some(b)) => Some(Bank::load(&pack.dir, b)?),
        (ScorerSpec::Fused(_), None) => {
            return Err(PipelineError::Internal(
                "the fused scorer needs a normal bank".into(),
            ));
        }
        _ => None,
    };
    let provisional = match spec {
        ScorerSpec::Novelty(p) if opts.provisional => Some(p),
        ScorerSpec::Fused(f) if opts.provisional => Some(&f.novelty),
        _ => None,
    };
    let got = clip_rows(path, pack, opts, provisional, cancelled, progress)?;
    let order = got.order();
    let contract = &pack.manifest.extractor.input;
    let clip_s = f64::from(contract.frames) / contract.frame_rate;
    let rows = CachedRows {
        index: &got.index,
        clips: &order,
    };
    let head_scores = match head.as_mut() {
        Some(session) => Some(run_head(session, &got, &order)?),
        None => None,
    };
    let mut parts = Vec::new();
    let (scores, summary) = match spec {
        ScorerSpec::MilHead(h) => {
            let summary = ScorerSummary {
                kind: spec.kind().into(),
                params: serde_json::json!({ "file": h.file, "sha256": h.sha256 }),
                median_distance: 0.0,
                spread: 0.0,
                note: None,
            };
            let scores = head_scores
                .ok_or_else(|| PipelineError::Internal("head session missing".into()))?;
            (scores, summary)
        }
        ScorerSpec::Novelty(params) => {
            let (novelty, _) =
                novelty_scores_from(&rows, clip_s, params, 0).map_err(|e| got.cache_error(e))?;
            let summary = ScorerSummary {
                kind: spec.kind().into(),
                params: serde_json::to_value(params).unwrap_or_default(),
                median_distance: novelty.median,
                spread: novelty.spread,
                note: novelty.note.clone(),
            };
            (novelty.scores, summary)
        }
        ScorerSpec::Fused(f) => {
            let bank = bank
                .as_ref()
                .ok_or_else(|| PipelineError::Internal("normal bank missing".into()))?;
            let (novelty, _) = novelty_scores_from(&rows, clip_s, &f.novelty, 0)
                .map_err(|e| got.cache_error(e))?;
            let bank_d =
                bank_distances(&bank.rows, bank.spec.k, &rows).map_err(|e| got.cache_error(e))?;
            let mut scores = Vec::with_capacity(order.len());
            for (i, (&d, &b)) in novelty.distances.iter().zip(&bank_d).enumerate() {
                // Footage too short to score has distances and median 0: z is 0 too.
                let nz = (f64::from(d) - novelty.median) / novelty.spread;
                let bz = bank_z(b, &bank.spec);
                scores.push(fused_score(nz, bz, f, bank.spec.flag_z));
                parts.push(Some(ScoreParts {
                    novelty_z: nz as f32,
                    bank_z: bz as f32,
                    head: head_scores.as_ref().and_then(|h| h.get(i).copied()),
                }));
            }
            let summary = ScorerSummary {
                kind: spec.kind().into(),
                params: super::fused::summary_params(f, &bank.spec),
                median_distance: novelty.median,
                spread: novelty.spread,
                note: novelty.note.clone(),
            };
            (scores, summary)
        }
    };
    let tops = got.tops(&order);
    let passes = vec![Pass::Full; scores.len()];
    Ok(Scored {
        run: got.run,
        coarse_scores: Vec::new(),
        parts,
        scores,
        tops,
        passes,
        summary,
        cascade: None,
    })
}

/// The pack's MIL head, if it has one (the fused scorer shows its view).
fn pack_head(pack: &Pack) -> Option<&crate::model::MilHeadParams> {
    std::iter::once(&pack.manifest.scorer)
        .chain(&pack.manifest.other_scorers)
        .find_map(|s| match s {
            ScorerSpec::MilHead(h) => Some(h),
            _ => None,
        })
}

/// The head's probability for each clip of `order`, a block of clips at a time (the head
/// scores each clip on its own).
fn run_head(
    session: &mut HeadSession,
    got: &ClipRows,
    order: &[u64],
) -> Result<Vec<f32>, PipelineError> {
    let mut scores = Vec::with_capacity(order.len());
    let mut x = Vec::new();
    for block in order.chunks(HEAD_BLOCK) {
        x.resize(block.len() * got.dim, 0.0);
        got.index
            .read_rows(block, &mut x)
            .map_err(|e| got.cache_error(e))?;
        l2_normalise_rows(&mut x, got.dim);
        scores.extend(session.run(&x)?);
    }
    Ok(scores)
}

/// Every clip's features of `path` under `pack`'s extractor: read from the cache when complete,
/// else decoded and run (and cached as they come). `vigil features` and every scorer start here.
pub fn extract_clip_features(
    path: &Path,
    pack: &Pack,
    opts: &ScoreOptions,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(Progress),
) -> Result<ClipFeatures, PipelineError> {
    let got = clip_rows(path, pack, opts, None, cancelled, progress)?;
    let order = got.order();
    let mut features = vec![0f32; order.len() * got.dim];
    got.index
        .read_rows(&order, &mut features)
        .map_err(|source| got.cache_error(source))?;
    let tops = got.tops(&order);
    Ok(ClipFeatures {
        dim: got.dim,
        run: got.run,
        features,
        tops,
    })
}
