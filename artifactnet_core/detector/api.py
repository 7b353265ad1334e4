"""The Python API: load a detector once, call it on files, arrays or lists of them.

.. code-block:: python

    from artifactnet_core import load_detector

    detector = load_detector()                  # the shipped weights, operating point fpr1
    result = detector("song.mp3")               # or detector(samples, sr=48_000), or a list
    result.p_ai, result.label, result.timeline  # score, label, (start s, P(AI)) per chunk
    result.as_pipeline_output()                 # [{"label": "ai", "score": ...}, ...]

A call runs exactly what ``artifactnet detect`` runs (:func:`~.detect.detect_file`): an array is
written to an in-memory WAV file and read back through the same decoder, so a file and its
samples get the same numbers. A problem with one input becomes its result's ``error``; nothing
is raised for bad audio.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from artifactnet_core.detector.calibration import (
    DEFAULT_OPERATING_POINT,
    OperatingPoint,
    resolve_operating_point,
)
from artifactnet_core.detector.detect import Detection, detect_file
from artifactnet_core.detector.model import ArtifactNet, default_weights, load_model

# An array whose shorter axis is at most this long, and first, is (channels, samples).
_MAX_CHANNELS_FIRST = 64


class Detector:
    """A loaded detector with its threshold; call it to score audio.

    Parameters
    ----------
    model : ArtifactNet
        The network (in eval mode, on its device).
    operating_point : str or None
        ``"fpr1"``, ``"fpr5"`` or ``"f1"``: which of the model's validation thresholds labels
        results (``None``: the config's threshold). Weights without operating points fall back
        to their config's threshold (``self.operating_point.note`` says so).
    threshold : float, optional
        A threshold of your own in [0, 1], instead of an operating point.
    max_chunks : int or None
        Score at most this many evenly spread 4 s chunks per input (``None``: all).
    batch_size : int
        Chunks per forward pass.
    """

    def __init__(self, model: ArtifactNet, *, operating_point: str | None = DEFAULT_OPERATING_POINT,
                 threshold: float | None = None, max_chunks: int | None = 16,
                 batch_size: int = 2):
        self.model = model.eval()
        self.operating_point: OperatingPoint = resolve_operating_point(
            model.config, operating_point, threshold)
        self.max_chunks = max_chunks
        self.batch_size = batch_size

    @property
    def threshold(self) -> float:
        """The decision threshold on P(AI) in use."""
        return self.operating_point.threshold

    def __repr__(self) -> str:
        return f"Detector({self.operating_point.describe()})"

    def __call__(self, audio: Any, sr: int | None = None, *, codec_check: bool = False,
                 max_chunks: int | None | str = "default") -> Detection | list[Detection]:
        """Score audio.

        Parameters
        ----------
        audio : path, array, (array, sr), bytes, binary file object, or a list of these
            A file path; mono ``(samples,)`` or multichannel samples (``(samples, channels)`` or
            ``(channels, samples)`` with the channels axis the shorter one) as a NumPy array or
            torch tensor, at ``sr``; the bytes or an open binary file of an encoded file. A
            list gives a list of results, one per item, in order.
        sr : int, optional
            Sample rate in Hz of arrays (required for an array not given as ``(array, sr)``).
        codec_check : bool
            Also score the MP3/AAC/Opus 128 kbit/s round trips: ``p_versions``,
            ``codec_delta`` and ``codec_unstable`` of each result.
        max_chunks : int or None
            Override the detector's ``max_chunks`` for this call.

        Returns
        -------
        Detection or list of Detection
            ``p_ai``, ``label``, ``duration_s``, ``timeline`` (per chunk), ``error``, the
            ``threshold`` and ``operating_point`` used, ``p_calibrated`` where the weights
            carry a calibration; :meth:`Detection.as_pipeline_output` gives the Hugging Face
            audio-classification shape.
        """
        chunks = self.max_chunks if max_chunks == "default" else max_chunks
        if isinstance(audio, list) or (isinstance(audio, tuple) and not _is_pair(audio)):
            return [self._one(item, sr, codec_check, chunks) for item in audio]
        return self._one(audio, sr, codec_check, chunks)

    def _one(self, audio: Any, sr: int | None, codec_check: bool,
             max_chunks: int | None) -> Detection:
        if _is_pair(audio):
            audio, sr = audio
        if isinstance(audio, str | os.PathLike):
            source, name = audio, os.fspath(audio)
        elif isinstance(audio, bytes | bytearray):
            source, name = io.BytesIO(bytes(audio)), "<bytes>"
        elif hasattr(audio, "read"):
            source, name = audio, getattr(audio, "name", None) or "<file object>"
        else:
            source, name = _as_wav(audio, sr), "<array>"
        return detect_file(source, self.model, max_chunks=max_chunks,
                           batch_size=self.batch_size, operating_point=self.operating_point,
                           codec_check=codec_check, name=str(name))


def _is_pair(item: Any) -> bool:
    return (isinstance(item, tuple) and len(item) == 2
            and isinstance(item[1], int | np.integer) and not isinstance(item[1], bool)
            and not isinstance(item[0], str | os.PathLike | bytes))


def _as_wav(audio: Any, sr: int | None) -> io.BytesIO:
    """Samples as an in-memory 32-bit float WAV file, so arrays take the files' path."""
    if sr is None:
        raise TypeError("an array needs its sample rate: detector(samples, sr=44_100)")
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer) or sr <= 0:
        raise ValueError(f"sr must be a positive integer (Hz), got {sr!r}")
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    x = np.asarray(audio)
    if x.dtype.kind not in "fiu" or x.ndim not in (1, 2):
        raise ValueError(f"audio must be a 1-D or 2-D array of numbers, got {x.dtype} "
                         f"{x.shape}")
    if x.ndim == 2 and x.shape[0] < x.shape[1] and x.shape[0] <= _MAX_CHANNELS_FIRST:
        x = x.T  # (channels, samples), as torch audio code holds it
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), int(sr), format="WAV", subtype="FLOAT")
    buf.seek(0)
    return buf


def load_detector(weights: str | os.PathLike | ArtifactNet | None = None, *,
                  device: str | torch.device | None = None,
                  operating_point: str | None = DEFAULT_OPERATING_POINT,
                  threshold: float | None = None, max_chunks: int | None = 16,
                  batch_size: int = 2) -> Detector:
    """Load a detector for scoring audio from Python. Taught in notebook ``00_quickstart``.

    Parameters
    ----------
    weights : path, ArtifactNet or None
        A ``.safetensors`` checkpoint (its ``.json`` beside it), a model already in memory, or
        ``None``: ``$ARTIFACTNET_WEIGHTS``, else the weights shipped in the package.
    device : str, optional
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``. Default: ``"auto"`` for weights
        loaded from a file; a model passed in stays where it is unless a device is given.
    operating_point : str or None
        ``"fpr1"`` (default: at most 1 % of real validation tracks flagged), ``"fpr5"``, ``"f1"``,
        or ``None`` for the config's threshold.
    threshold : float, optional
        A threshold of your own in [0, 1] instead.
    max_chunks : int or None
        Score at most this many evenly spread 4 s chunks per input (``None``: all).
    batch_size : int
        Chunks per forward pass.

    Raises
    ------
    FileNotFoundError
        No weights given and none shipped, or the given file is missing.
    ValueError
        Weights that cannot be used (the message names the file and the problem), an unknown
        device or operating point.
    """
    from artifactnet_core.runtime import resolve_device

    if isinstance(weights, ArtifactNet):
        model = weights if device is None else weights.to(resolve_device(device))
    else:
        dev = resolve_device(device)
        path = Path(weights) if weights is not None else default_weights()
        if path is None:
            raise FileNotFoundError("no trained weights: this installation ships none; pass "
                                    "weights=... or set ARTIFACTNET_WEIGHTS")
        model = load_model(path, device=dev)
    return Detector(model, operating_point=operating_point, threshold=threshold,
                    max_chunks=max_chunks, batch_size=batch_size)


__all__ = ["Detector", "load_detector"]
