//! Provisional scores: novelty on the clips done so far, for a timeline that fills while
//! scoring runs. A convenience for the analyst, replaced by the report's scores; never evidence.

use super::cache::{CachedRows, ClipIndex};
use super::novelty::novelty_scores_from;
use std::collections::BTreeMap;

/// Provisional scores (see [`Progress::Provisional`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Provisional {
    /// What they come from: `full pass` (full-resolution features so far) or `coarse pass` /
    /// `coarse scores` (the cascade's coarse features, before the refine).
    pub stage: &'static str,
    /// Clips scored, ascending.
    pub clips: Vec<u64>,
    /// Their scores.
    pub scores: Vec<f32>,
    /// Nominal clip length: clip `i` starts at `i × clip_s`.
    pub clip_s: f64,
    /// The footage's length as the container gives it (or the last clip's end).
    pub footage_s: f64,
}

/// Provisional scores are recomputed at most this often (seconds), and never taking more
/// than a tenth of the time between two (the novelty step grows with the clips seen).
pub(super) const PROVISIONAL_EVERY_S: f64 = 4.0;
/// Fewer clips than this and provisional scores would say nothing.
const PROVISIONAL_MIN_CLIPS: usize = 16;

/// What `run_threads` needs to report provisional scores.
pub(super) struct ProvisionalRule<'a> {
    pub params: &'a crate::model::NoveltyParams,
    pub stage: &'static str,
    pub footage_s: f64,
}

/// Novelty on every clip with features so far (reused clips carry their reference's), read
/// from the cache a block at a time. None when there are too few clips yet, or the cache could
/// not be read (logged: provisional scores are a convenience, the final ones will say).
pub(super) fn provisional_scores(
    outputs: &ClipIndex,
    reused: &[(u64, u64)],
    rule: &ProvisionalRule<'_>,
    clip_s: f64,
) -> Option<Provisional> {
    let mut src: BTreeMap<u64, u64> = outputs.clips().map(|k| (k, k)).collect();
    src.extend(reused.iter().filter(|(_, r)| outputs.contains(*r)).copied());
    if src.len() < PROVISIONAL_MIN_CLIPS {
        return None;
    }
    let sources: Vec<u64> = src.values().copied().collect();
    let rows = CachedRows {
        index: outputs,
        clips: &sources,
    };
    let out = match novelty_scores_from(&rows, clip_s, rule.params, 0) {
        Ok((out, _)) => out,
        Err(e) => {
            tracing::warn!("no provisional scores: {e}");
            return None;
        }
    };
    let clips: Vec<u64> = src.keys().copied().collect();
    let last_end = clips.last().map_or(0.0, |&c| (c + 1) as f64 * clip_s);
    Some(Provisional {
        stage: rule.stage,
        clips,
        scores: out.scores,
        clip_s,
        footage_s: rule.footage_s.max(last_end),
    })
}
