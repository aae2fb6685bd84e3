//! Evidence keeping: content hashes, atomic writes, the case file (footage under review, marks,
//! settings, view) and its append-only audit log, lossless evidence exports with their manifest,
//! checksums and report, and verification.
//!
//! Owns how bytes reach the disk (never half-written under a final name) and how originals are
//! fingerprinted (read-only, streamed SHA-256). Must not draw anything or know about models.

mod atomic;
pub mod audit;
pub mod evidence;
mod file;
mod hash;
mod report;
mod settings;
pub mod verify;

pub use atomic::{write_atomic, write_atomic_with};
pub use evidence::{
    ExportError, ExportJob, ExportManifest, ExportOutcome, Findings, ScoresContext, SpanRequest,
    export_evidence,
};
pub use file::{CASE_VERSION, Case, CaseError, CaseFile, CaseView, Mark, MarkKind};
pub use hash::{sha256_bytes, sha256_file};
pub use settings::Settings;
pub use verify::{VerifyReport, VerifyTarget, verify_case, verify_export_dir};

/// The current time in UTC as RFC 3339 (`2026-11-29T10:06:13Z`), for records that must say
/// when something happened.
pub fn now_utc() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
