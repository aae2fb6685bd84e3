//! The scoring queue and the files of the case: opening footage and cases, handing files to
//! the scoring thread one at a time, and taking in its progress, provisional and final scores;
//! hashing originals when there is no scorer.

use super::*;

impl VigilApp {
    pub(super) fn open_files(&mut self, paths: &[PathBuf]) {
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

    pub(super) fn queue_scoring(&mut self, i: usize) {
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

    pub(super) fn queue_hash(&mut self, i: usize) {
        let key = self.files[i].key();
        if self.hashing.as_ref() != Some(&key) && !self.hash_waiting.contains(&key) {
            self.hash_waiting.push(key);
        }
        self.start_hash();
    }

    /// Hashes the next waiting original on a helper thread (the original is opened read-only).
    pub(super) fn start_hash(&mut self) {
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

    pub(super) fn hash_finished(&mut self, key: ItemKey, sha256: Result<String, String>) {
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
    pub(super) fn start_next(&mut self) {
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
    pub(super) fn scoring_ended(&mut self, key: &ItemKey) {
        if self.scoring_now.as_ref() == Some(key) {
            self.scoring_now = None;
        }
        if self.pausing.as_ref() == Some(key) {
            // It finished before the pause reached it.
            self.pausing = None;
        }
        self.start_next();
    }

    pub(super) fn open_case(&mut self, path: &Path) {
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

    /// Stops scoring: the file being scored and every queued one are cancelled.
    pub(super) fn cancel_scoring(&mut self) {
        for i in std::mem::take(&mut self.queue) {
            self.files[i].status = FileStatus::Cancelled;
        }
        self.pausing = None;
        if let Some(s) = &self.scoring {
            s.cancel();
        }
    }

    /// Pauses the queue: the file being scored stops and goes back to the front of it (its
    /// features so far stay in the cache, so resuming loses nothing).
    pub(super) fn pause_scoring(&mut self) {
        self.scoring_paused = true;
        if let (Some(p), Some(s)) = (&self.scoring_now, &self.scoring) {
            self.pausing = Some(p.clone());
            s.cancel();
        }
    }

    /// Moves a queued file one place up or down the queue.
    pub(super) fn move_in_queue(&mut self, file: usize, up: bool) {
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

    /// Queues a cancelled or failed file again.
    pub(super) fn rescore(&mut self, i: usize) {
        if i < self.files.len()
            && matches!(
                self.files[i].status,
                FileStatus::Cancelled | FileStatus::Failed(_)
            )
        {
            self.queue_scoring(i);
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
            // A file closed while it was scored has no item any more: only its end counts.
            if let Some(i) = self.files.iter().position(|f| f.key() == key) {
                self.on_score_event(i, &key, e);
            }
            if ended {
                self.scoring_ended(&key);
            }
        }
    }

    /// One event of the scoring thread about item `i`.
    fn on_score_event(&mut self, i: usize, key: &ItemKey, e: ScoreEvent) {
        match e {
            ScoreEvent::Progress {
                progress: Progress::Provisional(p),
                ..
            } => self.on_provisional(i, &p),
            ScoreEvent::Progress {
                progress: Progress::Hashed { sha256 },
                ..
            } => {
                // Marks (bound to the hash) can be made from now on.
                self.case.files[i].sha256 = Some(sha256);
            }
            ScoreEvent::Progress { progress, .. } => {
                let f = &mut self.files[i];
                f.status = f.status.after(progress);
            }
            ScoreEvent::Done { report, .. } => self.on_scored(i, *report),
            ScoreEvent::Failed { error, .. } => {
                self.files[i].status = FileStatus::Failed(error.clone());
                self.error(error);
            }
            ScoreEvent::Cancelled { .. } if self.pausing.as_ref() == Some(key) => {
                // Paused, not cancelled: first in line again.
                self.pausing = None;
                self.files[i].status = FileStatus::Queued;
                self.queue.insert(0, i);
            }
            ScoreEvent::Cancelled { .. } => self.files[i].status = FileStatus::Cancelled,
        }
    }

    /// Provisional scores for item `i`: the timeline shows them (fitted to the footage the
    /// first time), and its peaks follow.
    fn on_provisional(&mut self, i: usize, p: &Provisional) {
        let first = self.files[i].provisional.is_none();
        self.files[i].set_provisional(p);
        if first && self.selected == Some(i) {
            let d = self.files[i].duration_s().unwrap_or(1.0);
            self.timeline = TimelineView::fit(d);
        }
        self.recompute_peaks();
    }

    /// Item `i` is scored: the case records its hash, frames and model, the report's warnings
    /// become notices, the file's other video streams join the case, and the audit log says
    /// it was hashed and scored.
    fn on_scored(&mut self, i: usize, report: ScoreReport) {
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
                // Every stream is an item of the case (added below), so none is left
                // unscored.
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
        self.files[i].set_report(report);
        if self.selected == Some(i) {
            let d = self.files[i].duration_s().unwrap_or(1.0);
            if self.timeline.x1 <= 1.0 + 1e-9 || self.timeline.x1 > d {
                self.timeline = TimelineView::fit(d);
            }
        }
        self.recompute_peaks();
    }

    /// A file scored for FFmpeg's pick of its video streams holds others (a multi-camera DVR
    /// export): each becomes an item of its own, after it in the list, and is queued.
    pub(super) fn add_other_streams(&mut self, i: usize, report: &ScoreReport) {
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
}
