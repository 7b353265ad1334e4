"""Scoring files: stream a file in 4 s chunks, score a spread of them, aggregate per track.

A file is decoded as a stream (:func:`artifactnet_core.detector.audio.iter_audio`), so memory does not
grow with its length. When the header states the duration, at most ``max_chunks`` chunks evenly
spread over the file are scored; the rest are decoded and skipped. Chunks quieter than
``silence_dbfs`` carry no forensic information and are left out of the track score. Every
problem with one file becomes an ``error`` on that file's result; the batch goes on.

Taught in notebook ``00_quickstart``; behind ``artifactnet detect``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from artifactnet_core.detector.audio import AUDIO_EXTENSIONS, AudioError
from artifactnet_core.detector.chunking import ChunkStream
from artifactnet_core.detector.model import ArtifactNet, aggregate_chunks, predict_chunks

#: Chunks whose RMS level is below this (dBFS) are not scored.
SILENCE_DBFS = -70.0


@dataclass
class Detection:
    """The result for one file. ``p_ai`` and ``label`` are ``None`` when ``error`` is set."""

    path: str
    p_ai: float | None = None
    label: str | None = None
    duration_s: float | None = None
    error: str | None = None
    chunk_start_s: list[float] = field(default_factory=list)
    chunk_p_ai: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def find_audio_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand the given paths: files are kept as they are (whatever their ending), folders are
    searched recursively for audio files (by ending), sorted. Missing paths are kept so that
    they get an error row."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS))
        else:
            found.append(path)
    return found


def _rms_dbfs(chunk: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(chunk, dtype=np.float64))))
    return 20.0 * math.log10(max(rms, 1e-12))


def detect_file(path: str | os.PathLike, model: ArtifactNet, *, max_chunks: int | None = 16,
                batch_size: int = 2, threshold: float | None = None) -> Detection:
    """Score one file; never raises for a bad file (the error is in the result).

    Parameters
    ----------
    path : path
        Audio file.
    model : ArtifactNet
        A trained detector (in eval mode, on the device it should run on).
    max_chunks : int or None
        Score at most this many 4 s chunks, evenly spread (``None`` or 0: all chunks).
    batch_size : int
        Chunks per forward pass (memory grows with it, not with the file).
    threshold : float, optional
        Decision threshold on P(AI); defaults to the model's (chosen on validation data).
    """
    cfg = model.config
    threshold = cfg.threshold if threshold is None else threshold
    result = Detection(path=os.fspath(path))
    starts: list[float] = []
    probs: list[float] = []
    batch: list[np.ndarray] = []
    batch_starts: list[float] = []

    def flush() -> None:
        probs.extend(predict_chunks(model, np.stack(batch), batch=batch_size).tolist())
        starts.extend(batch_starts)
        batch.clear()
        batch_starts.clear()

    stream = ChunkStream(path, sr=cfg.sample_rate, chunk_samples=cfg.chunk_samples,
                         max_chunks=max_chunks)
    try:
        for start, chunk in stream:
            if _rms_dbfs(chunk) < SILENCE_DBFS:
                continue
            batch.append(chunk)
            batch_starts.append(start / cfg.sample_rate)
            if len(batch) == batch_size:
                flush()
        if batch:
            flush()
        result.duration_s = stream.samples_read / cfg.sample_rate
    except AudioError as err:
        result.error = err.reason
        return result
    except (RuntimeError, ValueError, MemoryError) as err:
        result.error = f"scoring failed ({type(err).__name__}: {err})"
        return result
    if not probs:
        result.error = f"silent: no 4 s chunk above {SILENCE_DBFS:.0f} dBFS, nothing to analyse"
        return result
    result.chunk_start_s = starts
    result.chunk_p_ai = probs
    result.p_ai = aggregate_chunks(np.array(probs), method=cfg.aggregate)
    result.label = "ai" if result.p_ai >= threshold else "real"
    return result
