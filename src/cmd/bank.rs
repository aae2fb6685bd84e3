//! `vigil bank add` and `vigil bank show`: argument handling, progress and printing; the work is
//! in `vigil::pipeline::add_videos` (the bank and its scale) and `vigil::model::install_bank`
//! (the pack's files).

use crate::cli::{BankAction, BankAddArgs, BankArgs, BankRulesArgs, BankShowArgs};
use crate::progress::Meter;
use crate::{EXIT_CANCELLED, EXIT_FOOTAGE, EXIT_MODEL, EXIT_OTHER, install_ctrl_c};
use anyhow::Context as _;
use ndarray::Array2;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use vigil::mil::labels::{VideoLabel, read_normal_list};
use vigil::model::{Pack, ScorerSpec, install_bank, read_rows};
use vigil::pipeline::{
    BankVideo, PipelineError, Progress, ScoreOptions, add_videos, extract_clip_features,
    fused_params,
};

/// `vigil bank`.
pub fn bank(args: &BankArgs) -> u8 {
    match &args.action {
        BankAction::Add(a) => add(a),
        BankAction::Show(a) => show(a),
        BankAction::Rules(a) => match rules(a) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("vigil: error: {e:#}");
                if e.downcast_ref::<vigil::model::ModelError>().is_some() {
                    EXIT_MODEL
                } else {
                    EXIT_OTHER
                }
            }
        },
    }
}

/// A list file is named `.txt`, `.list` or `.lst`; anything else is a video to add itself.
fn is_list(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["txt", "list", "lst"].contains(&e.to_ascii_lowercase().as_str()))
}

fn add(args: &BankAddArgs) -> u8 {
    let cancel = Arc::new(AtomicBool::new(false));
    install_ctrl_c(Arc::clone(&cancel));
    match add_inner(args, &cancel) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("vigil: error: {e:#}");
            match e.downcast_ref::<PipelineError>() {
                Some(PipelineError::Cancelled) => EXIT_CANCELLED,
                Some(PipelineError::Video(_)) => EXIT_FOOTAGE,
                Some(PipelineError::Model(_)) => EXIT_MODEL,
                _ if e.downcast_ref::<vigil::model::ModelError>().is_some() => EXIT_MODEL,
                _ => EXIT_OTHER,
            }
        }
    }
}

fn add_inner(args: &BankAddArgs, cancel: &AtomicBool) -> anyhow::Result<()> {
    let pack = args.run.pack()?;
    let params = std::iter::once(&pack.manifest.scorer)
        .chain(&pack.manifest.other_scorers)
        .find_map(|s| match s {
            ScorerSpec::Novelty(p) => Some(*p),
            _ => None,
        })
        .context("this pack has no novelty scorer, whose calibration the bank's scale uses")?;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut left_out = 0usize;
    for list in &args.lists {
        if !is_list(list) {
            paths.push(list.clone());
            continue;
        }
        for v in read_normal_list(list)? {
            if v.label == VideoLabel::Normal {
                paths.push(v.path);
            } else {
                left_out += 1;
            }
        }
    }
    if paths.is_empty() {
        anyhow::bail!("no normal videos listed ({left_out} marked anomalous were left out)");
    }
    let opts = ScoreOptions {
        intra_threads: args.threads.map(|t| t as usize),
        ..args.run.score_options()
    };
    let bar = Meter::new(
        "bank",
        Some(paths.len() as u64),
        "videos",
        "{prefix} [{bar:30}] {pos}/{len} videos {msg} ({elapsed})",
    );
    let cancelled = || cancel.load(Ordering::SeqCst);
    let mut videos = Vec::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        bar.set_position(i as u64);
        bar.set_message(name.clone());
        let got = extract_clip_features(path, &pack, &opts, &cancelled, &mut |p| {
            if let Progress::Clips { done, estimate, .. } = p {
                bar.set_message(format!("{name}: clip {done}/{estimate}"));
            }
        })
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{}", path.display()))?;
        let clips = got.features.len().checked_div(got.dim).unwrap_or(0);
        let features = Array2::from_shape_vec((clips, got.dim), got.features)
            .context("clip features have the wrong shape")?;
        videos.push(BankVideo {
            name,
            sha256: got.run.sha256,
            features,
        });
    }
    bar.set_position(paths.len() as u64);
    bar.finish();
    let existing = match &pack.manifest.normal_bank {
        Some(spec) => {
            let file = pack.dir.join(&spec.file);
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let rows = read_rows(&bytes)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{}", file.display()))?;
            Some((rows, spec.clone()))
        }
        None => None,
    };
    let (rows, spec, change) =
        add_videos(existing, videos, &pack.feature_key(), &params).map_err(anyhow::Error::msg)?;
    // The pack gains the fused scorer (novelty with the trimmed calibration, and the bank) the
    // first time it gets a bank; it stays where it is after that.
    let mut manifest = pack.manifest.clone();
    let has_fused = std::iter::once(&manifest.scorer)
        .chain(&manifest.other_scorers)
        .any(|s| matches!(s, ScorerSpec::Fused(_)));
    if !has_fused {
        manifest
            .other_scorers
            .push(ScorerSpec::Fused(fused_params(&params)));
    }
    let spec = install_bank(&pack.dir, &manifest, &rows, spec)?;
    // Load it back: every hash and shape is checked as `vigil score` will.
    Pack::load(&pack.dir).context("the pack does not load with its new bank")?;
    outln!(
        "normal bank of {}: {} videos, {} clips ({} added{}{}); normal footage's own distance to it: median {:.4}, spread {:.4}",
        pack.dir.display(),
        spec.sources.len(),
        spec.rows,
        change.added.len(),
        if change.already.is_empty() {
            String::new()
        } else {
            format!(", {} already there", change.already.len())
        },
        if left_out == 0 {
            String::new()
        } else {
            format!(", {left_out} listed as anomalous left out")
        },
        spec.median,
        spec.spread
    );
    Ok(())
}

fn show(args: &BankShowArgs) -> u8 {
    let pack = match crate::load_pack(args.model.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return EXIT_MODEL;
        }
    };
    let Some(spec) = &pack.manifest.normal_bank else {
        if args.json {
            outln!("null");
        } else {
            outln!(
                "{} has no normal bank (add one with `vigil bank add LIST --model {}`)",
                pack.dir.display(),
                pack.dir.display()
            );
        }
        return 0;
    };
    if args.json {
        match serde_json::to_string_pretty(spec) {
            Ok(j) => outln!("{j}"),
            Err(e) => {
                eprintln!("vigil: error: {e}");
                return EXIT_OTHER;
            }
        }
        return 0;
    }
    outln!(
        "normal bank {} ({} clips of {} values, sha256 {}): k {}, median {:.4}, spread {:.4}",
        spec.file,
        spec.rows,
        spec.dim,
        spec.sha256,
        spec.k,
        spec.median,
        spec.spread
    );
    for s in &spec.sources {
        outln!(
            "  {:<40} {:>5} of {:>6} clips  {}",
            s.name,
            s.rows,
            s.clips,
            s.video_sha256
        );
    }
    0
}

fn rules(args: &BankRulesArgs) -> anyhow::Result<()> {
    let pack = crate::load_pack(args.model.as_deref())?;
    let spec = pack
        .manifest
        .normal_bank
        .as_ref()
        .context("this pack has no normal bank (vigil bank add)")?;
    let fused = std::iter::once(&pack.manifest.scorer)
        .chain(&pack.manifest.other_scorers)
        .find_map(|s| match s {
            ScorerSpec::Fused(f) => Some(*f),
            _ => None,
        })
        .context("this pack has no fused scorer (vigil bank add gives it one)")?;
    let bank = vigil::model::Bank::load(&pack.dir, spec)?;
    let set = vigil::mil::featureset::FeatureSet::read(&args.features)?;
    let annotations = vigil::eval::read_annotations(&args.annotations)?;
    let input = &pack.manifest.extractor.input;
    let clip_s = f64::from(input.frames) / input.frame_rate;
    let table = vigil::mil::fusion::compare_rules(&set, &annotations, &bank, &fused, clip_s)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&table)?);
        return Ok(());
    }
    let pct = |x: Option<f64>| x.map_or_else(|| "–".to_string(), |v| format!("{:.2}", v * 100.0));
    outln!(
        "{} videos of {}, each against the bank without its own clips; segment scores as `vigil eval --features`",
        set.bags.len(),
        args.features.display()
    );
    outln!("rule      AUC %   mean per-video AUC %   false alarms %   incidents flagged");
    for r in &table {
        outln!(
            "{:<8} {:>7}   {:>20}   {:>14}   {}/{}",
            r.rule,
            pct(r.auc),
            pct(r.mean_video_auc),
            pct(r.far),
            r.incidents_flagged,
            r.incidents
        );
    }
    Ok(())
}
