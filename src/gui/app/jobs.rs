//! Background jobs other than scoring: evidence exports, case verification, their audit
//! records, and the hashes made without a scorer.

use super::*;

impl VigilApp {
    /// Records an event in the case's audit log (held in memory until the case has a file).
    pub(super) fn audit(&mut self, action: AuditAction, details: serde_json::Value) {
        self.record(AuditEvent::now(action, details));
    }

    pub(super) fn record(&mut self, event: AuditEvent) {
        self.pending_audit.push(event);
        self.flush_audit();
    }

    pub(super) fn flush_audit(&mut self) {
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
    pub(super) fn export_root(&self) -> PathBuf {
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
    pub(super) fn export_peaks(&mut self, rank: Option<usize>) {
        let Some(f) = self.current() else { return };
        let n = f.peaks.len();
        let threshold = threshold_text(self.case.threshold);
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

    pub(super) fn export_mark(&mut self, i: usize) {
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

    pub(super) fn start_export(&mut self, spans: Vec<SpanRequest>, label: &str) {
        // A key that cannot be used refuses the export, never leaves it unsigned in its place
        // (as on the command line).
        let signer = match self.export_signer() {
            Ok(s) => s,
            Err(e) => {
                self.error(format!("no export: the signing key cannot be used: {e}"));
                return;
            }
        };
        if spans.is_empty() {
            self.error("nothing to export: no flagged spans at this threshold".into());
            return;
        }
        let Some(f) = self.current() else { return };
        // The scores behind the export: the final ones, or while scoring runs the
        // provisional ones (the manifest says so), or none yet (a mark on queued footage).
        let scores = match (&f.report, f.provisional) {
            (Some(r), _) => Some(ScoresContext::of_report(r, self.case.threshold)),
            (None, Some(stage)) => {
                self.pack_model
                    .clone()
                    .map(|(model_id, manifest_sha256)| ScoresContext {
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
                        provisional: Some(stage.to_string()),
                        // No full decode has finished: its findings are not known yet.
                        findings: None,
                    })
            }
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
            scores,
            exact: false,
            throttle: std::time::Duration::ZERO,
            open: f.open_options(),
            signer,
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

    /// The key exports are signed with: the one read before, else the installation's read now
    /// (`None` when there is none: the export is unsigned and says so).
    fn export_signer(&mut self) -> Result<Option<Arc<ExportSigner>>, crate::case::KeyError> {
        if let Some(s) = &self.signer {
            return Ok(Some(Arc::clone(s)));
        }
        let Some(path) = &self.signing_key else {
            return Ok(None);
        };
        match ExportSigner::load(path) {
            Ok(k) => {
                let k = Arc::new(k);
                self.signer = Some(Arc::clone(&k));
                Ok(Some(k))
            }
            Err(crate::case::KeyError::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) fn verify_case(&mut self) {
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

    pub(super) fn export_finished(&mut self, done: Result<crate::case::ExportOutcome, String>) {
        self.exports_running = self.exports_running.saturating_sub(1);
        let out = match done {
            Ok(out) => out,
            Err(e) => {
                self.error(format!("export failed: {e}"));
                return;
            }
        };
        let m = &out.manifest;
        let signed = m.signer.as_ref().map_or_else(
            || "not signed".to_string(),
            |s| format!("signed by key {}", s.fingerprint),
        );
        self.notices.push(format!(
            "Exported {} clip{}, {signed}, to {}",
            m.clips.len(),
            if m.clips.len() == 1 { "" } else { "s" },
            out.dir.display()
        ));
        self.record(audit::exported(&out));
    }

    pub(super) fn verify_finished(&mut self, report: VerifyReport) {
        self.notices.push(format!(
            "Verification {}: {} original(s) match, {} problem(s)",
            if report.passed() { "passed" } else { "FAILED" },
            report.ok.len(),
            report.problems.len()
        ));
        self.record(audit::verified("case originals", &report));
        self.last_verify = Some(report);
    }
}
