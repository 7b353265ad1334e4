"""ArtifactNet companion: detecting AI-generated music via forensic residual physics.

A thin library behind the numbered notebooks in ``notebooks/``:

- :mod:`artifactnet_core.detector.audio` and :mod:`artifactnet_core.detector.codecs`: decoding, writing and lossy
  round-trips of audio (notebook 00, 05);
- :mod:`artifactnet_core.detector.spectral`: STFT, mel, dB and HPSS in plain torch (notebook 01);
- :mod:`artifactnet_core.detector.unet`, :mod:`artifactnet_core.detector.features`,
  :mod:`artifactnet_core.detector.classifier` and :mod:`artifactnet_core.detector.model`: the detector (notebook 03);
- :mod:`artifactnet_core.detector.detect` and :mod:`artifactnet_core.cli`: the ``artifactnet`` command.
"""

import os as _os

# OpenMP threads that spin while waiting make torch 20-100x slower on a machine whose cores are
# shared with another busy process (Binder, Colab, a laptop running a browser; measured on the
# 2-core CI machine). Passive waiting costs little when the machine is idle. It must be set
# before torch starts its thread pool, so it is set here, before any submodule imports torch;
# a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
