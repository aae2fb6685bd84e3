#!/usr/bin/env bash
# Screenshot of the review app on the demo clip, under Xvfb (software OpenGL, Mesa llvmpipe):
#   packaging/screenshot.sh VIGIL_BINARY DEMO_CLIP OUT.png
# The app opens a case file made here: the demo clip, one incident mark on the flagged span,
# the cursor on the peak and the timeline zoomed around it, so the picture shows what an analyst
# sees after pressing N and marking the span.
set -euo pipefail
vigil=${1:?usage: screenshot.sh VIGIL DEMO_CLIP OUT.png}
clip=$(realpath "${2:?}")
out=${3:?}

need=()
for p in xvfb xauth libgl1-mesa-dri libegl1 libgl1; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cache=${VIGIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}
work=$(mktemp -d)
trap 'kill ${app:-} ${xvfb:-} 2>/dev/null || true; rm -rf "$work"' EXIT

# Scores first (instant when `make demo` has run), so the app shows them at once.
VIGIL_CACHE_DIR=$cache "$vigil" score --json "$clip" > "$work/scores.json"
python3 - "$clip" "$work/scores.json" "$work/case.vigil.json" <<'PY'
import hashlib, json, sys
clip, scores, case_path = sys.argv[1:]
r = json.load(open(scores))
peak = r["peaks"][0]
first = r["clips"][peak["first_clip"]]
last = r["clips"][peak["last_clip"]]
case = {
    "version": 1,
    "files": [{"path": clip, "sha256": r["video"]["sha256"], "frames": r["video"]["frames"],
               "scores_model": r["model"]["id"]}],
    "marks": [{"file_sha256": r["video"]["sha256"], "start_s": peak["start_s"], "end_s": peak["end_s"],
               "start_frame": first["start_frame"], "end_frame": last["end_frame"] - 1,
               "kind": "incident", "label": "Fire / explosion", "note": "demo: car swerves, fire, flash",
               "created_utc": "2026-11-29T12:00:00Z"}],
    "threshold": 0.5, "merge_gap_s": 2.0, "min_span_s": 0.0,
    "view": {"selected": 0, "position_s": peak["peak_s"], "timeline": [peak["start_s"] - 20, peak["end_s"] + 15]},
}
json.dump(case, open(case_path, "w"), indent=2)
PY

export DISPLAY=:97
Xvfb "$DISPLAY" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
sleep 1
# A private HOME keeps the run from touching the user's recent files and preferences.
HOME="$work" XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" VIGIL_CACHE_DIR=$cache \
  LIBGL_ALWAYS_SOFTWARE=1 "$vigil" open --case "$work/case.vigil.json" > "$work/app.log" 2>&1 &
app=$!
sleep "${SCREENSHOT_WAIT:-8}"
mkdir -p "$(dirname "$out")"
ffmpeg -nostdin -v error -y -f x11grab -video_size 1400x900 -i "$DISPLAY" -frames:v 1 "$out"
echo "screenshot: $out"
