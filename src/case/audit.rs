//! The append-only audit log of a case: one JSON object per line, never rewritten.
//!
//! Every line says what happened (opened, hashed, scored, marked, exported, verified), when
//! (UTC) and with which version of vigil. Lines are appended with `O_APPEND` and fsynced one by
//! one, so a crash loses at most the line being written and never touches earlier ones.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Footage was added to the case.
    Opened,
    /// An original was hashed.
    Hashed,
    /// Footage was scored.
    Scored,
    /// A mark was made or deleted.
    Marked,
    /// Evidence was exported.
    Exported,
    /// An export or the case was verified.
    Verified,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When, UTC (RFC 3339).
    pub utc: String,
    /// vigil version.
    pub tool_version: String,
    /// What.
    pub action: AuditAction,
    /// Details (paths, hashes, model, device, result …).
    pub details: serde_json::Value,
}

impl AuditEvent {
    /// An event happening now.
    pub fn now(action: AuditAction, details: serde_json::Value) -> Self {
        Self {
            utc: crate::base::now_utc(),
            tool_version: crate::TOOL_VERSION.to_string(),
            action,
            details,
        }
    }
}

/// The record of a finished export: the same whoever made it, the command line or the app.
pub fn exported(out: &crate::case::ExportOutcome) -> AuditEvent {
    let m = &out.manifest;
    let clips: Vec<serde_json::Value> = m
        .clips
        .iter()
        .map(|c| {
            serde_json::json!({
                "file": c.file, "sha256": c.sha256,
                "from_s": c.shown.from_s, "to_s": c.shown.to_s,
            })
        })
        .collect();
    AuditEvent::now(
        AuditAction::Exported,
        serde_json::json!({
            "source": m.source.path,
            "source_sha256": m.source.sha256,
            "folder": out.dir.display().to_string(),
            "clips": clips,
            "signed_by": m.signer.as_ref().map(|s| &s.fingerprint),
        }),
    )
}

/// The record of a verification of `target` (an export folder, a case file, or the case's
/// originals as the app checks them).
pub fn verified(target: &str, report: &crate::case::VerifyReport) -> AuditEvent {
    AuditEvent::now(
        AuditAction::Verified,
        serde_json::json!({
            "target": target,
            "passed": report.passed(),
            "problems": report.problems,
            "signed_by": report.signed_by,
        }),
    )
}

/// The log file beside a case file: `case.vigil.json` → `case.vigil.json.audit.jsonl`.
pub fn audit_path_for(case_path: &Path) -> PathBuf {
    let mut name = case_path.as_os_str().to_os_string();
    name.push(".audit.jsonl");
    PathBuf::from(name)
}

/// Appends `events` to the log at `path` (created if missing).
pub fn append(path: &Path, events: &[AuditEvent]) -> std::io::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    for e in events {
        let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
        line.push(b'\n');
        f.write_all(&line)?;
        f.sync_data()?;
    }
    Ok(())
}

/// Reads a log back (for verification and tests).
pub fn read(path: &Path) -> std::io::Result<Vec<AuditEvent>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(std::io::Error::other))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_never_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        let case = dir.path().join("c.vigil.json");
        let log = audit_path_for(&case);
        assert!(log.to_string_lossy().ends_with("c.vigil.json.audit.jsonl"));
        append(
            &log,
            &[AuditEvent::now(
                AuditAction::Opened,
                serde_json::json!({"path": "/a.mp4"}),
            )],
        )
        .unwrap();
        let first = std::fs::read(&log).unwrap();
        append(
            &log,
            &[AuditEvent::now(
                AuditAction::Hashed,
                serde_json::json!({"sha256": "ab"}),
            )],
        )
        .unwrap();
        let both = std::fs::read(&log).unwrap();
        assert!(both.starts_with(&first), "earlier lines stay byte for byte");
        let events = read(&log).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].action, AuditAction::Hashed);
        assert_eq!(events[0].tool_version, crate::TOOL_VERSION);
    }
}
