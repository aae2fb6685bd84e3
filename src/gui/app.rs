//! The review app's state and frame loop. Panels draw from the state and push [`Command`]s;
//! the commands run at the end of the frame, so no panel mutates what another is drawing.

use super::dialogs::{DialogResult, Dialogs};
use super::panels;
use super::player::{Player, SPEEDS};
use super::recent::RecentFiles;
use super::timeline::{TimelineAction, TimelineInput, TimelineView, timeline_ui};
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

/// Where a file is in its scoring.
#[derive(Debug, Clone, PartialEq)]
pub enum FileStatus {
    /// Waiting for the scorer.
    Queued,
    /// Being hashed.
    Hashing,
    /// Being scored.
    Scoring {
        /// Clips done.
        done: u64,
        /// Clips expected.
        estimate: u64,
        /// Footage seconds done.
        video_s: f64,
        /// Execution provider.
        provider: String,
        /// When scoring started, for the rate and ETA.
        started: Instant,
    },
    /// Scores are in.
    Ready,
    /// Could not be scored (plain words).
    Failed(String),
    /// Scoring was cancelled.
    Cancelled,
}

/// What an item of the case is: a file, and which of its video streams (`None`: FFmpeg's
/// pick). A multi-camera DVR export is one item per camera.
pub type ItemKey = (PathBuf, Option<usize>);

/// One file of the case as the app sees it.
pub struct FileView {
    /// The footage.
    pub path: PathBuf,
    /// Its video stream, for a file with several (see [`ItemKey`]).
    pub stream: Option<usize>,
    /// Scoring status.
    pub status: FileStatus,
    /// The scores, once in.
    pub report: Option<ScoreReport>,
    /// Clip spans of the report.
    pub spans: Vec<ClipSpan>,
    /// Clip starts, ends and scores, for the timeline.
    pub starts: Vec<f64>,
    /// See `starts`.
    pub ends: Vec<f64>,
    /// See `starts`.
    pub scores: Vec<f32>,
    /// Flagged spans under the current settings, highest first.
    pub peaks: Vec<Peak>,
    /// When nothing is flagged: the highest moments, best first ([`TOP_MOMENTS`]), so that
    /// the analyst still has somewhere to look first (what `vigil score` prints then).
    pub moments: Vec<Peak>,
    /// While scoring runs: where the provisional scores shown come from (`full pass`,
    /// `coarse pass`, `coarse scores`); None once the report is in.
    pub provisional: Option<&'static str>,
    /// The footage's length as the provisional scores give it.
    provisional_footage_s: Option<f64>,
}

/// Moments listed when nothing reaches the threshold.
pub const TOP_MOMENTS: usize = 5;

impl FileView {
    fn new(path: PathBuf, stream: Option<usize>) -> Self {
        Self {
            path,
            stream,
            status: FileStatus::Queued,
            report: None,
            spans: Vec::new(),
            starts: Vec::new(),
            ends: Vec::new(),
            scores: Vec::new(),
            peaks: Vec::new(),
            moments: Vec::new(),
            provisional: None,
            provisional_footage_s: None,
        }
    }

    /// File name for lists.
    pub fn name(&self) -> String {
        let name = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        // FFmpeg's pick is named by its number too once the file turns out to hold others.
        let shown = self.stream.or_else(|| {
            self.report
                .as_ref()
                .filter(|r| r.video.video_streams.len() > 1)
                .map(|r| r.video.stream)
        });
        match shown {
            Some(n) => format!("{name} · stream #{n}"),
            None => name,
        }
    }

    /// The item this view shows.
    pub fn key(&self) -> ItemKey {
        (self.path.clone(), self.stream)
    }

    /// How to open it.
    fn open_options(&self) -> crate::video::OpenOptions {
        crate::video::OpenOptions {
            stream: self.stream,
            fps: None,
        }
    }

    fn set_report(&mut self, report: ScoreReport) {
        self.spans = report
            .clips
            .iter()
            .map(|c| ClipSpan {
                index: c.index,
                start_s: c.start_s,
                end_s: c.end_s,
                start_frame: c.start_frame,
                end_frame: c.end_frame,
                padded_slots: c.padded_frames,
            })
            .collect();
        self.starts = report.clips.iter().map(|c| c.start_s).collect();
        self.ends = report.clips.iter().map(|c| c.end_s).collect();
        self.scores = report.clips.iter().map(|c| c.score).collect();
        self.report = Some(report);
        self.status = FileStatus::Ready;
        self.provisional = None;
        self.provisional_footage_s = None;
    }

    /// Shows scores that are still coming in (the report replaces them).
    fn set_provisional(&mut self, p: &Provisional) {
        if self.report.is_some() {
            return;
        }
        self.spans = p
            .clips
            .iter()
            .map(|&i| ClipSpan {
                index: i,
                start_s: i as f64 * p.clip_s,
                end_s: ((i + 1) as f64 * p.clip_s).min(p.footage_s),
                start_frame: 0,
                end_frame: 0,
                padded_slots: 0,
            })
            .collect();
        self.starts = self.spans.iter().map(|s| s.start_s).collect();
        self.ends = self.spans.iter().map(|s| s.end_s).collect();
        self.scores = p.scores.clone();
        self.provisional = Some(p.stage);
        self.provisional_footage_s = Some(p.footage_s);
    }

    /// Footage duration, once scored (or provisionally scored).
    pub fn duration_s(&self) -> Option<f64> {
        self.report
            .as_ref()
            .map(|r| r.video.duration_s)
            .or(self.provisional_footage_s)
    }
}

/// A mark being written in the mark dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkDraft {
    /// Incident or false alarm.
    pub kind: MarkKind,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Label (incident class).
    pub label: String,
    /// Note.
    pub note: String,
}

/// Everything the user can ask for. Panels return these; the app runs them after drawing.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Add footage to the case and score it.
    OpenFiles(Vec<PathBuf>),
    /// Show the native "open footage" dialog.
    OpenFilesDialog,
    /// Show the native "open case" dialog.
    OpenCaseDialog,
    /// Open a case file.
    OpenCase(PathBuf),
    /// Save the case (asks where the first time).
    SaveCase,
    /// Save the case under a new name.
    SaveCaseAs,
    /// Save to this path.
    SaveCaseTo(PathBuf),
    /// Ask where to write the UCF-Crime annotation file.
    ExportAnnotationsDialog,
    /// Write the annotation file here.
    ExportAnnotationsTo(PathBuf),
    /// Show this file.
    Select(usize),
    /// Move the cursor to this time.
    Seek(f64),
    /// Step this many frames.
    StepFrames(i64),
    /// Step this many seconds.
    StepSeconds(f64),
    /// Play or pause.
    TogglePlay,
    /// Pause.
    Pause,
    /// Playback speed.
    SetSpeed(f64),
    /// Next faster speed (playing if paused).
    Faster,
    /// Next slower speed; when paused, one second back.
    Slower,
    /// Go to the start of flagged span `i` (rank order).
    JumpToPeak(usize),
    /// Go to top moment `i` (rank order; listed when nothing is flagged).
    JumpToMoment(usize),
    /// The next flagged span after the cursor, in time.
    NextPeak,
    /// The previous flagged span before the cursor.
    PrevPeak,
    /// Flagging threshold.
    SetThreshold(f32),
    /// Merge gap, seconds.
    SetMergeGap(f64),
    /// Minimum span, seconds.
    SetMinSpan(f64),
    /// Cancel scoring: the file being scored and every file waiting.
    CancelScoring,
    /// Stop scoring after putting the file being scored back at the head of the queue (what
    /// it computed stays cached, so resuming costs nothing twice).
    PauseScoring,
    /// Go on with the queue.
    ResumeScoring,
    /// Move waiting file `file` one place earlier (`up`) or later in the queue.
    MoveInQueue {
        /// Index of the file in the case.
        file: usize,
        /// Earlier (true) or later.
        up: bool,
    },
    /// Queue file `i` again (after a cancel or a failure).
    Rescore(usize),
    /// Open the mark dialog for a new mark.
    BeginMark(MarkKind),
    /// Store the mark in the dialog.
    SaveMark,
    /// Close the mark dialog.
    DiscardMark,
    /// Delete mark `i` of the case.
    DeleteMark(usize),
    /// Zoom the timeline (factor < 1 zooms in).
    ZoomTimeline(f64),
    /// Show the whole footage on the timeline.
    FitTimeline,
    /// Forget error `i`.
    DismissError(usize),
    /// Show or hide the keyboard help.
    ToggleHelp,
    /// Close the window with the last verification's result.
    CloseVerification,
    /// Export flagged span `i` (rank order) of the shown file as evidence.
    ExportPeak(usize),
    /// Export mark `i` of the case as evidence.
    ExportMark(usize),
    /// Export every flagged span of the shown file into one folder.
    ExportAllFlagged,
    /// Show or hide the settings window.
    ToggleSettings,
    /// Save the settings being edited.
    SaveSettings,
    /// Re-hash the case's originals against their recorded SHA-256.
    VerifyCase,
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

    fn open_files(&mut self, paths: &[PathBuf]) {
        let mut first_new = None;
        for p in paths {
            let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            let i = self.case.add_file(&p);
            if i == self.files.len() {
                self.files.push(FileView::new(p.clone(), None));
                self.dirty = true;
                first_new.get_or_insert(i);
                self.queue_scoring(i);
                self.audit(
                    AuditAction::Opened,
                    serde_json::json!({ "path": p.display().to_string() }),
                );
            }
            self.recent.add(&p);
        }
        if let Some(i) = first_new.or(self.selected.is_none().then_some(0)) {
            self.select(i, 0.0);
        }
    }

    fn queue_scoring(&mut self, i: usize) {
        if self.scoring.is_none() {
            self.files[i].status = FileStatus::Failed("no model pack to score with".into());
            // The scorer hashes what it scores; without one the original is hashed all the
            // same, so that it can be marked and exported.
            self.queue_hash(i);
            return;
        }
        self.files[i].status = FileStatus::Queued;
        if !self.queue.contains(&i) && self.scoring_now.as_ref() != Some(&self.files[i].key()) {
            self.queue.push(i);
        }
        self.start_next();
    }

    fn queue_hash(&mut self, i: usize) {
        let key = self.files[i].key();
        if self.hashing.as_ref() != Some(&key) && !self.hash_waiting.contains(&key) {
            self.hash_waiting.push(key);
        }
        self.start_hash();
    }

    /// Hashes the next waiting original on a helper thread (the original is opened read-only).
    fn start_hash(&mut self) {
        if self.hashing.is_some() || self.hash_waiting.is_empty() {
            return;
        }
        let key = self.hash_waiting.remove(0);
        let (tx, wake) = (self.jobs_tx.clone(), Arc::clone(&self.wake));
        let job_key = key.clone();
        let spawned = std::thread::Builder::new()
            .name("vigil-hash".into())
            .spawn(move || {
                let sha256 = crate::base::sha256_file(&job_key.0).map_err(|e| e.to_string());
                if tx
                    .send(JobResult::Hashed {
                        key: job_key,
                        sha256,
                    })
                    .is_ok()
                {
                    wake();
                }
            });
        match spawned {
            Ok(_) => self.hashing = Some(key),
            Err(e) => self.error(format!("cannot start hashing {}: {e}", key.0.display())),
        }
    }

    fn hash_finished(&mut self, key: ItemKey, sha256: Result<String, String>) {
        self.hashing = None;
        match sha256 {
            Ok(sha) => {
                // The item may have left the case (another case was opened meanwhile).
                if let Some(i) = self.files.iter().position(|f| f.key() == key) {
                    self.case.files[i].sha256 = Some(sha);
                }
            }
            Err(e) => self.error(format!("{}: cannot hash: {e}", key.0.display())),
        }
        self.start_hash();
    }

    /// Hands the head of the queue to the scoring thread when it is free and not paused.
    fn start_next(&mut self) {
        if self.scoring_now.is_some() || self.scoring_paused || self.queue.is_empty() {
            return;
        }
        let i = self.queue.remove(0);
        let (path, stream) = self.files[i].key();
        match &self.scoring {
            Some(s) if s.score(path.clone(), stream, self.settings.cascade) => {
                self.scoring_now = Some((path, stream));
            }
            _ => {
                self.files[i].status = FileStatus::Failed("the scoring thread has stopped".into());
            }
        }
    }

    /// A file's scoring ended (done, failed or cancelled): the next one may start.
    fn scoring_ended(&mut self, key: &ItemKey) {
        if self.scoring_now.as_ref() == Some(key) {
            self.scoring_now = None;
        }
        if self.pausing.as_ref() == Some(key) {
            // It finished before the pause reached it.
            self.pausing = None;
        }
        self.start_next();
    }

    fn open_case(&mut self, path: &Path) {
        match Case::load(path) {
            Ok(case) => {
                self.player.close();
                // The old case's files stop: its queue is dropped and its file in scoring
                // cancelled (what it computed stays cached), as by a pause, so that the
                // same file in the new case goes first.
                self.queue.clear();
                self.hash_waiting.clear();
                self.pausing = self.scoring_now.clone();
                if let (Some(_), Some(s)) = (&self.scoring_now, &self.scoring) {
                    s.cancel();
                }
                self.files = case
                    .files
                    .iter()
                    .map(|f| FileView::new(f.path.clone(), f.stream))
                    .collect();
                let view = case.view.clone();
                self.case = case;
                self.case_path = Some(path.to_path_buf());
                self.dirty = false;
                for i in 0..self.files.len() {
                    self.queue_scoring(i);
                }
                if let Some(sel) = view.selected.filter(|&s| s < self.files.len()) {
                    self.select(sel, view.position_s);
                    if let Some((a, b)) = view.timeline {
                        self.timeline = TimelineView { x0: a, x1: b };
                    }
                }
                self.recent.add(path);
            }
            Err(e) => self.error(e.to_string()),
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

    /// Drains the scoring thread's events into the file list.
    pub fn poll_scoring(&mut self) {
        let Some(worker) = &self.scoring else { return };
        let mut events = Vec::new();
        while let Some(e) = worker.try_event() {
            events.push(e);
        }
        for e in events {
            let key: ItemKey = match &e {
                ScoreEvent::Progress { path, stream, .. }
                | ScoreEvent::Done { path, stream, .. }
                | ScoreEvent::Failed { path, stream, .. }
                | ScoreEvent::Cancelled { path, stream } => (path.clone(), *stream),
            };
            let ended = !matches!(e, ScoreEvent::Progress { .. });
            let Some(i) = self.files.iter().position(|f| f.key() == key) else {
                if ended {
                    self.scoring_ended(&key);
                }
                continue;
            };
            match e {
                ScoreEvent::Progress {
                    progress: Progress::Provisional(p),
                    ..
                } => {
                    let first = self.files[i].provisional.is_none();
                    self.files[i].set_provisional(&p);
                    if first && self.selected == Some(i) {
                        let d = self.files[i].duration_s().unwrap_or(1.0);
                        self.timeline = TimelineView::fit(d);
                    }
                    self.recompute_peaks();
                }
                ScoreEvent::Progress {
                    progress: Progress::Hashed { sha256 },
                    ..
                } => {
                    // Marks (bound to the hash) can be made from now on.
                    self.case.files[i].sha256 = Some(sha256);
                }
                ScoreEvent::Progress { progress, .. } => {
                    let f = &mut self.files[i];
                    f.status = match (progress, &f.status) {
                        (Progress::Hashing, _) => FileStatus::Hashing,
                        (
                            Progress::Started {
                                clips_estimate,
                                clips_cached,
                                provider,
                                ..
                            },
                            _,
                        ) => FileStatus::Scoring {
                            done: clips_cached,
                            estimate: clips_estimate,
                            video_s: 0.0,
                            provider: provider.short().to_string(),
                            started: Instant::now(),
                        },
                        (
                            Progress::Clips {
                                done,
                                estimate,
                                video_s,
                            },
                            FileStatus::Scoring {
                                provider, started, ..
                            },
                        ) => FileStatus::Scoring {
                            done,
                            estimate,
                            video_s,
                            provider: provider.clone(),
                            started: *started,
                        },
                        (
                            Progress::Clips { .. }
                            | Progress::Provisional(_)
                            | Progress::Hashed { .. },
                            s,
                        ) => s.clone(),
                    };
                }
                ScoreEvent::Done { report, .. } => {
                    let report = *report;
                    if let Some(note) = &report.device_note {
                        tracing::info!("{note}");
                    }
                    let case_file = &mut self.case.files[i];
                    case_file.sha256 = Some(report.video.sha256.clone());
                    case_file.frames = Some(report.video.frames);
                    case_file.scores_model = Some(format!(
                        "{} {}",
                        report.model.id, report.model.manifest_sha256
                    ));
                    for w in &report.video.warnings {
                        if w.starts_with(crate::pipeline::OTHER_STREAMS_WARNING) {
                            // Every stream is an item of the case (added below), so none
                            // is left unscored.
                            continue;
                        }
                        let msg = format!("{}: {w}", self.files[i].name());
                        self.error(msg);
                    }
                    if self.files[i].stream.is_none() {
                        self.add_other_streams(i, &report);
                    }
                    let path = self.files[i].path.display().to_string();
                    self.audit(
                        AuditAction::Hashed,
                        serde_json::json!({ "path": path, "sha256": report.video.sha256 }),
                    );
                    self.audit(
                        AuditAction::Scored,
                        serde_json::json!({
                            "path": path,
                            "sha256": report.video.sha256,
                            "model": report.model.id,
                            "model_manifest_sha256": report.model.manifest_sha256,
                            "device": report.device,
                            "clips": report.clips.len(),
                            "partial": report.video.partial,
                        }),
                    );
                    let f = &mut self.files[i];
                    f.set_report(report);
                    if self.selected == Some(i) {
                        let d = self.files[i].duration_s().unwrap_or(1.0);
                        if self.timeline.x1 <= 1.0 + 1e-9 || self.timeline.x1 > d {
                            self.timeline = TimelineView::fit(d);
                        }
                    }
                    self.recompute_peaks();
                }
                ScoreEvent::Failed { error, .. } => {
                    self.files[i].status = FileStatus::Failed(error.clone());
                    self.error(error);
                }
                ScoreEvent::Cancelled { .. } if self.pausing.as_ref() == Some(&key) => {
                    // Paused, not cancelled: first in line again.
                    self.pausing = None;
                    self.files[i].status = FileStatus::Queued;
                    self.queue.insert(0, i);
                }
                ScoreEvent::Cancelled { .. } => self.files[i].status = FileStatus::Cancelled,
            }
            if ended {
                self.scoring_ended(&key);
            }
        }
    }

    /// A file scored for FFmpeg's pick of its video streams holds others (a multi-camera DVR
    /// export): each becomes an item of its own, after it in the list, and is queued.
    fn add_other_streams(&mut self, i: usize, report: &ScoreReport) {
        let path = self.files[i].path.clone();
        let others: Vec<usize> = report
            .video
            .video_streams
            .iter()
            .copied()
            .filter(|&n| n != report.video.stream)
            .collect();
        for n in others {
            let at = self.case.add_stream(&path, Some(n));
            if at < self.files.len() {
                continue;
            }
            self.files.push(FileView::new(path.clone(), Some(n)));
            self.dirty = true;
            self.queue_scoring(at);
            self.audit(
                AuditAction::Opened,
                serde_json::json!({ "path": path.display().to_string(), "stream": n }),
            );
        }
    }

    fn execute(&mut self, c: Command) {
        match c {
            Command::OpenFiles(paths) => self.open_files(&paths),
            Command::OpenFilesDialog => self.dialogs.open_footage(),
            Command::OpenCaseDialog => self.dialogs.open_case(),
            Command::OpenCase(p) => self.open_case(&p),
            Command::SaveCase => match self.case_path.clone() {
                Some(p) => self.save_case(&p),
                None => self.dialogs.save_case(),
            },
            Command::SaveCaseAs => self.dialogs.save_case(),
            Command::SaveCaseTo(p) => self.save_case(&p),
            Command::ExportAnnotationsDialog => self.dialogs.export_annotations(),
            Command::ExportAnnotationsTo(p) => {
                let text = self.case.ucf_annotations();
                if let Err(e) = crate::base::write_atomic(&p, text.as_bytes()) {
                    self.error(format!("cannot write {}: {e}", p.display()));
                }
            }
            Command::Select(i) => {
                if self.selected != Some(i) {
                    self.select(i, 0.0);
                }
            }
            Command::Seek(t) => self.player.seek(t),
            Command::StepFrames(n) => self.player.step_frames(n),
            Command::StepSeconds(s) => {
                self.player.playing = false;
                let t = self.player.position_s + s;
                self.player.seek(t);
            }
            Command::TogglePlay => self.player.toggle_play(),
            Command::Pause => self.player.playing = false,
            Command::SetSpeed(s) => {
                self.player.speed = s.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1])
            }
            Command::Faster => {
                if self.player.playing {
                    let next = SPEEDS
                        .iter()
                        .copied()
                        .find(|&s| s > self.player.speed + 1e-9);
                    self.player.speed = next.unwrap_or(SPEEDS[SPEEDS.len() - 1]);
                } else {
                    self.player.toggle_play();
                }
            }
            Command::Slower => {
                if self.player.playing {
                    let prev = SPEEDS
                        .iter()
                        .rev()
                        .copied()
                        .find(|&s| s < self.player.speed - 1e-9);
                    self.player.speed = prev.unwrap_or(SPEEDS[0]);
                } else {
                    let t = self.player.position_s - 1.0;
                    self.player.seek(t);
                }
            }
            Command::JumpToPeak(i) | Command::JumpToMoment(i) => {
                let list = |f: &FileView| match c {
                    Command::JumpToPeak(_) => f.peaks.get(i).cloned(),
                    _ => f.moments.get(i).cloned(),
                };
                if let Some(p) = self.current().and_then(list) {
                    let t = p.start_s;
                    self.player.playing = false;
                    self.player.seek(t);
                    self.follow_cursor();
                }
            }
            Command::NextPeak | Command::PrevPeak => {
                let forward = c == Command::NextPeak;
                if let Some(t) = self.neighbour_peak(forward) {
                    self.player.playing = false;
                    self.player.seek(t);
                    self.follow_cursor();
                }
            }
            Command::SetThreshold(t) => {
                self.case.threshold = t.clamp(0.0, 1.0);
                self.dirty = true;
                self.recompute_peaks();
            }
            Command::SetMergeGap(g) => {
                self.case.merge_gap_s = g.max(0.0);
                self.dirty = true;
                self.recompute_peaks();
            }
            Command::SetMinSpan(m) => {
                self.case.min_span_s = m.max(0.0);
                self.dirty = true;
                self.recompute_peaks();
            }
            Command::CancelScoring => {
                for i in std::mem::take(&mut self.queue) {
                    self.files[i].status = FileStatus::Cancelled;
                }
                self.pausing = None;
                if let Some(s) = &self.scoring {
                    s.cancel();
                }
            }
            Command::PauseScoring => {
                self.scoring_paused = true;
                if let (Some(p), Some(s)) = (&self.scoring_now, &self.scoring) {
                    self.pausing = Some(p.clone());
                    s.cancel();
                }
            }
            Command::ResumeScoring => {
                self.scoring_paused = false;
                self.start_next();
            }
            Command::MoveInQueue { file, up } => {
                if let Some(pos) = self.queue.iter().position(|&q| q == file) {
                    let to = if up {
                        pos.checked_sub(1)
                    } else {
                        Some(pos + 1).filter(|&t| t < self.queue.len())
                    };
                    if let Some(to) = to {
                        self.queue.swap(pos, to);
                    }
                }
            }
            Command::Rescore(i) => {
                if i < self.files.len()
                    && matches!(
                        self.files[i].status,
                        FileStatus::Cancelled | FileStatus::Failed(_)
                    )
                {
                    self.queue_scoring(i);
                }
            }
            Command::BeginMark(kind) => self.begin_mark(kind),
            Command::SaveMark => self.save_mark(),
            Command::DiscardMark => self.mark_draft = None,
            Command::DeleteMark(i) => {
                if i < self.case.marks.len() {
                    let m = self.case.marks.remove(i);
                    self.audit(
                        AuditAction::Marked,
                        serde_json::json!({ "deleted": serde_json::to_value(&m).unwrap_or_default() }),
                    );
                    self.dirty = true;
                }
            }
            Command::ExportPeak(i) => self.export_peaks(Some(i)),
            Command::ExportAllFlagged => self.export_peaks(None),
            Command::ExportMark(i) => self.export_mark(i),
            Command::ToggleSettings => {
                self.settings_draft = match self.settings_draft {
                    Some(_) => None,
                    None => Some(self.settings.clone()),
                };
            }
            Command::SaveSettings => {
                if let Some(s) = self.settings_draft.take() {
                    self.settings = s;
                    if self.settings_persist
                        && let Err(e) = self.settings.save()
                    {
                        self.error(format!("cannot save the settings: {e}"));
                    }
                }
            }
            Command::VerifyCase => self.verify_case(),
            Command::ZoomTimeline(f) => {
                if let Some(d) = self.current().and_then(FileView::duration_s) {
                    let center = self.player.position_s;
                    self.timeline.zoom(f, center, d);
                }
            }
            Command::FitTimeline => {
                if let Some(d) = self.current().and_then(FileView::duration_s) {
                    self.timeline = TimelineView::fit(d);
                }
            }
            Command::DismissError(i) => {
                if i < self.errors.len() {
                    self.errors.remove(i);
                }
            }
            Command::ToggleHelp => self.show_help = !self.show_help,
            Command::CloseVerification => self.last_verify = None,
        }
    }

    fn follow_cursor(&mut self) {
        if let Some(d) = self.current().and_then(FileView::duration_s) {
            let t = self.player.position_s;
            self.timeline.follow(t, d);
        }
    }

    /// Start of the flagged span after (or before) the cursor, in time order.
    fn neighbour_peak(&self, forward: bool) -> Option<f64> {
        let f = self.current()?;
        let t = self.player.position_s;
        let mut starts: Vec<f64> = f.peaks.iter().map(|p| p.start_s).collect();
        starts.sort_by(f64::total_cmp);
        if forward {
            starts.into_iter().find(|&s| s > t + 1e-3)
        } else {
            starts.into_iter().rev().find(|&s| s < t - 1e-3)
        }
    }

    fn begin_mark(&mut self, kind: MarkKind) {
        let Some(f) = self.current() else { return };
        let t = self.player.position_s;
        let (start_s, end_s) = f
            .peaks
            .iter()
            .find(|p| p.start_s <= t + 1e-6 && t <= p.end_s)
            .map_or_else(
                || {
                    (
                        (t - 2.0).max(0.0),
                        (t + 2.0).min(f.duration_s().unwrap_or(t + 2.0)),
                    )
                },
                |p| (p.start_s, p.end_s),
            );
        self.mark_draft = Some(MarkDraft {
            kind,
            start_s,
            end_s,
            label: String::new(),
            note: String::new(),
        });
    }

    fn save_mark(&mut self) {
        let Some(draft) = self.mark_draft.take() else {
            return;
        };
        let Some(i) = self.selected else { return };
        let Some(sha) = self.case.files.get(i).and_then(|f| f.sha256.clone()) else {
            self.error(
                "a mark needs the file's SHA-256, which is computed when its scoring starts; move it to the front of the queue or wait"
                    .into(),
            );
            self.mark_draft = Some(draft);
            return;
        };
        let (a, b) = if draft.start_s <= draft.end_s {
            (draft.start_s, draft.end_s)
        } else {
            (draft.end_s, draft.start_s)
        };
        let Some(info) = &self.player.info else {
            // Frame numbers come from the preview's frame table; without it a mark would
            // record wrong frames.
            self.error(
                "the footage is still being indexed; save the mark again in a moment".into(),
            );
            self.mark_draft = Some(draft);
            return;
        };
        let (start_frame, end_frame) = (info.frame_at(a), info.frame_at((b - 1e-6).max(a)));
        let mark = Mark {
            file_sha256: sha,
            start_s: a,
            end_s: b,
            stream: self.files.get(i).and_then(|f| f.stream),
            start_frame,
            end_frame,
            kind: draft.kind,
            label: draft.label.trim().to_string(),
            note: draft.note.trim().to_string(),
            created_utc: now_utc(),
        };
        self.audit(
            AuditAction::Marked,
            serde_json::json!({ "added": serde_json::to_value(&mark).unwrap_or_default() }),
        );
        self.case.marks.push(mark);
        self.dirty = true;
    }

    fn save_case(&mut self, path: &Path) {
        self.case.view.selected = self.selected;
        self.case.view.position_s = self.player.position_s;
        self.case.view.timeline = Some((self.timeline.x0, self.timeline.x1));
        match self.case.save(path) {
            Ok(()) => {
                self.case_path = Some(path.to_path_buf());
                self.dirty = false;
                self.recent.add(path);
                self.flush_audit();
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Records an event in the case's audit log (held in memory until the case has a file).
    fn audit(&mut self, action: AuditAction, details: serde_json::Value) {
        self.record(AuditEvent::now(action, details));
    }

    fn record(&mut self, event: AuditEvent) {
        self.pending_audit.push(event);
        self.flush_audit();
    }

    fn flush_audit(&mut self) {
        let Some(case) = &self.case_path else { return };
        let log = audit::audit_path_for(case);
        match audit::append(&log, &self.pending_audit) {
            Ok(()) => self.pending_audit.clear(),
            Err(e) => {
                let msg = format!("cannot append to the audit log {}: {e}", log.display());
                self.error(msg);
            }
        }
    }

    /// Where exports go: the settings' folder, else `exports/` beside the case file, else
    /// `~/vigil-exports`.
    fn export_root(&self) -> PathBuf {
        if let Some(d) = &self.settings.export_dir {
            return d.clone();
        }
        if let Some(parent) = self.case_path.as_ref().and_then(|p| p.parent()) {
            return parent.join("exports");
        }
        directories::UserDirs::new()
            .map_or_else(|| PathBuf::from("."), |u| u.home_dir().to_path_buf())
            .join("vigil-exports")
    }

    /// Exports flagged span `rank` (or all of them) of the shown file.
    fn export_peaks(&mut self, rank: Option<usize>) {
        let Some(f) = self.current() else { return };
        let n = f.peaks.len();
        let threshold = crate::gui::panels::threshold_text(self.case.threshold);
        let provisional = match (&f.report, f.provisional) {
            (None, Some(stage)) => format!(", provisional: {stage}"),
            _ => String::new(),
        };
        let spans: Vec<SpanRequest> = f
            .peaks
            .iter()
            .enumerate()
            .filter(|(r, _)| rank.is_none_or(|k| k == *r))
            .map(|(r, p)| SpanRequest {
                from_s: p.start_s,
                to_s: p.end_s,
                reason: format!(
                    "flagged span {} of {n} (score ≥ {threshold}{provisional})",
                    r + 1
                ),
                note: None,
                peak_score: Some(p.score),
                peak_s: Some(p.peak_s),
            })
            .collect();
        let label = match rank {
            Some(r) => format!("span{}", r + 1),
            None => "flagged".to_string(),
        };
        self.start_export(spans, &label);
    }

    fn export_mark(&mut self, i: usize) {
        let Some(m) = self.case.marks.get(i).cloned() else {
            return;
        };
        let Some(fi) = self.case.files.iter().position(|f| {
            f.sha256.as_deref() == Some(m.file_sha256.as_str()) && f.stream == m.stream
        }) else {
            self.error("the footage of this mark is not in the case".into());
            return;
        };
        if self.selected != Some(fi) {
            self.select(fi, m.start_s);
        }
        let label = if m.label.is_empty() {
            String::new()
        } else {
            format!(" '{}'", m.label)
        };
        let span = SpanRequest {
            from_s: m.start_s,
            to_s: m.end_s,
            reason: format!("mark: {}{label}, made {}", m.kind.label(), m.created_utc),
            note: (!m.note.is_empty()).then(|| m.note.clone()),
            // The export reads the peak off the scores it is given.
            peak_score: None,
            peak_s: None,
        };
        self.start_export(vec![span], &format!("mark{}", i + 1));
    }

    fn start_export(&mut self, spans: Vec<SpanRequest>, label: &str) {
        if spans.is_empty() {
            self.error("nothing to export: no flagged spans at this threshold".into());
            return;
        }
        let Some(f) = self.current() else { return };
        // The scores behind the export: the final ones, or while scoring runs the
        // provisional ones (the manifest says so), or none yet (a mark on queued footage).
        let model = match (&f.report, f.provisional) {
            (Some(r), _) => Some((r.model.id.clone(), r.model.manifest_sha256.clone(), None)),
            (None, Some(stage)) => self
                .pack_model
                .clone()
                .map(|(id, sha)| (id, sha, Some(stage.to_string()))),
            (None, None) => None,
        };
        let stem = f.path.file_stem().map_or_else(
            || "footage".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let stamp: String = now_utc()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let job = ExportJob {
            source: f.path.clone(),
            spans,
            out_dir: self.export_root().join(format!("{stem}-{label}-{stamp}")),
            analyst: self.settings.analyst.clone(),
            case: self.case_path.clone(),
            scores: model.map(|(model_id, manifest_sha256, provisional)| ScoresContext {
                model_id,
                manifest_sha256,
                threshold: self.case.threshold,
                clips: f
                    .starts
                    .iter()
                    .zip(&f.ends)
                    .zip(&f.scores)
                    .map(|((&a, &b), &s)| (a, b, s))
                    .collect(),
                provisional,
                findings: f.report.as_ref().map(|r| crate::case::Findings {
                    gaps: r.video.gaps.clone(),
                    damaged: r.video.damaged.clone(),
                }),
            }),
            exact: false,
            throttle: std::time::Duration::ZERO,
            open: f.open_options(),
        };
        let (tx, wake) = (self.jobs_tx.clone(), Arc::clone(&self.wake));
        let spawned = std::thread::Builder::new()
            .name("vigil-export".into())
            .spawn(move || {
                let r = crate::case::export_evidence(&job).map_err(|e| e.to_string());
                if tx.send(JobResult::Exported(Box::new(r))).is_ok() {
                    wake();
                }
            });
        match spawned {
            Ok(_) => self.exports_running += 1,
            Err(e) => self.error(format!("cannot start the export: {e}")),
        }
    }

    fn verify_case(&mut self) {
        let case = self.case.clone();
        let (tx, wake) = (self.jobs_tx.clone(), Arc::clone(&self.wake));
        let spawned = std::thread::Builder::new()
            .name("vigil-verify".into())
            .spawn(move || {
                let r = crate::case::verify_case(&case);
                if tx.send(JobResult::Verified(r)).is_ok() {
                    wake();
                }
            });
        if let Err(e) = spawned {
            self.error(format!("cannot start the verification: {e}"));
        }
    }

    /// Drains finished exports, verifications and hashes.
    pub fn poll_jobs(&mut self) {
        let results: Vec<JobResult> = self.jobs_rx.try_iter().collect();
        for r in results {
            match r {
                JobResult::Exported(done) => self.export_finished(*done),
                JobResult::Verified(report) => self.verify_finished(report),
                JobResult::Hashed { key, sha256 } => self.hash_finished(key, sha256),
            }
        }
    }

    fn export_finished(&mut self, done: Result<crate::case::ExportOutcome, String>) {
        self.exports_running = self.exports_running.saturating_sub(1);
        let out = match done {
            Ok(out) => out,
            Err(e) => {
                self.error(format!("export failed: {e}"));
                return;
            }
        };
        let m = &out.manifest;
        self.notices.push(format!(
            "Exported {} clip{} to {}",
            m.clips.len(),
            if m.clips.len() == 1 { "" } else { "s" },
            out.dir.display()
        ));
        self.record(audit::exported(&out));
    }

    fn verify_finished(&mut self, report: VerifyReport) {
        self.notices.push(format!(
            "Verification {}: {} original(s) match, {} problem(s)",
            if report.passed() { "passed" } else { "FAILED" },
            report.ok.len(),
            report.problems.len()
        ));
        self.record(audit::verified("case originals", &report));
        self.last_verify = Some(report);
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
            panels::help_ui(&ctx, &mut commands);
        }
        if self.mark_draft.is_some() {
            panels::mark_dialog_ui(&ctx, self, &mut commands);
        }
        if self.settings_draft.is_some() {
            panels::settings_ui(&ctx, self, &mut commands);
        }
        if self.last_verify.is_some() {
            panels::verify_ui(&ctx, self, &mut commands);
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

/// Preferences kept by eframe between runs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Prefs {
    /// Playback speed.
    pub speed: f64,
    /// The case open at the last exit, reopened when vigil starts without arguments.
    pub last_case: Option<PathBuf>,
}

const PREFS_KEY: &str = "vigil-prefs";

impl VigilApp {
    /// Applies preferences saved by an earlier run. `reopen` reopens the last case (when vigil
    /// was started with nothing to open).
    pub fn restore(&mut self, storage: &dyn eframe::Storage, reopen: bool) {
        let Some(prefs) = eframe::get_value::<Prefs>(storage, PREFS_KEY) else {
            return;
        };
        self.player.speed = prefs.speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
        if reopen
            && self.files.is_empty()
            && let Some(case) = prefs.last_case.filter(|p| p.exists())
        {
            self.open_case(&case);
        }
    }

    /// The per-user autosave file, `~/.local/share/vigil/autosave.vigil.json`.
    pub fn default_autosave_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "vigil")
            .map(|d| d.data_dir().join("autosave.vigil.json"))
    }

    /// Saves unsaved marks and settings: to the case file when there is one, else to the
    /// autosave file, so that closing the window never loses an analyst's work.
    pub fn save_on_exit(&mut self) {
        if !self.dirty {
            return;
        }
        let target = self
            .case_path
            .clone()
            .or_else(|| self.autosave_path.clone());
        if let Some(p) = target {
            if let Some(dir) = p.parent()
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                tracing::warn!("cannot create {}: {e}", dir.display());
                return;
            }
            self.save_case(&p);
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
