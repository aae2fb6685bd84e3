use super::runtime::with_environment;
use super::{
    Device, ExecutionProvider, ExtractorSpec, InputContract, ModelError, OutputSpec, Pack,
};
use ort::ep::ExecutionProvider as _;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

/// Class probabilities kept per clip (the three best are shown; five leave room for filtering).
pub const TOP_K: usize = 5;

/// What the extractor returns for one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipOutput {
    /// The feature vector, as the network outputs it (not normalised).
    pub features: Vec<f32>,
    /// The `TOP_K` most probable classes (label index, softmax probability), best first.
    pub top: Vec<(u32, f32)>,
}

/// One ONNX Runtime session of a pack's feature extractor. Not `Sync`: each worker thread owns
/// its own (`Session::run` needs `&mut self`).
pub struct Extractor {
    session: Session,
    contract: InputContract,
    features: OutputSpec,
    logits: OutputSpec,
    ep: ExecutionProvider,
    note: Option<String>,
    input: Vec<f32>,
}

impl Extractor {
    /// Creates a session for `pack` on `device` and checks the network's inputs and outputs
    /// against the manifest. `intra_threads` limits ONNX Runtime's CPU threads (None: its
    /// default, one per core).
    pub fn new(
        pack: &Pack,
        device: Device,
        intra_threads: Option<usize>,
    ) -> Result<Self, ModelError> {
        Self::with_float_mode(pack, device, intra_threads, false)
    }

    /// As `new`; with `flush_denormals`, ONNX Runtime's own threads treat subnormal floats as
    /// zero (its `session.set_denormal_as_zero`). vigil leaves this off: measured on I3D
    /// (`make bench`, section 2; 1.92 against 1.86 clips/s on 2 cores) it gains about as much as
    /// run-to-run noise, while off keeps the features equal to the reference implementation's
    /// and to every cached feature. Exposed so that the benchmark can keep checking.
    pub fn with_float_mode(
        pack: &Pack,
        device: Device,
        intra_threads: Option<usize>,
        flush_denormals: bool,
    ) -> Result<Self, ModelError> {
        Self::for_network(
            pack,
            &pack.manifest.extractor,
            device,
            intra_threads,
            flush_denormals,
        )
    }

    /// A session of the pack's coarse extractor (the cascade's first pass);
    /// [`ModelError::Manifest`] when the pack has none.
    pub fn coarse(
        pack: &Pack,
        device: Device,
        intra_threads: Option<usize>,
    ) -> Result<Self, ModelError> {
        let spec = pack
            .coarse_extractor()
            .ok_or_else(|| ModelError::Manifest {
                path: pack.dir.join("manifest.json"),
                reason: "this pack has no coarse_extractor (rebuild it with `make models`)".into(),
            })?;
        Self::for_network(pack, spec, device, intra_threads, false)
    }

    /// A session of `spec`, one of `pack`'s networks.
    fn for_network(
        pack: &Pack,
        spec: &ExtractorSpec,
        device: Device,
        intra_threads: Option<usize>,
        flush_denormals: bool,
    ) -> Result<Self, ModelError> {
        let path = pack.dir.join(&spec.file);
        let (env, _) = with_environment(Clone::clone)?;
        let session_err = |e: ort::Error| ModelError::Session {
            path: path.clone(),
            reason: e.to_string(),
        };
        let mut builder = Session::builder(&env).map_err(session_err)?;
        if let Some(n) = intra_threads {
            builder = builder
                .with_intra_threads(n)
                .map_err(|e| session_err(e.into()))?;
        }
        if flush_denormals {
            builder = builder
                .with_flush_to_zero()
                .map_err(|e| session_err(e.into()))?;
        }
        let (ep, note) = choose_provider(&mut builder, device)?;
        let session = builder.commit_from_file(&path).map_err(session_err)?;
        let contract = spec.input.clone();
        let ex = Self {
            session,
            features: spec.features.clone(),
            logits: spec.logits.clone(),
            ep,
            note,
            input: Vec::new(),
            contract,
        };
        ex.check_shapes(&path)?;
        Ok(ex)
    }

    /// The execution provider this session runs on.
    pub fn execution_provider(&self) -> ExecutionProvider {
        self.ep
    }

    /// Why the provider differs from what was asked for, when it does.
    pub fn device_note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Bytes of one clip in the layout `run` takes: T frames of H×W packed RGB.
    pub fn clip_bytes(&self) -> usize {
        let c = &self.contract;
        c.frames as usize * c.height as usize * c.width as usize * 3
    }

    fn check_shapes(&self, path: &std::path::Path) -> Result<(), ModelError> {
        let c = &self.contract;
        let mismatch = |what: &str, expected: String, got: String| ModelError::ModelShape {
            path: path.to_path_buf(),
            what: what.to_string(),
            expected,
            got,
        };
        let inputs = self.session.inputs();
        let Some(input) = inputs.iter().find(|i| i.name() == c.name) else {
            let names: Vec<&str> = inputs.iter().map(|i| i.name()).collect();
            return Err(mismatch("input name", c.name.clone(), names.join(", ")));
        };
        let want = [
            -1,
            3,
            i64::from(c.frames),
            i64::from(c.height),
            i64::from(c.width),
        ];
        check_tensor(input.dtype(), &want, "input shape (N,C,T,H,W)", &mismatch)?;
        for spec in [&self.features, &self.logits] {
            let outputs = self.session.outputs();
            let Some(out) = outputs.iter().find(|o| o.name() == spec.name) else {
                let names: Vec<&str> = outputs.iter().map(|o| o.name()).collect();
                return Err(mismatch("output name", spec.name.clone(), names.join(", ")));
            };
            check_tensor(
                out.dtype(),
                &[-1, spec.dim as i64],
                &format!("output '{}' shape", spec.name),
                &mismatch,
            )?;
        }
        Ok(())
    }

    /// Runs `n` clips given as `n` × T×H×W×3 RGB bytes (clip-major, then frame, row, pixel)
    /// and returns each clip's features and top classes, in order.
    pub fn run(&mut self, clips: &[u8], n: usize) -> Result<Vec<ClipOutput>, ModelError> {
        let (fdim, ldim) = (self.features.dim, self.logits.dim);
        let (feats, logits) = self.run_raw(clips, n)?;
        Ok((0..n)
            .map(|i| ClipOutput {
                features: feats[i * fdim..(i + 1) * fdim].to_vec(),
                top: top_k_softmax(&logits[i * ldim..(i + 1) * ldim], TOP_K),
            })
            .collect())
    }

    /// Like [`Extractor::run`], returning the raw outputs: `n` × feature dim features and
    /// `n` × class count logits, row-major.
    pub fn run_raw(&mut self, clips: &[u8], n: usize) -> Result<(Vec<f32>, Vec<f32>), ModelError> {
        let clip_bytes = self.clip_bytes();
        if clips.len() != n * clip_bytes || n == 0 {
            return Err(ModelError::Inference {
                reason: format!("{} bytes for {n} clips of {clip_bytes} bytes", clips.len()),
            });
        }
        let c = &self.contract;
        let (t, h, w) = (c.frames as usize, c.height as usize, c.width as usize);
        pack_nchw(clips, n, c.pixel_scale, c.pixel_offset, &mut self.input);
        let shape = [n, 3, t, h, w];
        let infer = |e: ort::Error| ModelError::Inference {
            reason: e.to_string(),
        };
        let tensor = TensorRef::from_array_view((shape, self.input.as_slice())).map_err(infer)?;
        let outputs = self
            .session
            .run(ort::inputs![self.contract.name.as_str() => tensor])
            .map_err(infer)?;
        let (_, feats) = outputs[self.features.name.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        let (_, logits) = outputs[self.logits.name.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        if feats.len() != n * self.features.dim || logits.len() != n * self.logits.dim {
            return Err(ModelError::Inference {
                reason: format!(
                    "network returned {} features and {} logits for {n} clips",
                    feats.len(),
                    logits.len()
                ),
            });
        }
        Ok((feats.to_vec(), logits.to_vec()))
    }
}

/// Registers the provider for `device` and says which one will run.
fn choose_provider(
    builder: &mut ort::session::builder::SessionBuilder,
    device: Device,
) -> Result<(ExecutionProvider, Option<String>), ModelError> {
    if device == Device::Cpu {
        return Ok((ExecutionProvider::Cpu, None));
    }
    let why_not = match ort::ep::CUDA::is_available() {
        Ok(true) => match ort::ep::CUDA::default().build().error_on_failure().register(builder) {
            Ok(()) => return Ok((ExecutionProvider::Cuda, None)),
            Err(e) => format!("the CUDA provider failed to start: {e}"),
        },
        Ok(false) => "this ONNX Runtime library has no CUDA provider (the CPU build from PyPI `onnxruntime`; `make setup-gpu` fetches `onnxruntime-gpu`)".to_string(),
        Err(e) => format!("cannot list ONNX Runtime providers: {e}"),
    };
    match device {
        Device::Cuda => Err(ModelError::CudaUnavailable { reason: why_not }),
        _ => Ok((
            ExecutionProvider::Cpu,
            Some(format!("running on CPU: {why_not}")),
        )),
    }
}

fn check_tensor(
    dtype: &ValueType,
    want: &[i64],
    what: &str,
    mismatch: &dyn Fn(&str, String, String) -> ModelError,
) -> Result<(), ModelError> {
    let ValueType::Tensor { ty, shape, .. } = dtype else {
        return Err(mismatch(
            what,
            "a float32 tensor".into(),
            format!("{dtype:?}"),
        ));
    };
    if *ty != TensorElementType::Float32 {
        return Err(mismatch(what, "float32".into(), format!("{ty:?}")));
    }
    let got: Vec<i64> = shape.iter().copied().collect();
    // The batch dimension may be anything; others must match or be dynamic (-1).
    let ok = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .skip(1)
            .all(|(g, w)| *g == *w || *g == -1);
    if !ok {
        return Err(mismatch(what, format!("{want:?}"), format!("{got:?}")));
    }
    Ok(())
}

/// Converts clips from T×H×W×3 bytes to the network's N×3×T×H×W floats with the manifest's
/// pixel scale and offset, reusing `out`'s allocation.
fn pack_nchw(clips: &[u8], n: usize, scale: f32, offset: f32, out: &mut Vec<f32>) {
    let plane = clips.len() / n / 3;
    out.clear();
    out.resize(clips.len(), 0.0);
    for (clip_in, clip_out) in clips
        .chunks_exact(plane * 3)
        .zip(out.chunks_exact_mut(plane * 3))
    {
        let (r, rest) = clip_out.split_at_mut(plane);
        let (g, b) = rest.split_at_mut(plane);
        for (i, px) in clip_in.chunks_exact(3).enumerate() {
            r[i] = f32::from(px[0]) * scale + offset;
            g[i] = f32::from(px[1]) * scale + offset;
            b[i] = f32::from(px[2]) * scale + offset;
        }
    }
}

/// The `k` largest softmax probabilities of `logits`, best first (ties: lower index first).
pub(crate) fn top_k_softmax(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    let mut idx: Vec<u32> = (0..logits.len() as u32).collect();
    idx.sort_by(|&a, &b| {
        logits[b as usize]
            .total_cmp(&logits[a as usize])
            .then(a.cmp(&b))
    });
    idx.into_iter()
        .take(k)
        .map(|i| (i, (exps[i as usize] / sum) as f32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_top_k_orders_and_normalises() {
        let top = top_k_softmax(&[0.0, 2.0, 1.0, 2.0], 3);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 3, 2]);
        let total: f64 = [0.0f64, 2.0, 1.0, 2.0].iter().map(|x| x.exp()).sum();
        assert!((f64::from(top[0].1) - 2f64.exp() / total).abs() < 1e-6);
    }

    #[test]
    fn packs_planes_per_clip() {
        // 2 clips of 2 pixels each.
        let clips = [0u8, 10, 20, 30, 40, 50, 255, 255, 255, 0, 0, 0];
        let mut out = Vec::new();
        pack_nchw(&clips, 2, 1.0, 0.0, &mut out);
        assert_eq!(
            out,
            vec![0., 30., 10., 40., 20., 50., 255., 0., 255., 0., 255., 0.]
        );
    }
}
