use super::ModelError;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// File name of the ONNX Runtime shared library on this platform.
const LIB_NAME: &str = "libonnxruntime.so";

/// Which hardware the caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// CUDA if this ONNX Runtime and machine can run it, else the CPU (said out loud).
    #[default]
    Auto,
    /// The CPU only.
    Cpu,
    /// CUDA or an error.
    Cuda,
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(format!("unknown device '{other}' (auto, cpu or cuda)")),
        }
    }
}

/// The execution provider that actually ran a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ExecutionProvider {
    /// ONNX Runtime's CPU provider.
    #[serde(rename = "CPUExecutionProvider")]
    Cpu,
    /// ONNX Runtime's CUDA provider.
    #[serde(rename = "CUDAExecutionProvider")]
    Cuda,
}

impl ExecutionProvider {
    /// ONNX Runtime's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "CPUExecutionProvider",
            Self::Cuda => "CUDAExecutionProvider",
        }
    }

    /// Short name for people: `cpu` or `cuda`.
    pub fn short(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }
}

/// Which ONNX Runtime library is loaded.
#[derive(Debug, Clone)]
pub struct RuntimeInfo {
    /// The library file.
    pub path: PathBuf,
    /// Its version, from the versioned file name when there is one.
    pub version: String,
}

struct Loaded {
    env: ort::environment::Environment,
    info: RuntimeInfo,
}

static RUNTIME: Mutex<Option<Loaded>> = Mutex::new(None);

/// Candidate library paths, in the order they are tried: `ORT_DYLIB_PATH` alone when it is set;
/// otherwise beside the executable, the checkout's `.deps/onnxruntime/` found by walking up
/// from the executable (where `make setup` puts it), and the system library folders.
pub fn locate_runtime() -> Result<PathBuf, ModelError> {
    let mut searched = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        searched.push(p);
        return Err(ModelError::RuntimeMissing { searched });
    }
    let mut candidates = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(exe_dir.join(LIB_NAME));
        candidates.push(exe_dir.join("../lib").join(LIB_NAME));
        for dir in exe_dir.ancestors().take(6) {
            candidates.push(dir.join(".deps/onnxruntime").join(LIB_NAME));
        }
    }
    candidates.push(PathBuf::from("/usr/local/lib").join(LIB_NAME));
    candidates.push(PathBuf::from("/usr/lib").join(LIB_NAME));
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
        searched.push(c);
    }
    Err(ModelError::RuntimeMissing { searched })
}

fn version_from_path(path: &Path) -> String {
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    resolved
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("libonnxruntime.so."))
        .map_or_else(|| "unknown".to_string(), str::to_string)
}

/// Loads ONNX Runtime once per process and returns which library is in use. Later calls return
/// the same library; a failed load is retried on the next call.
pub fn init_runtime() -> Result<RuntimeInfo, ModelError> {
    Ok(with_environment(|_| ())?.1)
}

/// Runs `f` with the process-wide ONNX Runtime environment, loading it first if needed.
pub(super) fn with_environment<R>(
    f: impl FnOnce(&ort::environment::Environment) -> R,
) -> Result<(R, RuntimeInfo), ModelError> {
    let mut guard = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        let path = locate_runtime()?;
        let builder = ort::init_from(&path).map_err(|e| ModelError::RuntimeLoad {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let env = builder
            .with_name("vigil")
            .build()
            .map_err(|e| ModelError::RuntimeLoad {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let info = RuntimeInfo {
            version: version_from_path(&path),
            path,
        };
        *guard = Some(Loaded { env, info });
    }
    let Some(loaded) = guard.as_ref() else {
        return Err(ModelError::RuntimeLoad {
            path: PathBuf::new(),
            reason: "runtime vanished".into(),
        });
    };
    Ok((f(&loaded.env), loaded.info.clone()))
}
