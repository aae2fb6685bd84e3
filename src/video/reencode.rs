//! `--exact` export: the asked frames and only those, re-encoded losslessly.
//!
//! A stream copy must start on a keyframe; this instead decodes the span and encodes every
//! frame from the first asked one to the last with H.264 in lossless mode (libx264, qp 0, High
//! 4:4:4 Predictive profile), so the clip starts and ends exactly where asked and every frame's
//! pixels decode identical to the original's. Files are larger than a stream copy and some
//! hardware players do not play lossless H.264; software players (VLC, mpv, FFmpeg) do.
//! Frames in a pixel format libx264 cannot take losslessly are converted (the outcome says so).
//!
//! For H.264 without B-frames `splice.rs` re-encodes only the partial GOP at the start and copies
//! the rest; this whole-span path serves every other case (B-frames, other codecs, a span inside
//! one GOP), and the manifest lists the frames re-encoded either way.

use super::export::{
    ClipExport, ClipRequest, CopyOptions, asked_frames, frame_end_s, write_then_rename,
};
use super::frames::FrameTable;
use super::{FrameDecoder, VideoError};
use ffmpeg_next as ff;
use std::path::Path;

/// Pixel formats libx264 encodes losslessly as they are.
const X264_LOSSLESS_FORMATS: &[ff::format::Pixel] = &[
    ff::format::Pixel::YUV420P,
    ff::format::Pixel::YUVJ420P,
    ff::format::Pixel::YUV422P,
    ff::format::Pixel::YUVJ422P,
    ff::format::Pixel::YUV444P,
    ff::format::Pixel::YUVJ444P,
    ff::format::Pixel::NV12,
];

/// Exports `[from_s, to_s)` of `src` frame-exactly, re-encoding as little as this source allows:
/// the partial GOP at the start for H.264 without B-frames (`splice.rs`), else the whole span.
/// Returns the clip and the source frame ranges re-encoded (inclusive).
pub fn export_exact(req: &ClipRequest<'_>) -> Result<(ClipExport, Vec<[u64; 2]>), VideoError> {
    if let Some(s) = super::export_splice(req)? {
        return Ok((s.clip, s.reencoded));
    }
    let c = export_reencode(req)?;
    let all = vec![[c.first_frame, c.last_frame]];
    Ok((c, all))
}

/// Exports `[from_s, to_s)` of `src` frame-exactly by lossless re-encoding of every frame.
pub fn export_reencode(req: &ClipRequest<'_>) -> Result<ClipExport, VideoError> {
    let ClipRequest {
        video,
        from_s,
        to_s,
        out_dir,
        stem,
        opts,
    } = *req;
    let (src, info, table) = (video.path.as_path(), &video.info, &video.table);
    let (first, end) = asked_frames(table, from_s, to_s);
    let start_t = table.time_of(first);

    let (final_path, (converted, frames)) = write_then_rename(out_dir, stem, "mp4", |tmp| {
        encode(src, info, table, (first, end), start_t, tmp, opts)
    })?;
    let last = end - 1;
    let note = match &converted {
        None => "re-encoded losslessly to H.264 (libx264 qp 0) in MP4: every frame decodes to the original's pixels".to_string(),
        Some(from) => format!(
            "re-encoded to H.264 (libx264 qp 0) in MP4 after converting {from} to YUV 4:4:4, which libx264 needs; pixels are not bit-identical to the original"
        ),
    };
    Ok(ClipExport {
        file: final_path,
        container: "mp4".into(),
        container_note: note,
        requested_from_s: from_s,
        requested_to_s: to_s,
        first_frame: first as u64,
        last_frame: last as u64,
        start_s: start_t,
        end_s: frame_end_s(table, last, info.fps),
        keyframe_s: start_t,
        lead_in_frames: 0,
        lead_in_hidden: false,
        trailing_frames: Vec::new(),
        video_packets: frames,
        audio_packets: 0,
        streams: vec![format!(
            "video h264 (lossless) {}x{}",
            info.width, info.height
        )],
        left_out: vec!["audio (an exact export holds the video only)".into()],
    })
}

/// Calls `each(index, frame)` for the decoded frames `a..b` of `src`, in order: decodes the
/// first frame (it fixes the decoder's clock), seeks to the keyframe before frame `a` and
/// decodes forward.
pub(crate) fn for_each_frame(
    src: &Path,
    info: &super::VideoInfo,
    table: &FrameTable,
    (a, b): (usize, usize),
    mut each: impl FnMut(usize, &mut ff::frame::Video) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    let (input, _) = super::reopen(info)?;
    // The original's own pictures: a lossless copy neither deinterlaces nor turns them.
    let mut dec = FrameDecoder::new(input, info)?.as_decoded();
    let mut frame = ff::frame::Video::empty();
    if dec.next_frame(&mut frame)?.is_none() {
        return Err(VideoError::NoFrames {
            path: src.to_path_buf(),
        });
    }
    let mut pending_first = a == 0;
    if a > 0 {
        dec.seek_or_rewind((table.time_of(a) - 0.001).max(0.0))?;
    }
    loop {
        let t = if pending_first {
            pending_first = false;
            Some(0.0)
        } else {
            dec.next_frame(&mut frame)?
        };
        let Some(t) = t else { return Ok(()) };
        let index = table.frame_at(t);
        if index < a {
            continue;
        }
        if index >= b {
            return Ok(());
        }
        each(index, &mut frame)?;
    }
}

/// libx264 opened in lossless mode (qp 0) without B-frames, so decode order is display order.
/// `x264_params` adds libx264 options (e.g. in-band parameter sets).
pub(crate) fn lossless_x264(
    frame: &ff::frame::Video,
    format: ff::format::Pixel,
    tb: ff::Rational,
    sar: ff::Rational,
    global_header: bool,
    x264_params: Option<&str>,
    src: &Path,
) -> Result<ff::encoder::Video, VideoError> {
    let fail = |what: &str, e: ff::Error| VideoError::Decode {
        path: src.to_path_buf(),
        reason: format!("{what}: {e}"),
    };
    let codec = ff::encoder::find_by_name("libx264").ok_or_else(|| VideoError::Decode {
        path: src.to_path_buf(),
        reason: "this FFmpeg has no libx264 encoder, which --exact needs".into(),
    })?;
    let mut ctx = ff::codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| fail("encoder", e))?;
    ctx.set_width(frame.width());
    ctx.set_height(frame.height());
    ctx.set_format(format);
    ctx.set_time_base(tb);
    if sar.numerator() > 0 {
        ctx.set_aspect_ratio(sar);
    }
    if global_header {
        ctx.set_flags(ff::codec::Flags::GLOBAL_HEADER);
    }
    let mut o = ff::Dictionary::new();
    o.set("qp", "0");
    o.set("preset", "veryfast");
    o.set("bframes", "0");
    if let Some(p) = x264_params {
        o.set("x264-params", p);
    }
    ctx.open_with(o).map_err(|e| fail("open libx264", e))
}

/// Decodes frames `first..end` and writes them losslessly encoded to `tmp`. Returns the source
/// pixel format name if it had to be converted, and the frames written.
#[allow(clippy::too_many_arguments)]
fn encode(
    src: &Path,
    info: &super::VideoInfo,
    table: &FrameTable,
    (first, end): (usize, usize),
    start_t: f64,
    tmp: &Path,
    opts: &CopyOptions,
) -> Result<(Option<String>, u64), VideoError> {
    let fail = |what: &str, e: ff::Error| VideoError::Decode {
        path: tmp.to_path_buf(),
        reason: format!("{what}: {e}"),
    };
    let (num, den) = info.time_base;
    let tb = ff::Rational::new(num.max(1), den.max(1));
    let tick = f64::from(tb);
    let sar = ff::Rational::new(info.sample_aspect.0, info.sample_aspect.1.max(1));
    let mut octx = ff::format::output_as(tmp, "mp4").map_err(|e| fail("output", e))?;
    let global = octx
        .format()
        .flags()
        .contains(ff::format::Flags::GLOBAL_HEADER);
    // Packets need a duration, or the muxer ends the track at the last frame's start and
    // players drop that frame.
    let frame_ticks = ((1.0 / info.fps.max(1.0)) / tick).round().max(1.0) as i64;

    let mut encoder: Option<ff::encoder::Video> = None;
    let mut scaler: Option<ff::software::scaling::Context> = None;
    let mut converted = None;
    let mut ost_tb = tb;
    let mut written = 0u64;
    let mut packet = ff::Packet::empty();
    let mut yuv = ff::frame::Video::empty();
    let mut drain = |enc: &mut ff::encoder::Video,
                     octx: &mut ff::format::context::Output,
                     ost_tb: ff::Rational,
                     written: &mut u64|
     -> Result<(), VideoError> {
        while enc.receive_packet(&mut packet).is_ok() {
            if packet.duration() <= 0 {
                packet.set_duration(frame_ticks);
            }
            packet.set_stream(0);
            packet.rescale_ts(tb, ost_tb);
            packet
                .write_interleaved(octx)
                .map_err(|e| fail("write", e))?;
            *written += 1;
            if !opts.throttle.is_zero() {
                std::thread::sleep(opts.throttle);
            }
        }
        Ok(())
    };

    for_each_frame(src, info, table, (first, end), |index, frame| {
        if encoder.is_none() {
            let fmt = frame.format();
            let enc_fmt = if X264_LOSSLESS_FORMATS.contains(&fmt) {
                fmt
            } else {
                converted = Some(format!("{fmt:?}").to_lowercase());
                scaler = Some(
                    ff::software::scaling::Context::get(
                        fmt,
                        frame.width(),
                        frame.height(),
                        ff::format::Pixel::YUV444P,
                        frame.width(),
                        frame.height(),
                        ff::software::scaling::Flags::POINT,
                    )
                    .map_err(|e| fail("pixel conversion", e))?,
                );
                ff::format::Pixel::YUV444P
            };
            let opened = lossless_x264(frame, enc_fmt, tb, sar, global, None, src)?;
            let mut ost = octx
                .add_stream(ff::encoder::find_by_name("libx264"))
                .map_err(|e| fail("stream", e))?;
            ost.set_parameters(&opened);
            ost.set_time_base(tb);
            super::export::keep_display_matrix(info, &mut ost);
            encoder = Some(opened);
            let mut meta = ff::Dictionary::new();
            for (k, v) in &opts.metadata {
                meta.set(k, v);
            }
            octx.set_metadata(meta);
            octx.write_header().map_err(|e| fail("header", e))?;
            ost_tb = octx.stream(0).map_or(tb, |s| s.time_base());
        }
        let Some(enc) = encoder.as_mut() else {
            return Ok(());
        };
        let pts = ((table.time_of(index) - start_t) / tick).round() as i64;
        let to_send = match scaler.as_mut() {
            Some(s) => {
                s.run(frame, &mut yuv)
                    .map_err(|e| fail("pixel conversion", e))?;
                &mut yuv
            }
            None => frame,
        };
        to_send.set_pts(Some(pts));
        to_send.set_kind(ff::picture::Type::None);
        enc.send_frame(to_send).map_err(|e| fail("encode", e))?;
        drain(enc, &mut octx, ost_tb, &mut written)
    })?;
    let Some(mut enc) = encoder else {
        return Err(VideoError::NoFrames {
            path: src.to_path_buf(),
        });
    };
    enc.send_eof().map_err(|e| fail("encode", e))?;
    drain(&mut enc, &mut octx, ost_tb, &mut written)?;
    octx.write_trailer().map_err(|e| fail("trailer", e))?;
    Ok((converted, written))
}
