//! Frame hashes: a SHA-256 of every decoded picture, so that an export proves frame by frame
//! that its clip shows the original's pictures (as forensic tools list them), and a verifier
//! can decode both again and check.
//!
//! A picture's hash is over its pixels as the decoder gives them: its planes packed one after
//! the other, rows without padding, in the decoder's own pixel format, before any
//! deinterlacing, turning or scaling. That is what FFmpeg's `framehash` muxer hashes, so anyone
//! can reproduce a list with stock FFmpeg ([`reproduce_command`]) without trusting vigil.

use super::reencode::for_each_frame;
use super::{FrameDecoder, IndexedVideo, VideoError};
use ffmpeg_next as ff;
use sha2::{Digest, Sha256};
use std::path::Path;

/// How a picture is hashed, in the manifest's words.
pub const FRAME_HASH_METHOD: &str = "SHA-256 of each decoded picture: its planes packed one after the other, rows without padding, in the decoder's pixel format, before any deinterlacing, turning or scaling (what FFmpeg's framehash muxer hashes)";

/// The hashes of a run of pictures, in display order.
#[derive(Debug, Clone, PartialEq)]
pub struct PictureHashes {
    /// The decoder's pixel format, e.g. `yuv420p`.
    pub pixel_format: String,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// One lowercase hex SHA-256 per picture.
    pub hashes: Vec<String>,
}

/// The FFmpeg command that prints the same hashes for the stream `map` names (`0:3`, `0:v:0`)
/// of a file, one line per picture (the last column).
pub fn reproduce_command(map: &str) -> String {
    format!(
        "ffmpeg -noautorotate -i FILE -map {map} -fps_mode passthrough -f framehash -hash sha256 -"
    )
}

/// SHA-256 of one decoded picture (see the module's doc).
pub fn picture_sha256(frame: &ff::frame::Video, path: &Path) -> Result<String, VideoError> {
    let bytes = super::ffi::packed_picture(frame).ok_or_else(|| VideoError::Decode {
        path: path.to_path_buf(),
        reason: "a decoded picture has no pixel format or size to hash".into(),
    })?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Collects the hashes, noting the first picture's format.
#[derive(Default)]
struct Collect {
    first: Option<(String, u32, u32)>,
    hashes: Vec<String>,
}

impl Collect {
    fn push(&mut self, frame: &ff::frame::Video, path: &Path) -> Result<(), VideoError> {
        if self.first.is_none() {
            let format = format!("{:?}", frame.format()).to_lowercase();
            self.first = Some((format, frame.width(), frame.height()));
        }
        self.hashes.push(picture_sha256(frame, path)?);
        Ok(())
    }

    fn finish(self, path: &Path) -> Result<PictureHashes, VideoError> {
        let Some((pixel_format, width, height)) = self.first else {
            return Err(VideoError::NoFrames {
                path: path.to_path_buf(),
            });
        };
        Ok(PictureHashes {
            pixel_format,
            width,
            height,
            hashes: self.hashes,
        })
    }
}

/// The hashes of source frames `frames` (frame-table indices, ascending) of `video`, decoded
/// from the keyframe before the first of them.
pub fn source_frame_hashes(
    video: &IndexedVideo,
    frames: &[u64],
) -> Result<PictureHashes, VideoError> {
    let path = video.path.as_path();
    let (Some(&a), Some(&b)) = (frames.first(), frames.last()) else {
        return Err(VideoError::NoFrames {
            path: path.to_path_buf(),
        });
    };
    let mut out = Collect::default();
    let mut wanted = frames.iter().copied().peekable();
    for_each_frame(
        path,
        &video.info,
        &video.table,
        (a as usize, b as usize + 1),
        |index, frame| {
            // A frame the table maps twice (timestamps that repeat) is hashed once.
            while wanted.peek().is_some_and(|&w| w < index as u64) {
                wanted.next();
            }
            if wanted.peek() == Some(&(index as u64)) {
                wanted.next();
                out.push(frame, path)?;
            }
            Ok(())
        },
    )?;
    out.finish(path)
}

/// The hashes of every picture a player shows of `path`'s video stream (the one vigil picks,
/// for a clip its only one), edit lists applied.
pub fn file_frame_hashes(path: &Path) -> Result<PictureHashes, VideoError> {
    let (source, info) = super::open_video(path)?;
    let mut dec = FrameDecoder::new(source, &info)?.as_decoded();
    let mut frame = ff::frame::Video::empty();
    let mut out = Collect::default();
    while dec.next_frame(&mut frame)?.is_some() {
        out.push(&frame, path)?;
    }
    out.finish(path)
}
