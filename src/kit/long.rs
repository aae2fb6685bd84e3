//! Long fixed-camera scenes for the long-footage benchmark (`vigil kit --long`): an hour (by
//! default) of one camera, so that the cascade's speed and its detections can be judged where
//! they matter, on the nights and shifts investigators receive.
//!
//! Two scenes, each with three incidents of the kit's kinds at known times:
//! - `long_quiet`: a car park at night, mostly still: a walker every few minutes, a car now and
//!   then; a fight, a fall and camera tampering.
//! - `long_busy`: a junction by day that always moves (walkers and traffic); a collision, a fight
//!   and an explosion.
//!
//! Incidents start at 22 %, 51 % and 83 % of the footage (each moved by up to ±2 % from the seed)
//! and last 2–5 s. The place and light are found by trying the seed's sub-seeds in order until
//! one draws the wanted kind of place and time of day, so the same seed renders the same bytes.
//!
//! Layout of a long-kit folder: `videos/long_quiet.mp4`, `videos/long_busy.mp4`, `test.txt`,
//! `annotations.txt` (UCF-Crime temporal annotations with frame counts and three intervals per
//! video), `long.json` (the [`LongSummary`]).

use super::camera::Tod;
use super::layout::Kind as Place;
use super::scene::{Busyness, Scene};
use super::{Class, KitError, io_err, sha256_file, temp_name, video_seed, write_atomic};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongConfig {
    /// Everything random derives from this.
    pub seed: u64,
    /// Length of each scene, minutes.
    pub minutes: f64,
    /// Frame width (even).
    pub width: u32,
    /// Frame height (even).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

impl Default for LongConfig {
    /// An hour of each scene at the kit's 320×240, 30 fps.
    fn default() -> Self {
        Self {
            seed: 7,
            minutes: 60.0,
            width: 320,
            height: 240,
            fps: 30,
        }
    }
}

/// One incident of a long scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongIncident {
    /// `Fighting`, `Fall`, `Collision`, `Explosion` or `Tampering`.
    pub class: String,
    /// Annotated frames, 0-based and inclusive.
    pub frames: (u64, u64),
    /// Annotated span in seconds from the first frame, `[start, end)`.
    pub seconds: (f64, f64),
}

/// One rendered scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongVideo {
    /// `long_quiet` or `long_busy`.
    pub name: String,
    /// Relative to the kit folder.
    pub path: String,
    /// `parking` or `junction`.
    pub place: String,
    /// `night`, `day`, …
    pub lighting: String,
    /// Frames encoded.
    pub frames: u64,
    /// Duration, seconds.
    pub duration_s: f64,
    /// The sub-seed the scene was drawn from.
    pub scene_seed: u64,
    /// The incidents, in time order.
    pub incidents: Vec<LongIncident>,
    /// SHA-256 of the MP4 file, hex.
    pub sha256: String,
}

/// What `long.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongSummary {
    /// The config.
    pub config: LongConfig,
    /// Both scenes.
    pub videos: Vec<LongVideo>,
}

/// The two scenes: name, the place and light wanted, busyness, incident classes.
struct Recipe {
    name: &'static str,
    accept: fn(Place, Tod) -> bool,
    busy: Busyness,
    classes: [Class; 3],
}

fn recipes() -> [Recipe; 2] {
    [
        Recipe {
            name: "long_quiet",
            accept: |p, t| p == Place::Parking && t == Tod::Night,
            // Nobody about most of the time: a walker every ~5 minutes, a car every ~15.
            busy: Busyness {
                lo: 0,
                hi: 1,
                rate: 1.0 / 300.0,
                cars_max: 1,
                car_rate: 1.0 / 900.0,
            },
            classes: [Class::Fighting, Class::Fall, Class::Tampering],
        },
        Recipe {
            name: "long_busy",
            accept: |p, t| p == Place::Junction && matches!(t, Tod::Day | Tod::Overcast),
            busy: Busyness {
                lo: 4,
                hi: 8,
                rate: 0.35,
                cars_max: 4,
                car_rate: 0.2,
            },
            classes: [Class::Collision, Class::Fighting, Class::Explosion],
        },
    ]
}

/// Where the incidents start, as shares of the footage.
const AT: [f64; 3] = [0.22, 0.51, 0.83];
/// How far the seed moves each start, as a share of the footage.
const JITTER: f64 = 0.02;
/// Sub-seeds tried for the wanted place and light before giving up.
const TRIES: u32 = 10_000;

fn validate(cfg: &LongConfig, out: &Path) -> Result<(), KitError> {
    let bad = |reason: String| {
        Err(KitError::Config {
            path: out.to_path_buf(),
            reason,
        })
    };
    if !(cfg.minutes.is_finite() && (1.0..=1440.0).contains(&cfg.minutes)) {
        return bad(format!(
            "long scenes of {} minutes: give 1 to 1440",
            cfg.minutes
        ));
    }
    if let Some(reason) = super::frame_problem(cfg.width, cfg.height, cfg.fps) {
        return bad(reason);
    }
    Ok(())
}

/// The incidents' annotated frames for footage of `frames` frames.
fn spans(rng: &mut rand_chacha::ChaCha8Rng, frames: u64, fps: u32) -> [(u64, u64); 3] {
    AT.map(|at| {
        let share = at + rng.random_range(-JITTER..JITTER);
        let len = (rng.random_range(2.0f64..5.0) * f64::from(fps)).round() as u64;
        let start = (share * frames as f64).round() as u64;
        let end = (start + len.max(1) - 1).min(frames.saturating_sub(1));
        (start.min(end), end)
    })
}

/// Renders both long scenes into `out` (created if missing), calling `progress(name, frame,
/// frames)` every second of footage. Drawing runs with subnormals flushed, as the kit's does.
pub fn generate_long(
    cfg: &LongConfig,
    out: &Path,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<LongSummary, KitError> {
    crate::base::float::flush_denormals(|| generate_long_here(cfg, out, progress))
}

fn generate_long_here(
    cfg: &LongConfig,
    out: &Path,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<LongSummary, KitError> {
    validate(cfg, out)?;
    let dir = out.join("videos");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let frames = (cfg.minutes * 60.0 * f64::from(cfg.fps)).round() as u64;
    let mut videos = Vec::new();
    for recipe in recipes() {
        videos.push(render(cfg, out, &recipe, frames, progress)?);
    }
    let list: String = videos
        .iter()
        .map(|v| format!("{} anomalous Long\n", v.path))
        .collect();
    write_atomic(&out.join("test.txt"), list.as_bytes())?;
    let annotations: String = videos
        .iter()
        .map(|v| {
            let spans: Vec<String> = v
                .incidents
                .iter()
                .map(|i| format!("{} {}", i.frames.0, i.frames.1))
                .collect();
            format!(
                "Long/{}.mp4 {} Long {}\n",
                v.name,
                v.frames,
                spans.join(" ")
            )
        })
        .collect();
    write_atomic(&out.join("annotations.txt"), annotations.as_bytes())?;
    let summary = LongSummary {
        config: cfg.clone(),
        videos,
    };
    let json_path = out.join("long.json");
    let mut json = serde_json::to_vec_pretty(&summary).map_err(|source| KitError::Json {
        path: json_path.clone(),
        source,
    })?;
    json.push(b'\n');
    write_atomic(&json_path, &json)?;
    Ok(summary)
}

fn render(
    cfg: &LongConfig,
    out: &Path,
    recipe: &Recipe,
    frames: u64,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<LongVideo, KitError> {
    let scene_seed = (0..TRIES)
        .map(|i| video_seed(cfg.seed, &format!("{}/{i}", recipe.name)))
        .find(|&s| {
            let (place, tod) = Scene::peek(s, cfg.width, cfg.height);
            (recipe.accept)(place, tod)
        })
        .ok_or_else(|| KitError::Config {
            path: out.to_path_buf(),
            reason: format!("no seed in {TRIES} draws gives the {} scene", recipe.name),
        })?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(scene_seed ^ 0x10E6_5CE7E);
    let spans = spans(&mut rng, frames, cfg.fps);
    let planned: Vec<(Class, (u64, u64))> = recipe.classes.iter().copied().zip(spans).collect();
    let mut scene = Scene::long(
        scene_seed,
        (cfg.width, cfg.height, cfg.fps),
        recipe.busy,
        &planned,
    );
    let rel = format!("videos/{}.mp4", recipe.name);
    let final_path = out.join(&rel);
    let tmp = temp_name(&final_path);
    let written = (|| {
        let mut writer = crate::video::Mp4Writer::create(&tmp, cfg.width, cfg.height, cfg.fps)?;
        let mut canvas = super::draw::Canvas::new(cfg.width as usize, cfg.height as usize);
        for f in 0..frames {
            scene.render_next(&mut canvas);
            writer.push(&canvas.px)?;
            if f % u64::from(cfg.fps) == 0 {
                progress(recipe.name, f, frames);
            }
        }
        writer.finish()
    })();
    let written = match written {
        Ok(n) if n == frames => n,
        Ok(n) => {
            std::fs::remove_file(&tmp).ok();
            return Err(KitError::Encode {
                path: final_path,
                reason: format!("encoded {n} of {frames} frames"),
            });
        }
        Err(e) => {
            // The half-written file is of no use; failing to remove it changes nothing.
            std::fs::remove_file(&tmp).ok();
            return Err(e.into());
        }
    };
    std::fs::rename(&tmp, &final_path).map_err(io_err(&final_path))?;
    let sha256 = sha256_file(&final_path)?;
    let fps = f64::from(cfg.fps);
    let annotated = scene.all_incident_frames();
    let incidents = planned
        .iter()
        .zip(&annotated)
        .map(|(&(class, _), &(a, b))| LongIncident {
            class: class.name().to_string(),
            frames: (a, b),
            seconds: (a as f64 / fps, (b + 1) as f64 / fps),
        })
        .collect();
    let (place, tod) = Scene::peek(scene_seed, cfg.width, cfg.height);
    Ok(LongVideo {
        name: recipe.name.to_string(),
        path: rel,
        place: format!("{place:?}").to_lowercase(),
        lighting: tod.name().to_string(),
        frames: written,
        duration_s: written as f64 / fps,
        scene_seed,
        incidents,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spans fall where the module says, in order, inside the footage.
    #[test]
    fn incident_spans_are_where_documented() {
        let frames = 108_000;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let s = spans(&mut rng, frames, 30);
        for (i, &(a, b)) in s.iter().enumerate() {
            let share = a as f64 / frames as f64;
            assert!((share - AT[i]).abs() <= JITTER + 1e-9, "{i}: {share}");
            let len = b - a + 1;
            assert!((60..=150).contains(&len), "{i}: {len} frames");
        }
        assert!(s[0].1 < s[1].0 && s[1].1 < s[2].0);
    }

    /// Both recipes find their place within the tries for the default seed and another.
    #[test]
    fn recipes_find_their_place() {
        for seed in [11, 12] {
            for r in recipes() {
                let found = (0..TRIES)
                    .map(|i| video_seed(seed, &format!("{}/{i}", r.name)))
                    .find(|&s| {
                        let (p, t) = Scene::peek(s, 320, 240);
                        (r.accept)(p, t)
                    });
                assert!(found.is_some(), "{} seed {seed}", r.name);
            }
        }
    }
}
