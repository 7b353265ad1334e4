"""ArtifactNet companion: detecting AI-generated music via forensic residual physics.

A thin library behind the numbered notebooks in ``notebooks/``:

- :mod:`artifactnet_core.detector.audio` and :mod:`artifactnet_core.detector.codecs`: decoding, writing and lossy
  round-trips of audio (notebook 00, 05);
- :mod:`artifactnet_core.detector.spectral`: STFT, mel, dB and HPSS in plain torch (notebook 01);
- :mod:`artifactnet_core.detector.unet`, :mod:`artifactnet_core.detector.features`,
  :mod:`artifactnet_core.detector.classifier` and :mod:`artifactnet_core.detector.model`: the detector (notebook 03);
- :mod:`artifactnet_core.detector.detect` and :mod:`artifactnet_core.cli`: the ``artifactnet`` command;
- :func:`load_detector` (:mod:`artifactnet_core.detector.api`): the detector from Python.

``import artifactnet_core`` stays light: ``load_detector`` imports torch on first use.
"""

import os as _os

# OpenMP threads that spin while waiting make torch 20-100x slower on a machine whose cores are
# shared with another busy process (Binder, Colab, a laptop running a browser; measured on the
# 2-core CI machine). Passive waiting costs little when the machine is idle. It must be set
# before torch starts its thread pool, so it is set here, before any submodule imports torch;
# a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy, so that importing the package (the CLI's --help, the profiles) does not load torch.
    if name == "load_detector":
        from artifactnet_core.detector.api import load_detector

        return load_detector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["__version__", "load_detector"]
