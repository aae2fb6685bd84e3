//! Whole-kit tests on tiny configs: determinism, files that agree with each other and with the
//! frames actually encoded, incidents inside the videos, names that do not leak labels.

use super::*;
use ffmpeg_next as ff;
use std::collections::BTreeMap;

fn tiny(seed: u64) -> KitConfig {
    KitConfig {
        seed,
        train_normal: 1,
        train_anomalous: 1,
        test_normal: 1,
        test_anomalous: 1,
        min_s: 2.0,
        max_s: 3.0,
        width: 160,
        height: 120,
        fps: 15,
        train_close: 0,
        test_close: 0,
        test_short: 0,
    }
}

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("vigil-kit-{}-{tag}", std::process::id()));
        std::fs::remove_dir_all(&p).ok();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Every file under `dir` by relative path, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Frames decoded, frame size, and the stream's duration in seconds.
fn decode(path: &Path) -> (u64, u32, u32, f64) {
    ff::init().unwrap();
    let mut ictx = ff::format::input(path).unwrap();
    let st = ictx.streams().best(ff::media::Type::Video).unwrap();
    let idx = st.index();
    let dur = st.duration() as f64 * f64::from(st.time_base());
    let mut dec = ff::codec::context::Context::from_parameters(st.parameters())
        .unwrap()
        .decoder()
        .video()
        .unwrap();
    let mut frame = ff::frame::Video::empty();
    let mut n = 0;
    for (s, p) in ictx.packets() {
        if s.index() == idx {
            dec.send_packet(&p).unwrap();
            while dec.receive_frame(&mut frame).is_ok() {
                n += 1;
            }
        }
    }
    dec.send_eof().unwrap();
    while dec.receive_frame(&mut frame).is_ok() {
        n += 1;
    }
    (n, dec.width(), dec.height(), dur)
}

#[test]
fn same_seed_same_bytes_other_seed_other_videos() {
    let (a, b, c) = (
        TempDir::new("det-a"),
        TempDir::new("det-b"),
        TempDir::new("det-c"),
    );
    let mut calls = Vec::new();
    let sa = generate_kit(&tiny(3), &a.0, &mut |d, t| calls.push((d, t))).unwrap();
    assert_eq!(calls, vec![(1, 4), (2, 4), (3, 4), (4, 4)]);
    // A different heap layout for the second run: libx264 once read memory it never wrote,
    // which changed the bytes only when the process had allocated differently.
    let ballast: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 700 + i * 131]).collect();
    let sb = generate_kit(&tiny(3), &b.0, &mut |_, _| {}).unwrap();
    drop(ballast);
    assert_eq!(sa, sb);
    let (fa, fb) = (files(&a.0), files(&b.0));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(v == &fb[k], "{k} differs between two runs of the same seed");
    }
    // Nothing half-written is left behind.
    assert!(fa.keys().all(|k| !k.ends_with(".part")), "{:?}", fa.keys());
    let sc = generate_kit(&tiny(4), &c.0, &mut |_, _| {}).unwrap();
    for (x, y) in sa.videos.iter().zip(&sc.videos) {
        assert_eq!(x.name, y.name);
        assert_ne!(
            x.sha256, y.sha256,
            "{} is the same under another seed",
            x.name
        );
    }
}

#[test]
fn files_agree_with_each_other_and_the_encoded_frames() {
    let dir = TempDir::new("agree");
    let cfg = KitConfig {
        train_anomalous: 6,
        test_anomalous: 6,
        ..tiny(9)
    };
    let summary = generate_kit(&cfg, &dir.0, &mut |_, _| {}).unwrap();
    assert_eq!(summary.videos.len(), 14);
    let json: KitSummary =
        serde_json::from_slice(&std::fs::read(dir.0.join("kit.json")).unwrap()).unwrap();
    assert_eq!(json, summary);

    let annotations = std::fs::read_to_string(dir.0.join("annotations.txt")).unwrap();
    let ann: Vec<Vec<&str>> = annotations
        .lines()
        .map(|l| l.split(' ').collect())
        .collect();
    assert_eq!(ann.len(), summary.videos.len());
    for split in ["train", "test"] {
        let list = std::fs::read_to_string(dir.0.join(format!("{split}.txt"))).unwrap();
        let want: Vec<&KitVideo> = summary.videos.iter().filter(|v| v.split == split).collect();
        assert_eq!(list.lines().count(), want.len());
        for (line, v) in list.lines().zip(&want) {
            assert_eq!(
                line,
                format!("videos/{split}/{}.mp4 {} {}", v.name, v.label, v.class)
            );
        }
        // Every class shows up in both splits.
        for class in [
            "Normal",
            "Fighting",
            "Fall",
            "Scatter",
            "Collision",
            "Explosion",
            "Tampering",
        ] {
            assert!(
                want.iter().any(|v| v.class == class),
                "{class} missing from {split}"
            );
        }
    }
    for (v, a) in summary.videos.iter().zip(&ann) {
        let (frames, w, h, dur) = decode(&dir.0.join(&v.path));
        assert_eq!(frames, v.frames, "{}", v.name);
        assert_eq!((w, h), (cfg.width, cfg.height));
        // The last frame keeps its duration: the track is as long as all its frames.
        assert!(
            (dur - v.duration_s).abs() < 0.5 / f64::from(cfg.fps),
            "{} lasts {dur} s, not {}",
            v.name,
            v.duration_s
        );
        assert!(v.duration_s >= cfg.min_s - 0.5 / 15.0 && v.duration_s <= cfg.max_s + 0.5 / 15.0);
        assert_eq!(a.len(), 7);
        assert_eq!(a[0], format!("{}/{}.mp4", v.class, v.name));
        assert_eq!(a[1], v.frames.to_string());
        assert_eq!(a[2], v.class);
        assert_eq!(&a[5..], &["-1", "-1"]);
        assert_eq!(sha256_file(&dir.0.join(&v.path)).unwrap(), v.sha256);
        assert!(["day", "overcast", "dusk", "night"].contains(&v.lighting.as_str()));
        match v.incident {
            None => {
                assert_eq!(v.label, "normal");
                assert_eq!(v.class, "Normal");
                assert!(v.name.contains("normal"));
                assert_eq!(&a[3..5], &["-1", "-1"]);
            }
            Some((s, e)) => {
                assert_eq!(v.label, "anomalous");
                assert!(!v.name.contains("normal"), "{}", v.name);
                assert!(s <= e && e < v.frames);
                assert!(
                    s as f64 >= 0.15 * v.frames as f64,
                    "{} starts at {s} of {}",
                    v.name,
                    v.frames
                );
                assert!(
                    e as f64 <= 0.85 * v.frames as f64,
                    "{} ends at {e} of {}",
                    v.name,
                    v.frames
                );
                assert_eq!(a[3], s.to_string());
                assert_eq!(a[4], e.to_string());
            }
        }
    }
}

#[test]
fn names_cycle_classes_and_never_leak_the_label() {
    let p = plan(&KitConfig::default());
    assert_eq!(p.len(), 116);
    let mut names: Vec<&str> = p.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 116);
    for v in &p {
        assert_eq!(
            v.name.contains("normal"),
            v.class == Class::Normal,
            "{}",
            v.name
        );
        assert!(v.name.starts_with(v.split));
    }
    assert!(p.iter().any(|v| v.name == "train_fighting_004"));
    assert!(p.iter().any(|v| v.name == "test_normal_014"));
    for split in ["train", "test"] {
        for class in Class::ANOMALIES {
            assert!(p.iter().any(|v| v.split == split && v.class == class));
        }
    }
    // A video's seed depends on its name, not its position.
    assert_eq!(
        video_seed(7, "train_fall_000"),
        video_seed(7, "train_fall_000")
    );
    assert_ne!(
        video_seed(7, "train_fall_000"),
        video_seed(8, "train_fall_000")
    );
}

#[test]
fn bad_configs_are_refused_naming_the_folder() {
    let out = Path::new("/nonexistent/kit-out");
    for cfg in [
        KitConfig {
            width: 161,
            ..tiny(1)
        },
        KitConfig {
            height: 8,
            ..tiny(1)
        },
        KitConfig { fps: 0, ..tiny(1) },
        KitConfig {
            min_s: 3.0,
            max_s: 2.0,
            ..tiny(1)
        },
        KitConfig {
            min_s: f64::NAN,
            ..tiny(1)
        },
        KitConfig {
            min_s: 0.0,
            ..tiny(1)
        },
        KitConfig {
            train_normal: 0,
            train_anomalous: 0,
            test_normal: 0,
            test_anomalous: 0,
            ..tiny(1)
        },
    ] {
        let e = generate_kit(&cfg, out, &mut |_, _| {}).unwrap_err();
        assert!(matches!(e, KitError::Config { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("/nonexistent/kit-out") && !msg.contains('\n'),
            "{msg}"
        );
    }
}

#[test]
fn every_class_renders_at_odd_sizes_without_panicking() {
    let classes = std::iter::once(Class::Normal).chain(Class::ANOMALIES);
    for (i, class) in classes.enumerate() {
        for (w, h, frames) in [(64u32, 48u32, 40u64), (96, 160, 12), (320, 240, 3)] {
            let mut s = scene::Scene::new(i as u64 * 31 + u64::from(w), w, h, 10, class, frames);
            let mut c = draw::Canvas::new(w as usize, h as usize);
            for _ in 0..frames {
                s.render_next(&mut c);
            }
            match s.incident_frames() {
                None => assert_eq!(class, Class::Normal),
                Some((a, b)) => assert!(a <= b && b < frames),
            }
        }
        // Many places and lights, a few frames each, around the incident.
        for seed in 0..25u64 {
            let mut s = scene::Scene::new(seed * 7919 + i as u64, 80, 60, 8, class, 24);
            let mut c = draw::Canvas::new(80, 60);
            for _ in 0..24 {
                s.render_next(&mut c);
            }
        }
    }
}

/// The long scenes: files that agree with each other and with the frames encoded, three
/// incidents in time order per scene in the ground truth the evaluator reads, the place and
/// light each recipe asks for, and the same bytes from the same seed.
#[test]
fn long_scenes_agree_with_their_ground_truth_and_repeat() {
    let (a, b) = (TempDir::new("long-a"), TempDir::new("long-b"));
    let cfg = LongConfig {
        seed: 5,
        minutes: 1.0,
        width: 96,
        height: 72,
        fps: 15,
    };
    let mut last = (String::new(), 0u64);
    let sa = generate_long(&cfg, &a.0, &mut |name, f, n| {
        assert_eq!(n, 900);
        last = (name.to_string(), f);
    })
    .unwrap();
    assert_eq!(last.0, "long_busy");
    assert_eq!(sa.videos.len(), 2);
    let truth = crate::eval::read_annotations(&a.0.join("annotations.txt")).unwrap();
    for (v, t) in sa.videos.iter().zip(&truth) {
        let (frames, w, h, _) = decode(&a.0.join(&v.path));
        assert_eq!((frames, w, h), (900, 96, 72), "{}", v.name);
        assert_eq!(v.frames, 900);
        assert_eq!(t.stem(), v.name);
        assert_eq!(t.frames, Some(900));
        let spans: Vec<(u64, u64)> = v.incidents.iter().map(|i| i.frames).collect();
        assert_eq!(t.intervals, spans, "{}", v.name);
        assert_eq!(spans.len(), 3);
        assert!(spans.windows(2).all(|w| w[0].1 < w[1].0), "{spans:?}");
        assert!(spans.iter().all(|&(s, e)| s <= e && e < 900), "{spans:?}");
    }
    assert_eq!(
        (sa.videos[0].place.as_str(), sa.videos[0].lighting.as_str()),
        ("parking", "night")
    );
    assert_eq!(sa.videos[1].place, "junction");
    let list = std::fs::read_to_string(a.0.join("test.txt")).unwrap();
    assert_eq!(list.lines().count(), 2);
    let sb = generate_long(&cfg, &b.0, &mut |_, _, _| {}).unwrap();
    assert_eq!(sa, sb);
    assert_eq!(files(&a.0), files(&b.0));
}

#[test]
fn close_and_short_groups_leave_the_standard_videos_as_they_were() {
    let (a, b) = (TempDir::new("groups-a"), TempDir::new("groups-b"));
    let plain = tiny(5);
    let grouped = KitConfig {
        train_close: 1,
        test_close: 4,
        test_short: 1,
        ..tiny(5)
    };
    generate_kit(&plain, &a.0, &mut |_, _| {}).unwrap();
    let summary = generate_kit(&grouped, &b.0, &mut |_, _| {}).unwrap();
    let (fa, fb) = (files(&a.0.join("videos")), files(&b.0.join("videos")));
    for (name, bytes) in &fa {
        assert_eq!(fb.get(name), Some(bytes), "{name} changed");
    }
    let names: Vec<&str> = summary.videos.iter().map(|v| v.name.as_str()).collect();
    for want in [
        "train_close_normal_000",
        "test_close_normal_000",
        "test_close_fighting_000",
        "test_close_fall_000",
        "test_close_scatter_000",
        "test_short_fighting_000",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    for v in &summary.videos {
        match v.group.as_str() {
            "short" => {
                assert!((20.0..=40.0).contains(&v.duration_s), "{}", v.duration_s);
                let (f0, f1) = v.incident.unwrap();
                let share = (f1 - f0 + 1) as f64 / v.frames as f64;
                assert!((0.149..=0.301).contains(&share), "{share}");
            }
            "close" => assert_eq!(v.label == "normal", v.name.contains("normal")),
            g => assert_eq!(g, "standard"),
        }
    }
}
