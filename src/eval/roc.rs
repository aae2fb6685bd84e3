//! ROC curves, ROC AUC and average precision with scikit-learn's semantics: scores sorted
//! descending, one curve point per distinct score (ties grouped), a leading (0, 0) point with
//! an infinite threshold, and the area by the trapezoid rule.

/// A ROC curve.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roc {
    /// False-positive rates, non-decreasing from 0 to 1.
    pub fpr: Vec<f64>,
    /// True-positive rates.
    pub tpr: Vec<f64>,
    /// Threshold of each point (score ≥ threshold is called positive); the first is +∞.
    pub thresholds: Vec<f64>,
}

/// Cumulative true and false positives at each distinct score, highest score first, with the
/// score itself: the counts scikit-learn's `_binary_clf_curve` computes.
fn clf_counts(y_true: &[bool], y_score: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut order: Vec<usize> = (0..y_score.len()).collect();
    // Stable, descending (NaN last), as numpy's mergesort on -score.
    order.sort_by(|&a, &b| y_score[b].total_cmp(&y_score[a]));
    let (mut tps, mut fps, mut thr) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if y_true[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_value = order.get(k + 1).is_none_or(|&j| y_score[j] != y_score[i]);
        if last_of_value {
            tps.push(tp);
            fps.push(fp);
            thr.push(y_score[i]);
        }
    }
    (tps, fps, thr)
}

/// The ROC curve. `drop_intermediate` removes points on straight stretches (as scikit-learn's
/// default does); the area is the same either way.
pub fn roc_curve(y_true: &[bool], y_score: &[f64], drop_intermediate: bool) -> Roc {
    let (mut tps, mut fps, mut thr) = clf_counts(y_true, y_score);
    if drop_intermediate && tps.len() > 2 {
        let keep: Vec<bool> = (0..tps.len())
            .map(|i| {
                i == 0
                    || i + 1 == tps.len()
                    || (fps[i + 1] - 2.0 * fps[i] + fps[i - 1]) != 0.0
                    || (tps[i + 1] - 2.0 * tps[i] + tps[i - 1]) != 0.0
            })
            .collect();
        let pick = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect()
        };
        tps = pick(&tps);
        fps = pick(&fps);
        thr = pick(&thr);
    }
    let (p, n) = (
        tps.last().copied().unwrap_or(0.0),
        fps.last().copied().unwrap_or(0.0),
    );
    let mut roc = Roc {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    for ((tp, fp), t) in tps.iter().zip(&fps).zip(&thr) {
        roc.fpr.push(if n > 0.0 { fp / n } else { f64::NAN });
        roc.tpr.push(if p > 0.0 { tp / p } else { f64::NAN });
        roc.thresholds.push(*t);
    }
    roc
}

/// Area under a curve given as x (non-decreasing) and y, by the trapezoid rule.
pub fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(xs, ys)| (xs[1] - xs[0]) * (ys[0] + ys[1]) / 2.0)
        .sum()
}

/// ROC AUC (None when only one class is present: it is undefined then).
pub fn roc_auc(y_true: &[bool], y_score: &[f64]) -> Option<f64> {
    let pos = y_true.iter().filter(|&&t| t).count();
    if pos == 0 || pos == y_true.len() {
        return None;
    }
    let roc = roc_curve(y_true, y_score, false);
    Some(trapezoid(&roc.fpr, &roc.tpr))
}

/// The Mann–Whitney U statistic normalised: the probability that a random positive scores
/// above a random negative, ties counting half. Equals the ROC AUC; computed independently
/// from ranks, as a cross-check.
pub fn mann_whitney(y_true: &[bool], y_score: &[f64]) -> Option<f64> {
    let n = y_score.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| y_score[a].total_cmp(&y_score[b]));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && y_score[order[j + 1]] == y_score[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = avg;
        }
        i = j + 1;
    }
    let pos = y_true.iter().filter(|&&t| t).count() as f64;
    let neg = n as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    let rank_sum: f64 = ranks
        .iter()
        .zip(y_true)
        .filter(|(_, t)| **t)
        .map(|(r, _)| r)
        .sum();
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Average precision as scikit-learn defines it: Σ (Rₖ − Rₖ₋₁) Pₖ over thresholds from the
/// highest score down.
pub fn average_precision(y_true: &[bool], y_score: &[f64]) -> Option<f64> {
    let (tps, fps, _) = clf_counts(y_true, y_score);
    let p = *tps.last()?;
    if p == 0.0 {
        return None;
    }
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for (tp, fp) in tps.iter().zip(&fps) {
        let recall = tp / p;
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 1.0 };
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Some(ap)
}

/// Equal error rate: where the false-positive rate equals the miss rate (1 − TPR), linearly
/// interpolated on the curve.
pub fn equal_error_rate(roc: &Roc) -> Option<f64> {
    for i in 1..roc.fpr.len() {
        let (f0, f1) = (roc.fpr[i - 1], roc.fpr[i]);
        let (m0, m1) = (1.0 - roc.tpr[i - 1], 1.0 - roc.tpr[i]);
        if (f0 - m0) * (f1 - m1) <= 0.0 {
            let d = (f1 - f0) - (m1 - m0);
            let t = if d == 0.0 { 0.0 } else { (m0 - f0) / d };
            return Some(f0 + t * (f1 - f0));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sklearn_documentation_example() {
        let y = [false, false, true, true];
        let s = [0.1, 0.4, 0.35, 0.8];
        let roc = roc_curve(&y, &s, false);
        assert_eq!(roc.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(roc.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(roc_auc(&y, &s), Some(0.75));
        assert_eq!(mann_whitney(&y, &s), Some(0.75));
        assert!((average_precision(&y, &s).unwrap() - 0.833_333_333_333_333_3).abs() < 1e-12);
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
    }

    #[test]
    fn dropping_intermediate_points_keeps_the_area() {
        let y: Vec<bool> = (0..40).map(|i| i % 3 == 0).collect();
        let s: Vec<f64> = (0..40).map(|i| f64::from((i * 7) % 11)).collect();
        let full = roc_curve(&y, &s, false);
        let dropped = roc_curve(&y, &s, true);
        assert!(dropped.fpr.len() <= full.fpr.len());
        let a = trapezoid(&full.fpr, &full.tpr);
        let b = trapezoid(&dropped.fpr, &dropped.tpr);
        assert!((a - b).abs() < 1e-12);
    }

    #[test]
    fn eer_of_a_symmetric_curve() {
        let roc = Roc {
            fpr: vec![0.0, 0.2, 1.0],
            tpr: vec![0.0, 0.8, 1.0],
            thresholds: vec![f64::INFINITY, 0.5, 0.0],
        };
        assert!((equal_error_rate(&roc).unwrap() - 0.2).abs() < 1e-12);
    }
}
