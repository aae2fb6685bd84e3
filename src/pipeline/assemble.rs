//! The score report, assembled from what a pass found and the scores it made: clips with
//! their top classes, peaks, top moments, the paper's 32 segments and the run's facts.

use super::fused::ScoreParts;
use super::options::ScoreOptions;
use super::report::{
    Action, CacheSummary, ClipScore, ModelSummary, Pass, ScoreReport, Timing, VideoSummary,
};
use super::report::{CascadeSummary, ScorerSummary};
use super::rows::FeatureRun;
use super::scores::{find_peaks, segment_ranges_32, segment_scores, top_moments};
use crate::model::Pack;
use crate::video::VideoInfo;
use std::path::Path;
use std::time::Instant;

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
pub(super) fn assemble_report(
    path: &Path,
    pack: &Pack,
    opts: &ScoreOptions,
    t0: Instant,
    scored: Scored,
) -> ScoreReport {
    let contract = &pack.manifest.extractor.input;
    let clips = clip_scores(pack, &scored);
    let Scored {
        run,
        scores,
        summary,
        cascade,
        ..
    } = scored;
    let spans = &run.record.spans;
    let peaks = find_peaks(
        spans,
        &scores,
        opts.threshold,
        opts.merge_gap_s,
        opts.min_peak_s,
    );
    let moments = if peaks.is_empty() {
        top_moments(spans, &scores, 3)
    } else {
        Vec::new()
    };
    let segments_32 = segment_scores(&scores, &segment_ranges_32(scores.len()));
    let wall_s = t0.elapsed().as_secs_f64();
    let timing = Timing {
        wall_s,
        clips_per_s: if run.infer_s > 0.0 {
            run.clips_computed as f64 / run.infer_s
        } else {
            0.0
        },
        video_s_per_s: if wall_s > 0.0 {
            run.record.duration_s / wall_s
        } else {
            0.0
        },
        peak_rss_mib: super::report::peak_rss_mib(),
    };
    ScoreReport {
        vigil_version: crate::TOOL_VERSION.to_string(),
        video: video_summary(path, &run, opts),
        model: ModelSummary {
            id: pack.manifest.id.clone(),
            sha256: pack.manifest.extractor.sha256.clone(),
            manifest_sha256: pack.manifest_sha256.clone(),
            clip_frames: contract.frames,
            clip_fps: contract.frame_rate,
        },
        threshold: opts.threshold,
        clips,
        peaks,
        top_moments: moments,
        segments_32,
        scorer: summary,
        cache: CacheSummary {
            dir: run.cache_dir,
            clips_from_cache: run.clips_from_cache,
            clips_computed: run.clips_computed,
        },
        timing,
        device: run.device,
        device_note: run.device_note,
        runtime_version: run.runtime_version,
        cascade,
    }
}

/// Each clip's line of the report: its span, score, top classes and which pass made it.
fn clip_scores(pack: &Pack, scored: &Scored) -> Vec<ClipScore> {
    scored
        .run
        .record
        .spans
        .iter()
        .zip(&scored.scores)
        .zip(&scored.tops)
        .zip(&scored.passes)
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
                .then(|| scored.coarse_scores.get(i).copied())
                .flatten(),
            score_parts: scored.parts.get(i).copied().flatten(),
        })
        .collect()
}

/// The report's account of the footage: the file, what decoding found, and every warning a
/// reviewer should read (decoding's, the cache's, streams left unscored).
fn video_summary(path: &Path, run: &FeatureRun, opts: &ScoreOptions) -> VideoSummary {
    let (info, record) = (&run.info, &run.record);
    VideoSummary {
        path: path.display().to_string(),
        sha256: run.sha256.clone(),
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
            .chain(&run.cache_warnings)
            .cloned()
            .chain(other_streams_warning(info, opts))
            .collect(),
    }
}
