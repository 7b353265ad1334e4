"""External datasets load through the manifest interface: ArtifactBench JSON, SONICS CSVs, and a
plain real/ + ai/ folder (fixtures built here)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SR, music_like

from artifactnet_core.bench.external import (
    codec_from_suffix,
    load_artifactbench_json,
    load_folder,
    load_sonics,
)
from artifactnet_core.bench.manifest import (
    MANIFEST_COLUMNS,
    ManifestError,
    absolute_paths,
    check_split_disjointness,
    load_manifest,
    validate_manifest,
    write_manifest,
)


def _wav(path, seconds=1.0, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, music_like(seconds, seed=seed), SR)


def _common_checks(df: pd.DataFrame) -> None:
    assert tuple(df.columns[:10]) == MANIFEST_COLUMNS
    validate_manifest(df, require_hashes=False)
    check_split_disjointness(df, require_zero_shot=False)
    assert set(df.loc[df["label"] == "real", "generator"]) <= {"none"}


def test_artifactbench_json(tmp_path):
    for name in ("a.wav", "b.wav", "c.wav"):
        _wav(tmp_path / "audio" / name, seconds=1.5)
    bench = {"version": 1, "bench": [
        {"path": "audio/a.wav", "label": "real", "source": "fma", "track_id": "t1",
         "bench_origin": "train", "generator": ""},
        {"path": "audio/b.wav", "label": "ai", "source": "suno", "track_id": "t2",
         "bench_origin": "test", "generator": "suno_v4"},
        {"path": str(tmp_path / "audio" / "c.wav"), "label": "ai", "source": "udio",
         "track_id": "t3", "bench_origin": "test", "generator": "udio_130"},
        {"path": "audio/missing.mp3", "label": "real", "source": "fma", "track_id": "t4",
         "bench_origin": "test", "generator": None},
    ], "meta": {"n": 4}}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench))
    df = load_artifactbench_json(path, family_map={"suno_v4": "suno"}, hash_files=True)
    _common_checks(df)
    assert list(df["path"]) == ["audio/a.wav", "audio/b.wav", "audio/c.wav",
                                "audio/missing.mp3"]
    assert list(df["split"]) == list(df["bench_origin"]) == ["train", "test", "test", "test"]
    assert list(df["split_track"]) == list(df["split"])
    assert list(df["family"]) == ["none", "suno", "unknown", "none"]
    assert list(df["codec"]) == ["wav", "wav", "wav", "mp3"]
    assert df["duration_s"].iloc[0] == pytest.approx(1.5)
    assert np.isnan(df["duration_s"].iloc[3]) and df["sha256"].iloc[3] == ""
    assert len(df["sha256"].iloc[0]) == 64
    assert all(p.exists() for p in absolute_paths(df)[:3])
    # The same DataFrame round-trips through the manifest CSV.
    write_manifest(df, tmp_path / "m.csv")
    assert list(load_manifest(tmp_path / "m.csv")["path"]) == list(df["path"])


@pytest.mark.parametrize("entry, message", [
    ({"path": "x.wav", "label": "maybe", "bench_origin": "test"}, "unknown label"),
    ({"path": "x.wav", "label": "ai", "bench_origin": "dev"}, "bench_origin"),
    ({"label": "ai", "bench_origin": "test"}, "missing key"),
])
def test_artifactbench_json_bad_entries(tmp_path, entry, message):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"bench": [entry]}))
    with pytest.raises(ValueError, match=message):
        load_artifactbench_json(path)
    path.write_text(json.dumps([entry]))
    with pytest.raises(ValueError, match="'bench' list"):
        load_artifactbench_json(path)


def test_sonics_csvs(tmp_path):
    _wav(tmp_path / "real_songs" / "real_001.wav", seconds=1.0)
    _wav(tmp_path / "fake_songs" / "fake_10_suno_0.wav", seconds=1.0)
    pd.DataFrame({"id": ["r1", "r2"], "filename": ["real_001", "real_002"],
                  "duration": ["1.0", "200.5"], "split": ["train", "valid"],
                  "no_vocal": ["False", "False"]}).to_csv(tmp_path / "real_songs.csv",
                                                          index=False)
    pd.DataFrame({"id": ["10", "11", "12"],
                  "filename": ["fake_10_suno_0", "fake_11_udio_0", "fake_12_suno_1"],
                  "algorithm": ["chirp-v3.5", "udio-120s", "chirp-v2-xxl-alpha"],
                  "duration": ["1.0", "120", "95"], "split": ["test", "test", "train"]}
                 ).to_csv(tmp_path / "fake_songs.csv", index=False)
    df = load_sonics(tmp_path)
    _common_checks(df)
    assert list(df["label"]) == ["real", "real", "ai", "ai", "ai"]
    # Files are found whatever their ending; missing ones default to .mp3.
    assert list(df["path"]) == ["real_songs/real_001.wav", "real_songs/real_002.mp3",
                                "fake_songs/fake_10_suno_0.wav", "fake_songs/fake_11_udio_0.mp3",
                                "fake_songs/fake_12_suno_1.mp3"]
    assert list(df["split"]) == ["train", "val", "test", "test", "train"]
    assert list(df["bench_origin"]) == ["train", "train", "test", "test", "train"]
    assert list(df["generator"]) == ["none", "none", "chirp-v3.5", "udio-120s",
                                     "chirp-v2-xxl-alpha"]
    assert list(df["family"]) == ["none", "none", "suno", "udio", "suno"]
    assert df["duration_s"].iloc[3] == 120.0
    assert df.attrs["root"] == str(tmp_path)
    (tmp_path / "fake_songs.csv").unlink()
    with pytest.raises(FileNotFoundError, match="fake_songs.csv"):
        load_sonics(tmp_path)


def test_plain_folder(tmp_path):
    root = tmp_path / "my eval"
    _wav(root / "real" / "r1.wav", seed=1)
    _wav(root / "real" / "live" / "r2.wav", seed=2)
    _wav(root / "ai" / "a1.wav", seed=3)
    _wav(root / "ai" / "musicgen" / "a2.wav", seed=4)
    (root / "ai" / "musicgen" / "broken.wav").write_bytes(b"not audio, just text\n" * 20)
    (root / "ai" / "notes.txt").write_text("ignored")
    with pytest.warns(UserWarning, match="broken.wav"):
        df = load_folder(root)
    _common_checks(df)
    assert list(df["path"]) == ["real/live/r2.wav", "real/r1.wav", "ai/a1.wav",
                                "ai/musicgen/a2.wav"]
    assert list(df["source"]) == ["live", "my eval", "my eval", "my eval"]
    assert list(df["generator"]) == ["none", "none", "unknown", "musicgen"]
    assert set(df["split"]) == {"test"} and set(df["bench_origin"]) == {"test"}
    assert df["duration_s"].tolist() == pytest.approx([1.0] * 4)
    assert set(load_folder(root, split="train")["bench_origin"]) == {"train"}
    with pytest.raises(FileNotFoundError, match="expected a 'real/' subfolder"):
        load_folder(root / "real")
    with pytest.raises(ValueError):
        load_folder(root, split="excluded")


def test_codec_from_suffix_and_validation_of_external_rows():
    assert [codec_from_suffix(p) for p in ("a.MP3", "b.opus", "c.ogg", "d.m4a", "e.flac")] == \
        ["mp3", "opus", "vorbis", "aac", "wav"]
    df = pd.DataFrame({c: ["x"] for c in MANIFEST_COLUMNS})
    with pytest.raises(ManifestError):
        validate_manifest(df, require_hashes=False)
