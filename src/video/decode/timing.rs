//! Where each decoded frame lies in time, and what is wrong with it: timestamps missing,
//! repeated, backwards or impossible, recording gaps, and frames decoded with damage concealed
//! (merged into regions a reviewer can go to).

use super::*;

impl FrameDecoder {
    /// Counts a frame decoded with damage: flagged by the decoder, or returned after FFmpeg
    /// logged errors (with frame threading a message can land a frame or two from the frame it
    /// concerns; regions are merged over [`DAMAGE_MERGE_S`], so that is within a region).
    pub(super) fn note_damage(&mut self, frame: &ff::frame::Video, time_s: f64) {
        let errors = self.tag.errors();
        let new_errors = errors.saturating_sub(self.errors_seen);
        self.errors_seen = errors;
        self.stats.ffmpeg_errors = errors;
        let flagged = frame.is_corrupt() || crate::video::ffi::decode_error_flags(frame) != 0;
        if !flagged && new_errors == 0 {
            return;
        }
        self.stats.damaged_frames += 1;
        // The frame's own interval, not its stored duration: the frame before a recording gap
        // is "shown" for the whole gap in MP4, and the gap is not damage.
        let interval = if self.last_delta_s > 0.0 {
            self.last_delta_s
        } else {
            self.nominal_frame_s
        };
        let end = time_s + self.last_duration_s.min(interval);
        let full = self.stats.damaged.len() >= MAX_RANGES;
        match self.stats.damaged.last_mut() {
            Some(r) if time_s - r.to_s <= DAMAGE_MERGE_S && time_s >= r.from_s => {
                r.to_s = r.to_s.max(end);
                r.frames += 1;
                r.errors += new_errors;
            }
            _ if full => {}
            _ => self.stats.damaged.push(DamagedRange {
                from_s: time_s,
                to_s: end,
                frames: 1,
                errors: new_errors,
            }),
        }
    }

    /// Places a decoded frame on the timeline.
    pub(super) fn stamp(&mut self, frame: &ff::frame::Video) -> f64 {
        self.stats.frames += 1;
        let first = self.stats.frames == 1;
        let rewound = std::mem::take(&mut self.rewound);
        let mut ts = frame.timestamp().or_else(|| frame.pts());
        if let (false, Some(t), Some(o)) = (first, ts, self.origin) {
            let t_s = (t - o) as f64 * self.seconds_per_tick;
            if t_s > self.time_limit_s || t_s - self.last_time_s > MAX_JUMP_S {
                self.stats.ts_implausible += 1;
                ts = None;
            }
        }
        if let (false, Some(t), Some(o)) = (first, ts, self.origin) {
            let t_s = (t - o) as f64 * self.seconds_per_tick;
            let prev = self.last_time_s;
            if t_s < prev - 1e-9 {
                self.stats.ts_backwards += 1;
                self.stats.first_backwards_s.get_or_insert(prev);
            } else if (t_s - prev).abs() <= 1e-9 {
                self.stats.ts_repeated += 1;
            } else if t_s - prev > GAP_MIN_S.max(GAP_FRAMES * self.nominal_frame_s)
                && self.stats.gaps.len() < MAX_RANGES
            {
                self.stats.gaps.push(TimeRange {
                    from_s: prev
                        + if self.last_delta_s > 0.0 {
                            self.last_delta_s
                        } else {
                            self.nominal_frame_s
                        },
                    to_s: t_s,
                });
            }
        }
        let time_s = match (ts, self.origin) {
            (Some(t), Some(o)) => (t - o) as f64 * self.seconds_per_tick,
            (Some(t), None) => {
                self.origin = Some(t);
                0.0
            }
            (None, _) if first || rewound => 0.0,
            (None, _) => {
                // Implausible times too: seeking by time would not find those frames here.
                self.stats.untimed += 1;
                self.last_time_s + self.last_duration_s
            }
        };
        if !first && ts.is_some() && time_s < self.last_time_s {
            self.stats.untimed += 1;
        }
        let time_s = if first {
            0.0
        } else {
            time_s.max(self.last_time_s).max(0.0)
        };
        let pkt_duration = frame.packet().duration;
        let delta = time_s - self.last_time_s;
        if !first && delta > 0.0 {
            self.last_delta_s = delta;
        }
        let stated_s = pkt_duration as f64 * self.seconds_per_tick;
        // A duration far below the frame interval is no duration: Dahua's `.dav` demuxer
        // gives every packet one millisecond, which would end the footage a frame early.
        self.last_duration_s = if pkt_duration > 0 && stated_s >= 0.25 * self.nominal_frame_s {
            stated_s
        } else if !first && delta > 0.0 {
            delta
        } else {
            self.nominal_frame_s
        };
        self.last_time_s = time_s;
        time_s
    }
}
