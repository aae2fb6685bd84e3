#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Damage and gaps are evidence: flipped bytes in real footage, a duplicated Matroska chunk, a
//! recorder that dropped frames and one that stopped recording are each found while decoding and
//! said in the report, and a complete file with dropped frames is not called truncated.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn score(file: &Path) -> Value {
    let cache = tempdir();
    let before = sha256(file);
    let out = run(vigil(cache.path())
        .args(["score", "--device", "cpu", "--json", "--no-cache"])
        .arg(file));
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sha256(file), before, "the input is never altered");
    json_docs(&out).remove(0)
}

fn warnings(doc: &Value) -> Vec<String> {
    doc["video"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

/// The first 8 s of the real car clip, stream-copied into `ext`'s container.
fn car_8s(dir: &Path, ext: &str) -> PathBuf {
    let out = dir.join(format!("car-8s.{ext}"));
    ffmpeg(&[
        "-i",
        footage("car-detection.mp4").to_str().unwrap(),
        "-t",
        "8",
        "-an",
        "-c",
        "copy",
        out.to_str().unwrap(),
    ]);
    out
}

/// `n` bits flipped at places drawn from `seed`, past the first tenth of the file (the header).
fn flipped(src: &Path, dst: &Path, n: usize, seed: u64) {
    let mut b = std::fs::read(src).unwrap();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = b.len() / 10 + (x as usize) % (b.len() - b.len() / 10);
        b[at] ^= 1 << (x >> 60 & 7);
    }
    std::fs::write(dst, b).unwrap();
}

#[test]
fn flipped_bytes_are_reported_as_damaged_regions() {
    let dir = tempdir();
    let clean = car_8s(dir.path(), "mp4");
    let doc = score(&clean);
    assert_eq!(doc["video"]["decode_errors"], 0);
    assert_eq!(doc["video"]["damaged"], Value::Array(vec![]));
    assert!(warnings(&doc).is_empty(), "{:?}", warnings(&doc));

    let bad = dir.path().join("flipped.mp4");
    flipped(&clean, &bad, 100, 7);
    let doc = score(&bad);
    let v = &doc["video"];
    assert!(v["decode_errors"].as_u64().unwrap() > 0, "{v}");
    let damaged = v["damaged"].as_array().unwrap();
    assert!(!damaged.is_empty(), "{v}");
    for r in damaged {
        let (from, to) = (r["from_s"].as_f64().unwrap(), r["to_s"].as_f64().unwrap());
        assert!(0.0 <= from && from < to && to <= 8.1, "{r}");
        assert!(r["frames"].as_u64().unwrap() >= 1);
    }
    let w = warnings(&doc);
    assert!(
        w.iter().any(|w| w.starts_with("the footage is damaged")),
        "{w:?}"
    );
    assert_eq!(v["partial"], false, "every second still decodes");
}

#[test]
fn a_duplicated_matroska_chunk_is_said_to_run_backwards() {
    let dir = tempdir();
    let mkv = car_8s(dir.path(), "mkv");
    let b = std::fs::read(&mkv).unwrap();
    // The first Matroska cluster (ID 1F 43 B6 75) written twice, as a faulty copy or a
    // recorder's retried write leaves it.
    let clusters: Vec<usize> = b
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == [0x1f, 0x43, 0xb6, 0x75])
        .map(|(i, _)| i)
        .collect();
    assert!(clusters.len() >= 2, "{} clusters", clusters.len());
    let (a, c) = (clusters[0], clusters[1]);
    let dup = dir.path().join("dup.mkv");
    std::fs::write(&dup, [&b[..c], &b[a..c], &b[c..]].concat()).unwrap();
    let doc = score(&dup);
    let w = warnings(&doc);
    assert!(
        w.iter().any(|w| w.starts_with("timestamps went backwards")),
        "{w:?}"
    );
}

#[test]
fn dropped_frames_are_not_truncation_and_a_stopped_recording_is_a_gap() {
    let dir = tempdir();
    // An AVI whose index counts every frame interval (442) but holds one frame in seven: the
    // recorder dropped the rest; every second is there.
    let avi = dir.path().join("dropped.avi");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=29.6:s=320x240:r=15",
        "-vf",
        "select='not(mod(n\\,7))'",
        "-vsync",
        "vfr",
        "-c:v",
        "mjpeg",
        avi.to_str().unwrap(),
    ]);
    let doc = score(&avi);
    let v = &doc["video"];
    assert_eq!(v["partial"], false, "{v}");
    assert_eq!(v["frames"], 64);
    let w = warnings(&doc);
    assert!(w.iter().any(|w| w.contains("frames were dropped")), "{w:?}");
    assert!(!w.iter().any(|w| w.contains("truncated")), "{w:?}");

    // Recording stopped for 6 s between 4 s and 10 s.
    let gap = dir.path().join("gap.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=14:s=320x240:r=30",
        "-vf",
        "select='not(between(t\\,4\\,10))'",
        "-vsync",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        gap.to_str().unwrap(),
    ]);
    let doc = score(&gap);
    assert_gap_goes_into_exports(&gap);
    let gaps = doc["video"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let (from, to) = (
        gaps[0]["from_s"].as_f64().unwrap(),
        gaps[0]["to_s"].as_f64().unwrap(),
    );
    assert!(
        (from - 4.0).abs() < 0.05 && (to - 10.0).abs() < 0.05,
        "{gaps:?}"
    );
    let w = warnings(&doc);
    assert!(w.iter().any(|w| w.starts_with("1 recording gap")), "{w:?}");
    assert_eq!(doc["video"]["partial"], false);
}

#[test]
fn a_timestamp_far_past_the_stated_end_is_damage_not_an_hour_of_footage() {
    let dir = tempdir();
    // 2 s at 15 fps whose last frame is stamped an hour later; the Segment's Duration then
    // patched back to the 2 s recorded (as a flipped cluster time leaves a file).
    let mkv = dir.path().join("wild.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=2:s=160x120:r=15",
        "-vf",
        "setpts='if(gte(N,29),PTS+3600/TB,PTS)'",
        "-c:v",
        "mjpeg",
        "-vsync",
        "passthrough",
        mkv.to_str().unwrap(),
    ]);
    let mut b = std::fs::read(&mkv).unwrap();
    let at = b
        .windows(3)
        .position(|w| w == [0x44, 0x89, 0x88])
        .expect("Duration element");
    assert_eq!(
        f64::from_be_bytes(b[at + 3..at + 11].try_into().unwrap()),
        3_602_000.0
    );
    b[at + 3..at + 11].copy_from_slice(&2000.0f64.to_be_bytes());
    std::fs::write(&mkv, &b).unwrap();

    let doc = score(&mkv);
    let v = &doc["video"];
    assert!(v["duration_s"].as_f64().unwrap() < 2.1, "{v}");
    assert_eq!(doc["clips"].as_array().unwrap().len(), 4);
    let w = warnings(&doc);
    assert!(
        w.iter()
            .any(|w| w.starts_with("1 frame carries an impossible timestamp")),
        "{w:?}"
    );
}

/// An export of a span over the gap records it in the manifest and the report once the footage
/// is scored, and says "not checked" before.
fn assert_gap_goes_into_exports(gap: &Path) {
    let dir = tempdir();
    let cache = dir.path().join("cache");
    let export = |name: &str| -> Value {
        let out = run(vigil(&cache)
            .args([
                "export",
                "--json",
                "--analyst",
                "t",
                "--from",
                "2",
                "--to",
                "12",
                "-o",
            ])
            .arg(dir.path().join(name))
            .arg(gap));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let before = export("before");
    assert!(
        before["clips"][0].get("findings").is_none(),
        "{}",
        before["clips"][0]
    );
    let report = std::fs::read_to_string(dir.path().join("before/report.html")).unwrap();
    assert!(report.contains("not checked"));

    let out = run(vigil(&cache)
        .args(["score", "--device", "cpu", "--json"])
        .arg(gap));
    assert!(out.status.success());
    let after = export("after");
    let f = &after["clips"][0]["findings"];
    assert_eq!(f["gaps"].as_array().unwrap().len(), 1, "{f}");
    assert_eq!(f["damaged"].as_array().unwrap().len(), 0, "{f}");
    let report = std::fs::read_to_string(dir.path().join("after/report.html")).unwrap();
    assert!(report.contains("recording gap 00:00:04"), "gap row missing");
}
