#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Old and odd codecs that recorders and archives hold open end to end: score (duration and
//! clip count against what was encoded), preview (a picture at a time, through a seek) and
//! lossless export (the clip decodes, with the frames asked for). Each file is made here by the
//! system FFmpeg's own encoder from a 3 s, 15 fps test pattern.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// 3 s at 15 fps: 45 frames, 90 slots of the 30 fps grid, 6 clips of 16 slots.
const SOURCE: &str = "testsrc2=d=3:s=176x144:r=15";

/// (file name, ffmpeg output arguments). Every one of these was refused before the codec rule
/// replaced the allowlist ("not a camera or distribution codec vigil accepts").
const TIMED: &[(&str, &[&str])] = &[
    ("cinepak.avi", &["-c:v", "cinepak"]),
    ("msvideo1.avi", &["-c:v", "msvideo1"]),
    ("svq1.mov", &["-c:v", "svq1"]),
    ("h261.avi", &["-c:v", "h261"]),
    ("jpeg2000.mov", &["-c:v", "jpeg2000"]),
    ("cineform.mov", &["-c:v", "cfhd"]),
    ("magicyuv.avi", &["-c:v", "magicyuv"]),
    ("qtrle.mov", &["-c:v", "qtrle"]),
    ("png.mov", &["-c:v", "png"]),
    ("zmbv.avi", &["-c:v", "zmbv", "-pix_fmt", "bgr24"]),
    ("flashsv.flv", &["-c:v", "flashsv"]),
    ("rv10.rm", &["-c:v", "rv10"]),
    ("rv20.rm", &["-c:v", "rv20"]),
];

fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut all = vec!["-f", "lavfi", "-i", SOURCE];
    all.extend_from_slice(args);
    all.push(out.to_str().unwrap());
    ffmpeg(&all);
    out
}

/// ffmpeg's MD5 of every decoded frame, in order: an independent witness of the pictures.
fn frame_md5s(file: &Path) -> Vec<String> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(file)
        .args(["-map", "0:v:0", "-f", "framemd5", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|h| h.trim().to_string()))
        .collect()
}

fn score_json(file: &Path) -> serde_json::Value {
    let cache = tempdir();
    let out = run(vigil(cache.path())
        .args(["score", "--device", "cpu", "--json"])
        .arg(file));
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    json_docs(&out).remove(0)
}

#[test]
fn old_and_odd_codecs_score_with_their_true_duration() {
    let dir = tempdir();
    for (name, args) in TIMED {
        let file = make(dir.path(), name, args);
        let doc = score_json(&file);
        let v = &doc["video"];
        let d = v["duration_s"].as_f64().unwrap();
        assert!((d - 3.0).abs() < 1e-3, "{name}: duration {d}");
        assert_eq!(v["frames"], 45, "{name}");
        assert_eq!(doc["clips"].as_array().unwrap().len(), 6, "{name}");
        assert_eq!(v["decode_errors"], 0, "{name}");
        assert_eq!(v["partial"], false, "{name}");
    }
}

#[test]
fn old_and_odd_codecs_preview_through_a_seek_and_export_losslessly() {
    let dir = tempdir();
    let mut cases: Vec<(&str, &[&str])> = TIMED.to_vec();
    // Demuxers that cannot seek at all: the preview reopens and decodes forward, the export
    // finds its keyframe by reading from the start.
    cases.push(("raw.mjpeg", &["-c:v", "mjpeg", "-f", "mjpeg"]));
    cases.push(("multipart.mjpeg", &["-c:v", "mjpeg", "-f", "mpjpeg"]));
    for (name, args) in cases {
        let file = make(dir.path(), name, args);
        let before = sha256(&file);

        let early = vigil::video::picture_at(&file, 0.0, 176, 144).expect(name);
        let late = vigil::video::picture_at(&file, 1.2, 176, 144).expect(name);
        assert_eq!((late.width, late.height), (176, 144), "{name}");
        assert_ne!(
            early.rgb, late.rgb,
            "{name}: the picture at 1.2 s is not the first"
        );
        let again = vigil::video::picture_at(&file, 1.2, 176, 144).expect(name);
        assert_eq!(
            late.rgb, again.rgb,
            "{name}: the same time gives the same picture"
        );

        let cache = tempdir();
        let folder = dir.path().join(format!("export-{name}"));
        let out = run(vigil(cache.path())
            .args(["export", "--from", "0.4", "--to", "1.0", "--json", "-o"])
            .arg(&folder)
            .arg(&file));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let clip = &manifest["clips"][0];
        let written = folder.join(clip["file"].as_str().unwrap());
        let method = clip["method"].as_str().unwrap();
        if name.starts_with("rv") {
            // FFmpeg writes no RealVideo copy that decodes: re-encoded, and said so.
            assert!(
                method.starts_with("re-encoded losslessly"),
                "{name}: {method}"
            );
            assert!(
                clip["container_note"]
                    .as_str()
                    .unwrap()
                    .contains("RealVideo")
            );
        } else {
            assert!(method.starts_with("stream copy"), "{name}: {method}");
        }
        let first = clip["shown"]["first_frame"].as_u64().unwrap() as usize;
        let last = clip["shown"]["last_frame"].as_u64().unwrap() as usize;
        assert!(
            last >= first + 7,
            "{name}: 0.6 s at 15 fps is 9 frames, got {first}..={last}"
        );
        // The clip's pictures are the source's, bit for bit: a run of consecutive source
        // frames (with a lead-in from the keyframe before, where the container shows one)
        // that covers every frame the manifest says it shows.
        let (src, clip_frames) = (frame_md5s(&file), frame_md5s(&written));
        let at = (0..=first)
            .find(|&k| src.get(k..k + clip_frames.len()) == Some(clip_frames.as_slice()))
            .unwrap_or_else(|| panic!("{name}: the clip's frames are not a run of the source's"));
        assert!(
            at + clip_frames.len() > last,
            "{name}: the clip ends before frame {last}"
        );
        assert_eq!(sha256(&file), before, "{name}: the original is unchanged");
    }
}

/// Streams that carry no frame times are timed by FFmpeg at a default rate; the report says so
/// (the 3 s recorded at 15 fps come out as 1.8 s at 25 fps or 1.5 s at 29.97 fps), while files
/// whose container keeps times carry no such warning.
#[test]
fn streams_without_frame_times_are_said_to_be_timed_by_assumption() {
    let dir = tempdir();
    let cases: &[(&str, &[&str], f64)] = &[
        ("raw.mjpeg", &["-c:v", "mjpeg", "-f", "mjpeg"], 25.0),
        ("multipart.mjpeg", &["-c:v", "mjpeg", "-f", "mpjpeg"], 25.0),
        (
            "raw.h261",
            &["-c:v", "h261", "-f", "h261"],
            30000.0 / 1001.0,
        ),
    ];
    for (name, args, fps) in cases {
        let doc = score_json(&make(dir.path(), name, args));
        let v = &doc["video"];
        let d = v["duration_s"].as_f64().unwrap();
        assert!((d - 45.0 / fps).abs() < 0.01, "{name}: {d}");
        let warnings = v["warnings"].to_string();
        assert!(
            warnings.contains("stores no frame times"),
            "{name}: {warnings}"
        );
    }
    let timed = score_json(&make(dir.path(), "cinepak.avi", &["-c:v", "cinepak"]));
    assert_eq!(timed["video"]["warnings"], serde_json::json!([]));
}

/// A stream-copy remux of an MP4 (B-frames, so the Matroska copy's millisecond timestamps are
/// rounded off the 30 fps grid) scores exactly as the MP4: the same pictures, the same scores.
#[test]
fn a_stream_copy_remux_to_matroska_scores_the_same() {
    let dir = tempdir();
    let mp4 = dir.path().join("b.mp4");
    ffmpeg(&[
        "-i",
        footage("car-detection.mp4").to_str().unwrap(),
        "-t",
        "12",
        "-an",
        "-c:v",
        "libx264",
        "-bf",
        "3",
        "-r",
        "30",
        mp4.to_str().unwrap(),
    ]);
    let mkv = dir.path().join("b.mkv");
    ffmpeg(&[
        "-i",
        mp4.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);
    let scores = |f: &Path| -> Vec<f64> {
        score_json(f)["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["score"].as_f64().unwrap())
            .collect()
    };
    let (a, b) = (scores(&mp4), scores(&mkv));
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-6, "scores differ by up to {worst}");
}
