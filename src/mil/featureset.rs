//! A feature set: a folder of bags, one per video, with an index saying which video (hash,
//! label, frames) and which extractor each came from.
//!
//! ```text
//! DIR/features.json          the index (written last, atomically)
//! DIR/NAME.txt               32 × D segment features, the original text format
//! DIR/clips/NAME.npy         T × D clip features (float32), for other segmentations
//! ```
//!
//! A folder without `features.json` (e.g. the original C3D `.txt` files, or `.npy` sets) is read
//! too: every `.txt`/`.npy` file is a bag, labelled from its name (`label_from_path`).

use super::MilError;
use super::bags::{Bag, SEGMENTS, bag_from_bytes, read_bag};
use super::labels::{VideoLabel, label_from_path};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the index.
pub const INDEX: &str = "features.json";
/// Index format version.
pub const INDEX_VERSION: u32 = 1;

/// The index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureIndex {
    /// [`INDEX_VERSION`].
    pub version: u32,
    /// The extractor the features came from (None for foreign sets).
    pub extractor: Option<ExtractorRef>,
    /// Feature size.
    pub dim: usize,
    /// One entry per video.
    pub videos: Vec<FeatureEntry>,
    /// vigil version that wrote it.
    pub vigil_version: String,
}

/// Which pack's extractor produced the features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractorRef {
    /// Pack id.
    pub pack_id: String,
    /// Pack folder as it was given.
    pub pack_dir: String,
    /// The pack's feature cache key (extractor hash + input contract).
    pub feature_key: String,
    /// SHA-256 of the extractor ONNX file.
    pub extractor_sha256: String,
}

/// One video of a set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureEntry {
    /// Name (the file stem), unique within the set.
    pub name: String,
    /// Where the video was (None for foreign sets).
    pub source: Option<String>,
    /// SHA-256 of the video (None for foreign sets).
    pub video_sha256: Option<String>,
    /// Video-level label.
    pub label: VideoLabel,
    /// Class.
    pub class: String,
    /// Bag file, relative to the set folder.
    pub bag: String,
    /// SHA-256 of the bag file.
    pub bag_sha256: String,
    /// Clip feature file, relative to the set folder.
    pub clips_file: Option<String>,
    /// Clips in the video.
    pub clips: usize,
    /// Decoded frames.
    pub frames: Option<u64>,
    /// Source frame edges of the 32 segments (33 values): segment `i` covers
    /// `[edges[i], edges[i+1])`. Used to put segment scores back on frames.
    pub segment_frames: Option<Vec<u64>>,
}

/// A bag with its entry, ready for training or scoring.
#[derive(Debug, Clone)]
pub struct LoadedBag {
    /// What the index says.
    pub entry: FeatureEntry,
    /// The 32 × D features.
    pub bag: Bag,
}

/// A loaded feature set.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    /// Where it was read from.
    pub dir: PathBuf,
    /// The index (synthesised for folders without one).
    pub index: FeatureIndex,
    /// Bags in index order.
    pub bags: Vec<LoadedBag>,
}

impl FeatureSet {
    /// Reads `dir`: with its index when there is one (checking every bag's hash), else every
    /// `.txt`/`.npy` file in it. Also takes a single feature file.
    pub fn read(dir: &Path) -> Result<Self, MilError> {
        if dir.is_file() {
            return Self::read_files(dir.parent().unwrap_or(Path::new(".")), &[dir.to_path_buf()]);
        }
        let index_path = dir.join(INDEX);
        if !index_path.is_file() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|error| MilError::Io {
                    path: dir.to_path_buf(),
                    error,
                })?
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension().is_some_and(|x| {
                            x.eq_ignore_ascii_case("txt") || x.eq_ignore_ascii_case("npy")
                        })
                })
                .collect();
            files.sort();
            return Self::read_files(dir, &files);
        }
        let bytes = std::fs::read(&index_path).map_err(|error| MilError::Io {
            path: index_path.clone(),
            error,
        })?;
        let index: FeatureIndex =
            serde_json::from_slice(&bytes).map_err(|e| MilError::Features {
                path: index_path.clone(),
                reason: e.to_string(),
            })?;
        if index.version != INDEX_VERSION {
            return Err(MilError::Features {
                path: index_path,
                reason: format!("index version {} is not supported", index.version),
            });
        }
        let mut bags = Vec::with_capacity(index.videos.len());
        for e in &index.videos {
            let path = dir.join(&e.bag);
            let bytes = std::fs::read(&path).map_err(|error| MilError::Io {
                path: path.clone(),
                error,
            })?;
            let got = crate::base::sha256_bytes(&bytes);
            if got != e.bag_sha256 {
                return Err(MilError::Features {
                    path,
                    reason: format!(
                        "SHA-256 {got} differs from the index ({}): changed since it was written",
                        e.bag_sha256
                    ),
                });
            }
            let bag = bag_from_bytes(&bytes, &path)?;
            if bag.dim != index.dim {
                return Err(MilError::Features {
                    path,
                    reason: format!(
                        "{} features per segment, the index says {}",
                        bag.dim, index.dim
                    ),
                });
            }
            bags.push(LoadedBag {
                entry: e.clone(),
                bag,
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
            bags,
        })
    }

    /// A set of loose feature files, labelled from their names.
    fn read_files(dir: &Path, files: &[PathBuf]) -> Result<Self, MilError> {
        if files.is_empty() {
            return Err(MilError::Features {
                path: dir.to_path_buf(),
                reason: format!("no {INDEX}, and no .txt or .npy feature files"),
            });
        }
        let mut bags: Vec<LoadedBag> = Vec::new();
        let mut dim = None;
        for f in files {
            let (bag, bytes) = read_bag(f)?;
            if *dim.get_or_insert(bag.dim) != bag.dim {
                return Err(MilError::Features {
                    path: f.clone(),
                    reason: format!(
                        "{} features per segment, other files have {}",
                        bag.dim,
                        dim.unwrap_or(0)
                    ),
                });
            }
            let name = stem(f);
            if bags.iter().any(|b| b.entry.name == name) {
                return Err(MilError::Features {
                    path: f.clone(),
                    reason: format!("a second file named '{name}'"),
                });
            }
            let file_name = f
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let (label, class) = label_from_path(&file_name);
            let bag_sha256 = crate::base::sha256_bytes(&bytes);
            bags.push(LoadedBag {
                entry: FeatureEntry {
                    name,
                    source: None,
                    video_sha256: None,
                    label,
                    class,
                    bag: f
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    bag_sha256,
                    clips_file: None,
                    clips: 0,
                    frames: None,
                    segment_frames: None,
                },
                bag,
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            index: FeatureIndex {
                version: INDEX_VERSION,
                extractor: None,
                dim: dim.unwrap_or(0),
                videos: bags.iter().map(|b| b.entry.clone()).collect(),
                vigil_version: crate::TOOL_VERSION.into(),
            },
            bags,
        })
    }

    /// Feature size.
    pub fn dim(&self) -> usize {
        self.index.dim
    }

    /// How many bags carry each label: (normal, anomalous).
    pub fn counts(&self) -> (usize, usize) {
        let a = self
            .bags
            .iter()
            .filter(|b| b.entry.label == VideoLabel::Anomalous)
            .count();
        (self.bags.len() - a, a)
    }
}

/// A file's stem as a bag name.
pub fn stem(p: &Path) -> String {
    p.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// Frame edges of the 32 segments of a video whose clips span the given source frames
/// (`spans[i] = (start_frame, end_frame)`, end exclusive): segment `i` runs from its first
/// clip's start to the next segment's first clip's start, the last to the last clip's end.
pub fn segment_frame_edges(spans: &[(u64, u64)]) -> Vec<u64> {
    let ranges = crate::pipeline::segment_ranges_32(spans.len());
    let mut edges: Vec<u64> = ranges.iter().map(|&(a, _)| spans[a].0).collect();
    edges.push(spans.last().map_or(0, |s| s.1));
    // Collapsed segments (short videos) share clips; keep the edges monotone.
    for i in 1..edges.len() {
        edges[i] = edges[i].max(edges[i - 1]);
    }
    debug_assert_eq!(edges.len(), SEGMENTS + 1);
    edges
}

/// Frame edges of the 32 segments of a C3D feature file for a video of `frames` frames: C3D
/// clips are 16 frames without overlap (the original `Save_C3DFeatures_32Segments`).
pub fn c3d_segment_frame_edges(frames: u64) -> Vec<u64> {
    let n = (frames / 16).max(1);
    let spans: Vec<(u64, u64)> = (0..n)
        .map(|c| (c * 16, ((c + 1) * 16).min(frames)))
        .collect();
    let mut edges = segment_frame_edges(&spans);
    if let Some(last) = edges.last_mut() {
        *last = frames;
    }
    edges
}

/// Progress of [`extract_set`].
#[derive(Debug, Clone)]
pub enum ExtractProgress<'a> {
    /// Video `index` of `total` starts.
    Video {
        /// 0-based.
        index: usize,
        /// Videos listed.
        total: usize,
        /// Its path.
        path: &'a Path,
    },
    /// The spine's progress within the current video.
    Clips(crate::pipeline::Progress),
}

/// Extracts every listed video's clip features with `pack` (through the spine's cache: a rerun
/// decodes nothing) and writes the feature set into `out`: a bag per video in the text format,
/// its clip features as `.npy`, and the index last. Videos that cannot be read fail the whole
/// set: a training set with silent holes would mislead.
pub fn extract_set(
    videos: &[super::labels::LabelledVideo],
    pack: &crate::model::Pack,
    opts: &crate::pipeline::ScoreOptions,
    out: &Path,
    cancelled: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(ExtractProgress),
) -> Result<FeatureIndex, ExtractError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| MilError::Io { path, error }
    };
    let mut names = std::collections::HashSet::new();
    for v in videos {
        if !names.insert(stem(&v.path)) {
            return Err(MilError::Features {
                path: v.path.clone(),
                reason: format!(
                    "a second video named '{}' in the list; names must be unique",
                    stem(&v.path)
                ),
            }
            .into());
        }
    }
    std::fs::create_dir_all(out.join("clips")).map_err(io(out))?;
    let dim = pack.manifest.extractor.features.dim;
    let mut entries = Vec::with_capacity(videos.len());
    for (i, v) in videos.iter().enumerate() {
        progress(ExtractProgress::Video {
            index: i,
            total: videos.len(),
            path: &v.path,
        });
        let got =
            crate::pipeline::extract_clip_features(&v.path, pack, opts, cancelled, &mut |p| {
                progress(ExtractProgress::Clips(p));
            })
            .map_err(|source| ExtractError::Video {
                path: v.path.clone(),
                source,
            })?;
        let name = stem(&v.path);
        let bag = super::bags::bag_from_clips(&got.features, dim)?;
        let bag_file = format!("{name}.txt");
        let text = super::bags::bag_to_text(&bag);
        crate::base::write_atomic(&out.join(&bag_file), text.as_bytes())
            .map_err(io(&out.join(&bag_file)))?;
        let clips_file = format!("clips/{name}.npy");
        super::bags::write_npy_clips(&out.join(&clips_file), &got.features, dim)?;
        let spans: Vec<(u64, u64)> = got
            .run
            .record
            .spans
            .iter()
            .map(|s| (s.start_frame, s.end_frame))
            .collect();
        entries.push(FeatureEntry {
            name,
            source: Some(v.path.display().to_string()),
            video_sha256: Some(got.run.sha256.clone()),
            label: v.label,
            class: v.class.clone(),
            bag: bag_file,
            bag_sha256: crate::base::sha256_bytes(text.as_bytes()),
            clips_file: Some(clips_file),
            clips: spans.len(),
            frames: Some(got.run.record.frames),
            segment_frames: Some(segment_frame_edges(&spans)),
        });
    }
    let index = FeatureIndex {
        version: INDEX_VERSION,
        extractor: Some(ExtractorRef {
            pack_id: pack.manifest.id.clone(),
            pack_dir: pack.dir.display().to_string(),
            feature_key: pack.feature_key(),
            extractor_sha256: pack.manifest.extractor.sha256.clone(),
        }),
        dim,
        videos: entries,
        vigil_version: crate::TOOL_VERSION.into(),
    };
    let json = serde_json::to_vec_pretty(&index).map_err(|e| MilError::Head(e.to_string()))?;
    crate::base::write_atomic(&out.join(INDEX), &json).map_err(io(&out.join(INDEX)))?;
    Ok(index)
}

/// Why [`extract_set`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A video could not be scored (unreadable, cancelled, model failure). The pipeline's
    /// messages already name the file where it matters.
    #[error("{source}")]
    Video {
        path: PathBuf,
        source: crate::pipeline::PipelineError,
    },
    /// Writing the set failed.
    #[error(transparent)]
    Mil(#[from] MilError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c3d_edges_cover_the_video() {
        let e = c3d_segment_frame_edges(912);
        assert_eq!(e.len(), 33);
        assert_eq!((e[0], e[32]), (0, 912));
        assert!(e.windows(2).all(|w| w[0] <= w[1]));
        // 57 clips: round(linspace(1,57,33)) starts segment 2 at clip 3 → frame 32.
        assert_eq!(e[1], 32);
    }

    #[test]
    fn reads_the_papers_c3d_files() {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ucf-crime/c3d-features");
        let set = FeatureSet::read(&dir).unwrap();
        assert_eq!(set.bags.len(), 10);
        assert_eq!(set.dim(), 4096);
        assert_eq!(set.counts(), (2, 8));
        for b in &set.bags {
            for i in 0..SEGMENTS {
                let n: f32 = b.bag.row(i).iter().map(|v| v * v).sum::<f32>().sqrt();
                assert!((n - 1.0).abs() < 1e-3, "{} row {i} norm {n}", b.entry.name);
            }
        }
        let ex = set
            .bags
            .iter()
            .find(|b| b.entry.name == "Explosion008_x264")
            .unwrap();
        assert_eq!(ex.entry.class, "Explosion");
    }
}
