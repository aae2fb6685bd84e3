//! The packet copy itself: finding the keyframe at or before the requested moment (by
//! seeking, or by scanning where the demuxer cannot seek), then copying video and audio packets
//! with the lead-in's timestamps made negative so that the MP4 edit list hides it.

use super::*;
use crate::video::frames::PacketClock;
use crate::video::{Source, VideoError, ffi, reopen};
use ffmpeg_next as ff;
use std::path::Path;

/// What the copy wrote.
pub(super) struct Copied {
    pub(super) keyframe_pts: i64,
    pub(super) lead_in: u64,
    pub(super) trailing_pts: Vec<i64>,
    pub(super) video_packets: u64,
    pub(super) audio_packets: u64,
    pub(super) streams: Vec<String>,
    pub(super) left_out: Vec<String>,
}

/// Positions `input` so that the next video packet is the keyframe at or before `from_pts`.
/// Returns that keyframe's pts, or `None` when the demuxer cannot seek at all (raw and
/// multipart MJPEG): the caller then reads from the start.
pub(super) fn seek_to_keyframe(
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
pub(super) fn keyframe_by_scan(
    src: &Path,
    info: &crate::video::VideoInfo,
    from_pts: i64,
) -> Result<i64, VideoError> {
    let video = info.stream_index;
    let (Source { mut input }, _) = reopen(info)?;
    let mut found = None;
    let mut clock = PacketClock::new(info);
    loop {
        let mut packet = match crate::video::frames::next_packet(&mut input) {
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

pub(super) fn copy_packets(
    src: &Path,
    info: &crate::video::VideoInfo,
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
        if medium == ff::media::Type::Video {
            keep_display_matrix(info, &mut ost);
        }
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
