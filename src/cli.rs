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
    /// Frame-level ROC AUC and false-alarm rate of score reports against UCF-Crime annotations.
    Eval(EvalArgs),
}

/// `vigil eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Score reports: `vigil score --json`/`-o` output files, or folders of them.
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub scores: Vec<PathBuf>,
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
    /// Video files to score.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Model pack folder (default: the i3d-k400 pack built by `make models`).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Where to run the network.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
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
    /// Feature cache folder (default: $XDG_CACHE_HOME/vigil or VIGIL_CACHE_DIR).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the feature cache.
    #[arg(long)]
    pub no_cache: bool,
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
mod tests {
    use super::parse_time;

    #[test]
    fn times_in_the_forms_people_type() {
        assert_eq!(parse_time("75.5"), Ok(75.5));
        assert_eq!(parse_time("1:15.5"), Ok(75.5));
        assert_eq!(parse_time("0:01:15.5"), Ok(75.5));
        assert_eq!(parse_time("01:02:03"), Ok(3723.0));
        assert!(parse_time("1:75").is_err());
        assert!(parse_time("-3").is_err());
        assert!(parse_time("a:b").is_err());
        assert!(parse_time("1:2:3:4").is_err());
    }
}
