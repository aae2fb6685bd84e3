//! `vigil verify`: re-hash an export folder against its `SHA256SUMS`, or a case's originals
//! against the SHA-256 recorded in the case, and report every problem.

use super::Case;
use super::signing::{SIGNATURE_FILE, check_export_signature};
use crate::base::sha256_file;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    /// Files that matched.
    pub ok: Vec<String>,
    /// Problems, one sentence each.
    pub problems: Vec<String>,
    /// What was not checked, and why (not a failure), one sentence each.
    pub notes: Vec<String>,
    /// An export folder's signing key (fingerprint), when its signature is valid.
    pub signed_by: Option<String>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Parses `sha256sum` output lines: `HASH  NAME` (text mode) or `HASH *NAME` (binary mode).
fn parse_sums(text: &str) -> Result<Vec<(String, String)>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let (hash, rest) = l
                .split_once(' ')
                .ok_or_else(|| format!("SHA256SUMS line {}: not `HASH  NAME`", i + 1))?;
            let name = rest
                .strip_prefix(' ')
                .or_else(|| rest.strip_prefix('*'))
                .unwrap_or(rest);
            if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "SHA256SUMS line {}: '{hash}' is not a SHA-256",
                    i + 1
                ));
            }
            Ok((hash.to_ascii_lowercase(), name.to_string()))
        })
        .collect()
}

/// Checks an export folder: every file listed in `SHA256SUMS` exists and has its hash, no file
/// is in the folder that the list does not name, and every hash the folder states twice agrees
/// (see [`cross_check`]): a clip altered with its `SHA256SUMS` line rewritten must still fail.
pub fn verify_export_dir(dir: &Path) -> VerifyReport {
    let mut r = VerifyReport::default();
    let sums_path = dir.join("SHA256SUMS");
    let text = match std::fs::read_to_string(&sums_path) {
        Ok(t) => t,
        Err(e) => {
            r.problems
                .push(format!("{}: cannot read: {e}", sums_path.display()));
            return r;
        }
    };
    let entries = match parse_sums(&text) {
        Ok(e) => e,
        Err(e) => {
            r.problems.push(e);
            return r;
        }
    };
    let mut listed = BTreeSet::new();
    let mut actual: BTreeMap<String, String> = BTreeMap::new();
    for (hash, name) in &entries {
        listed.insert(name.clone());
        let p = dir.join(name);
        if name.contains('/') || name.contains("..") {
            r.problems
                .push(format!("{name}: names outside the folder are not allowed"));
            continue;
        }
        match sha256_file(&p) {
            Ok(h) if h == *hash => {
                r.ok.push(name.clone());
                actual.insert(name.clone(), h);
            }
            Ok(h) => {
                r.problems.push(format!(
                    "{name}: MODIFIED (SHA-256 is {h}, SHA256SUMS says {hash})"
                ));
                actual.insert(name.clone(), h);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                r.problems.push(format!("{name}: MISSING"));
            }
            Err(e) => r.problems.push(format!("{name}: cannot read: {e}")),
        }
    }
    let sums: BTreeMap<String, String> = entries
        .iter()
        .map(|(h, n)| (n.clone(), h.clone()))
        .collect();
    cross_check(dir, &sums, &actual, &mut r);
    check_signature(dir, &mut r);
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut extra: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "SHA256SUMS" && n != SIGNATURE_FILE && !listed.contains(n))
                .collect();
            extra.sort();
            for n in extra {
                r.problems
                    .push(format!("{n}: EXTRA (not listed in SHA256SUMS)"));
            }
        }
        Err(e) => r
            .problems
            .push(format!("{}: cannot list: {e}", dir.display())),
    }
    r
}

/// The signature, when there is one: valid over `manifest.json` and `SHA256SUMS` as they are
/// now, and made with the key the manifest names. A manifest that names a key while the folder
/// has no signature lost it (or was altered to say so): a problem too.
fn check_signature(dir: &Path, r: &mut VerifyReport) {
    let named = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| m["signer"]["fingerprint"].as_str().map(str::to_string));
    match (check_export_signature(dir), named) {
        (Ok(Some(sig)), named) => {
            if named.as_deref().is_some_and(|n| n != sig.fingerprint) {
                r.problems.push(format!(
                    "{SIGNATURE_FILE}: signed by key {}, but manifest.json names key {}",
                    sig.fingerprint,
                    named.unwrap_or_default()
                ));
            }
            r.ok.push(format!(
                "{SIGNATURE_FILE} (Ed25519, key {})",
                sig.fingerprint
            ));
            r.signed_by = Some(sig.fingerprint);
        }
        (Ok(None), Some(named)) => r.problems.push(format!(
            "{SIGNATURE_FILE}: MISSING (manifest.json says key {named} signed this export)"
        )),
        (Ok(None), None) => {}
        (Err(problem), _) => r.problems.push(problem),
    }
}

/// The hashes an export folder states more than once must agree: `manifest.json` records each
/// clip's SHA-256 and size, `SHA256SUMS` lists them again, and `report.html` prints them. Without
/// this, a clip replaced together with its `SHA256SUMS` line would pass, although the manifest
/// (itself hashed in `SHA256SUMS`, but rewritable the same way) still names the original bytes.
/// `sums` is what `SHA256SUMS` says, `actual` the hash of each listed file that could be read.
fn cross_check(
    dir: &Path,
    sums: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
    r: &mut VerifyReport,
) {
    let manifest = match std::fs::read(dir.join("manifest.json")) {
        Ok(b) => b,
        // Reported above (MISSING) when SHA256SUMS lists it, as EXTRA's opposite otherwise.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !sums.contains_key("manifest.json") {
                r.problems
                    .push("manifest.json: MISSING (an export folder always has one)".into());
            }
            return;
        }
        Err(e) => {
            r.problems.push(format!("manifest.json: cannot read: {e}"));
            return;
        }
    };
    let m: serde_json::Value = match serde_json::from_slice(&manifest) {
        Ok(v) => v,
        Err(e) => {
            r.problems
                .push(format!("manifest.json: not valid JSON ({e})"));
            return;
        }
    };
    let Some(clips) = m.get("clips").and_then(|c| c.as_array()) else {
        r.problems
            .push("manifest.json: not a vigil export manifest (no `clips` list)".into());
        return;
    };
    // Every hash the manifest states; the report may print only these.
    let mut stated: BTreeSet<String> = BTreeSet::new();
    for key in [["source", "sha256"], ["model", "manifest_sha256"]] {
        if let Some(h) = m
            .get(key[0])
            .and_then(|o| o.get(key[1]))
            .and_then(|h| h.as_str())
        {
            stated.insert(h.to_ascii_lowercase());
        }
    }
    for (i, c) in clips.iter().enumerate() {
        let file = c.get("file").and_then(|f| f.as_str());
        let hash = c.get("sha256").and_then(|h| h.as_str());
        let (Some(file), Some(hash)) = (file, hash) else {
            r.problems.push(format!(
                "manifest.json: clip {} has no `file` or `sha256`",
                i + 1
            ));
            continue;
        };
        let hash = hash.to_ascii_lowercase();
        stated.insert(hash.clone());
        match sums.get(file) {
            None => r.problems.push(format!(
                "{file}: manifest.json records it but SHA256SUMS does not list it"
            )),
            Some(s) if *s != hash => r.problems.push(format!(
                "{file}: DISAGREES (manifest.json records SHA-256 {hash}, SHA256SUMS says {s})"
            )),
            Some(_) => {}
        }
        if let Some(h) = actual.get(file)
            && *h != hash
            && sums.get(file) == Some(h)
        {
            // The file matches a rewritten SHA256SUMS line: the manifest still names the
            // bytes that were exported.
            r.problems.push(format!(
                "{file}: MODIFIED (SHA-256 is {h}, manifest.json records {hash})"
            ));
        }
        if let Some(bytes) = c.get("bytes").and_then(|b| b.as_u64())
            && let Ok(meta) = std::fs::metadata(dir.join(file))
            && meta.len() != bytes
        {
            r.problems.push(format!(
                "{file}: {} bytes, manifest.json records {bytes}",
                meta.len()
            ));
        }
    }
    if let Ok(report) = std::fs::read_to_string(dir.join("report.html")) {
        for h in hex64_runs(&report) {
            if !stated.contains(&h) {
                r.problems.push(format!(
                    "report.html: states SHA-256 {h}, which manifest.json does not record"
                ));
            }
        }
        for h in &stated {
            if !report.contains(h.as_str()) {
                r.problems.push(format!(
                    "report.html: does not state SHA-256 {h}, which manifest.json records"
                ));
            }
        }
    }
}

/// Every run of exactly 64 hex digits in `text` (lower-cased): the SHA-256s a report prints.
fn hex64_runs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_hexdigit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            if i - start == 64 {
                out.insert(text[start..i].to_ascii_lowercase());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Checks a case: every original is where the case says and still has the recorded SHA-256.
pub fn verify_case(case: &Case) -> VerifyReport {
    let mut r = VerifyReport::default();
    for f in &case.files {
        let shown = f.path.display().to_string();
        let Some(expected) = &f.sha256 else {
            r.problems
                .push(format!("{shown}: no SHA-256 recorded yet (never hashed)"));
            continue;
        };
        match sha256_file(&f.path) {
            Ok(h) if h == *expected => r.ok.push(shown),
            Ok(h) => r.problems.push(format!(
                "{shown}: MODIFIED (SHA-256 is {h}, the case recorded {expected})"
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                r.problems.push(format!("{shown}: MISSING"));
            }
            Err(e) => r.problems.push(format!("{shown}: cannot read: {e}")),
        }
    }
    r
}

/// What a path given to `vigil verify` is.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyTarget {
    /// An export folder (has `SHA256SUMS`).
    ExportDir(PathBuf),
    /// A case file.
    Case(PathBuf),
}

/// Decides what `path` is: a folder with `SHA256SUMS`, or a case file.
pub fn classify(path: &Path) -> Result<VerifyTarget, String> {
    if path.is_dir() {
        if path.join("SHA256SUMS").is_file() {
            return Ok(VerifyTarget::ExportDir(path.to_path_buf()));
        }
        return Err(format!(
            "{}: a folder without SHA256SUMS is not a vigil export",
            path.display()
        ));
    }
    if path.is_file() {
        return Ok(VerifyTarget::Case(path.to_path_buf()));
    }
    Err(format!("{}: no such file or folder", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_parse_in_both_sha256sum_modes() {
        let h = "a".repeat(64);
        let parsed = parse_sums(&format!("{h}  clip one.mp4\n{h} *b.bin\n")).unwrap();
        assert_eq!(parsed[0].1, "clip one.mp4");
        assert_eq!(parsed[1].1, "b.bin");
        assert!(parse_sums("nothex  x\n").is_err());
    }

    /// A folder like an export's: one clip, a manifest that records it, sums over both.
    fn folder(p: &Path, clip: &[u8]) -> String {
        let h = crate::base::sha256_bytes(clip);
        std::fs::write(p.join("a.mp4"), clip).unwrap();
        let m = format!(
            r#"{{"clips":[{{"file":"a.mp4","sha256":"{h}","bytes":{}}}]}}"#,
            clip.len()
        );
        std::fs::write(p.join("manifest.json"), &m).unwrap();
        std::fs::write(p.join("report.html"), format!("<code>{h}</code>")).unwrap();
        let sums = |m: &str, h: &str| {
            format!(
                "{h}  a.mp4\n{}  manifest.json\n{}  report.html\n",
                crate::base::sha256_bytes(m.as_bytes()),
                crate::base::sha256_bytes(format!("<code>{h}</code>").as_bytes())
            )
        };
        std::fs::write(p.join("SHA256SUMS"), sums(&m, &h)).unwrap();
        h
    }

    #[test]
    fn finds_modified_missing_and_extra_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        folder(p, b"clip");
        assert!(verify_export_dir(p).passed(), "{:?}", verify_export_dir(p));

        std::fs::write(p.join("a.mp4"), b"clap").unwrap();
        std::fs::remove_file(p.join("manifest.json")).unwrap();
        std::fs::write(p.join("notes.txt"), b"added later").unwrap();
        let r = verify_export_dir(p);
        assert_eq!(r.problems.len(), 3, "{:?}", r.problems);
        assert!(r.problems[0].starts_with("a.mp4: MODIFIED"));
        assert!(r.problems[1].starts_with("manifest.json: MISSING"));
        assert!(r.problems[2].starts_with("notes.txt: EXTRA"));
    }

    #[test]
    fn a_clip_changed_with_its_sums_line_rewritten_disagrees_with_the_manifest() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        let old = folder(p, b"clip");
        let new = crate::base::sha256_bytes(b"clap");
        std::fs::write(p.join("a.mp4"), b"clap").unwrap();
        let sums = std::fs::read_to_string(p.join("SHA256SUMS")).unwrap();
        std::fs::write(p.join("SHA256SUMS"), sums.replace(&old, &new)).unwrap();
        let r = verify_export_dir(p);
        assert!(
            r.problems.iter().any(|x| x.starts_with("a.mp4: DISAGREES")),
            "{:?}",
            r.problems
        );
        assert!(
            r.problems
                .iter()
                .any(|x| x.starts_with("a.mp4: MODIFIED") && x.contains("manifest.json")),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn a_report_that_prints_another_hash_fails() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        let h = folder(p, b"clip");
        let other = "b".repeat(64);
        let report = format!("<code>{h}</code><code>{other}</code>");
        std::fs::write(p.join("report.html"), &report).unwrap();
        let sums = std::fs::read_to_string(p.join("SHA256SUMS")).unwrap();
        let old_line = sums.lines().find(|l| l.ends_with("report.html")).unwrap();
        let new_line = format!(
            "{}  report.html",
            crate::base::sha256_bytes(report.as_bytes())
        );
        std::fs::write(p.join("SHA256SUMS"), sums.replace(old_line, &new_line)).unwrap();
        let r = verify_export_dir(p);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(r.problems[0].contains(&other), "{:?}", r.problems);
    }
}
