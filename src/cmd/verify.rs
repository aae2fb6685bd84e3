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
    let (report, case_path) = match &target {
        VerifyTarget::ExportDir(d) => (vigil::case::verify_export_dir(d), args.case.clone()),
        VerifyTarget::Case(p) => match Case::load(p) {
            Ok(case) => (vigil::case::verify_case(&case), Some(p.clone())),
            Err(e) => {
                eprintln!("vigil: error: {e}");
                return EXIT_FOOTAGE;
            }
        },
    };
    for ok in &report.ok {
        outln!("OK       {ok}");
    }
    for p in &report.problems {
        outln!("PROBLEM  {p}");
    }
    let verdict = if report.passed() { "passed" } else { "FAILED" };
    outln!(
        "verification {verdict}: {} file(s) match, {} problem(s)",
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
