//! `make bench`: training the MIL head, and where the time of `make models` goes.
//!
//! 1. Step time of the kit's MIL training (the default pack's recipe: 30 + 30 bags, λ1 = λ2 =
//!    8e-5, seed 1) at iteration 50 and at iteration 2000. With subnormals flushed (what
//!    `vigil train` does) the two must be about equal (target ratio ≤ 1.2); on Intel CPUs without
//!    flushing each step got slower than the last. The same loop in the CPU's default float
//!    mode, for the first `REFERENCE_ITERATIONS` iterations, is the reference measured in the
//!    same run.
//! 2. The stages of `make models`, `make test` and the rest, as `packaging/stage.sh` recorded
//!    them in `.deps/stages.tsv` when they last did real work (a stage whose result was cached
//!    keeps its earlier time).
//!
//! Needs `make models` (the kit's training features). `VIGIL_BENCH_QUICK=1` trains 500
//! iterations instead of 2000 and skips the reference.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;
use vigil::mil::MilError;
use vigil::mil::featureset::FeatureSet;
use vigil::mil::head::MilHead;
use vigil::mil::train::{TrainConfig, TrainOutcome, TrainProgress, train, train_in_current_mode};

/// Iterations of the unflushed reference (it slows down as it goes: keep it short).
const REFERENCE_ITERATIONS: usize = 200;

type Loop = fn(
    &FeatureSet,
    &TrainConfig,
    Option<&vigil::mil::train::Validation>,
    &dyn Fn() -> bool,
    &mut dyn FnMut(usize, &MilHead) -> Result<(), MilError>,
    &mut dyn FnMut(TrainProgress),
) -> Result<TrainOutcome, MilError>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Seconds each iteration took (index 0 = iteration 1), and the total.
fn step_times(set: &FeatureSet, iterations: usize, run: Loop) -> (Vec<f64>, f64) {
    let cfg = TrainConfig {
        iterations,
        checkpoint_every: 0,
        eval_every: 0,
        seed: 1,
        ..TrainConfig::default()
    };
    let mut times = Vec::with_capacity(iterations);
    let started = Instant::now();
    let mut last = started;
    run(set, &cfg, None, &|| false, &mut |_, _| Ok(()), &mut |p| {
        if let TrainProgress::Step { .. } = p {
            let now = Instant::now();
            times.push(now.duration_since(last).as_secs_f64());
            last = now;
        }
    })
    .unwrap();
    (times, started.elapsed().as_secs_f64())
}

/// Median step time of the 21 iterations around `iteration` (1-based), in milliseconds.
fn ms_at(times: &[f64], iteration: usize) -> f64 {
    let hi = iteration.min(times.len());
    let lo = hi.saturating_sub(21);
    let mut w: Vec<f64> = times[lo..hi].to_vec();
    w.sort_by(f64::total_cmp);
    w[w.len() / 2] * 1e3
}

fn bench_training(quick: bool) {
    let dir = root().join(".deps/kit/features/train");
    let set = FeatureSet::read(&dir)
        .unwrap_or_else(|e| panic!("{e}: run `make models` first (it makes the kit's features)"));
    let (normal, anomalous) = set.counts();
    let iterations = if quick { 500 } else { 2000 };
    println!(
        "\n## 1. MIL training step time ({} bags: {normal} normal, {anomalous} anomalous, {} features; 30 + 30 per batch)",
        set.bags.len(),
        set.dim()
    );
    let (flushed, total) = step_times(&set, iterations, train);
    let (a, b) = (ms_at(&flushed, 50), ms_at(&flushed, iterations));
    println!(
        "subnormals flushed (vigil train): iteration 50: {a:7.1} ms  iteration {iterations}: {b:7.1} ms  → ratio {:.2} (target ≤ 1.2); {iterations} iterations in {total:.1} s",
        b / a
    );
    if quick {
        println!("default float mode reference: skipped (VIGIL_BENCH_QUICK)");
        return;
    }
    let (plain, total_plain) = step_times(&set, REFERENCE_ITERATIONS, train_in_current_mode);
    let (pa, pb) = (ms_at(&plain, 50), ms_at(&plain, REFERENCE_ITERATIONS));
    let flushed_first: f64 = flushed[..REFERENCE_ITERATIONS].iter().sum();
    println!(
        "default float mode (reference):   iteration 50: {pa:7.1} ms  iteration {REFERENCE_ITERATIONS}: {pb:7.1} ms  → ratio {:.2}; {REFERENCE_ITERATIONS} iterations in {total_plain:.1} s",
        pb / pa
    );
    println!(
        "first {REFERENCE_ITERATIONS} iterations: flushed {flushed_first:.1} s vs default mode {total_plain:.1} s → {:.1}× faster flushed",
        total_plain / flushed_first
    );
}

fn bench_stages() {
    let path = root().join(".deps/stages.tsv");
    println!(
        "\n## 2. Build stages: the latest time each took when it did real work (.deps/stages.tsv, packaging/stage.sh)"
    );
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("no record: {} is missing", path.display());
        return;
    };
    // The newest record of each stage, in the order they last ran.
    let mut latest: Vec<(String, f64, String)> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(secs), Some(when)) = (f.first(), f.get(1), f.get(2)) else {
            continue;
        };
        let Ok(secs) = secs.parse::<f64>() else {
            continue;
        };
        latest.retain(|(n, _, _)| n != name);
        latest.push((name.to_string(), secs, when.to_string()));
    }
    let mut total = 0.0;
    for (name, secs, when) in &latest {
        total += secs;
        println!("{name:<40} {secs:8.0} s   ({when})");
    }
    println!("{:<40} {total:8.0} s", "sum");
}

fn main() {
    let quick = std::env::var_os("VIGIL_BENCH_QUICK").is_some();
    println!(
        "# vigil training benchmark ({} CPU cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    bench_training(quick);
    bench_stages();
}
