#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What DVRs and NVRs export, made here from real encoders: raw H.264/HEVC elementary streams
//! with and without VUI timing (and `--fps` for the ones without), Dahua `.dav` (DHAV framing
//! written by this test around a real x264 stream), MPEG-PS with H.264 behind a Hikvision-style
//! header, Matroska named `.mp4`, and a two-camera file scored stream by stream.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// 12 fps for 3 s: 36 frames.
const PATTERN: &str = "testsrc2=d=3:s=176x144:r=12";

fn make(dir: &Path, name: &str, input: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut all = vec!["-f", "lavfi", "-i", input];
    all.extend_from_slice(args);
    all.push(out.to_str().unwrap());
    ffmpeg(&all);
    out
}

fn score(file: &Path, extra: &[&str]) -> Output {
    let cache = tempdir();
    run(vigil(cache.path())
        .args(["score", "--device", "cpu", "--json"])
        .args(extra)
        .arg(file))
}

fn score_ok(file: &Path, extra: &[&str]) -> Vec<Value> {
    let out = score(file, extra);
    assert!(
        out.status.success(),
        "{} {extra:?}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    json_docs(&out)
}

fn one_line_error(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(needle), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn duration(doc: &Value) -> f64 {
    doc["video"]["duration_s"].as_f64().unwrap()
}

fn warnings(doc: &Value) -> String {
    doc["video"]["warnings"].to_string()
}

fn ffprobe_duration(file: &Path) -> f64 {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Exports `from..to` with `extra` and returns (manifest, the clip written).
fn export(file: &Path, from: &str, to: &str, extra: &[&str]) -> (Value, PathBuf) {
    let cache = tempdir();
    let name = file.file_name().unwrap().to_string_lossy();
    let folder = file.with_file_name(format!("export-{name}"));
    let out = run(vigil(cache.path())
        .args(["export", "--from", from, "--to", to, "--json", "-o"])
        .arg(&folder)
        .args(extra)
        .arg(file));
    assert!(
        out.status.success(),
        "{} {extra:?}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let clip = folder.join(m["clips"][0]["file"].as_str().unwrap());
    (m, clip)
}

#[test]
fn raw_streams_are_timed_by_their_vui_or_by_the_rate_given() {
    let dir = tempdir();
    // x264 always writes VUI timing: FFmpeg takes the 12 fps from it.
    let avc = make(
        dir.path(),
        "cam1.264",
        PATTERN,
        &["-c:v", "libx264", "-f", "h264"],
    );
    let doc = &score_ok(&avc, &[])[0];
    assert_eq!(doc["video"]["timing"], "stream_header");
    assert!((duration(doc) - 3.0).abs() < 0.01, "{}", duration(doc));
    assert!(!warnings(doc).contains("frame times"), "{}", warnings(doc));
    // --fps on a stream that times itself is refused, with the rate it has.
    one_line_error(
        &score(&avc, &["--fps", "25"]),
        3,
        "--fps cannot be used here: the stream's own header (VUI) times its frames at 12.000 fps",
    );

    // x265 without VUI timing: FFmpeg's raw demuxer assumes 25 fps and the report says so.
    let hevc = make(
        dir.path(),
        "cam2.265",
        PATTERN,
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "vui-timing-info=0:log-level=error",
            "-f",
            "hevc",
        ],
    );
    let doc = &score_ok(&hevc, &[])[0];
    assert_eq!(doc["video"]["timing"], "assumed");
    assert!(
        (duration(doc) - 36.0 / 25.0).abs() < 0.01,
        "{}",
        duration(doc)
    );
    assert!(warnings(doc).contains("no VUI timing"), "{}", warnings(doc));
    assert!(warnings(doc).contains("--fps N"), "{}", warnings(doc));
    // The recorder's rate, given: the true 3 s, the clip table of 36 frames at 12 fps.
    let doc = &score_ok(&hevc, &["--fps", "12"])[0];
    assert_eq!(doc["video"]["timing"], "given");
    assert!((duration(doc) - 3.0).abs() < 0.01, "{}", duration(doc));
    assert_eq!(doc["video"]["frames"], 36);
    let frames: Vec<(f64, Option<f64>)> = (0..36).map(|i| (f64::from(i) / 12.0, None)).collect();
    assert_eq!(
        doc["clips"].as_array().unwrap().len(),
        expected_clips(&frames, 12.0).len()
    );
    assert!(
        warnings(doc).contains("given with --fps"),
        "{}",
        warnings(doc)
    );
    // The export keeps that clock: frames 12..24 are 1.0..2.0 s, and the clip plays for 1 s.
    let (m, clip) = export(&hevc, "1", "2", &["--fps", "12"]);
    assert_eq!(m["source"]["timing"], "given");
    assert_eq!(m["clips"][0]["shown"]["first_frame"], 12);
    let d = ffprobe_duration(&clip);
    assert!((d - 1.0).abs() < 0.1, "clip lasts {d} s");

    // Multipart MJPEG has no rate setting in FFmpeg: the given rate rescales its clock.
    let mp = make(
        dir.path(),
        "cam3.mjpeg",
        PATTERN,
        &["-c:v", "mjpeg", "-f", "mpjpeg"],
    );
    let doc = &score_ok(&mp, &["--fps", "12"])[0];
    assert!((duration(doc) - 3.0).abs() < 0.01, "{}", duration(doc));
    let (m, clip) = export(&mp, "1", "2", &["--fps", "12"]);
    assert_eq!(m["clips"][0]["shown"]["first_frame"], 12);
    let d = ffprobe_duration(&clip);
    assert!((d - 1.0).abs() < 0.1, "clip lasts {d} s");

    // A container that times its frames.
    let mp4 = make(dir.path(), "cam4.mp4", PATTERN, &["-c:v", "libx264"]);
    one_line_error(
        &score(&mp4, &["--fps", "12"]),
        3,
        "container times every frame",
    );
    one_line_error(&score(&hevc, &["--fps", "0"]), 3, "is not a frame rate");
}

/// Dahua's date word: seconds, minutes, hours, day, month, years since 2000 in bit fields.
fn dhav_date(sec: u32) -> u32 {
    let (year, month, day, hour, min) = (2026u32, 11u32, 30u32, 22u32, 15u32);
    sec | (min << 6) | (hour << 12) | (day << 17) | (month << 22) | ((year - 2000) << 26)
}

/// One H.264 access unit per chunk (x264 writes an access unit delimiter before each).
fn access_units(h264: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 < h264.len() {
        if h264[i..i + 3] == [0, 0, 1] && h264[i + 3] & 0x1f == 9 {
            starts.push(if i > 0 && h264[i - 1] == 0 { i - 1 } else { i });
            i += 3;
        }
        i += 1;
    }
    starts.push(h264.len());
    starts.windows(2).map(|w| &h264[w[0]..w[1]]).collect()
}

fn is_idr(au: &[u8]) -> bool {
    au.windows(4)
        .any(|w| w[..3] == [0, 0, 1] && w[3] & 0x1f == 5)
}

/// Wraps a raw H.264 stream in DHAV chunks as Dahua recorders write them: a 24-byte header
/// ("DHAV", frame type, number, length, date, millisecond counter, extension length), on
/// keyframes the codec, rate and size extensions, the access unit, and a "dhav" trailer.
fn write_dav(h264: &[u8], fps: u32, (w, h): (u16, u16), out: &Path) -> usize {
    let mut file = Vec::new();
    let units = access_units(h264);
    for (n, au) in units.iter().enumerate() {
        let ms = n as u32 * 1000 / fps;
        let key = is_idr(au);
        let mut ext = Vec::new();
        if key {
            ext.extend([0x81, 0, 0x02, fps as u8]);
            ext.extend([0x82, 0, 0, 0]);
            ext.extend(w.to_le_bytes());
            ext.extend(h.to_le_bytes());
        }
        let len = (24 + ext.len() + au.len() + 8) as u32;
        file.extend(b"DHAV");
        file.extend([if key { 0xfd } else { 0xfc }, 0, 0, 0]);
        file.extend((n as u32).to_le_bytes());
        file.extend(len.to_le_bytes());
        file.extend(dhav_date(ms / 1000).to_le_bytes());
        file.extend(((ms % 65536) as u16).to_le_bytes());
        file.push(ext.len() as u8);
        file.push(0);
        file.extend(&ext);
        file.extend(*au);
        file.extend(b"dhav");
        file.extend(len.to_le_bytes());
    }
    std::fs::write(out, file).unwrap();
    units.len()
}

#[test]
fn recorder_files_open_by_their_content() {
    let dir = tempdir();
    // Dahua .dav: 4 s at 10 fps, a keyframe a second, no B-frames (as recorders encode).
    let raw = make(
        dir.path(),
        "dahua.264",
        "testsrc2=d=4:s=176x144:r=10",
        &[
            "-c:v",
            "libx264",
            "-bf",
            "0",
            "-g",
            "10",
            "-x264-params",
            "aud=1",
            "-f",
            "h264",
        ],
    );
    let dav = dir.path().join("ch01_20261130221500.dav");
    let units = write_dav(&std::fs::read(&raw).unwrap(), 10, (176, 144), &dav);
    assert_eq!(units, 40);
    let doc = &score_ok(&dav, &[])[0];
    assert_eq!(doc["video"]["container"], "dhav");
    assert_eq!(doc["video"]["frames"], 40);
    assert!((duration(doc) - 4.0).abs() < 0.01, "{}", duration(doc));
    assert_eq!(doc["video"]["partial"], false);
    let (m, _) = export(&dav, "1", "2", &[]);
    assert_eq!(m["clips"][0]["shown"]["first_frame"], 10);

    // MPEG-PS with H.264 behind a 40-byte "IMKH" header, as Hikvision recorders write it, and
    // named .mp4 as they name it.
    let ps = make(
        dir.path(),
        "ps.mpg",
        PATTERN,
        &["-c:v", "libx264", "-bf", "0", "-g", "12", "-f", "mpeg"],
    );
    let mut hik = b"IMKH\x01\x01\x00\x00\x02\x00\x01\x00\x21\x72\x01\x10\x00\x7d".to_vec();
    hik.resize(40, 0);
    hik.extend(std::fs::read(&ps).unwrap());
    let hik_file = dir.path().join("hik_ch2.mp4");
    std::fs::write(&hik_file, hik).unwrap();
    let doc = &score_ok(&hik_file, &[])[0];
    assert_eq!(doc["video"]["container"], "mpeg");
    assert_eq!(doc["video"]["frames"], 36);
    assert!((duration(doc) - 3.0).abs() < 0.01, "{}", duration(doc));

    // Matroska named .mp4 opens as Matroska, with its true duration.
    let mkv = make(
        dir.path(),
        "lying.mkv",
        PATTERN,
        &["-c:v", "libx264", "-f", "matroska"],
    );
    let lying = dir.path().join("export_cam3.mp4");
    std::fs::rename(&mkv, &lying).unwrap();
    let doc = &score_ok(&lying, &[])[0];
    assert_eq!(doc["video"]["container"], "matroska,webm");
    assert!((duration(doc) - 3.0).abs() < 0.01, "{}", duration(doc));
}

#[test]
fn a_two_camera_file_is_scored_stream_by_stream() {
    let dir = tempdir();
    let file = two_camera_mkv(dir.path());
    let before = sha256(&file);

    // By default FFmpeg's pick, and a warning naming the stream left out.
    let doc = &score_ok(&file, &[])[0];
    let default_stream = doc["video"]["stream"].as_u64().unwrap();
    assert_eq!(doc["video"]["video_streams"], serde_json::json!([0, 1]));
    let other = 1 - default_stream;
    assert!(
        warnings(doc).contains(&format!("not #{other}; score the others with --stream N")),
        "{}",
        warnings(doc)
    );

    // All: one report per camera, each of its own pictures.
    let docs = score_ok(&file, &["--stream", "all"]);
    assert_eq!(docs.len(), 2);
    let sizes: Vec<(u64, u64, u64)> = docs
        .iter()
        .map(|d| {
            let v = &d["video"];
            (
                v["stream"].as_u64().unwrap(),
                v["width"].as_u64().unwrap(),
                v["height"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sizes, [(0, 176, 144), (1, 320, 240)]);
    let scores = |d: &Value| -> Vec<f64> {
        d["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["score"].as_f64().unwrap())
            .collect()
    };
    assert_ne!(scores(&docs[0]), scores(&docs[1]));
    // One stream by number: the same as its report in `all`.
    let one = &score_ok(&file, &["--stream", "1"])[0];
    assert_eq!(one["video"]["stream"], 1);
    assert_eq!(scores(one), scores(&docs[1]));

    one_line_error(
        &score(&file, &["--stream", "5"]),
        3,
        "stream #5 is not a video stream of this file (video streams: #0, #1)",
    );

    // Export of the second camera: its pictures, and the manifest says which stream.
    let (m, clip) = export(&file, "1", "2", &["--stream", "1"]);
    assert_eq!(m["source"]["stream"], 1);
    assert_eq!(m["source"]["width"], 320);
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "stream=width",
            "-of",
            "csv=p=0",
        ])
        .arg(&clip)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "320");
    assert_eq!(sha256(&file), before, "the original is unchanged");
}

/// ffmpeg's own picture of the first frame (its CLI deinterlaces with `vf` and turns the
/// picture by the display matrix), as RGB at `w`×`h`.
fn ffmpeg_first_frame(file: &Path, vf: &str, (w, h): (u32, u32)) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(file)
        .args(["-frames:v", "1", "-vf"])
        .arg(format!("{vf}scale={w}:{h}:flags=bilinear"))
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

/// An MP4 whose track header turns the picture 90° clockwise (as phones and body cameras
/// record): the tkhd matrix of a plain x264 file, set by hand.
fn rotate_mp4(src: &Path, out: &Path, height: i32) {
    let mut b = std::fs::read(src).unwrap();
    let p = b.windows(4).position(|w| w == b"tkhd").unwrap();
    assert_eq!(b[p + 4], 0, "tkhd version 0");
    let m: [i32; 9] = [0, 0x10000, 0, -0x10000, 0, 0, height << 16, 0, 0x4000_0000];
    for (i, v) in m.iter().enumerate() {
        b[p + 44 + 4 * i..p + 48 + 4 * i].copy_from_slice(&v.to_be_bytes());
    }
    std::fs::write(out, b).unwrap();
}

#[test]
fn interlaced_footage_is_deinterlaced_and_turned_footage_turned_upright() {
    let dir = tempdir();
    // Interlaced MPEG-2 as a DVR's analogue inputs record it: fields woven, top first.
    let inter = make(
        dir.path(),
        "analogue.mpg",
        "testsrc2=d=3:s=320x240:r=25",
        &[
            "-vf",
            "tinterlace=mode=interleave_top,setfield=tff",
            "-c:v",
            "mpeg2video",
            "-flags",
            "+ildct+ilme",
            "-top",
            "1",
            "-q:v",
            "2",
        ],
    );
    let pic = vigil::video::picture_at(&inter, 0.0, 320, 240).unwrap();
    assert_eq!((pic.width, pic.height), (320, 240));
    let bwdif = ffmpeg_first_frame(
        &inter,
        "bwdif=mode=send_frame:parity=auto:deint=all,",
        (320, 240),
    );
    let woven = ffmpeg_first_frame(&inter, "", (320, 240));
    let (to_bwdif, to_woven) = (
        mean_abs_diff(&pic.rgb, &bwdif),
        mean_abs_diff(&pic.rgb, &woven),
    );
    assert!(
        to_bwdif < 2.0 && to_bwdif < to_woven / 2.0,
        "vigil's picture is {to_bwdif:.2} from ffmpeg's bwdif and {to_woven:.2} from the woven fields"
    );
    let doc = &score_ok(&inter, &[])[0];
    assert!(warnings(doc).contains("interlaced"), "{}", warnings(doc));
    assert!(warnings(doc).contains("deinterlaced"), "{}", warnings(doc));

    // Turned 90° clockwise by the container: the picture comes out 240 wide and 320 high,
    // as ffmpeg shows it.
    let plain = make(
        dir.path(),
        "plain.mp4",
        "testsrc2=d=2:s=320x240:r=15",
        &["-c:v", "libx264", "-qp", "0"],
    );
    let turned = dir.path().join("bodycam.mp4");
    rotate_mp4(&plain, &turned, 240);
    let pic = vigil::video::picture_at(&turned, 0.0, 240, 320).unwrap();
    assert_eq!((pic.width, pic.height), (240, 320));
    let upright = ffmpeg_first_frame(&turned, "", (240, 320));
    let wrong_way = ffmpeg_first_frame(&plain, "transpose=cclock,", (240, 320));
    let (ok, wrong) = (
        mean_abs_diff(&pic.rgb, &upright),
        mean_abs_diff(&pic.rgb, &wrong_way),
    );
    assert!(
        ok < 2.0 && ok < wrong / 4.0,
        "vigil's picture is {ok:.2} from ffmpeg's upright one and {wrong:.2} from the wrong turn"
    );
    let doc = &score_ok(&turned, &[])[0];
    assert!(warnings(doc).contains("90° clockwise"), "{}", warnings(doc));
}
