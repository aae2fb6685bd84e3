#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `vigil eval` end to end: real scores of the generated demo (an incident at 34–41 s) and of
//! real normal footage, a UCF-Crime annotation file, and the outputs.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn eval_scores_the_demo_incident_and_counts_no_false_alarms_on_normal_footage() {
    let (clip, cache) = demo_fixture();
    let dir = tempdir();
    let scores = dir.path().join("scores.jsonl");
    let gifs = [
        footage("people-detection.gif"),
        footage("store-aisle-detection.gif"),
    ];
    let o = run(vigil(cache)
        .args(["score", "--device", "cpu", "--json", "-o"])
        .arg(&scores)
        .arg(clip)
        .args(&gifs));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // 30 fps: the incident is frames 1020 to 1230 (34 s to 41 s).
    let ann = dir.path().join("annotations.txt");
    std::fs::write(
        &ann,
        "demo-street.mp4  Explosion  1020  1230  -1  -1\n\
         people-detection.gif  Normal  -1  -1  -1  -1\n\
         store-aisle-detection.gif  Normal  -1  -1  -1  -1\n\
         never-scored.mp4  Normal  -1  -1  -1  -1\n",
    )
    .unwrap();
    let png = dir.path().join("roc.png");
    let csv = dir.path().join("roc.csv");
    let o = run(vigil(cache)
        .args(["eval", "--json", "--scores"])
        .arg(&scores)
        .arg("--annotations")
        .arg(&ann)
        .arg("--roc-png")
        .arg(&png)
        .arg("--roc-csv")
        .arg(&csv));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["n_videos"], 3);
    assert_eq!(r["n_anomalous_frames"], 211);
    let auc = r["auc"].as_f64().unwrap();
    assert!(auc > 0.9, "the incident ranks above the rest: {auc}");
    assert_eq!(
        r["far"].as_f64(),
        Some(0.0),
        "no normal frame at or above 0.5"
    );
    assert_eq!(r["n_normal_videos"], 2);
    let demo = &r["per_video"][0];
    let peak = demo["peak_frame"].as_u64().unwrap();
    assert!(
        (1020..=1230).contains(&peak),
        "peak inside the incident: {peak}"
    );
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("never-scored.mp4")
    );
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert!(
        rows.starts_with("fpr,tpr,threshold\n0,0,inf\n"),
        "{}",
        &rows[..40]
    );

    // A readable summary too, and a clear error for a missing annotation file.
    let o = run(vigil(cache)
        .args(["eval", "--scores"])
        .arg(&scores)
        .arg("--annotations")
        .arg(&ann));
    assert!(String::from_utf8_lossy(&o.stdout).contains("frame-level ROC AUC"));
    let o = run(vigil(cache)
        .args(["eval", "--scores"])
        .arg(&scores)
        .arg("--annotations")
        .arg(dir.path().join("missing.txt")));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing.txt"));
}
