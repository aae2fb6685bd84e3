//! The frame table: every shown frame's timestamp, read from the packets without decoding.
//!
//! Frame numbers and "the frame on screen at t" come from here, for the player and the
//! exporter alike, so that frame 1234 means the same picture everywhere, on variable-rate
//! footage too. Packets the demuxer marks as never shown (before an MP4 edit list's start) are
//! left out, as the decoder leaves them out.

use super::{OpenOptions, VideoError, VideoInfo, ffi, open_video_with};
use ffmpeg_next as ff;
use std::path::{Path, PathBuf};

/// A video file with its stream facts and frame table, read once (one pass over the packets)
/// and shared by every export of it: on hours of footage each pass costs seconds.
#[derive(Debug, Clone)]
pub struct IndexedVideo {
    /// The file.
    pub path: PathBuf,
    /// What probing found.
    pub info: VideoInfo,
    /// Every shown frame's timestamp.
    pub table: FrameTable,
}

impl IndexedVideo {
    /// Probes `path` and reads its frame table, opening it once.
    pub fn open(path: &Path) -> Result<Self, VideoError> {
        Self::open_with(path, &OpenOptions::default())
    }

    /// [`IndexedVideo::open`] for a chosen stream or a given frame rate ([`OpenOptions`]).
    pub fn open_with(path: &Path, opts: &OpenOptions) -> Result<Self, VideoError> {
        let (source, info) = open_video_with(path, opts)?;
        let table = FrameTable::from_input(source.input, &info, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            info,
            table,
        })
    }
}

/// The next packet of `input`, in a packet of its own. FFmpeg's `av_read_frame` fills the
/// packet it is given without releasing what that packet held, so reading into one packet
/// again and again keeps every packet of the file in memory: 2.3 GB for 8 hours of footage
/// (measured with heaptrack, when the frame table was read that way).
pub(super) fn next_packet(input: &mut ff::format::context::Input) -> Result<ff::Packet, ff::Error> {
    let mut packet = ff::Packet::empty();
    packet.read(input)?;
    Ok(packet)
}

/// Fills in the timestamps of video packets that carry none (raw H.264/HEVC elementary
/// streams carry none at all; MPEG-PS recorders leave them off every other packet): one frame
/// interval after the packet before, in decode order. Exact for the streams recorders write
/// (no B-frames); the frame table, the keyframe search and the copied clip all use it, so
/// frame numbers agree among them and with the decoder, which times such frames the same way.
pub(super) struct PacketClock {
    last: Option<i64>,
    step: i64,
    /// Packets given a timestamp.
    pub filled: u64,
}

impl PacketClock {
    /// A clock for the stream `info` describes.
    pub(super) fn new(info: &VideoInfo) -> Self {
        let (num, den) = info.time_base;
        let tick_s = if num > 0 && den > 0 {
            f64::from(num) / f64::from(den)
        } else {
            0.0
        };
        let fps = if info.fps > 0.0 { info.fps } else { 25.0 };
        let step = if tick_s > 0.0 {
            ((1.0 / fps) / tick_s).round().max(1.0) as i64
        } else {
            1
        };
        Self {
            last: None,
            step,
            filled: 0,
        }
    }

    /// Gives `packet` (of the video stream) a timestamp when it has none.
    pub(super) fn fill(&mut self, packet: &mut ff::Packet) {
        match packet.dts().or(packet.pts()) {
            Some(t) => self.last = Some(t),
            None => {
                let t = self.last.map_or(0, |l| l + self.step);
                packet.set_pts(Some(t));
                packet.set_dts(Some(t));
                self.last = Some(t);
                self.filled += 1;
            }
        }
    }
}

/// Shown frames of one video stream, in presentation order.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameTable {
    /// Presentation timestamps in stream ticks, sorted, without duplicates.
    pub ticks: Vec<i64>,
    /// Seconds per tick.
    pub seconds_per_tick: f64,
    /// Packets that carried no timestamp and were given one ([`PacketClock`]).
    pub untimed_packets: u64,
}

impl FrameTable {
    /// Reads the packets of `path`'s video stream. A damaged tail ends the table where reading
    /// stops.
    pub fn read(path: &Path) -> Result<Self, VideoError> {
        Ok(IndexedVideo::open(path)?.table)
    }

    /// Reads the packets of the video stream of an opened input (consumed: it is read to the
    /// end).
    fn from_input(
        mut input: ff::format::context::Input,
        info: &VideoInfo,
        path: &Path,
    ) -> Result<Self, VideoError> {
        let stream_index = info.stream_index;
        let (num, den) = info.time_base;
        let seconds_per_tick = if den != 0 {
            f64::from(num) / f64::from(den)
        } else {
            0.0
        };
        let mut ticks = Vec::new();
        let mut clock = PacketClock::new(info);
        // A read error ends the table where reading stops (a damaged tail).
        while let Ok(mut packet) = next_packet(&mut input) {
            if packet.stream() != stream_index {
                continue;
            }
            clock.fill(&mut packet);
            if !ffi::is_discard(&packet)
                && let Some(t) = packet.pts().or(packet.dts())
            {
                ticks.push(t);
            }
        }
        ticks.sort_unstable();
        ticks.dedup();
        if ticks.is_empty() {
            return Err(VideoError::NoFrames {
                path: path.to_path_buf(),
            });
        }
        Ok(Self {
            ticks,
            seconds_per_tick,
            untimed_packets: clock.filled,
        })
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    /// True when there are no frames (never, for a table that was read).
    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty()
    }

    /// Seconds of frame `i` since the first frame.
    pub fn time_of(&self, i: usize) -> f64 {
        let i = i.min(self.ticks.len().saturating_sub(1));
        (self.ticks[i] - self.ticks[0]) as f64 * self.seconds_per_tick
    }

    /// How close a frame's time must be to a time to count as at it: the scoring grid's rule
    /// ([`super::clips::timestamp_slack`]), so that frame numbers here and in clip spans agree
    /// on millisecond time bases too.
    fn slack_s(&self) -> f64 {
        super::clips::timestamp_slack(self.seconds_per_tick)
    }

    /// The frame on screen at `t` seconds: the last one whose time is not after it.
    pub fn frame_at(&self, t: f64) -> usize {
        let origin = self.ticks[0];
        let tb = self.seconds_per_tick;
        self.ticks
            .partition_point(|&x| (x - origin) as f64 * tb <= t + self.slack_s())
            .saturating_sub(1)
    }

    /// The first frame whose time is at or after `t` (the table's length if none).
    pub fn first_at_or_after(&self, t: f64) -> usize {
        let origin = self.ticks[0];
        let tb = self.seconds_per_tick;
        self.ticks
            .partition_point(|&x| ((x - origin) as f64 * tb) < t - self.slack_s())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_follow_sample_and_hold() {
        let t = FrameTable {
            ticks: vec![100, 110, 120, 150],
            seconds_per_tick: 0.01,
            untimed_packets: 0,
        };
        assert_eq!(t.time_of(3), 0.5);
        assert_eq!(t.frame_at(0.0), 0);
        assert_eq!(t.frame_at(0.15), 1);
        assert_eq!(t.frame_at(0.2), 2);
        assert_eq!(t.frame_at(10.0), 3);
        assert_eq!(t.first_at_or_after(0.15), 2);
        assert_eq!(t.first_at_or_after(0.2), 2);
        assert_eq!(t.first_at_or_after(0.6), 4);
    }
}
