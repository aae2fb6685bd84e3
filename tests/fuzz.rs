#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Never fall over: seeded variants of two real files (an MP4 and its Matroska remux) run
//! through `vigil probe`, `vigil score` and `vigil export`. Each must end with no panic and no
//! hang, in a clear one-line error or a result (with a warning when the result is partial or
//! damaged), and leave the input byte for byte as it was.
//!
//! The variants are a pure function of their name (`source-kind-param-seed.ext`, built by
//! [`variants`] from a fixed list), so a failure reproduces from the name it prints; set
//! `VIGIL_FUZZ_KEEP=DIR` to keep the files.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// xorshift64*: a seeded stream of numbers, the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn flip(b: &mut [u8], n: usize, r: &mut Rng) {
    for _ in 0..n {
        let at = r.below(b.len());
        b[at] ^= 1 << r.below(8);
    }
}

/// Offset and length of the first top-level MP4 box of type `kind`.
fn mp4_box(b: &[u8], kind: &[u8; 4]) -> Option<(usize, usize)> {
    let mut at = 0;
    while at + 8 <= b.len() {
        let size = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        if &b[at + 4..at + 8] == kind {
            return Some((at, size.min(b.len() - at)));
        }
        if size < 8 {
            return None;
        }
        at += size;
    }
    None
}

/// Offsets of a Matroska element ID.
fn find_all(b: &[u8], id: &[u8]) -> Vec<usize> {
    b.windows(id.len())
        .enumerate()
        .filter(|(_, w)| *w == id)
        .map(|(i, _)| i)
        .collect()
}

/// Every variant of `src` (bytes) as (name, extension, bytes).
fn variants(stem: &str, ext: &str, src: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add =
        |name: String, e: &str, b: Vec<u8>| out.push((format!("{stem}-{name}"), e.to_string(), b));
    let n = src.len();
    // Bit flips at 1…1000 places past the first 64 bytes, five seeds each.
    for count in [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] {
        for seed in 0..5u64 {
            let mut r = Rng::new(seed * 1000 + count as u64);
            let mut b = src.to_vec();
            flip(&mut b[64..], count, &mut r);
            add(format!("flip-{count}-{seed}"), ext, b);
        }
    }
    // Truncated at 24 points.
    for k in 1..25 {
        add(format!("cut-{k}of25-0"), ext, src[..n * k / 25].to_vec());
    }
    // Zeroed headers.
    for len in [16, 512, 4096] {
        let mut b = src.to_vec();
        b[..len].fill(0);
        add(format!("zerohead-{len}-0"), ext, b);
    }
    // Zeroed index: the MP4's moov box, or Matroska's Cues and SeekHead.
    let mut b = src.to_vec();
    if let Some((at, len)) = mp4_box(src, b"moov") {
        b[at + 8..at + len].fill(0);
        add("zeroindex-moov-0".into(), ext, b);
    } else {
        for id in [&[0x1c, 0x53, 0xbb, 0x6b][..], &[0x11, 0x4d, 0x9b, 0x74][..]] {
            for at in find_all(src, id) {
                let end = (at + 256).min(n);
                b[at..end].fill(0);
            }
        }
        add("zeroindex-cues-0".into(), ext, b);
    }
    // A chunk written twice, five seeds.
    for seed in 0..5u64 {
        let mut r = Rng::new(seed + 77);
        let a = r.below(n);
        let len = 1 + r.below((n - a).min(n / 5));
        let b = [&src[..a + len], &src[a..a + len], &src[a + len..]].concat();
        add(format!("dup-{len}-{seed}"), ext, b);
    }
    // Garbage inserted in the middle, five seeds.
    for seed in 0..5u64 {
        let mut r = Rng::new(seed + 99);
        let at = r.below(n);
        let junk: Vec<u8> = (0..1 + r.below(50_000)).map(|_| r.next() as u8).collect();
        let b = [&src[..at], &junk[..], &src[at..]].concat();
        add(format!("insert-{}-{seed}", junk.len()), ext, b);
    }
    // Garbage appended, and the file appended to itself.
    for (i, len) in [1usize, 1000, 100_000].into_iter().enumerate() {
        let mut r = Rng::new(i as u64 + 5);
        let mut b = src.to_vec();
        b.extend((0..len).map(|_| r.next() as u8));
        add(format!("append-{len}-0"), ext, b);
    }
    add("twice-0-0".into(), ext, [src, src].concat());
    // Truncated and flipped, ten seeds.
    for seed in 0..10u64 {
        let mut r = Rng::new(seed + 500);
        let cut = n / 4 + r.below(n / 2);
        let mut b = src[..cut].to_vec();
        flip(&mut b[64..], 1 + r.below(100), &mut r);
        add(format!("cutflip-{cut}-{seed}"), ext, b);
    }
    // Lying extensions: the same bytes under other names.
    for lie in ["mkv", "mp4", "avi", "ts", "mov", "h264"] {
        if lie != ext {
            add(format!("named-{lie}-0"), lie, src.to_vec());
        }
    }
    out
}

/// Runs `cmd` with a deadline; None when it had to be killed (a hang).
fn run_bounded(cmd: &mut Command, limit: Duration) -> Option<std::process::Output> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the pipes on threads, so that a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut v).ok();
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut v).ok();
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (t_out.join().unwrap(), t_err.join().unwrap());
    status.map(|status| std::process::Output {
        status,
        stdout,
        stderr,
    })
}

/// Checks one process's end: no panic, no crash by signal, exit 0 or one of vigil's codes.
fn assert_clean_exit(out: &std::process::Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{what}: {err}");
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=5)),
        "{what}: exit {:?} (a signal?) {err}",
        out.status
    );
}

#[test]
fn seeded_variants_of_real_files_never_panic_hang_or_change_the_input() {
    let work = tempdir();
    let keep = std::env::var_os("VIGIL_FUZZ_KEEP").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| work.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    // Two real sources: 2 s of a real camera's H.264 MP4, and the same packets in Matroska.
    let mp4 = work.path().join("car.mp4");
    ffmpeg(&[
        "-i",
        footage("car-detection.mp4").to_str().unwrap(),
        "-t",
        "2",
        "-c",
        "copy",
        mp4.to_str().unwrap(),
    ]);
    let mkv = work.path().join("car.mkv");
    ffmpeg(&[
        "-i",
        mp4.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);

    let mut files: Vec<PathBuf> = Vec::new();
    for (stem, ext, src) in [("mp4", "mp4", &mp4), ("mkv", "mkv", &mkv)] {
        for (name, e, bytes) in variants(stem, ext, &std::fs::read(src).unwrap()) {
            let p = dir.join(format!("{name}.{e}"));
            std::fs::write(&p, bytes).unwrap();
            files.push(p);
        }
    }
    assert!(files.len() >= 200, "{} variants", files.len());
    let hashes: BTreeMap<PathBuf, String> = files.iter().map(|f| (f.clone(), sha256(f))).collect();
    let cache = work.path().join("cache");
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut hangs = Vec::new();

    // probe: one process for every 50 files, a JSON report for each, exit 0 or 3.
    for batch in files.chunks(50) {
        let out = run_bounded(
            vigil(&cache).args(["probe", "--json"]).args(batch),
            Duration::from_secs(120),
        );
        let Some(out) = out else {
            hangs.push(format!("probe of {:?}…", batch[0]));
            continue;
        };
        assert_clean_exit(&out, "probe");
        let docs = json_docs(&out);
        assert_eq!(docs.len(), batch.len(), "one report per file");
        for d in &docs {
            let opens = d["verdict"]["opens"].as_bool().unwrap();
            *outcomes
                .entry(if opens {
                    "probe: opens"
                } else {
                    "probe: refused"
                })
                .or_default() += 1;
            if !opens {
                assert!(
                    d["verdict"]["refusal"]
                        .as_str()
                        .is_some_and(|r| !r.is_empty()),
                    "{d}"
                );
            }
        }
    }

    // score: one process for every 20 files; each file ends in a report or one error line.
    for batch in files.chunks(20) {
        let out = run_bounded(
            vigil(&cache)
                .args(["score", "--device", "cpu", "--json", "--no-cache"])
                .args(batch),
            Duration::from_secs(600),
        );
        let Some(out) = out else {
            hangs.push(format!("score of {:?}…", batch[0]));
            continue;
        };
        assert_clean_exit(&out, "score");
        let docs = json_docs(&out);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        for f in batch {
            let shown = f.display().to_string();
            let doc = docs.iter().find(|d| d["video"]["path"] == shown.as_str());
            let errors: Vec<&str> = err
                .lines()
                .filter(|l| l.starts_with("vigil: error: ") && l.contains(&shown))
                .collect();
            match (doc, errors.len()) {
                (Some(d), 0) => {
                    let v = &d["video"];
                    let warned = !v["warnings"].as_array().unwrap().is_empty();
                    let troubled = v["partial"] == true || v["decode_errors"].as_u64().unwrap() > 0;
                    assert!(
                        !troubled || warned,
                        "{shown}: partial or damaged without a warning: {v}"
                    );
                    *outcomes
                        .entry(if warned {
                            "score: result with warnings"
                        } else {
                            "score: clean result"
                        })
                        .or_default() += 1;
                }
                (None, 1) => *outcomes.entry("score: one-line error").or_default() += 1,
                _ => panic!("{shown}: neither one report nor one error line:\n{err}"),
            }
        }
    }

    // export: the first second of each, then verify what was written.
    for f in &files {
        let dst = work.path().join("exports").join(f.file_name().unwrap());
        let out = run_bounded(
            vigil(&cache)
                .args([
                    "export",
                    "--analyst",
                    "fuzz",
                    "--from",
                    "0",
                    "--to",
                    "1",
                    "-o",
                ])
                .arg(&dst)
                .arg(f),
            Duration::from_secs(60),
        );
        let Some(out) = out else {
            hangs.push(format!("export of {}", f.display()));
            continue;
        };
        assert_clean_exit(&out, "export");
        if out.status.success() {
            let v = run(vigil(&cache).arg("verify").arg(&dst));
            assert!(
                v.status.success(),
                "{}: export does not verify: {}",
                f.display(),
                String::from_utf8_lossy(&v.stdout)
            );
            *outcomes.entry("export: verified folder").or_default() += 1;
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{}: {err}", f.display());
            assert!(lines[0].starts_with("vigil: error: "), "{err}");
            *outcomes.entry("export: one-line error").or_default() += 1;
        }
    }

    for (f, h) in &hashes {
        assert_eq!(&sha256(f), h, "{} was changed", f.display());
    }
    eprintln!(
        "fuzz: {} variants; hangs {}; {outcomes:?}",
        files.len(),
        hangs.len()
    );
    assert!(hangs.is_empty(), "hangs: {hangs:?}");
}
