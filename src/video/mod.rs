//! FFmpeg: probing, decoding to model-sized frames at a fixed rate, and clip assembly.
//!
//! Owns everything that touches FFmpeg. Time comes from presentation timestamps, never from
//! counting frames, so variable-frame-rate footage and files with dropped or duplicated frames
//! land on the right seconds. Must not know about models or egui: callers pass plain numbers
//! (frame rate, clip length, output size, resize rule).

mod admit;
mod clips;
mod decode;
mod encode;
mod export;
mod ffi;
mod fflog;
mod fields;
mod find;
mod framehash;
mod frames;
mod inspect;
mod preview;
mod probe;
mod reader;
mod reencode;
mod scale;
mod splice;
mod thumbnail;
mod watchdog;

pub use crate::base::clip::{ClipSpec, ResizeRule};
pub use clips::{ClipAssembler, ClipSpan, SlotClock, SlotEvent};
pub use decode::{DamagedRange, DecodeStats, FrameDecoder, GAP_MIN_S, TimeRange};
pub use encode::Mp4Writer;
pub use export::{
    ClipExport, ClipRequest, CopyOptions, copy_refused, export_stream_copy, stream_copy_refused,
    unique_path,
};
pub use find::{VIDEO_EXTENSIONS, has_video_extension, videos_in};
pub use framehash::{
    FRAME_HASH_METHOD, PictureHashes, file_frame_hashes, picture_sha256, reproduce_command,
    source_frame_hashes,
};
pub use frames::{FrameTable, IndexedVideo};
pub use inspect::{ProbeReport, probe_file};
pub use preview::{PreviewEvent, PreviewFrame, PreviewInfo, PreviewWorker};
pub use probe::{
    FrameTiming, OpenOptions, Source, VideoInfo, open_video, open_video_with, reopen,
    untimed_container,
};
pub use reader::{ClipReader, ReadClip};
pub use reencode::{export_exact, export_reencode};
pub use scale::Scaler;
pub use splice::{SpliceOutcome, export_splice};
pub use thumbnail::{Picture, picture_at, picture_at_with};
pub use watchdog::Watchdog;

use std::path::PathBuf;

/// Everything that can go wrong turning a file into frames, phrased for the person who chose
/// the file.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The path does not exist.
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    /// The path exists but cannot be read (permissions, a folder, an I/O error).
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A FIFO, device or socket: nothing vigil can hash, reopen and seek in.
    #[error("{path}: is {kind}, not a video file")]
    NotAFile { path: PathBuf, kind: &'static str },
    /// A zero-byte file, e.g. a recording that never started.
    #[error("{path}: the file is empty (0 bytes)")]
    Empty { path: PathBuf },
    /// FFmpeg could not make sense of the bytes at all.
    #[error("{path}: not a video FFmpeg can read ({reason})")]
    Unreadable { path: PathBuf, reason: String },
    /// An MP4/MOV whose index (moov atom) is missing: the recording was cut off before the
    /// camera or recorder finalised it.
    #[error(
        "{path}: MP4/MOV without its index (moov atom), so it cannot be decoded; the recording was probably cut off before it was finalised (try a recovery tool such as untrunc with a healthy file from the same camera)"
    )]
    MissingIndex { path: PathBuf },
    /// An MP4/MOV whose index is there but does not parse (damaged on disk or in transfer).
    #[error(
        "{path}: MP4/MOV whose index (moov atom) is there but damaged, so it cannot be decoded ({reason}); a recovery tool such as untrunc can rebuild it from a healthy file from the same camera"
    )]
    DamagedIndex { path: PathBuf, reason: String },
    /// FFmpeg opened the file as something that is not a recording in this one file: it
    /// "decodes" a text file as ANSI art, and playlists open other files.
    #[error("{path}: not a video file (FFmpeg read it as '{format}', {long_name}: {why})")]
    UnsupportedContainer {
        path: PathBuf,
        format: String,
        long_name: String,
        why: &'static str,
    },
    /// `--fps` cannot time this stream: it has its own frame times, or the value is no rate.
    #[error("{path}: --fps cannot be used here: {why}")]
    FpsNotApplicable { path: PathBuf, why: String },
    /// `--stream N` names a stream that is not footage video.
    #[error(
        "{path}: stream #{stream} is not a video stream of this file (video streams: {streams})"
    )]
    NoSuchStream {
        path: PathBuf,
        stream: usize,
        streams: String,
    },
    /// The container has no video stream (audio only, subtitles, data).
    #[error("{path}: the file has no video stream{detail}")]
    NoVideoStream { path: PathBuf, detail: String },
    /// The video stream is not a picture codec, or this FFmpeg cannot decode it.
    #[error("{path}: unsupported video codec '{codec}'{detail}")]
    UnsupportedCodec {
        path: PathBuf,
        codec: String,
        detail: String,
    },
    /// The decoder could not be set up, or failed before producing any picture.
    #[error("{path}: cannot decode video: {reason}")]
    Decode { path: PathBuf, reason: String },
    /// A video could not be written (no encoder, a muxer or write error). The message is the
    /// reason alone: the writer's caller says what it was writing.
    #[error("{path}: {reason}")]
    Encode { path: PathBuf, reason: String },
    /// The file opened but not a single frame could be decoded.
    #[error("{path}: no decodable video frames")]
    NoFrames { path: PathBuf },
    /// swscale could not convert a frame.
    #[error("{path}: cannot convert frames to {width}x{height} RGB: {reason}")]
    Scale {
        path: PathBuf,
        width: u32,
        height: u32,
        reason: String,
    },
}

/// Initialises FFmpeg once and silences its own logging: vigil reports problems itself, once,
/// in words a reviewer can act on.
pub fn init_ffmpeg() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        // `init` only registers components on old FFmpeg; failing it leaves FFmpeg usable.
        if ffmpeg_next::init().is_err() {
            tracing::warn!("ffmpeg init reported an error");
        }
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Quiet);
        // FFmpeg's error messages are counted per decoder (damage is evidence) and not printed.
        fflog::install();
    });
}
