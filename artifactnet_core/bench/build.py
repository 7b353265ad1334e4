"""Building ArtifactBench-mini: real tracks -> clips -> generator zoo -> one chain -> manifest.

:func:`build_bench` runs the whole chain for a :class:`~artifactnet_core.bench.config.BenchConfig`
and a seed, and returns the path of ``manifest.csv``. Everything lives in
``<cache>/bench/<profile>-<config hash>/``; every file is written atomically and skipped when it
exists, so an interrupted build resumes where it stopped, and the same config and seed give the
same manifest (byte for byte, hence the same SHA-256) on the same kind of machine.

Stages:

1-3. tracks, roles, splits and clips (:func:`artifactnet_core.bench.plan.prepare_real_clips`);
4. load the shipped generator weights, or train the generators on the generator-training clips
   (:mod:`artifactnet_core.bench.zoo`); a generator under the quality floor stops the build
   unless the profile allows it (``smoke``);
5. choose which generators regenerate each track, regenerate, and pass real and regenerated clips
   through the same post-generation chain (:mod:`artifactnet_core.bench.chain`);
6. write ``manifest.csv`` (:mod:`~artifactnet_core.bench.manifest`), ``generators.csv``,
   ``bench_config.json`` and ``build_info.json``, after checking schema and split disjointness;
7. describe every clip with physics-free descriptors and score the shortcut probe
   (:mod:`artifactnet_core.bench.shortcuts`): ``descriptors.csv``, ``shortcut_probe.csv``.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from artifactnet_core.atomic import (
    atomic_write_audio,
    atomic_write_text,
    file_lock,
    file_sha256,
    stable_hash,
)
from artifactnet_core.bench.chain import bandlimit, finish, real_bandlimit_rate, rms
from artifactnet_core.bench.clips import Clip
from artifactnet_core.bench.config import BenchConfig
from artifactnet_core.bench.manifest import (
    NONE,
    bench_origin_for,
    check_split_disjointness,
    make_manifest,
    validate_manifest,
    write_manifest,
)
from artifactnet_core.bench.plan import GentrainClips, RealClips, prepare_real_clips
from artifactnet_core.bench.sources import CodecHistory, SourceUnavailable, codec_history
from artifactnet_core.bench.splits import (
    assign_generators,
    choose_heldout_families,
    validation_family,
)
from artifactnet_core.detector.audio import AUDIO_EXTENSIONS, AudioError, load_audio
from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.paths import cache_dir

#: Bump when the build recipe changes: caches of older builds are then not reused.
BENCH_VERSION = 3


class QualityFloorError(RuntimeError):
    """A generator whose regenerations are not recognisably the input music."""


# --- where -------------------------------------------------------------------------------------

def _folder_fingerprint(folder: Path) -> list[tuple[str, int]]:
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size)
                  for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def bench_dir(config: BenchConfig, *, seed: int = 0, real_dirs: Sequence[str | Path] = (),
              cache_root: str | Path | None = None, retrain_zoo: bool = False,
              zoo: ModuleType | None = None) -> Path:
    """Return the folder a build of this config and seed lives in (not created).

    ``<cache_root or cache_dir()>/bench/<profile>-<hash>``, the hash covering the config, the
    seed, the ``--real-dir`` folders (paths, file names and sizes), the generators' weights
    (:func:`artifactnet_core.bench.zoo.weights_fingerprint`: shipping new weights starts a new
    benchmark) and :data:`BENCH_VERSION`.
    """
    if zoo is None:
        from artifactnet_core.bench import zoo
    root = Path(cache_root) if cache_root is not None else cache_dir()
    dirs = [Path(d).resolve() for d in real_dirs]
    weights = zoo.weights_fingerprint(zoo.zoo_specs(config.generators), retrain=retrain_zoo)
    key = stable_hash(BENCH_VERSION, sorted(asdict(config).items()), seed,
                      [(str(d), _folder_fingerprint(d)) for d in dirs], weights, length=10)
    return root / "bench" / f"{config.profile}-{key}"


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
    """Read clips back as mono float32 arrays at 44.1 kHz (in the given order)."""
    return [load_audio(root / c.path) for c in clips]


def generator_training_clips(config: BenchConfig, *, cache_root: str | Path | None = None,
                             progress: bool = True
                             ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The generator-training clips of ``config``'s sources, as ``(train, held_out)`` lists of
    mono float32 arrays at 44.1 kHz.

    These tracks train the neural generators and are used nowhere else; which tracks and clips
    they are does not depend on the seed or the profile (:mod:`~artifactnet_core.bench.plan`).
    The held-out clips come from *other tracks* than the training clips (the last
    generator-training composition of every source that has at least three), so the quality
    floor is measured on music the generator never heard. Both lists are interleaved across
    sources. No benchmark is built.
    """
    from artifactnet_core.bench.plan import gentrain_partition

    cache = Path(cache_root) if cache_root is not None else cache_dir()
    return _split_gentrain(gentrain_partition(config.sources, cache_root=cache,
                                              progress=progress))


def _split_gentrain(part: GentrainClips) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(training, held-out) arrays of the partition's clips, cutting them if not yet cut."""
    held_tracks = set(part.heldout_tracks)
    clips = part.clips()
    train = [c for c in clips if c.track_id not in held_tracks]
    held = [c for c in clips if c.track_id in held_tracks]
    return (load_clip_arrays(part.root, _interleave_by_source(train)),
            load_clip_arrays(part.root, _interleave_by_source(held)))


# --- stage 4-5: generators and the chain --------------------------------------------------------

def _real_path(clip: Clip) -> str:
    return f"real/{clip.source}/{clip.track_id.split('/', 1)[1]}/{clip.index:05d}.flac"


def _ai_path(generator: str, clip: Clip, *, kind: str = "ai") -> str:
    return f"{kind}/{generator}/{clip.source}/{clip.track_id.split('/', 1)[1]}/{clip.index:05d}.flac"


def _reference_path(generator: str, clip: Clip) -> str:
    return _ai_path(generator, clip, kind="ref")


def _load_generators(zoo: ModuleType, specs: Sequence, real: RealClips, *, cfg: BenchConfig,
                     seed: int, cache_root: Path, device: str | None, progress: bool,
                     retrain: bool = False) -> tuple[dict, dict[str, dict]]:
    """Every generator (shipped weights when they fit, else trained now) and its info row."""
    clips: tuple[list[np.ndarray], list[np.ndarray]] | None = None
    models, infos = {}, {}
    for spec in sorted(specs, key=lambda s: s.name):
        if clips is None and (retrain or not zoo.has_shipped_weights(spec)):
            clips = _split_gentrain(real.gentrain)
        train, held = clips or (None, None)
        models[spec.name], infos[spec.name] = zoo.load_or_train(
            spec, train, budget=cfg.zoo, seed=seed, cache_dir=cache_root, progress=progress,
            heldout_clips=held, device=device, retrain=retrain)
    failing = sorted(n for n, i in infos.items() if i.get("passes_floor") is False)
    if failing and cfg.zoo.enforce_floor:
        raise QualityFloorError(
            f"generators under the quality floor: {failing}. Their regenerations are not "
            "recognisably the input music, so a detector could win by spotting bad "
            "reconstructions; retrain them (python -m artifactnet_core.bench.zoo --retrain) or "
            "take them out of the profile.")
    return models, infos


def _finish_all(zoo: ModuleType, models: dict, specs: Sequence,
                assignment: dict[str, tuple[str, ...]], real: RealClips,
                histories: dict[str, CodecHistory], *, seed: int, root: Path,
                device: str | None, progress: bool) -> tuple[dict[str, int | None], dict[str, str]]:
    """Write every real and regenerated clip through the chain; returns (band limit of each
    real track, failed AI paths)."""
    rates = {s.name: s.internal_sr for s in specs}
    limits = {t: real_bandlimit_rate(t, [rates[g] for g in gens], seed=seed)
              for t, gens in assignment.items()}
    failed: dict[str, str] = {}
    todo = [c for c in real.bench if not (root / _real_path(c)).exists()
            or any(not (root / _reference_path(g, c)).exists() for g in assignment[c.track_id])]
    for clip in tqdm(todo, desc="regenerating", unit="clip", disable=not progress):
        raw = load_audio(root / clip.path)
        real_out = finish(raw, bandlimit_rate=limits[clip.track_id], reencode=None,
                          target_rms=None)
        atomic_write_audio(root / _real_path(clip), real_out)
        for name in assignment[clip.track_id]:
            model = models[name]
            if device is not None and str(device).startswith("cuda"):
                model = model.to(device)
            y = np.asarray(zoo.regenerate(model, raw), dtype=np.float32)
            if y.shape != raw.shape or not np.isfinite(y).all():
                failed[_ai_path(name, clip)] = "wrong length or non-finite output"
                warnings.warn(f"generator {name} failed on {clip.path}; row dropped",
                              stacklevel=2)
                continue
            # The generator's own resampling is its band limit; its spectral envelope is
            # matched to the clip it regenerates (through the same band limit, so nothing
            # above it is boosted); the source's codec and the real clip's level are applied
            # by the same chain as the real clip's.
            source = bandlimit(raw, rate=rates[name])  # a copy at the full rate
            y = finish(y, bandlimit_rate=None, reencode=histories[clip.track_id],
                       target_rms=rms(real_out), match_to=source)
            atomic_write_audio(root / _ai_path(name, clip), y)
            # Its pair for residual training: the real clip through the same chain, so the two
            # differ by what the generator did and nothing else (band limit, codec, level).
            ref = finish(raw, bandlimit_rate=rates[name] if rates[name] < SAMPLE_RATE else None,
                         reencode=histories[clip.track_id], target_rms=rms(real_out))
            atomic_write_audio(root / _reference_path(name, clip), ref)
    return limits, failed


# --- stage 6: manifest ------------------------------------------------------------------------

def _heldout_tag(family_held: bool, source_held: bool) -> str:
    return {(False, False): "none", (True, False): "family", (False, True): "source",
            (True, True): "family+source"}[(family_held, source_held)]


def _manifest_rows(real: RealClips, assignment: dict[str, tuple[str, ...]], specs: Sequence,
                   heldout_families: Sequence[str], histories: dict[str, CodecHistory],
                   limits: dict[str, int | None], *, root: Path, failed: dict[str, str],
                   progress: bool) -> pd.DataFrame:
    rows = []
    held_fam = set(heldout_families)
    by_name = {s.name: s for s in specs}
    for clip in tqdm(sorted(real.bench, key=lambda c: c.clip_id), desc="hashing files",
                     unit="clip", disable=not progress):
        split = real.plan.split[clip.track_id]
        history = histories[clip.track_id]
        common = {"source": clip.source, "codec": "wav" if history.lossless else history.codec,
                  "duration_s": clip.n_samples / SAMPLE_RATE, "track_id": clip.track_id,
                  "split_track": real.plan.split_track[clip.track_id],
                  "clip_id": clip.clip_id, "start_s": clip.start_s,
                  "real_path": _real_path(clip),
                  "composition": real.plan.composition[clip.track_id],
                  "codec_history": history.label(), "lossless": history.lossless}
        source_held = clip.source in real.heldout_sources
        rows.append({**common, "path": _real_path(clip), "label": "real", "generator": NONE,
                     "family": NONE, "split": split, "bench_origin": bench_origin_for(split),
                     "sha256": file_sha256(root / _real_path(clip)),
                     "reference_path": _real_path(clip),
                     "bandlimit_hz": (limits[clip.track_id] or SAMPLE_RATE) // 2,
                     "heldout": _heldout_tag(False, source_held)})
        for name in assignment[clip.track_id]:
            path = _ai_path(name, clip)
            if path in failed:
                continue
            spec = by_name[name]
            fam_held = spec.family in held_fam
            ai_split = "excluded" if fam_held and split in ("train", "val") else split
            rows.append({**common, "path": path, "label": "ai", "generator": name,
                         "family": spec.family, "split": ai_split,
                         "bench_origin": bench_origin_for(ai_split),
                         "sha256": file_sha256(root / path),
                         "reference_path": _reference_path(name, clip),
                         "bandlimit_hz": min(spec.internal_sr, SAMPLE_RATE) // 2,
                         "heldout": _heldout_tag(fam_held, source_held)})
    return make_manifest(rows)


def _generators_table(specs: Sequence, infos: dict[str, dict], df: pd.DataFrame,
                      heldout_families: Sequence[str]) -> pd.DataFrame:
    rows = []
    for spec in sorted(specs, key=lambda s: s.name):
        mine = df[df["generator"] == spec.name]
        row = {"name": spec.name, "family": spec.family, "bottleneck": spec.bottleneck,
               "total_stride": spec.total_stride, "internal_sr": spec.internal_sr,
               "heldout_family": spec.family in set(heldout_families),
               "n_clips": len(mine)}
        for split in ("train", "val", "test", "excluded"):
            row[f"n_{split}"] = int((mine["split"] == split).sum())
        row["n_split_track_train"] = int((mine["split_track"] == "train").sum())
        for key, value in sorted(infos.get(spec.name, {}).items()):
            if key == "cached":
                row["weights"] = {"shipped": "shipped", True: "cache"}.get(value, "trained")
            if key in row or key in ("cached", "path", "loss_curve"):
                continue
            row[key] = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) \
                else value
        rows.append(row)
    return pd.DataFrame(rows)


def build_bench(config: BenchConfig, *, seed: int = 0, real_dirs: Sequence[str | Path] = (),
                cache_root: str | Path | None = None, progress: bool = True,
                zoo: ModuleType | None = None, device: str | None = "cpu",
                retrain_zoo: bool = False) -> Path:
    """Build (or resume) ArtifactBench-mini and return the path of its ``manifest.csv``.

    Parameters
    ----------
    config : BenchConfig
        What to build (one per profile in :mod:`artifactnet_core.profiles`).
    seed : int
        Drives the benchmark's choices: tracks, splits, segments, generator assignment, band
        limits. Same seed + same kind of machine -> same manifest SHA-256. (The
        generator-training partition and shipped generators do not depend on it.)
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
        with ``zoo_specs``, ``has_shipped_weights``, ``load_or_train`` and ``regenerate``.
    device : str or None
        Where generators train and run: ``"cpu"`` (default, reproducible everywhere), ``"cuda"``,
        or ``None`` for CUDA when present.
    retrain_zoo : bool
        Train the generators here even where shipped weights exist (``--retrain-zoo``).

    Raises
    ------
    SourceUnavailable
        A Debian source is neither installed nor obtainable (the message names the packages).
    QualityFloorError
        A generator misses the quality floor in a profile that enforces it.
    ManifestError
        The finished manifest fails the schema or leaks between splits (a bug, not bad input).
    """
    cfg = config
    cache = Path(cache_root) if cache_root is not None else cache_dir()
    dirs = [Path(d).resolve() for d in real_dirs]
    if zoo is None:
        from artifactnet_core.bench import zoo
    root = bench_dir(cfg, seed=seed, real_dirs=dirs, cache_root=cache, retrain_zoo=retrain_zoo,
                     zoo=zoo)
    root.mkdir(parents=True, exist_ok=True)
    # Two processes building the same bench (make test's notebook run beside its bench tests)
    # would both regenerate every clip: the second waits here, then finds the build complete.
    with file_lock(root.parent / f"{root.name}.lock"):
        return _build_in(root, cfg, seed=seed, dirs=dirs, cache=cache, zoo=zoo, device=device,
                         progress=progress, retrain_zoo=retrain_zoo)


def _build_in(root: Path, cfg: BenchConfig, *, seed: int, dirs: list[Path], cache: Path,
              zoo: ModuleType, device: str | None, progress: bool, retrain_zoo: bool) -> Path:
    """The body of :func:`build_bench`, run while holding the bench folder's lock (its timings
    leave out the wait for the lock)."""
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    real = prepare_real_clips(cfg, seed=seed, real_dirs=dirs, root=root, cache_root=cache,
                              progress=progress)
    timings["real_clips_s"] = time.perf_counter() - t_start
    if not real.bench:
        raise SourceUnavailable("no usable real track: nothing to build a benchmark from")
    bench_tracks = sorted({c.track_id for c in real.bench})
    histories = {}
    for track_id in bench_tracks:
        try:
            histories[track_id] = codec_history(real.tracks[track_id])
        except AudioError:
            histories[track_id] = CodecHistory("lossless", SAMPLE_RATE, 1, 0.0)

    specs = tuple(zoo.zoo_specs(cfg.generators))
    families = {s.name: s.family for s in specs}
    heldout_families = cfg.heldout_families
    if heldout_families is None:
        heldout_families = choose_heldout_families(sorted(set(families.values())), seed=seed)
    unknown = sorted(set(heldout_families) - set(families.values()))
    if unknown:
        raise ValueError(f"held-out families {unknown} are not in the {cfg.profile} zoo "
                         f"(families: {sorted(set(families.values()))})")
    track_rows = [(t, real.tracks[t].source, real.plan.split[t]) for t in bench_tracks]
    assignment = assign_generators(track_rows, sorted(families.items()),
                                   per_clip=cfg.ai_per_real, seed=seed,
                                   heldout_families=heldout_families,
                                   heldout_test_share=cfg.heldout_test_share)
    t0 = time.perf_counter()
    models, infos = _load_generators(zoo, specs, real, cfg=cfg, seed=seed, cache_root=cache,
                                     device=device, progress=progress, retrain=retrain_zoo)
    timings["generators_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    limits, failed = _finish_all(zoo, models, specs, assignment, real, histories, seed=seed,
                                 root=root, device=device, progress=progress)
    timings["regeneration_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = _manifest_rows(real, assignment, specs, heldout_families, histories, limits,
                        root=root, failed=failed, progress=progress)
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
            "manifest_sha256": sha,
            "validation_family": validation_family(df, heldout_families)}
    atomic_write_text(root / "bench_config.json", json.dumps(meta, indent=1, sort_keys=True))
    timings["manifest_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    from artifactnet_core.bench.shortcuts import write_shortcut_probe

    write_shortcut_probe(root, df, exclude_families=(meta["validation_family"],)
                         if meta["validation_family"] else (), progress=progress)
    timings["shortcut_probe_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    timings = {k: round(v, 2) for k, v in timings.items()}
    # A call that finds the build complete only checks it: "timings" stays the cost of the call
    # that first completed the build (what the data card and the run ledger report).
    previous = root / "build_info.json"
    first = json.loads(previous.read_text()).get("timings") if previous.exists() else None
    info = {"timings": first or timings, "last_call_timings": timings,
            "skipped_tracks": sorted(real.skipped), "failed_regenerations": failed,
            "n_rows": len(df), "n_real": int((df["label"] == "real").sum()),
            "n_ai": int((df["label"] == "ai").sum())}
    atomic_write_text(root / "build_info.json", json.dumps(info, indent=1, sort_keys=True))
    return root / "manifest.csv"
