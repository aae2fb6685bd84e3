//! Signed exports: a per-installation Ed25519 key signs each export's `manifest.json` and
//! `SHA256SUMS`, so that whoever edits a clip and rewrites both files to match is still caught
//! (the hashes alone only catch an edit that leaves them as they were).
//!
//! The cryptography is ed25519-dalek's; this file keeps the key and the signature's format. The
//! key lives in vigil's data folder (`$XDG_DATA_HOME/vigil/signing-key.json`), written once with
//! mode 0600 and refused when others may read it, as ssh refuses an open private key. A
//! signature names the public key it was made with, so any copy of vigil can check it; whether
//! the key is the one expected is a separate question (`vigil verify --expect-key`), because a
//! forger can sign a forged folder with a key of their own.

use crate::base::{now_utc, sha256_bytes};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The signature's file in an export folder (not listed in `SHA256SUMS`, which it signs).
pub const SIGNATURE_FILE: &str = "SIGNATURE.json";

/// Bytes of the public key's SHA-256 that make its fingerprint: 160 bits, as OpenPGP's
/// fingerprints, and short enough that no reader takes it for a file's SHA-256.
const FINGERPRINT_BYTES: usize = 20;

/// Why the signing key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// There is no key yet.
    #[error("no signing key at {0} (make one with `vigil key init`)")]
    Missing(PathBuf),
    /// `vigil key init` found one: a key is an identity and is never replaced.
    #[error(
        "a signing key already exists at {path} (fingerprint {fingerprint}); vigil never replaces one, since exports it signed name it: move it away yourself to make a new one"
    )]
    Exists {
        /// The key file.
        path: PathBuf,
        /// Its fingerprint.
        fingerprint: String,
    },
    /// The key file may be read by others.
    #[error(
        "{path}: others may read this private key (mode {mode:o}); make it private with `chmod 600 {path}`"
    )]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a key vigil wrote.
    #[error("{path}: not a vigil signing key ({why})")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// No home folder to keep the key in.
    #[error("no folder for the signing key: set HOME or XDG_DATA_HOME, or give --key FILE")]
    NoHome,
}

/// The key file's contents.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    version: u32,
    algorithm: String,
    created_utc: String,
    /// The 32-byte secret, hex.
    secret: String,
    /// The public key, hex (checked against the secret on load).
    public_key: String,
}

const KEY_FORMAT: &str = "vigil-signing-key";

impl KeyFile {
    /// Reads and parses a key file vigil wrote (its permissions are the caller's question).
    fn read(path: &Path) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => KeyError::Missing(path.to_path_buf()),
            _ => KeyError::Io {
                path: path.to_path_buf(),
                source,
            },
        })?;
        let invalid = |why: String| KeyError::Invalid {
            path: path.to_path_buf(),
            why,
        };
        let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if file.format != KEY_FORMAT || file.version != 1 || file.algorithm != "ed25519" {
            return Err(invalid(format!(
                "{} version {} ({})",
                file.format, file.version, file.algorithm
            )));
        }
        Ok(file)
    }
}

/// This installation's signing key. `Debug` shows the fingerprint only.
pub struct ExportSigner {
    key: SigningKey,
    fingerprint: String,
    path: PathBuf,
}

impl std::fmt::Debug for ExportSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportSigner")
            .field("fingerprint", &self.fingerprint)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A public key's fingerprint: the first 20 bytes of its SHA-256, hex, in groups of four
/// (`3f2a 9c01 …`), as people read them out to each other.
pub fn fingerprint(public_key: &[u8; 32]) -> String {
    let hex = sha256_bytes(public_key);
    groups_of_four(&hex[..FINGERPRINT_BYTES * 2])
}

/// Exactly `N` bytes written as hex, or None.
fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    hex::decode(text).ok().and_then(|b| b.try_into().ok())
}

/// `3f2a9c01…` as `3f2a 9c01 …` (ASCII hex only).
fn groups_of_four(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A fingerprint as typed (spaces, colons, either case) in the form vigil prints.
pub fn normalise_fingerprint(typed: &str) -> Option<String> {
    let hex: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == FINGERPRINT_BYTES * 2 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| groups_of_four(&hex))
}

impl ExportSigner {
    /// Where the key lives unless one is named: vigil's data folder.
    pub fn default_path() -> Result<PathBuf, KeyError> {
        directories::ProjectDirs::from("", "", "vigil")
            .map(|d| d.data_dir().join("signing-key.json"))
            .ok_or(KeyError::NoHome)
    }

    /// Makes a new key at `path` (mode 0600, written atomically). Never replaces one.
    pub fn create(path: &Path) -> Result<Self, KeyError> {
        if path.exists() {
            let fingerprint =
                Self::load(path).map_or_else(|e| format!("unreadable: {e}"), |k| k.fingerprint);
            return Err(KeyError::Exists {
                path: path.to_path_buf(),
                fingerprint,
            });
        }
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| KeyError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("no random numbers from the system: {e}")),
        })?;
        let key = SigningKey::from_bytes(&secret);
        let file = KeyFile {
            format: KEY_FORMAT.into(),
            version: 1,
            algorithm: "ed25519".into(),
            created_utc: now_utc(),
            secret: hex::encode(secret),
            public_key: hex::encode(key.verifying_key().to_bytes()),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| KeyError::Invalid {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        write_private(path, &json)?;
        Ok(Self::from_key(key, path))
    }

    /// Reads the key at `path`; refused when others may read the file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        use std::os::unix::fs::PermissionsExt as _;
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing(path.to_path_buf()));
            }
            Err(e) => return Err(io(e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
        let file = KeyFile::read(path)?;
        let invalid = |why: String| KeyError::Invalid {
            path: path.to_path_buf(),
            why,
        };
        let secret: [u8; 32] = hex_array(&file.secret)
            .ok_or_else(|| invalid("the secret is not 32 bytes of hex".into()))?;
        let key = SigningKey::from_bytes(&secret);
        if hex::encode(key.verifying_key().to_bytes()) != file.public_key {
            return Err(invalid(
                "the public key does not belong to the secret".into(),
            ));
        }
        Ok(Self::from_key(key, path))
    }

    /// The fingerprint of the key at `path`, read from its public half only (verifying an
    /// export never needs the secret, nor a key file private enough to sign with).
    pub fn fingerprint_at(path: &Path) -> Result<String, KeyError> {
        let file = KeyFile::read(path)?;
        let public: [u8; 32] = hex_array(&file.public_key).ok_or_else(|| KeyError::Invalid {
            path: path.to_path_buf(),
            why: "the public key is not 32 bytes of hex".into(),
        })?;
        Ok(fingerprint(&public))
    }

    fn from_key(key: SigningKey, path: &Path) -> Self {
        Self {
            fingerprint: fingerprint(&key.verifying_key().to_bytes()),
            key,
            path: path.to_path_buf(),
        }
    }

    /// The public key's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The public key, hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Who signs, as the manifest records it.
    pub fn record(&self) -> SignerRecord {
        SignerRecord {
            algorithm: "ed25519".into(),
            fingerprint: self.fingerprint.clone(),
        }
    }

    /// Signs an export folder's `manifest.json` and `SHA256SUMS` (their bytes as written).
    pub fn sign(&self, manifest: &[u8], sums: &[u8]) -> ExportSignature {
        let manifest_sha256 = sha256_bytes(manifest);
        let sums_sha256 = sha256_bytes(sums);
        let signature = self.key.sign(&message(&manifest_sha256, &sums_sha256));
        ExportSignature {
            format: SIGNATURE_FORMAT.into(),
            version: 1,
            algorithm: "ed25519".into(),
            public_key: self.public_key_hex(),
            fingerprint: self.fingerprint.clone(),
            manifest_sha256,
            sha256sums_sha256: sums_sha256,
            signature: hex::encode(signature.to_bytes()),
        }
    }
}

/// Who signed an export, as its manifest (and so its report) records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignerRecord {
    /// `ed25519`.
    pub algorithm: String,
    /// The public key's fingerprint ([`fingerprint`]).
    pub fingerprint: String,
}

const SIGNATURE_FORMAT: &str = "vigil-export-signature";

/// `SIGNATURE.json`: the signature over the two files' SHA-256, and the key that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSignature {
    /// `vigil-export-signature`.
    pub format: String,
    /// 1.
    pub version: u32,
    /// `ed25519`.
    pub algorithm: String,
    /// The public key, hex.
    pub public_key: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// SHA-256 of `manifest.json` as signed.
    pub manifest_sha256: String,
    /// SHA-256 of `SHA256SUMS` as signed.
    pub sha256sums_sha256: String,
    /// The Ed25519 signature of [`message`], hex.
    pub signature: String,
}

/// What is signed: a line naming the format and the two hashes, so that a signature can never
/// be taken for one over other bytes.
fn message(manifest_sha256: &str, sums_sha256: &str) -> Vec<u8> {
    format!(
        "vigil-export-signature v1\nmanifest.json {manifest_sha256}\nSHA256SUMS {sums_sha256}\n"
    )
    .into_bytes()
}

/// Checks `SIGNATURE.json` against the folder's `manifest.json` and `SHA256SUMS` as they are
/// now. `Ok(None)`: the folder is not signed. `Ok(Some(sig))`: the signature is valid (for
/// `sig.fingerprint`'s key). `Err`: one sentence on what is wrong.
pub fn check_export_signature(dir: &Path) -> Result<Option<ExportSignature>, String> {
    let path = dir.join(SIGNATURE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{SIGNATURE_FILE}: cannot read: {e}")),
    };
    let sig: ExportSignature = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{SIGNATURE_FILE}: not a vigil export signature ({e})"))?;
    if sig.format != SIGNATURE_FORMAT || sig.version != 1 || sig.algorithm != "ed25519" {
        return Err(format!(
            "{SIGNATURE_FILE}: unknown signature {} version {} ({})",
            sig.format, sig.version, sig.algorithm
        ));
    }
    let public: [u8; 32] = hex_array(&sig.public_key)
        .ok_or_else(|| format!("{SIGNATURE_FILE}: the public key is not 32 bytes of hex"))?;
    if fingerprint(&public) != sig.fingerprint {
        return Err(format!(
            "{SIGNATURE_FILE}: the fingerprint {} is not the public key's ({})",
            sig.fingerprint,
            fingerprint(&public)
        ));
    }
    let key = VerifyingKey::from_bytes(&public)
        .map_err(|e| format!("{SIGNATURE_FILE}: not an Ed25519 public key ({e})"))?;
    let signature: [u8; 64] = hex_array(&sig.signature)
        .ok_or_else(|| format!("{SIGNATURE_FILE}: the signature is not 64 bytes of hex"))?;
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .map(|b| sha256_bytes(&b))
            .map_err(|e| format!("{name}: cannot read: {e}"))
    };
    let (manifest_now, sums_now) = (read("manifest.json")?, read("SHA256SUMS")?);
    // The signature covers the hashes it names; the files must still have them.
    key.verify_strict(
        &message(&sig.manifest_sha256, &sig.sha256sums_sha256),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| {
        format!(
            "{SIGNATURE_FILE}: BAD SIGNATURE (not made by key {} over the hashes it names)",
            sig.fingerprint
        )
    })?;
    if manifest_now != sig.manifest_sha256 {
        return Err(format!(
            "manifest.json: CHANGED since it was signed (SHA-256 {manifest_now}, signed {})",
            sig.manifest_sha256
        ));
    }
    if sums_now != sig.sha256sums_sha256 {
        return Err(format!(
            "SHA256SUMS: CHANGED since it was signed (SHA-256 {sums_now}, signed {})",
            sig.sha256sums_sha256
        ));
    }
    Ok(Some(sig))
}

/// Writes `bytes` to `path` readable by its owner only: a temporary file of its own (a unique
/// name in the same folder, mode 0600), fsynced, then hard-linked to `path`, which fails when a
/// key is there already (so none is ever replaced, even by two `vigil key init` at once), then
/// the folder fsynced.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write as _;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir).map_err(io)?;
    // tempfile makes its files with mode 0600 on Unix, and removes this one when it drops.
    let mut tmp = tempfile::Builder::new()
        .prefix(".signing-key.")
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    std::fs::hard_link(tmp.path(), path).map_err(io)?;
    if let Ok(d) = std::fs::File::open(&dir) {
        d.sync_all().map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_folder(dir: &Path, key: &ExportSigner) {
        std::fs::write(dir.join("manifest.json"), b"{\"clips\": []}\n").unwrap();
        std::fs::write(dir.join("SHA256SUMS"), b"00  manifest.json\n").unwrap();
        let sig = key.sign(
            &std::fs::read(dir.join("manifest.json")).unwrap(),
            &std::fs::read(dir.join("SHA256SUMS")).unwrap(),
        );
        std::fs::write(
            dir.join(SIGNATURE_FILE),
            serde_json::to_vec_pretty(&sig).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn a_signature_holds_until_a_signed_file_or_the_signature_changes() {
        let dir = tempfile::tempdir().unwrap();
        let key = ExportSigner::create(&dir.path().join("key.json")).unwrap();
        let folder = dir.path().join("export");
        std::fs::create_dir(&folder).unwrap();
        signed_folder(&folder, &key);
        let sig = check_export_signature(&folder).unwrap().unwrap();
        assert_eq!(sig.fingerprint, key.fingerprint());

        // The manifest edited: the signature no longer covers it.
        std::fs::write(folder.join("manifest.json"), b"{\"clips\": [1]}\n").unwrap();
        let e = check_export_signature(&folder).unwrap_err();
        assert!(e.contains("manifest.json: CHANGED"), "{e}");

        // And the signature file edited to name the new hash: the signature is not over it.
        let mut forged = sig.clone();
        forged.manifest_sha256 = sha256_bytes(b"{\"clips\": [1]}\n");
        std::fs::write(
            folder.join(SIGNATURE_FILE),
            serde_json::to_vec(&forged).unwrap(),
        )
        .unwrap();
        let e = check_export_signature(&folder).unwrap_err();
        assert!(e.contains("BAD SIGNATURE"), "{e}");

        // Another key put in the signature file, the old signature kept: bad as well.
        let other = ExportSigner::create(&dir.path().join("other.json")).unwrap();
        let mut swapped = sig;
        swapped.public_key = other.public_key_hex();
        swapped.fingerprint = other.fingerprint().to_string();
        std::fs::write(
            folder.join(SIGNATURE_FILE),
            serde_json::to_vec(&swapped).unwrap(),
        )
        .unwrap();
        std::fs::write(folder.join("manifest.json"), b"{\"clips\": []}\n").unwrap();
        let e = check_export_signature(&folder).unwrap_err();
        assert!(e.contains("BAD SIGNATURE"), "{e}");

        std::fs::remove_file(folder.join(SIGNATURE_FILE)).unwrap();
        assert_eq!(check_export_signature(&folder), Ok(None), "unsigned");
    }

    #[test]
    fn a_key_survives_a_reload_and_a_damaged_one_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/folder/key.json");
        let key = ExportSigner::create(&path).unwrap();
        let again = ExportSigner::load(&path).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert_eq!(again.public_key_hex(), key.public_key_hex());
        assert!(matches!(
            ExportSigner::create(&path),
            Err(KeyError::Exists { .. })
        ));

        let text = std::fs::read_to_string(&path).unwrap();
        let pk = key.public_key_hex();
        let first = if pk.starts_with('0') { "1" } else { "0" };
        let damaged = text.replace(&pk, &format!("{first}{}", &pk[1..]));
        std::fs::write(&path, damaged).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = ExportSigner::load(&path).unwrap_err();
        assert!(matches!(e, KeyError::Invalid { .. }), "{e}");

        assert!(matches!(
            ExportSigner::load(&dir.path().join("none.json")),
            Err(KeyError::Missing(_))
        ));
    }

    #[test]
    fn fingerprints_are_read_as_people_type_them() {
        let fp = fingerprint(&[7u8; 32]);
        assert_eq!(fp.len(), 40 + 9, "ten groups of four: {fp}");
        assert_eq!(
            normalise_fingerprint(&fp.replace(' ', "").to_uppercase()),
            Some(fp.clone())
        );
        assert_eq!(normalise_fingerprint(&fp.replace(' ', ":")), Some(fp));
        assert_eq!(normalise_fingerprint("af6b 1be3"), None);
        assert_eq!(normalise_fingerprint(&"g".repeat(40)), None);
    }
}
