//! The case file: which footage is under review (with each original's SHA-256), the analyst's
//! marks, the threshold and span settings, and where the analyst was. Saved atomically as
//! pretty JSON so that it can be read, diffed and archived with the evidence.

use crate::base::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Case file format version this build writes and reads.
pub const CASE_VERSION: u32 = 1;

/// Why a case file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// Reading or writing failed.
    #[error("case file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a vigil case of a version this build reads.
    #[error("case file {path}: {reason}")]
    Format { path: PathBuf, reason: String },
}

/// What the analyst says a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    /// Ground truth: something really happens here.
    Incident,
    /// The model flagged this, and nothing happens.
    FalseAlarm,
}

impl MarkKind {
    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::FalseAlarm => "false alarm",
        }
    }
}

/// A span the analyst has judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// SHA-256 of the footage the mark belongs to (survives the file being moved).
    pub file_sha256: String,
    /// Start, seconds since the footage's first frame.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// The video stream of that footage the mark is on (`None`: FFmpeg's pick).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<usize>,
    /// First source frame of the span (0-based).
    pub start_frame: u64,
    /// Last source frame of the span (inclusive).
    pub end_frame: u64,
    /// Incident or false alarm.
    pub kind: MarkKind,
    /// Short label, e.g. an incident class (`Fighting`, `RoadAccidents`).
    pub label: String,
    /// Free text.
    pub note: String,
    /// When the mark was made (UTC, RFC 3339).
    pub created_utc: String,
}

/// One piece of footage in the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFile {
    /// Where the footage was when it was added.
    pub path: PathBuf,
    /// SHA-256 of the original, once hashed.
    pub sha256: Option<String>,
    /// Source frames, once known (needed for annotation files).
    pub frames: Option<u64>,
    /// The model pack whose scores were reviewed (id and manifest SHA-256); the scores
    /// themselves live in the feature cache under the file's SHA-256.
    pub scores_model: Option<String>,
    /// The video stream under review, for a file with several (a multi-camera DVR export):
    /// each stream is an item of its own. `None`: FFmpeg's pick (the only one, mostly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<usize>,
}

/// Where the analyst was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CaseView {
    /// Index of the selected file.
    pub selected: Option<usize>,
    /// Player position in the selected file, seconds.
    pub position_s: f64,
    /// Visible timeline range, seconds.
    pub timeline: Option<(f64, f64)>,
}

/// A review case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Format version.
    pub version: u32,
    /// Footage under review, in the order shown.
    pub files: Vec<CaseFile>,
    /// The analyst's marks, over all files.
    pub marks: Vec<Mark>,
    /// Score threshold for flagging.
    pub threshold: f32,
    /// Flagged runs closer than this are merged (seconds).
    pub merge_gap_s: f64,
    /// Flagged spans shorter than this are ignored (seconds).
    pub min_span_s: f64,
    /// Where the analyst was.
    pub view: CaseView,
}

impl Default for Case {
    fn default() -> Self {
        Self {
            version: CASE_VERSION,
            files: Vec::new(),
            marks: Vec::new(),
            threshold: 0.5,
            merge_gap_s: 2.0,
            min_span_s: 0.0,
            view: CaseView::default(),
        }
    }
}

impl Case {
    /// Reads a case file.
    pub fn load(path: &Path) -> Result<Self, CaseError> {
        let bytes = std::fs::read(path).map_err(|source| CaseError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let case: Self = serde_json::from_slice(&bytes).map_err(|e| CaseError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if case.version != CASE_VERSION {
            return Err(CaseError::Format {
                path: path.to_path_buf(),
                reason: format!("version {} (this build reads {CASE_VERSION})", case.version),
            });
        }
        Ok(case)
    }

    /// Writes the case atomically: the old file stays whole until the new one is on disk.
    pub fn save(&self, path: &Path) -> Result<(), CaseError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| CaseError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        write_atomic(path, &json).map_err(|source| CaseError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Index of the file at `path`, adding it if it is not in the case yet.
    pub fn add_file(&mut self, path: &Path) -> usize {
        self.add_stream(path, None)
    }

    /// Adds one video stream of a file as an item of its own (or finds it), returning its
    /// index.
    pub fn add_stream(&mut self, path: &Path, stream: Option<usize>) -> usize {
        if let Some(i) = self
            .files
            .iter()
            .position(|f| f.path == path && f.stream == stream)
        {
            return i;
        }
        self.files.push(CaseFile {
            path: path.to_path_buf(),
            sha256: None,
            frames: None,
            scores_model: None,
            stream,
        });
        self.files.len() - 1
    }

    /// Marks on the footage with this SHA-256 and video stream, in time order.
    pub fn marks_of(&self, sha256: &str, stream: Option<usize>) -> Vec<&Mark> {
        let mut v: Vec<&Mark> = self
            .marks
            .iter()
            .filter(|m| m.file_sha256 == sha256 && m.stream == stream)
            .collect();
        v.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        v
    }

    /// The marks as a temporal annotation file in the UCF-Crime format, one line per file that
    /// has marks: `name class s1 e1 s2 e2 …` (source frames, −1 for none, at least two pairs).
    /// A file with incident marks takes the class of its first incident's label (`Anomaly`
    /// when unlabelled) and one pair per incident; a file with only false-alarm marks was
    /// reviewed and found normal: class `Normal`, `-1 -1 -1 -1`.
    pub fn ucf_annotations(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let Some(sha) = &f.sha256 else { continue };
            let marks = self.marks_of(sha, f.stream);
            if marks.is_empty() {
                continue;
            }
            let mut name = f.path.file_name().map_or_else(
                || f.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            if let Some(n) = f.stream {
                // Another camera of the same file: its own line.
                name.push_str(&format!("#stream{n}"));
            }
            let incidents: Vec<&&Mark> = marks
                .iter()
                .filter(|m| m.kind == MarkKind::Incident)
                .collect();
            let class = match incidents.first() {
                None => "Normal".to_string(),
                Some(m) if m.label.trim().is_empty() => "Anomaly".to_string(),
                Some(m) => m.label.split_whitespace().collect::<Vec<_>>().join("_"),
            };
            let mut pairs: Vec<String> = incidents
                .iter()
                .map(|m| format!("{} {}", m.start_frame, m.end_frame))
                .collect();
            while pairs.len() < 2 {
                pairs.push("-1 -1".into());
            }
            out.push_str(&format!("{name}  {class}  {}\n", pairs.join("  ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(sha: &str, s: f64, kind: MarkKind, label: &str) -> Mark {
        Mark {
            file_sha256: sha.into(),
            start_s: s,
            end_s: s + 2.0,
            stream: None,
            start_frame: (s * 10.0) as u64,
            end_frame: (s * 10.0) as u64 + 19,
            kind,
            label: label.into(),
            note: "seen on review".into(),
            created_utc: "2026-11-29T10:00:00Z".into(),
        }
    }

    #[test]
    fn round_trips_through_disk() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("case.vigil.json");
        let mut c = Case::default();
        let i = c.add_file(Path::new("/footage/a.mp4"));
        assert_eq!(c.add_file(Path::new("/footage/a.mp4")), i, "no duplicates");
        c.files[i].sha256 = Some("aa".into());
        c.marks
            .push(mark("aa", 12.0, MarkKind::Incident, "Fighting"));
        c.threshold = 0.7;
        c.view.position_s = 12.5;
        c.save(&p).unwrap();
        assert_eq!(Case::load(&p).unwrap(), c);
    }

    #[test]
    fn refuses_other_versions_and_non_cases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, b"{\"hello\": 1}").unwrap();
        assert!(matches!(Case::load(&p), Err(CaseError::Format { .. })));
        let c = Case {
            version: 99,
            ..Case::default()
        };
        c.save(&p).unwrap();
        assert!(
            Case::load(&p)
                .unwrap_err()
                .to_string()
                .contains("version 99")
        );
    }

    #[test]
    fn writes_ucf_crime_annotations() {
        let mut c = Case::default();
        for (i, name) in ["/f/fight.mp4", "/f/quiet.mp4", "/f/unreviewed.mp4"]
            .iter()
            .enumerate()
        {
            let k = c.add_file(Path::new(name));
            c.files[k].sha256 = Some(format!("sha{i}"));
        }
        c.marks
            .push(mark("sha0", 30.0, MarkKind::Incident, "Fighting"));
        c.marks
            .push(mark("sha0", 10.0, MarkKind::Incident, "Fighting"));
        c.marks.push(mark("sha0", 50.0, MarkKind::FalseAlarm, ""));
        c.marks.push(mark("sha1", 5.0, MarkKind::FalseAlarm, ""));
        let text = c.ucf_annotations();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "fight.mp4  Fighting  100 119  300 319");
        assert_eq!(lines[1], "quiet.mp4  Normal  -1 -1  -1 -1");
    }
}
