//! `make bench`: vigil's throughput and memory against references measured in the same run.
//!
//! 1. Decode + resize to 224x224 RGB: our `FrameDecoder` + `Scaler` versus the `ffmpeg` CLI
//!    doing the same work on the same file (target ratio ≥ 1.0).
//! 2. Pipeline clips/s (decode thread + inference thread, `vigil score --no-cache`) versus raw
//!    ONNX Runtime clips/s on the same clips decoded beforehand (target ratio ≥ 0.9); and raw
//!    clips/s with ONNX Runtime's `session.set_denormal_as_zero` (no target: it tells whether
//!    flushing subnormals would speed I3D up).
//! 3. Peak RSS of `vigil score` on a 2.5-minute and a 10-minute clip (must not grow with
//!    length beyond the features it keeps: 4 KiB per clip).
//!
//! Ratios, not absolute numbers, are the claims: both sides run on this machine, now.
//! Set `VIGIL_BENCH_QUICK=1` to skip the 10-minute run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use vigil::model::{Device, Extractor, Pack};
use vigil::video::{ClipReader, ClipSpec, FrameDecoder, ResizeRule, Scaler, open_video};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn footage(name: &str) -> PathBuf {
    root().join("../shared/data/footage").join(name)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ffmpeg(args: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg {args:?}");
}

/// Frames/s of our decoder + scaler over the whole file.
fn ours_decode_fps(path: &Path) -> (f64, u64) {
    let t = Instant::now();
    let (input, info) = open_video(path).unwrap();
    let mut dec = FrameDecoder::new(input, &info).unwrap();
    let mut scaler = Scaler::new(ResizeRule::Stretch, 224, 224);
    let mut frame = ffmpeg_next::frame::Video::empty();
    let mut rgb = vec![0u8; scaler.frame_bytes()];
    let mut n = 0u64;
    while dec.next_frame(&mut frame).unwrap().is_some() {
        scaler.convert(&frame, &mut rgb).unwrap();
        n += 1;
    }
    (n as f64 / t.elapsed().as_secs_f64(), n)
}

/// Frames/s of the ffmpeg CLI doing the same (decode, scale to 224x224, discard).
fn ffmpeg_decode_fps(path: &Path, frames: u64, rgb: bool) -> f64 {
    let mut args = vec![
        "-threads",
        "0",
        "-i",
        path.to_str().unwrap(),
        "-vf",
        "scale=224:224",
    ];
    if rgb {
        args.extend(["-pix_fmt", "rgb24"]);
    }
    args.extend(["-f", "rawvideo", "-y", "/dev/null"]);
    let t = Instant::now();
    ffmpeg(&args);
    frames as f64 / t.elapsed().as_secs_f64()
}

fn bench_decode(work: &Path) {
    // 4 x one-by-one-person-detection.mp4 (H.264 768x432), stream-copied: ~9.3 min of footage
    // at 10 fps, 5576 frames.
    let long = work.join("decode-4x.mp4");
    ffmpeg(&[
        "-stream_loop",
        "3",
        "-i",
        footage("one-by-one-person-detection.mp4").to_str().unwrap(),
        "-c",
        "copy",
        long.to_str().unwrap(),
    ]);
    let mut ours = Vec::new();
    let mut cli = Vec::new();
    let mut cli_rgb = Vec::new();
    let mut frames = 0;
    for _ in 0..3 {
        let (fps, n) = ours_decode_fps(&long);
        frames = n;
        ours.push(fps);
        cli.push(ffmpeg_decode_fps(&long, n, false));
        cli_rgb.push(ffmpeg_decode_fps(&long, n, true));
    }
    let (o, c, cr) = (median(ours), median(cli), median(cli_rgb));
    println!("\n## 1. Decode + resize to 224x224 ({frames} frames of H.264 768x432, median of 3)");
    println!("vigil FrameDecoder+Scaler (RGB24):                        {o:8.1} frames/s");
    println!(
        "ffmpeg -threads 0 -i F -vf scale=224:224 -f rawvideo:     {c:8.1} frames/s  → ratio {:.2}",
        o / c
    );
    println!(
        "same with -pix_fmt rgb24 (identical work to ours):        {cr:8.1} frames/s  → ratio {:.2}",
        o / cr
    );
}

fn bench_pipeline(work: &Path, pack: &Pack) {
    // The whole car clip: 57 clips.
    let clip = work.join("car.mp4");
    ffmpeg(&[
        "-i",
        footage("car-detection.mp4").to_str().unwrap(),
        "-c",
        "copy",
        clip.to_str().unwrap(),
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "score",
            "--device",
            "cpu",
            "--no-cache",
            "--json",
            "--batch",
            "4",
        ])
        .arg(&clip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = doc["clips"].as_array().unwrap().len();
    let pipeline = doc["timing"]["clips_per_s"].as_f64().unwrap();

    // The same clips, decoded first, then run through one session in batches of 4.
    let contract = &pack.manifest.extractor.input;
    let spec = ClipSpec {
        frames: contract.frames,
        fps: contract.frame_rate,
        width: contract.width,
        height: contract.height,
        resize: contract.resize,
    };
    let (input, info) = open_video(&clip).unwrap();
    let mut reader = ClipReader::new(input, &info, spec).unwrap();
    let clip_bytes =
        contract.frames as usize * contract.width as usize * contract.height as usize * 3;
    let mut frames: Vec<u8> = Vec::new();
    while let Some((_, pixels)) = reader.next_clip(&|_| true).unwrap() {
        frames.extend_from_slice(&pixels.unwrap());
    }
    assert_eq!(frames.len(), n * clip_bytes);
    // Timed from the first run, like the pipeline (whose sessions also exist before its clock
    // starts): both pay the same first-run cost.
    let mut ex = Extractor::new(pack, Device::Cpu, None).unwrap();
    let t = Instant::now();
    for chunk in frames.chunks(4 * clip_bytes) {
        ex.run(chunk, chunk.len() / clip_bytes).unwrap();
    }
    let raw = n as f64 / t.elapsed().as_secs_f64();
    drop(ex);
    // The same with subnormals flushed: ONNX Runtime's option for its pool threads, and vigil's
    // guard on the calling thread, which computes too.
    let mut ex = Extractor::with_float_mode(pack, Device::Cpu, None, true).unwrap();
    let t = Instant::now();
    vigil::base::float::flush_denormals(|| {
        for chunk in frames.chunks(4 * clip_bytes) {
            ex.run(chunk, chunk.len() / clip_bytes).unwrap();
        }
    });
    let flushed = n as f64 / t.elapsed().as_secs_f64();
    println!("\n## 2. Pipeline vs raw ONNX Runtime ({n} clips of 16x224x224, CPU, batch 4)");
    println!("raw Extractor::run on pre-decoded clips:                  {raw:8.2} clips/s");
    println!(
        "vigil score --no-cache (decode and inference threads):    {pipeline:8.2} clips/s  → ratio {:.2}",
        pipeline / raw
    );
    println!(
        "raw, subnormals flushed (session.set_denormal_as_zero):   {flushed:8.2} clips/s  → ratio {:.2} to raw",
        flushed / raw
    );
}

fn rss_of_run(path: &Path) -> (f64, usize, f64) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["score", "--device", "cpu", "--no-cache", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        doc["timing"]["peak_rss_mib"].as_f64().unwrap(),
        doc["clips"].as_array().unwrap().len(),
        t.elapsed().as_secs_f64(),
    )
}

fn bench_rss(work: &Path) {
    let make = |loops: &str, name: &str| {
        let p = work.join(name);
        ffmpeg(&[
            "-stream_loop",
            loops,
            "-i",
            footage("car-detection.mp4").to_str().unwrap(),
            "-c",
            "copy",
            p.to_str().unwrap(),
        ]);
        p
    };
    println!("\n## 3. Peak RSS of vigil score (car-detection.mp4 looped, CPU)");
    let short = make("4", "car-2.5min.mp4");
    let (rss_s, n_s, t_s) = rss_of_run(&short);
    println!("2.5 min ({n_s} clips, {t_s:.0} s):   peak RSS {rss_s:7.1} MiB");
    if std::env::var_os("VIGIL_BENCH_QUICK").is_some() {
        println!("10 min: skipped (VIGIL_BENCH_QUICK)");
        return;
    }
    let long = make("19", "car-10min.mp4");
    let (rss_l, n_l, t_l) = rss_of_run(&long);
    println!(
        "10 min  ({n_l} clips, {t_l:.0} s):  peak RSS {rss_l:7.1} MiB  → growth {:+.1} MiB for 4x the footage",
        rss_l - rss_s
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let work = tempfile::tempdir().unwrap();
    let pack = Pack::load(&root().join("models/i3d-k400")).expect("run `make models` first");
    println!(
        "# vigil benchmarks ({} CPU cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    bench_decode(work.path());
    bench_pipeline(work.path(), &pack);
    bench_rss(work.path());
}
