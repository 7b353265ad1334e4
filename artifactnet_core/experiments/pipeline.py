"""The experiment pipeline behind the notebooks: profiles, cached training, scoring.

Every stage is cached under ``<cache>/runs/<bench hash>/`` by a hash of everything that shapes
it (benchmark manifest, recipe, seed), so notebook 04 reuses what notebook 03 trained, a rerun
with the same seed reproduces the same numbers, and an interrupted run resumes:

1. ``build_bench`` -> ArtifactBench-mini (:mod:`artifactnet_core.bench`);
2. ``UNetRecipe`` -> ArtifactUNet weights (:func:`artifactnet_core.experiments.training.train_unet`);
3. feature maps of every clip version the classifier or the evaluation needs
   (:class:`artifactnet_core.experiments.featurestore.FeatureStore`);
4. ``ClassifierRecipe`` -> the compact CNN and its validation threshold.

Taught in notebooks ``03_train``, ``04_zero_shot``, ``05_codec_drift``, ``07_ablations_controls``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from artifactnet_core.atomic import atomic_write_text, stable_hash
from artifactnet_core.detector.features import ForensicFeaturizer
from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig, load_model, save_model
from artifactnet_core.detector.unet import ArtifactUNet
from artifactnet_core.experiments.data import BenchData, assigned_version
from artifactnet_core.experiments.featurestore import FeatureStore, per_clip
from artifactnet_core.experiments.metrics import choose_threshold, roc_auc
from artifactnet_core.experiments.training import (
    ClassifierRecipe,
    UNetRecipe,
    predict_maps,
    resolve_device,
    train_classifier,
    train_unet,
)
from artifactnet_core.paths import cache_dir

#: Bump when training or scoring changes meaning: older cached runs are then not reused.
PIPELINE_VERSION = 2


@dataclass(frozen=True)
class Profile:
    """A named size of the whole protocol (DESIGN.md section 6).

    Attributes
    ----------
    name : str
        ``smoke`` (CI, about 10 min for all notebooks on 2 CPU cores), ``laptop`` (the protocol
        on a smaller bench: notebooks 00-06 and 08 took 54 min on 2 CPU cores, 07 about as long
        again) or ``paper`` (the full ArtifactBench-mini, sized for one GPU).
    bench : str
        Benchmark profile to build.
    unet : UNetRecipe
        Template of every UNet trained in this profile.
    classifier : ClassifierRecipe
        Template of every classifier.
    n_boot : int
        Bootstrap replicates for confidence intervals.
    max_eval_clips : int or None
        Cap on the clips of each costly evaluation (codec versions, ablations); chosen by seed.
    feature_batch : int
        Chunks per UNet forward pass when extracting features.
    """

    name: str
    bench: str
    unet: UNetRecipe
    classifier: ClassifierRecipe
    n_boot: int = 1000
    max_eval_clips: int | None = None
    feature_batch: int = 4


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", bench="smoke",
        unet=UNetRecipe(base_width=8, steps=40, batch_size=4, crop_bins=128, crop_frames=48),
        classifier=ClassifierRecipe(epochs=4, batch_size=16, crop_frames=96),
        n_boot=100, max_eval_clips=8, feature_batch=4),
    "laptop": Profile(
        name="laptop", bench="laptop",
        unet=UNetRecipe(base_width=16, steps=400, batch_size=8, crop_bins=256, crop_frames=64),
        classifier=ClassifierRecipe(epochs=12, batch_size=32, crop_frames=128),
        n_boot=1000, max_eval_clips=200, feature_batch=4),
    "paper": Profile(
        name="paper", bench="paper",
        unet=UNetRecipe(base_width=32, steps=3000, batch_size=16, crop_bins=512, crop_frames=128,
                        lr=5e-4),
        classifier=ClassifierRecipe(epochs=20, batch_size=64, crop_frames=192),
        n_boot=1000, max_eval_clips=None, feature_batch=16),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ``"auto"`` is ``paper`` with a CUDA GPU, else ``laptop``."""
    if name == "auto":
        name = "paper" if torch.cuda.is_available() else "laptop"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(PROFILES)} or 'auto'")
    return PROFILES[name]


def get_bench(profile: Profile | str, *, seed: int = 0, progress: bool = True) -> BenchData:
    """Build (or load from cache) the profile's ArtifactBench-mini."""
    from artifactnet_core.bench import build_bench

    profile = get_profile(profile) if isinstance(profile, str) else profile
    return BenchData(build_bench(profile=profile.bench, seed=seed, progress=progress))


def heldout_families(data: BenchData) -> tuple[str, ...]:
    """Families held out of train/val by the benchmark (zero-shot test only)."""
    meta = json.loads((data.root / "bench_config.json").read_text())
    return tuple(meta["heldout_families"])


def validation_family(data: BenchData) -> str | None:
    """A seen family kept out of *training* so that validation has an unseen generator family.

    Model choices (the UNet objective) are made on it, never on the test families. ``None``
    when fewer than two families are left to train on (the smoke benchmark).
    """
    train_ai = data.rows(split="train").query("label == 'ai'")
    families = sorted(set(train_ai["family"]) - set(heldout_families(data)))
    if len(families) < 2:
        return None
    counts = train_ai["family"].value_counts()
    # The least represented family: leaving it out costs the least training data.
    return min(families, key=lambda f: (counts.get(f, 0), f))


@dataclass
class Detector:
    """A trained ArtifactNet with everything needed to score benchmark clips."""

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
        versions = [version] * len(rows) if isinstance(version, str) else list(version)
        maps, owner = self.store.maps(rows["path"].tolist(), versions, progress=progress,
                                      desc="scoring")
        p_chunks = predict_maps(self.model.classifier, self.model.featurizer, maps,
                                device=self.store.device)
        out = rows.copy()
        out["version"] = versions
        out["p_ai"] = per_clip(p_chunks, owner, len(rows))
        return out


def _runs_dir(data: BenchData) -> Path:
    path = cache_dir() / "runs" / data.sha256[:16]
    path.mkdir(parents=True, exist_ok=True)
    return path


def _recipe_key(kind: str, data: BenchData, *parts: object) -> str:
    return f"{kind}-{stable_hash(PIPELINE_VERSION, data.sha256, *parts)}"


def get_unet(data: BenchData, recipe: UNetRecipe, *, device: str | None = None,
             progress: bool = True) -> tuple[ArtifactUNet, pd.DataFrame, str, float]:
    """Train (or load) the UNet of ``recipe``; returns ``(unet, history, key, seconds)``."""
    from safetensors.torch import load_file, save_file

    key = _recipe_key("unet", data, dataclasses.asdict(recipe))
    weights = _runs_dir(data) / f"{key}.safetensors"
    hist_path = weights.with_suffix(".history.csv")
    if weights.exists() and hist_path.exists():
        unet = ArtifactUNet(base_width=recipe.base_width, mask_bound=recipe.mask_bound)
        unet.load_state_dict(load_file(str(weights)))
        meta = json.loads(weights.with_suffix(".json").read_text())
        return unet.eval(), pd.read_csv(hist_path), key, meta["seconds"]
    t0 = time.perf_counter()
    unet, history = train_unet(data, recipe, device=device, progress=progress)
    seconds = time.perf_counter() - t0
    tmp = weights.with_name(f".{weights.name}.tmp")
    save_file({k: v.contiguous() for k, v in unet.state_dict().items()}, str(tmp))
    tmp.replace(weights)
    atomic_write_text(hist_path, history.to_csv(index=False))
    atomic_write_text(weights.with_suffix(".json"),
                      json.dumps({"recipe": dataclasses.asdict(recipe), "seconds": seconds},
                                 indent=1))
    return unet, history, key, seconds


def _versions(rows: pd.DataFrame, *, codec_aware: bool, seed: int) -> tuple[list[str], list[str]]:
    """Clip paths and versions for training/validation: WAV, plus each clip's assigned lossy
    version when codec-aware."""
    paths = rows["path"].tolist()
    versions = ["wav"] * len(paths)
    if codec_aware:
        paths = paths + rows["path"].tolist()
        versions = versions + [assigned_version(c, seed=seed) for c in rows["clip_id"]]
    return paths, versions


def train_detector(data: BenchData, profile: Profile | str, *, objective: str = "paired",
                   codec_aware: bool = True, mask_bound: float | None = 0.5,
                   feature_set: str = "hpss7", use_unet: bool = True,
                   protocol: str = "zero_shot", exclude_families: tuple[str, ...] | None = None,
                   seed: int = 0, device: str | None = None, progress: bool = True) -> Detector:
    """Train (or load from cache) one ArtifactNet configuration end to end.

    Parameters
    ----------
    data : BenchData
        The benchmark.
    profile : Profile or str
        Budget templates.
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
    seed : int
        Seed of every random choice.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``None`` (auto).
    """
    profile = get_profile(profile) if isinstance(profile, str) else profile
    dev = resolve_device(device)
    timings: dict[str, float] = {}
    val_family = validation_family(data) if protocol == "zero_shot" else None
    if exclude_families is None:
        exclude_families = (val_family,) if val_family else ()
    exclude = tuple(sorted(exclude_families))
    unet_recipe = None
    unet = unet_history = None
    if use_unet:
        unet_recipe = dataclasses.replace(profile.unet, objective=objective, mask_bound=mask_bound,
                                          codec_aware=codec_aware, protocol=protocol,
                                          exclude_families=() if objective == "real_only"
                                          else exclude, seed=seed)
        unet, unet_history, store_key, timings["unet_s"] = get_unet(data, unet_recipe,
                                                                    device=device,
                                                                    progress=progress)
    else:
        store_key = "magnitude"
    clf_recipe = dataclasses.replace(profile.classifier, feature_set=feature_set,
                                     codec_aware=codec_aware, seed=seed)
    featurizer = ForensicFeaturizer(feature_set=feature_set)
    store = FeatureStore(data, unet, store_key, featurizer=featurizer,
                         cache_root=_runs_dir(data) / "features", device=dev,
                         batch_size=profile.feature_batch)
    key = _recipe_key("detector", data, store_key, dataclasses.asdict(clf_recipe), protocol,
                      exclude)
    model_path = _runs_dir(data) / f"{key}.safetensors"

    train_rows = data.rows(split="train", protocol=protocol, exclude_families=exclude)
    val_rows = data.rows(split="val", protocol=protocol)
    v_paths, v_versions = _versions(val_rows, codec_aware=codec_aware, seed=seed)
    t0 = time.perf_counter()
    val_maps, val_owner = store.maps(v_paths, v_versions, progress=progress, desc="val features")
    val_labels = np.asarray([1 if lab == "ai" else 0 for lab in val_rows["label"]]
                            * (2 if codec_aware else 1))

    if model_path.exists():
        model = load_model(model_path)
        clf_history = pd.read_csv(model_path.with_suffix(".history.csv"))
        meta = json.loads(model_path.with_suffix(".run.json").read_text())
        timings.update(meta["timings"])
    else:
        t_paths, t_versions = _versions(train_rows, codec_aware=codec_aware, seed=seed)
        train_maps, train_owner = store.maps(t_paths, t_versions, progress=progress,
                                             desc="train features")
        timings["features_s"] = time.perf_counter() - t0
        chunk_labels = np.asarray([1 if lab == "ai" else 0 for lab in train_rows["label"]]
                                  * (2 if codec_aware else 1))[train_owner]

        def reduce(p: np.ndarray) -> np.ndarray:
            return per_clip(p, val_owner, len(v_paths))

        t0 = time.perf_counter()
        classifier, clf_history = train_classifier(
            train_maps, chunk_labels, val_maps, val_labels, clf_recipe, featurizer=featurizer,
            device=dev, progress=progress, val_reduce=reduce)
        timings["classifier_s"] = time.perf_counter() - t0
        config = ArtifactNetConfig(
            unet_base_width=profile.unet.base_width, mask_bound=mask_bound, use_unet=use_unet,
            feature_set=feature_set)
        model = ArtifactNet(config)
        if unet is not None:
            model.unet.load_state_dict(unet.state_dict())
        model.classifier.load_state_dict(classifier.state_dict())
        model.eval()
        p_val = reduce(predict_maps(model.classifier, featurizer.to(dev), val_maps, device=dev))
        config.threshold = choose_threshold(val_labels, p_val, max_fpr=clf_recipe.max_val_fpr)
        config.info = {"profile": profile.name, "seed": seed, "objective": objective,
                       "codec_aware": codec_aware, "protocol": protocol,
                       "validation_family": val_family, "excluded_families": list(exclude),
                       "bench_sha256": data.sha256,
                       "val_auc": roc_auc(val_labels, p_val), "key": key}
        save_model(model, model_path)
        atomic_write_text(model_path.with_suffix(".history.csv"), clf_history.to_csv(index=False))
        atomic_write_text(model_path.with_suffix(".run.json"),
                          json.dumps({"timings": timings}, indent=1))
    model = model.to(dev).eval()
    detector = Detector(model=model, store=store, key=key, unet_recipe=unet_recipe,
                        classifier_recipe=clf_recipe, protocol=protocol,
                        unet_history=unet_history, classifier_history=clf_history,
                        val_scores=pd.DataFrame(), timings=timings)
    scores = [detector.score(val_rows, "wav", progress=False)]
    if codec_aware:
        scores.append(detector.score(val_rows, [assigned_version(c, seed=seed)
                                                for c in val_rows["clip_id"]], progress=False))
    detector.val_scores = pd.concat(scores, ignore_index=True)
    detector.val_scores["validation_family"] = (
        detector.val_scores["family"].eq(val_family) if val_family else False)
    return detector


def selection_score(detector: Detector) -> float:
    """Validation ROC-AUC on unseen generators: real validation clips vs the validation
    family's AI clips (all validation clips when no family was kept out)."""
    val = detector.val_scores
    if val["validation_family"].any():
        val = val[(val["label"] == "real") | val["validation_family"]]
    return roc_auc((val["label"] == "ai").to_numpy(), val["p_ai"].to_numpy())


def sample_rows(rows: pd.DataFrame, n: int | None, *, seed: int) -> pd.DataFrame:
    """At most ``n`` rows, stratified by label, drawn with ``seed`` (all rows when ``n`` is None)."""
    if n is None or len(rows) <= n:
        return rows.reset_index(drop=True)
    parts = []
    for _, part in rows.groupby("label"):
        k = max(1, round(n * len(part) / len(rows)))
        parts.append(part.sample(n=min(k, len(part)), random_state=seed))
    return pd.concat(parts).sort_index().reset_index(drop=True)


@dataclass
class DetectorChoice:
    """The outcome of :func:`default_detector`: the chosen detector, the table the choice was
    made on, and every candidate by objective."""

    chosen: Detector
    table: pd.DataFrame
    candidates: dict[str, Detector]


def default_detector(data: BenchData, profile: Profile | str, *, seed: int = 0,
                     device: str | None = None, progress: bool = True) -> DetectorChoice:
    """Train both UNet objectives (codec-aware) and keep the one that validates better on
    unseen generators (:func:`selection_score`); never looks at the test split.

    The table has columns ``objective, selection_auc, val_auc, threshold, chosen``.
    """
    rows, candidates = [], {}
    for objective in ("paired", "real_only"):
        det = train_detector(data, profile, objective=objective, seed=seed, device=device,
                             progress=progress)
        candidates[objective] = det
        rows.append({"objective": objective, "selection_auc": selection_score(det),
                     "val_auc": det.model.config.info.get("val_auc"),
                     "threshold": det.threshold})
    table = pd.DataFrame(rows)
    # Ties go to the paired objective, listed first.
    best = int(table["selection_auc"].fillna(-1).to_numpy().argmax())
    table["chosen"] = table.index == best
    return DetectorChoice(candidates[table.loc[best, "objective"]], table, candidates)


def export_weights(detector: Detector, path: str | Path | None = None, *,
                   extra_info: dict | None = None) -> Path:
    """Write a detector as the package's default weights (float16 safetensors + JSON config)."""
    from artifactnet_core.detector.model import DEFAULT_WEIGHTS

    model = detector.model.cpu()
    model.config.info = {**model.config.info, **(extra_info or {})}
    return save_model(model, path or DEFAULT_WEIGHTS, half=True)
