//! Opening footage: the safe open (plain files, a watchdog on every read), the stream FFmpeg
//! picks or the one asked for, and what a reviewer needs to know of it ([`VideoInfo`]: size,
//! rate, timing source, duration, rotation, the other video streams).

use super::admit::{
    check_file, has_moov_box, looks_like_iso_bmff, refused_codec, refused_container,
};
use super::watchdog::Watchdog;
use super::{VideoError, init_ffmpeg};
use ffmpeg_next as ff;
use std::path::{Path, PathBuf};

/// The demuxer's name when it reads a stream that carries no frame times (raw H.261/H.263,
/// raw and multipart MJPEG, image pipes): FFmpeg then times the frames at a default rate
/// (25 or 29.97 fps) whatever the camera recorded. Raw H.264/HEVC are not listed: FFmpeg takes
/// their rate from the stream's VUI timing when it is there.
pub fn untimed_container(container: &str) -> Option<&str> {
    const UNTIMED: &[&str] = &[
        "h261",
        "h263",
        "mjpeg",
        "mjpeg_2000",
        "mpjpeg",
        "cavsvideo",
        "avs2",
        "avs3",
        "ingenient",
        "rawvideo",
    ];
    container
        .split(',')
        .find(|n| UNTIMED.contains(n) || n.ends_with("_pipe"))
}

/// The choices opening a file can leave open.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OpenOptions {
    /// The video stream to read (a container index), for files with several; `None`: FFmpeg's
    /// choice of the best one.
    pub stream: Option<usize>,
    /// The rate to time frames at, for a stream that stores no frame times (raw DVR exports);
    /// refused for streams that do.
    pub fps: Option<f64>,
}

/// Where a stream's frame times come from, as a report says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameTiming {
    /// The container's timestamps (what reports written before this field meant).
    #[default]
    Container,
    /// A raw H.264/HEVC stream's own header (VUI timing).
    StreamHeader,
    /// None stored: FFmpeg's default rate for the demuxer (25 fps, mostly).
    Assumed,
    /// None stored: the rate the user gave (`--fps`).
    Given,
}

/// True when a raw H.264/HEVC stream's first picture states its timing (VUI): the FFmpeg
/// decoder then knows the frame rate, and the demuxer's timestamps follow it. Without it, the
/// demuxer times frames at its default 25 fps.
fn stream_header_timed(canonical: &Path, index: usize) -> bool {
    let Ok((mut input, dog)) = open_input(canonical, None) else {
        return false;
    };
    let Some(params) = input.stream(index).map(|s| s.parameters()) else {
        return false;
    };
    let Ok(mut dec) =
        ff::codec::context::Context::from_parameters(params).and_then(|c| c.decoder().video())
    else {
        return false;
    };
    let mut frame = ff::frame::Video::empty();
    let mut timed = false;
    dog.step();
    for (s, packet) in input.packets().take(500) {
        if s.index() != index || dec.send_packet(&packet).is_err() {
            continue;
        }
        if dec.receive_frame(&mut frame).is_ok() {
            timed = dec
                .frame_rate()
                .is_some_and(|r| r.numerator() > 0 && r.denominator() > 0);
            break;
        }
        dog.step();
    }
    dog.idle();
    timed
}

impl VideoInfo {
    /// Width and height as shown: the coded size, turned by the rotation.
    pub fn shown_size(&self) -> (u32, u32) {
        if self.rotation_deg % 180 == 90 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    /// The sample aspect ratio as shown (turned with the picture).
    pub fn shown_aspect(&self) -> (i32, i32) {
        if self.rotation_deg % 180 == 90 {
            (self.sample_aspect.1, self.sample_aspect.0)
        } else {
            self.sample_aspect
        }
    }
}

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
    /// Every footage video stream in the file (container indices; cover art left out).
    pub video_streams: Vec<usize>,
    /// Where the frame times come from.
    pub timing: FrameTiming,
    /// The stream header says the pictures are interlaced (fields): they are deinterlaced
    /// before anything looks at them (`video::fields`).
    pub interlaced: bool,
    /// Clockwise turn (0, 90, 180, 270) the container asks for to show the picture upright.
    pub rotation_deg: u32,
    /// The stream's display matrix as stored (turns and mirrorings), carried into exported
    /// clips so that they show the way the original does.
    pub display_matrix: Option<[i32; 9]>,
    /// Decode order differs from display order (B-frames), as the stream parameters say.
    pub reorders_frames: bool,
    /// The choices the file was opened with ([`reopen`] opens it the same way).
    pub opened_with: OpenOptions,
    /// Bounds FFmpeg's reads for this file's input ([`Watchdog`]); idle once opened.
    pub watchdog: Watchdog,
    /// True when FFmpeg guessed `duration_s` from the file size and bit rate (raw elementary
    /// streams and the like): not a duration the container states, so truncation is not judged
    /// against it.
    pub duration_guessed: bool,
    /// The container's `creation_time` tag, verbatim, when present (often the recorder's clock).
    pub creation_time: Option<String>,
}

pub(super) fn rational_to_f64(r: ff::Rational) -> f64 {
    if r.denominator() == 0 || r.numerator() <= 0 {
        0.0
    } else {
        f64::from(r.numerator()) / f64::from(r.denominator())
    }
}

/// Opens `canonical` for demuxing the safe way: plain files only (no network, no nested
/// protocols pulled in by playlists), with a [`Watchdog`] on every read. The watchdog is idle
/// once this returns.
pub(super) fn open_input(
    canonical: &Path,
    fps: Option<f64>,
) -> Result<(ff::format::context::Input, Watchdog), (ff::Error, Watchdog)> {
    let mut options = ff::Dictionary::new();
    options.set("protocol_whitelist", "file");
    if let Some(f) = fps {
        // The raw demuxers' rate for streams that carry no frame times; others ignore it.
        options.set("framerate", &format!("{f}"));
    }
    let dog = Watchdog::opening();
    let check = dog.clone();
    let opened = ff::format::input_with_interrupt_and_dictionary(
        canonical,
        move || check.should_stop(),
        options,
    );
    dog.idle();
    match opened {
        Ok(i) => Ok((i, dog)),
        Err(e) => Err((e, dog)),
    }
}

/// An opened file, ready to be read by the decoders and copiers of this module. It wraps
/// FFmpeg's demuxer so that no module outside `video` ever holds an FFmpeg handle: callers pass
/// it on to [`super::FrameDecoder::new`] or [`super::ClipReader::new`].
pub struct Source {
    pub(super) input: ff::format::context::Input,
}

/// Opens `path` read-only, checks that it is a real video in an accepted container and codec,
/// and describes its best video stream. The returned input context is positioned at the start.
pub fn open_video(path: &Path) -> Result<(Source, VideoInfo), VideoError> {
    open_video_with(path, &OpenOptions::default())
}

/// Opens the file `info` describes again, the same way (stream, frame rate) as the first time.
pub fn reopen(info: &VideoInfo) -> Result<(Source, VideoInfo), VideoError> {
    let opts = OpenOptions {
        stream: Some(info.stream_index),
        ..info.opened_with
    };
    open_video_with(&info.path, &opts)
}

/// [`open_video`] with the choices a file can leave open: which of several video streams (a
/// multi-camera DVR export), and at what rate to time a stream that stores no frame times.
pub fn open_video_with(path: &Path, opts: &OpenOptions) -> Result<(Source, VideoInfo), VideoError> {
    let stream = opts.stream;
    if let Some(f) = opts.fps
        && !(f.is_finite() && (0.1..=1000.0).contains(&f))
    {
        return Err(VideoError::FpsNotApplicable {
            path: path.to_path_buf(),
            why: format!("{f} fps is not a frame rate (0.1 to 1000)"),
        });
    }
    init_ffmpeg();
    let canonical = check_file(path)?;
    let shown = path.to_path_buf();

    let (input, watchdog) = match open_input(&canonical, opts.fps) {
        Ok(i) => i,
        Err((_, dog)) if dog.fired() => {
            return Err(VideoError::Unreadable {
                path: shown,
                reason: "FFmpeg was still reading its headers after 60 s and was stopped".into(),
            });
        }
        Err((e, _)) => {
            if looks_like_iso_bmff(&canonical) {
                if has_moov_box(&canonical) {
                    return Err(VideoError::DamagedIndex {
                        path: shown,
                        reason: e.to_string(),
                    });
                }
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
    if let Some(why) = refused_container(&container) {
        return Err(VideoError::UnsupportedContainer {
            path: shown,
            format: container,
            long_name: format.description().to_string(),
            why,
        });
    }

    // Footage streams: video that is not cover art or a thumbnail.
    let video_streams: Vec<usize> = input
        .streams()
        .filter(|s| {
            s.parameters().medium() == ff::media::Type::Video
                && !s
                    .disposition()
                    .contains(ff::format::stream::Disposition::ATTACHED_PIC)
        })
        .map(|s| s.index())
        .collect();
    let chosen = match stream {
        // Any video stream, cover art included: a reopen asks for the stream it had.
        Some(n)
            if input
                .stream(n)
                .is_some_and(|s| s.parameters().medium() == ff::media::Type::Video) =>
        {
            input.stream(n)
        }
        Some(n) => {
            let listed: Vec<String> = video_streams.iter().map(|i| format!("#{i}")).collect();
            return Err(VideoError::NoSuchStream {
                path: shown,
                stream: n,
                streams: if listed.is_empty() {
                    "none".into()
                } else {
                    listed.join(", ")
                },
            });
        }
        None => input.streams().best(ff::media::Type::Video),
    };
    let Some(stream) = chosen else {
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
    let interlaced = super::ffi::picture_params(&params)
        .2
        .is_some_and(|o| o.starts_with("interlaced"));
    let reorders_frames = super::ffi::video_delay(&params) > 0;
    let codec_id = params.id();
    let codec = codec_id.name().to_string();
    if let Some(why) = refused_codec(&codec) {
        return Err(VideoError::UnsupportedCodec {
            path: shown,
            codec,
            detail: format!(" ({why})"),
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

    let rotation_deg = super::fields::rotation_of(&stream);
    let display_matrix = super::fields::display_matrix(&stream);
    let tb = stream.time_base();
    let mut fps = rational_to_f64(stream.avg_frame_rate());
    if fps <= 0.0 || fps > 1000.0 {
        fps = rational_to_f64(stream.rate());
    }
    let raw_avc = matches!(container.as_str(), "h264" | "hevc");
    let mut timing = if untimed_container(&container).is_some()
        || (raw_avc && !stream_header_timed(&canonical, stream.index()))
    {
        FrameTiming::Assumed
    } else if raw_avc {
        FrameTiming::StreamHeader
    } else {
        FrameTiming::Container
    };
    // Seconds of the stream's clock per second of the recording: 1 unless a rate the user
    // gave had to be applied by rescaling that clock.
    let mut clock_scale = 1.0;
    let mut time_base = (tb.numerator(), tb.denominator());
    if let Some(given) = opts.fps {
        let why = match timing {
            FrameTiming::Container => Some(format!(
                "the {container} container times every frame; --fps is for streams that store no frame times"
            )),
            FrameTiming::StreamHeader => Some(format!(
                "the stream's own header (VUI) times its frames at {fps:.3} fps; --fps is for streams that store no frame times"
            )),
            FrameTiming::Assumed | FrameTiming::Given => None,
        };
        if let Some(why) = why {
            return Err(VideoError::FpsNotApplicable { path: shown, why });
        }
        if (fps - given).abs() > 1e-6 * given && fps > 0.0 {
            // The demuxer has no rate setting (multipart MJPEG): its clock counts frames at
            // `fps`, so that clock is rescaled to count them at the given rate.
            let r = ff::Rational::from(fps / given);
            let (num, den) = (
                i64::from(tb.numerator()) * i64::from(r.numerator()),
                i64::from(tb.denominator()) * i64::from(r.denominator()),
            );
            let (Ok(num), Ok(den)) = (i32::try_from(num), i32::try_from(den)) else {
                return Err(VideoError::FpsNotApplicable {
                    path: shown,
                    why: format!("{given} fps cannot be applied to the {container} stream's clock"),
                });
            };
            clock_scale = fps / given;
            time_base = (num, den);
        }
        fps = given;
        timing = FrameTiming::Given;
    }
    let duration_guessed = stream.duration() <= 0 && super::ffi::duration_from_bitrate(&input);
    let duration_s = if stream.duration() > 0 {
        Some(stream.duration() as f64 * rational_to_f64(tb) * clock_scale)
    } else if input.duration() > 0 {
        Some(input.duration() as f64 / f64::from(ff::ffi::AV_TIME_BASE) * clock_scale)
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
        time_base,
        fps,
        timing,
        opened_with: *opts,
        interlaced,
        rotation_deg,
        display_matrix,
        reorders_frames,
        duration_s,
        frames_expected,
        frames_expected_exact,
        duration_guessed,
        creation_time,
        watchdog,
        video_streams,
    };
    Ok((Source { input }, info))
}
