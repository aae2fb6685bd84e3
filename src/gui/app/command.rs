//! How the app carries out a [`Command`] at the end of the frame: playback, the peak rule,
//! the queue, marks, settings, the case file.

use super::*;

impl VigilApp {
    /// Carries out one command at the end of the frame. Each arm is one call or a line: the
    /// work lives in the methods below (playback, peaks, the queue, marks, settings) and in
    /// `scoring.rs` and `jobs.rs`.
    pub(super) fn execute(&mut self, c: Command) {
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
            Command::ExportAnnotationsTo(p) => self.export_annotations_to(&p),
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
            Command::Faster => self.faster(),
            Command::Slower => self.slower(),
            Command::JumpToPeak(i) => {
                let t = self
                    .current()
                    .and_then(|f| f.peaks.get(i))
                    .map(|p| p.start_s);
                self.jump_to(t);
            }
            Command::JumpToMoment(i) => {
                let t = self
                    .current()
                    .and_then(|f| f.moments.get(i))
                    .map(|p| p.start_s);
                self.jump_to(t);
            }
            Command::NextPeak => self.jump_to(self.neighbour_peak(true)),
            Command::PrevPeak => self.jump_to(self.neighbour_peak(false)),
            Command::SetThreshold(t) => self.set_peak_rule(|c| c.threshold = t.clamp(0.0, 1.0)),
            Command::SetMergeGap(g) => self.set_peak_rule(|c| c.merge_gap_s = g.max(0.0)),
            Command::SetMinSpan(m) => self.set_peak_rule(|c| c.min_span_s = m.max(0.0)),
            Command::CancelScoring => self.cancel_scoring(),
            Command::PauseScoring => self.pause_scoring(),
            Command::ResumeScoring => {
                self.scoring_paused = false;
                self.start_next();
            }
            Command::MoveInQueue { file, up } => self.move_in_queue(file, up),
            Command::Rescore(i) => self.rescore(i),
            Command::BeginMark(kind) => self.begin_mark(kind),
            Command::SaveMark => self.save_mark(),
            Command::DiscardMark => self.mark_draft = None,
            Command::DeleteMark(i) => self.delete_mark(i),
            Command::ExportPeak(i) => self.export_peaks(Some(i)),
            Command::ExportAllFlagged => self.export_peaks(None),
            Command::ExportMark(i) => self.export_mark(i),
            Command::ToggleSettings => {
                self.settings_draft = match self.settings_draft {
                    Some(_) => None,
                    None => Some(self.settings.clone()),
                };
            }
            Command::SaveSettings => self.save_settings(),
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

    /// Writes the case's marks as UCF-Crime annotation lines (atomically).
    fn export_annotations_to(&mut self, p: &Path) {
        let text = self.case.ucf_annotations();
        if let Err(e) = crate::base::write_atomic(p, text.as_bytes()) {
            self.error(format!("cannot write {}: {e}", p.display()));
        }
    }

    /// Playing: the next speed up. Paused: play.
    fn faster(&mut self) {
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

    /// Playing: the next speed down. Paused: one second back.
    fn slower(&mut self) {
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

    /// Pauses at `t` (when there is one) and keeps the cursor in view.
    fn jump_to(&mut self, t: Option<f64>) {
        if let Some(t) = t {
            self.player.playing = false;
            self.player.seek(t);
            self.follow_cursor();
        }
    }

    /// Changes how flagged spans are drawn from the scores (threshold, merge gap, shortest
    /// span); the case is saved with it, and every file's spans follow.
    fn set_peak_rule(&mut self, change: impl FnOnce(&mut crate::case::Case)) {
        change(&mut self.case);
        self.dirty = true;
        self.recompute_peaks();
    }

    /// Deletes mark `i`; the audit log keeps what it was.
    fn delete_mark(&mut self, i: usize) {
        if i < self.case.marks.len() {
            let m = self.case.marks.remove(i);
            self.audit(
                AuditAction::Marked,
                serde_json::json!({ "deleted": serde_json::to_value(&m).unwrap_or_default() }),
            );
            self.dirty = true;
        }
    }

    /// Takes the settings being edited; saved to disk unless this app runs without a home
    /// for them (tests).
    fn save_settings(&mut self) {
        if let Some(s) = self.settings_draft.take() {
            self.settings = s;
            if self.settings_persist
                && let Err(e) = self.settings.save()
            {
                self.error(format!("cannot save the settings: {e}"));
            }
        }
    }

    pub(super) fn follow_cursor(&mut self) {
        if let Some(d) = self.current().and_then(FileView::duration_s) {
            let t = self.player.position_s;
            self.timeline.follow(t, d);
        }
    }

    /// Start of the flagged span after (or before) the cursor, in time order.
    pub(super) fn neighbour_peak(&self, forward: bool) -> Option<f64> {
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

    pub(super) fn begin_mark(&mut self, kind: MarkKind) {
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

    pub(super) fn save_mark(&mut self) {
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

    pub(super) fn save_case(&mut self, path: &Path) {
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
}
