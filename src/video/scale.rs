use crate::base::clip::ResizeRule;
use ffmpeg_next as ff;

/// Converts decoded frames of any pixel format and size to packed RGB24 at the model's size.
///
/// The swscale context is rebuilt when the source format or size changes mid-stream (which
/// some recorders do). Rows are copied by stride, since FFmpeg pads lines for alignment.
pub struct Scaler {
    rule: ResizeRule,
    out_w: u32,
    out_h: u32,
    ctx: Option<(ff::format::Pixel, u32, u32, ff::software::scaling::Context)>,
    scaled: ff::frame::Video,
}

impl Scaler {
    /// A scaler to `out_w`×`out_h` RGB with the given rule.
    pub fn new(rule: ResizeRule, out_w: u32, out_h: u32) -> Self {
        Self {
            rule,
            out_w,
            out_h,
            ctx: None,
            scaled: ff::frame::Video::empty(),
        }
    }

    /// Bytes of one converted frame.
    pub fn frame_bytes(&self) -> usize {
        self.out_w as usize * self.out_h as usize * 3
    }

    /// Size the source is scaled to before any crop.
    fn scaled_size(&self, w: u32, h: u32) -> (u32, u32) {
        match self.rule {
            ResizeRule::Stretch => (self.out_w, self.out_h),
            ResizeRule::ShortSideCenterCrop { short_side } => {
                // The long side keeps the aspect ratio, rounded to an even number as FFmpeg's
                // `scale=-2:256` does (the I3D reference clips were made that way).
                let s = f64::from(short_side);
                let (w, h) = (f64::from(w.max(1)), f64::from(h.max(1)));
                let even = |x: f64| ((x / 2.0).round() * 2.0) as u32;
                let (sw, sh) = if w <= h {
                    (short_side, even(h * s / w))
                } else {
                    (even(w * s / h), short_side)
                };
                (sw.max(self.out_w), sh.max(self.out_h))
            }
        }
    }

    /// Converts `src` into `dst`, which must hold exactly [`Scaler::frame_bytes`] bytes laid out
    /// as rows of `out_w` RGB pixels.
    pub fn convert(&mut self, src: &ff::frame::Video, dst: &mut [u8]) -> Result<(), String> {
        if dst.len() != self.frame_bytes() {
            return Err(format!(
                "output buffer holds {} bytes, expected {}",
                dst.len(),
                self.frame_bytes()
            ));
        }
        let (fmt, w, h) = (src.format(), src.width(), src.height());
        if w == 0 || h == 0 {
            return Err("frame has no pixels".into());
        }
        let (sw, sh) = self.scaled_size(w, h);
        let stale = !matches!(&self.ctx, Some((f, cw, ch, _)) if *f == fmt && *cw == w && *ch == h);
        if stale {
            let ctx = ff::software::scaling::Context::get(
                fmt,
                w,
                h,
                ff::format::Pixel::RGB24,
                sw,
                sh,
                ff::software::scaling::Flags::BILINEAR,
            )
            .map_err(|e| e.to_string())?;
            self.ctx = Some((fmt, w, h, ctx));
        }
        let Some((_, _, _, ctx)) = self.ctx.as_mut() else {
            return Err("no scaling context".into());
        };
        ctx.run(src, &mut self.scaled).map_err(|e| e.to_string())?;

        let x0 = ((sw - self.out_w) / 2) as usize;
        let y0 = ((sh - self.out_h) / 2) as usize;
        let row = self.out_w as usize * 3;
        let stride = self.scaled.stride(0);
        let data = self.scaled.data(0);
        for (y, out_row) in dst.chunks_exact_mut(row).enumerate() {
            let start = (y0 + y) * stride + x0 * 3;
            out_row.copy_from_slice(&data[start..start + row]);
        }
        Ok(())
    }
}
