//! The review app's state and frame loop. Panels draw from the state and push [`Command`]s;
//! the commands run at the end of the frame, so no panel mutates what another is drawing.

mod command;
mod jobs;
mod prefs;
mod scoring;
#[cfg(test)]
mod tests;
mod view;

pub use command::Command;
use prefs::PREFS_KEY;
pub use prefs::Prefs;
pub use view::{FileStatus, FileView, ItemKey, MarkDraft, TOP_MOMENTS};

use super::dialogs::{DialogResult, Dialogs};
use super::panels;
use super::player::{Player, SPEEDS};
use super::recent::RecentFiles;
use super::timeline::{TimelineAction, TimelineInput, TimelineView, timeline_ui};
use super::windows;
use crate::base::now_utc;
use crate::case::audit::{self, AuditAction, AuditEvent};
use crate::case::{
    Case, ExportJob, Mark, MarkKind, ScoresContext, Settings, SpanRequest, VerifyReport,
};
use crate::model::Pack;
use crate::pipeline::{
    Peak, Progress, Provisional, ScoreEvent, ScoreOptions, ScoreReport, ScoringWorker, find_peaks,
    top_moments,
};
use crate::video::ClipSpan;
use crossbeam_channel::{Receiver, Sender, bounded};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How the app starts.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Footage to open at start.
    pub files: Vec<PathBuf>,
    /// A case file to open (and to save to).
    pub case_path: Option<PathBuf>,
    /// The model pack to score with.
    pub model_dir: PathBuf,
    /// Scoring options (device, cache, …); whether to cascade comes from `settings`, per file.
    pub score_options: ScoreOptions,
    /// Where the recent-files list lives; None keeps it in memory only (tests).
    pub recent_path: Option<PathBuf>,
    /// Where unsaved work goes if the window closes before the case was saved
    /// ([`VigilApp::default_autosave_path`]); None: nowhere.
    pub autosave_path: Option<PathBuf>,
    /// Analyst name, export folder, cascade on or off.
    pub settings: Settings,
    /// Where the settings window saves to; None: not saved (tests).
    pub settings_persist: bool,
}

/// What a background job (export, verification) reports.
#[derive(Debug)]
pub enum JobResult {
    /// An export finished.
    Exported(Box<Result<crate::case::ExportOutcome, String>>),
    /// A case verification finished.
    Verified(VerifyReport),
    /// An original was hashed without the scorer (no model pack).
    Hashed {
        /// The item.
        key: ItemKey,
        /// Its SHA-256, or why it could not be read.
        sha256: Result<String, String>,
    },
}

/// The review app.
pub struct VigilApp {
    /// The case under review.
    pub case: Case,
    /// Where the case is saved, once it has been.
    pub case_path: Option<PathBuf>,
    /// The files of the case, index-aligned with `case.files`.
    pub files: Vec<FileView>,
    /// The file shown.
    pub selected: Option<usize>,
    /// The player.
    pub player: Player,
    /// The visible part of the timeline.
    pub timeline: TimelineView,
    /// Problems to tell the user, once each.
    pub errors: Vec<String>,
    /// Keyboard help shown?
    pub show_help: bool,
    /// The mark dialog's content, while open.
    pub mark_draft: Option<MarkDraft>,
    /// Clip under the mouse on the timeline.
    pub hovered_clip: Option<usize>,
    /// Recent files.
    pub recent: RecentFiles,
    /// True when the case changed since it was saved.
    pub dirty: bool,
    /// Analyst name and export folder (shared with the command line).
    pub settings: Settings,
    /// The settings window's copy while it is open.
    pub settings_draft: Option<Settings>,
    /// Exports running in the background.
    pub exports_running: usize,
    /// What the last finished exports and verifications said, newest last.
    pub notices: Vec<String>,
    /// The last case verification.
    pub last_verify: Option<VerifyReport>,
    /// Audit events waiting for the case to have a file to go beside.
    pending_audit: Vec<AuditEvent>,
    jobs_tx: Sender<JobResult>,
    jobs_rx: Receiver<JobResult>,
    /// Items waiting to be hashed without the scorer, and the one being hashed: one at a time,
    /// so that a case of many long files does not read them all at once.
    hash_waiting: Vec<ItemKey>,
    hashing: Option<ItemKey>,
    autosave_path: Option<PathBuf>,
    settings_persist: bool,
    scoring: Option<ScoringWorker>,
    /// The pack scoring runs with (id, manifest SHA-256): named in exports made from
    /// provisional scores, before a report names it.
    pack_model: Option<(String, String)>,
    /// Files waiting to be scored, in the order they will be: the app hands the scoring
    /// thread one file at a time, so that the analyst can reorder and pause the rest.
    pub queue: Vec<usize>,
    /// The item the scoring thread is working on (by path and stream: it may have left the
    /// case, when another case was opened meanwhile).
    pub scoring_now: Option<ItemKey>,
    /// No new file is started while set.
    pub scoring_paused: bool,
    /// The item a pause cancelled: its cancellation puts it back at the head of the queue.
    pausing: Option<ItemKey>,
    dialogs: Dialogs,
    pending: Vec<Command>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl VigilApp {
    /// Builds the app for `ctx`, opening the configured case and files. Never fails: problems
    /// (no model pack, unreadable case) become error lines in the window.
    pub fn new(ctx: &egui::Context, config: AppConfig) -> Self {
        let repaint_ctx = ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || repaint_ctx.request_repaint());
        let mut errors = Vec::new();
        let mut pack_model = None;
        let scoring = match Pack::load(&config.model_dir) {
            Ok(pack) => {
                pack_model = Some((pack.manifest.id.clone(), pack.manifest_sha256.clone()));
                let w = Arc::clone(&wake);
                // The timeline fills while scoring runs.
                let opts = ScoreOptions {
                    provisional: true,
                    ..config.score_options.clone()
                };
                match ScoringWorker::spawn(pack, opts, move || w()) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        errors.push(format!("cannot start the scoring thread: {e}"));
                        None
                    }
                }
            }
            Err(e) => {
                errors.push(format!("{e}. Footage can be watched, but not scored."));
                None
            }
        };
        Self::with_worker(wake, config, scoring, pack_model, errors)
    }

    /// The app with a given scoring worker (or none) and the pack it scores with: what
    /// [`VigilApp::new`] builds, and what tests build with [`ScoringWorker::detached`].
    pub fn with_worker(
        wake: Arc<dyn Fn() + Send + Sync>,
        config: AppConfig,
        scoring: Option<ScoringWorker>,
        pack_model: Option<(String, String)>,
        errors: Vec<String>,
    ) -> Self {
        let (jobs_tx, jobs_rx) = bounded::<JobResult>(16);
        let mut app = Self {
            case: Case::default(),
            case_path: None,
            files: Vec::new(),
            selected: None,
            player: Player::default(),
            timeline: TimelineView::fit(1.0),
            errors,
            show_help: false,
            mark_draft: None,
            hovered_clip: None,
            recent: RecentFiles::load(config.recent_path.clone()),
            dirty: false,
            settings: config.settings.clone(),
            settings_draft: None,
            exports_running: 0,
            notices: Vec::new(),
            last_verify: None,
            pending_audit: Vec::new(),
            jobs_tx,
            jobs_rx,
            hash_waiting: Vec::new(),
            hashing: None,
            autosave_path: config.autosave_path.clone(),
            settings_persist: config.settings_persist,
            scoring,
            pack_model,
            queue: Vec::new(),
            scoring_now: None,
            scoring_paused: false,
            pausing: None,
            dialogs: Dialogs::new(Arc::clone(&wake)),
            pending: Vec::new(),
            wake,
        };
        if let Some(case) = &config.case_path {
            if case.exists() {
                app.open_case(case);
            } else {
                app.case_path = Some(case.clone());
            }
        }
        if !config.files.is_empty() {
            app.open_files(&config.files);
        }
        app
    }

    /// Queues a command to run at the end of the frame.
    pub fn push(&mut self, c: Command) {
        self.pending.push(c);
    }

    /// Runs the queued commands now (the frame loop does this; tests may too).
    pub fn run_commands(&mut self) {
        let commands = std::mem::take(&mut self.pending);
        for c in commands {
            self.execute(c);
        }
    }

    /// The file shown, if any.
    pub fn current(&self) -> Option<&FileView> {
        self.selected.and_then(|i| self.files.get(i))
    }

    fn error(&mut self, message: String) {
        if !self.errors.contains(&message) {
            self.errors.push(message);
        }
    }

    fn select(&mut self, i: usize, position_s: f64) {
        if i >= self.files.len() {
            return;
        }
        self.selected = Some(i);
        let (path, open) = (self.files[i].path.clone(), self.files[i].open_options());
        self.player
            .open(&path, open, position_s, Arc::clone(&self.wake));
        self.player.position_s = position_s;
        self.timeline = TimelineView::fit(self.files[i].duration_s().unwrap_or(1.0));
    }

    fn recompute_peaks(&mut self) {
        let (t, g, m) = (
            self.case.threshold,
            self.case.merge_gap_s,
            self.case.min_span_s,
        );
        for f in &mut self.files {
            f.peaks = find_peaks(&f.spans, &f.scores, t, g, m);
            f.moments = if f.peaks.is_empty() {
                top_moments(&f.spans, &f.scores, TOP_MOMENTS)
            } else {
                Vec::new()
            };
        }
    }

    /// Keyboard shortcuts, unless a text field has the keyboard.
    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let out = ctx.input(super::keymap::commands);
        self.pending.extend(out);
    }

    /// One frame: drain workers, draw, run commands.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_scoring();
        self.poll_jobs();
        for r in self.dialogs.poll() {
            self.pending.push(match r {
                DialogResult::Footage(paths) => Command::OpenFiles(paths),
                DialogResult::Case(p) => Command::OpenCase(p),
                DialogResult::SaveCase(p) => Command::SaveCaseTo(p),
                DialogResult::Annotations(p) => Command::ExportAnnotationsTo(p),
            });
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() {
            self.pending.push(Command::OpenFiles(dropped));
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
        self.pending.extend(commands);
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
        let prefs = Prefs {
            speed: self.player.speed,
            last_case: self.case_path.clone(),
        };
        eframe::set_value(storage, PREFS_KEY, &prefs);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.save_on_exit();
    }
}
