//! `vigil export`: a span of an original as evidence (lossless clip, manifest, checksums, report).

use super::score::stream_choices;
use crate::cli;
use crate::cli::*;
use crate::{EXIT_FOOTAGE, EXIT_OTHER, load_pack, probe_hint};
use vigil::pipeline::{ScoreOptions, score_file};

/// Scores for the report, when the footage's scores are complete in the cache.
pub(crate) fn cached_scores(
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

pub(crate) fn export(args: &ExportArgs) -> u8 {
    use vigil::case::audit::{self};
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
    // The key first: an export is never made unsigned because the key turned out unusable.
    let signer = match super::key::export_signer(&args.signing) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return EXIT_OTHER;
        }
    };
    let report = cached_scores(&args.file, args.model.as_deref(), args.threshold, open);
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
            peak_score: None,
            peak_s: None,
        }],
        out_dir,
        analyst,
        case: args.case.clone(),
        exact: args.exact,
        scores: report
            .as_ref()
            .map(|r| ScoresContext::of_report(r, args.threshold)),
        throttle,
        open,
        signer,
    };
    match vigil::case::export_evidence(&job) {
        Ok(out) => {
            if let Some(case) = &args.case {
                let event = audit::exported(&out);
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
                match &out.manifest.signer {
                    Some(s) => outln!("  signed by key {} (SIGNATURE.json)", s.fingerprint),
                    None => eprintln!(
                        "vigil: note: the export is not signed: this installation has no signing key (make one with `vigil key init`)"
                    ),
                }
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
