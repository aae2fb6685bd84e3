//! How the fused scorer's parts could be combined, compared on a labelled feature set (the
//! kit's training split): the evidence behind `pipeline::fused`'s rule, re-measured on every
//! `make models` (`vigil bank rules`, recorded in the pack's `benchmark.json`).
//!
//! For every video of the set: its within-file novelty z (the fused scorer's calibration) and
//! its bank z against the pack's bank *without that video's own clips* (leave one video out, so
//! a normal training video is not judged against itself). Each part is divided by its flag
//! level; the rules combine the two levels `a` (novelty) and `b` (bank) as `a`, `b`,
//! `min(a, b)`, `(a + b) / 2` and `max(a, b)`, and score `1 / (1 + exp(−(m − 1) / width))`.
//! Clip scores become the paper's 32 segment scores (the highest clip of each segment) and are
//! judged like `vigil eval --features`: pooled frame AUC, false alarms at 0.5 on normal videos,
//! incidents flagged.
//!
//! What the comparison cannot see: footage unlike the bank's. On a camera the bank has never
//! seen the bank part is high everywhere, so every rule but `min` and `novelty` flags ordinary
//! footage there (measured on the real clips in `../shared/data/footage`, README "Scores");
//! the kit's normal videos are all of the kit's own kind. That is why the pack's rule is the
//! minimum unless this table shows it ranking clearly worse.

use super::MilError;
use super::bags::read_npy_clips;
use super::featureset::FeatureSet;
use super::train::scored_videos;
use crate::eval::{Annotation, evaluate};
use crate::model::{Bank, FusedParams, normalised};
use crate::pipeline::{
    InMemory, bank_distances, bank_z, novelty_scores, segment_ranges_32, segment_scores,
};
use ndarray::Axis;
use serde::Serialize;

/// The rules compared.
pub const RULES: [&str; 5] = ["novelty", "bank", "min", "mean", "max"];

/// One rule's figures on the set.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    /// One of [`RULES`].
    pub rule: String,
    /// Pooled frame AUC.
    pub auc: Option<f64>,
    /// Mean of the videos' own AUCs.
    pub mean_video_auc: Option<f64>,
    /// Share of normal videos' frames at or above 0.5.
    pub far: Option<f64>,
    /// Incidents flagged.
    pub incidents_flagged: usize,
    /// Incidents.
    pub incidents: usize,
}

/// Flag levels `(novelty, bank)` of every clip of every video of `set`, in set order.
fn levels(
    set: &FeatureSet,
    bank: &Bank,
    fused: &FusedParams,
    clip_s: f64,
) -> Result<Vec<Vec<(f64, f64)>>, MilError> {
    let mut out = Vec::with_capacity(set.bags.len());
    for b in &set.bags {
        let file = b
            .entry
            .clips_file
            .as_ref()
            .ok_or_else(|| MilError::Features {
                path: set.dir.clone(),
                reason: format!(
                    "{} has no clip features (made by `vigil features`?)",
                    b.entry.name
                ),
            })?;
        let clips = read_npy_clips(&set.dir.join(file))?;
        let dim = clips.ncols();
        let values: Vec<f32> = clips.iter().copied().collect();
        let novelty = novelty_scores(&values, dim, clip_s, &fused.novelty);
        // The bank without this video's own rows.
        let own = b.entry.video_sha256.as_ref().and_then(|sha| {
            bank.spec
                .sources
                .iter()
                .find(|s| &s.video_sha256 == sha)
                .map(|s| s.first_row..s.first_row + s.rows)
        });
        let keep: Vec<usize> = (0..bank.rows.nrows())
            .filter(|r| own.as_ref().is_none_or(|o| !o.contains(r)))
            .collect();
        let rows = normalised(bank.rows.select(Axis(0), &keep));
        let Ok(d) = bank_distances(
            &rows,
            bank.spec.k,
            &InMemory {
                values: &values,
                dim,
            },
        );
        out.push(
            novelty
                .distances
                .iter()
                .zip(&d)
                .map(|(&nd, &bd)| {
                    let nz = (f64::from(nd) - novelty.median) / novelty.spread;
                    (
                        nz / fused.novelty_flag_z,
                        bank_z(bd, &bank.spec) / bank.spec.flag_z,
                    )
                })
                .collect(),
        );
    }
    Ok(out)
}

/// Every rule of [`RULES`] judged on `set` against `annotations`.
pub fn compare_rules(
    set: &FeatureSet,
    annotations: &[Annotation],
    bank: &Bank,
    fused: &FusedParams,
    clip_s: f64,
) -> Result<Vec<RuleResult>, MilError> {
    let levels = crate::base::float::flush_denormals(|| levels(set, bank, fused, clip_s))?;
    let mut out = Vec::new();
    for rule in RULES {
        let combine = |(a, b): (f64, f64)| match rule {
            "novelty" => a,
            "bank" => b,
            "min" => a.min(b),
            "mean" => (a + b) / 2.0,
            _ => a.max(b),
        };
        let scores: Vec<Vec<f32>> = levels
            .iter()
            .map(|video| {
                let clips: Vec<f32> = video
                    .iter()
                    .map(|&l| (1.0 / (1.0 + (-(combine(l) - 1.0) / fused.width).exp())) as f32)
                    .collect();
                segment_scores(&clips, &segment_ranges_32(clips.len()))
            })
            .collect();
        let (videos, _) = scored_videos(set, &scores, annotations);
        if videos.is_empty() {
            return Err(MilError::Training(
                "no video of the set matches an annotation with a frame count".into(),
            ));
        }
        let r = evaluate(&videos, 0.5);
        out.push(RuleResult {
            rule: rule.to_string(),
            auc: r.auc,
            mean_video_auc: r.mean_video_auc,
            far: r.far,
            incidents_flagged: r.incidents_flagged,
            incidents: r.incidents,
        });
    }
    Ok(out)
}
