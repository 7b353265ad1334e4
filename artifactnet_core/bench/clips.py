"""Cutting tracks into benchmark clips: non-overlapping segments on a fixed grid, chosen by seed,
near-silent ones skipped, written as mono 44.1 kHz 16-bit FLAC.

A track is streamed once: every grid segment (``[k * L, (k + 1) * L)`` samples for clip length
``L``) gets a pseudo-random key from ``(seed, track id, k)``, and the ``n`` non-silent segments
with the smallest keys are kept in a bounded heap, so memory does not grow with the track's
length and the choice is the same on every machine.
"""

from __future__ import annotations

import heapq
import json
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from artifactnet_core.atomic import atomic_write_audio, atomic_write_text, stable_hash
from artifactnet_core.bench.render import RenderError
from artifactnet_core.bench.sources import Tool, Track, iter_track_audio
from artifactnet_core.detector.audio import AudioError
from artifactnet_core.detector.config import SAMPLE_RATE

#: A segment whose RMS level is below this (dB re full scale) counts as near-silent.
SILENCE_RMS_DBFS = -45.0
#: ... and so does one in which more than this fraction of 50 ms frames lies below -60 dBFS.
SILENT_FRAME_FRACTION = 0.5
_FRAME = 2_205              # 50 ms at 44.1 kHz
_QUIET_FRAME_DBFS = -60.0


@dataclass(frozen=True)
class Clip:
    """One clip written to disk: its track, position in the track and file (relative path)."""

    track_id: str
    source: str
    index: int          # grid segment number: the clip starts at index * clip length
    start_s: float
    n_samples: int
    path: str           # relative to the bench root

    @property
    def clip_id(self) -> str:
        """``"<track id>#<segment index>"``, shared by a real clip and its regenerations."""
        return f"{self.track_id}#{self.index:05d}"


def _dbfs(x: np.ndarray) -> float:
    return 10.0 * float(np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def is_near_silent(segment: np.ndarray, *, rms_dbfs: float = SILENCE_RMS_DBFS,
                   frame_fraction: float = SILENT_FRAME_FRACTION) -> bool:
    """Say whether a segment is near-silent: overall RMS below ``rms_dbfs`` dBFS, or more than
    ``frame_fraction`` of its 50 ms frames below -60 dBFS (a fade-out or a pause).
    """
    if segment.size == 0 or _dbfs(segment) < rms_dbfs:
        return True
    n = segment.size // _FRAME
    if n == 0:
        return False
    frames = segment[: n * _FRAME].reshape(n, _FRAME).astype(np.float64)
    frame_db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    return float(np.mean(frame_db < _QUIET_FRAME_DBFS)) > frame_fraction


def segment_key(*, seed: int, track_id: str, index: int) -> int:
    """The pseudo-random rank of grid segment ``index`` of a track (smaller = chosen first).
    """
    return int(stable_hash("segment", seed, track_id, index), 16)


def select_segments(blocks: Iterable[np.ndarray], *, n_clips: int, clip_samples: int,
                    seed: int, track_id: str,
                    scan_limit_samples: int | None = None) -> list[tuple[int, np.ndarray]]:
    """Choose up to ``n_clips`` non-silent, non-overlapping grid segments of a streamed track.

    Parameters
    ----------
    blocks : iterable of numpy.ndarray
        The track as consecutive mono float32 blocks (e.g. :func:`iter_track_audio`).
    n_clips : int
        How many segments to keep at most.
    clip_samples : int
        Segment length in samples.
    seed, track_id
        Rank the segments (:func:`segment_key`).
    scan_limit_samples : int, optional
        Stop reading after this many samples (cheap profiles read only a track's beginning).

    Returns
    -------
    list of (segment index, segment audio)
        Sorted by index; the final partial segment is never used.
    """
    heap: list[tuple[int, int, np.ndarray]] = []      # (-key, index, audio): max-heap on key
    pending: list[np.ndarray] = []
    n_pending = 0
    index = 0
    read = 0
    if n_clips <= 0:
        return []
    for block in blocks:
        if scan_limit_samples is not None and read >= scan_limit_samples:
            break
        if scan_limit_samples is not None:
            block = block[: scan_limit_samples - read]
        read += block.size
        pending.append(block)
        n_pending += block.size
        if n_pending < clip_samples:
            continue
        buf = np.concatenate(pending)
        n_full = buf.size // clip_samples
        for j in range(n_full):
            segment = buf[j * clip_samples:(j + 1) * clip_samples]
            key = segment_key(seed=seed, track_id=track_id, index=index)
            if not is_near_silent(segment):
                if len(heap) < n_clips:
                    heapq.heappush(heap, (-key, index, segment.copy()))
                elif key < -heap[0][0]:
                    heapq.heapreplace(heap, (-key, index, segment.copy()))
            index += 1
        rest = buf[n_full * clip_samples:]
        pending, n_pending = [rest], rest.size
    return sorted(((idx, seg) for _, idx, seg in heap), key=lambda item: item[0])


def _record_path(out_dir: Path, track: Track) -> Path:
    return out_dir / track.source / f"{track.name}.clips.json"


def extract_track_clips(track: Track, *, n_clips: int, clip_s: float, seed: int,
                        bench_root: Path, subdir: str, render_dir: Path,
                        scan_limit_s: float | None = None,
                        tools: dict[str, Tool] | None = None) -> list[Clip]:
    """Cut one track into clips and write them as FLAC (PCM_16) under ``bench_root/subdir``.

    The clips of a finished track are recorded in a small JSON file written last, so a rerun
    skips a finished track without decoding it. A track that cannot be decoded or rendered is
    skipped with a warning naming it, and yields no clips.

    Parameters
    ----------
    track : Track
        The source track.
    n_clips : int
        Maximum number of clips.
    clip_s : float
        Clip length in seconds (4-10 s in the profiles).
    seed : int
        Chooses the segments.
    bench_root : Path
        The benchmark folder; clip paths are relative to it.
    subdir : str
        Folder under ``bench_root`` the clips go to.
    render_dir : Path
        Cache of rendered symbolic tracks.
    scan_limit_s : float, optional
        Read only the first ``scan_limit_s`` seconds of the track.
    """
    clip_samples = int(round(clip_s * SAMPLE_RATE))
    out_dir = Path(bench_root) / subdir
    record = _record_path(out_dir, track)
    params = {"n_clips": n_clips, "clip_samples": clip_samples, "seed": seed,
              "scan_limit_s": scan_limit_s, "track_id": track.track_id}
    if record.exists():
        saved = json.loads(record.read_text())
        clips = [Clip(**c) for c in saved["clips"]]
        if saved["params"] == params and all((Path(bench_root) / c.path).exists()
                                             for c in clips):
            return clips
    scan = None if scan_limit_s is None else int(scan_limit_s * SAMPLE_RATE)
    try:
        chosen = select_segments(iter_track_audio(track, render_dir=render_dir, tools=tools),
                                 n_clips=n_clips, clip_samples=clip_samples, seed=seed,
                                 track_id=track.track_id, scan_limit_samples=scan)
    except (AudioError, RenderError, OSError) as err:
        warnings.warn(f"skipping track {track.track_id} ({track.location}"
                      f"{'!' + track.member if track.member else ''}): {err}", stacklevel=2)
        return []
    clips = []
    for index, segment in chosen:
        rel = f"{subdir}/{track.source}/{track.name}/{index:05d}.flac"
        path = Path(bench_root) / rel
        if not path.exists():
            atomic_write_audio(path, segment)
        clips.append(Clip(track.track_id, track.source, index,
                          round(index * clip_samples / SAMPLE_RATE, 3), clip_samples, rel))
    atomic_write_text(record, json.dumps({"params": params,
                                          "clips": [asdict(c) for c in clips]}, indent=1))
    return clips
