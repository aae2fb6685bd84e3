//! Scoring one file: [`score_file`] chooses the cascade (`cascade.rs`) or the full pass, runs
//! the pack's scorer (novelty, fused, or the MIL head) on the clip features, and hands the
//! scores to `assemble.rs` for the report. [`extract_clip_features`] is the same first half for
//! callers that want the features themselves (`vigil features`, `vigil bank add`).
//!
//! The features stay in the feature cache (a temporary one for `--no-cache`): the caller keeps
//! where each clip's lie and its top classes, about 100 bytes a clip, and the scorers read
//! them back a block at a time. Measured from the cache, the full pass's peak memory grew by
//! 20 MiB from 1 h to 8 h of footage (it grew by 554 MiB when every feature was held).

use super::PipelineError;
use super::assemble::{Scored, assemble_report};
use super::bank::{bank_distances, bank_z};
use super::cache::CachedRows;
use super::fused::{ScoreParts, fused_score};
use super::novelty::novelty_scores_from;
use super::options::{Progress, ScoreOptions};
use super::report::{Pass, ScoreReport, ScorerSummary};
use super::rows::{ClipFeatures, ClipRows, clip_rows};
use crate::model::{Bank, HeadSession, Pack, ScorerSpec, l2_normalise_rows};
use std::path::Path;
use std::time::Instant;

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
    let passes = vec![Pass::Full; scores.len()];
    Ok(Scored {
        run: got.run,
        coarse_scores: Vec::new(),
        parts,
        scores,
        tops,
        passes,
        summary,
        cascade: None,
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
    Ok(ClipFeatures {
        dim: got.dim,
        run: got.run,
        features,
        tops,
    })
}
