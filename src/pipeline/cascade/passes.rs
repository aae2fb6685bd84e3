//! The cascade's two passes over a file: the coarse pass (change gate and coarse network on
//! every clip) and the refine (the full network on the chosen clips, by seeking or decoding).

use super::RunState;
use super::select::seek_runs;
use crate::model::{ExecutionProvider, ExtractorSpec, NoveltyParams, Pack};
use crate::pipeline::PipelineError;
use crate::pipeline::cache::{ClipIndex, CompleteRecord, FeatureCache, cache_error};
use crate::pipeline::gate::GateParams;
use crate::pipeline::options::{Progress, ScoreOptions};
use crate::pipeline::provisional::ProvisionalRule;
use crate::pipeline::record::completion_record;
use crate::pipeline::threads::{DecodePlan, ThreadJob, run_threads};
use crate::video::VideoInfo;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

pub(super) const GATE_RECORD_VERSION: u32 = 1;

/// The coarse pass's decisions, kept beside its features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct GateRecord {
    pub(super) version: u32,
    pub(super) params: GateParams,
    /// (clip, reference) of every reused clip.
    pub(super) reused: Vec<(u64, u64)>,
    /// The coarse decode found every frame's timestamp in order and no damage, so the refine
    /// may seek to its clips instead of decoding the whole file again.
    #[serde(default)]
    pub(super) seekable: bool,
}

impl crate::pipeline::cache::Checked for GateRecord {
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

/// The coarse pass's result.
pub(super) struct CoarseResult {
    pub(super) record: CompleteRecord,
    pub(super) gate: GateRecord,
    /// Coarse features of every clip that went through the network.
    pub(super) outputs: ClipIndex,
    pub(super) from_cache: u64,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn coarse_pass(
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
pub(super) struct RefineResult {
    /// Spans and decode facts at the full contract.
    pub(super) record: CompleteRecord,
    /// Full features of (at least) the refined clips.
    pub(super) outputs: ClipIndex,
    pub(super) from_cache: u64,
    /// For the report's `refine_decode`.
    pub(super) decode: String,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn refine_pass(
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
