"""ArtifactBench-mini: an offline benchmark of real music and its regenerations by a zoo of
neural autoencoders, with the paper's track-level split and a generator-level zero-shot split.

- :func:`build_bench` builds (or resumes) a benchmark from a :class:`BenchConfig` and returns
  its ``manifest.csv`` (the configs of the profiles are in :mod:`artifactnet_core.profiles`);
- :func:`load_manifest` reads a manifest (ours or an external one converted by
  :mod:`artifactnet_core.bench.external`).

Modules: :mod:`~.config`, :mod:`~.sources` (real music), :mod:`~.render` (scores to audio),
:mod:`~.clips`, :mod:`~.splits`, :mod:`~.manifest`, :mod:`~.external`, :mod:`~.build`,
:mod:`~.zoo` (generators). Importing this package is cheap: the build and its dependencies
(pandas, torch, music21) load when first used.

Taught in notebook ``02_artifactbench``.
"""

from artifactnet_core.bench.config import BenchConfig, ZooBudget

__all__ = ["BenchConfig", "ZooBudget", "bench_dir", "build_bench", "check_split_disjointness",
           "generator_training_clips", "load_manifest", "validate_manifest"]

_LAZY = {"bench_dir": "build", "build_bench": "build", "generator_training_clips": "build",
         "check_split_disjointness": "manifest", "load_manifest": "manifest",
         "validate_manifest": "manifest"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"artifactnet_core.bench.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'artifactnet_core.bench' has no attribute {name!r}")
