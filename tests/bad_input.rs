#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Bad input never panics: one clear line on stderr, a documented non-zero exit code, and the
//! input file left exactly as it was.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

const EXIT_FOOTAGE: i32 = 3;
const EXIT_MODEL: i32 = 4;

/// Asserts exactly one stderr line, containing `needle`, and the exit code.
fn assert_one_line(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("vigil: error: "), "{err}");
    assert!(lines[0].contains(needle), "expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Scores `file` on the CPU and checks the error line, then that the file is unchanged.
fn rejects(file: &Path, code: i32, needle: &str) {
    let cache = tempdir();
    let before = std::fs::read(file).ok();
    let out = run(vigil(cache.path())
        .args(["score", "--device", "cpu"])
        .arg(file));
    assert_one_line(&out, code, needle);
    assert!(out.stdout.is_empty(), "nothing on stdout for a failed file");
    assert_eq!(
        std::fs::read(file).ok(),
        before,
        "input must not be modified"
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Deterministic pseudo-random bytes (xorshift), so the case is the same on every run.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn missing_empty_random_and_text_files() {
    let dir = tempdir();
    rejects(&dir.path().join("nope.mp4"), EXIT_FOOTAGE, "no such file");
    rejects(
        &write(dir.path(), "empty.mp4", b""),
        EXIT_FOOTAGE,
        "empty (0 bytes)",
    );
    rejects(
        &write(dir.path(), "random.mp4", &noise(200_000)),
        EXIT_FOOTAGE,
        "not a video",
    );
    // FFmpeg's tty demuxer would "play" this as ANSI art.
    let text = "Shift log 2026-11-29\nNothing to report.\n".repeat(200);
    rejects(
        &write(dir.path(), "notes.txt", text.as_bytes()),
        EXIT_FOOTAGE,
        "not a video file (FFmpeg read it as 'tty'",
    );
    // A folder stands for the videos in it (`vigil score DIR`); one with none is an error.
    let empty = dir.path().join("empty-folder");
    std::fs::create_dir(&empty).unwrap();
    write(&empty, "notes.txt", text.as_bytes());
    rejects(&empty, EXIT_FOOTAGE, "no video files in this folder");
}

#[test]
fn audio_only_files_and_playlists_are_refused() {
    let dir = tempdir();
    let audio = dir.path().join("interview.m4a");
    ffmpeg(&["-f", "lavfi", "-i", "sine=d=2", audio.to_str().unwrap()]);
    rejects(&audio, EXIT_FOOTAGE, "has no video stream");

    // A concat list opens other files, which the hash of this one would not cover: refused
    // by its demuxer, although what it names is a real video.
    let clip = dir.path().join("clip.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=d=1:s=160x120",
        clip.to_str().unwrap(),
    ]);
    let list = write(
        dir.path(),
        "night.ffconcat",
        b"ffconcat version 1.0\nfile 'clip.mp4'\n",
    );
    rejects(&list, EXIT_FOOTAGE, "opens other files");
}

/// Runs `vigil score` on `path` with a deadline: a FIFO nobody writes to or `/dev/zero` must
/// be refused at once, not read forever.
fn refuses_quickly(path: &Path, needle: &str) {
    let cache = tempdir();
    let mut child = vigil(cache.path())
        .args(["score", "--device", "cpu"])
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{}: vigil did not return within 30 s", path.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_one_line(&out, EXIT_FOOTAGE, needle);
}

#[test]
fn fifos_devices_and_symlink_loops_are_named_for_what_they_are() {
    let dir = tempdir();
    let fifo = dir.path().join("camera1.mp4");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    refuses_quickly(&fifo, "is a named pipe (FIFO), not a video file");
    refuses_quickly(
        Path::new("/dev/zero"),
        "is a character device, not a video file",
    );
    let (a, b) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    refuses_quickly(&a, "symbolic links");
}

/// A 6-second H.264 MP4 cut to 60 % of its size, with the index at the end or the front.
fn truncated_mp4(dir: &Path, faststart: bool) -> PathBuf {
    let full = dir.join(format!("full-{faststart}.mp4"));
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=6:s=320x240:r=30",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "30",
    ];
    if faststart {
        args.extend(["-movflags", "+faststart"]);
    }
    args.push(full.to_str().unwrap());
    ffmpeg(&args);
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.join(format!("cut-{faststart}.mp4"));
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    cut
}

#[test]
fn truncated_mp4_with_index_at_end_is_refused_clearly() {
    let dir = tempdir();
    let cut = truncated_mp4(dir.path(), false);
    rejects(&cut, EXIT_FOOTAGE, "without its index (moov atom)");
}

#[test]
fn truncated_mp4_with_index_at_front_scores_what_decodes_and_says_so() {
    let dir = tempdir();
    let cut = truncated_mp4(dir.path(), true);
    let before = sha256(&cut);
    let out = run(vigil(dir.path())
        .args(["score", "--device", "cpu", "--json", "--no-cache"])
        .arg(&cut));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = &json_docs(&out)[0];
    assert_eq!(doc["video"]["partial"], serde_json::Value::Bool(true));
    assert_eq!(doc["video"]["frames_expected"].as_u64(), Some(180));
    let frames = doc["video"]["frames"].as_u64().unwrap();
    assert!(frames > 30 && frames < 180, "decoded {frames}");
    let warning = doc["video"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains(&format!("decoded {frames} of ~180 frames")),
        "{warning}"
    );
    // The summary says it too.
    let text = run(vigil(dir.path())
        .args(["score", "--device", "cpu", "--no-cache"])
        .arg(&cut));
    assert!(String::from_utf8_lossy(&text.stdout).contains("warning: decoded"));
    assert_eq!(sha256(&cut), before);
}

/// Copies the suite's pack into `dir` so it can be damaged; without its normal bank, whose
/// features belong to the extractor these tests alter (a pack that keeps it is refused for
/// that, `an_altered_extractor_invalidates_the_normal_bank`).
fn copy_pack(dir: &Path) -> PathBuf {
    pack_without_bank(dir)
}

fn edit_manifest(pack: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = pack.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    f(&mut m);
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

fn score_with_pack(pack: &Path) -> Output {
    let cache = tempdir();
    run(vigil(cache.path())
        .args(["score", "--device", "cpu", "--model"])
        .arg(pack)
        .arg(footage("people-detection.gif")))
}

#[test]
fn corrupt_model_files_are_caught_by_hash_and_by_onnx_runtime() {
    let dir = tempdir();
    let pack = copy_pack(dir.path());
    let onnx = pack.join("i3d_k400_rgb.onnx");
    let mut bytes = std::fs::read(&onnx).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&onnx, &bytes).unwrap();
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "is corrupt or was replaced",
    );

    // A truncated ONNX file whose manifest hash was "fixed" up still fails, in ONNX Runtime.
    bytes.truncate(mid);
    std::fs::write(&onnx, &bytes).unwrap();
    let sha = vigil::case::sha256_bytes(&bytes);
    edit_manifest(&pack, |m| m["extractor"]["sha256"] = sha.into());
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "ONNX Runtime cannot load",
    );

    std::fs::remove_file(&onnx).unwrap();
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "model pack file missing",
    );
    assert_one_line(
        &score_with_pack(&dir.path().join("no-such-pack")),
        EXIT_MODEL,
        "no model pack at",
    );
}

#[test]
fn an_altered_extractor_invalidates_the_normal_bank() {
    let dir = tempdir();
    let pack = dir.path().join("pack");
    std::fs::create_dir_all(&pack).unwrap();
    for e in std::fs::read_dir(pack_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, pack.join(p.file_name().unwrap())).unwrap();
    }
    let has_bank = |p: &Path| {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join("manifest.json")).unwrap()).unwrap();
        m.get("normal_bank").is_some()
    };
    assert!(
        has_bank(&pack),
        "the suite's pack has a normal bank (make builds one)"
    );
    // Another extractor (here: the same file, its recorded hash changed with it) makes other
    // features: the bank built from the old ones is refused, not silently compared.
    let onnx = pack.join("i3d_k400_rgb.onnx");
    let mut bytes = std::fs::read(&onnx).unwrap();
    bytes.push(0);
    std::fs::write(&onnx, &bytes).unwrap();
    let sha = vigil::case::sha256_bytes(&bytes);
    edit_manifest(&pack, |m| m["extractor"]["sha256"] = sha.into());
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "normal_bank was built from features",
    );
}

#[test]
fn manifest_that_disagrees_with_the_network_is_refused() {
    let dir = tempdir();
    let pack = copy_pack(dir.path());
    edit_manifest(&pack, |m| m["extractor"]["input"]["height"] = 112.into());
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "does not match its manifest: input shape (N,C,T,H,W) is [-1, 3, 16, 224, 224], manifest says [-1, 3, 16, 112, 224]",
    );

    // A head whose size disagrees with the extractor's is refused before anything runs.
    let pack = copy_pack(&dir.path().join("b"));
    edit_manifest(&pack, |m| {
        m["extractor"]["features"]["dim"] = 2048.into();
        m["coarse_extractor"]["features"]["dim"] = 2048.into();
    });
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "mil_head takes 1024 features, the extractor gives 2048",
    );
    // With the manifest consistent, the network itself disagrees.
    let pack = copy_pack(&dir.path().join("b2"));
    edit_manifest(&pack, |m| {
        m["extractor"]["features"]["dim"] = 2048.into();
        m["coarse_extractor"]["features"]["dim"] = 2048.into();
        m["other_scorers"] = serde_json::json!([]);
    });
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "output 'features' shape",
    );
    // A coarse network that would not cover the same clips, or gives other features, is
    // refused before anything runs: the cascade pairs clip i of one with clip i of the other.
    let pack = copy_pack(&dir.path().join("c1"));
    edit_manifest(&pack, |m| {
        m["coarse_extractor"]["input"]["frame_rate"] = 30.0.into()
    });
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "coarse_extractor clips last 0.2667 s, the extractor's 0.5333 s",
    );
    let pack = copy_pack(&dir.path().join("c2"));
    edit_manifest(&pack, |m| {
        m["coarse_extractor"]["features"]["dim"] = 512.into()
    });
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "coarse_extractor gives 512 features and 400 logits, the extractor 1024 and 400",
    );
    // A head file that is not what the manifest says is refused by its hash.
    let pack = copy_pack(&dir.path().join("b3"));
    let mut head = std::fs::read(pack.join("mil_head.onnx")).unwrap();
    let n = head.len();
    head[n - 10] ^= 0x40;
    std::fs::write(pack.join("mil_head.onnx"), head).unwrap();
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "mil_head.onnx is corrupt or was replaced",
    );

    let pack = copy_pack(&dir.path().join("c"));
    edit_manifest(&pack, |m| m["manifest_version"] = 99.into());
    assert_one_line(
        &score_with_pack(&pack),
        EXIT_MODEL,
        "manifest_version 99 is not supported",
    );
}

#[test]
fn missing_onnx_runtime_library_is_one_line() {
    let cache = tempdir();
    let out = run(vigil(cache.path())
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .args(["score", "--device", "cpu", "--no-cache"])
        .arg(footage("people-detection.gif")));
    assert_one_line(&out, EXIT_MODEL, "ONNX Runtime library not found");

    // A file that is not a shared library at all.
    let fake = write(cache.path(), "libonnxruntime.so", b"not an ELF file");
    let out = run(vigil(cache.path())
        .env("ORT_DYLIB_PATH", &fake)
        .args(["score", "--device", "cpu", "--no-cache"])
        .arg(footage("people-detection.gif")));
    assert_one_line(&out, EXIT_MODEL, "cannot load ONNX Runtime");
}

#[test]
fn cuda_requested_without_cuda_is_an_error_not_a_silent_fallback() {
    let cache = tempdir();
    let out = run(vigil(cache.path())
        .args(["score", "--device", "cuda", "--no-cache"])
        .arg(footage("people-detection.gif")));
    if out.status.success() {
        // A machine with a working CUDA provider: it must say so.
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("CUDAExecutionProvider"), "{text}");
    } else {
        assert_one_line(&out, EXIT_MODEL, "CUDA was requested but cannot run");
    }
}

#[test]
fn bad_file_among_good_ones_fails_alone() {
    let dir = tempdir();
    let bad = write(dir.path(), "broken.mp4", &noise(5000));
    let out = run(vigil(dir.path())
        .args(["score", "--device", "cpu", "--json", "--no-cache"])
        .arg(&bad)
        .arg(footage("people-detection.gif")));
    assert_eq!(out.status.code(), Some(EXIT_FOOTAGE));
    let docs = json_docs(&out);
    assert_eq!(docs.len(), 1, "the good file is still scored");
    assert!(
        docs[0]["video"]["path"]
            .as_str()
            .unwrap()
            .ends_with("people-detection.gif")
    );
}

#[test]
fn the_decoder_watchdog_stops_a_read_that_runs_too_long_and_says_so() {
    // A limit of 0 ms makes every read "too long": the watchdog must stop decoding at once and
    // the result must say why, not hang or pass for complete.
    let dir = tempdir();
    let clip = dir.path().join("car-4s.mp4");
    ffmpeg(&[
        "-i",
        footage("car-detection.mp4").to_str().unwrap(),
        "-t",
        "4",
        "-c",
        "copy",
        clip.to_str().unwrap(),
    ]);
    let out = run(vigil(dir.path())
        .env("VIGIL_DECODE_STALL_MS", "0")
        .args(["score", "--device", "cpu", "--json", "--no-cache"])
        .arg(&clip));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    if out.status.success() {
        let doc = &json_docs(&out)[0];
        assert_eq!(doc["video"]["partial"], true, "{doc}");
        let w = doc["video"]["warnings"][0].as_str().unwrap();
        assert!(w.contains("was stopped"), "{w}");
    } else {
        assert_one_line(&out, EXIT_FOOTAGE, "");
    }
}
