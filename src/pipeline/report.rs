//! The result of scoring one video: what `vigil score --json` prints, one document per file.

use crate::base::format_hms;
use serde::{Deserialize, Serialize};

/// Everything known about one scored video.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreReport {
    /// Version of vigil that produced this.
    pub vigil_version: String,
    /// The footage.
    pub video: VideoSummary,
    /// The model pack.
    pub model: ModelSummary,
    /// The ONNX Runtime execution provider that ran (`CPUExecutionProvider`,
    /// `CUDAExecutionProvider`), or `cache` when every clip's features came from the cache and
    /// nothing ran.
    pub device: String,
    /// Why the provider differs from what was asked for, when it does.
    pub device_note: Option<String>,
    /// The ONNX Runtime library version, when inference ran.
    pub runtime_version: Option<String>,
    /// Score at or above which a clip is flagged.
    pub threshold: f32,
    /// One entry per clip, in time order.
    pub clips: Vec<ClipScore>,
    /// Flagged spans, highest score first (empty when nothing reached the threshold).
    pub peaks: Vec<Peak>,
    /// When nothing was flagged: the highest-scoring moments, to look at first.
    pub top_moments: Vec<Peak>,
    /// The paper's 32 per-video segment scores (max clip score per segment).
    pub segments_32: Vec<f32>,
    /// How the scores were made.
    pub scorer: ScorerSummary,
    /// Cache use.
    pub cache: CacheSummary,
    /// How long it took.
    pub timing: Timing,
    /// What the cascade did (absent for a full pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cascade: Option<CascadeSummary>,
}

/// Which pass produced a clip's features, and so its score and action hints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// The change gate found the clip unchanged: it carries the features (and score) of the
    /// last clip that went through the network.
    Reused,
    /// The coarse network's features (the clip was not a candidate).
    Coarse,
    /// The full network's features.
    #[default]
    Full,
}

/// What the cascade did to one file (`pipeline::cascade` documents the rules).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CascadeSummary {
    /// Clips whose score comes from full-resolution features (their own).
    pub clips_full: u64,
    /// Clips scored from coarse features.
    pub clips_coarse: u64,
    /// Clips the gate found unchanged, scored as the clip they reuse.
    pub clips_reused: u64,
    /// Clips the coarse network ran on (computed now or earlier and cached).
    pub coarse_network_clips: u64,
    /// Clips the full network ran on (computed now or earlier and cached): the scored clips'
    /// feature sources and their coarse matches.
    pub full_network_clips: u64,
    /// Clips scored at full resolution: candidates, anchors and the clips they reuse.
    pub queries: u64,
    /// Of those, candidates the coarse pass found (with their neighbours).
    pub candidates: u64,
    /// Of those, the even sample of the footage that calibrates the full-resolution scores.
    pub anchors: u64,
    /// The change gate's thresholds.
    pub gate: super::gate::GateParams,
    /// The candidate and calibration rule, in words, with its numbers.
    pub rule: String,
    /// Seconds of the coarse pass (decoding, gate, coarse network).
    pub coarse_s: f64,
    /// Seconds of the refine pass.
    pub refine_s: f64,
    /// How the refine read its clips: `seek (N runs)` to each run of wanted clips, `whole
    /// file` (timestamps unsound, or a seek missed), or `none` (all cached).
    #[serde(default)]
    pub refine_decode: String,
}

/// The footage as decoded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VideoSummary {
    /// Path as given.
    pub path: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// The stream's average frame rate.
    pub fps: f64,
    /// Frames decoded.
    pub frames: u64,
    /// Frames the container claims.
    pub frames_expected: Option<u64>,
    /// True when only part of the file could be decoded; scores then cover that part only.
    pub partial: bool,
    /// Coded width.
    pub width: u32,
    /// Coded height.
    pub height: u32,
    /// Codec name.
    pub codec: String,
    /// Container (FFmpeg demuxer) name.
    pub container: String,
    /// The container's creation time tag, when present.
    pub creation_time: Option<String>,
    /// Errors while demuxing and decoding: the messages FFmpeg logged at error level, and the
    /// packets or frames it rejected without one.
    pub decode_errors: u64,
    /// Recording gaps: stretches with no frame longer than 2 s (or 10 frame intervals).
    #[serde(default)]
    pub gaps: Vec<crate::video::TimeRange>,
    /// Regions decoded with damage: frames FFmpeg flagged (concealed errors, missing
    /// references) or logged errors for; scores there rest on repaired pictures.
    #[serde(default)]
    pub damaged: Vec<crate::video::DamagedRange>,
    /// The container index of the video stream scored.
    #[serde(default)]
    pub stream: usize,
    /// Every footage video stream of the file (container indices).
    #[serde(default)]
    pub video_streams: Vec<usize>,
    /// Where the frame times come from: `container`, `stream_header` (raw H.264/HEVC VUI),
    /// `assumed` (none stored; FFmpeg's default rate) or `given` (`--fps`).
    #[serde(default)]
    pub timing: crate::video::FrameTiming,
    /// Problems a reviewer should know about.
    pub warnings: Vec<String>,
}

/// Which model made the scores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Pack id.
    pub id: String,
    /// SHA-256 of the extractor ONNX file.
    pub sha256: String,
    /// SHA-256 of the pack's manifest (covers every file and parameter).
    pub manifest_sha256: String,
    /// Frames per clip.
    pub clip_frames: u32,
    /// Frame rate clips are sampled at.
    pub clip_fps: f64,
}

/// The scoring rule used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScorerSummary {
    /// `novelty` for the training-free scorer.
    pub kind: String,
    /// Its parameters, as in the manifest.
    pub params: serde_json::Value,
    /// Median novelty distance found in this footage.
    pub median_distance: f64,
    /// Robust spread used for calibration.
    pub spread: f64,
    /// A caveat, when there is one (e.g. footage too short).
    pub note: Option<String>,
}

/// A Kinetics action hint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Class name.
    pub label: String,
    /// Softmax probability.
    pub p: f32,
}

/// One clip's place and score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipScore {
    /// Clip number from 0.
    pub index: u64,
    /// Start, seconds since the first frame.
    pub start_s: f64,
    /// End (exclusive), seconds.
    pub end_s: f64,
    /// First source frame shown in the clip (0-based).
    pub start_frame: u64,
    /// One past the last source frame shown in the clip.
    pub end_frame: u64,
    /// True for the tail clip padded by repeating the last frame.
    pub padded: bool,
    /// How many of its frames are padding.
    pub padded_frames: u32,
    /// Anomaly score 0..1.
    pub score: f32,
    /// The three most probable Kinetics-400 actions: hints, not findings.
    pub top_actions: Vec<Action>,
    /// Which pass produced the features behind the score and hints.
    #[serde(default)]
    pub pass: Pass,
    /// A cascaded clip refined at full resolution (`pass: full`): the coarse score that made
    /// it a candidate (or not; anchors and matches are refined whatever it was), so that a
    /// reviewer can see what the coarse pass saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coarse_score: Option<f32>,
    /// What the fused scorer's score is made of (`pipeline::fused`): the within-file novelty
    /// and bank parts, and the MIL head's view, so an analyst can see why a clip scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_parts: Option<super::fused::ScoreParts>,
}

/// A flagged span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Highest clip score in the span.
    pub score: f32,
    /// Start of the highest-scoring clip.
    pub peak_s: f64,
    /// Index of the highest-scoring clip.
    pub peak_clip: u64,
    /// First clip of the span.
    pub first_clip: u64,
    /// Last clip of the span.
    pub last_clip: u64,
}

/// How much came from the feature cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheSummary {
    /// The cache folder, when caching is on.
    pub dir: Option<String>,
    /// Clips whose features were read from the cache.
    pub clips_from_cache: u64,
    /// Clips run through the network in this run.
    pub clips_computed: u64,
}

/// Wall-clock figures of this run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds from start to report.
    pub wall_s: f64,
    /// Clips run through the network per second of wall time.
    pub clips_per_s: f64,
    /// Seconds of footage processed per second of wall time.
    pub video_s_per_s: f64,
    /// Peak resident memory of the whole process so far, in MiB (Linux; None elsewhere).
    pub peak_rss_mib: Option<f64>,
}

/// The process's peak resident set size in MiB, from `/proc/self/status` (`VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

impl ScoreReport {
    /// The readable summary `vigil score` prints: the footage, what ran, warnings, and the top
    /// `top` flagged spans (or, when nothing was flagged, the highest-scoring moments).
    pub fn summary(&self, top: usize) -> String {
        use std::fmt::Write as _;
        let v = &self.video;
        let mut out = String::new();
        let stream = if v.video_streams.len() > 1 {
            format!(" (video stream #{} of {})", v.stream, v.video_streams.len())
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{}{stream}\n  {:.1} s · {} frames at {:.3} fps · {} {}x{} · sha256 {}…",
            v.path,
            v.duration_s,
            v.frames,
            v.fps,
            v.codec,
            v.width,
            v.height,
            &v.sha256[..v.sha256.len().min(16)]
        );
        let ran = if self.device == "cache" {
            "features from cache (nothing ran)".to_string()
        } else {
            format!("on {}", self.device)
        };
        let _ = writeln!(
            out,
            "  model {} ({} scorer) {ran} · {} clips ({} computed, {} cached) in {:.1} s",
            self.model.id,
            self.scorer.kind,
            self.clips.len(),
            self.cache.clips_computed,
            self.cache.clips_from_cache,
            self.timing.wall_s
        );
        if let Some(n) = &self.device_note {
            let _ = writeln!(out, "  note: {n}");
        }
        for w in &v.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        if let Some(n) = &self.scorer.note {
            let _ = writeln!(out, "  note: {n}");
        }
        let (title, list) = if self.peaks.is_empty() {
            (
                format!(
                    "  Nothing reached {:.2}. Highest-scoring moments, to look at first:",
                    self.threshold
                ),
                &self.top_moments,
            )
        } else {
            (
                format!(
                    "  {} flagged span{} (score ≥ {:.2}), highest first:",
                    self.peaks.len(),
                    if self.peaks.len() == 1 { "" } else { "s" },
                    self.threshold
                ),
                &self.peaks,
            )
        };
        let _ = writeln!(out, "{title}");
        for (i, p) in list.iter().take(top).enumerate() {
            let _ = writeln!(
                out,
                "  {:>3}. {} – {}  ({:.1} s)  score {:.2}, peak at {}",
                i + 1,
                format_hms(p.start_s),
                format_hms(p.end_s),
                p.end_s - p.start_s,
                p.score,
                format_hms(p.peak_s)
            );
            if let Some(c) = self.clips.get(p.peak_clip as usize) {
                let hints: Vec<String> = c
                    .top_actions
                    .iter()
                    .map(|a| format!("{} {:.2}", a.label, a.p))
                    .collect();
                if !hints.is_empty() {
                    let _ = writeln!(
                        out,
                        "       Kinetics action hints (not findings; often wrong on wide views): {}",
                        hints.join(", ")
                    );
                }
                if let Some(parts) = &c.score_parts {
                    let _ = writeln!(
                        out,
                        "       why: {}",
                        super::fused::explain(parts, &self.scorer.params)
                    );
                }
            }
        }
        if list.len() > top {
            let _ = writeln!(out, "       … {} more (see --json)", list.len() - top);
        }
        out
    }
}
