//! Decoding one video stream frame by frame: a frame-threaded FFmpeg decoder behind a watchdog,
//! seeking, deinterlacing and turning pictures upright, and the statistics of what it found
//! ([`DecodeStats`]) that become the report's warnings.

mod timing;

use super::fflog::LogTag;
use super::fields::{Deinterlace, PictureFilter, filter_spec};
use super::{VideoError, VideoInfo};
use ffmpeg_next as ff;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// After this many read errors in a row the rest of the file is treated as unreadable.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 64;

/// A recording gap is a stretch with no frame longer than this many seconds, or than
/// [`GAP_FRAMES`] frame intervals if that is longer: recorders that drop frames on a still scene
/// leave stretches of a second or so; a camera that stopped recording leaves more.
pub const GAP_MIN_S: f64 = 2.0;
/// See [`GAP_MIN_S`].
const GAP_FRAMES: f64 = 10.0;
/// A timestamp this far past the duration the container states (seconds, or 10 % of it if
/// more) is damage, not a time: a flipped bit in a Matroska cluster time would otherwise put one
/// frame hours later and the clip grid would fill every slot in between.
const PAST_END_SLACK_S: f64 = 10.0;
/// A jump between consecutive frames longer than this (a day) is damage, not a recording gap,
/// where the container states no duration to judge by.
const MAX_JUMP_S: f64 = 86_400.0;

/// Damaged frames this close (seconds) belong to one damaged region.
const DAMAGE_MERGE_S: f64 = 1.0;
/// Ranges kept per kind, so that a file damaged everywhere cannot grow the record without
/// bound; the counts stay exact.
const MAX_RANGES: usize = 1000;

/// A stretch of the footage, in seconds since the first frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Start.
    pub from_s: f64,
    /// End.
    pub to_s: f64,
}

/// A region of frames decoded with damage: FFmpeg flagged them (concealed errors, missing
/// references, invalid bitstream) or logged errors while decoding them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DamagedRange {
    /// From the first damaged frame's time.
    pub from_s: f64,
    /// To the end of the last damaged frame.
    pub to_s: f64,
    /// Frames in the region that FFmpeg flagged or logged errors for.
    pub frames: u64,
    /// Error messages FFmpeg logged in the region.
    pub errors: u64,
}

/// What decoding found, as opposed to what the container claimed.
#[derive(Debug, Clone, Default)]
pub struct DecodeStats {
    /// Frames the decoder produced.
    pub frames: u64,
    /// Packets or frames the decoder rejected as corrupt (decoding went on past them).
    pub decode_errors: u64,
    /// The demuxer's error that ended reading early, if reading did not end at a clean EOF.
    pub read_error: Option<String>,
    /// Frames after the first that had no timestamp or one earlier than their predecessor's:
    /// their time was made up, so seeking by time would not find them where a sequential
    /// decode puts them.
    pub untimed: u64,
    /// Error messages FFmpeg logged while demuxing and decoding this file (see `fflog`): a
    /// damaged H.264 stream decodes without a failed call, and says so only there.
    pub ffmpeg_errors: u64,
    /// The first of them, as FFmpeg worded them.
    pub ffmpeg_messages: Vec<String>,
    /// Frames FFmpeg flagged as decoded with damage, or returned after logging errors.
    pub damaged_frames: u64,
    /// Where they are (at most [`MAX_RANGES`]).
    pub damaged: Vec<DamagedRange>,
    /// Frames whose timestamp was earlier than their predecessor's.
    pub ts_backwards: u64,
    /// Frames with the same timestamp as their predecessor (a duplicated frame or chunk).
    pub ts_repeated: u64,
    /// Time of the first timestamp that went backwards.
    pub first_backwards_s: Option<f64>,
    /// Frames whose timestamp lay far past the container's stated end (or a day after the
    /// frame before): placed one frame interval after their predecessor instead.
    pub ts_implausible: u64,
    /// Recording gaps: stretches with no frame (see [`GAP_MIN_S`]), at most [`MAX_RANGES`].
    pub gaps: Vec<TimeRange>,
    /// True when the stream is interlaced and its frames are deinterlaced (`video::fields`).
    pub deinterlace: bool,
    /// Frames that were deinterlaced.
    pub deinterlaced_frames: u64,
    /// Clockwise turn applied to show the picture upright (the container's display matrix).
    pub rotated_deg: u32,
}

/// Decodes the video stream of one file frame by frame, in presentation order, with each
/// frame's time in seconds since the first frame.
///
/// Time comes from the frames' best-effort timestamps; a frame without one is placed one frame
/// interval after its predecessor. Timestamps that go backwards (broken muxers) are held at the
/// latest time seen, so time never runs backwards for the caller.
pub struct FrameDecoder {
    input: ff::format::context::Input,
    decoder: ff::decoder::Video,
    path: PathBuf,
    stream_index: usize,
    /// How the file was opened, for reopening it the same way.
    opened_with: super::OpenOptions,
    seconds_per_tick: f64,
    nominal_frame_s: f64,
    origin: Option<i64>,
    last_time_s: f64,
    last_duration_s: f64,
    /// Latest plausible frame time (see [`PAST_END_SLACK_S`]); infinite when no duration is
    /// stated.
    time_limit_s: f64,
    /// Time between the last two frames (0 until there are two): the interval a gap is
    /// measured from, since a container may give the frame before a gap the gap's duration.
    last_delta_s: f64,
    pending: Option<ff::Packet>,
    flushing: bool,
    finished: bool,
    stats: DecodeStats,
    /// FFmpeg errors counted when the last frame was returned.
    errors_seen: u64,
    /// Bounds each frame's and each seek's reading (see `video::watchdog`).
    watchdog: super::Watchdog,
    /// Deinterlacing and rotation ([`super::fields`]), decided on the first frame.
    filter: Option<PictureFilter>,
    filter_decided: bool,
    /// The stream header says interlaced: every frame is deinterlaced.
    interlaced_header: bool,
    /// Clockwise turn that shows the picture upright.
    rotation_deg: u32,
    /// Decoded frames on their way into the filter.
    scratch: ff::frame::Video,
    filter_time_base: (i32, i32),
    /// The stream's frames carry no times (raw elementary streams, MJPEG): a seek lands at a
    /// byte position whose time nobody knows, so seeking means decoding from the start.
    untimed_stream: bool,
    /// The file was reopened at its start: the next untimed frame is the first again.
    rewound: bool,
    /// Counts FFmpeg's error messages for this file's demuxer and decoder. Declared last, so
    /// that it is released after them and a later decoder cannot inherit their messages.
    tag: LogTag,
}

impl FrameDecoder {
    /// Sets up a frame-threaded decoder for the stream described by `info`.
    pub fn new(source: super::Source, info: &VideoInfo) -> Result<Self, VideoError> {
        let mut input = source.input;
        let path = info.path.clone();
        let tag = LogTag::new();
        tag.attach_input(&mut input);
        let decoder = open_decoder(&input, info.stream_index, &path, &tag)?;
        let (num, den) = info.time_base;
        let seconds_per_tick = if den != 0 {
            f64::from(num) / f64::from(den)
        } else {
            0.0
        };
        let nominal_frame_s = if info.fps > 0.0 {
            1.0 / info.fps
        } else {
            1.0 / 25.0
        };
        Ok(Self {
            input,
            decoder,
            path,
            stream_index: info.stream_index,
            opened_with: info.opened_with,
            filter: None,
            filter_decided: false,
            interlaced_header: info.interlaced,
            rotation_deg: info.rotation_deg,
            scratch: ff::frame::Video::empty(),
            filter_time_base: info.time_base,
            untimed_stream: info.timing != super::FrameTiming::Container,
            rewound: false,
            seconds_per_tick,
            nominal_frame_s,
            origin: None,
            last_time_s: 0.0,
            last_duration_s: nominal_frame_s,
            last_delta_s: 0.0,
            time_limit_s: info
                .duration_s
                .filter(|d| *d > 0.0 && !info.duration_guessed)
                .map_or(f64::INFINITY, |d| d + PAST_END_SLACK_S.max(0.1 * d)),
            pending: None,
            flushing: false,
            finished: false,
            stats: DecodeStats::default(),
            errors_seen: 0,
            watchdog: info.watchdog.clone(),
            tag,
        })
    }

    /// Gives the pictures as the decoder makes them: no deinterlacing, no turning upright.
    /// Lossless exports and frame hashes need the original's own pictures; the scorer and the
    /// player want them upright and whole ([`super::fields`]).
    pub fn as_decoded(mut self) -> Self {
        self.filter_decided = true;
        self.filter = None;
        self
    }

    /// The first frame's timestamp in stream ticks, once a frame has been decoded.
    pub fn origin_ticks(&self) -> Option<i64> {
        self.origin
    }

    /// Seconds per stream tick (the stream's time base).
    pub fn seconds_per_tick(&self) -> f64 {
        self.seconds_per_tick
    }

    /// Repositions at the last keyframe at or before `time_s` (seconds since the first frame,
    /// which must have been decoded already); the frames decoded next start there. Times stay on
    /// the same clock. Frame counts in [`DecodeStats`] stop meaning "frames so far" after a seek.
    /// Fails on a demuxer that cannot seek (see [`FrameDecoder::seek_or_rewind`]).
    pub fn seek(&mut self, time_s: f64) -> Result<(), VideoError> {
        if self.untimed_stream {
            return Err(VideoError::Decode {
                path: self.path.clone(),
                reason: format!(
                    "seek to {time_s:.3} s: the stream's frames carry no times to seek by"
                ),
            });
        }
        let ts = self.seek_target(time_s);
        self.watchdog.step();
        let sought = self.input.seek(ts, ..ts);
        self.watchdog.idle();
        sought.map_err(|e| VideoError::Decode {
            path: self.path.clone(),
            reason: format!("seek to {time_s:.3} s failed: {e}"),
        })?;
        self.after_seek();
        Ok(())
    }

    /// [`FrameDecoder::seek`], or, on a demuxer that cannot seek at all (raw MJPEG, multipart
    /// MJPEG), a fresh start from the first frame: the caller decodes forward from there. For
    /// single seeks (a picture, the player); a pass that seeks to many clips uses `seek` and
    /// falls back to one sequential decode instead of decoding from the start each time.
    pub fn seek_or_rewind(&mut self, time_s: f64) -> Result<(), VideoError> {
        let ts = self.seek_target(time_s);
        self.watchdog.step();
        let sought = if self.untimed_stream {
            Err(ff::Error::Other {
                errno: ff::util::error::ENOSYS,
            })
        } else {
            self.input.seek(ts, ..ts)
        };
        self.watchdog.idle();
        if let Err(e) = sought {
            self.rewind().map_err(|r| VideoError::Decode {
                path: self.path.clone(),
                reason: format!("seek to {time_s:.3} s failed ({e}), and so did reopening: {r}"),
            })?;
        }
        self.after_seek();
        Ok(())
    }

    fn seek_target(&self, time_s: f64) -> i64 {
        let origin_s = self.origin.unwrap_or(0) as f64 * self.seconds_per_tick;
        ((origin_s + time_s.max(0.0)) * f64::from(ff::ffi::AV_TIME_BASE)).floor() as i64
    }

    fn after_seek(&mut self) {
        self.decoder.flush();
        if let Some(f) = self.filter.as_mut() {
            f.reset();
        }
        self.pending = None;
        self.flushing = false;
        self.finished = false;
        // The clock may now run from an earlier time than the last frame shown.
        self.last_time_s = 0.0;
    }

    /// Reopens the file at its start, for demuxers that cannot seek. The clock is kept: the
    /// first frame has the same timestamp again.
    fn rewind(&mut self) -> Result<(), VideoError> {
        let opts = super::OpenOptions {
            stream: Some(self.stream_index),
            ..self.opened_with
        };
        let (super::Source { mut input }, info) = super::open_video_with(&self.path, &opts)?;
        self.tag.attach_input(&mut input);
        self.watchdog = info.watchdog.clone();
        if info.stream_index != self.stream_index {
            return Err(VideoError::Decode {
                path: self.path.clone(),
                reason: "the video stream changed on reopening".into(),
            });
        }
        self.decoder = open_decoder(&input, self.stream_index, &self.path, &self.tag)?;
        self.input = input;
        self.rewound = true;
        Ok(())
    }

    /// What decoding has found so far.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// The stats, with FFmpeg's logged errors brought up to date (messages logged after the
    /// last frame, while the demuxer hit the damaged end of a file, count too).
    pub fn final_stats(&mut self) -> DecodeStats {
        self.stats.ffmpeg_errors = self.tag.errors();
        self.stats.ffmpeg_messages = self.tag.messages();
        self.stats.clone()
    }

    /// Time at which the last decoded frame stops being shown: its timestamp plus its duration.
    /// After the last frame this is the footage's decoded duration.
    pub fn end_time_s(&self) -> f64 {
        if self.stats.frames == 0 {
            0.0
        } else {
            self.last_time_s + self.last_duration_s
        }
    }

    /// Decodes the next frame into `frame` and returns its time in seconds since the first frame,
    /// or `None` when the stream is exhausted (cleanly or because the rest is unreadable; see
    /// [`DecodeStats::read_error`]).
    pub fn next_frame(&mut self, frame: &mut ff::frame::Video) -> Result<Option<f64>, VideoError> {
        self.watchdog.step();
        let got = self.next_frame_bounded(frame);
        self.watchdog.idle();
        got
    }

    fn next_frame_bounded(
        &mut self,
        frame: &mut ff::frame::Video,
    ) -> Result<Option<f64>, VideoError> {
        if !self.filter_decided {
            if self.next_decoded(frame)?.is_none() {
                return Ok(None);
            }
            self.filter_decided = true;
            let deint = if self.interlaced_header {
                Deinterlace::All
            } else if frame.is_interlaced() {
                Deinterlace::Flagged
            } else {
                Deinterlace::Off
            };
            self.stats.deinterlace = deint != Deinterlace::Off;
            self.stats.rotated_deg = self.rotation_deg;
            match filter_spec(deint, self.rotation_deg) {
                None => return Ok(Some(self.finish_frame(frame))),
                Some(spec) => {
                    let mut f = PictureFilter::new(spec, self.filter_time_base);
                    self.count_fields(frame);
                    f.push(frame, &self.path)?;
                    self.filter = Some(f);
                }
            }
        }
        if self.filter.is_none() {
            return Ok(self.next_decoded(frame)?.map(|()| self.finish_frame(frame)));
        }
        loop {
            let Some(filter) = self.filter.as_mut() else {
                return Ok(None);
            };
            if filter.pull(frame) {
                return Ok(Some(self.finish_frame(frame)));
            }
            if filter.flushed() {
                return Ok(None);
            }
            let mut raw = std::mem::replace(&mut self.scratch, ff::frame::Video::empty());
            let fed = match self.next_decoded(&mut raw) {
                Ok(Some(())) => {
                    self.count_fields(&raw);
                    match self.filter.as_mut() {
                        Some(f) => f.push(&raw, &self.path),
                        None => Ok(()),
                    }
                }
                Ok(None) => match self.filter.as_mut() {
                    Some(f) => f.flush(&self.path),
                    None => Ok(()),
                },
                Err(e) => Err(e),
            };
            self.scratch = raw;
            fed?;
        }
    }

    /// Counts a frame the filter deinterlaces.
    fn count_fields(&mut self, frame: &ff::frame::Video) {
        if self.stats.deinterlace && (self.interlaced_header || frame.is_interlaced()) {
            self.stats.deinterlaced_frames += 1;
        }
    }

    /// Times a frame that leaves the decoder (and filter), and notes its damage.
    fn finish_frame(&mut self, frame: &ff::frame::Video) -> f64 {
        let t = self.stamp(frame);
        self.note_damage(frame, t);
        t
    }

    /// The next frame out of the decoder, untimed.
    fn next_decoded(&mut self, frame: &mut ff::frame::Video) -> Result<Option<()>, VideoError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            match self.decoder.receive_frame(frame) {
                Ok(()) => return Ok(Some(())),
                Err(ff::Error::Eof) => {
                    self.finished = true;
                    return Ok(None);
                }
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {}
                Err(_) => self.stats.decode_errors += 1,
            }
            if self.flushing {
                // A decoder that asks for input after EOF was sent has nothing more to give.
                self.finished = true;
                return Ok(None);
            }
            self.feed()?;
        }
    }

    /// Sends the decoder the next packet of our stream, or EOF.
    fn feed(&mut self) -> Result<(), VideoError> {
        let mut read_errors = 0u32;
        loop {
            let packet = match self.pending.take() {
                Some(p) => p,
                None => {
                    let mut p = ff::Packet::empty();
                    match p.read(&mut self.input) {
                        Ok(()) => {
                            read_errors = 0;
                            p
                        }
                        Err(ff::Error::Eof) => return self.send_eof(),
                        Err(_) if self.watchdog.fired() => {
                            self.stats.read_error = Some(format!(
                                "FFmpeg read for over {:.0} s without producing a frame and was stopped",
                                self.watchdog.step_limit_s()
                            ));
                            return self.send_eof();
                        }
                        Err(e) => {
                            read_errors += 1;
                            if read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                                self.stats.read_error = Some(e.to_string());
                                return self.send_eof();
                            }
                            continue;
                        }
                    }
                }
            };
            if packet.stream() != self.stream_index {
                continue;
            }
            match self.decoder.send_packet(&packet) {
                Ok(()) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    // The decoder must be drained first; keep the packet for the next call.
                    self.pending = Some(packet);
                    return Ok(());
                }
                Err(_) => {
                    self.stats.decode_errors += 1;
                    continue;
                }
            }
        }
    }

    fn send_eof(&mut self) -> Result<(), VideoError> {
        self.flushing = true;
        match self.decoder.send_eof() {
            Ok(()) | Err(ff::Error::Eof) => Ok(()),
            Err(e) => Err(VideoError::Decode {
                path: self.path.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

/// A frame-threaded decoder for stream `index` of `input`.
fn open_decoder(
    input: &ff::format::context::Input,
    index: usize,
    path: &std::path::Path,
    tag: &LogTag,
) -> Result<ff::decoder::Video, VideoError> {
    let stream = input.stream(index).ok_or_else(|| VideoError::Decode {
        path: path.to_path_buf(),
        reason: "video stream disappeared".into(),
    })?;
    let mut ctx =
        ff::codec::context::Context::from_parameters(stream.parameters()).map_err(|e| {
            VideoError::Decode {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
    // Before opening: the frame threads' copies of the context inherit the tag.
    tag.attach_codec(&mut ctx);
    // Without frame threading H.264 decodes on one core at about half speed.
    ctx.set_threading(ff::codec::threading::Config {
        kind: ff::codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    ctx.decoder().video().map_err(|e| VideoError::Decode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
