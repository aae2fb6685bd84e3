#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The cascade (change gate, coarse network, full-resolution refine) against the full pass on
//! real footage, and a cascade killed in each of its passes resuming to the same scores.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn score(cache: &Path, file: &Path, extra: &[&str]) -> Value {
    let out = run(vigil(cache)
        .args(["score", "--device", "cpu", "--json"])
        .args(extra)
        .arg(file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_docs(&out).remove(0)
}

fn spans(doc: &Value, key: &str) -> Vec<(u64, u64)> {
    doc[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["first_clip"].as_u64().unwrap(),
                p["last_clip"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dst = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).unwrap();
        }
    }
}

/// Checks what the cascade claims about itself, then that it flags what the full pass flags.
fn assert_agrees(full: &Value, cascade: &Value) {
    assert!(
        full.get("cascade").is_none(),
        "--cascade off is the full pass"
    );
    let c = &cascade["cascade"];
    let clips = cascade["clips"].as_array().unwrap();
    assert_eq!(clips.len(), full["clips"].as_array().unwrap().len());
    let count = |pass: &str| clips.iter().filter(|x| x["pass"] == pass).count() as u64;
    assert_eq!(count("full"), c["clips_full"].as_u64().unwrap());
    assert_eq!(count("coarse"), c["clips_coarse"].as_u64().unwrap());
    assert_eq!(count("reused"), c["clips_reused"].as_u64().unwrap());
    assert_eq!(
        count("full") + count("coarse") + count("reused"),
        clips.len() as u64
    );
    assert!(
        c["full_network_clips"].as_u64().unwrap() < clips.len() as u64,
        "the cascade ran the full network on every clip: {c}"
    );
    // These files have sound timestamps, so the refine seeks to its clips rather than
    // decoding the whole file again, and still gives the full pass's clip table.
    // (A rescore from the cache decodes nothing.)
    let decode = c["refine_decode"].as_str().unwrap();
    if cascade["device"] == "cache" {
        assert_eq!(decode, "none", "{c}");
    } else {
        assert!(decode.starts_with("seek ("), "{c}");
    }
    for (a, b) in full["clips"].as_array().unwrap().iter().zip(clips) {
        for k in [
            "start_s",
            "end_s",
            "start_frame",
            "end_frame",
            "padded_frames",
        ] {
            assert_eq!(a[k], b[k], "clip {} {k}", a["index"]);
        }
    }
    assert_eq!(
        spans(full, "peaks"),
        spans(cascade, "peaks"),
        "flagged spans differ"
    );
    let shown = |d: &Value| -> Vec<Value> {
        let list = if d["peaks"].as_array().unwrap().is_empty() {
            &d["top_moments"]
        } else {
            &d["peaks"]
        };
        list.as_array().unwrap().clone()
    };
    let (a, b) = (shown(full), shown(cascade));
    assert!(!b.is_empty());
    assert_eq!(
        a[0]["peak_clip"], b[0]["peak_clip"],
        "the first moment shown"
    );
    // What an analyst is shown comes from full-resolution features: the shown moments' clips
    // carry exactly the full pass's Kinetics hints.
    for p in &b {
        let i = p["peak_clip"].as_u64().unwrap() as usize;
        assert_ne!(clips[i]["pass"], "coarse", "moment at clip {i}");
        assert_eq!(
            clips[i]["top_actions"], full["clips"][i]["top_actions"],
            "clip {i}"
        );
    }
    // Every clip the refine ran (reached by seeking) shows what a decode from the start
    // shows: its Kinetics hints are the full pass's.
    for (i, c) in clips.iter().enumerate() {
        if c["pass"] == "full" {
            assert_eq!(
                c["top_actions"], full["clips"][i]["top_actions"],
                "clip {i}"
            );
        }
    }
}

#[test]
fn cascade_flags_what_the_full_pass_flags_on_the_demo_clip() {
    let (clip, fixture_cache) = demo_fixture();
    let dir = tempdir();
    let cache = dir.path().join("cache");
    copy_dir(fixture_cache, &cache);
    let cascade = score(&cache, clip, &[]);
    assert_eq!(cascade["device"], "cache", "the fixture scored it already");
    let full = score(&cache, clip, &["--cascade", "off"]);
    assert_agrees(&full, &cascade);
    // The incident (34–41 s) is flagged either way.
    let p = &cascade["peaks"][0];
    assert!(p["start_s"].as_f64().unwrap() < 41.0 && p["end_s"].as_f64().unwrap() > 34.0);
}

#[test]
fn cascade_agrees_with_the_full_pass_on_a_real_camera() {
    // 139 s of a real shop camera at 10 fps: long still stretches for the gate.
    let file = footage("one-by-one-person-detection.mp4");
    let dir = tempdir();
    let cascade = score(dir.path(), &file, &[]);
    assert!(
        cascade["cascade"]["clips_reused"].as_u64().unwrap() > 0,
        "{}",
        cascade["cascade"]
    );
    let full = score(dir.path(), &file, &["--cascade", "off"]);
    assert_agrees(&full, &cascade);
}

/// Feature batch files under one feature key's folder.
fn batches(cache: &Path, key: &str) -> Vec<PathBuf> {
    let dir = cache.join("features").join(key);
    let mut out = Vec::new();
    let Ok(videos) = std::fs::read_dir(dir) else {
        return out;
    };
    for v in videos.flatten() {
        for f in std::fs::read_dir(v.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|e| e == "bin") {
                out.push(f.path());
            }
        }
    }
    out
}

/// Starts a cascade and kills it (SIGKILL) once `key` has `at_least` batch files.
fn kill_when(cache: &Path, clip: &Path, key: &str, at_least: usize) {
    let mut child = vigil(cache)
        .args(["score", "--device", "cpu", "--json", "--batch", "2"])
        .arg(clip)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while batches(cache, key).len() < at_least {
        assert!(Instant::now() < deadline, "no batches of {key} appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_cascade_killed_in_either_pass_resumes_to_the_same_scores() {
    let (clip, _) = demo_fixture();
    let pack = vigil::model::Pack::load(&pack_dir()).unwrap();
    let coarse_key = pack.feature_key_for(pack.coarse_extractor().expect("coarse extractor"));
    let full_key = pack.feature_key();
    let dir = tempdir();
    // The same batch size throughout, so that every feature comes out of the same kernels.
    let uninterrupted = score(&dir.path().join("reference"), clip, &["--batch", "2"]);

    let cache = dir.path().join("cache");
    kill_when(&cache, clip, &coarse_key, 3);
    let coarse_kept = batches(&cache, &coarse_key).len();
    assert!(
        batches(&cache, &full_key).is_empty(),
        "killed in the coarse pass"
    );
    kill_when(&cache, clip, &full_key, 2);
    assert!(
        batches(&cache, &coarse_key).len() > coarse_kept,
        "the second run went on with the coarse pass"
    );
    let resumed = score(&cache, clip, &["--batch", "2"]);
    assert!(resumed["cache"]["clips_from_cache"].as_u64().unwrap() > 0);
    assert_eq!(
        resumed["clips"], uninterrupted["clips"],
        "resumed scores equal an uninterrupted cascade's"
    );
    assert_eq!(resumed["peaks"], uninterrupted["peaks"]);
}

/// Clip scores of a report.
fn clip_scores(doc: &Value) -> Vec<f64> {
    doc["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["score"].as_f64().unwrap())
        .collect()
}

#[test]
fn altered_cache_files_are_recomputed_with_a_warning_and_scores_stand() {
    let (clip, fixture_cache) = demo_fixture();
    let dir = tempdir();
    let cache = dir.path().join("cache");
    copy_dir(fixture_cache, &cache);
    let before = score(&cache, clip, &[]);
    assert_eq!(before["device"], "cache");
    assert!(before["video"]["warnings"].as_array().unwrap().is_empty());

    // 200 bytes overwritten in one feature file of each network, and the coarse pass's
    // record of clip spans altered where it still parses.
    let mut altered = 0;
    for key in std::fs::read_dir(cache.join("features")).unwrap().flatten() {
        let key = key.file_name().to_string_lossy().into_owned();
        let mut files = batches(&cache, &key);
        files.sort();
        let f = &files[files.len() / 2];
        let mut bytes = std::fs::read(f).unwrap();
        for b in &mut bytes[1000..1200] {
            *b = 0x7f;
        }
        std::fs::write(f, &bytes).unwrap();
        altered += 1;
        let complete = f.parent().unwrap().join("complete.json");
        if let Ok(text) = std::fs::read_to_string(&complete) {
            std::fs::write(
                &complete,
                text.replacen("\"start_s\":0.0", "\"start_s\":0.5", 1),
            )
            .unwrap();
        }
    }
    assert_eq!(altered, 2);
    let after = score(&cache, clip, &[]);
    let warnings: Vec<&str> = after["video"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let bad: Vec<&&str> = warnings
        .iter()
        .filter(|w| w.starts_with("feature cache file"))
        .collect();
    assert!(bad.len() >= 2, "{warnings:?}");
    assert!(bad.iter().any(|w| w.contains("checksum")), "{warnings:?}");
    let (a, b) = (clip_scores(&before), clip_scores(&after));
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "scores moved by {worst}");
    for c in after["clips"].as_array().unwrap() {
        for t in c["top_actions"].as_array().unwrap() {
            let p = t["p"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p), "{t}");
        }
    }
    // Repaired: the next run is quiet again.
    let again = score(&cache, clip, &[]);
    assert!(
        again["video"]["warnings"].as_array().unwrap().is_empty(),
        "{}",
        again["video"]["warnings"]
    );
}
