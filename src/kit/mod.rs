//! The kit: a deterministic benchmark of synthetic fixed-camera surveillance videos with weak
//! (video-level) labels and frame-level incident annotations, for training and judging the
//! anomaly head (Sultani et al., CVPR 2018) without shipping real footage.
//!
//! Normal videos show a street, plaza, car park or junction with people walking, standing and
//! crossing and vehicles driving, under day, overcast, dusk or night light, busy or quiet.
//! Anomalous videos show the same kind of scene with one incident somewhere in the middle:
//! fighting, a fall, a crowd scattering, a collision, an explosion, or camera tampering.
//! Everything follows from the seed: the same seed and config give byte-identical files.
//!
//! Owns: scene simulation (`scene`, `layout`, `person`, `vehicle`, `incident` with `crowd`,
//! `crash`, `tamper`), the long scenes of the long-footage benchmark (`long`), drawing (`draw`, `camera`, `paint`), H.264 encoding (`encode`) and the kit's list, annotation and summary
//! files. Must not: know about models, features, scores or the GUI. FFmpeg's own logging is left
//! as the caller set it (libx264 reports each file at the default level).
//!
//! Layout of a kit directory:
//! - `videos/{train,test}/NAME.mp4`, NAME = `{split}_{class}_{index:03}`; only normal videos
//!   have "normal" in their name.
//! - `train.txt`, `test.txt`: `videos/SPLIT/NAME.mp4 LABEL CLASS` per line.
//! - `annotations.txt`: UCF-Crime temporal annotations with frame counts, for every video:
//!   `CLASS/NAME.mp4 FRAMES CLASS START END -1 -1` (0-based, inclusive; `-1 -1` for normal).
//! - `kit.json`: the [`KitSummary`].

mod camera;
mod crash;
mod crowd;
mod draw;
mod incident;
mod layout;
mod long;
mod paint;
mod person;
mod place;
mod scene;
mod tamper;
mod vehicle;

pub use long::{LongConfig, LongIncident, LongSummary, LongVideo, generate_long};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KitConfig {
    /// Everything random derives from this.
    pub seed: u64,
    /// Normal videos in the training split.
    pub train_normal: usize,
    /// Anomalous videos in the training split (classes cycle, so each appears).
    pub train_anomalous: usize,
    /// Normal videos in the test split.
    pub test_normal: usize,
    /// Anomalous videos in the test split.
    pub test_anomalous: usize,
    /// Shortest video, seconds.
    pub min_s: f64,
    /// Longest video, seconds.
    pub max_s: f64,
    /// Frame width (even, for YUV 4:2:0).
    pub width: u32,
    /// Frame height (even).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Training videos from a close camera (`camera::Framing::Close`), cycling over normal,
    /// fighting, fall and scatter: the incidents of small figures, large enough to see.
    #[serde(default)]
    pub train_close: usize,
    /// Test videos from a close camera, cycling the same way.
    #[serde(default)]
    pub test_close: usize,
    /// Test videos of 20–40 s whose incident fills 15–30 % of the file, cycling over every
    /// incident class: the short files an analyst is sent.
    #[serde(default)]
    pub test_short: usize,
}

impl KitConfig {
    /// Videos the config asks for, every group together.
    pub fn total(&self) -> usize {
        self.train_normal
            + self.train_anomalous
            + self.test_normal
            + self.test_anomalous
            + self.train_close
            + self.test_close
            + self.test_short
    }
}

/// Classes of the close-camera videos, in the order they cycle.
const CLOSE_CLASSES: [Class; 4] = [Class::Normal, Class::Fighting, Class::Fall, Class::Scatter];
/// Length of a short test video, seconds.
const SHORT_S: (f64, f64) = (20.0, 40.0);
/// The incident's share of a short test video.
const SHORT_SHARE: (f64, f64) = (0.15, 0.30);

impl Default for KitConfig {
    /// 90 videos of 8–16 s at 320×240, 30 fps: small enough to render in minutes, large enough
    /// that every incident class appears five times in training; and 20 close-camera videos
    /// (12 training, 8 test) and 6 short test files of 20–40 s.
    fn default() -> Self {
        Self {
            seed: 7,
            train_normal: 30,
            train_anomalous: 30,
            test_normal: 15,
            test_anomalous: 15,
            min_s: 8.0,
            max_s: 16.0,
            width: 320,
            height: 240,
            fps: 30,
            train_close: 12,
            test_close: 8,
            test_short: 6,
        }
    }
}

/// One generated video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KitVideo {
    /// `{split}_{class}_{index:03}`.
    pub name: String,
    /// `train` or `test`.
    pub split: String,
    /// `normal` or `anomalous`.
    pub label: String,
    /// `Normal`, `Fighting`, `Fall`, `Scatter`, `Collision`, `Explosion` or `Tampering`.
    pub class: String,
    /// Relative to the kit directory.
    pub path: String,
    /// Frames encoded.
    pub frames: u64,
    /// Duration, seconds.
    pub duration_s: f64,
    /// Annotated incident frames, 0-based and inclusive.
    pub incident: Option<(u64, u64)>,
    /// `day`, `overcast`, `dusk` or `night`.
    pub lighting: String,
    /// `standard`, `close` (close camera) or `short` (a 20–40 s file, incident 15–30 % of it).
    #[serde(default)]
    pub group: String,
    /// SHA-256 of the MP4 file, hex.
    pub sha256: String,
}

/// What `kit.json` holds: the config it was made from and every video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KitSummary {
    /// The config.
    pub config: KitConfig,
    /// Every video.
    pub videos: Vec<KitVideo>,
}

/// Why a kit could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// The config asks for something that cannot be made.
    #[error("kit {path}: invalid config: {reason}")]
    Config { path: PathBuf, reason: String },
    /// Creating, writing or renaming a file failed.
    #[error("kit file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// FFmpeg could not encode a video.
    #[error("kit video {path}: {reason}")]
    Encode { path: PathBuf, reason: String },
    /// The summary could not be serialised.
    #[error("kit summary {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl From<crate::video::VideoError> for KitError {
    /// The kit's video writer (in `video`, which owns FFmpeg) fails with `Encode`; its message
    /// stays the one the kit always printed.
    fn from(e: crate::video::VideoError) -> Self {
        match e {
            crate::video::VideoError::Encode { path, reason } => KitError::Encode { path, reason },
            other => KitError::Encode {
                path: PathBuf::new(),
                reason: other.to_string(),
            },
        }
    }
}

/// Incident classes (and the normal class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Normal,
    Fighting,
    Fall,
    Scatter,
    Collision,
    Explosion,
    Tampering,
}

impl Class {
    /// The anomalous classes, in the order they are cycled over anomalous videos.
    const ANOMALIES: [Class; 6] = [
        Class::Fighting,
        Class::Fall,
        Class::Scatter,
        Class::Collision,
        Class::Explosion,
        Class::Tampering,
    ];

    fn name(self) -> &'static str {
        match self {
            Class::Normal => "Normal",
            Class::Fighting => "Fighting",
            Class::Fall => "Fall",
            Class::Scatter => "Scatter",
            Class::Collision => "Collision",
            Class::Explosion => "Explosion",
            Class::Tampering => "Tampering",
        }
    }
}

/// A video to make.
#[derive(Debug, Clone)]
struct Planned {
    name: String,
    split: &'static str,
    class: Class,
    group: Group,
}

/// Which group of the kit a video belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Standard,
    Close,
    Short,
}

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Standard => "standard",
            Group::Close => "close",
            Group::Short => "short",
        }
    }

    fn shot(self) -> scene::Shot {
        match self {
            Group::Standard => scene::Shot::default(),
            Group::Close => scene::Shot {
                framing: camera::Framing::Close,
                incident_share: None,
            },
            Group::Short => scene::Shot {
                framing: camera::Framing::Standard,
                incident_share: Some(SHORT_SHARE),
            },
        }
    }
}

/// Every video of the kit, train then test, normal then anomalous; anomalous classes cycle so
/// each appears in both splits once there are six or more anomalous videos in a split.
fn plan(cfg: &KitConfig) -> Vec<Planned> {
    let mut out = Vec::new();
    for (split, normal, anomalous) in [
        ("train", cfg.train_normal, cfg.train_anomalous),
        ("test", cfg.test_normal, cfg.test_anomalous),
    ] {
        for i in 0..normal {
            out.push(Planned {
                name: format!("{split}_normal_{i:03}"),
                split,
                class: Class::Normal,
                group: Group::Standard,
            });
        }
        for j in 0..anomalous {
            let class = Class::ANOMALIES[j % Class::ANOMALIES.len()];
            let index = j / Class::ANOMALIES.len();
            out.push(Planned {
                name: format!("{split}_{}_{index:03}", class.name().to_lowercase()),
                split,
                class,
                group: Group::Standard,
            });
        }
    }
    // The groups added later come after, named apart, so the first 90 videos stay the same.
    for (split, close) in [("train", cfg.train_close), ("test", cfg.test_close)] {
        for j in 0..close {
            let class = CLOSE_CLASSES[j % CLOSE_CLASSES.len()];
            let index = j / CLOSE_CLASSES.len();
            out.push(Planned {
                name: format!("{split}_close_{}_{index:03}", class.name().to_lowercase()),
                split,
                class,
                group: Group::Close,
            });
        }
    }
    for j in 0..cfg.test_short {
        let class = Class::ANOMALIES[j % Class::ANOMALIES.len()];
        let index = j / Class::ANOMALIES.len();
        out.push(Planned {
            name: format!("test_short_{}_{index:03}", class.name().to_lowercase()),
            split: "test",
            class,
            group: Group::Short,
        });
    }
    out
}

/// The seed of one video: from the kit seed and the video's name, so a video does not change
/// when others are added or removed.
fn video_seed(seed: u64, name: &str) -> u64 {
    let digest = Sha256::digest(format!("vigil-kit/{seed}/{name}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(b)
}

/// What is wrong with a frame size and rate for the encoder, if anything (the kit and the long
/// scenes share the rule).
fn frame_problem(width: u32, height: u32, fps: u32) -> Option<String> {
    if width < 32 || height < 32 || width > 4096 || height > 4096 {
        return Some(format!("frame size {width}x{height} is outside 32..4096"));
    }
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Some(format!("frame size {width}x{height} must be even"));
    }
    if fps == 0 || fps > 240 {
        return Some(format!("fps {fps} is outside 1..240"));
    }
    None
}

fn validate(cfg: &KitConfig, out: &Path) -> Result<(), KitError> {
    let bad = |reason: String| {
        Err(KitError::Config {
            path: out.to_path_buf(),
            reason,
        })
    };
    if let Some(reason) = frame_problem(cfg.width, cfg.height, cfg.fps) {
        return bad(reason);
    }
    if !(cfg.min_s.is_finite()
        && cfg.max_s.is_finite()
        && cfg.min_s > 0.0
        && cfg.max_s >= cfg.min_s)
    {
        return bad(format!(
            "durations {}..{} s are not 0 < min <= max",
            cfg.min_s, cfg.max_s
        ));
    }
    if cfg.max_s > 3600.0 {
        return bad(format!("videos of {} s are longer than an hour", cfg.max_s));
    }
    if cfg.total() == 0 {
        return bad("no videos asked for".into());
    }
    Ok(())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KitError + '_ {
    move |source| KitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KitError> {
    let tmp = temp_name(path);
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.flush().map_err(io_err(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// `.NAME.part` beside `path`.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "kit".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.part"))
}

fn sha256_file(path: &Path) -> Result<String, KitError> {
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Renders and encodes one video into `out`.
fn make_video(cfg: &KitConfig, out: &Path, p: &Planned) -> Result<KitVideo, KitError> {
    use rand::{Rng, SeedableRng};
    let seed = video_seed(cfg.seed, &p.name);
    // The duration has its own stream so that it does not shift the scene's.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xD0_12A7_1011);
    let (min_s, max_s) = match p.group {
        Group::Short => SHORT_S,
        Group::Standard | Group::Close => (cfg.min_s, cfg.max_s),
    };
    let secs = if max_s > min_s {
        rng.random_range(min_s..=max_s)
    } else {
        min_s
    };
    let frames = ((secs * f64::from(cfg.fps)).round() as u64).max(1);
    let mut scene = scene::Scene::shot(
        seed,
        (cfg.width, cfg.height, cfg.fps),
        p.class,
        frames,
        p.group.shot(),
    );
    let rel = format!("videos/{}/{}.mp4", p.split, p.name);
    let final_path = out.join(&rel);
    let tmp = temp_name(&final_path);
    let written = (|| {
        let mut writer = crate::video::Mp4Writer::create(&tmp, cfg.width, cfg.height, cfg.fps)?;
        let mut canvas = draw::Canvas::new(cfg.width as usize, cfg.height as usize);
        for _ in 0..frames {
            scene.render_next(&mut canvas);
            writer.push(&canvas.px)?;
        }
        writer.finish()
    })();
    let written = match written {
        Ok(n) => n,
        Err(e) => {
            // The half-written file is of no use; failing to remove it changes nothing.
            std::fs::remove_file(&tmp).ok();
            return Err(e.into());
        }
    };
    if written != frames {
        std::fs::remove_file(&tmp).ok();
        return Err(KitError::Encode {
            path: final_path,
            reason: format!("encoded {written} of {frames} frames"),
        });
    }
    std::fs::rename(&tmp, &final_path).map_err(io_err(&final_path))?;
    let sha256 = sha256_file(&final_path)?;
    Ok(KitVideo {
        name: p.name.clone(),
        split: p.split.to_string(),
        label: if p.class == Class::Normal {
            "normal"
        } else {
            "anomalous"
        }
        .to_string(),
        class: p.class.name().to_string(),
        path: rel,
        frames,
        duration_s: frames as f64 / f64::from(cfg.fps),
        incident: scene.incident_frames(),
        lighting: scene.lighting().to_string(),
        group: p.group.name().to_string(),
        sha256,
    })
}

/// The lines of `train.txt` or `test.txt`.
fn split_list(videos: &[KitVideo], split: &str) -> String {
    videos
        .iter()
        .filter(|v| v.split == split)
        .map(|v| format!("{} {} {}\n", v.path, v.label, v.class))
        .collect()
}

/// `annotations.txt` in the UCF-Crime temporal format with frame counts.
fn annotations(videos: &[KitVideo]) -> String {
    videos
        .iter()
        .map(|v| {
            let (a, b) = v
                .incident
                .map_or((-1i64, -1i64), |(a, b)| (a as i64, b as i64));
            format!(
                "{}/{}.mp4 {} {} {a} {b} -1 -1\n",
                v.class, v.name, v.frames, v.class
            )
        })
        .collect()
}

/// Generates the kit `cfg` describes into `out` (created if missing; files of an earlier kit
/// with the same names are replaced), calling `progress(done, total)` after each video. The
/// drawing runs with subnormal floats flushed (`base::float`), so the bytes are those of that
/// mode on every machine.
pub fn generate_kit(
    cfg: &KitConfig,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<KitSummary, KitError> {
    crate::base::float::flush_denormals(|| generate_kit_here(cfg, out, progress))
}

fn generate_kit_here(
    cfg: &KitConfig,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<KitSummary, KitError> {
    validate(cfg, out)?;
    for split in ["train", "test"] {
        let dir = out.join("videos").join(split);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    }
    let planned = plan(cfg);
    let total = planned.len();
    let mut videos = Vec::with_capacity(total);
    for (i, p) in planned.iter().enumerate() {
        videos.push(make_video(cfg, out, p)?);
        progress(i + 1, total);
    }
    write_atomic(
        &out.join("train.txt"),
        split_list(&videos, "train").as_bytes(),
    )?;
    write_atomic(
        &out.join("test.txt"),
        split_list(&videos, "test").as_bytes(),
    )?;
    write_atomic(
        &out.join("annotations.txt"),
        annotations(&videos).as_bytes(),
    )?;
    let summary = KitSummary {
        config: cfg.clone(),
        videos,
    };
    let json_path = out.join("kit.json");
    let mut json = serde_json::to_vec_pretty(&summary).map_err(|source| KitError::Json {
        path: json_path.clone(),
        source,
    })?;
    json.push(b'\n');
    write_atomic(&json_path, &json)?;
    Ok(summary)
}

#[cfg(test)]
mod tests;
