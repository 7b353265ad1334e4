"""The detector a practitioner needs: audio in, P(AI) out.

Runtime needs only torch, numpy, soundfile, PyAV, soxr, safetensors and tqdm; nothing here
imports the benchmark (:mod:`artifactnet_core.bench`) or the experiments
(:mod:`artifactnet_core.experiments`).

- :mod:`~.audio` and :mod:`~.codecs`: decoding, writing and lossy round trips;
- :mod:`~.spectral`: STFT, mel, dB, deltas and HPSS in plain torch;
- :mod:`~.unet`, :mod:`~.features`, :mod:`~.classifier`, :mod:`~.model`: the network;
- :mod:`~.detect`: scoring files.
"""
