#!/usr/bin/env python3
"""What would local I3D features or a motion channel buy the training-free scorer? (issue 12)

An experiment, not product code: it re-implements vigil's within-file novelty rule in numpy
(L2-normalised features; distance = 1 - mean cosine similarity of the k = 5 most similar clips
more than 8 s away, the window shrunk to a quarter of short files; z = (d - median) / max(q90 -
median, 0.0125); flagged at z >= 2.75) and applies it to descriptors vigil does not compute
today, on the kit's test split:

- i3d global:  Mixed_5c averaged over time and space (what vigil caches). This row checks the
               re-implementation against vigil's own `vigil eval` figures for the novelty scorer.
- i3d grid GxG: Mixed_5c averaged over time, then over a GxG grid of (overlapping) cells; each
               cell scored against the same cell in the file's other clips; per clip the largest
               cell z, re-calibrated within the file (median, q90 spread, floor 0.5).
- i3d cells 7x7: the same with every one of Mixed_5c's 49 positions.
- motion GxG:  no network: each clip's 8 frames at 15 fps (every other frame of 16 at 30 fps)
               stretched to 112x112 grey, mean luma in GxG cells, mean absolute change between
               consecutive frames per cell, log1p, centred on the file's mean; novelty as above.
- max(motion 7x7, i3d global): the larger of the two z per clip.

Frames are decoded with the ffmpeg command line and stretched with bilinear scaling (vigil uses
FFmpeg's scaler too, but through its own decode path), clips are consecutive 16-frame blocks.
Prints pooled frame AUC, mean per-video AUC, incidents flagged, false alarms on normal videos
and the mean per-video AUC per class. The Mixed_5c maps are cached (float16) in --cache; the
first run costs ~0.45 s of I3D per clip on 2 cores (the kit's test split: ~10 minutes).

    make bench-features            # or:
    python benches/feature_ceiling.py --kit .deps/kit \
        --onnx .deps/packs/i3d-k400-base/i3d_k400_rgb.onnx --cache .deps/feature-ceiling
"""

import argparse
import os
import subprocess
import sys

import numpy as np

CLIP = 16
K = 5
EXCLUSION_CLIPS = 8.0 / (CLIP / 30.0)
Z_FLAG = 2.75


def auc(scores, labels):
    """Area under the ROC curve (Mann-Whitney, ties averaged)."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels, bool)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j + 2) / 2.0
        i = j + 1
    npos = int(y.sum())
    nneg = len(y) - npos
    return (ranks[y].sum() - npos * (npos + 1) / 2.0) / (npos * nneg)


def novelty_distance(x):
    x = x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)
    n = len(x)
    sims = x @ x.T
    excl = min(EXCLUSION_CLIPS, n / 4.0)
    idx = np.arange(n)
    near = np.abs(idx[:, None] - idx[None, :]) <= excl
    sims = np.where(near, -np.inf, sims)
    k = int(min(K, max(1, (~near).sum(1).min())))
    return 1.0 - (-np.sort(-sims, axis=1)[:, :k]).mean(1)


def calibrate(d, floor=0.0125):
    med = np.median(d)
    return (d - med) / max(np.quantile(d, 0.9) - med, floor)


def cells(maps, g):
    """(n, 1024, 7, 7) -> (n, cells, 1024)."""
    n = maps.shape[0]
    if g == 1:
        return maps.mean((2, 3))[:, None, :]
    if g == 7:
        return maps.reshape(n, 1024, 49).transpose(0, 2, 1)
    edges = {2: [(0, 4), (3, 7)], 3: [(0, 3), (2, 5), (4, 7)]}[g]
    return np.stack([maps[:, :, a:b, c:d].mean((2, 3)) for a, b in edges for c, d in edges], 1)


def i3d_z(maps, g):
    c = cells(maps.astype(np.float32), g)
    z = np.stack([calibrate(novelty_distance(c[:, i])) for i in range(c.shape[1])], 1)
    if g == 1:
        return z[:, 0]
    return calibrate(z.max(1), floor=0.5)


def motion_z(grey, g):
    n = len(grey) // CLIP
    luma = grey[: n * CLIP].reshape(n, CLIP, 112, 112)[:, ::2]
    s = 112 // g
    grid = luma[:, :, : g * s, : g * s].reshape(n, 8, g, s, g, s).mean((3, 5))
    energy = np.log1p(np.abs(np.diff(grid, axis=1)).mean(1).reshape(n, g * g))
    return calibrate(novelty_distance(energy - energy.mean(0)))


def decode(path, size, fmt, channels):
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-vf", f"scale={size}:{size}:flags=bilinear",
         "-pix_fmt", fmt, "-f", "rawvideo", "-"],
        capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, size, size, channels)


def mixed_5c_maps(session, map_name, path, cache):
    out = os.path.join(cache, os.path.basename(path) + ".npy")
    if os.path.exists(out):
        return np.load(out)
    frames = decode(path, 224, "rgb24", 3)
    n = len(frames) // CLIP
    clips = frames[: n * CLIP].reshape(n, CLIP, 224, 224, 3).transpose(0, 4, 1, 2, 3)
    maps = []
    for i in range(0, n, 4):
        x = clips[i : i + 4].astype(np.float32) * 0.007843138 - 1.0
        maps.append(session.run([map_name], {"clips": x})[0].mean(axis=2))
    result = np.concatenate(maps).astype(np.float16)
    tmp = out + ".partial.npy"
    np.save(tmp, result)
    os.replace(tmp, out)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kit", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--cache", required=True)
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    model = onnx.load(args.onnx)
    pool = [n for n in model.graph.node if n.name == "Logits/avg_pool"]
    if not pool:
        sys.exit(f"{args.onnx}: no Logits/avg_pool node (not vigil's converted I3D)")
    map_name = pool[0].input[0]
    model.graph.output.append(helper.make_tensor_value_info(map_name, TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 2
    session = ort.InferenceSession(model.SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"])
    os.makedirs(args.cache, exist_ok=True)

    truth = {}
    with open(os.path.join(args.kit, "test-annotations.txt")) as f:
        for line in f:
            p = line.split()
            truth[os.path.basename(p[0])] = (int(p[1]), p[2], [int(v) for v in p[3:]])
    with open(os.path.join(args.kit, "test.txt")) as f:
        videos = [line.split()[0] for line in f if line.strip()]

    rows = ["i3d global", "i3d grid 2x2", "i3d grid 3x3", "i3d cells 7x7", "motion 4x4",
            "motion 7x7", "motion 14x14", "max(motion 7x7, i3d global)"]
    acc = {r: {"s": [], "y": [], "pv": [], "cls": {}, "flag": 0, "fa": 0, "nf": 0} for r in rows}
    for v in videos:
        path = os.path.join(args.kit, v)
        frames, cls, spans = truth[os.path.basename(v)]
        y = np.zeros(frames, bool)
        for a, b in zip(spans[0::2], spans[1::2]):
            if a >= 0:
                y[a : b + 1] = True
        maps = mixed_5c_maps(session, map_name, path, args.cache)
        grey = decode(path, 112, "gray", 1)[..., 0].astype(np.float32)
        z = {"i3d global": i3d_z(maps, 1), "i3d grid 2x2": i3d_z(maps, 2),
             "i3d grid 3x3": i3d_z(maps, 3), "i3d cells 7x7": i3d_z(maps, 7),
             "motion 4x4": motion_z(grey, 4), "motion 7x7": motion_z(grey, 7),
             "motion 14x14": motion_z(grey, 14)}
        z["max(motion 7x7, i3d global)"] = np.maximum(z["motion 7x7"], z["i3d global"])
        for r in rows:
            per_frame = z[r][np.minimum(np.arange(frames) // CLIP, len(z[r]) - 1)]
            a = acc[r]
            a["s"].append(per_frame)
            a["y"].append(y)
            if y.any():
                a["pv"].append(auc(per_frame, y))
                a["cls"].setdefault(cls, []).append(a["pv"][-1])
                a["flag"] += int((per_frame[y] >= Z_FLAG).any())
            else:
                a["fa"] += int((per_frame >= Z_FLAG).sum())
                a["nf"] += frames
        print(f"{v}: {len(maps)} clips", file=sys.stderr, flush=True)

    classes = sorted({c for a in acc.values() for c in a["cls"]})
    print("| descriptor | pooled AUC | mean per-video AUC | incidents flagged | FAR at z 2.75 | "
          + " | ".join(classes) + " |")
    print("|---" * (5 + len(classes)) + "|")
    for r in rows:
        a = acc[r]
        pooled = auc(np.concatenate(a["s"]), np.concatenate(a["y"]))
        per_class = " | ".join(f"{100 * np.mean(a['cls'][c]):.1f}" for c in classes)
        print(f"| {r} | {100 * pooled:.2f} | {100 * np.mean(a['pv']):.2f} | "
              f"{a['flag']}/{len(a['pv'])} | {100 * a['fa'] / max(1, a['nf']):.2f} | {per_class} |")


if __name__ == "__main__":
    main()
