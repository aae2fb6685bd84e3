#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `vigil score` on real footage: clip boundaries against ffprobe, the JSON schema, the cache,
//! determinism and resuming after `kill -9`.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Checks the clip table of a report against ffprobe's view of the same file.
fn assert_clips_match_ffprobe(doc: &Value, file: &Path) {
    let frames = ffprobe_frames(file);
    let fps = doc["video"]["fps"].as_f64().unwrap();
    let expected = expected_clips(&frames, fps);
    assert_eq!(
        doc["video"]["frames"].as_u64().unwrap(),
        frames.len() as u64
    );
    let clips = doc["clips"].as_array().unwrap();
    assert_eq!(
        clips.len(),
        expected.len(),
        "clip count for {}",
        file.display()
    );
    for (c, (s, e, sf, ef, pad)) in clips.iter().zip(&expected) {
        let i = c["index"].as_u64().unwrap();
        assert!(
            (c["start_s"].as_f64().unwrap() - s).abs() < 1e-9,
            "clip {i} start"
        );
        assert!(
            (c["end_s"].as_f64().unwrap() - e).abs() < 1e-6,
            "clip {i} end"
        );
        assert_eq!(
            c["start_frame"].as_u64().unwrap(),
            *sf,
            "clip {i} start frame"
        );
        assert_eq!(c["end_frame"].as_u64().unwrap(), *ef, "clip {i} end frame");
        assert_eq!(
            c["padded_frames"].as_u64().unwrap(),
            u64::from(*pad),
            "clip {i} padding"
        );
        assert_eq!(c["padded"].as_bool().unwrap(), *pad > 0);
    }
    let last = expected.last().unwrap();
    assert!((doc["video"]["duration_s"].as_f64().unwrap() - last.1).abs() < 1e-6);
}

fn scores(doc: &Value) -> Vec<f64> {
    doc["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["score"].as_f64().unwrap())
        .collect()
}

/// The paper's segment edges, computed here from the formula rather than the library.
fn matlab_segments(n: usize) -> Vec<(usize, usize)> {
    let shots: Vec<usize> = (0..33)
        .map(|i| (1.0 + i as f64 * (n as f64 - 1.0) / 32.0).round() as usize)
        .collect();
    (0..32)
        .map(|i| {
            let (ss, ee) = (shots[i], shots[i + 1] - 1);
            if ee <= ss { (ss - 1, ss) } else { (ss - 1, ee) }
        })
        .collect()
}

#[test]
fn car_detection_report_matches_ffprobe_and_schema_then_comes_from_cache() {
    let cache = tempdir();
    let file = footage("car-detection.mp4");
    let before = sha256(&file);
    let out = run(vigil(cache.path())
        .args(["score", "--device", "cpu", "--json"])
        .arg(&file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = json_docs(&out);
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];

    // Footage.
    let v = &doc["video"];
    assert_eq!(v["sha256"].as_str().unwrap(), before);
    assert!((v["fps"].as_f64().unwrap() - 12.5).abs() < 1e-9);
    assert_eq!(v["partial"], Value::Bool(false));
    assert_eq!(v["codec"], "h264");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(768), Some(432))
    );
    assert!(v["warnings"].as_array().unwrap().is_empty());
    assert_clips_match_ffprobe(doc, &file);

    // Model and device.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(pack_dir().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(doc["model"]["id"], "i3d-k400");
    assert_eq!(doc["model"]["sha256"], manifest["extractor"]["sha256"]);
    assert_eq!(doc["device"], "CPUExecutionProvider");

    // Scores, hints, segments, peaks.
    let labels: Vec<String> =
        serde_json::from_slice(&std::fs::read(pack_dir().join("kinetics400_labels.json")).unwrap())
            .unwrap();
    let s = scores(doc);
    assert!(s.iter().all(|x| (0.0..=1.0).contains(x)));
    for c in doc["clips"].as_array().unwrap() {
        let acts = c["top_actions"].as_array().unwrap();
        assert_eq!(acts.len(), 3);
        let ps: Vec<f64> = acts.iter().map(|a| a["p"].as_f64().unwrap()).collect();
        assert!(ps.windows(2).all(|w| w[0] >= w[1]) && ps.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!(
            acts.iter()
                .all(|a| labels.contains(&a["label"].as_str().unwrap().to_string()))
        );
    }
    let seg = doc["segments_32"].as_array().unwrap();
    assert_eq!(seg.len(), 32);
    for (x, (a, b)) in seg.iter().zip(matlab_segments(s.len())) {
        let want = s[a..b].iter().copied().fold(0.0, f64::max);
        assert!((x.as_f64().unwrap() - want).abs() < 1e-6);
    }
    let threshold = doc["threshold"].as_f64().unwrap();
    let peaks = doc["peaks"].as_array().unwrap();
    assert!(
        peaks
            .iter()
            .all(|p| p["score"].as_f64().unwrap() >= threshold)
    );
    if peaks.is_empty() {
        assert!(!doc["top_moments"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        doc["cache"]["clips_computed"].as_u64().unwrap(),
        s.len() as u64
    );
    assert_eq!(doc["cache"]["clips_from_cache"].as_u64().unwrap(), 0);

    // Second run: everything from the cache, nothing decoded or run, same scores.
    let t = Instant::now();
    let again = run(vigil(cache.path())
        .args(["score", "--device", "cpu", "--json"])
        .arg(&file));
    assert!(again.status.success());
    let doc2 = &json_docs(&again)[0];
    assert_eq!(doc2["device"], "cache");
    assert_eq!(
        doc2["cache"]["clips_from_cache"].as_u64().unwrap(),
        s.len() as u64
    );
    assert_eq!(doc2["clips"], doc["clips"]);
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "cached rerun should not decode or infer"
    );

    // The readable summary names the file, the provider and what to look at.
    let text = run(vigil(cache.path())
        .args(["score", "--device", "cpu"])
        .arg(&file));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("car-detection.mp4") && text.contains("i3d-k400"));
    assert!(text.contains("flagged span") || text.contains("Highest-scoring moments"));

    assert_eq!(sha256(&file), before, "the original must not change");
}

#[test]
fn odd_rate_vfr_gap_and_gif_land_on_ffprobe_timestamps() {
    let dir = tempdir();
    // 0-2 s at 10 fps, 2-3 s at 30 fps, nothing 3-5 s (dropped), 5-8 s at 30 fps.
    let vfr = dir.path().join("vfr.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=8:s=320x240:r=30",
        "-vf",
        "select='if(lt(t,2),not(mod(n,3)),not(between(t,3,5)))'",
        "-vsync",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        vfr.to_str().unwrap(),
    ]);
    // 179/6 fps, first 8 s of the real clip, stream-copied (no re-encoding).
    let odd = dir.path().join("bottle-8s.mp4");
    ffmpeg(&[
        "-i",
        footage("bottle-detection.mp4").to_str().unwrap(),
        "-t",
        "8",
        "-c",
        "copy",
        odd.to_str().unwrap(),
    ]);
    let gif = footage("store-aisle-detection.gif");
    let out = run(vigil(dir.path())
        .args(["score", "--device", "cpu", "--json", "--no-cache"])
        .args([&vfr, &odd, &gif]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = json_docs(&out);
    assert_eq!(docs.len(), 3, "one document per file");
    for (doc, file) in docs.iter().zip([&vfr, &odd, &gif]) {
        assert_clips_match_ffprobe(doc, file);
        assert_eq!(
            doc["video"]["partial"],
            Value::Bool(false),
            "{}",
            file.display()
        );
    }
    // The dropped seconds hold the last picture: clips 6..9 (3.2-5.33 s) all start on the
    // frame shown at 2.967 s.
    let clips = docs[0]["clips"].as_array().unwrap();
    let held = clips[6]["start_frame"].as_u64().unwrap();
    assert_eq!(clips[7]["start_frame"].as_u64().unwrap(), held);
    assert_eq!(clips[8]["start_frame"].as_u64().unwrap(), held);
}

#[test]
fn same_input_same_scores_and_resume_after_kill_9() {
    let dir = tempdir();
    let clip = dir.path().join("bottle-12s.mp4");
    ffmpeg(&[
        "-i",
        footage("bottle-detection.mp4").to_str().unwrap(),
        "-t",
        "12",
        "-c",
        "copy",
        clip.to_str().unwrap(),
    ]);
    // A `--no-cache` run still spills features to a temporary cache (memory stays flat on long
    // footage); it must leave nothing behind, there or in the cache folder.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let score = |cache: &Path, extra: &[&str]| {
        let out = run(vigil(cache)
            .env("TMPDIR", &tmp)
            .args(["score", "--device", "cpu", "--json", "--batch", "2"])
            .args(extra)
            .arg(&clip));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_docs(&out).remove(0)
    };
    let a = score(dir.path(), &["--no-cache"]);
    let b = score(dir.path(), &["--no-cache"]);
    assert_eq!(
        a["clips"], b["clips"],
        "same input must give the same scores"
    );
    assert_eq!(a["segments_32"], b["segments_32"]);
    let n = a["clips"].as_array().unwrap().len();
    // (ONNX Runtime leaves a `.ses` file of its own there.)
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with("vigil"))
        .collect();
    assert!(left.is_empty(), "temporary cache left behind: {left:?}");
    assert!(
        walk(dir.path())
            .iter()
            .all(|p| p.extension().is_none_or(|e| e != "bin")),
        "--no-cache wrote to the cache folder"
    );
    assert!(a["cache"]["dir"].is_null(), "{}", a["cache"]);

    // Start a cached run and kill -9 it once a few batches are on disk.
    let cache = dir.path().join("cache");
    let mut child = vigil(&cache)
        .args(["score", "--device", "cpu", "--json", "--batch", "2"])
        .arg(&clip)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let batches = |cache: &Path| -> Vec<std::path::PathBuf> {
        walk(cache)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "bin"))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while batches(&cache).len() < 3 {
        assert!(Instant::now() < deadline, "no cache batches appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = batches(&cache).len();
    assert!(
        kept >= 3 && kept * 2 < n,
        "kill came too late to test resuming ({kept} batches)"
    );
    assert!(
        walk(&cache).iter().all(|p| !p.ends_with("complete.json")),
        "a killed run must not look complete"
    );

    let resumed = score(&cache, &[]);
    let from_cache = resumed["cache"]["clips_from_cache"].as_u64().unwrap();
    assert!(from_cache >= 6, "resumed run reused {from_cache} clips");
    assert_eq!(
        from_cache + resumed["cache"]["clips_computed"].as_u64().unwrap(),
        n as u64
    );
    assert_eq!(
        resumed["clips"], a["clips"],
        "resumed scores equal an uninterrupted run"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `vigil score DIR`: every video in the tree (links followed, hidden and other files not), in
/// name order; the same command again resumes from the cache; a folder without videos is a
/// one-line error with the footage exit code.
#[test]
fn a_folder_scores_every_video_in_it_in_order_and_resumes() {
    let cache = tempdir();
    let case = tempdir();
    let d = case.path();
    std::fs::create_dir_all(d.join("cam-b")).unwrap();
    std::fs::create_dir_all(d.join("cam-a/.trash")).unwrap();
    std::os::unix::fs::symlink(
        footage("store-aisle-detection.gif"),
        d.join("cam-b/aisle.gif"),
    )
    .unwrap();
    std::os::unix::fs::symlink(footage("people-detection.gif"), d.join("cam-a/people.gif"))
        .unwrap();
    std::os::unix::fs::symlink(
        footage("people-detection.gif"),
        d.join("cam-a/.trash/old.gif"),
    )
    .unwrap();
    std::fs::write(d.join("cam-a/notes.txt"), "not a video").unwrap();
    let score = || {
        let out = run(vigil(cache.path())
            .args(["score", "--device", "cpu", "--json"])
            .arg(d));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_docs(&out)
    };
    let first = score();
    let paths: Vec<&str> = first
        .iter()
        .map(|doc| doc["video"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].ends_with("cam-a/people.gif"), "{paths:?}");
    assert!(paths[1].ends_with("cam-b/aisle.gif"), "{paths:?}");
    assert!(first.iter().all(|doc| doc["device"] != "cache"));
    let again = score();
    assert!(again.iter().all(|doc| doc["device"] == "cache"));
    assert_eq!(scores(&first[0]), scores(&again[0]));
    assert_eq!(scores(&first[1]), scores(&again[1]));

    let empty = tempdir();
    std::fs::write(empty.path().join("readme.txt"), "x").unwrap();
    let out = run(vigil(cache.path()).arg("score").arg(empty.path()));
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no video files"), "{err}");
}

/// `vigil score F | head -c 100`: the reader goes away before vigil prints. vigil ends quietly
/// with status 0, as ripgrep does, instead of panicking on the broken pipe; with `--output`
/// the report file is still written.
#[test]
fn a_closed_pipe_ends_quietly_and_output_files_are_still_written() {
    let dir = tempdir();
    let clip = footage("car-detection.mp4");
    let report = dir.path().join("report.json");
    for (json, output) in [(false, false), (true, false), (true, true)] {
        let mut cmd = vigil(dir.path());
        cmd.args(["score", "--device", "cpu"]);
        if json {
            cmd.arg("--json");
        }
        if output {
            cmd.arg("--output").arg(&report);
        }
        let mut child = cmd
            .arg(&clip)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "json {json}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{err}"
        );
        assert!(!err.contains("error"), "{err}");
    }
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(doc.to_string().contains("car-detection.mp4"));
}
