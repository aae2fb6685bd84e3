//! What an export's `manifest.json` records: the original (path, hash before and after, the
//! stream), the model and scores shown, what was asked for, and each clip with its method,
//! frames and hash. A court reads it; `vigil verify` re-checks it.

use super::signing::SignerRecord;
use serde::{Deserialize, Serialize};

/// Recording gaps and damaged regions found while decoding, on the footage's time axis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    /// Stretches with no frame.
    pub gaps: Vec<crate::video::TimeRange>,
    /// Frames decoded with damage.
    pub damaged: Vec<crate::video::DamagedRange>,
}

impl Findings {
    /// The findings that overlap `[from_s, to_s)`.
    pub fn within(&self, from_s: f64, to_s: f64) -> Findings {
        Findings {
            gaps: self
                .gaps
                .iter()
                .filter(|g| g.from_s < to_s && g.to_s > from_s)
                .copied()
                .collect(),
            damaged: self
                .damaged
                .iter()
                .filter(|d| d.from_s < to_s && d.to_s > from_s)
                .cloned()
                .collect(),
        }
    }
}

/// The original, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// Absolute path.
    pub path: String,
    /// File name.
    pub name: String,
    /// SHA-256 before the export.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// FFmpeg demuxer name.
    pub container: String,
    /// Video codec.
    pub codec: String,
    /// Coded width.
    pub width: u32,
    /// Coded height.
    pub height: u32,
    /// Average frame rate.
    pub fps: f64,
    /// Shown frames.
    pub frames: u64,
    /// Seconds from the first frame to the end of the last.
    pub duration_s: f64,
    /// The container's creation_time tag, when present.
    pub creation_time: Option<String>,
    /// The container index of the video stream exported.
    #[serde(default)]
    pub stream: usize,
    /// Every footage video stream of the file.
    #[serde(default)]
    pub video_streams: Vec<usize>,
    /// Where the frame times (and so every time in the manifest) come from.
    #[serde(default)]
    pub timing: crate::video::FrameTiming,
    /// True when the SHA-256 computed after the export equals the one before.
    pub unchanged_after_export: bool,
}

/// The model behind the scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Pack id.
    pub id: String,
    /// SHA-256 of its manifest.
    pub manifest_sha256: String,
}

/// A time span in source time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Requested {
    /// Start, seconds.
    pub from_s: f64,
    /// End, seconds.
    pub to_s: f64,
}

/// What a clip shows, in source time and frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    /// First shown instant, seconds.
    pub from_s: f64,
    /// End of the last shown frame, seconds.
    pub to_s: f64,
    /// First source frame shown (0-based).
    pub first_frame: u64,
    /// Last source frame shown (inclusive).
    pub last_frame: u64,
}

/// Every picture a clip shows, hashed, beside the hashes of the source frames it shows: the
/// same pictures, proven frame by frame (`vigil verify --frames` decodes both again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameHashes {
    /// How a picture is hashed ([`crate::video::FRAME_HASH_METHOD`]).
    pub method: String,
    /// The decoder's pixel format of the source's pictures.
    pub pixel_format: String,
    /// Their width.
    pub width: u32,
    /// Their height.
    pub height: u32,
    /// The source frames the clip shows, in order, as inclusive ranges of frame numbers.
    pub source_frames: Vec<[u64; 2]>,
    /// The hash of each of those source frames, in order.
    pub source: Vec<String>,
    /// The hash of each picture the clip shows, in order.
    pub clip: Vec<String>,
    /// True when the two lists are equal: the clip shows the original's pictures.
    pub identical: bool,
    /// The first clip picture that differs from its source frame (0-based), when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<usize>,
    /// FFmpeg commands that print the same hashes without vigil: for the source, for the clip.
    pub reproduce: (String, String),
}

impl FrameHashes {
    /// The source frame numbers listed, one by one.
    pub fn source_frame_numbers(&self) -> Vec<u64> {
        self.source_frames
            .iter()
            .flat_map(|&[a, b]| a..=b)
            .collect()
    }
}

/// `frames` (ascending) as inclusive runs.
pub fn frame_runs(frames: &[u64]) -> Vec<[u64; 2]> {
    let mut runs: Vec<[u64; 2]> = Vec::new();
    for &f in frames {
        match runs.last_mut() {
            Some(run) if run[1] + 1 == f => run[1] = f,
            _ => runs.push([f, f]),
        }
    }
    runs
}

/// One exported clip in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipRecord {
    /// File name in the export folder.
    pub file: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// Why it was exported.
    pub reason: String,
    /// The analyst's note.
    pub note: Option<String>,
    /// `stream copy (packets byte-identical to the original)`.
    pub method: String,
    /// Container written.
    pub container: String,
    /// Why that container.
    pub container_note: String,
    /// The span asked for.
    pub requested: Requested,
    /// The span the clip plays.
    pub shown: Shown,
    /// Recording gaps and damaged regions of the original within the shown span, as the
    /// scoring decode found them; absent when the footage had not been decoded to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<Findings>,
    /// The span on the recorder's clock (UTC), when the container says when it started.
    pub wall_clock_utc: Option<(String, String)>,
    /// The keyframe the copy starts from, seconds.
    pub keyframe_s: f64,
    /// Frames carried before the start for decoding.
    pub lead_in_frames: u64,
    /// True when an edit list hides them.
    pub lead_in_hidden: bool,
    /// Source frames past the requested end that the clip also shows (decoding references).
    pub trailing_frames: Vec<u64>,
    /// Source frames re-encoded, as inclusive ranges (none for a stream copy).
    pub reencoded_frames: Vec<[u64; 2]>,
    /// Video packets copied.
    pub video_packets: u64,
    /// Audio packets copied.
    pub audio_packets: u64,
    /// Streams in the clip.
    pub streams: Vec<String>,
    /// Streams of the original left out.
    pub left_out: Vec<String>,
    /// Every picture of the clip and of the source span, hashed; absent in exports made
    /// before vigil listed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_hashes: Option<FrameHashes>,
    /// Highest score in the span.
    pub peak_score: Option<f32>,
    /// Where.
    pub peak_s: Option<f64>,
}

/// `manifest.json` of an export folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportManifest {
    /// Always `vigil-evidence-export`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Tool and version.
    pub tool: String,
    /// When (UTC).
    pub exported_utc: String,
    /// Who (from the settings).
    pub analyst: String,
    /// The case file, if any.
    pub case: Option<String>,
    /// The original.
    pub source: SourceRecord,
    /// The model behind the scores, if scored.
    pub model: Option<ModelRecord>,
    /// Threshold, if scored.
    pub threshold: Option<f32>,
    /// Set when the scores were provisional (exported while scoring ran): their source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores_provisional: Option<String>,
    /// The key that signed the export (`SIGNATURE.json`); absent when it is not signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<SignerRecord>,
    /// The clips.
    pub clips: Vec<ClipRecord>,
}
