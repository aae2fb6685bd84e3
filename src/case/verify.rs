//! `vigil verify`: re-hash an export folder against its `SHA256SUMS`, or a case's originals
//! against the SHA-256 recorded in the case, and report every problem.

use super::{Case, sha256_file};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    /// Files that matched.
    pub ok: Vec<String>,
    /// Problems, one sentence each.
    pub problems: Vec<String>,
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

/// Checks an export folder: every file listed in `SHA256SUMS` exists and has its hash, and no
/// file is in the folder that the list does not name.
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
    for (hash, name) in &entries {
        listed.insert(name.clone());
        let p = dir.join(name);
        if name.contains('/') || name.contains("..") {
            r.problems
                .push(format!("{name}: names outside the folder are not allowed"));
            continue;
        }
        match sha256_file(&p) {
            Ok(h) if h == *hash => r.ok.push(name.clone()),
            Ok(h) => r.problems.push(format!(
                "{name}: MODIFIED (SHA-256 is {h}, SHA256SUMS says {hash})"
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                r.problems.push(format!("{name}: MISSING"));
            }
            Err(e) => r.problems.push(format!("{name}: cannot read: {e}")),
        }
    }
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut extra: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "SHA256SUMS" && !listed.contains(n))
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

    #[test]
    fn finds_modified_missing_and_extra_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(p.join("a.mp4"), b"clip").unwrap();
        std::fs::write(p.join("manifest.json"), b"{}").unwrap();
        let sums = format!(
            "{}  a.mp4\n{}  manifest.json\n",
            super::super::sha256_bytes(b"clip"),
            super::super::sha256_bytes(b"{}")
        );
        std::fs::write(p.join("SHA256SUMS"), sums).unwrap();
        assert!(verify_export_dir(p).passed());

        std::fs::write(p.join("a.mp4"), b"clap").unwrap();
        std::fs::remove_file(p.join("manifest.json")).unwrap();
        std::fs::write(p.join("notes.txt"), b"added later").unwrap();
        let r = verify_export_dir(p);
        assert_eq!(r.problems.len(), 3, "{:?}", r.problems);
        assert!(r.problems[0].starts_with("a.mp4: MODIFIED"));
        assert!(r.problems[1].starts_with("manifest.json: MISSING"));
        assert!(r.problems[2].starts_with("notes.txt: EXTRA"));
    }
}
