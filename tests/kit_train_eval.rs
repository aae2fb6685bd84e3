#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The ML staff's loop end to end on real video, small enough for CI: `vigil kit` renders a tiny
//! benchmark, `vigil features` runs the real I3D over it, `vigil train` trains the paper's head
//! and writes a pack, `vigil score --model PACK` scores the test videos in ONNX Runtime with
//! exactly the training library's numbers, and `vigil eval` judges them at frame level.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use vigil::mil::head::{MilHead, score_rows};
use vigil::mil::onnx::head_from_onnx;

fn json_file(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn kit_features_train_score_eval() {
    let dir = tempdir();
    let cache = dir.path().join("cache");
    let kit = dir.path().join("kit");
    let o = run(vigil(&cache)
        .args([
            "kit",
            "--seed",
            "3",
            "--train-normal",
            "2",
            "--train-anomalous",
            "2",
            "--test-normal",
            "1",
            "--test-anomalous",
            "1",
            "--train-close",
            "0",
            "--test-close",
            "0",
            "--test-short",
            "0",
            "--min-s",
            "3",
            "--max-s",
            "4",
            "--width",
            "160",
            "--height",
            "120",
            "-o",
        ])
        .arg(&kit));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["train.txt", "test.txt", "annotations.txt", "kit.json"] {
        assert!(kit.join(f).is_file(), "{f}");
    }

    // Features of both splits with the default pack's real I3D.
    for split in ["train", "test"] {
        let o = run(vigil(&cache)
            .args(["features", "--device", "cpu", "--labels"])
            .arg(kit.join(format!("{split}.txt")))
            .arg("-o")
            .arg(dir.path().join(split)));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let index = json_file(&dir.path().join("train/features.json"));
    let videos = index["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 4);
    assert_eq!(index["dim"], 1024);
    for v in videos {
        let bag =
            std::fs::read_to_string(dir.path().join("train").join(v["bag"].as_str().unwrap()))
                .unwrap();
        assert_eq!(bag.lines().count(), 32, "32 segments per bag");
        assert_eq!(bag.lines().next().unwrap().split_whitespace().count(), 1024);
        assert_eq!(v["segment_frames"].as_array().unwrap().len(), 33);
    }
    let tracked = videos.iter().find(|v| v["label"] == "anomalous").unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();

    // Train: a pack comes out, with the recipe and the data's hashes.
    let pack = dir.path().join("pack");
    let o = run(vigil(&cache)
        .env("VIGIL_PROGRESS_AFTER_S", "0")
        .args([
            "train",
            "--iterations",
            "40",
            "--batch-anomalous",
            "2",
            "--batch-normal",
            "2",
        ])
        .args([
            "--seed",
            "4",
            "--eval-every",
            "20",
            "--track",
            &tracked,
            "--features",
        ])
        .arg(dir.path().join("train"))
        .arg("--val-features")
        .arg(dir.path().join("test"))
        .arg("--val-annotations")
        .arg(kit.join("annotations.txt"))
        .arg("--out")
        .arg(&pack));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // stderr is not a terminal here: progress comes as plain lines, one per 5 % (2 of the 40
    // iterations), with elapsed time, and a closing line.
    let err = String::from_utf8_lossy(&o.stderr);
    let steps: Vec<&str> = err.lines().filter(|l| l.starts_with("train: ")).collect();
    assert!(
        steps
            .iter()
            .any(|l| l.starts_with("train:   5 % (2/40 iterations) · loss ")),
        "{err}"
    );
    assert!(
        steps
            .iter()
            .any(|l| l.starts_with("train: 100 % (40/40 iterations)"))
    );
    assert_eq!(
        steps.len(),
        21,
        "20 steps of 5 % and the closing line: {err}"
    );
    assert!(steps[..20].iter().all(|l| l.contains("elapsed")), "{err}");
    assert!(steps[20].starts_with("train: finished 40 iterations in "));
    let manifest = json_file(&pack.join("manifest.json"));
    assert_eq!(manifest["scorer"]["kind"], "mil_head");
    // The training-free scorers of the features' pack come along (novelty, and fused with
    // its normal bank when that pack has one).
    let others: Vec<&str> = manifest["other_scorers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(others.contains(&"novelty"), "{others:?}");
    if others.contains(&"fused") {
        let bank = manifest["normal_bank"]["file"].as_str().unwrap();
        assert!(pack.join(bank).is_file());
    }
    let record = json_file(&pack.join("training.json"));
    assert_eq!(record["seed"], 4);
    assert_eq!(record["recipe"]["loss"]["smoothness"], 8e-5);
    assert_eq!(record["data"]["bags"].as_array().unwrap().len(), 4);
    assert_eq!(record["loss_curve"].as_array().unwrap().len(), 40);
    assert_eq!(record["validation"].as_array().unwrap().len(), 2);
    assert_eq!(
        &std::fs::read(pack.join("figure8.png")).unwrap()[..8],
        b"\x89PNG\r\n\x1a\n"
    );

    // Score the test videos with the pack: ONNX Runtime on every clip.
    let test_list = std::fs::read_to_string(kit.join("test.txt")).unwrap();
    let test_videos: Vec<_> = test_list
        .lines()
        .map(|l| kit.join(l.split_whitespace().next().unwrap()))
        .collect();
    let scores = dir.path().join("scores.jsonl");
    let o = run(vigil(&cache)
        .args(["score", "--device", "cpu", "--json", "--model"])
        .arg(&pack)
        .arg("-o")
        .arg(&scores)
        .args(&test_videos));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let docs = json_docs(&o);
    assert_eq!(docs.len(), 2);

    // Per-clip scores equal burn's forward pass on the same (L2-normalised) clip features.
    let weights = head_from_onnx(&std::fs::read(pack.join("mil_head.onnx")).unwrap()).unwrap();
    let head = MilHead::from_weights(&weights, &burn::tensor::Device::flex());
    let mut compared = 0;
    for doc in &docs {
        assert_eq!(doc["scorer"]["kind"], "mil_head");
        let name = Path::new(doc["video"]["path"].as_str().unwrap())
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let clips = vigil::mil::bags::read_npy_clips(
            &dir.path().join("test/clips").join(format!("{name}.npy")),
        )
        .unwrap();
        let mut x: Vec<f32> = clips.iter().copied().collect();
        vigil::model::l2_normalise_rows(&mut x, 1024);
        let want = score_rows(&head, &x, 1024);
        let got: Vec<f32> = doc["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["score"].as_f64().unwrap() as f32)
            .collect();
        assert_eq!(got.len(), want.len(), "{name}: one score per clip");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-5,
                "{name}: ONNX Runtime {g} vs burn {w}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 10, "{compared} clips compared");

    // Frame-level evaluation of those reports against the kit's ground truth.
    let o = run(vigil(&cache)
        .args(["eval", "--json", "--scores"])
        .arg(&scores)
        .arg("--annotations")
        .arg(kit.join("annotations.txt")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["n_videos"], 2);
    let auc = r["auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auc));
    assert!(r["far"].as_f64().is_some());

    // `vigil pack` re-assembles it with the novelty scorer as the default and says why.
    let repacked = dir.path().join("repacked");
    let o = run(vigil(&cache)
        .args([
            "pack",
            "--default",
            "novelty",
            "--reason",
            "by the numbers",
            "--base",
        ])
        .arg(pack_dir())
        .arg("--head")
        .arg(&pack)
        .arg("--out")
        .arg(&repacked));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = json_file(&repacked.join("manifest.json"));
    assert_eq!(m["scorer"]["kind"], "novelty");
    assert_eq!(m["other_scorers"][0]["kind"], "mil_head");
    assert_eq!(m["scorer_choice"], "by the numbers");
    assert_eq!(
        m["other_scorers"][0]["sha256"], manifest["scorer"]["sha256"],
        "the same head"
    );

    // The novelty scorer is still in the pack and can be asked for.
    let o = run(vigil(&cache)
        .args([
            "score", "--device", "cpu", "--json", "--scorer", "novelty", "--model",
        ])
        .arg(&pack)
        .arg(&test_videos[0]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json_docs(&o)[0]["scorer"]["kind"], "novelty");
    let o = run(vigil(&cache)
        .args(["score", "--scorer", "nonsense", "--model"])
        .arg(&pack)
        .arg(&test_videos[0]));
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no 'nonsense' scorer"));
}

#[test]
fn c3d_features_from_the_paper_train_and_evaluate() {
    // The original 32-segment C3D text files (10 UCF-Crime test videos) train a 4096-d head
    // and are scored by it through `vigil eval --features --head`.
    let dir = tempdir();
    let cache = dir.path().join("cache");
    let feats = shared().join("ucf-crime/c3d-features");
    let ann = shared().join("ucf-crime/Test_Annotation_with_frame_counts.txt");
    let head = dir.path().join("head");
    let o = run(vigil(&cache)
        .args([
            "train",
            "--iterations",
            "30",
            "--checkpoint-every",
            "10",
            "--features",
        ])
        .arg(&feats)
        .arg("--out")
        .arg(&head));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(head.join("mil_head.onnx").is_file());
    // Checkpoints along the way (the last iteration is the head itself), each a loadable head.
    let mut checkpoints: Vec<_> = std::fs::read_dir(head.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    checkpoints.sort();
    assert_eq!(checkpoints, ["iter-000010.onnx", "iter-000020.onnx"]);
    let w =
        head_from_onnx(&std::fs::read(head.join("checkpoints/iter-000020.onnx")).unwrap()).unwrap();
    assert_eq!(w.dim, 4096);
    assert!(
        !head.join("manifest.json").exists(),
        "no extractor, so no pack"
    );
    let o = run(vigil(&cache)
        .args(["eval", "--json", "--features"])
        .arg(&feats)
        .arg("--head")
        .arg(&head)
        .arg("--annotations")
        .arg(&ann));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["n_videos"], 10);
    // Frames of the ten videos as the annotation file counts them.
    assert_eq!(r["n_frames"], 12459);
    assert!(r["auc"].as_f64().unwrap() > 0.5);

    // A head for other features is refused, in one line.
    let o = run(vigil(&cache)
        .args(["eval", "--features"])
        .arg(&feats)
        .arg("--head")
        .arg(pack_dir())
        .arg("--annotations")
        .arg(&ann));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
