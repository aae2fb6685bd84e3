//! `vigil verify`: an export folder or a case's originals against their recorded hashes.

use crate::cli::*;
use crate::{EXIT_FOOTAGE, EXIT_OTHER, EXIT_VERIFY};

pub(crate) fn verify(args: &VerifyArgs) -> u8 {
    use vigil::case::audit::{self};
    use vigil::case::{Case, VerifyTarget, verify::classify};
    let target = match classify(&args.path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vigil: error: {e}");
            return EXIT_FOOTAGE;
        }
    };
    if args.expect_key.is_some() && matches!(target, VerifyTarget::Case(_)) {
        eprintln!(
            "vigil: error: --expect-key checks an export folder's signature; a case's originals are checked against their recorded SHA-256 and carry none"
        );
        return 2;
    }
    if args.frames && matches!(target, VerifyTarget::Case(_)) {
        eprintln!(
            "vigil: error: --frames checks an export folder's frame hashes; a case's originals are checked against their recorded SHA-256"
        );
        return 2;
    }
    let (mut report, case_path) = match &target {
        VerifyTarget::ExportDir(d) => (vigil::case::verify_export_dir(d), args.case.clone()),
        VerifyTarget::Case(p) => match Case::load(p) {
            Ok(case) => (vigil::case::verify_case(&case), Some(p.clone())),
            Err(e) => {
                eprintln!("vigil: error: {e}");
                return EXIT_FOOTAGE;
            }
        },
    };
    if let VerifyTarget::ExportDir(d) = &target {
        signature_lines(&mut report, args.expect_key.as_deref());
        if args.frames {
            vigil::case::verify_frames(d, args.source.as_deref(), &mut report);
        }
    }
    for ok in &report.ok {
        outln!("OK       {ok}");
    }
    for p in &report.problems {
        outln!("PROBLEM  {p}");
    }
    for n in &report.notes {
        outln!("NOTE     {n}");
    }
    let verdict = if report.passed() { "passed" } else { "FAILED" };
    outln!(
        "verification {verdict}: {} check(s) match, {} problem(s)",
        report.ok.len(),
        report.problems.len()
    );
    if let Some(case) = case_path {
        let event = audit::verified(&args.path.display().to_string(), &report);
        if let Err(e) = audit::append(&audit::audit_path_for(&case), &[event]) {
            eprintln!(
                "vigil: error: cannot append to the audit log of {}: {e}",
                case.display()
            );
            return EXIT_OTHER;
        }
    }
    if report.passed() { 0 } else { EXIT_VERIFY }
}

/// Says who signed an export folder, and holds it to `--expect-key`: a valid signature only
/// proves the folder is as its key's holder left it, so the key itself must be the expected
/// one (or, without `--expect-key`, is compared with this installation's).
fn signature_lines(report: &mut vigil::case::VerifyReport, expected: Option<&str>) {
    let local = vigil::case::ExportSigner::default_path()
        .ok()
        .and_then(|p| vigil::case::ExportSigner::fingerprint_at(&p).ok());
    match (&report.signed_by, expected) {
        (Some(by), Some(want)) if by != want => report.problems.push(format!(
            "SIGNATURE.json: signed by {by}, not the expected key {want}"
        )),
        (Some(by), Some(_)) => outln!("signed by {by} (the expected key)"),
        (Some(by), None) => {
            let whose = match &local {
                Some(l) if l == by => "this installation's key",
                Some(_) => {
                    "not this installation's key; check its fingerprint with whoever made the export"
                }
                None => {
                    "this installation has no key to compare; check the fingerprint with whoever made the export"
                }
            };
            outln!("signed by {by} ({whose})");
        }
        (None, Some(want)) => report.problems.push(format!(
            "SIGNATURE.json: the export is not signed, and key {want} was expected"
        )),
        (None, None) => outln!("not signed (nothing proves who made this folder)"),
    }
}
