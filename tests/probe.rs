#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `vigil probe` on real footage and made files: streams, packet counts against ffprobe, gaps,
//! several video streams, a lying extension, and a refusal that still gets a report.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn probe(file: &Path) -> (Option<i32>, Value) {
    let dir = tempdir();
    let out = run(vigil(dir.path()).args(["probe", "--json"]).arg(file));
    let doc = json_docs(&out).remove(0);
    (out.status.code(), doc)
}

fn ffprobe_packets(file: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn real_footage_is_described_and_its_packets_counted() {
    let file = footage("car-detection.mp4");
    let (code, r) = probe(&file);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["verdict"]["opens"], true);
    assert_eq!(r["verdict"]["stream"], 0);
    let kinds: Vec<&str> = r["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["video", "audio"]);
    assert_eq!(r["streams"][0]["codec"], "h264");
    assert_eq!(
        r["packets"]["packets"].as_u64().unwrap(),
        ffprobe_packets(&file)
    );
    assert_eq!(r["packets"]["gaps"], Value::Array(vec![]));
    assert_eq!(r["first_frame"]["decoded"], true);
    assert_eq!(r["first_frame"]["width"], 768);
    assert!(r["container"]["creation_time"].as_str().is_some());
    let notes = r["verdict"]["notes"].to_string();
    assert!(notes.contains("only video stream"), "{notes}");
    assert!(notes.contains("stream copy"), "{notes}");

    // The text form marks the scored stream and ends on the verdict.
    let dir = tempdir();
    let out = run(vigil(dir.path()).arg("probe").arg(&file));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("stream #0: video h264 768x432") && text.contains("<- scored"),
        "{text}"
    );
    assert!(text.contains("vigil:      scores stream #0"), "{text}");
}

#[test]
fn several_video_streams_a_gap_and_a_lying_extension() {
    let dir = tempdir();
    // Two cameras in one Matroska file, named .mp4.
    let two = dir.path().join("two-cameras.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=3:s=320x240:r=15",
        "-f",
        "lavfi",
        "-i",
        "testsrc=d=3:s=640x480:r=15",
        "-map",
        "0",
        "-map",
        "1",
        "-c:v",
        "mjpeg",
        "-f",
        "matroska",
        two.to_str().unwrap(),
    ]);
    let (code, r) = probe(&two);
    assert_eq!(code, Some(0), "{r}");
    assert!(
        r["container"]["format"]
            .as_str()
            .unwrap()
            .starts_with("matroska")
    );
    assert_eq!(r["streams"].as_array().unwrap().len(), 2);
    let notes = r["verdict"]["notes"][0].as_str().unwrap();
    assert!(notes.contains("best of 2 video streams"), "{notes}");
    let scored = r["verdict"]["stream"].as_u64().unwrap();
    let other = 1 - scored;
    assert!(
        notes.contains(&format!(
            "not #{other} unless asked (vigil score --stream N"
        )),
        "{notes}"
    );

    // A recording that stopped for 6 s.
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
    let (_, r) = probe(&gap);
    let gaps = r["packets"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{r}");
    assert!(
        (gaps[0]["to_s"].as_f64().unwrap() - 10.0).abs() < 0.05,
        "{gaps:?}"
    );
}

#[test]
fn a_refused_file_gets_a_report_and_score_points_to_probe() {
    let dir = tempdir();
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "Shift log.\nNothing to report.\n".repeat(50)).unwrap();
    let (code, r) = probe(&text);
    assert_eq!(code, Some(3), "{r}");
    assert_eq!(r["verdict"]["opens"], false);
    assert!(
        r["verdict"]["refusal"]
            .as_str()
            .unwrap()
            .contains("not a video"),
        "{r}"
    );

    let out = run(vigil(dir.path())
        .args(["score", "--device", "cpu", "--no-cache"])
        .arg(&text));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.trim_end()
            .ends_with(&format!("(see: vigil probe {})", text.display())),
        "{err}"
    );
}
