//! Lossless clip export by stream copy: the packets of the source, byte for byte, in a new
//! container, starting at the requested moment.
//!
//! A clip cannot start between keyframes without re-encoding, so the copy starts at the
//! keyframe before the requested time and the frames before it (the lead-in) are kept for
//! decoding but hidden: their timestamps are made negative and the MP4/MOV muxer writes an edit
//! list that starts playback at the requested frame. Matroska has no edit lists; an MKV export
//! shows its lead-in, and says so. At the end, frames that later-decoded frames depend on (with
//! B-frames) may have to stay; the outcome counts them.
//!
//! The file is written under a temporary name in the destination folder, fsynced, and renamed
//! to its final, unused name last: a killed or failed export never looks complete.

mod packets;

use super::VideoError;
use super::frames::{FrameTable, IndexedVideo};
use packets::copy_packets;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Codecs the MP4 muxer carries, so a source in another container can be remuxed to MP4 (and
/// keep its edit list).
const MP4_VIDEO: &[&str] = &[
    "h264",
    "hevc",
    "mpeg4",
    "av1",
    "vp9",
    "mjpeg",
    "mpeg2video",
    "mpeg1video",
];
/// Audio codecs kept in MP4/MOV exports (others are left out and said so).
const MP4_AUDIO: &[&str] = &["aac", "mp3", "ac3", "eac3", "opus", "alac"];

/// What an export did, in the terms a report needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipExport {
    /// The clip written (final name).
    pub file: PathBuf,
    /// Container written: `mp4`, `mov` or `matroska`.
    pub container: String,
    /// Why that container, in words.
    pub container_note: String,
    /// Requested start, seconds since the source's first frame.
    pub requested_from_s: f64,
    /// Requested end (exclusive), seconds.
    pub requested_to_s: f64,
    /// First source frame shown (0-based).
    pub first_frame: u64,
    /// Last source frame shown (inclusive).
    pub last_frame: u64,
    /// Source time where playback of the clip starts.
    pub start_s: f64,
    /// Source time where playback of the clip ends.
    pub end_s: f64,
    /// Source time of the keyframe the copy starts from.
    pub keyframe_s: f64,
    /// Frames before `start_s` carried for decoding.
    pub lead_in_frames: u64,
    /// True when the lead-in is hidden by an edit list (MP4/MOV).
    pub lead_in_hidden: bool,
    /// Source frames at or after the requested end that the clip also shows, because frames
    /// before the end are decoded from them (B-frame anchors); usually none.
    pub trailing_frames: Vec<u64>,
    /// Video packets copied.
    pub video_packets: u64,
    /// Audio packets copied.
    pub audio_packets: u64,
    /// The streams in the clip, e.g. `video h264 768x432`.
    pub streams: Vec<String>,
    /// Streams of the source left out, and why.
    pub left_out: Vec<String>,
}

/// Options of an export.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Container metadata to write (e.g. a comment naming the source and its hash).
    pub metadata: Vec<(String, String)>,
    /// Pause after every packet; a testing aid that makes an export slow enough to be killed
    /// midway (`VIGIL_EXPORT_THROTTLE_US`). Zero in normal use.
    pub throttle: Duration,
}

/// What every export entry point is asked: a span of an indexed video, where its clip goes and
/// how it is written. One type for the four of them (stream copy, splice, re-encode, exact).
#[derive(Clone, Copy)]
pub struct ClipRequest<'a> {
    /// The source, with its frame table.
    pub video: &'a IndexedVideo,
    /// Start of the span, seconds.
    pub from_s: f64,
    /// End of the span, seconds (exclusive).
    pub to_s: f64,
    /// The folder the clip is written into.
    pub out_dir: &'a Path,
    /// The clip's file name without extension.
    pub stem: &'a str,
    /// Metadata and throttle.
    pub opts: &'a CopyOptions,
}

/// Copies `[from_s, to_s)` of `video` into a new file in `out_dir` named after `stem`.
pub fn export_stream_copy(req: &ClipRequest<'_>) -> Result<ClipExport, VideoError> {
    let ClipRequest {
        video,
        from_s,
        to_s,
        out_dir,
        stem,
        opts,
    } = *req;
    let (src, info, table) = (video.path.as_path(), &video.info, &video.table);
    let tick = table.seconds_per_tick;
    let origin = table.ticks[0];

    let (first, end) = asked_frames(table, from_s, to_s);
    let from_pts = table.ticks[first];
    let to_pts = table.ticks.get(end).copied().unwrap_or(i64::MAX);

    let codec = info.codec.as_str();
    let is_mov_family = info.container.split(',').any(|n| n == "mov" || n == "mp4");
    let src_ext = src
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let (format, ext, container_note) = if is_mov_family {
        let (f, e) = if src_ext == "mov" {
            ("mov", "mov")
        } else {
            ("mp4", "mp4")
        };
        (
            f,
            e,
            format!("same container as the source ({})", e.to_uppercase()),
        )
    } else if MP4_VIDEO.contains(&codec) {
        (
            "mp4",
            "mp4",
            format!(
                "remuxed from {} to MP4 without re-encoding (MP4 carries the lead-in as an edit list)",
                info.container
            ),
        )
    } else {
        (
            "matroska",
            "mkv",
            format!(
                "remuxed from {} to Matroska without re-encoding ({codec} does not go in MP4); Matroska has no edit lists, so the clip starts at the keyframe before the requested time",
                info.container
            ),
        )
    };
    let hide_lead_in = format != "matroska";
    let (final_path, copied) = write_then_rename(out_dir, stem, ext, |tmp| {
        copy_packets(
            src,
            info,
            tmp,
            format,
            hide_lead_in,
            (from_pts, to_pts),
            opts,
        )
    })?;

    let time = |t: i64| (t - origin) as f64 * tick;
    let shown_first = if hide_lead_in {
        first
    } else {
        table.frame_at(time(copied.keyframe_pts))
    };
    // The last asked-for frame; anchors shown past the end are listed apart.
    let last_shown = end - 1;
    let mut trailing: Vec<u64> = copied
        .trailing_pts
        .iter()
        .map(|&p| table.frame_at(time(p)) as u64)
        .collect();
    trailing.sort_unstable();
    Ok(ClipExport {
        file: final_path,
        container: format.to_string(),
        container_note,
        requested_from_s: from_s,
        requested_to_s: to_s,
        first_frame: shown_first as u64,
        last_frame: last_shown as u64,
        start_s: table.time_of(shown_first),
        end_s: frame_end_s(table, last_shown, info.fps),
        keyframe_s: time(copied.keyframe_pts),
        lead_in_frames: copied.lead_in,
        lead_in_hidden: hide_lead_in,
        trailing_frames: trailing,
        video_packets: copied.video_packets,
        audio_packets: copied.audio_packets,
        streams: copied.streams,
        left_out: copied.left_out,
    })
}

/// Carries the original's display matrix into a clip's video stream: a clip of footage
/// recorded turned (phones, body cameras) shows turned the same way, and its pictures stay
/// the original's own.
pub(crate) fn keep_display_matrix(
    info: &super::VideoInfo,
    ost: &mut ffmpeg_next::format::stream::StreamMut<'_>,
) {
    if let Some(m) = &info.display_matrix
        && !super::ffi::set_display_matrix(ost, m)
    {
        tracing::warn!(
            "{}: the display matrix could not be kept",
            info.path.display()
        );
    }
}

/// Why the packets of `codec` cannot be copied into a clip, or `None` when they can.
///
/// FFmpeg reads RealVideo out of `.rm` files but writes no container that takes those packets
/// back: Matroska's muxer refuses them ("not yet implemented"), and its own RealMedia muxer
/// writes a file whose frames no longer decode ("marker missing", tried with `ffmpeg -c copy`
/// too). Such footage is exported by lossless re-encoding, and the manifest says so.
pub fn stream_copy_refused(codec: &str) -> Option<&'static str> {
    match codec {
        "rv10" | "rv20" | "rv30" | "rv40" => Some(
            "FFmpeg cannot copy RealVideo packets into a clip that decodes, so the span was re-encoded losslessly",
        ),
        _ => None,
    }
}

/// Why `video`'s packets cannot be copied into a clip that shows the right frames at the right
/// times, or `None` when they can: the codec ([`stream_copy_refused`]), or a stream whose
/// packets carry no timestamps and whose frames are reordered (a raw H.264 stream with
/// B-frames): times given in decode order would show frames out of order.
pub fn copy_refused(video: &IndexedVideo) -> Option<&'static str> {
    stream_copy_refused(&video.info.codec).or_else(|| {
        (video.table.untimed_packets > 0 && video.info.reorders_frames).then_some(
            "the stream's packets carry no timestamps and its frames are reordered (B-frames), so copied packets could not be timed; the span was re-encoded losslessly",
        )
    })
}

/// `stem.ext`, or `stem_2.ext`, `stem_3.ext`… whichever does not exist yet.
pub fn unique_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}_{n}.{ext}")
        };
        let p = dir.join(name);
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

/// Times are typed and shown to the millisecond: a frame starting within half a millisecond of
/// the asked time is the asked frame.
const TYPED_S: f64 = 0.0005;

/// The frames of the asked span `[from_s, to_s)`: the one on screen at `from_s` up to (not
/// including) the first one at or after `to_s`; at least one frame.
pub(crate) fn asked_frames(table: &FrameTable, from_s: f64, to_s: f64) -> (usize, usize) {
    let first = table.frame_at(from_s.max(0.0) + TYPED_S);
    let end = table
        .first_at_or_after(to_s - TYPED_S)
        .max(first + 1)
        .min(table.len());
    (first, end)
}

/// When frame `i` stops being shown: the next frame's time, or one nominal frame later.
pub(crate) fn frame_end_s(table: &FrameTable, i: usize, fps: f64) -> f64 {
    if i + 1 < table.len() {
        table.time_of(i + 1)
    } else {
        table.time_of(i) + 1.0 / fps.max(1.0)
    }
}

/// Writes a clip through `write` under a temporary name in `out_dir`, then fsyncs it and gives
/// it its final, unused name `stem.ext`. A failure removes the temporary file: nothing that
/// could pass for a clip is left behind.
pub(crate) fn write_then_rename<T>(
    out_dir: &Path,
    stem: &str,
    ext: &str,
    write: impl FnOnce(&Path) -> Result<T, VideoError>,
) -> Result<(PathBuf, T), VideoError> {
    let io = |e: std::io::Error| VideoError::Io {
        path: out_dir.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(out_dir).map_err(io)?;
    let final_path = unique_path(out_dir, stem, ext);
    let tmp = out_dir.join(format!(
        ".{}.partial",
        final_path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    let value = match write(&tmp) {
        Ok(v) => v,
        Err(e) => {
            match std::fs::remove_file(&tmp) {
                Err(rm) if rm.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!("cannot remove {}: {rm}", tmp.display());
                }
                _ => {}
            }
            return Err(e);
        }
    };
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    // The final name appears only now, complete.
    std::fs::rename(&tmp, &final_path).map_err(io)?;
    if let Ok(d) = std::fs::File::open(out_dir) {
        d.sync_all().map_err(io)?;
    }
    Ok((final_path, value))
}
