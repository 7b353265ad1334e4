"""A scan's output: a folder of Parquet shards, each written atomically, plus the scan's settings.

``results.parquet/`` holds ``part-<time>-<random>.parquet`` files (readable as one table by
``pandas.read_parquet("results.parquet")`` or ``pyarrow.dataset``) and ``_scan.json`` (the model
and settings the rows were made with; Parquet readers skip names starting with ``_`` or ``.``).
A shard is written to a hidden temporary file and renamed into place, so a killed scan loses at
most the rows it had not flushed yet, never leaves half a shard, and several processes (``--shard
i/n``) can write into one folder. A rerun reads which paths are already there and skips them.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from artifactnet_core.atomic import atomic_write_bytes, atomic_write_text

#: One row per file: ``artifactnet detect --format csv``'s columns (``p_calibrated`` always, null
#: for weights without a calibration), then the model and the file's hash.
SCHEMA = pa.schema([("path", pa.string()), ("p_ai", pa.float64()), ("label", pa.string()),
                    ("duration_s", pa.float64()), ("error", pa.string()),
                    ("threshold", pa.float64()), ("operating_point", pa.string()),
                    ("p_calibrated", pa.float64()),
                    ("model_id", pa.string()), ("file_sha256", pa.string())])
COLUMNS = tuple(SCHEMA.names)
META_NAME = "_scan.json"


class ScanOutputError(ValueError):
    """The output folder cannot take this scan's rows (other model or settings, foreign files)."""


def part_files(out: str | os.PathLike) -> list[Path]:
    """The complete shards in ``out`` (temporary files of unfinished writes are not listed)."""
    out = Path(out)
    return sorted(out.glob("part-*.parquet")) if out.is_dir() else []


def read_results(out: str | os.PathLike, *, columns: tuple[str, ...] = COLUMNS) -> pa.Table:
    """Every row written to ``out`` so far, as one Arrow table (empty with the schema if none)."""
    tables = [pq.read_table(p, columns=list(columns)) for p in part_files(out)]
    if not tables:
        return SCHEMA.empty_table().select(list(columns))
    return pa.concat_tables(tables)


def done_paths(out: str | os.PathLike) -> set[str]:
    """Paths that already have a row in ``out`` (scored or failed)."""
    return set(read_results(out, columns=("path",)).column("path").to_pylist())


def claim_output(out: str | os.PathLike, meta: dict) -> Path:
    """Make ``out`` the output of a scan described by ``meta`` (model id, threshold, chunk
    budget): create it, or check that the rows already in it were made the same way.

    Raises
    ------
    ScanOutputError
        ``out`` is a file, holds shards without a ``_scan.json``, or was made with another model
        or other settings (resuming would mix incomparable scores).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScanOutputError(f"{out}: exists and is not a folder (a scan writes a folder of "
                              "Parquet shards)")
    meta_path = out / META_NAME
    meta = json.loads(json.dumps(meta))  # as it reads back from JSON (tuples -> lists)
    if meta_path.exists():
        try:
            old = json.loads(meta_path.read_text())
        except json.JSONDecodeError as err:
            raise ScanOutputError(f"{meta_path}: not valid JSON ({err})") from err
        changed = sorted(k for k in set(old) | set(meta) if old.get(k) != meta.get(k))
        if changed:
            diff = "; ".join(f"{k}: {old.get(k)!r} there, {meta.get(k)!r} now" for k in changed)
            raise ScanOutputError(f"{out}: holds a scan made with other settings ({diff}); "
                                  "rerun with those settings or write to a new --out")
        return out
    if part_files(out):
        raise ScanOutputError(f"{out}: holds Parquet shards but no {META_NAME}; not a scan "
                              "output, or one from another tool")
    atomic_write_text(meta_path, json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return out


class ShardWriter:
    """Collects rows and writes them to ``out`` as atomic Parquet shards.

    A shard is written when ``rows_per_shard`` rows are waiting, when the oldest waiting row is
    ``seconds_per_shard`` old (checked as rows arrive), and on :meth:`close`. A kill loses at
    most the rows not written yet.

    Parameters
    ----------
    out : path
        The output folder (see :func:`claim_output`).
    rows_per_shard : int
        Rows per shard file.
    seconds_per_shard : float
        Longest time in seconds a finished row waits before it is written.
    """

    def __init__(self, out: str | os.PathLike, *, rows_per_shard: int = 256,
                 seconds_per_shard: float = 60.0):
        if rows_per_shard < 1:
            raise ValueError(f"rows_per_shard must be positive, got {rows_per_shard}")
        self.out = Path(out)
        self.rows_per_shard = rows_per_shard
        self.seconds_per_shard = seconds_per_shard
        self.rows: list[dict] = []
        self.first_row_at = 0.0
        self.shards_written = 0

    def add(self, row: dict) -> None:
        """Queue one row (a dict with :data:`COLUMNS`); writes a shard when one is due."""
        if not self.rows:
            self.first_row_at = time.monotonic()
        self.rows.append(row)
        if (len(self.rows) >= self.rows_per_shard
                or time.monotonic() - self.first_row_at >= self.seconds_per_shard):
            self.flush()

    def flush(self) -> Path | None:
        """Write the waiting rows as one shard now; returns its path (``None`` if none waited).
        """
        if not self.rows:
            return None
        table = pa.Table.from_pylist(self.rows, schema=SCHEMA)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.parquet"
        path = atomic_write_bytes(self.out / name, sink.getvalue().to_pybytes())
        self.rows.clear()
        self.shards_written += 1
        return path

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        # Rows finished before an exception (Ctrl-C included) are kept.
        self.close()
