//! `vigil key`: this installation's signing key for evidence exports.

use crate::EXIT_OTHER;
use crate::cli::{KeyAction, KeyArgs, KeyFileArgs};
use vigil::case::{ExportSigner, KeyError};

pub(crate) fn key(args: &KeyArgs) -> u8 {
    let (made, file) = match &args.action {
        KeyAction::Init(f) => (true, f),
        KeyAction::Show(f) => (false, f),
    };
    let got = key_path(file).and_then(|path| {
        if made {
            ExportSigner::create(&path)
        } else {
            ExportSigner::load(&path)
        }
    });
    match got {
        Ok(k) => {
            if made {
                outln!("made a signing key: {}", k.path().display());
            } else {
                outln!("signing key: {}", k.path().display());
            }
            outln!("fingerprint: {}", k.fingerprint());
            outln!("public key: {}", k.public_key_hex());
            if made {
                outln!(
                    "every export is signed with it from now on; keep the fingerprint where it cannot be changed (the case notes, a printout): `vigil verify --expect-key` checks exports against it"
                );
            }
            0
        }
        Err(e) => {
            eprintln!("vigil: error: {e}");
            EXIT_OTHER
        }
    }
}

/// The key file asked for, or the installation's.
pub(crate) fn key_path(file: &KeyFileArgs) -> Result<std::path::PathBuf, KeyError> {
    match &file.key {
        Some(p) => Ok(p.clone()),
        None => ExportSigner::default_path(),
    }
}

/// The key an export is signed with: the one named (which must exist), else the
/// installation's when it has one. `Ok(None)`: there is none, and the export is unsigned.
pub(crate) fn export_signer(
    file: &KeyFileArgs,
) -> Result<Option<std::sync::Arc<ExportSigner>>, KeyError> {
    let path = match key_path(file) {
        Ok(p) => p,
        // No home folder, so no installation key (the app exports unsigned then too).
        Err(KeyError::NoHome) if file.key.is_none() => return Ok(None),
        Err(e) => return Err(e),
    };
    match ExportSigner::load(&path) {
        Ok(k) => Ok(Some(std::sync::Arc::new(k))),
        Err(KeyError::Missing(_)) if file.key.is_none() => Ok(None),
        Err(e) => Err(e),
    }
}
