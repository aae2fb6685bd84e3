//! The review app's state and frame loop. Panels draw from the state and push [`Command`]s;
//! the commands run at the end of the frame, so no panel mutates what another is drawing.

mod command;
mod jobs;
mod prefs;
mod scoring;
#[cfg(test)]
mod tests;
mod view;

pub use super::command::Command;
pub use prefs::Prefs;
pub use view::{FileStatus, FileView, ItemKey, MarkDraft, TOP_MOMENTS, threshold_text};

use super::dialogs::{DialogResult, Dialogs};
use super::player::{Player, SPEEDS};
use super::recent::RecentFiles;
use super::timeline::TimelineView;
use crate::base::now_utc;
use crate::case::audit::{self, AuditAction, AuditEvent};
use crate::case::{
    Case, ExportJob, ExportSigner, KeyError, Mark, MarkKind, ScoresContext, Settings, SpanRequest,
    VerifyReport,
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
    /// The signing key exports are signed with ([`crate::case::ExportSigner`]); None: exports
    /// are unsigned (tests).
    pub signing_key: Option<PathBuf>,
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
    /// Where the installation's signing key is (None: exports unsigned, tests).
    signing_key: Option<PathBuf>,
    /// The key, once read: read again at each export until then, so that a key made or
    /// mended while the app runs is used without a restart.
    signer: Option<Arc<ExportSigner>>,
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
            signing_key: config.signing_key.clone(),
            signer: None,
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
        match config.signing_key.as_deref().map(ExportSigner::load) {
            Some(Ok(key)) => app.signer = Some(Arc::new(key)),
            Some(Err(KeyError::Missing(_))) => app.notices.push(
                "Exports are not signed: this installation has no signing key (make one with `vigil key init`).".into(),
            ),
            Some(Err(e)) => app.errors.push(format!(
                "exports are refused until the signing key is mended: {e}"
            )),
            None => {}
        }
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

    pub(in crate::gui) fn error(&mut self, message: String) {
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

    /// The native dialogs' answers (they run on helper threads), as commands.
    pub(in crate::gui) fn poll_dialogs(&mut self) {
        for r in self.dialogs.poll() {
            self.pending.push(match r {
                DialogResult::Footage(paths) => Command::OpenFiles(paths),
                DialogResult::Case(p) => Command::OpenCase(p),
                DialogResult::SaveCase(p) => Command::SaveCaseTo(p),
                DialogResult::Annotations(p) => Command::ExportAnnotationsTo(p),
            });
        }
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
}
