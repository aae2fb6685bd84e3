#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Signed exports on real footage: the key is made once with mode 0600 and refused when open,
//! an export is signed and its report names the key, and a consistently forged export (a clip
//! edited, manifest.json, report.html and SHA256SUMS rewritten to match, which the hashes alone
//! let through) is caught by the signature; a forger's own signature is caught by the expected
//! key.

mod common;

use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXIT_VERIFY: i32 = 5;

/// `vigil` with its data folder (where the key lives) in `data`.
fn vigil_with(data: &Path, cache: &Path) -> Command {
    let mut c = vigil(cache);
    c.env("XDG_DATA_HOME", data);
    c
}

fn key_file(data: &Path) -> PathBuf {
    data.join("vigil/signing-key.json")
}

fn fingerprint_of(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("fingerprint: "))
        .unwrap_or_else(|| panic!("no fingerprint line in {text}"))
        .trim()
        .to_string()
}

fn sha256_hex(bytes: &[u8]) -> String {
    vigil::case::sha256_bytes(bytes)
}

#[test]
fn the_key_is_made_once_private_and_refused_when_others_may_read_it() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let cache = dir.path().join("cache");
    let o = run(vigil_with(&data, &cache).args(["key", "init"]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fpr = fingerprint_of(&o);
    assert_eq!(fpr.replace(' ', "").len(), 40, "{fpr}");
    let file = key_file(&data);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the private key is the owner's only");
    let before = std::fs::read(&file).unwrap();

    let o = run(vigil_with(&data, &cache).args(["key", "init"]));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("already exists") && err.contains(&fpr),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert_eq!(std::fs::read(&file).unwrap(), before, "never replaced");

    let o = run(vigil_with(&data, &cache).args(["key", "show"]));
    assert!(o.status.success());
    assert_eq!(fingerprint_of(&o), fpr);

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(vigil_with(&data, &cache).args(["key", "show"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("chmod 600"));
    // An export with an open key is refused rather than signed with it or left unsigned.
    let o = run(vigil_with(&data, &cache)
        .args(["export", "--from", "3", "--to", "4", "-o"])
        .arg(dir.path().join("e"))
        .arg(footage("car-detection.mp4")));
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("chmod 600"));
    assert!(!dir.path().join("e").exists());
}

#[test]
fn a_consistently_forged_export_is_caught_by_its_signature() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let cache = dir.path().join("cache");
    let fpr = fingerprint_of(&run(vigil_with(&data, &cache).args(["key", "init"])));
    let d = dir.path().join("e");
    let o = run(vigil_with(&data, &cache)
        .args(["export", "--json", "--from", "3", "--to", "6", "-o"])
        .arg(&d)
        .arg(footage("car-detection.mp4")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["signer"]["fingerprint"], fpr.as_str());
    assert!(d.join("SIGNATURE.json").is_file());
    let report = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(report.contains(&fpr), "the report names the key");

    let verify =
        |p: &Path, extra: &[&str]| run(vigil_with(&data, &cache).arg("verify").arg(p).args(extra));
    let o = verify(&d, &["--expect-key", &fpr]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("signed by {fpr}")));

    // A signature removed while the manifest still names its key is missed.
    let sig = std::fs::read(d.join("SIGNATURE.json")).unwrap();
    std::fs::remove_file(d.join("SIGNATURE.json")).unwrap();
    let o = verify(&d, &[]);
    assert_eq!(o.status.code(), Some(EXIT_VERIFY));
    assert!(String::from_utf8_lossy(&o.stdout).contains("SIGNATURE.json: MISSING"));
    std::fs::write(d.join("SIGNATURE.json"), &sig).unwrap();

    // The forgery: one byte of the clip changed, and every file that states its hash
    // rewritten to match. Without the signature it would pass.
    let clip = d.join(m["clips"][0]["file"].as_str().unwrap());
    let old = m["clips"][0]["sha256"].as_str().unwrap().to_string();
    let mut bytes = std::fs::read(&clip).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&clip, &bytes).unwrap();
    let new = sha256_hex(&bytes);
    for name in ["manifest.json", "report.html"] {
        let t = std::fs::read_to_string(d.join(name)).unwrap();
        std::fs::write(d.join(name), t.replace(&old, &new)).unwrap();
    }
    let rewrite_sums = |d: &Path| {
        let sums: String = std::fs::read_to_string(d.join("SHA256SUMS"))
            .unwrap()
            .lines()
            .map(|l| {
                let name = &l[66..];
                format!(
                    "{}  {name}\n",
                    sha256_hex(&std::fs::read(d.join(name)).unwrap())
                )
            })
            .collect();
        std::fs::write(d.join("SHA256SUMS"), sums).unwrap();
    };
    rewrite_sums(&d);
    let unsigned = dir.path().join("unsigned");
    std::fs::create_dir(&unsigned).unwrap();
    for e in std::fs::read_dir(&d).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_owned();
        if name != "SIGNATURE.json" {
            std::fs::copy(&p, unsigned.join(name)).unwrap();
        }
    }
    let t = std::fs::read_to_string(unsigned.join("manifest.json")).unwrap();
    let mut mv: Value = serde_json::from_str(&t).unwrap();
    mv.as_object_mut().unwrap().remove("signer");
    std::fs::write(
        unsigned.join("manifest.json"),
        serde_json::to_vec_pretty(&mv).unwrap(),
    )
    .unwrap();
    rewrite_sums(&unsigned);
    let o = verify(&unsigned, &[]);
    assert!(
        o.status.success(),
        "the hashes alone let the forgery through: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("not signed"));
    let o = verify(&unsigned, &["--expect-key", &fpr]);
    assert_eq!(
        o.status.code(),
        Some(EXIT_VERIFY),
        "unsigned, but a key was expected"
    );

    let o = verify(&d, &[]);
    assert_eq!(o.status.code(), Some(EXIT_VERIFY));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("CHANGED since it was signed"), "{text}");

    // The forger signs with a key of their own: the manifest still names the real key.
    let forger = vigil::case::ExportSigner::create(&dir.path().join("forger.json")).unwrap();
    let resign = |d: &Path| {
        let sig = forger.sign(
            &std::fs::read(d.join("manifest.json")).unwrap(),
            &std::fs::read(d.join("SHA256SUMS")).unwrap(),
        );
        std::fs::write(
            d.join("SIGNATURE.json"),
            serde_json::to_vec_pretty(&sig).unwrap(),
        )
        .unwrap();
    };
    resign(&d);
    let o = verify(&d, &[]);
    assert_eq!(o.status.code(), Some(EXIT_VERIFY));
    assert!(String::from_utf8_lossy(&o.stdout).contains("but manifest.json names key"));

    // And names their key in the manifest too: the signature is sound, the key is not the
    // one expected.
    let t = std::fs::read_to_string(d.join("manifest.json")).unwrap();
    std::fs::write(
        d.join("manifest.json"),
        t.replace(&fpr, forger.fingerprint()),
    )
    .unwrap();
    rewrite_sums(&d);
    resign(&d);
    let o = verify(&d, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(&format!("signed by {}", forger.fingerprint()))
            && text.contains("not this installation's key"),
        "{text}"
    );
    let o = verify(&d, &["--expect-key", &fpr]);
    assert_eq!(o.status.code(), Some(EXIT_VERIFY));
    assert!(String::from_utf8_lossy(&o.stdout).contains("not the expected key"));
}
