"""The practitioner's side (issue 14): the Python API gives the CLI's numbers; operating points
reproduce their validation rates; calibration; the codec check's Δ is the drift function's;
the README's snippets run; CITATION.cff and the cards' front matter are well formed."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from conftest import SR, music_like
from tiny import fast_model

from artifactnet_core.cli import CSV_COLUMNS, main
from artifactnet_core.detector.api import load_detector
from artifactnet_core.detector.audio import write_audio
from artifactnet_core.detector.calibration import (
    MAX_FPR,
    apply_platt,
    brier_score,
    expected_calibration_error,
    f1_threshold,
    fit_platt,
    operating_points,
    rates_at,
    reliability_table,
    threshold_at_fpr,
)
from artifactnet_core.detector.chunking import split_chunks
from artifactnet_core.detector.codec_check import (
    CODEC_UNSTABLE_DELTA,
    DRIFT_VERSIONS,
    drift,
    version_audio,
)
from artifactnet_core.detector.codecs import encode
from artifactnet_core.detector.model import ArtifactNet, predict_chunks, save_model
from artifactnet_core.paths import REPO_DIR


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Eight 4-8 s clips ("validation tracks": the first four called real, the rest AI; the
    labels are arbitrary, the tests only check that rates are reproduced) and one bad file."""
    folder = tmp_path_factory.mktemp("clips")
    paths = []
    for i in range(8):
        x = music_like(4.0 + (i % 3) * 2, seed=20 + i) * (0.3 + 0.1 * i)
        paths.append(write_audio(folder / f"clip {i}.wav", x, sr=SR, subtype="FLOAT"))
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEnot really")
    return paths, folder / "broken.wav"


@pytest.fixture(scope="module")
def validated(tmp_path_factory, clips):
    """A tiny model whose config carries operating points and a calibration chosen on the
    clips' scores, as the training pipeline stores them; returns (weights, labels, scores)."""
    model = fast_model()
    paths, _ = clips
    scores = np.array([r.p_ai for r in load_detector(model, operating_point=None)(paths)])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    config = dataclasses.replace(model.config, operating_points=operating_points(labels, scores),
                                 calibration=fit_platt(labels, scores))
    stored = ArtifactNet(config)
    stored.load_state_dict(model.state_dict())
    path = save_model(stored, tmp_path_factory.mktemp("validated") / "validated.safetensors")
    return path, labels, scores


def cli_json(capsys, *args) -> tuple[int, list[dict]]:
    code = main(["detect", *map(str, args), "--format", "json", "-q"])
    return code, json.loads(capsys.readouterr().out)


# --- the API gives the CLI's numbers ----------------------------------------------------------

def test_api_returns_the_cli_numbers(clips, validated, capsys):
    paths, broken = clips
    weights = validated[0]
    code, rows = cli_json(capsys, *paths, broken, "--weights", weights, "--timeline")
    assert code == 2
    results = load_detector(weights, device="cpu", max_chunks=None)([*paths, broken])
    assert [r.to_dict(timeline=True) for r in results] == rows
    assert rows[0]["operating_point"] == "fpr1" and rows[0]["p_calibrated"] is not None
    assert results[-1].error and results[-1].p_ai is None


def test_cli_precision_int8_scores_near_fp32(clips, validated, capsys):
    from artifactnet_core.detector.int8 import int8_available

    if not int8_available():
        pytest.skip("no accurate oneDNN int8 convolutions here (VNNI or AMX)")
    paths, _ = clips
    weights = validated[0]
    _, rows = cli_json(capsys, *paths[:3], "--weights", weights, "--device", "cpu",
                       "--precision", "fp32")
    code, rows_int8 = cli_json(capsys, *paths[:3], "--weights", weights, "--device", "cpu",
                               "--precision", "int8")
    assert code == 0
    p_fp32 = np.array([r["p_ai"] for r in rows])
    p_int8 = np.array([r["p_ai"] for r in rows_int8])
    assert np.abs(p_int8 - p_fp32).max() < 0.05
    assert not np.array_equal(p_int8, p_fp32)  # the int8 path did run


def test_cli_refuses_int8_where_it_is_not_accurate(clips, validated, capsys, monkeypatch):
    from artifactnet_core.detector import int8

    monkeypatch.setattr(int8, "int8_available", lambda: False)
    code = main(["detect", str(clips[0][0]), "--weights", str(validated[0]), "--device", "cpu",
                 "--precision", "int8", "-q"])
    assert code == 1
    assert "VNNI or AMX" in capsys.readouterr().err


def test_arrays_take_the_files_path(tmp_path, clips):
    detector = load_detector(fast_model())
    x = np.stack([music_like(6.0, sr=48_000, seed=1), music_like(6.0, sr=48_000, seed=2)], 1)
    path = tmp_path / "stereo 48k.wav"
    sf.write(path, x, 48_000, subtype="FLOAT")
    from_file = detector(path)
    assert from_file.ok and from_file.duration_s == pytest.approx(6.0)
    for array in (x, x.T, torch.from_numpy(x.T.copy())):
        from_array = detector(array, sr=48_000)
        assert from_array.p_ai == from_file.p_ai
        assert from_array.chunk_p_ai == from_file.chunk_p_ai and from_array.path == "<array>"
    pair, data = detector([(x, 48_000), path.read_bytes()])
    assert pair.p_ai == data.p_ai == from_file.p_ai
    with pytest.raises(TypeError, match="needs its sample rate"):
        detector(x)
    bad = detector(np.full(SR * 3, np.nan), sr=SR)
    assert bad.error == "contains NaN or infinite sample values"


def test_pipeline_output(clips, validated):
    paths, broken = clips
    weights, _, _ = validated
    calibrated = load_detector(weights)(paths[0])
    out = calibrated.as_pipeline_output()
    assert [set(o) for o in out] == [{"label", "score"}] * 2
    assert {o["label"] for o in out} == {"ai", "real"}
    assert out[0]["score"] >= out[1]["score"]
    assert sum(o["score"] for o in out) == pytest.approx(1.0)
    assert dict((o["label"], o["score"]) for o in out)["ai"] == calibrated.p_calibrated
    raw = load_detector(fast_model())(paths[0])
    assert dict((o["label"], o["score"]) for o in raw.as_pipeline_output())["ai"] == raw.p_ai
    with pytest.raises(ValueError, match="broken.wav: "):
        load_detector(fast_model())(broken).as_pipeline_output()


def test_load_detector_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTNET_WEIGHTS", str(tmp_path / "gone.safetensors"))
    with pytest.raises(FileNotFoundError, match="ARTIFACTNET_WEIGHTS"):
        load_detector()
    with pytest.raises(ValueError, match="unknown operating point"):
        load_detector(fast_model(), operating_point="fpr2")
    with pytest.raises(ValueError, match="threshold must be a number in"):
        load_detector(fast_model(), threshold=2.0)


def test_import_stays_light():
    code = ("import sys, artifactnet_core; assert 'torch' not in sys.modules; "
            "from artifactnet_core import load_detector; assert 'torch' in sys.modules; "
            "print(load_detector.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "artifactnet_core.detector.api"


# --- operating points and calibration ---------------------------------------------------------

def _validation_sets():
    rng = np.random.default_rng(3)
    yield "overlapping", np.r_[np.zeros(300), np.ones(200)], np.r_[rng.beta(2, 5, 300),
                                                                    rng.beta(5, 2, 200)]
    yield "ties", np.r_[np.zeros(40), np.ones(40)], np.round(rng.uniform(0, 1, 80), 1)
    yield "saturated", np.r_[np.zeros(30), np.ones(30)], np.r_[np.ones(2), rng.uniform(0, 1, 28),
                                                                np.ones(30)]
    yield "separable", np.r_[np.zeros(20), np.ones(20)], np.r_[rng.uniform(0, .4, 20),
                                                                rng.uniform(.6, 1, 20)]


@pytest.mark.parametrize("name,y,s", list(_validation_sets()))
def test_operating_points_reproduce_their_validation_rates(name, y, s):
    points = operating_points(y, s)
    for key, point in points.items():
        flagged = s >= point["threshold"]
        assert flagged[y == 0].mean() == point["val_fpr"], (name, key)
        assert flagged[y == 1].mean() == point["val_tpr"], (name, key)
        assert (point["n_val_real"], point["n_val_ai"]) == ((y == 0).sum(), (y == 1).sum())
    # No threshold does better: brute force over every cut between distinct scores.
    cuts = np.r_[np.unique(s), np.inf]
    fprs = np.array([(s[y == 0] >= c).mean() for c in cuts])
    tprs = np.array([(s[y == 1] >= c).mean() for c in cuts])
    for key, max_fpr in MAX_FPR.items():
        assert points[key]["val_fpr"] <= max_fpr
        assert points[key]["val_tpr"] == tprs[fprs <= max_fpr].max()
    f1s = 2 * tprs * (y == 1).sum() / (tprs * (y == 1).sum() + fprs * (y == 0).sum()
                                       + (y == 1).sum())
    fpr, tpr = points["f1"]["val_fpr"], points["f1"]["val_tpr"]
    best = 2 * tpr * (y == 1).sum() / (tpr * (y == 1).sum() + fpr * (y == 0).sum() + (y == 1).sum())
    assert best == pytest.approx(f1s.max())
    assert f1_threshold(y, s) == points["f1"]["threshold"]
    assert threshold_at_fpr(y, s, 0.01) == points["fpr1"]["threshold"]


def test_operating_point_labels_in_the_cli(clips, validated, capsys):
    """Chosen on the clips' scores, each point labels the same clips with its validation FPR;
    the table names the point and its validation rates."""
    paths, _ = clips
    weights, labels, scores = validated
    stored = json.loads(weights.with_suffix(".json").read_text())["operating_points"]
    for name in ("fpr1", "fpr5", "f1"):
        code, rows = cli_json(capsys, *paths, "--weights", weights, "--operating-point", name)
        assert code == 0
        flagged = np.array([r["label"] == "ai" for r in rows])
        assert [r["p_ai"] for r in rows] == scores.tolist()
        assert flagged[labels == 0].mean() == stored[name]["val_fpr"]
        assert flagged[labels == 1].mean() == stored[name]["val_tpr"]
        assert {r["operating_point"] for r in rows} == {name}
        assert {r["threshold"] for r in rows} == {stored[name]["threshold"]}
    assert main(["detect", str(paths[0]), "--weights", str(weights), "--operating-point", "fpr5",
                 "-q"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    fpr5 = stored["fpr5"]
    assert first == (f"# operating point fpr5: threshold {fpr5['threshold']:.4f} (validation FPR "
                     f"{100 * fpr5['val_fpr']:.1f} %, TPR {100 * fpr5['val_tpr']:.1f} %, on 4 "
                     "real and 4 AI tracks)")


def test_weights_without_operating_points_fall_back_and_say_so(clips, tmp_path, capsys):
    paths, _ = clips
    weights = save_model(fast_model(threshold=0.37), tmp_path / "old.safetensors")
    code, rows = cli_json(capsys, paths[0], "--weights", weights)
    assert code == 0
    assert rows[0]["operating_point"] == "config" and rows[0]["threshold"] == 0.37
    main(["detect", str(paths[0]), "--weights", str(weights), "-q"])
    captured = capsys.readouterr()
    assert "these weights carry no operating point 'fpr1'; using the threshold of their config, " \
           "0.3700" in captured.err
    assert "p_calibrated" not in rows[0]


def test_platt_recovers_a_logistic_truth():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20_000)
    y = (rng.uniform(size=z.size) < 1 / (1 + np.exp(-(0.5 * z - 1.0)))).astype(int)
    s = 1 / (1 + np.exp(-z))  # an overconfident score: its logit is z
    fit = fit_platt(y, s)
    assert fit["a"] == pytest.approx(0.5, abs=0.05) and fit["b"] == pytest.approx(-1.0, abs=0.06)
    assert fit["n"] == 20_000 and fit["method"] == "platt"
    calibrated = apply_platt(s, fit)
    assert expected_calibration_error(y, calibrated) < 0.02 < expected_calibration_error(y, s)
    assert brier_score(y, calibrated) < brier_score(y, s)
    assert np.all(np.diff(apply_platt(np.linspace(0, 1, 50), fit)) > 0)
    table = reliability_table(y, calibrated)
    assert table["count"].sum() == y.size
    big = table["count"] >= 1000  # bins with few tracks are noisy whatever the calibration
    assert big.sum() >= 5 and np.abs(table["mean_p"] - table["fraction_ai"])[big].max() < 0.03


def test_calibration_survives_perfect_separation():
    fit = fit_platt([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert np.isfinite([fit["a"], fit["b"]]).all()
    assert 0.5 < apply_platt(0.9, fit) < 1.0 and 0.0 < apply_platt(0.1, fit) < 0.5


def test_calibration_and_rates_refuse_bad_input():
    with pytest.raises(ValueError, match="both real and AI"):
        operating_points([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="finite and in"):
        fit_platt([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="labels must be"):
        rates_at(["ai", "fake"], [0.2, 0.3], 0.5)
    assert rates_at(["real", "ai"], [0.2, 0.7], 0.5) == (0.0, 1.0)


# --- codec check ------------------------------------------------------------------------------

def test_codec_check_delta_is_the_drift_of_its_versions(tmp_path, capsys):
    model = fast_model()
    weights = save_model(model, tmp_path / "m.safetensors")
    x = music_like(8.0, seed=9)
    path = write_audio(tmp_path / "song.wav", x, sr=SR, subtype="FLOAT")
    code, (row,) = cli_json(capsys, path, "--weights", weights, "--codec-check")
    assert code == 0
    versions = {v: row[f"p_{v}"] for v in DRIFT_VERSIONS}
    assert row["codec_delta"] == drift(versions)
    assert row["codec_unstable"] == (row["codec_delta"] > CODEC_UNSTABLE_DELTA)
    assert versions["wav"] == row["p_ai"]
    # The same numbers from scratch: each chunk through each codec, scored, median.
    chunks = split_chunks(x, model.config.chunk_samples)
    for v in DRIFT_VERSIONS:
        trips = np.stack([version_audio(c, v, sr=SR) for c in chunks])
        assert versions[v] == pytest.approx(float(np.median(predict_chunks(model, trips))),
                                            abs=1e-6), v
    assert load_detector(model)(path, codec_check=True).codec_delta == row["codec_delta"]
    main(["detect", str(path), "--weights", str(weights), "--codec-check", "--format", "csv",
          "-q"])
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert tuple(header[:5]) == CSV_COLUMNS
    assert header[-6:] == [f"p_{v}" for v in DRIFT_VERSIONS] + ["codec_delta", "codec_unstable"]


def test_drift_function():
    assert drift({"wav": 0.9, "mp3_128": 0.7, "aac_128": 0.8, "opus_128": 0.95}) == \
        pytest.approx(0.25)
    assert drift({"a": 0.1, "b": 0.4}, versions=None) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="no score for versions"):
        drift({"wav": 0.9, "mp3_128": 0.7})
    with pytest.raises(ValueError, match="finite"):
        drift({"a": 0.1, "b": float("nan")}, versions=None)


# --- README snippets, citation, cards ---------------------------------------------------------

def readme_snippets() -> list[str]:
    text = (REPO_DIR / "README.md").read_text()
    return re.findall(r"<!-- tested[^>]*-->\n```python\n(.*?)```", text, flags=re.S)


def test_readme_snippets_run(tmp_path, validated):
    snippets = readme_snippets()
    assert len(snippets) >= 4 and any("load_detector" in s for s in snippets)
    x = music_like(6.0, seed=5)
    (tmp_path / "song.mp3").write_bytes(encode(x, codec="mp3"))
    write_audio(tmp_path / "song.flac", x, sr=SR)
    script = tmp_path / "readme.py"
    script.write_text("\n".join(snippets))
    env = dict(os.environ, ARTIFACTNET_WEIGHTS=str(validated[0]))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "operating point fpr5: threshold" in out.stdout
    assert "missing.wav None None no such file" in out.stdout
    assert "'label': 'ai'" in out.stdout and "mp3_128" in out.stdout


def test_citation_cff_has_the_schema_required_keys():
    cff = yaml.safe_load((REPO_DIR / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("cff-version", "message", "title", "authors"):  # required by the 1.2.0 schema
        assert cff.get(key), key
    assert all(isinstance(a, dict) and (a.get("name") or a.get("family-names"))
               for a in cff["authors"])
    refs = cff["references"]
    paper = [r for r in refs if "ArtifactNet" in r["title"]]
    assert paper, "the paper the companion reproduces is cited"
    for ref in refs:  # required keys of a reference
        assert ref["type"] and ref["title"] and ref["authors"]
    assert cff.get("type", "software") in ("software", "dataset")


def front_matter(name: str, folder: Path | None = None) -> dict:
    """The YAML front matter of a card in ``data_cards/`` (or in ``folder``)."""
    text = ((folder or REPO_DIR / "data_cards") / name).read_text()
    match = re.match(r"---\n(.*?)\n---\n", text, flags=re.S)
    assert match, f"{name} has no YAML front matter"
    data = yaml.safe_load(match.group(1))
    assert isinstance(data, dict), name
    return data


@pytest.mark.parametrize("name", ["artifactbench.md", "artifactbench_mini.md"])
def test_dataset_cards_have_hugging_face_front_matter(name):
    meta = front_matter(name)
    for key in ("pretty_name", "license", "task_categories", "tags", "size_categories"):
        assert meta.get(key), (name, key)
    assert "audio-classification" in meta["task_categories"]


def test_make_lab_opens_the_notebooks_from_the_venv():
    # Under `make test` the parent make's MAKEFLAGS would make this one print "Leaving directory".
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry = subprocess.run(["make", "--no-print-directory", "-n", "lab"], cwd=REPO_DIR, env=env,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == ".venv/bin/jupyter lab notebooks/"
    extras = (REPO_DIR / "pyproject.toml").read_text().split("notebooks = [", 1)[1].split("]")[0]
    assert '"jupyterlab' in extras
