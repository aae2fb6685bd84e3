//! Which clips the cascade refines and how it reaches them: the candidate rule, the even
//! sample of anchors, the feature source of every clip, and the seek runs of the refine.

use super::{
    ANCHOR_EVERY, CANDIDATE_SCORE, CHANGED_SHARE, MIN_ANCHORS, NEIGHBOURS, TOP_CANDIDATES,
};
use crate::pipeline::cache::CompleteRecord;
use std::collections::BTreeSet;

/// Wanted clips this close (in clips, 4.3 s) share one seek: decoding through the gap costs
/// about what a seek and its keyframe preroll do.
pub const MERGE_GAP: u64 = 8;

/// Runs of clips to decode for `clips` (ascending): consecutive ones, and ones at most
/// [`MERGE_GAP`] apart, share a run.
pub(super) fn seek_runs(clips: &[u64]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &c in clips {
        match runs.last_mut() {
            Some(r) if c <= r.1 + MERGE_GAP => r.1 = r.1.max(c),
            _ => runs.push((c, c)),
        }
    }
    runs
}

/// The full contract's spans of the clips the coarse pass found: the same times and source
/// frames (both grids start each clip at `index × clip duration`, and a span's frames follow
/// from its times), with the last clip's padding counted in full-contract slots. None when
/// the two grids do not give the same number of clips, which only a sequential decode can
/// settle.
pub(super) fn full_spans(
    coarse: &CompleteRecord,
    frames: u32,
    fps: f64,
) -> Option<Vec<crate::video::ClipSpan>> {
    let clock = crate::video::SlotClock::new(fps);
    let len = u64::from(frames.max(1));
    let slots = clock.slots_before(coarse.duration_s).max(1);
    let clips = slots.div_ceil(len);
    if clips != coarse.spans.len() as u64 {
        return None;
    }
    let mut spans = coarse.spans.clone();
    for s in &mut spans {
        let filled = slots.saturating_sub(s.index * len).min(len);
        s.padded_slots = (len - filled) as u32;
    }
    Some(spans)
}

/// For every clip, the clip whose features it carries: itself, or the reference it reuses.
pub(super) fn feature_sources(clips: usize, reused: &[(u64, u64)]) -> Vec<u64> {
    let mut src: Vec<u64> = (0..clips as u64).collect();
    for &(clip, reference) in reused {
        if let Some(s) = src.get_mut(clip as usize) {
            *s = reference;
        }
    }
    src
}

/// The candidate rule (module documentation, step 2): clip indices, ascending. `changed` are
/// the clips the gate sent through the coarse network (ascending).
pub(super) fn candidates(coarse_scores: &[f32], threshold: f32, changed: &[u64]) -> BTreeSet<u64> {
    let floor = CANDIDATE_SCORE.min(threshold * 0.5);
    let n = coarse_scores.len() as u64;
    let mut order: Vec<u64> = (0..n).collect();
    order.sort_by(|&a, &b| {
        coarse_scores[b as usize]
            .total_cmp(&coarse_scores[a as usize])
            .then(a.cmp(&b))
    });
    let seeds = order
        .iter()
        .enumerate()
        .filter(|&(rank, &i)| rank < TOP_CANDIDATES || coarse_scores[i as usize] >= floor)
        .map(|(_, &i)| i);
    let mut out = BTreeSet::new();
    for i in seeds {
        for j in i.saturating_sub(NEIGHBOURS)..=(i + NEIGHBOURS).min(n.saturating_sub(1)) {
            out.insert(j);
        }
    }
    // The changes themselves, within a budget: the highest-scoring [`CHANGED_SHARE`] of the
    // footage's clips among those the gate passed (all of them on quiet footage).
    let budget = (CHANGED_SHARE * n as f64).ceil() as usize;
    let mut changed: Vec<u64> = changed.iter().copied().filter(|&c| c < n).collect();
    changed.sort_by(|&a, &b| {
        coarse_scores[b as usize]
            .total_cmp(&coarse_scores[a as usize])
            .then(a.cmp(&b))
    });
    out.extend(changed.into_iter().take(budget));
    out
}

/// The anchors: an even sample of the clip indices (module documentation, step 2).
pub(super) fn anchors(clips: usize) -> Vec<u64> {
    let count = clips.div_ceil(ANCHOR_EVERY).max(MIN_ANCHORS).min(clips);
    if count == 0 {
        return Vec::new();
    }
    let mut v: Vec<u64> = (0..count)
        .map(|i| ((i as f64 + 0.5) * clips as f64 / count as f64).floor() as u64)
        .collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_follow_the_gate() {
        assert_eq!(
            feature_sources(6, &[(1, 0), (2, 0), (5, 4)]),
            vec![0, 0, 0, 3, 4, 4]
        );
    }

    #[test]
    fn candidates_are_the_upper_tail_and_the_top_with_neighbours() {
        let mut s = vec![0.01f32; 100];
        s[50] = 0.9; // a flag
        s[20] = 0.15; // the upper tail
        let c = candidates(&s, 0.5, &[]);
        for i in 48..=52 {
            assert!(c.contains(&i), "{i}");
        }
        for i in 18..=22 {
            assert!(c.contains(&i), "{i}");
        }
        // The top 8 are always in, with their neighbours: the two above and the six highest
        // of a low bump at 80..90.
        for (k, i) in (80..90).enumerate() {
            s[i] = 0.08 - 0.001 * k as f32;
        }
        let c = candidates(&s, 0.5, &[]);
        assert!(c.contains(&78) && c.contains(&87));
        assert!(!c.contains(&88) && !c.contains(&0) && !c.contains(&30));
        // A low threshold lowers the candidate level with it.
        s[70] = 0.06;
        assert!(!candidates(&s, 0.5, &[]).contains(&70));
        assert!(candidates(&s, 0.1, &[]).contains(&70));
    }

    #[test]
    fn changes_are_candidates_within_a_budget() {
        // The top 8 (always candidates, with neighbours) are at 90..98.
        let mut s = vec![0.01f32; 100];
        for v in &mut s[90..98] {
            *v = 0.05;
        }
        // Few changes: all of them, however low their coarse score, without neighbours.
        let c = candidates(&s, 0.5, &[3, 40, 41]);
        assert!(c.contains(&3) && c.contains(&40) && c.contains(&41));
        assert!(!c.contains(&2) && !c.contains(&39));
        // Many: the highest-scoring 5 % of the footage's clips.
        let mut s = vec![0.01f32; 100];
        let changed: Vec<u64> = (30..60).collect();
        for (k, &i) in changed.iter().enumerate() {
            s[i as usize] = 0.01 + 0.001 * k as f32;
        }
        let c = candidates(&s, 0.5, &changed);
        for i in 55..60 {
            assert!(c.contains(&i), "{i}");
        }
        // (52..60 are also the top 8, with neighbours 50..62.)
        assert_eq!(c.iter().filter(|&&i| i < 50).count(), 0, "{c:?}");
    }

    #[test]
    fn anchors_are_even_and_bounded() {
        assert_eq!(anchors(0), Vec::<u64>::new());
        assert_eq!(anchors(10), (0..10).collect::<Vec<_>>());
        let a = anchors(6750);
        assert_eq!(a.len(), 135);
        assert!(a.windows(2).all(|w| w[1] - w[0] == 50));
        assert_eq!(anchors(100).len(), 32);
    }

    #[test]
    fn seek_runs_merge_close_clips_only() {
        assert_eq!(seek_runs(&[]), Vec::<(u64, u64)>::new());
        assert_eq!(
            seek_runs(&[3, 4, 5, 13, 22, 40]),
            vec![(3, 13), (22, 22), (40, 40)]
        );
        assert_eq!(seek_runs(&[0, 8, 16]), vec![(0, 16)]);
    }

    fn span(index: u64, start_s: f64, end_s: f64, padded_slots: u32) -> crate::video::ClipSpan {
        crate::video::ClipSpan {
            index,
            start_s,
            end_s,
            start_frame: index * 16,
            end_frame: index * 16 + 16,
            padded_slots,
        }
    }

    #[test]
    fn full_spans_recount_the_last_clips_padding_or_refuse() {
        let clip = 16.0 / 30.0;
        // 2.5 clips of footage: 40 slots of 30 fps, so the third clip has 8 padded.
        let end = 2.5 * clip;
        let coarse = CompleteRecord {
            version: 1,
            spans: vec![
                span(0, 0.0, clip, 0),
                span(1, clip, 2.0 * clip, 0),
                span(2, 2.0 * clip, end, 4),
            ],
            frames: 40,
            duration_s: end,
            decode_errors: 0,
            warnings: Vec::new(),
            partial: false,
            gaps: Vec::new(),
            damaged: Vec::new(),
        };
        let s = full_spans(&coarse, 16, 30.0).unwrap();
        assert_eq!(
            s.iter().map(|x| x.padded_slots).collect::<Vec<_>>(),
            vec![0, 0, 8]
        );
        assert_eq!(s[2].start_frame, coarse.spans[2].start_frame);
        // A grid that would give another clip count is refused.
        let mut short = coarse.clone();
        short.spans.pop();
        assert!(full_spans(&short, 16, 30.0).is_none());
    }
}
