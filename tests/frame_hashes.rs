#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Frame hashes in export manifests: every picture of the clip and of the source span, hashed
//! as FFmpeg's `framehash` muxer hashes them (FFmpeg is the independent witness here), and
//! `vigil verify --frames`, which decodes both again: a clip forged with every hash the folder
//! states rewritten to match still fails.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// FFmpeg's SHA-256 of every picture of stream `map`, in display order, as the manifest's
/// `reproduce` command prints them.
fn ffmpeg_frame_hashes(path: &Path, map: &str) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-noautorotate", "-i"])
        .arg(path)
        .args([
            "-map",
            map,
            "-fps_mode",
            "passthrough",
            "-f",
            "framehash",
            "-hash",
            "sha256",
            "-",
        ])
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
        .map(|l| l.rsplit(',').next().unwrap().trim().to_string())
        .collect()
}

fn export(cache: &Path, src: &Path, from: &str, to: &str, out: &Path, extra: &[&str]) -> Value {
    let o = run(vigil(cache)
        .args(["export", "--json", "--from", from, "--to", to, "-o"])
        .arg(out)
        .args(extra)
        .arg(src));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn verify(cache: &Path, dir: &Path, extra: &[&str]) -> (bool, String) {
    let o = run(vigil(cache).arg("verify").arg(dir).args(extra));
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    (o.status.success(), text)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn source_frame_numbers(fh: &Value) -> Vec<usize> {
    fh["source_frames"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r[0].as_u64().unwrap() as usize..=r[1].as_u64().unwrap() as usize)
        .collect()
}

/// Checks a clip's frame hashes against FFmpeg's, for the clip and for the source.
fn check_against_ffmpeg(src: &Path, dir: &Path, m: &Value) -> (PathBuf, Vec<String>) {
    let c = &m["clips"][0];
    let fh = &c["frame_hashes"];
    let clip = dir.join(c["file"].as_str().unwrap());
    let theirs_clip = ffmpeg_frame_hashes(&clip, "0:v:0");
    assert_eq!(
        strings(&fh["clip"]),
        theirs_clip,
        "clip hashes are FFmpeg's"
    );
    let all = ffmpeg_frame_hashes(src, &format!("0:{}", m["source"]["stream"]));
    let frames = source_frame_numbers(fh);
    let theirs_source: Vec<String> = frames.iter().map(|&i| all[i].clone()).collect();
    assert_eq!(
        strings(&fh["source"]),
        theirs_source,
        "source hashes are FFmpeg's"
    );
    (clip, theirs_clip)
}

#[test]
fn every_exported_picture_is_hashed_as_ffmpeg_hashes_it_and_verify_frames_catches_a_consistent_forgery()
 {
    let dir = tempdir();
    let cache = dir.path().join("cache");
    // B-frame footage, stream copy: an edit list hides the lead-in.
    let hall = footage("one-by-one-person-detection.mp4");
    let out = dir.path().join("hall");
    let m = export(&cache, &hall, "61.45", "63.05", &out, &[]);
    let c = &m["clips"][0];
    let fh = &c["frame_hashes"];
    assert_eq!(fh["identical"], true, "{fh}");
    assert!(fh.get("first_difference").is_none());
    assert_eq!(fh["pixel_format"], "yuv420p");
    let frames = source_frame_numbers(fh);
    let (first, last) = (
        c["shown"]["first_frame"].as_u64().unwrap() as usize,
        c["shown"]["last_frame"].as_u64().unwrap() as usize,
    );
    assert_eq!(frames[0], first);
    assert!(frames.contains(&last));
    assert_eq!(strings(&fh["clip"]).len(), frames.len());
    let (clip, ffmpeg_clip) = check_against_ffmpeg(&hall, &out, &m);
    assert!(
        fh["reproduce"][1]
            .as_str()
            .unwrap()
            .contains("-f framehash -hash sha256")
    );

    let (ok, text) = verify(&cache, &out, &["--frames"]);
    assert!(ok, "{text}");
    let n = frames.len();
    assert!(
        text.contains(&format!("(frame hashes): {n} pictures as listed")),
        "{text}"
    );
    assert!(
        text.contains(&format!("original frames {first}–")),
        "{text}"
    );

    // The forger: new pictures in the clip (re-encoded, same frame count), and every hash the
    // folder states of the file rewritten to match: manifest, report, SHA256SUMS.
    let forged = dir.path().join("forged.mp4");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-c:v",
        "libx264",
        "-crf",
        "40",
        "-an",
        forged.to_str().unwrap(),
    ]);
    assert_eq!(
        ffmpeg_frame_hashes(&forged, "0:v:0").len(),
        ffmpeg_clip.len()
    );
    let old_sha = sha256(&clip);
    std::fs::copy(&forged, &clip).unwrap();
    let new_sha = sha256(&clip);
    let manifest_path = out.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["clips"][0]["sha256"] = Value::from(new_sha.clone());
    manifest["clips"][0]["bytes"] = Value::from(std::fs::metadata(&clip).unwrap().len());
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let report_path = out.join("report.html");
    let report = std::fs::read_to_string(&report_path).unwrap();
    std::fs::write(&report_path, report.replace(&old_sha, &new_sha)).unwrap();
    let sums: String = ["manifest.json", "report.html", c["file"].as_str().unwrap()]
        .iter()
        .map(|n| format!("{}  {n}\n", sha256(&out.join(n))))
        .collect();
    std::fs::write(out.join("SHA256SUMS"), sums).unwrap();

    let (ok, text) = verify(&cache, &out, &[]);
    assert!(
        ok,
        "the forgery is consistent: hashes alone cannot catch it\n{text}"
    );
    let (ok, text) = verify(&cache, &out, &["--frames"]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("(frame hashes): picture 1 of") && text.contains("DIFFERS"),
        "{text}"
    );
    assert!(
        !text.contains("PROBLEM  original frames"),
        "the original still holds its frames\n{text}"
    );
}

#[test]
fn frames_of_a_moved_or_altered_original_are_checked_where_it_is_given() {
    let dir = tempdir();
    let cache = dir.path().join("cache");
    // An exact export (a re-encoded head spliced to copied packets) of a copy of the footage.
    let src = dir.path().join("car.mp4");
    std::fs::copy(footage("car-detection.mp4"), &src).unwrap();
    let out = dir.path().join("car-exact");
    let m = export(&cache, &src, "12.3", "17.9", &out, &["--exact"]);
    let fh = &m["clips"][0]["frame_hashes"];
    assert_eq!(fh["identical"], true, "{fh}");
    assert_eq!(fh["source_frames"], serde_json::json!([[153, 223]]));
    check_against_ffmpeg(&src, &out, &m);

    // The original moved away: the clips are still checked, and the note says what was not.
    let moved = dir.path().join("moved.mp4");
    std::fs::rename(&src, &moved).unwrap();
    let (ok, text) = verify(&cache, &out, &["--frames"]);
    assert!(ok, "{text}");
    assert!(text.contains("NOTE     the original is not at"), "{text}");
    assert!(!text.contains("original frames"), "{text}");
    let (ok, text) = verify(
        &cache,
        &out,
        &["--frames", "--source", moved.to_str().unwrap()],
    );
    assert!(ok, "{text}");
    assert!(text.contains("original frames 153–223"), "{text}");
    assert!(!text.contains("NOTE"), "{text}");

    // Another recording given as the original: its frames are not the clip's source.
    let other = dir.path().join("other.mp4");
    ffmpeg(&[
        "-i",
        moved.to_str().unwrap(),
        "-vf",
        "hflip",
        "-c:v",
        "libx264",
        "-an",
        other.to_str().unwrap(),
    ]);
    let (ok, text) = verify(
        &cache,
        &out,
        &["--frames", "--source", other.to_str().unwrap()],
    );
    assert!(!ok, "{text}");
    assert!(text.contains("is not the original's"), "{text}");
    assert!(
        text.contains("PROBLEM  original frames 153–223") && text.contains("DIFFERS"),
        "{text}"
    );
    assert!(
        !text.contains("PROBLEM  car_"),
        "the clip itself is as listed\n{text}"
    );

    // --frames checks export folders; --source needs --frames.
    let o = run(vigil(&cache)
        .args(["verify", "--source"])
        .arg(&moved)
        .arg(&out));
    assert_eq!(o.status.code(), Some(2));
}

/// The rotation ffprobe reads from a file's first video stream, if any.
fn rotation(path: &Path) -> Option<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream_side_data=rotation",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

#[test]
fn clips_of_turned_footage_keep_its_display_matrix_and_its_own_pictures() {
    let dir = tempdir();
    let cache = dir.path().join("cache");
    let plain = dir.path().join("plain.mp4");
    ffmpeg(&[
        "-i",
        footage("car-detection.mp4").to_str().unwrap(),
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-g",
        "30",
        "-an",
        plain.to_str().unwrap(),
    ]);
    // The tkhd matrix of the plain file set by hand to a 90° turn, as phones record.
    let mut b = std::fs::read(&plain).unwrap();
    let p = b.windows(4).position(|w| w == b"tkhd").unwrap();
    assert_eq!(b[p + 4], 0, "tkhd version 0");
    let m: [i32; 9] = [0, 0x10000, 0, -0x10000, 0, 0, 432 << 16, 0, 0x4000_0000];
    for (i, v) in m.iter().enumerate() {
        b[p + 44 + 4 * i..p + 48 + 4 * i].copy_from_slice(&v.to_be_bytes());
    }
    let turned = dir.path().join("turned.mp4");
    std::fs::write(&turned, b).unwrap();
    assert_eq!(rotation(&turned).as_deref(), Some("-90"));
    for (name, extra) in [("copy", &[][..]), ("exact", &["--exact"][..])] {
        let out = dir.path().join(name);
        let m = export(&cache, &turned, "1.25", "2.5", &out, extra);
        let c = &m["clips"][0];
        let clip = out.join(c["file"].as_str().unwrap());
        assert_eq!(rotation(&clip).as_deref(), Some("-90"), "{name}");
        assert_eq!(c["frame_hashes"]["identical"], true, "{name}: {c}");
        check_against_ffmpeg(&turned, &out, &m);
    }
}
