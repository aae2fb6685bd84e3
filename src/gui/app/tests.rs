//! The app's logic with the scoring thread played by the test ([`ScoringWorker::detached`]):
//! the queue, pause and resume, reordering, hashes, in milliseconds and without a network.
//! The kittest suite (tests/gui.rs) drives the real thing.

use super::*;
use crate::pipeline::{DetachedEnd, ScoreCommand};

fn app() -> (VigilApp, DetachedEnd) {
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
