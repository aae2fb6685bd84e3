//! The cascade: the full network only where it matters.
//!
//! One hour of 30 fps footage is 6,750 clips; through the full I3D (16×224×224) that is about
//! 0.59 s of a 2-core CPU each. The cascade scores the same footage in three steps:
//!
//! 1. **Coarse pass.** Every clip is decoded at the pack's coarse contract (8×112×112 at
//!    15 fps: the same 0.533 s clips). The change gate (`pipeline::gate`) compares each with
//!    the last clip that went through the network; an unchanged clip reuses that clip's
//!    features (`pass: reused`), the others go through the coarse network (about 6.7× cheaper).
//! 2. **Candidates.** The novelty scorer runs on the coarse features. A clip is a candidate
//!    when its coarse score reaches [`CANDIDATE_SCORE`] (or half the flag threshold, if that is
//!    lower), or it is among the [`TOP_CANDIDATES`] highest; each candidate brings its
//!    [`NEIGHBOURS`] clips either side. Every clip the gate passed is a candidate too, up to
//!    [`CHANGED_SHARE`] of the footage (the highest-scoring ones beyond that): on a quiet camera
//!    a change is rare and the coarse network can miss what it is. An even sample of the
//!    footage, [`anchors`] (one clip in [`ANCHOR_EVERY`], at least [`MIN_ANCHORS`]), is added:
//!    the full-resolution scores need a picture of what is normal here at full resolution, and
//!    the sample gives it.
//! 3. **Refine.** The full network runs on the candidates and anchors (a reused clip sends its
//!    reference instead), and on each one's [`MATCHES`] most similar clips by coarse features,
//!    so that similar clips are there to compare it with at full resolution. Their novelty
//!    distances are computed as in the full pass, over every clip whose features were refined
//!    (or reuse refined ones), and calibrated on a stratified sample: every candidate, and the
//!    anchors standing for the other clips in strata of coarse distance
//!    ([`calibration_sample`]). Flagged spans, top moments and their Kinetics hints
//!    thus all come from full-resolution features (`pass: full`). Every other clip
//!    keeps its coarse score, which is below the candidate level by construction and so can
//!    never be flagged at the threshold.
//!
//! Each pass's features live in their own cache folder (the coarse and the full network have
//! different feature keys); the coarse pass also records its spans and the gate's decisions
//! (`gate.json`), the refine its spans (`spans.json`), so that a killed cascade resumes where
//! it stopped and a finished one rescored needs no decoding.

use super::PipelineError;
use super::bank::{bank_distances, bank_z};
use super::cache::{CachedRows, ClipIndex, CompleteRecord, FeatureCache, cache_error};
use super::fused::{ScoreParts, fused_score};
use super::gate::GateParams;
use super::novelty::{
    RowSource, calibrate, calibration_for, exclusion_window, fetch_normalised, insert_top,
    mean_top_distance, novelty_scores_from, reference_rows, score_from_distance,
};
use super::report::{CascadeSummary, Pass, ScorerSummary};
use super::run::{
    DecodePlan, Progress, Provisional, ProvisionalRule, ScoreOptions, Scored, ThreadJob,
    completion_record, open_cache, open_sessions, run_threads,
};
use crate::base::float::flush_denormals;
use crate::base::sha256_file;
use crate::model::{
    Bank, ExecutionProvider, Extractor, ExtractorSpec, FusedParams, HeadSession, NoveltyParams,
    Pack, l2_normalise_rows,
};
use crate::video::{VideoError, VideoInfo, open_video_with};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::Instant;

/// A clip whose coarse score reaches this is a candidate (0.1 is a robust z of about 1.4
/// spreads above the median with the default scorer, well below the 0.5 flag).
pub const CANDIDATE_SCORE: f32 = 0.1;
/// The highest-scoring coarse clips are always candidates, so that the top moments shown when
/// nothing is flagged come from full-resolution features too.
pub const TOP_CANDIDATES: usize = 8;
/// Clips either side of a candidate that are refined with it (1.07 s at 0.533 s a clip), so
/// that a flagged span's edges are decided at full resolution.
pub const NEIGHBOURS: u64 = 2;
/// Every clip the change gate passed is a candidate while they are at most this share of the
/// footage (on busier footage, the highest-scoring that many): on a quiet camera a change is
/// rare, and the coarse network can miss what it is. Measured on the long quiet scene, a person
/// falling scored 0.01–0.08 at coarse resolution, far below [`CANDIDATE_SCORE`], and was
/// flagged at full resolution; the changes there are 4 % of the clips.
pub const CHANGED_SHARE: f64 = 0.05;
/// One anchor per this many clips (about 27 s of footage).
pub const ANCHOR_EVERY: usize = 50;
/// At least this many anchors (all clips, when there are fewer).
pub const MIN_ANCHORS: usize = 32;

/// Coarse matches refined with each clip scored at full resolution: references near it in
/// feature space, so that its full-resolution distance is measured against similar clips and
/// not only against the anchors. They rarely are its exact full-resolution neighbours: on the
/// busy hour of the long benchmark 23 % of the full pass's 5 nearest were among the 10 coarse
/// matches, 15 % among 5. The pool they make is what counts. With 5 matches instead of 10 the
/// busy hour's refine ran the full network on 1,755 clips instead of 2,265, its frame AUC was
/// 0.9126 instead of 0.9105 (full pass 0.9137) and it flagged the same spans. The quiet hour
/// was unchanged. Measured by rescoring from a cache holding every clip at both resolutions.
pub const MATCHES: usize = 5;

/// Footage shorter than this many clips (34 s) gets the full pass: the anchors alone would
/// refine most of it, and the coarse pass would only add to the cost.
pub const SHORT_CLIPS: u64 = 2 * MIN_ANCHORS as u64;

const GATE_RECORD_VERSION: u32 = 1;

/// The coarse pass's decisions, kept beside its features.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GateRecord {
    version: u32,
    params: GateParams,
    /// (clip, reference) of every reused clip.
    reused: Vec<(u64, u64)>,
    /// The coarse decode found every frame's timestamp in order and no damage, so the refine
    /// may seek to its clips instead of decoding the whole file again.
    #[serde(default)]
    seekable: bool,
}

impl super::cache::Checked for GateRecord {
    fn check(&self) -> Result<(), String> {
        // A reused clip carries the features of an earlier clip that went through the network.
        match self.reused.iter().find(|(clip, source)| source >= clip) {
            Some((clip, source)) => Err(format!(
                "clip {clip} reuses clip {source}, not an earlier one"
            )),
            None => Ok(()),
        }
    }
}

/// Wanted clips this close (in clips, 4.3 s) share one seek: decoding through the gap costs
/// about what a seek and its keyframe preroll do.
pub const MERGE_GAP: u64 = 8;

/// Runs of clips to decode for `clips` (ascending): consecutive ones, and ones at most
/// [`MERGE_GAP`] apart, share a run.
pub(super) fn seek_runs(clips: &[u64]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &c in clips {
        match runs.last_mut() {
            Some(r) if c <= r.1 + MERGE_GAP => r.1 = r.1.max(c),
            _ => runs.push((c, c)),
        }
    }
    runs
}

/// The full contract's spans of the clips the coarse pass found: the same times and source
/// frames (both grids start each clip at `index × clip duration`, and a span's frames follow
/// from its times), with the last clip's padding counted in full-contract slots. None when
/// the two grids do not give the same number of clips, which only a sequential decode can
/// settle.
pub(super) fn full_spans(
    coarse: &CompleteRecord,
    frames: u32,
    fps: f64,
) -> Option<Vec<crate::video::ClipSpan>> {
    let clock = crate::video::SlotClock::new(fps);
    let len = u64::from(frames.max(1));
    let slots = clock.slots_before(coarse.duration_s).max(1);
    let clips = slots.div_ceil(len);
    if clips != coarse.spans.len() as u64 {
        return None;
    }
    let mut spans = coarse.spans.clone();
    for s in &mut spans {
        let filled = slots.saturating_sub(s.index * len).min(len);
        s.padded_slots = (len - filled) as u32;
    }
    Some(spans)
}

/// For every clip, the clip whose features it carries: itself, or the reference it reuses.
pub(super) fn feature_sources(clips: usize, reused: &[(u64, u64)]) -> Vec<u64> {
    let mut src: Vec<u64> = (0..clips as u64).collect();
    for &(clip, reference) in reused {
        if let Some(s) = src.get_mut(clip as usize) {
            *s = reference;
        }
    }
    src
}

/// The candidate rule (module documentation, step 2): clip indices, ascending. `changed` are
/// the clips the gate sent through the coarse network (ascending).
pub(super) fn candidates(coarse_scores: &[f32], threshold: f32, changed: &[u64]) -> BTreeSet<u64> {
    let floor = CANDIDATE_SCORE.min(threshold * 0.5);
    let n = coarse_scores.len() as u64;
    let mut order: Vec<u64> = (0..n).collect();
    order.sort_by(|&a, &b| {
        coarse_scores[b as usize]
            .total_cmp(&coarse_scores[a as usize])
            .then(a.cmp(&b))
    });
    let seeds = order
        .iter()
        .enumerate()
        .filter(|&(rank, &i)| rank < TOP_CANDIDATES || coarse_scores[i as usize] >= floor)
        .map(|(_, &i)| i);
    let mut out = BTreeSet::new();
    for i in seeds {
        for j in i.saturating_sub(NEIGHBOURS)..=(i + NEIGHBOURS).min(n.saturating_sub(1)) {
            out.insert(j);
        }
    }
    // The changes themselves, within a budget: the highest-scoring [`CHANGED_SHARE`] of the
    // footage's clips among those the gate passed (all of them on quiet footage).
    let budget = (CHANGED_SHARE * n as f64).ceil() as usize;
    let mut changed: Vec<u64> = changed.iter().copied().filter(|&c| c < n).collect();
    changed.sort_by(|&a, &b| {
        coarse_scores[b as usize]
            .total_cmp(&coarse_scores[a as usize])
            .then(a.cmp(&b))
    });
    out.extend(changed.into_iter().take(budget));
    out
}

/// The anchors: an even sample of the clip indices (module documentation, step 2).
pub(super) fn anchors(clips: usize) -> Vec<u64> {
    let count = clips.div_ceil(ANCHOR_EVERY).max(MIN_ANCHORS).min(clips);
    if count == 0 {
        return Vec::new();
    }
    let mut v: Vec<u64> = (0..count)
        .map(|i| ((i as f64 + 0.5) * clips as f64 / count as f64).floor() as u64)
        .collect();
    v.dedup();
    v
}

/// Caches of one file, per pass (temporary ones for a `--no-cache` run, removed on drop).
struct Caches {
    coarse: FeatureCache,
    full: FeatureCache,
    temporary: Vec<tempfile::TempDir>,
}

/// Scores `path` by the cascade. `Ok(Err(reason))` when this file cannot be cascaded (the
/// caller then runs the full pass and says why).
pub(super) fn score_cascade(
    path: &Path,
    pack: &Pack,
    params: &NoveltyParams,
    fused: Option<Fusion<'_>>,
    opts: &ScoreOptions,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(Progress),
) -> Result<Result<Scored, String>, PipelineError> {
    let coarse_spec = pack
        .coarse_extractor()
        .ok_or_else(|| PipelineError::Internal("cascade without a coarse extractor".into()))?;
    let full_spec = &pack.manifest.extractor;
    let clip_s = f64::from(full_spec.input.frames) / full_spec.input.frame_rate;
    let (input, info) = open_video_with(path, &opts.open)?;
    if let Some(d) = info.duration_s
        && d / clip_s < SHORT_CLIPS as f64
    {
        return Ok(Err(format!(
            "footage under {:.0} s is scored by the full pass (the cascade pays off on longer footage)",
            SHORT_CLIPS as f64 * clip_s
        )));
    }
    progress(Progress::Hashing);
    let sha256 = sha256_file(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    progress(Progress::Hashed {
        sha256: sha256.clone(),
    });
    let dim = full_spec.features.dim;
    let caches = open_caches(pack, coarse_spec, opts, &sha256, dim)?;
    let mut ran = RunState::default();

    // 1. Coarse pass.
    let t_coarse = Instant::now();
    let coarse = coarse_pass(
        input,
        &info,
        pack,
        coarse_spec,
        &caches.coarse,
        opts,
        opts.provisional.then_some(params),
        cancelled,
        progress,
        &mut ran,
    )?;
    let coarse_s = t_coarse.elapsed().as_secs_f64();
    let n = coarse.record.spans.len();
    let src = feature_sources(n, &coarse.gate.reused);
    if let Some(&s) = src.iter().find(|&&s| !coarse.outputs.contains(s)) {
        return Err(PipelineError::Internal(format!(
            "coarse clip {s} has no features"
        )));
    }
    let coarse_rows = CachedRows {
        index: &coarse.outputs,
        clips: &src,
    };
    let (coarse_scores, coarse_matches) =
        novelty_scores_from(&coarse_rows, clip_s, params, MATCHES)
            .map_err(cache_error(&caches.coarse))?;
    if opts.provisional {
        // The timeline shows the coarse scores while the refine runs.
        progress(Progress::Provisional(std::sync::Arc::new(Provisional {
            stage: "coarse scores",
            clips: (0..n as u64).collect(),
            scores: coarse_scores.scores.clone(),
            clip_s,
            footage_s: coarse.record.duration_s,
        })));
    }

    // 2. Candidates and anchors; the clips scored at full resolution (those, and the clips
    // whose features they carry); the clips the full network must run on (the features of
    // those, and of their coarse matches).
    let changed: Vec<u64> = (0..n as u64).filter(|&i| src[i as usize] == i).collect();
    let cand = candidates(&coarse_scores.scores, opts.threshold, &changed);
    let anchor_clips = anchors(n);
    let mut queries: BTreeSet<u64> = cand.iter().chain(&anchor_clips).copied().collect();
    queries.extend(queries.iter().map(|&q| src[q as usize]).collect::<Vec<_>>());
    let mut refine: BTreeSet<u64> = BTreeSet::new();
    for &q in &queries {
        refine.insert(src[q as usize]);
        if let Some(m) = coarse_matches.get(q as usize) {
            refine.extend(m.iter().map(|&j| src[j as usize]));
        }
    }

    // 3. Refine.
    let t_refine = Instant::now();
    let seek_spans = coarse
        .gate
        .seekable
        .then(|| {
            full_spans(
                &coarse.record,
                full_spec.input.frames,
                full_spec.input.frame_rate,
            )
        })
        .flatten();
    let (input, _) = open_video_with(path, &opts.open)?;
    let refined = match refine_pass(
        input,
        &info,
        pack,
        &caches.full,
        &refine,
        seek_spans.as_ref().map(|s| (s, &coarse.record)),
        opts,
        cancelled,
        progress,
        &mut ran,
    ) {
        // A seek that did not land where the timestamps said: decode the whole file instead.
        Err(PipelineError::Video(_)) if seek_spans.is_some() => {
            let (input, _) = open_video_with(path, &opts.open)?;
            let mut r = refine_pass(
                input,
                &info,
                pack,
                &caches.full,
                &refine,
                None,
                opts,
                cancelled,
                progress,
                &mut ran,
            )?;
            r.decode = "whole file (a seek missed)".into();
            r
        }
        other => other?,
    };
    let refine_s = t_refine.elapsed().as_secs_f64();
    if refined.record.spans.len() != n {
        return Ok(Err(format!(
            "the coarse and the full decode found {} and {} clips, so the cascade cannot pair them; every clip went through the full network",
            n,
            refined.record.spans.len()
        )));
    }

    // Full-resolution novelty of the queried clips, calibrated on the anchors.
    if let Some(&c) = refine.iter().find(|&&c| !refined.outputs.contains(c)) {
        return Err(PipelineError::Internal(format!(
            "refined clip {c} has no features"
        )));
    }
    let full_distances = flush_denormals(|| {
        full_resolution_distances(&refined.outputs, &refine, &src, &queries, clip_s, params)
    })
    .map_err(cache_error(&caches.full))?;
    let sample = calibration_sample(
        &coarse_scores.distances,
        &cand,
        &anchor_clips,
        &full_distances,
    );
    // Whether the trim applies is decided on the whole file's coarse distances, in clip order.
    let (calibration, calibration_note) = calibration_for(&coarse_scores.distances, params);
    let (median, spread) = calibrate(&sample, &calibration);
    let full_score = |clip: u64| {
        full_distances
            .get(&clip)
            .map(|&d| score_from_distance(d, median, spread, params))
    };

    // The fused scorer: the bank part (and the head's view) of every clip scored at full
    // resolution, from its refined features; the others keep their coarse novelty score, which
    // is below the candidate level and so below any flag.
    let fused_parts = match &fused {
        Some(f) => Some(
            fused_full_parts(f, &refined.outputs, &full_distances, &src, median, spread).map_err(
                |e| match e {
                    FusedError::Cache(e) => cache_error(&caches.full)(e),
                    FusedError::Pipeline(e) => e,
                },
            )?,
        ),
        None => None,
    };
    let full_score = |clip: u64| match (&fused, &fused_parts) {
        (Some(f), Some(parts)) => parts.get(&clip).map(|p| {
            fused_score(
                f64::from(p.novelty_z),
                f64::from(p.bank_z),
                f.params,
                f.bank.spec.flag_z,
            )
        }),
        _ => full_score(clip),
    };
    let mut parts = Vec::new();
    let mut scores = Vec::with_capacity(n);
    let mut tops = Vec::with_capacity(n);
    let mut passes = Vec::with_capacity(n);
    for (i, &s) in src.iter().enumerate() {
        let reused = s != i as u64;
        if let Some(fp) = &fused_parts {
            parts.push(fp.get(&(i as u64)).or_else(|| fp.get(&s)).copied());
        }
        let score = full_score(i as u64).or_else(|| full_score(s));
        let full_features = refine.contains(&s) && score.is_some();
        scores.push(score.unwrap_or(coarse_scores.scores[i]));
        let top = if full_features {
            refined.outputs.top(s)
        } else {
            coarse.outputs.top(s)
        };
        tops.push(top.map(<[_]>::to_vec).unwrap_or_default());
        passes.push(match (reused, full_features) {
            (true, _) => Pass::Reused,
            (false, true) => Pass::Full,
            (false, false) => Pass::Coarse,
        });
    }
    let count = |p: Pass| passes.iter().filter(|&&q| q == p).count() as u64;
    let cascade = CascadeSummary {
        clips_full: count(Pass::Full),
        clips_coarse: count(Pass::Coarse),
        clips_reused: count(Pass::Reused),
        coarse_network_clips: (n - coarse.gate.reused.len()) as u64,
        full_network_clips: refine.len() as u64,
        queries: queries.len() as u64,
        candidates: cand.len() as u64,
        anchors: anchor_clips.len() as u64,
        gate: coarse.gate.params,
        rule: format!(
            "candidates: coarse novelty ≥ {:.2} or among the {TOP_CANDIDATES} highest, ±{NEIGHBOURS} clips; anchors: 1 clip in {ANCHOR_EVERY} (≥ {MIN_ANCHORS}); full-resolution scores calibrated on the candidates and the anchors standing for the rest in {STRATA} strata of coarse distance (median {:.4}, spread {:.4}); coarse median {:.4}, spread {:.4}",
            CANDIDATE_SCORE.min(opts.threshold * 0.5),
            median,
            spread,
            coarse_scores.median,
            coarse_scores.spread
        ),
        coarse_s,
        refine_s,
        refine_decode: refined.decode.clone(),
    };
    let summary = ScorerSummary {
        kind: if fused.is_some() { "fused" } else { "novelty" }.into(),
        params: match &fused {
            Some(f) => super::fused::summary_params(f.params, &f.bank.spec),
            None => serde_json::to_value(params).unwrap_or_default(),
        },
        median_distance: median,
        spread,
        note: coarse_scores.note.clone().or(calibration_note),
    };
    let (device, device_note, runtime_version) = match ran.provider {
        Some(p) => (p.name().to_string(), ran.note, ran.runtime_version),
        None => ("cache".to_string(), None, None),
    };
    Ok(Ok(Scored {
        parts,
        info,
        sha256,
        record: refined.record,
        scores,
        tops,
        passes,
        coarse_scores: coarse_scores.scores.clone(),
        summary,
        device,
        device_note,
        runtime_version,
        clips_from_cache: coarse.from_cache + refined.from_cache,
        clips_computed: ran.computed,
        infer_s: ran.infer_s,
        cache_dir: caches
            .temporary
            .is_empty()
            .then(|| caches.full.dir().display().to_string()),
        cascade: Some(cascade),
        cache_warnings: [&caches.coarse, &caches.full]
            .iter()
            .flat_map(|c| c.take_rejected())
            .collect(),
    }))
}

/// What the cascade needs to score with the fused scorer.
pub(super) struct Fusion<'a> {
    /// The fused scorer's parameters (its `novelty` is the cascade's novelty).
    pub params: &'a FusedParams,
    /// The pack's normal bank.
    pub bank: &'a Bank,
    /// The pack's MIL head, whose view is shown beside the parts.
    pub head: Option<std::cell::RefCell<HeadSession>>,
}

enum FusedError {
    Cache(std::io::Error),
    Pipeline(PipelineError),
}

/// The fused parts of every clip with a full-resolution novelty distance: its novelty z on the
/// cascade's calibration, the bank z of its refined features, and the head's probability.
fn fused_full_parts(
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
fn full_resolution_distances(
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
fn calibration_sample(
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

fn open_caches(
    pack: &Pack,
    coarse: &ExtractorSpec,
    opts: &ScoreOptions,
    sha256: &str,
    dim: usize,
) -> Result<Caches, PipelineError> {
    let (coarse, t1) = open_cache(opts, &pack.feature_key_for(coarse), sha256, dim)?;
    let (full, t2) = open_cache(opts, &pack.feature_key(), sha256, dim)?;
    Ok(Caches {
        coarse,
        full,
        temporary: t1.into_iter().chain(t2).collect(),
    })
}

/// What ran in this process (for the report).
#[derive(Default)]
struct RunState {
    provider: Option<ExecutionProvider>,
    note: Option<String>,
    runtime_version: Option<String>,
    computed: u64,
    infer_s: f64,
}

impl RunState {
    /// Sessions for one pass: ONNX Runtime is loaded and the sessions created before any
    /// decoding, so that model errors surface at once.
    fn sessions(
        &mut self,
        pack: &Pack,
        opts: &ScoreOptions,
        coarse: bool,
    ) -> Result<(Vec<Extractor>, usize), PipelineError> {
        let runtime = crate::model::init_runtime()?;
        let (extractors, batch) = open_sessions(pack, opts, coarse)?;
        self.provider = Some(extractors[0].execution_provider());
        self.note = extractors[0].device_note().map(str::to_string);
        self.runtime_version = Some(runtime.version);
        Ok((extractors, batch))
    }
}

/// The coarse pass's result.
struct CoarseResult {
    record: CompleteRecord,
    gate: GateRecord,
    /// Coarse features of every clip that went through the network.
    outputs: ClipIndex,
    from_cache: u64,
}

#[allow(clippy::too_many_arguments)]
fn coarse_pass(
    input: crate::video::Source,
    info: &VideoInfo,
    pack: &Pack,
    spec: &ExtractorSpec,
    cache: &FeatureCache,
    opts: &ScoreOptions,
    provisional: Option<&NoveltyParams>,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(Progress),
    ran: &mut RunState,
) -> Result<CoarseResult, PipelineError> {
    let mut outputs = cache.index().map_err(cache_error(cache))?;
    let params = GateParams::default();
    let stored = (|| {
        let record = cache.load_complete()?;
        let gate: GateRecord = cache.read_json("gate.json")?;
        let reused: HashSet<u64> = gate.reused.iter().map(|r| r.0).collect();
        let complete = gate.version == GATE_RECORD_VERSION
            && gate.params == params
            && record
                .spans
                .iter()
                .all(|s| reused.contains(&s.index) || outputs.contains(s.index));
        complete.then_some((record, gate))
    })();
    if let Some((record, gate)) = stored {
        let from_cache = record.spans.len() as u64;
        return Ok(CoarseResult {
            record,
            gate,
            outputs,
            from_cache,
        });
    }
    if opts.cache_only {
        return Err(PipelineError::NotCached);
    }
    let (extractors, batch_size) = ran.sessions(pack, opts, true)?;
    let clip_s = f64::from(spec.input.frames) / spec.input.frame_rate;
    let estimate = info
        .duration_s
        .map_or(0, |d| (d / clip_s).ceil().max(0.0) as u64);
    let cached: HashSet<u64> = outputs.clips().collect();
    progress(Progress::Started {
        stage: "coarse pass",
        clips_estimate: estimate,
        clips_cached: cached.len() as u64,
        provider: ran.provider.unwrap_or(ExecutionProvider::Cpu),
        note: ran.note.clone(),
    });
    // The gate needs every clip's pixels; at 8×112×112 they cost little next to decoding.
    let all = |_: u64| true;
    let plan = DecodePlan {
        wanted: &all,
        cached: &cached,
        gate: Some(params),
        runs: None,
        provisional: provisional.map(|p| ProvisionalRule {
            params: p,
            stage: "coarse pass",
            footage_s: info.duration_s.unwrap_or(0.0),
        }),
    };
    let t = Instant::now();
    let mut computed = 0;
    let job = ThreadJob {
        info,
        contract: &spec.input,
        plan: &plan,
        cache,
        batch_size,
        cancelled,
        estimate,
        clip_s,
    };
    let mut summary = run_threads(
        input,
        extractors,
        &job,
        &mut outputs,
        &mut computed,
        progress,
    )?;
    ran.infer_s += t.elapsed().as_secs_f64();
    ran.computed += computed;
    let seekable = summary.stats.untimed == 0
        && summary.stats.decode_errors == 0
        && summary.stats.read_error.is_none();
    let gate = GateRecord {
        version: GATE_RECORD_VERSION,
        params,
        reused: std::mem::take(&mut summary.reused),
        seekable,
    };
    let record = completion_record(info, summary);
    cache
        .write_json("gate.json", &gate)
        .map_err(cache_error(cache))?;
    cache.write_complete(&record).map_err(cache_error(cache))?;
    let from_cache = cached.len() as u64;
    Ok(CoarseResult {
        record,
        gate,
        outputs,
        from_cache,
    })
}

/// The refine pass's result.
struct RefineResult {
    /// Spans and decode facts at the full contract.
    record: CompleteRecord,
    /// Full features of (at least) the refined clips.
    outputs: ClipIndex,
    from_cache: u64,
    /// For the report's `refine_decode`.
    decode: String,
}

#[allow(clippy::too_many_arguments)]
fn refine_pass(
    input: crate::video::Source,
    info: &VideoInfo,
    pack: &Pack,
    cache: &FeatureCache,
    refine: &BTreeSet<u64>,
    seek: Option<(&Vec<crate::video::ClipSpan>, &CompleteRecord)>,
    opts: &ScoreOptions,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(Progress),
    ran: &mut RunState,
) -> Result<RefineResult, PipelineError> {
    let mut outputs = cache.index().map_err(cache_error(cache))?;
    let need: HashSet<u64> = refine
        .iter()
        .copied()
        .filter(|&c| !outputs.contains(c))
        .collect();
    let from_cache = (refine.len() - need.len()) as u64;
    let stored = cache
        .load_complete()
        .or_else(|| cache.read_json::<CompleteRecord>("spans.json"));
    if let (Some(record), true) = (&stored, need.is_empty()) {
        return Ok(RefineResult {
            record: record.clone(),
            outputs,
            from_cache,
            decode: "none".into(),
        });
    }
    if opts.cache_only {
        return Err(PipelineError::NotCached);
    }
    let spec = &pack.manifest.extractor;
    let (extractors, batch_size) = ran.sessions(pack, opts, false)?;
    let clip_s = f64::from(spec.input.frames) / spec.input.frame_rate;
    progress(Progress::Started {
        stage: "refine",
        clips_estimate: refine.len() as u64,
        clips_cached: from_cache,
        provider: ran.provider.unwrap_or(ExecutionProvider::Cpu),
        note: ran.note.clone(),
    });
    let wanted = |c: u64| need.contains(&c);
    let cached: HashSet<u64> = HashSet::new();
    let mut sorted: Vec<u64> = need.iter().copied().collect();
    sorted.sort_unstable();
    let runs = seek_runs(&sorted);
    let plan = DecodePlan {
        wanted: &wanted,
        cached: &cached,
        gate: None,
        runs: seek.is_some().then_some(&runs[..]),
        provisional: None,
    };
    let t = Instant::now();
    let mut computed = 0;
    let mut done_before = from_cache;
    let mut relay = |p: Progress| match p {
        Progress::Clips { done, .. } => {
            done_before = from_cache + done;
            progress(Progress::Clips {
                done: done_before,
                estimate: refine.len() as u64,
                video_s: 0.0,
            });
        }
        other => progress(other),
    };
    let job = ThreadJob {
        info,
        contract: &spec.input,
        plan: &plan,
        cache,
        batch_size,
        cancelled,
        estimate: refine.len() as u64,
        clip_s,
    };
    let summary = run_threads(
        input,
        extractors,
        &job,
        &mut outputs,
        &mut computed,
        &mut relay,
    )?;
    ran.infer_s += t.elapsed().as_secs_f64();
    ran.computed += computed;
    let record = match seek {
        // The runs' spans number frames from each seek; the coarse decode's facts hold.
        Some((spans, coarse)) => CompleteRecord {
            spans: spans.clone(),
            ..coarse.clone()
        },
        None => completion_record(info, summary),
    };
    cache
        .write_json("spans.json", &record)
        .map_err(cache_error(cache))?;
    let decode = if seek.is_some() {
        format!("seek ({} runs)", runs.len())
    } else {
        "whole file".into()
    };
    Ok(RefineResult {
        record,
        outputs,
        from_cache,
        decode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_follow_the_gate() {
        assert_eq!(
            feature_sources(6, &[(1, 0), (2, 0), (5, 4)]),
            vec![0, 0, 0, 3, 4, 4]
        );
    }

    #[test]
    fn candidates_are_the_upper_tail_and_the_top_with_neighbours() {
        let mut s = vec![0.01f32; 100];
        s[50] = 0.9; // a flag
        s[20] = 0.15; // the upper tail
        let c = candidates(&s, 0.5, &[]);
        for i in 48..=52 {
            assert!(c.contains(&i), "{i}");
        }
        for i in 18..=22 {
            assert!(c.contains(&i), "{i}");
        }
        // The top 8 are always in, with their neighbours: the two above and the six highest
        // of a low bump at 80..90.
        for (k, i) in (80..90).enumerate() {
            s[i] = 0.08 - 0.001 * k as f32;
        }
        let c = candidates(&s, 0.5, &[]);
        assert!(c.contains(&78) && c.contains(&87));
        assert!(!c.contains(&88) && !c.contains(&0) && !c.contains(&30));
        // A low threshold lowers the candidate level with it.
        s[70] = 0.06;
        assert!(!candidates(&s, 0.5, &[]).contains(&70));
        assert!(candidates(&s, 0.1, &[]).contains(&70));
    }

    #[test]
    fn changes_are_candidates_within_a_budget() {
        // The top 8 (always candidates, with neighbours) are at 90..98.
        let mut s = vec![0.01f32; 100];
        for v in &mut s[90..98] {
            *v = 0.05;
        }
        // Few changes: all of them, however low their coarse score, without neighbours.
        let c = candidates(&s, 0.5, &[3, 40, 41]);
        assert!(c.contains(&3) && c.contains(&40) && c.contains(&41));
        assert!(!c.contains(&2) && !c.contains(&39));
        // Many: the highest-scoring 5 % of the footage's clips.
        let mut s = vec![0.01f32; 100];
        let changed: Vec<u64> = (30..60).collect();
        for (k, &i) in changed.iter().enumerate() {
            s[i as usize] = 0.01 + 0.001 * k as f32;
        }
        let c = candidates(&s, 0.5, &changed);
        for i in 55..60 {
            assert!(c.contains(&i), "{i}");
        }
        // (52..60 are also the top 8, with neighbours 50..62.)
        assert_eq!(c.iter().filter(|&&i| i < 50).count(), 0, "{c:?}");
    }

    #[test]
    fn anchors_are_even_and_bounded() {
        assert_eq!(anchors(0), Vec::<u64>::new());
        assert_eq!(anchors(10), (0..10).collect::<Vec<_>>());
        let a = anchors(6750);
        assert_eq!(a.len(), 135);
        assert!(a.windows(2).all(|w| w[1] - w[0] == 50));
        assert_eq!(anchors(100).len(), 32);
    }

    #[test]
    fn seek_runs_merge_close_clips_only() {
        assert_eq!(seek_runs(&[]), Vec::<(u64, u64)>::new());
        assert_eq!(
            seek_runs(&[3, 4, 5, 13, 22, 40]),
            vec![(3, 13), (22, 22), (40, 40)]
        );
        assert_eq!(seek_runs(&[0, 8, 16]), vec![(0, 16)]);
    }

    fn span(index: u64, start_s: f64, end_s: f64, padded_slots: u32) -> crate::video::ClipSpan {
        crate::video::ClipSpan {
            index,
            start_s,
            end_s,
            start_frame: index * 16,
            end_frame: index * 16 + 16,
            padded_slots,
        }
    }

    #[test]
    fn full_spans_recount_the_last_clips_padding_or_refuse() {
        let clip = 16.0 / 30.0;
        // 2.5 clips of footage: 40 slots of 30 fps, so the third clip has 8 padded.
        let end = 2.5 * clip;
        let coarse = CompleteRecord {
            version: 1,
            spans: vec![
                span(0, 0.0, clip, 0),
                span(1, clip, 2.0 * clip, 0),
                span(2, 2.0 * clip, end, 4),
            ],
            frames: 40,
            duration_s: end,
            decode_errors: 0,
            warnings: Vec::new(),
            partial: false,
            gaps: Vec::new(),
            damaged: Vec::new(),
        };
        let s = full_spans(&coarse, 16, 30.0).unwrap();
        assert_eq!(
            s.iter().map(|x| x.padded_slots).collect::<Vec<_>>(),
            vec![0, 0, 8]
        );
        assert_eq!(s[2].start_frame, coarse.spans[2].start_frame);
        // A grid that would give another clip count is refused.
        let mut short = coarse.clone();
        short.spans.pop();
        assert!(full_spans(&short, 16, 30.0).is_none());
    }
}
