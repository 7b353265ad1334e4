"""ArtifactNet companion: detecting AI-generated music via forensic residual physics.

A thin library behind the numbered notebooks in ``notebooks/``:

- :mod:`artifactnet_core.audio` and :mod:`artifactnet_core.codecs`: decoding, writing and lossy
  round-trips of audio (notebook 00, 05);
- :mod:`artifactnet_core.spectral`: STFT, mel, dB and HPSS in plain torch (notebook 01);
- :mod:`artifactnet_core.unet`, :mod:`artifactnet_core.features`,
  :mod:`artifactnet_core.classifier` and :mod:`artifactnet_core.model`: the detector (notebook 03);
- :mod:`artifactnet_core.detect` and :mod:`artifactnet_core.cli`: the ``artifactnet`` command.
"""

__version__ = "0.1.0"
