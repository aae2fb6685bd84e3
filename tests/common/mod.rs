#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Shared helpers for the integration tests: where the real data is, how to run the real
//! binary with a private cache, and ffprobe as an independent witness.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/data` beside the checkout (real footage and reference outputs).
pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

/// A real clip from `../shared/data/footage`.
pub fn footage(name: &str) -> PathBuf {
    shared().join("footage").join(name)
}

/// The model pack the suite runs with: `VIGIL_TEST_PACK` when set (`make test` sets it to the
/// pack it builds from a subset of the kit, `.deps/packs/i3d-k400-test`), else the default pack
/// built by `make models`. Both come out of the same `packaging/kit-benchmark.sh`.
pub fn pack_dir() -> PathBuf {
    match std::env::var_os("VIGIL_TEST_PACK").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/i3d-k400"),
    }
}

/// The real `vigil` binary with a private cache folder, using the suite's pack (`pack_dir`)
/// wherever no `--model` is given, and a private data folder (no signing key unless a test
/// makes one: the user's own never signs a test's exports).
pub fn vigil(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.env("VIGIL_CACHE_DIR", cache)
        .env("XDG_DATA_HOME", cache.join("xdg-data"))
        .env("VIGIL_MODEL", pack_dir());
    c
}

/// Runs and returns the output, with stderr shown on failure of the caller's assertions.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run vigil")
}

/// Parses one JSON document per line of stdout.
pub fn json_docs(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// SHA-256 of a file, via the library (itself unit-tested against known vectors).
pub fn sha256(path: &Path) -> String {
    vigil::case::sha256_file(path).expect("hash")
}

/// Runs ffmpeg with arguments, panicking with its stderr on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every video frame's (best-effort timestamp, duration) in seconds as ffprobe decodes them.
pub fn ffprobe_frames(path: &Path) -> Vec<(f64, Option<f64>)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp_time,pkt_duration_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split(',');
            let ts: f64 = it.next().unwrap().trim().parse().unwrap();
            let dur = it.next().and_then(|d| d.trim().parse::<f64>().ok());
            (ts, dur)
        })
        .collect()
}

/// The clip table the spec implies, computed independently from ffprobe's frame times:
/// 30 fps slots at n/30 s while n/30 < end; clips of 16 slots; a clip's start frame is the
/// frame on screen at its start, its end frame counts the frames starting before its end.
/// Returns (clip count, [(start_s, end_s, start_frame, end_frame, padded)]).
pub fn expected_clips(
    frames: &[(f64, Option<f64>)],
    nominal_fps: f64,
) -> Vec<(f64, f64, u64, u64, u32)> {
    let eps = 1e-6;
    let t0 = frames[0].0;
    let times: Vec<f64> = frames.iter().map(|f| f.0 - t0).collect();
    let last = frames.len() - 1;
    let last_dur = frames[last]
        .1
        .filter(|d| *d > 0.0)
        .unwrap_or(1.0 / nominal_fps);
    let end = times[last] + last_dur;
    let mut slots = 0u64;
    while (slots as f64) / 30.0 < end - eps {
        slots += 1;
    }
    let slots = slots.max(1);
    let clips = slots.div_ceil(16);
    (0..clips)
        .map(|k| {
            let s = (k * 16) as f64 / 30.0;
            let e = (((k + 1) * 16) as f64 / 30.0).min(end);
            let start_frame = times.iter().filter(|&&t| t <= s + eps).count() as u64 - 1;
            let end_frame = times.iter().filter(|&&t| t < e - eps).count() as u64;
            let padded = ((k + 1) * 16).saturating_sub(slots) as u32;
            (s, e, start_frame, end_frame, padded)
        })
        .collect()
}

/// A temporary folder that lives as long as the test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The generated demo clip (incident 34–41 s) and a feature cache holding its scores, made once
/// per test binary by the pipeline itself (and kept between runs under target/tmp), so tests
/// that need a scored clip with a real peak do not each run the network on it.
pub fn demo_fixture() -> &'static (PathBuf, PathBuf) {
    static FIXTURE: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-fixture");
        std::fs::create_dir_all(&dir).unwrap();
        let clip = dir.join("demo-street.mp4");
        if !clip.exists() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/make-demo-clip.sh");
            let ok = Command::new(script).arg(&clip).status().unwrap().success();
            assert!(ok, "demo clip");
        }
        let cache = dir.join("cache");
        let pack = vigil::model::Pack::load(&pack_dir()).unwrap();
        let opts = vigil::pipeline::ScoreOptions {
            device: vigil::model::Device::Cpu,
            cache_root: Some(cache.clone()),
            ..vigil::pipeline::ScoreOptions::default()
        };
        vigil::pipeline::score_file(&clip, &pack, &opts, &|| false, &mut |_| {}).unwrap();
        (clip, cache)
    })
}

/// A two-camera file as multi-camera DVRs export it: 3 s of MJPEG in Matroska, stream #0 a
/// 176×144 test pattern, stream #1 a 320×240 Mandelbrot zoom (both 12 fps).
pub fn two_camera_mkv(dir: &Path) -> PathBuf {
    let file = dir.join("nvr.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=3:s=176x144:r=12",
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=s=320x240:r=12",
        "-t",
        "3",
        "-map",
        "0",
        "-map",
        "1",
        "-c:v",
        "mjpeg",
        "-f",
        "matroska",
        file.to_str().unwrap(),
    ]);
    file
}

/// A copy of the suite's pack without a bank or fused scorer (the suite's pack may have both:
/// `make` gives every pack the kit's normal training videos), so the test starts from none.
pub fn pack_without_bank(dir: &Path) -> PathBuf {
    let out = dir.join("pack");
    std::fs::create_dir_all(&out).unwrap();
    let src = pack_dir();
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("manifest.json")).unwrap()).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_file() && name != "manifest.json" && !name.starts_with("normal-bank") {
            std::fs::copy(&p, out.join(&name)).unwrap();
        }
    }
    m.as_object_mut().unwrap().remove("normal_bank");
    let is_fused = |s: &serde_json::Value| s["kind"] == "fused";
    if is_fused(&m["scorer"]) {
        let novelty = m["other_scorers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["kind"] == "novelty")
            .cloned()
            .unwrap();
        m["scorer"] = novelty;
    }
    let default_kind = m["scorer"]["kind"].clone();
    if let Some(others) = m
        .get_mut("other_scorers")
        .and_then(serde_json::Value::as_array_mut)
    {
        others.retain(|s| !is_fused(s) && s["kind"] != default_kind);
    }
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&m).unwrap(),
    )
    .unwrap();
    out
}
