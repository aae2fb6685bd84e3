#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The MIL head end to end without video: training on synthetic bags learns *where* the anomaly
//! is from video labels alone, deterministically; the ONNX export runs in ONNX Runtime with the
//! training library's numbers.

use vigil::mil::bags::{Bag, SEGMENTS};
use vigil::mil::featureset::{FeatureEntry, FeatureIndex, FeatureSet, LoadedBag};
use vigil::mil::head::{MilHead, score_rows};
use vigil::mil::labels::VideoLabel;
use vigil::mil::onnx::{head_from_onnx, head_to_onnx};
use vigil::mil::train::{TrainConfig, Validation, train, validate};

/// A deterministic pseudo-random stream (SplitMix64), enough for test data.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// Normal bags: noise around a shared "scene" vector. Anomalous bags: the same, with an event
/// direction added in segments `start..start+len`. Rows L2-normalised like real bags. Returns
/// the set and, per bag, which segments hold the event.
fn synthetic(
    n_normal: usize,
    n_anom: usize,
    dim: usize,
    seed: u64,
) -> (FeatureSet, Vec<Vec<bool>>) {
    let mut r = Mix(seed);
    let scene: Vec<f32> = (0..dim).map(|_| r.next()).collect();
    let event: Vec<f32> = (0..dim)
        .map(|i| if i % 7 == 0 { 1.0 } else { 0.0 })
        .collect();
    let mut bags = Vec::new();
    let mut truth = Vec::new();
    for k in 0..n_normal + n_anom {
        let anomalous = k >= n_normal;
        let start = (r.next() + 0.5) * 24.0;
        let (start, len) = (start as usize, 3 + ((r.next() + 0.5) * 5.0) as usize);
        let mut rows = Vec::with_capacity(SEGMENTS * dim);
        let mut t = Vec::new();
        for s in 0..SEGMENTS {
            let hot = anomalous && s >= start && s < start + len;
            t.push(hot);
            let row: Vec<f32> = (0..dim)
                .map(|i| scene[i] + 0.6 * r.next() + if hot { 0.9 * event[i] } else { 0.0 })
                .collect();
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            rows.extend(row.iter().map(|v| v / norm));
        }
        let name = format!("{}_{k:03}", if anomalous { "event" } else { "normal" });
        bags.push(LoadedBag {
            entry: FeatureEntry {
                name: name.clone(),
                source: None,
                video_sha256: None,
                label: if anomalous {
                    VideoLabel::Anomalous
                } else {
                    VideoLabel::Normal
                },
                class: "Test".into(),
                bag: format!("{name}.txt"),
                bag_sha256: String::new(),
                clips_file: None,
                clips: SEGMENTS,
                frames: Some(SEGMENTS as u64 * 16),
                segment_frames: Some((0..=SEGMENTS as u64).map(|s| s * 16).collect()),
            },
            bag: Bag { dim, rows },
        });
        truth.push(t);
    }
    let set = FeatureSet {
        dir: "synthetic".into(),
        index: FeatureIndex {
            version: 1,
            extractor: None,
            dim,
            videos: bags.iter().map(|b| b.entry.clone()).collect(),
            vigil_version: "test".into(),
        },
        bags,
    };
    (set, truth)
}

fn annotations(set: &FeatureSet, truth: &[Vec<bool>]) -> Vec<vigil::eval::Annotation> {
    set.bags
        .iter()
        .zip(truth)
        .map(|(b, t)| {
            let first = t.iter().position(|&x| x);
            let last = t.iter().rposition(|&x| x);
            vigil::eval::Annotation {
                name: format!("{}.mp4", b.entry.name),
                class: if first.is_some() {
                    "Event".into()
                } else {
                    "Normal".into()
                },
                intervals: match (first, last) {
                    (Some(a), Some(z)) => vec![(a as u64 * 16, z as u64 * 16 + 15)],
                    _ => Vec::new(),
                },
                frames: b.entry.frames,
            }
        })
        .collect()
}

fn cfg(seed: u64) -> TrainConfig {
    TrainConfig {
        iterations: 150,
        batch_anomalous: 10,
        batch_normal: 10,
        seed,
        checkpoint_every: 0,
        eval_every: 0,
        ..TrainConfig::default()
    }
}

#[test]
fn training_localises_the_event_from_video_labels_and_is_deterministic() {
    let dim = 64;
    let (train_set, _) = synthetic(20, 20, dim, 11);
    let (test_set, test_truth) = synthetic(10, 10, dim, 12);
    let val = Validation {
        annotations: annotations(&test_set, &test_truth),
        set: test_set.clone(),
    };
    let mut checkpoints = Vec::new();
    let run = |seed: u64, checkpoints: &mut Vec<usize>| {
        train(
            &train_set,
            &TrainConfig {
                checkpoint_every: 50,
                ..cfg(seed)
            },
            Some(&val),
            &|| false,
            &mut |it, _| {
                checkpoints.push(it);
                Ok(())
            },
            &mut |_| {},
        )
        .unwrap()
    };
    let a = run(5, &mut checkpoints);
    let b = run(5, &mut Vec::new());
    let c = run(6, &mut Vec::new());
    assert_eq!(a.head.weights(), b.head.weights(), "same seed, same head");
    assert_ne!(
        a.head.weights(),
        c.head.weights(),
        "another seed, another head"
    );
    assert_eq!(checkpoints, vec![50, 100]);
    assert_eq!(a.losses.len(), 150);
    let first: f64 = a.losses[..10].iter().map(|l| l.1).sum::<f64>() / 10.0;
    let last: f64 = a.losses[140..].iter().map(|l| l.1).sum::<f64>() / 10.0;
    assert!(last < first * 0.6, "loss {first:.3} → {last:.3}");

    // Frame-level: the event segments of unseen anomalous videos outrank everything else.
    let r = validate(&a.head, &val).unwrap();
    let auc = r.auc.unwrap();
    assert!(auc > 0.9, "held-out frame AUC {auc}");
    assert_eq!(a.validation.last().and_then(|v| v.auc), Some(auc));
}

#[test]
fn onnx_head_runs_in_onnx_runtime_with_the_training_librarys_numbers() {
    let dim = 1024;
    let (set, _) = synthetic(6, 6, dim, 3);
    let out = train(
        &set,
        &TrainConfig {
            iterations: 20,
            ..cfg(2)
        },
        None,
        &|| false,
        &mut |_, _| Ok(()),
        &mut |_| {},
    )
    .unwrap();
    let weights = out.head.weights();
    let bytes = head_to_onnx(&weights).unwrap();
    assert_eq!(
        head_from_onnx(&bytes).unwrap(),
        weights,
        "weights survive the round trip"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.onnx");
    std::fs::write(&path, &bytes).unwrap();
    let mut session = vigil::model::HeadSession::new(&path, dim).unwrap();
    let rows: Vec<f32> = set
        .bags
        .iter()
        .flat_map(|b| b.bag.rows.iter().copied())
        .collect();
    let ort = session.run(&rows).unwrap();
    let burn = score_rows(&out.head, &rows, dim);
    assert_eq!(ort.len(), 12 * 32);
    let max = ort
        .iter()
        .zip(&burn)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    eprintln!(
        "ONNX Runtime vs burn over {} rows: max |Δ| = {max:e}",
        ort.len()
    );
    assert!(max <= 1e-5, "max |Δ| {max}");
    // And the scores are not all alike (a constant head would pass trivially).
    let spread =
        burn.iter().fold(0f32, |m, &v| m.max(v)) - burn.iter().fold(1f32, |m, &v| m.min(v));
    assert!(spread > 0.05, "spread {spread}");

    // A head for the wrong feature size is refused with a clear error.
    let e = vigil::model::HeadSession::new(&path, 4096)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("[N, 4096]"), "{e}");
    let _ = MilHead::from_weights(&weights, &burn::tensor::Device::flex());
}

/// What a 256×256 matrix product of f32::MIN_POSITIVE and 0.25 gives in burn, on whatever
/// threads its backend uses: every product is subnormal, so flushed it is exactly 0 and
/// otherwise 256 × 2.9e-39 = 7.5e-37.
fn burn_sum_of_subnormal_products() -> f32 {
    use burn::tensor::{Device, Tensor};
    let device = Device::flex();
    let a = Tensor::<2>::full([256, 256], f32::MIN_POSITIVE, &device);
    let b = Tensor::<2>::full([256, 256], 0.25, &device);
    let c = a.matmul(b).into_data().try_to_vec::<f32>().unwrap();
    c.into_iter().fold(0.0f32, f32::max)
}

#[test]
fn training_runs_with_subnormals_flushed_on_the_thread_that_computes() {
    use vigil::base::float::FloatMode;
    // Outside training: the default IEEE mode (the test would prove nothing otherwise).
    assert!(!FloatMode::current().flushes_results);
    assert!(burn_sum_of_subnormal_products() > 0.0);

    let (set, _) = synthetic(6, 6, 32, 4);
    let mut seen = Vec::new();
    let mut at_checkpoints = Vec::new();
    train(
        &set,
        &TrainConfig {
            iterations: 6,
            checkpoint_every: 3,
            ..cfg(3)
        },
        None,
        &|| false,
        &mut |_, _| {
            at_checkpoints.push(FloatMode::current());
            Ok(())
        },
        &mut |p| {
            if let vigil::mil::train::TrainProgress::Step { iteration, .. } = p {
                seen.push((
                    iteration,
                    FloatMode::current(),
                    burn_sum_of_subnormal_products(),
                ));
            }
        },
    )
    .unwrap();
    assert_eq!(seen.len(), 6);
    for (it, mode, product) in &seen {
        assert!(mode.is_flushing(), "iteration {it}: {mode:?}");
        assert_eq!(*product, 0.0, "iteration {it}: burn kept subnormals");
    }
    assert_eq!(at_checkpoints.len(), 1);
    assert!(at_checkpoints[0].is_flushing());
    // And the mode is given back afterwards.
    assert!(!FloatMode::current().flushes_results);
    assert!(burn_sum_of_subnormal_products() > 0.0);
}
