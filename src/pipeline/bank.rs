//! Distances to the normal bank (`model::bank`), the bank's own scale, and adding videos to it.
//!
//! A clip's bank distance is 1 − the mean cosine similarity of its `k` most similar bank clips,
//! the novelty scorer's distance with the bank as the reference. It is put on the bank's scale,
//! `z = (d − median) / spread`, where median and spread are those of the bank clips' own
//! distances to the clips of the other bank videos (leave one video out), calibrated with the
//! trimmed rule (`novelty`, `trim_spreads`). So `z` says how much further from normal footage
//! the clip is than normal footage is from itself, in the same unit in every file.

use super::novelty::{RowSource, calibrate, fetch_normalised, insert_top, mean_top_distance};
use crate::base::float::flush_denormals;
use crate::model::{BANK_FILE, BankSource, BankSpec, NoveltyParams, normalised};
use ndarray::{Array2, Axis, s};

/// Rows of queries compared with the bank at once.
const BLOCK_ROWS: usize = 512;
/// At most this many clips of one video go into the bank (evenly spaced): a long normal video
/// is mostly the same picture, and the bank's cost is paid by every clip scored against it.
pub const MAX_ROWS_PER_VIDEO: usize = 256;
/// Bank clips averaged for a distance.
pub const BANK_K: usize = 5;
/// The trim the bank's own scale is measured with (spreads above the median).
pub const BANK_TRIM: f64 = 2.0;
/// The share of the bank's own (leave-one-video-out) clips below its flag level: one normal
/// clip in a hundred reaches it.
pub const FLAG_QUANTILE: f64 = 0.99;
/// The flag level is never below this many spreads (a bank of near-identical videos would
/// otherwise flag at the noise).
pub const MIN_FLAG_Z: f64 = 1.0;

/// Each row's bank distance. `bank` rows are unit length ([`crate::model::Bank::rows`]).
pub fn bank_distances<R: RowSource>(
    bank: &Array2<f32>,
    k: usize,
    rows: &R,
) -> Result<Vec<f32>, R::Error> {
    flush_denormals(|| {
        let n = rows.rows();
        let mut out = Vec::with_capacity(n);
        let mut best: Vec<(f32, ())> = Vec::with_capacity(k + 1);
        for start in (0..n).step_by(BLOCK_ROWS) {
            let block: Vec<usize> = (start..(start + BLOCK_ROWS).min(n)).collect();
            let sims = fetch_normalised(rows, &block)?.dot(&bank.t());
            for row in sims.axis_iter(Axis(0)) {
                best.clear();
                for &sim in row {
                    insert_top(&mut best, (sim, ()), k);
                }
                out.push(mean_top_distance(best.iter().map(|b| b.0), k));
            }
        }
        Ok(out)
    })
}

/// Every bank row's distance to the rows of the other videos (`rows` unit length).
pub fn leave_one_out_distances(rows: &Array2<f32>, sources: &[BankSource], k: usize) -> Vec<f32> {
    flush_denormals(|| {
        let mut out = vec![0f32; rows.nrows()];
        let mut best: Vec<(f32, ())> = Vec::with_capacity(k + 1);
        for src in sources {
            let own = src.first_row..src.first_row + src.rows;
            let sims = rows.slice(s![own.clone(), ..]).dot(&rows.t());
            for (r, row) in sims.axis_iter(Axis(0)).enumerate() {
                best.clear();
                for (j, &sim) in row.iter().enumerate() {
                    if !own.contains(&j) {
                        insert_top(&mut best, (sim, ()), k);
                    }
                }
                out[own.start + r] = mean_top_distance(best.iter().map(|b| b.0), k);
            }
        }
        out
    })
}

/// `(d − median) / spread` on the bank's scale.
pub fn bank_z(d: f32, spec: &BankSpec) -> f64 {
    (f64::from(d) - spec.median) / spec.spread
}

/// A video to put into the bank: its name, SHA-256 and clip features (`clips × dim`, raw).
pub struct BankVideo {
    /// File name.
    pub name: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Its clip features as the extractor gave them.
    pub features: Array2<f32>,
}

/// What [`add_videos`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct BankChange {
    /// Videos added.
    pub added: Vec<String>,
    /// Videos already in the bank (same SHA-256), left as they were.
    pub already: Vec<String>,
}

/// The bank with `videos` added: the rows (raw) and the spec, its scale re-measured. `existing`
/// is the current bank's raw rows and spec, if there is one; a video already in it (by
/// SHA-256) is not added twice. `file` and `sha256` of the spec are left for the writer.
pub fn add_videos(
    existing: Option<(Array2<f32>, BankSpec)>,
    videos: Vec<BankVideo>,
    feature_key: &str,
    params: &NoveltyParams,
) -> Result<(Array2<f32>, BankSpec, BankChange), String> {
    let (mut parts, mut sources, dim) = match existing {
        Some((rows, spec)) => {
            if spec.feature_key != feature_key {
                return Err(format!(
                    "the bank holds features {}, this pack's are {feature_key}",
                    spec.feature_key
                ));
            }
            (vec![rows], spec.sources, Some(spec.dim))
        }
        None => (Vec::new(), Vec::new(), None),
    };
    let mut dim = dim;
    let mut change = BankChange {
        added: Vec::new(),
        already: Vec::new(),
    };
    let mut next: usize = sources.iter().map(|s| s.rows).sum();
    for v in videos {
        if sources.iter().any(|s| s.video_sha256 == v.sha256) {
            change.already.push(v.name);
            continue;
        }
        let d = *dim.get_or_insert(v.features.ncols());
        if v.features.ncols() != d {
            return Err(format!(
                "{} has {}-value features, the bank {d}",
                v.name,
                v.features.ncols()
            ));
        }
        if v.features.nrows() == 0 {
            return Err(format!("{} has no clips", v.name));
        }
        let keep = even_rows(v.features.nrows(), MAX_ROWS_PER_VIDEO);
        parts.push(v.features.select(Axis(0), &keep));
        sources.push(BankSource {
            name: v.name.clone(),
            video_sha256: v.sha256,
            clips: v.features.nrows(),
            first_row: next,
            rows: keep.len(),
        });
        next += keep.len();
        change.added.push(v.name);
    }
    let dim = dim.ok_or("no videos to put into the bank")?;
    if sources.len() < 2 {
        return Err(
            "a normal bank needs at least two videos: its scale is measured on each video against the others"
                .into(),
        );
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let rows = ndarray::concatenate(Axis(0), &views).map_err(|e| e.to_string())?;
    let unit = normalised(rows.clone());
    let own = leave_one_out_distances(&unit, &sources, BANK_K);
    let trimmed = NoveltyParams {
        trim_spreads: Some(BANK_TRIM),
        ..*params
    };
    let (median, spread) = calibrate(&own, &trimmed);
    let mut z: Vec<f64> = own
        .iter()
        .map(|&d| (f64::from(d) - median) / spread)
        .collect();
    z.sort_by(f64::total_cmp);
    let q99 = z
        .get(((z.len() - 1) as f64 * FLAG_QUANTILE).round() as usize)
        .copied()
        .unwrap_or(MIN_FLAG_Z);
    let spec = BankSpec {
        file: BANK_FILE.into(),
        sha256: String::new(),
        rows: rows.nrows(),
        dim,
        feature_key: feature_key.to_string(),
        k: BANK_K,
        median,
        spread,
        flag_z: q99.max(MIN_FLAG_Z),
        sources,
    };
    spec.check()?;
    Ok((rows, spec, change))
}

/// `keep` evenly spaced indices of `0..n` (all of them when `n ≤ keep`).
fn even_rows(n: usize, keep: usize) -> Vec<usize> {
    if n <= keep {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..keep)
        .map(|i| ((i as f64) * (n - 1) as f64 / (keep - 1).max(1) as f64).round() as usize)
        .collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::novelty::InMemory;

    fn params() -> NoveltyParams {
        crate::pipeline::novelty::pack_params()
    }

    /// A "normal" video: clips near one direction of an 8-d space, with a small seeded wobble.
    fn normal_video(clips: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((clips, 8), |(i, j)| {
            let base = if j < 4 { 1.0 } else { 0.0 };
            base + 0.05 * (((i * 7 + j * 3 + seed * 11) % 5) as f32)
        })
    }

    fn video(name: &str, f: Array2<f32>) -> BankVideo {
        BankVideo {
            name: name.into(),
            sha256: format!("{:0>64}", name),
            features: f,
        }
    }

    #[test]
    fn a_clip_unlike_normal_footage_is_far_from_the_bank_and_normal_ones_are_not() {
        let (rows, spec, change) = add_videos(
            None,
            vec![
                video("a", normal_video(40, 1)),
                video("b", normal_video(30, 2)),
                video("c", normal_video(20, 3)),
            ],
            "key",
            &params(),
        )
        .unwrap();
        assert_eq!(change.added, ["a", "b", "c"]);
        assert_eq!((rows.nrows(), spec.sources.len()), (90, 3));
        let bank = normalised(rows);
        let mut q = normal_video(10, 4);
        // Clip 5 is something else entirely.
        for j in 0..8 {
            q[[5, j]] = if j >= 6 { 1.0 } else { 0.0 };
        }
        let values: Vec<f32> = q.iter().copied().collect();
        let d = bank_distances(
            &bank,
            spec.k,
            &InMemory {
                values: &values,
                dim: 8,
            },
        )
        .unwrap();
        let z: Vec<f64> = d.iter().map(|&x| bank_z(x, &spec)).collect();
        assert!(z[5] > 10.0, "{z:?}");
        for (i, &zi) in z.iter().enumerate() {
            if i != 5 {
                assert!(zi < 3.0, "clip {i}: {zi}");
            }
        }
    }

    #[test]
    fn adding_again_keeps_one_copy_and_long_videos_are_thinned() {
        let (rows, spec, _) = add_videos(
            None,
            vec![
                video("a", normal_video(600, 1)),
                video("b", normal_video(30, 2)),
            ],
            "key",
            &params(),
        )
        .unwrap();
        assert_eq!(spec.sources[0].rows, MAX_ROWS_PER_VIDEO);
        assert_eq!(spec.sources[0].clips, 600);
        let (rows2, spec2, change) = add_videos(
            Some((rows.clone(), spec.clone())),
            vec![
                video("b", normal_video(30, 2)),
                video("c", normal_video(12, 3)),
            ],
            "key",
            &params(),
        )
        .unwrap();
        assert_eq!(change.already, ["b"]);
        assert_eq!(change.added, ["c"]);
        assert_eq!(rows2.nrows(), rows.nrows() + 12);
        assert_eq!(rows2.slice(s![..rows.nrows(), ..]), rows);
        assert_eq!(spec2.sources[2].first_row, rows.nrows());
        // Deterministic: the same videos give the same bank, bit for bit.
        let (rows3, spec3, _) = add_videos(
            Some((rows, spec)),
            vec![video("c", normal_video(12, 3))],
            "key",
            &params(),
        )
        .unwrap();
        assert_eq!((rows3, spec3), (rows2, spec2));
    }

    #[test]
    fn a_bank_of_one_video_or_of_other_features_is_refused() {
        let one = add_videos(
            None,
            vec![video("a", normal_video(20, 1))],
            "key",
            &params(),
        );
        assert!(one.unwrap_err().contains("at least two videos"));
        let (rows, spec, _) = add_videos(
            None,
            vec![
                video("a", normal_video(20, 1)),
                video("b", normal_video(20, 2)),
            ],
            "key",
            &params(),
        )
        .unwrap();
        let other = add_videos(
            Some((rows, spec)),
            vec![video("c", normal_video(20, 3))],
            "other-key",
            &params(),
        );
        assert!(other.unwrap_err().contains("this pack's are other-key"));
    }
}
