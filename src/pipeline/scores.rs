//! From per-clip scores to what a reviewer acts on: flagged spans ("peaks") and the paper's 32
//! per-video segments.

use super::report::Peak;
use crate::video::ClipSpan;

/// The paper's 32 segments over `n` clips, as clip index ranges `[start, end)`.
///
/// Faithful to the original MATLAB (`Save_C3DFeatures_32Segments`):
/// `shots = round(linspace(1, n, 33))`, segment `i` takes clips `shots(i) .. shots(i+1) − 1`
/// (1-based), or the single clip `shots(i)` when that range is empty. As in the original, the
/// last clip only enters a segment when the ranges collapse onto it.
pub fn segment_ranges_32(n: usize) -> Vec<(usize, usize)> {
    if n == 0 {
        return Vec::new();
    }
    let shots: Vec<usize> = (0..33)
        .map(|i| (1.0 + i as f64 * (n as f64 - 1.0) / 32.0).round() as usize)
        .collect();
    (0..32)
        .map(|i| {
            let (ss, ee) = (shots[i], shots[i + 1].saturating_sub(1));
            // 1-based inclusive → 0-based half-open.
            if ee <= ss { (ss - 1, ss) } else { (ss - 1, ee) }
        })
        .collect()
}

/// Score of each segment: the highest clip score inside it (a segment is as alarming as its
/// most alarming clip).
pub fn segment_scores(scores: &[f32], ranges: &[(usize, usize)]) -> Vec<f32> {
    ranges
        .iter()
        .map(|&(a, b)| scores[a..b].iter().copied().fold(0.0, f32::max))
        .collect()
}

/// Flagged spans: runs of clips scoring at least `threshold`, merged when the gap between them
/// is at most `merge_gap_s`, dropped when shorter than `min_len_s`; highest score first.
pub fn find_peaks(
    spans: &[ClipSpan],
    scores: &[f32],
    threshold: f32,
    merge_gap_s: f64,
    min_len_s: f64,
) -> Vec<Peak> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, &s) in scores.iter().enumerate() {
        if s < threshold {
            continue;
        }
        match runs.last_mut() {
            Some((_, last)) if spans[i].start_s - spans[*last].end_s <= merge_gap_s + 1e-9 => {
                *last = i;
            }
            _ => runs.push((i, i)),
        }
    }
    let mut peaks: Vec<Peak> = runs
        .into_iter()
        .map(|(a, b)| peak_of(spans, scores, a, b))
        .filter(|p| p.end_s - p.start_s >= min_len_s - 1e-9)
        .collect();
    peaks.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(x.start_s.total_cmp(&y.start_s))
    });
    peaks
}

/// The `n` highest local maxima (one clip each), for footage where nothing crossed the
/// threshold: the reviewer still gets somewhere to look first.
pub fn top_moments(spans: &[ClipSpan], scores: &[f32], n: usize) -> Vec<Peak> {
    let mut idx: Vec<usize> = (0..scores.len())
        .filter(|&i| {
            let left = i == 0 || scores[i - 1] <= scores[i];
            let right = i + 1 == scores.len() || scores[i + 1] < scores[i];
            left && right
        })
        .collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.into_iter()
        .take(n)
        .map(|i| peak_of(spans, scores, i, i))
        .collect()
}

fn peak_of(spans: &[ClipSpan], scores: &[f32], a: usize, b: usize) -> Peak {
    let best = (a..=b)
        .max_by(|&x, &y| scores[x].total_cmp(&scores[y]).then(y.cmp(&x)))
        .unwrap_or(a);
    Peak {
        start_s: spans[a].start_s,
        end_s: spans[b].end_s,
        score: scores[best],
        peak_s: spans[best].start_s,
        peak_clip: spans[best].index,
        first_clip: spans[a].index,
        last_clip: spans[b].index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(n: usize) -> Vec<ClipSpan> {
        (0..n)
            .map(|i| ClipSpan {
                index: i as u64,
                start_s: i as f64,
                end_s: i as f64 + 1.0,
                start_frame: 0,
                end_frame: 0,
                padded_slots: 0,
            })
            .collect()
    }

    #[test]
    fn segments_follow_the_original_matlab() {
        // n = 100: shots = round(linspace(1,100,33)); first segment 1..3 (1-based).
        let r = segment_ranges_32(100);
        assert_eq!(r.len(), 32);
        assert_eq!(r[0], (0, 3));
        assert_eq!(r[31].1, 99, "the original leaves the last clip out");
        // Fewer clips than segments: single clips repeat.
        let r = segment_ranges_32(10);
        assert!(r.iter().all(|&(a, b)| b == a + 1));
        assert_eq!(r[0], (0, 1));
        assert_eq!(r[31], (9, 10));
        assert_eq!(segment_ranges_32(1), vec![(0, 1); 32]);
    }

    #[test]
    fn peaks_merge_small_gaps_and_rank_by_score() {
        let s = [0.1, 0.6, 0.7, 0.2, 0.8, 0.1, 0.1, 0.1, 0.55, 0.1];
        let p = find_peaks(&spans(10), &s, 0.5, 1.0, 0.0);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].first_clip, p[0].last_clip, p[0].peak_clip), (1, 4, 4));
        assert_eq!((p[0].start_s, p[0].end_s), (1.0, 5.0));
        assert_eq!(p[1].first_clip, 8);
        // Without merging the gap at clip 3 splits the first span.
        assert_eq!(find_peaks(&spans(10), &s, 0.5, 0.0, 0.0).len(), 3);
        // A minimum length drops the single-clip span.
        assert_eq!(find_peaks(&spans(10), &s, 0.5, 1.0, 2.0).len(), 1);
    }

    #[test]
    fn top_moments_are_local_maxima() {
        let s = [0.1, 0.3, 0.2, 0.2, 0.4, 0.1];
        let m = top_moments(&spans(6), &s, 2);
        assert_eq!(
            m.iter().map(|p| p.peak_clip).collect::<Vec<_>>(),
            vec![4, 1]
        );
    }
}
