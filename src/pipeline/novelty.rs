//! The training-free novelty scorer: a clip is anomalous in proportion to how unlike the rest of
//! the same footage it is.
//!
//! The rule, step by step:
//! 1. Each clip feature is L2-normalised.
//! 2. Its novelty distance `d` is 1 − the mean cosine similarity of its `k` most similar clips
//!    among those more than `exclusion_s` away in time (so a clip is not "explained" by its own
//!    neighbours in the same event). The window shrinks to a quarter of the footage for short
//!    videos so that every clip keeps candidates. Videos longer than `max_reference` clips are
//!    compared against `max_reference` evenly spaced clips, which keeps the cost linear in length.
//! 3. Distances are calibrated within the footage with a robust z-score,
//!    `z = (d − median(d)) / s`, where the spread `s = max(q(d) − median(d), spread_floor)` is
//!    read off the upper tail (`q = spread_quantile`, 0.9 by default; for normally distributed
//!    distances `s` is then 1.28 σ). Events that fill more than 1 − q of the footage widen the
//!    spread and stop counting as unusual, so a busy street with a car every few seconds does
//!    not score like one odd event in a quiet room. (The median absolute deviation was tried
//!    first and failed exactly there: on a road that is empty more than half the time it
//!    measures the empty road, and every passing car scored 0.99.) The floor keeps sensor noise
//!    in a static scene from being amplified into alarms.
//!
//!    That rule assumes the incident is rare in the footage; in a half-minute clip where it
//!    fills the last fifth the spread lies inside the incident, and nothing is flagged. With
//!    `trim_spreads = T` set, the spread is read off the footage's normal bulk instead: start
//!    from the median and the *lower* tail's spread (`median − q(1 − spread_quantile)`, which
//!    an upper mode of up to half the clips cannot widen), drop every distance more than `T`
//!    spreads above the median, re-estimate median and upper-tail spread on what is left, and
//!    repeat until the kept set stops changing. At least half the clips are always kept. On a
//!    unimodal file (uniformly busy, or quiet) the trim removes the few clips beyond `T`
//!    spreads and the estimate barely moves; on a file whose incident forms its own mode the
//!    mode is trimmed and scored against the bulk. On a road that is empty most of the time,
//!    passing cars form such a mode too; they come and go several times, an incident happens
//!    once, so the trim applies only when the clips it sets apart form one episode in time
//!    (the largest run holds two thirds of them); otherwise the upper-tail rule stands and the
//!    report's note says so ([`calibration_for`]).
//! 4. `score = 1 / (1 + exp(−(z − z_mid) / z_width))`: 0.5 at `z_mid` spreads above the median
//!    (2.75 by default, about 3.5 σ).
//!
//! Limits, stated plainly: an event that fills much of the footage is "normal" for it; an event
//! that repeats at several times explains itself; the score says "unusual here", not "crime".

use crate::base::float::flush_denormals;
use crate::model::NoveltyParams;
use ndarray::{Array2, Axis};

/// Fewer clips than this and the scorer has nothing to compare against.
const MIN_CLIPS: usize = 4;
/// Rows of the similarity matrix computed at once (bounds memory on long footage).
const BLOCK_ROWS: usize = 512;

/// Each clip's most similar clips, most similar first (empty unless asked for).
pub type Neighbours = Vec<Vec<u64>>;

/// Scores plus what the calibration found, for reports and debugging.
#[derive(Debug, Clone, PartialEq)]
pub struct NoveltyOutcome {
    /// Anomaly score per clip, 0..1.
    pub scores: Vec<f32>,
    /// Raw novelty distance per clip.
    pub distances: Vec<f32>,
    /// Median distance.
    pub median: f64,
    /// Robust spread used for the z-score.
    pub spread: f64,
    /// Set when the footage is too short to score.
    pub note: Option<String>,
}

/// Feature rows fetched by position: from memory, or from the feature cache a block at a time,
/// so that a day of footage never holds every clip's features at once (1 h of 30 fps footage
/// is 6,750 clips × 4 KiB). The scorer holds the reference rows (at most `max_reference`) and
/// one block of [`BLOCK_ROWS`] queries.
pub trait RowSource {
    /// Why a row could not be fetched.
    type Error;
    /// Rows there are.
    fn rows(&self) -> usize;
    /// Values per row.
    fn dim(&self) -> usize;
    /// Writes rows `idx` (each `< rows()`), in that order and row-major, into `out`
    /// (`idx.len() × dim` values).
    fn fetch(&self, idx: &[usize], out: &mut [f32]) -> Result<(), Self::Error>;
}

/// Rows held in memory: `n × dim` values, row-major.
pub struct InMemory<'a> {
    /// The values.
    pub values: &'a [f32],
    /// Values per row.
    pub dim: usize,
}

impl RowSource for InMemory<'_> {
    type Error = std::convert::Infallible;

    fn rows(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn fetch(&self, idx: &[usize], out: &mut [f32]) -> Result<(), Self::Error> {
        for (&i, row) in idx.iter().zip(out.chunks_exact_mut(self.dim)) {
            row.copy_from_slice(&self.values[i * self.dim..(i + 1) * self.dim]);
        }
        Ok(())
    }
}

/// Scores `n` clips whose features are the rows of `features` (`n` × `dim`, row-major), each
/// clip lasting `clip_s` seconds. Runs with subnormals flushed (`base::float`): the similarity
/// products of near-zero feature values would otherwise take Intel's slow path.
pub fn novelty_scores(
    features: &[f32],
    dim: usize,
    clip_s: f64,
    p: &NoveltyParams,
) -> NoveltyOutcome {
    let rows = InMemory {
        values: features,
        dim,
    };
    match novelty_scores_from(&rows, clip_s, p, 0) {
        Ok((outcome, _)) => outcome,
        Err(never) => match never {},
    }
}

/// As [`novelty_scores`], on rows from any source; with `m` > 0 also returning each clip's `m`
/// most similar clips (outside the exclusion window, among the reference clips), most similar
/// first: the cascade refines them with a candidate, so that its full-resolution neighbours
/// are the ones the full pass would find (`pipeline::cascade`).
pub fn novelty_scores_from<R: RowSource>(
    rows: &R,
    clip_s: f64,
    p: &NoveltyParams,
    m: usize,
) -> Result<(NoveltyOutcome, Neighbours), R::Error> {
    flush_denormals(|| scores_and_neighbours(rows, clip_s, p, m))
}

fn scores_and_neighbours<R: RowSource>(
    rows: &R,
    clip_s: f64,
    p: &NoveltyParams,
    m: usize,
) -> Result<(NoveltyOutcome, Neighbours), R::Error> {
    let n = rows.rows();
    if n < MIN_CLIPS {
        let outcome = NoveltyOutcome {
            scores: vec![0.0; n],
            distances: vec![0.0; n],
            median: 0.0,
            spread: p.spread_floor,
            note: Some(format!(
                "footage too short for the novelty scorer ({n} clips; it needs at least {MIN_CLIPS}): scores are 0"
            )),
        };
        return Ok((outcome, vec![Vec::new(); if m > 0 { n } else { 0 }]));
    }
    let window = exclusion_window(n, clip_s, p);
    let (distances, neighbours) =
        distances_against(rows, &reference_rows(n, p.max_reference), window, p.k, m)?;
    let (calibration, note) = calibration_for(&distances, p);
    let (median, spread) = calibrate(&distances, &calibration);
    let scores = distances
        .iter()
        .map(|&d| score_from_distance(d, median, spread, p))
        .collect();
    let outcome = NoveltyOutcome {
        scores,
        distances,
        median,
        spread,
        note,
    };
    Ok((outcome, neighbours))
}

/// Rows `idx` of `rows` as a matrix, each L2-normalised.
pub(super) fn fetch_normalised<R: RowSource>(
    rows: &R,
    idx: &[usize],
) -> Result<Array2<f32>, R::Error> {
    let dim = rows.dim();
    let mut values = vec![0f32; idx.len() * dim];
    rows.fetch(idx, &mut values)?;
    let mut x = Array2::from_shape_vec((idx.len(), dim), values)
        .unwrap_or_else(|_| Array2::zeros((idx.len(), dim)));
    for mut row in x.axis_iter_mut(Axis(0)) {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    Ok(x)
}

/// Clips this close (in clip indices) are not each other's neighbours; a quarter of the
/// footage at most, so that short videos keep candidates.
pub(super) fn exclusion_window(total_clips: usize, clip_s: f64, p: &NoveltyParams) -> u64 {
    ((p.exclusion_s / clip_s).ceil() as u64)
        .min(total_clips as u64 / 4)
        .max(1)
}

/// Rows used as references: all of them, or `max_reference` evenly spaced ones.
pub(super) fn reference_rows(n: usize, max_reference: usize) -> Vec<usize> {
    if n <= max_reference {
        return (0..n).collect();
    }
    let r = max_reference.max(2);
    let mut v: Vec<usize> = (0..r)
        .map(|i| ((i as f64) * (n - 1) as f64 / (r - 1) as f64).round() as usize)
        .collect();
    v.dedup();
    v
}

/// Each row's novelty distance: 1 − the mean of its `k` highest cosine similarities among the
/// reference rows whose clip lies more than `window` clips away; with `m` > 0 also the clips
/// of its `m` most similar such rows. Row `i` is clip `i`.
fn distances_against<R: RowSource>(
    rows: &R,
    refs: &[usize],
    window: u64,
    k: usize,
    m: usize,
) -> Result<(Vec<f32>, Neighbours), R::Error> {
    let n = rows.rows();
    let reference = fetch_normalised(rows, refs)?;
    let mut distances = vec![0f32; n];
    let mut neighbours = Vec::with_capacity(if m > 0 { n } else { 0 });
    let keep = k.max(m);
    let mut best: Vec<(f32, u64)> = Vec::with_capacity(keep + 1);
    for start in (0..n).step_by(BLOCK_ROWS) {
        let end = (start + BLOCK_ROWS).min(n);
        let block: Vec<usize> = (start..end).collect();
        let sims = fetch_normalised(rows, &block)?.dot(&reference.t());
        for (r, row) in sims.axis_iter(Axis(0)).enumerate() {
            let i = (start + r) as u64;
            best.clear();
            for (&j, &sim) in refs.iter().zip(row.iter()) {
                if i.abs_diff(j as u64) <= window {
                    continue;
                }
                insert_top(&mut best, (sim, j as u64), keep);
            }
            distances[i as usize] = mean_top_distance(best.iter().map(|b| b.0), k);
            if m > 0 {
                neighbours.push(best.iter().take(m).map(|b| b.1).collect());
            }
        }
    }
    Ok((distances, neighbours))
}

/// 1 − the mean of the first `k` of `sims` (sorted descending); 0 when there are none.
pub(super) fn mean_top_distance(sims: impl Iterator<Item = f32>, k: usize) -> f32 {
    let (mut sum, mut count) = (0f32, 0usize);
    for v in sims.take(k) {
        sum += v;
        count += 1;
    }
    if count == 0 {
        0.0
    } else {
        1.0 - sum / count as f32
    }
}

/// Median and spread of the distances (step 3 of the rule).
pub(super) fn calibrate(distances: &[f32], p: &NoveltyParams) -> (f64, f64) {
    let mut sorted: Vec<f64> = distances.iter().map(|&d| f64::from(d)).collect();
    sorted.sort_by(f64::total_cmp);
    match p.trim_spreads {
        None => tail_calibration(&sorted, p),
        Some(t) => trimmed_calibration(&sorted, t, p),
    }
}

/// Median and upper-tail spread of sorted distances.
fn tail_calibration(sorted: &[f64], p: &NoveltyParams) -> (f64, f64) {
    let median = quantile_sorted(sorted, 0.5);
    let upper = quantile_sorted(sorted, p.spread_quantile);
    (median, (upper - median).max(p.spread_floor))
}

/// Clips above the trimmed cut closer than this (in clips, about 1.6 s) belong to one episode.
const EPISODE_GAP: usize = 3;
/// The trim applies when its largest episode holds at least this share of the clips above the
/// cut: one event, however long. Below it the clips above the bulk are several events at
/// different times, which the file's own upper tail measures (passing cars on a road that is
/// empty most of the time).
const ONE_EPISODE_SHARE: f64 = 2.0 / 3.0;

/// The calibration that applies to a file whose distances, in clip order, are `timeline`: the
/// trimmed one (`trim_spreads`) only when the clips it would set apart form one episode in time;
/// else the upper-tail rule, with a note saying why. Measured on the real road clip in
/// `../shared/data/footage`: three passing-car episodes fill 40 % of its 30 s, and the trimmed
/// rule alone put them 11 spreads above an empty road.
pub(super) fn calibration_for(
    timeline: &[f32],
    p: &NoveltyParams,
) -> (NoveltyParams, Option<String>) {
    let Some(t) = p.trim_spreads else {
        return (*p, None);
    };
    let mut sorted: Vec<f64> = timeline.iter().map(|&d| f64::from(d)).collect();
    sorted.sort_by(f64::total_cmp);
    let (median, spread) = trimmed_calibration(&sorted, t, p);
    let cut = median + t * spread;
    let above: Vec<usize> = timeline
        .iter()
        .enumerate()
        .filter(|(_, d)| f64::from(**d) > cut)
        .map(|(i, _)| i)
        .collect();
    let episodes = episodes(&above);
    let largest = episodes.iter().copied().max().unwrap_or(0);
    if above.is_empty() || largest as f64 >= ONE_EPISODE_SHARE * above.len() as f64 {
        return (*p, None);
    }
    let note = format!(
        "{} clips stand above this file's bulk in {} separate episodes: recurring events, so the spread comes from the file's upper tail",
        above.len(),
        episodes.len()
    );
    (
        NoveltyParams {
            trim_spreads: None,
            ..*p
        },
        Some(note),
    )
}

/// Sizes of the runs of `clips` (sorted) whose neighbours are at most [`EPISODE_GAP`] apart.
fn episodes(clips: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for (i, &c) in clips.iter().enumerate() {
        match i.checked_sub(1).map(|j| clips[j]) {
            Some(prev) if c - prev <= EPISODE_GAP => {
                if let Some(last) = out.last_mut() {
                    *last += 1;
                }
            }
            _ => out.push(1),
        }
    }
    out
}

/// Rounds of trimming at most; it settles in a handful on every distribution tried.
const TRIM_ROUNDS: usize = 50;

/// Median and spread of the normal bulk of sorted distances: the upper mode trimmed at `t`
/// spreads, repeatedly (step 3, `trim_spreads`).
fn trimmed_calibration(sorted: &[f64], t: f64, p: &NoveltyParams) -> (f64, f64) {
    if sorted.is_empty() {
        return (0.0, p.spread_floor);
    }
    let half = sorted.len().div_ceil(2);
    let mut median = quantile_sorted(sorted, 0.5);
    let mut spread =
        (median - quantile_sorted(sorted, 1.0 - p.spread_quantile)).max(p.spread_floor);
    let mut kept = None;
    for _ in 0..TRIM_ROUNDS {
        let cut = median + t * spread;
        let n = sorted.partition_point(|&d| d <= cut).max(half);
        if kept == Some(n) {
            break;
        }
        kept = Some(n);
        (median, spread) = tail_calibration(&sorted[..n], p);
    }
    (median, spread)
}

/// Step 4 of the rule.
pub(super) fn score_from_distance(d: f32, median: f64, spread: f64, p: &NoveltyParams) -> f32 {
    let z = (f64::from(d) - median) / spread;
    (1.0 / (1.0 + (-(z - p.z_mid) / p.z_width).exp())) as f32
}

/// Keeps the `k` largest values in `best` (by their first element), sorted descending; among
/// equals the earlier one stays first.
pub(super) fn insert_top<T>(best: &mut Vec<(f32, T)>, v: (f32, T), k: usize) {
    if best.len() == k && best.last().is_some_and(|m| v.0 <= m.0) {
        return;
    }
    let pos = best.partition_point(|b| b.0 >= v.0);
    best.insert(pos, v);
    best.truncate(k);
}

/// The default pack's novelty parameters (`models/convert_i3d.py`), for other modules' tests.
#[cfg(test)]
pub(super) fn pack_params() -> NoveltyParams {
    NoveltyParams {
        k: 5,
        exclusion_s: 8.0,
        max_reference: 4096,
        z_mid: 2.75,
        z_width: 0.6,
        spread_quantile: 0.9,
        spread_floor: 0.0125,
        trim_spreads: None,
    }
}

/// Quantile `q` of sorted values with linear interpolation (numpy's default).
fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests;
