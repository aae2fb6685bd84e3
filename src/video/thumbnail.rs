//! One picture of a file at a given time, for reports.

use super::{FrameDecoder, ResizeRule, Scaler, VideoError};
use ffmpeg_next as ff;
use std::path::Path;

/// A packed RGB picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

/// The frame on screen at `time_s` (seconds since the first frame), at the footage's display
/// aspect, fitted into `max_w`×`max_h`.
pub fn picture_at(path: &Path, time_s: f64, max_w: u32, max_h: u32) -> Result<Picture, VideoError> {
    picture_at_with(path, &super::OpenOptions::default(), time_s, max_w, max_h)
}

/// [`picture_at`] for a chosen video stream or a given frame rate.
pub fn picture_at_with(
    path: &Path,
    open: &super::OpenOptions,
    time_s: f64,
    max_w: u32,
    max_h: u32,
) -> Result<Picture, VideoError> {
    let (input, info) = super::open_video_with(path, open)?;
    let mut dec = FrameDecoder::new(input, &info)?;
    let (sa, sd) = info.shown_aspect();
    let sar = ff::Rational::new(sa, sd.max(1));
    let (shown_w, shown_h) = info.shown_size();
    let (w, h) = super::preview::display_size(shown_w, shown_h, sar, max_w, max_h);
    let mut frame = ff::frame::Video::empty();
    let mut held = ff::frame::Video::empty();
    // The first frame fixes the clock; then seek near the time and decode forward.
    if dec.next_frame(&mut held)?.is_none() {
        return Err(VideoError::NoFrames {
            path: path.to_path_buf(),
        });
    }
    if time_s > 0.0 {
        dec.seek_or_rewind(time_s)?;
        while let Some(t) = dec.next_frame(&mut frame)? {
            if t > time_s + 1e-6 {
                break;
            }
            std::mem::swap(&mut held, &mut frame);
        }
    }
    let mut scaler = Scaler::new(ResizeRule::Stretch, w, h);
    let mut rgb = vec![0u8; scaler.frame_bytes()];
    scaler
        .convert(&held, &mut rgb)
        .map_err(|reason| VideoError::Scale {
            path: path.to_path_buf(),
            width: w,
            height: h,
            reason,
        })?;
    Ok(Picture {
        width: w,
        height: h,
        rgb,
    })
}
