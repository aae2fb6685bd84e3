//! Evidence keeping: content hashes, atomic writes, and the case file (footage under review,
//! marks, settings, view).
//!
//! Owns how bytes reach the disk (never half-written under a final name) and how originals are
//! fingerprinted (read-only, streamed SHA-256). Must not draw anything or know about models.

mod atomic;
mod file;
mod hash;

pub use atomic::{write_atomic, write_atomic_with};
pub use file::{CASE_VERSION, Case, CaseError, CaseFile, CaseView, Mark, MarkKind};
pub use hash::{sha256_bytes, sha256_file};

/// The current time in UTC as RFC 3339 (`2026-11-29T10:06:13Z`), for records that must say
/// when something happened.
pub fn now_utc() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
