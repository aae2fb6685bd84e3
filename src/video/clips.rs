//! Resampling decoded frames onto a fixed-rate grid of "slots" by timestamp, and grouping the
//! slots into fixed-length clips.
//!
//! Slot `n` sits at time `n / fps` and shows the frame that is on screen at that moment: the
//! latest frame whose timestamp is not after it (sample and hold). A 10 fps source therefore
//! fills three 30 fps slots per frame; a dropped second of footage repeats the last frame for a
//! second; a variable-rate file lands each frame on the seconds its timestamps say.

use serde::{Deserialize, Serialize};

/// Timestamps are compared with this slack (seconds) so that `0.1` from a 1/10 time base and
/// `3/30` from the slot grid count as the same instant.
const EPS_S: f64 = 1e-6;

/// Time bases at least this fine are taken to round finer true times (Matroska and FLV count
/// milliseconds); coarser ones count whole frames and are exact.
const ROUNDING_TICK_S: f64 = 1.0 / 240.0;

/// How far apart (seconds) a frame's time and a grid time may be and still be the same instant,
/// for timestamps counted in ticks of `seconds_per_tick`.
///
/// Matroska stores milliseconds: a 30 fps frame at 2/30 s is written as 0.067 s, and after a
/// stream-copy remux from MP4 the first frame sits at 0.021 s, so relative times are off by up
/// to a millisecond. Compared exactly, that frame would miss the slot at 0.0667 s, and every
/// clip of the remux would shift by a frame against the MP4 it was copied from (scores moved
/// by up to 0.005 on a 12 s H.264 with B-frames). One tick of slack makes the same pictures
/// land on the same slots in both.
pub fn timestamp_slack(seconds_per_tick: f64) -> f64 {
    if seconds_per_tick > 0.0 && seconds_per_tick <= ROUNDING_TICK_S {
        seconds_per_tick.max(EPS_S)
    } else {
        EPS_S
    }
}

/// The fixed-rate grid that frames are resampled onto.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotClock {
    /// Slots per second.
    pub fps: f64,
    /// Frame times this close to a slot count as at it ([`timestamp_slack`]).
    pub slack_s: f64,
}

impl SlotClock {
    /// A grid of `fps` slots per second for exact timestamps.
    pub fn new(fps: f64) -> Self {
        Self {
            fps,
            slack_s: EPS_S,
        }
    }

    /// A grid of `fps` slots per second for timestamps in ticks of `seconds_per_tick`.
    pub fn for_ticks(fps: f64, seconds_per_tick: f64) -> Self {
        Self {
            fps,
            slack_s: timestamp_slack(seconds_per_tick),
        }
    }

    /// Time of slot `n`, in seconds.
    pub fn time_of(&self, slot: u64) -> f64 {
        slot as f64 / self.fps
    }

    /// Number of slots strictly before time `t` (seconds), with `slack_s` slack.
    pub fn slots_before(&self, t: f64) -> u64 {
        let x = (t - self.slack_s) * self.fps;
        if x <= 0.0 { 0 } else { x.ceil() as u64 }
    }
}

/// Where one clip lies in the footage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClipSpan {
    /// Clip number, from 0.
    pub index: u64,
    /// Start time in seconds since the first frame.
    pub start_s: f64,
    /// End time in seconds (exclusive); the footage's end for the last clip.
    pub end_s: f64,
    /// First source frame (0-based, presentation order) on screen during the clip.
    pub start_frame: u64,
    /// One past the last source frame on screen during the clip: the number of source frames
    /// whose timestamp is before `end_s`.
    pub end_frame: u64,
    /// Slots at the end filled by repeating the last frame because the footage ended.
    pub padded_slots: u32,
}

/// One instruction to the caller, in order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlotEvent {
    /// Copy source frame `frame` (always the frame currently held) to position `pos` of clip
    /// `clip`.
    Fill { clip: u64, pos: u32, frame: u64 },
    /// All slots of the clip are filled and its span is final.
    Ready(ClipSpan),
}

/// Turns a stream of frame timestamps into slot fills and finished clips.
///
/// A clip whose slots are all filled is held back until the next frame shows whether any more
/// source frames start before the clip's end; only then is `end_frame` known.
#[derive(Debug, Clone)]
pub struct ClipAssembler {
    clock: SlotClock,
    len: u32,
    next_slot: u64,
    frames_seen: u64,
    held: Option<u64>,
    clip_start_frame: u64,
    waiting: Option<ClipSpan>,
}

impl ClipAssembler {
    /// Clips of `frames_per_clip` slots on `clock`.
    pub fn new(clock: SlotClock, frames_per_clip: u32) -> Self {
        Self {
            clock,
            len: frames_per_clip.max(1),
            next_slot: 0,
            frames_seen: 0,
            held: None,
            clip_start_frame: 0,
            waiting: None,
        }
    }

    /// Clips of `frames_per_clip` slots on `clock`, for frames decoded after a seek to before
    /// clip `first_clip`: frames before its start are only held, slots fill from its first
    /// one. Frame numbers in the spans then count from the seek, not from the file's start.
    pub fn starting_at(clock: SlotClock, frames_per_clip: u32, first_clip: u64) -> Self {
        let mut a = Self::new(clock, frames_per_clip);
        a.next_slot = first_clip * u64::from(a.len);
        a
    }

    /// Time of the first slot still to fill, seconds.
    pub fn next_slot_time(&self) -> f64 {
        self.clock.time_of(self.next_slot)
    }

    /// Source frames seen so far.
    pub fn frames_seen(&self) -> u64 {
        self.frames_seen
    }

    /// A new source frame starts at `time_s` (non-decreasing). Fills the slots the previously
    /// held frame covers, then holds the new frame.
    pub fn push_frame(&mut self, time_s: f64, out: &mut Vec<SlotEvent>) {
        let arriving = self.frames_seen;
        if let Some(mut w) = self.waiting.take() {
            if time_s >= w.end_s - self.clock.slack_s {
                w.end_frame = arriving;
                out.push(SlotEvent::Ready(w));
            } else {
                self.waiting = Some(w);
            }
        }
        if let Some(held) = self.held {
            let upto = self.clock.slots_before(time_s);
            while self.next_slot < upto {
                self.fill(held, Some(time_s), f64::INFINITY, out);
            }
        }
        self.held = Some(arriving);
        self.frames_seen += 1;
    }

    /// The footage ends at `end_s` (the last frame's time plus its duration). Fills the slots up
    /// to the end, pads the last clip by repeating the last frame, and emits every remaining
    /// clip.
    pub fn finish(&mut self, end_s: f64, out: &mut Vec<SlotEvent>) {
        if let Some(mut w) = self.waiting.take() {
            w.end_frame = self.frames_seen;
            out.push(SlotEvent::Ready(w));
        }
        let Some(held) = self.held else {
            return;
        };
        // Footage of a single instant still yields one slot.
        let upto = self.clock.slots_before(end_s).max(1);
        while self.next_slot < upto {
            self.fill(held, None, end_s, out);
        }
        let pos = (self.next_slot % u64::from(self.len)) as u32;
        if pos != 0 {
            let padded = self.len - pos;
            let clip = self.next_slot / u64::from(self.len);
            for p in pos..self.len {
                out.push(SlotEvent::Fill {
                    clip,
                    pos: p,
                    frame: held,
                });
            }
            out.push(SlotEvent::Ready(ClipSpan {
                index: clip,
                start_s: self.clock.time_of(clip * u64::from(self.len)),
                end_s: end_s.max(self.clock.time_of(clip * u64::from(self.len))),
                start_frame: self.clip_start_frame,
                end_frame: self.frames_seen,
                padded_slots: padded,
            }));
            self.next_slot += u64::from(padded);
        }
    }

    /// Fills the next slot with `frame`. `arriving` is the time of the frame that triggered the
    /// fill (None at the end of the footage); `end_cap` caps a finished clip's end time.
    fn fill(&mut self, frame: u64, arriving: Option<f64>, end_cap: f64, out: &mut Vec<SlotEvent>) {
        let len = u64::from(self.len);
        let clip = self.next_slot / len;
        let pos = (self.next_slot % len) as u32;
        if pos == 0 {
            self.clip_start_frame = frame;
        }
        out.push(SlotEvent::Fill { clip, pos, frame });
        self.next_slot += 1;
        if u64::from(pos) + 1 == len {
            let mut span = ClipSpan {
                index: clip,
                start_s: self.clock.time_of(clip * len),
                end_s: self.clock.time_of((clip + 1) * len).min(end_cap),
                start_frame: self.clip_start_frame,
                end_frame: self.frames_seen,
                padded_slots: 0,
            };
            match arriving {
                Some(t) if t < span.end_s - self.clock.slack_s => self.waiting = Some(span),
                _ => {
                    span.end_frame = self.frames_seen;
                    out.push(SlotEvent::Ready(span));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the assembler over frame times and returns (slot → frame, clips).
    fn run(times: &[f64], end_s: f64, fps: f64, len: u32) -> (Vec<u64>, Vec<ClipSpan>) {
        let mut a = ClipAssembler::new(SlotClock::new(fps), len);
        let mut ev = Vec::new();
        for &t in times {
            a.push_frame(t, &mut ev);
        }
        a.finish(end_s, &mut ev);
        let mut slots = Vec::new();
        let mut clips = Vec::new();
        for e in ev {
            match e {
                SlotEvent::Fill { clip, pos, frame } => {
                    assert_eq!(clip * u64::from(len) + u64::from(pos), slots.len() as u64);
                    slots.push(frame);
                }
                SlotEvent::Ready(c) => {
                    assert_eq!(c.index, clips.len() as u64, "clips come out in order");
                    assert_eq!(slots.len() as u64, (c.index + 1) * u64::from(len));
                    clips.push(c);
                }
            }
        }
        (slots, clips)
    }

    #[test]
    fn slot_clock_counts_exact_instants_once() {
        let c = SlotClock::new(30.0);
        assert_eq!(c.slots_before(0.0), 0);
        assert_eq!(c.slots_before(0.1), 3);
        assert_eq!(c.slots_before(0.1 + 1e-9), 3);
        assert_eq!(c.slots_before(0.1 - 1e-9), 3);
        assert_eq!(c.slots_before(0.1001), 4);
        assert_eq!(c.slots_before(1.0), 30);
    }

    #[test]
    fn ten_fps_source_repeats_each_frame_three_times() {
        let times: Vec<f64> = (0..32).map(|i| f64::from(i) * 0.1).collect();
        let (slots, clips) = run(&times, 3.2, 30.0, 16);
        assert_eq!(slots.len(), 96);
        for (n, f) in slots.iter().enumerate() {
            assert_eq!(*f, n as u64 / 3);
        }
        assert_eq!(clips.len(), 6);
        // Clip 0 spans 0..0.5333 s: frames 0..=5 are shown (frame 5 starts at 0.5).
        assert_eq!((clips[0].start_frame, clips[0].end_frame), (0, 6));
        // Clip 1 spans 0.5333..1.0667: frame 5 is on screen at its start; frames 6..=10 start inside.
        assert_eq!((clips[1].start_frame, clips[1].end_frame), (5, 11));
        assert!(clips.iter().all(|c| c.padded_slots == 0));
    }

    #[test]
    fn tail_is_padded_and_marked() {
        // 20 frames at 30 fps: one full clip and 4 real slots in the second.
        let times: Vec<f64> = (0..20).map(|i| f64::from(i) / 30.0).collect();
        let (slots, clips) = run(&times, 20.0 / 30.0, 30.0, 16);
        assert_eq!(clips.len(), 2);
        assert_eq!(clips[1].padded_slots, 12);
        assert_eq!(&slots[16..20], &[16, 17, 18, 19]);
        assert!(slots[20..].iter().all(|&f| f == 19));
        assert!((clips[1].end_s - 20.0 / 30.0).abs() < 1e-9);
        assert_eq!(clips[1].end_frame, 20);
    }

    #[test]
    fn dropped_frames_hold_the_last_picture_on_the_right_seconds() {
        // 30 fps with a gap: frames at 0..0.5 s, then nothing until 2.0 s.
        let mut times: Vec<f64> = (0..15).map(|i| f64::from(i) / 30.0).collect();
        times.extend((60..75).map(|i| f64::from(i) / 30.0));
        let (slots, clips) = run(&times, 75.0 / 30.0, 30.0, 16);
        assert_eq!(slots.len(), 80);
        assert!(slots[14..60].iter().all(|&f| f == 14));
        assert_eq!(slots[60], 15);
        // Clip 1 (0.533..1.067 s) shows only the held frame 14.
        assert_eq!((clips[1].start_frame, clips[1].end_frame), (14, 15));
        // Clip 3 (1.6..2.133 s) starts on frame 14 and shows frames 15..=18 from 2.0 s.
        assert_eq!((clips[3].start_frame, clips[3].end_frame), (14, 19));
    }

    #[test]
    fn variable_rate_lands_on_timestamps() {
        // 0-1 s at 10 fps, then 1-2 s at 60 fps.
        let mut times: Vec<f64> = (0..10).map(|i| f64::from(i) * 0.1).collect();
        times.extend((0..60).map(|i| 1.0 + f64::from(i) / 60.0));
        let (slots, clips) = run(&times, 2.0, 30.0, 16);
        assert_eq!(slots.len(), 64);
        assert_eq!(clips[3].padded_slots, 4, "60 real slots in 4 clips of 16");
        assert_eq!(slots[29], 9); // 0.9667 s: frame 9 (0.9 s)
        assert_eq!(slots[30], 10); // 1.0 s: first 60 fps frame
        assert_eq!(slots[31], 12); // 1.0333 s: frame 12 (1.0333 s)
        assert_eq!(slots[59], 10 + 58); // 1.9667 s
    }

    #[test]
    fn duplicated_timestamps_show_the_later_frame() {
        let times = [0.0, 0.1, 0.1, 0.2];
        let (slots, _) = run(&times, 0.3, 10.0, 2);
        assert_eq!(slots, vec![0, 2, 3, 3]);
    }

    #[test]
    fn single_frame_yields_one_padded_clip() {
        let (slots, clips) = run(&[0.0], 0.0, 30.0, 16);
        assert_eq!(slots, vec![0; 16]);
        assert_eq!(clips.len(), 1);
        assert_eq!(clips[0].padded_slots, 15);
        assert_eq!((clips[0].start_frame, clips[0].end_frame), (0, 1));
    }

    /// After a seek to a frame before clip 3, the slots of clip 3 on hold exactly the frames
    /// a decode from the start puts there.
    #[test]
    fn starting_at_a_clip_fills_the_same_slots_as_from_the_start() {
        let times: Vec<f64> = (0..200).map(|i| f64::from(i) / 25.0).collect();
        let (slots, clips) = run(&times, 8.0, 30.0, 16);
        // Seek to frame 30 (1.2 s), before clip 3 (1.6 s).
        let mut a = ClipAssembler::starting_at(SlotClock::new(30.0), 16, 3);
        assert!((a.next_slot_time() - 1.6).abs() < 1e-9);
        let mut ev = Vec::new();
        for &t in &times[30..] {
            a.push_frame(t, &mut ev);
        }
        a.finish(8.0, &mut ev);
        let mut got = Vec::new();
        let mut spans = Vec::new();
        for e in ev {
            match e {
                SlotEvent::Fill { clip, pos, frame } => got.push((clip, pos, frame + 30)),
                SlotEvent::Ready(c) => spans.push(c),
            }
        }
        assert_eq!(got.len(), slots.len() - 48);
        for (clip, pos, frame) in got {
            assert_eq!(slots[(clip * 16 + u64::from(pos)) as usize], frame);
        }
        assert_eq!(spans[0].index, 3);
        assert_eq!(spans.len(), clips.len() - 3);
        for (s, c) in spans.iter().zip(&clips[3..]) {
            assert_eq!((s.index, s.start_s, s.end_s), (c.index, c.start_s, c.end_s));
        }
    }

    #[test]
    fn clip_ends_exactly_on_a_frame_boundary() {
        // 15 fps: clip 0 ends at 16/30 s = 0.5333 s; frame 8 starts at 0.5333 s exactly.
        let times: Vec<f64> = (0..16).map(|i| f64::from(i) / 15.0).collect();
        let (_, clips) = run(&times, 16.0 / 15.0, 30.0, 16);
        assert_eq!((clips[0].start_frame, clips[0].end_frame), (0, 8));
        assert_eq!((clips[1].start_frame, clips[1].end_frame), (8, 16));
    }
}
