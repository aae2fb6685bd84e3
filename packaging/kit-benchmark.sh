#!/usr/bin/env bash
# Builds the default model pack's trained head from scratch, deterministically, and judges it:
#
#   1. `vigil kit`: render the synthetic benchmark (train/test split, frame ground truth);
#   2. `vigil features`: I3D clip features and 32-segment bags of both splits (cached);
#   3. `vigil train`: three heads on the training split, the paper's Table 3 rows:
#      binary classifier, MIL without constraints (λ1 = λ2 = 0), MIL with constraints;
#   4. `vigil score` + `vigil eval`: every head and the novelty scorer on the test split,
#      frame-level ROC AUC and the false-alarm rate at 0.5 on normal videos (Table 4);
#   5. `vigil pack`: the base pack + the MIL head → OUT;
#   6. `vigil bank add`: the training split's normal videos become OUT's normal bank, which
#      gives it the fused scorer (within-file novelty and the bank); judged like the others;
#   7. the default scorer: the highest test AUC of novelty, MIL head and fused.
#
# Usage: kit-benchmark.sh VIGIL BASE_PACK KIT_DIR OUT_PACK
# Environment: KIT_ITERATIONS (default 2000), KIT_SEED (7), TRAIN_SEED (1), KIT_ARGS (extra
# `vigil kit` options, e.g. a smaller kit), STAGE_LABEL (how the step timings are named).
set -euo pipefail
vigil=${1:?usage: kit-benchmark.sh VIGIL BASE_PACK KIT_DIR OUT_PACK}
base=${2:?}
kit=${3:?}
out=${4:?}
iters=${KIT_ITERATIONS:-2000}
py=${PYTHON:-python3}
# Each step says how long it took (and .deps/stages.tsv keeps it for `make bench`).
stage="$(dirname "${BASH_SOURCE[0]}")/stage.sh"
label=${STAGE_LABEL:-models}

if [[ ! -f $kit/kit.json ]]; then
  # shellcheck disable=SC2086
  "$stage" "$label: kit" "$vigil" kit -o "$kit" --seed "${KIT_SEED:-7}" ${KIT_ARGS:-}
fi
for split in train test; do
  if [[ ! -f $kit/features/$split/features.json ]]; then
    "$stage" "$label: features $split" \
      "$vigil" features --model "$base" --labels "$kit/$split.txt" -o "$kit/features/$split"
  fi
done
grep '/test_' "$kit/annotations.txt" >"$kit/test-annotations.txt"
mapfile -t test_videos < <(awk '{print $1}' "$kit/test.txt" | sed "s|^|$kit/|")
# Figure 8 follows the first anomalous training video.
track=$(awk '$2 == "anomalous" {print $1; exit}' "$kit/train.txt" | xargs -I{} basename {} .mp4)

mkdir -p "$kit/scores" "$kit/eval"
train_head() { # name, extra train options...
  local name=$1
  shift
  if [[ ! -f $kit/heads/$name/manifest.json ]]; then
    "$stage" "$label: train $name" "$vigil" train --features "$kit/features/train" --out "$kit/heads/$name" \
      --seed "${TRAIN_SEED:-1}" --iterations "$iters" --checkpoint-every 0 \
      --val-features "$kit/features/test" --val-annotations "$kit/annotations.txt" \
      --eval-every 250 --track "$track" "$@"
  fi
}
train_head binary --objective binary --lambda1 0 --lambda2 0
train_head mil-no-constraints --lambda1 0 --lambda2 0
train_head mil

judge() { # name, score options...
  local name=$1
  shift
  "$stage" "$label: score $name" \
    "$vigil" score "$@" --json -o "$kit/scores/$name.jsonl" "${test_videos[@]}" >/dev/null
  "$vigil" eval --scores "$kit/scores/$name.jsonl" --annotations "$kit/test-annotations.txt" \
    --json --roc-png "$kit/eval/$name-roc.png" >"$kit/eval/$name.json"
}
judge binary --model "$kit/heads/binary" --scorer mil_head
judge novelty --model "$base" --scorer novelty
judge mil-no-constraints --model "$kit/heads/mil-no-constraints" --scorer mil_head
judge mil --model "$kit/heads/mil" --scorer mil_head

# The pack, its normal bank (the training split's normal videos: never a test video) and the
# fused scorer the bank brings, judged on the test split like the others.
"$vigil" pack --base "$base" --head "$kit/heads/mil" --out "$out" --default novelty \
  --name "I3D RGB (Kinetics-400) features; the novelty scorer, a normal bank and the fused scorer, and the paper's MIL head trained on vigil's kit" >/dev/null
"$stage" "$label: bank" "$vigil" bank add "$kit/train.txt" --model "$out"
# The evidence for the fused scorer's rule: the ways of combining its parts, on the training
# split, each video against the bank without its own clips.
"$vigil" bank rules --features "$kit/features/train" --annotations "$kit/annotations.txt" \
  --model "$out" --json >"$kit/eval/fusion-rules.json"
judge fused --model "$out" --scorer fused

# The table, and the default scorer by test AUC.
"$py" - "$kit" <<'EOF' >"$kit/benchmark.env"
import json, sys
kit = sys.argv[1]
rows = [("binary", "Binary classifier (every segment labelled with its video's label)"),
        ("novelty", "Novelty scorer (training-free, vigil's)"),
        ("mil-no-constraints", "MIL ranking loss without constraints (λ1 = λ2 = 0)"),
        ("mil", "MIL ranking loss with constraints (λ1 = λ2 = 8e-5)"),
        ("fused", "Fused: novelty (trimmed) and the normal bank, both must flag")]
table = []
for key, label in rows:
    r = json.load(open(f"{kit}/eval/{key}.json"))
    table.append({"method": key, "label": label, "auc": r["auc"], "far": r["far"],
                  "average_precision": r["average_precision"], "n_frames": r["n_frames"],
                  "n_videos": r["n_videos"], "mean_video_auc": r["mean_video_auc"],
                  "incidents": r["incidents"], "incidents_flagged": r["incidents_flagged"],
                  "per_class": r["per_class"]})
kitcfg = json.load(open(f"{kit}/kit.json"))["config"]
rules = json.load(open(f"{kit}/eval/fusion-rules.json"))
json.dump({"kit": kitcfg, "table": table, "fusion_rules_train": rules},
          open(f"{kit}/benchmark.json", "w"), indent=2)
pct = lambda x: "–" if x is None else f"{100*x:.2f}"
with open(f"{kit}/benchmark.md", "w") as f:
    f.write("| Method | Frame AUC (%) | Mean per-video AUC (%) | False alarms at 0.5 on normal videos (%) | Incidents flagged |\n|---|---:|---:|---:|---:|\n")
    for t in table:
        f.write(f"| {t['label']} | {pct(t['auc'])} | {pct(t['mean_video_auc'])} | {pct(t['far'])} | "
                f"{t['incidents_flagged']}/{t['incidents']} |\n")
    classes = [c["class"] for c in table[0]["per_class"]]
    f.write("\nPer class (test split): mean per-video AUC (%) / incidents flagged; for Normal, frames ≥ 0.5 (%)\n\n")
    f.write("| Method | " + " | ".join(classes) + " |\n|---|" + "---:|" * len(classes) + "\n")
    for t in table:
        cells = []
        for c in t["per_class"]:
            if c["class"] == "Normal":
                cells.append(f"{100*c['flagged_share']:.2f}")
            else:
                cells.append(f"{pct(c['mean_auc'])} / {c['incidents_flagged']}/{c['incidents']}")
        f.write(f"| {t['method']} | " + " | ".join(cells) + " |\n")
    f.write("\nThe fused scorer's rule, compared on the training split (`vigil bank rules`):\n\n")
    f.write("| Rule | Frame AUC (%) | Mean per-video AUC (%) | False alarms (%) | Incidents flagged |\n|---|---:|---:|---:|---:|\n")
    for r in rules:
        f.write(f"| {r['rule']} | {pct(r['auc'])} | {pct(r['mean_video_auc'])} | {pct(r['far'])} | "
                f"{r['incidents_flagged']}/{r['incidents']} |\n")
by = {t["method"]: t for t in table}
names = {"novelty": "novelty", "mil": "mil-head", "fused": "fused"}
best = max(["novelty", "mil", "fused"], key=lambda k: by[k]["auc"])
default = names[best]
n = by["novelty"]
reason = (f"kit test split ({n['n_videos']} videos, {n['n_frames']} frames): "
          + "; ".join(f"{k} AUC {100*by[k]['auc']:.2f} %, false alarms {100*by[k]['far']:.2f} %, "
                      f"incidents flagged {by[k]['incidents_flagged']}/{by[k]['incidents']}"
                      for k in ["novelty", "mil", "fused"])
          + "; the highest AUC is the default")
print(f"default={default}")
print(f"reason={json.dumps(reason)}")
EOF
# shellcheck disable=SC1090,SC1091
source "$kit/benchmark.env"
cat "$kit/benchmark.md"
"$vigil" pack --base "$out" --head "$kit/heads/mil" --out "$out" --default "$default" \
  --reason "$reason" \
  --name "I3D RGB (Kinetics-400) features; the novelty scorer, a normal bank and the fused scorer, and the paper's MIL head trained on vigil's kit"
cp "$kit/benchmark.json" "$kit/benchmark.md" "$out/"
cp "$kit/heads/mil/figure8.png" "$out/figure8.png"
cp "$kit/eval/mil-roc.png" "$out/roc-mil.png"
