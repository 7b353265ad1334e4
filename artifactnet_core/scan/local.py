"""The local scan engine: decoder processes feed the model on this machine.

``workers`` processes decode files (:func:`~artifactnet_core.scan.decode.decode_file`: FFmpeg or
libsndfile, resampling, chunking, hashing) while the main process runs the model on the files
already decoded, so decoding overlaps inference. A bounded number of files is in flight, so memory
does not grow with the catalogue. Rows go to a :class:`~artifactnet_core.scan.shards.ShardWriter`
as files finish. A decoder process that dies (a crash inside FFmpeg) costs one error row at
most: the file awaited when it died is retried in a process of its own and marked failed only if
it kills that one too; the other files in flight are decoded again. Decoder processes exit when
the scan is killed.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tqdm import tqdm

from artifactnet_core.detector.model import ArtifactNet
from artifactnet_core.scan.decode import DecodedFile, decode_file, failed
from artifactnet_core.scan.score import scan_row, score_decoded
from artifactnet_core.scan.shards import ShardWriter

if TYPE_CHECKING:
    from artifactnet_core.detector.calibration import OperatingPoint

Decoder = Callable[..., DecodedFile]


@dataclass
class ScanStats:
    """What one run did: files scored, files that got an error row, wall time in seconds."""

    scored: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return self.scored + self.failed

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else float("nan")


def _exit_with_parent(parent: int) -> None:
    """In a decoder process: exit when the scan that started it is gone (killed), instead of
    blocking for ever on a result nobody will read."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class _Decoders:
    """A pool of decoder processes (spawned: torch's threads do not survive a fork) with a
    bounded window of files in flight; ``workers == 0`` decodes in the calling process."""

    def __init__(self, decode: Callable[[str], DecodedFile], workers: int, *,
                 chunk_samples: int):
        self.decode = decode
        self.workers = workers
        self.chunk_samples = chunk_samples
        self.window = 2 * workers + 1
        self.pool: ProcessPoolExecutor | None = None  # started with the first file

    @staticmethod
    def _new_pool(workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_exit_with_parent, initargs=(os.getpid(),))

    def _alone(self, path: str) -> DecodedFile | None:
        # One file in a fresh process of its own: was it this file that killed the decoder?
        with self._new_pool(1) as pool:
            try:
                return pool.submit(self.decode, path).result()
            except BrokenProcessPool:
                return None

    def map(self, paths: Sequence[str]):
        """Yield each path's :class:`DecodedFile`, in order."""
        if not self.workers:
            yield from (self.decode(p) for p in paths)
            return
        if self.pool is None and paths:
            self.pool = self._new_pool(self.workers)
        queue = iter(paths)
        pending: deque[tuple[str, Future]] = deque()

        def fill() -> None:
            while len(pending) < self.window and (path := next(queue, None)) is not None:
                pending.append((path, self.pool.submit(self.decode, path)))

        fill()
        while pending:
            path, future = pending.popleft()
            try:
                decoded = future.result()
            except BrokenProcessPool:
                self.pool.shutdown(wait=False, cancel_futures=True)
                decoded = self._alone(path) or failed(
                    path, "the decoder process crashed on this file", self.chunk_samples)
                self.pool = self._new_pool(self.workers)
                waiting = [p for p, _ in pending]
                pending.clear()
                pending.extend((p, self.pool.submit(self.decode, p)) for p in waiting)
            fill()
            yield decoded

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def scan_local(files: Sequence[str], writer: ShardWriter, model: ArtifactNet, *, model_ref: str,
               max_chunks: int | None = 16, batch_size: int = 2,
               operating_point: OperatingPoint | None = None, workers: int = 1,
               progress: bool = True,
               decode: Decoder = decode_file) -> ScanStats:
    """Score ``files`` on this machine and hand one row per file to ``writer``.

    Parameters
    ----------
    files : sequence of str
        Audio files (see :func:`artifactnet_core.scan.plan.plan_scan`).
    writer : ShardWriter
        Where rows go (the caller closes it).
    model : ArtifactNet
        The detector, in eval mode on its device.
    model_ref : str
        The model id written into every row (:func:`artifactnet_core.scan.score.model_id`).
    max_chunks : int or None
        Chunks scored per file, evenly spread (``detect``'s default: 16).
    batch_size : int
        Chunks per forward pass.
    operating_point : OperatingPoint, optional
        The threshold that labels files (default: the config's).
    workers : int
        Decoder processes; 0 decodes in this process, one file after another (no overlap).
    progress : bool
        tqdm bar on stderr with files/s and the time left.
    decode : callable
        The decoding function (keyword arguments ``sr``, ``chunk_samples``, ``max_chunks``);
        it must be importable by name when ``workers > 0``.
    """
    cfg = model.config
    stats = ScanStats()
    decoders = _Decoders(functools.partial(decode, sr=cfg.sample_rate,
                                           chunk_samples=cfg.chunk_samples,
                                           max_chunks=max_chunks), workers,
                          chunk_samples=cfg.chunk_samples)
    bar = tqdm(total=len(files), desc="scan", unit="file", file=sys.stderr,
               disable=not progress, smoothing=0.05)
    t0 = time.perf_counter()
    try:
        for decoded in decoders.map(files):
            det = score_decoded(decoded, model, batch_size=batch_size,
                                operating_point=operating_point)
            writer.add(scan_row(det, model=model_ref, file_hash=decoded.file_sha256))
            if det.ok:
                stats.scored += 1
            else:
                stats.failed += 1
                bar.set_postfix(failed=stats.failed)
            bar.update(1)
    finally:
        stats.seconds = time.perf_counter() - t0
        bar.close()
        decoders.close()
    return stats
