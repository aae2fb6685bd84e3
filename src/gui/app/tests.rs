//! The app's logic with the scoring thread played by the test ([`ScoringWorker::detached`]):
//! the queue, pause and resume, reordering, hashes, in milliseconds and without a network.
//! The kittest suite (tests/gui.rs) drives the real thing.

use super::*;
use crate::pipeline::{DetachedEnd, ScoreCommand};

fn app() -> (VigilApp, DetachedEnd) {
    app_with(None)
}

fn app_with(signing_key: Option<PathBuf>) -> (VigilApp, DetachedEnd) {
    let (worker, end) = ScoringWorker::detached();
    let config = AppConfig {
        files: Vec::new(),
        case_path: None,
        model_dir: PathBuf::from("/nonexistent/pack"),
        score_options: ScoreOptions::default(),
        recent_path: None,
        autosave_path: None,
        settings: Settings::default(),
        settings_persist: false,
        signing_key,
    };
    let app = VigilApp::with_worker(
        Arc::new(|| {}),
        config,
        Some(worker),
        Some(("test-pack".into(), "0".repeat(64))),
        Vec::new(),
    );
    (app, end)
}

/// Footage that does not exist: the player reports it on its own thread; the queue does not
/// look at the files.
fn paths(n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| PathBuf::from(format!("/nonexistent/footage/cam{i}.mp4")))
        .collect()
}

fn asked(end: &DetachedEnd) -> Vec<PathBuf> {
    end.commands
        .try_iter()
        .map(|c| match c {
            ScoreCommand::Score { path, .. } => path,
        })
        .collect()
}

fn answer(app: &mut VigilApp, end: &DetachedEnd, e: ScoreEvent) {
    end.events.send(e).unwrap();
    app.poll_scoring();
}

#[test]
fn the_queue_hands_out_one_file_at_a_time_in_the_analysts_order() {
    let (mut app, end) = app();
    let p = paths(3);
    app.push(Command::OpenFiles(p.clone()));
    app.run_commands();
    assert_eq!(asked(&end), vec![p[0].clone()], "one file at a time");
    assert_eq!(app.queue, vec![1, 2]);

    app.push(Command::MoveInQueue { file: 2, up: true });
    app.run_commands();
    assert_eq!(app.queue, vec![2, 1]);

    answer(
        &mut app,
        &end,
        ScoreEvent::Failed {
            path: p[0].clone(),
            stream: None,
            error: "cam0.mp4: not a video".into(),
        },
    );
    assert_eq!(
        app.files[0].status,
        FileStatus::Failed("cam0.mp4: not a video".into())
    );
    assert!(app.errors.iter().any(|e| e == "cam0.mp4: not a video"));
    assert_eq!(
        asked(&end),
        vec![p[2].clone()],
        "the one moved up goes next"
    );
    assert_eq!(app.queue, vec![1]);
}

#[test]
fn a_pause_cancels_the_file_in_work_and_a_resume_starts_it_again_first() {
    let (mut app, end) = app();
    let p = paths(2);
    app.push(Command::OpenFiles(p.clone()));
    app.run_commands();
    assert_eq!(asked(&end), vec![p[0].clone()]);

    app.push(Command::PauseScoring);
    app.run_commands();
    assert!(
        end.cancel_below.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the file in work is cancelled"
    );
    answer(
        &mut app,
        &end,
        ScoreEvent::Cancelled {
            path: p[0].clone(),
            stream: None,
        },
    );
    assert_eq!(app.files[0].status, FileStatus::Queued);
    assert_eq!(app.queue, vec![0, 1], "first in line again");
    assert!(asked(&end).is_empty(), "nothing starts while paused");

    app.push(Command::ResumeScoring);
    app.run_commands();
    assert_eq!(asked(&end), vec![p[0].clone()]);
}

#[test]
fn a_hash_from_the_scorer_is_recorded_before_the_scores() {
    let (mut app, end) = app();
    let p = paths(1);
    app.push(Command::OpenFiles(p.clone()));
    app.run_commands();
    assert!(app.case.files[0].sha256.is_none());
    answer(
        &mut app,
        &end,
        ScoreEvent::Progress {
            path: p[0].clone(),
            stream: None,
            progress: Progress::Hashed {
                sha256: "ab".repeat(32),
            },
        },
    );
    assert_eq!(app.case.files[0].sha256, Some("ab".repeat(32)));
    assert!(
        app.scoring_now.is_some(),
        "a progress event does not end the file"
    );
}

/// Provisional scores of `clips` clips of 0.5 s, 0.05 everywhere but `hot` (0.9).
fn provisional(clips: u64, hot: std::ops::Range<u64>) -> Progress {
    Progress::Provisional(Arc::new(Provisional {
        stage: "full pass",
        clips: (0..clips).collect(),
        scores: (0..clips)
            .map(|c| if hot.contains(&c) { 0.9 } else { 0.05 })
            .collect(),
        clip_s: 0.5,
        footage_s: clips as f64 * 0.5,
    }))
}

fn progress(app: &mut VigilApp, end: &DetachedEnd, path: &Path, progress: Progress) {
    answer(
        app,
        end,
        ScoreEvent::Progress {
            path: path.to_path_buf(),
            stream: None,
            progress,
        },
    );
}

#[test]
fn progress_moves_the_status_and_provisional_spans_follow_the_threshold() {
    let (mut app, end) = app();
    let p = paths(1);
    app.push(Command::OpenFiles(p.clone()));
    app.run_commands();
    progress(
        &mut app,
        &end,
        &p[0],
        Progress::Started {
            stage: "full pass",
            clips_estimate: 100,
            clips_cached: 10,
            provider: crate::model::ExecutionProvider::Cpu,
            note: None,
        },
    );
    let FileStatus::Scoring { done, estimate, .. } = &app.files[0].status else {
        panic!("not scoring: {:?}", app.files[0].status);
    };
    assert_eq!((*done, *estimate), (10, 100), "cached clips count as done");
    progress(
        &mut app,
        &end,
        &p[0],
        Progress::Clips {
            done: 40,
            estimate: 90,
            video_s: 20.0,
        },
    );
    let FileStatus::Scoring {
        done,
        estimate,
        provider,
        ..
    } = &app.files[0].status
    else {
        panic!("not scoring: {:?}", app.files[0].status);
    };
    assert_eq!((*done, *estimate, provider.as_str()), (40, 90, "cpu"));

    progress(&mut app, &end, &p[0], provisional(40, 20..24));
    let f = &app.files[0];
    assert_eq!(f.provisional, Some("full pass"));
    assert_eq!(f.peaks.len(), 1, "one flagged span: {:?}", f.peaks);
    assert!((f.peaks[0].start_s - 10.0).abs() < 1e-9);
    assert!((f.peaks[0].end_s - 12.0).abs() < 1e-9);
    assert!(matches!(f.status, FileStatus::Scoring { .. }));

    app.push(Command::NextPeak);
    app.run_commands();
    assert!((app.player.position_s - 10.0).abs() < 1e-9, "jumped to it");

    app.push(Command::SetThreshold(0.95));
    app.run_commands();
    assert!(app.files[0].peaks.is_empty(), "nothing reaches 0.95");
    let top = app.files[0].moments.first().map(|m| m.start_s);
    assert!(
        top.is_some_and(|t| (10.0..12.0).contains(&t)),
        "a top moment inside the span stands in for it: {top:?}"
    );
    assert!(app.dirty, "the threshold is saved with the case");
}

#[test]
fn a_mark_takes_the_flagged_span_and_waits_for_the_hash_and_the_frame_table() {
    let (mut app, end) = app();
    let p = paths(1);
    app.push(Command::OpenFiles(p.clone()));
    app.run_commands();
    progress(&mut app, &end, &p[0], provisional(40, 20..24));
    app.push(Command::Seek(11.0));
    app.push(Command::BeginMark(MarkKind::Incident));
    app.run_commands();
    let draft = app.mark_draft.clone().expect("a draft");
    assert_eq!(
        (draft.start_s, draft.end_s),
        (10.0, 12.0),
        "the span under the cursor"
    );

    app.push(Command::SaveMark);
    app.run_commands();
    assert!(app.case.marks.is_empty(), "no mark without the file's hash");
    assert_eq!(app.mark_draft, Some(draft.clone()), "the draft is kept");
    assert!(app.errors.last().is_some_and(|e| e.contains("SHA-256")));

    progress(
        &mut app,
        &end,
        &p[0],
        Progress::Hashed {
            sha256: "cd".repeat(32),
        },
    );
    app.push(Command::SaveMark);
    app.run_commands();
    assert!(
        app.case.marks.is_empty(),
        "no mark before the frame table gives its frame numbers"
    );
    assert_eq!(app.mark_draft, Some(draft));
    assert!(app.errors.last().is_some_and(|e| e.contains("indexed")));
}

#[test]
fn a_deleted_mark_stays_in_the_audit_log() {
    let (mut app, _end) = app();
    app.case.marks.push(Mark {
        file_sha256: "ef".repeat(32),
        start_s: 1.0,
        end_s: 3.0,
        stream: None,
        start_frame: 30,
        end_frame: 89,
        kind: MarkKind::FalseAlarm,
        label: "shadow".into(),
        note: String::new(),
        created_utc: now_utc(),
    });
    app.push(Command::DeleteMark(5));
    app.run_commands();
    assert_eq!(
        app.case.marks.len(),
        1,
        "an index past the end deletes nothing"
    );
    app.push(Command::DeleteMark(0));
    app.run_commands();
    assert!(app.case.marks.is_empty());
    assert!(app.dirty);
    let last = app.pending_audit.last().expect("an audit line");
    assert_eq!(last.action, AuditAction::Marked);
    assert_eq!(last.details["deleted"]["label"], "shadow");
    assert_eq!(last.details["deleted"]["end_frame"], 89);
}

#[test]
fn a_signing_key_others_may_read_refuses_exports_until_it_is_mended() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing-key.json");
    ExportSigner::create(&key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (mut app, end) = app_with(Some(key.clone()));
    app.settings.export_dir = Some(dir.path().join("exports"));
    assert!(
        app.errors.iter().any(|e| e.contains("chmod 600")),
        "said at start: {:?}",
        app.errors
    );
    let p = paths(1);
    app.push(Command::OpenFiles(p.clone()));
    app.run_commands();
    progress(&mut app, &end, &p[0], provisional(40, 20..24));
    app.push(Command::ExportPeak(0));
    app.run_commands();
    assert_eq!(app.exports_running, 0, "refused, not made unsigned");
    assert!(
        app.errors
            .last()
            .is_some_and(|e| e.starts_with("no export: the signing key cannot be used")),
        "{:?}",
        app.errors
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    app.push(Command::ExportPeak(0));
    app.run_commands();
    assert_eq!(
        app.exports_running, 1,
        "the mended key is read again: no restart"
    );
    assert!(app.signer.is_some());
}
