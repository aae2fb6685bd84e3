//! A training run on disk: the head, its record (recipe, seed, data hashes, loss curve,
//! validation), checkpoints, and the paper's Figure 8 (one training video's segment scores as
//! training proceeds).
//!
//! ```text
//! OUT/mil_head.onnx              the trained head
//! OUT/training.json              the record
//! OUT/checkpoints/iter-NNNNNN.onnx
//! OUT/figure8.png, figure8.json  when a video was tracked
//! OUT/manifest.json (+ extractor) when the features came from a model pack: OUT is then a pack
//! ```

use super::MilError;
use super::featureset::FeatureSet;
use super::head::MilHead;
use super::onnx::{HEAD_FILE, TRAINING_FILE, head_to_onnx};
use super::train::{TrainConfig, TrainOutcome, ValidationPoint};
use crate::base::{sha256_bytes, write_atomic};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `training.json`.
#[derive(Debug, Serialize)]
pub struct TrainingRecord {
    /// vigil version.
    pub vigil_version: String,
    /// `mil` or `binary`.
    pub objective: String,
    /// The full recipe.
    pub recipe: TrainConfig,
    /// Seed (also in the recipe; repeated for the manifest summary).
    pub seed: u64,
    /// The training data.
    pub data: DataRecord,
    /// Training library.
    pub library: String,
    /// Loss of the last iteration and the mean of the last 100.
    pub final_loss: f64,
    /// Mean loss of the last 100 iterations.
    pub final_loss_mean100: f64,
    /// (iteration, loss), every iteration.
    pub loss_curve: Vec<(usize, f64)>,
    /// Validation history.
    pub validation: Vec<ValidationPoint>,
    /// SHA-256 of the written head.
    pub head_sha256: String,
    /// Wall-clock seconds of training.
    pub train_s: f64,
}

/// What the head was trained on.
#[derive(Debug, Serialize)]
pub struct DataRecord {
    /// The feature set folder.
    pub features: String,
    /// SHA-256 of its index (or of the concatenated bag hashes when it has none).
    pub set_sha256: String,
    /// Normal and anomalous bags.
    pub normal: usize,
    /// Anomalous bags.
    pub anomalous: usize,
    /// Feature size.
    pub dim: usize,
    /// The extractor the features came from.
    pub extractor: Option<super::featureset::ExtractorRef>,
    /// Every bag: name, label, bag hash, video hash.
    pub bags: Vec<serde_json::Value>,
}

impl DataRecord {
    /// Describes `set`.
    pub fn of(set: &FeatureSet) -> Self {
        let (normal, anomalous) = set.counts();
        let hashes: String = set
            .bags
            .iter()
            .map(|b| format!("{}  {}\n", b.entry.bag_sha256, b.entry.name))
            .collect();
        Self {
            features: set.dir.display().to_string(),
            set_sha256: sha256_bytes(hashes.as_bytes()),
            normal,
            anomalous,
            dim: set.dim(),
            extractor: set.index.extractor.clone(),
            bags: set
                .bags
                .iter()
                .map(|b| {
                    serde_json::json!({
                        "name": b.entry.name,
                        "label": b.entry.label,
                        "class": b.entry.class,
                        "bag_sha256": b.entry.bag_sha256,
                        "video_sha256": b.entry.video_sha256,
                    })
                })
                .collect(),
        }
    }
}

/// Writes `head` as ONNX to `path` atomically; returns its SHA-256.
pub fn write_head(head: &MilHead, path: &Path) -> Result<String, MilError> {
    let bytes = head_to_onnx(&head.weights())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|error| MilError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
    }
    write_atomic(path, &bytes).map_err(|error| MilError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(sha256_bytes(&bytes))
}

/// Path of the checkpoint after `iteration` iterations.
pub fn checkpoint_path(out: &Path, iteration: usize) -> PathBuf {
    out.join("checkpoints")
        .join(format!("iter-{iteration:06}.onnx"))
}

/// Writes the head, the record and Figure 8 (when tracked) into `out`.
pub fn write_run(
    out: &Path,
    set: &FeatureSet,
    cfg: &TrainConfig,
    outcome: &TrainOutcome,
    train_s: f64,
    track_truth: Option<&[bool]>,
) -> Result<TrainingRecord, MilError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| MilError::Io { path, error }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let head_sha256 = write_head(&outcome.head, &out.join(HEAD_FILE))?;
    let last = outcome.losses.last().map_or(f64::NAN, |l| l.1);
    let tail = &outcome.losses[outcome.losses.len().saturating_sub(100)..];
    let mean100 = tail.iter().map(|l| l.1).sum::<f64>() / tail.len().max(1) as f64;
    let record = TrainingRecord {
        vigil_version: crate::TOOL_VERSION.into(),
        objective: serde_json::to_value(cfg.objective)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        recipe: cfg.clone(),
        seed: cfg.seed,
        data: DataRecord::of(set),
        library: "burn 0.22.1 (flex CPU backend, autodiff, AdaGrad)".into(),
        final_loss: last,
        final_loss_mean100: mean100,
        loss_curve: outcome.losses.clone(),
        validation: outcome.validation.clone(),
        head_sha256,
        train_s,
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| MilError::Head(e.to_string()))?;
    write_atomic(&out.join(TRAINING_FILE), &json).map_err(io(&out.join(TRAINING_FILE)))?;
    if let (Some(name), false) = (&cfg.track, outcome.track.is_empty()) {
        let fig = serde_json::json!({
            "video": name,
            "segments": super::bags::SEGMENTS,
            "ground_truth_segments": track_truth,
            "scores": outcome.track.iter().map(|(it, s)| serde_json::json!({"iteration": it, "scores": s})).collect::<Vec<_>>(),
        });
        let p = out.join("figure8.json");
        write_atomic(&p, fig.to_string().as_bytes()).map_err(io(&p))?;
        let png = figure8_png(name, &outcome.track, track_truth).map_err(MilError::Head)?;
        let p = out.join("figure8.png");
        write_atomic(&p, &png).map_err(io(&p))?;
    }
    Ok(record)
}

/// The paper's Figure 8: segment scores of one training video at a few iterations (up to five,
/// evenly spaced, always the first and the last), ground-truth segments shaded.
pub fn figure8_png(
    video: &str,
    track: &[(usize, Vec<f32>)],
    truth: Option<&[bool]>,
) -> Result<Vec<u8>, String> {
    use plotters::prelude::*;
    crate::base::plot::register_font();
    let (w, h) = (760u32, 420u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let picks: Vec<usize> = if track.len() <= 5 {
        (0..track.len()).collect()
    } else {
        let mut v: Vec<usize> = (0..5)
            .map(|i| (i as f64 * (track.len() - 1) as f64 / 4.0).round() as usize)
            .collect();
        v.dedup();
        v
    };
    let colours = [
        RGBColor(160, 160, 160),
        RGBColor(90, 140, 200),
        RGBColor(60, 170, 90),
        RGBColor(230, 150, 40),
        RGBColor(200, 40, 40),
    ];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let segs = track.first().map_or(32, |t| t.1.len()) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{video}: segment scores during training"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0f64..segs, 0.0f64..1.0f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("Segment (of 32)")
            .y_desc("Anomaly score")
            .draw()
            .map_err(|e| e.to_string())?;
        if let Some(t) = truth {
            chart
                .draw_series(t.iter().enumerate().filter(|(_, a)| **a).map(|(i, _)| {
                    Rectangle::new(
                        [(i as f64, 0.0), (i as f64 + 1.0, 1.0)],
                        RGBColor(255, 215, 215).filled(),
                    )
                }))
                .map_err(|e| e.to_string())?;
        }
        for (k, &p) in picks.iter().enumerate() {
            let (it, s) = &track[p];
            let c = colours[k % colours.len()];
            chart
                .draw_series(LineSeries::new(
                    s.iter()
                        .enumerate()
                        .map(|(i, &v)| (i as f64 + 0.5, f64::from(v))),
                    c.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(format!("iteration {it}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], c.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    crate::base::plot::png_from_rgb(w, h, &buf)
}
