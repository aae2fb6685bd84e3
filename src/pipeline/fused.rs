//! The fused scorer: a clip is flagged when it is unusual in its own file **and** unlike the
//! normal footage of the pack's bank.
//!
//! Two parts, each on a scale that means the same in every file:
//! - `novelty_z`: the within-file novelty distance in spreads above the file's normal bulk,
//!   with the trimmed calibration (`novelty`, `trim_spreads`), so that an incident filling a
//!   fifth of a short file is still measured against the rest of it;
//! - `bank_z`: the distance to the normal bank in spreads above normal footage's own distance
//!   to it (`bank`), measured once, when the bank was built, leaving each video out.
//!
//! Each part is divided by the level at which it would flag on its own: `novelty_flag_z`
//! (2.75 spreads, the novelty scorer's 0.5) and the bank's `flag_z` (the level one normal clip
//! in a hundred reaches, leave-one-video-out). The fused level is the smaller of the two,
//! `m = min(novelty_z / novelty_flag_z, bank_z / flag_z)`, and the score
//! `1 / (1 + exp(−(m − 1) / width))`, 0.5 where the weaker part reaches its flag.
//!
//! Why the minimum (chosen on the kit's training split, leave-one-video-out for the bank, by
//! `vigil bank rules` (`mil::fusion`), and judged on its test split; README "Scores"): the two
//! parts fail in different
//! places. Novelty alone flags what is merely rare here (a car on a road that is empty most of
//! the night); the bank alone flags whatever the bank has not seen, which on a camera unlike the
//! bank's footage is everything. Asking both keeps a new camera's ordinary footage at the
//! novelty scorer's level of false alarms, and keeps a busy file's repeated, ordinary events
//! down when the bank knows them. On the kit the minimum ranked frames as well as the bank
//! alone and better than novelty alone, with fewer false alarms than either.
//!
//! The trained MIL head is not a part: it was trained on every training video, so the kit has no
//! held-out footage left to weigh it with, and on the test split it ranks below both parts.
//! When the pack has one its probability is reported beside the parts (`score_parts.head`) so
//! that an analyst sees what it says.

use crate::model::{FusedParams, FusionRule, NoveltyParams};
use serde::{Deserialize, Serialize};

/// What a fused score is made of, per clip (`ClipScore::score_parts`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreParts {
    /// Within-file novelty, spreads above the file's normal bulk.
    pub novelty_z: f32,
    /// Distance to the normal bank, spreads above normal footage's own.
    pub bank_z: f32,
    /// The MIL head's probability, when the pack has one (shown, not fused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<f32>,
}

/// The fused scorer's trim (spreads above the median), as chosen on the synthetic distance
/// distributions of `novelty`'s tests: an incident of up to two fifths of a file is flagged, a
/// uniformly busy file is not.
pub const NOVELTY_TRIM: f64 = 2.0;

/// The fused scorer a pack gets with its first bank (`vigil bank add`): the pack's novelty
/// parameters with the trimmed calibration, flagging on the novelty side where the novelty
/// scorer does, as steeply.
pub fn fused_params(novelty: &NoveltyParams) -> FusedParams {
    FusedParams {
        rule: FusionRule::MinOfFlagLevels,
        novelty: NoveltyParams {
            trim_spreads: Some(NOVELTY_TRIM),
            ..*novelty
        },
        novelty_flag_z: novelty.z_mid,
        width: novelty.z_width / novelty.z_mid,
    }
}

/// Why a clip scored what it did, in words (the review app's tooltips, the summary), from its
/// parts and the flag levels the report's scorer recorded.
pub fn explain(parts: &ScoreParts, scorer_params: &serde_json::Value) -> String {
    let level = |v: Option<f64>| v.map_or_else(String::new, |z| format!(" (flags at {z:.2})"));
    let mut text = format!(
        "novelty {:.2} spreads above this file's normal bulk{}; bank {:.2} spreads from normal footage{}",
        parts.novelty_z,
        level(scorer_params["novelty_flag_z"].as_f64()),
        parts.bank_z,
        level(scorer_params["bank"]["flag_z"].as_f64()),
    );
    if let Some(h) = parts.head {
        text.push_str(&format!("; MIL head {h:.2} (shown, not fused)"));
    }
    text
}

/// The scorer's parameters as the report records them.
pub fn summary_params(p: &FusedParams, bank: &crate::model::BankSpec) -> serde_json::Value {
    serde_json::json!({
        "rule": p.rule,
        "formula": "min(novelty_z / novelty_flag_z, bank_z / bank_flag_z)",
        "novelty": p.novelty,
        "novelty_flag_z": p.novelty_flag_z,
        "width": p.width,
        "bank": {
            "file": bank.file,
            "sha256": bank.sha256,
            "rows": bank.rows,
            "videos": bank.sources.len(),
            "median": bank.median,
            "spread": bank.spread,
            "flag_z": bank.flag_z,
        },
    })
}

/// The fused score of one clip (see the module's rule).
pub fn fused_score(novelty_z: f64, bank_z: f64, p: &FusedParams, bank_flag_z: f64) -> f32 {
    let level = match p.rule {
        FusionRule::MinOfFlagLevels => (novelty_z / p.novelty_flag_z).min(bank_z / bank_flag_z),
    };
    (1.0 / (1.0 + (-(level - 1.0) / p.width).exp())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> FusedParams {
        fused_params(&crate::pipeline::novelty::pack_params())
    }

    #[test]
    fn both_parts_must_reach_their_flag() {
        let p = params();
        // Unusual here and unlike normal footage: flagged.
        assert!(fused_score(4.0, 3.0, &p, 1.8) > 0.8);
        // Unusual here, but the bank knows it (the passing car): not flagged.
        assert!(fused_score(6.0, 0.5, &p, 1.8) < 0.1);
        // Unlike the bank, but ordinary in this file (a new camera's usual picture): not flagged.
        assert!(fused_score(0.4, 9.0, &p, 1.8) < 0.1);
        // Exactly at the weaker part's flag: 0.5.
        assert!((fused_score(2.75, 5.0, &p, 1.8) - 0.5).abs() < 1e-6);
        assert!((fused_score(5.0, 1.8, &p, 1.8) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn the_explanation_names_each_part_and_its_flag_level() {
        let p = params();
        let bank = crate::model::BankSpec {
            file: "b.npy".into(),
            sha256: String::new(),
            rows: 2,
            dim: 2,
            feature_key: "k".into(),
            k: 5,
            median: 0.1,
            spread: 0.02,
            flag_z: 1.78,
            sources: Vec::new(),
        };
        let parts = ScoreParts {
            novelty_z: 3.1,
            bank_z: 0.4,
            head: Some(0.12),
        };
        let text = explain(&parts, &summary_params(&p, &bank));
        assert_eq!(
            text,
            "novelty 3.10 spreads above this file's normal bulk (flags at 2.75); bank 0.40 spreads from normal footage (flags at 1.78); MIL head 0.12 (shown, not fused)"
        );
    }

    #[test]
    fn the_score_is_deterministic_and_monotone_in_each_part() {
        let p = params();
        let a = fused_score(3.1, 2.2, &p, 1.8);
        assert_eq!(a.to_bits(), fused_score(3.1, 2.2, &p, 1.8).to_bits());
        let mut last = 0.0;
        for i in 0..50 {
            let s = fused_score(f64::from(i) * 0.2, 10.0, &p, 1.8);
            assert!(s >= last);
            last = s;
        }
    }
}
