//! Frame-exact preview for the player: a thread that owns its own FFmpeg input and decoder,
//! takes "show frame N" requests, and answers with RGB pictures at display size.
//!
//! Frame numbers come from a table of every frame's timestamp, built once by reading the
//! packets (no decoding), so "frame 1234" means the 1235th frame shown, on variable-rate footage
//! too. A request is served by decoding forward when the frame is a little ahead of the last one
//! shown (playback), and otherwise by seeking to the keyframe before it and decoding forward.
//! Requests carry a generation number; the newest wins, and a decode-forward in progress for an
//! older request is abandoned as soon as a newer one arrives (scrubbing).

use super::{
    FrameDecoder, OpenOptions, ResizeRule, Scaler, VideoError, VideoInfo, open_video_with,
};
use crossbeam_channel::{Receiver, Sender, bounded};
use ffmpeg_next as ff;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Decode forward instead of seeking when the asked frame is at most this many frames ahead.
const FORWARD_WINDOW: u64 = 90;
/// Timestamps closer than this (seconds) are the same instant.
const EPS_S: f64 = 1e-6;

/// What the preview knows about the file once opened.
#[derive(Debug, Clone)]
pub struct PreviewInfo {
    /// Every frame's time in seconds since the first, in presentation order.
    pub frame_times: Arc<Vec<f64>>,
    /// Time the last frame stops being shown.
    pub duration_s: f64,
    /// Average frame rate claimed by the stream.
    pub fps: f64,
    /// Size of the pictures sent (display aspect, fitted in the requested box).
    pub width: u32,
    /// See `width`.
    pub height: u32,
    /// The container's creation_time tag, when present.
    pub creation_time: Option<String>,
}

impl PreviewInfo {
    /// The frame on screen at `time_s`: the last one whose time is not after it.
    pub fn frame_at(&self, time_s: f64) -> u64 {
        let n = self.frame_times.partition_point(|&t| t <= time_s + EPS_S);
        n.saturating_sub(1) as u64
    }

    /// Time of frame `index` (clamped to the last frame).
    pub fn time_of(&self, index: u64) -> f64 {
        let i = (index as usize).min(self.frame_times.len().saturating_sub(1));
        self.frame_times.get(i).copied().unwrap_or(0.0)
    }

    /// Number of frames.
    pub fn frames(&self) -> u64 {
        self.frame_times.len() as u64
    }
}

/// A decoded picture for display.
#[derive(Debug, Clone)]
pub struct PreviewFrame {
    /// The request this answers.
    pub generation: u64,
    /// Frame number (0-based, presentation order).
    pub index: u64,
    /// Its time in seconds since the first frame.
    pub time_s: f64,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Packed RGB, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

/// What the preview thread reports.
#[derive(Debug, Clone)]
pub enum PreviewEvent {
    /// The file is open and indexed.
    Opened(PreviewInfo),
    /// A requested frame.
    Frame(PreviewFrame),
    /// The file cannot be previewed (one plain sentence).
    Failed(String),
}

/// Handle to a preview thread for one file.
pub struct PreviewWorker {
    requests: Sender<(u64, u64)>,
    events: Receiver<PreviewEvent>,
    generation: Arc<AtomicU64>,
    alive: Arc<AtomicBool>,
}

impl PreviewWorker {
    /// Opens `path` on a new thread; pictures are fitted into `max_w`×`max_h`. `wake` is called
    /// after every event.
    pub fn open(
        path: &Path,
        max_w: u32,
        max_h: u32,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        Self::open_with(path, OpenOptions::default(), max_w, max_h, wake)
    }

    /// [`PreviewWorker::open`] for a chosen video stream or a given frame rate.
    pub fn open_with(
        path: &Path,
        open: OpenOptions,
        max_w: u32,
        max_h: u32,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let (req_tx, req_rx) = bounded::<(u64, u64)>(16);
        let (ev_tx, ev_rx) = bounded::<PreviewEvent>(4);
        let generation = Arc::new(AtomicU64::new(0));
        let alive = Arc::new(AtomicBool::new(true));
        let (g, a, p) = (
            Arc::clone(&generation),
            Arc::clone(&alive),
            path.to_path_buf(),
        );
        std::thread::Builder::new()
            .name("vigil-preview".into())
            .spawn(move || {
                let send = |e: PreviewEvent| {
                    let ok = ev_tx.send(e).is_ok();
                    wake();
                    ok
                };
                if let Err(e) = preview_loop(&p, &open, max_w, max_h, &req_rx, &g, &a, &send) {
                    send(PreviewEvent::Failed(e.to_string()));
                }
            })?;
        Ok(Self {
            requests: req_tx,
            events: ev_rx,
            generation,
            alive,
        })
    }

    /// Asks for frame `index`; returns the request's generation. Earlier requests still
    /// pending are superseded.
    pub fn request(&self, index: u64) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        // A full queue means the thread is behind; it only serves the newest generation, so
        // dropping this send is fine as long as a later one gets through.
        if self.requests.try_send((generation, index)).is_err() {
            tracing::debug!("preview request queue full; generation {generation} will be re-asked");
        }
        generation
    }

    /// The newest generation asked for.
    pub fn latest_generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The next event, if any.
    pub fn try_event(&self) -> Option<PreviewEvent> {
        self.events.try_recv().ok()
    }
}

impl Drop for PreviewWorker {
    fn drop(&mut self) {
        // The thread sees this at its next step (or when the request channel closes).
        self.alive.store(false, Ordering::SeqCst);
    }
}

/// Display size: the picture's display aspect (sample aspect ratio applied) fitted into the box,
/// even dimensions.
pub(crate) fn display_size(
    w: u32,
    h: u32,
    sar: ff::Rational,
    max_w: u32,
    max_h: u32,
) -> (u32, u32) {
    let sar = if sar.numerator() > 0 && sar.denominator() > 0 {
        f64::from(sar.numerator()) / f64::from(sar.denominator())
    } else {
        1.0
    };
    let (dw, dh) = (f64::from(w) * sar, f64::from(h));
    let scale = (f64::from(max_w) / dw).min(f64::from(max_h) / dh).min(1.0);
    let even = |x: f64| (((x * scale) / 2.0).round() as u32 * 2).max(2);
    (even(dw), even(dh))
}

struct Shown {
    index: u64,
    time_s: f64,
    rgb: Vec<u8>,
}

#[allow(clippy::too_many_arguments)]
fn preview_loop(
    path: &Path,
    open: &OpenOptions,
    max_w: u32,
    max_h: u32,
    requests: &Receiver<(u64, u64)>,
    generation: &AtomicU64,
    alive: &AtomicBool,
    send: &dyn Fn(PreviewEvent) -> bool,
) -> Result<(), VideoError> {
    let (input, info): (_, VideoInfo) = open_video_with(path, open)?;
    let ticks = super::IndexedVideo::open_with(path, open)?.table.ticks;
    let mut decoder = FrameDecoder::new(input, &info)?;
    let (sa, sd) = info.shown_aspect();
    let sar = ff::Rational::new(sa, sd.max(1));
    let (shown_w, shown_h) = info.shown_size();
    let (dw, dh) = display_size(shown_w, shown_h, sar, max_w, max_h);
    let mut scaler = Scaler::new(ResizeRule::Stretch, dw, dh);
    let mut frame = ff::frame::Video::empty();

    // The first decoded frame fixes the clock's origin; frames the decoder never shows
    // (before an edit list's start) are left out of the table.
    let Some(_) = decoder.next_frame(&mut frame)? else {
        return Err(VideoError::NoFrames {
            path: path.to_path_buf(),
        });
    };
    let origin = decoder.origin_ticks().unwrap_or(0);
    let tick_s = decoder.seconds_per_tick();
    let mut times: Vec<f64> = ticks
        .iter()
        .filter(|&&t| t >= origin)
        .map(|&t| (t - origin) as f64 * tick_s)
        .collect();
    if times.first().is_none_or(|&t| t > EPS_S) {
        times.insert(0, 0.0);
    }
    let last = times.last().copied().unwrap_or(0.0);
    let fps = if info.fps > 0.0 { info.fps } else { 25.0 };
    let preview = PreviewInfo {
        frame_times: Arc::new(times),
        duration_s: last + 1.0 / fps,
        fps: info.fps,
        width: dw,
        height: dh,
        creation_time: info.creation_time.clone(),
    };
    if !send(PreviewEvent::Opened(preview.clone())) {
        return Ok(());
    }

    let mut rgb = vec![0u8; scaler.frame_bytes()];
    scaler
        .convert(&frame, &mut rgb)
        .map_err(|reason| scale_error(path, dw, dh, reason))?;
    let mut shown = Shown {
        index: 0,
        time_s: 0.0,
        rgb,
    };
    // Position of the decoder: index of the last frame it produced.
    let mut decoded_index: Option<u64> = Some(0);

    while let Ok(mut req) = requests.recv() {
        while let Ok(newer) = requests.try_recv() {
            req = newer;
        }
        if !alive.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (gen_asked, index) = req;
        if gen_asked < generation.load(Ordering::SeqCst) {
            // A newer request is on its way through the channel.
            continue;
        }
        let index = index.min(preview.frames().saturating_sub(1));
        if index != shown.index {
            let target = preview.time_of(index);
            let ahead = decoded_index.is_some_and(|d| index > d && index - d <= FORWARD_WINDOW);
            if !ahead {
                seek_before(&mut decoder, &mut frame, target)?;
            }
            // Decode forward to the target, abandoning it if a newer request arrives.
            let mut abandoned = false;
            loop {
                if generation.load(Ordering::SeqCst) != gen_asked || !alive.load(Ordering::SeqCst) {
                    abandoned = true;
                    break;
                }
                let Some(t) = decoder.next_frame(&mut frame)? else {
                    // Past the end: show the last frame decoded.
                    break;
                };
                decoded_index = Some(preview.frame_at(t));
                if t >= target - EPS_S {
                    scaler
                        .convert(&frame, &mut shown.rgb)
                        .map_err(|reason| scale_error(path, dw, dh, reason))?;
                    shown.index = preview.frame_at(t);
                    shown.time_s = t;
                    break;
                }
            }
            if abandoned {
                continue;
            }
        }
        let ok = send(PreviewEvent::Frame(PreviewFrame {
            generation: gen_asked,
            index: shown.index,
            time_s: shown.time_s,
            width: dw,
            height: dh,
            rgb: shown.rgb.clone(),
        }));
        if !ok {
            return Ok(());
        }
    }
    Ok(())
}

/// Seeks so that the next decoded frame is at or before `target`, stepping further back when
/// the container's index lands after it.
fn seek_before(
    decoder: &mut FrameDecoder,
    frame: &mut ff::frame::Video,
    target: f64,
) -> Result<(), VideoError> {
    for back in [0.0, 1.0, 5.0, 30.0, f64::INFINITY] {
        let at = (target - back).max(0.0);
        decoder.seek_or_rewind(at)?;
        // Peek at the first frame after the seek, then seek again so that it is decoded
        // in the forward pass.
        match decoder.next_frame(frame)? {
            Some(t) if t <= target + EPS_S => {
                decoder.seek_or_rewind(at)?;
                return Ok(());
            }
            _ if at == 0.0 => {
                decoder.seek_or_rewind(0.0)?;
                return Ok(());
            }
            _ => {}
        }
    }
    Ok(())
}

fn scale_error(path: &Path, width: u32, height: u32, reason: String) -> VideoError {
    VideoError::Scale {
        path: path.to_path_buf(),
        width,
        height,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_size_keeps_aspect_and_fits() {
        let one = ff::Rational::new(1, 1);
        assert_eq!(display_size(768, 432, one, 1280, 720), (768, 432));
        assert_eq!(display_size(1920, 1080, one, 960, 960), (960, 540));
        // Anamorphic DV: 720x576 with 16:15 pixels displays 768 wide.
        assert_eq!(
            display_size(720, 576, ff::Rational::new(16, 15), 2000, 2000),
            (768, 576)
        );
    }

    #[test]
    fn frame_lookup_is_sample_and_hold() {
        let info = PreviewInfo {
            frame_times: Arc::new(vec![0.0, 0.1, 0.2, 0.5]),
            duration_s: 0.6,
            fps: 10.0,
            width: 2,
            height: 2,
            creation_time: None,
        };
        assert_eq!(info.frame_at(0.0), 0);
        assert_eq!(info.frame_at(0.1), 1);
        assert_eq!(info.frame_at(0.45), 2);
        assert_eq!(info.frame_at(9.0), 3);
        assert_eq!(info.time_of(99), 0.5);
    }
}
