"""Baselines trained and tested under the same conditions as ArtifactNet.

- :mod:`.fakeprint`: the Fourier "fakeprint" + logistic regression of Afchar et al. (ISMIR 2025).
- :mod:`.spectttra`: SpecTTTra-α, the spectro-temporal transformer of SONICS (ICLR 2025).

Taught in notebook ``06_baselines``.
"""

from artifactnet_core.experiments.baselines.fakeprint import (
    FakeprintDetector,
    fakeprint,
    fakeprint_frequencies,
    fakeprints,
)
from artifactnet_core.experiments.baselines.spectttra import (
    SpecTTTra,
    SpecTTTraConfig,
    load_spectttra,
    predict_spectttra,
    save_spectttra,
    spectttra_inputs,
    train_spectttra,
)

__all__ = [
    "FakeprintDetector",
    "SpecTTTra",
    "SpecTTTraConfig",
    "fakeprint",
    "fakeprint_frequencies",
    "fakeprints",
    "load_spectttra",
    "predict_spectttra",
    "save_spectttra",
    "spectttra_inputs",
    "train_spectttra",
]
