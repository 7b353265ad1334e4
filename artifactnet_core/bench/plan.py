"""Stages 1-3 of a build: which tracks, in which role, cut into which clips.

1. List every track of the configured sources (:mod:`~artifactnet_core.bench.sources`) and of
   ``--real-dir`` folders, and name the composition each track is
   (:func:`~artifactnet_core.bench.sources.composition_keys`).
2. Set aside the **generator-training partition**: a fixed number of compositions per source,
   chosen by a stable hash that does not depend on the seed or the profile. The zoo's generators
   train on these tracks and nothing else uses them, so generator weights trained once (and
   shipped) are valid for every build.
3. Pick the benchmark's compositions per source in a seeded order (round-robin over the
   collections of the score corpus), probe that their tracks decode or render, and split them by
   composition under both protocols (:func:`~artifactnet_core.bench.splits.plan_splits`).
4. Cut clips (:func:`~artifactnet_core.bench.clips.extract_track_clips`): benchmark clips
   with the build's seed; generator-training clips with a fixed segment seed, and only when a
   generator is trained.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tqdm.auto import tqdm

from artifactnet_core.atomic import stable_hash
from artifactnet_core.bench.clips import Clip, extract_track_clips
from artifactnet_core.bench.config import BenchConfig
from artifactnet_core.bench.render import RenderError
from artifactnet_core.bench.sources import (
    SOURCE_NAMES,
    Tool,
    Track,
    composition_keys,
    list_folder_tracks,
    list_source_tracks,
    locate_tools,
    source_spec,
    track_duration,
)
from artifactnet_core.bench.splits import TrackPlan, plan_splits
from artifactnet_core.detector.audio import AudioError

#: Compositions per source set aside to train the generators, by source kind (user folders
#: give none: generators never learn from a user's own music).
GENTRAIN_COMPOSITIONS = {"dir": 3, "zip": 2, "score": 8, "midi": 2, "module": 2}
#: Clips cut from each generator-training track (clip length, how much of the track is read,
#: and the segment seed are fixed too, so every build cuts the same clips).
GENTRAIN_CLIPS_PER_TRACK = 6
GENTRAIN_CLIP_S = 4.0
GENTRAIN_SCAN_S = 240.0
GENTRAIN_SEED = 0


_In = TypeVar("_In")
_Out = TypeVar("_Out")


def map_tracks(fn: Callable[[_In], _Out], items: Iterable[_In], *, bar: tqdm | None = None,
               workers: int | None = None) -> list[_Out]:
    """``[fn(item) for item in items]`` on a few threads, results in the order of ``items``.

    Reading a track is mostly time outside Python — a renderer subprocess, libsndfile, FFmpeg
    and soxr release the GIL — so two tracks on two threads take little more than one; each
    track's clips depend on that track alone, so the results are those of the plain loop.
    ``workers`` defaults to the CPU count (at most 4); ``bar`` advances once per item.
    """
    items = list(items)
    workers = workers or min(4, os.cpu_count() or 1)

    def run(item: _In) -> _Out:
        out = fn(item)
        if bar is not None:
            bar.update(1)
        return out

    if workers <= 1 or len(items) <= 1:
        return [run(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="track") as pool:
        return list(pool.map(run, items))


@dataclass
class GentrainClips:
    """The generator-training partition: its tracks, the tracks held out of generator training
    to measure quality on unheard music, and its clips, cut on first use (:meth:`clips`): a
    build whose generators all come shipped never reads these tracks."""

    members: tuple[Track, ...]
    heldout_tracks: tuple[str, ...]
    root: Path
    render_dir: Path
    tools: dict[str, Tool]
    progress: bool = True
    _clips: list[Clip] | None = field(default=None, repr=False)

    @property
    def tracks(self) -> tuple[str, ...]:
        """The partition's track ids (sorted)."""
        return tuple(t.track_id for t in self.members)

    def clips(self) -> list[Clip]:
        """Cut (or read back from ``root``) the clips: ``GENTRAIN_CLIPS_PER_TRACK`` of
        ``GENTRAIN_CLIP_S`` per track, fixed segment seed and scan limit."""
        if self._clips is None:
            bar = tqdm(total=len(self.members), desc="generator-training clips", unit="track",
                       disable=not self.progress)
            per_track = map_tracks(
                lambda track: extract_track_clips(
                    track, n_clips=GENTRAIN_CLIPS_PER_TRACK, clip_s=GENTRAIN_CLIP_S,
                    seed=GENTRAIN_SEED, bench_root=self.root, subdir="clips",
                    render_dir=self.render_dir, scan_limit_s=GENTRAIN_SCAN_S, tools=self.tools),
                self.members, bar=bar)
            bar.close()
            self._clips = [clip for track_clips in per_track for clip in track_clips]
        return self._clips


@dataclass
class RealClips:
    """The real side of a build: the plan, every track, the benchmark's clips and the
    generator-training partition (whose clips are cut only when a generator trains)."""

    plan: TrackPlan
    tracks: dict[str, Track]
    gentrain: GentrainClips
    bench: list[Clip]
    heldout_sources: tuple[str, ...]
    skipped: list[str] = field(default_factory=list)


def user_source_names(n: int) -> list[str]:
    """Source names of ``n`` ``--real-dir`` folders: ``user``, ``user2``, ..."""
    return ["user" if i == 0 else f"user{i + 1}" for i in range(n)]


def list_tracks(sources: Sequence[str], *, real_dirs: Sequence[Path] = (),
                unpack_root: Path | None = None) -> dict[str, list[Track]]:
    """Every track of ``sources`` and of the ``--real-dir`` folders, by source."""
    unknown = set(sources) - set(SOURCE_NAMES)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}; known: {SOURCE_NAMES}")
    tracks = {name: list_source_tracks(name, unpack_root=unpack_root) for name in sources}
    for name, folder in zip(user_source_names(len(real_dirs)), real_dirs, strict=True):
        tracks[name] = list_folder_tracks(folder, source=name)
        if not tracks[name]:
            warnings.warn(f"--real-dir {folder}: no audio files found", stacklevel=3)
    return tracks


def _collection(track: Track) -> str:
    # The score corpus is many collections (Bach, Palestrina, folk tunes...): picking
    # round-robin over them keeps one from filling a source.
    return track.name.split("__")[0] if track.kind == "score" else ""


def pick_order(tracks: Sequence[Track], keys: Mapping[str, str], *, salt: object
               ) -> list[str]:
    """Compositions of one source in a stable pseudo-random order set by ``salt``.

    Within each collection compositions are ordered by ``stable_hash(salt, key)``; collections
    are then interleaved round-robin (in hashed order too), so a short prefix samples them all.
    """
    by_collection: dict[str, list[str]] = {}
    for track in tracks:
        group = by_collection.setdefault(_collection(track), [])
        if keys[track.track_id] not in group:
            group.append(keys[track.track_id])
    for group in by_collection.values():
        group.sort(key=lambda k: stable_hash(salt, k))
    order = sorted(by_collection, key=lambda c: stable_hash(salt, "collection", c))
    out: list[str] = []
    depth = 0
    while len(out) < sum(len(g) for g in by_collection.values()):
        for name in order:
            if depth < len(by_collection[name]):
                out.append(by_collection[name][depth])
        depth += 1
    return out


def gentrain_compositions(tracks: Mapping[str, Sequence[Track]],
                          keys: Mapping[str, str]) -> dict[str, list[str]]:
    """The generator-training compositions of each Debian source (seed- and profile-free)."""
    out = {}
    for source, items in tracks.items():
        if source not in SOURCE_NAMES or not items:
            continue
        n = GENTRAIN_COMPOSITIONS[source_spec(source).kind]
        out[source] = pick_order(items, keys, salt="gentrain")[:n]
    return out


def gentrain_heldout(gentrain: Mapping[str, Sequence[str]]) -> set[str]:
    """The generator-training compositions kept out of generator training to measure their
    quality on unheard music: the last one of every source that has at least three."""
    return {keys[-1] for keys in gentrain.values() if len(keys) >= 3}


def _capacity(track: Track, cfg: BenchConfig, *, render_dir: Path,
              tools: dict[str, Tool], skipped: list[str]) -> int:
    """How many clips a track can give (0: unusable, with a warning naming it)."""
    try:
        duration = track_duration(track, render_dir=render_dir, tools=tools)
    except (AudioError, RenderError, OSError) as err:
        warnings.warn(f"skipping track {track.track_id} ({track.location}"
                      f"{'!' + track.member if track.member else ''}): {err}", stacklevel=3)
        skipped.append(track.track_id)
        return 0
    if duration is None:
        return 1
    usable = duration if cfg.scan_limit_s is None else min(duration, cfg.scan_limit_s)
    return int(usable // cfg.clip_s)


def choose_tracks(tracks: Mapping[str, Sequence[Track]], keys: Mapping[str, str],
                  cfg: BenchConfig, *, seed: int, exclude: set[str], render_dir: Path,
                  tools: dict[str, Tool], progress: bool, skipped: list[str]
                  ) -> dict[str, dict[str, int]]:
    """Pick up to ``cfg.max_tracks_per_source`` usable compositions per source (seeded order),
    skipping the compositions in ``exclude``; returns source -> {track id: clip capacity}."""
    bar = tqdm(total=sum(len(v) for v in tracks.values()), desc="probing tracks", unit="track",
               disable=not progress)

    def probe(source: str) -> tuple[dict[str, int], list[str]]:
        by_key: dict[str, list[Track]] = {}
        for track in tracks[source]:
            by_key.setdefault(keys[track.track_id], []).append(track)
        caps: dict[str, int] = {}
        lost: list[str] = []
        n_compositions = 0
        for key in pick_order(tracks[source], keys, salt=("bench", seed)):
            if key in exclude:
                continue
            if cfg.max_tracks_per_source is not None and n_compositions >= cfg.max_tracks_per_source:
                break
            usable = {}
            for track in by_key[key]:
                bar.update(1)
                cap = _capacity(track, cfg, render_dir=render_dir, tools=tools, skipped=lost)
                if cap > 0:
                    usable[track.track_id] = cap
            if usable:
                caps.update(usable)
                n_compositions += 1
        return caps, lost

    # Sources are probed side by side; within one, tracks in the seeded order (it stops early).
    sources = sorted(tracks)
    chosen = {}
    for source, (caps, lost) in zip(sources, map_tracks(probe, sources), strict=True):
        chosen[source] = caps
        skipped.extend(lost)
    bar.close()
    return chosen


def _resolve_heldout_sources(cfg: BenchConfig, available: Sequence[str], *,
                             seed: int) -> tuple[str, ...]:
    held = tuple(s for s in cfg.heldout_sources if s in available)
    if held or len(available) < 2:
        if not held:
            warnings.warn("only one real source: no source can be held out for zero-shot "
                          "testing", stacklevel=3)
        return held
    pick = sorted(available, key=lambda s: stable_hash("heldout-source", seed, s))[0]
    warnings.warn(f"held-out source(s) {cfg.heldout_sources} not available; holding out "
                  f"{pick!r} instead", stacklevel=3)
    return (pick,)


def plan_gentrain(tracks: Mapping[str, Sequence[Track]], keys: Mapping[str, str], *,
                  cache_root: Path, render_dir: Path, tools: dict[str, Tool],
                  progress: bool = True) -> GentrainClips:
    """The generator-training partition of ``tracks``; its clips go under
    ``cache_root/bench/_gentrain`` when first asked for (every build and the zoo command share
    them)."""
    gen_keys = gentrain_compositions(tracks, keys)
    chosen = {k for ks in gen_keys.values() for k in ks}
    held = gentrain_heldout(gen_keys)
    members = sorted((t for items in tracks.values() for t in items if keys[t.track_id] in chosen),
                     key=lambda t: t.track_id)
    return GentrainClips(tuple(members),
                         tuple(t.track_id for t in members if keys[t.track_id] in held),
                         cache_root / "bench" / "_gentrain", render_dir, tools, progress)


def gentrain_partition(sources: Sequence[str], *, cache_root: Path,
                       progress: bool = True) -> GentrainClips:
    """The generator-training partition of ``sources`` (no benchmark is built)."""
    tracks = list_tracks(sources, unpack_root=cache_root / "debs")
    keys = composition_keys(t.track_id for items in tracks.values() for t in items)
    tools = locate_tools({t.kind for items in tracks.values() for t in items},
                         unpack_root=cache_root / "debs")
    return plan_gentrain(tracks, keys, cache_root=cache_root,
                         render_dir=cache_root / "bench" / "_renders", tools=tools,
                         progress=progress)


def prepare_real_clips(cfg: BenchConfig, *, seed: int, real_dirs: Sequence[Path],
                       root: Path, cache_root: Path, progress: bool = True) -> RealClips:
    """Stages 1-3 (see the module docstring); returns the :class:`RealClips` of the build.

    Benchmark clips are written under ``root/raw`` (before the post-generation chain);
    generator-training clips under ``cache_root/bench/_gentrain`` (shared by every build), only
    when a generator is trained (:meth:`GentrainClips.clips`). Tracks that
    cannot be read are skipped with a warning naming the file.
    """
    skipped: list[str] = []
    unpack_root = cache_root / "debs"
    render_dir = cache_root / "bench" / "_renders"
    tracks = list_tracks(cfg.sources, real_dirs=real_dirs, unpack_root=unpack_root)
    keys = composition_keys(t.track_id for items in tracks.values() for t in items)
    tools = locate_tools({t.kind for items in tracks.values() for t in items},
                         unpack_root=unpack_root)
    excluded = {k for ks in gentrain_compositions(tracks, keys).values() for k in ks}
    capacity = choose_tracks(tracks, keys, cfg, seed=seed, exclude=excluded,
                             render_dir=render_dir, tools=tools, progress=progress,
                             skipped=skipped)
    available = sorted(s for s, caps in capacity.items() if caps)
    for source in sorted(set(capacity) - set(available)):
        warnings.warn(f"real source {source!r} has no usable track", stacklevel=2)
    heldout = _resolve_heldout_sources(cfg, available, seed=seed)
    compositions = {s: {t: keys[t] for t in capacity[s]} for s in available}
    plan = plan_splits(compositions, seed=seed, heldout_sources=heldout,
                       val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction)
    gentrain = plan_gentrain(tracks, keys, cache_root=cache_root, render_dir=render_dir,
                             tools=tools, progress=progress)
    plan = TrackPlan(gentrain.tracks, plan.split, plan.split_track, plan.composition)
    by_id = {t.track_id: t for items in tracks.values() for t in items}
    jobs = []
    for source in available:
        for track_id, cap in capacity[source].items():
            per_track = (cfg.test_clips_per_track if plan.split[track_id] == "test"
                         else cfg.clips_per_track)
            jobs.append((track_id, min(cap, per_track)))
    jobs.sort()
    bar = tqdm(total=len(jobs), desc="cutting clips", unit="track", disable=not progress)
    per_track = map_tracks(
        lambda job: extract_track_clips(by_id[job[0]], n_clips=job[1], clip_s=cfg.clip_s,
                                        seed=seed, bench_root=root, subdir="raw",
                                        render_dir=render_dir, scan_limit_s=cfg.scan_limit_s,
                                        tools=tools),
        jobs, bar=bar)
    bar.close()
    bench: list[Clip] = []
    for (track_id, _), clips in zip(jobs, per_track, strict=True):
        if not clips:
            skipped.append(track_id)
        bench.extend(clips)
    return RealClips(plan, by_id, gentrain, bench, heldout, skipped)
