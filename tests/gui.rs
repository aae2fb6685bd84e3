#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The review app, built for real and driven by labels and keys (egui_kittest, no display):
//! open footage, wait for the scores, jump to the peak, change the threshold, mark a span and
//! read it back from the case file, and a bad file's error line.

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vigil::case::{Case, MarkKind};
use vigil::gui::{AppConfig, FileStatus, VigilApp};
use vigil::pipeline::ScoreOptions;

fn fixture() -> &'static (PathBuf, PathBuf) {
    demo_fixture()
}

fn config(files: Vec<PathBuf>, case: Option<PathBuf>, cache: &Path) -> AppConfig {
    AppConfig {
        files,
        case_path: case,
        model_dir: pack_dir(),
        score_options: ScoreOptions {
            device: vigil::model::Device::Cpu,
            cache_root: Some(cache.to_path_buf()),
            ..ScoreOptions::default()
        },
        recent_path: None,
        autosave_path: None,
        settings: vigil::case::Settings {
            analyst: "Test Analyst".into(),
            export_dir: Some(cache.join("exports")),
            ..vigil::case::Settings::default()
        },
        settings_persist: false,
        signing_key: None,
    }
}

fn harness(config: AppConfig) -> Harness<'static, VigilApp> {
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_eframe(move |cc| VigilApp::new(&cc.egui_ctx, config))
}

/// Steps the app until `done` holds (background threads answer in real time).
fn wait_until(h: &mut Harness<'_, VigilApp>, what: &str, done: impl Fn(&VigilApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.step();
}

/// Waits for the export just asked for to finish with one clip; its folder and manifest.
fn one_clip_export(h: &mut Harness<'_, VigilApp>) -> (PathBuf, serde_json::Value) {
    h.run_steps(2);
    wait_until(h, "the export", |a| {
        a.exports_running == 0 && !a.notices.is_empty()
    });
    let notice = h.state().notices.last().unwrap().clone();
    assert!(notice.starts_with("Exported 1 clip, "), "{notice}");
    let folder = PathBuf::from(notice.split_once(", to ").unwrap().1);
    let manifest =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    (folder, manifest)
}

/// Seeks to `at_s`, marks an incident there, and exports the mark (the case's first).
fn mark_and_export_at(h: &mut Harness<'_, VigilApp>, at_s: f64) -> (PathBuf, serde_json::Value) {
    wait_until(h, "the frame table", |a| a.player.info.is_some());
    h.state_mut().push(vigil::gui::Command::Seek(at_s));
    h.state_mut().run_commands();
    h.get_by_label("Mark incident").click();
    h.run_steps(4);
    h.get_by_label("Save mark").click();
    h.run_steps(2);
    assert_eq!(h.state().case.marks.len(), 1);
    h.get_by_label("Export mark 1").click();
    one_clip_export(h)
}

fn scored(app: &VigilApp) -> bool {
    app.files
        .first()
        .is_some_and(|f| f.status == FileStatus::Ready)
}

fn frame_shown_at_cursor(app: &VigilApp) -> bool {
    let p = &app.player;
    p.info
        .as_ref()
        .is_some_and(|i| p.shown_index == Some(i.frame_at(p.position_s)))
}

#[test]
fn opens_scores_and_n_jumps_to_the_highest_peak_frame_exactly() {
    let (clip, cache) = fixture();
    let mut h = harness(config(vec![clip.clone()], None, cache));
    wait_until(&mut h, "scores", scored);
    wait_until(&mut h, "the first frame", frame_shown_at_cursor);
    h.get_by_label("1 flagged span (score ≥ 0.50)");

    let top = h.state().files[0].peaks[0].clone();
    assert!(
        top.start_s > 30.0 && top.end_s < 45.0,
        "the incident: {top:?}"
    );
    h.key_press(egui::Key::N);
    h.step();
    wait_until(&mut h, "the peak's frame", frame_shown_at_cursor);
    let p = &h.state().player;
    assert_eq!(p.position_s, top.start_s, "cursor at the span's start");
    let info = p.info.as_ref().unwrap();
    // 30 fps source: the frame on screen at 35.733 s is frame 1072.
    assert_eq!(p.shown_index, Some(info.frame_at(top.start_s)));
    assert_eq!(p.shown_index, Some(1072));

    // Frame and second steps land on exact frames too.
    h.key_press(egui::Key::ArrowRight);
    h.step();
    wait_until(&mut h, "next frame", frame_shown_at_cursor);
    assert_eq!(h.state().player.shown_index, Some(1073));
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowLeft);
    h.step();
    wait_until(&mut h, "one second back", frame_shown_at_cursor);
    assert_eq!(h.state().player.shown_index, Some(1043));
    h.get_by_label_contains("frame 1043 / 1800");

    // Help overlay lists the keys.
    h.key_press(egui::Key::F1);
    h.run_steps(4);
    h.get_by_label("next / previous flagged span");
}

#[test]
fn threshold_changes_the_flagged_count() {
    let (clip, cache) = fixture();
    let mut h = harness(config(vec![clip.clone()], None, cache));
    wait_until(&mut h, "scores", scored);
    h.get_by_label("1 flagged span (score ≥ 0.50)");
    h.get_by_role_and_label(Role::Slider, "Threshold")
        .set_value_accesskit(0.99);
    h.step();
    h.step();
    assert_eq!(h.state().case.threshold, 0.99);
    let n_high = h.state().files[0].peaks.len();
    h.get_by_role_and_label(Role::Slider, "Threshold")
        .set_value_accesskit(0.015);
    h.step();
    h.step();
    let n_low = h.state().files[0].peaks.len();
    assert!(n_low > 1, "a low threshold flags more: {n_low}");
    h.get_by_label(&format!("{n_low} flagged spans (score ≥ 0.015)"));
    assert!(n_high <= 1);
}

/// With nothing over the threshold the panel lists the highest moments, best first, and a
/// click goes to one (what `vigil score` prints in that case).
#[test]
fn nothing_flagged_lists_the_top_moments_and_jumps_to_one() {
    let (clip, cache) = fixture();
    let mut h = harness(config(vec![clip.clone()], None, cache));
    wait_until(&mut h, "scores", scored);
    h.get_by_role_and_label(Role::Slider, "Threshold")
        .set_value_accesskit(1.0);
    h.step();
    h.step();
    assert!(h.state().files[0].peaks.is_empty());
    h.get_by_label_contains("Highest moments");
    let moments = h.state().files[0].moments.clone();
    assert_eq!(moments.len(), 5);
    assert!(moments.windows(2).all(|w| w[0].score >= w[1].score));
    let f = &h.state().files[0];
    let best = f.scores.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!(moments[0].score, best);
    h.get_by_label_contains(" 2. ").click();
    h.step();
    h.step();
    assert!((h.state().player.position_s - moments[1].start_s).abs() < 0.05);
}

#[test]
fn a_mark_round_trips_through_the_case_file() {
    let (clip, cache) = fixture();
    let dir = tempdir();
    let case_path = dir.path().join("case.vigil.json");
    let mut h = harness(config(vec![clip.clone()], Some(case_path.clone()), cache));
    wait_until(&mut h, "scores", scored);
    wait_until(&mut h, "the first frame", frame_shown_at_cursor);
    h.key_press(egui::Key::N);
    h.step();
    let peak = h.state().files[0].peaks[0].clone();

    h.get_by_label("Mark incident").click();
    // A new window takes a sizing frame before it is laid out.
    h.run_steps(4);
    h.get_by_role_and_label(Role::TextInput, "Label").click();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Label")
        .type_text("Fighting");
    h.step();
    h.get_by_label("Save mark").click();
    h.step();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.step();
    h.step();

    let case = Case::load(&case_path).expect("the case was saved");
    assert_eq!(case.marks.len(), 1);
    let m = &case.marks[0];
    assert_eq!((m.kind, m.label.as_str()), (MarkKind::Incident, "Fighting"));
    assert_eq!((m.start_s, m.end_s), (peak.start_s, peak.end_s));
    assert_eq!(m.file_sha256, sha256(clip));
    assert_eq!(m.start_frame, 1072);
    assert_eq!(case.view.selected, Some(0));
    assert_eq!(case.view.position_s, peak.start_s);

    // The annotation file for `vigil eval`.
    let ann = dir.path().join("annotations.txt");
    h.state_mut()
        .push(vigil::gui::Command::ExportAnnotationsTo(ann.clone()));
    h.step();
    let text = std::fs::read_to_string(&ann).unwrap();
    assert!(
        text.starts_with(&format!(
            "demo-street.mp4  Fighting  1072 {}  -1 -1",
            m.end_frame
        )),
        "{text}"
    );
    drop(h);

    // Reopening the case restores the file, the mark and where the analyst was.
    let mut h = harness(config(Vec::new(), Some(case_path.clone()), cache));
    wait_until(&mut h, "scores", scored);
    wait_until(&mut h, "the saved position's frame", frame_shown_at_cursor);
    assert_eq!(h.state().player.position_s, peak.start_s);
    assert_eq!(h.state().player.shown_index, Some(1072));
    h.get_by_label_contains("incident 00:00:35.733");
}

/// While a file scores, the timeline fills with provisional scores (labelled so) that the
/// analyst can already seek in; the report replaces them at the end.
#[test]
fn provisional_scores_fill_the_timeline_before_the_end() {
    let (clip, _) = fixture();
    let fresh = tempdir();
    let mut h = harness(config(vec![clip.clone()], None, fresh.path()));
    wait_until(&mut h, "provisional scores", |a| {
        a.files[0].provisional.is_some() && !a.files[0].scores.is_empty()
    });
    assert!(a_report_is_missing(h.state()));
    h.get_by_label_contains("Provisional scores (");
    let seen = h.state().files[0].scores.len();
    assert!(seen >= 16, "{seen} provisional clips");
    // Seeking works on provisional scores.
    let t = h.state().files[0].ends[seen - 1] / 2.0;
    h.state_mut().push(vigil::gui::Command::Seek(t));
    h.state_mut().run_commands();
    h.step();
    assert!((h.state().player.position_s - t).abs() < 0.1);
    wait_until(&mut h, "scores", scored);
    let f = &h.state().files[0];
    assert!(f.provisional.is_none());
    let report = f.report.as_ref().unwrap();
    let final_scores: Vec<f32> = report.clips.iter().map(|c| c.score).collect();
    assert_eq!(f.scores, final_scores);
    assert!(h.query_by_label_contains("Provisional scores (").is_none());
}

/// An analyst does not wait for the end: with provisional scores on screen (here with the
/// queue paused), a mark can be made and exported, and the export says its scores were
/// provisional.
#[test]
fn marks_and_exports_work_while_scoring_runs() {
    let (clip, _) = fixture();
    let fresh = tempdir();
    let mut h = harness(config(vec![clip.clone()], None, fresh.path()));
    wait_until(&mut h, "provisional scores", |a| {
        a.files[0].provisional.is_some() && !a.files[0].scores.is_empty()
    });
    h.get_by_label("Pause scoring").click();
    h.step();
    wait_until(&mut h, "the pause", |a| a.scoring_now.is_none());
    assert!(a_report_is_missing(h.state()));
    assert_eq!(
        h.state().case.files[0].sha256.as_deref(),
        Some(sha256(clip).as_str()),
        "the hash arrives before the scores"
    );
    let (folder, manifest) = mark_and_export_at(&mut h, 36.0);
    let stage = h.state().files[0].provisional.unwrap();
    assert_eq!(manifest["scores_provisional"], stage);
    assert_eq!(manifest["model"]["id"], "i3d-k400");
    assert_eq!(manifest["source"]["sha256"], sha256(clip));
    let report = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(report.contains("The scores were provisional"));
    assert!(vigil::case::verify_export_dir(&folder).passed());
    // Resumed, the file finishes and the final scores replace the provisional ones.
    h.get_by_label("Resume scoring").click();
    h.step();
    wait_until(&mut h, "scores", scored);
    assert!(h.state().files[0].provisional.is_none());
}

/// The hash of an original does not depend on the scorer: with no model pack the footage is
/// still hashed, and can be marked and exported as evidence.
#[test]
fn footage_opened_without_a_model_pack_is_hashed_marked_and_exported() {
    let (clip, _) = fixture();
    let fresh = tempdir();
    let no_pack = fresh.path().join("no-pack");
    std::fs::create_dir_all(&no_pack).unwrap();
    let mut cfg = config(vec![clip.clone()], None, fresh.path());
    cfg.model_dir = no_pack;
    let mut h = harness(cfg);
    h.step();
    assert!(
        h.state().errors.iter().any(|e| e.contains("not scored")),
        "{:?}",
        h.state().errors
    );
    wait_until(&mut h, "the hash", |a| a.case.files[0].sha256.is_some());
    assert_eq!(
        h.state().case.files[0].sha256.as_deref(),
        Some(sha256(clip).as_str())
    );
    assert!(h.state().files[0].report.is_none());
    let (folder, manifest) = mark_and_export_at(&mut h, 36.0);
    assert_eq!(manifest["source"]["sha256"], sha256(clip));
    assert!(manifest["model"].is_null(), "{}", manifest["model"]);
    assert!(vigil::case::verify_export_dir(&folder).passed());
}

fn a_report_is_missing(app: &VigilApp) -> bool {
    app.files[0].report.is_none()
}

#[test]
fn scoring_runs_in_the_background_with_progress_and_cancel() {
    let (clip, _) = fixture();
    // An empty cache: the files really get scored, one after the other.
    let fresh = tempdir();
    let car = footage("car-detection.mp4");
    let mut h = harness(config(vec![clip.clone(), car], None, fresh.path()));
    wait_until(&mut h, "the car clip's progress", |a| {
        matches!(a.files[1].status, FileStatus::Scoring { done, .. } if done > 0)
            || matches!(a.files[0].status, FileStatus::Scoring { done, .. } if done > 0)
    });
    // The UI kept drawing while the scorer worked: the progress line is on screen.
    h.get_by_label_contains("clips ·");
    h.get_all_by_label("Cancel").next().unwrap().click();
    h.step();
    wait_until(&mut h, "cancellation", |a| {
        a.files
            .iter()
            .all(|f| matches!(f.status, FileStatus::Cancelled | FileStatus::Ready))
            && a.files.iter().any(|f| f.status == FileStatus::Cancelled)
    });
    // Cancel stops the file being scored and the one queued behind it.
    assert_eq!(
        h.get_all_by_label("cancelled (computed clips are cached)")
            .count(),
        2
    );
}

#[test]
fn the_scoring_queue_pauses_reorders_and_resumes() {
    let (clip, _) = fixture();
    let fresh = tempdir();
    let files = vec![
        clip.clone(),
        footage("car-detection.mp4"),
        footage("people-detection.gif"),
    ];
    let mut h = harness(config(files, None, fresh.path()));
    // One file at a time goes to the scoring thread; the others wait in the app's queue.
    assert_eq!(h.state().queue, vec![1, 2]);
    h.get_by_label("Pause scoring").click();
    h.step();
    wait_until(&mut h, "the pause", |a| {
        a.scoring_now.is_none() && a.files[0].status == FileStatus::Queued
    });
    // The paused file is first in line again.
    assert_eq!(h.state().queue, vec![0, 1, 2]);
    h.get_by_label("Scoring paused · 3 waiting");
    let still = Instant::now() + Duration::from_millis(800);
    while Instant::now() < still {
        h.step();
        assert!(
            h.state().scoring_now.is_none(),
            "nothing starts while paused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The short GIF goes first.
    for _ in 0..2 {
        h.state_mut()
            .push(vigil::gui::Command::MoveInQueue { file: 2, up: true });
        h.state_mut().run_commands();
    }
    h.step();
    assert_eq!(h.state().queue, vec![2, 0, 1]);
    h.get_by_label("Resume scoring").click();
    h.step();
    wait_until(&mut h, "the GIF's scores", |a| {
        a.files[2].status == FileStatus::Ready
    });
    assert!(
        h.state().files[..2]
            .iter()
            .all(|f| f.status != FileStatus::Ready),
        "the GIF was scored first"
    );
    wait_until(&mut h, "the next file to start", |a| {
        a.scoring_now.as_ref().map(|k| k.0.as_path()) == Some(a.files[0].path.as_path())
    });
    assert_eq!(h.state().queue, vec![1]);
    wait_until(&mut h, "its progress line", |a| {
        matches!(a.files[0].status, FileStatus::Scoring { .. })
    });
    h.get_all_by_label("Cancel").next().unwrap().click();
    h.step();
    wait_until(&mut h, "cancellation", |a| a.scoring_now.is_none());
    assert_eq!(h.state().files[0].status, FileStatus::Cancelled);
    assert_eq!(h.state().files[1].status, FileStatus::Cancelled);
    assert!(h.state().queue.is_empty());
    // A cancelled file can be queued again.
    h.get_all_by_label("Score again").next().unwrap().click();
    h.step();
    assert_eq!(
        h.state().scoring_now.as_ref().map(|k| k.0.as_path()),
        Some(h.state().files[0].path.as_path())
    );
    h.state_mut().push(vigil::gui::Command::CancelScoring);
    h.state_mut().run_commands();
    wait_until(&mut h, "the last cancellation", |a| a.scoring_now.is_none());
}

#[test]
fn closing_with_unsaved_marks_autosaves_them() {
    let (clip, cache) = fixture();
    let dir = tempdir();
    let autosave = dir.path().join("autosave.vigil.json");
    let mut cfg = config(vec![clip.clone()], None, cache);
    cfg.autosave_path = Some(autosave.clone());
    let mut h = harness(cfg);
    wait_until(&mut h, "scores", scored);
    wait_until(&mut h, "the first frame", frame_shown_at_cursor);
    h.key_press(egui::Key::N);
    h.step();
    h.key_press(egui::Key::M);
    h.run_steps(4);
    h.get_by_role_and_label(Role::RadioButton, "False alarm")
        .click();
    h.step();
    h.get_by_label("Save mark").click();
    h.run_steps(2);
    assert!(h.state().dirty);
    h.state_mut().save_on_exit();
    let case = Case::load(&autosave).expect("autosaved");
    assert_eq!(case.marks.len(), 1);
    assert_eq!(case.marks[0].kind, MarkKind::FalseAlarm);
    assert_eq!(case.files.len(), 1);
}

#[test]
fn exports_a_flagged_span_and_verifies_the_case_with_an_audit_trail() {
    let (clip, cache) = fixture();
    let dir = tempdir();
    let case_path = dir.path().join("case.vigil.json");
    let mut cfg = config(vec![clip.clone()], Some(case_path.clone()), cache);
    cfg.settings.export_dir = Some(dir.path().join("exports"));
    let key_path = dir.path().join("signing-key.json");
    let key = vigil::case::ExportSigner::create(&key_path).unwrap();
    cfg.signing_key = Some(key_path.clone());
    let mut h = harness(cfg);
    wait_until(&mut h, "scores", scored);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run_steps(2);

    h.get_by_label("Export span 1").click();
    let (folder, manifest) = one_clip_export(&mut h);
    assert_eq!(manifest["analyst"], "Test Analyst");
    assert_eq!(manifest["model"]["id"], "i3d-k400");
    assert_eq!(manifest["clips"][0]["shown"]["first_frame"], 1072);
    assert!(
        manifest["clips"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("flagged span 1 of 1")
    );
    let checked = vigil::case::verify_export_dir(&folder);
    assert!(checked.passed(), "{checked:?}");
    assert_eq!(manifest["signer"]["fingerprint"], key.fingerprint());
    assert_eq!(checked.signed_by.as_deref(), Some(key.fingerprint()));

    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Verify case originals").click();
    h.run_steps(2);
    wait_until(&mut h, "the verification", |a| a.last_verify.is_some());
    assert!(h.state().last_verify.as_ref().unwrap().passed());

    let log = vigil::case::audit::read(&vigil::case::audit::audit_path_for(&case_path)).unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action).collect();
    use vigil::case::audit::AuditAction::*;
    assert_eq!(
        actions,
        vec![Opened, Hashed, Scored, Exported, Verified],
        "{log:#?}"
    );

    // The command line exports the same span into the same case: one export path, so the
    // audit record is the same but for the folder and the clip's own bytes.
    let requested = &manifest["clips"][0]["requested"];
    let o = run(vigil(cache)
        .args(["export", "--analyst", "Test Analyst", "--from"])
        .arg(requested["from_s"].to_string())
        .arg("--to")
        .arg(requested["to_s"].to_string())
        .arg("-o")
        .arg(dir.path().join("cli-export"))
        .arg("--case")
        .arg(&case_path)
        .arg("--key")
        .arg(&key_path)
        .arg(clip));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = vigil::case::audit::read(&vigil::case::audit::audit_path_for(&case_path)).unwrap();
    let (app, cli) = (&log[3].details, &log[5].details);
    assert_eq!(log[5].action, Exported);
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(app), keys(cli));
    assert_eq!(keys(&app["clips"][0]), keys(&cli["clips"][0]));
    for k in ["source", "source_sha256", "signed_by"] {
        assert_eq!(app[k], cli[k], "{k}");
    }
    assert_eq!(app["signed_by"], key.fingerprint());
    for k in ["from_s", "to_s"] {
        assert_eq!(app["clips"][0][k], cli["clips"][0][k], "{k}");
    }
}

#[test]
fn a_bad_file_shows_one_error_line() {
    let dir = tempdir();
    let bad = dir.path().join("recording.mp4");
    std::fs::write(&bad, b"this is not video, it is a note about a video").unwrap();
    let mut h = harness(config(vec![bad.clone()], None, dir.path()));
    wait_until(&mut h, "the failure", |a| {
        matches!(
            a.files.first().map(|f| &f.status),
            Some(FileStatus::Failed(_))
        )
    });
    let lines = h.query_all_by_label_contains("not a video").count();
    assert_eq!(lines, 1, "the problem is said once: {:?}", h.state().errors);
    assert_eq!(h.state().errors.len(), 1);
    h.get_by_label("Dismiss").click();
    h.step();
    h.step();
    assert!(h.state().errors.is_empty());
}

/// A two-camera file (as multi-camera DVRs export) becomes two items of the case: FFmpeg's
/// pick first, then the other stream, queued on its own, with its own scores and pictures.
#[test]
fn each_video_stream_of_a_file_is_an_item_of_its_own() {
    let dir = tempdir();
    let file = two_camera_mkv(dir.path());
    let cache = tempdir();
    let mut h = harness(config(vec![file.clone()], None, cache.path()));
    wait_until(&mut h, "both streams scored", |a| {
        a.files.len() == 2 && a.files.iter().all(|f| f.status == FileStatus::Ready)
    });
    let a = h.state();
    assert_eq!(a.files[0].stream, None);
    assert_eq!(a.files[1].stream, Some(1));
    assert!(a.files[0].name().ends_with("nvr.mkv · stream #0"));
    assert!(a.files[1].name().ends_with("nvr.mkv · stream #1"));
    let size = |i: usize| {
        let v = &a.files[i].report.as_ref().unwrap().video;
        (v.stream, v.width, v.height)
    };
    assert_eq!(size(0), (0, 176, 144));
    assert_eq!(size(1), (1, 320, 240));
    assert_eq!(a.case.files[1].stream, Some(1));
    assert!(
        !a.errors.iter().any(|e| e.contains("not every camera")),
        "{:?}",
        a.errors
    );
    h.get_by_label_contains("stream #1");
    // Selecting the second camera plays its own pictures.
    h.state_mut().push(vigil::gui::Command::Select(1));
    h.step();
    wait_until(&mut h, "its preview", |a| {
        a.player.info.as_ref().is_some_and(|i| i.width == 320)
    });
}
