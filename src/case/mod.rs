//! Evidence keeping: content hashes and atomic writes.
//!
//! Owns how bytes reach the disk (never half-written under a final name) and how originals are
//! fingerprinted (read-only, streamed SHA-256). Must not draw anything or know about models.

mod atomic;
mod hash;

pub use atomic::{write_atomic, write_atomic_with};
pub use hash::{sha256_bytes, sha256_file};
