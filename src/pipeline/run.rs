//! Scoring one file: a decode thread and one or more inference threads joined by a bounded
//! channel, so that the slower stage sets the pace and memory stays bounded whatever the length
//! of the footage.
//!
//! ```text
//!  decode thread ──Batch(≤2 in flight)──▶ inference thread(s) ──WorkerMsg──▶ caller thread
//!  (FFmpeg, swscale,                      (one ONNX Runtime session each;      (progress, indexes
//!   ClipAssembler)                         writes each batch to the cache)      the cache, scores)
//! ```
//!
//! The features stay in the feature cache (a temporary one for `--no-cache`): the caller keeps
//! where each clip's lie and its top classes, about 100 bytes a clip, and the scorers read
//! them back a block at a time. Measured from the cache, the full pass's peak memory grew by
//! 20 MiB from 1 h to 8 h of footage (it grew by 554 MiB when every feature was held).

use super::PipelineError;
use super::bank::{bank_distances, bank_z};
use super::cache::{CachedRows, ClipIndex, CompleteRecord, FeatureCache, TopClasses, cache_error};
use super::fused::{ScoreParts, fused_score};
use super::gate::{ClipSignature, Gate, GateParams};
use super::novelty::novelty_scores_from;
use super::report::{
    Action, CacheSummary, CascadeSummary, ClipScore, ModelSummary, Pass, ScoreReport,
    ScorerSummary, Timing, VideoSummary,
};
use super::scores::{find_peaks, segment_ranges_32, segment_scores, top_moments};
use crate::base::sha256_file;
use crate::model::{
    Bank, ClipOutput, Device, ExecutionProvider, Extractor, HeadSession, InputContract, Pack,
    ScorerSpec, TOP_K, l2_normalise_rows,
};
use crate::video::{
    ClipReader, ClipSpan, ClipSpec, DecodeStats, FrameTiming, VideoError, VideoInfo,
    open_video_with,
};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
    /// The file's streams and metadata.
    pub info: VideoInfo,
    /// SHA-256 of the file.
    pub sha256: String,
    /// What decoding found: clip spans, frames, duration, warnings.
    pub record: CompleteRecord,
    /// Feature size.
    pub dim: usize,
    /// `record.spans.len() × dim` features, clip order, as the network outputs them.
    pub features: Vec<f32>,
    /// Top classes per clip.
    pub tops: Vec<Vec<(u32, f32)>>,
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

/// Provisional scores (see [`Progress::Provisional`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Provisional {
    /// What they come from: `full pass` (full-resolution features so far) or `coarse pass` /
    /// `coarse scores` (the cascade's coarse features, before the refine).
    pub stage: &'static str,
    /// Clips scored, ascending.
    pub clips: Vec<u64>,
    /// Their scores.
    pub scores: Vec<f32>,
    /// Nominal clip length: clip `i` starts at `i × clip_s`.
    pub clip_s: f64,
    /// The footage's length as the container gives it (or the last clip's end).
    pub footage_s: f64,
}

/// Provisional scores are recomputed at most this often (seconds), and never taking more
/// than a tenth of the time between two (the novelty step grows with the clips seen).
const PROVISIONAL_EVERY_S: f64 = 4.0;
/// Fewer clips than this and provisional scores would say nothing.
const PROVISIONAL_MIN_CLIPS: usize = 16;

/// What `run_threads` needs to report provisional scores.
pub(super) struct ProvisionalRule<'a> {
    pub params: &'a crate::model::NoveltyParams,
    pub stage: &'static str,
    pub footage_s: f64,
}

/// Novelty on every clip with features so far (reused clips carry their reference's), read
/// from the cache a block at a time. None when there are too few clips yet, or the cache could
/// not be read (logged: provisional scores are a convenience, the final ones will say).
pub(super) fn provisional_scores(
    outputs: &ClipIndex,
    reused: &[(u64, u64)],
    rule: &ProvisionalRule<'_>,
    clip_s: f64,
) -> Option<Provisional> {
    let mut src: BTreeMap<u64, u64> = outputs.clips().map(|k| (k, k)).collect();
    src.extend(reused.iter().filter(|(_, r)| outputs.contains(*r)).copied());
    if src.len() < PROVISIONAL_MIN_CLIPS {
        return None;
    }
    let sources: Vec<u64> = src.values().copied().collect();
    let rows = CachedRows {
        index: outputs,
        clips: &sources,
    };
    let out = match novelty_scores_from(&rows, clip_s, rule.params, 0) {
        Ok((out, _)) => out,
        Err(e) => {
            tracing::warn!("no provisional scores: {e}");
            return None;
        }
    };
    let clips: Vec<u64> = src.keys().copied().collect();
    let last_end = clips.last().map_or(0.0, |&c| (c + 1) as f64 * clip_s);
    Some(Provisional {
        stage: rule.stage,
        clips,
        scores: out.scores,
        clip_s,
        footage_s: rule.footage_s.max(last_end),
    })
}

/// Clips of one inference call, with their pixels (T×H×W×3 bytes each, concatenated).
struct Batch {
    clips: Vec<ClipSpan>,
    pixels: Vec<u8>,
}

enum WorkerMsg {
    /// A batch written to the cache: its file and each clip's top classes, in file order.
    Done(PathBuf, Vec<(u64, TopClasses)>),
    /// From the decode thread: clips the change gate found unchanged, each with the clip whose
    /// features it reuses.
    Reused(Vec<(u64, u64)>),
    Failed(PipelineError),
}

/// Which clips the decode thread turns into pixels and which of those it sends to the network.
pub(super) struct DecodePlan<'a> {
    /// Clips whose pixels are needed (by the network or the gate); the rest cost decoding only.
    pub wanted: &'a (dyn Fn(u64) -> bool + Sync),
    /// Clips that already have features: never sent.
    pub cached: &'a HashSet<u64>,
    /// The cascade's change gate (coarse pass only): clips it finds unchanged are not sent.
    pub gate: Option<GateParams>,
    /// Decode only these runs of clips (first, last; inclusive, in order), seeking to each,
    /// instead of the whole file (the cascade's refine, on footage with sound timestamps).
    /// The summary's spans then cover the runs only, with frame numbers counted from each
    /// seek; the caller keeps the spans of a sequential pass.
    pub runs: Option<&'a [(u64, u64)]>,
    /// Report provisional scores as batches finish (computed on the receiving thread).
    pub provisional: Option<ProvisionalRule<'a>>,
}

/// Seconds decoded ahead of a run's first clip after a seek (the seek lands on the keyframe
/// at or before that point).
const SEEK_PREROLL_S: f64 = 0.5;

/// The decode thread's channel ends: batches out, emptied pixel buffers back, the gate's
/// decisions out.
struct DecodeEnds {
    tx: Sender<Batch>,
    returned: Receiver<Vec<u8>>,
    reused: Sender<WorkerMsg>,
}

pub(super) struct DecodeSummary {
    pub spans: Vec<ClipSpan>,
    pub stats: DecodeStats,
    pub end_s: f64,
    /// (clip, reference) of every clip the gate let reuse features, in clip order.
    pub reused: Vec<(u64, u64)>,
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
    pub info: VideoInfo,
    pub sha256: String,
    pub record: CompleteRecord,
    pub scores: Vec<f32>,
    pub tops: Vec<Vec<(u32, f32)>>,
    pub passes: Vec<Pass>,
    /// The cascade's coarse score of each clip (empty for the full pass).
    pub coarse_scores: Vec<f32>,
    pub summary: ScorerSummary,
    /// What each clip's fused score is made of (empty for the other scorers; `None` for a
    /// clip the cascade left at its coarse score).
    pub parts: Vec<Option<ScoreParts>>,
    pub device: String,
    pub device_note: Option<String>,
    pub runtime_version: Option<String>,
    pub clips_from_cache: u64,
    pub clips_computed: u64,
    pub infer_s: f64,
    pub cache_dir: Option<String>,
    pub cascade: Option<CascadeSummary>,
    /// Cache files found bad and recomputed in this run ([`FeatureCache::take_rejected`]).
    pub cache_warnings: Vec<String>,
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
    let ClipRows {
        info,
        sha256,
        record,
        device,
        device_note,
        runtime_version,
        clips_from_cache,
        clips_computed,
        infer_s,
        cache_dir,
        cache_warnings,
        ..
    } = got;
    let passes = vec![Pass::Full; scores.len()];
    Ok(Scored {
        coarse_scores: Vec::new(),
        parts,
        info,
        sha256,
        record,
        scores,
        tops,
        passes,
        summary,
        device,
        device_note,
        runtime_version,
        clips_from_cache,
        clips_computed,
        infer_s,
        cache_dir,
        cascade: None,
        cache_warnings,
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

/// How the warning about video streams left unscored begins (the review app, which adds them
/// as items of their own, leaves it out).
pub const OTHER_STREAMS_WARNING: &str = "not every camera was scored:";

/// Said when a file holds video streams that were not scored (multi-camera DVR exports).
fn other_streams_warning(info: &VideoInfo, opts: &ScoreOptions) -> Option<String> {
    let others: Vec<String> = info
        .video_streams
        .iter()
        .filter(|&&i| i != info.stream_index)
        .map(|i| format!("#{i}"))
        .collect();
    if others.is_empty() {
        return None;
    }
    let chosen = if opts.open.stream.is_some() {
        "the one asked for"
    } else {
        "FFmpeg's choice of the best"
    };
    Some(format!(
        "{OTHER_STREAMS_WARNING} the file holds {} video streams, and only stream #{} ({chosen}) was scored, not {}; score the others with --stream N or --stream all",
        info.video_streams.len(),
        info.stream_index,
        others.join(", ")
    ))
}

/// Peaks, top moments, the 32 segments and the report, from the scores.
fn assemble_report(
    path: &Path,
    pack: &Pack,
    opts: &ScoreOptions,
    t0: Instant,
    scored: Scored,
) -> ScoreReport {
    let Scored {
        info,
        sha256,
        record,
        scores,
        tops,
        passes,
        summary,
        device,
        device_note,
        runtime_version,
        clips_from_cache,
        clips_computed,
        infer_s,
        cache_dir,
        cascade,
        coarse_scores,
        cache_warnings,
        parts,
    } = scored;
    let contract = &pack.manifest.extractor.input;
    let scores = &scores;
    let clips: Vec<ClipScore> = record
        .spans
        .iter()
        .zip(scores)
        .zip(&tops)
        .zip(&passes)
        .enumerate()
        .map(|(i, (((s, &score), top), &pass))| ClipScore {
            index: s.index,
            start_s: s.start_s,
            end_s: s.end_s,
            start_frame: s.start_frame,
            end_frame: s.end_frame,
            padded: s.padded_slots > 0,
            padded_frames: s.padded_slots,
            score,
            top_actions: top
                .iter()
                .take(3)
                .map(|&(label, p)| Action {
                    label: pack
                        .labels
                        .get(label as usize)
                        .cloned()
                        .unwrap_or_else(|| format!("class {label}")),
                    p,
                })
                .collect(),
            pass,
            coarse_score: (pass == Pass::Full)
                .then(|| coarse_scores.get(i).copied())
                .flatten(),
            score_parts: parts.get(i).copied().flatten(),
        })
        .collect();
    let peaks = find_peaks(
        &record.spans,
        scores,
        opts.threshold,
        opts.merge_gap_s,
        opts.min_peak_s,
    );
    let moments = if peaks.is_empty() {
        top_moments(&record.spans, scores, 3)
    } else {
        Vec::new()
    };
    let segments_32 = segment_scores(scores, &segment_ranges_32(scores.len()));
    let wall_s = t0.elapsed().as_secs_f64();

    ScoreReport {
        vigil_version: crate::TOOL_VERSION.to_string(),
        video: VideoSummary {
            path: path.display().to_string(),
            sha256,
            duration_s: record.duration_s,
            fps: info.fps,
            frames: record.frames,
            frames_expected: info.frames_expected,
            partial: record.partial,
            width: info.width,
            height: info.height,
            codec: info.codec.clone(),
            container: info.container.clone(),
            creation_time: info.creation_time.clone(),
            decode_errors: record.decode_errors,
            gaps: record.gaps.clone(),
            damaged: record.damaged.clone(),
            stream: info.stream_index,
            video_streams: info.video_streams.clone(),
            timing: info.timing,
            warnings: record
                .warnings
                .iter()
                .chain(&cache_warnings)
                .cloned()
                .chain(other_streams_warning(&info, opts))
                .collect(),
        },
        model: ModelSummary {
            id: pack.manifest.id.clone(),
            sha256: pack.manifest.extractor.sha256.clone(),
            manifest_sha256: pack.manifest_sha256.clone(),
            clip_frames: contract.frames,
            clip_fps: contract.frame_rate,
        },
        device,
        device_note,
        runtime_version,
        threshold: opts.threshold,
        clips,
        peaks,
        top_moments: moments,
        segments_32,
        scorer: summary,
        cache: CacheSummary {
            dir: cache_dir,
            clips_from_cache,
            clips_computed,
        },
        timing: Timing {
            wall_s,
            clips_per_s: if infer_s > 0.0 {
                clips_computed as f64 / infer_s
            } else {
                0.0
            },
            video_s_per_s: if wall_s > 0.0 {
                record.duration_s / wall_s
            } else {
                0.0
            },
            peak_rss_mib: super::report::peak_rss_mib(),
        },
        cascade,
    }
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
    let ClipRows {
        info,
        sha256,
        mut record,
        dim,
        device,
        device_note,
        runtime_version,
        clips_from_cache,
        clips_computed,
        infer_s,
        cache_dir,
        cache_warnings,
        ..
    } = got;
    // This copy of the record goes to the caller only: the warnings about this run's cache
    // join it without being stored in the cache.
    record.warnings.extend(cache_warnings);
    Ok(ClipFeatures {
        info,
        sha256,
        record,
        dim,
        features,
        tops,
        device,
        device_note,
        runtime_version,
        clips_from_cache,
        clips_computed,
        infer_s,
        cache_dir,
    })
}

/// [`ClipFeatures`] with the features left in the cache: what the scorers read them from, a
/// block at a time.
struct ClipRows {
    info: VideoInfo,
    sha256: String,
    record: CompleteRecord,
    dim: usize,
    /// Every clip of `record.spans`, in the cache (real or temporary).
    index: ClipIndex,
    /// The cache folder (for errors).
    dir: PathBuf,
    /// The temporary cache of a `--no-cache` run, removed on drop.
    _temporary: Option<tempfile::TempDir>,
    device: String,
    device_note: Option<String>,
    runtime_version: Option<String>,
    clips_from_cache: u64,
    clips_computed: u64,
    infer_s: f64,
    cache_dir: Option<String>,
    /// Cache files found bad and recomputed in this run.
    cache_warnings: Vec<String>,
}

impl ClipRows {
    /// The clips, in order.
    fn order(&self) -> Vec<u64> {
        self.record.spans.iter().map(|s| s.index).collect()
    }

    /// Top classes of `clips`.
    fn tops(&self, clips: &[u64]) -> Vec<Vec<(u32, f32)>> {
        clips
            .iter()
            .map(|&c| self.index.top(c).map(<[_]>::to_vec).unwrap_or_default())
            .collect()
    }

    fn cache_error(&self, source: std::io::Error) -> PipelineError {
        PipelineError::Cache {
            path: self.dir.clone(),
            source,
        }
    }
}

/// [`extract_clip_features`], leaving the features in the cache, with provisional novelty
/// scores under `provisional`.
fn clip_rows(
    path: &Path,
    pack: &Pack,
    opts: &ScoreOptions,
    provisional: Option<&crate::model::NoveltyParams>,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(Progress),
) -> Result<ClipRows, PipelineError> {
    let (input, info) = open_video_with(path, &opts.open)?;
    progress(Progress::Hashing);
    let sha256 = sha256_file(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    progress(Progress::Hashed {
        sha256: sha256.clone(),
    });
    let contract = &pack.manifest.extractor.input;
    let dim = pack.manifest.extractor.features.dim;
    let clip_s = f64::from(contract.frames) / contract.frame_rate;

    let (cache, temporary) = open_cache(opts, &pack.feature_key(), &sha256, dim)?;
    let cache_dir = temporary
        .is_none()
        .then(|| cache.dir().display().to_string());
    let mut outputs = cache.index().map_err(cache_error(&cache))?;
    let complete = cache
        .load_complete()
        .filter(|r| r.spans.iter().all(|s| outputs.contains(s.index)));

    let clips_from_cache;
    let mut clips_computed = 0u64;
    let mut infer_s = 0.0;
    let (record, device, device_note, runtime_version) = match complete {
        Some(record) => {
            clips_from_cache = record.spans.len() as u64;
            (record, "cache".to_string(), None, None)
        }
        None if opts.cache_only => return Err(PipelineError::NotCached),
        None => {
            let runtime = crate::model::init_runtime()?;
            let (extractors, batch_size) = open_sessions(pack, opts, false)?;
            let provider = extractors[0].execution_provider();
            let note = extractors[0].device_note().map(str::to_string);
            let estimate = info
                .duration_s
                .map_or(0, |d| (d / clip_s).ceil().max(0.0) as u64);
            progress(Progress::Started {
                stage: "full pass",
                clips_estimate: estimate,
                clips_cached: outputs.len() as u64,
                provider,
                note: note.clone(),
            });
            let cached: HashSet<u64> = outputs.clips().collect();
            let t_infer = Instant::now();
            let wanted = |clip: u64| !cached.contains(&clip);
            let plan = DecodePlan {
                wanted: &wanted,
                cached: &cached,
                gate: None,
                runs: None,
                provisional: provisional.map(|params| ProvisionalRule {
                    params,
                    stage: "full pass",
                    footage_s: info.duration_s.unwrap_or(0.0),
                }),
            };
            let job = ThreadJob {
                info: &info,
                contract,
                plan: &plan,
                cache: &cache,
                batch_size,
                cancelled,
                estimate,
                clip_s,
            };
            let summary = run_threads(
                input,
                extractors,
                &job,
                &mut outputs,
                &mut clips_computed,
                progress,
            )?;
            infer_s = t_infer.elapsed().as_secs_f64();
            let record = completion_record(&info, summary);
            clips_from_cache =
                record.spans.len() as u64 - clips_computed.min(record.spans.len() as u64);
            cache.write_complete(&record).map_err(cache_error(&cache))?;
            (
                record,
                provider.name().to_string(),
                note,
                Some(runtime.version),
            )
        }
    };
    if let Some(s) = record.spans.iter().find(|s| !outputs.contains(s.index)) {
        return Err(PipelineError::Internal(format!(
            "clip {} has no features",
            s.index
        )));
    }
    Ok(ClipRows {
        info,
        sha256,
        record,
        dim,
        index: outputs,
        dir: cache.dir().to_path_buf(),
        _temporary: temporary,
        device,
        device_note,
        runtime_version,
        clips_from_cache,
        clips_computed,
        infer_s,
        cache_dir,
        cache_warnings: cache.take_rejected(),
    })
}

/// The feature cache of one video under one feature key: the user's (`opts.cache_root`), or a
/// temporary one that goes when the returned guard drops (a `--no-cache` run). With
/// `opts.cache_only` the user's is not created if missing.
/// The cache folder's name for a file: its hash, and the open choices that change its clips.
fn cache_name(sha256: &str, open: &crate::video::OpenOptions) -> String {
    let mut name = sha256.to_string();
    if let Some(n) = open.stream {
        name.push_str(&format!("-stream{n}"));
    }
    if let Some(f) = open.fps {
        name.push_str(&format!("-fps{f}"));
    }
    name
}

pub(super) fn open_cache(
    opts: &ScoreOptions,
    feature_key: &str,
    sha256: &str,
    dim: usize,
) -> Result<(FeatureCache, Option<tempfile::TempDir>), PipelineError> {
    // Another stream of the same file is other footage, and another frame rate other clips:
    // their features live apart.
    let named = cache_name(sha256, &opts.open);
    let sha256 = named.as_str();
    match &opts.cache_root {
        Some(root) if opts.cache_only => Ok((
            FeatureCache::at(root, feature_key, sha256, dim, TOP_K),
            None,
        )),
        Some(root) => FeatureCache::open(root, feature_key, sha256, dim, TOP_K)
            .map(|c| (c, None))
            .map_err(|source| PipelineError::Cache {
                path: root.clone(),
                source,
            }),
        None => super::cache::temporary(feature_key, dim, TOP_K)
            .map(|(c, guard)| (c, Some(guard)))
            .map_err(|source| PipelineError::Cache {
                path: std::env::temp_dir(),
                source,
            }),
    }
}

/// One extractor session per worker (the pack's coarse network, or its full one) and the batch
/// size for the provider they run on. Sessions are made before any decoding, so that model
/// errors surface at once.
pub(super) fn open_sessions(
    pack: &Pack,
    opts: &ScoreOptions,
    coarse: bool,
) -> Result<(Vec<Extractor>, usize), PipelineError> {
    let workers = opts.workers.max(1);
    // Several CPU sessions each taking every core would only fight over them.
    let intra = opts.intra_threads.or_else(|| {
        (workers > 1)
            .then(|| std::thread::available_parallelism().map_or(1, |n| (n.get() / workers).max(1)))
    });
    let mut extractors = Vec::with_capacity(workers);
    for _ in 0..workers {
        extractors.push(if coarse {
            Extractor::coarse(pack, opts.device, intra)?
        } else {
            Extractor::new(pack, opts.device, intra)?
        });
    }
    let batch = opts
        .batch_size
        .unwrap_or(match extractors[0].execution_provider() {
            ExecutionProvider::Cpu => 4,
            ExecutionProvider::Cuda => 16,
        });
    Ok((extractors, batch.max(1)))
}

/// Turns what decoding found into the cache record, with the reviewer-facing warnings.
pub(super) fn completion_record(info: &VideoInfo, summary: DecodeSummary) -> CompleteRecord {
    let DecodeSummary {
        spans,
        stats,
        end_s,
        ..
    } = summary;
    let mut warnings = Vec::new();
    let frames = stats.frames;
    let expected = info.frames_expected;
    let shortfall = expected.is_some_and(|exp| {
        let slack = if info.frames_expected_exact {
            1
        } else {
            (exp / 20).max(2)
        };
        frames + slack < exp
    });
    // Truncation is judged by the time the decoded frames cover against the duration the
    // container states: a recorder that drops frames on a still scene leaves fewer frames than
    // its header counts, but every second of the recording. The frame count decides only where
    // the container states no duration (or FFmpeg guessed one from the bit rate).
    let stated = info
        .duration_s
        .filter(|d| *d > 0.0 && !info.duration_guessed);
    let short_in_time = stated.is_some_and(|d| end_s + (0.02 * d).max(1.0) < d);
    let partial = stats.read_error.is_some()
        || short_in_time
        || (stated.is_none() && shortfall && info.frames_expected_exact);
    if partial {
        let of = expected.map_or_else(String::new, |e| format!(" of ~{e}"));
        let covered = stated.map_or_else(String::new, |d| {
            format!(", {end_s:.1} s of the {d:.1} s the container states")
        });
        let why = stats
            .read_error
            .as_ref()
            .map_or_else(String::new, |e| format!(" (reading stopped: {e})"));
        warnings.push(format!(
            "decoded {frames}{of} frames{covered}{why}: the file looks truncated or damaged; scores cover the decoded {end_s:.1} s only"
        ));
    } else if shortfall
        && let Some(exp) = expected
        && stats.decode_errors + stats.ffmpeg_errors > 0
    {
        warnings.push(format!(
            "the file holds {frames} frames where its header implies ~{exp}: the missing ones were lost to the damage below or dropped when it was recorded (the decoded frames cover all {end_s:.1} s)"
        ));
    } else if shortfall && let Some(exp) = expected {
        warnings.push(format!(
            "the file holds {frames} frames where its header implies ~{exp}: frames were dropped when it was recorded (not truncation: the decoded frames cover all {end_s:.1} s); a still scene is often recorded this way"
        ));
    }
    match info.timing {
        FrameTiming::Assumed => {
            let what = crate::video::untimed_container(&info.container).map_or_else(
                || format!("the raw {} stream has no VUI timing and", info.codec),
                |name| name.to_string(),
            );
            warnings.push(format!(
                "{what} stores no frame times: FFmpeg assumed {:.3} fps, so times and the duration ({end_s:.1} s) hold only if the recording ran at that rate (give the recorder's rate with --fps N)",
                info.fps
            ));
        }
        FrameTiming::Given => warnings.push(format!(
            "the stream stores no frame times: frames are timed at {} fps, the rate given with --fps; times and the duration ({end_s:.1} s) rest on it",
            info.fps
        )),
        FrameTiming::Container | FrameTiming::StreamHeader => {}
    }
    if stats.deinterlace {
        warnings.push(format!(
            "the footage is interlaced: {} of {frames} frames were deinterlaced (FFmpeg bwdif) before the network; exports keep the original fields",
            stats.deinterlaced_frames
        ));
    }
    if stats.rotated_deg != 0 {
        warnings.push(format!(
            "the container turns the picture {}° clockwise: frames were turned upright before the network",
            stats.rotated_deg
        ));
    }
    let decode_errors = stats.decode_errors + stats.ffmpeg_errors;
    if decode_errors > 0 || stats.damaged_frames > 0 {
        let regions = &stats.damaged;
        let at = regions.first().map_or_else(String::new, |r| {
            format!(
                " in {} region{} (first {})",
                regions.len(),
                if regions.len() == 1 { "" } else { "s" },
                span_words(r.from_s, r.to_s)
            )
        });
        let first = stats
            .ffmpeg_messages
            .first()
            .map_or_else(String::new, |m| format!("; FFmpeg said first: \"{m}\""));
        warnings.push(format!(
            "the footage is damaged: {decode_errors} decoding errors, {} frames decoded with damage concealed{at}; scores there rest on repaired pictures{first}",
            stats.damaged_frames
        ));
    }
    if !stats.gaps.is_empty() {
        let longest = stats
            .gaps
            .iter()
            .max_by(|a, b| (a.to_s - a.from_s).total_cmp(&(b.to_s - b.from_s)));
        if let Some(g) = longest {
            warnings.push(format!(
                "{} recording gap{} (no frames for more than {:.0} s), the longest {:.1} s ({})",
                stats.gaps.len(),
                if stats.gaps.len() == 1 { "" } else { "s" },
                crate::video::GAP_MIN_S,
                g.to_s - g.from_s,
                span_words(g.from_s, g.to_s)
            ));
        }
    }
    if stats.ts_backwards > 0 {
        warnings.push(format!(
            "timestamps went backwards for {} frames (first after {}): the container is damaged or was edited; those frames were held at the latest time",
            stats.ts_backwards,
            crate::base::format_hms(stats.first_backwards_s.unwrap_or(0.0))
        ));
    }
    if stats.ts_implausible > 0 {
        let (n, them) = match stats.ts_implausible {
            1 => (
                "1 frame carries an impossible timestamp".to_string(),
                "it was",
            ),
            n => (
                format!("{n} frames carry impossible timestamps"),
                "they were",
            ),
        };
        warnings.push(format!(
            "{n} (far past the end the container states, or a day after the frame before): the container is damaged; {them} placed one frame after the frame before"
        ));
    }
    match stats.ts_repeated {
        0 => {}
        1 => warnings.push(
            "1 frame repeats its predecessor's timestamp (a duplicated frame or chunk)".into(),
        ),
        n => warnings.push(format!(
            "{n} frames repeat their predecessor's timestamp (duplicated frames or chunks)"
        )),
    }
    CompleteRecord {
        version: super::cache::FORMAT_VERSION,
        spans,
        frames,
        duration_s: end_s,
        decode_errors,
        warnings,
        partial,
        gaps: stats.gaps,
        damaged: stats.damaged,
    }
}

/// "at 00:01:02.500–00:01:04.000", for a warning.
fn span_words(from_s: f64, to_s: f64) -> String {
    format!(
        "at {}–{}",
        crate::base::format_hms(from_s),
        crate::base::format_hms(to_s)
    )
}

/// Runs the decode thread and the inference threads to completion: the features of every clip
/// not already in `outputs` go to `cache`, and `outputs` indexes them.
#[allow(clippy::too_many_arguments)]
/// What one run of the decode and inference threads reads: the footage's facts, the clip
/// contract, which clips to compute, where results go, and how often to report.
#[derive(Clone, Copy)]
pub(super) struct ThreadJob<'a> {
    /// The footage.
    pub info: &'a VideoInfo,
    /// The network's input contract.
    pub contract: &'a InputContract,
    /// Which clips to decode, and what is already known.
    pub plan: &'a DecodePlan<'a>,
    /// Where each batch is written as it finishes.
    pub cache: &'a FeatureCache,
    /// Clips per inference call.
    pub batch_size: usize,
    /// Checked between batches.
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
    /// Clips expected, for progress.
    pub estimate: u64,
    /// Seconds per clip, for progress.
    pub clip_s: f64,
}

pub(super) fn run_threads(
    input: crate::video::Source,
    extractors: Vec<Extractor>,
    job: &ThreadJob<'_>,
    outputs: &mut ClipIndex,
    computed: &mut u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<DecodeSummary, PipelineError> {
    let ThreadJob {
        info,
        contract,
        plan,
        cache,
        batch_size,
        cancelled,
        estimate,
        clip_s,
    } = *job;
    // Set by the caller (cancel) or by us when a worker fails; every thread checks it.
    let stop = AtomicBool::new(false);
    let stopped = || stop.load(Ordering::Relaxed) || cancelled();
    std::thread::scope(|s| {
        let (batch_tx, batch_rx) = bounded::<Batch>(2);
        let (res_tx, res_rx) = bounded::<WorkerMsg>(extractors.len() * 2 + 2);
        let (back_tx, back_rx) = bounded::<Vec<u8>>(extractors.len() + 2);
        let decode_res = res_tx.clone();
        let decode = std::thread::Builder::new()
            .name("vigil-decode".into())
            .spawn_scoped(s, || {
                let ends = DecodeEnds {
                    tx: batch_tx,
                    returned: back_rx,
                    reused: decode_res,
                };
                decode_loop(input, info, contract, plan, ends, batch_size, &stopped)
            })
            .map_err(|e| PipelineError::Internal(format!("cannot start decode thread: {e}")))?;
        for (i, ex) in extractors.into_iter().enumerate() {
            let rx = batch_rx.clone();
            let tx = res_tx.clone();
            let back = back_tx.clone();
            std::thread::Builder::new()
                .name(format!("vigil-infer-{i}"))
                .spawn_scoped(s, move || infer_loop(ex, rx, tx, back, cache, &stopped))
                .map_err(|e| {
                    PipelineError::Internal(format!("cannot start inference thread: {e}"))
                })?;
        }
        drop(batch_rx);
        drop(res_tx);
        drop(back_tx);

        let mut failure = None;
        let mut reused = Vec::new();
        let mut done = plan.cached.len() as u64;
        let mut next_provisional = Instant::now() + Duration::from_secs_f64(PROVISIONAL_EVERY_S);
        for msg in res_rx.iter() {
            if let Some(rule) = &plan.provisional
                && failure.is_none()
                && Instant::now() >= next_provisional
            {
                let t = Instant::now();
                if let Some(p) = provisional_scores(outputs, &reused, rule, clip_s) {
                    progress(Progress::Provisional(std::sync::Arc::new(p)));
                }
                let cost = t.elapsed().as_secs_f64();
                next_provisional =
                    Instant::now() + Duration::from_secs_f64(PROVISIONAL_EVERY_S.max(9.0 * cost));
            }
            match msg {
                WorkerMsg::Reused(clips) => {
                    done += clips.len() as u64;
                    reused.extend(clips);
                    progress(Progress::Clips {
                        done,
                        estimate: estimate.max(done),
                        video_s: done as f64 * clip_s,
                    });
                }
                WorkerMsg::Done(file, clips) => {
                    done += clips.len() as u64;
                    *computed += clips.len() as u64;
                    outputs.add(file, clips);
                    progress(Progress::Clips {
                        done,
                        estimate: estimate.max(done),
                        video_s: done as f64 * clip_s,
                    });
                }
                WorkerMsg::Failed(e) => {
                    stop.store(true, Ordering::Relaxed);
                    failure.get_or_insert(e);
                }
            }
        }
        let decoded = decode
            .join()
            .map_err(|_| PipelineError::Internal("decode thread panicked".into()))?;
        if let Some(e) = failure {
            return Err(e);
        }
        if cancelled() {
            return Err(PipelineError::Cancelled);
        }
        let mut decoded = decoded?;
        reused.sort_unstable();
        decoded.reused = reused;
        Ok(decoded)
    })
}

/// The decode thread: clips of the file → batches of uncached clips.
fn decode_loop(
    input: crate::video::Source,
    info: &VideoInfo,
    contract: &InputContract,
    plan: &DecodePlan<'_>,
    ends: DecodeEnds,
    batch_size: usize,
    stopped: &dyn Fn() -> bool,
) -> Result<DecodeSummary, PipelineError> {
    let DecodeEnds {
        tx,
        returned,
        reused,
    } = ends;
    let mut gate = plan.gate.map(Gate::new);
    // Gate decisions go out in chunks, so that progress moves through a still hour too.
    let mut reused_chunk: Vec<(u64, u64)> = Vec::new();
    let spec = ClipSpec {
        frames: contract.frames,
        fps: contract.frame_rate,
        width: contract.width,
        height: contract.height,
        resize: contract.resize,
    };
    let mut reader = ClipReader::new(input, info, spec)?;
    let clip_bytes =
        contract.frames as usize * contract.width as usize * contract.height as usize * 3;
    // Pixel buffers come back from the workers (`returned`) and are reused, so memory stays
    // flat however long the footage is.
    let new_batch = || Batch {
        clips: Vec::with_capacity(batch_size),
        pixels: returned.try_recv().map_or_else(
            |_| Vec::with_capacity(batch_size * clip_bytes),
            |mut v| {
                v.clear();
                v
            },
        ),
    };
    let mut batch = new_batch();
    let mut spans = Vec::new();
    let send_reused = |chunk: &mut Vec<(u64, u64)>| {
        if chunk.is_empty() {
            return Ok(());
        }
        reused
            .send(WorkerMsg::Reused(std::mem::take(chunk)))
            .map_err(|_| PipelineError::Cancelled)
    };
    let all = [(0, u64::MAX)];
    let (runs, seeking) = match plan.runs {
        Some(r) => (r, true),
        None => (&all[..], false),
    };
    let mut next = runs.iter();
    let mut run = next.next().copied();
    if seeking && let Some((first, _)) = run {
        reader.seek_to_clip(first, SEEK_PREROLL_S)?;
    }
    while let Some((first, last)) = run {
        let Some((span, pixels)) = reader.next_clip(plan.wanted)? else {
            break;
        };
        if stopped() {
            return Err(PipelineError::Cancelled);
        }
        if span.index >= last {
            run = next.next().copied();
            if let Some((first_next, _)) = run {
                // Decoding on through a short gap beats a seek; the planner merged those.
                reader.seek_to_clip(first_next, SEEK_PREROLL_S)?;
            }
            if span.index > last {
                if let Some(p) = pixels {
                    reader.recycle(p);
                }
                continue;
            }
        }
        if span.index < first {
            if let Some(p) = pixels {
                reader.recycle(p);
            }
            continue;
        }
        spans.push(span);
        let Some(pixels) = pixels else {
            continue;
        };
        if let Some(g) = gate.as_mut() {
            let sig = ClipSignature::of_clip(
                &pixels,
                contract.frames as usize,
                contract.width as usize,
                contract.height as usize,
            );
            if let Some(reference) = g.decide(span.index, sig) {
                reader.recycle(pixels);
                reused_chunk.push((span.index, reference));
                if reused_chunk.len() >= 64 {
                    send_reused(&mut reused_chunk)?;
                }
                continue;
            }
        }
        if plan.cached.contains(&span.index) {
            reader.recycle(pixels);
            continue;
        }
        batch.clips.push(span);
        batch.pixels.extend_from_slice(&pixels);
        reader.recycle(pixels);
        if batch.clips.len() == batch_size
            && tx.send(std::mem::replace(&mut batch, new_batch())).is_err()
        {
            // Every worker has stopped; the caller learns why from them.
            return Err(PipelineError::Cancelled);
        }
    }
    send_reused(&mut reused_chunk)?;
    if !batch.clips.is_empty() && tx.send(batch).is_err() {
        return Err(PipelineError::Cancelled);
    }
    Ok(DecodeSummary {
        spans,
        stats: reader.final_stats(),
        end_s: reader.end_time_s(),
        reused: Vec::new(),
    })
}

/// An inference thread: batches in, features out (and into the cache).
fn infer_loop(
    mut extractor: Extractor,
    rx: Receiver<Batch>,
    tx: Sender<WorkerMsg>,
    back: Sender<Vec<u8>>,
    cache: &FeatureCache,
    stopped: &dyn Fn() -> bool,
) {
    for batch in rx.iter() {
        if stopped() {
            break;
        }
        let result = extractor
            .run(&batch.pixels, batch.clips.len())
            .map_err(PipelineError::from)
            .and_then(|outs| {
                let items: Vec<(u64, ClipOutput)> =
                    batch.clips.iter().map(|c| c.index).zip(outs).collect();
                let file = cache
                    .write_batch(&items)
                    .map_err(cache_error(cache))?
                    .ok_or_else(|| PipelineError::Internal("an empty batch".into()))?;
                let tops = items.into_iter().map(|(c, o)| (c, o.top)).collect();
                Ok((file, tops))
            });
        // Hand the pixel buffer back for reuse. A full channel only means the decoder already
        // has spares (or has finished): this buffer is then simply freed.
        let _ = back.try_send(batch.pixels);
        let msg = match result {
            Ok((file, tops)) => WorkerMsg::Done(file, tops),
            Err(e) => WorkerMsg::Failed(e),
        };
        let failed = matches!(msg, WorkerMsg::Failed(_));
        if tx.send(msg).is_err() || failed {
            break;
        }
    }
}
