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

mod calibrate;
mod passes;
mod select;

use crate::base::float::flush_denormals;
use crate::model::{ExecutionProvider, Extractor, ExtractorSpec, NoveltyParams, Pack};
use crate::pipeline::PipelineError;
use crate::pipeline::assemble::Scored;
use crate::pipeline::cache::{CachedRows, FeatureCache, cache_error};
use crate::pipeline::fused::fused_score;
use crate::pipeline::novelty::{
    calibrate, calibration_for, novelty_scores_from, score_from_distance,
};
use crate::pipeline::options::{Progress, ScoreOptions};
use crate::pipeline::provisional::Provisional;
use crate::pipeline::report::{CascadeSummary, Pass, ScorerSummary};
use crate::pipeline::rows::{FeatureRun, hash_original, open_cache, open_sessions};
use crate::video::open_video_with;
pub(super) use calibrate::Fusion;
use calibrate::{
    FusedError, STRATA, calibration_sample, full_resolution_distances, fused_full_parts,
};
use passes::{coarse_pass, refine_pass};
use select::{anchors, candidates, feature_sources, full_spans};
use std::collections::BTreeSet;
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
    let sha256 = hash_original(path, progress)?;
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
        run: FeatureRun {
            info,
            sha256,
            record: refined.record,
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
            cache_warnings: [&caches.coarse, &caches.full]
                .iter()
                .flat_map(|c| c.take_rejected())
                .collect(),
        },
        scores,
        tops,
        passes,
        coarse_scores: coarse_scores.scores.clone(),
        summary,
        cascade: Some(cascade),
    }))
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
