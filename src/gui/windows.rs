//! The windows over the main view: the keyboard help, the mark dialog, the settings and the
//! verification result. Like the panels, each draws from the app's state and pushes
//! [`Command`]s (the mark dialog's and the settings' text fields edit their drafts, which are
//! the windows' own state).

use super::app::{Command, VigilApp};
use crate::base::format_hms;
use crate::case::MarkKind;

/// The keyboard help overlay.
pub fn help_ui(ctx: &egui::Context, out: &mut Vec<Command>) {
    let mut open = true;
    egui::Window::new("Keyboard shortcuts")
        .collapsible(false)
        .resizable(false)
        .open(&mut open)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                for row in super::keymap::KEYMAP {
                    ui.strong(row.label());
                    ui.label(row.what);
                    ui.end_row();
                }
            });
        });
    if !open {
        out.push(Command::ToggleHelp);
    }
}

/// The dialog for a new mark.
pub fn mark_dialog_ui(ctx: &egui::Context, app: &mut VigilApp, out: &mut Vec<Command>) {
    let Some(draft) = app.mark_draft.as_mut() else {
        return;
    };
    egui::Window::new("New mark")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.radio_value(&mut draft.kind, MarkKind::Incident, "Incident");
                ui.radio_value(&mut draft.kind, MarkKind::FalseAlarm, "False alarm");
            });
            egui::Grid::new("mark-fields").show(ui, |ui| {
                ui.label("From (s)");
                ui.add(
                    egui::DragValue::new(&mut draft.start_s)
                        .speed(0.1)
                        .range(0.0..=f64::MAX),
                );
                ui.end_row();
                ui.label("To (s)");
                ui.add(
                    egui::DragValue::new(&mut draft.end_s)
                        .speed(0.1)
                        .range(0.0..=f64::MAX),
                );
                ui.end_row();
                ui.label("Label");
                ui.add_sized(
                    [280.0, 20.0],
                    egui::TextEdit::singleline(&mut draft.label).hint_text("e.g. Fighting"),
                )
                .accessible_name("Label");
                ui.end_row();
                ui.label("Note");
                ui.add_sized(
                    [280.0, 54.0],
                    egui::TextEdit::multiline(&mut draft.note).desired_rows(3),
                )
                .accessible_name("Note");
                ui.end_row();
            });
            ui.label(format!(
                "{} – {}",
                format_hms(draft.start_s.min(draft.end_s)),
                format_hms(draft.start_s.max(draft.end_s))
            ));
            ui.horizontal(|ui| {
                if ui.button("Save mark").clicked() {
                    out.push(Command::SaveMark);
                }
                if ui.button("Cancel").clicked() {
                    out.push(Command::DiscardMark);
                }
            });
        });
}

/// The settings window: analyst name, export folder, cascade on or off.
pub fn settings_ui(ctx: &egui::Context, app: &mut VigilApp, out: &mut Vec<Command>) {
    let Some(draft) = app.settings_draft.as_mut() else {
        return;
    };
    egui::Window::new("Settings")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::Grid::new("settings-fields").show(ui, |ui| {
                ui.label("Analyst");
                ui.add_sized(
                    [320.0, 20.0],
                    egui::TextEdit::singleline(&mut draft.analyst),
                )
                .accessible_name("Analyst");
                ui.end_row();
                ui.label("Export folder");
                let mut folder = draft
                    .export_dir
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                if ui
                    .add_sized(
                        [320.0, 20.0],
                        egui::TextEdit::singleline(&mut folder)
                            .hint_text("default: exports/ beside the case file"),
                    )
                    .accessible_name("Export folder")
                    .changed()
                {
                    draft.export_dir = (!folder.trim().is_empty()).then(|| folder.trim().into());
                }
                ui.end_row();
                ui.label("Scoring");
                ui.checkbox(
                    &mut draft.cascade,
                    "Cascade: the full network only where the coarse pass finds something",
                )
                .on_hover_text(
                    "Several times faster on long, quiet footage. Off: every clip through the full network. Applies to the next file scored.",
                );
                ui.end_row();
            });
            ui.label(
                egui::RichText::new("The analyst's name is written into every export manifest.")
                    .small(),
            );
            ui.horizontal(|ui| {
                if ui.button("Save settings").clicked() {
                    out.push(Command::SaveSettings);
                }
                if ui.button("Cancel").clicked() {
                    out.push(Command::ToggleSettings);
                }
            });
        });
}

/// The result of the last case verification.
pub fn verify_ui(ctx: &egui::Context, app: &VigilApp, out: &mut Vec<Command>) {
    let Some(r) = &app.last_verify else { return };
    let mut open = true;
    egui::Window::new("Verification of the case originals")
        .collapsible(false)
        .open(&mut open)
        .show(ctx, |ui| {
            if r.passed() {
                ui.label(format!(
                    "All {} original(s) have the SHA-256 recorded in the case.",
                    r.ok.len()
                ));
            }
            for p in &r.problems {
                ui.colored_label(ui.visuals().error_fg_color, p);
            }
            for ok in &r.ok {
                ui.label(egui::RichText::new(format!("OK {ok}")).small());
            }
        });
    if !open {
        out.push(Command::CloseVerification);
    }
}
