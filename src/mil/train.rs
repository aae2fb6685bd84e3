//! Training the head: seeded, deterministic Adagrad on mini-batches of anomalous and normal bags,
//! with periodic checkpoints, validation AUC, and the scores of one training video over the
//! iterations (the paper's Figure 8).
//!
//! Each iteration draws `batch_anomalous` anomalous and `batch_normal` normal bags without
//! replacement (a fresh shuffle each time, as the original `load_dataset_Train_batch`; when a
//! set has fewer bags than that, all of them), scores their 32 segments, and takes one Adagrad
//! step on the loss of `mil::loss`. One ChaCha8 stream (portable, seeded) draws the initial
//! weights, the batches and the dropout masks, and burn's CPU backend runs single-threaded, so the
//! same seed and data give the same head, bit for bit.

use super::MilError;
use super::bags::SEGMENTS;
use super::featureset::{FeatureSet, LoadedBag, c3d_segment_frame_edges};
use super::head::{DropoutMasks, MilHead, score_rows};
use super::labels::VideoLabel;
use super::loss::{LossWeights, binary_loss, mil_ranking_loss};
use crate::base::float::flush_denormals;
use crate::eval::{Annotation, EvalResult, ScoredVideo, evaluate, frames_from_segments};
use burn::optim::{AdaGradConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What the network is trained to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// The paper's MIL ranking loss.
    Mil,
    /// The baseline: every segment labelled with its video's label, cross-entropy.
    Binary,
}

/// The recipe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Loss.
    pub objective: Objective,
    /// Adagrad steps.
    pub iterations: usize,
    /// Anomalous bags per batch (paper: 30).
    pub batch_anomalous: usize,
    /// Normal bags per batch (paper: 30).
    pub batch_normal: usize,
    /// Adagrad learning rate (the original code: 0.01; the paper's text: 0.001).
    pub learning_rate: f64,
    /// Adagrad epsilon (the original code: 1e-8).
    pub epsilon: f64,
    /// Loss weights.
    pub loss: LossWeights,
    /// Dropout probability (paper: 0.6).
    pub dropout: f64,
    /// Seed for weights, dropout and sampling.
    pub seed: u64,
    /// Write a checkpoint every this many iterations (0: none).
    pub checkpoint_every: usize,
    /// Validate every this many iterations (0: only at the end).
    pub eval_every: usize,
    /// Record the segment scores of this training video (Figure 8).
    pub track: Option<String>,
    /// Record them every this many iterations.
    pub track_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            objective: Objective::Mil,
            iterations: 3000,
            batch_anomalous: 30,
            batch_normal: 30,
            learning_rate: 0.01,
            epsilon: 1e-8,
            loss: LossWeights::default(),
            dropout: super::head::DROPOUT,
            seed: 1,
            checkpoint_every: 1000,
            eval_every: 500,
            track: None,
            track_every: 100,
        }
    }
}

/// A validation set: bags plus frame-level ground truth.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The bags.
    pub set: FeatureSet,
    /// Annotations matched by name.
    pub annotations: Vec<Annotation>,
}

/// What the loop reports as it goes.
#[derive(Debug, Clone)]
pub enum TrainProgress {
    /// An iteration finished.
    Step {
        /// 1-based.
        iteration: usize,
        /// Its loss.
        loss: f64,
    },
    /// A validation ran.
    Validated {
        /// After this many iterations.
        iteration: usize,
        /// Frame-level AUC.
        auc: Option<f64>,
    },
}

/// One validation result.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationPoint {
    /// After this many iterations.
    pub iteration: usize,
    /// Frame-level ROC AUC.
    pub auc: Option<f64>,
    /// False-alarm rate at 0.5 on normal videos.
    pub far: Option<f64>,
}

/// The trained head and its history.
pub struct TrainOutcome {
    /// The head (training mode; use `score_rows` to evaluate).
    pub head: MilHead,
    /// (iteration, loss) of every iteration.
    pub losses: Vec<(usize, f64)>,
    /// Validation history.
    pub validation: Vec<ValidationPoint>,
    /// (iteration, 32 segment scores) of the tracked video.
    pub track: Vec<(usize, Vec<f32>)>,
}

/// Trains on `set`. `checkpoint(iteration, head)` is called every `checkpoint_every`
/// iterations; `cancelled()` is polled each iteration. The whole loop, callbacks included, runs
/// on the calling thread with subnormal floats flushed to zero (`base::float`): without that,
/// Intel CPUs slowed down more with every iteration (the first 200 iterations of the kit's
/// training took 10.6× longer in `make bench`; issue 9).
pub fn train(
    set: &FeatureSet,
    cfg: &TrainConfig,
    val: Option<&Validation>,
    cancelled: &dyn Fn() -> bool,
    checkpoint: &mut dyn FnMut(usize, &MilHead) -> Result<(), MilError>,
    progress: &mut dyn FnMut(TrainProgress),
) -> Result<TrainOutcome, MilError> {
    flush_denormals(|| train_in_current_mode(set, cfg, val, cancelled, checkpoint, progress))
}

/// The training loop in whatever float mode the thread is in. For benchmarks only: it measures
/// what `train`'s flushing buys. Heads it makes are not bit-identical to `train`'s.
#[doc(hidden)]
pub fn train_in_current_mode(
    set: &FeatureSet,
    cfg: &TrainConfig,
    val: Option<&Validation>,
    cancelled: &dyn Fn() -> bool,
    checkpoint: &mut dyn FnMut(usize, &MilHead) -> Result<(), MilError>,
    progress: &mut dyn FnMut(TrainProgress),
) -> Result<TrainOutcome, MilError> {
    let dim = set.dim();
    let anomalous: Vec<&LoadedBag> = set
        .bags
        .iter()
        .filter(|b| b.entry.label == VideoLabel::Anomalous)
        .collect();
    let normal: Vec<&LoadedBag> = set
        .bags
        .iter()
        .filter(|b| b.entry.label == VideoLabel::Normal)
        .collect();
    if anomalous.is_empty() || normal.is_empty() {
        return Err(MilError::Training(format!(
            "{} anomalous and {} normal videos: both kinds are needed",
            anomalous.len(),
            normal.len()
        )));
    }
    if cfg.iterations == 0 || cfg.batch_anomalous == 0 || cfg.batch_normal == 0 {
        return Err(MilError::Training(
            "iterations and batch sizes must be positive".into(),
        ));
    }
    if !(0.0..1.0).contains(&cfg.dropout) || cfg.learning_rate.is_nan() || cfg.learning_rate <= 0.0
    {
        return Err(MilError::Training(
            "dropout must lie in [0, 1) and the learning rate be positive".into(),
        ));
    }
    let tracked =
        match &cfg.track {
            Some(name) => Some(set.bags.iter().find(|b| &b.entry.name == name).ok_or_else(
                || MilError::Training(format!("no training video named '{name}' to track")),
            )?),
            None => None,
        };

    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut head = MilHead::new(dim, &mut rng, &device);
    let mut optim = AdaGradConfig::new().with_epsilon(cfg.epsilon as f32).init();
    let mut order_a: Vec<usize> = (0..anomalous.len()).collect();
    let mut order_n: Vec<usize> = (0..normal.len()).collect();
    let (na, nn) = (
        cfg.batch_anomalous.min(anomalous.len()),
        cfg.batch_normal.min(normal.len()),
    );

    let mut losses = Vec::with_capacity(cfg.iterations);
    let mut validation = Vec::new();
    let mut track = Vec::new();
    if let Some(b) = tracked {
        track.push((0, score_rows(&head, &b.bag.rows, dim)));
    }
    let mut batch = Vec::with_capacity((na + nn) * SEGMENTS * dim);
    for it in 1..=cfg.iterations {
        if cancelled() {
            return Err(MilError::Cancelled);
        }
        order_a.shuffle(&mut rng);
        order_n.shuffle(&mut rng);
        batch.clear();
        for &i in &order_a[..na] {
            batch.extend_from_slice(&anomalous[i].bag.rows);
        }
        for &i in &order_n[..nn] {
            batch.extend_from_slice(&normal[i].bag.rows);
        }
        // The rows move into the tensor; the next iteration fills a fresh buffer.
        let rows = std::mem::replace(&mut batch, Vec::with_capacity((na + nn) * SEGMENTS * dim));
        let x = Tensor::<2>::from_data(TensorData::new(rows, [(na + nn) * SEGMENTS, dim]), &device);
        let masks = (cfg.dropout > 0.0)
            .then(|| DropoutMasks::draw((na + nn) * SEGMENTS, cfg.dropout, &mut rng, &device));
        let scores = head
            .forward_masked(x, masks.as_ref())
            .reshape([na + nn, SEGMENTS]);
        let a = scores.clone().narrow(0, 0, na);
        let n = scores.narrow(0, na, nn);
        let data_loss = match cfg.objective {
            Objective::Mil => mil_ranking_loss(a, n, &cfg.loss),
            Objective::Binary => binary_loss(a, n),
        };
        let loss = data_loss + head.weight_sq_sum() * cfg.loss.weight_l2;
        let value = f64::from(loss.clone().into_scalar::<f32>());
        if !value.is_finite() {
            return Err(MilError::Training(format!(
                "the loss became {value} at iteration {it}; lower the learning rate"
            )));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &head);
        head = optim.step(cfg.learning_rate, head, grads);
        losses.push((it, value));
        progress(TrainProgress::Step {
            iteration: it,
            loss: value,
        });
        if let Some(b) = tracked
            && (it % cfg.track_every.max(1) == 0 || it == cfg.iterations)
        {
            track.push((it, score_rows(&head, &b.bag.rows, dim)));
        }
        if let Some(v) = val
            && ((cfg.eval_every > 0 && it % cfg.eval_every == 0) || it == cfg.iterations)
        {
            let r = validate(&head, v)?;
            progress(TrainProgress::Validated {
                iteration: it,
                auc: r.auc,
            });
            validation.push(ValidationPoint {
                iteration: it,
                auc: r.auc,
                far: r.far,
            });
        }
        if cfg.checkpoint_every > 0 && it % cfg.checkpoint_every == 0 && it < cfg.iterations {
            checkpoint(it, &head)?;
        }
    }
    Ok(TrainOutcome {
        head,
        losses,
        validation,
        track,
    })
}

/// Segment scores of every bag of `set` under `head` (subnormals flushed, as in training).
pub fn score_set(head: &MilHead, set: &FeatureSet) -> Vec<Vec<f32>> {
    flush_denormals(|| {
        set.bags
            .iter()
            .map(|b| score_rows(head, &b.bag.rows, set.dim()))
            .collect()
    })
}

/// Puts segment scores on frames and pairs them with annotations (by name). Frame edges come
/// from the index (vigil sets) or, for foreign C3D sets, from the annotation's frame count and
/// 16-frame clips. Videos without an annotation or a frame count are left out.
pub fn scored_videos(
    set: &FeatureSet,
    scores: &[Vec<f32>],
    annotations: &[Annotation],
) -> (Vec<ScoredVideo>, Vec<String>) {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (b, s) in set.bags.iter().zip(scores) {
        let Some(a) = annotations.iter().find(|a| a.stem() == b.entry.name) else {
            missing.push(b.entry.name.clone());
            continue;
        };
        let edges = match (&b.entry.segment_frames, a.frames.or(b.entry.frames)) {
            (Some(e), _) => e.clone(),
            (None, Some(frames)) => c3d_segment_frame_edges(frames),
            (None, None) => {
                missing.push(b.entry.name.clone());
                continue;
            }
        };
        let s64: Vec<f64> = s.iter().map(|&v| f64::from(v)).collect();
        out.push(ScoredVideo {
            annotation: a.clone(),
            scores: frames_from_segments(&s64, &edges),
        });
    }
    (out, missing)
}

/// Frame-level AUC and false alarms of `head` on a validation set.
pub fn validate(head: &MilHead, v: &Validation) -> Result<EvalResult, MilError> {
    let scores = score_set(head, &v.set);
    let (videos, _) = scored_videos(&v.set, &scores, &v.annotations);
    if videos.is_empty() {
        return Err(MilError::Training(
            "no validation video matches an annotation (names must match, frame counts known)"
                .into(),
        ));
    }
    Ok(evaluate(&videos, 0.5))
}
