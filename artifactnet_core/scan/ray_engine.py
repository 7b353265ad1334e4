"""The Ray scan engine: the same rows as the local engine, spread over a Ray cluster.

A Ray Data pipeline: the paths to score -> :func:`~artifactnet_core.scan.decode.decode_file` in CPU
tasks (one CPU each, anywhere in the cluster) -> :func:`~artifactnet_core.scan.score.score_decoded`
in a pool of actors that each hold the model (one GPU each when the cluster has GPUs, else
``actor_cpus`` CPUs) -> rows streamed back to this process, which writes them with the same atomic
shards, resume and progress bar as the local engine. The weights travel through Ray's object
store, so workers need the package installed but not the checkpoint; the audio files must be
readable at the same path on every node (a shared or mounted file system).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from artifactnet_core.scan.decode import DecodedFile, decode_file
from artifactnet_core.scan.shards import SCHEMA, ShardWriter

if TYPE_CHECKING:
    from artifactnet_core.detector.calibration import OperatingPoint
    from artifactnet_core.scan.local import ScanStats

#: Files per Ray Data block: a decode task's unit of work (about 11 MB of chunks per file).
FILES_PER_BLOCK = 4
#: Memory of a decode worker process before its data (Python, NumPy, FFmpeg, libsndfile).
DECODER_BYTES = 320 * 2**20


def _decode_row(row: dict, *, sr: int, chunk_samples: int, max_chunks: int | None) -> dict:
    """A Ray Data row ``{"path"}`` -> the decoded file as plain columns (chunks as bytes, so
    blocks of any chunk count share one Arrow type; no nulls, for the same reason)."""
    d = decode_file(row["path"], sr=sr, chunk_samples=chunk_samples, max_chunks=max_chunks)
    return {"path": d.path, "starts": d.starts.tolist(), "chunks": d.chunks.tobytes(),
            "samples_read": d.samples_read, "error": d.error or "",
            "file_sha256": d.file_sha256 or ""}


class _Scorer:
    """A Ray actor holding the model: decoded files in, scan rows out (Arrow tables)."""

    def __init__(self, weights: dict[str, bytes], *, model_ref: str, batch_size: int,
                 operating_point: OperatingPoint | None, device: str, threads: int):
        import torch

        from artifactnet_core.detector.model import load_model

        torch.set_num_threads(threads)
        with tempfile.TemporaryDirectory() as tmp:
            for suffix, data in weights.items():
                Path(tmp, f"model{suffix}").write_bytes(data)
            self.model = load_model(Path(tmp, "model.safetensors"), device=device)
        self.model_ref = model_ref
        self.batch_size = batch_size
        self.operating_point = operating_point

    def __call__(self, batch: pa.Table) -> pa.Table:
        from artifactnet_core.scan.score import scan_row, score_decoded

        n = self.model.config.chunk_samples
        rows = []
        for rec in batch.to_pylist():
            decoded = DecodedFile(path=rec["path"], starts=np.asarray(rec["starts"], np.int64),
                                  chunks=np.frombuffer(rec["chunks"], np.float32).reshape(-1, n),
                                  samples_read=rec["samples_read"], error=rec["error"] or None,
                                  file_sha256=rec["file_sha256"] or None)
            det = score_decoded(decoded, self.model, batch_size=self.batch_size,
                                operating_point=self.operating_point)
            rows.append(scan_row(det, model=self.model_ref, file_hash=decoded.file_sha256))
        return pa.Table.from_pylist(rows, schema=SCHEMA)


def _connect(address: str | None, num_cpus: int | None) -> bool:
    """Connect to a running cluster (``address``) or start a local one; ``True`` if this call
    started Ray (and so should stop it)."""
    import ray

    if ray.is_initialized():
        return False
    options = {"include_dashboard": False, "log_to_driver": False,
               "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **options)
        return True
    for attempt in range(_LOCAL_START_ATTEMPTS):
        try:
            ray.init(num_cpus=num_cpus, **options)
            return True
        except Exception as error:  # Ray raises a bare Exception for this
            # A local raylet gets a fixed 30 s to come up; on a machine whose cores are
            # all busy it can miss that once. Other errors, and the last attempt, go up.
            if ("timed out during startup" not in str(error)
                    or attempt == _LOCAL_START_ATTEMPTS - 1):
                raise
            ray.shutdown()
    return True


#: Tries to start a local Ray before its startup timeout is reported.
_LOCAL_START_ATTEMPTS = 3


def scan_ray(files: Sequence[str], writer: ShardWriter, weights: str | os.PathLike, *,
             model_ref: str, chunk_samples: int, sample_rate: int,
             max_chunks: int | None = 16, batch_size: int = 2,
             operating_point: OperatingPoint | None = None,
             address: str | None = None, num_cpus: int | None = None,
             actors: int | None = None, actor_cpus: int = 1,
             progress: bool = True) -> ScanStats:
    """Score ``files`` with Ray Data and hand one row per file to ``writer``.

    Parameters
    ----------
    files : sequence of str
        Audio files, at the same path on every node.
    writer : ShardWriter
        Where rows go (the caller closes it).
    weights : path
        The checkpoint (``.safetensors`` beside its ``.json``), read here and shipped to actors.
    model_ref : str
        The model id written into every row.
    chunk_samples, sample_rate : int
        The model's chunk length (samples) and rate (Hz), for the decode tasks.
    max_chunks, batch_size, operating_point
        As for :func:`artifactnet_core.scan.local.scan_local`.
    address : str, optional
        A running Ray cluster (``ray://host:10001`` or ``host:6379``); default: a local one.
    num_cpus : int, optional
        CPUs of the local cluster started when ``address`` is not given (default: all).
    actors : int, optional
        Model actors; default one per GPU of the cluster, else 1.
    actor_cpus : int
        CPUs (and torch threads) per actor on a cluster without GPUs.
    progress : bool
        tqdm bar on stderr.

    Raises
    ------
    ValueError
        The actors would hold every CPU, leaving none to decode.
    """
    import ray
    import ray.data

    from artifactnet_core.scan.local import ScanStats

    weights = Path(weights)
    blob = {".safetensors": weights.read_bytes(),
            ".json": weights.with_suffix(".json").read_bytes()}
    stats = ScanStats()
    if not files:
        return stats
    started = _connect(address, num_cpus)
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        n_actors = actors or max(gpus, 1)
        if gpus:
            actor_opts = {"num_gpus": 1, "num_cpus": 1}
            device, threads = "cuda", 1
        else:
            if n_actors * actor_cpus >= resources.get("CPU", 0):
                raise ValueError(
                    f"{n_actors} actor(s) x {actor_cpus} CPU(s) would hold all "
                    f"{resources.get('CPU', 0):g} CPUs of the cluster and leave none to decode; "
                    "use fewer --actors or --actor-cpus")
            actor_opts = {"num_cpus": actor_cpus}
            device, threads = "cpu", actor_cpus
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        ds = ray.data.from_items([{"path": p} for p in files],
                                 override_num_blocks=max(1, -(-len(files) // FILES_PER_BLOCK)))
        # A decode task reserves what its worker takes (measured ~250 MiB with the decoders
        # loaded) plus its block of chunks twice (decoded, then serialised). That it asks for
        # other resources than the actors also keeps Ray from fusing decoding into the actors,
        # which would serialise decoding and inference.
        block_bytes = FILES_PER_BLOCK * (max_chunks or 64) * chunk_samples * 4
        ds = ds.map(_decode_row, num_cpus=1, memory=DECODER_BYTES + 2 * block_bytes,
                    fn_kwargs={"sr": sample_rate, "chunk_samples": chunk_samples,
                               "max_chunks": max_chunks})
        ds = ds.map_batches(_Scorer, batch_size=FILES_PER_BLOCK, batch_format="pyarrow",
                            compute=ray.data.ActorPoolStrategy(size=n_actors),
                            fn_constructor_args=(blob,),
                            fn_constructor_kwargs={"model_ref": model_ref,
                                                   "batch_size": batch_size,
                                                   "operating_point": operating_point,
                                                   "device": device,
                                                   "threads": threads},
                            **actor_opts)
        bar = tqdm(total=len(files), desc="scan (ray)", unit="file", file=sys.stderr,
                   disable=not progress, smoothing=0.05)
        t0 = time.perf_counter()
        try:
            for table in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                for row in table.to_pylist():
                    writer.add(row)
                    if row["error"] is None:
                        stats.scored += 1
                    else:
                        stats.failed += 1
                        bar.set_postfix(failed=stats.failed)
                bar.update(table.num_rows)
        finally:
            stats.seconds = time.perf_counter() - t0
            bar.close()
    finally:
        if started:
            ray.shutdown()
    return stats
