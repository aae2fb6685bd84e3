//! `--exact` for H.264 without B-frames: re-encode only the partial GOP at the start, copy the
//! rest.
//!
//! ```text
//!  source:  K1 ....|first.... K2 ...................|end
//!  clip:           [ head  ][ copied, byte for byte ]
//!                  lossless
//! ```
//!
//! The head (from the asked frame to the next keyframe) is decoded and encoded again with
//! lossless H.264 (libx264, qp 0, no B-frames), so it decodes to the original's pixels; from
//! the next keyframe on, the original's packets are copied. Without B-frames, decode order is
//! display order, so the copy can stop exactly at the asked end. The join is legal for an
//! `avc1` track through in-band parameter sets: the head starts with its own SPS/PPS, and the
//! first copied packet gets the original's SPS/PPS (from its `avcC`) in front.
//!
//! Sources with B-frames are not spliced. A re-encoded tail after copied B-frame GOPs was tried:
//! it decodes correctly single-threaded, but FFmpeg's frame-threaded H.264 decoder (what VLC and
//! mpv use) mis-decodes frames after the switch of parameter sets, and an evidence clip must look
//! the same in every player. For those sources, and for other codecs, `--exact` re-encodes the
//! whole span (`reencode.rs`).

use super::export::{
    ClipExport, ClipRequest, CopyOptions, asked_frames, frame_end_s, write_then_rename,
};
use super::frames::{FrameTable, next_packet};
use super::reencode::{for_each_frame, lossless_x264};
use super::{Source, VideoError, ffi, reopen};
use ffmpeg_next as ff;
use std::path::Path;

/// Parameter sets and NAL length size from an `avcC` record.
struct AvcC {
    length_size: usize,
    nals: Vec<Vec<u8>>,
}

fn parse_avcc(ex: &[u8]) -> Option<AvcC> {
    if ex.len() < 7 || ex[0] != 1 {
        return None;
    }
    let length_size = usize::from(ex[4] & 3) + 1;
    let mut at = 5;
    let mut nals = Vec::new();
    let n_sps = usize::from(ex[at] & 0x1f);
    at += 1;
    for _ in 0..n_sps {
        let len = usize::from(u16::from_be_bytes([*ex.get(at)?, *ex.get(at + 1)?]));
        nals.push(ex.get(at + 2..at + 2 + len)?.to_vec());
        at += 2 + len;
    }
    let n_pps = usize::from(*ex.get(at)?);
    at += 1;
    for _ in 0..n_pps {
        let len = usize::from(u16::from_be_bytes([*ex.get(at)?, *ex.get(at + 1)?]));
        nals.push(ex.get(at + 2..at + 2 + len)?.to_vec());
        at += 2 + len;
    }
    Some(AvcC { length_size, nals })
}

/// NAL units of an Annex B byte stream (start codes removed).
fn annexb_nals(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &(_, begin)) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |&(s, _)| s);
        // A 4-byte start code leaves its leading zero on the previous NAL.
        while end > begin && data[end - 1] == 0 {
            end -= 1;
        }
        if end > begin {
            nals.push(&data[begin..end]);
        }
    }
    nals
}

fn length_prefixed(nals: &[&[u8]], length_size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        let len = (n.len() as u32).to_be_bytes();
        out.extend_from_slice(&len[4 - length_size..]);
        out.extend_from_slice(n);
    }
    out
}

/// Per-frame facts from the packets: which frames are keyframes, and whether decode order
/// differs from display order (B-frames).
struct GopMap {
    keyframes: Vec<usize>,
    reordered: bool,
}

fn gop_map(info: &super::VideoInfo, table: &FrameTable) -> Result<GopMap, VideoError> {
    let stream = info.stream_index;
    let (Source { mut input }, _) = reopen(info)?;
    let mut keyframes = Vec::new();
    let mut reordered = false;
    let mut last_pts = i64::MIN;
    let origin = table.ticks[0];
    while let Ok(packet) = next_packet(&mut input) {
        if packet.stream() != stream || ffi::is_discard(&packet) {
            continue;
        }
        let Some(pts) = packet.pts() else { continue };
        if pts < last_pts {
            reordered = true;
        }
        last_pts = pts;
        if packet.is_key() {
            let i = table.frame_at((pts - origin) as f64 * table.seconds_per_tick);
            keyframes.push(i);
        }
    }
    keyframes.sort_unstable();
    keyframes.dedup();
    Ok(GopMap {
        keyframes,
        reordered,
    })
}

/// Decodes frames `a..b` and encodes them losslessly without B-frames; returns AVCC packets
/// with pts relative to `zero` (ticks) and dts = pts.
#[allow(clippy::too_many_arguments)]
fn encode_segment(
    src: &Path,
    info: &super::VideoInfo,
    table: &FrameTable,
    span: (usize, usize),
    zero: i64,
    length_size: usize,
    tmp: &Path,
) -> Result<Vec<ff::Packet>, VideoError> {
    let fail = |what: &str, e: ff::Error| VideoError::Decode {
        path: tmp.to_path_buf(),
        reason: format!("{what}: {e}"),
    };
    let (num, den) = info.time_base;
    let tb = ff::Rational::new(num.max(1), den.max(1));
    let frame_ticks = ((1.0 / info.fps.max(1.0)) / f64::from(tb)).round().max(1.0) as i64;
    let mut enc: Option<ff::encoder::Video> = None;
    let mut out = Vec::new();
    let mut packet = ff::Packet::empty();
    let mut collect = |enc: &mut ff::encoder::Video, out: &mut Vec<ff::Packet>| {
        while enc.receive_packet(&mut packet).is_ok() {
            let nals = annexb_nals(packet.data().unwrap_or_default());
            let mut p = ff::Packet::copy(&length_prefixed(&nals, length_size));
            let pts = packet.pts().unwrap_or(0);
            p.set_pts(Some(pts));
            p.set_dts(Some(pts));
            p.set_duration(if packet.duration() > 0 {
                packet.duration()
            } else {
                frame_ticks
            });
            if packet.is_key() {
                p.set_flags(ff::packet::Flags::KEY);
            }
            out.push(p);
        }
    };
    for_each_frame(src, info, table, span, |index, frame| {
        if enc.is_none() {
            // Parameter sets in the stream itself, ahead of the segment's first frame.
            let sar = ff::Rational::new(0, 1);
            enc = Some(lossless_x264(
                frame,
                frame.format(),
                tb,
                sar,
                false,
                Some("repeat-headers=1"),
                src,
            )?);
        }
        let Some(e) = enc.as_mut() else {
            return Ok(());
        };
        frame.set_pts(Some(table.ticks[index] - zero));
        frame.set_kind(ff::picture::Type::None);
        e.send_frame(frame).map_err(|err| fail("encode", err))?;
        collect(e, &mut out);
        Ok(())
    })?;
    if let Some(mut e) = enc {
        e.send_eof().map_err(|err| fail("encode", err))?;
        collect(&mut e, &mut out);
    }
    Ok(out)
}

/// What the exact H.264 export did, for the caller to describe.
pub struct SpliceOutcome {
    /// The clip.
    pub clip: ClipExport,
    /// Source frame ranges re-encoded (inclusive).
    pub reencoded: Vec<[u64; 2]>,
}

/// Exports `[from_s, to_s)` of an H.264 `src` frame-exactly, re-encoding only the partial GOP at
/// the start. Returns None when the source cannot be spliced this way (not H.264, no `avcC`,
/// B-frames, or the span inside one GOP); the caller then re-encodes the whole span.
pub fn export_splice(req: &ClipRequest<'_>) -> Result<Option<SpliceOutcome>, VideoError> {
    let ClipRequest {
        video,
        from_s,
        to_s,
        out_dir,
        stem,
        opts,
    } = *req;
    let (src, info, table) = (video.path.as_path(), &video.info, &video.table);
    if info.codec != "h264" {
        return Ok(None);
    }
    // The stream's parameters (avcC) come from the container header.
    let (Source { input }, _) = reopen(info)?;
    let params = input
        .stream(info.stream_index)
        .map(|s| s.parameters())
        .ok_or_else(|| VideoError::Decode {
            path: src.to_path_buf(),
            reason: "video stream vanished".into(),
        })?;
    let Some(avcc) = parse_avcc(&ffi::extradata(&params)) else {
        // Annex B in the container (e.g. MPEG-TS): no avcC to splice against.
        return Ok(None);
    };
    drop(input);
    let (first, end) = asked_frames(table, from_s, to_s);
    let gops = gop_map(info, table)?;
    if gops.reordered {
        // B-frames: see the module documentation.
        return Ok(None);
    }
    let k2 = gops
        .keyframes
        .iter()
        .copied()
        .find(|&k| k >= first)
        .unwrap_or(table.len());
    if k2 >= end {
        // The span lies inside one GOP: nothing to copy.
        return Ok(None);
    }
    let zero = table.ticks[first];

    let (final_path, packets) = write_then_rename(out_dir, stem, "mp4", |tmp| {
        let head = if first < k2 {
            encode_segment(src, info, table, (first, k2), zero, avcc.length_size, tmp)?
        } else {
            Vec::new()
        };
        write_clip(
            src,
            info,
            table,
            tmp,
            &params,
            &head,
            (k2, end),
            zero,
            &avcc,
            opts,
        )
    })?;
    let last = end - 1;
    let mut reencoded = Vec::new();
    if first < k2 {
        reencoded.push([first as u64, k2 as u64 - 1]);
    }
    let clip = ClipExport {
        file: final_path,
        container: "mp4".into(),
        container_note: format!(
            "MP4; source frames {}–{} are the original's packets byte for byte (the first of them carries the original's own SPS/PPS in front, so a decoder switches back after the re-encoded head); the frames before them were re-encoded losslessly (H.264 qp 0) and decode to the original's pixels",
            k2,
            end - 1
        ),
        requested_from_s: from_s,
        requested_to_s: to_s,
        first_frame: first as u64,
        last_frame: last as u64,
        start_s: table.time_of(first),
        end_s: frame_end_s(table, last, info.fps),
        keyframe_s: table.time_of(k2),
        lead_in_frames: 0,
        lead_in_hidden: false,
        trailing_frames: Vec::new(),
        video_packets: packets,
        audio_packets: 0,
        streams: vec![format!("video h264 {}x{}", info.width, info.height)],
        left_out: vec!["audio (an exact export holds the video only)".into()],
    };
    Ok(Some(SpliceOutcome { clip, reencoded }))
}

/// Muxes the re-encoded head and the copied rest into `tmp`. Returns the packets written.
#[allow(clippy::too_many_arguments)]
fn write_clip(
    src: &Path,
    info: &super::VideoInfo,
    table: &FrameTable,
    tmp: &Path,
    params: &ff::codec::Parameters,
    head: &[ff::Packet],
    (k2, end): (usize, usize),
    zero: i64,
    avcc: &AvcC,
    opts: &CopyOptions,
) -> Result<u64, VideoError> {
    let fail = |what: &str, e: ff::Error| VideoError::Decode {
        path: tmp.to_path_buf(),
        reason: format!("{what}: {e}"),
    };
    let (num, den) = info.time_base;
    let tb = ff::Rational::new(num.max(1), den.max(1));
    let mut octx = ff::format::output_as(tmp, "mp4").map_err(|e| fail("output", e))?;
    {
        let mut ost = octx
            .add_stream(ff::encoder::find(ff::codec::Id::None))
            .map_err(|e| fail("stream", e))?;
        ost.set_parameters(params.clone());
        ffi::clear_codec_tag(&mut ost);
        ost.set_time_base(tb);
        super::export::keep_display_matrix(info, &mut ost);
    }
    let mut meta = ff::Dictionary::new();
    for (k, v) in &opts.metadata {
        meta.set(k, v);
    }
    octx.set_metadata(meta);
    octx.write_header().map_err(|e| fail("header", e))?;
    let ost_tb = octx.stream(0).map_or(tb, |s| s.time_base());
    let mut written = 0u64;
    let mut put = |mut p: ff::Packet, octx: &mut ff::format::context::Output| {
        p.set_stream(0);
        p.set_position(-1);
        p.rescale_ts(tb, ost_tb);
        p.write_interleaved(octx).map_err(|e| fail("write", e))?;
        written += 1;
        if !opts.throttle.is_zero() {
            std::thread::sleep(opts.throttle);
        }
        Ok::<(), VideoError>(())
    };
    for p in head {
        put(p.clone(), &mut octx)?;
    }

    // The copied rest: packets from keyframe k2 up to the end (decode order is display order).
    let (Source { mut input }, _) = reopen(info)?;
    let k2_pts = table.ticks[k2];
    let stop_pts = table.ticks.get(end).copied().unwrap_or(i64::MAX);
    let sec = f64::from(tb);
    let ts = ((k2_pts as f64 * sec) * f64::from(ff::ffi::AV_TIME_BASE)).floor() as i64;
    input.seek(ts, ..ts).map_err(|e| fail("seek", e))?;
    let mut started = false;
    while let Ok(packet) = next_packet(&mut input) {
        if packet.stream() != info.stream_index {
            continue;
        }
        let pts = packet.pts().unwrap_or(i64::MIN);
        let dts = packet.dts().unwrap_or(pts);
        if !started {
            if pts != k2_pts {
                continue;
            }
            started = true;
            // The original's parameter sets in front of its first copied access unit.
            let nals: Vec<&[u8]> = avcc.nals.iter().map(Vec::as_slice).collect();
            let mut data = length_prefixed(&nals, avcc.length_size);
            data.extend_from_slice(packet.data().unwrap_or_default());
            let mut p = ff::Packet::copy(&data);
            p.set_pts(Some(pts - zero));
            p.set_dts(Some(dts - zero));
            p.set_duration(packet.duration());
            p.set_flags(ff::packet::Flags::KEY);
            put(p, &mut octx)?;
            continue;
        }
        if dts >= stop_pts || pts >= stop_pts {
            break;
        }
        let mut p = packet.clone();
        p.set_pts(Some(pts - zero));
        p.set_dts(Some(dts - zero));
        put(p, &mut octx)?;
    }
    if !started {
        return Err(VideoError::Decode {
            path: src.to_path_buf(),
            reason: format!("keyframe {k2} not found when copying"),
        });
    }
    octx.write_trailer().map_err(|e| fail("trailer", e))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annexb_nals_split_on_3_and_4_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 9,
        ];
        let nals = annexb_nals(&data);
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 9][..]]
        );
        assert_eq!(length_prefixed(&nals[..1], 4), vec![0, 0, 0, 3, 0x67, 1, 2]);
    }

    #[test]
    fn avcc_parameter_sets() {
        // version 1, profile 66, compat 0, level 30, 4-byte lengths, 1 SPS (3 bytes), 1 PPS (2).
        let ex = [1, 66, 0, 30, 0xff, 0xe1, 0, 3, 0x67, 1, 2, 1, 0, 2, 0x68, 3];
        let a = parse_avcc(&ex).unwrap();
        assert_eq!(a.length_size, 4);
        assert_eq!(a.nals, vec![vec![0x67, 1, 2], vec![0x68, 3]]);
        assert!(parse_avcc(&[0, 0, 1]).is_none());
    }
}
