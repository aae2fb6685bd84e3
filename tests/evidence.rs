#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Evidence exports on real footage: packets byte-identical to the original (FFmpeg's
//! framemd5), the first shown frame is the asked one, the clip plays, the folder verifies, and
//! tampering, missing and extra files are caught. A killed export never looks complete.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const EXIT_VERIFY: i32 = 5;

/// (size, md5) of every video packet, in order, as FFmpeg's framemd5 muxer reports them.
fn packet_md5s(path: &Path) -> Vec<(String, String)> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"])
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
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            (f[4].to_string(), f[5].to_string())
        })
        .collect()
}

/// The first decoded (shown) frame of a file, as raw RGB.
fn first_shown_frame(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Source frame `n` (0-based, presentation order), as raw RGB.
fn source_frame(path: &Path, n: u64) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("select=eq(n\\,{n})"),
            "-vsync",
            "0",
            "-frames:v",
            "1",
        ])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Decodes the whole file; returns (shown frames, FFmpeg's error output).
fn full_decode(path: &Path) -> (usize, String) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-f", "framemd5", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let frames = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    (frames, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs `vigil export … --json` and returns the export folder and its manifest.
fn export(src: &Path, from: &str, to: &str, out: &Path, extra: &[&str]) -> (PathBuf, Value) {
    let cache = out.with_extension("cache");
    let o = run(vigil(&cache)
        .args([
            "export",
            "--json",
            "--analyst",
            "Test Analyst",
            "--from",
            from,
            "--to",
            to,
            "-o",
        ])
        .arg(out)
        .args(extra)
        .arg(src));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    (out.to_path_buf(), m)
}

fn check_clip(src: &Path, dir: &Path, m: &Value, from_s: f64) {
    let clip = &m["clips"][0];
    let file = dir.join(clip["file"].as_str().unwrap());

    // Byte identity: the clip's packets are a contiguous run of the original's.
    let ours = packet_md5s(&file);
    let theirs = packet_md5s(src);
    let start = theirs
        .iter()
        .position(|p| *p == ours[0])
        .expect("first packet found in the source");
    assert_eq!(
        &theirs[start..start + ours.len()],
        &ours[..],
        "packets byte-identical"
    );
    assert_eq!(clip["video_packets"].as_u64().unwrap() as usize, ours.len());

    // The first shown frame is the source frame at the asked time (within one frame).
    let first = clip["shown"]["first_frame"].as_u64().unwrap();
    let times = ffprobe_frames(src);
    let t0 = times[0].0;
    let at = times.iter().filter(|t| t.0 - t0 <= from_s + 0.0005).count() as u64 - 1;
    assert_eq!(first, at, "the frame on screen at {from_s} s");
    let frame_s = times[first as usize + 1].0 - times[first as usize].0;
    assert!((clip["shown"]["from_s"].as_f64().unwrap() - from_s).abs() < frame_s);
    assert_eq!(
        first_shown_frame(&file),
        source_frame(src, first),
        "pixel-identical first frame"
    );

    // It plays: ffprobe reads it, a full decode shows exactly the listed frames without errors.
    let (shown, errors) = full_decode(&file);
    assert!(errors.trim().is_empty(), "decode errors: {errors}");
    let last = clip["shown"]["last_frame"].as_u64().unwrap();
    let trailing = clip["trailing_frames"].as_array().unwrap().len() as u64;
    assert_eq!(shown as u64, last - first + 1 + trailing, "frames shown");

    // The folder verifies, and the original is untouched.
    let v = run(vigil(dir).arg("verify").arg(dir));
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    assert_eq!(m["source"]["sha256"].as_str().unwrap(), sha256(src));
    assert_eq!(m["source"]["unchanged_after_export"], Value::Bool(true));
}

#[test]
fn stream_copy_exports_are_byte_identical_and_start_on_the_asked_frame() {
    let dir = tempdir();
    // Baseline H.264 at 12.5 fps (no B-frames).
    let car = footage("car-detection.mp4");
    let before = sha256(&car);
    let (d, m) = export(&car, "12.3", "0:17.9", &dir.path().join("car"), &[]);
    assert_eq!(m["clips"][0]["container"], "mp4");
    assert_eq!(m["clips"][0]["lead_in_hidden"], Value::Bool(true));
    assert_eq!(m["analyst"], "Test Analyst");
    check_clip(&car, &d, &m, 12.3);

    // Main profile with B-frames at 10 fps.
    let hall = footage("one-by-one-person-detection.mp4");
    let (d, m) = export(&hall, "61.45", "65", &dir.path().join("hall"), &[]);
    assert!(
        m["clips"][0]["lead_in_frames"].as_u64().unwrap() > 0,
        "starts between keyframes"
    );
    check_clip(&hall, &d, &m, 61.45);
    assert_eq!(sha256(&car), before);
}

#[test]
fn other_containers_are_remuxed_and_said_so() {
    let dir = tempdir();
    // H.264 in Matroska → MP4 (keeps the edit list).
    let mkv = dir.path().join("car.mkv");
    ffmpeg(&[
        "-i",
        footage("car-detection.mp4").to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);
    let (d, m) = export(&mkv, "5", "9", &dir.path().join("mkv"), &[]);
    let c = &m["clips"][0];
    assert_eq!(c["container"], "mp4");
    assert!(
        c["container_note"]
            .as_str()
            .unwrap()
            .contains("remuxed from matroska")
    );
    check_clip(&mkv, &d, &m, 5.0);

    // FFV1 cannot go in MP4: Matroska, with the lead-in visible and said so.
    let ffv1 = dir.path().join("lossless.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=6:s=320x240:r=25",
        "-c:v",
        "ffv1",
        "-g",
        "25",
        ffv1.to_str().unwrap(),
    ]);
    let (_, m) = export(&ffv1, "2.5", "4", &dir.path().join("ffv1"), &[]);
    let c = &m["clips"][0];
    assert_eq!(c["container"], "matroska");
    assert_eq!(c["lead_in_hidden"], Value::Bool(false));
    assert!(
        c["container_note"]
            .as_str()
            .unwrap()
            .contains("no edit lists")
    );
    assert!(
        (c["shown"]["from_s"].as_f64().unwrap() - 2.0).abs() < 1e-6,
        "starts at the keyframe at 2 s"
    );
}

#[test]
fn verify_detects_flipped_byte_missing_and_extra_files() {
    let dir = tempdir();
    let (d, m) = export(
        &footage("car-detection.mp4"),
        "3",
        "6",
        &dir.path().join("e"),
        &[],
    );
    let clip = d.join(m["clips"][0]["file"].as_str().unwrap());
    let verify = |p: &Path| run(vigil(dir.path()).arg("verify").arg(p));
    assert!(verify(&d).status.success());

    let mut bytes = std::fs::read(&clip).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&clip, &bytes).unwrap();
    let o = verify(&d);
    assert_eq!(o.status.code(), Some(EXIT_VERIFY));
    assert!(String::from_utf8_lossy(&o.stdout).contains("MODIFIED"));
    bytes[mid] ^= 0x01;
    std::fs::write(&clip, &bytes).unwrap();
    assert!(verify(&d).status.success(), "restored");

    let report = std::fs::read(d.join("report.html")).unwrap();
    std::fs::remove_file(d.join("report.html")).unwrap();
    let o = verify(&d);
    assert_eq!(o.status.code(), Some(EXIT_VERIFY));
    assert!(String::from_utf8_lossy(&o.stdout).contains("report.html: MISSING"));
    std::fs::write(d.join("report.html"), report).unwrap();

    std::fs::write(d.join("notes.txt"), b"added after the export").unwrap();
    let o = verify(&d);
    assert_eq!(o.status.code(), Some(EXIT_VERIFY));
    assert!(String::from_utf8_lossy(&o.stdout).contains("notes.txt: EXTRA"));

    // A clip changed together with its SHA256SUMS line still fails: the manifest (and the
    // report) record the exported bytes.
    std::fs::remove_file(d.join("notes.txt")).unwrap();
    let sums = std::fs::read_to_string(d.join("SHA256SUMS")).unwrap();
    let old_hash = m["clips"][0]["sha256"].as_str().unwrap();
    bytes[mid] ^= 0x01;
    std::fs::write(&clip, &bytes).unwrap();
    let new_hash = Command::new("sha256sum").arg(&clip).output().unwrap();
    let new_hash = String::from_utf8_lossy(&new_hash.stdout)[..64].to_string();
    std::fs::write(d.join("SHA256SUMS"), sums.replace(old_hash, &new_hash)).unwrap();
    let o = verify(&d);
    assert_eq!(o.status.code(), Some(EXIT_VERIFY));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("DISAGREES"), "{text}");
    bytes[mid] ^= 0x01;
    std::fs::write(&clip, &bytes).unwrap();
    std::fs::write(d.join("SHA256SUMS"), &sums).unwrap();
    assert!(verify(&d).status.success(), "restored");

    // sha256sum agrees with the format.
    let s = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stdout));
}

#[test]
fn exports_never_overwrite() {
    let dir = tempdir();
    let out = dir.path().join("same");
    let (_, m1) = export(&footage("car-detection.mp4"), "3", "5", &out, &[]);
    let o = run(vigil(dir.path())
        .args(["export", "--json", "--from", "3", "--to", "5", "-o"])
        .arg(&out)
        .arg(footage("car-detection.mp4")));
    assert!(o.status.success());
    assert!(
        out.is_dir() && dir.path().join("same-2").is_dir(),
        "a new folder, the first untouched"
    );
    assert!(
        run(vigil(dir.path()).arg("verify").arg(&out))
            .status
            .success()
    );
    assert_eq!(m1["clips"].as_array().unwrap().len(), 1);
}

#[test]
fn a_killed_export_never_looks_complete() {
    let dir = tempdir();
    let out = dir.path().join("killed");
    let mut child = vigil(dir.path())
        .env("VIGIL_EXPORT_THROTTLE_US", "30000")
        .args(["export", "--from", "0", "--to", "30", "-o"])
        .arg(&out)
        .arg(footage("car-detection.mp4"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let staging = dir.path().join(".killed.partial");
    let deadline = Instant::now() + Duration::from_secs(60);
    // Wait until the clip is being written inside the staging folder.
    loop {
        let writing = std::fs::read_dir(&staging)
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            })
            .unwrap_or(false);
        if writing {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the export never started writing"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "no folder under the final name");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with('.') && n.ends_with(".partial")),
        "{names:?}"
    );
}

#[test]
fn the_case_audit_log_records_exports_and_verifications() {
    let dir = tempdir();
    let case = dir.path().join("case.vigil.json");
    let (d, m) = export(
        &footage("car-detection.mp4"),
        "1",
        "2",
        &dir.path().join("e"),
        &["--case", case.to_str().unwrap()],
    );
    assert!(
        run(vigil(dir.path())
            .args(["verify", "--case"])
            .arg(&case)
            .arg(&d))
        .status
        .success()
    );
    let log = vigil::case::audit::read(&vigil::case::audit::audit_path_for(&case)).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, vigil::case::audit::AuditAction::Exported);
    assert_eq!(log[0].details["source_sha256"], m["source"]["sha256"]);
    assert_eq!(log[1].action, vigil::case::audit::AuditAction::Verified);
    assert_eq!(log[1].details["passed"], Value::Bool(true));
}

#[test]
fn bad_export_requests_are_one_line_errors() {
    let dir = tempdir();
    let o = run(vigil(dir.path())
        .args(["export", "--from", "5", "--to", "3"])
        .arg(footage("car-detection.mp4")));
    assert_eq!(o.status.code(), Some(2));
    let o = run(vigil(dir.path())
        .args(["export", "--from", "1:75", "--to", "3"])
        .arg(footage("car-detection.mp4")));
    assert_eq!(o.status.code(), Some(2), "clap rejects a bad time");
    let o = run(vigil(dir.path())
        .args(["export", "--from", "0", "--to", "3", "-o"])
        .arg(dir.path().join("x"))
        .arg(dir.path().join("missing.mp4")));
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no such file"));
    assert!(
        !dir.path().join("x").exists(),
        "nothing written for a failed export"
    );
}

/// md5 of every decoded video frame, in presentation order (no frame-rate conversion).
fn decoded_md5s(path: &Path) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-vsync",
            "passthrough",
            "-f",
            "framemd5",
            "-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn exact_exports_of_b_frame_footage_reencode_the_whole_span_with_identical_pixels() {
    let dir = tempdir();
    let hall = footage("one-by-one-person-detection.mp4");
    let (d, m) = export(
        &hall,
        "61.45",
        "63.05",
        &dir.path().join("exact"),
        &["--exact"],
    );
    let c = &m["clips"][0];
    let (first, last) = (
        c["shown"]["first_frame"].as_u64().unwrap() as usize,
        c["shown"]["last_frame"].as_u64().unwrap() as usize,
    );
    assert_eq!(
        (first, last),
        (614, 630),
        "61.4 s is on screen at 61.45; 63.0 is the last before 63.05"
    );
    assert_eq!(c["reencoded_frames"], serde_json::json!([[614, 630]]));
    assert_eq!(c["lead_in_frames"], 0);
    assert!(c["container_note"].as_str().unwrap().contains("losslessly"));
    let ours = decoded_md5s(&d.join(c["file"].as_str().unwrap()));
    let source = decoded_md5s(&hall);
    assert_eq!(
        ours,
        source[first..=last].to_vec(),
        "every frame decodes to the original's pixels"
    );
    assert!(
        run(vigil(dir.path()).arg("verify").arg(&d))
            .status
            .success()
    );
}

#[test]
fn exact_exports_without_b_frames_reencode_only_the_first_partial_gop() {
    let dir = tempdir();
    let car = footage("car-detection.mp4");
    let (d, m) = export(
        &car,
        "12.3",
        "17.9",
        &dir.path().join("exact"),
        &["--exact"],
    );
    let c = &m["clips"][0];
    let (first, last) = (
        c["shown"]["first_frame"].as_u64().unwrap() as usize,
        c["shown"]["last_frame"].as_u64().unwrap() as usize,
    );
    assert_eq!((first, last), (153, 223));
    // Keyframes every 30 frames: 153..=179 re-encoded, 180.. copied.
    assert_eq!(c["reencoded_frames"], serde_json::json!([[153, 179]]));
    let file = d.join(c["file"].as_str().unwrap());
    assert_eq!(
        decoded_md5s(&file),
        decoded_md5s(&car)[first..=last].to_vec(),
        "same pixels"
    );
    // From the second copied packet on, the packets are the original's byte for byte (the
    // first copied one carries the original's SPS/PPS in front).
    let ours = packet_md5s(&file);
    let theirs = packet_md5s(&car);
    let head = 179 - 153 + 1;
    assert_eq!(
        &ours[head + 1..],
        &theirs[181..=last],
        "copied packets byte-identical"
    );
    assert_ne!(
        ours[head], theirs[180],
        "the join packet has the parameter sets in front"
    );
}

#[test]
fn the_manifest_gives_the_recorders_wall_clock_when_the_container_has_it() {
    let dir = tempdir();
    let src = dir.path().join("cam.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=6:s=320x240:r=25",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-metadata",
        "creation_time=2026-11-29T08:15:00.000000Z",
        src.to_str().unwrap(),
    ]);
    let (_, m) = export(&src, "2", "4", &dir.path().join("e"), &[]);
    assert_eq!(m["source"]["creation_time"], "2026-11-29T08:15:00.000000Z");
    assert_eq!(
        m["clips"][0]["wall_clock_utc"],
        serde_json::json!(["2026-11-29T08:15:02.000Z", "2026-11-29T08:15:04.000Z"])
    );
}
