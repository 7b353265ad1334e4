"""ArtifactBench-mini: an offline benchmark of real music and its regenerations by a zoo of
neural autoencoders, with the paper's track-level split and a generator-level zero-shot split.

- :func:`build_bench` builds (or resumes) a benchmark and returns its ``manifest.csv``;
- :func:`load_manifest` reads a manifest (ours or an external one converted by
  :mod:`artifactnet_core.bench.external`);
- :class:`BenchConfig` holds a profile's settings (``smoke``, ``laptop``, ``paper``).

Modules: :mod:`~.sources` (real music), :mod:`~.render` (scores to audio), :mod:`~.clips`,
:mod:`~.splits`, :mod:`~.manifest`, :mod:`~.external`, :mod:`~.build`, :mod:`~.zoo` (generators).
Importing this package is cheap: torch and music21 load only when a build needs them.

Taught in notebook ``02_artifactbench``.
"""

from artifactnet_core.bench.build import (
           PROFILES,
           BenchConfig,
           bench_dir,
           build_bench,
           generator_training_clips,
)
from artifactnet_core.bench.manifest import (
           check_split_disjointness,
           load_manifest,
           validate_manifest,
)

__all__ = ["PROFILES", "BenchConfig", "bench_dir", "build_bench", "check_split_disjointness",
           "generator_training_clips", "load_manifest", "validate_manifest"]
