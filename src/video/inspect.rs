//! `vigil probe`: what a file is and what vigil will do with it, before anything is scored.
//!
//! An investigator handed an odd file needs to know at once whether vigil opens it, which
//! stream it scores, how it will be timed and exported, and what the container itself admits
//! to (timestamps out of order, holes, a stated frame count the packets do not bear out). The
//! probe reads the container's headers and every packet of the video stream (no decoding but
//! the first frame, so an hour of footage takes seconds), and never fails: a file vigil refuses
//! gets a report that says why.

use super::admit::check_file;
use super::decode::{GAP_MIN_S, TimeRange};
use super::probe::open_input;
use super::{FrameDecoder, VideoError, init_ffmpeg, open_video, untimed_container};
use ffmpeg_next as ff;
use serde::Serialize;
use std::path::Path;

/// Everything `vigil probe` reports about one file.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The path as given.
    pub path: String,
    /// File size.
    pub bytes: Option<u64>,
    /// The container, when FFmpeg could open the file at all.
    pub container: Option<ContainerFacts>,
    /// Every stream in the container.
    pub streams: Vec<StreamFacts>,
    /// The packets of the stream vigil scores.
    pub packets: Option<PacketScan>,
    /// The first frame of that stream, decoded.
    pub first_frame: Option<FirstFrame>,
    /// What vigil does with the file.
    pub verdict: Verdict,
}

/// The container's own claims.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerFacts {
    /// FFmpeg's demuxer name (`mov,mp4,m4a,3gp,3g2,mj2`).
    pub format: String,
    /// Its long name.
    pub long_name: String,
    /// Duration the container states, in seconds.
    pub duration_s: Option<f64>,
    /// True when FFmpeg guessed the duration from the size and bit rate.
    pub duration_guessed: bool,
    /// Overall bit rate, bits per second.
    pub bit_rate: Option<i64>,
    /// The `creation_time` tag (the recorder's clock, if it set one).
    pub creation_time: Option<String>,
}

/// One stream.
#[derive(Debug, Clone, Serialize)]
pub struct StreamFacts {
    /// Stream index in the container.
    pub index: usize,
    /// video, audio, subtitle, data, attachment.
    pub kind: String,
    /// Codec name.
    pub codec: String,
    /// Picture size (video).
    pub width: Option<u32>,
    /// Picture size (video).
    pub height: Option<u32>,
    /// Average frame rate the container states (video).
    pub fps: Option<f64>,
    /// Frames the header states (0: not stated).
    pub frames_stated: u64,
    /// Stream duration in seconds.
    pub duration_s: Option<f64>,
    /// Time base `num/den`.
    pub time_base: String,
    /// Field order (`progressive`, `interlaced (top field first)`…) when the stream states it.
    pub field_order: Option<String>,
    /// Cover art or a thumbnail rather than footage.
    pub attached_picture: bool,
}

/// What the video stream's packets show (demuxed, not decoded).
#[derive(Debug, Clone, Serialize)]
pub struct PacketScan {
    /// The stream scanned.
    pub stream: usize,
    /// Packets (coded frames, for every codec vigil meets).
    pub packets: u64,
    /// Of them, keyframes.
    pub keyframes: u64,
    /// Bytes of video.
    pub bytes: u64,
    /// Packets the demuxer flagged as corrupt.
    pub corrupt: u64,
    /// Packets without any timestamp.
    pub untimed: u64,
    /// First and last presentation time, seconds (container clock).
    pub first_s: Option<f64>,
    /// See `first_s`.
    pub last_s: Option<f64>,
    /// Packets whose decode timestamp is not after the one before (out of order, repeated).
    pub dts_not_increasing: u64,
    /// Holes in the presentation times longer than 2 s (or 10 frame intervals).
    pub gaps: Vec<TimeRange>,
    /// The error that ended reading before the end of the file, if any.
    pub read_error: Option<String>,
}

/// The first decoded frame, or why there is none.
#[derive(Debug, Clone, Serialize)]
pub struct FirstFrame {
    /// True when a picture came out.
    pub decoded: bool,
    /// Its size.
    pub width: Option<u32>,
    /// Its size.
    pub height: Option<u32>,
    /// Why not, when not.
    pub error: Option<String>,
}

/// Whether vigil opens the file, and how it treats it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// True when `vigil score` and the app open it.
    pub opens: bool,
    /// The video stream vigil scores.
    pub stream: Option<usize>,
    /// Why not, when not: the same sentence `vigil score` gives.
    pub refusal: Option<String>,
    /// Where that stream's frame times come from.
    pub timing: Option<super::FrameTiming>,
    /// What vigil will do, one sentence each.
    pub notes: Vec<String>,
}

/// Probes `path`; never fails (see the module docs).
pub fn probe_file(path: &Path) -> ProbeReport {
    init_ffmpeg();
    let mut report = ProbeReport {
        path: path.display().to_string(),
        bytes: std::fs::metadata(path).ok().map(|m| m.len()),
        container: None,
        streams: Vec::new(),
        packets: None,
        first_frame: None,
        verdict: Verdict {
            opens: false,
            stream: None,
            refusal: None,
            timing: None,
            notes: Vec::new(),
        },
    };
    // The headers and streams, even of a file vigil refuses (the same safe open: plain files
    // only, no protocol but `file`).
    if let Ok(canonical) = check_file(path)
        && let Ok((input, _)) = open_input(&canonical, None)
    {
        report.container = Some(container_facts(&input));
        report.streams = input.streams().map(|s| stream_facts(&s)).collect();
    }
    let (super::Source { mut input }, info) = match open_video(path) {
        Ok(v) => v,
        Err(e) => {
            report.verdict.refusal = Some(e.to_string());
            return report;
        }
    };
    report.verdict.stream = Some(info.stream_index);
    report.verdict.timing = Some(info.timing);
    report.packets = Some(scan_packets(&mut input, info.stream_index, info.fps));
    report.first_frame = Some(first_frame(path));
    report.verdict.opens = report.first_frame.as_ref().is_some_and(|f| f.decoded);
    if !report.verdict.opens {
        let why = report
            .first_frame
            .as_ref()
            .and_then(|f| f.error.clone())
            .unwrap_or_else(|| "no frame decodes".into());
        report.verdict.refusal = Some(format!(
            "{}: the video stream opens but its first frame does not decode ({why})",
            path.display()
        ));
        return report;
    }
    report.verdict.notes = notes(&report, &info);
    report
}

fn container_facts(input: &ff::format::context::Input) -> ContainerFacts {
    let format = input.format();
    let duration_s =
        (input.duration() > 0).then(|| input.duration() as f64 / f64::from(ff::ffi::AV_TIME_BASE));
    ContainerFacts {
        format: format.name().to_string(),
        long_name: format.description().to_string(),
        duration_s,
        duration_guessed: super::ffi::duration_from_bitrate(input),
        bit_rate: (input.bit_rate() > 0).then(|| input.bit_rate()),
        creation_time: input.metadata().get("creation_time").map(str::to_string),
    }
}

fn stream_facts(s: &ff::format::stream::Stream<'_>) -> StreamFacts {
    let p = s.parameters();
    let kind = format!("{:?}", p.medium()).to_lowercase();
    let is_video = p.medium() == ff::media::Type::Video;
    let (w, h, field_order) = super::ffi::picture_params(&p);
    let tb = s.time_base();
    let fps = super::probe::rational_to_f64(s.avg_frame_rate());
    StreamFacts {
        index: s.index(),
        kind,
        codec: p.id().name().to_string(),
        width: (is_video && w > 0).then_some(w),
        height: (is_video && h > 0).then_some(h),
        fps: (is_video && fps > 0.0).then_some(fps),
        frames_stated: s.frames().max(0) as u64,
        duration_s: (s.duration() > 0)
            .then(|| s.duration() as f64 * super::probe::rational_to_f64(tb)),
        time_base: format!("{}/{}", tb.numerator(), tb.denominator()),
        field_order: is_video.then_some(field_order).flatten(),
        attached_picture: s
            .disposition()
            .contains(ff::format::stream::Disposition::ATTACHED_PIC),
    }
}

/// Reads every packet of stream `index` (and discards the rest).
fn scan_packets(input: &mut ff::format::context::Input, index: usize, fps: f64) -> PacketScan {
    let tb = input
        .stream(index)
        .map_or(0.0, |s| super::probe::rational_to_f64(s.time_base()));
    let mut scan = PacketScan {
        stream: index,
        packets: 0,
        keyframes: 0,
        bytes: 0,
        corrupt: 0,
        untimed: 0,
        first_s: None,
        last_s: None,
        dts_not_increasing: 0,
        gaps: Vec::new(),
        read_error: None,
    };
    let gap_s = GAP_MIN_S.max(if fps > 0.0 { 10.0 / fps } else { 0.0 });
    let mut last_dts: Option<i64> = None;
    let mut times: Vec<f64> = Vec::new();
    let mut errors = 0u32;
    loop {
        let mut p = ff::Packet::empty();
        match p.read(input) {
            Ok(()) => errors = 0,
            Err(ff::Error::Eof) => break,
            Err(e) => {
                errors += 1;
                if errors >= 64 {
                    scan.read_error = Some(e.to_string());
                    break;
                }
                continue;
            }
        }
        if p.stream() != index {
            continue;
        }
        scan.packets += 1;
        scan.bytes += p.size() as u64;
        if p.is_key() {
            scan.keyframes += 1;
        }
        if p.is_corrupt() {
            scan.corrupt += 1;
        }
        if let Some(d) = p.dts() {
            if last_dts.is_some_and(|l| d <= l) {
                scan.dts_not_increasing += 1;
            }
            last_dts = Some(d);
        }
        match p.pts().or(p.dts()) {
            Some(t) => times.push(t as f64 * tb),
            None => scan.untimed += 1,
        }
    }
    // Presentation order: B-frames come out of decode order.
    times.sort_by(f64::total_cmp);
    scan.first_s = times.first().copied();
    scan.last_s = times.last().copied();
    for w in times.windows(2) {
        if w[1] - w[0] > gap_s && scan.gaps.len() < 1000 {
            scan.gaps.push(TimeRange {
                from_s: w[0],
                to_s: w[1],
            });
        }
    }
    scan
}

fn first_frame(path: &Path) -> FirstFrame {
    let fail = |e: VideoError| FirstFrame {
        decoded: false,
        width: None,
        height: None,
        error: Some(e.to_string()),
    };
    let (input, info) = match open_video(path) {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let mut decoder = match FrameDecoder::new(input, &info) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let mut frame = ff::frame::Video::empty();
    match decoder.next_frame(&mut frame) {
        Ok(Some(_)) => FirstFrame {
            decoded: true,
            width: Some(frame.width()),
            height: Some(frame.height()),
            error: None,
        },
        Ok(None) => fail(VideoError::NoFrames {
            path: path.to_path_buf(),
        }),
        Err(e) => fail(e),
    }
}

/// What vigil will do with a file it opens, in sentences.
fn notes(r: &ProbeReport, info: &super::VideoInfo) -> Vec<String> {
    let mut notes = Vec::new();
    let videos: Vec<&StreamFacts> = r
        .streams
        .iter()
        .filter(|s| s.kind == "video" && !s.attached_picture)
        .collect();
    let chosen = format!(
        "stream #{} ({} {}x{}, {:.3} fps)",
        info.stream_index, info.codec, info.width, info.height, info.fps
    );
    if videos.len() > 1 {
        let others: Vec<String> = videos
            .iter()
            .filter(|s| s.index != info.stream_index)
            .map(|s| format!("#{}", s.index))
            .collect();
        notes.push(format!(
            "scores {chosen}, FFmpeg's choice of the best of {} video streams; not {} unless asked (vigil score --stream N, or --stream all)",
            videos.len(),
            others.join(", ")
        ));
    } else {
        notes.push(format!("scores {chosen}, the file's only video stream"));
    }
    match info.timing {
        super::FrameTiming::Assumed => {
            let what = untimed_container(&info.container).map_or_else(
                || format!("the raw {} stream has no VUI timing", info.codec),
                |name| format!("{name} stores no frame times"),
            );
            notes.push(format!(
                "times frames at {:.3} fps: {what}, so FFmpeg assumed that rate (give the recorder's rate with --fps N)",
                info.fps
            ));
        }
        super::FrameTiming::StreamHeader => notes.push(format!(
            "times frames at {:.3} fps, from the stream's own header (VUI timing)",
            info.fps
        )),
        super::FrameTiming::Container | super::FrameTiming::Given => {}
    }
    if let Some(c) = &r.container
        && c.duration_guessed
    {
        notes.push(
            "the duration shown is FFmpeg's guess from the bit rate: decoding finds the real one"
                .into(),
        );
    }
    if let Some(f) = r
        .streams
        .get(info.stream_index)
        .and_then(|s| s.field_order.as_ref())
        && f != "progressive"
    {
        notes.push(format!(
            "the stream is {f}: frames are deinterlaced (FFmpeg bwdif) before the network and the player; exports keep the original fields"
        ));
    }
    if info.rotation_deg != 0 {
        notes.push(format!(
            "the container turns the picture {}° clockwise: frames are turned upright before the network and the player",
            info.rotation_deg
        ));
    }
    if let Some(p) = &r.packets {
        if let Some(exp) = info.frames_expected
            && info.frames_expected_exact
            && p.packets + 1 < exp
        {
            notes.push(format!(
                "the header states {exp} frames, the file holds {} packets: frames were dropped when it was recorded, or the file is incomplete",
                p.packets
            ));
        }
        if p.dts_not_increasing > 0 {
            notes.push(format!(
                "{} packet{} out of timestamp order: the container is damaged or was edited; `vigil score` reports where",
                p.dts_not_increasing,
                if p.dts_not_increasing == 1 { " is" } else { "s are" }
            ));
        }
        if !p.gaps.is_empty() {
            notes.push(format!(
                "{} recording gap{} (no frames for more than {GAP_MIN_S:.0} s); scores and the timeline show them",
                p.gaps.len(),
                if p.gaps.len() == 1 { "" } else { "s" }
            ));
        }
        if p.corrupt > 0 {
            notes.push(format!(
                "the demuxer flagged {} packet{} as corrupt",
                p.corrupt,
                if p.corrupt == 1 { "" } else { "s" }
            ));
        }
        if let Some(e) = &p.read_error {
            notes.push(format!(
                "reading stopped before the end ({e}): the file is truncated or damaged; vigil scores what reads"
            ));
        }
    }
    notes.push(match super::stream_copy_refused(&info.codec) {
        Some(_) => "exports spans by lossless re-encoding (FFV1): FFmpeg cannot stream-copy this codec into a clip that decodes".into(),
        None => "exports spans by stream copy: the clip holds the original's packets, bit for bit".into(),
    });
    notes
}
