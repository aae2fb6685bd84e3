//! `vigil score`: files and folders, one report per file, progress on stderr.

use crate::cli::*;
use crate::progress::Meter;
use crate::{
    EXIT_CANCELLED, EXIT_FOOTAGE, EXIT_MODEL, EXIT_OTHER, exit_code_for, install_ctrl_c,
    print_json, probe_hint,
};
use crate::{cli, out};
use anyhow::Context as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use vigil::pipeline::{PipelineError, Progress, ScoreOptions, score_file};

pub(crate) fn score(args: &ScoreArgs) -> u8 {
    let pack = match args.run.pack() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return EXIT_MODEL;
        }
    };
    let cancel = Arc::new(AtomicBool::new(false));
    install_ctrl_c(Arc::clone(&cancel));
    let base = args.run.score_options();
    let opts = ScoreOptions {
        batch_size: args.batch.map(|b| b as usize),
        workers: args.workers as usize,
        intra_threads: args.threads.map(|t| t as usize),
        cache_root: if args.no_cache {
            None
        } else {
            base.cache_root.clone()
        },
        threshold: args.threshold,
        merge_gap_s: args.merge_gap,
        min_peak_s: args.min_span,
        cache_only: false,
        scorer: args.scorer.clone(),
        cascade: args.cascade == cli::OnOff::On,
        provisional: false,
        open: vigil::video::OpenOptions::default(),
        ..base
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
pub(crate) fn stream_choices(
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
pub(crate) fn expand_folders(
    args: &[std::path::PathBuf],
) -> anyhow::Result<Vec<std::path::PathBuf>> {
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

pub(crate) fn new_bar(file: &std::path::Path) -> Meter {
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
pub(crate) fn show_progress(bar: &Meter, p: &Progress, started: Instant, json: bool) {
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
