"""The generator zoo of ArtifactBench-mini: the catalogue, caching and regeneration.

Following Afchar et al. (ICASSP 2025), the "AI" tracks of the benchmark are real clips passed
through neural autoencoders. The zoo trains its own small autoencoders, one per
:class:`GeneratorSpec` in :data:`ZOO`, on a dedicated generator-training partition of real clips,
with fixed seeds and cached safetensors weights, and checks each against a quality floor
(:mod:`~.quality`): its output must be recognisably the input music, not music-coloured noise.

Modules: :mod:`~.models` (network pieces, one decoder per family), :mod:`~.training` (losses and
the training loop), :mod:`~.quality` (metrics and the floor); this one holds the catalogue,
:func:`load_or_train`, :func:`regenerate`, :func:`train_zoo` and :func:`zoo_table`
(and ``python -m artifactnet_core.bench.zoo``).

The decoder
families themselves are taught in ``01_residual_physics``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from artifactnet_core.atomic import file_sha256, stable_hash
from artifactnet_core.bench.config import ZooBudget
from artifactnet_core.bench.zoo.models import (
    BOTTLENECKS,
    FAMILIES,
    Generator,
    GeneratorSpec,
    build_generator,
    count_parameters,
)
from artifactnet_core.bench.zoo.quality import (
    DISTANCE_RATIO,
    FLOOR,
    audible,
    chance_quality,
    mean_quality,
    passes_floor,
    reconstruction_quality,
)
from artifactnet_core.bench.zoo.training import (
    envelope_loss,
    multi_resolution_stft_loss,
    resample,
    train_generator,
)
from artifactnet_core.checkpoint import load_checkpoint, save_checkpoint
from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.runtime import resolve_device

__all__ = [
    "BOTTLENECKS", "FAMILIES", "FLOOR", "ZOO", "GeneratorSpec", "build_generator",
    "chance_quality", "count_parameters", "envelope_loss", "load_generator", "load_or_train",
    "multi_resolution_stft_loss", "passes_floor", "reconstruction_quality", "regenerate",
    "save_generator", "shipped_infos", "train_generator", "train_zoo", "zoo_specs", "zoo_table",
]

#: Bump when the architecture or the training recipe changes: old cached weights are not reused.
ZOO_VERSION = 5

# ----------------------------------------------------------------------------------------------
# The zoo

_T, _S, _R, _P, _I, _M, _V = FAMILIES

#: Every generator of the benchmark: seven decoder families x two variants, three total strides
#: (256, 320, 512), two internal rates (44.1 and 32 kHz: resampling through 24 kHz alone costs
#: 5.2 dB of log-mel distance and through 22.05 kHz 6.4 dB, most of the 7.3 dB the quality floor
#: allows), three bottleneck kinds. Encoders see a log-mel and the compressed complex STFT (phase
#: kept); the mel vocoders' latent is a 128-band log-mel plus a 16-channel learned
#: fine-structure latent (a pure mel latent cannot know the phase: its regenerations reached an
#: envelope correlation of 0.58, under the floor). ``steps`` is the full recipe (laptop and
#: paper profiles). Trained on one CPU thread for the laptop zoo (held-out envelope r /
#: centred log-mel r, floor 0.80 / 0.70): melvoc_melphase_fsq_s256 0.799 / 0.688 at 2,000
#: steps, 0.839 / 0.711 at 3,600 (shipped); snake_rvq_s512 0.803 / 0.680 at 3,200, 0.827 / 0.695
#: at 5,000 (24 instead of 12 codebooks: 0.836 / 0.693), 0.850 / 0.709 / 5.3 dB (chance 17.7 dB)
#: at 8,000 (2026-11-28, shipped);
#: resize_nearest_cont_s256 0.784 / 0.584 at 2,600, 0.817 / 0.598 at 6,400 (600-step probes:
#: as is 0.518 / 0.514, refined top stage 0.576 / 0.535, min_width 32 0.480 / 0.485, both
#: 0.491 / 0.488), with its top stage refined 0.865 / 0.667 / 6.1 dB at 6,400 steps (under) and
#: 0.925 / 0.790 / 4.6 dB (chance 17.7 dB) at 12,800 (78 min on one thread, 2026-12-04,
#: shipped). The 32 kHz ones at their full recipe, one CPU thread each (2026-11-27; in-band,
#: against the input band-limited at 16 kHz: envelope r / centred log-mel r / distance, chance
#: 16.3 dB, ceiling 6.5 dB): tconv_rvq_s320 0.831 / 0.704 / 5.3,
#: istft_rvq_s320 0.812 / 0.715 / 5.3, snake_fsq_s320 0.832 / 0.714 / 5.2 (shipped);
#: mrf_rvq_s320 0.796 / 0.679 / 5.5 at 4,000 steps, 0.823 / 0.702 / 5.3 at 6,000 (shipped);
#: subpixel_rvq_s512 0.756 / 0.689 / 5.5 at 4,000 steps, 0.816 / 0.715 / 5.2 at 8,000 (shipped);
#: melvoc_melphase_cont_s320 0.804 / 0.744 / 5.0 (shipped);
#: resize_linear_fsq_s320 (linear interpolation) 0.471 / 0.525 / 7.4, its loss flat at ~4.8
#: from step 400 on (600-step probes: linear 5.2, linear + refined top stages 5.0, nearest 4.5),
#: so the family's 32 kHz variant resizes by nearest neighbour: resize_nearest_fsq_s320 0.729 /
#: 0.653 / 5.8 at 5,000 steps; with its two top stages refined as well (what helped the 44.1 kHz
#: variant's 600-step probe) 0.682 / 0.632 / 6.1, worse (2026-11-28); strides (4, 4, 5, 4) (only
#: the top stage unrefined) 0.767 / 0.650 / 5.9 at 8,000 steps, 0.816 / 0.675 / 5.6 at 16,000
#: (41 min on one thread), with the top stage refined too 0.747 / 0.633 / 6.0 at 16,000 (worse
#: again), and 0.861 / 0.707 / 5.2 at 32,000 (85 min on one thread, 2026-12-04, shipped).
ZOO: tuple[GeneratorSpec, ...] = (
    GeneratorSpec("tconv_cont_s256", _T, "continuous", (4, 4, 4, 4), width=192, steps=3200),
    GeneratorSpec("tconv_rvq_s320", _T, "rvq", (8, 5, 4, 2), internal_sr=32_000,
                  latent_dim=128, steps=4000),
    GeneratorSpec("snake_rvq_s512", _S, "rvq", (8, 8, 4, 2), latent_dim=128, steps=8000),
    GeneratorSpec("snake_fsq_s320", _S, "fsq", (8, 5, 4, 2), internal_sr=32_000, latent_dim=32,
                  steps=4000),
    GeneratorSpec("resize_nearest_cont_s256", _R, "continuous", (4, 4, 4, 4), width=192,
                  steps=12800, refine_top=True),
    GeneratorSpec("resize_nearest_fsq_s320", _R, "fsq", (4, 4, 5, 4), internal_sr=32_000,
                  latent_dim=32, steps=32000),
    GeneratorSpec("subpixel_cont_s256", _P, "continuous", (4, 4, 4, 4), width=160, steps=3600),
    GeneratorSpec("subpixel_rvq_s512", _P, "rvq", (8, 8, 8), internal_sr=32_000, latent_dim=128,
                  steps=8000),
    GeneratorSpec("istft_fsq_s256", _I, "fsq", (256,), latent_dim=32, steps=4000),
    GeneratorSpec("istft_rvq_s320", _I, "rvq", (320,), internal_sr=32_000, latent_dim=128,
                  istft_blocks=2, steps=4000),
    GeneratorSpec("mrf_cont_s256", _M, "continuous", (8, 8, 2, 2), steps=2800),
    GeneratorSpec("mrf_rvq_s320", _M, "rvq", (8, 5, 4, 2), internal_sr=32_000, latent_dim=128,
                  steps=6000),
    GeneratorSpec("melvoc_melphase_fsq_s256", _V, "fsq", (8, 8, 2, 2), encoder="mel+phase",
                  phase_dim=16, width=160, enc_width=96, steps=3600),
    GeneratorSpec("melvoc_melphase_cont_s320", _V, "continuous", (8, 5, 4, 2),
                  internal_sr=32_000, encoder="mel+phase", phase_dim=16, width=160,
                  enc_width=96, steps=2400),
)


def zoo_specs(names: Sequence[str] | None = None) -> tuple[GeneratorSpec, ...]:
    """The generators called ``names``, in that order (``None``: the whole :data:`ZOO`).
    """
    if names is None:
        return ZOO
    by_name = {spec.name: spec for spec in ZOO}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown generators {unknown}; the zoo has {sorted(by_name)}")
    return tuple(by_name[name] for name in names)


def _steps(spec: GeneratorSpec, budget: ZooBudget) -> int:
    return max(1, round(spec.steps * budget.step_fraction))


# ----------------------------------------------------------------------------------------------
# Regeneration


@torch.no_grad()
def regenerate(model: Generator, audio: np.ndarray, *, segment_s: float = 8.0,
               context_s: float = 0.5) -> np.ndarray:
    """Pass real audio through a generator: the "AI" version of a clip.

    The input (mono, 44.1 kHz) is resampled to the generator's internal rate, padded to whole
    latent frames, processed in overlapping segments (so memory does not grow with length; the
    overlap covers the receptive field, so segment edges are inaudible), resampled back to
    44.1 kHz and trimmed to the input length.

    Parameters
    ----------
    model : Generator
        A zoo generator (it is switched to eval mode).
    audio : numpy.ndarray
        Mono float signal at 44.1 kHz, any length.
    segment_s, context_s : float
        Segment length and the context kept on each side of it, in seconds.

    Returns
    -------
    numpy.ndarray
        float32, same length as ``audio``, 44.1 kHz, clipped to [-1, 1].
    """
    model.eval()
    spec = model.spec
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"regenerate expects mono audio (1-D), got shape {audio.shape}")
    if len(audio) == 0:
        return audio.copy()
    sr, stride = spec.internal_sr, spec.total_stride
    x = resample(audio, SAMPLE_RATE, sr)
    n = len(x)
    seg = max(1, round(segment_s * sr / stride)) * stride
    ctx = max(1, math.ceil(context_s * sr / stride)) * stride
    # Whole latent frames; segments start on the same frame grid, so the split is invisible.
    total = math.ceil(n / stride) * stride
    xp = np.pad(x, (0, total - n))
    # Context on both sides (reflection keeps the level; zeros for a signal shorter than it).
    xp = np.pad(xp, (ctx, ctx), mode="reflect" if len(xp) > ctx else "constant")
    device = next(model.parameters()).device
    out = np.zeros(total, dtype=np.float32)
    for start in range(0, total, seg):
        size = min(seg, total - start)
        chunk = torch.from_numpy(xp[start:start + size + 2 * ctx].copy()).to(device)[None]
        y, _ = model(chunk)
        out[start:start + size] = y[0, ctx:ctx + size].float().cpu().numpy()
    y = resample(out[:n], sr, SAMPLE_RATE)
    y = np.pad(y, (0, max(0, len(audio) - len(y))))[: len(audio)]
    return np.clip(y, -1.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Cache


def _data_hash(clips: list[np.ndarray]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for c in clips:
        a = np.ascontiguousarray(c, dtype=np.float32)
        digest.update(str(a.shape).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()[:16]


def save_generator(model: Generator, path: str | Path, info: dict | None = None) -> Path:
    """Write a generator's weights (safetensors) and spec + ``info`` (JSON beside it), atomically.

    Parameters
    ----------
    model : Generator
        The generator.
    path : path
        Destination ending in ``.safetensors``; the JSON goes to the same name with ``.json``.
    info : dict, optional
        Training and quality record stored with the spec.
    """
    meta = {"spec": model.spec.to_dict(), "info": info or {}, "zoo_version": ZOO_VERSION}
    return save_checkpoint(Path(path), model.state_dict(), meta)


def load_generator(path: str | Path) -> tuple[Generator, dict]:
    """Load a generator written by :func:`save_generator` (no pickle involved).

    Returns the model in eval mode on the CPU and its ``info`` dict.
    """
    state, meta = load_checkpoint(Path(path))
    model = build_generator(GeneratorSpec.from_dict(meta["spec"]))
    model.load_state_dict(state)
    return model.eval(), meta["info"]


def _heldout(train_clips: list[np.ndarray], heldout_clips: list[np.ndarray] | None
             ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if heldout_clips is not None:
        return list(train_clips), list(heldout_clips)
    if len(train_clips) < 4:
        return list(train_clips), []
    # The last eighth (at least 2, at most 8 clips) is kept out of training to measure quality.
    k = min(8, max(2, len(train_clips) // 8))
    return list(train_clips[:-k]), list(train_clips[-k:])


#: Trained generator weights shipped with the package (float16), one pair of files per spec.
SHIPPED_DIR = Path(__file__).resolve().parent / "weights"


def shipped_path(spec: GeneratorSpec) -> Path:
    """Where the shipped weights of ``spec`` live (whether or not they exist)."""
    return SHIPPED_DIR / f"{spec.name}.safetensors"


def has_shipped_weights(spec: GeneratorSpec) -> bool:
    """Whether weights trained for exactly this spec and :data:`ZOO_VERSION` are shipped."""
    path = shipped_path(spec)
    if not (path.exists() and path.with_suffix(".json").exists()):
        return False
    meta = json.loads(path.with_suffix(".json").read_text())
    return meta.get("zoo_version") == ZOO_VERSION and meta.get("spec") == spec.to_dict()


def shipped_infos(specs: Sequence[GeneratorSpec] = ZOO) -> list[dict]:
    """The quality row each spec's shipped weights were trained with (their ``info``: held-out
    metrics, chance levels, steps, time), with ``passes_floor`` judged again against today's
    floor, or only ``name``, ``family`` and ``passes_floor=None`` for a spec with no current
    shipped weights. Notebook ``02_artifactbench`` tables the whole zoo (the paper profile's
    generators) with it."""
    rows = []
    for spec in specs:
        if has_shipped_weights(spec):
            info = json.loads(shipped_path(spec).with_suffix(".json").read_text())["info"]
            rows.append({**info, "passes_floor": passes_floor(info)})
        else:
            rows.append({"name": spec.name, "family": spec.family, "passes_floor": None})
    return rows


def weights_fingerprint(specs: Sequence[GeneratorSpec], *, retrain: bool = False) -> list:
    """What fixes the generators' weights before a build trains anything: per spec, its dict,
    :data:`ZOO_VERSION` and the SHA-256 of its shipped weights (``None`` where the build trains
    it: no shipped weights, or ``retrain``). Part of the benchmark's cache key."""
    return [(spec.to_dict(), ZOO_VERSION,
             None if retrain or not has_shipped_weights(spec) else file_sha256(shipped_path(spec)))
            for spec in specs]


def load_or_train(spec: GeneratorSpec, train_clips: list[np.ndarray] | None, *,
                  budget: ZooBudget, seed: int, cache_dir: Path, progress: bool = True,
                  heldout_clips: list[np.ndarray] | None = None,
                  device: str | torch.device | None = "cpu",
                  retrain: bool = False) -> tuple[Generator, dict]:
    """Return the trained generator for ``spec``: shipped, cached, or trained now.

    Shipped weights (:func:`has_shipped_weights`) are used unless ``retrain``; their ``info``
    is the quality row measured when they were trained. Otherwise the cache entry
    ``cache_dir/zoo/<name>-<key>.safetensors`` (+ ``.json``) is keyed by the spec, the step count, the
    seed, the device type, :data:`ZOO_VERSION` and a hash of the training clips; writes are
    atomic. After training, quality is measured on held-out clips (``heldout_clips``, or else the
    last eighth of ``train_clips``, which are then not trained on), next to the chance level
    between unrelated held-out clips, and checked against the floor
    (:func:`~artifactnet_core.bench.zoo.quality.passes_floor`): ``info["passes_floor"]``. A
    generator running below 44.1 kHz is compared with its input band-limited by the same
    resampling round trip (:func:`~artifactnet_core.bench.chain.bandlimit`, which the chain also
    applies to real clips; ``info["reference_band_hz"]``), so the floor judges the decoder and
    not the resampler; its full-band numbers are kept as ``fullband_*``.

    Parameters
    ----------
    spec : GeneratorSpec
        The generator.
    train_clips : list of numpy.ndarray or None
        Real mono clips at 44.1 kHz (the generator-training partition); may be ``None`` when
        shipped weights are used.
    budget : ZooBudget
        The share of ``spec.steps`` to train (the rest of the recipe is in the spec).
    seed : int
        Training seed.
    cache_dir : pathlib.Path
        Cache root (e.g. :func:`artifactnet_core.paths.cache_dir`).
    progress : bool
        Show tqdm progress.
    heldout_clips : list of numpy.ndarray, optional
        Clips to measure quality on (never trained on).
    device : str or torch.device or None
        Training device; ``None`` picks CUDA when present (weights then differ from CPU ones,
        so the device type is part of the key).
    retrain : bool
        Ignore shipped weights.

    Returns
    -------
    (model, info) : the generator (eval mode, CPU) and a dict with ``name``, ``family``,
    ``bottleneck``, ``total_stride``, ``internal_sr``, ``params``, ``steps``, ``train_seconds``,
    ``steps_per_s``, ``final_loss``, the quality metrics on held-out clips (``envelope_corr``,
    ``logmel_corr_centred``, ``logmel_distance_db``, ``si_sdr_db``), their ``chance_*`` levels,
    ``passes_floor``, ``floor``, ``n_heldout``, ``cached`` (``"shipped"``, True or False) and
    ``path``.
    """
    if not retrain and has_shipped_weights(spec):
        model, info = load_generator(shipped_path(spec))
        return model.float(), {**info, "cached": "shipped", "path": str(shipped_path(spec))}
    if not train_clips:
        raise ValueError(f"{spec.name}: no shipped weights and no training clips")
    dev = resolve_device(device)
    train, held = _heldout(train_clips, heldout_clips)
    steps = _steps(spec, budget)
    key = stable_hash(spec.to_dict(), steps, seed, dev.type, ZOO_VERSION,
                      _data_hash(train), _data_hash(held))
    path = Path(cache_dir) / "zoo" / f"{spec.name}-{key}.safetensors"
    if path.exists() and path.with_suffix(".json").exists():
        model, info = load_generator(path)
        if "reference_band_hz" not in info:
            # Measured before the in-band reference: measure again (the weights stand).
            info = {k: v for k, v in info.items() if not k.startswith("chance_")}
            info.update(_heldout_quality(model, held))
            save_generator(model, path, info)
        return model, {**info, "cached": True, "path": str(path)}
    model, log = train_generator(spec, train, steps=steps, seed=seed, device=dev,
                                 progress=progress)
    info = {"name": spec.name, "family": spec.family, "bottleneck": spec.bottleneck,
            "total_stride": spec.total_stride, "internal_sr": spec.internal_sr,
            "params": count_parameters(model), "seed": seed, "device": dev.type,
            "training_data": _data_hash(train), **log}
    info.update(_heldout_quality(model, held))
    save_generator(model, path, info)
    return model, {**info, "cached": False, "path": str(path)}


def ship_generator(model: Generator, info: dict) -> Path:
    """Write a trained generator as the package's shipped weights (float16 safetensors + JSON
    with its quality row), so that builds use it instead of training one."""
    meta = {"spec": model.spec.to_dict(), "info": {k: v for k, v in info.items()
                                                    if k not in ("cached", "path")},
            "zoo_version": ZOO_VERSION}
    return save_checkpoint(shipped_path(model.spec), model.state_dict(), meta, half=True)


def _heldout_quality(model: Generator, held: list[np.ndarray]) -> dict:
    # A generator running below 44.1 kHz is compared with its input band-limited by the same
    # resampling (chain.bandlimit): the chain band-limits real clips at the same rates, so the
    # floor measures the decoder, not the resampler. The full-band numbers are kept beside.
    from artifactnet_core.bench.chain import bandlimit

    clips = audible(held)
    rate = model.spec.internal_sr
    band = {"reference_band_hz": min(rate, SAMPLE_RATE) // 2}
    if not clips:
        return {"n_heldout": 0, "passes_floor": None, **band,
                "floor": {**FLOOR, "distance_ratio": DISTANCE_RATIO}}
    t0 = time.perf_counter()
    outs = [regenerate(model, c) for c in clips]
    seconds = time.perf_counter() - t0
    refs = [bandlimit(c, rate=rate) for c in clips]
    rows = [reconstruction_quality(r, o) for r, o in zip(refs, outs, strict=True)]
    q = mean_quality(rows) | band
    if rate < SAMPLE_RATE:
        full = mean_quality([reconstruction_quality(c, o)
                             for c, o in zip(clips, outs, strict=True)])
        q.update({f"fullband_{k}": full[k] for k in ("logmel_corr_centred", "logmel_distance_db")})
    q["n_heldout"] = len(clips)
    q["realtime_factor"] = round(sum(len(c) for c in clips) / SAMPLE_RATE
                                 / max(seconds, 1e-9), 1)
    if len(clips) >= 2:
        q.update(chance_quality(refs))
    q["passes_floor"] = passes_floor(q)
    q["floor"] = {**FLOOR, "distance_ratio": DISTANCE_RATIO}
    return q


# ----------------------------------------------------------------------------------------------
# Whole-zoo training and its table (also a command: python -m artifactnet_core.bench.zoo)

#: Columns of :func:`zoo_table`, in order.
TABLE_COLUMNS = ("name", "family", "bottleneck", "total_stride", "internal_sr", "params", "steps",
                 "train_seconds", "train_cpu_seconds", "steps_per_s", "realtime_factor", "envelope_corr",
                 "chance_envelope_corr", "logmel_corr_centred", "chance_logmel_corr_centred",
                 "logmel_distance_db", "chance_logmel_distance_db", "si_sdr_db",
                 "chance_si_sdr_db", "passes_floor")


def zoo_table(infos: list[dict]):
    """The ``info`` dicts of :func:`load_or_train` as a pandas DataFrame, one row per generator
    (the generator table of the data card and of notebook ``02_artifactbench``)."""
    import pandas as pd

    return pd.DataFrame([{k: info.get(k) for k in TABLE_COLUMNS} for info in infos],
                        columns=list(TABLE_COLUMNS))


def train_zoo(train_clips: list[np.ndarray], *, names: Sequence[str] | None, budget: ZooBudget,
              seed: int = 0,
              cache_dir: Path | None = None, progress: bool = True,
              heldout_clips: list[np.ndarray] | None = None,
              device: str | torch.device | None = "cpu",
              retrain: bool = False) -> tuple[dict[str, Generator], list[dict]]:
    """Train (or load) the generators called ``names`` (``None``: the whole zoo); returns
    ``({name: model}, [info, ...])``.

    Parameters are those of :func:`load_or_train`; ``cache_dir`` defaults to
    :func:`artifactnet_core.paths.cache_dir`.
    """
    from artifactnet_core.paths import cache_dir as default_cache

    root = Path(cache_dir) if cache_dir is not None else default_cache()
    models, infos = {}, []
    for spec in tqdm(zoo_specs(names), desc="zoo", disable=not progress):
        models[spec.name], info = load_or_train(spec, train_clips, budget=budget, seed=seed,
                                                cache_dir=root, progress=progress,
                                                heldout_clips=heldout_clips, device=device,
                                                retrain=retrain)
        infos.append(info)
    return models, infos


def main(argv: list[str] | None = None) -> int:
    """``python -m artifactnet_core.bench.zoo --profile P [--retrain] [--ship]``: train (or load)
    the generators of a profile on the generator-training clips every build shares, print their
    quality table and the wall time; ``--ship`` writes the ones that clear the quality floor as
    the package's shipped weights (float16), which every later build then uses."""
    import argparse

    from artifactnet_core.bench.build import generator_training_clips
    from artifactnet_core.profiles import PROFILE_NAMES, get_profile

    parser = argparse.ArgumentParser(prog="python -m artifactnet_core.bench.zoo",
                                     description=main.__doc__)
    parser.add_argument("--profile", default=PROFILE_NAMES[0], choices=PROFILE_NAMES)
    parser.add_argument("--generators", nargs="*", help="only these generators")
    parser.add_argument("--retrain", action="store_true", help="ignore shipped weights")
    parser.add_argument("--ship", action="store_true",
                        help="write generators that clear the floor as shipped weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    bench = get_profile(args.profile).bench
    clips, held = generator_training_clips(bench)
    names = args.generators or bench.generators
    t0 = time.perf_counter()
    models, infos = train_zoo(clips, names=names, budget=bench.zoo, seed=args.seed,
                              heldout_clips=held, device=args.device, retrain=args.retrain)
    wall = time.perf_counter() - t0
    import pandas as pd

    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.precision", 3):
        print(zoo_table(infos).to_string(index=False))
    print(f"{len(clips)} generator-training clips ({len(held)} held out); profile "
          f"{args.profile}: {len(infos)} "
          f"generators in {wall:.0f} s wall ({torch.get_num_threads()} threads)")
    if args.ship:
        for info in infos:
            if info.get("passes_floor"):
                print("shipped", ship_generator(models[info["name"]], info))
            else:
                print(f"not shipped (under the floor): {info['name']}")
    return 0

