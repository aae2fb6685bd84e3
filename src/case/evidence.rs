//! Evidence export: one folder per export with the clips, `manifest.json`, `SHA256SUMS` and
//! `report.html`.
//!
//! The folder is built under a temporary name (`.NAME.partial`) and renamed last, after every
//! file in it has been fsynced; a crash, `kill -9` or a full disk leaves at most a folder whose
//! name says it is partial. Names never collide with earlier exports. The original is opened
//! read-only, hashed before the export and again after it, and the manifest says whether the
//! two hashes agree.

pub use super::manifest::{
    ClipRecord, ExportManifest, Findings, FrameHashes, ModelRecord, Requested, Shown, SourceRecord,
    frame_runs,
};
use super::report::{ClipPictures, report_html, score_plot_png};
use super::signing::{ExportSigner, SIGNATURE_FILE};
use crate::base::plot::png_from_rgb;
use crate::base::{now_utc, sha256_file, write_atomic};
use crate::video::{
    ClipExport, ClipRequest, CopyOptions, FRAME_HASH_METHOD, IndexedVideo, VideoError,
    copy_refused, export_exact, export_reencode, export_stream_copy, file_frame_hashes,
    reproduce_command, source_frame_hashes,
};
use std::path::{Path, PathBuf};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The footage could not be read or cut.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// Writing the export failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The request makes no sense (e.g. an empty span).
    #[error("{0}")]
    Request(String),
    /// The original changed while it was being exported: the export is not evidence.
    #[error(
        "{path} changed while it was being exported (SHA-256 {before} before, {after} after); the export was discarded"
    )]
    SourceChanged {
        path: PathBuf,
        before: String,
        after: String,
    },
}

/// One span to export.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRequest {
    /// Start, seconds since the footage's first frame.
    pub from_s: f64,
    /// End, seconds (exclusive).
    pub to_s: f64,
    /// Why it is exported, in words ("flagged span 1 of 3", "mark: incident 'Fighting'").
    pub reason: String,
    /// The analyst's note, when the span is a mark.
    pub note: Option<String>,
    /// Highest score in the span, when the caller knows it (a flagged span's own peak). Left
    /// out, the export reads it off the job's scores ([`ScoresContext::peak_in`]).
    pub peak_score: Option<f32>,
    /// Where that score is.
    pub peak_s: Option<f64>,
}

/// The scores and model behind an export, when the footage was scored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoresContext {
    /// Model pack id.
    pub model_id: String,
    /// SHA-256 of the pack's manifest.
    pub manifest_sha256: String,
    /// Threshold in use.
    pub threshold: f32,
    /// Clip (start, end, score) of the whole footage.
    pub clips: Vec<(f64, f64, f32)>,
    /// Set when the export was made while scoring ran: where the provisional scores came
    /// from (e.g. `coarse scores`). The manifest and the report say so, since the final
    /// scores may differ.
    pub provisional: Option<String>,
    /// What the scoring decode found in the whole footage (recording gaps, damaged regions);
    /// None when no full decode has finished (provisional scores).
    pub findings: Option<Findings>,
}

impl ScoresContext {
    /// The scores of a finished report, as an export records them: the one way the command
    /// line and the app both make it (the app's provisional scores have no report yet).
    pub fn of_report(report: &crate::pipeline::ScoreReport, threshold: f32) -> Self {
        Self {
            model_id: report.model.id.clone(),
            manifest_sha256: report.model.manifest_sha256.clone(),
            threshold,
            clips: report
                .clips
                .iter()
                .map(|c| (c.start_s, c.end_s, c.score))
                .collect(),
            provisional: None,
            findings: Some(Findings {
                gaps: report.video.gaps.clone(),
                damaged: report.video.damaged.clone(),
            }),
        }
    }

    /// The highest-scoring clip that overlaps `[from_s, to_s)`: its score and start.
    pub fn peak_in(&self, from_s: f64, to_s: f64) -> Option<(f32, f64)> {
        self.clips
            .iter()
            .filter(|c| c.1 > from_s && c.0 < to_s)
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|&(start, _, score)| (score, start))
    }
}

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportJob {
    /// The original footage.
    pub source: PathBuf,
    /// Spans to cut.
    pub spans: Vec<SpanRequest>,
    /// The export folder to create (a unique sibling name is used if it exists).
    pub out_dir: PathBuf,
    /// Analyst name from the settings.
    pub analyst: String,
    /// The case, if the export belongs to one.
    pub case: Option<PathBuf>,
    /// Scores and model, when available.
    pub scores: Option<ScoresContext>,
    /// Re-encode (losslessly) so that clips start and end exactly on the asked frames,
    /// instead of copying packets from the keyframe before.
    pub exact: bool,
    /// Testing aid: pause per packet (see `CopyOptions::throttle`).
    pub throttle: std::time::Duration,
    /// Which video stream, and the frame rate of footage that stores no frame times.
    pub open: crate::video::OpenOptions,
    /// This installation's key: when set, `manifest.json` and `SHA256SUMS` are signed
    /// (`SIGNATURE.json`) and the manifest and report name the key.
    pub signer: Option<std::sync::Arc<ExportSigner>>,
}

/// What a finished export left.
#[derive(Debug, Clone)]
pub struct ExportOutcome {
    /// The export folder (final name).
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: ExportManifest,
}

/// `name`, or `name-2`, `name-3`… whichever does not exist yet.
fn unique_dir(wanted: &Path) -> PathBuf {
    let mut n = 1;
    loop {
        let p = if n == 1 {
            wanted.to_path_buf()
        } else {
            let mut s = wanted.as_os_str().to_os_string();
            s.push(format!("-{n}"));
            PathBuf::from(s)
        };
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

/// `12:03:04.500` → `12-03-04.500`, for file names.
fn name_time(t: f64) -> String {
    crate::base::format_hms(t).replace(':', "-")
}

/// UTC wall-clock of source time `t`, from a container `creation_time`.
fn wall_clock(creation_time: Option<&str>, t: f64) -> Option<String> {
    let start = creation_time?;
    let base = start.trim_end_matches('Z');
    let base = base.split('.').next()?;
    let start = humantime::parse_rfc3339_weak(base).ok()?;
    let at = start + std::time::Duration::from_secs_f64(t.max(0.0));
    Some(humantime::format_rfc3339_millis(at).to_string())
}

/// Runs an export job.
pub fn export_evidence(job: &ExportJob) -> Result<ExportOutcome, ExportError> {
    if job.spans.is_empty() {
        return Err(ExportError::Request("nothing to export: no spans".into()));
    }
    for s in &job.spans {
        if s.to_s.is_nan() || s.to_s <= s.from_s || s.from_s < 0.0 || !s.to_s.is_finite() {
            return Err(ExportError::Request(format!(
                "the span {:.3} s to {:.3} s is empty or invalid",
                s.from_s, s.to_s
            )));
        }
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| ExportError::Io { path, source }
    };
    // One pass over the packets serves every clip of the job.
    let video = IndexedVideo::open_with(&job.source, &job.open)?;
    let sha_before = sha256_file(&job.source).map_err(io(&job.source))?;
    let bytes = std::fs::metadata(&job.source)
        .map_err(io(&job.source))?
        .len();

    let final_dir = unique_dir(&job.out_dir);
    let parent = final_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let dir_name = final_dir.file_name().map_or_else(
        || "export".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let staging = parent.join(format!(".{dir_name}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;

    let result = build(job, &video, &sha_before, bytes, &staging, &final_dir);
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            if let Err(rm) = std::fs::remove_dir_all(&staging) {
                tracing::warn!("cannot remove {}: {rm}", staging.display());
            }
            return Err(e);
        }
    };
    // Last: the folder takes its final name, complete.
    std::fs::rename(&staging, &final_dir).map_err(io(&final_dir))?;
    if let Ok(d) = std::fs::File::open(&parent) {
        d.sync_all().map_err(io(&parent))?;
    }
    Ok(ExportOutcome {
        dir: final_dir,
        manifest,
    })
}

/// Hashes every picture the clip `c` shows, and the source frames it shows (the asked span and
/// any anchors past its end), decoding each file again.
fn hash_frames(video: &IndexedVideo, c: &ClipExport) -> Result<FrameHashes, ExportError> {
    let mut frames: Vec<u64> = (c.first_frame..=c.last_frame)
        .chain(c.trailing_frames.iter().copied())
        .collect();
    frames.sort_unstable();
    frames.dedup();
    let source = source_frame_hashes(video, &frames)?;
    let clip = file_frame_hashes(&c.file)?;
    let n = source.hashes.len().max(clip.hashes.len());
    let first_difference = (0..n).find(|&i| source.hashes.get(i) != clip.hashes.get(i));
    Ok(FrameHashes {
        method: FRAME_HASH_METHOD.into(),
        pixel_format: source.pixel_format,
        width: source.width,
        height: source.height,
        source_frames: frame_runs(&frames),
        source: source.hashes,
        clip: clip.hashes,
        identical: first_difference.is_none(),
        first_difference,
        reproduce: (
            reproduce_command(&format!("0:{}", video.info.stream_index)),
            reproduce_command("0:v:0"),
        ),
    })
}

fn build(
    job: &ExportJob,
    video: &IndexedVideo,
    sha_before: &str,
    bytes: u64,
    staging: &Path,
    final_dir: &Path,
) -> Result<ExportManifest, ExportError> {
    let (info, table) = (&video.info, &video.table);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| ExportError::Io { path, source }
    };
    let name = job.source.file_name().map_or_else(
        || "source".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let stem = job
        .source
        .file_stem()
        .map_or_else(|| "clip".to_string(), |n| n.to_string_lossy().into_owned());
    let copy = CopyOptions {
        metadata: vec![(
            "comment".to_string(),
            format!(
                "Exported by vigil {} by {} from {} (SHA-256 {})",
                crate::TOOL_VERSION,
                if job.exact {
                    "lossless re-encoding"
                } else {
                    "stream copy"
                },
                name,
                sha_before
            ),
        )],
        throttle: job.throttle,
    };
    let last = table.len().saturating_sub(1);
    let duration_s = table.time_of(last)
        + if last > 0 {
            table.time_of(last) - table.time_of(last - 1)
        } else {
            1.0 / info.fps.max(1.0)
        };

    let mut clips = Vec::new();
    let mut pictures = Vec::new();
    for (i, span) in job.spans.iter().enumerate() {
        let to_s = span.to_s.min(duration_s);
        let clip_stem = format!("{stem}_{}_{}", name_time(span.from_s), name_time(to_s));
        let request = ClipRequest {
            video,
            from_s: span.from_s,
            to_s,
            out_dir: staging,
            stem: &clip_stem,
            opts: &copy,
        };
        let (c, reencoded) = if job.exact {
            export_exact(&ClipRequest {
                stem: &format!("{clip_stem}_exact"),
                ..request
            })?
        } else if let Some(why) = copy_refused(video) {
            let c = export_reencode(&request)?;
            let all = vec![[c.first_frame, c.last_frame]];
            let c = crate::video::ClipExport {
                container_note: format!("{why}; {}", c.container_note),
                ..c
            };
            (c, all)
        } else {
            let c = export_stream_copy(&request)?;
            (c, Vec::new())
        };
        let file_name = c
            .file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let frame_hashes = hash_frames(video, &c)?;
        let clip_sha = sha256_file(&c.file).map_err(io(&c.file))?;
        let clip_bytes = std::fs::metadata(&c.file).map_err(io(&c.file))?.len();
        let (peak_score, peak_s) = match span.peak_score {
            Some(score) => (Some(score), span.peak_s),
            None => job
                .scores
                .as_ref()
                .and_then(|s| s.peak_in(span.from_s, span.to_s))
                .map_or((None, None), |(score, at)| (Some(score), Some(at))),
        };
        let at = peak_s.unwrap_or(c.start_s).clamp(c.start_s, c.end_s);
        let thumbnail = crate::video::picture_at_with(&job.source, &job.open, at, 480, 270)
            .ok()
            .and_then(|p| png_from_rgb(p.width, p.height, &p.rgb).ok());
        let plot = job.scores.as_ref().and_then(|s| {
            score_plot_png(&s.clips, (c.start_s, c.end_s), s.threshold, 640, 220)
                .map_err(|e| tracing::warn!("score plot for clip {}: {e}", i + 1))
                .ok()
        });
        pictures.push(ClipPictures { thumbnail, plot });
        let wall = match (
            wall_clock(info.creation_time.as_deref(), c.start_s),
            wall_clock(info.creation_time.as_deref(), c.end_s),
        ) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        clips.push(ClipRecord {
            file: file_name,
            sha256: clip_sha,
            bytes: clip_bytes,
            reason: span.reason.clone(),
            note: span.note.clone(),
            method: if reencoded.is_empty() {
                "stream copy (packets byte-identical to the original; nothing re-encoded)".into()
            } else {
                "re-encoded losslessly where listed in reencoded_frames (H.264 qp 0); the rest stream-copied".into()
            },
            container: c.container.clone(),
            container_note: c.container_note.clone(),
            requested: Requested {
                from_s: span.from_s,
                to_s,
            },
            shown: Shown {
                from_s: c.start_s,
                to_s: c.end_s,
                first_frame: c.first_frame,
                last_frame: c.last_frame,
            },
            findings: job
                .scores
                .as_ref()
                .and_then(|s| s.findings.as_ref())
                .map(|f| f.within(c.start_s, c.end_s)),
            wall_clock_utc: wall,
            keyframe_s: c.keyframe_s,
            lead_in_frames: c.lead_in_frames,
            lead_in_hidden: c.lead_in_hidden,
            trailing_frames: c.trailing_frames.clone(),
            reencoded_frames: reencoded,
            video_packets: c.video_packets,
            audio_packets: c.audio_packets,
            streams: c.streams.clone(),
            left_out: c.left_out.clone(),
            frame_hashes: Some(frame_hashes),
            peak_score,
            peak_s,
        });
    }

    let sha_after = sha256_file(&job.source).map_err(io(&job.source))?;
    if sha_after != sha_before {
        return Err(ExportError::SourceChanged {
            path: job.source.clone(),
            before: sha_before.to_string(),
            after: sha_after,
        });
    }
    let manifest = ExportManifest {
        format: "vigil-evidence-export".into(),
        version: 1,
        tool: format!("vigil {}", crate::TOOL_VERSION),
        exported_utc: now_utc(),
        analyst: job.analyst.clone(),
        case: job.case.as_ref().map(|p| p.display().to_string()),
        source: SourceRecord {
            path: std::fs::canonicalize(&job.source)
                .unwrap_or_else(|_| job.source.clone())
                .display()
                .to_string(),
            name,
            sha256: sha_before.to_string(),
            bytes,
            container: info.container.clone(),
            codec: info.codec.clone(),
            width: info.width,
            height: info.height,
            fps: info.fps,
            frames: table.len() as u64,
            duration_s,
            creation_time: info.creation_time.clone(),
            stream: info.stream_index,
            video_streams: info.video_streams.clone(),
            timing: info.timing,
            unchanged_after_export: true,
        },
        model: job.scores.as_ref().map(|s| ModelRecord {
            id: s.model_id.clone(),
            manifest_sha256: s.manifest_sha256.clone(),
        }),
        threshold: job.scores.as_ref().map(|s| s.threshold),
        scores_provisional: job.scores.as_ref().and_then(|s| s.provisional.clone()),
        signer: job.signer.as_ref().map(|s| s.record()),
        clips,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| ExportError::Request(format!("manifest: {e}")))?;
    let manifest_path = staging.join("manifest.json");
    write_atomic(&manifest_path, &manifest_json).map_err(io(&manifest_path))?;
    let report_path = staging.join("report.html");
    write_atomic(&report_path, report_html(&manifest, &pictures).as_bytes())
        .map_err(io(&report_path))?;

    // SHA256SUMS last, over everything else in the folder, in sha256sum's format.
    let mut names: Vec<String> = manifest.clips.iter().map(|c| c.file.clone()).collect();
    names.push("manifest.json".into());
    names.push("report.html".into());
    let mut sums = String::new();
    for n in &names {
        let p = staging.join(n);
        sums.push_str(&format!("{}  {n}\n", sha256_file(&p).map_err(io(&p))?));
    }
    let sums_path = staging.join("SHA256SUMS");
    write_atomic(&sums_path, sums.as_bytes()).map_err(io(&sums_path))?;
    // The signature over both, beside them (it cannot be in the list it signs).
    if let Some(signer) = &job.signer {
        let signature = signer.sign(&manifest_json, sums.as_bytes());
        let json = serde_json::to_vec_pretty(&signature)
            .map_err(|e| ExportError::Request(format!("signature: {e}")))?;
        let sig_path = staging.join(SIGNATURE_FILE);
        write_atomic(&sig_path, &json).map_err(io(&sig_path))?;
    }
    tracing::debug!("export staged for {}", final_dir.display());
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_from_creation_time() {
        assert_eq!(
            wall_clock(Some("2026-11-29T08:15:00.000000Z"), 75.25).as_deref(),
            Some("2026-11-29T08:16:15.250Z")
        );
        assert_eq!(wall_clock(None, 1.0), None);
        assert_eq!(wall_clock(Some("garbage"), 1.0), None);
    }

    #[test]
    fn unique_dirs_never_reuse_a_name() {
        let d = tempfile::tempdir().unwrap();
        let want = d.path().join("export");
        assert_eq!(unique_dir(&want), want);
        std::fs::create_dir(&want).unwrap();
        assert_eq!(unique_dir(&want), d.path().join("export-2"));
    }
}
