//! A file's clip features, found in the cache or computed into it, and left there: the
//! feature cache of one video, the extractor sessions, and the full pass's decode plan.

use super::PipelineError;
use super::cache::CompleteRecord;
use super::cache::{ClipIndex, FeatureCache, cache_error};
use super::options::{Progress, ScoreOptions};
use super::provisional::ProvisionalRule;
use super::record::completion_record;
use super::threads::{DecodePlan, ThreadJob, run_threads};
use crate::base::sha256_file;
use crate::model::{ExecutionProvider, Extractor, Pack, TOP_K};
use crate::video::VideoInfo;
use crate::video::{VideoError, open_video_with};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Every clip's features of one video, from the cache or computed (and then cached).
#[derive(Debug, Clone)]
pub struct ClipFeatures {
    /// How they were got: the file, what decoding found, what ran, what the cache gave.
    pub run: FeatureRun,
    /// Feature size.
    pub dim: usize,
    /// `run.record.spans.len() × dim` features, clip order, as the network outputs them.
    pub features: Vec<f32>,
    /// Top classes per clip.
    pub tops: Vec<Vec<(u32, f32)>>,
}

/// How one file's clip features were got: the file, what decoding found, what ran the network
/// and what the cache gave. The pass that reads the features makes it once; it travels whole
/// to the report, so that no step unpacks and repacks its fields.
#[derive(Debug, Clone)]
pub struct FeatureRun {
    /// The file's streams and metadata.
    pub info: VideoInfo,
    /// SHA-256 of the file.
    pub sha256: String,
    /// What decoding found: clip spans, frames, duration, warnings.
    pub record: CompleteRecord,
    /// What ran the network (`cache` when nothing had to).
    pub device: String,
    /// Why the device differs from the one asked for.
    pub device_note: Option<String>,
    /// ONNX Runtime version, when it ran.
    pub runtime_version: Option<String>,
    /// Clips read from the cache.
    pub clips_from_cache: u64,
    /// Clips computed now.
    pub clips_computed: u64,
    /// Seconds spent computing them.
    pub infer_s: f64,
    /// The cache folder used.
    pub cache_dir: Option<String>,
    /// Cache files found bad and recomputed in this run (for the report's warnings; never
    /// stored in the cache record).
    pub cache_warnings: Vec<String>,
}

/// [`ClipFeatures`] with the features left in the cache: what the scorers read them from, a
/// block at a time.
pub(super) struct ClipRows {
    /// How the features were got.
    pub(super) run: FeatureRun,
    pub(super) dim: usize,
    /// Every clip of `run.record.spans`, in the cache (real or temporary).
    pub(super) index: ClipIndex,
    /// The cache folder (for errors).
    pub(super) dir: PathBuf,
    /// The temporary cache of a `--no-cache` run, removed on drop.
    pub(super) _temporary: Option<tempfile::TempDir>,
}

impl ClipRows {
    /// The clips, in order.
    pub(super) fn order(&self) -> Vec<u64> {
        self.run.record.spans.iter().map(|s| s.index).collect()
    }

    /// Top classes of `clips`.
    pub(super) fn tops(&self, clips: &[u64]) -> Vec<Vec<(u32, f32)>> {
        clips
            .iter()
            .map(|&c| self.index.top(c).map(<[_]>::to_vec).unwrap_or_default())
            .collect()
    }

    pub(super) fn cache_error(&self, source: std::io::Error) -> PipelineError {
        PipelineError::Cache {
            path: self.dir.clone(),
            source,
        }
    }
}

/// The original's SHA-256 (read-only, streamed), said before and after: the app lets the
/// analyst mark the footage from the moment it is known. Both passes start here.
pub(super) fn hash_original(
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<String, PipelineError> {
    progress(Progress::Hashing);
    let sha256 = sha256_file(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    progress(Progress::Hashed {
        sha256: sha256.clone(),
    });
    Ok(sha256)
}

/// [`extract_clip_features`], leaving the features in the cache, with provisional novelty
/// scores under `provisional`.
pub(super) fn clip_rows(
    path: &Path,
    pack: &Pack,
    opts: &ScoreOptions,
    provisional: Option<&crate::model::NoveltyParams>,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(Progress),
) -> Result<ClipRows, PipelineError> {
    let (input, info) = open_video_with(path, &opts.open)?;
    let sha256 = hash_original(path, progress)?;
    let contract = &pack.manifest.extractor.input;
    let dim = pack.manifest.extractor.features.dim;
    let clip_s = f64::from(contract.frames) / contract.frame_rate;

    let (cache, temporary) = open_cache(opts, &pack.feature_key(), &sha256, dim)?;
    let cache_dir = temporary
        .is_none()
        .then(|| cache.dir().display().to_string());
    let mut outputs = cache.index().map_err(cache_error(&cache))?;
    let complete = cache
        .load_complete()
        .filter(|r| r.spans.iter().all(|s| outputs.contains(s.index)));

    let clips_from_cache;
    let mut clips_computed = 0u64;
    let mut infer_s = 0.0;
    let (record, device, device_note, runtime_version) = match complete {
        Some(record) => {
            clips_from_cache = record.spans.len() as u64;
            (record, "cache".to_string(), None, None)
        }
        None if opts.cache_only => return Err(PipelineError::NotCached),
        None => {
            let runtime = crate::model::init_runtime()?;
            let (extractors, batch_size) = open_sessions(pack, opts, false)?;
            let provider = extractors[0].execution_provider();
            let note = extractors[0].device_note().map(str::to_string);
            let estimate = info
                .duration_s
                .map_or(0, |d| (d / clip_s).ceil().max(0.0) as u64);
            progress(Progress::Started {
                stage: "full pass",
                clips_estimate: estimate,
                clips_cached: outputs.len() as u64,
                provider,
                note: note.clone(),
            });
            let cached: HashSet<u64> = outputs.clips().collect();
            let t_infer = Instant::now();
            let wanted = |clip: u64| !cached.contains(&clip);
            let plan = DecodePlan {
                wanted: &wanted,
                cached: &cached,
                gate: None,
                runs: None,
                provisional: provisional.map(|params| ProvisionalRule {
                    params,
                    stage: "full pass",
                    footage_s: info.duration_s.unwrap_or(0.0),
                }),
            };
            let job = ThreadJob {
                info: &info,
                contract,
                plan: &plan,
                cache: &cache,
                batch_size,
                cancelled,
                estimate,
                clip_s,
            };
            let summary = run_threads(
                input,
                extractors,
                &job,
                &mut outputs,
                &mut clips_computed,
                progress,
            )?;
            infer_s = t_infer.elapsed().as_secs_f64();
            let record = completion_record(&info, summary);
            clips_from_cache =
                record.spans.len() as u64 - clips_computed.min(record.spans.len() as u64);
            cache.write_complete(&record).map_err(cache_error(&cache))?;
            (
                record,
                provider.name().to_string(),
                note,
                Some(runtime.version),
            )
        }
    };
    if let Some(s) = record.spans.iter().find(|s| !outputs.contains(s.index)) {
        return Err(PipelineError::Internal(format!(
            "clip {} has no features",
            s.index
        )));
    }
    Ok(ClipRows {
        run: FeatureRun {
            info,
            sha256,
            record,
            device,
            device_note,
            runtime_version,
            clips_from_cache,
            clips_computed,
            infer_s,
            cache_dir,
            cache_warnings: cache.take_rejected(),
        },
        dim,
        index: outputs,
        dir: cache.dir().to_path_buf(),
        _temporary: temporary,
    })
}

/// The cache folder's name for a file: its hash, and the open choices that change its clips.
fn cache_name(sha256: &str, open: &crate::video::OpenOptions) -> String {
    let mut name = sha256.to_string();
    if let Some(n) = open.stream {
        name.push_str(&format!("-stream{n}"));
    }
    if let Some(f) = open.fps {
        name.push_str(&format!("-fps{f}"));
    }
    name
}

/// The feature cache of one video under one feature key: the user's (`opts.cache_root`), or a
/// temporary one that goes when the returned guard drops (a `--no-cache` run). With
/// `opts.cache_only` the user's is not created if missing.
pub(super) fn open_cache(
    opts: &ScoreOptions,
    feature_key: &str,
    sha256: &str,
    dim: usize,
) -> Result<(FeatureCache, Option<tempfile::TempDir>), PipelineError> {
    // Another stream of the same file is other footage, and another frame rate other clips:
    // their features live apart.
    let named = cache_name(sha256, &opts.open);
    let sha256 = named.as_str();
    match &opts.cache_root {
        Some(root) if opts.cache_only => Ok((
            FeatureCache::at(root, feature_key, sha256, dim, TOP_K),
            None,
        )),
        Some(root) => FeatureCache::open(root, feature_key, sha256, dim, TOP_K)
            .map(|c| (c, None))
            .map_err(|source| PipelineError::Cache {
                path: root.clone(),
                source,
            }),
        None => super::cache::temporary(feature_key, dim, TOP_K)
            .map(|(c, guard)| (c, Some(guard)))
            .map_err(|source| PipelineError::Cache {
                path: std::env::temp_dir(),
                source,
            }),
    }
}

/// One extractor session per worker (the pack's coarse network, or its full one) and the batch
/// size for the provider they run on. Sessions are made before any decoding, so that model
/// errors surface at once.
pub(super) fn open_sessions(
    pack: &Pack,
    opts: &ScoreOptions,
    coarse: bool,
) -> Result<(Vec<Extractor>, usize), PipelineError> {
    let workers = opts.workers.max(1);
    // Several CPU sessions each taking every core would only fight over them.
    let intra = opts.intra_threads.or_else(|| {
        (workers > 1)
            .then(|| std::thread::available_parallelism().map_or(1, |n| (n.get() / workers).max(1)))
    });
    let mut extractors = Vec::with_capacity(workers);
    for _ in 0..workers {
        extractors.push(if coarse {
            Extractor::coarse(pack, opts.device, intra)?
        } else {
            Extractor::new(pack, opts.device, intra)?
        });
    }
    let batch = opts
        .batch_size
        .unwrap_or(match extractors[0].execution_provider() {
            ExecutionProvider::Cpu => 4,
            ExecutionProvider::Cuda => 16,
        });
    Ok((extractors, batch.max(1)))
}
