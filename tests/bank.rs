#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The normal bank and the fused scorer through the real binary: `vigil bank add` on real
//! footage (FFmpeg, ONNX Runtime), the pack's files and hashes, `score_parts` in the JSON, the
//! fused score recomputed from its parts, refusals, and a new camera's normal footage left
//! unflagged.

mod common;

use common::{footage, json_docs, run, sha256, tempdir, vigil};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The first `secs` seconds of a real clip, re-encoded (H.264) into `dir`.
fn snippet(dir: &Path, name: &str, src: &str, secs: &str) -> PathBuf {
    let out = dir.join(name);
    common::ffmpeg(&[
        "-i",
        footage(src).to_str().unwrap(),
        "-t",
        secs,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        out.to_str().unwrap(),
    ]);
    out
}

fn manifest(pack: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(pack.join("manifest.json")).unwrap()).unwrap()
}

fn fused_of(m: &Value) -> Value {
    std::iter::once(&m["scorer"])
        .chain(m["other_scorers"].as_array().into_iter().flatten())
        .find(|s| s["kind"] == "fused")
        .cloned()
        .expect("a fused scorer")
}

#[test]
fn bank_add_builds_a_hashed_bank_and_the_fused_scorer_shows_its_parts() {
    let dir = tempdir();
    let cache = dir.path().join("cache");
    let pack = common::pack_without_bank(dir.path());
    let list = dir.path().join("normal.txt");
    std::fs::write(
        &list,
        format!(
            "{}\n{}\n{} anomalous\n",
            footage("store-aisle-detection.gif").display(),
            footage("worker-zone-detection.gif").display(),
            footage("people-detection.gif").display(),
        ),
    )
    .unwrap();

    // One normal video is not a bank: refused, the pack untouched.
    let single = dir.path().join("single.txt");
    std::fs::write(
        &single,
        format!("{}\n", footage("store-aisle-detection.gif").display()),
    )
    .unwrap();
    let before = std::fs::read(pack.join("manifest.json")).unwrap();
    let out = run(vigil(&cache)
        .args(["bank", "add"])
        .arg(&single)
        .arg("--model")
        .arg(&pack));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("at least two videos"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(std::fs::read(pack.join("manifest.json")).unwrap(), before);

    let out = run(vigil(&cache)
        .args(["bank", "add"])
        .arg(&list)
        .arg("--model")
        .arg(&pack));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 videos"), "{said}");
    assert!(said.contains("1 listed as anomalous left out"), "{said}");

    let m = manifest(&pack);
    let bank = &m["normal_bank"];
    let file = pack.join(bank["file"].as_str().unwrap());
    assert_eq!(sha256(&file), bank["sha256"].as_str().unwrap());
    let sources = bank["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(
        sources[0]["video_sha256"].as_str().unwrap(),
        sha256(&footage("store-aisle-detection.gif"))
    );
    let rows: u64 = sources.iter().map(|s| s["rows"].as_u64().unwrap()).sum();
    assert_eq!(bank["rows"].as_u64(), Some(rows));
    assert!(bank["flag_z"].as_f64().unwrap() >= 1.0);
    let fused = fused_of(&m);
    assert!(fused["novelty"]["trim_spreads"].as_f64().is_some());
    // `bank show --json` is the manifest's entry.
    let out = run(vigil(&cache)
        .args(["bank", "show", "--json", "--model"])
        .arg(&pack));
    assert!(out.status.success());
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(&shown, bank);

    // Adding the same videos again changes nothing.
    let out = run(vigil(&cache)
        .args(["bank", "add"])
        .arg(&list)
        .arg("--model")
        .arg(&pack));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 already there"));
    assert_eq!(manifest(&pack)["normal_bank"], *bank);

    // A new camera's normal footage: every clip carries its parts, the score is the rule's
    // value of them, the same on a second run, and nothing is flagged.
    let road = snippet(dir.path(), "road.mp4", "car-detection.mp4", "8");
    let score = || {
        let out = run(vigil(&cache)
            .args(["score", "--json", "--scorer", "fused", "--model"])
            .arg(&pack)
            .arg(&road));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_docs(&out).remove(0)
    };
    let doc = score();
    assert_eq!(doc["scorer"]["kind"], "fused");
    let flag_b = bank["flag_z"].as_f64().unwrap();
    let (flag_n, width) = (
        fused["novelty_flag_z"].as_f64().unwrap(),
        fused["width"].as_f64().unwrap(),
    );
    let clips = doc["clips"].as_array().unwrap();
    assert!(clips.len() >= 10);
    for c in clips {
        let parts = &c["score_parts"];
        let (nz, bz) = (
            parts["novelty_z"].as_f64().unwrap(),
            parts["bank_z"].as_f64().unwrap(),
        );
        let level = (nz / flag_n).min(bz / flag_b);
        let want = 1.0 / (1.0 + (-(level - 1.0) / width).exp());
        let got = c["score"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-4, "{got} vs {want}: {parts}");
        assert!(got < 0.5, "a normal road clip scored {got}: {parts}");
        let has_head = std::iter::once(&m["scorer"])
            .chain(m["other_scorers"].as_array().into_iter().flatten())
            .any(|s| s["kind"] == "mil_head");
        assert_eq!(parts.get("head").is_some(), has_head, "{parts}");
    }
    let again = score();
    let s = |d: &Value| -> Vec<f64> {
        d["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["score"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(s(&doc), s(&again));

    // An altered bank is refused with one line, before any footage is read.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    let out = run(vigil(&cache)
        .args(["score", "--scorer", "fused", "--model"])
        .arg(&pack)
        .arg(&road));
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt or was replaced"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
