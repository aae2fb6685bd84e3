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

use super::frames::{FrameTable, IndexedVideo, PacketClock};
use super::{Source, VideoError, ffi, reopen};
use ffmpeg_next as ff;
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

struct Copied {
    keyframe_pts: i64,
    lead_in: u64,
    trailing_pts: Vec<i64>,
    video_packets: u64,
    audio_packets: u64,
    streams: Vec<String>,
    left_out: Vec<String>,
}

/// Positions `input` so that the next video packet is the keyframe at or before `from_pts`.
/// Returns that keyframe's pts, or `None` when the demuxer cannot seek at all (raw and
/// multipart MJPEG): the caller then reads from the start.
fn seek_to_keyframe(
    input: &mut ff::format::context::Input,
    video: usize,
    tb: f64,
    from_pts: i64,
    path: &Path,
) -> Result<Option<i64>, VideoError> {
    let err = |reason: String| VideoError::Decode {
        path: path.to_path_buf(),
        reason,
    };
    for (attempt, back_s) in [0.0, 2.0, 10.0, 60.0, f64::INFINITY]
        .into_iter()
        .enumerate()
    {
        let at = from_pts as f64 * tb - back_s;
        // The last attempt goes to the very start of the file.
        let seek = |input: &mut ff::format::context::Input| {
            if at.is_finite() {
                let ts = (at * f64::from(ff::ffi::AV_TIME_BASE)).floor() as i64;
                input.seek(ts, ..ts)
            } else {
                input.seek(0, ..)
            }
        };
        match seek(input) {
            Ok(()) => {}
            Err(_) if attempt == 0 => return Ok(None),
            Err(e) => return Err(err(format!("seek failed: {e}"))),
        }
        let mut packet = ff::Packet::empty();
        let first_video = loop {
            match packet.read(input) {
                Ok(()) if packet.stream() == video => break Some((packet.is_key(), packet.pts())),
                Ok(()) => {}
                Err(_) => break None,
            }
        };
        if let Some((_, None)) = first_video {
            // Packets without times (raw elementary streams): found by reading from the
            // start, where the packet clock counts them.
            return Ok(None);
        }
        if let Some((true, Some(pts))) = first_video
            && pts <= from_pts
        {
            // Rewind to the same place for the real pass.
            seek(input).map_err(|e| err(format!("seek failed: {e}")))?;
            return Ok(Some(pts));
        }
    }
    Err(err("no keyframe at or before the requested start".into()))
}

/// The pts of the last keyframe at or before `from_pts`, found by reading `src` from its start
/// (for demuxers that cannot seek).
fn keyframe_by_scan(src: &Path, info: &super::VideoInfo, from_pts: i64) -> Result<i64, VideoError> {
    let video = info.stream_index;
    let (Source { mut input }, _) = reopen(info)?;
    let mut found = None;
    let mut clock = PacketClock::new(info);
    loop {
        let mut packet = match super::frames::next_packet(&mut input) {
            Ok(p) => p,
            Err(_) => break,
        };
        if packet.stream() != video {
            continue;
        }
        clock.fill(&mut packet);
        let (Some(pts), order) = (packet.pts(), packet.dts().or(packet.pts())) else {
            continue;
        };
        if order.is_some_and(|o| o > from_pts) {
            break;
        }
        if packet.is_key() && pts <= from_pts {
            found = Some(pts);
        }
    }
    found.ok_or_else(|| VideoError::Decode {
        path: src.to_path_buf(),
        reason: "no keyframe at or before the requested start".into(),
    })
}

fn copy_packets(
    src: &Path,
    info: &super::VideoInfo,
    tmp: &Path,
    format: &str,
    hide_lead_in: bool,
    (from_pts, to_pts): (i64, i64),
    opts: &CopyOptions,
) -> Result<Copied, VideoError> {
    let (Source { mut input }, _) = reopen(info)?;
    let write_err = |e: ff::Error| VideoError::Decode {
        path: tmp.to_path_buf(),
        reason: format!("cannot write the clip: {e}"),
    };
    let video = info.stream_index;
    let (vn, vd) = info.time_base;
    let vtb = if vd != 0 {
        f64::from(vn) / f64::from(vd)
    } else {
        0.0
    };
    let (keyframe_pts, mut skip_to_key) =
        match seek_to_keyframe(&mut input, video, vtb, from_pts, src)? {
            Some(k) => (k, false),
            None => {
                let k = keyframe_by_scan(src, info, from_pts)?;
                input = reopen(info)?.0.input;
                (k, true)
            }
        };
    // Where output time zero lies, in seconds of the input timeline.
    let zero_s = if hide_lead_in { from_pts } else { keyframe_pts } as f64 * vtb;
    let from_s_abs = keyframe_pts as f64 * vtb;
    let to_s_abs = if to_pts == i64::MAX {
        f64::INFINITY
    } else {
        to_pts as f64 * vtb
    };

    let mut octx = ff::format::output_as(tmp, format).map_err(write_err)?;
    let mut map: Vec<Option<usize>> = vec![None; input.streams().count()];
    let mut streams = Vec::new();
    let mut left_out = Vec::new();
    let mut in_tbs = Vec::new();
    for ist in input.streams() {
        let p = ist.parameters();
        let medium = p.medium();
        let name = p.id().name().to_string();
        // The video clock as probing established it (rescaled when a rate was given).
        let itb = if ist.index() == video {
            ff::Rational::new(info.time_base.0, info.time_base.1)
        } else {
            ist.time_base()
        };
        in_tbs.push(itb);
        let keep = match medium {
            ff::media::Type::Video => ist.index() == video,
            ff::media::Type::Audio => format == "matroska" || MP4_AUDIO.contains(&name.as_str()),
            _ => false,
        };
        if !keep {
            left_out.push(format!("{medium:?} {name} (stream {})", ist.index()).to_lowercase());
            continue;
        }
        let mut ost = octx
            .add_stream(ff::encoder::find(ff::codec::Id::None))
            .map_err(write_err)?;
        ost.set_parameters(p);
        ffi::clear_codec_tag(&mut ost);
        ost.set_time_base(itb);
        map[ist.index()] = Some(ost.index());
        streams.push(if medium == ff::media::Type::Video {
            format!("video {name} {}x{}", info.width, info.height)
        } else {
            format!("audio {name}")
        });
    }
    let mut meta = ff::Dictionary::new();
    for (k, v) in &opts.metadata {
        meta.set(k, v);
    }
    octx.set_metadata(meta);
    octx.write_header().map_err(write_err)?;
    let out_tbs: Vec<ff::Rational> = octx.streams().map(|s| s.time_base()).collect();

    let mut copied = Copied {
        keyframe_pts,
        lead_in: 0,
        trailing_pts: Vec::new(),
        video_packets: 0,
        audio_packets: 0,
        streams,
        left_out,
    };
    let mut video_done = false;
    // After a seek the first packet is a keyframe with a time; from the start, time zero.
    let mut clock = PacketClock::new(info);
    let has_audio = map
        .iter()
        .enumerate()
        .any(|(i, m)| m.is_some() && i != video);
    // Video packets shown after the end are held back until a packet shown before the end
    // follows them in decode order (then they are references it needs); if none does, they
    // are dropped.
    let mut held: Vec<ff::Packet> = Vec::new();
    let shift_for = |tb: ff::Rational| (zero_s / f64::from(tb)).round() as i64;
    let write = |mut p: ff::Packet, si: usize, octx: &mut ff::format::context::Output| {
        let in_tb = in_tbs[si];
        let out_index = map[si].unwrap_or(0);
        // Shift to the clip's zero (negative for a hidden lead-in), then to the output base.
        let shift = shift_for(in_tb);
        p.set_pts(p.pts().map(|t| t - shift));
        p.set_dts(p.dts().map(|t| t - shift));
        p.rescale_ts(in_tb, out_tbs[out_index]);
        p.set_stream(out_index);
        p.set_position(-1);
        p.write_interleaved(octx).map_err(write_err)?;
        if !opts.throttle.is_zero() {
            std::thread::sleep(opts.throttle);
        }
        Ok::<(), VideoError>(())
    };
    loop {
        let mut packet = ff::Packet::empty();
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ff::Error::Eof) => break,
            // The frame table stops at the first read error too (some demuxers, multipart
            // MJPEG among them, end every file with one), so a span that runs to the table's
            // end is complete here.
            Err(_) if to_pts == i64::MAX => break,
            Err(e) => {
                return Err(VideoError::Decode {
                    path: src.to_path_buf(),
                    reason: format!("reading stopped: {e}"),
                });
            }
        }
        let si = packet.stream();
        if map.get(si).copied().flatten().is_none() {
            continue;
        }
        if si == video {
            clock.fill(&mut packet);
        }
        let in_tb = in_tbs[si];
        let secs = |t: i64| t as f64 * f64::from(in_tb);
        if si == video {
            if skip_to_key {
                if packet.is_key() && packet.pts() == Some(keyframe_pts) {
                    skip_to_key = false;
                } else {
                    continue;
                }
            }
            if video_done {
                continue;
            }
            let order = packet.dts().or(packet.pts()).unwrap_or(i64::MIN);
            if order >= to_pts {
                // Nothing decoded from here on is shown before the end.
                video_done = true;
                held.clear();
                if !has_audio {
                    break;
                }
                continue;
            }
            let pts = packet.pts().unwrap_or(order);
            if pts >= to_pts {
                held.push(packet);
                continue;
            }
            for h in held.drain(..) {
                copied.trailing_pts.push(h.pts().unwrap_or(i64::MAX));
                copied.video_packets += 1;
                write(h, si, &mut octx)?;
            }
            if pts < from_pts && hide_lead_in {
                copied.lead_in += 1;
            }
            copied.video_packets += 1;
        } else {
            let Some(pts) = packet.pts() else { continue };
            if secs(pts) < from_s_abs {
                continue;
            }
            if secs(pts) >= to_s_abs {
                if video_done {
                    break;
                }
                continue;
            }
            copied.audio_packets += 1;
        }
        write(packet, si, &mut octx)?;
    }
    octx.write_trailer().map_err(write_err)?;
    Ok(copied)
}
