# ArtifactNet companion. Two commands do everything on a fresh Linux machine:
#   make reproduce   build ArtifactBench-mini, train, evaluate, regenerate every figure and table
#   make test        the test suite (unit tests + every notebook in the smoke profile)
# Both create or reuse the virtualenv .venv and install what they need, Debian packages included.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
# Debian packages: the real-music sources of ArtifactBench-mini and its renderers.
DEB_PACKAGES := fluidsynth fluid-soundfont-gm wesnoth-1.16-music warzone2100-music \
	singularity-music nexuiz-music planetblupi-music-ogg csound-soundfont openttd-openmsx mma \
	pingus-data openmpt123
# tcmalloc (see RUN below); optional: renamed libtcmalloc-minimal4t64 from Debian 13 / Ubuntu 24.04.
MALLOC_PACKAGES := libtcmalloc-minimal4 libtcmalloc-minimal4t64
# smoke | laptop | paper; `make reproduce` picks paper on a CUDA machine, laptop otherwise.
PROFILE ?= auto
SEED ?= 0
# torch's OpenMP threads must not spin-wait on a machine shared with other processes (see
# artifactnet_core/__init__.py).
export OMP_WAIT_POLICY ?= PASSIVE
# tcmalloc (Debian's libtcmalloc-minimal4, which sysdeps installs) in place of glibc's malloc for
# the Python processes started here and everything they start (notebook kernels, workers): glibc
# returns every block over 32 MB to the kernel on free, so each full-resolution map of a chunk is
# page-faulted in afresh; tcmalloc reuses it. Same bits; scoring ran 1.4x faster on 2 cores, a
# whole laptop run (two processes at once) not measurably (artifactnet_core/allocator.py;
# `make speed` prints the ratio). No library, or ARTIFACTNET_TCMALLOC=0: glibc's malloc.
# Expanded when a recipe runs, so after venv and sysdeps.
RUN = $(shell $(PY) -m artifactnet_core.allocator 2>/dev/null) $(PY)

.PHONY: all reproduce test lint sysdeps venv notebooks sync-notebooks bench speed lab clean help

help:
	@echo "make reproduce  - build the benchmark, train, evaluate, regenerate figures/ (PROFILE=$(PROFILE))"
	@echo "make test       - lint + unit tests + all notebooks in the smoke profile"
	@echo "make notebooks  - run the notebooks only (PROFILE=...)"
	@echo "make lab        - open the notebooks in JupyterLab from .venv"
	@echo "make sync-notebooks - regenerate notebooks/*.ipynb from the jupytext .py sources"
	@echo "make speed      - every CPU inference path side by side: real-time factor, gain, % of matmul peak"

# uv resolves and installs the same requirements as pip about 5x faster (a fresh install on the
# 2-core CI machine: 189 s with pip, 50 s with uv); pip does it where uv cannot be installed.
# uv does not read pip's configuration, so pip's find-links (where a machine keeps its CPU torch
# wheel) are passed on.
UV_FLAGS := $(foreach d,$(PIP_FIND_LINKS),--find-links $(d))
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch is pinned here (a CPU wheel); an unpinned torch pulls a multi-GB CUDA build.
	if $(PY) -m pip install --quiet uv; then \
		$(VENV)/bin/uv pip install --quiet --python $(PY) $(UV_FLAGS) -e ".[all]" \
			"torch==$(TORCH_VERSION)"; \
	else \
		$(PY) -m pip install --quiet --upgrade pip && \
		$(PY) -m pip install --quiet -e ".[all]" "torch==$(TORCH_VERSION)"; \
	fi
	touch $@

venv: $(VENV)/.installed

sysdeps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
	else \
		echo "NOTE: Debian packages missing:$$missing"; \
		echo "  install them with: sudo apt-get install$$missing"; \
		echo "  (without root, the benchmark builder unpacks them into its cache with apt-get download)"; \
	fi
	@dpkg -s $(MALLOC_PACKAGES) 2>/dev/null | grep -q "^Status: install ok" || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq >/dev/null 2>&1; \
			for p in $(MALLOC_PACKAGES); do \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
					$$p >/dev/null 2>&1 && break; done; \
		fi; \
		dpkg -s $(MALLOC_PACKAGES) 2>/dev/null | grep -q "^Status: install ok" || \
			echo "NOTE: no tcmalloc (apt-get install libtcmalloc-minimal4): glibc's malloc, slower"; }

lint: venv
	$(VENV)/bin/ruff check .

test: venv sysdeps lint
	$(RUN) -m pytest -q --durations=10

bench: venv sysdeps
	$(RUN) -m artifactnet_core.cli bench build --profile $(PROFILE)

notebooks: venv sysdeps
	$(RUN) -m artifactnet_core.experiments.runner run --profile $(PROFILE) --seed $(SEED)

# The full run: the chosen detector exported as the package's weights, every notebook, then
# the README's results block and the notebook timings from what the notebooks wrote. Two
# notebooks at a time once the benchmark and the default detector exist (runner.run's `jobs`):
# much of a kernel's time is single-threaded Python, so on 2 cores this shortens the smoke run
# (`make test` runs it so); a whole laptop run has not been timed both ways yet. The worker
# that runs out of notebooks trains 07's leave-one-family-out detectors ahead of it
# (runner.AHEAD): 07 is the longest notebook and used to run alone at the end.
# --resume: a notebook already executed to the end with the same parameters and sources is not
# run again, so an interrupted run picks up where it stopped (what the rest compute is cached).
REPRODUCE_JOBS ?= 2
reproduce: venv sysdeps
	$(RUN) -m artifactnet_core.experiments.runner run --profile $(PROFILE) --seed $(SEED) \
		--export-weights --jobs $(REPRODUCE_JOBS) --resume
	$(RUN) -m artifactnet_core.experiments.report --results

# Every CPU inference path side by side (a minute or two; the first run also exports ONNX).
speed: venv
	$(RUN) benchmarks/speed.py

# JupyterLab (the `notebooks` extra) from the project's own environment, on notebooks/.
lab: venv
	$(VENV)/bin/jupyter lab notebooks/

sync-notebooks: venv
	$(PY) -m artifactnet_core.experiments.runner sync

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
