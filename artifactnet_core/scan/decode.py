"""The decoding half of one file's detection, runnable where torch is not imported.

:func:`decode_file` does what :func:`artifactnet_core.detector.detect.detect_file` does before it
touches the model: stream the file through :class:`~artifactnet_core.detector.chunking.ChunkStream`
(the same chunking rule and the same evenly spread ``max_chunks``) and keep the chunks; a decoding
problem becomes the result's ``error``. It also hashes the file, so that a scan's row names the
exact bytes it scored. A decoder process or a Ray task runs this; the model's side is
:func:`artifactnet_core.scan.score.score_decoded`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from artifactnet_core.atomic import file_sha256
from artifactnet_core.detector.audio import AudioError
from artifactnet_core.detector.chunking import ChunkStream


@dataclass
class DecodedFile:
    """One file, decoded into the chunks its detection scores.

    Attributes
    ----------
    path : str
        The file.
    starts : numpy.ndarray
        Start sample of each chunk, int64 ``(n_chunks,)``.
    chunks : numpy.ndarray
        float32 ``(n_chunks, chunk_samples)`` mono samples at the model's rate (silent chunks
        included; the scorer leaves them out as ``detect`` does).
    samples_read : int
        Decoded length in samples (the duration is ``samples_read / sr``).
    error : str or None
        Why the file could not be decoded (then there are no chunks).
    file_sha256 : str or None
        SHA-256 of the file's bytes (``None`` when it cannot be read).
    """

    path: str
    starts: np.ndarray
    chunks: np.ndarray
    samples_read: int = 0
    error: str | None = None
    file_sha256: str | None = None


def failed(path: str, reason: str, chunk_samples: int, *,
           file_hash: str | None = None) -> DecodedFile:
    """A :class:`DecodedFile` for a file that could not be decoded, saying ``reason``."""
    return DecodedFile(path=path, starts=np.zeros(0, np.int64),
                       chunks=np.zeros((0, chunk_samples), np.float32), error=reason,
                       file_sha256=file_hash)


def decode_file(path: str | os.PathLike, *, sr: int, chunk_samples: int,
                max_chunks: int | None) -> DecodedFile:
    """Decode one file into the chunks ``detect`` would score; never raises for a bad file.

    Parameters
    ----------
    path : path
        Audio file.
    sr : int
        The model's sample rate in Hz.
    chunk_samples : int
        The model's chunk length in samples.
    max_chunks : int or None
        At most this many chunks, evenly spread (``None`` or 0: all; they are all held in memory,
        about 0.7 MB per 4 s chunk).
    """
    path = os.fspath(path)
    try:
        file_hash = file_sha256(path) if os.path.isfile(path) else None
    except OSError:
        file_hash = None
    stream = ChunkStream(path, sr=sr, chunk_samples=chunk_samples, max_chunks=max_chunks)
    try:
        pairs = list(stream)
    except AudioError as err:
        return failed(path, err.reason, chunk_samples, file_hash=file_hash)
    except Exception as err:  # noqa: BLE001 - as detect: whatever goes wrong is this file's error
        text = (str(err).strip() or type(err).__name__).splitlines()[0][:300]
        return failed(path, f"decoding failed ({type(err).__name__}: {text})", chunk_samples,
                      file_hash=file_hash)
    starts = np.array([s for s, _ in pairs], dtype=np.int64)
    chunks = (np.stack([c for _, c in pairs]) if pairs
              else np.zeros((0, chunk_samples), np.float32))
    return DecodedFile(path=path, starts=starts, chunks=chunks, samples_read=stream.samples_read,
                       file_sha256=file_hash)
