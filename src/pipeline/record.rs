//! What decoding found, turned into the cache record and the warnings a reviewer reads
//! (truncation, dropped frames, assumed timing, damage, gaps, timestamps).

use super::cache::CompleteRecord;
use super::threads::DecodeSummary;
use crate::video::{FrameTiming, VideoInfo};

/// Turns what decoding found into the cache record, with the reviewer-facing warnings.
pub(super) fn completion_record(info: &VideoInfo, summary: DecodeSummary) -> CompleteRecord {
    let DecodeSummary {
        spans,
        stats,
        end_s,
        ..
    } = summary;
    let mut warnings = Vec::new();
    let frames = stats.frames;
    let expected = info.frames_expected;
    let shortfall = expected.is_some_and(|exp| {
        let slack = if info.frames_expected_exact {
            1
        } else {
            (exp / 20).max(2)
        };
        frames + slack < exp
    });
    // Truncation is judged by the time the decoded frames cover against the duration the
    // container states: a recorder that drops frames on a still scene leaves fewer frames than
    // its header counts, but every second of the recording. The frame count decides only where
    // the container states no duration (or FFmpeg guessed one from the bit rate).
    let stated = info
        .duration_s
        .filter(|d| *d > 0.0 && !info.duration_guessed);
    let short_in_time = stated.is_some_and(|d| end_s + (0.02 * d).max(1.0) < d);
    let partial = stats.read_error.is_some()
        || short_in_time
        || (stated.is_none() && shortfall && info.frames_expected_exact);
    if partial {
        let of = expected.map_or_else(String::new, |e| format!(" of ~{e}"));
        let covered = stated.map_or_else(String::new, |d| {
            format!(", {end_s:.1} s of the {d:.1} s the container states")
        });
        let why = stats
            .read_error
            .as_ref()
            .map_or_else(String::new, |e| format!(" (reading stopped: {e})"));
        warnings.push(format!(
            "decoded {frames}{of} frames{covered}{why}: the file looks truncated or damaged; scores cover the decoded {end_s:.1} s only"
        ));
    } else if shortfall
        && let Some(exp) = expected
        && stats.decode_errors + stats.ffmpeg_errors > 0
    {
        warnings.push(format!(
            "the file holds {frames} frames where its header implies ~{exp}: the missing ones were lost to the damage below or dropped when it was recorded (the decoded frames cover all {end_s:.1} s)"
        ));
    } else if shortfall && let Some(exp) = expected {
        warnings.push(format!(
            "the file holds {frames} frames where its header implies ~{exp}: frames were dropped when it was recorded (not truncation: the decoded frames cover all {end_s:.1} s); a still scene is often recorded this way"
        ));
    }
    match info.timing {
        FrameTiming::Assumed => {
            let what = crate::video::untimed_container(&info.container).map_or_else(
                || format!("the raw {} stream has no VUI timing and", info.codec),
                |name| name.to_string(),
            );
            warnings.push(format!(
                "{what} stores no frame times: FFmpeg assumed {:.3} fps, so times and the duration ({end_s:.1} s) hold only if the recording ran at that rate (give the recorder's rate with --fps N)",
                info.fps
            ));
        }
        FrameTiming::Given => warnings.push(format!(
            "the stream stores no frame times: frames are timed at {} fps, the rate given with --fps; times and the duration ({end_s:.1} s) rest on it",
            info.fps
        )),
        FrameTiming::Container | FrameTiming::StreamHeader => {}
    }
    if stats.deinterlace {
        warnings.push(format!(
            "the footage is interlaced: {} of {frames} frames were deinterlaced (FFmpeg bwdif) before the network; exports keep the original fields",
            stats.deinterlaced_frames
        ));
    }
    if stats.rotated_deg != 0 {
        warnings.push(format!(
            "the container turns the picture {}° clockwise: frames were turned upright before the network",
            stats.rotated_deg
        ));
    }
    let decode_errors = stats.decode_errors + stats.ffmpeg_errors;
    if decode_errors > 0 || stats.damaged_frames > 0 {
        let regions = &stats.damaged;
        let at = regions.first().map_or_else(String::new, |r| {
            format!(
                " in {} region{} (first {})",
                regions.len(),
                if regions.len() == 1 { "" } else { "s" },
                span_words(r.from_s, r.to_s)
            )
        });
        let first = stats
            .ffmpeg_messages
            .first()
            .map_or_else(String::new, |m| format!("; FFmpeg said first: \"{m}\""));
        warnings.push(format!(
            "the footage is damaged: {decode_errors} decoding errors, {} frames decoded with damage concealed{at}; scores there rest on repaired pictures{first}",
            stats.damaged_frames
        ));
    }
    if !stats.gaps.is_empty() {
        let longest = stats
            .gaps
            .iter()
            .max_by(|a, b| (a.to_s - a.from_s).total_cmp(&(b.to_s - b.from_s)));
        if let Some(g) = longest {
            warnings.push(format!(
                "{} recording gap{} (no frames for more than {:.0} s), the longest {:.1} s ({})",
                stats.gaps.len(),
                if stats.gaps.len() == 1 { "" } else { "s" },
                crate::video::GAP_MIN_S,
                g.to_s - g.from_s,
                span_words(g.from_s, g.to_s)
            ));
        }
    }
    if stats.ts_backwards > 0 {
        warnings.push(format!(
            "timestamps went backwards for {} frames (first after {}): the container is damaged or was edited; those frames were held at the latest time",
            stats.ts_backwards,
            crate::base::format_hms(stats.first_backwards_s.unwrap_or(0.0))
        ));
    }
    if stats.ts_implausible > 0 {
        let (n, them) = match stats.ts_implausible {
            1 => (
                "1 frame carries an impossible timestamp".to_string(),
                "it was",
            ),
            n => (
                format!("{n} frames carry impossible timestamps"),
                "they were",
            ),
        };
        warnings.push(format!(
            "{n} (far past the end the container states, or a day after the frame before): the container is damaged; {them} placed one frame after the frame before"
        ));
    }
    match stats.ts_repeated {
        0 => {}
        1 => warnings.push(
            "1 frame repeats its predecessor's timestamp (a duplicated frame or chunk)".into(),
        ),
        n => warnings.push(format!(
            "{n} frames repeat their predecessor's timestamp (duplicated frames or chunks)"
        )),
    }
    CompleteRecord {
        version: super::cache::FORMAT_VERSION,
        spans,
        frames,
        duration_s: end_s,
        decode_errors,
        warnings,
        partial,
        gaps: stats.gaps,
        damaged: stats.damaged,
    }
}

/// "at 00:01:02.500–00:01:04.000", for a warning.
fn span_words(from_s: f64, to_s: f64) -> String {
    format!(
        "at {}–{}",
        crate::base::format_hms(from_s),
        crate::base::format_hms(to_s)
    )
}
