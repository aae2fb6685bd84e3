//! `make bench` (review app part): what the analyst feels.
//!
//! 1. Timeline frame time with 24 hours of synthetic scores (162 000 clips): the CPU time of one
//!    egui frame that lays out and tessellates the timeline (layout + level of detail + plot +
//!    tessellation; the GPU upload is not included), fully zoomed out and zoomed to 10 minutes.
//!    Target ≤ 16 ms.
//! 2. Seek latency on the 768x432 H.264 clip: from asking the preview thread for a frame to the
//!    picture being ready, at 40 random positions. Target median ≤ 150 ms.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};
use vigil::gui::timeline::{TimelineInput, TimelineView, timeline_ui};
use vigil::video::{PreviewEvent, PreviewWorker};

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn bench_timeline() {
    let clip_s = 16.0 / 30.0;
    let n = (24.0 * 3600.0 / clip_s) as usize;
    // Deterministic synthetic scores: low noise with an incident every ~20 minutes.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let scores: Vec<f32> = (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let noise = (x % 1000) as f32 / 1000.0 * 0.2;
            if i % 2250 < 12 { 0.9 } else { noise }
        })
        .collect();
    let starts: Vec<f64> = (0..n).map(|i| i as f64 * clip_s).collect();
    let ends: Vec<f64> = starts.iter().map(|s| s + clip_s).collect();
    let flagged: Vec<(f64, f64)> = (0..n)
        .step_by(2250)
        .map(|i| (starts[i], ends[(i + 11).min(n - 1)]))
        .collect();
    let duration = ends[n - 1];

    let ctx = egui::Context::default();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1600.0, 300.0),
        )),
        ..Default::default()
    };
    println!("\n## 4. Timeline frame time, 24 h of scores ({n} clips), 1600x300 px");
    for (name, mut view) in [
        ("whole day", TimelineView::fit(duration)),
        (
            "10 minutes",
            TimelineView {
                x0: 43_200.0,
                x1: 43_800.0,
            },
        ),
    ] {
        let mut times = Vec::new();
        for frame in 0..60 {
            let t = Instant::now();
            let out = ctx.run_ui(input(), |ui| {
                let input = TimelineInput {
                    starts: &starts,
                    ends: &ends,
                    scores: &scores,
                    duration_s: duration,
                    flagged: &flagged,
                    marks: &[],
                    gaps: &[],
                    damaged: &[],
                    cursor_s: 43_500.0 + f64::from(frame),
                    threshold: 0.5,
                };
                timeline_ui(ui, &mut view, &input);
            });
            let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
            std::hint::black_box(prims);
            if frame >= 10 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let med = percentile(&mut times, 0.5);
        let p99 = percentile(&mut times, 0.99);
        println!("{name:>12}: median {med:6.2} ms, p99 {p99:6.2} ms per frame (target ≤ 16 ms)");
    }
}

fn bench_seek() {
    let clip = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/footage/one-by-one-person-detection.mp4");
    let worker = PreviewWorker::open(&clip, 1280, 720, || {}).unwrap();
    let wait = |want_gen: Option<u64>| -> PreviewEvent {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "preview did not answer");
            if let Some(e) = worker.try_event() {
                match (&e, want_gen) {
                    (PreviewEvent::Frame(f), Some(g)) if f.generation == g => return e,
                    (PreviewEvent::Opened(_), None) => return e,
                    (PreviewEvent::Failed(m), _) => panic!("{m}"),
                    _ => {}
                }
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    let PreviewEvent::Opened(info) = wait(None) else {
        unreachable!()
    };
    let frames = info.frames();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut times = Vec::new();
    let mut forward = Vec::new();
    for i in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = x % frames;
        let t = Instant::now();
        let generation = worker.request(target);
        let PreviewEvent::Frame(f) = wait(Some(generation)) else {
            unreachable!()
        };
        assert_eq!(f.index, target, "frame-exact");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        // And the next frame, as playback or a frame step asks for it.
        if i % 4 == 0 && target + 1 < frames {
            let t = Instant::now();
            let g = worker.request(target + 1);
            wait(Some(g));
            forward.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let med = percentile(&mut times, 0.5);
    let p90 = percentile(&mut times, 0.9);
    let fwd = percentile(&mut forward, 0.5);
    println!(
        "\n## 5. Seek latency, one-by-one-person-detection.mp4 (H.264 768x432, {frames} frames, keyframe every {:.0} s)",
        keyframe_interval_s(&clip)
    );
    println!(
        "random seek to a displayed frame: median {med:6.1} ms, p90 {p90:6.1} ms (target median ≤ 150 ms)"
    );
    println!("next frame (step / playback):      median {fwd:6.1} ms");
}

/// Mean keyframe interval, from ffprobe, to put the seek figure in context.
fn keyframe_interval_s(path: &std::path::Path) -> f64 {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-skip_frame",
            "nokey",
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    let ts: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    if ts.len() < 2 {
        return 0.0;
    }
    (ts[ts.len() - 1] - ts[0]) / (ts.len() - 1) as f64
}

fn main() {
    println!("# vigil review-app benchmarks");
    bench_timeline();
    bench_seek();
}
