#!/usr/bin/env bash
# One-time, idempotent set-up for building and running vigil from this checkout.
#
#   packaging/setup.sh            Debian packages, Rust check, ONNX Runtime (CPU), Python venv
#   packaging/setup.sh --gpu      also the CUDA build of ONNX Runtime (PyPI onnxruntime-gpu)
#
# Everything it downloads lands in .deps/ inside the checkout (ignored by git). Each step checks
# first and does no network work when its result is already there, so a second run takes seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS="$ROOT/.deps"
# Pinned so that every checkout runs the same ONNX Runtime; ort 2.0.0-rc.15 (api-31) needs >= 1.31.
ORT_VERSION=1.32.0
NUMPY_VERSION=2.4.6
ONNX_VERSION=1.23.2

APT_PACKAGES=(
  pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev
  libswresample-dev
  ffmpeg python3 python3-venv ca-certificates curl
)

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_step() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if ! command -v apt-get >/dev/null; then
    say "missing system packages (${missing[*]}) and no apt-get: install them with your package manager"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

rust_step() {
  if command -v cargo >/dev/null; then return; fi
  if [ -x "$HOME/.cargo/bin/cargo" ]; then return; fi
  say "installing the Rust toolchain with rustup (vigil needs Rust >= 1.95)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
}

venv_step() {
  local py="$DEPS/venv/bin/python"
  local stamp="$DEPS/venv/.vigil-numpy-$NUMPY_VERSION-onnx-$ONNX_VERSION"
  if [ -f "$stamp" ]; then return; fi
  say "creating the Python environment for model conversion (.deps/venv)"
  mkdir -p "$DEPS"
  python3 -m venv "$DEPS/venv"
  "$py" -m pip install -q --disable-pip-version-check "numpy==$NUMPY_VERSION" "onnx==$ONNX_VERSION"
  touch "$stamp"
}

# Extracts libonnxruntime.so* from a PyPI wheel into $2. The wheel's Python bindings are not
# used: vigil loads the shared library through the `ort` crate's load-dynamic.
ort_from_wheel() {
  local package=$1 dest=$2 arch platform
  arch=$(uname -m)
  case "$arch" in
    x86_64) platform=manylinux_2_28_x86_64 ;;
    aarch64) platform=manylinux_2_28_aarch64 ;;
    *) say "no ONNX Runtime wheel for $arch"; exit 1 ;;
  esac
  local tmp
  tmp=$(mktemp -d "$DEPS/.wheel.XXXXXX")
  say "fetching $package $ORT_VERSION from PyPI"
  "$DEPS/venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps \
    --only-binary=:all: --platform "$platform" --python-version 3.11 \
    "$package==$ORT_VERSION" -d "$tmp"
  mkdir -p "$tmp/lib"
  "$DEPS/venv/bin/python" - "$tmp" <<'PY'
import pathlib, sys, zipfile
tmp = pathlib.Path(sys.argv[1])
(wheel,) = tmp.glob("*.whl")
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = name.rsplit("/", 1)[-1]
        if "/capi/" in name and base.startswith("libonnxruntime") and ".so" in base:
            (tmp / "lib" / base).write_bytes(z.read(name))
PY
  local main
  main=$(ls "$tmp"/lib/libonnxruntime.so.* 2>/dev/null | head -n1 || true)
  if [ -z "$main" ]; then say "the $package wheel holds no libonnxruntime.so"; exit 1; fi
  ln -sf "$(basename "$main")" "$tmp/lib/libonnxruntime.so"
  rm -rf "$dest"
  mv "$tmp/lib" "$dest"
  rm -rf "$tmp"
}

ort_step() {
  local dest="$DEPS/onnxruntime-$ORT_VERSION"
  if [ ! -e "$dest/libonnxruntime.so" ]; then
    ort_from_wheel onnxruntime "$dest"
  fi
  ln -sfn "onnxruntime-$ORT_VERSION" "$DEPS/onnxruntime"
}

ort_gpu_step() {
  local dest="$DEPS/onnxruntime-gpu-$ORT_VERSION"
  if [ ! -e "$dest/libonnxruntime.so" ]; then
    ort_from_wheel onnxruntime-gpu "$dest"
  fi
  ln -sfn "onnxruntime-gpu-$ORT_VERSION" "$DEPS/onnxruntime-gpu"
  say "CUDA build in .deps/onnxruntime-gpu; it also needs the NVIDIA driver, CUDA 12 and cuDNN 9 libraries"
  say "run with: ORT_DYLIB_PATH=$DEPS/onnxruntime-gpu/libonnxruntime.so vigil score --device cuda FILE"
}

apt_step
rust_step
venv_step
ort_step
if [ "${1:-}" = "--gpu" ]; then ort_gpu_step; fi
