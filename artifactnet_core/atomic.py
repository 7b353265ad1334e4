"""Atomic file writes: write a temporary file, then rename it in place; stable hashes.

An interrupted run (Ctrl-C, out of memory, power cut) never leaves a half-written clip, manifest,
checkpoint or feature map behind: a file either exists complete or not at all, so a rerun can skip
every file that exists. :func:`stable_hash` names cache entries and makes seeded choices that are
the same on every machine. :func:`file_lock` lets two processes that need the same cache entry
(two notebooks run side by side) compute it once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from artifactnet_core.detector.config import SAMPLE_RATE


def _tmp_name(path: Path) -> Path:
    # The temporary name keeps the real suffix last, because write_audio picks the format from it;
    # process and thread ids keep two writers of one file (threads of map_tracks, two notebooks)
    # off each other's temporary file.
    return path.with_name(f".{path.stem}.tmp{os.getpid()}-{threading.get_ident()}{path.suffix}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + ``os.replace``); returns the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line endings); returns the path.
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_audio(path: str | os.PathLike, audio: np.ndarray, *,
                       sr: int = SAMPLE_RATE, subtype: str = "PCM_16") -> Path:
    """Clip ``audio`` to [-1, 1] and write it as FLAC/WAV atomically; returns the path.

    Parameters
    ----------
    path : path
        Destination ending in ``.flac`` or ``.wav``.
    audio : numpy.ndarray
        1-D signal (any float dtype); values outside [-1, 1] are clipped first, so integer
        subtypes never wrap around.
    sr : int
        Sample rate in Hz.
    subtype : str
        libsndfile subtype (default ``"PCM_16"``).
    """
    from artifactnet_core.detector.audio import write_audio

    path = Path(path)
    tmp = _tmp_name(path)
    try:
        write_audio(tmp, np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0), sr=sr,
                    subtype=subtype)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 of a file's bytes (read in 1 MiB blocks).
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stable_hash(*parts: object, length: int = 16) -> str:
    """Return a short hex digest of the ``repr`` of ``parts``; stable across runs and machines.

    Used for cache keys and seeded choices (Python's ``hash`` is salted per process).
    """
    text = "\x1f".join(repr(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Save ``array`` as ``.npy`` (no pickle) atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the ``with`` block.

    Wrap "is it cached? if not, compute and write it": a second process asking for the same
    entry waits, then finds it written. Where ``fcntl`` is missing (Windows) the block runs
    unlocked: two processes may then both compute an entry, and atomic writes keep it whole.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
