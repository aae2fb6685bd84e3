//! The panels. Each draws from the app's state and pushes [`Command`]s; none mutates state
//! (the mark dialog's text fields edit the draft, which is the dialog's own state).

use super::app::{Command, FileStatus, FileView, VigilApp, threshold_text};
use super::player::SPEEDS;
use crate::base::format_hms;
use crate::case::MarkKind;

/// The menu bar.
pub fn menu_ui(ui: &mut egui::Ui, app: &VigilApp, out: &mut Vec<Command>) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui.button("Open footage…").clicked() {
                out.push(Command::OpenFilesDialog);
            }
            if ui.button("Open case…").clicked() {
                out.push(Command::OpenCaseDialog);
            }
            ui.menu_button("Recent", |ui| {
                if app.recent.entries.is_empty() {
                    ui.label("Nothing yet");
                }
                for p in &app.recent.entries {
                    if ui.button(p.display().to_string()).clicked() {
                        let is_case = p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().ends_with(".json"));
                        out.push(if is_case {
                            Command::OpenCase(p.clone())
                        } else {
                            Command::OpenFiles(vec![p.clone()])
                        });
                    }
                }
            });
            ui.separator();
            if ui.button("Save case").clicked() {
                out.push(Command::SaveCase);
            }
            if ui.button("Save case as…").clicked() {
                out.push(Command::SaveCaseAs);
            }
            if ui.button("Export annotations…").clicked() {
                out.push(Command::ExportAnnotationsDialog);
            }
            ui.separator();
            if ui.button("Verify case originals").clicked() {
                out.push(Command::VerifyCase);
            }
            if ui.button("Settings…").clicked() {
                out.push(Command::ToggleSettings);
            }
        });
        ui.menu_button("Help", |ui| {
            if ui.button("Keyboard shortcuts").clicked() {
                out.push(Command::ToggleHelp);
            }
        });
        ui.separator();
        let case = app.case_path.as_ref().map_or_else(
            || "unsaved case".to_string(),
            |p| {
                p.file_name().map_or_else(
                    || p.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            },
        );
        ui.label(format!("{case}{}", if app.dirty { " •" } else { "" }));
    });
}

/// Problems, one line each, until dismissed.
pub fn errors_ui(ui: &mut egui::Ui, errors: &[String], out: &mut Vec<Command>) {
    for (i, e) in errors.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui
                .small_button("×")
                .accessible_name("Dismiss")
                .on_hover_text("Dismiss")
                .clicked()
            {
                out.push(Command::DismissError(i));
            }
            ui.colored_label(ui.visuals().error_fg_color, e);
        });
    }
}

/// The case's files with their scoring status, then the selected file's flagged spans and
/// marks.
pub fn side_ui(ui: &mut egui::Ui, app: &VigilApp, out: &mut Vec<Command>) {
    ui.heading("Case");
    if app.files.is_empty() {
        ui.label("No footage yet: File → Open footage…, or drop files on the window.");
    }
    queue_ui(ui, app, out);
    for (i, f) in app.files.iter().enumerate() {
        let selected = app.selected == Some(i);
        if ui.selectable_label(selected, f.name()).clicked() {
            out.push(Command::Select(i));
        }
        ui.indent(("status", i), |ui| {
            let place = app.queue.iter().position(|&q| q == i);
            file_status_ui(ui, i, &f.status, place, app, out);
        });
    }
    notices_ui(ui, app);
    ui.separator();
    let Some(f) = app.current() else { return };
    ui.heading("Flagged spans");
    let scored = f.report.is_some() || f.provisional.is_some();
    if let (None, Some(stage)) = (&f.report, f.provisional) {
        ui.label(format!(
            "{} provisional span{} (score ≥ {}, {stage}); an export now records that its scores were provisional",
            f.peaks.len(),
            if f.peaks.len() == 1 { "" } else { "s" },
            threshold_text(app.case.threshold)
        ));
    }
    if scored {
        ui.horizontal(|ui| {
            if f.report.is_some() {
                ui.label(format!(
                    "{} flagged span{} (score ≥ {})",
                    f.peaks.len(),
                    if f.peaks.len() == 1 { "" } else { "s" },
                    threshold_text(app.case.threshold)
                ));
            }
            if ui
                .add_enabled(!f.peaks.is_empty(), egui::Button::new("Export all flagged"))
                .on_hover_text("Cut every flagged span losslessly into one evidence folder")
                .clicked()
            {
                out.push(Command::ExportAllFlagged);
            }
        });
    }
    egui::ScrollArea::vertical()
        .id_salt("peaks")
        .max_height(ui.available_height() * 0.55)
        .show(ui, |ui| {
            egui::Grid::new("peaks-grid").striped(true).show(ui, |ui| {
                for (rank, p) in f.peaks.iter().enumerate() {
                    let text = format!(
                        "{:>2}. {}  {:.1} s  {:.2}",
                        rank + 1,
                        format_hms(p.start_s),
                        p.end_s - p.start_s,
                        p.score
                    );
                    let hint = top_hint(f, p.peak_clip);
                    let here = app.player.position_s >= p.start_s - 1e-6
                        && app.player.position_s <= p.end_s;
                    if ui
                        .add_enabled(scored, egui::Button::new("Export").small())
                        .accessible_name(format!("Export span {}", rank + 1))
                        .on_hover_text("Cut this span losslessly into an evidence folder")
                        .clicked()
                    {
                        out.push(Command::ExportPeak(rank));
                    }
                    if ui
                        .selectable_label(here, text)
                        .on_hover_text(format!(
                            "{} – {}\npeak {:.2} at {}\nKinetics hint (not a finding): {hint}{}",
                            format_hms(p.start_s),
                            format_hms(p.end_s),
                            p.score,
                            format_hms(p.peak_s),
                            why_hint(f, p.peak_clip)
                        ))
                        .clicked()
                    {
                        out.push(Command::JumpToPeak(rank));
                    }
                    ui.label(egui::RichText::new(hint).weak().small());
                    ui.end_row();
                }
            });
        });
    if scored && f.peaks.is_empty() && !f.moments.is_empty() {
        moments_ui(ui, app, f, out);
    }
    ui.separator();
    ui.heading("Marks");
    let item = app.selected.and_then(|i| app.case.files.get(i));
    let sha = item.and_then(|c| c.sha256.as_deref());
    let stream = item.and_then(|c| c.stream);
    ui.horizontal(|ui| {
        // A mark is bound to the footage's hash, known once its scoring has started.
        let can_mark = sha.is_some();
        if ui
            .add_enabled(can_mark, egui::Button::new("Mark incident"))
            .clicked()
        {
            out.push(Command::BeginMark(MarkKind::Incident));
        }
        if ui
            .add_enabled(can_mark, egui::Button::new("Mark false alarm"))
            .clicked()
        {
            out.push(Command::BeginMark(MarkKind::FalseAlarm));
        }
    });
    if let Some(sha) = sha {
        for (i, m) in app.case.marks.iter().enumerate() {
            if m.file_sha256 != sha || m.stream != stream {
                continue;
            }
            ui.horizontal(|ui| {
                if ui
                    .small_button("×")
                    .accessible_name("Delete mark")
                    .on_hover_text("Delete this mark")
                    .clicked()
                {
                    out.push(Command::DeleteMark(i));
                }
                let text = format!(
                    "{} {} – {}{}",
                    m.kind.label(),
                    format_hms(m.start_s),
                    format_hms(m.end_s),
                    if m.label.is_empty() {
                        String::new()
                    } else {
                        format!(" · {}", m.label)
                    }
                );
                if ui
                    .small_button("Export")
                    .accessible_name(format!("Export mark {}", i + 1))
                    .on_hover_text("Cut this span losslessly into an evidence folder")
                    .clicked()
                {
                    out.push(Command::ExportMark(i));
                }
                if ui.link(text).on_hover_text(&m.note).clicked() {
                    out.push(Command::Seek(m.start_s));
                }
            });
        }
    }
}

/// Running exports and what finished, newest first.
pub fn notices_ui(ui: &mut egui::Ui, app: &VigilApp) {
    if app.exports_running > 0 {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("exporting ({} running)…", app.exports_running));
        });
    }
    for n in app.notices.iter().rev().take(4) {
        ui.label(egui::RichText::new(n).small());
    }
}

/// The scoring queue's line: how many files wait, and pause or resume.
fn queue_ui(ui: &mut egui::Ui, app: &VigilApp, out: &mut Vec<Command>) {
    if app.queue.is_empty() && app.scoring_now.is_none() {
        return;
    }
    ui.horizontal(|ui| {
        let waiting = app.queue.len();
        ui.label(match (app.scoring_paused, app.scoring_now.is_some()) {
            (true, true) => format!("Scoring pauses… {waiting} waiting"),
            (true, false) => format!("Scoring paused · {waiting} waiting"),
            (false, _) => format!("Scoring · {waiting} waiting"),
        });
        if app.scoring_paused {
            if ui
                .button("Resume scoring")
                .on_hover_text("Go on with the queue; a paused file resumes from its cache")
                .clicked()
            {
                out.push(Command::ResumeScoring);
            }
        } else if ui
            .button("Pause scoring")
            .on_hover_text(
                "Stop after putting the file being scored back first in line; what it computed stays cached",
            )
            .clicked()
        {
            out.push(Command::PauseScoring);
        }
    });
}

fn file_status_ui(
    ui: &mut egui::Ui,
    i: usize,
    status: &FileStatus,
    place: Option<usize>,
    app: &VigilApp,
    out: &mut Vec<Command>,
) {
    match status {
        FileStatus::Queued => {
            ui.horizontal(|ui| {
                let Some(place) = place else {
                    // Handed to the scoring thread, which has not started on it yet.
                    ui.label("starting…");
                    return;
                };
                ui.label(format!(
                    "queued, {} of {}{}",
                    place + 1,
                    app.queue.len(),
                    if app.scoring_paused { " (paused)" } else { "" }
                ));
                if ui
                    .add_enabled(place > 0, egui::Button::new("Earlier").small())
                    .on_hover_text("Score earlier")
                    .clicked()
                {
                    out.push(Command::MoveInQueue { file: i, up: true });
                }
                if ui
                    .add_enabled(
                        place + 1 < app.queue.len(),
                        egui::Button::new("Later").small(),
                    )
                    .on_hover_text("Score later")
                    .clicked()
                {
                    out.push(Command::MoveInQueue { file: i, up: false });
                }
            });
        }
        FileStatus::Hashing => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("hashing (SHA-256)…");
            });
        }
        FileStatus::Scoring {
            done,
            estimate,
            video_s,
            provider,
            started,
        } => {
            let frac = if *estimate > 0 {
                *done as f32 / *estimate as f32
            } else {
                0.0
            };
            let elapsed = started.elapsed().as_secs_f64().max(1e-3);
            let rate = video_s / elapsed;
            let eta = if *done > 0 && estimate > done {
                let per_clip = elapsed / *done as f64;
                format!(
                    " · ETA {}",
                    &format_hms(per_clip * (estimate - done) as f64)[..8]
                )
            } else {
                String::new()
            };
            ui.add(egui::ProgressBar::new(frac).text(format!(
                "{done}/{estimate} clips · {rate:.1} video-s/s{eta} · {provider}"
            )));
            if ui.button("Cancel").clicked() {
                out.push(Command::CancelScoring);
            }
        }
        FileStatus::Ready => {
            ui.label("scored");
        }
        FileStatus::Failed(e) => {
            // The sentence itself is in the error banner; once is enough.
            ui.horizontal(|ui| {
                ui.colored_label(ui.visuals().error_fg_color, "not scored")
                    .on_hover_text(e);
                if ui.button("Score again").clicked() {
                    out.push(Command::Rescore(i));
                }
            });
        }
        FileStatus::Cancelled => {
            ui.horizontal(|ui| {
                ui.label("cancelled (computed clips are cached)");
                if ui
                    .button("Score again")
                    .on_hover_text("Queue it again; it resumes from its cache")
                    .clicked()
                {
                    out.push(Command::Rescore(i));
                }
            });
        }
    }
}

/// The picture, the transport controls and the time.
pub fn player_ui(ui: &mut egui::Ui, app: &VigilApp, out: &mut Vec<Command>) {
    let p = &app.player;
    let controls_h = 64.0;
    let picture = egui::vec2(
        ui.available_width(),
        (ui.available_height() - controls_h).max(60.0),
    );
    ui.allocate_ui(picture, |ui| p.picture_ui(ui));
    ui.horizontal_wrapped(|ui| {
        let buttons: [(&str, Command); 9] = [
            ("Start", Command::Seek(0.0)),
            ("−10 s", Command::StepSeconds(-10.0)),
            ("−1 s", Command::StepSeconds(-1.0)),
            ("− Frame", Command::StepFrames(-1)),
            (
                if p.playing { "Pause" } else { "Play" },
                Command::TogglePlay,
            ),
            ("+ Frame", Command::StepFrames(1)),
            ("+1 s", Command::StepSeconds(1.0)),
            ("+10 s", Command::StepSeconds(10.0)),
            ("End", Command::Seek(f64::MAX)),
        ];
        for (label, cmd) in buttons {
            if ui.button(label).clicked() {
                out.push(cmd);
            }
        }
        ui.separator();
        if ui.button("Prev peak").clicked() {
            out.push(Command::PrevPeak);
        }
        if ui.button("Next peak").clicked() {
            out.push(Command::NextPeak);
        }
        ui.separator();
        egui::ComboBox::from_label("Speed")
            .selected_text(format!("{}×", p.speed))
            .show_ui(ui, |ui| {
                for s in SPEEDS {
                    if ui
                        .selectable_label((p.speed - s).abs() < 1e-9, format!("{s}×"))
                        .clicked()
                    {
                        out.push(Command::SetSpeed(s));
                    }
                }
            });
    });
    ui.horizontal(|ui| {
        ui.monospace(p.position_text());
        if let Some(w) = p.wall_clock_text() {
            ui.separator();
            ui.label(w);
        }
    });
}

/// Threshold and span settings above the plot.
pub fn timeline_controls_ui(ui: &mut egui::Ui, app: &VigilApp, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let mut t = app.case.threshold;
        if ui
            .add(
                egui::Slider::new(&mut t, 0.0..=1.0)
                    .step_by(0.005)
                    .text("Threshold"),
            )
            .changed()
        {
            out.push(Command::SetThreshold(t));
        }
        let mut g = app.case.merge_gap_s;
        if ui
            .add(
                egui::DragValue::new(&mut g)
                    .range(0.0..=600.0)
                    .speed(0.1)
                    .suffix(" s"),
            )
            .on_hover_text("Flagged runs closer than this are one span")
            .changed()
        {
            out.push(Command::SetMergeGap(g));
        }
        ui.label("merge gap");
        let mut m = app.case.min_span_s;
        if ui
            .add(
                egui::DragValue::new(&mut m)
                    .range(0.0..=600.0)
                    .speed(0.1)
                    .suffix(" s"),
            )
            .on_hover_text("Flagged spans shorter than this are ignored")
            .changed()
        {
            out.push(Command::SetMinSpan(m));
        }
        ui.label("min span");
        ui.separator();
        if ui.button("Fit").clicked() {
            out.push(Command::FitTimeline);
        }
        if ui.button("Zoom in").clicked() {
            out.push(Command::ZoomTimeline(0.5));
        }
        if ui.button("Zoom out").clicked() {
            out.push(Command::ZoomTimeline(2.0));
        }
        if let Some(f) = app.current()
            && let Some(r) = &f.report
        {
            ui.separator();
            // Which scorer matters as much as which network: a pack may carry several.
            let what = format!("{} ({} scorer)", r.model.id, r.scorer.kind);
            if r.device == "cache" {
                ui.label(format!("{what} · scores from the cache"));
            } else {
                ui.label(format!("{what} · scored on {}", r.device));
            }
        }
    });
}

/// Why the clip scored (the fused scorer's parts), as a tooltip line; empty for other scorers.
fn why_hint(f: &FileView, clip: u64) -> String {
    f.report
        .as_ref()
        .and_then(|r| {
            let c = r.clips.get(clip as usize)?;
            let parts = c.score_parts.as_ref()?;
            Some(format!(
                "\nwhy: {}",
                crate::pipeline::explain(parts, &r.scorer.params)
            ))
        })
        .unwrap_or_default()
}

/// The clip's most probable Kinetics action with its probability, once the report is in.
fn top_hint(f: &FileView, clip: u64) -> String {
    f.report
        .as_ref()
        .and_then(|r| r.clips.get(clip as usize))
        .and_then(|c| c.top_actions.first())
        .map(|a| format!("{} {:.2}", a.label, a.p))
        .unwrap_or_default()
}

/// Nothing reached the threshold: the highest moments, so that the analyst still knows where
/// to look first (the command line prints the same list).
fn moments_ui(ui: &mut egui::Ui, app: &VigilApp, f: &FileView, out: &mut Vec<Command>) {
    ui.label(
        egui::RichText::new(format!(
            "Nothing reaches {}. Highest moments:",
            threshold_text(app.case.threshold)
        ))
        .weak(),
    );
    egui::Grid::new("moments-grid").striped(true).show(ui, |ui| {
        for (rank, m) in f.moments.iter().enumerate() {
            let hint = top_hint(f, m.peak_clip);
            let here =
                app.player.position_s >= m.start_s - 1e-6 && app.player.position_s <= m.end_s;
            let text = format!("{:>2}. {}  {:.2}", rank + 1, format_hms(m.start_s), m.score);
            if ui
                .selectable_label(here, text)
                .on_hover_text(format!(
                    "{} – {}, score {:.2} (below the threshold)\nKinetics hint (not a finding): {hint}{}",
                    format_hms(m.start_s),
                    format_hms(m.end_s),
                    m.score,
                    why_hint(f, m.peak_clip)
                ))
                .clicked()
            {
                out.push(Command::JumpToMoment(rank));
            }
            ui.label(egui::RichText::new(hint).weak().small());
            ui.end_row();
        }
    });
}
