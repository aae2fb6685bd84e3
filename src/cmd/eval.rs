//! `vigil eval`: the paper's frame-level ROC/AUC on score reports or a trained head.

use crate::EXIT_OTHER;
use crate::cli::*;
use anyhow::Context as _;

pub(crate) fn eval(args: &EvalArgs) -> u8 {
    use vigil::eval;
    let result = (|| -> anyhow::Result<eval::EvalResult> {
        let annotations = eval::read_annotations(&args.annotations)?;
        let (videos, warnings) = match (&args.features, &args.head) {
            (Some(dir), Some(head)) => {
                let set = vigil::mil::featureset::FeatureSet::read(dir)?;
                let scores = super::mil::score_feature_set(&set, head)?;
                let (videos, missing) =
                    vigil::mil::train::scored_videos(&set, &scores, &annotations);
                let warnings = missing
                    .iter()
                    .map(|m| format!("{m}: no annotation with a frame count; left out"))
                    .collect();
                (videos, warnings)
            }
            _ => {
                let reports = eval::read_reports(&args.scores)?;
                eval::match_reports(&reports, &annotations)
            }
        };
        if videos.is_empty() {
            anyhow::bail!("no score report matches an annotated video (matched by file name)");
        }
        let mut r = eval::evaluate(&videos, f64::from(args.threshold));
        r.warnings = warnings;
        if let Some(out) = &args.roc_png {
            let png =
                eval::roc_png(&r.roc, r.auc, "Frame-level ROC").map_err(anyhow::Error::msg)?;
            vigil::base::write_atomic(out, &png)
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
        if let Some(out) = &args.roc_csv {
            vigil::base::write_atomic(out, eval::roc_csv(&r.roc).as_bytes())
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
        Ok(r)
    })();
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigil: error: {e:#}");
            return EXIT_OTHER;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&r) {
            Ok(j) => outln!("{j}"),
            Err(e) => {
                eprintln!("vigil: error: {e}");
                return EXIT_OTHER;
            }
        }
        return 0;
    }
    let pct = |x: Option<f64>| {
        x.map_or_else(
            || "n/a (one class only)".to_string(),
            |v| format!("{:.2} %", v * 100.0),
        )
    };
    outln!(
        "frame-level ROC AUC {} over {} frames of {} videos ({} anomalous frames)",
        pct(r.auc),
        r.n_frames,
        r.n_videos,
        r.n_anomalous_frames
    );
    outln!("average precision {}", pct(r.average_precision));
    outln!(
        "false alarms at {:.2} on {} normal video(s): {}",
        r.threshold,
        r.n_normal_videos,
        pct(r.far)
    );
    outln!(
        "incidents flagged at {:.2}: {} of {}; mean per-video AUC {}",
        r.threshold,
        r.incidents_flagged,
        r.incidents,
        pct(r.mean_video_auc)
    );
    for c in &r.per_class {
        outln!(
            "  {:<14} {:>3} videos  AUC {:>8}  incidents flagged {}/{}  frames ≥ {:.2}: {:.2} %",
            c.class,
            c.videos,
            c.mean_auc
                .map_or_else(|| "–".to_string(), |a| format!("{:.2} %", a * 100.0)),
            c.incidents_flagged,
            c.incidents,
            r.threshold,
            c.flagged_share * 100.0
        );
    }
    for v in &r.per_video {
        outln!(
            "  {:<40} {:>8} frames  peak {:.2} at frame {:<7} AUC {}",
            v.name,
            v.frames,
            v.peak,
            v.peak_frame,
            v.auc
                .map_or_else(|| "–".to_string(), |a| format!("{:.2} %", a * 100.0))
        );
    }
    for w in &r.warnings {
        outln!("  warning: {w}");
    }
    0
}
