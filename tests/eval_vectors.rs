#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The evaluation against references: scikit-learn's ROC/AUC/AP on small cases and on a
//! UCF-style 32-segment protocol, and the area of the paper's own published ROC curve.

mod common;

use common::*;
use serde_json::Value;
use vigil::eval::{
    Annotation, ScoredVideo, average_precision, evaluate, frames_from_segments, mann_whitney,
    mat5::read_mat5, read_annotations, roc_auc, roc_curve, trapezoid,
};

fn vectors(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(shared().join("testvectors").join(name)).unwrap())
        .unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::INFINITY))
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x == y) || (x - y).abs() <= tol)
}

#[test]
fn small_cases_match_scikit_learn() {
    for case in vectors("small_cases.json").as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let y: Vec<bool> = case["y_true"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64() == Some(1))
            .collect();
        let s = floats(&case["y_score"]);
        let full = &case["roc_curve_full"];
        let roc = roc_curve(&y, &s, false);
        assert!(
            close(&roc.fpr, &floats(&full["fpr"]), 1e-12),
            "{name} fpr {:?}",
            roc.fpr
        );
        assert!(close(&roc.tpr, &floats(&full["tpr"]), 1e-12), "{name} tpr");
        assert!(
            close(&roc.thresholds, &floats(&full["thresholds"]), 1e-12),
            "{name} thresholds"
        );
        let want = case["roc_auc"].as_f64().unwrap();
        assert!(
            (roc_auc(&y, &s).unwrap() - want).abs() <= 1e-9,
            "{name} auc"
        );
        assert!(
            (mann_whitney(&y, &s).unwrap() - case["mann_whitney"].as_f64().unwrap()).abs() <= 1e-9
        );
        let ap = case["average_precision"].as_f64().unwrap();
        assert!(
            (average_precision(&y, &s).unwrap() - ap).abs() <= 1e-9,
            "{name} ap"
        );
        // The default curve drops collinear points but keeps the area.
        let dropped = roc_curve(&y, &s, true);
        assert!((trapezoid(&dropped.fpr, &dropped.tpr) - want).abs() <= 1e-9);
    }
}

#[test]
fn ucf_style_32_segment_protocol_matches_scikit_learn() {
    let d = vectors("ucf_style_32seg.json");
    let mut videos = Vec::new();
    for v in d["videos"].as_array().unwrap() {
        let edges: Vec<u64> = v["segment_edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_u64().unwrap())
            .collect();
        let scores = frames_from_segments(&floats(&v["segment_scores"]), &edges);
        assert_eq!(scores, floats(&v["frame_scores"]), "segment expansion");
        let intervals: Vec<(u64, u64)> = v["anomaly_intervals_inclusive"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()))
            .collect();
        let annotation = Annotation {
            name: format!("{}.mp4", v["name"].as_str().unwrap()),
            class: if intervals.is_empty() {
                "Normal".into()
            } else {
                "Anomaly".into()
            },
            intervals,
            frames: v["n_frames"].as_u64(),
        };
        let gt: Vec<i64> = (0..scores.len() as u64)
            .map(|f| i64::from(annotation.is_anomalous(f)))
            .collect();
        let want_gt: Vec<i64> = v["frame_gt"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_i64().unwrap())
            .collect();
        assert_eq!(gt, want_gt, "inclusive intervals");
        videos.push(ScoredVideo { annotation, scores });
    }
    let e = &d["expected"];
    let r = evaluate(&videos, 0.5);
    assert_eq!(r.n_frames as u64, e["n_frames"].as_u64().unwrap());
    assert_eq!(r.n_anomalous_frames as u64, e["n_pos"].as_u64().unwrap());
    let auc = r.auc.unwrap();
    println!(
        "pooled frame AUC {auc:.16} (scikit-learn {})",
        e["sklearn_roc_auc"]
    );
    assert!((auc - e["sklearn_roc_auc"].as_f64().unwrap()).abs() <= 1e-9);
    assert!(
        (r.average_precision.unwrap() - e["sklearn_average_precision"].as_f64().unwrap()).abs()
            <= 1e-9
    );
    assert!(close(
        &r.roc.fpr,
        &floats(&e["roc_curve_full"]["fpr"]),
        1e-12
    ));
    assert!(close(
        &r.roc.tpr,
        &floats(&e["roc_curve_full"]["tpr"]),
        1e-12
    ));
    for pv in &r.per_video {
        let stem = pv.name.trim_end_matches(".mp4");
        match e["per_video_auc"][stem].as_f64() {
            Some(want) => assert!((pv.auc.unwrap() - want).abs() <= 1e-9, "{stem}"),
            None => assert_eq!(pv.auc, None, "{stem}: one class only"),
        }
    }
}

#[test]
fn the_paper_roc_curve_has_the_published_area() {
    let dir = shared().join("ucf-crime/paper-roc");
    let area = |file: &str| {
        let m = read_mat5(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        trapezoid(&m["X"].values, &m["Y"].values)
    };
    let ours = area("6_C3D_Final_L1L2.mat");
    println!("paper ROC trapezoid area {ours:.8}");
    assert!((ours - 0.754_117).abs() < 1e-6, "{ours}");
    // The baselines of the paper's Table 3.
    assert!((area("1_Binary_Abnormal_Normal.mat") - 0.4999).abs() < 1e-3);
    assert!((area("2_Cei_lui.mat") - 0.6551).abs() < 1e-3);
    assert!((area("3_CV16_TemporalRegularity.mat") - 0.5066).abs() < 1e-3);
}

#[test]
fn the_ucf_crime_test_annotations_parse() {
    let a = read_annotations(&shared().join("ucf-crime/Temporal_Anomaly_Annotation.txt")).unwrap();
    assert_eq!(a.len(), 290);
    assert_eq!(a.iter().filter(|x| x.is_normal()).count(), 150);
    let b = read_annotations(&shared().join("ucf-crime/Test_Annotation_with_frame_counts.txt"))
        .unwrap();
    assert_eq!(b.len(), 290);
    assert!(b.iter().all(|x| x.frames.is_some()));
    // Every interval lies inside its video once clamped.
    assert!(b.iter().all(|x| {
        x.intervals
            .iter()
            .all(|&(s, e)| s <= e && e < x.frames.unwrap())
    }));
}
