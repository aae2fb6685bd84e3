//! The `vigil` binary: parses arguments, wires the library together, prints each error once.
//!
//! Exit codes (also in the README):
//! - 0: every file scored (partial files included; they carry a warning and `"partial": true`)
//! - 1: an unexpected failure (cache folder not writable, internal error)
//! - 2: bad command line
//! - 3: at least one video file could not be read (the others are still scored)
//! - 4: the model pack or ONNX Runtime cannot be used
//! - 5: `vigil verify` found a modified, missing or extra file
//! - 130: cancelled with Ctrl-C (finished batches stay cached; rerun to resume)

/// `print!` to stdout that survives a reader going away ([`out::write`]).
macro_rules! out {
    ($($t:tt)*) => { $crate::out::write(format_args!($($t)*)) };
}
/// `println!` to stdout that survives a reader going away ([`out::write`]).
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($t)*))) };
}

mod bank_cmd;
mod cli;
mod mil_cmd;
mod out;
mod probe_cmd;
mod progress;

use anyhow::Context as _;
use clap::Parser as _;
use cli::{
    Cli, Command, DeviceArg, DoctorArgs, EvalArgs, ExportArgs, OpenArgs, ScoreArgs, VerifyArgs,
};
use progress::Meter;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use vigil::model::{self, Device, ModelError, Pack};
use vigil::pipeline::{PipelineError, Progress, ScoreOptions, default_cache_root, score_file};

pub(crate) const EXIT_OTHER: u8 = 1;
pub(crate) const EXIT_FOOTAGE: u8 = 3;
pub(crate) const EXIT_MODEL: u8 = 4;
const EXIT_VERIFY: u8 = 5;
pub(crate) const EXIT_CANCELLED: u8 = 130;

fn main() -> ExitCode {
    vigil::base::memory::release_large_blocks();
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,ort=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();

    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Score(args)) => score(&args),
        Some(Command::Doctor(args)) => doctor(&args),
        Some(Command::Open(args)) => open(args),
        Some(Command::Export(args)) => export(&args),
        Some(Command::Verify(args)) => verify(&args),
        Some(Command::Probe(args)) => probe_cmd::probe(&args),
        Some(Command::Eval(args)) => eval(&args),
        Some(Command::Features(args)) => mil_cmd::features(&args),
        Some(Command::Train(args)) => mil_cmd::train_cmd(&args),
        Some(Command::Pack(args)) => mil_cmd::pack(&args),
        Some(Command::Bank(args)) => bank_cmd::bank(&args),
        Some(Command::Kit(args)) => mil_cmd::kit(&args),
        None => open(OpenArgs {
            files: Vec::new(),
            case: None,
            model: None,
            device: DeviceArg::Auto,
            cache_dir: None,
            scorer: None,
            cascade: None,
        }),
    };
    let code = if out::failed() {
        code.max(EXIT_OTHER)
    } else {
        code
    };
    ExitCode::from(code)
}

pub(crate) fn device_of(d: DeviceArg) -> Device {
    match d {
        DeviceArg::Auto => Device::Auto,
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => Device::Cuda,
    }
}

/// " (see: vigil probe FILE)" after a refusal that the probe explains further (what the
/// container holds, which streams, what FFmpeg read it as); nothing after a missing file or a
/// path that is not a file, which the error already says in full.
fn probe_hint(e: &vigil::video::VideoError, file: &std::path::Path) -> String {
    use vigil::video::VideoError as V;
    match e {
        V::NotFound { .. } | V::NotAFile { .. } | V::Empty { .. } | V::Io { .. } => String::new(),
        _ => format!(" (see: vigil probe {})", file.display()),
    }
}

fn exit_code_for(e: &PipelineError) -> u8 {
    match e {
        PipelineError::Video(_) => EXIT_FOOTAGE,
        PipelineError::Model(_) => EXIT_MODEL,
        PipelineError::Cancelled => EXIT_CANCELLED,
        PipelineError::Cache { .. } | PipelineError::Internal(_) | PipelineError::NotCached => {
            EXIT_OTHER
        }
    }
}

pub(crate) fn load_pack(dir: Option<&std::path::Path>) -> Result<Pack, ModelError> {
    let dir = dir.map_or_else(model::default_pack_dir, std::path::Path::to_path_buf);
    Pack::load(&dir)
}

/// Ctrl-C once: stop after the batch in flight (it is cached). Twice: stop now.
pub(crate) fn install_ctrl_c(cancel: Arc<AtomicBool>) {
    let result = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_CANCELLED));
        }
        eprintln!("\nvigil: stopping after the batch in flight (Ctrl-C again to stop now)");
    });
    if let Err(e) = result {
        tracing::warn!("Ctrl-C handler not installed: {e}");
    }
}

fn score(args: &ScoreArgs) -> u8 {
    let pack = match load_pack(args.model.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return EXIT_MODEL;
        }
    };
    let cancel = Arc::new(AtomicBool::new(false));
    install_ctrl_c(Arc::clone(&cancel));
    let opts = ScoreOptions {
        device: device_of(args.device),
        batch_size: args.batch.map(|b| b as usize),
        workers: args.workers as usize,
        intra_threads: args.threads.map(|t| t as usize),
        cache_root: if args.no_cache {
            None
        } else {
            args.cache_dir.clone().or_else(default_cache_root)
        },
        threshold: args.threshold,
        merge_gap_s: args.merge_gap,
        min_peak_s: args.min_span,
        cache_only: false,
        scorer: args.scorer.clone(),
        cascade: args.cascade == cli::OnOff::On,
        provisional: false,
        open: vigil::video::OpenOptions::default(),
    };

    let files = match expand_folders(&args.files) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return EXIT_FOOTAGE;
        }
    };
    let mut docs = Vec::new();
    let mut code = 0u8;
    'files: for (i, file) in files.iter().enumerate() {
        let streams = match stream_choices(file, &args.footage) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("vigil: error: {e}{}", probe_hint(&e, file));
                code = code.max(EXIT_FOOTAGE);
                continue;
            }
        };
        for open in streams {
            if out::gone() && args.output.is_none() {
                // Nobody reads the results any more, and none go to a file: stop, as `head` expects.
                break 'files;
            }
            if (files.len() > 1 || open.stream.is_some()) && !args.json {
                let which = open
                    .stream
                    .map_or_else(String::new, |n| format!(" (stream #{n})"));
                eprintln!(
                    "vigil: [{}/{}] {}{which}",
                    i + 1,
                    files.len(),
                    file.display()
                );
            }
            let opts = ScoreOptions {
                open,
                ..opts.clone()
            };
            let bar = new_bar(file);
            let started = Instant::now();
            let cancelled = || cancel.load(Ordering::SeqCst);
            let result = score_file(file, &pack, &opts, &cancelled, &mut |p| {
                show_progress(&bar, &p, started, args.json);
            });
            bar.finish();
            match result {
                Ok(report) => {
                    // Straight to stdout, and kept only for `--output`: a day of footage is
                    // 160,000 clips, and its report need not be held twice.
                    if args.json
                        && let Err(e) = print_json(&report)
                    {
                        eprintln!("vigil: error: cannot write the result: {e}");
                        code = code.max(EXIT_OTHER);
                        continue;
                    }
                    if !args.json {
                        if i > 0 || open.stream.is_some() {
                            outln!();
                        }
                        out!("{}", report.summary(args.top));
                    }
                    if args.output.is_some() {
                        match serde_json::to_string(&report) {
                            Ok(j) => docs.push(j),
                            Err(e) => {
                                eprintln!("vigil: error: cannot serialise the result: {e}");
                                code = code.max(EXIT_OTHER);
                            }
                        }
                    }
                }
                Err(PipelineError::Cancelled) => {
                    eprintln!(
                        "vigil: cancelled: {}: finished batches are cached; run the same command again to resume",
                        file.display()
                    );
                    return EXIT_CANCELLED;
                }
                Err(e) => {
                    let hint = match &e {
                        PipelineError::Video(v) => probe_hint(v, file),
                        _ => String::new(),
                    };
                    eprintln!("vigil: error: {e}{hint}");
                    let c = exit_code_for(&e);
                    code = code.max(c);
                    // A model or runtime failure is the same for every file: stop here.
                    if c == EXIT_MODEL {
                        break 'files;
                    }
                }
            }
        }
    }
    if let Some(out) = &args.output {
        let mut text = docs.join("\n");
        text.push('\n');
        if let Err(e) = vigil::base::write_atomic(out, text.as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))
        {
            eprintln!("vigil: error: {e:#}");
            code = code.max(EXIT_OTHER);
        }
    }
    code
}

/// The open choices to score `file` with: one, or one per video stream for `--stream all`. A
/// stream that is FFmpeg's default is asked for as the default, so that it shares the cache
/// of a plain `vigil score`.
fn stream_choices(
    file: &std::path::Path,
    footage: &cli::FootageArgs,
) -> Result<Vec<vigil::video::OpenOptions>, vigil::video::VideoError> {
    use vigil::video::OpenOptions;
    let fps = footage.fps;
    let Some(choice) = footage.stream else {
        return Ok(vec![OpenOptions { stream: None, fps }]);
    };
    let (_, info) = vigil::video::open_video(file)?;
    let wanted = match choice {
        cli::StreamChoice::Index(n) => vec![n],
        cli::StreamChoice::All => info.video_streams.clone(),
    };
    Ok(wanted
        .into_iter()
        .map(|n| OpenOptions {
            stream: (n != info.stream_index).then_some(n),
            fps,
        })
        .collect())
}

/// The files to score: each argument that is a folder stands for every video in its tree
/// (`video::videos_in`, in a stable order, so that a rerun resumes from the cache file by
/// file); others are taken as given. A folder without videos is an error, so that a wrong
/// path does not look like a clean night.
fn expand_folders(args: &[std::path::PathBuf]) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let found = vigil::video::videos_in(a)?;
            if found.is_empty() {
                anyhow::bail!(
                    "{}: no video files in this folder or below (looked for {})",
                    a.display(),
                    vigil::video::VIDEO_EXTENSIONS.join(", ")
                );
            }
            eprintln!("vigil: {}: {} videos", a.display(), found.len());
            out.extend(found);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// The review app. Errors inside the app are shown in the window; only a window that cannot
/// open at all (no display) ends up here.
#[cfg(feature = "gui")]
fn open(args: OpenArgs) -> u8 {
    use vigil::gui::{AppConfig, recent::RecentFiles};
    // An unknown scorer is a command-line mistake: say so before any window opens.
    if let Some(kind) = &args.scorer
        && let Err(e) =
            load_pack(args.model.as_deref()).and_then(|p| p.scorer(Some(kind)).map(|_| ()))
    {
        eprintln!("vigil: error: {e}");
        return EXIT_MODEL;
    }
    // The app scores by its setting; `--cascade` overrides it for this session (saved only
    // if the analyst saves the settings).
    let mut settings = vigil::case::Settings::load();
    if let Some(c) = args.cascade {
        settings.cascade = c == cli::OnOff::On;
    }
    let config = AppConfig {
        files: args.files,
        case_path: args.case,
        model_dir: args.model.unwrap_or_else(model::default_pack_dir),
        score_options: ScoreOptions {
            device: device_of(args.device),
            cache_root: args.cache_dir.or_else(default_cache_root),
            scorer: args.scorer,
            ..ScoreOptions::default()
        },
        recent_path: RecentFiles::default_path(),
        autosave_path: vigil::gui::VigilApp::default_autosave_path(),
        settings,
        settings_persist: true,
    };
    match vigil::gui::run(config) {
        Ok(()) => 0,
        Err(e) => {
            // eframe's error is neither Send nor std::error::Error, so no anyhow context here.
            eprintln!("vigil: error: cannot open the review window (is there a display?): {e}");
            EXIT_OTHER
        }
    }
}

/// Built without the `gui` feature: say so.
#[cfg(not(feature = "gui"))]
fn open(_args: OpenArgs) -> u8 {
    eprintln!(
        "vigil: error: this build has no review app (built without the `gui` feature); use `vigil score`"
    );
    EXIT_OTHER
}

/// Scores for the report, when the footage's scores are complete in the cache.
fn cached_scores(
    file: &std::path::Path,
    model_dir: Option<&std::path::Path>,
    threshold: f32,
    open: vigil::video::OpenOptions,
) -> Option<vigil::pipeline::ScoreReport> {
    let pack = load_pack(model_dir).ok()?;
    let opts = ScoreOptions {
        cache_only: true,
        threshold,
        open,
        ..ScoreOptions::default()
    };
    score_file(file, &pack, &opts, &|| false, &mut |_| {}).ok()
}

fn export(args: &ExportArgs) -> u8 {
    use vigil::case::audit::{self, AuditAction, AuditEvent};
    use vigil::case::{ExportError, ExportJob, ScoresContext, Settings, SpanRequest};
    if args.to <= args.from {
        eprintln!("vigil: error: --to must be after --from");
        return 2;
    }
    if args.footage.stream == Some(cli::StreamChoice::All) {
        eprintln!(
            "vigil: error: --stream all is for vigil score; export one stream at a time (--stream N)"
        );
        return 2;
    }
    let open = match stream_choices(&args.file, &args.footage) {
        Ok(mut s) if s.len() == 1 => s.remove(0),
        Ok(_) => vigil::video::OpenOptions::default(),
        Err(e) => {
            eprintln!("vigil: error: {e}{}", probe_hint(&e, &args.file));
            return EXIT_FOOTAGE;
        }
    };
    let report = cached_scores(&args.file, args.model.as_deref(), args.threshold, open);
    let (peak_score, peak_s) = report
        .as_ref()
        .and_then(|r| {
            r.clips
                .iter()
                .filter(|c| c.end_s > args.from && c.start_s < args.to)
                .max_by(|a, b| a.score.total_cmp(&b.score))
                .map(|c| (Some(c.score), Some(c.start_s)))
        })
        .unwrap_or((None, None));
    let analyst = args
        .analyst
        .clone()
        .or_else(|| std::env::var("VIGIL_ANALYST").ok())
        .unwrap_or_else(|| Settings::load().analyst);
    let stem = args.file.file_stem().map_or_else(
        || "footage".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let out_dir = args.output.clone().unwrap_or_else(|| {
        let stamp: String = vigil::base::now_utc()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        std::path::PathBuf::from(format!("vigil-export-{stem}-{stamp}"))
    });
    let throttle = std::env::var("VIGIL_EXPORT_THROTTLE_US")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(std::time::Duration::ZERO, std::time::Duration::from_micros);
    let job = ExportJob {
        source: args.file.clone(),
        spans: vec![SpanRequest {
            from_s: args.from,
            to_s: args.to,
            reason: "requested on the command line".into(),
            note: None,
            peak_score,
            peak_s,
        }],
        out_dir,
        analyst,
        case: args.case.clone(),
        exact: args.exact,
        scores: report.as_ref().map(|r| ScoresContext {
            model_id: r.model.id.clone(),
            manifest_sha256: r.model.manifest_sha256.clone(),
            threshold: args.threshold,
            clips: r
                .clips
                .iter()
                .map(|c| (c.start_s, c.end_s, c.score))
                .collect(),
            provisional: None,
            findings: Some(vigil::case::Findings {
                gaps: r.video.gaps.clone(),
                damaged: r.video.damaged.clone(),
            }),
        }),
        throttle,
        open,
    };
    match vigil::case::export_evidence(&job) {
        Ok(out) => {
            if let Some(case) = &args.case {
                let event = AuditEvent::now(
                    AuditAction::Exported,
                    serde_json::json!({
                        "source": out.manifest.source.path,
                        "source_sha256": out.manifest.source.sha256,
                        "folder": out.dir.display().to_string(),
                        "clips": out.manifest.clips.iter().map(|c| serde_json::json!({"file": c.file, "sha256": c.sha256})).collect::<Vec<_>>(),
                    }),
                );
                if let Err(e) = audit::append(&audit::audit_path_for(case), &[event]) {
                    eprintln!(
                        "vigil: error: cannot append to the audit log of {}: {e}",
                        case.display()
                    );
                    return EXIT_OTHER;
                }
            }
            if args.json {
                match serde_json::to_string_pretty(&out.manifest) {
                    Ok(j) => outln!("{j}"),
                    Err(e) => eprintln!("vigil: error: {e}"),
                }
            } else {
                for c in &out.manifest.clips {
                    outln!(
                        "{}/{}
  source frames {}–{} ({} – {}), {}; {}",
                        out.dir.display(),
                        c.file,
                        c.shown.first_frame,
                        c.shown.last_frame,
                        vigil::base::format_hms(c.shown.from_s),
                        vigil::base::format_hms(c.shown.to_s),
                        c.method,
                        c.container_note
                    );
                }
                outln!(
                    "  manifest.json, SHA256SUMS and report.html written; check with: vigil verify {}",
                    out.dir.display()
                );
            }
            0
        }
        Err(e) => {
            let hint = match &e {
                ExportError::Video(v) => probe_hint(v, &args.file),
                _ => String::new(),
            };
            eprintln!("vigil: error: {e}{hint}");
            match e {
                ExportError::Video(_) => EXIT_FOOTAGE,
                ExportError::Request(_) => 2,
                ExportError::Io { .. } | ExportError::SourceChanged { .. } => EXIT_OTHER,
            }
        }
    }
}

fn verify(args: &VerifyArgs) -> u8 {
    use vigil::case::audit::{self, AuditAction, AuditEvent};
    use vigil::case::{Case, VerifyTarget, verify::classify};
    let target = match classify(&args.path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return EXIT_FOOTAGE;
        }
    };
    let (report, case_path) = match &target {
        VerifyTarget::ExportDir(d) => (vigil::case::verify_export_dir(d), args.case.clone()),
        VerifyTarget::Case(p) => match Case::load(p) {
            Ok(case) => (vigil::case::verify_case(&case), Some(p.clone())),
            Err(e) => {
                eprintln!("vigil: error: {e}");
                return EXIT_FOOTAGE;
            }
        },
    };
    for ok in &report.ok {
        outln!("OK       {ok}");
    }
    for p in &report.problems {
        outln!("PROBLEM  {p}");
    }
    let verdict = if report.passed() { "passed" } else { "FAILED" };
    outln!(
        "verification {verdict}: {} file(s) match, {} problem(s)",
        report.ok.len(),
        report.problems.len()
    );
    if let Some(case) = case_path {
        let event = AuditEvent::now(
            AuditAction::Verified,
            serde_json::json!({
                "target": args.path.display().to_string(),
                "passed": report.passed(),
                "problems": report.problems,
            }),
        );
        if let Err(e) = audit::append(&audit::audit_path_for(&case), &[event]) {
            eprintln!(
                "vigil: error: cannot append to the audit log of {}: {e}",
                case.display()
            );
            return EXIT_OTHER;
        }
    }
    if report.passed() { 0 } else { EXIT_VERIFY }
}

/// One report as one line of JSON on stdout (nothing, once the reader has gone away).
pub(crate) fn print_json<T: serde::Serialize>(report: &T) -> anyhow::Result<()> {
    use std::io::Write;
    if out::gone() {
        return Ok(());
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer(&mut stdout, report)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(stdout))
        .and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            out::set_gone();
            Ok(())
        }
        other => Ok(other?),
    }
}

fn eval(args: &EvalArgs) -> u8 {
    use vigil::eval;
    let result = (|| -> anyhow::Result<eval::EvalResult> {
        let annotations = eval::read_annotations(&args.annotations)?;
        let (videos, warnings) = match (&args.features, &args.head) {
            (Some(dir), Some(head)) => {
                let set = vigil::mil::featureset::FeatureSet::read(dir)?;
                let scores = mil_cmd::score_feature_set(&set, head)?;
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

fn new_bar(file: &std::path::Path) -> Meter {
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let bar = Meter::new(&name, None, "clips", "{prefix:.bold} {spinner} {msg}");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Updates the bar. A device note goes to stderr only with `--json`; the summary carries it
/// otherwise.
fn show_progress(bar: &Meter, p: &Progress, started: Instant, json: bool) {
    match p {
        Progress::Hashing => bar.set_message("hashing (SHA-256)…"),
        Progress::Started {
            stage,
            clips_estimate,
            clips_cached,
            provider,
            note,
        } => {
            if let (Some(n), true) = (note, json) {
                bar.suspend(|| eprintln!("vigil: note: {n}"));
            }
            bar.set_template("{prefix:.bold} [{bar:30}] {pos}/{len} clips · {msg} · ETA {eta}");
            bar.set_length(*clips_estimate);
            bar.set_position(*clips_cached);
            bar.set_message(format!("{stage} · {} · starting", provider.short()));
        }
        Progress::Clips {
            done,
            estimate,
            video_s,
        } => {
            bar.set_length(*estimate);
            let rate = video_s / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{rate:.2} video-s/s"));
            bar.set_position(*done);
        }
        // The command line prints final scores only, and the hash with them.
        Progress::Provisional(_) | Progress::Hashed { .. } => {}
    }
}

fn doctor(args: &DoctorArgs) -> u8 {
    let mut code = 0;
    match model::init_runtime() {
        Ok(rt) => outln!(
            "ONNX Runtime: {} (version {})",
            rt.path.display(),
            rt.version
        ),
        Err(e) => {
            outln!("ONNX Runtime: {e}");
            code = EXIT_MODEL;
        }
    }
    let dir = args.model.clone().unwrap_or_else(model::default_pack_dir);
    match Pack::load(&dir) {
        Ok(pack) => {
            outln!(
                "model pack: {} ({}) at {}; file hashes verified",
                pack.manifest.id,
                pack.manifest.name,
                dir.display()
            );
            let others: Vec<&str> = pack
                .manifest
                .other_scorers
                .iter()
                .map(model::ScorerSpec::kind)
                .collect();
            outln!(
                "  scorer: {} (default){}",
                pack.manifest.scorer.kind(),
                if others.is_empty() {
                    String::new()
                } else {
                    format!("; also {}", others.join(", "))
                }
            );
            if let Some(why) = &pack.manifest.scorer_choice {
                outln!("  why: {why}");
            }
            if let Some(b) = &pack.manifest.normal_bank {
                outln!(
                    "  normal bank: {} videos, {} clips, flags at {:.2} spreads (vigil bank show)",
                    b.sources.len(),
                    b.rows,
                    b.flag_z
                );
            }
            if code == 0 {
                for device in [Device::Cpu, Device::Auto] {
                    match model::Extractor::new(&pack, device, None) {
                        Ok(ex) => outln!(
                            "  --device {}: runs on {}{}",
                            if device == Device::Cpu { "cpu" } else { "auto" },
                            ex.execution_provider().name(),
                            ex.device_note()
                                .map_or_else(String::new, |n| format!(" ({n})"))
                        ),
                        Err(e) => {
                            outln!("  session: {e}");
                            code = EXIT_MODEL;
                        }
                    }
                }
            }
        }
        Err(e) => {
            outln!("model pack: {e}");
            code = EXIT_MODEL;
        }
    }
    match default_cache_root() {
        Some(c) => outln!("feature cache: {}", c.display()),
        None => outln!("feature cache: no cache folder could be determined"),
    }
    code
}
