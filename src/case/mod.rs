//! Evidence keeping: the case file (footage under review, marks, settings, view) and its
//! append-only audit log, lossless evidence exports with their manifest, checksums and report,
//! and verification.
//!
//! Owns what an evidence folder and a case file hold. The hashes and atomic writes it relies on
//! are `base`'s (every module writes files the same way); the signatures ed25519-dalek's. Must
//! not draw anything or run models: of scoring it reads only a finished `pipeline::ScoreReport`,
//! to record its scores in an export.

pub mod audit;
pub mod evidence;
mod file;
mod frames;
mod manifest;
mod report;
mod settings;
mod signing;
pub mod verify;

/// The hashes evidence is fingerprinted with (defined in `base`, under every module).
pub use crate::base::{sha256_bytes, sha256_file};
pub use evidence::{
    ExportError, ExportJob, ExportManifest, ExportOutcome, Findings, ScoresContext, SpanRequest,
    export_evidence,
};
pub use file::{CASE_VERSION, Case, CaseError, CaseFile, CaseView, Mark, MarkKind};
pub use frames::verify_frames;
pub use settings::Settings;
pub use signing::{
    ExportSignature, ExportSigner, KeyError, SIGNATURE_FILE, SignerRecord, check_export_signature,
    fingerprint, normalise_fingerprint,
};
pub use verify::{VerifyReport, VerifyTarget, verify_case, verify_export_dir};
