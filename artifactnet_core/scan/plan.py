"""Which files one scan run scores: found under the roots, in its shard, not done yet, limited.

Files are found as ``artifactnet detect`` finds them
(:func:`~artifactnet_core.detector.detect.find_audio_files`) and named by absolute path, so a rerun
from another folder still recognises what it has done. ``--shard i/n`` takes the files whose path
hashes to ``i`` modulo ``n`` (stable across machines and listings, so ``n`` machines given the same
roots split the work without talking to each other); files already in the output are skipped;
``--limit`` caps what is left.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from artifactnet_core.atomic import stable_hash
from artifactnet_core.detector.detect import find_audio_files
from artifactnet_core.scan.shards import done_paths


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``.

    Raises
    ------
    ValueError
        Not of that form.
    """
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError as err:
        raise ValueError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from err
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {text}: need 0 <= i < n")
    return index, count


def in_shard(path: str, index: int, count: int) -> bool:
    """Whether ``path`` belongs to shard ``index`` of ``count`` (by a stable hash of the path)."""
    return count == 1 or int(stable_hash("scan-shard", path), 16) % count == index


@dataclass
class ScanPlan:
    """The files a run will score (``todo``, sorted) and how many were set aside, and why."""

    todo: list[str]
    found: int
    other_shards: int
    already_done: int
    over_limit: int


def plan_scan(roots: Iterable[str | os.PathLike], out: str | os.PathLike, *,
              shard: tuple[int, int] = (0, 1), limit: int | None = None) -> ScanPlan:
    """Find the files under ``roots`` and choose those this run scores.

    Parameters
    ----------
    roots : paths
        Files and folders (searched recursively for audio files).
    out : path
        The scan's output folder; paths with a row there are skipped.
    shard : (i, n)
        Score only shard ``i`` of ``n`` (:func:`in_shard`).
    limit : int, optional
        Score at most this many files (after skipping those done).
    """
    found = list(dict.fromkeys(os.path.abspath(p) for p in find_audio_files(roots)))
    mine = sorted(p for p in found if in_shard(p, *shard))
    done = done_paths(out)
    todo = [p for p in mine if p not in done]
    kept = todo if limit is None else todo[:max(limit, 0)]
    return ScanPlan(todo=kept, found=len(found), other_shards=len(found) - len(mine),
                    already_done=len(mine) - len(todo), over_limit=len(todo) - len(kept))
