//! Full-resolution scores for the refined clips: their novelty distances, the stratified
//! calibration sample that stands for the clips left coarse, and the fused scorer's parts.

use crate::model::{Bank, FusedParams, HeadSession, NoveltyParams, l2_normalise_rows};
use crate::pipeline::PipelineError;
use crate::pipeline::bank::{bank_distances, bank_z};
use crate::pipeline::cache::{CachedRows, ClipIndex};
use crate::pipeline::fused::ScoreParts;
use crate::pipeline::novelty::{
    RowSource, exclusion_window, fetch_normalised, insert_top, mean_top_distance, reference_rows,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What the cascade needs to score with the fused scorer.
pub(in crate::pipeline) struct Fusion<'a> {
    /// The fused scorer's parameters (its `novelty` is the cascade's novelty).
    pub params: &'a FusedParams,
    /// The pack's normal bank.
    pub bank: &'a Bank,
    /// The pack's MIL head, whose view is shown beside the parts.
    pub head: Option<std::cell::RefCell<HeadSession>>,
}

pub(super) enum FusedError {
    Cache(std::io::Error),
    Pipeline(PipelineError),
}

/// The fused parts of every clip with a full-resolution novelty distance: its novelty z on the
/// cascade's calibration, the bank z of its refined features, and the head's probability.
pub(super) fn fused_full_parts(
    f: &Fusion<'_>,
    outputs: &ClipIndex,
    full_distances: &BTreeMap<u64, f32>,
    src: &[u64],
    median: f64,
    spread: f64,
) -> Result<BTreeMap<u64, ScoreParts>, FusedError> {
    let clips: Vec<u64> = full_distances.keys().copied().collect();
    let sources: Vec<u64> = clips.iter().map(|&c| src[c as usize]).collect();
    let rows = CachedRows {
        index: outputs,
        clips: &sources,
    };
    let bank_d = bank_distances(&f.bank.rows, f.bank.spec.k, &rows).map_err(FusedError::Cache)?;
    let head = match &f.head {
        Some(session) => {
            let dim = rows.dim();
            let mut x = vec![0f32; sources.len() * dim];
            let all: Vec<usize> = (0..sources.len()).collect();
            rows.fetch(&all, &mut x).map_err(FusedError::Cache)?;
            l2_normalise_rows(&mut x, dim);
            Some(
                session
                    .borrow_mut()
                    .run(&x)
                    .map_err(|e| FusedError::Pipeline(e.into()))?,
            )
        }
        None => None,
    };
    Ok(clips
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let d = full_distances[c];
            (
                *c,
                ScoreParts {
                    novelty_z: ((f64::from(d) - median) / spread) as f32,
                    bank_z: bank_z(bank_d[i], &f.bank.spec) as f32,
                    head: head.as_ref().and_then(|h| h.get(i).copied()),
                },
            )
        })
        .collect())
}

/// Novelty distances at full resolution of the `queries` clips, exactly as the full pass
/// computes them (`pipeline::novelty`, step 2) but over the clips whose features were refined:
/// every clip whose feature source is a refined clip and that the full pass would use as a
/// reference is a reference here too, so a clip is compared with its coarse matches, the
/// other candidates and anchors, and every unchanged clip that reuses one of those. The
/// features are read from the cache: the distinct references (at most `max_reference`) at
/// once, the queries a block at a time.
pub(super) fn full_resolution_distances(
    full: &ClipIndex,
    refine: &BTreeSet<u64>,
    src: &[u64],
    queries: &BTreeSet<u64>,
    clip_s: f64,
    params: &NoveltyParams,
) -> Result<BTreeMap<u64, f32>, std::io::Error> {
    let n = src.len();
    let window = exclusion_window(n, clip_s, params);
    // Reference clips whose features were refined, each with the column of its source.
    let pool_clips: Vec<u64> = reference_rows(n, params.max_reference)
        .into_iter()
        .map(|j| j as u64)
        .filter(|&j| refine.contains(&src[j as usize]))
        .collect();
    let mut columns: Vec<u64> = pool_clips.iter().map(|&j| src[j as usize]).collect();
    columns.sort_unstable();
    columns.dedup();
    let column_of: BTreeMap<u64, usize> =
        columns.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    let pool: Vec<(u64, usize)> = pool_clips
        .iter()
        .filter_map(|&j| column_of.get(&src[j as usize]).map(|&c| (j, c)))
        .collect();
    let all_columns: Vec<usize> = (0..columns.len()).collect();
    let reference = fetch_normalised(
        &CachedRows {
            index: full,
            clips: &columns,
        },
        &all_columns,
    )?;
    let query_list: Vec<u64> = queries
        .iter()
        .copied()
        .filter(|&q| refine.contains(&src[q as usize]))
        .collect();
    let query_src: Vec<u64> = query_list.iter().map(|&q| src[q as usize]).collect();
    let query_rows = CachedRows {
        index: full,
        clips: &query_src,
    };
    let mut out = BTreeMap::new();
    let mut best: Vec<(f32, ())> = Vec::with_capacity(params.k + 1);
    for start in (0..query_rows.rows()).step_by(512) {
        let end = (start + 512).min(query_rows.rows());
        let block: Vec<usize> = (start..end).collect();
        let sims = fetch_normalised(&query_rows, &block)?.dot(&reference.t());
        for (&q, sim_row) in query_list[start..end].iter().zip(sims.rows()) {
            best.clear();
            for &(j, c) in &pool {
                if q.abs_diff(j) <= window {
                    continue;
                }
                insert_top(&mut best, (sim_row[c], ()), params.k);
            }
            out.insert(q, mean_top_distance(best.iter().map(|b| b.0), params.k));
        }
    }
    Ok(out)
}

/// Strata of the calibration sample (see [`calibration_sample`]).
pub const STRATA: usize = 5;

/// The full-resolution distances the calibration reads its median and spread from: a
/// stratified sample of the footage. The candidates (the upper tail of the coarse scores, with
/// their neighbours) are all computed, so they enter as they are. The other clips are split
/// into [`STRATA`] equal strata by their coarse distance, and each stratum is represented by
/// the anchors that fall in it, each repeated for the share of the footage it stands for (a
/// stratum without an anchor is merged into the next). Read off the anchors alone, the median
/// of footage that is half still and half moving swings with how many anchors land on each
/// half, and the upper quantile rests on the two or three that land in the tail; the coarse
/// pass knows both proportions exactly, and the strata carry them over.
pub(super) fn calibration_sample(
    coarse_distances: &[f32],
    cand: &BTreeSet<u64>,
    anchors: &[u64],
    full: &BTreeMap<u64, f32>,
) -> Vec<f32> {
    let mut sample: Vec<f32> = cand.iter().filter_map(|c| full.get(c).copied()).collect();
    let mut others: Vec<u64> = (0..coarse_distances.len() as u64)
        .filter(|c| !cand.contains(c))
        .collect();
    others.sort_by(|&a, &b| {
        coarse_distances[a as usize]
            .total_cmp(&coarse_distances[b as usize])
            .then(a.cmp(&b))
    });
    let anchor_set: HashSet<u64> = anchors.iter().copied().collect();
    let per = others.len().div_ceil(STRATA).max(1);
    let mut pending = 0usize;
    let mut last: Option<Vec<f32>> = None;
    for stratum in others.chunks(per) {
        pending += stratum.len();
        let found: Vec<f32> = stratum
            .iter()
            .filter(|c| anchor_set.contains(c))
            .filter_map(|c| full.get(c).copied())
            .collect();
        if found.is_empty() {
            continue;
        }
        let repeat = ((pending as f64 / found.len() as f64).round() as usize).max(1);
        for &d in &found {
            sample.extend(std::iter::repeat_n(d, repeat));
        }
        pending = 0;
        last = Some(found);
    }
    // Top strata without an anchor: the last one that had anchors stands for them too.
    if let (Some(found), true) = (last, pending > 0) {
        let repeat = ((pending as f64 / found.len() as f64).round() as usize).max(1);
        for &d in &found {
            sample.extend(std::iter::repeat_n(d, repeat));
        }
    }
    sample
}
