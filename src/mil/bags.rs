//! A video as the paper's bag: 32 temporal segments, each the L2-normalised mean of its clips'
//! features. Reading and writing the formats feature sets come in.
//!
//! - Text, as the original `Save_C3DFeatures_32Segments` writes it: one line per segment, `D`
//!   floats separated by spaces (`%f`, six decimals). Existing C3D feature files load unchanged.
//! - `.npy` clip features, as other public feature sets ship them: `T × D` float32/float64, or
//!   `T × crops × D` (ten-crop I3D sets), whose crops are averaged per clip first.

use super::MilError;
use crate::pipeline::segment_ranges_32;
use ndarray::{Array2, Array3, ArrayD, Axis};
use std::path::Path;

/// Segments per bag (the paper's choice).
pub const SEGMENTS: usize = 32;

/// One bag: `SEGMENTS` rows of `dim` features, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Bag {
    /// Feature size.
    pub dim: usize,
    /// `SEGMENTS × dim` values.
    pub rows: Vec<f32>,
}

impl Bag {
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * self.dim..(i + 1) * self.dim]
    }
}

/// The paper's bag of `n` clips (`clips` is `n × dim`, row-major): clips are split at
/// `round(linspace(1, n, 33))` (`pipeline::segment_ranges_32`, faithful to the MATLAB), averaged
/// per segment and L2-normalised (a zero mean stays zero).
pub fn bag_from_clips(clips: &[f32], dim: usize) -> Result<Bag, MilError> {
    if dim == 0 || clips.is_empty() || !clips.len().is_multiple_of(dim) {
        return Err(MilError::Shape(format!(
            "{} values are not a whole number of {dim}-value clips",
            clips.len()
        )));
    }
    let n = clips.len() / dim;
    let mut rows = vec![0f32; SEGMENTS * dim];
    for (seg, (a, b)) in segment_ranges_32(n).into_iter().enumerate() {
        let out = &mut rows[seg * dim..(seg + 1) * dim];
        // Sum in f64: long videos average thousands of clips.
        let mut acc = vec![0f64; dim];
        for c in a..b {
            for (s, &v) in acc.iter_mut().zip(&clips[c * dim..(c + 1) * dim]) {
                *s += f64::from(v);
            }
        }
        let count = (b - a).max(1) as f64;
        let norm = acc.iter().map(|s| (s / count).powi(2)).sum::<f64>().sqrt();
        for (o, s) in out.iter_mut().zip(&acc) {
            let mean = s / count;
            *o = if norm > 0.0 {
                (mean / norm) as f32
            } else {
                0.0
            };
        }
    }
    Ok(Bag { dim, rows })
}

/// The bag in the original text format: `SEGMENTS` lines of `dim` values, `%f` each followed by
/// a space, as the MATLAB `fprintf(fid1, '%f ', ...)` writes them.
pub fn bag_to_text(bag: &Bag) -> String {
    let mut s = String::with_capacity(bag.rows.len() * 9);
    for i in 0..SEGMENTS {
        for v in bag.row(i) {
            s.push_str(&format!("{v:.6} "));
        }
        s.push('\n');
    }
    s
}

/// Parses the text format: `SEGMENTS` non-empty lines, all of the same width.
pub fn bag_from_text(text: &str, source: &Path) -> Result<Bag, MilError> {
    let bad = |reason: String| MilError::Features {
        path: source.to_path_buf(),
        reason,
    };
    let mut rows = Vec::new();
    let mut dim = 0;
    let mut lines = 0;
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let before = rows.len();
        for tok in line.split_ascii_whitespace() {
            let v: f32 = tok
                .parse()
                .map_err(|_| bad(format!("line {}: '{tok}' is not a number", i + 1)))?;
            if !v.is_finite() {
                return Err(bad(format!("line {}: non-finite value", i + 1)));
            }
            rows.push(v);
        }
        let width = rows.len() - before;
        if i == 0 {
            dim = width;
        } else if width != dim {
            return Err(bad(format!(
                "line {} has {width} values, line 1 has {dim}",
                i + 1
            )));
        }
        lines += 1;
    }
    if lines != SEGMENTS || dim == 0 {
        return Err(bad(format!(
            "{lines} feature lines; a bag has {SEGMENTS} (one per segment)"
        )));
    }
    Ok(Bag { dim, rows })
}

/// Reads a bag from a file (see [`bag_from_bytes`]). Returns the file's bytes too, so that
/// callers hash what they parsed without reading the file again.
pub fn read_bag(path: &Path) -> Result<(Bag, Vec<u8>), MilError> {
    let bytes = std::fs::read(path).map_err(|e| MilError::Features {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok((bag_from_bytes(&bytes, path)?, bytes))
}

/// A bag from a file's bytes: `.txt` in the text format, `.npy` as clip features (made into a
/// bag here); `path` says which and names the file in errors.
pub fn bag_from_bytes(bytes: &[u8], path: &Path) -> Result<Bag, MilError> {
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        let clips = npy_clips(bytes, path)?;
        let (n, dim) = clips.dim();
        let flat: Vec<f32> = clips.into_iter().collect();
        return bag_from_clips(&flat, dim).map_err(|e| MilError::Features {
            path: path.to_path_buf(),
            reason: format!("{n} clips: {e}"),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| MilError::Features {
        path: path.to_path_buf(),
        reason: "not text (UTF-8)".into(),
    })?;
    bag_from_text(text, path)
}

/// Clip features from a `.npy` file: `T × D`, or `T × crops × D` averaged over crops; float32
/// or float64.
pub fn read_npy_clips(path: &Path) -> Result<Array2<f32>, MilError> {
    let bytes = std::fs::read(path).map_err(|e| MilError::Features {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    npy_clips(&bytes, path)
}

/// [`read_npy_clips`] on the file's bytes.
fn npy_clips(bytes: &[u8], path: &Path) -> Result<Array2<f32>, MilError> {
    let bad = |reason: String| MilError::Features {
        path: path.to_path_buf(),
        reason,
    };
    let array: ArrayD<f32> = match ndarray_npy::ReadNpyExt::read_npy(bytes) {
        Ok(a) => a,
        Err(_) => {
            let a: ArrayD<f64> = ndarray_npy::ReadNpyExt::read_npy(bytes)
                .map_err(|e| bad(format!("not a float32/float64 .npy array: {e}")))?;
            a.mapv(|v| v as f32)
        }
    };
    let shape = array.shape().to_vec();
    let clips = match shape.len() {
        2 => array
            .into_dimensionality::<ndarray::Ix2>()
            .map_err(|e| bad(e.to_string()))?,
        3 => {
            let a: Array3<f32> = array
                .into_dimensionality::<ndarray::Ix3>()
                .map_err(|e| bad(e.to_string()))?;
            a.mean_axis(Axis(1))
                .ok_or_else(|| bad("no crops".to_string()))?
        }
        _ => {
            return Err(bad(format!(
                "shape {shape:?}: expected T × D or T × crops × D"
            )));
        }
    };
    if clips.nrows() == 0 || clips.ncols() == 0 {
        return Err(bad(format!("shape {shape:?} is empty")));
    }
    if clips.iter().any(|v| !v.is_finite()) {
        return Err(bad("non-finite values".into()));
    }
    Ok(clips)
}

/// Writes `T × D` clip features as a float32 `.npy` file (atomically).
pub fn write_npy_clips(path: &Path, clips: &[f32], dim: usize) -> Result<(), MilError> {
    let n = clips.len().checked_div(dim).unwrap_or(0);
    let a = Array2::from_shape_vec((n, dim), clips.to_vec())
        .map_err(|e| MilError::Shape(e.to_string()))?;
    let mut buf = Vec::new();
    ndarray_npy::WriteNpyExt::write_npy(&a, &mut buf).map_err(|e| MilError::Features {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    crate::base::write_atomic(path, &buf).map_err(|e| MilError::Io {
        path: path.to_path_buf(),
        error: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bag_rows_are_unit_means_of_their_segments() {
        // 64 clips of dim 2: clip c = (c, 1). Segment ranges come from round(linspace(1,64,33)).
        let dim = 2;
        let clips: Vec<f32> = (0..64).flat_map(|c| [c as f32, 1.0]).collect();
        let bag = bag_from_clips(&clips, dim).unwrap();
        let ranges = segment_ranges_32(64);
        for (i, (a, b)) in ranges.into_iter().enumerate() {
            let mean = (a..b).map(|c| c as f32).sum::<f32>() / (b - a) as f32;
            let norm = (mean * mean + 1.0).sqrt();
            let r = bag.row(i);
            assert!((r[0] - mean / norm).abs() < 1e-6, "segment {i}");
            assert!((r[1] - 1.0 / norm).abs() < 1e-6);
            assert!(((r[0] * r[0] + r[1] * r[1]).sqrt() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn short_videos_repeat_clips_like_the_original() {
        // 5 clips: most segments collapse onto one clip each.
        let clips: Vec<f32> = (0..5).map(|c| c as f32 + 1.0).collect();
        let bag = bag_from_clips(&clips, 1).unwrap();
        assert!(bag.rows.iter().all(|&v| (v - 1.0).abs() < 1e-6));
        assert!(bag_from_clips(&[], 4).is_err());
        assert!(bag_from_clips(&[1.0; 5], 2).is_err());
    }

    #[test]
    fn text_round_trip_and_errors() {
        let clips: Vec<f32> = (0..40 * 3)
            .map(|i| ((i * 7919) % 13) as f32 - 6.0)
            .collect();
        let bag = bag_from_clips(&clips, 3).unwrap();
        let text = bag_to_text(&bag);
        assert_eq!(text.lines().count(), 32);
        let back = bag_from_text(&text, Path::new("x.txt")).unwrap();
        assert_eq!(back.dim, 3);
        for (a, b) in back.rows.iter().zip(&bag.rows) {
            assert!((a - b).abs() <= 5e-7);
        }
        let short: String = text.lines().take(31).map(|l| format!("{l}\n")).collect();
        assert!(bag_from_text(&short, Path::new("x.txt")).is_err());
        let ragged = text.replacen(" \n", " 0.5 \n", 1);
        assert!(bag_from_text(&ragged, Path::new("x.txt")).is_err());
        assert!(bag_from_text(&text.replacen("0", "z", 1), Path::new("x.txt")).is_err());
    }
}
