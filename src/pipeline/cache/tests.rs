use super::*;

fn out(seed: f32) -> ClipOutput {
    ClipOutput {
        features: (0..4).map(|i| seed + i as f32).collect(),
        top: vec![(7, 0.5), (3, 0.25)],
    }
}

#[test]
fn round_trips_and_ignores_damaged_files() {
    let root = tempfile::tempdir().unwrap();
    let cache = FeatureCache::open(root.path(), "key", "abc", 4, 2).unwrap();
    cache.write_batch(&[(0, out(0.0)), (1, out(1.0))]).unwrap();
    cache.write_batch(&[(5, out(5.0))]).unwrap();
    // A torn file from another tool or a disk error must not poison the cache.
    std::fs::write(
        cache.dir().join("clips-000000009-000000009-1.bin"),
        b"VGLF\x01",
    )
    .unwrap();
    let index = cache.index().unwrap();
    assert_eq!(index.clips().collect::<Vec<_>>(), vec![0, 1, 5]);
    assert_eq!(index.top(5), Some(&out(5.0).top[..]));
    // Rows come back in the order asked, across files.
    let mut rows = vec![0f32; 12];
    index.read_rows(&[5, 0, 1], &mut rows).unwrap();
    let want: Vec<f32> = [out(5.0), out(0.0), out(1.0)]
        .iter()
        .flat_map(|o| o.features.clone())
        .collect();
    assert_eq!(rows, want);
    // A clip that is not there is an error, not a row of zeros.
    let err = index.read_rows(&[9], &mut rows[..4]).unwrap_err();
    assert!(err.to_string().contains("clip 9"), "{err}");

    // A cache for another feature size is not read as this one.
    let other = FeatureCache::open(root.path(), "key", "abc", 3, 2).unwrap();
    assert_eq!(other.index().unwrap().len(), 0);
}

#[test]
fn altered_files_are_rejected_deleted_and_reported() {
    let root = tempfile::tempdir().unwrap();
    let cache = FeatureCache::open(root.path(), "key", "abc", 4, 2).unwrap();
    let a = cache.write_batch(&[(0, out(0.0))]).unwrap().unwrap();
    let b = cache.write_batch(&[(1, out(1.0))]).unwrap().unwrap();
    assert_eq!(cache.index().unwrap().len(), 2);
    assert!(cache.take_rejected().is_empty());

    // One flipped bit in a feature: the checksum catches it.
    let mut bytes = std::fs::read(&a).unwrap();
    bytes[HEADER_BYTES + 9] ^= 0x10;
    std::fs::write(&a, &bytes).unwrap();
    // A NaN written with a checksum that matches: the range check catches it.
    let mut bad = out(1.0);
    bad.features[2] = f32::NAN;
    std::fs::remove_file(&b).unwrap();
    cache.write_batch(&[(1, bad)]).unwrap();
    // A probability of 3.4e38.
    let mut wild = out(2.0);
    wild.top[0].1 = f32::MAX;
    cache.write_batch(&[(2, wild)]).unwrap();

    let index = cache.index().unwrap();
    assert_eq!(index.len(), 0);
    let why = cache.take_rejected();
    assert_eq!(why.len(), 3, "{why:?}");
    assert!(why[0].contains("checksum"), "{why:?}");
    assert!(why[1].contains("feature value of NaN"), "{why:?}");
    assert!(why[2].contains("probability"), "{why:?}");
    // Deleted, so that the next run neither trips on them nor keeps them.
    assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 0);
    assert!(cache.take_rejected().is_empty(), "taken once");

    // A read-only view skips a bad file but leaves it where it is.
    cache.write_batch(&[(0, out(0.0))]).unwrap();
    let f = std::fs::read_dir(cache.dir())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[HEADER_BYTES + 9] ^= 0x10;
    std::fs::write(&f, &bytes).unwrap();
    let view = FeatureCache::at(root.path(), "key", "abc", 4, 2);
    assert_eq!(view.index().unwrap().len(), 0);
    assert_eq!(view.take_rejected().len(), 1);
    assert!(f.exists());
}

fn record(spans: Vec<ClipSpan>) -> CompleteRecord {
    CompleteRecord {
        version: FORMAT_VERSION,
        frames: spans.last().map_or(0, |s| s.end_frame),
        spans,
        duration_s: 1.0,
        decode_errors: 0,
        warnings: Vec::new(),
        partial: false,
        gaps: Vec::new(),
        damaged: Vec::new(),
    }
}

fn span(index: u64, start_s: f64, end_s: f64, frames: [u64; 2]) -> ClipSpan {
    ClipSpan {
        index,
        start_s,
        end_s,
        start_frame: frames[0],
        end_frame: frames[1],
        padded_slots: 0,
    }
}

#[test]
fn json_records_are_sealed_and_checked() {
    let root = tempfile::tempdir().unwrap();
    let cache = FeatureCache::open(root.path(), "key", "abc", 4, 2).unwrap();
    let good = record(vec![
        span(0, 0.0, 0.5, [0, 15]),
        span(1, 0.5, 1.0, [15, 30]),
    ]);
    cache.write_complete(&good).unwrap();
    let back = cache.load_complete().unwrap();
    assert_eq!(back.spans, good.spans);

    // A digit changed inside the body still parses; the seal catches it.
    let path = cache.dir().join("complete.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"end_frame\":30", "\"end_frame\":90")).unwrap();
    assert!(cache.load_complete().is_none());
    let why = cache.take_rejected();
    assert!(why.len() == 1 && why[0].contains("checksum"), "{why:?}");
    assert!(!path.exists());

    // Sealed but impossible: spans out of order.
    let bad = record(vec![
        span(0, 0.5, 1.0, [15, 30]),
        span(1, 0.0, 0.5, [0, 15]),
    ]);
    cache.write_complete(&bad).unwrap();
    assert!(cache.load_complete().is_none());
    let why = cache.take_rejected();
    assert!(why.len() == 1 && why[0].contains("clip span 1"), "{why:?}");

    // Unsealed JSON (an older vigil's) is redone, and said so.
    std::fs::write(&path, serde_json::to_vec(&good).unwrap()).unwrap();
    assert!(cache.load_complete().is_none());
    assert_eq!(cache.take_rejected().len(), 1);
}
