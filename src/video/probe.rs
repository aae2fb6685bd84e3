use super::{VideoError, init_ffmpeg};
use ffmpeg_next as ff;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Demuxers accepted as real video containers. FFmpeg will happily "open" a text file with its
/// `tty` demuxer or random bytes as `bin`, and playlist formats (HLS, concat) would make it open
/// other files; none of those belong in an evidence tool.
const CONTAINERS: &[&str] = &[
    "mov",
    "mp4",
    "matroska",
    "webm",
    "avi",
    "mpegts",
    "mpeg",
    "flv",
    "asf",
    "gif",
    "apng",
    "nut",
    "mxf",
    "h264",
    "hevc",
    "mjpeg",
    "mpjpeg",
    "m4v",
    "mpegvideo",
    "ogg",
    "ivf",
    "yuv4mpegpipe",
    "dv",
];

/// Video codecs accepted: camera, recorder and distribution codecs. Anything else is rejected
/// by name rather than decoded on the chance that it works.
const CODECS: &[&str] = &[
    "h264",
    "hevc",
    "mpeg4",
    "mpeg2video",
    "mpeg1video",
    "mjpeg",
    "vp8",
    "vp9",
    "av1",
    "msmpeg4v2",
    "msmpeg4v3",
    "wmv1",
    "wmv2",
    "wmv3",
    "vc1",
    "h263",
    "h263p",
    "flv1",
    "theora",
    "prores",
    "dnxhd",
    "dvvideo",
    "ffv1",
    "huffyuv",
    "ffvhuff",
    "utvideo",
    "rawvideo",
    "gif",
    "apng",
];

/// What a video file is, as far as the container and the stream headers say. Frame counts and
/// durations here are the container's claims; decoding establishes the truth.
#[derive(Debug, Clone)]
pub struct VideoInfo {
    /// Canonical path of the file.
    pub path: PathBuf,
    /// FFmpeg's demuxer name (e.g. `mov,mp4,m4a,3gp,3g2,mj2`).
    pub container: String,
    /// Codec name (e.g. `h264`).
    pub codec: String,
    /// Coded picture width in pixels.
    pub width: u32,
    /// Coded picture height in pixels.
    pub height: u32,
    /// Sample (pixel) aspect ratio as (numerator, denominator); (0, 1) when unknown (square).
    pub sample_aspect: (i32, i32),
    /// Index of the video stream that is decoded.
    pub stream_index: usize,
    /// Stream time base as (numerator, denominator).
    pub time_base: (i32, i32),
    /// Average frame rate claimed by the stream (frames per second), 0 when unknown.
    pub fps: f64,
    /// Duration claimed by the container, in seconds.
    pub duration_s: Option<f64>,
    /// Frame count claimed by the index (MP4/MOV) or estimated from duration × rate.
    pub frames_expected: Option<u64>,
    /// True when `frames_expected` is the index's exact count rather than an estimate.
    pub frames_expected_exact: bool,
    /// The container's `creation_time` tag, verbatim, when present (often the recorder's clock).
    pub creation_time: Option<String>,
}

fn rational_to_f64(r: ff::Rational) -> f64 {
    if r.denominator() == 0 || r.numerator() <= 0 {
        0.0
    } else {
        f64::from(r.numerator()) / f64::from(r.denominator())
    }
}

/// True when the file starts like an ISO-BMFF (MP4/MOV) file, used to explain an open failure.
fn looks_like_iso_bmff(path: &Path) -> bool {
    let mut head = [0u8; 12];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)) {
        Ok(()) => matches!(&head[4..8], b"ftyp" | b"mdat" | b"free" | b"wide" | b"moov"),
        Err(_) => false,
    }
}

fn check_file(path: &Path) -> Result<PathBuf, VideoError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VideoError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(VideoError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if meta.is_dir() {
        return Err(VideoError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("is a folder, not a video file"),
        });
    }
    if meta.len() == 0 {
        return Err(VideoError::Empty {
            path: path.to_path_buf(),
        });
    }
    // Opening here (read-only) surfaces permission problems as a plain I/O error.
    std::fs::File::open(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // An absolute path keeps FFmpeg from reading "name:with:colons" as a protocol.
    std::fs::canonicalize(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Opens `path` read-only, checks that it is a real video in an accepted container and codec,
/// and describes its video stream. The returned input context is positioned at the start.
pub fn open_video(path: &Path) -> Result<(ff::format::context::Input, VideoInfo), VideoError> {
    init_ffmpeg();
    let canonical = check_file(path)?;
    let shown = path.to_path_buf();

    let mut options = ff::Dictionary::new();
    // Only plain files: no network, no nested protocols pulled in by playlists.
    options.set("protocol_whitelist", "file");
    let input = match ff::format::input_with_dictionary(&canonical, options) {
        Ok(i) => i,
        Err(e) => {
            if looks_like_iso_bmff(&canonical) {
                return Err(VideoError::MissingIndex { path: shown });
            }
            return Err(VideoError::Unreadable {
                path: shown,
                reason: e.to_string(),
            });
        }
    };

    let format = input.format();
    let container = format.name().to_string();
    if !container.split(',').any(|n| CONTAINERS.contains(&n)) {
        return Err(VideoError::UnsupportedContainer {
            path: shown,
            format: container,
            long_name: format.description().to_string(),
        });
    }

    let Some(stream) = input.streams().best(ff::media::Type::Video) else {
        let kinds: Vec<String> = input
            .streams()
            .map(|s| {
                let p = s.parameters();
                format!("{:?} {}", p.medium(), p.id().name()).to_lowercase()
            })
            .collect();
        let detail = if kinds.is_empty() {
            String::new()
        } else {
            format!(" (it holds: {})", kinds.join(", "))
        };
        return Err(VideoError::NoVideoStream {
            path: shown,
            detail,
        });
    };

    let params = stream.parameters();
    let codec_id = params.id();
    let codec = codec_id.name().to_string();
    if !CODECS.contains(&codec.as_str()) {
        return Err(VideoError::UnsupportedCodec {
            path: shown,
            codec,
            detail: " (not a camera or distribution codec vigil accepts)".into(),
        });
    }
    if ff::decoder::find(codec_id).is_none() {
        return Err(VideoError::UnsupportedCodec {
            path: shown,
            codec,
            detail: " (this FFmpeg build has no decoder for it)".into(),
        });
    }

    let (width, height, sample_aspect) = {
        // The coded size lives in the decoder context built from the stream parameters.
        let ctx = ff::codec::context::Context::from_parameters(params).map_err(|e| {
            VideoError::Decode {
                path: shown.clone(),
                reason: e.to_string(),
            }
        })?;
        let dec = ctx.decoder().video().map_err(|e| VideoError::Decode {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let sar = dec.aspect_ratio();
        (
            dec.width(),
            dec.height(),
            (sar.numerator(), sar.denominator()),
        )
    };

    let tb = stream.time_base();
    let mut fps = rational_to_f64(stream.avg_frame_rate());
    if fps <= 0.0 || fps > 1000.0 {
        fps = rational_to_f64(stream.rate());
    }
    let duration_s = if stream.duration() > 0 {
        Some(stream.duration() as f64 * rational_to_f64(tb))
    } else if input.duration() > 0 {
        Some(input.duration() as f64 / f64::from(ff::ffi::AV_TIME_BASE))
    } else {
        None
    };
    let frames_expected_exact = stream.frames() > 0;
    let frames_expected = if frames_expected_exact {
        Some(stream.frames() as u64)
    } else {
        duration_s
            .filter(|_| fps > 0.0)
            .map(|d| (d * fps).round() as u64)
    };
    let creation_time = input
        .metadata()
        .get("creation_time")
        .map(str::to_string)
        .or_else(|| stream.metadata().get("creation_time").map(str::to_string));

    let info = VideoInfo {
        path: canonical,
        container,
        codec,
        width,
        height,
        sample_aspect,
        stream_index: stream.index(),
        time_base: (tb.numerator(), tb.denominator()),
        fps,
        duration_s,
        frames_expected,
        frames_expected_exact,
        creation_time,
    };
    Ok((input, info))
}
