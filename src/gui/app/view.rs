//! The case's files as the app sees them: each item's scoring status, its scores laid out
//! for the timeline, its flagged spans and moments; and the mark being written.

use super::*;

/// Where a file is in its scoring.
#[derive(Debug, Clone, PartialEq)]
pub enum FileStatus {
    /// Waiting for the scorer.
    Queued,
    /// Being hashed.
    Hashing,
    /// Being scored.
    Scoring {
        /// Clips done.
        done: u64,
        /// Clips expected.
        estimate: u64,
        /// Footage seconds done.
        video_s: f64,
        /// Execution provider.
        provider: String,
        /// When scoring started, for the rate and ETA.
        started: Instant,
    },
    /// Scores are in.
    Ready,
    /// Could not be scored (plain words).
    Failed(String),
    /// Scoring was cancelled.
    Cancelled,
}

impl FileStatus {
    /// The status after a progress report of the scoring thread (the hash and provisional
    /// scores leave it as it is; they change the file, not its state).
    pub(super) fn after(&self, progress: Progress) -> FileStatus {
        match (progress, self) {
            (Progress::Hashing, _) => FileStatus::Hashing,
            (
                Progress::Started {
                    clips_estimate,
                    clips_cached,
                    provider,
                    ..
                },
                _,
            ) => FileStatus::Scoring {
                done: clips_cached,
                estimate: clips_estimate,
                video_s: 0.0,
                provider: provider.short().to_string(),
                started: Instant::now(),
            },
            (
                Progress::Clips {
                    done,
                    estimate,
                    video_s,
                },
                FileStatus::Scoring {
                    provider, started, ..
                },
            ) => FileStatus::Scoring {
                done,
                estimate,
                video_s,
                provider: provider.clone(),
                started: *started,
            },
            (Progress::Clips { .. } | Progress::Provisional(_) | Progress::Hashed { .. }, s) => {
                s.clone()
            }
        }
    }
}

/// What an item of the case is: a file, and which of its video streams (`None`: FFmpeg's
/// pick). A multi-camera DVR export is one item per camera.
pub type ItemKey = (PathBuf, Option<usize>);

/// One file of the case as the app sees it.
pub struct FileView {
    /// The footage.
    pub path: PathBuf,
    /// Its video stream, for a file with several (see [`ItemKey`]).
    pub stream: Option<usize>,
    /// Scoring status.
    pub status: FileStatus,
    /// The scores, once in.
    pub report: Option<ScoreReport>,
    /// Clip spans of the report.
    pub spans: Vec<ClipSpan>,
    /// Clip starts, ends and scores, for the timeline.
    pub starts: Vec<f64>,
    /// See `starts`.
    pub ends: Vec<f64>,
    /// See `starts`.
    pub scores: Vec<f32>,
    /// Flagged spans under the current settings, highest first.
    pub peaks: Vec<Peak>,
    /// When nothing is flagged: the highest moments, best first ([`TOP_MOMENTS`]), so that
    /// the analyst still has somewhere to look first (what `vigil score` prints then).
    pub moments: Vec<Peak>,
    /// While scoring runs: where the provisional scores shown come from (`full pass`,
    /// `coarse pass`, `coarse scores`); None once the report is in.
    pub provisional: Option<&'static str>,
    /// The footage's length as the provisional scores give it.
    provisional_footage_s: Option<f64>,
}

/// Moments listed when nothing reaches the threshold.
pub const TOP_MOMENTS: usize = 5;

impl FileView {
    pub(super) fn new(path: PathBuf, stream: Option<usize>) -> Self {
        Self {
            path,
            stream,
            status: FileStatus::Queued,
            report: None,
            spans: Vec::new(),
            starts: Vec::new(),
            ends: Vec::new(),
            scores: Vec::new(),
            peaks: Vec::new(),
            moments: Vec::new(),
            provisional: None,
            provisional_footage_s: None,
        }
    }

    /// File name for lists.
    pub fn name(&self) -> String {
        let name = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        // FFmpeg's pick is named by its number too once the file turns out to hold others.
        let shown = self.stream.or_else(|| {
            self.report
                .as_ref()
                .filter(|r| r.video.video_streams.len() > 1)
                .map(|r| r.video.stream)
        });
        match shown {
            Some(n) => format!("{name} · stream #{n}"),
            None => name,
        }
    }

    /// The item this view shows.
    pub fn key(&self) -> ItemKey {
        (self.path.clone(), self.stream)
    }

    /// How to open it.
    pub(super) fn open_options(&self) -> crate::video::OpenOptions {
        crate::video::OpenOptions {
            stream: self.stream,
            fps: None,
        }
    }

    pub(super) fn set_report(&mut self, report: ScoreReport) {
        self.spans = report
            .clips
            .iter()
            .map(|c| ClipSpan {
                index: c.index,
                start_s: c.start_s,
                end_s: c.end_s,
                start_frame: c.start_frame,
                end_frame: c.end_frame,
                padded_slots: c.padded_frames,
            })
            .collect();
        self.starts = report.clips.iter().map(|c| c.start_s).collect();
        self.ends = report.clips.iter().map(|c| c.end_s).collect();
        self.scores = report.clips.iter().map(|c| c.score).collect();
        self.report = Some(report);
        self.status = FileStatus::Ready;
        self.provisional = None;
        self.provisional_footage_s = None;
    }

    /// Shows scores that are still coming in (the report replaces them).
    pub(super) fn set_provisional(&mut self, p: &Provisional) {
        if self.report.is_some() {
            return;
        }
        self.spans = p
            .clips
            .iter()
            .map(|&i| ClipSpan {
                index: i,
                start_s: i as f64 * p.clip_s,
                end_s: ((i + 1) as f64 * p.clip_s).min(p.footage_s),
                start_frame: 0,
                end_frame: 0,
                padded_slots: 0,
            })
            .collect();
        self.starts = self.spans.iter().map(|s| s.start_s).collect();
        self.ends = self.spans.iter().map(|s| s.end_s).collect();
        self.scores = p.scores.clone();
        self.provisional = Some(p.stage);
        self.provisional_footage_s = Some(p.footage_s);
    }

    /// Footage duration, once scored (or provisionally scored).
    pub fn duration_s(&self) -> Option<f64> {
        self.report
            .as_ref()
            .map(|r| r.video.duration_s)
            .or(self.provisional_footage_s)
    }
}

/// A mark being written in the mark dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkDraft {
    /// Incident or false alarm.
    pub kind: MarkKind,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Label (incident class).
    pub label: String,
    /// Note.
    pub note: String,
}

/// A threshold as people write it: two decimals, three when the slider's half-steps need them.
pub fn threshold_text(t: f32) -> String {
    let hundredths = f64::from(t) * 100.0;
    if (hundredths - hundredths.round()).abs() < 1e-3 {
        format!("{t:.2}")
    } else {
        format!("{t:.3}")
    }
}
