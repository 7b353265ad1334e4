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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from artifactnet_core.detector.audio import AUDIO_EXTENSIONS, AudioError, audio_info, iter_audio
from artifactnet_core.detector.model import ArtifactNet, aggregate_chunks

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


def _selected_chunks(duration_s: float | None, *, sr: int, chunk_samples: int,
                     max_chunks: int | None) -> set[int] | None:
    """Indices of chunks to score, evenly spread; ``None`` means all."""
    if not max_chunks or duration_s is None:
        return None
    samples = duration_s * sr
    full = math.floor(samples / chunk_samples)
    n_chunks = max(1, full + int(samples - full * chunk_samples >= chunk_samples // 2))
    if n_chunks <= max_chunks:
        return None
    return {int(i) for i in np.round(np.linspace(0, n_chunks - 1, max_chunks))}


class ChunkStream:
    """Iterate over a file as ``(start sample, chunk)`` pairs of ``chunk_samples`` mono samples.

    Chunks tile the file from its start. A remainder of at least half a chunk becomes one more
    chunk: the file's *last* ``chunk_samples`` samples, overlapping the one before, so that no
    chunk is part silence. A file shorter than one chunk gives a single zero-padded chunk. With
    ``max_chunks`` and a duration in the header, only that many chunks, evenly spread, are
    yielded (all are decoded). After iterating, ``samples_read`` is the decoded length.
    Iterating raises :class:`~artifactnet_core.detector.audio.AudioError` for unreadable files.

    Parameters
    ----------
    source : path
        Audio file.
    sr : int
        Sample rate in Hz.
    chunk_samples : int
        Chunk length in samples (paper: 4 s = 176,400 at 44.1 kHz).
    max_chunks : int or None
        Upper bound on the chunks yielded; ``None`` or 0 yields all.
    """

    def __init__(self, source: str | os.PathLike, *, sr: int = 44_100,
                 chunk_samples: int = 176_400, max_chunks: int | None = None):
        self.source = source
        self.sr = sr
        self.chunk_samples = chunk_samples
        self.max_chunks = max_chunks
        self.samples_read = 0

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        n = self.chunk_samples
        selected = _selected_chunks(audio_info(self.source).duration_s, sr=self.sr,
                                    chunk_samples=n, max_chunks=self.max_chunks)

        def wanted(i: int) -> bool:
            return selected is None or i in selected

        buffer = np.zeros(n, dtype=np.float32)
        tail = np.zeros(n, dtype=np.float32)  # the last n samples decoded, for the final chunk
        filled = index = 0
        self.samples_read = 0
        for block in iter_audio(self.source, sr=self.sr):
            self.samples_read += block.shape[0]
            tail = np.concatenate([tail, block[-n:]])[-n:]
            pos = 0
            while pos < block.shape[0]:
                take = min(n - filled, block.shape[0] - pos)
                if wanted(index):
                    buffer[filled:filled + take] = block[pos:pos + take]
                filled += take
                pos += take
                if filled == n:
                    if wanted(index):
                        yield index * n, buffer.copy()
                    index += 1
                    filled = 0
        if filled and index == 0:
            buffer[filled:] = 0.0
            yield 0, buffer.copy()
        elif filled >= n // 2 and wanted(index):
            yield self.samples_read - n, tail.copy()


def _rms_dbfs(chunk: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(chunk, dtype=np.float64))))
    return 20.0 * math.log10(max(rms, 1e-12))


def detect_file(path: str | os.PathLike, model: ArtifactNet, *, max_chunks: int | None = 16,
                batch_size: int = 2, threshold: float | None = None,
                device: str | torch.device = "cpu") -> Detection:
    """Score one file; never raises for a bad file (the error is in the result).

    Parameters
    ----------
    path : path
        Audio file.
    model : ArtifactNet
        A trained detector (in eval mode, on ``device``).
    max_chunks : int or None
        Score at most this many 4 s chunks, evenly spread (``None`` or 0: all chunks).
    batch_size : int
        Chunks per forward pass (memory grows with it, not with the file).
    threshold : float, optional
        Decision threshold on P(AI); defaults to the model's (chosen on validation data).
    device : str or torch.device
        Where the model runs.
    """
    cfg = model.config
    threshold = cfg.threshold if threshold is None else threshold
    result = Detection(path=os.fspath(path))
    starts: list[float] = []
    probs: list[float] = []
    batch: list[np.ndarray] = []
    batch_starts: list[float] = []

    def flush() -> None:
        audio = torch.from_numpy(np.stack(batch)).to(device)
        probs.extend(model.predict_proba(audio).float().cpu().tolist())
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


def detect_files(paths: Iterable[str | os.PathLike], model: ArtifactNet,
                 **kwargs) -> Iterator[Detection]:
    """Score each file in turn (see :func:`detect_file` for the keyword arguments)."""
    for path in paths:
        yield detect_file(path, model, **kwargs)
