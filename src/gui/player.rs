//! The player: a preview thread per open file, a playback clock on the UI thread, and the
//! picture as an egui texture. Decoding never happens here; this only asks for frames and shows
//! the newest answer.

use crate::base::format_hms;
use crate::video::{PreviewEvent, PreviewInfo, PreviewWorker};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Playback speeds offered, slowest first.
pub const SPEEDS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// Largest picture the preview decodes (bigger windows scale it up).
const MAX_PICTURE: (u32, u32) = (1280, 720);

/// Player state for the selected file.
pub struct Player {
    worker: Option<PreviewWorker>,
    /// What the preview knows about the file, once opened.
    pub info: Option<PreviewInfo>,
    texture: Option<egui::TextureHandle>,
    /// Frame shown now.
    pub shown_index: Option<u64>,
    /// Its time.
    pub shown_time_s: f64,
    /// The position asked for (the cursor); the picture follows it.
    pub position_s: f64,
    /// Frame last requested.
    requested: Option<u64>,
    /// Playing?
    pub playing: bool,
    /// Playback speed factor.
    pub speed: f64,
    last_tick: Option<Instant>,
    /// Set when the preview failed.
    pub error: Option<String>,
}

impl Default for Player {
    fn default() -> Self {
        Self {
            worker: None,
            info: None,
            texture: None,
            shown_index: None,
            shown_time_s: 0.0,
            position_s: 0.0,
            requested: None,
            playing: false,
            speed: 1.0,
            last_tick: None,
            error: None,
        }
    }
}

impl Player {
    /// Starts previewing `path` (replacing any previous file) and positions at `position_s`.
    pub fn open(
        &mut self,
        path: &Path,
        open: crate::video::OpenOptions,
        position_s: f64,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) {
        let speed = self.speed;
        *self = Self {
            speed,
            position_s,
            ..Self::default()
        };
        match PreviewWorker::open_with(path, open, MAX_PICTURE.0, MAX_PICTURE.1, move || wake()) {
            Ok(w) => self.worker = Some(w),
            Err(e) => self.error = Some(format!("cannot start the preview: {e}")),
        }
    }

    /// Closes the preview.
    pub fn close(&mut self) {
        let speed = self.speed;
        *self = Self {
            speed,
            ..Self::default()
        };
    }

    /// Duration of the open file, once known.
    pub fn duration_s(&self) -> Option<f64> {
        self.info.as_ref().map(|i| i.duration_s)
    }

    /// Moves the cursor to `t` (clamped) and asks for the frame there.
    pub fn seek(&mut self, t: f64) {
        let end = self.duration_s().unwrap_or(f64::MAX);
        self.position_s = t.clamp(0.0, end);
        self.request_current();
    }

    /// Moves by `n` frames from the frame shown (or asked for).
    pub fn step_frames(&mut self, n: i64) {
        self.playing = false;
        let Some(info) = &self.info else { return };
        let base = self.requested.or(self.shown_index).unwrap_or(0);
        let target = (base as i64 + n).clamp(0, info.frames() as i64 - 1) as u64;
        self.position_s = info.time_of(target);
        self.request(target);
    }

    /// Starts or stops playback.
    pub fn toggle_play(&mut self) {
        self.playing = !self.playing;
        self.last_tick = None;
        if self.playing
            && let Some(d) = self.duration_s()
            && self.position_s >= d - 1e-3
        {
            self.position_s = 0.0;
        }
    }

    /// Advances the clock, drains the preview's answers, uploads the newest picture. Returns
    /// true while playing or waiting for a frame (the caller keeps repainting).
    pub fn tick(&mut self, ctx: &egui::Context) -> bool {
        let mut newest = None;
        let mut events = Vec::new();
        if let Some(w) = &self.worker {
            while let Some(ev) = w.try_event() {
                events.push(ev);
            }
        }
        for ev in events {
            match ev {
                PreviewEvent::Opened(info) => {
                    self.info = Some(info);
                    self.request_current();
                }
                PreviewEvent::Frame(f) => newest = Some(f),
                PreviewEvent::Failed(e) => self.error = Some(e),
            }
        }
        if let Some(f) = newest {
            let image = egui::ColorImage::from_rgb([f.width as usize, f.height as usize], &f.rgb);
            match &mut self.texture {
                Some(t) => t.set(image, egui::TextureOptions::LINEAR),
                None => {
                    self.texture =
                        Some(ctx.load_texture("vigil-frame", image, egui::TextureOptions::LINEAR));
                }
            }
            self.shown_index = Some(f.index);
            self.shown_time_s = f.time_s;
        }
        if self.playing {
            let now = Instant::now();
            if let Some(last) = self.last_tick {
                self.position_s += now.duration_since(last).as_secs_f64() * self.speed;
            }
            self.last_tick = Some(now);
            if let Some(d) = self.duration_s()
                && self.position_s >= d
            {
                self.position_s = d;
                self.playing = false;
            }
            self.request_current();
        }
        self.playing || self.waiting()
    }

    /// True while the frame asked for has not arrived.
    pub fn waiting(&self) -> bool {
        self.worker.is_some() && self.requested.is_some() && self.requested != self.shown_index
    }

    fn request_current(&mut self) {
        if let Some(info) = &self.info {
            let index = info.frame_at(self.position_s);
            self.request(index);
        }
    }

    fn request(&mut self, index: u64) {
        if self.requested == Some(index) {
            return;
        }
        if let Some(w) = &self.worker {
            w.request(index);
            self.requested = Some(index);
        }
    }

    /// "00:01:02.345 · frame 1234 / 5000"
    pub fn position_text(&self) -> String {
        let frames = self.info.as_ref().map_or(0, PreviewInfo::frames);
        match self.shown_index {
            Some(i) => format!(
                "{} · frame {} / {}",
                format_hms(self.shown_time_s),
                i,
                frames
            ),
            None => format!("{} · frame – / {frames}", format_hms(self.position_s)),
        }
    }

    /// The recorder's clock at the frame shown, when the container says when recording began.
    pub fn wall_clock_text(&self) -> Option<String> {
        let start = self.info.as_ref()?.creation_time.as_deref()?;
        let start =
            humantime::parse_rfc3339_weak(start.trim_end_matches('Z').split('.').next()?).ok()?;
        let at = start + std::time::Duration::from_secs_f64(self.shown_time_s.max(0.0));
        Some(format!(
            "{} UTC (container creation_time + position)",
            humantime::format_rfc3339_millis(at)
                .to_string()
                .trim_end_matches('Z')
                .replace('T', " ")
        ))
    }

    /// Draws the picture fitted into the available space at the footage's aspect ratio.
    pub fn picture_ui(&self, ui: &mut egui::Ui) {
        let avail = ui.available_size();
        match (&self.texture, &self.info) {
            (Some(tex), Some(info)) => {
                let aspect = info.width as f32 / info.height.max(1) as f32;
                let (mut w, mut h) = (avail.x, avail.x / aspect);
                if h > avail.y {
                    h = avail.y;
                    w = h * aspect;
                }
                ui.centered_and_justified(|ui| {
                    ui.add(
                        egui::Image::new((tex.id(), egui::vec2(w, h)))
                            .fit_to_exact_size(egui::vec2(w, h)),
                    );
                });
            }
            _ => {
                ui.centered_and_justified(|ui| {
                    let text = match &self.error {
                        Some(e) => e.clone(),
                        None if self.worker.is_some() => "Opening…".to_string(),
                        None => "Open footage with File → Open, or drop files here.".to_string(),
                    };
                    ui.label(text);
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_adds_the_position_to_the_recording_start() {
        let mut p = Player::default();
        assert_eq!(p.wall_clock_text(), None);
        p.info = Some(PreviewInfo {
            frame_times: Arc::new(vec![0.0]),
            duration_s: 100.0,
            fps: 10.0,
            width: 2,
            height: 2,
            creation_time: Some("2026-11-29T08:15:00.000000Z".into()),
        });
        p.shown_time_s = 75.25;
        assert_eq!(
            p.wall_clock_text().as_deref(),
            Some("2026-11-29 08:16:15.250 UTC (container creation_time + position)")
        );
    }
}
