"""The real smoke benchmark, built as CI builds it (cached for the notebook run that follows)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from artifactnet_core.bench import build_bench, check_split_disjointness, load_manifest
from artifactnet_core.bench.manifest import MANIFEST_COLUMNS, manifest_bytes, validate_manifest
from artifactnet_core.bench.zoo import shipped_path, zoo_specs
from artifactnet_core.profiles import PROFILES

SMOKE = PROFILES["smoke"].bench


@pytest.fixture(scope="module")
def smoke():
    path = build_bench(SMOKE, seed=0, progress=False)
    meta = json.loads((path.parent / "bench_config.json").read_text())
    return path, load_manifest(path), meta


@pytest.mark.slow
def test_schema_and_composition(smoke):
    path, df, meta = smoke
    validate_manifest(df)
    assert list(pd.read_csv(path, nrows=0).columns[:10]) == list(MANIFEST_COLUMNS)
    assert set(df["label"]) == {"real", "ai"}
    assert df["source"].nunique() == len(SMOKE.sources)
    assert set(df.loc[df["label"] == "ai", "generator"]) == {s.name for s in
                                                            zoo_specs(SMOKE.generators)}
    assert (df["duration_s"] == 4.0).all()


@pytest.mark.slow
def test_no_leak_between_splits(smoke):
    _, df, meta = smoke
    assert len(meta["heldout_families"]) >= 2 and len(meta["heldout_sources"]) >= 1
    check_split_disjointness(df, heldout_families=meta["heldout_families"],
                             heldout_sources=meta["heldout_sources"],
                             forbidden_tracks=meta["gentrain_tracks"])
    trainval = df[df["split"].isin(["train", "val"])]
    assert not set(trainval["source"]) & set(meta["heldout_sources"])
    assert not set(trainval.loc[trainval["label"] == "ai", "family"]) & set(
        meta["heldout_families"])
    assert df.groupby("track_id")["split"].nunique().max() <= 2  # track split + 'excluded'


@pytest.mark.slow
def test_rebuild_is_identical(smoke):
    path, df, meta = smoke
    again = build_bench(SMOKE, seed=0, progress=False)  # resumes: nothing to redo
    assert again == path
    assert manifest_bytes(load_manifest(again)) == path.read_bytes()
    sha = (path.parent / "manifest.sha256").read_text().split()[0]
    assert sha == meta["manifest_sha256"]


@pytest.mark.slow
def test_a_fresh_cache_gives_the_same_bytes(smoke, tmp_path):
    """Same config and seed in a separate, empty cache: every clip, regeneration, codec version,
    probe and every generator without shipped weights is made again, and the manifest (which
    holds every file's SHA-256) and those generators' weights are byte-identical.

    Shared are the inputs: the unpacked Debian packages and the renders of symbolic tracks
    (MIDI, scores, modules), which external tools make the same bytes every time
    (``test_bench_sources.py::test_render_*``) and which would add a third to this test's time.
    """
    from artifactnet_core.atomic import file_sha256
    from artifactnet_core.paths import cache_dir

    path, _, meta = smoke
    fresh = tmp_path / "cache"
    fresh.mkdir()
    if (cache_dir() / "debs").exists():
        (fresh / "debs").symlink_to(cache_dir() / "debs")
    (fresh / "bench").mkdir()
    (fresh / "bench" / "_renders").symlink_to(cache_dir() / "bench" / "_renders")
    again = build_bench(SMOKE, seed=0, progress=False, cache_root=fresh)
    assert again != path
    assert file_sha256(again) == file_sha256(path)
    # Generators trained by the build (none where weights are shipped): the same bytes too.
    trained = sorted((fresh / "zoo").glob("*.safetensors"))
    assert len(trained) == sum(not shipped_path(s).exists() for s in zoo_specs(SMOKE.generators))
    # Generator-training clips are cut only for a generator trained here.
    assert bool(trained) == (fresh / "bench" / "_gentrain").exists()
    for weights in trained:
        assert file_sha256(weights) == file_sha256(cache_dir() / "zoo" / weights.name)
