//! The `vigil` binary: parses arguments, wires the library together, prints each error once.
//!
//! Exit codes (also in the README):
//! - 0: every file scored (partial files included; they carry a warning and `"partial": true`)
//! - 1: an unexpected failure (cache folder not writable, internal error)
//! - 2: bad command line
//! - 3: at least one video file could not be read (the others are still scored)
//! - 4: the model pack or ONNX Runtime cannot be used
//! - 5: `vigil verify` found a modified, missing or extra file
//! - 130: cancelled with Ctrl-C (finished batches stay cached; rerun to resume)

/// `print!` to stdout that survives a reader going away ([`out::write`]).
macro_rules! out {
    ($($t:tt)*) => { $crate::out::write(format_args!($($t)*)) };
}
/// `println!` to stdout that survives a reader going away ([`out::write`]).
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($t)*))) };
}

mod cli;
mod cmd;
mod out;
mod progress;

use clap::Parser as _;
use cli::{Cli, Command, DeviceArg, OpenArgs};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use vigil::model::{self, Device, ModelError, Pack};
use vigil::pipeline::{PipelineError, ScoreOptions, default_cache_root};

pub(crate) const EXIT_OTHER: u8 = 1;
pub(crate) const EXIT_FOOTAGE: u8 = 3;
pub(crate) const EXIT_MODEL: u8 = 4;
pub(crate) const EXIT_VERIFY: u8 = 5;
pub(crate) const EXIT_CANCELLED: u8 = 130;

fn main() -> ExitCode {
    vigil::base::memory::release_large_blocks();
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,ort=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();

    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Score(args)) => cmd::score::score(&args),
        Some(Command::Doctor(args)) => cmd::doctor::doctor(&args),
        Some(Command::Open(args)) => cmd::open::open(args),
        Some(Command::Export(args)) => cmd::export::export(&args),
        Some(Command::Verify(args)) => cmd::verify::verify(&args),
        Some(Command::Probe(args)) => cmd::probe::probe(&args),
        Some(Command::Eval(args)) => cmd::eval::eval(&args),
        Some(Command::Features(args)) => cmd::mil::features(&args),
        Some(Command::Train(args)) => cmd::mil::train_cmd(&args),
        Some(Command::Pack(args)) => cmd::mil::pack(&args),
        Some(Command::Bank(args)) => cmd::bank::bank(&args),
        Some(Command::Kit(args)) => cmd::mil::kit(&args),
        Some(Command::Key(args)) => cmd::key::key(&args),
        None => cmd::open::open(OpenArgs {
            files: Vec::new(),
            case: None,
            run: cli::RunArgs::default(),
            scorer: None,
            cascade: None,
        }),
    };
    let code = if out::failed() {
        code.max(EXIT_OTHER)
    } else {
        code
    };
    ExitCode::from(code)
}

pub(crate) fn device_of(d: DeviceArg) -> Device {
    match d {
        DeviceArg::Auto => Device::Auto,
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => Device::Cuda,
    }
}

/// " (see: vigil probe FILE)" after a refusal that the probe explains further (what the
/// container holds, which streams, what FFmpeg read it as); nothing after a missing file or a
/// path that is not a file, which the error already says in full.
pub(crate) fn probe_hint(e: &vigil::video::VideoError, file: &std::path::Path) -> String {
    use vigil::video::VideoError as V;
    match e {
        V::NotFound { .. } | V::NotAFile { .. } | V::Empty { .. } | V::Io { .. } => String::new(),
        _ => format!(" (see: vigil probe {})", file.display()),
    }
}

pub(crate) fn exit_code_for(e: &PipelineError) -> u8 {
    match e {
        PipelineError::Video(_) => EXIT_FOOTAGE,
        PipelineError::Model(_) => EXIT_MODEL,
        PipelineError::Cancelled => EXIT_CANCELLED,
        PipelineError::Cache { .. } | PipelineError::Internal(_) | PipelineError::NotCached => {
            EXIT_OTHER
        }
    }
}

pub(crate) fn load_pack(dir: Option<&std::path::Path>) -> Result<Pack, ModelError> {
    let dir = dir.map_or_else(model::default_pack_dir, std::path::Path::to_path_buf);
    Pack::load(&dir)
}

impl cli::RunArgs {
    /// The pack `--model` names, or the default one.
    pub(crate) fn pack(&self) -> Result<Pack, ModelError> {
        load_pack(self.model.as_deref())
    }

    /// The score options these flags set; each command adds its own on top.
    pub(crate) fn score_options(&self) -> ScoreOptions {
        ScoreOptions {
            device: device_of(self.device),
            cache_root: self.cache_dir.clone().or_else(default_cache_root),
            ..ScoreOptions::default()
        }
    }
}

/// Ctrl-C once: stop after the batch in flight (it is cached). Twice: stop now.
pub(crate) fn install_ctrl_c(cancel: Arc<AtomicBool>) {
    let result = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_CANCELLED));
        }
        eprintln!("\nvigil: stopping after the batch in flight (Ctrl-C again to stop now)");
    });
    if let Err(e) = result {
        tracing::warn!("Ctrl-C handler not installed: {e}");
    }
}

/// One report as one line of JSON on stdout (nothing, once the reader has gone away).
pub(crate) fn print_json<T: serde::Serialize>(report: &T) -> anyhow::Result<()> {
    use std::io::Write;
    if out::gone() {
        return Ok(());
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer(&mut stdout, report)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(stdout))
        .and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            out::set_gone();
            Ok(())
        }
        other => Ok(other?),
    }
}
