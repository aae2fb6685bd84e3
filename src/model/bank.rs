//! The normal bank: clip features of footage known to be normal, carried in the pack, so that a
//! clip can be judged against normal footage that is not the file it comes from.
//!
//! Within-file novelty says "unusual here"; its scale depends on the file, and a short file or
//! one whose incident fills much of it has no normal bulk to speak of. The bank gives a second,
//! file-independent reference: a clip unlike every normal clip the pack has seen is far from
//! the bank whatever the file around it looks like. Its own scale is measured once, when the
//! bank is built: every bank clip's distance to the clips of the *other* bank videos (leave one
//! video out), calibrated like the novelty distances (`pipeline::bank`).
//!
//! ```text
//! PACK/normal-bank-H.npy   rows × dim float32 clip features, as the extractor gave them
//!                          (H: the first 16 hex digits of its SHA-256)
//! PACK/manifest.json       normal_bank: file, sha256, rows, dim, feature_key, k, median,
//!                          spread, sources (one per video: name, SHA-256, its rows)
//! ```
//!
//! The features are stored raw (not normalised) so that the file is what `vigil features`
//! would write; the scorer normalises them on load. The manifest records the pack's feature key,
//! so a bank built with another extractor (or input contract) is refused, not silently used.

use super::ModelError;
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How the bank's file name begins inside a pack; its hash follows, so that a new bank is a new
/// file and the manifest switches from one to the other in one atomic write.
pub const BANK_FILE: &str = "normal-bank";

/// The bank's entry in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankSpec {
    /// `.npy` file inside the pack.
    pub file: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Clips in it.
    pub rows: usize,
    /// Values per clip (the extractor's feature size).
    pub dim: usize,
    /// `Pack::feature_key` of the extractor the features came from.
    pub feature_key: String,
    /// Bank clips averaged for a clip's bank distance (its `k` most similar).
    pub k: usize,
    /// Median of the bank's own leave-one-video-out distances.
    pub median: f64,
    /// Their spread (trimmed, as the novelty scorer's `trim_spreads`).
    pub spread: f64,
    /// Bank z that one normal clip in a hundred reaches (the 99th percentile of the bank's own
    /// leave-one-video-out z): where the bank part of the fused scorer flags.
    pub flag_z: f64,
    /// The videos it holds, in row order.
    pub sources: Vec<BankSource>,
}

/// One video of the bank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankSource {
    /// File name the video had when it was added.
    pub name: String,
    /// SHA-256 of the video.
    pub video_sha256: String,
    /// Its clips in the video.
    pub clips: usize,
    /// First bank row of its clips.
    pub first_row: usize,
    /// Bank rows it holds (evenly spaced clips, at most the bank's cap per video).
    pub rows: usize,
}

impl BankSpec {
    /// Checks that the sources tile the rows exactly and the numbers are usable.
    pub fn check(&self) -> Result<(), String> {
        if self.dim == 0 || self.k == 0 {
            return Err("dim and k must be positive".into());
        }
        if !(self.median.is_finite() && self.spread.is_finite() && self.spread > 0.0) {
            return Err(format!(
                "median {} and spread {} must be finite, the spread positive",
                self.median, self.spread
            ));
        }
        if !(self.flag_z.is_finite() && self.flag_z > 0.0) {
            return Err(format!("flag_z {} must be positive", self.flag_z));
        }
        let mut next = 0;
        for s in &self.sources {
            if s.first_row != next || s.rows == 0 {
                return Err(format!(
                    "source {} starts at row {} (expected {next}) with {} rows",
                    s.name, s.first_row, s.rows
                ));
            }
            next += s.rows;
        }
        if next != self.rows {
            return Err(format!("sources hold {next} rows, the bank {}", self.rows));
        }
        if self.sources.len() < 2 {
            return Err(
                "a bank needs at least two videos (its scale is measured leaving one out)".into(),
            );
        }
        Ok(())
    }
}

/// A loaded bank: the spec and its rows, each L2-normalised.
#[derive(Debug, Clone)]
pub struct Bank {
    /// What the manifest says.
    pub spec: BankSpec,
    /// `rows × dim`, each row of unit length.
    pub rows: Array2<f32>,
}

impl Bank {
    /// Reads the bank named by `spec` from `dir` (whose hash the pack has already checked) and
    /// checks its shape against the spec.
    pub fn load(dir: &Path, spec: &BankSpec) -> Result<Self, ModelError> {
        let path = dir.join(&spec.file);
        let bad = |reason: String| ModelError::Manifest {
            path: path.clone(),
            reason: format!("normal bank: {reason}"),
        };
        let bytes = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
        let rows = read_rows(&bytes).map_err(&bad)?;
        if rows.dim() != (spec.rows, spec.dim) {
            return Err(bad(format!(
                "holds {} × {}, the manifest says {} × {}",
                rows.nrows(),
                rows.ncols(),
                spec.rows,
                spec.dim
            )));
        }
        Ok(Self {
            spec: spec.clone(),
            rows: normalised(rows),
        })
    }
}

/// Writes `rows` as the bank of the pack in `dir` whose manifest is `manifest`: the file first
/// (under a name of its own), then the manifest, atomically, then the old bank file is removed.
/// A crash leaves either the old pack or the new one, never a manifest naming a missing or
/// half-written file. Returns the spec as written.
pub fn install(
    dir: &Path,
    manifest: &super::Manifest,
    rows: &Array2<f32>,
    mut spec: BankSpec,
) -> Result<BankSpec, ModelError> {
    let bad = |path: &Path, reason: String| ModelError::Manifest {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = bank_bytes(rows).map_err(|r| bad(dir, r))?;
    let sha = crate::base::sha256_bytes(&bytes);
    spec.file = format!("{BANK_FILE}-{}.npy", &sha[..16]);
    spec.sha256 = sha;
    spec.check().map_err(|r| bad(dir, r))?;
    let file = dir.join(&spec.file);
    crate::base::write_atomic(&file, &bytes).map_err(|e| bad(&file, e.to_string()))?;
    let old = manifest.normal_bank.as_ref().map(|b| b.file.clone());
    let mut m = manifest.clone();
    m.normal_bank = Some(spec.clone());
    let json = serde_json::to_vec_pretty(&m).map_err(|e| bad(dir, e.to_string()))?;
    let mpath = dir.join("manifest.json");
    crate::base::write_atomic(&mpath, &json).map_err(|e| bad(&mpath, e.to_string()))?;
    if let Some(old) = old.filter(|o| *o != spec.file) {
        let _ = std::fs::remove_file(dir.join(old));
    }
    Ok(spec)
}

/// A bank file's rows as stored (raw features).
pub fn read_rows(bytes: &[u8]) -> Result<Array2<f32>, String> {
    let rows: Array2<f32> = ndarray_npy::ReadNpyExt::read_npy(bytes)
        .map_err(|e| format!("not a float32 rows × dim .npy array: {e}"))?;
    if rows.iter().any(|v| !v.is_finite()) {
        return Err("non-finite values".into());
    }
    Ok(rows)
}

/// The bytes of a bank file holding `rows`.
pub fn bank_bytes(rows: &Array2<f32>) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    ndarray_npy::WriteNpyExt::write_npy(rows, &mut buf).map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Each row scaled to unit length (zero rows stay zero).
pub fn normalised(mut rows: Array2<f32>) -> Array2<f32> {
    for mut row in rows.axis_iter_mut(Axis(0)) {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(sources: &[usize]) -> BankSpec {
        let mut first = 0;
        let sources = sources
            .iter()
            .enumerate()
            .map(|(i, &rows)| {
                let s = BankSource {
                    name: format!("v{i}.mp4"),
                    video_sha256: format!("{i:064}"),
                    clips: rows * 2,
                    first_row: first,
                    rows,
                };
                first += rows;
                s
            })
            .collect();
        BankSpec {
            file: BANK_FILE.into(),
            sha256: String::new(),
            rows: first,
            dim: 4,
            feature_key: "k".into(),
            k: 5,
            median: 0.1,
            spread: 0.02,
            flag_z: 1.8,
            sources,
        }
    }

    #[test]
    fn sources_must_tile_the_rows() {
        assert!(spec(&[3, 4]).check().is_ok());
        let mut s = spec(&[3, 4]);
        s.rows = 8;
        assert!(s.check().unwrap_err().contains("hold 7 rows"));
        let mut s = spec(&[3, 4]);
        s.sources[1].first_row = 2;
        assert!(s.check().is_err());
        assert!(spec(&[3]).check().unwrap_err().contains("two videos"));
        let mut s = spec(&[3, 4]);
        s.spread = 0.0;
        assert!(s.check().is_err());
    }

    #[test]
    fn bank_files_round_trip_and_shapes_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let rows = Array2::from_shape_fn((7, 4), |(i, j)| (i * 4 + j) as f32 + 1.0);
        std::fs::write(dir.path().join(BANK_FILE), bank_bytes(&rows).unwrap()).unwrap();
        let bank = Bank::load(dir.path(), &spec(&[3, 4])).unwrap();
        assert_eq!(
            bank_bytes(&read_rows(&bank_bytes(&rows).unwrap()).unwrap()).unwrap(),
            bank_bytes(&rows).unwrap()
        );
        for row in bank.rows.axis_iter(Axis(0)) {
            assert!((row.dot(&row) - 1.0).abs() < 1e-5);
        }
        let mut wrong = spec(&[3, 4]);
        wrong.dim = 5;
        let e = Bank::load(dir.path(), &wrong).unwrap_err().to_string();
        assert!(e.contains("holds 7 × 4"), "{e}");
        std::fs::write(dir.path().join(BANK_FILE), b"not npy").unwrap();
        assert!(Bank::load(dir.path(), &spec(&[3, 4])).is_err());
    }
}
