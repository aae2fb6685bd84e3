//! The ML commands: `vigil features`, `vigil train`, `vigil pack`, `vigil kit`, and
//! `vigil eval --features`. Argument handling and progress only; the work is in `vigil::mil`
//! and `vigil::kit`.

use crate::cli::{DefaultScorerArg, FeaturesArgs, KitArgs, ObjectiveArg, PackArgs, TrainArgs};
use crate::progress::Meter;
use crate::{EXIT_CANCELLED, EXIT_FOOTAGE, EXIT_MODEL, EXIT_OTHER, install_ctrl_c};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use vigil::mil::MilError;
use vigil::mil::featureset::{ExtractError, ExtractProgress, FeatureSet, extract_set};
use vigil::mil::labels::read_label_list;
use vigil::mil::loss::LossWeights;
use vigil::mil::onnx::{HEAD_FILE, assemble_pack};
use vigil::mil::record::{checkpoint_path, write_head, write_run};
use vigil::mil::train::{Objective, TrainConfig, TrainProgress, Validation, train};
use vigil::model::{HeadSession, Pack, ScorerSpec};
use vigil::pipeline::{PipelineError, Progress, ScoreOptions};

/// `vigil features`.
pub fn features(args: &FeaturesArgs) -> u8 {
    let pack = match args.run.pack() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return EXIT_MODEL;
        }
    };
    let videos = match read_label_list(&args.labels) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return 2;
        }
    };
    let cancel = Arc::new(AtomicBool::new(false));
    install_ctrl_c(Arc::clone(&cancel));
    let opts = ScoreOptions {
        batch_size: args.batch.map(|b| b as usize),
        intra_threads: args.threads.map(|t| t as usize),
        ..args.run.score_options()
    };
    let b = Meter::new(
        "features",
        Some(videos.len() as u64),
        "videos",
        "{prefix} [{bar:30}] {pos}/{len} videos {msg} ({elapsed})",
    );
    let started = Instant::now();
    let cancelled = || cancel.load(Ordering::SeqCst);
    let result = extract_set(
        &videos,
        &pack,
        &opts,
        &args.output,
        &cancelled,
        &mut |p| match p {
            ExtractProgress::Video { index, path, .. } => {
                b.set_message(
                    path.file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                );
                b.set_position(index as u64);
            }
            ExtractProgress::Clips(Progress::Clips { done, estimate, .. }) => {
                b.set_message(format!("clip {done}/{estimate}"));
            }
            ExtractProgress::Clips(_) => {}
        },
    );
    if result.is_ok() {
        b.set_position(videos.len() as u64);
    }
    b.finish();
    match result {
        Ok(index) => {
            let normal = index
                .videos
                .iter()
                .filter(|v| v.label == vigil::mil::labels::VideoLabel::Normal)
                .count();
            let clips: usize = index.videos.iter().map(|v| v.clips).sum();
            outln!(
                "{} videos ({normal} normal, {} anomalous), {clips} clips of {} features → {} ({:.1} s)",
                index.videos.len(),
                index.videos.len() - normal,
                index.dim,
                args.output.display(),
                started.elapsed().as_secs_f64()
            );
            0
        }
        Err(e) => {
            eprintln!("vigil: error: {e}");
            match e {
                ExtractError::Video { source, .. } => match source {
                    PipelineError::Cancelled => EXIT_CANCELLED,
                    PipelineError::Video(_) => EXIT_FOOTAGE,
                    PipelineError::Model(_) => EXIT_MODEL,
                    _ => EXIT_OTHER,
                },
                ExtractError::Mil(_) => EXIT_OTHER,
            }
        }
    }
}

/// `vigil train`.
pub fn train_cmd(args: &TrainArgs) -> u8 {
    let cancel = Arc::new(AtomicBool::new(false));
    install_ctrl_c(Arc::clone(&cancel));
    match train_inner(args, &cancel) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("vigil: error: {e:#}");
            match e.downcast_ref::<MilError>() {
                Some(MilError::Cancelled) => EXIT_CANCELLED,
                Some(MilError::Model(_)) => EXIT_MODEL,
                _ => EXIT_OTHER,
            }
        }
    }
}

fn train_inner(args: &TrainArgs, cancel: &AtomicBool) -> anyhow::Result<()> {
    let set = FeatureSet::read(&args.features)?;
    let annotations = match &args.val_annotations {
        Some(p) => vigil::eval::read_annotations(p)?,
        None => Vec::new(),
    };
    let val = match &args.val_features {
        Some(dir) => {
            let vset = FeatureSet::read(dir)?;
            if vset.dim() != set.dim() {
                anyhow::bail!(
                    "validation features have {} values per segment, training features {}",
                    vset.dim(),
                    set.dim()
                );
            }
            Some(Validation {
                set: vset,
                annotations: annotations.clone(),
            })
        }
        None => None,
    };
    let cfg = TrainConfig {
        objective: match args.objective {
            ObjectiveArg::Mil => Objective::Mil,
            ObjectiveArg::Binary => Objective::Binary,
        },
        iterations: args.iterations as usize,
        batch_anomalous: args.batch_anomalous as usize,
        batch_normal: args.batch_normal as usize,
        learning_rate: args.lr,
        loss: LossWeights {
            smoothness: args.lambda1,
            sparsity: args.lambda2,
            weight_l2: args.weight_decay,
        },
        dropout: args.dropout,
        seed: args.seed,
        checkpoint_every: args.checkpoint_every as usize,
        eval_every: args.eval_every as usize,
        track: args.track.clone(),
        track_every: (args.iterations as usize / 50).max(1),
        ..TrainConfig::default()
    };
    // The base pack, when the features came from one: the output becomes a pack too.
    let base = match (&args.model, &set.index.extractor) {
        (Some(dir), _) => Some(Pack::load(dir)?),
        (None, Some(x)) => match Pack::load(Path::new(&x.pack_dir)) {
            Ok(p) if p.feature_key() == x.feature_key => Some(p),
            Ok(_) => {
                eprintln!(
                    "vigil: note: {} changed since the features were made; writing the head only",
                    x.pack_dir
                );
                None
            }
            Err(e) => {
                eprintln!("vigil: note: {e}; writing the head only");
                None
            }
        },
        (None, None) => None,
    };
    // A pack whose extractor did not make these features would score clips with a head trained
    // on something else.
    if let (Some(b), Some(x)) = (&base, &set.index.extractor)
        && b.feature_key() != x.feature_key
    {
        anyhow::bail!(
            "{} is not the extractor these features came from ({}, {})",
            b.dir.display(),
            x.pack_id,
            x.pack_dir
        );
    }
    if let Some(b) = &base
        && b.manifest.extractor.features.dim != set.dim()
    {
        anyhow::bail!(
            "{} gives {} features, the feature set has {}",
            b.dir.display(),
            b.manifest.extractor.features.dim,
            set.dim()
        );
    }
    let (normal, anomalous) = set.counts();
    eprintln!(
        "training on {} bags ({normal} normal, {anomalous} anomalous) of {} features, seed {}",
        set.bags.len(),
        set.dim(),
        cfg.seed
    );
    let b = Meter::new(
        "train",
        Some(cfg.iterations as u64),
        "iterations",
        "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, ETA {eta})",
    );
    let started = Instant::now();
    let out = args.out.clone();
    let mut last_auc = String::new();
    let outcome = train(
        &set,
        &cfg,
        val.as_ref(),
        &|| cancel.load(Ordering::SeqCst),
        &mut |it, head| write_head(head, &checkpoint_path(&out, it)).map(|_| ()),
        &mut |p| match p {
            TrainProgress::Step { iteration, loss } => {
                b.set_message(format!("loss {loss:.4}{last_auc}"));
                b.set_position(iteration as u64);
            }
            TrainProgress::Validated { iteration, auc } => {
                last_auc =
                    auc.map_or_else(String::new, |a| format!(", val AUC {:.2} %", a * 100.0));
                b.println(format!(
                    "iteration {iteration}: validation frame AUC {}",
                    auc.map_or_else(|| "n/a".into(), |a| format!("{:.2} %", a * 100.0))
                ));
            }
        },
    )?;
    b.finish();
    let train_s = started.elapsed().as_secs_f64();
    let truth = args.track.as_ref().and_then(|name| {
        let entry = set.bags.iter().find(|b| &b.entry.name == name)?;
        let a = annotations.iter().find(|a| a.stem() == name)?;
        let edges = entry.entry.segment_frames.clone().or_else(|| {
            a.frames
                .map(vigil::mil::featureset::c3d_segment_frame_edges)
        })?;
        Some(
            edges
                .windows(2)
                .map(|w| (w[0]..w[1].max(w[0] + 1)).any(|f| a.is_anomalous(f)))
                .collect::<Vec<bool>>(),
        )
    });
    let record = write_run(&args.out, &set, &cfg, &outcome, train_s, truth.as_deref())?;
    outln!(
        "trained {} iterations in {:.1} s; final loss {:.4} (mean of last 100: {:.4})",
        cfg.iterations,
        train_s,
        record.final_loss,
        record.final_loss_mean100
    );
    if let Some(v) = record.validation.last() {
        outln!(
            "validation: frame AUC {}, false alarms at 0.5 {}",
            v.auc
                .map_or_else(|| "n/a".into(), |a| format!("{:.2} %", a * 100.0)),
            v.far
                .map_or_else(|| "n/a".into(), |a| format!("{:.2} %", a * 100.0))
        );
    }
    outln!("head: {}", args.out.join(HEAD_FILE).display());
    if let Some(base) = base {
        let kind = match cfg.objective {
            Objective::Mil => "MIL ranking head",
            Objective::Binary => "binary-classifier head",
        };
        assemble_pack(
            &base,
            &args.out,
            &args.out,
            "mil_head",
            Some(format!(
                "trained by `vigil train` (seed {}); not benchmarked against the novelty scorer here",
                cfg.seed
            )),
            Some(format!(
                "{} features with a {kind} trained by `vigil train` (and the novelty scorer)",
                base.manifest.id
            )),
        )?;
        outln!(
            "model pack: {} (vigil score --model {})",
            args.out.display(),
            args.out.display()
        );
    }
    if args.track.is_some() {
        outln!("figure 8: {}", args.out.join("figure8.png").display());
    }
    Ok(())
}

/// `vigil pack`.
pub fn pack(args: &PackArgs) -> u8 {
    let result = (|| -> anyhow::Result<()> {
        let base = Pack::load(&args.base)?;
        let kind = match args.default_scorer {
            DefaultScorerArg::MilHead => "mil_head",
            DefaultScorerArg::Novelty => "novelty",
            DefaultScorerArg::Fused => "fused",
        };
        let m = assemble_pack(
            &base,
            &args.head,
            &args.out,
            kind,
            args.reason.clone(),
            args.name.clone(),
        )?;
        // Load it back: every hash and shape is checked as `vigil score` will.
        Pack::load(&args.out).context("the new pack does not load")?;
        outln!(
            "model pack {} (default scorer: {}; also: {})",
            args.out.display(),
            m.scorer.kind(),
            m.other_scorers
                .iter()
                .map(ScorerSpec::kind)
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("vigil: error: {e:#}");
            EXIT_MODEL
        }
    }
}

/// `vigil kit`.
pub fn kit(args: &KitArgs) -> u8 {
    if args.long {
        return long_kit(args);
    }
    let cfg = vigil::kit::KitConfig {
        seed: args.seed,
        train_normal: args.train_normal,
        train_anomalous: args.train_anomalous,
        test_normal: args.test_normal,
        test_anomalous: args.test_anomalous,
        min_s: args.min_s,
        max_s: args.max_s,
        width: args.width,
        height: args.height,
        train_close: args.train_close,
        test_close: args.test_close,
        test_short: args.test_short,
        ..vigil::kit::KitConfig::default()
    };
    let total = cfg.total();
    let b = Meter::new(
        "kit",
        Some(total as u64),
        "videos",
        "{prefix} [{bar:30}] {pos}/{len} videos ({elapsed})",
    );
    let started = Instant::now();
    // libx264 would print a report per video otherwise.
    vigil::video::init_ffmpeg();
    let result = vigil::kit::generate_kit(&cfg, &args.output, &mut |done, _| {
        b.set_position(done as u64);
    });
    b.finish();
    match result {
        Ok(summary) => {
            let seconds: f64 = summary.videos.iter().map(|v| v.duration_s).sum();
            outln!(
                "kit: {} videos ({:.0} s of footage) in {} ({:.1} s); lists train.txt, test.txt; ground truth annotations.txt",
                summary.videos.len(),
                seconds,
                args.output.display(),
                started.elapsed().as_secs_f64()
            );
            0
        }
        Err(e) => {
            eprintln!("vigil: error: {e}");
            EXIT_OTHER
        }
    }
}

/// `vigil kit --long`: the two long scenes.
fn long_kit(args: &KitArgs) -> u8 {
    let cfg = vigil::kit::LongConfig {
        seed: args.seed,
        minutes: args.minutes,
        ..vigil::kit::LongConfig::default()
    };
    let frames = (cfg.minutes * 60.0 * f64::from(cfg.fps)).round() as u64;
    let b = Meter::new(
        "kit --long",
        Some(2 * frames),
        "frames",
        "{prefix} {msg} [{bar:30}] {pos}/{len} frames ({elapsed}, {eta} left)",
    );
    let started = Instant::now();
    vigil::video::init_ffmpeg();
    let mut scene_index = 0u64;
    let mut last = String::new();
    let result = vigil::kit::generate_long(&cfg, &args.output, &mut |name, f, _| {
        if name != last {
            if !last.is_empty() {
                scene_index += 1;
            }
            last = name.to_string();
            b.set_message(name.to_string());
        }
        b.set_position(scene_index * frames + f);
    });
    b.finish();
    match result {
        Ok(summary) => {
            for v in &summary.videos {
                let at: Vec<String> = v
                    .incidents
                    .iter()
                    .map(|i| format!("{} at {:.1} s", i.class, i.seconds.0))
                    .collect();
                outln!(
                    "{}: {:.0} min, {} at {}, {}",
                    v.path,
                    v.duration_s / 60.0,
                    v.place,
                    v.lighting,
                    at.join(", ")
                );
            }
            outln!(
                "kit --long: 2 scenes in {} ({:.1} s); list test.txt; ground truth annotations.txt",
                args.output.display(),
                started.elapsed().as_secs_f64()
            );
            0
        }
        Err(e) => {
            eprintln!("vigil: error: {e}");
            EXIT_OTHER
        }
    }
}

/// The head `path` names: an `.onnx` file, a `vigil train` folder, or a pack with a MIL head.
pub fn head_file(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let manifest = path.join("manifest.json");
    if manifest.is_file() {
        let pack = Pack::load(path)?;
        let spec = pack.scorer(Some("mil_head"))?;
        if let ScorerSpec::MilHead(h) = spec {
            return Ok(path.join(&h.file));
        }
    }
    let f = path.join(HEAD_FILE);
    if f.is_file() {
        return Ok(f);
    }
    anyhow::bail!(
        "{}: no head ({HEAD_FILE}, pack or .onnx file)",
        path.display()
    )
}

/// Scores a feature set's bags with an ONNX head (the interop path for foreign C3D features):
/// each bag's 32 rows as they are, the same rows `vigil train` and its validation use.
pub fn score_feature_set(set: &FeatureSet, head: &Path) -> anyhow::Result<Vec<Vec<f32>>> {
    let file = head_file(head)?;
    let mut session = HeadSession::new(&file, set.dim()).with_context(|| {
        format!(
            "{} cannot score {}-value features",
            file.display(),
            set.dim()
        )
    })?;
    let mut out = Vec::with_capacity(set.bags.len());
    for b in &set.bags {
        // As `vigil train` saw them: bags are L2-normalised when they are made.
        out.push(session.run(&b.bag.rows)?);
    }
    Ok(out)
}
