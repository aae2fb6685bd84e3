//! Command-line arguments. Parsing only: every command calls into the library.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Review hours of surveillance footage: vigil scores every short clip for "something
/// abnormal happens here" and points you at the peaks.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without a command the review app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score video files and print the flagged spans (or JSON).
    Score(ScoreArgs),
    /// Show which ONNX Runtime, execution providers and model pack vigil would use.
    Doctor(DoctorArgs),
    /// Open the review app with footage (and optionally a case file) loaded.
    Open(OpenArgs),
    /// Cut a span out of a video losslessly (stream copy) into an evidence folder with a
    /// manifest, SHA256SUMS and an HTML report.
    Export(ExportArgs),
    /// Re-hash an export folder (against its SHA256SUMS) or a case file's originals.
    Verify(VerifyArgs),
    /// Say what a file is and what vigil will do with it: container, streams, packets,
    /// timestamps, gaps, the first frame, and which stream is scored and how it is exported.
    Probe(ProbeArgs),
    /// Frame-level ROC AUC and false-alarm rate of score reports against UCF-Crime annotations.
    Eval(EvalArgs),
    /// Extract clip features and the paper's 32-segment bags for a labelled video list.
    Features(FeaturesArgs),
    /// Train the paper's MIL head on a feature set; writes the head (and a model pack).
    Train(TrainArgs),
    /// Make a model pack from a base pack and a trained head.
    Pack(PackArgs),
    /// The pack's normal bank: clip features of footage known to be normal, which scores are
    /// judged against across files.
    Bank(BankArgs),
    /// Render the synthetic benchmark kit: labelled normal and anomalous videos with frame
    /// ground truth and a train/test split.
    Kit(KitArgs),
    /// This installation's Ed25519 key, which signs every evidence export: make it once, show
    /// its fingerprint.
    Key(KeyArgs),
}

/// `vigil key`.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// What to do with the key.
    #[command(subcommand)]
    pub action: KeyAction,
}

/// `vigil key` actions.
#[derive(Debug, clap::Subcommand)]
pub enum KeyAction {
    /// Make the signing key (mode 0600 in vigil's data folder); never replaces one.
    Init(KeyFileArgs),
    /// Show where the key is and its fingerprint (what a verifier expects).
    Show(KeyFileArgs),
}

/// Which key file.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyFileArgs {
    /// The key file (default: signing-key.json in vigil's data folder, $XDG_DATA_HOME/vigil).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

/// `vigil features`.
#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    /// Video list: `PATH normal|anomalous [CLASS]` per line, or bare UCF-Crime style paths.
    #[arg(long, value_name = "LIST")]
    pub labels: PathBuf,
    /// Feature set folder to write.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    // The model pack, where it runs, and the feature cache.
    #[command(flatten)]
    pub run: RunArgs,
    /// Clips per inference call.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub batch: Option<u32>,
    /// ONNX Runtime CPU threads.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
}

/// `vigil bank`.
#[derive(Debug, clap::Args)]
pub struct BankArgs {
    /// What to do with the bank.
    #[command(subcommand)]
    pub action: BankAction,
}

/// `vigil bank` actions.
#[derive(Debug, clap::Subcommand)]
pub enum BankAction {
    /// Add the normal videos of one or more lists to the pack's bank (a video already in it, by
    /// SHA-256, is not added twice); the pack is rewritten atomically.
    Add(BankAddArgs),
    /// Say what the bank holds.
    Show(BankShowArgs),
    /// Compare ways of combining the fused scorer's parts on a labelled feature set (the
    /// kit's training split), each video judged against the bank without its own clips.
    Rules(BankRulesArgs),
}

/// `vigil bank rules`.
#[derive(Debug, clap::Args)]
pub struct BankRulesArgs {
    /// Feature set made by `vigil features` (with clip features).
    #[arg(long, value_name = "DIR")]
    pub features: PathBuf,
    /// UCF-Crime temporal annotations with frame counts for its videos.
    #[arg(long, value_name = "FILE")]
    pub annotations: PathBuf,
    /// Model pack with a normal bank and a fused scorer (default: the i3d-k400 pack).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `vigil bank add`.
#[derive(Debug, clap::Args)]
pub struct BankAddArgs {
    /// Video lists (`PATH [normal|anomalous [CLASS]]` per line, as `vigil features` reads);
    /// videos marked anomalous are left out. A video file is taken as a list of itself.
    #[arg(required = true, value_name = "LIST")]
    pub lists: Vec<PathBuf>,
    // The model pack, where it runs, and the feature cache.
    #[command(flatten)]
    pub run: RunArgs,
    /// ONNX Runtime CPU threads.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
}

/// `vigil bank show`.
#[derive(Debug, clap::Args)]
pub struct BankShowArgs {
    /// Model pack (default: the i3d-k400 pack).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Print the manifest's bank entry as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Training objective on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ObjectiveArg {
    /// The paper's MIL ranking loss.
    Mil,
    /// Baseline: each segment labelled with its video's label (cross-entropy).
    Binary,
}

/// `vigil train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Feature set (from `vigil features`), or a folder of C3D `.txt` / `.npy` feature files.
    #[arg(long, value_name = "DIR")]
    pub features: PathBuf,
    /// Output folder: the head, training.json, checkpoints, figure8.png; also a complete
    /// model pack when the features came from one.
    #[arg(long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Seed for the weights, dropout and batch sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Adagrad iterations.
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: u64,
    /// Learning rate (the original code: 0.01; the paper's text: 0.001).
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Anomalous bags per batch.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_anomalous: u64,
    /// Normal bags per batch.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_normal: u64,
    /// Temporal smoothness weight λ1.
    #[arg(long, default_value_t = 8e-5)]
    pub lambda1: f64,
    /// Sparsity weight λ2.
    #[arg(long, default_value_t = 8e-5)]
    pub lambda2: f64,
    /// L2 weight regularisation (Keras l2 on every weight matrix).
    #[arg(long, default_value_t = 1e-3)]
    pub weight_decay: f64,
    /// Dropout probability.
    #[arg(long, default_value_t = 0.6)]
    pub dropout: f64,
    /// Loss.
    #[arg(long, value_enum, default_value = "mil")]
    pub objective: ObjectiveArg,
    /// Write a checkpoint every this many iterations (0: none).
    #[arg(long, default_value_t = 1000)]
    pub checkpoint_every: u64,
    /// Validation feature set (frame-level AUC is printed as training goes).
    #[arg(long, value_name = "DIR", requires = "val_annotations")]
    pub val_features: Option<PathBuf>,
    /// Annotations (UCF-Crime format) for the validation set and the tracked video.
    #[arg(long, value_name = "FILE")]
    pub val_annotations: Option<PathBuf>,
    /// Validate every this many iterations.
    #[arg(long, default_value_t = 500)]
    pub eval_every: u64,
    /// Training video whose segment scores are recorded for figure8.png (the paper's Fig. 8).
    #[arg(long, value_name = "NAME")]
    pub track: Option<String>,
    /// Base model pack for the output pack (default: the one named in the feature index).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
}

/// Which scorer a pack uses by default.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DefaultScorerArg {
    /// The trained head.
    MilHead,
    /// The training-free novelty scorer.
    Novelty,
    /// Novelty and the normal bank together (needs a bank: `vigil bank add`).
    Fused,
}

/// `vigil pack`.
#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// Pack with the extractor (and the novelty scorer); its normal bank and fused scorer, if
    /// it has them, are carried over. May be the output pack itself, to change its default.
    #[arg(long, value_name = "DIR")]
    pub base: PathBuf,
    /// Folder with mil_head.onnx and training.json (`vigil train --out`).
    #[arg(long, value_name = "DIR")]
    pub head: PathBuf,
    /// Pack folder to write.
    #[arg(long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Default scorer.
    #[arg(long = "default", value_enum, default_value = "mil-head")]
    pub default_scorer: DefaultScorerArg,
    /// Why that default, recorded in the manifest (e.g. the benchmark numbers).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Human-readable pack name (default: the base pack's).
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
}

/// `vigil kit`.
#[derive(Debug, clap::Args)]
pub struct KitArgs {
    /// Kit folder to write.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// Render the long-footage benchmark instead: a quiet and a busy fixed-camera scene of
    /// `--minutes` each, three incidents in each (the other size options do not apply).
    #[arg(long)]
    pub long: bool,
    /// Length of each long scene, minutes (with --long).
    #[arg(long, default_value_t = 60.0, requires = "long")]
    pub minutes: f64,
    /// Seed: the same seed renders the same kit.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Normal training videos.
    #[arg(long, default_value_t = 30)]
    pub train_normal: usize,
    /// Anomalous training videos.
    #[arg(long, default_value_t = 30)]
    pub train_anomalous: usize,
    /// Normal test videos.
    #[arg(long, default_value_t = 15)]
    pub test_normal: usize,
    /// Anomalous test videos.
    #[arg(long, default_value_t = 15)]
    pub test_anomalous: usize,
    /// Close-camera training videos (normal, fighting, fall, scatter in turn).
    #[arg(long, default_value_t = 12)]
    pub train_close: usize,
    /// Close-camera test videos.
    #[arg(long, default_value_t = 8)]
    pub test_close: usize,
    /// Short test files: 20–40 s, the incident 15–30 % of the file, every class in turn.
    #[arg(long, default_value_t = 6)]
    pub test_short: usize,
    /// Shortest video, seconds.
    #[arg(long, default_value_t = 8.0)]
    pub min_s: f64,
    /// Longest video, seconds.
    #[arg(long, default_value_t = 16.0)]
    pub max_s: f64,
    /// Frame width.
    #[arg(long, default_value_t = 320)]
    pub width: u32,
    /// Frame height.
    #[arg(long, default_value_t = 240)]
    pub height: u32,
}

/// `vigil eval`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["scores", "features"])))]
pub struct EvalArgs {
    /// Score reports: `vigil score --json`/`-o` output files, or folders of them.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub scores: Vec<PathBuf>,
    /// Instead of reports: a feature set (e.g. the original C3D 32-segment `.txt` files),
    /// scored here with `--head`.
    #[arg(long, value_name = "DIR", requires = "head", conflicts_with = "scores")]
    pub features: Option<PathBuf>,
    /// Head for `--features`: an ONNX file, a `vigil train` folder or a model pack.
    #[arg(long, value_name = "PATH")]
    pub head: Option<PathBuf>,
    /// UCF-Crime temporal annotation file (`name class s1 e1 s2 e2`, frames, -1 for none).
    #[arg(long, value_name = "FILE")]
    pub annotations: PathBuf,
    /// Threshold for the false-alarm rate.
    #[arg(long, default_value_t = 0.5, value_parser = parse_unit)]
    pub threshold: f32,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the ROC curve as a PNG.
    #[arg(long, value_name = "OUT")]
    pub roc_png: Option<PathBuf>,
    /// Write the ROC curve as CSV (fpr,tpr,threshold).
    #[arg(long, value_name = "OUT")]
    pub roc_csv: Option<PathBuf>,
}

/// `vigil export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The original footage (opened read-only).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Start: seconds, MM:SS or HH:MM:SS(.mmm), from the first frame.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub from: f64,
    /// End (exclusive), same forms.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub to: f64,
    /// Export folder to create (default: ./vigil-export-NAME-UTCTIME); a new name is chosen
    /// if it exists.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Case file whose audit log records the export.
    #[arg(long, value_name = "CASE")]
    pub case: Option<PathBuf>,
    /// Analyst name for the manifest (default: the settings, or VIGIL_ANALYST).
    #[arg(long)]
    pub analyst: Option<String>,
    /// Model pack whose cached scores go in the report (default: the i3d-k400 pack).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Threshold recorded with the scores.
    #[arg(long, default_value_t = 0.5, value_parser = parse_unit)]
    pub threshold: f32,
    /// Start and end exactly on the asked frames by re-encoding the span losslessly
    /// (H.264 qp 0) instead of copying packets from the keyframe before.
    #[arg(long)]
    pub exact: bool,
    /// Print the manifest as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub footage: FootageArgs,
    // The signing key: the installation's when there is one (see `vigil key`).
    #[command(flatten)]
    pub signing: KeyFileArgs,
}

/// How to read footage that leaves a choice (shared by `score` and `export`).
#[derive(Debug, Clone, clap::Args)]
pub struct FootageArgs {
    /// The video stream to read, by its number in `vigil probe FILE` (multi-camera DVR
    /// exports), or `all` (score: one report per video stream). Default: FFmpeg's choice of
    /// the best one, and a warning when there are others.
    #[arg(long, value_name = "N|all", value_parser = parse_stream)]
    pub stream: Option<StreamChoice>,
    /// Frame rate of footage that stores no frame times (raw H.264/HEVC without VUI timing,
    /// raw or multipart MJPEG, H.261/H.263): the recorder's rate. Refused for footage that
    /// times its frames.
    #[arg(long, value_name = "FPS")]
    pub fps: Option<f64>,
}

/// `--stream N|all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamChoice {
    /// One stream, by container index.
    Index(usize),
    /// Every video stream.
    All,
}

fn parse_stream(s: &str) -> Result<StreamChoice, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(StreamChoice::All);
    }
    s.trim()
        .parse()
        .map(StreamChoice::Index)
        .map_err(|_| format!("'{s}' is not a stream number or 'all'"))
}

/// `vigil probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// Files to probe.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON document per file instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `vigil verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// An export folder (with SHA256SUMS) or a case file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Case whose audit log records the verification (for export folders).
    #[arg(long, value_name = "CASE")]
    pub case: Option<PathBuf>,
    /// Fail unless the export is signed by the key with this fingerprint (as `vigil key show`
    /// prints it where the export was made): a forger can sign with a key of their own.
    #[arg(long, value_name = "FINGERPRINT", value_parser = parse_fingerprint)]
    pub expect_key: Option<String>,
    /// Also decode every clip and the original again and compare each picture with the frame
    /// hashes in the manifest (slower: it decodes the exported spans twice).
    #[arg(long)]
    pub frames: bool,
    /// The original to compare the frames with, when it is no longer where the manifest says
    /// (a copy on another machine).
    #[arg(long, value_name = "FILE", requires = "frames")]
    pub source: Option<PathBuf>,
}

fn parse_fingerprint(s: &str) -> Result<String, String> {
    vigil::case::normalise_fingerprint(s).ok_or_else(|| {
        format!("'{s}' is not a key fingerprint (40 hex digits, as `vigil key show` prints)")
    })
}

/// `vigil open`.
#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// Footage to open as one case.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Case file to open, and to save to (created on first save if missing).
    #[arg(long, value_name = "CASE")]
    pub case: Option<PathBuf>,
    // The model pack, where it runs, and the feature cache.
    #[command(flatten)]
    pub run: RunArgs,
    /// Scorer to review with when the pack has several (`novelty`, `mil_head`).
    #[arg(long, value_name = "KIND")]
    pub scorer: Option<String>,
    /// Score by the cascade (`on`) or send every clip through the full network (`off`) in
    /// this session; default: the app's setting (Settings…, on unless changed). See
    /// `vigil score --help`.
    #[arg(long, value_enum, value_name = "on|off")]
    pub cascade: Option<OnOff>,
}

/// Hardware choice on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DeviceArg {
    /// CUDA when available, else CPU (reported).
    Auto,
    /// CPU only.
    Cpu,
    /// CUDA or fail.
    Cuda,
}

/// `vigil score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Video files to score; a folder stands for every video in its tree (in name order; run
    /// the same command again to resume: finished files come from the feature cache).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,
    // The model pack, where it runs, and the feature cache.
    #[command(flatten)]
    pub run: RunArgs,
    /// Print one JSON document per file (one per line) instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON documents (one per line) to this file, atomically.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Score at or above which a clip is flagged.
    #[arg(long, default_value_t = 0.5, value_parser = parse_unit)]
    pub threshold: f32,
    /// Merge flagged runs separated by at most this many seconds.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub merge_gap: f64,
    /// Drop flagged spans shorter than this many seconds.
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub min_span: f64,
    /// Spans listed in the summary.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Clips per inference call and per cache file (default: 4 on the CPU, 16 on CUDA).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub batch: Option<u32>,
    /// Inference threads, each with its own ONNX Runtime session.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: u32,
    /// ONNX Runtime CPU threads per session (default: the cores shared among the workers).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// Do not read or write the feature cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// Scorer to use when the pack has several (`novelty`, `mil_head`); default: the pack's.
    #[arg(long, value_name = "KIND")]
    pub scorer: Option<String>,
    /// `on`: the change gate and the coarse network on every clip, the full network only on
    /// the candidates they find (the novelty scorer; several times faster on long, quiet
    /// footage). `off`: every clip through the full network.
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub cascade: OnOff,
    #[command(flatten)]
    pub footage: FootageArgs,
}

/// A switch given as `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// What every command that runs the network takes: one struct, flattened into each, so the
/// flags are spelled and documented once and the score options are built from them in one
/// place (`RunArgs::score_options` in main.rs).
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Model pack folder (default: the i3d-k400 pack built by `make models`).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Where to run the network.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// Feature cache folder (default: $XDG_CACHE_HOME/vigil or VIGIL_CACHE_DIR).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

impl Default for RunArgs {
    fn default() -> Self {
        Self {
            model: None,
            device: DeviceArg::Auto,
            cache_dir: None,
        }
    }
}

/// `vigil doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Model pack folder to check.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
}

/// `75.5`, `1:15.5` or `0:01:15.5` → seconds.
pub fn parse_time(s: &str) -> Result<f64, String> {
    let bad = || format!("'{s}' is not a time (seconds, MM:SS or HH:MM:SS, e.g. 0:01:15.5)");
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(bad());
    }
    let mut total = 0.0;
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let v: f64 = p.parse().map_err(|_| bad())?;
        if !v.is_finite() || v < 0.0 || (!last && v.fract() != 0.0) || (i > 0 && v >= 60.0) {
            return Err(bad());
        }
        total = total * 60.0 + v;
    }
    Ok(total)
}

fn parse_unit(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside 0..1"))
    }
}

#[cfg(test)]
mod tests;
