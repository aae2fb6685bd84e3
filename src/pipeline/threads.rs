//! One pass over a file: a decode thread and one or more inference threads joined by a bounded
//! channel, so that the slower stage sets the pace and memory stays bounded whatever the length
//! of the footage. The full pass and both cascade passes run through [`run_threads`].
//!
//! ```text
//!  decode thread ──Batch(≤2 in flight)──▶ inference thread(s) ──WorkerMsg──▶ caller thread
//!  (FFmpeg, swscale,                      (one ONNX Runtime session each;      (progress, indexes
//!   ClipAssembler)                         writes each batch to the cache)      the cache, scores)
//! ```

use super::PipelineError;
use super::cache::{ClipIndex, FeatureCache, TopClasses, cache_error};
use super::gate::{ClipSignature, Gate, GateParams};
use super::options::Progress;
use super::provisional::{PROVISIONAL_EVERY_S, ProvisionalRule, provisional_scores};
use crate::model::{ClipOutput, Extractor, InputContract};
use crate::video::{ClipReader, ClipSpan, ClipSpec, DecodeStats, VideoInfo};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Clips of one inference call, with their pixels (T×H×W×3 bytes each, concatenated).
struct Batch {
    clips: Vec<ClipSpan>,
    pixels: Vec<u8>,
}

enum WorkerMsg {
    /// A batch written to the cache: its file and each clip's top classes, in file order.
    Done(PathBuf, Vec<(u64, TopClasses)>),
    /// From the decode thread: clips the change gate found unchanged, each with the clip whose
    /// features it reuses.
    Reused(Vec<(u64, u64)>),
    Failed(PipelineError),
}

/// Which clips the decode thread turns into pixels and which of those it sends to the network.
pub(super) struct DecodePlan<'a> {
    /// Clips whose pixels are needed (by the network or the gate); the rest cost decoding only.
    pub wanted: &'a (dyn Fn(u64) -> bool + Sync),
    /// Clips that already have features: never sent.
    pub cached: &'a HashSet<u64>,
    /// The cascade's change gate (coarse pass only): clips it finds unchanged are not sent.
    pub gate: Option<GateParams>,
    /// Decode only these runs of clips (first, last; inclusive, in order), seeking to each,
    /// instead of the whole file (the cascade's refine, on footage with sound timestamps).
    /// The summary's spans then cover the runs only, with frame numbers counted from each
    /// seek; the caller keeps the spans of a sequential pass.
    pub runs: Option<&'a [(u64, u64)]>,
    /// Report provisional scores as batches finish (computed on the receiving thread).
    pub provisional: Option<ProvisionalRule<'a>>,
}

/// Seconds decoded ahead of a run's first clip after a seek (the seek lands on the keyframe
/// at or before that point).
const SEEK_PREROLL_S: f64 = 0.5;

/// The decode thread's channel ends: batches out, emptied pixel buffers back, the gate's
/// decisions out.
struct DecodeEnds {
    tx: Sender<Batch>,
    returned: Receiver<Vec<u8>>,
    reused: Sender<WorkerMsg>,
}

pub(super) struct DecodeSummary {
    pub spans: Vec<ClipSpan>,
    pub stats: DecodeStats,
    pub end_s: f64,
    /// (clip, reference) of every clip the gate let reuse features, in clip order.
    pub reused: Vec<(u64, u64)>,
}

/// What one run of the decode and inference threads reads: the footage's facts, the clip
/// contract, which clips to compute, where results go, and how often to report.
#[derive(Clone, Copy)]
pub(super) struct ThreadJob<'a> {
    /// The footage.
    pub info: &'a VideoInfo,
    /// The network's input contract.
    pub contract: &'a InputContract,
    /// Which clips to decode, and what is already known.
    pub plan: &'a DecodePlan<'a>,
    /// Where each batch is written as it finishes.
    pub cache: &'a FeatureCache,
    /// Clips per inference call.
    pub batch_size: usize,
    /// Checked between batches.
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
    /// Clips expected, for progress.
    pub estimate: u64,
    /// Seconds per clip, for progress.
    pub clip_s: f64,
}

/// Runs the decode thread and the inference threads to completion: the features of every clip
/// not already in `outputs` go to `cache`, and `outputs` indexes them.
pub(super) fn run_threads(
    input: crate::video::Source,
    extractors: Vec<Extractor>,
    job: &ThreadJob<'_>,
    outputs: &mut ClipIndex,
    computed: &mut u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<DecodeSummary, PipelineError> {
    let ThreadJob {
        info,
        contract,
        plan,
        cache,
        batch_size,
        cancelled,
        estimate,
        clip_s,
    } = *job;
    // Set by the caller (cancel) or by us when a worker fails; every thread checks it.
    let stop = AtomicBool::new(false);
    let stopped = || stop.load(Ordering::Relaxed) || cancelled();
    std::thread::scope(|s| {
        let (batch_tx, batch_rx) = bounded::<Batch>(2);
        let (res_tx, res_rx) = bounded::<WorkerMsg>(extractors.len() * 2 + 2);
        let (back_tx, back_rx) = bounded::<Vec<u8>>(extractors.len() + 2);
        let decode_res = res_tx.clone();
        let decode = std::thread::Builder::new()
            .name("vigil-decode".into())
            .spawn_scoped(s, || {
                let ends = DecodeEnds {
                    tx: batch_tx,
                    returned: back_rx,
                    reused: decode_res,
                };
                decode_loop(input, info, contract, plan, ends, batch_size, &stopped)
            })
            .map_err(|e| PipelineError::Internal(format!("cannot start decode thread: {e}")))?;
        for (i, ex) in extractors.into_iter().enumerate() {
            let rx = batch_rx.clone();
            let tx = res_tx.clone();
            let back = back_tx.clone();
            std::thread::Builder::new()
                .name(format!("vigil-infer-{i}"))
                .spawn_scoped(s, move || infer_loop(ex, rx, tx, back, cache, &stopped))
                .map_err(|e| {
                    PipelineError::Internal(format!("cannot start inference thread: {e}"))
                })?;
        }
        drop(batch_rx);
        drop(res_tx);
        drop(back_tx);

        let mut failure = None;
        let mut reused = Vec::new();
        let mut done = plan.cached.len() as u64;
        let mut next_provisional = Instant::now() + Duration::from_secs_f64(PROVISIONAL_EVERY_S);
        for msg in res_rx.iter() {
            if let Some(rule) = &plan.provisional
                && failure.is_none()
                && Instant::now() >= next_provisional
            {
                let t = Instant::now();
                if let Some(p) = provisional_scores(outputs, &reused, rule, clip_s) {
                    progress(Progress::Provisional(std::sync::Arc::new(p)));
                }
                let cost = t.elapsed().as_secs_f64();
                next_provisional =
                    Instant::now() + Duration::from_secs_f64(PROVISIONAL_EVERY_S.max(9.0 * cost));
            }
            match msg {
                WorkerMsg::Reused(clips) => {
                    done += clips.len() as u64;
                    reused.extend(clips);
                    progress(Progress::Clips {
                        done,
                        estimate: estimate.max(done),
                        video_s: done as f64 * clip_s,
                    });
                }
                WorkerMsg::Done(file, clips) => {
                    done += clips.len() as u64;
                    *computed += clips.len() as u64;
                    outputs.add(file, clips);
                    progress(Progress::Clips {
                        done,
                        estimate: estimate.max(done),
                        video_s: done as f64 * clip_s,
                    });
                }
                WorkerMsg::Failed(e) => {
                    stop.store(true, Ordering::Relaxed);
                    failure.get_or_insert(e);
                }
            }
        }
        let decoded = decode
            .join()
            .map_err(|_| PipelineError::Internal("decode thread panicked".into()))?;
        if let Some(e) = failure {
            return Err(e);
        }
        if cancelled() {
            return Err(PipelineError::Cancelled);
        }
        let mut decoded = decoded?;
        reused.sort_unstable();
        decoded.reused = reused;
        Ok(decoded)
    })
}

/// The decode thread: clips of the file → batches of uncached clips.
fn decode_loop(
    input: crate::video::Source,
    info: &VideoInfo,
    contract: &InputContract,
    plan: &DecodePlan<'_>,
    ends: DecodeEnds,
    batch_size: usize,
    stopped: &dyn Fn() -> bool,
) -> Result<DecodeSummary, PipelineError> {
    let DecodeEnds {
        tx,
        returned,
        reused,
    } = ends;
    let mut gate = plan.gate.map(Gate::new);
    // Gate decisions go out in chunks, so that progress moves through a still hour too.
    let mut reused_chunk: Vec<(u64, u64)> = Vec::new();
    let spec = ClipSpec {
        frames: contract.frames,
        fps: contract.frame_rate,
        width: contract.width,
        height: contract.height,
        resize: contract.resize,
    };
    let mut reader = ClipReader::new(input, info, spec)?;
    let clip_bytes =
        contract.frames as usize * contract.width as usize * contract.height as usize * 3;
    // Pixel buffers come back from the workers (`returned`) and are reused, so memory stays
    // flat however long the footage is.
    let new_batch = || Batch {
        clips: Vec::with_capacity(batch_size),
        pixels: returned.try_recv().map_or_else(
            |_| Vec::with_capacity(batch_size * clip_bytes),
            |mut v| {
                v.clear();
                v
            },
        ),
    };
    let mut batch = new_batch();
    let mut spans = Vec::new();
    let send_reused = |chunk: &mut Vec<(u64, u64)>| {
        if chunk.is_empty() {
            return Ok(());
        }
        reused
            .send(WorkerMsg::Reused(std::mem::take(chunk)))
            .map_err(|_| PipelineError::Cancelled)
    };
    let all = [(0, u64::MAX)];
    let (runs, seeking) = match plan.runs {
        Some(r) => (r, true),
        None => (&all[..], false),
    };
    let mut next = runs.iter();
    let mut run = next.next().copied();
    if seeking && let Some((first, _)) = run {
        reader.seek_to_clip(first, SEEK_PREROLL_S)?;
    }
    while let Some((first, last)) = run {
        let Some((span, pixels)) = reader.next_clip(plan.wanted)? else {
            break;
        };
        if stopped() {
            return Err(PipelineError::Cancelled);
        }
        if span.index >= last {
            run = next.next().copied();
            if let Some((first_next, _)) = run {
                // Decoding on through a short gap beats a seek; the planner merged those.
                reader.seek_to_clip(first_next, SEEK_PREROLL_S)?;
            }
            if span.index > last {
                if let Some(p) = pixels {
                    reader.recycle(p);
                }
                continue;
            }
        }
        if span.index < first {
            if let Some(p) = pixels {
                reader.recycle(p);
            }
            continue;
        }
        spans.push(span);
        let Some(pixels) = pixels else {
            continue;
        };
        if let Some(g) = gate.as_mut() {
            let sig = ClipSignature::of_clip(
                &pixels,
                contract.frames as usize,
                contract.width as usize,
                contract.height as usize,
            );
            if let Some(reference) = g.decide(span.index, sig) {
                reader.recycle(pixels);
                reused_chunk.push((span.index, reference));
                if reused_chunk.len() >= 64 {
                    send_reused(&mut reused_chunk)?;
                }
                continue;
            }
        }
        if plan.cached.contains(&span.index) {
            reader.recycle(pixels);
            continue;
        }
        batch.clips.push(span);
        batch.pixels.extend_from_slice(&pixels);
        reader.recycle(pixels);
        if batch.clips.len() == batch_size
            && tx.send(std::mem::replace(&mut batch, new_batch())).is_err()
        {
            // Every worker has stopped; the caller learns why from them.
            return Err(PipelineError::Cancelled);
        }
    }
    send_reused(&mut reused_chunk)?;
    if !batch.clips.is_empty() && tx.send(batch).is_err() {
        return Err(PipelineError::Cancelled);
    }
    Ok(DecodeSummary {
        spans,
        stats: reader.final_stats(),
        end_s: reader.end_time_s(),
        reused: Vec::new(),
    })
}

/// An inference thread: batches in, features out (and into the cache).
fn infer_loop(
    mut extractor: Extractor,
    rx: Receiver<Batch>,
    tx: Sender<WorkerMsg>,
    back: Sender<Vec<u8>>,
    cache: &FeatureCache,
    stopped: &dyn Fn() -> bool,
) {
    for batch in rx.iter() {
        if stopped() {
            break;
        }
        let result = extractor
            .run(&batch.pixels, batch.clips.len())
            .map_err(PipelineError::from)
            .and_then(|outs| {
                let items: Vec<(u64, ClipOutput)> =
                    batch.clips.iter().map(|c| c.index).zip(outs).collect();
                let file = cache
                    .write_batch(&items)
                    .map_err(cache_error(cache))?
                    .ok_or_else(|| PipelineError::Internal("an empty batch".into()))?;
                let tops = items.into_iter().map(|(c, o)| (c, o.top)).collect();
                Ok((file, tops))
            });
        // Hand the pixel buffer back for reuse. A full channel only means the decoder already
        // has spares (or has finished): this buffer is then simply freed.
        let _ = back.try_send(batch.pixels);
        let msg = match result {
            Ok((file, tops)) => WorkerMsg::Done(file, tops),
            Err(e) => WorkerMsg::Failed(e),
        };
        let failed = matches!(msg, WorkerMsg::Failed(_));
        if tx.send(msg).is_err() || failed {
            break;
        }
    }
}
