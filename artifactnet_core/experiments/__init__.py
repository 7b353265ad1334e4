"""The experiments behind the notebooks: training, evaluation, baselines, figures and cards.

Built on the detector (:mod:`artifactnet_core.detector`) and the benchmark
(:mod:`artifactnet_core.bench`); never imported by either.
"""
