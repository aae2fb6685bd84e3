//! Decoding a file straight into fixed-rate, fixed-size clips of packed RGB.

use super::{
    ClipAssembler, ClipSpan, ClipSpec, DecodeStats, FrameDecoder, Scaler, SlotClock, SlotEvent,
    VideoError, VideoInfo,
};
use ffmpeg_next as ff;
use std::collections::VecDeque;

/// A finished clip: where it lies, and its pixels (`frames` × `height` × `width` × 3 bytes) when
/// they were asked for.
pub type ReadClip = (ClipSpan, Option<Vec<u8>>);

/// Yields a file's clips in order. A source frame is converted to RGB only when a slot of a
/// wanted clip shows it, so skipping clips (already cached, say) costs decoding only.
pub struct ClipReader {
    decoder: FrameDecoder,
    scaler: Scaler,
    assembler: ClipAssembler,
    info_path: std::path::PathBuf,
    spec: ClipSpec,
    held: ff::frame::Video,
    incoming: ff::frame::Video,
    held_rgb: Vec<u8>,
    held_rgb_valid: bool,
    /// Clips being filled: the current one and at most one waiting for its end frame.
    building: Vec<(u64, Vec<u8>)>,
    ready: VecDeque<ReadClip>,
    /// Clip buffers handed back by the caller, reused so that hours of footage do not mean
    /// hours of 2 MB allocations and frees.
    spare: Vec<Vec<u8>>,
    events: Vec<SlotEvent>,
    done: bool,
    /// After a seek: the time the first frame decoded must not be later than (the start of
    /// the first slot to fill), checked on that frame.
    seek_check: Option<f64>,
}

impl ClipReader {
    /// Starts reading the opened `input` described by `info`.
    pub fn new(
        source: super::Source,
        info: &VideoInfo,
        spec: ClipSpec,
    ) -> Result<Self, VideoError> {
        let scaler = Scaler::new(spec.resize, spec.width, spec.height);
        let frame_bytes = scaler.frame_bytes();
        let decoder = FrameDecoder::new(source, info)?;
        let clock = SlotClock::for_ticks(spec.fps, decoder.seconds_per_tick());
        Ok(Self {
            decoder,
            scaler,
            assembler: ClipAssembler::new(clock, spec.frames),
            info_path: info.path.clone(),
            spec,
            held: ff::frame::Video::empty(),
            incoming: ff::frame::Video::empty(),
            held_rgb: vec![0u8; frame_bytes],
            held_rgb_valid: false,
            building: Vec::with_capacity(2),
            ready: VecDeque::new(),
            spare: Vec::new(),
            events: Vec::new(),
            done: false,
            seek_check: None,
        })
    }

    /// Repositions so that the next clip read is `clip`: seeks to the keyframe at or before
    /// `preroll_s` ahead of its start and decodes on from there, so its pixels are those of a
    /// decode from the start as long as the file's timestamps are sound (the caller checks
    /// [`DecodeStats::untimed`] of an earlier full decode). Spans read after a seek number
    /// their frames from the seek point, not from the start. Needs a frame decoded first.
    pub fn seek_to_clip(&mut self, clip: u64, preroll_s: f64) -> Result<(), VideoError> {
        if self.decoder.origin_ticks().is_none() {
            // Seek times count from the first frame, which fixes the clock.
            if self.decoder.next_frame(&mut self.incoming)?.is_none() {
                return Err(VideoError::NoFrames {
                    path: self.info_path.clone(),
                });
            }
        }
        let clock = SlotClock::for_ticks(self.spec.fps, self.decoder.seconds_per_tick());
        self.assembler = ClipAssembler::starting_at(clock, self.spec.frames, clip);
        let start = self.assembler.next_slot_time();
        self.decoder.seek((start - preroll_s).max(0.0))?;
        for (_, buf) in self.building.drain(..) {
            if self.spare.len() < 2 {
                self.spare.push(buf);
            }
        }
        self.ready.clear();
        self.held_rgb_valid = false;
        self.done = false;
        self.seek_check = Some(start);
        Ok(())
    }

    /// What decoding has found so far.
    pub fn stats(&self) -> &DecodeStats {
        self.decoder.stats()
    }

    /// What decoding found, with FFmpeg's logged errors up to date (after the last clip).
    pub fn final_stats(&mut self) -> DecodeStats {
        self.decoder.final_stats()
    }

    /// The decoded duration so far (the footage's, once the last clip has been read).
    pub fn end_time_s(&self) -> f64 {
        self.decoder.end_time_s()
    }

    /// Hands a clip's pixel buffer back for reuse once the caller has copied it.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < 2 {
            self.spare.push(buf);
        }
    }

    /// The next clip, or `None` after the last. `wanted(index)` says whether the clip's pixels
    /// are needed; it must give the same answer for a clip every time it is asked.
    pub fn next_clip(
        &mut self,
        wanted: &dyn Fn(u64) -> bool,
    ) -> Result<Option<ReadClip>, VideoError> {
        while self.ready.is_empty() && !self.done {
            let time = self.decoder.next_frame(&mut self.incoming)?;
            if let Some(start) = self.seek_check.take() {
                match time {
                    Some(t) if t <= start + 1e-6 => {}
                    _ => {
                        return Err(VideoError::Decode {
                            path: self.info_path.clone(),
                            reason: format!(
                                "a seek to before {start:.3} s resumed at {}",
                                time.map_or_else(|| "the end".to_string(), |t| format!("{t:.3} s"))
                            ),
                        });
                    }
                }
            }
            match time {
                Some(t) => self.assembler.push_frame(t, &mut self.events),
                None => {
                    if self.decoder.stats().frames == 0 {
                        return Err(VideoError::NoFrames {
                            path: self.info_path.clone(),
                        });
                    }
                    self.assembler
                        .finish(self.decoder.end_time_s(), &mut self.events);
                    self.done = true;
                }
            }
            self.apply_events(wanted)?;
            if time.is_some() {
                std::mem::swap(&mut self.held, &mut self.incoming);
                self.held_rgb_valid = false;
            }
        }
        Ok(self.ready.pop_front())
    }

    /// Carries out the assembler's instructions; every event refers to the held frame.
    fn apply_events(&mut self, wanted: &dyn Fn(u64) -> bool) -> Result<(), VideoError> {
        let frame_bytes = self.held_rgb.len();
        let clip_bytes = frame_bytes * self.spec.frames as usize;
        let mut events = std::mem::take(&mut self.events);
        for ev in events.drain(..) {
            match ev {
                SlotEvent::Fill { clip, pos, .. } => {
                    if !wanted(clip) {
                        continue;
                    }
                    if !self.held_rgb_valid {
                        self.scaler
                            .convert(&self.held, &mut self.held_rgb)
                            .map_err(|reason| VideoError::Scale {
                                path: self.info_path.clone(),
                                width: self.spec.width,
                                height: self.spec.height,
                                reason,
                            })?;
                        self.held_rgb_valid = true;
                    }
                    let i = match self.building.iter().position(|(c, _)| *c == clip) {
                        Some(i) => i,
                        None => {
                            let mut buf = self.spare.pop().unwrap_or_default();
                            buf.resize(clip_bytes, 0);
                            self.building.push((clip, buf));
                            self.building.len() - 1
                        }
                    };
                    let at = pos as usize * frame_bytes;
                    self.building[i].1[at..at + frame_bytes].copy_from_slice(&self.held_rgb);
                }
                SlotEvent::Ready(span) => {
                    let pixels = self
                        .building
                        .iter()
                        .position(|(c, _)| *c == span.index)
                        .map(|i| self.building.swap_remove(i).1);
                    self.ready.push_back((span, pixels));
                }
            }
        }
        // Keep the allocation for the next frame.
        self.events = events;
        Ok(())
    }
}
