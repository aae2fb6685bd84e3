//! The trained head as an ONNX graph (written with `onnx-rs`, a maintained protobuf encoder, not
//! hand-rolled bytes), and the model pack that carries it.
//!
//! Graph: `features [N, D]` → Gemm → Relu → Gemm → Gemm → Sigmoid → `scores [N, 1]`, opset 17.
//! Dropout is absent: at inference it is the identity.

use super::MilError;
use super::head::HeadWeights;
use crate::model::{HEAD_INPUT, HEAD_OUTPUT, Manifest, MilHeadParams, Pack, ScorerSpec};
use onnx_rs::ast::{
    DataType, Dimension, Graph, Model, Node, OpType, OperatorSetId, TensorProto, TensorShape,
    TensorShapeDimension, TensorTypeProto, TypeProto, TypeValue, ValueInfo,
};
use std::path::Path;

/// File name of the head inside a pack.
pub const HEAD_FILE: &str = "mil_head.onnx";
/// File name of the training record inside a pack.
pub const TRAINING_FILE: &str = "training.json";

fn value_info<'a>(name: &'a str, dims: [Dimension<'a>; 2]) -> ValueInfo<'a> {
    ValueInfo {
        name,
        r#type: Some(TypeProto {
            value: Some(TypeValue::Tensor(TensorTypeProto {
                elem_type: DataType::Float,
                shape: Some(TensorShape {
                    dim: dims
                        .into_iter()
                        .map(|value| TensorShapeDimension {
                            value,
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Encodes `w` as an ONNX model.
pub fn head_to_onnx(w: &HeadWeights) -> Result<Vec<u8>, MilError> {
    if w.layers.len() != 3 {
        return Err(MilError::Head(format!(
            "{} layers, expected 3",
            w.layers.len()
        )));
    }
    const W: [&str; 3] = ["fc1.weight", "fc2.weight", "fc3.weight"];
    const B: [&str; 3] = ["fc1.bias", "fc2.bias", "fc3.bias"];
    let mut initializer = Vec::new();
    for (k, (i, o, wt, b)) in w.layers.iter().enumerate() {
        if wt.len() != i * o || b.len() != *o {
            return Err(MilError::Head(format!(
                "layer {k}: sizes do not match {i}×{o}"
            )));
        }
        initializer.push(TensorProto::from_f32(
            W[k],
            vec![*i as i64, *o as i64],
            wt.clone(),
        ));
        initializer.push(TensorProto::from_f32(B[k], vec![*o as i64], b.clone()));
    }
    let gemm = |name: &'static str, x: &'static str, k: usize, out: &'static str| Node {
        name,
        op_type: OpType::Gemm,
        input: vec![x, W[k], B[k]],
        output: vec![out],
        ..Default::default()
    };
    let unary =
        |name: &'static str, op: OpType<'static>, x: &'static str, out: &'static str| Node {
            name,
            op_type: op,
            input: vec![x],
            output: vec![out],
            ..Default::default()
        };
    let model = Model {
        ir_version: 8,
        producer_name: "vigil",
        producer_version: crate::TOOL_VERSION,
        opset_import: vec![OperatorSetId {
            domain: "",
            version: 17,
        }],
        graph: Some(Graph {
            name: "mil_head",
            node: vec![
                gemm("fc1", HEAD_INPUT, 0, "h1"),
                unary("relu1", OpType::Relu, "h1", "a1"),
                gemm("fc2", "a1", 1, "h2"),
                gemm("fc3", "h2", 2, "logit"),
                unary("sigmoid", OpType::Sigmoid, "logit", HEAD_OUTPUT),
            ],
            initializer,
            input: vec![value_info(
                HEAD_INPUT,
                [Dimension::Param("N"), Dimension::Value(w.dim as i64)],
            )],
            output: vec![value_info(
                HEAD_OUTPUT,
                [Dimension::Param("N"), Dimension::Value(1)],
            )],
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok(onnx_rs::encode(&model))
}

/// Reads the weights back from an ONNX head written by [`head_to_onnx`].
pub fn head_from_onnx(bytes: &[u8]) -> Result<HeadWeights, MilError> {
    let model =
        onnx_rs::parse(bytes).map_err(|e| MilError::Head(format!("not an ONNX file: {e}")))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| MilError::Head("ONNX file has no graph".into()))?;
    let mut layers = Vec::new();
    for k in 1..=3 {
        let get = |name: String| {
            graph
                .get_initializer(&name)
                .ok_or_else(|| MilError::Head(format!("no initializer {name}: not a vigil head")))
        };
        let w = get(format!("fc{k}.weight"))?;
        let b = get(format!("fc{k}.bias"))?;
        let dims = w.dims();
        if dims.len() != 2 {
            return Err(MilError::Head(format!("fc{k}.weight is not a matrix")));
        }
        let data = |t: &TensorProto| {
            t.as_f32()
                .map(|c| c.into_owned())
                .ok_or_else(|| MilError::Head("weights are not float32".into()))
        };
        layers.push((dims[0] as usize, dims[1] as usize, data(w)?, data(b)?));
    }
    Ok(HeadWeights {
        dim: layers[0].0,
        layers,
    })
}

/// Makes `out` a model pack: `base`'s extractor and labels (hard-linked, else copied), the head
/// and training record from `head_dir`, and a manifest whose default scorer is `default_kind`
/// with the other one listed after it, `choice` saying why. `out` may equal `head_dir`; the
/// manifest is written last and atomically, so a half-made pack never loads.
pub fn assemble_pack(
    base: &Pack,
    head_dir: &Path,
    out: &Path,
    default_kind: &str,
    choice: Option<String>,
    name: Option<String>,
) -> Result<Manifest, MilError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| MilError::Io { path, error }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let head_src = head_dir.join(HEAD_FILE);
    let bytes = std::fs::read(&head_src).map_err(io(&head_src))?;
    let weights = head_from_onnx(&bytes)?;
    let dim = base.manifest.extractor.features.dim;
    if weights.dim != dim {
        return Err(MilError::Head(format!(
            "the head takes {} features, the pack's extractor gives {dim}",
            weights.dim
        )));
    }
    let training: serde_json::Value = std::fs::read(head_dir.join(TRAINING_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    if head_dir != out {
        crate::base::write_atomic(&out.join(HEAD_FILE), &bytes)
            .map_err(io(&out.join(HEAD_FILE)))?;
        if let Ok(t) = std::fs::read(head_dir.join(TRAINING_FILE)) {
            crate::base::write_atomic(&out.join(TRAINING_FILE), &t)
                .map_err(io(&out.join(TRAINING_FILE)))?;
        }
    }
    if base.dir != out {
        let coarse = base.manifest.coarse_extractor.as_ref().map(|c| &c.file);
        let bank = base.manifest.normal_bank.as_ref().map(|b| &b.file);
        for f in [&base.manifest.extractor.file, &base.manifest.labels.file]
            .into_iter()
            .chain(coarse)
            .chain(bank)
        {
            let (src, dst) = (base.dir.join(f), out.join(f));
            let _ = std::fs::remove_file(&dst);
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst).map_err(io(&dst))?;
            }
        }
    }
    let mil = ScorerSpec::MilHead(MilHeadParams {
        file: HEAD_FILE.into(),
        sha256: crate::base::sha256_bytes(&bytes),
        input_dim: dim,
        training: summary_of(&training),
    });
    // The base's training-free scorers come along (the fused one with the base's bank).
    let kept = std::iter::once(&base.manifest.scorer)
        .chain(&base.manifest.other_scorers)
        .filter(|s| matches!(s, ScorerSpec::Novelty(_) | ScorerSpec::Fused(_)))
        .cloned();
    let mut scorers: Vec<ScorerSpec> = std::iter::once(mil).chain(kept).collect();
    let Some(pos) = scorers.iter().position(|s| s.kind() == default_kind) else {
        return Err(MilError::Head(format!(
            "no '{default_kind}' scorer to make the default"
        )));
    };
    let default = scorers.remove(pos);
    let mut manifest = base.manifest.clone();
    manifest.scorer = default;
    manifest.other_scorers = scorers;
    manifest.scorer_choice = choice;
    if let Some(n) = name {
        manifest.name = n;
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| MilError::Head(e.to_string()))?;
    let mpath = out.join("manifest.json");
    crate::base::write_atomic(&mpath, &json).map_err(io(&mpath))?;
    Ok(manifest)
}

/// The parts of the training record worth repeating in the manifest.
fn summary_of(t: &serde_json::Value) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for k in ["objective", "recipe", "seed", "final_loss", "head_sha256"] {
        if let Some(v) = t.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    // The data by its hash and size; every bag's hash stays in the record.
    if let Some(d) = t.get("data").and_then(|d| d.as_object()) {
        let short: serde_json::Map<String, serde_json::Value> = d
            .iter()
            .filter(|(k, _)| k.as_str() != "bags")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        m.insert("data".into(), serde_json::Value::Object(short));
    }
    if let Some(last) = t
        .get("validation")
        .and_then(|v| v.as_array())
        .and_then(|v| v.last())
    {
        m.insert("validation_last".into(), last.clone());
    }
    m.insert("record".into(), TRAINING_FILE.into());
    serde_json::Value::Object(m)
}
