"""The experiment pipeline behind the notebooks: cached training and scoring of detectors.

Every stage is cached under ``<cache>/runs/<bench hash>/`` by a hash of everything that shapes
it (benchmark manifest, recipe, front end, seed), so notebook 04 reuses what notebook 03 trained,
a rerun with the same seed reproduces the same numbers, and an interrupted run resumes:

1. the profile's ``BenchConfig`` -> ArtifactBench-mini (:mod:`artifactnet_core.bench`);
2. ``UNetRecipe`` -> ArtifactUNet weights (:func:`artifactnet_core.experiments.training.train_unet`);
3. base maps of every clip version the classifier or the evaluation needs
   (:class:`artifactnet_core.experiments.featurestore.FeatureStore`);
4. ``ClassifierRecipe`` -> the compact CNN and its validation threshold.

Data flows one way: the benchmark materialises clip versions, :class:`BenchData` hands them out
as arrays, training and feature caching consume the arrays.

Taught in notebooks ``03_train``, ``04_zero_shot``, ``05_codec_drift``, ``07_ablations_controls``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from artifactnet_core.atomic import atomic_write_text, file_lock, stable_hash
from artifactnet_core.checkpoint import load_checkpoint, save_checkpoint
from artifactnet_core.detector.calibration import fit_platt, operating_points
from artifactnet_core.detector.config import MASK_BOUND, ArtifactNetConfig
from artifactnet_core.detector.model import ArtifactNet, load_model, save_model
from artifactnet_core.detector.unet import ArtifactUNet
from artifactnet_core.experiments.data import (
    BenchData,
    Item,
    assigned_version,
    item_labels,
    training_items,
)
from artifactnet_core.experiments.evaluation import track_scores
from artifactnet_core.experiments.featurestore import FeatureStore, per_clip
from artifactnet_core.experiments.ledger import charge
from artifactnet_core.experiments.metrics import roc_auc
from artifactnet_core.experiments.recipes import ClassifierRecipe, UNetRecipe
from artifactnet_core.experiments.training import (
    UNetItems,
    predict_maps,
    train_classifier,
    train_unet,
)
from artifactnet_core.paths import runs_root
from artifactnet_core.profiles import Profile, get_profile
from artifactnet_core.runtime import resolve_device, training_precision

#: Bump when training or scoring changes meaning or bytes: older cached runs are then not
#: reused. 4 (2026-12-06): the real_only objective's synthetic artifacts are summed another way
#: (float32's last bit), and channels-last training (2026-12-05) rounds otherwise.
PIPELINE_VERSION = 4


def get_bench(profile: Profile | str, *, seed: int = 0, progress: bool = True) -> BenchData:
    """Build (or load from cache) the profile's ArtifactBench-mini (its build time is charged
    to the run's :mod:`~artifactnet_core.experiments.ledger`)."""
    from artifactnet_core.bench.build import bench_dir, build_bench

    config = get_profile(profile).bench
    built = not (bench_dir(config, seed=seed) / "build_info.json").exists()
    data = BenchData(build_bench(config, seed=seed, progress=progress))
    build = json.loads((data.root / "build_info.json").read_text())
    charge(runs_dir(data), f"bench-{data.sha256[:16]}", "benchmark",
           build["timings"].get("total_s"), computed=built)
    return data


def heldout_families(data: BenchData) -> tuple[str, ...]:
    """Families held out of train/val by the benchmark (zero-shot test only)."""
    meta = json.loads((data.root / "bench_config.json").read_text())
    return tuple(meta["heldout_families"])


def validation_family(data: BenchData) -> str | None:
    """A seen family kept out of *training* so that validation has an unseen generator family
    (:func:`artifactnet_core.bench.splits.validation_family`). Model choices (the UNet objective,
    thresholds) are made on it, never on the test families; ``None`` when fewer than two
    families are left to train on."""
    from artifactnet_core.bench.splits import validation_family as choose

    return choose(data.df, heldout_families(data))


@dataclass
class DetectorRun:
    """One trained detector configuration with everything needed to score benchmark clips:
    the model, its feature cache, its recipes, training histories, validation scores, timings.
    """

    model: ArtifactNet
    store: FeatureStore
    key: str
    unet_recipe: UNetRecipe | None
    classifier_recipe: ClassifierRecipe
    protocol: str
    unet_history: pd.DataFrame | None
    classifier_history: pd.DataFrame
    val_scores: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        return self.model.config.threshold

    @staticmethod
    def items(rows: pd.DataFrame, version: str | list[str] = "wav") -> list[Item]:
        """The (clip, version) pairs :meth:`score` reads maps of (arguments as there)."""
        versions = [version] * len(rows) if isinstance(version, str) else list(version)
        return list(zip(rows["path"], versions, strict=True))

    def score(self, rows: pd.DataFrame, version: str | list[str] = "wav", *,
              progress: bool = True) -> pd.DataFrame:
        """Score clips: ``rows`` plus ``version`` and ``p_ai`` (median over each clip's chunks).

        Parameters
        ----------
        rows : pandas.DataFrame
            Manifest rows.
        version : str or list of str
            The clip version to score (``"wav"``, ``"mp3_128"``...), one for all or one per row.
        """
        items = self.items(rows, version)
        maps, owner = self.store.maps(items, progress=progress, desc="scoring")
        p_chunks = predict_maps(self.model.classify_base, maps, device=self.store.device)
        out = rows.copy()
        out["version"] = [v for _, v in items]
        out["p_ai"] = per_clip(p_chunks, owner, len(rows))
        return out


def runs_dir(data: BenchData) -> Path:
    """The cache folder of everything trained on ``data``."""
    path = runs_root(data.sha256)
    path.mkdir(parents=True, exist_ok=True)
    return path


def recipe_key(kind: str, data: BenchData, *parts: object) -> str:
    """Cache key of a trained artifact: its kind, the pipeline version, the bench, ``parts``."""
    return f"{kind}-{stable_hash(PIPELINE_VERSION, data.sha256, *parts)}"


def _front_end(config: ArtifactNetConfig) -> dict:
    # The config fields that shape a UNet's training (the rest is the classifier's).
    return {k: getattr(config, k) for k in ("sample_rate", "chunk_seconds", "n_fft",
                                            "hop_length", "unet_multipliers")}


def get_unet(data: BenchData, recipe: UNetRecipe, *, config: ArtifactNetConfig,
             device: str | None = None, progress: bool = True
             ) -> tuple[ArtifactUNet, pd.DataFrame, str, float]:
    """Train (or load) the UNet of ``recipe``; returns ``(unet, history, key, seconds)``."""
    key = recipe_key("unet", data, dataclasses.asdict(recipe), _front_end(config),
                     training_precision(resolve_device(device)))
    weights = runs_dir(data) / f"{key}.safetensors"
    hist_path = weights.with_suffix(".history.csv")

    def build() -> ArtifactUNet:
        return ArtifactUNet(base_width=recipe.base_width, multipliers=config.unet_multipliers,
                            mask_bound=recipe.mask_bound)

    with file_lock(weights.with_suffix(".lock")):
        if weights.with_suffix(".json").exists() and hist_path.exists():
            state, meta = load_checkpoint(weights)
            unet = build()
            unet.load_state_dict(state)
            charge(runs_dir(data), key, "unet", meta["seconds"], computed=False)
            return unet.eval(), pd.read_csv(hist_path), key, meta["seconds"]
        train_rows = data.rows(split="train", protocol=recipe.protocol,
                               exclude_families=recipe.exclude_families)
        val_rows = data.rows(split="val", protocol=recipe.protocol)
        arrays = data.load(UNetItems.needed(train_rows, recipe)
                           + UNetItems.needed(val_rows, dataclasses.replace(recipe,
                                                                            codec_aware=False)),
                           progress=progress)
        t0 = time.perf_counter()
        unet, history = train_unet(train_rows, val_rows, arrays, recipe, config=config,
                                   device=device, progress=progress)
        seconds = time.perf_counter() - t0
        atomic_write_text(hist_path, history.to_csv(index=False))
        save_checkpoint(weights, unet.state_dict(),
                        {"recipe": dataclasses.asdict(recipe), "seconds": seconds})
        charge(runs_dir(data), key, "unet", seconds, computed=True)
        return unet, history, key, seconds


def calibrate_on_validation(config: ArtifactNetConfig, val_rows: pd.DataFrame,
                            p_val: np.ndarray) -> None:
    """Set ``config``'s operating points, Platt calibration and default threshold (the fpr1
    operating point) from validation *tracks* (WAV), scored as ``detect`` scores a file: the
    median over its clips. ``p_val`` holds one score per validation clip, WAV versions first
    (any codec versions after them are ignored)."""
    val_tracks = track_scores(val_rows.assign(p_ai=np.asarray(p_val)[:len(val_rows)]))
    y_tracks, s_tracks = val_tracks["label"].to_numpy(), val_tracks["p_ai"].to_numpy()
    config.operating_points = operating_points(y_tracks, s_tracks)
    config.calibration = fit_platt(y_tracks, s_tracks)
    config.threshold = config.operating_points["fpr1"]["threshold"]


def train_detector(data: BenchData, profile: Profile | str, *, objective: str = "paired",
                   codec_aware: bool = True, mask_bound: float | None = MASK_BOUND,
                   feature_set: str = "hpss7", use_unet: bool = True,
                   protocol: str = "zero_shot", exclude_families: tuple[str, ...] | None = None,
                   unet_base_width: int | None = None, seed: int = 0,
                   device: str | None = None, progress: bool = True) -> DetectorRun:
    """Train (or load from cache) one ArtifactNet configuration end to end.

    Parameters
    ----------
    data : BenchData
        The benchmark.
    profile : Profile or str
        Budget templates (:mod:`artifactnet_core.profiles`).
    objective : {"paired", "real_only"}
        UNet objective.
    codec_aware : bool
        Codec augmentation for both the UNet and the classifier.
    mask_bound : float or None
        The UNet's mask bound (0.5 in the paper).
    feature_set : str
        ``hpss7`` (paper), ``residual3`` or ``residual1``.
    use_unet : bool
        ``False``: features straight from ``|X|`` (ablation).
    protocol : {"zero_shot", "track"}
        Split protocol for training/validation.
    exclude_families : tuple of str, optional
        Generator families kept out of training. Default: the validation family
        (:func:`validation_family`) in the zero-shot protocol, none in the track protocol.
        The ``real_only`` UNet never sees AI clips, so only its classifier is affected.
    unet_base_width : int, optional
        UNet width (default: the profile's; the paper's is 32).
    seed : int
        Seed of every random choice.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``None`` (auto).
    """
    profile = get_profile(profile)
    dev = resolve_device(device)
    timings: dict[str, float] = {}
    val_family = validation_family(data) if protocol == "zero_shot" else None
    if exclude_families is None:
        exclude_families = (val_family,) if val_family else ()
    exclude = tuple(sorted(exclude_families))
    width = profile.unet.base_width if unet_base_width is None else unet_base_width
    config = ArtifactNetConfig(unet_base_width=width, mask_bound=mask_bound,
                               use_unet=use_unet, feature_set=feature_set)
    model = ArtifactNet(config)
    unet_recipe = None
    unet_history = None
    if use_unet:
        unet_recipe = dataclasses.replace(profile.unet, objective=objective, mask_bound=mask_bound,
                                          base_width=width,
                                          codec_aware=codec_aware, protocol=protocol,
                                          exclude_families=() if objective == "real_only"
                                          else exclude, seed=seed)
        unet, unet_history, store_key, timings["unet_s"] = get_unet(
            data, unet_recipe, config=config, device=device, progress=progress)
        model.unet.load_state_dict(unet.state_dict())
    else:
        store_key = "magnitude"
    clf_recipe = dataclasses.replace(profile.classifier, feature_set=feature_set,
                                     codec_aware=codec_aware, seed=seed)
    store = FeatureStore(data, model, store_key, cache_root=runs_dir(data) / "features",
                         device=dev, batch_size=profile.evaluation.feature_batch)
    # The store's folder names the UNet's arithmetic (float32 or bfloat16 path): a classifier
    # trained on one path's maps is cached apart from one trained on the other's.
    key = recipe_key("detector", data, store.root.name, dataclasses.asdict(clf_recipe), protocol,
                     exclude, training_precision(dev))
    model_path = runs_dir(data) / f"{key}.safetensors"

    train_rows = data.rows(split="train", protocol=protocol, exclude_families=exclude)
    val_rows = data.rows(split="val", protocol=protocol)
    val_items = training_items(val_rows, codec_aware=codec_aware, seed=seed)
    t0 = time.perf_counter()
    val_maps, val_owner = store.maps(val_items, progress=progress, desc="val features")
    val_labels = item_labels(val_rows, codec_aware=codec_aware)

    def reduce(p: np.ndarray) -> np.ndarray:
        return per_clip(p, val_owner, len(val_items))

    with file_lock(model_path.with_suffix(".lock")):
        trained = not model_path.with_suffix(".run.json").exists()
        if not trained:
            model = load_model(model_path, device=dev)
            clf_history = pd.read_csv(model_path.with_suffix(".history.csv"))
            meta = json.loads(model_path.with_suffix(".run.json").read_text())
            timings.update(meta["timings"])
        else:
            train_items = training_items(train_rows, codec_aware=codec_aware, seed=seed)
            train_maps, train_owner = store.maps(train_items, progress=progress,
                                                 desc="train features")
            timings["features_s"] = time.perf_counter() - t0
            chunk_labels = item_labels(train_rows, codec_aware=codec_aware)[train_owner]
            t0 = time.perf_counter()
            classifier, clf_history = train_classifier(
                train_maps, chunk_labels, val_maps, val_labels, clf_recipe,
                featurizer=model.featurizer, config=config, device=dev, progress=progress,
                val_reduce=reduce)
            timings["classifier_s"] = time.perf_counter() - t0
            model.classifier.load_state_dict(classifier.state_dict())
            model = model.to(dev).eval()
            p_val = reduce(predict_maps(model.classify_base, val_maps, device=dev))
            calibrate_on_validation(config, val_rows, p_val)
            config.info = {"profile": profile.name, "seed": seed, "objective": objective,
                           "codec_aware": codec_aware, "protocol": protocol,
                           "validation_family": val_family, "excluded_families": list(exclude),
                           "training_precision": training_precision(dev),
                           "bench_sha256": data.sha256,
                           "val_auc": roc_auc(val_labels, p_val), "key": key}
            atomic_write_text(model_path.with_suffix(".history.csv"),
                              clf_history.to_csv(index=False))
            save_model(model, model_path)
            atomic_write_text(model_path.with_suffix(".run.json"),
                              json.dumps({"timings": timings}, indent=1))
    model = model.to(dev).eval()
    for stage, seconds in (("training features", timings.get("features_s")),
                           ("classifier", timings.get("classifier_s"))):
        charge(runs_dir(data), f"{key}:{stage}", stage, seconds, computed=trained)
    store.extractor = model
    # From here on the store computes maps for scoring, charged as such (training's are above).
    store.ledger = runs_dir(data)
    run = DetectorRun(model=model, store=store, key=key, unet_recipe=unet_recipe,
                      classifier_recipe=clf_recipe, protocol=protocol,
                      unet_history=unet_history, classifier_history=clf_history,
                      val_scores=pd.DataFrame(), timings=timings)
    scores = [run.score(val_rows, "wav", progress=False)]
    if codec_aware:
        scores.append(run.score(val_rows, [assigned_version(c, seed=seed)
                                           for c in val_rows["clip_id"]], progress=False))
    run.val_scores = pd.concat(scores, ignore_index=True)
    run.val_scores["validation_family"] = (
        run.val_scores["family"].eq(val_family) if val_family else False)
    return run


def selection_items(detector: DetectorRun) -> pd.DataFrame:
    """The validation items every choice of a detector or recipe is made on, one row per track
    and generator (:func:`~artifactnet_core.experiments.evaluation.track_scores`): the real
    validation tracks against the validation family's regenerations (every validation
    regeneration when no family was kept out), WAV versions, each scored by the median over its
    clips as ``detect`` does."""
    from artifactnet_core.experiments.evaluation import track_scores

    val = detector.val_scores
    val = val[val["version"] == "wav"] if "version" in val else val
    if val["validation_family"].any():
        val = val[(val["label"] == "real") | val["validation_family"]]
    return track_scores(val)


def selection_score(detector: DetectorRun) -> dict[str, float]:
    """Per-track validation ROC-AUC on unseen generators (:func:`selection_items`).
    Returns ``{"selection_auc", "n_val_tracks"}``."""
    tracks = selection_items(detector)
    return {"selection_auc": roc_auc((tracks["label"] == "ai").to_numpy(),
                                     tracks["p_ai"].to_numpy()),
            "n_val_tracks": int(tracks["track_id"].nunique())}


def sample_rows(rows: pd.DataFrame, n: int | None, *, seed: int) -> pd.DataFrame:
    """At most ``n`` rows, stratified by label, drawn with ``seed`` (all rows when ``n`` is None)."""
    if n is None or len(rows) <= n:
        return rows.reset_index(drop=True)
    parts = []
    for _, part in rows.groupby("label"):
        k = max(1, round(n * len(part) / len(rows)))
        parts.append(part.sample(n=min(k, len(part)), random_state=seed))
    return pd.concat(parts).sort_index().reset_index(drop=True)


def sample_tracks(rows: pd.DataFrame, n_clips: int | None, *, seed: int) -> pd.DataFrame:
    """Whole tracks (every clip of each, real and regenerated) drawn in a seeded order until
    about ``n_clips`` clips are taken (all rows when ``n_clips`` is None): the sample for costly
    evaluations that are summarised per track."""
    if n_clips is None or len(rows) <= n_clips:
        return rows.reset_index(drop=True)
    sizes = rows.groupby("track_id").size()
    order = sorted(sizes.index, key=lambda t: stable_hash("sample-tracks", seed, t))
    kept, total = [], 0
    for track in order:
        if total and total + sizes[track] > n_clips:
            continue
        kept.append(track)
        total += sizes[track]
    return rows[rows["track_id"].isin(kept)].reset_index(drop=True)


@dataclass
class DetectorChoice:
    """The outcome of :func:`default_detector`: the chosen detector, the table the choice was
    made on, and every candidate by ``(objective, UNet width)``."""

    chosen: DetectorRun
    table: pd.DataFrame
    candidates: dict[tuple[str, int], DetectorRun]


#: Validation AUCs closer than this are a tie (the paper's choice then stands).
SELECTION_TIE = 0.005

#: The UNet objectives :func:`default_detector` chooses between, the paper's first.
SELECTION_OBJECTIVES = ("real_only", "paired")


def selection_candidate(data: BenchData, profile: Profile | str, objective: str, width: int, *,
                        seed: int = 0, device: str | None = None, progress: bool = True
                        ) -> DetectorRun:
    """One candidate of :func:`default_detector` (codec-aware, UNet ``objective`` at
    ``width``), trained or loaded from the cache."""
    return train_detector(data, profile, objective=objective, unet_base_width=width,
                          seed=seed, device=device, progress=progress)


def default_detector(data: BenchData, profile: Profile | str, *, seed: int = 0,
                     device: str | None = None, progress: bool = True) -> DetectorChoice:
    """Choose the detector on validation only (:func:`selection_score`: unseen generators, per
    track), never on the test split.

    First the UNet objective: both are trained (codec-aware) at the profile's width; a tie
    (within :data:`SELECTION_TIE`) goes to the paper's human-music-only objective
    (``real_only``). Then the width: the chosen objective is also trained at each of the
    profile's ``compare_widths``; a different width replaces the profile's only if it validates
    better by more than the tie margin.

    The table has one row per candidate: ``objective, unet_base_width, unet_params,
    selection_auc, n_val_tracks, val_auc (per clip), threshold, chosen, reason``.
    """
    profile = get_profile(profile)
    rows, candidates = [], {}

    def add(objective: str, width: int) -> None:
        det = selection_candidate(data, profile, objective, width, seed=seed, device=device,
                                  progress=progress)
        candidates[(objective, width)] = det
        rows.append({"objective": objective, "unet_base_width": width,
                     "unet_params": det.model.parameter_counts()["unet"],
                     **selection_score(det), "val_auc": det.model.config.info.get("val_auc"),
                     "threshold": det.threshold})

    width = profile.unet.base_width
    for objective in SELECTION_OBJECTIVES:
        add(objective, width)
    auc = {(r["objective"], r["unet_base_width"]): r["selection_auc"] for r in rows}
    paired, real_only = auc[("paired", width)], auc[("real_only", width)]
    if paired > real_only + SELECTION_TIE:
        objective, reason = "paired", "paired objective validates better"
    elif real_only > paired + SELECTION_TIE:
        objective, reason = "real_only", "human-music-only objective validates better"
    else:
        objective, reason = "real_only", (f"objectives tied within {SELECTION_TIE} on "
                                          "validation: the paper's human-music-only objective")
    best = (objective, width)
    for other in profile.compare_widths:
        add(objective, other)
        auc[(objective, other)] = rows[-1]["selection_auc"]
        if auc[(objective, other)] > auc[best] + SELECTION_TIE:
            best = (objective, other)
            reason += f"; width {other} validates better than {width}"
    if best[1] == width and profile.compare_widths:
        reason += f"; width {width} kept (no other width validates better)"
    table = pd.DataFrame(rows)
    table["chosen"] = [(r["objective"], r["unet_base_width"]) == best for r in rows]
    table["reason"] = [reason if c else "" for c in table["chosen"]]
    return DetectorChoice(candidates[best], table, candidates)


def train_variant(chosen: DetectorRun, data: BenchData, profile: Profile | str, *,
                  seed: int = 0, device: str | None = None, progress: bool = True,
                  **changes) -> DetectorRun:
    """The chosen detector's configuration (UNet objective and width) with ``changes`` (any
    keyword of :func:`train_detector`), trained or loaded from the cache: the ablations and
    controls of notebooks 05 and 07 differ from the default in exactly what they name."""
    recipe = chosen.unet_recipe
    if recipe is not None:
        changes = {"objective": recipe.objective, "unet_base_width": recipe.base_width, **changes}
    return train_detector(data, profile, seed=seed, device=device, progress=progress, **changes)


def ablation_reference(choice: DetectorChoice, data: BenchData, profile: Profile | str, *,
                       seed: int = 0, device: str | None = None) -> DetectorRun:
    """The reference every ablation of notebook 07 differs from: the chosen UNet objective at
    the profile's ``ablation_width`` (laptop: the narrow UNet, so that a dozen variants fit two
    CPU cores), or at the chosen width when the profile names none."""
    profile = get_profile(profile)
    recipe = choice.chosen.unet_recipe
    width = profile.ablation_width or recipe.base_width
    return choice.candidates.get((recipe.objective, width)) or train_variant(
        choice.chosen, data, profile, unet_base_width=width, seed=seed, device=device)


def leave_one_family_out(data: BenchData) -> list[tuple[str, tuple[str, ...]]]:
    """Notebook 07's leave-one-family-out variants, ``(family left out, families excluded from
    training)``: first ``"(none)"`` (the default's own exclusion, the validation family), then
    each family the classifier trains on; a variant that would train on no family is skipped."""
    val_family = validation_family(data)
    kept_out = (val_family,) if val_family else ()
    train_families = sorted(set(data.rows(split="train").query("label == 'ai'")["family"])
                            - set(kept_out))
    variants = []
    for left_out in ["(none)", *train_families]:
        exclude = tuple(sorted(kept_out + (() if left_out == "(none)" else (left_out,))))
        if not set(train_families) <= set(exclude):
            variants.append((left_out, exclude))
    return variants


def train_without_families(reference: DetectorRun, data: BenchData, profile: Profile | str,
                           exclude: tuple[str, ...], *, seed: int = 0,
                           device: str | None = None, progress: bool = False) -> DetectorRun:
    """A leave-one-family-out variant (:func:`leave_one_family_out`): ``reference`` with the
    ``real_only`` UNet, which never sees a generator, and a classifier trained without the
    families in ``exclude``; trained or loaded from the cache."""
    return train_variant(reference, data, profile, objective="real_only",
                         exclude_families=exclude, seed=seed, device=device, progress=progress)


#: Notebook 07's variants of its reference detector (:func:`ablation_reference`), by name: what
#: each changes (keywords of :func:`train_detector`). ``no_unet`` featurizes ``|X|`` itself, so
#: it has no UNet objective or width to take from the reference.
ABLATIONS: dict[str, dict] = {
    "track_protocol": {"protocol": "track"},
    "wav_only": {"codec_aware": False},
    "residual3": {"feature_set": "residual3"},
    "residual1": {"feature_set": "residual1"},
    "no_unet": {"use_unet": False},
    "bound_1": {"mask_bound": 1.0},
    "unbounded": {"mask_bound": None},
}


def ablation(reference: DetectorRun, data: BenchData, profile: Profile | str, name: str, *,
             seed: int = 0, device: str | None = None, progress: bool = True) -> DetectorRun:
    """Notebook 07's variant ``name`` (:data:`ABLATIONS`) of ``reference``, trained or loaded
    from the cache."""
    changes = ABLATIONS[name]
    if changes.get("use_unet") is False:
        return train_detector(data, profile, seed=seed, device=device, progress=progress,
                              **changes)
    return train_variant(reference, data, profile, seed=seed, device=device, progress=progress,
                         **changes)


def ablation_rows(data: BenchData, profile: Profile | str, *, seed: int = 0
                  ) -> dict[str, pd.DataFrame]:
    """The clips notebook 07 scores, by role; each a sample of whole tracks
    (:func:`sample_tracks`, the profile's ``max_ablation_clips``) but ``test``:

    * ``zero_shot``: real test tracks and the held-out families' (every ablation);
    * ``real``: real test tracks (the codec control, in every codec version);
    * ``track_protocol``: the track-level protocol's test split;
    * ``test``: the whole test split (leave-one-family-out, TPR per family).
    """
    n_clips = get_profile(profile).evaluation.max_ablation_clips
    test = data.rows(split="test")
    zero_shot = test[(test["label"] == "real") | test["family"].isin(heldout_families(data))]
    return {"zero_shot": sample_tracks(zero_shot, n_clips, seed=seed),
            "real": sample_tracks(test[test["label"] == "real"], n_clips, seed=seed),
            "track_protocol": sample_tracks(data.rows(split="test", protocol="track"), n_clips,
                                            seed=seed),
            "test": test}


def ablation_jobs(choice: DetectorChoice, data: BenchData, profile: Profile | str, *,
                  seed: int = 0, device: str | None = None
                  ) -> list[tuple[str, Callable[[], None]]]:
    """What notebook 07 trains and scores, in the notebook's order, as ``(label, job)``: a job
    trains (or loads) one detector and computes the base maps of the clips 07 scores it on
    (:func:`ablation_rows`; the codec control's in every version), through the functions 07
    calls, so that 07 then only loads them and runs the classifier. A parallel
    :func:`~artifactnet_core.experiments.runner.run` hands them, last first, to a worker with
    no notebook left, so that 07 does not keep one core busy long after the other went idle."""
    from artifactnet_core.bench.versions import CONTROL_VERSIONS

    reference = ablation_reference(choice, data, profile, seed=seed, device=device)
    rows = ablation_rows(data, profile, seed=seed)

    def job(detector: Callable[[], DetectorRun], role: str,
            versions: tuple[str, ...] = ("wav",)) -> Callable[[], None]:
        def run() -> None:
            det = detector()
            for version in versions:
                det.store.fill(det.items(rows[role], version))
        return run

    def variant(name: str) -> Callable[[], DetectorRun]:
        return functools.partial(ablation, reference, data, profile, name, seed=seed,
                                 device=device, progress=False)

    codec_control = ("wav", *CONTROL_VERSIONS)
    jobs = [("reference", job(lambda: reference, "zero_shot")),
            ("track_protocol", job(variant("track_protocol"), "track_protocol")),
            ("reference, codec control", job(lambda: reference, "real", codec_control)),
            ("wav_only, codec control", job(variant("wav_only"), "real", codec_control))]
    jobs += [(name, job(variant(name), "zero_shot"))
             for name in ("residual3", "residual1", "no_unet", "bound_1", "unbounded")]
    jobs += [(f"candidate {objective}, width {width}", job(lambda det=det: det, "zero_shot"))
             for (objective, width), det in choice.candidates.items()]
    jobs += [(f"without {left_out}",
              job(functools.partial(train_without_families, reference, data, profile, exclude,
                                    seed=seed, device=device), "test"))
             for left_out, exclude in leave_one_family_out(data)]
    return jobs


def export_weights(detector: DetectorRun, path: str | Path | None = None, *,
                   extra_info: dict | None = None) -> Path:
    """Write a detector as the package's default weights (float16 safetensors + JSON config)."""
    from artifactnet_core.detector.model import DEFAULT_WEIGHTS

    model = detector.model.cpu()
    model.config.info = {**model.config.info, **(extra_info or {})}
    return save_model(model, path or DEFAULT_WEIGHTS, half=True)
