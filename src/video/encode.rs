//! H.264 in MP4 from RGB24 frames (the benchmark kit's videos): libx264 (crf 23, preset veryfast, a keyframe every 2 s),
//! YUV 4:2:0 by swscale, BT.601 limited range tagged so players convert the colours back as they
//! were drawn. Same frames, same bytes: one encoder thread, MB-tree off, zeroed frame buffers.

use super::VideoError;
use ffmpeg_next as ff;
use std::path::{Path, PathBuf};

/// An open MP4 file taking frames one by one.
pub struct Mp4Writer {
    octx: ff::format::context::Output,
    enc: ff::encoder::Video,
    scaler: ff::software::scaling::Context,
    rgb: ff::frame::Video,
    yuv: ff::frame::Video,
    packet: ff::Packet,
    tb: ff::Rational,
    ost_tb: ff::Rational,
    pts: i64,
    packets: u64,
    w: usize,
    h: usize,
    path: PathBuf,
}

impl Mp4Writer {
    /// Creates `path` (an MP4 whatever its extension) for `w`×`h` frames at `fps`.
    pub fn create(path: &Path, w: u32, h: u32, fps: u32) -> Result<Self, VideoError> {
        let fail = |what: &str, e: ff::Error| VideoError::Encode {
            path: path.to_path_buf(),
            reason: format!("{what}: {e}"),
        };
        ff::init().map_err(|e| fail("init", e))?;
        let codec = ff::encoder::find_by_name("libx264").ok_or_else(|| VideoError::Encode {
            path: path.to_path_buf(),
            reason: "this FFmpeg has no libx264 encoder".into(),
        })?;
        let mut octx = ff::format::output_as(path, "mp4").map_err(|e| fail("output", e))?;
        let global = octx
            .format()
            .flags()
            .contains(ff::format::Flags::GLOBAL_HEADER);
        let tb = ff::Rational::new(1, fps as i32);
        let mut ctx = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| fail("encoder", e))?;
        ctx.set_width(w);
        ctx.set_height(h);
        ctx.set_format(ff::format::Pixel::YUV420P);
        ctx.set_time_base(tb);
        ctx.set_frame_rate(Some(ff::Rational::new(fps as i32, 1)));
        ctx.set_gop(2 * fps);
        ctx.set_colorspace(ff::color::Space::BT470BG);
        ctx.set_color_range(ff::color::Range::MPEG);
        if global {
            ctx.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        }
        let gop = 2 * fps;
        let mut opts = ff::Dictionary::new();
        opts.set("preset", "veryfast");
        opts.set("crf", "23");
        opts.set("threads", "1");
        // A closed GOP with an IDR every 2 s, wherever the scene cuts. MB-tree rate control is
        // off: with it libx264 164 reads memory it never wrote while coding the first GOP, so
        // the bytes changed with the heap layout of the calling process.
        opts.set(
            "x264-params",
            &format!("keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:mbtree=0"),
        );
        let enc = ctx.open_with(opts).map_err(|e| fail("open libx264", e))?;
        let mut ost = octx.add_stream(codec).map_err(|e| fail("stream", e))?;
        ost.set_parameters(&enc);
        ost.set_time_base(tb);
        ost.set_avg_frame_rate(ff::Rational::new(fps as i32, 1));
        octx.write_header().map_err(|e| fail("header", e))?;
        let ost_tb = octx.stream(0).map_or(tb, |s| s.time_base());
        let scaler = ff::software::scaling::Context::get(
            ff::format::Pixel::RGB24,
            w,
            h,
            ff::format::Pixel::YUV420P,
            w,
            h,
            ff::software::scaling::Flags::BILINEAR,
        )
        .map_err(|e| fail("pixel conversion", e))?;
        Ok(Self {
            octx,
            enc,
            scaler,
            rgb: zeroed(ff::format::Pixel::RGB24, w, h),
            yuv: zeroed(ff::format::Pixel::YUV420P, w, h),
            packet: ff::Packet::empty(),
            tb,
            ost_tb,
            pts: 0,
            packets: 0,
            w: w as usize,
            h: h as usize,
            path: path.to_path_buf(),
        })
    }

    fn fail(&self, what: &str, e: ff::Error) -> VideoError {
        VideoError::Encode {
            path: self.path.clone(),
            reason: format!("{what}: {e}"),
        }
    }

    /// Encodes one frame of tightly packed RGB24 rows.
    pub fn push(&mut self, rgb: &[u8]) -> Result<(), VideoError> {
        let row = self.w * 3;
        if rgb.len() != row * self.h {
            return Err(VideoError::Encode {
                path: self.path.clone(),
                reason: format!("frame of {} bytes, expected {}", rgb.len(), row * self.h),
            });
        }
        let stride = self.rgb.stride(0);
        let data = self.rgb.data_mut(0);
        for (y, src) in rgb.chunks_exact(row).enumerate() {
            if let Some(dst) = data.get_mut(y * stride..y * stride + row) {
                dst.copy_from_slice(src);
            }
        }
        self.scaler
            .run(&self.rgb, &mut self.yuv)
            .map_err(|e| self.fail("pixel conversion", e))?;
        self.yuv.set_pts(Some(self.pts));
        self.yuv.set_kind(ff::picture::Type::None);
        self.pts += 1;
        self.enc
            .send_frame(&self.yuv)
            .map_err(|e| self.fail("encode", e))?;
        self.drain()
    }

    /// Writes out whatever packets the encoder has ready.
    fn drain(&mut self) -> Result<(), VideoError> {
        loop {
            match self.enc.receive_packet(&mut self.packet) {
                Ok(()) => {
                    // Without a duration the muxer ends the track at the last frame's start
                    // and players drop that frame.
                    if self.packet.duration() <= 0 {
                        self.packet.set_duration(1);
                    }
                    self.packet.set_stream(0);
                    self.packet.rescale_ts(self.tb, self.ost_tb);
                    self.packet.write_interleaved(&mut self.octx).map_err(|e| {
                        VideoError::Encode {
                            path: self.path.clone(),
                            reason: format!("write: {e}"),
                        }
                    })?;
                    self.packets += 1;
                }
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    return Ok(());
                }
                Err(e) => return Err(self.fail("encode", e)),
            }
        }
    }

    /// Flushes the encoder, finishes the file, and returns the number of frames written.
    pub fn finish(mut self) -> Result<u64, VideoError> {
        self.enc.send_eof().map_err(|e| self.fail("encode", e))?;
        self.drain()?;
        self.octx
            .write_trailer()
            .map_err(|e| self.fail("trailer", e))?;
        Ok(self.packets)
    }
}

/// A frame whose bytes, row padding included, are all zero: FFmpeg leaves new buffers
/// uninitialised, and any stray read of them would make the output differ from run to run.
fn zeroed(format: ff::format::Pixel, w: u32, h: u32) -> ff::frame::Video {
    let mut f = ff::frame::Video::new(format, w, h);
    for i in 0..f.planes() {
        f.data_mut(i).fill(0);
    }
    f
}
