"""How a signal is cut into analysis chunks: one rule for detection, streaming and the benchmark.

Chunks tile the signal from its start. A remainder of at least half a chunk becomes one more
chunk: the signal's *last* ``chunk_samples`` samples, overlapping the one before, so no chunk is
part silence. A signal shorter than one chunk gives a single zero-padded chunk at 0.
:func:`chunk_starts` is that rule; :func:`split_chunks` cuts an array by it, :class:`ChunkStream`
applies it to a file as it is decoded, and :func:`spread_indices` picks an evenly spread subset
when only some chunks are to be scored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from artifactnet_core.detector.audio import audio_info, iter_audio
from artifactnet_core.detector.config import CHUNK_SAMPLES, SAMPLE_RATE


def chunk_starts(n_samples: int, chunk_samples: int) -> list[int]:
    """Start samples of the chunks that tile a signal of ``n_samples`` (the module's rule)."""
    if chunk_samples < 1:
        raise ValueError(f"chunk_samples must be positive, got {chunk_samples}")
    full = n_samples // chunk_samples
    if full == 0:
        return [0]
    starts = [i * chunk_samples for i in range(full)]
    if n_samples - full * chunk_samples >= chunk_samples // 2:
        starts.append(n_samples - chunk_samples)
    return starts


def split_chunks(audio: np.ndarray, chunk_samples: int) -> np.ndarray:
    """Cut a signal into the chunks of :func:`chunk_starts`, ``(n_chunks, chunk_samples)``
    float32 (a short signal is zero-padded)."""
    out = []
    for start in chunk_starts(audio.shape[0], chunk_samples):
        chunk = audio[start:start + chunk_samples]
        if chunk.shape[0] < chunk_samples:
            chunk = np.pad(chunk, (0, chunk_samples - chunk.shape[0]))
        out.append(chunk)
    return np.stack(out).astype(np.float32)


def spread_indices(n_chunks: int, max_chunks: int | None) -> set[int] | None:
    """``max_chunks`` chunk indices evenly spread over ``n_chunks``; ``None`` means all."""
    if not max_chunks or n_chunks <= max_chunks:
        return None
    return {int(i) for i in np.round(np.linspace(0, n_chunks - 1, max_chunks))}


class ChunkStream:
    """Iterate over a file as ``(start sample, chunk)`` pairs by the rule of :func:`chunk_starts`.

    Whole chunks are yielded as they are decoded; the final one (a zero-padded short file or the
    overlapping tail) when the decoded length is known. With ``max_chunks`` and a duration in the
    header, only that many chunks, evenly spread (:func:`spread_indices`), are yielded (all are
    decoded). After iterating, ``samples_read`` is the decoded length. Iterating raises
    :class:`~artifactnet_core.detector.audio.AudioError` for unreadable files.

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

    def __init__(self, source: str | os.PathLike, *, sr: int = SAMPLE_RATE,
                 chunk_samples: int = CHUNK_SAMPLES, max_chunks: int | None = None):
        self.source = source
        self.sr = sr
        self.chunk_samples = chunk_samples
        self.max_chunks = max_chunks
        self.samples_read = 0

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        n = self.chunk_samples
        selected = None
        if self.max_chunks:
            duration = audio_info(self.source).duration_s
            if duration is not None:
                selected = spread_indices(len(chunk_starts(round(duration * self.sr), n)),
                                          self.max_chunks)

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
        starts = chunk_starts(self.samples_read, n)
        if len(starts) > index and wanted(index):
            if index == 0:  # shorter than one chunk: zero-padded
                buffer[filled:] = 0.0
                yield 0, buffer.copy()
            else:           # the overlapping tail
                yield starts[-1], tail.copy()
