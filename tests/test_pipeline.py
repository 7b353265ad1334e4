"""The training pipeline on a tiny synthetic benchmark: determinism, caching, chunk rules."""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from conftest import SR, music_like

from artifactnet_core.atomic import file_sha256
from artifactnet_core.bench.manifest import make_manifest, write_manifest
from artifactnet_core.bench.versions import TRAIN_LOSSY_VERSIONS, parse_version, version_path
from artifactnet_core.detector.audio import write_audio
from artifactnet_core.detector.chunking import ChunkStream, chunk_starts, split_chunks
from artifactnet_core.detector.config import ArtifactNetConfig
from artifactnet_core.detector.features import ForensicFeaturizer
from artifactnet_core.experiments import pipeline
from artifactnet_core.experiments.data import BenchData, assigned_version
from artifactnet_core.experiments.recipes import (
    ClassifierRecipe,
    EvalBudget,
    SpecTTTraBudget,
    UNetRecipe,
)
from artifactnet_core.experiments.training import (
    UNetItems,
    moving_rms,
    synthetic_artifact,
    train_classifier,
    train_unet,
)
from artifactnet_core.profiles import PROFILES, Profile
from artifactnet_core.runtime import training_precision

CHUNK = ArtifactNetConfig().chunk_samples
TINY = Profile(
    name="tiny", bench=PROFILES["smoke"].bench,
    unet=UNetRecipe(base_width=4, steps=4, batch_size=2, crop_bins=64, crop_frames=32),
    classifier=ClassifierRecipe(epochs=2, batch_size=8, crop_frames=64),
    spectttra=SpecTTTraBudget(size="tiny", epochs=1, batch_size=8),
    evaluation=EvalBudget(n_boot=20, max_eval_clips=8, feature_batch=4))


def fake_generator(x: np.ndarray) -> np.ndarray:
    """A stand-in 'decoder': zero-insertion up-sampling by 4, which leaves spectral images."""
    up = np.zeros_like(x)
    up[::4] = x[::4] * 4
    return (0.5 * x + 0.5 * up / 4).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory) -> BenchData:
    root = tmp_path_factory.mktemp("tiny bench")
    rows = []
    families = {"gA": "tconv", "gB": "resize", "gC": "istft"}
    for t in range(9):
        split = ("train", "train", "train", "train", "val", "val", "test", "test", "test")[t]
        x = music_like(4.0, seed=100 + t)
        real = f"real/t{t}.flac"
        write_audio(root / real, x, sr=SR)
        base = {"source": "synth", "split": split, "split_track": split, "codec": "wav",
                "duration_s": 4.0, "track_id": f"synth/t{t}", "clip_id": f"synth/t{t}@0",
                "real_path": real, "bench_origin": "test" if split == "test" else "train",
                "heldout": "none"}
        rows.append({**base, "path": real, "label": "real", "generator": "none",
                     "family": "none"})
        for g, fam in families.items():
            if fam == "istft" and split != "test":
                continue
            path = f"ai/{g}/t{t}.flac"
            write_audio(root / path, fake_generator(x), sr=SR)
            rows.append({**base, "path": path, "label": "ai", "generator": g, "family": fam,
                         "heldout": "family" if fam == "istft" else "none"})
    df = make_manifest(rows)
    df["sha256"] = [file_sha256(root / p) for p in df["path"]]
    sha = write_manifest(df, root / "manifest.csv")
    (root / "manifest.sha256").write_text(f"{sha}  manifest.csv\n")
    (root / "bench_config.json").write_text(json.dumps({"heldout_families": ["istft"],
                                                        "heldout_sources": []}))
    return BenchData(root / "manifest.csv")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: later tests reuse what earlier ones trained."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARTIFACTNET_CACHE", str(root))
        yield root


@pytest.mark.parametrize("n", [CHUNK // 3, CHUNK, CHUNK + CHUNK // 2 - 1, CHUNK + CHUNK // 2,
                               3 * CHUNK + 5])
def test_chunk_rule_matches_the_stream(tmp_path, n):
    x = np.tile(music_like(1.0), n // SR + 1)[:n]
    path = write_audio(tmp_path / "x.wav", x, sr=SR, subtype="FLOAT")
    streamed = list(ChunkStream(path, chunk_samples=CHUNK))
    assert [s for s, _ in streamed] == chunk_starts(n, CHUNK)
    np.testing.assert_array_equal(np.stack([c for _, c in streamed]), split_chunks(x, CHUNK))


def test_versions():
    assert parse_version("mp3_128") == ("mp3", 128_000)
    assert parse_version("wav") == ("wav", 0)
    with pytest.raises(ValueError):
        parse_version("flac_9")
    drawn = {assigned_version(f"clip{i}", seed=0) for i in range(200)}
    assert drawn == set(TRAIN_LOSSY_VERSIONS)
    assert assigned_version("a", seed=1) == assigned_version("a", seed=1)


def test_bench_data_caches_lossy_versions(tiny_bench):
    path = tiny_bench.rows(split="train")["path"].iloc[0]
    first = tiny_bench.audio(path, "opus_64")
    assert version_path(tiny_bench.root, path, "opus_64").exists()
    np.testing.assert_array_equal(first, tiny_bench.audio(path, "opus_64"))
    assert first.shape == tiny_bench.audio(path).shape


def test_validation_family_is_a_seen_family(tiny_bench):
    assert pipeline.heldout_families(tiny_bench) == ("istft",)
    assert pipeline.validation_family(tiny_bench) == "resize"  # ties: alphabetical


@pytest.mark.parametrize("frame", [1024, 8, 7])
def test_moving_rms_is_numpys_centred_convolution(frame):
    x = music_like(0.5, seed=2).astype(np.float32)
    direct = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(frame) / frame, mode="same"))
    np.testing.assert_allclose(moving_rms(x, frame=frame), direct, rtol=1e-8, atol=1e-12)


def test_synthetic_artifact_is_the_direct_formula_up_to_float32_rounding():
    # The tones are summed over one period and tiled, the envelope from a running sum: the
    # same signal as summing every tone over the whole chunk, to float32's last bit.
    x = music_like(4.0, seed=5).astype(np.float32)
    t = np.arange(x.shape[0]) / SR
    env = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(1024) / 1024, mode="same"))
    kinds = set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        kind = rng.integers(0, 3)
        kinds.add(int(kind))
        got = synthetic_artifact(x, np.random.default_rng(seed), sr=SR)
        assert got.dtype == np.float32 and got.shape == x.shape
        if kind != 0:
            continue
        stride = int(rng.choice([8, 16, 32, 64, 128, 256]))
        harmonics = np.arange(1, stride // 2 + 1) * SR / stride
        harmonics = harmonics[harmonics < SR / 2 - 100][:64]
        art = sum(np.sin(2 * np.pi * f * t + p) for f, p in
                  zip(harmonics, rng.uniform(0, 2 * np.pi, harmonics.size), strict=True)) * env
        snr_db = rng.uniform(6.0, 30.0)
        power = np.mean(x.astype(np.float64) ** 2) + 1e-12
        want = art * np.sqrt(power / (np.mean(art ** 2) + 1e-12) / 10 ** (snr_db / 10))
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-7 * np.abs(want).max())
    assert 0 in kinds


@pytest.mark.parametrize("objective", ["paired", "real_only"])
def test_unet_training_is_deterministic(tiny_bench, objective):
    recipe = dataclasses.replace(TINY.unet, objective=objective, seed=3, val_items=2)
    train, val = tiny_bench.rows(split="train"), tiny_bench.rows(split="val")

    def train_once(r: UNetRecipe):
        arrays = tiny_bench.load(UNetItems.needed(train, r) + UNetItems.needed(
            val, dataclasses.replace(r, codec_aware=False)))
        return train_unet(train, val, arrays, r, config=ArtifactNetConfig(), progress=False,
                          val_every=2)

    a, hist_a = train_once(recipe)
    b, hist_b = train_once(recipe)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    assert hist_a.equals(hist_b)
    c, _ = train_once(dataclasses.replace(recipe, seed=4))
    assert not torch.equal(a.head.weight, c.head.weight)


def _train_tiny_classifier(recipe: ClassifierRecipe, **kwargs):
    config = ArtifactNetConfig(unet_base_width=4)
    rng = np.random.default_rng(0)
    labels = np.arange(24) % 2
    maps = (rng.normal(size=(24, 3, config.n_mels, 32)) + 0.3 * labels[:, None, None, None]
            ).astype(np.float16)
    return train_classifier(maps, labels, maps[:8], labels[:8], recipe,
                            featurizer=ForensicFeaturizer(n_mels=config.n_mels), config=config,
                            device="cpu", progress=False, **kwargs)


def test_classifier_validates_only_its_last_epochs():
    recipe = ClassifierRecipe(epochs=4, batch_size=8, crop_frames=16, seed=1)
    _, every = _train_tiny_classifier(recipe)
    _, last = _train_tiny_classifier(dataclasses.replace(recipe, validate_last=2))
    assert every["val_auc"].notna().all()
    assert last["val_auc"].isna().tolist() == [True, True, False, False]
    # Validation touches neither the training nor its random stream.
    assert last["train_loss"].equals(every["train_loss"])
    np.testing.assert_array_equal(last["val_auc"].iloc[2:], every["val_auc"].iloc[2:])
    with pytest.raises(ValueError, match="validate_last"):
        ClassifierRecipe(validate_last=0)


def test_channels_last_training_changes_rounding_only(monkeypatch):
    monkeypatch.setenv("ARTIFACTNET_BF16", "0")  # float32: bfloat16 would round far more
    recipe = ClassifierRecipe(epochs=2, batch_size=8, crop_frames=16, seed=1)
    _, nchw = _train_tiny_classifier(recipe, channels_last=False)
    _, nhwc = _train_tiny_classifier(recipe, channels_last=True)
    np.testing.assert_allclose(nhwc["train_loss"], nchw["train_loss"], rtol=1e-4)


def test_detector_end_to_end_and_cached(tiny_bench, cache):
    det = pipeline.train_detector(tiny_bench, TINY, seed=0, progress=False)
    assert 0.0 <= det.threshold <= 1.0
    assert det.model.config.info["validation_family"] == "resize"
    assert det.model.config.info["training_precision"] == training_precision("cpu")
    assert set(det.val_scores["version"]) > {"wav"}  # codec-aware validation
    test = tiny_bench.rows(split="test")
    scores = det.score(test, "wav", progress=False)
    assert scores["p_ai"].between(0, 1).all() and len(scores) == len(test)
    again = pipeline.train_detector(tiny_bench, TINY, seed=0, progress=False)
    assert again.key == det.key
    np.testing.assert_array_equal(again.score(test, "wav", progress=False)["p_ai"],
                                  scores["p_ai"])
    assert list(cache.glob("runs/*/detector-*.safetensors"))


def test_two_callers_of_one_detector_train_it_once(tiny_bench, cache, monkeypatch):
    """Two notebooks run side by side (``runner run --jobs 2``) that need the same variant: the
    second waits on the cache entry's lock and loads what the first trained."""
    calls = {"train_unet": 0, "train_classifier": 0}

    def counted(name):
        original = getattr(pipeline, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            time.sleep(0.5)  # the other caller reaches the cache check meanwhile
            return original(*args, **kwargs)
        return wrapper

    for name in calls:
        monkeypatch.setattr(pipeline, name, counted(name))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda _: pipeline.train_detector(tiny_bench, TINY, seed=7,
                                                               progress=False), range(2)))
    assert calls == {"train_unet": 1, "train_classifier": 1}
    assert runs[0].key == runs[1].key


def test_default_detector_chooses_on_validation(tiny_bench, cache):
    choice = pipeline.default_detector(tiny_bench, TINY, seed=0, progress=False)
    assert set(choice.table["objective"]) == {"paired", "real_only"}
    assert choice.table["chosen"].sum() == 1
    best = choice.table.loc[choice.table["chosen"], ["objective", "unet_base_width"]].iloc[0]
    assert choice.chosen is choice.candidates[tuple(best)]
    assert choice.table["n_val_tracks"].min() >= 2


@pytest.mark.parametrize(("aucs", "expected"), [
    ({("real_only", 8): 0.90, ("paired", 8): 0.95, ("paired", 4): 0.953}, ("paired", 8)),
    ({("real_only", 8): 0.90, ("paired", 8): 0.902, ("real_only", 4): 0.80}, ("real_only", 8)),
    ({("real_only", 8): 0.90, ("paired", 8): 0.80, ("real_only", 4): 0.95}, ("real_only", 4)),
])
def test_selection_rule_ties_go_to_the_paper(monkeypatch, aucs, expected):
    """Ties (within SELECTION_TIE) keep the paper's objective and the profile's width; only a
    clear validation win changes either."""
    from dataclasses import replace
    from types import SimpleNamespace

    def fake_train(data, profile, *, objective, unet_base_width, **kwargs):
        model = SimpleNamespace(parameter_counts=lambda: {"unet": unet_base_width},
                                config=SimpleNamespace(info={"val_auc": 0.5}))
        return SimpleNamespace(model=model, threshold=0.5, key=(objective, unet_base_width))

    monkeypatch.setattr(pipeline, "train_detector", fake_train)
    monkeypatch.setattr(pipeline, "selection_score",
                        lambda det: {"selection_auc": aucs[det.key], "n_val_tracks": 10})
    profile = replace(TINY, unet=replace(TINY.unet, base_width=8), compare_widths=(4,))
    choice = pipeline.default_detector(None, profile, progress=False)
    assert choice.chosen.key == expected
    assert len(choice.table) == 3 and choice.table["chosen"].sum() == 1
    assert choice.table.loc[choice.table["chosen"], "reason"].item()


def test_export_writes_loadable_half_weights(tiny_bench, cache, tmp_path):
    from artifactnet_core.detector.model import load_model

    det = pipeline.train_detector(tiny_bench, TINY, seed=0, progress=False)
    path = pipeline.export_weights(det, tmp_path / "w.safetensors", extra_info={"note": "x"})
    model = load_model(path)
    assert model.config.info["note"] == "x"
    assert model.config.threshold == det.threshold


def test_interactive_explorer_reruns_on_every_change(tiny_bench, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig
    from artifactnet_core.experiments import explorer

    model = ArtifactNet(ArtifactNetConfig(unet_base_width=4)).eval()
    calls = []
    real_analyse = explorer.analyse

    def recording_analyse(data, model, clip_id, generator, version="wav", **kw):
        calls.append((clip_id, generator, version))
        return real_analyse(data, model, clip_id, generator, version, timeline=False, **kw)

    monkeypatch.setattr(explorer, "analyse", recording_analyse)
    ui = explorer.interactive_explorer(tiny_bench, model, versions=("wav", "mp3_128"))
    clip_dd, gen_dd, ver_dd = ui.children[0].children
    assert len(calls) == 1 and calls[0][2] == "wav"  # the first view, drawn once
    ver_dd.value = "mp3_128"
    assert calls[-1] == (clip_dd.value, gen_dd.value, "mp3_128")
    other = next(v for _, v in gen_dd.options if v != gen_dd.value)
    gen_dd.value = other
    assert calls[-1][1] == other and len(calls) == 3
    other_clip = next(v for _, v in clip_dd.options if v != clip_dd.value)
    clip_dd.value = other_clip
    assert calls[-1][0] == other_clip and len(calls) == 4  # one redraw, not one per dropdown
    assert gen_dd.value in [v for _, v in gen_dd.options]


def test_classifier_epochs_benchmark_keeps_a_cut_only_where_validation_shows_no_cost():
    # benchmarks/classifier_epochs.py: shorter classifier recipes validate the same share of
    # their last epochs, and a cut is kept only where every paired interval stays within the
    # tie margin; an interval wholly below 0 rejects it; anything else cannot be resolved.
    import importlib.util
    from pathlib import Path

    import pandas as pd

    from artifactnet_core.profiles import get_profile

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "classifier_epochs.py"
    spec = importlib.util.spec_from_file_location("classifier_epochs", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    laptop = get_profile("laptop")
    assert laptop.classifier.validate_last is not None
    for epochs in (4, 6, 8, laptop.classifier.epochs):
        cut = bench.with_epochs(laptop, epochs).classifier
        assert cut.epochs == epochs
        share = laptop.classifier.validate_last / laptop.classifier.epochs
        assert epochs * share <= cut.validate_last < epochs * share + 1
        assert dataclasses.replace(cut, epochs=laptop.classifier.epochs,
                                   validate_last=laptop.classifier.validate_last
                                   ) == laptop.classifier
    every = dataclasses.replace(laptop, classifier=dataclasses.replace(laptop.classifier,
                                                                       validate_last=None))
    assert bench.with_epochs(every, 6).classifier.validate_last is None

    def rows(*intervals):
        return pd.DataFrame([{"objective": f"o{i}", "delta": (lo + hi) / 2, "lo": lo, "hi": hi}
                             for i, (lo, hi) in enumerate(intervals)])

    tie = pipeline.SELECTION_TIE
    assert bench.cut_verdict(rows((-tie, 0.01), (0.0, 0.0)), n_tracks=72).startswith(
        "a candidate cut")
    assert bench.cut_verdict(rows((-0.03, -0.001), (-0.001, 0.02)), n_tracks=72).startswith(
        "rejected: worse on validation for o0")
    verdict = bench.cut_verdict(rows((-0.02, 0.0), (-0.001, 0.02)), n_tracks=72)
    assert verdict.startswith("not resolvable at n = 72") and "o0" in verdict
