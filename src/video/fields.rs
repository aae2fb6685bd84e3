//! The picture filters between the decoder and the scaler: deinterlacing for interlaced
//! footage and turning the picture upright for a container's rotation (display matrix).
//!
//! Analogue cameras behind DVRs record interlaced fields: woven into one frame, a moving
//! person becomes combs of alternate lines, which the network never saw in training. Phones
//! and body cameras record sideways and store the turn as metadata. Both are undone here, in
//! the decoder, so that the network, the player and every picture agree; exports copy the
//! original packets and keep the fields and the metadata as recorded.
//!
//! Deinterlacing is FFmpeg's `bwdif` (motion-adaptive, one frame out per frame in, only frames
//! flagged interlaced), rotation `transpose`/`hflip,vflip`. The graph is built on the first
//! frame (it needs the decoder's pixel format) and again when the picture size changes or
//! after a seek.

use super::VideoError;
use ffmpeg_next as ff;
use std::path::Path;

/// Which frames of a stream are deinterlaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Deinterlace {
    /// None: the stream is progressive.
    Off,
    /// Those the decoder flags as interlaced (streams that mix both).
    Flagged,
    /// Every frame: the stream's header says it is interlaced.
    All,
}

/// The filter chain a stream needs, or `None` when its frames go to the scaler as decoded.
pub(super) fn filter_spec(deinterlace: Deinterlace, rotation_deg: u32) -> Option<String> {
    let mut parts = Vec::new();
    match deinterlace {
        Deinterlace::Off => {}
        Deinterlace::Flagged => parts.push("bwdif=mode=send_frame:parity=auto:deint=interlaced"),
        Deinterlace::All => parts.push("bwdif=mode=send_frame:parity=auto:deint=all"),
    }
    match rotation_deg {
        90 => parts.push("transpose=clock"),
        180 => parts.push("hflip,vflip"),
        270 => parts.push("transpose=cclock"),
        _ => {}
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// A stream's display matrix (FFmpeg's nine 32-bit integers, native byte order), when it has
/// one.
pub(super) fn display_matrix(stream: &ff::format::stream::Stream) -> Option<[i32; 9]> {
    use ff::codec::packet::side_data::Type;
    stream
        .side_data()
        .find(|sd| sd.kind() == Type::DisplayMatrix && sd.data().len() >= 36)
        .map(|sd| {
            let mut m = [0i32; 9];
            for (v, b) in m.iter_mut().zip(sd.data().chunks_exact(4)) {
                *v = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            }
            m
        })
}

/// The clockwise turn (0, 90, 180 or 270 degrees) that shows a stream upright, from its display
/// matrix, as FFmpeg's own player applies it. Other angles and mirrorings are left alone.
pub(super) fn rotation_of(stream: &ff::format::stream::Stream) -> u32 {
    let Some(m) = display_matrix(stream) else {
        return 0;
    };
    // The matrix's turn, as av_display_rotation_get reads it (16.16 fixed point; the
    // scale divides out): the clockwise turn that makes the picture upright.
    let (a, b, c, d) = (
        f64::from(m[0]),
        f64::from(m[1]),
        f64::from(m[3]),
        f64::from(m[4]),
    );
    let (s0, s1) = (a.hypot(c), b.hypot(d));
    if s0 == 0.0 || s1 == 0.0 {
        return 0;
    }
    let cw = (b / s1).atan2(a / s0).to_degrees().rem_euclid(360.0);
    for r in [90u32, 180, 270] {
        if (cw - f64::from(r)).abs() < 1.0 {
            return r;
        }
    }
    0
}

/// A filter graph fed with decoded frames and drained of filtered ones.
pub(super) struct PictureFilter {
    spec: String,
    time_base: ff::Rational,
    graph: Option<ff::filter::Graph>,
    /// Size and format the graph was built for.
    built_for: (u32, u32, ff::format::Pixel),
    /// End of stream was sent: what the graph returns now is its last frames.
    flushed: bool,
}

impl PictureFilter {
    /// A filter for `spec`; frames carry times in `time_base`.
    pub(super) fn new(spec: String, time_base: (i32, i32)) -> Self {
        let (n, d) = time_base;
        Self {
            spec,
            time_base: if n > 0 && d > 0 {
                ff::Rational::new(n, d)
            } else {
                ff::Rational::new(1, 1000)
            },
            graph: None,
            built_for: (0, 0, ff::format::Pixel::None),
            flushed: false,
        }
    }

    /// Forgets what the graph holds (after a seek): the next frame starts afresh.
    pub(super) fn reset(&mut self) {
        self.graph = None;
        self.flushed = false;
    }

    /// True once end of stream has been sent.
    pub(super) fn flushed(&self) -> bool {
        self.flushed
    }

    /// Gives the graph one decoded frame.
    pub(super) fn push(&mut self, frame: &ff::frame::Video, path: &Path) -> Result<(), VideoError> {
        let key = (frame.width(), frame.height(), frame.format());
        if self.graph.is_none() || self.built_for != key {
            // A size change mid-stream: frames still inside the old graph are dropped with it,
            // as FFmpeg's own player does.
            self.graph = Some(self.build(frame, path)?);
            self.built_for = key;
        }
        let err = |e: ff::Error| filter_error(path, &e);
        let graph = self
            .graph
            .as_mut()
            .ok_or_else(|| filter_error(path, &"no graph"))?;
        let mut src = graph
            .get("in")
            .ok_or_else(|| filter_error(path, &"no input"))?;
        src.source().add(frame).map_err(err)
    }

    /// Sends end of stream, so that the frames the graph holds back come out.
    pub(super) fn flush(&mut self, path: &Path) -> Result<(), VideoError> {
        self.flushed = true;
        let Some(graph) = self.graph.as_mut() else {
            return Ok(());
        };
        let mut src = graph
            .get("in")
            .ok_or_else(|| filter_error(path, &"no input"))?;
        match src.source().flush() {
            Ok(()) | Err(ff::Error::Eof) => Ok(()),
            Err(e) => Err(filter_error(path, &e)),
        }
    }

    /// The next filtered frame, if the graph has one ready.
    pub(super) fn pull(&mut self, out: &mut ff::frame::Video) -> bool {
        let Some(graph) = self.graph.as_mut() else {
            return false;
        };
        let Some(mut sink) = graph.get("out") else {
            return false;
        };
        sink.sink().frame(out).is_ok()
    }

    fn build(
        &self,
        frame: &ff::frame::Video,
        path: &Path,
    ) -> Result<ff::filter::Graph, VideoError> {
        let err = |e: ff::Error| filter_error(path, &e);
        let missing = |name: &str| filter_error(path, &format!("FFmpeg has no '{name}' filter"));
        let sar = frame.aspect_ratio();
        let (sn, sd) = if sar.numerator() > 0 && sar.denominator() > 0 {
            (sar.numerator(), sar.denominator())
        } else {
            (1, 1)
        };
        let pix: ff::ffi::AVPixelFormat = frame.format().into();
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={sn}/{sd}",
            frame.width(),
            frame.height(),
            pix as i32,
            self.time_base.numerator(),
            self.time_base.denominator(),
        );
        let mut graph = ff::filter::Graph::new();
        let buffer = ff::filter::find("buffer").ok_or_else(|| missing("buffer"))?;
        let sink = ff::filter::find("buffersink").ok_or_else(|| missing("buffersink"))?;
        graph.add(&buffer, "in", &args).map_err(err)?;
        graph.add(&sink, "out", "").map_err(err)?;
        graph
            .output("in", 0)
            .and_then(|p| p.input("out", 0))
            .and_then(|p| p.parse(&self.spec))
            .map_err(err)?;
        graph.validate().map_err(err)?;
        Ok(graph)
    }
}

fn filter_error(path: &Path, e: &dyn std::fmt::Display) -> VideoError {
    VideoError::Decode {
        path: path.to_path_buf(),
        reason: format!("the picture filter (deinterlace/rotate) failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Deinterlace as D, filter_spec};

    #[test]
    fn the_chain_has_what_the_stream_needs_and_nothing_else() {
        assert_eq!(filter_spec(D::Off, 0), None);
        assert_eq!(
            filter_spec(D::Flagged, 0).as_deref(),
            Some("bwdif=mode=send_frame:parity=auto:deint=interlaced")
        );
        assert_eq!(filter_spec(D::Off, 90).as_deref(), Some("transpose=clock"));
        assert_eq!(
            filter_spec(D::All, 180).as_deref(),
            Some("bwdif=mode=send_frame:parity=auto:deint=all,hflip,vflip")
        );
        assert_eq!(filter_spec(D::Off, 45), None);
    }
}
