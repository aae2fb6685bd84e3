//! Evaluation as the paper does it: frame-level ROC and AUC pooled over all frames of all test
//! videos, and the false-alarm rate at a threshold on normal videos (Table 4), from vigil's
//! score reports and UCF-Crime temporal annotations.
//!
//! Conventions, stated because published numbers depend on them:
//! - Clip scores become frame scores by source frame: a frame takes the highest score among the
//!   clips that show it (a frame spanning a clip boundary belongs to both).
//! - ROC points are one per distinct score (ties grouped), as scikit-learn computes them; the
//!   original MATLAB evaluation integrates without grouping ties, which can differ slightly when
//!   many frames share a score (as with 32 segment scores per video).
//! - The false-alarm rate is the share of normal videos' frames scoring at or above the
//!   threshold.
//! - An incident (one annotated interval) is *flagged* when any of its frames scores at or
//!   above the threshold: what an analyst who only looks at flagged spans would find.
//! - The mean per-video AUC averages each anomalous video's own frame AUC: how well the scorer
//!   ranks moments inside a file, whatever its scale does across files.
//!
//! Owns annotations, ROC/AUC, reports of an evaluation and the paper's MAT-files. Must not touch
//! FFmpeg or ONNX Runtime.

mod annotations;
pub mod mat5;
mod roc;

pub use annotations::{Annotation, parse_annotations, read_annotations};
pub use roc::{
    Roc, average_precision, equal_error_rate, mann_whitney, roc_auc, roc_curve, trapezoid,
};

use crate::pipeline::ScoreReport;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The annotation file is unreadable or malformed.
    #[error("annotations {path}: {reason}")]
    Annotations { path: PathBuf, reason: String },
    /// A score file is unreadable or not vigil's.
    #[error("scores {path}: {reason}")]
    Scores { path: PathBuf, reason: String },
    /// Nothing to evaluate.
    #[error("{0}")]
    Empty(String),
}

/// Per-frame scores of one video from its report (see the module's conventions).
pub fn frame_scores(report: &ScoreReport) -> Vec<f64> {
    let n = report.video.frames as usize;
    let mut out = vec![0.0f64; n];
    let mut seen = vec![false; n];
    for c in &report.clips {
        let (a, b) = (c.start_frame as usize, (c.end_frame as usize).min(n));
        for f in a..b {
            let s = f64::from(c.score);
            if !seen[f] || s > out[f] {
                out[f] = s;
                seen[f] = true;
            }
        }
    }
    out
}

/// Expands segment scores to frames: frames `[edges[i], edges[i+1])` take score `i` (the
/// paper's 32-segment protocol, where each segment's score covers its clips' frames).
pub fn frames_from_segments(scores: &[f64], edges: &[u64]) -> Vec<f64> {
    let mut out = Vec::new();
    for (i, &s) in scores.iter().enumerate() {
        let (a, b) = (edges[i], edges.get(i + 1).copied().unwrap_or(edges[i]));
        out.extend(std::iter::repeat_n(s, b.saturating_sub(a) as usize));
    }
    out
}

/// One video's frames and their scores, matched to its annotation.
#[derive(Debug, Clone)]
pub struct ScoredVideo {
    /// The annotation.
    pub annotation: Annotation,
    /// Score of every frame.
    pub scores: Vec<f64>,
}

/// Per-video figures.
#[derive(Debug, Clone, Serialize)]
pub struct PerVideo {
    /// File name.
    pub name: String,
    /// Class from the annotation.
    pub class: String,
    /// Frames evaluated.
    pub frames: usize,
    /// Of which anomalous.
    pub anomalous_frames: usize,
    /// Highest frame score.
    pub peak: f64,
    /// Frame of the highest score.
    pub peak_frame: usize,
    /// This video's own frame AUC (None for a video of one class).
    pub auc: Option<f64>,
    /// Share of frames at or above the threshold (the false-alarm rate, for a normal video).
    pub flagged_share: f64,
    /// Annotated incidents (intervals) in the video.
    pub incidents: usize,
    /// Of which flagged: some frame inside scores at or above the threshold.
    pub incidents_flagged: usize,
}

/// Figures of one class (the annotation's), so that a scorer that finds explosions and misses
/// fights says so instead of averaging it away.
#[derive(Debug, Clone, Serialize)]
pub struct PerClass {
    /// Class name.
    pub class: String,
    /// Videos of the class.
    pub videos: usize,
    /// Mean of their own frame AUCs (videos of one class left out; None if none is left).
    pub mean_auc: Option<f64>,
    /// Annotated incidents.
    pub incidents: usize,
    /// Of which flagged.
    pub incidents_flagged: usize,
    /// Share of the class's frames at or above the threshold (for `Normal`, its false alarms).
    pub flagged_share: f64,
}

/// The result of an evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalResult {
    /// Frame-level ROC AUC over all frames of all videos.
    pub auc: Option<f64>,
    /// Average precision, same frames.
    pub average_precision: Option<f64>,
    /// Equal error rate.
    pub eer: Option<f64>,
    /// Threshold for the false-alarm rate.
    pub threshold: f64,
    /// False-alarm rate: share of normal videos' frames at or above the threshold.
    pub far: Option<f64>,
    /// Frames evaluated.
    pub n_frames: usize,
    /// Anomalous frames among them.
    pub n_anomalous_frames: usize,
    /// Videos evaluated.
    pub n_videos: usize,
    /// Normal videos among them.
    pub n_normal_videos: usize,
    /// Mean of the anomalous videos' own frame AUCs.
    pub mean_video_auc: Option<f64>,
    /// Annotated incidents over all videos.
    pub incidents: usize,
    /// Of which flagged (some frame at or above the threshold).
    pub incidents_flagged: usize,
    /// Per class, in name order.
    pub per_class: Vec<PerClass>,
    /// Per video.
    pub per_video: Vec<PerVideo>,
    /// Things the reader should know (unmatched files, frame-count disagreements).
    pub warnings: Vec<String>,
    /// The pooled ROC curve.
    #[serde(skip)]
    pub roc: Roc,
}

/// Evaluates scored videos (subnormals flushed, like the rest of vigil's own float work).
pub fn evaluate(videos: &[ScoredVideo], threshold: f64) -> EvalResult {
    crate::base::float::flush_denormals(|| evaluate_here(videos, threshold))
}

fn evaluate_here(videos: &[ScoredVideo], threshold: f64) -> EvalResult {
    let mut y = Vec::new();
    let mut s = Vec::new();
    let mut per_video = Vec::new();
    let (mut normal_frames, mut normal_flagged, mut n_normal) = (0usize, 0usize, 0usize);
    for v in videos {
        let gt: Vec<bool> = (0..v.scores.len() as u64)
            .map(|f| v.annotation.is_anomalous(f))
            .collect();
        let (peak_frame, peak) =
            v.scores
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |b, (i, x)| if x > b.1 { (i, x) } else { b },
                );
        let flagged = v.scores.iter().filter(|&&x| x >= threshold).count();
        let incidents_flagged = v
            .annotation
            .intervals
            .iter()
            .filter(|&&(a, b)| {
                let end = (b.saturating_add(1) as usize).min(v.scores.len());
                v.scores
                    .get(a as usize..end)
                    .is_some_and(|w| w.iter().any(|&x| x >= threshold))
            })
            .count();
        if v.annotation.is_normal() {
            n_normal += 1;
            normal_frames += v.scores.len();
            normal_flagged += flagged;
        }
        per_video.push(PerVideo {
            name: v.annotation.name.clone(),
            class: v.annotation.class.clone(),
            frames: v.scores.len(),
            anomalous_frames: gt.iter().filter(|&&g| g).count(),
            peak: if v.scores.is_empty() { 0.0 } else { peak },
            peak_frame,
            auc: roc_auc(&gt, &v.scores),
            flagged_share: if v.scores.is_empty() {
                0.0
            } else {
                flagged as f64 / v.scores.len() as f64
            },
            incidents: v.annotation.intervals.len(),
            incidents_flagged,
        });
        y.extend(gt);
        s.extend_from_slice(&v.scores);
    }
    let roc = roc_curve(&y, &s, false);
    let auc = roc_auc(&y, &s);
    let mean_video_auc = mean(per_video.iter().filter_map(|v| v.auc));
    EvalResult {
        auc,
        average_precision: average_precision(&y, &s),
        eer: auc.and_then(|_| equal_error_rate(&roc)),
        threshold,
        far: (normal_frames > 0).then(|| normal_flagged as f64 / normal_frames as f64),
        n_frames: y.len(),
        n_anomalous_frames: y.iter().filter(|&&g| g).count(),
        n_videos: videos.len(),
        n_normal_videos: n_normal,
        mean_video_auc,
        incidents: per_video.iter().map(|v| v.incidents).sum(),
        incidents_flagged: per_video.iter().map(|v| v.incidents_flagged).sum(),
        per_class: per_class(&per_video),
        per_video,
        warnings: Vec::new(),
        roc,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn per_class(videos: &[PerVideo]) -> Vec<PerClass> {
    let mut classes: Vec<&str> = videos.iter().map(|v| v.class.as_str()).collect();
    classes.sort_unstable();
    classes.dedup();
    classes
        .into_iter()
        .map(|class| {
            let of = || videos.iter().filter(move |v| v.class == class);
            let frames: usize = of().map(|v| v.frames).sum();
            let flagged: f64 = of().map(|v| v.flagged_share * v.frames as f64).sum();
            PerClass {
                class: class.to_string(),
                videos: of().count(),
                mean_auc: mean(of().filter_map(|v| v.auc)),
                incidents: of().map(|v| v.incidents).sum(),
                incidents_flagged: of().map(|v| v.incidents_flagged).sum(),
                flagged_share: if frames == 0 {
                    0.0
                } else {
                    flagged / frames as f64
                },
            }
        })
        .collect()
}

/// Reads vigil score reports: `.json` files (one document) and `.jsonl` files or `vigil score
/// -o` output (one per line); folders are searched for both.
pub fn read_reports(paths: &[PathBuf]) -> Result<Vec<ScoreReport>, EvalError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| EvalError::Scores {
                    path: p.clone(),
                    reason: e.to_string(),
                })?
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|x| x == "json" || x == "jsonl"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| EvalError::Scores {
            path: f.clone(),
            reason: e.to_string(),
        })?;
        // One document (perhaps pretty-printed), else one per line.
        if let Ok(r) = serde_json::from_str::<ScoreReport>(&text) {
            out.push(r);
            continue;
        }
        for (i, d) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let r = serde_json::from_str::<ScoreReport>(d).map_err(|e| EvalError::Scores {
                path: f.clone(),
                reason: format!("document {}: {e}", i + 1),
            })?;
            out.push(r);
        }
    }
    Ok(out)
}

/// Matches reports to annotations by file name (without extension) and expands scores to
/// frames. Unmatched reports and annotations become warnings.
pub fn match_reports(
    reports: &[ScoreReport],
    annotations: &[Annotation],
) -> (Vec<ScoredVideo>, Vec<String>) {
    let mut videos = Vec::new();
    let mut warnings = Vec::new();
    let stem_of = |p: &str| {
        let name = Path::new(p)
            .file_name()
            .map_or_else(|| p.to_string(), |n| n.to_string_lossy().into_owned());
        name.rsplit_once('.')
            .map_or(name.clone(), |(s, _)| s.to_string())
    };
    let mut used = vec![false; annotations.len()];
    for r in reports {
        let stem = stem_of(&r.video.path);
        let Some(i) = annotations.iter().position(|a| a.stem() == stem) else {
            warnings.push(format!("{}: no annotation; left out", r.video.path));
            continue;
        };
        used[i] = true;
        let a = annotations[i].clone();
        if let Some(n) = a.frames
            && n.abs_diff(r.video.frames) > 1
        {
            warnings.push(format!(
                "{}: the annotation says {n} frames, vigil decoded {}",
                a.name, r.video.frames
            ));
        }
        if r.video.partial {
            warnings.push(format!("{}: only partly decodable", a.name));
        }
        videos.push(ScoredVideo {
            annotation: a,
            scores: frame_scores(r),
        });
    }
    let missing: Vec<&str> = annotations
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(a, _)| a.name.as_str())
        .collect();
    if !missing.is_empty() {
        warnings.push(format!(
            "{} annotated video(s) have no scores and are left out{}",
            missing.len(),
            if missing.len() <= 5 {
                format!(": {}", missing.join(", "))
            } else {
                String::new()
            }
        ));
    }
    (videos, warnings)
}

/// The ROC curve as CSV (`fpr,tpr,threshold`).
pub fn roc_csv(roc: &Roc) -> String {
    let mut s = String::from("fpr,tpr,threshold\n");
    for ((f, t), th) in roc.fpr.iter().zip(&roc.tpr).zip(&roc.thresholds) {
        s.push_str(&format!("{f},{t},{th}\n"));
    }
    s
}

/// The ROC curve as a PNG, with the chance diagonal and the AUC in the title.
pub fn roc_png(roc: &Roc, auc: Option<f64>, title: &str) -> Result<Vec<u8>, String> {
    use plotters::prelude::*;
    crate::base::plot::register_font();
    let (w, h) = (560u32, 520u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let caption = match auc {
            Some(a) => format!("{title} (AUC {:.2} %)", a * 100.0),
            None => title.to_string(),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0f64..1.0f64, 0.0f64..1.0f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("False positive rate")
            .y_desc("True positive rate")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                RGBColor(180, 180, 180),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                roc.fpr.iter().zip(&roc.tpr).map(|(&x, &y)| (x, y)),
                RGBColor(200, 40, 40).stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    crate::base::plot::png_from_rgb(w, h, &buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_expand_to_their_frames() {
        assert_eq!(
            frames_from_segments(&[0.1, 0.9], &[0, 2, 5]),
            vec![0.1, 0.1, 0.9, 0.9, 0.9]
        );
    }

    #[test]
    fn evaluation_pools_frames_and_counts_false_alarms_on_normal_videos() {
        let ann = |name: &str, iv: Vec<(u64, u64)>| Annotation {
            name: name.into(),
            class: if iv.is_empty() {
                "Normal".into()
            } else {
                "Fighting".into()
            },
            intervals: iv,
            frames: None,
        };
        let videos = vec![
            ScoredVideo {
                annotation: ann("a.mp4", vec![(2, 3)]),
                scores: vec![0.1, 0.2, 0.9, 0.8, 0.1],
            },
            ScoredVideo {
                annotation: ann("n.mp4", vec![]),
                scores: vec![0.1, 0.6, 0.2, 0.3],
            },
        ];
        let r = evaluate(&videos, 0.5);
        assert_eq!((r.n_frames, r.n_anomalous_frames, r.n_videos), (9, 2, 2));
        assert_eq!(r.auc, Some(1.0));
        assert_eq!(r.far, Some(0.25));
        assert_eq!(r.per_video[0].peak_frame, 2);
        assert_eq!((r.incidents, r.incidents_flagged), (1, 1));
        assert_eq!(r.mean_video_auc, Some(1.0));
        let classes: Vec<&str> = r.per_class.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(classes, ["Fighting", "Normal"]);
        assert_eq!(r.per_class[1].flagged_share, 0.25);
    }

    #[test]
    fn an_incident_is_flagged_only_by_a_frame_inside_it() {
        let video = |scores: Vec<f64>| ScoredVideo {
            annotation: Annotation {
                name: "a.mp4".into(),
                class: "Fighting".into(),
                intervals: vec![(2, 3), (6, 7)],
                frames: None,
            },
            scores,
        };
        // A high frame just outside each incident does not flag it; one inside does.
        let r = evaluate(&[video(vec![0.0, 0.9, 0.1, 0.2, 0.9, 0.0, 0.0, 0.7])], 0.5);
        assert_eq!((r.incidents, r.incidents_flagged), (2, 1));
        assert_eq!(r.per_class[0].incidents_flagged, 1);
        // An interval running past the scored frames is judged on the frames there are.
        let r = evaluate(&[video(vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6])], 0.5);
        assert_eq!(r.incidents_flagged, 1);
    }
}
