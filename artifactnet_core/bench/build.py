"""Building ArtifactBench-mini: real tracks -> clips -> generator zoo -> regenerations -> manifest.

:func:`build_bench` runs the whole chain for a profile (``smoke``, ``laptop`` or ``paper``) and a
seed, and returns the path of ``manifest.csv``. Everything lives in
``<cache>/bench/<profile>-<config hash>/``; every file is written atomically and skipped when it
exists, so an interrupted build resumes where it stopped, and the same config and seed give the
same manifest (byte for byte, hence the same SHA-256) on the same machine.

Stages:

1. list the tracks of the six real sources (:mod:`~artifactnet_core.bench.sources`) and of any
   ``--real-dir`` folders, probe their durations (rendering the scores), drop unusable ones;
2. partition tracks into the generator-training partition and the benchmark, and split the
   benchmark tracks under both protocols (:mod:`~artifactnet_core.bench.splits`);
3. cut clips (:mod:`~artifactnet_core.bench.clips`);
4. train (or load) the profile's generators on the generator-training clips
   (:mod:`artifactnet_core.bench.zoo`);
5. regenerate each benchmark clip with a balanced subset of generators;
6. write ``manifest.csv`` (:mod:`~artifactnet_core.bench.manifest`), ``generators.csv``,
   ``bench_config.json`` and ``build_info.json``, after checking schema and split disjointness.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from artifactnet_core.atomic import atomic_write_text, file_sha256, stable_hash
from artifactnet_core.bench.clips import Clip, extract_track_clips
from artifactnet_core.bench.config import BenchConfig
from artifactnet_core.bench.manifest import (
    NONE,
    bench_origin_for,
    check_split_disjointness,
    make_manifest,
    validate_manifest,
    write_manifest,
)
from artifactnet_core.bench.render import RenderError
from artifactnet_core.bench.sources import (
    SOURCE_NAMES,
    SourceUnavailable,
    Track,
    list_folder_tracks,
    list_source_tracks,
    locate_fluidsynth,
    track_duration,
)
from artifactnet_core.bench.splits import (
    TrackPlan,
    allocate_clips,
    assign_generators,
    choose_heldout_families,
    plan_tracks,
)
from artifactnet_core.detector.audio import AUDIO_EXTENSIONS, AudioError, load_audio
from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.paths import cache_dir

#: Bump when the build recipe changes: caches of older builds are then not reused.
BENCH_VERSION = 1


@dataclass
class RealClips:
    """The real side of a build: track plan, clips of both partitions, skipped tracks."""

    plan: TrackPlan
    tracks: dict[str, Track]
    gentrain: list[Clip]
    bench: list[Clip]
    heldout_sources: tuple[str, ...]
    skipped: list[str] = field(default_factory=list)


# --- where -------------------------------------------------------------------------------------

def _user_source_names(n: int) -> list[str]:
    return ["user" if i == 0 else f"user{i + 1}" for i in range(n)]


def _folder_fingerprint(folder: Path) -> list[tuple[str, int]]:
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size)
                  for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def bench_dir(config: BenchConfig, *, seed: int = 0, real_dirs: Sequence[str | Path] = (),
              cache_root: str | Path | None = None) -> Path:
    """Return the folder a build of this config and seed lives in (not created).

    ``<cache_root or cache_dir()>/bench/<profile>-<hash>``, the hash covering the config, the
    seed, the ``--real-dir`` folders (paths, file names and sizes) and :data:`BENCH_VERSION`.
    """
    cfg = config
    root = Path(cache_root) if cache_root is not None else cache_dir()
    dirs = [Path(d).resolve() for d in real_dirs]
    key = stable_hash(BENCH_VERSION, sorted(asdict(cfg).items()), seed,
                      [(str(d), _folder_fingerprint(d)) for d in dirs], length=10)
    return root / "bench" / f"{cfg.profile}-{key}"


# --- stage 1-3: real clips --------------------------------------------------------------------

def _list_tracks(cfg: BenchConfig, *, seed: int, real_dirs: Sequence[Path],
                 unpack_root: Path) -> dict[str, list[Track]]:
    tracks: dict[str, list[Track]] = {}
    for name in cfg.sources:
        # A few spare scores stand in for pieces that fail to parse or render.
        spare = cfg.corpus_pieces // 4 + 1
        tracks[name] = list_source_tracks(name, seed=seed,
                                          corpus_pieces=cfg.corpus_pieces + spare,
                                          corpus_max_s=cfg.corpus_max_s,
                                          unpack_root=unpack_root)
    for name, folder in zip(_user_source_names(len(real_dirs)), real_dirs, strict=True):
        tracks[name] = list_folder_tracks(folder, source=name)
        if not tracks[name]:
            warnings.warn(f"--real-dir {folder}: no audio files found", stacklevel=3)
    return tracks


def _probe(tracks: dict[str, list[Track]], cfg: BenchConfig, *, seed: int, render_dir: Path,
           fluidsynth: tuple[str, dict | None] | None, progress: bool,
           skipped: list[str]) -> dict[str, dict[str, int]]:
    """Return source -> {track id: clip capacity}, dropping tracks that cannot give a clip."""
    capacity: dict[str, dict[str, int]] = {}
    todo = []
    for source, items in tracks.items():
        if cfg.max_tracks_per_source is not None:
            # Shuffle so a cheap profile still samples the whole package, not its first files.
            items = sorted(items, key=lambda t: stable_hash("pick", seed, t.track_id))
        todo.extend(items)
        capacity[source] = {}
    bar = tqdm(todo, desc="probing tracks", unit="track", disable=not progress)
    for track in bar:
        caps = capacity[track.source]
        wanted = cfg.max_tracks_per_source
        if track.kind == "score":
            wanted = min(wanted or cfg.corpus_pieces, cfg.corpus_pieces)
        if wanted is not None and len(caps) >= wanted:
            continue
        try:
            duration = track_duration(track, render_dir=render_dir, fluidsynth=fluidsynth)
        except (AudioError, RenderError, OSError) as err:
            warnings.warn(f"skipping track {track.track_id} ({track.location}"
                          f"{'!' + track.member if track.member else ''}): {err}", stacklevel=3)
            skipped.append(track.track_id)
            continue
        if duration is None:
            cap = cfg.max_clips_per_track
        else:
            usable = duration if cfg.scan_limit_s is None else min(duration, cfg.scan_limit_s)
            cap = min(int(usable // cfg.clip_s), cfg.max_clips_per_track)
        if cap > 0:
            caps[track.track_id] = cap
    return capacity


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


def prepare_real_clips(cfg: BenchConfig, *, seed: int, real_dirs: Sequence[Path],
                       root: Path, cache_root: Path, progress: bool = True) -> RealClips:
    """Stages 1-3: list and probe tracks, plan partitions and splits, cut and write clips.

    Returns the :class:`RealClips` of the build; tracks that cannot be read are skipped with a
    warning naming the file.
    """
    unknown = set(cfg.sources) - set(SOURCE_NAMES)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}; known: {SOURCE_NAMES}")
    skipped: list[str] = []
    unpack_root = cache_root / "debs"
    render_dir = cache_root / "bench" / "_renders"
    tracks = _list_tracks(cfg, seed=seed, real_dirs=real_dirs, unpack_root=unpack_root)
    fluidsynth = None
    if any(t.kind == "score" for items in tracks.values() for t in items):
        fluidsynth = locate_fluidsynth(unpack_root=unpack_root)
    capacity = _probe(tracks, cfg, seed=seed, render_dir=render_dir, fluidsynth=fluidsynth,
                      progress=progress, skipped=skipped)
    available = sorted(s for s, caps in capacity.items() if caps)
    for source in sorted(set(capacity) - set(available)):
        warnings.warn(f"real source {source!r} has no usable track", stacklevel=2)
    heldout = _resolve_heldout_sources(cfg, available, seed=seed)
    plan = plan_tracks({s: list(capacity[s]) for s in available}, seed=seed,
                       gentrain_fraction=cfg.gentrain_fraction, heldout_sources=heldout,
                       val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction)
    gentrain_ids = set(plan.gentrain)
    counts: dict[str, int] = {}
    for source in available:
        caps = capacity[source]
        counts.update(allocate_clips({t: c for t, c in caps.items() if t in gentrain_ids},
                                     total=cfg.gentrain_clips_per_source))
        counts.update(allocate_clips({t: c for t, c in caps.items() if t not in gentrain_ids},
                                     total=cfg.real_clips_per_source))
    by_id = {t.track_id: t for items in tracks.values() for t in items}
    gentrain: list[Clip] = []
    bench: list[Clip] = []
    jobs = sorted((t, n) for t, n in counts.items() if n > 0)
    for track_id, n in tqdm(jobs, desc="cutting clips", unit="track", disable=not progress):
        is_gen = track_id in gentrain_ids
        clips = extract_track_clips(by_id[track_id], n_clips=n, clip_s=cfg.clip_s, seed=seed,
                                    bench_root=root, subdir="gentrain" if is_gen else "real",
                                    render_dir=render_dir, scan_limit_s=cfg.scan_limit_s,
                                    fluidsynth=fluidsynth)
        if not clips:
            skipped.append(track_id)
        (gentrain if is_gen else bench).extend(clips)
    return RealClips(plan, by_id, gentrain, bench, heldout, skipped)


def _interleave_by_source(clips: Sequence[Clip]) -> list[Clip]:
    """Round-robin over sources, so any tail of the list (the zoo's quality clips) mixes them."""
    groups: dict[str, list[Clip]] = {}
    for clip in sorted(clips, key=lambda c: c.clip_id):
        groups.setdefault(clip.source, []).append(clip)
    out: list[Clip] = []
    depth = 0
    while len(out) < len(clips):
        for source in sorted(groups):
            if depth < len(groups[source]):
                out.append(groups[source][depth])
        depth += 1
    return out


def load_clip_arrays(root: Path, clips: Sequence[Clip]) -> list[np.ndarray]:
    """Read clips back as mono float32 arrays at 44.1 kHz (in the given order).
    """
    return [load_audio(root / c.path) for c in clips]


def generator_training_clips(config: BenchConfig, *, seed: int = 0,
                             real_dirs: Sequence[str | Path] = (),
                             cache_root: str | Path | None = None,
                             progress: bool = True) -> list[np.ndarray]:
    """Return the generator-training clips of a build as mono float32 arrays at 44.1 kHz.

    These tracks train the neural generators and are used nowhere else. The clips are cut (and
    cached) on the first call; the list is interleaved across sources.
    """
    cfg = config
    cache = Path(cache_root) if cache_root is not None else cache_dir()
    dirs = [Path(d).resolve() for d in real_dirs]
    root = bench_dir(cfg, seed=seed, real_dirs=dirs, cache_root=cache)
    real = prepare_real_clips(cfg, seed=seed, real_dirs=dirs, root=root, cache_root=cache,
                              progress=progress)
    return load_clip_arrays(root, _interleave_by_source(real.gentrain))


# --- stage 4-5: generators --------------------------------------------------------------------

def match_loudness(audio: np.ndarray, reference: np.ndarray, *, peak: float = 0.999) -> np.ndarray:
    """Scale ``audio`` to the RMS level of ``reference``, then down if its peak would exceed
    ``peak`` (never clipping).
    """
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    target = float(np.sqrt(np.mean(np.square(reference, dtype=np.float64))))
    out = audio * (target / rms) if rms > 1e-8 else audio.copy()
    top = float(np.max(np.abs(out))) if out.size else 0.0
    if top > peak:
        out = out * (peak / top)
    return out.astype(np.float32)


def _ai_path(generator: str, clip: Clip) -> str:
    return f"ai/{generator}/{clip.source}/{clip.track_id.split('/', 1)[1]}/{clip.index:05d}.flac"


def _regenerate_all(zoo: ModuleType, specs: Sequence, assignment: dict[str, tuple[str, ...]],
                    real: RealClips, *, cfg: BenchConfig, seed: int, root: Path,
                    cache_root: Path, device: str | None, progress: bool
                    ) -> tuple[dict[str, dict], dict[str, str]]:
    """Train/load each generator and write its regenerations; returns (infos, failed paths)."""
    from artifactnet_core.atomic import atomic_write_audio

    by_gen: dict[str, list[Clip]] = {}
    for clip in real.bench:
        for name in assignment.get(clip.clip_id, ()):
            by_gen.setdefault(name, []).append(clip)
    train_arrays: list[np.ndarray] | None = None
    infos: dict[str, dict] = {}
    failed: dict[str, str] = {}
    for spec in sorted(specs, key=lambda s: s.name):
        if train_arrays is None:
            train_arrays = load_clip_arrays(root, _interleave_by_source(real.gentrain))
        model, info = zoo.load_or_train(spec, train_arrays, budget=cfg.zoo, seed=seed,
                                        cache_dir=cache_root, progress=progress, device=device)
        infos[spec.name] = info
        if device is not None and str(device).startswith("cuda"):
            model = model.to(device)
        clips = [c for c in by_gen.get(spec.name, [])
                 if not (root / _ai_path(spec.name, c)).exists()]
        for clip in tqdm(clips, desc=f"regenerating {spec.name}", unit="clip",
                         disable=not progress):
            x = load_audio(root / clip.path)
            y = np.asarray(zoo.regenerate(model, x), dtype=np.float32)
            if y.shape != x.shape or not np.isfinite(y).all():
                failed[_ai_path(spec.name, clip)] = "wrong length or non-finite output"
                warnings.warn(f"generator {spec.name} failed on {clip.path}; row dropped",
                              stacklevel=2)
                continue
            if cfg.match_loudness:
                y = match_loudness(y, x)
            atomic_write_audio(root / _ai_path(spec.name, clip), y)
    return infos, failed


# --- stage 6: manifest ------------------------------------------------------------------------

def _heldout_tag(family_held: bool, source_held: bool) -> str:
    return {(False, False): "none", (True, False): "family", (False, True): "source",
            (True, True): "family+source"}[(family_held, source_held)]


def _manifest_rows(real: RealClips, assignment: dict[str, tuple[str, ...]],
                   families: dict[str, str], heldout_families: Sequence[str], *, root: Path,
                   failed: dict[str, str], progress: bool) -> pd.DataFrame:
    rows = []
    held_fam = set(heldout_families)
    for clip in tqdm(sorted(real.bench, key=lambda c: c.clip_id), desc="hashing files",
                     unit="clip", disable=not progress):
        split = real.plan.split[clip.track_id]
        common = {"source": clip.source, "codec": "wav",
                  "duration_s": clip.n_samples / SAMPLE_RATE, "track_id": clip.track_id,
                  "split_track": real.plan.split_track[clip.track_id],
                  "clip_id": clip.clip_id, "start_s": clip.start_s, "real_path": clip.path}
        source_held = clip.source in real.heldout_sources
        rows.append({**common, "path": clip.path, "label": "real", "generator": NONE,
                     "family": NONE, "split": split, "bench_origin": bench_origin_for(split),
                     "sha256": file_sha256(root / clip.path),
                     "heldout": _heldout_tag(False, source_held)})
        for name in assignment.get(clip.clip_id, ()):
            path = _ai_path(name, clip)
            if path in failed:
                continue
            fam_held = families[name] in held_fam
            ai_split = "excluded" if fam_held and split in ("train", "val") else split
            rows.append({**common, "path": path, "label": "ai", "generator": name,
                         "family": families[name], "split": ai_split,
                         "bench_origin": bench_origin_for(ai_split),
                         "sha256": file_sha256(root / path),
                         "heldout": _heldout_tag(fam_held, source_held)})
    return make_manifest(rows)


def _generators_table(specs: Sequence, infos: dict[str, dict], df: pd.DataFrame,
                      heldout_families: Sequence[str]) -> pd.DataFrame:
    rows = []
    for spec in sorted(specs, key=lambda s: s.name):
        mine = df[df["generator"] == spec.name]
        row = {"name": spec.name, "family": spec.family, "bottleneck": spec.bottleneck,
               "total_stride": spec.total_stride,
               "heldout_family": spec.family in set(heldout_families),
               "n_clips": len(mine)}
        for split in ("train", "val", "test", "excluded"):
            row[f"n_{split}"] = int((mine["split"] == split).sum())
        row["n_split_track_train"] = int((mine["split_track"] == "train").sum())
        for key, value in sorted(infos.get(spec.name, {}).items()):
            if key in row or key in ("cached", "path"):
                continue
            row[key] = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) \
                else value
        rows.append(row)
    return pd.DataFrame(rows)


def build_bench(config: BenchConfig, *, seed: int = 0, real_dirs: Sequence[str | Path] = (),
                cache_root: str | Path | None = None, progress: bool = True,
                zoo: ModuleType | None = None,
                device: str | None = "cpu") -> Path:
    """Build (or resume) ArtifactBench-mini and return the path of its ``manifest.csv``.

    Parameters
    ----------
    config : BenchConfig
        What to build (one per profile in :mod:`artifactnet_core.profiles`).
    seed : int
        Drives every choice: tracks, partitions, segments, corpus pieces, generator
        assignment, generator training. Same seed + same machine -> same manifest SHA-256.
    real_dirs : sequence of paths
        Extra folders of the user's own music (``--real-dir``), each a real source named
        ``user``, ``user2``...; every audio file under them is a track, unreadable ones are
        skipped with a warning.
    cache_root : path, optional
        Cache root (default :func:`artifactnet_core.paths.cache_dir`, i.e.
        ``$ARTIFACTNET_CACHE``); the bench lives in ``<cache_root>/bench/<config.profile>-<hash>``.
    progress : bool
        Show tqdm progress bars.
    zoo : module, optional
        The generator zoo (default :mod:`artifactnet_core.bench.zoo`); tests pass a stand-in
        with ``zoo_specs``, ``load_or_train`` and ``regenerate``.
    device : str or None
        Where generators train and run: ``"cpu"`` (default, reproducible everywhere), ``"cuda"``,
        or ``None`` for CUDA when present.

    Raises
    ------
    SourceUnavailable
        A Debian source is neither installed nor obtainable (the message names the packages).
    ManifestError
        The finished manifest fails the schema or leaks between splits (a bug, not bad input).
    """
    t_start = time.perf_counter()
    cfg = config
    cache = Path(cache_root) if cache_root is not None else cache_dir()
    dirs = [Path(d).resolve() for d in real_dirs]
    root = bench_dir(cfg, seed=seed, real_dirs=dirs, cache_root=cache)
    root.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    real = prepare_real_clips(cfg, seed=seed, real_dirs=dirs, root=root, cache_root=cache,
                              progress=progress)
    timings["real_clips_s"] = time.perf_counter() - t_start
    if not real.bench:
        raise SourceUnavailable("no usable real track: nothing to build a benchmark from")

    if zoo is None:
        from artifactnet_core.bench import zoo
    specs = tuple(zoo.zoo_specs(cfg.generators))
    families = {s.name: s.family for s in specs}
    heldout_families = cfg.heldout_families
    if heldout_families is None:
        heldout_families = choose_heldout_families(sorted(set(families.values())), seed=seed)
    unknown = sorted(set(heldout_families) - set(families.values()))
    if unknown:
        raise ValueError(f"held-out families {unknown} are not in the {cfg.profile} zoo "
                         f"(families: {sorted(set(families.values()))})")
    clip_rows = [(c.clip_id, c.source, real.plan.split[c.track_id]) for c in real.bench]
    assignment = assign_generators(clip_rows, sorted(families.items()),
                                   per_clip=cfg.ai_per_real, seed=seed,
                                   heldout_families=heldout_families,
                                   heldout_test_share=cfg.heldout_test_share)
    t0 = time.perf_counter()
    infos, failed = _regenerate_all(zoo, specs, assignment, real, cfg=cfg, seed=seed,
                                    root=root, cache_root=cache, device=device,
                                    progress=progress)
    timings["generators_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = _manifest_rows(real, assignment, families, heldout_families, root=root,
                        failed=failed, progress=progress)
    validate_manifest(df)
    zero_shot = len(heldout_families) >= 2 and bool(real.heldout_sources)
    check_split_disjointness(df, heldout_families=heldout_families,
                             heldout_sources=real.heldout_sources,
                             forbidden_tracks=real.plan.gentrain, require_zero_shot=zero_shot)
    unseen = sorted(set(families) - set(df.loc[df["split_track"] == "train", "generator"]))
    if unseen:
        warnings.warn(f"generators without track-level train clips: {unseen}", stacklevel=2)
    sha = write_manifest(df, root / "manifest.csv")
    atomic_write_text(root / "manifest.sha256", f"{sha}  manifest.csv\n")
    gen_table = _generators_table(specs, infos, df, heldout_families)
    atomic_write_text(root / "generators.csv", gen_table.to_csv(index=False, lineterminator="\n"))
    meta = {"bench_version": BENCH_VERSION, "config": asdict(cfg), "seed": seed,
            "real_dirs": [str(d) for d in dirs], "heldout_families": list(heldout_families),
            "heldout_sources": list(real.heldout_sources),
            "generators": sorted(families), "gentrain_tracks": list(real.plan.gentrain),
            "manifest_sha256": sha}
    atomic_write_text(root / "bench_config.json", json.dumps(meta, indent=1, sort_keys=True))
    timings["manifest_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    info = {"timings": {k: round(v, 2) for k, v in timings.items()},
            "skipped_tracks": sorted(real.skipped), "failed_regenerations": failed,
            "n_rows": len(df), "n_real": int((df["label"] == "real").sum()),
            "n_ai": int((df["label"] == "ai").sum())}
    atomic_write_text(root / "build_info.json", json.dumps(info, indent=1, sort_keys=True))
    return root / "manifest.csv"
