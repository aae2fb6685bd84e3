//! The frame loop: drain the workers, draw the panels, windows and timeline from the app's
//! state, and run the commands they pushed. It sits above the app's state (`app/`) and the
//! things it draws, so that the state never imports what draws it.

use super::app::{FileStatus, VigilApp};
use super::command::Command;
use super::timeline::{TimelineAction, TimelineInput, timeline_ui};
use super::{keymap, panels, windows};
use crate::case::MarkKind;
use std::path::PathBuf;

impl VigilApp {
    /// Keyboard shortcuts, unless a text field has the keyboard.
    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let out = ctx.input(keymap::commands);
        for c in out {
            self.push(c);
        }
    }

    /// One frame: drain workers, draw, run commands.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_scoring();
        self.poll_jobs();
        self.poll_dialogs();
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() {
            self.push(Command::OpenFiles(dropped));
        }
        let busy = self.player.tick(&ctx);
        if let Some(e) = self.player.error.take() {
            // Video errors name the file already; the scorer usually reports the same sentence,
            // which `error` keeps once.
            self.error(e);
        }
        self.keyboard(&ctx);

        let mut commands = Vec::new();
        egui::Panel::top("menu").show(ui, |ui| panels::menu_ui(ui, self, &mut commands));
        if !self.errors.is_empty() {
            egui::Panel::top("errors")
                .show(ui, |ui| panels::errors_ui(ui, &self.errors, &mut commands));
        }
        egui::Panel::left("case")
            .resizable(true)
            .default_size(320.0)
            .show(ui, |ui| panels::side_ui(ui, self, &mut commands));
        egui::Panel::bottom("timeline")
            .resizable(true)
            .default_size(240.0)
            .size_range(140.0..=700.0)
            .show(ui, |ui| self.timeline_panel_ui(ui, &mut commands));
        egui::CentralPanel::default().show(ui, |ui| panels::player_ui(ui, self, &mut commands));
        if self.show_help {
            windows::help_ui(&ctx, &mut commands);
        }
        if self.mark_draft.is_some() {
            windows::mark_dialog_ui(&ctx, self, &mut commands);
        }
        if self.settings_draft.is_some() {
            windows::settings_ui(&ctx, self, &mut commands);
        }
        if self.last_verify.is_some() {
            windows::verify_ui(&ctx, self, &mut commands);
        }
        for c in commands {
            self.push(c);
        }
        self.run_commands();
        let working = self.exports_running > 0
            || self
                .files
                .iter()
                .any(|f| matches!(f.status, FileStatus::Scoring { .. } | FileStatus::Hashing));
        if busy || working {
            ctx.request_repaint_after(std::time::Duration::from_millis(if self.player.playing {
                10
            } else {
                100
            }));
        }
    }

    fn timeline_panel_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        panels::timeline_controls_ui(ui, self, commands);
        let Some(i) = self.selected else {
            ui.label("No footage selected.");
            return;
        };
        let f = &self.files[i];
        let Some(duration_s) = f.duration_s() else {
            ui.label(match &f.status {
                FileStatus::Failed(_) => "Not scored (the reason is in the message above).",
                _ => "Scores appear here when scoring has finished.",
            });
            return;
        };
        if let (None, Some(stage)) = (&f.report, f.provisional) {
            ui.label(
                egui::RichText::new(format!(
                    "Provisional scores ({stage}, calibrated on the footage scored so far): they change as scoring goes on and are replaced by the final ones"
                ))
                .color(egui::Color32::from_rgb(230, 160, 40)),
            );
        }
        let flagged: Vec<(f64, f64)> = f.peaks.iter().map(|p| (p.start_s, p.end_s)).collect();
        let marks: Vec<(f64, f64, bool)> = f
            .report
            .as_ref()
            .map(|r| {
                self.case
                    .marks_of(&r.video.sha256, f.stream)
                    .iter()
                    .map(|m| (m.start_s, m.end_s, m.kind == MarkKind::Incident))
                    .collect()
            })
            .unwrap_or_default();
        let video = f.report.as_ref().map(|r| &r.video);
        let gaps: Vec<(f64, f64)> = video
            .map(|v| v.gaps.iter().map(|g| (g.from_s, g.to_s)).collect())
            .unwrap_or_default();
        let damaged: Vec<(f64, f64)> = video
            .map(|v| v.damaged.iter().map(|d| (d.from_s, d.to_s)).collect())
            .unwrap_or_default();
        let input = TimelineInput {
            starts: &f.starts,
            ends: &f.ends,
            scores: &f.scores,
            duration_s,
            flagged: &flagged,
            marks: &marks,
            gaps: &gaps,
            damaged: &damaged,
            cursor_s: self.player.position_s,
            threshold: self.case.threshold,
        };
        let action = timeline_ui(ui, &mut self.timeline, &input);
        self.hovered_clip = None;
        match action {
            Some(TimelineAction::Seek(t)) => commands.push(Command::Seek(t)),
            Some(TimelineAction::Hover(c)) => {
                self.hovered_clip = Some(c);
                if let Some(clip) = self.files[i].report.as_ref().and_then(|r| r.clips.get(c)) {
                    let hints: Vec<String> = clip
                        .top_actions
                        .iter()
                        .map(|a| format!("{} {:.2}", a.label, a.p))
                        .collect();
                    let mut text = format!(
                        "{} – {}\nscore {:.2}\nKinetics hints (not findings): {}",
                        crate::base::format_hms(clip.start_s),
                        crate::base::format_hms(clip.end_s),
                        clip.score,
                        hints.join(", ")
                    );
                    if let (Some(parts), Some(r)) = (&clip.score_parts, &self.files[i].report) {
                        text.push_str("\nwhy: ");
                        text.push_str(&crate::pipeline::explain(parts, &r.scorer.params));
                    }
                    egui::Tooltip::always_open(
                        ui.ctx().clone(),
                        ui.layer_id(),
                        egui::Id::unique("vigil-timeline-hover"),
                        egui::PopupAnchor::Pointer,
                    )
                    .show(|ui| ui.label(text));
                }
            }
            None => {}
        }
    }
}

impl eframe::App for VigilApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.save_prefs(storage);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.save_on_exit();
    }
}
